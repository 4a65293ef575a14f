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

#include "rt.h"

/*
 * Reads a whole regular file of at most "max" bytes, NUL-terminated, and
 * its mode (st_mode) into *mode if "mode" is not NULL: fstat of the file
 * read, so no other file can be swapped in between.
 * Returns a buffer the caller frees, or NULL with "err" set.
 */
static char *
file_read_mode(const char *path, size_t max, size_t *len, unsigned int *mode,
    char *err, size_t errsz)
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
	if (mode != NULL)
		*mode = (unsigned int)st.st_mode;
out:
	close(fd);
	return buf;
}

/*
 * Reads a whole regular file of at most "max" bytes, NUL-terminated.
 * Returns a buffer the caller frees, or NULL with "err" set.
 */
char *
file_read(const char *path, size_t max, size_t *len, char *err, size_t errsz)
{
	return file_read_mode(path, max, len, NULL, err, errsz);
}

/*
 * Reads and parses one configuration file (the file, or with "secrets"
 * its secrets_file), refusing one whose mode lets others read it
 * (conf_mode_problem()).  Returns 0, or -1 with "FILE[:LINE]: message".
 */
static int
conf_read(struct conf *conf, const char *path, int secrets, char *err,
    size_t errsz)
{
	const char	*why;
	char		*buf;
	size_t		 len = 0;
	unsigned int	 mode = 0;
	int		 rc = -1;

	if ((buf = file_read_mode(path, MAX_CONF_FILE, &len, &mode, err,
	    errsz)) == NULL)
		return -1;
	if ((why = conf_mode_problem(mode, secrets)) != NULL) {
		snprintf(err, errsz, "%s: mode %04o: %s", path, mode & 07777,
		    why);
		goto out;
	}
	rc = secrets ? conf_parse_secrets(conf, buf, len, path, err, errsz) :
	    conf_parse(conf, buf, len, path, err, errsz);
out:
	free(buf);
	return rc;
}

/*
 * Loads the defaults, then "path" and its secrets_file if it names one,
 * then checks the result for the binary of "role".
 * Returns 0, or -1 with "FILE[:LINE]: message" in err.
 */
int
conf_load_role(struct conf *conf, const char *path, enum conf_role role,
    char *err, size_t errsz)
{
	char	 sfile[CONF_STR];

	conf_defaults(conf);
	if (conf_read(conf, path, 0, err, errsz) == -1)
		return -1;
	if (conf->secrets_file[0] != '\0') {
		/* A copy: parsing writes into conf. */
		snprintf(sfile, sizeof(sfile), "%s", conf->secrets_file);
		if (conf_read(conf, sfile, 1, err, errsz) == -1)
			return -1;
	}
	return conf_check_role(conf, role, err, errsz);
}

/* conf_load_role() requiring every key (tests and tools). */
int
conf_load(struct conf *conf, const char *path, char *err, size_t errsz)
{
	return conf_load_role(conf, path, CONF_ROLE_ALL, err, errsz);
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
