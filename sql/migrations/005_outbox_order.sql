-- referd: a per-reward order in the outbox (issue 12 item 1, SPEC 13).
-- A revocation row names its grant's row in after_id and is not claimed
-- while that row exists undelivered; a grant voided before it was ever
-- sent is 'cancelled' (never sent, no revocation); a grant that dies
-- cancels the revocation that waited for it.  revoked_by on a grant is
-- the revocation written for it: writing it makes the void and the
-- grant's settling touch the same row, so that one node's row locks and
-- a cluster's certification both order them.

ALTER TABLE outbox
	MODIFY COLUMN status ENUM('pending','inflight','delivered','dead',
	    'cancelled') NOT NULL DEFAULT 'pending',
	ADD COLUMN IF NOT EXISTS after_id BIGINT UNSIGNED NULL DEFAULT NULL,
	ADD COLUMN IF NOT EXISTS revoked_by BIGINT UNSIGNED NULL DEFAULT NULL,
	ADD INDEX IF NOT EXISTS ix_outbox_after (after_id);
