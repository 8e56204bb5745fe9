-- Issue 13: teams. A team's leads (supervisors) oversee its members and the queues it serves:
-- the wallboard, reports, staffing and recordings they see. JSON arrays of ids, read whole (an
-- account has tens of teams, not thousands).
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    leads TEXT NOT NULL,
    members TEXT NOT NULL,
    queues TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, name)
);
