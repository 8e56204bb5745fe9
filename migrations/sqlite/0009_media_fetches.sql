-- Issue 9: the files a messaging app's message names (its details' `media`), waiting to be
-- fetched from the platform. Committed with the message, so a crash before the fetch leaves the
-- row to be fetched after the restart; a row goes when every file is kept or has failed for good
-- (each file's fate is written into the message's details).
CREATE TABLE media_fetches (
    message_id TEXT PRIMARY KEY REFERENCES messages (id),
    account_id TEXT NOT NULL,
    entry_point TEXT NOT NULL,
    -- Failed attempts so far.
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Not before this time (epoch ms). A fetcher claims a row by moving it forward.
    next_at INTEGER NOT NULL
);
CREATE INDEX media_fetches_due ON media_fetches (next_at);
