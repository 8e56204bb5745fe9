//! Every statement the store runs, one text for SQLite and PostgreSQL alike: `$N` placeholders
//! (SQLite binds `$N` to the N-th argument too), `ON CONFLICT`, `RETURNING`, no vendor functions.
//! Each statement filters by `account_id` except the few global lookups the trait asks for
//! (login by email, token hashes, the restart lists).

macro_rules! agent_columns {
    () => {
        "id, account_id, email, name, role, locale, skills, capacity, deactivated_at, device, display_name, avatar_at"
    };
}

macro_rules! queue_columns {
    () => {
        "id, account_id, name, required_skills, priority, sl_target_secs, max_wait_secs, overflow_queue, \
         offer_timeout_secs, wrap_up_secs, hours, callbacks, tier_priority, csat"
    };
}

macro_rules! customer_columns {
    () => {
        "id, name, email, phone, tier, owner_id, \
         (SELECT a.name FROM agents a WHERE a.account_id = customers.account_id AND a.id = customers.owner_id) \
         AS owner_name, home_owner_id, former_owner, tags, created_at, claimed, fields, stage"
    };
}

macro_rules! interaction_columns {
    () => {
        "id, account_id, customer_id, channel, queue_id, state, priority, arrived_at, agent_id, entry_point, \
         offline, callback, snoozed_until, disposition, wrap_up_note, ended_at"
    };
}

macro_rules! message_columns {
    () => {
        "id, interaction_id, seq, sender, agent_id, body, client_id, created_at"
    };
}

pub const INSERT_ACCOUNT: &str =
    "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";

// --- agents and sessions ---

pub const INSERT_AGENT: &str = "INSERT INTO agents \
     (id, account_id, email, name, role, locale, skills, capacity, password_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
pub const UPDATE_AGENT: &str = concat!(
    "UPDATE agents SET name = COALESCE($3, name), role = COALESCE($4, role), locale = COALESCE($5, locale), \
     skills = COALESCE($6, skills), capacity = COALESCE($7, capacity), \
     password_hash = COALESCE($8, password_hash), device = COALESCE($9, device), \
     display_name = NULLIF(COALESCE($10, display_name), '') \
     WHERE account_id = $1 AND id = $2 RETURNING ",
    agent_columns!()
);
pub const AGENT: &str = concat!(
    "SELECT ",
    agent_columns!(),
    " FROM agents WHERE account_id = $1 AND id = $2"
);
pub const AGENT_BY_EMAIL: &str = concat!(
    "SELECT ",
    agent_columns!(),
    ", password_hash FROM agents WHERE email = $1"
);
pub const AGENTS: &str = concat!(
    "SELECT ",
    agent_columns!(),
    " FROM agents WHERE account_id = $1 ORDER BY name, email"
);
pub const COUNT_AGENTS: &str = "SELECT COUNT(*) FROM agents WHERE account_id = $1";
pub const SET_AGENT_DEACTIVATED: &str = concat!(
    "UPDATE agents SET deactivated_at = $3 WHERE account_id = $1 AND id = $2 RETURNING ",
    agent_columns!()
);
/// `$3` none takes the picture away.
pub const SET_AVATAR: &str = concat!(
    "UPDATE agents SET avatar = $3, avatar_type = $4, avatar_at = $5 WHERE account_id = $1 AND id = $2 RETURNING ",
    agent_columns!()
);
/// A picture by its agent alone: the widget shows it to customers, who have no account.
pub const AVATAR: &str = "SELECT avatar_type, avatar FROM agents WHERE id = $1 AND avatar IS NOT NULL";
pub const INSERT_SESSION: &str = "INSERT INTO sessions \
     (token_hash, account_id, agent_id, expires_at, id, created_at, last_seen_at, client_addr, user_agent) \
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)";
/// A deactivated agent's sessions answer nothing, whatever is left of them.
pub const SESSION_AGENT: &str = concat!(
    "SELECT ",
    agent_columns!(),
    ", last_seen_at, expires_at FROM agents, \
     (SELECT account_id AS session_account, agent_id AS session_agent, last_seen_at, expires_at \
      FROM sessions \
      WHERE token_hash = $1 AND expires_at > $2) AS s \
     WHERE account_id = session_account AND id = session_agent AND deactivated_at IS NULL"
);
pub const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";
pub const SESSIONS: &str = "SELECT id, created_at, last_seen_at, expires_at, client_addr, user_agent \
     FROM sessions WHERE account_id = $1 AND agent_id = $2 AND expires_at > $3 \
     ORDER BY created_at DESC, id";
pub const END_SESSION: &str = "DELETE FROM sessions WHERE account_id = $1 AND agent_id = $2 AND id = $3";
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1";
/// `$3` is the session kept (an empty hash, which no token has, keeps none).
pub const END_SESSIONS: &str =
    "DELETE FROM sessions WHERE account_id = $1 AND agent_id = $2 AND token_hash <> $3";
pub const PRUNE_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";

// --- queues and dispositions ---

pub const INSERT_QUEUE: &str = "INSERT INTO queues \
     (id, account_id, name, required_skills, priority, sl_target_secs, max_wait_secs, overflow_queue, \
     offer_timeout_secs, wrap_up_secs, hours, callbacks, tier_priority, csat) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
pub const UPDATE_QUEUE: &str = "UPDATE queues SET name = $3, required_skills = $4, priority = $5, \
     sl_target_secs = $6, max_wait_secs = $7, overflow_queue = $8, offer_timeout_secs = $9, \
     wrap_up_secs = $10, hours = $11, callbacks = $12, tier_priority = $13, csat = $14 \
     WHERE account_id = $2 AND id = $1";
pub const QUEUE: &str = concat!(
    "SELECT ",
    queue_columns!(),
    " FROM queues WHERE account_id = $1 AND id = $2"
);
pub const QUEUE_BY_NAME: &str = concat!(
    "SELECT ",
    queue_columns!(),
    " FROM queues WHERE account_id = $1 AND name = $2"
);
pub const QUEUES: &str = concat!(
    "SELECT ",
    queue_columns!(),
    " FROM queues WHERE account_id = $1 ORDER BY name"
);
pub const UPSERT_DISPOSITION: &str = "INSERT INTO dispositions (account_id, code, label) VALUES ($1, $2, $3) \
     ON CONFLICT (account_id, code) DO UPDATE SET label = excluded.label";
pub const DELETE_DISPOSITION: &str = "DELETE FROM dispositions WHERE account_id = $1 AND code = $2";
pub const DISPOSITIONS: &str = "SELECT code, label FROM dispositions WHERE account_id = $1 ORDER BY code";

// --- phones ---

pub const INSERT_PHONE: &str = "INSERT INTO phones \
     (id, account_id, agent_id, username, realm, ha1_md5, ha1_sha256, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub const PHONES: &str = "SELECT id, agent_id, username, realm, created_at FROM phones \
     WHERE account_id = $1 ORDER BY username";
pub const PHONE_SECRETS: &str =
    "SELECT agent_id, username, realm, ha1_md5, ha1_sha256 FROM phones ORDER BY username";
pub const BIND_PHONE: &str = "INSERT INTO phone_bindings (aor, contact, username, q, expires_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (aor, contact) DO UPDATE \
     SET username = excluded.username, q = excluded.q, expires_at = excluded.expires_at";
pub const UNBIND_PHONE: &str = "DELETE FROM phone_bindings WHERE aor = $1 AND contact = $2";
pub const UNBIND_AOR: &str = "DELETE FROM phone_bindings WHERE aor = $1";
pub const UNBIND_USERNAME: &str = "DELETE FROM phone_bindings WHERE username = $1";
pub const LAPSE_BINDING: &str =
    "DELETE FROM phone_bindings WHERE aor = $1 AND contact = $2 AND expires_at <= $3";
pub const PHONE_BINDINGS: &str = "SELECT b.aor, b.contact, b.username, b.q, b.expires_at \
     FROM phone_bindings b JOIN phones p ON p.username = b.username \
     WHERE p.account_id = $1 AND p.agent_id = $2 AND b.expires_at > $3 \
     ORDER BY COALESCE(b.q, 1000) DESC, b.expires_at DESC, b.aor, b.contact";
pub const DELETE_PHONE: &str = "DELETE FROM phones WHERE account_id = $1 AND id = $2 \
     RETURNING id, agent_id, username, realm, created_at";

// --- customers ---

pub const IDENTITY_OWNER: &str =
    "SELECT customer_id FROM identities WHERE account_id = $1 AND kind = $2 AND value = $3";
pub const INSERT_IDENTITY: &str = "INSERT INTO identities (account_id, kind, value, customer_id, created_at) \
     VALUES ($1, $2, $3, $4, $5)";
/// A blank customer; `UPDATE_CUSTOMER` fills it in the same transaction.
pub const INSERT_CUSTOMER: &str = "INSERT INTO customers \
     (id, account_id, name, name_search, tags, created_at, updated_at) VALUES ($1, $2, '', '', '[]', $3, $3)";
/// Writes back every editable field: callers read the row in the same transaction first. The
/// owner is not one: it changes only through `CrmStore::move_owners`, which logs who and why.
pub const UPDATE_CUSTOMER: &str = "UPDATE customers SET name = $3, name_search = $4, email = $5, phone = $6, \
     tier = $7, tags = $8, updated_at = $9, fields = $10 WHERE account_id = $1 AND id = $2";
/// `MERGE_CUSTOMER`'s statements, in order, each taking the account, `from` and `into`: what was
/// `from`'s becomes `into`'s, then `from` goes.
pub const MERGE_CUSTOMER: [&str; 11] = [
    "UPDATE identities SET customer_id = $3 WHERE account_id = $1 AND customer_id = $2",
    "UPDATE customer_events SET customer_id = $3 WHERE account_id = $1 AND customer_id = $2",
    "UPDATE follow_ups SET customer_id = $3 WHERE account_id = $1 AND customer_id = $2",
    "UPDATE csat_ratings SET customer_id = $3 WHERE account_id = $1 AND customer_id = $2",
    "UPDATE opportunities SET customer_id = $3 WHERE account_id = $1 AND customer_id = $2",
    // `into` takes `from`'s lifecycle stage when it has none.
    "UPDATE customers SET stage = (SELECT f.stage FROM customers AS f WHERE f.account_id = $1 AND f.id = $2) \
     WHERE account_id = $1 AND id = $3 AND stage IS NULL",
    "UPDATE interactions SET customer_id = $3 WHERE account_id = $1 AND customer_id = $2",
    "UPDATE notes SET customer_id = $3 WHERE account_id = $1 AND customer_id = $2",
    "UPDATE chat_sessions SET customer_id = $3 WHERE account_id = $1 AND customer_id = $2",
    // `into` takes `from`'s owner (and any leave it is lent for) when it has none.
    "UPDATE customers SET (owner_id, home_owner_id, handover_id) = (SELECT f.owner_id, f.home_owner_id, \
     f.handover_id FROM customers AS f WHERE f.account_id = $1 AND f.id = $2) \
     WHERE account_id = $1 AND id = $3 AND owner_id IS NULL",
    "DELETE FROM customers WHERE account_id = $1 AND id = $2 AND $3 <> $2",
];
pub const SET_CLAIM: &str = "UPDATE customers SET claimed = $3 WHERE account_id = $1 AND id = $2";
pub const CUSTOMER: &str = concat!(
    "SELECT ",
    customer_columns!(),
    " FROM customers WHERE account_id = $1 AND id = $2"
);
/// An agent's customers, oldest first (`CrmStore::owned_customers`).
pub const OWNED_CUSTOMERS: &str = concat!(
    "SELECT ",
    customer_columns!(),
    " FROM customers WHERE account_id = $1 AND owner_id = $2 ORDER BY created_at, id"
);
/// `$2` is a LIKE pattern over the lower-cased name; `$3` and `$4` are the query as typed and
/// lower-cased, matched exactly against identity values.
pub const SEARCH_CUSTOMERS: &str = concat!(
    "SELECT ",
    customer_columns!(),
    " FROM customers WHERE account_id = $1 AND erased_at IS NULL AND (name_search LIKE $2 ESCAPE '\\' OR id IN \
     (SELECT customer_id FROM identities WHERE account_id = $1 AND value IN ($3, $4))) \
     ORDER BY created_at DESC, id DESC LIMIT $5"
);
pub const CUSTOMER_INTERACTIONS: &str = concat!(
    "SELECT ",
    interaction_columns!(),
    " FROM interactions WHERE account_id = $1 AND customer_id = $2 \
     ORDER BY arrived_at DESC, arrival_seq DESC LIMIT $3"
);
pub const INSERT_NOTE: &str = "INSERT INTO notes (account_id, customer_id, interaction_id, agent_id, body, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
pub const NOTES: &str = "SELECT id, customer_id, interaction_id, agent_id, body, created_at FROM notes \
     WHERE account_id = $1 AND customer_id = $2 ORDER BY id";

// --- interactions ---

pub const INTERACTION: &str = concat!(
    "SELECT ",
    interaction_columns!(),
    " FROM interactions WHERE account_id = $1 AND id = $2"
);
/// The dispatcher's writes of one commit as four set statements, however many writes there are
/// (one statement each cost a round trip to SQLite's connection thread, or to PostgreSQL). Each
/// takes one JSON array as `$1`, read as rows `j(value, key)`, `key` being the position.
pub struct WriteBatch {
    /// New interactions.
    pub open: &'static str,
    /// Reads the interactions that change while holding their write locks (PostgreSQL has no
    /// `SELECT ... FOR UPDATE` twin in SQLite; a no-op update takes the same row locks on one and
    /// runs under `BEGIN IMMEDIATE` on the other), so each step decides on the state it replaces.
    pub lock: &'static str,
    /// Each changed interaction's state after the commit's last step.
    pub update: &'static str,
    /// The log lines, in the order of the writes.
    pub events: &'static str,
    /// The agents' presence lines, in the order of the writes.
    pub presence: &'static str,
    /// The forwarded requests carried out (`cluster.rs`); one redelivered after a takeover may
    /// be recorded again, which changes nothing.
    pub forwarded: &'static str,
}

/// `WriteBatch` over `$rows`, the backend's table function over a JSON array.
macro_rules! write_batch {
    ($rows:literal) => {
        WriteBatch {
            open: concat!(
                "INSERT INTO interactions (id, account_id, customer_id, channel, queue_id, state, priority, \
                 arrived_at, entry_point, offline, callback) SELECT j.value ->> 'i', j.value ->> 'a', \
                 j.value ->> 'c', j.value ->> 'ch', j.value ->> 'q', j.value ->> 's', \
                 CAST(j.value ->> 'p' AS INTEGER), CAST(j.value ->> 't' AS BIGINT), j.value ->> 'e', \
                 CAST(j.value ->> 'o' AS BOOLEAN), j.value ->> 'cb' FROM ",
                $rows,
                " ORDER BY j.key"
            ),
            lock: concat!(
                "UPDATE interactions SET priority = priority WHERE (account_id, id) IN \
                 (SELECT j.value ->> 'a', j.value ->> 'i' FROM ",
                $rows,
                ") RETURNING ",
                interaction_columns!()
            ),
            update: concat!(
                "UPDATE interactions SET state = j.value ->> 's', queue_id = j.value ->> 'q', \
                 agent_id = j.value ->> 'g', disposition = j.value ->> 'd', wrap_up_note = j.value ->> 'w', \
                 ended_at = CAST(j.value ->> 'x' AS BIGINT), offline = CAST(j.value ->> 'o' AS BOOLEAN), \
                 callback = j.value ->> 'cb', snoozed_until = CAST(j.value ->> 'z' AS BIGINT) FROM ",
                $rows,
                " WHERE interactions.account_id = j.value ->> 'a' AND interactions.id = j.value ->> 'i'"
            ),
            events: concat!(
                "INSERT INTO interaction_events (account_id, interaction_id, type, data, at) \
                 SELECT j.value ->> 'a', j.value ->> 'i', j.value ->> 'k', j.value ->> 'd', \
                 CAST(j.value ->> 't' AS BIGINT) FROM ",
                $rows,
                " ORDER BY j.key"
            ),
            presence: concat!(
                "INSERT INTO agent_events (account_id, agent_id, state, reason, at) \
                 SELECT j.value ->> 'a', j.value ->> 'g', j.value ->> 's', j.value ->> 'r', \
                 CAST(j.value ->> 't' AS BIGINT) FROM ",
                $rows,
                " ORDER BY j.key"
            ),
            // SQLite reads `ON CONFLICT` after a bare `FROM` as a join's; the `WHERE` ends the join.
            forwarded: concat!(
                "INSERT INTO forwarded_requests (node, id, at) SELECT j.value ->> 'n', \
                 CAST(j.value ->> 'r' AS BIGINT), CAST(j.value ->> 't' AS BIGINT) FROM ",
                $rows,
                " WHERE true ON CONFLICT DO NOTHING"
            ),
        }
    };
}

pub const SQLITE_WRITES: WriteBatch = write_batch!("json_each($1) AS j");
pub const POSTGRES_WRITES: WriteBatch =
    write_batch!("json_array_elements(CAST($1 AS json)) WITH ORDINALITY AS j(value, key)");
pub const EVENTS: &str = "SELECT id, interaction_id, type, data, at FROM interaction_events \
     WHERE account_id = $1 AND interaction_id = $2 ORDER BY id";
/// Every account's interactions in two states, in arrival order.
pub const INTERACTIONS_IN_STATES: &str = concat!(
    "SELECT ",
    interaction_columns!(),
    " FROM interactions WHERE state IN ($1, $2) ORDER BY arrived_at, arrival_seq"
);
/// Found by the agent's index first, then put in arrival order: asked for both at once, SQLite's
/// planner walks the account's whole arrival index (which needs no sort) instead.
pub const AGENT_INTERACTIONS: &str = concat!(
    "WITH held AS MATERIALIZED (SELECT ",
    interaction_columns!(),
    ", arrival_seq FROM interactions WHERE account_id = $1 AND agent_id = $2 AND state IN ($3, $4)) \
     SELECT ",
    interaction_columns!(),
    " FROM held ORDER BY arrived_at, arrival_seq"
);

// --- the routers' leader ---

pub const FENCE_TOKEN: &str = "SELECT token FROM router_lease WHERE id = 1";
/// PostgreSQL: held until commit, so raising the fence waits for commits under way.
pub const FENCE_TOKEN_SHARED: &str = "SELECT token FROM router_lease WHERE id = 1 FOR SHARE";
pub const FORWARDED: &str = "SELECT COUNT(*) FROM forwarded_requests WHERE node = $1 AND id = $2";
pub const PRUNE_FORWARDED: &str = "DELETE FROM forwarded_requests WHERE at < $1";
pub const RAISE_FENCE: &str = "UPDATE router_lease SET token = $1 WHERE id = 1 AND token <= $1";

// --- messages ---

/// Locks an interaction before a message is appended to it: the row lock, held until commit, orders
/// concurrent appends to one interaction (PostgreSQL) as `BEGIN IMMEDIATE` does for all writers
/// (SQLite). It sets `priority`, which no index holds, so SQLite rewrites no index entry (the
/// dispatcher's `lock` does the same). No row: no such interaction in the account.
pub const LOCK_INTERACTION: &str =
    "UPDATE interactions SET priority = priority WHERE account_id = $1 AND id = $2";
/// The next seq of an interaction, after its newest message (an index seek). A statement of its
/// own after `LOCK_INTERACTION`, so on PostgreSQL it sees what the lock's last holder committed.
pub const NEXT_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE interaction_id = $1";
pub const MESSAGE_BY_CLIENT_ID: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE account_id = $1 AND interaction_id = $2 AND sender = $3 AND client_id = $4"
);
pub const INSERT_MESSAGE: &str = "INSERT INTO messages \
     (id, account_id, interaction_id, seq, sender, agent_id, body, client_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/// A group of messages in a few statements, whatever its size (the group commit,
/// `group.rs`): each takes the whole group as one JSON array `$1`, read as rows `j(value, key)`,
/// so the statements stay prepared and the writer is handed a few statements a group instead of
/// several a message.
pub struct GroupBatch {
    /// PostgreSQL's row locks on the group's interactions `[{a: account, i: interaction}]`,
    /// taken in one order before anything is read. Two nodes' groups that write to one
    /// conversation (its customer on one node, its agent on another) then wait for each other;
    /// without it both take the same next seq, and the later one fails whole on the seq's unique
    /// key and is done again one message at a time. SQLite has one writer (`BEGIN IMMEDIATE`).
    pub lock: Option<&'static str>,
    /// Messages of the group already stored, by `[{a: account, i: interaction, s: sender, c:
    /// client_id, e: entry point, x: external id}]`: each row names the job it answers (`k`, its
    /// index from 0) and whether it was found by its external id (a channel's message) or by its
    /// client id (a resend).
    pub stored: &'static str,
    /// The interactions a group's first messages open, in the group's order (`arrival_seq`).
    pub open: &'static str,
    pub events: &'static str,
    /// The newest seq (0 for none) of each interaction of `[{a: account, i: interaction}]` that
    /// is in that account; an interaction that is not answers no row.
    pub last_seqs: &'static str,
    pub insert: &'static str,
    /// A channel's messages' details (what arrived: no delivery state).
    pub details: &'static str,
    pub attachments: &'static str,
    pub media_fetches: &'static str,
}

/// `GroupBatch` over `$rows`, the backend's table function over a JSON array, whose `key` is
/// `$index` from 0.
macro_rules! group_batch {
    ($rows:literal, $index:literal, $lock:expr) => {
        GroupBatch {
            lock: $lock,
            stored: concat!(
                "SELECT ", $index, " AS k, m.id, m.interaction_id, m.seq, m.sender, m.agent_id, \
                 m.body, m.client_id, m.created_at, false AS by_external FROM ", $rows, " JOIN messages AS m \
                 ON m.interaction_id = j.value ->> 'i' AND m.sender = j.value ->> 's' \
                 AND m.client_id = j.value ->> 'c' AND m.account_id = j.value ->> 'a' \
                 UNION ALL SELECT ", $index, ", m.id, m.interaction_id, m.seq, m.sender, m.agent_id, m.body, \
                 m.client_id, m.created_at, true FROM ", $rows, " JOIN message_details AS d \
                 ON d.account_id = j.value ->> 'a' AND d.entry_point = j.value ->> 'e' \
                 AND d.external_id = j.value ->> 'x' JOIN messages AS m ON m.id = d.message_id"
            ),
            open: concat!(
                "INSERT INTO interactions \
                 (id, account_id, customer_id, channel, queue_id, state, priority, arrived_at, entry_point, offline) \
                 SELECT j.value ->> 'id', j.value ->> 'a', j.value ->> 'c', j.value ->> 'ch', j.value ->> 'q', \
                 j.value ->> 's', CAST(j.value ->> 'p' AS INTEGER), CAST(j.value ->> 't' AS BIGINT), \
                 j.value ->> 'e', CAST(j.value ->> 'o' AS BOOLEAN) FROM ", $rows, " ORDER BY j.key"
            ),
            events: concat!(
                "INSERT INTO interaction_events (account_id, interaction_id, type, data, at) \
                 SELECT j.value ->> 'a', j.value ->> 'i', j.value ->> 'k', j.value ->> 'd', \
                 CAST(j.value ->> 't' AS BIGINT) FROM ", $rows, " ORDER BY j.key"
            ),
            last_seqs: concat!(
                "SELECT i.id, COALESCE((SELECT MAX(m.seq) FROM messages AS m \
                 WHERE m.interaction_id = i.id), 0) FROM ", $rows, " JOIN interactions AS i \
                 ON i.account_id = j.value ->> 'a' AND i.id = j.value ->> 'i'"
            ),
            insert: concat!(
                "INSERT INTO messages \
                 (id, account_id, interaction_id, seq, sender, agent_id, body, client_id, created_at) \
                 SELECT j.value ->> 'id', j.value ->> 'a', j.value ->> 'i', CAST(j.value ->> 'q' AS BIGINT), \
                 j.value ->> 's', j.value ->> 'g', j.value ->> 'b', j.value ->> 'c', \
                 CAST(j.value ->> 't' AS BIGINT) FROM ", $rows
            ),
            details: concat!(
                "INSERT INTO message_details \
                 (message_id, account_id, interaction_id, entry_point, external_id, details) \
                 SELECT j.value ->> 'm', j.value ->> 'a', j.value ->> 'i', j.value ->> 'e', j.value ->> 'x', \
                 j.value ->> 'd' FROM ", $rows
            ),
            attachments: concat!(
                "INSERT INTO attachments \
                 (id, account_id, interaction_id, message_id, filename, content_type, size, sha256, content_id) \
                 SELECT j.value ->> 'id', j.value ->> 'a', j.value ->> 'i', j.value ->> 'm', j.value ->> 'f', \
                 j.value ->> 'ct', CAST(j.value ->> 'z' AS BIGINT), j.value ->> 'h', j.value ->> 'cid' FROM ",
                $rows
            ),
            media_fetches: concat!(
                "INSERT INTO media_fetches (message_id, account_id, entry_point, next_at) \
                 SELECT j.value ->> 'm', j.value ->> 'a', j.value ->> 'e', CAST(j.value ->> 't' AS BIGINT) FROM ",
                $rows
            ),
        }
    };
}

pub const SQLITE_GROUP: GroupBatch = group_batch!("json_each($1) AS j", "j.key", None);
pub const POSTGRES_GROUP: GroupBatch = group_batch!(
    "json_array_elements(CAST($1 AS json)) WITH ORDINALITY AS j(value, key)",
    "j.key - 1",
    Some(
        "SELECT 1 FROM interactions WHERE (account_id, id) IN (SELECT j.value ->> 'a', j.value ->> 'i' \
         FROM json_array_elements(CAST($1 AS json)) AS j) ORDER BY account_id, id FOR UPDATE"
    )
);
pub const MESSAGES: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE account_id = $1 AND interaction_id = $2 AND seq > $3 ORDER BY seq"
);

// --- widget conversations ---

pub const INSERT_CHAT_SESSION: &str = "INSERT INTO chat_sessions \
     (token_hash, account_id, customer_id, interaction_id, created_at) VALUES ($1, $2, $3, $4, $5)";
pub const CHAT_SESSION: &str =
    "SELECT account_id, customer_id, interaction_id FROM chat_sessions WHERE token_hash = $1";
