/*
 * The outbox: its rows written with the rewards, claimed and settled by
 * the dispatcher, requeued from the console.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <time.h>

#include "sql.h"

#define MAX_PAYLOAD	4096	/* an outbox payload we generated */
#define CLAIM_CHUNK	12	/* ids in STMT_OUTBOX_CLAIM_MARK_N */
#define SETTLE_CHUNK	13	/* ids in STMT_OUTBOX_{HELD,DELIVERED}_N */
#define PURGE_BATCH	500	/* rows deleted per purge transaction */

_Static_assert(CLAIM_CHUNK + 4 <= DB_MAX_PARAMS, "claim chunk");
_Static_assert(SETTLE_CHUNK + 3 <= DB_MAX_PARAMS, "settle chunk");

struct claim_arg {
	const char	*owner;
	int64_t		 now;
	long		 lease;
	struct outbox_row *rows;
	size_t		 max, *n;
};

/* Reads the rows of a claim SELECT into a->rows, up to a->max in all. */
static enum db_rc
claim_fetch(struct db *db, struct claim_arg *a, enum stmt s)
{
	enum db_rc	 rc;

	if ((rc = db_exec(db, s, "ll", a->now,
	    (int64_t)(a->max - *a->n))) != DB_OK)
		return rc;
	while (*a->n < a->max) {
		struct outbox_row *o = &a->rows[*a->n];

		memset(o, 0, sizeof(*o));
		if ((o->payload = malloc(MAX_PAYLOAD)) == NULL) {
			rc = DB_ERR;
			break;
		}
		rc = db_fetch(db, s, "llssssl", &o->id, &o->reward_id,
		    o->event, sizeof(o->event), o->key, sizeof(o->key),
		    o->reward_type, sizeof(o->reward_type), o->payload,
		    (size_t)MAX_PAYLOAD, &o->attempts);
		if (rc != DB_OK) {
			free(o->payload);
			o->payload = NULL;
			break;
		}
		(*a->n)++;
	}
	db_done(db, s);
	return rc == DB_NOTFOUND || rc == DB_OK ? DB_OK : rc;
}

static enum db_rc
claim_fn(struct db *db, void *arg)
{
	struct claim_arg *a = arg;
	size_t		 i, j, k;
	int64_t		 id[CLAIM_CHUNK];
	enum db_rc	 rc;

	outbox_rows_free(a->rows, *a->n);
	*a->n = 0;
	/* Expired leases first: they have waited longest. */
	if ((rc = claim_fetch(db, a, STMT_OUTBOX_CLAIM_EXPIRED)) != DB_OK ||
	    (rc = claim_fetch(db, a, STMT_OUTBOX_CLAIM_SELECT)) != DB_OK)
		return rc;
	/*
	 * The rows are locked FOR UPDATE, so the conditional UPDATE leases
	 * every one of them.  If it does not (another writer got in on a
	 * cluster where locks are per node), nothing is claimed: better to
	 * claim again than to send a row someone else holds.
	 */
	for (i = 0; i < *a->n; i += CLAIM_CHUNK) {
		for (j = 0, k = i; j < CLAIM_CHUNK; j++, k++)
			id[j] = k < *a->n ? a->rows[k].id : 0;
		k = *a->n - i < CLAIM_CHUNK ? *a->n - i : CLAIM_CHUNK;
		if ((rc = db_exec(db, STMT_OUTBOX_CLAIM_MARK_N,
		    "slAll", a->owner, a->now + a->lease, id, (size_t)CLAIM_CHUNK,
		    a->now, a->now)) != DB_OK)
			return rc;
		if (db_affected(db, STMT_OUTBOX_CLAIM_MARK_N) != (int64_t)k) {
			log_err("%s: leased %" PRId64 " of %zu locked rows",
			    __func__, db_affected(db, STMT_OUTBOX_CLAIM_MARK_N),
			    k);
			return DB_ERR;
		}
	}
	for (i = 0; i < *a->n; i++)
		a->rows[i].attempts++;
	return DB_OK;
}

/*
 * Claims up to "max" due outbox rows (pending and due, or in flight with
 * an expired lease) for "owner" until now + lease.  Fills rows[0..*n);
 * the caller releases payloads with outbox_rows_free().  A row is one
 * claimer's because the UPDATE that leases it is conditional on its state,
 * whatever SKIP LOCKED did or did not lock.
 */
enum db_rc
db_outbox_claim(struct db *db, const char *owner, int64_t now, long lease,
    struct outbox_row *rows, size_t max, size_t *n)
{
	struct claim_arg a = { .owner = owner, .now = now, .lease = lease,
			      .rows = rows, .max = max, .n = n };
	enum db_rc	 rc;

	*n = 0;
	rc = db_txn(db, claim_fn, &a);
	if (rc != DB_OK) {
		outbox_rows_free(rows, *n);
		*n = 0;
	}
	return rc;
}

void
outbox_rows_free(struct outbox_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(rows[i].payload);
		rows[i].payload = NULL;
	}
}

struct mark_arg {
	enum stmt	 s;
	int64_t		 id;
	const char	*owner;
	int64_t		 at;
	int		 status;
	const char	*err;
};

static enum db_rc
mark_fn(struct db *db, void *arg)
{
	struct mark_arg	*a = arg;
	enum db_rc	 rc;

	switch (a->s) {
	case STMT_OUTBOX_RELEASE:
		rc = db_exec(db, a->s, "s", a->owner);
		break;
	case STMT_OUTBOX_REQUEUE:
		rc = db_exec(db, a->s, "ll", a->at, a->id);
		if (rc == DB_OK && db_affected(db, a->s) == 1) {
			char	 detail[64];

			snprintf(detail, sizeof(detail), "outbox row %" PRId64
			    " retried", a->id);
			return db_exec(db, STMT_AUDIT_INSERT, "lssLLsSSS",
			    a->at, a->owner, "outbox_retry", (int64_t)0,
			    (int64_t)0, detail, (const char *)NULL,
			    (const char *)NULL, (const char *)NULL);
		}
		break;
	default:
		abort();
	}
	if (rc != DB_OK)
		return rc;
	return a->s == STMT_OUTBOX_RELEASE || db_affected(db, a->s) == 1 ?
	    DB_OK : DB_NOOP;
}

static enum db_rc
outbox_mark(struct db *db, struct mark_arg *a)
{
	return db_txn(db, mark_fn, a);
}

struct settle_arg {
	const char		*owner;
	struct outbox_result	*res;
	size_t			 n;
	char			*done;		/* n flags */
};

/*
 * Delivered rows, up to SETTLE_CHUNK with the same status and time at
 * once: lock those still leased to us (they are the ones we keep), then
 * mark them in one UPDATE.  Fills res[].kept; "done" marks rows handled.
 */
static enum db_rc
settle_delivered(struct db *db, struct settle_arg *a, char *done)
{
	struct outbox_result *r, *c[SETTLE_CHUNK];
	int64_t		 id[SETTLE_CHUNK], got, kept = 0;
	size_t		 i, j, n = 0;
	enum db_rc	 rc;

	for (i = 0; i < a->n; i++)
		if (!done[i] && a->res[i].fate == OUTBOX_DELIVERED)
			break;
	if (i == a->n)
		return DB_NOTFOUND;
	r = &a->res[i];
	for (j = i; j < a->n && n < SETTLE_CHUNK; j++)
		if (!done[j] && a->res[j].fate == OUTBOX_DELIVERED &&
		    a->res[j].status == r->status && a->res[j].at == r->at) {
			done[j] = 1;
			c[n++] = &a->res[j];
		}
	for (j = 0; j < SETTLE_CHUNK; j++)
		id[j] = j < n ? c[j]->id : 0;
	if ((rc = db_exec(db, STMT_OUTBOX_HELD_N, "sA", a->owner, id,
	    (size_t)SETTLE_CHUNK)) != DB_OK)
		return rc;
	while ((rc = db_fetch(db, STMT_OUTBOX_HELD_N, "l", &got)) == DB_OK)
		for (j = 0; j < n; j++)
			if (c[j]->id == got && !c[j]->kept) {
				c[j]->kept = 1;
				kept++;
			}
	db_done(db, STMT_OUTBOX_HELD_N);
	if (rc != DB_NOTFOUND)
		return rc;
	if (kept == 0)
		return DB_OK;
	if ((rc = db_exec(db, STMT_OUTBOX_DELIVERED_N, "LlsA",
	    (int64_t)r->status, r->at, a->owner, id,
	    (size_t)SETTLE_CHUNK)) != DB_OK)
		return rc;
	return db_affected(db, STMT_OUTBOX_DELIVERED_N) == kept ? DB_OK :
	    DB_ERR;
}

static enum db_rc
settle_fn(struct db *db, void *arg)
{
	struct settle_arg	*a = arg;
	struct outbox_result	*r;
	enum stmt		 s;
	enum db_rc		 rc;
	size_t			 i;

	memset(a->done, 0, a->n);
	for (i = 0; i < a->n; i++)
		a->res[i].kept = 0;
	while ((rc = settle_delivered(db, a, a->done)) == DB_OK)
		continue;
	if (rc != DB_NOTFOUND)
		return rc;
	for (i = 0; i < a->n; i++) {
		r = &a->res[i];
		if (r->fate == OUTBOX_DELIVERED)
			continue;
		if (r->fate == OUTBOX_RETRY) {
			s = STMT_OUTBOX_RETRY;
			rc = db_exec(db, s, "LSlls", (int64_t)r->status,
			    r->err, r->at, r->id, a->owner);
		} else {
			s = STMT_OUTBOX_DEAD;
			rc = db_exec(db, s, "LSls", (int64_t)r->status,
			    r->err, r->id, a->owner);
		}
		if (rc != DB_OK)
			return rc;
		r->kept = db_affected(db, s) == 1;
		/* A dead grant was never delivered: nothing to revoke. */
		if (r->kept && s == STMT_OUTBOX_DEAD && (rc = db_exec(db,
		    STMT_OUTBOX_CANCEL_AFTER, "l", r->id)) != DB_OK)
			return rc;
	}
	return DB_OK;
}

/*
 * Records the outcomes of n delivery attempts in one transaction (one
 * commit for a whole batch of transfers).  Each update is conditional on
 * the row still being leased to "owner"; res[i].kept says whether it was
 * (if not, the lease expired and the row will be sent again with the same
 * key).  Returns DB_OK, DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_outbox_settle(struct db *db, const char *owner, struct outbox_result *res,
    size_t n)
{
	struct settle_arg a = { .owner = owner, .res = res, .n = n };
	enum db_rc	 rc;

	if (n == 0)
		return DB_OK;
	if ((a.done = malloc(n)) == NULL)
		return DB_ERR;
	rc = db_txn(db, settle_fn, &a);
	free(a.done);
	return rc;
}

/* Gives back every row "owner" holds (SIGTERM), not counting the attempt. */
enum db_rc
db_outbox_release(struct db *db, const char *owner)
{
	struct mark_arg	 a = { STMT_OUTBOX_RELEASE, 0, owner, 0, 0, NULL };

	return outbox_mark(db, &a);
}

/*
 * Sets a dead row back to pending (console "r"), audit-logged.
 * Returns DB_OK, DB_NOOP (not dead), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_outbox_requeue(struct db *db, int64_t id, const char *operator,
    int64_t now)
{
	struct mark_arg	 a = { STMT_OUTBOX_REQUEUE, id, operator, now, 0,
			      NULL };

	return outbox_mark(db, &a);
}

struct purge_arg {
	int64_t		 before;
	size_t		*n;
};

static enum db_rc
purge_fn(struct db *db, void *arg)
{
	struct purge_arg *a = arg;
	enum db_rc	 rc;

	if ((rc = db_exec(db, STMT_OUTBOX_PURGE, "ll", a->before,
	    (int64_t)PURGE_BATCH)) != DB_OK)
		return rc;
	*a->n = (size_t)db_affected(db, STMT_OUTBOX_PURGE);
	return DB_OK;
}

/*
 * Deletes up to PURGE_BATCH delivered rows older than
 * outbox_retention_days, oldest first, in one short transaction: a
 * bounded amount of work per call (call again while *n is the batch).
 * A revocation whose grant's row is gone is claimable (delivered before).
 * Returns DB_OK (*n rows deleted), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_outbox_purge(struct db *db, int64_t now, size_t *n)
{
	struct purge_arg a = { .n = n };

	*n = 0;
	a.before = now - (int64_t)db->conf->outbox_retention_days * CONV_DAY;
	return db_txn(db, purge_fn, &a);
}

struct counts_arg {
	int64_t		 now;
	struct outbox_counts *c;
};

static enum db_rc
counts_fn(struct db *db, void *arg)
{
	struct counts_arg *a = arg;
	enum db_rc	 rc;

	memset(a->c, 0, sizeof(*a->c));
	if ((rc = db_exec(db, STMT_OUTBOX_COUNTS, "ll", a->now,
	    a->now)) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_OUTBOX_COUNTS, "llllll", &a->c->pending,
	    &a->c->due, &a->c->inflight, &a->c->delivered, &a->c->dead,
	    &a->c->delivered_today);
	db_done(db, STMT_OUTBOX_COUNTS);
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

/* Reads the outbox counters for /metrics and the console. */
enum db_rc
db_outbox_counts(struct db *db, int64_t now, struct outbox_counts *c)
{
	struct counts_arg a = { .now = now, .c = c };

	return db_read(db, counts_fn, &a);
}

/* Adds "key": the ISO 8601 UTC text of "t" to "o".  Returns 0 or -1. */
static int
add_time(json_object *o, const char *key, int64_t t)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;
	char		 ts[32];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return json_object_object_add(o, key, json_object_new_string(ts));
}

/*
 * Writes into "buf" (sz bytes) the JSON of a reward message (SPEC section
 * 6), made with json-c so that every value is escaped whatever it holds:
 * {"event","reward_id","referral_id","user_id","role","type","amount",
 * "currency","issued_at"}, in that order, without blanks, and for a
 * revocation (revoked_at not 0) "revoked_at" after them: "issued_at" is
 * always the grant's.  Returns 0, or -1 if memory fails or the text does
 * not fit.
 */
int
reward_payload(char *buf, size_t sz, const char *event, int64_t reward,
    int64_t referral, int64_t user, const char *role,
    const struct reward_def *def, int64_t issued_at, int64_t revoked_at)
{
	json_object	*o;
	const char	*text;
	char		 amount[32];
	size_t		 len;
	int		 rc = -1;

	if (money_format(def->amount, amount, sizeof(amount)) == -1)
		return -1;
	if ((o = json_object_new_object()) == NULL)
		return -1;
	if (json_object_object_add(o, "event",
	    json_object_new_string(event)) != 0 ||
	    json_object_object_add(o, "reward_id",
	    json_object_new_int64(reward)) != 0 ||
	    json_object_object_add(o, "referral_id",
	    json_object_new_int64(referral)) != 0 ||
	    json_object_object_add(o, "user_id",
	    json_object_new_int64(user)) != 0 ||
	    json_object_object_add(o, "role",
	    json_object_new_string(role)) != 0 ||
	    json_object_object_add(o, "type",
	    json_object_new_string(def->type)) != 0 ||
	    json_object_object_add(o, "amount",
	    json_object_new_string(amount)) != 0 ||
	    json_object_object_add(o, "currency",
	    json_object_new_string(def->currency)) != 0 ||
	    add_time(o, "issued_at", issued_at) != 0 ||
	    (revoked_at != 0 && add_time(o, "revoked_at", revoked_at) != 0))
		goto out;
	if ((text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL ||
	    (len = strlen(text)) >= sz)
		goto out;
	memcpy(buf, text, len + 1);
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/*
 * The outbox row of "payload", keyed "<prefix>-<reward>" (Idempotency-Key),
 * not claimed before row "after" is delivered (0: no such row).
 */
static enum db_rc
outbox_insert(struct db *db, int64_t reward, const char *event,
    const char *prefix, const char *payload, const char *type, int64_t after,
    int64_t now)
{
	char	 key[64];

	snprintf(key, sizeof(key), "%s-%" PRId64, prefix, reward);
	return db_exec(db, STMT_OUTBOX_INSERT, "lssssllL", reward, event, key,
	    type, payload, now, now, after);
}

/*
 * Inside a transaction: the outbox row of one reward message ("event" is
 * reward.issued or reward.revoked, keyed reward-<id> or revoke-<id>).  A
 * revocation carries the grant's "issued_at" and its "revoked_at", and
 * waits for outbox row "after" (its grant's; 0: none) to be delivered.
 * Returns DB_OK, DB_RETRY (the row exists: replay), DB_ERR (logged).
 */
enum db_rc
outbox_reward(struct db *db, const char *event, int64_t reward,
    int64_t referral, int64_t user, const char *role,
    const struct reward_def *def, int64_t issued_at, int64_t revoked_at,
    int64_t after, int64_t now)
{
	char		 payload[1024];
	int		 revoke = strcmp(event, "reward.revoked") == 0;
	enum db_rc	 rc;

	if (reward_payload(payload, sizeof(payload), event, reward, referral,
	    user, role, def, issued_at, revoke ? revoked_at : 0) == -1) {
		log_err("%s: reward %" PRId64 ": payload", __func__, reward);
		return DB_ERR;
	}
	rc = outbox_insert(db, reward, event, revoke ? "revoke" : "reward",
	    payload, def->type, after, now);
	return rc == DB_DUP ? DB_RETRY : rc;
}
