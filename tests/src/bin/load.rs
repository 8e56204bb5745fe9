//! The chat load benchmark: one hub on SQLite, thousands of widget connections and hundreds of
//! agent consoles, customer→agent messages measured end to end (widget send → agent receive).
//!
//! Open loop: every message has a time it is due, fixed before the run (each widget one every
//! widgets/rate seconds, phases spread evenly), and is sent then or, if the generator is behind,
//! as soon as it can be; nothing is skipped, and latency is counted from the due time. Only
//! messages due inside the measured window count (a warm-up comes first). Every message carries
//! its own id (`client_id` `w<widget>-<n>`): the agents record each one they receive, so a message
//! the hub acked but no agent got within the grace period is lost, and one received twice is
//! duplicated. Afterwards the hub's own record of every conversation (`GET
//! /api/v1/interactions/{id}`) is read and its stored count reported beside the generator's.
//!
//! cargo build --release --bin plugboard --bin plugboard-load
//! PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-load --widgets 2000 --agents 200 --rate 1000 --seconds 30
//!
//! Flags (all optional): --widgets N --agents N --rate MSG_PER_S --seconds S --warmup S
//! --grace S --body-bytes N --json FILE (appends one JSON object per run) --nodes N.
//!
//! With `--nodes 2` (or more) the hubs run as one site on PostgreSQL and Redis
//! (`PLUGBOARD_TEST_POSTGRES`, `PLUGBOARD_TEST_REDIS`, a fresh database and key prefix per run);
//! agent n's console is on node n mod N and widget n on node n+1 mod N, so with two nodes every
//! message crosses from one node to the other. CPU and memory are the sum over the nodes.
//! `--shared 1` runs a single node the same way (PostgreSQL and Redis), to compare with.

use anyhow::{Context, Result, bail, ensure};
use futures_util::StreamExt;
use plugboard_tests::measure::{self, MessageId, Receipt, Scheduled, Window};
use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, cpu_secs, rss_mib, scratch_dir};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    widgets: usize,
    agents: usize,
    rate: f64,
    seconds: u64,
    warmup: u64,
    grace: u64,
    body_bytes: usize,
    json: Option<PathBuf>,
    nodes: usize,
    shared: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        widgets: 2000,
        agents: 200,
        rate: 1000.0,
        seconds: 30,
        warmup: 3,
        grace: 10,
        body_bytes: 100,
        json: None,
        nodes: 1,
        shared: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let [flag, value] = pair else {
            bail!("flags take a value")
        };
        let number = || value.parse::<u64>().with_context(|| format!("{flag} {value}"));
        match flag.as_str() {
            "--widgets" => a.widgets = number()? as usize,
            "--agents" => a.agents = number()? as usize,
            "--rate" => a.rate = number()? as f64,
            "--seconds" => a.seconds = number()?,
            "--warmup" => a.warmup = number()?,
            "--grace" => a.grace = number()?,
            "--body-bytes" => a.body_bytes = number()? as usize,
            "--json" => a.json = Some(PathBuf::from(value)),
            "--nodes" => a.nodes = number()? as usize,
            "--shared" => a.shared = number()? > 0,
            other => bail!("unknown flag {other}"),
        }
    }
    ensure!(
        a.widgets > 0 && a.agents > 0 && a.rate > 0.0 && a.seconds > 0 && a.nodes > 0,
        "nothing to run"
    );
    ensure!((1..=4000).contains(&a.body_bytes), "--body-bytes 1 to 4000");
    Ok(a)
}

/// µs since the run's epoch, the one clock of every widget and agent in this process.
fn micros(epoch: Instant) -> u64 {
    epoch.elapsed().as_micros() as u64
}

fn at(epoch: Instant, us: u64) -> tokio::time::Instant {
    tokio::time::Instant::from_std(epoch + Duration::from_micros(us))
}

/// One widget's run: sends each of its messages when due (late ones at once, none skipped),
/// notes the acks, and stops once everything is sent and acked or at `deadline_us`.
async fn widget(
    mut w: Socket,
    mut log: Vec<Scheduled>,
    epoch: Instant,
    deadline_us: u64,
    body_bytes: usize,
    errors: Arc<AtomicU64>,
) -> Vec<Scheduled> {
    let deadline = at(epoch, deadline_us);
    let (mut next, mut sent, mut acked) = (0usize, 0usize, 0usize);
    while next < log.len() || acked < sent {
        let due = log.get(next).map_or(deadline, |s| at(epoch, s.due_us));
        tokio::select! {
            _ = tokio::time::sleep_until(due), if next < log.len() => {
                let client_id = log[next].id.client_id();
                let mut body = format!("{client_id} ");
                while body.len() < body_bytes {
                    body.push('x');
                }
                body.truncate(body_bytes);
                let frame = json!({"type": "message", "client_id": client_id, "body": body});
                if w.send(frame).await.is_err() {
                    break;
                }
                log[next].sent_us = Some(micros(epoch));
                next += 1;
                sent += 1;
            }
            frame = w.recv_within(Duration::from_secs(3600)) => match frame {
                Ok(frame) if frame["type"] == "message.ack" => {
                    let id = frame["client_id"].as_str().and_then(MessageId::parse);
                    if let Some(s) = id.and_then(|id| log.get_mut(id.seq as usize))
                        && !s.acked
                    {
                        s.acked = true;
                        acked += 1;
                    }
                }
                Ok(frame) if frame["type"] == "error" => {
                    if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("a widget got an error: {frame}");
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    log
}

/// The customer messages the hub stored for each conversation, by the generator's ids.
async fn stored_ids(hub: &Hub, token: &str, interactions: &[String]) -> Result<HashSet<MessageId>> {
    let client = reqwest::Client::new();
    let fetches = interactions.iter().map(|id| {
        let request = client
            .get(format!("{}/api/v1/interactions/{id}", hub.base))
            .bearer_auth(token);
        async move {
            let r = request.send().await?;
            ensure!(r.status().is_success(), "GET interaction {id}: {}", r.status());
            anyhow::Ok(r.json::<Value>().await?)
        }
    });
    let mut rows = HashSet::new();
    let mut bodies = futures_util::stream::iter(fetches).buffer_unordered(8);
    while let Some(body) = bodies.next().await {
        let body = body?;
        for m in body["messages"].as_array().into_iter().flatten() {
            if m["sender"] == "customer"
                && let Some(id) = m["client_id"].as_str().and_then(MessageId::parse)
            {
                rows.insert(id);
            }
        }
    }
    Ok(rows)
}

fn ms(v: Option<u64>) -> String {
    v.map_or("–".into(), |us| format!("{:.2}", us as f64 / 1000.0))
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let dir = scratch_dir("load")?;
    let env = [
        ("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "1000000"),
        ("PLUGBOARD_CHAT__STARTS_PER_MINUTE", "1000000"),
        // A generated widget may send faster than a person types (high --rate, few --widgets).
        ("PLUGBOARD_CHAT__MESSAGES_PER_MINUTE", "1000000"),
    ];
    let (_site, hubs) = plugboard_tests::start_site(&dir, &env, a.nodes, a.shared, true).await?;
    let hub = hubs[0].clone();
    let pids: Vec<u32> = hubs.iter().map(|h| h.pid()).collect();
    let cpu = |pids: &[u32]| pids.iter().map(|p| cpu_secs(*p)).sum::<f64>();
    let memory = |pids: &[u32]| {
        pids.iter()
            .map(|p| rss_mib(*p))
            .fold((0.0, 0.0), |(r, k), (a, b)| (r + a, k + b))
    };
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await?;
    let queue = json!({"name": "Load", "required_skills": [{"skill": "load"}], "offer_timeout_secs": 600});
    let (status, body) = hub.call("POST", "/queues", Some(&admin), Some(queue)).await?;
    ensure!(status == 200, "creating the queue: {body}");
    let per_agent = a.widgets.div_ceil(a.agents) as u16;
    eprintln!("creating {} agents with chat capacity {per_agent}", a.agents);
    for n in 0..a.agents {
        let agent = json!({"email": format!("load{n}@plugboard.example"), "name": format!("Load {n}"),
            "password": DEMO_PASSWORD, "skills": {"load": 1},
            "capacity": {"voice": 1, "chat": per_agent, "email": 1, "messaging": 1}});
        let (status, body) = hub.call("POST", "/agents", Some(&admin), Some(agent)).await?;
        ensure!(status == 200, "creating an agent: {body}");
    }

    let epoch = Instant::now();
    let receipts = Arc::new(Mutex::new(Vec::<Receipt>::new()));
    let joined = Arc::new(AtomicU64::new(0));
    eprintln!("agents log in");
    for n in 0..a.agents {
        let mut socket = hubs[n % a.nodes]
            .agent(&format!("load{n}@plugboard.example"))
            .await?;
        socket
            .send(json!({"type": "state.set", "state": "available"}))
            .await?;
        let (receipts, joined) = (receipts.clone(), joined.clone());
        tokio::spawn(async move {
            while let Ok(frame) = socket.recv_within(Duration::from_secs(3600)).await {
                match frame["type"].as_str() {
                    Some("offer") => {
                        let id = frame["interaction"]["id"].clone();
                        let accept = json!({"type": "offer.accept", "interaction_id": id});
                        if socket.send(accept).await.is_err() {
                            break;
                        }
                    }
                    Some("interaction.assigned") => {
                        joined.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("message") if frame["message"]["sender"] == "customer" => {
                        let at_us = micros(epoch);
                        if let Some(id) = frame["message"]["client_id"].as_str().and_then(MessageId::parse) {
                            receipts
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(Receipt { id, at_us });
                        }
                    }
                    _ => {}
                }
            }
        });
    }

    eprintln!("{} widgets start chats", a.widgets);
    let mut widgets = Vec::with_capacity(a.widgets);
    let mut interactions = Vec::with_capacity(a.widgets);
    for chunk in (0..a.widgets).collect::<Vec<_>>().chunks(50) {
        let starts = chunk.iter().map(|n| {
            let hub = hubs[(n + 1) % a.nodes].clone();
            async move {
                let mut w: Socket = hub.widget().await?;
                w.send(json!({"type": "hello", "queue": "Load"})).await?;
                w.expect("ready").await?;
                w.send(json!({"type": "start", "name": format!("Visitor {n}"), "email": format!("v{n}@load.example")}))
                    .await?;
                let started = w.expect("started").await?;
                let id = started["interaction_id"].as_str().context("started: no interaction_id")?;
                anyhow::Ok((w, id.to_owned()))
            }
        });
        for started in futures_util::future::join_all(starts).await {
            let (w, id) = started?;
            widgets.push(w);
            interactions.push(id);
        }
    }
    let assigned_by = Instant::now() + Duration::from_secs(120);
    while joined.load(Ordering::Relaxed) < a.widgets as u64 {
        ensure!(
            Instant::now() < assigned_by,
            "only {} of {} chats were assigned within 120 s",
            joined.load(Ordering::Relaxed),
            a.widgets
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rss_idle, _) = memory(&pids);

    // The schedule: widget n's k-th message is due at start + (n / widgets + k) × period.
    let period_us = a.widgets as f64 * 1e6 / a.rate;
    let start_us = micros(epoch) + 200_000;
    let window = Window {
        start_us: start_us + a.warmup * 1_000_000,
        end_us: start_us + (a.warmup + a.seconds) * 1_000_000,
    };
    let deadline_us = window.end_us + a.grace * 1_000_000;
    eprintln!(
        "all {} chats assigned; hub RSS {rss_idle:.0} MiB; {} msg/s for {} s after {} s of warm-up",
        a.widgets, a.rate, a.seconds, a.warmup
    );
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(widgets.len());
    for (n, w) in widgets.into_iter().enumerate() {
        let phase = n as f64 / a.widgets as f64 * period_us;
        let log: Vec<Scheduled> = (0u32..)
            .map(|k| Scheduled {
                id: MessageId {
                    widget: n as u32,
                    seq: k,
                },
                due_us: start_us + (phase + f64::from(k) * period_us) as u64,
                sent_us: None,
                acked: false,
            })
            .take_while(|s| s.due_us < window.end_us)
            .collect();
        tasks.push(tokio::spawn(widget(
            w,
            log,
            epoch,
            deadline_us,
            a.body_bytes,
            errors.clone(),
        )));
    }

    tokio::time::sleep_until(at(epoch, window.start_us)).await;
    let (cpu_before, own_before) = (cpu(&pids), cpu_secs(std::process::id()));
    tokio::time::sleep_until(at(epoch, window.end_us)).await;
    let hub_cpu = cpu(&pids) - cpu_before;
    let own_cpu = cpu_secs(std::process::id()) - own_before;
    let (rss, peak) = memory(&pids);

    let mut scheduled = Vec::new();
    for task in tasks {
        scheduled.extend(task.await?);
    }
    // Grace: wait for every acked message to reach an agent, or for the deadline.
    let mut waiting: HashSet<MessageId> = scheduled.iter().filter(|s| s.acked).map(|s| s.id).collect();
    let mut seen = 0;
    loop {
        {
            let r = receipts.lock().unwrap_or_else(|p| p.into_inner());
            for receipt in &r[seen..] {
                waiting.remove(&receipt.id);
            }
            seen = r.len();
        }
        if waiting.is_empty() || micros(epoch) >= deadline_us {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let receipts = receipts.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let d = measure::tally(&scheduled, &receipts, window);
    let whole = measure::tally(
        &scheduled,
        &receipts,
        Window {
            start_us: 0,
            end_us: u64::MAX,
        },
    );
    let rows = stored_ids(&hub, &admin, &interactions).await?;
    let st = measure::stored(&scheduled, &receipts, &rows, window);
    let during = measure::received_during(&receipts, window);
    let us_per_msg = hub_cpu * 1e6 / during.max(1) as f64;
    let secs = window.secs();
    let p = |q: f64| measure::percentile(&d.latency_us, q);
    let lag99 = measure::percentile(&d.send_lag_us, 0.99);

    println!(
        "| {}{} widgets, {} agents, {} msg/s, {} s | {} due, {} sent ({:.0}/s), {} acked | {} ({:.0}/s) | {} lost, {} duplicated, {} unacked | {} stored | {} / {} / {} / {} ms | {} ms | {:.0} %, {:.0} µs/msg | {:.0} % | {rss:.0} MiB (peak {peak:.0}) |",
        match (a.nodes, a.nodes > 1 || a.shared) {
            (1, false) => String::new(),
            (1, true) => "1 node on PostgreSQL + Redis, ".into(),
            (n, _) => format!("{n} nodes on PostgreSQL + Redis, "),
        },
        a.widgets,
        a.agents,
        a.rate,
        a.seconds,
        d.scheduled,
        d.sent,
        d.sent as f64 / secs,
        d.acked,
        d.delivered,
        d.delivered_per_sec(window),
        d.lost,
        d.duplicated,
        d.unacked,
        st.stored,
        ms(p(0.50)),
        ms(p(0.99)),
        ms(p(0.999)),
        ms(p(1.0)),
        ms(lag99),
        hub_cpu / secs * 100.0,
        us_per_msg,
        own_cpu / secs * 100.0,
    );
    let errors = errors.load(Ordering::Relaxed);
    if whole.lost + whole.duplicated + whole.unknown + st.acked_not_stored + st.stored_not_delivered + errors
        > 0
    {
        eprintln!(
            "whole run (warm-up included): {} lost, {} duplicated, {} unknown ids received; window: {} acked but not stored, {} stored but never delivered; {errors} error frames",
            whole.lost, whole.duplicated, whole.unknown, st.acked_not_stored, st.stored_not_delivered
        );
    }
    if let Some(path) = &a.json {
        let record = json!({
            "tool": "plugboard-load", "nodes": a.nodes, "shared": a.nodes > 1 || a.shared, "widgets": a.widgets, "agents": a.agents, "rate": a.rate,
            "seconds": a.seconds, "warmup_s": a.warmup, "grace_s": a.grace, "body_bytes": a.body_bytes,
            "scheduled": d.scheduled, "sent": d.sent, "acked": d.acked, "delivered": d.delivered,
            "delivered_per_s": d.delivered_per_sec(window), "lost": d.lost, "duplicated": d.duplicated,
            "unacked": d.unacked, "unknown": whole.unknown, "error_frames": errors,
            "hub_stored": st.stored, "hub_acked_not_stored": st.acked_not_stored,
            "hub_stored_not_delivered": st.stored_not_delivered,
            "whole_run_lost": whole.lost, "whole_run_duplicated": whole.duplicated,
            "latency_p50_us": p(0.5), "latency_p99_us": p(0.99), "latency_p999_us": p(0.999),
            "latency_max_us": p(1.0), "send_lag_p99_us": lag99,
            "hub_cpu_pct": hub_cpu / secs * 100.0, "hub_cpu_us_per_msg": us_per_msg,
            "received_in_window": during, "load_tool_cpu_pct": own_cpu / secs * 100.0,
            "hub_rss_mib": rss, "hub_peak_rss_mib": peak,
        });
        plugboard_tests::append_json_line(path, &record)?;
    }
    drop((hub, hubs)); // the last handles: stop the hubs
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
