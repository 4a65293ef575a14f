-- referd: a Shopify refund names only its order; its user is found by the
-- order's conversion of the same source (sql/event.c, STMT_EVENT_ORDER_USER).
ALTER TABLE inbound_events ADD INDEX IF NOT EXISTS ix_events_source_order
	(source, order_id);
