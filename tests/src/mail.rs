//! The email tests' real peers: Debian's Dovecot as the mailbox (IMAP on a free loopback port,
//! its config, state and maildir in a temp directory, run unprivileged) and aiosmtpd as the SMTP
//! server that keeps what it accepts (`tests/mail/sink.py`). The harness talks to Dovecot with
//! async-imap directly, not through the connector under test.

use plugboard_email::{Security, Server};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The mailbox's account on the test Dovecot.
pub const USER: &str = "support";
pub const PASSWORD: &str = "mailbox-test-password";

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether a peer the tests need is here; without it a test skips with a NOTICE, except with
/// CI=true, where a missing peer fails.
fn available(found: bool, what: &str, install: &str) -> bool {
    if !found {
        assert!(
            !ci(),
            "{what} is missing ({install}); CI must have it: run .ci/install"
        );
        eprintln!("NOTICE: {what} is not installed ({install}): skipping this test");
    }
    found
}

pub fn dovecot_available() -> bool {
    let found = Command::new("dovecot")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    available(found, "dovecot", "apt-get install dovecot-imapd")
}

pub fn aiosmtpd_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    available(found, "aiosmtpd", "python3 -m pip install aiosmtpd")
}

fn id(flag: &str, user: Option<&str>) -> String {
    let out = Command::new("id").arg(flag).args(user).output().expect("id runs");
    assert!(out.status.success(), "id {flag} {user:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Polls until something accepts connections on 127.0.0.1:`port`, while `child` is alive.
fn wait_for_port(port: u16, child: &mut Child, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{what} is not listening on {port} after 20 s:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// A Dovecot of one test's own, with one account (`USER`, `PASSWORD`) whose INBOX starts empty.
/// Stopped when dropped.
pub struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    /// IMAPS, when started with `start_tls`.
    tls_port: Option<u16>,
}

impl Dovecot {
    /// `None` (the test skips) when Dovecot is not installed, unless CI=true.
    pub fn start() -> Option<Dovecot> {
        Dovecot::launch(false)
    }

    /// Also offering TLS: STARTTLS on the IMAP port, and IMAPS on `tls_port`, with a certificate
    /// from a CA of its own (`ca_file`).
    pub fn start_tls() -> Option<Dovecot> {
        Dovecot::launch(true)
    }

    fn launch(tls: bool) -> Option<Dovecot> {
        if !dovecot_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        for sub in ["run", "state", "home", "Maildir"] {
            std::fs::create_dir(path.join(sub)).unwrap();
        }
        // Dovecot's login processes refuse to run as root, and so do mail processes: as root
        // (CI, containers) it runs them as Debian's own dovecot users and the mail as nobody;
        // as anyone else, everything runs as that user.
        let root = id("-u", None) == "0";
        let (internal, login, mail_user) = if root {
            ("dovecot".to_owned(), "dovenull".to_owned(), "nobody")
        } else {
            let me = id("-un", None);
            (me.clone(), me, "")
        };
        let mail_user = (!mail_user.is_empty()).then_some(mail_user);
        let (uid, gid) = (id("-u", mail_user), id("-g", mail_user));
        if root {
            // The temp dir is root's (0700); Dovecot's processes must reach into it.
            let chmod = |p: &Path| {
                Command::new("chmod").arg("755").arg(p).status().unwrap();
            };
            chmod(path);
            for sub in ["home", "Maildir"] {
                let owner = format!("{uid}:{gid}");
                Command::new("chown")
                    .arg(&owner)
                    .arg(path.join(sub))
                    .status()
                    .unwrap();
            }
        }
        let port = crate::kamailio::free_port();
        let tls_port = tls.then(crate::kamailio::free_port);
        let (ssl, imaps) = match tls_port {
            Some(tls_port) => {
                crate::make_certificates(path);
                (
                    format!(
                        "ssl = yes\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\n",
                        d = path.display()
                    ),
                    format!("address = 127.0.0.1\n    port = {tls_port}"),
                )
            }
            None => ("ssl = no\n".to_owned(), "port = 0".to_owned()),
        };
        let passwd = path.join("passwd");
        std::fs::write(&passwd, format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let group = id("-gn", Some(&internal));
        let d = path.display();
        let config = format!(
            "protocols = imap\n\
             listen = 127.0.0.1\n\
             base_dir = {d}/run\n\
             state_dir = {d}/state\n\
             log_path = {d}/dovecot.log\n\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             default_internal_user = {internal}\n\
             default_internal_group = {group}\n\
             default_login_user = {login}\n\
             first_valid_uid = 1\n\
             mail_location = maildir:{d}/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {passwd}\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/home\n}}\n\
             {ssl}\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
             \x20 inet_listener imaps {{\n    {imaps}\n  }}\n}}\n",
            passwd = passwd.display(),
        );
        let file = path.join("dovecot.conf");
        std::fs::write(&file, config).unwrap();
        let mut child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        wait_for_port(port, &mut child, "dovecot", &path.join("dovecot.log"));
        if let Some(tls_port) = tls_port {
            wait_for_port(tls_port, &mut child, "dovecot (IMAPS)", &path.join("dovecot.log"));
        }
        Some(Dovecot {
            child,
            dir,
            port,
            tls_port,
        })
    }

    /// IMAPS on its own port, trusting the test CA (`start_tls` only).
    pub fn tls_server(&self) -> Server {
        let mut server = self.server();
        server.port = self.tls_port.expect("started with start_tls");
        server.security = Security::Tls;
        server.ca_file = Some(self.ca_file());
        server
    }

    /// STARTTLS on the IMAP port, trusting the test CA (`start_tls` only).
    pub fn starttls_server(&self) -> Server {
        let mut server = self.server();
        server.security = Security::StartTls;
        server.ca_file = Some(self.ca_file());
        server
    }

    /// The CA that signed the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The mailbox as the connector is configured with it.
    pub fn server(&self) -> Server {
        let mut server = Server::new("127.0.0.1", self.port, Security::Plain, USER, PASSWORD);
        server.timeout = Duration::from_secs(10);
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    /// What Dovecot logged, for a failing test to show.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("dovecot answers");
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().expect("a greeting");
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("the test account logs in")
    }

    /// Delivers `raw` into INBOX, unseen, as a mail arriving would be.
    pub async fn append(&self, raw: &[u8]) {
        self.append_to("INBOX", raw).await;
    }

    pub async fn append_to(&self, folder: &str, raw: &[u8]) {
        let mut session = self.session().await;
        session
            .append(folder, None, None, raw)
            .await
            .expect("APPEND works");
        session.logout().await.ok();
    }

    /// Delivers every one of `raws` into INBOX over one session, in order (UIDs follow it):
    /// for the benchmark's mailbox of thousands.
    pub async fn append_all(&self, raws: &[Vec<u8>]) {
        let mut session = self.session().await;
        for raw in raws {
            session
                .append("INBOX", None, None, raw)
                .await
                .expect("APPEND works");
        }
        session.logout().await.ok();
    }

    pub async fn create_folder(&self, folder: &str) {
        let mut session = self.session().await;
        session.create(folder).await.expect("CREATE works");
        session.logout().await.ok();
    }

    /// How many mails `folder` holds, and how many of them are unseen.
    pub async fn counts(&self, folder: &str) -> (u32, u32) {
        let mut session = self.session().await;
        let status = session
            .status(folder, "(MESSAGES UNSEEN)")
            .await
            .expect("STATUS works");
        session.logout().await.ok();
        (status.exists, status.unseen.unwrap_or(0))
    }

    pub async fn unseen_count(&self) -> u32 {
        self.counts("INBOX").await.1
    }

    /// Deletes `folder` and the mail in it.
    pub async fn delete_folder(&self, folder: &str) {
        let mut session = self.session().await;
        session.delete(folder).await.expect("DELETE works");
        session.logout().await.ok();
    }

    /// Deletes `folder` and makes it again holding `raws`, in that order, all at once over one
    /// session: a mailbox rebuilt or restored from backup under a client that has it selected,
    /// with a new UIDVALIDITY and UIDs from 1 again. Answers the new UIDVALIDITY.
    pub async fn recreate_folder(&self, folder: &str, raws: &[Vec<u8>]) -> u32 {
        let mut session = self.session().await;
        session.delete(folder).await.expect("DELETE works");
        session.create(folder).await.expect("CREATE works");
        for raw in raws {
            session
                .append(folder, None, None, raw)
                .await
                .expect("APPEND works");
        }
        session.logout().await.ok();
        self.uid_validity(folder).await
    }

    /// The UIDVALIDITY of `folder` now.
    pub async fn uid_validity(&self, folder: &str) -> u32 {
        let mut session = self.session().await;
        let status = session
            .status(folder, "(UIDVALIDITY)")
            .await
            .expect("STATUS works");
        session.logout().await.ok();
        status.uid_validity.expect("a UIDVALIDITY")
    }

    /// Gives INBOX a new UIDVALIDITY, as a server restored from backup or a rebuilt mailbox
    /// does: the UIDs a client stored mean nothing any more. Answers the new value.
    pub fn reset_uidvalidity(&self) -> u32 {
        self.reset_uidvalidity_of("INBOX")
    }

    /// As `reset_uidvalidity`, for any folder. A client that has it selected is disconnected
    /// ("IMAP session state is inconsistent, please relogin").
    pub fn reset_uidvalidity_of(&self, folder: &str) -> u32 {
        let doveadm = |args: &[&str]| {
            let out = Command::new("doveadm")
                .arg("-c")
                .arg(self.config())
                .args(args)
                .output()
                .expect("doveadm runs");
            assert!(
                out.status.success(),
                "doveadm {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let status = doveadm(&[
            "-f",
            "flow",
            "mailbox",
            "status",
            "-u",
            USER,
            "uidvalidity",
            folder,
        ]);
        let old: u32 = status
            .split_whitespace()
            .find_map(|field| field.strip_prefix("uidvalidity="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no uidvalidity in {status:?}"));
        let new = old.wrapping_add(1).max(1);
        doveadm(&[
            "mailbox",
            "update",
            "-u",
            USER,
            "--uid-validity",
            &new.to_string(),
            folder,
        ]);
        new
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// aiosmtpd on a free loopback port, keeping what it accepts in a maildir of its own. Refuses
/// `reject*@` with 550 and `later*@` with 451. Stopped when dropped.
pub struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    tls: bool,
}

impl SmtpSink {
    /// `None` (the test skips) when aiosmtpd is not installed, unless CI=true.
    pub fn start() -> Option<SmtpSink> {
        SmtpSink::launch(false)
    }

    /// Requiring STARTTLS, with a certificate from a CA of its own (`ca_file`).
    pub fn start_tls() -> Option<SmtpSink> {
        SmtpSink::launch(true)
    }

    fn launch(tls: bool) -> Option<SmtpSink> {
        if !aiosmtpd_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = crate::kamailio::free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("mail/sink.py");
        let log = dir.path().join("sink.log");
        let mut command = Command::new("python3");
        command.arg(script);
        if tls {
            crate::make_certificates(dir.path());
            command
                .arg("--tls-cert")
                .arg(dir.path().join("server.pem"))
                .arg("--tls-key")
                .arg(dir.path().join("server.key"));
        }
        let mut child = command
            .arg("--port")
            .arg(port.to_string())
            .arg("--maildir")
            .arg(dir.path().join("maildir"))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("sink.err")).unwrap())
            .spawn()
            .expect("python3 runs");
        wait_for_port(port, &mut child, "the SMTP sink", &dir.path().join("sink.err"));
        Some(SmtpSink {
            child,
            dir,
            port,
            tls,
        })
    }

    /// The sink as a mailbox's SMTP settings: no login; STARTTLS trusting its CA when started
    /// with `start_tls`.
    pub fn server(&self) -> Server {
        let security = if self.tls {
            Security::StartTls
        } else {
            Security::Plain
        };
        let mut server = Server::new("127.0.0.1", self.port, security, "", "");
        server.timeout = Duration::from_secs(10);
        if self.tls {
            server.ca_file = Some(self.dir.path().join("ca.pem"));
        }
        server
    }

    /// How many mails it has accepted so far.
    pub fn count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.dir.path().join("maildir").join(sub)).ok())
            .map(|dir| dir.count())
            .sum()
    }

    /// Every mail accepted so far, oldest first, each with the envelope headers the sink put in
    /// front (`X-Envelope-From`, `X-Envelope-To`).
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.dir.path().join("maildir").join(sub)).ok())
            .flatten()
            .map(|entry| entry.unwrap().path())
            .collect();
        // Maildir names start with the delivery time in seconds, then a counter.
        files.sort_by_key(|p| {
            let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok();
            (modified, p.clone())
        });
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
