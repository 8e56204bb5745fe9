//! A conversation's transcript as plain text, for the agent to download (and keep or pass on):
//! who wrote each line as the customer saw them, at what local time, and the files named. Pure:
//! the REST handler (`GET /interactions/{id}/transcript`) reads what it needs and calls `render`.

use crate::domain::{AgentId, Author, Interaction, Message, Sender};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The transcript: a head (customer, channel, start and end) and a line per message.
pub fn render(
    interaction: &Interaction,
    customer: &str,
    messages: &[Message],
    authors: &[Author],
    zone: &TimeZone,
) -> String {
    let at = |ms: i64| {
        Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned_datetime(zone.clone())
                    .strftime("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let mut out = format!(
        "Conversation with {customer}\nChannel: {}\nStarted: {}\n",
        interaction.channel.as_str(),
        at(interaction.arrived_at)
    );
    if let Some(ended) = interaction.ended_at {
        out.push_str(&format!("Ended: {}\n", at(ended)));
    }
    out.push('\n');
    let name_of = |id: Option<AgentId>| {
        id.and_then(|id| authors.iter().find(|a| a.id == id))
            .map_or("Agent", |a| a.name.as_str())
    };
    for m in messages {
        let who = match m.sender {
            Sender::Customer => customer,
            Sender::Agent => name_of(m.agent_id),
            Sender::System => "—",
        };
        let time = Timestamp::from_millisecond(m.created_at)
            .map(|t| t.to_zoned_datetime(zone.clone()).strftime("%H:%M").to_string())
            .unwrap_or_default();
        let mut text = m.body.trim_end().replace('\n', "\n    ");
        for file in m.channel.iter().flat_map(|c| c.attachments.iter()) {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("[file: {}]", file.filename));
        }
        out.push_str(&format!("[{time}] {who}: {text}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AttachmentInfo, ChannelParts, InteractionId, MessageId};

    fn line(seq: i64, sender: Sender, agent: Option<AgentId>, body: &str, at: i64) -> Message {
        Message {
            id: MessageId::new(),
            interaction_id: InteractionId::new(),
            seq,
            sender,
            agent_id: agent,
            body: body.into(),
            client_id: format!("c{seq}"),
            created_at: at,
            channel: None,
        }
    }

    #[test]
    fn each_line_has_its_local_time_and_the_author_the_customer_saw() {
        let bob = Author {
            id: AgentId::new(),
            name: "Bobby".into(),
            avatar: None,
        };
        let interaction: Interaction = serde_json::from_value(serde_json::json!({
            "id": InteractionId::new(), "customer_id": crate::domain::CustomerId::new(),
            "channel": "chat", "queue_id": crate::domain::QueueId::new(), "state": "closed",
            "priority": 0, "arrived_at": 1_764_512_400_000_i64, "agent_id": bob.id,
            "entry_point": "widget:Support", "offline": false, "ended_at": 1_764_513_000_000_i64
        }))
        .unwrap();
        let mut file = line(3, Sender::Customer, None, "", 1_764_512_580_000);
        file.channel = Some(Box::new(ChannelParts {
            entry_point: "widget:Support".into(),
            external_id: None,
            details: serde_json::json!({}),
            delivery: None,
            delivery_error: None,
            attachments: vec![AttachmentInfo {
                id: crate::domain::AttachmentId::new(),
                filename: "dent.png".into(),
                content_type: "image/png".into(),
                size: 69,
                content_id: None,
            }],
        }));
        let messages = [
            line(
                1,
                Sender::Customer,
                None,
                "The box came dented\nand wet",
                1_764_512_400_000,
            ),
            line(
                2,
                Sender::Agent,
                Some(bob.id),
                "Sorry! A photo?",
                1_764_512_460_000,
            ),
            file,
            line(
                4,
                Sender::Agent,
                Some(AgentId::new()),
                "Refunded.",
                1_764_512_700_000,
            ),
        ];
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let text = render(&interaction, "Mia Fischer", &messages, &[bob], &berlin);
        assert_eq!(
            text,
            "Conversation with Mia Fischer\nChannel: chat\nStarted: 2025-11-30 15:20:00 CET\n\
             Ended: 2025-11-30 15:30:00 CET\n\n\
             [15:20] Mia Fischer: The box came dented\n    and wet\n\
             [15:21] Bobby: Sorry! A photo?\n\
             [15:23] Mia Fischer: [file: dent.png]\n\
             [15:25] Agent: Refunded.\n"
        );
    }
}
