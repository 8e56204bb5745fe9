//! Messaging apps end to end: the real binary, a fake of each platform's API (`plugboard_tests::im`)
//! and the documented webhook payloads, signed as the platforms sign them. A WhatsApp or Telegram
//! message is offered to an agent, the customer's next message joins the conversation, the
//! agent's reply reaches the platform and its delivery reports show on it; forged deliveries,
//! deliveries of another media type and deliveries over their platform's size store nothing, a
//! delivery made twice stores one message, a platform that refuses a reply leaves it failed with
//! its reason, and a kill -9 in a burst loses nothing and stores nothing twice.

use plugboard_tests::im::{FakePlatform, payload};
use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, available};
use serde_json::{Value, json};
use std::time::Duration;

const PHONE_NUMBER_ID: &str = "106540352242922";
const APP_SECRET: &str = "whatsapp-app-secret";
const TELEGRAM_SECRET: &str = "telegram-webhook-secret";
const SMS_AUTH_TOKEN: &str = "12345";
const WEBHOOK_SECRET: &str = "whsec-plugboard-test";
const WECHAT_TOKEN: &str = "wechatservertoken";
const WECHAT_APP_ID: &str = "wx5823bf96d3bd56c7";
/// The EncodingAESKey of Tencent's own sample code.
const WECHAT_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

struct Site {
    hub: Hub,
    admin: String,
    _dir: tempfile::TempDir,
}

async fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    Site {
        hub,
        admin,
        _dir: dir,
    }
}

impl Site {
    /// Adds an inbox on the fake; answers its webhook URL.
    async fn inbox(&self, platform: &str, fake: &FakePlatform) -> String {
        let support = self.hub.named(&self.admin, "/queues", "Support").await.unwrap();
        let (settings, secrets) = match platform {
            "whatsapp" => (
                json!({"phone_number_id": PHONE_NUMBER_ID, "api_base": fake.base}),
                json!({"access_token": "graph-token", "app_secret": APP_SECRET, "verify_token": "let-me-in"}),
            ),
            "wechat" => (
                json!({"app_id": WECHAT_APP_ID, "api_base": fake.base}),
                json!({"token": WECHAT_TOKEN, "app_secret": "wechat-app-secret", "encoding_aes_key": WECHAT_AES_KEY}),
            ),
            "sms" => (
                json!({"account_sid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "from": "+14155552671",
                       "public_url": self.hub.base, "api_base": fake.base}),
                json!({"auth_token": SMS_AUTH_TOKEN}),
            ),
            "webhook" => (
                json!({"url": format!("{}/replies", fake.base)}),
                json!({"secret": WEBHOOK_SECRET}),
            ),
            _ => (
                json!({"api_base": fake.base}),
                json!({"bot_token": "123456:bot-token", "secret_token": TELEGRAM_SECRET}),
            ),
        };
        let (status, body) = self
            .hub
            .call(
                "POST",
                "/inboxes",
                Some(&self.admin),
                Some(json!({"platform": platform, "name": format!("Shop {platform}"),
                    "queue_id": support["id"], "settings": settings, "secrets": secrets})),
            )
            .await
            .unwrap();
        assert_eq!(status, 201, "{body}");
        assert!(body.get("secrets").is_none(), "never returned: {body}");
        format!("{}{}", self.hub.base, body["webhook_path"].as_str().unwrap())
    }

    /// How many messaging conversations the account has, whatever their state.
    async fn conversations(&self) -> usize {
        let (status, page) = self
            .hub
            .call(
                "GET",
                "/conversations?folder=all&channel=messaging",
                Some(&self.admin),
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{page}");
        page["conversations"].as_array().unwrap().len()
    }

    async fn messages(&self, id: &str) -> Vec<Value> {
        let (_, detail) = self
            .hub
            .call("GET", &format!("/interactions/{id}"), Some(&self.admin), None)
            .await
            .unwrap();
        detail["messages"].as_array().unwrap().clone()
    }
}

/// POSTs a delivery as a platform does: (status, body).
async fn deliver(url: &str, headers: &[(&str, String)], body: Vec<u8>) -> (u16, String) {
    post_as(url, Some("application/json"), headers, body).await
}

/// POSTs `body` with this Content-Type (`None`: no header at all): (status, body).
async fn post_as(
    url: &str,
    content_type: Option<&str>,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, String) {
    let mut request = reqwest::Client::new().post(url).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn whatsapp(url: &str, body: Vec<u8>) -> (u16, String) {
    let signature = plugboard_im::whatsapp::sign(APP_SECRET, &body);
    deliver(url, &[("x-hub-signature-256", signature)], body).await
}

/// The documented text message, with this id and text.
fn whatsapp_text(id: &str, text: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&payload("whatsapp", "text.json")).unwrap();
    let m = &mut v["entry"][0]["changes"][0]["value"]["messages"][0];
    m["id"] = json!(id);
    m["text"]["body"] = json!(text);
    serde_json::to_vec(&v).unwrap()
}

fn whatsapp_status(message: &str, status: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&payload("whatsapp", "status_read.json")).unwrap();
    let s = &mut v["entry"][0]["changes"][0]["value"]["statuses"][0];
    s["id"] = json!(message);
    s["status"] = json!(status);
    serde_json::to_vec(&v).unwrap()
}

fn telegram_text(update: i64, message: i64, text: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&payload("telegram", "text.json")).unwrap();
    v["update_id"] = json!(update);
    v["message"]["message_id"] = json!(message);
    v["message"]["text"] = json!(text);
    serde_json::to_vec(&v).unwrap()
}

/// Accepts the next offer (a messaging conversation); answers its id.
async fn accept_offer(agent: &mut Socket) -> String {
    let offer = agent.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["channel"], "messaging", "{offer}");
    let id = offer["interaction"]["id"].as_str().unwrap().to_owned();
    agent
        .send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    agent.expect("interaction.assigned").await.unwrap();
    id
}

/// Waits for the agent's copy of their message `client_id` in `state`.
async fn delivery(agent: &mut Socket, client_id: &str, state: &str) -> Value {
    loop {
        let frame = agent
            .gets_within("message", Duration::from_secs(15))
            .await
            .unwrap_or_else(|| panic!("no message {client_id} {state}"));
        let m = &frame["message"];
        if m["client_id"] == client_id && m["channel"]["delivery"] == state {
            return m.clone();
        }
    }
}

async fn reply(s: &Site, id: &str, client_id: &str, body: &str) -> (u16, Value) {
    let token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    s.hub
        .call(
            "POST",
            &format!("/interactions/{id}/messages"),
            Some(&token),
            Some(json!({"client_id": client_id, "body": body})),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_whatsapp_conversation_is_offered_answered_and_its_reply_reported_read() {
    let s = site().await;
    let fake = FakePlatform::whatsapp().await;
    let url = s.inbox("whatsapp", &fake).await;
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    // Meta's subscription handshake: the verify token the admin gave, the challenge echoed.
    let handshake = reqwest::get(format!(
        "{url}?hub.mode=subscribe&hub.verify_token=let-me-in&hub.challenge=1158201444"
    ))
    .await
    .unwrap();
    assert_eq!(handshake.status(), 200);
    assert_eq!(handshake.text().await.unwrap(), "1158201444");

    let (status, _) = whatsapp(
        &url,
        whatsapp_text("wamid.first", "Does it come in another color?"),
    )
    .await;
    assert_eq!(status, 200);
    let id = accept_offer(&mut bob).await;
    // Delivered again (Meta retries on a timeout): one message. The next one joins the chat.
    whatsapp(
        &url,
        whatsapp_text("wamid.first", "Does it come in another color?"),
    )
    .await;
    whatsapp(&url, whatsapp_text("wamid.second", "Blue would be great")).await;
    let next = bob.expect("message").await.unwrap();
    assert_eq!(next["message"]["body"], "Blue would be great");
    assert_eq!(next["message"]["interaction_id"], id.as_str());
    let stored = s.messages(&id).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0]["channel"]["details"]["from_id"], "16505551234");

    let (status, queued) = reply(&s, &id, "r1", "Yes, in blue and green.").await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["channel"]["delivery"], "queued");
    let sent = fake.nth_request(1, 15).await;
    assert_eq!(sent.path, format!("/v21.0/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(sent.header("authorization"), Some("Bearer graph-token"));
    assert_eq!(sent.body["to"], "16505551234");
    assert_eq!(sent.body["text"]["body"], "Yes, in blue and green.");
    let m = delivery(&mut bob, "r1", "sent").await;
    assert_eq!(m["channel"]["external_id"], "wamid.fake1");
    // Reports arrive out of order: read stays read.
    whatsapp(&url, whatsapp_status("wamid.fake1", "read")).await;
    delivery(&mut bob, "r1", "read").await;
    whatsapp(&url, whatsapp_status("wamid.fake1", "delivered")).await;
    let stored = s.messages(&id).await;
    assert_eq!(stored[2]["channel"]["delivery"], "read");
    assert_eq!(fake.requests().len(), 1, "sent once");

    // A day later WhatsApp refuses free text (re-engagement): the agent is told to use a
    // template, and an approved one goes out.
    fake.answer_next(
        400,
        json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
            "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}}),
    );
    reply(&s, &id, "r2", "Are you still there?").await;
    let failed = delivery(&mut bob, "r2", "failed").await;
    let reason = failed["channel"]["delivery_error"].as_str().unwrap();
    assert!(reason.contains("template"), "{reason}");
    let token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, queued) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/messages"),
            Some(&token),
            Some(json!({"client_id": "r3", "template": {"name": "order_update", "language": "en_US", "params": ["4411", "Monday"]}})),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["body"], "[order_update] 4411 · Monday");
    let sent = fake.nth_request(3, 15).await;
    assert_eq!(sent.body["type"], "template");
    assert_eq!(sent.body["template"]["name"], "order_update");
    assert_eq!(sent.body["template"]["language"]["code"], "en_US");
    assert_eq!(
        sent.body["template"]["components"][0]["parameters"][1]["text"],
        "Monday"
    );
    delivery(&mut bob, "r3", "sent").await;
    let (status, _) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/messages"),
            Some(&token),
            Some(json!({"client_id": "r4", "template": {"name": "Bad Name!", "language": "en_US"}})),
        )
        .await
        .unwrap();
    assert_eq!(status, 400);
}

#[tokio::test]
async fn forged_deliveries_store_nothing() {
    let s = site().await;
    let fake = FakePlatform::whatsapp().await;
    let url = s.inbox("whatsapp", &fake).await;
    let tg = FakePlatform::telegram().await;
    let tg_url = s.inbox("telegram", &tg).await;
    let body = whatsapp_text("wamid.forged", "I am someone else");
    let forged = plugboard_im::whatsapp::sign("not-the-app-secret", &body);
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, String)>, Vec<u8>);
    let cases: Vec<Case> = vec![
        ("no signature", &url, vec![], body.clone()),
        (
            "another secret",
            &url,
            vec![("x-hub-signature-256", forged)],
            body.clone(),
        ),
        (
            "not JSON",
            &url,
            vec![(
                "x-hub-signature-256",
                plugboard_im::whatsapp::sign(APP_SECRET, b"{"),
            )],
            b"{".to_vec(),
        ),
        ("no telegram secret", &tg_url, vec![], telegram_text(1, 1, "hi")),
        (
            "a wrong telegram secret",
            &tg_url,
            vec![("x-telegram-bot-api-secret-token", "guess".into())],
            telegram_text(1, 1, "hi"),
        ),
    ];
    for (case, url, headers, body) in cases {
        let (status, text) = deliver(url, &headers, body).await;
        assert!((400..500).contains(&status), "{case}: {status} {text}");
    }
    let wrong_token = reqwest::get(format!(
        "{url}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
    ))
    .await
    .unwrap();
    assert_eq!(wrong_token.status(), 403);
    let unknown = deliver(
        &format!("{}/webhooks/0190f3a2-9000-7abc-9def-0123456789ab", s.hub.base),
        &[],
        vec![],
    )
    .await;
    assert_eq!(unknown.0, 404);
    let (_, found) = s
        .hub
        .call("GET", "/customers?q=Sheena", Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(found, json!([]), "nobody was created");
}

#[tokio::test]
async fn a_telegram_chat_continues_and_a_refused_reply_fails_with_the_reason() {
    let s = site().await;
    let fake = FakePlatform::telegram().await;
    let url = s.inbox("telegram", &fake).await;
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let secret = || vec![("x-telegram-bot-api-secret-token", TELEGRAM_SECRET.to_owned())];

    let (status, _) = deliver(
        &url,
        &secret(),
        telegram_text(905130001, 4821, "Hello, my order #4411 has not arrived"),
    )
    .await;
    assert_eq!(status, 200);
    let id = accept_offer(&mut bob).await;
    deliver(
        &url,
        &secret(),
        telegram_text(905130002, 4822, "It was due Monday"),
    )
    .await;
    let next = bob.expect("message").await.unwrap();
    assert_eq!(next["message"]["interaction_id"], id.as_str());
    // The customer edits their first message: the edit joins the conversation, marked as one, once.
    for _ in 0..2 {
        deliver(&url, &secret(), payload("telegram", "edited_message.json")).await;
    }
    let edit = bob.expect("message").await.unwrap();
    assert_eq!(edit["message"]["interaction_id"], id.as_str());
    assert_eq!(edit["message"]["body"], "Hello, my order #4412 has not arrived");
    assert_eq!(edit["message"]["channel"]["details"]["edited"], true);
    assert_eq!(s.messages(&id).await.len(), 3);

    reply(&s, &id, "t1", "Sorry! It ships today.").await;
    let sent = fake.nth_request(1, 15).await;
    assert_eq!(sent.path, "/bot123456:bot-token/sendMessage");
    assert_eq!(sent.body["chat_id"], "111222333");
    assert_eq!(sent.body["text"], "Sorry! It ships today.");
    delivery(&mut bob, "t1", "sent").await;

    // The customer blocked the bot: Telegram's 403 is final, and the agent sees why.
    fake.answer_next(
        403,
        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    );
    reply(&s, &id, "t2", "Anything else?").await;
    let failed = delivery(&mut bob, "t2", "failed").await;
    let reason = failed["channel"]["delivery_error"].as_str().unwrap();
    assert!(reason.contains("blocked"), "{reason}");
    assert!(!reason.contains("bot-token"), "the token never shows: {reason}");
}

/// A burst of Telegram deliveries with a `kill -9` in the middle: after a restart, with Telegram
/// delivering again everything (it retries whatever it got no 200 for, and a 200 lost on the way
/// looks the same to it), every message is on its customer's timeline exactly once, in one
/// conversation per chat.
#[tokio::test]
async fn a_kill_during_a_burst_of_deliveries_loses_none_and_stores_none_twice() {
    const CHATS: i64 = 20;
    const EACH: i64 = 5;
    let s = site().await;
    let fake = FakePlatform::telegram().await;
    let url = s.inbox("telegram", &fake).await;
    let update = |chat: i64, n: i64| {
        let mut v: Value =
            serde_json::from_slice(&telegram_text(chat * 100 + n, n + 1, &format!("message {n}"))).unwrap();
        v["message"]["chat"]["id"] = json!(500 + chat);
        v["message"]["from"]["id"] = json!(500 + chat);
        v["message"]["from"]["first_name"] = json!(format!("Kunde{chat:02}"));
        v["message"]["chat"]["first_name"] = json!(format!("Kunde{chat:02}"));
        serde_json::to_vec(&v).unwrap()
    };
    let all: Vec<(i64, i64)> = (0..EACH).flat_map(|n| (0..CHATS).map(move |c| (c, n))).collect();
    let secret = vec![("x-telegram-bot-api-secret-token", TELEGRAM_SECRET.to_owned())];
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let burst = {
        use futures_util::StreamExt;
        let (url, secret, answered) = (url.clone(), secret.clone(), answered.clone());
        let updates: Vec<Vec<u8>> = all.iter().map(|&(c, n)| update(c, n)).collect();
        tokio::spawn(async move {
            futures_util::stream::iter(updates)
                .for_each_concurrent(8, |body| {
                    let (url, secret, answered) = (url.clone(), secret.clone(), answered.clone());
                    async move {
                        let client = reqwest::Client::new();
                        let mut request = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body);
                        for (name, value) in &secret {
                            request = request.header(*name, value);
                        }
                        if let Ok(r) = request.send().await
                            && r.status() == 200
                        {
                            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                })
                .await;
        })
    };
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 30 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let Site { hub, _dir, .. } = s;
    hub.kill9();
    burst.await.unwrap();
    let hub = Hub::start(_dir.path(), &[]).await.unwrap();
    let url = format!("{}{}", hub.base, &url[url.find("/webhooks").unwrap()..]);
    for &(c, n) in &all {
        let (status, body) = deliver(&url, &secret, update(c, n)).await;
        assert_eq!(status, 200, "{body}");
    }
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    for c in 0..CHATS {
        let (_, found) = hub
            .call("GET", &format!("/customers?q=Kunde{c:02}"), Some(&admin), None)
            .await
            .unwrap();
        assert_eq!(
            found.as_array().unwrap().len(),
            1,
            "one customer for chat {c}: {found}"
        );
        let customer = found[0]["id"].as_str().unwrap();
        let (_, timeline) = hub
            .call(
                "GET",
                &format!("/customers/{customer}/timeline"),
                Some(&admin),
                None,
            )
            .await
            .unwrap();
        let entries = timeline["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "one conversation for chat {c}");
        let mut bodies: Vec<&str> = entries[0]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect();
        bodies.sort_unstable();
        let want: Vec<String> = (0..EACH).map(|n| format!("message {n}")).collect();
        assert_eq!(bodies, want, "chat {c}");
    }
}

/// The admin registers a Telegram inbox's webhook from the hub (setWebhook with its secret
/// token); an http address, and a WhatsApp inbox (set in Meta's dashboard), are refused with why.
#[tokio::test]
async fn a_telegram_webhook_is_registered_from_the_hub() {
    let s = site().await;
    let fake = FakePlatform::telegram().await;
    let url = s.inbox("telegram", &fake).await;
    let id = url.rsplit('/').next().unwrap();
    fake.answer_next(
        200,
        json!({"ok": true, "result": true, "description": "Webhook was set"}),
    );
    let register = |public: &str, id: &str| {
        let body = json!({"public_url": public});
        let path = format!("/inboxes/{id}/webhook");
        let (hub, admin) = (&s.hub, &s.admin);
        async move { hub.call("POST", &path, Some(admin), Some(body)).await.unwrap() }
    };
    let (status, body) = register("https://hub.example.com/", id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["url"], format!("https://hub.example.com/webhooks/{id}"));
    let set = fake.nth_request(1, 5).await;
    assert_eq!(set.path, "/bot123456:bot-token/setWebhook");
    assert_eq!(set.body["url"], format!("https://hub.example.com/webhooks/{id}"));
    assert_eq!(set.body["secret_token"], TELEGRAM_SECRET);

    let (status, body) = register("http://hub.example.com", id).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("https"), "{body}");
    fake.answer_next(
        401,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
    );
    let (status, body) = register("https://hub.example.com", id).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("platform_refused")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("Unauthorized"),
        "{body}"
    );

    let wa = FakePlatform::whatsapp().await;
    let wa_url = s.inbox("whatsapp", &wa).await;
    let (status, body) = register("https://hub.example.com", wa_url.rsplit('/').next().unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("dashboard"), "{body}");
    assert!(wa.requests().is_empty());
}

/// A wa_id that is no phone number we can read (WhatsApp says it is one) still starts a
/// conversation, by the WhatsApp account alone: refusing it would have Meta retry it for ever.
#[tokio::test]
async fn a_whatsapp_number_we_cannot_read_still_comes_in() {
    let s = site().await;
    let fake = FakePlatform::whatsapp().await;
    let url = s.inbox("whatsapp", &fake).await;
    let mut v: Value = serde_json::from_slice(&whatsapp_text("wamid.odd", "Hello?")).unwrap();
    let value = &mut v["entry"][0]["changes"][0]["value"];
    value["contacts"][0]["wa_id"] = json!("16500001998");
    value["messages"][0]["from"] = json!("16500001998");
    let (status, body) = whatsapp(&url, serde_json::to_vec(&v).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (_, found) = s
        .hub
        .call("GET", "/customers?q=Sheena", Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["phone"], Value::Null);
}

/// A WeChat push in safe mode, sealed with the EncodingAESKey and signed as WeChat signs it:
/// (query string, body).
fn wechat_push(msg_id: u64, text: &str) -> (String, Vec<u8>) {
    use plugboard_im::wechat;
    let xml = String::from_utf8(payload("wechat", "text.xml"))
        .unwrap()
        .replace("this is a test", text)
        .replace("1234567890123456", &msg_id.to_string());
    let key = wechat::AesKey::parse(WECHAT_AES_KEY).unwrap();
    let sealed = wechat::encrypt(&key, WECHAT_APP_ID, &xml, [7; 16]);
    let (timestamp, nonce) = ("1409304348", "xxxxxx");
    let msg_signature = wechat::signature(&[WECHAT_TOKEN, timestamp, nonce, &sealed]);
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
    );
    let query = format!(
        "signature={}&timestamp={timestamp}&nonce={nonce}&openid=oia2TjjewbmiOUlr6X-1crbLOvLw&encrypt_type=aes&msg_signature={msg_signature}",
        wechat::signature(&[WECHAT_TOKEN, timestamp, nonce])
    );
    (query, body.into_bytes())
}

/// WeChat in safe mode: the server check echoes, a sealed push is offered and the next joins it,
/// a push sealed for another account is refused, the reply goes out with an access token, a
/// token WeChat took back is fetched again and the reply resent, and outside the 48-hour window
/// the reply fails with that reason.
#[tokio::test]
async fn a_wechat_conversation_in_safe_mode_with_its_access_token() {
    use plugboard_im::wechat;
    let s = site().await;
    let fake = FakePlatform::wechat().await;
    let url = s.inbox("wechat", &fake).await;
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    let check = wechat::signature(&[WECHAT_TOKEN, "1409304348", "nonce1"]);
    let echo = reqwest::get(format!(
        "{url}?signature={check}&timestamp=1409304348&nonce=nonce1&echostr=4321"
    ))
    .await
    .unwrap();
    assert_eq!(echo.status(), 200);
    assert_eq!(echo.text().await.unwrap(), "4321");

    let post = |(query, body): (String, Vec<u8>)| {
        let url = format!("{url}?{query}");
        async move { post_as(&url, Some("text/xml"), &[], body).await }
    };
    assert_eq!(
        post(wechat_push(1001, "你好，我的订单还没到")).await,
        (200, "success".to_owned())
    );
    let id = accept_offer(&mut bob).await;
    post(wechat_push(1002, "订单号 4411")).await;
    let next = bob.expect("message").await.unwrap();
    assert_eq!(next["message"]["body"], "订单号 4411");
    assert_eq!(next["message"]["interaction_id"], id.as_str());
    // Sealed for another app id: refused, nothing stored.
    let key = wechat::AesKey::parse(WECHAT_AES_KEY).unwrap();
    let xml = String::from_utf8(payload("wechat", "text.xml")).unwrap();
    let other = wechat::encrypt(&key, "wxSomeoneElse", &xml, [1; 16]);
    let sig = wechat::signature(&[WECHAT_TOKEN, "1", "n", &other]);
    let (status, _) = post((
        format!("timestamp=1&nonce=n&encrypt_type=aes&msg_signature={sig}"),
        format!("<xml><Encrypt><![CDATA[{other}]]></Encrypt></xml>").into_bytes(),
    ))
    .await;
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(s.messages(&id).await.len(), 2);

    reply(&s, &id, "w1", "您好，今天发货。").await;
    let token = fake.nth_request(1, 15).await;
    assert_eq!(token.path, "/cgi-bin/token");
    let sent = fake.nth_request(2, 15).await;
    assert_eq!(sent.path, "/cgi-bin/message/custom/send");
    assert_eq!(sent.body["touser"], "oia2TjjewbmiOUlr6X-1crbLOvLw");
    assert_eq!(sent.body["text"]["content"], "您好，今天发货。");
    delivery(&mut bob, "w1", "sent").await;

    // WeChat took the token back (another holder fetched one): fetched again, sent again.
    fake.answer_next(
        200,
        json!({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}),
    );
    reply(&s, &id, "w2", "还有别的问题吗？").await;
    delivery(&mut bob, "w2", "sent").await;
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths[2..],
        [
            "/cgi-bin/message/custom/send",
            "/cgi-bin/token",
            "/cgi-bin/message/custom/send"
        ],
        "{paths:?}"
    );

    fake.answer_next(
        200,
        json!({"errcode": 45015, "errmsg": "response out of time limit"}),
    );
    reply(&s, &id, "w3", "在吗？").await;
    let failed = delivery(&mut bob, "w3", "failed").await;
    let reason = failed["channel"]["delivery_error"].as_str().unwrap();
    assert!(reason.contains("48"), "{reason}");
}

/// A form the provider posts, signed over the inbox's public URL and the sorted fields.
async fn sms_post(url: &str, form: &[u8], token: &str) -> (u16, String) {
    let params: Vec<(String, String)> = form_urlencoded::parse(form).into_owned().collect();
    let signature = plugboard_im::sms::signature(token, url, &params);
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(form.to_vec())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// An SMS through a Twilio-style provider: the sender resolves by their number (as a call would),
/// the reply goes out from our number with a status callback, and the callback marks it
/// delivered; a form signed with another token is refused.
#[tokio::test]
async fn an_sms_conversation_with_its_status_callback() {
    let s = site().await;
    let fake = FakePlatform::sms().await;
    let url = s.inbox("sms", &fake).await;
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    let inbound = payload("sms", "inbound_sms.form");
    let (status, _) = sms_post(&url, &inbound, "not-the-token").await;
    assert_eq!(status, 401);
    let (status, answer) = sms_post(&url, &inbound, SMS_AUTH_TOKEN).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("<Response>"), "{answer}");
    let id = accept_offer(&mut bob).await;
    let (_, found) = s
        .hub
        .call("GET", "/customers?q=%2B14155551234", Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(found[0]["phone"], "+14155551234", "{found}");

    reply(&s, &id, "s1", "Yes, it is ready.").await;
    let sent = fake.nth_request(1, 15).await;
    assert_eq!(
        sent.path,
        "/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages.json"
    );
    let form: Vec<(String, String)> = form_urlencoded::parse(&sent.raw).into_owned().collect();
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(field("To").as_deref(), Some("+14155551234"));
    assert_eq!(field("From").as_deref(), Some("+14155552671"));
    assert_eq!(field("Body").as_deref(), Some("Yes, it is ready."));
    assert_eq!(field("StatusCallback"), Some(url.clone()));
    delivery(&mut bob, "s1", "sent").await;
    let callback = String::from_utf8(payload("sms", "status_delivered.form"))
        .unwrap()
        .replace("SMb7c0a2ce80504485a6f653a7110836f5", "SMfake1");
    let (status, _) = sms_post(&url, callback.as_bytes(), SMS_AUTH_TOKEN).await;
    assert_eq!(status, 200);
    delivery(&mut bob, "s1", "delivered").await;
}

/// Our own signed webhook: a signed post is a conversation, a replayed old one and a wrong
/// signature are refused, and the reply is posted to the system's URL signed the same way.
#[tokio::test]
async fn a_signed_webhook_conversation_both_ways() {
    use plugboard_im::webhook;
    use std::time::{Duration as D, SystemTime};
    let s = site().await;
    let fake = FakePlatform::receiver().await;
    let url = s.inbox("webhook", &fake).await;
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let body = payload("webhook", "text.json");
    let signed =
        |at: SystemTime, secret: &str| vec![("x-plugboard-signature", webhook::sign(secret, &body, at))];
    let stale = SystemTime::now() - D::from_secs(600);
    assert_eq!(
        deliver(&url, &signed(stale, WEBHOOK_SECRET), body.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        deliver(&url, &signed(SystemTime::now(), "other"), body.clone())
            .await
            .0,
        401
    );
    let (status, text) = deliver(&url, &signed(SystemTime::now(), WEBHOOK_SECRET), body.clone()).await;
    assert_eq!(status, 200, "{text}");
    let id = accept_offer(&mut bob).await;

    reply(&s, &id, "h1", "It ships today.").await;
    let sent = fake.nth_request(1, 15).await;
    assert_eq!(sent.path, "/replies");
    webhook::verify(
        WEBHOOK_SECRET,
        sent.header("x-plugboard-signature"),
        &sent.raw,
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(sent.body["to"], "customer-42");
    assert_eq!(sent.body["text"], "It ships today.");
    let m = delivery(&mut bob, "h1", "sent").await;
    assert_eq!(m["channel"]["external_id"], "ext-1");
}

// --- what a webhook takes: its platform's media type, and no more than its platform's size ---

/// A documented message as `platform` posts it to `url`: the URL with its query, the headers
/// that sign it, and the body, padded to `size` bytes when given (trailing whitespace; a form
/// gets a field of its own), then signed.
struct Posted {
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Posted {
    fn new(platform: &str, url: &str, size: Option<usize>) -> Posted {
        use plugboard_im::{sms, webhook, whatsapp};
        let pad = |mut body: Vec<u8>| {
            if let Some(size) = size {
                assert!(body.len() <= size, "{platform}: {} bytes already", body.len());
                body.resize(size, b' ');
            }
            body
        };
        let url = url.to_owned();
        match platform {
            "whatsapp" => {
                let body = pad(whatsapp_text("wamid.posted", "Is it in stock?"));
                let headers = vec![("x-hub-signature-256", whatsapp::sign(APP_SECRET, &body))];
                Posted { url, headers, body }
            }
            "telegram" => Posted {
                url,
                headers: vec![("x-telegram-bot-api-secret-token", TELEGRAM_SECRET.into())],
                body: pad(telegram_text(70, 70, "Is it in stock?")),
            },
            "wechat" => {
                let (query, body) = wechat_push(7001, "有货吗？");
                Posted {
                    url: format!("{url}?{query}"),
                    headers: vec![],
                    body: pad(body),
                }
            }
            "sms" => {
                let mut body = payload("sms", "inbound_sms.form");
                if let Some(size) = size {
                    body.extend_from_slice(b"&Padding=");
                    body.resize(size, b'x');
                }
                let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
                let signature = sms::signature(SMS_AUTH_TOKEN, &url, &params);
                Posted {
                    url,
                    headers: vec![("x-twilio-signature", signature)],
                    body,
                }
            }
            "webhook" => {
                let body = pad(payload("webhook", "text.json"));
                let signature = webhook::sign(WEBHOOK_SECRET, &body, std::time::SystemTime::now());
                Posted {
                    url,
                    headers: vec![("x-plugboard-signature", signature)],
                    body,
                }
            }
            other => panic!("no platform {other}"),
        }
    }

    /// As a stranger would post it: no signature header, no signed query.
    fn unsigned(mut self) -> Posted {
        self.headers.clear();
        self.url.truncate(self.url.find('?').unwrap_or(self.url.len()));
        self
    }

    async fn post(self, content_type: Option<&str>) -> (u16, String) {
        post_as(&self.url, content_type, &self.headers, self.body).await
    }
}

/// One site with an inbox on each platform: (platform, its webhook URL); the fakes kept alive.
async fn every_platform(s: &Site) -> (Vec<(&'static str, String)>, Vec<FakePlatform>) {
    let mut inboxes = Vec::new();
    let mut fakes = Vec::new();
    for platform in ["whatsapp", "telegram", "wechat", "sms", "webhook"] {
        let fake = match platform {
            "whatsapp" => FakePlatform::whatsapp().await,
            "telegram" => FakePlatform::telegram().await,
            "wechat" => FakePlatform::wechat().await,
            "sms" => FakePlatform::sms().await,
            _ => FakePlatform::receiver().await,
        };
        inboxes.push((platform, s.inbox(platform, &fake).await));
        fakes.push(fake);
    }
    (inboxes, fakes)
}

/// Each platform posts one media type (any parameters): a delivery of another, or of none, is
/// refused with 415 naming the type expected, before its signature is looked at, and stores
/// nothing; the platform's own type with `; charset=…` is taken in.
#[tokio::test]
async fn a_delivery_of_another_media_type_is_refused_before_its_signature_is_read() {
    let s = site().await;
    let (inboxes, _fakes) = every_platform(&s).await;
    let (signed, unsigned) = (true, false);
    let form = "application/x-www-form-urlencoded; charset=UTF-8";
    // (platform, Content-Type, signed, status): each platform's refusals before the one it takes.
    let cases = [
        ("whatsapp", Some("text/plain"), signed, 415),
        ("whatsapp", None, signed, 415),
        ("whatsapp", Some("text/plain"), unsigned, 415),
        ("whatsapp", Some("application/json; charset=utf-8"), signed, 200),
        ("telegram", Some("application/x-www-form-urlencoded"), signed, 415),
        ("telegram", Some("application/json"), signed, 200),
        ("wechat", Some("application/json"), signed, 415),
        ("wechat", Some("text/html"), unsigned, 415),
        ("wechat", Some("text/xml; charset=utf-8"), signed, 200),
        ("sms", Some("application/json"), signed, 415),
        ("sms", None, unsigned, 415),
        ("sms", Some(form), signed, 200),
        ("webhook", Some("text/plain; charset=utf-8"), signed, 415),
        ("webhook", Some("multipart/form-data; boundary=x"), unsigned, 415),
        ("webhook", Some("Application/JSON; charset=utf-8"), signed, 200),
    ];
    let mut taken = 0;
    for (platform, content_type, signed, expected) in cases {
        let url = &inboxes.iter().find(|(p, _)| *p == platform).unwrap().1;
        let posted = Posted::new(platform, url, None);
        let posted = if signed { posted } else { posted.unsigned() };
        let (status, text) = posted.post(content_type).await;
        let case = format!("{platform} {content_type:?} signed={signed}");
        assert_eq!(status, expected, "{case}: {text}");
        if expected == 415 {
            let refusal: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(refusal["code"], "unsupported_media_type", "{case}: {refusal}");
            let expected_type = plugboard_im::posts(platform).unwrap().content_types[0];
            let message = refusal["message"].as_str().unwrap();
            assert!(message.contains(expected_type), "{case}: {message}");
        } else {
            taken += 1;
        }
        assert_eq!(s.conversations().await, taken, "{case}: stored only if taken");
    }
}

/// The hub reads a delivery up to its platform's limit (`plugboard_im::Posts`, the one its
/// connector checks): one byte over is refused with 413 and stores nothing; at the limit it is
/// taken in (a WhatsApp batch over 1 MiB, our webhook's files inside its JSON).
#[tokio::test]
async fn a_delivery_is_read_up_to_its_platforms_limit_and_no_further() {
    let s = site().await;
    let (inboxes, _fakes) = every_platform(&s).await;
    let mut taken = 0;
    for (platform, url) in &inboxes {
        let posts = plugboard_im::posts(platform).unwrap();
        let content_type = Some(posts.content_types[0]);
        let over = Posted::new(platform, url, Some(posts.max_body + 1));
        let (status, text) = over.post(content_type).await;
        assert_eq!(status, 413, "{platform}, one byte over: {text}");
        let refusal: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(refusal["code"], "too_large", "{platform}: {refusal}");
        let message = refusal["message"].as_str().unwrap();
        assert!(
            message.contains(&posts.max_body.to_string()),
            "{platform}: {message}"
        );
        assert_eq!(s.conversations().await, taken, "{platform}: nothing stored");

        let at = Posted::new(platform, url, Some(posts.max_body));
        let (status, text) = at.post(content_type).await;
        assert_eq!(status, 200, "{platform}, at the limit: {text}");
        taken += 1;
        assert_eq!(s.conversations().await, taken, "{platform}: stored");
    }
}

// --- media in, and linking a conversation to a known customer ---

/// A site whose media fetches are retried quickly: 3 attempts, 1 s then 2 s apart, and a fetch a
/// crash interrupted taken up again after 2 s.
async fn quick_media_site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), QUICK_MEDIA).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    Site {
        hub,
        admin,
        _dir: dir,
    }
}

const QUICK_MEDIA: &[(&str, &str)] = &[
    ("PLUGBOARD_MESSAGING__MEDIA_ATTEMPTS", "3"),
    ("PLUGBOARD_MESSAGING__MEDIA_RETRY_SECS", "1"),
    ("PLUGBOARD_MESSAGING__MEDIA_CLAIM_SECS", "2"),
];

/// The documented image message, with this id.
fn whatsapp_image(id: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&payload("whatsapp", "image.json")).unwrap();
    v["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = json!(id);
    serde_json::to_vec(&v).unwrap()
}

/// Waits for the customer's message `external_id` in conversation `id` to have every file's fate
/// written (`attachment_id` or `error`); answers it.
async fn fetched(s: &Site, id: &str, external_id: &str) -> Value {
    for _ in 0..300 {
        let found = s
            .messages(id)
            .await
            .into_iter()
            .find(|m| m["channel"]["external_id"] == external_id);
        if let Some(m) = found {
            let media = m["channel"]["details"]["media"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !media.is_empty()
                && media
                    .iter()
                    .all(|f| f.get("attachment_id").is_some() || f.get("error").is_some())
            {
                return m;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the files of {external_id} were never fetched nor given up")
}

/// The only interaction of the customer whose WhatsApp number is the documented one.
async fn whatsapp_conversation(s: &Site) -> String {
    for _ in 0..100 {
        let (_, found) = s
            .hub
            .call("GET", "/customers?q=16505551234", Some(&s.admin), None)
            .await
            .unwrap();
        if let Some(customer) = found[0]["id"].as_str() {
            let (_, card) = s
                .hub
                .call("GET", &format!("/customers/{customer}"), Some(&s.admin), None)
                .await
                .unwrap();
            if let Some(id) = card["recent"][0]["id"].as_str() {
                return id.to_owned();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no conversation for the WhatsApp customer")
}

/// GET /attachments/{id} as `token`: (status, bytes).
async fn download(s: &Site, token: &str, attachment: &str) -> (u16, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/attachments/{attachment}", s.hub.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test]
async fn a_whatsapp_photo_is_fetched_after_the_200_kept_and_served_only_to_who_handled_it() {
    use plugboard_tests::im::PHOTO;
    let s = site().await;
    let fake = FakePlatform::whatsapp().await;
    let url = s.inbox("whatsapp", &fake).await;
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    // Meta holds the file until Bob has the conversation, so it reaches his console as an update.
    fake.pause();
    let (status, body) = whatsapp(&url, whatsapp_image("wamid.photo1")).await;
    assert_eq!(status, 200, "{body}");
    let id = accept_offer(&mut bob).await;
    fake.resume();
    let m = fetched(&s, &id, "wamid.photo1").await;

    // Meta's two steps: where the media id's file is, then the file, both with the token.
    let requests = fake.requests();
    let info = requests
        .iter()
        .find(|r| r.path == "/v21.0/1003383421387256")
        .expect("the media id was looked up");
    assert_eq!(
        (info.method.as_str(), info.header("authorization")),
        ("GET", Some("Bearer graph-token"))
    );
    let file = requests
        .iter()
        .find(|r| r.path == "/media/1003383421387256")
        .expect("the file was downloaded");
    assert_eq!(file.header("authorization"), Some("Bearer graph-token"));

    let channel = &m["channel"];
    let attachment = &channel["attachments"][0];
    assert_eq!(channel["details"]["media"][0]["attachment_id"], attachment["id"]);
    assert_eq!(attachment["content_type"], "image/jpeg", "as the message said");
    assert_eq!(attachment["size"], PHOTO.len());
    assert_eq!(m["body"], "Is this the one?");
    // Bob's console got the message again, with its file.
    loop {
        let frame = bob
            .gets_within("message", Duration::from_secs(10))
            .await
            .expect("the message with its file pushed to the agent");
        if frame["message"]["id"] == m["id"] && !frame["message"]["channel"]["attachments"][0].is_null() {
            break;
        }
    }

    let attachment = attachment["id"].as_str().unwrap();
    let bob_token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    assert_eq!(download(&s, &bob_token, attachment).await, (200, PHOTO.to_vec()));
    // Alice never had the conversation; a supervisor may see every contact.
    let alice = s
        .hub
        .login("alice@plugboard.example", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(download(&s, &alice, attachment).await.0, 403);
    let sam = s.hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    assert_eq!(download(&s, &sam, attachment).await.0, 200);
    // The same redelivered: one message, one fetch.
    let (status, _) = whatsapp(&url, whatsapp_image("wamid.photo1")).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lookups = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v21.0/1003383421387256")
        .count();
    assert_eq!(lookups, 1);
}

#[tokio::test]
async fn a_telegram_photo_is_fetched_through_getfile() {
    use plugboard_tests::im::PHOTO;
    let s = site().await;
    let fake = FakePlatform::telegram().await;
    let url = s.inbox("telegram", &fake).await;
    let secret = [("x-telegram-bot-api-secret-token", TELEGRAM_SECRET.to_owned())];
    let (status, body) = deliver(&url, &secret, payload("telegram", "photo.json")).await;
    assert_eq!(status, 200, "{body}");
    let (_, found) = s
        .hub
        .call("GET", "/customers?q=Ivan", Some(&s.admin), None)
        .await
        .unwrap();
    let customer = found[0]["id"].as_str().unwrap();
    let (_, card) = s
        .hub
        .call("GET", &format!("/customers/{customer}"), Some(&s.admin), None)
        .await
        .unwrap();
    let id = card["recent"][0]["id"].as_str().unwrap().to_owned();
    let m = fetched(&s, &id, "111222333:4821").await;
    let requests = fake.requests();
    let get_file = requests
        .iter()
        .find(|r| r.path == "/bot123456:bot-token/getFile")
        .expect("getFile");
    // The largest size Telegram made.
    assert_eq!(get_file.body["file_id"], "AgACAgIAAxkBAAIBQ2Zl-large");
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.path == "/file/bot123456:bot-token/photos/file_7.jpg")
    );
    let attachment = &m["channel"]["attachments"][0];
    assert_eq!(attachment["content_type"], "image/jpeg");
    assert_eq!(attachment["filename"], "image.jpg");
    let (status, bytes) = download(&s, &s.admin, attachment["id"].as_str().unwrap()).await;
    assert_eq!((status, bytes), (200, PHOTO.to_vec()));
}

#[tokio::test]
async fn a_media_endpoint_that_is_down_is_retried_then_the_message_says_why() {
    let s = quick_media_site().await;
    let fake = FakePlatform::whatsapp().await;
    let url = s.inbox("whatsapp", &fake).await;
    for _ in 0..3 {
        fake.answer_next(
            503,
            json!({"error": {"message": "Service temporarily unavailable", "code": 2}}),
        );
    }
    let (status, body) = whatsapp(&url, whatsapp_image("wamid.down")).await;
    assert_eq!(status, 200, "the 200 does not wait for the file: {body}");
    let id = whatsapp_conversation(&s).await;
    let m = fetched(&s, &id, "wamid.down").await;
    let lookups = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v21.0/1003383421387256")
        .count();
    assert_eq!(lookups, 3, "three attempts in all");
    let error = m["channel"]["details"]["media"][0]["error"].as_str().unwrap();
    assert!(error.contains("temporarily unavailable"), "{error}");
    assert!(m["channel"]["attachments"].as_array().unwrap().is_empty());
    assert!(m["channel"]["details"].get("media_retry").is_none());
}

#[tokio::test]
async fn a_media_url_off_the_platforms_host_is_never_fetched() {
    let s = site().await;
    let fake = FakePlatform::whatsapp().await;
    let elsewhere = FakePlatform::sms().await;
    let url = s.inbox("whatsapp", &fake).await;
    // Same machine, another host name: only the Graph host and Meta's media host are fetched.
    let off_host = elsewhere.base.replace("127.0.0.1", "localhost");
    fake.answer_next(
        200,
        json!({"messaging_product": "whatsapp", "url": format!("{off_host}/steal"),
               "mime_type": "image/jpeg", "sha256": "00", "file_size": 10, "id": "1003383421387256"}),
    );
    let (status, _) = whatsapp(&url, whatsapp_image("wamid.ssrf")).await;
    assert_eq!(status, 200);
    let id = whatsapp_conversation(&s).await;
    let m = fetched(&s, &id, "wamid.ssrf").await;
    let error = m["channel"]["details"]["media"][0]["error"].as_str().unwrap();
    assert!(error.contains("not WhatsApp's host"), "{error}");
    assert!(elsewhere.requests().is_empty(), "never fetched");
}

#[tokio::test]
async fn a_fetch_cut_by_kill_9_is_done_after_the_restart() {
    use plugboard_tests::im::PHOTO;
    let s = quick_media_site().await;
    let fake = FakePlatform::whatsapp().await;
    let url = s.inbox("whatsapp", &fake).await;
    fake.pause();
    let (status, _) = whatsapp(&url, whatsapp_image("wamid.crash")).await;
    assert_eq!(status, 200);
    // The hub is asking WhatsApp where the file is, and WhatsApp has not answered.
    fake.nth_request(1, 10).await;
    let Site { hub, _dir, .. } = s;
    hub.kill9();
    fake.resume();
    let hub = Hub::start(_dir.path(), QUICK_MEDIA).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let s = Site { hub, admin, _dir };
    let id = whatsapp_conversation(&s).await;
    let m = fetched(&s, &id, "wamid.crash").await;
    let attachment = m["channel"]["attachments"][0]["id"].as_str().unwrap();
    assert_eq!(download(&s, &s.admin, attachment).await, (200, PHOTO.to_vec()));
}

#[tokio::test]
async fn an_agent_links_a_whatsapp_conversation_to_a_known_customer() {
    let s = site().await;
    let fake = FakePlatform::whatsapp().await;
    let url = s.inbox("whatsapp", &fake).await;
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let (status, _) = whatsapp(
        &url,
        whatsapp_text("wamid.link1", "It's Maria, from my other phone"),
    )
    .await;
    assert_eq!(status, 200);
    let id = accept_offer(&mut bob).await;
    let (_, found) = s
        .hub
        .call(
            "GET",
            "/customers?q=maria.garcia@example.com",
            Some(&s.admin),
            None,
        )
        .await
        .unwrap();
    let maria = found[0]["id"].as_str().unwrap().to_owned();
    let link = |token: String, customer: String| {
        let hub = &s.hub;
        let id = id.clone();
        async move {
            hub.call(
                "POST",
                &format!("/interactions/{id}/customer"),
                Some(&token),
                Some(json!({"customer_id": customer})),
            )
            .await
            .unwrap()
        }
    };
    let bob_token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let alice = s
        .hub
        .login("alice@plugboard.example", DEMO_PASSWORD)
        .await
        .unwrap();
    // Not Alice's conversation; nobody's customer by that id in this account.
    assert_eq!(link(alice, maria.clone()).await.0, 403);
    let stranger = "0190a5e8-0000-7000-8000-000000000000".to_owned();
    assert_eq!(link(bob_token.clone(), stranger).await.0, 404);

    let (status, card) = link(bob_token.clone(), maria.clone()).await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["customer"]["id"], maria);
    assert_eq!(card["customer"]["name"], "Maria Garcia");
    let (_, detail) = s
        .hub
        .call("GET", &format!("/interactions/{id}"), Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(detail["interaction"]["customer_id"], maria);
    let linked = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "customer.linked")
        .expect("the merge on the conversation's log")
        .clone();
    assert_eq!(linked["data"]["agent_name"], "Bob Martin");
    assert_eq!(linked["data"]["into"]["id"], maria);
    assert_eq!(link(bob_token, maria.clone()).await.0, 409, "linked already");

    // Her next WhatsApp message is hers, in the same conversation.
    let (status, _) = whatsapp(&url, whatsapp_text("wamid.link2", "Any news?")).await;
    assert_eq!(status, 200);
    let messages = s.messages(&id).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    let (_, found) = s
        .hub
        .call("GET", "/customers?q=16505551234", Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], maria);
}

// --- a supervisor watching ---

/// Issue 13, interventions: Sam, a supervisor, watches Bob's WhatsApp conversation read-only as
/// it happens: the conversation as it stands, then the customer's next message and Bob's reply
/// (and its delivery) as they come. He cannot write into it, over his console or over REST:
/// WhatsApp gets Bob's reply alone.
#[tokio::test]
async fn a_supervisor_watches_a_whatsapp_conversation_read_only() {
    let s = site().await;
    let fake = FakePlatform::whatsapp().await;
    let url = s.inbox("whatsapp", &fake).await;
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let (status, _) = whatsapp(&url, whatsapp_text("wamid.watch1", "Where is my order?")).await;
    assert_eq!(status, 200);
    let id = accept_offer(&mut bob).await;

    let sam_token = s.hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut sam = s.hub.agent_with(&sam_token).await.unwrap();
    sam.send(json!({"type": "conversation.watch", "interaction_id": id}))
        .await
        .unwrap();
    let watched = sam.expect("watched").await.unwrap();
    assert_eq!(watched["interaction"]["id"], id.as_str());
    assert_eq!(watched["interaction"]["channel"], "messaging");
    let bodies: Vec<&str> = watched["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, ["Where is my order?"]);

    // The customer writes again: Sam hears it.
    let (status, _) = whatsapp(&url, whatsapp_text("wamid.watch2", "It was due Monday")).await;
    assert_eq!(status, 200);
    let heard = sam.watched_message(|m| m["sender"] == "customer").await;
    assert_eq!(
        (heard["body"].as_str(), heard["interaction_id"].as_str()),
        (Some("It was due Monday"), Some(id.as_str()))
    );

    // Bob answers: Sam hears the reply, then WhatsApp taking it.
    let (status, queued) = reply(&s, &id, "watch-r1", "It ships today.").await;
    assert_eq!(status, 202, "{queued}");
    let heard = sam.watched_message(|m| m["sender"] == "agent").await;
    assert_eq!(heard["body"], "It ships today.");
    sam.watched_message(|m| m["id"] == heard["id"] && m["channel"]["delivery"] == "sent")
        .await;
    assert!(
        bob.gets_within("watched.message", Duration::from_millis(300))
            .await
            .is_none(),
        "the agent hears only her own frames"
    );

    // Watching is reading: Sam's message over his console and over REST are both refused.
    s.hub
        .watcher_cannot_write(&mut sam, &sam_token, &id, "/messages")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.requests().len(), 1, "WhatsApp got Bob's reply alone");
    let stored = s.messages(&id).await;
    assert!(stored.iter().all(|m| m["body"] != "Sam here"), "{stored:?}");
    let logged = s.hub.logged(&s.admin, &id, "interaction.watched").await;
    assert_eq!(logged["data"]["by_name"], "Sam Lee");
}
