/*
 * The metrics file of referd-dispatch: <metrics_dir>/dispatch.prom,
 * Prometheus text that referd-fcgi's /metrics appends.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"

/*
 * Writes the metrics file: Prometheus text, written to a temporary file
 * (created here, mode 0644, so owned by the service user) and renamed so
 * that a reader never sees half of it.  The backlog, due
 * and outbox_dead gauges are the whole outbox (every dispatcher); the
 * rest are this process's.
 */
void
metrics_write(struct dispatcher *d)
{
	char		 tmp[PATH_MAX + 32];
	FILE		*f;
	const struct outbox_counts *o = &d->outbox;
	int		 fd, tries;

	d->next_metrics = clock_mono_ms() + DISPATCH_METRICS_MS;
	if (d->metrics[0] == '\0')
		return;
	d->outbox_ok = db_outbox_counts(d->db, clock_wall_ms() / 1000,
	    &d->outbox) == DB_OK;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", d->metrics, (long)getpid());
	/*
	 * A new file, never through a link: the temporary name is easy to
	 * guess, and rename() replaces a link at the final name instead of
	 * following it.  A leftover of an earlier process with our pid is
	 * removed (unlink removes a link, not its target).
	 */
	for (tries = 0; (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1 && errno == EEXIST &&
	    tries < 1; tries++)
		(void)unlink(tmp);
	if (fd == -1 || fchmod(fd, 0644) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		log_err("%s: %s: %s", __func__, tmp, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		return;
	}
#define G(name, help, v) fprintf(f, "# HELP " name " " help "\n"	\
	"# TYPE " name " gauge\n" name " %" PRId64 "\n", (int64_t)(v))
#define C(name, help, v) fprintf(f, "# HELP " name " " help "\n"	\
	"# TYPE " name " counter\n" name " %" PRIu64 "\n", (uint64_t)(v))
	/*
	 * referd-fcgi's /metrics has the referd_outbox_* gauges and appends
	 * this file: everything here is referd_dispatch_*.
	 */
	if (d->outbox_ok) {
		G("referd_dispatch_backlog", "Outbox rows pending or in "
		    "flight (any dispatcher), counted by this one.",
		    o->pending + o->inflight);
		G("referd_dispatch_due", "Pending outbox rows due now.",
		    o->due);
		G("referd_dispatch_outbox_dead", "Outbox rows given up on "
		    "(any dispatcher).", o->dead);
	}
	G("referd_dispatch_inflight", "Transfers in flight in this "
	    "dispatcher.", d->nsending);
	C("referd_dispatch_attempts_total", "Delivery attempts made.",
	    d->n.attempts);
	C("referd_dispatch_delivered_total", "Rows delivered (2xx).",
	    d->n.delivered);
	C("referd_dispatch_retried_total", "Attempts that failed and were "
	    "scheduled again.", d->n.retried);
	C("referd_dispatch_dead_total", "Rows given up on.", d->n.dead);
	C("referd_dispatch_lease_lost_total", "Outcomes that came after "
	    "the row's lease ran out.", d->n.lease_lost);
	C("referd_dispatch_rewards_total", "Referrals rewarded by the "
	    "reward worker.", d->n.rewards);
	C("referd_dispatch_db_errors_total", "Database operations that "
	    "failed.", d->n.db_errors);
	G("referd_dispatch_db_up", "1 if the last database operation "
	    "worked.", d->db_ok);
	G("referd_dispatch_updated_seconds", "When this file was written "
	    "(Unix time).", clock_wall_ms() / 1000);
#undef G
#undef C
	if (fclose(f) != 0 || rename(tmp, d->metrics) == -1) {
		log_err("%s: %s: %s", __func__, d->metrics, strerror(errno));
		unlink(tmp);
	}
}
