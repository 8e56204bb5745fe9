//! SMS through a Twilio-style provider, first and last hop: a form-encoded webhook (a message or
//! a status callback), verified by `X-Twilio-Signature`, becomes an `Event` for the hub's intake,
//! and an agent's reply becomes a `Messages.json` request whose answer becomes a `SendOutcome`.
//! Numbers are identities as `Phone`, for the hub to resolve by E.164 as calls are. No IO.
//!
//! Follows Twilio's "Webhooks security" (the signature), "Messaging webhooks" (the inbound and
//! status callback parameters) and "Message resource" (the send) pages.

use crate::common::{
    Answer, Body, DeliveryState, Error, Event, HttpRequest, MediaRef, Method, Posts, SendOutcome, check_size,
    ct_eq, enc, form_pairs, hmac_sha1, https_host_in, short, str_of, url_host,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use plugboard_channel::{Channel, Inbound, InboundMessage, Outbound, RawIdentity, Thread};
use serde_json::{Value, json};
use std::time::Duration;

pub const PLATFORM: &str = "sms";
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// A webhook is a few dozen short form fields.
pub const MAX_BODY: usize = 64 * 1024;
/// The provider posts an HTML form.
pub const POSTS: Posts = Posts {
    max_body: MAX_BODY,
    content_types: &["application/x-www-form-urlencoded"],
};
/// An MMS carries at most ten media.
const MAX_MEDIA: usize = 10;

/// `base64(HMAC-SHA1(auth token, url + each param's name and value, sorted by name))`. `url` is
/// the full URL as the provider was given it (scheme, host, port, path and query): behind a proxy
/// the hub must rebuild it as the provider saw it, not as it arrived.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_owned();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    STANDARD.encode(hmac_sha1(auth_token.as_bytes(), &[data.as_bytes()]))
}

/// Checks `X-Twilio-Signature` for a form-encoded POST to `url`.
pub fn verify(auth_token: &str, url: &str, header: Option<&str>, body: &[u8]) -> Result<(), Error> {
    const WHAT: &str = "X-Twilio-Signature signature";
    let given = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(Error::MissingSignature(WHAT))?;
    if auth_token.is_empty() {
        return Err(Error::Config("no auth token".into()));
    }
    let expected = signature(auth_token, url, &form_pairs(body));
    if !ct_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(Error::BadSignature(WHAT));
    }
    Ok(())
}

/// A webhook, verified then parsed: the only way the hub should read one. Answered with an empty
/// TwiML `<Response/>` (no automatic reply).
pub fn receive(
    auth_token: &str,
    url: &str,
    header: Option<&str>,
    body: &[u8],
    entry_point: &str,
) -> Result<(Answer, Event), Error> {
    check_size(body, MAX_BODY)?;
    verify(auth_token, url, header, body)?;
    let answer = Answer {
        status: 200,
        content_type: "text/xml",
        body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>".into(),
    };
    Ok((answer, parse(body, entry_point)?))
}

/// A message (`Body`, `From`, media) or a status callback (`MessageStatus`).
pub fn parse(body: &[u8], entry_point: &str) -> Result<Event, Error> {
    check_size(body, MAX_BODY)?;
    let pairs = form_pairs(body);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let missing = |field: &str| Error::Malformed {
        format: "form",
        detail: format!("no {field}"),
    };
    let sid = get("MessageSid")
        .or_else(|| get("SmsSid"))
        .ok_or_else(|| missing("MessageSid"))?;

    if let Some(status) = get("MessageStatus").filter(|s| *s != "received") {
        let state = match status {
            "sent" => DeliveryState::Sent,
            "delivered" => DeliveryState::Delivered,
            "read" => DeliveryState::Read,
            "undelivered" | "failed" => DeliveryState::Failed {
                reason: match get("ErrorCode") {
                    Some(code) => format!("The SMS was {status} (error {code})"),
                    None => format!("The SMS was {status}"),
                },
            },
            // queued, accepted, sending, scheduled…: not news to the agent.
            other => return Ok(Event::Ignored(format!("message status {other}"))),
        };
        return Ok(Event::Status {
            external_id: sid.to_owned(),
            state,
            at: None,
        });
    }

    let from = get("From").ok_or_else(|| missing("From"))?;
    let num_media = get("NumMedia")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_MEDIA);
    let media: Vec<MediaRef> = (0..num_media)
        .filter_map(|i| {
            let url = get(&format!("MediaUrl{i}"))?;
            let content_type = get(&format!("MediaContentType{i}")).map(str::to_owned);
            let kind = match content_type.as_deref().unwrap_or_default() {
                ct if ct.starts_with("image/") => "image",
                ct if ct.starts_with("audio/") => "audio",
                ct if ct.starts_with("video/") => "video",
                _ => "document",
            };
            Some(MediaRef {
                kind,
                id: i.to_string(),
                content_type,
                filename: None,
                url: Some(url.to_owned()),
                size: None,
            })
        })
        .collect();
    let mut details = json!({
        "platform": PLATFORM,
        "kind": if media.is_empty() { "text" } else { "mms" },
        "to": get("To"),
        "num_segments": get("NumSegments"),
    });
    if !media.is_empty() {
        details["media"] = json!(media);
    }
    Ok(Event::Message(Inbound {
        channel: Channel::Messaging,
        entry_point: entry_point.to_owned(),
        identities: vec![RawIdentity::Phone(from.to_owned())],
        display_name: None,
        thread: Thread::default(),
        automated: None,
        message: Some(InboundMessage {
            external_id: sid.to_owned(),
            body: get("Body").unwrap_or_default().to_owned(),
            details,
            attachments: Vec::new(),
            sent_at: None,
        }),
    }))
}

/// One provider account and number's sending side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// `https://api.twilio.com` (a fake's URL in tests).
    pub base: String,
    pub account_sid: String,
    pub auth_token: String,
    /// Our number, E.164.
    pub from: String,
    /// Where the provider posts status callbacks (the inbox's webhook URL).
    pub status_callback: Option<String>,
}

impl Api {
    fn basic_auth(&self) -> (String, String) {
        let credentials = STANDARD.encode(format!("{}:{}", self.account_sid, self.auth_token));
        ("Authorization".into(), format!("Basic {credentials}"))
    }

    /// `POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with To, From, Body, StatusCallback.
    pub fn send(&self, to: &str, text: &str) -> HttpRequest {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", to)
            .append_pair("From", &self.from)
            .append_pair("Body", text);
        if let Some(callback) = &self.status_callback {
            form.append_pair("StatusCallback", callback);
        }
        HttpRequest {
            method: Method::Post,
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base.trim_end_matches('/'),
                enc(&self.account_sid)
            ),
            headers: vec![
                self.basic_auth(),
                ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
            ],
            body: Body::Bytes(form.finish().into_bytes()),
        }
    }

    /// The request for an `Outbound`: `to[0]` and the body (SMS carries no files we send).
    pub fn request_for(&self, outbound: &Outbound) -> Result<HttpRequest, Error> {
        let to = outbound
            .to
            .first()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Unsendable("no number to send to".into()))?;
        if outbound.body.trim().is_empty() {
            return Err(Error::Unsendable("the message is empty".into()));
        }
        if !outbound.attachments.is_empty() {
            return Err(Error::Unsendable("files cannot be sent by SMS".into()));
        }
        Ok(self.send(to, &outbound.body))
    }

    /// Whether an inbound `MediaUrl` may be fetched with our credentials: https on the API's host
    /// only (the provider redirects from there to its media store, which the hub's client may
    /// follow without our credentials).
    pub fn media_url_allowed(&self, url: &str) -> bool {
        match url_host(&self.base) {
            Some(host) if self.base.starts_with("https://") => https_host_in(url, &[&host]),
            Some(host) => url.starts_with("http://") && url_host(url).as_deref() == Some(&host),
            None => false,
        }
    }

    pub fn media_download(&self, url: &str) -> Result<HttpRequest, Error> {
        if !self.media_url_allowed(url) {
            return Err(Error::Unsendable(format!(
                "refusing to fetch media from {:?}: not the provider's host",
                url_host(url).unwrap_or_default()
            )));
        }
        Ok(HttpRequest {
            method: Method::Get,
            url: url.to_owned(),
            headers: vec![self.basic_auth()],
            body: Body::Empty,
        })
    }
}

/// What a send came to: the message's `sid`, or why not. `retry_after` is the answer's
/// `Retry-After` header (seconds), honoured on a 429.
pub fn read_send_response(status: u16, body: &[u8], retry_after: Option<&str>) -> SendOutcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = str_of(&v, "message").map(short);
    let code = v.get("code").and_then(Value::as_i64);
    match status {
        200..=299 => match str_of(&v, "sid") {
            Some(sid) => SendOutcome::Sent {
                external_id: sid.to_owned(),
            },
            None => SendOutcome::Failed {
                reason: "the SMS provider accepted the message but gave no sid".into(),
            },
        },
        429 => SendOutcome::Retry {
            reason: message.unwrap_or_else(|| "too many requests".into()),
            after: retry_after
                .and_then(|r| r.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
        500..=599 => SendOutcome::Retry {
            reason: format!("the SMS provider answered HTTP {status}"),
            after: None,
        },
        401 | 403 => SendOutcome::Failed {
            reason: "the SMS provider refused our account SID or auth token".into(),
        },
        _ => {
            let what = match code {
                Some(21211) => "The number is not a valid phone number",
                Some(21610) => "The customer has opted out of SMS from this number (replied STOP)",
                Some(21614) => "The number cannot receive SMS",
                _ => "The SMS provider refused the message",
            };
            let reason = match (message, code) {
                (Some(m), Some(c)) => format!("{what}: {m} (code {c})"),
                (Some(m), None) => format!("{what}: {m}"),
                (None, Some(c)) => format!("{what} (code {c})"),
                (None, None) => format!("{what} (HTTP {status})"),
            };
            SendOutcome::Failed { reason }
        }
    }
}
