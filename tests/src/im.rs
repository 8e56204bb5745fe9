//! The messaging tests' stand-ins for platforms that cannot be reached from here: a local HTTP
//! server answering the endpoints the hub calls (WhatsApp's Graph API `/{version}/{number}/messages`,
//! Telegram's `/bot{token}/sendMessage`, WeChat's `/cgi-bin/token` and
//! `/cgi-bin/message/custom/send`) as their documentation says they answer, and recording
//! every request it got. What a platform posts to the hub is the documented payloads in
//! `connectors/im/tests/payloads`, signed as the platform signs them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};
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
    requests: Vec<Recorded>,
    /// Answers for the next requests, before the platform's usual one.
    scripted: VecDeque<(u16, Value)>,
}

/// A fake platform API on a free loopback port; stopped when dropped.
pub struct FakePlatform {
    pub base: String,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakePlatform {
    /// WhatsApp's Graph API: a send answers the message's `wamid`.
    pub async fn whatsapp() -> FakePlatform {
        FakePlatform::start(|n, _, _| {
            (
                200,
                json!({"messaging_product": "whatsapp",
                       "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
                       "messages": [{"id": format!("wamid.fake{n}")}]}),
            )
        })
        .await
    }

    /// Telegram's Bot API: a send answers the sent message.
    pub async fn telegram() -> FakePlatform {
        FakePlatform::start(|n, _, body| {
            (
                200,
                json!({"ok": true, "result": {"message_id": 9000 + n, "date": 1718035300,
                       "chat": {"id": body["chat_id"], "type": "private"}, "text": body["text"]}}),
            )
        })
        .await
    }

    /// WeChat's API: a token request answers a new access token (`TOKEN<n>`, two hours), a
    /// customer-service message `{"errcode": 0}`.
    pub async fn wechat() -> FakePlatform {
        FakePlatform::start(|n, path, _| {
            if path == "/cgi-bin/token" {
                (
                    200,
                    json!({"access_token": format!("TOKEN{n}"), "expires_in": 7200}),
                )
            } else {
                (200, json!({"errcode": 0, "errmsg": "ok"}))
            }
        })
        .await
    }

    /// A Twilio-style SMS provider: a send answers the message's sid, queued.
    pub async fn sms() -> FakePlatform {
        FakePlatform::start(|n, _, _| (201, json!({"sid": format!("SMfake{n}"), "status": "queued"}))).await
    }

    /// A system on the other end of our signed webhook: it takes a reply and names it.
    pub async fn receiver() -> FakePlatform {
        FakePlatform::start(|n, _, _| (200, json!({"id": format!("ext-{n}")}))).await
    }

    async fn start(answer: fn(usize, &str, &Value) -> (u16, Value)) -> FakePlatform {
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
                    let n = s.requests.len();
                    let path = uri.path().to_owned();
                    let (status, reply) = s.scripted.pop_front().unwrap_or_else(|| answer(n, &path, &body));
                    (StatusCode::from_u16(status).unwrap(), axum::Json(reply))
                },
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakePlatform { base, shared, task }
    }

    /// The next request gets this answer instead of the usual one.
    pub fn answer_next(&self, status: u16, body: Value) {
        self.shared.lock().unwrap().scripted.push_back((status, body));
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
