-- The agent's inbox and search across conversations (issue 12).

-- Labels an agent puts on a conversation, lower-cased and trimmed by the hub.
CREATE TABLE interaction_labels (
    account_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (interaction_id, label),
    FOREIGN KEY (account_id, interaction_id) REFERENCES interactions (account_id, id)
);
CREATE INDEX interaction_labels_label ON interaction_labels (account_id, label);

-- How far each agent has read each conversation: the customer's messages after `read_seq` are
-- unread for them.
CREATE TABLE conversation_reads (
    account_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    read_seq BIGINT NOT NULL,
    PRIMARY KEY (agent_id, interaction_id),
    FOREIGN KEY (account_id, interaction_id) REFERENCES interactions (account_id, id),
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id) ON DELETE CASCADE
);

-- A supervisor's inbox reads an account's conversations newest (or oldest) first.
CREATE INDEX interactions_arrival ON interactions (account_id, arrived_at, arrival_seq);

-- The search index, derived from messages and never copied (`plugboard copy` rebuilds it): the
-- hub's indexer files each message's terms (hub/src/tokenize.rs: words, and pairs of CJK
-- characters) as a tsvector built from the terms verbatim (array_to_tsvector: no parser or
-- dictionary of PostgreSQL's in between), under a GIN index. Several nodes may index: each
-- claims pending messages with SKIP LOCKED.
CREATE TABLE message_search (
    doc BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    terms TSVECTOR NOT NULL
);
CREATE INDEX message_search_terms ON message_search USING GIN (terms);

-- Messages written but not yet indexed. A trigger fills it, so every writer of messages (the
-- chat path, mail, messaging apps, a copy) is covered without knowing of search: one small
-- insert per message, removed again by the indexer.
CREATE TABLE search_pending (
    message_id TEXT PRIMARY KEY
);
CREATE FUNCTION search_pending_add() RETURNS trigger AS $$
BEGIN
    INSERT INTO search_pending (message_id) VALUES (NEW.id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER messages_search_pending AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION search_pending_add();
INSERT INTO search_pending (message_id) SELECT id FROM messages;
