/*
 * A worker: the FastCGI accept loop, the only code that touches FCGX_*.
 * It copies the request out of libfcgi with every parameter capped, reads
 * the body with its bound, hands both to http_serve() and writes the
 * answer back, then logs one line and counts the request.
 *
 * Waiting happens in epoll_pwait() on the listening socket (non-blocking,
 * shared by every worker, EPOLLEXCLUSIVE so that a new connection wakes
 * one worker, not all of them) or in ppoll() on the kept connection, with
 * SIGTERM unblocked only there: a worker never dies mid-request, and never
 * sleeps through a SIGTERM in accept() either.  After a request it tries
 * the next connection at once, and waits only if there is none.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi.h"

static volatile sig_atomic_t	 w_stop;
static char			 bodybuf[MAX_BODY + 1];
static char			 logbuf[LOG_BUF];	/* request lines */
static size_t			 loglen;
static int64_t			 log_first_us;	/* oldest line in logbuf */
static int64_t			 log_ts_sec = -1;	/* log_ts is of it */
static char			 log_ts[32];

static void
w_onterm(int sig)
{
	(void)sig;
	w_stop = 1;
}

/*
 * Returns the parameter "name", or NULL if absent or longer than "max"
 * bytes; a long one is named in *toolong (the first only).
 */
static const char *
param(FCGX_Request *fr, const char *name, size_t max, const char **toolong)
{
	const char	*v = FCGX_GetParam(name, fr->envp);

	if (v != NULL && strnlen(v, max + 1) > max) {
		if (*toolong == NULL)
			*toolong = name;
		return NULL;
	}
	return v;
}

/* Reads the body of CONTENT_LENGTH bytes into bodybuf, with the bound. */
static enum body_state
body_read(FCGX_Request *fr, const char *cl, size_t *len)
{
	size_t	 want;
	int	 n;

	*len = 0;
	bodybuf[0] = '\0';
	if (content_length_parse(cl, &want) == -1)
		return BODY_BAD_LENGTH;
	if (want > MAX_BODY)
		return BODY_TOO_LARGE;
	n = want > 0 ? FCGX_GetStr(bodybuf, (int)want, fr->in) : 0;
	if (n < 0 || (size_t)n < want)
		return BODY_SHORT;
	bodybuf[n] = '\0';
	*len = (size_t)n;
	if (FCGX_GetChar(fr->in) != EOF)
		return BODY_LONG;
	return BODY_OK;
}

/* Writes the buffered request lines with one write(2). */
static void
log_flush(void)
{
	if (loglen > 0)
		(void)write(STDERR_FILENO, logbuf, loglen);
	loglen = 0;
}

/*
 * Adds one request line to the buffer.  The buffer is written when full,
 * before the worker waits for work, after LOG_FLUSH_MS and at exit: one
 * write(2) of whole lines, so workers do not mix lines.  A write per
 * request (4 workers appending to one file) cost 10 to 20% of the landing
 * page's throughput (bench/RESULTS.md); a crash loses at most LOG_FLUSH_MS
 * of request lines, never an error line (log_err writes at once).
 */
static void
log_request(const struct http_resp *rs, const char *method, int64_t usec)
{
	char		 line[MAX_LOG_LINE];
	int64_t		 t = clock_now();
	int		 n;

	if (t != log_ts_sec) {
		clock_rfc3339(log_ts, sizeof(log_ts), t);
		log_ts_sec = t;
	}
	n = snprintf(line, sizeof(line), "%s [%ld] %s %s %d %" PRId64
	    ".%03dms rid=%s\n", log_ts, (long)getpid(),
	    method_parse(method) == METHOD_OTHER ? "OTHER" : method,
	    route_name(rs->route), rs->status, usec / 1000,
	    (int)(usec % 1000), rs->request_id);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (loglen + (size_t)n > sizeof(logbuf))
		log_flush();
	if (loglen == 0)
		log_first_us = clock_mono_us();
	memcpy(logbuf + loglen, line, (size_t)n);
	loglen += (size_t)n;
}

/*
 * Answers the request libfcgi just accepted.  Returns 1 if its input was
 * read to the end, else 0.
 */
static int
serve_one(struct app *app, FCGX_Request *fr, int64_t t0)
{
	static const char	 fallback[] = "Status: 500 Internal Server "
				    "Error\r\nContent-Type: application/json"
				    "\r\nContent-Length: 0\r\n\r\n";
	struct http_req		 rq;
	struct http_resp	 rs;
	char			 head[MAX_HEADERS];
	const char		*body, *rid, *cl;
	char			**e;
	size_t			 bodysz;
	int			 hn;

	memset(&rq, 0, sizeof(rq));
	/* Every parameter is capped, whatever we do with it. */
	for (e = fr->envp; e != NULL && *e != NULL; e++)
		if (strnlen(*e, MAX_PARAM + 1) > MAX_PARAM) {
			rq.toolong = "parameter";
			break;
		}
	rq.method = param(fr, "REQUEST_METHOD", 16, &rq.toolong);
	rq.uri = param(fr, "REQUEST_URI", MAX_URI, &rq.toolong);
	rq.content_type = param(fr, "CONTENT_TYPE", MAX_CONTENT_TYPE,
	    &rq.toolong);
	rq.authorization = param(fr, "HTTP_AUTHORIZATION", MAX_BEARER,
	    &rq.toolong);
	/* Only for the audit: a long one is merely not kept. */
	rq.remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);
	rq.wh_id = param(fr, "HTTP_WEBHOOK_ID", MAX_PARAM, &rq.toolong);
	rq.wh_ts = param(fr, "HTTP_WEBHOOK_TIMESTAMP", MAX_PARAM,
	    &rq.toolong);
	rq.wh_sig = param(fr, "HTTP_WEBHOOK_SIGNATURE", MAX_PARAM,
	    &rq.toolong);
	rq.stripe_sig = param(fr, "HTTP_STRIPE_SIGNATURE", MAX_PARAM,
	    &rq.toolong);
	rq.shop_hmac = param(fr, "HTTP_X_SHOPIFY_HMAC_SHA256", MAX_PARAM,
	    &rq.toolong);
	rq.shop_topic = param(fr, "HTTP_X_SHOPIFY_TOPIC", MAX_PARAM,
	    &rq.toolong);
	rq.shop_id = param(fr, "HTTP_X_SHOPIFY_WEBHOOK_ID", MAX_PARAM,
	    &rq.toolong);
	/* A long request id is merely invalid: a new one is made. */
	rid = FCGX_GetParam("HTTP_X_REQUEST_ID", fr->envp);
	rq.request_id = rid != NULL &&
	    strnlen(rid, MAX_REQUEST_ID + 1) <= MAX_REQUEST_ID ? rid : NULL;
	cl = param(fr, "CONTENT_LENGTH", 32, &rq.toolong);
	if (rq.toolong != NULL && cl == NULL)
		rq.body_state = BODY_BAD_LENGTH;
	else
		rq.body_state = body_read(fr, cl, &bodysz);
	rq.body = bodybuf;
	rq.bodysz = rq.body_state == BODY_OK ? bodysz : 0;

	http_serve(app, &rq, &rs);
	/* Input left unread would poison a kept connection. */
	if (rq.body_state != BODY_OK)
		fr->keepConnection = 0;

	body = http_body(&rs, &bodysz);
	if ((hn = http_head(&rs, head, sizeof(head), bodysz)) < 0) {
		FCGX_PutStr(fallback, sizeof(fallback) - 1, fr->out);
		rs.status = 500;
	} else {
		FCGX_PutStr(head, hn, fr->out);
		if (method_parse(rq.method) != METHOD_HEAD && bodysz > 0)
			FCGX_PutStr(body, (int)bodysz, fr->out);
	}
	metrics_request(app->metrics, rs.route, rs.status, clock_mono_us() - t0);
	log_request(&rs, rq.method, clock_mono_us() - t0);
	http_resp_free(&rs);
	return rq.body_state == BODY_OK;
}

/*
 * Runs a worker until SIGTERM: opens its database handles, then serves
 * requests on "listen_fd", with a thread that writes the click counts.
 * Flushes what is left of them on the way out.
 * Never returns.
 */
void
worker_main(const struct conf *conf, int listen_fd, struct metrics *m,
    char *const *domains, size_t ndomains)
{
	struct sigaction	 sa;
	sigset_t		 none;
	FCGX_Request		 fr;
	struct epoll_event	 ev;
	struct db		*db, *sdb = NULL;
	struct app		 app;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	int			 ep, again = 0, local;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = w_onterm;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	/* The supervisor's mask (all of these blocked) stays, but ppoll. */
	sigemptyset(&none);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);

	/*
	 * A fixed mmap threshold: glibc would raise it after the first
	 * large free, and the click flush's and the cache load's buffers
	 * would then stay in the heap for good (RSS).
	 */
	(void)mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD);
	/* The click flusher thread shares the one heap: no arena of its
	 * own holding freed pages (RSS). */
	(void)mallopt(M_ARENA_MAX, 1);
	if ((db = db_new(conf, 0)) == NULL ||
	    ((conf->stats_db_socket[0] != '\0' ||
	    conf->stats_db_host[0] != '\0') &&
	    (sdb = db_new(conf, 1)) == NULL) ||
	    app_init(&app, conf, db, sdb, domains, ndomains) == -1) {
		log_err("worker: out of memory");
		_exit(1);
	}
	app.metrics = m;
	if (db_connect(db) == -1)
		log_err("worker: database not reachable yet: %s", db->errmsg);
	else if (code_cache_load(&app) == -1)
		log_err("worker: the code cache starts empty: %s", db->errmsg);
	/* Without it (click_flush_ms = 0, or no thread) the worker flushes. */
	(void)clicks_flusher_start(&app);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		log_err("worker: FCGX_Init failed");
		_exit(1);
	}
	/*
	 * libfcgi closes a connection with shutdown() and then waits for
	 * the web server to close its end, a round trip during which the
	 * worker serves no one.  It guards against a reset that would lose
	 * the answer when input is left unread; on a unix socket, once the
	 * input was read to its end, there is none: the connection is then
	 * closed at once (FCGX_Detach: no shutdown, no wait).
	 */
	local = getsockname(listen_fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    ss.ss_family == AF_UNIX;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) != -1 &&
	    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) == -1) {
		log_err("worker: epoll: %s; waiting with ppoll", strerror(errno));
		close(ep);
		ep = -1;
	}

	while (!w_stop) {
		struct pollfd	 p;
		struct timespec	 ts, *tp = NULL;
		int64_t		 due = clicks_due_ms(&app), t0;
		int64_t		 fdue = code_feed_due_ms(&app);
		int		 rc;

		if (due == 0) {
			clicks_flush(&app);
			continue;
		}
		if (fdue == 0) {
			code_feed_poll(&app);
			continue;
		}
		if (fdue > 0 && (due < 0 || fdue < due))
			due = fdue;
		/* Before waiting, or when due. */
		if (loglen > 0 && (!again || fr.ipcFd >= 0 || ep == -1 ||
		    clock_mono_us() - log_first_us >= LOG_FLUSH_MS * 1000))
			log_flush();
		if (due > 0) {
			ts.tv_sec = due / 1000;
			ts.tv_nsec = (due % 1000) * 1000000;
			tp = &ts;
		}
		if (fr.ipcFd >= 0 || ep == -1) {
			p.fd = fr.ipcFd >= 0 ? fr.ipcFd : listen_fd;
			p.events = POLLIN;
			p.revents = 0;
			if (ppoll(&p, 1, tp, &none) <= 0)
				continue;
		} else if (!again && epoll_pwait(ep, &ev, 1,
		    due < 0 ? -1 : (int)due, &none) <= 0)
			continue;
		again = 0;
		t0 = clock_mono_us();
		if ((rc = FCGX_Accept_r(&fr)) < 0) {
			/* Another worker took the connection, or it closed. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK ||
			    rc == -EINTR || rc == -ECONNABORTED)
				continue;
			log_err("worker: accept: %s", strerror(-rc));
			poll(NULL, 0, 100);
			continue;
		}
		if (serve_one(&app, &fr, t0) && local)
			(void)FCGX_Detach(&fr);
		else
			(void)FCGX_Attach(&fr);	/* the lingering close */
		FCGX_Finish_r(&fr);
		again = 1;
	}
	log_flush();
	if (ep != -1)
		close(ep);
	FCGX_Free(&fr, 1);
	clicks_flusher_stop(&app);
	if (clicks_flush(&app) == -1)
		log_err("worker: %zu click counts lost at exit", app.nclicks);
	app_free(&app);
	if (sdb != NULL)
		db_free(sdb);
	db_free(db);
	_exit(0);
}
