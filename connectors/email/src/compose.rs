//! The hub's `Outbound` reply becomes an RFC 5322 mail, before `smtp` sends it: our Message-ID
//! (so the customer's answer finds its interaction again), In-Reply-To and References (so their
//! mail client files it under the thread), "Re: ", the mailbox's signature, the attachments.
//! Pure apart from the Date header, which is the time of composing: no IO.

use crate::parse::Address;
use crate::thread;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use plugboard_channel::Outbound;
use serde_json::Value;

/// RFC 5322 §3.6.4 does not limit References; long threads make long headers that some servers
/// refuse. Keep the thread's first id and the newest ones, as mail clients do.
const MAX_REFERENCES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("details.{0} is missing")]
    Missing(&'static str),
    #[error("details.{field} is not valid: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("not an email address: {0}")]
    Address(String),
    #[error("no recipient")]
    NoRecipient,
    #[error("the mail cannot be built: {0}")]
    Build(String),
}

/// Builds the mail for `out`, sent by `from` with `signature` under it. Reads from `out.details`:
/// `interaction_id` (a uuid, required), `subject`, `cc` (addresses), `in_reply_to` (the id of the
/// mail answered) and `references` (that mail's References). Answers the bytes and the
/// Message-ID it set (bare, as `thread::message_id` makes it): the same for every attempt at
/// `out`, so a retried send is the same mail.
pub fn compose(
    out: &Outbound,
    from: &Address,
    signature: Option<&str>,
    domain: &str,
) -> Result<(Vec<u8>, String), ComposeError> {
    let details = &out.details;
    let interaction = string(details, "interaction_id")?.ok_or(ComposeError::Missing("interaction_id"))?;
    if uuid::Uuid::try_parse(interaction).is_err() {
        return Err(ComposeError::Invalid {
            field: "interaction_id",
            reason: "not a uuid".into(),
        });
    }
    if out.id.is_empty() || !out.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ComposeError::Invalid {
            field: "id",
            reason: "a message id must be letters, digits and hyphens".into(),
        });
    }
    let message_id = thread::message_id(interaction, &out.id, domain);

    let in_reply_to = string(details, "in_reply_to")?
        .map(bare)
        .filter(|id| !id.is_empty());
    let mut references: Vec<String> = strings(details, "references")?
        .into_iter()
        .map(|id| bare(&id).to_owned())
        .filter(|id| !id.is_empty())
        .collect();
    // RFC 5322 §3.6.4: the parent's References followed by the parent's Message-ID.
    if let Some(parent) = in_reply_to
        && references.last().map(String::as_str) != Some(parent)
    {
        references.retain(|id| id != parent);
        references.push(parent.to_owned());
    }
    if references.len() > MAX_REFERENCES {
        references.drain(1..references.len() - (MAX_REFERENCES - 1));
    }

    // A header is one line (RFC 5322 §2.2): a line break in what the agent typed must not start
    // another header.
    let subject = one_line(string(details, "subject")?.unwrap_or_default());
    let subject = subject.trim();
    let subject = if in_reply_to.is_some() && !is_reply_subject(subject) {
        format!("Re: {subject}")
    } else {
        subject.to_owned()
    };

    let mut builder = lettre::Message::builder()
        .from(mailbox_of(from)?)
        .subject(subject)
        .message_id(Some(format!("<{message_id}>")));
    let mut recipients = 0;
    for to in &out.to {
        builder = builder.to(mailbox(to)?);
        recipients += 1;
    }
    for cc in strings(details, "cc")? {
        builder = builder.cc(mailbox(&cc)?);
        recipients += 1;
    }
    if recipients == 0 {
        return Err(ComposeError::NoRecipient);
    }
    if let Some(parent) = in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !references.is_empty() {
        let list: Vec<String> = references.iter().map(|id| format!("<{id}>")).collect();
        builder = builder.references(list.join(" "));
    }

    let text = SinglePart::plain(body_text(&out.body, signature));
    let message = if out.attachments.is_empty() {
        builder.singlepart(text)
    } else {
        let mut mixed = MultiPart::mixed().singlepart(text);
        for file in &out.attachments {
            let content_type = ContentType::parse(&file.content_type)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("valid"));
            // lettre writes the name as RFC 2231 (`filename*=utf-8''...`) when it is not ASCII.
            mixed = mixed
                .singlepart(Attachment::new(file.filename.clone()).body(file.data.clone(), content_type));
        }
        builder.multipart(mixed)
    }
    .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok((message.formatted(), message_id))
}

/// Whether a subject already says it is a reply, in the languages our customers write.
fn is_reply_subject(subject: &str) -> bool {
    let lower = subject.to_lowercase();
    [
        "re:",
        "re：",
        "回复:",
        "回复：",
        "答复:",
        "答复：",
        "回覆:",
        "回覆：",
    ]
    .iter()
    .any(|prefix| lower.starts_with(prefix))
}

/// RFC 3676 §4.3: the signature goes after a line of "-- ".
fn body_text(body: &str, signature: Option<&str>) -> String {
    let mut text = body.replace("\r\n", "\n");
    if let Some(signature) = signature.map(str::trim_end).filter(|s| !s.is_empty()) {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("\n-- \n");
        text.push_str(&signature.replace("\r\n", "\n"));
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn bare(id: &str) -> &str {
    let id = id.trim();
    let id = id.strip_prefix('<').unwrap_or(id);
    id.strip_suffix('>').unwrap_or(id)
}

fn string<'a>(details: &'a Value, field: &'static str) -> Result<Option<&'a str>, ComposeError> {
    match details.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ComposeError::Invalid {
            field,
            reason: "not a string".into(),
        }),
    }
}

fn strings(details: &Value, field: &'static str) -> Result<Vec<String>, ComposeError> {
    let invalid = || ComposeError::Invalid {
        field,
        reason: "not a list of strings".into(),
    };
    match details.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect(),
        Some(_) => Err(invalid()),
    }
}

/// An address as the hub has it: `someone@example.com` or `Name <someone@example.com>`.
fn mailbox(address: &str) -> Result<Mailbox, ComposeError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|_| ComposeError::Address(address.to_owned()))
}

fn mailbox_of(address: &Address) -> Result<Mailbox, ComposeError> {
    let email = address
        .email
        .trim()
        .parse()
        .map_err(|_| ComposeError::Address(address.email.clone()))?;
    let name = address.name.as_deref().map(one_line);
    Ok(Mailbox::new(name, email))
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use plugboard_channel::{Attachment as File, Channel};
    use serde_json::json;

    const INTERACTION: &str = "0190f3a2-7b1c-7cde-8f00-1234567890ab";
    const MESSAGE: &str = "0190f3a2-9000-7abc-9def-0123456789ab";

    fn support() -> Address {
        Address {
            name: Some("客服中心 Support".into()),
            email: "support@example.com".into(),
        }
    }

    fn reply(details: Value) -> Outbound {
        Outbound {
            id: MESSAGE.into(),
            channel: Channel::Email,
            entry_point: "mailbox:support".into(),
            to: vec!["王小明 <xiaoming.wang@foxmail.com>".into()],
            body: "您好，\n\n您的订单已经发货，单号 SF1234567890。\n\n祝好".into(),
            details,
            attachments: vec![],
        }
    }

    #[test]
    fn a_chinese_reply_parses_back_to_what_was_sent() {
        let out = reply(json!({
            "interaction_id": INTERACTION,
            "subject": "订单 2024-0815 还没有发货",
            "in_reply_to": "202411071005395612345@foxmail.com",
            "references": ["first@foxmail.com"],
            "cc": ["manager@example.com"],
        }));
        let (raw, id) = compose(
            &out,
            &support(),
            Some("客服中心\n电话 400-000-0000"),
            "example.com",
        )
        .unwrap();
        assert_eq!(id, thread::message_id(INTERACTION, MESSAGE, "example.com"));
        let mail = parse(&raw, 1 << 20).unwrap();
        assert_eq!(mail.message_id, id);
        assert_eq!(mail.subject, "Re: 订单 2024-0815 还没有发货");
        assert_eq!(mail.from, support());
        assert_eq!(mail.to[0].email, "xiaoming.wang@foxmail.com");
        assert_eq!(mail.to[0].name.as_deref(), Some("王小明"));
        assert_eq!(mail.cc[0].email, "manager@example.com");
        assert_eq!(
            mail.text,
            "您好，\n\n您的订单已经发货，单号 SF1234567890。\n\n祝好\n\n-- \n客服中心\n电话 400-000-0000"
        );
        assert_eq!(mail.in_reply_to, ["202411071005395612345@foxmail.com"]);
        assert_eq!(
            mail.references,
            ["first@foxmail.com", "202411071005395612345@foxmail.com"]
        );
        // The customer's answer to this mail comes back to the interaction.
        assert_eq!(thread::token(&mail.message_id).as_deref(), Some(INTERACTION));
        // Headers are ASCII on the wire (RFC 2047), the body declared UTF-8.
        let head = &raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()];
        assert!(head.is_ascii(), "{}", String::from_utf8_lossy(head));
        assert!(String::from_utf8_lossy(&raw).contains("charset=utf-8"));
    }

    #[test]
    fn a_retried_send_is_the_same_mail() {
        let out = reply(json!({"interaction_id": INTERACTION, "subject": "x"}));
        let (first, id) = compose(&out, &support(), None, "example.com").unwrap();
        let (again, same) = compose(&out, &support(), None, "example.com").unwrap();
        assert_eq!(id, same);
        assert_eq!(
            parse(&first, 1 << 20).unwrap().message_id,
            parse(&again, 1 << 20).unwrap().message_id
        );
    }

    #[test]
    fn re_is_added_once() {
        let table = [
            ("Order", Some("a@x"), "Re: Order"),
            ("Re: Order", Some("a@x"), "Re: Order"),
            ("RE: Order", Some("a@x"), "RE: Order"),
            ("re: Order", Some("a@x"), "re: Order"),
            ("回复: 订单", Some("a@x"), "回复: 订单"),
            ("回复：订单", Some("a@x"), "回复：订单"),
            ("答复: 订单", Some("a@x"), "答复: 订单"),
            ("Order", None, "Order"),
            ("", Some("a@x"), "Re: "),
        ];
        for (subject, in_reply_to, expected) in table {
            let out = reply(json!({
                "interaction_id": INTERACTION, "subject": subject, "in_reply_to": in_reply_to,
            }));
            let (raw, _) = compose(&out, &support(), None, "example.com").unwrap();
            assert_eq!(
                parse(&raw, 1 << 20).unwrap().subject,
                expected.trim(),
                "{subject}"
            );
        }
    }

    #[test]
    fn references_end_with_the_parent_and_stay_bounded() {
        let many: Vec<String> = (0..40).map(|n| format!("m{n}@x")).collect();
        let out = reply(json!({
            "interaction_id": INTERACTION, "subject": "s",
            "in_reply_to": "<m39@x>", "references": many,
        }));
        let (raw, _) = compose(&out, &support(), None, "example.com").unwrap();
        let mail = parse(&raw, 1 << 20).unwrap();
        assert_eq!(mail.references.len(), MAX_REFERENCES);
        assert_eq!(mail.references.first().unwrap(), "m0@x");
        assert_eq!(mail.references.last().unwrap(), "m39@x");
        assert_eq!(mail.in_reply_to, ["m39@x"]);
        // A new mail from the agent threads on nothing.
        let new = reply(json!({"interaction_id": INTERACTION, "subject": "Hello"}));
        let (raw, _) = compose(&new, &support(), None, "example.com").unwrap();
        let mail = parse(&raw, 1 << 20).unwrap();
        assert!(mail.in_reply_to.is_empty() && mail.references.is_empty());
        assert_eq!(mail.subject, "Hello");
    }

    #[test]
    fn attachments_keep_their_unicode_names() {
        let mut out = reply(json!({"interaction_id": INTERACTION, "subject": "发票"}));
        out.attachments = vec![
            File {
                filename: "发票 2024-11.pdf".into(),
                content_type: "application/pdf".into(),
                content_id: None,
                data: b"%PDF-1.4 fake".to_vec(),
            },
            File {
                filename: "readme.txt".into(),
                content_type: "not a type".into(),
                content_id: None,
                data: b"hello".to_vec(),
            },
        ];
        let (raw, _) = compose(&out, &support(), Some("Support"), "example.com").unwrap();
        let wire = String::from_utf8_lossy(&raw);
        // RFC 2231: lettre writes `filename*0*=utf-8''...`.
        assert!(wire.contains("filename*0*=utf-8''"), "{wire}");
        let mail = parse(&raw, 1 << 20).unwrap();
        let files: Vec<_> = mail
            .attachments
            .iter()
            .map(|a| (a.filename.as_str(), a.content_type.as_str(), a.data.as_slice()))
            .collect();
        assert_eq!(
            files,
            [
                ("发票 2024-11.pdf", "application/pdf", &b"%PDF-1.4 fake"[..]),
                ("readme.txt", "application/octet-stream", &b"hello"[..]),
            ]
        );
        assert!(mail.text.ends_with("\n-- \nSupport"), "{:?}", mail.text);
    }

    #[test]
    fn a_line_break_in_the_subject_or_name_adds_no_header() {
        let out = reply(json!({
            "interaction_id": INTERACTION,
            "subject": "Hello\r\nBcc: everyone@example.org",
        }));
        let from = Address {
            name: Some("Support\r\nX-Injected: yes".into()),
            email: "support@example.com".into(),
        };
        let (raw, _) = compose(&out, &from, None, "example.com").unwrap();
        let wire = String::from_utf8_lossy(&raw);
        let head = wire.split("\r\n\r\n").next().unwrap();
        assert!(
            !head
                .lines()
                .any(|l| l.starts_with("Bcc:") || l.starts_with("X-Injected:")),
            "{head}"
        );
        let mail = parse(&raw, 1 << 20).unwrap();
        assert_eq!(mail.subject, "Hello  Bcc: everyone@example.org");
    }

    #[test]
    fn what_cannot_be_sent_is_an_error() {
        let missing = reply(json!({"subject": "x"}));
        assert_eq!(
            compose(&missing, &support(), None, "example.com"),
            Err(ComposeError::Missing("interaction_id"))
        );
        let forged = reply(json!({"interaction_id": "../../x", "subject": "x"}));
        assert!(matches!(
            compose(&forged, &support(), None, "example.com"),
            Err(ComposeError::Invalid {
                field: "interaction_id",
                ..
            })
        ));
        let mut nobody = reply(json!({"interaction_id": INTERACTION}));
        nobody.to.clear();
        assert_eq!(
            compose(&nobody, &support(), None, "example.com"),
            Err(ComposeError::NoRecipient)
        );
        let mut bad = reply(json!({"interaction_id": INTERACTION}));
        bad.to = vec!["not an address".into()];
        assert_eq!(
            compose(&bad, &support(), None, "example.com"),
            Err(ComposeError::Address("not an address".into()))
        );
        let cc = reply(json!({"interaction_id": INTERACTION, "cc": "a@x"}));
        assert!(matches!(
            compose(&cc, &support(), None, "example.com"),
            Err(ComposeError::Invalid { field: "cc", .. })
        ));
    }
}
