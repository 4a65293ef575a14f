/*
 * The migration splitter: a ';' ends a statement only outside quotes and
 * comments, with MariaDB's lexical rules.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

#define MAX_OUT	6

struct split_case {
	const char	*name;
	const char	*in;
	const char	*out[MAX_OUT];	/* statements, in order, NULL-ended */
	unsigned long	 line[MAX_OUT];	/* the first line of each */
	enum sqlsplit_rc last;		/* after them */
	unsigned long	 last_line;	/* where an unclosed token opens */
};

static const struct split_case cases[] = {
	{ "empty", "", { NULL }, { 0 }, SQLSPLIT_END, 1 },
	{ "blanks and comments only", "\n  -- a\n# b\n/* c\n d */\n;\n",
	    { NULL }, { 0 }, SQLSPLIT_END, 7 },
	{ "two statements", "SELECT 1;\nSELECT 2;\n",
	    { "SELECT 1", "SELECT 2", NULL }, { 1, 2 }, SQLSPLIT_END, 3 },
	{ "no final semicolon", "SELECT 1;\n\nSELECT 2\n",
	    { "SELECT 1", "SELECT 2", NULL }, { 1, 3 }, SQLSPLIT_END, 4 },
	{ "several on one line", "SELECT 1; SELECT 2;SELECT 3",
	    { "SELECT 1", "SELECT 2", "SELECT 3", NULL }, { 1, 1, 1 },
	    SQLSPLIT_END, 1 },
	{ "empty statements skipped", ";;SELECT 1;;\n;",
	    { "SELECT 1", NULL }, { 1 }, SQLSPLIT_END, 2 },
	{ "semicolon ending a line inside a string",
	    "INSERT INTO t VALUES ('a;\nb');\nSELECT 2;",
	    { "INSERT INTO t VALUES ('a;\nb')", "SELECT 2", NULL }, { 1, 3 },
	    SQLSPLIT_END, 3 },
	{ "doubled single quote", "SELECT 'it''s;\n';SELECT 2",
	    { "SELECT 'it''s;\n'", "SELECT 2", NULL }, { 1, 2 },
	    SQLSPLIT_END, 2 },
	{ "backslash-escaped quote", "SELECT 'a\\';\n';SELECT 2",
	    { "SELECT 'a\\';\n'", "SELECT 2", NULL }, { 1, 2 },
	    SQLSPLIT_END, 2 },
	{ "escaped backslash ends the string", "SELECT 'a\\\\';SELECT 2",
	    { "SELECT 'a\\\\'", "SELECT 2", NULL }, { 1, 1 },
	    SQLSPLIT_END, 1 },
	{ "double quotes", "SELECT \"x;\n\"\"y\\\";\";SELECT 2",
	    { "SELECT \"x;\n\"\"y\\\";\"", "SELECT 2", NULL }, { 1, 2 },
	    SQLSPLIT_END, 2 },
	{ "backquotes, no backslash escape",
	    "CREATE TABLE `a;\\` (x INT);SELECT ```;`",
	    { "CREATE TABLE `a;\\` (x INT)", "SELECT ```;`", NULL }, { 1, 1 },
	    SQLSPLIT_END, 1 },
	{ "other quotes inside a string", "SELECT 'a\"b`c;';SELECT 2",
	    { "SELECT 'a\"b`c;'", "SELECT 2", NULL }, { 1, 1 },
	    SQLSPLIT_END, 1 },
	{ "dash comment with a semicolon",
	    "CREATE TABLE t ( -- the id;\n  id INT\n);\nSELECT 2;",
	    { "CREATE TABLE t ( -- the id;\n  id INT\n)", "SELECT 2", NULL },
	    { 1, 4 }, SQLSPLIT_END, 4 },
	{ "dashes without a blank are no comment", "SELECT 1--1;SELECT 2",
	    { "SELECT 1--1", "SELECT 2", NULL }, { 1, 1 },
	    SQLSPLIT_END, 1 },
	{ "dashes at the end of input", "SELECT 1 --",
	    { "SELECT 1 --", NULL }, { 1 }, SQLSPLIT_END, 1 },
	{ "hash comment", "SELECT 1 # not yet;\n+ 1;SELECT 2",
	    { "SELECT 1 # not yet;\n+ 1", "SELECT 2", NULL }, { 1, 2 },
	    SQLSPLIT_END, 2 },
	{ "block comment", "SELECT /* a;\nb; */ 1;\nSELECT 2",
	    { "SELECT /* a;\nb; */ 1", "SELECT 2", NULL }, { 1, 3 },
	    SQLSPLIT_END, 3 },
	{ "quote inside a comment", "-- don't\nSELECT 1; # it's\nSELECT 2;",
	    { "SELECT 1", "SELECT 2", NULL }, { 2, 3 }, SQLSPLIT_END, 3 },
	{ "leading comments dropped, lines counted",
	    "-- one\n/* two\n three */\n\n# four\n  SELECT 1;",
	    { "SELECT 1", NULL }, { 6 }, SQLSPLIT_END, 6 },
	{ "executable comment kept", "/*!40101 SET x = 1 */;",
	    { "/*!40101 SET x = 1 */", NULL }, { 1 }, SQLSPLIT_END, 1 },
	{ "CRLF lines", "SELECT 1;\r\nSELECT 'a;\r\n';\r\n",
	    { "SELECT 1", "SELECT 'a;\r\n'", NULL }, { 1, 2 },
	    SQLSPLIT_END, 4 },
	{ "unclosed string", "SELECT 1;\nSELECT\n 'abc;\n",
	    { "SELECT 1", NULL }, { 1 }, SQLSPLIT_OPEN, 3 },
	{ "string ending in a backslash", "SELECT 'abc\\",
	    { NULL }, { 0 }, SQLSPLIT_OPEN, 1 },
	{ "unclosed backquote", "SELECT 1;SELECT `a``",
	    { "SELECT 1", NULL }, { 1 }, SQLSPLIT_OPEN, 1 },
	{ "unclosed block comment", "SELECT 1;\n/* x;\nSELECT 2;",
	    { "SELECT 1", NULL }, { 1 }, SQLSPLIT_OPEN, 2 },
	{ "unclosed comment inside a statement", "SELECT 1 /*;",
	    { NULL }, { 0 }, SQLSPLIT_OPEN, 1 },
	{ "lone slash and star", "SELECT 4/2*3;SELECT '/*'",
	    { "SELECT 4/2*3", "SELECT '/*'", NULL }, { 1, 1 },
	    SQLSPLIT_END, 1 },
};

static void
test_cases(void **state)
{
	struct sqlsplit		 sp;
	struct sqlsplit_stmt	 st;
	enum sqlsplit_rc	 rc;
	size_t			 i, j;
	char			 got[256];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct split_case *c = &cases[i];

		sqlsplit_init(&sp, c->in, strlen(c->in));
		for (j = 0; j < MAX_OUT; j++) {
			rc = sqlsplit_next(&sp, &st);
			if (c->out[j] == NULL)
				break;
			if (rc != SQLSPLIT_STMT)
				fail_msg("%s: statement %zu: rc %d", c->name,
				    j, (int)rc);
			snprintf(got, sizeof(got), "%.*s", (int)st.len,
			    st.sql);
			if (strcmp(got, c->out[j]) != 0)
				fail_msg("%s: statement %zu: \"%s\", want "
				    "\"%s\"", c->name, j, got, c->out[j]);
			if (st.line != c->line[j])
				fail_msg("%s: statement %zu: line %lu, want "
				    "%lu", c->name, j, st.line, c->line[j]);
		}
		if (rc != c->last)
			fail_msg("%s: ends with rc %d, want %d", c->name,
			    (int)rc, (int)c->last);
		if (st.line != c->last_line)
			fail_msg("%s: ends at line %lu, want %lu", c->name,
			    st.line, c->last_line);
		/* The end is sticky. */
		rc = sqlsplit_next(&sp, &st);
		assert_true(rc == SQLSPLIT_END);
		assert_null(st.sql);
	}
}

/* The length bounds the scan: no read past it, a NUL is a plain byte. */
static void
test_length(void **state)
{
	static const char	 buf[] = "SELECT 1;SELECT '\0;';SELECT 3;XX";
	struct sqlsplit		 sp;
	struct sqlsplit_stmt	 st;

	sqlsplit_init(&sp, buf, sizeof(buf) - 3);
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_STMT);
	assert_int_equal(st.len, 8);
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_STMT);
	assert_int_equal(st.len, 11);
	assert_memory_equal(st.sql, "SELECT '\0;'", 11);
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_STMT);
	assert_memory_equal(st.sql, "SELECT 3", st.len);
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_END);

	/* Cut inside a quote: unclosed, even though the buffer closes it. */
	sqlsplit_init(&sp, "SELECT 'ab'", 10);
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_OPEN);
	sqlsplit_init(&sp, "SELECT 1 /**/", 12);
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_OPEN);
}

/* The shipped migrations split into what their authors meant. */
static void
test_migration_shape(void **state)
{
	static const char	 sql[] =
	    "-- 001: tables\n"
	    "CREATE TABLE IF NOT EXISTS audit_log (\n"
	    "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
	    "  detail VARCHAR(512) NOT NULL DEFAULT 'none;'\n"
	    ") ENGINE=InnoDB;\n"
	    "\n"
	    "INSERT INTO audit_log (detail) VALUES ('first line;\n"
	    "second line; -- not a comment\n"
	    "');\n";
	struct sqlsplit		 sp;
	struct sqlsplit_stmt	 st;

	sqlsplit_init(&sp, sql, sizeof(sql) - 1);
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_STMT);
	assert_int_equal(st.line, 2);
	assert_true(st.len > 0 && st.sql[st.len - 1] == 'B');
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_STMT);
	assert_int_equal(st.line, 7);
	assert_true(memcmp(st.sql + st.len - 3, "\n')", 3) == 0);
	assert_int_equal(sqlsplit_next(&sp, &st), SQLSPLIT_END);
	assert_int_equal(st.line, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_migration_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
