-- referd: the time the order system says an event happened (issue 12
-- item 5), kept as sent: RFC 3339 text, validated, with its offset.

ALTER TABLE inbound_events
	ADD COLUMN IF NOT EXISTS occurred_at VARCHAR(64) CHARACTER SET ascii
	    NULL DEFAULT NULL;
