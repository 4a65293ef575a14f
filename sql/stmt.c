/*
 * The statement table: every SQL statement referd runs, prepared once per
 * connection, on first use.  Placeholders are bound by db_exec() from a format string
 * (see db.c); times cross as Unix seconds via FROM_UNIXTIME/UNIX_TIMESTAMP
 * in a session whose time zone is UTC.
 */
#include "config.h"

#include <assert.h>

#include "sql.h"

static const char *const stmts[STMT__MAX] = {
	[STMT_CODE_BY_USER] =
	    "SELECT user_id, code, UNIX_TIMESTAMP(created_at), "
	    "UNIX_TIMESTAMP(expires_at), UNIX_TIMESTAMP(disabled_at) "
	    "FROM referral_codes WHERE user_id = ?",
	/* A locking read: the latest committed row, after its writer. */
	[STMT_CODE_BY_USER_LOCK] =
	    "SELECT user_id, code, UNIX_TIMESTAMP(created_at), "
	    "UNIX_TIMESTAMP(expires_at), UNIX_TIMESTAMP(disabled_at) "
	    "FROM referral_codes WHERE user_id = ? LOCK IN SHARE MODE",
	[STMT_CODE_BY_CODE] =
	    "SELECT user_id, code, UNIX_TIMESTAMP(created_at), "
	    "UNIX_TIMESTAMP(expires_at), UNIX_TIMESTAMP(disabled_at) "
	    "FROM referral_codes WHERE code = ?",
	[STMT_CODE_INSERT] =
	    "INSERT INTO referral_codes (user_id, code, created_at) "
	    "VALUES (?, ?, FROM_UNIXTIME(?))",
	[STMT_SIGNAL_INSERT] =
	    "INSERT INTO user_signals (user_id, email_domain, signup_ip, "
	    "device_fingerprint, code_used, created_at) "
	    "VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?))",
	[STMT_SIGNAL_GET] =
	    "SELECT s.attribution, s.attribution_rule, s.referral_id, "
	    "r.referrer_id, r.status, r.review FROM user_signals s "
	    "LEFT JOIN referrals r ON r.id = s.referral_id "
	    "WHERE s.user_id = ?",
	[STMT_SIGNAL_SET_RESULT] =
	    "UPDATE user_signals SET attribution = ?, attribution_rule = ?, "
	    "referral_id = ? WHERE user_id = ?",
	[STMT_DEVICE_INSERT] =
	    "INSERT IGNORE INTO user_devices (user_id, fingerprint, "
	    "first_seen) VALUES (?, ?, FROM_UNIXTIME(?))",
	[STMT_DEVICE_MATCH] =
	    "SELECT COUNT(*) FROM user_devices "
	    "WHERE user_id = ? AND fingerprint = ?",
	[STMT_FLAGGED_GET] =
	    "SELECT COUNT(*) FROM flagged_users WHERE user_id = ?",
	[STMT_FLAGGED_INSERT] =
	    "INSERT IGNORE INTO flagged_users (user_id, reason, flagged_by, "
	    "created_at) VALUES (?, ?, ?, FROM_UNIXTIME(?))",
	[STMT_SIGNAL_IP_MATCH] =
	    "SELECT COUNT(*) FROM user_signals "
	    "WHERE user_id = ? AND signup_ip = ?",
	[STMT_REFERRER_HOUR] =
	    "SELECT COUNT(*) FROM referrals WHERE referrer_id = ? "
	    "AND created_at > FROM_UNIXTIME(?)",
	[STMT_IP_HOUR] =
	    "SELECT COUNT(*) FROM user_signals WHERE signup_ip = ? "
	    "AND created_at > FROM_UNIXTIME(?) AND user_id <> ?",
	[STMT_REFERRAL_INSERT] =
	    "INSERT INTO referrals (referrer_id, referee_id, code, review, "
	    "review_rule, created_at) VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?))",
#define REFERRAL_COLS \
	    "SELECT id, referrer_id, referee_id, code, status, review, " \
	    "review_rule, conversion_event, conversion_order, " \
	    "UNIX_TIMESTAMP(created_at), UNIX_TIMESTAMP(converted_at), " \
	    "UNIX_TIMESTAMP(rewarded_at), UNIX_TIMESTAMP(voided_at), " \
	    "void_reason FROM referrals "
	[STMT_REFERRAL_BY_ID] = REFERRAL_COLS "WHERE id = ?",
	[STMT_REFERRAL_BY_ID_LOCK] = REFERRAL_COLS "WHERE id = ? FOR UPDATE",
	[STMT_REFERRAL_BY_ORDER_LOCK] = REFERRAL_COLS
	    "WHERE referee_id = ? AND conversion_order = ? FOR UPDATE",
	[STMT_REFERRAL_BY_REFEREE_LOCK] = REFERRAL_COLS
	    "WHERE referee_id = ? FOR UPDATE",
	[STMT_REFERRAL_CONVERT] =
	    "UPDATE referrals SET status = 'converted', conversion_event = ?, "
	    "conversion_order = ?, converted_at = FROM_UNIXTIME(?) "
	    "WHERE referee_id = ? AND status = 'pending'",
	[STMT_REFERRAL_REWARD] =
	    "UPDATE referrals SET status = 'rewarded', "
	    "rewarded_at = FROM_UNIXTIME(?) WHERE id = ? "
	    "AND status = 'converted' AND review <> 'held' "
	    "AND converted_at <= FROM_UNIXTIME(?)",
	[STMT_REFERRAL_VOID] =
	    "UPDATE referrals SET status = 'voided', void_reason = ?, "
	    "voided_at = FROM_UNIXTIME(?) WHERE id = ? AND status = ?",
	[STMT_REFERRAL_SET_REVIEW] =
	    "UPDATE referrals SET review = ?, review_rule = ? "
	    "WHERE id = ? AND review = ?",
	[STMT_REFERRALS_DUE] =
	    "SELECT id FROM referrals WHERE status = 'converted' "
	    "AND converted_at <= FROM_UNIXTIME(?) AND review <> 'held' "
	    "ORDER BY converted_at LIMIT ?",
	[STMT_REWARD_INSERT] =
	    "INSERT INTO referral_rewards (referral_id, role, user_id, type, "
	    "amount, currency, issued_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?))",
	/* Each reward with the delivery of its grant and of its revocation. */
	[STMT_REWARD_LIST] =
	    "SELECT w.id, w.role, w.user_id, w.type, w.amount, w.currency, "
	    "w.status, UNIX_TIMESTAMP(w.issued_at), o.status, o.attempts, "
	    "o.last_error, UNIX_TIMESTAMP(w.revoked_at), v.status, "
	    "v.attempts, v.last_error FROM referral_rewards w "
	    "LEFT JOIN outbox o ON o.idempotency_key = CONCAT('reward-', w.id) "
	    "LEFT JOIN outbox v ON v.idempotency_key = CONCAT('revoke-', w.id) "
	    "WHERE w.referral_id = ? ORDER BY w.role DESC",
	[STMT_REWARD_REVOKE] =
	    "UPDATE referral_rewards SET status = 'revoked', "
	    "revoked_at = FROM_UNIXTIME(?) WHERE id = ? AND status = 'issued'",
	[STMT_OUTBOX_INSERT] =
	    "INSERT INTO outbox (reward_id, event, idempotency_key, "
	    "reward_type, payload, next_attempt_at, created_at, after_id) "
	    "VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?), FROM_UNIXTIME(?), ?)",
	[STMT_EVENT_INSERT] =
	    "INSERT INTO inbound_events (source, event_id, body_sha256, type, "
	    "user_id, order_id, received_at, amount, currency, payment_fp, "
	    "occurred_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?), ?, ?, ?, ?)",
	[STMT_EVENT_GET] =
	    "SELECT body_sha256, outcome, referral_id FROM inbound_events "
	    "WHERE source = ? AND event_id = ?",
	[STMT_EVENT_SET_OUTCOME] =
	    "UPDATE inbound_events SET outcome = ?, referral_id = ? "
	    "WHERE id = ?",
	[STMT_EVENT_REFUNDED] =
	    "SELECT COUNT(*) FROM inbound_events WHERE user_id = ? "
	    "AND order_id = ? AND type = 'order.refunded'",
	[STMT_EVENT_ORDER_USER] =
	    "SELECT user_id FROM inbound_events WHERE source = ? "
	    "AND order_id = ? AND type = 'order.completed' "
	    "ORDER BY id LIMIT 1",
	[STMT_PAYFP_INSERT] =
	    "INSERT IGNORE INTO payment_fingerprints (user_id, fingerprint, "
	    "first_seen) VALUES (?, ?, FROM_UNIXTIME(?))",
	[STMT_PAYFP_MATCH] =
	    "SELECT COUNT(*) FROM payment_fingerprints "
	    "WHERE user_id = ? AND fingerprint = ?",
	[STMT_FLAG_INSERT] =
	    "INSERT INTO fraud_flags (referral_id, user_id, referrer_id, rule, "
	    "decision, detail, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?))",
	[STMT_AUDIT_INSERT] =
	    "INSERT INTO audit_log (at, operator, action, referral_id, "
	    "target_user, detail, request_id, client_addr, credential) "
	    "VALUES (FROM_UNIXTIME(?), ?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_CLICKS_ADD] =
	    "INSERT INTO click_counts (code, day, clicks) "
	    "VALUES (?, DATE(FROM_UNIXTIME(?)), ?) "
	    "ON DUPLICATE KEY UPDATE clicks = clicks + VALUES(clicks)",
	[STMT_STATS_COUNTS] =
	    "SELECT COUNT(*), "
	    "COALESCE(SUM(status = 'pending'), 0), "
	    "COALESCE(SUM(status = 'converted'), 0), "
	    "COALESCE(SUM(status = 'rewarded'), 0), "
	    "COALESCE(SUM(status = 'voided'), 0), "
	    "COALESCE(SUM(review = 'held' AND status <> 'voided'), 0) "
	    "FROM referrals WHERE referrer_id = ?",
	[STMT_STATS_CLICKS] =
	    "SELECT COALESCE(SUM(clicks), 0) FROM click_counts WHERE code = ?",
	[STMT_STATS_REWARDS] =
	    "SELECT type, currency, SUM(amount) FROM referral_rewards "
	    "WHERE user_id = ? AND role = 'referrer' AND status = 'issued' "
	    "GROUP BY type, currency ORDER BY type, currency",
	/*
	 * Claiming is two statements in one transaction: lock due rows that
	 * no one else has locked, then lease them.  SKIP LOCKED is only an
	 * optimisation (it is not cluster-wide on Galera): the conditional
	 * UPDATE of CLAIM_MARK_N is what makes a row one dispatcher's.
	 */
	/*
	 * Due rows and rows whose lease expired are two range scans, each
	 * in index order (ix_outbox_due, ix_outbox_lease) so that LIMIT
	 * stops early; one query with OR sorted the whole backlog per claim.
	 */
#define OUTBOX_CLAIM_COLS \
	    "SELECT id, reward_id, event, idempotency_key, reward_type, " \
	    "payload, attempts FROM outbox o "
	/*
	 * The per-reward order (SPEC 13): a revocation is not claimed while
	 * its grant's row exists undelivered (pending, in flight; a dead
	 * grant cancels it).  Delivered is final, so reading it suffices.
	 */
#define OUTBOX_IN_ORDER(o) \
	    "NOT EXISTS (SELECT 1 FROM outbox g WHERE g.id = " o ".after_id " \
	    "AND g.status <> 'delivered')"
	[STMT_OUTBOX_CLAIM_SELECT] = OUTBOX_CLAIM_COLS
	    "WHERE status = 'pending' AND next_attempt_at <= FROM_UNIXTIME(?) "
	    "AND " OUTBOX_IN_ORDER("o") " "
	    "ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED",
	[STMT_OUTBOX_CLAIM_EXPIRED] = OUTBOX_CLAIM_COLS
	    "WHERE status = 'inflight' AND lease_until < FROM_UNIXTIME(?) "
	    "ORDER BY lease_until LIMIT ? FOR UPDATE SKIP LOCKED",
	/* The batch forms: 12 or 13 ids each (DB_MAX_PARAMS is 16). */
#define IDS12 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
	[STMT_OUTBOX_CLAIM_MARK_N] =
	    /* maybe_sent first: it reads the status before this UPDATE. */
	    "UPDATE outbox SET maybe_sent = maybe_sent OR status = 'inflight', "
	    "status = 'inflight', lease_owner = ?, "
	    "lease_until = FROM_UNIXTIME(?), attempts = attempts + 1 "
	    "WHERE id IN (" IDS12 ") AND ((status = 'pending' AND "
	    "next_attempt_at <= FROM_UNIXTIME(?)) OR (status = 'inflight' AND "
	    "lease_until < FROM_UNIXTIME(?))) AND " OUTBOX_IN_ORDER("outbox"),
	[STMT_OUTBOX_HELD_N] =
	    "SELECT id FROM outbox WHERE status = 'inflight' AND "
	    "lease_owner = ? AND id IN (" IDS12 ", ?) FOR UPDATE",
	[STMT_OUTBOX_DELIVERED_N] =
	    "UPDATE outbox SET status = 'delivered', last_status = ?, "
	    "last_error = NULL, delivered_at = FROM_UNIXTIME(?), "
	    "lease_owner = NULL, lease_until = NULL "
	    "WHERE status = 'inflight' AND lease_owner = ? AND "
	    "id IN (" IDS12 ", ?)",
#undef IDS12
	[STMT_OUTBOX_RETRY] =
	    "UPDATE outbox SET status = 'pending', last_status = ?, "
	    "maybe_sent = maybe_sent OR last_status IS NULL, "
	    "last_error = ?, next_attempt_at = FROM_UNIXTIME(?), "
	    "lease_owner = NULL, lease_until = NULL "
	    "WHERE id = ? AND status = 'inflight' AND lease_owner = ?",
	[STMT_OUTBOX_DEAD] =
	    "UPDATE outbox SET status = 'dead', last_status = ?, "
	    "maybe_sent = maybe_sent OR last_status IS NULL, "
	    "last_error = ?, lease_owner = NULL, lease_until = NULL "
	    "WHERE id = ? AND status = 'inflight' AND lease_owner = ?",
	[STMT_OUTBOX_RELEASE] =
	    "UPDATE outbox SET status = 'pending', lease_owner = NULL, "
	    "lease_until = NULL, attempts = GREATEST(attempts, 1) - 1, "
	    "maybe_sent = 1 "
	    "WHERE status = 'inflight' AND lease_owner = ?",
	[STMT_OUTBOX_REQUEUE] =
	    "UPDATE outbox SET status = 'pending', attempts = 0, "
	    "next_attempt_at = FROM_UNIXTIME(?) "
	    "WHERE id = ? AND status = 'dead' AND NOT (event = 'reward.issued' "
	    "AND EXISTS (SELECT 1 FROM referral_rewards w "
	    "WHERE w.id = outbox.reward_id AND w.status = 'revoked'))",
	/*
	 * Each count a range of an index (ix_outbox_due, ix_outbox_lease,
	 * ix_outbox_purge): no scan of the whole outbox per scrape, and the
	 * delivered range is bounded by outbox_retention_days.
	 */
	[STMT_OUTBOX_COUNTS] =
	    "SELECT (SELECT COUNT(*) FROM outbox WHERE status = 'pending'), "
	    "(SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND "
	    "next_attempt_at <= FROM_UNIXTIME(?)), "
	    "(SELECT COUNT(*) FROM outbox WHERE status = 'inflight'), "
	    "(SELECT COUNT(*) FROM outbox WHERE status = 'delivered'), "
	    "(SELECT COUNT(*) FROM outbox WHERE status = 'dead'), "
	    "(SELECT COUNT(*) FROM outbox WHERE status = 'delivered' AND "
	    "delivered_at >= DATE(FROM_UNIXTIME(?)))",
	/* Voiding a rewarded referral: its grant's row, read to decide. */
	[STMT_OUTBOX_GRANT_LOCK] =
	    "SELECT id, status, attempts, "
	    "maybe_sent OR (attempts > 0 AND last_status IS NULL) FROM outbox "
	    "WHERE idempotency_key = ? FOR UPDATE",
	[STMT_OUTBOX_CANCEL] =
	    "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, "
	    "lease_until = NULL WHERE id = ? AND status = 'pending'",
	[STMT_OUTBOX_REVOKED_BY] =
	    "UPDATE outbox SET revoked_by = ? WHERE id = ? AND status = ?",
	/* A grant that died takes the revocation waiting for it along. */
	[STMT_OUTBOX_CANCEL_AFTER] =
	    "UPDATE outbox SET status = 'cancelled' "
	    "WHERE after_id = ? AND status = 'pending'",
	/* At reward time: a flag committed before us is seen, or waits. */
	[STMT_FLAGGED_GET_LOCK] =
	    "SELECT COUNT(*) FROM flagged_users WHERE user_id = ? "
	    "LOCK IN SHARE MODE",
	/* The converting order paid with a fingerprint the referrer used. */
	[STMT_EVENT_PAYFP_MATCH] =
	    "SELECT COUNT(*) FROM inbound_events e JOIN payment_fingerprints p "
	    "ON p.fingerprint = e.payment_fp WHERE e.source = 'webhook' "
	    "AND e.event_id = ? AND p.user_id = ?",
	/*
	 * The row a signup writes before it counts its referrer's (or its
	 * IP's) last hour: what orders concurrent signups (007).
	 */
	[STMT_SIGNUP_COUNT] =
	    "INSERT INTO signup_counters (scope, subject, signups, last_at) "
	    "VALUES (?, ?, 1, FROM_UNIXTIME(?)) ON DUPLICATE KEY UPDATE "
	    "signups = signups + 1, last_at = VALUES(last_at)",
	/* The amount of a converting order, for a refund (-1: not kept). */
	[STMT_EVENT_ORDER_AMOUNT] =
	    "SELECT COALESCE(ROUND(amount * 100), -1), COALESCE(currency, '') "
	    "FROM inbound_events WHERE source = 'webhook' AND event_id = ?",
	/* Delivered rows past retention, oldest first, a batch at a time. */
	[STMT_OUTBOX_PURGE] =
	    "DELETE FROM outbox WHERE status = 'delivered' "
	    "AND delivered_at < FROM_UNIXTIME(?) ORDER BY delivered_at LIMIT ?",
	/* The console's read queries (console.c). */
#define CON_REFERRER_COUNTS \
	    "COALESCE((SELECT SUM(k.clicks) FROM click_counts k " \
	    "WHERE k.code = c.code), 0), COUNT(r.id), " \
	    "COALESCE(SUM(r.status IN ('converted', 'rewarded')), 0), " \
	    "COALESCE(SUM(r.review = 'held' AND r.status <> 'voided'), 0), " \
	    "COALESCE(SUM(r.status = 'voided'), 0) "
	[STMT_CON_TOP] =
	    "SELECT r.referrer_id, c.code, " CON_REFERRER_COUNTS
	    "FROM referrals r LEFT JOIN referral_codes c "
	    "ON c.user_id = r.referrer_id GROUP BY r.referrer_id, c.code "
	    "ORDER BY 5 DESC, 4 DESC, r.referrer_id LIMIT ?",
	[STMT_CON_FIND] =
	    "SELECT c.user_id, c.code, " CON_REFERRER_COUNTS
	    "FROM referral_codes c LEFT JOIN referrals r "
	    "ON r.referrer_id = c.user_id WHERE c.user_id = ? OR c.code = ? "
	    "GROUP BY c.user_id, c.code ORDER BY 5 DESC, c.user_id LIMIT ?",
	[STMT_CON_REFERRALS] =
	    "SELECT r.id, r.referee_id, r.status, r.review, r.review_rule, "
	    "UNIX_TIMESTAMP(r.created_at), UNIX_TIMESTAMP(r.converted_at), "
	    "UNIX_TIMESTAMP(r.rewarded_at), UNIX_TIMESTAMP(r.voided_at), "
	    "r.void_reason, COALESCE((SELECT SUM(w.amount) FROM "
	    "referral_rewards w WHERE w.referral_id = r.id AND "
	    "w.status = 'issued'), 0), COALESCE((SELECT SUM(w.amount) FROM "
	    "referral_rewards w WHERE w.referral_id = r.id AND "
	    "w.status = 'revoked'), 0), (SELECT MIN(w.currency) FROM "
	    "referral_rewards w WHERE w.referral_id = r.id) "
	    "FROM referrals r WHERE r.referrer_id = ? "
	    "ORDER BY r.created_at DESC, r.id DESC LIMIT ?",
	[STMT_CON_HELD] =
	    "SELECT r.id, r.referee_id, r.referrer_id, r.review_rule, "
	    "r.status, r.review, UNIX_TIMESTAMP(r.created_at), "
	    "(SELECT f.detail FROM fraud_flags f WHERE f.referral_id = r.id "
	    "AND f.decision = 'hold' ORDER BY f.id DESC LIMIT 1) "
	    "FROM referrals r WHERE r.review = 'held' AND r.status <> 'voided' "
	    "ORDER BY r.created_at DESC, r.id DESC LIMIT ?",
	[STMT_CON_FLAGS] =
	    "SELECT f.id, f.referral_id, f.user_id, f.referrer_id, f.rule, "
	    "f.decision, f.detail, UNIX_TIMESTAMP(f.created_at), r.status, "
	    "r.review FROM fraud_flags f LEFT JOIN referrals r "
	    "ON r.id = f.referral_id ORDER BY f.created_at DESC, f.id DESC "
	    "LIMIT ?",
	[STMT_CON_DEAD] =
	    "SELECT o.id, o.reward_id, o.event, o.reward_type, o.attempts, "
	    "o.last_status, o.last_error, UNIX_TIMESTAMP(o.next_attempt_at), "
	    "w.referral_id, w.user_id FROM outbox o LEFT JOIN "
	    "referral_rewards w ON w.id = o.reward_id "
	    "WHERE o.status = 'dead' ORDER BY o.id DESC LIMIT ?",
	[STMT_CON_AUDIT] =
	    "SELECT id, UNIX_TIMESTAMP(at), operator, action, referral_id, "
	    "target_user, detail FROM audit_log ORDER BY id DESC LIMIT ?",
	/* The landing cache of fcgi/cache.c: load, then follow changes. */
	[STMT_CODE_PAGE] =
	    "SELECT id, code, UNIX_TIMESTAMP(expires_at), "
	    "UNIX_TIMESTAMP(disabled_at) FROM referral_codes "
	    "WHERE id < ? ORDER BY id DESC LIMIT ?",
	[STMT_CODE_CHANGES] =
	    "SELECT code, UNIX_TIMESTAMP(expires_at), "
	    "UNIX_TIMESTAMP(disabled_at) FROM referral_codes "
	    "WHERE changed_at >= FROM_UNIXTIME(?) LIMIT ?",
	[STMT_DB_NOW] = "SELECT UNIX_TIMESTAMP()",
	/* Many (code, day, clicks) rows in one statement: a JSON array of
	 * [code, unix time in the day, clicks] triples. */
	[STMT_CLICKS_ADD_JSON] =
	    "INSERT INTO click_counts (code, day, clicks) "
	    "SELECT j.code, DATE(FROM_UNIXTIME(j.t)), j.n FROM JSON_TABLE(?, "
	    "'$[*]' COLUMNS (code CHAR(8) CHARACTER SET ascii PATH '$[0]', "
	    "t BIGINT PATH '$[1]', n BIGINT PATH '$[2]')) j "
	    "ON DUPLICATE KEY UPDATE clicks = clicks + VALUES(clicks)",
	[STMT_PING] = "SELECT 1",
};

_Static_assert(sizeof(stmts) / sizeof(stmts[0]) == STMT__MAX,
    "statement table length");

/*
 * Returns the SQL text of a statement.
 */
const char *
stmt_sql(enum stmt s)
{
	assert(s < STMT__MAX && stmts[s] != NULL);
	return stmts[s];
}
