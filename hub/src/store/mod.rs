//! Durable state behind one `Store` trait: SQLite (the embedded default) and PostgreSQL (for
//! several nodes). The hub commits here before it tells anyone something happened; every change
//! of an interaction's state is appended to that interaction's event log, the source for reports.

mod audit;
mod channels;
#[cfg(test)]
mod conformance;
mod conversations;
mod crm;
mod csat;
mod knowledge;
mod pipeline;
mod privacy;
mod reports;
mod sql;

pub use audit::{AuditEntry, AuditPage, AuditQuery, AuditStore, MAX_AUDIT_PAGE};
pub use channels::{
    ChannelStore, DeliveryUpdate, InboundFailure, Inbox, InboxSecrets, Known, MailServer, Mailbox,
    MailboxSecrets, MediaFetch, MediaOutcome, MediaUpdate, NewAttachment, NewChannelMessage, OutboxItem,
    StoredAttachment, Upload,
};
pub use csat::CsatStore;
pub use pipeline::{NewOpportunity, OpportunityPatch, PipelineStore};
pub use privacy::{Erased, PrivacyStore};
pub use reports::{Cell, CellMark, LogSpan, NewLine, NewPresence, ReportSettings, ReportStore, Visit};

use crate::domain::{
    AccountId, Agent, AgentId, Capacity, Channel, Customer, CustomerId, Disposition, Interaction,
    InteractionEvent, InteractionId, InteractionState, InvalidTransition, Message, Millis, PhoneId, Queue,
    QueueId, Role, Sender, SkillRequirement, Skills,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use conversations::{
    Conversation, ConversationCursor, ConversationOrder, ConversationPage, ConversationQuery,
    ConversationStore, Folder, MessageHit, PREVIEW_CHARS, Preview, SearchPage, SearchQuery, Viewer,
};
pub use crm::{
    CrmStore, CustomerEvent, CustomerEventKind, Handover, Holdings, Lending, NewFollowUp, OwnerChangeBy,
    OwnerMove,
};
pub use knowledge::KnowledgeStore;
pub use sql::connect;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists ({constraint})")]
    Conflict { constraint: String },
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A newer leader of the routers took over (fencing token `current`): this node's writes
    /// as leader, made with `token`, are refused.
    #[error("deposed: this node led the routers with token {token}, the leader now has {current}")]
    Deposed { token: i64, current: i64 },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub type DynStore = Arc<dyn Store>;

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub locale: String,
    pub skills: Skills,
    pub capacity: Capacity,
    /// argon2 PHC string.
    pub password_hash: String,
}

/// Fields an admin (or the agent, for locale) may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentPatch {
    pub name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    pub locale: Option<String>,
    #[schema(value_type = Option<std::collections::BTreeMap<String, u8>>)]
    pub skills: Option<Skills>,
    pub capacity: Option<Capacity>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    #[schema(value_type = Option<String>)]
    pub device: Option<crate::domain::Device>,
    /// The name customers see; empty takes it away (they see the first word of `name` again).
    pub display_name: Option<String>,
}

/// An agent's picture as it is served: its type (`image/png`, `image/jpeg` or `image/webp`) and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A login about to become a session: where it came from, as an admin will see it.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// SHA-256 of the bearer token (the token itself is never stored).
    pub token_hash: &'a [u8],
    pub agent: &'a Agent,
    pub created_at: Millis,
    pub expires_at: Millis,
    /// The client's address (behind `http.trusted_proxies`, the one they forwarded for).
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// A session token's agent, and when the session was last used (touched at most once a minute,
/// so a busy console does not write on every request).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSession {
    pub agent: Agent,
    pub last_seen_at: Millis,
    /// When it ends by itself (`auth.session_hours` after it was issued).
    pub expires_at: Millis,
}

/// A session as an admin sees it: never its token, nor the token's hash.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// Opaque; what `DELETE /agents/{id}/sessions/{session}` ends it by.
    pub id: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub expires_at: Millis,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueSpec {
    pub name: String,
    #[serde(default)]
    pub required_skills: Vec<SkillRequirement>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default = "QueueSpec::default_sl")]
    pub sl_target_secs: u32,
    #[serde(default)]
    pub max_wait_secs: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub overflow_queue: Option<QueueId>,
    #[serde(default = "QueueSpec::default_offer_timeout")]
    pub offer_timeout_secs: u32,
    #[serde(default = "QueueSpec::default_wrap_up")]
    pub wrap_up_secs: u32,
    /// When it takes calls; none (the default): always.
    #[serde(default)]
    pub hours: Option<crate::domain::BusinessHours>,
    /// Whether callers are offered a callback; none (the default): never.
    #[serde(default)]
    pub callbacks: Option<crate::domain::CallbackPolicy>,
    /// What a customer's tier adds to `priority` (`{"vip": 10}`: VIP first); none by default.
    #[serde(default)]
    pub tier_priority: std::collections::BTreeMap<String, i32>,
    /// Whether its customers are asked to rate a conversation when it ends; off by default.
    #[serde(default)]
    pub csat: bool,
}

impl QueueSpec {
    fn default_sl() -> u32 {
        20
    }
    fn default_offer_timeout() -> u32 {
        20
    }
    fn default_wrap_up() -> u32 {
        60
    }
    pub fn named(name: &str) -> Self {
        QueueSpec {
            name: name.to_string(),
            required_skills: vec![],
            priority: 0,
            sl_target_secs: Self::default_sl(),
            max_wait_secs: None,
            overflow_queue: None,
            offer_timeout_secs: Self::default_offer_timeout(),
            wrap_up_secs: Self::default_wrap_up(),
            hours: None,
            callbacks: None,
            tier_priority: Default::default(),
            csat: false,
        }
    }
}

/// Editable customer fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub tier: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Values of the account's own fields to set (`null`: to take away), by field key; the
    /// others stay as they are.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub customer_id: CustomerId,
    pub channel: Channel,
    pub queue_id: QueueId,
    pub priority: i32,
    pub entry_point: String,
    pub offline: bool,
    pub arrived_at: Millis,
}

impl NewInteraction {
    /// The interaction as it starts: queued, with a fresh id.
    pub fn queued(self) -> Interaction {
        self.queued_as(InteractionId::new())
    }

    /// The same, under an id chosen beforehand (a call is tracked by it before it exists).
    pub fn queued_as(self, id: InteractionId) -> Interaction {
        Interaction {
            id,
            customer_id: self.customer_id,
            channel: self.channel,
            queue_id: self.queue_id,
            state: InteractionState::Queued,
            priority: self.priority,
            arrived_at: self.arrived_at,
            agent_id: None,
            entry_point: self.entry_point,
            offline: self.offline,
            callback: None,
            snoozed_until: None,
            disposition: None,
            wrap_up_note: None,
            ended_at: None,
        }
    }
}

/// What changes alongside a state transition.
#[derive(Debug, Clone, Default)]
pub struct TransitionDetails {
    pub agent_id: Option<AgentId>,
    /// Moves the interaction to another queue (overflow, transfer).
    pub queue_id: Option<QueueId>,
    pub disposition: Option<String>,
    pub wrap_up_note: Option<String>,
    /// Makes it a callback, or changes its next attempt (it waits with nobody on the line).
    pub callback: Option<crate::domain::Callback>,
    /// Snoozes it until then (`InteractionEvent::Snoozed`); any other step wakes it.
    pub snoozed_until: Option<Millis>,
    /// Extra facts for the event log (reason, from/to queue...).
    pub data: serde_json::Value,
}

/// One durable change the dispatcher commits as part of a group (see `Store::commit`).
#[derive(Debug, Clone)]
pub enum Write {
    /// A new interaction, queued, with `interaction.queued` as the first line of its log.
    Open {
        account: AccountId,
        interaction: Interaction,
    },
    /// A step of the interaction state machine, appended to the interaction's event log.
    Transition {
        account: AccountId,
        id: InteractionId,
        event: InteractionEvent,
        details: TransitionDetails,
        at: Millis,
    },
    /// An agent chose a presence: a line of the agents' presence log, which reports read.
    Presence {
        account: AccountId,
        agent: AgentId,
        state: crate::domain::AgentState,
        at: Millis,
    },
    /// An event that changes no state (`call.ended`, `call.held`...), appended to the log.
    Log {
        account: AccountId,
        id: InteractionId,
        kind: std::borrow::Cow<'static, str>,
        data: serde_json::Value,
        at: Millis,
    },
    /// The request another node forwarded to the routers' leader (`cluster.rs`) is carried out
    /// by this commit: a new leader that finds it again does not carry it out twice.
    Forwarded { node: String, id: u64, at: Millis },
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub interaction_id: InteractionId,
    pub sender: Sender,
    pub agent_id: Option<AgentId>,
    pub body: String,
    pub client_id: String,
}

/// A SIP phone to register: its HA1 digests for `realm` are all the store keeps of its password.
#[derive(Debug, Clone)]
pub struct NewPhone {
    pub agent_id: AgentId,
    pub username: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

/// A SIP phone as admins see it (no secrets).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Phone {
    #[schema(value_type = String)]
    pub id: PhoneId,
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    pub username: String,
    pub realm: String,
    pub created_at: Millis,
}

/// Where a phone is registered, as every hub node sees it (the shared copy of a registrar's
/// binding: see `phone_bindings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneBinding {
    /// The address-of-record (`sip:bob-desk@host`).
    pub aor: String,
    /// Where to send the INVITE: the contact URI as the phone registered it.
    pub contact: String,
    /// The phone's username (the AOR's user part).
    pub username: String,
    /// The contact's `q` in thousandths; `None` counts as 1.0.
    pub q: Option<u16>,
    pub expires_at: Millis,
}

/// One change to the shared bindings, as a node's registrar made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingUpdate {
    /// Bound or refreshed (insert or replace).
    Bound(PhoneBinding),
    /// The phone removed this contact, or with `None` every contact of the AOR.
    Removed { aor: String, contact: Option<String> },
    /// The binding lapsed on the node that took it: removed unless it is still live at `at`
    /// (the phone refreshed it through another node meanwhile).
    Lapsed {
        aor: String,
        contact: String,
        at: Millis,
    },
}

/// One line of an interaction's event log.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventRecord {
    pub id: i64,
    #[schema(value_type = String)]
    pub interaction_id: InteractionId,
    /// Dot-case, e.g. `interaction.offered`.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Note {
    pub id: i64,
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    #[schema(value_type = Option<String>)]
    pub interaction_id: Option<InteractionId>,
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    pub body: String,
    pub created_at: Millis,
}

/// A widget's handle on its conversation, kept in the visitor's browser.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatSession {
    pub account_id: AccountId,
    pub customer_id: CustomerId,
    pub interaction_id: InteractionId,
}

/// Applies a state-machine step and its details to an interaction, as `commit` stores it. Pure:
/// the dispatcher keeps its mirror of live interactions with the same function.
pub fn apply_transition(
    i: &mut Interaction,
    event: InteractionEvent,
    details: &TransitionDetails,
    at: Millis,
) -> Result<()> {
    i.state = i.state.transition(event)?;
    if let Some(queue) = details.queue_id {
        i.queue_id = queue;
    }
    if i.state == InteractionState::Queued {
        // Back in the queue (declined, timed out, overflowed): no agent holds it any more.
        i.agent_id = None;
    }
    if let Some(agent) = details.agent_id {
        i.agent_id = Some(agent);
    }
    if let Some(code) = &details.disposition {
        i.disposition = Some(code.clone());
    }
    if let Some(note) = &details.wrap_up_note {
        i.wrap_up_note = Some(note.clone());
    }
    // Snoozed: it stays its agent's (`details.agent_id`) while it sleeps. Any other step ends
    // the snooze.
    i.snoozed_until = details
        .snoozed_until
        .filter(|_| event == InteractionEvent::Snoozed);
    if let Some(callback) = &details.callback {
        i.callback = Some(callback.clone());
        i.offline = true;
    }
    match event {
        InteractionEvent::Abandoned | InteractionEvent::Ended => i.ended_at = Some(at),
        InteractionEvent::WrappedUp => i.ended_at = i.ended_at.or(Some(at)),
        // Open again: the last wrap-up stays in the event log, the next one replaces it here.
        InteractionEvent::Reopened => {
            i.ended_at = None;
            i.disposition = None;
            i.wrap_up_note = None;
        }
        _ => {}
    }
    Ok(())
}

#[async_trait::async_trait]
pub trait Store:
    ChannelStore
    + ConversationStore
    + CrmStore
    + CsatStore
    + KnowledgeStore
    + PipelineStore
    + ReportStore
    + AuditStore
    + PrivacyStore
    + Send
    + Sync
    + 'static
{
    /// Applies pending migrations and makes sure the default account exists.
    async fn migrate(&self) -> Result<()>;

    /// This store, writing `entry` to the audit log in the same transaction as each audited write
    /// made through it (those of configuration, agents and their sessions, and customers' erasure).
    fn audited(&self, entry: AuditEntry) -> DynStore;

    // --- agents and their sessions ---
    async fn create_agent(&self, account: AccountId, agent: NewAgent) -> Result<Agent>;
    async fn update_agent(&self, account: AccountId, id: AgentId, patch: AgentPatch) -> Result<Agent>;
    async fn agent(&self, account: AccountId, id: AgentId) -> Result<Agent>;
    /// The agent and its password hash, for login. Email is matched lower-cased.
    async fn agent_by_email(&self, email: &str) -> Result<(Agent, String)>;
    async fn agents(&self, account: AccountId) -> Result<Vec<Agent>>;
    async fn count_agents(&self, account: AccountId) -> Result<u64>;
    /// Deactivates an agent (`Some(when)`) or makes them active again (`None`). Their sessions
    /// stop answering at once (see `session_agent`); `end_sessions` clears them out.
    async fn set_agent_deactivated(
        &self,
        account: AccountId,
        id: AgentId,
        at: Option<Millis>,
    ) -> Result<Agent>;
    /// Sets (`Some`) or takes away an agent's picture, stamping `avatar_at` with `at`.
    async fn set_avatar(
        &self,
        account: AccountId,
        id: AgentId,
        avatar: Option<Avatar>,
        at: Millis,
    ) -> Result<Agent>;
    /// An agent's picture, by their id alone (`NotFound` when they have none).
    async fn avatar(&self, id: AgentId) -> Result<Avatar>;
    async fn create_session(&self, session: NewSession<'_>) -> Result<()>;
    /// The agent a live (unexpired) session token hash belongs to, unless deactivated.
    async fn session_agent(&self, token_hash: &[u8], now: Millis) -> Result<LiveSession>;
    /// Records that the session was used at `at`.
    async fn touch_session(&self, token_hash: &[u8], at: Millis) -> Result<()>;
    /// An agent's live sessions at `now`, newest first.
    async fn sessions(&self, account: AccountId, agent: AgentId, now: Millis) -> Result<Vec<SessionInfo>>;
    /// Ends one session of an agent by its id; `NotFound` when the agent has none by that id.
    async fn end_session(&self, account: AccountId, agent: AgentId, id: &str) -> Result<()>;
    async fn delete_session(&self, token_hash: &[u8]) -> Result<()>;
    /// Ends every session of an agent but `keep` (the one making the change, if it is theirs):
    /// after a password change, a stolen token stops working. Answers how many ended.
    async fn end_sessions(&self, account: AccountId, agent: AgentId, keep: Option<&[u8]>) -> Result<u64>;
    /// Deletes the sessions expired at `now`; answers how many.
    async fn prune_sessions(&self, now: Millis) -> Result<u64>;

    // --- configuration ---
    async fn create_queue(&self, account: AccountId, spec: QueueSpec) -> Result<Queue>;
    async fn update_queue(&self, account: AccountId, id: QueueId, spec: QueueSpec) -> Result<Queue>;
    async fn queue(&self, account: AccountId, id: QueueId) -> Result<Queue>;
    async fn queue_by_name(&self, account: AccountId, name: &str) -> Result<Queue>;
    async fn queues(&self, account: AccountId) -> Result<Vec<Queue>>;
    async fn upsert_disposition(&self, account: AccountId, disposition: Disposition) -> Result<()>;
    async fn delete_disposition(&self, account: AccountId, code: &str) -> Result<()>;
    async fn dispositions(&self, account: AccountId) -> Result<Vec<Disposition>>;
    /// Conflict when the username is taken (in any account); NotFound for an unknown agent.
    async fn create_phone(&self, account: AccountId, phone: NewPhone) -> Result<Phone>;
    async fn phones(&self, account: AccountId) -> Result<Vec<Phone>>;
    /// Removes a phone, and where it was registered, and answers what it was (the registrar
    /// forgets it by username).
    async fn delete_phone(&self, account: AccountId, id: PhoneId) -> Result<Phone>;
    /// Every phone of every account with its digests: what the SIP registrar checks against.
    async fn phone_secrets(&self) -> Result<Vec<NewPhone>>;
    /// Applies registrars' binding changes in order, all or none: how every node learns where
    /// a phone registered through any of them can be rung.
    async fn update_bindings(&self, updates: &[BindingUpdate]) -> Result<()>;
    /// Where an agent's phones are registered, through any node: the bindings still live at
    /// `now`, highest `q` first.
    async fn phone_bindings(
        &self,
        account: AccountId,
        agent: AgentId,
        now: Millis,
    ) -> Result<Vec<PhoneBinding>>;

    // --- customers ---
    /// Finds the customer owning any of these normalised `(kind, value)` identities, or creates
    /// one; attaches the identities not yet known. Atomic: two concurrent contacts with the same
    /// identity resolve to one customer.
    async fn resolve_customer(
        &self,
        account: AccountId,
        identities: &[(String, String)],
        name: Option<&str>,
    ) -> Result<Customer>;
    async fn customer(&self, account: AccountId, id: CustomerId) -> Result<Customer>;
    /// Makes `from` part of `into` (an agent found they are one person): every identity,
    /// interaction, note and widget session of `from` becomes `into`'s, `into` takes the email
    /// and phone it lacks, and `from` is removed; `log` (the merge on the timeline) is committed
    /// in the same transaction. Answers `into` as it now is. `Conflict` when they are the same.
    async fn merge_customer(
        &self,
        account: AccountId,
        from: CustomerId,
        into: CustomerId,
        log: &[Write],
    ) -> Result<Customer>;
    /// Records what a visitor claimed to be on their customer (display only).
    async fn set_claim(&self, account: AccountId, id: CustomerId, claim: &crate::domain::Claim)
    -> Result<()>;
    async fn update_customer(
        &self,
        account: AccountId,
        id: CustomerId,
        patch: CustomerPatch,
    ) -> Result<Customer>;
    /// Matches a substring of the name, or an email or phone (given in any case or format the
    /// caller already normalised), newest first.
    async fn search_customers(&self, account: AccountId, query: &str, limit: u32) -> Result<Vec<Customer>>;
    async fn customer_interactions(
        &self,
        account: AccountId,
        id: CustomerId,
        limit: u32,
    ) -> Result<Vec<Interaction>>;
    async fn add_note(
        &self,
        account: AccountId,
        customer: CustomerId,
        interaction: Option<InteractionId>,
        agent: AgentId,
        body: &str,
    ) -> Result<Note>;
    async fn notes(&self, account: AccountId, customer: CustomerId) -> Result<Vec<Note>>;

    // --- interactions ---
    /// Creates a queued interaction and logs `interaction.queued`, committed alone; the
    /// dispatcher's `open` commits it with the offer that follows instead.
    async fn create_interaction(&self, account: AccountId, new: NewInteraction) -> Result<Interaction> {
        let interaction = new.queued();
        self.commit(
            None,
            &[Write::Open {
                account,
                interaction: interaction.clone(),
            }],
        )
        .await?;
        Ok(interaction)
    }
    async fn interaction(&self, account: AccountId, id: InteractionId) -> Result<Interaction>;
    /// Commits a group of writes in one transaction, in order, all or none: each transition
    /// goes through the interaction state machine (ending events set `ended_at`) and every write
    /// is appended to its interaction's event log. Answers, per write, the interaction as a
    /// transition left it (`None` for a log line). One commit (one fsync) for the whole group is
    /// what lets the dispatcher keep up: it hands over every write that piled up while the
    /// previous group was on its way to disk.
    /// With `fence`, the group commits only while that is still the routers' fencing token
    /// (`Deposed` otherwise, and nothing is written).
    async fn commit(&self, fence: Option<i64>, writes: &[Write]) -> Result<Vec<Option<Interaction>>>;
    /// Raises the routers' fencing token to `token`, as a node taking over the routers does
    /// before it reads them back; `Deposed` when a newer leader already raised it further. On
    /// PostgreSQL it waits for the previous leader's commits under way, so the read that follows
    /// sees them, and every later commit of the previous leader is refused.
    async fn fence(&self, token: i64) -> Result<()>;
    /// Whether a commit recorded the forwarded request (`Write::Forwarded`).
    async fn forwarded(&self, node: &str, id: u64) -> Result<bool>;
    /// Forgets the forwarded requests recorded before `before`; no node waits for them now.
    async fn prune_forwarded(&self, before: Millis) -> Result<u64>;
    /// One transition, committed alone (set-up, tests); the dispatcher groups them with `commit`.
    async fn transition(
        &self,
        account: AccountId,
        id: InteractionId,
        event: InteractionEvent,
        details: TransitionDetails,
        at: Millis,
    ) -> Result<Interaction> {
        let write = Write::Transition {
            account,
            id,
            event,
            details,
            at,
        };
        match self.commit(None, std::slice::from_ref(&write)).await?.pop() {
            Some(Some(i)) => Ok(i),
            _ => Err(StoreError::Corrupt("a transition answered no interaction".into())),
        }
    }
    async fn events(&self, account: AccountId, id: InteractionId) -> Result<Vec<EventRecord>>;
    /// Every queued or offered interaction of every account, in arrival order: what the router
    /// must hold again after a restart.
    async fn waiting_interactions(&self) -> Result<Vec<(AccountId, Interaction)>>;
    /// Every active or wrapping-up interaction with an agent, for the router after a restart.
    async fn held_interactions(&self) -> Result<Vec<(AccountId, Interaction)>>;
    /// Interactions an agent holds (active or in wrap-up), oldest first.
    async fn agent_interactions(&self, account: AccountId, agent: AgentId) -> Result<Vec<Interaction>>;

    // --- messages ---
    /// Commits a message and gives it the next `seq` of its interaction. Idempotent on
    /// `(interaction, sender, client_id)`: a resend returns the stored message and `false`.
    async fn append_message(
        &self,
        account: AccountId,
        message: NewMessage,
        at: Millis,
    ) -> Result<(Message, bool)>;
    /// Messages of an interaction with `seq > after`, in order.
    async fn messages(&self, account: AccountId, id: InteractionId, after: i64) -> Result<Vec<Message>>;

    // --- widget conversations ---
    async fn create_chat_session(&self, token_hash: &[u8], session: &ChatSession, at: Millis) -> Result<()>;
    async fn chat_session(&self, token_hash: &[u8]) -> Result<ChatSession>;
}
