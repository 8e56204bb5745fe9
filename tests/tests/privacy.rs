//! Data protection against the real binary (issue 11, items 4 and 7): the audit log of admins' and
//! supervisors' actions, one customer exported and erased, on SQLite and on PostgreSQL, and no
//! secret in the hub's log.

use plugboard_tests::{DEMO_PASSWORD, Hub, Postgres, accepted_chat, utc_date};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const ADMIN: &str = "admin@plugboard.example";

async fn audit(hub: &Hub, token: &str, query: &str) -> Vec<Value> {
    let (status, page) = hub
        .call("GET", &format!("/audit?{query}"), Some(token), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().unwrap().clone()
}

/// Admins' and supervisors' actions are logged with who, what, when and from where (the client
/// behind the trusted proxy), the line written with the change; a refused action leaves none.
#[tokio::test]
async fn admins_and_supervisors_actions_are_in_the_audit_log_with_who_and_from_where() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("PLUGBOARD_HTTP__TRUSTED_PROXIES", "[\"127.0.0.1\"]")];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let admin = hub.login(ADMIN, DEMO_PASSWORD).await.unwrap();
    let client = reqwest::Client::new();
    let from_proxy = |method: reqwest::Method, path: &str, body: Value| {
        client
            .request(method, format!("{}/api/v1{path}", hub.base))
            .bearer_auth(&admin)
            .header("X-Forwarded-For", "203.0.113.9")
            .json(&body)
            .send()
    };
    let r = from_proxy(reqwest::Method::POST, "/queues", json!({"name": "Audited"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let queue: Value = r.json().await.unwrap();
    let queue_id = queue["id"].as_str().unwrap();
    let r = from_proxy(
        reqwest::Method::PUT,
        &format!("/queues/{queue_id}"),
        json!({"name": "Audited", "priority": 3}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    // Refused: nothing happened, so nothing is logged.
    let r = from_proxy(reqwest::Method::POST, "/queues", json!({"name": "Audited"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let (status, _) = hub
        .call(
            "POST",
            "/dispositions",
            Some(&admin),
            Some(json!({"code": "callback", "label": "Call back"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    // A supervisor's: a customer given to Dana.
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let dana = hub.named(&admin, "/agents", "Dana Silva").await.unwrap();
    let (_, customers) = hub.call("GET", "/customers?q=", Some(&sam), None).await.unwrap();
    let customer = customers[0]["id"].clone();
    let (status, body) = hub
        .call(
            "POST",
            "/customers/reassign",
            Some(&sam),
            Some(json!({"customer_ids": [customer], "owner_id": dana["id"], "reason": "covers the region"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");

    let lines = audit(&hub, &admin, "").await;
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "customers.reassigned",
            "disposition.saved",
            "queue.updated",
            "queue.created"
        ],
        "{lines:?}"
    );
    assert_eq!(lines[0]["actor_email"], "sam@plugboard.example");
    assert_eq!(lines[0]["detail"]["reason"], "covers the region");
    let updated = &lines[2];
    assert_eq!(updated["actor_email"], ADMIN);
    assert_eq!(updated["client_addr"], "203.0.113.9");
    assert_eq!(updated["target"], queue_id);
    assert_eq!(updated["detail"]["priority"], 3);
    assert_eq!(lines[1]["client_addr"], "127.0.0.1");
    // Filtered and paged.
    let created = audit(&hub, &admin, "action=queue.created").await;
    assert_eq!(created.len(), 1);
    let first = audit(&hub, &admin, "limit=1").await;
    let (_, page) = hub
        .call("GET", "/audit?limit=1", Some(&admin), None)
        .await
        .unwrap();
    let next = page["next"].as_str().unwrap();
    let second = audit(&hub, &admin, &format!("limit=1&before={next}")).await;
    assert_eq!(
        (first[0]["action"].as_str(), second[0]["action"].as_str()),
        (Some("customers.reassigned"), Some("disposition.saved"))
    );
    let admin_id = hub.call("GET", "/me", Some(&admin), None).await.unwrap().1["id"].clone();
    let by_admin = audit(&hub, &admin, &format!("actor={}", admin_id.as_str().unwrap())).await;
    assert_eq!(by_admin.len(), 3);
    // Only admins read it; a password never shows in it.
    assert_eq!(hub.call("GET", "/audit", Some(&sam), None).await.unwrap().0, 403);
    let (status, _) = hub
        .call(
            "PATCH",
            &format!("/agents/{}", dana["id"].as_str().unwrap()),
            Some(&admin),
            Some(json!({"password": "a brand new secret"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let lines = audit(&hub, &admin, "action=agent.updated").await;
    assert_eq!(lines[0]["detail"]["password_changed"], true);
    assert!(
        !serde_json::to_string(&lines)
            .unwrap()
            .contains("a brand new secret")
    );
}

/// Every file under `dir` (the database, its write-ahead log, attachments, recordings) searched
/// for `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// An admin exports a customer's data, then erases them: afterwards no route shows anything of
/// theirs (profile, timeline, search, conversation search, the export itself) and nothing in the
/// data directory holds it, while the contact still counts in reports (a tombstone).
async fn erase_and_look_everywhere(hub: &Hub) {
    let admin = hub.login(ADMIN, DEMO_PASSWORD).await.unwrap();
    let (mut dana, mut widget, interaction) = accepted_chat(
        hub,
        "dana@plugboard.example",
        "Quentin Zanzibarro",
        "quentin.zanzibarro@example.com",
        "my order number is ZQ-778899-zanzibarro",
    )
    .await;
    dana.send(json!({"type": "message", "interaction_id": interaction, "client_id": "d1", "body": "Found it, Mr Zanzibarro"}))
        .await
        .unwrap();
    dana.expect("message.ack").await.unwrap();
    let customer = hub
        .call("GET", &format!("/interactions/{interaction}"), Some(&admin), None)
        .await
        .unwrap()
        .1["interaction"]["customer_id"]
        .as_str()
        .unwrap()
        .to_string();
    dana.send(json!({"type": "note.add", "customer_id": customer, "body": "Zanzibarro prefers mornings"}))
        .await
        .unwrap();
    dana.expect("note.added").await.unwrap();

    // Indexed: the conversation search finds it.
    let search = "/conversations/search?q=zanzibarro";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, found) = hub.call("GET", search, Some(&admin), None).await.unwrap();
        if found["messages"].as_array().is_some_and(|m| !m.is_empty()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never indexed: {found}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Not while the chat is open.
    let erase = format!("/customers/{customer}/erase");
    assert_eq!(hub.call("POST", &erase, Some(&admin), None).await.unwrap().0, 409);

    // The export has it all, as a file.
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/customers/{customer}/export", hub.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let export: Value = r.json().await.unwrap();
    let text = export.to_string();
    for needle in [
        "quentin.zanzibarro@example.com",
        "ZQ-778899",
        "Found it",
        "prefers mornings",
    ] {
        assert!(text.contains(needle), "the export lacks {needle:?}: {text}");
    }
    assert_eq!(export["identities"][0]["kind"], "visitor");
    // Only admins.
    let dana_token = hub.login("dana@plugboard.example", DEMO_PASSWORD).await.unwrap();
    assert_eq!(
        hub.call("POST", &erase, Some(&dana_token), None).await.unwrap().0,
        403
    );

    dana.send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    widget.expect("ended").await.unwrap();
    dana.send(json!({"type": "wrap_up", "interaction_id": interaction, "disposition": "resolved", "note": "Zanzibarro happy"}))
        .await
        .unwrap();
    let mut closed = false;
    for _ in 0..10 {
        let frame = dana.expect("interaction.updated").await.unwrap();
        if frame["interaction"]["state"] == "closed" {
            closed = true;
            break;
        }
    }
    assert!(closed);

    let report = format!("/reports/channel?from={}&to={}", utc_date(-1), utc_date(1));
    let (status, before) = hub.call("GET", &report, Some(&admin), None).await.unwrap();
    assert_eq!(status, 200, "{before}");

    let (status, erased) = hub.call("POST", &erase, Some(&admin), None).await.unwrap();
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["messages"], 2);
    assert_eq!(hub.call("POST", &erase, Some(&admin), None).await.unwrap().0, 404);
    // The erasure and the export are in the audit log, naming the customer by id only.
    let lines = audit(hub, &admin, "").await;
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], ["customer.erased", "customer.exported"]);
    assert_eq!(lines[0]["target"], customer.as_str());

    // Nothing readable over any route.
    let routes = [
        format!("/customers/{customer}"),
        format!("/customers/{customer}/timeline"),
        format!("/customers/{customer}/export"),
        format!("/customers/{customer}/follow-ups"),
        format!("/interactions/{interaction}"),
        "/customers?q=zanzibarro".to_string(),
        "/customers?q=quentin.zanzibarro%40example.com".to_string(),
        search.to_string(),
        "/conversations?folder=all".to_string(),
        "/audit".to_string(),
    ];
    for route in &routes {
        let (status, body) = hub.call("GET", route, Some(&admin), None).await.unwrap();
        assert!(status < 500, "{route}: {status}");
        let text = body.to_string().to_lowercase();
        assert!(
            !text.contains("zanzibarro") && !text.contains("778899"),
            "{route} still shows them: {text}"
        );
    }
    // The tombstone keeps the contact counted: the report reads as before.
    assert_eq!(
        hub.call("GET", &report, Some(&admin), None).await.unwrap().1,
        before
    );
    // Nothing in the data directory.
    for needle in ["zanzibarro", "Zanzibarro", "778899"] {
        let found = files_holding(&hub.data_dir, needle);
        assert!(found.is_empty(), "{needle:?} is still in {found:?}");
    }
}

#[tokio::test]
async fn an_erased_customer_leaves_nothing_readable_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    erase_and_look_everywhere(&hub).await;
}

#[tokio::test]
async fn an_erased_customer_leaves_nothing_readable_on_postgres() {
    let Some(db) = Postgres::fresh().await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_DATABASE_URL", db.url.as_str())])
        .await
        .unwrap();
    erase_and_look_everywhere(&hub).await;
}

/// No secret reaches the hub's log, read at debug level: not the password in the database URL,
/// not a password as it is set, used, mistyped or changed, not a session token, valid, ended or
/// forged. (The error of a hub that cannot reach its database: `ops.rs`,
/// `a_database_password_never_shows_in_an_error`.)
#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let Some(db) = Postgres::fresh().await.unwrap() else {
        return;
    };
    const DB_SECRET: &str = "db-pass-Zq81t";
    const FIRST: &str = "agent-pass-Kw27x";
    const WRONG: &str = "wrong-pass-Jd44m";
    const CHANGED: &str = "new-pass-Pq93v";
    const FORGED: &str = "forged-token-Lm55r";
    // Trust authentication ignores the password, so the hub connects with it all the same.
    let url = db.url.replacen("://root@", &format!("://root:{DB_SECRET}@"), 1);
    assert_ne!(
        url, db.url,
        "the test server's URL has no user to add a password to"
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hub.log");
    let env = [("PLUGBOARD_DATABASE_URL", url.as_str()), ("RUST_LOG", "debug")];
    let hub = Hub::start_logged(dir.path(), &env, &log).await.unwrap();

    let admin = hub.login(ADMIN, DEMO_PASSWORD).await.unwrap();
    let new = json!({"email": "kim@plugboard.example", "name": "Kim", "password": FIRST, "role": "agent"});
    let (status, kim) = hub
        .call("POST", "/agents", Some(&admin), Some(new))
        .await
        .unwrap();
    assert_eq!(status, 200, "{kim}");
    let first_token = hub.login("kim@plugboard.example", FIRST).await.unwrap();
    assert!(hub.login("kim@plugboard.example", WRONG).await.is_err());
    let path = format!("/agents/{}", kim["id"].as_str().unwrap());
    let (status, _) = hub
        .call("PATCH", &path, Some(&admin), Some(json!({"password": CHANGED})))
        .await
        .unwrap();
    assert_eq!(status, 200);
    // The old session ended with the change; the forged one never was.
    assert_eq!(
        hub.call("GET", "/me", Some(&first_token), None).await.unwrap().0,
        401
    );
    assert_eq!(hub.call("GET", "/me", Some(FORGED), None).await.unwrap().0, 401);
    let token = hub.login("kim@plugboard.example", CHANGED).await.unwrap();
    let mut socket = plugboard_tests::Socket::connect(&hub.ws_url("/ws/agent"))
        .await
        .unwrap();
    socket
        .send(json!({"type": "auth", "token": FORGED}))
        .await
        .unwrap();
    assert_eq!(socket.expect_error().await["code"], "unauthorized");
    let mut socket = hub.agent_with(&token).await.unwrap();
    socket
        .send(json!({"type": "state.set", "state": "available"}))
        .await
        .unwrap();
    socket.expect("agent.state").await.unwrap();
    drop(socket);
    drop(hub);

    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.lines().count() > 20,
        "the debug log is nearly empty:\n{written}"
    );
    for secret in [DB_SECRET, FIRST, WRONG, CHANGED, FORGED, &first_token, &token] {
        let line = written.lines().find(|l| l.contains(secret));
        assert!(
            line.is_none(),
            "a secret in the log: {}",
            line.unwrap_or_default()
        );
    }
}
