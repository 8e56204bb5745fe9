//! The wallboard benchmark: one hub on SQLite, hundreds of agent consoles changing state and a
//! few supervisors watching `/ws/supervisor`; how fast each state change reaches every
//! supervisor's board, how many boards they get, and what the hub spends on it.
//!
//! Open loop: every state change has a time it is due, fixed before the run (change i is due at
//! i/rate seconds, agent i mod agents makes it, alternating Available and Break), and is sent
//! then or, if the generator is behind, as soon as it can be; latency runs from the due time to
//! the first board of each supervisor that shows the agent in the new state with the new `since`.
//! Only changes due inside the measured window count (a warm-up comes first). A change that some
//! supervisor never saw within the grace period is missed. The hub's own record of presence
//! (`agent_events` in its SQLite file) is counted beside the changes the consoles had confirmed.
//!
//! cargo build --release --bin plugboard --bin plugboard-wallload
//! PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-wallload --agents 1000 --supervisors 20 --rate 200 --seconds 30
//!
//! Flags (all optional): --agents N --supervisors N --rate CHANGES_PER_S --seconds S --warmup S
//! --grace S --json FILE (appends one JSON object per run).

use anyhow::{Context, Result, bail, ensure};
use futures_util::StreamExt;
use plugboard_tests::measure::{Window, percentile};
use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, cpu_secs, rss_mib, scratch_dir};
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Args {
    agents: usize,
    supervisors: usize,
    rate: f64,
    seconds: u64,
    warmup: u64,
    grace: u64,
    json: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        agents: 1000,
        supervisors: 20,
        rate: 200.0,
        seconds: 30,
        warmup: 3,
        grace: 5,
        json: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let [flag, value] = pair else {
            bail!("flags take a value")
        };
        let number = || value.parse::<u64>().with_context(|| format!("{flag} {value}"));
        match flag.as_str() {
            "--agents" => a.agents = number()? as usize,
            "--supervisors" => a.supervisors = number()? as usize,
            "--rate" => a.rate = number()? as f64,
            "--seconds" => a.seconds = number()?,
            "--warmup" => a.warmup = number()?,
            "--grace" => a.grace = number()?,
            "--json" => a.json = Some(PathBuf::from(value)),
            other => bail!("unknown flag {other}"),
        }
    }
    ensure!(
        a.agents > 0 && a.supervisors > 0 && a.rate > 0.0 && a.seconds > 0,
        "nothing to run"
    );
    // Each agent changes every agents/rate seconds; a board goes out at most every 250 ms, so a
    // change that lasts less than a second might never be on one.
    ensure!(
        a.agents as f64 / a.rate >= 1.0,
        "at most one change per agent per second: raise --agents or lower --rate"
    );
    Ok(a)
}

/// The two clocks of the run: µs since `epoch` for scheduling, and the wall clock the hub's
/// `since` is on.
#[derive(Clone, Copy)]
struct Clock {
    epoch: Instant,
    wall_ms: i64,
}

impl Clock {
    fn now() -> Clock {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Clock {
            epoch: Instant::now(),
            wall_ms: wall.as_millis() as i64,
        }
    }

    fn micros(self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn at(self, us: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.epoch + Duration::from_micros(us))
    }

    /// The wall-clock ms of run time `us`.
    fn wall(self, us: u64) -> i64 {
        self.wall_ms + (us / 1000) as i64
    }
}

/// How far the hub's `since` may lie before this process's reading of the same moment.
const SLACK_MS: i64 = 50;

/// One state change an agent makes.
#[derive(Debug, Clone)]
struct Change {
    agent: usize,
    due_us: u64,
    available: bool,
    sent_us: Option<u64>,
    confirmed: bool,
}

/// A supervisor's board showed `agent` in a state that began at `since` (hub ms).
struct Seen {
    agent: usize,
    since: i64,
    available: bool,
    at_us: u64,
}

/// One agent's run: each change sent when due (late ones at once, none skipped), the hub's
/// `agent.state` confirmations noted; stops once all are sent and confirmed or at `deadline_us`.
async fn agent(mut socket: Socket, mut changes: Vec<Change>, clock: Clock, deadline_us: u64) -> Vec<Change> {
    let deadline = clock.at(deadline_us);
    let (mut next, mut confirmed) = (0usize, 0usize);
    while confirmed < changes.len() {
        let due = changes.get(next).map_or(deadline, |c| clock.at(c.due_us));
        tokio::select! {
            _ = tokio::time::sleep_until(due), if next < changes.len() => {
                let frame = if changes[next].available {
                    json!({"type": "state.set", "state": "available"})
                } else {
                    json!({"type": "state.set", "state": "break", "reason": "Coffee"})
                };
                if socket.send(frame).await.is_err() {
                    break;
                }
                changes[next].sent_us = Some(clock.micros());
                next += 1;
            }
            frame = socket.recv_within(Duration::from_secs(3600)) => match frame {
                Ok(frame) if frame["type"] == "agent.state" => {
                    // Confirmations come in order: the oldest unconfirmed change.
                    if let Some(c) = changes.get_mut(confirmed).filter(|c| c.sent_us.is_some()) {
                        c.confirmed = (frame["state"] == "available") == c.available;
                        confirmed += 1;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    changes
}

/// One supervisor's run: every board until `deadline_us`, noting each agent whose `since` moved.
async fn supervisor(
    mut socket: Socket,
    names: Arc<HashMap<String, usize>>,
    clock: Clock,
    deadline_us: u64,
) -> (Vec<Seen>, Vec<u64>) {
    let deadline = clock.at(deadline_us);
    let mut since: HashMap<usize, i64> = HashMap::new();
    let (mut seen, mut boards) = (Vec::new(), Vec::new());
    loop {
        let frame = tokio::select! {
            frame = socket.recv_within(Duration::from_secs(3600)) => match frame {
                Ok(frame) => frame,
                Err(_) => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        };
        if frame["type"] != "queues" {
            continue;
        }
        let at_us = clock.micros();
        boards.push(at_us);
        for row in frame["agents"].as_array().into_iter().flatten() {
            let (Some(&n), Some(s)) = (
                row["name"].as_str().and_then(|name| names.get(name)),
                row["since"].as_i64(),
            ) else {
                continue;
            };
            if since.insert(n, s) != Some(s) {
                seen.push(Seen {
                    agent: n,
                    since: s,
                    available: row["state"] == "available",
                    at_us,
                });
            }
        }
    }
    (seen, boards)
}

fn ms(v: Option<u64>) -> String {
    v.map_or("–".into(), |us| format!("{:.1}", us as f64 / 1000.0))
}

/// Runs `n` sign-ins or creations eight at a time (each hashes a password: the hub's slow part).
async fn eight_at_a_time<F, T>(n: usize, each: impl Fn(usize) -> F) -> Result<Vec<T>>
where
    F: std::future::Future<Output = Result<T>>,
{
    let mut out: Vec<(usize, T)> = futures_util::stream::iter((0..n).map(|i| {
        let f = each(i);
        async move { f.await.map(|t| (i, t)) }
    }))
    .buffer_unordered(8)
    .collect::<Vec<Result<(usize, T)>>>()
    .await
    .into_iter()
    .collect::<Result<_>>()?;
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let dir = scratch_dir("wallload")?;
    let env = [
        ("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "1000000"),
        plugboard_tests::QUIET,
    ];
    let hub = Arc::new(Hub::start(&dir, &env).await?);
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await?;
    eprintln!("creating {} agents and {} supervisors", a.agents, a.supervisors);
    let people: Vec<(String, &str)> = (0..a.agents)
        .map(|n| (format!("Wall {n}"), "agent"))
        .chain((0..a.supervisors).map(|n| (format!("Boss {n}"), "supervisor")))
        .collect();
    let email = |name: &str| format!("{}@plugboard.example", name.to_lowercase().replace(' ', "."));
    eight_at_a_time(people.len(), |i| {
        let (hub, admin) = (hub.clone(), admin.clone());
        let (name, role) = people[i].clone();
        let body = json!({"email": email(&name), "name": name, "password": DEMO_PASSWORD, "role": role,
            "skills": {"support": 1}});
        async move {
            let (status, body) = hub.call("POST", "/agents", Some(&admin), Some(body)).await?;
            ensure!(status == 200, "creating {name}: {body}");
            Ok(())
        }
    })
    .await?;
    eprintln!("everyone signs in");
    let tokens = eight_at_a_time(people.len(), |i| {
        let (hub, address) = (hub.clone(), email(&people[i].0));
        async move { hub.login(&address, DEMO_PASSWORD).await }
    })
    .await?;
    let mut agents = Vec::new();
    for token in &tokens[..a.agents] {
        agents.push(hub.agent_with(token).await?);
    }
    let mut supervisors = Vec::new();
    for token in &tokens[a.agents..] {
        let mut socket = Socket::connect(&hub.ws_url("/ws/supervisor")).await?;
        socket.send(json!({"type": "auth", "token": token})).await?;
        let first = socket.expect("queues").await?;
        ensure!(
            first["agents"].as_array().map_or(0, Vec::len) >= a.agents,
            "the board lacks agents: {}",
            first["agents"].as_array().map_or(0, Vec::len)
        );
        supervisors.push(socket);
    }
    let names: Arc<HashMap<String, usize>> =
        Arc::new((0..a.agents).map(|n| (format!("Wall {n}"), n)).collect());

    // The schedule: change i due at i/rate from a second after the start, by agent i mod agents.
    let total = ((a.warmup + a.seconds) as f64 * a.rate) as usize;
    let gap_us = 1e6 / a.rate;
    let clock = Clock::now();
    let start_us = 1_000_000u64;
    let window = Window {
        start_us: start_us + a.warmup * 1_000_000,
        end_us: start_us + (a.warmup + a.seconds) * 1_000_000,
    };
    let deadline_us = window.end_us + a.grace * 1_000_000;
    let mut plans: Vec<Vec<Change>> = vec![Vec::new(); a.agents];
    for i in 0..total {
        let n = i % a.agents;
        let available = plans[n].len().is_multiple_of(2);
        plans[n].push(Change {
            agent: n,
            due_us: start_us + (i as f64 * gap_us) as u64,
            available,
            sent_us: None,
            confirmed: false,
        });
    }
    let hub_pid = hub.pid();
    let watchers: Vec<_> = supervisors
        .into_iter()
        .map(|s| tokio::spawn(supervisor(s, names.clone(), clock, deadline_us)))
        .collect();
    let runners: Vec<_> = agents
        .into_iter()
        .zip(plans)
        .map(|(socket, plan)| tokio::spawn(agent(socket, plan, clock, deadline_us)))
        .collect();
    tokio::time::sleep_until(clock.at(window.start_us)).await;
    let cpu_before = cpu_secs(hub_pid);
    tokio::time::sleep_until(clock.at(window.end_us)).await;
    let cpu_during = cpu_secs(hub_pid) - cpu_before;
    let (rss, peak) = rss_mib(hub_pid);

    let mut changes: Vec<Change> = Vec::new();
    for r in runners {
        changes.extend(r.await?);
    }
    let mut seen_by: Vec<Vec<Seen>> = Vec::new();
    let mut boards: Vec<u64> = Vec::new();
    for w in watchers {
        let (seen, b) = w.await?;
        seen_by.push(seen);
        boards.extend(b);
    }

    // Each change's time span on the hub's clock: from when it was sent to when the agent's next
    // change was sent. A board shows it when the agent's `since` falls in that span.
    let mut by_agent: Vec<Vec<&Change>> = vec![Vec::new(); a.agents];
    for c in &changes {
        by_agent[c.agent].push(c);
    }
    let counted: Vec<&Change> = changes.iter().filter(|c| window.contains(c.due_us)).collect();
    let mut latencies = Vec::new();
    let mut missed = 0u64;
    for seen in &seen_by {
        let mut first: HashMap<(usize, u64), u64> = HashMap::new();
        for s in seen {
            let list = &by_agent[s.agent];
            // The latest change sent no later than `since`, with `SLACK_MS` for the two clocks
            // (an agent's changes are at least a second apart).
            let found = list.iter().rev().find(|c| {
                c.sent_us
                    .is_some_and(|sent| clock.wall(sent) <= s.since + SLACK_MS)
            });
            if let Some(c) = found.filter(|c| c.available == s.available) {
                first.entry((c.agent, c.due_us)).or_insert(s.at_us);
            }
        }
        for c in &counted {
            match first.get(&(c.agent, c.due_us)) {
                Some(at) => latencies.push(at.saturating_sub(c.due_us)),
                None => missed += 1,
            }
        }
    }
    latencies.sort_unstable();
    let sent = counted.iter().filter(|c| c.sent_us.is_some()).count();
    let confirmed = counted.iter().filter(|c| c.confirmed).count();

    // The hub's own record: presence lines of the load agents in the window.
    let db = format!("sqlite://{}?mode=ro", dir.join("plugboard.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&db).await?;
    let recorded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM agent_events e JOIN agents g ON g.id = e.agent_id \
         WHERE g.name LIKE 'Wall %' AND e.at >= ? AND e.at < ?",
    )
    .bind(clock.wall(window.start_us))
    .bind(clock.wall(window.end_us))
    .fetch_one(&mut conn)
    .await?;

    let secs = window.secs();
    let in_window = boards.iter().filter(|b| window.contains(**b)).count();
    let boards_per_sec = in_window as f64 / secs / a.supervisors as f64;
    let delivered = latencies.len();
    let expected = counted.len() * a.supervisors;
    let cpu_pct = cpu_during / secs * 100.0;
    let p = |q| percentile(&latencies, q);
    println!(
        "| {} agents, {} supervisors, {} changes/s, {} s | {} due, {} sent, {} confirmed, {recorded} in the hub's log | {:.1} boards/s per supervisor | {delivered} of {expected} seen ({:.0}/s), {missed} missed | {} / {} / {} ms | {:.0} % | {rss:.0} MiB (peak {peak:.0}) |",
        a.agents,
        a.supervisors,
        a.rate,
        a.seconds,
        counted.len(),
        sent,
        confirmed,
        boards_per_sec,
        delivered as f64 / secs,
        ms(p(0.50)),
        ms(p(0.99)),
        ms(latencies.last().copied()),
        cpu_pct,
    );
    if let Some(path) = &a.json {
        let record: Value = json!({
            "tool": "plugboard-wallload", "agents": a.agents, "supervisors": a.supervisors, "rate": a.rate,
            "seconds": a.seconds, "due": counted.len(), "sent": sent, "confirmed": confirmed,
            "recorded": recorded, "boards_per_sec_per_supervisor": boards_per_sec,
            "changes_seen": delivered, "changes_expected": expected, "missed": missed,
            "latency_p50_us": p(0.50), "latency_p99_us": p(0.99), "latency_max_us": latencies.last(),
            "hub_cpu_pct": cpu_pct, "hub_rss_mib": rss, "hub_peak_mib": peak,
        });
        plugboard_tests::append_json_line(path, &record)?;
    }
    drop(hub);
    Ok(())
}
