-- Interview Tip of the Week: one schedule per server, the server's own tips, hidden shipped
-- tips, every post (numbered per server) and every skipped slot. Each weekly slot itself is a
-- row of scheduled_jobs (kind 'tip:post', unique_key 'tip:<guild>:<slot>').
-- Times are UTC Unix milliseconds; Discord ids are BIGINT.

-- The per-server record. It exists as soon as an admin uses /tips (server tips can be added
-- before /tips setup), so the schedule columns stay NULL until then.
CREATE TABLE tip_schedules (
    guild_id BIGINT PRIMARY KEY,
    channel_id BIGINT,
    weekday INTEGER CHECK (weekday BETWEEN 0 AND 6),
    time TEXT,
    timezone TEXT,
    role_id BIGINT,
    threads INTEGER NOT NULL DEFAULT 0,
    paused INTEGER NOT NULL DEFAULT 0,
    -- Why posting stopped (channel deleted, access lost); NULL when all is well.
    attention TEXT,
    -- The last problem seen, blocking or not (e.g. a thread that could not be opened).
    last_problem TEXT,
    last_problem_at BIGINT,
    -- The #N counter: the number the last post took.
    post_count INTEGER NOT NULL DEFAULT 0,
    -- Server tips are s1, s2, ...: never reused, even after a removal.
    next_server_tip INTEGER NOT NULL DEFAULT 1,
    -- Bumped whenever the schedule is re-created (setup, pause, resume): a slot row of an
    -- older generation does nothing, so a row racing a change can never post or continue.
    generation INTEGER NOT NULL DEFAULT 0,
    -- Set when the bot is removed from the server; the data goes 30 days later.
    left_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX tip_schedules_left ON tip_schedules (left_at) WHERE left_at IS NOT NULL;

CREATE TABLE server_tips (
    guild_id BIGINT NOT NULL REFERENCES tip_schedules (guild_id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, number)
);

-- Shipped tips a server removed with /tips remove.
CREATE TABLE tip_hidden (
    guild_id BIGINT NOT NULL REFERENCES tip_schedules (guild_id) ON DELETE CASCADE,
    tip_id TEXT NOT NULL,
    hidden_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, tip_id)
);

-- One row per post, reserved before sending (number, tip, nonce) and completed with the
-- message id. UNIQUE (guild_id, slot) is what makes a weekly slot post at most once, whatever
-- runs it: every runner of a slot gets the same row, so the same nonce. A post made with
-- /tips post-now has no slot.
CREATE TABLE tip_posts (
    -- Never reused, because it travels in the post's button custom_id.
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id BIGINT NOT NULL REFERENCES tip_schedules (guild_id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    tip_id TEXT NOT NULL,
    title TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    slot BIGINT,
    channel_id BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    -- The last send attempt: past Discord's nonce window, look in the channel before resending.
    attempted_at BIGINT,
    message_id BIGINT,
    thread_done INTEGER NOT NULL DEFAULT 0,
    reserved_at BIGINT NOT NULL,
    posted_at BIGINT,
    UNIQUE (guild_id, number),
    UNIQUE (guild_id, slot)
);

CREATE INDEX tip_posts_cycle ON tip_posts (guild_id, cycle);

CREATE TABLE tip_skips (
    guild_id BIGINT NOT NULL REFERENCES tip_schedules (guild_id) ON DELETE CASCADE,
    slot BIGINT NOT NULL,
    reason TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, slot)
);
