/*
 * Request counters and latency histograms shared by every worker: one
 * MAP_SHARED mapping made by the supervisor before it forks, updated with
 * atomic adds.  With metrics_dir set the mapping is the file
 * metrics_dir/fcgi.shm, so several supervisors (mod_fcgid starts one per
 * process) add into the same counters; else it is anonymous.
 *
 * /metrics also appends every file named "<name>.prom" in metrics_dir (the
 * textfile collector convention), so the dispatcher can publish there.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi.h"

#define METRICS_MAGIC	0x3176746d64666572ULL	/* "refdmtv1" */
#define METRICS_FILE	"fcgi.shm"

/* The statuses counted one by one; the rest count as "other". */
enum st {
	ST_200, ST_201, ST_302, ST_400, ST_401, ST_403, ST_404, ST_405,
	ST_409, ST_413, ST_414, ST_415, ST_422, ST_431, ST_500, ST_503,
	ST_OTHER,
	ST__MAX
};

static const int st_codes[ST__MAX] = {
	[ST_200] = 200, [ST_201] = 201, [ST_302] = 302, [ST_400] = 400,
	[ST_401] = 401, [ST_403] = 403, [ST_404] = 404, [ST_405] = 405,
	[ST_409] = 409, [ST_413] = 413, [ST_414] = 414, [ST_415] = 415,
	[ST_422] = 422, [ST_431] = 431, [ST_500] = 500, [ST_503] = 503,
	[ST_OTHER] = 0,
};
_Static_assert(sizeof(st_codes) / sizeof(st_codes[0]) == ST__MAX, "st");

/* Upper bounds of the latency buckets, microseconds; +Inf is the count. */
enum { HIST__MAX = 13 };
static const int64_t buckets_us[HIST__MAX] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000,
};

struct metrics_shm {
	uint64_t	 magic;
	uint64_t	 size;
	uint64_t	 requests[ROUTE__MAX + 1][ST__MAX];
	uint64_t	 hist[ROUTE__MAX + 1][HIST__MAX + 1];	/* not cumulative */
	uint64_t	 sum_us[ROUTE__MAX + 1];
	uint64_t	 worker_restarts;
	uint64_t	 code_reads;	/* database reads for a landing code */
	uint64_t	 code_shed;	/* ... not made: over the budget */
};

struct metrics {
	struct metrics_shm *shm;
};

/*
 * Opens the counters' file, never through a symbolic link (O_NOFOLLOW),
 * and only as a plain file with one name, our own unless we are root: a
 * link planted in metrics_dir would otherwise have the supervisor (root,
 * before it drops privileges) truncate and write whatever it points at.
 * Mode 0640, whatever the umask or an earlier run left.
 * Returns the descriptor, or -1 with "err" set.
 */
static int
shm_file_open(const char *path, char *err, size_t errsz)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0640)) == -1) {
		snprintf(err, errsz, "%s: %s%s", path, strerror(errno),
		    errno == ELOOP ? " (a symbolic link: remove it)" : "");
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(err, errsz, "%s: not a plain file with one name: "
		    "remove it", path);
		goto fail;
	}
	if (st.st_uid != geteuid() && geteuid() != 0) {
		snprintf(err, errsz, "%s: owned by uid %ld, not by this "
		    "process's %ld: remove it", path, (long)st.st_uid,
		    (long)geteuid());
		goto fail;
	}
	if ((st.st_mode & 07777) != 0640 && fchmod(fd, 0640) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Maps the counters: the file METRICS_FILE in "dir" (created, and reset
 * if its layout is not this one), or anonymous memory if "dir" is empty.
 * Call before forking.  Returns the handle, or NULL with "err" set.
 */
struct metrics *
metrics_open(const char *dir, char *err, size_t errsz)
{
	struct metrics		*m;
	struct metrics_shm	*shm;
	char			 path[CONF_STR + 32];
	int			 fd = -1;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (dir == NULL || dir[0] == '\0') {
		shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shm == MAP_FAILED) {
			snprintf(err, errsz, "mmap: %s", strerror(errno));
			free(m);
			return NULL;
		}
	} else {
		snprintf(path, sizeof(path), "%s/%s", dir, METRICS_FILE);
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			snprintf(err, errsz, "%s: %s", dir, strerror(errno));
			free(m);
			return NULL;
		}
		if ((fd = shm_file_open(path, err, errsz)) == -1) {
			free(m);
			return NULL;
		}
		if (ftruncate(fd, sizeof(*shm)) == -1 ||
		    (shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0)) == MAP_FAILED) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			close(fd);
			free(m);
			return NULL;
		}
		close(fd);
	}
	if (shm->magic != METRICS_MAGIC || shm->size != sizeof(*shm)) {
		memset(shm, 0, sizeof(*shm));
		shm->size = sizeof(*shm);
		__atomic_store_n(&shm->magic, METRICS_MAGIC, __ATOMIC_RELEASE);
	}
	m->shm = shm;
	return m;
}

void
metrics_close(struct metrics *m)
{
	if (m == NULL)
		return;
	munmap(m->shm, sizeof(*m->shm));
	free(m);
}

static enum st
st_index(int status)
{
	int	 i;

	for (i = 0; i < ST_OTHER; i++)
		if (st_codes[i] == status)
			return i;
	return ST_OTHER;
}

/* Counts one request of "route" with "status" that took "usec". */
void
metrics_request(struct metrics *m, enum route r, int status, int64_t usec)
{
	size_t	 b;

	if (m == NULL)
		return;
	if (r > ROUTE__MAX)
		r = ROUTE__MAX;
	for (b = 0; b < HIST__MAX && usec > buckets_us[b]; b++)
		continue;
	__atomic_fetch_add(&m->shm->requests[r][st_index(status)], 1,
	    __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->shm->hist[r][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->shm->sum_us[r], (uint64_t)(usec > 0 ? usec : 0),
	    __ATOMIC_RELAXED);
}

/* Counts a worker that died and was started again. */
void
metrics_worker_exit(struct metrics *m)
{
	if (m != NULL)
		__atomic_fetch_add(&m->shm->worker_restarts, 1,
		    __ATOMIC_RELAXED);
}

/* Counts a database read for a landing code, or one not made ("shed"). */
void
metrics_code_read(struct metrics *m, int shed)
{
	if (m != NULL)
		__atomic_fetch_add(shed ? &m->shm->code_shed :
		    &m->shm->code_reads, 1, __ATOMIC_RELAXED);
}

static uint64_t
ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static int
prom_filter(const struct dirent *d)
{
	size_t	 n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	    strcmp(d->d_name + n - 5, ".prom") == 0;
}

/*
 * Reads a *.prom file of up to MAX_PROM_FILE bytes, if it is a plain file
 * reached without a symbolic link: a link there would publish what it
 * points at (the configuration, say) on /metrics.  Returns the malloc'd
 * text with its length, or NULL.
 */
static char *
prom_read(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (buf = malloc(MAX_PROM_FILE)) == NULL)
		goto out;
	while (got < MAX_PROM_FILE && (n = read(fd, buf + got,
	    MAX_PROM_FILE - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			buf = NULL;
			goto out;
		}
		got += (size_t)n;
	}
	*len = got;
out:
	close(fd);
	return buf;
}

/* Appends the *.prom files of "dir", each up to MAX_PROM_FILE bytes. */
static void
prom_files(FILE *f, const char *dir)
{
	struct dirent	**list = NULL;
	int		  n, i;

	if (dir == NULL || dir[0] == '\0' ||
	    (n = scandir(dir, &list, prom_filter, alphasort)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		char	 path[CONF_STR + 300], *buf;
		size_t	 len;

		if (i < MAX_PROM_FILES) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    list[i]->d_name);
			if ((buf = prom_read(path, &len)) != NULL) {
				fwrite(buf, 1, len, f);
				if (len > 0 && buf[len - 1] != '\n')
					fputc('\n', f);
				free(buf);
			}
		}
		free(list[i]);
	}
	free(list);
}

/*
 * Renders the Prometheus text exposition: requests by route and status,
 * the latency histogram by route, worker restarts, database up, and the
 * outbox backlog and dead count ("oc", when "dbup").  Returns a malloc'd
 * text with its length in *len, or NULL.
 */
char *
metrics_render(struct metrics *m, const struct outbox_counts *oc, int dbup,
    const char *dir, size_t *len)
{
	char		*buf = NULL;
	size_t		 sz = 0;
	FILE		*f;
	int		 r, s, b;

	if ((f = open_memstream(&buf, &sz)) == NULL)
		return NULL;
	fputs("# HELP referd_http_requests_total HTTP requests answered by "
	    "referd-fcgi.\n# TYPE referd_http_requests_total counter\n", f);
	for (r = 0; m != NULL && r <= ROUTE__MAX; r++)
		for (s = 0; s < ST__MAX; s++) {
			uint64_t v = ld(&m->shm->requests[r][s]);

			if (v == 0)
				continue;
			if (s == ST_OTHER)
				fprintf(f, "referd_http_requests_total{route="
				    "\"%s\",status=\"other\"} %" PRIu64 "\n",
				    route_name(r), v);
			else
				fprintf(f, "referd_http_requests_total{route="
				    "\"%s\",status=\"%d\"} %" PRIu64 "\n",
				    route_name(r), st_codes[s], v);
		}
	fputs("# HELP referd_http_request_duration_seconds Time from accept "
	    "to the end of the answer.\n"
	    "# TYPE referd_http_request_duration_seconds histogram\n", f);
	for (r = 0; m != NULL && r <= ROUTE__MAX; r++) {
		uint64_t cum = 0;

		for (b = 0; b <= HIST__MAX; b++)
			cum += ld(&m->shm->hist[r][b]);
		if (cum == 0)
			continue;
		cum = 0;
		for (b = 0; b < HIST__MAX; b++) {
			cum += ld(&m->shm->hist[r][b]);
			fprintf(f, "referd_http_request_duration_seconds_bucket"
			    "{route=\"%s\",le=\"%g\"} %" PRIu64 "\n",
			    route_name(r), (double)buckets_us[b] / 1e6, cum);
		}
		cum += ld(&m->shm->hist[r][HIST__MAX]);
		fprintf(f, "referd_http_request_duration_seconds_bucket"
		    "{route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
		    "referd_http_request_duration_seconds_sum{route=\"%s\"} "
		    "%.6f\n"
		    "referd_http_request_duration_seconds_count{route=\"%s\"} "
		    "%" PRIu64 "\n", route_name(r), cum, route_name(r),
		    (double)ld(&m->shm->sum_us[r]) / 1e6, route_name(r), cum);
	}
	fprintf(f, "# HELP referd_fcgi_worker_restarts_total Workers that "
	    "died and were started again.\n"
	    "# TYPE referd_fcgi_worker_restarts_total counter\n"
	    "referd_fcgi_worker_restarts_total %" PRIu64 "\n",
	    m != NULL ? ld(&m->shm->worker_restarts) : 0);
	fprintf(f, "# HELP referd_code_db_reads_total Database reads for a "
	    "landing code that neither code cache answered.\n"
	    "# TYPE referd_code_db_reads_total counter\n"
	    "referd_code_db_reads_total %" PRIu64 "\n"
	    "# HELP referd_code_db_reads_shed_total Such reads not made: over "
	    "the budget, answered as in an outage.\n"
	    "# TYPE referd_code_db_reads_shed_total counter\n"
	    "referd_code_db_reads_shed_total %" PRIu64 "\n",
	    m != NULL ? ld(&m->shm->code_reads) : 0,
	    m != NULL ? ld(&m->shm->code_shed) : 0);
	fprintf(f, "# HELP referd_database_up Whether the database answered "
	    "this scrape.\n# TYPE referd_database_up gauge\n"
	    "referd_database_up %d\n", dbup ? 1 : 0);
	if (dbup)
		fprintf(f, "# HELP referd_outbox_backlog Outbox rows not yet "
		    "delivered (pending and in flight).\n"
		    "# TYPE referd_outbox_backlog gauge\n"
		    "referd_outbox_backlog %" PRId64 "\n"
		    "# HELP referd_outbox_due Pending outbox rows due now.\n"
		    "# TYPE referd_outbox_due gauge\n"
		    "referd_outbox_due %" PRId64 "\n"
		    "# HELP referd_outbox_inflight Outbox rows being sent.\n"
		    "# TYPE referd_outbox_inflight gauge\n"
		    "referd_outbox_inflight %" PRId64 "\n"
		    "# HELP referd_outbox_dead Outbox rows given up on.\n"
		    "# TYPE referd_outbox_dead gauge\n"
		    "referd_outbox_dead %" PRId64 "\n",
		    oc->pending + oc->inflight, oc->due, oc->inflight,
		    oc->dead);
	prom_files(f, dir);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = sz;
	return buf;
}
