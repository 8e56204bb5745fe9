//! Which conversation a mail continues. Outgoing, `message_id` names our replies so that an answer
//! to one leads back to its interaction (`token`); incoming, `thread_of` lists what a parsed mail
//! answers for the hub's intake. Never by subject: two people writing "Order" are two threads.
//! Pure: no IO.
//!
//! Every Message-ID here is bare, without the angle brackets (`pb.<uuid>.<uuid>@example.com`),
//! as `Mail::message_id`, `in_reply_to` and `references` are, so the hub compares ids as strings.

use crate::parse::Mail;
use plugboard_channel::Thread;
use uuid::Uuid;

const PREFIX: &str = "pb.";

/// The Message-ID of the hub's message `message` in interaction `interaction`, sent from a mailbox
/// of `domain`: `pb.<interaction>.<message>@<domain>`. The same for every attempt at the same
/// message, so a retried send is recognisable as one mail. A valid RFC 5322 §3.6.4 msg-id when
/// the ids are uuids (letters, digits and hyphens: dot-atom-text).
pub fn message_id(interaction: &str, message: &str, domain: &str) -> String {
    format!("{PREFIX}{interaction}.{message}@{domain}")
}

/// The interaction id in one of our own Message-IDs (with or without angle brackets), or `None`
/// for any other id. Both ids must be uuids: a forged or mangled id names no interaction.
pub fn token(message_id: &str) -> Option<String> {
    let id = message_id.trim();
    let id = id.strip_prefix('<').unwrap_or(id);
    let id = id.strip_suffix('>').unwrap_or(id);
    let (left, domain) = id.rsplit_once('@')?;
    if domain.is_empty() {
        return None;
    }
    let (interaction, message) = left.strip_prefix(PREFIX)?.split_once('.')?;
    let interaction = Uuid::try_parse(interaction).ok()?;
    Uuid::try_parse(message).ok()?;
    Some(interaction.hyphenated().to_string())
}

/// What `mail` answers, for the hub: In-Reply-To first, then References from the newest back,
/// each once; the token of the first of them that is one of ours.
pub fn thread_of(mail: &Mail) -> Thread {
    let mut replies_to: Vec<String> = Vec::new();
    for id in mail.in_reply_to.iter().chain(mail.references.iter().rev()) {
        if !id.is_empty() && !replies_to.contains(id) {
            replies_to.push(id.clone());
        }
    }
    let token = replies_to.iter().find_map(|id| token(id));
    Thread { replies_to, token }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERACTION: &str = "0190f3a2-7b1c-7cde-8f00-1234567890ab";
    const MESSAGE: &str = "0190f3a2-8000-7abc-9def-0123456789ab";

    #[test]
    fn our_ids_carry_the_interaction_back() {
        let id = message_id(INTERACTION, MESSAGE, "support.example.com");
        assert_eq!(id, format!("pb.{INTERACTION}.{MESSAGE}@support.example.com"));
        assert_eq!(token(&id).as_deref(), Some(INTERACTION));
        assert_eq!(token(&format!("<{id}>")).as_deref(), Some(INTERACTION));
        // Upper-case hex (a client that re-cased it) still names the same interaction.
        assert_eq!(
            token(&id.to_uppercase().replace("PB.", "pb.")).as_deref(),
            Some(INTERACTION)
        );
    }

    #[test]
    fn anything_else_is_no_token() {
        for id in [
            "CAJ7d0x3Q@mail.gmail.com",
            "",
            "pb.@x",
            "pb.not-a-uuid.0190f3a2-8000-7abc-9def-0123456789ab@example.com",
            "pb.0190f3a2-7b1c-7cde-8f00-1234567890ab.garbage@example.com",
            "pb.0190f3a2-7b1c-7cde-8f00-1234567890ab.0190f3a2-8000-7abc-9def-0123456789ab@",
            "pb.0190f3a2-7b1c-7cde-8f00-1234567890ab",
            "xpb.0190f3a2-7b1c-7cde-8f00-1234567890ab.0190f3a2-8000-7abc-9def-0123456789ab@e.com",
            "pb.0190f3a2-7b1c-7cde-8f00-1234567890ab.0190f3a2-8000-7abc-9def-0123456789ab.x@e.com",
            "pb.'; DROP TABLE interactions; --.0190f3a2-8000-7abc-9def-0123456789ab@e.com",
        ] {
            assert_eq!(token(id), None, "{id}");
        }
    }

    #[test]
    fn thread_lists_in_reply_to_then_references_newest_first() {
        let ours = message_id(INTERACTION, MESSAGE, "support.example.com");
        let mut mail = Mail {
            in_reply_to: vec!["c@x".into()],
            references: vec!["a@x".into(), ours.clone(), "b@x".into(), "c@x".into()],
            ..Mail::default()
        };
        let thread = thread_of(&mail);
        assert_eq!(thread.replies_to, ["c@x", "b@x", ours.as_str(), "a@x"]);
        assert_eq!(thread.token.as_deref(), Some(INTERACTION));

        mail.in_reply_to.clear();
        mail.references.clear();
        assert_eq!(thread_of(&mail), Thread::default());
    }
}
