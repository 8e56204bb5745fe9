-- What agents send by email beyond a reply's text (issue 8, item 6).

-- Files an agent uploaded for a mail they are writing (a reply, a forward, a new mail). The bytes
-- are in the data directory under their SHA-256, as attachments' are; a mail names an upload by
-- its id, and only the agent who uploaded it may send it: a file that came in with one
-- customer's mail can never be attached to a mail to another by naming its hash.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id)
);
CREATE INDEX uploads_agent ON uploads (account_id, agent_id);

-- A new mail to a customer opens its interaction: the console's client_id finds a retried send
-- (the same mail, never a second interaction) across the agent's messages.
CREATE INDEX messages_agent_client ON messages (account_id, agent_id, client_id);
