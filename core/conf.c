/*
 * The configuration file: "key = value" lines, parsed by one table of
 * keys into struct conf (the checks of the result are confcheck.c).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

#define F(f)		offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
#define STR(k, f)	[k] = { #f, CT_STR, F(f), 0, 0, 0, 0, 0 }
#define NUM(k, f, lo, hi) [k] = { #f, CT_LONG, F(f), (lo), (hi), 0, 0, 0 }
#define SECRET(k, f, fl) [k] = { #f, CT_STR, F(f), 0, 0, KF_SECRET | (fl), \
			    0, 0 }
#define ROTATED(k, f)	[k] = { #f, CT_ROTATED, F(f), 0, 0,		\
			    KF_SECRET | KF_WHSEC,				\
			    offsetof(struct conf, f##_more),			\
			    offsetof(struct conf, f##_moresz) }
#define SSLMODE(k, f)	[k] = { #f, CT_SSL_MODE, F(f), 0, 0, 0, 0, 0 }

const struct conf_key conf_keys[CK__MAX] = {
	STR(CK_DB_SOCKET, db_socket),
	STR(CK_DB_HOST, db_host),
	NUM(CK_DB_PORT, db_port, 0, 65535),
	STR(CK_DB_USER, db_user),
	SECRET(CK_DB_PASSWORD, db_password, 0),
	STR(CK_DB_NAME, db_name),
	STR(CK_DB_SSL_CA, db_ssl_ca),
	SSLMODE(CK_DB_SSL_MODE, db_ssl_mode),
	STR(CK_STATS_DB_SOCKET, stats_db_socket),
	STR(CK_STATS_DB_HOST, stats_db_host),
	NUM(CK_STATS_DB_PORT, stats_db_port, 0, 65535),
	STR(CK_STATS_DB_USER, stats_db_user),
	SECRET(CK_STATS_DB_PASSWORD, stats_db_password, 0),
	STR(CK_STATS_DB_NAME, stats_db_name),
	STR(CK_STATS_DB_SSL_CA, stats_db_ssl_ca),
	SSLMODE(CK_STATS_DB_SSL_MODE, stats_db_ssl_mode),
	STR(CK_USER, user),
	STR(CK_SECRETS_FILE, secrets_file),
	STR(CK_LISTEN, listen),
	STR(CK_SOCKET_OWNER, socket_owner),
	STR(CK_SOCKET_GROUP, socket_group),
	[CK_SOCKET_MODE] = { "socket_mode", CT_OCTAL, F(socket_mode),
	    0, 0777, 0, 0, 0 },
	NUM(CK_WORKERS, workers, 1, 256),
	STR(CK_LOG_FILE, log_file),
	STR(CK_PID_FILE, pid_file),
	STR(CK_METRICS_DIR, metrics_dir),
	SECRET(CK_API_KEY, api_key, KF_APIKEY),
	SECRET(CK_ADMIN_API_KEY, admin_api_key, KF_APIKEY),
	ROTATED(CK_WEBHOOK_SECRET, webhook_secret),
	ROTATED(CK_OUTBOUND_SECRET, outbound_secret),
	SECRET(CK_STRIPE_WEBHOOK_SECRET, stripe_webhook_secret, 0),
	SECRET(CK_SHOPIFY_WEBHOOK_SECRET, shopify_webhook_secret, 0),
	STR(CK_BASE_URL, base_url),
	STR(CK_LANDING_URL, landing_url),
	STR(CK_COOKIE_NAME, cookie_name),
	NUM(CK_ATTRIBUTION_WINDOW_DAYS, attribution_window_days, 1, 3650),
	NUM(CK_CODE_CACHE_SECONDS, code_cache_seconds, 0, 86400),
	NUM(CK_CLICK_FLUSH_MS, click_flush_ms, 0, 3600000),
	[CK_QUALIFYING_EVENTS] = { "qualifying_events", CT_LIST,
	    F(qualifying_events), 0, 0, 0, 0, 0 },
	[CK_MIN_ORDER_AMOUNT] = { "min_order_amount", CT_MONEY,
	    F(min_order_amount), 0, 0, 0, 0, 0 },
	NUM(CK_HOLD_DAYS, hold_days, 0, 3650),
	[CK_REWARD_REFERRER_TYPE] = { "reward_referrer_type", CT_STR,
	    F(reward_referrer.type), 0, 0, 0, 0, 0 },
	[CK_REWARD_REFERRER_AMOUNT] = { "reward_referrer_amount", CT_MONEY,
	    F(reward_referrer.amount), 0, 0, 0, 0, 0 },
	[CK_REWARD_REFERRER_CURRENCY] = { "reward_referrer_currency", CT_STR,
	    F(reward_referrer.currency), 0, 0, 0, 0, 0 },
	[CK_REWARD_REFEREE_TYPE] = { "reward_referee_type", CT_STR,
	    F(reward_referee.type), 0, 0, 0, 0, 0 },
	[CK_REWARD_REFEREE_AMOUNT] = { "reward_referee_amount", CT_MONEY,
	    F(reward_referee.amount), 0, 0, 0, 0, 0 },
	[CK_REWARD_REFEREE_CURRENCY] = { "reward_referee_currency", CT_STR,
	    F(reward_referee.currency), 0, 0, 0, 0, 0 },
	NUM(CK_MAX_SIGNUPS_PER_REFERRER_PER_HOUR,
	    max_signups_per_referrer_per_hour, 0, 1000000),
	NUM(CK_MAX_SIGNUPS_PER_IP_PER_HOUR,
	    max_signups_per_ip_per_hour, 0, 1000000),
	STR(CK_DISPOSABLE_DOMAINS_FILE, disposable_domains_file),
	STR(CK_REWARD_URL_CREDIT, reward_url_credit),
	STR(CK_REWARD_URL_COUPON, reward_url_coupon),
	STR(CK_REWARD_URL_POINTS, reward_url_points),
	NUM(CK_DISPATCH_CONCURRENCY, dispatch_concurrency, 1, 1024),
	NUM(CK_DISPATCH_MAX_ATTEMPTS, dispatch_max_attempts, 1, 1000),
	NUM(CK_DISPATCH_CONNECT_TIMEOUT_MS, dispatch_connect_timeout_ms,
	    1, 600000),
	NUM(CK_DISPATCH_TIMEOUT_MS, dispatch_timeout_ms, 1, 3600000),
	NUM(CK_DISPATCH_LEASE_SECONDS, dispatch_lease_seconds, 1, 86400),
	NUM(CK_DISPATCH_BATCH, dispatch_batch, 1, 10000),
	NUM(CK_DISPATCH_POLL_MS, dispatch_poll_ms, 1, 3600000),
	NUM(CK_DISPATCH_BACKOFF_MS, dispatch_backoff_ms, 1, DISPATCH_BACKOFF_MAX_MS),
	NUM(CK_DISPATCH_BACKOFF_MAX_MS, dispatch_backoff_max_ms, 1,
	    DISPATCH_BACKOFF_MAX_MS),
	STR(CK_DISPATCH_LOG_FILE, dispatch_log_file),
	STR(CK_DISPATCH_PID_FILE, dispatch_pid_file),
	NUM(CK_OUTBOX_RETENTION_DAYS, outbox_retention_days, 1, 36500),
	NUM(CK_CONSOLE_REFRESH_MS, console_refresh_ms, 100, 3600000),
	SECRET(CK_AMQP_URL, amqp_url, 0),	/* holds the broker password */
	STR(CK_AMQP_QUEUE, amqp_queue),
	NUM(CK_AMQP_PREFETCH, amqp_prefetch, 1, 65535),
	STR(CK_AMQP_DEAD_LETTER, amqp_dead_letter),
};
_Static_assert(sizeof(conf_keys) / sizeof(conf_keys[0]) == CK__MAX,
    "config keys");
_Static_assert(CK__MAX <= CONF_KEYS, "struct conf's src[] has room");

#undef F
#undef STR
#undef NUM
#undef SECRET
#undef ROTATED
#undef SSLMODE

static const char *const ssl_modes[DB_SSL__MAX] = {
	[DB_SSL_UNSET] = "",
	[DB_SSL_DISABLED] = "disabled",
	[DB_SSL_PREFERRED] = "preferred",
	[DB_SSL_REQUIRED] = "required",
	[DB_SSL_VERIFY_CA] = "verify_ca",
	[DB_SSL_VERIFY_IDENTITY] = "verify_identity",
};
_Static_assert(sizeof(ssl_modes) / sizeof(ssl_modes[0]) == DB_SSL__MAX,
    "ssl modes");

/* Writes a message into "err" if the caller gave room for one. */
void
conf_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

static void
copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t	 len = strlen(src);

	if (len >= dstsz)
		len = dstsz - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Fills "c" with the defaults: the values every key has when the file
 * does not set it.
 */
void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	copy_str(c->db_name, sizeof(c->db_name), "referd");
	copy_str(c->db_user, sizeof(c->db_user), "referd");
	c->db_port = 3306;
	c->workers = 4;
	c->socket_mode = 0660;
	copy_str(c->cookie_name, sizeof(c->cookie_name), "ref");
	c->attribution_window_days = 30;
	c->code_cache_seconds = 5;
	c->click_flush_ms = 1000;
	copy_str(c->qualifying_events[0], sizeof(c->qualifying_events[0]),
	    "order.completed");
	c->qualifying_eventsz = 1;
	c->min_order_amount = 0;
	c->hold_days = 0;
	copy_str(c->reward_referrer.type, sizeof(c->reward_referrer.type),
	    "credit");
	c->reward_referrer.amount = 1000;
	copy_str(c->reward_referrer.currency,
	    sizeof(c->reward_referrer.currency), "USD");
	copy_str(c->reward_referee.type, sizeof(c->reward_referee.type),
	    "credit");
	c->reward_referee.amount = 500;
	copy_str(c->reward_referee.currency,
	    sizeof(c->reward_referee.currency), "USD");
	c->max_signups_per_referrer_per_hour = 10;
	c->max_signups_per_ip_per_hour = 5;
	c->dispatch_concurrency = 32;
	c->dispatch_max_attempts = 12;
	c->dispatch_connect_timeout_ms = 2000;
	c->dispatch_timeout_ms = 10000;
	c->dispatch_lease_seconds = 60;
	c->dispatch_batch = 200;
	c->dispatch_poll_ms = 200;
	c->dispatch_backoff_ms = 1000;
	c->dispatch_backoff_max_ms = DISPATCH_BACKOFF_MAX_MS;
	c->outbox_retention_days = 30;
	c->console_refresh_ms = 2000;
	copy_str(c->amqp_queue, sizeof(c->amqp_queue), "referd.events");
	c->amqp_prefetch = 64;
	copy_str(c->amqp_dead_letter, sizeof(c->amqp_dead_letter),
	    "referd.events.dead");
	copy_str(c->landing_url, sizeof(c->landing_url),
	    "http://127.0.0.1:8080/");
	copy_str(c->base_url, sizeof(c->base_url), "http://127.0.0.1:8080");
}

/* Parses digits in "base" (8 or 10) into *out; returns 0 or -1. */
static int
conf_number(const char *s, int base, long *out)
{
	long	 v = 0;
	int	 d;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s >= '0' + base)
			return -1;
		d = *s - '0';
		if (v > (LONG_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}


/*
 * Sets one key from one line.  Returns 0, or -1 with a message (without
 * the "FILE:LINE: " prefix) in "msg".  "nth" is how many times the key
 * was set before (CT_ROTATED).
 */
static int
conf_set(struct conf *c, const struct conf_key *k, const char *val,
    int *listseen, size_t nth, char *msg, size_t msgsz)
{
	char		*dst = (char *)c + k->off;
	size_t		*moresz;
	long		 l;
	int64_t		 m;
	enum money_rc	 mrc;
	int		 rc = -1, i;

	if ((k->flags & KF_SECRET) && conf_secret_ok(k, val, msg, msgsz) == -1)
		goto out;
	switch (k->type) {
	case CT_ROTATED:
		if (nth > 0) {
			moresz = (size_t *)((char *)c + k->moresz);
			if (nth >= MAX_SECRETS) {
				conf_err(msg, msgsz, "too many '%s' values "
				    "(at most %d, for rotation)", k->name,
				    MAX_SECRETS);
				goto out;
			}
			dst = (char *)c + k->more + (nth - 1) * CONF_STR;
			*moresz = nth;
		}
		/* FALLTHROUGH */
	case CT_STR:
		if (strlen(val) >= k->size) {
			conf_err(msg, msgsz, "value of '%s' too long "
			    "(at most %zu bytes)", k->name, k->size - 1);
			goto out;
		}
		memcpy(dst, val, strlen(val) + 1);
		break;
	case CT_SSL_MODE:
		for (i = 1; i < DB_SSL__MAX; i++)
			if (strcmp(val, ssl_modes[i]) == 0)
				break;
		if (i == DB_SSL__MAX) {
			conf_err(msg, msgsz, "'%s': want disabled, preferred, "
			    "required, verify_ca or verify_identity, not "
			    "'%s'", k->name, val);
			goto out;
		}
		l = i;
		memcpy(dst, &l, sizeof(l));
		break;
	case CT_LONG:
	case CT_OCTAL:
		if (conf_number(val, k->type == CT_OCTAL ? 8 : 10, &l) == -1) {
			conf_err(msg, msgsz, "'%s' is not a%s number: '%s'",
			    k->name, k->type == CT_OCTAL ? "n octal" : "",
			    val);
			goto out;
		}
		if (l < k->min || l > k->max) {
			conf_err(msg, msgsz, k->type == CT_OCTAL ?
			    "'%s' out of range (%lo to %lo)" :
			    "'%s' out of range (%ld to %ld)",
			    k->name, k->min, k->max);
			goto out;
		}
		memcpy(dst, &l, sizeof(l));
		break;
	case CT_MONEY:
		if ((mrc = money_parse(val, &m)) != MONEY_OK) {
			conf_err(msg, msgsz, "bad money amount for '%s': "
			    "'%s' (want e.g. 10.00)", k->name, val);
			goto out;
		}
		memcpy(dst, &m, sizeof(m));
		break;
	case CT_LIST:
		if (!*listseen) {
			c->qualifying_eventsz = 0;
			*listseen = 1;
		}
		if (*val == '\0') {
			conf_err(msg, msgsz, "empty entry for '%s'", k->name);
			goto out;
		}
		if (c->qualifying_eventsz == MAX_LIST) {
			conf_err(msg, msgsz, "too many '%s' entries "
			    "(at most %d)", k->name, MAX_LIST);
			goto out;
		}
		if (strlen(val) >= sizeof(c->qualifying_events[0])) {
			conf_err(msg, msgsz, "value of '%s' too long "
			    "(at most %zu bytes)", k->name,
			    sizeof(c->qualifying_events[0]) - 1);
			goto out;
		}
		copy_str(c->qualifying_events[c->qualifying_eventsz++],
		    sizeof(c->qualifying_events[0]), val);
		break;
	}
	rc = 0;
out:
	return rc;
}

/*
 * Parses "buf" as file number "fileno" (0: the file, 1: its
 * secrets_file, where only secret keys may be).  Records where each key
 * was set in c->src, which also finds a key set in both files.
 */
static int
parse_file(struct conf *c, const char *buf, size_t len, const char *fname,
    unsigned char fileno, char *err, size_t errsz)
{
	char		 line[MAX_CONF_LINE + 1], msg[768];
	size_t		 nset[CK__MAX];
	const char	*p, *nl;
	char		*key, *val, *eq, *e;
	size_t		 ln = 0, n, off, next;
	int		 listseen = 0, i, rc = -1;

	if (fname == NULL)
		fname = "-";
	memset(nset, 0, sizeof(nset));
	copy_str(c->src_file[fileno], sizeof(c->src_file[0]), fname);
	if (len > MAX_CONF_FILE) {
		conf_err(err, errsz, "%s: file too large (over %d bytes)",
		    fname, MAX_CONF_FILE);
		goto out;
	}
	for (off = 0; off < len; off = next) {
		ln++;
		p = buf + off;
		if ((nl = memchr(p, '\n', len - off)) == NULL)
			nl = buf + len;
		n = (size_t)(nl - p);
		next = off + n + 1;
		if (memchr(p, '\0', n) != NULL) {
			conf_err(err, errsz, "%s:%zu: NUL byte in line",
			    fname, ln);
			goto out;
		}
		if (n > MAX_CONF_LINE) {
			conf_err(err, errsz, "%s:%zu: line too long "
			    "(over %d bytes)", fname, ln, MAX_CONF_LINE);
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';

		for (key = line; is_space(*key); key++)
			continue;
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			conf_err(err, errsz, "%s:%zu: missing '=' "
			    "(want key = value)", fname, ln);
			goto out;
		}
		for (e = eq; e > key && is_space(e[-1]); e--)
			continue;
		*e = '\0';
		for (val = eq + 1; is_space(*val); val++)
			continue;
		for (e = val + strlen(val); e > val && is_space(e[-1]); e--)
			continue;
		*e = '\0';

		for (i = 0; i < CK__MAX; i++)
			if (strcmp(key, conf_keys[i].name) == 0)
				break;
		if (i == CK__MAX) {
			conf_err(err, errsz, "%s:%zu: unknown key '%s'",
			    fname, ln, key);
			goto out;
		}
		if (fileno == 1 && !(conf_keys[i].flags & KF_SECRET)) {
			conf_err(err, errsz, "%s:%zu: '%s' is not a secret; "
			    "a secrets_file holds only passwords, keys and "
			    "secrets", fname, ln, key);
			goto out;
		}
		if (c->src[i].line != 0 && c->src[i].file != fileno) {
			conf_err(err, errsz, "%s:%zu: '%s' is also set in "
			    "%s on line %u", fname, ln, key,
			    c->src_file[c->src[i].file], c->src[i].line);
			goto out;
		}
		if (conf_keys[i].type != CT_LIST && conf_keys[i].type != CT_ROTATED &&
		    nset[i] != 0) {
			conf_err(err, errsz, "%s:%zu: duplicate key '%s' "
			    "(first on line %u)", fname, ln, key,
			    c->src[i].line);
			goto out;
		}
		if (nset[i] == 0) {
			c->src[i].file = fileno;
			c->src[i].line = (unsigned int)ln;
		}
		if (conf_set(c, &conf_keys[i], val, &listseen, nset[i], msg,
		    sizeof(msg)) == -1) {
			conf_err(err, errsz, "%s:%zu: %s", fname, ln, msg);
			goto out;
		}
		nset[i]++;
	}
	rc = 0;
out:
	return rc;
}

/*
 * Parses a configuration file already read into "buf" (len bytes) over
 * "c", which the caller has filled with conf_defaults().  "fname" only
 * names the file in messages.  On error "c" may be partly updated.
 * Returns 0, or -1 with "FILE:LINE: message" in "err".
 */
int
conf_parse(struct conf *c, const char *buf, size_t len, const char *fname,
    char *err, size_t errsz)
{
	return parse_file(c, buf, len, fname, 0, err, errsz);
}

/*
 * The same for the file named by secrets_file, after conf_parse(): only
 * secret keys, and none already set by the file.
 */
int
conf_parse_secrets(struct conf *c, const char *buf, size_t len,
    const char *fname, char *err, size_t errsz)
{
	return parse_file(c, buf, len, fname, 1, err, errsz);
}


/*
 * The TLS mode of the database connection (stats: the stats_db_ one): as
 * set, or unset: disabled on a unix socket (or localhost without a
 * host), preferred to a TCP host.
 */
enum db_ssl_mode
conf_db_ssl_mode(const struct conf *c, int stats)
{
	long		 m = stats ? c->stats_db_ssl_mode : c->db_ssl_mode;
	const char	*host = stats ? c->stats_db_host : c->db_host;
	const char	*sock = stats ? c->stats_db_socket : c->db_socket;

	if (m > DB_SSL_UNSET && m < DB_SSL__MAX)
		return (enum db_ssl_mode)m;
	if (sock[0] != '\0' || host[0] == '\0' ||
	    strcmp(host, "localhost") == 0)
		return DB_SSL_DISABLED;
	return DB_SSL_PREFERRED;
}

const char *
conf_db_ssl_mode_name(enum db_ssl_mode m)
{
	return (unsigned int)m < DB_SSL__MAX && m != DB_SSL_UNSET ?
	    ssl_modes[m] : "unset";
}

/*
 * Returns 1 if the event type "type" is one of qualifying_events,
 * else 0.
 */
int
conf_is_qualifying(const struct conf *c, const char *type)
{
	size_t	 i;

	if (type == NULL)
		return 0;
	for (i = 0; i < c->qualifying_eventsz && i < MAX_LIST; i++)
		if (strcmp(c->qualifying_events[i], type) == 0)
			return 1;
	return 0;
}
