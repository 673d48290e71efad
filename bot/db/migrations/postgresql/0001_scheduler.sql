-- The one durable timeline (every future action is a row) and the command-sync record.
-- Times are UTC Unix milliseconds; Discord ids are BIGINT. The same schema as SQLite's, in
-- PostgreSQL's words (identity ids, BIGINT).

CREATE TABLE scheduled_jobs (
    -- Never reused, because ids travel in custom_ids and logs.
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    user_id BIGINT,
    guild_id BIGINT,
    subject_id BIGINT,
    unique_key TEXT UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    nonce TEXT,
    attempt_channel_id BIGINT,
    attempted_at BIGINT,
    outcome TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX scheduled_jobs_pending_due ON scheduled_jobs (due_at, id) WHERE state = 'pending';
CREATE INDEX scheduled_jobs_running_lease ON scheduled_jobs (lease_expires_at)
    WHERE state = 'running';
CREATE INDEX scheduled_jobs_user ON scheduled_jobs (user_id, kind) WHERE user_id IS NOT NULL;
CREATE INDEX scheduled_jobs_guild ON scheduled_jobs (guild_id, kind) WHERE guild_id IS NOT NULL;
CREATE INDEX scheduled_jobs_subject ON scheduled_jobs (kind, subject_id)
    WHERE subject_id IS NOT NULL;
CREATE INDEX scheduled_jobs_finished ON scheduled_jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE command_sync (
    application_id BIGINT NOT NULL,
    api_base_url TEXT NOT NULL,
    tree_hash TEXT NOT NULL,
    synced_at BIGINT NOT NULL,
    PRIMARY KEY (application_id, api_base_url)
);
