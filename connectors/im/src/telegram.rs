//! Telegram Bot API, first and last hop: an `Update` posted to our webhook (checked by the secret
//! token we gave `setWebhook`) becomes an `Event` for the hub's intake, and an agent's reply
//! becomes `sendMessage`/`sendPhoto`/`sendDocument` requests whose answers become `SendOutcome`s.
//! Files are fetched by the hub in two steps: `getFile` gives a path, `Bot::file_download` the download.
//! No IO.
//!
//! Shapes follow the Bot API reference ("Update", "Message", "Making requests", "setWebhook").

use crate::common::{
    Answer, Body, Error, Event, HttpRequest, MediaRef, Method, Part, Posts, SendOutcome, check_size, ct_eq,
    id_of, json_request, parse_json, short, str_of,
};
use plugboard_channel::{Attachment, Channel, Inbound, InboundMessage, Outbound, RawIdentity, Thread};
use serde_json::{Value, json};
use std::time::Duration;

pub const PLATFORM: &str = "telegram";
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// One update per request; even a long message with entities is a few kilobytes.
pub const MAX_BODY: usize = 1024 * 1024;
/// Telegram posts JSON ("setWebhook").
pub const POSTS: Posts = Posts {
    max_body: MAX_BODY,
    content_types: &["application/json"],
};
/// Telegram's limit on a photo's or document's caption.
pub const MAX_CAPTION: usize = 1024;

/// The secret token header, compared in constant time with the one we set.
pub fn verify_secret(expected: &str, header: Option<&str>) -> Result<(), Error> {
    const WHAT: &str = "X-Telegram-Bot-Api-Secret-Token header";
    let given = header
        .filter(|h| !h.is_empty())
        .ok_or(Error::MissingSignature(WHAT))?;
    if expected.is_empty() {
        return Err(Error::Config("no webhook secret token".into()));
    }
    if !ct_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(Error::BadSignature(WHAT));
    }
    Ok(())
}

/// One update, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// Telegram's id for the delivery itself: it redelivers an update with the same id until it
    /// gets a 200, so the hub can drop a repeat before anything else. The message inside has its
    /// own external id (`{chat_id}:{message_id}`), shared by its edits.
    pub update_id: i64,
    pub event: Event,
}

/// A delivery, checked then parsed: the only way the hub should read one. Answered with an empty
/// 200.
pub fn receive(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    entry_point: &str,
) -> Result<(Answer, Update), Error> {
    check_size(body, MAX_BODY)?;
    verify_secret(secret, header)?;
    Ok((Answer::empty(), parse(body, entry_point)?))
}

pub fn parse(body: &[u8], entry_point: &str) -> Result<Update, Error> {
    let root = parse_json(body, MAX_BODY)?;
    let update_id = root
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::json("no update_id"))?;
    let event = if let Some(message) = root.get("message") {
        message_event(message, entry_point, false)?
    } else if let Some(message) = root.get("edited_message") {
        message_event(message, entry_point, true)?
    } else {
        let kind = root
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "update_id"))
            .map_or("nothing", String::as_str);
        Event::Ignored(format!("update of kind {kind}"))
    };
    Ok(Update { update_id, event })
}

/// Fields of a Message that are about it rather than its content.
const METADATA: &[&str] = &[
    "message_id",
    "message_thread_id",
    "from",
    "sender_chat",
    "sender_boost_count",
    "sender_business_bot",
    "date",
    "business_connection_id",
    "chat",
    "forward_origin",
    "is_topic_message",
    "is_automatic_forward",
    "reply_to_message",
    "external_reply",
    "quote",
    "reply_to_story",
    "via_bot",
    "edit_date",
    "has_protected_content",
    "is_from_offline",
    "media_group_id",
    "author_signature",
    "entities",
    "caption",
    "caption_entities",
    "show_caption_above_media",
    "has_media_spoiler",
    "link_preview_options",
    "effect_id",
    "reply_markup",
];

fn message_event(message: &Value, entry_point: &str, edited: bool) -> Result<Event, Error> {
    let chat = message
        .get("chat")
        .ok_or_else(|| Error::json("a message with no chat"))?;
    let chat_id = chat
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::json("a chat with no id"))?;
    let message_id = message
        .get("message_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::json("a message with no message_id"))?;
    let sent_at = message
        .get("date")
        .and_then(Value::as_i64)
        .and_then(|s| s.checked_mul(1000));
    let caption = str_of(message, "caption").unwrap_or_default().to_owned();
    let media = |kind: &'static str, part: &Value, filename: Option<&str>| MediaRef {
        kind,
        id: str_of(part, "file_id").unwrap_or_default().to_owned(),
        content_type: str_of(part, "mime_type").map(str::to_owned),
        filename: filename.or_else(|| str_of(part, "file_name")).map(str::to_owned),
        url: None,
        size: part.get("file_size").and_then(Value::as_u64),
    };

    let (body, mut details) = if let Some(text) = str_of(message, "text") {
        (text.to_owned(), json!({"kind": "text"}))
    } else if let Some(sizes) = message.get("photo").and_then(Value::as_array) {
        // Telegram sends every size it made; the largest is the one worth keeping.
        let largest = sizes.iter().max_by_key(|s| {
            let w = s.get("width").and_then(Value::as_u64).unwrap_or(0);
            let h = s.get("height").and_then(Value::as_u64).unwrap_or(0);
            (w.saturating_mul(h), s.get("file_size").and_then(Value::as_u64))
        });
        match largest {
            Some(p) => (
                caption,
                json!({"kind": "photo", "media": [MediaRef { content_type: Some("image/jpeg".into()), ..media("image", p, None) }]}),
            ),
            None => (caption, json!({"kind": "photo", "media": []})),
        }
    } else if let Some(part) = ["document", "voice", "audio", "video", "sticker"]
        .into_iter()
        .find_map(|k| message.get(k).map(|p| (k, p)))
    {
        let (kind, p) = part;
        let media_kind = match kind {
            "document" => "document",
            "voice" => "voice",
            "audio" => "audio",
            "video" => "video",
            _ => "sticker",
        };
        let mut details = json!({"kind": kind, "media": [media(media_kind, p, None)]});
        if let Some(d) = p.get("duration") {
            details["duration"] = d.clone();
        }
        if kind == "sticker" {
            details["emoji"] = p.get("emoji").cloned().unwrap_or(Value::Null);
        }
        let body = if kind == "sticker" {
            str_of(p, "emoji").unwrap_or_default().to_owned()
        } else {
            caption
        };
        (body, details)
    } else if let Some(location) = message.get("location") {
        let venue = message.get("venue");
        let body = venue
            .map(|v| {
                [str_of(v, "title"), str_of(v, "address")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        (
            body,
            json!({"kind": "location", "location": {
                "latitude": location.get("latitude"),
                "longitude": location.get("longitude"),
                "name": venue.and_then(|v| v.get("title")),
                "address": venue.and_then(|v| v.get("address")),
            }}),
        )
    } else if let Some(contact) = message.get("contact") {
        let name = [str_of(contact, "first_name"), str_of(contact, "last_name")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (
            name,
            json!({"kind": "contact", "contact": {
                "phone_number": contact.get("phone_number"),
                "first_name": contact.get("first_name"),
                "last_name": contact.get("last_name"),
                "user_id": contact.get("user_id"),
            }}),
        )
    } else {
        let raw_kind = message
            .as_object()
            .and_then(|o| o.keys().find(|k| !METADATA.contains(&k.as_str())))
            .map_or("unknown", String::as_str);
        (caption, json!({"kind": "unsupported", "raw_kind": raw_kind}))
    };

    details["platform"] = json!(PLATFORM);
    details["chat_type"] = chat.get("type").cloned().unwrap_or(Value::Null);
    details["message_id"] = json!(message_id);
    details["edited"] = json!(edited);
    if edited {
        details["edit_date"] = message
            .get("edit_date")
            .and_then(Value::as_i64)
            .and_then(|s| s.checked_mul(1000))
            .map_or(Value::Null, |ms| json!(ms));
    }
    let mut replies_to: Vec<String> = message
        .get("reply_to_message")
        .and_then(|r| r.get("message_id"))
        .and_then(Value::as_i64)
        .map(|id| vec![format!("{chat_id}:{id}")])
        .unwrap_or_default();
    // An edit is a message of its own on the timeline (the customer changed what they said;
    // both stay): its id names the original and the edit's time, so a redelivered edit is still
    // stored once, and it joins the original's conversation.
    let mut external_id = format!("{chat_id}:{message_id}");
    if edited {
        let at = message
            .get("edit_date")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        replies_to.insert(0, external_id.clone());
        details["edits"] = json!(external_id);
        external_id = format!("{external_id}:edited:{at}");
    }

    Ok(Event::Message(Inbound {
        channel: Channel::Messaging,
        entry_point: entry_point.to_owned(),
        identities: vec![RawIdentity::Platform {
            platform: PLATFORM.into(),
            id: chat_id.to_string(),
        }],
        display_name: display_name(message.get("from").unwrap_or(chat)),
        thread: Thread {
            replies_to,
            token: None,
        },
        automated: None,
        message: Some(InboundMessage {
            external_id,
            body,
            details,
            attachments: Vec::new(),
            sent_at,
        }),
    }))
}

/// First and last name, else the username, else a group's title.
fn display_name(who: &Value) -> Option<String> {
    let name = [str_of(who, "first_name"), str_of(who, "last_name")]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !name.is_empty() {
        return Some(name);
    }
    str_of(who, "username")
        .map(|u| format!("@{u}"))
        .or_else(|| str_of(who, "title").map(str::to_owned))
}

/// A bot's sending side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    /// `https://api.telegram.org` (a fake's URL in tests).
    pub base: String,
    pub token: String,
}

/// A file to send: one Telegram already has, a URL it fetches itself, or our bytes (multipart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    Id(String),
    Url(String),
    Upload(Attachment),
}

impl Bot {
    pub fn new(base: &str, token: &str) -> Bot {
        Bot {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base, self.token)
    }

    /// `sendMessage`, as a reply to `reply_to` (a message id in that chat) if given.
    pub fn send_message(&self, chat_id: &str, text: &str, reply_to: Option<i64>) -> HttpRequest {
        let mut body = json!({"chat_id": chat_id, "text": text});
        if let Some(id) = reply_to {
            body["reply_parameters"] = json!({"message_id": id, "allow_sending_without_reply": true});
        }
        json_request(self.url("sendMessage"), Vec::new(), &body)
    }

    /// `sendPhoto`.
    pub fn send_photo(&self, chat_id: &str, photo: &FileSource, caption: &str) -> HttpRequest {
        self.send_file("sendPhoto", "photo", chat_id, photo, caption)
    }

    /// `sendDocument`.
    pub fn send_document(&self, chat_id: &str, doc: &FileSource, caption: &str) -> HttpRequest {
        self.send_file("sendDocument", "document", chat_id, doc, caption)
    }

    fn send_file(
        &self,
        method: &str,
        field: &str,
        chat_id: &str,
        file: &FileSource,
        caption: &str,
    ) -> HttpRequest {
        match file {
            FileSource::Id(s) | FileSource::Url(s) => {
                let mut body = json!({"chat_id": chat_id, field: s});
                if !caption.is_empty() {
                    body["caption"] = json!(caption);
                }
                json_request(self.url(method), Vec::new(), &body)
            }
            FileSource::Upload(a) => {
                let mut parts = vec![Part::text("chat_id", chat_id)];
                if !caption.is_empty() {
                    parts.push(Part::text("caption", caption));
                }
                parts.push(Part {
                    name: field.to_owned(),
                    filename: Some(a.filename.clone()),
                    content_type: Some(a.content_type.clone()),
                    data: a.data.clone(),
                });
                HttpRequest {
                    method: Method::Post,
                    url: self.url(method),
                    headers: Vec::new(),
                    body: Body::Multipart(parts),
                }
            }
        }
    }

    /// The requests an `Outbound` becomes, to send in order (`to[0]` is the chat id): the text
    /// alone, or each attachment (images as photos, the rest as documents) with the text as the
    /// first one's caption when it fits, else the text first. `details.reply_to` (a message id
    /// in the chat) makes the text a reply. The hub records the first request's message id.
    pub fn requests_for(&self, outbound: &Outbound) -> Result<Vec<HttpRequest>, Error> {
        let chat_id = outbound
            .to
            .first()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::Unsendable("no chat id to send to".into()))?;
        let reply_to = outbound.details.get("reply_to").and_then(Value::as_i64);
        let text = outbound.body.as_str();
        if outbound.attachments.is_empty() {
            if text.trim().is_empty() {
                return Err(Error::Unsendable("the message is empty".into()));
            }
            return Ok(vec![self.send_message(chat_id, text, reply_to)]);
        }
        let mut requests = Vec::new();
        let caption_fits = text.chars().count() <= MAX_CAPTION;
        if !caption_fits {
            requests.push(self.send_message(chat_id, text, reply_to));
        }
        for (n, a) in outbound.attachments.iter().enumerate() {
            let caption = if n == 0 && caption_fits { text } else { "" };
            let file = FileSource::Upload(a.clone());
            let is_photo = matches!(
                a.content_type.to_ascii_lowercase().as_str(),
                "image/jpeg" | "image/png" | "image/webp"
            );
            requests.push(if is_photo {
                self.send_photo(chat_id, &file, caption)
            } else {
                self.send_document(chat_id, &file, caption)
            });
        }
        Ok(requests)
    }

    /// `getFile`: where a received file is (`read_get_file`), for `file_url`.
    pub fn get_file(&self, file_id: &str) -> HttpRequest {
        json_request(self.url("getFile"), Vec::new(), &json!({"file_id": file_id}))
    }

    /// The download URL of a `file_path` from `getFile`, on Telegram's own host; a path that
    /// tries to leave the bot's file directory is refused.
    pub fn file_url(&self, file_path: &str) -> Result<String, Error> {
        let safe = !file_path.is_empty()
            && !file_path.starts_with('/')
            && !file_path.contains("..")
            && file_path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
        if !safe {
            return Err(Error::Unsendable(format!("refusing file path {file_path:?}")));
        }
        Ok(format!("{}/file/bot{}/{file_path}", self.base, self.token))
    }

    /// The GET that downloads a `file_path` from `getFile`, from `file_url`.
    pub fn file_download(&self, file_path: &str) -> Result<HttpRequest, Error> {
        Ok(HttpRequest {
            method: Method::Get,
            url: self.file_url(file_path)?,
            headers: Vec::new(),
            body: Body::Empty,
        })
    }

    /// `setWebhook`, done from the admin page: Telegram will post updates to `url` with
    /// `secret_token` in `X-Telegram-Bot-Api-Secret-Token` (1–256 of `A-Za-z0-9_-`).
    pub fn set_webhook(&self, url: &str, secret_token: &str) -> Result<HttpRequest, Error> {
        let valid = (1..=256).contains(&secret_token.len())
            && secret_token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(Error::Config(
                "a Telegram secret token is 1 to 256 letters, digits, _ or -".into(),
            ));
        }
        if !url.starts_with("https://") {
            return Err(Error::Config("Telegram only posts to an https URL".into()));
        }
        Ok(json_request(
            self.url("setWebhook"),
            Vec::new(),
            &json!({
                "url": url,
                "secret_token": secret_token,
                "allowed_updates": ["message", "edited_message"],
            }),
        ))
    }
}

/// What a send came to: `{chat_id}:{message_id}` (the scheme inbound messages use), or why not.
pub fn read_send_response(status: u16, body: &[u8]) -> SendOutcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        let result = v.get("result").unwrap_or(&Value::Null);
        let chat = result.get("chat").and_then(|c| id_of(c, "id"));
        return match (chat, id_of(result, "message_id")) {
            (Some(chat), Some(id)) => SendOutcome::Sent {
                external_id: format!("{chat}:{id}"),
            },
            (None, Some(id)) => SendOutcome::Sent { external_id: id },
            _ => SendOutcome::Failed {
                reason: "Telegram accepted the message but gave no id for it".into(),
            },
        };
    }
    read_error(status, &v)
}

fn read_error(status: u16, v: &Value) -> SendOutcome {
    let code = v
        .get("error_code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(status);
    let description = str_of(v, "description")
        .map(short)
        .unwrap_or_else(|| format!("Telegram answered HTTP {status}"));
    let retry_after = v
        .get("parameters")
        .and_then(|p| p.get("retry_after"))
        .and_then(Value::as_u64);
    match code {
        429 => SendOutcome::Retry {
            reason: description,
            after: retry_after.map(Duration::from_secs),
        },
        403 => SendOutcome::Failed {
            reason: format!("The customer cannot be reached on Telegram ({description})"),
        },
        401 | 404 if status == code => SendOutcome::Failed {
            reason: format!("Telegram refused the bot token ({description})"),
        },
        c if c >= 500 || status >= 500 => SendOutcome::Retry {
            reason: description,
            after: None,
        },
        _ => SendOutcome::Failed { reason: description },
    }
}

/// What `getFile` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub file_path: String,
    pub file_size: Option<u64>,
}

pub fn read_get_file(status: u16, body: &[u8]) -> Result<FileInfo, SendOutcome> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let result = v.get("result").unwrap_or(&Value::Null);
    match str_of(result, "file_path") {
        Some(path) if v.get("ok").and_then(Value::as_bool) == Some(true) => Ok(FileInfo {
            file_path: path.to_owned(),
            file_size: result.get("file_size").and_then(Value::as_u64),
        }),
        _ if v.get("ok").and_then(Value::as_bool) == Some(true) => Err(SendOutcome::Failed {
            reason: "the file is too big for the Bot API to download (over 20 MB)".into(),
        }),
        _ => Err(read_error(status, &v)),
    }
}
