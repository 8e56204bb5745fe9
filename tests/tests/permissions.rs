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
    ("PUT", "/api/v1/me/avatar", Agent),
    ("DELETE", "/api/v1/me/avatar", Agent),
    ("GET", "/api/v1/agents/names", Agent),
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
    ("GET", "/api/v1/interactions/{id}/transcript", Agent),
    ("POST", "/api/v1/interactions/{id}/customer", Agent),
    // Customer relationships: owners, segments, hand-overs, follow-ups.
    ("POST", "/api/v1/customers/reassign", Supervisor),
    ("GET", "/api/v1/assignment-rules", Supervisor),
    ("PUT", "/api/v1/assignment-rules", Admin),
    ("GET", "/api/v1/customer-fields", Agent),
    ("GET", "/api/v1/customers/export", Supervisor),
    ("PUT", "/api/v1/customer-fields", Admin),
    ("POST", "/api/v1/customers/import", Supervisor),
    ("GET", "/api/v1/segments", Supervisor),
    ("POST", "/api/v1/segments", Supervisor),
    ("PUT", "/api/v1/segments/{id}", Supervisor),
    ("DELETE", "/api/v1/segments/{id}", Supervisor),
    ("GET", "/api/v1/segments/{id}/customers", Supervisor),
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
    // The knowledge base: everyone reads, supervisors write; canned responses: everyone keeps
    // their own (an agent changing the account's is refused by the handler, not by the route).
    ("GET", "/api/v1/knowledge/articles", Agent),
    ("POST", "/api/v1/knowledge/articles", Supervisor),
    ("GET", "/api/v1/knowledge/articles/{id}", Agent),
    ("PUT", "/api/v1/knowledge/articles/{id}", Supervisor),
    ("DELETE", "/api/v1/knowledge/articles/{id}", Supervisor),
    ("POST", "/api/v1/knowledge/preview", Supervisor),
    ("GET", "/api/v1/knowledge/suggestions", Agent),
    ("GET", "/api/v1/canned-responses", Agent),
    ("POST", "/api/v1/canned-responses", Agent),
    ("PUT", "/api/v1/canned-responses/{id}", Agent),
    ("DELETE", "/api/v1/canned-responses/{id}", Agent),
    ("POST", "/api/v1/canned-responses/{id}/use", Agent),
    // The pipeline: lifecycle stages and opportunities (who sees which is the route's business).
    ("GET", "/api/v1/pipeline/settings", Agent),
    ("PUT", "/api/v1/pipeline/settings", Admin),
    ("PUT", "/api/v1/customers/{id}/stage", Agent),
    ("GET", "/api/v1/customers/{id}/opportunities", Agent),
    ("POST", "/api/v1/customers/{id}/opportunities", Agent),
    ("GET", "/api/v1/opportunities", Agent),
    ("GET", "/api/v1/opportunities/{id}", Agent),
    ("PATCH", "/api/v1/opportunities/{id}", Agent),
    ("POST", "/api/v1/opportunities/{id}/move", Agent),
    ("POST", "/api/v1/opportunities/{id}/checklist", Agent),
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
    ("GET", "/api/v1/reports/csat", Supervisor),
    ("GET", "/api/v1/reports/agent-kpis", Supervisor),
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
    ("GET", "/api/v1/conversations/{id}", Agent),
    ("POST", "/api/v1/conversations/{id}/read", Agent),
    ("PUT", "/api/v1/conversations/{id}/labels", Agent),
    ("POST", "/api/v1/conversations/{id}/snooze", Agent),
    ("POST", "/api/v1/conversations/{id}/reopen", Agent),
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
        ("GET", format!("/conversations/{interaction}"), Value::Null),
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
    // Nor may he snooze or reopen it: it is not there for him.
    for (path, body) in [
        ("snooze", json!({"until": plugboard_tests::now_ms() + 60_000})),
        ("reopen", Value::Null),
    ] {
        let path = format!("/conversations/{interaction}/{path}");
        let (status, _) = hub.call("POST", &path, Some(&bob), Some(body)).await.unwrap();
        assert_eq!(status, 404, "POST {path} by Bob");
    }
    let (_, mine) = list(&hub, &dana, "mine").await.unwrap();
    assert_eq!(mine["conversations"][0]["labels"], json!(["mine"]));
    assert_eq!(mine["conversations"][0]["unread"], 0);
}

/// Who asks, in the supervisors' matrix below.
#[derive(Debug, Clone, Copy)]
enum Asker {
    Admin,
    /// Sam, who leads the team whose queue holds the target (Support desk).
    Lead,
    /// Sue, a supervisor leading another team (Sales floor).
    OtherLead,
    /// Bob, an agent of the target's team.
    Agent,
}

const ASKERS: [Asker; 4] = [Asker::Admin, Asker::Lead, Asker::OtherLead, Asker::Agent];

/// What a matrix frame is aimed at.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Aim {
    /// The socket's first frame, with the asker's token.
    SignIn,
    /// The chat Dana holds in Support.
    Chat,
    /// `interaction_id: null` (stop).
    Nothing,
}

/// A row for any frame `/ws/supervisor` does not document (it sends `conversation.watch`, the
/// frame a supervisor's console is likeliest to send the wrong socket).
const ANY_OTHER: &str = "*";

/// Every client frame of `/ws/supervisor` and every supervisor-only frame of `/ws/agent`, as each
/// kind of asker sends it: the type of the frame that answers, the error's code, or "nothing".
/// Columns: admin, the target's team lead, another team's lead, an agent. The supervisor-only
/// frames of docs/protocol.md (those its `/ws/agent` table says are for supervisors) and every
/// client frame of its `/ws/supervisor` section need a row.
const SUPERVISOR_MATRIX: &[(&str, &str, Aim, [&str; 4])] = &[
    // The wallboard: any supervisor or admin gets their board (what it holds is their teams':
    // reports.rs, `teams_decide_which_queues_and_agents_each_supervisor_sees`).
    (
        "/ws/supervisor",
        "auth",
        Aim::SignIn,
        ["queues", "queues", "queues", "forbidden"],
    ),
    // Supervisors only listen there; an agent never got in.
    (
        "/ws/supervisor",
        ANY_OTHER,
        Aim::Chat,
        ["bad_request", "bad_request", "bad_request", "forbidden"],
    ),
    // Watching read-only: a conversation of one's own teams (the admin's are all).
    (
        "/ws/agent",
        "conversation.watch",
        Aim::Chat,
        ["watched", "watched", "not_found", "forbidden"],
    ),
    // Stopping a watch asks nothing of anyone.
    (
        "/ws/agent",
        "conversation.watch",
        Aim::Nothing,
        ["nothing", "nothing", "nothing", "nothing"],
    ),
    // Listening in: past the role and the team, a chat is not a call (a real call, and another
    // team's lead turned away from it, are in sip.rs).
    (
        "/ws/agent",
        "call.monitor",
        Aim::Chat,
        ["bad_request", "bad_request", "not_found", "forbidden"],
    ),
];

/// The client frame types a socket's section of docs/protocol.md lists (up to the next `## `
/// heading), with their fields: the table after "Client → server", and the `auth` every console
/// socket takes first.
fn client_frames(heading: &str) -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md")).unwrap();
    let after = doc.split(heading).nth(1).expect("the socket's section");
    let section = after.split("\n## ").next().unwrap();
    assert!(
        section.contains("auth"),
        "{heading}: a console socket's first frame is auth"
    );
    let mut frames = vec![("auth".to_string(), String::new())];
    if let Some(client) = section.split("Client → server").nth(1) {
        for line in client
            .lines()
            .skip_while(|l| !l.starts_with("| `"))
            .take_while(|l| l.starts_with('|'))
        {
            if let Some(rest) = line.strip_prefix("| `")
                && let Some((kind, fields)) = rest.split_once('`')
                && kind != "auth"
            {
                frames.push((kind.to_string(), fields.to_string()));
            }
        }
    }
    frames
}

/// The first frame that answers what a socket sent, skipping what it pushes on its own; "nothing"
/// when none comes within `wait`.
async fn answer_of(socket: &mut Socket, wait: Duration) -> String {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let Some(left) = until.checked_duration_since(tokio::time::Instant::now()) else {
            return "nothing".into();
        };
        let Ok(frame) = socket.recv_within(left).await else {
            return "nothing".into();
        };
        let kind = frame["type"].as_str().unwrap_or_default();
        if kind == "queues" || kind.starts_with("follow_up.") || kind == "conversations.changed" {
            continue;
        }
        if kind == "error" {
            return frame["code"].as_str().unwrap_or_default().to_string();
        }
        return kind.to_string();
    }
}

/// Issue 13: every supervisor socket message, for every role. Dana holds a Support chat; Sam
/// leads the Support desk (Support, Bob, Dana), Sue the Sales floor (Sales, Alice); each frame
/// of the matrix goes to its socket as the admin, Sam, Sue and Bob.
#[tokio::test]
async fn every_supervisor_frame_answers_each_role_and_team_as_the_table_says() {
    let mut documented: BTreeSet<(String, String)> = client_frames("## `/ws/supervisor`")
        .into_iter()
        .map(|(kind, _)| ("/ws/supervisor".to_string(), kind))
        .collect();
    documented.extend(
        client_frames("## `/ws/agent`")
            .into_iter()
            .filter(|(_, fields)| fields.contains("(supervisors"))
            .map(|(kind, _)| ("/ws/agent".to_string(), kind)),
    );
    let listed: BTreeSet<(String, String)> = SUPERVISOR_MATRIX
        .iter()
        .filter(|(_, kind, ..)| *kind != ANY_OTHER)
        .map(|(socket, kind, ..)| (socket.to_string(), kind.to_string()))
        .collect();
    assert_eq!(
        documented, listed,
        "every supervisor frame docs/protocol.md lists needs a row, and every row a documented frame"
    );

    let (hub, _dir) = hub().await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, sue) = hub
        .call(
            "POST",
            "/agents",
            Some(&admin),
            Some(json!({"email": "sue@plugboard.example", "name": "Sue Park",
                "password": DEMO_PASSWORD, "role": "supervisor"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{sue}");
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    let mut people = Vec::new();
    for name in ["Sam Lee", "Bob Martin", "Dana Silva", "Alice Wong"] {
        people.push(id(&hub.named(&admin, "/agents", name).await.unwrap()));
    }
    let [sam, bob, dana, alice] = <[String; 4]>::try_from(people).unwrap();
    let support = id(&hub.named(&admin, "/queues", "Support").await.unwrap());
    let sales = id(&hub.named(&admin, "/queues", "Sales").await.unwrap());
    for team in [
        json!({"name": "Support desk", "leads": [sam], "members": [bob, dana], "queues": [support]}),
        json!({"name": "Sales floor", "leads": [id(&sue)], "members": [alice], "queues": [sales]}),
    ] {
        let (status, body) = hub
            .call("POST", "/teams", Some(&admin), Some(team))
            .await
            .unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let (_dana, _widget, chat) =
        accepted_chat(&hub, "dana@plugboard.example", "Ines", "ines@example.com", "hi").await;

    let mut tokens = Vec::new();
    for asker in ASKERS {
        let email = match asker {
            Asker::Admin => "admin@plugboard.example",
            Asker::Lead => "sam@plugboard.example",
            Asker::OtherLead => "sue@plugboard.example",
            Asker::Agent => "bob@plugboard.example",
        };
        tokens.push(hub.login(email, DEMO_PASSWORD).await.unwrap());
    }
    // Each asker's console, opened once: its answers come in the order of the rows.
    let mut consoles = Vec::new();
    for token in &tokens {
        consoles.push(hub.agent_with(token).await.unwrap());
    }

    let mut wrong = Vec::new();
    for (socket, kind, aim, expected) in SUPERVISOR_MATRIX {
        for (n, asker) in ASKERS.into_iter().enumerate() {
            let target = match aim {
                Aim::Chat => json!(chat),
                Aim::SignIn | Aim::Nothing => Value::Null,
            };
            let sent = if *kind == ANY_OTHER {
                "conversation.watch"
            } else {
                kind
            };
            let frame = json!({"type": sent, "interaction_id": target, "mode": "monitor"});
            let answer = match (*socket, aim) {
                ("/ws/supervisor", Aim::SignIn) => socket_answer(&hub, socket, Some(&tokens[n])).await,
                ("/ws/supervisor", _) => {
                    let mut board = Socket::connect(&hub.ws_url(socket)).await.unwrap();
                    board
                        .send(json!({"type": "auth", "token": tokens[n]}))
                        .await
                        .unwrap();
                    // The board answers a supervisor's sign-in at once; anyone else an error.
                    let first = board.recv_within(Duration::from_secs(5)).await.unwrap();
                    match first["type"].as_str() {
                        Some("queues") => {
                            board.send(frame).await.unwrap();
                            answer_of(&mut board, Duration::from_secs(1)).await
                        }
                        _ => first["code"].as_str().unwrap_or("nothing").to_string(),
                    }
                }
                _ => {
                    consoles[n].send(frame).await.unwrap();
                    answer_of(&mut consoles[n], Duration::from_secs(1)).await
                }
            };
            if answer != expected[n] {
                wrong.push(format!(
                    "{socket} {kind} ({aim:?}) as {asker:?}: {answer}, expected {}",
                    expected[n]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
