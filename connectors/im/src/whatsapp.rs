//! WhatsApp Cloud API, first and last hop: Meta's webhook (the `GET` subscription handshake, then
//! `POST` deliveries signed with `X-Hub-Signature-256`) becomes `Event`s for the hub's intake, and
//! an agent's reply becomes a Graph API request whose answer becomes a `SendOutcome`. Media are
//! fetched in two steps the hub performs: `Api::media_info` gives a short-lived URL, and
//! `Api::media_download` fetches it, only from Meta's hosts. No IO.
//!
//! Payload shapes follow Meta's "messages webhook reference"; error codes its "Error codes" page.

use crate::common::{
    Answer, Body, DeliveryState, Error, Event, HttpRequest, MediaRef, Method, Part, Posts, SendOutcome,
    check_size, ct_eq, enc, form_pairs, hex, hmac_sha256, https_host_in, id_of, json_request, parse_json,
    reply_window, secs_to_millis, short, str_of, unhex, url_host,
};
use plugboard_channel::{Attachment, Channel, Inbound, InboundMessage, Outbound, RawIdentity, Thread};
use serde_json::{Value, json};

pub const PLATFORM: &str = "whatsapp";
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// Meta batches deliveries; a batch of a thousand messages fits well within this.
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Meta posts JSON.
pub const POSTS: Posts = Posts {
    max_body: MAX_BODY,
    content_types: &["application/json"],
};
/// The customer-service window: free-form replies only within 24 hours of the customer's last
/// message, a template after that.
pub const WINDOW_HOURS: i64 = 24;

/// The `GET` handshake Meta makes when the webhook is configured: `hub.mode=subscribe` and our
/// verify token (compared in constant time) earn `hub.challenge` back, anything else a 403.
pub fn verify_subscription(verify_token: &str, query: &str) -> Result<Answer, Error> {
    let pairs = form_pairs(query.as_bytes());
    let get = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    if get("hub.mode") != Some("subscribe") {
        return Err(Error::VerificationFailed("hub.mode is not subscribe"));
    }
    let given = get("hub.verify_token").unwrap_or_default();
    if verify_token.is_empty() || !ct_eq(given.as_bytes(), verify_token.as_bytes()) {
        return Err(Error::VerificationFailed("hub.verify_token does not match"));
    }
    let challenge = get("hub.challenge").unwrap_or_default();
    Ok(Answer::text(challenge))
}

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`, over the bytes as
/// received (never a re-serialisation), compared in constant time.
pub fn verify_signature(app_secret: &str, header: Option<&str>, body: &[u8]) -> Result<(), Error> {
    const WHAT: &str = "X-Hub-Signature-256 signature";
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(Error::MissingSignature(WHAT))?;
    let given = header
        .strip_prefix("sha256=")
        .and_then(unhex)
        .ok_or(Error::BadSignature(WHAT))?;
    if app_secret.is_empty() {
        return Err(Error::Config("no app secret".into()));
    }
    let expected = hmac_sha256(app_secret.as_bytes(), &[body]);
    if !ct_eq(&given, &expected) {
        return Err(Error::BadSignature(WHAT));
    }
    Ok(())
}

/// The signature header value Meta would send for `body`, for tests and fakes.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex(&hmac_sha256(app_secret.as_bytes(), &[body])))
}

/// A signed delivery, verified then parsed: the only way the hub should read one. Answered with
/// an empty 200 (Meta retries anything else).
pub fn receive(
    app_secret: &str,
    signature: Option<&str>,
    body: &[u8],
    entry_point_for: impl Fn(&str) -> Option<String>,
) -> Result<(Answer, Vec<Event>), Error> {
    check_size(body, MAX_BODY)?;
    verify_signature(app_secret, signature, body)?;
    Ok((Answer::empty(), parse(body, entry_point_for)?))
}

/// Every message and status in a delivery, in order. `entry_point_for` maps the business phone
/// number's id (`metadata.phone_number_id`) to its inbox's entry point (`inbox:<id>`); a change
/// for a number with no inbox is `Ignored`, as is any change that is not about messages.
pub fn parse(body: &[u8], entry_point_for: impl Fn(&str) -> Option<String>) -> Result<Vec<Event>, Error> {
    let root = parse_json(body, MAX_BODY)?;
    if !root.is_object() {
        return Err(Error::json("the delivery is not a JSON object"));
    }
    let object = str_of(&root, "object").unwrap_or_default();
    if object != "whatsapp_business_account" {
        return Ok(vec![Event::Ignored(format!("object {object:?}"))]);
    }
    let mut events = Vec::new();
    for entry in array(&root, "entry") {
        for change in array(entry, "changes") {
            let field = str_of(change, "field").unwrap_or_default();
            let value = change.get("value").unwrap_or(&Value::Null);
            if field != "messages" {
                events.push(Event::Ignored(format!("change field {field:?}")));
                continue;
            }
            let number_id = value
                .get("metadata")
                .and_then(|m| id_of(m, "phone_number_id"))
                .unwrap_or_default();
            let Some(entry_point) = entry_point_for(&number_id) else {
                events.push(Event::Ignored(format!(
                    "no inbox for phone number id {number_id:?}"
                )));
                continue;
            };
            for message in array(value, "messages") {
                events.push(message_event(message, value, &entry_point, &number_id));
            }
            for status in array(value, "statuses") {
                events.push(status_event(status));
            }
        }
    }
    Ok(events)
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn message_event(message: &Value, value: &Value, entry_point: &str, number_id: &str) -> Event {
    let from = str_of(message, "from").unwrap_or_default().to_owned();
    let contact = array(value, "contacts")
        .iter()
        .find(|c| str_of(c, "wa_id") == Some(from.as_str()))
        .or_else(|| match array(value, "contacts") {
            [only] => Some(only),
            _ => None,
        });
    let wa_id = contact
        .and_then(|c| str_of(c, "wa_id"))
        .unwrap_or(&from)
        .to_owned();
    let display_name = contact
        .and_then(|c| c.get("profile"))
        .and_then(|p| str_of(p, "name"))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let sent_at = message.get("timestamp").and_then(secs_to_millis);
    let kind = str_of(message, "type").unwrap_or("unknown");
    let (body, mut details) = content(kind, message);
    details["platform"] = json!(PLATFORM);
    details["phone_number_id"] = json!(number_id);
    details["reply_window"] = reply_window(sent_at, WINDOW_HOURS);
    let mut replies_to = Vec::new();
    if let Some(context) = message.get("context") {
        if let Some(id) = str_of(context, "id") {
            replies_to.push(id.to_owned());
        }
        details["context"] = context.clone();
    }
    if kind == "reaction"
        && let Some(id) = message.get("reaction").and_then(|r| str_of(r, "message_id"))
        && !replies_to.iter().any(|r| r == id)
    {
        replies_to.push(id.to_owned());
    }
    let mut identities = Vec::new();
    if !wa_id.is_empty() {
        identities.push(RawIdentity::Platform {
            platform: PLATFORM.into(),
            id: wa_id.clone(),
        });
        identities.push(RawIdentity::Phone(format!("+{wa_id}")));
    }
    Event::Message(Inbound {
        channel: Channel::Messaging,
        entry_point: entry_point.to_owned(),
        identities,
        display_name,
        thread: Thread {
            replies_to,
            token: None,
        },
        automated: None,
        message: Some(InboundMessage {
            external_id: str_of(message, "id").unwrap_or_default().to_owned(),
            body,
            details,
            attachments: Vec::new(),
            sent_at,
        }),
    })
}

/// The text the timeline shows and the details the console needs, per message type.
fn content(kind: &str, message: &Value) -> (String, Value) {
    let part = message.get(kind).unwrap_or(&Value::Null);
    let text = |v: &Value, key: &str| str_of(v, key).unwrap_or_default().to_owned();
    match kind {
        "text" => (text(part, "body"), json!({"kind": "text"})),
        "image" | "audio" | "video" | "document" | "sticker" => {
            let media_kind = match kind {
                "image" => "image",
                "audio" if part.get("voice").and_then(Value::as_bool) == Some(true) => "voice",
                "audio" => "audio",
                "video" => "video",
                "document" => "document",
                _ => "sticker",
            };
            let media = MediaRef {
                kind: media_kind,
                id: text(part, "id"),
                content_type: str_of(part, "mime_type").map(str::to_owned),
                filename: str_of(part, "filename").map(str::to_owned),
                url: None,
                size: None,
            };
            let mut details = json!({"kind": kind, "media": [media]});
            if let Some(sha) = str_of(part, "sha256") {
                details["sha256"] = json!(sha);
            }
            (text(part, "caption"), details)
        }
        "location" => (
            [str_of(part, "name"), str_of(part, "address")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            json!({"kind": "location", "location": {
                "latitude": part.get("latitude"),
                "longitude": part.get("longitude"),
                "name": part.get("name"),
                "address": part.get("address"),
                "url": part.get("url"),
            }}),
        ),
        "contacts" => {
            let names: Vec<&str> = message
                .get("contacts")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| c.get("name").and_then(|n| str_of(n, "formatted_name")))
                        .collect()
                })
                .unwrap_or_default();
            (
                names.join(", "),
                json!({"kind": "contacts", "contacts": message.get("contacts")}),
            )
        }
        "interactive" => {
            let reply_kind = str_of(part, "type").unwrap_or_default();
            let reply = part.get(reply_kind).unwrap_or(&Value::Null);
            (
                text(reply, "title"),
                json!({"kind": "interactive", "reply": {
                    "type": reply_kind,
                    "id": reply.get("id"),
                    "title": reply.get("title"),
                    "description": reply.get("description"),
                }}),
            )
        }
        "button" => (
            text(part, "text"),
            json!({"kind": "button", "reply": {"type": "button", "payload": part.get("payload"), "title": part.get("text")}}),
        ),
        "reaction" => (
            text(part, "emoji"),
            json!({"kind": "reaction", "reaction": {"message_id": part.get("message_id"), "emoji": part.get("emoji")}}),
        ),
        other => (
            String::new(),
            json!({"kind": "unsupported", "raw_kind": other, "errors": message.get("errors")}),
        ),
    }
}

fn status_event(status: &Value) -> Event {
    let external_id = str_of(status, "id").unwrap_or_default().to_owned();
    let at = status.get("timestamp").and_then(secs_to_millis);
    let state = match str_of(status, "status").unwrap_or_default() {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "failed" => DeliveryState::Failed {
            reason: status_error(status),
        },
        other => return Event::Ignored(format!("message status {other:?}")),
    };
    Event::Status {
        external_id,
        state,
        at,
    }
}

fn status_error(status: &Value) -> String {
    let Some(error) = array(status, "errors").first() else {
        return "WhatsApp could not deliver the message".into();
    };
    let title = str_of(error, "title")
        .or_else(|| str_of(error, "message"))
        .unwrap_or("delivery failed");
    let details = error
        .get("error_data")
        .and_then(|d| str_of(d, "details"))
        .filter(|d| *d != title);
    let code = id_of(error, "code");
    let mut reason = title.to_owned();
    if let Some(details) = details {
        reason = format!("{reason}: {details}");
    }
    if let Some(code) = code {
        reason = format!("{reason} (code {code})");
    }
    short(&reason)
}

/// One business phone number's sending side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// `https://graph.facebook.com` (a fake's URL in tests).
    pub base: String,
    /// The Graph API version, e.g. `v21.0`.
    pub version: String,
    pub phone_number_id: String,
    /// A system user's access token: long-lived, changed only by an admin.
    pub access_token: String,
    /// The host Meta serves media downloads from, besides the Graph host itself.
    pub media_host: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
}

impl MediaKind {
    fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
        }
    }

    /// The kind WhatsApp shows a file of this content type as.
    pub fn for_content_type(content_type: &str) -> MediaKind {
        let ct = content_type.to_ascii_lowercase();
        if ct.starts_with("image/jpeg") || ct.starts_with("image/png") {
            MediaKind::Image
        } else if ct.starts_with("audio/") {
            MediaKind::Audio
        } else if ct.starts_with("video/mp4") || ct.starts_with("video/3gpp") {
            MediaKind::Video
        } else {
            MediaKind::Document
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    /// A media id from `Api::upload` (or a received message).
    Id(String),
    /// A public https URL WhatsApp fetches itself.
    Link(String),
}

/// What an agent's reply becomes on WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutMessage {
    Text {
        body: String,
    },
    Media {
        kind: MediaKind,
        source: MediaSource,
        caption: Option<String>,
        filename: Option<String>,
    },
    /// An approved template: the only thing WhatsApp delivers outside the 24-hour window.
    Template {
        name: String,
        /// The template's language code, e.g. `en_US`.
        language: String,
        /// The body's `{{1}}`, `{{2}}`… in order.
        params: Vec<String>,
    },
}

impl OutMessage {
    /// The message an `Outbound` asks for: `details.template` (`{"name", "language",
    /// "params": [..]}`) for a template, `details.media` (`{"kind", "id"|"link", "filename"?}`)
    /// for a file already known to WhatsApp, else the body as text. Attachments with bytes must
    /// first go through `Api::upload`; then the hub sends `Media` with the id it got.
    pub fn from_outbound(outbound: &Outbound) -> Result<OutMessage, Error> {
        if let Some(t) = outbound.details.get("template") {
            let name = str_of(t, "name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Error::Unsendable("a template needs a name".into()))?;
            let params = match t.get("params") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(ps)) => ps
                    .iter()
                    .map(|p| match p {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err(Error::Unsendable("template params must be text".into())),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(Error::Unsendable("template params must be a list".into())),
            };
            return Ok(OutMessage::Template {
                name: name.to_owned(),
                language: str_of(t, "language").unwrap_or("en_US").to_owned(),
                params,
            });
        }
        if let Some(m) = outbound.details.get("media") {
            let kind = match str_of(m, "kind") {
                Some("image") => MediaKind::Image,
                Some("audio") => MediaKind::Audio,
                Some("video") => MediaKind::Video,
                Some("document") => MediaKind::Document,
                other => return Err(Error::Unsendable(format!("media kind {other:?}"))),
            };
            let source = match (str_of(m, "id"), str_of(m, "link")) {
                (Some(id), _) => MediaSource::Id(id.to_owned()),
                (None, Some(link)) if link.starts_with("https://") => MediaSource::Link(link.to_owned()),
                _ => return Err(Error::Unsendable("media needs an id or an https link".into())),
            };
            let caption = Some(outbound.body.clone()).filter(|b| !b.is_empty());
            return Ok(OutMessage::Media {
                kind,
                source,
                caption,
                filename: str_of(m, "filename").map(str::to_owned),
            });
        }
        if outbound.body.trim().is_empty() {
            return Err(Error::Unsendable("the message is empty".into()));
        }
        Ok(OutMessage::Text {
            body: outbound.body.clone(),
        })
    }
}

impl Api {
    pub fn new(base: &str, version: &str, phone_number_id: &str, access_token: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            version: version.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            access_token: access_token.to_owned(),
            media_host: "lookaside.fbsbx.com".into(),
        }
    }

    fn auth(&self) -> Vec<(String, String)> {
        vec![("Authorization".into(), format!("Bearer {}", self.access_token))]
    }

    /// `POST {base}/{version}/{phone_number_id}/messages` to `to` (a `wa_id`).
    pub fn send(&self, to: &str, message: &OutMessage) -> HttpRequest {
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        });
        match message {
            OutMessage::Text { body: text } => {
                body["type"] = json!("text");
                body["text"] = json!({"preview_url": false, "body": text});
            }
            OutMessage::Media {
                kind,
                source,
                caption,
                filename,
            } => {
                let mut media = match source {
                    MediaSource::Id(id) => json!({"id": id}),
                    MediaSource::Link(link) => json!({"link": link}),
                };
                // WhatsApp takes no caption on audio, and a file name only on documents.
                if let Some(caption) = caption.as_ref().filter(|_| *kind != MediaKind::Audio) {
                    media["caption"] = json!(caption);
                }
                if let Some(filename) = filename.as_ref().filter(|_| *kind == MediaKind::Document) {
                    media["filename"] = json!(filename);
                }
                body["type"] = json!(kind.as_str());
                body[kind.as_str()] = media;
            }
            OutMessage::Template {
                name,
                language,
                params,
            } => {
                let mut template = json!({"name": name, "language": {"code": language}});
                if !params.is_empty() {
                    let parameters: Vec<Value> = params
                        .iter()
                        .map(|p| json!({"type": "text", "text": p}))
                        .collect();
                    template["components"] = json!([{"type": "body", "parameters": parameters}]);
                }
                body["type"] = json!("template");
                body["template"] = template;
            }
        }
        json_request(
            format!("{}/{}/{}/messages", self.base, self.version, self.phone_number_id),
            self.auth(),
            &body,
        )
    }

    /// `POST {base}/{version}/{phone_number_id}/media`: an attachment becomes a media id
    /// (`read_upload_response`) to send as `MediaSource::Id`.
    pub fn upload(&self, attachment: &Attachment) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: format!("{}/{}/{}/media", self.base, self.version, self.phone_number_id),
            headers: self.auth(),
            body: Body::Multipart(vec![
                Part::text("messaging_product", "whatsapp"),
                Part::text("type", attachment.content_type.clone()),
                Part {
                    name: "file".into(),
                    filename: Some(attachment.filename.clone()),
                    content_type: Some(attachment.content_type.clone()),
                    data: attachment.data.clone(),
                },
            ]),
        }
    }

    /// `GET {base}/{version}/{media_id}`: where to download a received file from
    /// (`read_media_info`).
    pub fn media_info(&self, media_id: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: format!("{}/{}/{}", self.base, self.version, enc(media_id)),
            headers: self.auth(),
            body: Body::Empty,
        }
    }

    /// Whether `url` is one we may fetch with our token: the scheme of the configured base
    /// (https in production) and the Graph host or Meta's media host, nothing else. A payload
    /// or a media answer naming any other host cannot make the hub fetch it.
    pub fn media_url_allowed(&self, url: &str) -> bool {
        let Some(graph) = url_host(&self.base) else {
            return false;
        };
        let hosts = [graph.as_str(), self.media_host.as_str()];
        if self.base.starts_with("https://") {
            return https_host_in(url, &hosts);
        }
        url.starts_with("http://") && url_host(url).is_some_and(|h| hosts.contains(&h.as_str()))
    }

    /// The download of a media URL from `read_media_info`, with the bearer token; refused for a
    /// host `media_url_allowed` does not allow.
    pub fn media_download(&self, url: &str) -> Result<HttpRequest, Error> {
        if !self.media_url_allowed(url) {
            return Err(Error::Unsendable(format!(
                "refusing to fetch media from {:?}: not WhatsApp's host",
                url_host(url).unwrap_or_default()
            )));
        }
        Ok(HttpRequest {
            method: Method::Get,
            url: url.to_owned(),
            headers: self.auth(),
            body: Body::Empty,
        })
    }
}

/// What `Api::media_info` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    pub url: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
}

pub fn read_media_info(status: u16, body: &[u8]) -> Result<MediaInfo, SendOutcome> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match str_of(&v, "url") {
        Some(url) if (200..300).contains(&status) => Ok(MediaInfo {
            url: url.to_owned(),
            mime_type: str_of(&v, "mime_type").map(str::to_owned),
            sha256: str_of(&v, "sha256").map(str::to_owned),
            file_size: v.get("file_size").and_then(|s| match s {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }),
        }),
        _ => Err(read_error(status, &v)),
    }
}

/// The media id `Api::upload` got.
pub fn read_upload_response(status: u16, body: &[u8]) -> Result<String, SendOutcome> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match str_of(&v, "id") {
        Some(id) if (200..300).contains(&status) => Ok(id.to_owned()),
        _ => Err(read_error(status, &v)),
    }
}

/// What a `send` came to: the `wamid` of the message, or why not.
pub fn read_send_response(status: u16, body: &[u8]) -> SendOutcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        let id = v
            .get("messages")
            .and_then(|m| m.get(0))
            .and_then(|m| str_of(m, "id"));
        return match id {
            Some(id) => SendOutcome::Sent {
                external_id: id.to_owned(),
            },
            // Taken but unnamed: sending again could deliver it twice, so the agent decides.
            None => SendOutcome::Failed {
                reason: "WhatsApp accepted the message but gave no id for it".into(),
            },
        };
    }
    read_error(status, &v)
}

/// Graph API errors (`{"error": {"message", "code", "error_data": {"details"}}}`) by code.
fn read_error(status: u16, v: &Value) -> SendOutcome {
    let error = v.get("error").unwrap_or(&Value::Null);
    let code = error.get("code").and_then(Value::as_i64);
    let message = str_of(error, "message").unwrap_or_default();
    let details = error
        .get("error_data")
        .and_then(|d| str_of(d, "details"))
        .unwrap_or_default();
    let described = match (message.is_empty(), details.is_empty()) {
        (false, false) => format!("{message}: {details}"),
        (false, true) => message.to_owned(),
        (true, false) => details.to_owned(),
        (true, true) => format!("WhatsApp answered HTTP {status}"),
    };
    match code {
        Some(131047) => SendOutcome::Failed {
            reason: "More than 24 hours have passed since the customer last wrote, so WhatsApp \
                     only delivers an approved template now: send a template to reopen the \
                     conversation"
                .into(),
        },
        Some(190) => SendOutcome::Failed {
            reason: "The WhatsApp access token is invalid or expired: an admin must enter a new \
                     one for this inbox"
                .into(),
        },
        // Rate limits (throughput, pair rate, spam, app) and "service temporarily unavailable".
        Some(130429 | 131056 | 80007 | 4 | 2 | 131016) => SendOutcome::Retry {
            reason: short(&described),
            after: None,
        },
        _ if status >= 500 || status == 429 => SendOutcome::Retry {
            reason: short(&described),
            after: None,
        },
        _ => SendOutcome::Failed {
            reason: short(&described),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_vector_verifies() {
        let header = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
        assert_eq!(verify_signature("secret", Some(header), b"test"), Ok(()));
        assert_eq!(sign("secret", b"test"), header);
    }

    #[test]
    fn media_hosts_are_only_metas() {
        let api = Api::new("https://graph.facebook.com", "v21.0", "1", "t");
        for (url, ok) in [
            (
                "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
                true,
            ),
            ("https://graph.facebook.com/v21.0/1", true),
            ("http://lookaside.fbsbx.com/x", false),
            ("https://lookaside.fbsbx.com.evil.net/x", false),
            ("https://169.254.169.254/latest/meta-data", false),
            ("https://user@lookaside.fbsbx.com/x", false),
        ] {
            assert_eq!(api.media_url_allowed(url), ok, "{url}");
        }
        let fake = Api::new("http://127.0.0.1:9000", "v21.0", "1", "t");
        assert!(fake.media_url_allowed("http://127.0.0.1:9000/media/1"));
        assert!(!fake.media_url_allowed("http://10.0.0.1/media/1"));
    }
}
