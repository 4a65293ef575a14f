/*
 * referd-console: the ncurses ops console.
 *
 * main.c owns the terminal (start, signals, restore on every exit), the
 * main loop and the refresh timer; screen.c is the table of screens (what
 * each loads and how a row reads); draw.c paints a frame; cmd.c is the
 * table of key commands and the write actions, which call the same data
 * layer operations as the API.
 */
#ifndef REFERD_CONSOLE_H
#define REFERD_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "sql.h"

#define CON_MAX_ROWS		500	/* rows loaded per screen */
#define CON_MAX_SEARCH		64	/* search and filter text, bytes */
#define CON_MAX_LINE		2048	/* one formatted row, bytes */
#define CON_MAX_MSG		512	/* message line, bytes */
#define CON_MSG_SECONDS		15	/* a message stays this long */
#define CON_INPUT_MS		200	/* longest wait for a key */
#define CON_MIN_COLS		40	/* below this: "terminal too small" */
#define CON_MIN_LINES		10
#define CON_ESCDELAY		25	/* ms to tell Esc from a key sequence */
#define CON_FKEY		0x1000000	/* ORed into function key codes */
#define FK(k)			((k) | CON_FKEY)
#define CTL(k)			((k) & 0x1f)
#define KEY_ESC			27

enum con_screen {
	SCR_REFERRERS,
	SCR_FRAUD,
	SCR_OUTBOX,
	SCR_AUDIT,
	SCR_REFERRALS,		/* one referrer's referrals (from Enter) */
	SCR__MAX
};

#define SCR_BIT(s)	(1u << (s))
#define SCR_ALL		((1u << SCR__MAX) - 1)

enum con_mode {
	MODE_NORMAL,
	MODE_HELP,
	MODE_INPUT,		/* a line of text: reason, search, filter */
	MODE_CONFIRM,		/* y/n */
};

/* What a typed line or a confirmation is for. */
enum con_act {
	ACT_NONE,
	ACT_VOID,
	ACT_APPROVE,
	ACT_FLAG,
	ACT_RETRY,
	ACT_SEARCH,
	ACT_FILTER,
	ACT__MAX
};

/* Display styles; colour with a monochrome fallback (draw.c). */
enum con_style {
	ST_NORMAL,
	ST_TAB,			/* inactive tab */
	ST_TAB_ON,		/* current tab */
	ST_TITLE,
	ST_HEAD,		/* column headings */
	ST_SEL,			/* selected row */
	ST_HELD,		/* a row waiting for a person */
	ST_BAD,			/* dead, voided, rejected */
	ST_GOOD,
	ST_DIM,
	ST_STATUS,
	ST_STATUS_BAD,
	ST_MSG,
	ST_MSG_ERR,
	ST__MAX
};

struct con_list {
	size_t		 cur;		/* selected visible row */
	size_t		 top;		/* first visible row on screen */
	int64_t		 key;		/* key of the selected row */
	char		 filter[CON_MAX_SEARCH + 1];	/* "" = none */
	size_t		*vis;		/* row index of each visible row */
	size_t		 nvis;
};

struct con {
	const struct conf *conf;
	struct db	*db;
	char		 operator[MAX_OPERATOR + 1];
	enum con_screen	 screen;
	enum con_screen	 back;		/* where Esc leaves SCR_REFERRALS */
	struct con_list	 lists[SCR__MAX];

	struct con_referrer *referrers;
	size_t		 nreferrers;
	char		 search[CON_MAX_SEARCH + 1];	/* "" = top list */
	int64_t		 referrer;	/* of SCR_REFERRALS */
	char		 referrer_code[CODE_LEN + 1];
	struct con_referral *referrals;
	size_t		 nreferrals;
	struct con_fraud *fraud;
	size_t		 nfraud, nheld;
	struct con_dead	*dead;
	size_t		 ndead;
	struct outbox_counts counts;
	struct con_audit *audit;
	size_t		 naudit;

	int		 db_ok;		/* the last load worked */
	int		 loaded;	/* something was ever loaded */
	char		 db_err[256];
	int64_t		 refreshed;	/* time of the last good load */
	int64_t		 next_load_ms;	/* monotonic */
	char		 msg[CON_MAX_MSG];
	int		 msg_err;
	int64_t		 msg_at;

	enum con_mode	 mode;
	enum con_act	 act;
	int64_t		 act_id;	/* referral, user or outbox row */
	char		 act_reason[MAX_REASON + 1];
	char		 act_note[64];	/* what else the action does */
	char		 prompt[CON_MAX_MSG];
	wchar_t		 input[MAX_REASON + 1];
	size_t		 inputlen;
	size_t		 inputmax;	/* characters allowed */

	int		 w_a[SCR__MAX];	/* id column widths of the loaded rows */
	int		 w_b[SCR__MAX];
	int		 w_c[SCR__MAX];

	int		 colors;
	int		 dirty;		/* repaint needed */
	int		 quit;
};

/*
 * A screen: how it loads, how many rows it has, each row's key (which
 * keeps the selection across reloads) and how its lines read.
 */
struct con_screen_def {
	const char	*name;		/* tab label */
	enum db_rc	(*load)(struct con *);
	size_t		(*count)(const struct con *);
	int64_t		(*key)(const struct con *, size_t);
	void		(*title)(const struct con *, char *, size_t);
	void		(*head)(const struct con *, char *, size_t);
	void		(*row)(const struct con *, size_t, char *, size_t);
	void		(*detail)(const struct con *, size_t, char *, size_t);
	enum con_style	(*style)(const struct con *, size_t);
};

/* screen.c */
const struct con_screen_def *screen_def(enum con_screen);
int		 screen_load(struct con *);
void		 screen_filter(struct con *, enum con_screen);
size_t		 screen_row(const struct con *, enum con_screen);
void		 con_msg(struct con *, int err, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/* draw.c */
void		 draw_init(struct con *);
void		 draw_frame(struct con *);

/* cmd.c */
void		 cmd_key(struct con *, int key);
void		 cmd_confirm(struct con *, enum con_act, int64_t id,
		    const char *extra);
size_t		 cmd_help_lines(char (*)[128], size_t max);

/* input.c */
void		 input_begin(struct con *, enum con_act, size_t max,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void		 input_key(struct con *, int key);

#endif /* !REFERD_CONSOLE_H */
