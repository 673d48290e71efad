-- Keeping promises across stalls, retries and pauses.

-- Every claim of a row counts up and is never counted down: a runner names the claim it holds
-- (a fencing token), so one that stalled past its lease cannot record an attempt or an outcome
-- after the row was claimed again, even by a later run of the same instance.
ALTER TABLE scheduled_jobs ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
UPDATE scheduled_jobs SET claims = attempts;

-- When the promise is due, as planned (a retry after an error moves due_at, not this), so
-- "late" and "missed" are measured from the promise, not from the last retry.
ALTER TABLE scheduled_jobs ADD COLUMN planned_at INTEGER NOT NULL DEFAULT 0;
UPDATE scheduled_jobs SET planned_at = due_at;

-- "Paused until resumed" is its own state, never a far-future date.
ALTER TABLE people ADD COLUMN paused_indefinitely INTEGER NOT NULL DEFAULT 0;
UPDATE people SET paused_indefinitely = 1, paused_until = NULL
    WHERE paused_until >= 253402300799000;
-- Rows that were held at that far-future date run again now and see the pause themselves.
UPDATE scheduled_jobs SET due_at = created_at, planned_at = created_at
    WHERE state = 'pending' AND due_at >= 253402300799000
