//! End to end: the real binary, one customer's widget and two agents' consoles, as users use them.

use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, accepted_chat, available, named, start_chat};
use serde_json::{Value, json};
use sqlx::Connection;
use std::time::Duration;

async fn hub() -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    (hub, dir)
}

/// Makes the Support queue's offers time out after `secs` seconds.
async fn set_offer_timeout(hub: &Hub, secs: u32) {
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut support = hub.named(&admin, "/queues", "Support").await.unwrap();
    support["offer_timeout_secs"] = json!(secs);
    let id = support["id"].as_str().unwrap().to_string();
    let (status, body) = hub
        .call("PUT", &format!("/queues/{id}"), Some(&admin), Some(support))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_chat_goes_to_the_longest_idle_agent_moves_on_when_missed_and_lands_on_the_timeline() {
    let (hub, _dir) = hub().await;
    set_offer_timeout(&hub, 2).await;
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    // Dana has been idle longer: she became available first.
    available(&mut dana).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    available(&mut bob).await;

    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(
        &mut widget,
        "Wang Fang",
        "Wang.Fang@Example.com",
        "Where is my parcel?",
    )
    .await;
    let interaction = started["interaction_id"].as_str().unwrap().to_string();
    assert_eq!(started["message"]["body"], "Where is my parcel?");

    // 1. Offered to Dana, with the screen pop.
    let offer = dana.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], interaction.as_str());
    assert_eq!(offer["card"]["customer"]["name"], "Wang Fang");
    // What the visitor typed is a claim beside the card, not the customer's email.
    assert_eq!(offer["card"]["customer"]["email"], Value::Null);
    assert_eq!(
        offer["card"]["customer"]["claimed"]["email"],
        "wang.fang@example.com"
    );
    assert_eq!(offer["preview"][0]["body"], "Where is my parcel?");
    assert!(
        bob.gets_within("offer", Duration::from_millis(300))
            .await
            .is_none(),
        "offered to two agents at once"
    );

    // 2. Dana lets it ring out: she is put on a break and it moves to Bob.
    let revoked = dana.expect("offer.revoked").await.unwrap();
    assert_eq!(revoked["reason"], "timed_out");
    let state = dana.expect("agent.state").await.unwrap();
    assert_eq!(
        (state["state"].as_str(), state["reason"].as_str()),
        (Some("break"), Some("missed offer"))
    );
    let offer = bob.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], interaction.as_str());

    // 3. Bob declines; nobody else is available, so it waits until Dana is back.
    bob.send(json!({"type": "offer.decline", "interaction_id": interaction}))
        .await
        .unwrap();
    assert_eq!(bob.expect("offer.revoked").await.unwrap()["reason"], "declined");
    available(&mut dana).await;
    let offer = dana.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], interaction.as_str());
    dana.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    let held = dana.expect("interaction.assigned").await.unwrap();
    assert_eq!(held["interaction"]["state"], "active");
    assert_eq!(held["messages"][0]["body"], "Where is my parcel?");
    assert_eq!(
        widget.expect("agent.joined").await.unwrap()["agent"]["name"],
        "Dana"
    );

    // 4. Messages both ways, each acked after commit, typing relayed.
    widget
        .send(json!({"type": "typing", "typing": true}))
        .await
        .unwrap();
    assert_eq!(dana.expect("typing").await.unwrap()["typing"], true);
    widget
        .send(json!({"type": "message", "client_id": "c1", "body": "Order 42, <b>urgent</b>"}))
        .await
        .unwrap();
    let ack = widget.expect("message.ack").await.unwrap();
    assert_eq!(
        (ack["client_id"].as_str(), ack["message"]["seq"].as_i64()),
        (Some("c1"), Some(2))
    );
    let got = dana.expect("message").await.unwrap();
    assert_eq!(
        got["message"]["body"], "Order 42, <b>urgent</b>",
        "stored and relayed verbatim, as text"
    );
    dana.send(json!({"type": "message", "interaction_id": interaction, "client_id": "a1", "body": "It ships today."}))
        .await
        .unwrap();
    assert_eq!(dana.expect("message.ack").await.unwrap()["message"]["seq"], 3);
    // Every console of Dana's (other tabs too) sees her own message.
    assert_eq!(dana.expect("message").await.unwrap()["message"]["seq"], 3);
    let reply = widget.expect("message").await.unwrap();
    assert_eq!(
        (
            reply["message"]["body"].as_str(),
            reply["message"]["sender"].as_str()
        ),
        (Some("It ships today."), Some("agent"))
    );

    // A resend of the same client id is acked again but stored once.
    widget
        .send(json!({"type": "message", "client_id": "c1", "body": "Order 42, <b>urgent</b>"}))
        .await
        .unwrap();
    assert_eq!(widget.expect("message.ack").await.unwrap()["message"]["seq"], 2);
    assert!(
        dana.gets_within("message", Duration::from_millis(300))
            .await
            .is_none(),
        "a resend was shown twice"
    );

    // Bob cannot write into Dana's chat.
    bob.send(json!({"type": "message", "interaction_id": interaction, "client_id": "x", "body": "hi"}))
        .await
        .unwrap();
    assert_eq!(bob.expect("error").await.unwrap()["code"], "forbidden");

    // 5. Dana ends and wraps up; the contact is on the customer's timeline.
    dana.send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    assert_eq!(
        dana.expect("interaction.updated").await.unwrap()["interaction"]["state"],
        "wrap_up"
    );
    widget.expect("ended").await.unwrap();
    dana.send(json!({"type": "wrap_up", "interaction_id": interaction, "disposition": "nope"}))
        .await
        .unwrap();
    assert_eq!(dana.expect("error").await.unwrap()["code"], "bad_request");
    dana.send(json!({"type": "wrap_up", "interaction_id": interaction, "disposition": "resolved", "note": "Shipping date given"}))
        .await
        .unwrap();
    assert_eq!(
        dana.expect("interaction.updated").await.unwrap()["interaction"]["state"],
        "closed"
    );

    let token = hub.login("dana@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, found) = hub
        .call("GET", "/customers?q=wang%20fang", Some(&token), None)
        .await
        .unwrap();
    let customer = found[0]["id"].as_str().unwrap().to_string();
    let (status, timeline) = hub
        .call(
            "GET",
            &format!("/customers/{customer}/timeline"),
            Some(&token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let entry = &timeline["entries"][0];
    assert_eq!(entry["interaction"]["state"], "closed");
    assert_eq!(entry["interaction"]["disposition"], "resolved");
    assert_eq!(entry["interaction"]["wrap_up_note"], "Shipping date given");
    let bodies: Vec<&str> = entry["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "Where is my parcel?",
            "Order 42, <b>urgent</b>",
            "It ships today."
        ]
    );
    let events: Vec<&str> = entry["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "interaction.queued",
            "interaction.offered",
            "interaction.offer_timed_out",
            "interaction.offered",
            "interaction.declined",
            "interaction.offered",
            "interaction.accepted",
            "interaction.ended",
            "interaction.wrapped_up"
        ]
    );
}

#[tokio::test]
async fn the_widget_resumes_its_conversation_and_nothing_else() {
    let (hub, _dir) = hub().await;
    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(&mut widget, "Ana", "ana@example.com", "first").await;
    let token = started["token"].as_str().unwrap().to_string();
    widget
        .send(json!({"type": "message", "client_id": "m2", "body": "second"}))
        .await
        .unwrap();
    widget.expect("message.ack").await.unwrap();
    drop(widget);

    // A reload: resume with the token, asking for what came after seq 1.
    let mut again = hub.widget().await.unwrap();
    again
        .send(json!({"type": "hello", "token": token, "after": 1}))
        .await
        .unwrap();
    let resumed = again.expect("resumed").await.unwrap();
    assert_eq!(resumed["state"], "queued");
    let bodies: Vec<&str> = resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["second"]);

    // A made-up token opens nothing.
    let mut stranger = hub.widget().await.unwrap();
    stranger
        .send(json!({"type": "hello", "token": "not-a-token"}))
        .await
        .unwrap();
    assert_eq!(stranger.expect("ready").await.unwrap()["agents_available"], false);
    stranger
        .send(json!({"type": "message", "client_id": "z", "body": "hello?"}))
        .await
        .unwrap();
    assert_eq!(stranger.expect("error").await.unwrap()["code"], "bad_request");

    // The customer leaves while queued: the interaction is abandoned.
    again.send(json!({"type": "leave"})).await.unwrap();
    again.expect("ended").await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let id = started["interaction_id"].as_str().unwrap();
    let (_, detail) = hub
        .call("GET", &format!("/interactions/{id}"), Some(&admin), None)
        .await
        .unwrap();
    assert_eq!(detail["interaction"]["state"], "abandoned");
    assert!(detail["events"].as_array().unwrap().last().unwrap()["data"]["wait_ms"].is_i64());
}

#[tokio::test]
async fn with_nobody_available_the_widget_takes_an_offline_message_into_the_queue() {
    let (hub, _dir) = hub().await;
    let mut widget = hub.widget().await.unwrap();
    widget
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    assert_eq!(widget.expect("ready").await.unwrap()["agents_available"], false);
    widget
        .send(json!({"type": "start", "name": "Night Owl", "email": "owl@example.com", "offline": true, "message": "Call me back tomorrow"}))
        .await
        .unwrap();
    let started = widget.expect("started").await.unwrap();
    assert_eq!(started["offline"], true);

    // Supervisors see it waiting.
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, live) = hub.call("GET", "/queues/stats", Some(&sam), None).await.unwrap();
    let support = named(&live["queues"], "Support");
    assert_eq!(
        (support["waiting"].as_u64(), support["agents_available"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(support["oldest_wait_ms"].as_i64().unwrap() >= 0);

    // It waits in the queue and is offered once someone comes in.
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let offer = bob.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["offline"], true);
    assert_eq!(offer["preview"][0]["body"], "Call me back tomorrow");
}

#[tokio::test]
async fn bad_input_gets_an_error_and_hurts_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_HTTP__METRICS_LISTEN", "127.0.0.1:0")])
        .await
        .unwrap();
    let (mut bob, mut widget, interaction) =
        accepted_chat(&hub, "bob@plugboard.example", "Eve", "eve@example.com", "hi").await;

    // Malformed JSON, unknown types, missing fields: an error frame, the socket lives on.
    widget.send_text("{not json".into()).await.unwrap();
    assert_eq!(widget.expect("error").await.unwrap()["code"], "bad_request");
    widget.send(json!({"type": "launch_missiles"})).await.unwrap();
    assert_eq!(widget.expect("error").await.unwrap()["code"], "bad_request");
    bob.send(json!({"type": "message", "interaction_id": interaction}))
        .await
        .unwrap();
    assert_eq!(bob.expect("error").await.unwrap()["code"], "bad_request");

    // Over 64 KiB: refused with a clear error, carrying the client id.
    let huge = "x".repeat(64 * 1024 + 1);
    widget
        .send(json!({"type": "message", "client_id": "big", "body": huge}))
        .await
        .unwrap();
    let error = widget.expect("error").await.unwrap();
    assert_eq!(
        (error["code"].as_str(), error["ref"].as_str()),
        (Some("too_large"), Some("big"))
    );

    // And everything still works for both.
    widget
        .send(json!({"type": "message", "client_id": "ok", "body": "<script>alert(1)</script>"}))
        .await
        .unwrap();
    widget.expect("message.ack").await.unwrap();
    assert_eq!(
        bob.expect("message").await.unwrap()["message"]["body"],
        "<script>alert(1)</script>"
    );

    // What happened shows in the Prometheus metrics, on their own listener only.
    let public = reqwest::get(format!("{}/metrics", hub.base)).await.unwrap();
    assert_eq!(public.status(), 404);
    let metrics = reqwest::get(hub.metrics.as_deref().expect("no metrics listener"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("plugboard_messages_total{sender=\"customer\"}"),
        "{metrics}"
    );

    // An agent socket that does not authenticate first is turned away.
    let mut anonymous = Socket::connect(&hub.ws_url("/ws/agent")).await.unwrap();
    anonymous
        .send(json!({"type": "state.set", "state": "available"}))
        .await
        .unwrap();
    assert_eq!(anonymous.expect("error").await.unwrap()["code"], "unauthorized");
}

#[tokio::test]
async fn rest_refuses_strangers_and_the_wrong_role() {
    let (hub, _dir) = hub().await;
    assert_eq!(hub.call("GET", "/queues", None, None).await.unwrap().0, 401);
    assert_eq!(
        hub.call("GET", "/queues", Some("forged"), None).await.unwrap().0,
        401
    );
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    assert_eq!(hub.call("GET", "/queues", Some(&bob), None).await.unwrap().0, 200);
    let (status, body) = hub
        .call("POST", "/queues", Some(&bob), Some(json!({"name": "Mine"})))
        .await
        .unwrap();
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(hub.call("GET", "/agents", Some(&bob), None).await.unwrap().0, 403);
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    assert_eq!(hub.call("GET", "/agents", Some(&sam), None).await.unwrap().0, 200);
    assert_eq!(
        hub.call("GET", "/queues/stats", Some(&sam), None)
            .await
            .unwrap()
            .0,
        200
    );
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, body) = hub
        .call("POST", "/queues", Some(&admin), Some(json!({"name": 7})))
        .await
        .unwrap();
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    let (status, _) = hub
        .call("POST", "/queues", Some(&admin), Some(json!({"name": "Billing"})))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, body) = hub
        .call("POST", "/queues", Some(&admin), Some(json!({"name": "Billing"})))
        .await
        .unwrap();
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    let (status, openapi) = hub.call("GET", "/openapi.json", None, None).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        openapi["paths"]["/api/v1/customers/{id}/timeline"].is_object(),
        "{}",
        openapi["paths"]
    );
}

#[tokio::test]
async fn login_attempts_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "5")])
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let body = json!({"email": "bob@plugboard.example", "password": "guess-guess"});
        statuses.push(hub.call("POST", "/auth/login", None, Some(body)).await.unwrap().0);
    }
    assert_eq!(statuses[..5], [401; 5]);
    assert_eq!(statuses[5..], [429; 2]);
}

#[tokio::test]
async fn a_waiting_chat_whose_visitor_closed_the_tab_is_abandoned_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_CHAT__ABANDON_AFTER_SECS", "1")])
        .await
        .unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let state = |id: String| {
        let (hub, admin) = (&hub, &admin);
        async move {
            let (_, detail) = hub
                .call("GET", &format!("/interactions/{id}"), Some(admin), None)
                .await
                .unwrap();
            detail["interaction"]["state"].as_str().unwrap().to_string()
        }
    };

    // One visitor reloads within the grace period: the chat keeps its place.
    let mut stays = hub.widget().await.unwrap();
    let kept = start_chat(&mut stays, "Stays", "stays@example.com", "hello").await;
    let token = kept["token"].as_str().unwrap().to_string();
    drop(stays);
    let mut back = hub.widget().await.unwrap();
    back.send(json!({"type": "hello", "token": token})).await.unwrap();
    back.expect("resumed").await.unwrap();

    // Another closes the tab for good.
    let mut gone = hub.widget().await.unwrap();
    let left = start_chat(&mut gone, "Gone", "gone@example.com", "hello?").await;
    drop(gone);

    let left = left["interaction_id"].as_str().unwrap().to_string();
    let mut abandoned = false;
    for _ in 0..100 {
        if state(left.clone()).await == "abandoned" {
            abandoned = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(abandoned, "the chat of a visitor who left is still waiting");
    assert_eq!(
        state(kept["interaction_id"].as_str().unwrap().to_string()).await,
        "queued"
    );
}

#[tokio::test]
async fn a_console_that_reconnects_catches_up_on_what_it_missed() {
    let (hub, _dir) = hub().await;
    let (bob, mut widget, interaction) =
        accepted_chat(&hub, "bob@plugboard.example", "Kim", "kim@example.com", "first").await;

    // Bob's network drops; the customer writes meanwhile.
    drop(bob);
    widget
        .send(json!({"type": "message", "client_id": "while-away", "body": "are you there?"}))
        .await
        .unwrap();
    widget.expect("message.ack").await.unwrap();

    // The reconnected console's snapshot has the chat, its messages and his state.
    let token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut again = Socket::connect(&hub.ws_url("/ws/agent")).await.unwrap();
    again.send(json!({"type": "auth", "token": token})).await.unwrap();
    let snapshot = again.expect("snapshot").await.unwrap();
    assert_eq!(snapshot["state"]["state"], "available");
    let held = &snapshot["interactions"][0];
    assert_eq!(held["interaction"]["id"], interaction.as_str());
    let bodies: Vec<&str> = held["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["first", "are you there?"]);
    assert_eq!(held["card"]["customer"]["name"], "Kim");
}

#[tokio::test]
async fn the_agent_sees_lines_typed_while_the_offer_rings_and_when_the_customer_leaves_the_page() {
    let (hub, _dir) = hub().await;
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(&mut widget, "Ola", "ola@example.com", "hi").await;
    let token = started["token"].as_str().unwrap().to_string();
    let interaction = started["interaction_id"].as_str().unwrap().to_string();
    bob.expect("offer").await.unwrap();

    // While it rings, the customer adds a line: it reaches Bob's offer.
    widget
        .send(json!({"type": "message", "client_id": "more", "body": "it's about a refund"}))
        .await
        .unwrap();
    assert_eq!(
        bob.expect("message").await.unwrap()["message"]["body"],
        "it's about a refund"
    );

    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    let held = bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(held["customer_online"], true);

    // The customer closes the page, then comes back.
    drop(widget);
    let away = bob.expect("customer.presence").await.unwrap();
    assert_eq!(
        (away["interaction_id"].as_str(), away["online"].as_bool()),
        (Some(interaction.as_str()), Some(false))
    );
    let mut back = hub.widget().await.unwrap();
    back.send(json!({"type": "hello", "token": token})).await.unwrap();
    back.expect("resumed").await.unwrap();
    assert_eq!(bob.expect("customer.presence").await.unwrap()["online"], true);
}

#[tokio::test]
async fn an_agent_transfers_a_chat_to_another_queue_and_it_keeps_its_place() {
    let (hub, _dir) = hub().await;
    let mut alice = hub.agent("alice@plugboard.example").await.unwrap();
    available(&mut alice).await;
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(&mut widget, "Lee", "lee@example.com", "I'd like to buy 50 seats").await;
    let interaction = started["interaction_id"].as_str().unwrap().to_string();
    let offer = bob.expect("offer").await.unwrap();
    let arrived_at = offer["interaction"]["arrived_at"].clone();
    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(
        widget.expect("agent.joined").await.unwrap()["agent"]["name"],
        "Bob"
    );

    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let sales = hub.named(&admin, "/queues", "Sales").await.unwrap()["id"].clone();

    // Alice can't move Bob's chat; Bob can.
    alice
        .send(json!({"type": "interaction.transfer", "interaction_id": interaction, "queue_id": sales}))
        .await
        .unwrap();
    assert_eq!(alice.expect("error").await.unwrap()["code"], "forbidden");
    bob.send(json!({"type": "interaction.transfer", "interaction_id": interaction, "queue_id": sales}))
        .await
        .unwrap();
    let updated = bob.expect("interaction.updated").await.unwrap();
    assert_eq!(updated["interaction"]["state"], "queued");

    // Sales' agent is offered it with its original arrival time and the whole conversation.
    let offer = alice.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], interaction.as_str());
    assert_eq!(offer["interaction"]["queue_id"], sales);
    assert_eq!(offer["interaction"]["arrived_at"], arrived_at);
    assert_eq!(offer["preview"][0]["body"], "I'd like to buy 50 seats");
    alice
        .send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    alice.expect("interaction.assigned").await.unwrap();
    assert_eq!(
        widget.expect("agent.joined").await.unwrap()["agent"]["name"],
        "Alice"
    );

    let (_, detail) = hub
        .call("GET", &format!("/interactions/{interaction}"), Some(&admin), None)
        .await
        .unwrap();
    let transferred = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "interaction.transferred")
        .unwrap();
    assert_eq!(transferred["data"]["to"], sales);
}

#[tokio::test]
async fn an_agent_transfers_a_chat_to_a_named_colleague() {
    let (hub, _dir) = hub().await;
    let (mut bob, _widget, interaction) = accepted_chat(
        &hub,
        "bob@plugboard.example",
        "Kim",
        "kim@example.com",
        "Invoice question",
    )
    .await;
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let alice_id = hub.named(&admin, "/agents", "Alice Wong").await.unwrap()["id"].clone();
    // Alice (Sales) is not Available yet: she is not listed, and a transfer to her is refused.
    let (_, listed) = hub
        .call("GET", "/colleagues", Some(&bob_token), None)
        .await
        .unwrap();
    assert!(!listed.to_string().contains("Alice Wong"), "{listed}");
    let to_alice =
        json!({"type": "interaction.transfer", "interaction_id": interaction, "agent_id": alice_id});
    bob.send(to_alice.clone()).await.unwrap();
    assert_eq!(bob.expect("error").await.unwrap()["code"], "invalid_state");

    // Once she is, Bob picks her by name: she is offered the Support chat though she is Sales.
    let mut alice = hub.agent("alice@plugboard.example").await.unwrap();
    available(&mut alice).await;
    let (_, listed) = hub
        .call("GET", "/colleagues", Some(&bob_token), None)
        .await
        .unwrap();
    assert!(listed.to_string().contains("Alice Wong"), "{listed}");
    bob.send(to_alice).await.unwrap();
    assert_eq!(
        bob.expect("interaction.updated").await.unwrap()["interaction"]["state"],
        "queued"
    );
    let offer = alice.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], interaction.as_str());
    assert_eq!(offer["preview"][0]["body"], "Invoice question");
}

#[tokio::test]
async fn an_admin_gives_an_agent_a_sip_phone_and_only_its_digests_are_kept() {
    let (hub, _dir) = hub().await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob_id = hub.named(&admin, "/agents", "Bob Martin").await.unwrap()["id"].clone();
    let phone = json!({"agent_id": bob_id, "username": "bob-desk", "password": "phone-secret-1"});

    assert_eq!(
        hub.call("POST", "/phones", Some(&bob), Some(phone.clone()))
            .await
            .unwrap()
            .0,
        403
    );
    let (status, created) = hub
        .call("POST", "/phones", Some(&admin), Some(phone.clone()))
        .await
        .unwrap();
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        (created["username"].as_str(), created["realm"].as_str()),
        (Some("bob-desk"), Some("plugboard"))
    );
    assert!(!created.to_string().contains("phone-secret-1") && !created.to_string().contains("ha1"));
    assert_eq!(
        hub.call("POST", "/phones", Some(&admin), Some(phone))
            .await
            .unwrap()
            .0,
        409
    );
    let bad = json!({"agent_id": bob_id, "username": "bob desk<>", "password": "phone-secret-1"});
    assert_eq!(
        hub.call("POST", "/phones", Some(&admin), Some(bad))
            .await
            .unwrap()
            .0,
        400
    );
    let nobody = json!({"agent_id": "01a2025c-0000-7000-8000-000000000000", "username": "x", "password": "phone-secret-1"});
    assert_eq!(
        hub.call("POST", "/phones", Some(&admin), Some(nobody))
            .await
            .unwrap()
            .0,
        400
    );

    let (_, listed) = hub.call("GET", "/phones", Some(&admin), None).await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        hub.call("DELETE", &format!("/phones/{id}"), Some(&admin), None)
            .await
            .unwrap()
            .0,
        204
    );
    assert_eq!(
        hub.call("DELETE", &format!("/phones/{id}"), Some(&admin), None)
            .await
            .unwrap()
            .0,
        404
    );
}

/// Issue 11: 300 messages of 64 KiB in 650 ms made a 19.7 MB offer. A visitor's messages are
/// limited per conversation per minute and in total size, each refusal naming its message, and
/// the offer carries the latest few lines and a count of the rest.
#[tokio::test]
async fn a_visitor_flooding_a_chat_is_held_back_and_the_offer_carries_only_the_latest_lines() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PLUGBOARD_CHAT__MESSAGES_PER_MINUTE", "12"),
        ("PLUGBOARD_CHAT__MAX_CONVERSATION_BYTES", "4096"),
    ];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let mut widget = hub.widget().await.unwrap();
    start_chat(&mut widget, "Flo", "flo@example.com", "first").await;
    let mut send = async |client_id: String, bytes: usize| -> Value {
        let body = "x".repeat(bytes);
        widget
            .send(json!({"type": "message", "client_id": client_id, "body": body}))
            .await
            .unwrap();
        loop {
            let frame = widget.recv().await.unwrap();
            if frame["type"] == "message.ack" || frame["type"] == "error" {
                return frame;
            }
        }
    };
    for n in 0..9 {
        assert_eq!(send(format!("s{n}"), 100).await["type"], "message.ack");
    }
    // 5 + 900 + 3,000 bytes: within the 4,096 the conversation may hold.
    assert_eq!(send("big".into(), 3_000).await["type"], "message.ack");
    let full = send("over".into(), 300).await;
    assert_eq!(
        (full["code"].as_str(), full["ref"].as_str()),
        (Some("too_large"), Some("over")),
        "{full}"
    );
    assert_eq!(send("fits".into(), 50).await["type"], "message.ack");
    // The 13th message within the minute.
    let limited = send("fast".into(), 10).await;
    assert_eq!(
        (limited["code"].as_str(), limited["ref"].as_str()),
        (Some("rate_limited"), Some("fast")),
        "{limited}"
    );

    // Twelve lines are stored (the first, nine short, the big one, the one that fit): the offer
    // shows the last five and says seven came before.
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let offer = bob.expect("offer").await.unwrap();
    let preview: Vec<&str> = offer["preview"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(preview, ["s6", "s7", "s8", "big", "fits"]);
    assert_eq!(offer["earlier_messages"], 7);
}

/// A frame over the documented 64 KiB is refused whole (not only its body), with its client id;
/// one past the hard cap is not read at all and the socket closes with 1009.
#[tokio::test]
async fn frames_over_64_kib_are_refused_and_past_the_cap_the_socket_closes_with_1009() {
    let (hub, _dir) = hub().await;
    let mut widget = hub.widget().await.unwrap();
    start_chat(&mut widget, "Ivy", "ivy@example.com", "hi").await;
    let padded =
        json!({"type": "message", "client_id": "padded", "body": "short", "pad": "p".repeat(70_000)});
    widget.send(padded).await.unwrap();
    let error = widget.expect("error").await.unwrap();
    assert_eq!(
        (error["code"].as_str(), error["ref"].as_str()),
        (Some("too_large"), Some("padded")),
        "{error}"
    );
    widget
        .send(json!({"type": "message", "client_id": "ok", "body": "still here"}))
        .await
        .unwrap();
    widget.expect("message.ack").await.unwrap();

    let mut agent = Socket::connect(&hub.ws_url("/ws/agent")).await.unwrap();
    let huge = json!({"type": "auth", "token": "t".repeat(10 * 1024 * 1024)}).to_string();
    let _ = tokio::time::timeout(Duration::from_secs(5), agent.send_text(huge)).await;
    assert_eq!(agent.close_code(WAIT_CLOSE).await.unwrap(), Some(1009));
}

/// A session that runs out while its console is open: the console is told and closed when it
/// ends (an agent's socket used to go on until something else made it check), and the token
/// opens nothing after. The session is made to end two seconds from now in the database, as
/// `auth.session_hours` would have it end hours later.
#[tokio::test]
async fn an_expiring_session_ends_its_open_console_at_once() {
    let (hub, _dir) = hub().await;
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let url = format!("sqlite://{}", hub.data_dir.join("plugboard.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let ends_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 2_000;
    let changed = sqlx::query(
        "UPDATE sessions SET expires_at = ? WHERE agent_id = (SELECT id FROM agents WHERE email = ?)",
    )
    .bind(ends_at)
    .bind("bob@plugboard.example")
    .execute(&mut db)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(changed, 1);
    let mut console = Socket::connect(&hub.ws_url("/ws/agent")).await.unwrap();
    console.send(json!({"type": "auth", "token": bob})).await.unwrap();
    console.expect("snapshot").await.unwrap();
    let told = console
        .gets_within("error", Duration::from_secs(5))
        .await
        .expect("the console went on past its session's end");
    assert_eq!(told["code"], "unauthorized");
    assert_eq!(console.close_code(WAIT_CLOSE).await.unwrap(), Some(1008));
    assert_eq!(hub.call("GET", "/me", Some(&bob), None).await.unwrap().0, 401);
}
/// Issue 11: logging out left the console's socket working, a demoted supervisor kept their
/// live figures, and a new password left old sessions valid.
#[tokio::test]
async fn logging_out_demoting_and_a_new_password_end_open_sockets_at_once() {
    let (hub, _dir) = hub().await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let console = async |token: &str, path: &str| {
        let mut socket = Socket::connect(&hub.ws_url(path)).await.unwrap();
        socket
            .send(json!({"type": "auth", "token": token}))
            .await
            .unwrap();
        socket
    };

    // Bob logs out: the console open on that session is told and closed.
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut bob_console = console(&bob, "/ws/agent").await;
    bob_console.expect("snapshot").await.unwrap();
    assert_eq!(
        hub.call("POST", "/auth/logout", Some(&bob), None)
            .await
            .unwrap()
            .0,
        204
    );
    let told = bob_console
        .gets_within("error", WAIT_CLOSE)
        .await
        .expect("no error frame");
    assert_eq!(told["code"], "unauthorized");
    assert_eq!(bob_console.close_code(WAIT_CLOSE).await.unwrap(), Some(1008));

    // Sam is made an agent: his supervisor stream ends.
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut wallboard = console(&sam, "/ws/supervisor").await;
    wallboard.expect("queues").await.unwrap();
    let sam_id = hub.named(&admin, "/agents", "Sam Lee").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = hub
        .call(
            "PATCH",
            &format!("/agents/{sam_id}"),
            Some(&admin),
            Some(json!({"role": "agent"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let told = wallboard
        .gets_within("error", WAIT_CLOSE)
        .await
        .expect("the stream went on");
    assert_eq!(told["code"], "forbidden");
    assert_eq!(wallboard.close_code(WAIT_CLOSE).await.unwrap(), Some(1008));

    // Dana's password is changed: her other sessions end, REST and sockets alike.
    let dana = hub.login("dana@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let laptop = hub.login("dana@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut dana_console = console(&dana, "/ws/agent").await;
    dana_console.expect("snapshot").await.unwrap();
    let dana_id = hub.named(&admin, "/agents", "Dana Silva").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = hub
        .call(
            "PATCH",
            &format!("/agents/{dana_id}"),
            Some(&admin),
            Some(json!({"password": "a-new-password"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let told = dana_console
        .gets_within("error", WAIT_CLOSE)
        .await
        .expect("no error frame");
    assert_eq!(told["code"], "unauthorized");
    assert_eq!(dana_console.close_code(WAIT_CLOSE).await.unwrap(), Some(1008));
    assert_eq!(hub.call("GET", "/me", Some(&laptop), None).await.unwrap().0, 401);
    assert!(hub.login("dana@plugboard.example", DEMO_PASSWORD).await.is_err());
    hub.login("dana@plugboard.example", "a-new-password")
        .await
        .unwrap();
    // The admin's own session was not theirs to lose.
    assert_eq!(hub.call("GET", "/me", Some(&admin), None).await.unwrap().0, 200);
}

#[tokio::test]
async fn an_admin_ends_a_users_sessions_and_a_deactivated_user_is_out_at_once() {
    let (hub, _dir) = hub().await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob_id = hub.named(&admin, "/agents", "Bob Martin").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sessions = format!("/agents/{bob_id}/sessions");

    // Bob on two machines: the admin sees both, when and where from, never a token.
    let desk = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let laptop = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, list) = hub.call("GET", &sessions, Some(&admin), None).await.unwrap();
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["client_addr"], "127.0.0.1");
    assert!(list[0]["created_at"].as_i64().unwrap() > 0);
    assert!(list[0]["last_seen_at"].as_i64().unwrap() >= list[0]["created_at"].as_i64().unwrap());
    let text = serde_json::to_string(&list).unwrap();
    assert!(!text.contains(&desk) && !text.contains(&laptop) && !text.contains("token"));
    // Only an admin may look.
    assert_eq!(
        hub.call("GET", &sessions, Some(&desk), None).await.unwrap().0,
        403
    );

    // One ended by its id: its console closes, the other session carries on.
    let mut console = hub.agent_with(&laptop).await.unwrap();
    let newest = list[0]["id"].as_str().unwrap();
    let (status, _) = hub
        .call("DELETE", &format!("{sessions}/{newest}"), Some(&admin), None)
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert_eq!(console.close_code(WAIT_CLOSE).await.unwrap(), Some(1008));
    assert_eq!(hub.call("GET", "/me", Some(&laptop), None).await.unwrap().0, 401);
    assert_eq!(hub.call("GET", "/me", Some(&desk), None).await.unwrap().0, 200);
    // All of them.
    assert_eq!(
        hub.call("DELETE", &sessions, Some(&admin), None).await.unwrap().0,
        204
    );
    assert_eq!(hub.call("GET", "/me", Some(&desk), None).await.unwrap().0, 401);
    assert_eq!(
        hub.call("GET", &sessions, Some(&admin), None).await.unwrap().1,
        json!([])
    );

    // Bob is handling a chat and Dana is available when an admin deactivates Bob.
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    dana.send(json!({"type": "state.set", "state": "break"}))
        .await
        .unwrap();
    dana.expect("agent.state").await.unwrap();
    let (mut bob, mut widget, interaction) = accepted_chat(
        &hub,
        "bob@plugboard.example",
        "Ana Ruiz",
        "ana@example.com",
        "Hello?",
    )
    .await;
    available(&mut dana).await;
    let (status, deactivated) = hub
        .call(
            "POST",
            &format!("/agents/{bob_id}/deactivate"),
            Some(&admin),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{deactivated}");
    assert_eq!(deactivated["active"], false);
    let told = bob
        .gets_within("error", WAIT_CLOSE)
        .await
        .expect("no error frame");
    assert_eq!(told["code"], "unauthorized");
    assert_eq!(bob.close_code(WAIT_CLOSE).await.unwrap(), Some(1008));
    // The chat he held goes back to the queue and on to Dana, its history intact.
    let offer = dana.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], interaction.as_str());
    dana.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    dana.expect("interaction.assigned").await.unwrap();
    widget
        .send(json!({"type": "message", "body": "Still there?", "client_id": "c1"}))
        .await
        .unwrap();
    assert_eq!(
        dana.expect("message").await.unwrap()["message"]["body"],
        "Still there?"
    );

    // He cannot log in, and is told why; he is still listed, and no admin can lock themselves out.
    let (status, refused) = hub
        .call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"email": "bob@plugboard.example", "password": DEMO_PASSWORD})),
        )
        .await
        .unwrap();
    assert_eq!((status, refused["code"].as_str()), (403, Some("deactivated")));
    let (status, wrong) = hub
        .call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"email": "bob@plugboard.example", "password": "not his password"})),
        )
        .await
        .unwrap();
    assert_eq!((status, wrong["code"].as_str()), (401, Some("unauthorized")));
    let listed = hub.named(&admin, "/agents", "Bob Martin").await.unwrap();
    assert_eq!(listed["active"], false);
    let admin_id = hub.call("GET", "/me", Some(&admin), None).await.unwrap().1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = hub
        .call(
            "POST",
            &format!("/agents/{admin_id}/deactivate"),
            Some(&admin),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 409);

    // Reactivated, he logs in again.
    let (status, back) = hub
        .call(
            "POST",
            &format!("/agents/{bob_id}/reactivate"),
            Some(&admin),
            None,
        )
        .await
        .unwrap();
    assert_eq!((status, back["active"].as_bool()), (200, Some(true)));
    hub.agent("bob@plugboard.example").await.unwrap();
}

const WAIT_CLOSE: Duration = Duration::from_secs(5);

/// Issue 11: a blank name, a 900 KB name and 50,000 tags were all stored.
#[tokio::test]
async fn customer_fields_refuse_blank_names_and_oversized_values() {
    let (hub, _dir) = hub().await;
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, found) = hub
        .call("GET", "/customers?q=Maria", Some(&bob), None)
        .await
        .unwrap();
    let id = found[0]["id"].as_str().unwrap().to_string();
    let path = format!("/customers/{id}");
    let tags: Vec<String> = (0..50_000).map(|n| format!("t{n}")).collect();
    for (what, patch) in [
        ("a blank name", json!({"name": "   "})),
        ("a 900 KB name", json!({"name": "n".repeat(900 * 1024)})),
        ("50,000 tags", json!({"tags": tags})),
        ("a 1 KB tag", json!({"tags": ["t".repeat(1024)]})),
        ("a 1 KB tier", json!({"tier": "g".repeat(1024)})),
    ] {
        let (status, body) = hub.call("PATCH", &path, Some(&bob), Some(patch)).await.unwrap();
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_request")),
            "{what}: {body}"
        );
    }
    let (status, customer) = hub
        .call(
            "PATCH",
            &path,
            Some(&bob),
            Some(json!({"name": "Maria García", "tags": ["vip"]})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{customer}");
    assert_eq!(customer["name"], "Maria García");
}

/// Issue 11: an ended chat's widget token replayed the whole transcript for ever. Within the
/// grace period a reload still shows it; after, the token opens nothing.
#[tokio::test]
async fn an_ended_chats_token_stops_opening_it_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_CHAT__TOKEN_GRACE_SECS", "1")])
        .await
        .unwrap();
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(&mut widget, "Gus", "gus@example.com", "my secret order").await;
    let (token, interaction) = (
        started["token"].as_str().unwrap().to_string(),
        started["interaction_id"].as_str().unwrap().to_string(),
    );
    bob.expect("offer").await.unwrap();
    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();
    bob.send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    widget.expect("ended").await.unwrap();
    let hello = json!({"type": "hello", "token": token});
    let mut reload = hub.widget().await.unwrap();
    reload.send(hello.clone()).await.unwrap();
    assert_eq!(reload.expect("resumed").await.unwrap()["state"], "wrap_up");

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut later = hub.widget().await.unwrap();
    later.send(hello).await.unwrap();
    let answer = later.recv().await.unwrap();
    assert_eq!(answer["type"], "ready", "the transcript was replayed: {answer}");
}

/// Issue 11: `/ws/chat` had no hello or idle timeout. A socket that never says hello is closed;
/// so is one that stops answering pings; one that reads stays.
#[tokio::test]
async fn a_widget_socket_that_never_says_hello_or_stops_answering_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PLUGBOARD_CHAT__HELLO_TIMEOUT_SECS", "1"),
        ("PLUGBOARD_CHAT__IDLE_TIMEOUT_SECS", "3"),
    ];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let mut silent = hub.widget().await.unwrap();
    assert_eq!(silent.close_code(WAIT_CLOSE).await.unwrap(), Some(1008));

    let hello = json!({"type": "hello", "queue": "Support"});
    let mut asleep = hub.widget().await.unwrap();
    asleep.send(hello.clone()).await.unwrap();
    asleep.expect("ready").await.unwrap();
    let mut awake = hub.widget().await.unwrap();
    awake.send(hello.clone()).await.unwrap();
    awake.expect("ready").await.unwrap();
    // `awake` reads (its client answers the hub's pings); `asleep` reads nothing meanwhile.
    assert!(
        awake
            .gets_within("nothing", Duration::from_secs(5))
            .await
            .is_none()
    );
    // Closed (whether its close frame is read before the client trips over its unsent pongs).
    asleep
        .close_code(WAIT_CLOSE)
        .await
        .expect("an idle socket stayed open");
    awake.send(hello).await.unwrap();
    awake.expect("ready").await.unwrap();
}

/// Issue 11's socket timeouts, for the consoles as for the widget (each a setting): a console
/// socket that never sends `auth` is closed; so is a signed-in one that stops answering pings;
/// one that reads stays.
#[tokio::test]
async fn a_console_socket_that_never_signs_in_or_stops_answering_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PLUGBOARD_HTTP__CONSOLE_AUTH_TIMEOUT_SECS", "1"),
        ("PLUGBOARD_HTTP__CONSOLE_IDLE_TIMEOUT_SECS", "3"),
    ];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    for path in ["/ws/agent", "/ws/supervisor"] {
        let mut silent = Socket::connect(&hub.ws_url(path)).await.unwrap();
        assert_eq!(silent.close_code(WAIT_CLOSE).await.unwrap(), Some(1008), "{path}");
    }
    let mut asleep = hub.agent("bob@plugboard.example").await.unwrap();
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut board = Socket::connect(&hub.ws_url("/ws/supervisor")).await.unwrap();
    board.send(json!({"type": "auth", "token": sam})).await.unwrap();
    board.expect("queues").await.unwrap();
    let mut awake = hub.agent("dana@plugboard.example").await.unwrap();
    // `awake` reads (its client answers the hub's pings); the others read nothing meanwhile.
    assert!(
        awake
            .gets_within("nothing", Duration::from_secs(5))
            .await
            .is_none()
    );
    for (who, socket) in [("bob", &mut asleep), ("sam", &mut board)] {
        socket
            .close_code(WAIT_CLOSE)
            .await
            .unwrap_or_else(|e| panic!("{who}'s idle console stayed open: {e}"));
    }
    available(&mut awake).await;
}

/// Issue 11: any agent could download any call's recording.
#[tokio::test]
async fn only_the_agent_who_handled_a_contact_and_supervisors_may_fetch_its_recording() {
    let (hub, _dir) = hub().await;
    let (_bob, _widget, interaction) =
        accepted_chat(&hub, "bob@plugboard.example", "Hal", "hal@example.com", "hi").await;
    let path = format!("/interactions/{interaction}/recording");
    for (who, want) in [("dana", 403), ("bob", 404), ("sam", 404), ("admin", 404)] {
        let token = hub
            .login(&format!("{who}@plugboard.example"), DEMO_PASSWORD)
            .await
            .unwrap();
        let (status, body) = hub.call("GET", &path, Some(&token), None).await.unwrap();
        assert_eq!(status, want, "{who}: {body}");
    }
}

/// Issue 11: a visitor who typed someone else's email was attached to that customer (their
/// history beside the impostor's chat, the impostor's phone added to them for good). What a
/// visitor types is now a claim the agent sees; a site's signed user is the customer.
#[tokio::test]
async fn a_typed_email_is_only_a_claim_and_a_signed_user_is_the_customer() {
    const SECRET: &str = "widget-secret-for-support";
    const MARIA: &str = "maria.garcia@example.com";
    let dir = tempfile::tempdir().unwrap();
    let env = [("PLUGBOARD_CHAT__IDENTITY_SECRETS__SUPPORT", SECRET)];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, found) = hub
        .call("GET", &format!("/customers?q={MARIA}"), Some(&token), None)
        .await
        .unwrap();
    let maria = found[0].clone();
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    let mut impostor = hub.widget().await.unwrap();
    impostor
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    impostor.expect("ready").await.unwrap();
    let start = json!({"type": "start", "name": "Maria Garcia", "email": MARIA,
        "phone": "+1 415 555 0123", "message": "What is my address on file?"});
    impostor.send(start).await.unwrap();
    let started = impostor.expect("started").await.unwrap();
    let offer = bob.expect("offer").await.unwrap();
    let card = &offer["card"];
    assert_ne!(
        card["customer"]["id"], maria["id"],
        "attached to the real customer"
    );
    assert_eq!(card["customer"]["email"], Value::Null);
    assert_eq!(
        card["customer"]["claimed"],
        json!({"email": MARIA, "phone": "+14155550123"})
    );
    assert_eq!(
        card["recent"].as_array().unwrap().len(),
        1,
        "only this chat: {card}"
    );
    let (_, after) = hub
        .call(
            "GET",
            &format!("/customers/{}", maria["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(after["customer"]["phone"], maria["phone"]);
    let (_, by_phone) = hub
        .call("GET", "/customers?q=%2B14155550123", Some(&token), None)
        .await
        .unwrap();
    assert_eq!(by_phone, json!([]), "a claimed phone is no identity");
    let id = started["interaction_id"].as_str().unwrap();
    bob.send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();

    // A hash the site did not make is refused; the site's own signature makes her Maria.
    let signed = |hash: String| {
        json!({"type": "start", "name": "Maria Garcia", "email": MARIA, "message": "Hi, it's me",
            "identity": {"email": MARIA, "hash": hash}})
    };
    let mut forger = hub.widget().await.unwrap();
    forger
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    forger.expect("ready").await.unwrap();
    forger.send(signed("00".repeat(32))).await.unwrap();
    assert_eq!(forger.expect("error").await.unwrap()["code"], "unauthorized");
    // HMAC-SHA256 under the widget's secret, hex (the same function signs WhatsApp's posts).
    let hash = plugboard_im::whatsapp::sign(SECRET, MARIA.as_bytes())
        .trim_start_matches("sha256=")
        .to_string();
    let mut real = hub.widget().await.unwrap();
    real.send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    real.expect("ready").await.unwrap();
    real.send(signed(hash)).await.unwrap();
    real.expect("started").await.unwrap();
    let offer = bob.expect("offer").await.unwrap();
    assert_eq!(offer["card"]["customer"]["id"], maria["id"]);
    assert_eq!(offer["card"]["customer"]["claimed"], Value::Null);
}

/// The size limit holds for the conversation, not per socket: two tabs on one token share it.
#[tokio::test]
async fn two_widgets_on_one_conversation_share_its_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_CHAT__MAX_CONVERSATION_BYTES", "2000")])
        .await
        .unwrap();
    let mut first = hub.widget().await.unwrap();
    let started = start_chat(&mut first, "Tab", "tab@example.com", "hi").await;
    let mut second = hub.widget().await.unwrap();
    second
        .send(json!({"type": "hello", "token": started["token"]}))
        .await
        .unwrap();
    second.expect("resumed").await.unwrap();
    let line = "x".repeat(900);
    first
        .send(json!({"type": "message", "client_id": "a", "body": line}))
        .await
        .unwrap();
    first.expect("message.ack").await.unwrap();
    second
        .send(json!({"type": "message", "client_id": "b", "body": line}))
        .await
        .unwrap();
    second.expect("message.ack").await.unwrap();
    // 2 + 900 + 900 are stored: another 900 from either tab is over 2,000.
    first
        .send(json!({"type": "message", "client_id": "c", "body": line}))
        .await
        .unwrap();
    let error = first.expect("error").await.unwrap();
    assert_eq!(
        (error["code"].as_str(), error["ref"].as_str()),
        (Some("too_large"), Some("c")),
        "{error}"
    );
}

/// HTTPS from the hub itself: with a certificate it serves the console and the API over TLS with
/// HSTS, plain HTTP on that port gets nothing, and a renewed certificate (another CA's, written
/// over the files) is what new connections get within seconds, without a restart.
#[tokio::test]
async fn the_hub_serves_https_and_takes_a_renewed_certificate_without_a_restart() {
    let certs = tempfile::tempdir().unwrap();
    plugboard_tests::make_certificates(certs.path());
    let first_ca = std::fs::read(certs.path().join("ca.pem")).unwrap();
    let (cert, key) = (certs.path().join("server.pem"), certs.path().join("server.key"));
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(
        dir.path(),
        &[
            ("PLUGBOARD_HTTP__TLS_CERT", cert.to_str().unwrap()),
            ("PLUGBOARD_HTTP__TLS_KEY", key.to_str().unwrap()),
        ],
    )
    .await
    .unwrap();
    assert!(hub.base.starts_with("https://127.0.0.1:"), "{}", hub.base);
    // A fresh client each time: a new connection, a new handshake.
    let trusting = |ca: &[u8]| {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap())
            .build()
            .unwrap()
    };
    let healthz = format!("{}/healthz", hub.base);
    let page = trusting(&first_ca).get(&healthz).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["strict-transport-security"], "max-age=31536000");
    let login = trusting(&first_ca)
        .post(format!("{}/api/v1/auth/login", hub.base))
        .json(&json!({"email": "bob@plugboard.example", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let plain = healthz.replacen("https:", "http:", 1);
    assert!(
        reqwest::get(&plain).await.is_err(),
        "plain HTTP on the HTTPS port gets no page"
    );

    // The renewal: another CA's certificate and key, each moved over the old file at once.
    let renewal = tempfile::tempdir().unwrap();
    plugboard_tests::make_certificates(renewal.path());
    let second_ca = std::fs::read(renewal.path().join("ca.pem")).unwrap();
    for (name, to) in [("server.key", &key), ("server.pem", &cert)] {
        let staged = certs.path().join(format!("{name}.new"));
        std::fs::copy(renewal.path().join(name), &staged).unwrap();
        std::fs::rename(&staged, to).unwrap();
    }
    let mut renewed = false;
    for _ in 0..50 {
        if trusting(&second_ca).get(&healthz).send().await.is_ok() {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(renewed, "new connections never got the renewed certificate");
    assert!(
        trusting(&first_ca).get(&healthz).send().await.is_err(),
        "the old certificate is no longer presented"
    );
}

/// A client that trickles a request's headers a line at a time (slowloris), and one that connects
/// and sends nothing, are cut off once the header read timeout has passed (10 s), not before and
/// not never; the hub answers everyone else meanwhile.
#[tokio::test]
async fn a_slowloris_client_is_cut_off_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (hub, _dir) = hub().await;
    let addr = hub.base.strip_prefix("http://").unwrap().to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let cut = loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still open after 30 s"
        );
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break started.elapsed();
        }
        match tokio::time::timeout(Duration::from_secs(2), slow.read(&mut buf)).await {
            // Closed (perhaps after a 408): either way the connection is over.
            Ok(Ok(_)) | Ok(Err(_)) => break started.elapsed(),
            Err(_) => {}
        }
        assert_eq!(
            hub.readyz().await.unwrap().0,
            200,
            "the hub stopped answering others"
        );
    };
    assert!(
        cut >= Duration::from_secs(9),
        "cut off after {cut:?}, before its time"
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await;
    assert!(
        matches!(ended, Ok(Ok(0)) | Ok(Err(_))),
        "the silent connection is still open: {ended:?}"
    );
}

/// A visitor whose widget stops reading while the agent writes to it cannot grow the hub's
/// memory: 1,500 messages of 60 KB (90 MB) go to a socket nobody reads; the hub holds at most its
/// bus buffer of them, drops the subscriber that fell behind and closes its socket, while the
/// agent's own socket, which reads, is answered throughout. The widget reconnects and reads the
/// conversation from the store.
#[tokio::test]
async fn a_client_that_stops_reading_cannot_grow_the_hubs_memory() {
    let (hub, _dir) = hub().await;
    let (mut bob, mut widget, interaction) =
        accepted_chat(&hub, "bob@plugboard.example", "Sid", "sid@example.com", "hello").await;
    let body = "x".repeat(60 * 1024);
    let (before, _) = plugboard_tests::rss_mib(hub.pid());
    for n in 0..1500 {
        let client_id = format!("flood-{n}");
        bob.send(
            json!({"type": "message", "interaction_id": interaction, "client_id": client_id, "body": body}),
        )
        .await
        .unwrap();
        let ack = bob.expect("message.ack").await.unwrap();
        assert_eq!(ack["client_id"], client_id.as_str());
    }
    let (after, peak) = plugboard_tests::rss_mib(hub.pid());
    eprintln!("hub RSS {before:.1} MiB before, {after:.1} MiB after, peak {peak:.1} MiB");
    assert!(
        peak - before < 48.0,
        "90 MB written to a client that does not read grew the hub from {before:.1} to {peak:.1} MiB"
    );
    // What the kernel had taken in before the hub stopped, then the close.
    widget
        .close_code(Duration::from_secs(30))
        .await
        .expect("the hub closes the socket that fell behind");
    assert_eq!(hub.readyz().await.unwrap().0, 200);
}

/// Issue 11: a widget's origins are restricted to an allow-list. With Support's widget allowed
/// on one shop only, a page of another site (or a client naming no site) is refused at `hello`
/// and at `start`, and nothing is started; the shop's page chats as before, and Sales' widget,
/// listing no sites, still works anywhere.
#[tokio::test]
async fn a_widget_is_refused_on_a_site_its_allow_list_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "PLUGBOARD_CHAT__ALLOWED_ORIGINS__SUPPORT",
        r#"["https://shop.example", "http://localhost:8080/"]"#,
    )];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let url = hub.ws_url("/ws/chat");
    let start = json!({"type": "start", "name": "Eve", "email": "eve@example.com",
        "message": "hello", "client_id": "s1"});
    for origin in [
        Some("https://evil.example"),
        Some("https://shop.example.evil"),
        None,
    ] {
        let mut widget = match origin {
            Some(origin) => Socket::connect_from(&url, origin).await.unwrap(),
            None => Socket::connect(&url).await.unwrap(),
        };
        widget
            .send(json!({"type": "hello", "queue": "Support"}))
            .await
            .unwrap();
        let refused = widget.expect("error").await.unwrap();
        assert_eq!(refused["code"], "forbidden", "{origin:?}: {refused}");
        assert!(
            refused["message"].as_str().unwrap().contains("website"),
            "{refused}"
        );
        widget.send(start.clone()).await.unwrap();
        let refused = widget.expect("error").await.unwrap();
        assert_eq!(refused["code"], "forbidden", "{origin:?}: {refused}");
    }
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, found) = hub
        .call("GET", "/customers?q=eve%40example.com", Some(&token), None)
        .await
        .unwrap();
    assert_eq!(found, json!([]), "a refused widget started nothing");

    for (origin, queue) in [
        ("https://shop.example", "Support"),
        ("http://LOCALHOST:8080", "Support"),
        ("https://evil.example", "Sales"),
    ] {
        let mut widget = Socket::connect_from(&url, origin).await.unwrap();
        widget
            .send(json!({"type": "hello", "queue": queue}))
            .await
            .unwrap();
        widget.expect("ready").await.unwrap();
    }
    let mut widget = Socket::connect_from(&url, "https://shop.example").await.unwrap();
    let started = start_chat(&mut widget, "Ada Byron", "ada@example.com", "Hello").await;
    assert!(started["interaction_id"].is_string(), "{started}");
}

/// A 1×1 PNG: what the console sends once it has scaled a picture down.
const TINY_PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde\x00\x00\x00\x0c\x49\x44\x41\x54\x78\x9c\x63\xb8\x60\x90\x00\x00\x03\x34\x01\x61\x5f\xc1\xfb\xca\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// `PUT /me/avatar` with raw bytes: (status, body).
async fn put_avatar(hub: &Hub, token: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/me/avatar", hub.base))
        .bearer_auth(token)
        .header("Content-Type", "image/png")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Every frame the widget has been sent until `kind` comes (kept, to look through them all).
async fn frames_until(widget: &mut Socket, kind: &str, seen: &mut Vec<Value>) -> Value {
    loop {
        let frame = widget.recv().await.unwrap();
        seen.push(frame.clone());
        if frame["type"] == kind {
            return frame;
        }
    }
}

#[tokio::test]
async fn the_customer_sees_each_agents_chosen_name_and_picture_on_each_line_and_never_a_legal_name() {
    let (hub, _dir) = hub().await;
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let alice_token = hub.login("alice@plugboard.example", DEMO_PASSWORD).await.unwrap();

    // Bob picks the name and picture customers see; what is not a small image is refused.
    let (status, me) = hub
        .call(
            "PATCH",
            "/me",
            Some(&bob_token),
            Some(json!({"display_name": "  Bobby  "})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["display_name"], "Bobby");
    let (status, refused) = hub
        .call(
            "PATCH",
            "/me",
            Some(&bob_token),
            Some(json!({"display_name": "B".repeat(41)})),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("bad_request")),
        "{refused}"
    );
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec();
    let (status, refused) = put_avatar(&hub, &bob_token, svg).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("bad_request")),
        "{refused}"
    );
    let mut huge = TINY_PNG.to_vec();
    huge.resize(64 * 1024 + 1, 0);
    let (status, refused) = put_avatar(&hub, &bob_token, huge).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (413, Some("too_large")),
        "{refused}"
    );
    let (status, me) = put_avatar(&hub, &bob_token, TINY_PNG.to_vec()).await;
    assert_eq!(status, 200, "{me}");
    let bob_id = me["id"].as_str().unwrap().to_string();

    // The picture is served to anyone (the widget has no login), as the image it was checked to be.
    let picture = reqwest::get(format!("{}/avatars/{bob_id}", hub.base))
        .await
        .unwrap();
    assert_eq!(picture.status(), 200);
    let header = |name: &str| picture.headers()[name].to_str().unwrap().to_string();
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("cross-origin-resource-policy"), "cross-origin");
    assert_eq!(picture.bytes().await.unwrap().as_ref(), TINY_PNG);
    let alice_id = hub.call("GET", "/me", Some(&alice_token), None).await.unwrap().1["id"].clone();
    let none = reqwest::get(format!("{}/avatars/{}", hub.base, alice_id.as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(none.status(), 404, "Alice has no picture");

    // Bob answers a chat: the customer hears "Bobby" with his picture, on the join and on his line.
    let mut bob = hub.agent_with(&bob_token).await.unwrap();
    available(&mut bob).await;
    let mut alice = hub.agent_with(&alice_token).await.unwrap();
    available(&mut alice).await;
    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(&mut widget, "Lee", "lee@example.com", "Where is my order?").await;
    let token = started["token"].as_str().unwrap().to_string();
    let interaction = started["interaction_id"].as_str().unwrap().to_string();
    bob.expect("offer").await.unwrap();
    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();
    let mut seen = Vec::new();
    let joined = frames_until(&mut widget, "agent.joined", &mut seen).await;
    assert_eq!(joined["agent"]["name"], "Bobby");
    let avatar = joined["agent"]["avatar"].as_str().unwrap().to_string();
    assert!(avatar.starts_with(&format!("/avatars/{bob_id}?v=")), "{avatar}");
    bob.send(
        json!({"type": "message", "interaction_id": interaction, "client_id": "b1", "body": "Let me look."}),
    )
    .await
    .unwrap();
    let line = frames_until(&mut widget, "message", &mut seen).await;
    assert_eq!(line["author"]["name"], "Bobby");
    assert_eq!(line["message"]["agent_id"], bob_id.as_str());

    // Bob renames himself mid-chat: his open console sends the next line under the new name.
    let (status, _) = hub
        .call(
            "PATCH",
            "/me",
            Some(&bob_token),
            Some(json!({"display_name": "Robert"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    bob.send(
        json!({"type": "message", "interaction_id": interaction, "client_id": "b2", "body": "Found it."}),
    )
    .await
    .unwrap();
    let line = frames_until(&mut widget, "message", &mut seen).await;
    assert_eq!(line["author"]["name"], "Robert");

    // Transferred to Sales, Alice (no display name) answers: the customer sees her first name only.
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let sales = hub.named(&admin, "/queues", "Sales").await.unwrap()["id"].clone();
    bob.send(json!({"type": "interaction.transfer", "interaction_id": interaction, "queue_id": sales}))
        .await
        .unwrap();
    alice.expect("offer").await.unwrap();
    alice
        .send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    alice.expect("interaction.assigned").await.unwrap();
    let joined = frames_until(&mut widget, "agent.joined", &mut seen).await;
    assert_eq!(joined["agent"]["name"], "Alice");
    assert_eq!(joined["agent"]["avatar"], Value::Null);
    alice
        .send(json!({"type": "message", "interaction_id": interaction, "client_id": "a1", "body": "Sales here."}))
        .await
        .unwrap();
    let line = frames_until(&mut widget, "message", &mut seen).await;
    assert_eq!(line["author"]["name"], "Alice");

    // A reload: the whole conversation comes back with each line's author, Alice holding it.
    drop(widget);
    let mut again = hub.widget().await.unwrap();
    again
        .send(json!({"type": "hello", "token": token}))
        .await
        .unwrap();
    let resumed = frames_until(&mut again, "resumed", &mut seen).await;
    assert_eq!(resumed["agent"]["name"], "Alice");
    let authors: std::collections::HashMap<&str, &str> = resumed["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a["name"].as_str().unwrap()))
        .collect();
    let by_line: Vec<(&str, &str)> = resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"] == "agent")
        .map(|m| {
            (
                m["body"].as_str().unwrap(),
                authors[m["agent_id"].as_str().unwrap()],
            )
        })
        .collect();
    assert_eq!(
        by_line,
        [
            ("Let me look.", "Robert"),
            ("Found it.", "Robert"),
            ("Sales here.", "Alice")
        ],
        "each line names who wrote it, as they are now called"
    );

    // Nothing the customer was sent carries an agent's legal name.
    let everything = serde_json::to_string(&seen).unwrap();
    for surname in ["Martin", "Wong", "Bob Martin"] {
        assert!(
            !everything.contains(surname),
            "{surname} reached the widget: {everything}"
        );
    }

    // The transcript names each line's author as the customer saw them.
    let transcript = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/interactions/{interaction}/transcript",
            hub.base
        ))
        .bearer_auth(&alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(transcript.headers()["content-type"], "text/plain; charset=utf-8");
    let text = transcript.text().await.unwrap();
    let said: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(
        said,
        [
            "Lee: Where is my order?",
            "Robert: Let me look.",
            "Robert: Found it.",
            "Alice: Sales here."
        ],
        "{text}"
    );
    assert!(
        text.starts_with("Conversation with Lee\nChannel: chat\n"),
        "{text}"
    );

    // Colleagues see both names and the picture, deactivated users included.
    let (status, names) = hub
        .call("GET", "/agents/names", Some(&alice_token), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{names}");
    let bob_entry = names
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == bob_id.as_str())
        .unwrap();
    assert_eq!(bob_entry["name"], "Bob Martin");
    assert_eq!(bob_entry["shown_name"], "Robert");
    assert!(bob_entry["avatar"].as_str().unwrap().starts_with("/avatars/"));
}

/// `POST /chat/files` as the widget sends a file: (status, body).
async fn send_file(
    hub: &Hub,
    token: Option<&str>,
    client_id: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/chat/files", hub.base))
        .query(&[("filename", name), ("client_id", client_id)])
        .body(bytes);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn files_go_both_ways_in_a_chat_and_only_that_chat_reads_them_back() {
    let (hub, _dir) = hub().await;
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(&mut widget, "Mia", "mia@example.net", "The box came dented").await;
    let token = started["token"].as_str().unwrap().to_string();
    let interaction = started["interaction_id"].as_str().unwrap().to_string();
    bob.expect("offer").await.unwrap();
    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();

    // Sent, committed, answered; a retry of the same send is the same message.
    let (status, sent) = send_file(
        &hub,
        Some(&token),
        "f1",
        "C:\\photos\\dent.png",
        TINY_PNG.to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let message = &sent["message"];
    let file = &message["channel"]["attachments"][0];
    assert_eq!(
        (file["filename"].as_str(), file["content_type"].as_str()),
        (Some("dent.png"), Some("image/png"))
    );
    assert_eq!(message["sender"], "customer");
    let (_, again) = send_file(&hub, Some(&token), "f1", "dent.png", TINY_PNG.to_vec()).await;
    assert_eq!(again["message"]["id"], message["id"], "stored once");

    // Bob sees it at once, and may read the file.
    let seen = bob.expect("message").await.unwrap();
    assert_eq!(seen["message"]["id"], message["id"]);
    assert_eq!(seen["message"]["channel"]["attachments"][0]["id"], file["id"]);
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bytes = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/attachments/{}",
            hub.base,
            file["id"].as_str().unwrap()
        ))
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), TINY_PNG);

    // The widget reads it back with its token, as a download; another chat's token finds nothing.
    let read = |token: Option<String>| {
        let url = format!("{}/chat/files/{}", hub.base, file["id"].as_str().unwrap());
        async move {
            let mut r = reqwest::Client::new().get(url);
            if let Some(token) = token {
                r = r.bearer_auth(token);
            }
            r.send().await.unwrap()
        }
    };
    let own = read(Some(token.clone())).await;
    assert_eq!(own.status(), 200);
    assert_eq!(own.headers()["content-type"], "application/octet-stream");
    assert_eq!(own.headers()["x-content-type-options"], "nosniff");
    assert_eq!(own.bytes().await.unwrap().as_ref(), TINY_PNG);
    let mut stranger = hub.widget().await.unwrap();
    let other = start_chat(&mut stranger, "Eve", "eve@example.net", "hi").await;
    let other_token = other["token"].as_str().unwrap().to_string();
    assert_eq!(read(Some(other_token)).await.status(), 404);
    assert_eq!(read(None).await.status(), 401);
    assert_eq!(read(Some("not-a-token".into())).await.status(), 401);

    // What is not a picture or a PDF, nothing, too much, or no token: refused, nothing stored.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    let (status, body) = send_file(&hub, Some(&token), "f2", "x.svg", svg).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (status, _) = send_file(&hub, Some(&token), "f3", "empty.png", Vec::new()).await;
    assert_eq!(status, 400);
    let mut huge = TINY_PNG.to_vec();
    huge.resize(10 * 1024 * 1024 + 1, 0);
    let (status, body) = send_file(&hub, Some(&token), "f4", "huge.png", huge).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );
    let (status, _) = send_file(&hub, None, "f5", "a.png", TINY_PNG.to_vec()).await;
    assert_eq!(status, 401);
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF".to_vec();
    let (status, body) = send_file(&hub, Some(&token), "f6", "receipt.pdf", pdf).await;
    assert_eq!(status, 200, "{body}");

    // Any site's page may send one (the token is the key; no cookies): the preflight says so.
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/chat/files", hub.base))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    // Bob sends a file back: uploaded, then a message naming it; the widget hears it with his
    // name and reads it with its token. Another agent's upload is no key for him.
    let (status, upload) = hub
        .upload(&bob_token, "label.png", "image/png", TINY_PNG.to_vec())
        .await
        .unwrap();
    assert_eq!(status, 201, "{upload}");
    bob.send(json!({"type": "message", "interaction_id": interaction, "client_id": "b1", "body": "", "attachments": [upload["id"]]}))
        .await
        .unwrap();
    let ack = bob.expect("message.ack").await.unwrap();
    let back = ack["message"]["channel"]["attachments"][0].clone();
    assert_eq!(back["filename"], "label.png");
    let heard = widget.expect("message").await.unwrap();
    assert_eq!(heard["message"]["channel"]["attachments"][0]["id"], back["id"]);
    assert_eq!(heard["author"]["name"], "Bob");
    let got = reqwest::Client::new()
        .get(format!(
            "{}/chat/files/{}",
            hub.base,
            back["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), TINY_PNG);
    let alice_token = hub.login("alice@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, hers) = hub
        .upload(&alice_token, "hers.png", "image/png", TINY_PNG.to_vec())
        .await
        .unwrap();
    bob.send(json!({"type": "message", "interaction_id": interaction, "client_id": "b2", "attachments": [hers["id"]]}))
        .await
        .unwrap();
    assert_eq!(bob.expect_error().await["code"], "not_found");
    bob.send(json!({"type": "message", "interaction_id": interaction, "client_id": "b3", "body": ""}))
        .await
        .unwrap();
    assert_eq!(bob.expect_error().await["code"], "bad_request");

    // A reload shows the files on the conversation; once it has ended, no more.
    let mut reloaded = hub.widget().await.unwrap();
    reloaded
        .send(json!({"type": "hello", "token": token}))
        .await
        .unwrap();
    let resumed = reloaded.expect("resumed").await.unwrap();
    let names: Vec<&str> = resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["channel"]["attachments"][0]["filename"].as_str())
        .collect();
    assert_eq!(names, ["dent.png", "receipt.pdf", "label.png"]);
    bob.send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    bob.expect("interaction.updated").await.unwrap();
    let (status, body) = send_file(&hub, Some(&token), "f7", "late.png", TINY_PNG.to_vec()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invalid_state")),
        "{body}"
    );
}

#[tokio::test]
async fn a_note_that_names_a_colleague_tells_them_and_no_one_else() {
    let (hub, _dir) = hub().await;
    let (mut bob, _widget, interaction) = accepted_chat(
        &hub,
        "bob@plugboard.example",
        "Kim",
        "kim@example.com",
        "Invoice question",
    )
    .await;
    let mut alice = hub.agent("alice@plugboard.example").await.unwrap();
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
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
    let customer = detail["interaction"]["customer_id"].clone();
    let note = |body: &str| json!({"type": "note.add", "customer_id": customer, "interaction_id": interaction, "body": body});

    bob.send(note("@alice can you check the invoice? Or mail kim@example.com"))
        .await
        .unwrap();
    bob.expect("note.added").await.unwrap();
    let heard = alice.expect("note.mentioned").await.unwrap();
    assert_eq!(heard["by_name"], "Bob Martin");
    assert_eq!(heard["customer_name"], "Kim");
    assert_eq!(heard["note"]["interaction_id"], interaction.as_str());
    assert!(
        heard["note"]["body"]
            .as_str()
            .unwrap()
            .starts_with("@alice can you")
    );
    assert!(
        dana.gets_within("note.mentioned", Duration::from_millis(500))
            .await
            .is_none(),
        "Dana was not named"
    );

    // An address is no mention, and naming yourself tells nobody.
    bob.send(note("sent to alice@plugboard.example; @bob to do"))
        .await
        .unwrap();
    bob.expect("note.added").await.unwrap();
    assert!(
        alice
            .gets_within("note.mentioned", Duration::from_millis(500))
            .await
            .is_none()
    );
    assert!(
        bob.gets_within("note.mentioned", Duration::from_millis(300))
            .await
            .is_none()
    );
}

/// The conversation ids of one of `token`'s inbox lists.
async fn folder(hub: &Hub, token: &str, folder: &str) -> Vec<String> {
    let (status, page) = hub
        .call(
            "GET",
            &format!("/conversations?folder={folder}"),
            Some(token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{page}");
    page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["interaction"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn snooze(hub: &Hub, token: &str, interaction: &str, until: i64) -> (u16, Value) {
    hub.call(
        "POST",
        &format!("/conversations/{interaction}/snooze"),
        Some(token),
        Some(json!({"until": until})),
    )
    .await
    .unwrap()
}

/// Skips frames until `kind` for this interaction arrives (an offer names it under `interaction`).
async fn expect_for(console: &mut Socket, kind: &str, interaction: &str) -> Value {
    loop {
        let frame = console.expect(kind).await.unwrap();
        let id = frame["interaction"]["id"]
            .as_str()
            .or(frame["interaction_id"].as_str());
        if id == Some(interaction) {
            return frame;
        }
    }
}

/// Bob snoozes a chat for two seconds: his slot is free at once, it sits in his snoozed list (not
/// in anyone's unassigned), and at its time it is offered to him, though Dana has been idle
/// longer. Snoozed again for an hour, the customer's next line brings it back to him at once.
#[tokio::test]
async fn a_snoozed_chat_comes_back_to_its_agent_at_its_time_or_when_the_customer_writes() {
    let (hub, _dir) = hub().await;
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (mut bob, mut widget, interaction) = accepted_chat(
        &hub,
        "bob@plugboard.example",
        "Li Wei",
        "li.wei@example.com",
        "Can you check my refund?",
    )
    .await;
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;

    let until = plugboard_tests::now_ms() + 2_000;
    let (status, line) = snooze(&hub, &bob_token, &interaction, until).await;
    assert_eq!(status, 200, "{line}");
    assert_eq!(line["interaction"]["state"], "queued");
    assert_eq!(line["interaction"]["snoozed_until"], until);
    let updated = expect_for(&mut bob, "interaction.updated", &interaction).await;
    assert_eq!(updated["interaction"]["snoozed_until"], until);
    // A retry applies once: same answer, one line on the log.
    let (status, _) = snooze(&hub, &bob_token, &interaction, until).await;
    assert_eq!(status, 200);
    assert!(folder(&hub, &bob_token, "snoozed").await.contains(&interaction));
    assert!(!folder(&hub, &bob_token, "mine").await.contains(&interaction));
    assert!(
        !folder(&hub, &bob_token, "unassigned")
            .await
            .contains(&interaction)
    );
    // Bob's slot is free: a new chat can be offered to him (he and Dana are both Available).
    let snoozed = hub.logged(&bob_token, &interaction, "interaction.snoozed").await;
    assert_eq!(snoozed["data"]["until"], until);

    let offer = expect_for(&mut bob, "offer", &interaction).await;
    assert!(plugboard_tests::now_ms() >= until, "offered before its time");
    assert_eq!(offer["interaction"]["snoozed_until"], Value::Null);
    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    expect_for(&mut bob, "interaction.assigned", &interaction).await;
    let woken = hub.logged(&bob_token, &interaction, "interaction.woken").await;
    assert_eq!(woken["data"]["reason"], "due");
    assert!(
        dana.gets_within("offer", Duration::from_millis(200))
            .await
            .is_none()
    );

    // Snoozed for an hour: the customer writes, and it is Bob's offer at once.
    let until = plugboard_tests::now_ms() + 3_600_000;
    let (status, line) = snooze(&hub, &bob_token, &interaction, until).await;
    assert_eq!(status, 200, "{line}");
    widget
        .send(json!({"type": "message", "client_id": "c1", "body": "Any news?"}))
        .await
        .unwrap();
    widget.expect("message.ack").await.unwrap();
    let offer = expect_for(&mut bob, "offer", &interaction).await;
    assert_eq!(offer["interaction"]["id"], interaction.as_str());
    let (_, detail) = hub
        .call(
            "GET",
            &format!("/interactions/{interaction}"),
            Some(&bob_token),
            None,
        )
        .await
        .unwrap();
    let reasons: Vec<&Value> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "interaction.woken")
        .map(|e| &e["data"]["reason"])
        .collect();
    assert_eq!(reasons, [&json!("due"), &json!("customer_replied")]);
    // Dana may not snooze what she does not hold; a time in the past is refused.
    let dana_token = hub.login("dana@plugboard.example", DEMO_PASSWORD).await.unwrap();
    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    expect_for(&mut bob, "interaction.assigned", &interaction).await;
    let (status, _) = snooze(&hub, &bob_token, &interaction, plugboard_tests::now_ms() - 1).await;
    assert_eq!(status, 400);
    let (status, body) = snooze(&hub, &dana_token, &interaction, until).await;
    assert!(status == 403 || status == 404, "{status} {body}");
}

/// A hub that restarts while a chat is snoozed finds its time in the store: at that time it is
/// offered to the agent who snoozed it.
#[tokio::test]
async fn a_snoozed_chat_comes_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_bob, _widget, interaction) = accepted_chat(
        &hub,
        "bob@plugboard.example",
        "Chen Jie",
        "chen.jie@example.com",
        "Please call me tomorrow",
    )
    .await;
    let until = plugboard_tests::now_ms() + 3_000;
    let (status, line) = snooze(&hub, &bob_token, &interaction, until).await;
    assert_eq!(status, 200, "{line}");
    drop(hub);

    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let offer = expect_for(&mut bob, "offer", &interaction).await;
    assert!(plugboard_tests::now_ms() >= until, "offered before its time");
    assert_eq!(offer["interaction"]["state"], "offered");
}

/// Bob reopens a chat he closed from his closed list: his at once, with the events on its log;
/// the widget still open on it hears him join and its visitor may write again. Dana, who may not
/// see it, cannot reopen it.
#[tokio::test]
async fn an_agent_reopens_a_closed_chat_from_the_inbox() {
    let (hub, _dir) = hub().await;
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (mut bob, mut widget, interaction) = accepted_chat(
        &hub,
        "bob@plugboard.example",
        "Zhao Min",
        "zhao.min@example.com",
        "Thanks, that is all",
    )
    .await;
    bob.send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    widget.expect("ended").await.unwrap();
    bob.send(json!({"type": "wrap_up", "interaction_id": interaction, "disposition": "resolved"}))
        .await
        .unwrap();
    while expect_for(&mut bob, "interaction.updated", &interaction).await["interaction"]["state"] != "closed"
    {
    }
    assert!(folder(&hub, &bob_token, "closed").await.contains(&interaction));

    let reopen = |token: String| {
        let hub = &hub;
        let path = format!("/conversations/{interaction}/reopen");
        async move { hub.call("POST", &path, Some(&token), None).await.unwrap() }
    };
    let dana_token = hub.login("dana@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, _) = reopen(dana_token).await;
    assert_eq!(status, 404, "Dana may not see Bob's closed chat");

    let (status, line) = reopen(bob_token.clone()).await;
    assert_eq!(status, 200, "{line}");
    assert_eq!(line["interaction"]["state"], "active");
    assert_eq!(line["interaction"]["disposition"], Value::Null);
    let assigned = expect_for(&mut bob, "interaction.assigned", &interaction).await;
    assert_eq!(assigned["interaction"]["state"], "active");
    let (status, _) = reopen(bob_token.clone()).await;
    assert_eq!(status, 200, "a retry changes nothing");
    let reopened = hub.logged(&bob_token, &interaction, "interaction.reopened").await;
    assert_eq!(reopened["data"]["by_name"], "Bob Martin");
    assert!(folder(&hub, &bob_token, "mine").await.contains(&interaction));

    // The widget still on the chat hears Bob join, and its visitor writes to him again.
    widget.expect("agent.joined").await.unwrap();
    widget
        .send(json!({"type": "message", "client_id": "c9", "body": "One more thing"}))
        .await
        .unwrap();
    widget.expect("message.ack").await.unwrap();
    let message = bob.expect("message").await.unwrap();
    assert_eq!(message["message"]["body"], "One more thing");
    let (_, detail) = hub
        .call(
            "GET",
            &format!("/interactions/{interaction}"),
            Some(&bob_token),
            None,
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|k| k.starts_with("interaction."))
        .collect();
    assert!(
        kinds.ends_with(&[
            "interaction.wrapped_up",
            "interaction.reopened",
            "interaction.started"
        ]),
        "{kinds:?}"
    );
}
