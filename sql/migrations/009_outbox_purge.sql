-- referd: delivered rows by delivery time (issue 12 item 8), for the
-- bounded purge of rows older than outbox_retention_days and for the
-- "delivered today" count of /metrics, both ranges of this index.

ALTER TABLE outbox ADD INDEX IF NOT EXISTS ix_outbox_purge (status, delivered_at);
