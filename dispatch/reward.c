/*
 * The reward worker of referd-dispatch (SPEC.md section 5): referrals
 * whose hold period is over become rewarded, with their outbox rows.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"

/*
 * The reward worker: converted referrals whose hold period has passed and
 * that are not held become rewarded, with their outbox rows, one
 * transaction each (db_reward_issue).  Safe beside other dispatchers: the
 * reward UPDATE is conditional and the referral row is locked.
 */
void
reward_worker(struct dispatcher *d)
{
	int64_t		 now = clock_wall_ms() / 1000;
	size_t		 n = 0, i;
	enum db_rc	 rc;

	d->next_reward = clock_mono_ms() + d->conf->dispatch_poll_ms;
	if ((rc = db_rewards_due(d->db, now, d->due,
	    (size_t)d->conf->dispatch_batch, &n)) != DB_OK) {
		d->n.db_errors++;
		d->db_ok = 0;
		if (d->conf->dispatch_poll_ms < DB_DOWN_PAUSE)
			d->next_reward = clock_mono_ms() + DB_DOWN_PAUSE;
		return;
	}
	for (i = 0; i < n; i++) {
		rc = db_reward_issue(d->db, d->due[i], now);
		if (rc == DB_OK) {
			d->n.rewards++;
			dispatch_note(d, "rewarded referral=%" PRId64,
			    d->due[i]);
			d->next_claim = 0;	/* new rows to send */
		} else if (rc != DB_NOOP && rc != DB_NOTFOUND) {
			d->n.db_errors++;
			d->db_ok = 0;
			return;
		}
	}
	/* Delivered rows past retention: one bounded batch a minute. */
	if (now >= d->next_purge) {
		d->next_purge = now + 60;
		if (db_outbox_purge(d->db, now, &n) != DB_OK)
			d->n.db_errors++;
		else if (n > 0)
			dispatch_note(d, "purged delivered=%zu", n);
	}
}
