/*
 * A worker's state: its clocks, the code cache and click buffer that keep
 * the landing page off the database, and request ids.
 *
 * The code cache is direct-mapped: a code lives in one slot chosen by its
 * hash, a newer code evicts an older one, and an entry (found or not) is
 * trusted for code_cache_seconds only, so disabling or expiring a code
 * takes effect within that bound.  Clicks are summed per (code, day) and
 * written with db_clicks_add() every click_flush_ms, and at exit.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "fcgi.h"

#define DAY	86400

int64_t
clock_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
clock_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a of a code. */
static uint32_t
code_hash(const char *s)
{
	uint32_t	 h = 2166136261u;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

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
	if ((app->cache = calloc(CODE_CACHE_SLOTS, sizeof(*app->cache))) ==
	    NULL ||
	    (app->clicks = calloc(CLICK_BUF_SLOTS, sizeof(*app->clicks))) ==
	    NULL) {
		app_free(app);
		return -1;
	}
	if (RAND_bytes(r, sizeof(r)) != 1) {
		uint64_t v = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);

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
	free(app->clicks);
	app->cache = NULL;
	app->clicks = NULL;
	app->nclicks = 0;
}

/*
 * Looks a normalised code up, from the cache if its entry is fresh, else
 * from the database (and caches the answer, "unknown" included).
 * Returns the entry (valid until the next call), or NULL with *rc the
 * database's failure (DB_ERR or DB_UNAVAILABLE); nothing is cached then.
 */
const struct code_entry *
code_cache_get(struct app *app, const char *code, enum db_rc *rc)
{
	struct code_entry	*e;
	struct code_row		 row;
	long			 ttl = app->conf->code_cache_seconds;

	e = &app->cache[code_hash(code) % CODE_CACHE_SLOTS];
	*rc = DB_OK;
	if (ttl > 0 && strcmp(e->code, code) == 0 &&
	    app->mono_ms() - e->loaded_ms < ttl * 1000)
		return e;
	*rc = db_code_lookup(app->db, code, &row);
	if (*rc != DB_OK && *rc != DB_NOTFOUND)
		return NULL;
	code_cache_put(app, &row, code, *rc == DB_OK);
	*rc = DB_OK;
	return e;
}

/* Stores an answer for "code" in its slot ("row" unused if !found). */
void
code_cache_put(struct app *app, const struct code_row *row,
    const char *code, int found)
{
	struct code_entry	*e;

	e = &app->cache[code_hash(code) % CODE_CACHE_SLOTS];
	memset(e, 0, sizeof(*e));
	snprintf(e->code, sizeof(e->code), "%s", code);
	e->found = found;
	if (found) {
		e->user_id = row->user_id;
		e->expires_at = row->expires_at;
		e->disabled_at = row->disabled_at;
	}
	e->loaded_ms = app->mono_ms();
}

/*
 * Counts one click of a known code.  When the buffer is three quarters
 * full it is flushed first; if that fails and it is full, the click is
 * lost (and logged), so the buffer never grows.
 */
void
click_count(struct app *app, const char *code)
{
	int64_t		 day = app->now() / DAY * DAY;
	uint32_t	 h = code_hash(code);
	size_t		 i, k;

	if (app->nclicks >= CLICK_BUF_SLOTS * 3 / 4)
		clicks_flush(app);
	for (k = 0; k < CLICK_BUF_SLOTS; k++) {
		struct click_entry *c;

		i = (h + k) % CLICK_BUF_SLOTS;
		c = &app->clicks[i];
		if (c->code[0] == '\0') {
			if (app->nclicks >= CLICK_BUF_SLOTS - 1)
				break;
			snprintf(c->code, sizeof(c->code), "%s", code);
			c->day = day;
			c->n = 1;
			app->nclicks++;
			goto done;
		}
		if (c->day == day && strcmp(c->code, code) == 0) {
			c->n++;
			goto done;
		}
	}
	db_log("%s: click buffer full, a click of %s is lost", __func__,
	    code);
	return;
done:
	if (app->conf->click_flush_ms == 0)
		clicks_flush(app);
}

/*
 * Writes the buffered clicks.  Entries written are removed; on the first
 * failure the rest stay for the next flush.  Returns 0 if the buffer is
 * empty afterwards, else -1.
 */
int
clicks_flush(struct app *app)
{
	struct click_entry	*keep;
	size_t			 i, n = 0;
	int			 failed = 0;

	app->clicks_flushed_ms = app->mono_ms();
	if (app->nclicks == 0)
		return 0;
	for (i = 0; i < CLICK_BUF_SLOTS; i++) {
		struct click_entry *c = &app->clicks[i];

		if (c->code[0] == '\0')
			continue;
		if (!failed &&
		    db_clicks_add(app->db, c->code, c->day, c->n) == DB_OK) {
			c->code[0] = '\0';
			continue;
		}
		failed = 1;
		n++;
	}
	if (n == 0) {
		app->nclicks = 0;
		return 0;
	}
	/* Open addressing: re-insert the survivors so probes still work. */
	if ((keep = calloc(n, sizeof(*keep))) != NULL) {
		size_t	 j = 0;

		for (i = 0; i < CLICK_BUF_SLOTS; i++)
			if (app->clicks[i].code[0] != '\0') {
				keep[j++] = app->clicks[i];
				app->clicks[i].code[0] = '\0';
			}
		for (j = 0; j < n; j++) {
			uint32_t h = code_hash(keep[j].code);
			size_t	 k;

			for (k = 0; k < CLICK_BUF_SLOTS; k++) {
				i = (h + k) % CLICK_BUF_SLOTS;
				if (app->clicks[i].code[0] == '\0') {
					app->clicks[i] = keep[j];
					break;
				}
			}
		}
		free(keep);
	}
	app->nclicks = n;
	return -1;
}

/*
 * Milliseconds until the click buffer is due for a flush: 0 if due now,
 * -1 if it is empty.
 */
int64_t
clicks_due_ms(const struct app *app)
{
	int64_t	 left;

	if (app->nclicks == 0)
		return -1;
	left = app->clicks_flushed_ms + app->conf->click_flush_ms -
	    app->mono_ms();
	return left > 0 ? left : 0;
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

/*
 * Returns 1 if "s" can go into a response header as is: non-empty,
 * printable ASCII, no space.  Else 0.
 */
int
header_value_safe(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

/* Returns 1 if "s" is a cookie name (an RFC 6265 token), else 0. */
int
cookie_name_valid(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') ||
		    strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return 0;
	return 1;
}
