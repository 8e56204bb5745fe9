//! The permission matrix: every REST route of the hub's OpenAPI document and every websocket
//! endpoint, asked by every kind of caller, against the real binary. The table below is the one
//! place that says who may do what; a route the document lists without a row here, or a row for a
//! route it no longer lists, fails the test, so a new route cannot ship without a decision.
//!
//! A caller "may" when the hub does not answer 401 or 403; what it then answers (200, or 400 and
//! 404 for the made-up ids and empty bodies the matrix sends) is the route's own business, but
//! never a 5xx. Ids in paths are fresh, so no call changes anything that exists.

use plugboard_tests::{BROWSER_OFFER, DEMO_PASSWORD, Hub, Socket, accepted_chat};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Agent,
    Supervisor,
    Admin,
    /// An agent an admin deactivated, with the token they had.
    Deactivated,
    /// A token its owner logged out.
    LoggedOut,
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::Agent,
    Caller::Supervisor,
    Caller::Admin,
    Caller::Deactivated,
    Caller::LoggedOut,
];

/// Who a route is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone, logged in or not (logging in).
    Public,
    /// Any console user with a live session.
    Agent,
    Supervisor,
    Admin,
}

impl Access {
    /// What `caller` gets: `None` when they may (any status but 401 and 403), else the status.
    fn refusal(self, caller: Caller) -> Option<u16> {
        let rank = match caller {
            Caller::Anonymous | Caller::Deactivated | Caller::LoggedOut => None,
            Caller::Agent => Some(Access::Agent),
            Caller::Supervisor => Some(Access::Supervisor),
            Caller::Admin => Some(Access::Admin),
        };
        match (self, rank) {
            (Access::Public, _) => None,
            (_, None) => Some(401),
            (needed, Some(has)) if has.level() >= needed.level() => None,
            _ => Some(403),
        }
    }

    fn level(self) -> u8 {
        match self {
            Access::Public => 0,
            Access::Agent => 1,
            Access::Supervisor => 2,
            Access::Admin => 3,
        }
    }
}

use Access::{Admin, Agent, Public, Supervisor};

/// Every REST route: method, path as the OpenAPI document writes it, who it is for.
const ROUTES: &[(&str, &str, Access)] = &[
    ("POST", "/api/v1/auth/login", Public),
    ("POST", "/api/v1/auth/logout", Agent),
    ("GET", "/api/v1/me", Agent),
    ("PATCH", "/api/v1/me", Agent),
    ("GET", "/api/v1/me/calling", Agent),
    ("GET", "/api/v1/queues", Agent),
    ("POST", "/api/v1/queues", Admin),
    ("PUT", "/api/v1/queues/{id}", Admin),
    ("GET", "/api/v1/queues/stats", Supervisor),
    ("GET", "/api/v1/agents", Supervisor),
    ("POST", "/api/v1/agents", Admin),
    ("PATCH", "/api/v1/agents/{id}", Admin),
    ("GET", "/api/v1/agents/{id}/sessions", Admin),
    ("DELETE", "/api/v1/agents/{id}/sessions", Admin),
    ("DELETE", "/api/v1/agents/{id}/sessions/{session}", Admin),
    ("POST", "/api/v1/agents/{id}/deactivate", Admin),
    ("POST", "/api/v1/agents/{id}/reactivate", Admin),
    ("GET", "/api/v1/colleagues", Agent),
    ("GET", "/api/v1/dispositions", Agent),
    ("POST", "/api/v1/dispositions", Admin),
    ("DELETE", "/api/v1/dispositions/{code}", Admin),
    ("GET", "/api/v1/phones", Supervisor),
    ("POST", "/api/v1/phones", Admin),
    ("DELETE", "/api/v1/phones/{id}", Admin),
    ("GET", "/api/v1/customers", Agent),
    ("GET", "/api/v1/customers/{id}", Agent),
    ("PATCH", "/api/v1/customers/{id}", Agent),
    ("GET", "/api/v1/customers/{id}/timeline", Agent),
    ("GET", "/api/v1/interactions/{id}", Agent),
    ("GET", "/api/v1/interactions/{id}/recording", Agent),
    ("POST", "/api/v1/interactions/{id}/customer", Agent),
    // Customer relationships: owners, hand-overs, follow-ups.
    ("POST", "/api/v1/customers/reassign", Supervisor),
    ("GET", "/api/v1/assignment-rules", Supervisor),
    ("PUT", "/api/v1/assignment-rules", Admin),
    ("POST", "/api/v1/agents/{id}/handover", Supervisor),
    ("GET", "/api/v1/agents/{id}/holdings", Supervisor),
    ("GET", "/api/v1/handovers", Supervisor),
    ("POST", "/api/v1/handovers/{id}/return", Supervisor),
    ("GET", "/api/v1/customers/{id}/follow-ups", Agent),
    ("POST", "/api/v1/customers/{id}/callbacks", Agent),
    ("POST", "/api/v1/customers/{id}/follow-ups", Agent),
    ("GET", "/api/v1/follow-ups", Agent),
    ("GET", "/api/v1/follow-ups/overdue", Supervisor),
    ("POST", "/api/v1/follow-ups/{id}/close", Agent),
    // Mail.
    ("GET", "/api/v1/mailboxes", Admin),
    ("POST", "/api/v1/mailboxes", Admin),
    ("PUT", "/api/v1/mailboxes/{id}", Admin),
    ("DELETE", "/api/v1/mailboxes/{id}", Admin),
    ("GET", "/api/v1/mailboxes/{id}/failures", Admin),
    ("GET", "/api/v1/mailboxes/addresses", Agent),
    ("POST", "/api/v1/interactions/{id}/emails", Agent),
    ("POST", "/api/v1/customers/{id}/emails", Agent),
    ("POST", "/api/v1/uploads", Agent),
    ("GET", "/api/v1/attachments/{id}", Agent),
    // Messaging apps.
    ("GET", "/api/v1/inboxes", Admin),
    ("POST", "/api/v1/inboxes", Admin),
    ("DELETE", "/api/v1/inboxes/{id}", Admin),
    ("POST", "/api/v1/inboxes/{id}/webhook", Admin),
    ("POST", "/api/v1/interactions/{id}/messages", Agent),
    // Reports and staffing.
    ("GET", "/api/v1/reports/settings", Supervisor),
    ("PUT", "/api/v1/reports/settings", Admin),
    ("GET", "/api/v1/reports/{dimension}", Supervisor),
    ("GET", "/api/v1/staffing/{queue}", Supervisor),
    ("POST", "/api/v1/staffing/what-if", Supervisor),
    ("GET", "/api/v1/teams", Supervisor),
    ("POST", "/api/v1/teams", Admin),
    ("PUT", "/api/v1/teams/{id}", Admin),
    ("DELETE", "/api/v1/teams/{id}", Admin),
    ("POST", "/api/v1/interactions/{id}/move", Supervisor),
    ("PUT", "/api/v1/agents/{id}/state", Supervisor),
    // The inbox: each list and search is cut to what the caller may see (see
    // `an_agent_never_sees_a_conversation_they_may_not`).
    ("GET", "/api/v1/conversations", Agent),
    ("GET", "/api/v1/conversations/search", Agent),
    ("POST", "/api/v1/conversations/{id}/read", Agent),
    ("PUT", "/api/v1/conversations/{id}/labels", Agent),
    // Data protection: the audit log, and one customer's data exported or erased.
    ("GET", "/api/v1/audit", Admin),
    ("GET", "/api/v1/customers/{id}/export", Admin),
    ("POST", "/api/v1/customers/{id}/erase", Admin),
];

/// Fills a path's `{params}` with ids nothing has.
fn fill(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(&uuid::Uuid::now_v7().to_string());
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// Tokens for each caller, made the way users come by them.
struct Tokens {
    agent: String,
    supervisor: String,
    admin: String,
    deactivated: String,
    logged_out: String,
}

impl Tokens {
    async fn get(hub: &Hub) -> Tokens {
        let login = async |email: &str| hub.login(email, DEMO_PASSWORD).await.unwrap();
        let admin = login("admin@plugboard.example").await;
        let logged_out = login("alice@plugboard.example").await;
        let (status, _) = hub
            .call("POST", "/auth/logout", Some(&logged_out), None)
            .await
            .unwrap();
        assert_eq!(status, 204);
        let (status, leaver) = hub
            .call(
                "POST",
                "/agents",
                Some(&admin),
                Some(
                    json!({"email": "leaver@plugboard.example", "name": "Leaver", "password": DEMO_PASSWORD}),
                ),
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{leaver}");
        let deactivated = login("leaver@plugboard.example").await;
        let path = format!("/agents/{}/deactivate", leaver["id"].as_str().unwrap());
        assert_eq!(hub.call("POST", &path, Some(&admin), None).await.unwrap().0, 200);
        Tokens {
            agent: login("bob@plugboard.example").await,
            supervisor: login("sam@plugboard.example").await,
            admin,
            deactivated,
            logged_out,
        }
    }

    fn of(&self, caller: Caller) -> Option<&str> {
        match caller {
            Caller::Anonymous => None,
            Caller::Agent => Some(&self.agent),
            Caller::Supervisor => Some(&self.supervisor),
            Caller::Admin => Some(&self.admin),
            Caller::Deactivated => Some(&self.deactivated),
            Caller::LoggedOut => Some(&self.logged_out),
        }
    }
}

async fn hub() -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    // Each caller logs in more than once a minute's default allows.
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "1000")])
        .await
        .unwrap();
    (hub, dir)
}

/// Every (method, path) of the OpenAPI document the hub serves.
async fn documented(hub: &Hub) -> BTreeSet<(String, String)> {
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", hub.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_rest_route_answers_each_caller_as_the_table_says() {
    let (hub, _dir) = hub().await;
    let mut documented = documented(&hub).await;
    let mut unknown = Vec::new();
    for (method, path, _) in ROUTES {
        if !documented.remove(&(method.to_string(), path.to_string())) {
            unknown.push(format!("{method} {path}"));
        }
    }
    assert!(
        documented.is_empty(),
        "routes in the OpenAPI document without a row in the permission table: {documented:?}"
    );
    assert!(
        unknown.is_empty(),
        "rows for routes the hub does not have: {unknown:?}"
    );

    let tokens = Tokens::get(&hub).await;
    let client = reqwest::Client::new();
    let mut wrong = Vec::new();
    for (method, path, access) in ROUTES {
        for caller in CALLERS {
            // Logging out ends the session it is called with: a session of its own each time.
            let fresh;
            let token = if *path == "/api/v1/auth/logout" && access.refusal(caller).is_none() {
                fresh = hub.login(email_of(caller), DEMO_PASSWORD).await.unwrap();
                Some(fresh.as_str())
            } else {
                tokens.of(caller)
            };
            let mut request = client.request(method.parse().unwrap(), format!("{}{}", hub.base, fill(path)));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if *method != "GET" && *method != "DELETE" {
                request = request.json(&json!({}));
            }
            let status = request.send().await.unwrap().status().as_u16();
            let ok = match access.refusal(caller) {
                Some(refused) => status == refused,
                None => status != 401 && status != 403 && status < 500,
            };
            if !ok {
                wrong.push(format!(
                    "{method} {path} as {caller:?}: {status}, expected {}",
                    access
                        .refusal(caller)
                        .map_or("to be let in".to_string(), |s| s.to_string())
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn email_of(caller: Caller) -> &'static str {
    match caller {
        Caller::Supervisor => "sam@plugboard.example",
        Caller::Admin => "admin@plugboard.example",
        _ => "bob@plugboard.example",
    }
}

/// What a console socket says to a caller's `auth`: the first frame's type, or the error code.
async fn socket_answer(hub: &Hub, path: &str, token: Option<&str>) -> String {
    let mut socket = Socket::connect(&hub.ws_url(path)).await.unwrap();
    let token = token.unwrap_or("not a token");
    socket
        .send(json!({"type": "auth", "token": token}))
        .await
        .unwrap();
    let frame = socket.recv_within(Duration::from_secs(10)).await.unwrap();
    if frame["type"] == "error" {
        frame["code"].as_str().unwrap_or_default().to_string()
    } else {
        frame["type"].as_str().unwrap_or_default().to_string()
    }
}

#[tokio::test]
async fn each_console_socket_lets_in_only_its_callers() {
    let (hub, _dir) = hub().await;
    let tokens = Tokens::get(&hub).await;
    // Socket, who it is for, and the first frame it sends those it lets in.
    let sockets = [
        ("/ws/agent", Agent, "snapshot"),
        ("/ws/supervisor", Supervisor, "queues"),
    ];
    let mut wrong = Vec::new();
    for (path, access, welcome) in sockets {
        for caller in CALLERS {
            let expected = match access.refusal(caller) {
                None => welcome,
                Some(401) => "unauthorized",
                Some(_) => "forbidden",
            };
            let got = socket_answer(&hub, path, tokens.of(caller)).await;
            if got != expected {
                wrong.push(format!("{path} as {caller:?}: {got}, expected {expected}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What `/ws/agent` answers Bob for each frame he may send, aimed at a chat Dana holds: the
/// type of the frame that answers it, or the error's code. Every client frame type of
/// docs/protocol.md has a row.
const AGENT_FRAMES: &[(&str, &str)] = &[
    ("auth", "bad_request"),
    ("state.set", "agent.state"),
    ("offer.accept", "invalid_state"),
    ("offer.decline", "invalid_state"),
    ("message", "forbidden"),
    ("typing", "forbidden"),
    ("interaction.end", "forbidden"),
    ("interaction.transfer", "forbidden"),
    ("call.hold", "forbidden"),
    // Any agent may call a customer; this hub has no SIP trunk to call out through.
    ("call.dial", "bad_request"),
    // Only the agent holding a call gives it audio from their browser.
    ("call.media.offer", "forbidden"),
    ("call.media.candidate", "forbidden"),
    ("call.dtmf", "forbidden"),
    // Listening to a call is for supervisors of the agent's teams.
    ("call.monitor", "forbidden"),
    // Consulting a colleague is for the agent holding the call.
    ("call.consult", "forbidden"),
    ("wrap_up", "forbidden"),
    ("note.add", "note.added"),
    // Watching one's own inbox needs no right; its frames carry nothing.
    ("conversations.watch", "nothing"),
    // Watching a conversation read-only is for supervisors.
    ("conversation.watch", "forbidden"),
];

/// The client frame types the protocol document lists for a socket (its first table under
/// `heading`).
fn documented_frames(heading: &str) -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md")).unwrap();
    let section = doc.split(heading).nth(1).expect("the socket's section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| `"))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn an_agent_cannot_act_on_a_contact_another_agent_holds() {
    let (hub, _dir) = hub().await;
    let documented = documented_frames("## `/ws/agent`");
    let listed: BTreeSet<String> = AGENT_FRAMES.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(documented, listed, "every agent frame type needs a row");

    // Dana holds a chat.
    let (mut dana, mut widget, interaction) =
        accepted_chat(&hub, "dana@plugboard.example", "Ines", "ines@example.com", "hi").await;
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, detail) = hub
        .call(
            "GET",
            &format!("/interactions/{interaction}"),
            Some(&bob_token),
            None,
        )
        .await
        .unwrap();
    let (customer, queue) = (
        &detail["interaction"]["customer_id"],
        &detail["interaction"]["queue_id"],
    );

    let mut bob = hub.agent_with(&bob_token).await.unwrap();
    let mut wrong = Vec::new();
    for (kind, expected) in AGENT_FRAMES {
        let frame = json!({
            "type": kind, "interaction_id": interaction, "customer_id": customer,
            "token": "x", "state": "break", "client_id": "b1", "body": "mine now",
            "typing": true, "on": true, "disposition": "resolved",
            "queue_id": queue, "sdp": BROWSER_OFFER, "digits": "12#", "step": "start",
            "candidate": "candidate:1 1 udp 2113937151 192.0.2.7 54321 typ host",
        });
        bob.send(frame).await.unwrap();
        let answer = match bob.recv_within(Duration::from_secs(2)).await {
            Ok(f) if f["type"] == "error" => f["code"].as_str().unwrap_or_default().to_string(),
            Ok(f) => f["type"].as_str().unwrap_or_default().to_string(),
            Err(_) => "nothing".to_string(),
        };
        if answer != *expected {
            wrong.push(format!("{kind}: {answer}, expected {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Dana still has it, untouched, and the customer heard nothing from Bob.
    assert!(
        dana.gets_within("interaction.updated", Duration::from_millis(300))
            .await
            .is_none()
    );
    assert!(
        widget
            .gets_within("message", Duration::from_millis(300))
            .await
            .is_none()
    );
}

/// The inbox's rows: Dana's chat is in her lists and found by her searches; Bob, an agent who
/// neither holds it nor could take it now, never sees it, cannot mark or label it; Sam, a
/// supervisor, sees it.
#[tokio::test]
async fn an_agent_never_sees_a_conversation_they_may_not() {
    let (hub, _dir) = hub().await;
    let (_dana, _widget, interaction) = accepted_chat(
        &hub,
        "dana@plugboard.example",
        "Ines",
        "ines@example.com",
        "我要退款 refund",
    )
    .await;
    let token = |email: &'static str| hub.login(email, DEMO_PASSWORD);
    let (dana, bob, sam) = (
        token("dana@plugboard.example").await.unwrap(),
        token("bob@plugboard.example").await.unwrap(),
        token("sam@plugboard.example").await.unwrap(),
    );
    let ids = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["interaction"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    async fn list(hub: &Hub, t: &str, folder: &str) -> anyhow::Result<(u16, Value)> {
        hub.call("GET", &format!("/conversations?folder={folder}"), Some(t), None)
            .await
    }
    async fn search(hub: &Hub, t: &str) -> anyhow::Result<(u16, Value)> {
        hub.call("GET", "/conversations/search?q=%E9%80%80%E6%AC%BE", Some(t), None)
            .await
    }
    assert_eq!(
        ids(&list(&hub, &dana, "mine").await.unwrap().1, "conversations"),
        std::slice::from_ref(&interaction)
    );
    // (The demo's history holds other conversations.)
    assert!(ids(&list(&hub, &sam, "all").await.unwrap().1, "conversations").contains(&interaction));
    assert!(!ids(&list(&hub, &bob, "all").await.unwrap().1, "conversations").contains(&interaction));

    // Search finds it (once the indexer has filed the message) for Dana and Sam, never Bob.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ids(&search(&hub, &dana).await.unwrap().1, "messages").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the message was never indexed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        ids(&search(&hub, &sam).await.unwrap().1, "messages"),
        std::slice::from_ref(&interaction)
    );
    let bobs = search(&hub, &bob).await.unwrap().1;
    assert!(
        ids(&bobs, "messages").is_empty() && ids(&bobs, "conversations").is_empty(),
        "{bobs}"
    );

    for (method, path, body) in [
        (
            "POST",
            format!("/conversations/{interaction}/read"),
            json!({"seq": 1}),
        ),
        (
            "PUT",
            format!("/conversations/{interaction}/labels"),
            json!({"labels": ["mine"]}),
        ),
    ] {
        let (status, _) = hub
            .call(method, &path, Some(&bob), Some(body.clone()))
            .await
            .unwrap();
        assert_eq!(status, 404, "{method} {path} by Bob");
        let (status, _) = hub.call(method, &path, Some(&dana), Some(body)).await.unwrap();
        assert!(
            status == 200 || status == 204,
            "{method} {path} by Dana: {status}"
        );
    }
    let (_, mine) = list(&hub, &dana, "mine").await.unwrap();
    assert_eq!(mine["conversations"][0]["labels"], json!(["mine"]));
    assert_eq!(mine["conversations"][0]["unread"], 0);
}
