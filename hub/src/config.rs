//! Settings: one TOML file with environment overrides (`PLUGBOARD_HTTP__LISTEN=...`), every
//! setting with a default, so `plugboard serve` runs with no file at all.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the embedded SQLite database lives; created on first start.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; empty means SQLite in `data_dir`.
    pub database_url: String,
    /// Region used to read phone numbers written without a country code (ISO 3166, e.g. "CN").
    pub default_region: String,
    /// `redis://host:port`: live frames and presence shared with every other node on the same
    /// Redis. Unset: in-process, for a single node with no Redis at all.
    pub redis_url: Option<String>,
    /// Put before every Redis key and channel name, so several deployments (or test runs) can
    /// share one Redis. Nodes of one deployment must use the same.
    pub redis_prefix: String,
    /// The key that seals stored secrets (mailbox passwords): 32 bytes, base64. Unset: a key is
    /// made on first start and kept in `data_dir/secret.key`. Several nodes must share one, so
    /// with `database_url` on PostgreSQL set it here (or in `PLUGBOARD_SECRET_KEY`).
    pub secret_key: Option<String>,
    pub http: Http,
    pub auth: Auth,
    pub chat: Chat,
    pub sip: Sip,
    pub email: Email,
    pub messaging: Messaging,
    pub crm: Crm,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Crm {
    /// An open follow-up this long past its due time is escalated to the account's supervisors.
    pub escalate_after_secs: u32,
    /// A contact from a customer with an owner is offered to the owner alone for this long while
    /// they are Available, keeping its place in the queue, then to everyone; 0: no owner routing.
    pub owner_first_secs: u32,
}

impl Default for Crm {
    fn default() -> Self {
        Crm {
            escalate_after_secs: 3600,
            owner_first_secs: 20,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Messaging {
    /// A file a messaging app's message names is fetched only up to this size; a larger one
    /// shows on the message as not fetched, with the reason.
    pub max_media_bytes: u64,
    /// Fetches of a message's files that fail for a reason that may pass (the platform down) are
    /// tried this many times in all, then shown as failed.
    pub media_attempts: u32,
    /// The wait before the second attempt, doubled for each one after (at most an hour).
    pub media_retry_secs: u32,
    /// How long a node holds a message's files it started fetching: after a crash mid-fetch,
    /// the fetch is taken up again (by any node) once this has passed.
    pub media_claim_secs: u32,
}

impl Default for Messaging {
    fn default() -> Self {
        Messaging {
            max_media_bytes: 64 * 1024 * 1024,
            media_attempts: 8,
            media_retry_secs: 30,
            media_claim_secs: 600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Email {
    /// Mail larger than this (the whole message, attachments included) is not taken in: it is
    /// kept as a failed item with its reason, visible to admins.
    pub max_bytes: usize,
    /// Without IMAP IDLE, a mailbox is fetched this often; with it, at least this often.
    pub poll_secs: u32,
    /// What a customer's reply to a closed conversation does: `reopen` it (it waits for the
    /// agent who had it, else the queue) or start a `new` one that names the old.
    pub closed_reply: crate::intake::ClosedReply,
    /// The domain in the Message-IDs of the mail we send (`<pb.…@domain>`); unset: each
    /// mailbox's own domain.
    pub message_id_domain: Option<String>,
}

impl Default for Email {
    fn default() -> Self {
        Email {
            max_bytes: 25 * 1024 * 1024,
            poll_secs: 60,
            closed_reply: crate::intake::ClosedReply::Reopen,
            message_id_domain: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    pub listen: SocketAddr,
    /// Reverse proxies in front of the hub (e.g. `["127.0.0.1"]` for nginx on the same host).
    /// For requests from them the client is the nearest address in `X-Forwarded-For` that is not
    /// a proxy, so per-client limits (logins, chat starts) see customers, not the proxy. Empty:
    /// the header is ignored, since a client can write anything in it.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where Prometheus scrapes `/metrics`: a listener of its own, so the figures never reach the
    /// public side through `listen`. Unset (the default): no metrics are served.
    pub metrics_listen: Option<SocketAddr>,
    /// HTTPS on `listen`: the certificate chain and its private key (PEM files), read again when
    /// they change (a renewal needs no restart). Both or neither; unset: plain HTTP, for a reverse
    /// proxy in front that speaks TLS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// How long one websocket frame may take to reach its client; a client that stops reading
    /// for longer is disconnected (its queued frames dropped with it).
    pub socket_write_timeout_secs: u32,
    /// A console socket (`/ws/agent`, `/ws/supervisor`) must send its `auth` within this long.
    pub console_auth_timeout_secs: u32,
    /// A console socket the hub hears nothing from (not even the pong a browser answers its
    /// pings with) for this long is closed; the console reconnects when it is alive.
    pub console_idle_timeout_secs: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    pub session_hours: u32,
    /// Login attempts allowed per client address per minute (a burst of as many).
    pub login_per_minute: u32,
    /// Wrong passwords in a row for one login (from any address) before it is locked.
    pub lockout_after: u32,
    /// The first lock, in seconds; each further wrong password doubles it.
    pub lockout_secs: u32,
    /// The longest lock, in seconds.
    pub lockout_max_secs: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Chat {
    /// The queue a widget's chats go to when its script tag names none.
    pub default_queue: String,
    /// New conversations a single client address may start per minute.
    pub starts_per_minute: u32,
    /// A waiting chat whose visitor has had no widget open this long is abandoned (they closed
    /// the tab); a reload or a reconnect within it keeps the chat's place.
    pub abandon_after_secs: u32,
    /// Messages a visitor may send in one conversation per minute (a burst of as many); more are
    /// refused with `rate_limited`, each named by its `client_id` so the widget can mark it.
    pub messages_per_minute: u32,
    /// The most a visitor's messages in one conversation may add up to, in bytes; past it each
    /// message is refused with `too_large` (the conversation is full).
    pub max_conversation_bytes: usize,
    /// The largest file (a picture or a PDF) a visitor may send in a chat, in bytes.
    pub max_file_bytes: usize,
    /// A widget socket must say `hello` within this many seconds, or it is closed.
    pub hello_timeout_secs: u32,
    /// A widget socket the hub hears nothing from (not even the pong a browser answers its pings
    /// with) for this many seconds is closed; the widget reconnects when it is alive.
    pub idle_timeout_secs: u32,
    /// An ended conversation's widget token still shows its transcript for this many seconds
    /// (a reload right after the end); after that it opens nothing and the widget starts afresh.
    pub token_grace_secs: u32,
    /// Per widget (its queue's name, matched without regard to case), the secret a site signs
    /// its logged-in user with (`identity: {user_id | email, hash}` in `start`, the hash being the
    /// hex HMAC-SHA256 of the value): such a visitor is that customer. Without a signature what a
    /// visitor types is only a claim.
    pub identity_secrets: std::collections::BTreeMap<String, String>,
    /// Per widget (its queue's name, matched without regard to case), the sites whose pages may
    /// use it: their origins (`https://shop.example`, with the port if it is not the scheme's).
    /// A browser names the page's origin when it opens the widget's socket; any other is refused
    /// with `forbidden`, so another site cannot embed a company's chat. A widget not listed may
    /// be used from anywhere.
    pub allowed_origins: std::collections::BTreeMap<String, Vec<String>>,
}

impl Chat {
    /// Whether a page from `origin` (none: the client named none, as no browser does) may use
    /// the widget on `queue`.
    pub fn origin_allowed(&self, queue: &str, origin: Option<&str>) -> bool {
        match self
            .allowed_origins
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(queue))
        {
            None => true,
            Some((_, sites)) => origin.is_some_and(|origin| {
                sites
                    .iter()
                    .any(|site| site.trim_end_matches('/').eq_ignore_ascii_case(origin))
            }),
        }
    }

    /// The identity secret of the widget on `queue`, if it has one.
    pub fn identity_secret(&self, queue: &str) -> Option<&str> {
        self.identity_secrets
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(queue))
            .map(|(_, secret)| secret.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sip {
    /// The digest realm agents' phones authenticate in. Phones' secrets are kept as digests of
    /// this realm, so changing it means setting every phone's password again.
    pub realm: String,
    /// Where agents' phones register, over UDP and TCP (e.g. "127.0.0.1:5060"); unset: no SIP.
    pub listen: Option<std::net::SocketAddr>,
    /// Where phones and trunks connect for SIP over TLS (e.g. "0.0.0.0:5061"); unset: no TLS.
    /// Needs `tls_cert` and `tls_key`. Calls on TLS may use SRTP (SDES); SRTP offered over UDP
    /// or TCP is refused, its keys being in clear there.
    pub tls_listen: Option<std::net::SocketAddr>,
    /// The TLS listener's certificate chain (PEM, leaf first).
    pub tls_cert: Option<PathBuf>,
    /// The TLS listener's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Digest algorithms offered to phones, one challenge each, in this order: "SHA-256", "MD5".
    /// Phones that answer only the first challenge and know only MD5 need MD5 first.
    pub algorithms: Vec<String>,
    /// Addresses of the carriers' trunks: their INVITEs need no credentials over TCP or TLS (and
    /// over UDP with `trust_trunks_over_udp`). Anyone else calling in must authenticate by digest.
    pub trunks: Vec<std::net::IpAddr>,
    /// Let trunks in by their UDP source address alone. A UDP source address is forged with one
    /// datagram: set this only where nobody else can send to the SIP port (the private network
    /// behind Kamailio); otherwise trunks connect over TCP or authenticate.
    pub trust_trunks_over_udp: bool,
    /// Dialled number → queue name (`"+15550100" = "Support"`).
    pub numbers: std::collections::BTreeMap<String, String>,
    /// Dialled number → IVR menu of key → queue name (`[sip.menus."+15550200"]` `"1" = "Sales"`).
    pub menus: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// The address phones and trunks send RTP to, written in our SDP; the `listen` address when
    /// unset (set it when listening on 0.0.0.0). Behind 1:1 NAT, the public address: RTP ports
    /// then open on the `listen` address, where the NAT forwards them.
    pub media_ip: Option<std::net::IpAddr>,
    /// A folder of 8 kHz mono WAV files replacing the built-in prompts and music:
    /// `greeting.wav`, `menu.wav`, `position.wav`, `closed.wav`, `beep.wav`, `0.wav`…`9.wav`, `music.wav`.
    pub prompts: Option<PathBuf>,
    /// Record bridged calls (stereo WAV under `data_dir/recordings`).
    pub record: bool,
    /// Every this many seconds a waiting caller hears their place in the queue; 0: never.
    pub announce_position_secs: u32,
    /// The longest voicemail a caller may leave when the queue is closed (its business hours),
    /// in seconds, the closed message included; then we hang up and keep what was said.
    pub voicemail_max_secs: u32,
    /// The carrier's trunk that click-to-call dials through (e.g. "203.0.113.5:5060"); unset:
    /// agents cannot call out.
    pub outbound_trunk: Option<std::net::SocketAddr>,
    /// The queue outbound calls are counted in (reports, wrap-up codes).
    pub outbound_queue: String,
    /// The most calls the hub holds at once (waiting with music, ringing or bridged). A caller
    /// beyond it is answered 503 with Retry-After, so the carrier can route them elsewhere, rather
    /// than queued with music the machine has no CPU left to play (docs/benchmarks.md, Calls).
    /// The default, 800, is the most bridged calls the media benchmark relayed and recorded on 2
    /// cores with nothing lost.
    pub max_calls: u32,
}

impl Default for Sip {
    fn default() -> Self {
        Sip {
            realm: "plugboard".into(),
            listen: None,
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            algorithms: vec!["SHA-256".into(), "MD5".into()],
            trunks: Vec::new(),
            trust_trunks_over_udp: false,
            numbers: Default::default(),
            menus: Default::default(),
            media_ip: None,
            prompts: None,
            record: true,
            announce_position_secs: 30,
            voicemail_max_secs: 180,
            outbound_trunk: None,
            outbound_queue: "Support".into(),
            max_calls: 800,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("plugboard-data"),
            database_url: String::new(),
            default_region: "US".into(),
            redis_url: None,
            redis_prefix: "plugboard:".into(),
            secret_key: None,
            http: Http::default(),
            auth: Auth::default(),
            chat: Chat::default(),
            sip: Sip::default(),
            email: Email::default(),
            messaging: Messaging::default(),
            crm: Crm::default(),
        }
    }
}

impl Default for Http {
    fn default() -> Self {
        Http {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            tls_cert: None,
            tls_key: None,
            socket_write_timeout_secs: 10,
            console_auth_timeout_secs: 30,
            console_idle_timeout_secs: 90,
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            session_hours: 12,
            login_per_minute: 20,
            lockout_after: 5,
            lockout_secs: 30,
            lockout_max_secs: 900,
        }
    }
}

impl Default for Chat {
    fn default() -> Self {
        Chat {
            default_queue: "Support".into(),
            starts_per_minute: 30,
            abandon_after_secs: 60,
            messages_per_minute: 30,
            max_conversation_bytes: 256 * 1024,
            max_file_bytes: 10 * 1024 * 1024,
            hello_timeout_secs: 30,
            idle_timeout_secs: 90,
            token_grace_secs: 3600,
            identity_secrets: Default::default(),
            allowed_origins: Default::default(),
        }
    }
}

/// The top-level names of the settings, for picking them out of the environment.
const SECTIONS: [&str; 13] = [
    "sip",
    "crm",
    "email",
    "messaging",
    "secret_key",
    "data_dir",
    "database_url",
    "default_region",
    "redis_url",
    "redis_prefix",
    "http",
    "auth",
    "chat",
];

impl Config {
    /// Defaults, then the file (if given), then `PLUGBOARD_*` environment variables
    /// (`__` separates sections: `PLUGBOARD_AUTH__LOGIN_PER_MINUTE=100`).
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        use figment::Figment;
        use figment::providers::{Env, Format, Serialized, Toml};
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only variables naming a setting: PLUGBOARD_CONFIG, PLUGBOARD_BIN and the tests' own
        // PLUGBOARD_TEST_* share the prefix without being settings.
        let env = Env::prefixed("PLUGBOARD_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            SECTIONS
                .iter()
                .any(|s| key == *s || key.starts_with(&format!("{s}__")) || key.starts_with(&format!("{s}.")))
        });
        figment.merge(env).extract().map_err(Box::new)
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("plugboard.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's test jail returns its own error type
mod tests {
    use super::*;

    #[test]
    fn file_and_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "plugboard.toml",
                "default_region = \"CN\"\n[http]\nlisten = \"0.0.0.0:9000\"\n",
            )?;
            jail.set_env("PLUGBOARD_AUTH__LOGIN_PER_MINUTE", "99");
            jail.set_env("PLUGBOARD_TEST_POSTGRES", "not a setting");
            jail.set_env("PLUGBOARD_TEST_REDIS", "not a setting either");
            jail.set_env("PLUGBOARD_CONFIG", "not a setting either");
            let c = Config::load(Some(Path::new("plugboard.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.default_region, "CN");
            assert_eq!(c.http.listen.port(), 9000);
            assert_eq!(c.auth.login_per_minute, 99);
            assert_eq!(c.chat.default_queue, "Support");
            assert_eq!(c.database_url(), "sqlite://plugboard-data/plugboard.db");
            assert_eq!(c.redis_url, None);
            assert_eq!(c.http.metrics_listen, None, "metrics are served only when asked");
            jail.set_env("PLUGBOARD_REDIS_URL", "redis://127.0.0.1:6379");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
            Ok(())
        });
    }

    /// deploy/plugboard.toml is what operators copy: it must load as it is, every key a setting.
    #[test]
    fn the_production_example_loads() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/plugboard.toml");
        let c = Config::load(Some(&example)).expect("deploy/plugboard.toml");
        assert!(c.database_url().starts_with("postgres://"));
        assert_eq!(
            c.http.trusted_proxies,
            ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
        );
        assert!(c.http.metrics_listen.is_some_and(|a| a.ip().is_loopback()));
        assert!(c.sip.listen.is_some() && c.sip.media_ip.is_some());
        assert_eq!(c.sip.menus["+15550200"]["2"], "Support");
    }

    #[test]
    fn unknown_settings_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[http]\nlisen = \"1.2.3.4:5\"\n")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            Ok(())
        });
    }
}
