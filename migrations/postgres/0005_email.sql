-- Email, and what every channel that carries messages shares (issue 8).

-- What a message has beyond a chat line: where it came in or goes out (the entry point), the
-- platform's id for it (an email's Message-ID: a mail fetched twice is stored once), what only
-- its channel has (an email's subject, from, to, cc, sanitised HTML; a JSON object), and for a
-- message we send through a connector its delivery state. Chat messages have no row here.
CREATE TABLE message_details (
    message_id TEXT PRIMARY KEY REFERENCES messages (id),
    account_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    entry_point TEXT NOT NULL,
    external_id TEXT,
    details TEXT NOT NULL,
    -- NULL for what arrived; 'queued', 'sent' or 'failed' for what we send.
    delivery TEXT,
    delivery_error TEXT,
    UNIQUE (account_id, entry_point, external_id)
);
CREATE INDEX message_details_interaction ON message_details (account_id, interaction_id);

-- Files that came with or go out with a message. The bytes live in the data directory under
-- their SHA-256 (the same file twice is stored once).
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    message_id TEXT NOT NULL REFERENCES messages (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    -- Set for an image shown inside an email's HTML (`cid:`).
    content_id TEXT
);
CREATE INDEX attachments_interaction ON attachments (account_id, interaction_id);

-- Messages waiting to be sent (or sent again) by their connector. A row goes when the message
-- is sent or has failed for good; its state is on message_details.
CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY REFERENCES messages (id),
    account_id TEXT NOT NULL,
    entry_point TEXT NOT NULL,
    -- Recipients and the channel's fields (an email's subject, cc, In-Reply-To): JSON.
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- Not before this time (epoch ms). A sender claims a row by moving it forward.
    next_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_at);

-- Support mailboxes. Passwords are sealed with the hub's secret key (never returned).
CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- Lower-cased; one mailbox per address in an account.
    address TEXT NOT NULL,
    display_name TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    -- The IMAP and SMTP servers: {host, port, security, user}, JSON.
    imap TEXT NOT NULL,
    imap_password BYTEA NOT NULL,
    -- The folder fetched, and where a fetched mail is moved (NULL: it is only marked seen).
    folder TEXT NOT NULL,
    done_folder TEXT,
    smtp TEXT NOT NULL,
    smtp_password BYTEA NOT NULL,
    signature TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, address),
    FOREIGN KEY (account_id, queue_id) REFERENCES queues (account_id, id)
);

-- How far a mailbox's folder has been fetched: the UIDs seen under one UIDVALIDITY.
CREATE TABLE mailbox_sync (
    mailbox_id TEXT PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL
);

-- What arrived and could not be taken in (broken MIME, too big, no sender): kept with its reason
-- for admins, never retried, never stopping the entry point.
CREATE TABLE inbound_failures (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    entry_point TEXT NOT NULL,
    -- Where it was (`uid 42 of INBOX`), and the platform's id when it could be read.
    reference TEXT NOT NULL,
    reason TEXT NOT NULL,
    size BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX inbound_failures_entry ON inbound_failures (account_id, entry_point, at);
