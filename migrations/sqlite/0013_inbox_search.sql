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
    read_seq INTEGER NOT NULL,
    PRIMARY KEY (agent_id, interaction_id),
    FOREIGN KEY (account_id, interaction_id) REFERENCES interactions (account_id, id),
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id) ON DELETE CASCADE
);

-- A supervisor's inbox reads an account's conversations newest (or oldest) first.
CREATE INDEX interactions_arrival ON interactions (account_id, arrived_at, arrival_seq);

-- The search index, derived from messages and never copied (`plugboard copy` rebuilds it): the
-- hub's indexer files each message's terms (hub/src/tokenize.rs: words, and pairs of CJK
-- characters) some moments after the message is written, so a message insert costs no more than
-- it did. `search_docs` numbers the messages indexed, in the order they were indexed (an
-- INTEGER PRIMARY KEY, which VACUUM keeps); the full-text table is keyed by that number. The
-- terms arrive separated by spaces, so unicode61 only splits where the hub did.
CREATE TABLE search_docs (
    doc INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE message_search USING fts5 (
    terms,
    content = '',
    detail = 'none',
    columnsize = 0,
    tokenize = 'unicode61 remove_diacritics 0'
);
