//! Kamailio in front of hub nodes, as `deploy/kamailio.cfg` configures it, for the tests.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Kamailio, or `None` (a failure when CI=true: a missing peer in CI is never a silent skip).
pub fn kamailio() -> Option<()> {
    if Command::new("kamailio").arg("-v").output().is_ok() {
        return Some(());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "kamailio is missing (apt-get install kamailio)"
    );
    eprintln!("skipped: kamailio is not installed");
    None
}

/// A port free on both UDP and TCP at 127.0.0.1 (Kamailio listens on both).
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running Kamailio; stopped with SIGTERM (its main process takes its children along).
pub struct Kamailio {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Kamailio's processes: the main one and the children it forks (for CPU figures).
pub fn processes(kamailio: &Kamailio) -> Vec<u32> {
    let main = kamailio.child.id();
    let children = Command::new("pgrep")
        .args(["-P", &main.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    std::iter::once(main)
        .chain(children.lines().filter_map(|l| l.trim().parse().ok()))
        .collect()
}

/// deploy/kamailio.cfg with this machine's addresses: everything on loopback, the carriers'
/// network being 127.0.0.1 alone, listening on `port`, the hub nodes at `hubs`; sessions of 90 s.
fn configure(dir: &Path, port: u16, hubs: &[&str]) -> PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kamailio.cfg");
    let text = std::fs::read_to_string(example).unwrap();
    let replace = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "deploy/kamailio.cfg no longer has {from:?}");
        text.replace(from, to)
    };
    let list = dir.join("dispatcher.list");
    let nodes: String = hubs
        .iter()
        .enumerate()
        .map(|(n, hub)| format!("1 sip:{hub} 0 0 duid=hub-{n}\n"))
        .collect();
    std::fs::write(&list, nodes).unwrap();
    let mut text = replace(text, "!PUBLIC_IP!198.51.100.5!g", "!PUBLIC_IP!127.0.0.1!g");
    text = replace(text, "!CARRIERS!203.0.113.0/24!g", "!CARRIERS!127.0.0.1/32!g");
    text = replace(
        text,
        "PRIVATE_IP:5060 advertise PUBLIC_IP:5060",
        &format!("PRIVATE_IP:{port}"),
    );
    text = replace(
        text,
        "alias=\"PUBLIC_IP:5060\"",
        &format!("alias=\"PUBLIC_IP:{port}\""),
    );
    text = replace(text, "/etc/kamailio/dispatcher.list", &list.display().to_string());
    // The shortest session RFC 4028 allows, so a test sees it refreshed within 45 s.
    text = replace(
        text,
        "modparam(\"sst\", \"min_se\", 1800)",
        "modparam(\"sst\", \"min_se\", 90)",
    );
    text = replace(
        text,
        "# Set 1 holds the hub nodes.",
        &format!("modparam(\"ctl\", \"binrpc\", \"unix:{}/ctl\")", dir.display()),
    );
    let file = dir.join("kamailio.cfg");
    std::fs::write(&file, text).unwrap();
    file
}

pub fn start_kamailio(port: u16, hubs: &[&str]) -> Kamailio {
    let dir = tempfile::tempdir().unwrap();
    let file = configure(dir.path(), port, hubs);
    let check = Command::new("kamailio")
        .arg("-c")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "kamailio -c refuses the config:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // 256 MiB of shared memory: the default 64 MiB runs out of transactions at a few hundred
    // calls a second (the call benchmark runs through this too).
    let child = Command::new("kamailio")
        .arg("-f")
        .arg(&file)
        .args(["-DD", "-E", "-m", "256", "-M", "8", "-Y"])
        .arg(dir.path())
        .arg("-P")
        .arg(dir.path().join("kamailio.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kamailio starts");
    Kamailio { child, _dir: dir }
}
