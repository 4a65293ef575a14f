/*
 * Connections, the statement binder and the transaction runner.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

#include "sql.h"

/* Settings of every session: UTC, read committed, strict. */
static const char *const session_sql[] = {
	"SET time_zone = '+00:00', tx_isolation = 'READ-COMMITTED', "
	"sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
	"ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', "
	"innodb_lock_wait_timeout = 5",
};

static const char *const rc_names[] = {
	[DB_OK] = "ok", [DB_NOOP] = "noop", [DB_DUP] = "duplicate",
	[DB_NOTFOUND] = "not_found", [DB_CONFLICT] = "conflict",
	[DB_INVALID] = "invalid", [DB_RETRY] = "retry", [DB_ERR] = "error",
	[DB_UNAVAILABLE] = "unavailable",
};

const char *
db_rc_name(enum db_rc rc)
{
	return rc_names[rc];
}

/* Errors after which the connection is gone. */
static int
err_gone(unsigned int e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
	    e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR ||
	    e == CR_SERVER_LOST_EXTENDED || e == ER_CONNECTION_KILLED ||
	    e == 4031 /* ER_CLIENT_INTERACTION_TIMEOUT */ ||
	    e == ER_SERVER_SHUTDOWN || e == CR_COMMANDS_OUT_OF_SYNC;
}

/* Errors after which the transaction is replayed on the same connection. */
static int
err_retry(unsigned int e)
{
	return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT ||
	    e == 1180 /* ER_ERROR_DURING_COMMIT */;
}

static void
db_seterr(struct db *db, MYSQL_STMT *st, const char *where)
{
	if (st != NULL) {
		db->err = mysql_stmt_errno(st);
		snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", where,
		    mysql_stmt_error(st));
	} else if (db->my != NULL) {
		db->err = mysql_errno(db->my);
		snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", where,
		    mysql_error(db->my));
	}
}

/* What a failed call means for the caller of db_exec. */
static enum db_rc
db_classify(const struct db *db)
{
	if (db->err == ER_DUP_ENTRY)
		return DB_DUP;
	if (err_gone(db->err) || err_retry(db->err))
		return DB_RETRY;
	return DB_ERR;
}

static void
db_disconnect(struct db *db)
{
	size_t	 i;

	for (i = 0; i < STMT__MAX; i++)
		if (db->stmts[i] != NULL) {
			mysql_stmt_close(db->stmts[i]);
			db->stmts[i] = NULL;
		}
	if (db->my != NULL)
		mysql_close(db->my);
	db->my = NULL;
	db->up = 0;
}

/*
 * Allocates a handle; it connects on first use.  "stats" selects the
 * stats_db_* keys when they are set.  Returns NULL on memory exhaustion.
 * The conf must outlive the handle.
 */
struct db *
db_new(const struct conf *conf, int stats)
{
	struct db	*db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->conf = conf;
	db->stats = stats && (conf->stats_db_socket[0] != '\0' ||
	    conf->stats_db_host[0] != '\0');
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db);
}

/*
 * Connects and sets up the session.  Statements are prepared on first
 * use, once per connection (a worker that only serves landings holds
 * the few it needs, not all of them).  Returns 0, or -1 with db->errmsg
 * set.  Reconnecting is never automatic: MYSQL_OPT_RECONNECT stays off so
 * that a transaction is never half-run on a fresh connection.
 */
int
db_connect(struct db *db)
{
	db_disconnect(db);
	if ((db->my = db_connect_raw(db->conf, db->stats, &db->err,
	    db->errmsg, sizeof(db->errmsg))) == NULL)
		return -1;
	db->up = 1;
	return 0;
}

/* Prepares statement "s" unless it is.  Returns 0, or -1 with db->err. */
static int
db_prepare(struct db *db, enum stmt s)
{
	const char	*q = stmt_sql(s);

	if (db->stmts[s] != NULL)
		return 0;
	if ((db->stmts[s] = mysql_stmt_init(db->my)) == NULL) {
		db_seterr(db, NULL, "mysql_stmt_init");
		return -1;
	}
	if (mysql_stmt_prepare(db->stmts[s], q, strlen(q)) != 0) {
		db_seterr(db, db->stmts[s], "prepare");
		log_err("%s: statement %d: %s", __func__, (int)s, db->errmsg);
		mysql_stmt_close(db->stmts[s]);
		db->stmts[s] = NULL;
		return -1;
	}
	return 0;
}

/*
 * Prepares every statement: a check that the schema is the one this
 * build expects (referd-fcgi at start, -t).  Returns 0, or -1 with
 * db->errmsg set.
 */
int
db_prepare_all(struct db *db)
{
	int	 s;

	for (s = 0; s < STMT__MAX; s++)
		if (db_prepare(db, (enum stmt)s) == -1)
			return -1;
	return 0;
}

/*
 * Opens a plain connection with referd's session settings (UTC, read
 * committed, strict mode, no automatic reconnect).  Returns it, or NULL
 * with *err and msg set.  "stats" selects the stats_db_* keys if set.
 */
MYSQL *
db_connect_raw(const struct conf *c, int stats, unsigned int *err, char *msg,
    size_t msgsz)
{
	unsigned int	 to = DB_CONNECT_TIMEOUT, rw = DB_RW_TIMEOUT;
	my_bool		 off = 0;
	my_bool		 on = 1;
	const char	*host, *sock, *user, *pass, *name, *ca;
	enum db_ssl_mode ssl = conf_db_ssl_mode(c, stats);
	long		 port;
	MYSQL		*my;
	size_t		 i;

	if (stats) {
		host = c->stats_db_host; sock = c->stats_db_socket;
		user = c->stats_db_user; pass = c->stats_db_password;
		name = c->stats_db_name; port = c->stats_db_port;
		ca = c->stats_db_ssl_ca;
	} else {
		host = c->db_host; sock = c->db_socket;
		user = c->db_user; pass = c->db_password;
		name = c->db_name; port = c->db_port;
		ca = c->db_ssl_ca;
	}
	if ((my = mysql_init(NULL)) == NULL) {
		*err = CR_OUT_OF_MEMORY;
		snprintf(msg, msgsz, "mysql_init: %s", strerror(ENOMEM));
		return NULL;
	}
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &to);
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(my, MYSQL_OPT_RECONNECT, &off);
	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/*
	 * TLS (db_ssl_mode): preferred asks for it, required refuses a
	 * server without it, verify_* also check the certificate against
	 * db_ssl_ca; Connector/C checks the host name with the chain, so
	 * verify_ca is verify_identity here.
	 */
	if (ssl != DB_SSL_DISABLED) {
		mysql_ssl_set(my, NULL, NULL, ca[0] ? ca : NULL, NULL, NULL);
		if (ssl >= DB_SSL_REQUIRED)
			mysql_optionsv(my, MYSQL_OPT_SSL_ENFORCE, &on);
		if (ssl >= DB_SSL_VERIFY_CA)
			mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
			    &on);
		else {
			my_bool	 no = 0;

			mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
			    &no);
		}
	}
	if (mysql_real_connect(my, host[0] ? host : NULL, user,
	    pass[0] ? pass : NULL, name, (unsigned int)port,
	    sock[0] ? sock : NULL, 0) == NULL)
		goto fail;
	for (i = 0; i < sizeof(session_sql) / sizeof(session_sql[0]); i++)
		if (mysql_query(my, session_sql[i]) != 0)
			goto fail;
	return my;
fail:
	*err = mysql_errno(my);
	snprintf(msg, msgsz, "connect to %s: %s", sock[0] ? sock :
	    (host[0] ? host : "localhost"), mysql_error(my));
	mysql_close(my);
	return NULL;
}

static int
db_query(struct db *db, const char *q)
{
	if (mysql_real_query(db->my, q, strlen(q)) != 0) {
		db_seterr(db, NULL, q);
		return -1;
	}
	return 0;
}

/*
 * A short randomised pause before a replay, growing with the attempt.  The
 * jitter comes from arc4random: rand() unseeded gives every worker and
 * every host the same sequence, so two deadlocked peers would retry in step.
 */
static void
db_backoff(int attempt)
{
	struct timespec	 ts;
	long		 ms = (1L << (attempt < 6 ? attempt : 6)) +
			    arc4random_uniform(2U << (attempt < 6 ? attempt : 6));

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/*
 * Runs fn, inside a transaction if "txn", with the retry policy: deadlock
 * (1213, also Galera's certification failure at COMMIT) and lock wait
 * timeout (1205, which leaves the transaction open) are rolled back and
 * replayed; a lost connection is reopened, re-prepared and the whole of fn
 * replayed.  Its effect is judged only after COMMIT.
 */
static enum db_rc
db_run(struct db *db, db_fn fn, void *arg, int txn)
{
	enum db_rc	 rc = DB_ERR;
	int		 try, gone = 0;

	for (try = 0; try < DB_MAX_TRIES; try++) {
		if (try > 0) {
			db->retries++;
			db_backoff(try);
		}
		if (!db->up) {
			if (try > 0)
				db->reconnects++;
			if (db_connect(db) == -1) {
				log_err("%s: database unavailable: %s",
				    __func__, db->errmsg);
				return DB_UNAVAILABLE;
			}
		}
		db->err = 0;
		gone = 0;
		if (txn && db_query(db, "START TRANSACTION") == -1)
			goto failed;
		rc = fn(db, arg);
		if (rc == DB_RETRY || rc == DB_ERR)
			goto failed;
		if (txn && db_query(db, "COMMIT") == -1)
			goto failed;
		return rc;
failed:
		gone = err_gone(db->err);
		if (!gone && db->my != NULL && txn)
			(void)mysql_real_query(db->my, "ROLLBACK", 8);
		if (gone) {
			db_disconnect(db);
			continue;
		}
		/*
		 * DB_RETRY from "fn" itself (a duplicate whose row it cannot
		 * see yet, say) is a replay too, whatever the last error.
		 */
		if (err_retry(db->err) || rc == DB_RETRY)
			continue;
		log_err("%s: %s (errno %u)", __func__, db->errmsg, db->err);
		return DB_ERR;
	}
	log_err("%s: giving up after %d tries: %s", __func__, try,
	    db->errmsg);
	/*
	 * Only transient errors come back here (a lost connection, a
	 * deadlock, a lock wait timeout): nothing was done, and the caller
	 * may try again later (503), as with an outage.
	 */
	return DB_UNAVAILABLE;
}

enum db_rc
db_txn(struct db *db, db_fn fn, void *arg)
{
	return db_run(db, fn, arg, 1);
}

enum db_rc
db_read(struct db *db, db_fn fn, void *arg)
{
	return db_run(db, fn, arg, 0);
}

/*
 * Binds the parameters described by "fmt" and executes statement "s".
 * Parameter formats: 'l' int64_t, 'L' int64_t with 0 as NULL, 's' string
 * (NULL pointer as NULL, "" as ""), 'S' string with "" as NULL, 'm' money
 * in minor units sent as a decimal string, 'A' an array: a const int64_t *
 * then a size_t count, bound to that many placeholders in a row.  A
 * statement with a result set has it stored so other statements can run
 * while it is read.
 * Returns DB_OK, DB_DUP (unique key), DB_RETRY (transient) or DB_ERR.
 */
enum db_rc
db_exec(struct db *db, enum stmt s, const char *fmt, ...)
{
	MYSQL_STMT	*st;
	MYSQL_BIND	 b[DB_MAX_PARAMS];
	int64_t		 ints[DB_MAX_PARAMS];
	char		 money[DB_MAX_PARAMS][32];
	unsigned long	 lens[DB_MAX_PARAMS];
	my_bool		 nulls[DB_MAX_PARAMS];
	va_list		 ap;
	size_t		 i = 0, f;
	MYSQL_RES	*meta;

	if (db_prepare(db, s) == -1)
		return db_classify(db);
	st = db->stmts[s];
	assert(st != NULL);
	memset(b, 0, sizeof(b));
	va_start(ap, fmt);
	for (f = 0; fmt[f] != '\0'; f++, i++) {
		const char	*str;
		const int64_t	*arr;
		size_t		 cnt;

		assert(i < DB_MAX_PARAMS);
		nulls[i] = 0;
		b[i].is_null = &nulls[i];
		switch (fmt[f]) {
		case 'l':
		case 'L':
			ints[i] = va_arg(ap, int64_t);
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &ints[i];
			nulls[i] = fmt[f] == 'L' && ints[i] == 0;
			break;
		case 'A':
			arr = va_arg(ap, const int64_t *);
			cnt = va_arg(ap, size_t);
			assert(cnt > 0 && i + cnt <= DB_MAX_PARAMS);
			for (; cnt > 0; cnt--, i++, arr++) {
				nulls[i] = 0;
				b[i].is_null = &nulls[i];
				ints[i] = *arr;
				b[i].buffer_type = MYSQL_TYPE_LONGLONG;
				b[i].buffer = &ints[i];
			}
			i--;	/* the loop's own step */
			break;
		case 'm':
			money_format(va_arg(ap, int64_t), money[i],
			    sizeof(money[i]));
			lens[i] = strlen(money[i]);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = money[i];
			b[i].length = &lens[i];
			break;
		case 's':
		case 'S':
			str = va_arg(ap, const char *);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			nulls[i] = str == NULL ||
			    (fmt[f] == 'S' && str[0] == '\0');
			lens[i] = str == NULL ? 0 : strlen(str);
			b[i].buffer = (void *)(uintptr_t)(str ? str : "");
			b[i].length = &lens[i];
			break;
		default:
			abort();
		}
	}
	va_end(ap);
	assert(mysql_stmt_param_count(st) == i);
	if (mysql_stmt_bind_param(st, b) != 0 ||
	    mysql_stmt_execute(st) != 0) {
		db_seterr(db, st, __func__);
		mysql_stmt_reset(st);
		return db_classify(db);
	}
	if ((meta = mysql_stmt_result_metadata(st)) != NULL) {
		mysql_free_result(meta);
		if (mysql_stmt_store_result(st) != 0) {
			db_seterr(db, st, __func__);
			mysql_stmt_reset(st);
			return db_classify(db);
		}
	}
	return DB_OK;
}

/*
 * Reads the next row of statement "s" into the pointers described by
 * "fmt": 'l' int64_t * (NULL reads as 0), 's' char * then size_t (NULL
 * reads as "", longer values are cut), 'm' int64_t * of minor units.
 * Returns DB_OK for a row, DB_NOTFOUND at the end, DB_ERR otherwise.
 * The caller calls db_done() when finished with the statement.
 */
enum db_rc
db_fetch(struct db *db, enum stmt s, const char *fmt, ...)
{
	MYSQL_STMT	*st = db->stmts[s];
	MYSQL_BIND	 b[DB_MAX_PARAMS];
	char		 money[DB_MAX_PARAMS][32];
	unsigned long	 lens[DB_MAX_PARAMS];
	my_bool		 nulls[DB_MAX_PARAMS], errs[DB_MAX_PARAMS];
	void		*out[DB_MAX_PARAMS];
	size_t		 sizes[DB_MAX_PARAMS];
	va_list		 ap;
	size_t		 i, n = strlen(fmt);
	int		 r;

	assert(n <= DB_MAX_PARAMS && mysql_stmt_field_count(st) == n);
	memset(b, 0, sizeof(b));
	va_start(ap, fmt);
	for (i = 0; i < n; i++) {
		b[i].is_null = &nulls[i];
		b[i].error = &errs[i];
		b[i].length = &lens[i];
		out[i] = va_arg(ap, void *);
		switch (fmt[i]) {
		case 'l':
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = out[i];
			break;
		case 's':
			sizes[i] = va_arg(ap, size_t);
			assert(sizes[i] > 0);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = out[i];
			b[i].buffer_length = sizes[i] - 1;
			break;
		case 'm':
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = money[i];
			b[i].buffer_length = sizeof(money[i]) - 1;
			break;
		default:
			abort();
		}
	}
	va_end(ap);
	if (mysql_stmt_bind_result(st, b) != 0) {
		db_seterr(db, st, __func__);
		return db_classify(db);
	}
	r = mysql_stmt_fetch(st);
	if (r == MYSQL_NO_DATA)
		return DB_NOTFOUND;
	if (r == 1) {
		db_seterr(db, st, __func__);
		return db_classify(db);
	}
	for (i = 0; i < n; i++) {
		switch (fmt[i]) {
		case 'l':
			if (nulls[i])
				*(int64_t *)out[i] = 0;
			break;
		case 's': {
			size_t	 len = nulls[i] ? 0 : lens[i];

			if (len > sizes[i] - 1)
				len = sizes[i] - 1;
			((char *)out[i])[len] = '\0';
			break;
		}
		case 'm': {
			size_t	 len = nulls[i] ? 0 : lens[i];

			if (len > sizeof(money[i]) - 1)
				len = sizeof(money[i]) - 1;
			money[i][len] = '\0';
			if (nulls[i] || money_parse(money[i],
			    (int64_t *)out[i]) != MONEY_OK)
				*(int64_t *)out[i] = 0;
			break;
		}
		}
	}
	return DB_OK;
}

/*
 * Reads the rows of statement "s", executed by the caller, through "fn":
 * fn(db, s, i, arg) fetches row i into the caller's storage (db_fetch()
 * into element i of its array, or a copy it grows).  At most "max" rows;
 * *n is how many were read.  The statement is done afterwards.
 * Returns DB_OK (the end, or max rows) or the failure of fn/db_fetch.
 */
enum db_rc
db_rows(struct db *db, enum stmt s, size_t max, size_t *n, db_row_fn fn,
    void *arg)
{
	enum db_rc	 rc = DB_OK;

	*n = 0;
	while (*n < max && (rc = fn(db, s, *n, arg)) == DB_OK)
		(*n)++;
	db_done(db, s);
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

/* Frees the stored result of "s" and resets it for its next use. */
void
db_done(struct db *db, enum stmt s)
{
	if (db->stmts[s] == NULL)
		return;
	mysql_stmt_free_result(db->stmts[s]);
	mysql_stmt_reset(db->stmts[s]);
}

int64_t
db_affected(struct db *db, enum stmt s)
{
	return (int64_t)mysql_stmt_affected_rows(db->stmts[s]);
}

int64_t
db_insert_id(struct db *db, enum stmt s)
{
	return (int64_t)mysql_stmt_insert_id(db->stmts[s]);
}

/*
 * Reads the one number of statement "s", executed by the caller with
 * result "rc" (passed through if not DB_OK); no row reads as 0.
 * Returns DB_OK or the failure.
 */
enum db_rc
db_one(struct db *db, enum stmt s, int64_t *out, enum db_rc rc)
{
	if (rc != DB_OK)
		return rc;
	*out = 0;
	rc = db_fetch(db, s, "l", out);
	db_done(db, s);
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

static enum db_rc
ping_fn(struct db *db, void *arg)
{
	int64_t		 one = 0;
	enum db_rc	 rc;

	rc = db_one(db, STMT_PING, &one, db_exec(db, STMT_PING, ""));
	return rc == DB_OK && one == 1 ? DB_OK : DB_ERR;
}

/*
 * Returns DB_OK if the database answers a query, DB_UNAVAILABLE if not.
 */
enum db_rc
db_ping(struct db *db)
{
	enum db_rc	 rc = db_read(db, ping_fn, NULL);

	return rc == DB_OK ? DB_OK : DB_UNAVAILABLE;
}
