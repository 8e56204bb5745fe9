//! The call benchmark: one hub on SQLite with its SIP B2BUA, a sipp caller dialling a queue's
//! number through a trunk at a fixed rate, a sipp UAS answering for every agent's desk phone, and
//! one console per agent, Available. Every call goes the whole way: answered with music, queued,
//! offered, the agent's phone rung and answered, bridged; the agent's phone hangs up after the
//! talk time and the hub's BYE reaches the caller. A call succeeds (sipp's own count) only when the
//! caller got that BYE: one that never reached an agent times out and fails. Reports those counts,
//! the time from dialling to the agent answering, and the hub's CPU and memory.
//!
//! cargo build --release --bin plugboard --bin plugboard-callload
//! PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-callload --agents 200 --rate 100 --seconds 20 --talk-ms 500
//!
//! `--media 1`: the caller sends audio (PCMU) and each desk phone echoes it, so every call relays
//! RTP both ways (and records it, unless `--record 0`); `--capture FILE` also writes a pcap of the
//! relayed streams (tcpdump) for `bench/sip/rtpstat.py`.

use anyhow::{Context, Result, bail, ensure};
use plugboard_sip::digest::{self, Algorithm, NonceCount};
use plugboard_tests::{DEMO_PASSWORD, Hub, cpu_secs, rss_mib, scratch_dir};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

struct Args {
    agents: usize,
    rate: u64,
    seconds: u64,
    talk_ms: u64,
    media: bool,
    record: bool,
    capture: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        agents: 200,
        rate: 100,
        seconds: 20,
        talk_ms: 500,
        media: false,
        record: true,
        capture: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let [flag, value] = pair else {
            bail!("flags take a value")
        };
        let number = || value.parse::<u64>().with_context(|| format!("{flag} {value}"));
        match flag.as_str() {
            "--agents" => a.agents = number()? as usize,
            "--rate" => a.rate = number()?,
            "--seconds" => a.seconds = number()?,
            "--talk-ms" => a.talk_ms = number()?,
            "--media" => a.media = number()? != 0,
            "--record" => a.record = number()? != 0,
            "--capture" => a.capture = Some(PathBuf::from(value)),
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../connectors/sip/tests/sipp")
        .join(name)
}

fn free_port() -> Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A quoted parameter of a `WWW-Authenticate` value.
fn param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let len = challenge[start..].find('"')?;
    Some(&challenge[start..start + len])
}

/// Registers one desk phone, as a phone would: REGISTER, 401, REGISTER with MD5 digest, 200.
async fn register(
    socket: &UdpSocket,
    hub: &str,
    user: &str,
    password: &str,
    contact_port: u16,
) -> Result<()> {
    let local = socket.local_addr()?;
    let uri = format!("sip:{hub}");
    let request = |cseq: u32, authorization: &str| {
        format!(
            "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{user}-{cseq}\r\n\
             From: <sip:{user}@{hub}>;tag={user}\r\nTo: <sip:{user}@{hub}>\r\nCall-ID: reg-{user}\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{contact_port}>\r\nExpires: 3600\r\n\
             {authorization}Content-Length: 0\r\n\r\n"
        )
    };
    let mut buf = vec![0u8; 4096];
    socket.send_to(request(1, "").as_bytes(), hub).await?;
    let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf)).await??;
    let challenge = String::from_utf8_lossy(&buf[..len]).into_owned();
    ensure!(challenge.starts_with("SIP/2.0 401"), "expected 401: {challenge}");
    let (realm, nonce) = (
        param(&challenge, "realm").context("realm")?,
        param(&challenge, "nonce").context("nonce")?,
    );
    let nc = NonceCount::parse("00000001").context("nc")?;
    let ha1 = digest::ha1(Algorithm::Md5, user, realm, password);
    let response = digest::request_digest(
        Algorithm::Md5,
        &ha1,
        nonce,
        Some((&nc, "bench")),
        "REGISTER",
        &uri,
    );
    let authorization = format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"bench\"\r\n"
    );
    socket.send_to(request(2, &authorization).as_bytes(), hub).await?;
    let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf)).await??;
    let answer = String::from_utf8_lossy(&buf[..len]);
    ensure!(answer.starts_with("SIP/2.0 200"), "registering {user}: {answer}");
    Ok(())
}

/// The last figure of a line of sipp's final statistics screen (`Successful call | … | 100`).
fn sipp_count(screen: &str, label: &str) -> u64 {
    screen
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.split('|').nth(2))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let dir = scratch_dir("callload")?;
    let record = if a.record { "true" } else { "false" };
    let env = [
        ("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "1000000"),
        ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
        ("PLUGBOARD_SIP__ALGORITHMS", "[\"MD5\"]"),
        ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
        ("PLUGBOARD_SIP__NUMBERS__100", "Bench"),
        ("PLUGBOARD_SIP__ANNOUNCE_POSITION_SECS", "0"),
        ("PLUGBOARD_SIP__RECORD", record),
    ];
    let hub = Arc::new(Hub::start(&dir, &env).await?);
    let target = hub.sip_udp.clone().context("the hub did not start SIP")?;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await?;
    let queue = json!({"name": "Bench", "required_skills": [{"skill": "bench"}],
        "offer_timeout_secs": 30, "wrap_up_secs": 0});
    let (status, body) = hub.call("POST", "/queues", Some(&admin), Some(queue)).await?;
    ensure!(status == 200, "creating the queue: {body}");

    let phone_port = free_port()?;
    let registrar = UdpSocket::bind("127.0.0.1:0").await?;
    eprintln!(
        "creating {} agents with desk phones on port {phone_port}",
        a.agents
    );
    for n in 0..a.agents {
        let agent = json!({"email": format!("bench{n}@plugboard.example"), "name": format!("Bench {n}"),
            "password": DEMO_PASSWORD, "skills": {"bench": 1}});
        let (status, body) = hub.call("POST", "/agents", Some(&admin), Some(agent)).await?;
        ensure!(status == 200, "creating an agent: {body}");
        let phone =
            json!({"agent_id": body["id"], "username": format!("desk{n}"), "password": "desk-secret"});
        let (status, body) = hub.call("POST", "/phones", Some(&admin), Some(phone)).await?;
        ensure!(status == 200, "creating a phone: {body}");
        register(
            &registrar,
            &target,
            &format!("desk{n}"),
            "desk-secret",
            phone_port,
        )
        .await?;
    }

    let offers = Arc::new(AtomicU64::new(0));
    // Dialled → the agent's phone answered (the interaction's arrival → its assignment), in ms.
    let setups = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    eprintln!("agents log in and go Available");
    for n in 0..a.agents {
        let mut socket = hub.agent(&format!("bench{n}@plugboard.example")).await?;
        socket
            .send(json!({"type": "state.set", "state": "available"}))
            .await?;
        let (offers, setups) = (offers.clone(), setups.clone());
        tokio::spawn(async move {
            while let Ok(frame) = socket.recv_within(Duration::from_secs(3600)).await {
                if frame["type"] == "offer" {
                    offers.fetch_add(1, Ordering::Relaxed);
                }
                if frame["type"] == "interaction.assigned"
                    && let Some(arrived) = frame["interaction"]["arrived_at"].as_i64()
                {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                    setups
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(now - arrived);
                }
            }
        });
    }

    let work = dir.join("sipp");
    std::fs::create_dir_all(&work)?;
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../connectors/sip/media/greeting.ul"),
        work.join("caller.ul"),
    )?;
    let mut phones = Command::new("sipp");
    phones
        .args(["-sf", scenario("phone_hangs_up.xml").to_str().unwrap_or_default()])
        .args(["-i", "127.0.0.1", "-p", &phone_port.to_string(), "-nostdin"])
        .args(["-d", &a.talk_ms.to_string()])
        .arg(&target);
    if a.media {
        phones.args(["-rtp_echo", "-mp", &free_port()?.to_string()]);
    }
    let mut phones = phones
        .current_dir(&work)
        .stdout(Stdio::null())
        .spawn()
        .context("the sipp desk phones")?;
    let capture = match &a.capture {
        Some(file) => Some(
            Command::new("tcpdump")
                .args(["-i", "lo", "-w"])
                .arg(file)
                .args(["-s", "96", "-B", "16384", "udp and not port 5060"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("tcpdump")?,
        ),
        None => None,
    };

    let calls = a.rate * a.seconds;
    eprintln!(
        "calling: {} calls/s for {} s, {} ms each, media {}",
        a.rate, a.seconds, a.talk_ms, a.media
    );
    let caller = if a.media {
        "caller_talks.xml"
    } else {
        "caller_waits.xml"
    };
    let cpu_before = cpu_secs(hub.pid());
    let started = Instant::now();
    let out = Command::new("sipp")
        .arg(&target)
        .args(["-sf", scenario(caller).to_str().unwrap_or_default()])
        .args(["-i", "127.0.0.1", "-s", "100", "-nostdin"])
        .args(["-r", &a.rate.to_string(), "-m", &calls.to_string()])
        .args(["-l", &(a.agents * 4).to_string(), "-recv_timeout", "30s"])
        .args(["-mp", &free_port()?.to_string()])
        .args(["-timeout", &format!("{}s", a.seconds * 3 + 30), "-timeout_error"])
        .current_dir(&work)
        .output()?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_secs(hub.pid()) - cpu_before;
    let (rss, peak) = rss_mib(hub.pid());
    if let Some(mut tcpdump) = capture {
        let _ = Command::new("kill")
            .args(["-INT", &tcpdump.id().to_string()])
            .status();
        let _ = tcpdump.wait();
    }
    let _ = phones.kill();
    let _ = phones.wait();
    let screen = String::from_utf8_lossy(&out.stdout);
    let mut setups = setups.lock().unwrap_or_else(|p| p.into_inner()).clone();
    setups.sort_unstable();
    let at = |p: f64| {
        setups
            .get(((setups.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(-1)
    };
    let (ok, failed) = (
        sipp_count(&screen, "Successful call"),
        sipp_count(&screen, "Failed call"),
    );
    println!(
        "| {} calls/s × {} s, {} ms talk, media {}, recording {} | {ok} ok, {failed} failed of {calls} | {:.0} calls/s completed | {} offers | dialled→answered p50 {} ms, p99 {} ms | hub CPU {:.0} % of one core | hub RSS {rss:.0} MiB (peak {peak:.0}) |",
        a.rate,
        a.seconds,
        a.talk_ms,
        if a.media { "yes" } else { "no" },
        if a.record { "yes" } else { "no" },
        ok as f64 / elapsed,
        offers.load(Ordering::Relaxed),
        at(0.5),
        at(0.99),
        cpu / elapsed * 100.0,
    );
    if failed > 0 || ok < calls {
        eprintln!(
            "{}",
            screen
                .lines()
                .rev()
                .take(60)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    drop(hub);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
