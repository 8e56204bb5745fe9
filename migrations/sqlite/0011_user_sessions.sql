-- An admin sees a user's sessions and ends them one by one, and deactivates users (issue 11).

-- A deactivated user cannot log in and their sessions no longer answer; their row stays, so
-- history keeps their name. NULL: active.
ALTER TABLE agents ADD COLUMN deactivated_at INTEGER;

-- What an admin is shown of a session, never its token: an id of its own to end it by, when it
-- began and was last used, and where from. Sessions older than this migration get a fresh id
-- and the migration's time.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN client_addr TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
UPDATE sessions SET
    id = lower(hex(randomblob(16))),
    created_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000,
    last_seen_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
CREATE UNIQUE INDEX sessions_id ON sessions (id);
