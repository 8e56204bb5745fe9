//! The store's side of the channels that carry messages with ids of their own (email and
//! messaging apps): messages stored once per entry point and external id, their attachments, the
//! outbox their connectors send from, threading lookups, the platforms' delivery reports, and the
//! mailboxes and inboxes themselves.

use super::{NewMessage, Result, Write};
use crate::domain::{
    AccountId, AgentId, AttachmentId, AttachmentInfo, Customer, CustomerId, DeliveryState, InboxId,
    Interaction, InteractionId, MailboxId, Message, MessageId, Millis, QueueId, UploadId,
};
use serde::{Deserialize, Serialize};

/// A message with the parts only some channels have. With `outbound`, it is queued for its
/// connector in the same commit (delivery `queued`).
#[derive(Debug, Clone)]
pub struct NewChannelMessage {
    /// Committed first, in the same transaction: the interaction the message opens
    /// (`Write::Open`, and `Filed` for one that is never routed), so a crash leaves neither
    /// without the other.
    pub opening: Vec<Write>,
    pub message: NewMessage,
    pub entry_point: String,
    /// The platform's id: a second message with the same one in the same entry point is the
    /// same message (`append_channel_message` answers the stored one and `false`).
    pub external_id: Option<String>,
    pub details: serde_json::Value,
    pub attachments: Vec<NewAttachment>,
    /// What the connector needs to send it (recipients, an email's subject and threading).
    pub outbound: Option<serde_json::Value>,
    /// The files its details name (`details.media`, a messaging app's) are to be fetched: a row
    /// for the fetcher is committed with the message (`claim_media`).
    pub fetch_media: bool,
}

/// An attachment whose bytes are already in the data directory under `sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub content_id: Option<String>,
}

/// An attachment's record: what it is, where its bytes are, whose interaction it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    pub info: AttachmentInfo,
    pub interaction_id: InteractionId,
    pub sha256: String,
}

/// A file an agent uploaded for a mail they are writing, its bytes already in the data directory
/// under `sha256`. Only `agent_id` may send it: a mail names uploads by id, never by hash, so no
/// one can attach a file they did not upload themselves (another customer's, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: UploadId,
    pub agent_id: AgentId,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Millis,
}

/// What the intake needs to know of an arriving contact, read at once (`known_contact`).
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    /// The customer every identity already belongs to, when resolving them would change nothing
    /// (no identity to attach, no name to fill in).
    pub customer: Option<Customer>,
    /// Whether a message with this external id is stored in the entry point already.
    pub stored: bool,
    /// That customer's newest conversation on the entry point that is not over, when asked for
    /// (as `open_conversation` finds it).
    pub open: Option<Interaction>,
}

/// A message due to be sent, claimed by one sender until `claimed_until`.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub account: AccountId,
    pub message: Message,
    pub entry_point: String,
    pub payload: serde_json::Value,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// A message whose files (`details.media`) are due to be fetched, claimed by one fetcher until
/// `claimed_until`.
#[derive(Debug, Clone)]
pub struct MediaFetch {
    pub account: AccountId,
    pub message: Message,
    pub entry_point: String,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What fetching a message's files came to, as the store records it on the message: each file
/// of `details.media` gets `attachment_id` (kept) or `error` (failed for good); while it is
/// tried again, `details.media_retry` says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaUpdate {
    /// Something may pass (the platform down, a timeout): try again at `next_at`.
    Retry {
        attempts: u32,
        next_at: Millis,
        reason: String,
    },
    /// Done: one outcome per file of `details.media`, in order.
    Done(Vec<MediaOutcome>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaOutcome {
    /// On disk under its SHA-256: attached to the message.
    Kept(NewAttachment),
    Failed {
        reason: String,
    },
}

/// What became of a send, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryUpdate {
    /// Sent under `external_id`: replies quoting it thread here.
    Sent { external_id: String },
    /// Failed for now: try again at `next_at`.
    Retry {
        attempts: u32,
        next_at: Millis,
        reason: String,
    },
    /// Failed for good.
    Failed { reason: String },
}

/// How the hub reaches a mail server (the password is kept apart, sealed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    /// `tls` (implicit TLS, ports 993/465), `starttls` or `plain` (only for a server on the
    /// same machine or a trusted network).
    pub security: String,
    pub user: String,
}

/// A support mailbox as admins see it (no passwords).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mailbox {
    #[schema(value_type = String)]
    pub id: MailboxId,
    /// Lower-cased.
    pub address: String,
    pub display_name: String,
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    pub imap: MailServer,
    /// The folder fetched (`INBOX`).
    pub folder: String,
    /// Where a mail goes once it is stored here; unset: it stays, marked seen.
    pub done_folder: Option<String>,
    pub smtp: MailServer,
    pub signature: Option<String>,
    pub created_at: Millis,
}

impl Mailbox {
    /// The entry point its mail comes in through.
    pub fn entry_point(&self) -> String {
        format!("mailbox:{}", self.id)
    }
}

/// A messaging app inbox as admins see it (no secrets): one WhatsApp number or Telegram bot,
/// whose conversations go to one queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inbox {
    #[schema(value_type = String)]
    pub id: InboxId,
    /// `whatsapp`, `telegram` or `wechat`.
    pub platform: String,
    pub name: String,
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// What is not secret: the API's address, the WhatsApp number's id.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub created_at: Millis,
}

impl Inbox {
    /// The entry point its conversations come in through.
    pub fn entry_point(&self) -> String {
        format!("inbox:{}", self.id)
    }
}

/// An inbox with its secrets (a JSON object of tokens), sealed with the hub's secret key.
#[derive(Debug, Clone)]
pub struct InboxSecrets {
    pub account: AccountId,
    pub inbox: Inbox,
    pub secrets: Vec<u8>,
}

/// A mailbox with its passwords, sealed with the hub's secret key.
#[derive(Debug, Clone)]
pub struct MailboxSecrets {
    pub account: AccountId,
    pub mailbox: Mailbox,
    pub imap_password: Vec<u8>,
    pub smtp_password: Vec<u8>,
}

/// Something that arrived and could not be taken in, kept for admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboundFailure {
    pub id: String,
    pub entry_point: String,
    /// Where it was (`uid 42 in INBOX`), with its Message-ID when that could be read.
    pub reference: String,
    pub reason: String,
    pub size: i64,
    pub at: Millis,
}

#[async_trait::async_trait]
pub trait ChannelStore: Send + Sync + 'static {
    /// Commits a message with its channel parts (and outbox row). Idempotent on
    /// `(entry point, external id)` and, like chat, on `(interaction, sender, client_id)`.
    async fn append_channel_message(
        &self,
        account: AccountId,
        message: NewChannelMessage,
        at: Millis,
    ) -> Result<(Message, bool)>;
    /// The interaction of the first message (in the order given) whose external id is one of
    /// `external_ids`, within one entry point.
    async fn thread_of(
        &self,
        account: AccountId,
        entry_point: &str,
        external_ids: &[String],
    ) -> Result<Option<InteractionId>>;
    /// Whether a message with this external id is stored in this entry point.
    async fn has_external(&self, account: AccountId, entry_point: &str, external_id: &str) -> Result<bool>;
    async fn attachment(&self, account: AccountId, id: AttachmentId) -> Result<StoredAttachment>;
    /// An agent's message found by the client_id their console chose, in any interaction (the
    /// oldest, should there be several): how a retried new mail finds the one it already sent.
    async fn agent_message(
        &self,
        account: AccountId,
        agent: AgentId,
        client_id: &str,
    ) -> Result<Option<Message>>;

    async fn create_upload(&self, account: AccountId, upload: &Upload) -> Result<()>;
    async fn upload(&self, account: AccountId, id: UploadId) -> Result<Upload>;

    /// Claims up to `limit` messages due by `now` from entry points starting with `kind`
    /// (`mailbox:`, `inbox:`: each channel's sender claims its own), each until `claimed_until`
    /// (another node's sender skips them meanwhile).
    async fn claim_outbox(
        &self,
        kind: &str,
        now: Millis,
        claimed_until: Millis,
        limit: u32,
    ) -> Result<Vec<OutboxItem>>;
    /// Claims up to `limit` messages whose files are due to be fetched by `now` (`fetch_media`),
    /// each until `claimed_until`.
    async fn claim_media(&self, now: Millis, claimed_until: Millis, limit: u32) -> Result<Vec<MediaFetch>>;
    /// Records what a fetch came to (`MediaUpdate`); answers the message as it now is.
    async fn record_media(
        &self,
        account: AccountId,
        message: MessageId,
        update: MediaUpdate,
    ) -> Result<Message>;
    /// A platform's report on a message we sent (delivered, read, failed), found by the id the
    /// platform gave it: recorded when it moves the state forward (`DeliveryState::may_become`),
    /// and then answered; `None` for an unknown message or a report that came late.
    async fn record_report(
        &self,
        account: AccountId,
        entry_point: &str,
        external_id: &str,
        state: DeliveryState,
        error: Option<String>,
    ) -> Result<Option<Message>>;
    /// In one read, what a contact arriving on an entry point needs when its customer is known:
    /// see `Known` (`open` looks for the open conversation). `identities` are normalised, as
    /// `resolve_customer` takes them; `None` for more than four of them (a WhatsApp contact has two).
    async fn known_contact(
        &self,
        account: AccountId,
        entry_point: &str,
        identities: &[(String, String)],
        name: Option<&str>,
        external_id: &str,
        open: bool,
    ) -> Result<Option<Known>>;
    /// The customer's newest conversation on this entry point that is not over, if any: where
    /// their next message on a messaging app goes.
    async fn open_conversation(
        &self,
        account: AccountId,
        entry_point: &str,
        customer: CustomerId,
    ) -> Result<Option<InteractionId>>;

    async fn create_inbox(&self, account: AccountId, inbox: InboxSecrets) -> Result<Inbox>;
    async fn delete_inbox(&self, account: AccountId, id: InboxId) -> Result<()>;
    async fn inboxes(&self, account: AccountId) -> Result<Vec<Inbox>>;
    /// One inbox with its sealed secrets, whatever its account: a webhook names only the inbox.
    async fn inbox(&self, id: InboxId) -> Result<InboxSecrets>;
    /// Records what became of a send; answers the message as it now is.
    async fn record_delivery(
        &self,
        account: AccountId,
        message: MessageId,
        update: DeliveryUpdate,
    ) -> Result<Message>;

    async fn create_mailbox(&self, account: AccountId, mailbox: MailboxSecrets) -> Result<Mailbox>;
    /// Replaces a mailbox's settings; a password left `None` stays as it is.
    async fn update_mailbox(
        &self,
        account: AccountId,
        mailbox: Mailbox,
        imap_password: Option<Vec<u8>>,
        smtp_password: Option<Vec<u8>>,
    ) -> Result<Mailbox>;
    async fn delete_mailbox(&self, account: AccountId, id: MailboxId) -> Result<()>;
    async fn mailboxes(&self, account: AccountId) -> Result<Vec<Mailbox>>;
    /// Every account's mailboxes with their sealed passwords: what the fetchers run.
    async fn mailbox_secrets(&self) -> Result<Vec<MailboxSecrets>>;
    /// `(UIDVALIDITY, last UID)` fetched so far.
    async fn mailbox_sync(&self, id: MailboxId) -> Result<Option<(i64, i64)>>;
    async fn set_mailbox_sync(&self, id: MailboxId, uid_validity: i64, last_uid: i64) -> Result<()>;

    async fn record_inbound_failure(&self, account: AccountId, failure: &InboundFailure) -> Result<()>;
    async fn inbound_failures(
        &self,
        account: AccountId,
        entry_point: &str,
        limit: u32,
    ) -> Result<Vec<InboundFailure>>;
}
