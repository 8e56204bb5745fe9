//! The routers' failover, measured: two hub nodes on one PostgreSQL and one Redis; again and
//! again, the node leading the routers is killed with `kill -9`, a customer starts a chat on the
//! other node at that instant, and the time until an agent's console (also on the surviving node)
//! is offered that chat is taken: the time from losing the leader to the first contact routed by
//! the new one. The killed node is started again and joins as a follower before the next kill.
//!
//! cargo build --release --bin plugboard --bin plugboard-failover
//! PLUGBOARD_BIN=target/release/plugboard PLUGBOARD_TEST_POSTGRES=postgres://root@127.0.0.1:5432/test \
//!   PLUGBOARD_TEST_REDIS=redis://127.0.0.1:6379 target/release/plugboard-failover --kills 20
//!
//! Flags (optional): --kills N (20) --json FILE (appends one JSON object).

use anyhow::{Context, Result, bail};
use plugboard_tests::measure::percentile;
use plugboard_tests::{DEMO_PASSWORD, Hub, SharedSite, Socket, scratch_dir};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

async fn leads(hub: &Hub) -> bool {
    matches!(hub.readyz().await, Ok((_, body)) if body["router"] == "here")
}

async fn expect_state(agent: &mut Socket, state: &str) -> Result<()> {
    agent.send(json!({"type": "state.set", "state": state})).await?;
    loop {
        let frame = agent.expect("agent.state").await?;
        if frame["state"] == state {
            return Ok(());
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut kills = 20usize;
    let mut json_out: Option<PathBuf> = None;
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        match pair {
            [flag, n] if flag == "--kills" => kills = n.parse().context("--kills")?,
            [flag, f] if flag == "--json" => json_out = Some(f.into()),
            _ => bail!("flags: --kills N --json FILE"),
        }
    }
    let site = SharedSite::fresh()
        .await?
        .context("PLUGBOARD_TEST_POSTGRES and PLUGBOARD_TEST_REDIS are needed")?;
    let env = [
        site.env().as_slice(),
        &[
            ("PLUGBOARD_CHAT__STARTS_PER_MINUTE", "10000"),
            plugboard_tests::QUIET,
        ],
    ]
    .concat();
    let dirs = [scratch_dir("failover-a")?, scratch_dir("failover-b")?];
    let mut nodes: [Option<Hub>; 2] = [None, None];
    nodes[0] = Some(Hub::start(&dirs[0], &env).await?);
    let started = Instant::now();
    while !leads(nodes[0].as_ref().unwrap()).await {
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the first node never led");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nodes[1] = Some(Hub::start(&dirs[1], &env).await?);

    // Bob has room for every chat of the run.
    let first = nodes[0].as_ref().unwrap();
    let admin = first.login("admin@plugboard.example", DEMO_PASSWORD).await?;
    let bob = first.named(&admin, "/agents", "Bob Martin").await?["id"]
        .as_str()
        .context("Bob's id")?
        .to_string();
    let capacity = json!({"capacity": {"voice": 1, "chat": 50, "email": 5, "messaging": 5}});
    let (status, body) = first
        .call("PATCH", &format!("/agents/{bob}"), Some(&admin), Some(capacity))
        .await?;
    if status != 200 {
        bail!("raising Bob's capacity: {status} {body}");
    }

    let mut times_ms = Vec::new();
    for kill in 0..kills {
        let mut leader = None;
        for (i, node) in nodes.iter().enumerate() {
            if leads(node.as_ref().unwrap()).await {
                leader = Some(i);
            }
        }
        let leader = leader.context("no node leads")?;
        let survivor = nodes[1 - leader].as_ref().unwrap();
        let mut console = survivor.agent("bob@plugboard.example").await?;
        expect_state(&mut console, "available").await?;
        let mut widget = survivor.widget().await?;
        widget.send(json!({"type": "hello", "queue": "Support"})).await?;
        widget.expect("ready").await?;

        let killed = Instant::now();
        nodes[leader].take().unwrap().kill9();
        widget
            .send(json!({"type": "start", "name": format!("Failover {kill}"), "email": format!("f{kill}@example.com"),
                "message": "hello", "client_id": "open"}))
            .await?;
        let offer = console.expect("offer").await?;
        let routed = killed.elapsed();
        let id = offer["interaction"]["id"]
            .as_str()
            .context("offer id")?
            .to_string();
        widget.expect("started").await?;
        times_ms.push(routed.as_millis() as u64);
        eprintln!(
            "kill {kill}: first contact routed {} ms after the kill",
            routed.as_millis()
        );

        console
            .send(json!({"type": "offer.accept", "interaction_id": id}))
            .await?;
        console.expect("interaction.assigned").await?;
        console
            .send(json!({"type": "interaction.end", "interaction_id": id}))
            .await?;
        console
            .send(json!({"type": "wrap_up", "interaction_id": id, "disposition": "resolved"}))
            .await?;
        loop {
            let updated = console.expect("interaction.updated").await?;
            if updated["interaction"]["state"] == "closed" {
                break;
            }
        }
        drop((console, widget));
        nodes[leader] = Some(Hub::start(&dirs[leader], &env).await?);
    }

    let mut sorted = times_ms.clone();
    sorted.sort_unstable();
    let p = |q| percentile(&sorted, q).unwrap_or_default();
    println!(
        "| kills | p50 ms | p99 ms | max ms |\n|---|---|---|---|\n| {} | {} | {} | {} |",
        sorted.len(),
        p(0.5),
        p(0.99),
        sorted.last().copied().unwrap_or_default()
    );
    if let Some(path) = json_out {
        let record = json!({"bench": "failover", "kills": sorted.len(), "p50_ms": p(0.5), "p99_ms": p(0.99),
            "max_ms": sorted.last(), "times_ms": times_ms, "at": chrono_now()});
        plugboard_tests::append_json_line(&path, &record)?;
    }
    Ok(())
}

fn chrono_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
