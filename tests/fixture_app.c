/*
 * The app of the fcgi/ unit tests (tests/fixture.h): fx_conf_fill()'s
 * configuration, a database that is never there, a wall clock stopped at
 * FX_TS and a monotonic clock the test moves (fx_ms).
 */
#include "config.h"

#include <stdint.h>

#include "fcgi.h"
#include "fixture.h"

struct conf	 fx_conf;
struct db	*fx_db;
struct app	 fx_app;
int64_t		 fx_ms;

static int64_t
fx_now(void)
{
	return FX_TS;
}

static int64_t
fx_mono(void)
{
	return fx_ms;
}

int
fx_app_setup(void **state)
{
	(void)state;
	fx_conf_fill(&fx_conf);
	if ((fx_db = db_new(&fx_conf, 0)) == NULL ||
	    app_init(&fx_app, &fx_conf, fx_db, NULL, NULL, 0) == -1)
		return -1;
	fx_app.now = fx_now;
	fx_app.mono_ms = fx_mono;
	fx_ms = 1000000;
	fx_app.clicks_flushed_ms = fx_ms;
	return 0;
}

int
fx_app_teardown(void **state)
{
	(void)state;
	app_free(&fx_app);
	db_free(fx_db);
	fx_db = NULL;
	return 0;
}
