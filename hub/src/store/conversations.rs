//! What the store keeps for an agent's inbox and for search across conversations: the lists an
//! agent works from (their own, the unassigned ones of their queues, everything they may see, the
//! closed ones), unread counts, labels, and the full-text index the hub's indexer fills behind the
//! message writes (`crate::conversations::run_indexer`). Who may see what is decided by the hub
//! (`crate::conversations::Viewer`) and applied inside every query here, so a row the caller may not see
//! never leaves the database.

use super::Result;
use crate::domain::{
    AccountId, AgentId, Channel, Interaction, InteractionId, InteractionState, Millis, QueueId, Sender,
};
use crate::tokenize::QueryTerm;
use serde::{Deserialize, Serialize};

/// Who is looking, as the queries apply it: an agent sees the conversations they hold or held
/// last, and the waiting ones of the queues they may take; a team lead also every conversation of
/// their teams' queues and of their teams' people; an admin, or a supervisor where there are no
/// teams, the account's.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewer {
    pub agent: AgentId,
    pub sees_all: bool,
    /// The queues whose waiting conversations the agent may see (ignored when `sees_all`).
    pub queues: Vec<QueueId>,
    /// The queues whose every conversation a team lead sees (ignored when `sees_all`).
    pub team_queues: Vec<QueueId>,
    /// The people whose conversations (held now or last) a team lead sees.
    pub team_agents: Vec<AgentId>,
}

/// Which list of the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    /// Held by the viewer now (active or in wrap-up).
    #[default]
    Mine,
    /// Waiting for an agent (queued, or ringing for someone); not what is snoozed.
    Unassigned,
    /// The viewer's snoozed conversations: set aside until a time, theirs again then.
    Snoozed,
    /// Everything the viewer may see, whatever its state.
    All,
    /// Over: wrapped up or abandoned.
    Closed,
}

impl Folder {
    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Mine => "mine",
            Folder::Unassigned => "unassigned",
            Folder::Snoozed => "snoozed",
            Folder::All => "all",
            Folder::Closed => "closed",
        }
    }
}

/// The order of an inbox list, by when each conversation arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationOrder {
    #[default]
    Newest,
    /// Longest waiting first.
    Oldest,
}

/// Where a page of an inbox list ends: the next page starts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor {
    pub arrived_at: Millis,
    pub arrival_seq: i64,
}

impl ConversationCursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.arrived_at, self.arrival_seq)
    }
    pub fn decode(s: &str) -> Option<ConversationCursor> {
        let (at, seq) = s.split_once('.')?;
        Some(ConversationCursor {
            arrived_at: at.parse().ok()?,
            arrival_seq: seq.parse().ok()?,
        })
    }
}

/// An inbox list as asked for; `None` filters nothing.
#[derive(Debug, Clone, Default)]
pub struct ConversationQuery {
    pub folder: Folder,
    pub channel: Option<Channel>,
    pub queue: Option<QueueId>,
    pub label: Option<String>,
    pub state: Option<InteractionState>,
    pub order: ConversationOrder,
    pub after: Option<ConversationCursor>,
    pub limit: u32,
}

/// The newest message of a conversation, cut short for a list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub seq: i64,
    #[schema(value_type = String)]
    pub sender: Sender,
    /// At most `PREVIEW_CHARS` characters.
    pub body: String,
    pub created_at: Millis,
}

/// How much of a message a list shows.
pub const PREVIEW_CHARS: usize = 140;

impl Preview {
    pub fn new(seq: i64, sender: Sender, body: &str, created_at: Millis) -> Preview {
        Preview {
            seq,
            sender,
            body: body.chars().take(PREVIEW_CHARS).collect(),
            created_at,
        }
    }
}

/// One line of an inbox list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Conversation {
    pub interaction: Interaction,
    pub customer_name: String,
    /// Sorted.
    pub labels: Vec<String>,
    /// The customer's messages after the last one this viewer read.
    pub unread: u32,
    pub last_message: Option<Preview>,
    /// Since when the customer has been waiting for an agent: the arrival while it is queued,
    /// the customer's last message while it is open and that message is unanswered.
    pub waiting_since: Option<Millis>,
}

/// A page of an inbox list, and where the next starts (`None`: this was the last).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    pub next: Option<String>,
}

/// A search as asked for: `terms` (from `crate::tokenize::query`) find messages; `text` (trimmed,
/// lower-cased) finds customers by name, email or phone, and labels, on the first page.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub terms: Vec<QueryTerm>,
    pub text: String,
    /// The `next` of the page before.
    pub before: Option<i64>,
    pub limit: u32,
}

/// A message that matched, with its conversation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MessageHit {
    pub interaction: Interaction,
    pub customer_name: String,
    pub message: Preview,
}

/// A page of search results. `conversations` (matched by customer or label, newest first, at
/// most one page) come on the first page only; `messages` newest first, paged by `next`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    pub conversations: Vec<Conversation>,
    pub messages: Vec<MessageHit>,
    pub next: Option<i64>,
}

#[async_trait::async_trait]
pub trait ConversationStore: Send + Sync {
    /// A page of one inbox list, as `viewer` may see it.
    async fn conversations(
        &self,
        account: AccountId,
        viewer: &Viewer,
        query: &ConversationQuery,
    ) -> Result<ConversationPage>;
    /// One conversation as a line of `viewer`'s inbox; `NotFound` when they may not see it.
    async fn conversation(
        &self,
        account: AccountId,
        viewer: &Viewer,
        id: InteractionId,
    ) -> Result<Conversation>;
    /// Records that `agent` has read the conversation up to `seq` (never backwards).
    async fn mark_read(&self, account: AccountId, agent: AgentId, id: InteractionId, seq: i64) -> Result<()>;
    /// Replaces a conversation's labels.
    async fn set_labels(&self, account: AccountId, id: InteractionId, labels: &[String]) -> Result<()>;
    /// Conversations and messages matching a search, as `viewer` may see them.
    async fn search(&self, account: AccountId, viewer: &Viewer, query: &SearchQuery) -> Result<SearchPage>;
    /// Files messages not yet in the search index, up to `limit` of them (and on SQLite up to
    /// `INDEX_BATCH_BYTES` of text); answers how many, and whether more are waiting (the
    /// indexer then goes on at once instead of resting).
    async fn index_messages(&self, limit: u32) -> Result<(usize, bool)>;
}
