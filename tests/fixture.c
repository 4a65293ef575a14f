/*
 * The configuration and the webhook signer the C unit tests share
 * (tests/fixture.h).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

/*
 * Fills "c" with the defaults plus what a test of the request path needs:
 * the fixture's keys and webhook secret, URLs, and a database socket that
 * does not exist (every call that reaches MariaDB fails: 503).
 */
void
fx_conf_fill(struct conf *c)
{
	conf_defaults(c);
	snprintf(c->api_key, sizeof(c->api_key), "%s", FX_API_KEY);
	snprintf(c->admin_api_key, sizeof(c->admin_api_key), "%s",
	    FX_ADMIN_KEY);
	snprintf(c->webhook_secret, sizeof(c->webhook_secret), "%s",
	    FX_SECRET);
	snprintf(c->db_socket, sizeof(c->db_socket), "%s", FX_DB_SOCKET);
	snprintf(c->landing_url, sizeof(c->landing_url),
	    "https://shop.example/welcome");
	snprintf(c->base_url, sizeof(c->base_url), "https://r.example/");
	c->code_cache_seconds = 5;
	c->click_flush_ms = 1000;
}

/* Parses FX_SECRET into "k"; returns sig_key_parse()'s answer. */
int
fx_key(struct sig_key *k)
{
	return sig_key_parse(FX_SECRET, k);
}

/* Signs "body" as webhook "id" sent at "ts" with FX_SECRET. */
void
fx_sign(const char *id, int64_t ts, const char *body, char out[SIG_LEN + 1])
{
	struct sig_key	 k;

	assert_int_equal(fx_key(&k), 0);
	assert_int_equal(sig_sign(&k, id, ts, body, strlen(body), out), 0);
}
