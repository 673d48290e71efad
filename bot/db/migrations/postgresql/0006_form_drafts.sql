-- What someone typed into a form (a modal) that was refused, kept for a short while so the
-- "Edit and try again" button can show it again: after a restart, and from any process.

CREATE TABLE form_drafts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL,
    form TEXT NOT NULL,
    -- What the form is about, e.g. the tip being edited; NULL for most forms.
    subject TEXT,
    guild_id BIGINT,
    -- JSON: each input's custom_id and what was typed (a list for a select).
    fields TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX form_drafts_expiry ON form_drafts (expires_at);
CREATE INDEX form_drafts_user ON form_drafts (user_id)
