-- referd: what an order event said, kept with it (issue 12 items 3 and
-- 5): its amount and currency, and the payment fingerprint, so that the
-- fingerprint rule can run again when the reward is issued after a hold
-- period (the referral names its converting event).

ALTER TABLE inbound_events
	ADD COLUMN IF NOT EXISTS amount DECIMAL(12,2) NULL DEFAULT NULL,
	ADD COLUMN IF NOT EXISTS currency CHAR(3) CHARACTER SET ascii NULL
	    DEFAULT NULL,
	ADD COLUMN IF NOT EXISTS payment_fp VARCHAR(255) COLLATE utf8mb4_bin
	    NULL DEFAULT NULL;
