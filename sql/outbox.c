/*
 * The outbox as the dispatcher and the console see it.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

#define MAX_PAYLOAD	4096	/* an outbox payload we generated */

struct claim_arg {
	const char	*owner;
	int64_t		 now;
	long		 lease;
	struct outbox_row *rows;
	size_t		 max, *n;
};

static enum db_rc
claim_fn(struct db *db, void *arg)
{
	struct claim_arg *a = arg;
	int64_t		 ids[512];
	size_t		 nids = 0, i, max = a->max < 512 ? a->max : 512;
	enum db_rc	 rc;

	outbox_rows_free(a->rows, *a->n);
	*a->n = 0;
	if ((rc = db_exec(db, STMT_OUTBOX_CLAIM_SELECT, "lll", a->now, a->now,
	    (int64_t)max)) != DB_OK)
		return rc;
	while (nids < max && (rc = db_fetch(db, STMT_OUTBOX_CLAIM_SELECT,
	    "l", &ids[nids])) == DB_OK)
		nids++;
	db_done(db, STMT_OUTBOX_CLAIM_SELECT);
	if (rc != DB_OK && rc != DB_NOTFOUND)
		return rc;
	for (i = 0; i < nids; i++) {
		struct outbox_row *o = &a->rows[*a->n];

		if ((rc = db_exec(db, STMT_OUTBOX_CLAIM_MARK, "slll" "l",
		    a->owner, a->now + a->lease, ids[i], a->now,
		    a->now)) != DB_OK)
			return rc;
		/* Another dispatcher took it between SELECT and UPDATE. */
		if (db_affected(db, STMT_OUTBOX_CLAIM_MARK) != 1)
			continue;
		memset(o, 0, sizeof(*o));
		if ((o->payload = malloc(MAX_PAYLOAD)) == NULL)
			return DB_ERR;
		(*a->n)++;
		if ((rc = db_exec(db, STMT_OUTBOX_GET, "l", ids[i])) != DB_OK)
			return rc;
		rc = db_fetch(db, STMT_OUTBOX_GET, "llssssl", &o->id,
		    &o->reward_id, o->event, sizeof(o->event), o->key,
		    sizeof(o->key), o->reward_type, sizeof(o->reward_type),
		    o->payload, (size_t)MAX_PAYLOAD, &o->attempts);
		db_done(db, STMT_OUTBOX_GET);
		if (rc != DB_OK)
			return rc == DB_NOTFOUND ? DB_RETRY : rc;
	}
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
	case STMT_OUTBOX_DELIVERED:
		rc = db_exec(db, a->s, "llls", (int64_t)a->status, a->at,
		    a->id, a->owner);
		break;
	case STMT_OUTBOX_RETRY:
		rc = db_exec(db, a->s, "lSlls", (int64_t)a->status, a->err,
		    a->at, a->id, a->owner);
		break;
	case STMT_OUTBOX_DEAD:
		rc = db_exec(db, a->s, "lSls", (int64_t)a->status, a->err,
		    a->id, a->owner);
		break;
	case STMT_OUTBOX_RELEASE:
		rc = db_exec(db, a->s, "s", a->owner);
		break;
	case STMT_OUTBOX_REQUEUE:
		rc = db_exec(db, a->s, "ll", a->at, a->id);
		if (rc == DB_OK && db_affected(db, a->s) == 1) {
			char	 detail[64];

			snprintf(detail, sizeof(detail), "outbox row %" PRId64
			    " retried", a->id);
			return db_exec(db, STMT_AUDIT_INSERT, "lssLLs", a->at,
			    a->owner, "outbox_retry", (int64_t)0, (int64_t)0,
			    detail);
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

/*
 * The outcomes of a delivery attempt.  Each is conditional on the row
 * still being leased to "owner": DB_NOOP means the lease was lost (the row
 * went back to the pool and will be sent again with the same key).
 */
enum db_rc
db_outbox_delivered(struct db *db, int64_t id, const char *owner, int status,
    int64_t now)
{
	struct mark_arg	 a = { STMT_OUTBOX_DELIVERED, id, owner, now, status,
			      NULL };

	return outbox_mark(db, &a);
}

enum db_rc
db_outbox_retry(struct db *db, int64_t id, const char *owner,
    int64_t next_at, int status, const char *err)
{
	struct mark_arg	 a = { STMT_OUTBOX_RETRY, id, owner, next_at, status,
			      err };

	return outbox_mark(db, &a);
}

enum db_rc
db_outbox_dead(struct db *db, int64_t id, const char *owner, int status,
    const char *err)
{
	struct mark_arg	 a = { STMT_OUTBOX_DEAD, id, owner, 0, status, err };

	return outbox_mark(db, &a);
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
