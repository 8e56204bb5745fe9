//! The webhook benchmark: WhatsApp deliveries into one hub on SQLite (verify, deduplicate,
//! persist, route), side by side in the same run with the floor, a bare axum server that only
//! checks the signature and answers 200 (`plugboard-hookfloor`).
//!
//! Open loop: delivery i is due at `i / rate` seconds and is sent then, whatever came back
//! before; its answer time runs from when it was due, so a server that falls behind shows in
//! the figures instead of slowing the load (coordinated omission). Only deliveries due inside the
//! measured window count (a warm-up comes first). Each delivery is a documented WhatsApp text
//! message (`connectors/im/tests/payloads/whatsapp/text.json`) with its own `wamid` from one of
//! `--customers` numbers, signed with the app secret. Afterwards the hub's database is read: every
//! delivery it answered 200 is stored, once.
//!
//! cargo build --release --bin plugboard --bin plugboard-hookload --bin plugboard-hookfloor
//! PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-hookload --rate 5000 --seconds 10
//!
//! Flags (optional): --rate N (5000) --seconds S (10) --warmup S (2) --customers N (2000)
//! --json FILE (appends one JSON object per server).

use anyhow::{Context, Result, bail, ensure};
use plugboard_tests::measure::percentile;
use plugboard_tests::{DEMO_PASSWORD, Hub, append_json_line, cpu_secs, scratch_dir};
use serde_json::{Value, json};
use sqlx::{Connection, Row};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const APP_SECRET: &str = "bench-app-secret";
const PHONE_NUMBER_ID: &str = "106540352242922";

struct Args {
    rate: f64,
    seconds: f64,
    warmup: f64,
    customers: usize,
    json: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        rate: 5000.0,
        seconds: 10.0,
        warmup: 2.0,
        customers: 2000,
        json: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        match pair {
            [flag, n] if flag == "--rate" => a.rate = n.parse().context("--rate")?,
            [flag, n] if flag == "--seconds" => a.seconds = n.parse().context("--seconds")?,
            [flag, n] if flag == "--warmup" => a.warmup = n.parse().context("--warmup")?,
            [flag, n] if flag == "--customers" => a.customers = n.parse().context("--customers")?,
            [flag, f] if flag == "--json" => a.json = Some(f.into()),
            _ => bail!("flags: --rate N --seconds S --warmup S --customers N --json FILE"),
        }
    }
    Ok(a)
}

/// Delivery `i`: a text from customer `i % customers`, signed.
fn delivery(template: &Value, i: usize, customers: usize) -> (String, Vec<u8>, String) {
    let mut v = template.clone();
    // Chinese mobile numbers (+86 138…): WhatsApp's wa_id is the number without its plus.
    let customer = format!("86138{:08}", i % customers);
    let value = &mut v["entry"][0]["changes"][0]["value"];
    value["contacts"][0]["wa_id"] = json!(customer);
    value["contacts"][0]["profile"]["name"] = json!(format!("Customer {}", i % customers));
    let id = format!("wamid.load{i}");
    let m = &mut value["messages"][0];
    m["from"] = json!(customer);
    m["id"] = json!(id);
    m["text"]["body"] = json!(format!("Message {i}: does it come in another color?"));
    let body = serde_json::to_vec(&v).unwrap();
    let signature = plugboard_im::whatsapp::sign(APP_SECRET, &body);
    (id, body, signature)
}

struct Outcome {
    due_us: u64,
    status: u16,
    latency_us: u64,
}

struct Run {
    answered_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: usize,
    cpu_secs: f64,
    /// The external ids answered 200 (all of the run, warm-up included).
    ok: Vec<String>,
}

/// Sends every delivery to `url` on its schedule; measures the window.
async fn drive(a: &Args, url: &str, deliveries: &[(String, Vec<u8>, String)], pid: u32) -> Result<Run> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .timeout(Duration::from_secs(30))
        .build()?;
    let outcomes: Arc<Mutex<Vec<(usize, Outcome)>>> =
        Arc::new(Mutex::new(Vec::with_capacity(deliveries.len())));
    let epoch = Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::with_capacity(deliveries.len());
    let window = ((a.warmup * 1e6) as u64, ((a.warmup + a.seconds) * 1e6) as u64);
    let mut cpu_at_window = None;
    for (i, (_, body, signature)) in deliveries.iter().enumerate() {
        let due_us = (i as f64 / a.rate * 1e6) as u64;
        let due = epoch + Duration::from_micros(due_us);
        tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        if cpu_at_window.is_none() && due_us >= window.0 {
            cpu_at_window = Some((cpu_secs(pid), Instant::now()));
        }
        let request = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature.as_str())
            .body(body.clone());
        let outcomes = outcomes.clone();
        tasks.push(tokio::spawn(async move {
            let status = match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status
                }
                Err(_) => 0,
            };
            let latency_us = due.elapsed().as_micros() as u64;
            outcomes.lock().unwrap().push((
                i,
                Outcome {
                    due_us,
                    status,
                    latency_us,
                },
            ));
        }));
    }
    for task in tasks {
        task.await?;
    }
    let (cpu_start, wall_start) = cpu_at_window.context("the window never started")?;
    let cpu = cpu_secs(pid) - cpu_start;
    let busy = wall_start.elapsed().as_secs_f64().max(a.seconds);
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let in_window: Vec<&Outcome> = outcomes
        .iter()
        .map(|(_, o)| o)
        .filter(|o| o.due_us >= window.0 && o.due_us < window.1)
        .collect();
    let mut latencies: Vec<u64> = in_window
        .iter()
        .filter(|o| o.status == 200)
        .map(|o| o.latency_us)
        .collect();
    latencies.sort_unstable();
    let ms = |p: f64| percentile(&latencies, p).unwrap_or(0) as f64 / 1000.0;
    // Answered per second: the window's 200s over the window, or over longer when the last of
    // them came back after it.
    let last_answer_us = in_window
        .iter()
        .map(|o| o.due_us + o.latency_us)
        .max()
        .unwrap_or(window.1);
    let span = ((last_answer_us.max(window.1) - window.0) as f64 / 1e6).max(a.seconds);
    Ok(Run {
        answered_per_s: latencies.len() as f64 / span,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        max_ms: latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        errors: in_window.iter().filter(|o| o.status != 200).count(),
        cpu_secs: cpu * a.seconds / busy,
        ok: outcomes
            .iter()
            .filter(|(_, o)| o.status == 200)
            .map(|(i, _)| deliveries[*i].0.clone())
            .collect(),
    })
}

fn start_floor() -> Result<(std::process::Child, String)> {
    let exe = std::env::current_exe()?;
    let floor = exe.with_file_name("plugboard-hookfloor");
    let mut child = Command::new(&floor)
        .args(["--app-secret", APP_SECRET])
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (cargo build --bin plugboard-hookfloor)",
                floor.display()
            )
        })?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("floor stdout")?).read_line(&mut line)?;
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .context("the floor did not say where it listens")?
        .to_owned();
    Ok((child, base))
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let template: Value = serde_json::from_slice(&std::fs::read(
        [
            env!("CARGO_MANIFEST_DIR"),
            "..",
            "connectors",
            "im",
            "tests",
            "payloads",
            "whatsapp",
            "text.json",
        ]
        .iter()
        .collect::<PathBuf>(),
    )?)?;
    let n = (a.rate * (a.warmup + a.seconds)) as usize;
    let deliveries: Vec<(String, Vec<u8>, String)> =
        (0..n).map(|i| delivery(&template, i, a.customers)).collect();
    let mut records = Vec::new();

    // The floor.
    let (mut floor, floor_base) = start_floor()?;
    let run = drive(
        &a,
        &format!("{floor_base}/webhooks/floor"),
        &deliveries,
        floor.id(),
    )
    .await;
    let _ = floor.kill();
    let _ = floor.wait();
    let floor_run = run?;
    records.push(("floor", floor_run));

    // The hub.
    let dir = scratch_dir("hookload")?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let hub = Hub::start(&dir, &[plugboard_tests::QUIET]).await?;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await?;
    let support = hub.named(&admin, "/queues", "Support").await?;
    let (status, inbox) = hub
        .call(
            "POST",
            "/inboxes",
            Some(&admin),
            Some(
                json!({"platform": "whatsapp", "name": "Bench", "queue_id": support["id"],
                "settings": {"phone_number_id": PHONE_NUMBER_ID},
                "secrets": {"access_token": "t", "app_secret": APP_SECRET, "verify_token": "v"}}),
            ),
        )
        .await?;
    ensure!(status == 201, "adding the inbox: {status} {inbox}");
    let url = format!(
        "{}{}",
        hub.base,
        inbox["webhook_path"].as_str().context("webhook_path")?
    );
    let hub_run = drive(&a, &url, &deliveries, hub.pid()).await?;

    // The hub's own records: every delivery it answered 200 is stored, once.
    let entry_point = format!("inbox:{}", inbox["id"].as_str().context("inbox id")?);
    let mut conn = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.join("plugboard.db").display()
    ))
    .await?;
    let stored: Vec<String> = sqlx::query("SELECT external_id FROM message_details WHERE entry_point = ?")
        .bind(&entry_point)
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    let unique: HashSet<&str> = stored.iter().map(String::as_str).collect();
    let lost = hub_run
        .ok
        .iter()
        .filter(|id| !unique.contains(id.as_str()))
        .count();
    let conversations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM interactions WHERE entry_point = ?")
        .bind(&entry_point)
        .fetch_one(&mut conn)
        .await?;
    drop(conn);
    drop(hub);
    ensure!(lost == 0, "{lost} deliveries answered 200 are not stored");
    ensure!(stored.len() == unique.len(), "a delivery stored twice");
    records.push(("hub", hub_run));

    let floor_rate = records[0].1.answered_per_s;
    for (server, r) in &records {
        let record = json!({
            "bench": "webhooks", "server": server,
            "at": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
            "rate": a.rate, "seconds": a.seconds, "customers": a.customers,
            "answered_per_s": r.answered_per_s, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "max_ms": r.max_ms,
            "errors": r.errors,
            "cpu_us_per_delivery": r.cpu_secs * 1e6 / (r.answered_per_s * a.seconds).max(1.0),
            "vs_floor": r.answered_per_s / floor_rate,
            "stored": if *server == "hub" { json!(stored.len()) } else { Value::Null },
            "conversations": if *server == "hub" { json!(conversations) } else { Value::Null },
        });
        println!("{record}");
        if let Some(file) = &a.json {
            append_json_line(file, &record)?;
        }
    }
    Ok(())
}
