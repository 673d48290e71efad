-- What someone typed into a form (a modal) that was refused, kept for a short while so the
-- "Edit and try again" button can show it again: after a restart, and from any process.

CREATE TABLE form_drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    form TEXT NOT NULL,
    -- What the form is about, e.g. the tip being edited; NULL for most forms.
    subject TEXT,
    guild_id INTEGER,
    -- JSON: each input's custom_id and what was typed (a list for a select).
    fields TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX form_drafts_expiry ON form_drafts (expires_at);
CREATE INDEX form_drafts_user ON form_drafts (user_id)
