/*
 * referd-fcgi: the FastCGI program.
 *
 * main.c is the supervisor (config, socket, prefork, signals), worker.c
 * the accept loop, the only file that touches FCGX_*.  http.c turns a
 * request the worker copied out of libfcgi (struct http_req) into a
 * response (struct http_resp): routing, auth, limits, JSON and the
 * validators.  handlers.c holds one function per endpoint: typed input
 * in, status and JSON tree out.  app.c sets up a worker's state (struct
 * app), codecache.c keeps the landing page's code cache, clicks.c its
 * click counter and flusher thread, metrics.c the counters shared by all
 * workers.
 */
#ifndef REFERD_FCGI_H
#define REFERD_FCGI_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sql.h"

#define FCGI_BACKLOG		1024	/* listen(2) backlog */
#define DRAIN_TIMEOUT		15	/* s a worker may finish in, then KILL */
#define RESPAWN_DELAY_MS	500	/* between respawns of a crashing slot */
#define MAX_SLOTS		512	/* workers, old and new, during reload */
#define CODE_CACHE_SLOTS	131072	/* code cache entries per worker,
					   12 bytes each: 1.5 MiB */
#define CODE_CACHE_WAYS		16	/* entries per set; a code may live
					   in either of two sets */
#define CODE_CACHE_LOAD		(CODE_CACHE_SLOTS / 8 * 7) /* codes read
					   at start, newest first */
#define CODE_CACHE_MAX_AGE	3600	/* s an entry is kept however quiet
					   the change feed (deleted codes) */
#define CODE_NEG_SLOTS		8192	/* unknown codes remembered per
					   worker, apart from the known ones,
					   12 bytes each */
#define CODE_NEG_WAYS		8	/* entries per set of that table */
#define CODE_MISS_RATE		50	/* database reads per second and
					   worker for codes the caches do not
					   answer ... */
#define CODE_MISS_BURST		100	/* ... with bursts of this many */
#define CODE_FEED_MS		1000	/* changed codes are polled this often */
#define CODE_FEED_OVERLAP	5	/* s of changes read again each poll:
					   a change committed this late is
					   still seen */
#define CODE_FEED_MAX		1000	/* changes read per poll; more: the
					   cache is emptied */
#define WORKER_MMAP_THRESHOLD	(64 * 1024) /* larger blocks: mmap(2) */
#define FLUSHER_STACK		(256 * 1024) /* the click flusher's stack */
#define CLICK_BUF_SLOTS		8192	/* distinct (code, day) buffered per
					   worker, 16 bytes each */
#define MAX_LOG_LINE		512	/* one request log line */
#define LOG_BUF			(16 * 1024) /* request lines a worker buffers */
#define LOG_FLUSH_MS		100	/* the oldest buffered line waits at
					   most this long under load */
#define MAX_HEADERS		2048	/* response header block */
#define MAX_PROM_FILE		(64 * 1024) /* one *.prom file of metrics_dir */
#define MAX_PROM_FILES		8	/* *.prom files appended to /metrics */
#define MAX_CONTENT_TYPE	256	/* CONTENT_TYPE we look at */
#define MAX_BEARER		256	/* Authorization header we look at */
#define RID_GEN_LEN		24	/* a generated request id */
#define MAX_CLIENT_ADDR		63	/* REMOTE_ADDR kept for the audit */
#define MAX_CREDENTIAL		63	/* "admin_api_key:" and 8 hex */

/* HTTP methods the API knows; anything else is "other" and gets 405. */
enum method {
	METHOD_GET,
	METHOD_HEAD,
	METHOD_POST,
	METHOD_OTHER,
	METHOD__MAX
};

#define MB(m)		(1u << (m))

enum route {
	ROUTE_LANDING,		/* GET, HEAD /r/{code} */
	ROUTE_CODE_GET,		/* GET /v1/users/{id}/code */
	ROUTE_CODE_MINT,	/* POST /v1/users/{id}/code */
	ROUTE_SIGNUP,		/* POST /v1/signups */
	ROUTE_EVENT,		/* POST /v1/events */
	ROUTE_STATS,		/* GET /v1/referrers/{id}/stats */
	ROUTE_REFERRAL,		/* GET /v1/referrals/{id} */
	ROUTE_VOID,		/* POST /v1/referrals/{id}/void */
	ROUTE_HEALTHZ,		/* GET /healthz */
	ROUTE_METRICS,		/* GET /metrics */
	ROUTE_INTAKE_STRIPE,	/* POST /v1/intake/stripe */
	ROUTE_INTAKE_SHOPIFY,	/* POST /v1/intake/shopify */
	ROUTE__MAX
};
#define ROUTE_NONE	ROUTE__MAX	/* no route: 404, 405 and early errors */

/* The bodies a route takes (body.c validates each by its table). */
enum body_kind {
	BODY_NONE,		/* a body, if any, is ignored */
	BODY_SIGNUP,
	BODY_EVENT,
	BODY_VOID,
	BODY_STRIPE,		/* a Stripe event */
	BODY_SHOPIFY,		/* a Shopify order or refund */
	BODY__MAX
};

/* What the worker found while reading the request off the socket. */
enum body_state {
	BODY_OK,		/* body holds CONTENT_LENGTH bytes */
	BODY_BAD_LENGTH,	/* CONTENT_LENGTH not a plain number */
	BODY_TOO_LARGE,		/* CONTENT_LENGTH over MAX_BODY: not read */
	BODY_SHORT,		/* the stream ended early */
	BODY_LONG,		/* more bytes than CONTENT_LENGTH */
};

/*
 * A request as the web server passed it.  The pointers are the worker's
 * copies (or libfcgi's, valid until the request is finished); NULL means
 * the parameter was absent.  "toolong" names a parameter over its cap.
 */
struct http_req {
	const char	*method;
	const char	*uri;		/* REQUEST_URI, with the query */
	const char	*content_type;
	const char	*authorization;
	const char	*request_id;	/* X-Request-Id */
	const char	*remote_addr;	/* REMOTE_ADDR: the web server's peer */
	const char	*wh_id;		/* webhook-id */
	const char	*wh_ts;		/* webhook-timestamp */
	const char	*wh_sig;	/* webhook-signature */
	const char	*stripe_sig;	/* Stripe-Signature */
	const char	*shop_hmac;	/* X-Shopify-Hmac-Sha256 */
	const char	*shop_topic;	/* X-Shopify-Topic */
	const char	*shop_id;	/* X-Shopify-Webhook-Id */
	const char	*toolong;	/* name of a parameter over its cap */
	enum body_state	 body_state;
	const char	*body;		/* NUL-terminated, bodysz bytes */
	size_t		 bodysz;
};

/*
 * A response.  http_resp_free() releases what it holds.  Header values
 * are built only from configuration and validated or generated values.
 */
struct http_resp {
	int		 status;
	enum route	 route;		/* for the log and the metrics */
	const char	*allow;		/* Allow, with 405 */
	int		 www_auth;	/* WWW-Authenticate: Bearer, with 401 */
	char		*location;	/* Location (malloc'd) */
	char		*cookie;	/* Set-Cookie (malloc'd) */
	const char	*content_type;	/* NULL: application/json */
	json_object	*json;		/* the body, or */
	char		*text;		/* a text body (malloc'd) */
	size_t		 textsz;
	char		 request_id[MAX_REQUEST_ID + 1];
};

/* Typed input of the handlers, filled by the route and the validators. */
struct in_signup {
	int64_t		 user_id;
	char		 code[MAX_CODE_INPUT + 1];	/* "" if none */
	char		 email[MAX_FIELD + 1];		/* "" if none */
	char		 ip[46];			/* "" if none, canonical */
	char		 device[MAX_FIELD + 1];		/* "" if none */
};

/* An event body: what db_event_apply takes (occurred_at included). */
struct in_event {
	struct event_in	 ev;
};

struct in_void {
	char		 reason[MAX_REASON + 1];
};

/*
 * An event of an order source (SPEC 12).  The pointers of "f" point into
 * the JSON tree, which lives until the handler returns.
 */
struct in_intake {
	struct intake_fields f;
	char		 id[MAX_EVENT_ID + 1];	/* Stripe's event id, or
					   X-Shopify-Webhook-Id */
	char		 topic[64];		/* X-Shopify-Topic */
	char		 body_sha256[65];
};

struct input {
	int64_t		 id;		/* {id} of the path: user or referral */
	char		 seg[MAX_CODE_INPUT + 1]; /* {code} of the path, raw */
	size_t		 segsz;		/* its length; over the cap: not kept */
	int		 head;		/* HEAD: no body in the answer */
	char		 client[MAX_CLIENT_ADDR + 1]; /* REMOTE_ADDR if it is
					   a printable token, else "" */
	char		 credential[MAX_CREDENTIAL + 1]; /* the key that
					   passed: its name and fingerprint,
					   "" if none */
	union {
		struct in_signup signup;
		struct in_event	 event;
		struct in_void	 vd;
		struct in_intake intake;
	}		 u;
};

/*
 * One cached answer of "may this code set the cookie", 12 bytes so that
 * every code of a large table fits in a worker (codecache.c reads the
 * fields through its e_*() helpers).
 */
struct code_entry {
	uint32_t	 until;		/* valid before this Unix second; 0:
					   unknown, expired or disabled */
	uint32_t	 key_lo;	/* code_key(): low 32 of its 42 bits */
	uint32_t	 hi_loaded;	/* its high 10 bits, then the monotonic
					   second it was read, mod 2^22 */
};

/* A code the database did not know, remembered for code_cache_seconds. */
struct code_neg {
	uint32_t	 key_lo;	/* code_key(): 0 and 0 is a free entry */
	uint32_t	 key_hi;
	uint32_t	 loaded;	/* monotonic second it was read */
};

/* Clicks counted since the last flush, per code and UTC day. */
struct click_entry {
	uint64_t	 key;		/* code_key() of the code; 0: free */
	uint32_t	 day;		/* Unix time / 86400 */
	uint32_t	 n;
};

struct metrics;

/*
 * The data operations the handlers call, one pointer each, so that a unit
 * test can answer them without MariaDB (tests/test_handlers.c).
 * data_ops_db holds the sql/ functions; an app whose "ops" is NULL uses it.
 */
struct data_ops {
	enum db_rc	(*code_get)(struct db *, int64_t user,
			    struct code_row *);
	enum db_rc	(*code_mint)(struct db *, int64_t user, int64_t now,
			    struct code_row *);
	enum db_rc	(*signup)(struct db *, const struct signup_in *,
			    int64_t now, struct signup_out *);
	enum db_rc	(*event_apply)(struct db *, const struct event_in *,
			    int64_t now, struct event_out *);
	enum db_rc	(*stats_get)(struct db *, int64_t user,
			    struct stats_row *);
	enum db_rc	(*referral_get)(struct db *, int64_t id,
			    struct referral_row *);
	enum db_rc	(*referral_void)(struct db *, int64_t id,
			    const char *reason, const char *operator,
			    const struct audit_who *, int64_t now);
	enum db_rc	(*ping)(struct db *);
	enum db_rc	(*outbox_counts)(struct db *, int64_t now,
			    struct outbox_counts *);
};

/* Everything a worker's request needs; one per worker process. */
struct app {
	const struct conf *conf;
	struct db	*db;
	struct db	*sdb;		/* stats: replica, or db itself */
	struct sig_key	 whkey;		/* webhook_secret */
	struct sig_key	 whkey_more[MAX_SECRETS - 1]; /* its rotation values */
	size_t		 nwhkey_more;
	char *const	*domains;	/* disposable domains, sorted */
	size_t		 ndomains;
	struct code_entry *cache;	/* CODE_CACHE_SLOTS */
	struct code_entry scratch;	/* the answer for an uncacheable or
					   unknown code */
	struct code_neg	*neg;		/* CODE_NEG_SLOTS unknown codes */
	int64_t		 miss_tat_ms;	/* the miss budget: when it is whole
					   again (monotonic ms) */
	uint64_t	 code_reads;	/* database reads for a code */
	uint64_t	 code_shed;	/* lookups over the budget */
	struct code_brief *feedbuf;	/* CODE_FEED_MAX, also for loading */
	int		 feed_on;	/* every cached entry is followed */
	size_t		 sweep;		/* next entry the sweep looks at */
	int64_t		 feed_since;	/* database time the next poll reads
					   changes from */
	uint32_t	 feed_ok;	/* monotonic s of the last good poll */
	int64_t		 feed_polled_ms; /* last poll, good or not */
	struct click_entry *clicks;	/* CLICK_BUF_SLOTS */
	size_t		 nclicks;	/* used slots */
	int		 clicks_full;	/* due for a flush now */
	int64_t		 clicks_flushed_ms;
	/*
	 * The click flusher: a thread of the worker with a connection of
	 * its own that writes the counts, so that no request waits for
	 * it.  While it runs (flusher_on) the four fields above are
	 * guarded by clicks_mu.
	 */
	int		 flusher_on;
	int		 flusher_stop;
	pthread_t	 flusher;
	pthread_mutex_t	 clicks_mu;
	pthread_cond_t	 clicks_cv;	/* wakes the flusher */
	struct db	*fdb;		/* the flusher's connection */
	struct metrics	*metrics;	/* NULL: not counted */
	const struct data_ops *ops;	/* NULL: data_ops_db */
	int64_t		 (*now)(void);	/* wall clock, seconds */
	int64_t		 (*mono_ms)(void); /* monotonic, ms */
	char		 rid_prefix[17];
	uint64_t	 rid_seq;
};

enum auth {
	AUTH_NONE,
	AUTH_API,		/* api_key (or admin_api_key) */
	AUTH_ADMIN,		/* admin_api_key only */
	AUTH_WEBHOOK,		/* Standard Webhooks signature */
	AUTH_STRIPE,		/* Stripe-Signature, stripe_webhook_secret */
	AUTH_SHOPIFY,		/* X-Shopify-Hmac-Sha256, its secret */
};


/* auth.c */
int		 auth_check(struct app *, enum auth, const char *hdr,
		    struct http_resp *, char cred[MAX_CREDENTIAL + 1]);
int		 webhook_check(struct app *, const struct http_req *,
		    struct http_resp *);
int		 intake_on(struct app *, enum auth, struct http_resp *);
int		 intake_check(struct app *, enum auth, const struct http_req *,
		    struct input *, struct http_resp *);

/* http.c */
enum method	 method_parse(const char *);
const char	*route_name(enum route);
void		 http_serve(struct app *, const struct http_req *,
		    struct http_resp *);
void		 http_resp_free(struct http_resp *);
int		 http_error(struct http_resp *, int status, const char *code,
		    const char *msg);
int		 content_length_parse(const char *, size_t *);
int		 json_media_type(const char *);
int		 http_head(const struct http_resp *, char *buf, size_t sz,
		    size_t bodysz);
const char	*http_body(struct http_resp *, size_t *);
int		 header_value_safe(const char *);
int		 cookie_name_valid(const char *);

/* body.c */
json_object	*body_parse(const struct http_req *, struct http_resp *);
int		 body_validate(enum body_kind, json_object *, struct input *,
		    struct http_resp *);

/* handlers.c */
extern const struct data_ops data_ops_db;
int		 h_landing(struct app *, const struct input *,
		    struct http_resp *);
int		 h_code_get(struct app *, const struct input *,
		    struct http_resp *);
int		 h_code_mint(struct app *, const struct input *,
		    struct http_resp *);
int		 h_signup(struct app *, const struct input *,
		    struct http_resp *);
int		 h_event(struct app *, const struct input *,
		    struct http_resp *);
int		 h_stats(struct app *, const struct input *,
		    struct http_resp *);
int		 h_referral(struct app *, const struct input *,
		    struct http_resp *);
int		 h_void(struct app *, const struct input *,
		    struct http_resp *);
int		 h_healthz(struct app *, const struct input *,
		    struct http_resp *);
int		 h_metrics(struct app *, const struct input *,
		    struct http_resp *);
int		 h_intake_stripe(struct app *, const struct input *,
		    struct http_resp *);
int		 h_intake_shopify(struct app *, const struct input *,
		    struct http_resp *);

/* app.c */
int		 app_init(struct app *, const struct conf *, struct db *,
		    struct db *, char *const *domains, size_t ndomains);
void		 app_free(struct app *);
void		 request_id_make(struct app *, char *, size_t);

/* codecache.c */
uint64_t	 code_key(const char *code);
void		 code_unkey(uint64_t, char out[CODE_LEN + 1]);
const struct code_entry *code_cache_get(struct app *, const char *code,
		    enum db_rc *);
const struct code_entry *code_cache_put(struct app *, const struct code_row *,
		    const char *code, int found);
int		 code_cache_load(struct app *);
int		 code_feed_poll(struct app *);
int64_t		 code_feed_due_ms(const struct app *);

/* clicks.c */
void		 click_count(struct app *, const char *code);
int		 clicks_flush(struct app *);
int64_t		 clicks_due_ms(const struct app *);
int		 clicks_flusher_start(struct app *);
void		 clicks_flusher_stop(struct app *);

/* worker.c */
void		 worker_main(const struct conf *, int listen_fd,
		    struct metrics *, char *const *domains, size_t ndomains)
		    __attribute__((noreturn));

/* metrics.c */
struct metrics	*metrics_open(const char *dir, char *err, size_t errsz);
void		 metrics_close(struct metrics *);
void		 metrics_request(struct metrics *, enum route, int status,
		    int64_t usec);
void		 metrics_worker_exit(struct metrics *);
void		 metrics_code_read(struct metrics *, int shed);
char		*metrics_render(struct metrics *, const struct outbox_counts *,
		    int dbup, const char *dir, size_t *len);

#endif /* !REFERD_FCGI_H */
