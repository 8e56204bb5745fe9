//! `ChannelStore` on both backends: the same statements and bodies for SQLite and PostgreSQL,
//! expanded by `impl_channel_store!` as `impl_store!` does for the rest of the store.

use super::super::channels::{
    ChannelStore, DeliveryUpdate, InboundFailure, Inbox, InboxSecrets, Known, Mailbox, MailboxSecrets,
    MediaFetch, MediaOutcome, MediaUpdate, NewChannelMessage, OutboxItem, StoredAttachment, Upload,
};
use super::super::{Result, StoreError};
use super::rows::{KnownRow, to_json};
use super::{SqlStore, db, identity_key, resolved_customer};
use crate::domain::{
    AccountId, AgentId, AttachmentId, AttachmentInfo, ChannelParts, CustomerId, DeliveryState, InboxId,
    InteractionId, MailboxId, Message, MessageId, Millis, UploadId,
};
use sqlx::postgres::Postgres;
use sqlx::{Database, Pool, Sqlite};
use std::collections::HashMap;
use std::sync::LazyLock;

pub(super) mod q {
    pub const DETAILS_BY_EXTERNAL: &str = "SELECT message_id FROM message_details \
         WHERE account_id = $1 AND entry_point = $2 AND external_id = $3";
    pub const THREAD_OF: &str = "SELECT interaction_id FROM message_details \
         WHERE account_id = $1 AND entry_point = $2 AND external_id = $3";
    pub const INSERT_DETAILS: &str = "INSERT INTO message_details \
         (message_id, account_id, interaction_id, entry_point, external_id, details, delivery) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub const INSERT_ATTACHMENT: &str = "INSERT INTO attachments \
         (id, account_id, interaction_id, message_id, filename, content_type, size, sha256, content_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub const INSERT_OUTBOX: &str = "INSERT INTO outbox (message_id, account_id, entry_point, payload, next_at) \
         VALUES ($1, $2, $3, $4, $5)";
    pub const INSERT_MEDIA_FETCH: &str = "INSERT INTO media_fetches (message_id, account_id, entry_point, next_at) \
         VALUES ($1, $2, $3, $4)";
    pub const DUE_MEDIA: &str = "SELECT message_id, account_id, entry_point, attempts, next_at \
         FROM media_fetches WHERE next_at <= $1 ORDER BY next_at LIMIT $2";
    /// Claims a row only if nobody moved it since it was read.
    pub const CLAIM_MEDIA: &str =
        "UPDATE media_fetches SET next_at = $2 WHERE message_id = $1 AND next_at = $3";
    pub const RETRY_MEDIA: &str =
        "UPDATE media_fetches SET attempts = $3, next_at = $4 WHERE account_id = $1 AND message_id = $2";
    pub const DELETE_MEDIA: &str = "DELETE FROM media_fetches WHERE account_id = $1 AND message_id = $2";
    pub const DETAILS_OF: &str =
        "SELECT details FROM message_details WHERE account_id = $1 AND message_id = $2";
    pub const SET_DETAILS: &str =
        "UPDATE message_details SET details = $3 WHERE account_id = $1 AND message_id = $2";
    pub const MESSAGE: &str = "SELECT id, interaction_id, seq, sender, agent_id, body, client_id, created_at \
         FROM messages WHERE account_id = $1 AND id = $2";
    pub const PARTS_OF_INTERACTION: &str = "SELECT message_id, entry_point, external_id, details, delivery, \
         delivery_error FROM message_details WHERE account_id = $1 AND interaction_id = $2";
    pub const ATTACHMENTS_OF_INTERACTION: &str = "SELECT id, message_id, interaction_id, filename, content_type, \
         size, sha256, content_id FROM attachments WHERE account_id = $1 AND interaction_id = $2 ORDER BY id";
    pub const ATTACHMENT: &str = "SELECT id, message_id, interaction_id, filename, content_type, size, sha256, \
         content_id FROM attachments WHERE account_id = $1 AND id = $2";
    pub const AGENT_MESSAGE: &str = "SELECT id FROM messages \
         WHERE account_id = $1 AND agent_id = $2 AND client_id = $3 AND sender = 'agent' \
         ORDER BY created_at, id LIMIT 1";
    pub const INSERT_UPLOAD: &str = "INSERT INTO uploads \
         (id, account_id, agent_id, filename, content_type, size, sha256, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub const UPLOAD: &str = "SELECT id, agent_id, filename, content_type, size, sha256, created_at \
         FROM uploads WHERE account_id = $1 AND id = $2";
    pub const DUE_OUTBOX: &str = "SELECT message_id, account_id, entry_point, payload, attempts, next_at \
         FROM outbox WHERE next_at <= $1 AND substr(entry_point, 1, length($3)) = $3 \
         ORDER BY next_at LIMIT $2";
    pub const DETAILS_OF_EXTERNAL: &str = "SELECT message_id, delivery FROM message_details \
         WHERE account_id = $1 AND entry_point = $2 AND external_id = $3";
    pub const SET_REPORT: &str = "UPDATE message_details SET delivery = $3, delivery_error = $4 \
         WHERE account_id = $1 AND message_id = $2";
    pub const OPEN_CONVERSATION: &str = "SELECT id FROM interactions \
         WHERE account_id = $1 AND customer_id = $2 AND entry_point = $3 AND state NOT IN ('closed', 'abandoned') \
         ORDER BY arrived_at DESC LIMIT 1";
    pub const INSERT_INBOX: &str = "INSERT INTO inboxes \
         (id, account_id, platform, name, queue_id, settings, secrets, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub const DELETE_INBOX: &str = "DELETE FROM inboxes WHERE account_id = $1 AND id = $2";
    pub const INBOXES: &str = "SELECT id, account_id, platform, name, queue_id, settings, secrets, created_at \
         FROM inboxes WHERE account_id = $1 ORDER BY name";
    pub const INBOX: &str = "SELECT id, account_id, platform, name, queue_id, settings, secrets, created_at \
         FROM inboxes WHERE id = $1";
    /// Claims a row only if nobody moved it since it was read.
    pub const CLAIM_OUTBOX: &str = "UPDATE outbox SET next_at = $2 WHERE message_id = $1 AND next_at = $3";
    pub const DELETE_OUTBOX: &str = "DELETE FROM outbox WHERE account_id = $1 AND message_id = $2";
    pub const RETRY_OUTBOX: &str =
        "UPDATE outbox SET attempts = $3, next_at = $4 WHERE account_id = $1 AND message_id = $2";
    pub const SET_DELIVERY: &str = "UPDATE message_details SET delivery = $3, delivery_error = $4, \
         external_id = COALESCE($5, external_id) WHERE account_id = $1 AND message_id = $2";
    pub const INSERT_MAILBOX: &str = "INSERT INTO mailboxes (id, account_id, address, display_name, queue_id, \
         imap, imap_password, folder, done_folder, smtp, smtp_password, signature, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    pub const UPDATE_MAILBOX: &str = "UPDATE mailboxes SET address = $3, display_name = $4, queue_id = $5, \
         imap = $6, imap_password = COALESCE($7, imap_password), folder = $8, done_folder = $9, smtp = $10, \
         smtp_password = COALESCE($11, smtp_password), signature = $12 WHERE account_id = $1 AND id = $2";
    pub const DELETE_MAILBOX: &str = "DELETE FROM mailboxes WHERE account_id = $1 AND id = $2";
    pub const MAILBOXES: &str = "SELECT id, account_id, address, display_name, queue_id, imap, imap_password, \
         folder, done_folder, smtp, smtp_password, signature, created_at FROM mailboxes \
         WHERE account_id = $1 ORDER BY address";
    pub const ALL_MAILBOXES: &str = "SELECT id, account_id, address, display_name, queue_id, imap, imap_password, \
         folder, done_folder, smtp, smtp_password, signature, created_at FROM mailboxes ORDER BY account_id, address";
    pub const MAILBOX_SYNC: &str = "SELECT uid_validity, last_uid FROM mailbox_sync WHERE mailbox_id = $1";
    pub const SET_MAILBOX_SYNC: &str = "INSERT INTO mailbox_sync (mailbox_id, uid_validity, last_uid) \
         VALUES ($1, $2, $3) ON CONFLICT (mailbox_id) DO UPDATE SET uid_validity = $2, last_uid = $3";
    pub const INSERT_FAILURE: &str = "INSERT INTO inbound_failures \
         (id, account_id, entry_point, reference, reason, size, at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub const FAILURES: &str = "SELECT id, entry_point, reference, reason, size, at FROM inbound_failures \
         WHERE account_id = $1 AND entry_point = $2 ORDER BY at DESC LIMIT $3";
}

/// The most identities `known_contact` looks up in one read.
const KNOWN_IDENTITIES: usize = 4;

/// `known_contact`'s read for 1 to `KNOWN_IDENTITIES` identities (`$5`, `$6` the first one's kind
/// and value, then the others' in pairs): the customer the first identity belongs to, how many of
/// the identities are theirs, whether `$3` is stored in entry point `$2`, and when `$4` is true
/// their newest conversation there that is not over. One row whatever is found.
static KNOWN_CONTACT: LazyLock<Vec<String>> = LazyLock::new(|| {
    (1..=KNOWN_IDENTITIES)
        .map(|n| {
            let theirs = (0..n)
                .map(|k| format!("(k.kind = ${} AND k.value = ${})", 5 + 2 * k, 6 + 2 * k))
                .collect::<Vec<_>>()
                .join(" OR ");
            format!(
                "SELECT c.id, c.name, c.email, c.phone, c.tier, c.owner_id, \
                 (SELECT a.name FROM agents AS a WHERE a.account_id = c.account_id AND a.id = c.owner_id) AS owner_name, \
                 c.home_owner_id, c.former_owner, c.tags, c.created_at, c.claimed, c.fields, c.stage, \
                 (SELECT COUNT(*) FROM identities AS k WHERE k.account_id = $1 AND k.customer_id = c.id \
                 AND ({theirs})) AS owned, \
                 EXISTS (SELECT 1 FROM message_details AS d WHERE d.account_id = $1 AND d.entry_point = $2 \
                 AND d.external_id = $3) AS stored, \
                 i.id AS i_id, i.account_id AS i_account_id, i.customer_id AS i_customer_id, \
                 i.channel AS i_channel, i.queue_id AS i_queue_id, \
                 i.state AS i_state, i.priority AS i_priority, i.arrived_at AS i_arrived_at, \
                 i.agent_id AS i_agent_id, i.entry_point AS i_entry_point, i.offline AS i_offline, \
                 i.callback AS i_callback, i.snoozed_until AS i_snoozed_until, \
                 i.disposition AS i_disposition, i.wrap_up_note AS i_wrap_up_note, i.ended_at AS i_ended_at \
                 FROM (SELECT 1 AS one) AS one \
                 LEFT JOIN identities AS o ON o.account_id = $1 AND o.kind = $5 AND o.value = $6 \
                 LEFT JOIN customers AS c ON c.account_id = o.account_id AND c.id = o.customer_id \
                 LEFT JOIN interactions AS i ON $4 AND i.account_id = o.account_id \
                 AND i.customer_id = o.customer_id AND i.entry_point = $2 AND i.state NOT IN ('closed', 'abandoned') \
                 ORDER BY i.arrived_at DESC LIMIT 1"
            )
        })
        .collect()
});

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

fn parse<T: std::str::FromStr>(what: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| corrupt(what, value))
}

fn json<T: serde::de::DeserializeOwned>(what: &str, value: &str) -> Result<T> {
    serde_json::from_str(value).map_err(|_| corrupt(what, value))
}

#[derive(sqlx::FromRow)]
struct PartsRow {
    message_id: String,
    entry_point: String,
    external_id: Option<String>,
    details: String,
    delivery: Option<String>,
    delivery_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: String,
    message_id: String,
    interaction_id: String,
    filename: String,
    content_type: String,
    size: i64,
    sha256: String,
    content_id: Option<String>,
}

impl AttachmentRow {
    fn stored(self) -> Result<(String, StoredAttachment)> {
        Ok((
            self.message_id,
            StoredAttachment {
                info: AttachmentInfo {
                    id: parse("attachments.id", &self.id)?,
                    filename: self.filename,
                    content_type: self.content_type,
                    size: self.size,
                    content_id: self.content_id,
                },
                interaction_id: parse("attachments.interaction_id", &self.interaction_id)?,
                sha256: self.sha256,
            },
        ))
    }
}

#[derive(sqlx::FromRow)]
struct UploadRow {
    id: String,
    agent_id: String,
    filename: String,
    content_type: String,
    size: i64,
    sha256: String,
    created_at: i64,
}

impl TryFrom<UploadRow> for Upload {
    type Error = StoreError;
    fn try_from(r: UploadRow) -> Result<Upload> {
        Ok(Upload {
            id: parse("uploads.id", &r.id)?,
            agent_id: parse("uploads.agent_id", &r.agent_id)?,
            filename: r.filename,
            content_type: r.content_type,
            size: r.size,
            sha256: r.sha256,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    message_id: String,
    account_id: String,
    entry_point: String,
    payload: String,
    attempts: i64,
    next_at: i64,
}

#[derive(sqlx::FromRow)]
struct MediaRow {
    message_id: String,
    account_id: String,
    entry_point: String,
    attempts: i64,
    next_at: i64,
}

/// Writes a fetch's outcome into a message's details: `media_retry` while it is tried again;
/// once done, each file's `attachment_id` (`kept`, in the order of `details.media`, `None` for
/// a failed one) or `error`.
fn media_details(details: &mut serde_json::Value, update: &MediaUpdate, kept: &[Option<AttachmentId>]) {
    use serde_json::json;
    let Some(object) = details.as_object_mut() else {
        return;
    };
    match update {
        MediaUpdate::Retry { attempts, reason, .. } => {
            object.insert(
                "media_retry".into(),
                json!({"attempts": attempts, "reason": reason}),
            );
        }
        MediaUpdate::Done(outcomes) => {
            object.remove("media_retry");
            let Some(media) = object.get_mut("media").and_then(|m| m.as_array_mut()) else {
                return;
            };
            for ((file, outcome), id) in media.iter_mut().zip(outcomes).zip(kept) {
                match (outcome, id) {
                    (MediaOutcome::Kept(_), Some(id)) => file["attachment_id"] = json!(id.to_string()),
                    (MediaOutcome::Failed { reason }, _) => file["error"] = json!(reason),
                    (MediaOutcome::Kept(_), None) => {}
                }
            }
        }
    }
}

#[derive(sqlx::FromRow)]
struct MailboxRow {
    id: String,
    account_id: String,
    address: String,
    display_name: String,
    queue_id: String,
    imap: String,
    imap_password: Vec<u8>,
    folder: String,
    done_folder: Option<String>,
    smtp: String,
    smtp_password: Vec<u8>,
    signature: Option<String>,
    created_at: i64,
}

impl TryFrom<MailboxRow> for MailboxSecrets {
    type Error = StoreError;
    fn try_from(r: MailboxRow) -> Result<MailboxSecrets> {
        Ok(MailboxSecrets {
            account: parse("mailboxes.account_id", &r.account_id)?,
            mailbox: Mailbox {
                id: parse("mailboxes.id", &r.id)?,
                address: r.address,
                display_name: r.display_name,
                queue_id: parse("mailboxes.queue_id", &r.queue_id)?,
                imap: json("mailboxes.imap", &r.imap)?,
                folder: r.folder,
                done_folder: r.done_folder,
                smtp: json("mailboxes.smtp", &r.smtp)?,
                signature: r.signature,
                created_at: r.created_at,
            },
            imap_password: r.imap_password,
            smtp_password: r.smtp_password,
        })
    }
}

#[derive(sqlx::FromRow)]
struct InboxRow {
    id: String,
    account_id: String,
    platform: String,
    name: String,
    queue_id: String,
    settings: String,
    secrets: Vec<u8>,
    created_at: i64,
}

impl TryFrom<InboxRow> for InboxSecrets {
    type Error = StoreError;
    fn try_from(r: InboxRow) -> Result<InboxSecrets> {
        Ok(InboxSecrets {
            account: parse("inboxes.account_id", &r.account_id)?,
            inbox: Inbox {
                id: parse("inboxes.id", &r.id)?,
                platform: r.platform,
                name: r.name,
                queue_id: parse("inboxes.queue_id", &r.queue_id)?,
                settings: json("inboxes.settings", &r.settings)?,
                created_at: r.created_at,
            },
            secrets: r.secrets,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FailureRow {
    id: String,
    entry_point: String,
    reference: String,
    reason: String,
    size: i64,
    at: i64,
}

/// Puts each message's channel parts (and attachments) on it, from the rows of its interaction.
fn attach_parts(
    messages: &mut [Message],
    parts: Vec<PartsRow>,
    attachments: Vec<AttachmentRow>,
) -> Result<()> {
    let mut files: HashMap<String, Vec<AttachmentInfo>> = HashMap::new();
    for row in attachments {
        let (message, stored) = row.stored()?;
        files.entry(message).or_default().push(stored.info);
    }
    let mut parts: HashMap<String, PartsRow> = parts.into_iter().map(|p| (p.message_id.clone(), p)).collect();
    for m in messages {
        let key = m.id.to_string();
        let Some(p) = parts.remove(&key) else { continue };
        let delivery = match p.delivery.as_deref() {
            None => None,
            Some(d) => Some(DeliveryState::parse(d).ok_or_else(|| corrupt("message_details.delivery", d))?),
        };
        m.channel = Some(Box::new(ChannelParts {
            entry_point: p.entry_point,
            external_id: p.external_id,
            details: json("message_details.details", &p.details)?,
            delivery,
            delivery_error: p.delivery_error,
            attachments: files.remove(&key).unwrap_or_default(),
        }));
    }
    Ok(())
}

macro_rules! impl_channel_store {
    ($db:ty) => {
        impl SqlStore<$db> {
            /// Fills in the channel parts of messages of one interaction.
            pub(super) async fn with_parts(
                pool: &Pool<$db>,
                account: AccountId,
                interaction: InteractionId,
                messages: &mut [Message],
            ) -> Result<()> {
                if messages.is_empty() {
                    return Ok(());
                }
                let parts = sqlx::query_as::<_, PartsRow>(q::PARTS_OF_INTERACTION)
                    .bind(account.to_string())
                    .bind(interaction.to_string())
                    .fetch_all(pool)
                    .await
                    .map_err(db)?;
                if parts.is_empty() {
                    return Ok(());
                }
                let files = sqlx::query_as::<_, AttachmentRow>(q::ATTACHMENTS_OF_INTERACTION)
                    .bind(account.to_string())
                    .bind(interaction.to_string())
                    .fetch_all(pool)
                    .await
                    .map_err(db)?;
                attach_parts(messages, parts, files)
            }

            /// Appends a channel message (and the writes that open its interaction) inside the
            /// caller's transaction, in a savepoint of its own. A message already stored (the same
            /// external id, or the same sender's client id) comes back with `false` and without its
            /// channel parts: the caller reads those once the transaction is over.
            pub(super) async fn append_channel_in(
                conn: &mut <$db as Database>::Connection,
                account: AccountId,
                m: NewChannelMessage,
                at: Millis,
            ) -> Result<(Message, bool)> {
                let interaction = m.message.interaction_id;
                use sqlx::Connection;
                let mut tx = conn.begin().await.map_err(db)?;
                if let Some(external) = &m.external_id {
                    let stored: Option<String> = sqlx::query_scalar(q::DETAILS_BY_EXTERNAL)
                        .bind(account.to_string())
                        .bind(&m.entry_point)
                        .bind(external)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                    if let Some(id) = stored {
                        let message = Self::message_by_id(&mut *tx, account, &id).await?;
                        tx.rollback().await.map_err(db)?;
                        return Ok((message, false));
                    }
                }
                Self::write_all(&mut tx, &m.opening).await?;
                let (mut message, created) = Self::append_in(&mut *tx, account, m.message, at).await?;
                if !created {
                    tx.rollback().await.map_err(db)?;
                    return Ok((message, false));
                }
                let delivery = m.outbound.as_ref().map(|_| DeliveryState::Queued);
                sqlx::query(q::INSERT_DETAILS)
                    .bind(message.id.to_string())
                    .bind(account.to_string())
                    .bind(interaction.to_string())
                    .bind(&m.entry_point)
                    .bind(&m.external_id)
                    .bind(to_json(&m.details))
                    .bind(delivery.map(DeliveryState::as_str))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let mut files = Vec::with_capacity(m.attachments.len());
                for a in m.attachments {
                    let id = AttachmentId::new();
                    sqlx::query(q::INSERT_ATTACHMENT)
                        .bind(id.to_string())
                        .bind(account.to_string())
                        .bind(interaction.to_string())
                        .bind(message.id.to_string())
                        .bind(&a.filename)
                        .bind(&a.content_type)
                        .bind(a.size)
                        .bind(&a.sha256)
                        .bind(&a.content_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    files.push(AttachmentInfo {
                        id,
                        filename: a.filename,
                        content_type: a.content_type,
                        size: a.size,
                        content_id: a.content_id,
                    });
                }
                if let Some(payload) = &m.outbound {
                    sqlx::query(q::INSERT_OUTBOX)
                        .bind(message.id.to_string())
                        .bind(account.to_string())
                        .bind(&m.entry_point)
                        .bind(to_json(payload))
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                if m.fetch_media {
                    sqlx::query(q::INSERT_MEDIA_FETCH)
                        .bind(message.id.to_string())
                        .bind(account.to_string())
                        .bind(&m.entry_point)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)?;
                message.channel = Some(Box::new(ChannelParts {
                    entry_point: m.entry_point,
                    external_id: m.external_id,
                    details: m.details,
                    delivery,
                    delivery_error: None,
                    attachments: files,
                }));
                Ok((message, true))
            }

            /// Deletes one of an account's rows (`sql` takes the account and the id); `NotFound`
            /// when there is none.
            async fn delete_owned(&self, sql: &'static str, account: AccountId, id: String) -> Result<()> {
                let mut tx = self.write().await?;
                let gone = sqlx::query(sql)
                    .bind(account.to_string())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?
                    .rows_affected();
                if gone == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await
            }

            /// Moves a due row of `table` (with `sql`: the outbox's, or media to fetch) from
            /// `next_at` to `claimed_until`, only if nobody moved it since it was read; answers its
            /// account and message when this caller got it.
            async fn claim(
                &self,
                sql: &'static str,
                table: &str,
                message: &str,
                account: &str,
                (next_at, claimed_until): (Millis, Millis),
            ) -> Result<Option<(AccountId, Message)>> {
                let claimed = sqlx::query(sql)
                    .bind(message)
                    .bind(claimed_until)
                    .bind(next_at)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?
                    .rows_affected();
                if claimed == 0 {
                    return Ok(None);
                }
                let account: AccountId = parse(&format!("{table}.account_id"), account)?;
                Ok(Some((
                    account,
                    self.message_with_parts(account, message).await?,
                )))
            }

            /// One message with its channel parts, read outside any transaction.
            async fn message_with_parts(&self, account: AccountId, id: &str) -> Result<Message> {
                let mut conn = self.pool.acquire().await.map_err(db)?;
                let mut message = Self::message_by_id(&mut *conn, account, id).await?;
                drop(conn);
                let interaction = message.interaction_id;
                Self::with_parts(
                    &self.pool,
                    account,
                    interaction,
                    std::slice::from_mut(&mut message),
                )
                .await?;
                Ok(message)
            }

            async fn message_by_id(
                conn: &mut <$db as Database>::Connection,
                account: AccountId,
                id: &str,
            ) -> Result<Message> {
                let row = sqlx::query_as::<_, super::rows::MessageRow>(q::MESSAGE)
                    .bind(account.to_string())
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db)?;
                row.try_into()
            }
        }

        #[async_trait::async_trait]
        impl ChannelStore for SqlStore<$db> {
            async fn append_channel_message(
                &self,
                account: AccountId,
                m: NewChannelMessage,
                at: Millis,
            ) -> Result<(Message, bool)> {
                let (mut message, created) = self.group.append_channel(account, m, at).await?;
                if !created {
                    let interaction = message.interaction_id;
                    Self::with_parts(
                        &self.pool,
                        account,
                        interaction,
                        std::slice::from_mut(&mut message),
                    )
                    .await?;
                }
                Ok((message, created))
            }

            async fn thread_of(
                &self,
                account: AccountId,
                entry_point: &str,
                external_ids: &[String],
            ) -> Result<Option<InteractionId>> {
                for id in external_ids {
                    let found: Option<String> = sqlx::query_scalar(q::THREAD_OF)
                        .bind(account.to_string())
                        .bind(entry_point)
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db)?;
                    if let Some(found) = found {
                        return Ok(Some(parse("message_details.interaction_id", &found)?));
                    }
                }
                Ok(None)
            }

            async fn has_external(
                &self,
                account: AccountId,
                entry_point: &str,
                external_id: &str,
            ) -> Result<bool> {
                let found: Option<String> = sqlx::query_scalar(q::DETAILS_BY_EXTERNAL)
                    .bind(account.to_string())
                    .bind(entry_point)
                    .bind(external_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(found.is_some())
            }

            async fn attachment(&self, account: AccountId, id: AttachmentId) -> Result<StoredAttachment> {
                let row = sqlx::query_as::<_, AttachmentRow>(q::ATTACHMENT)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(row.stored()?.1)
            }

            async fn agent_message(
                &self,
                account: AccountId,
                agent: AgentId,
                client_id: &str,
            ) -> Result<Option<Message>> {
                let found: Option<String> = sqlx::query_scalar(q::AGENT_MESSAGE)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                let Some(id) = found else {
                    return Ok(None);
                };
                Ok(Some(self.message_with_parts(account, &id).await?))
            }

            async fn create_upload(&self, account: AccountId, u: &Upload) -> Result<()> {
                sqlx::query(q::INSERT_UPLOAD)
                    .bind(u.id.to_string())
                    .bind(account.to_string())
                    .bind(u.agent_id.to_string())
                    .bind(&u.filename)
                    .bind(&u.content_type)
                    .bind(u.size)
                    .bind(&u.sha256)
                    .bind(u.created_at)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn upload(&self, account: AccountId, id: UploadId) -> Result<Upload> {
                sqlx::query_as::<_, UploadRow>(q::UPLOAD)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?
                    .try_into()
            }

            async fn claim_outbox(
                &self,
                kind: &str,
                now: Millis,
                claimed_until: Millis,
                limit: u32,
            ) -> Result<Vec<OutboxItem>> {
                let rows = sqlx::query_as::<_, OutboxRow>(q::DUE_OUTBOX)
                    .bind(now)
                    .bind(i64::from(limit))
                    .bind(kind)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let mut items = Vec::with_capacity(rows.len());
                for row in rows {
                    let claimed = self
                        .claim(
                            q::CLAIM_OUTBOX,
                            "outbox",
                            &row.message_id,
                            &row.account_id,
                            (row.next_at, claimed_until),
                        )
                        .await?;
                    let Some((account, message)) = claimed else {
                        continue;
                    };
                    items.push(OutboxItem {
                        account,
                        message,
                        entry_point: row.entry_point,
                        payload: json("outbox.payload", &row.payload)?,
                        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                    });
                }
                Ok(items)
            }

            async fn claim_media(
                &self,
                now: Millis,
                claimed_until: Millis,
                limit: u32,
            ) -> Result<Vec<MediaFetch>> {
                let rows = sqlx::query_as::<_, MediaRow>(q::DUE_MEDIA)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let mut due = Vec::with_capacity(rows.len());
                for row in rows {
                    let claimed = self
                        .claim(
                            q::CLAIM_MEDIA,
                            "media_fetches",
                            &row.message_id,
                            &row.account_id,
                            (row.next_at, claimed_until),
                        )
                        .await?;
                    let Some((account, message)) = claimed else {
                        continue;
                    };
                    due.push(MediaFetch {
                        account,
                        message,
                        entry_point: row.entry_point,
                        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                    });
                }
                Ok(due)
            }

            async fn record_media(
                &self,
                account: AccountId,
                message: MessageId,
                update: MediaUpdate,
            ) -> Result<Message> {
                let id = message.to_string();
                let mut tx = self.write().await?;
                let details: String = sqlx::query_scalar(q::DETAILS_OF)
                    .bind(account.to_string())
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?
                    .ok_or(StoreError::NotFound)?;
                let mut details: serde_json::Value = json("message_details.details", &details)?;
                let stored = Self::message_by_id(&mut *tx, account, &id).await?;
                let mut kept = Vec::new();
                match &update {
                    MediaUpdate::Retry {
                        attempts, next_at, ..
                    } => {
                        sqlx::query(q::RETRY_MEDIA)
                            .bind(account.to_string())
                            .bind(&id)
                            .bind(i64::from(*attempts))
                            .bind(*next_at)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                    MediaUpdate::Done(outcomes) => {
                        for outcome in outcomes {
                            let MediaOutcome::Kept(a) = outcome else {
                                kept.push(None);
                                continue;
                            };
                            let attachment = AttachmentId::new();
                            sqlx::query(q::INSERT_ATTACHMENT)
                                .bind(attachment.to_string())
                                .bind(account.to_string())
                                .bind(stored.interaction_id.to_string())
                                .bind(&id)
                                .bind(&a.filename)
                                .bind(&a.content_type)
                                .bind(a.size)
                                .bind(&a.sha256)
                                .bind(&a.content_id)
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?;
                            kept.push(Some(attachment));
                        }
                        sqlx::query(q::DELETE_MEDIA)
                            .bind(account.to_string())
                            .bind(&id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                }
                media_details(&mut details, &update, &kept);
                sqlx::query(q::SET_DETAILS)
                    .bind(account.to_string())
                    .bind(&id)
                    .bind(to_json(&details))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                self.message_with_parts(account, &id).await
            }

            async fn record_delivery(
                &self,
                account: AccountId,
                message: MessageId,
                update: DeliveryUpdate,
            ) -> Result<Message> {
                let id = message.to_string();
                let mut tx = self.write().await?;
                let (state, error, external) = match &update {
                    DeliveryUpdate::Sent { external_id } => {
                        (DeliveryState::Sent, None, Some(external_id.as_str()))
                    }
                    DeliveryUpdate::Retry { reason, .. } => {
                        (DeliveryState::Queued, Some(reason.as_str()), None)
                    }
                    DeliveryUpdate::Failed { reason } => (DeliveryState::Failed, Some(reason.as_str()), None),
                };
                match &update {
                    DeliveryUpdate::Retry {
                        attempts, next_at, ..
                    } => sqlx::query(q::RETRY_OUTBOX)
                        .bind(account.to_string())
                        .bind(&id)
                        .bind(i64::from(*attempts))
                        .bind(*next_at),
                    _ => sqlx::query(q::DELETE_OUTBOX)
                        .bind(account.to_string())
                        .bind(&id),
                }
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                sqlx::query(q::SET_DELIVERY)
                    .bind(account.to_string())
                    .bind(&id)
                    .bind(state.as_str())
                    .bind(error)
                    .bind(external)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let mut stored = Self::message_by_id(&mut *tx, account, &id).await?;
                tx.commit().await.map_err(db)?;
                let interaction = stored.interaction_id;
                Self::with_parts(
                    &self.pool,
                    account,
                    interaction,
                    std::slice::from_mut(&mut stored),
                )
                .await?;
                Ok(stored)
            }

            async fn create_mailbox(&self, account: AccountId, m: MailboxSecrets) -> Result<Mailbox> {
                let mut tx = self.write().await?;
                let b = &m.mailbox;
                sqlx::query(q::INSERT_MAILBOX)
                    .bind(b.id.to_string())
                    .bind(account.to_string())
                    .bind(&b.address)
                    .bind(&b.display_name)
                    .bind(b.queue_id.to_string())
                    .bind(to_json(&b.imap))
                    .bind(&m.imap_password)
                    .bind(&b.folder)
                    .bind(&b.done_folder)
                    .bind(to_json(&b.smtp))
                    .bind(&m.smtp_password)
                    .bind(&b.signature)
                    .bind(b.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await?;
                Ok(m.mailbox)
            }

            async fn update_mailbox(
                &self,
                account: AccountId,
                b: Mailbox,
                imap_password: Option<Vec<u8>>,
                smtp_password: Option<Vec<u8>>,
            ) -> Result<Mailbox> {
                let mut tx = self.write().await?;
                let changed = sqlx::query(q::UPDATE_MAILBOX)
                    .bind(account.to_string())
                    .bind(b.id.to_string())
                    .bind(&b.address)
                    .bind(&b.display_name)
                    .bind(b.queue_id.to_string())
                    .bind(to_json(&b.imap))
                    .bind(imap_password)
                    .bind(&b.folder)
                    .bind(&b.done_folder)
                    .bind(to_json(&b.smtp))
                    .bind(smtp_password)
                    .bind(&b.signature)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?
                    .rows_affected();
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await?;
                Ok(b)
            }

            async fn record_report(
                &self,
                account: AccountId,
                entry_point: &str,
                external_id: &str,
                state: DeliveryState,
                error: Option<String>,
            ) -> Result<Option<Message>> {
                let mut tx = self.write().await?;
                let found: Option<(String, Option<String>)> = sqlx::query_as(q::DETAILS_OF_EXTERNAL)
                    .bind(account.to_string())
                    .bind(entry_point)
                    .bind(external_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                let Some((id, Some(now))) = found else {
                    return Ok(None);
                };
                let Some(now) = DeliveryState::parse(&now) else {
                    return Ok(None);
                };
                if !now.may_become(state) {
                    return Ok(None);
                }
                sqlx::query(q::SET_REPORT)
                    .bind(account.to_string())
                    .bind(&id)
                    .bind(state.as_str())
                    .bind(&error)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let mut message = Self::message_by_id(&mut tx, account, &id).await?;
                tx.commit().await.map_err(db)?;
                let interaction = message.interaction_id;
                Self::with_parts(
                    &self.pool,
                    account,
                    interaction,
                    std::slice::from_mut(&mut message),
                )
                .await?;
                Ok(Some(message))
            }

            async fn known_contact(
                &self,
                account: AccountId,
                entry_point: &str,
                identities: &[(String, String)],
                name: Option<&str>,
                external_id: &str,
                open: bool,
            ) -> Result<Option<Known>> {
                let mut keys: Vec<(String, String)> = Vec::with_capacity(identities.len());
                for key in identities.iter().map(|(k, v)| identity_key(k, v)) {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                if keys.is_empty() || keys.len() > KNOWN_IDENTITIES {
                    return Ok(None);
                }
                let mut query = sqlx::query_as::<_, KnownRow>(KNOWN_CONTACT[keys.len() - 1].as_str())
                    .bind(account.to_string())
                    .bind(entry_point)
                    .bind(external_id)
                    .bind(open);
                for (kind, value) in &keys {
                    query = query.bind(kind).bind(value);
                }
                let row = query.fetch_one(&self.pool).await.map_err(db)?;
                let owned = usize::try_from(row.owned).unwrap_or(0);
                let stored = row.stored;
                let (customer, open) = row.parts()?;
                // Known only if resolving would change nothing: every identity theirs already,
                // no name to fill in.
                let customer = customer.filter(|c| {
                    owned == keys.len() && resolved_customer(Some(c.clone()), &[], name, 0) == *c
                });
                let open = open.filter(|_| customer.is_some());
                Ok(Some(Known {
                    customer,
                    stored,
                    open,
                }))
            }

            async fn open_conversation(
                &self,
                account: AccountId,
                entry_point: &str,
                customer: CustomerId,
            ) -> Result<Option<InteractionId>> {
                let found: Option<String> = sqlx::query_scalar(q::OPEN_CONVERSATION)
                    .bind(account.to_string())
                    .bind(customer.to_string())
                    .bind(entry_point)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                found.map(|id| parse("interactions.id", &id)).transpose()
            }

            async fn create_inbox(&self, account: AccountId, i: InboxSecrets) -> Result<Inbox> {
                let mut tx = self.write().await?;
                let b = &i.inbox;
                sqlx::query(q::INSERT_INBOX)
                    .bind(b.id.to_string())
                    .bind(account.to_string())
                    .bind(&b.platform)
                    .bind(&b.name)
                    .bind(b.queue_id.to_string())
                    .bind(to_json(&b.settings))
                    .bind(&i.secrets)
                    .bind(b.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await?;
                Ok(i.inbox)
            }

            async fn delete_inbox(&self, account: AccountId, id: InboxId) -> Result<()> {
                self.delete_owned(q::DELETE_INBOX, account, id.to_string())
                    .await
            }

            async fn inboxes(&self, account: AccountId) -> Result<Vec<Inbox>> {
                let rows = sqlx::query_as::<_, InboxRow>(q::INBOXES)
                    .bind(account.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter()
                    .map(|r| InboxSecrets::try_from(r).map(|s| s.inbox))
                    .collect()
            }

            async fn inbox(&self, id: InboxId) -> Result<InboxSecrets> {
                let row = sqlx::query_as::<_, InboxRow>(q::INBOX)
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?
                    .ok_or(StoreError::NotFound)?;
                row.try_into()
            }

            async fn delete_mailbox(&self, account: AccountId, id: MailboxId) -> Result<()> {
                self.delete_owned(q::DELETE_MAILBOX, account, id.to_string())
                    .await
            }

            async fn mailboxes(&self, account: AccountId) -> Result<Vec<Mailbox>> {
                let rows = sqlx::query_as::<_, MailboxRow>(q::MAILBOXES)
                    .bind(account.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter()
                    .map(|r| MailboxSecrets::try_from(r).map(|s| s.mailbox))
                    .collect()
            }

            async fn mailbox_secrets(&self) -> Result<Vec<MailboxSecrets>> {
                let rows = sqlx::query_as::<_, MailboxRow>(q::ALL_MAILBOXES)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter().map(MailboxSecrets::try_from).collect()
            }

            async fn mailbox_sync(&self, id: MailboxId) -> Result<Option<(i64, i64)>> {
                sqlx::query_as::<_, (i64, i64)>(q::MAILBOX_SYNC)
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)
            }

            async fn set_mailbox_sync(&self, id: MailboxId, uid_validity: i64, last_uid: i64) -> Result<()> {
                sqlx::query(q::SET_MAILBOX_SYNC)
                    .bind(id.to_string())
                    .bind(uid_validity)
                    .bind(last_uid)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn record_inbound_failure(&self, account: AccountId, f: &InboundFailure) -> Result<()> {
                sqlx::query(q::INSERT_FAILURE)
                    .bind(&f.id)
                    .bind(account.to_string())
                    .bind(&f.entry_point)
                    .bind(&f.reference)
                    .bind(&f.reason)
                    .bind(f.size)
                    .bind(f.at)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn inbound_failures(
                &self,
                account: AccountId,
                entry_point: &str,
                limit: u32,
            ) -> Result<Vec<InboundFailure>> {
                let rows = sqlx::query_as::<_, FailureRow>(q::FAILURES)
                    .bind(account.to_string())
                    .bind(entry_point)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(rows
                    .into_iter()
                    .map(|r| InboundFailure {
                        id: r.id,
                        entry_point: r.entry_point,
                        reference: r.reference,
                        reason: r.reason,
                        size: r.size,
                        at: r.at,
                    })
                    .collect())
            }
        }
    };
}

impl_channel_store!(Sqlite);
impl_channel_store!(Postgres);
