//! The contract between the hub and every channel connector. Inbound: what a connector hands the
//! hub's one intake when something arrives (`Inbound`: who, through which entry point, which
//! conversation it continues, the message with its attachments). Outbound: what the hub asks a
//! connector to send (`Outbound`) and what the connector answers (`Delivery`), with one retry
//! schedule for every channel (`retry_delay`). Connectors depend on this crate only, never on the
//! hub; the hub normalises identities, resolves customers and routes what arrives.

use serde::{Deserialize, Serialize};
use std::time::Duration;

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

/// Something a connector received, for the hub's intake: the customer it is from, the entry point
/// it came through, the conversation it continues (if any) and the message it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub channel: Channel,
    /// The entry point it came in through, as the hub names it: `widget:<queue>`, `sip:<number>`,
    /// `mailbox:<id>`. Conversations are only ever continued within one entry point.
    pub entry_point: String,
    /// Every identity the sender carried; the first one that matches a customer wins.
    pub identities: Vec<RawIdentity>,
    /// A display name the sender gave, if any.
    pub display_name: Option<String>,
    /// Which open (or closed) conversation this continues; empty for a new one.
    pub thread: Thread,
    /// Sent by a machine (an auto-reply, a bounce, a mailing list): kept on the timeline, never
    /// routed as new work and never answered. The reason says which rule matched.
    pub automated: Option<String>,
    pub message: Option<InboundMessage>,
}

/// How a message names the conversation it belongs to, strongest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread {
    /// External ids of earlier messages this one answers, most specific first (an email's
    /// In-Reply-To, then its References from the newest back).
    pub replies_to: Vec<String>,
    /// An interaction id the connector read from a token the hub put in its own outgoing
    /// messages (an email's Message-ID), used when none of `replies_to` is known.
    pub token: Option<String>,
}

/// A message as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The platform's id for it (an email's Message-ID, a Telegram update id): a message is
    /// stored once per entry point and external id, however often the platform delivers it.
    pub external_id: String,
    /// Plain text: what the timeline and the offer's preview show.
    pub body: String,
    /// What only this channel has, for the console to show (an email's subject, from, to, cc,
    /// date and sanitised HTML). A JSON object.
    pub details: serde_json::Value,
    pub attachments: Vec<Attachment>,
    /// When the sender says it was sent (milliseconds since the Unix epoch), if it says.
    pub sent_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name as the sender gave it (decoded), or one made up from the content type.
    pub filename: String,
    pub content_type: String,
    /// Shown inside the body (an email's `cid:` image) rather than listed as a file.
    pub content_id: Option<String>,
    pub data: Vec<u8>,
}

/// A message the hub asks a connector to send to a customer. The hub has stored it (queued)
/// before it asks, and records the `Delivery` it gets back.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// The hub's id for the message, stable across retries: a connector that can tell the
    /// platform an idempotency key uses this.
    pub id: String,
    pub channel: Channel,
    /// The entry point to send from (the mailbox, the bot).
    pub entry_point: String,
    /// Where it goes, in the channel's terms (email addresses, a chat id).
    pub to: Vec<String>,
    pub body: String,
    /// Channel-specific fields (an email's subject, cc, In-Reply-To and References). A JSON object.
    pub details: serde_json::Value,
    pub attachments: Vec<Attachment>,
}

/// What became of an `Outbound`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The platform took it; `external_id` is its id there (the Message-ID we sent it under).
    Sent { external_id: String },
    /// Not sent. `permanent`: trying again cannot help (a rejected address, a message too big);
    /// otherwise the hub retries on `retry_delay`'s schedule.
    Failed { reason: String, permanent: bool },
}

/// How long to wait before attempt `attempt + 1` of a send whose attempt `attempt` (from 1)
/// failed for a reason that may pass; `None`: give up and mark the message failed. Thirty seconds
/// doubling to an hour, eight attempts in all (about four hours).
pub fn retry_delay(attempt: u32) -> Option<Duration> {
    const ATTEMPTS: u32 = 8;
    if attempt == 0 || attempt >= ATTEMPTS {
        return None;
    }
    let secs = 30u64.saturating_mul(1 << (attempt - 1).min(10));
    Some(Duration::from_secs(secs.min(3_600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_retried_with_backoff_then_given_up() {
        let schedule: Vec<_> = (0..=9).map(|a| retry_delay(a).map(|d| d.as_secs())).collect();
        assert_eq!(
            schedule,
            [
                None,
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(480),
                Some(960),
                Some(1_920),
                None,
                None
            ]
        );
    }
}
