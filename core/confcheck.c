/*
 * The checks of a parsed configuration: what each binary requires of it
 * (its role) and refuses in it (published test secrets, placeholders, one
 * secret both ways, files others may read, running as root).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

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
	[CONF_ROLE_ALL] = { "every binary", { CK_API_KEY, CK_ADMIN_API_KEY,
	    CK_WEBHOOK_SECRET, CK_OUTBOUND_SECRET }, 4, 0 },
	[CONF_ROLE_FCGI] = { "referd-fcgi", { CK_API_KEY, CK_ADMIN_API_KEY,
	    CK_WEBHOOK_SECRET }, 3, 0 },
	[CONF_ROLE_DISPATCH] = { "referd-dispatch", { CK_OUTBOUND_SECRET },
	    1, 1 },
	[CONF_ROLE_CONSOLE] = { "referd-console", { 0 }, 0, 0 },
	[CONF_ROLE_MIGRATE] = { "referd-migrate", { 0 }, 0, 0 },
	[CONF_ROLE_CONSUME] = { "referd-consume", { CK_AMQP_URL }, 1, 0 },
};
_Static_assert(sizeof(roles) / sizeof(roles[0]) == CONF_ROLE__MAX,
    "roles");

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
int
conf_secret_ok(const struct conf_key *k, const char *val, char *msg,
    size_t msgsz)
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
		    conf_keys[k].name, msg);
	else if (c->src_file[0][0] != '\0')
		conf_err(err, errsz, "%s: %s: %s", c->src_file[0],
		    conf_keys[k].name, msg);
	else
		conf_err(err, errsz, "%s: %s", conf_keys[k].name, msg);
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

	for (k = 0; k < CK__MAX; k++) {
		if (!(conf_keys[k].flags & KF_SECRET))
			continue;
		if (conf_keys[k].type == CT_ROTATED) {
			nin = conf_secrets(c, k == CK_OUTBOUND_SECRET, in);
			for (i = 0; i < nin; i++)
				if (conf_secret_ok(&conf_keys[k], in[i], msg,
				    sizeof(msg)) == -1)
					goto bad;
			continue;
		}
		v = (const char *)c + conf_keys[k].off;
		if (conf_secret_ok(&conf_keys[k], v, msg, sizeof(msg)) == -1)
			goto bad;
	}
	nin = conf_secrets(c, 0, in);
	nout = conf_secrets(c, 1, out);
	for (i = 0; i < nin; i++)
		for (j = 0; j < nout; j++)
			if (strcmp(in[i], out[j]) == 0) {
				check_err(c, CK_OUTBOUND_SECRET, err, errsz,
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
	const char	*v[MAX_SECRETS], *s = (const char *)c + conf_keys[k].off;
	struct sig_key	 key;
	size_t		 n, i;

	if (conf_keys[k].flags & KF_APIKEY) {
		if (strlen(s) < 16) {
			check_err(c, k, err, errsz, "missing or shorter than "
			    "16 characters; make one with: %s", MAKE_APIKEY);
			return -1;
		}
		return 0;
	}
	if (conf_keys[k].type == CT_STR) {
		if (s[0] == '\0') {
			check_err(c, k, err, errsz, "missing");
			return -1;
		}
		return 0;
	}
	if (conf_keys[k].type == CT_ROTATED) {
		if ((n = conf_secrets(c, k == CK_OUTBOUND_SECRET, v)) == 0) {
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

/* The reward URL of a reward type: the key, or CK__MAX if none. */
static enum conf_keyid
reward_url_key(const char *type)
{
	if (strcmp(type, "credit") == 0)
		return CK_REWARD_URL_CREDIT;
	if (strcmp(type, "coupon") == 0)
		return CK_REWARD_URL_COUPON;
	if (strcmp(type, "points") == 0)
		return CK_REWARD_URL_POINTS;
	return CK__MAX;
}

/* Checks a db_ssl_mode and its CA: verify_* needs a CA file. */
static int
check_ssl(const struct conf *c, enum conf_keyid mode, enum conf_keyid ca,
    char *err, size_t errsz)
{
	long		 m;
	const char	*file = (const char *)c + conf_keys[ca].off;

	memcpy(&m, (const char *)c + conf_keys[mode].off, sizeof(m));
	if ((m == DB_SSL_VERIFY_CA || m == DB_SSL_VERIFY_IDENTITY) &&
	    file[0] == '\0') {
		check_err(c, mode, err, errsz, "%s needs %s (the CA file "
		    "that signed the server's certificate)", conf_db_ssl_mode_name(m),
		    conf_keys[ca].name);
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
	for (k = 0; k < CK__MAX; k++)
		if ((conf_keys[k].flags & (KF_WHSEC | KF_APIKEY)) &&
		    ((const char *)c + conf_keys[k].off)[0] != '\0' &&
		    check_required(c, (enum conf_keyid)k, err, errsz) == -1)
			goto out;
	if (c->api_key[0] != '\0' &&
	    strcmp(c->api_key, c->admin_api_key) == 0) {
		check_err(c, CK_ADMIN_API_KEY, err, errsz, "must differ from "
		    "api_key");
		goto out;
	}
	if (!url_ok(c->landing_url)) {
		check_err(c, CK_LANDING_URL, err, errsz, "want an http:// or "
		    "https:// URL");
		goto out;
	}
	if (!url_ok(c->base_url)) {
		check_err(c, CK_BASE_URL, err, errsz, "want an http:// or "
		    "https:// URL");
		goto out;
	}
	if (!reward_type_ok(c->reward_referrer.type)) {
		check_err(c, CK_REWARD_REFERRER_TYPE, err, errsz, "want "
		    "credit, coupon or points");
		goto out;
	}
	if (!reward_type_ok(c->reward_referee.type)) {
		check_err(c, CK_REWARD_REFEREE_TYPE, err, errsz, "want "
		    "credit, coupon or points");
		goto out;
	}
	if (!currency_valid(c->reward_referrer.currency)) {
		check_err(c, CK_REWARD_REFERRER_CURRENCY, err, errsz, "want "
		    "three upper-case letters");
		goto out;
	}
	if (!currency_valid(c->reward_referee.currency)) {
		check_err(c, CK_REWARD_REFEREE_CURRENCY, err, errsz, "want "
		    "three upper-case letters");
		goto out;
	}
	if (r->reward_urls) {
		types[0] = c->reward_referrer.type;
		types[1] = c->reward_referee.type;
		for (i = 0; i < 2; i++) {
			uk = reward_url_key(types[i]);
			url = (const char *)c + conf_keys[uk].off;
			if (!url_ok(url)) {
				check_err(c, uk, err, errsz, "rewards of type "
				    "%s need an http:// or https:// URL here",
				    types[i]);
				goto out;
			}
		}
	}
	if (check_ssl(c, CK_DB_SSL_MODE, CK_DB_SSL_CA, err, errsz) == -1 ||
	    check_ssl(c, CK_STATS_DB_SSL_MODE, CK_STATS_DB_SSL_CA, err,
	    errsz) == -1)
		goto out;
	if (c->workers < 1 || c->workers > 256) {
		check_err(c, CK_WORKERS, err, errsz, "want 1 to 256");
		goto out;
	}
	if (c->dispatch_concurrency < 1 || c->dispatch_concurrency > 1024) {
		check_err(c, CK_DISPATCH_CONCURRENCY, err, errsz, "want 1 to "
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
