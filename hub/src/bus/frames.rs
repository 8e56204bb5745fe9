//! What the server sends on `/ws/agent` and `/ws/chat`, as typed frames (docs/protocol.md).

use crate::domain::{
    AgentState, Author, Capacity, Customer, Disposition, Interaction, InteractionId, Message, Skills,
};
use crate::store::Note;
use plugboard_sip::mix::Mix;
use serde::{Deserialize, Deserializer, Serialize};

/// What a channel's connector hears from the dispatcher about its interactions: the phone
/// connector rings the agent's phone on an offer, stops on a revocation, hangs up when the agent
/// ends the call in the console, and puts the caller back on hold music on a transfer. Every
/// node hears these (with Redis), and only the node holding the call acts; a click-to-call is not
/// one of them, since every node would start it (see `telephony::Phones::dial`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The agent's console offers to carry the call's audio (WebRTC): `sdp` is its offer,
    /// already read once by the socket that took it. Only the node holding the call answers
    /// (`AgentFrame::CallMediaAnswer`).
    MediaOffer {
        interaction: InteractionId,
        agent: crate::domain::AgentId,
        sdp: String,
    },
    /// An ICE candidate the agent's console trickled for that audio.
    MediaCandidate {
        interaction: InteractionId,
        agent: crate::domain::AgentId,
        candidate: String,
    },
    /// Keys the agent pressed on the console's keypad (already checked: keypad keys only), for
    /// the other party as RFC 4733 events.
    Keys {
        interaction: InteractionId,
        agent: crate::domain::AgentId,
        digits: String,
    },
    /// The agent holding a call (already checked) consults a colleague about it, brings them into
    /// a conference, hands them the call, or goes back to the caller.
    Consult {
        interaction: InteractionId,
        agent: crate::domain::AgentId,
        step: Consulting,
    },
    /// A supervisor (already checked: one who may see the call) listens to it as `mode`, or
    /// leaves it (`None`). With `sdp` their browser carries the audio; without, their desk phone
    /// rings.
    Monitor {
        interaction: InteractionId,
        supervisor: crate::domain::AgentId,
        name: String,
        mode: Option<Mix>,
        sdp: Option<String>,
    },
}

/// A step of a consult (attended transfer): see `ConnectorFrame::Consult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Consulting {
    /// The caller is held and the colleague's phone rings, the note shown to them.
    Start {
        colleague: crate::domain::AgentId,
        note: Option<String>,
    },
    /// All three on the call.
    Conference,
    /// The colleague takes the call; the agent is off it.
    Transfer,
    /// The colleague is hung up; the agent is back with the caller.
    End,
    /// The colleague's console carries their side (their device is the browser): its WebRTC
    /// offer, every candidate in it.
    Join { sdp: String },
}

/// The screen pop: who the customer is and what happened before.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Card {
    pub customer: Customer,
    /// Last contacts across every channel, newest first.
    pub recent: Vec<Interaction>,
    pub notes: Vec<Note>,
    /// Their satisfaction ratings: how many, the average, the latest; `None`: never rated.
    #[serde(default)]
    pub csat: Option<crate::csat::CustomerCsat>,
}

/// How many of a contact's latest messages an offer carries: enough to see what it is about,
/// never the whole of a long (or flooded) conversation in one frame.
pub const OFFER_PREVIEW: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Offer {
    pub interaction: Interaction,
    pub card: Card,
    pub expires_at: i64,
    /// The latest messages so far, at most `OFFER_PREVIEW`.
    pub preview: Vec<Message>,
    /// How many messages came before those (the console says so; accepting shows them all).
    #[serde(default)]
    pub earlier_messages: usize,
}

impl Offer {
    /// An offer whose preview is the last `OFFER_PREVIEW` of `messages`.
    pub fn new(interaction: Interaction, card: Card, expires_at: i64, mut messages: Vec<Message>) -> Offer {
        let earlier_messages = messages.len().saturating_sub(OFFER_PREVIEW);
        messages.drain(..earlier_messages);
        Offer {
            interaction,
            card,
            expires_at,
            preview: messages,
            earlier_messages,
        }
    }
}

/// An interaction the agent holds, with everything needed to show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentProfile {
    pub id: crate::domain::AgentId,
    pub name: String,
    pub email: String,
    pub role: crate::domain::Role,
    pub locale: String,
    pub capacity: Capacity,
    pub skills: Skills,
    /// Where their calls ring: the desk phone, or this console.
    pub device: crate::domain::Device,
}

/// `AgentState` as the wire shows it: `{state, reason}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateView {
    #[serde(deserialize_with = "agent_state_word")]
    pub state: Word,
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

/// A word from a fixed set. Named rather than written `&'static str` in the frames because serde's
/// derive borrows every `&str` field from its input, which would tie a frame read back from Redis
/// to the buffer it was read from.
pub type Word = &'static str;

/// The words `StateView::state` can hold.
const AGENT_STATES: [&str; 3] = ["offline", "available", "break"];
/// The words the dispatcher gives as an `offer.revoked` reason. A frame read back from Redis with a
/// word not listed here fails to decode, and its subscribers resynchronise rather than see it.
const REVOKE_REASONS: [&str; 5] = [
    "declined",
    "timed_out",
    "agent_unavailable",
    "abandoned",
    "overflowed",
];

/// Frames hold some words as `&'static str` (no allocation on the hot path); read back from
/// another node they map onto the same static words.
fn known_word<'de, D: Deserializer<'de>>(
    words: &'static [&'static str],
    d: D,
) -> Result<&'static str, D::Error> {
    let word = std::borrow::Cow::<str>::deserialize(d)?;
    words
        .iter()
        .find(|w| **w == word)
        .copied()
        .ok_or_else(|| serde::de::Error::unknown_variant(&word, words))
}

fn agent_state_word<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    known_word(&AGENT_STATES, d)
}

fn revoke_reason_word<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    known_word(&REVOKE_REASONS, d)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
        #[serde(deserialize_with = "revoke_reason_word")]
        reason: Word,
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
    /// How a supervisor takes part in a call: to the supervisor, as it starts (`mode`), changes,
    /// or ends (`null`); to the agent on the call, only whether the supervisor is heard
    /// (`whisper` or `barge`; `null` once they are not).
    #[serde(rename = "call.monitor")]
    CallMonitor {
        interaction_id: InteractionId,
        mode: Option<Mix>,
        by_name: String,
    },
    /// A consult, to the agent who asked and to the colleague: `mode` `consult` (the caller on
    /// hold) or `conference`, `on` once the colleague's phone answered, `null` once it is over;
    /// `with_name` is the other of the two, `note` and `customer_name` what the call is about.
    #[serde(rename = "call.consult")]
    CallConsult {
        interaction_id: InteractionId,
        mode: Option<Mix>,
        on: bool,
        with_name: String,
        note: Option<String>,
        customer_name: String,
    },
    /// The hub's SDP answer to the console's `call.media.offer` (or to a supervisor's
    /// `call.monitor` from the browser): the call's audio now flows to this console.
    #[serde(rename = "call.media.answer")]
    CallMediaAnswer {
        interaction_id: InteractionId,
        sdp: String,
    },
    #[serde(rename = "agent.state")]
    State(StateView),
    #[serde(rename = "note.added")]
    NoteAdded { note: Note },
    /// A colleague's note names this agent (`@name`): who wrote it, and about whom.
    #[serde(rename = "note.mentioned")]
    NoteMentioned {
        note: Note,
        by_name: String,
        customer_name: String,
    },
    /// A follow-up of the agent's is due now: the console reminds them.
    #[serde(rename = "follow_up.due")]
    FollowUpDue {
        follow_up: crate::crm::followups::FollowUp,
    },
    /// A follow-up of someone in the supervisor's account is overdue past the escalation delay.
    #[serde(rename = "follow_up.escalated")]
    FollowUpEscalated {
        follow_up: crate::crm::followups::FollowUp,
    },
    /// Something in the inbox lists may have changed (sent to a console watching its inbox, at
    /// most every `CONVERSATIONS_COALESCE`): the console reads its list again, cut to what it may see.
    #[serde(rename = "conversations.changed")]
    ConversationsChanged,
    /// An opportunity this agent may see was created, moved or changed: a console showing the
    /// pipeline reads its board again, cut to what it may see.
    #[serde(rename = "pipeline.changed")]
    PipelineChanged,
    /// To a supervisor who asked to watch a conversation (`conversation.watch`): it as it stands,
    /// then each of its messages as `watched.message`.
    #[serde(rename = "watched")]
    Watched {
        interaction: Interaction,
        messages: Vec<Message>,
    },
    #[serde(rename = "watched.message")]
    WatchedMessage { message: Message },
    /// The watched conversation changed (answered, moved, transferred, ended, wrapped up...).
    #[serde(rename = "watched.updated")]
    WatchedUpdated { interaction: Interaction },
    /// The agent's sessions or profile changed (a logout, a new password, a new role, a new display
    /// name or picture): each open socket of theirs checks its own session again, closes if it has
    /// ended, and otherwise acts as the agent now stands. Never sent to a browser.
    #[serde(rename = "sessions.changed")]
    SessionsChanged,
    #[serde(rename = "error")]
    Error {
        code: String,
        message: String,
        r#ref: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ChatFrame {
    /// `transcript_by_email`: a mailbox can send the chat's transcript when it ends; `csat`: the
    /// customer is asked to rate the chat when it ends.
    #[serde(rename = "ready")]
    Ready {
        agents_available: bool,
        transcript_by_email: bool,
        csat: bool,
        queue: String,
    },
    #[serde(rename = "started")]
    Started {
        token: String,
        interaction_id: InteractionId,
        offline: bool,
        message: Option<Message>,
    },
    /// The conversation as it stands: `agent` holds it now (when it is active); `authors` are
    /// the agents who wrote any of `messages`, as the customer sees them.
    #[serde(rename = "resumed")]
    Resumed {
        interaction_id: InteractionId,
        transcript_by_email: bool,
        /// Its queue asks for a rating at the end; `csat_score`: the one given already.
        csat: bool,
        csat_score: Option<u8>,
        state: crate::domain::InteractionState,
        agent: Option<Author>,
        authors: Vec<Author>,
        messages: Vec<Message>,
    },
    #[serde(rename = "message.ack")]
    MessageAck { client_id: String, message: Message },
    /// A message from the agent (`author`: who wrote it, as the customer sees them).
    #[serde(rename = "message")]
    Message {
        message: Message,
        author: Option<Author>,
    },
    #[serde(rename = "typing")]
    Typing { typing: bool },
    #[serde(rename = "agent.joined")]
    AgentJoined { agent: Author },
    #[serde(rename = "ended")]
    Ended,
    /// The transcript asked for is queued to be mailed to `email`.
    #[serde(rename = "transcript.queued")]
    TranscriptQueued { email: String },
    /// The rating is kept; `already`: this conversation was rated before, and that rating stays.
    #[serde(rename = "csat.recorded")]
    CsatRecorded { score: u8, already: bool },
    #[serde(rename = "error")]
    Error {
        code: String,
        message: String,
        r#ref: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_state_and_revoke_reason_reads_back() {
        for state in [
            AgentState::Offline,
            AgentState::Available,
            AgentState::Break("lunch".into()),
        ] {
            let json = serde_json::to_string(&AgentFrame::State(StateView::from(&state))).unwrap();
            let AgentFrame::State(view) = serde_json::from_str(&json).unwrap() else {
                panic!("not a state frame: {json}");
            };
            assert_eq!(view.state, StateView::from(&state).state);
        }
        for reason in REVOKE_REASONS {
            let frame = AgentFrame::OfferRevoked {
                interaction_id: InteractionId::new(),
                reason,
            };
            let json = serde_json::to_string(&frame).unwrap();
            let back: AgentFrame = serde_json::from_str(&json).unwrap();
            assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }
        let unknown = r#"{"type":"offer.revoked","interaction_id":"0190b0a0-0000-7000-8000-000000000000","reason":"bored"}"#;
        assert!(serde_json::from_str::<AgentFrame>(unknown).is_err());
    }

    #[test]
    fn connector_frames_read_back() {
        let frame = ConnectorFrame::Hold {
            interaction: InteractionId::new(),
            on: true,
        };
        let json = serde_json::to_vec(&frame).unwrap();
        assert_eq!(serde_json::from_slice::<ConnectorFrame>(&json).unwrap(), frame);
    }
}
