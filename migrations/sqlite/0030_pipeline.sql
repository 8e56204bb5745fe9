-- Issue 15 item 4: the pipeline. Each customer's lifecycle stage (a stable key: lead, prospect,
-- customer, churned; NULL until someone sets one), the account's pipeline settings (opportunity
-- stages with their probabilities and checklists, the lifecycle labels, who sees whose
-- opportunities) as one JSON document an admin replaces whole, and the opportunities.
ALTER TABLE customers ADD COLUMN stage TEXT;
CREATE TABLE pipeline_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
-- `status` (open, won, lost) follows the stage, kept here so a board and an orphan check read
-- it without the settings. `checked`: the checklist items done, as a JSON object of lists by
-- stage key. Amounts are integer minor units of `currency` (ISO 4217).
CREATE TABLE opportunities (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    name TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    expected_close TEXT,
    owner_id TEXT NOT NULL,
    checked TEXT NOT NULL DEFAULT '{}',
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id),
    FOREIGN KEY (account_id, owner_id) REFERENCES agents (account_id, id)
);
CREATE INDEX opportunities_customer ON opportunities (account_id, customer_id, created_at);
CREATE INDEX opportunities_owner ON opportunities (account_id, owner_id, status);
