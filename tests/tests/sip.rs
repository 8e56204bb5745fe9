//! The telephony connector inside the real hub: a phone an admin gave an agent registers with
//! digest auth from a real sipp, and a wrong password is refused.

use plugboard_tests::{DEMO_PASSWORD, Hub};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let dir = tempfile::tempdir().unwrap();
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
