/*
 * Splits an SQL script (a migration file) into the statements to send one
 * at a time.  A ';' ends a statement only outside quotes and comments, so
 * a string literal or a comment may hold ";" at the end of a line.  The
 * lexical rules are MariaDB's with its default sql_mode: '...' and "..."
 * with a doubled quote or a backslash escape, `...` with a doubled
 * backquote, "-- " (dashes then a blank or control character), "#" and
 * "/" "*" comments.  DELIMITER, a client command, is not supported.
 */
#include "config.h"

#include <string.h>

#include "core.h"

/* Whether "c" may follow "--" for MariaDB to read a comment. */
static int
dash_comment_end(int c)
{
	return c == '\0' || c == ' ' || (c >= 0 && c < 0x20) || c == 0x7f;
}

/*
 * Length of the comment at p (p < end), or 0 if none starts there; -1 if
 * a block comment runs past the end.
 */
static long
comment_len(const char *p, const char *end)
{
	const char	*q;

	if (*p == '#' || (p + 1 < end && p[0] == '-' && p[1] == '-' &&
	    (p + 2 == end || dash_comment_end((unsigned char)p[2])))) {
		for (q = p; q < end && *q != '\n'; q++)
			continue;
		return q - p;
	}
	if (p + 1 < end && p[0] == '/' && p[1] == '*') {
		for (q = p + 2; q + 1 < end; q++)
			if (q[0] == '*' && q[1] == '/')
				return q + 2 - p;
		return -1;
	}
	return 0;
}

/*
 * Length of the quoted token at p (p < end, *p a quote), quotes included;
 * -1 if it is not closed before the end.
 */
static long
quoted_len(const char *p, const char *end)
{
	const char	 quote = *p;
	const char	*q;

	for (q = p + 1; q < end; q++) {
		if (*q == '\\' && quote != '`') {
			if (++q == end)
				break;
			continue;
		}
		if (*q != quote)
			continue;
		if (q + 1 < end && q[1] == quote) {
			q++;		/* a doubled quote stands for one */
			continue;
		}
		return q + 1 - p;
	}
	return -1;
}

static unsigned long
lines_in(const char *p, size_t n)
{
	unsigned long	 lines = 0;
	const char	*nl;

	while (n > 0 && (nl = memchr(p, '\n', n)) != NULL) {
		lines++;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	return lines;
}

/*
 * Starts splitting the "len" bytes at "buf", which must outlive "sp".
 */
void
sqlsplit_init(struct sqlsplit *sp, const char *buf, size_t len)
{
	sp->buf = buf;
	sp->len = len;
	sp->pos = 0;
	sp->line = 1;
}

/*
 * Finds the next statement.  Returns SQLSPLIT_STMT with "st" pointing into
 * the buffer (from its first character that is neither blank nor comment,
 * up to the terminating ';' or the end, neither included, trailing blanks
 * trimmed) and st->line its first line; SQLSPLIT_END when only blanks and
 * comments remain; SQLSPLIT_OPEN when a quote or block comment is not
 * closed, with st->line the line where it opens (the split cannot go on).
 */
enum sqlsplit_rc
sqlsplit_next(struct sqlsplit *sp, struct sqlsplit_stmt *st)
{
	const char	*p = sp->buf + sp->pos, *end = sp->buf + sp->len;
	const char	*start, *last;
	long		 n;

	st->sql = NULL;
	st->len = 0;
	/* Blanks and comments before the statement. */
	for (;;) {
		/* An empty statement (";;") is skipped as a blank. */
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
		    *p == '\r' || *p == '\f' || *p == '\v' || *p == ';')) {
			if (*p == '\n')
				sp->line++;
			p++;
		}
		if (p == end) {
			sp->pos = sp->len;
			st->line = sp->line;
			return SQLSPLIT_END;
		}
		/* An executable comment is part of the statement. */
		if (p + 2 < end && p[0] == '/' && p[1] == '*' && p[2] == '!')
			break;
		if ((n = comment_len(p, end)) == 0)
			break;
		if (n == -1) {
			st->line = sp->line;
			sp->pos = sp->len;
			return SQLSPLIT_OPEN;
		}
		sp->line += lines_in(p, (size_t)n);
		p += n;
	}

	start = p;
	st->line = sp->line;
	while (p < end && *p != ';') {
		if (*p == '\'' || *p == '"' || *p == '`')
			n = quoted_len(p, end);
		else if ((n = comment_len(p, end)) == 0)
			n = 1;
		if (n == -1) {
			sp->line += lines_in(start, (size_t)(p - start));
			st->line = sp->line;
			sp->pos = sp->len;
			return SQLSPLIT_OPEN;
		}
		p += n;
	}
	for (last = p; last > start && (last[-1] == ' ' ||
	    last[-1] == '\t' || last[-1] == '\n' || last[-1] == '\r' ||
	    last[-1] == '\f' || last[-1] == '\v'); last--)
		continue;
	st->sql = start;
	st->len = (size_t)(last - start);
	sp->line += lines_in(start, (size_t)(p - start));
	sp->pos = (size_t)(p - sp->buf) + (p < end ? 1 : 0);
	return SQLSPLIT_STMT;
}
