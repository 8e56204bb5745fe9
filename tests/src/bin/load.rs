//! The chat load benchmark: one hub on SQLite, thousands of widget connections and hundreds of
//! agent consoles, customer→agent messages measured end to end (widget send → agent receive).
//!
//! cargo build --release --bin plugboard --bin plugboard-load
//! PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-load --widgets 2000 --agents 200 --rate 1000 --seconds 30

use anyhow::{Context, Result, bail};
use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, cpu_secs, rss_mib, scratch_dir};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    widgets: usize,
    agents: usize,
    rate: u64,
    seconds: u64,
}

fn args() -> Result<Args> {
    let mut a = Args {
        widgets: 2000,
        agents: 200,
        rate: 1000,
        seconds: 30,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let [flag, value] = pair else {
            bail!("flags take a value")
        };
        let value: u64 = value.parse().with_context(|| format!("{flag} {value}"))?;
        match flag.as_str() {
            "--widgets" => a.widgets = value as usize,
            "--agents" => a.agents = value as usize,
            "--rate" => a.rate = value,
            "--seconds" => a.seconds = value,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let dir = scratch_dir("load")?;
    let env = [
        ("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "1000000"),
        ("PLUGBOARD_CHAT__STARTS_PER_MINUTE", "1000000"),
    ];
    let hub = Arc::new(Hub::start(&dir, &env).await?);
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await?;
    let queue = json!({"name": "Load", "required_skills": [{"skill": "load"}], "offer_timeout_secs": 600});
    let (status, body) = hub.call("POST", "/queues", Some(&admin), Some(queue)).await?;
    anyhow::ensure!(status == 200, "creating the queue: {body}");
    let per_agent = a.widgets.div_ceil(a.agents) as u16;
    eprintln!("creating {} agents with chat capacity {per_agent}", a.agents);
    for n in 0..a.agents {
        let agent = json!({"email": format!("load{n}@plugboard.example"), "name": format!("Load {n}"),
            "password": DEMO_PASSWORD, "skills": {"load": 1},
            "capacity": {"voice": 1, "chat": per_agent, "email": 1, "messaging": 1}});
        let (status, body) = hub.call("POST", "/agents", Some(&admin), Some(agent)).await?;
        anyhow::ensure!(status == 200, "creating an agent: {body}");
    }

    let epoch = Instant::now();
    let latencies = Arc::new(Mutex::new(Vec::<u64>::new()));
    let received = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let joined = Arc::new(AtomicU64::new(0));
    eprintln!("agents log in");
    for n in 0..a.agents {
        let mut socket = hub.agent(&format!("load{n}@plugboard.example")).await?;
        socket
            .send(json!({"type": "state.set", "state": "available"}))
            .await?;
        let (latencies, received, measuring, joined) = (
            latencies.clone(),
            received.clone(),
            measuring.clone(),
            joined.clone(),
        );
        tokio::spawn(async move {
            while let Ok(frame) = socket.recv_within(Duration::from_secs(3600)).await {
                match frame["type"].as_str() {
                    Some("offer") => {
                        let id = frame["interaction"]["id"].clone();
                        if socket
                            .send(json!({"type": "offer.accept", "interaction_id": id}))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    Some("interaction.assigned") => {
                        joined.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("message") if frame["message"]["sender"] == "customer" => {
                        let now = epoch.elapsed().as_micros() as u64;
                        let sent = frame["message"]["body"]
                            .as_str()
                            .and_then(|b| b.strip_prefix("t="));
                        if let Some(sent) = sent.and_then(|s| s.parse::<u64>().ok())
                            && measuring.load(Ordering::Relaxed)
                        {
                            received.fetch_add(1, Ordering::Relaxed);
                            latencies.lock().unwrap().push(now.saturating_sub(sent));
                        }
                    }
                    _ => {}
                }
            }
        });
    }

    eprintln!("{} widgets start chats", a.widgets);
    let mut widgets = Vec::with_capacity(a.widgets);
    for chunk in (0..a.widgets).collect::<Vec<_>>().chunks(50) {
        let starts = chunk.iter().map(|n| {
            let hub = hub.clone();
            async move {
                let mut w: Socket = hub.widget().await?;
                w.send(json!({"type": "hello", "queue": "Load"})).await?;
                w.expect("ready").await?;
                w.send(json!({"type": "start", "name": format!("Visitor {n}"), "email": format!("v{n}@load.example")}))
                    .await?;
                w.expect("started").await?;
                anyhow::Ok(w)
            }
        });
        for w in futures_util::future::join_all(starts).await {
            widgets.push(w?);
        }
    }
    while joined.load(Ordering::Relaxed) < a.widgets as u64 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rss_idle, _) = rss_mib(hub.pid());
    eprintln!(
        "all {} chats assigned; hub RSS {rss_idle:.0} MiB; sending {} msg/s for {} s",
        a.widgets, a.rate, a.seconds
    );

    // Each widget sends one message every `period`, phases spread evenly: `rate` messages a second in all.
    let period = Duration::from_secs_f64(a.widgets as f64 / a.rate as f64);
    let sent = Arc::new(AtomicU64::new(0));
    let warmup = Duration::from_secs(3);
    let stop_at = Instant::now() + warmup + Duration::from_secs(a.seconds);
    let n_widgets = widgets.len();
    for (n, mut w) in widgets.into_iter().enumerate() {
        let sent = sent.clone();
        tokio::spawn(async move {
            tokio::time::sleep(period.mul_f64(n as f64 / n_widgets as f64)).await;
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut k = 0u64;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if Instant::now() >= stop_at { break }
                        let body = format!("t={}", epoch.elapsed().as_micros());
                        k += 1;
                        if w.send(json!({"type": "message", "client_id": format!("m{k}"), "body": body})).await.is_err() { break }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    frame = w.recv_within(Duration::from_secs(3600)) => if frame.is_err() { break },
                }
            }
        });
    }
    tokio::time::sleep(warmup).await;
    let cpu_before = cpu_secs(hub.pid());
    let sent_before = sent.load(Ordering::Relaxed);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_secs(hub.pid()) - cpu_before;
    let sent_n = sent.load(Ordering::Relaxed) - sent_before;
    let (rss, peak) = rss_mib(hub.pid());
    let mut l = latencies.lock().unwrap().clone();
    l.sort_unstable();
    let got = received.load(Ordering::Relaxed);
    println!(
        "| {} widgets, {} agents, target {} msg/s | sent {:.0}/s | delivered {:.0}/s | p50 {:.2} ms | p99 {:.2} ms | max {:.2} ms | hub RSS {:.0} MiB (peak {:.0}) | hub CPU {:.0} % of one core |",
        a.widgets,
        a.agents,
        a.rate,
        sent_n as f64 / elapsed,
        got as f64 / elapsed,
        percentile(&l, 0.50),
        percentile(&l, 0.99),
        percentile(&l, 1.0),
        rss,
        peak,
        cpu / elapsed * 100.0
    );
    drop(hub); // the last handle: stops the hub
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
