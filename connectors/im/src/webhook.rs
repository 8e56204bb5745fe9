//! Our own signed webhook, for any system with no connector of its own, first and last hop: a
//! signed JSON post becomes an `Event` for the hub's intake, and an agent's reply becomes a
//! signed JSON post to the inbox's configured URL. No IO.
//!
//! # Inbound: `POST` to the inbox's webhook URL
//!
//! `Content-Type: application/json`, at most `MAX_BODY` bytes:
//!
//! ```json
//! {
//!   "id": "msg-8841",                       // required: the sender's id for the message; a
//!                                           // repeat of an id is stored once
//!   "from": {                               // required
//!     "id": "customer-42",                  // required: the sender's id for the person
//!     "name": "Ada Lovelace",               // optional: display name
//!     "email": "ada@example.com",           // optional: also an identity
//!     "phone": "+442071234567"              // optional: also an identity (E.164)
//!   },
//!   "text": "Where is my order?",           // optional if there are attachments
//!   "attachments": [                        // optional
//!     {"filename": "photo.jpg", "content_type": "image/jpeg", "data_base64": "..."}
//!   ],
//!   "reply_to": "pb-msg-1",                 // optional: the id of one of our messages it answers
//!   "sent_at": 1718035200000                // optional: milliseconds since the Unix epoch
//! }
//! ```
//!
//! Files travel inside the JSON (base64): we never fetch a URL the sender names.
//!
//! # Signature, both ways
//!
//! `X-Plugboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{raw body}")>`.
//! Several `v1=` may be given (while a secret is being changed); one must match. A `t` more than
//! five minutes from our clock is refused, so a captured request cannot be replayed later (and
//! within the window, the message id makes a replay store nothing twice).
//!
//! # Outbound: `POST` to the configured URL
//!
//! `{"id": <our message id>, "to": <the from.id we got>, "text", "attachments": [same shape],
//! "details": {...}, "sent_at"}`, signed the same way. A 2xx is sent (its JSON `id`, if any,
//! becomes the external id); 429 and 5xx are retried (honouring `Retry-After` seconds); any other
//! answer fails with its status.

use crate::common::{
    Answer, Body, Error, Event, HttpRequest, Method, Posts, SendOutcome, check_size, ct_eq, hex, hmac_sha256,
    parse_json, short, str_of, unhex, unix_millis, unix_secs,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use plugboard_channel::{Attachment, Channel, Inbound, InboundMessage, Outbound, RawIdentity, Thread};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

pub const PLATFORM: &str = "webhook";
pub const SIGNATURE_HEADER: &str = "X-Plugboard-Signature";
/// Files travel inside the body, so it may be large; a chat message's files stay under this.
pub const MAX_BODY: usize = 25 * 1024 * 1024;
/// Signed JSON, as above.
pub const POSTS: Posts = Posts {
    max_body: MAX_BODY,
    content_types: &["application/json"],
};
/// How far a signature's time may be from ours.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The header value for `body` signed at `now`.
pub fn sign(secret: &str, body: &[u8], now: SystemTime) -> String {
    let t = unix_secs(now);
    let mac = hmac_sha256(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body]);
    format!("t={t},v1={}", hex(&mac))
}

/// Checks `X-Plugboard-Signature` over the raw body at `now`.
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: SystemTime) -> Result<(), Error> {
    const WHAT: &str = "X-Plugboard-Signature signature";
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(Error::MissingSignature(WHAT))?;
    if secret.is_empty() {
        return Err(Error::Config("no webhook secret".into()));
    }
    let mut t: Option<&str> = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", v)) if t.is_none() => t = Some(v),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t_text = t.ok_or(Error::BadSignature(WHAT))?;
    let t: i64 = t_text.parse().map_err(|_| Error::BadSignature(WHAT))?;
    let age = unix_secs(now).saturating_sub(t);
    let window = REPLAY_WINDOW.as_secs();
    if age.unsigned_abs() > window {
        return Err(Error::Stale {
            age_secs: age,
            window_secs: window,
        });
    }
    let expected = hmac_sha256(secret.as_bytes(), &[t_text.as_bytes(), b".", body]);
    let matched = signatures
        .iter()
        .filter_map(|s| unhex(s))
        .fold(false, |any, given| any | ct_eq(&given, &expected));
    if !matched {
        return Err(Error::BadSignature(WHAT));
    }
    Ok(())
}

/// A delivery, verified then parsed: the only way the hub should read one. Answered 200 with an
/// empty body.
pub fn receive(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: SystemTime,
    entry_point: &str,
) -> Result<(Answer, Event), Error> {
    check_size(body, MAX_BODY)?;
    verify(secret, header, body, now)?;
    Ok((Answer::empty(), parse(body, entry_point)?))
}

fn invalid(detail: &str) -> Error {
    Error::Malformed {
        format: "webhook JSON",
        detail: detail.to_owned(),
    }
}

pub fn parse(body: &[u8], entry_point: &str) -> Result<Event, Error> {
    let v = parse_json(body, MAX_BODY)?;
    let id = str_of(&v, "id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("\"id\" must be a non-empty string"))?;
    let from = v
        .get("from")
        .filter(|f| f.is_object())
        .ok_or_else(|| invalid("\"from\" must be an object"))?;
    let from_id = str_of(from, "id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("\"from.id\" must be a non-empty string"))?;
    let optional_str = |v: &Value, key: &str| -> Result<Option<String>, Error> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(invalid(&format!("\"{key}\" must be a string"))),
        }
    };
    let text = optional_str(&v, "text")?.unwrap_or_default();
    let mut attachments = Vec::new();
    match v.get("attachments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for a in list {
                let filename =
                    optional_str(a, "filename")?.ok_or_else(|| invalid("an attachment needs a filename"))?;
                let content_type =
                    optional_str(a, "content_type")?.unwrap_or_else(|| "application/octet-stream".into());
                let data = str_of(a, "data_base64")
                    .and_then(|d| STANDARD.decode(d).ok())
                    .ok_or_else(|| invalid("an attachment needs its data_base64"))?;
                attachments.push(Attachment {
                    filename,
                    content_type,
                    content_id: None,
                    data,
                });
            }
        }
        Some(_) => return Err(invalid("\"attachments\" must be a list")),
    }
    if text.is_empty() && attachments.is_empty() {
        return Err(invalid("a message needs text or attachments"));
    }
    let sent_at = match v.get("sent_at") {
        None | Some(Value::Null) => None,
        Some(t) => Some(
            t.as_i64()
                .ok_or_else(|| invalid("\"sent_at\" must be milliseconds since the epoch"))?,
        ),
    };
    let mut identities = vec![RawIdentity::Platform {
        platform: PLATFORM.into(),
        id: from_id.to_owned(),
    }];
    if let Some(email) = optional_str(from, "email")? {
        identities.push(RawIdentity::Email(email));
    }
    if let Some(phone) = optional_str(from, "phone")? {
        identities.push(RawIdentity::Phone(phone));
    }
    let replies_to = optional_str(&v, "reply_to")?.into_iter().collect();
    Ok(Event::Message(Inbound {
        channel: Channel::Messaging,
        entry_point: entry_point.to_owned(),
        identities,
        display_name: optional_str(from, "name")?,
        thread: Thread {
            replies_to,
            token: None,
        },
        automated: None,
        message: Some(InboundMessage {
            external_id: id.to_owned(),
            body: text,
            details: json!({"platform": PLATFORM, "kind": if attachments.is_empty() { "text" } else { "files" }}),
            attachments,
            sent_at,
        }),
    }))
}

/// Where an inbox's replies go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub secret: String,
}

impl Endpoint {
    /// The signed post for an agent's reply to `outbound.to[0]` (the `from.id` we received).
    pub fn request(&self, outbound: &Outbound, now: SystemTime) -> Result<HttpRequest, Error> {
        let to = outbound
            .to
            .first()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Unsendable("no recipient".into()))?;
        let attachments: Vec<Value> = outbound
            .attachments
            .iter()
            .map(|a| {
                json!({"filename": a.filename, "content_type": a.content_type,
                       "data_base64": STANDARD.encode(&a.data)})
            })
            .collect();
        let body = json!({
            "id": outbound.id,
            "to": to,
            "text": outbound.body,
            "attachments": attachments,
            "details": outbound.details,
            "sent_at": unix_millis(now),
        })
        .to_string()
        .into_bytes();
        Ok(HttpRequest {
            method: Method::Post,
            url: self.url.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (SIGNATURE_HEADER.into(), sign(&self.secret, &body, now)),
            ],
            body: Body::Bytes(body),
        })
    }
}

/// What the receiving system's answer means. `our_id` names the message when it gives no `id`;
/// `retry_after` is its `Retry-After` header, if any (seconds).
pub fn read_response(status: u16, body: &[u8], retry_after: Option<&str>, our_id: &str) -> SendOutcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match status {
        200..=299 => SendOutcome::Sent {
            external_id: str_of(&v, "id").unwrap_or(our_id).to_owned(),
        },
        429 | 500..=599 => SendOutcome::Retry {
            reason: format!("the webhook answered HTTP {status}"),
            after: retry_after
                .and_then(|r| r.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
        _ => {
            let detail = str_of(&v, "message")
                .or_else(|| str_of(&v, "error"))
                .map(|m| format!(": {}", short(m)))
                .unwrap_or_default();
            SendOutcome::Failed {
                reason: format!("the webhook answered HTTP {status}{detail}"),
            }
        }
    }
}
