-- referd: whether a row's request may have reached its receiver (issue 12
-- item 1).  Set, and never cleared, when an attempt ends without an HTTP
-- answer (timeout, reset), when a dispatcher gives back rows it had in
-- flight, and when an expired lease is claimed again (its dispatcher died
-- mid-request).  A void cancels a pending grant only if this is 0: a grant
-- that may have arrived gets a revocation after it instead, even when its
-- last attempt was answered with a refusal.

ALTER TABLE outbox ADD COLUMN IF NOT EXISTS maybe_sent TINYINT(1) NOT NULL DEFAULT 0;
UPDATE outbox SET maybe_sent = 1 WHERE attempts > 0 AND last_status IS NULL;
