/*
 * referd-dispatch: the outbox dispatcher.  The retry policy lives in
 * policy.c as pure functions (no clock, no I/O) so that the unit test can
 * walk every branch.  Around it: main.c is the daemon (options, the event
 * loop, the attempt log), engine.c sends the claimed rows with libcurl
 * and records their outcomes, reward.c is the reward worker and
 * metrics.c writes the metrics file.
 */
#ifndef REFERD_DISPATCH_H
#define REFERD_DISPATCH_H

#include <limits.h>
#include <stdint.h>

#include <curl/curl.h>

#include "sql.h"

#define OWNER_HOST	32	/* hostname bytes in the lease owner */
#define DB_DOWN_PAUSE	1000	/* ms between tries while the db is away */
#define MAX_WAIT	1000	/* ms: longest sleep of the loop */
#define SETTLE_WAIT	5	/* ms an outcome may wait for company */
#define METRICS_FILE	"dispatch.prom"

/* What to do with a row after one attempt. */
enum verdict {
	VERDICT_DELIVERED,	/* 2xx */
	VERDICT_RETRY,		/* 5xx, 408, 429, timeout, connection error */
	VERDICT_DEAD,		/* any other answer: retrying cannot help */
	VERDICT__MAX
};

enum slot_state {
	SLOT_FREE,
	SLOT_SENDING,		/* transfer in the multi handle */
	SLOT_DONE,		/* outcome known, not yet committed */
};

/* One transfer: a claimed row on its way to the receiver. */
struct slot {
	enum slot_state	 state;
	CURL		*easy;
	struct curl_slist *hdrs;
	struct outbox_row row;		/* its payload is ours while busy */
	int64_t		 t0;		/* monotonic ms when sent */
	char		 errbuf[CURL_ERROR_SIZE];
	char		 body[DISPATCH_ERR_BODY + 1]; /* start of the answer */
	size_t		 bodylen;
	struct outbox_result res;	/* SLOT_DONE */
};

/* Counters of this process since it started (the metrics file). */
struct counters {
	uint64_t	 attempts;
	uint64_t	 delivered;
	uint64_t	 retried;
	uint64_t	 dead;
	uint64_t	 lease_lost;	/* outcome came after the lease */
	uint64_t	 rewards;	/* referrals rewarded by the worker */
	uint64_t	 db_errors;
};

struct dispatcher {
	const struct conf *conf;
	struct db	*db;
	CURLM		*multi;
	struct slot	*slots;
	size_t		 nslots;
	size_t		 nfree;
	size_t		 nsending;
	struct outbox_row *claimed;	/* db_outbox_claim scratch */
	struct outbox_result *results;	/* db_outbox_settle scratch */
	int64_t		*due;		/* db_rewards_due scratch */
	struct sig_key	 keys[MAX_SECRETS];	/* outbound_secret values */
	size_t		 nkeys;
	char		 owner[64];
	long		 lease;		/* seconds */
	FILE		*log;		/* attempt lines */
	char		 logpath[CONF_STR];
	char		 metrics[PATH_MAX];
	struct counters	 n;
	struct outbox_counts outbox;	/* last db counts, for metrics */
	int		 outbox_ok;	/* "outbox" is fresh */
	int		 drained;	/* last claim got fewer than asked */
	int		 db_ok;
	int		 daemon;	/* stderr is the log */
	int64_t		 next_claim;	/* monotonic ms */
	int64_t		 next_reward;
	int64_t		 next_purge;	/* wall seconds: db_outbox_purge */
	int64_t		 next_settle;
	int64_t		 first_done;	/* when the oldest unsaved outcome came */
	int64_t		 next_metrics;
};

/* main.c */
void		 dispatch_note(struct dispatcher *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* engine.c */
int		 engine_init(struct dispatcher *);
void		 engine_free(struct dispatcher *);
void		 engine_claim(struct dispatcher *);
void		 engine_poll(struct dispatcher *);
void		 engine_settle(struct dispatcher *);
void		 engine_abandon(struct dispatcher *);

/* reward.c */
void		 reward_worker(struct dispatcher *);

/* metrics.c */
void		 metrics_write(struct dispatcher *);

/* policy.c */
enum verdict	 policy_classify(long status, int transport_ok);
const char	*policy_verdict_name(enum verdict);
int64_t		 policy_backoff_ms(long base_ms, long max_ms,
		    int64_t attempt, uint32_t rnd);
int64_t		 policy_retry_after(const char *value, int64_t now);
int64_t		 policy_next_attempt(int64_t now_ms, int64_t backoff_ms,
		    int64_t retry_after);
long		 policy_lease(long lease_seconds, long timeout_ms);
int		 policy_key_valid(const char *key);
void		 policy_sanitize(char *dst, size_t dstsz, const char *src,
		    size_t len);

#endif /* !REFERD_DISPATCH_H */
