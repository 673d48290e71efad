-- The one durable timeline (every future action is a row) and the command-sync record.
-- Times are UTC Unix milliseconds; Discord ids are INTEGER.

CREATE TABLE scheduled_jobs (
    -- AUTOINCREMENT: ids are never reused, because they travel in custom_ids and logs.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    user_id INTEGER,
    guild_id INTEGER,
    subject_id INTEGER,
    unique_key TEXT UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    nonce TEXT,
    attempt_channel_id INTEGER,
    attempted_at INTEGER,
    outcome TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);

-- Partial indexes: the next-due lookup and lease recovery stay fast however many rows are done.
CREATE INDEX scheduled_jobs_pending_due ON scheduled_jobs (due_at, id) WHERE state = 'pending';
CREATE INDEX scheduled_jobs_running_lease ON scheduled_jobs (lease_expires_at)
    WHERE state = 'running';
CREATE INDEX scheduled_jobs_user ON scheduled_jobs (user_id, kind) WHERE user_id IS NOT NULL;
CREATE INDEX scheduled_jobs_guild ON scheduled_jobs (guild_id, kind) WHERE guild_id IS NOT NULL;
CREATE INDEX scheduled_jobs_subject ON scheduled_jobs (kind, subject_id)
    WHERE subject_id IS NOT NULL;
CREATE INDEX scheduled_jobs_finished ON scheduled_jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE command_sync (
    application_id INTEGER NOT NULL,
    api_base_url TEXT NOT NULL,
    tree_hash TEXT NOT NULL,
    synced_at INTEGER NOT NULL,
    PRIMARY KEY (application_id, api_base_url)
);
