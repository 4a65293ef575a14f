-- referd: a change marker on referral_codes, so that each FastCGI worker
-- can keep every code in its landing cache and poll for the codes that
-- changed (fcgi/cache.c) instead of reading each code again every
-- code_cache_seconds.  Only an UPDATE sets it (by the API or by hand):
-- a new code is NULL here, since no worker holds a valid entry for it.
-- TIMESTAMP, not DATETIME: it is kept in UTC whatever the time zone of
-- the session that changes a code, an operator's mariadb client included.

ALTER TABLE referral_codes
	ADD COLUMN IF NOT EXISTS changed_at TIMESTAMP NULL DEFAULT NULL
	    ON UPDATE CURRENT_TIMESTAMP,
	ADD INDEX IF NOT EXISTS ix_codes_changed (changed_at);
