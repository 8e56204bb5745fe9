//! The call benchmark: one hub on SQLite with its SIP B2BUA, a sipp caller dialling a queue's
//! number through a trunk at a fixed rate, a sipp UAS answering for every agent's desk phone, and
//! one console per agent, Available. Every call goes the whole way: answered with music, queued,
//! offered, the agent's phone rung and answered, bridged; the agent's phone hangs up after the
//! talk time and the hub's BYE reaches the caller.
//!
//! What counts: a call is answered when the hub's own records say an agent took it (its
//! interaction has `interaction.accepted` and a `call.ended` with talk time, read back over the
//! REST API after the run) and the caller was still on the line for the agent's BYE; a BYE alone
//! proves nothing, since the hub also hangs up on a caller it could not queue, and an agent
//! picking up after the caller gave up (sipp's 30 s `-recv_timeout`) is no answer. Each call dials from its own number (tests/src/sipp.rs), which ties sipp's
//! log of it to the hub's record; "dialled → answered" runs from sipp's INVITE to the hub's
//! `interaction.accepted`, so time spent in the hub's own queues counts. sipp is not capped in
//! calls in flight (`-l` is the whole run), so every rate is offered in full; the row says how
//! many INVITEs went out at what rate, and how far sipp fell behind its schedule.
//!
//! cargo build --release --bin plugboard --bin plugboard-callload
//! PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-callload --agents 200 --rate 100 --seconds 20 --talk-ms 500
//!
//! `--media 1`: the caller sends audio (PCMU) and each desk phone echoes it, so every call relays
//! RTP both ways (and records it, unless `--record 0`); `--capture FILE` also writes a pcap of the
//! relayed streams (tcpdump) for `bench/sip/rtpstat.py`. `--json FILE` appends the figures as one
//! JSON object.
//!
//! `--nodes N` runs N hub nodes as one site on PostgreSQL and Redis (`PLUGBOARD_TEST_POSTGRES`,
//! `PLUGBOARD_TEST_REDIS`) behind Kamailio configured as `deploy/kamailio.cfg` (tests/src/kamailio.rs):
//! the desk phones register and the carrier calls through Kamailio, which hashes registrations
//! by AOR and calls by Call-ID over the nodes; agent n's console is on node n mod N. `--shared 1`
//! runs one node the same way, to compare with. CPU and memory are the sum over the nodes;
//! Kamailio's CPU is given beside them.
//!
//! `--shared 1 --redis 0` runs that one node on PostgreSQL alone, with no Redis.
//!
//! `--caller udp|tcp|tls`: how the carrier's calls reach the hub (UDP by default). Over TCP,
//! sipp keeps one connection (`-t t1`) to the hub's TCP port, as a trunk does. sipp has no TLS, so
//! over TLS socat carries that one connection into one TLS connection to the hub's TLS port
//! (`sip.tls_listen`, a certificate made with openssl for the run); socat's CPU is not the hub's.
//! Only the caller's leg changes: the desk phones stay on UDP.
//!
//! `--device browser`: the agents take calls in the console instead (`device: browser`): no desk
//! phones, and each agent's console answers its offer, sends a WebRTC offer (`call.media.offer`,
//! a str0m peer per call: tests/src/webrtc_peer.rs) and hangs up (`interaction.end`) after the
//! talk time; with `--media 1` the peer echoes the caller's audio as the desk phones do, over
//! DTLS-SRTP. `--capture` then takes every UDP packet on the loopback, since the browser legs'
//! ports are chosen at run time; `rtpstat.py` follows each packet through the WebRTC leg by its
//! RTP timestamp.
//!
//! `--max-calls N` sets the hub's ceiling on calls held at once (`sip.max_calls`): callers beyond
//! it are answered 503 and count as never answered.
//!
//! For the Kamailio reference in `bench/sip/run.sh`, the same caller bookkeeping without a hub:
//! `--injection-file FILE` writes the caller numbers for `--rate` × `--seconds` calls and exits;
//! `--summarise-log FILE` reads that caller's sipp log and prints the row's middle cells (a call
//! through a proxy is answered when the desk phone's 200 reached the caller and its BYE followed).

use anyhow::{Context, Result, bail, ensure};
use futures_util::StreamExt;
use plugboard_sip::digest::{self, Algorithm, NonceCount};
use plugboard_tests::measure::percentile;
use plugboard_tests::sipp::{self, CallTimes};
use plugboard_tests::webrtc_peer;
use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, cpu_secs, rss_mib, scratch_dir};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    json: Option<PathBuf>,
    injection_file: Option<PathBuf>,
    summarise_log: Option<PathBuf>,
    nodes: usize,
    shared: bool,
    max_calls: Option<u64>,
    redis: bool,
    caller: CallerTransport,
    device: Device,
}

/// Where the agents take their calls (`--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    Desk,
    Browser,
}

/// How the carrier's sipp reaches the hub (`--caller`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallerTransport {
    Udp,
    Tcp,
    Tls,
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
        json: None,
        injection_file: None,
        summarise_log: None,
        nodes: 1,
        shared: false,
        max_calls: None,
        redis: true,
        caller: CallerTransport::Udp,
        device: Device::Desk,
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
            "--json" => a.json = Some(PathBuf::from(value)),
            "--injection-file" => a.injection_file = Some(PathBuf::from(value)),
            "--summarise-log" => a.summarise_log = Some(PathBuf::from(value)),
            "--nodes" => a.nodes = number()? as usize,
            "--shared" => a.shared = number()? != 0,
            "--max-calls" => a.max_calls = Some(number()?),
            "--redis" => a.redis = number()? != 0,
            "--caller" => {
                a.caller = match value.as_str() {
                    "udp" => CallerTransport::Udp,
                    "tcp" => CallerTransport::Tcp,
                    "tls" => CallerTransport::Tls,
                    other => bail!("--caller {other}: udp, tcp or tls"),
                }
            }
            "--device" => {
                a.device = match value.as_str() {
                    "desk" => Device::Desk,
                    "browser" => Device::Browser,
                    other => bail!("--device {other}: desk or browser"),
                }
            }
            other => bail!("unknown flag {other}"),
        }
    }
    ensure!(a.rate > 0 && a.seconds > 0 && a.nodes > 0, "nothing to run");
    ensure!(
        a.caller == CallerTransport::Udp || (a.nodes == 1 && !a.shared),
        "--caller tcp or tls runs one hub, without Kamailio"
    );
    Ok(a)
}

/// Waits until something listens on TCP `port` of 127.0.0.1.
async fn wait_for_listener(port: u16) -> Result<()> {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("nothing listens on port {port}")
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
    // A new transaction each time, also when a phone registers again: a branch seen before is a
    // retransmission, answered with the first answer.
    static TRANSACTIONS: AtomicU64 = AtomicU64::new(0);
    let first = TRANSACTIONS.fetch_add(2, Ordering::Relaxed) + 1;
    let local = socket.local_addr()?;
    let uri = format!("sip:{hub}");
    let request = |cseq: u64, authorization: &str| {
        format!(
            "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{user}-{cseq}\r\n\
             From: <sip:{user}@{hub}>;tag={user}\r\nTo: <sip:{user}@{hub}>\r\nCall-ID: reg-{user}\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{contact_port}>\r\nExpires: 3600\r\n\
             {authorization}Content-Length: 0\r\n\r\n"
        )
    };
    let mut buf = vec![0u8; 4096];
    socket.send_to(request(first, "").as_bytes(), hub).await?;
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
    socket
        .send_to(request(first + 1, &authorization).as_bytes(), hub)
        .await?;
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

/// What the hub's records say of one call.
#[derive(Debug, Default, Clone, Copy)]
struct Record {
    /// `interaction.accepted`: the agent's phone answered (epoch ms).
    accepted_ms: Option<i64>,
    /// `call.ended` with talk time: the call was bridged to that agent.
    talk_ms: Option<i64>,
    /// `call.ended` at all.
    ended: bool,
}

fn record(detail: &Value) -> Record {
    let mut r = Record::default();
    for e in detail["events"].as_array().into_iter().flatten() {
        match e["type"].as_str() {
            Some("interaction.accepted") if r.accepted_ms.is_none() => r.accepted_ms = e["at"].as_i64(),
            Some("call.ended") => {
                r.ended = true;
                r.talk_ms = e["data"]["talk_ms"].as_i64();
            }
            _ => {}
        }
    }
    r
}

/// One agent's console for the run. It counts every offer (a desk phone picking up accepts it);
/// with the browser as the agent's device it also accepts the offer, brings the call's audio up
/// over WebRTC (a peer that echoes what it hears) and hangs up after the talk time.
struct Console {
    browser: bool,
    talk: Duration,
    /// Packets of audio the browser peers heard, over all their calls.
    heard: Arc<AtomicU64>,
}

impl Console {
    /// Until the hub closes the socket (the end of the run).
    async fn run(self, mut socket: Socket, mut offered: impl FnMut(&Value)) -> Result<()> {
        let mut offering: HashMap<String, webrtc_peer::Offered> = HashMap::new();
        let mut talking: HashMap<String, webrtc_peer::Echo> = HashMap::new();
        let (hang_up, mut to_hang_up) = tokio::sync::mpsc::unbounded_channel::<String>();
        loop {
            let frame = tokio::select! {
                frame = socket.recv_within(Duration::from_secs(3600)) => match frame {
                    Ok(frame) => frame,
                    Err(_) => return Ok(()),
                },
                Some(id) = to_hang_up.recv() => {
                    socket.send(json!({"type": "interaction.end", "interaction_id": id})).await?;
                    continue;
                }
            };
            let interaction = &frame["interaction"];
            let id = interaction["id"]
                .as_str()
                .or(frame["interaction_id"].as_str())
                .unwrap_or_default()
                .to_owned();
            match frame["type"].as_str().unwrap_or_default() {
                "offer" => {
                    offered(&frame);
                    if self.browser {
                        socket
                            .send(json!({"type": "offer.accept", "interaction_id": id}))
                            .await?;
                    }
                }
                "interaction.assigned" if self.browser && interaction["channel"] == "voice" => {
                    let peer = webrtc_peer::offer([127, 0, 0, 1].into())?;
                    socket
                        .send(json!({"type": "call.media.offer", "interaction_id": id, "sdp": peer.sdp}))
                        .await?;
                    offering.insert(id, peer);
                }
                "call.media.answer" => {
                    let Some(peer) = offering.remove(&id) else {
                        continue;
                    };
                    let sdp = frame["sdp"].as_str().context("an answer without SDP")?;
                    talking.insert(id.clone(), peer.answered(sdp)?);
                    let (hang_up, talk) = (hang_up.clone(), self.talk);
                    tokio::spawn(async move {
                        tokio::time::sleep(talk).await;
                        let _ = hang_up.send(id);
                    });
                }
                "interaction.updated" if interaction["state"] != "active" => {
                    offering.remove(&id);
                    if let Some(echo) = talking.remove(&id) {
                        self.heard
                            .fetch_add(echo.heard.load(Ordering::Relaxed), Ordering::Relaxed);
                    }
                }
                "error" => eprintln!("the hub refused a console's frame: {frame}"),
                _ => {}
            }
        }
    }
}

/// Reads back every interaction the consoles were offered (`GET /api/v1/interactions/{id}`);
/// those not ended yet (the hub logs `call.ended` as the BYEs cross) are read again for up to 5 s.
async fn records(hub: &Hub, token: &str, ids: Vec<String>) -> Result<HashMap<String, Record>> {
    let client = reqwest::Client::new();
    let mut out = HashMap::new();
    let mut pending = ids;
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let fetches = pending.iter().map(|id| {
            let request = client
                .get(format!("{}/api/v1/interactions/{id}", hub.base))
                .bearer_auth(token);
            async move {
                let r = request.send().await?;
                ensure!(r.status().is_success(), "GET interaction {id}: {}", r.status());
                anyhow::Ok((id.clone(), record(&r.json::<Value>().await?)))
            }
        });
        let mut stream = futures_util::stream::iter(fetches).buffer_unordered(8);
        let mut again = Vec::new();
        while let Some(fetched) = stream.next().await {
            let (id, r) = fetched?;
            if !r.ended {
                again.push(id.clone());
            }
            out.insert(id, r);
        }
        drop(stream);
        if again.is_empty() || Instant::now() >= until {
            return Ok(out);
        }
        pending = again;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ms(v: Option<u64>) -> String {
    v.map_or("–".into(), |us| format!("{:.1}", us as f64 / 1000.0))
}

/// p50 / p99 / max of µs values, in ms.
fn spread(sorted: &[u64]) -> String {
    format!(
        "{} / {} / {} ms",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(percentile(sorted, 1.0))
    )
}

/// The "offered" cell: INVITEs sipp sent, at what rate, how far behind its schedule.
fn offered_cell(o: &sipp::Offered, calls: u64) -> String {
    format!(
        "{} of {calls} INVITEs at {:.0}/s (sipp behind schedule p99 {} ms)",
        o.invites,
        o.per_sec,
        ms(percentile(&o.lag_us, 0.99))
    )
}

/// Answered calls per second: from the first INVITE to the last answer.
fn answered_per_sec(answered: &HashMap<u64, i64>, o: &sipp::Offered) -> f64 {
    let last = answered.values().copied().max().unwrap_or(o.first_us);
    answered.len() as f64 / ((last - o.first_us) as f64 / 1e6).max(1e-9)
}

/// The Kamailio rows' middle cells (run.sh), from the caller's sipp log alone: a call is
/// answered when the desk phone's 200 came back through the proxy and its BYE followed.
fn summarise_proxy(a: &Args, log: &Path) -> Result<()> {
    let text = std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let calls = sipp::parse_log(&text);
    let offered = sipp::offered(&calls, a.rate as f64);
    let answered: HashMap<u64, i64> = calls
        .iter()
        .filter(|(_, c)| c.bye_us.is_some())
        .filter_map(|(&i, c)| Some((i, c.answered_us?)))
        .collect();
    let setups = sipp::setup_us(&calls, &answered);
    let no_answer = calls.values().filter(|c| c.answered_us.is_none()).count();
    let no_bye = calls
        .values()
        .filter(|c| c.answered_us.is_some() && c.bye_us.is_none())
        .count();
    println!(
        "| {} | {} | {:.0}/s | {} | callers: {} never answered, {no_bye} answered without a BYE |",
        offered_cell(&offered, a.rate * a.seconds),
        answered.len(),
        answered_per_sec(&answered, &offered),
        spread(&setups),
        no_answer,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    if let Some(file) = &a.injection_file {
        std::fs::write(file, sipp::injection_file(a.rate * a.seconds))?;
        return Ok(());
    }
    if let Some(log) = &a.summarise_log {
        return summarise_proxy(&a, log);
    }
    let dir = scratch_dir("callload")?;
    let record = if a.record { "true" } else { "false" };
    let env = [
        ("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "1000000"),
        ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
        ("PLUGBOARD_SIP__ALGORITHMS", "[\"MD5\"]"),
        ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
        ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
        ("PLUGBOARD_SIP__NUMBERS__100", "Bench"),
        ("PLUGBOARD_SIP__ANNOUNCE_POSITION_SECS", "0"),
        ("PLUGBOARD_SIP__RECORD", record),
    ];
    let max_calls = a.max_calls.map(|n| n.to_string());
    let certs = dir.join("certs");
    let (cert, key) = (certs.join("server.pem"), certs.join("server.key"));
    let tls = [
        ("PLUGBOARD_SIP__TLS_LISTEN", "127.0.0.1:0"),
        ("PLUGBOARD_SIP__TLS_CERT", cert.to_str().context("a UTF-8 path")?),
        ("PLUGBOARD_SIP__TLS_KEY", key.to_str().context("a UTF-8 path")?),
    ];
    if a.caller == CallerTransport::Tls {
        std::fs::create_dir_all(&certs)?;
        plugboard_tests::make_certificates(&certs);
    }
    let env: Vec<(&str, &str)> = env
        .into_iter()
        .chain(max_calls.as_deref().map(|n| ("PLUGBOARD_SIP__MAX_CALLS", n)))
        .chain(tls.into_iter().filter(|_| a.caller == CallerTransport::Tls))
        .collect();
    let (_site, hubs) = plugboard_tests::start_site(&dir, &env, a.nodes, a.shared, a.redis).await?;
    let hub = hubs[0].clone();
    let pids: Vec<u32> = hubs.iter().map(|h| h.pid()).collect();
    let nodes: Vec<String> = hubs
        .iter()
        .map(|h| h.sip_udp.clone().context("the hub did not start SIP"))
        .collect::<Result<_>>()?;
    // A site of several nodes (or one on the shared store, to compare with) is run as deployed:
    // Kamailio in front (deploy/kamailio.cfg), the phones registering and the carrier calling
    // through it.
    let kamailio = if a.nodes > 1 || a.shared {
        plugboard_tests::kamailio::kamailio().context("--nodes and --shared need kamailio")?;
        let port = plugboard_tests::kamailio::free_port();
        let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
        Some((
            plugboard_tests::kamailio::start_kamailio(port, &nodes),
            format!("127.0.0.1:{port}"),
        ))
    } else {
        None
    };
    let target = kamailio
        .as_ref()
        .map_or_else(|| nodes[0].clone(), |(_, proxy)| proxy.clone());
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await?;
    let queue = json!({"name": "Bench", "required_skills": [{"skill": "bench"}],
        "offer_timeout_secs": 30, "wrap_up_secs": 0});
    let (status, body) = hub.call("POST", "/queues", Some(&admin), Some(queue)).await?;
    ensure!(status == 200, "creating the queue: {body}");

    let phone_port = free_port()?;
    let registrar = UdpSocket::bind("127.0.0.1:0").await?;
    let desk = a.device == Device::Desk;
    eprintln!(
        "creating {} agents, {}",
        a.agents,
        if desk {
            format!("with desk phones on port {phone_port}")
        } else {
            "taking calls in the browser".to_owned()
        }
    );
    for n in 0..a.agents {
        let agent = json!({"email": format!("bench{n}@plugboard.example"), "name": format!("Bench {n}"),
            "password": DEMO_PASSWORD, "skills": {"bench": 1}});
        let (status, body) = hub.call("POST", "/agents", Some(&admin), Some(agent)).await?;
        ensure!(status == 200, "creating an agent: {body}");
        if !desk {
            continue;
        }
        let phone =
            json!({"agent_id": body["id"], "username": format!("desk{n}"), "password": "desk-secret"});
        let (status, body) = hub.call("POST", "/phones", Some(&admin), Some(phone)).await?;
        ensure!(status == 200, "creating a phone: {body}");
    }
    // Through Kamailio a phone may reach a node that has not read the new phones yet (every
    // node reads them again every 5 s): it registers again, as a phone would.
    for n in (0..a.agents).filter(|_| desk) {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            match register(
                &registrar,
                &target,
                &format!("desk{n}"),
                "desk-secret",
                phone_port,
            )
            .await
            {
                Ok(()) => break,
                Err(e) if Instant::now() < until => {
                    eprintln!("desk{n} registers again: {e:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    let offers = Arc::new(AtomicU64::new(0));
    // Every interaction the consoles were offered, and the caller's number on its card.
    let offered_calls = Arc::new(Mutex::new(HashMap::<String, Option<String>>::new()));
    // The browser agents' audio: packets heard (and echoed) over all their calls.
    let heard = Arc::new(AtomicU64::new(0));
    eprintln!("agents log in and go Available");
    for n in 0..a.agents {
        let node = &hubs[n % a.nodes];
        let token = node
            .login(&format!("bench{n}@plugboard.example"), DEMO_PASSWORD)
            .await?;
        if !desk {
            let (status, body) = node
                .call("PATCH", "/me", Some(&token), Some(json!({"device": "browser"})))
                .await?;
            ensure!(status == 200, "choosing the browser: {body}");
        }
        let mut socket = node.agent_with(&token).await?;
        socket
            .send(json!({"type": "state.set", "state": "available"}))
            .await?;
        let (offers, offered_calls) = (offers.clone(), offered_calls.clone());
        let console = Console {
            browser: !desk,
            talk: Duration::from_millis(a.talk_ms),
            heard: heard.clone(),
        };
        tokio::spawn(async move {
            let record = |frame: &Value| {
                let Some(id) = frame["interaction"]["id"].as_str() else {
                    return;
                };
                offers.fetch_add(1, Ordering::Relaxed);
                let phone = frame["card"]["customer"]["phone"].as_str().map(str::to_owned);
                offered_calls
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.to_owned(), phone);
            };
            if let Err(e) = console.run(socket, record).await {
                eprintln!("bench{n}'s console: {e:#}");
            }
        });
    }

    let work = dir.join("sipp");
    std::fs::create_dir_all(&work)?;
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../connectors/sip/media/greeting.ul"),
        work.join("caller.ul"),
    )?;
    let calls = a.rate * a.seconds;
    std::fs::write(work.join("calls.csv"), sipp::injection_file(calls))?;
    // The two sipps' RTP ports: every relayed packet goes to or from one of them (with desk
    // phones; a browser leg's ports are the hub's and the peer's, chosen per call).
    let (phone_media, caller_media) = (free_port()?, free_port()?);
    let phones = if desk {
        let mut phones = Command::new("sipp");
        phones
            .args(["-sf", scenario("phone_hangs_up.xml").to_str().unwrap_or_default()])
            .args(["-i", "127.0.0.1", "-p", &phone_port.to_string(), "-nostdin"])
            .args(["-d", &a.talk_ms.to_string()])
            .arg(&target);
        if a.media {
            phones.args(["-rtp_echo", "-mp", &phone_media.to_string()]);
        }
        Some(
            phones
                .current_dir(&work)
                .stdout(Stdio::null())
                .spawn()
                .context("the sipp desk phones")?,
        )
    } else {
        None
    };
    let filter = if desk {
        format!("udp and (port {phone_media} or port {caller_media})")
    } else {
        "udp".to_owned()
    };
    let capture = match &a.capture {
        Some(file) => Some(
            Command::new("tcpdump")
                .args(["-i", "lo", "-w"])
                .arg(file)
                .args(["-s", "96", "-B", "16384"])
                // Only this run's calls: other programs on the machine may be talking RTP too.
                .arg(&filter)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("tcpdump")?,
        ),
        None => None,
    };

    eprintln!(
        "calling: {} calls/s for {} s, {} ms each, media {}",
        a.rate, a.seconds, a.talk_ms, a.media
    );
    let caller = if a.media {
        "caller_talks.xml"
    } else {
        "caller_waits.xml"
    };
    // Where the carrier's sipp sends its calls, and over what.
    let (caller_target, caller_transport, socat) = match a.caller {
        CallerTransport::Udp => (target.clone(), "u1", None),
        CallerTransport::Tcp => (hub.sip_tcp.clone().context("no SIP over TCP")?, "t1", None),
        CallerTransport::Tls => {
            let tls = hub.sip_tls.clone().context("no SIP over TLS")?;
            let port = free_port()?;
            let socat = Command::new("socat")
                .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
                .arg(format!(
                    "OPENSSL:{tls},cafile={},commonname=127.0.0.1",
                    certs.join("ca.pem").display()
                ))
                .stdout(Stdio::null())
                .spawn()
                .context("socat (apt-get install socat) carries sipp's TCP into TLS")?;
            wait_for_listener(port).await?;
            (format!("127.0.0.1:{port}"), "t1", Some(socat))
        }
    };
    let cpu_of = |pids: &[u32]| pids.iter().map(|p| cpu_secs(*p)).sum::<f64>();
    let proxy_pids = || {
        kamailio
            .as_ref()
            .map_or_else(Vec::new, |(k, _)| plugboard_tests::kamailio::processes(k))
    };
    let cpu_before = cpu_of(&pids);
    // This process's own: the consoles, and with the browser as the device every call's peer.
    let me = [std::process::id()];
    let load_before = cpu_of(&me);
    let proxy_before = cpu_of(&proxy_pids());
    let started = Instant::now();
    // No cap on calls in flight: `-l` is the whole run, so a hub that falls behind is still
    // offered every call at the rate asked for.
    let out = Command::new("sipp")
        .arg(&caller_target)
        .args(["-t", caller_transport])
        .args(["-sf", scenario(caller).to_str().unwrap_or_default()])
        .args(["-inf", "calls.csv", "-trace_logs", "-log_file", "caller.log"])
        .args(["-i", "127.0.0.1", "-s", "100", "-nostdin"])
        .args(["-r", &a.rate.to_string(), "-m", &calls.to_string()])
        .args(["-l", &calls.to_string(), "-recv_timeout", "30s"])
        .args(["-mp", &caller_media.to_string()])
        .args(["-timeout", &format!("{}s", a.seconds * 3 + 30), "-timeout_error"])
        .current_dir(&work)
        .output()?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_of(&pids) - cpu_before;
    let load_cpu = cpu_of(&me) - load_before;
    let proxy_cpu = cpu_of(&proxy_pids()) - proxy_before;
    let (rss, peak) = pids
        .iter()
        .map(|p| rss_mib(*p))
        .fold((0.0, 0.0), |(r, k), (a, b)| (r + a, k + b));
    if let Some(mut tcpdump) = capture {
        let _ = Command::new("kill")
            .args(["-INT", &tcpdump.id().to_string()])
            .status();
        let _ = tcpdump.wait();
    }
    if let Some(mut phones) = phones {
        let _ = phones.kill();
        let _ = phones.wait();
    }
    if let Some(mut socat) = socat {
        let _ = socat.kill();
        let _ = socat.wait();
    }
    let screen = String::from_utf8_lossy(&out.stdout);
    let (sipp_ok, sipp_failed) = (
        sipp_count(&screen, "Successful call"),
        sipp_count(&screen, "Failed call"),
    );

    // The caller's side, from sipp's log; the hub's, from its records.
    let log: HashMap<u64, CallTimes> =
        sipp::parse_log(&std::fs::read_to_string(work.join("caller.log")).unwrap_or_default());
    let offered = sipp::offered(&log, a.rate as f64);
    let offered_calls = offered_calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let hub_records = records(&hub, &admin, offered_calls.keys().cloned().collect()).await?;
    let (mut accepted, mut bridged, mut unmatched) = (0u64, 0u64, 0u64);
    let mut talk: Vec<u64> = Vec::new();
    // Answered calls, by call index: when the hub recorded the agent's acceptance (epoch µs).
    let mut answered: HashMap<u64, i64> = HashMap::new();
    for (id, r) in &hub_records {
        accepted += u64::from(r.accepted_ms.is_some());
        let (Some(at), Some(t)) = (r.accepted_ms, r.talk_ms) else {
            continue;
        };
        bridged += 1;
        talk.push(t.max(0) as u64 * 1000);
        match offered_calls[id].as_deref().and_then(sipp::call_index) {
            Some(index) => {
                answered.insert(index, at * 1000);
            }
            None => unmatched += 1,
        }
    }
    talk.sort_unstable();
    // An agent answering a caller who had already given up (sipp's -recv_timeout) is no answer:
    // the hub's record counts only if the caller was still there for the agent's BYE.
    let late = answered
        .keys()
        .filter(|i| log.get(i).is_none_or(|c| c.bye_us.is_none()))
        .count();
    answered.retain(|i, _| log.get(i).is_some_and(|c| c.bye_us.is_some()));
    let setups = sipp::setup_us(&log, &answered);
    let bye = log.values().filter(|c| c.bye_us.is_some()).count();
    let bye_unanswered = log
        .iter()
        .filter(|(i, c)| c.bye_us.is_some() && !answered.contains_key(i))
        .count();
    let per_sec = answered_per_sec(&answered, &offered);
    let site = match (a.nodes, kamailio.is_some()) {
        (_, false) => String::new(),
        (1, true) if !a.redis => "1 node on PostgreSQL (no Redis) behind Kamailio, ".to_owned(),
        (1, true) => "1 node on PostgreSQL + Redis behind Kamailio, ".to_owned(),
        (n, true) => format!("{n} nodes on PostgreSQL + Redis behind Kamailio, "),
    };
    let site = match a.caller {
        CallerTransport::Udp => site,
        CallerTransport::Tcp => format!("{site}caller over TCP, "),
        CallerTransport::Tls => format!("{site}caller over TLS, "),
    };
    let site = match a.device {
        Device::Desk => site,
        Device::Browser => format!("{site}agents in the browser, "),
    };
    let proxy = if kamailio.is_some() {
        format!(" (nodes together; Kamailio {:.0} %)", proxy_cpu / elapsed * 100.0)
    } else {
        String::new()
    };
    println!(
        "| {site}{} calls/s × {} s, {} ms talk, media {}, recording {} | {} | {} | {per_sec:.0}/s | {} | hub: {accepted} accepted, {bridged} ended with talk time (median {} ms), {late} of them after the caller gave up; callers: {bye} got a BYE, {bye_unanswered} of them never answered; sipp {sipp_ok} ok, {sipp_failed} failed; {} offers | {:.0} % of one core, {:.1} ms per answered call{proxy} | {rss:.0} MiB (peak {peak:.0}) |",
        a.rate,
        a.seconds,
        a.talk_ms,
        if a.media { "yes" } else { "no" },
        if a.record { "yes" } else { "no" },
        offered_cell(&offered, calls),
        answered.len(),
        spread(&setups),
        ms(percentile(&talk, 0.5)),
        offers.load(Ordering::Relaxed),
        cpu / elapsed * 100.0,
        cpu * 1000.0 / answered.len().max(1) as f64,
    );
    if !desk {
        eprintln!(
            "the browser agents heard {} packets of audio (and sent each back); this load client used {:.0} % of one core",
            heard.load(Ordering::Relaxed),
            load_cpu / elapsed * 100.0
        );
    }
    if unmatched > 0 {
        eprintln!("{unmatched} answered interactions had no caller number of ours on their card");
    }
    if sipp_failed > 0 || (answered.len() as u64) < calls {
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
    if let Some(path) = &a.json {
        let p = |q: f64| percentile(&setups, q);
        let record = json!({
            "tool": "plugboard-callload", "device": format!("{:?}", a.device).to_lowercase(), "browser_heard": heard.load(Ordering::Relaxed), "caller": format!("{:?}", a.caller).to_lowercase(), "nodes": a.nodes, "max_calls": a.max_calls, "redis": a.redis, "kamailio": kamailio.is_some(), "rate": a.rate, "seconds": a.seconds, "talk_ms": a.talk_ms,
            "agents": a.agents, "media": a.media, "recording": a.record,
            "calls": calls, "invites": offered.invites, "offered_per_s": offered.per_sec,
            "sipp_lag_p99_us": percentile(&offered.lag_us, 0.99),
            "answered": answered.len(), "answered_per_s": per_sec,
            "dialled_to_answered_p50_us": p(0.5), "dialled_to_answered_p99_us": p(0.99),
            "dialled_to_answered_max_us": p(1.0),
            "hub_accepted": accepted, "hub_ended_with_talk": bridged, "hub_answered_after_caller_gave_up": late, "talk_p50_us": percentile(&talk, 0.5),
            "callers_bye": bye, "callers_bye_unanswered": bye_unanswered,
            "sipp_ok": sipp_ok, "sipp_failed": sipp_failed, "offers": offers.load(Ordering::Relaxed),
            "hub_cpu_pct": cpu / elapsed * 100.0,
            "hub_cpu_ms_per_answered": cpu * 1000.0 / answered.len().max(1) as f64,
            "kamailio_cpu_pct": kamailio.as_ref().map(|_| proxy_cpu / elapsed * 100.0),
            "hub_rss_mib": rss, "hub_peak_rss_mib": peak, "load_client_cpu_pct": load_cpu / elapsed * 100.0,
        });
        plugboard_tests::append_json_line(path, &record)?;
    }
    drop(kamailio);
    drop((hub, hubs));
    // Left for whoever runs this to delete (bench/sip/run.sh does, at its end): on a filesystem
    // without a journal (this machine's ext4), creating files soon after deleting thousands
    // makes the kernel step over every recently freed inode, which the next run's recordings
    // would pay for.
    eprintln!("this run's data and recordings are in {}", dir.display());
    Ok(())
}
