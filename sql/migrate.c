/*
 * referd-migrate: applies the pending migrations of sql/migrations, in
 * order, once each.  Safe to run twice, or from two hosts at once: a named
 * lock serialises runners and each file is recorded after it is applied.
 * The files use IF NOT EXISTS, so a run killed half-way is finished by
 * the next one.  Only the files are sent as SQL text; the bookkeeping
 * (lock, schema_migrations) is prepared statements.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "sql.h"

#ifndef MIGRATIONS_DIR
#define MIGRATIONS_DIR "sql/migrations"
#endif
#define MAX_MIGRATIONS	1000
#define MAX_MIGRATION	(1024 * 1024)
#define LOCK_WAIT	60	/* seconds to wait for another runner */
#define LOCK_NAME	"referd_migrate"

static const char *const bootstrap =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	"version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, "
	"sha256 CHAR(64) NOT NULL, applied_at DATETIME NOT NULL"
	") ENGINE=InnoDB";

enum mstmt {
	MSTMT_LOCK,		/* take the runners' lock */
	MSTMT_UNLOCK,
	MSTMT_APPLIED,		/* the hash recorded for a version */
	MSTMT_RECORD,		/* a version applied */
	MSTMT__MAX
};

/* Prepared after the bootstrap: MSTMT_APPLIED needs the table. */
static const char *const mstmt_sql[MSTMT__MAX] = {
	[MSTMT_LOCK] = "SELECT GET_LOCK(?, ?)",
	[MSTMT_UNLOCK] = "SELECT RELEASE_LOCK(?)",
	[MSTMT_APPLIED] = "SELECT sha256 FROM schema_migrations "
	    "WHERE version = ?",
	[MSTMT_RECORD] = "INSERT INTO schema_migrations "
	    "(version, name, sha256, applied_at) "
	    "VALUES (?, ?, ?, UTC_TIMESTAMP())",
};
_Static_assert(sizeof(mstmt_sql) / sizeof(mstmt_sql[0]) == MSTMT__MAX,
    "one SQL text per statement");

static MYSQL_STMT	*mstmts[MSTMT__MAX];
static int		 quiet;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: referd-migrate -c FILE [-d DIR] [-q] [-s | -t]\n"
	    "       referd-migrate --version\n"
	    "Applies the pending schema migrations (NNN_name.sql in DIR,\n"
	    "default %s) to the database named in FILE.\n"
	    "  -c FILE    referd configuration file\n"
	    "  -d DIR     directory of migration files\n"
	    "  -q         print only errors\n"
	    "  -s         print the status of every migration, apply none\n"
	    "  -t         check the configuration file and exit\n"
	    "  --version  print the version and exit\n",
	    MIGRATIONS_DIR);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
mstmt_close(void)
{
	size_t	 i;

	for (i = 0; i < MSTMT__MAX; i++)
		if (mstmts[i] != NULL) {
			mysql_stmt_close(mstmts[i]);
			mstmts[i] = NULL;
		}
}

/* Prepares statement "s".  Returns 0, or -1 (printed). */
static int
mstmt_prepare(MYSQL *my, enum mstmt s)
{
	if ((mstmts[s] = mysql_stmt_init(my)) == NULL) {
		fprintf(stderr, "referd-migrate: %s\n", mysql_error(my));
		return -1;
	}
	if (mysql_stmt_prepare(mstmts[s], mstmt_sql[s],
	    strlen(mstmt_sql[s])) != 0) {
		fprintf(stderr, "referd-migrate: prepare \"%s\": %s\n",
		    mstmt_sql[s], mysql_stmt_error(mstmts[s]));
		return -1;
	}
	return 0;
}

/* Binds a NUL-terminated string; "len" must live until the execute. */
static void
bind_str(MYSQL_BIND *b, const char *s, unsigned long *len)
{
	*len = strlen(s);
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	b->buffer_length = *len;
	b->length = len;
}

static void
bind_int(MYSQL_BIND *b, int *v)
{
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = v;
}

/*
 * Executes statement "s" with "in" bound and, if "out" is not NULL, reads
 * the first column of its first row as a string into out (outsz bytes,
 * "" for NULL).  Returns 1 if a row was read, 0 if none (or no "out"),
 * -1 on error (printed, naming "what").
 */
static int
mstmt_run(enum mstmt s, MYSQL_BIND *in, char *out, size_t outsz,
    const char *what)
{
	MYSQL_STMT	*st = mstmts[s];
	MYSQL_BIND	 ob;
	unsigned long	 len = 0;
	my_bool		 isnull = 0;
	int		 rc = -1, frc;

	if (mysql_stmt_bind_param(st, in) != 0 ||
	    mysql_stmt_execute(st) != 0)
		goto out;
	if (out == NULL) {
		rc = 0;
		goto out;
	}
	memset(&ob, 0, sizeof(ob));
	ob.buffer_type = MYSQL_TYPE_STRING;
	ob.buffer = out;
	ob.buffer_length = outsz;
	ob.length = &len;
	ob.is_null = &isnull;
	if (mysql_stmt_bind_result(st, &ob) != 0 ||
	    mysql_stmt_store_result(st) != 0)
		goto out;
	if ((frc = mysql_stmt_fetch(st)) == MYSQL_NO_DATA) {
		rc = 0;
		goto out;
	}
	/* A value longer than "out" (truncated) is never a valid answer. */
	if (frc != 0 || len >= outsz)
		goto out;
	out[isnull ? 0 : len] = '\0';
	rc = 1;
out:
	if (rc == -1)
		fprintf(stderr, "referd-migrate: %s: %s\n", what,
		    mysql_stmt_errno(st) != 0 ? mysql_stmt_error(st) :
		    "unexpected answer");
	mysql_stmt_free_result(st);
	mysql_stmt_reset(st);
	return rc;
}

/*
 * Takes the named lock that serialises runners, waiting up to LOCK_WAIT
 * seconds.  Returns 1 if taken, 0 if another runner kept it, -1 on error.
 */
static int
lock_take(void)
{
	MYSQL_BIND	 in[2];
	unsigned long	 namelen;
	int		 wait = LOCK_WAIT, rc;
	char		 got[8];

	memset(in, 0, sizeof(in));
	bind_str(&in[0], LOCK_NAME, &namelen);
	bind_int(&in[1], &wait);
	rc = mstmt_run(MSTMT_LOCK, in, got, sizeof(got), "GET_LOCK");
	if (rc != 1)
		return -1;
	return strcmp(got, "1") == 0;
}

static void
lock_release(void)
{
	MYSQL_BIND	 in[1];
	unsigned long	 namelen;
	char		 got[8];

	memset(in, 0, sizeof(in));
	bind_str(&in[0], LOCK_NAME, &namelen);
	(void)mstmt_run(MSTMT_UNLOCK, in, got, sizeof(got), "RELEASE_LOCK");
}

/* Returns 1 with the recorded hash, 0 if not applied, -1 on error. */
static int
applied_hash(int version, char hash[65])
{
	MYSQL_BIND	 in[1];

	memset(in, 0, sizeof(in));
	bind_int(&in[0], &version);
	return mstmt_run(MSTMT_APPLIED, in, hash, 65,
	    "reading schema_migrations");
}

/* Records a version as applied.  Returns 0, or -1 (printed). */
static int
record(int version, const char *name, const char *hash)
{
	MYSQL_BIND	 in[3];
	unsigned long	 namelen, hashlen;

	memset(in, 0, sizeof(in));
	bind_int(&in[0], &version);
	bind_str(&in[1], name, &namelen);
	bind_str(&in[2], hash, &hashlen);
	return mstmt_run(MSTMT_RECORD, in, NULL, 0, name) == -1 ? -1 : 0;
}

/*
 * Runs the statements of a migration file, split by sqlsplit_next(): a
 * ';' inside a string or a comment ends nothing.  Returns 0, or -1
 * (printed as FILE:LINE).
 */
static int
run_file(MYSQL *my, const char *name, const char *sql, size_t len)
{
	struct sqlsplit		 sp;
	struct sqlsplit_stmt	 st;
	enum sqlsplit_rc	 src;
	MYSQL_RES		*res;

	sqlsplit_init(&sp, sql, len);
	while ((src = sqlsplit_next(&sp, &st)) == SQLSPLIT_STMT) {
		if (mysql_real_query(my, st.sql, st.len) != 0)
			goto fail;
		/* A statement that answers rows (a SELECT): drop them. */
		if ((res = mysql_store_result(my)) != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(my) != 0)
			goto fail;
	}
	if (src == SQLSPLIT_OPEN) {
		fprintf(stderr, "referd-migrate: %s:%lu: a quote or comment "
		    "opened here is never closed\n", name, st.line);
		return -1;
	}
	return 0;
fail:
	fprintf(stderr, "referd-migrate: %s:%lu: %s\n", name, st.line,
	    mysql_error(my));
	return -1;
}

static int
migrate(MYSQL *my, const char *dir, int status_only)
{
	DIR		*d;
	struct dirent	*de;
	char		*names[MAX_MIGRATIONS];
	size_t		 n = 0, i, applied = 0;
	int		 rc = -1;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "referd-migrate: %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL && n < MAX_MIGRATIONS) {
		size_t	 len = strlen(de->d_name);

		if (len > 8 && de->d_name[3] == '_' &&
		    strspn(de->d_name, "0123456789") == 3 &&
		    strcmp(de->d_name + len - 4, ".sql") == 0 &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_name);

	for (i = 0; i < n; i++) {
		char	 path[4096], hash[65], old[65], err[512];
		char	*sql;
		size_t	 len;
		int	 version = atoi(names[i]), have;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((sql = file_read(path, MAX_MIGRATION, &len, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "referd-migrate: %s\n", err);
			goto out;
		}
		sha256_hex(sql, len, hash);
		if ((have = applied_hash(version, old)) == -1) {
			free(sql);
			goto out;
		}
		if (have) {
			if (strcmp(old, hash) != 0)
				fprintf(stderr, "referd-migrate: warning: %s "
				    "changed since it was applied\n", names[i]);
			if (status_only)
				printf("applied  %s\n", names[i]);
			free(sql);
			continue;
		}
		if (status_only) {
			printf("pending  %s\n", names[i]);
			free(sql);
			continue;
		}
		if (!quiet)
			printf("referd-migrate: applying %s\n", names[i]);
		if (run_file(my, names[i], sql, len) == -1) {
			free(sql);
			goto out;
		}
		free(sql);
		if (record(version, names[i], hash) == -1)
			goto out;
		applied++;
	}
	if (!quiet && !status_only)
		printf("referd-migrate: %zu applied, %zu up to date\n",
		    applied, n - applied);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf	 conf;
	const char	*cfile = NULL, *dir = MIGRATIONS_DIR;
	char		 err[512];
	unsigned int	 e;
	MYSQL		*my = NULL;
	int		 c, locked = 0, status_only = 0, check = 0, rc = 1;

	while ((c = getopt_long(argc, argv, "c:d:hqst", longopts, NULL)) != -1)
		switch (c) {
		case 'c': cfile = optarg; break;
		case 'd': dir = optarg; break;
		case 'q': quiet = 1; break;
		case 's': status_only = 1; break;
		case 't': check = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("referd-migrate %s\n", PACKAGE_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	if (cfile == NULL || optind != argc || (check && status_only)) {
		usage(stderr);
		return 2;
	}
	if (conf_load_role(&conf, cfile, CONF_ROLE_MIGRATE, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "referd-migrate: %s\n", err);
		return 1;
	}
	if (check) {
		if (!quiet)
			printf("referd-migrate: %s: configuration ok\n", cfile);
		return 0;
	}
	if ((my = db_connect_raw(&conf, 0, &e, err, sizeof(err))) == NULL) {
		fprintf(stderr, "referd-migrate: %s\n", err);
		return 1;
	}
	if (mstmt_prepare(my, MSTMT_LOCK) == -1 ||
	    mstmt_prepare(my, MSTMT_UNLOCK) == -1)
		goto out;
	if ((locked = lock_take()) != 1) {
		if (locked == 0)
			fprintf(stderr, "referd-migrate: another migration "
			    "has held the lock for %d s\n", LOCK_WAIT);
		locked = 0;
		goto out;
	}
	if (mysql_query(my, bootstrap) != 0) {
		fprintf(stderr, "referd-migrate: %s\n", mysql_error(my));
		goto out;
	}
	if (mstmt_prepare(my, MSTMT_APPLIED) == -1 ||
	    mstmt_prepare(my, MSTMT_RECORD) == -1)
		goto out;
	if (migrate(my, dir, status_only) == 0)
		rc = 0;
out:
	if (locked)
		lock_release();
	mstmt_close();
	mysql_close(my);
	return rc;
}
