-- referd: who did an admin API action (issue 10 item 5).  For an act
-- over HTTP, audit_log also records the request id (X-Request-Id as
-- answered), the client address as the web server gave it (REMOTE_ADDR)
-- and which key was used: its configuration name and the first 8 hex
-- digits of its SHA-256, never the key.  NULL for the console and the
-- workers, whose operator column says who.

ALTER TABLE audit_log
	ADD COLUMN IF NOT EXISTS request_id VARCHAR(64) CHARACTER SET ascii
	    NULL DEFAULT NULL,
	ADD COLUMN IF NOT EXISTS client_addr VARCHAR(64) CHARACTER SET ascii
	    NULL DEFAULT NULL,
	ADD COLUMN IF NOT EXISTS credential VARCHAR(64) CHARACTER SET ascii
	    NULL DEFAULT NULL,
	ADD INDEX IF NOT EXISTS ix_audit_request (request_id);
