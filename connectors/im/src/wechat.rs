//! WeChat Official Account (and WeCom customer service, which differs only in its endpoints: the
//! base URL is a parameter), first and last hop. The URL check and each message push are verified
//! by `signature` (and, in safe mode, `msg_signature` plus AES-256-CBC with the app id inside),
//! the XML becomes an `Event` for the hub's intake, and the push is answered `success` at once:
//! WeChat waits 5 seconds at most, so replies go later through the customer-service message API,
//! with an access token the hub keeps in an `AccessToken`. No IO.
//!
//! Follows the Official Account docs: "Access overview" (URL check), "Receiving standard messages"
//! and "Receiving event pushes" (XML), "Message encryption and decryption" (safe mode), "Customer
//! service message" (custom/send), "Get access token" and "Get temporary material" (media/get).

use crate::common::{
    Answer, Body, Error, Event, HttpRequest, MediaRef, Method, Posts, SendOutcome, check_size, ct_eq, enc,
    form_pairs, hex, https_host_in, json_request, reply_window, short,
};
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use plugboard_channel::{Channel, Inbound, InboundMessage, Outbound, RawIdentity, Thread};
use quick_xml::events::Event as Xml;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

pub const PLATFORM: &str = "wechat";
/// A push is one small XML document (a text message is at most 2048 bytes of content).
pub const MAX_BODY: usize = 64 * 1024;
/// WeChat posts XML as `text/xml`; `application/xml` (RFC 7303) means the same.
pub const POSTS: Posts = Posts {
    max_body: MAX_BODY,
    content_types: &["text/xml", "application/xml"],
};
/// Customer-service messages reach a user only within 48 hours of their last message.
pub const WINDOW_HOURS: i64 = 48;
/// Refresh a token this long before WeChat says it expires.
pub const REFRESH_EARLY: Duration = Duration::from_secs(5 * 60);

/// `sha1(concat(sort(parts)))` in lower-case hex: `signature` over token, timestamp and nonce;
/// `msg_signature` over those and the `Encrypt` text.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    hex(&Sha1::digest(sorted.concat().as_bytes()))
}

fn query_map(query: &str) -> BTreeMap<String, String> {
    form_pairs(query.as_bytes()).into_iter().rev().collect()
}

fn check_signature(given: Option<&String>, parts: &[&str], what: &'static str) -> Result<(), Error> {
    let given = given
        .filter(|g| !g.is_empty())
        .ok_or(Error::MissingSignature(what))?;
    let expected = signature(parts);
    if !ct_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        return Err(Error::BadSignature(what));
    }
    Ok(())
}

/// The `GET` WeChat makes when the server URL is saved: a good `signature` earns `echostr` back.
pub fn verify_url(token: &str, query: &str) -> Result<Answer, Error> {
    let q = query_map(query);
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    if token.is_empty() {
        return Err(Error::Config("no token".into()));
    }
    check_signature(
        q.get("signature"),
        &[token, get("timestamp"), get("nonce")],
        "signature",
    )?;
    Ok(Answer::text(get("echostr")))
}

/// The 32-byte AES-256 key an EncodingAESKey stands for; its first 16 bytes are also the IV.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; 32]);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(..)")
    }
}

/// The EncodingAESKey is 43 base64 characters whose last one carries 2 spare bits that WeChat
/// does not keep zero, so the decoder must allow them.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

impl AesKey {
    pub fn parse(encoding_aes_key: &str) -> Result<AesKey, Error> {
        let bad = || Error::Config("the EncodingAESKey must be 43 base64 characters".into());
        if encoding_aes_key.len() != 43 {
            return Err(bad());
        }
        let bytes = KEY_BASE64
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| bad())?;
        Ok(AesKey(bytes.try_into().map_err(|_| bad())?))
    }

    fn iv(&self) -> &[u8] {
        &self.0[..16]
    }
}

/// PKCS#7 over 32-byte blocks, as WeChat pads (not AES's 16).
const PAD_BLOCK: usize = 32;

/// Safe mode: `base64(AES-256-CBC(random(16) ‖ len(xml) as u32 BE ‖ xml ‖ app id))`. `random`
/// is the caller's (this crate has no randomness); use 16 fresh random bytes each time.
pub fn encrypt(key: &AesKey, app_id: &str, xml: &str, random: [u8; 16]) -> String {
    let mut plain = Vec::with_capacity(20 + xml.len() + app_id.len() + PAD_BLOCK);
    plain.extend_from_slice(&random);
    plain.extend_from_slice(&(xml.len() as u32).to_be_bytes());
    plain.extend_from_slice(xml.as_bytes());
    plain.extend_from_slice(app_id.as_bytes());
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let len = plain.len();
    let cipher =
        cbc::Encryptor::<aes::Aes256>::new_from_slices(&key.0, key.iv()).expect("32-byte key, 16-byte IV");
    let out = cipher
        .encrypt_padded::<NoPadding>(&mut plain, len)
        .expect("padded to whole blocks");
    STANDARD.encode(out)
}

/// The XML inside an `Encrypt` text, refused unless it decrypts, its padding is sound, its
/// length fits and it was sealed for `app_id`.
pub fn decrypt(key: &AesKey, app_id: &str, encrypted: &str) -> Result<String, Error> {
    let mut data = STANDARD
        .decode(encrypted.trim())
        .map_err(|_| Error::Decrypt("the Encrypt text is not base64"))?;
    if data.is_empty() || !data.len().is_multiple_of(16) {
        return Err(Error::Decrypt("not a whole number of AES blocks"));
    }
    let cipher =
        cbc::Decryptor::<aes::Aes256>::new_from_slices(&key.0, key.iv()).expect("32-byte key, 16-byte IV");
    let plain = cipher
        .decrypt_padded::<NoPadding>(&mut data)
        .map_err(|_| Error::Decrypt("not a whole number of AES blocks"))?;
    let pad = *plain.last().ok_or(Error::Decrypt("empty"))? as usize;
    if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
        return Err(Error::Decrypt("bad padding"));
    }
    let (plain, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| b as usize != pad) {
        return Err(Error::Decrypt("bad padding"));
    }
    if plain.len() < 20 {
        return Err(Error::Decrypt("too short"));
    }
    let len = u32::from_be_bytes([plain[16], plain[17], plain[18], plain[19]]) as usize;
    let rest = &plain[20..];
    if len > rest.len() {
        return Err(Error::Decrypt("the length does not fit"));
    }
    let (xml, got_app_id) = rest.split_at(len);
    if !ct_eq(got_app_id, app_id.as_bytes()) {
        return Err(Error::WrongAppId {
            got: String::from_utf8_lossy(got_app_id).into_owned(),
        });
    }
    String::from_utf8(xml.to_vec()).map_err(|_| Error::Decrypt("the message is not UTF-8"))
}

/// The XML envelope of an encrypted passive reply (only if the hub ever answers a push with a
/// message rather than `success`).
pub fn encrypted_reply(
    account: &Account,
    xml: &str,
    timestamp: &str,
    nonce: &str,
    random: [u8; 16],
) -> Result<String, Error> {
    let key = account
        .aes_key
        .as_ref()
        .ok_or_else(|| Error::Config("no EncodingAESKey: the account is in plaintext mode".into()))?;
    let encrypted = encrypt(key, &account.app_id, xml, random);
    let msg_signature = signature(&[&account.token, timestamp, nonce, &encrypted]);
    Ok(format!(
        "<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{msg_signature}]]></MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
    ))
}

/// The leaf elements of a WeChat XML document by name (`ToUserName`, `Content`, and nested ones
/// such as a `Video`'s `MediaId`, the first of each name winning). A DOCTYPE, and with it any
/// entity declaration, internal or external, is refused outright; no entity but XML's five and
/// character references is expanded.
pub fn parse_xml(body: &[u8]) -> Result<BTreeMap<String, String>, Error> {
    check_size(body, MAX_BODY)?;
    let malformed = |detail: String| Error::Malformed {
        format: "XML",
        detail,
    };
    let text = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8".into()))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut fields = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut seen_root = false;
    loop {
        match reader.read_event() {
            Err(e) => return Err(malformed(e.to_string())),
            Ok(Xml::DocType(_)) => return Err(Error::Doctype),
            Ok(Xml::Start(start)) => {
                if stack.is_empty() && seen_root {
                    return Err(malformed("more than one root element".into()));
                }
                if stack.len() >= 8 {
                    return Err(malformed("nested too deep".into()));
                }
                seen_root = true;
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                stack.push(name);
                current.clear();
            }
            Ok(Xml::Empty(start)) => {
                if stack.is_empty() {
                    return Err(malformed("an empty root element".into()));
                }
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                fields.entry(name).or_insert_with(String::new);
            }
            Ok(Xml::End(_)) => {
                let name = stack.pop().unwrap_or_default();
                if !stack.is_empty() {
                    fields.entry(name).or_insert_with(|| current.clone());
                }
                current.clear();
            }
            Ok(Xml::Text(t)) => {
                let t = t.xml10_content().map_err(|e| malformed(e.to_string()))?;
                if stack.is_empty() && !t.trim().is_empty() {
                    return Err(malformed("text outside the root element".into()));
                }
                current.push_str(&t);
            }
            Ok(Xml::CData(c)) => {
                current.push_str(&c.decode().map_err(|e| malformed(e.to_string()))?);
            }
            Ok(Xml::GeneralRef(r)) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.as_ref() {
                        b"lt" => '<',
                        b"gt" => '>',
                        b"amp" => '&',
                        b"apos" => '\'',
                        b"quot" => '"',
                        other => {
                            return Err(malformed(format!(
                                "undeclared entity &{};",
                                String::from_utf8_lossy(other)
                            )));
                        }
                    },
                    Err(e) => return Err(malformed(e.to_string())),
                };
                current.push(resolved);
            }
            Ok(Xml::Decl(_) | Xml::Comment(_) | Xml::PI(_)) => {}
            Ok(Xml::Eof) => break,
        }
    }
    if !stack.is_empty() || !seen_root {
        return Err(malformed("the document is incomplete".into()));
    }
    Ok(fields)
}

/// One Official Account's receiving side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The Token set in the account's server configuration.
    pub token: String,
    /// The AppID: what safe-mode messages must be sealed for.
    pub app_id: String,
    /// The EncodingAESKey's key in safe mode; `None` in plaintext mode.
    pub aes_key: Option<AesKey>,
}

/// A message push, verified (and decrypted in safe mode) then parsed: the only way the hub should
/// read one. `query` is the push URL's query string (`signature`, `timestamp`, `nonce`, `openid`,
/// and in safe mode `encrypt_type=aes` and `msg_signature`). Answered `success` so that WeChat
/// neither retries nor shows the user an error; the reply goes through `Api::send`.
pub fn receive(
    account: &Account,
    query: &str,
    body: &[u8],
    entry_point: &str,
) -> Result<(Answer, Event), Error> {
    check_size(body, MAX_BODY)?;
    let q = query_map(query);
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    if account.token.is_empty() {
        return Err(Error::Config("no token".into()));
    }
    let (timestamp, nonce) = (get("timestamp"), get("nonce"));
    let fields = if get("encrypt_type") == "aes" {
        let key = account
            .aes_key
            .as_ref()
            .ok_or_else(|| Error::Config("a safe-mode push, but no EncodingAESKey is configured".into()))?;
        let outer = parse_xml(body)?;
        let encrypted = outer.get("Encrypt").ok_or_else(|| Error::Malformed {
            format: "XML",
            detail: "no Encrypt element".into(),
        })?;
        check_signature(
            q.get("msg_signature"),
            &[&account.token, timestamp, nonce, encrypted],
            "msg_signature",
        )?;
        let xml = decrypt(key, &account.app_id, encrypted)?;
        parse_xml(xml.as_bytes())?
    } else {
        if account.aes_key.is_some() {
            // Safe mode promises every push is sealed; a plaintext one is not from WeChat.
            return Err(Error::VerificationFailed(
                "a plaintext push to an account in safe mode",
            ));
        }
        check_signature(
            q.get("signature"),
            &[&account.token, timestamp, nonce],
            "signature",
        )?;
        parse_xml(body)?
    };
    Ok((Answer::text("success"), message_event(&fields, entry_point)?))
}

/// The `Inbound` a parsed push stands for. Events (subscribe, unsubscribe and any other) are
/// kept on the timeline as automated, never routed as new work.
pub fn message_event(f: &BTreeMap<String, String>, entry_point: &str) -> Result<Event, Error> {
    let get = |k: &str| f.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let openid = get("FromUserName").ok_or_else(|| Error::Malformed {
        format: "XML",
        detail: "no FromUserName".into(),
    })?;
    let kind = get("MsgType").unwrap_or("unknown");
    let created = get("CreateTime").and_then(|t| t.parse::<i64>().ok());
    let sent_at = created.and_then(|s| s.checked_mul(1000));
    let media = |kind: &'static str, content_type: Option<String>, url: Option<&str>| {
        get("MediaId").map(|id| MediaRef {
            kind,
            id: id.to_owned(),
            content_type,
            filename: None,
            url: url.map(str::to_owned),
            size: None,
        })
    };
    let text = |k: &str| get(k).unwrap_or_default().to_owned();
    let mut automated = None;
    let (body, mut details) = match kind {
        "text" => (text("Content"), json!({"kind": "text"})),
        "image" => (
            String::new(),
            json!({"kind": "image", "media": media("image", None, get("PicUrl")).into_iter().collect::<Vec<_>>()}),
        ),
        "voice" => {
            let format = get("Format").map(str::to_ascii_lowercase);
            let content_type = format.as_deref().map(|f| match f {
                "amr" => "audio/amr".to_owned(),
                "speex" => "audio/speex".to_owned(),
                other => format!("audio/{other}"),
            });
            (
                // WeChat's speech recognition, when the account has it on: the text the agent
                // reads without playing the clip.
                text("Recognition"),
                json!({"kind": "voice", "format": format, "recognition": get("Recognition"),
                       "media": media("voice", content_type, None).into_iter().collect::<Vec<_>>()}),
            )
        }
        "video" | "shortvideo" => (
            String::new(),
            json!({"kind": kind, "thumb_media_id": get("ThumbMediaId"),
                   "media": media("video", None, None).into_iter().collect::<Vec<_>>()}),
        ),
        "location" => (
            text("Label"),
            json!({"kind": "location", "location": {
                "latitude": get("Location_X").and_then(|v| v.parse::<f64>().ok()),
                "longitude": get("Location_Y").and_then(|v| v.parse::<f64>().ok()),
                "scale": get("Scale").and_then(|v| v.parse::<i64>().ok()),
                "label": get("Label"),
            }}),
        ),
        "link" => (
            text("Title"),
            json!({"kind": "link", "link": {
                "title": get("Title"), "description": get("Description"), "url": get("Url"),
            }}),
        ),
        "event" => {
            let event = get("Event").unwrap_or("unknown");
            let event_lower = event.to_ascii_lowercase();
            automated = Some(format!("WeChat event: {event_lower}"));
            let kind = match event_lower.as_str() {
                "subscribe" | "unsubscribe" => event_lower.clone(),
                _ => "unsupported".to_owned(),
            };
            (
                String::new(),
                json!({"kind": kind, "raw_kind": format!("event:{event}"),
                       "event_key": get("EventKey")}),
            )
        }
        other => (String::new(), json!({"kind": "unsupported", "raw_kind": other})),
    };
    let external_id = match (kind, get("MsgId")) {
        (_, Some(id)) => id.to_owned(),
        // Events carry no MsgId: WeChat's advice is FromUserName + CreateTime to spot a retry.
        _ => format!(
            "{openid}:{}:{}",
            get("CreateTime").unwrap_or_default(),
            get("Event").unwrap_or(kind)
        ),
    };
    details["platform"] = json!(PLATFORM);
    details["to_user"] = json!(get("ToUserName"));
    if automated.is_none() {
        details["reply_window"] = reply_window(sent_at, WINDOW_HOURS);
    }
    Ok(Event::Message(Inbound {
        channel: Channel::Messaging,
        entry_point: entry_point.to_owned(),
        identities: vec![RawIdentity::Platform {
            platform: PLATFORM.into(),
            id: openid.to_owned(),
        }],
        display_name: None,
        thread: Thread::default(),
        automated,
        message: Some(InboundMessage {
            external_id,
            body,
            details,
            attachments: Vec::new(),
            sent_at,
        }),
    }))
}

/// An access token, cached. WeChat gives each a lifetime (`expires_in`, 7200 s) and takes back
/// older ones when a new one is fetched, so one holder per account fetches and everyone else
/// reads. The hub asks `needs_refresh(now)` before a send, fetches with `Api::token_request` when
/// it says so, `store`s the answer, and calls `observe` with each send's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessToken {
    current: Option<Held>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    token: String,
    expires_at: SystemTime,
}

impl AccessToken {
    pub fn new() -> AccessToken {
        AccessToken::default()
    }

    /// The token to send with, if there is one that has not expired.
    pub fn get(&self, now: SystemTime) -> Option<&str> {
        self.current
            .as_ref()
            .filter(|h| now < h.expires_at)
            .map(|h| h.token.as_str())
    }

    /// No token, or within `REFRESH_EARLY` of its expiry.
    pub fn needs_refresh(&self, now: SystemTime) -> bool {
        match &self.current {
            None => true,
            Some(h) => now
                .checked_add(REFRESH_EARLY)
                .is_none_or(|soon| soon >= h.expires_at),
        }
    }

    /// Takes the answer to `Api::token_request` (`{"access_token", "expires_in"}`). On an error
    /// answer the old token is kept (it may still work) and the error says whether to retry.
    pub fn store(&mut self, status: u16, body: &[u8], now: SystemTime) -> Result<(), SendOutcome> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let token = v.get("access_token").and_then(Value::as_str);
        let expires_in = v.get("expires_in").and_then(Value::as_u64);
        match (token, expires_in) {
            (Some(token), Some(secs)) if !token.is_empty() && (200..300).contains(&status) => {
                // WeChat says 7200; a lifetime over a day is not one to trust.
                let lifetime = Duration::from_secs(secs.min(86_400));
                self.current = Some(Held {
                    token: token.to_owned(),
                    expires_at: now.checked_add(lifetime).unwrap_or(now),
                });
                Ok(())
            }
            _ => Err(match read_errcode(status, &v, "") {
                SendOutcome::Sent { .. } => SendOutcome::Failed {
                    reason: "WeChat answered the token request without a token".into(),
                },
                SendOutcome::RefreshToken { reason } => SendOutcome::Failed { reason },
                other => other,
            }),
        }
    }

    /// Drops the token: WeChat said it is no longer valid (another holder fetched a new one, or it
    /// expired early).
    pub fn invalidate(&mut self) {
        self.current = None;
    }

    /// Learns from a send's outcome: a `RefreshToken` invalidates the token.
    pub fn observe(&mut self, outcome: &SendOutcome) {
        if matches!(outcome, SendOutcome::RefreshToken { .. }) {
            self.invalidate();
        }
    }
}

/// An account's sending side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// `https://api.weixin.qq.com` for an Official Account; WeCom's base for customer service;
    /// a fake's URL in tests.
    pub base: String,
    pub app_id: String,
    pub app_secret: String,
}

/// What an agent's reply becomes: text, or an image already uploaded as material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutMessage {
    Text(String),
    Image { media_id: String },
}

impl OutMessage {
    /// `details.media = {"kind": "image", "id": <media id>}` for an image, else the body as text.
    pub fn from_outbound(outbound: &Outbound) -> Result<OutMessage, Error> {
        if let Some(media) = outbound.details.get("media") {
            return match (
                media.get("kind").and_then(Value::as_str),
                media.get("id").and_then(Value::as_str),
            ) {
                (Some("image"), Some(id)) if !id.is_empty() => Ok(OutMessage::Image {
                    media_id: id.to_owned(),
                }),
                _ => Err(Error::Unsendable(
                    "WeChat media must be an image with a media id".into(),
                )),
            };
        }
        if outbound.body.trim().is_empty() {
            return Err(Error::Unsendable("the message is empty".into()));
        }
        Ok(OutMessage::Text(outbound.body.clone()))
    }
}

impl Api {
    pub fn new(base: &str, app_id: &str, app_secret: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            app_secret: app_secret.to_owned(),
        }
    }

    /// `GET {base}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…`, for
    /// `AccessToken::store`.
    pub fn token_request(&self) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: format!(
                "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
                self.base,
                enc(&self.app_id),
                enc(&self.app_secret)
            ),
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// `POST {base}/cgi-bin/message/custom/send?access_token=…` to `openid`.
    pub fn send(&self, access_token: &str, openid: &str, message: &OutMessage) -> HttpRequest {
        let body = match message {
            OutMessage::Text(text) => {
                json!({"touser": openid, "msgtype": "text", "text": {"content": text}})
            }
            OutMessage::Image { media_id } => {
                json!({"touser": openid, "msgtype": "image", "image": {"media_id": media_id}})
            }
        };
        json_request(
            format!(
                "{}/cgi-bin/message/custom/send?access_token={}",
                self.base,
                enc(access_token)
            ),
            Vec::new(),
            &body,
        )
    }

    /// `GET {base}/cgi-bin/media/get?access_token=…&media_id=…`: the file's bytes, or a JSON error
    /// (`read_media_error`).
    pub fn media_get(&self, access_token: &str, media_id: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: format!(
                "{}/cgi-bin/media/get?access_token={}&media_id={}",
                self.base,
                enc(access_token),
                enc(media_id)
            ),
            headers: Vec::new(),
            body: Body::Empty,
        }
    }
}

/// Whether an image's `PicUrl` may be fetched: WeChat's image CDN over https only. The media API
/// (`Api::media_get`) is the better path; this is for an image whose MediaId has expired.
pub fn media_url_allowed(url: &str) -> bool {
    https_host_in(url, &[".qpic.cn"])
}

/// What a customer-service send came to. WeChat names no message, so `our_id` (the hub's id for
/// the message) becomes its external id.
pub fn read_send_response(status: u16, body: &[u8], our_id: &str) -> SendOutcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    read_errcode(status, &v, our_id)
}

/// A `media/get` answer that is an error rather than the file (WeChat answers errors as JSON with
/// a 200), or `None` when it is the file.
pub fn read_media_error(status: u16, content_type: &str, body: &[u8]) -> Option<SendOutcome> {
    let json_like = content_type.contains("json") || content_type.starts_with("text/plain");
    if (200..300).contains(&status) && !json_like {
        return None;
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match read_errcode(status, &v, "") {
        SendOutcome::Sent { .. } => None,
        other => Some(other),
    }
}

fn read_errcode(status: u16, v: &Value, our_id: &str) -> SendOutcome {
    let code = v.get("errcode").and_then(Value::as_i64);
    let errmsg = v
        .get("errmsg")
        .and_then(Value::as_str)
        .map(short)
        .unwrap_or_default();
    let described = |code: i64| format!("WeChat error {code}: {errmsg}");
    match code {
        Some(0) => SendOutcome::Sent {
            external_id: v
                .get("msgid")
                .map(|id| id.to_string().trim_matches('"').to_owned())
                .unwrap_or_else(|| our_id.to_owned()),
        },
        Some(c @ (40001 | 42001 | 40014)) => SendOutcome::RefreshToken { reason: described(c) },
        Some(45015) => SendOutcome::Failed {
            reason: "More than 48 hours have passed since the customer last wrote, so WeChat \
                     no longer delivers customer-service messages to them until they write again"
                .into(),
        },
        Some(c @ (45009 | -1 | 45047)) => SendOutcome::Retry {
            reason: described(c),
            after: None,
        },
        Some(c @ 40164) => SendOutcome::Failed {
            reason: format!(
                "{}: this server's IP address must be on the account's IP whitelist",
                described(c)
            ),
        },
        Some(c) => SendOutcome::Failed { reason: described(c) },
        None if status >= 500 || status == 429 => SendOutcome::Retry {
            reason: format!("WeChat answered HTTP {status}"),
            after: None,
        },
        None => SendOutcome::Failed {
            reason: format!("WeChat answered HTTP {status} without an errcode"),
        },
    }
}
