/*
 * referd data layer: MariaDB through prepared statements.
 *
 * One statement table (stmt.c), each prepared once per connection, on
 * first use (db_prepare_all() checks them all against the schema).  Every
 * operation runs inside db_txn() or db_read(), which own reconnecting,
 * re-preparing and retrying: an operation body must therefore be safe to
 * run again from the start (it resets its outputs first).
 */
#ifndef REFERD_SQL_H
#define REFERD_SQL_H

#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <mysql.h>

#include "core.h"
#include "rt.h"

#define DB_MAX_TRIES		8	/* transaction attempts */
#define DB_MAX_PARAMS		16	/* placeholders in one statement */
#define DB_CONNECT_TIMEOUT	3	/* seconds */
#define DB_RW_TIMEOUT		30	/* seconds, read and write */
#define DB_LOCK_WAIT		5	/* innodb_lock_wait_timeout, seconds */
#define MAX_REASON		512	/* void reason, audit detail */
#define MAX_OPERATOR		64

enum stmt {
	STMT_CODE_BY_USER,
	STMT_CODE_BY_USER_LOCK,
	STMT_CODE_BY_CODE,
	STMT_CODE_INSERT,
	STMT_SIGNAL_INSERT,
	STMT_SIGNAL_GET,
	STMT_SIGNAL_SET_RESULT,
	STMT_DEVICE_INSERT,
	STMT_DEVICE_MATCH,
	STMT_FLAGGED_GET,
	STMT_FLAGGED_INSERT,
	STMT_SIGNAL_IP_MATCH,
	STMT_REFERRER_HOUR,
	STMT_IP_HOUR,
	STMT_REFERRAL_INSERT,
	STMT_REFERRAL_BY_ID,
	STMT_REFERRAL_BY_ID_LOCK,
	STMT_REFERRAL_BY_ORDER_LOCK,
	STMT_REFERRAL_BY_REFEREE_LOCK,
	STMT_REFERRAL_CONVERT,
	STMT_REFERRAL_REWARD,
	STMT_REFERRAL_VOID,
	STMT_REFERRAL_SET_REVIEW,
	STMT_REFERRALS_DUE,
	STMT_REWARD_INSERT,
	STMT_REWARD_LIST,
	STMT_REWARD_REVOKE,
	STMT_OUTBOX_INSERT,
	STMT_EVENT_INSERT,
	STMT_EVENT_GET,
	STMT_EVENT_SET_OUTCOME,
	STMT_EVENT_REFUNDED,
	STMT_EVENT_ORDER_USER,
	STMT_PAYFP_INSERT,
	STMT_PAYFP_MATCH,
	STMT_FLAG_INSERT,
	STMT_AUDIT_INSERT,
	STMT_CLICKS_ADD,
	STMT_STATS_COUNTS,
	STMT_STATS_CLICKS,
	STMT_STATS_REWARDS,
	STMT_OUTBOX_CLAIM_SELECT,
	STMT_OUTBOX_CLAIM_EXPIRED,
	STMT_OUTBOX_CLAIM_MARK_N,
	STMT_OUTBOX_HELD_N,
	STMT_OUTBOX_DELIVERED_N,
	STMT_OUTBOX_RETRY,
	STMT_OUTBOX_DEAD,
	STMT_OUTBOX_RELEASE,
	STMT_OUTBOX_REQUEUE,
	STMT_OUTBOX_COUNTS,
	STMT_OUTBOX_GRANT_LOCK,
	STMT_OUTBOX_CANCEL,
	STMT_OUTBOX_REVOKED_BY,
	STMT_OUTBOX_CANCEL_AFTER,
	STMT_FLAGGED_GET_LOCK,
	STMT_EVENT_PAYFP_MATCH,
	STMT_SIGNUP_COUNT,
	STMT_EVENT_ORDER_AMOUNT,
	STMT_OUTBOX_PURGE,
	STMT_CON_TOP,
	STMT_CON_FIND,
	STMT_CON_REFERRALS,
	STMT_CON_HELD,
	STMT_CON_FLAGS,
	STMT_CON_DEAD,
	STMT_CON_AUDIT,
	STMT_CODE_PAGE,
	STMT_CODE_CHANGES,
	STMT_DB_NOW,
	STMT_CLICKS_ADD_JSON,
	STMT_PING,
	STMT__MAX
};

enum db_rc {
	DB_OK,
	DB_NOOP,		/* nothing to do: already in that state */
	DB_DUP,			/* already exists; outputs hold the first */
	DB_NOTFOUND,
	DB_CONFLICT,		/* same key, different content */
	DB_INVALID,		/* not allowed in the current state */
	DB_RETRY,		/* internal: transient, replay the txn */
	DB_ERR,			/* failure, logged */
	DB_UNAVAILABLE,		/* cannot reach the database, or gave up
				   retrying a deadlock/lock wait */
};

struct db {
	MYSQL		*my;
	MYSQL_STMT	*stmts[STMT__MAX];
	const struct conf *conf;
	int		 stats;		/* connect with stats_db_* keys */
	int		 up;		/* connected */
	unsigned int	 err;		/* last server/client errno */
	char		 errmsg[256];
	unsigned long	 retries;	/* replays, for metrics */
	unsigned long	 reconnects;

};

typedef enum db_rc (*db_fn)(struct db *, void *);
/* Fetches row "i" of executed statement "s" for db_rows(). */
typedef enum db_rc (*db_row_fn)(struct db *, enum stmt s, size_t i,
		    void *arg);

/* db.c */
struct db	*db_new(const struct conf *, int stats);
void		 db_free(struct db *);
int		 db_connect(struct db *);
int		 db_prepare_all(struct db *);
MYSQL		*db_connect_raw(const struct conf *, int stats, unsigned int *err,
		    char *msg, size_t msgsz);
enum db_rc	 db_txn(struct db *, db_fn, void *);
enum db_rc	 db_read(struct db *, db_fn, void *);
enum db_rc	 db_exec(struct db *, enum stmt, const char *fmt, ...);
enum db_rc	 db_fetch(struct db *, enum stmt, const char *fmt, ...);
enum db_rc	 db_rows(struct db *, enum stmt, size_t max, size_t *n,
		    db_row_fn, void *arg);
enum db_rc	 db_one(struct db *, enum stmt, int64_t *out, enum db_rc);
void		 db_done(struct db *, enum stmt);
int64_t		 db_affected(struct db *, enum stmt);
int64_t		 db_insert_id(struct db *, enum stmt);
enum db_rc	 db_ping(struct db *);
const char	*db_rc_name(enum db_rc);

/* stmt.c */
const char	*stmt_sql(enum stmt);

/*
 * The operations of the API, the console and the workers: each public
 * db_* function runs one body through db_txn() or db_read(); the *_in
 * helpers run inside a caller's transaction.  Bodies are replayable: they
 * reset their outputs first.  Their types first, then each file's
 * prototypes.
 */

/* What audit_log keeps of an act over HTTP, besides its operator. */
struct audit_who {
	const char	*request_id;	/* X-Request-Id as answered */
	const char	*client;	/* REMOTE_ADDR, NULL: none */
	const char	*credential;	/* "admin_api_key:<8 hex of SHA-256>" */
};

struct code_row {
	int64_t		 user_id;
	char		 code[CODE_LEN + 1];
	int64_t		 created_at;
	int64_t		 expires_at;	/* 0: never */
	int64_t		 disabled_at;	/* 0: enabled */
};

struct signup_in {
	int64_t		 user_id;
	char		 code[CODE_LEN + 1];	/* "" if none given */
	int		 code_given;		/* a code was sent, maybe bad */
	char		 email_domain[256];	/* "" if none */
	char		 ip[46];
	char		 device[MAX_FIELD + 1];
	int		 disposable;		/* domain is on the list */
};

struct signup_out {
	char		 code[CODE_LEN + 1];	/* the new user's own code */
	enum attr_result result;
	enum rule	 rule;
	int64_t		 referral_id;		/* 0 if none */
	int64_t		 referrer_id;
	enum ref_state	 status;
	enum ref_review	 review;
};

struct event_in {
	char		 source[16];		/* "" for "webhook" */
	int		 mapped;		/* "kind" decided by the source's
						   mapping (core/intake.c), not
						   by qualifying_events */
	enum conv_kind	 kind;			/* with "mapped" */
	char		 id[MAX_EVENT_ID + 1];
	char		 type[64];
	int64_t		 user_id;
	char		 order_id[MAX_FIELD + 1];
	int64_t		 amount;		/* minor units */
	char		 currency[4];
	char		 payment_fp[MAX_FIELD + 1];	/* "" if none */
	char		 occurred_at[64];	/* RFC 3339, as sent; "" if none */
	char		 body_sha256[65];
};

struct event_out {
	enum outcome	 outcome;
	int64_t		 referral_id;
	int		 rewarded;		/* rewards issued now */
	char		 reason[32];		/* detail of ignored/voided */
};

struct reward_row {
	int64_t		 id;
	char		 role[16];
	int64_t		 user_id;
	char		 type[16];
	int64_t		 amount;
	char		 currency[4];
	char		 status[16];		/* issued, revoked */
	int64_t		 issued_at;
	char		 delivery[16];		/* the grant's outbox status */
	int64_t		 attempts;
	char		 last_error[MAX_REASON + 1];
	int64_t		 revoked_at;		/* 0: not revoked */
	char		 rv_delivery[16];	/* the revocation's, "": none */
	int64_t		 rv_attempts;
	char		 rv_last_error[MAX_REASON + 1];
};

struct referral_row {
	int64_t		 id;
	int64_t		 referrer_id;
	int64_t		 referee_id;
	char		 code[CODE_LEN + 1];
	enum ref_state	 status;
	enum ref_review	 review;
	char		 review_rule[32];
	char		 conversion_event[MAX_EVENT_ID + 1];
	char		 conversion_order[MAX_FIELD + 1];
	int64_t		 created_at;
	int64_t		 converted_at;
	int64_t		 rewarded_at;
	int64_t		 voided_at;
	char		 void_reason[MAX_REASON + 1];
	struct reward_row rewards[2];
	size_t		 rewardsz;
};

#define STATS_MAX_REWARDS 8
struct stats_row {
	int64_t		 user_id;
	char		 code[CODE_LEN + 1];	/* "" if none */
	int64_t		 clicks;
	int64_t		 signups;
	int64_t		 pending, converted, rewarded, voided, held;
	struct {
		char	 type[16];
		char	 currency[4];
		int64_t	 amount;
	}		 rewards[STATS_MAX_REWARDS];
	size_t		 rewardsz;
};

struct outbox_row {
	int64_t		 id;
	int64_t		 reward_id;
	char		 event[32];
	char		 key[64];
	char		 reward_type[16];
	char		*payload;		/* malloc'd; outbox_rows_free */
	int64_t		 attempts;
};

struct outbox_counts {
	int64_t		 pending, due, inflight, delivered, dead;
	int64_t		 delivered_today;
};

/* The landing cache's view of a code (fcgi/cache.c). */
struct code_brief {
	char		 code[CODE_LEN + 1];
	int64_t		 expires_at;	/* 0: never */
	int64_t		 disabled_at;	/* 0: enabled */
};

/* Clicks of one code on one UTC day, for db_clicks_add_many(). */
struct click_row {
	char		 code[CODE_LEN + 1];
	int64_t		 day;		/* a time in that day */
	int64_t		 n;
};

#define DB_CLICKS_BATCH		1000	/* click rows per statement */
#define DB_CODE_PAGE		1000	/* codes per page of db_code_page */


/* What became of one delivery attempt, for db_outbox_settle(). */
enum outbox_fate {
	OUTBOX_DELIVERED,
	OUTBOX_RETRY,
	OUTBOX_DEAD,
};

struct outbox_result {
	int64_t		 id;
	enum outbox_fate fate;
	int		 status;		/* HTTP status, 0: none */
	int64_t		 at;			/* delivered at / next attempt */
	char		 err[MAX_REASON + 1];	/* "" on delivery */
	int		 kept;			/* out: lease was still ours */
};


/* code.c */
enum db_rc	 db_code_get(struct db *, int64_t user, struct code_row *);
enum db_rc	 db_code_lookup(struct db *, const char *code,
		    struct code_row *);
enum db_rc	 db_code_mint(struct db *, int64_t user, int64_t now,
		    struct code_row *);
enum db_rc	 db_code_page(struct db *, int64_t before_id,
		    struct code_brief *, size_t max, size_t *n,
		    int64_t *last_id);
enum db_rc	 db_code_changes(struct db *, int64_t since,
		    struct code_brief *, size_t max, size_t *n,
		    int64_t *db_now);
enum db_rc	 db_db_now(struct db *, int64_t *db_now);
enum db_rc	 db_code_fetch(struct db *, enum stmt, struct code_row *);
enum db_rc	 db_code_by_user_in(struct db *, int64_t user,
		    struct code_row *);
enum db_rc	 db_code_mint_in(struct db *, int64_t user, int64_t now,
		    struct code_row *);

/* click.c */
enum db_rc	 db_clicks_add(struct db *, const char *code, int64_t day,
		    int64_t n);
enum db_rc	 db_clicks_add_many(struct db *, const struct click_row *,
		    size_t n);

/* signup.c */
enum db_rc	 db_signup(struct db *, const struct signup_in *, int64_t now,
		    struct signup_out *);

/* event.c */
enum db_rc	 db_event_apply(struct db *, const struct event_in *,
		    int64_t now, struct event_out *);

/* referral.c */
enum db_rc	 db_reward_issue(struct db *, int64_t referral, int64_t now);
enum db_rc	 db_rewards_due(struct db *, int64_t now, int64_t *ids,
		    size_t max, size_t *n);
enum db_rc	 db_referral_void(struct db *, int64_t id, const char *reason,
		    const char *operator, int64_t now);
enum db_rc	 db_referral_void_by(struct db *, int64_t id,
		    const char *reason, const char *operator,
		    const struct audit_who *, int64_t now);
enum db_rc	 db_referral_approve(struct db *, int64_t id,
		    const char *operator, int64_t now);
enum db_rc	 db_user_flag(struct db *, int64_t user, const char *reason,
		    const char *operator, int64_t now);
enum db_rc	 db_referral_get(struct db *, int64_t id,
		    struct referral_row *);
enum db_rc	 db_referral_fetch(struct db *, enum stmt,
		    struct referral_row *);
enum db_rc	 db_referral_lock(struct db *, int64_t id,
		    struct referral_row *);
enum db_rc	 db_reward_issue_in(struct db *, const struct referral_row *,
		    int64_t now);
enum db_rc	 db_referral_void_in(struct db *, const struct referral_row *,
		    enum ref_event, const char *reason, int64_t now);
enum db_rc	 db_flag_insert(struct db *, int64_t referral, int64_t user,
		    int64_t referrer, enum rule, const char *decision,
		    const char *detail, int64_t now);
enum db_rc	 db_audit_insert(struct db *, const char *operator,
		    const char *action, int64_t referral, int64_t user,
		    const char *detail, const struct audit_who *, int64_t now);

/* stats.c */
enum db_rc	 db_stats_get(struct db *, int64_t user, struct stats_row *);

/* outbox.c */
enum db_rc	 db_outbox_claim(struct db *, const char *owner, int64_t now,
		    long lease, struct outbox_row *, size_t max, size_t *n);
enum db_rc	 db_outbox_release(struct db *, const char *owner);
enum db_rc	 db_outbox_requeue(struct db *, int64_t id,
		    const char *operator, int64_t now);
enum db_rc	 db_outbox_counts(struct db *, int64_t now,
		    struct outbox_counts *);
void		 outbox_rows_free(struct outbox_row *, size_t);
enum db_rc	 db_outbox_purge(struct db *, int64_t now, size_t *n);
int		 reward_payload(char *buf, size_t sz, const char *event,
		    int64_t reward, int64_t referral, int64_t user,
		    const char *role, const struct reward_def *,
		    int64_t issued_at, int64_t revoked_at);
enum db_rc	 outbox_reward(struct db *, const char *event, int64_t reward,
		    int64_t referral, int64_t user, const char *role,
		    const struct reward_def *, int64_t issued_at,
		    int64_t revoked_at, int64_t after, int64_t now);
enum db_rc	 db_outbox_settle(struct db *, const char *owner,
		    struct outbox_result *, size_t n);

/* console.c: the console's read queries. */
#define CON_MAX_REWARD_TYPES	4	/* reward types shown per referrer */

struct con_referrer {
	int64_t		 user_id;
	char		 code[CODE_LEN + 1];	/* "" if none */
	int64_t		 clicks;
	int64_t		 signups;		/* referrals attributed */
	int64_t		 conversions;		/* converted or rewarded */
	int64_t		 held;			/* held, not voided */
	int64_t		 voided;
	struct {
		char	 type[16];
		char	 currency[4];
		int64_t	 amount;		/* minor units, issued */
	}		 rewards[CON_MAX_REWARD_TYPES];
	size_t		 rewardsz;
};

struct con_referral {
	int64_t		 id;
	int64_t		 referee_id;
	enum ref_state	 status;
	enum ref_review	 review;
	char		 review_rule[32];
	int64_t		 created_at, converted_at, rewarded_at, voided_at;
	char		 void_reason[MAX_REASON + 1];
	int64_t		 issued;		/* rewards, minor units */
	int64_t		 revoked;
	char		 currency[4];		/* "" if no rewards */
};

/* A row of the fraud screen: a held referral or a fraud flag. */
struct con_fraud {
	int64_t		 flag_id;		/* 0: a held referral */
	int64_t		 referral_id;		/* 0 if none */
	int64_t		 user_id;		/* referee or flagged user */
	int64_t		 referrer_id;		/* 0 if none */
	char		 rule[32];
	char		 decision[16];		/* hold, reject, void, ... */
	char		 detail[MAX_REASON + 1];
	int64_t		 at;
	enum ref_state	 status;		/* of the referral, if any */
	enum ref_review	 review;
};

struct con_dead {
	int64_t		 id;
	int64_t		 reward_id;
	char		 event[32];
	char		 type[16];
	int64_t		 attempts;
	int64_t		 last_status;		/* HTTP status, 0 if none */
	char		 last_error[MAX_REASON + 1];
	int64_t		 last_try;		/* next_attempt_at when it died */
	int64_t		 referral_id;
	int64_t		 user_id;
};

struct con_audit {
	int64_t		 id;
	int64_t		 at;
	char		 operator[MAX_OPERATOR + 1];
	char		 action[32];
	int64_t		 referral_id;		/* 0 if none */
	int64_t		 target_user;		/* 0 if none */
	char		 detail[MAX_REASON + 1];
};

enum db_rc	 db_referrers_top(struct db *, struct con_referrer *,
		    size_t max, size_t *n);
enum db_rc	 db_referrers_find(struct db *, int64_t user, const char *code,
		    struct con_referrer *, size_t max, size_t *n);
enum db_rc	 db_referrals_list_by_referrer(struct db *, int64_t referrer,
		    struct con_referral *, size_t max, size_t *n);
enum db_rc	 db_fraud_list(struct db *, struct con_fraud *, size_t max,
		    size_t *n, size_t *held);
enum db_rc	 db_outbox_dead_list(struct db *, struct con_dead *,
		    size_t max, size_t *n);
enum db_rc	 db_audit_list(struct db *, struct con_audit *, size_t max,
		    size_t *n);

#endif /* !REFERD_SQL_H */
