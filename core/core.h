/*
 * referd core: domain logic without I/O.
 *
 * Nothing here reads a file, a socket or the clock: "now" is always an
 * argument (seconds since the epoch), and outcomes are enum values, never
 * log lines.  Only libc and libcrypto are used.
 */
#ifndef REFERD_CORE_H
#define REFERD_CORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every limit of the program, in one place.  The HTTP limits are repeated
 * in the web server configurations under etc/.
 */
#define MAX_BODY		(64 * 1024)	/* request body, bytes */
#define MAX_JSON_DEPTH		16		/* nesting of request JSON */
#define MAX_URI			2048		/* request URI, bytes */
#define MAX_PARAM		8192		/* any one FastCGI parameter */
#define MAX_REQUEST_ID		64		/* X-Request-Id, characters */
#define RETRY_AFTER_SECONDS	5		/* Retry-After of a 503 (and of the
					   web servers' own 502/503/504) */
#define MAX_FIELD		256		/* any string field of a body */
#define MAX_EVENT_ID		128		/* webhook-id / event id */
#define MAX_SIG_HEADER		1024		/* webhook-signature header */
#define MAX_SIGS		8		/* signatures in that header */
#define SIG_TOLERANCE		300		/* webhook timestamp skew, s */
#define MAX_CODE_INPUT		32		/* a code as typed by a person */
#define CODE_LEN		8		/* a minted code */
#define MAX_CONF_LINE		1024		/* config file line */
#define MAX_CONF_FILE		(256 * 1024)	/* config file size */
#define MAX_LIST		32		/* entries of a list key */
#define MAX_SECRETS		4		/* values of a rotated secret */
#define MAX_DOMAINS		100000		/* disposable domain list */
#define CONF_STR		256		/* config string values */
#define MONEY_MAX		999999999999LL	/* DECIMAL(12,2) in cents */
#define DISPATCH_BACKOFF_MAX_MS	(10 * 60 * 1000) /* longest retry delay,
						   default and ceiling */
#define DISPATCH_RETRY_AFTER_MAX 3600		/* Retry-After honoured, s */
#define DISPATCH_LEASE_MARGIN	5		/* lease beyond the timeout, s */
#define DISPATCH_ERR_BODY	160		/* response bytes in last_error */
#define DISPATCH_METRICS_MS	1000		/* metrics file refresh */

/*
 * Codes (code.c).
 */

/* The alphabet of minted codes: upper-case base-36. */
#define CODE_ALPHABET "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

int	 code_mint(char out[CODE_LEN + 1]);
int	 code_normalize(const char *in, size_t len, char out[CODE_LEN + 1]);
int	 code_valid(const char *s);

/*
 * Money (money.c): decimal strings <-> integer minor units.
 */
enum money_rc {
	MONEY_OK,
	MONEY_EMPTY,		/* "" */
	MONEY_SYNTAX,		/* not [0-9]+(.[0-9]{1,2})? */
	MONEY_PRECISION,	/* more than two decimals */
	MONEY_RANGE,		/* above MONEY_MAX */
};

enum money_rc	 money_parse(const char *s, int64_t *minor);
int		 money_format(int64_t minor, char *buf, size_t sz);
int		 currency_valid(const char *s);

/*
 * The referral state machine (fsm.c): a referral's state is its status and
 * its review, and one table says what each event does to both.
 */
enum ref_state {
	RS_PENDING,
	RS_CONVERTED,
	RS_REWARDED,
	RS_VOIDED,
	RS__MAX
};

enum ref_review {
	RV_NONE,		/* never held */
	RV_HELD,		/* a fraud rule held it: no reward until approved */
	RV_APPROVED,		/* ops approved it after a hold */
	RV__MAX
};

/* Where a referral is: both axes of the state machine. */
struct ref_pos {
	enum ref_state	 status;
	enum ref_review	 review;
};

enum ref_event {
	RE_CONVERT,		/* qualifying order */
	RE_REWARD,		/* hold period over, not held */
	RE_APPROVE,		/* ops approved a held referral */
	RE_HOLD,		/* a fraud rule held it for review */
	RE_VOID,		/* manual void, or a fraud rule at conversion */
	RE_REFUND,		/* the converting order was refunded */
	RE__MAX
};

enum fsm_rc {
	FSM_OK,			/* transition taken (maybe to same state) */
	FSM_NOOP,		/* already there: nothing to do, not an error */
	FSM_INVALID,		/* not allowed from this state */
};

/* Side effects the caller must perform with the transition. */
#define FSM_A_REWARD	0x01	/* insert the two rewards and outbox rows */
#define FSM_A_REVOKE	0x02	/* enqueue reward.revoked per reward */
#define FSM_A_REVIEW	0x04	/* review state changes (hold/approve) */

struct fsm_step {
	enum fsm_rc	 rc;
	struct ref_pos	 next;		/* the current one unless FSM_OK */
	unsigned int	 actions;	/* FSM_A_* */
};

/* fsm.c */
struct fsm_step	 fsm_next(struct ref_pos, enum ref_event);
int		 fsm_can(struct ref_pos, enum ref_event);
const char	*fsm_state_name(enum ref_state);
const char	*fsm_review_name(enum ref_review);
const char	*fsm_event_name(enum ref_event);
int		 fsm_state_parse(const char *, enum ref_state *);
int		 fsm_review_parse(const char *, enum ref_review *);

/*
 * Fraud rules and the attribution decision (attr.c).
 */
/* In the order they are evaluated (attr.c's table is in this order). */
enum rule {
	RULE_NONE,
	RULE_CODE_UNKNOWN,	/* reject */
	RULE_CODE_DISABLED,	/* reject */
	RULE_CODE_EXPIRED,	/* reject */
	RULE_SELF_REFERRAL,	/* reject */
	RULE_REFERRER_FLAGGED,	/* reject */
	RULE_DEVICE_MATCH,	/* reject */
	RULE_SAME_IP,		/* hold */
	RULE_DISPOSABLE_EMAIL,	/* hold */
	RULE_REFERRER_VELOCITY,	/* hold */
	RULE_IP_VELOCITY,	/* hold */
	RULE_PAYMENT_MATCH,	/* void at conversion and at reward time */
	RULE_FLAGGED_REFERRER,	/* hold at reward time */
	RULE_MANUAL,		/* ops action */
	RULE__MAX
};

/* What a rule that fires does, as fraud flags record it. */
enum fraud_verdict {
	FRAUD_NONE,		/* not a fraud rule (none, manual) */
	FRAUD_REJECT,		/* no referral is made */
	FRAUD_HOLD,		/* referral made, rewards wait for review */
	FRAUD_VOID,		/* the referral is voided at conversion */
	FRAUD__MAX
};

enum attr_result {
	ATTR_NONE,		/* no code given */
	ATTR_ATTRIBUTED,
	ATTR_HELD,		/* attributed, rewards wait for review */
	ATTR_REJECTED,
	ATTR__MAX
};

enum code_state {
	CODE_NONE,		/* no code in the request */
	CODE_FOUND,
	CODE_UNKNOWN,
};

/* What the database knows when a new user signs up with a code. */
struct attr_facts {
	enum code_state	 code;
	int64_t		 expires_at;	/* 0: never */
	int64_t		 disabled_at;	/* 0: not disabled */
	int64_t		 referrer_id;
	int64_t		 referee_id;
	int		 referrer_flagged;
	int		 device_match;	/* referee device == one of referrer's */
	int		 ip_match;	/* referee IP == referrer's signup IP */
	int		 disposable_email;
	long		 referrer_hour;	/* attributions to referrer, last hour */
	long		 ip_hour;	/* signups from this IP, last hour */
};

struct attr_limits {
	long		 max_per_referrer_hour;
	long		 max_per_ip_hour;
};

struct attr_decision {
	enum attr_result result;
	enum rule	 rule;		/* deciding rule, RULE_NONE if clean */
	unsigned int	 fired;		/* bit (1 << rule) of every rule hit */
};

/* attr.c */
struct attr_decision attr_decide(const struct attr_facts *,
		    const struct attr_limits *, int64_t now);
const char	*attr_result_name(enum attr_result);
const char	*rule_name(enum rule);
enum fraud_verdict rule_verdict(enum rule);
const char	*fraud_verdict_name(enum fraud_verdict);
int		 rule_is_reject(enum rule);
int		 domain_listed(const char *const *sorted, size_t n,
		    const char *email_or_domain);
const char	*email_domain(const char *email);

/*
 * Conversions and rewards (conv.c): what an order event does to a
 * referral, and when and to whom rewards go.
 */
#define CONV_DAY	86400		/* a hold day, seconds */

/* What an order event is, by its type. */
enum conv_kind {
	CONV_ORDER,		/* in qualifying_events */
	CONV_REFUND,		/* order.refunded */
	CONV_OTHER,		/* anything else: ignored */
	CONV__MAX
};

/* The answer to the order system (SPEC 5). */
enum outcome {
	OUT_CONVERTED,
	OUT_DUPLICATE,
	OUT_IGNORED,
	OUT_BELOW_MINIMUM,
	OUT_NO_REFERRAL,
	OUT_VOIDED,
	OUT__MAX
};

/* The detail of an ignored or voided outcome. */
enum conv_reason {
	CR_NONE,
	CR_TYPE_NOT_QUALIFYING,
	CR_ORDER_REFUNDED,	/* a refund of this order came first */
	CR_NOT_CONVERTING_ORDER, /* a refund of another order */
	CR_PAYMENT_MATCH,
	CR_REFUNDED,
	CR_PARTIAL_REFUND,	/* recorded; only a full refund voids */
	CR_ALREADY_PENDING,	/* CR_ALREADY_* follow enum ref_state */
	CR_ALREADY_CONVERTED,
	CR_ALREADY_REWARDED,
	CR_ALREADY_VOIDED,
	CR__MAX
};

/* When the rewards of a conversion go out. */
enum conv_reward {
	CONV_REWARD_NONE,	/* no conversion, or voided */
	CONV_REWARD_NOW,	/* in the same transaction */
	CONV_REWARD_AFTER_HOLD,	/* the dispatcher's due scan, hold_days on */
	CONV_REWARD_REVIEW,	/* held for review: after approval */
	CONV_REWARD__MAX
};

/*
 * What the database knows when an order event arrives, read in the
 * event's transaction with the referral row locked.  For a refund the
 * referral is the one this order converted.
 */
struct conv_facts {
	enum conv_kind	 kind;
	int64_t		 amount;	/* minor units */
	const char	*currency;	/* the event's */
	int64_t		 min_amount;	/* min_order_amount */
	const char	*min_currency;	/* what min_order_amount is in */
	int64_t		 order_amount;	/* of the converting order, for a
					   refund; -1: not known */
	char		 order_currency[4];
	long		 hold_days;
	int64_t		 referral_id;	/* 0: no referral */
	struct ref_pos	 at;		/* the referral's state */
	int		 order_refunded; /* a refund of the order is recorded */
	int		 payment_match;	/* paid with a referrer's fingerprint */
};

struct conv_verdict {
	enum outcome	 outcome;
	enum conv_reason reason;	/* CR_NONE for a plain outcome */
	int64_t		 referral_id;	/* reported with it, 0: none */
	enum ref_event	 event;		/* to store: RE_CONVERT or RE_REFUND,
					   RE__MAX for nothing */
	enum rule	 void_rule;	/* voided at conversion by this rule,
					   RULE_NONE if not */
	enum conv_reward reward;
	struct ref_pos	 next;		/* where the referral ends */
};

/* One party of a reward. */
enum conv_role {
	CONV_REFERRER,
	CONV_REFEREE,
	CONV_ROLE__MAX
};

struct conf;
struct reward_def;

struct conv_party {
	enum conv_role		 role;
	int64_t			 user_id;
	const struct reward_def	*def;	/* into the conf */
};

/*
 * What happens at reward time (SPEC 7 and 10): the facts read with the
 * referral row locked, and the verdict.
 */
struct conv_reward_facts {
	struct ref_pos	 at;
	int64_t		 converted_at;
	long		 hold_days;
	int		 referrer_flagged; /* flagged_users has the referrer */
	int		 payment_match;	/* the converting order was paid with
					   a fingerprint the referrer used */
};

enum conv_reward_act {
	CONV_ACT_NONE,		/* not due, held, or done */
	CONV_ACT_REWARD,	/* converted -> rewarded, rewards issued */
	CONV_ACT_HOLD,		/* held for review by "rule" */
	CONV_ACT_VOID,		/* voided by "rule" */
	CONV_ACT__MAX
};

struct conv_reward_verdict {
	enum conv_reward_act act;
	enum rule	 rule;		/* of HOLD and VOID, else RULE_NONE */
	struct ref_pos	 next;
};

/* Where an outbox row is (the outbox.status column). */
enum outbox_state {
	OB_GONE,		/* no row: purged after delivery */
	OB_PENDING,
	OB_INFLIGHT,
	OB_DELIVERED,
	OB_DEAD,
	OB_CANCELLED,
	OB__MAX
};

/* What voiding a rewarded referral does with each reward (SPEC 13). */
enum conv_revoke {
	CONV_REVOKE_NOW,	/* the grant was delivered: revoke */
	CONV_REVOKE_AFTER,	/* the grant may be delivered yet: a
				   revocation that waits for it */
	CONV_REVOKE_CANCEL,	/* the grant was never sent: cancel it */
	CONV_REVOKE_NONE,	/* the grant is dead or cancelled */
	CONV_REVOKE__MAX
};

/* conv.c */
struct conv_reward_verdict conv_reward_decide(const struct conv_reward_facts *,
		    int64_t now);
enum conv_revoke conv_revoke_plan(enum outbox_state grant, int64_t attempts,
		    int may_have_arrived);
const char	*outbox_state_name(enum outbox_state);
int		 outbox_state_parse(const char *, enum outbox_state *);
enum conv_kind	 conv_kind(const struct conf *, const char *type);
struct conv_verdict conv_decide(const struct conv_facts *);
int		 conv_reward_due(struct ref_pos, int64_t converted_at,
		    long hold_days, int64_t now);
int64_t		 conv_hold_cutoff(long hold_days, int64_t now);
size_t		 conv_parties(const struct conf *, int64_t referrer,
		    int64_t referee, struct conv_party out[CONV_ROLE__MAX]);
const char	*conv_reason_name(enum conv_reason);
const char	*conv_role_name(enum conv_role);
const char	*outcome_name(enum outcome);

/*
 * Standard Webhooks signatures (sig.c).
 */
#define SIG_KEY_MAX	128
#define SIG_B64_LEN	44		/* base64 of a SHA-256 MAC */
#define SIG_LEN		(3 + SIG_B64_LEN) /* "v1," + base64 */

enum sig_rc {
	SIG_OK,
	SIG_MALFORMED,		/* header missing or not v1,<base64> */
	SIG_BAD_TIMESTAMP,	/* not a decimal number */
	SIG_TOO_OLD,
	SIG_TOO_NEW,
	SIG_MISMATCH,
};

struct sig_key {
	unsigned char	 key[SIG_KEY_MAX];
	size_t		 len;
};

int		 sig_key_parse(const char *whsec, struct sig_key *);
int		 sig_sign(const struct sig_key *, const char *id, int64_t ts,
		    const char *body, size_t bodysz, char out[SIG_LEN + 1]);
enum sig_rc	 sig_verify(const struct sig_key *, const char *id,
		    const char *ts, const char *body, size_t bodysz,
		    const char *header, int64_t now);
const char	*sig_rc_name(enum sig_rc);
int		 ct_streq(const char *a, const char *b);

/*
 * Signatures of the order sources of SPEC 12 (intakesig.c): each signs
 * the raw body its own way.  Stripe keys HMAC-SHA256 of "<t>.<body>"
 * with the whole whsec_ string (not decoded, unlike Standard Webhooks)
 * and sends "t=<unix>,v1=<hex>[,v1=<hex>...]"; Shopify keys HMAC-SHA256
 * of the body with its secret and sends the MAC in base64.
 */
#define STRIPE_SIG_HEX	64		/* hex of a SHA-256 MAC */

enum sig_rc	 stripe_sig_verify(const char *secret, const char *header,
		    const char *body, size_t bodysz, int64_t now);
int		 stripe_sig_sign(const char *secret, int64_t t,
		    const char *body, size_t bodysz,
		    char out[STRIPE_SIG_HEX + 1]);
enum sig_rc	 shopify_sig_verify(const char *secret, const char *header,
		    const char *body, size_t bodysz);
int		 shopify_sig_sign(const char *secret, const char *body,
		    size_t bodysz, char out[SIG_B64_LEN + 1]);

/*
 * Orders from Stripe and Shopify (intake.c): what a source's event is to
 * referd.  fcgi/ walks the JSON and hands over the fields as strings;
 * the decision is here.
 */
enum intake_source {
	INTAKE_STRIPE,
	INTAKE_SHOPIFY,
	INTAKE__MAX
};

/* The fields of a source's event, NULL where absent or JSON null. */
struct intake_fields {
	const char	*type;		/* Stripe "type", Shopify topic */
	const char	*status;	/* Stripe: the object's payment_status */
	const char	*user_meta;	/* metadata.referd_user_id, or the
					   note attribute referd_user_id */
	const char	*user_alt;	/* client_reference_id, customer.id */
	const char	*order_id;	/* payment_intent, id or order_id */
	const char	*amount;	/* Stripe: minor units as digits;
					   Shopify: total_price "25.00" */
	const char	*currency;	/* any case */
};

/* Why an event of a source is ignored. */
enum intake_reason {
	IR_NONE,
	IR_TYPE_NOT_MAPPED,	/* a type or topic referd does not map */
	IR_NOT_PAID,		/* a checkout session not (yet) paid */
	IR_NO_USER_ID,		/* no referd user id on the order */
	IR_NO_ORDER_ID,		/* no payment_intent / order id */
	IR__MAX
};

enum intake_rc {
	INTAKE_OK,		/* "ev" holds a conversion or a refund */
	INTAKE_IGNORED,		/* "ev->reason" says why */
	INTAKE_BAD_USER_ID,	/* referd_user_id not a positive int64 */
	INTAKE_BAD_ORDER_ID,	/* too long or not printable */
	INTAKE_BAD_AMOUNT,
	INTAKE_BAD_CURRENCY,
	INTAKE__MAX_RC
};

struct intake_event {
	enum conv_kind	 kind;		/* CONV_ORDER or CONV_REFUND */
	enum intake_reason reason;	/* with INTAKE_IGNORED */
	int64_t		 user_id;
	char		 order_id[MAX_FIELD + 1];
	int64_t		 amount;	/* minor units; 0 for a refund */
	char		 currency[4];	/* upper case; "" for a refund */
};

enum intake_rc	 intake_map(enum intake_source, const struct intake_fields *,
		    struct intake_event *);
const char	*intake_type_name(enum conv_kind);
const char	*intake_reason_name(enum intake_reason);
const char	*intake_source_name(enum intake_source);

/*
 * Configuration: the file's keys and parser (conf.c), the checks of what
 * each binary requires and refuses (confcheck.c).
 */
struct reward_def {
	char		 type[32];	/* credit, coupon or points */
	int64_t		 amount;	/* minor units */
	char		 currency[8];
};

/* db_ssl_mode, stats_db_ssl_mode: the names of MySQL's --ssl-mode. */
enum db_ssl_mode {
	DB_SSL_UNSET,		/* disabled on a unix socket, else preferred */
	DB_SSL_DISABLED,
	DB_SSL_PREFERRED,	/* TLS if the server offers it */
	DB_SSL_REQUIRED,	/* TLS or no connection, any certificate */
	DB_SSL_VERIFY_CA,	/* ... signed by db_ssl_ca */
	DB_SSL_VERIFY_IDENTITY,	/* ... and naming db_host */
	DB_SSL__MAX
};

/* Which binary reads the file: each requires only the keys it uses. */
enum conf_role {
	CONF_ROLE_ALL,		/* tests and tools: every key */
	CONF_ROLE_FCGI,
	CONF_ROLE_DISPATCH,
	CONF_ROLE_CONSOLE,
	CONF_ROLE_MIGRATE,
	CONF_ROLE_CONSUME,
	CONF_ROLE__MAX
};

/* What conf_secret_check() finds wrong with a secret's value. */
enum conf_secret {
	CONF_SECRET_OK,
	CONF_SECRET_TEST_VECTOR,	/* the SPEC section 5 published one */
	CONF_SECRET_PLACEHOLDER,	/* CHANGE-ME... */
	CONF_SECRET__MAX
};

/* What a process started as "uid" does (conf_priv_decide()). */
enum conf_priv {
	CONF_PRIV_KEEP,		/* not root, or root allowed: run as is */
	CONF_PRIV_DROP,		/* root with "user": drop to it */
	CONF_PRIV_REFUSE,	/* root without "user": refuse to run */
};

#define CONF_KEYS	96		/* room for every key (conf.c) */

/* Where a key was set: file 0 is the file, 1 its secrets_file. */
struct conf_src {
	unsigned char	 file;
	unsigned int	 line;		/* 0: not set */
};

struct conf {
	/* database */
	char	 db_socket[CONF_STR];
	char	 db_host[CONF_STR];
	long	 db_port;
	char	 db_user[CONF_STR];
	char	 db_password[CONF_STR];
	char	 db_name[CONF_STR];
	char	 db_ssl_ca[CONF_STR];	/* CA file for verify_* */
	long	 db_ssl_mode;		/* enum db_ssl_mode */
	char	 stats_db_socket[CONF_STR];
	char	 stats_db_host[CONF_STR];
	long	 stats_db_port;
	char	 stats_db_user[CONF_STR];
	char	 stats_db_password[CONF_STR];
	char	 stats_db_name[CONF_STR];
	char	 stats_db_ssl_ca[CONF_STR];
	long	 stats_db_ssl_mode;	/* enum db_ssl_mode */
	/* processes */
	char	 user[CONF_STR];	/* drop to it after binding, as root */
	char	 secrets_file[CONF_STR]; /* more keys, mode 0600 or 0400 */
	/* FastCGI process */
	char	 listen[CONF_STR];	/* unix socket path; "" = inherited */
	char	 socket_owner[CONF_STR];
	char	 socket_group[CONF_STR];
	long	 socket_mode;		/* octal in the file */
	long	 workers;
	char	 log_file[CONF_STR];	/* "" = stderr, "syslog", or a file */
	char	 pid_file[CONF_STR];
	char	 metrics_dir[CONF_STR];	/* shared counters, see fcgi/ */
	/* keys */
	char	 api_key[CONF_STR];
	char	 admin_api_key[CONF_STR];
	char	 webhook_secret[CONF_STR];	/* the first value */
	char	 webhook_secret_more[MAX_SECRETS - 1][CONF_STR]; /* rotation:
					   the key repeated, also accepted */
	size_t	 webhook_secret_moresz;
	char	 outbound_secret[CONF_STR];	/* the first value */
	char	 outbound_secret_more[MAX_SECRETS - 1][CONF_STR]; /* rotation:
					   the key repeated, also signs */
	size_t	 outbound_secret_moresz;
	char	 stripe_webhook_secret[CONF_STR]; /* "": intake off */
	char	 shopify_webhook_secret[CONF_STR]; /* "": intake off */
	/* landing and codes */
	char	 base_url[CONF_STR];	/* public base, for code URLs */
	char	 landing_url[CONF_STR];
	char	 cookie_name[64];
	long	 attribution_window_days;
	long	 code_cache_seconds;
	long	 click_flush_ms;
	/* conversions and rewards */
	char	 qualifying_events[MAX_LIST][64];
	size_t	 qualifying_eventsz;
	int64_t	 min_order_amount;	/* minor units */
	long	 hold_days;
	struct reward_def reward_referrer;
	struct reward_def reward_referee;
	/* fraud */
	long	 max_signups_per_referrer_per_hour;
	long	 max_signups_per_ip_per_hour;
	char	 disposable_domains_file[CONF_STR];
	/* dispatcher */
	char	 reward_url_credit[CONF_STR];
	char	 reward_url_coupon[CONF_STR];
	char	 reward_url_points[CONF_STR];
	long	 dispatch_concurrency;
	long	 dispatch_max_attempts;
	long	 dispatch_connect_timeout_ms;
	long	 dispatch_timeout_ms;
	long	 dispatch_lease_seconds;
	long	 dispatch_batch;
	long	 dispatch_poll_ms;
	long	 dispatch_backoff_ms;	/* first retry delay, doubling */
	long	 dispatch_backoff_max_ms; /* ... up to this */
	char	 dispatch_log_file[CONF_STR];
	char	 dispatch_pid_file[CONF_STR];
	long	 outbox_retention_days;	/* delivered outbox rows kept */
	/* console */
	long	 console_refresh_ms;
	/* message-queue consumer (referd-consume, SPEC 12) */
	char	 amqp_url[CONF_STR];	/* amqp://user:pass@host:port/vhost */
	char	 amqp_queue[CONF_STR];
	long	 amqp_prefetch;		/* unacked deliveries at once */
	char	 amqp_dead_letter[CONF_STR];	/* exchange, and its queue */
	/* where each key came from, for messages (conf_parse) */
	char	 src_file[2][CONF_STR];	/* the file, its secrets_file */
	struct conf_src src[CONF_KEYS];	/* by key, first setting */
};

/*
 * The key table (conf.c), which the checks (confcheck.c) read too: one
 * entry per key, by enum conf_keyid.
 */
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
	CK_DB_SOCKET,
	CK_DB_HOST,
	CK_DB_PORT,
	CK_DB_USER,
	CK_DB_PASSWORD,
	CK_DB_NAME,
	CK_DB_SSL_CA,
	CK_DB_SSL_MODE,
	CK_STATS_DB_SOCKET,
	CK_STATS_DB_HOST,
	CK_STATS_DB_PORT,
	CK_STATS_DB_USER,
	CK_STATS_DB_PASSWORD,
	CK_STATS_DB_NAME,
	CK_STATS_DB_SSL_CA,
	CK_STATS_DB_SSL_MODE,
	CK_USER,
	CK_SECRETS_FILE,
	CK_LISTEN,
	CK_SOCKET_OWNER,
	CK_SOCKET_GROUP,
	CK_SOCKET_MODE,
	CK_WORKERS,
	CK_LOG_FILE,
	CK_PID_FILE,
	CK_METRICS_DIR,
	CK_API_KEY,
	CK_ADMIN_API_KEY,
	CK_WEBHOOK_SECRET,
	CK_OUTBOUND_SECRET,
	CK_STRIPE_WEBHOOK_SECRET,
	CK_SHOPIFY_WEBHOOK_SECRET,
	CK_BASE_URL,
	CK_LANDING_URL,
	CK_COOKIE_NAME,
	CK_ATTRIBUTION_WINDOW_DAYS,
	CK_CODE_CACHE_SECONDS,
	CK_CLICK_FLUSH_MS,
	CK_QUALIFYING_EVENTS,
	CK_MIN_ORDER_AMOUNT,
	CK_HOLD_DAYS,
	CK_REWARD_REFERRER_TYPE,
	CK_REWARD_REFERRER_AMOUNT,
	CK_REWARD_REFERRER_CURRENCY,
	CK_REWARD_REFEREE_TYPE,
	CK_REWARD_REFEREE_AMOUNT,
	CK_REWARD_REFEREE_CURRENCY,
	CK_MAX_SIGNUPS_PER_REFERRER_PER_HOUR,
	CK_MAX_SIGNUPS_PER_IP_PER_HOUR,
	CK_DISPOSABLE_DOMAINS_FILE,
	CK_REWARD_URL_CREDIT,
	CK_REWARD_URL_COUPON,
	CK_REWARD_URL_POINTS,
	CK_DISPATCH_CONCURRENCY,
	CK_DISPATCH_MAX_ATTEMPTS,
	CK_DISPATCH_CONNECT_TIMEOUT_MS,
	CK_DISPATCH_TIMEOUT_MS,
	CK_DISPATCH_LEASE_SECONDS,
	CK_DISPATCH_BATCH,
	CK_DISPATCH_POLL_MS,
	CK_DISPATCH_BACKOFF_MS,
	CK_DISPATCH_BACKOFF_MAX_MS,
	CK_DISPATCH_LOG_FILE,
	CK_DISPATCH_PID_FILE,
	CK_OUTBOX_RETENTION_DAYS,
	CK_CONSOLE_REFRESH_MS,
	CK_AMQP_URL,
	CK_AMQP_QUEUE,
	CK_AMQP_PREFETCH,
	CK_AMQP_DEAD_LETTER,
	CK__MAX
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

extern const struct conf_key conf_keys[CK__MAX];

/* conf.c */
void		 conf_defaults(struct conf *);
int		 conf_parse(struct conf *, const char *buf, size_t len,
		    const char *fname, char *err, size_t errsz);
int		 conf_parse_secrets(struct conf *, const char *buf,
		    size_t len, const char *fname, char *err, size_t errsz);
int		 conf_is_qualifying(const struct conf *, const char *type);
enum db_ssl_mode conf_db_ssl_mode(const struct conf *, int stats);
const char	*conf_db_ssl_mode_name(enum db_ssl_mode);
void		 conf_err(char *err, size_t errsz, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/* confcheck.c */
int		 conf_check(const struct conf *, char *err, size_t errsz);
int		 conf_check_role(const struct conf *, enum conf_role,
		    char *err, size_t errsz);
const char	*conf_role_name(enum conf_role);
enum conf_secret conf_secret_check(const char *value);
int		 conf_secret_ok(const struct conf_key *, const char *value,
		    char *msg, size_t msgsz);
const char	*conf_mode_problem(unsigned int mode, int secrets_file);
enum conf_priv	 conf_priv_decide(long uid, const char *user, int dev_root);
size_t		 conf_secrets(const struct conf *, int outbound,
		    const char *out[MAX_SECRETS]);

/*
 * Utilities (util.c): small pure helpers shared by every binary.
 */
int		 userid_parse(const char *s, size_t len, int64_t *);
int		 utf8_valid(const char *s, size_t len);
int		 request_id_valid(const char *s, size_t len);
int		 b64_encode(const unsigned char *in, size_t len, char *out,
		    size_t outsz);
int		 b64_decode(const char *in, size_t len, unsigned char *out,
		    size_t outsz, size_t *outlen);
int		 hex_encode(const unsigned char *in, size_t len, char *out,
		    size_t outsz);
int		 sha256_hex(const void *in, size_t len, char out[65]);
int		 token_valid(const char *s, size_t len);
int		 time_rfc3339_valid(const char *s);

/*
 * SQL script splitting (sqlsplit.c): the statements of a migration file.
 */
enum sqlsplit_rc {
	SQLSPLIT_STMT,		/* one statement found */
	SQLSPLIT_END,		/* only blanks and comments remain */
	SQLSPLIT_OPEN,		/* a quote or block comment is never closed */
};

struct sqlsplit {
	const char	*buf;		/* the script, not NUL-terminated */
	size_t		 len;
	size_t		 pos;		/* where the next statement is sought */
	unsigned long	 line;		/* line number at pos, from 1 */
};

struct sqlsplit_stmt {
	const char	*sql;		/* into the script; no ';' */
	size_t		 len;
	unsigned long	 line;		/* of its first character */
};

/* sqlsplit.c */
void		 sqlsplit_init(struct sqlsplit *, const char *buf, size_t len);
enum sqlsplit_rc sqlsplit_next(struct sqlsplit *, struct sqlsplit_stmt *);

#endif /* !REFERD_CORE_H */
