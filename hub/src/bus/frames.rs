//! What the server sends on `/ws/agent` and `/ws/chat`, as typed frames (docs/protocol.md).

use crate::domain::{
    AgentState, Capacity, Customer, Disposition, Interaction, InteractionId, Message, Skills,
};
use crate::store::Note;
use serde::Serialize;

/// What a channel's connector hears from the dispatcher about its interactions: the phone
/// connector rings the agent's phone on an offer, stops on a revocation, hangs up when the agent
/// ends the call in the console, and puts the caller back on hold music on a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorFrame {
    Offered {
        interaction: InteractionId,
        agent: crate::domain::AgentId,
    },
    OfferRevoked {
        interaction: InteractionId,
        agent: crate::domain::AgentId,
    },
    Ended {
        interaction: InteractionId,
    },
    Transferred {
        interaction: InteractionId,
    },
    /// The agent put the call on hold (`on`) or resumed it.
    Hold {
        interaction: InteractionId,
        on: bool,
    },
    /// The agent asks to call the customer (click-to-call) at this number.
    Dial {
        account: crate::domain::AccountId,
        agent: crate::domain::AgentId,
        customer: crate::domain::CustomerId,
        number: String,
    },
}

/// The screen pop: who the customer is and what happened before.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Card {
    pub customer: Customer,
    /// Last contacts across every channel, newest first.
    pub recent: Vec<Interaction>,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    pub interaction: Interaction,
    pub card: Card,
    pub expires_at: i64,
    /// What the customer wrote so far.
    pub preview: Vec<Message>,
}

/// An interaction the agent holds, with everything needed to show it.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    pub interaction: Interaction,
    pub card: Card,
    pub messages: Vec<Message>,
    /// For a chat: whether the customer has the widget open right now.
    pub customer_online: Option<bool>,
}

/// Whether a chat's customer has a widget open; `None` for channels without that notion.
pub fn customer_online(bus: &super::Bus, interaction: &Interaction) -> Option<bool> {
    (interaction.channel == crate::domain::Channel::Chat).then(|| bus.chat_sessions(interaction.id) > 0)
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentProfile {
    pub id: crate::domain::AgentId,
    pub name: String,
    pub email: String,
    pub role: crate::domain::Role,
    pub locale: String,
    pub capacity: Capacity,
    pub skills: Skills,
}

/// `AgentState` as the wire shows it: `{state, reason}`.
#[derive(Debug, Clone, Serialize)]
pub struct StateView {
    pub state: &'static str,
    pub reason: Option<String>,
}

impl From<&AgentState> for StateView {
    fn from(s: &AgentState) -> Self {
        match s {
            AgentState::Offline => StateView {
                state: "offline",
                reason: None,
            },
            AgentState::Available => StateView {
                state: "available",
                reason: None,
            },
            AgentState::Break(r) => StateView {
                state: "break",
                reason: Some(r.clone()),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum AgentFrame {
    #[serde(rename = "snapshot")]
    Snapshot {
        agent: AgentProfile,
        state: StateView,
        offers: Vec<Offer>,
        interactions: Vec<Held>,
        dispositions: Vec<Disposition>,
    },
    #[serde(rename = "offer")]
    Offer(Offer),
    #[serde(rename = "offer.revoked")]
    OfferRevoked {
        interaction_id: InteractionId,
        reason: &'static str,
    },
    #[serde(rename = "interaction.assigned")]
    Assigned(Held),
    #[serde(rename = "interaction.updated")]
    Updated { interaction: Interaction },
    #[serde(rename = "message")]
    Message { message: Message },
    #[serde(rename = "message.ack")]
    MessageAck { client_id: String, message: Message },
    #[serde(rename = "typing")]
    Typing {
        interaction_id: InteractionId,
        typing: bool,
    },
    /// The customer opened or closed the last widget on a chat the agent holds.
    #[serde(rename = "customer.presence")]
    CustomerPresence {
        interaction_id: InteractionId,
        online: bool,
    },
    /// A call the agent holds was put on hold (the caller hears music) or taken off it.
    #[serde(rename = "call.hold")]
    CallHold { interaction_id: InteractionId, on: bool },
    #[serde(rename = "agent.state")]
    State(StateView),
    #[serde(rename = "note.added")]
    NoteAdded { note: Note },
    #[serde(rename = "error")]
    Error {
        code: String,
        message: String,
        r#ref: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum ChatFrame {
    #[serde(rename = "ready")]
    Ready { agents_available: bool, queue: String },
    #[serde(rename = "started")]
    Started {
        token: String,
        interaction_id: InteractionId,
        offline: bool,
        message: Option<Message>,
    },
    #[serde(rename = "resumed")]
    Resumed {
        interaction_id: InteractionId,
        state: crate::domain::InteractionState,
        agent_name: Option<String>,
        messages: Vec<Message>,
    },
    #[serde(rename = "message.ack")]
    MessageAck { client_id: String, message: Message },
    #[serde(rename = "message")]
    Message { message: Message },
    #[serde(rename = "typing")]
    Typing { typing: bool },
    #[serde(rename = "agent.joined")]
    AgentJoined { agent_name: String },
    #[serde(rename = "ended")]
    Ended,
    #[serde(rename = "error")]
    Error {
        code: String,
        message: String,
        r#ref: Option<String>,
    },
}
