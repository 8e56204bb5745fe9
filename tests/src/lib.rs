//! Drives the real `plugboard` binary the way its users do: starts it on a free port with its own
//! data directory, logs agents in over REST, and talks websockets as the console and the widget.
//! Shared by the end-to-end tests and the load generator.

use anyhow::{Context, Result, anyhow, bail, ensure};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod im;
pub mod kamailio;
pub mod linphone;
pub mod mail;
pub mod measure;
pub mod sipp;
pub mod webrtc_peer;

pub const DEMO_PASSWORD: &str = "plugboard-demo";

/// A Chromium audio offer with a fingerprint no browser holds: the hub answers it, but nobody
/// will ever connect to that answer.
pub const BROWSER_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Vx9t\r\na=ice-pwd:4iHDOB3nnRMk1kH3gs6x1LQu\r\na=ice-options:trickle\r\n\
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n\
a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=msid:- 1c5b4b2d-7b3a-4a4c-9d0c-3f3f3f3f3f3f\r\na=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=ssrc:1001 cname:abc\r\n";

/// SIP for the hub: on a free UDP port, a trunk at 127.0.0.1 trusted over UDP, and number 100
/// ringing the Support queue.
pub const SUPPORT_LINE: [(&str, &str); 4] = [
    ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
    ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
    ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
    ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
];

/// The built binary: `$PLUGBOARD_BIN`, else `target/debug/plugboard` of this workspace.
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("PLUGBOARD_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug/plugboard")
}

/// The hub's log filter in tests, unless `PLUGBOARD_TEST_LOG` says otherwise: the hub's own default
/// (`info`), so that the suite logs what a deployment does and the secrets grep means something.
pub const HUB_LOG_LEVEL: &str = "info,sqlx=warn,tower_http=warn";

/// What a load tool's hubs log (`PLUGBOARD_TEST_LOG` in the env they are started with): warnings
/// only, so a benchmark measures the hub and not its log.
pub const QUIET: (&str, &str) = ("PLUGBOARD_TEST_LOG", "warn");

/// The directory every hub the tests start writes its log to, one file each (stdout and stderr):
/// `$PLUGBOARD_TEST_LOGS`, else `target/test-logs` of this workspace. `.ci/run` greps it for the
/// suite's secrets after the tests (`tests/log-grep.sh`).
pub fn log_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PLUGBOARD_TEST_LOGS") {
        return PathBuf::from(dir);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("test-logs")
}

/// A new log file in `log_dir()` for one hub (or command) of this test: named after the test
/// binary, the test (libtest names its thread after it), this process and a count, so that a hit of
/// the secrets grep points at its test.
fn log_file(what: &str) -> Result<(PathBuf, std::fs::File)> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c
                } else {
                    '.'
                }
            })
            .take(120)
            .collect()
    };
    let exe = std::env::current_exe().ok();
    let exe = exe
        .as_deref()
        .and_then(Path::file_stem)
        .and_then(|s| s.to_str())
        .unwrap_or("tests");
    // Cargo's test binaries end in `-<16 hex digits>`.
    let exe = match exe.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => name,
        _ => exe,
    };
    // A runtime's worker thread does not say which test it runs for; nextest runs one test per
    // process, named on its command line (`--exact NAME`).
    let thread = std::thread::current();
    let named = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let test = thread
        .name()
        .filter(|n| *n != "main" && !n.starts_with("tokio-"))
        .or(named.as_deref())
        .unwrap_or(what);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = log_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the test log directory {}", dir.display()))?;
    let path = dir.join(format!(
        "{}.{}.{}-{n}.{}.log",
        clean(exe),
        clean(&test.replace("::", ".")),
        std::process::id(),
        clean(what)
    ));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok((path, file))
}

/// Copies a hub's stderr line by line to its log file in `log_dir()` and to `also` (the test's own
/// stderr, as when it was inherited, or the file a test asked for).
fn tee_stderr(
    from: std::process::ChildStderr,
    log: std::sync::Arc<std::fs::File>,
    mut also: Box<dyn std::io::Write + Send>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::Write;
        let mut from = BufReader::new(from);
        let mut line = Vec::new();
        while matches!(from.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let _ = (&*log).write_all(&line);
            let _ = also.write_all(&line);
            line.clear();
        }
        let _ = also.flush();
    })
}

/// Runs `plugboard ARGS` (an operator's command: migrate, backup, copy...) to its end; answers what
/// it printed, or fails with what it said on stderr.
pub fn plugboard(args: &[&str]) -> Result<String> {
    let output = Command::new(binary())
        .args(args)
        .env("RUST_LOG", HUB_LOG_LEVEL)
        .output()
        .with_context(|| format!("running plugboard {args:?}"))?;
    // What it said goes to the run's log directory too, for the secrets grep.
    let command = args.first().copied().unwrap_or("plugboard");
    let (_, mut log) = log_file(command)?;
    std::io::Write::write_all(&mut log, &output.stdout)?;
    std::io::Write::write_all(&mut log, &output.stderr)?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "plugboard {args:?} failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// The URL of a test peer's server from `var`; `None` after saying how to set it, except with
/// `CI=true`, where a peer that is not configured fails the test rather than skipping it.
fn test_server(var: &str, example: &str) -> Result<Option<String>> {
    match std::env::var(var) {
        Ok(url) => Ok(Some(url)),
        Err(_) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            bail!("CI=true but {var} is not set: the tests that need it must run in CI")
        }
        Err(_) => {
            eprintln!("skipping: set {var} (e.g. {example}) to run this test");
            Ok(None)
        }
    }
}

/// A database of one test's own on the PostgreSQL server `PLUGBOARD_TEST_POSTGRES` names, dropped
/// when the test ends.
pub struct Postgres {
    pub url: String,
    server: String,
    name: String,
}

impl Postgres {
    /// A new empty database; `None` (the test skips, saying so) without a server, unless
    /// `CI=true`, where a missing PostgreSQL fails the test.
    pub async fn fresh() -> Result<Option<Postgres>> {
        use sqlx::Connection;
        let Some(server) = test_server("PLUGBOARD_TEST_POSTGRES", "postgres://root@127.0.0.1:5432/test")?
        else {
            return Ok(None);
        };
        let name = format!("pb_e2e_{:016x}", uuid::Uuid::now_v7().as_u128() as u64);
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .context("connecting to PLUGBOARD_TEST_POSTGRES")?;
        // Our own hex digits: safe to splice into the statement.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        Ok(Some(Postgres {
            url: with_database(&server, &name),
            server,
            name,
        }))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        use sqlx::Connection;
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop cannot await, and may run inside the test's runtime: a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// What the nodes of one multi-node test or load run share: a fresh PostgreSQL database and a
/// Redis key prefix of their own. `None` (the caller skips, saying so) when
/// `PLUGBOARD_TEST_POSTGRES` or `PLUGBOARD_TEST_REDIS` is not set, unless `CI=true`, where a
/// missing server is a failure.
pub struct SharedSite {
    pub db: Postgres,
    redis: String,
    prefix: String,
}

impl SharedSite {
    pub async fn fresh() -> Result<Option<SharedSite>> {
        let Some(redis) = test_server("PLUGBOARD_TEST_REDIS", "redis://127.0.0.1:6379")? else {
            return Ok(None);
        };
        let Some(db) = Postgres::fresh().await? else {
            return Ok(None);
        };
        let prefix = format!("pbe2e:{:016x}:", uuid::Uuid::now_v7().as_u128() as u64);
        Ok(Some(SharedSite { db, redis, prefix }))
    }

    /// The settings every node of the site starts with.
    pub fn env(&self) -> [(&'static str, &str); 3] {
        [
            ("PLUGBOARD_DATABASE_URL", self.db.url.as_str()),
            ("PLUGBOARD_REDIS_URL", self.redis.as_str()),
            ("PLUGBOARD_REDIS_PREFIX", self.prefix.as_str()),
        ]
    }
}

/// A load tool's hubs: one on SQLite in `dir`, or (`nodes` > 1, or `shared`) `nodes` of them as
/// one site on a fresh PostgreSQL database and Redis prefix, each in `dir/node<n>`. Without
/// `redis`, a single shared node runs on PostgreSQL alone (to tell the store's cost from the
/// bus's). The site is returned to be kept alive as long as the hubs.
pub async fn start_site(
    dir: &Path,
    env: &[(&str, &str)],
    nodes: usize,
    shared: bool,
    redis: bool,
) -> Result<(Option<SharedSite>, Vec<std::sync::Arc<Hub>>)> {
    ensure!(redis || nodes == 1, "several nodes need Redis");
    let mut env: Vec<(String, String)> = std::iter::once(&QUIET)
        .chain(env)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut site = None;
    if nodes > 1 || shared {
        let fresh = SharedSite::fresh()
            .await?
            .context("several nodes need PLUGBOARD_TEST_POSTGRES and PLUGBOARD_TEST_REDIS")?;
        let settings = fresh.env();
        env.extend(
            settings
                .iter()
                .filter(|(k, _)| redis || !k.contains("REDIS"))
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        site = Some(fresh);
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut hubs = Vec::new();
    for n in 0..nodes {
        let node_dir = dir.join(format!("node{n}"));
        std::fs::create_dir_all(&node_dir)?;
        hubs.push(std::sync::Arc::new(Hub::start(&node_dir, &env).await?));
    }
    Ok((site, hubs))
}

/// The server URL with its database replaced by `name`, keeping any `?options`.
fn with_database(url: &str, name: &str) -> String {
    let (base, options) = url.split_once('?').map_or((url, None), |(b, o)| (b, Some(o)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{name}", &base[..path]);
    if let Some(options) = options {
        out.push('?');
        out.push_str(options);
    }
    out
}

/// The item of a JSON list whose `name` is `name` (panics when there is none: a test failure).
pub fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|items| items.iter().find(|item| item["name"] == name))
        .unwrap_or_else(|| panic!("nothing named {name:?} in {list}"))
}

/// Resident memory of a process: (current, peak) in MiB.
pub fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds a process has used (user + system).
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// A fresh directory for one run of a load generator.
pub fn scratch_dir(what: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("plugboard-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Appends one JSON object as a line of a load tool's `--json` file.
pub fn append_json_line(path: &Path, record: &Value) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{record}")?;
    Ok(())
}

/// Now in epoch milliseconds, as the hub's times are.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The UTC date `days` from today, `YYYY-MM-DD` (H. Hinnant's civil-from-days).
pub fn utc_date(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let z = now / 86_400 + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Puts an agent console in Available and waits until the hub says so.
pub async fn available(agent: &mut Socket) {
    agent
        .send(json!({"type": "state.set", "state": "available"}))
        .await
        .unwrap();
    let state = agent.expect("agent.state").await.unwrap();
    assert_eq!(state["state"], "available");
}

/// A widget's new chat in Support with an opening line: the `started` frame.
pub async fn start_chat(widget: &mut Socket, name: &str, email: &str, message: &str) -> Value {
    widget
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    let ready = widget.expect("ready").await.unwrap();
    assert_eq!(ready["queue"], "Support");
    widget
        .send(json!({"type": "start", "name": name, "email": email, "message": message, "client_id": "c0"}))
        .await
        .unwrap();
    widget.expect("started").await.unwrap()
}

/// An available agent who has accepted a chat a new widget started: (agent, widget, interaction).
pub async fn accepted_chat(
    hub: &Hub,
    agent: &str,
    name: &str,
    email: &str,
    first: &str,
) -> (Socket, Socket, String) {
    let mut console = hub.agent(agent).await.unwrap();
    available(&mut console).await;
    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(&mut widget, name, email, first).await;
    let interaction = started["interaction_id"].as_str().unwrap().to_string();
    console.expect("offer").await.unwrap();
    console
        .send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    console.expect("interaction.assigned").await.unwrap();
    (console, widget, interaction)
}

/// A running hub; killed when dropped.
pub struct Hub {
    child: Child,
    pub base: String,
    /// The SIP server's UDP address, when started with `PLUGBOARD_SIP__LISTEN`.
    pub sip_udp: Option<String>,
    /// And its TCP address (another port than UDP's when the listen port is 0).
    pub sip_tcp: Option<String>,
    /// And its TLS address, when started with `PLUGBOARD_SIP__TLS_LISTEN`.
    pub sip_tls: Option<String>,
    /// The Prometheus URL, when started with `PLUGBOARD_HTTP__METRICS_LISTEN`.
    pub metrics: Option<String>,
    pub data_dir: PathBuf,
    /// The hub's log in `log_dir()`.
    pub log: PathBuf,
    /// The threads copying its stdout and stderr there, joined once it has exited.
    copiers: Vec<std::thread::JoinHandle<()>>,
}

impl Hub {
    /// Starts `plugboard serve --demo` on a free port in `data_dir`, with extra environment.
    pub async fn start(data_dir: &Path, env: &[(&str, &str)]) -> Result<Hub> {
        Ok(Hub::launch(data_dir, env, true, None).await?.0)
    }

    /// As `start`, with the hub's log (its stderr) written to `log` instead of the test's output
    /// (as well as to its file in `log_dir()`, as every hub's).
    pub async fn start_logged(data_dir: &Path, env: &[(&str, &str)], log: &Path) -> Result<Hub> {
        Ok(Hub::launch(data_dir, env, true, Some(log)).await?.0)
    }

    /// Starts `plugboard serve` as an operator would, without the demo; answers the hub and what
    /// it printed until it listened.
    pub async fn start_plain(data_dir: &Path, env: &[(&str, &str)]) -> Result<(Hub, Vec<String>)> {
        Hub::launch(data_dir, env, false, None).await
    }

    async fn launch(
        data_dir: &Path,
        env: &[(&str, &str)],
        demo: bool,
        log: Option<&Path>,
    ) -> Result<(Hub, Vec<String>)> {
        let bin = binary();
        if !bin.exists() {
            bail!(
                "{} is missing: run `cargo build --bin plugboard` first",
                bin.display()
            );
        }
        let mut command = Command::new(&bin);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(demo.then_some("--demo"))
            .env(
                "RUST_LOG",
                // `PLUGBOARD_TEST_LOG` given for this hub (a load tool's `QUIET`), else the
                // test run's, else the hub's default.
                env.iter()
                    .find(|(k, _)| *k == QUIET.0)
                    .map(|(_, v)| v.to_string())
                    .or_else(|| std::env::var(QUIET.0).ok())
                    .unwrap_or_else(|| HUB_LOG_LEVEL.into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        // Its stderr goes where it went before (the test's output, or `log`) and, with its
        // stdout, to a file of the run's log directory that `tests/log-grep.sh` reads.
        let also: Box<dyn std::io::Write + Send> = match log {
            Some(path) => Box::new(std::fs::File::create(path)?),
            None => Box::new(std::io::stderr()),
        };
        let (log_path, log_file) = log_file("serve")?;
        let log_file = std::sync::Arc::new(log_file);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let mut copiers = vec![tee_stderr(stderr, log_file.clone(), also)];
        // The hub prints its addresses (SIP first, then HTTP once it listens); keep draining
        // stdout afterwards.
        let (tx, rx) = std::sync::mpsc::channel();
        copiers.push(std::thread::spawn(move || {
            use std::io::Write;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = (&*log_file).write_all(format!("{line}\n").as_bytes());
                let _ = tx.send(line);
            }
        }));
        let (base, (sip_udp, sip_tcp, sip_tls), metrics, printed) = tokio::task::spawn_blocking(move || {
            let (mut sip_udp, mut sip_tcp, mut sip_tls, mut metrics) = (None, None, None, None);
            let mut printed = Vec::new();
            loop {
                let line = rx.recv_timeout(Duration::from_secs(60))?;
                if let Some(rest) = line.strip_prefix("plugboard sip on udp://") {
                    let mut parts = rest.split_whitespace();
                    sip_udp = parts.next().map(str::to_owned);
                    sip_tcp = parts
                        .next()
                        .and_then(|t| t.strip_prefix("tcp://"))
                        .map(str::to_owned);
                    sip_tls = parts
                        .next()
                        .and_then(|t| t.strip_prefix("tls://"))
                        .map(str::to_owned);
                }
                if let Some(url) = line.strip_prefix("plugboard metrics on ") {
                    metrics = Some(url.to_string());
                }
                if let Some(addr) = line.strip_prefix("plugboard listening on ") {
                    return Ok::<_, std::sync::mpsc::RecvTimeoutError>((
                        addr.to_string(),
                        (sip_udp, sip_tcp, sip_tls),
                        metrics,
                        printed,
                    ));
                }
                printed.push(line);
            }
        })
        .await?
        .context("the hub did not say where it listens")?;
        let hub = Hub {
            child,
            base,
            sip_udp,
            sip_tcp,
            sip_tls,
            metrics,
            data_dir: data_dir.to_path_buf(),
            log: log_path,
            copiers,
        };
        hub.wait_healthy().await?;
        Ok((hub, printed))
    }

    async fn wait_healthy(&self) -> Result<()> {
        // A hub on HTTPS presents the test's own certificate: its test checks it, not this.
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(self.base.starts_with("https:"))
            .build()?;
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the hub never became healthy")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no chance to flush or say goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{}", self.base.replacen("http", "ws", 1), path)
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<String> {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await?;
        if !status.is_success() {
            bail!("login {email}: {status} {body}");
        }
        Ok(body["token"].as_str().context("no token")?.to_string())
    }

    /// A REST call with a bearer token; answers (status, body).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1{}", self.base, path);
        let mut request = client.request(method.parse()?, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// A file uploaded for a mail, as the console sends one (`POST /uploads`, the raw bytes):
    /// (status, body).
    pub async fn upload(
        &self,
        token: &str,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(u16, Value)> {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/uploads", self.base))
            .query(&[("filename", filename)])
            .bearer_auth(token)
            .header("Content-Type", content_type)
            .body(bytes)
            .send()
            .await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// `/readyz`: (status, body).
    pub async fn readyz(&self) -> Result<(u16, Value)> {
        let r = reqwest::get(format!("{}/readyz", self.base)).await?;
        Ok((r.status().as_u16(), r.json().await?))
    }

    /// GETs a list under `/api/v1` and answers its item called `name`.
    pub async fn named(&self, token: &str, path: &str, name: &str) -> Result<Value> {
        let (_, list) = self.call("GET", path, Some(token), None).await?;
        Ok(named(&list, name).clone())
    }

    pub async fn agent(&self, email: &str) -> Result<Socket> {
        let token = self.login(email, DEMO_PASSWORD).await?;
        self.agent_with(&token).await
    }

    /// An agent console signed in with a session token already had.
    pub async fn agent_with(&self, token: &str) -> Result<Socket> {
        let mut socket = Socket::connect(&self.ws_url("/ws/agent")).await?;
        socket.send(json!({"type": "auth", "token": token})).await?;
        socket.expect("snapshot").await?;
        Ok(socket)
    }

    pub async fn widget(&self) -> Result<Socket> {
        Socket::connect(&self.ws_url("/ws/chat")).await
    }

    /// The first line of type `kind` on an interaction's log, as `token` reads it.
    pub async fn logged(&self, token: &str, interaction: &str, kind: &str) -> Value {
        let (status, detail) = self
            .call("GET", &format!("/interactions/{interaction}"), Some(token), None)
            .await
            .unwrap();
        assert_eq!(status, 200, "{detail}");
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} on the log: {detail}"))
            .clone()
    }

    /// A supervisor watching a conversation (on `console`, signed in with `token`) cannot write
    /// into it: a `message` frame is refused `forbidden` (naming its `client_id`), and so is a
    /// POST to `rest` (`/interactions/{id}/messages`, `/emails`) with 403.
    pub async fn watcher_cannot_write(
        &self,
        console: &mut Socket,
        token: &str,
        interaction: &str,
        rest: &str,
    ) {
        console
            .send(
                json!({"type": "message", "interaction_id": interaction, "client_id": "watcher-1",
                "body": "Sam here"}),
            )
            .await
            .unwrap();
        let refused = console.expect_error().await;
        assert_eq!(
            (refused["code"].as_str(), refused["ref"].as_str()),
            (Some("forbidden"), Some("watcher-1")),
            "{refused}"
        );
        let body = json!({"client_id": "watcher-2", "body": "Sam here"});
        let (status, answer) = self
            .call(
                "POST",
                &format!("/interactions/{interaction}{rest}"),
                Some(token),
                Some(body),
            )
            .await
            .unwrap();
        assert_eq!(status, 403, "{answer}");
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its last lines are in the pipes: let the copiers write them before the test reads a log
        // (briefly: the hub starts no processes that could hold its pipes open).
        let until = std::time::Instant::now() + Duration::from_secs(2);
        for copier in std::mem::take(&mut self.copiers) {
            while !copier.is_finished() && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if copier.is_finished() {
                let _ = copier.join();
            }
        }
    }
}

/// A websocket client speaking the hub's JSON frames.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub const WAIT: Duration = Duration::from_secs(15);

impl Socket {
    pub async fn connect(url: &str) -> Result<Socket> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("connecting {url}"))?;
        Ok(Socket { ws })
    }

    /// As a browser showing a page of `origin` opens it (the `Origin` header).
    pub async fn connect_from(url: &str, origin: &str) -> Result<Socket> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("origin", origin.parse()?);
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .with_context(|| format!("connecting {url} from {origin}"))?;
        Ok(Socket { ws })
    }

    pub async fn send(&mut self, frame: Value) -> Result<()> {
        self.send_text(frame.to_string()).await
    }

    pub async fn send_text(&mut self, text: String) -> Result<()> {
        self.ws.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }

    /// The next JSON frame, waiting at most `WAIT`.
    pub async fn recv(&mut self) -> Result<Value> {
        self.recv_within(WAIT).await
    }

    pub async fn recv_within(&mut self, wait: Duration) -> Result<Value> {
        // One deadline for all: pings and pongs in between must not stretch the wait.
        let until = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(until, self.ws.next())
                .await
                .map_err(|_| anyhow!("no frame within {wait:?}"))?
                .ok_or_else(|| anyhow!("socket closed"))??;
            match message {
                WsMessage::Text(text) => return Ok(serde_json::from_str(text.as_str())?),
                WsMessage::Close(_) => bail!("socket closed"),
                _ => continue,
            }
        }
    }

    /// Skips frames until one of type `kind` arrives (an `error` frame fails unless expected).
    pub async fn expect(&mut self, kind: &str) -> Result<Value> {
        loop {
            let frame = self.recv().await?;
            if frame["type"] == kind {
                return Ok(frame);
            }
            if frame["type"] == "error" {
                bail!("expected {kind}, got error {frame}");
            }
        }
    }

    /// Reads until the server closes the socket, skipping frames; answers the close code it
    /// sent (`None`: the connection ended without a close frame). Fails if still open after `wait`.
    pub async fn close_code(&mut self, wait: Duration) -> Result<Option<u16>> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let left = until
                .checked_duration_since(tokio::time::Instant::now())
                .ok_or_else(|| anyhow!("still open after {wait:?}"))?;
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => bail!("still open after {wait:?}"),
                Ok(None | Some(Err(_))) => return Ok(None),
                Ok(Some(Ok(WsMessage::Close(frame)))) => return Ok(frame.map(|f| f.code.into())),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Reads until an `error` frame, skipping others.
    pub async fn expect_error(&mut self) -> Value {
        loop {
            let frame = self.recv().await.expect("a frame");
            if frame["type"] == "error" {
                return frame;
            }
        }
    }

    /// The next `watched.message` (on a supervisor's console watching a conversation) whose
    /// message `pick` accepts; others, such as an earlier message's delivery, are skipped.
    pub async fn watched_message(&mut self, pick: impl Fn(&Value) -> bool) -> Value {
        loop {
            let frame = self.expect("watched.message").await.unwrap();
            if pick(&frame["message"]) {
                return frame["message"].clone();
            }
        }
    }

    /// Whether a frame of type `kind` arrives within `wait` (others are skipped).
    pub async fn gets_within(&mut self, kind: &str, wait: Duration) -> Option<Value> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let left = until.checked_duration_since(tokio::time::Instant::now())?;
            match self.recv_within(left).await {
                Ok(frame) if frame["type"] == kind => return Some(frame),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Makes a CA and a certificate it signs for 127.0.0.1 in `dir`, with openssl: `ca.pem`,
/// `server.pem`, `server.key`: for IMAPS and SMTP against the mail peers, and SIP over TLS. The
/// keys are the test's own, made at test time and thrown away with `dir`.
pub fn make_certificates(dir: &Path) {
    let openssl = |line: &str| {
        let out = Command::new("openssl")
            .args(line.split_whitespace())
            .current_dir(dir)
            .output()
            .expect("openssl runs (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    openssl(&format!(
        "req -x509 {key} -days 2 -keyout ca.key -out ca.pem -subj /CN=Plugboard-test-CA \
         -addext basicConstraints=critical,CA:TRUE"
    ));
    openssl(&format!(
        "req {key} -keyout server.key -out server.csr -subj /CN=127.0.0.1"
    ));
    openssl(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
         -out server.pem -extfile server.ext",
    );
}
