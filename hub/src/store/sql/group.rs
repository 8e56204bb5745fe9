//! The group commit, between the store's message and customer writes and the database: the
//! writes that pile up while one commit is on its way are committed together, on SQLite by its
//! one writer connection, on PostgreSQL by one connection of the pool at a time
//! (`SqlStore::group`).

use super::super::{NewChannelMessage, NewMessage, Result, StoreError, Write};
use super::rows::{StoredRow, to_json};
use super::{QUEUED, SqlStore, event_data, q, queued_data};
use crate::domain::{
    AccountId, AttachmentId, AttachmentInfo, ChannelParts, Customer, Interaction, InteractionId, Message,
    MessageId, Millis,
};
use futures_util::future::BoxFuture;
use serde_json::json;
use sqlx::{Database, Pool, Postgres, Sqlite};
use std::collections::{HashMap, HashSet};
use tokio::sync::{mpsc, oneshot};

/// A chat message waiting for the next group commit, and who to tell once it is on disk.
struct MessageJob {
    account: AccountId,
    message: NewMessage,
    at: Millis,
    done: oneshot::Sender<Result<(Message, bool)>>,
}

/// A write waiting for the next group commit: a chat message, a channel's message (an email with
/// the writes that open its interaction), or a customer resolved (created) by identity.
enum Job {
    Chat(MessageJob),
    Channel {
        account: AccountId,
        message: Box<NewChannelMessage>,
        at: Millis,
        done: oneshot::Sender<Result<(Message, bool)>>,
    },
    Resolve {
        account: AccountId,
        identities: Vec<(String, String)>,
        name: Option<String>,
        done: oneshot::Sender<Result<Customer>>,
    },
}

/// The most writes one group commits.
/// A group is as large as what piled up during the previous commit: an fsync here takes tens of
/// milliseconds when the disk is busy, and a cap of 128 held the hub at about 3,000 messages/s
/// with a core to spare.
const MAX_GROUP: usize = 4096;

/// Group commit: every write is durable before anyone hears of it, but one commit covers all the
/// writes that arrived while the previous one was on its way, instead of one commit each (on
/// SQLite the single writer measured saturated at about 1,300 commits/s that way; on PostgreSQL a
/// message's own transaction was six round trips and the server's CPU, not the disk, the limit).
/// The group's messages go in a few statements whatever their number (`commit_at_once`: sqlx
/// hands each statement to the connection's thread, or the server, and back, so statements, not
/// rows, are the cost); anything unusual goes one write at a time, each in a savepoint, so one
/// that fails (an unknown interaction) fails alone.
#[derive(Clone)]
pub(super) struct GroupWriter {
    jobs: mpsc::Sender<Job>,
    /// Whether new customers are resolved in the group too (SQLite). On PostgreSQL each is its
    /// own transaction, side by side with the others: in the group they went one at a time, each
    /// in a savepoint of seven statements, and held one node at 164 calls/s (every call a new
    /// caller) where it had answered 252/s.
    resolves: bool,
}

impl GroupWriter {
    pub(super) fn sqlite(writer: Pool<Sqlite>) -> GroupWriter {
        GroupWriter::spawn(true, move |group| {
            Box::pin(sqlite::commit_group(writer.clone(), group))
        })
    }

    pub(super) fn postgres(pool: Pool<Postgres>) -> GroupWriter {
        GroupWriter::spawn(false, move |group| {
            Box::pin(postgres::commit_group(pool.clone(), group))
        })
    }

    /// Whether `resolve` is the way to create a customer on this backend (see `resolves`).
    pub(super) fn resolves(&self) -> bool {
        self.resolves
    }

    fn spawn(
        resolves: bool,
        commit: impl Fn(Vec<Job>) -> BoxFuture<'static, ()> + Send + 'static,
    ) -> GroupWriter {
        let (tx, mut rx) = mpsc::channel::<Job>(2 * MAX_GROUP);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(MAX_GROUP);
            while let Some(first) = rx.recv().await {
                group.push(first);
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                commit(std::mem::take(&mut group)).await;
            }
        });
        GroupWriter { jobs: tx, resolves }
    }

    async fn run<T>(&self, job: impl FnOnce(oneshot::Sender<Result<T>>) -> Job) -> Result<T> {
        let (done, result) = oneshot::channel();
        let stopped = || StoreError::Database(sqlx::Error::PoolClosed);
        self.jobs.send(job(done)).await.map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }

    pub(super) async fn append_chat(
        &self,
        account: AccountId,
        message: NewMessage,
        at: Millis,
    ) -> Result<(Message, bool)> {
        self.run(|done| {
            Job::Chat(MessageJob {
                account,
                message,
                at,
                done,
            })
        })
        .await
    }

    pub(super) async fn append_channel(
        &self,
        account: AccountId,
        message: NewChannelMessage,
        at: Millis,
    ) -> Result<(Message, bool)> {
        self.run(|done| Job::Channel {
            account,
            message: Box::new(message),
            at,
            done,
        })
        .await
    }

    pub(super) async fn resolve(
        &self,
        account: AccountId,
        identities: Vec<(String, String)>,
        name: Option<String>,
    ) -> Result<Customer> {
        self.run(|done| Job::Resolve {
            account,
            identities,
            name,
            done,
        })
        .await
    }
}

impl Job {
    /// The job as `commit_at_once` takes it; `None` for what goes one by one in a savepoint of
    /// its own: a customer to resolve, a message queued to be sent, an opening with more in it
    /// than the interaction (an automated mail, filed in the same commit).
    fn at_once(&self) -> Option<Item<'_>> {
        match self {
            Job::Chat(chat) => Some(Item {
                account: chat.account,
                message: &chat.message,
                at: chat.at,
                channel: None,
                opens: None,
            }),
            Job::Channel {
                account, message, at, ..
            } => {
                if message.outbound.is_some() {
                    return None;
                }
                let opens = match message.opening.as_slice() {
                    [] => None,
                    [
                        Write::Open {
                            account: a,
                            interaction,
                        },
                    ] if a == account && interaction.id == message.message.interaction_id => {
                        Some(interaction)
                    }
                    _ => return None,
                };
                Some(Item {
                    account: *account,
                    message: &message.message,
                    at: *at,
                    channel: Some(message),
                    opens,
                })
            }
            Job::Resolve { .. } => None,
        }
    }

    fn fail(self, error: StoreError) {
        match self {
            Job::Chat(MessageJob { done, .. }) | Job::Channel { done, .. } => {
                let _ = done.send(Err(error));
            }
            Job::Resolve { done, .. } => {
                let _ = done.send(Err(error));
            }
        }
    }
}

/// A message of a group as `commit_at_once` sees it: a chat line, or a channel's message with
/// its details and attachments and, for the first of a conversation, the interaction it opens.
struct Item<'a> {
    account: AccountId,
    message: &'a NewMessage,
    at: Millis,
    channel: Option<&'a NewChannelMessage>,
    opens: Option<&'a Interaction>,
}

impl Item<'_> {
    /// What makes two messages the same message: the sender's client id in its interaction, and
    /// a channel's external id in its entry point.
    fn keys(&self) -> impl Iterator<Item = Same<'_>> {
        let m = self.message;
        let external = self.channel.and_then(|c| {
            Some(Same::External(
                self.account,
                &c.entry_point,
                c.external_id.as_deref()?,
            ))
        });
        std::iter::once(Same::Client(m.interaction_id, m.sender.as_str(), &m.client_id)).chain(external)
    }
}

/// A key two messages of one group must not share (see `Item::keys`).
#[derive(PartialEq, Eq, Hash)]
enum Same<'a> {
    Client(InteractionId, &'static str, &'a str),
    External(AccountId, &'a str, &'a str),
}

/// What one job of a group answers, kept until the group's commit decides it.
enum Done {
    Message(oneshot::Sender<Result<(Message, bool)>>, Result<(Message, bool)>),
    Customer(oneshot::Sender<Result<Customer>>, Result<Customer>),
}

impl Done {
    /// Tells the job its result once the commit made it durable, or the commit's error.
    fn answer(self, committed: &std::result::Result<(), sqlx::Error>) {
        fn decided<T>(result: Result<T>, committed: &std::result::Result<(), sqlx::Error>) -> Result<T> {
            match committed {
                Ok(()) => result,
                Err(e) => Err(StoreError::Database(sqlx::Error::Protocol(e.to_string()))),
            }
        }
        match self {
            Done::Message(done, result) => {
                let _ = done.send(decided(result, committed));
            }
            Done::Customer(done, result) => {
                let _ = done.send(decided(result, committed));
            }
        }
    }
}

/// The group commit's work on one backend, `$db` (its transactions begin with `$begin`, its
/// statements are `$sql`): the same code for both, as `impl_store!` does for the store.
macro_rules! group_commit {
    ($module:ident, $db:ty, $begin:literal, $sql:expr) => {
    mod $module {
        use super::*;

        /// Commits one group in one transaction: the messages that can go at once in a few statements
        /// (`commit_at_once`), the rest one by one, each in a savepoint of its own. Nobody hears of a
        /// write before the commit that made it durable.
        pub(super) async fn commit_group(writer: Pool<$db>, group: Vec<Job>) {
            let fail = |e: &sqlx::Error| StoreError::Database(sqlx::Error::Protocol(e.to_string()));
            let (batch, mut slow): (Vec<Job>, Vec<Job>) = group.into_iter().partition(|job| job.at_once().is_some());
            let mut tx = match writer.begin_with($begin).await {
                Ok(tx) => tx,
                Err(e) => {
                    batch.into_iter().chain(slow).for_each(|job| job.fail(fail(&e)));
                    return;
                }
            };
            let mut results = Vec::with_capacity(batch.len() + slow.len());
            match commit_at_once(&mut tx, &batch, &$sql).await {
                Ok(answers) => results.extend(
                    batch
                        .into_iter()
                        .zip(answers)
                        .filter_map(|(job, answer)| match job {
                            Job::Chat(MessageJob { done, .. }) | Job::Channel { done, .. } => {
                                Some(Done::Message(done, answer))
                            }
                            Job::Resolve { .. } => None,
                        }),
                ),
                // Something in the batch needs one message at a time (a resend of a message in the
                // same group, a row the database refuses): what it wrote is undone (it ran first, so
                // nothing else is), and each message goes in a savepoint of its own, so one fails alone.
                Err(_) => {
                    let _ = tx.rollback().await;
                    tx = match writer.begin_with($begin).await {
                        Ok(tx) => tx,
                        Err(e) => {
                            batch.into_iter().chain(slow).for_each(|job| job.fail(fail(&e)));
                            return;
                        }
                    };
                    slow.splice(0..0, batch);
                }
            }
            results.extend(one_by_one(&mut tx, slow).await);
            let committed = tx.commit().await;
            for done in results {
                done.answer(&committed);
            }
        }

        /// Every message of `batch` (jobs `Job::at_once` takes) in a few statements, whatever their
        /// number (`GroupBatch`): those already stored found, the interactions they open inserted with
        /// their first log line, seqs taken, messages inserted with their details and attachments.
        /// Answers one result per job, in order. It runs first in its transaction and without a
        /// savepoint (SQLite copies every page a savepoint touches): after an error the caller rolls the
        /// transaction back.
        async fn commit_at_once(
            conn: &mut <$db as Database>::Connection,
            batch: &[Job],
            sql: &q::GroupBatch,
        ) -> std::result::Result<Vec<Result<(Message, bool)>>, sqlx::Error> {
            let items: Vec<Item<'_>> = batch.iter().filter_map(Job::at_once).collect();
            if items.is_empty() {
                return Ok(vec![]);
            }
            let keys: Vec<serde_json::Value> = items
                .iter()
                .map(|it| {
                    let m = it.message;
                    let c = it.channel;
                    json!({
                        "a": it.account.to_string(), "i": m.interaction_id.to_string(), "s": m.sender.as_str(),
                        "c": m.client_id, "e": c.map(|c| &c.entry_point), "x": c.and_then(|c| c.external_id.as_ref()),
                    })
                })
                .collect();
            let keys = serde_json::Value::Array(keys).to_string();
            if let Some(lock) = sql.lock {
                sqlx::query(lock).bind(&keys).execute(&mut *conn).await?;
            }
            let mut stored: Vec<Option<Message>> = vec![None; items.len()];
            for row in sqlx::query_as::<_, StoredRow>(sql.stored)
                .bind(&keys)
                .fetch_all(&mut *conn)
                .await?
            {
                let protocol = |e: String| sqlx::Error::Protocol(e);
                let k = usize::try_from(row.k)
                    .ok()
                    .filter(|k| *k < items.len())
                    .ok_or_else(|| protocol(format!("no job {} in the group", row.k)))?;
                let by_external = row.by_external;
                let m: Message = row
                    .message
                    .try_into()
                    .map_err(|e: StoreError| protocol(e.to_string()))?;
                // As one by one: a message found by its external id comes first.
                if by_external || stored[k].is_none() {
                    stored[k] = Some(m);
                }
            }
            // The interactions new messages go to; the same message twice in one group goes the slow way.
            let mut interactions: HashSet<(AccountId, InteractionId)> = HashSet::new();
            let mut seen = HashSet::new();
            let mut opens = Vec::new();
            let mut opened = Vec::new();
            for it in items
                .iter()
                .zip(&stored)
                .filter(|(_, s)| s.is_none())
                .map(|(it, _)| it)
            {
                if !it.keys().all(|key| seen.insert(key)) {
                    return Err(sqlx::Error::Protocol("a message twice in one group".into()));
                }
                if let Some(i) = it.opens {
                    opens.push(json!({
                        "id": i.id.to_string(), "a": it.account.to_string(), "c": i.customer_id.to_string(),
                        "ch": i.channel.as_str(), "q": i.queue_id.to_string(), "s": i.state.as_str(),
                        "p": i.priority, "t": i.arrived_at, "e": i.entry_point, "o": i64::from(i.offline),
                    }));
                    opened.push(json!({
                        "a": it.account.to_string(), "i": i.id.to_string(), "k": QUEUED,
                        "d": event_data(&queued_data(i)), "t": i.arrived_at,
                    }));
                }
                interactions.insert((it.account, it.message.interaction_id));
            }
            if !opens.is_empty() {
                sqlx::query(sql.open)
                    .bind(serde_json::Value::Array(opens).to_string())
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(sql.events)
                    .bind(serde_json::Value::Array(opened).to_string())
                    .execute(&mut *conn)
                    .await?;
            }
            // Each interaction's next seq, after its newest message (the statements above opened any new
            // interaction, with none).
            let mut next: HashMap<String, i64> = HashMap::new();
            if !interactions.is_empty() {
                let wanted: Vec<serde_json::Value> = interactions
                    .iter()
                    .map(|(a, i)| json!({"a": a.to_string(), "i": i.to_string()}))
                    .collect();
                let rows: Vec<(String, i64)> = sqlx::query_as(sql.last_seqs)
                    .bind(serde_json::Value::Array(wanted).to_string())
                    .fetch_all(&mut *conn)
                    .await?;
                next.extend(
                    rows.into_iter()
                        .map(|(interaction, last)| (interaction, last + 1)),
                );
            }
            let mut results = Vec::with_capacity(items.len());
            let (mut messages, mut details, mut files, mut fetches) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (it, found) in items.iter().zip(stored) {
                if let Some(m) = found {
                    results.push(Ok((m, false)));
                    continue;
                }
                // An unknown interaction (or another account's) took no seq: it fails alone.
                let Some(seq) = next.get_mut(&it.message.interaction_id.to_string()) else {
                    results.push(Err(StoreError::NotFound));
                    continue;
                };
                let new = it.message;
                let mut m = Message {
                    id: MessageId::new(),
                    interaction_id: new.interaction_id,
                    seq: *seq,
                    sender: new.sender,
                    agent_id: new.agent_id,
                    body: new.body.clone(),
                    client_id: new.client_id.clone(),
                    created_at: it.at,
                    channel: None,
                };
                *seq += 1;
                let (id, account, interaction) = (
                    m.id.to_string(),
                    it.account.to_string(),
                    m.interaction_id.to_string(),
                );
                messages.push(json!({
                    "id": id, "a": account, "i": interaction, "q": m.seq, "s": m.sender.as_str(),
                    "g": m.agent_id.map(|a| a.to_string()), "b": m.body, "c": m.client_id, "t": m.created_at,
                }));
                if let Some(c) = it.channel {
                    details.push(json!({
                        "m": id, "a": account, "i": interaction, "e": c.entry_point, "x": c.external_id,
                        "d": to_json(&c.details),
                    }));
                    if c.fetch_media {
                        fetches.push(json!({"m": id, "a": account, "e": c.entry_point, "t": it.at}));
                    }
                    let mut attachments = Vec::with_capacity(c.attachments.len());
                    for a in &c.attachments {
                        let info = AttachmentInfo {
                            id: AttachmentId::new(),
                            filename: a.filename.clone(),
                            content_type: a.content_type.clone(),
                            size: a.size,
                            content_id: a.content_id.clone(),
                        };
                        files.push(json!({
                            "id": info.id.to_string(), "a": account, "i": interaction, "m": id,
                            "f": info.filename, "ct": info.content_type, "z": info.size, "h": a.sha256,
                            "cid": info.content_id,
                        }));
                        attachments.push(info);
                    }
                    m.channel = Some(Box::new(ChannelParts {
                        entry_point: c.entry_point.clone(),
                        external_id: c.external_id.clone(),
                        details: c.details.clone(),
                        delivery: None,
                        delivery_error: None,
                        attachments,
                    }));
                }
                results.push(Ok((m, true)));
            }
            for (sql, rows) in [
                (sql.insert, messages),
                (sql.details, details),
                (sql.attachments, files),
                (sql.media_fetches, fetches),
            ] {
                if !rows.is_empty() {
                    sqlx::query(sql)
                        .bind(serde_json::Value::Array(rows).to_string())
                        .execute(&mut *conn)
                        .await?;
                }
            }
            Ok(results)
        }

        /// Each job in a savepoint of its own, so one that fails fails alone, and each sees the ones
        /// before it (two mails from one new sender make one customer).
        async fn one_by_one(conn: &mut <$db as Database>::Connection, jobs: Vec<Job>) -> Vec<Done> {
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                results.push(match job {
                    Job::Chat(MessageJob {
                        account,
                        message,
                        at,
                        done,
                    }) => Done::Message(
                        done,
                        SqlStore::<$db>::append_in(conn, account, message, at).await,
                    ),
                    Job::Channel {
                        account,
                        message,
                        at,
                        done,
                    } => Done::Message(
                        done,
                        SqlStore::<$db>::append_channel_in(conn, account, *message, at).await,
                    ),
                    Job::Resolve {
                        account,
                        identities,
                        name,
                        done,
                    } => Done::Customer(
                        done,
                        SqlStore::<$db>::resolve_in(conn, account, &identities, name.as_deref()).await,
                    ),
                });
            }
            results
        }
    }
    };
}

group_commit!(sqlite, Sqlite, "BEGIN IMMEDIATE", q::SQLITE_GROUP);
group_commit!(postgres, Postgres, "BEGIN", q::POSTGRES_GROUP);
