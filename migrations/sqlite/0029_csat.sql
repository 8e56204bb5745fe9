-- Issue 15 item 8: customer satisfaction. A queue asks its customers to rate a conversation
-- when it ends (`csat`, 0 or 1); each interaction takes one rating: its customer, the agent who
-- handled it and its queue at the time, a score of 1 to 5, an optional comment (erased with the
-- customer's data) and when (milliseconds since the epoch).
ALTER TABLE queues ADD COLUMN csat INTEGER NOT NULL DEFAULT 0;
CREATE TABLE csat_ratings (
    account_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    agent_id TEXT,
    queue_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (account_id, interaction_id),
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id)
);
CREATE INDEX csat_ratings_at ON csat_ratings (account_id, at);
CREATE INDEX csat_ratings_customer ON csat_ratings (account_id, customer_id, at);
