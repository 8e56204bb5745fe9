//! Rows as the database returns them, and the checked conversions into domain types. Shared by
//! both backends: every column is TEXT, an integer or a boolean on either side.

use super::super::{
    ChatSession, EventRecord, LiveSession, NewPhone, Note, Phone, PhoneBinding, Result, SessionInfo,
    StoreError,
};
use crate::domain::{
    Agent, Channel, Customer, Device, Disposition, Interaction, InteractionState, Message, Queue, Role,
    Sender,
};
use std::str::FromStr;

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

/// Parses an id or other `FromStr` column, naming the column when the stored text is bad.
pub(super) fn parse<T: FromStr>(what: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| corrupt(what, value))
}

pub(super) fn parse_opt<T: FromStr>(what: &str, value: Option<&str>) -> Result<Option<T>> {
    value.map(|v| parse(what, v)).transpose()
}

pub(super) fn json<T: serde::de::DeserializeOwned>(what: &str, value: &str) -> Result<T> {
    serde_json::from_str(value).map_err(|_| corrupt(what, value))
}

fn secs(what: &str, value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| corrupt(what, &value.to_string()))
}

/// JSON text for a column. The types stored this way (maps with string keys, vectors of strings,
/// plain structs, `serde_json::Value`) always serialise.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises to JSON")
}

#[derive(sqlx::FromRow)]
pub(super) struct AgentRow {
    id: String,
    account_id: String,
    email: String,
    name: String,
    role: String,
    locale: String,
    skills: String,
    capacity: String,
    deactivated_at: Option<i64>,
    device: String,
    display_name: Option<String>,
    avatar_at: Option<i64>,
}

impl TryFrom<AgentRow> for Agent {
    type Error = StoreError;
    fn try_from(r: AgentRow) -> Result<Agent> {
        Ok(Agent {
            id: parse("agents.id", &r.id)?,
            account_id: parse("agents.account_id", &r.account_id)?,
            role: Role::parse(&r.role).ok_or_else(|| corrupt("agents.role", &r.role))?,
            skills: json("agents.skills", &r.skills)?,
            capacity: json("agents.capacity", &r.capacity)?,
            email: r.email,
            name: r.name,
            locale: r.locale,
            active: r.deactivated_at.is_none(),
            device: Device::parse(&r.device).ok_or_else(|| corrupt("agents.device", &r.device))?,
            display_name: r.display_name,
            avatar_at: r.avatar_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct LiveSessionRow {
    #[sqlx(flatten)]
    agent: AgentRow,
    last_seen_at: i64,
    expires_at: i64,
}

impl TryFrom<LiveSessionRow> for LiveSession {
    type Error = StoreError;
    fn try_from(r: LiveSessionRow) -> Result<LiveSession> {
        Ok(LiveSession {
            agent: r.agent.try_into()?,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    id: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    client_addr: Option<String>,
    user_agent: Option<String>,
}

impl From<SessionRow> for SessionInfo {
    fn from(r: SessionRow) -> SessionInfo {
        SessionInfo {
            id: r.id,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            client_addr: r.client_addr,
            user_agent: r.user_agent,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AgentLoginRow {
    #[sqlx(flatten)]
    pub agent: AgentRow,
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct QueueRow {
    id: String,
    account_id: String,
    name: String,
    required_skills: String,
    priority: i32,
    sl_target_secs: i64,
    max_wait_secs: Option<i64>,
    overflow_queue: Option<String>,
    offer_timeout_secs: i64,
    wrap_up_secs: i64,
    hours: Option<String>,
    callbacks: Option<String>,
    tier_priority: String,
    csat: bool,
}

impl TryFrom<QueueRow> for Queue {
    type Error = StoreError;
    fn try_from(r: QueueRow) -> Result<Queue> {
        Ok(Queue {
            id: parse("queues.id", &r.id)?,
            account_id: parse("queues.account_id", &r.account_id)?,
            required_skills: json("queues.required_skills", &r.required_skills)?,
            priority: r.priority,
            sl_target_secs: secs("queues.sl_target_secs", r.sl_target_secs)?,
            max_wait_secs: r
                .max_wait_secs
                .map(|s| secs("queues.max_wait_secs", s))
                .transpose()?,
            overflow_queue: parse_opt("queues.overflow_queue", r.overflow_queue.as_deref())?,
            offer_timeout_secs: secs("queues.offer_timeout_secs", r.offer_timeout_secs)?,
            wrap_up_secs: secs("queues.wrap_up_secs", r.wrap_up_secs)?,
            hours: r.hours.map(|h| json("queues.hours", &h)).transpose()?,
            callbacks: r.callbacks.map(|c| json("queues.callbacks", &c)).transpose()?,
            tier_priority: json("queues.tier_priority", &r.tier_priority)?,
            csat: r.csat,
            name: r.name,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct DispositionRow {
    code: String,
    label: String,
}

impl TryFrom<DispositionRow> for Disposition {
    type Error = StoreError;
    fn try_from(r: DispositionRow) -> Result<Disposition> {
        Ok(Disposition {
            code: r.code,
            label: r.label,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PhoneRow {
    id: String,
    agent_id: String,
    username: String,
    realm: String,
    created_at: i64,
}

impl TryFrom<PhoneRow> for Phone {
    type Error = StoreError;
    fn try_from(r: PhoneRow) -> Result<Phone> {
        Ok(Phone {
            id: parse("phones.id", &r.id)?,
            agent_id: parse("phones.agent_id", &r.agent_id)?,
            username: r.username,
            realm: r.realm,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PhoneSecretRow {
    agent_id: String,
    username: String,
    realm: String,
    ha1_md5: String,
    ha1_sha256: String,
}

impl TryFrom<PhoneSecretRow> for NewPhone {
    type Error = StoreError;
    fn try_from(r: PhoneSecretRow) -> Result<NewPhone> {
        Ok(NewPhone {
            agent_id: parse("phones.agent_id", &r.agent_id)?,
            username: r.username,
            realm: r.realm,
            ha1_md5: r.ha1_md5,
            ha1_sha256: r.ha1_sha256,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PhoneBindingRow {
    aor: String,
    contact: String,
    username: String,
    q: Option<i32>,
    expires_at: i64,
}

impl TryFrom<PhoneBindingRow> for PhoneBinding {
    type Error = StoreError;
    fn try_from(r: PhoneBindingRow) -> Result<PhoneBinding> {
        let q =
            r.q.map(|q| u16::try_from(q).map_err(|_| corrupt("phone_bindings.q", &q.to_string())))
                .transpose()?;
        Ok(PhoneBinding {
            aor: r.aor,
            contact: r.contact,
            username: r.username,
            q,
            expires_at: r.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CustomerRow {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    tier: Option<String>,
    owner_id: Option<String>,
    owner_name: Option<String>,
    home_owner_id: Option<String>,
    former_owner: Option<String>,
    tags: String,
    created_at: i64,
    claimed: Option<String>,
    fields: String,
    stage: Option<String>,
}

impl TryFrom<CustomerRow> for Customer {
    type Error = StoreError;
    fn try_from(r: CustomerRow) -> Result<Customer> {
        Ok(Customer {
            id: parse("customers.id", &r.id)?,
            tags: json("customers.tags", &r.tags)?,
            fields: json("customers.fields", &r.fields)?,
            claimed: r
                .claimed
                .as_deref()
                .map(|c| json("customers.claimed", c))
                .transpose()?,
            name: r.name,
            email: r.email,
            phone: r.phone,
            tier: r.tier,
            owner_id: parse_opt("customers.owner_id", r.owner_id.as_deref())?,
            owner_name: r.owner_name,
            home_owner_id: parse_opt("customers.home_owner_id", r.home_owner_id.as_deref())?,
            former_owner: r.former_owner,
            stage: match r.stage.as_deref() {
                None => None,
                Some(s) => Some(
                    crate::domain::Lifecycle::parse(s)
                        .ok_or_else(|| StoreError::Corrupt(format!("customers.stage: {s:?}")))?,
                ),
            },
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct InteractionRow {
    id: String,
    account_id: String,
    customer_id: String,
    channel: String,
    queue_id: String,
    state: String,
    priority: i32,
    arrived_at: i64,
    agent_id: Option<String>,
    entry_point: String,
    offline: bool,
    callback: Option<String>,
    snoozed_until: Option<i64>,
    disposition: Option<String>,
    wrap_up_note: Option<String>,
    ended_at: Option<i64>,
}

impl InteractionRow {
    /// The interaction and the account it belongs to (for the cross-account restart lists).
    pub fn into_owned(self) -> Result<(crate::domain::AccountId, Interaction)> {
        let account = parse("interactions.account_id", &self.account_id)?;
        Ok((account, self.try_into()?))
    }
}

impl TryFrom<InteractionRow> for Interaction {
    type Error = StoreError;
    fn try_from(r: InteractionRow) -> Result<Interaction> {
        Ok(Interaction {
            id: parse("interactions.id", &r.id)?,
            customer_id: parse("interactions.customer_id", &r.customer_id)?,
            channel: Channel::parse(&r.channel).ok_or_else(|| corrupt("interactions.channel", &r.channel))?,
            queue_id: parse("interactions.queue_id", &r.queue_id)?,
            state: InteractionState::parse(&r.state)
                .ok_or_else(|| corrupt("interactions.state", &r.state))?,
            priority: r.priority,
            arrived_at: r.arrived_at,
            agent_id: parse_opt("interactions.agent_id", r.agent_id.as_deref())?,
            entry_point: r.entry_point,
            offline: r.offline,
            callback: r
                .callback
                .map(|c| json("interactions.callback", &c))
                .transpose()?,
            snoozed_until: r.snoozed_until,
            disposition: r.disposition,
            wrap_up_note: r.wrap_up_note,
            ended_at: r.ended_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    id: i64,
    interaction_id: String,
    #[sqlx(rename = "type")]
    kind: String,
    data: String,
    at: i64,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<EventRecord> {
        Ok(EventRecord {
            id: r.id,
            interaction_id: parse("interaction_events.interaction_id", &r.interaction_id)?,
            data: json("interaction_events.data", &r.data)?,
            kind: r.kind,
            at: r.at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    id: String,
    interaction_id: String,
    seq: i64,
    sender: String,
    agent_id: Option<String>,
    body: String,
    client_id: String,
    created_at: i64,
}

/// A message a group commit finds already stored, with the index of the job it answers (see
/// `GroupBatch::stored`).
#[derive(sqlx::FromRow)]
pub(super) struct StoredRow {
    pub k: i64,
    #[sqlx(flatten)]
    pub message: MessageRow,
    pub by_external: bool,
}

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> Result<Message> {
        Ok(Message {
            id: parse("messages.id", &r.id)?,
            interaction_id: parse("messages.interaction_id", &r.interaction_id)?,
            sender: Sender::parse(&r.sender).ok_or_else(|| corrupt("messages.sender", &r.sender))?,
            agent_id: parse_opt("messages.agent_id", r.agent_id.as_deref())?,
            seq: r.seq,
            body: r.body,
            client_id: r.client_id,
            created_at: r.created_at,
            channel: None,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct NoteRow {
    id: i64,
    customer_id: String,
    interaction_id: Option<String>,
    agent_id: String,
    body: String,
    created_at: i64,
}

impl TryFrom<NoteRow> for Note {
    type Error = StoreError;
    fn try_from(r: NoteRow) -> Result<Note> {
        Ok(Note {
            id: r.id,
            customer_id: parse("notes.customer_id", &r.customer_id)?,
            interaction_id: parse_opt("notes.interaction_id", r.interaction_id.as_deref())?,
            agent_id: parse("notes.agent_id", &r.agent_id)?,
            body: r.body,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ChatSessionRow {
    account_id: String,
    customer_id: String,
    interaction_id: String,
}

impl TryFrom<ChatSessionRow> for ChatSession {
    type Error = StoreError;
    fn try_from(r: ChatSessionRow) -> Result<ChatSession> {
        Ok(ChatSession {
            account_id: parse("chat_sessions.account_id", &r.account_id)?,
            customer_id: parse("chat_sessions.customer_id", &r.customer_id)?,
            interaction_id: parse("chat_sessions.interaction_id", &r.interaction_id)?,
        })
    }
}

/// Converts every row, stopping at the first corrupt one.
pub(super) fn all<R, T>(rows: Vec<R>) -> Result<Vec<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// `known_contact`'s one row: a customer (or none), how many of the identities looked up are
/// theirs, whether the message is stored, and their open conversation (`i_*`, or none).
#[derive(sqlx::FromRow)]
pub(super) struct KnownRow {
    id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    tier: Option<String>,
    owner_id: Option<String>,
    owner_name: Option<String>,
    home_owner_id: Option<String>,
    former_owner: Option<String>,
    tags: Option<String>,
    created_at: Option<i64>,
    claimed: Option<String>,
    fields: Option<String>,
    stage: Option<String>,
    pub owned: i64,
    pub stored: bool,
    i_id: Option<String>,
    i_account_id: Option<String>,
    i_customer_id: Option<String>,
    i_channel: Option<String>,
    i_queue_id: Option<String>,
    i_state: Option<String>,
    i_priority: Option<i32>,
    i_arrived_at: Option<i64>,
    i_agent_id: Option<String>,
    i_entry_point: Option<String>,
    i_offline: Option<bool>,
    i_callback: Option<String>,
    i_snoozed_until: Option<i64>,
    i_disposition: Option<String>,
    i_wrap_up_note: Option<String>,
    i_ended_at: Option<i64>,
}

impl KnownRow {
    /// The customer and the conversation, each when the row has one.
    pub fn parts(self) -> Result<(Option<Customer>, Option<Interaction>)> {
        let missing = |column: &str| corrupt(column, "NULL");
        let customer = match self.id {
            None => None,
            Some(id) => Some(Customer::try_from(CustomerRow {
                id,
                name: self.name.ok_or_else(|| missing("customers.name"))?,
                email: self.email,
                phone: self.phone,
                tier: self.tier,
                owner_id: self.owner_id,
                owner_name: self.owner_name,
                home_owner_id: self.home_owner_id,
                former_owner: self.former_owner,
                tags: self.tags.ok_or_else(|| missing("customers.tags"))?,
                created_at: self.created_at.ok_or_else(|| missing("customers.created_at"))?,
                claimed: self.claimed,
                fields: self.fields.ok_or_else(|| missing("customers.fields"))?,
                stage: self.stage,
            })?),
        };
        let open = match self.i_id {
            None => None,
            Some(id) => Some(Interaction::try_from(InteractionRow {
                id,
                account_id: self
                    .i_account_id
                    .ok_or_else(|| missing("interactions.account_id"))?,
                customer_id: self
                    .i_customer_id
                    .ok_or_else(|| missing("interactions.customer_id"))?,
                channel: self.i_channel.ok_or_else(|| missing("interactions.channel"))?,
                queue_id: self.i_queue_id.ok_or_else(|| missing("interactions.queue_id"))?,
                state: self.i_state.ok_or_else(|| missing("interactions.state"))?,
                priority: self.i_priority.ok_or_else(|| missing("interactions.priority"))?,
                arrived_at: self
                    .i_arrived_at
                    .ok_or_else(|| missing("interactions.arrived_at"))?,
                agent_id: self.i_agent_id,
                entry_point: self
                    .i_entry_point
                    .ok_or_else(|| missing("interactions.entry_point"))?,
                offline: self.i_offline.ok_or_else(|| missing("interactions.offline"))?,
                callback: self.i_callback,
                snoozed_until: self.i_snoozed_until,
                disposition: self.i_disposition,
                wrap_up_note: self.i_wrap_up_note,
                ended_at: self.i_ended_at,
            })?),
        };
        Ok((customer, open))
    }
}
