-- Issue 15: a customer's owner is an agent, not free text; hand-overs for leave or for good;
-- assignment rules; customer events on the timeline; follow-ups with reminders and escalation.

-- The free text that was the owner stays as `former_owner` only where it names no agent of the
-- account (by email, or by a name only one agent has); where it does, it becomes `owner_id`.
ALTER TABLE customers RENAME COLUMN owner TO former_owner;
ALTER TABLE customers ADD COLUMN owner_id TEXT;
-- While the owner is covering for a colleague on leave: whose customer it is, and the hand-over
-- that lent it (it goes back when that hand-over returns).
ALTER TABLE customers ADD COLUMN home_owner_id TEXT;
ALTER TABLE customers ADD COLUMN handover_id TEXT;
UPDATE customers SET owner_id = (
    SELECT min(a.id) FROM agents a
    WHERE a.account_id = customers.account_id
      AND (a.email = lower(trim(customers.former_owner)) OR lower(a.name) = lower(trim(customers.former_owner)))
    HAVING count(*) = 1
) WHERE former_owner IS NOT NULL;
UPDATE customers SET former_owner = NULL WHERE owner_id IS NOT NULL OR trim(former_owner) = '';
ALTER TABLE customers ADD FOREIGN KEY (account_id, owner_id) REFERENCES agents (account_id, id);
ALTER TABLE customers ADD FOREIGN KEY (account_id, home_owner_id) REFERENCES agents (account_id, id);
CREATE INDEX customers_owner ON customers (account_id, owner_id);
CREATE INDEX customers_home_owner ON customers (account_id, home_owner_id);
CREATE INDEX customers_handover ON customers (account_id, handover_id);

-- What happened to a customer outside any interaction (an owner changed, a follow-up was done):
-- shown on the timeline beside the interactions.
CREATE TABLE customer_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    at BIGINT NOT NULL,
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id)
);
CREATE INDEX customer_events_customer ON customer_events (account_id, customer_id, id);

-- An account's assignment rules for new customers, in order (JSON, see crm::rules).
CREATE TABLE assignment_rules (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    rules TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A supervisor moving an agent's customers to others: for good (`until` NULL) or for a leave,
-- after which (`until`, or an early return) they go back.
CREATE TABLE handovers (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    from_agent TEXT NOT NULL,
    spec TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    until BIGINT,
    returned_at BIGINT,
    moved BIGINT NOT NULL,
    FOREIGN KEY (account_id, from_agent) REFERENCES agents (account_id, id),
    FOREIGN KEY (account_id, created_by) REFERENCES agents (account_id, id)
);
CREATE INDEX handovers_due ON handovers (until) WHERE returned_at IS NULL;

-- Tasks and callbacks on a customer for an owner. `next_at` is when the scheduler next looks at
-- one (its due time for the reminder, then the escalation); NULL once there is nothing left to
-- do. A scheduler claims a row by moving `next_at` forward, so one node acts on it.
CREATE TABLE follow_ups (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    next_at BIGINT,
    reminded_at BIGINT,
    escalated_at BIGINT,
    done_at BIGINT,
    done_by TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    home_owner_id TEXT,
    handover_id TEXT,
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id),
    FOREIGN KEY (account_id, owner_id) REFERENCES agents (account_id, id)
);
CREATE INDEX follow_ups_customer ON follow_ups (account_id, customer_id, due_at);
CREATE INDEX follow_ups_owner ON follow_ups (account_id, owner_id, state, due_at);
CREATE INDEX follow_ups_next ON follow_ups (next_at);
