/*
 * Referral codes: reading and minting one, and the pages and changes the
 * landing cache loads.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

#define CODE_MINT_TRIES	8	/* collisions of random codes before giving up */

/* Reads the code row of executed statement "s" and finishes it. */
enum db_rc
db_code_fetch(struct db *db, enum stmt s, struct code_row *c)
{
	enum db_rc	 rc;

	memset(c, 0, sizeof(*c));
	rc = db_fetch(db, s, "lslll", &c->user_id, c->code, sizeof(c->code),
	    &c->created_at, &c->expires_at, &c->disabled_at);
	db_done(db, s);
	return rc;
}

/* The code of "user" by statement "s" (STMT_CODE_BY_USER or _LOCK). */
static enum db_rc
code_by_user_stmt(struct db *db, enum stmt s, int64_t user,
    struct code_row *c)
{
	enum db_rc	 rc;

	if ((rc = db_exec(db, s, "l", user)) != DB_OK)
		return rc;
	return db_code_fetch(db, s, c);
}

/* Inside a transaction: the code of "user", or DB_NOTFOUND. */
enum db_rc
db_code_by_user_in(struct db *db, int64_t user, struct code_row *c)
{
	return code_by_user_stmt(db, STMT_CODE_BY_USER, user, c);
}

struct code_arg {
	int64_t		 user;
	const char	*code;
	int64_t		 now;
	struct code_row	*out;
};

static enum db_rc
code_get_fn(struct db *db, void *arg)
{
	struct code_arg	*a = arg;

	return db_code_by_user_in(db, a->user, a->out);
}

/*
 * Reads the code of "user".  Returns DB_OK, DB_NOTFOUND, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_code_get(struct db *db, int64_t user, struct code_row *out)
{
	struct code_arg	 a = { .user = user, .out = out };

	return db_read(db, code_get_fn, &a);
}

static enum db_rc
code_lookup_fn(struct db *db, void *arg)
{
	struct code_arg	*a = arg;
	enum db_rc	 rc;

	if ((rc = db_exec(db, STMT_CODE_BY_CODE, "s", a->code)) != DB_OK)
		return rc;
	return db_code_fetch(db, STMT_CODE_BY_CODE, a->out);
}

/*
 * Reads a code row by its (normalised) code.  Returns DB_OK, DB_NOTFOUND,
 * DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_code_lookup(struct db *db, const char *code, struct code_row *out)
{
	struct code_arg	 a = { .code = code, .out = out };

	return db_read(db, code_lookup_fn, &a);
}

/*
 * Inside a transaction: the user's code, minted if missing.  Returns DB_OK
 * for a new code, DB_DUP for an existing one (out filled either way).
 * Codes are random, so a collision with another user's code draws again.
 */
enum db_rc
db_code_mint_in(struct db *db, int64_t user, int64_t now, struct code_row *out)
{
	enum db_rc	 rc;
	int		 i;

	if ((rc = db_code_by_user_in(db, user, out)) != DB_NOTFOUND)
		return rc == DB_OK ? DB_DUP : rc;
	for (i = 0; i < CODE_MINT_TRIES; i++) {
		char	 code[CODE_LEN + 1];

		if (code_mint(code) == -1) {
			log_err("%s: no randomness", __func__);
			return DB_ERR;
		}
		rc = db_exec(db, STMT_CODE_INSERT, "lsl", user, code, now);
		if (rc == DB_OK) {
			memset(out, 0, sizeof(*out));
			out->user_id = user;
			memcpy(out->code, code, sizeof(code));
			out->created_at = now;
			return DB_OK;
		}
		if (rc != DB_DUP)
			return rc;
		/*
		 * Another request minted for this user, or a collision.  A
		 * plain read may not see the other request's row yet (seen
		 * under load: the duplicate came back while a read-committed
		 * SELECT found nothing); a locking read waits for its writer
		 * and sees the latest committed row, so NOTFOUND here means
		 * a collision of random codes.
		 */
		if ((rc = code_by_user_stmt(db, STMT_CODE_BY_USER_LOCK, user,
		    out)) != DB_NOTFOUND)
			return rc == DB_OK ? DB_DUP : rc;
	}
	log_err("%s: %d code collisions in a row", __func__, i);
	return DB_ERR;
}

static enum db_rc
code_mint_fn(struct db *db, void *arg)
{
	struct code_arg	*a = arg;

	return db_code_mint_in(db, a->user, a->now, a->out);
}

/*
 * Returns the code of "user", minting it if missing: DB_OK (new), DB_DUP
 * (existed), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_code_mint(struct db *db, int64_t user, int64_t now, struct code_row *out)
{
	struct code_arg	 a = { .user = user, .now = now, .out = out };

	return db_txn(db, code_mint_fn, &a);
}

struct brief_arg {
	int64_t			 key;		/* before id, or since */
	struct code_brief	*out;
	size_t			 max, n;
	int64_t			 last;		/* last id, or db now */
	int			 with_id;	/* the rows start with the id */
};

/* Reads row "i" of a code page (with id, into a->last) or changes. */
static enum db_rc
brief_fetch(struct db *db, enum stmt s, size_t i, void *arg)
{
	struct brief_arg	*a = arg;
	struct code_brief	*b = &a->out[i];

	memset(b, 0, sizeof(*b));
	if (a->with_id)
		return db_fetch(db, s, "lsll", &a->last, b->code,
		    sizeof(b->code), &b->expires_at, &b->disabled_at);
	return db_fetch(db, s, "sll", b->code, sizeof(b->code),
	    &b->expires_at, &b->disabled_at);
}

/* Runs "s" (key, limit) and reads up to a->max code rows into a->out. */
static enum db_rc
brief_list(struct db *db, enum stmt s, struct brief_arg *a)
{
	enum db_rc	 rc;

	a->n = 0;
	if ((rc = db_exec(db, s, "ll", a->key, (int64_t)a->max)) != DB_OK)
		return rc;
	return db_rows(db, s, a->max, &a->n, brief_fetch, a);
}

static enum db_rc
code_page_fn(struct db *db, void *arg)
{
	struct brief_arg	*a = arg;

	a->last = 0;
	a->with_id = 1;
	return brief_list(db, STMT_CODE_PAGE, a);
}

/*
 * Reads up to "max" codes with an id below "before_id", newest first, for
 * a cache that loads the table page by page.  *last_id is the id to pass
 * for the next page; *n < max means this was the last.  Returns DB_OK,
 * DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_code_page(struct db *db, int64_t before_id, struct code_brief *out,
    size_t max, size_t *n, int64_t *last_id)
{
	struct brief_arg	 a = { .key = before_id, .out = out, .max = max };
	enum db_rc		 rc;

	rc = db_read(db, code_page_fn, &a);
	*n = a.n;
	*last_id = a.last;
	return rc;
}

static enum db_rc
db_now_fn(struct db *db, int64_t *now)
{
	enum db_rc	 rc;

	*now = 0;
	if ((rc = db_exec(db, STMT_DB_NOW, "")) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_DB_NOW, "l", now);
	db_done(db, STMT_DB_NOW);
	return rc == DB_NOTFOUND ? DB_ERR : rc;
}

static enum db_rc
code_changes_fn(struct db *db, void *arg)
{
	struct brief_arg	*a = arg;
	enum db_rc		 rc;

	a->n = 0;	/* if the clock read fails */
	/* The clock first: a change after it is seen by the next poll. */
	if ((rc = db_now_fn(db, &a->last)) != DB_OK)
		return rc;
	return brief_list(db, STMT_CODE_CHANGES, a);
}

/*
 * Reads the database's clock (*db_now), then up to "max" codes updated
 * at or after "since", a time of that clock (changed_at, migration 003).
 * *n == max means there may be more.  Returns DB_OK, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_code_changes(struct db *db, int64_t since, struct code_brief *out,
    size_t max, size_t *n, int64_t *db_now)
{
	struct brief_arg	 a = { .key = since, .out = out, .max = max };
	enum db_rc		 rc;

	rc = db_read(db, code_changes_fn, &a);
	*n = a.n;
	*db_now = a.last;
	return rc;
}

static enum db_rc
now_fn(struct db *db, void *arg)
{
	return db_now_fn(db, arg);
}

/*
 * Reads the database's clock, Unix seconds.  Returns DB_OK, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_db_now(struct db *db, int64_t *db_now)
{
	return db_read(db, now_fn, db_now);
}
