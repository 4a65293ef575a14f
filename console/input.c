/*
 * The console's input line: reading a line of text (a reason, a search,
 * a filter) key by key, and handing it to what asked for it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include <curses.h>

#include "console.h"

/* Starts reading a line of at most "max" characters for "act". */
void
input_begin(struct con *c, enum con_act act, size_t max, const char *fmt,
    ...)
{
	va_list	 ap;

	c->mode = MODE_INPUT;
	c->act = act;
	c->inputlen = 0;
	c->input[0] = L'\0';
	c->inputmax = max;
	va_start(ap, fmt);
	vsnprintf(c->prompt, sizeof(c->prompt), fmt, ap);
	va_end(ap);
	c->dirty = 1;
}

/* The typed line as UTF-8, trimmed; -1 if it does not fit. */
static int
input_text(const struct con *c, char *buf, size_t sz)
{
	size_t	 n, b = 0;

	if ((n = wcstombs(buf, c->input, sz)) == (size_t)-1 || n >= sz)
		return -1;
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	while (buf[b] == ' ' || buf[b] == '\t')
		b++;
	memmove(buf, buf + b, n - b + 1);
	return 0;
}

static void
input_accept(struct con *c)
{
	struct con_list	*l = &c->lists[c->screen];
	char		 text[MAX_REASON + 1];

	c->mode = MODE_NORMAL;
	c->dirty = 1;
	if (input_text(c, text, sizeof(text)) == -1) {
		con_msg(c, 1, "that text is too long; nothing done");
		return;
	}
	switch (c->act) {
	case ACT_SEARCH:
		if (strlen(text) > CON_MAX_SEARCH)
			text[CON_MAX_SEARCH] = '\0';
		snprintf(c->search, sizeof(c->search), "%s", text);
		l->cur = l->top = 0;
		l->key = 0;
		c->next_load_ms = 0;
		break;
	case ACT_FILTER:
		if (strlen(text) > CON_MAX_SEARCH)
			text[CON_MAX_SEARCH] = '\0';
		snprintf(l->filter, sizeof(l->filter), "%s", text);
		l->cur = l->top = 0;
		l->key = 0;
		screen_filter(c, c->screen);
		break;
	case ACT_VOID:
	case ACT_FLAG:
		if (text[0] == '\0') {
			con_msg(c, 1, "a reason is required; nothing done");
			break;
		}
		snprintf(c->act_reason, sizeof(c->act_reason), "%s", text);
		cmd_confirm(c, c->act, c->act_id, c->act_note);
		break;
	default:
		break;
	}
}

/* Edits the line with one key; Enter accepts it, Esc cancels. */
void
input_key(struct con *c, int key)
{
	c->dirty = 1;
	switch (key) {
	case '\n':
	case '\r':
	case FK(KEY_ENTER):
		input_accept(c);
		return;
	case KEY_ESC:
		c->mode = MODE_NORMAL;
		con_msg(c, 0, "cancelled");
		return;
	case FK(KEY_BACKSPACE):
	case 127:
	case CTL('h'):
		if (c->inputlen > 0)
			c->input[--c->inputlen] = L'\0';
		return;
	case CTL('u'):
		c->inputlen = 0;
		c->input[0] = L'\0';
		return;
	case CTL('w'):
		while (c->inputlen > 0 && c->input[c->inputlen - 1] == L' ')
			c->inputlen--;
		while (c->inputlen > 0 && c->input[c->inputlen - 1] != L' ')
			c->inputlen--;
		c->input[c->inputlen] = L'\0';
		return;
	}
	if ((key & CON_FKEY) || !iswprint((wint_t)key))
		return;
	if (c->inputlen >= c->inputmax || c->inputlen >= MAX_REASON) {
		beep();
		return;
	}
	c->input[c->inputlen++] = (wchar_t)key;
	c->input[c->inputlen] = L'\0';
}
