//! The first step for a fetched mail: its raw RFC 5322 bytes become a `Mail` (sender, recipients,
//! subject, threading headers, plain text, sanitised HTML, attachments, whether a machine sent
//! it), and `Mail::inbound` becomes the hub's `Inbound`. Mail that cannot be shown faithfully (too
//! big, no sender, a charset nobody can decode, a body that does not decode) is an error with the
//! reason, for the hub to keep as a failed item. Pure: no IO.

use crate::{classify, html, thread};
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{Addr, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use plugboard_channel::{Attachment, Channel, Inbound, InboundMessage, RawIdentity};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The line that introduces a forwarded mail's text inside the text of the mail that carries it,
/// as mail clients write it.
pub const FORWARDED: &str = "---------- Forwarded message ----------";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

/// A parsed mail, everything the hub and the console need from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mail {
    /// Without angle brackets. A mail without one gets `sha256:<hex of the raw bytes>`, so fetching
    /// the same mail again still finds it stored.
    pub message_id: String,
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Where the sender wants answers to go. Not an identity: anyone can set it.
    pub reply_to: Option<Address>,
    pub subject: String,
    /// Milliseconds since the Unix epoch, from the Date header.
    pub date: Option<i64>,
    /// Bare ids, as written.
    pub in_reply_to: Vec<String>,
    /// Bare ids, oldest first as written.
    pub references: Vec<String>,
    /// The plain text: the text parts, else the text of the HTML; forwarded mails' text after a
    /// `FORWARDED` line.
    pub text: String,
    /// The HTML part(s), sanitised (`html::sanitise`); `None` for a text-only mail.
    pub html: Option<String>,
    /// Files, inline images (with their Content-ID), forwarded mails (`forwarded.eml`) and
    /// calendar invites (`invite.ics`).
    pub attachments: Vec<Attachment>,
    /// Why a machine sent it (`classify::automated`), `None` for a person's mail.
    pub automated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the mail is {size} bytes, over the limit of {limit}")]
    TooBig { size: usize, limit: usize },
    #[error("the mail has no From address")]
    NoFrom,
    #[error("malformed mail: {0}")]
    Malformed(String),
    #[error("the mail is in a charset that cannot be decoded: {0}")]
    UnknownCharset(String),
}

/// Parses one mail of at most `max_bytes`.
pub fn parse(raw: &[u8], max_bytes: usize) -> Result<Mail, ParseError> {
    if raw.len() > max_bytes {
        return Err(ParseError::TooBig {
            size: raw.len(),
            limit: max_bytes,
        });
    }
    let message = MessageParser::new()
        .parse(raw)
        .ok_or_else(|| ParseError::Malformed("not a mail: nothing could be read".into()))?;
    if message.headers().is_empty() {
        return Err(ParseError::Malformed("not a mail: no header".into()));
    }
    check_parts(&message, "")?;

    let from = message
        .from()
        .and_then(|from| from.iter().find_map(address))
        .ok_or(ParseError::NoFrom)?;
    let message_id = match message.message_id().map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => format!("sha256:{}", hex(&Sha256::digest(raw))),
    };
    let automated = classify::automated(message.headers_raw());
    let (text, html) = bodies(&message);
    Ok(Mail {
        message_id,
        from,
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        reply_to: message.reply_to().and_then(|r| r.iter().find_map(address)),
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        date: date(&message),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        text,
        html,
        attachments: attachments(&message),
        automated,
    })
}

impl Mail {
    /// What the hub's intake takes: the sender's address as the one identity (never Reply-To),
    /// the thread keys, and the message with the details the console shows.
    pub fn inbound(&self, entry_point: &str) -> Inbound {
        Inbound {
            channel: Channel::Email,
            entry_point: entry_point.to_owned(),
            identities: vec![RawIdentity::Email(self.from.email.clone())],
            display_name: self.from.name.clone(),
            thread: thread::thread_of(self),
            automated: self.automated.clone(),
            message: Some(InboundMessage {
                external_id: self.message_id.clone(),
                body: self.text.clone(),
                details: self.details(),
                attachments: self.attachments.clone(),
                sent_at: self.date,
            }),
        }
    }

    /// The console's view of the mail: `subject`, `from`, `to`, `cc`, `reply_to`, `date`, `html`,
    /// `message_id`, and the threading headers (`in_reply_to`, `references`) a reply to it needs.
    pub fn details(&self) -> Value {
        let address = |a: &Address| json!({"name": a.name, "email": a.email});
        json!({
            "subject": self.subject,
            "from": address(&self.from),
            "to": self.to.iter().map(address).collect::<Vec<_>>(),
            "cc": self.cc.iter().map(address).collect::<Vec<_>>(),
            "reply_to": self.reply_to.as_ref().map(address),
            "date": self.date,
            "html": self.html,
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": self.references,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn address(addr: &Addr<'_>) -> Option<Address> {
    let email = addr.address.as_deref()?.trim();
    if !email.contains('@') {
        return None;
    }
    let name = addr
        .name
        .as_deref()
        .map(|n| n.trim().trim_matches('"').trim())
        .filter(|n| !n.is_empty() && *n != email);
    Some(Address {
        name: name.map(str::to_owned),
        email: email.to_owned(),
    })
}

fn addresses(field: Option<&mail_parser::Address<'_>>) -> Vec<Address> {
    field
        .map(|a| a.iter().filter_map(address).collect())
        .unwrap_or_default()
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        mail_parser::HeaderValue::Text(id) => vec![id.as_ref()],
        mail_parser::HeaderValue::TextList(ids) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
        .filter(|id| !id.is_empty())
        .collect()
}

fn date(message: &Message<'_>) -> Option<i64> {
    message
        .date()
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp() * 1000)
}

/// Every part of the mail, forwarded mails' included, can be shown as it was written: its
/// transfer encoding decodes, and a text part's charset is one we can decode (else it would show
/// as mojibake).
fn check_parts(message: &Message<'_>, path: &str) -> Result<(), ParseError> {
    for (n, part) in message.parts.iter().enumerate() {
        let here = format!("{path}{n}");
        // mail-parser flags a part whose transfer encoding does not decode, and also one whose
        // multipart boundary never closes. A cut-off 7bit or 8bit part is still readable as it
        // is (and shown); a base64 or quoted-printable one is not.
        if part.is_encoding_problem
            && let Some(encoding) = part
                .content_transfer_encoding()
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| e == "base64" || e == "quoted-printable")
        {
            return Err(ParseError::Malformed(format!(
                "part {here} does not decode as {encoding}, or is cut off before its boundary"
            )));
        }
        if matches!(part.body, PartType::Text(_) | PartType::Html(_))
            && let Some(charset) = part.content_type().and_then(|ct| ct.attribute("charset"))
            && !decodable(charset)
        {
            return Err(ParseError::UnknownCharset(charset.to_owned()));
        }
        if let PartType::Message(nested) = &part.body {
            check_parts(nested, &format!("{here}."))?;
        }
    }
    Ok(())
}

/// mail-parser decodes UTF-8 natively and every other charset it knows through a decoder; the
/// labels WHATWG maps to "replacement" (ISO-2022-KR, HZ, ISO-2022-CN) decode to nothing useful.
fn decodable(charset: &str) -> bool {
    let label = charset.trim().trim_matches('"');
    if label.is_empty() {
        // No charset said: mail-parser reads it as UTF-8, as RFC 6532 mail is.
        return true;
    }
    let utf8 = label.to_ascii_lowercase().replace(['-', '_'], "");
    if matches!(
        utf8.as_str(),
        "utf8" | "unicode11utf8" | "unicode20utf8" | "xunicode20utf8"
    ) {
        return true;
    }
    charset_decoder(label.as_bytes()).is_some()
        && encoding_rs::Encoding::for_label(label.as_bytes()) != Some(encoding_rs::REPLACEMENT)
}

/// The plain text and sanitised HTML of a mail, forwarded mails' text appended.
fn bodies(message: &Message<'_>) -> (String, Option<String>) {
    let text = text_of(message);
    let mut html = String::new();
    let mut has_html = false;
    for id in &message.html_body {
        match message.parts.get(*id as usize).map(|p| &p.body) {
            Some(PartType::Html(part)) => {
                has_html = true;
                html.push_str(part);
            }
            Some(PartType::Text(part)) => {
                html.push_str("<div style=\"white-space: pre-wrap\">");
                html.push_str(&escape(part));
                html.push_str("</div>");
            }
            _ => {}
        }
    }
    (text, has_html.then(|| html::sanitise(&html)))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The text a reader sees: the text parts in order (an HTML-only mail's text derived from its
/// HTML), then each forwarded mail under a `FORWARDED` line with its own sender and subject.
fn text_of(message: &Message<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for id in &message.text_body {
        match message.parts.get(*id as usize).map(|p| &p.body) {
            Some(PartType::Text(text)) => parts.push(normalise_newlines(text)),
            Some(PartType::Html(markup)) => parts.push(html::to_text(markup)),
            _ => {}
        }
    }
    for part in attached(message).filter(|p| recovered(p)) {
        if let PartType::Text(cut_off) = &part.body {
            parts.push(normalise_newlines(cut_off));
        }
    }
    let mut text = parts.join("\n").trim_end().to_owned();
    for part in attached(message) {
        if let PartType::Message(forwarded) = &part.body {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(FORWARDED);
            text.push('\n');
            let from = forwarded.from().and_then(|f| f.iter().find_map(address));
            if let Some(from) = from {
                text.push_str(&format!("From: {}\n", show(&from)));
            }
            if let Some(date) = forwarded.header_raw("Date") {
                text.push_str(&format!("Date: {}\n", date.trim()));
            }
            text.push_str(&format!(
                "Subject: {}\n",
                forwarded.subject().unwrap_or_default().trim()
            ));
            let to = addresses(forwarded.to());
            if !to.is_empty() {
                let to: Vec<String> = to.iter().map(show).collect();
                text.push_str(&format!("To: {}\n", to.join(", ")));
            }
            text.push('\n');
            text.push_str(&text_of(forwarded));
        }
    }
    text
}

fn show(address: &Address) -> String {
    match &address.name {
        Some(name) => format!("{name} <{}>", address.email),
        None => address.email.clone(),
    }
}

fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// A text part mail-parser read to the end of the mail because its boundary never closed: it
/// set it aside as an attachment, but it is the text the sender wrote.
fn recovered(part: &MessagePart<'_>) -> bool {
    part.is_encoding_problem && matches!(part.body, PartType::Text(_)) && part.attachment_name().is_none()
}

fn attached<'a>(message: &'a Message<'a>) -> impl Iterator<Item = &'a MessagePart<'a>> {
    message
        .attachments
        .iter()
        .filter_map(|id| message.parts.get(*id as usize))
}

fn attachments(message: &Message<'_>) -> Vec<Attachment> {
    let mut out = Vec::new();
    for part in attached(message).filter(|p| !recovered(p)) {
        let content_type = content_type(part);
        let (data, made_up) = match &part.body {
            PartType::Message(forwarded) => (forwarded.raw_message().to_vec(), "forwarded.eml"),
            PartType::Text(text) | PartType::Html(text) => {
                let name = if content_type == "text/calendar" {
                    "invite.ics"
                } else {
                    "attachment"
                };
                (text.as_bytes().to_vec(), name)
            }
            PartType::Binary(data) | PartType::InlineBinary(data) => (data.to_vec(), "attachment"),
            PartType::Multipart(_) => continue,
        };
        let filename = part
            .attachment_name()
            .map(clean_filename)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| made_up_name(made_up, &content_type, out.len() + 1));
        let content_id = part
            .content_id()
            .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
            .filter(|id| !id.is_empty());
        out.push(Attachment {
            filename,
            content_type,
            content_id,
            data,
        });
    }
    out
}

fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None if matches!(part.body, PartType::Text(_)) => "text/plain".to_owned(),
        None => "application/octet-stream".to_owned(),
    }
}

/// A sender's file name as a name, never a path: the last path component, no control characters.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    if cleaned == "." || cleaned == ".." {
        String::new()
    } else {
        cleaned.to_owned()
    }
}

fn made_up_name(made_up: &str, content_type: &str, n: usize) -> String {
    if made_up != "attachment" {
        return made_up.to_owned();
    }
    // A bounce's machine-readable parts (RFC 3464, RFC 6522).
    match content_type {
        "message/delivery-status" => return "delivery-status.txt".to_owned(),
        "text/rfc822-headers" => return "returned-headers.txt".to_owned(),
        _ => {}
    }
    let extension = match content_type {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "text/plain" | "text/csv" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "message/rfc822" => "eml",
        _ => "bin",
    };
    format!("attachment-{n}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limit_comes_first() {
        let raw = b"From: a@example.com\r\nSubject: x\r\n\r\nhello";
        assert_eq!(
            parse(raw, 10),
            Err(ParseError::TooBig {
                size: raw.len(),
                limit: 10
            })
        );
        assert!(parse(raw, raw.len()).is_ok());
    }

    #[test]
    fn a_mail_without_message_id_gets_one_from_its_bytes() {
        let raw = b"From: a@example.com\r\nSubject: x\r\n\r\nhello";
        let first = parse(raw, 1 << 20).unwrap();
        assert!(first.message_id.starts_with("sha256:"));
        assert_eq!(first.message_id.len(), "sha256:".len() + 64);
        assert_eq!(parse(raw, 1 << 20).unwrap().message_id, first.message_id);
    }

    #[test]
    fn garbage_is_malformed_and_no_sender_is_no_from() {
        assert!(matches!(parse(b"", 100), Err(ParseError::Malformed(_))));
        assert_eq!(parse(b"Subject: hi\r\n\r\nbody", 100), Err(ParseError::NoFrom));
        assert_eq!(
            parse(b"From: undisclosed\r\nSubject: hi\r\n\r\nbody", 100),
            Err(ParseError::NoFrom)
        );
    }

    #[test]
    fn filenames_are_names_not_paths() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\x\\報價單.pdf"), "報價單.pdf");
        assert_eq!(clean_filename("a\r\nb.txt"), "ab.txt");
        assert_eq!(clean_filename(".."), "");
    }

    #[test]
    fn charsets_we_decode_and_those_we_refuse() {
        for ok in [
            "utf-8",
            "UTF-8",
            "us-ascii",
            "gb18030",
            "GBK",
            "gb2312",
            "big5",
            "iso-2022-jp",
            "shift_jis",
            "euc-kr",
            "iso-8859-1",
            "ISO-8859-15",
            "windows-1252",
            "windows-1251",
            "",
        ] {
            assert!(decodable(ok), "{ok}");
        }
        for refused in ["x-klingon", "iso-2022-kr", "hz-gb-2312"] {
            assert!(!decodable(refused), "{refused}");
        }
    }
}
