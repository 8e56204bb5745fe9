//! The SIP server against a real peer: Debian's `sipp` (package `sip-tester`) plays a monitoring
//! probe and an agent's phone, from the scenarios in `tests/sipp/`. The server runs in-process on
//! 127.0.0.1:0. Without sipp the tests skip with a notice, except in CI (`CI=true`), where a
//! missing peer is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{PASSWORD, USER, start};
use plugboard_sip::digest::Algorithm;
use plugboard_sip::server::SipServer;
use plugboard_sip::service::ServiceConfig;

/// sipp's own `-timeout`, and the test's hard limit on top of it.
const SCENARIO_LIMIT: Duration = Duration::from_secs(10);

fn sipp_available() -> bool {
    let found = std::process::Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sipp is not installed (Debian package sip-tester); CI must have it: run .ci/install"
        );
        eprintln!("NOTICE: sipp not installed (apt-get install sip-tester): skipping this test");
    }
    found
}

/// sipp 3.6 answers the first challenge and computes MD5 only, like some older phones: offer MD5
/// first, as a site with such phones would (SHA-256 is covered by the service's unit tests).
fn md5_first() -> ServiceConfig {
    ServiceConfig {
        algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
        ..ServiceConfig::default()
    }
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

#[derive(Clone, Copy)]
enum Over {
    Udp,
    Tcp,
}

/// Runs one call of `scenario` as user 1001 with `password`; returns whether sipp reported
/// success, and its logs for the failure message.
async fn run(server: &SipServer, over: Over, scenario_file: &str, password: &str) -> (bool, String) {
    let (target, transport) = match over {
        Over::Udp => (server.udp_addr(), "u1"),
        Over::Tcp => (server.tcp_addr(), "t1"),
    };
    // sipp writes its logs to the working directory: one directory per run.
    let dir = std::env::temp_dir().join(format!(
        "plugboard-sipp-{}-{}-{}",
        std::process::id(),
        scenario_file,
        target.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let child = tokio::process::Command::new("sipp")
        .arg(target.to_string())
        .args(["-sf", scenario(scenario_file).to_str().unwrap()])
        .args(["-t", transport, "-i", "127.0.0.1", "-m", "1"])
        .args(["-s", USER, "-ap", password])
        .args([
            "-timeout",
            &format!("{}s", SCENARIO_LIMIT.as_secs()),
            "-timeout_error",
        ])
        .args(["-nostdin", "-trace_err", "-trace_msg"])
        .args(["-error_file", "errors.log", "-message_file", "messages.log"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp starts");
    let output = tokio::time::timeout(SCENARIO_LIMIT + Duration::from_secs(5), child.wait_with_output())
        .await
        .expect("sipp finishes in time")
        .expect("sipp runs");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let logs = format!(
        "exit {:?}\nstderr: {}\nerrors: {}\nmessages:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr),
        read("errors.log"),
        read("messages.log"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    (output.status.success(), logs)
}

#[tokio::test]
async fn options_is_answered_over_udp_and_tcp() {
    if !sipp_available() {
        return;
    }
    let server = start(ServiceConfig::default()).await;
    for over in [Over::Udp, Over::Tcp] {
        let (ok, logs) = run(&server, over, "options.xml", PASSWORD).await;
        assert!(ok, "{logs}");
    }
}

#[tokio::test]
async fn a_phone_registers_with_digest_auth_and_unregisters() {
    if !sipp_available() {
        return;
    }
    let server = start(md5_first()).await;
    let (ok, logs) = run(&server, Over::Udp, "register.xml", PASSWORD).await;
    assert!(ok, "{logs}");
    // The scenario saw its binding listed in the 200, then un-registered: none is left.
    assert!(server.bindings(&format!("sip:{USER}@127.0.0.1")).is_empty());
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    if !sipp_available() {
        return;
    }
    let server = start(md5_first()).await;
    let (ok, logs) = run(
        &server,
        Over::Udp,
        "register_wrong_password.xml",
        "not-the-password",
    )
    .await;
    assert!(ok, "{logs}");
    assert!(server.bindings(&format!("sip:{USER}@127.0.0.1")).is_empty());
}
