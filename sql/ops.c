/*
 * The operations: each public db_* function runs one body through db_txn()
 * or db_read().  Bodies are replayable: they reset their outputs first and
 * decide nothing until their statements have run.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "sql.h"

#define CODE_MINT_TRIES	8	/* collisions of random codes before giving up */
#define HOUR		3600
#define DAY		86400

static const char *const outcome_names[OUT__MAX] = {
	[OUT_CONVERTED] = "converted",
	[OUT_DUPLICATE] = "duplicate",
	[OUT_IGNORED] = "ignored",
	[OUT_BELOW_MINIMUM] = "below_minimum",
	[OUT_NO_REFERRAL] = "no_referral",
	[OUT_VOIDED] = "voided",
};

_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) == OUT__MAX,
    "outcome names");

const char *
outcome_name(enum outcome o)
{
	return outcome_names[o];
}

/* Reads one row of a count statement already executed. */
static enum db_rc
db_one(struct db *db, enum stmt s, int64_t *out, enum db_rc rc)
{
	if (rc != DB_OK)
		return rc;
	*out = 0;
	rc = db_fetch(db, s, "l", out);
	db_done(db, s);
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

static enum db_rc
fetch_code(struct db *db, enum stmt s, struct code_row *c)
{
	enum db_rc	 rc;

	memset(c, 0, sizeof(*c));
	rc = db_fetch(db, s, "lslll", &c->user_id, c->code, sizeof(c->code),
	    &c->created_at, &c->expires_at, &c->disabled_at);
	db_done(db, s);
	return rc;
}

/* The code of "user" by statement "s" (STMT_CODE_BY_USER or _LOCK). */
static enum db_rc
code_by_user_stmt(struct db *db, enum stmt s, int64_t user,
    struct code_row *c)
{
	enum db_rc	 rc;

	if ((rc = db_exec(db, s, "l", user)) != DB_OK)
		return rc;
	return fetch_code(db, s, c);
}

static enum db_rc
code_by_user(struct db *db, int64_t user, struct code_row *c)
{
	return code_by_user_stmt(db, STMT_CODE_BY_USER, user, c);
}

struct code_arg {
	int64_t		 user;
	const char	*code;
	int64_t		 now;
	struct code_row	*out;
};

static enum db_rc
code_get_fn(struct db *db, void *arg)
{
	struct code_arg	*a = arg;

	return code_by_user(db, a->user, a->out);
}

/*
 * Reads the code of "user".  Returns DB_OK, DB_NOTFOUND, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_code_get(struct db *db, int64_t user, struct code_row *out)
{
	struct code_arg	 a = { .user = user, .out = out };

	return db_read(db, code_get_fn, &a);
}

static enum db_rc
code_lookup_fn(struct db *db, void *arg)
{
	struct code_arg	*a = arg;
	enum db_rc	 rc;

	if ((rc = db_exec(db, STMT_CODE_BY_CODE, "s", a->code)) != DB_OK)
		return rc;
	return fetch_code(db, STMT_CODE_BY_CODE, a->out);
}

/*
 * Reads a code row by its (normalised) code.  Returns DB_OK, DB_NOTFOUND,
 * DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_code_lookup(struct db *db, const char *code, struct code_row *out)
{
	struct code_arg	 a = { .code = code, .out = out };

	return db_read(db, code_lookup_fn, &a);
}

/*
 * Inside a transaction: the user's code, minted if missing.  Returns DB_OK
 * for a new code, DB_DUP for an existing one (out filled either way).
 * Codes are random, so a collision with another user's code draws again.
 */
static enum db_rc
code_mint_in(struct db *db, int64_t user, int64_t now, struct code_row *out)
{
	enum db_rc	 rc;
	int		 i;

	if ((rc = code_by_user(db, user, out)) != DB_NOTFOUND)
		return rc == DB_OK ? DB_DUP : rc;
	for (i = 0; i < CODE_MINT_TRIES; i++) {
		char	 code[CODE_LEN + 1];

		if (code_mint(code) == -1) {
			log_err("%s: no randomness", __func__);
			return DB_ERR;
		}
		rc = db_exec(db, STMT_CODE_INSERT, "lsl", user, code, now);
		if (rc == DB_OK) {
			memset(out, 0, sizeof(*out));
			out->user_id = user;
			memcpy(out->code, code, sizeof(code));
			out->created_at = now;
			return DB_OK;
		}
		if (rc != DB_DUP)
			return rc;
		/*
		 * Another request minted for this user, or a collision.  A
		 * plain read may not see the other request's row yet (seen
		 * under load: the duplicate came back while a read-committed
		 * SELECT found nothing); a locking read waits for its writer
		 * and sees the latest committed row, so NOTFOUND here means
		 * a collision of random codes.
		 */
		if ((rc = code_by_user_stmt(db, STMT_CODE_BY_USER_LOCK, user,
		    out)) != DB_NOTFOUND)
			return rc == DB_OK ? DB_DUP : rc;
	}
	log_err("%s: %d code collisions in a row", __func__, i);
	return DB_ERR;
}

static enum db_rc
code_mint_fn(struct db *db, void *arg)
{
	struct code_arg	*a = arg;

	return code_mint_in(db, a->user, a->now, a->out);
}

/*
 * Returns the code of "user", minting it if missing: DB_OK (new), DB_DUP
 * (existed), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_code_mint(struct db *db, int64_t user, int64_t now, struct code_row *out)
{
	struct code_arg	 a = { .user = user, .now = now, .out = out };

	return db_txn(db, code_mint_fn, &a);
}

/* Inserts a fraud flag row. */
static enum db_rc
flag_insert(struct db *db, int64_t referral, int64_t user, int64_t referrer,
    enum rule rule, const char *decision, const char *detail, int64_t now)
{
	return db_exec(db, STMT_FLAG_INSERT, "LlLsssl", referral, user,
	    referrer, rule_name(rule), decision, detail, now);
}

/*
 * One audit_log row.  "who" adds the request id, client address and key
 * of an act over HTTP (NULL, or NULL fields: not recorded).
 */
static enum db_rc
audit_insert(struct db *db, const char *operator, const char *action,
    int64_t referral, int64_t user, const char *detail,
    const struct audit_who *who, int64_t now)
{
	return db_exec(db, STMT_AUDIT_INSERT, "lssLLsSSS", now, operator,
	    action, referral, user, detail,
	    who != NULL ? who->request_id : NULL,
	    who != NULL ? who->client : NULL,
	    who != NULL ? who->credential : NULL);
}

struct signup_arg {
	const struct signup_in	*in;
	int64_t			 now;
	struct signup_out	*out;
};

/* Fills "out" from the stored first answer for a repeated signup. */
static enum db_rc
signup_stored(struct db *db, const struct signup_in *in,
    struct signup_out *out)
{
	char		 result[16], rule[32], status[16];
	struct code_row	 c;
	enum db_rc	 rc;
	int		 i;

	if ((rc = db_exec(db, STMT_SIGNAL_GET, "l", in->user_id)) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_SIGNAL_GET, "ssllss", result, sizeof(result),
	    rule, sizeof(rule), &out->referral_id, &out->referrer_id, status,
	    sizeof(status), out->review, sizeof(out->review));
	db_done(db, STMT_SIGNAL_GET);
	/* The duplicate's row not visible yet: replay (see code_mint_in). */
	if (rc != DB_OK)
		return rc == DB_NOTFOUND ? DB_RETRY : rc;
	out->result = ATTR_NONE;
	for (i = 0; i < ATTR__MAX; i++)
		if (strcmp(result, attr_result_name(i)) == 0)
			out->result = i;
	out->rule = RULE_NONE;
	for (i = 0; i < RULE__MAX; i++)
		if (strcmp(rule, rule_name(i)) == 0)
			out->rule = i;
	if (out->referral_id != 0 && fsm_state_parse(status, &out->status))
		out->status = RS_PENDING;
	if ((rc = code_by_user(db, in->user_id, &c)) == DB_OK)
		memcpy(out->code, c.code, sizeof(c.code));
	return rc == DB_ERR || rc == DB_RETRY ? rc : DB_DUP;
}

/* Collects the facts about the code and the referrer for attr_decide. */
static enum db_rc
signup_facts(struct db *db, const struct signup_in *in, int64_t now,
    struct attr_facts *f)
{
	struct code_row	 c;
	int64_t		 n;
	enum db_rc	 rc;

	memset(f, 0, sizeof(*f));
	f->referee_id = in->user_id;
	f->disposable_email = in->disposable;
	if (!in->code_given) {
		f->code = CODE_NONE;
		return DB_OK;
	}
	if (in->code[0] == '\0') {
		f->code = CODE_UNKNOWN;
		return DB_OK;
	}
	if ((rc = db_exec(db, STMT_CODE_BY_CODE, "s", in->code)) != DB_OK)
		return rc;
	if ((rc = fetch_code(db, STMT_CODE_BY_CODE, &c)) == DB_NOTFOUND) {
		f->code = CODE_UNKNOWN;
		return DB_OK;
	} else if (rc != DB_OK)
		return rc;
	f->code = CODE_FOUND;
	f->referrer_id = c.user_id;
	f->expires_at = c.expires_at;
	f->disabled_at = c.disabled_at;
	if ((rc = db_one(db, STMT_FLAGGED_GET, &n,
	    db_exec(db, STMT_FLAGGED_GET, "l", c.user_id))) != DB_OK)
		return rc;
	f->referrer_flagged = n > 0;
	if (in->device[0] != '\0') {
		if ((rc = db_one(db, STMT_DEVICE_MATCH, &n,
		    db_exec(db, STMT_DEVICE_MATCH, "ls", c.user_id,
		    in->device))) != DB_OK)
			return rc;
		f->device_match = n > 0;
	}
	if (in->ip[0] != '\0') {
		if ((rc = db_one(db, STMT_SIGNAL_IP_MATCH, &n,
		    db_exec(db, STMT_SIGNAL_IP_MATCH, "ls", c.user_id,
		    in->ip))) != DB_OK)
			return rc;
		f->ip_match = n > 0;
		if ((rc = db_one(db, STMT_IP_HOUR, &n,
		    db_exec(db, STMT_IP_HOUR, "sll", in->ip, now - HOUR,
		    in->user_id))) != DB_OK)
			return rc;
		f->ip_hour = n;
	}
	if ((rc = db_one(db, STMT_REFERRER_HOUR, &n,
	    db_exec(db, STMT_REFERRER_HOUR, "ll", c.user_id,
	    now - HOUR))) != DB_OK)
		return rc;
	f->referrer_hour = n;
	return DB_OK;
}

/* The detail text of a fraud flag: the facts that made the rule fire. */
static void
rule_detail(enum rule r, const struct signup_in *in,
    const struct attr_facts *f, const struct conf *conf, char *buf,
    size_t sz)
{
	switch (r) {
	case RULE_CODE_UNKNOWN:
		snprintf(buf, sz, "code '%s' does not exist", in->code);
		break;
	case RULE_CODE_EXPIRED:
		snprintf(buf, sz, "code %s expired at %" PRId64, in->code,
		    f->expires_at);
		break;
	case RULE_CODE_DISABLED:
		snprintf(buf, sz, "code %s disabled at %" PRId64, in->code,
		    f->disabled_at);
		break;
	case RULE_SELF_REFERRAL:
		snprintf(buf, sz, "user %" PRId64 " used their own code %s",
		    in->user_id, in->code);
		break;
	case RULE_REFERRER_FLAGGED:
		snprintf(buf, sz, "referrer %" PRId64 " is flagged",
		    f->referrer_id);
		break;
	case RULE_DEVICE_MATCH:
		snprintf(buf, sz, "device fingerprint also used by referrer "
		    "%" PRId64, f->referrer_id);
		break;
	case RULE_SAME_IP:
		snprintf(buf, sz, "signup IP %s equals the referrer's", in->ip);
		break;
	case RULE_DISPOSABLE_EMAIL:
		snprintf(buf, sz, "email domain %s is disposable",
		    in->email_domain);
		break;
	case RULE_REFERRER_VELOCITY:
		snprintf(buf, sz, "%ld attributions to referrer %" PRId64
		    " in the last hour (max %ld)", f->referrer_hour + 1,
		    f->referrer_id, conf->max_signups_per_referrer_per_hour);
		break;
	case RULE_IP_VELOCITY:
		snprintf(buf, sz, "%ld signups from IP %s in the last hour "
		    "(max %ld)", f->ip_hour + 1, in->ip,
		    conf->max_signups_per_ip_per_hour);
		break;
	default:
		snprintf(buf, sz, "%s", rule_name(r));
		break;
	}
}

static enum db_rc
signup_fn(struct db *db, void *arg)
{
	struct signup_arg	*a = arg;
	const struct signup_in	*in = a->in;
	struct signup_out	*out = a->out;
	const struct conf	*conf = db->conf;
	struct attr_limits	 lim;
	struct attr_facts	 f;
	struct attr_decision	 d;
	struct code_row		 own;
	enum db_rc		 rc;
	int			 r;

	memset(out, 0, sizeof(*out));
	rc = db_exec(db, STMT_SIGNAL_INSERT, "lSSSSl", in->user_id,
	    in->email_domain, in->ip, in->device,
	    in->code_given ? in->code : "", a->now);
	if (rc == DB_DUP)
		return signup_stored(db, in, out);
	if (rc != DB_OK)
		return rc;
	if (in->device[0] != '\0' && (rc = db_exec(db, STMT_DEVICE_INSERT,
	    "lsl", in->user_id, in->device, a->now)) != DB_OK)
		return rc;
	if ((rc = code_mint_in(db, in->user_id, a->now, &own)) != DB_OK &&
	    rc != DB_DUP)
		return rc;
	memcpy(out->code, own.code, sizeof(own.code));

	if ((rc = signup_facts(db, in, a->now, &f)) != DB_OK)
		return rc;
	lim.max_per_referrer_hour = conf->max_signups_per_referrer_per_hour;
	lim.max_per_ip_hour = conf->max_signups_per_ip_per_hour;
	d = attr_decide(&f, &lim, a->now);
	out->result = d.result;
	out->rule = d.rule;
	out->referrer_id = f.referrer_id;
	if (d.result == ATTR_ATTRIBUTED || d.result == ATTR_HELD) {
		int held = d.result == ATTR_HELD;

		rc = db_exec(db, STMT_REFERRAL_INSERT, "llssSl", f.referrer_id,
		    in->user_id, in->code, held ? "held" : "none",
		    held ? rule_name(d.rule) : "", a->now);
		if (rc != DB_OK)
			return rc == DB_DUP ? DB_RETRY : rc;
		out->referral_id = db_insert_id(db, STMT_REFERRAL_INSERT);
		out->status = RS_PENDING;
		snprintf(out->review, sizeof(out->review), "%s",
		    held ? "held" : "none");
	} else
		out->referrer_id = d.result == ATTR_REJECTED ?
		    f.referrer_id : 0;
	/* Every rule that fired leaves a flag with its detail. */
	for (r = 1; r < RULE__MAX; r++) {
		char	 detail[MAX_REASON];

		if (!(d.fired & (1u << r)))
			continue;
		rule_detail(r, in, &f, conf, detail, sizeof(detail));
		if ((rc = flag_insert(db, out->referral_id, in->user_id,
		    f.referrer_id, r, rule_is_reject(r) ? "reject" : "hold",
		    detail, a->now)) != DB_OK)
			return rc;
	}
	return db_exec(db, STMT_SIGNAL_SET_RESULT, "sSLl",
	    attr_result_name(d.result), d.rule == RULE_NONE ? "" :
	    rule_name(d.rule), out->referral_id, in->user_id);
}

/*
 * Records a new user's signals, mints their code and attributes them.
 * Returns DB_OK (first call), DB_DUP (repeat: "out" is the first answer),
 * DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_signup(struct db *db, const struct signup_in *in, int64_t now,
    struct signup_out *out)
{
	struct signup_arg	 a = { .in = in, .now = now, .out = out };

	return db_txn(db, signup_fn, &a);
}

static enum db_rc
referral_fetch(struct db *db, enum stmt s, struct referral_row *r)
{
	char		 status[16];
	enum db_rc	 rc;

	memset(r, 0, sizeof(*r));
	rc = db_fetch(db, s, "lllsssssslllls", &r->id, &r->referrer_id,
	    &r->referee_id, r->code, sizeof(r->code), status, sizeof(status),
	    r->review, sizeof(r->review), r->review_rule,
	    sizeof(r->review_rule), r->conversion_event,
	    sizeof(r->conversion_event), r->conversion_order,
	    sizeof(r->conversion_order), &r->created_at, &r->converted_at,
	    &r->rewarded_at, &r->voided_at, r->void_reason,
	    sizeof(r->void_reason));
	db_done(db, s);
	if (rc == DB_OK && fsm_state_parse(status, &r->status) == -1)
		rc = DB_ERR;
	return rc;
}

/*
 * Writes into "buf" (sz bytes) the JSON of a reward message (SPEC section
 * 6), made with json-c so that every value is escaped whatever it holds:
 * {"event","reward_id","referral_id","user_id","role","type","amount",
 * "currency","issued_at"}, in that order, without blanks.  Returns 0, or
 * -1 if memory fails or the text does not fit.
 */
int
reward_payload(char *buf, size_t sz, const char *event, int64_t reward,
    int64_t referral, int64_t user, const char *role,
    const struct reward_def *def, int64_t now)
{
	json_object	*o;
	const char	*text;
	char		 amount[32], ts[32];
	time_t		 t = (time_t)now;
	struct tm	 tm;
	size_t		 len;
	int		 rc = -1;

	if (money_format(def->amount, amount, sizeof(amount)) == -1 ||
	    gmtime_r(&t, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	if ((o = json_object_new_object()) == NULL)
		return -1;
	if (json_object_object_add(o, "event",
	    json_object_new_string(event)) != 0 ||
	    json_object_object_add(o, "reward_id",
	    json_object_new_int64(reward)) != 0 ||
	    json_object_object_add(o, "referral_id",
	    json_object_new_int64(referral)) != 0 ||
	    json_object_object_add(o, "user_id",
	    json_object_new_int64(user)) != 0 ||
	    json_object_object_add(o, "role",
	    json_object_new_string(role)) != 0 ||
	    json_object_object_add(o, "type",
	    json_object_new_string(def->type)) != 0 ||
	    json_object_object_add(o, "amount",
	    json_object_new_string(amount)) != 0 ||
	    json_object_object_add(o, "currency",
	    json_object_new_string(def->currency)) != 0 ||
	    json_object_object_add(o, "issued_at",
	    json_object_new_string(ts)) != 0)
		goto out;
	if ((text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL ||
	    (len = strlen(text)) >= sz)
		goto out;
	memcpy(buf, text, len + 1);
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

static enum db_rc
outbox_insert(struct db *db, int64_t reward, const char *event,
    const char *prefix, const char *payload, const char *type, int64_t now)
{
	char	 key[64];

	snprintf(key, sizeof(key), "%s-%" PRId64, prefix, reward);
	return db_exec(db, STMT_OUTBOX_INSERT, "lssssll", reward, event, key,
	    type, payload, now, now);
}

/*
 * Inside a transaction: converted -> rewarded with the two rewards and
 * their outbox rows.  Returns DB_OK, DB_NOOP (not due, held, or done).
 */
static enum db_rc
reward_issue_in(struct db *db, const struct referral_row *r, int64_t now)
{
	const struct conf	*conf = db->conf;
	const struct {
		const char		*role;
		int64_t			 user;
		const struct reward_def	*def;
	} parties[2] = {
		{ "referrer", r->referrer_id, &conf->reward_referrer },
		{ "referee", r->referee_id, &conf->reward_referee },
	};
	struct fsm_step	 step = fsm_next(r->status, RE_REWARD);
	enum db_rc	 rc;
	size_t		 i;

	if (step.rc != FSM_OK || !(step.actions & FSM_A_REWARD))
		return DB_NOOP;
	rc = db_exec(db, STMT_REFERRAL_REWARD, "lll", now, r->id,
	    now - conf->hold_days * DAY);
	if (rc != DB_OK)
		return rc;
	if (db_affected(db, STMT_REFERRAL_REWARD) != 1)
		return DB_NOOP;
	for (i = 0; i < 2; i++) {
		char	 payload[1024];
		int64_t	 id;

		rc = db_exec(db, STMT_REWARD_INSERT, "lslsmsl", r->id,
		    parties[i].role, parties[i].user, parties[i].def->type,
		    parties[i].def->amount, parties[i].def->currency, now);
		if (rc != DB_OK)
			return rc == DB_DUP ? DB_RETRY : rc;
		id = db_insert_id(db, STMT_REWARD_INSERT);
		if (reward_payload(payload, sizeof(payload), "reward.issued",
		    id, r->id, parties[i].user, parties[i].role,
		    parties[i].def, now) == -1) {
			log_err("%s: reward %" PRId64 ": payload", __func__, id);
			return DB_ERR;
		}
		if ((rc = outbox_insert(db, id, "reward.issued", "reward",
		    payload, parties[i].def->type, now)) != DB_OK)
			return rc == DB_DUP ? DB_RETRY : rc;
	}
	return DB_OK;
}

/*
 * Inside a transaction: voids a locked referral row, revoking issued
 * rewards.  "ev" is RE_VOID or RE_REFUND.  Returns DB_OK, DB_NOOP (already
 * void or nothing to void) or DB_INVALID.
 */
static enum db_rc
void_in(struct db *db, const struct referral_row *r, enum ref_event ev,
    const char *reason, int64_t now)
{
	struct fsm_step	 step = fsm_next(r->status, ev);
	struct reward_row rw[2];
	size_t		 n = 0, i;
	enum db_rc	 rc;

	if (step.rc != FSM_OK)
		return step.rc == FSM_NOOP ? DB_NOOP : DB_INVALID;
	if ((rc = db_exec(db, STMT_REFERRAL_VOID, "slls", reason, now, r->id,
	    fsm_state_name(r->status))) != DB_OK)
		return rc;
	if (db_affected(db, STMT_REFERRAL_VOID) != 1)
		return DB_RETRY; /* changed under us despite the lock */
	if (!(step.actions & FSM_A_REVOKE))
		return DB_OK;
	if ((rc = db_exec(db, STMT_REWARD_LIST, "l", r->id)) != DB_OK)
		return rc;
	while (n < 2) {
		struct reward_row *w = &rw[n];

		memset(w, 0, sizeof(*w));
		rc = db_fetch(db, STMT_REWARD_LIST, "lslsmsslsls", &w->id,
		    w->role, sizeof(w->role), &w->user_id, w->type,
		    sizeof(w->type), &w->amount, w->currency,
		    sizeof(w->currency), w->status, sizeof(w->status),
		    &w->issued_at, w->delivery, sizeof(w->delivery),
		    &w->attempts, w->last_error, sizeof(w->last_error));
		if (rc != DB_OK)
			break;
		n++;
	}
	db_done(db, STMT_REWARD_LIST);
	if (rc != DB_OK && rc != DB_NOTFOUND)
		return rc;
	for (i = 0; i < n; i++) {
		struct reward_def def;
		char	 payload[1024];

		if ((rc = db_exec(db, STMT_REWARD_REVOKE, "ll", now,
		    rw[i].id)) != DB_OK)
			return rc;
		if (db_affected(db, STMT_REWARD_REVOKE) != 1)
			continue;
		memset(&def, 0, sizeof(def));
		snprintf(def.type, sizeof(def.type), "%s", rw[i].type);
		snprintf(def.currency, sizeof(def.currency), "%s",
		    rw[i].currency);
		def.amount = rw[i].amount;
		if (reward_payload(payload, sizeof(payload), "reward.revoked",
		    rw[i].id, r->id, rw[i].user_id, rw[i].role, &def,
		    now) == -1) {
			log_err("%s: reward %" PRId64 ": payload", __func__,
			    rw[i].id);
			return DB_ERR;
		}
		if ((rc = outbox_insert(db, rw[i].id, "reward.revoked",
		    "revoke", payload, rw[i].type, now)) != DB_OK)
			return rc == DB_DUP ? DB_RETRY : rc;
	}
	return DB_OK;
}

struct event_arg {
	const struct event_in	*in;
	int64_t			 now;
	struct event_out	*out;
};

/* A qualifying order: pending -> converted, then maybe rewards. */
static enum db_rc
event_convert(struct db *db, const struct event_in *in, int64_t now,
    struct event_out *out)
{
	const struct conf	*conf = db->conf;
	struct referral_row	 r;
	int64_t			 n;
	enum db_rc		 rc;

	if (in->amount < conf->min_order_amount) {
		out->outcome = OUT_BELOW_MINIMUM;
		return DB_OK;
	}
	/*
	 * Order systems deliver out of order: a refund of this order that
	 * came first forbids the conversion.  The referral row is locked
	 * first, as event_refund() does, so that a refund racing this
	 * event is either seen here or sees the conversion.
	 */
	if ((rc = db_exec(db, STMT_REFERRAL_BY_REFEREE_LOCK, "l",
	    in->user_id)) != DB_OK)
		return rc;
	rc = referral_fetch(db, STMT_REFERRAL_BY_REFEREE_LOCK, &r);
	if (rc == DB_NOTFOUND) {
		out->outcome = OUT_NO_REFERRAL;
		return DB_OK;
	} else if (rc != DB_OK)
		return rc;
	if (r.status == RS_PENDING) {
		if ((rc = db_one(db, STMT_EVENT_REFUNDED, &n,
		    db_exec(db, STMT_EVENT_REFUNDED, "ls", in->user_id,
		    in->order_id))) != DB_OK)
			return rc;
		if (n > 0) {
			out->referral_id = r.id;
			out->outcome = OUT_IGNORED;
			snprintf(out->reason, sizeof(out->reason),
			    "order_refunded");
			return DB_OK;
		}
	}
	if ((rc = db_exec(db, STMT_REFERRAL_CONVERT, "ssll", in->id,
	    in->order_id, now, in->user_id)) != DB_OK)
		return rc;
	n = db_affected(db, STMT_REFERRAL_CONVERT);
	if ((rc = db_exec(db, STMT_REFERRAL_BY_REFEREE, "l",
	    in->user_id)) != DB_OK)
		return rc;
	rc = referral_fetch(db, STMT_REFERRAL_BY_REFEREE, &r);
	if (rc == DB_NOTFOUND) {
		out->outcome = OUT_NO_REFERRAL;
		return DB_OK;
	} else if (rc != DB_OK)
		return rc;
	out->referral_id = r.id;
	if (n != 1) {
		out->outcome = OUT_IGNORED;
		snprintf(out->reason, sizeof(out->reason), "already_%s",
		    fsm_state_name(r.status));
		return DB_OK;
	}
	out->outcome = OUT_CONVERTED;
	/* At reward time: the referee paid with a card the referrer used. */
	if (in->payment_fp[0] != '\0') {
		if ((rc = db_one(db, STMT_PAYFP_MATCH, &n,
		    db_exec(db, STMT_PAYFP_MATCH, "ls", r.referrer_id,
		    in->payment_fp))) != DB_OK)
			return rc;
		if (n > 0) {
			char	 detail[MAX_REASON];

			snprintf(detail, sizeof(detail), "order %s paid with "
			    "a payment fingerprint of referrer %" PRId64,
			    in->order_id, r.referrer_id);
			if ((rc = void_in(db, &r, RE_VOID, "payment_match",
			    now)) != DB_OK && rc != DB_NOOP)
				return rc == DB_INVALID ? DB_ERR : rc;
			if ((rc = flag_insert(db, r.id, r.referee_id,
			    r.referrer_id, RULE_PAYMENT_MATCH, "void",
			    detail, now)) != DB_OK)
				return rc;
			out->outcome = OUT_VOIDED;
			snprintf(out->reason, sizeof(out->reason), "%s",
			    rule_name(RULE_PAYMENT_MATCH));
			return DB_OK;
		}
	}
	if (conf->hold_days == 0 && strcmp(r.review, "held") != 0) {
		r.status = RS_CONVERTED;
		if ((rc = reward_issue_in(db, &r, now)) == DB_OK)
			out->rewarded = 1;
		else if (rc != DB_NOOP)
			return rc;
	}
	return DB_OK;
}

/* A refund of the converting order voids the referral. */
static enum db_rc
event_refund(struct db *db, const struct event_in *in, int64_t now,
    struct event_out *out)
{
	struct referral_row	 r;
	enum db_rc		 rc;

	if ((rc = db_exec(db, STMT_REFERRAL_BY_ORDER_LOCK, "ls", in->user_id,
	    in->order_id)) != DB_OK)
		return rc;
	rc = referral_fetch(db, STMT_REFERRAL_BY_ORDER_LOCK, &r);
	if (rc == DB_NOTFOUND) {
		/*
		 * Not (yet) the converting order: hold the referee's referral
		 * until commit, so that a completion of this order racing us
		 * waits and then finds this refund (event_convert()).
		 */
		if ((rc = db_exec(db, STMT_REFERRAL_BY_REFEREE_LOCK, "l",
		    in->user_id)) != DB_OK)
			return rc;
		rc = referral_fetch(db, STMT_REFERRAL_BY_REFEREE_LOCK, &r);
		if (rc != DB_OK && rc != DB_NOTFOUND)
			return rc;
		out->outcome = OUT_IGNORED;
		snprintf(out->reason, sizeof(out->reason), "not_converting_order");
		return DB_OK;
	} else if (rc != DB_OK)
		return rc;
	out->referral_id = r.id;
	rc = void_in(db, &r, RE_REFUND, "refunded", now);
	if (rc == DB_OK) {
		out->outcome = OUT_VOIDED;
		snprintf(out->reason, sizeof(out->reason), "refunded");
		return audit_insert(db, "system", "refund", r.id, r.referee_id,
		    in->id, NULL, now);
	}
	if (rc == DB_NOOP || rc == DB_INVALID) {
		out->outcome = OUT_IGNORED;
		snprintf(out->reason, sizeof(out->reason), "already_%s",
		    fsm_state_name(r.status));
		return DB_OK;
	}
	return rc;
}

static enum db_rc
event_fn(struct db *db, void *arg)
{
	struct event_arg	*a = arg;
	const struct event_in	*in = a->in;
	struct event_out	*out = a->out;
	int64_t			 row;
	enum db_rc		 rc;

	memset(out, 0, sizeof(*out));
	rc = db_exec(db, STMT_EVENT_INSERT, "ssssls" "l", "webhook", in->id,
	    in->body_sha256, in->type, in->user_id, in->order_id, a->now);
	if (rc == DB_DUP) {
		char	 hash[65], outcome[32];

		if ((rc = db_exec(db, STMT_EVENT_GET, "ss", "webhook",
		    in->id)) != DB_OK)
			return rc;
		rc = db_fetch(db, STMT_EVENT_GET, "ssl", hash, sizeof(hash),
		    outcome, sizeof(outcome), &out->referral_id);
		db_done(db, STMT_EVENT_GET);
		if (rc != DB_OK)
			return rc == DB_NOTFOUND ? DB_RETRY : rc;
		out->outcome = OUT_DUPLICATE;
		return strcmp(hash, in->body_sha256) == 0 ? DB_DUP :
		    DB_CONFLICT;
	}
	if (rc != DB_OK)
		return rc;
	row = db_insert_id(db, STMT_EVENT_INSERT);
	if (in->payment_fp[0] != '\0' && (rc = db_exec(db, STMT_PAYFP_INSERT,
	    "lsl", in->user_id, in->payment_fp, a->now)) != DB_OK)
		return rc;
	if (conf_is_qualifying(db->conf, in->type))
		rc = event_convert(db, in, a->now, out);
	else if (strcmp(in->type, "order.refunded") == 0)
		rc = event_refund(db, in, a->now, out);
	else {
		out->outcome = OUT_IGNORED;
		snprintf(out->reason, sizeof(out->reason), "type_not_qualifying");
		rc = DB_OK;
	}
	if (rc != DB_OK)
		return rc;
	return db_exec(db, STMT_EVENT_SET_OUTCOME, "sLl",
	    outcome_name(out->outcome), out->referral_id, row);
}

/*
 * Applies a verified conversion event: records its id for good and acts
 * on it in one transaction.  Returns DB_OK ("out" says what happened),
 * DB_DUP (seen before with the same body), DB_CONFLICT (seen with another
 * body), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_event_apply(struct db *db, const struct event_in *in, int64_t now,
    struct event_out *out)
{
	struct event_arg	 a = { .in = in, .now = now, .out = out };

	return db_txn(db, event_fn, &a);
}

struct referral_arg {
	int64_t		 id;
	const char	*reason;
	const char	*operator;
	const struct audit_who *who;	/* of an API act, or NULL */
	int64_t		 now;
	struct referral_row *row;
};

static enum db_rc
lock_referral(struct db *db, int64_t id, struct referral_row *r)
{
	enum db_rc	 rc;

	if ((rc = db_exec(db, STMT_REFERRAL_BY_ID_LOCK, "l", id)) != DB_OK)
		return rc;
	return referral_fetch(db, STMT_REFERRAL_BY_ID_LOCK, r);
}

static enum db_rc
reward_issue_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	struct referral_row	 r;
	enum db_rc		 rc;

	if ((rc = lock_referral(db, a->id, &r)) != DB_OK)
		return rc;
	return reward_issue_in(db, &r, a->now);
}

/*
 * Rewards one converted referral if its hold period is over and it is not
 * held.  Returns DB_OK, DB_NOOP, DB_NOTFOUND, DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_reward_issue(struct db *db, int64_t referral, int64_t now)
{
	struct referral_arg	 a = { .id = referral, .now = now };

	return db_txn(db, reward_issue_fn, &a);
}

struct due_arg {
	int64_t		 now;
	int64_t		*ids;
	size_t		 max, *n;
};

static enum db_rc
due_fn(struct db *db, void *arg)
{
	struct due_arg	*a = arg;
	enum db_rc	 rc;

	*a->n = 0;
	if ((rc = db_exec(db, STMT_REFERRALS_DUE, "ll",
	    a->now - db->conf->hold_days * DAY, (int64_t)a->max)) != DB_OK)
		return rc;
	while (*a->n < a->max && (rc = db_fetch(db, STMT_REFERRALS_DUE, "l",
	    &a->ids[*a->n])) == DB_OK)
		(*a->n)++;
	db_done(db, STMT_REFERRALS_DUE);
	return rc == DB_NOTFOUND || rc == DB_OK ? DB_OK : rc;
}

/*
 * Lists up to "max" converted referrals whose hold period has passed and
 * that are not held for review.
 */
enum db_rc
db_rewards_due(struct db *db, int64_t now, int64_t *ids, size_t max,
    size_t *n)
{
	struct due_arg	 a = { .now = now, .ids = ids, .max = max, .n = n };

	return db_read(db, due_fn, &a);
}

static enum db_rc
void_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	struct referral_row	 r;
	enum db_rc		 rc;

	if ((rc = lock_referral(db, a->id, &r)) != DB_OK)
		return rc;
	if ((rc = void_in(db, &r, RE_VOID, a->reason, a->now)) != DB_OK)
		return rc;
	return audit_insert(db, a->operator, "void", r.id, r.referee_id,
	    a->reason, a->who, a->now);
}

/*
 * Voids a referral by hand (API or console: the same act), revoking its
 * rewards if it was rewarded, audit-logged with operator and reason, and
 * with what "who" tells of an API call (may be NULL).
 * Returns DB_OK, DB_NOOP (already void), DB_NOTFOUND, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_referral_void_by(struct db *db, int64_t id, const char *reason,
    const char *operator, const struct audit_who *who, int64_t now)
{
	struct referral_arg	 a = { .id = id, .reason = reason,
				    .operator = operator, .who = who,
				    .now = now };

	return db_txn(db, void_fn, &a);
}

/* db_referral_void_by() for the console and tools: the operator only. */
enum db_rc
db_referral_void(struct db *db, int64_t id, const char *reason,
    const char *operator, int64_t now)
{
	return db_referral_void_by(db, id, reason, operator, NULL, now);
}

static enum db_rc
approve_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	struct referral_row	 r;
	struct fsm_step		 step;
	char			 detail[MAX_REASON];
	enum db_rc		 rc;

	if ((rc = lock_referral(db, a->id, &r)) != DB_OK)
		return rc;
	step = fsm_next(r.status, RE_APPROVE);
	if (step.rc == FSM_INVALID)
		return DB_INVALID;
	if (step.rc == FSM_NOOP || strcmp(r.review, "held") != 0)
		return DB_NOOP;
	if ((rc = db_exec(db, STMT_REFERRAL_SET_REVIEW, "sSls", "approved",
	    r.review_rule, r.id, "held")) != DB_OK)
		return rc;
	snprintf(detail, sizeof(detail), "approved by %s (held for %s)",
	    a->operator, r.review_rule);
	if ((rc = flag_insert(db, r.id, r.referee_id, r.referrer_id,
	    RULE_MANUAL, "approve", detail, a->now)) != DB_OK ||
	    (rc = audit_insert(db, a->operator, "approve", r.id, r.referee_id,
	    r.review_rule, a->who, a->now)) != DB_OK)
		return rc;
	snprintf(r.review, sizeof(r.review), "approved");
	rc = reward_issue_in(db, &r, a->now);
	return rc == DB_NOOP ? DB_OK : rc;
}

/*
 * Approves a held referral; if it is converted and past its hold period
 * its rewards are issued in the same transaction.  Returns DB_OK, DB_NOOP
 * (not held), DB_INVALID (rewarded or void), DB_NOTFOUND, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_referral_approve(struct db *db, int64_t id, const char *operator,
    int64_t now)
{
	struct referral_arg	 a = { .id = id, .operator = operator,
				    .now = now };

	return db_txn(db, approve_fn, &a);
}

static enum db_rc
flag_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	enum db_rc		 rc;

	if ((rc = db_exec(db, STMT_FLAGGED_INSERT, "lssl", a->id, a->reason,
	    a->operator, a->now)) != DB_OK)
		return rc;
	if (db_affected(db, STMT_FLAGGED_INSERT) != 1)
		return DB_NOOP;
	if ((rc = flag_insert(db, 0, a->id, 0, RULE_MANUAL, "flag",
	    a->reason, a->now)) != DB_OK)
		return rc;
	return audit_insert(db, a->operator, "flag_user", 0, a->id,
	    a->reason, a->who, a->now);
}

/*
 * Flags a user's account: their code no longer attributes anyone.
 * Returns DB_OK, DB_NOOP (already flagged), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_user_flag(struct db *db, int64_t user, const char *reason,
    const char *operator, int64_t now)
{
	struct referral_arg	 a = { .id = user, .reason = reason,
				    .operator = operator, .now = now };

	return db_txn(db, flag_fn, &a);
}

static enum db_rc
referral_get_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	struct referral_row	*r = a->row;
	enum db_rc		 rc;

	if ((rc = db_exec(db, STMT_REFERRAL_BY_ID, "l", a->id)) != DB_OK)
		return rc;
	if ((rc = referral_fetch(db, STMT_REFERRAL_BY_ID, r)) != DB_OK)
		return rc;
	if ((rc = db_exec(db, STMT_REWARD_LIST, "l", r->id)) != DB_OK)
		return rc;
	while (r->rewardsz < 2) {
		struct reward_row *w = &r->rewards[r->rewardsz];

		rc = db_fetch(db, STMT_REWARD_LIST, "lslsmsslsls", &w->id,
		    w->role, sizeof(w->role), &w->user_id, w->type,
		    sizeof(w->type), &w->amount, w->currency,
		    sizeof(w->currency), w->status, sizeof(w->status),
		    &w->issued_at, w->delivery, sizeof(w->delivery),
		    &w->attempts, w->last_error, sizeof(w->last_error));
		if (rc != DB_OK)
			break;
		r->rewardsz++;
	}
	db_done(db, STMT_REWARD_LIST);
	return rc == DB_NOTFOUND || rc == DB_OK ? DB_OK : rc;
}

/*
 * Reads a referral with its rewards and their delivery state.
 * Returns DB_OK, DB_NOTFOUND, DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_referral_get(struct db *db, int64_t id, struct referral_row *out)
{
	struct referral_arg	 a = { .id = id, .row = out };

	return db_read(db, referral_get_fn, &a);
}

struct stats_arg {
	int64_t		 user;
	struct stats_row *out;
};

static enum db_rc
stats_fn(struct db *db, void *arg)
{
	struct stats_arg	*a = arg;
	struct stats_row	*s = a->out;
	struct code_row		 c;
	enum db_rc		 rc;

	memset(s, 0, sizeof(*s));
	s->user_id = a->user;
	if ((rc = code_by_user(db, a->user, &c)) == DB_OK) {
		memcpy(s->code, c.code, sizeof(c.code));
		if ((rc = db_one(db, STMT_STATS_CLICKS, &s->clicks,
		    db_exec(db, STMT_STATS_CLICKS, "s", c.code))) != DB_OK)
			return rc;
	} else if (rc != DB_NOTFOUND)
		return rc;
	if ((rc = db_exec(db, STMT_STATS_COUNTS, "l", a->user)) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_STATS_COUNTS, "llllll", &s->signups,
	    &s->pending, &s->converted, &s->rewarded, &s->voided, &s->held);
	db_done(db, STMT_STATS_COUNTS);
	if (rc != DB_OK)
		return rc;
	if (s->code[0] == '\0' && s->signups == 0)
		return DB_NOTFOUND;
	if ((rc = db_exec(db, STMT_STATS_REWARDS, "l", a->user)) != DB_OK)
		return rc;
	while (s->rewardsz < STATS_MAX_REWARDS) {
		size_t	 i = s->rewardsz;

		rc = db_fetch(db, STMT_STATS_REWARDS, "ssm",
		    s->rewards[i].type, sizeof(s->rewards[i].type),
		    s->rewards[i].currency, sizeof(s->rewards[i].currency),
		    &s->rewards[i].amount);
		if (rc != DB_OK)
			break;
		s->rewardsz++;
	}
	db_done(db, STMT_STATS_REWARDS);
	return rc == DB_NOTFOUND || rc == DB_OK ? DB_OK : rc;
}

/*
 * Reads a referrer's counters.  Returns DB_OK, DB_NOTFOUND (no code and
 * no referrals), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_stats_get(struct db *db, int64_t user, struct stats_row *out)
{
	struct stats_arg	 a = { .user = user, .out = out };

	return db_read(db, stats_fn, &a);
}

struct clicks_arg {
	const char	*code;
	int64_t		 day, n;
};

static enum db_rc
clicks_fn(struct db *db, void *arg)
{
	struct clicks_arg	*a = arg;

	return db_exec(db, STMT_CLICKS_ADD, "sll", a->code, a->day, a->n);
}

/*
 * Adds "n" clicks to "code" on the UTC day containing time "day".
 */
enum db_rc
db_clicks_add(struct db *db, const char *code, int64_t day, int64_t n)
{
	struct clicks_arg	 a = { .code = code, .day = day, .n = n };

	return db_read(db, clicks_fn, &a);
}

static enum db_rc
brief_fetch(struct db *db, enum stmt s, struct code_brief *b,
    int64_t *id)
{
	memset(b, 0, sizeof(*b));
	if (id != NULL)
		return db_fetch(db, s, "lsll", id, b->code, sizeof(b->code),
		    &b->expires_at, &b->disabled_at);
	return db_fetch(db, s, "sll", b->code, sizeof(b->code),
	    &b->expires_at, &b->disabled_at);
}

struct brief_arg {
	int64_t			 key;		/* before id, or since */
	struct code_brief	*out;
	size_t			 max, n;
	int64_t			 last;		/* last id, or db now */
};

/* Runs "s" (key, limit) and reads up to a->max code rows into a->out. */
static enum db_rc
brief_list(struct db *db, enum stmt s, struct brief_arg *a, int64_t *id)
{
	enum db_rc	 rc;

	a->n = 0;
	if ((rc = db_exec(db, s, "ll", a->key, (int64_t)a->max)) != DB_OK)
		return rc;
	while (a->n < a->max &&
	    (rc = brief_fetch(db, s, &a->out[a->n], id)) == DB_OK)
		a->n++;
	db_done(db, s);
	return rc == DB_OK || rc == DB_NOTFOUND ? DB_OK : rc;
}

static enum db_rc
code_page_fn(struct db *db, void *arg)
{
	struct brief_arg	*a = arg;

	a->last = 0;
	return brief_list(db, STMT_CODE_PAGE, a, &a->last);
}

/*
 * Reads up to "max" codes with an id below "before_id", newest first, for
 * a cache that loads the table page by page.  *last_id is the id to pass
 * for the next page; *n < max means this was the last.  Returns DB_OK,
 * DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_code_page(struct db *db, int64_t before_id, struct code_brief *out,
    size_t max, size_t *n, int64_t *last_id)
{
	struct brief_arg	 a = { .key = before_id, .out = out, .max = max };
	enum db_rc		 rc;

	rc = db_read(db, code_page_fn, &a);
	*n = a.n;
	*last_id = a.last;
	return rc;
}

static enum db_rc
db_now_fn(struct db *db, int64_t *now)
{
	enum db_rc	 rc;

	*now = 0;
	if ((rc = db_exec(db, STMT_DB_NOW, "")) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_DB_NOW, "l", now);
	db_done(db, STMT_DB_NOW);
	return rc == DB_NOTFOUND ? DB_ERR : rc;
}

static enum db_rc
code_changes_fn(struct db *db, void *arg)
{
	struct brief_arg	*a = arg;
	enum db_rc		 rc;

	a->n = 0;	/* if the clock read fails */
	/* The clock first: a change after it is seen by the next poll. */
	if ((rc = db_now_fn(db, &a->last)) != DB_OK)
		return rc;
	return brief_list(db, STMT_CODE_CHANGES, a, NULL);
}

/*
 * Reads the database's clock (*db_now), then up to "max" codes updated
 * at or after "since", a time of that clock (changed_at, migration 003).
 * *n == max means there may be more.  Returns DB_OK, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_code_changes(struct db *db, int64_t since, struct code_brief *out,
    size_t max, size_t *n, int64_t *db_now)
{
	struct brief_arg	 a = { .key = since, .out = out, .max = max };
	enum db_rc		 rc;

	rc = db_read(db, code_changes_fn, &a);
	*n = a.n;
	*db_now = a.last;
	return rc;
}

static enum db_rc
now_fn(struct db *db, void *arg)
{
	return db_now_fn(db, arg);
}

/*
 * Reads the database's clock, Unix seconds.  Returns DB_OK, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_db_now(struct db *db, int64_t *db_now)
{
	return db_read(db, now_fn, db_now);
}

struct clicks_many_arg {
	const struct click_row	*rows;
	size_t			 n;
	char			*json;		/* room for DB_CLICKS_BATCH */
	size_t			 jsonsz;
};

static enum db_rc
clicks_many_fn(struct db *db, void *arg)
{
	struct clicks_many_arg	*a = arg;
	size_t			 i, j, len;
	enum db_rc		 rc;
	int			 w;

	for (i = 0; i < a->n; i += DB_CLICKS_BATCH) {
		len = 0;
		a->json[len++] = '[';
		for (j = i; j < a->n && j < i + DB_CLICKS_BATCH; j++) {
			/* Codes are CODE_LEN characters of CODE_ALPHABET. */
			w = snprintf(a->json + len, a->jsonsz - len,
			    "%s[\"%.8s\",%" PRId64 ",%" PRId64 "]",
			    j > i ? "," : "", a->rows[j].code,
			    a->rows[j].day, a->rows[j].n);
			if (w < 0 || (size_t)w >= a->jsonsz - len - 1)
				return DB_ERR;
			len += (size_t)w;
		}
		a->json[len++] = ']';
		a->json[len] = '\0';
		if ((rc = db_exec(db, STMT_CLICKS_ADD_JSON, "s", a->json)) !=
		    DB_OK)
			return rc;
	}
	return DB_OK;
}

/*
 * Adds the clicks of "n" rows in one transaction, DB_CLICKS_BATCH rows a
 * statement: all of them or, on failure, none.  Each code must be
 * CODE_LEN characters of CODE_ALPHABET.  Returns DB_OK, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_clicks_add_many(struct db *db, const struct click_row *rows, size_t n)
{
	/* ["CODE1234",1764201600,123456789], with room for the widest. */
	enum { ROW_MAX = 2 + CODE_LEN + 2 + 1 + 20 + 1 + 20 + 1 + 1 };
	struct clicks_many_arg	 a = { .rows = rows, .n = n };
	enum db_rc		 rc;

	if (n == 0)
		return DB_OK;
	a.jsonsz = (size_t)DB_CLICKS_BATCH * ROW_MAX + 3;
	if ((a.json = malloc(a.jsonsz)) == NULL) {
		log_err("%s: out of memory", __func__);
		return DB_ERR;
	}
	rc = db_txn(db, clicks_many_fn, &a);
	free(a.json);
	return rc;
}
