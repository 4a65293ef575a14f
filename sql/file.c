/*
 * Reading files for the core parsers: the config and the disposable
 * email domain list.  (core/ does no I/O; this is its I/O.)
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql.h"

/*
 * Reads a whole regular file of at most "max" bytes, NUL-terminated.
 * Returns a buffer the caller frees, or NULL with "err" set.
 */
char *
file_read(const char *path, size_t max, size_t *len, char *err, size_t errsz)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 off = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (off < (size_t)st.st_size &&
	    (r = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)r;
	buf[off] = '\0';
	*len = off;
out:
	close(fd);
	return buf;
}

/*
 * Loads the defaults, then "path", then checks the result.
 * Returns 0, or -1 with "FILE:LINE: message" in err.
 */
int
conf_load(struct conf *conf, const char *path, char *err, size_t errsz)
{
	char	*buf;
	size_t	 len = 0;
	int	 rc = -1;

	conf_defaults(conf);
	if ((buf = file_read(path, MAX_CONF_FILE, &len, err, errsz)) == NULL)
		return -1;
	if (conf_parse(conf, buf, len, path, err, errsz) == 0 &&
	    conf_check(conf, err, errsz) == 0)
		rc = 0;
	free(buf);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Loads a domain list (one per line, '#' comments), lower-cased and
 * sorted for domain_listed().  Returns the array (free with
 * domains_free) or NULL with err set.  An empty path gives an empty list.
 */
char **
domains_load(const char *path, size_t *n, char *err, size_t errsz)
{
	char	*buf, *line, *save = NULL, **v;
	size_t	 len = 0;

	*n = 0;
	if (path[0] == '\0')
		return calloc(1, sizeof(char *));
	if ((buf = file_read(path, 16 * 1024 * 1024, &len, err, errsz)) ==
	    NULL)
		return NULL;
	if ((v = calloc(MAX_DOMAINS + 1, sizeof(char *))) == NULL) {
		free(buf);
		snprintf(err, errsz, "%s: out of memory", path);
		return NULL;
	}
	for (line = strtok_r(buf, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		char	*p, *e;

		for (p = line; isspace((unsigned char)*p); p++)
			continue;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (*n == MAX_DOMAINS) {
			snprintf(err, errsz, "%s: more than %d domains", path,
			    MAX_DOMAINS);
			domains_free(v, *n);
			free(buf);
			return NULL;
		}
		for (e = p; *e != '\0'; e++)
			*e = (char)tolower((unsigned char)*e);
		if ((v[*n] = strdup(p)) == NULL)
			break;
		(*n)++;
	}
	free(buf);
	qsort(v, *n, sizeof(char *), cmp_str);
	return v;
}

void
domains_free(char **v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
