//! SQLite's group commit: the writes that pile up while one commit is on its way to disk are
//! committed together by the one writer connection (`SqlStore::group_writer`).

use super::super::{NewChannelMessage, NewMessage, Result, StoreError};
use super::rows::MessageRow;
use super::{SqlStore, q};
use crate::domain::{AccountId, Customer, Message, MessageId, Millis};
use sqlx::{Pool, Sqlite};
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

/// The most writes one SQLite transaction commits.
/// A group is as large as what piled up during the previous commit: an fsync here takes tens of
/// milliseconds when the disk is busy, and a cap of 128 held the hub at about 3,000 messages/s
/// with a core to spare.
const MAX_GROUP: usize = 4096;

/// Group commit on SQLite: every write is durable before anyone hears of it, but one fsync covers
/// all the writes that arrived while the previous commit was on its way to disk, instead of one
/// fsync each (the single writer measured saturated at about 1,300 commits/s that way). Each
/// write runs in its own savepoint, so one that fails (an unknown interaction) fails alone, and
/// each sees the ones before it (two mails from one new sender make one customer).
#[derive(Clone)]
pub(super) struct GroupWriter(mpsc::Sender<Job>);

impl GroupWriter {
    pub(super) fn spawn(writer: Pool<Sqlite>) -> GroupWriter {
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
                commit_group(&writer, std::mem::take(&mut group)).await;
            }
        });
        GroupWriter(tx)
    }

    async fn run<T>(&self, job: impl FnOnce(oneshot::Sender<Result<T>>) -> Job) -> Result<T> {
        let (done, result) = oneshot::channel();
        let stopped = || StoreError::Database(sqlx::Error::PoolClosed);
        self.0.send(job(done)).await.map_err(|_| stopped())?;
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

async fn commit_group(writer: &Pool<Sqlite>, group: Vec<Job>) {
    if group.iter().all(|job| matches!(job, Job::Chat(_))) {
        let chats: Vec<MessageJob> = group
            .into_iter()
            .filter_map(|job| match job {
                Job::Chat(chat) => Some(chat),
                _ => None,
            })
            .collect();
        match commit_group_at_once(writer, &chats).await {
            Ok(results) => chats.into_iter().zip(results).for_each(|(job, result)| {
                let _ = job.done.send(result);
            }),
            // Something in the group needs one message at a time (a resend of a message in the
            // same group, a row the database refuses): each in a savepoint, so one fails alone.
            Err(_) => commit_group_one_by_one(writer, chats.into_iter().map(Job::Chat).collect()).await,
        }
    } else {
        commit_group_one_by_one(writer, group).await;
    }
}

/// The whole group in three statements (`GROUP_*`): resends found, seqs taken, new messages
/// inserted. Nobody hears of a message before the commit that made it durable.
async fn commit_group_at_once(
    writer: &Pool<Sqlite>,
    group: &[MessageJob],
) -> std::result::Result<Vec<Result<(Message, bool)>>, sqlx::Error> {
    use serde_json::json;
    use std::collections::HashMap;
    let key = |j: &MessageJob| {
        (
            j.message.interaction_id.to_string(),
            j.message.sender.as_str(),
            j.message.client_id.clone(),
        )
    };
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let keys: Vec<serde_json::Value> = group
        .iter()
        .map(|j| {
            let (i, s, c) = key(j);
            json!({"a": j.account.to_string(), "i": i, "s": s, "c": c})
        })
        .collect();
    let mut stored: HashMap<(String, &'static str, String), Message> = HashMap::new();
    for row in sqlx::query_as::<_, MessageRow>(q::GROUP_RESENDS)
        .bind(serde_json::Value::Array(keys).to_string())
        .fetch_all(&mut *tx)
        .await?
    {
        let m: Message = row
            .try_into()
            .map_err(|e: StoreError| sqlx::Error::Protocol(e.to_string()))?;
        stored.insert(
            (
                m.interaction_id.to_string(),
                m.sender.as_str(),
                m.client_id.clone(),
            ),
            m,
        );
    }
    // New messages per interaction, in arrival order; the same message twice in one group goes
    // the slow way.
    let mut counts: Vec<(AccountId, String, i64)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for j in group.iter().filter(|j| !stored.contains_key(&key(j))) {
        if !seen.insert(key(j)) {
            return Err(sqlx::Error::Protocol("a message twice in one group".into()));
        }
        let interaction = j.message.interaction_id.to_string();
        match counts
            .iter_mut()
            .find(|(a, i, _)| *a == j.account && *i == interaction)
        {
            Some((_, _, n)) => *n += 1,
            None => counts.push((j.account, interaction, 1)),
        }
    }
    let mut next: HashMap<String, i64> = HashMap::new();
    if !counts.is_empty() {
        let wanted: Vec<serde_json::Value> = counts
            .iter()
            .map(|(a, i, n)| json!({"a": a.to_string(), "i": i, "n": n}))
            .collect();
        let rows: Vec<(String, i64)> = sqlx::query_as(q::GROUP_SEQS)
            .bind(serde_json::Value::Array(wanted).to_string())
            .fetch_all(&mut *tx)
            .await?;
        for (interaction, last) in rows {
            let n = counts
                .iter()
                .find(|(_, i, _)| *i == interaction)
                .map_or(0, |c| c.2);
            next.insert(interaction, last - n + 1);
        }
    }
    let mut results = Vec::with_capacity(group.len());
    let mut rows = Vec::new();
    for j in group {
        if let Some(m) = stored.get(&key(j)) {
            results.push(Ok((m.clone(), false)));
            continue;
        }
        // An unknown interaction (or another account's) took no seq: it fails alone.
        let Some(seq) = next.get_mut(&j.message.interaction_id.to_string()) else {
            results.push(Err(StoreError::NotFound));
            continue;
        };
        let m = Message {
            id: MessageId::new(),
            interaction_id: j.message.interaction_id,
            seq: *seq,
            sender: j.message.sender,
            agent_id: j.message.agent_id,
            body: j.message.body.clone(),
            client_id: j.message.client_id.clone(),
            created_at: j.at,
            channel: None,
        };
        *seq += 1;
        rows.push(json!({
            "id": m.id.to_string(), "a": j.account.to_string(), "i": m.interaction_id.to_string(),
            "q": m.seq, "s": m.sender.as_str(), "g": m.agent_id.map(|a| a.to_string()),
            "b": m.body, "c": m.client_id, "t": m.created_at,
        }));
        results.push(Ok((m, true)));
    }
    if !rows.is_empty() {
        sqlx::query(q::GROUP_INSERT)
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(results)
}

/// What one job of a group answers, kept until the group's commit decides it.
enum Done {
    Message(oneshot::Sender<Result<(Message, bool)>>, Result<(Message, bool)>),
    Customer(oneshot::Sender<Result<Customer>>, Result<Customer>),
}

async fn commit_group_one_by_one(writer: &Pool<Sqlite>, group: Vec<Job>) {
    let fail = |e: &sqlx::Error| StoreError::Database(sqlx::Error::Protocol(e.to_string()));
    let mut tx = match writer.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            for job in group {
                match job {
                    Job::Chat(MessageJob { done, .. }) | Job::Channel { done, .. } => {
                        let _ = done.send(Err(fail(&e)));
                    }
                    Job::Resolve { done, .. } => {
                        let _ = done.send(Err(fail(&e)));
                    }
                }
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        results.push(match job {
            Job::Chat(MessageJob {
                account,
                message,
                at,
                done,
            }) => Done::Message(
                done,
                SqlStore::<Sqlite>::append_in(&mut tx, account, message, at).await,
            ),
            Job::Channel {
                account,
                message,
                at,
                done,
            } => Done::Message(
                done,
                SqlStore::<Sqlite>::append_channel_in(&mut tx, account, *message, at).await,
            ),
            Job::Resolve {
                account,
                identities,
                name,
                done,
            } => Done::Customer(
                done,
                SqlStore::<Sqlite>::resolve_in(&mut tx, account, &identities, name.as_deref()).await,
            ),
        });
    }
    let committed = tx.commit().await;
    for done in results {
        match (done, &committed) {
            (Done::Message(done, result), Ok(())) => {
                let _ = done.send(result);
            }
            (Done::Customer(done, result), Ok(())) => {
                let _ = done.send(result);
            }
            (Done::Message(done, _), Err(e)) => {
                let _ = done.send(Err(fail(e)));
            }
            (Done::Customer(done, _), Err(e)) => {
                let _ = done.send(Err(fail(e)));
            }
        }
    }
}
