/*
 * The configuration file: "key = value" lines, parsed by one table.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

enum conf_type {
	CT_STR,			/* char[size], value may be empty */
	CT_LONG,		/* decimal, min..max */
	CT_OCTAL,		/* octal digits, min..max */
	CT_MONEY,		/* money_parse() into int64_t */
	CT_LIST,		/* qualifying_events: repeat the key to add */
};

enum conf_keyid {
	K_DB_SOCKET,
	K_DB_HOST,
	K_DB_PORT,
	K_DB_USER,
	K_DB_PASSWORD,
	K_DB_NAME,
	K_STATS_DB_SOCKET,
	K_STATS_DB_HOST,
	K_STATS_DB_PORT,
	K_STATS_DB_USER,
	K_STATS_DB_PASSWORD,
	K_STATS_DB_NAME,
	K_LISTEN,
	K_SOCKET_OWNER,
	K_SOCKET_GROUP,
	K_SOCKET_MODE,
	K_WORKERS,
	K_LOG_FILE,
	K_PID_FILE,
	K_METRICS_DIR,
	K_API_KEY,
	K_ADMIN_API_KEY,
	K_WEBHOOK_SECRET,
	K_OUTBOUND_SECRET,
	K_BASE_URL,
	K_LANDING_URL,
	K_COOKIE_NAME,
	K_ATTRIBUTION_WINDOW_DAYS,
	K_CODE_CACHE_SECONDS,
	K_CLICK_FLUSH_MS,
	K_QUALIFYING_EVENTS,
	K_MIN_ORDER_AMOUNT,
	K_HOLD_DAYS,
	K_REWARD_REFERRER_TYPE,
	K_REWARD_REFERRER_AMOUNT,
	K_REWARD_REFERRER_CURRENCY,
	K_REWARD_REFEREE_TYPE,
	K_REWARD_REFEREE_AMOUNT,
	K_REWARD_REFEREE_CURRENCY,
	K_MAX_SIGNUPS_PER_REFERRER_PER_HOUR,
	K_MAX_SIGNUPS_PER_IP_PER_HOUR,
	K_DISPOSABLE_DOMAINS_FILE,
	K_REWARD_URL_CREDIT,
	K_REWARD_URL_COUPON,
	K_REWARD_URL_POINTS,
	K_DISPATCH_CONCURRENCY,
	K_DISPATCH_MAX_ATTEMPTS,
	K_DISPATCH_CONNECT_TIMEOUT_MS,
	K_DISPATCH_TIMEOUT_MS,
	K_DISPATCH_LEASE_SECONDS,
	K_DISPATCH_BATCH,
	K_DISPATCH_POLL_MS,
	K_DISPATCH_BACKOFF_MS,
	K_DISPATCH_BACKOFF_MAX_MS,
	K_DISPATCH_LOG_FILE,
	K_DISPATCH_PID_FILE,
	K_CONSOLE_REFRESH_MS,
	K__MAX
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;		/* offsetof(struct conf, field) */
	size_t		 size;		/* sizeof the field */
	long		 min;		/* CT_LONG, CT_OCTAL */
	long		 max;
};

#define F(f)		offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
#define STR(k, f)	[k] = { #f, CT_STR, F(f), 0, 0 }
#define NUM(k, f, lo, hi) [k] = { #f, CT_LONG, F(f), (lo), (hi) }

static const struct conf_key keys[K__MAX] = {
	STR(K_DB_SOCKET, db_socket),
	STR(K_DB_HOST, db_host),
	NUM(K_DB_PORT, db_port, 0, 65535),
	STR(K_DB_USER, db_user),
	STR(K_DB_PASSWORD, db_password),
	STR(K_DB_NAME, db_name),
	STR(K_STATS_DB_SOCKET, stats_db_socket),
	STR(K_STATS_DB_HOST, stats_db_host),
	NUM(K_STATS_DB_PORT, stats_db_port, 0, 65535),
	STR(K_STATS_DB_USER, stats_db_user),
	STR(K_STATS_DB_PASSWORD, stats_db_password),
	STR(K_STATS_DB_NAME, stats_db_name),
	STR(K_LISTEN, listen),
	STR(K_SOCKET_OWNER, socket_owner),
	STR(K_SOCKET_GROUP, socket_group),
	[K_SOCKET_MODE] = { "socket_mode", CT_OCTAL, F(socket_mode),
	    0, 0777 },
	NUM(K_WORKERS, workers, 1, 256),
	STR(K_LOG_FILE, log_file),
	STR(K_PID_FILE, pid_file),
	STR(K_METRICS_DIR, metrics_dir),
	STR(K_API_KEY, api_key),
	STR(K_ADMIN_API_KEY, admin_api_key),
	STR(K_WEBHOOK_SECRET, webhook_secret),
	STR(K_OUTBOUND_SECRET, outbound_secret),
	STR(K_BASE_URL, base_url),
	STR(K_LANDING_URL, landing_url),
	STR(K_COOKIE_NAME, cookie_name),
	NUM(K_ATTRIBUTION_WINDOW_DAYS, attribution_window_days, 1, 3650),
	NUM(K_CODE_CACHE_SECONDS, code_cache_seconds, 0, 86400),
	NUM(K_CLICK_FLUSH_MS, click_flush_ms, 0, 3600000),
	[K_QUALIFYING_EVENTS] = { "qualifying_events", CT_LIST,
	    F(qualifying_events), 0, 0 },
	[K_MIN_ORDER_AMOUNT] = { "min_order_amount", CT_MONEY,
	    F(min_order_amount), 0, 0 },
	NUM(K_HOLD_DAYS, hold_days, 0, 3650),
	[K_REWARD_REFERRER_TYPE] = { "reward_referrer_type", CT_STR,
	    F(reward_referrer.type), 0, 0 },
	[K_REWARD_REFERRER_AMOUNT] = { "reward_referrer_amount", CT_MONEY,
	    F(reward_referrer.amount), 0, 0 },
	[K_REWARD_REFERRER_CURRENCY] = { "reward_referrer_currency", CT_STR,
	    F(reward_referrer.currency), 0, 0 },
	[K_REWARD_REFEREE_TYPE] = { "reward_referee_type", CT_STR,
	    F(reward_referee.type), 0, 0 },
	[K_REWARD_REFEREE_AMOUNT] = { "reward_referee_amount", CT_MONEY,
	    F(reward_referee.amount), 0, 0 },
	[K_REWARD_REFEREE_CURRENCY] = { "reward_referee_currency", CT_STR,
	    F(reward_referee.currency), 0, 0 },
	NUM(K_MAX_SIGNUPS_PER_REFERRER_PER_HOUR,
	    max_signups_per_referrer_per_hour, 0, 1000000),
	NUM(K_MAX_SIGNUPS_PER_IP_PER_HOUR,
	    max_signups_per_ip_per_hour, 0, 1000000),
	STR(K_DISPOSABLE_DOMAINS_FILE, disposable_domains_file),
	STR(K_REWARD_URL_CREDIT, reward_url_credit),
	STR(K_REWARD_URL_COUPON, reward_url_coupon),
	STR(K_REWARD_URL_POINTS, reward_url_points),
	NUM(K_DISPATCH_CONCURRENCY, dispatch_concurrency, 1, 1024),
	NUM(K_DISPATCH_MAX_ATTEMPTS, dispatch_max_attempts, 1, 1000),
	NUM(K_DISPATCH_CONNECT_TIMEOUT_MS, dispatch_connect_timeout_ms,
	    1, 600000),
	NUM(K_DISPATCH_TIMEOUT_MS, dispatch_timeout_ms, 1, 3600000),
	NUM(K_DISPATCH_LEASE_SECONDS, dispatch_lease_seconds, 1, 86400),
	NUM(K_DISPATCH_BATCH, dispatch_batch, 1, 10000),
	NUM(K_DISPATCH_POLL_MS, dispatch_poll_ms, 1, 3600000),
	NUM(K_DISPATCH_BACKOFF_MS, dispatch_backoff_ms, 1, DISPATCH_BACKOFF_MAX_MS),
	NUM(K_DISPATCH_BACKOFF_MAX_MS, dispatch_backoff_max_ms, 1,
	    DISPATCH_BACKOFF_MAX_MS),
	STR(K_DISPATCH_LOG_FILE, dispatch_log_file),
	STR(K_DISPATCH_PID_FILE, dispatch_pid_file),
	NUM(K_CONSOLE_REFRESH_MS, console_refresh_ms, 100, 3600000),
};
_Static_assert(sizeof(keys) / sizeof(keys[0]) == K__MAX, "config keys");

#undef F
#undef STR
#undef NUM

/* Writes a message into "err" if the caller gave room for one. */
static void
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
	c->console_refresh_ms = 2000;
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
 * the "FILE:LINE: " prefix) in "msg".
 */
static int
conf_set(struct conf *c, const struct conf_key *k, const char *val,
    int *listseen, char *msg, size_t msgsz)
{
	char		*dst = (char *)c + k->off;
	long		 l;
	int64_t		 m;
	enum money_rc	 mrc;
	int		 rc = -1;

	switch (k->type) {
	case CT_STR:
		if (strlen(val) >= k->size) {
			conf_err(msg, msgsz, "value of '%s' too long "
			    "(at most %zu bytes)", k->name, k->size - 1);
			goto out;
		}
		memcpy(dst, val, strlen(val) + 1);
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
 * Parses a configuration file already read into "buf" (len bytes) over
 * "c", which the caller has filled with conf_defaults().  "fname" only
 * names the file in messages.  On error "c" may be partly updated.
 * Returns 0, or -1 with "FILE:LINE: message" in "err".
 */
int
conf_parse(struct conf *c, const char *buf, size_t len, const char *fname,
    char *err, size_t errsz)
{
	char		 line[MAX_CONF_LINE + 1], msg[512];
	size_t		 first[K__MAX];
	const char	*p, *nl;
	char		*key, *val, *eq, *e;
	size_t		 ln = 0, n, off, next;
	int		 listseen = 0, i, rc = -1;

	if (fname == NULL)
		fname = "-";
	memset(first, 0, sizeof(first));
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

		for (i = 0; i < K__MAX; i++)
			if (strcmp(key, keys[i].name) == 0)
				break;
		if (i == K__MAX) {
			conf_err(err, errsz, "%s:%zu: unknown key '%s'",
			    fname, ln, key);
			goto out;
		}
		if (keys[i].type != CT_LIST && first[i] != 0) {
			conf_err(err, errsz, "%s:%zu: duplicate key '%s' "
			    "(first on line %zu)", fname, ln, key, first[i]);
			goto out;
		}
		first[i] = ln;
		if (conf_set(c, &keys[i], val, &listseen, msg,
		    sizeof(msg)) == -1) {
			conf_err(err, errsz, "%s:%zu: %s", fname, ln, msg);
			goto out;
		}
	}
	rc = 0;
out:
	return rc;
}

/* Whether "s" is an absolute http or https URL. */
static int
url_ok(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 && s[7] != '\0') ||
	    (strncmp(s, "https://", 8) == 0 && s[8] != '\0');
}

static int
reward_type_ok(const char *s)
{
	return strcmp(s, "credit") == 0 || strcmp(s, "coupon") == 0 ||
	    strcmp(s, "points") == 0;
}

/*
 * Checks what a parsed configuration means: keys present, long and
 * distinct, secrets that parse, URLs, reward types and currencies, and
 * process counts.
 * Returns 0, or -1 with a message naming the key in "err".
 */
int
conf_check(const struct conf *c, char *err, size_t errsz)
{
	struct sig_key	 k;
	int		 rc = -1;

	if (strlen(c->api_key) < 16) {
		conf_err(err, errsz, "api_key: missing or shorter than "
		    "16 characters");
		goto out;
	}
	if (strlen(c->admin_api_key) < 16) {
		conf_err(err, errsz, "admin_api_key: missing or shorter "
		    "than 16 characters");
		goto out;
	}
	if (strcmp(c->api_key, c->admin_api_key) == 0) {
		conf_err(err, errsz, "admin_api_key: must differ from "
		    "api_key");
		goto out;
	}
	if (sig_key_parse(c->webhook_secret, &k) == -1) {
		conf_err(err, errsz, "webhook_secret: want whsec_<base64>");
		goto out;
	}
	if (sig_key_parse(c->outbound_secret, &k) == -1) {
		conf_err(err, errsz, "outbound_secret: want whsec_<base64>");
		goto out;
	}
	if (!url_ok(c->landing_url)) {
		conf_err(err, errsz, "landing_url: want an http:// or "
		    "https:// URL");
		goto out;
	}
	if (!url_ok(c->base_url)) {
		conf_err(err, errsz, "base_url: want an http:// or "
		    "https:// URL");
		goto out;
	}
	if (!reward_type_ok(c->reward_referrer.type)) {
		conf_err(err, errsz, "reward_referrer_type: want credit, "
		    "coupon or points");
		goto out;
	}
	if (!reward_type_ok(c->reward_referee.type)) {
		conf_err(err, errsz, "reward_referee_type: want credit, "
		    "coupon or points");
		goto out;
	}
	if (!currency_valid(c->reward_referrer.currency)) {
		conf_err(err, errsz, "reward_referrer_currency: want three "
		    "upper-case letters");
		goto out;
	}
	if (!currency_valid(c->reward_referee.currency)) {
		conf_err(err, errsz, "reward_referee_currency: want three "
		    "upper-case letters");
		goto out;
	}
	if (c->workers < 1 || c->workers > 256) {
		conf_err(err, errsz, "workers: want 1 to 256");
		goto out;
	}
	if (c->dispatch_concurrency < 1 || c->dispatch_concurrency > 1024) {
		conf_err(err, errsz, "dispatch_concurrency: want 1 to 1024");
		goto out;
	}
	rc = 0;
out:
	return rc;
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
