-- The audit log of admins' and supervisors' actions, and erased customers (issue 11).

-- One line per action: who (the user's id and email then), what (a dot-case action, what it was
-- done to, and a JSON object of what changed, never a secret), when, and from where (the client's
-- address as the login limits see it). Lines are only ever added.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    at BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_email TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    client_addr TEXT
);
CREATE INDEX audit_log_at ON audit_log (account_id, at, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- An erased customer stays as an anonymous tombstone (so reports still count their contacts):
-- when it was erased. NULL: not erased.
ALTER TABLE customers ADD COLUMN erased_at BIGINT;
