/*
 * Signups: a new user's signals, their own code and their attribution
 * (decided by attr_decide()).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

#define HOUR		3600

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
	char		 result[16], rule[32], status[16], review[16];
	struct code_row	 c;
	enum db_rc	 rc;
	int		 i;

	if ((rc = db_exec(db, STMT_SIGNAL_GET, "l", in->user_id)) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_SIGNAL_GET, "ssllss", result, sizeof(result),
	    rule, sizeof(rule), &out->referral_id, &out->referrer_id, status,
	    sizeof(status), review, sizeof(review));
	db_done(db, STMT_SIGNAL_GET);
	/* The duplicate's row not visible yet: replay (see db_code_mint_in). */
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
	if (fsm_review_parse(review, &out->review) == -1)
		out->review = RV_NONE;
	if ((rc = db_code_by_user_in(db, in->user_id, &c)) == DB_OK)
		memcpy(out->code, c.code, sizeof(c.code));
	return rc == DB_ERR || rc == DB_RETRY ? rc : DB_DUP;
}

/*
 * Collects the facts about the code and the referrer for attr_decide.
 * Before each hourly count it writes the row that count depends on (the
 * referrer's, the IP's counter): a rule that must hold under concurrency
 * is decided by row locks on one node and by certification on a cluster,
 * and the count, read after the write, sees every signup ordered before.
 */
static enum db_rc
signup_facts(struct db *db, const struct signup_in *in, int64_t now,
    struct attr_facts *f)
{
	struct code_row	 c;
	char		 subject[32];
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
	if ((rc = db_code_fetch(db, STMT_CODE_BY_CODE, &c)) == DB_NOTFOUND) {
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
		if ((rc = db_exec(db, STMT_SIGNUP_COUNT, "ssl", "ip", in->ip,
		    now)) != DB_OK)
			return rc;
		if ((rc = db_one(db, STMT_IP_HOUR, &n,
		    db_exec(db, STMT_IP_HOUR, "sll", in->ip, now - HOUR,
		    in->user_id))) != DB_OK)
			return rc;
		f->ip_hour = n;
	}
	snprintf(subject, sizeof(subject), "%" PRId64, c.user_id);
	if ((rc = db_exec(db, STMT_SIGNUP_COUNT, "ssl", "referrer", subject,
	    now)) != DB_OK)
		return rc;
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
	if ((rc = db_code_mint_in(db, in->user_id, a->now, &own)) != DB_OK &&
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
		struct ref_pos	 at = { RS_PENDING, RV_NONE };

		/* A new referral is pending; a hold rule holds it at once. */
		if (d.result == ATTR_HELD)
			at = fsm_next(at, RE_HOLD).next;
		rc = db_exec(db, STMT_REFERRAL_INSERT, "llssSl", f.referrer_id,
		    in->user_id, in->code, fsm_review_name(at.review),
		    d.result == ATTR_HELD ? rule_name(d.rule) : "", a->now);
		if (rc != DB_OK)
			return rc == DB_DUP ? DB_RETRY : rc;
		out->referral_id = db_insert_id(db, STMT_REFERRAL_INSERT);
		out->status = at.status;
		out->review = at.review;
	} else
		out->referrer_id = d.result == ATTR_REJECTED ?
		    f.referrer_id : 0;
	/* Every rule that fired leaves a flag with its detail. */
	for (r = 1; r < RULE__MAX; r++) {
		char	 detail[MAX_REASON];

		if (!(d.fired & (1u << r)))
			continue;
		rule_detail(r, in, &f, conf, detail, sizeof(detail));
		if ((rc = db_flag_insert(db, out->referral_id, in->user_id,
		    f.referrer_id, r, fraud_verdict_name(rule_verdict(r)),
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
