/*
 * The shared fixture of the C unit tests: one configuration, one webhook
 * key and its signer, and for the tests built with fcgi/ (fixture_app.c)
 * an app over that configuration with fake clocks.
 *
 * The secret and the clock are those of the published Standard Webhooks
 * vector, so that a signature made here can be checked by hand.
 */
#ifndef REFERD_TESTS_FIXTURE_H
#define REFERD_TESTS_FIXTURE_H

#include <stdint.h>

#include "core.h"

#define FX_API_KEY	"rk_test_0123456789abcdef"
#define FX_ADMIN_KEY	"rk_admin_0123456789abcdef"
#define FX_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define FX_TS		1614265330LL	/* the wall clock of fx_app */
#define FX_TS_S		"1614265330"
#define FX_DB_SOCKET	"/nonexistent/referd-test.sock"	/* a database
					   that is never there */

/* fixture.c */
void		 fx_conf_fill(struct conf *);
int		 fx_key(struct sig_key *);
void		 fx_sign(const char *id, int64_t ts, const char *body,
		    char out[SIG_LEN + 1]);

/* fixture_app.c: cmocka group setup and teardown of fx_app. */
struct app;
struct db;
extern struct conf	 fx_conf;	/* fx_app's; a test may change it */
extern struct db	*fx_db;		/* its database: FX_DB_SOCKET */
extern struct app	 fx_app;
extern int64_t		 fx_ms;		/* fx_app's monotonic clock, ms */
int		 fx_app_setup(void **);
int		 fx_app_teardown(void **);

#endif /* !REFERD_TESTS_FIXTURE_H */
