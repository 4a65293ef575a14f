/*
 * A worker's state (struct app): set up around its configuration and
 * database handles, freed, and the request ids it makes.  Its parts live
 * in codecache.c (the code cache) and clicks.c (the click counter).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "fcgi.h"

/*
 * Sets up a worker's state around its database handles ("sdb" may be
 * "db").  The conf and the domain list must outlive the app.
 * Returns 0, or -1 if memory or the webhook secret fails.
 */
int
app_init(struct app *app, const struct conf *conf, struct db *db,
    struct db *sdb, char *const *domains, size_t ndomains)
{
	unsigned char	 r[8];

	memset(app, 0, sizeof(*app));
	app->conf = conf;
	app->db = db;
	app->sdb = sdb != NULL ? sdb : db;
	app->domains = domains;
	app->ndomains = ndomains;
	app->now = clock_now;
	app->mono_ms = clock_mono_ms;
	if (sig_key_parse(conf->webhook_secret, &app->whkey) == -1)
		return -1;
	for (app->nwhkey_more = 0; app->nwhkey_more <
	    conf->webhook_secret_moresz; app->nwhkey_more++)
		if (sig_key_parse(conf->webhook_secret_more[app->nwhkey_more],
		    &app->whkey_more[app->nwhkey_more]) == -1)
			return -1;
	if ((app->cache = calloc(CODE_CACHE_SLOTS, sizeof(*app->cache))) ==
	    NULL ||
	    (app->neg = calloc(CODE_NEG_SLOTS, sizeof(*app->neg))) == NULL ||
	    (app->clicks = calloc(CLICK_BUF_SLOTS, sizeof(*app->clicks))) ==
	    NULL ||
	    (app->feedbuf = calloc(CODE_FEED_MAX, sizeof(*app->feedbuf))) ==
	    NULL) {
		app_free(app);
		return -1;
	}
	if (RAND_bytes(r, sizeof(r)) != 1) {
		uint64_t v = (uint64_t)getpid() << 32 ^ (uint64_t)clock_now();

		memcpy(r, &v, sizeof(r));
	}
	hex_encode(r, sizeof(r), app->rid_prefix, sizeof(app->rid_prefix));
	app->clicks_flushed_ms = app->mono_ms();
	return 0;
}

/* Frees the cache and click buffer (not the database handles). */
void
app_free(struct app *app)
{
	if (app == NULL)
		return;
	free(app->cache);
	free(app->neg);
	free(app->clicks);
	free(app->feedbuf);
	app->cache = NULL;
	app->neg = NULL;
	app->clicks = NULL;
	app->feedbuf = NULL;
	app->nclicks = 0;
}

/*
 * Makes a request id: this worker's random prefix and a counter, so ids
 * are unique across workers without a system call per request.
 */
void
request_id_make(struct app *app, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%08" PRIx32, app->rid_prefix,
	    (uint32_t)(app->rid_seq++ & 0xffffffffu));
}
