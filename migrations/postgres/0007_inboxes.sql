-- Messaging apps (issue 9): an inbox is one account on one platform (a WhatsApp number, a
-- Telegram bot), whose conversations go to one queue. Its entry point is `inbox:<id>`, and the
-- platform posts to `/webhooks/<id>`.
CREATE TABLE inboxes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- whatsapp, telegram
    platform TEXT NOT NULL,
    name TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    -- What is not secret (the API's address, the WhatsApp number's id), JSON.
    settings TEXT NOT NULL,
    -- Tokens and signing secrets, a JSON object sealed with the hub's secret key (never returned).
    secrets BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, name),
    FOREIGN KEY (account_id, queue_id) REFERENCES queues (account_id, id)
);

