//! `plugboard copy --from URL --to URL`: a whole site moved from one database into another, the
//! way off a single SQLite node onto PostgreSQL (or back). It sits outside the hub's flow: the hub
//! is stopped (or the source is a `plugboard backup` file), the target is migrated by the same
//! migrations `serve` runs, and every row comes across with its ids, timestamps and event order.
//!
//! Why a direct copy and not an export file: the SQLite database is already a portable,
//! self-describing file (`backup` makes one from a running hub), so a second dump format would
//! only add an encoding to get wrong (byte strings, 64-bit integers in JSON) and a version to
//! keep. The copy streams table by table in dependency order, so memory stays flat.
//!
//! Guarantees: the source is read in one snapshot; the target is written in one transaction, so
//! a failed copy leaves it empty; it refuses a target that holds anything, and sources and
//! targets whose migrations differ; the counters the databases number rows with (PostgreSQL
//! identity columns, SQLite `AUTOINCREMENT`) end past every copied id and past the source's own
//! high-water mark, so an id is never handed out twice. A table or column this code does not
//! know fails the copy instead of being left behind.

use super::{Conn, describe, redact};
use crate::domain::AccountId;
use anyhow::{Context, bail, ensure};
use futures_util::{Stream, TryStreamExt};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use std::collections::BTreeSet;

/// A table as the copy needs to know it beyond what the database says.
struct Table {
    name: &'static str,
    /// The order rows are read and written in: the key, so the copy's own order is the source's.
    order_by: &'static str,
    /// The column the database numbers by itself (identity / AUTOINCREMENT), if any.
    counter: Option<&'static str>,
    /// A column pointing into its own table (a queue's overflow queue): written by an UPDATE
    /// keyed on `id` once all the table's rows are in, since a row may point at a later one.
    self_reference: Option<&'static str>,
}

const fn table(name: &'static str, order_by: &'static str) -> Table {
    Table {
        name,
        order_by,
        counter: None,
        self_reference: None,
    }
}

const fn counted(name: &'static str, counter: &'static str) -> Table {
    Table {
        name,
        order_by: counter,
        counter: Some(counter),
        self_reference: None,
    }
}

/// Every table of migrations/sqlite and migrations/postgres, each after the tables it refers to.
const TABLES: [Table; 40] = [
    table("accounts", "id"),
    table("agents", "id"),
    // Login sessions come along: consoles stay logged in across the move.
    table("sessions", "token_hash"),
    Table {
        self_reference: Some("overflow_queue"),
        ..table("queues", "id")
    },
    table("dispositions", "account_id, code"),
    table("phones", "id"),
    // Where phones are registered: they stay reachable across the move, until they refresh.
    table("phone_bindings", "aor, contact"),
    table("customers", "id"),
    counted("identities", "id"),
    counted("interactions", "arrival_seq"),
    counted("interaction_events", "id"),
    table("messages", "interaction_id, seq"),
    counted("notes", "id"),
    table("chat_sessions", "token_hash"),
    // Email: what messages carry beyond text, the files (their bytes stay in the data directory:
    // copy `attachments/` along), what waits to be sent, and the mailboxes with their place.
    table("message_details", "message_id"),
    table("attachments", "id"),
    table("outbox", "message_id"),
    table("mailboxes", "id"),
    table("mailbox_sync", "mailbox_id"),
    table("inbound_failures", "id"),
    // Files agents uploaded for mails (their bytes in `attachments/` too).
    table("uploads", "id"),
    // Messaging apps' inboxes.
    table("inboxes", "id"),
    // Messaging apps' files still to fetch.
    table("media_fetches", "message_id"),
    // The agents' presence log, which reports read agent time from.
    counted("agent_events", "id"),
    // Customer relationships: customers' own logs, assignment rules, the account's own customer
    // fields, hand-overs, follow-ups.
    counted("customer_events", "id"),
    table("assignment_rules", "account_id"),
    table("customer_fields", "account_id"),
    // Saved customer searches.
    table("segments", "account_id, id"),
    table("handovers", "id"),
    table("follow_ups", "id"),
    // Customers' satisfaction ratings.
    table("csat_ratings", "account_id, interaction_id"),
    // The pipeline: the account's stages and who sees what, and the opportunities.
    table("pipeline_settings", "account_id"),
    table("opportunities", "id"),
    // Teams: who each supervisor oversees.
    table("teams", "id"),
    // The knowledge base (articles with the terms they are found by, written with them) and
    // canned responses.
    table("kb_articles", "id"),
    table("kb_terms", "account_id, term, article_id"),
    table("canned_responses", "id"),
    // The inbox: labels on conversations, and how far each agent has read each.
    table("interaction_labels", "interaction_id, label"),
    table("conversation_reads", "agent_id, interaction_id"),
    // The audit log of admins' and supervisors' actions: it moves with the site.
    table("audit_log", "id"),
];

/// Bookkeeping tables that are the database's or the migrator's, not the site's; and the routers'
/// fencing token and the record of requests forwarded to them, which belong to the nodes running
/// on a database (a new one starts at 0 with the row its migration made, and with no requests).
fn bookkeeping(table: &str) -> bool {
    ["_sqlx_migrations", "router_lease", "forwarded_requests"].contains(&table)
        || table.starts_with("sqlite_")
        || derived(table)
}

/// Derived tables, not copied: the search index (with FTS5's own tables on SQLite), which the
/// target's indexer builds again from the copied messages, and the reports' per-15-minute cells,
/// which the target's first report counts again from the copied logs.
fn derived(table: &str) -> bool {
    table.starts_with("message_search") || table.starts_with("search_") || table.starts_with("report_")
}

/// How a column's values are read and written; both schemas use only these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// SQLite INTEGER, PostgreSQL BIGINT.
    Int,
    /// PostgreSQL INT (32 bits).
    Int4,
    /// PostgreSQL BOOLEAN (SQLite keeps 0 and 1 in an INTEGER).
    Bool,
    Text,
    Blob,
}

#[derive(Debug)]
struct Column {
    name: String,
    kind: Kind,
    identity: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Blob(Vec<u8>),
}

/// What a copy moved.
#[derive(Debug)]
pub struct Copied {
    pub from: String,
    pub to: String,
    pub migrations: String,
    /// Rows per table, in the order they were written.
    pub tables: Vec<(&'static str, u64)>,
    /// Where each counter now stands in the target: the next id it hands out is past this.
    pub counters: Vec<(String, i64)>,
}

/// Rows per INSERT: well under both databases' limits on bound parameters (32,766 and 65,535).
const PARAMETERS_PER_INSERT: usize = 8_000;

pub async fn copy(from: &str, to: &str) -> anyhow::Result<Copied> {
    let mut source = Conn::open(from).await.context("the source")?;
    // The target gets the migrations `serve` would give it, whatever it had before.
    let target_store = crate::store::connect(to)
        .await
        .with_context(|| format!("opening {}", redact(to)))?;
    target_store
        .migrate()
        .await
        .with_context(|| format!("migrating {}", redact(to)))?;
    drop(target_store);
    let mut target = Conn::open(to).await.context("the target")?;

    // One snapshot of the source for everything read below.
    source
        .execute(if source.is_postgres() {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        } else {
            "BEGIN"
        })
        .await?;
    let theirs = source.migrations().await?;
    let ours = target.migrations().await?;
    let versions = |m: &[super::Migration]| m.iter().map(|(v, _)| *v).collect::<Vec<_>>();
    if theirs.is_empty() {
        bail!(
            "{} is not a Plugboard database (it was never migrated)",
            redact(from)
        );
    }
    if versions(&theirs) != versions(&ours) {
        bail!(
            "the source is at migrations [{}], this plugboard at [{}]: run `plugboard migrate` \
             on the source with this binary first (or copy with the binary that wrote it)",
            describe(&theirs),
            describe(&ours)
        );
    }
    check_tables(&mut source, from).await?;
    check_tables(&mut target, to).await?;

    target
        .execute(if target.is_postgres() {
            "BEGIN"
        } else {
            "BEGIN IMMEDIATE"
        })
        .await?;
    refuse_unless_empty(&mut target, to).await?;
    // Migrating created the default account; the source's row (its own name and creation time)
    // takes its place.
    target.execute("DELETE FROM accounts").await?;

    let mut tables = Vec::new();
    let mut counters = Vec::new();
    for table in &TABLES {
        let columns = matching_columns(&mut source, &mut target, table).await?;
        let (rows, highest) = copy_table(&mut source, &mut target, table, &columns).await?;
        let written = count(&mut target, table.name).await?;
        ensure!(
            written == rows as i64,
            "{}: read {rows} rows but the target holds {written}",
            table.name
        );
        if let Some(counter) = table.counter {
            let high = highest.max(high_water(&mut source, table.name, counter).await?);
            advance(&mut target, table.name, counter, high).await?;
            counters.push((format!("{}.{counter}", table.name), high));
        }
        tables.push((table.name, rows));
    }
    target.execute("COMMIT").await.context("committing the copy")?;
    source.execute("ROLLBACK").await?;
    Ok(Copied {
        from: redact(from),
        to: redact(to),
        migrations: describe(&ours),
        tables,
        counters,
    })
}

/// Every table of the database is one the copy knows, or it would be silently left behind.
async fn check_tables(conn: &mut Conn, url: &str) -> anyhow::Result<()> {
    let present: BTreeSet<String> = conn
        .tables()
        .await?
        .into_iter()
        .filter(|t| !bookkeeping(t))
        .collect();
    let known: BTreeSet<String> = TABLES.iter().map(|t| t.name.to_string()).collect();
    let unknown: Vec<_> = present.difference(&known).cloned().collect();
    let missing: Vec<_> = known.difference(&present).cloned().collect();
    if !unknown.is_empty() {
        bail!(
            "{} has tables this copy does not know ({}): copying would lose them",
            redact(url),
            unknown.join(", ")
        );
    }
    if !missing.is_empty() {
        bail!("{} lacks the tables {}", redact(url), missing.join(", "));
    }
    Ok(())
}

/// Nothing in the target but the default account its migration created.
async fn refuse_unless_empty(target: &mut Conn, url: &str) -> anyhow::Result<()> {
    let mut holding = Vec::new();
    for table in &TABLES {
        let n = if table.name == "accounts" {
            let sql = format!(
                "SELECT COUNT(*) FROM accounts WHERE id <> '{}'",
                AccountId::DEFAULT
            );
            scalar(target, &sql).await?
        } else {
            count(target, table.name).await?
        };
        if n > 0 {
            holding.push(format!("{} {n}", table.name));
        }
    }
    if !holding.is_empty() {
        bail!(
            "{} is not empty ({}): copy only into a new database, so nothing in it is mixed with \
             or overwritten by the source",
            redact(url),
            holding.join(", ")
        );
    }
    Ok(())
}

async fn count(conn: &mut Conn, table: &str) -> anyhow::Result<i64> {
    scalar(conn, &format!("SELECT COUNT(*) FROM {table}")).await
}

async fn scalar(conn: &mut Conn, sql: &str) -> anyhow::Result<i64> {
    let sql = AssertSqlSafe(sql.to_string());
    Ok(match conn {
        Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await?,
        Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await?,
    })
}

/// The table's columns as the target has them, checked against the source's: the same names,
/// kinds that convert, and identity columns where this code expects them.
async fn matching_columns(
    source: &mut Conn,
    target: &mut Conn,
    table: &Table,
) -> anyhow::Result<Vec<(Column, Column)>> {
    let theirs = columns(source, table.name).await?;
    let ours = columns(target, table.name).await?;
    let names = |cs: &[Column]| cs.iter().map(|c| c.name.clone()).collect::<BTreeSet<_>>();
    ensure!(
        names(&theirs) == names(&ours),
        "{}: the source's columns {:?} differ from the target's {:?}",
        table.name,
        names(&theirs),
        names(&ours)
    );
    let mut pairs = Vec::new();
    for to in ours {
        let from = theirs
            .iter()
            .find(|c| c.name == to.name)
            .map(|c| Column {
                name: c.name.clone(),
                kind: c.kind,
                identity: c.identity,
            })
            .expect("the same names on both sides");
        for side in [&from, &to] {
            // Only PostgreSQL says which columns are identities; SQLite's answer is always no.
            ensure!(
                !side.identity || table.counter == Some(side.name.as_str()),
                "{}.{} is numbered by the database, which this copy does not expect",
                table.name,
                side.name
            );
        }
        pairs.push((from, to));
    }
    if let Some(counter) = table.counter {
        ensure!(
            pairs.iter().any(|(_, c)| c.name == counter),
            "{}.{counter} is missing",
            table.name
        );
    }
    Ok(pairs)
}

async fn columns(conn: &mut Conn, table: &str) -> anyhow::Result<Vec<Column>> {
    let postgres = conn.is_postgres();
    let rows: Vec<(String, String, bool)> = match conn {
        Conn::Sqlite(c) => {
            sqlx::query_as("SELECT name, type, 0 FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(c)
                .await?
        }
        Conn::Postgres(c) => sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_identity = 'YES' FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(c)
        .await?,
    };
    rows.into_iter()
        .map(|(name, ty, identity)| {
            // SQLite's INTEGER holds 64 bits; PostgreSQL's integer 32.
            let kind = match (postgres, ty.to_ascii_lowercase().as_str()) {
                (false, "integer") | (true, "bigint") => Kind::Int,
                (true, "integer") => Kind::Int4,
                (true, "boolean") => Kind::Bool,
                (_, "text") => Kind::Text,
                (false, "blob") | (true, "bytea") => Kind::Blob,
                (_, other) => bail!("{table}.{name} has the type {other}, which this copy does not know"),
            };
            Ok(Column { name, kind, identity })
        })
        .collect()
}

/// Streams one table from source to target; answers the rows copied and the highest counter.
async fn copy_table(
    source: &mut Conn,
    target: &mut Conn,
    table: &Table,
    columns: &[(Column, Column)],
) -> anyhow::Result<(u64, i64)> {
    let list = columns
        .iter()
        .map(|(c, _)| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!("SELECT {list} FROM {} ORDER BY {}", table.name, table.order_by);
    let kinds: Vec<Kind> = columns.iter().map(|(from, _)| from.kind).collect();
    let mut sink = Sink::new(target, table, columns)?;
    match source {
        Conn::Sqlite(c) => {
            let rows = sqlx::query(AssertSqlSafe(select)).fetch(c);
            drain(rows, &kinds, &mut sink).await?;
        }
        Conn::Postgres(c) => {
            let rows = sqlx::query(AssertSqlSafe(select)).fetch(c);
            drain(rows, &kinds, &mut sink).await?;
        }
    }
    sink.finish().await
}

async fn drain<R: ReadValue>(
    rows: impl Stream<Item = sqlx::Result<R>>,
    kinds: &[Kind],
    sink: &mut Sink<'_>,
) -> anyhow::Result<()> {
    let mut rows = std::pin::pin!(rows);
    while let Some(row) = rows.try_next().await? {
        let values = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| row.value(i, *kind))
            .collect::<sqlx::Result<Vec<_>>>()?;
        sink.push(values).await?;
    }
    Ok(())
}

trait ReadValue {
    fn value(&self, i: usize, kind: Kind) -> sqlx::Result<Value>;
}

impl ReadValue for SqliteRow {
    fn value(&self, i: usize, kind: Kind) -> sqlx::Result<Value> {
        Ok(match kind {
            Kind::Int | Kind::Int4 | Kind::Bool => self.try_get::<Option<i64>, _>(i)?.map(Value::Int),
            Kind::Text => self.try_get::<Option<String>, _>(i)?.map(Value::Text),
            Kind::Blob => self.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Blob),
        }
        .unwrap_or(Value::Null))
    }
}

impl ReadValue for PgRow {
    fn value(&self, i: usize, kind: Kind) -> sqlx::Result<Value> {
        Ok(match kind {
            Kind::Int => self.try_get::<Option<i64>, _>(i)?.map(Value::Int),
            Kind::Int4 => self.try_get::<Option<i32>, _>(i)?.map(|v| Value::Int(v.into())),
            Kind::Bool => self.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
            Kind::Text => self.try_get::<Option<String>, _>(i)?.map(Value::Text),
            Kind::Blob => self.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Blob),
        }
        .unwrap_or(Value::Null))
    }
}

/// Batches rows into multi-row INSERTs on the target.
struct Sink<'a> {
    target: &'a mut Conn,
    table: &'a Table,
    columns: &'a [(Column, Column)],
    batch: Vec<Vec<Value>>,
    per_insert: usize,
    rows: u64,
    highest: i64,
    counter_at: Option<usize>,
    /// `(id, value)` of the self-referencing column, written after the rows.
    later: Vec<(Value, Value)>,
    later_at: Option<(usize, usize)>,
}

impl<'a> Sink<'a> {
    fn new(target: &'a mut Conn, table: &'a Table, columns: &'a [(Column, Column)]) -> anyhow::Result<Self> {
        let at = |name: &str| columns.iter().position(|(c, _)| c.name == name);
        let later_at = match table.self_reference {
            Some(column) => Some((
                at("id").context("a self-referencing table needs an id")?,
                at(column).with_context(|| format!("{}.{column} is missing", table.name))?,
            )),
            None => None,
        };
        Ok(Sink {
            target,
            table,
            columns,
            batch: Vec::new(),
            per_insert: (PARAMETERS_PER_INSERT / columns.len().max(1)).max(1),
            rows: 0,
            highest: 0,
            counter_at: table.counter.and_then(at),
            later: Vec::new(),
            later_at,
        })
    }

    async fn push(&mut self, mut row: Vec<Value>) -> anyhow::Result<()> {
        if let Some(i) = self.counter_at
            && let Value::Int(n) = row[i]
        {
            self.highest = self.highest.max(n);
        }
        if let Some((id, column)) = self.later_at
            && row[column] != Value::Null
        {
            let value = std::mem::replace(&mut row[column], Value::Null);
            self.later.push((row[id].clone(), value));
        }
        self.batch.push(row);
        if self.batch.len() >= self.per_insert {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let width = self.columns.len();
        let names = self
            .columns
            .iter()
            .map(|(_, c)| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let overriding = if self.target.is_postgres() && self.table.counter.is_some() {
            // Identity columns are GENERATED ALWAYS: keep the source's numbers regardless.
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let tuples = (0..self.batch.len())
            .map(|r| {
                let params = (1..=width)
                    .map(|c| format!("${}", r * width + c))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({params})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {} ({names}){overriding} VALUES {tuples}",
            self.table.name
        );
        let kinds: Vec<Kind> = self.columns.iter().map(|(_, to)| to.kind).collect();
        let rows = std::mem::take(&mut self.batch);
        let n = rows.len() as u64;
        let values = rows.into_iter().flatten().zip(kinds.iter().cycle().copied());
        execute_bound(self.target, sql, values)
            .await
            .with_context(|| format!("writing {}", self.table.name))?;
        self.rows += n;
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<(u64, i64)> {
        self.flush().await?;
        if let Some(column) = self.table.self_reference {
            let id_kind = self.columns[self.later_at.expect("set with self_reference").0]
                .1
                .kind;
            let kind = self.columns[self.later_at.expect("set with self_reference").1]
                .1
                .kind;
            for (id, value) in std::mem::take(&mut self.later) {
                let sql = format!("UPDATE {} SET {column} = $1 WHERE id = $2", self.table.name);
                execute_bound(self.target, sql, [(value, kind), (id, id_kind)])
                    .await
                    .with_context(|| format!("writing {}.{column}", self.table.name))?;
            }
        }
        Ok((self.rows, self.highest))
    }
}

/// Runs one statement with its `$n` parameters bound in order, each as its target column's kind.
async fn execute_bound(
    target: &mut Conn,
    sql: String,
    values: impl IntoIterator<Item = (Value, Kind)>,
) -> anyhow::Result<()> {
    match target {
        Conn::Sqlite(c) => {
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (value, kind) in values {
                query = match kind {
                    Kind::Int | Kind::Int4 | Kind::Bool => query.bind(as_int(value)?),
                    Kind::Text => query.bind(as_text(value)?),
                    Kind::Blob => query.bind(as_blob(value)?),
                };
            }
            query.execute(c).await?;
        }
        Conn::Postgres(c) => {
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (value, kind) in values {
                query = match kind {
                    Kind::Int => query.bind(as_int(value)?),
                    Kind::Int4 => query.bind(as_int(value)?.map(i32::try_from).transpose()?),
                    Kind::Bool => query.bind(as_bool(value)?),
                    Kind::Text => query.bind(as_text(value)?),
                    Kind::Blob => query.bind(as_blob(value)?),
                };
            }
            query.execute(c).await?;
        }
    }
    Ok(())
}

fn as_int(v: Value) -> anyhow::Result<Option<i64>> {
    match v {
        Value::Null => Ok(None),
        Value::Int(n) => Ok(Some(n)),
        Value::Bool(b) => Ok(Some(b.into())),
        other => bail!("{other:?} is not an integer"),
    }
}

fn as_bool(v: Value) -> anyhow::Result<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::Int(0) => Ok(Some(false)),
        Value::Int(1) => Ok(Some(true)),
        other => bail!("{other:?} is not a boolean"),
    }
}

fn as_text(v: Value) -> anyhow::Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::Text(s) => Ok(Some(s)),
        other => bail!("{other:?} is not text"),
    }
}

fn as_blob(v: Value) -> anyhow::Result<Option<Vec<u8>>> {
    match v {
        Value::Null => Ok(None),
        Value::Blob(b) => Ok(Some(b)),
        other => bail!("{other:?} is not a byte string"),
    }
}

/// The highest number the source's counter has handed out, deleted rows included.
async fn high_water(source: &mut Conn, table: &str, column: &str) -> anyhow::Result<i64> {
    Ok(match source {
        Conn::Sqlite(c) => sqlx::query_scalar::<_, i64>("SELECT seq FROM sqlite_sequence WHERE name = $1")
            .bind(table)
            .fetch_optional(c)
            .await?
            .unwrap_or(0),
        Conn::Postgres(c) => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass)",
        )
        .bind(table)
        .bind(column)
        .fetch_one(c)
        .await?
        .unwrap_or(0),
    })
}

/// Moves the target's counter so the next number it hands out is `high + 1`.
async fn advance(target: &mut Conn, table: &str, column: &str, high: i64) -> anyhow::Result<()> {
    if high <= 0 {
        return Ok(());
    }
    match target {
        Conn::Sqlite(c) => {
            // Inserting explicit ids moved it already; a source's deleted tail may need more.
            sqlx::query("UPDATE sqlite_sequence SET seq = $2 WHERE name = $1 AND seq < $2")
                .bind(table)
                .bind(high)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO sqlite_sequence (name, seq) SELECT $1, $2 \
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = $1)",
            )
            .bind(table)
            .bind(high)
            .execute(&mut *c)
            .await?;
        }
        Conn::Postgres(c) => {
            sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3, true)")
                .bind(table)
                .bind(column)
                .bind(high)
                .execute(c)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, InteractionEvent, Sender, now_millis};
    use crate::store::{
        ChatSession, DynStore, NewInteraction, NewMessage, NewPhone, QueueSpec, TransitionDetails,
    };

    const ACCOUNT: AccountId = AccountId::DEFAULT;

    fn url(dir: &tempfile::TempDir, name: &str) -> String {
        format!("sqlite://{}", dir.path().join(name).display())
    }

    /// The demo site plus a row in every table the demo leaves empty, and a queue overflowing
    /// into one created after it.
    async fn site(url: &str) -> DynStore {
        let store = crate::store::connect(url).await.unwrap();
        store.migrate().await.unwrap();
        crate::demo::seed(&store).await.unwrap();
        let first = store
            .create_queue(ACCOUNT, QueueSpec::named("First line"))
            .await
            .unwrap();
        let second = store
            .create_queue(ACCOUNT, QueueSpec::named("Second line"))
            .await
            .unwrap();
        let mut spec = QueueSpec::named("First line");
        spec.overflow_queue = Some(second.id);
        spec.max_wait_secs = Some(30);
        let bob = store.agent_by_email("bob@plugboard.example").await.unwrap().0;
        // An admin's change, with its line in the audit log.
        let line = crate::store::AuditEntry::new(
            &bob,
            None,
            "queue.updated",
            Some(first.id.to_string()),
            serde_json::json!({}),
            5,
        );
        store
            .audited(line)
            .update_queue(ACCOUNT, first.id, spec)
            .await
            .unwrap();
        store
            .create_session(crate::store::NewSession {
                token_hash: &[7; 32],
                agent: &bob,
                created_at: now_millis(),
                expires_at: now_millis() + 3_600_000,
                client_addr: Some("192.0.2.7".into()),
                user_agent: Some("a browser".into()),
            })
            .await
            .unwrap();
        let phone = NewPhone {
            agent_id: bob.id,
            username: "bob-desk".into(),
            realm: "plugboard".into(),
            ha1_md5: "0".repeat(32),
            ha1_sha256: "1".repeat(64),
        };
        store.create_phone(ACCOUNT, phone).await.unwrap();
        let binding = crate::store::PhoneBinding {
            aor: "sip:bob-desk@plugboard".into(),
            contact: "<sip:bob-desk@192.0.2.20:5060>".into(),
            username: "bob-desk".into(),
            q: Some(500),
            expires_at: now_millis() + 3_600_000,
        };
        store
            .update_bindings(&[crate::store::BindingUpdate::Bound(binding)])
            .await
            .unwrap();
        let on_break = crate::store::Write::Presence {
            account: ACCOUNT,
            agent: bob.id,
            state: crate::domain::AgentState::Break("lunch".into()),
            at: now_millis(),
        };
        store.commit(None, &[on_break]).await.unwrap();
        let maria = store
            .search_customers(ACCOUNT, "Maria", 1)
            .await
            .unwrap()
            .remove(0);
        // Relationships: rules, a leave, a follow-up (the demo's owners are on customers' logs).
        let rule = crate::crm::rules::AssignmentRule {
            when: crate::crm::rules::Condition::Always,
            agents: vec![crate::crm::rules::WeightedAgent {
                agent_id: bob.id,
                weight: 1,
            }],
        };
        store
            .set_assignment_rules(ACCOUNT, &[rule], now_millis())
            .await
            .unwrap();
        let plan: crate::crm::fields::FieldDef =
            serde_json::from_value(serde_json::json!({"key": "plan", "label": "Plan", "kind": "text"}))
                .unwrap();
        store
            .set_customer_fields(ACCOUNT, &[plan], now_millis())
            .await
            .unwrap();
        let segment = crate::crm::segments::Segment {
            id: crate::domain::SegmentId::new(),
            name: "Gold in China".into(),
            definition: serde_json::from_value(serde_json::json!({"tiers": ["gold"], "regions": ["CN"]}))
                .unwrap(),
            created_by: Some(bob.id),
            updated_at: now_millis(),
        };
        store.save_segment(ACCOUNT, &segment).await.unwrap();
        // An agent's picture: bytes in a BLOB that must arrive as BYTEA.
        let picture = crate::store::Avatar {
            content_type: "image/png".into(),
            bytes: vec![0x89, b'P', b'N', b'G', 0, 255, 1],
        };
        store
            .set_avatar(ACCOUNT, bob.id, Some(picture), now_millis())
            .await
            .unwrap();
        let team = crate::teams::Team {
            id: crate::domain::TeamId::new(),
            name: "Support desk".into(),
            leads: vec![],
            members: vec![bob.id],
            queues: vec![],
        };
        store.put_team(ACCOUNT, &team, now_millis()).await.unwrap();
        let article = crate::knowledge::Article {
            id: crate::domain::ArticleId::new(),
            title: "退款政策".into(),
            body: "Refunds within 30 days.".into(),
            category: "billing".into(),
            tags: vec!["refund".into()],
            queues: vec![],
            stages: vec!["customer".into()],
            author_id: bob.id,
            author_name: None,
            created_at: now_millis(),
            updated_at: now_millis(),
        };
        store.put_article(ACCOUNT, &article).await.unwrap();
        let canned = crate::knowledge::Canned {
            id: crate::domain::CannedId::new(),
            owner_id: Some(bob.id),
            shortcut: "refund".into(),
            title: "Refund".into(),
            body: "Hello {{customer.name}}".into(),
            uses: 3,
            updated_at: now_millis(),
        };
        store.put_canned(ACCOUNT, &canned).await.unwrap();
        store.use_canned(ACCOUNT, canned.id).await.unwrap();
        let leave = crate::store::Handover {
            id: crate::domain::HandoverId::new(),
            from_agent: bob.id,
            spec: serde_json::json!({"to": []}),
            reason: "holiday".into(),
            created_by: bob.id,
            created_at: now_millis(),
            until: Some(now_millis() + 86_400_000),
            returned_at: None,
            moved: 0,
        };
        store.create_handover(ACCOUNT, &leave).await.unwrap();
        let callback = crate::store::NewFollowUp {
            customer: maria.id,
            owner: bob.id,
            kind: crate::crm::followups::FollowUpKind::Callback,
            title: "call Maria back".into(),
            due_at: now_millis() + 3_600_000,
            created_by: bob.id,
        };
        store
            .create_follow_up(ACCOUNT, callback, now_millis())
            .await
            .unwrap();
        // The pipeline: settings, a lifecycle stage and an opportunity.
        store
            .set_pipeline_settings(
                ACCOUNT,
                &crate::crm::pipeline::PipelineSettings::default(),
                now_millis(),
            )
            .await
            .unwrap();
        store
            .set_customer_stage(
                ACCOUNT,
                maria.id,
                Some(crate::domain::Lifecycle::Prospect),
                (bob.id, "Bob"),
                now_millis(),
            )
            .await
            .unwrap();
        let deal = crate::store::NewOpportunity {
            customer: maria.id,
            name: "Renewal 续约".into(),
            amount: 1_250_000,
            currency: "EUR".into(),
            stage: "proposal".into(),
            status: crate::crm::pipeline::OpportunityStatus::Open,
            expected_close: Some("2027-01-31".into()),
            owner: bob.id,
        };
        store
            .create_opportunity(ACCOUNT, deal, (bob.id, "Bob"), now_millis())
            .await
            .unwrap();
        let new = NewInteraction {
            customer_id: maria.id,
            channel: Channel::Chat,
            queue_id: first.id,
            priority: 0,
            entry_point: "widget:First line".into(),
            offline: true,
            arrived_at: now_millis(),
        };
        let waiting = store.create_interaction(ACCOUNT, new).await.unwrap();
        // A rating (the store keeps what it is given; whether it may be given is `csat::may_rate`'s).
        let score = crate::csat::Score::try_from(5).unwrap();
        let rating = crate::csat::Rating::of(&waiting, bob.id, score, Some("很好".into()), 6);
        store.rate(ACCOUNT, &rating, &bob.name).await.unwrap();
        let message = NewMessage {
            interaction_id: waiting.id,
            sender: Sender::Customer,
            agent_id: None,
            body: "Still there? 还在吗？".into(),
            client_id: "c1".into(),
        };
        let (said, _) = store
            .append_message(ACCOUNT, message, now_millis())
            .await
            .unwrap();
        // The inbox: a label, and Bob has read what Maria said.
        store
            .set_labels(ACCOUNT, waiting.id, &["vip".into()])
            .await
            .unwrap();
        store
            .mark_read(ACCOUNT, bob.id, waiting.id, said.seq)
            .await
            .unwrap();
        // Email: a mailbox where it stands, a mail with a file, a reply waiting to go, a failure.
        let mailbox = crate::store::Mailbox {
            id: crate::domain::MailboxId::new(),
            address: "support@plugboard.example".into(),
            display_name: "Support".into(),
            queue_id: first.id,
            imap: crate::store::MailServer {
                host: "imap.example".into(),
                port: 993,
                security: "tls".into(),
                user: "support".into(),
            },
            folder: "INBOX".into(),
            done_folder: None,
            smtp: crate::store::MailServer {
                host: "smtp.example".into(),
                port: 465,
                security: "tls".into(),
                user: "support".into(),
            },
            signature: None,
            created_at: 1,
        };
        let sealed = crate::store::MailboxSecrets {
            account: ACCOUNT,
            mailbox: mailbox.clone(),
            imap_password: vec![1, 2, 3],
            smtp_password: vec![4, 5, 6],
        };
        store.create_mailbox(ACCOUNT, sealed).await.unwrap();
        store.set_mailbox_sync(mailbox.id, 9, 41).await.unwrap();
        let inbox = crate::store::InboxSecrets {
            account: ACCOUNT,
            inbox: crate::store::Inbox {
                id: crate::domain::InboxId::new(),
                platform: "whatsapp".into(),
                name: "Shop WhatsApp".into(),
                queue_id: mailbox.queue_id,
                settings: serde_json::json!({"phone_number_id": "106540352242922"}),
                created_at: 1,
            },
            secrets: vec![7, 8, 9],
        };
        let inbox_entry = inbox.inbox.entry_point();
        store.create_inbox(ACCOUNT, inbox).await.unwrap();
        let mail = |sender, external: Option<&str>, outbound| crate::store::NewChannelMessage {
            opening: vec![],
            message: NewMessage {
                interaction_id: waiting.id,
                sender,
                agent_id: None,
                body: "Order 1001".into(),
                client_id: external.unwrap_or("r1").into(),
            },
            entry_point: mailbox.entry_point(),
            external_id: external.map(str::to_owned),
            details: serde_json::json!({"subject": "Order"}),
            attachments: vec![crate::store::NewAttachment {
                filename: "a.pdf".into(),
                content_type: "application/pdf".into(),
                size: 1,
                sha256: "0".repeat(64),
                content_id: None,
            }],
            outbound,
            fetch_media: false,
        };
        store
            .append_channel_message(ACCOUNT, mail(Sender::Customer, Some("m1@x.example"), None), 2)
            .await
            .unwrap();
        let reply = mail(
            Sender::Agent,
            None,
            Some(serde_json::json!({"to": ["m@x.example"]})),
        );
        store.append_channel_message(ACCOUNT, reply, 3).await.unwrap();
        // A WhatsApp photo still to fetch.
        let photo = crate::store::NewChannelMessage {
            entry_point: inbox_entry,
            details: serde_json::json!({"media": [{"kind": "image", "id": "1003383421387256"}]}),
            attachments: vec![],
            fetch_media: true,
            ..mail(Sender::Customer, Some("wamid.1"), None)
        };
        store.append_channel_message(ACCOUNT, photo, 3).await.unwrap();
        let failure = crate::store::InboundFailure {
            id: "f1".into(),
            entry_point: mailbox.entry_point(),
            reference: "uid 40 in INBOX".into(),
            reason: "no From".into(),
            size: 10,
            at: 4,
        };
        store.record_inbound_failure(ACCOUNT, &failure).await.unwrap();
        let upload = crate::store::Upload {
            id: crate::domain::UploadId::new(),
            agent_id: bob.id,
            filename: "quote.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1,
            sha256: "1".repeat(64),
            created_at: 5,
        };
        store.create_upload(ACCOUNT, &upload).await.unwrap();
        let chat = ChatSession {
            account_id: ACCOUNT,
            customer_id: maria.id,
            interaction_id: waiting.id,
        };
        store
            .create_chat_session(&[9; 32], &chat, now_millis())
            .await
            .unwrap();
        for body in ["Prefers email", "Second note"] {
            store
                .add_note(ACCOUNT, maria.id, Some(waiting.id), bob.id, body)
                .await
                .unwrap();
        }
        store
    }

    /// Every row of a table, each value as SQLite quotes it, in the table's key order.
    async fn rows(url: &str, table: &Table) -> Vec<String> {
        let mut conn = Conn::open(url).await.unwrap();
        let names = columns(&mut conn, table.name).await.unwrap();
        let quoted = names
            .iter()
            .map(|c| format!("quote({})", c.name))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let sql = format!("SELECT {quoted} FROM {} ORDER BY {}", table.name, table.order_by);
        let Conn::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(c).await.unwrap()
    }

    #[test]
    fn every_table_of_both_migration_folders_is_copied() {
        let known: BTreeSet<&str> = TABLES.iter().map(|t| t.name).collect();
        for flavour in ["sqlite", "postgres"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../migrations")
                .join(flavour);
            let mut created = BTreeSet::new();
            for file in std::fs::read_dir(&dir).unwrap() {
                let sql = std::fs::read_to_string(file.unwrap().path()).unwrap();
                for rest in sql.split("CREATE TABLE ").skip(1) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    created.insert(name);
                }
            }
            let created: BTreeSet<&str> = created
                .iter()
                .map(String::as_str)
                .filter(|t| !bookkeeping(t))
                .collect();
            assert_eq!(created, known, "migrations/{flavour} against TABLES");
        }
    }

    #[tokio::test]
    async fn a_copy_keeps_every_row_and_numbers_on_past_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (url(&dir, "from.db"), url(&dir, "to.db"));
        let source = site(&from).await;
        // The newest note is deleted: its id must not be handed out again in the copy.
        let mut conn = Conn::open(&from).await.unwrap();
        conn.execute("DELETE FROM notes WHERE id = (SELECT MAX(id) FROM notes)")
            .await
            .unwrap();
        let deleted_note = scalar(&mut conn, "SELECT seq FROM sqlite_sequence WHERE name = 'notes'")
            .await
            .unwrap();
        drop(conn);

        let copied = copy(&from, &to).await.unwrap();
        for table in &TABLES {
            let (theirs, ours) = (rows(&from, table).await, rows(&to, table).await);
            assert!(!theirs.is_empty(), "the fixture leaves {} empty", table.name);
            assert_eq!(theirs, ours, "{}", table.name);
            let reported = copied.tables.iter().find(|(t, _)| *t == table.name).unwrap().1;
            assert_eq!(reported as usize, theirs.len());
        }

        // The copy works as a store: sessions, chats and the queue it holds are the source's, and
        // new rows are numbered after the old ones.
        let copy = crate::store::connect(&to).await.unwrap();
        copy.migrate().await.unwrap();
        let bob = copy.session_agent(&[7; 32], now_millis()).await.unwrap().agent;
        assert_eq!(bob.email, "bob@plugboard.example");
        let sessions = copy.sessions(ACCOUNT, bob.id, now_millis()).await.unwrap();
        assert_eq!(sessions[0].client_addr.as_deref(), Some("192.0.2.7"));
        let chat = copy.chat_session(&[9; 32]).await.unwrap();
        let waiting = copy.waiting_interactions().await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].1.id, chat.interaction_id);
        let note = copy
            .add_note(ACCOUNT, chat.customer_id, None, bob.id, "after the move")
            .await
            .unwrap();
        assert!(note.id > deleted_note, "note id {} reused", note.id);
        let old = source.interaction(ACCOUNT, chat.interaction_id).await.unwrap();
        let new = NewInteraction {
            customer_id: chat.customer_id,
            channel: Channel::Chat,
            queue_id: old.queue_id,
            priority: 0,
            entry_point: "widget".into(),
            offline: false,
            arrived_at: now_millis(),
        };
        let later = copy.create_interaction(ACCOUNT, new).await.unwrap();
        copy.transition(
            ACCOUNT,
            later.id,
            InteractionEvent::Abandoned,
            TransitionDetails::default(),
            now_millis(),
        )
        .await
        .unwrap();
        let events = copy.events(ACCOUNT, later.id).await.unwrap();
        let mut conn = Conn::open(&from).await.unwrap();
        let old_events = scalar(&mut conn, "SELECT MAX(id) FROM interaction_events")
            .await
            .unwrap();
        assert!(events.iter().all(|e| e.id > old_events));
        let waiting = copy.waiting_interactions().await.unwrap();
        assert_eq!(
            waiting.iter().map(|(_, i)| i.id).collect::<Vec<_>>(),
            vec![chat.interaction_id],
            "the abandoned one left, the old one still waits"
        );
    }

    #[tokio::test]
    async fn a_copy_refuses_a_target_that_holds_anything() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (url(&dir, "from.db"), url(&dir, "to.db"));
        site(&from).await;
        copy(&from, &to).await.unwrap();
        let events = TABLES.iter().find(|t| t.name == "interaction_events").unwrap();
        let before = rows(&to, events).await;
        let error = format!("{:#}", copy(&from, &to).await.unwrap_err());
        assert!(error.contains("is not empty"), "{error}");
        assert!(error.contains("interaction_events"), "{error}");
        assert_eq!(rows(&to, events).await, before, "nothing was written twice");
    }

    #[tokio::test]
    async fn a_copy_refuses_a_source_on_other_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (url(&dir, "from.db"), url(&dir, "to.db"));
        site(&from).await;
        let mut conn = Conn::open(&from).await.unwrap();
        conn.execute(
            "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
        )
        .await
        .unwrap();
        drop(conn);
        let error = format!("{:#}", copy(&from, &to).await.unwrap_err());
        assert!(error.contains("plugboard migrate"), "{error}");
        // Nothing was copied: the target is still empty and takes a copy later.
        let mut target = Conn::open(&to).await.unwrap();
        assert_eq!(count(&mut target, "customers").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_copy_refuses_tables_it_does_not_know() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (url(&dir, "from.db"), url(&dir, "to.db"));
        site(&from).await;
        let mut conn = Conn::open(&from).await.unwrap();
        conn.execute("CREATE TABLE callbacks (id TEXT PRIMARY KEY)")
            .await
            .unwrap();
        drop(conn);
        let error = format!("{:#}", copy(&from, &to).await.unwrap_err());
        assert!(error.contains("callbacks"), "{error}");
    }
}
