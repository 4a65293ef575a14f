-- referd: inbound events by order, so that a completion can find a refund
-- of its order that was delivered before it (sql/ops.c, event_convert).

ALTER TABLE inbound_events ADD INDEX IF NOT EXISTS ix_events_order (user_id, order_id);
