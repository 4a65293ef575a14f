/*
 * The configuration file: "key = value" lines, parsed by one table, and
 * what each binary requires of it (its role) and refuses in it (published
 * test secrets, placeholders, one secret both ways, files others read).
 */
#include "config.h"

#include <ctype.h>
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
	CT_ROTATED,		/* a secret that may repeat (rotation) */
	CT_SSL_MODE,		/* a name of ssl_modes[] into long */
};

/* Flags of a key. */
#define KF_SECRET	0x01	/* a secret: checked for placeholders and
				   test vectors; may be in secrets_file */
#define KF_WHSEC	0x02	/* a Standard Webhooks whsec_ secret */
#define KF_APIKEY	0x04	/* a bearer key */

enum conf_keyid {
	K_DB_SOCKET,
	K_DB_HOST,
	K_DB_PORT,
	K_DB_USER,
	K_DB_PASSWORD,
	K_DB_NAME,
	K_DB_SSL_CA,
	K_DB_SSL_MODE,
	K_STATS_DB_SOCKET,
	K_STATS_DB_HOST,
	K_STATS_DB_PORT,
	K_STATS_DB_USER,
	K_STATS_DB_PASSWORD,
	K_STATS_DB_NAME,
	K_STATS_DB_SSL_CA,
	K_STATS_DB_SSL_MODE,
	K_USER,
	K_SECRETS_FILE,
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
	unsigned int	 flags;		/* KF_* */
	size_t		 more;		/* CT_ROTATED: offsetof the others */
	size_t		 moresz;	/* ... and of their count */
};

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

static const struct conf_key keys[K__MAX] = {
	STR(K_DB_SOCKET, db_socket),
	STR(K_DB_HOST, db_host),
	NUM(K_DB_PORT, db_port, 0, 65535),
	STR(K_DB_USER, db_user),
	SECRET(K_DB_PASSWORD, db_password, 0),
	STR(K_DB_NAME, db_name),
	STR(K_DB_SSL_CA, db_ssl_ca),
	SSLMODE(K_DB_SSL_MODE, db_ssl_mode),
	STR(K_STATS_DB_SOCKET, stats_db_socket),
	STR(K_STATS_DB_HOST, stats_db_host),
	NUM(K_STATS_DB_PORT, stats_db_port, 0, 65535),
	STR(K_STATS_DB_USER, stats_db_user),
	SECRET(K_STATS_DB_PASSWORD, stats_db_password, 0),
	STR(K_STATS_DB_NAME, stats_db_name),
	STR(K_STATS_DB_SSL_CA, stats_db_ssl_ca),
	SSLMODE(K_STATS_DB_SSL_MODE, stats_db_ssl_mode),
	STR(K_USER, user),
	STR(K_SECRETS_FILE, secrets_file),
	STR(K_LISTEN, listen),
	STR(K_SOCKET_OWNER, socket_owner),
	STR(K_SOCKET_GROUP, socket_group),
	[K_SOCKET_MODE] = { "socket_mode", CT_OCTAL, F(socket_mode),
	    0, 0777, 0, 0, 0 },
	NUM(K_WORKERS, workers, 1, 256),
	STR(K_LOG_FILE, log_file),
	STR(K_PID_FILE, pid_file),
	STR(K_METRICS_DIR, metrics_dir),
	SECRET(K_API_KEY, api_key, KF_APIKEY),
	SECRET(K_ADMIN_API_KEY, admin_api_key, KF_APIKEY),
	ROTATED(K_WEBHOOK_SECRET, webhook_secret),
	ROTATED(K_OUTBOUND_SECRET, outbound_secret),
	STR(K_BASE_URL, base_url),
	STR(K_LANDING_URL, landing_url),
	STR(K_COOKIE_NAME, cookie_name),
	NUM(K_ATTRIBUTION_WINDOW_DAYS, attribution_window_days, 1, 3650),
	NUM(K_CODE_CACHE_SECONDS, code_cache_seconds, 0, 86400),
	NUM(K_CLICK_FLUSH_MS, click_flush_ms, 0, 3600000),
	[K_QUALIFYING_EVENTS] = { "qualifying_events", CT_LIST,
	    F(qualifying_events), 0, 0, 0, 0, 0 },
	[K_MIN_ORDER_AMOUNT] = { "min_order_amount", CT_MONEY,
	    F(min_order_amount), 0, 0, 0, 0, 0 },
	NUM(K_HOLD_DAYS, hold_days, 0, 3650),
	[K_REWARD_REFERRER_TYPE] = { "reward_referrer_type", CT_STR,
	    F(reward_referrer.type), 0, 0, 0, 0, 0 },
	[K_REWARD_REFERRER_AMOUNT] = { "reward_referrer_amount", CT_MONEY,
	    F(reward_referrer.amount), 0, 0, 0, 0, 0 },
	[K_REWARD_REFERRER_CURRENCY] = { "reward_referrer_currency", CT_STR,
	    F(reward_referrer.currency), 0, 0, 0, 0, 0 },
	[K_REWARD_REFEREE_TYPE] = { "reward_referee_type", CT_STR,
	    F(reward_referee.type), 0, 0, 0, 0, 0 },
	[K_REWARD_REFEREE_AMOUNT] = { "reward_referee_amount", CT_MONEY,
	    F(reward_referee.amount), 0, 0, 0, 0, 0 },
	[K_REWARD_REFEREE_CURRENCY] = { "reward_referee_currency", CT_STR,
	    F(reward_referee.currency), 0, 0, 0, 0, 0 },
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
_Static_assert(K__MAX <= CONF_KEYS, "struct conf's src[] has room");

#undef F
#undef STR
#undef NUM
#undef SECRET
#undef ROTATED
#undef SSLMODE

/* The commands that make a key, named in the message that refuses one. */
#define MAKE_WHSEC	"printf 'whsec_%s\\n' \"$(head -c 24 /dev/urandom | " \
			"base64)\""
#define MAKE_APIKEY	"printf 'rk_%s\\n' \"$(head -c 16 /dev/urandom | " \
			"od -An -tx1 | tr -d ' \\n')\""

/* The Standard Webhooks test vector secret (SPEC section 5). */
#define TEST_VECTOR	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define PLACEHOLDER	"CHANGE-ME"

/*
 * What each binary requires: these keys set and valid.  Every binary
 * refuses an unsafe value of any key, required or not.
 */
#define ROLE_REQ_MAX	4

struct role_def {
	const char	*name;
	enum conf_keyid	 req[ROLE_REQ_MAX];
	size_t		 nreq;
	int		 reward_urls;	/* the reward types' reward_url_* */
};

static const struct role_def roles[CONF_ROLE__MAX] = {
	[CONF_ROLE_ALL] = { "every binary", { K_API_KEY, K_ADMIN_API_KEY,
	    K_WEBHOOK_SECRET, K_OUTBOUND_SECRET }, 4, 0 },
	[CONF_ROLE_FCGI] = { "referd-fcgi", { K_API_KEY, K_ADMIN_API_KEY,
	    K_WEBHOOK_SECRET }, 3, 0 },
	[CONF_ROLE_DISPATCH] = { "referd-dispatch", { K_OUTBOUND_SECRET },
	    1, 1 },
	[CONF_ROLE_CONSOLE] = { "referd-console", { 0 }, 0, 0 },
	[CONF_ROLE_MIGRATE] = { "referd-migrate", { 0 }, 0, 0 },
};
_Static_assert(sizeof(roles) / sizeof(roles[0]) == CONF_ROLE__MAX,
    "roles");

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
 * Judges the value of a secret or key: the published Standard Webhooks
 * test secret (with or without its whsec_ prefix) and a value starting
 * with CHANGE-ME (any case) are refused.  Returns CONF_SECRET_OK or why.
 */
enum conf_secret
conf_secret_check(const char *value)
{
	size_t	 i;

	if (value == NULL)
		return CONF_SECRET_OK;
	if (strcmp(value, TEST_VECTOR) == 0 ||
	    strcmp(value, TEST_VECTOR + 6) == 0)
		return CONF_SECRET_TEST_VECTOR;
	for (i = 0; PLACEHOLDER[i] != '\0'; i++)
		if (toupper((unsigned char)value[i]) != PLACEHOLDER[i])
			return CONF_SECRET_OK;
	return CONF_SECRET_PLACEHOLDER;
}

/* How to make a good value of key "k", for messages. */
static const char *
make_hint(const struct conf_key *k)
{
	if (k->flags & KF_WHSEC)
		return "make your own with: " MAKE_WHSEC;
	if (k->flags & KF_APIKEY)
		return "make your own with: " MAKE_APIKEY;
	return "set the database account's real password";
}

/*
 * Refuses an unsafe value of a secret key (conf_secret_check()).
 * Returns 0, or -1 with a message naming the key and the fix.
 */
static int
secret_ok(const struct conf_key *k, const char *val, char *msg, size_t msgsz)
{
	switch (conf_secret_check(val)) {
	case CONF_SECRET_TEST_VECTOR:
		conf_err(msg, msgsz, "%s: this is the published Standard "
		    "Webhooks test secret, which anyone can sign with; %s",
		    k->name, make_hint(k));
		return -1;
	case CONF_SECRET_PLACEHOLDER:
		conf_err(msg, msgsz, "%s: a placeholder (CHANGE-ME...), not "
		    "a secret; %s", k->name, make_hint(k));
		return -1;
	default:
		return 0;
	}
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

	if ((k->flags & KF_SECRET) && secret_ok(k, val, msg, msgsz) == -1)
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
	size_t		 nset[K__MAX];
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

		for (i = 0; i < K__MAX; i++)
			if (strcmp(key, keys[i].name) == 0)
				break;
		if (i == K__MAX) {
			conf_err(err, errsz, "%s:%zu: unknown key '%s'",
			    fname, ln, key);
			goto out;
		}
		if (fileno == 1 && !(keys[i].flags & KF_SECRET)) {
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
		if (keys[i].type != CT_LIST && keys[i].type != CT_ROTATED &&
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
		if (conf_set(c, &keys[i], val, &listseen, nset[i], msg,
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
 * Fills "out" with the values of webhook_secret (outbound 0) or
 * outbound_secret (1), first the first; returns how many (0 if unset).
 */
size_t
conf_secrets(const struct conf *c, int outbound, const char *out[MAX_SECRETS])
{
	const char	*first = outbound ? c->outbound_secret :
			    c->webhook_secret;
	size_t		 more = outbound ? c->outbound_secret_moresz :
			    c->webhook_secret_moresz, i, n = 0;

	if (first[0] == '\0')
		return 0;
	out[n++] = first;
	for (i = 0; i < more && i < MAX_SECRETS - 1; i++)
		out[n++] = outbound ? c->outbound_secret_more[i] :
		    c->webhook_secret_more[i];
	return n;
}

/*
 * Writes "err" as "FILE:LINE: key: message" when key "k" came from a
 * file, "FILE: key: message" when the file did not set it, and
 * "key: message" when there was no file (a struct filled by hand).
 */
static void
check_err(const struct conf *c, enum conf_keyid k, char *err, size_t errsz,
    const char *fmt, ...)
{
	char		 msg[768];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->src[k].line != 0)
		conf_err(err, errsz, "%s:%u: %s: %s",
		    c->src_file[c->src[k].file], c->src[k].line,
		    keys[k].name, msg);
	else if (c->src_file[0][0] != '\0')
		conf_err(err, errsz, "%s: %s: %s", c->src_file[0],
		    keys[k].name, msg);
	else
		conf_err(err, errsz, "%s: %s", keys[k].name, msg);
}

/*
 * The checks of every value, whichever binary reads it: secrets that are
 * no secrets (set by hand, conf_parse() refused them already), and one
 * secret used both ways.
 */
static int
check_unsafe(const struct conf *c, char *err, size_t errsz)
{
	const char	*in[MAX_SECRETS], *out[MAX_SECRETS], *v;
	size_t		 nin, nout, i, j;
	char		 msg[768];
	int		 k;

	for (k = 0; k < K__MAX; k++) {
		if (!(keys[k].flags & KF_SECRET))
			continue;
		if (keys[k].type == CT_ROTATED) {
			nin = conf_secrets(c, k == K_OUTBOUND_SECRET, in);
			for (i = 0; i < nin; i++)
				if (secret_ok(&keys[k], in[i], msg,
				    sizeof(msg)) == -1)
					goto bad;
			continue;
		}
		v = (const char *)c + keys[k].off;
		if (secret_ok(&keys[k], v, msg, sizeof(msg)) == -1)
			goto bad;
	}
	nin = conf_secrets(c, 0, in);
	nout = conf_secrets(c, 1, out);
	for (i = 0; i < nin; i++)
		for (j = 0; j < nout; j++)
			if (strcmp(in[i], out[j]) == 0) {
				check_err(c, K_OUTBOUND_SECRET, err, errsz,
				    "the same secret as webhook_secret: "
				    "whoever sends you events could sign "
				    "rewards as you; make another with: %s",
				    MAKE_WHSEC);
				return -1;
			}
	return 0;
bad:
	/* msg starts with the key's name already. */
	if (c->src[k].line != 0)
		conf_err(err, errsz, "%s:%u: %s", c->src_file[c->src[k].file],
		    c->src[k].line, msg);
	else if (c->src_file[0][0] != '\0')
		conf_err(err, errsz, "%s: %s", c->src_file[0], msg);
	else
		conf_err(err, errsz, "%s", msg);
	return -1;
}

/* Checks a key "role" requires: set, and well-formed. */
static int
check_required(const struct conf *c, enum conf_keyid k, char *err,
    size_t errsz)
{
	const char	*v[MAX_SECRETS], *s = (const char *)c + keys[k].off;
	struct sig_key	 key;
	size_t		 n, i;

	if (keys[k].flags & KF_APIKEY) {
		if (strlen(s) < 16) {
			check_err(c, k, err, errsz, "missing or shorter than "
			    "16 characters; make one with: %s", MAKE_APIKEY);
			return -1;
		}
		return 0;
	}
	if (keys[k].type == CT_ROTATED) {
		if ((n = conf_secrets(c, k == K_OUTBOUND_SECRET, v)) == 0) {
			check_err(c, k, err, errsz, "missing; make one "
			    "with: %s", MAKE_WHSEC);
			return -1;
		}
		for (i = 0; i < n; i++)
			if (sig_key_parse(v[i], &key) == -1) {
				check_err(c, k, err, errsz, "want whsec_"
				    "<base64>; make one with: %s",
				    MAKE_WHSEC);
				return -1;
			}
	}
	return 0;
}

/* The reward URL of a reward type: the key, or K__MAX if none. */
static enum conf_keyid
reward_url_key(const char *type)
{
	if (strcmp(type, "credit") == 0)
		return K_REWARD_URL_CREDIT;
	if (strcmp(type, "coupon") == 0)
		return K_REWARD_URL_COUPON;
	if (strcmp(type, "points") == 0)
		return K_REWARD_URL_POINTS;
	return K__MAX;
}

/* Checks a db_ssl_mode and its CA: verify_* needs a CA file. */
static int
check_ssl(const struct conf *c, enum conf_keyid mode, enum conf_keyid ca,
    char *err, size_t errsz)
{
	long		 m;
	const char	*file = (const char *)c + keys[ca].off;

	memcpy(&m, (const char *)c + keys[mode].off, sizeof(m));
	if ((m == DB_SSL_VERIFY_CA || m == DB_SSL_VERIFY_IDENTITY) &&
	    file[0] == '\0') {
		check_err(c, mode, err, errsz, "%s needs %s (the CA file "
		    "that signed the server's certificate)", ssl_modes[m],
		    keys[ca].name);
		return -1;
	}
	return 0;
}

/*
 * Checks what a parsed configuration means for the binary of "role":
 * the keys it requires set, and every key set well-formed (api keys 16+
 * characters and different, whsec_ secrets that parse, the dispatcher's
 * reward URLs);
 * for every role: no unsafe secret, no secret both ways, URLs, reward
 * types and currencies, TLS modes, and process counts.
 * Returns 0, or -1 with "[FILE[:LINE]: ]key: message" in "err".
 */
int
conf_check_role(const struct conf *c, enum conf_role role, char *err,
    size_t errsz)
{
	const struct role_def	*r;
	const char		*types[2], *url;
	enum conf_keyid		 uk;
	size_t			 i;
	int			 rc = -1, k;

	if ((unsigned int)role >= CONF_ROLE__MAX)
		role = CONF_ROLE_ALL;
	r = &roles[role];
	if (check_unsafe(c, err, errsz) == -1)
		goto out;
	for (i = 0; i < r->nreq; i++)
		if (check_required(c, r->req[i], err, errsz) == -1)
			goto out;
	/* A key the role does not need is still checked if it is set. */
	for (k = 0; k < K__MAX; k++)
		if ((keys[k].flags & (KF_WHSEC | KF_APIKEY)) &&
		    ((const char *)c + keys[k].off)[0] != '\0' &&
		    check_required(c, (enum conf_keyid)k, err, errsz) == -1)
			goto out;
	if (c->api_key[0] != '\0' &&
	    strcmp(c->api_key, c->admin_api_key) == 0) {
		check_err(c, K_ADMIN_API_KEY, err, errsz, "must differ from "
		    "api_key");
		goto out;
	}
	if (!url_ok(c->landing_url)) {
		check_err(c, K_LANDING_URL, err, errsz, "want an http:// or "
		    "https:// URL");
		goto out;
	}
	if (!url_ok(c->base_url)) {
		check_err(c, K_BASE_URL, err, errsz, "want an http:// or "
		    "https:// URL");
		goto out;
	}
	if (!reward_type_ok(c->reward_referrer.type)) {
		check_err(c, K_REWARD_REFERRER_TYPE, err, errsz, "want "
		    "credit, coupon or points");
		goto out;
	}
	if (!reward_type_ok(c->reward_referee.type)) {
		check_err(c, K_REWARD_REFEREE_TYPE, err, errsz, "want "
		    "credit, coupon or points");
		goto out;
	}
	if (!currency_valid(c->reward_referrer.currency)) {
		check_err(c, K_REWARD_REFERRER_CURRENCY, err, errsz, "want "
		    "three upper-case letters");
		goto out;
	}
	if (!currency_valid(c->reward_referee.currency)) {
		check_err(c, K_REWARD_REFEREE_CURRENCY, err, errsz, "want "
		    "three upper-case letters");
		goto out;
	}
	if (r->reward_urls) {
		types[0] = c->reward_referrer.type;
		types[1] = c->reward_referee.type;
		for (i = 0; i < 2; i++) {
			uk = reward_url_key(types[i]);
			url = (const char *)c + keys[uk].off;
			if (!url_ok(url)) {
				check_err(c, uk, err, errsz, "rewards of type "
				    "%s need an http:// or https:// URL here",
				    types[i]);
				goto out;
			}
		}
	}
	if (check_ssl(c, K_DB_SSL_MODE, K_DB_SSL_CA, err, errsz) == -1 ||
	    check_ssl(c, K_STATS_DB_SSL_MODE, K_STATS_DB_SSL_CA, err,
	    errsz) == -1)
		goto out;
	if (c->workers < 1 || c->workers > 256) {
		check_err(c, K_WORKERS, err, errsz, "want 1 to 256");
		goto out;
	}
	if (c->dispatch_concurrency < 1 || c->dispatch_concurrency > 1024) {
		check_err(c, K_DISPATCH_CONCURRENCY, err, errsz, "want 1 to "
		    "1024");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* conf_check_role() for every binary at once: all keys required. */
int
conf_check(const struct conf *c, char *err, size_t errsz)
{
	return conf_check_role(c, CONF_ROLE_ALL, err, errsz);
}

/* The binary a role is for, for messages. */
const char *
conf_role_name(enum conf_role role)
{
	return (unsigned int)role < CONF_ROLE__MAX ? roles[role].name :
	    "unknown";
}

/*
 * Judges the mode of a configuration file (st_mode): other users may
 * neither read nor write it (group read is fine: 0640 root:referd); a
 * secrets_file is its owner's alone (0600 or 0400).
 * Returns NULL if it is fine, or the problem and its fix.
 */
const char *
conf_mode_problem(unsigned int mode, int secrets_file)
{
	if (secrets_file && (mode & 077) != 0)
		return "group or other users may read or write it (a "
		    "secrets_file must be mode 0600 or 0400; chmod 600 it)";
	if ((mode & 007) != 0)
		return "other users may read or write it, and it holds "
		    "secrets (chmod o-rwx it: 0600, or 0640 with the "
		    "service's group)";
	return NULL;
}

/*
 * Decides what a process started with real uid "uid" does: root drops
 * to "user" if set, runs as root only if "dev_root" (a development
 * stack said so), and is refused otherwise.  Not root: runs as is.
 */
enum conf_priv
conf_priv_decide(long uid, const char *user, int dev_root)
{
	if (uid != 0)
		return CONF_PRIV_KEEP;
	if (user != NULL && user[0] != '\0')
		return CONF_PRIV_DROP;
	return dev_root ? CONF_PRIV_KEEP : CONF_PRIV_REFUSE;
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
