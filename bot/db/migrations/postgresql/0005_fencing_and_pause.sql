-- Keeping promises across stalls, retries and pauses (as SQLite's 0005; a new database has no
-- rows to carry over).

-- Every claim of a row counts up and is never counted down: a fencing token.
ALTER TABLE scheduled_jobs ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;

-- When the promise is due, as planned (a retry after an error moves due_at, not this).
ALTER TABLE scheduled_jobs ADD COLUMN planned_at BIGINT NOT NULL DEFAULT 0;

-- "Paused until resumed" is its own state, never a far-future date.
ALTER TABLE people ADD COLUMN paused_indefinitely INTEGER NOT NULL DEFAULT 0;
