/*
 * The screens: a table indexed by enum con_screen of what each loads and
 * how its title, column headings, rows and detail line read.  Rows are
 * plain text: draw.c clips them to the terminal and cleans out control
 * characters, and the "/" filter matches the same text.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "console.h"

#define AUDIT_OPERATOR_COLS	20	/* widest operator column */

/* Sets the message line. */
void
con_msg(struct con *c, int err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	c->msg_err = err;
	c->msg_at = clock_now();
	c->dirty = 1;
}

static int
digits(int64_t v)
{
	char	 buf[32];

	return snprintf(buf, sizeof(buf), "%" PRId64, v);
}

static int
wmax(int w, int64_t v)
{
	int	 d = digits(v);

	return d > w ? d : w;
}

/* "MM-DD HH:MM" in UTC, "-" for none. */
static const char *
when(int64_t t, char *buf, size_t sz)
{
	if (t == 0 || clock_utc(buf, sz, t, "%m-%d %H:%M") == -1)
		snprintf(buf, sz, "-");
	return buf;
}

/* "YYYY-MM-DD HH:MM:SSZ", "-" for none. */
static const char *
when_full(int64_t t, char *buf, size_t sz)
{
	if (t == 0 || clock_utc(buf, sz, t, "%Y-%m-%d %H:%M:%SZ") == -1)
		snprintf(buf, sz, "-");
	return buf;
}

static const char *
money(int64_t v, char *buf, size_t sz)
{
	if (money_format(v, buf, sz) == -1)
		snprintf(buf, sz, "?");
	return buf;
}

/* An id or "-" for 0. */
static const char *
id(int64_t v, char *buf, size_t sz)
{
	if (v == 0)
		snprintf(buf, sz, "-");
	else
		snprintf(buf, sz, "%" PRId64, v);
	return buf;
}

/*
 * Referrers.
 */
static enum db_rc
referrers_load(struct con *c)
{
	char		 code[CODE_LEN + 1] = "";
	int64_t		 user = 0;
	enum db_rc	 rc;
	size_t		 i, len = strlen(c->search);
	int		 w = 4;

	if (c->search[0] == '\0')
		rc = db_referrers_top(c->db, c->referrers, CON_MAX_ROWS,
		    &c->nreferrers);
	else {
		if (userid_parse(c->search, len, &user) == -1)
			user = 0;
		if (len > MAX_CODE_INPUT ||
		    code_normalize(c->search, len, code) == -1)
			code[0] = '\0';
		rc = db_referrers_find(c->db, user, code, c->referrers,
		    CON_MAX_ROWS, &c->nreferrers);
	}
	if (rc != DB_OK)
		return rc;
	for (i = 0; i < c->nreferrers; i++)
		w = wmax(w, c->referrers[i].user_id);
	c->w_a[SCR_REFERRERS] = w;
	return DB_OK;
}

static size_t
referrers_count(const struct con *c)
{
	return c->nreferrers;
}

static int64_t
referrers_key(const struct con *c, size_t i)
{
	return c->referrers[i].user_id;
}

static void
referrers_title(const struct con *c, char *buf, size_t sz)
{
	if (c->search[0] != '\0')
		snprintf(buf, sz, "Search \"%s\": %zu referrer%s  (Esc: back "
		    "to the top list)", c->search, c->nreferrers,
		    c->nreferrers == 1 ? "" : "s");
	else
		snprintf(buf, sz, "Top referrers by conversions: %zu  "
		    "(Enter: referrals, /: search)", c->nreferrers);
}

static void
referrers_head(const struct con *c, char *buf, size_t sz)
{
	snprintf(buf, sz, "%3s %-*s %-8s %6s %7s %5s %6s %4s %4s %s", "#",
	    c->w_a[SCR_REFERRERS], "USER", "CODE", "CLICKS", "SIGNUPS",
	    "CONV", "RATE", "HELD", "VOID", "REWARDS");
}

static void
referrers_row(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_referrer *r = &c->referrers[i];
	char		 rate[48], rw[256], m[32];
	size_t		 k, off = 0;

	if (r->signups == 0)
		snprintf(rate, sizeof(rate), "-");
	else {
		int64_t	 pm = r->conversions * 1000 / r->signups;

		snprintf(rate, sizeof(rate), "%" PRId64 ".%" PRId64 "%%",
		    pm / 10, pm % 10);
	}
	rw[0] = '\0';
	for (k = 0; k < r->rewardsz && off < sizeof(rw); k++)
		off += (size_t)snprintf(rw + off, sizeof(rw) - off, "%s%s %s %s",
		    k ? ", " : "", r->rewards[k].type,
		    money(r->rewards[k].amount, m, sizeof(m)),
		    r->rewards[k].currency);
	snprintf(buf, sz, "%3zu %-*" PRId64 " %-8s %6" PRId64 " %7" PRId64
	    " %5" PRId64 " %6s %4" PRId64 " %4" PRId64 " %s", i + 1,
	    c->w_a[SCR_REFERRERS], r->user_id, r->code[0] ? r->code : "-",
	    r->clicks, r->signups, r->conversions, rate, r->held, r->voided,
	    rw[0] ? rw : "-");
}

static void
referrers_detail(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_referrer *r = &c->referrers[i];

	snprintf(buf, sz, "referrer %" PRId64 " (code %s): %" PRId64
	    " signups, %" PRId64 " conversions, %" PRId64 " held, %" PRId64
	    " voided, %" PRId64 " clicks; Enter: referrals", r->user_id,
	    r->code[0] ? r->code : "-", r->signups, r->conversions, r->held,
	    r->voided, r->clicks);
}

static enum con_style
referrers_style(const struct con *c, size_t i)
{
	return c->referrers[i].held > 0 ? ST_HELD : ST_NORMAL;
}

/*
 * One referrer's referrals.
 */
static enum db_rc
referrals_load(struct con *c)
{
	enum db_rc	 rc;
	size_t		 i;
	int		 wa = 2, wb = 7;

	rc = db_referrals_list_by_referrer(c->db, c->referrer, c->referrals,
	    CON_MAX_ROWS, &c->nreferrals);
	if (rc != DB_OK)
		return rc;
	for (i = 0; i < c->nreferrals; i++) {
		wa = wmax(wa, c->referrals[i].id);
		wb = wmax(wb, c->referrals[i].referee_id);
	}
	c->w_a[SCR_REFERRALS] = wa;
	c->w_b[SCR_REFERRALS] = wb;
	return DB_OK;
}

static size_t
referrals_count(const struct con *c)
{
	return c->nreferrals;
}

static int64_t
referrals_key(const struct con *c, size_t i)
{
	return c->referrals[i].id;
}

static void
referrals_title(const struct con *c, char *buf, size_t sz)
{
	snprintf(buf, sz, "Referrals of %" PRId64 " (code %s): %zu  "
	    "(v: void, Esc: back)", c->referrer,
	    c->referrer_code[0] ? c->referrer_code : "-", c->nreferrals);
}

static void
referrals_head(const struct con *c, char *buf, size_t sz)
{
	snprintf(buf, sz, "%-*s %-*s %-9s %-8s %-11s %-11s %s",
	    c->w_a[SCR_REFERRALS], "ID", c->w_b[SCR_REFERRALS], "REFEREE",
	    "STATUS", "REVIEW", "CREATED", "UPDATED", "REWARDS / NOTE");
}

static void
referrals_row(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_referral *r = &c->referrals[i];
	char		 t1[32], t2[32], m[32], note[MAX_REASON + 128];
	int64_t		 upd = r->voided_at ? r->voided_at : r->rewarded_at ?
			    r->rewarded_at : r->converted_at;
	size_t		 off = 0;

	note[0] = '\0';
	if (r->issued > 0)
		off += (size_t)snprintf(note, sizeof(note), "%s %s",
		    money(r->issued, m, sizeof(m)), r->currency);
	if (r->revoked > 0 && off < sizeof(note))
		off += (size_t)snprintf(note + off, sizeof(note) - off,
		    "%srevoked %s %s", off ? ", " : "",
		    money(r->revoked, m, sizeof(m)), r->currency);
	if (r->review_rule[0] != '\0' && off < sizeof(note))
		off += (size_t)snprintf(note + off, sizeof(note) - off,
		    "%s%s", off ? "  " : "", r->review_rule);
	if (r->void_reason[0] != '\0' && off < sizeof(note))
		snprintf(note + off, sizeof(note) - off, "%svoid: %s",
		    off ? "  " : "", r->void_reason);
	snprintf(buf, sz, "%-*" PRId64 " %-*" PRId64 " %-9s %-8s %-11s %-11s %s",
	    c->w_a[SCR_REFERRALS], r->id, c->w_b[SCR_REFERRALS],
	    r->referee_id, fsm_state_name(r->status),
	    fsm_review_name(r->review),
	    when(r->created_at, t1, sizeof(t1)), when(upd, t2, sizeof(t2)),
	    note[0] ? note : "-");
}

static void
referrals_detail(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_referral *r = &c->referrals[i];
	char		 t1[32], t2[32], t3[32];

	snprintf(buf, sz, "referral %" PRId64 ": created %s, converted %s, "
	    "rewarded %s%s%s", r->id, when_full(r->created_at, t1, sizeof(t1)),
	    when_full(r->converted_at, t2, sizeof(t2)),
	    when_full(r->rewarded_at, t3, sizeof(t3)),
	    r->void_reason[0] ? "; void: " : "", r->void_reason);
}

static enum con_style
referrals_style(const struct con *c, size_t i)
{
	const struct con_referral *r = &c->referrals[i];

	if (r->status == RS_VOIDED)
		return ST_BAD;
	if (r->review == RV_HELD)
		return ST_HELD;
	if (r->status == RS_REWARDED)
		return ST_GOOD;
	return ST_NORMAL;
}

/*
 * Fraud: held referrals first, then recent flags.
 */
static enum db_rc
fraud_load(struct con *c)
{
	enum db_rc	 rc;
	size_t		 i;
	int		 wa = 3, wb = 4, wc = 8;

	rc = db_fraud_list(c->db, c->fraud, CON_MAX_ROWS, &c->nfraud,
	    &c->nheld);
	if (rc != DB_OK)
		return rc;
	for (i = 0; i < c->nfraud; i++) {
		wa = wmax(wa, c->fraud[i].referral_id);
		wb = wmax(wb, c->fraud[i].user_id);
		wc = wmax(wc, c->fraud[i].referrer_id);
	}
	c->w_a[SCR_FRAUD] = wa;
	c->w_b[SCR_FRAUD] = wb;
	c->w_c[SCR_FRAUD] = wc;
	return DB_OK;
}

static size_t
fraud_count(const struct con *c)
{
	return c->nfraud;
}

/* Held rows by referral id, flags by their negated flag id. */
static int64_t
fraud_key(const struct con *c, size_t i)
{
	return c->fraud[i].flag_id ? -c->fraud[i].flag_id :
	    c->fraud[i].referral_id;
}

static void
fraud_title(const struct con *c, char *buf, size_t sz)
{
	snprintf(buf, sz, "%zu held for review, %zu recent flags  "
	    "(a: approve, v: void, f: flag referrer)", c->nheld,
	    c->nfraud - c->nheld);
}

static void
fraud_head(const struct con *c, char *buf, size_t sz)
{
	snprintf(buf, sz, "%-*s %-*s %-*s %-17s %-9s %s", c->w_a[SCR_FRAUD],
	    "REF", c->w_b[SCR_FRAUD], "USER", c->w_c[SCR_FRAUD], "REFERRER",
	    "RULE", "STATE", "DETAIL");
}

static const char *
fraud_state(const struct con_fraud *f, char *buf, size_t sz)
{
	if (f->flag_id == 0)
		snprintf(buf, sz, "held/%.4s", fsm_state_name(f->status));
	else
		snprintf(buf, sz, "%s", f->decision);
	return buf;
}

static void
fraud_row(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_fraud *f = &c->fraud[i];
	char		 a[32], b[32], d[32], st[32];

	snprintf(buf, sz, "%-*s %-*s %-*s %-17s %-9s %s", c->w_a[SCR_FRAUD],
	    id(f->referral_id, a, sizeof(a)), c->w_b[SCR_FRAUD],
	    id(f->user_id, b, sizeof(b)), c->w_c[SCR_FRAUD],
	    id(f->referrer_id, d, sizeof(d)), f->rule,
	    fraud_state(f, st, sizeof(st)), f->detail[0] ? f->detail : "-");
}

static void
fraud_detail(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_fraud *f = &c->fraud[i];
	char		 t[32], a[32];

	if (f->flag_id == 0)
		snprintf(buf, sz, "held %s: referral %" PRId64 " is %s, "
		    "review %s; %s", when_full(f->at, t, sizeof(t)),
		    f->referral_id, fsm_state_name(f->status),
		    fsm_review_name(f->review), f->detail);
	else
		snprintf(buf, sz, "flag %" PRId64 " %s: %s %s, referral %s%s%s"
		    "%s", f->flag_id, when_full(f->at, t, sizeof(t)), f->rule,
		    f->decision, id(f->referral_id, a, sizeof(a)),
		    f->referral_id ? " (now " : "",
		    f->referral_id ? fsm_state_name(f->status) : "",
		    f->referral_id ? ")" : "");
}

static enum con_style
fraud_style(const struct con *c, size_t i)
{
	const struct con_fraud *f = &c->fraud[i];

	if (f->flag_id == 0)
		return ST_HELD;
	if (strcmp(f->decision, "approve") == 0)
		return ST_GOOD;
	if (strcmp(f->decision, "hold") == 0)
		return ST_NORMAL;
	return ST_BAD;
}

/*
 * Outbox: counters and dead rows.
 */
static enum db_rc
outbox_load(struct con *c)
{
	enum db_rc	 rc;
	size_t		 i;
	int		 wa = 2, wb = 6;

	if ((rc = db_outbox_counts(c->db, clock_now(), &c->counts)) != DB_OK)
		return rc;
	if ((rc = db_outbox_dead_list(c->db, c->dead, CON_MAX_ROWS,
	    &c->ndead)) != DB_OK)
		return rc;
	for (i = 0; i < c->ndead; i++) {
		wa = wmax(wa, c->dead[i].id);
		wb = wmax(wb, c->dead[i].reward_id);
	}
	c->w_a[SCR_OUTBOX] = wa;
	c->w_b[SCR_OUTBOX] = wb;
	return DB_OK;
}

static size_t
outbox_count(const struct con *c)
{
	return c->ndead;
}

static int64_t
outbox_key(const struct con *c, size_t i)
{
	return c->dead[i].id;
}

static void
outbox_title(const struct con *c, char *buf, size_t sz)
{
	const struct outbox_counts *o = &c->counts;

	snprintf(buf, sz, "backlog %" PRId64 " (due %" PRId64 ")  in flight %"
	    PRId64 "  delivered today %" PRId64 "  dead %" PRId64
	    "  (r: retry)", o->pending, o->due, o->inflight,
	    o->delivered_today, o->dead);
}

static void
outbox_head(const struct con *c, char *buf, size_t sz)
{
	snprintf(buf, sz, "%-*s %-*s %-14s %-7s %5s %4s %-11s %s",
	    c->w_a[SCR_OUTBOX], "ID", c->w_b[SCR_OUTBOX], "REWARD", "EVENT",
	    "TYPE", "TRIES", "HTTP", "LAST TRY", "LAST ERROR");
}

static void
outbox_row(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_dead *d = &c->dead[i];
	char		 t[32], h[16];

	if (d->last_status == 0)
		snprintf(h, sizeof(h), "-");
	else
		snprintf(h, sizeof(h), "%" PRId64, d->last_status);
	snprintf(buf, sz, "%-*" PRId64 " %-*" PRId64 " %-14s %-7s %5" PRId64
	    " %4s %-11s %s", c->w_a[SCR_OUTBOX], d->id, c->w_b[SCR_OUTBOX],
	    d->reward_id, d->event, d->type, d->attempts, h,
	    when(d->last_try, t, sizeof(t)),
	    d->last_error[0] ? d->last_error : "-");
}

static void
outbox_detail(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_dead *d = &c->dead[i];
	char		 a[32], b[32];

	snprintf(buf, sz, "outbox %" PRId64 ": %s of reward %" PRId64
	    " (referral %s, user %s); r: retry; %s", d->id, d->event,
	    d->reward_id, id(d->referral_id, a, sizeof(a)),
	    id(d->user_id, b, sizeof(b)), d->last_error);
}

static enum con_style
outbox_style(const struct con *c, size_t i)
{
	return ST_BAD;
}

/*
 * Audit log.
 */
static enum db_rc
audit_load(struct con *c)
{
	enum db_rc	 rc;
	size_t		 i;
	int		 wa = 3, wb = 4, wc = 8, n;

	if ((rc = db_audit_list(c->db, c->audit, CON_MAX_ROWS,
	    &c->naudit)) != DB_OK)
		return rc;
	for (i = 0; i < c->naudit; i++) {
		wa = wmax(wa, c->audit[i].referral_id);
		wb = wmax(wb, c->audit[i].target_user);
		n = (int)strlen(c->audit[i].operator);
		wc = n > wc ? (n < AUDIT_OPERATOR_COLS ? n :
		    AUDIT_OPERATOR_COLS) : wc;
	}
	c->w_a[SCR_AUDIT] = wa;
	c->w_b[SCR_AUDIT] = wb;
	c->w_c[SCR_AUDIT] = wc;
	return DB_OK;
}

static size_t
audit_count(const struct con *c)
{
	return c->naudit;
}

static int64_t
audit_key(const struct con *c, size_t i)
{
	return c->audit[i].id;
}

static void
audit_title(const struct con *c, char *buf, size_t sz)
{
	snprintf(buf, sz, "Manual actions, newest first: %zu", c->naudit);
}

static void
audit_head(const struct con *c, char *buf, size_t sz)
{
	snprintf(buf, sz, "%-11s %-*s %-12s %-*s %-*s %s", "WHEN",
	    c->w_c[SCR_AUDIT], "OPERATOR", "ACTION", c->w_a[SCR_AUDIT], "REF",
	    c->w_b[SCR_AUDIT], "USER", "DETAIL");
}

static void
audit_row(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_audit *a = &c->audit[i];
	char		 t[32], r[32], u[32];

	snprintf(buf, sz, "%-11s %-*.*s %-12s %-*s %-*s %s",
	    when(a->at, t, sizeof(t)), c->w_c[SCR_AUDIT], c->w_c[SCR_AUDIT],
	    a->operator, a->action,
	    c->w_a[SCR_AUDIT], id(a->referral_id, r, sizeof(r)),
	    c->w_b[SCR_AUDIT], id(a->target_user, u, sizeof(u)),
	    a->detail[0] ? a->detail : "-");
}

static void
audit_detail(const struct con *c, size_t i, char *buf, size_t sz)
{
	const struct con_audit *a = &c->audit[i];
	char		 t[32];

	snprintf(buf, sz, "audit %" PRId64 " %s by %s: %s: %s", a->id,
	    when_full(a->at, t, sizeof(t)), a->operator, a->action,
	    a->detail);
}

static enum con_style
audit_style(const struct con *c, size_t i)
{
	return strcmp(c->audit[i].action, "void") == 0 ? ST_BAD : ST_NORMAL;
}

static const struct con_screen_def screens[SCR__MAX] = {
	[SCR_REFERRERS] = { "Referrers", referrers_load, referrers_count,
	    referrers_key, referrers_title, referrers_head, referrers_row,
	    referrers_detail, referrers_style },
	[SCR_FRAUD] = { "Fraud", fraud_load, fraud_count, fraud_key,
	    fraud_title, fraud_head, fraud_row, fraud_detail, fraud_style },
	[SCR_OUTBOX] = { "Outbox", outbox_load, outbox_count, outbox_key,
	    outbox_title, outbox_head, outbox_row, outbox_detail,
	    outbox_style },
	[SCR_AUDIT] = { "Audit", audit_load, audit_count, audit_key,
	    audit_title, audit_head, audit_row, audit_detail, audit_style },
	[SCR_REFERRALS] = { "Referrals", referrals_load, referrals_count,
	    referrals_key, referrals_title, referrals_head, referrals_row,
	    referrals_detail, referrals_style },
};

_Static_assert(sizeof(screens) / sizeof(screens[0]) == SCR__MAX,
    "screen table length");

/* Returns the definition of screen "s". */
const struct con_screen_def *
screen_def(enum con_screen s)
{
	return &screens[s];
}

/* Case-insensitive substring test. */
static int
contains(const char *hay, const char *needle)
{
	size_t	 n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return n == 0;
}

/*
 * Rebuilds the visible rows of screen "s" from its filter and puts the
 * selection back on the row with the same key if it is still there.
 */
void
screen_filter(struct con *c, enum con_screen s)
{
	const struct con_screen_def *d = &screens[s];
	struct con_list	*l = &c->lists[s];
	size_t		 i, n = d->count(c), found = (size_t)-1;
	char		 line[CON_MAX_LINE];

	l->nvis = 0;
	for (i = 0; i < n; i++) {
		if (l->filter[0] != '\0') {
			d->row(c, i, line, sizeof(line));
			if (!contains(line, l->filter))
				continue;
		}
		if (found == (size_t)-1 && l->key != 0 && d->key(c, i) == l->key)
			found = l->nvis;
		l->vis[l->nvis++] = i;
	}
	if (found != (size_t)-1)
		l->cur = found;
	else if (l->cur >= l->nvis)
		l->cur = l->nvis ? l->nvis - 1 : 0;
	l->key = l->nvis ? d->key(c, l->vis[l->cur]) : 0;
	c->dirty = 1;
}

/*
 * The data row under the cursor of screen "s", or (size_t)-1 if none.
 */
size_t
screen_row(const struct con *c, enum con_screen s)
{
	const struct con_list *l = &c->lists[s];

	return l->nvis == 0 ? (size_t)-1 : l->vis[l->cur];
}

/*
 * Loads the current screen from the database.  A failure keeps the rows
 * of the last good load on screen and records the error for the status
 * line; the next load reconnects.  Returns 0 or -1.
 */
int
screen_load(struct con *c)
{
	enum con_screen	 s = c->screen;
	enum db_rc	 rc;

	rc = screens[s].load(c);
	c->dirty = 1;
	if (rc != DB_OK) {
		c->db_ok = 0;
		snprintf(c->db_err, sizeof(c->db_err), "%s",
		    c->db->errmsg[0] ? c->db->errmsg : db_rc_name(rc));
		/* A failed load may have left partial rows: show none. */
		c->lists[s].nvis = 0;
		return -1;
	}
	c->db_ok = 1;
	c->loaded = 1;
	c->db_err[0] = '\0';
	c->refreshed = clock_now();
	screen_filter(c, s);
	return 0;
}
