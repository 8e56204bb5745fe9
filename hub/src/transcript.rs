//! A conversation's transcript as plain text, for the agent to download (and keep or pass on) and
//! for the customer to have by email when a chat ends: who wrote each line as the customer saw
//! them, at what local time, and the files named, in English or Chinese. Pure: the REST handler
//! (`GET /interactions/{id}/transcript`) and the widget's socket read what it needs and call
//! `render`.

use crate::domain::{AgentId, Author, Channel, Interaction, Message, Sender};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The language a transcript's own words are in (the lines are as they were written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Chinese,
}

impl Language {
    /// From a browser's locale (`zh-CN`, `zh-TW`, `en-GB`): Chinese for any `zh`, else English.
    pub fn of_locale(locale: Option<&str>) -> Language {
        match locale {
            Some(l) if l.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("zh")) => Language::Chinese,
            _ => Language::English,
        }
    }

    /// The subject of the mail that carries a chat's transcript to its customer.
    pub fn mail_subject(self, company: &str) -> String {
        match self {
            Language::English => format!("Your conversation with {company}"),
            Language::Chinese => format!("您与{company}的聊天记录"),
        }
    }

    fn channel(self, channel: Channel) -> &'static str {
        match (self, channel) {
            (Language::English, c) => c.as_str(),
            (Language::Chinese, Channel::Chat) => "在线咨询",
            (Language::Chinese, Channel::Email) => "邮件",
            (Language::Chinese, Channel::Voice) => "电话",
            (Language::Chinese, Channel::Messaging) => "消息",
        }
    }
}

/// The transcript: a head (customer, channel, start and end) and a line per message. A line
/// the hub wrote itself (a sent transcript's record) is not part of the conversation.
pub fn render(
    interaction: &Interaction,
    customer: &str,
    messages: &[Message],
    authors: &[Author],
    zone: &TimeZone,
    language: Language,
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
    let channel = language.channel(interaction.channel);
    let started = at(interaction.arrived_at);
    let mut out = match language {
        Language::English => {
            format!("Conversation with {customer}\nChannel: {channel}\nStarted: {started}\n")
        }
        Language::Chinese => format!("与{customer}的会话\n渠道：{channel}\n开始：{started}\n"),
    };
    if let Some(ended) = interaction.ended_at {
        let ended = at(ended);
        out.push_str(&match language {
            Language::English => format!("Ended: {ended}\n"),
            Language::Chinese => format!("结束：{ended}\n"),
        });
    }
    out.push('\n');
    let someone = match language {
        Language::English => "Agent",
        Language::Chinese => "客服",
    };
    let name_of = |id: Option<AgentId>| {
        id.and_then(|id| authors.iter().find(|a| a.id == id))
            .map_or(someone, |a| a.name.as_str())
    };
    for m in messages {
        let who = match m.sender {
            Sender::Customer => customer,
            Sender::Agent => name_of(m.agent_id),
            Sender::System => continue,
        };
        let time = Timestamp::from_millisecond(m.created_at)
            .map(|t| t.to_zoned_datetime(zone.clone()).strftime("%H:%M").to_string())
            .unwrap_or_default();
        let mut text = m.body.trim_end().replace('\n', "\n    ");
        for file in m.channel.iter().flat_map(|c| c.attachments.iter()) {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&match language {
                Language::English => format!("[file: {}]", file.filename),
                Language::Chinese => format!("[文件：{}]", file.filename),
            });
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
        let text = render(
            &interaction,
            "Mia Fischer",
            &messages,
            std::slice::from_ref(&bob),
            &berlin,
            Language::English,
        );
        assert_eq!(
            text,
            "Conversation with Mia Fischer\nChannel: chat\nStarted: 2025-11-30 15:20:00 CET\n\
             Ended: 2025-11-30 15:30:00 CET\n\n\
             [15:20] Mia Fischer: The box came dented\n    and wet\n\
             [15:21] Bobby: Sorry! A photo?\n\
             [15:23] Mia Fischer: [file: dent.png]\n\
             [15:25] Agent: Refunded.\n"
        );
        // In Chinese, the hub's own words are; the hub's record of a mailed transcript is no line.
        let mut with_record = messages.to_vec();
        with_record.push(line(
            5,
            Sender::System,
            None,
            "Transcript emailed",
            1_764_513_060_000,
        ));
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap();
        let text = render(
            &interaction,
            "李伟",
            &with_record,
            &[bob],
            &shanghai,
            Language::of_locale(Some("zh-CN")),
        );
        assert_eq!(
            text,
            "与李伟的会话\n渠道：在线咨询\n开始：2025-11-30 22:20:00 CST\n\
             结束：2025-11-30 22:30:00 CST\n\n\
             [22:20] 李伟: The box came dented\n    and wet\n\
             [22:21] Bobby: Sorry! A photo?\n\
             [22:23] 李伟: [文件：dent.png]\n\
             [22:25] 客服: Refunded.\n"
        );
        assert_eq!(Language::of_locale(Some("en-GB")), Language::English);
        assert_eq!(Language::of_locale(Some("ZH-tw")), Language::Chinese);
        assert_eq!(Language::of_locale(None), Language::English);
    }
}
