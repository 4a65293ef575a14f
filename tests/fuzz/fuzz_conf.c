/*
 * libFuzzer target: the configuration file parser.  The input is a whole
 * file; conf_parse() gets it as a length-bounded buffer with no NUL, so
 * any read past its end is an AddressSanitizer report.  A file that
 * parses must leave every field well-formed, and every failure must say
 * where.
 */
#include "config.h"

#include "core.h"
#include "fuzz.h"

#define FNAME	"fuzz.conf"

/* Whether a char[] field holds a string shorter than the field. */
#define TERMINATED(f)	(strnlen((f), sizeof(f)) < sizeof(f))

static void
check_parsed(const struct conf *c)
{
	size_t	 i;

	FUZZ_CHECK(TERMINATED(c->db_socket));
	FUZZ_CHECK(TERMINATED(c->db_host));
	FUZZ_CHECK(TERMINATED(c->db_user));
	FUZZ_CHECK(TERMINATED(c->db_password));
	FUZZ_CHECK(TERMINATED(c->db_name));
	FUZZ_CHECK(TERMINATED(c->listen));
	FUZZ_CHECK(TERMINATED(c->api_key));
	FUZZ_CHECK(TERMINATED(c->admin_api_key));
	FUZZ_CHECK(TERMINATED(c->webhook_secret));
	FUZZ_CHECK(TERMINATED(c->outbound_secret));
	FUZZ_CHECK(TERMINATED(c->base_url));
	FUZZ_CHECK(TERMINATED(c->landing_url));
	FUZZ_CHECK(TERMINATED(c->cookie_name));
	FUZZ_CHECK(TERMINATED(c->reward_referrer.type));
	FUZZ_CHECK(TERMINATED(c->reward_referrer.currency));
	FUZZ_CHECK(TERMINATED(c->reward_referee.type));
	FUZZ_CHECK(TERMINATED(c->reward_referee.currency));
	FUZZ_CHECK(TERMINATED(c->dispatch_log_file));
	FUZZ_CHECK(c->qualifying_eventsz >= 1 &&
	    c->qualifying_eventsz <= MAX_LIST);
	for (i = 0; i < c->qualifying_eventsz; i++) {
		FUZZ_CHECK(TERMINATED(c->qualifying_events[i]));
		FUZZ_CHECK(c->qualifying_events[i][0] != '\0');
		FUZZ_CHECK(conf_is_qualifying(c, c->qualifying_events[i]));
	}
	FUZZ_CHECK(c->db_port >= 0 && c->db_port <= 65535);
	FUZZ_CHECK(c->socket_mode >= 0 && c->socket_mode <= 0777);
	FUZZ_CHECK(c->workers >= 1 && c->workers <= 256);
	FUZZ_CHECK(c->min_order_amount >= 0 &&
	    c->min_order_amount <= MONEY_MAX);
	FUZZ_CHECK(c->reward_referrer.amount >= 0 &&
	    c->reward_referrer.amount <= MONEY_MAX);
	FUZZ_CHECK(c->reward_referee.amount >= 0 &&
	    c->reward_referee.amount <= MONEY_MAX);
	FUZZ_CHECK(c->dispatch_concurrency >= 1 &&
	    c->dispatch_concurrency <= 1024);
	FUZZ_CHECK(c->console_refresh_ms >= 100);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	char		 err[512], cerr[512];

	if ((c = malloc(sizeof(*c))) == NULL)
		abort();
	conf_defaults(c);
	err[0] = '\0';
	if (conf_parse(c, (const char *)data, size, FNAME, err,
	    sizeof(err)) == 0) {
		FUZZ_CHECK(err[0] == '\0');
		check_parsed(c);
		/* Semantic checks must judge, not crash, whatever parsed. */
		cerr[0] = '\0';
		if (conf_check(c, cerr, sizeof(cerr)) == -1)
			FUZZ_CHECK(cerr[0] != '\0');
	} else
		FUZZ_CHECK(strncmp(err, FNAME ":", sizeof(FNAME)) == 0);

	/* No room for a message is allowed too. */
	conf_defaults(c);
	(void)conf_parse(c, (const char *)data, size, NULL, NULL, 0);
	free(c);
	return 0;
}
