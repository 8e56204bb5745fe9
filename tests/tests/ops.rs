//! The operator's side, end to end with the real binary: a backup taken while a chat goes on
//! restores to a hub that has every message and event of it, and a SQLite site copied into
//! PostgreSQL keeps every row and serves from there (deploy/README.md describes both).

use plugboard_tests::{DEMO_PASSWORD, Hub, Postgres, Socket, available, plugboard};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Column, Connection, Row, TypeInfo, ValueRef};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

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
    // A burst far beyond what a person types: the per-conversation limit is lifted for it.
    let env = [("PLUGBOARD_CHAT__MESSAGES_PER_MINUTE", "1000")];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
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

/// Every row of every table, each value written out the same way whichever database holds it
/// (PostgreSQL's BOOLEAN as SQLite's 0/1), sorted.
async fn dump(url: &str, tables: &[(String, Vec<String>)]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        for (table, columns) in tables {
            let sql = format!("SELECT {} FROM {table}", columns.join(", "));
            let rows = sqlx::query(AssertSqlSafe(sql))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let mut lines: Vec<String> = rows
                .iter()
                .map(|row| {
                    (0..row.columns().len())
                        .map(|i| {
                            let raw = row.try_get_raw(i).unwrap();
                            if raw.is_null() {
                                return "NULL".to_string();
                            }
                            match raw.type_info().name() {
                                "INTEGER" => row.get::<i64, _>(i).to_string(),
                                "TEXT" => format!("{:?}", row.get::<String, _>(i)),
                                "BLOB" => format!("{:x?}", row.get::<Vec<u8>, _>(i)),
                                other => panic!("{table}: a value of type {other}"),
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect();
            lines.sort();
            out.push((table.clone(), lines));
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        for (table, columns) in tables {
            let sql = format!("SELECT {} FROM {table}", columns.join(", "));
            let rows = sqlx::query(AssertSqlSafe(sql))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let mut lines: Vec<String> = rows
                .iter()
                .map(|row| {
                    (0..row.columns().len())
                        .map(|i| {
                            let raw = row.try_get_raw(i).unwrap();
                            if raw.is_null() {
                                return "NULL".to_string();
                            }
                            match row.column(i).type_info().name() {
                                "INT8" => row.get::<i64, _>(i).to_string(),
                                "INT4" => row.get::<i32, _>(i).to_string(),
                                "BOOL" => i64::from(row.get::<bool, _>(i)).to_string(),
                                "TEXT" => format!("{:?}", row.get::<String, _>(i)),
                                "BYTEA" => format!("{:x?}", row.get::<Vec<u8>, _>(i)),
                                other => panic!("{table}: a value of type {other}"),
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect();
            lines.sort();
            out.push((table.clone(), lines));
        }
    }
    out
}

/// The site's tables in a SQLite database (the migrator's and SQLite's own left out, the record of
/// requests forwarded between nodes, which `copy` leaves behind, and the derived ones: the search index, in a form each database has its own of, and the reports'
/// cells, counted again from the copied logs), each with its columns.
async fn sqlite_tables(url: &str) -> Vec<(String, Vec<String>)> {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT IN ('_sqlx_migrations', 'forwarded_requests') AND name NOT LIKE 'message_search%' \
         AND name NOT LIKE 'search_%' AND name NOT LIKE 'report_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut tables = Vec::new();
    for name in names {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(&name)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        tables.push((name, columns));
    }
    tables
}

async fn timeline(hub: &Hub, token: &str, name: &str) -> Value {
    let (_, found) = hub
        .call("GET", &format!("/customers?q={name}"), Some(token), None)
        .await
        .unwrap();
    let customer = found[0]["id"].as_str().unwrap().to_string();
    let (status, timeline) = hub
        .call(
            "GET",
            &format!("/customers/{customer}/timeline"),
            Some(token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{timeline}");
    timeline
}

#[tokio::test]
async fn a_sqlite_site_copied_into_postgresql_keeps_every_row_and_serves_from_there() {
    let Some(pg) = Postgres::fresh().await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();

    // A chat served, noted and wrapped up; another still waiting in Sales, where nobody is.
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    let (mut widget, started) = chat(
        &hub,
        "Support",
        "Olu Ade",
        "olu@example.com",
        "Can I change my plan?",
    )
    .await;
    let served = started["interaction_id"].as_str().unwrap().to_string();
    dana.expect("offer").await.unwrap();
    dana.send(json!({"type": "offer.accept", "interaction_id": served}))
        .await
        .unwrap();
    dana.expect("interaction.assigned").await.unwrap();
    dana.send(
        json!({"type": "message", "interaction_id": served, "client_id": "d1", "body": "Yes — which one?"}),
    )
    .await
    .unwrap();
    dana.expect("message.ack").await.unwrap();
    widget
        .send(json!({"type": "message", "client_id": "c1", "body": "The team plan, 团队版"}))
        .await
        .unwrap();
    widget.expect("message.ack").await.unwrap();
    dana.send(json!({"type": "interaction.end", "interaction_id": served}))
        .await
        .unwrap();
    dana.expect("interaction.updated").await.unwrap();
    dana.send(
        json!({"type": "wrap_up", "interaction_id": served, "disposition": "sale", "note": "Moved to Team"}),
    )
    .await
    .unwrap();
    assert_eq!(
        dana.expect("interaction.updated").await.unwrap()["interaction"]["state"],
        "closed"
    );
    let token = hub.login("dana@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let before = timeline(&hub, &token, "Olu").await;
    let customer_id = before["customer"]["id"].as_str().unwrap().to_string();
    dana.send(json!({"type": "note.add", "customer_id": customer_id, "body": "Call back in June"}))
        .await
        .unwrap();
    dana.expect("note.added").await.unwrap();
    let before = timeline(&hub, &token, "Olu").await;
    let (_, waiting) = chat(&hub, "Sales", "Pia Berg", "pia@example.com", "A quote, please").await;
    let waiting_id = waiting["interaction_id"].as_str().unwrap().to_string();
    let waiting_token = waiting["token"].as_str().unwrap().to_string();
    // An admin's change, with its line in the audit log.
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let code = json!({"code": "callback", "label": "Call back"});
    assert_eq!(
        hub.call("POST", "/dispositions", Some(&admin), Some(code))
            .await
            .unwrap()
            .0,
        200
    );

    // Stopped hard (its WAL not checkpointed), then copied.
    hub.kill9();
    let sqlite = format!("sqlite://{}", dir.path().join("plugboard.db").display());
    let printed = plugboard(&["copy", "--from", &sqlite, "--to", &pg.url]).unwrap();
    assert!(printed.contains("interaction_events"), "{printed}");

    let tables = sqlite_tables(&sqlite).await;
    assert!(tables.len() >= 13, "{tables:?}");
    let (theirs, ours) = (dump(&sqlite, &tables).await, dump(&pg.url, &tables).await);
    for ((table, a), (_, b)) in theirs.iter().zip(&ours) {
        // The site has no SIP phones (so nothing registered), no mailbox (so no mail), no
        // messaging inbox, no assignment rules, customer fields, segments, hand-overs, follow-ups,
        // ratings, pipeline or teams:
        // the copy of those tables is covered by `ops::copy`'s own fixture.
        let unused = [
            "phones",
            "phone_bindings",
            "mailboxes",
            "mailbox_sync",
            "message_details",
            "attachments",
            "outbox",
            "inbound_failures",
            "uploads",
            "inboxes",
            "media_fetches",
            "assignment_rules",
            "customer_fields",
            "segments",
            "handovers",
            "follow_ups",
            "csat_ratings",
            "pipeline_settings",
            "opportunities",
            "teams",
            // Nor the knowledge base.
            "kb_articles",
            "kb_terms",
            "canned_responses",
            // Nobody used the inbox: labels and read marks are in `ops::copy`'s fixture too.
            "interaction_labels",
            "conversation_reads",
        ];
        assert!(
            !a.is_empty() || unused.contains(&table.as_str()),
            "the fixture leaves {table} empty"
        );
        assert_eq!(a, b, "{table} differs after the copy");
    }
    let sequences: BTreeSet<String> = printed
        .lines()
        .filter_map(|l| l.trim().strip_prefix("next "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(
        sequences,
        [
            "agent_events.id",
            "customer_events.id",
            "identities.id",
            "interaction_events.id",
            "interactions.arrival_seq",
            "notes.id"
        ]
        .map(String::from)
        .into(),
        "{printed}"
    );

    // A second copy into the now full database is refused.
    let refused = plugboard(&["copy", "--from", &sqlite, "--to", &pg.url]).unwrap_err();
    assert!(format!("{refused:#}").contains("is not empty"), "{refused:#}");

    // The hub serves from PostgreSQL: same logins, the same timeline, the waiting chat still waits.
    let elsewhere = tempfile::tempdir().unwrap();
    let hub = Hub::start(elsewhere.path(), &[("PLUGBOARD_DATABASE_URL", pg.url.as_str())])
        .await
        .unwrap();
    let token = hub.login("dana@plugboard.example", DEMO_PASSWORD).await.unwrap();
    assert_eq!(timeline(&hub, &token, "Olu").await, before);
    let (_, resumed) = resume(&hub, &waiting_token).await;
    assert_eq!(resumed["state"], "queued");
    let mut alice = hub.agent("alice@plugboard.example").await.unwrap();
    available(&mut alice).await;
    let offer = alice.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], waiting_id.as_str());

    // New contacts are numbered after the copied ones (a stale sequence would collide here).
    let (_, fresh) = chat(
        &hub,
        "Support",
        "Quinn Roe",
        "quinn@example.com",
        "Hello from the new database",
    )
    .await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let id = fresh["interaction_id"].as_str().unwrap();
    let (status, detail) = hub
        .call("GET", &format!("/interactions/{id}"), Some(&admin), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{detail}");
    let newest = detail["events"][0]["id"].as_i64().unwrap();
    let copied_max = before["entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["events"].as_array().unwrap())
        .map(|e| e["id"].as_i64().unwrap())
        .max()
        .unwrap();
    assert!(
        newest > copied_max,
        "event {newest} numbered before the copied {copied_max}"
    );
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

/// Behind nginx every request comes from 127.0.0.1: with the proxy trusted, one customer's
/// failed logins use up their own allowance, not everyone's.
#[tokio::test]
async fn behind_a_trusted_proxy_login_limits_count_each_client_apart() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PLUGBOARD_HTTP__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
        ("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "2"),
    ];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let client = reqwest::Client::new();
    let login = |from: &'static str, password: &'static str| {
        client
            .post(format!("{}/api/v1/auth/login", hub.base))
            .header("X-Forwarded-For", from)
            .json(&json!({"email": "bob@plugboard.example", "password": password}))
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            login("203.0.113.9", "wrong-password")
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [401, 401, 429], "the guesser runs out");
    let other = login("198.51.100.7", DEMO_PASSWORD).await.unwrap();
    assert_eq!(
        other.status().as_u16(),
        200,
        "another client behind the same proxy still gets in"
    );
}

/// Issue 11: a guesser spread over many addresses got 20 attempts a minute from each. Wrong
/// passwords in a row lock that login whatever address they come from, with a backoff; the right
/// password is refused too while it lasts, and other logins are not touched.
#[tokio::test]
async fn wrong_passwords_from_many_addresses_lock_the_login_with_a_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PLUGBOARD_HTTP__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
        ("PLUGBOARD_AUTH__LOCKOUT_AFTER", "3"),
        ("PLUGBOARD_AUTH__LOCKOUT_SECS", "1"),
        ("PLUGBOARD_AUTH__LOCKOUT_MAX_SECS", "60"),
    ];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let client = reqwest::Client::new();
    let login = |from: String, email: &'static str, password: &'static str| {
        client
            .post(format!("{}/api/v1/auth/login", hub.base))
            .header("X-Forwarded-For", from)
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    let mut statuses = Vec::new();
    for n in 0..3 {
        let r = login(format!("203.0.113.{n}"), "bob@plugboard.example", "guess")
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401]);
    // Locked, even with the right password, from yet another address; the same for a login
    // typed differently.
    let locked = login("198.51.100.1".into(), " BOB@plugboard.example", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(locked.status().as_u16(), 429);
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["code"], "locked_out", "{body}");
    // Dana is not.
    let dana = login("198.51.100.1".into(), "dana@plugboard.example", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(dana.status().as_u16(), 200);
    // An unknown login locks the same way: a lockout says nothing about who exists.
    for n in 0..3 {
        login(format!("192.0.2.{n}"), "nobody@plugboard.example", "guess")
            .await
            .unwrap();
    }
    let nobody = login("192.0.2.9".into(), "nobody@plugboard.example", "guess")
        .await
        .unwrap();
    assert_eq!(nobody.status().as_u16(), 429);

    // After the lock the right password gets in and clears the count.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let bob = login("198.51.100.1".into(), "bob@plugboard.example", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(bob.status().as_u16(), 200);
    let once = login("198.51.100.1".into(), "bob@plugboard.example", "guess")
        .await
        .unwrap();
    assert_eq!(once.status().as_u16(), 401);
    // A wrong one after the lock doubles it: 2 s this time.
    for _ in 0..2 {
        login("198.51.100.2".into(), "bob@plugboard.example", "guess")
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let r = login("198.51.100.3".into(), "bob@plugboard.example", "guess")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "the first lock of the new run is 1 s");
    let r = login("198.51.100.3".into(), "bob@plugboard.example", DEMO_PASSWORD)
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "locked_out", "then 2 s: {body}");
}

/// Issue 11: the first admin's password was printed to stdout (and so to journald). It is
/// written to a file only the hub's user can read, and printed nowhere.
#[tokio::test]
async fn the_first_admins_password_is_written_to_a_private_file_not_printed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (hub, printed) = Hub::start_plain(dir.path(), &[]).await.unwrap();
    let file = dir.path().join("admin-password");
    let password = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(password.len() >= 8);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        printed.iter().all(|line| !line.contains(&password)),
        "printed: {printed:?}"
    );
    hub.login("admin@localhost", &password).await.unwrap();
}

/// `admin create` takes its password from a file (or stdin, or PLUGBOARD_ADMIN_PASSWORD), never
/// from the command line, where `ps` shows it to every user.
#[tokio::test]
async fn admin_create_reads_its_password_from_a_file_not_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let refused = plugboard(&[
        "admin",
        "create",
        "--data-dir",
        data,
        "--email",
        "ops@example.com",
        "--password",
        "hunter2-hunter2",
    ]);
    assert!(refused.is_err(), "--password was accepted");
    let secret = dir.path().join("pw.txt");
    std::fs::write(&secret, "from-a-file-42\n").unwrap();
    let out = plugboard(&[
        "admin",
        "create",
        "--data-dir",
        data,
        "--email",
        "ops@example.com",
        "--password-file",
        secret.to_str().unwrap(),
    ])
    .unwrap();
    assert!(!out.contains("from-a-file-42"), "{out}");
    let (hub, _) = Hub::start_plain(dir.path(), &[]).await.unwrap();
    hub.login("ops@example.com", "from-a-file-42").await.unwrap();
    assert!(
        !dir.path().join("admin-password").exists(),
        "an admin existed: none was made up"
    );
}

/// Issue 11: the database URL, password and all, could end up in an error message.
#[test]
fn a_database_password_never_shows_in_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(plugboard_tests::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env(
            "PLUGBOARD_DATABASE_URL",
            "postgres://pbuser:Sup3rS3cret@127.0.0.1:1/nowhere",
        )
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("pbuser:***@127.0.0.1:1"), "{said}");
    assert!(!said.contains("Sup3rS3cret"), "{said}");
}
