//! The contract between the hub and every channel connector: what a connector hands the hub when
//! something arrives (`Inbound`), and the identities it names customers by. Connectors depend on
//! this crate only, never on the hub; the hub normalises identities and routes what arrives.

use serde::{Deserialize, Serialize};

/// The kind of contact, which decides the capacity slot an agent spends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Voice,
    Chat,
    Email,
    Messaging,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Voice, Channel::Chat, Channel::Email, Channel::Messaging];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Messaging => "messaging",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How a customer is known to a channel, as the connector saw it (not yet normalised: the hub
/// lower-cases email addresses and turns phone numbers into E.164 before resolving a customer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RawIdentity {
    Email(String),
    Phone(String),
    /// A web visitor, known only by the id the widget generated.
    Visitor(String),
    /// An account on a messaging platform: `(platform, id)`, e.g. `("telegram", "123456")`.
    Platform {
        platform: String,
        id: String,
    },
}

/// Something a connector received that the hub must route: the first contact of an interaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inbound {
    pub channel: Channel,
    /// The entry point it came in through: a widget id, a dialled number, a mailbox address.
    pub entry_point: String,
    /// Every identity the contact carried; the first one that matches a customer wins.
    pub identities: Vec<RawIdentity>,
    /// A display name the customer gave, if any.
    pub display_name: Option<String>,
    /// The queue the entry point maps to, by name.
    pub queue: String,
    /// The first message, if the contact started with one (a chat's opening line, an email body).
    pub first_message: Option<String>,
}
