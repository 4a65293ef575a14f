-- referd: the initial schema.  Times are DATETIME in UTC (each session sets
-- time_zone = '+00:00'); money is DECIMAL(12,2); user ids are BIGINT.

CREATE TABLE IF NOT EXISTS referral_codes (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	user_id		BIGINT NOT NULL,
	code		CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	created_at	DATETIME NOT NULL,
	expires_at	DATETIME NULL,
	disabled_at	DATETIME NULL,
	UNIQUE KEY uq_codes_user (user_id),
	UNIQUE KEY uq_codes_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per signup we were told about: the new user's signals and the
-- first attribution answer, which a repeated signup call returns again.
CREATE TABLE IF NOT EXISTS user_signals (
	user_id		BIGINT NOT NULL PRIMARY KEY,
	email_domain	VARCHAR(255) NULL,
	signup_ip	VARCHAR(45) CHARACTER SET ascii NULL,
	device_fingerprint VARCHAR(255) NULL,
	code_used	VARCHAR(32) NULL,
	attribution	ENUM('none','attributed','held','rejected') NOT NULL DEFAULT 'none',
	attribution_rule VARCHAR(32) CHARACTER SET ascii NULL,
	referral_id	BIGINT UNSIGNED NULL,
	created_at	DATETIME NOT NULL,
	KEY ix_signals_ip (signup_ip, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_devices (
	user_id		BIGINT NOT NULL,
	fingerprint	VARCHAR(255) NOT NULL,
	first_seen	DATETIME NOT NULL,
	PRIMARY KEY (user_id, fingerprint)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS payment_fingerprints (
	user_id		BIGINT NOT NULL,
	fingerprint	VARCHAR(255) NOT NULL,
	first_seen	DATETIME NOT NULL,
	PRIMARY KEY (user_id, fingerprint),
	KEY ix_payfp_fp (fingerprint)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS referrals (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	referrer_id	BIGINT NOT NULL,
	referee_id	BIGINT NOT NULL,
	code		CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	status		ENUM('pending','converted','rewarded','voided') NOT NULL DEFAULT 'pending',
	review		ENUM('none','held','approved') NOT NULL DEFAULT 'none',
	review_rule	VARCHAR(32) CHARACTER SET ascii NULL,
	conversion_event VARCHAR(128) NULL,
	conversion_order VARCHAR(255) NULL,
	created_at	DATETIME NOT NULL,
	converted_at	DATETIME NULL,
	rewarded_at	DATETIME NULL,
	voided_at	DATETIME NULL,
	void_reason	VARCHAR(512) NULL,
	UNIQUE KEY uq_referrals_referee (referee_id),
	KEY ix_referrals_referrer (referrer_id, created_at),
	KEY ix_referrals_due (status, converted_at),
	KEY ix_referrals_review (review, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS referral_rewards (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	referral_id	BIGINT UNSIGNED NOT NULL,
	role		ENUM('referrer','referee') NOT NULL,
	user_id		BIGINT NOT NULL,
	type		VARCHAR(16) CHARACTER SET ascii NOT NULL,
	amount		DECIMAL(12,2) NOT NULL,
	currency	CHAR(3) CHARACTER SET ascii NOT NULL,
	status		ENUM('issued','revoked') NOT NULL DEFAULT 'issued',
	issued_at	DATETIME NOT NULL,
	revoked_at	DATETIME NULL,
	UNIQUE KEY uq_rewards_referral_role (referral_id, role),
	KEY ix_rewards_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every inbound event, for good: order systems retry for days.
CREATE TABLE IF NOT EXISTS inbound_events (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	source		VARCHAR(32) CHARACTER SET ascii NOT NULL,
	event_id	VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	body_sha256	CHAR(64) CHARACTER SET ascii NOT NULL,
	type		VARCHAR(64) NOT NULL,
	user_id		BIGINT NOT NULL,
	order_id	VARCHAR(255) NOT NULL,
	outcome		VARCHAR(32) CHARACTER SET ascii NULL,
	referral_id	BIGINT UNSIGNED NULL,
	received_at	DATETIME NOT NULL,
	UNIQUE KEY uq_events_source_id (source, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS outbox (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	reward_id	BIGINT UNSIGNED NOT NULL,
	event		ENUM('reward.issued','reward.revoked') NOT NULL,
	idempotency_key	VARCHAR(64) CHARACTER SET ascii NOT NULL,
	reward_type	VARCHAR(16) CHARACTER SET ascii NOT NULL,
	payload		TEXT NOT NULL,
	status		ENUM('pending','inflight','delivered','dead') NOT NULL DEFAULT 'pending',
	attempts	INT UNSIGNED NOT NULL DEFAULT 0,
	next_attempt_at	DATETIME NOT NULL,
	lease_owner	VARCHAR(64) CHARACTER SET ascii NULL,
	lease_until	DATETIME NULL,
	last_status	INT NULL,
	last_error	VARCHAR(512) NULL,
	created_at	DATETIME NOT NULL,
	delivered_at	DATETIME NULL,
	UNIQUE KEY uq_outbox_key (idempotency_key),
	KEY ix_outbox_due (status, next_attempt_at),
	KEY ix_outbox_lease (status, lease_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS fraud_flags (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	referral_id	BIGINT UNSIGNED NULL,
	user_id		BIGINT NOT NULL,
	referrer_id	BIGINT NULL,
	rule		VARCHAR(32) CHARACTER SET ascii NOT NULL,
	decision	ENUM('reject','hold','void','flag','approve') NOT NULL,
	detail		VARCHAR(512) NOT NULL,
	created_at	DATETIME NOT NULL,
	KEY ix_flags_created (created_at),
	KEY ix_flags_referral (referral_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS flagged_users (
	user_id		BIGINT NOT NULL PRIMARY KEY,
	reason		VARCHAR(512) NOT NULL,
	flagged_by	VARCHAR(64) NOT NULL,
	created_at	DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Landing clicks, buffered by the workers and added in batches.
CREATE TABLE IF NOT EXISTS click_counts (
	code		CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	day		DATE NOT NULL,
	clicks		BIGINT UNSIGNED NOT NULL DEFAULT 0,
	PRIMARY KEY (code, day)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS audit_log (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	at		DATETIME NOT NULL,
	operator	VARCHAR(64) NOT NULL,
	action		VARCHAR(32) CHARACTER SET ascii NOT NULL,
	referral_id	BIGINT UNSIGNED NULL,
	target_user	BIGINT NULL,
	detail		VARCHAR(512) NOT NULL,
	KEY ix_audit_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
