-- Issue 15: tier maps to priority per queue. What a customer's tier adds to the queue's priority
-- (JSON object, tier name to a number: {"vip": 10}); empty: tier changes nothing.
ALTER TABLE queues ADD COLUMN tier_priority TEXT NOT NULL DEFAULT '{}';

-- Issue 15: segments, an account's saved customer searches (JSON, see crm::segments), used for
-- counts, bulk reassignment and export.
CREATE TABLE segments (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_by TEXT REFERENCES agents (id),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name)
);
