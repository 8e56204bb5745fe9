//! The telephony connector inside the real hub, against real sipp peers: a phone an admin gave an
//! agent registers with digest auth (a wrong password is refused); a caller dialling a queue's
//! number is offered to the available agent, whose phone rings and answers, and the call lands on
//! the customer's timeline with its talk time and recording; a caller who hangs up before anyone
//! answers is counted as abandoned with the wait. baresip and Linphone do the same over TLS with
//! SRTP, as callers and as agents' phones.

use plugboard_tests::linphone::{self, Linphone, Transport};
use plugboard_tests::{BROWSER_OFFER, DEMO_PASSWORD, Hub, SUPPORT_LINE, SharedSite, Socket, available};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// sipp, or `None` (a failure when CI=true: a missing peer in CI is never a silent skip).
fn sipp() -> Option<()> {
    if Command::new("sipp").arg("-v").output().is_ok() {
        return Some(());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "sipp is missing (apt-get install sip-tester)"
    );
    eprintln!("skipped: sipp is not installed");
    None
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../connectors/sip/tests/sipp")
        .join(name)
}

/// Runs one sipp scenario as `user` with `password` against the hub; true when it passed.
fn run(target: &str, name: &str, user: &str, password: &str) -> (bool, String) {
    run_with(target, name, user, password, &[])
}

fn run_with(target: &str, name: &str, user: &str, password: &str, extra: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    // What a caller says: one of the hub's own prompts, raw µ-law.
    let voice = Path::new(env!("CARGO_MANIFEST_DIR")).join("../connectors/sip/media/greeting.ul");
    std::fs::copy(voice, dir.path().join("caller.ul")).unwrap();
    // A caller pressing 2: the RFC 4733 event sipp ships.
    let _ = std::fs::copy(
        "/usr/share/sip-tester/dtmf_2833_2.pcap",
        dir.path().join("dtmf.pcap"),
    );
    let out = Command::new("sipp")
        .arg(target)
        .args([
            "-sf",
            scenario(name).to_str().unwrap(),
            "-t",
            "u1",
            "-i",
            "127.0.0.1",
            "-m",
            "1",
        ])
        .args([
            "-s",
            user,
            "-ap",
            password,
            "-timeout",
            "10s",
            "-timeout_error",
            "-nostdin",
        ])
        .args(extra)
        .current_dir(dir.path())
        .output()
        .expect("sipp runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn an_agents_phone_registers_with_the_hub() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // sipp answers only the first challenge, and only MD5.
    let env = [
        ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
        ("PLUGBOARD_SIP__ALGORITHMS", "[\"MD5\", \"SHA-256\"]"),
    ];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let target = hub.sip_udp.clone().expect("the hub says where SIP listens");

    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob = hub.named(&admin, "/agents", "Bob Martin").await.unwrap()["id"].clone();
    let phone = json!({"agent_id": bob, "username": "bob-desk", "password": "desk-phone-1"});
    let (status, created) = hub
        .call("POST", "/phones", Some(&admin), Some(phone))
        .await
        .unwrap();
    assert_eq!(status, 200, "{created}");

    let (ok, log) = run(&target, "register.xml", "bob-desk", "desk-phone-1");
    assert!(ok, "register, then un-register:\n{log}");
    let (ok, log) = run(
        &target,
        "register_wrong_password.xml",
        "bob-desk",
        "not-the-password",
    );
    assert!(ok, "a wrong password is refused:\n{log}");

    // Once the phone is taken away it can no longer register.
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        hub.call("DELETE", &format!("/phones/{id}"), Some(&admin), None)
            .await
            .unwrap()
            .0,
        204
    );
    let (ok, _) = run(&target, "register.xml", "bob-desk", "desk-phone-1");
    assert!(!ok, "a removed phone still registers");
}

/// Waits for a sipp or baresip peer to end; it must have played its scenario through.
async fn passes(what: &str, peer: Child) {
    let out = tokio::task::spawn_blocking(move || peer.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A UDP port nobody uses right now.
fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A sipp desk phone answering one call on `port` (agent_phone.xml), echoing the audio.
fn desk_phone(target: &str, port: u16, dir: &Path) -> Child {
    phone_device(target, port, dir, "agent_phone.xml")
}

/// A sipp device on `port` playing one call of `name`.
fn phone_device(target: &str, port: u16, dir: &Path, name: &str) -> Child {
    sipp_peer(target, port, dir, name, &[])
}

/// A sipp UAS on `port` playing one call of `name` (echoing the audio), with `extra` arguments.
fn sipp_peer(target: &str, port: u16, dir: &Path, name: &str, extra: &[&str]) -> Child {
    Command::new("sipp")
        .arg(target)
        .args(["-sf", scenario(name).to_str().unwrap()])
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-mp",
            &free_port().to_string(),
        ])
        .args([
            "-m",
            "1",
            "-rtp_echo",
            "-timeout",
            "30s",
            "-timeout_error",
            "-nostdin",
        ])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs")
}

/// A hub taking calls for the demo's Support queue on number 100 from a trunk at 127.0.0.1,
/// with Bob's desk phone registered (answered by a sipp UAS on the returned port).
async fn hub_with_a_desk_phone(dir: &Path) -> (Hub, String, u16) {
    hub_with_a_desk_phone_and(dir, &[]).await
}

async fn hub_with_a_desk_phone_and(dir: &Path, extra: &[(&str, &str)]) -> (Hub, String, u16) {
    let mut env = vec![("PLUGBOARD_SIP__ALGORITHMS", "[\"MD5\"]")];
    env.extend_from_slice(extra);
    let (hub, target) = hub_on_the_trunk(dir, &env).await;
    let port = give_a_desk_phone(&hub, &target, "Bob Martin", "bob-desk", "desk-phone-1").await;
    (hub, target, port)
}

/// A hub taking calls from the trunk at 127.0.0.1 (over UDP too), 100 dialling Support, with
/// `extra` settings; and its SIP address.
async fn hub_on_the_trunk(dir: &Path, extra: &[(&str, &str)]) -> (Hub, String) {
    let mut env = vec![
        ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
        ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
        ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
        ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
    ];
    env.extend_from_slice(extra);
    let hub = Hub::start(dir, &env).await.unwrap();
    let target = hub.sip_udp.clone().expect("the hub says where SIP listens");
    (hub, target)
}

/// [`hub_with_a_desk_phone`] calling out through a trunk to the carrier's port (returned last),
/// where a test's sipp plays the customer's line.
async fn hub_calling_out(dir: &Path) -> (Hub, String, u16, u16) {
    let carrier = free_sip_port();
    let trunk = format!("127.0.0.1:{carrier}");
    let (hub, target, port) =
        hub_with_a_desk_phone_and(dir, &[("PLUGBOARD_SIP__OUTBOUND_TRUNK", &trunk)]).await;
    (hub, target, port, carrier)
}

/// The admin gives the agent named `agent` a desk phone `username`, and it registers through
/// `target` with its contact on the returned port.
async fn give_a_desk_phone(hub: &Hub, target: &str, agent: &str, username: &str, password: &str) -> u16 {
    give_phone(hub, agent, username, password).await;
    let port = free_port();
    let key = port.to_string();
    let (ok, log) = run_with(
        target,
        "register_as.xml",
        username,
        password,
        &["-key", "contact_port", &key],
    );
    assert!(ok, "{agent}'s desk phone registers:\n{log}");
    port
}

/// A caller from +1 415 555 2671 (the demo's Maria Garcia) dialling `number`, staying `ms` after the answer.
/// Each on its own SIP and media ports, so two can call at once.
fn call(target: &str, number: &str, ms: u64) -> tokio::task::JoinHandle<(bool, String)> {
    let target = target.to_owned();
    let number = number.to_owned();
    tokio::task::spawn_blocking(move || {
        let (sip_port, media_port) = (free_port().to_string(), free_port().to_string());
        run_with(
            &target,
            "caller.xml",
            &number,
            "",
            &["-d", &ms.to_string(), "-p", &sip_port, "-mp", &media_port],
        )
    })
}

/// Registers Bob's desk phone (`bob-desk`, contact on port `contact_port`) through `target`,
/// trying again for a while: a node learns of a phone added through another within seconds.
async fn register_bob_desk(target: &str, contact_port: &str) -> (bool, String) {
    let mut registered = (false, String::new());
    for _ in 0..8 {
        registered = run_with(
            target,
            "register_as.xml",
            "bob-desk",
            "desk-phone-1",
            &["-key", "contact_port", contact_port],
        );
        if registered.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    registered
}

async fn timeline_of_the_caller(hub: &Hub, token: &str) -> Value {
    let (status, found) = hub
        .call("GET", "/customers?q=%2B14155552671", Some(token), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{found}");
    let customer = found[0]["id"]
        .as_str()
        .expect("the caller became a customer")
        .to_owned();
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
async fn a_call_rings_the_available_agents_phone_and_lands_on_the_timeline() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, target, port) = hub_with_a_desk_phone(dir.path()).await;
    let phone_dir = tempfile::tempdir().unwrap();
    let phone = desk_phone(&target, port, phone_dir.path());
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    // Ready: the dispatcher's pipeline and the telephony task run.
    let (status, ready) = hub.readyz().await.unwrap();
    assert_eq!(status, 200, "{ready}");
    for task in [
        "dispatcher.router",
        "dispatcher.committer",
        "dispatcher.publisher",
        "telephony",
    ] {
        assert_eq!(
            ready["tasks"][task],
            json!({"running": true, "panics": 0}),
            "{ready}"
        );
    }

    let caller = call(&target, "100", 3000);
    // The screen pop comes with the offer, before the phone is even answered: the caller's
    // number is the demo customer Maria's, so her card pops, not a stranger's.
    let offer = bob.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["channel"], "voice");
    assert_eq!(offer["card"]["customer"]["name"], "Maria Garcia");
    let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
    // The phone answering is Bob accepting.
    let assigned = bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(assigned["interaction"]["id"], interaction.as_str());
    // Bob puts Maria on hold (she hears music) and takes her back.
    for on in [true, false] {
        bob.send(json!({"type": "call.hold", "interaction_id": interaction, "on": on}))
            .await
            .unwrap();
        let hold = bob.expect("call.hold").await.unwrap();
        assert_eq!(hold["on"], on);
    }

    let (ok, log) = caller.await.unwrap();
    assert!(ok, "the caller's call went through:\n{log}");
    passes("the desk phone", phone).await;

    // The caller hung up: Bob wraps up, and the call is on Ann's timeline.
    let updated = bob.expect("interaction.updated").await.unwrap();
    assert_eq!(updated["interaction"]["state"], "wrap_up");
    let token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, detail) = hub
        .call("GET", &format!("/interactions/{interaction}"), Some(&token), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{detail}");
    let events = detail["events"].as_array().unwrap();
    let ended = events
        .iter()
        .find(|e| e["type"] == "call.ended")
        .unwrap_or_else(|| panic!("no call.ended in {detail}"));
    assert_eq!(ended["data"]["by"], "caller");
    assert!(ended["data"]["hold_ms"].as_i64().is_some(), "{ended}");
    for kind in ["call.held", "call.resumed"] {
        assert!(events.iter().any(|e| e["type"] == kind), "no {kind} in {detail}");
    }
    // Connected to Bob for most of the caller's 3 s: talk plus the hold his two clicks took
    // (which a loaded machine stretches).
    let talk = ended["data"]["talk_ms"].as_i64().unwrap();
    let hold = ended["data"]["hold_ms"].as_i64().unwrap();
    assert!(
        (1500..10_000).contains(&(talk + hold)),
        "talk {talk} ms, hold {hold} ms"
    );
    assert!(talk > 0, "talk {talk} ms, hold {hold} ms");
    let file = dir.path().join("recordings").join(format!("{interaction}.wav"));
    let wav = hound::WavReader::open(&file).expect("the call was recorded");
    assert_eq!(wav.spec().channels, 2);
    assert!(wav.duration() > 8000, "{} frames", wav.duration());
    // Caller left, agent right: both heard (the desk phone echoes the caller).
    let samples: Vec<i16> = wav.into_samples().map(Result::unwrap).collect();
    let loudness = |channel: usize| {
        let side: Vec<f64> = samples
            .iter()
            .skip(channel)
            .step_by(2)
            .map(|s| f64::from(*s))
            .collect();
        (side.iter().map(|s| s * s).sum::<f64>() / side.len() as f64).sqrt()
    };
    assert!(loudness(0) > 300.0, "the caller is silent: {}", loudness(0));
    assert!(loudness(1) > 300.0, "the agent is silent: {}", loudness(1));
    let timeline = timeline_of_the_caller(&hub, &token).await;
    assert!(timeline.to_string().contains(&interaction), "{timeline}");
}

#[tokio::test]
async fn a_caller_who_hangs_up_in_the_queue_is_abandoned_with_the_wait() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, target, _) = hub_with_a_desk_phone(dir.path()).await;
    // Nobody is available: the caller hears music for a second and a half, then gives up.
    let (ok, log) = call(&target, "100", 1500).await.unwrap();
    assert!(ok, "{log}");
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut timeline = Value::Null;
    for _ in 0..50 {
        timeline = timeline_of_the_caller(&hub, &token).await;
        if timeline.to_string().contains("abandoned") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(timeline.to_string().contains("\"abandoned\""), "{timeline}");

    // A number nobody configured is refused.
    let (ok, log) = call(&target, "999", 100).await.unwrap();
    assert!(!ok && log.contains("404"), "{log}");
}

/// With `sip.max_calls` calls held, the next caller is answered 503 (with Retry-After, checked
/// in the B2BUA's own test) instead of being queued, and the call already held goes on.
#[tokio::test]
async fn a_caller_beyond_the_ceiling_on_calls_is_turned_away() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_hub, target, _) = hub_with_a_desk_phone_and(dir.path(), &[("PLUGBOARD_SIP__MAX_CALLS", "1")]).await;
    // Nobody is available: the first caller waits with music for 4 s.
    let first = call(&target, "100", 4000);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (ok, log) = call(&target, "100", 100).await.unwrap();
    assert!(!ok && log.contains("503"), "{log}");
    let (ok, log) = first.await.unwrap();
    assert!(ok, "the caller held before keeps their call:\n{log}");
}

/// baresip, or `None` (a failure when CI=true).
fn baresip() -> Option<()> {
    let found = Command::new("baresip").arg("-h").output().is_ok()
        && Command::new("sox").arg("--version").output().is_ok();
    if found {
        return Some(());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "baresip or sox is missing (apt-get install baresip sox)"
    );
    eprintln!("skipped: baresip or sox is not installed");
    None
}

/// A port free for SIP over both UDP and TCP, with the next one free over TCP: baresip listens
/// on both, and for TLS on the port after its `sip_listen` port.
fn free_sip_port() -> u16 {
    loop {
        let port = free_port();
        let tcp_free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if port < u16::MAX && tcp_free(port) && tcp_free(port + 1) {
            return port;
        }
    }
}

/// A baresip profile in `dir`: listening on a free port, sending `wav` as its voice, G.711 only,
/// no sound card; `account` is its accounts line.
fn baresip_profile(dir: &Path, wav: &Path, account: &str, rtp: u16) {
    let config = format!(
        "poll_method epoll\nsip_listen 127.0.0.1:{}\naudio_source aufile,{wav}\naudio_alert aufile,{wav}\n\
         rtp_ports {rtp}-{}\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
         module_app account.so\nmodule_app menu.so\n",
        free_sip_port(),
        rtp + 200,
        wav = wav.display(),
    );
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(dir.join("accounts"), format!("{account}\n")).unwrap();
}

/// A site baresip phones can use over UDP: trunk calls from 127.0.0.1 to 100 (Support), and MD5
/// digests only (baresip 1.0, libre, fails on any SHA-256 challenge in the 401, even after an MD5
/// one: "Register: Function not implemented").
const BARESIP_SITE: [(&str, &str); 5] = [
    ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
    ("PLUGBOARD_SIP__ALGORITHMS", "[\"MD5\"]"),
    ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
    ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
    ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
];

/// A tone as a caller's or an agent's voice: `seconds` of `hz`, 8 kHz mono.
fn tone(path: &Path, hz: u32, seconds: u32) {
    let status = Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(path)
        .args([
            "synth",
            &seconds.to_string(),
            "sine",
            &hz.to_string(),
            "gain",
            "-6",
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

/// sox's reading of one channel of a recording: (length in seconds, RMS amplitude).
fn sox_stat(wav: &Path, channel: u32) -> (f64, f64) {
    let out = Command::new("sox")
        .arg(wav)
        .args(["-n", "remix", &channel.to_string(), "stat"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let field = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{text}"));
        line.rsplit(':').next().unwrap().trim().parse().unwrap()
    };
    (field("Length (seconds)"), field("RMS     amplitude"))
}

#[tokio::test]
async fn baresip_calls_a_baresip_desk_phone_that_answers_by_itself_and_both_voices_are_recorded() {
    baresip_call_is_recorded(false).await;
}

/// The same call over TLS with SRTP on both legs: the caller dials the hub's TLS port as a trunk
/// (trusted by its address, as over TCP), the desk phone registers over TLS and is rung on that
/// connection; both baresips insist on SRTP (`mediaenc=srtp-mand`, SDES), and the recording holds
/// both voices, so the hub decrypted both legs.
#[tokio::test]
async fn baresip_over_tls_with_srtp_calls_a_baresip_desk_phone_and_both_voices_are_recorded() {
    baresip_call_is_recorded(true).await;
}

/// A baresip caller through the trunk calls a baresip desk phone that answers by itself; sox
/// hears both voices in the recording. With `tls`, all of it over TLS with SRTP.
async fn baresip_call_is_recorded(tls: bool) {
    if sipp().is_none() || baresip().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let (cert, key, ca) = (
        certs.join("server.pem"),
        certs.join("server.key"),
        certs.join("ca.pem"),
    );
    let mut env = BARESIP_SITE.to_vec();
    if tls {
        plugboard_tests::make_certificates(&certs);
        env.extend([
            ("PLUGBOARD_SIP__TLS_LISTEN", "127.0.0.1:0"),
            ("PLUGBOARD_SIP__TLS_CERT", cert.to_str().unwrap()),
            ("PLUGBOARD_SIP__TLS_KEY", key.to_str().unwrap()),
        ]);
    }
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let (target, transport, secure) = if tls {
        let tls = hub.sip_tls.clone().expect("the hub says where TLS listens");
        (tls, ";transport=tls", ";mediaenc=srtp-mand")
    } else {
        (hub.sip_udp.clone().unwrap(), "", "")
    };
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob = hub.named(&admin, "/agents", "Bob Martin").await.unwrap()["id"].clone();
    let phone = json!({"agent_id": bob, "username": "bob-desk", "password": "desk-phone-1"});
    assert_eq!(
        hub.call("POST", "/phones", Some(&admin), Some(phone))
            .await
            .unwrap()
            .0,
        200
    );

    // Bob's desk phone: baresip, auto-answer, saying a 660 Hz tone.
    let work = tempfile::tempdir().unwrap();
    let (desk, caller) = (work.path().join("desk"), work.path().join("caller"));
    std::fs::create_dir_all(&desk).unwrap();
    std::fs::create_dir_all(&caller).unwrap();
    let rtp = 30_000 + (std::process::id() % 50) as u16 * 400 + u16::from(tls) * 100;
    tone(&work.path().join("agent.wav"), 660, 30);
    baresip_profile(
        &desk,
        &work.path().join("agent.wav"),
        &format!(
            "<sip:bob-desk@{target}{transport}>;auth_pass=desk-phone-1;answermode=auto;regint=300{secure}"
        ),
        rtp,
    );
    if tls {
        baresip_secure(&desk, &ca);
    }
    let desk_log = work.path().join("desk.log");
    let mut desk_phone = Command::new("baresip")
        .arg("-f")
        .arg(&desk)
        .args(["-t", "40"])
        .stdout(std::fs::File::create(&desk_log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut contacts = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, phones) = hub.call("GET", "/phones", Some(&admin), None).await.unwrap();
        assert_eq!(status, 200);
        contacts = phones[0]["contacts"].as_array().cloned().unwrap_or_default();
        if !contacts.is_empty() {
            break;
        }
    }
    assert!(
        !contacts.is_empty(),
        "baresip did not register:\n{}",
        std::fs::read_to_string(&desk_log).unwrap_or_default()
    );
    if tls {
        assert!(
            contacts[0].to_string().contains("transport=tls"),
            "registered over TLS: {contacts:?}"
        );
    }

    let mut console = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut console).await;

    // The caller: baresip through the trunk, saying 6 seconds of 440 Hz, then hanging up.
    tone(&work.path().join("caller.wav"), 440, 6);
    baresip_profile(
        &caller,
        &work.path().join("caller.wav"),
        &format!("<sip:+14155550123@127.0.0.1{transport}>;regint=0{secure}"),
        rtp + 200,
    );
    if tls {
        baresip_secure(&caller, &ca);
    }
    // The account's transport goes with it.
    let dial = format!("/dial sip:100@{target}");
    let caller_log = work.path().join("caller.log");
    let calling = Command::new("baresip")
        .arg("-f")
        .arg(&caller)
        .args(["-e", &dial, "-t", "15"])
        .stdout(std::fs::File::create(&caller_log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let Ok(offer) = console.expect("offer").await else {
        panic!(
            "no offer; the caller said:\n{}\nthe desk phone said:\n{}",
            std::fs::read_to_string(&caller_log).unwrap_or_default(),
            std::fs::read_to_string(&desk_log).unwrap_or_default()
        );
    };
    let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
    console.expect("interaction.assigned").await.unwrap();
    let updated = console
        .gets_within("interaction.updated", Duration::from_secs(20))
        .await;
    assert_eq!(updated.unwrap()["interaction"]["state"], "wrap_up");
    tokio::task::spawn_blocking(move || calling.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let log = std::fs::read_to_string(&caller_log).unwrap_or_default();
    assert!(log.contains("Call established"), "{log}");
    let _ = desk_phone.kill();
    let _ = desk_phone.wait();
    if tls {
        // Each phone keyed SRTP with the hub and took the hub's packets (an SRTP-only phone drops
        // what it cannot authenticate).
        let desk = std::fs::read_to_string(&desk_log).unwrap_or_default();
        for (who, log) in [("caller", &log), ("desk phone", &desk)] {
            assert!(
                log.contains("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"),
                "{who}: {log}"
            );
            assert!(
                log.contains("incoming rtp for 'audio' established"),
                "{who}: {log}"
            );
        }
    }

    // sox hears the caller's tone on the left and the agent's on the right, for the call's length.
    let file = dir.path().join("recordings").join(format!("{interaction}.wav"));
    let (length, caller_rms) = sox_stat(&file, 1);
    let (_, agent_rms) = sox_stat(&file, 2);
    assert!((4.0..8.0).contains(&length), "the recording lasts {length} s");
    assert!(
        caller_rms > 0.05,
        "the caller is silent in the recording: {caller_rms}"
    );
    assert!(
        agent_rms > 0.05,
        "the agent is silent in the recording: {agent_rms}"
    );
}

/// A baresip profile made by [`baresip_profile`] speaking SIP over TLS (trusting the tests' CA)
/// and SRTP (SDES): its `srtp` module.
fn baresip_secure(dir: &Path, ca: &Path) {
    let mut config = std::fs::read_to_string(dir.join("config")).unwrap();
    config.push_str(&format!("sip_cafile {}\nmodule srtp.so\n", ca.display()));
    std::fs::write(dir.join("config"), config).unwrap();
}

/// Gives the queue named `name` these business hours (PUT /queues/{id} with the rest as it is).
async fn set_hours(hub: &Hub, admin: &str, name: &str, hours: Value) -> Value {
    let mut queue = hub.named(admin, "/queues", name).await.unwrap();
    queue["hours"] = hours;
    let path = format!("/queues/{}", queue["id"].as_str().unwrap());
    let (status, saved) = hub.call("PUT", &path, Some(admin), Some(queue)).await.unwrap();
    assert_eq!(status, 200, "{saved}");
    saved
}

/// Outside business hours a baresip caller hears the closed message and leaves a message; once
/// they hang up it is a voice interaction marked offline that waits in Support, and the first
/// agent to come back is offered it (no phone rings: Bob has none) with the caller's voice in the
/// recording.
#[tokio::test]
async fn a_caller_outside_business_hours_leaves_a_voicemail_that_waits_for_an_agent() {
    if sipp().is_none() || baresip().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Recording calls off: a voicemail is kept all the same.
    let (hub, target) = hub_on_the_trunk(dir.path(), &[("PLUGBOARD_SIP__RECORD", "false")]).await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    // Bad hours are refused with what is wrong, and change nothing.
    let mut queue = hub.named(&admin, "/queues", "Support").await.unwrap();
    let path = format!("/queues/{}", queue["id"].as_str().unwrap());
    queue["hours"] = json!({"time_zone": "Asia/Shanghai", "open": {"mon": ["9-18"]}});
    let (status, error) = hub
        .call("PUT", &path, Some(&admin), Some(queue.clone()))
        .await
        .unwrap();
    assert_eq!(status, 400, "{error}");
    assert!(error.to_string().contains("09:00-18:00"), "{error}");
    queue["hours"] = json!({"time_zone": "Asia/Beijing", "open": {}});
    let (status, error) = hub.call("PUT", &path, Some(&admin), Some(queue)).await.unwrap();
    assert_eq!(status, 400, "{error}");
    assert!(error.to_string().contains("time zone"), "{error}");
    // Open no day of the week, and New Year's Day a holiday besides.
    let saved = set_hours(
        &hub,
        &admin,
        "Support",
        json!({"time_zone": "Asia/Shanghai", "open": {}, "holidays": ["2027-01-01"]}),
    )
    .await;
    assert_eq!(saved["hours"]["holidays"], json!(["2027-01-01"]));

    // The caller says a 440 Hz tone for 16 s and hangs up: the closed message and the beep take
    // about 9 s, so some 6 s are the message.
    let work = tempfile::tempdir().unwrap();
    tone(&work.path().join("caller.wav"), 440, 20);
    baresip_profile(
        work.path(),
        &work.path().join("caller.wav"),
        "<sip:+14155550123@127.0.0.1>;regint=0",
        31_000 + (std::process::id() % 50) as u16 * 20,
    );
    let caller_log = work.path().join("caller.log");
    let calling = Command::new("baresip")
        .arg("-f")
        .arg(work.path())
        .args(["-e", &format!("/dial sip:100@{target}"), "-t", "16"])
        .stdout(std::fs::File::create(&caller_log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::task::spawn_blocking(move || calling.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let log = std::fs::read_to_string(&caller_log).unwrap_or_default();
    assert!(log.contains("Call established"), "{log}");

    // Bob comes in: the voicemail is offered to him like any waiting contact, and no phone rings.
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let Some(offer) = bob.gets_within("offer", Duration::from_secs(10)).await else {
        panic!("no offer; the caller said:\n{log}");
    };
    let interaction = offer["interaction"].clone();
    assert_eq!(
        (
            &interaction["channel"],
            &interaction["offline"],
            &interaction["entry_point"]
        ),
        (&json!("voice"), &json!(true), &json!("sip:100")),
        "{offer}"
    );
    let id = interaction["id"].as_str().unwrap().to_owned();
    bob.send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    let assigned = bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(assigned["interaction"]["state"], "active");
    assert!(
        bob.gets_within("error", Duration::from_millis(500))
            .await
            .is_none(),
        "nothing tried to ring Bob's (missing) phone"
    );
    // The message: the caller's tone on the left, for about as long as they spoke after the beep.
    let file = dir.path().join("recordings").join(format!("{id}.wav"));
    let (length, caller_rms) = sox_stat(&file, 1);
    assert!((3.0..9.0).contains(&length), "the voicemail lasts {length} s");
    assert!(
        caller_rms > 0.05,
        "the caller is silent in the voicemail: {caller_rms}"
    );
    let (status, _) = hub
        .call(
            "GET",
            &format!("/interactions/{id}/recording"),
            Some(&hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "Bob, who holds it, may listen to it");
    // Done with it: it ends like a call, into wrap-up, and stays on the customer's timeline.
    bob.send(json!({"type": "interaction.end", "interaction_id": id}))
        .await
        .unwrap();
    let updated = bob.expect("interaction.updated").await.unwrap();
    assert_eq!(updated["interaction"]["state"], "wrap_up");
}

/// A queue that closes while nobody is staffed: a sipp caller hears the closed message, talks,
/// presses # (SIP INFO) and the hub hangs up, keeping the message; once Bob is signed in (on a
/// break), the next caller waits in the queue as usual, and when he is available the voicemail,
/// which waited longest, is offered to him first.
#[tokio::test]
async fn a_queue_nobody_staffs_takes_a_voicemail_ended_with_hash_and_queues_callers_once_staffed() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, target) = hub_on_the_trunk(dir.path(), &[]).await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let every_day: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!(["00:00-24:00"])))
        .collect();
    set_hours(
        &hub,
        &admin,
        "Support",
        json!({"time_zone": "UTC", "open": every_day, "closed_when_unstaffed": true}),
    )
    .await;
    let (ok, log) = tokio::task::spawn_blocking({
        let target = target.clone();
        move || {
            let media_port = free_port().to_string();
            run_with(
                &target,
                "caller_voicemail.xml",
                "100",
                "",
                &["-d", "13000", "-mp", &media_port, "-timeout", "30s"],
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "the hub hung up after #:\n{log}");
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut voicemail = Value::Null;
    for _ in 0..50 {
        let (_, found) = hub
            .call("GET", "/customers?q=%2B8613800138000", Some(&token), None)
            .await
            .unwrap();
        if let Some(customer) = found.as_array().and_then(|c| c.first()) {
            let path = format!("/customers/{}/timeline", customer["id"].as_str().unwrap());
            let (_, timeline) = hub.call("GET", &path, Some(&token), None).await.unwrap();
            if let Some(entry) = timeline["entries"].as_array().and_then(|t| t.first()) {
                voicemail = entry["interaction"].clone();
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (&voicemail["channel"], &voicemail["offline"], &voicemail["state"]),
        (&json!("voice"), &json!(true), &json!("queued")),
        "{voicemail}"
    );
    let file = dir
        .path()
        .join("recordings")
        .join(format!("{}.wav", voicemail["id"].as_str().unwrap()));
    let (length, rms) = sox_stat(&file, 1);
    assert!((2.0..6.0).contains(&length), "the voicemail lasts {length} s");
    assert!(rms > 0.02, "the caller is silent in the voicemail: {rms}");

    // Bob signs in on a break (staffed, not available): the next caller waits in the queue.
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    bob.send(json!({"type": "state.set", "state": "break", "reason": "lunch"}))
        .await
        .unwrap();
    bob.expect("agent.state").await.unwrap();
    let caller = call(&target, "100", 4000);
    // The demo knows this number already (a chat of hers): wait for the call on her timeline.
    let mut waiting = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let timeline = timeline_of_the_caller(&hub, &token).await;
        let call = timeline["entries"]
            .as_array()
            .and_then(|entries| entries.iter().find(|e| e["interaction"]["channel"] == "voice"));
        if let Some(call) = call {
            waiting = call["interaction"].clone();
            break;
        }
    }
    assert_eq!(
        (&waiting["channel"], &waiting["offline"], &waiting["state"]),
        (&json!("voice"), &json!(false), &json!("queued")),
        "{waiting}"
    );
    // Back from the break: the voicemail waited longest, so it comes first.
    available(&mut bob).await;
    let first = bob.gets_within("offer", Duration::from_secs(10)).await.unwrap();
    assert_eq!(first["interaction"]["id"], voicemail["id"]);
    let (ok, log) = caller.await.unwrap();
    assert!(ok, "{log}");
}

#[tokio::test]
async fn the_ivr_menu_sends_a_caller_who_presses_2_to_support() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let menu = [
        ("PLUGBOARD_SIP__MENUS__200__1", "Sales"),
        ("PLUGBOARD_SIP__MENUS__200__2", "Support"),
    ];
    let (hub, target) = hub_on_the_trunk(dir.path(), &menu).await;
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let support = hub.named(&token, "/queues", "Support").await.unwrap()["id"].clone();
    // Bob (support) is available but has no phone: the offer reaches his console, and since his
    // phone cannot ring, it is declined for him and the call waits on.
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let caller = tokio::task::spawn_blocking(move || {
        let media_port = free_port().to_string();
        run_with(
            &target,
            "caller_ivr.xml",
            "200",
            "",
            &["-d", "2000", "-mp", &media_port],
        )
    });
    // Under load the prompt, the key press and the queue take a while; when no offer comes,
    // what sipp saw says why.
    let Some(offer) = bob.gets_within("offer", Duration::from_secs(40)).await else {
        let (ok, log) = caller.await.unwrap();
        panic!(
            "no offer within 40 s; sipp {}:\n{log}",
            if ok { "passed" } else { "failed" }
        );
    };
    assert_eq!(offer["interaction"]["queue_id"], support);
    assert_eq!(offer["interaction"]["entry_point"], "sip:200");
    let (ok, log) = caller.await.unwrap();
    assert!(ok, "{log}");
}

/// A caller from `number` who waits in Support and presses 1 when offered a callback, then
/// expects our goodbye and hang-up.
fn caller_choosing_a_callback(target: &str, number: &str) -> tokio::task::JoinHandle<(bool, String)> {
    let (target, number) = (target.to_owned(), number.to_owned());
    tokio::task::spawn_blocking(move || {
        let media_port = free_port().to_string();
        run_with(
            &target,
            "caller_callback.xml",
            "100",
            "",
            &[
                "-d",
                "2500",
                "-mp",
                &media_port,
                "-key",
                "caller",
                &number,
                "-timeout",
                "30s",
            ],
        )
    })
}

/// The carrier as the customer's phone, a sipp UAS on `port` playing `name` once (hanging up
/// 1.5 s after answering, where it answers).
fn customer_line(target: &str, port: u16, dir: &Path, name: &str) -> Child {
    sipp_peer(target, port, dir, name, &["-d", "1500"])
}

/// The interaction with its log (GET /interactions/{id}) and its log's types.
async fn interaction_log(hub: &Hub, token: &str, id: &str) -> (Value, Vec<String>) {
    let (_, detail) = hub
        .call("GET", &format!("/interactions/{id}"), Some(token), None)
        .await
        .unwrap();
    let kinds = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect();
    (detail, kinds)
}

/// Virtual hold: with nobody free, a caller who has waited a second is offered a callback,
/// presses 1, hears goodbye and is hung up on, and the call waits on in its place as a callback.
/// Bob accepting it is the hub calling: his desk phone first, then the customer through the
/// trunk. A busy line is tried again when the queue's policy says (not before: Bob is not
/// offered it meanwhile); a customer who answers talks to Bob, and it ends like any call.
#[tokio::test]
async fn a_caller_who_presses_1_is_called_back_through_the_trunk_once_an_agent_accepts() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, target, port, carrier) = hub_calling_out(dir.path()).await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut support = hub.named(&admin, "/queues", "Support").await.unwrap();
    support["callbacks"] = json!({"offer_after_secs": 1, "attempts": 2, "retry_after_secs": 30});
    let path = format!("/queues/{}", support["id"].as_str().unwrap());
    let (status, saved) = hub.call("PUT", &path, Some(&admin), Some(support)).await.unwrap();
    assert_eq!(status, 200, "{saved}");

    // Wei calls with nobody signed in, and chooses a callback.
    let (ok, log) = caller_choosing_a_callback(&target, "+8613800138000")
        .await
        .unwrap();
    assert!(ok, "the hub said goodbye and hung up after 1:\n{log}");
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, found) = hub
        .call("GET", "/customers?q=%2B8613800138000", Some(&token), None)
        .await
        .unwrap();
    let wei = found[0]["id"].as_str().expect("Wei is a customer now").to_owned();
    let (_, timeline) = hub
        .call("GET", &format!("/customers/{wei}/timeline"), Some(&token), None)
        .await
        .unwrap();
    let booked = timeline["entries"][0]["interaction"].clone();
    assert_eq!(
        (&booked["state"], &booked["offline"], &booked["callback"]),
        (
            &json!("queued"),
            &json!(true),
            &json!({"number": "+8613800138000", "due_at": null, "attempts": 0})
        ),
        "{booked}"
    );
    let id = booked["id"].as_str().unwrap().to_owned();

    // Bob comes in: he is offered the callback, and accepting it calls Wei, whose line is busy.
    let work = tempfile::tempdir().unwrap();
    let desk = desk_phone(&target, port, work.path());
    let busy = customer_line(&target, carrier, work.path(), "phone_busy.xml");
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let offer = bob.gets_within("offer", Duration::from_secs(10)).await.unwrap();
    assert_eq!(offer["interaction"]["id"], id.as_str());
    assert_eq!(offer["interaction"]["callback"]["number"], "+8613800138000");
    bob.send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    let assigned = bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(assigned["interaction"]["id"], id.as_str());
    let requeued = bob
        .gets_within("interaction.updated", Duration::from_secs(20))
        .await
        .expect("the busy line puts it back");
    assert_eq!(requeued["interaction"]["state"], "queued", "{requeued}");
    for (name, child) in [("Bob's desk phone", desk), ("the busy line", busy)] {
        passes(name, child).await;
    }
    let (detail, kinds) = interaction_log(&hub, &token, &id).await;
    for kind in [
        "interaction.callback_requested",
        "interaction.accepted",
        "call.failed",
        "interaction.rescheduled",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let callback = &detail["interaction"]["callback"];
    assert_eq!(callback["attempts"], 1, "{detail}");
    let due = callback["due_at"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (now + 20_000..=now + 31_000).contains(&due),
        "next attempt at {due}, now {now}"
    );
    assert!(
        bob.gets_within("offer", Duration::from_secs(2)).await.is_none(),
        "not offered again before it is due"
    );

    // Maria waits while Bob is on a break, and chooses a callback too; this time she answers.
    bob.send(json!({"type": "state.set", "state": "break", "reason": "coffee"}))
        .await
        .unwrap();
    bob.expect("agent.state").await.unwrap();
    let (ok, log) = caller_choosing_a_callback(&target, "+14155552671").await.unwrap();
    assert!(ok, "{log}");
    let desk = desk_phone(&target, port, work.path());
    let answers = customer_line(&target, carrier, work.path(), "phone_hangs_up.xml");
    available(&mut bob).await;
    let offer = bob.gets_within("offer", Duration::from_secs(10)).await.unwrap();
    assert_eq!(offer["interaction"]["callback"]["number"], "+14155552671");
    assert_eq!(offer["card"]["customer"]["name"], "Maria Garcia");
    let maria = offer["interaction"]["id"].as_str().unwrap().to_owned();
    bob.send(json!({"type": "offer.accept", "interaction_id": maria}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();
    let ended = bob
        .gets_within("interaction.updated", Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(ended["interaction"]["state"], "wrap_up", "{ended}");
    for (name, child) in [("Bob's desk phone", desk), ("Maria", answers)] {
        passes(name, child).await;
    }
    let (detail, _) = interaction_log(&hub, &token, &maria).await;
    let call_ended = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "call.ended")
        .unwrap();
    assert_eq!(call_ended["data"]["by"], "caller", "Maria hung up");
    assert!(
        call_ended["data"]["talk_ms"].as_i64().unwrap() >= 1000,
        "{call_ended}"
    );
}

/// Callbacks booked in Support and not yet due, as the live figures say.
async fn booked_in_support(hub: &Hub, sam: &str) -> Value {
    let (_, live) = hub.call("GET", "/queues/stats", Some(sam), None).await.unwrap();
    plugboard_tests::named(&live["queues"], "Support")["callbacks_scheduled"].clone()
}

/// A supervisor books a callback for a customer at a time, for Bob: it is offered to nobody before
/// then, and once due to Bob first (though Dana has been free longer) as a callback to her number,
/// like one a caller chose; Bob, with no phone registered, cannot call it and it goes to Dana at
/// once. An agent booking one for a colleague, a number that is not one, and a hub with no trunk
/// to call through are refused with the reason.
#[tokio::test]
async fn a_callback_booked_for_later_is_offered_once_due() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, _) = hub_on_the_trunk(dir.path(), &[("PLUGBOARD_SIP__OUTBOUND_TRUNK", "127.0.0.1:5999")]).await;
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let support = hub.named(&sam, "/queues", "Support").await.unwrap();
    let (_, found) = hub
        .call("GET", "/customers?q=Maria", Some(&sam), None)
        .await
        .unwrap();
    let path = format!("/customers/{}/callbacks", found[0]["id"].as_str().unwrap());
    // Dana has been free longer, but Sam books it for Bob.
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let bob_id = hub.named(&sam, "/agents", "Bob Martin").await.unwrap()["id"].clone();
    let dana_id = hub.named(&sam, "/agents", "Dana Silva").await.unwrap()["id"].clone();
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let for_dana = json!({"queue_id": support["id"], "due_at": 0, "agent_id": dana_id});
    let (status, _) = hub
        .call("POST", &path, Some(&bob_token), Some(for_dana))
        .await
        .unwrap();
    assert_eq!(status, 403, "an agent books callbacks for themselves only");
    let (status, refused) = hub
        .call(
            "POST",
            &path,
            Some(&sam),
            Some(json!({"queue_id": support["id"], "due_at": 0, "number": "call me"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{refused}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let body = json!({"queue_id": support["id"], "due_at": now + 3_000, "agent_id": bob_id});
    let (status, booked) = hub.call("POST", &path, Some(&sam), Some(body)).await.unwrap();
    assert_eq!(status, 200, "{booked}");
    assert_eq!(
        (
            &booked["channel"],
            &booked["state"],
            &booked["callback"]["number"]
        ),
        (&json!("voice"), &json!("queued"), &json!("+14155552671"))
    );
    assert_eq!(
        booked_in_support(&hub, &sam).await,
        1,
        "the wallboard shows it booked"
    );
    assert!(
        bob.gets_within("offer", Duration::from_millis(2_000))
            .await
            .is_none(),
        "offered before it is due"
    );
    let offer = bob
        .gets_within("offer", Duration::from_secs(5))
        .await
        .expect("offered once due");
    assert_eq!(offer["interaction"]["id"], booked["id"]);
    assert_eq!(offer["interaction"]["callback"]["number"], "+14155552671");
    assert!(
        dana.gets_within("offer", Duration::from_millis(500))
            .await
            .is_none(),
        "Bob's callback went to Dana"
    );
    assert_eq!(booked_in_support(&hub, &sam).await, 0, "due now");
    // Dana cannot take Bob's offer by accepting it: no phone rings for her.
    dana.send(json!({"type": "offer.accept", "interaction_id": booked["id"]}))
        .await
        .unwrap();
    assert_eq!(dana.expect_error().await["code"], "forbidden");
    let (_, detail) = hub
        .call(
            "GET",
            &format!("/interactions/{}", booked["id"].as_str().unwrap()),
            Some(&sam),
            None,
        )
        .await
        .unwrap();
    let scheduled = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "callback.scheduled")
        .unwrap();
    assert_eq!(scheduled["data"]["by_name"], "Sam Lee", "{scheduled}");
    // Bob's desk phone is not registered: accepting cannot call her, so he is told and it goes
    // to Dana at once, not after his offer times out.
    bob.send(json!({"type": "offer.accept", "interaction_id": booked["id"]}))
        .await
        .unwrap();
    let refused = bob.expect_error().await;
    assert_eq!(refused["code"], "call_failed", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("not registered"),
        "{refused}"
    );
    let offer = dana
        .gets_within("offer", Duration::from_secs(5))
        .await
        .expect("Dana is offered it");
    assert_eq!(offer["interaction"]["id"], booked["id"]);

    // No trunk, no callbacks.
    let dir = tempfile::tempdir().unwrap();
    let (hub, _) = hub_on_the_trunk(dir.path(), &[]).await;
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let support = hub.named(&sam, "/queues", "Support").await.unwrap();
    let (_, found) = hub
        .call("GET", "/customers?q=Maria", Some(&sam), None)
        .await
        .unwrap();
    let path = format!("/customers/{}/callbacks", found[0]["id"].as_str().unwrap());
    let body = json!({"queue_id": support["id"], "due_at": now});
    let (status, refused) = hub.call("POST", &path, Some(&sam), Some(body)).await.unwrap();
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("trunk"),
        "{refused}"
    );
}

#[tokio::test]
async fn click_to_call_rings_the_agents_phone_then_the_customer() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The carrier: a sipp UAS that answers as the customer and hangs up after 1.5 s.
    let (hub, target, port, carrier) = hub_calling_out(dir.path()).await;
    let work = tempfile::tempdir().unwrap();
    let desk = desk_phone(&target, port, work.path());
    let customer = customer_line(&target, carrier, work.path(), "phone_hangs_up.xml");

    let token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, calling) = hub.call("GET", "/me/calling", Some(&token), None).await.unwrap();
    assert_eq!(
        (status, &calling["click_to_call"]),
        (200, &json!(true)),
        "{calling}"
    );
    let (_, found) = hub
        .call("GET", "/customers?q=Maria", Some(&token), None)
        .await
        .unwrap();
    let maria = found[0]["id"].clone();
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    bob.send(json!({"type": "call.dial", "customer_id": maria}))
        .await
        .unwrap();
    // The call is Bob's at once, with Maria's card.
    let assigned = bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(assigned["interaction"]["channel"], "voice");
    assert_eq!(
        assigned["interaction"]["entry_point"],
        "sip:outbound:+14155552671"
    );
    assert_eq!(assigned["card"]["customer"]["name"], "Maria Garcia");
    let interaction = assigned["interaction"]["id"].as_str().unwrap().to_owned();
    // Maria hangs up; Bob wraps up.
    let updated = bob
        .gets_within("interaction.updated", Duration::from_secs(20))
        .await;
    assert_eq!(updated.unwrap()["interaction"]["state"], "wrap_up");
    for (name, child) in [("the desk phone", desk), ("the customer", customer)] {
        passes(name, child).await;
    }
    let (_, detail) = hub
        .call("GET", &format!("/interactions/{interaction}"), Some(&token), None)
        .await
        .unwrap();
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(kinds.contains(&"interaction.dialled"), "{kinds:?}");
    let ended = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "call.ended")
        .unwrap();
    assert_eq!(ended["data"]["by"], "caller", "the customer hung up");
    assert!(ended["data"]["talk_ms"].as_i64().unwrap() >= 1000, "{ended}");

    // A customer without a phone number cannot be called, and says so.
    let (_, found) = hub
        .call("GET", "/customers?q=Chen", Some(&token), None)
        .await
        .unwrap();
    if let Some(without) = found.as_array().unwrap().iter().find(|c| c["phone"].is_null()) {
        bob.send(json!({"type": "call.dial", "customer_id": without["id"]}))
            .await
            .unwrap();
        assert_eq!(bob.expect("error").await.unwrap()["code"], "bad_request");
    }
}

/// Without a carrier trunk to call out through, the console is told click-to-call is off (it
/// hides its call buttons), and a click anyway is answered with an error saying what is missing,
/// with no interaction opened for it. Before, the hub opened an interaction, abandoned it, and
/// the console showed the button.
#[tokio::test]
async fn click_to_call_without_a_trunk_says_so() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, _, _) = hub_with_a_desk_phone(dir.path()).await;
    let token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, calling) = hub.call("GET", "/me/calling", Some(&token), None).await.unwrap();
    assert_eq!(
        (status, &calling["click_to_call"]),
        (200, &json!(false)),
        "{calling}"
    );

    let (_, found) = hub
        .call("GET", "/customers?q=Maria", Some(&token), None)
        .await
        .unwrap();
    let maria = found[0]["id"].as_str().unwrap().to_owned();
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    bob.send(json!({"type": "call.dial", "customer_id": maria}))
        .await
        .unwrap();
    let error = bob.expect("error").await.unwrap();
    assert_eq!(error["code"], "invalid_state", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("sip.outbound_trunk"),
        "{error}"
    );
    let (_, timeline) = hub
        .call("GET", &format!("/customers/{maria}/timeline"), Some(&token), None)
        .await
        .unwrap();
    assert!(
        !timeline.to_string().contains("sip:outbound:"),
        "no outbound interaction was opened: {timeline}"
    );
}

#[tokio::test]
async fn a_caller_from_no_trunk_must_authenticate() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // No trunk addresses: every INVITE is challenged (407), and only a known account gets in.
    let (hub, target, _) = hub_with_a_desk_phone_and(dir.path(), &[("PLUGBOARD_SIP__TRUNKS", "[]")]).await;
    let extra = ["-au", "bob-desk", "-d", "500", "-mp"];
    let port = free_port().to_string();
    let with_port: Vec<&str> = extra.iter().copied().chain([port.as_str()]).collect();
    let (ok, log) = run_with(&target, "caller_auth.xml", "100", "desk-phone-1", &with_port);
    assert!(ok, "an authenticated caller gets through:\n{log}");
    let (ok, log) = run_with(&target, "caller_auth.xml", "100", "wrong-password", &with_port);
    assert!(!ok && log.contains("403"), "a wrong password is refused:\n{log}");
    drop(hub);
}

#[tokio::test]
async fn a_call_waiting_when_the_hub_dies_is_ended_at_restart_not_offered() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, target, _) = hub_with_a_desk_phone(dir.path()).await;
    // Nobody is available: the caller waits with music, for longer than this test lasts.
    let caller = call(&target, "100", 20_000);
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut waiting = false;
    for _ in 0..50 {
        let (status, found) = hub
            .call("GET", "/customers?q=%2B14155552671", Some(&token), None)
            .await
            .unwrap();
        if status == 200 && found.as_array().is_some_and(|f| !f.is_empty()) {
            waiting = timeline_of_the_caller(&hub, &token)
                .await
                .to_string()
                .contains("\"queued\"");
            if waiting {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(waiting, "the call never queued");
    hub.kill9();

    // The call's media died with the process: at restart it is ended, and nobody is offered a
    // caller who is no longer there.
    let env = [
        ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
        ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
        ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
        ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
    ];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let timeline = timeline_of_the_caller(&hub, &token).await;
    let text = timeline.to_string();
    assert!(
        text.contains("\"abandoned\"") && text.contains("\"restart\""),
        "{timeline}"
    );
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    assert!(bob.gets_within("offer", Duration::from_secs(2)).await.is_none());
    caller.abort();
}

/// Two hub nodes on one PostgreSQL database and one Redis, as behind Kamailio: Bob's desk phone,
/// added through node B, registers through node A; a carrier's call reaches node B, and B rings the phone at the
/// contact A's registrar recorded, bridges the call and records it, while Bob's console is on
/// node A. Then Bob clicks to call Maria from a console on node B: both nodes hear the bus, and
/// still she gets one call, placed by B.
#[tokio::test]
async fn a_phone_registered_through_one_node_is_rung_from_another() {
    if sipp().is_none() {
        return;
    }
    let Some(site) = SharedSite::fresh().await.unwrap() else {
        return;
    };
    let carrier = free_sip_port();
    let trunk = format!("127.0.0.1:{carrier}");
    let env = [
        site.env().as_slice(),
        &[
            ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
            ("PLUGBOARD_SIP__ALGORITHMS", "[\"MD5\"]"),
            ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
            ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
            ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
            ("PLUGBOARD_SIP__OUTBOUND_TRUNK", trunk.as_str()),
        ],
    ]
    .concat();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Hub::start(dir_a.path(), &env).await.unwrap();
    let b = Hub::start(dir_b.path(), &env).await.unwrap();
    let (sip_a, sip_b) = (a.sip_udp.clone().unwrap(), b.sip_udp.clone().unwrap());

    // An admin gives Bob a phone through node B; it registers through node A, which lets it in
    // once it has read the phones again (every few seconds; each try before is refused).
    let admin = b.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob_id = b.named(&admin, "/agents", "Bob Martin").await.unwrap()["id"].clone();
    let phone = json!({"agent_id": bob_id, "username": "bob-desk", "password": "desk-phone-1"});
    let (status, created) = b
        .call("POST", "/phones", Some(&admin), Some(phone))
        .await
        .unwrap();
    assert_eq!(status, 200, "{created}");
    let port = free_port();
    let key = port.to_string();
    let registered = register_bob_desk(&sip_a, &key).await;
    assert!(
        registered.0,
        "the desk phone registers through node A:\n{}",
        registered.1
    );
    // Node B lists it as registered (through A), once A has recorded the binding in the
    // database, which it does just after answering the REGISTER.
    let mut phones = Value::Null;
    for _ in 0..50 {
        phones = b.call("GET", "/phones", Some(&admin), None).await.unwrap().1;
        if phones[0]["contacts"]
            .to_string()
            .contains(&format!("127.0.0.1:{port}"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        phones[0]["contacts"]
            .to_string()
            .contains(&format!("127.0.0.1:{port}")),
        "{phones}"
    );

    // Bob's console is on node A; the carrier's call arrives at node B.
    let work = tempfile::tempdir().unwrap();
    let desk = desk_phone(&sip_a, port, work.path());
    let mut bob = a.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let caller = call(&sip_b, "100", 3000);
    let offer = bob.expect("offer").await.unwrap();
    assert_eq!(offer["card"]["customer"]["name"], "Maria Garcia");
    let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
    // Node B rang the phone, and its answering is Bob accepting. Generous: on a loaded machine
    // the desk phone (baresip) and node B's reload of the shared bindings both run late.
    let assigned = bob
        .gets_within("interaction.assigned", Duration::from_secs(40))
        .await
        .expect("the desk phone answered through node B");
    assert_eq!(assigned["interaction"]["id"], interaction.as_str());
    let (ok, log) = caller.await.unwrap();
    assert!(ok, "the caller's call went through node B:\n{log}");
    passes("the desk phone", desk).await;
    let updated = bob
        .gets_within("interaction.updated", Duration::from_secs(20))
        .await
        .expect("the call ends");
    assert_eq!(updated["interaction"]["state"], "wrap_up");
    // The call stayed on node B: B bridged and recorded it.
    let wav = format!("recordings/{interaction}.wav");
    assert!(dir_b.path().join(&wav).exists(), "node B did not record the call");
    assert!(
        !dir_a.path().join(&wav).exists(),
        "node A recorded a call it never had"
    );
    bob.send(json!({"type": "wrap_up", "interaction_id": interaction, "disposition": "resolved"}))
        .await
        .unwrap();
    let closed = bob.expect("interaction.updated").await.unwrap();
    assert_eq!(closed["interaction"]["state"], "closed");

    // Click-to-call from a console Bob opens on node B: the phone (registered through A) rings
    // once, then Maria, once.
    let desk = desk_phone(&sip_a, port, work.path());
    let customer = customer_line(&sip_b, carrier, work.path(), "phone_hangs_up.xml");
    let token = b.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let maria = offer["card"]["customer"]["id"].clone();
    let mut bob_b = b.agent("bob@plugboard.example").await.unwrap();
    bob_b
        .send(json!({"type": "call.dial", "customer_id": maria}))
        .await
        .unwrap();
    // Everything Bob's console on B hears until the call ends: no error from another node.
    let mut assigned = 0;
    loop {
        let frame = bob_b.recv_within(Duration::from_secs(20)).await.unwrap();
        assert_ne!(frame["type"], "error", "{frame}");
        match frame["type"].as_str() {
            Some("interaction.assigned") => {
                assert_eq!(frame["interaction"]["entry_point"], "sip:outbound:+14155552671");
                assigned += 1;
            }
            Some("interaction.updated") if frame["interaction"]["state"] == "wrap_up" => break,
            _ => {}
        }
    }
    assert_eq!(assigned, 1);
    for (name, child) in [("the desk phone", desk), ("the customer", customer)] {
        passes(name, child).await;
    }
    let timeline = timeline_of_the_caller(&b, &token).await;
    let outbound = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["interaction"]["entry_point"] == "sip:outbound:+14155552671")
        .count();
    assert_eq!(outbound, 1, "one click, one call: {timeline}");
}

/// Calls belong to the node that answered them. A node starting on a shared database leaves the
/// other nodes' calls alone (the old code hung them all up at start); the calls of a node that
/// died are ended by the leader once the node's presence lapses, and nobody is offered them.
#[tokio::test]
async fn a_starting_node_leaves_other_nodes_calls_alone_and_a_dead_nodes_calls_are_ended() {
    if sipp().is_none() {
        return;
    }
    let Some(site) = SharedSite::fresh().await.unwrap() else {
        return;
    };
    let env = [
        site.env().as_slice(),
        &[
            ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
            ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
            ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
            ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
        ],
    ]
    .concat();
    let dirs = [(); 3].map(|()| tempfile::tempdir().unwrap());
    let a = Hub::start(dirs[0].path(), &env).await.unwrap();
    let b = Hub::start(dirs[1].path(), &env).await.unwrap();
    let token = a.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();

    // Nobody is available: a carrier's caller waits on node B.
    let caller = call(b.sip_udp.as_ref().unwrap(), "100", 60_000);
    let mut waiting = false;
    for _ in 0..50 {
        let (status, found) = a
            .call("GET", "/customers?q=%2B14155552671", Some(&token), None)
            .await
            .unwrap();
        if status == 200 && found.as_array().is_some_and(|f| !f.is_empty()) {
            waiting = timeline_of_the_caller(&a, &token)
                .await
                .to_string()
                .contains("\"queued\"");
            if waiting {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(waiting, "the call never queued");

    // A third node starts: the call on node B goes on.
    let c = Hub::start(dirs[2].path(), &env).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let timeline = timeline_of_the_caller(&a, &token).await.to_string();
    assert!(
        !timeline.contains("\"abandoned\"") && !timeline.contains("call.ended"),
        "a starting node ended another node's call: {timeline}"
    );

    // Node B dies with the call: the leader ends it once B's presence lapses.
    b.kill9();
    let died = std::time::Instant::now();
    loop {
        let timeline = timeline_of_the_caller(&a, &token).await.to_string();
        if timeline.contains("\"abandoned\"") {
            assert!(timeline.contains("node_lost"), "{timeline}");
            break;
        }
        assert!(
            died.elapsed() < Duration::from_secs(60),
            "the dead node's call was never ended: {timeline}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut bob = c.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    assert!(bob.gets_within("offer", Duration::from_secs(2)).await.is_none());
    caller.abort();
}

/// Two nodes behind deploy/kamailio.cfg: Bob's desk phone registers through Kamailio (which
/// hashes it to one node), carriers' calls come through Kamailio (hashed by Call-ID over both),
/// and whichever node answers a call rings the phone, bridges and records it there.
#[tokio::test]
async fn two_nodes_behind_kamailio_each_ring_a_phone_registered_through_it() {
    if sipp().is_none() || plugboard_tests::kamailio::kamailio().is_none() {
        return;
    }
    let Some(site) = SharedSite::fresh().await.unwrap() else {
        return;
    };
    let env = [
        site.env().as_slice(),
        &[
            ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
            ("PLUGBOARD_SIP__ALGORITHMS", "[\"MD5\"]"),
            ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
            ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
            ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
        ],
    ]
    .concat();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let a = Hub::start(dirs[0].path(), &env).await.unwrap();
    let b = Hub::start(dirs[1].path(), &env).await.unwrap();
    let port = plugboard_tests::kamailio::free_port();
    let nodes = [a.sip_udp.clone().unwrap(), b.sip_udp.clone().unwrap()];
    let _kamailio = plugboard_tests::kamailio::start_kamailio(port, &[&nodes[0], &nodes[1]]);
    let proxy = format!("127.0.0.1:{port}");

    let admin = a.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob_id = a.named(&admin, "/agents", "Bob Martin").await.unwrap()["id"].clone();
    let phone = json!({"agent_id": bob_id, "username": "bob-desk", "password": "desk-phone-1"});
    let (status, created) = a
        .call("POST", "/phones", Some(&admin), Some(phone))
        .await
        .unwrap();
    assert_eq!(status, 200, "{created}");
    // Kamailio may hash the phone to node B, which learns of the new phone within seconds.
    let desk_port = free_port();
    let key = desk_port.to_string();
    let registered = register_bob_desk(&proxy, &key).await;
    assert!(
        registered.0,
        "the desk phone registers through Kamailio:\n{}",
        registered.1
    );

    let mut bob = a.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let work = tempfile::tempdir().unwrap();
    let mut recorded_by = [0, 0];
    for _ in 0..12 {
        let desk = desk_phone(&proxy, desk_port, work.path());
        let caller = call(&proxy, "100", 3000);
        let offer = bob.expect("offer").await.unwrap();
        let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
        let assigned = bob.expect("interaction.assigned").await;
        let (ok, log) = caller.await.unwrap();
        assert!(
            ok && assigned.is_ok(),
            "the caller's call through Kamailio ({assigned:?}):\n{log}"
        );
        passes("the desk phone", desk).await;
        loop {
            let updated = bob.expect("interaction.updated").await.unwrap();
            if updated["interaction"]["state"] == "wrap_up" {
                break;
            }
        }
        bob.send(json!({"type": "wrap_up", "interaction_id": interaction, "disposition": "resolved"}))
            .await
            .unwrap();
        loop {
            let updated = bob.expect("interaction.updated").await.unwrap();
            if updated["interaction"]["state"] == "closed" {
                break;
            }
        }
        let wav = format!("recordings/{interaction}.wav");
        let here: Vec<bool> = dirs.iter().map(|d| d.path().join(&wav).exists()).collect();
        assert_eq!(
            here.iter().filter(|h| **h).count(),
            1,
            "one node recorded the call"
        );
        recorded_by[usize::from(here[1])] += 1;
        if recorded_by.iter().all(|n| *n > 0) {
            break;
        }
    }
    assert!(
        recorded_by.iter().all(|n| *n > 0),
        "Kamailio never sent a call to one of the nodes: {recorded_by:?}"
    );
}

/// A blind transfer to a colleague (issue 10): the call is one recording with both agents in it,
/// and its talk time is both agents' (each leg on its own in `legs`). The second bridge used to
/// start the file again, and the first agent's talk and hold time were lost.
#[tokio::test]
async fn a_call_transferred_to_a_colleague_keeps_one_recording_and_both_talk_times() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, target, bob_port) = hub_with_a_desk_phone(dir.path()).await;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let dana_id = hub.named(&admin, "/agents", "Dana Silva").await.unwrap()["id"].clone();
    let dana_port = give_a_desk_phone(&hub, &target, "Dana Silva", "dana-desk", "desk-phone-2").await;
    let (bob_dir, dana_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bob_phone = desk_phone(&target, bob_port, bob_dir.path());
    let dana_phone = desk_phone(&target, dana_port, dana_dir.path());
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    let caller = call(&target, "100", 9000);
    let offer = bob.expect("offer").await.unwrap();
    let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
    bob.expect("interaction.assigned").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Dana comes in now, so the first offer was Bob's.
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    bob.send(json!({"type": "interaction.transfer", "interaction_id": interaction, "agent_id": dana_id}))
        .await
        .unwrap();
    let offered = dana.expect("offer").await.unwrap();
    assert_eq!(offered["interaction"]["id"], interaction.as_str());
    dana.expect("interaction.assigned").await.unwrap();

    let (ok, log) = caller.await.unwrap();
    assert!(ok, "the caller's call went through:\n{log}");
    for phone in [bob_phone, dana_phone] {
        passes("a desk phone", phone).await;
    }
    dana.expect("interaction.updated").await.unwrap();

    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut ended = Value::Null;
    for _ in 0..50 {
        let (_, detail) = hub
            .call("GET", &format!("/interactions/{interaction}"), Some(&token), None)
            .await
            .unwrap();
        if let Some(e) = detail["events"]
            .as_array()
            .and_then(|events| events.iter().find(|e| e["type"] == "call.ended"))
        {
            ended = e.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let data = &ended["data"];
    let legs = data["legs"]
        .as_array()
        .unwrap_or_else(|| panic!("no legs in {ended}"));
    assert_eq!(legs.len(), 2, "{ended}");
    let bob_id = hub.named(&admin, "/agents", "Bob Martin").await.unwrap()["id"].clone();
    assert_eq!(legs[0]["agent_id"], bob_id, "{ended}");
    assert_eq!(legs[1]["agent_id"], dana_id, "{ended}");
    assert_eq!(data["agent_id"], dana_id, "{ended}");
    let (bob_talk, dana_talk) = (
        legs[0]["talk_ms"].as_i64().unwrap(),
        legs[1]["talk_ms"].as_i64().unwrap(),
    );
    assert!(bob_talk > 2000, "{ended}");
    assert!(dana_talk > 1000, "{ended}");
    assert_eq!(data["talk_ms"].as_i64(), Some(bob_talk + dana_talk), "{ended}");

    // One file, both agents: Bob's echo at its start and Dana's near its end.
    let file = dir.path().join("recordings").join(format!("{interaction}.wav"));
    let wav = hound::WavReader::open(&file).expect("the call was recorded");
    let agent: Vec<f64> = wav
        .into_samples::<i16>()
        .map(Result::unwrap)
        .skip(1)
        .step_by(2)
        .map(f64::from)
        .collect();
    let seconds = agent.len() as f64 / 8000.0;
    assert!(seconds > 6.0, "{seconds} s recorded");
    let loudness = |part: &[f64]| (part.iter().map(|s| s * s).sum::<f64>() / part.len() as f64).sqrt();
    let first = loudness(&agent[..8000]);
    let last = loudness(&agent[agent.len() - 8000..]);
    assert!(first > 300.0, "Bob is missing from the recording: {first}");
    assert!(last > 300.0, "Dana is missing from the recording: {last}");
    // Both agents may play it back; a colleague who never had the call may not.
    for (who, allowed) in [("bob", 200), ("dana", 200), ("alice", 403)] {
        let token = hub
            .login(&format!("{who}@plugboard.example"), DEMO_PASSWORD)
            .await
            .unwrap();
        let (status, _) = hub
            .call(
                "GET",
                &format!("/interactions/{interaction}/recording"),
                Some(&token),
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, allowed, "{who}");
    }
}

/// One phone account registered from two devices (issue 10): both ring at once, the one that
/// answers takes the call and the other is cancelled (its sipp scenario passes only on a CANCEL).
/// Only the first registered device used to ring.
#[tokio::test]
async fn every_device_of_the_agents_phone_rings_and_the_first_to_answer_takes_the_call() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, target, answering_port) = hub_with_a_desk_phone(dir.path()).await;
    let ringing_port = free_port();
    let key = ringing_port.to_string();
    let (ok, log) = run_with(
        &target,
        "register_as.xml",
        "bob-desk",
        "desk-phone-1",
        &["-key", "contact_port", &key],
    );
    assert!(ok, "the second device registers:\n{log}");
    let (answering_dir, ringing_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let answering = desk_phone(&target, answering_port, answering_dir.path());
    let ringing = phone_device(
        &target,
        ringing_port,
        ringing_dir.path(),
        "phone_rings_until_cancelled.xml",
    );
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    let caller = call(&target, "100", 2000);
    let offer = bob.expect("offer").await.unwrap();
    let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
    bob.expect("interaction.assigned").await.unwrap();
    let (ok, log) = caller.await.unwrap();
    assert!(ok, "the caller's call went through:\n{log}");
    // One offer, taken at once: not a first device left ringing until the offer timed out and a
    // second offer rang the other one.
    let token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, detail) = hub
        .call("GET", &format!("/interactions/{interaction}"), Some(&token), None)
        .await
        .unwrap();
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    let offers = kinds.iter().filter(|k| **k == "interaction.offered").count();
    assert_eq!(offers, 1, "{kinds:?}");
    for (what, device) in [
        ("the device that answered", answering),
        ("the device that rang", ringing),
    ] {
        passes(what, device).await;
    }
}

/// Gives `agent` (by name) a phone account `username` with `password`.
async fn give_phone(hub: &Hub, agent: &str, username: &str, password: &str) {
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let id = hub.named(&admin, "/agents", agent).await.unwrap()["id"].clone();
    let phone = json!({"agent_id": id, "username": username, "password": password});
    let (status, created) = hub
        .call("POST", "/phones", Some(&admin), Some(phone))
        .await
        .unwrap();
    assert_eq!(status, 200, "{created}");
}

/// The contacts a phone account is registered at, once there is one (or none after 15 s).
async fn registered_contacts(hub: &Hub, username: &str) -> Vec<String> {
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    for _ in 0..150 {
        let (_, phones) = hub.call("GET", "/phones", Some(&admin), None).await.unwrap();
        let contacts: Vec<String> = phones
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["username"] == username)
            .flat_map(|p| p["contacts"].as_array().cloned().unwrap_or_default())
            .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
            .collect();
        if !contacts.is_empty() {
            return contacts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

/// sipsak, the SIP Swiss army knife, as an operator probes a hub: its OPTIONS ping is answered 200
/// (with the extensions we support), its digest REGISTER (MD5, as sipsak does it) binds the contact
/// it names, a wrong password binds nothing and its exit code says so, and after a flood of 3,000
/// OPTIONS sent as fast as it can the hub still answers and reports ready.
#[tokio::test]
async fn sipsak_probes_registers_and_floods_and_the_hub_answers_throughout() {
    let found = Command::new("sipsak").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sipsak is missing (apt-get install sipsak)"
        );
        eprintln!("skipped: sipsak is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &BARESIP_SITE).await.unwrap();
    let target = hub.sip_udp.clone().expect("the hub says where SIP listens");
    give_phone(&hub, "Bob Martin", "bob-desk", "desk-phone-1").await;
    let sipsak = |args: &[&str]| {
        let out = Command::new("sipsak").args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let probe = format!("sip:probe@{target}");

    let (ok, text) = sipsak(&["-v", "-s", &probe]);
    assert!(ok && text.contains("SIP/2.0 200 OK"), "{text}");
    assert!(text.contains("Supported: timer, outbound"), "{text}");

    let desk = format!("sip:bob-desk@{target}");
    let register = |password: &str| {
        let contact = "sip:bob-desk@127.0.0.1:9999";
        sipsak(&[
            "-U", "-i", "-x", "120", "-C", contact, "-s", &desk, "-u", "bob-desk", "-a", password,
        ])
    };
    let (ok, text) = register("wrong");
    assert!(!ok, "a wrong password: {text}");
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, phones) = hub.call("GET", "/phones", Some(&admin), None).await.unwrap();
    assert_eq!(phones[0]["contacts"], json!([]), "{phones}");
    let (ok, text) = register("desk-phone-1");
    assert!(ok, "{text}");
    assert_eq!(
        registered_contacts(&hub, "bob-desk").await,
        ["<sip:bob-desk@127.0.0.1:9999>"]
    );

    let (ok, text) = sipsak(&["-F", "-e", "3000", "-s", &probe]);
    assert!(ok, "{text}");
    let (ok, text) = sipsak(&["-v", "-s", &probe]);
    assert!(ok && text.contains("SIP/2.0 200 OK"), "after the flood: {text}");
    let (status, ready) = hub.readyz().await.unwrap();
    assert_eq!(status, 200, "{ready}");
}

/// Bob's baresip desk phone registers over TCP with RFC 5626 outbound (`sipnat=outbound`): the
/// hub answers `Require: outbound` with a Flow-Timer (baresip then keeps the flow alive with CRLFs
/// and registers again on a new one if it fails), and when the phone dies (kill -9: its connection
/// drops) its registration goes at once, not at its expiry five minutes on.
#[tokio::test]
async fn a_phone_on_an_outbound_flow_is_unregistered_when_its_connection_drops() {
    if baresip().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &BARESIP_SITE).await.unwrap();
    let registrar = hub
        .sip_tcp
        .clone()
        .expect("the hub says where SIP listens on TCP");
    give_phone(&hub, "Bob Martin", "bob-desk", "desk-phone-1").await;
    let work = tempfile::tempdir().unwrap();
    let wav = work.path().join("agent.wav");
    tone(&wav, 660, 3);
    let rtp = 33_000 + (std::process::id() % 50) as u16 * 100;
    baresip_profile(
        work.path(),
        &wav,
        &format!(
            "<sip:bob-desk@{registrar};transport=tcp>;auth_pass=desk-phone-1;regint=300;\
             sipnat=outbound;outbound=\"sip:{registrar};transport=tcp\""
        ),
        rtp,
    );
    // baresip's outbound needs an instance id, which its uuid module keeps.
    let config = work.path().join("config");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("module_app account.so", "module uuid.so\nmodule_app account.so"),
    )
    .unwrap();
    let log = work.path().join("desk.log");
    let mut phone = Command::new("baresip")
        .arg("-f")
        .arg(work.path())
        .args(["-t", "60"])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let contacts = registered_contacts(&hub, "bob-desk").await;
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(contacts.len(), 1, "{}", said());
    assert!(contacts[0].contains("transport=tcp"), "{contacts:?}");
    assert!(said().contains("Using sipnat: 'outbound'"), "{}", said());

    phone.kill().unwrap();
    phone.wait().unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let gone = tokio::time::Instant::now();
    let mut left = contacts;
    while !left.is_empty() && gone.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, phones) = hub.call("GET", "/phones", Some(&admin), None).await.unwrap();
        left = phones[0]["contacts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(Value::to_string)
            .collect();
    }
    assert!(left.is_empty(), "still registered: {left:?}");
}

/// A Linphone desk phone (linphonec, auto-answer) registered by digest for Bob, over UDP and
/// over TCP, is rung when a caller is offered to Bob and answers: the answer is Bob accepting.
/// Its Contact carries `+sip.instance` (in quotes, with `<` and `>` inside), which the registrar
/// used to garble, and over TCP it listens on no UDP port at all: it rang only once the hub
/// rang it on the connection it registered on.
#[tokio::test]
async fn a_linphone_desk_phone_registered_over_udp_tcp_or_tls_rings_and_answers() {
    if sipp().is_none() || linphone::available().is_none() {
        return;
    }
    for transport in [Transport::Udp, Transport::Tcp, Transport::Tls] {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
        plugboard_tests::make_certificates(dir.path());
        let env = [
            ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
            ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
            ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
            ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
            ("PLUGBOARD_SIP__TLS_LISTEN", "127.0.0.1:0"),
            ("PLUGBOARD_SIP__TLS_CERT", cert.to_str().unwrap()),
            ("PLUGBOARD_SIP__TLS_KEY", key.to_str().unwrap()),
        ];
        let hub = Hub::start(dir.path(), &env).await.unwrap();
        let target = hub.sip_udp.clone().expect("the hub says where SIP listens");
        give_phone(&hub, "Bob Martin", "bob-desk", "desk-phone-1").await;

        let phone_dir = tempfile::tempdir().unwrap();
        let voice = phone_dir.path().join("voice.wav");
        tone(&voice, 660, 10);
        std::fs::copy(dir.path().join("ca.pem"), phone_dir.path().join("ca.pem")).unwrap();
        let mut phone = Linphone::start(phone_dir.path(), transport, &voice, true).unwrap();
        let registrar = match transport {
            Transport::Udp => target.clone(),
            Transport::Tcp => hub
                .sip_tcp
                .clone()
                .expect("the hub says where SIP listens on TCP"),
            Transport::Tls => hub
                .sip_tls
                .clone()
                .expect("the hub says where SIP listens on TLS"),
        };
        phone
            .register("bob-desk", "desk-phone-1", &registrar, transport)
            .unwrap();
        let contacts = registered_contacts(&hub, "bob-desk").await;
        assert_eq!(
            contacts.len(),
            1,
            "{transport:?}: linphonec did not register: {}",
            phone.log()
        );
        // The 200 OK gives its Contact back intact, instance and all (RFC 5626 §6).
        phone
            .wait_for_log(
                |l| {
                    l.starts_with("Contact: <sip:bob-desk@")
                        && l.contains(";+sip.instance=\"<urn:uuid:")
                        && l.contains(">\";expires=")
                },
                Duration::from_secs(5),
            )
            .await
            .unwrap_or_else(|e| panic!("{transport:?}: no intact Contact in the 200 OK: {e}"));
        assert_eq!(
            contacts[0].contains(";transport=tcp"),
            transport == Transport::Tcp,
            "{contacts:?}"
        );
        assert_eq!(
            contacts[0].contains(";transport=tls"),
            transport == Transport::Tls,
            "{contacts:?}"
        );

        let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
        available(&mut bob).await;
        let caller = call(&target, "100", 3000);
        let offer = bob.expect("offer").await.unwrap();
        assert_eq!(offer["interaction"]["channel"], "voice");
        let assigned = bob
            .gets_within("interaction.assigned", Duration::from_secs(10))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{transport:?}: the Linphone phone never answered:\n{}",
                    phone.said()
                )
            });
        assert_eq!(assigned["interaction"]["id"], offer["interaction"]["id"]);
        let (ok, log) = caller.await.unwrap();
        assert!(ok, "{transport:?}: the caller's call went through:\n{log}");
        let updated = bob.expect("interaction.updated").await.unwrap();
        assert_eq!(updated["interaction"]["state"], "wrap_up");
        phone.wait_for("ended", Duration::from_secs(5)).await.unwrap();
        if transport == Transport::Tls {
            // Our INVITE offered SRTP on its TLS connection, and the phone, which will have
            // nothing else, took it.
            phone
                .saw_sdes_key()
                .await
                .unwrap_or_else(|e| panic!("no SDES key in the call's SDP: {e}"));
        }
    }
}

/// Linphone as a caller: with no trunk, it registers by digest as Alice's softphone and calls the
/// queue's number; its INVITE is challenged (407), it answers the challenge, waits in the queue,
/// and talks to Bob once his desk phone answers; when Bob ends the call, the hub's BYE reaches it.
#[tokio::test]
async fn a_linphone_caller_authenticates_and_reaches_an_agent() {
    if sipp().is_none() || linphone::available().is_none() {
        return;
    }
    // Over TLS the caller's audio is SRTP, which Linphone is told to insist on.
    for transport in [Transport::Udp, Transport::Tls] {
        let dir = tempfile::tempdir().unwrap();
        let certs = tempfile::tempdir().unwrap();
        plugboard_tests::make_certificates(certs.path());
        let (cert, key) = (certs.path().join("server.pem"), certs.path().join("server.key"));
        let env = [
            ("PLUGBOARD_SIP__TRUNKS", "[]"),
            ("PLUGBOARD_SIP__TLS_LISTEN", "127.0.0.1:0"),
            ("PLUGBOARD_SIP__TLS_CERT", cert.to_str().unwrap()),
            ("PLUGBOARD_SIP__TLS_KEY", key.to_str().unwrap()),
        ];
        let (hub, target, port) = hub_with_a_desk_phone_and(dir.path(), &env).await;
        give_phone(&hub, "Alice Wong", "alice-soft", "soft-phone-1").await;
        let work = tempfile::tempdir().unwrap();
        let desk = desk_phone(&target, port, work.path());
        let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
        available(&mut bob).await;

        let caller_dir = tempfile::tempdir().unwrap();
        let voice = caller_dir.path().join("voice.wav");
        tone(&voice, 440, 10);
        std::fs::copy(certs.path().join("ca.pem"), caller_dir.path().join("ca.pem")).unwrap();
        let (registrar, dial) = match transport {
            Transport::Tls => {
                let tls = hub.sip_tls.clone().unwrap();
                (tls.clone(), format!("sip:100@{tls};transport=tls"))
            }
            Transport::Udp | Transport::Tcp => (target.clone(), format!("sip:100@{target}")),
        };
        let mut caller = Linphone::start(caller_dir.path(), transport, &voice, false).unwrap();
        caller
            .register("alice-soft", "soft-phone-1", &registrar, transport)
            .unwrap();
        assert_eq!(
            registered_contacts(&hub, "alice-soft").await.len(),
            1,
            "{transport:?}: {}",
            caller.log()
        );
        caller.send(&format!("call {dial}")).unwrap();

        let offer = bob.expect("offer").await.unwrap();
        assert_eq!(offer["interaction"]["channel"], "voice");
        let assigned = bob.expect("interaction.assigned").await.unwrap();
        assert_eq!(assigned["interaction"]["id"], offer["interaction"]["id"]);
        caller
            .wait_for("connected", Duration::from_secs(5))
            .await
            .unwrap();
        assert!(caller.log().contains("SIP/2.0 407 "), "the INVITE was challenged");
        if transport == Transport::Tls {
            // The hub answered the caller's SDES key with its own.
            caller.saw_sdes_key().await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Bob ends the call: the hub's BYE reaches Linphone at the Contact it gave (which holds a
        // quoted +sip.instance with '<' and '>' in it) and Linphone hangs up.
        bob.send(json!({"type": "interaction.end", "interaction_id": offer["interaction"]["id"]}))
            .await
            .unwrap();
        let updated = bob.expect("interaction.updated").await.unwrap();
        assert_eq!(updated["interaction"]["state"], "wrap_up");
        caller
            .wait_for("ended", Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{transport:?}: Linphone did not take the hub's BYE: {e}\n{}",
                    caller.log()
                )
            });
        passes("the desk phone", desk).await;
    }
}

/// Bob is Available but his phone is not registered: the call offered to him is taken back at
/// once with the reason (not as his decline, and he is not put on Break), his console says his
/// phone is not registered, and no call is offered to him meanwhile. When his phone registers,
/// the waiting call is offered to him again, and his phone answers it.
#[tokio::test]
async fn an_agent_with_no_registered_phone_is_told_and_offered_calls_once_it_registers() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &BARESIP_SITE).await.unwrap();
    let target = hub.sip_udp.clone().expect("the hub says where SIP listens");
    give_phone(&hub, "Bob Martin", "bob-desk", "desk-phone-1").await;
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    let caller = call(&target, "100", 8000);
    let offer = bob.expect("offer").await.unwrap();
    let interaction = offer["interaction"]["id"].clone();
    let mut seen = Vec::new();
    while !(seen.iter().any(|f: &Value| f["type"] == "offer.revoked")
        && seen.iter().any(|f: &Value| f["type"] == "error"))
    {
        let frame = bob
            .recv_within(Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("{e}: {seen:?}"));
        seen.push(frame);
    }
    let revoked = seen.iter().find(|f| f["type"] == "offer.revoked").unwrap();
    assert_eq!(revoked["reason"], "unreachable", "{revoked}");
    let error = seen.iter().find(|f| f["type"] == "error").unwrap();
    assert_eq!(error["code"], "no_phone", "{error}");
    assert!(
        !seen
            .iter()
            .any(|f| f["type"] == "agent.state" && f["state"] != "available"),
        "never on Break: {seen:?}"
    );
    // No call is offered to him while he has no phone.
    assert!(
        bob.gets_within("offer", Duration::from_millis(1500))
            .await
            .is_none(),
        "offered again with no phone"
    );

    // His desk phone registers: the call still waiting is his, and the phone answers.
    let port = free_port();
    let (ok, log) = run_with(
        &target,
        "register_as.xml",
        "bob-desk",
        "desk-phone-1",
        &["-key", "contact_port", &port.to_string()],
    );
    assert!(ok, "the desk phone registers:\n{log}");
    let work = tempfile::tempdir().unwrap();
    let desk = desk_phone(&target, port, work.path());
    let again = bob.expect("offer").await.unwrap();
    assert_eq!(again["interaction"]["id"], interaction);
    let assigned = bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(assigned["interaction"]["id"], interaction);
    let (ok, log) = caller.await.unwrap();
    assert!(ok, "the caller's call went through:\n{log}");
    passes("the desk phone", desk).await;
}

/// An INVITE from a trunk's address over UDP, where the source address is forged with one
/// datagram, is not let in on that address unless the settings say so: it is challenged (407),
/// and one with a wrong password refused (403). Neither writes anything: no customer, no
/// interaction. Before, the address alone let the call in, and its caller id became a customer.
#[tokio::test]
async fn an_invite_from_a_trunks_address_over_udp_is_challenged_and_writes_nothing() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (hub, target, _) =
        hub_with_a_desk_phone_and(dir.path(), &[("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "false")]).await;
    let token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let before = timeline_of_the_caller(&hub, &token).await;

    let (ok, log) = call(&target, "100", 500).await.unwrap();
    assert!(
        !ok && log.contains("407"),
        "the forged trunk INVITE is challenged:\n{log}"
    );
    let port = free_port().to_string();
    let extra = ["-au", "bob-desk", "-d", "500", "-mp", &port];
    let (ok, log) = run_with(&target, "caller_auth.xml", "100", "wrong-password", &extra);
    assert!(!ok && log.contains("403"), "a wrong password is refused:\n{log}");

    assert!(
        bob.gets_within("offer", Duration::from_millis(500))
            .await
            .is_none(),
        "no call reached the queue"
    );
    assert_eq!(
        timeline_of_the_caller(&hub, &token).await,
        before,
        "nothing was written"
    );
    let (_, found) = hub
        .call("GET", "/customers?q=%2B14155552671", Some(&token), None)
        .await
        .unwrap();
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(1),
        "no new customer: {found}"
    );
}

/// Bob's Linphone desk phone registered over TCP, then went away without unregistering (killed:
/// its connection dropped, its binding stays). The call offered to Bob cannot reach it: the hub
/// takes the offer back at once as unreachable and tells Bob's console why, rather than waiting
/// out Timer B past the offer's timeout and putting him on Break for a missed offer.
#[tokio::test]
async fn a_tcp_phone_that_went_away_is_found_out_at_once() {
    if sipp().is_none() || linphone::available().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
        ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
        ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
        ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
    ];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let target = hub.sip_udp.clone().expect("the hub says where SIP listens");
    let registrar = hub
        .sip_tcp
        .clone()
        .expect("the hub says where SIP listens on TCP");
    give_phone(&hub, "Bob Martin", "bob-desk", "desk-phone-1").await;
    let phone_dir = tempfile::tempdir().unwrap();
    let voice = phone_dir.path().join("voice.wav");
    tone(&voice, 660, 3);
    let mut phone = Linphone::start(phone_dir.path(), Transport::Tcp, &voice, true).unwrap();
    phone
        .register("bob-desk", "desk-phone-1", &registrar, Transport::Tcp)
        .unwrap();
    assert_eq!(
        registered_contacts(&hub, "bob-desk").await.len(),
        1,
        "{}",
        phone.log()
    );
    phone.kill();

    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    // The caller stays on longer than "at once" may take on a loaded machine: a caller who hung
    // up first would take the offer back as abandoned before the phone is found unreachable.
    let caller = call(&target, "100", 5000);
    let offered = tokio::time::Instant::now();
    bob.expect("offer").await.unwrap();
    let mut seen = Vec::new();
    while !(seen.iter().any(|f: &Value| f["type"] == "offer.revoked")
        && seen.iter().any(|f: &Value| f["type"] == "error"))
    {
        let frame = bob
            .recv_within(Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("{e}: {seen:?}"));
        seen.push(frame);
    }
    assert!(
        offered.elapsed() < Duration::from_secs(5),
        "{:?}",
        offered.elapsed()
    );
    let revoked = seen.iter().find(|f| f["type"] == "offer.revoked").unwrap();
    assert_eq!(revoked["reason"], "unreachable", "{revoked}");
    let error = seen.iter().find(|f| f["type"] == "error").unwrap();
    assert_eq!(error["code"], "no_phone", "{error}");
    assert!(
        !seen
            .iter()
            .any(|f| f["type"] == "agent.state" && f["state"] != "available"),
        "never on Break: {seen:?}"
    );
    let _ = caller.await;
}

/// Bob takes calls in the browser (his device, on his profile): a caller's offer rings only his
/// console, and once he holds the call only he can give it audio. Sam (who does not hold it),
/// malformed SDP and ICE candidates each get an error frame and change nothing: the call still
/// waits for Bob's audio, which a good offer then connects (the hub answers, ICE-lite). No
/// browser ever connects to that answer, so the leg is given up as Bob hanging up: the caller gets
/// the hub's BYE and the call ends `by: "agent"`.
#[tokio::test]
async fn only_the_agent_holding_a_call_gives_it_browser_audio_and_bad_media_frames_change_nothing() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &SUPPORT_LINE).await.unwrap();
    let target = hub.sip_udp.clone().unwrap();
    let token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, me) = hub
        .call("PATCH", "/me", Some(&token), Some(json!({"device": "browser"})))
        .await
        .unwrap();
    assert_eq!((status, &me["device"]), (200, &json!("browser")), "{me}");
    let (status, refused) = hub
        .call("PATCH", "/me", Some(&token), Some(json!({"device": "fax"})))
        .await
        .unwrap();
    assert_eq!(status, 400, "{refused}");
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    // The caller waits until the hub hangs up on them.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("callers.csv"), "SEQUENTIAL\n+14155550177;\n").unwrap();
    let caller = {
        let (target, work) = (target.clone(), work.path().to_owned());
        tokio::task::spawn_blocking(move || {
            let media_port = free_port().to_string();
            let inf = work.join("callers.csv");
            run_with(
                &target,
                "caller_waits.xml",
                "100",
                "",
                &[
                    "-inf",
                    inf.to_str().unwrap(),
                    "-mp",
                    &media_port,
                    "-timeout",
                    "60s",
                ],
            )
        })
    };
    let offer = bob.expect("offer").await.unwrap();
    let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
    bob.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();

    let media_offer =
        |sdp: &str| json!({"type": "call.media.offer", "interaction_id": interaction, "sdp": sdp});
    let error = |frame: Value| (frame["type"].clone(), frame["code"].clone(), frame["ref"].clone());
    // Sam does not hold the call.
    let mut sam = hub.agent("sam@plugboard.example").await.unwrap();
    sam.send(media_offer(BROWSER_OFFER)).await.unwrap();
    assert_eq!(
        error(sam.recv().await.unwrap()),
        (json!("error"), json!("forbidden"), json!(interaction))
    );
    let dtmf = |digits: &str| json!({"type": "call.dtmf", "interaction_id": interaction, "digits": digits});
    sam.send(dtmf("1")).await.unwrap();
    assert_eq!(
        error(sam.recv().await.unwrap()),
        (json!("error"), json!("forbidden"), json!(interaction))
    );
    // Keys for a call whose audio is not connected yet: refused by the node holding it.
    bob.send(dtmf("1")).await.unwrap();
    let frame = bob.expect_error().await;
    assert_eq!(
        error(frame.clone()),
        (json!("error"), json!("call_dtmf"), json!(interaction)),
        "{frame}"
    );
    // Bob's own bad frames.
    let candidate = |line: &str| json!({"type": "call.media.candidate", "interaction_id": interaction, "candidate": line});
    for bad in [
        dtmf(""),
        dtmf("12x"),
        dtmf("<script>"),
        dtmf(&"1".repeat(33)),
        media_offer("hello"),
        media_offer(""),
        media_offer(&"v=0\r\n".repeat(4000)),
        candidate("candidate:1 1 udp x 192.0.2.7 54321 typ host"),
        candidate("<script>"),
    ] {
        bob.send(bad.clone()).await.unwrap();
        let frame = bob.recv().await.unwrap();
        assert_eq!(
            error(frame.clone()),
            (json!("error"), json!("bad_request"), json!(interaction)),
            "{bad} → {frame}"
        );
    }
    // An offer without the call's codec (G.711) is refused by the node holding the call.
    let opus_only = BROWSER_OFFER
        .replace(" 111 0 8\r\n", " 111\r\n")
        .replace("a=rtpmap:0 PCMU/8000\r\n", "")
        .replace("a=rtpmap:8 PCMA/8000\r\n", "");
    bob.send(media_offer(&opus_only)).await.unwrap();
    let frame = bob.expect_error().await;
    assert_eq!(
        error(frame.clone()),
        (json!("error"), json!("call_media"), json!(interaction)),
        "{frame}"
    );

    // Nothing changed: the call still waits for Bob's audio, and a good offer connects it.
    bob.send(media_offer(BROWSER_OFFER)).await.unwrap();
    let answer = bob.expect("call.media.answer").await.unwrap();
    let sdp = answer["sdp"].as_str().unwrap();
    assert!(sdp.contains("a=ice-lite") && sdp.contains("typ host"), "{sdp}");
    let media = sdp.lines().find(|l| l.starts_with("m=audio")).unwrap();
    assert!(media.ends_with(" 0"), "PCMU only, the caller's codec: {media}");
    // Connected once: a second offer is refused.
    bob.send(media_offer(BROWSER_OFFER)).await.unwrap();
    let frame = bob.expect_error().await;
    assert_eq!(
        error(frame.clone()),
        (json!("error"), json!("call_media"), json!(interaction)),
        "{frame}"
    );

    // No browser connects to that answer: within its 10 s, the leg is Bob hanging up.
    let updated = bob
        .gets_within("interaction.updated", Duration::from_secs(30))
        .await
        .expect("the call ended");
    assert_eq!(updated["interaction"]["state"], "wrap_up");
    let (ok, log) = caller.await.unwrap();
    assert!(ok, "the caller got the hub's BYE:\n{log}");
    let (status, detail) = hub
        .call("GET", &format!("/interactions/{interaction}"), Some(&token), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{detail}");
    let ended = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "call.ended")
        .cloned()
        .unwrap_or_else(|| panic!("no call.ended in {detail}"));
    assert_eq!(ended["data"]["by"], "agent", "{ended}");
    assert_eq!(ended["data"]["agent_id"], me["id"], "{ended}");
}

/// A baresip desk phone of `agent`'s (a phone account given them now) that answers by itself,
/// says `hz`, and writes what it hears to `dir/dump-*-dec.wav` (baresip's sndfile module).
/// Returns once the hub has its registration.
async fn listening_desk_phone(
    hub: &Hub,
    target: &str,
    (agent, username): (&str, &str),
    hz: u32,
    dir: &Path,
    rtp: u16,
) -> Child {
    give_phone(hub, agent, username, "desk-phone-9").await;
    let voice = dir.join("voice.wav");
    tone(&voice, hz, 40);
    baresip_profile(
        dir,
        &voice,
        &format!("<sip:{username}@{target}>;auth_pass=desk-phone-9;answermode=auto;regint=300"),
        rtp,
    );
    hears_to(dir);
    let mut phone = Command::new("baresip")
        .arg("-f")
        .arg(dir)
        .args(["-t", "60"])
        .stdout(std::fs::File::create(dir.join("log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..50 {
        if !registered_contacts(hub, username).await.is_empty() {
            return phone;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = phone.kill();
    let _ = phone.wait();
    panic!(
        "{username} did not register:\n{}",
        std::fs::read_to_string(dir.join("log")).unwrap_or_default()
    );
}

/// A directory `name` in `work`, made.
fn dir_in(work: &tempfile::TempDir, name: &str) -> PathBuf {
    let path = work.path().join(name);
    std::fs::create_dir_all(&path).unwrap();
    path
}

/// A baresip caller through the trunk, saying 440 Hz for 40 s to 100 (Support) and writing what
/// it hears into `dir`.
fn caller_hearing(dir: &Path, target: &str, rtp: u16) -> Child {
    tone(&dir.join("voice.wav"), 440, 40);
    baresip_profile(
        dir,
        &dir.join("voice.wav"),
        "<sip:+14155550123@127.0.0.1>;regint=0",
        rtp,
    );
    hears_to(dir);
    Command::new("baresip")
        .arg("-f")
        .arg(dir)
        .args(["-e", &format!("/dial sip:100@{target}"), "-t", "40"])
        .stdout(std::fs::File::create(dir.join("log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// What is wrong with what each phone heard, by `rows` of (phase, who, what they heard, when
/// their audio began, a tone, whether it should be heard): the middle two seconds of each phase
/// (phases begin at `at`, named by `phases`), a tone heard above 0.08 RMS, unheard below 0.04.
fn tones_heard(
    rows: &[(usize, &str, &PathBuf, std::time::Instant, u32, bool)],
    at: &[std::time::Instant],
    phases: &[&str],
) -> Vec<String> {
    let (present, absent) = (0.08, 0.04);
    let mut wrong = Vec::new();
    for &(phase, who, file, zero, hz, heard) in rows {
        let from = at[phase].duration_since(zero).as_secs_f64() + 1.0;
        let level = tone_in(file, 1, from, 2.0, hz);
        if heard != (level > present) || (!heard && level > absent) {
            wrong.push(format!("{}: {who} hears {hz} Hz at {level:.3}", phases[phase]));
        }
    }
    wrong
}

/// A baresip profile's phone also writes what it hears into its directory.
fn hears_to(dir: &Path) {
    let mut config = std::fs::read_to_string(dir.join("config")).unwrap();
    config.push_str(&format!("module sndfile.so\nsnd_path {}\n", dir.display()));
    std::fs::write(dir.join("config"), config).unwrap();
}

/// What a baresip phone heard (its sndfile dump of decoded audio).
fn heard_by(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .unwrap_or_else(|| panic!("nothing heard in {}", dir.display()))
}

/// The RMS amplitude of `hz` (a narrow band around it) in `channel` of `wav`, over `from`
/// seconds for `seconds`.
fn tone_in(wav: &Path, channel: u32, from: f64, seconds: f64, hz: u32) -> f64 {
    let out = Command::new("sox")
        .arg(wav)
        .args(["-n", "remix", &channel.to_string()])
        .args(["trim", &format!("{from:.2}"), &format!("{seconds:.2}")])
        .args(["bandpass", &hz.to_string(), "30h", "stat"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("RMS     amplitude"))
        .unwrap_or_else(|| panic!("{text}"));
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

/// Issue 14's supervisor on a call, checked by which tones each party hears: the caller says
/// 440 Hz, Bob's desk phone 660 Hz, Sam's (a supervisor's) 880 Hz. Sam monitors (he hears both,
/// nobody hears him), whispers (Bob hears him, the caller does not), barges (both do), and leaves;
/// Bob's console is told when he is heard, and the interaction's log says who did what.
#[tokio::test]
async fn a_supervisor_monitors_whispers_to_and_barges_into_a_call_and_each_hears_what_they_should() {
    if sipp().is_none() || baresip().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &BARESIP_SITE).await.unwrap();
    let target = hub.sip_udp.clone().unwrap();
    let work = tempfile::tempdir().unwrap();
    let [bob_dir, sam_dir, caller_dir] = ["bob", "sam", "caller"].map(|d| dir_in(&work, d));
    let rtp = 36_000 + (std::process::id() % 40) as u16 * 600;
    let bob_phone = listening_desk_phone(&hub, &target, ("Bob Martin", "bob-desk"), 660, &bob_dir, rtp).await;
    let sam_phone =
        listening_desk_phone(&hub, &target, ("Sam Lee", "sam-desk"), 880, &sam_dir, rtp + 200).await;
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let mut sam = hub.agent("sam@plugboard.example").await.unwrap();

    let caller = caller_hearing(&caller_dir, &target, rtp + 400);
    let offer = bob.expect("offer").await.unwrap();
    // The caller's audio starts about now (they hear music until Bob's phone answers).
    let caller_zero = std::time::Instant::now();
    let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
    bob.expect("interaction.assigned").await.unwrap();
    let bob_zero = std::time::Instant::now();
    // The caller hears the greeting to its end (five seconds) before Bob.
    tokio::time::sleep_until((caller_zero + Duration::from_millis(5500)).into()).await;

    // Each mode for four seconds; Sam's console hears when his phone is on.
    let mut at = Vec::new();
    for mode in ["monitor", "whisper", "barge"] {
        sam.send(json!({"type": "call.monitor", "interaction_id": interaction, "mode": mode}))
            .await
            .unwrap();
        let on = sam.expect("call.monitor").await.unwrap();
        assert_eq!(on["mode"], mode, "{on}");
        at.push(std::time::Instant::now());
        if mode != "monitor" {
            let told = bob.expect("call.monitor").await.unwrap();
            assert_eq!(
                (&told["mode"], &told["by_name"]),
                (&json!(mode), &json!("Sam Lee"))
            );
        }
        if mode == "whisper" {
            // One supervisor at a time; an offer that is not SDP changes nothing either.
            let mut admin = hub.agent("admin@plugboard.example").await.unwrap();
            for (sdp, code, says) in [
                (
                    Value::Null,
                    "call_monitor",
                    "Sam Lee is listening to this call already",
                ),
                (json!("v=0 nonsense"), "bad_request", "not valid SDP"),
            ] {
                admin
                    .send(json!({"type": "call.monitor", "interaction_id": interaction, "mode": "barge", "sdp": sdp}))
                    .await
                    .unwrap();
                let refused = admin.expect("error").await.unwrap();
                assert_eq!(refused["code"], code, "{refused}");
                assert!(refused["message"].as_str().unwrap().contains(says), "{refused}");
            }
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    sam.send(json!({"type": "call.monitor", "interaction_id": interaction, "mode": null}))
        .await
        .unwrap();
    assert_eq!(sam.expect("call.monitor").await.unwrap()["mode"], Value::Null);
    assert_eq!(bob.expect("call.monitor").await.unwrap()["mode"], Value::Null);
    let sam_zero = at[0];
    tokio::time::sleep(Duration::from_secs(1)).await;
    bob.send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    bob.expect("interaction.updated").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for mut phone in [bob_phone, sam_phone, caller] {
        let _ = phone.kill();
        let _ = phone.wait();
    }

    // The middle two seconds of each mode, on each phone's own clock.
    let window = |zero: std::time::Instant, phase: usize| at[phase].duration_since(zero).as_secs_f64() + 1.0;
    let (present, absent) = (0.08, 0.04);
    let (bob_heard, sam_heard, caller_heard) =
        (heard_by(&bob_dir), heard_by(&sam_dir), heard_by(&caller_dir));
    let mut wrong = Vec::new();
    // (phase, who, file, clock, hz, heard)
    let rows = [
        (0, "Sam", &sam_heard, sam_zero, 440, true),
        (0, "Sam", &sam_heard, sam_zero, 660, true),
        (0, "Sam", &sam_heard, sam_zero, 880, false),
        (0, "Bob", &bob_heard, bob_zero, 440, true),
        (0, "Bob", &bob_heard, bob_zero, 880, false),
        (0, "the caller", &caller_heard, caller_zero, 660, true),
        (0, "the caller", &caller_heard, caller_zero, 880, false),
        (1, "Sam", &sam_heard, sam_zero, 440, true),
        (1, "Sam", &sam_heard, sam_zero, 660, true),
        (1, "Bob", &bob_heard, bob_zero, 440, true),
        (1, "Bob", &bob_heard, bob_zero, 880, true),
        (1, "the caller", &caller_heard, caller_zero, 660, true),
        (1, "the caller", &caller_heard, caller_zero, 880, false),
        (2, "Bob", &bob_heard, bob_zero, 880, true),
        (2, "the caller", &caller_heard, caller_zero, 660, true),
        (2, "the caller", &caller_heard, caller_zero, 880, true),
    ];
    wrong.extend(tones_heard(&rows, &at, &["monitor", "whisper", "barge"]));
    // The recording's right channel is what the caller heard: Sam too, on the barge only.
    let recording = dir.path().join("recordings").join(format!("{interaction}.wav"));
    let whisper = tone_in(&recording, 2, window(bob_zero, 1), 2.0, 880);
    let barge = tone_in(&recording, 2, window(bob_zero, 2), 2.0, 880);
    if whisper > absent || barge < present {
        wrong.push(format!(
            "recording: Sam at {whisper:.3} on the whisper, {barge:.3} on the barge"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    let sam_token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (detail, kinds) = interaction_log(&hub, &sam_token, &interaction).await;
    let monitored: Vec<&Value> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "call.monitored")
        .map(|e| &e["data"]["mode"])
        .collect();
    assert_eq!(
        monitored,
        [&json!("monitor"), &json!("whisper"), &json!("barge")],
        "{kinds:?}"
    );
    assert!(kinds.contains(&"call.monitor_ended".to_owned()), "{kinds:?}");
}

/// Issue 14's consult, conference and attended transfer, checked by the tones each phone hears:
/// the caller says 440 Hz, Bob's desk phone 660 Hz, Dana's 880 Hz. Bob consults Dana with a note
/// (the caller hears hold music, Bob and Dana each other), brings the caller in (all three hear
/// the other two), then hands Dana the call: his phone is hung up, the call is hers at once, the
/// caller hears her alone, and the one recording holds both agents' legs.
#[tokio::test]
async fn an_agent_consults_a_colleague_confers_and_hands_over_the_call() {
    if sipp().is_none() || baresip().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &BARESIP_SITE).await.unwrap();
    let target = hub.sip_udp.clone().unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let dana_id = hub.named(&admin, "/agents", "Dana Silva").await.unwrap()["id"].clone();
    let work = tempfile::tempdir().unwrap();
    let [bob_dir, dana_dir, caller_dir] = ["bob", "dana", "caller"].map(|d| dir_in(&work, d));
    let rtp = 38_000 + (std::process::id() % 40) as u16 * 600;
    let bob_phone = listening_desk_phone(&hub, &target, ("Bob Martin", "bob-desk"), 660, &bob_dir, rtp).await;
    let dana_phone = listening_desk_phone(
        &hub,
        &target,
        ("Dana Silva", "dana-desk"),
        880,
        &dana_dir,
        rtp + 200,
    )
    .await;
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    let caller = caller_hearing(&caller_dir, &target, rtp + 400);
    let offer = bob.expect("offer").await.unwrap();
    let caller_zero = std::time::Instant::now();
    let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
    bob.expect("interaction.assigned").await.unwrap();
    let bob_zero = std::time::Instant::now();
    // Dana comes in now, so the call was Bob's; the caller hears the greeting out first.
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    tokio::time::sleep_until((caller_zero + Duration::from_millis(5500)).into()).await;

    let note = "Wants a refund over 500: yours to approve";
    bob.send(json!({"type": "call.consult", "interaction_id": interaction, "step": "start", "agent_id": dana_id, "note": note}))
        .await
        .unwrap();
    let mut at = Vec::new();
    let on = |frame: &Value| frame["on"] == true;
    let told = loop {
        let frame = dana.expect("call.consult").await.unwrap();
        if on(&frame) {
            break frame;
        }
    };
    at.push(std::time::Instant::now());
    let dana_zero = at[0];
    assert_eq!(
        (
            &told["mode"],
            &told["with_name"],
            &told["note"],
            &told["customer_name"]
        ),
        (
            &json!("consult"),
            &json!("Bob Martin"),
            &json!(note),
            &json!("+14155550123")
        ),
        "{told}"
    );
    loop {
        let frame = bob.expect("call.consult").await.unwrap();
        if on(&frame) {
            assert_eq!(frame["with_name"], "Dana Silva", "{frame}");
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(4)).await;

    bob.send(json!({"type": "call.consult", "interaction_id": interaction, "step": "conference"}))
        .await
        .unwrap();
    assert_eq!(dana.expect("call.consult").await.unwrap()["mode"], "conference");
    at.push(std::time::Instant::now());
    tokio::time::sleep(Duration::from_secs(4)).await;

    bob.send(json!({"type": "call.consult", "interaction_id": interaction, "step": "transfer"}))
        .await
        .unwrap();
    let assigned = dana.expect("interaction.assigned").await.unwrap();
    assert_eq!(assigned["interaction"]["id"], interaction.as_str());
    at.push(std::time::Instant::now());
    tokio::time::sleep(Duration::from_secs(4)).await;
    dana.send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    dana.expect("interaction.updated").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for mut phone in [bob_phone, dana_phone, caller] {
        let _ = phone.kill();
        let _ = phone.wait();
    }

    let window = |zero: std::time::Instant, phase: usize| at[phase].duration_since(zero).as_secs_f64() + 1.0;
    let present = 0.08;
    let (bob_heard, dana_heard, caller_heard) =
        (heard_by(&bob_dir), heard_by(&dana_dir), heard_by(&caller_dir));
    let mut wrong = Vec::new();
    // (phase, who, file, clock, hz, heard)
    let rows = [
        (0, "the caller", &caller_heard, caller_zero, 660, false),
        (0, "the caller", &caller_heard, caller_zero, 880, false),
        (0, "Bob", &bob_heard, bob_zero, 880, true),
        (0, "Bob", &bob_heard, bob_zero, 440, false),
        (0, "Dana", &dana_heard, dana_zero, 660, true),
        (0, "Dana", &dana_heard, dana_zero, 440, false),
        (1, "the caller", &caller_heard, caller_zero, 660, true),
        (1, "the caller", &caller_heard, caller_zero, 880, true),
        (1, "Bob", &bob_heard, bob_zero, 440, true),
        (1, "Bob", &bob_heard, bob_zero, 880, true),
        (1, "Dana", &dana_heard, dana_zero, 440, true),
        (1, "Dana", &dana_heard, dana_zero, 660, true),
        (2, "the caller", &caller_heard, caller_zero, 880, true),
        (2, "the caller", &caller_heard, caller_zero, 660, false),
        (2, "Dana", &dana_heard, dana_zero, 440, true),
    ];
    wrong.extend(tones_heard(&rows, &at, &["consult", "conference", "transfer"]));
    // One recording: what the caller heard on the right, Dana's voice in the conference and after.
    let recording = dir.path().join("recordings").join(format!("{interaction}.wav"));
    for (phase, hz, heard) in [(1, 880, true), (1, 660, true), (2, 880, true), (2, 660, false)] {
        let level = tone_in(&recording, 2, window(bob_zero, phase), 2.0, hz);
        if heard != (level > present) {
            wrong.push(format!("recording, phase {phase}: {hz} Hz at {level:.3}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut kinds = Vec::new();
    let mut detail = Value::Null;
    for _ in 0..50 {
        (detail, kinds) = interaction_log(&hub, &sam, &interaction).await;
        if kinds.contains(&"call.ended".to_owned()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for kind in [
        "call.consulted",
        "call.conferenced",
        "interaction.transferred",
        "call.ended",
    ] {
        assert!(kinds.contains(&kind.to_owned()), "no {kind} in {kinds:?}");
    }
    let ended = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "call.ended")
        .unwrap();
    let legs = ended["data"]["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2, "{ended}");
    assert_eq!(legs[1]["agent_id"], dana_id, "{ended}");
    assert!(
        legs[0]["hold_ms"].as_i64().unwrap() >= 3000,
        "the consult is hold: {ended}"
    );
}

/// Bob talking on a call from the trunk (his sipp desk phone answered it), and Dana with a sipp
/// desk phone of her own, not logged in yet: where the consult tests start.
struct BobOnACall {
    hub: Hub,
    target: String,
    admin: String,
    bob: Socket,
    interaction: String,
    phones: [Child; 2],
    caller: tokio::task::JoinHandle<(bool, String)>,
    _dirs: [tempfile::TempDir; 2],
}

impl BobOnACall {
    async fn start(dir: &Path) -> BobOnACall {
        let (hub, target, bob_port) = hub_with_a_desk_phone(dir).await;
        let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
        let dana_port = give_a_desk_phone(&hub, &target, "Dana Silva", "dana-desk", "desk-phone-2").await;
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let phones = [
            desk_phone(&target, bob_port, dirs[0].path()),
            desk_phone(&target, dana_port, dirs[1].path()),
        ];
        let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
        available(&mut bob).await;
        let caller = call(&target, "100", 15_000);
        let offer = bob.expect("offer").await.unwrap();
        let interaction = offer["interaction"]["id"].as_str().unwrap().to_owned();
        bob.expect("interaction.assigned").await.unwrap();
        BobOnACall {
            hub,
            target,
            admin,
            bob,
            interaction,
            phones,
            caller,
            _dirs: dirs,
        }
    }

    fn hang_up(mut self) {
        for phone in &mut self.phones {
            let _ = phone.kill();
            let _ = phone.wait();
        }
        self.caller.abort();
    }
}

/// A colleague being consulted has their desk phone on a call: no caller is offered to them
/// until the consult ends (the router used to offer them the next caller, ringing a busy phone).
#[tokio::test]
async fn a_colleague_on_a_consult_is_offered_no_call_until_it_ends() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut on_call = BobOnACall::start(dir.path()).await;
    let (hub, interaction) = (&on_call.hub, on_call.interaction.clone());
    let dana_id = hub.named(&on_call.admin, "/agents", "Dana Silva").await.unwrap()["id"].clone();
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    let bob = &mut on_call.bob;

    bob.send(
        json!({"type": "call.consult", "interaction_id": interaction, "step": "start", "agent_id": dana_id}),
    )
    .await
    .unwrap();
    while dana.expect("call.consult").await.unwrap()["on"] != true {}
    // The second caller waits in the queue (the hub answers with music) for up to 8 seconds.
    let second = call(&on_call.target, "100", 8000);
    assert!(
        dana.gets_within("offer", Duration::from_secs(3)).await.is_none(),
        "Dana was offered a call while her phone is on the consult"
    );
    bob.send(json!({"type": "call.consult", "interaction_id": interaction, "step": "end"}))
        .await
        .unwrap();
    assert_eq!(dana.expect("call.consult").await.unwrap()["mode"], Value::Null);
    let offered = dana.expect("offer").await.unwrap();
    assert_ne!(
        offered["interaction"]["id"],
        interaction.as_str(),
        "the second caller"
    );
    on_call.hang_up();
    second.abort();
}

/// Consulting a queue reaches whoever it would offer its next call to: nobody while no colleague
/// with its skills is free (the agent is told, still with the caller), then Dana once she is
/// Available. A queue of no account the agent can see is not found; a colleague not consulted
/// takes no step of the consult, and a supervisor's mode is never a consult.
#[tokio::test]
async fn an_agent_consults_a_queue_and_reaches_whoever_it_would_offer_next() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut on_call = BobOnACall::start(dir.path()).await;
    let (hub, interaction) = (&on_call.hub, on_call.interaction.clone());
    let support = hub.named(&on_call.admin, "/queues", "Support").await.unwrap()["id"].clone();
    let bob = &mut on_call.bob;

    let consult = |queue: &Value| json!({"type": "call.consult", "interaction_id": interaction, "step": "start", "queue_id": queue, "note": "billing question"});
    bob.send(consult(&support)).await.unwrap();
    let refused = bob.expect_error().await;
    assert_eq!(
        (&refused["code"], &refused["ref"]),
        (&json!("call_consult"), &json!(interaction)),
        "{refused}"
    );
    assert!(
        refused["message"].as_str().unwrap().contains("Support"),
        "{refused}"
    );
    bob.send(consult(&json!(uuid::Uuid::now_v7()))).await.unwrap();
    assert_eq!(bob.expect_error().await["code"], "not_found");

    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    // Nobody but the agent on the call, or the colleague consulted, takes a step of it.
    dana.send(json!({"type": "call.consult", "interaction_id": interaction, "step": "end"}))
        .await
        .unwrap();
    assert_eq!(dana.expect_error().await["code"], "call_consult");
    dana.send(json!({"type": "call.consult", "interaction_id": interaction, "step": "conference"}))
        .await
        .unwrap();
    assert_eq!(dana.expect_error().await["code"], "forbidden");
    // A supervisor listens in; consulting is the agent's.
    let mut sam = hub.agent("sam@plugboard.example").await.unwrap();
    sam.send(json!({"type": "call.monitor", "interaction_id": interaction, "mode": "consult"}))
        .await
        .unwrap();
    assert_eq!(sam.expect_error().await["code"], "bad_request");

    bob.send(consult(&support)).await.unwrap();
    let told = loop {
        let frame = dana.expect("call.consult").await.unwrap();
        if frame["on"] == true {
            break frame;
        }
    };
    assert_eq!(
        (&told["with_name"], &told["note"]),
        (&json!("Bob Martin"), &json!("billing question")),
        "{told}"
    );
    bob.send(json!({"type": "call.consult", "interaction_id": interaction, "step": "end"}))
        .await
        .unwrap();
    assert_eq!(dana.expect("call.consult").await.unwrap()["mode"], Value::Null);
    on_call.hang_up();
}

/// A supervisor listens only to calls of their own teams': Sue, who leads the Sales floor, is not
/// told that Bob's Support call exists.
#[tokio::test]
async fn a_supervisor_of_another_team_cannot_listen_in() {
    if sipp().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let on_call = BobOnACall::start(dir.path()).await;
    let (hub, admin) = (&on_call.hub, &on_call.admin);
    let id = |v: Value| v["id"].as_str().unwrap().to_owned();
    let (status, sue) = hub
        .call(
            "POST",
            "/agents",
            Some(admin),
            Some(json!({"email": "sue@plugboard.example", "name": "Sue Park",
                "password": "sue-password-1", "role": "supervisor"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{sue}");
    let mut people = Vec::new();
    for name in ["Sam Lee", "Bob Martin", "Alice Wong"] {
        people.push(id(hub.named(admin, "/agents", name).await.unwrap()));
    }
    let [sam, bob, alice] = <[String; 3]>::try_from(people).unwrap();
    let support = id(hub.named(admin, "/queues", "Support").await.unwrap());
    let sales = id(hub.named(admin, "/queues", "Sales").await.unwrap());
    for team in [
        json!({"name": "Support desk", "leads": [sam], "members": [bob], "queues": [support]}),
        json!({"name": "Sales floor", "leads": [id(sue)], "members": [alice], "queues": [sales]}),
    ] {
        let (status, body) = hub.call("POST", "/teams", Some(admin), Some(team)).await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let token = hub
        .login("sue@plugboard.example", "sue-password-1")
        .await
        .unwrap();
    let mut sue = hub.agent_with(&token).await.unwrap();
    sue.send(json!({"type": "call.monitor", "interaction_id": on_call.interaction, "mode": "monitor"}))
        .await
        .unwrap();
    let refused = sue.expect_error().await;
    assert_eq!(
        (&refused["code"], &refused["ref"]),
        (&json!("not_found"), &json!(on_call.interaction)),
        "{refused}"
    );
    on_call.hang_up();
}
