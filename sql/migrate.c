/*
 * referd-migrate: applies the pending migrations of sql/migrations, in
 * order, once each.  Safe to run twice, or from two hosts at once: a named
 * lock serialises runners and each file is recorded after it is applied.
 * The files use IF NOT EXISTS, so a run killed half-way is finished by
 * the next one.
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

static const char *const bootstrap =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	"version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, "
	"sha256 CHAR(64) NOT NULL, applied_at DATETIME NOT NULL"
	") ENGINE=InnoDB";

static int	 quiet;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: referd-migrate -c FILE [-d DIR] [-q] [-s]\n"
	    "Applies the pending schema migrations (NNN_name.sql in DIR,\n"
	    "default %s) to the database named in FILE.\n"
	    "  -c FILE  referd configuration file\n"
	    "  -d DIR   directory of migration files\n"
	    "  -q       print only errors\n"
	    "  -s       print the status of every migration and apply none\n",
	    MIGRATIONS_DIR);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the ';'-separated statements of a migration file. */
static int
run_file(MYSQL *my, const char *name, char *sql)
{
	char	*p = sql, *stmt;
	int	 line = 1;

	while (*p != '\0') {
		char	*end;

		/* Skip blank lines and "--" comment lines. */
		while (*p == '\n' || *p == ' ' || *p == '\t' || *p == '\r' ||
		    (p[0] == '-' && p[1] == '-')) {
			if (*p == '-')
				while (*p != '\0' && *p != '\n')
					p++;
			if (*p == '\n')
				line++;
			if (*p != '\0')
				p++;
		}
		if (*p == '\0')
			break;
		stmt = p;
		if ((end = strstr(p, ";\n")) == NULL)
			end = p + strlen(p);
		p = *end == '\0' ? end : end + 2;
		*end = '\0';
		if (mysql_query(my, stmt) != 0) {
			fprintf(stderr, "referd-migrate: %s: statement near "
			    "line %d: %s\n", name, line, mysql_error(my));
			return -1;
		}
		for (; stmt < end; stmt++)
			if (*stmt == '\n')
				line++;
		line++;
	}
	return 0;
}

static int
applied_hash(MYSQL *my, int version, char hash[65])
{
	char		 q[128];
	MYSQL_RES	*res;
	MYSQL_ROW	 row;
	int		 found = 0;

	snprintf(q, sizeof(q), "SELECT sha256 FROM schema_migrations "
	    "WHERE version = %d", version);
	if (mysql_query(my, q) != 0 || (res = mysql_store_result(my)) == NULL)
		return -1;
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL) {
		snprintf(hash, 65, "%s", row[0]);
		found = 1;
	}
	mysql_free_result(res);
	return found;
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
		    strcmp(de->d_name + len - 4, ".sql") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_name);

	for (i = 0; i < n; i++) {
		char	 path[4096], hash[65], old[65], err[512], q[512];
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
		if ((have = applied_hash(my, version, old)) == -1) {
			fprintf(stderr, "referd-migrate: %s\n",
			    mysql_error(my));
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
		if (run_file(my, names[i], sql) == -1) {
			free(sql);
			goto out;
		}
		free(sql);
		snprintf(q, sizeof(q), "INSERT INTO schema_migrations "
		    "(version, name, sha256, applied_at) VALUES "
		    "(%d, '%.200s', '%s', UTC_TIMESTAMP())", version,
		    names[i], hash);
		if (mysql_query(my, q) != 0) {
			fprintf(stderr, "referd-migrate: recording %s: %s\n",
			    names[i], mysql_error(my));
			goto out;
		}
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
		{ NULL, 0, NULL, 0 }
	};
	struct conf	 conf;
	const char	*cfile = NULL, *dir = MIGRATIONS_DIR;
	char		 err[512], q[128];
	unsigned int	 e;
	MYSQL		*my;
	MYSQL_RES	*res;
	MYSQL_ROW	 row;
	int		 c, locked = 0, status_only = 0, rc = 1;

	while ((c = getopt_long(argc, argv, "c:d:hqs", longopts, NULL)) != -1)
		switch (c) {
		case 'c': cfile = optarg; break;
		case 'd': dir = optarg; break;
		case 'q': quiet = 1; break;
		case 's': status_only = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	if (cfile == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (conf_load(&conf, cfile, err, sizeof(err)) == -1) {
		fprintf(stderr, "referd-migrate: %s\n", err);
		return 1;
	}
	if ((my = db_connect_raw(&conf, 0, &e, err, sizeof(err))) == NULL) {
		fprintf(stderr, "referd-migrate: %s\n", err);
		return 1;
	}
	snprintf(q, sizeof(q), "SELECT GET_LOCK('referd_migrate', %d)",
	    LOCK_WAIT);
	if (mysql_query(my, q) != 0 || (res = mysql_store_result(my)) == NULL) {
		fprintf(stderr, "referd-migrate: %s\n", mysql_error(my));
		goto out;
	}
	row = mysql_fetch_row(res);
	locked = row != NULL && row[0] != NULL && strcmp(row[0], "1") == 0;
	mysql_free_result(res);
	if (!locked) {
		fprintf(stderr, "referd-migrate: another migration has held "
		    "the lock for %d s\n", LOCK_WAIT);
		goto out;
	}
	if (mysql_query(my, bootstrap) != 0) {
		fprintf(stderr, "referd-migrate: %s\n", mysql_error(my));
		goto out;
	}
	if (migrate(my, dir, status_only) == 0)
		rc = 0;
out:
	if (locked)
		(void)mysql_query(my, "SELECT RELEASE_LOCK('referd_migrate')");
	mysql_close(my);
	return rc;
}
