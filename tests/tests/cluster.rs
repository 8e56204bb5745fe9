//! Two hub nodes on one PostgreSQL and one Redis, as a site that outgrew one machine runs them:
//! an agent on one node serves a customer whose widget is on the other; then the node leading
//! the routers is killed with 100 chats queued, messages in flight and chats starting (their
//! arrivals on their way to it or in its hands), and the other takes over within 5 s with every
//! chat still queued in order, every acknowledged message there once, every chat started
//! promptly and none offered twice. A supervisor's wallboard on either node follows what happens on the other.

use plugboard_tests::{DEMO_PASSWORD, Hub, SharedSite, Socket};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const QUEUED: usize = 100;
const BURST: usize = 60;
/// Chats started on node B around the kill: their arrivals are on their way to node A, or in
/// its hands, when it dies.
const DURING: usize = 60;

/// Waits until the node says where the routers run; answers how long that took.
async fn router_is(hub: &Hub, want: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok((_, body)) = hub.readyz().await
            && body["router"] == want
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "the router is not {want} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn set_state(agent: &mut Socket, state: &str) {
    agent
        .send(json!({"type": "state.set", "state": state, "reason": "lunch"}))
        .await
        .unwrap();
    assert_eq!(agent.expect("agent.state").await.unwrap()["state"], state);
}

async fn start(widget: &mut Socket, n: usize, message: &str) -> Value {
    widget
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    widget.expect("ready").await.unwrap();
    let start = json!({"type": "start", "name": format!("Customer {n}"), "email": format!("c{n}@example.com"),
        "message": message, "client_id": "open"});
    widget.send(start).await.unwrap();
    widget.expect("started").await.unwrap()
}

#[tokio::test]
async fn two_nodes_share_the_work_and_a_killed_leader_is_replaced_without_loss() {
    let Some(site) = SharedSite::fresh().await.unwrap() else {
        return;
    };
    let env = [
        site.env().as_slice(),
        &[
            ("PLUGBOARD_CHAT__STARTS_PER_MINUTE", "10000"),
            // The burst is faster than a person types.
            ("PLUGBOARD_CHAT__MESSAGES_PER_MINUTE", "10000"),
        ],
    ]
    .concat();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Hub::start(dir_a.path(), &env).await.unwrap();
    router_is(&a, "here", Duration::from_secs(10)).await;
    let b = Hub::start(dir_b.path(), &env).await.unwrap();
    assert_eq!(b.readyz().await.unwrap().1["router"], "elsewhere");

    // 1. Bob's console is on node A, the customer's widget on node B.
    let mut bob = a.agent("bob@plugboard.example").await.unwrap();
    set_state(&mut bob, "available").await;
    let mut widget = b.widget().await.unwrap();
    let started = start(&mut widget, 0, "Hello from node B").await;
    let chat = started["interaction_id"].as_str().unwrap().to_string();
    let offer = bob.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], chat.as_str());
    assert_eq!(offer["preview"][0]["body"], "Hello from node B");
    bob.send(json!({"type": "offer.accept", "interaction_id": chat}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(
        widget.expect("agent.joined").await.unwrap()["agent"]["name"],
        "Bob"
    );
    widget
        .send(json!({"type": "message", "client_id": "c1", "body": "Is my order on its way?"}))
        .await
        .unwrap();
    widget.expect("message.ack").await.unwrap();
    assert_eq!(
        bob.expect("message").await.unwrap()["message"]["body"],
        "Is my order on its way?"
    );
    bob.send(json!({"type": "message", "interaction_id": chat, "client_id": "a1", "body": "It left today."}))
        .await
        .unwrap();
    assert_eq!(
        widget.expect("message").await.unwrap()["message"]["body"],
        "It left today."
    );
    bob.send(json!({"type": "interaction.end", "interaction_id": chat}))
        .await
        .unwrap();
    widget.expect("ended").await.unwrap();
    bob.send(json!({"type": "wrap_up", "interaction_id": chat, "disposition": "resolved"}))
        .await
        .unwrap();
    loop {
        let updated = bob.expect("interaction.updated").await.unwrap();
        if updated["interaction"]["state"] == "closed" {
            break;
        }
    }

    // 2. Bob takes a break; 100 customers start chats through node B and wait.
    set_state(&mut bob, "break").await;
    let mut widgets = Vec::new();
    let mut order = Vec::new();
    for n in 1..=QUEUED {
        let mut w = b.widget().await.unwrap();
        let started = start(&mut w, n, &format!("opening {n}")).await;
        order.push(started["interaction_id"].as_str().unwrap().to_string());
        widgets.push((w, started["token"].as_str().unwrap().to_string()));
    }

    // 3. The last customer fires a burst; node A, which leads, is killed while acks come in.
    let (last, token) = widgets.last_mut().unwrap();
    for n in 0..BURST {
        last.send(json!({"type": "message", "client_id": format!("b{n}"), "body": format!("burst {n}")}))
            .await
            .unwrap();
    }
    let mut acked = Vec::new();
    while acked.len() < BURST / 3 {
        let ack = last.expect("message.ack").await.unwrap();
        acked.push(ack["client_id"].as_str().unwrap().to_string());
    }
    drop(bob);
    let mut during = Vec::new();
    let (go, _) = tokio::sync::broadcast::channel::<()>(1);
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..DURING {
        let mut w = b.widget().await.unwrap();
        w.send(json!({"type": "hello", "queue": "Support"}))
            .await
            .unwrap();
        w.expect("ready").await.unwrap();
        let (mut go, started_tx) = (go.subscribe(), started_tx.clone());
        during.push(tokio::spawn(async move {
            let _ = go.recv().await;
            tokio::time::sleep(Duration::from_millis(2 * n as u64)).await;
            let n = QUEUED + 1 + n;
            let start = json!({"type": "start", "name": format!("Customer {n}"), "email": format!("c{n}@example.com"),
                "message": "started as the leader died", "client_id": "open"});
            w.send(start).await.unwrap();
            let started = w.expect("started").await.expect("a chat started during the takeover");
            let _ = started_tx.send(());
            (w, started["interaction_id"].as_str().unwrap().to_string(), Instant::now())
        }));
    }
    // The leader dies while these arrivals stream in: some answered, some in its hands, some
    // not yet forwarded.
    go.send(()).unwrap();
    for _ in 0..DURING / 4 {
        started_rx.recv().await.unwrap();
    }
    let killed = Instant::now();
    a.kill9();
    let takeover = router_is(&b, "here", Duration::from_secs(5)).await;
    // The widget is on node B, which lives on: every message it sent is acknowledged.
    while acked.len() < BURST {
        let frame = last.recv_within(Duration::from_secs(10)).await.unwrap();
        if frame["type"] == "message.ack" {
            acked.push(frame["client_id"].as_str().unwrap().to_string());
        }
    }
    let token = token.clone();
    // Every chat started around the kill started, whether its arrival reached node A or not.
    let mut started_during = Vec::new();
    // Their widgets stay open: a chat whose last widget closed is abandoned, not offered.
    let mut widgets_during = Vec::new();
    for task in during {
        let (w, id, at) = task.await.unwrap();
        started_during.push(id);
        widgets_during.push(w);
        // Not after the asking node gave up on a request the dead leader had taken (10 s).
        let after = at.saturating_duration_since(killed);
        assert!(
            after < Duration::from_secs(7),
            "a chat started {after:?} after the kill"
        );
    }

    // Every acknowledged message is there exactly once.
    let mut check = b.widget().await.unwrap();
    check
        .send(json!({"type": "hello", "token": token, "after": 0}))
        .await
        .unwrap();
    let resumed = check.expect("resumed").await.unwrap();
    assert_eq!(resumed["state"], "queued");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in resumed["messages"].as_array().unwrap() {
        *seen
            .entry(m["client_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), BURST + 1, "the opening line and each burst message");
    assert!(seen.values().all(|n| *n == 1), "a message stored twice: {seen:?}");

    // 4. Bob, back on node B with room for every chat, is offered all 100 in their original
    // order, each once.
    let admin = b.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob_id = b.named(&admin, "/agents", "Bob Martin").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let capacity = json!({"capacity": {"voice": 1, "chat": QUEUED + DURING, "email": 5, "messaging": 5}});
    let (status, body) = b
        .call(
            "PATCH",
            &format!("/agents/{bob_id}"),
            Some(&admin),
            Some(capacity),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let mut bob = b.agent("bob@plugboard.example").await.unwrap();
    set_state(&mut bob, "available").await;
    let mut offered = Vec::new();
    let mut first_routed = None;
    while offered.len() < QUEUED + DURING {
        let offer = bob.expect("offer").await.unwrap();
        first_routed.get_or_insert_with(|| killed.elapsed());
        offered.push(offer["interaction"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        offered[..QUEUED],
        order,
        "the queue's order survived the takeover"
    );
    let mut late = offered[QUEUED..].to_vec();
    late.sort();
    started_during.sort();
    assert_eq!(
        late, started_during,
        "each chat started around the kill, offered once"
    );
    assert!(
        bob.gets_within("offer", Duration::from_millis(500))
            .await
            .is_none(),
        "a chat was offered twice"
    );
    eprintln!(
        "takeover: node B led {:.0} ms after the kill (first offer {:.0} ms after, Bob reconnecting)",
        takeover.as_secs_f64() * 1e3,
        first_routed.unwrap().as_secs_f64() * 1e3
    );
}

/// The next `queues` board on `wallboard` for which `shows` holds, within `wait`; the last board
/// seen otherwise, in the failure.
async fn board_showing(wallboard: &mut Socket, wait: Duration, shows: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + wait;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let Some(board) = wallboard.gets_within("queues", deadline - Instant::now()).await else {
            break;
        };
        if shows(&board) {
            return board;
        }
        last = board;
    }
    panic!("no such board within {wait:?}; the last was {last}");
}

/// The entry named `name` of a board's list.
fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|x| x["name"] == name))
        .unwrap_or(&Value::Null)
}

/// A supervisor's wallboard on one node follows what happens on the other: agents changing state
/// there (through the leader and through the follower), a chat queued there, and its answer.
#[tokio::test]
async fn a_wallboard_on_one_node_follows_agents_and_contacts_on_the_other() {
    let Some(site) = SharedSite::fresh().await.unwrap() else {
        return;
    };
    let env = site.env();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Hub::start(dir_a.path(), &env).await.unwrap();
    router_is(&a, "here", Duration::from_secs(10)).await;
    let b = Hub::start(dir_b.path(), &env).await.unwrap();
    assert_eq!(b.readyz().await.unwrap().1["router"], "elsewhere");
    for (node, hub) in [("leader", &a), ("follower", &b)] {
        let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
        let mut wallboard = Socket::connect(&hub.ws_url("/ws/supervisor")).await.unwrap();
        wallboard
            .send(json!({"type": "auth", "token": sam}))
            .await
            .unwrap();
        wallboard.expect("queues").await.unwrap();
        // Dana's console on the other node.
        let other = if node == "leader" { &b } else { &a };
        let mut dana = other.agent("dana@plugboard.example").await.unwrap();
        set_state(&mut dana, "available").await;
        board_showing(&mut wallboard, Duration::from_secs(3), |b| {
            entry(&b["agents"], "Dana Silva")["state"] == "available"
        })
        .await;
        set_state(&mut dana, "break").await;
        board_showing(&mut wallboard, Duration::from_secs(3), |b| {
            entry(&b["agents"], "Dana Silva")["state"] == "break"
        })
        .await;
        // A customer's chat through the other node waits in Support, then Dana answers it.
        let mut widget = other.widget().await.unwrap();
        let started = start(&mut widget, 1, &format!("Hello, {node}'s board")).await;
        board_showing(&mut wallboard, Duration::from_secs(3), |b| {
            entry(&b["queues"], "Support")["waiting"] == 1
        })
        .await;
        set_state(&mut dana, "available").await;
        let offer = dana.expect("offer").await.unwrap();
        assert_eq!(offer["interaction"]["id"], started["interaction_id"]);
        dana.send(json!({"type": "offer.accept", "interaction_id": started["interaction_id"]}))
            .await
            .unwrap();
        dana.expect("interaction.assigned").await.unwrap();
        let board = board_showing(&mut wallboard, Duration::from_secs(3), |b| {
            entry(&b["queues"], "Support")["waiting"] == 0
                && entry(&b["agents"], "Dana Silva")["holds"]["chat"] == 1
        })
        .await;
        assert!(entry(&board["queues"], "Support")["today"]["answered"].as_u64() >= Some(1));
        dana.send(json!({"type": "interaction.end", "interaction_id": started["interaction_id"]}))
            .await
            .unwrap();
        widget.expect("ended").await.unwrap();
        dana.send(json!({"type": "wrap_up", "interaction_id": started["interaction_id"], "disposition": "resolved"}))
            .await
            .unwrap();
        while dana.expect("interaction.updated").await.unwrap()["interaction"]["state"] != "closed" {}
        set_state(&mut dana, "offline").await;
    }
}
