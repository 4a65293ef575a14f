/*
 * The click counter of a worker and its flusher thread.
 *
 * Clicks are summed per (code, UTC day) and written in one transaction,
 * DB_CLICKS_BATCH rows a statement, every click_flush_ms, when the buffer
 * is three quarters full, and at exit.  In a worker the writing is done
 * by a thread of its own with its own connection (the flusher): it swaps
 * in an empty buffer under a mutex and writes the full one while the
 * worker goes on serving, so that no landing waits for the database
 * (a flush of a few thousand rows takes 10-40 ms).  What it could not
 * write goes back into the buffer for the next flush.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi.h"

#define DAY	86400

/*
 * Adds "n" clicks of (key, day) to the table "tab" of CLICK_BUF_SLOTS
 * entries, "*used" of them taken.  Returns 0, or -1 if it is full (one
 * slot always stays free, so a probe ends).
 */
static int
click_add(struct click_entry *tab, size_t *used, uint64_t k, uint32_t day,
    uint32_t n)
{
	uint64_t	 h = (k ^ (uint64_t)day << 42) * 0x9e3779b97f4a7c15ULL >>
			    32;
	size_t		 i, p;

	for (p = 0; p < CLICK_BUF_SLOTS; p++) {
		struct click_entry *c;

		i = (h + p) % CLICK_BUF_SLOTS;
		c = &tab[i];
		if (c->key == 0) {
			if (*used >= CLICK_BUF_SLOTS - 1)
				return -1;
			c->key = k;
			c->day = day;
			c->n = n;
			(*used)++;
			return 0;
		}
		if (c->key == k && c->day == day) {
			c->n += n;
			return 0;
		}
	}
	return -1;
}

/*
 * Counts one click of a known code.  At three quarters full the buffer is
 * due for a flush (the flusher is woken; without one, the worker flushes
 * before its next request); if it is full (the database is away) the
 * click is lost, and logged, so the buffer never grows.
 */
void
click_count(struct app *app, const char *code)
{
	uint64_t	 k = code_key(code);
	uint32_t	 day = (uint32_t)(app->now() / DAY);
	int		 rc;

	if (k == 0)
		return;
	if (app->flusher_on)
		pthread_mutex_lock(&app->clicks_mu);
	rc = click_add(app->clicks, &app->nclicks, k, day, 1);
	if (rc == 0 && !app->clicks_full &&
	    app->nclicks >= CLICK_BUF_SLOTS / 4 * 3) {
		app->clicks_full = 1;
		if (app->flusher_on)
			pthread_cond_signal(&app->clicks_cv);
	}
	if (app->flusher_on)
		pthread_mutex_unlock(&app->clicks_mu);
	if (rc == -1)
		log_err("%s: click buffer full, a click of %s is lost",
		    __func__, code);
	else if (!app->flusher_on && app->conf->click_flush_ms == 0)
		clicks_flush(app);
}

/*
 * Writes the "used" clicks of table "tab" on "db" in one transaction.
 * Returns 0 or -1.
 */
static int
clicks_write(struct db *db, const struct click_entry *tab, size_t used)
{
	struct click_row	*rows;
	size_t			 i, n = 0;
	int			 rc = -1;

	if (used == 0)
		return 0;
	if ((rows = malloc(used * sizeof(*rows))) == NULL) {
		log_err("%s: out of memory", __func__);
		return -1;
	}
	for (i = 0; i < CLICK_BUF_SLOTS && n < used; i++) {
		const struct click_entry *c = &tab[i];

		if (c->key == 0)
			continue;
		code_unkey(c->key, rows[n].code);
		rows[n].day = (int64_t)c->day * DAY;
		rows[n].n = c->n;
		n++;
	}
	if (db_clicks_add_many(db, rows, n) == DB_OK)
		rc = 0;
	free(rows);
	return rc;
}

/*
 * Writes the buffered clicks in one transaction, in the calling thread
 * (no flusher, or after it stopped).  Returns 0 if the buffer is empty
 * afterwards, else -1 (the clicks stay for the next flush).
 */
int
clicks_flush(struct app *app)
{
	app->clicks_flushed_ms = app->mono_ms();
	app->clicks_full = 0;
	if (clicks_write(app->db, app->clicks, app->nclicks) == -1)
		return -1;
	memset(app->clicks, 0, CLICK_BUF_SLOTS * sizeof(*app->clicks));
	app->nclicks = 0;
	return 0;
}

/*
 * Milliseconds until the click buffer is due for a flush by the worker:
 * 0 if due now, -1 if it is empty or the flusher writes it.
 */
int64_t
clicks_due_ms(const struct app *app)
{
	int64_t	 left;

	if (app->flusher_on || app->nclicks == 0)
		return -1;
	if (app->clicks_full)
		return 0;
	left = app->clicks_flushed_ms + app->conf->click_flush_ms -
	    app->mono_ms();
	return left > 0 ? left : 0;
}

/*
 * The flusher thread: every click_flush_ms, or when woken at three
 * quarters full, it swaps in an empty buffer and writes the full one.
 * Whatever it could not write is added back.  The buffers are calloc'd
 * and freed each time: above the worker's mmap threshold, so an idle
 * worker holds no pages for them.
 */
static void *
flusher_main(void *arg)
{
	struct app		*app = arg;
	struct click_entry	*full, *fresh;
	struct timespec		 ts;
	size_t			 used, i, back, lost = 0;
	int64_t			 now, due;
	int			 failed = 0, nomem = 0;

	pthread_mutex_lock(&app->clicks_mu);
	while (!app->flusher_stop) {
		/* Log lines are written without the mutex held. */
		if (lost > 0 || nomem) {
			pthread_mutex_unlock(&app->clicks_mu);
			if (lost > 0)
				log_err("flusher: %zu click counts lost", lost);
			if (nomem)
				log_err("flusher: out of memory");
			lost = 0;
			nomem = 0;
			pthread_mutex_lock(&app->clicks_mu);
			continue;
		}
		now = app->mono_ms();
		due = app->clicks_flushed_ms + app->conf->click_flush_ms;
		if (app->nclicks == 0 || (now < due &&
		    (!app->clicks_full || failed))) {
			/*
			 * Wait for the period, or to be woken at three
			 * quarters full (not after a failed write: the
			 * database gets the whole period to come back).
			 */
			if (app->nclicks == 0)
				due = now + app->conf->click_flush_ms;
			clock_mono_deadline(&ts, due - now);
			(void)pthread_cond_timedwait(&app->clicks_cv,
			    &app->clicks_mu, &ts);
			if (app->nclicks == 0)
				app->clicks_flushed_ms = app->mono_ms();
			continue;
		}
		app->clicks_flushed_ms = now;
		if ((fresh = calloc(CLICK_BUF_SLOTS, sizeof(*fresh))) == NULL) {
			/* Count on in the full one; try next period. */
			nomem = 1;
			failed = 1;
			continue;
		}
		full = app->clicks;
		used = app->nclicks;
		app->clicks = fresh;
		app->nclicks = 0;
		app->clicks_full = 0;
		pthread_mutex_unlock(&app->clicks_mu);

		failed = clicks_write(app->fdb, full, used) == -1;

		pthread_mutex_lock(&app->clicks_mu);
		if (failed) {
			for (i = back = 0; i < CLICK_BUF_SLOTS; i++)
				if (full[i].key != 0 && click_add(app->clicks,
				    &app->nclicks, full[i].key, full[i].day,
				    full[i].n) == 0)
					back++;
			lost = used - back;
		}
		free(full);
	}
	pthread_mutex_unlock(&app->clicks_mu);
	if (lost > 0)
		log_err("flusher: %zu click counts lost", lost);
	return NULL;
}

/*
 * Starts the flusher, with a connection of its own.  Returns 0, or -1 if
 * it cannot (the worker then flushes by itself, as before).
 */
int
clicks_flusher_start(struct app *app)
{
	pthread_condattr_t	 ca;
	pthread_attr_t		 ta;
	sigset_t		 all, old;
	int			 e;

	if (app->conf->click_flush_ms <= 0 ||
	    (app->fdb = db_new(app->conf, 0)) == NULL)
		return -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&app->clicks_mu, NULL);
	pthread_cond_init(&app->clicks_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, FLUSHER_STACK);
	/* Signals are the worker's: the thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	app->flusher_stop = 0;
	app->flusher_on = 1;
	if ((e = pthread_create(&app->flusher, &ta, flusher_main, app)) != 0) {
		app->flusher_on = 0;
		log_err("worker: flusher thread: %s", strerror(e));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&ta);
	if (!app->flusher_on) {
		pthread_cond_destroy(&app->clicks_cv);
		pthread_mutex_destroy(&app->clicks_mu);
		db_free(app->fdb);
		app->fdb = NULL;
		return -1;
	}
	return 0;
}

/*
 * Stops the flusher (a write in progress is finished first) and closes
 * its connection; the clicks it holds stay in app->clicks for
 * clicks_flush().
 */
void
clicks_flusher_stop(struct app *app)
{
	if (!app->flusher_on)
		return;
	pthread_mutex_lock(&app->clicks_mu);
	app->flusher_stop = 1;
	pthread_cond_signal(&app->clicks_cv);
	pthread_mutex_unlock(&app->clicks_mu);
	pthread_join(app->flusher, NULL);
	app->flusher_on = 0;
	pthread_cond_destroy(&app->clicks_cv);
	pthread_mutex_destroy(&app->clicks_mu);
	db_free(app->fdb);
	app->fdb = NULL;
}
