/*
 * Key commands and the write actions.
 *
 * Keys map to commands through one table indexed by enum cmd (tmux's
 * shape): the keys, the screens a command works on, its help text and its
 * function.  The help screen is generated from the same table.  The write
 * actions (void, approve, flag, retry) are a second table; each calls the
 * data layer operation the API calls, with the operator's name.  The
 * line they may ask for (a reason) is read by input.c.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "console.h"

#define CMD_KEYS	4	/* keys per command */
#define REASON_CHARS	200	/* characters of a typed reason */

enum cmd {
	CMD_QUIT,
	CMD_HELP,
	CMD_NEXT,
	CMD_PREV,
	CMD_REFERRERS,
	CMD_FRAUD,
	CMD_OUTBOX,
	CMD_AUDIT,
	CMD_DOWN,
	CMD_UP,
	CMD_PGDN,
	CMD_PGUP,
	CMD_HOME,
	CMD_END,
	CMD_SEARCH,
	CMD_OPEN,
	CMD_BACK,
	CMD_APPROVE,
	CMD_VOID,
	CMD_FLAG,
	CMD_RETRY,
	CMD_RELOAD,
	CMD__MAX
};

struct cmd_def {
	int		 keys[CMD_KEYS];	/* 0 ends; FK() for curses keys */
	const char	*keyhelp;		/* NULL: told with another */
	const char	*help;
	unsigned int	 screens;		/* SCR_BIT()s it works on */
	void		(*fn)(struct con *);
};

static void	 c_quit(struct con *);
static void	 c_help(struct con *);
static void	 c_next(struct con *);
static void	 c_prev(struct con *);
static void	 c_referrers(struct con *);
static void	 c_fraud(struct con *);
static void	 c_outbox(struct con *);
static void	 c_audit(struct con *);
static void	 c_down(struct con *);
static void	 c_up(struct con *);
static void	 c_pgdn(struct con *);
static void	 c_pgup(struct con *);
static void	 c_home(struct con *);
static void	 c_end(struct con *);
static void	 c_search(struct con *);
static void	 c_open(struct con *);
static void	 c_back(struct con *);
static void	 c_approve(struct con *);
static void	 c_void(struct con *);
static void	 c_flag(struct con *);
static void	 c_retry(struct con *);
static void	 c_reload(struct con *);

#define ON_REFERRALS	(SCR_BIT(SCR_REFERRERS) | SCR_BIT(SCR_FRAUD))

static const struct cmd_def cmds[CMD__MAX] = {
	[CMD_QUIT] = { { 'q', 'Q' }, "q",
	    "quit", SCR_ALL, c_quit },
	[CMD_HELP] = { { '?', FK(KEY_F(1)) }, "?",
	    "show or close this help", SCR_ALL, c_help },
	[CMD_NEXT] = { { '\t' }, "Tab",
	    "next screen", SCR_ALL, c_next },
	[CMD_PREV] = { { FK(KEY_BTAB) }, "Shift-Tab",
	    "previous screen", SCR_ALL, c_prev },
	[CMD_REFERRERS] = { { '1' }, "1 2 3 4",
	    "Referrers, Fraud, Outbox, Audit", SCR_ALL, c_referrers },
	[CMD_FRAUD] = { { '2' }, NULL, "Fraud", SCR_ALL, c_fraud },
	[CMD_OUTBOX] = { { '3' }, NULL, "Outbox", SCR_ALL, c_outbox },
	[CMD_AUDIT] = { { '4' }, NULL, "Audit", SCR_ALL, c_audit },
	[CMD_DOWN] = { { 'j', FK(KEY_DOWN) }, "j k Down Up",
	    "next, previous row", SCR_ALL, c_down },
	[CMD_UP] = { { 'k', FK(KEY_UP) }, NULL,
	    "previous row", SCR_ALL, c_up },
	[CMD_PGDN] = { { FK(KEY_NPAGE), ' ', CTL('f') }, "PgDn PgUp",
	    "next, previous page (also Space, b)", SCR_ALL, c_pgdn },
	[CMD_PGUP] = { { FK(KEY_PPAGE), 'b', CTL('b') }, NULL,
	    "previous page", SCR_ALL, c_pgup },
	[CMD_HOME] = { { 'g', FK(KEY_HOME) }, "g G Home End",
	    "first, last row", SCR_ALL, c_home },
	[CMD_END] = { { 'G', FK(KEY_END) }, NULL,
	    "last row", SCR_ALL, c_end },
	[CMD_SEARCH] = { { '/' }, "/",
	    "Referrers: find user id or code; else filter rows",
	    SCR_ALL, c_search },
	[CMD_OPEN] = { { '\n', '\r', FK(KEY_ENTER) }, "Enter",
	    "the referrer's referrals", ON_REFERRALS, c_open },
	[CMD_BACK] = { { KEY_ESC, FK(KEY_BACKSPACE), 127, 'h' }, "Esc",
	    "back; clear the search or filter", SCR_ALL, c_back },
	[CMD_APPROVE] = { { 'a' }, "a",
	    "approve a held referral: its rewards proceed",
	    SCR_BIT(SCR_FRAUD) | SCR_BIT(SCR_REFERRALS), c_approve },
	[CMD_VOID] = { { 'v' }, "v",
	    "void a referral (asks a reason, then y/n)",
	    SCR_BIT(SCR_FRAUD) | SCR_BIT(SCR_REFERRALS), c_void },
	[CMD_FLAG] = { { 'f' }, "f",
	    "flag the referrer's account (asks a reason, then y/n)",
	    SCR_BIT(SCR_FRAUD) | SCR_BIT(SCR_REFERRERS) |
	    SCR_BIT(SCR_REFERRALS), c_flag },
	[CMD_RETRY] = { { 'r' }, "r",
	    "retry a dead outbox row (y/n)", SCR_BIT(SCR_OUTBOX), c_retry },
	[CMD_RELOAD] = { { CTL('l'), FK(KEY_F(5)) }, "Ctrl-L",
	    "reload now and repaint", SCR_ALL, c_reload },
};

_Static_assert(sizeof(cmds) / sizeof(cmds[0]) == CMD__MAX,
    "command table length");

static enum db_rc	 a_void(struct con *);
static enum db_rc	 a_approve(struct con *);
static enum db_rc	 a_flag(struct con *);
static enum db_rc	 a_retry(struct con *);

/* The write actions, each confirmed with y/n before it runs. */
static const struct act_def {
	const char	*what;		/* "void referral" */
	int		 reason;	/* asks for a reason first */
	enum db_rc	(*run)(struct con *);
	const char	*done;		/* DB_OK */
	const char	*noop;		/* DB_NOOP */
} acts[ACT__MAX] = {
	[ACT_NONE] = { NULL, 0, NULL, NULL, NULL },
	[ACT_VOID] = { "void referral", 1, a_void, "voided",
	    "was already void" },
	[ACT_APPROVE] = { "approve referral", 0, a_approve,
	    "approved: rewards proceed", "is not held" },
	[ACT_FLAG] = { "flag user", 1, a_flag,
	    "flagged: their code no longer attributes anyone",
	    "was already flagged" },
	[ACT_RETRY] = { "retry outbox row", 0, a_retry,
	    "set back to pending", "is not dead" },
	[ACT_SEARCH] = { NULL, 0, NULL, NULL, NULL },
	[ACT_FILTER] = { NULL, 0, NULL, NULL, NULL },
};

_Static_assert(sizeof(acts) / sizeof(acts[0]) == ACT__MAX,
    "action table length");

/*
 * Fills "lines" with the help text, one command per line, from the
 * command table.  Returns the number of lines.
 */
size_t
cmd_help_lines(char (*lines)[128], size_t max)
{
	size_t	 i, n = 0;

	for (i = 0; i < CMD__MAX && n < max; i++) {
		if (cmds[i].keyhelp == NULL)
			continue;
		snprintf(lines[n++], 128, "%-13s %s", cmds[i].keyhelp,
		    cmds[i].help);
	}
	return n;
}

static int
page_rows(void)
{
	return LINES - 5 > 1 ? LINES - 5 : 1;
}

static void
go(struct con *c, enum con_screen s)
{
	if (c->screen != s) {
		c->screen = s;
		c->next_load_ms = 0;
	}
	c->dirty = 1;
}

static void
c_quit(struct con *c)
{
	c->quit = 1;
}

static void
c_help(struct con *c)
{
	c->mode = c->mode == MODE_HELP ? MODE_NORMAL : MODE_HELP;
	c->dirty = 1;
}

static void
c_next(struct con *c)
{
	go(c, c->screen >= SCR_AUDIT ? SCR_REFERRERS : c->screen + 1);
}

static void
c_prev(struct con *c)
{
	go(c, c->screen == SCR_REFERRERS ? SCR_AUDIT :
	    c->screen == SCR_REFERRALS ? SCR_REFERRERS : c->screen - 1);
}

static void
c_referrers(struct con *c)
{
	go(c, SCR_REFERRERS);
}

static void
c_fraud(struct con *c)
{
	go(c, SCR_FRAUD);
}

static void
c_outbox(struct con *c)
{
	go(c, SCR_OUTBOX);
}

static void
c_audit(struct con *c)
{
	go(c, SCR_AUDIT);
}

/* Moves the selection by "d" rows, clamped. */
static void
step(struct con *c, long d)
{
	struct con_list	*l = &c->lists[c->screen];
	long		 cur = (long)l->cur + d;

	if (l->nvis == 0)
		return;
	if (cur < 0)
		cur = 0;
	if (cur >= (long)l->nvis)
		cur = (long)l->nvis - 1;
	l->cur = (size_t)cur;
	l->key = screen_def(c->screen)->key(c, l->vis[l->cur]);
	c->dirty = 1;
}

static void
c_down(struct con *c)
{
	step(c, 1);
}

static void
c_up(struct con *c)
{
	step(c, -1);
}

static void
c_pgdn(struct con *c)
{
	step(c, page_rows());
}

static void
c_pgup(struct con *c)
{
	step(c, -page_rows());
}

static void
c_home(struct con *c)
{
	step(c, -(long)CON_MAX_ROWS);
}

static void
c_end(struct con *c)
{
	step(c, (long)CON_MAX_ROWS);
}


static void
c_search(struct con *c)
{
	if (c->screen == SCR_REFERRERS)
		input_begin(c, ACT_SEARCH, CON_MAX_SEARCH,
		    "Find referrer (user id or code): ");
	else
		input_begin(c, ACT_FILTER, CON_MAX_SEARCH,
		    "Filter rows containing: ");
}

/* Shows the referrals of "user" (SCR_REFERRALS), coming from here. */
static void
open_referrer(struct con *c, int64_t user, const char *code)
{
	struct con_list	*l = &c->lists[SCR_REFERRALS];
	struct code_row	 cr;

	c->referrer = user;
	snprintf(c->referrer_code, sizeof(c->referrer_code), "%s", code);
	if (code[0] == '\0' && db_code_get(c->db, user, &cr) == DB_OK)
		memcpy(c->referrer_code, cr.code, sizeof(cr.code));
	l->cur = l->top = 0;
	l->key = 0;
	l->filter[0] = '\0';
	l->nvis = 0;
	c->nreferrals = 0;
	c->back = c->screen;
	go(c, SCR_REFERRALS);
}

static void
c_open(struct con *c)
{
	size_t	 r = screen_row(c, c->screen);

	if (r == (size_t)-1) {
		con_msg(c, 1, "no row selected");
		return;
	}
	if (c->screen == SCR_REFERRERS)
		open_referrer(c, c->referrers[r].user_id,
		    c->referrers[r].code);
	else if (c->fraud[r].referrer_id != 0)
		open_referrer(c, c->fraud[r].referrer_id, "");
	else
		con_msg(c, 1, "this row has no referrer");
}

static void
c_back(struct con *c)
{
	struct con_list	*l = &c->lists[c->screen];

	if (l->filter[0] != '\0') {
		l->filter[0] = '\0';
		screen_filter(c, c->screen);
	} else if (c->screen == SCR_REFERRERS && c->search[0] != '\0') {
		c->search[0] = '\0';
		l->cur = l->top = 0;
		l->key = 0;
		c->next_load_ms = 0;
	} else if (c->screen == SCR_REFERRALS)
		go(c, c->back);
	c->dirty = 1;
}

/* Asks y/n for action "act" on "v"; the prompt names what will happen. */
void
cmd_confirm(struct con *c, enum con_act act, int64_t v, const char *extra)
{
	c->mode = MODE_CONFIRM;
	c->act = act;
	c->act_id = v;
	snprintf(c->prompt, sizeof(c->prompt), "%s %" PRId64 "%s? [y/N] ",
	    acts[act].what, v, extra);
	c->dirty = 1;
}

/* The referral under the cursor and its state, or 0 with a message. */
static int64_t
selected_referral(struct con *c, struct ref_pos *at)
{
	size_t	 r = screen_row(c, c->screen);

	if (r == (size_t)-1) {
		con_msg(c, 1, "no row selected");
		return 0;
	}
	if (c->screen == SCR_REFERRALS) {
		at->status = c->referrals[r].status;
		at->review = c->referrals[r].review;
		return c->referrals[r].id;
	}
	at->status = c->fraud[r].status;
	at->review = c->fraud[r].review;
	if (c->fraud[r].referral_id == 0)
		con_msg(c, 1, "this flag has no referral");
	return c->fraud[r].referral_id;
}

static void
c_approve(struct con *c)
{
	struct ref_pos	 at;
	int64_t		 id;

	if ((id = selected_referral(c, &at)) == 0)
		return;
	if (!fsm_can(at, RE_APPROVE)) {
		con_msg(c, 1, "referral %" PRId64 " is not held for review "
		    "(%s, review %s)", id, fsm_state_name(at.status),
		    fsm_review_name(at.review));
		return;
	}
	cmd_confirm(c, ACT_APPROVE, id, at.status == RS_CONVERTED ?
	    " (converted: rewards are issued now)" :
	    " (pending: rewards follow its order)");
}

static void
c_void(struct con *c)
{
	struct ref_pos	 at;
	int64_t		 id;

	if ((id = selected_referral(c, &at)) == 0)
		return;
	if (!fsm_can(at, RE_VOID)) {
		con_msg(c, 1, "referral %" PRId64 " is already void", id);
		return;
	}
	c->act_id = id;
	snprintf(c->act_note, sizeof(c->act_note), "%s",
	    fsm_next(at, RE_VOID).actions & FSM_A_REVOKE ?
	    " (rewarded: both rewards are revoked)" : "");
	input_begin(c, ACT_VOID, REASON_CHARS,
	    "Void referral %" PRId64 ": reason (Esc cancels): ", id);
}

static void
c_flag(struct con *c)
{
	size_t	 r = screen_row(c, c->screen);
	int64_t	 user = 0;

	if (c->screen == SCR_REFERRALS)
		user = c->referrer;
	else if (r == (size_t)-1) {
		con_msg(c, 1, "no row selected");
		return;
	} else if (c->screen == SCR_REFERRERS)
		user = c->referrers[r].user_id;
	else
		user = c->fraud[r].referrer_id;
	if (user == 0) {
		con_msg(c, 1, "this row has no referrer");
		return;
	}
	c->act_id = user;
	snprintf(c->act_note, sizeof(c->act_note),
	    " (their code stops attributing)");
	input_begin(c, ACT_FLAG, REASON_CHARS,
	    "Flag user %" PRId64 ": reason (Esc cancels): ", user);
}

static void
c_retry(struct con *c)
{
	size_t	 r = screen_row(c, c->screen);

	if (r == (size_t)-1) {
		con_msg(c, 1, "no dead row selected");
		return;
	}
	cmd_confirm(c, ACT_RETRY, c->dead[r].id, "");
}

static void
c_reload(struct con *c)
{
	clearok(curscr, TRUE);
	c->next_load_ms = 0;
	c->dirty = 1;
}

static enum db_rc
a_void(struct con *c)
{
	return db_referral_void(c->db, c->act_id, c->act_reason, c->operator,
	    clock_now());
}

static enum db_rc
a_approve(struct con *c)
{
	return db_referral_approve(c->db, c->act_id, c->operator, clock_now());
}

static enum db_rc
a_flag(struct con *c)
{
	return db_user_flag(c->db, c->act_id, c->act_reason, c->operator,
	    clock_now());
}

static enum db_rc
a_retry(struct con *c)
{
	return db_outbox_requeue(c->db, c->act_id, c->operator, clock_now());
}

/* Runs the confirmed action and says how it went. */
static void
act_run(struct con *c)
{
	const struct act_def *a = &acts[c->act];
	enum db_rc	 rc = a->run(c);

	switch (rc) {
	case DB_OK:
		con_msg(c, 0, "%s %" PRId64 " %s", a->what, c->act_id,
		    a->done);
		break;
	case DB_NOOP:
		con_msg(c, 1, "%s %" PRId64 ": nothing done, it %s", a->what,
		    c->act_id, a->noop);
		break;
	case DB_NOTFOUND:
		con_msg(c, 1, "%s %" PRId64 ": not found", a->what, c->act_id);
		break;
	case DB_INVALID:
		con_msg(c, 1, "%s %" PRId64 ": not allowed in its current "
		    "state", a->what, c->act_id);
		break;
	case DB_UNAVAILABLE:
		con_msg(c, 1, "%s %" PRId64 ": database unavailable, nothing "
		    "done", a->what, c->act_id);
		break;
	default:
		con_msg(c, 1, "%s %" PRId64 " failed: %s", a->what,
		    c->act_id, c->db->errmsg);
		break;
	}
	c->next_load_ms = 0;
}

/*
 * Acts on one key: a wide character, or a curses key code ORed with
 * CON_FKEY.
 */
void
cmd_key(struct con *c, int key)
{
	size_t	 i, k;

	switch (c->mode) {
	case MODE_INPUT:
		input_key(c, key);
		return;
	case MODE_CONFIRM:
		c->mode = MODE_NORMAL;
		c->dirty = 1;
		if (key == 'y' || key == 'Y')
			act_run(c);
		else
			con_msg(c, 0, "cancelled; nothing done");
		return;
	case MODE_HELP:
		c->mode = MODE_NORMAL;
		c->dirty = 1;
		if (key != 'q' && key != 'Q')
			return;
		break;
	case MODE_NORMAL:
		break;
	}
	for (i = 0; i < CMD__MAX; i++)
		for (k = 0; k < CMD_KEYS && cmds[i].keys[k] != 0; k++) {
			if (cmds[i].keys[k] != key)
				continue;
			if (!(cmds[i].screens & SCR_BIT(c->screen))) {
				con_msg(c, 1, "%s: not on this screen",
				    cmds[i].help);
				return;
			}
			cmds[i].fn(c);
			return;
		}
}
