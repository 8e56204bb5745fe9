//! Linphone's console softphone (`linphonec`, Debian's `linphone-cli`) as a test peer: a real
//! phone whose Contacts carry `+sip.instance`, which registers by digest over UDP, TCP or TLS
//! (then with mandatory SRTP, keyed by SDES), rings, answers by itself, and calls in.
//!
//! Headless, it needs three things: its own HOME with `~/.local/share/linphone` (its databases;
//! without them the core never starts its SIP stack, and nothing is sent), the network state
//! monitor left on (with it off the network is never "reachable" and it never registers), and
//! `soundcard use files` (no sound card: it plays a WAV file as its microphone). Commands go to
//! its standard input, one a line; what it says comes back on standard output.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// linphonec, or `None` when it is not installed (a failure when CI=true: a missing peer in CI
/// is never a silent skip).
pub fn available() -> Option<()> {
    if Command::new("linphonec").arg("-v").output().is_ok() {
        return Some(());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "linphonec is missing (apt-get install linphone-cli)"
    );
    eprintln!("skipped: linphonec is not installed");
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    /// TLS, trusting the CA in `ca.pem` of the phone's directory, with SRTP (SDES) mandatory.
    Tls,
}

/// A running linphonec; killed when dropped.
pub struct Linphone {
    child: Child,
    stdin: ChildStdin,
    /// Everything it printed so far.
    said: Arc<Mutex<String>>,
    pub dir: PathBuf,
}

impl Linphone {
    /// Starts linphonec in `dir`, listening on one transport only (a random port), with its
    /// microphone playing `voice` (8 kHz mono WAV) and, for an agent's phone, answering by itself.
    pub fn start(dir: &Path, transport: Transport, voice: &Path, auto_answer: bool) -> Result<Linphone> {
        std::fs::create_dir_all(dir.join(".local/share/linphone"))?;
        // 0: transport off, -1: a random port.
        let (udp, tcp, tls) = match transport {
            Transport::Udp => (-1, 0, 0),
            Transport::Tcp => (0, -1, 0),
            Transport::Tls => (0, 0, -1),
        };
        let secure = match transport {
            Transport::Tls => format!(
                // The chain is checked; the name is not: its TLS library (mbedtls) matches only
                // DNS names, and the hub's certificate names 127.0.0.1 as an IP address.
                "root_ca={}\nverify_server_certs=1\nverify_server_cn=0\nmedia_encryption=srtp\nmedia_encryption_mandatory=1\n\
                 srtp_crypto_suites=AES_CM_128_HMAC_SHA1_80\n",
                dir.join("ca.pem").display()
            ),
            Transport::Udp | Transport::Tcp => String::new(),
        };
        let rtp = free_udp_port();
        let config = format!(
            "[sip]\nsip_port={udp}\nsip_tcp_port={tcp}\nsip_tls_port={tls}\nregister_only_when_network_is_up=1\n{secure}\
             [rtp]\naudio_rtp_port={rtp}\n[net]\nfirewall_policy=0\n\
             [audio_codec_0]\nmime=PCMU\nrate=8000\nenabled=1\n[audio_codec_1]\nmime=PCMA\nrate=8000\nenabled=1\n"
        );
        let rc = dir.join("linphonerc");
        std::fs::write(&rc, config)?;
        let mut child = Command::new("linphonec")
            .arg("-c")
            .arg(&rc)
            .args(["-d", "6", "-l"])
            .arg(dir.join("linphone.log"))
            .env("HOME", dir)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting linphonec")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let said = Arc::new(Mutex::new(String::new()));
        let sink = said.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut said = sink.lock().unwrap();
                said.push_str(&line);
                said.push('\n');
            }
        });
        let mut phone = Linphone {
            child,
            stdin,
            said,
            dir: dir.to_path_buf(),
        };
        phone.send("soundcard use files")?;
        phone.send(&format!("play {}", voice.display()))?;
        phone.send(&format!("record {}", dir.join("heard.wav").display()))?;
        if auto_answer {
            phone.send("autoanswer enable")?;
        }
        Ok(phone)
    }

    /// One command line.
    pub fn send(&mut self, command: &str) -> Result<()> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Registers `user` with `password` at the hub's SIP address `target` (`127.0.0.1:5060`),
    /// over the phone's transport.
    pub fn register(&mut self, user: &str, password: &str, target: &str, transport: Transport) -> Result<()> {
        let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
        let proxy = match transport {
            Transport::Udp => format!("sip:{target}"),
            Transport::Tcp => format!("sip:{target};transport=tcp"),
            Transport::Tls => format!("sip:{target};transport=tls"),
        };
        self.send(&format!("register sip:{user}@{host} {proxy} {password}"))
    }

    /// Waits until it has printed `text` (linphonec's own words, e.g. "Call 1 with ... connected").
    pub async fn wait_for(&self, text: &str, wait: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            if self.said.lock().unwrap().contains(text) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "linphonec never said {text:?}; it said:\n{}\n(log: {})",
            self.said.lock().unwrap(),
            self.dir.join("linphone.log").display()
        )
    }

    /// Kills it outright: a phone that goes away without unregistering (its connection drops).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until a line of its log (the SIP it sent and received) matches.
    pub async fn wait_for_log(&self, matches: impl Fn(&str) -> bool, wait: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            if self.log().lines().any(&matches) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "no such line in {}:\n{}",
            self.dir.join("linphone.log").display(),
            self.log()
        )
    }

    /// Waits until its log shows an SDES key of the hub's one suite (RFC 4568 `a=crypto`) in a
    /// call's SDP: with SRTP mandatory, a call it connected was keyed so.
    pub async fn saw_sdes_key(&self) -> Result<()> {
        self.wait_for_log(
            |l| l.starts_with("a=crypto:") && l.contains("AES_CM_128_HMAC_SHA1_80 inline:"),
            Duration::from_secs(1),
        )
        .await
    }

    /// What it printed so far.
    pub fn said(&self) -> String {
        self.said.lock().unwrap().clone()
    }

    /// The SIP it sent and received, from its log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("linphone.log")).unwrap_or_default()
    }
}

impl Drop for Linphone {
    fn drop(&mut self) {
        let _ = self.send("quit");
        for _ in 0..20 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(7078)
}
