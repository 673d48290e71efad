-- Entries (logged rejections) belong to a person, not to a server.

CREATE TABLE people (
    user_id BIGINT PRIMARY KEY,
    -- Numbers are never reused; the counter goes when the person deletes all their data.
    next_entry_number INTEGER NOT NULL DEFAULT 1,
    timezone TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE entries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES people (user_id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    guild_id BIGINT,
    company TEXT NOT NULL,
    role TEXT,
    stage TEXT NOT NULL,
    rejected_on TEXT NOT NULL,
    interviewer TEXT,
    notes TEXT,
    feedback_status TEXT NOT NULL DEFAULT 'not_asked',
    feedback_summary TEXT,
    feedback_theme TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (user_id, number)
);

CREATE INDEX entries_user_created ON entries (user_id, created_at);
-- SQLite's COLLATE NOCASE index, as an index on the lower-cased name.
CREATE INDEX entries_user_company ON entries (user_id, lower(company));
