//! The messaging tests' stand-ins for platforms that cannot be reached from here: a local HTTP
//! server answering the endpoints the hub calls (WhatsApp's Graph API `/{version}/{number}/messages`
//! and media (`GET /{version}/{media-id}`, then the file from the URL it gives, with the token),
//! Telegram's `/bot{token}/sendMessage`, `getFile` and `/file/bot{token}/{path}`, WeChat's
//! `/cgi-bin/token`, `/cgi-bin/message/custom/send` and `/cgi-bin/media/get`, an SMS provider's
//! media URLs) as their documentation says they answer, and recording every request it got. What a platform posts to the hub is the documented payloads in
//! `connectors/im/tests/payloads`, signed as the platform signs them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A request the fake got.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Null` when it is not).
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    /// Where the fake listens: the media URLs it gives are on it.
    base: String,
    requests: Vec<Recorded>,
    /// Answers for the next requests, before the platform's usual one.
    scripted: VecDeque<(u16, Value)>,
    /// Requests are kept but not answered until `resume`.
    paused: bool,
}

/// The picture every fake platform serves as a customer's photo: a 1×1 PNG.
pub const PHOTO: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0xb5, 0x1c, 0x0c, 0x02, 0x00,
    0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0x00, 0x00, 0x00, 0x06, 0x00,
    0x02, 0x30, 0x81, 0xd0, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// What a fake answers a request with.
pub enum Reply {
    Json(u16, Value),
    /// A file: its content type and bytes.
    File(&'static str, &'static [u8]),
}

/// A request as a fake's answer function sees it.
pub struct Asked<'a> {
    /// How many requests the fake has had, this one included.
    pub n: usize,
    pub method: &'a str,
    pub path: &'a str,
    pub authorization: Option<&'a str>,
    pub body: &'a Value,
    /// The fake's own address.
    pub base: &'a str,
}

/// A fake platform API on a free loopback port; stopped when dropped.
pub struct FakePlatform {
    pub base: String,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakePlatform {
    /// WhatsApp's Graph API: a send answers the message's `wamid`; a media id answers where its
    /// file is (on the fake), and the file is `PHOTO`, for the bearer token only.
    pub async fn whatsapp() -> FakePlatform {
        FakePlatform::start(|a| {
            let segments: Vec<&str> = a.path.trim_start_matches('/').split('/').collect();
            match (a.method, segments.as_slice()) {
                ("GET", ["media", _]) if a.authorization != Some("Bearer graph-token") => {
                    Reply::Json(401, json!({"error": {"message": "no token", "code": 190}}))
                }
                ("GET", ["media", _]) => Reply::File("image/png", PHOTO),
                ("GET", [_version, id]) => Reply::Json(
                    200,
                    json!({"messaging_product": "whatsapp", "url": format!("{}/media/{id}", a.base),
                           "mime_type": "image/png", "sha256": sha256_hex(PHOTO),
                           "file_size": PHOTO.len(), "id": id}),
                ),
                _ => Reply::Json(
                    200,
                    json!({"messaging_product": "whatsapp",
                           "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
                           "messages": [{"id": format!("wamid.fake{}", a.n)}]}),
                ),
            }
        })
        .await
    }

    /// Telegram's Bot API: a send answers the sent message, `getFile` a path under `photos/`,
    /// and the file there is `PHOTO`.
    pub async fn telegram() -> FakePlatform {
        FakePlatform::start(|a| {
            if a.path.starts_with("/file/bot") {
                return Reply::File("application/octet-stream", PHOTO);
            }
            if a.path.ends_with("/getFile") {
                return Reply::Json(
                    200,
                    json!({"ok": true, "result": {"file_id": a.body["file_id"], "file_unique_id": "AQADs3",
                           "file_size": PHOTO.len(), "file_path": "photos/file_7.jpg"}}),
                );
            }
            Reply::Json(
                200,
                json!({"ok": true, "result": {"message_id": 9000 + a.n, "date": 1718035300,
                       "chat": {"id": a.body["chat_id"], "type": "private"}, "text": a.body["text"]}}),
            )
        })
        .await
    }

    /// WeChat's API: a token request answers a new access token (`TOKEN<n>`, two hours), a
    /// customer-service message `{"errcode": 0}`.
    pub async fn wechat() -> FakePlatform {
        FakePlatform::start(|a| match a.path {
            "/cgi-bin/token" => Reply::Json(
                200,
                json!({"access_token": format!("TOKEN{}", a.n), "expires_in": 7200}),
            ),
            "/cgi-bin/media/get" => Reply::File("image/png", PHOTO),
            _ => Reply::Json(200, json!({"errcode": 0, "errmsg": "ok"})),
        })
        .await
    }

    /// A Twilio-style SMS provider: a send answers the message's sid, queued; a GET of a media
    /// URL is `PHOTO`.
    pub async fn sms() -> FakePlatform {
        FakePlatform::start(|a| match a.method {
            "GET" => Reply::File("image/png", PHOTO),
            _ => Reply::Json(201, json!({"sid": format!("SMfake{}", a.n), "status": "queued"})),
        })
        .await
    }

    /// A system on the other end of our signed webhook: it takes a reply and names it.
    pub async fn receiver() -> FakePlatform {
        FakePlatform::start(|a| Reply::Json(200, json!({"id": format!("ext-{}", a.n)}))).await
    }

    async fn start(answer: fn(&Asked) -> Reply) -> FakePlatform {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = axum::Router::new()
            .fallback(
                move |State(shared): State<Arc<Mutex<Shared>>>,
                      method: Method,
                      uri: Uri,
                      headers: HeaderMap,
                      body: Bytes| async move {
                    let raw = body.to_vec();
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let n = {
                        let mut s = shared.lock().unwrap();
                        s.requests.push(Recorded {
                            method: method.to_string(),
                            path: uri.path().to_owned(),
                            headers: headers
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                                .collect(),
                            body: body.clone(),
                            raw,
                        });
                        s.requests.len()
                    };
                    while shared.lock().unwrap().paused {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    let mut s = shared.lock().unwrap();
                    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
                    let scripted = s.scripted.pop_front();
                    let asked = Asked {
                        n,
                        method: method.as_str(),
                        path: uri.path(),
                        authorization,
                        body: &body,
                        base: &s.base,
                    };
                    let reply = match scripted {
                        Some((status, body)) => Reply::Json(status, body),
                        None => answer(&asked),
                    };
                    match reply {
                        Reply::Json(status, body) => {
                            (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
                        }
                        Reply::File(content_type, data) => {
                            ([(axum::http::header::CONTENT_TYPE, content_type)], data).into_response()
                        }
                    }
                },
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        shared.lock().unwrap().base = base.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakePlatform { base, shared, task }
    }

    /// The next request gets this answer instead of the usual one.
    pub fn answer_next(&self, status: u16, body: Value) {
        self.shared.lock().unwrap().scripted.push_back((status, body));
    }

    /// From now on requests wait, unanswered, until `resume`: a platform that hangs.
    pub fn pause(&self) {
        self.shared.lock().unwrap().paused = true;
    }

    pub fn resume(&self) {
        self.shared.lock().unwrap().paused = false;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// Waits up to `secs` for the `n`th request.
    pub async fn nth_request(&self, n: usize, secs: u64) -> Recorded {
        for _ in 0..secs * 20 {
            if let Some(r) = self.requests().get(n - 1) {
                return r.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the fake got {} requests, not {n}", self.requests().len())
    }
}

impl Drop for FakePlatform {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A file's SHA-256 in hex, as Meta gives it with a media URL.
pub fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A documented payload from `connectors/im/tests/payloads/<platform>/<name>`.
pub fn payload(platform: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "connectors",
        "im",
        "tests",
        "payloads",
        platform,
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
