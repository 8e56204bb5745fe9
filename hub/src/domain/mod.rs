//! Plain types every part of the hub shares: ids, agents, queues, customers, interactions and
//! their state machine. No IO here; the router, the store and the API all speak these.

mod callback;
mod hours;
mod identity;
mod interaction;

pub use callback::{Callback, CallbackPolicy, Missed};
pub use hours::{BusinessHours, Day, Span};
pub use identity::{EmailAddress, IdentityError, PhoneE164, normalise_identity};
pub use interaction::{
    CALL_HELD, CALL_RESUMED, InteractionEvent, InteractionState, InvalidTransition, QUEUED, WATCHED,
};
pub use plugboard_channel::{Channel, RawIdentity};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Milliseconds since the Unix epoch. Time is a plain number everywhere in the hub so the router
/// and the state machines can be driven by a test clock.
pub type Millis = i64;

/// The hub's clock: what the shells stamp their writes with. In tests, the time a thread set with
/// `test_clock::set` (so a whole day can be replayed through the dispatcher at the times it
/// names), else the system's.
pub fn now_millis() -> Millis {
    #[cfg(test)]
    if let Some(at) = test_clock::now() {
        return at;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A clock a test sets for the thread it runs on (a `#[tokio::test]` runs the dispatcher's tasks
/// on that same thread).
#[cfg(test)]
pub mod test_clock {
    use super::Millis;
    use std::cell::Cell;

    thread_local! {
        static NOW: Cell<Option<Millis>> = const { Cell::new(None) };
    }

    pub fn set(at: Millis) {
        NOW.set(Some(at));
    }

    pub fn now() -> Option<Millis> {
        NOW.get()
    }
}

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
    /// A tenant: every row belongs to one.
    AccountId,
    /// An agent, supervisor or admin: anyone who logs in to the console.
    AgentId,
    QueueId,
    CustomerId,
    InteractionId,
    MessageId,
    /// A SIP phone an agent is called on.
    PhoneId,
);

impl AccountId {
    /// The account a fresh install works in until someone creates another.
    pub const DEFAULT: AccountId = AccountId(Uuid::from_u128(1));
}

/// What a console user may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Agent, Role::Supervisor, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Where an agent takes their calls: their SIP desk phone, or the console itself (a WebRTC
/// softphone in the browser tab).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    #[default]
    Desk,
    Browser,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desk => "desk",
            Device::Browser => "browser",
        }
    }
    pub fn parse(s: &str) -> Option<Device> {
        [Device::Desk, Device::Browser]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// The presence an agent chose. Busy and wrap-up are not states an agent picks: they follow from
/// the interactions the agent holds. Presence is explicit, never guessed from a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum AgentState {
    Offline,
    Available,
    Break(String),
}

impl AgentState {
    /// The state's name as stored and sent (`offline`, `available`, `break`).
    pub fn word(&self) -> &'static str {
        match self {
            AgentState::Offline => "offline",
            AgentState::Available => "available",
            AgentState::Break(_) => "break",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            AgentState::Break(reason) => Some(reason),
            _ => None,
        }
    }

    /// Reads a stored state back (`word` and `reason`).
    pub fn from_word(word: &str, reason: Option<String>) -> Option<AgentState> {
        match word {
            "offline" => Some(AgentState::Offline),
            "available" => Some(AgentState::Available),
            "break" => Some(AgentState::Break(reason.unwrap_or_default())),
            _ => None,
        }
    }
}

/// The reason the router puts on an agent who let an offer time out (RONA).
pub const MISSED_OFFER: &str = "missed offer";

/// Concurrent interactions an agent can hold, per channel. A voice interaction blocks new offers
/// on every other channel while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Capacity {
    pub voice: u16,
    pub chat: u16,
    pub email: u16,
    pub messaging: u16,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            voice: 1,
            chat: 3,
            email: 5,
            messaging: 3,
        }
    }
}

impl Capacity {
    pub fn of(&self, channel: Channel) -> u16 {
        match channel {
            Channel::Voice => self.voice,
            Channel::Chat => self.chat,
            Channel::Email => self.email,
            Channel::Messaging => self.messaging,
        }
    }
}

/// Skill name → level (1 = basic … 10 = expert).
pub type Skills = BTreeMap<String, u8>;

/// A skill a queue requires, at least at `min_level`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkillRequirement {
    pub skill: String,
    #[serde(default = "one")]
    pub min_level: u8,
}

fn one() -> u8 {
    1
}

/// True when `skills` meets every requirement.
pub fn has_skills(skills: &Skills, required: &[SkillRequirement]) -> bool {
    required
        .iter()
        .all(|r| skills.get(&r.skill).is_some_and(|level| *level >= r.min_level))
}

/// Someone who logs in to the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agent {
    #[schema(value_type = String)]
    pub id: AgentId,
    #[schema(value_type = String)]
    pub account_id: AccountId,
    /// Login name, lower-cased.
    pub email: String,
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
    /// Message catalogue for the console: "en" or "zh-CN".
    pub locale: String,
    pub skills: Skills,
    pub capacity: Capacity,
    /// False once an admin deactivated them: they cannot log in and are never offered contacts,
    /// but they stay, so history keeps their name.
    #[serde(default = "active")]
    pub active: bool,
    /// Where calls offered to them ring.
    #[serde(default)]
    pub device: Device,
    /// The name customers see, chosen by the agent (`Author`); none: the first word of `name`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// When they last set their picture (`GET /avatars/{id}`); none: they have no picture.
    #[serde(default)]
    pub avatar_at: Option<Millis>,
}

fn active() -> bool {
    true
}

impl Agent {
    /// Who they are to a customer: their display name (else their first name alone, never the
    /// whole legal name) and their picture's address.
    pub fn author(&self) -> Author {
        let name = match self.display_name.as_deref() {
            Some(shown) => shown.to_owned(),
            None => self.name.split_whitespace().next().unwrap_or_default().to_owned(),
        };
        Author {
            id: self.id,
            name,
            avatar: self.avatar_at.map(|at| format!("/avatars/{}?v={at}", self.id)),
        }
    }
}

/// An agent as a customer sees them, in the widget and wherever they write to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Author {
    #[schema(value_type = String)]
    pub id: AgentId,
    pub name: String,
    /// The picture's path on the hub (`/avatars/{id}?v=…`), when they have one.
    pub avatar: Option<String>,
}

/// A waiting line with the rules for what waits in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Queue {
    #[schema(value_type = String)]
    pub id: QueueId,
    #[schema(value_type = String)]
    pub account_id: AccountId,
    pub name: String,
    pub required_skills: Vec<SkillRequirement>,
    /// Higher is served first; contacts inherit it when they enter the queue.
    pub priority: i32,
    /// The service-level target: answered within this many seconds.
    pub sl_target_secs: u32,
    /// After this long waiting here, a contact moves to `overflow_queue` (keeping its arrival time).
    pub max_wait_secs: Option<u32>,
    #[schema(value_type = Option<String>)]
    pub overflow_queue: Option<QueueId>,
    /// How long an agent has to accept an offer before it moves on (RONA).
    pub offer_timeout_secs: u32,
    /// How long after an interaction ends the agent's slot stays held for wrap-up, at most.
    pub wrap_up_secs: u32,
    /// When it takes calls; none: always. A caller outside them leaves a voicemail.
    #[serde(default)]
    pub hours: Option<BusinessHours>,
    /// Whether its callers are offered a callback, and how one is tried; none: never offered.
    #[serde(default)]
    pub callbacks: Option<CallbackPolicy>,
    /// What a customer's tier adds to `priority` here (VIP first), by tier name in any case.
    #[serde(default)]
    pub tier_priority: BTreeMap<String, i32>,
    /// Whether its customers are asked to rate a conversation when it ends (`crate::csat`).
    #[serde(default)]
    pub csat: bool,
}

impl Queue {
    /// The priority a contact from a customer of this tier enters the queue with.
    pub fn priority_for(&self, tier: Option<&str>) -> i32 {
        let boost = tier
            .and_then(|tier| {
                self.tier_priority
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(tier.trim()))
            })
            .map_or(0, |(_, boost)| *boost);
        self.priority.saturating_add(boost)
    }
}

/// A disposition (wrap-up) code an agent picks when closing an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Disposition {
    pub code: String,
    pub label: String,
}

/// One person, however many channels they reach us by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    #[schema(value_type = String)]
    pub id: CustomerId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// What a web visitor said they are, unproven: shown as "says they are …", never used to
    /// find this customer or another.
    #[serde(default)]
    pub claimed: Option<Claim>,
    /// A service tier such as "gold"; free text set by the business.
    pub tier: Option<String>,
    /// The agent who owns the relationship (assigned by the account's rules or a supervisor).
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<AgentId>,
    /// The owner's name, read with the customer for the card.
    pub owner_name: Option<String>,
    /// While the owner covers for a colleague on leave: the colleague, to whom the customer
    /// returns when the leave ends.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub home_owner_id: Option<AgentId>,
    /// The free-text owner of before owners were agents, kept where it named none of them.
    #[serde(default)]
    pub former_owner: Option<String>,
    pub tags: Vec<String>,
    /// The values of the account's own fields (`crm::fields`), by field key.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Their lifecycle stage (`crm::pipeline`); none until someone sets one.
    #[serde(default)]
    pub stage: Option<Lifecycle>,
    pub created_at: Millis,
}

/// Where a customer is in their relationship with the business. The keys are stable (the
/// knowledge base tags articles with them); the labels are the account's (`PipelineSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Lead,
    Prospect,
    Customer,
    Churned,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 4] = [
        Lifecycle::Lead,
        Lifecycle::Prospect,
        Lifecycle::Customer,
        Lifecycle::Churned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Lead => "lead",
            Lifecycle::Prospect => "prospect",
            Lifecycle::Customer => "customer",
            Lifecycle::Churned => "churned",
        }
    }

    pub fn parse(s: &str) -> Option<Lifecycle> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// An email address and a phone number a visitor typed, normalised like identities but not one:
/// anyone can type anyone's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One contact: a call, a chat session, an email thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Interaction {
    #[schema(value_type = String)]
    pub id: InteractionId,
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    #[schema(value_type = String)]
    pub channel: Channel,
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    #[schema(value_type = String)]
    pub state: InteractionState,
    pub priority: i32,
    /// When the contact first arrived; overflow keeps it, so order survives moves.
    pub arrived_at: Millis,
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    pub entry_point: String,
    /// Left while nobody could take it (the widget's offline form, a voicemail), or waiting with
    /// nobody on the line (a callback).
    pub offline: bool,
    /// The customer is to be called back: whom to call, not before when.
    #[serde(default)]
    pub callback: Option<Callback>,
    /// Snoozed by `agent_id` (who keeps it) until then: it waits with nobody offered it, and
    /// comes back to them first when it is due or the customer writes. `None`: not snoozed.
    #[serde(default)]
    pub snoozed_until: Option<Millis>,
    pub disposition: Option<String>,
    pub wrap_up_note: Option<String>,
    pub ended_at: Option<Millis>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Customer,
    Agent,
    System,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Agent => "agent",
            Sender::System => "system",
        }
    }
    pub fn parse(s: &str) -> Option<Sender> {
        [Sender::Customer, Sender::Agent, Sender::System]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// The most text one chat message may carry.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// One message in an interaction. `seq` orders an interaction's messages and lets a reconnecting
/// client ask for "everything after n".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    #[schema(value_type = String)]
    pub id: MessageId,
    #[schema(value_type = String)]
    pub interaction_id: InteractionId,
    pub seq: i64,
    #[schema(value_type = String)]
    pub sender: Sender,
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    pub body: String,
    /// The id the sending client chose, so a resend after a dropped network is stored once.
    pub client_id: String,
    pub created_at: Millis,
    /// What a message of a channel other than chat carries besides its text (an email's
    /// headers, attachments, delivery state); absent on chat messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub channel: Option<Box<ChannelParts>>,
}

/// The parts of a message only some channels have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelParts {
    /// The entry point it came in through or goes out from (`mailbox:<id>`).
    pub entry_point: String,
    /// The platform's id for it (an email's Message-ID), once known.
    pub external_id: Option<String>,
    /// Channel-specific fields for the console (an email's subject, from, to, cc, HTML).
    pub details: serde_json::Value,
    /// For a message we send: queued, sent or failed (with `delivery_error`).
    pub delivery: Option<DeliveryState>,
    pub delivery_error: Option<String>,
    pub attachments: Vec<AttachmentInfo>,
}

/// Where a message we send through a connector stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Sent,
    /// On the customer's device (messaging apps say so).
    Delivered,
    /// Seen by the customer (messaging apps say so).
    Read,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Read => "read",
            DeliveryState::Failed => "failed",
        }
    }

    /// Whether a platform's later report may replace `self` with `next`: states only move
    /// forward (reports arrive out of order), and a failure is final.
    pub fn may_become(self, next: DeliveryState) -> bool {
        let rank = |s: DeliveryState| match s {
            DeliveryState::Queued => 0,
            DeliveryState::Sent => 1,
            DeliveryState::Delivered => 2,
            DeliveryState::Read => 3,
            DeliveryState::Failed => 4,
        };
        self != DeliveryState::Failed && rank(next) > rank(self)
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Sent,
            Self::Delivered,
            Self::Read,
            Self::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

id_type!(
    /// A file attached to a message.
    AttachmentId,
    /// A support mailbox.
    MailboxId,
    /// A file an agent uploaded to send by email.
    UploadId,
    /// A messaging app inbox (a WhatsApp number, a Telegram bot).
    InboxId,
    /// A supervisor's move of an agent's customers to others (for a leave or for good).
    HandoverId,
    /// A task or callback on a customer.
    FollowUpId,
    /// A sale in the making with a customer, on the account's pipeline.
    OpportunityId,
    /// Agents a supervisor leads, and the queues they serve.
    TeamId,
    /// A saved customer search.
    SegmentId,
    /// A knowledge base article.
    ArticleId,
    /// A canned response agents insert from the composer.
    CannedId,
);

/// A file attached to a message, as the console lists it (its bytes are fetched by id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// For an image shown inside an email's HTML (`cid:`).
    pub content_id: Option<String>,
}
