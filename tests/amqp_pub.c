/*
 * The test publisher of tests/e2e/queue.sh (librabbitmq).
 *
 *   amqp_pub URL EXCHANGE KEY <lines   publishes each line of standard
 *       input as one persistent message with publisher confirms; exits 0
 *       once the broker confirmed every one, printing how many.
 *   amqp_pub -g URL QUEUE              takes every message of QUEUE
 *       (basic.get, acked) and prints "x-referd-error<TAB>body" lines.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#define WINDOW	512		/* unconfirmed messages at once */

static void
die(const char *what)
{
	fprintf(stderr, "amqp_pub: %s\n", what);
	exit(1);
}

static amqp_connection_state_t
open_url(char *url)
{
	struct amqp_connection_info	 u;
	amqp_connection_state_t		 c = amqp_new_connection();
	amqp_socket_t			*s = amqp_tcp_socket_new(c);

	if (amqp_parse_url(url, &u) != AMQP_STATUS_OK)
		die("bad URL");
	if (amqp_socket_open(s, u.host, u.port) != AMQP_STATUS_OK)
		die("cannot connect");
	if (amqp_login(c, u.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
	    u.user, u.password).reply_type != AMQP_RESPONSE_NORMAL)
		die("login");
	amqp_channel_open(c, 1);
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
		die("channel.open");
	return c;
}

/* Waits for confirms until "upto" is confirmed. */
static void
confirm_wait(amqp_connection_state_t c, uint64_t *done, uint64_t upto)
{
	amqp_frame_t	 f;

	while (*done < upto) {
		if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
			die("connection lost while waiting for confirms");
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *a = f.payload.method.decoded;

			if (a->multiple)
				*done = a->delivery_tag;
			else if (a->delivery_tag == *done + 1)
				(*done)++;	/* out of order: not from RabbitMQ */
		} else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD)
			die("nack");
		else if (f.payload.method.id != AMQP_BASIC_RETURN_METHOD)
			die("unexpected method");
	}
}

static int
publish(char *url, const char *exchange, const char *key)
{
	amqp_connection_state_t	 c = open_url(url);
	amqp_basic_properties_t	 p;
	char			*line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	uint64_t		 sent = 0, done = 0;

	amqp_confirm_select(c, 1);
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
		die("confirm.select");
	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
	p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	p.content_type = amqp_cstring_bytes("application/json");
	while ((n = getline(&line, &cap, stdin)) != -1) {
		amqp_bytes_t	 b = { (size_t)n, line };

		if (n > 0 && line[n - 1] == '\n')
			b.len--;
		if (amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange),
		    amqp_cstring_bytes(key), 0, 0, &p, b) != AMQP_STATUS_OK)
			die("publish");
		if (++sent - done >= WINDOW)
			confirm_wait(c, &done, sent - WINDOW / 2);
	}
	confirm_wait(c, &done, sent);
	free(line);
	printf("%llu\n", (unsigned long long)done);
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	return 0;
}

static int
get_all(char *url, const char *queue)
{
	amqp_connection_state_t	 c = open_url(url);
	amqp_rpc_reply_t	 r;
	amqp_message_t		 m;
	size_t			 i;

	for (;;) {
		r = amqp_basic_get(c, 1, amqp_cstring_bytes(queue), 1);
		if (r.reply_type != AMQP_RESPONSE_NORMAL)
			die("basic.get");
		if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
			break;
		if (amqp_read_message(c, 1, &m, 0).reply_type !=
		    AMQP_RESPONSE_NORMAL)
			die("read");
		if (m.properties._flags & AMQP_BASIC_HEADERS_FLAG)
			for (i = 0; i < (size_t)m.properties.headers.num_entries;
			    i++) {
				amqp_table_entry_t *e =
				    &m.properties.headers.entries[i];

				if (e->key.len == 14 && memcmp(e->key.bytes,
				    "x-referd-error", 14) == 0 &&
				    (e->value.kind == AMQP_FIELD_KIND_UTF8 ||
				    e->value.kind == AMQP_FIELD_KIND_BYTES))
					printf("%.*s",
					    (int)e->value.value.bytes.len,
					    (char *)e->value.value.bytes.bytes);
			}
		printf("\t%.*s\n", (int)m.body.len, (char *)m.body.bytes);
		amqp_destroy_message(&m);
		amqp_maybe_release_buffers(c);
	}
	amqp_destroy_connection(c);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 4 && strcmp(argv[1], "-g") == 0)
		return get_all(argv[2], argv[3]);
	if (argc == 4)
		return publish(argv[1], argv[2], argv[3]);
	fprintf(stderr, "usage: amqp_pub URL EXCHANGE KEY <lines\n"
	    "       amqp_pub -g URL QUEUE\n");
	return 2;
}
