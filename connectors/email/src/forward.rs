//! A mail of a thread forwarded to someone else, written the way mail clients write one (Gmail's
//! and Thunderbird's "---------- Forwarded message ----------" block): "Fwd: " once before the
//! subject, and the agent's note followed by the forwarded mail's From, Date, Subject, To and Cc
//! and its text. The hub stores this text as the forward's body, so the timeline shows what was
//! sent; the forwarded mail's files go along as attachments. Pure: no IO, no clock.

use crate::parse::Address;

/// The banner mail clients (and `splitQuoted` in the console) recognise as a forward's start.
pub const BANNER: &str = "---------- Forwarded message ----------";

/// The mail being forwarded, as the thread has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Original {
    pub from: Option<Address>,
    /// When it was sent (milliseconds since the Unix epoch), if known.
    pub date: Option<i64>,
    pub subject: String,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Its plain text.
    pub text: String,
}

/// "Fwd: " and the subject, unless it already says it is a forward (in the languages our
/// customers' clients write it).
pub fn subject(original: &str) -> String {
    let subject: String = original
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let subject = subject.trim();
    let lower = subject.to_lowercase();
    let forwarded = [
        "fwd:",
        "fw:",
        "fwd：",
        "fw：",
        "转发:",
        "转发：",
        "轉寄:",
        "轉寄：",
    ]
    .iter()
    .any(|prefix| lower.starts_with(prefix));
    if forwarded {
        subject.to_owned()
    } else {
        format!("Fwd: {subject}")
    }
}

/// The forward's text: the agent's `note` (if any), then the banner, the original's headers and
/// its text.
pub fn body(note: &str, original: &Original) -> String {
    let note = note.replace("\r\n", "\n");
    let note = note.trim_end();
    let mut out = String::new();
    if !note.trim().is_empty() {
        out.push_str(note);
        out.push_str("\n\n");
    }
    out.push_str(BANNER);
    out.push('\n');
    if let Some(from) = &original.from {
        out.push_str(&format!("From: {}\n", address(from)));
    }
    if let Some(ms) = original.date {
        let date = mail_parser::DateTime::from_timestamp(ms.div_euclid(1000));
        out.push_str(&format!("Date: {}\n", date.to_rfc822()));
    }
    out.push_str(&format!("Subject: {}\n", one_line(&original.subject)));
    if !original.to.is_empty() {
        out.push_str(&format!("To: {}\n", list(&original.to)));
    }
    if !original.cc.is_empty() {
        out.push_str(&format!("Cc: {}\n", list(&original.cc)));
    }
    out.push('\n');
    out.push_str(original.text.replace("\r\n", "\n").trim_end());
    out.push('\n');
    out
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// "Li Wei <li.wei@example.com>", or the bare address.
fn address(a: &Address) -> String {
    match a.name.as_deref().map(one_line).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} <{}>", a.email),
        None => a.email.clone(),
    }
}

fn list(addresses: &[Address]) -> String {
    addresses.iter().map(address).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn li() -> Address {
        Address {
            name: Some("李伟".into()),
            email: "li.wei@qq.example".into(),
        }
    }

    fn original() -> Original {
        Original {
            from: Some(li()),
            // Sat, 28 Nov 2026 09:00:00 +0800
            date: Some(1_795_827_600_000),
            subject: "订单 1001 还没到".into(),
            to: vec![Address {
                name: None,
                email: "support@shop.example".into(),
            }],
            cc: vec![Address {
                name: Some("Zhang San".into()),
                email: "zhang@qq.example".into(),
            }],
            text: "您好，\r\n我的订单还没有到。\r\n\r\n".into(),
        }
    }

    #[test]
    fn a_forward_quotes_the_mail_under_its_headers_after_the_note() {
        assert_eq!(
            body("Could the warehouse check this?\n", &original()),
            "Could the warehouse check this?\n\n\
             ---------- Forwarded message ----------\n\
             From: 李伟 <li.wei@qq.example>\n\
             Date: Sat, 28 Nov 2026 01:00:00 +0000\n\
             Subject: 订单 1001 还没到\n\
             To: support@shop.example\n\
             Cc: Zhang San <zhang@qq.example>\n\
             \n\
             您好，\n我的订单还没有到。\n"
        );
    }

    #[test]
    fn without_a_note_or_known_headers_the_forward_starts_at_the_banner() {
        let bare = Original {
            subject: "Hi\r\nBcc: x@y".into(),
            text: "hello".into(),
            ..Original::default()
        };
        assert_eq!(
            body("  \n", &bare),
            format!("{BANNER}\nSubject: Hi  Bcc: x@y\n\nhello\n")
        );
    }

    #[test]
    fn fwd_is_added_once() {
        let table = [
            ("Order 1001", "Fwd: Order 1001"),
            ("Fwd: Order 1001", "Fwd: Order 1001"),
            ("FW: Order 1001", "FW: Order 1001"),
            ("转发：订单", "转发：订单"),
            ("Re: Order", "Fwd: Re: Order"),
            ("", "Fwd: "),
            ("  Order\n", "Fwd: Order"),
        ];
        for (given, want) in table {
            assert_eq!(subject(given), want, "{given:?}");
        }
    }
}
