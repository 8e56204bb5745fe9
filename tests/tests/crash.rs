//! `kill -9` the hub with chats queued and messages in flight: after a restart the queued chats
//! wait in their original order and every acknowledged message is there exactly once.

use plugboard_tests::Hub;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

const QUEUED: usize = 3;
const BURST: usize = 60;
/// The bursts are faster than a person types: the per-conversation limit is lifted for them.
const BURSTS: [(&str, &str); 1] = [("PLUGBOARD_CHAT__MESSAGES_PER_MINUTE", "10000")];

#[tokio::test]
async fn a_kill_9_loses_no_queued_chat_and_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &BURSTS).await.unwrap();

    // Three chats wait in Support (nobody is available), each with an opening line.
    let mut tokens = Vec::new();
    let mut order = Vec::new();
    for n in 0..QUEUED {
        let mut widget = hub.widget().await.unwrap();
        widget
            .send(json!({"type": "hello", "queue": "Support"}))
            .await
            .unwrap();
        widget.expect("ready").await.unwrap();
        let start = json!({"type": "start", "name": format!("Waiting {n}"), "email": format!("w{n}@example.com"),
            "message": format!("opening {n}"), "client_id": "open"});
        widget.send(start).await.unwrap();
        let started = widget.expect("started").await.unwrap();
        tokens.push(started["token"].as_str().unwrap().to_string());
        order.push(started["interaction_id"].as_str().unwrap().to_string());
    }

    // The last one fires a burst without waiting; the hub is killed while acks are coming in.
    let mut widget = hub.widget().await.unwrap();
    widget
        .send(json!({"type": "hello", "token": tokens[QUEUED - 1]}))
        .await
        .unwrap();
    widget.expect("resumed").await.unwrap();
    for n in 0..BURST {
        widget
            .send(json!({"type": "message", "client_id": format!("b{n}"), "body": format!("burst {n}")}))
            .await
            .unwrap();
    }
    let mut acked = Vec::new();
    while acked.len() < BURST / 3 {
        let ack = widget.expect("message.ack").await.unwrap();
        acked.push(ack["client_id"].as_str().unwrap().to_string());
    }
    hub.kill9();
    // Acks that were already on the wire before the kill count as acknowledged too.
    while let Ok(frame) = widget.recv_within(Duration::from_millis(200)).await {
        if frame["type"] == "message.ack" {
            acked.push(frame["client_id"].as_str().unwrap().to_string());
        }
    }
    assert!(
        acked.len() < BURST,
        "the kill came too late to catch messages in flight"
    );

    let hub = Hub::start(dir.path(), &BURSTS).await.unwrap();

    // Every acknowledged message is there exactly once.
    let mut widget = hub.widget().await.unwrap();
    widget
        .send(json!({"type": "hello", "token": tokens[QUEUED - 1], "after": 0}))
        .await
        .unwrap();
    let resumed = widget.expect("resumed").await.unwrap();
    assert_eq!(resumed["state"], "queued");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in resumed["messages"].as_array().unwrap() {
        *seen
            .entry(m["client_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for id in &acked {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "acknowledged message {id} is not there exactly once"
        );
    }
    assert!(seen.values().all(|n| *n == 1));
    // The widget's outbox resends everything unacknowledged; each is stored once.
    for n in 0..BURST {
        widget
            .send(json!({"type": "message", "client_id": format!("b{n}"), "body": format!("burst {n}")}))
            .await
            .unwrap();
        widget.expect("message.ack").await.unwrap();
    }
    drop(widget);
    let mut check = hub.widget().await.unwrap();
    check
        .send(json!({"type": "hello", "token": tokens[QUEUED - 1], "after": 0}))
        .await
        .unwrap();
    let messages = check.expect("resumed").await.unwrap()["messages"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        messages,
        BURST + 1,
        "the opening line and each burst message exactly once"
    );

    // The queued chats are still queued, in their original order: an agent with room for three
    // gets them offered oldest first.
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    bob.send(json!({"type": "state.set", "state": "available"}))
        .await
        .unwrap();
    let mut offered = Vec::new();
    for _ in 0..QUEUED {
        let offer = bob.expect("offer").await.unwrap();
        offered.push(offer["interaction"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(offered, order);
}
