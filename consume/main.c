/*
 * referd-consume's main: options, the configuration, and the loop that
 * takes conversion events from an AMQP 0-9-1 queue (SPEC.md section 12)
 * and applies each with db_event_apply(), source "amqp", as POST
 * /v1/events does.
 *
 * One process, one thread, one delivery at a time.  A delivery is acked
 * only after its transaction committed (or found it applied before), so
 * a consumer killed between the two leaves the message unacked: the
 * broker redelivers it and the event id's unique key answers DB_DUP,
 * which is acked.  A message that is not an event is published to the
 * dead-letter exchange with header x-referd-error, waits for the
 * broker's confirm on a connection of its own (confirms and deliveries
 * do not mix on one socket with librabbitmq), and only then is acked.
 * While the database is away the delivery is held and retried with
 * backoff, never acked; while the broker is away the loop reconnects
 * with backoff.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "consume.h"

static volatile sig_atomic_t	 stop_requests;

struct consumer {
	const struct conf	*conf;
	struct db		*db;
	struct amqp_connection_info url;	/* points into urlbuf */
	char			 urlbuf[CONF_STR];
	amqp_connection_state_t	 conn;		/* deliveries; NULL: away */
	amqp_connection_state_t	 pub;		/* dead letters; NULL: none */
	uint64_t		 applied, duplicates, dead, held;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: referd-consume -c FILE [-t]\n"
	    "       referd-consume --version | --help\n"
	    "Applies conversion events from an AMQP 0-9-1 queue (RabbitMQ):\n"
	    "each message body is the JSON of POST /v1/events.\n"
	    "  -c FILE   referd configuration file (required): amqp_url,\n"
	    "            amqp_queue, amqp_prefetch, amqp_dead_letter and\n"
	    "            the database keys\n"
	    "  -t        check the configuration and exit: 0, or 1 with\n"
	    "            FILE:LINE: message\n"
	    "  --version   print the version\n"
	    "  -h, --help  this text\n"
	    "It stays in the foreground and logs to standard error.  A bad\n"
	    "configuration exits 78 (EX_CONFIG).  A message is acked only\n"
	    "after its transaction committed; one that is not a valid event\n"
	    "goes to the amqp_dead_letter exchange with header\n"
	    "x-referd-error.  TERM or INT finishes the message in hand,\n"
	    "acks it and exits 0.\n");
}

static void
on_stop(int sig)
{
	(void)sig;
	stop_requests++;
}

/* Sleeps "ms", or less if a signal comes. */
static void
nap(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (stop_requests == 0)
		nanosleep(&ts, NULL);
}

static long
backoff_next(long ms)
{
	return ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
}

/* Logs a failed RPC reply "r" of step "what".  Returns 0 if it is fine. */
static int
reply_check(amqp_rpc_reply_t r, const char *what)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return 0;
	case AMQP_RESPONSE_NONE:
		log_err("%s: no reply", what);
		break;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		log_err("%s: %s", what, amqp_error_string2(r.library_error));
		break;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = r.reply.decoded;

			log_err("%s: connection closed by the broker: %u %.*s",
			    what, m->reply_code, (int)m->reply_text.len,
			    (const char *)m->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = r.reply.decoded;

			log_err("%s: channel closed by the broker: %u %.*s",
			    what, m->reply_code, (int)m->reply_text.len,
			    (const char *)m->reply_text.bytes);
		} else
			log_err("%s: broker error, method 0x%08x", what,
			    r.reply.id);
		break;
	}
	return -1;
}

static void
broker_close(amqp_connection_state_t *cp, int polite)
{
	if (*cp == NULL)
		return;
	if (polite) {
		amqp_channel_close(*cp, 1, AMQP_REPLY_SUCCESS);
		amqp_connection_close(*cp, AMQP_REPLY_SUCCESS);
	}
	amqp_destroy_connection(*cp);
	*cp = NULL;
}

/*
 * Opens a connection to amqp_url with channel 1.  Returns it, or NULL
 * (logged).
 */
static amqp_connection_state_t
broker_open(struct consumer *cs)
{
	struct amqp_connection_info *u = &cs->url;
	amqp_connection_state_t	 conn;
	amqp_socket_t		*sock;
	struct timeval		 tv = { AMQP_TIMEOUT_MS / 1000,
				    AMQP_TIMEOUT_MS % 1000 * 1000 };
	int			 st;

	if ((conn = amqp_new_connection()) == NULL ||
	    (sock = amqp_tcp_socket_new(conn)) == NULL) {
		log_err("%s: out of memory", __func__);
		goto fail;
	}
	if ((st = amqp_socket_open_noblock(sock, u->host, u->port,
	    &tv)) != AMQP_STATUS_OK) {
		log_err("broker %s:%d: %s", u->host, u->port,
		    amqp_error_string2(st));
		goto fail;
	}
	amqp_set_rpc_timeout(conn, &tv);
	if (reply_check(amqp_login(conn, u->vhost, 0, 131072,
	    AMQP_HEARTBEAT_S, AMQP_SASL_METHOD_PLAIN, u->user, u->password),
	    "login") == -1)
		goto fail;
	amqp_channel_open(conn, 1);
	if (reply_check(amqp_get_rpc_reply(conn), "channel.open") == -1)
		goto fail;
	return conn;
fail:
	if (conn != NULL)
		amqp_destroy_connection(conn);
	return NULL;
}

/*
 * Declares the dead-letter exchange (fanout) and its queue of the same
 * name, and the durable, lazy queue whose dead letters go there.
 * Returns 0 or -1 (logged).
 */
static int
topology_declare(struct consumer *cs)
{
	const struct conf	*c = cs->conf;
	amqp_connection_state_t	 conn = cs->conn;
	amqp_table_entry_t	 args[2];
	amqp_table_t		 t = { 2, args };

	amqp_exchange_declare(conn, 1, amqp_cstring_bytes(c->amqp_dead_letter),
	    amqp_cstring_bytes("fanout"), 0, 1, 0, 0, amqp_empty_table);
	if (reply_check(amqp_get_rpc_reply(conn), "exchange.declare") == -1)
		return -1;
	amqp_queue_declare(conn, 1, amqp_cstring_bytes(c->amqp_dead_letter),
	    0, 1, 0, 0, amqp_empty_table);
	if (reply_check(amqp_get_rpc_reply(conn), "queue.declare (dead)") ==
	    -1)
		return -1;
	amqp_queue_bind(conn, 1, amqp_cstring_bytes(c->amqp_dead_letter),
	    amqp_cstring_bytes(c->amqp_dead_letter), amqp_empty_bytes,
	    amqp_empty_table);
	if (reply_check(amqp_get_rpc_reply(conn), "queue.bind") == -1)
		return -1;
	args[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
	args[0].value.kind = AMQP_FIELD_KIND_UTF8;
	args[0].value.value.bytes = amqp_cstring_bytes(c->amqp_dead_letter);
	/* A backlog waits on disk, not in the broker's memory. */
	args[1].key = amqp_cstring_bytes("x-queue-mode");
	args[1].value.kind = AMQP_FIELD_KIND_UTF8;
	args[1].value.value.bytes = amqp_cstring_bytes("lazy");
	amqp_queue_declare(conn, 1, amqp_cstring_bytes(c->amqp_queue), 0, 1,
	    0, 0, t);
	return reply_check(amqp_get_rpc_reply(conn), "queue.declare");
}

/* Connects, declares and starts consuming.  Returns 0 or -1 (logged). */
static int
broker_start(struct consumer *cs)
{
	const struct conf	*c = cs->conf;

	if ((cs->conn = broker_open(cs)) == NULL)
		return -1;
	if (topology_declare(cs) == -1)
		goto fail;
	amqp_basic_qos(cs->conn, 1, 0, (uint16_t)c->amqp_prefetch, 0);
	if (reply_check(amqp_get_rpc_reply(cs->conn), "basic.qos") == -1)
		goto fail;
	amqp_basic_consume(cs->conn, 1, amqp_cstring_bytes(c->amqp_queue),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	if (reply_check(amqp_get_rpc_reply(cs->conn), "basic.consume") == -1)
		goto fail;
	log_info("consuming %s on %s:%d (prefetch %ld)", c->amqp_queue,
	    cs->url.host, cs->url.port, c->amqp_prefetch);
	return 0;
fail:
	broker_close(&cs->conn, 0);
	return -1;
}

/*
 * Publishes message "m" to the dead-letter exchange, persistent, with
 * header x-referd-error "why", and waits for the broker's confirm.
 * Returns 0 once confirmed, or -1 (logged).
 */
static int
dead_letter(struct consumer *cs, const amqp_message_t *m, const char *why)
{
	const struct conf	*c = cs->conf;
	amqp_basic_properties_t	 p;
	amqp_table_entry_t	 h[1];
	amqp_frame_t		 f;
	struct timeval		 tv = { AMQP_TIMEOUT_MS / 1000, 0 };
	int			 st;

	if (cs->pub == NULL) {
		if ((cs->pub = broker_open(cs)) == NULL)
			return -1;
		amqp_confirm_select(cs->pub, 1);
		if (reply_check(amqp_get_rpc_reply(cs->pub),
		    "confirm.select") == -1)
			goto fail;
	}
	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
	p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	if (m->properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) {
		p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
		p.content_type = m->properties.content_type;
	}
	if (m->properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
		p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
		p.message_id = m->properties.message_id;
	}
	h[0].key = amqp_cstring_bytes("x-referd-error");
	h[0].value.kind = AMQP_FIELD_KIND_UTF8;
	h[0].value.value.bytes = amqp_cstring_bytes(why);
	p.headers.num_entries = 1;
	p.headers.entries = h;
	if ((st = amqp_basic_publish(cs->pub, 1,
	    amqp_cstring_bytes(c->amqp_dead_letter),
	    amqp_cstring_bytes(c->amqp_queue), 0, 0, &p, m->body)) !=
	    AMQP_STATUS_OK) {
		log_err("dead letter: publish: %s", amqp_error_string2(st));
		goto fail;
	}
	/* Nothing but confirms arrives on this connection. */
	for (;;) {
		if ((st = amqp_simple_wait_frame_noblock(cs->pub, &f,
		    &tv)) != AMQP_STATUS_OK) {
			log_err("dead letter: confirm: %s",
			    amqp_error_string2(st));
			goto fail;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD)
			return 0;
		log_err("dead letter: the broker answered method 0x%08x",
		    f.payload.method.id);
		goto fail;
	}
fail:
	broker_close(&cs->pub, 0);
	return -1;
}

/*
 * Applies one delivery and acks it once it is safe to.  Returns 0, or -1
 * if the connection is broken or the delivery was given up (unacked: the
 * broker delivers it again).
 */
static int
handle(struct consumer *cs, amqp_envelope_t *env)
{
	struct event_in		 ev;
	struct event_out	 out;
	char			 why[MAX_ERROR_TEXT];
	long			 wait = BACKOFF_MIN_MS;
	enum db_rc		 rc;
	int			 held = 0;

	if (msg_event(env->message.body.bytes, env->message.body.len, &ev,
	    why, sizeof(why)) == -1)
		goto dead;
	for (;;) {
		rc = db_event_apply(cs->db, &ev, clock_now(), &out);
		if (rc == DB_OK || rc == DB_DUP)
			break;
		if (rc == DB_CONFLICT) {
			snprintf(why, sizeof(why), "event_id_conflict: this "
			    "id was delivered before with another body");
			goto dead;
		}
		/* The database is away: hold the delivery, never ack. */
		if (!held++) {
			cs->held++;
			log_warn("event %s: %s; holding it and retrying",
			    ev.id, db_rc_name(rc));
		}
		if (stop_requests > 0) {
			log_warn("event %s: stopping with it unapplied; the "
			    "broker delivers it again", ev.id);
			return -1;
		}
		nap(wait);
		wait = backoff_next(wait);
	}
	if (held)
		log_info("event %s applied after %d tries: the database is "
		    "back", ev.id, held + 1);
	if (rc == DB_DUP)
		cs->duplicates++;
	else
		cs->applied++;
	goto ack;
dead:
	if (dead_letter(cs, &env->message, why) == -1)
		return -1;
	cs->dead++;
	log_warn("delivery %" PRIu64 " dead-lettered: %s",
	    (uint64_t)env->delivery_tag, why);
ack:
	if (amqp_basic_ack(cs->conn, env->channel, env->delivery_tag, 0) !=
	    AMQP_STATUS_OK) {
		log_err("basic.ack: the broker connection is gone");
		return -1;
	}
	return 0;
}

/* The loop: until TERM or INT.  Returns the exit status. */
static int
run(struct consumer *cs)
{
	amqp_envelope_t		 env;
	amqp_rpc_reply_t	 r;
	amqp_frame_t		 f;
	struct timeval		 tv;
	long			 wait = BACKOFF_MIN_MS;
	int			 rc;

	while (stop_requests == 0) {
		if (cs->conn == NULL) {
			if (broker_start(cs) == -1) {
				nap(wait);
				wait = backoff_next(wait);
				continue;
			}
			wait = BACKOFF_MIN_MS;
		}
		amqp_maybe_release_buffers(cs->conn);
		tv.tv_sec = 1;
		tv.tv_usec = 0;
		r = amqp_consume_message(cs->conn, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			rc = handle(cs, &env);
			amqp_destroy_envelope(&env);
			if (rc == -1)
				broker_close(&cs->conn, 0);
			continue;
		}
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT)
			continue;
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_UNEXPECTED_STATE &&
		    amqp_simple_wait_frame(cs->conn, &f) == AMQP_STATUS_OK &&
		    f.frame_type == AMQP_FRAME_METHOD &&
		    f.payload.method.id != AMQP_CHANNEL_CLOSE_METHOD &&
		    f.payload.method.id != AMQP_CONNECTION_CLOSE_METHOD &&
		    f.payload.method.id != AMQP_BASIC_CANCEL_METHOD)
			continue;	/* basic.return and the like */
		log_err("broker connection lost (%s); reconnecting",
		    r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION ?
		    amqp_error_string2(r.library_error) : "closed by the broker");
		broker_close(&cs->conn, 0);
		broker_close(&cs->pub, 0);
	}
	broker_close(&cs->conn, 1);
	broker_close(&cs->pub, 1);
	log_info("stopped: %" PRIu64 " applied, %" PRIu64 " duplicates, %"
	    PRIu64 " dead-lettered, %" PRIu64 " held for the database",
	    cs->applied, cs->duplicates, cs->dead, cs->held);
	return 0;
}

/*
 * Parses amqp_url into cs->url: amqp://user:pass@host:port/vhost, the
 * vhost "/" written %2f.  Returns 0, or -1 with a message in "err".
 */
static int
url_parse(struct consumer *cs, const struct conf *c, char *err, size_t errsz)
{
	char	 at[CONF_STR + 16];

	snprintf(at, sizeof(at), "%s:%u", c->src_file[c->src[CK_AMQP_URL].file],
	    c->src[CK_AMQP_URL].line);
	snprintf(cs->urlbuf, sizeof(cs->urlbuf), "%s", c->amqp_url);
	amqp_default_connection_info(&cs->url);
	if (amqp_parse_url(cs->urlbuf, &cs->url) != AMQP_STATUS_OK) {
		snprintf(err, errsz, "%s: amqp_url: want amqp://user:"
		    "password@host:port/vhost (the vhost / written %%2f)", at);
		return -1;
	}
	if (cs->url.ssl) {
		snprintf(err, errsz, "%s: amqp_url: amqps:// is not "
		    "supported", at);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct conf	 conf;
	static struct consumer	 cs;
	struct sigaction	 sa;
	struct proc_user	 pu;
	const char		*cfile = NULL;
	char			 err[1024];
	int			 ch, check = 0, rc = 1;

	log_setup("referd-consume");
	while ((ch = getopt_long(argc, argv, "c:ht", longopts, NULL)) != -1)
		switch (ch) {
		case 'c': cfile = optarg; break;
		case 't': check = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("referd-consume %s\n", PACKAGE_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	if (cfile == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (conf_load_role(&conf, cfile, CONF_ROLE_CONSUME, err,
	    sizeof(err)) == -1 || url_parse(&cs, &conf, err,
	    sizeof(err)) == -1)
		return log_config_error(check, err);
	if (conf.amqp_queue[0] == '\0' || conf.amqp_dead_letter[0] == '\0') {
		snprintf(err, sizeof(err), "%s: amqp_queue and "
		    "amqp_dead_letter must not be empty", cfile);
		return log_config_error(check, err);
	}
	if (check) {
		printf("referd-consume: %s: configuration ok\n", cfile);
		return 0;
	}
	if (proc_no_dumps(err, sizeof(err)) == -1) {
		log_fatal("%s", err);
		return 1;
	}
	if (proc_priv_plan(conf.user, &pu, err, sizeof(err)) == -1) {
		log_fatal("%s: %s", cfile, err);
		return EX_CONFIG;
	}
	if (proc_priv_drop(&pu, err, sizeof(err)) == -1) {
		log_fatal("%s", err);
		return 1;
	}
	cs.conf = &conf;
	if ((cs.db = db_new(&conf, 0)) == NULL) {
		log_fatal("out of memory");
		return 1;
	}
	/* No SA_RESTART: a signal ends a wait for the broker at once. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (db_ping(cs.db) != DB_OK)
		log_warn("database unavailable: %s; messages wait until it "
		    "is back", cs.db->errmsg);
	rc = run(&cs);
	db_free(cs.db);
	return rc;
}
