-- Plugboard's schema, PostgreSQL flavour. Kept column for column with migrations/sqlite: ids are
-- uuid strings, times epoch milliseconds, JSON is text, and every row names its account.
-- Unique constraints keep PostgreSQL's default `<table>_<columns>_key` names: the store derives
-- the same names from SQLite's error messages, so a conflict reads alike on both.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- Lower-cased by the store. Login is by email alone, so it is unique across accounts.
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    locale TEXT NOT NULL,
    skills TEXT NOT NULL,
    capacity TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    UNIQUE (email),
    UNIQUE (account_id, id)
);

CREATE TABLE sessions (
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash BYTEA PRIMARY KEY,
    account_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_agent ON sessions (account_id, agent_id);

CREATE TABLE queues (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    required_skills TEXT NOT NULL,
    priority INT NOT NULL,
    sl_target_secs BIGINT NOT NULL,
    max_wait_secs BIGINT,
    overflow_queue TEXT,
    offer_timeout_secs BIGINT NOT NULL,
    wrap_up_secs BIGINT NOT NULL,
    UNIQUE (account_id, name),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, overflow_queue) REFERENCES queues (account_id, id)
);

CREATE TABLE dispositions (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (account_id, code)
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    -- The name lower-cased by the store (Unicode-aware), for case-insensitive search.
    name_search TEXT NOT NULL,
    -- The customer's first email and phone identities, kept here so a customer reads in one row.
    email TEXT,
    phone TEXT,
    tier TEXT,
    owner TEXT,
    tags TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, id)
);
CREATE INDEX customers_newest ON customers (account_id, created_at DESC);

CREATE TABLE identities (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, kind, value),
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id)
);
CREATE INDEX identities_value ON identities (account_id, value);
CREATE INDEX identities_customer ON identities (account_id, customer_id);

CREATE TABLE interactions (
    -- Arrival order, exact even for arrivals in the same millisecond; a restart re-queues by it.
    arrival_seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INT NOT NULL,
    arrived_at BIGINT NOT NULL,
    agent_id TEXT,
    entry_point TEXT NOT NULL,
    offline BOOLEAN NOT NULL,
    disposition TEXT,
    wrap_up_note TEXT,
    ended_at BIGINT,
    -- The seq of the newest message; bumped in the transaction that appends one.
    last_seq BIGINT NOT NULL DEFAULT 0,
    UNIQUE (id),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id),
    FOREIGN KEY (account_id, queue_id) REFERENCES queues (account_id, id),
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id)
);
CREATE INDEX interactions_customer ON interactions (account_id, customer_id, arrived_at DESC);
CREATE INDEX interactions_state ON interactions (state, arrived_at, arrival_seq);
CREATE INDEX interactions_agent ON interactions (account_id, agent_id, state);

CREATE TABLE interaction_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    at BIGINT NOT NULL,
    FOREIGN KEY (account_id, interaction_id) REFERENCES interactions (account_id, id)
);
CREATE INDEX interaction_events_interaction ON interaction_events (account_id, interaction_id, id);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    sender TEXT NOT NULL,
    agent_id TEXT,
    body TEXT NOT NULL,
    client_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (interaction_id, seq),
    UNIQUE (interaction_id, sender, client_id),
    FOREIGN KEY (account_id, interaction_id) REFERENCES interactions (account_id, id),
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id)
);

CREATE TABLE notes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    interaction_id TEXT,
    agent_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id),
    FOREIGN KEY (account_id, interaction_id) REFERENCES interactions (account_id, id),
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id)
);
CREATE INDEX notes_customer ON notes (account_id, customer_id, id);

CREATE TABLE chat_sessions (
    token_hash BYTEA PRIMARY KEY,
    account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id),
    FOREIGN KEY (account_id, interaction_id) REFERENCES interactions (account_id, id)
);
