/*
 * The delivery engine of referd-dispatch: a slot per transfer in flight.
 * Due rows are claimed into free slots, POSTed with libcurl multi (signed
 * with every outbound_secret), the answers classified (policy.c), and
 * the outcomes of every finished transfer recorded with one commit.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"

/* The URL of a reward type, or NULL if there is none. */
static const char *
reward_url(const struct conf *c, const char *type)
{
	const char	*u = NULL;

	if (strcmp(type, "credit") == 0)
		u = c->reward_url_credit;
	else if (strcmp(type, "coupon") == 0)
		u = c->reward_url_coupon;
	else if (strcmp(type, "points") == 0)
		u = c->reward_url_points;
	return u != NULL && u[0] != '\0' ? u : NULL;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct slot	*s = arg;
	size_t		 n = size * nmemb, room = DISPATCH_ERR_BODY - s->bodylen;

	if (room > 0) {
		if (room > n)
			room = n;
		memcpy(s->body + s->bodylen, p, room);
		s->bodylen += room;
		s->body[s->bodylen] = '\0';
	}
	return n;	/* the rest is read and dropped */
}

/* Options that stay the same for every transfer of a slot. */
static int
slot_init(struct dispatcher *d, struct slot *s)
{
	const struct conf *c = d->conf;
	CURL		*e;

	memset(s, 0, sizeof(*s));
	if ((e = s->easy = curl_easy_init()) == NULL)
		return -1;
	if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, s) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    c->dispatch_connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    c->dispatch_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT,
	    "referd-dispatch/" PACKAGE_VERSION) != CURLE_OK)
		return -1;
	s->state = SLOT_FREE;
	return 0;
}

/* Logs one attempt: row, key, HTTP status, latency, outcome, error. */
static void
log_attempt(struct dispatcher *d, const struct slot *s, long status,
    int64_t ms, const char *outcome, int64_t next, const char *err)
{
	char	 at[32] = "";

	if (next > 0)
		snprintf(at, sizeof(at), " next=%" PRId64, next);
	dispatch_note(d, "attempt row=%" PRId64 " key=%s event=%s "
	    "type=%s try=%" PRId64 " status=%ld ms=%" PRId64 " result=%s%s "
	    "error=\"%s\"", s->row.id, s->row.key, s->row.event,
	    s->row.reward_type, s->row.attempts, status, ms, outcome, at, err);
}

/*
 * Fills the outcome of the slot's attempt from a verdict and logs it.
 * A retryable failure on the last allowed attempt is dead, keeping the
 * error.
 */
static void
slot_finish(struct dispatcher *d, struct slot *s, enum verdict v,
    long status, int64_t retry_after, const char *err)
{
	struct outbox_result *r = &s->res;
	int64_t		 now = clock_wall_ms(), ms = clock_mono_ms() - s->t0;

	memset(r, 0, sizeof(*r));
	r->id = s->row.id;
	r->status = (int)status;
	snprintf(r->err, sizeof(r->err), "%s", err);
	if (v == VERDICT_RETRY &&
	    s->row.attempts >= d->conf->dispatch_max_attempts)
		v = VERDICT_DEAD;
	switch (v) {
	case VERDICT_DELIVERED:
		r->fate = OUTBOX_DELIVERED;
		r->at = now / 1000;
		r->err[0] = '\0';
		break;
	case VERDICT_RETRY:
		r->fate = OUTBOX_RETRY;
		r->at = policy_next_attempt(now, policy_backoff_ms(
		    d->conf->dispatch_backoff_ms,
		    d->conf->dispatch_backoff_max_ms, s->row.attempts,
		    arc4random()), retry_after);
		break;
	default:
		r->fate = OUTBOX_DEAD;
		break;
	}
	log_attempt(d, s, status, ms, policy_verdict_name(v),
	    r->fate == OUTBOX_RETRY ? r->at : 0, r->err);
	d->n.attempts++;
	if (d->nfree + d->nsending == d->nslots)
		d->first_done = clock_mono_ms();
	s->state = SLOT_DONE;
}

/*
 * Sends the row in slot "s": signed POST of its payload to the URL of its
 * reward type.  A row that cannot be sent at all is dead at once.
 */
static void
slot_send(struct dispatcher *d, struct slot *s)
{
	const struct outbox_row *o = &s->row;
	const char	*url = reward_url(d->conf, o->reward_type);
	char		 sig[MAX_SECRETS * (SIG_LEN + 1)], h[512];
	size_t		 k, off;
	size_t		 len = strlen(o->payload);
	int64_t		 ts = clock_wall_ms() / 1000;
	struct curl_slist *l = NULL, *t;
	char		 err[MAX_REASON + 1];
	CURLMcode	 mc;

	s->t0 = clock_mono_ms();
	s->bodylen = 0;
	s->body[0] = '\0';
	s->errbuf[0] = '\0';
	if (url == NULL) {
		snprintf(err, sizeof(err), "no reward_url_%s configured",
		    o->reward_type);
		slot_finish(d, s, VERDICT_DEAD, 0, -1, err);
		return;
	}
	if (!policy_key_valid(o->key)) {
		slot_finish(d, s, VERDICT_DEAD, 0, -1,
		    "idempotency key not header-safe");
		return;
	}
	/* Signed with every outbound_secret (rotation), space-separated. */
	for (k = 0, off = 0; k < d->nkeys; k++) {
		if (k > 0)
			sig[off++] = ' ';
		if (sig_sign(&d->keys[k], o->key, ts, o->payload, len,
		    sig + off) == -1) {
			slot_finish(d, s, VERDICT_RETRY, 0, -1,
			    "signing failed");
			return;
		}
		off += strlen(sig + off);
	}
#define ADD(...) do {							\
	snprintf(h, sizeof(h), __VA_ARGS__);				\
	if ((t = curl_slist_append(l, h)) == NULL)			\
		goto fail;						\
	l = t;								\
} while (0)
	ADD("Content-Type: application/json");
	ADD("Idempotency-Key: %s", o->key);
	/* Standard Webhooks: the id is stable across attempts. */
	ADD("webhook-id: %s", o->key);
	ADD("webhook-timestamp: %" PRId64, ts);
	ADD("webhook-signature: %s", sig);
	ADD("Expect:");
#undef ADD
	s->hdrs = l;
	if (curl_easy_setopt(s->easy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, l) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)len) !=
	    CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, o->payload) !=
	    CURLE_OK)
		goto fail;
	if ((mc = curl_multi_add_handle(d->multi, s->easy)) != CURLM_OK) {
		log_err("%s: curl_multi_add_handle: %s", __func__,
		    curl_multi_strerror(mc));
		goto fail;
	}
	s->state = SLOT_SENDING;
	d->nsending++;
	return;
fail:
	curl_slist_free_all(l);
	s->hdrs = NULL;
	slot_finish(d, s, VERDICT_RETRY, 0, -1, "could not set up transfer");
}

/* A finished transfer: what did the receiver say? */
static void
slot_done(struct dispatcher *d, struct slot *s, CURLcode cc)
{
	struct curl_header *h;
	long		 status = 0;
	int64_t		 ra = -1;
	enum verdict	 v;
	char		 err[MAX_REASON + 1], clean[MAX_REASON - 64];

	err[0] = '\0';
	if (cc == CURLE_OK)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	v = policy_classify(status, cc == CURLE_OK);
	if (cc != CURLE_OK) {
		policy_sanitize(clean, sizeof(clean), s->errbuf[0] != '\0' ?
		    s->errbuf : curl_easy_strerror(cc), SIZE_MAX);
		snprintf(err, sizeof(err), "%s%s", cc ==
		    CURLE_OPERATION_TIMEDOUT ? "timeout (outcome unknown): " :
		    "", clean);
	} else if (v != VERDICT_DELIVERED) {
		policy_sanitize(clean, sizeof(clean), s->body, s->bodylen);
		snprintf(err, sizeof(err), "HTTP %ld%s%s", status,
		    clean[0] != '\0' ? ": " : "", clean);
		if (v == VERDICT_RETRY && curl_easy_header(s->easy,
		    "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
			ra = policy_retry_after(h->value, clock_wall_ms() / 1000);
	}
	curl_multi_remove_handle(d->multi, s->easy);
	d->nsending--;
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	slot_finish(d, s, v, status, ra, err);
}

/* A slot whose outcome is recorded (or given up) becomes free again. */
static void
slot_free(struct dispatcher *d, struct slot *s)
{
	free(s->row.payload);
	s->row.payload = NULL;
	s->state = SLOT_FREE;
	d->nfree++;
}

/*
 * Records the outcomes of every finished transfer in one transaction.  If
 * the database is away they stay in their slots and are tried again; if
 * their lease ran out meanwhile the update is refused row by row and the
 * rows are sent again later, with the same key.
 */
void
engine_settle(struct dispatcher *d)
{
	struct slot	*map[1024];
	size_t		 i, n = 0;
	enum db_rc	 rc;

	for (i = 0; i < d->nslots; i++)
		if (d->slots[i].state == SLOT_DONE) {
			map[n] = &d->slots[i];
			d->results[n++] = d->slots[i].res;
		}
	if (n == 0)
		return;
	if ((rc = db_outbox_settle(d->db, d->owner, d->results, n)) != DB_OK) {
		d->n.db_errors++;
		d->db_ok = 0;
		d->next_settle = clock_mono_ms() + DB_DOWN_PAUSE;
		return;
	}
	d->db_ok = 1;
	for (i = 0; i < n; i++) {
		const struct outbox_result *r = &d->results[i];

		if (!r->kept) {
			d->n.lease_lost++;
			dispatch_note(d, "lease lost row=%" PRId64 " key=%s: "
			    "it will be sent again", r->id, map[i]->row.key);
		} else if (r->fate == OUTBOX_DELIVERED)
			d->n.delivered++;
		else if (r->fate == OUTBOX_RETRY)
			d->n.retried++;
		else
			d->n.dead++;
		slot_free(d, map[i]);
	}
}

/* Whether row "id" is already in one of our slots. */
static int
held(const struct dispatcher *d, int64_t id)
{
	size_t	 i;

	for (i = 0; i < d->nslots; i++)
		if (d->slots[i].state != SLOT_FREE &&
		    d->slots[i].row.id == id)
			return 1;
	return 0;
}

/* Claims as many due rows as there are free slots and sends them. */
void
engine_claim(struct dispatcher *d)
{
	size_t		 want = d->nfree, n = 0, i, j = 0;
	int64_t		 now = clock_mono_ms();
	enum db_rc	 rc;

	if (want > (size_t)d->conf->dispatch_batch)
		want = (size_t)d->conf->dispatch_batch;
	rc = db_outbox_claim(d->db, d->owner, clock_wall_ms() / 1000, d->lease,
	    d->claimed, want, &n);
	if (rc != DB_OK) {
		d->n.db_errors++;
		d->db_ok = 0;
		d->next_claim = now + DB_DOWN_PAUSE;
		return;
	}
	d->db_ok = 1;
	for (i = 0; i < n; i++) {
		struct outbox_row *o = &d->claimed[i];
		struct slot	*s;

		if (held(d, o->id)) {
			/* Only if our own lease ran out under us. */
			dispatch_note(d, "claim row=%" PRId64 " already in "
			    "flight here: skipped", o->id);
			continue;
		}
		while (d->slots[j].state != SLOT_FREE)
			j++;
		s = &d->slots[j];
		s->row = *o;
		o->payload = NULL;
		d->nfree--;
		slot_send(d, s);
	}
	outbox_rows_free(d->claimed, n);
	d->drained = n < want;
	d->next_claim = d->drained ? now + d->conf->dispatch_poll_ms : now;
}

/*
 * Gives up every busy slot: transfers in flight are aborted, outcomes the
 * database did not take are dropped.  Their rows are released (or come
 * back when their lease expires) and are sent again with the same key.
 */
void
engine_abandon(struct dispatcher *d)
{
	size_t	 i;

	for (i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (s->state == SLOT_FREE)
			continue;
		if (s->state == SLOT_SENDING) {
			curl_multi_remove_handle(d->multi, s->easy);
			curl_slist_free_all(s->hdrs);
			s->hdrs = NULL;
			d->nsending--;
		}
		dispatch_note(d, "abandoned row=%" PRId64 " key=%s: it will "
		    "be sent again", s->row.id, s->row.key);
		slot_free(d, s);
	}
}


/*
 * Runs the transfers that can make progress and takes the outcome of
 * every one that finished.
 */
void
engine_poll(struct dispatcher *d)
{
	CURLMsg		*m;
	struct slot	*s;
	int		 running, left;

	curl_multi_perform(d->multi, &running);
	while ((m = curl_multi_info_read(d->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE) {
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			    (char **)&s);
			slot_done(d, s, m->data.result);
		}
}

/*
 * Makes dispatch_concurrency slots and the multi handle.  Returns 0, or
 * -1 with a message on stderr (engine_free() releases what was made).
 */
int
engine_init(struct dispatcher *d)
{
	size_t	 i, n = (size_t)d->conf->dispatch_concurrency;

	if ((d->multi = curl_multi_init()) == NULL ||
	    (d->slots = calloc(n, sizeof(*d->slots))) == NULL ||
	    (d->claimed = calloc(n, sizeof(*d->claimed))) == NULL ||
	    (d->results = calloc(n, sizeof(*d->results))) == NULL) {
		fprintf(stderr, "referd-dispatch: out of memory\n");
		return -1;
	}
	d->nslots = n;
	for (i = 0; i < n; i++)
		if (slot_init(d, &d->slots[i]) == -1) {
			fprintf(stderr, "referd-dispatch: curl setup failed\n");
			return -1;
		}
	d->nfree = n;
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)n);
	return 0;
}

/* Frees the slots, their rows and the multi handle. */
void
engine_free(struct dispatcher *d)
{
	size_t	 i;

	for (i = 0; i < d->nslots; i++) {
		curl_slist_free_all(d->slots[i].hdrs);
		free(d->slots[i].row.payload);
		if (d->slots[i].easy != NULL)
			curl_easy_cleanup(d->slots[i].easy);
	}
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	free(d->slots);
	free(d->claimed);
	free(d->results);
}
