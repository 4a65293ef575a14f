/*
 * Painting one frame: erase, draw every line, then wnoutrefresh and
 * doupdate, so the terminal only receives what changed (no clear, no
 * flicker).  Every text drawn goes through put(), which clips to the
 * width in display columns and turns control characters and bad UTF-8
 * from the database into '?'.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <wctype.h>

#include <curses.h>

#include "console.h"

#define TAB_SCREENS	4	/* screens with a tab: 1 to 4 */
#define HELP_MAX	40	/* help lines */

/* Colour pair, the extra attributes in colour, and the monochrome look. */
static const struct style_def {
	short	 fg, bg;		/* -1: terminal default */
	attr_t	 color_attr;
	attr_t	 mono_attr;
} styles[ST__MAX] = {
	[ST_NORMAL] = { -1, -1, A_NORMAL, A_NORMAL },
	[ST_TAB] = { COLOR_WHITE, COLOR_BLUE, A_NORMAL, A_REVERSE },
	[ST_TAB_ON] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_BOLD },
	[ST_TITLE] = { COLOR_CYAN, -1, A_BOLD, A_BOLD },
	[ST_HEAD] = { -1, -1, A_BOLD | A_UNDERLINE, A_UNDERLINE },
	[ST_SEL] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[ST_HELD] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[ST_BAD] = { COLOR_RED, -1, A_NORMAL, A_NORMAL },
	[ST_GOOD] = { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	[ST_DIM] = { -1, -1, A_DIM, A_DIM },
	[ST_STATUS] = { COLOR_BLACK, COLOR_WHITE, A_NORMAL, A_REVERSE },
	[ST_STATUS_BAD] = { COLOR_WHITE, COLOR_RED, A_BOLD,
	    A_REVERSE | A_BOLD },
	[ST_MSG] = { COLOR_GREEN, -1, A_BOLD, A_BOLD },
	[ST_MSG_ERR] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
};

_Static_assert(sizeof(styles) / sizeof(styles[0]) == ST__MAX,
    "style table length");

/*
 * Sets up the colour pairs if the terminal has colours; without them
 * every style falls back to its monochrome attributes.
 */
void
draw_init(struct con *c)
{
	int	 i;

	c->colors = has_colors() && start_color() == OK;
	if (!c->colors)
		return;
	use_default_colors();
	for (i = 1; i < ST__MAX; i++)
		init_pair((short)i, styles[i].fg, styles[i].bg);
}

static attr_t
sattr(const struct con *c, enum con_style s)
{
	if (!c->colors)
		return styles[s].mono_attr;
	if (s == ST_NORMAL)
		return A_NORMAL;
	return COLOR_PAIR(s) | styles[s].color_attr;
}

/*
 * Draws "s" at (y, x) in at most "cols" display columns; with "fill",
 * pads with blanks to exactly "cols".  Returns the columns used.
 */
static int
put(int y, int x, int cols, const char *s, attr_t a, int fill)
{
	wchar_t		 w[CON_MAX_LINE];
	mbstate_t	 ps;
	size_t		 n = 0, len = strlen(s), k;
	int		 used = 0;

	memset(&ps, 0, sizeof(ps));
	while (len > 0 && n < CON_MAX_LINE - 1) {
		wchar_t	 wc;
		int	 wd;

		k = mbrtowc(&wc, s, len, &ps);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&ps, 0, sizeof(ps));
			wc = L'?';
			k = 1;
		}
		if (!iswprint((wint_t)wc))
			wc = L'?';
		if ((wd = wcwidth(wc)) < 0) {
			wc = L'?';
			wd = 1;
		}
		if (used + wd > cols)
			break;
		w[n++] = wc;
		used += wd;
		s += k;
		len -= k;
	}
	while (fill && used < cols && n < CON_MAX_LINE - 1) {
		w[n++] = L' ';
		used++;
	}
	w[n] = L'\0';
	attrset(a);
	mvaddnwstr(y, x, w, (int)n);
	attrset(A_NORMAL);
	return used;
}

static void
draw_tabs(struct con *c, int w)
{
	enum con_screen	 on = c->screen == SCR_REFERRALS ? SCR_REFERRERS :
			    c->screen;
	char		 buf[64];
	int		 x, i;

	put(0, 0, w, "", sattr(c, ST_TAB), 1);
	x = put(0, 0, w, " referd ", sattr(c, ST_TAB) | A_BOLD, 0);
	for (i = 0; i < TAB_SCREENS && x < w; i++) {
		snprintf(buf, sizeof(buf), " %d %s ", i + 1,
		    screen_def((enum con_screen)i)->name);
		x += put(0, x, w - x, buf, sattr(c, (enum con_screen)i == on ?
		    ST_TAB_ON : ST_TAB), 0);
	}
	snprintf(buf, sizeof(buf), "?:help q:quit ");
	if (x + (int)strlen(buf) < w)
		put(0, w - (int)strlen(buf), (int)strlen(buf), buf,
		    sattr(c, ST_TAB), 0);
}

static void
draw_status(struct con *c, int y, int w)
{
	char		 buf[CON_MAX_LINE], t[32];
	const struct con_list *l = &c->lists[c->screen];
	long		 ms = c->conf->console_refresh_ms;

	if (c->refreshed == 0 ||
	    clock_utc(t, sizeof(t), c->refreshed, "%H:%M:%SZ") == -1)
		snprintf(t, sizeof(t), "never");
	if (c->db_ok)
		snprintf(buf, sizeof(buf), " db: ok | refreshed %s, every "
		    "%ld.%lds | operator %s | row %zu/%zu", t, ms / 1000,
		    (ms % 1000) / 100, c->operator,
		    l->nvis ? l->cur + 1 : 0, l->nvis);
	else
		snprintf(buf, sizeof(buf), " db: UNAVAILABLE, reconnecting "
		    "every %ld.%lds | last ok %s | %s", ms / 1000,
		    (ms % 1000) / 100, t, c->db_err);
	put(y, 0, w, buf, sattr(c, c->db_ok ? ST_STATUS : ST_STATUS_BAD), 1);
}

/* The line above the status: prompt, message, or the selected row. */
static void
draw_message(struct con *c, int y, int w)
{
	const struct con_screen_def *d = screen_def(c->screen);
	char		 buf[CON_MAX_LINE];
	size_t		 row;

	if (c->mode == MODE_INPUT) {
		char	 in[MAX_REASON * 4 + 1];
		size_t	 skip = 0;
		int	 x, room;

		x = put(y, 0, w, c->prompt, sattr(c, ST_MSG), 0);
		room = w - x - 1;
		/* Show the end of a long input. */
		if (room > 0 && (int)c->inputlen > room)
			skip = c->inputlen - (size_t)room;
		if (wcstombs(in, c->input + skip, sizeof(in)) == (size_t)-1)
			in[0] = '\0';
		x += put(y, x, w - x, in, A_NORMAL, 0);
		move(y, x < w ? x : w - 1);
		return;
	}
	if (c->mode == MODE_CONFIRM) {
		put(y, 0, w, c->prompt, sattr(c, ST_MSG_ERR), 0);
		return;
	}
	if (c->msg[0] != '\0' && clock_now() - c->msg_at < CON_MSG_SECONDS) {
		put(y, 0, w, c->msg, sattr(c, c->msg_err ? ST_MSG_ERR :
		    ST_MSG), 0);
		return;
	}
	if ((row = screen_row(c, c->screen)) != (size_t)-1) {
		d->detail(c, row, buf, sizeof(buf));
		put(y, 0, w, buf, sattr(c, ST_DIM), 0);
	}
}

static void
draw_list(struct con *c, int y0, int rows, int w)
{
	const struct con_screen_def *d = screen_def(c->screen);
	struct con_list	*l = &c->lists[c->screen];
	char		 buf[CON_MAX_LINE];
	size_t		 i;
	int		 y;

	if (rows <= 0)
		return;
	if (l->cur < l->top)
		l->top = l->cur;
	if (l->cur >= l->top + (size_t)rows)
		l->top = l->cur - (size_t)rows + 1;
	if (l->nvis == 0) {
		if (!c->db_ok)
			snprintf(buf, sizeof(buf), "  (database unavailable: "
			    "nothing to show until it answers)");
		else if (!c->loaded)
			snprintf(buf, sizeof(buf), "  (loading)");
		else if (l->filter[0] != '\0')
			snprintf(buf, sizeof(buf), "  (no rows match \"%s\"; "
			    "Esc clears the filter)", l->filter);
		else
			snprintf(buf, sizeof(buf), "  (nothing here)");
		put(y0, 0, w, buf, sattr(c, ST_DIM), 0);
		return;
	}
	for (y = 0, i = l->top; y < rows && i < l->nvis; y++, i++) {
		int	 sel = i == l->cur;

		d->row(c, l->vis[i], buf, sizeof(buf));
		put(y0 + y, 0, 2, sel ? "> " : "  ", sattr(c, sel ? ST_SEL :
		    ST_NORMAL), 1);
		put(y0 + y, 2, w - 2, buf, sattr(c, sel ? ST_SEL :
		    d->style(c, l->vis[i])), sel);
	}
}

static void
draw_help(struct con *c, int h, int w)
{
	char	 lines[HELP_MAX][128];
	size_t	 n = cmd_help_lines(lines, HELP_MAX), i;
	int	 bw = w - 4 < 72 ? w - 4 : 72, bh = (int)n + 4, x0, y0, y;

	if (bh > h - 2)
		bh = h - 2;
	x0 = (w - bw) / 2;
	y0 = (h - bh) / 2;
	for (y = 0; y < bh; y++)
		put(y0 + y, x0, bw, "", sattr(c, ST_STATUS), 1);
	put(y0, x0 + 2, bw - 4, "referd-console keys", sattr(c, ST_STATUS) |
	    A_BOLD, 0);
	for (i = 0; i < n && (int)i + 2 < bh - 1; i++)
		put(y0 + 2 + (int)i, x0 + 2, bw - 4, lines[i],
		    sattr(c, ST_STATUS), 0);
	put(y0 + bh - 1, x0 + 2, bw - 4, "any key closes this help",
	    sattr(c, ST_STATUS) | A_DIM, 0);
}

/*
 * Paints the whole screen.  Layout: tabs, title, column headings, rows,
 * message line, status line.
 */
void
draw_frame(struct con *c)
{
	const struct con_screen_def *d = screen_def(c->screen);
	char		 buf[CON_MAX_LINE];
	int		 h, w;

	getmaxyx(stdscr, h, w);
	werase(stdscr);
	curs_set(c->mode == MODE_INPUT ? 1 : 0);
	if (h < CON_MIN_LINES || w < CON_MIN_COLS) {
		snprintf(buf, sizeof(buf), "terminal too small (%dx%d); "
		    "q quits", w, h);
		put(0, 0, w, buf, A_BOLD, 0);
		goto out;
	}
	draw_tabs(c, w);
	d->title(c, buf, sizeof(buf));
	put(1, 0, w, buf, sattr(c, ST_TITLE), 0);
	d->head(c, buf, sizeof(buf));
	put(2, 0, 2, "", sattr(c, ST_HEAD), 1);
	put(2, 2, w - 2, buf, sattr(c, ST_HEAD), 1);
	draw_list(c, 3, h - 5, w);
	draw_status(c, h - 1, w);
	if (c->mode == MODE_HELP)
		draw_help(c, h, w);
	draw_message(c, h - 2, w);
out:
	wnoutrefresh(stdscr);
	doupdate();
	c->dirty = 0;
}
