//! The operator's side, end to end with the real binary: a backup taken while a chat goes on
//! restores to a hub that has every message and event of it (deploy/README.md describes it).

use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, plugboard};
use serde_json::{Value, json};
use std::path::Path;

async fn available(agent: &mut Socket) {
    agent
        .send(json!({"type": "state.set", "state": "available"}))
        .await
        .unwrap();
    assert_eq!(agent.expect("agent.state").await.unwrap()["state"], "available");
}

/// A widget's new chat in `queue`: (widget, started frame).
async fn chat(hub: &Hub, queue: &str, name: &str, email: &str, first: &str) -> (Socket, Value) {
    let mut widget = hub.widget().await.unwrap();
    widget
        .send(json!({"type": "hello", "queue": queue}))
        .await
        .unwrap();
    widget.expect("ready").await.unwrap();
    widget
        .send(json!({"type": "start", "name": name, "email": email, "message": first, "client_id": "c0"}))
        .await
        .unwrap();
    let started = widget.expect("started").await.unwrap();
    (widget, started)
}

/// The widget's view of its conversation after a reload: the resumed frame with every message.
async fn resume(hub: &Hub, token: &str) -> (Socket, Value) {
    let mut widget = hub.widget().await.unwrap();
    widget
        .send(json!({"type": "hello", "token": token, "after": 0}))
        .await
        .unwrap();
    let resumed = widget.expect("resumed").await.unwrap();
    (widget, resumed)
}

fn client_ids(resumed: &Value) -> Vec<String> {
    resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["client_id"].as_str().unwrap().to_string())
        .collect()
}

fn event_types(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

const BURST: usize = 120;

#[tokio::test]
async fn a_backup_taken_during_a_chat_restores_every_message_and_event() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let (mut widget, started) =
        chat(&hub, "Support", "Ivy Chen", "ivy@example.com", "My order is late").await;
    let interaction = started["interaction_id"].as_str().unwrap().to_string();
    let token = started["token"].as_str().unwrap().to_string();
    bob.expect("offer").await.unwrap();
    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();
    bob.send(
        json!({"type": "message", "interaction_id": interaction, "client_id": "a1", "body": "Let me look."}),
    )
    .await
    .unwrap();
    bob.expect("message.ack").await.unwrap();

    // The customer keeps typing; the backup starts while those messages are being committed.
    for n in 0..BURST {
        widget
            .send(json!({"type": "message", "client_id": format!("b{n}"), "body": format!("detail {n}")}))
            .await
            .unwrap();
    }
    let mut acked = Vec::new();
    while acked.len() < BURST / 4 {
        acked.push(
            widget.expect("message.ack").await.unwrap()["client_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let acked_before = acked.clone();
    let file = dir.path().join("backup.db");
    let args = [
        "backup".to_string(),
        "--to".into(),
        file.display().to_string(),
        "--data-dir".into(),
        dir.path().display().to_string(),
    ];
    let backup =
        tokio::task::spawn_blocking(move || plugboard(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    while acked.len() < BURST {
        acked.push(
            widget.expect("message.ack").await.unwrap()["client_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let printed = backup.await.unwrap().unwrap();
    assert!(printed.contains("integrity ok"), "{printed}");
    let (_, live) = resume(&hub, &token).await;
    let live_count = client_ids(&live).len();

    // Restore as deploy/README.md says: stop, move the database and its WAL aside, put the
    // backup in its place, start.
    hub.kill9();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("plugboard.db{suffix}")));
    }
    std::fs::copy(&file, dir.path().join("plugboard.db")).unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();

    // Every message acknowledged before the backup began is there, in order and without a gap.
    let (mut widget, resumed) = resume(&hub, &token).await;
    assert_eq!(resumed["state"], "active");
    let restored = client_ids(&resumed);
    for id in ["c0", "a1"].iter().map(|s| s.to_string()).chain(acked_before) {
        assert!(
            restored.contains(&id),
            "{id} was acknowledged before the backup but is missing"
        );
    }
    assert!(restored.len() <= live_count);
    let seqs: Vec<i64> = resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());

    // The chat's events are there, and it is Bob's again: it goes on where the backup left it.
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, detail) = hub
        .call("GET", &format!("/interactions/{interaction}"), Some(&admin), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        event_types(&detail),
        [
            "interaction.queued",
            "interaction.offered",
            "interaction.accepted"
        ]
    );
    assert_eq!(detail["interaction"]["state"], "active");
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    widget
        .send(json!({"type": "message", "client_id": "after", "body": "Are you still there?"}))
        .await
        .unwrap();
    let ack = widget.expect("message.ack").await.unwrap();
    assert_eq!(ack["message"]["seq"], seqs.len() as i64 + 1);
    let got = bob.expect("message").await.unwrap();
    assert_eq!(got["message"]["body"], "Are you still there?");
}

#[tokio::test]
async fn the_backup_command_refuses_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(plugboard_tests::binary())
        .args(["backup", "--to"])
        .arg(dir.path().join("b.db"))
        .env(
            "PLUGBOARD_DATABASE_URL",
            "postgres://plugboard:secret@db.internal/plugboard",
        )
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(said.contains("pg_dump"), "{said}");
    assert!(!said.contains("secret"), "the password was printed: {said}");
    assert!(!dir.path().join("b.db").exists());
}

#[tokio::test]
async fn migrate_brings_a_new_database_up_and_then_has_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let first = plugboard(&["migrate", "--data-dir", &data]).unwrap();
    assert!(first.contains("applied migrations 1 init"), "{first}");
    assert!(Path::new(&data).join("plugboard.db").exists());
    let again = plugboard(&["migrate", "--data-dir", &data]).unwrap();
    assert!(again.contains("is up to date"), "{again}");
}
