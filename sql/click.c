/*
 * Click counters: the landing's clicks per code and UTC day.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

struct clicks_arg {
	const char	*code;
	int64_t		 day, n;
};

static enum db_rc
clicks_fn(struct db *db, void *arg)
{
	struct clicks_arg	*a = arg;

	return db_exec(db, STMT_CLICKS_ADD, "sll", a->code, a->day, a->n);
}

/*
 * Adds "n" clicks to "code" on the UTC day containing time "day".
 */
enum db_rc
db_clicks_add(struct db *db, const char *code, int64_t day, int64_t n)
{
	struct clicks_arg	 a = { .code = code, .day = day, .n = n };

	return db_read(db, clicks_fn, &a);
}

struct clicks_many_arg {
	const struct click_row	*rows;
	size_t			 n;
	char			*json;		/* room for DB_CLICKS_BATCH */
	size_t			 jsonsz;
};

static enum db_rc
clicks_many_fn(struct db *db, void *arg)
{
	struct clicks_many_arg	*a = arg;
	size_t			 i, j, len;
	enum db_rc		 rc;
	int			 w;

	for (i = 0; i < a->n; i += DB_CLICKS_BATCH) {
		len = 0;
		a->json[len++] = '[';
		for (j = i; j < a->n && j < i + DB_CLICKS_BATCH; j++) {
			/* Codes are CODE_LEN characters of CODE_ALPHABET. */
			w = snprintf(a->json + len, a->jsonsz - len,
			    "%s[\"%.8s\",%" PRId64 ",%" PRId64 "]",
			    j > i ? "," : "", a->rows[j].code,
			    a->rows[j].day, a->rows[j].n);
			if (w < 0 || (size_t)w >= a->jsonsz - len - 1)
				return DB_ERR;
			len += (size_t)w;
		}
		a->json[len++] = ']';
		a->json[len] = '\0';
		if ((rc = db_exec(db, STMT_CLICKS_ADD_JSON, "s", a->json)) !=
		    DB_OK)
			return rc;
	}
	return DB_OK;
}

/*
 * Adds the clicks of "n" rows in one transaction, DB_CLICKS_BATCH rows a
 * statement: all of them or, on failure, none.  Each code must be
 * CODE_LEN characters of CODE_ALPHABET.  Returns DB_OK, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_clicks_add_many(struct db *db, const struct click_row *rows, size_t n)
{
	/* ["CODE1234",1764201600,123456789], with room for the widest. */
	enum { ROW_MAX = 2 + CODE_LEN + 2 + 1 + 20 + 1 + 20 + 1 + 1 };
	struct clicks_many_arg	 a = { .rows = rows, .n = n };
	enum db_rc		 rc;

	if (n == 0)
		return DB_OK;
	a.jsonsz = (size_t)DB_CLICKS_BATCH * ROW_MAX + 3;
	if ((a.json = malloc(a.jsonsz)) == NULL) {
		log_err("%s: out of memory", __func__);
		return DB_ERR;
	}
	rc = db_txn(db, clicks_many_fn, &a);
	free(a.json);
	return rc;
}
