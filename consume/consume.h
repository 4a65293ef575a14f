/*
 * referd-consume: conversion events from an AMQP 0-9-1 queue (SPEC.md
 * section 12), applied on the path of POST /v1/events.
 */
#ifndef REFERD_CONSUME_H
#define REFERD_CONSUME_H

#include "sql.h"

#define MAX_MSG_BODY		(64 * 1024)	/* bytes of one message */
#define MAX_ERROR_TEXT		160		/* x-referd-error */
#define CONSUME_SOURCE		"amqp"		/* inbound_events.source */
#define BACKOFF_MIN_MS		200		/* broker or database away */
#define BACKOFF_MAX_MS		5000
#define AMQP_HEARTBEAT_S	30
#define AMQP_TIMEOUT_MS		5000		/* connect, RPC */

/* msg.c */
int		 msg_event(const char *body, size_t len, struct event_in *,
		    char *why, size_t whysz);

#endif
