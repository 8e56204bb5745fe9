//! What every platform module shares: the events the hub's intake consumes, the description of an
//! HTTP request the hub sends for us, the answer its webhook handler gives, what a send came to,
//! the one error type, and the signature and encoding helpers. No IO.

use hmac::{Hmac, KeyInit, Mac};
use plugboard_channel::{Delivery, Inbound};
use serde::Serialize;
use serde_json::Value;
use sha1::Sha1;
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// What a webhook delivery means for the hub.
// A handful per delivery, consumed at once: boxing the message would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A customer's message, for the intake (deduplicated there on entry point + external id).
    Message(Inbound),
    /// What became of one of our messages, named by the platform's id for it (the `external_id`
    /// of the `Delivery::Sent` the hub recorded).
    Status {
        external_id: String,
        state: DeliveryState,
        /// When the platform says it happened, in milliseconds since the Unix epoch.
        at: Option<i64>,
    },
    /// Something the platform sent that is no message of a customer's and no status (a channel
    /// post, an account notice): answered and dropped, the reason kept for the log.
    Ignored(String),
}

/// Where one of our messages got to. Only ever moves forward; the hub ignores a status older than
/// the one it has (platforms deliver them out of order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    Sent,
    Delivered,
    Read,
    /// The platform gave up on it: the reason is the platform's, for the agent.
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request for the hub to send. Headers carry the content type and any authorization; the body
/// is sent exactly as given (a signed body must not be re-serialised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Empty,
    /// Sent as is; its `Content-Type` is in the request's headers.
    Bytes(Vec<u8>),
    /// `multipart/form-data`: the hub's HTTP client writes the boundary and the framing.
    Multipart(Vec<Part>),
}

/// One field of a multipart body: a file when it has a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn text(name: &str, value: impl Into<String>) -> Part {
        Part {
            name: name.to_owned(),
            filename: None,
            content_type: None,
            data: value.into().into_bytes(),
        }
    }
}

/// What the hub's webhook handler answers the platform with when the delivery was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Answer {
    pub fn text(body: impl Into<String>) -> Answer {
        Answer {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    /// 200 with an empty body: what every platform takes as "received".
    pub fn empty() -> Answer {
        Answer::text("")
    }
}

/// What a platform's answer to a send means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Taken; `external_id` is the platform's id for it, which later `Event::Status`es name.
    Sent { external_id: String },
    /// Not taken, for a reason that may pass (a rate limit, the platform being down). `after`:
    /// the platform said how long to wait, and the hub waits exactly that instead of its
    /// `retry_delay` schedule's wait, for no more attempts than that schedule allows.
    Retry { reason: String, after: Option<Duration> },
    /// The access token is no longer accepted: fetch a new one, then send again at once (this is
    /// not a failed attempt).
    RefreshToken { reason: String },
    /// Trying again cannot help; the reason is for the agent.
    Failed { reason: String },
}

impl SendOutcome {
    /// The channel contract's view, for recording on the message.
    pub fn delivery(&self) -> Delivery {
        match self {
            SendOutcome::Sent { external_id } => Delivery::Sent {
                external_id: external_id.clone(),
            },
            SendOutcome::Retry { reason, .. } | SendOutcome::RefreshToken { reason } => Delivery::Failed {
                reason: reason.clone(),
                permanent: false,
            },
            SendOutcome::Failed { reason } => Delivery::Failed {
                reason: reason.clone(),
                permanent: true,
            },
        }
    }
}

/// A file a message carries, as the platform names it: the hub fetches it through the platform
/// module's media requests (never from a URL taken on trust) and stores it. Listed in
/// `InboundMessage.details["media"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaRef {
    /// `image`, `audio`, `voice`, `video`, `document`, `sticker`.
    pub kind: &'static str,
    /// The platform's id for the file (WhatsApp's media id, Telegram's file_id, WeChat's
    /// MediaId, the index of a Twilio MediaUrl).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Where the platform serves it, when the payload says (WeChat's PicUrl, a Twilio MediaUrl):
    /// still fetched only if the module's `media_url_allowed` says the host is the platform's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// Every way a webhook delivery or a platform answer can be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the body is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    /// The platform posts only these media types: a body of another is not read.
    #[error("the Content-Type must be {}{}", expected.join(" or "),
        given.as_ref().map_or("; the request has none".into(), |g| format!(", not {g}")))]
    ContentType {
        expected: &'static [&'static str],
        given: Option<String>,
    },
    #[error("the request has no {0}")]
    MissingSignature(&'static str),
    #[error("the {0} does not match the body")]
    BadSignature(&'static str),
    #[error("the signature is {age_secs} s from now, outside the {window_secs} s replay window")]
    Stale { age_secs: i64, window_secs: u64 },
    #[error("verification refused: {0}")]
    VerificationFailed(&'static str),
    #[error("malformed {format}: {detail}")]
    Malformed { format: &'static str, detail: String },
    #[error("XML with a DOCTYPE or entity declaration is refused")]
    Doctype,
    #[error("cannot decrypt the message: {0}")]
    Decrypt(&'static str),
    #[error("the message is for app id {got:?}, not this account's")]
    WrongAppId { got: String },
    #[error("the inbox is misconfigured: {0}")]
    Config(String),
    #[error("cannot send this message: {0}")]
    Unsendable(String),
}

impl Error {
    /// The status the hub's webhook handler answers a refused delivery with.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::TooLarge { .. } => 413,
            Error::ContentType { .. } => 415,
            Error::MissingSignature(_) | Error::BadSignature(_) | Error::Stale { .. } => 401,
            Error::VerificationFailed(_) => 403,
            Error::Malformed { .. } | Error::Doctype | Error::Decrypt(_) | Error::WrongAppId { .. } => 400,
            Error::Config(_) | Error::Unsendable(_) => 500,
        }
    }

    pub(crate) fn json(e: impl std::fmt::Display) -> Error {
        Error::Malformed {
            format: "JSON",
            detail: e.to_string(),
        }
    }
}

/// How a platform posts to its webhook, for the hub to check before it reads a delivery: the most
/// one may carry (the platform module's `MAX_BODY`, which its `receive` holds to as well) and the
/// media types it is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posts {
    pub max_body: usize,
    /// The first is the one the platform documents.
    pub content_types: &'static [&'static str],
}

impl Posts {
    /// A delivery's `Content-Type` must name one of the platform's media types; case and
    /// parameters (`; charset=utf-8`) aside (RFC 9110 §8.3.1).
    pub fn check_content_type(&self, header: Option<&str>) -> Result<(), Error> {
        let given = header.map(|h| h.split(';').next().unwrap_or_default().trim());
        match given {
            Some(given) if self.content_types.iter().any(|t| t.eq_ignore_ascii_case(given)) => Ok(()),
            _ => Err(Error::ContentType {
                expected: self.content_types,
                given: given.filter(|g| !g.is_empty()).map(short),
            }),
        }
    }
}

pub(crate) fn check_size(body: &[u8], limit: usize) -> Result<(), Error> {
    if body.len() > limit {
        return Err(Error::TooLarge {
            size: body.len(),
            limit,
        });
    }
    Ok(())
}

pub(crate) fn parse_json(body: &[u8], limit: usize) -> Result<Value, Error> {
    check_size(body, limit)?;
    serde_json::from_slice(body).map_err(Error::json)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes a key of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Equal, in time that depends only on the lengths.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

pub(crate) fn unix_secs(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

pub(crate) fn unix_millis(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// Seconds since the epoch (as a number or a string of digits) to milliseconds.
pub(crate) fn secs_to_millis(v: &Value) -> Option<i64> {
    let secs = match v {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    secs.checked_mul(1000)
}

/// The customer-service window a platform allows free-form replies in, opened by the customer's
/// message at `at`: `{"opened_at", "closes_at", "hours"}` in `details["reply_window"]`, for the
/// console to say when it closes.
pub(crate) fn reply_window(at: Option<i64>, hours: i64) -> Value {
    match at {
        Some(at) => serde_json::json!({
            "opened_at": at,
            "closes_at": at.saturating_add(hours * 3_600_000),
            "hours": hours,
        }),
        None => Value::Null,
    }
}

/// A string field of a JSON object, if it is a string.
pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A string or number field as text (platforms send ids as either).
pub(crate) fn id_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Percent-encodes a query or form value (`application/x-www-form-urlencoded`).
pub(crate) fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `name → value` pairs of a query string or form body, decoded.
pub(crate) fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// The host of an `http(s)` URL, lower-cased, without port or credentials; `None` for anything
/// else.
pub(crate) fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') || authority.contains('\\') {
        return None;
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    if host.is_empty() {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

/// `https` and a host that is one of `hosts`, or a subdomain of one written `.example.com`.
pub(crate) fn https_host_in(url: &str, hosts: &[&str]) -> bool {
    if !url.starts_with("https://") {
        return false;
    }
    let Some(host) = url_host(url) else {
        return false;
    };
    hosts.iter().any(|allowed| {
        let allowed = allowed.to_ascii_lowercase();
        match allowed.strip_prefix('.') {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == allowed,
        }
    })
}

pub(crate) fn json_request(url: String, headers: Vec<(String, String)>, body: &Value) -> HttpRequest {
    let mut headers = headers;
    headers.push(("Content-Type".into(), "application/json".into()));
    HttpRequest {
        method: Method::Post,
        url,
        headers,
        body: Body::Bytes(body.to_string().into_bytes()),
    }
}

/// A platform's error text, cut to what an agent can read at a glance.
pub(crate) fn short(reason: &str) -> String {
    const MAX: usize = 300;
    let reason = reason.trim();
    if reason.len() <= MAX {
        return reason.to_owned();
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &reason[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_strictly() {
        let cases = [
            ("https://lookaside.fbsbx.com/x?y=1", Some("lookaside.fbsbx.com")),
            ("https://GRAPH.facebook.com:443/v1", Some("graph.facebook.com")),
            ("https://evil.com@graph.facebook.com/", None),
            ("https://graph.facebook.com\\@evil.com/", None),
            ("ftp://graph.facebook.com/", None),
            ("https://", None),
        ];
        for (url, host) in cases {
            assert_eq!(url_host(url).as_deref(), host, "{url}");
        }
        assert!(https_host_in("https://a.b.example.com/x", &[".example.com"]));
        assert!(!https_host_in(
            "https://example.com.evil.net/x",
            &[".example.com"]
        ));
        assert!(!https_host_in("http://example.com/x", &["example.com"]));
    }

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("éé"), None);
    }

    #[test]
    fn outcomes_map_onto_the_channel_contract() {
        let retry = SendOutcome::Retry {
            reason: "rate".into(),
            after: None,
        };
        assert_eq!(
            retry.delivery(),
            Delivery::Failed {
                reason: "rate".into(),
                permanent: false
            }
        );
        let failed = SendOutcome::Failed {
            reason: "blocked".into(),
        };
        assert_eq!(
            failed.delivery(),
            Delivery::Failed {
                reason: "blocked".into(),
                permanent: true
            }
        );
    }
}
