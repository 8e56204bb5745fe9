//! The `Store` on SQLite (one file next to the binary; WAL, `synchronous=FULL`, so whatever was
//! acknowledged survives a kill -9) or PostgreSQL (several hub nodes on one database).
//!
//! Both backends run the same SQL text (`queries.rs`) and the same method bodies: `impl_store!`
//! below expands one `impl Store` for `SqlStore<Sqlite>` and one for `SqlStore<Postgres>`. What
//! differs is only the connection set-up, the migration folder and how a write transaction
//! begins (`BEGIN IMMEDIATE` on SQLite, so writers queue on the busy timeout instead of failing
//! when they upgrade from reading).

mod audit;
mod channels;
mod conversations;
/// A test forces one way to a search's hits on PostgreSQL (`conversations::planned`).
#[cfg(test)]
pub(crate) use conversations::planned::{FORCED as FORCED_SEARCH_WAY, Way as SearchWay};
mod crm;
mod csat;
mod group;
mod knowledge;
mod pipeline;
mod privacy;
mod queries;
mod reports;
mod rows;

use super::{
    AgentPatch, Avatar, BindingUpdate, ChatSession, CustomerPatch, DynStore, EventRecord, LiveSession,
    NewAgent, NewMessage, NewPhone, NewSession, Note, Phone, PhoneBinding, QueueSpec, Result, SessionInfo,
    Store, StoreError, Write, apply_transition,
};
use crate::domain::{
    AccountId, Agent, AgentId, Customer, CustomerId, Disposition, Interaction, InteractionId,
    InteractionState, Message, MessageId, Millis, PhoneId, QUEUED, Queue, QueueId, now_millis,
};
use group::GroupWriter;
use queries as q;
use rows::{
    AgentLoginRow, AgentRow, ChatSessionRow, CustomerRow, DispositionRow, EventRow, InteractionRow,
    LiveSessionRow, MessageRow, NoteRow, PhoneBindingRow, PhoneRow, PhoneSecretRow, QueueRow, SessionRow,
    all, to_json,
};
use sqlx::postgres::{PgPoolOptions, Postgres};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Database, Pool, Sqlite};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// How many times `resolve_customer` starts over after losing a race to insert an identity
/// (PostgreSQL only: SQLite's writers never overlap).
const RESOLVE_ATTEMPTS: usize = 4;

/// Opens the database a URL names: `sqlite://path/to/hub.db` (created, with its directory, when
/// missing) or `postgres://user@host/db`. Does not migrate; call `Store::migrate` next.
pub async fn connect(url: &str) -> Result<DynStore> {
    if url.starts_with("sqlite:") {
        let (pool, writer, indexing) = sqlite_pools(url).await?;
        let group = GroupWriter::sqlite(writer.clone());
        Ok(Arc::new(SqlStore {
            pool,
            writer,
            indexing,
            group,
            audit: None,
        }))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        // More than sqlx's default of 10: a node taking a few hundred calls a second keeps
        // more than ten statements in flight (reads, customers resolved, the routers' commits),
        // and they queued for a connection while the server sat idle.
        let pool = PgPoolOptions::new()
            .max_connections(32)
            .connect(url)
            .await
            .map_err(db)?;
        // PostgreSQL commits concurrent connections' WAL together already, but each message in
        // its own transaction cost the server six statements: the group commit sends a group's
        // messages in a few.
        Ok(Arc::new(SqlStore {
            writer: pool.clone(),
            indexing: pool.clone(),
            group: GroupWriter::postgres(pool.clone()),
            pool,
            audit: None,
        }))
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        Err(StoreError::Database(sqlx::Error::Configuration(
            format!("unsupported database URL scheme {scheme:?}: use sqlite:// or postgres://").into(),
        )))
    }
}

/// Readers, one writer, the search indexer's reader and a checkpointer (`checkpoint_forever`).
/// SQLite runs one write at a
/// time anyway; with several writing connections the losers sleep in SQLite's busy handler (up to
/// 100 ms a nap: 58 ms p99 and 1.5 s worst message latency measured at 1,000 messages/s), while
/// one writer connection makes them queue in the pool, first come first served.
async fn sqlite_pools(url: &str) -> Result<(Pool<Sqlite>, Pool<Sqlite>, Pool<Sqlite>)> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(StoreError::Database)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // Durability first: a message is on disk before the customer is told it was sent.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let file = options.get_filename();
    let in_memory = file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:");
    if let Some(dir) = file.parent().filter(|d| !in_memory && !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    }
    // The writer touches a few index pages per message all over the database; with SQLite's
    // default 2 MiB cache it read them back from the kernel (5 % of the hub's CPU at 4,000
    // messages/s). A bigger cache is walked at every commit (64 MiB: 4 %); 16 MiB holds the hot
    // index pages of 2,000 busy conversations at a small walk.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            options
                .clone()
                .pragma("cache_size", "-16384")
                .pragma("wal_autocheckpoint", "0")
                .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT),
        )
        .await
        .map_err(db)?;
    if !in_memory {
        let checkpointer = options.connect().await.map_err(db)?;
        tokio::spawn(checkpoint_forever(checkpointer));
    }
    // One connection with SQLite's default cache: the indexer's batches are read in the order
    // they were written, so a bigger cache would only hold pages it has passed.
    let indexing = if in_memory {
        writer.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db)?
    };
    let readers = SqlitePoolOptions::new().connect_with(options).await.map_err(db)?;
    Ok((readers, writer, indexing))
}

/// How often the write-ahead log is copied back into the database file (`checkpoint_forever`).
/// A page written by many commits in between is copied once: at 10,000 chat messages a second
/// the disk took 87 MB/s with a checkpoint a second against 199 MB/s with five.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// What the write-ahead log is cut back to once a checkpoint has emptied it: room for a busy
/// second of log (at 10,000 messages a second the disk took 60-80 MB/s, log and copies together).
const JOURNAL_SIZE_LIMIT: &str = "134217728";

/// Copies the write-ahead log back into the database file, on a connection of its own, beside
/// the writer. SQLite's own checkpoint runs on the committing connection whenever the log passes
/// 1,000 pages: at 10,000 chat messages a second that was every few commits, and each of those
/// commits waited for the database file's fsync (15 ms here) while nothing else could commit. A
/// passive checkpoint waits for nobody and nobody waits for it; every commit is still fsynced to
/// the log before it is acknowledged, so durability is the same.
async fn checkpoint_forever(mut conn: sqlx::SqliteConnection) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::warn!(error = %e, "copying the write-ahead log into the database");
        }
    }
}

/// A pool of one backend; `impl_store!` gives each backend its `Store`.
struct SqlStore<DB: Database> {
    /// For reads.
    pool: Pool<DB>,
    /// For writes: on SQLite a pool of one connection, on PostgreSQL the same pool.
    writer: Pool<DB>,
    /// For the search indexer's reads: on SQLite a connection of its own beside the writer and
    /// the readers (its batches never wait for a reader, nor fill the readers' caches), on
    /// PostgreSQL the same pool.
    indexing: Pool<DB>,
    /// The group commit for messages and new customers (see `GroupWriter`).
    group: GroupWriter,
    /// The audit line this view writes with its next audited write (`Store::audited`).
    audit: Option<Arc<super::AuditEntry>>,
}

/// Maps sqlx errors onto the store's: a missing row is `NotFound`, a broken unique constraint a
/// `Conflict` naming it, and a broken foreign key `NotFound` too (the row it points at is not
/// there, or belongs to another account: every reference includes `account_id`).
fn db(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict {
            constraint: e.constraint().map(str::to_string).unwrap_or_else(|| {
                sqlite_constraint(
                    e.message(),
                    e.code().as_deref() == Some(SQLITE_CONSTRAINT_PRIMARYKEY),
                )
            }),
        },
        sqlx::Error::Database(e) if e.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(error),
    }
}

/// SQLite's extended result code for a duplicate primary key (a plain UNIQUE one is 2067).
const SQLITE_CONSTRAINT_PRIMARYKEY: &str = "1555";

/// SQLite names the columns, not the constraint: "UNIQUE constraint failed: queues.account_id,
/// queues.name" becomes `queues_account_id_name_key` (or `<table>_pkey` for a primary key), the
/// name PostgreSQL gives that constraint.
fn sqlite_constraint(message: &str, primary_key: bool) -> String {
    let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ") else {
        return message.to_string();
    };
    let table = columns.split_once('.').map_or("", |(t, _)| t);
    if primary_key {
        return format!("{table}_pkey");
    }
    let mut name = table.to_string();
    for qualified in columns.split(", ") {
        name.push('_');
        name.push_str(qualified.split_once('.').map_or(qualified, |(_, column)| column));
    }
    name + "_key"
}

/// Escapes LIKE's wildcards so a search for "50%" looks for those characters.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Identity values as the store keys them. Callers normalise already; lower-casing email again
/// keeps one customer per address even when a caller forgets.
fn identity_key(kind: &str, value: &str) -> (String, String) {
    let value = value.trim();
    let value = if kind == "email" {
        value.to_lowercase()
    } else {
        value.to_string()
    };
    (kind.to_string(), value)
}

/// The customer `resolve_customer` leaves behind: `existing` (or a new one) with its name filled
/// in and its first email and phone taken from the identities being attached.
fn resolved_customer(
    existing: Option<Customer>,
    attach: &[(String, String)],
    name: Option<&str>,
    now: Millis,
) -> Customer {
    let mut c = existing.unwrap_or_else(|| Customer {
        id: CustomerId::new(),
        name: String::new(),
        email: None,
        phone: None,
        tier: None,
        owner_id: None,
        owner_name: None,
        home_owner_id: None,
        former_owner: None,
        tags: vec![],
        fields: Default::default(),
        stage: None,
        created_at: now,
        claimed: None,
    });
    if c.name.trim().is_empty() {
        let given = name.map(str::trim).filter(|n| !n.is_empty());
        let fallback = attach.first().map(|(_, v)| v.as_str());
        c.name = given.or(fallback).unwrap_or(&c.name).to_string();
    }
    for (kind, value) in attach {
        match kind.as_str() {
            "email" if c.email.is_none() => c.email = Some(value.clone()),
            "phone" if c.phone.is_none() => c.phone = Some(value.clone()),
            _ => {}
        }
    }
    c
}

/// What `interaction.queued` says of a new interaction.
fn queued_data(i: &Interaction) -> serde_json::Value {
    serde_json::json!({
        "queue_id": i.queue_id,
        "channel": i.channel.as_str(),
        "priority": i.priority,
        "entry_point": i.entry_point,
        "offline": i.offline,
    })
}

/// Event data as stored: always a JSON object, `{}` when there is nothing to add.
fn event_data(data: &serde_json::Value) -> String {
    if data.is_null() {
        "{}".to_string()
    } else {
        to_json(data)
    }
}

/// One `impl Store` body for a backend. `$begin` is the statement that opens a write transaction;
/// `$writes` the backend's `WriteBatch`.
macro_rules! impl_store {
    ($db:ty, $migrations:expr, $begin:literal, $fence_token:expr, $writes:expr) => {
        impl SqlStore<$db> {
            async fn write(&self) -> Result<sqlx::Transaction<'static, $db>> {
                self.writer.begin_with($begin).await.map_err(db)
            }

            /// Appends one message inside the caller's transaction, in a savepoint of its own.
            async fn append_in(
                conn: &mut <$db as Database>::Connection,
                account: AccountId,
                m: NewMessage,
                at: Millis,
            ) -> Result<(Message, bool)> {
                use sqlx::Connection;
                let mut tx = conn.begin().await.map_err(db)?;
                // Locking the interaction first, so a resend racing its original sees the
                // original's row once it gets the lock, and two appends take two seqs.
                let locked = sqlx::query(q::LOCK_INTERACTION)
                    .bind(account.to_string())
                    .bind(m.interaction_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if locked.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let seq: i64 = sqlx::query_scalar(q::NEXT_SEQ)
                    .bind(m.interaction_id.to_string())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                let stored = sqlx::query_as::<_, MessageRow>(q::MESSAGE_BY_CLIENT_ID)
                    .bind(account.to_string())
                    .bind(m.interaction_id.to_string())
                    .bind(m.sender.as_str())
                    .bind(&m.client_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                if let Some(stored) = stored {
                    // A resend: give the seq back.
                    tx.rollback().await.map_err(db)?;
                    return Ok((stored.try_into()?, false));
                }
                let message = Message {
                    id: MessageId::new(),
                    interaction_id: m.interaction_id,
                    seq,
                    sender: m.sender,
                    agent_id: m.agent_id,
                    body: m.body,
                    client_id: m.client_id,
                    created_at: at,
                    channel: None,
                };
                sqlx::query(q::INSERT_MESSAGE)
                    .bind(message.id.to_string())
                    .bind(account.to_string())
                    .bind(message.interaction_id.to_string())
                    .bind(message.seq)
                    .bind(message.sender.as_str())
                    .bind(message.agent_id.map(|a| a.to_string()))
                    .bind(&message.body)
                    .bind(&message.client_id)
                    .bind(message.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok((message, true))
            }

            /// The writes of one commit, inside the caller's transaction, in the four statements
            /// of `$writes` whatever their number: the interactions that change read under their
            /// locks, the steps applied here in order, then new interactions, final states and
            /// every log line written. Answers what each write left (see `Store::commit`); an
            /// illegal step or an unknown interaction fails them all.
            async fn write_all(
                tx: &mut <$db as Database>::Connection,
                writes: &[Write],
            ) -> Result<Vec<Option<Interaction>>> {
                use serde_json::json;
                use std::collections::{HashMap, HashSet};
                let key = |a: &AccountId, i: &InteractionId| (a.to_string(), i.to_string());
                let mut opened = HashSet::new();
                let mut wanted = HashSet::new();
                for w in writes {
                    match w {
                        Write::Open { account, interaction } => {
                            opened.insert(key(account, &interaction.id));
                        }
                        Write::Transition { account, id, .. } => {
                            let k = key(account, id);
                            if !opened.contains(&k) {
                                wanted.insert(k);
                            }
                        }
                        Write::Log { .. } | Write::Presence { .. } | Write::Forwarded { .. } => {}
                    }
                }
                let mut current: HashMap<(String, String), Interaction> = HashMap::new();
                if !wanted.is_empty() {
                    let rows: Vec<serde_json::Value> =
                        wanted.iter().map(|(a, i)| json!({"a": a, "i": i})).collect();
                    for row in sqlx::query_as::<_, InteractionRow>($writes.lock)
                        .bind(serde_json::Value::Array(rows).to_string())
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?
                    {
                        let (account, i) = row.into_owned()?;
                        current.insert(key(&account, &i.id), i);
                    }
                }
                let (mut opens, mut events, mut changed) = (Vec::new(), Vec::new(), HashSet::new());
                let (mut presence, mut forwarded) = (Vec::new(), Vec::new());
                let mut done = Vec::with_capacity(writes.len());
                for w in writes {
                    match w {
                        Write::Open { account, interaction: i } => {
                            opens.push(json!({
                                "i": i.id.to_string(), "a": account.to_string(),
                                "c": i.customer_id.to_string(), "ch": i.channel.as_str(),
                                "q": i.queue_id.to_string(), "s": i.state.as_str(), "p": i.priority,
                                "t": i.arrived_at, "e": i.entry_point, "o": i.offline,
                                "cb": i.callback.as_ref().map(to_json),
                            }));
                            events.push(json!({
                                "a": account.to_string(), "i": i.id.to_string(),
                                "k": QUEUED, "d": event_data(&queued_data(i)), "t": i.arrived_at,
                            }));
                            current.insert(key(account, &i.id), i.clone());
                            done.push(Some(i.clone()));
                        }
                        Write::Log { account, id, kind, data, at } => {
                            events.push(json!({
                                "a": account.to_string(), "i": id.to_string(),
                                "k": kind, "d": event_data(data), "t": at,
                            }));
                            done.push(None);
                        }
                        Write::Presence { account, agent, state, at } => {
                            presence.push(json!({
                                "a": account.to_string(), "g": agent.to_string(),
                                "s": state.word(), "r": state.reason(), "t": at,
                            }));
                            done.push(None);
                        }
                        Write::Forwarded { node, id, at } => {
                            forwarded.push(json!({"n": node, "r": id, "t": at}));
                            done.push(None);
                        }
                        Write::Transition { account, id, event, details, at } => {
                            let k = key(account, id);
                            let i = current.get_mut(&k).ok_or(StoreError::NotFound)?;
                            apply_transition(i, *event, details, *at)?;
                            events.push(json!({
                                "a": k.0, "i": k.1,
                                "k": event.log_type(), "d": event_data(&details.data), "t": at,
                            }));
                            done.push(Some(i.clone()));
                            changed.insert(k);
                        }
                    }
                }
                let run = |sql: &'static str, rows: Vec<serde_json::Value>| {
                    sqlx::query(sql).bind(serde_json::Value::Array(rows).to_string())
                };
                if !opens.is_empty() {
                    run($writes.open, opens).execute(&mut *tx).await.map_err(db)?;
                }
                if !changed.is_empty() {
                    let states = changed
                        .iter()
                        .map(|k| {
                            let i = &current[k];
                            json!({
                                "a": k.0, "i": k.1, "s": i.state.as_str(),
                                "q": i.queue_id.to_string(), "g": i.agent_id.map(|a| a.to_string()),
                                "d": i.disposition, "w": i.wrap_up_note, "x": i.ended_at,
                                "o": i.offline, "cb": i.callback.as_ref().map(to_json),
                                "z": i.snoozed_until,
                            })
                        })
                        .collect();
                    run($writes.update, states).execute(&mut *tx).await.map_err(db)?;
                }
                if !events.is_empty() {
                    run($writes.events, events).execute(&mut *tx).await.map_err(db)?;
                }
                if !presence.is_empty() {
                    run($writes.presence, presence).execute(&mut *tx).await.map_err(db)?;
                }
                if !forwarded.is_empty() {
                    run($writes.forwarded, forwarded).execute(&mut *tx).await.map_err(db)?;
                }
                Ok(done)
            }

            /// The row of `account` that a key (an id, or a queue's name) picks, as a domain type.
            async fn one<'e, R, T>(
                executor: impl sqlx::Executor<'e, Database = $db>,
                sql: &'static str,
                account: AccountId,
                key: String,
            ) -> Result<T>
            where
                R: for<'r> sqlx::FromRow<'r, <$db as Database>::Row> + Send + Unpin,
                T: TryFrom<R, Error = StoreError>,
            {
                let query = sqlx::query_as::<_, R>(sql)
                    .bind(account.to_string())
                    .bind(key);
                query.fetch_one(executor).await.map_err(db)?.try_into()
            }

            /// The rows of `account`, or those under one key (a customer's notes...), in order.
            async fn many<R, T>(
                &self,
                sql: &'static str,
                account: AccountId,
                key: Option<String>,
            ) -> Result<Vec<T>>
            where
                R: for<'r> sqlx::FromRow<'r, <$db as Database>::Row> + Send + Unpin,
                T: TryFrom<R, Error = StoreError>,
            {
                let mut query = sqlx::query_as::<_, R>(sql).bind(account.to_string());
                if let Some(key) = key {
                    query = query.bind(key);
                }
                all(query.fetch_all(&self.pool).await.map_err(db)?)
            }

            async fn write_customer<'e, E>(
                executor: E,
                account: AccountId,
                c: &Customer,
                now: Millis,
            ) -> Result<()>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let done = sqlx::query(q::UPDATE_CUSTOMER)
                    .bind(account.to_string())
                    .bind(c.id.to_string())
                    .bind(&c.name)
                    .bind(c.name.to_lowercase() + &crate::crm::fields::search_text(&c.fields))
                    .bind(&c.email)
                    .bind(&c.phone)
                    .bind(&c.tier)
                    .bind(to_json(&c.tags))
                    .bind(now)
                    .bind(to_json(&c.fields))
                    .execute(executor)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            }

            /// The customer all these identities already belong to, when resolving would change
            /// nothing (no identity to attach, no name to fill in); `None` when it would.
            async fn known_customer(
                &self,
                account: AccountId,
                identities: &[(String, String)],
                name: Option<&str>,
            ) -> Result<Option<Customer>> {
                let mut owner: Option<String> = None;
                for (kind, value) in identities.iter().map(|(k, v)| identity_key(k, v)) {
                    let found: Option<String> = sqlx::query_scalar(q::IDENTITY_OWNER)
                        .bind(account.to_string())
                        .bind(&kind)
                        .bind(&value)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db)?;
                    match found {
                        Some(customer) if owner.as_ref().is_none_or(|o| *o == customer) => {
                            owner = Some(customer)
                        }
                        _ => return Ok(None),
                    }
                }
                let Some(id) = owner else { return Ok(None) };
                let existing: Customer =
                    Self::one::<CustomerRow, _>(&self.pool, q::CUSTOMER, account, id).await?;
                let resolved = resolved_customer(Some(existing.clone()), &[], name, now_millis());
                Ok((resolved == existing).then_some(existing))
            }

            /// One attempt at `resolve_customer` inside the caller's transaction, in a savepoint
            /// of its own; a `Conflict` means a concurrent transaction attached one of the
            /// identities first (PostgreSQL), and the caller tries again.
            async fn resolve_in(
                conn: &mut <$db as Database>::Connection,
                account: AccountId,
                identities: &[(String, String)],
                name: Option<&str>,
            ) -> Result<Customer> {
                use sqlx::Connection;
                let now = now_millis();
                let mut tx = conn.begin().await.map_err(db)?;
                let mut owner: Option<String> = None;
                let mut unknown: Vec<(String, String)> = vec![];
                for (kind, value) in identities.iter().map(|(k, v)| identity_key(k, v)) {
                    let found: Option<String> = sqlx::query_scalar(q::IDENTITY_OWNER)
                        .bind(account.to_string())
                        .bind(&kind)
                        .bind(&value)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                    match found {
                        Some(customer) => {
                            owner.get_or_insert(customer);
                        }
                        None if !unknown.contains(&(kind.clone(), value.clone())) => {
                            unknown.push((kind, value))
                        }
                        None => {}
                    }
                }
                let existing = match owner {
                    Some(id) => Some(Self::one::<CustomerRow, _>(&mut *tx, q::CUSTOMER, account, id).await?),
                    None => None,
                };
                let customer = resolved_customer(existing.clone(), &unknown, name, now);
                if existing.is_none() {
                    sqlx::query(q::INSERT_CUSTOMER)
                        .bind(customer.id.to_string())
                        .bind(account.to_string())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                if existing.as_ref() != Some(&customer) {
                    Self::write_customer(&mut *tx, account, &customer, now).await?;
                }
                for (kind, value) in &unknown {
                    sqlx::query(q::INSERT_IDENTITY)
                        .bind(account.to_string())
                        .bind(kind)
                        .bind(value)
                        .bind(customer.id.to_string())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)?;
                Ok(customer)
            }

            async fn interactions_in(
                &self,
                states: [InteractionState; 2],
            ) -> Result<Vec<(AccountId, Interaction)>> {
                sqlx::query_as::<_, InteractionRow>(q::INTERACTIONS_IN_STATES)
                    .bind(states[0].as_str())
                    .bind(states[1].as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?
                    .into_iter()
                    .map(InteractionRow::into_owned)
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl Store for SqlStore<$db> {
            fn audited(&self, entry: super::AuditEntry) -> DynStore {
                Arc::new(SqlStore {
                    pool: self.pool.clone(),
                    writer: self.writer.clone(),
                    indexing: self.indexing.clone(),
                    group: self.group.clone(),
                    audit: Some(Arc::new(entry)),
                })
            }

            async fn migrate(&self) -> Result<()> {
                $migrations.run(&self.writer).await?;
                sqlx::query(q::INSERT_ACCOUNT)
                    .bind(AccountId::DEFAULT.to_string())
                    .bind("Default")
                    .bind(now_millis())
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            // --- agents and their sessions ---

            async fn create_agent(&self, account: AccountId, new: NewAgent) -> Result<Agent> {
                let mut tx = self.write().await?;
                let agent = Agent {
                    id: AgentId::new(),
                    account_id: account,
                    email: new.email.trim().to_lowercase(),
                    name: new.name,
                    role: new.role,
                    locale: new.locale,
                    skills: new.skills,
                    capacity: new.capacity,
                    active: true,
                    device: Default::default(),
                    display_name: None,
                    avatar_at: None,
                };
                sqlx::query(q::INSERT_AGENT)
                    .bind(agent.id.to_string())
                    .bind(account.to_string())
                    .bind(&agent.email)
                    .bind(&agent.name)
                    .bind(agent.role.as_str())
                    .bind(&agent.locale)
                    .bind(to_json(&agent.skills))
                    .bind(to_json(&agent.capacity))
                    .bind(&new.password_hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await?;
                Ok(agent)
            }

            async fn update_agent(
                &self,
                account: AccountId,
                id: AgentId,
                patch: AgentPatch,
            ) -> Result<Agent> {
                let mut tx = self.write().await?;
                let agent: Agent = sqlx::query_as::<_, AgentRow>(q::UPDATE_AGENT)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(patch.name)
                    .bind(patch.role.map(|r| r.as_str()))
                    .bind(patch.locale)
                    .bind(patch.skills.as_ref().map(to_json))
                    .bind(patch.capacity.as_ref().map(to_json))
                    .bind(patch.password_hash)
                    .bind(patch.device.map(|d| d.as_str()))
                    .bind(patch.display_name.map(|n| n.trim().to_owned()))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?
                    .try_into()?;
                self.commit_audited(tx).await?;
                Ok(agent)
            }

            async fn agent(&self, account: AccountId, id: AgentId) -> Result<Agent> {
                Self::one::<AgentRow, _>(&self.pool, q::AGENT, account, id.to_string()).await
            }

            async fn agent_by_email(&self, email: &str) -> Result<(Agent, String)> {
                let row = sqlx::query_as::<_, AgentLoginRow>(q::AGENT_BY_EMAIL)
                    .bind(email.trim().to_lowercase())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok((row.agent.try_into()?, row.password_hash))
            }

            async fn agents(&self, account: AccountId) -> Result<Vec<Agent>> {
                self.many::<AgentRow, _>(q::AGENTS, account, None).await
            }

            async fn count_agents(&self, account: AccountId) -> Result<u64> {
                let n: i64 = sqlx::query_scalar(q::COUNT_AGENTS)
                    .bind(account.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(n.max(0) as u64)
            }

            async fn set_agent_deactivated(
                &self,
                account: AccountId,
                id: AgentId,
                at: Option<Millis>,
            ) -> Result<Agent> {
                let mut tx = self.write().await?;
                let agent: Agent = sqlx::query_as::<_, AgentRow>(q::SET_AGENT_DEACTIVATED)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?
                    .try_into()?;
                self.commit_audited(tx).await?;
                Ok(agent)
            }

            async fn set_avatar(
                &self,
                account: AccountId,
                id: AgentId,
                avatar: Option<Avatar>,
                at: Millis,
            ) -> Result<Agent> {
                let (content_type, bytes) = avatar.map(|a| (a.content_type, a.bytes)).unzip();
                let mut tx = self.write().await?;
                let agent: Agent = sqlx::query_as::<_, AgentRow>(q::SET_AVATAR)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(bytes)
                    .bind(&content_type)
                    .bind(content_type.as_ref().map(|_| at))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?
                    .try_into()?;
                self.commit_audited(tx).await?;
                Ok(agent)
            }

            async fn avatar(&self, id: AgentId) -> Result<Avatar> {
                let (content_type, bytes): (String, Vec<u8>) = sqlx::query_as(q::AVATAR)
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(Avatar { content_type, bytes })
            }

            async fn create_session(&self, session: NewSession<'_>) -> Result<()> {
                sqlx::query(q::INSERT_SESSION)
                    .bind(session.token_hash)
                    .bind(session.agent.account_id.to_string())
                    .bind(session.agent.id.to_string())
                    .bind(session.expires_at)
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(session.created_at)
                    .bind(session.client_addr)
                    .bind(session.user_agent)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn session_agent(&self, token_hash: &[u8], now: Millis) -> Result<LiveSession> {
                sqlx::query_as::<_, LiveSessionRow>(q::SESSION_AGENT)
                    .bind(token_hash)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?
                    .try_into()
            }

            async fn touch_session(&self, token_hash: &[u8], at: Millis) -> Result<()> {
                sqlx::query(q::TOUCH_SESSION)
                    .bind(token_hash)
                    .bind(at)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn sessions(
                &self,
                account: AccountId,
                agent: AgentId,
                now: Millis,
            ) -> Result<Vec<SessionInfo>> {
                let rows = sqlx::query_as::<_, SessionRow>(q::SESSIONS)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(rows.into_iter().map(SessionInfo::from).collect())
            }

            async fn end_session(&self, account: AccountId, agent: AgentId, id: &str) -> Result<()> {
                let mut tx = self.write().await?;
                let done = sqlx::query(q::END_SESSION)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await?;
                Ok(())
            }

            async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
                sqlx::query(q::DELETE_SESSION)
                    .bind(token_hash)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn end_sessions(&self, account: AccountId, agent: AgentId, keep: Option<&[u8]>) -> Result<u64> {
                let mut tx = self.write().await?;
                let done = sqlx::query(q::END_SESSIONS)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .bind(keep.unwrap_or_default())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await?;
                Ok(done.rows_affected())
            }

            async fn prune_sessions(&self, now: Millis) -> Result<u64> {
                let done = sqlx::query(q::PRUNE_SESSIONS)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected())
            }

            // --- configuration ---

            async fn create_queue(&self, account: AccountId, spec: QueueSpec) -> Result<Queue> {
                let id = QueueId::new();
                self.write_queue(q::INSERT_QUEUE, account, id, &spec)
                    .await?;
                Ok(queue_from_spec(account, id, spec))
            }

            async fn update_queue(&self, account: AccountId, id: QueueId, spec: QueueSpec) -> Result<Queue> {
                self.write_queue(q::UPDATE_QUEUE, account, id, &spec)
                    .await?;
                Ok(queue_from_spec(account, id, spec))
            }

            async fn queue(&self, account: AccountId, id: QueueId) -> Result<Queue> {
                Self::one::<QueueRow, _>(&self.pool, q::QUEUE, account, id.to_string()).await
            }

            async fn queue_by_name(&self, account: AccountId, name: &str) -> Result<Queue> {
                Self::one::<QueueRow, _>(&self.pool, q::QUEUE_BY_NAME, account, name.into()).await
            }

            async fn queues(&self, account: AccountId) -> Result<Vec<Queue>> {
                self.many::<QueueRow, _>(q::QUEUES, account, None).await
            }

            async fn upsert_disposition(&self, account: AccountId, d: Disposition) -> Result<()> {
                let mut tx = self.write().await?;
                sqlx::query(q::UPSERT_DISPOSITION)
                    .bind(account.to_string())
                    .bind(&d.code)
                    .bind(&d.label)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await?;
                Ok(())
            }

            async fn delete_disposition(&self, account: AccountId, code: &str) -> Result<()> {
                let mut tx = self.write().await?;
                let done = sqlx::query(q::DELETE_DISPOSITION)
                    .bind(account.to_string())
                    .bind(code)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await
            }

            async fn dispositions(&self, account: AccountId) -> Result<Vec<Disposition>> {
                self.many::<DispositionRow, _>(q::DISPOSITIONS, account, None)
                    .await
            }

            async fn create_phone(&self, account: AccountId, new: NewPhone) -> Result<Phone> {
                let mut tx = self.write().await?;
                let phone = Phone {
                    id: PhoneId::new(),
                    agent_id: new.agent_id,
                    username: new.username,
                    realm: new.realm,
                    created_at: now_millis(),
                };
                sqlx::query(q::INSERT_PHONE)
                    .bind(phone.id.to_string())
                    .bind(account.to_string())
                    .bind(phone.agent_id.to_string())
                    .bind(&phone.username)
                    .bind(&phone.realm)
                    .bind(&new.ha1_md5)
                    .bind(&new.ha1_sha256)
                    .bind(phone.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await?;
                Ok(phone)
            }

            async fn phones(&self, account: AccountId) -> Result<Vec<Phone>> {
                self.many::<PhoneRow, _>(q::PHONES, account, None).await
            }

            async fn delete_phone(&self, account: AccountId, id: PhoneId) -> Result<Phone> {
                let mut tx = self.write().await?;
                let phone: Phone = sqlx::query_as::<_, PhoneRow>(q::DELETE_PHONE)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?
                    .try_into()?;
                // Its registrations go with it: a phone of the same name added later is another
                // device, to be found where it registers.
                sqlx::query(q::UNBIND_USERNAME)
                    .bind(&phone.username)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await?;
                Ok(phone)
            }

            async fn phone_secrets(&self) -> Result<Vec<NewPhone>> {
                let rows = sqlx::query_as::<_, PhoneSecretRow>(q::PHONE_SECRETS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                all(rows)
            }

            async fn update_bindings(&self, updates: &[BindingUpdate]) -> Result<()> {
                if updates.is_empty() {
                    return Ok(());
                }
                let mut tx = self.write().await?;
                for update in updates {
                    let query = match update {
                        BindingUpdate::Bound(b) => sqlx::query(q::BIND_PHONE)
                            .bind(&b.aor)
                            .bind(&b.contact)
                            .bind(&b.username)
                            .bind(b.q.map(i32::from))
                            .bind(b.expires_at),
                        BindingUpdate::Removed {
                            aor,
                            contact: Some(contact),
                        } => sqlx::query(q::UNBIND_PHONE).bind(aor).bind(contact),
                        BindingUpdate::Removed { aor, contact: None } => sqlx::query(q::UNBIND_AOR).bind(aor),
                        BindingUpdate::Lapsed { aor, contact, at } => sqlx::query(q::LAPSE_BINDING)
                            .bind(aor)
                            .bind(contact)
                            .bind(*at),
                    };
                    query.execute(&mut *tx).await.map_err(db)?;
                }
                tx.commit().await.map_err(db)
            }

            async fn phone_bindings(
                &self,
                account: AccountId,
                agent: AgentId,
                now: Millis,
            ) -> Result<Vec<PhoneBinding>> {
                let rows = sqlx::query_as::<_, PhoneBindingRow>(q::PHONE_BINDINGS)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                all(rows)
            }

            // --- customers ---

            async fn resolve_customer(
                &self,
                account: AccountId,
                identities: &[(String, String)],
                name: Option<&str>,
            ) -> Result<Customer> {
                // A customer another node inserted meanwhile (PostgreSQL) makes this one's insert
                // fail on the identity; the next attempt finds it.
                let mut attempt = 1;
                loop {
                    let result = if self.group.resolves() {
                        // Most contacts come from customers already known: a read tells, and only
                        // what must change waits for the writer.
                        if let Some(known) = self.known_customer(account, identities, name).await? {
                            return Ok(known);
                        }
                        self.group
                            .resolve(account, identities.to_vec(), name.map(str::to_owned))
                            .await
                    } else {
                        let mut tx = self.write().await?;
                        match Self::resolve_in(&mut tx, account, identities, name).await {
                            Ok(customer) => tx.commit().await.map_err(db).map(|()| customer),
                            Err(e) => Err(e),
                        }
                    };
                    match result {
                        Err(StoreError::Conflict { .. }) if attempt < RESOLVE_ATTEMPTS => attempt += 1,
                        result => return result,
                    }
                }
            }

            async fn customer(&self, account: AccountId, id: CustomerId) -> Result<Customer> {
                Self::one::<CustomerRow, _>(&self.pool, q::CUSTOMER, account, id.to_string()).await
            }

            async fn merge_customer(
                &self,
                account: AccountId,
                from: CustomerId,
                into: CustomerId,
                log: &[Write],
            ) -> Result<Customer> {
                if from == into {
                    return Err(StoreError::Conflict {
                        constraint: "a customer merged into itself".into(),
                    });
                }
                let mut tx = self.write().await?;
                let gone: Customer =
                    Self::one::<CustomerRow, _>(&mut *tx, q::CUSTOMER, account, from.to_string()).await?;
                let mut kept: Customer =
                    Self::one::<CustomerRow, _>(&mut *tx, q::CUSTOMER, account, into.to_string()).await?;
                for sql in q::MERGE_CUSTOMER {
                    sqlx::query(sql)
                        .bind(account.to_string())
                        .bind(from.to_string())
                        .bind(into.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                kept.email = kept.email.or(gone.email);
                kept.phone = kept.phone.or(gone.phone);
                // The account's own fields: the kept customer's values win, the others join them.
                for (key, value) in gone.fields {
                    kept.fields.entry(key).or_insert(value);
                }
                kept.stage = kept.stage.or(gone.stage);
                if kept.owner_id.is_none() {
                    kept.owner_id = gone.owner_id;
                    kept.owner_name = gone.owner_name;
                    kept.home_owner_id = gone.home_owner_id;
                }
                Self::write_customer(&mut *tx, account, &kept, now_millis()).await?;
                Self::write_all(&mut tx, log).await?;
                tx.commit().await.map_err(db)?;
                Ok(kept)
            }

            async fn set_claim(&self, account: AccountId, id: CustomerId, claim: &crate::domain::Claim) -> Result<()> {
                let done = sqlx::query(q::SET_CLAIM)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(to_json(claim))
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn update_customer(
                &self,
                account: AccountId,
                id: CustomerId,
                patch: CustomerPatch,
            ) -> Result<Customer> {
                let mut tx = self.write().await?;
                let mut c: Customer =
                    Self::one::<CustomerRow, _>(&mut *tx, q::CUSTOMER, account, id.to_string()).await?;
                patch_customer(&mut c, patch);
                Self::write_customer(&mut *tx, account, &c, now_millis()).await?;
                tx.commit().await.map_err(db)?;
                Ok(c)
            }

            async fn search_customers(
                &self,
                account: AccountId,
                query: &str,
                limit: u32,
            ) -> Result<Vec<Customer>> {
                let query = query.trim();
                let lower = query.to_lowercase();
                let rows = sqlx::query_as::<_, CustomerRow>(q::SEARCH_CUSTOMERS)
                    .bind(account.to_string())
                    .bind(format!("%{}%", like_escape(&lower)))
                    .bind(query)
                    .bind(&lower)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                all(rows)
            }

            async fn customer_interactions(
                &self,
                account: AccountId,
                id: CustomerId,
                limit: u32,
            ) -> Result<Vec<Interaction>> {
                let rows = sqlx::query_as::<_, InteractionRow>(q::CUSTOMER_INTERACTIONS)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                all(rows)
            }

            async fn add_note(
                &self,
                account: AccountId,
                customer: CustomerId,
                interaction: Option<InteractionId>,
                agent: AgentId,
                body: &str,
            ) -> Result<Note> {
                let created_at = now_millis();
                let id: i64 = sqlx::query_scalar(q::INSERT_NOTE)
                    .bind(account.to_string())
                    .bind(customer.to_string())
                    .bind(interaction.map(|i| i.to_string()))
                    .bind(agent.to_string())
                    .bind(body)
                    .bind(created_at)
                    .fetch_one(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(Note {
                    id,
                    customer_id: customer,
                    interaction_id: interaction,
                    agent_id: agent,
                    body: body.into(),
                    created_at,
                })
            }

            async fn notes(&self, account: AccountId, customer: CustomerId) -> Result<Vec<Note>> {
                self.many::<NoteRow, _>(q::NOTES, account, Some(customer.to_string()))
                    .await
            }

            // --- interactions ---

            async fn interaction(&self, account: AccountId, id: InteractionId) -> Result<Interaction> {
                Self::one::<InteractionRow, _>(&self.pool, q::INTERACTION, account, id.to_string()).await
            }

            async fn commit(&self, fence: Option<i64>, writes: &[Write]) -> Result<Vec<Option<Interaction>>> {
                let mut tx = self.write().await?;
                if let Some(token) = fence {
                    let current: i64 = sqlx::query_scalar($fence_token)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                    if current != token {
                        return Err(StoreError::Deposed { token, current });
                    }
                }
                let done = Self::write_all(&mut tx, writes).await?;
                // An illegal step returned above; dropping `tx` rolled everything back.
                tx.commit().await.map_err(db)?;
                Ok(done)
            }

            async fn fence(&self, token: i64) -> Result<()> {
                let raised = sqlx::query(q::RAISE_FENCE)
                    .bind(token)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?
                    .rows_affected();
                if raised == 0 {
                    let current: i64 = sqlx::query_scalar(q::FENCE_TOKEN)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(db)?;
                    return Err(StoreError::Deposed { token, current });
                }
                Ok(())
            }

            async fn forwarded(&self, node: &str, id: u64) -> Result<bool> {
                let found: i64 = sqlx::query_scalar(q::FORWARDED)
                    .bind(node)
                    .bind(id as i64)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(found > 0)
            }

            async fn prune_forwarded(&self, before: Millis) -> Result<u64> {
                let pruned = sqlx::query(q::PRUNE_FORWARDED)
                    .bind(before)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(pruned.rows_affected())
            }

            async fn events(&self, account: AccountId, id: InteractionId) -> Result<Vec<EventRecord>> {
                self.many::<EventRow, _>(q::EVENTS, account, Some(id.to_string()))
                    .await
            }

            async fn waiting_interactions(&self) -> Result<Vec<(AccountId, Interaction)>> {
                self.interactions_in([InteractionState::Queued, InteractionState::Offered])
                    .await
            }

            async fn held_interactions(&self) -> Result<Vec<(AccountId, Interaction)>> {
                let held = self
                    .interactions_in([InteractionState::Active, InteractionState::WrapUp])
                    .await?;
                Ok(held
                    .into_iter()
                    .filter(|(_, i)| i.agent_id.is_some())
                    .collect())
            }

            async fn agent_interactions(
                &self,
                account: AccountId,
                agent: AgentId,
            ) -> Result<Vec<Interaction>> {
                let rows = sqlx::query_as::<_, InteractionRow>(q::AGENT_INTERACTIONS)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .bind(InteractionState::Active.as_str())
                    .bind(InteractionState::WrapUp.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                all(rows)
            }

            // --- messages ---

            async fn append_message(
                &self,
                account: AccountId,
                m: NewMessage,
                at: Millis,
            ) -> Result<(Message, bool)> {
                self.group.append_chat(account, m, at).await
            }

            async fn messages(
                &self,
                account: AccountId,
                id: InteractionId,
                after: i64,
            ) -> Result<Vec<Message>> {
                let rows = sqlx::query_as::<_, MessageRow>(q::MESSAGES)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(after)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let mut messages: Vec<Message> = all(rows)?;
                Self::with_parts(&self.pool, account, id, &mut messages).await?;
                Ok(messages)
            }

            // --- widget conversations ---

            async fn create_chat_session(
                &self,
                token_hash: &[u8],
                s: &ChatSession,
                at: Millis,
            ) -> Result<()> {
                sqlx::query(q::INSERT_CHAT_SESSION)
                    .bind(token_hash)
                    .bind(s.account_id.to_string())
                    .bind(s.customer_id.to_string())
                    .bind(s.interaction_id.to_string())
                    .bind(at)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn chat_session(&self, token_hash: &[u8]) -> Result<ChatSession> {
                sqlx::query_as::<_, ChatSessionRow>(q::CHAT_SESSION)
                    .bind(token_hash)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?
                    .try_into()
            }
        }

        impl SqlStore<$db> {
            /// Runs `INSERT_QUEUE` or `UPDATE_QUEUE` (same parameters); `NotFound` when it changed
            /// nothing.
            async fn write_queue(
                &self,
                sql: &'static str,
                account: AccountId,
                id: QueueId,
                s: &QueueSpec,
            ) -> Result<()> {
                let mut tx = self.write().await?;
                let done = sqlx::query(sql)
                    .bind(id.to_string())
                    .bind(account.to_string())
                    .bind(&s.name)
                    .bind(to_json(&s.required_skills))
                    .bind(s.priority)
                    .bind(i64::from(s.sl_target_secs))
                    .bind(s.max_wait_secs.map(i64::from))
                    .bind(s.overflow_queue.map(|q| q.to_string()))
                    .bind(i64::from(s.offer_timeout_secs))
                    .bind(i64::from(s.wrap_up_secs))
                    .bind(s.hours.as_ref().map(to_json))
                    .bind(s.callbacks.as_ref().map(to_json))
                    .bind(to_json(&s.tier_priority))
                    .bind(s.csat)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await
            }
        }
    };
}

// SQLite's writers never overlap; on PostgreSQL the row lock makes a new leader's `fence` wait
// for the commits of the old leader already under way.
impl_store!(
    Sqlite,
    SQLITE_MIGRATIONS,
    "BEGIN IMMEDIATE",
    q::FENCE_TOKEN,
    q::SQLITE_WRITES
);
impl_store!(
    Postgres,
    POSTGRES_MIGRATIONS,
    "BEGIN",
    q::FENCE_TOKEN_SHARED,
    q::POSTGRES_WRITES
);

fn queue_from_spec(account: AccountId, id: QueueId, s: QueueSpec) -> Queue {
    Queue {
        id,
        account_id: account,
        name: s.name,
        required_skills: s.required_skills,
        priority: s.priority,
        sl_target_secs: s.sl_target_secs,
        max_wait_secs: s.max_wait_secs,
        overflow_queue: s.overflow_queue,
        offer_timeout_secs: s.offer_timeout_secs,
        wrap_up_secs: s.wrap_up_secs,
        hours: s.hours,
        callbacks: s.callbacks,
        tier_priority: s.tier_priority,
        csat: s.csat,
    }
}

/// Applies an edit; `None` leaves a field alone and an empty tier clears it.
fn patch_customer(c: &mut Customer, patch: CustomerPatch) {
    if let Some(name) = patch.name {
        c.name = name.trim().to_string();
    }
    if let Some(tier) = patch.tier {
        c.tier = Some(tier.trim().to_string()).filter(|t| !t.is_empty());
    }
    if let Some(tags) = patch.tags {
        let mut tags: Vec<String> = tags
            .into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        tags.dedup();
        c.tags = tags;
    }
    // Checked by the caller (`crm::fields::check_values`); null takes a value away.
    for (key, value) in patch.fields.unwrap_or_default() {
        if value.is_null() {
            c.fields.remove(&key);
        } else {
            c.fields.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    /// The store's SQL relies on SQLite binding `$N` to the N-th argument, in any order and
    /// more than once, as PostgreSQL does.
    #[tokio::test]
    async fn sqlite_binds_dollar_placeholders_by_number() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let (a, b): (String, String) = sqlx::query_as("SELECT $2 || $1, $1 || $1")
            .bind("x")
            .bind("y")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("yx", "xx"));
    }

    /// Each pooled SQLite connection gets the durability and integrity settings, and a missing
    /// directory is created.
    #[tokio::test]
    async fn sqlite_connections_are_durable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/a/b/hub.db", dir.path().display());
        let (_, pool, _) = sqlite_pools(&url).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(
            (journal.as_str(), synchronous, foreign_keys, busy),
            ("wal", 2, 1, 5_000)
        );
        assert!(dir.path().join("a/b/hub.db").is_file());
    }

    /// The writer never stops to checkpoint; the checkpointer copies its commits into the database
    /// file within a few seconds.
    #[tokio::test]
    async fn the_writer_leaves_checkpoints_to_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.db");
        let (_, pool, _) = sqlite_pools(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let every: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(every, 0);
        sqlx::query("CREATE TABLE t (b BLOB)")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO t SELECT randomblob(4096) FROM n",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let started = std::time::Instant::now();
        while std::fs::metadata(&file).unwrap().len() < 8_000_000 {
            assert!(started.elapsed() < Duration::from_secs(10), "never checkpointed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The reads every contact makes find their rows by the customer's or the agent's index, not
    /// by walking the account's arrival index: without statistics SQLite's planner prefers an
    /// index that spares it a sort, and a call cost twice the CPU once the database held a few
    /// thousand contacts (docs/benchmarks.md, "Calls").
    #[tokio::test]
    async fn contact_reads_do_not_walk_the_accounts_history() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        SQLITE_MIGRATIONS.run(&mut conn).await.unwrap();
        for (query, index) in [
            (q::CUSTOMER_INTERACTIONS, "interactions_customer"),
            (q::AGENT_INTERACTIONS, "interactions_agent"),
            (channels::q::OPEN_CONVERSATION, "interactions_customer"),
        ] {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {query}")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let plan = rows
                .into_iter()
                .map(|(.., detail)| detail)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                plan.contains(&format!("USING INDEX {index} ")) && !plan.contains("interactions_arrival"),
                "{query}\n{plan}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_url_schemes_are_refused() {
        assert!(matches!(
            connect("mysql://localhost/x").await,
            Err(StoreError::Database(_))
        ));
    }

    #[test]
    fn sqlite_unique_errors_get_postgres_constraint_names() {
        assert_eq!(
            sqlite_constraint("UNIQUE constraint failed: agents.email", false),
            "agents_email_key"
        );
        assert_eq!(
            sqlite_constraint("UNIQUE constraint failed: queues.account_id, queues.name", false),
            "queues_account_id_name_key"
        );
        assert_eq!(
            sqlite_constraint("UNIQUE constraint failed: sessions.token_hash", true),
            "sessions_pkey"
        );
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn resolved_customer_keeps_a_name_and_fills_email_and_phone_once() {
        let attach = [("phone".to_string(), "+14155552671".to_string())];
        let new = resolved_customer(None, &attach, None, 1);
        assert_eq!(
            (new.name.as_str(), new.phone.as_deref()),
            ("+14155552671", Some("+14155552671"))
        );
        let named = resolved_customer(Some(new.clone()), &[], Some("Li Wei"), 2);
        assert_eq!(named.name, "+14155552671", "an existing name is kept");
        let blank = Customer {
            name: String::new(),
            ..new
        };
        assert_eq!(
            resolved_customer(Some(blank), &[], Some(" Li Wei "), 2).name,
            "Li Wei"
        );
    }
}
