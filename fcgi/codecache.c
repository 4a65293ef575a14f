/*
 * The code cache of a worker, which keeps the landing page off the
 * database.  It holds, per code, whether it may set the cookie and until
 * when (its expiry or disabling time).  It is set-associative, large
 * enough for every code of a sizeable table (a code may live in either of
 * two sets of CODE_CACHE_WAYS entries, the less full one; a full pair
 * evicts its oldest entry), and filled at start with the newest codes.
 * An entry is trusted for code_cache_seconds after it was read.  A valid
 * one is trusted longer, for as long as the change feed is healthy: every
 * CODE_FEED_MS the worker reads the codes whose changed_at (migration 003,
 * set by any UPDATE) moved since its last poll and updates the entries it
 * holds, so disabling or expiring a code takes effect within about a
 * second, and within code_cache_seconds at worst if the feed stalls.  No
 * entry outlives CODE_CACHE_MAX_AGE (a deleted row leaves no change).  An
 * "unknown" answer is not followed (a new code is not a change): it lasts
 * code_cache_seconds, the time a newly minted code may wait for its cookie.
 * Unknown codes live in a table of their own (CODE_NEG_SLOTS, each set
 * evicting its oldest), so a flood of random codes never displaces a
 * known one.  The database reads for codes neither table answers are
 * metered (CODE_MISS_RATE a second, bursts of CODE_MISS_BURST): over the
 * budget a code is answered as in a database outage, a redirect with the
 * cookie for any well-formed code (the signup checks it) and no click, so
 * a flood of distinct random codes costs the database a bounded rate of
 * reads and a real code that is not cached keeps its attribution.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi.h"

#define NSETS	(CODE_CACHE_SLOTS / CODE_CACHE_WAYS)
_Static_assert(CODE_CACHE_SLOTS % CODE_CACHE_WAYS == 0, "whole sets");

/* An entry packs a 42-bit key and a 22-bit time (see struct code_entry). */
#define KEY_HI_BITS	10
#define KEY_HI_MASK	((1u << KEY_HI_BITS) - 1)
#define LOADED_MASK	((1u << (32 - KEY_HI_BITS)) - 1)
/* Entries looked at per poll: the whole cache every MAX_AGE / 2. */
#define SWEEP_STEP	(CODE_CACHE_SLOTS / (CODE_CACHE_MAX_AGE / 2) + 1)
_Static_assert(36ULL * 36 * 36 * 36 * 36 * 36 * 36 * 36 <
    1ULL << (32 + KEY_HI_BITS), "a code key fits in 42 bits");
_Static_assert(CODE_CACHE_MAX_AGE * 4 < LOADED_MASK && 86400 * 4 <
    LOADED_MASK, "entry ages stay far below the 22-bit wrap");

static uint64_t
e_key(const struct code_entry *e)
{
	return (uint64_t)(e->hi_loaded & KEY_HI_MASK) << 32 | e->key_lo;
}

/* Seconds since the entry was read ("now" in monotonic seconds). */
static uint32_t
e_age(const struct code_entry *e, uint32_t now)
{
	return (now - (e->hi_loaded >> KEY_HI_BITS)) & LOADED_MASK;
}

static void
e_set(struct code_entry *e, uint64_t k, uint32_t loaded)
{
	e->key_lo = (uint32_t)k;
	e->hi_loaded = (uint32_t)(k >> 32 & KEY_HI_MASK) |
	    (loaded & LOADED_MASK) << KEY_HI_BITS;
}

/*
 * Returns the key of a code of CODE_LEN characters of CODE_ALPHABET: its
 * base-36 value plus one.  0 for anything else (not cached).
 */
uint64_t
code_key(const char *code)
{
	uint64_t	 k = 0;
	size_t		 i;
	int		 d;

	for (i = 0; i < CODE_LEN; i++) {
		if (code[i] >= '0' && code[i] <= '9')
			d = code[i] - '0';
		else if (code[i] >= 'A' && code[i] <= 'Z')
			d = code[i] - 'A' + 10;
		else
			return 0;
		k = k * 36 + (uint64_t)d;
	}
	return code[CODE_LEN] == '\0' ? k + 1 : 0;
}

/* The code of a key of code_key(), NUL-terminated into "out". */
void
code_unkey(uint64_t k, char out[CODE_LEN + 1])
{
	size_t	 i;

	k--;
	for (i = CODE_LEN; i > 0; i--) {
		out[i - 1] = CODE_ALPHABET[k % 36];
		k /= 36;
	}
	out[CODE_LEN] = '\0';
}

/* The two sets a key may live in. */
static void
key_sets(uint64_t k, struct code_entry *cache, struct code_entry **s1,
    struct code_entry **s2)
{
	uint64_t	 a = (k * 0x9e3779b97f4a7c15ULL) >> 32;
	uint64_t	 b = (k * 0xc2b2ae3d27d4eb4fULL) >> 32;

	a %= NSETS;
	b %= NSETS;
	if (b == a)
		b = (a + 1) % NSETS;
	*s1 = cache + a * CODE_CACHE_WAYS;
	*s2 = cache + b * CODE_CACHE_WAYS;
}

static struct code_entry *
cache_find(struct app *app, uint64_t k)
{
	struct code_entry	*s[2];
	size_t			 i, j;

	key_sets(k, app->cache, &s[0], &s[1]);
	for (j = 0; j < 2; j++)
		for (i = 0; i < CODE_CACHE_WAYS; i++)
			if (s[j][i].key_lo == (uint32_t)k && e_key(&s[j][i]) == k)
				return &s[j][i];
	return NULL;
}

/*
 * The entry for key "k": its own, else a free one of the emptier set,
 * else the oldest of both sets.
 */
static struct code_entry *
cache_slot(struct app *app, uint64_t k, uint32_t now)
{
	struct code_entry	*s[2], *e, *fr[2] = { NULL, NULL }, *old = NULL;
	size_t			 i, j, used[2] = { 0, 0 };
	uint64_t		 ek;

	key_sets(k, app->cache, &s[0], &s[1]);
	for (j = 0; j < 2; j++)
		for (i = 0; i < CODE_CACHE_WAYS; i++) {
			e = &s[j][i];
			if ((ek = e_key(e)) == k)
				return e;
			if (ek == 0) {
				if (fr[j] == NULL)
					fr[j] = e;
				continue;
			}
			used[j]++;
			if (old == NULL || e_age(e, now) > e_age(old, now))
				old = e;
		}
	if (fr[0] != NULL && (fr[1] == NULL || used[0] <= used[1]))
		return fr[0];
	return fr[1] != NULL ? fr[1] : old;
}

#define NEG_SETS	(CODE_NEG_SLOTS / CODE_NEG_WAYS)
_Static_assert(CODE_NEG_SLOTS % CODE_NEG_WAYS == 0, "whole sets");

static uint64_t
neg_key(const struct code_neg *n)
{
	return (uint64_t)n->key_hi << 32 | n->key_lo;
}

static struct code_neg *
neg_set(struct app *app, uint64_t k)
{
	return app->neg + ((k * 0xd6e8feb86659fd93ULL) >> 32) % NEG_SETS *
	    CODE_NEG_WAYS;
}

/* The entry of unknown code "k", or NULL. */
static struct code_neg *
neg_find(struct app *app, uint64_t k)
{
	struct code_neg	*set = neg_set(app, k);
	size_t		 i;

	for (i = 0; i < CODE_NEG_WAYS; i++)
		if (set[i].key_lo == (uint32_t)k && neg_key(&set[i]) == k)
			return &set[i];
	return NULL;
}

/* Remembers "k" as unknown: its own entry, a free one, or the oldest. */
static void
neg_put(struct app *app, uint64_t k, uint32_t now)
{
	struct code_neg	*set = neg_set(app, k), *e = NULL;
	size_t		 i;

	for (i = 0; i < CODE_NEG_WAYS; i++) {
		if (neg_key(&set[i]) == k || neg_key(&set[i]) == 0) {
			e = &set[i];
			break;
		}
		if (e == NULL || now - set[i].loaded > now - e->loaded)
			e = &set[i];
	}
	e->key_lo = (uint32_t)k;
	e->key_hi = (uint32_t)(k >> 32);
	e->loaded = now;
}

static void
neg_drop(struct app *app, uint64_t k)
{
	struct code_neg	*e;

	if ((e = neg_find(app, k)) != NULL)
		memset(e, 0, sizeof(*e));
}

/*
 * Takes one database read from the miss budget (a GCRA meter: at most
 * CODE_MISS_BURST at once, then CODE_MISS_RATE a second).  Returns 1 if
 * the read may be made, 0 if the budget is spent.
 */
static int
miss_budget_take(struct app *app)
{
	const int64_t	 cost = 1000 / CODE_MISS_RATE;
	int64_t		 now = app->mono_ms(), tat = app->miss_tat_ms;

	if (tat < now)
		tat = now;
	if (tat - now > cost * (CODE_MISS_BURST - 1))
		return 0;
	app->miss_tat_ms = tat + cost;
	return 1;
}

/* Until when a code row may set the cookie: 0 if it may not. */
static uint32_t
row_until(int found, int64_t expires_at, int64_t disabled_at)
{
	int64_t	 u = UINT32_MAX;

	if (!found)
		return 0;
	if (expires_at != 0 && expires_at < u)
		u = expires_at;
	if (disabled_at != 0 && disabled_at < u)
		u = disabled_at;
	return u > 0 ? (uint32_t)u : 0;
}

static uint32_t
mono_s(const struct app *app)
{
	return (uint32_t)(app->mono_ms() / 1000);
}

static uint32_t
max_age(const struct app *app)
{
	long	 ttl = app->conf->code_cache_seconds;

	return ttl > CODE_CACHE_MAX_AGE ? (uint32_t)ttl : CODE_CACHE_MAX_AGE;
}

/* Whether an entry may still be trusted at "now" (monotonic seconds). */
static int
entry_fresh(const struct app *app, const struct code_entry *e, uint32_t now)
{
	uint32_t	 age = e_age(e, now), since;

	if (age >= max_age(app))
		return 0;
	/* The feed has seen every update up to its last good poll. */
	if (e->until != 0 && app->feed_on &&
	    (since = now - app->feed_ok) < age)
		age = since;
	return age < (uint32_t)app->conf->code_cache_seconds;
}

/*
 * Looks a normalised code up: from the cache if its entry is fresh, from
 * the unknown codes if it is one of them, else from the database if the
 * miss budget allows, and caches the answer (an unknown code apart).
 * Returns the entry (valid until the next call), or NULL with *rc the
 * failure: DB_ERR or DB_UNAVAILABLE from the database, DB_RETRY if the
 * budget is spent; nothing is cached then.  A known entry past its
 * freshness is returned instead of NULL when the database fails (*rc
 * says how), so an outage longer than code_cache_seconds keeps landings
 * on known codes counted.
 */
const struct code_entry *
code_cache_get(struct app *app, const char *code, enum db_rc *rc)
{
	struct code_entry	*e = NULL;
	struct code_neg		*n;
	struct code_row		 row;
	uint64_t		 k = code_key(code);
	uint32_t		 now = mono_s(app);
	int			 cached;

	*rc = DB_OK;
	cached = k != 0 && app->conf->code_cache_seconds > 0;
	if (cached && (e = cache_find(app, k)) != NULL &&
	    entry_fresh(app, e, now))
		return e;
	if (cached && e == NULL && (n = neg_find(app, k)) != NULL &&
	    now - n->loaded < (uint32_t)app->conf->code_cache_seconds) {
		e_set(&app->scratch, k, now);
		app->scratch.until = 0;
		return &app->scratch;
	}
	if (cached && !miss_budget_take(app)) {
		/* A known code read too long ago beats no answer. */
		if (e != NULL)
			return e;
		app->code_shed++;
		metrics_code_read(app->metrics, 1);
		*rc = DB_RETRY;
		return NULL;
	}
	app->code_reads++;
	metrics_code_read(app->metrics, 0);
	*rc = db_code_lookup(app->db, code, &row);
	if (*rc != DB_OK && *rc != DB_NOTFOUND) {
		/*
		 * The database is away: a known code read too long ago is
		 * still the best answer (its landing keeps the cookie and
		 * the click, written once the database is back); the next
		 * request asks the database again.
		 */
		return e;
	}
	e = (struct code_entry *)code_cache_put(app, &row, code, *rc == DB_OK);
	*rc = DB_OK;
	return e;
}

/*
 * Stores an answer for "code" ("row" unused if !found) and returns its
 * entry, valid until the next call.  A known code goes into the cache, an
 * unknown one among the unknown codes (and out of the cache: it was
 * deleted).
 */
const struct code_entry *
code_cache_put(struct app *app, const struct code_row *row,
    const char *code, int found)
{
	struct code_entry	*e;
	uint64_t		 k = code_key(code);
	uint32_t		 now = mono_s(app);

	if (k != 0 && found) {
		neg_drop(app, k);
		e = cache_slot(app, k, now);
	} else {
		if (k != 0) {
			if ((e = cache_find(app, k)) != NULL)
				memset(e, 0, sizeof(*e));
			neg_put(app, k, now);
		}
		e = &app->scratch;
	}
	e_set(e, k, now);
	e->until = row_until(found, found ? row->expires_at : 0,
	    found ? row->disabled_at : 0);
	return e;
}

/*
 * Starts following the change feed from the database's clock now: the
 * cache is emptied, since what it holds was read before.  Returns 0, or
 * -1 if the database did not answer.
 */
static int
feed_start(struct app *app)
{
	int64_t	 dbnow;

	if (db_db_now(app->db, &dbnow) != DB_OK)
		return -1;
	memset(app->cache, 0, CODE_CACHE_SLOTS * sizeof(*app->cache));
	memset(app->neg, 0, CODE_NEG_SLOTS * sizeof(*app->neg));
	app->feed_since = dbnow - CODE_FEED_OVERLAP;
	app->feed_ok = mono_s(app);
	app->feed_on = 1;
	return 0;
}

/*
 * Empties the cache, starts the change feed and fills the cache with up
 * to CODE_CACHE_LOAD codes, the newest first, so that a new worker answers
 * landings without the database.  Returns 0, or -1 if the database failed
 * (the cache then fills as codes are asked for).
 */
int
code_cache_load(struct app *app)
{
	struct code_row	 row;
	size_t		 n = 0, got, i, page = CODE_FEED_MAX < DB_CODE_PAGE ?
			    CODE_FEED_MAX : DB_CODE_PAGE;
	int64_t		 before = INT64_MAX, last;
	enum db_rc	 rc;

	if (app->conf->code_cache_seconds <= 0)
		return 0;
	app->feed_polled_ms = app->mono_ms();
	if (feed_start(app) == -1)
		return -1;
	memset(&row, 0, sizeof(row));
	while (n < CODE_CACHE_LOAD) {
		got = 0;
		rc = db_code_page(app->db, before, app->feedbuf, page, &got,
		    &last);
		if (rc != DB_OK)
			return -1;
		for (i = 0; i < got; i++) {
			row.expires_at = app->feedbuf[i].expires_at;
			row.disabled_at = app->feedbuf[i].disabled_at;
			code_cache_put(app, &row, app->feedbuf[i].code, 1);
		}
		n += got;
		if (got < page)
			break;
		before = last;
	}
	/* The pages' result sets are freed: give their memory back. */
	malloc_trim(0);
	return 0;
}

/*
 * Reads the codes changed since the last poll and updates the entries
 * that hold them.  CODE_FEED_MAX changes or more at once load the cache
 * again.  Returns 0, or -1 if the database failed (entries then age out
 * after code_cache_seconds).
 */
int
code_feed_poll(struct app *app)
{
	struct code_entry	*e;
	int64_t			 dbnow;
	uint32_t		 t = mono_s(app);
	size_t			 n, i;
	uint64_t		 k;

	app->feed_polled_ms = app->mono_ms();
	/* Drop entries past their age, a slice a poll, so that none gets
	 * old enough for its 22-bit time to wrap. */
	for (i = 0; i < SWEEP_STEP; i++) {
		e = &app->cache[app->sweep];
		app->sweep = (app->sweep + 1) % CODE_CACHE_SLOTS;
		if (e_key(e) != 0 && e_age(e, t) >= max_age(app))
			memset(e, 0, sizeof(*e));
	}
	if (!app->feed_on)
		return feed_start(app);
	if (db_code_changes(app->db, app->feed_since, app->feedbuf,
	    CODE_FEED_MAX, &n, &dbnow) != DB_OK)
		return -1;
	if (n == CODE_FEED_MAX) {
		log_err("worker: %d or more codes changed at once: loading "
		    "the code cache again", CODE_FEED_MAX);
		return code_cache_load(app);
	}
	for (i = 0; i < n; i++) {
		if ((k = code_key(app->feedbuf[i].code)) == 0 ||
		    (e = cache_find(app, k)) == NULL)
			continue;
		e->until = row_until(1, app->feedbuf[i].expires_at,
		    app->feedbuf[i].disabled_at);
		e_set(e, k, t);
	}
	app->feed_since = dbnow - CODE_FEED_OVERLAP;
	app->feed_ok = t;
	return 0;
}

/*
 * Milliseconds until the change feed is due for a poll: 0 if due now, -1
 * if there is no cache to follow.
 */
int64_t
code_feed_due_ms(const struct app *app)
{
	int64_t	 left;

	if (app->conf->code_cache_seconds <= 0)
		return -1;
	left = app->feed_polled_ms + CODE_FEED_MS - app->mono_ms();
	return left > 0 ? left : 0;
}
