-- Follow-up settings per person; follow-ups themselves are rows of scheduled_jobs
-- (kind 'followup', subject_id = the entry's id).

ALTER TABLE people ADD COLUMN window_start TEXT NOT NULL DEFAULT '08:00';
ALTER TABLE people ADD COLUMN window_end TEXT NOT NULL DEFAULT '21:00';
ALTER TABLE people ADD COLUMN weekdays_only INTEGER NOT NULL DEFAULT 1;
ALTER TABLE people ADD COLUMN thank_you INTEGER NOT NULL DEFAULT 1;
ALTER TABLE people ADD COLUMN feedback_request INTEGER NOT NULL DEFAULT 1;
ALTER TABLE people ADD COLUMN check_in INTEGER NOT NULL DEFAULT 1;
ALTER TABLE people ADD COLUMN feedback_delay_days INTEGER NOT NULL DEFAULT 1;
-- Paused: NULL = not paused; otherwise until when (UTC ms; a far-future value = until resumed).
ALTER TABLE people ADD COLUMN paused_until BIGINT;
-- Set when a DM could not be delivered; cleared once the person has been told.
ALTER TABLE people ADD COLUMN dm_problem TEXT;
-- The DM channel with the person, so a follow-up costs one request, not two.
ALTER TABLE people ADD COLUMN dm_channel_id BIGINT;
