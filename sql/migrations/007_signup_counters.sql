-- referd: the row a signup writes before it counts (issue 12 item 4).
-- The hourly limits count referrals and signals of the last hour; two
-- signups counting at once both saw the same number and both got in.
-- Each signup with a code first adds one to its referrer's row here
-- (and, with an IP, to the IP's), in its own transaction: on one node
-- the row lock makes the next signup for the same referrer wait for
-- this one's commit and then count it; on a cluster the two write sets
-- touch the same row, so certification lets one commit and the other
-- is replayed, counting again.  The count stays a sliding hour; the row
-- only orders the signups that depend on it.

CREATE TABLE IF NOT EXISTS signup_counters (
	scope		ENUM('referrer','ip') NOT NULL,
	subject		VARCHAR(64) CHARACTER SET ascii NOT NULL,
	signups		BIGINT UNSIGNED NOT NULL DEFAULT 0,
	last_at		DATETIME NOT NULL,
	PRIMARY KEY (scope, subject)
) ENGINE=InnoDB;
