-- SIP phones: each belongs to an agent, who is called on it. Only the digest HA1 values for the
-- realm are kept (MD5 and SHA-256, RFC 7616), never the phone's password.
CREATE TABLE phones (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    agent_id TEXT NOT NULL,
    -- The SIP user part phones register and authenticate with; unique across accounts.
    username TEXT NOT NULL,
    realm TEXT NOT NULL,
    ha1_md5 TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (username),
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id) ON DELETE CASCADE
);
CREATE INDEX phones_agent ON phones (account_id, agent_id);
