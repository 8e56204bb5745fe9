-- Where agents' phones are registered, for every hub node: the registrar of the node a REGISTER
-- reached keeps its bindings in memory and records each change here, so another node can ring
-- the phone (at its contact, straight). A row is live until `expires_at` (epoch milliseconds);
-- lapsed rows are ignored, and removed by the node whose registrar saw them lapse.
CREATE TABLE phone_bindings (
    -- The address-of-record, as the registrar canonicalised it (`sip:bob-desk@host`).
    aor TEXT NOT NULL,
    -- The contact URI as the phone sent it.
    contact TEXT NOT NULL,
    -- The AOR's user part: the phone's username, how telephony looks a phone up.
    username TEXT NOT NULL,
    -- The contact's `q` in thousandths; NULL counts as 1.0.
    q INTEGER,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (aor, contact)
);
CREATE INDEX phone_bindings_username ON phone_bindings (username);
