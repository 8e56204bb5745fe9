//! The SIP service: one framed message in, at most one response out, plus whatever the B2BUA
//! decided ([`SipService::take_actions`]). The transport ([`crate::server`]) hands every message
//! it receives here with its source address and the time; this module runs it through the server
//! transactions, validates it, and answers OPTIONS, REGISTER (digest challenge, [`crate::digest`],
//! then the [`crate::registrar`] table), lets INVITEs in (a trunk address, or digest credentials)
//! and hands calls to the [`crate::b2bua`]. Pure: no sockets, no clock, no randomness of its own
//! (the shell passes them in).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::b2bua::{
    Action, B2bua, B2buaConfig, CallCommand, CallId, Destination, KeysRefused, Listener, MediaPorts,
};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::digest::{self, Algorithm, AuthError, Credentials, DigestAuth, Secret};
use crate::limiter::{AuthLimiter, LimiterConfig};
use crate::message::{self, Method, ParseError, ResponseBuilder, SipMessage, SipRequest};
use crate::registrar::{
    BindingChange, ContactView, Flow, RegisterOutcome, RegisterRequest, Registrar, RegistrarConfig,
};
use crate::transaction::{Lookup, ServerTransactions, TransactionKey};

/// What an agent's phone authenticates with. The directory hands out HA1 values (one per digest
/// algorithm), not passwords: the hub then never has to store a SIP password in clear, and an HA1
/// that leaks opens this realm only, not the user's other accounts (RFC 7616 §5.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCredentials {
    pub username: String,
    /// The realm the HA1 values were computed for; a phone of another realm cannot log in here.
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

impl PhoneCredentials {
    pub fn from_password(username: &str, realm: &str, password: &str) -> Self {
        PhoneCredentials {
            username: username.to_owned(),
            realm: realm.to_owned(),
            ha1_md5: digest::ha1(Algorithm::Md5, username, realm, password),
            ha1_sha256: digest::ha1(Algorithm::Sha256, username, realm, password),
        }
    }

    fn ha1(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.ha1_md5,
            Algorithm::Sha256 => &self.ha1_sha256,
        }
    }
}

/// Where phone accounts come from; the hub implements it over its agents (a phone belongs to an
/// agent account). Called with the digest `username`, which is also the user part of the phone's
/// address-of-record.
pub trait PhoneDirectory: Send + Sync {
    fn credentials(&self, user: &str) -> Option<PhoneCredentials>;

    /// Told of every change to the registrar's bindings, in order, as it happens (under the
    /// service's lock: it must not block). The hub records them where its other nodes can see
    /// them, so a phone registered through one node can be rung from any.
    fn bindings_changed(&self, change: BindingChange) {
        let _ = change;
    }
}

/// A fixed directory, for tests and for running the connector alone.
#[derive(Debug, Default, Clone)]
pub struct InMemoryDirectory {
    phones: HashMap<String, PhoneCredentials>,
}

impl InMemoryDirectory {
    pub fn with_phone(mut self, username: &str, realm: &str, password: &str) -> Self {
        self.phones.insert(
            username.to_owned(),
            PhoneCredentials::from_password(username, realm, password),
        );
        self
    }
}

impl PhoneDirectory for InMemoryDirectory {
    fn credentials(&self, user: &str) -> Option<PhoneCredentials> {
        self.phones.get(user).cloned()
    }
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The digest realm phones authenticate in.
    pub realm: String,
    pub registrar: RegistrarConfig,
    pub limiter: LimiterConfig,
    /// How long a nonce stays good before a phone is asked again with `stale=true`.
    pub nonce_lifetime: Duration,
    /// The digest algorithms offered, one `WWW-Authenticate` each, in this order. RFC 8760 §2.4
    /// puts the preferred first, hence SHA-256 then MD5 by default; but some phones (and sipp
    /// 3.6) answer the first challenge whatever it is and know only MD5, so a site with such
    /// phones lists MD5 first. Credentials with an algorithm not listed are challenged again.
    pub algorithms: Vec<Algorithm>,
    /// Addresses whose INVITEs are let in without digest credentials (the carriers' trunks):
    /// over TCP or TLS, whose handshake proves the address, and over UDP only with
    /// [`ServiceConfig::trust_trunks_over_udp`].
    pub trunks: Vec<IpAddr>,
    /// Let trunks in by their UDP source address too. One forged datagram carries any source
    /// address, so this is for a network nobody else can send to (Kamailio's private side);
    /// elsewhere a trunk uses TCP or digest credentials.
    pub trust_trunks_over_udp: bool,
    /// Dialled numbers and where they lead; anything else is 404.
    pub numbers: HashMap<String, Destination>,
    /// The address in our SDP; the SIP listening address when unset. It may be one this machine
    /// does not have (the public side of a 1:1 NAT): RTP then opens on the listening address.
    pub media_ip: Option<IpAddr>,
    /// The carrier's trunk for click-to-call; none: no outbound calls.
    pub outbound: Option<SocketAddr>,
    /// The most calls held at once; beyond it a new caller gets 503 with Retry-After.
    pub max_calls: usize,
    /// Where the TLS listener is, when there is one: our Via and Contact on TLS legs.
    pub tls: Option<SocketAddr>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            realm: "plugboard".into(),
            registrar: RegistrarConfig::default(),
            limiter: LimiterConfig::default(),
            nonce_lifetime: Duration::from_secs(300),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            trunks: Vec::new(),
            trust_trunks_over_udp: false,
            numbers: HashMap::new(),
            media_ip: None,
            outbound: None,
            max_calls: 800,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    /// TCP with TLS over it (RFC 3261 §26.2): the one transport on which SRTP keys may be
    /// exchanged (RFC 4568 §8.3).
    Tls,
}

impl Transport {
    /// A connection, not datagrams: no retransmissions (§17.1.1.2), and requests to the peer go
    /// on the connection it opened (RFC 5626 §5.3).
    pub fn reliable(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// As a Via names it (RFC 3261 §20.42).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// What the shell does with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Reply(Vec<u8>),
    /// Nothing to send (an ACK, a stray response).
    Nothing,
    /// Not SIP at all: dropped on UDP, the connection closed on TCP (RFC 3261 §18.3).
    Unparseable,
}

/// The clock readings and randomness one call needs, so the service stays deterministic.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub source: SocketAddr,
    pub transport: Transport,
    /// For timers (transactions, bindings, the limiter).
    pub now: Instant,
    /// For nonces, which carry their issue time.
    pub wall: SystemTime,
    /// Fresh random bits: the nonce salt and the To tag.
    pub entropy: u64,
}

/// Methods answered here, for `Allow` (RFC 3261 §20.5).
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO";

/// The Flow-Timer of RFC 5626 §4.4.1 we give phones on outbound flows: how often they send a
/// CRLF keep-alive, within the 95-120 s that keeps a NAT's TCP mapping open.
const FLOW_TIMER_SECS: u32 = 120;

pub struct SipService {
    directory: Arc<dyn PhoneDirectory>,
    auth: DigestAuth,
    algorithms: Vec<Algorithm>,
    registrar: Registrar,
    transactions: ServerTransactions,
    limiter: AuthLimiter,
    trunks: Vec<IpAddr>,
    trust_trunks_over_udp: bool,
    b2bua: B2bua,
    ports: Box<dyn MediaPorts>,
    /// Timer G's retransmissions, handed out with the B2BUA's actions.
    resends: Vec<Action>,
}

impl SipService {
    /// `nonce_key` signs nonces; random at each start is fine. `local` is where the transport
    /// listens (for Via and Contact); `ports` binds RTP ports for new calls.
    pub fn new(
        config: ServiceConfig,
        directory: Arc<dyn PhoneDirectory>,
        nonce_key: &[u8],
        local: SocketAddr,
        ports: Box<dyn MediaPorts>,
    ) -> Self {
        SipService {
            directory,
            auth: DigestAuth::new(config.realm, nonce_key, config.nonce_lifetime),
            algorithms: config.algorithms,
            registrar: Registrar::new(config.registrar),
            transactions: ServerTransactions::default(),
            limiter: AuthLimiter::new(config.limiter),
            trunks: config.trunks,
            trust_trunks_over_udp: config.trust_trunks_over_udp,
            b2bua: B2bua::new(B2buaConfig {
                numbers: config.numbers,
                local,
                tls: config.tls,
                media_ip: config.media_ip.unwrap_or(local.ip()),
                outbound: config.outbound,
                max_calls: config.max_calls,
            }),
            ports,
            resends: Vec::new(),
        }
    }

    /// What the B2BUA decided since the last call: datagrams, events, media commands.
    pub fn take_actions(&mut self) -> Vec<Action> {
        let mut actions = self.b2bua.take_actions();
        actions.append(&mut self.resends);
        actions
    }

    /// A command of the hub's. An agent's phone is rung back on the flow it registered on,
    /// which only this registrar knows (the hub names the phone by its Contact).
    pub fn command(&mut self, command: CallCommand, now: Instant, entropy: u64) {
        match command {
            CallCommand::Ring {
                call,
                contacts,
                record,
            } => {
                let targets: Vec<_> = contacts
                    .into_iter()
                    .map(|contact| {
                        let flow = self.registrar.flow_of(&contact, now);
                        (contact, flow)
                    })
                    .collect();
                self.b2bua
                    .ring(call, &targets, record, now, entropy, &mut *self.ports);
            }
            CallCommand::AddParty { call, listener, mode } => {
                let flow = match &listener {
                    Listener::Phone(contact) => self.registrar.flow_of(contact, now),
                    Listener::Leg(_) => None,
                };
                self.b2bua
                    .add_party(call, listener, flow, mode, now, entropy, &mut *self.ports);
            }
            command => self.b2bua.command(command, now, entropy, &mut *self.ports),
        }
    }

    /// A TCP or TLS connection ended, for whatever reason. The bindings registered with outbound
    /// on it go (RFC 5626 §5.4). Its peer is out of reach (RFC 3261 §17.1.4): what was still
    /// queued for it never reaches it, and an INVITE written to it but not answered at all never
    /// will be on this connection, so such a ring fails now rather than at Timer B.
    pub fn connection_closed(&mut self, flow: Flow, now: Instant) {
        self.registrar.flow_failed(flow);
        self.report_changes();
        self.b2bua.unreachable(flow.source, now);
    }

    /// The shell could not reach `to` over TCP or TLS: what we were sending there failed.
    pub fn unreachable(&mut self, to: SocketAddr, now: Instant) {
        self.b2bua.unreachable(to, now);
    }

    /// Click-to-call (see [`B2bua::dial`]).
    pub fn dial(
        &mut self,
        contact: &str,
        number: &str,
        record: Option<std::path::PathBuf>,
        now: Instant,
        entropy: u64,
    ) -> Option<CallId> {
        let flow = self.registrar.flow_of(contact, now);
        self.b2bua
            .dial(contact, flow, number, record, now, entropy, &mut *self.ports)
    }

    /// Click-to-call from a browser (see [`B2bua::dial_from_browser`]).
    pub fn dial_from_browser(&mut self, number: &str, entropy: u64) -> Option<CallId> {
        self.b2bua.dial_from_browser(number, entropy, &mut *self.ports)
    }

    /// The agent's keys to the customer (see [`B2bua::send_keys`]).
    pub fn send_keys(&mut self, call: CallId, events: Vec<u8>) -> Result<(), KeysRefused> {
        self.b2bua.send_keys(call, events)
    }

    pub fn digit(&mut self, call: CallId, key: char, now: Instant) {
        self.b2bua.digit(call, key, now);
    }

    /// Calls in progress.
    pub fn calls(&self) -> usize {
        self.b2bua.calls()
    }

    /// See [`B2bua::attachable`].
    pub fn attachable(&self, call: CallId) -> Option<(crate::g711::Codec, u16)> {
        self.b2bua.attachable(call)
    }

    /// See [`B2bua::party_port_for`].
    pub fn party_port_for(&mut self, call: CallId) -> Option<(crate::g711::Codec, u16)> {
        self.b2bua.party_port_for(call, &mut *self.ports)
    }

    pub fn handle(&mut self, bytes: &[u8], cx: Context) -> Outcome {
        let request = match message::parse(bytes) {
            Ok(SipMessage::Request(r)) => r,
            Ok(SipMessage::Response(r)) => {
                self.b2bua.response(&r, cx);
                return Outcome::Nothing;
            }
            Err(ParseError::NotSip(_)) => return Outcome::Unparseable,
        };
        let key = TransactionKey::of(&request);
        let is_ack = request.method == Method::Ack;
        match self.transactions.lookup(&key, is_ack, cx.now) {
            Lookup::Retransmission(response) => return Outcome::Reply(response),
            Lookup::Absorbed => return Outcome::Nothing,
            Lookup::New => {}
        }
        // §17.2.1 / §8.2: an ACK is never answered; one for a 2xx belongs to its dialog.
        if is_ack {
            self.b2bua.in_dialog(&request, cx);
            return Outcome::Nothing;
        }
        let tag = format!("{:016x}", cx.entropy);
        let response = self.respond(&request, cx, &tag);
        let bytes = response.build(&request, &tag);
        // §17.2.1: an INVITE's final error is sent again until its ACK (Timer G).
        let resend = (request.method == Method::Invite && response.status() >= 300).then_some(cx.source);
        self.transactions
            .completed(key, bytes.clone(), cx.transport.reliable(), cx.now, resend);
        Outcome::Reply(bytes)
    }

    fn respond(&mut self, request: &SipRequest, cx: Context, tag: &str) -> ResponseBuilder {
        // RFC 3261 §21.4.1 (400) for what §8.1.1 requires; the reason phrase says what was wrong.
        if let Err(e) = request.validate() {
            return ResponseBuilder::new(400, e.to_string());
        }
        // §8.2.1: a method we do not know is 501; one we know but do not serve is 405 with Allow.
        match request.method {
            Method::Other(_) => return ResponseBuilder::new(501, "Not Implemented").header("Allow", ALLOW),
            Method::Message
            | Method::Notify
            | Method::Prack
            | Method::Publish
            | Method::Refer
            | Method::Subscribe => {
                return ResponseBuilder::new(405, "Method Not Allowed").header("Allow", ALLOW);
            }
            _ => {}
        }
        // §8.2.2.3: of the extensions, we support only session timers (RFC 4028), so any other
        // in Require is refused (never for CANCEL).
        let unsupported: Vec<&str> = request
            .headers
            .all("Require")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|o| !o.is_empty() && !o.eq_ignore_ascii_case("timer"))
            .collect();
        if request.method != Method::Cancel && !unsupported.is_empty() {
            return ResponseBuilder::new(420, "Bad Extension").header("Unsupported", unsupported.join(", "));
        }
        // A request inside a call's dialog (BYE, ACK, re-INVITE...) or a CANCEL of its INVITE.
        if (request.to_tag().is_some() || request.method == Method::Cancel)
            && let Some(response) = self.b2bua.in_dialog(request, cx)
        {
            return response;
        }
        match request.method {
            // §11.2: what we would accept for a request of the same kind.
            Method::Options => ResponseBuilder::new(200, "OK")
                .header("Allow", ALLOW)
                .header("Accept", "application/sdp")
                .header("Accept-Encoding", "identity")
                .header("Supported", "timer, outbound"),
            Method::Register => self.register(request, cx),
            // §12.2.2: a re-INVITE of a dialog we do not have.
            Method::Invite if request.to_tag().is_some() => {
                ResponseBuilder::new(481, "Call/Transaction Does Not Exist")
            }
            Method::Invite => self.invite(request, cx, tag),
            // No INVITE transaction or dialog for these to refer to (§9.2, §15.1.2).
            Method::Cancel | Method::Bye | Method::Info | Method::Update => {
                ResponseBuilder::new(481, "Call/Transaction Does Not Exist")
            }
            _ => ResponseBuilder::new(500, "Server Internal Error"),
        }
    }

    /// 401 with `WWW-Authenticate` for a REGISTER, 407 with `Proxy-Authenticate` for an INVITE
    /// (RFC 3261 §22.3).
    fn challenge(&self, cx: Context, stale: bool, method: &Method) -> ResponseBuilder {
        // One nonce for every algorithm offered (RFC 7616 §3.7).
        let nonce = self.auth.nonce(cx.wall, cx.entropy.to_be_bytes());
        let (mut response, header) = match method {
            Method::Register => (ResponseBuilder::new(401, "Unauthorized"), "WWW-Authenticate"),
            _ => (
                ResponseBuilder::new(407, "Proxy Authentication Required"),
                "Proxy-Authenticate",
            ),
        };
        for algorithm in &self.algorithms {
            response = response.header(header, self.auth.challenge(*algorithm, &nonce, stale));
        }
        response
    }

    /// Whether a request comes from a trunk: its address, proven by the TCP handshake (under TLS
    /// too), or taken on trust over UDP when the settings say so.
    fn is_trunk(&self, cx: Context) -> bool {
        self.trunks.contains(&cx.source.ip()) && (cx.transport.reliable() || self.trust_trunks_over_udp)
    }

    /// A new call: from a trunk, or with the digest credentials of a phone or trunk account (the
    /// same limiter as for REGISTER); then the B2BUA answers it.
    fn invite(&mut self, request: &SipRequest, cx: Context, tag: &str) -> ResponseBuilder {
        let ip = cx.source.ip();
        if !self.is_trunk(cx) {
            if let Some(wait) = self.limiter.blocked_for(ip, cx.now) {
                return ResponseBuilder::new(503, "Service Unavailable")
                    .header("Retry-After", (wait.as_secs() + 1).to_string());
            }
            let Some(authorization) = request.header("Proxy-Authorization") else {
                return self.challenge(cx, false, &request.method);
            };
            let Ok(credentials) = Credentials::parse(authorization) else {
                self.limiter.failed(ip, cx.now);
                return ResponseBuilder::new(400, "Bad Proxy-Authorization header");
            };
            if let Err(refusal) = self.authenticate(&credentials, request, None, cx) {
                return refusal;
            }
        }
        self.b2bua.invite(request, cx, tag, &mut *self.ports)
    }

    /// RFC 3261 §10.3: authenticate (steps 3 and 4), find the AOR (step 5), then the bindings
    /// table (steps 6 to 8).
    fn register(&mut self, request: &SipRequest, cx: Context) -> ResponseBuilder {
        let ip = cx.source.ip();
        if let Some(wait) = self.limiter.blocked_for(ip, cx.now) {
            // §21.5.4: 503 with Retry-After tells a legitimate phone behind the same address when
            // to come back; no digest work is done for a blocked address.
            return ResponseBuilder::new(503, "Service Unavailable")
                .header("Retry-After", (wait.as_secs() + 1).to_string());
        }
        let Some(aor) = request.header("To").and_then(message::address_of_record) else {
            return ResponseBuilder::new(400, "Bad To header");
        };
        let Some(authorization) = request.header("Authorization") else {
            return self.challenge(cx, false, &request.method);
        };
        let Ok(credentials) = Credentials::parse(authorization) else {
            self.limiter.failed(ip, cx.now);
            return ResponseBuilder::new(400, "Bad Authorization header");
        };
        if let Err(refusal) = self.authenticate(&credentials, request, Some(&aor), cx) {
            return refusal;
        }

        let contacts = match message::contacts(request) {
            Ok(c) => c,
            Err(e) => return ResponseBuilder::new(400, e.to_string()),
        };
        let expires = match message::expires(request) {
            Ok(e) => e,
            Err(e) => return ResponseBuilder::new(400, e.to_string()),
        };
        let cseq = request.cseq().map_or(0, |(n, _)| n);
        // The phone's own connection, unless a proxy stands between (RFC 5626 §5.3 applies to
        // the first hop only).
        let flow = (request.headers.all("Via").flat_map(message::split_list).count() == 1).then_some(Flow {
            source: cx.source,
            transport: cx.transport,
        });
        // RFC 5626 §6: outbound where the phone supports it and reaches us straight over TCP or
        // TLS (its keep-alives are CRLFs there; we answer no STUN on UDP).
        let outbound = flow.is_some_and(|f| f.transport.reliable())
            && request
                .headers
                .all("Supported")
                .chain(request.headers.all("k"))
                .flat_map(|v| v.split(','))
                .any(|o| o.trim().eq_ignore_ascii_case("outbound"));
        let bound_to_flow = outbound && contacts.iter().any(|c| c.reg_id);
        let outcome = self.registrar.handle(
            &RegisterRequest {
                aor,
                contacts,
                expires,
                call_id: request.call_id().to_owned(),
                cseq,
                flow,
                outbound,
            },
            cx.now,
        );
        self.report_changes();
        match outcome {
            RegisterOutcome::Ok { bindings } => {
                let mut response = ResponseBuilder::new(200, "OK");
                for binding in bindings {
                    response = response.header("Contact", contact_value(&binding));
                }
                if bound_to_flow {
                    // The phone keeps the flow alive with a CRLF this often and registers again
                    // on a new one when it fails; we drop its binding when the connection closes.
                    response = response
                        .header("Require", "outbound")
                        .header("Flow-Timer", FLOW_TIMER_SECS.to_string());
                }
                response
            }
            RegisterOutcome::IntervalTooBrief { min_expires } => {
                ResponseBuilder::new(423, "Interval Too Brief").header("Min-Expires", min_expires.to_string())
            }
            RegisterOutcome::Invalid(reason) => ResponseBuilder::new(400, reason),
            RegisterOutcome::OutOfOrder => ResponseBuilder::new(500, "Request Out Of Order"),
        }
    }

    /// RFC 3261 §22.4 and §10.3 steps 3-4. A wrong password, an unknown user and a user that does
    /// not own the AOR all get 403, alike, so the answer does not tell which accounts exist; the
    /// phone has already been challenged once, and §22.2 tells it not to retry the same
    /// credentials, so another 401 would only make it loop or prompt. A nonce we cannot use
    /// (expired, foreign, replayed) gets a fresh 401 challenge instead: the password may be right.
    fn authenticate(
        &mut self,
        credentials: &Credentials,
        request: &SipRequest,
        aor: Option<&str>,
        cx: Context,
    ) -> Result<(), ResponseBuilder> {
        let ip = cx.source.ip();
        let forbidden = || ResponseBuilder::new(403, "Forbidden");
        if !self.algorithms.contains(&credentials.algorithm) {
            return Err(self.challenge(cx, false, &request.method));
        }
        let account = self
            .directory
            .credentials(&credentials.username)
            .filter(|a| a.realm == self.auth.realm() && a.username == credentials.username);
        let Some(account) = account else {
            self.limiter.failed(ip, cx.now);
            return Err(forbidden());
        };
        let secret = Secret::Ha1(account.ha1(credentials.algorithm));
        match self
            .auth
            .verify(credentials, request.method.as_str(), secret, cx.wall)
        {
            Ok(()) => {}
            Err(AuthError::WrongResponse) => {
                self.limiter.failed(ip, cx.now);
                return Err(forbidden());
            }
            Err(AuthError::Stale) => return Err(self.challenge(cx, true, &request.method)),
            Err(
                AuthError::ForeignNonce
                | AuthError::WrongRealm(_)
                | AuthError::Replay { .. }
                | AuthError::QopRequired,
            ) => return Err(self.challenge(cx, false, &request.method)),
        }
        // §10.3 step 4: the authenticated user may change the bindings of its own AOR only.
        if aor.is_some_and(|aor| message::aor_user(aor) != credentials.username) {
            return Err(forbidden());
        }
        Ok(())
    }

    /// Timers: bindings that lapsed (returned as (AOR, contact) so the hub can mark the phone
    /// gone), Timer J, nonce counts of expired nonces, ended limiter windows.
    pub fn tick(&mut self, now: Instant, wall: SystemTime) -> Vec<(String, String)> {
        self.b2bua.tick(now);
        self.resends.extend(
            self.transactions
                .due(now)
                .into_iter()
                .map(|(to, bytes)| Action::Send {
                    to,
                    transport: Transport::Udp,
                    bytes,
                }),
        );
        self.transactions.expire(now);
        self.auth.purge(wall);
        self.limiter.purge(now);
        let lapsed = self.registrar.expire(now);
        self.report_changes();
        lapsed
    }

    /// Hands the registrar's changes to the directory, in order.
    fn report_changes(&mut self) {
        for change in self.registrar.take_changes() {
            self.directory.bindings_changed(change);
        }
    }

    /// Where `aor` can be reached now.
    pub fn lookup(&self, aor: &str, now: Instant) -> Vec<ContactView> {
        self.registrar.lookup(aor, now)
    }

    /// Where the phone account `user` can be reached now.
    pub fn lookup_user(&self, user: &str, now: Instant) -> Vec<ContactView> {
        self.registrar.lookup_user(user, now)
    }
}

/// A binding as a 200 OK lists it (RFC 3261 §10.3 step 8).
fn contact_value(binding: &ContactView) -> String {
    let mut value = format!("{}{};expires={}", binding.uri, binding.params, binding.expires);
    if let Some(q) = binding.q {
        value.push_str(&format!(";q={}.{:03}", q / 1000, q % 1000));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const REALM: &str = "plugboard";

    fn service(max_failures: u32) -> SipService {
        let directory = InMemoryDirectory::default()
            .with_phone("1001", REALM, "s3cret")
            .with_phone("1002", REALM, "other");
        SipService::new(
            ServiceConfig {
                limiter: LimiterConfig {
                    max_failures,
                    window: Duration::from_secs(60),
                },
                ..ServiceConfig::default()
            },
            Arc::new(directory),
            b"test key",
            "127.0.0.1:5060".parse().unwrap(),
            Box::new(crate::b2bua::tests::Ports::default()),
        )
    }

    fn cx(source: &str, t0: Instant, secs: u64, entropy: u64) -> Context {
        Context {
            source: source.parse().unwrap(),
            transport: Transport::Udp,
            now: t0 + Duration::from_secs(secs),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs),
            entropy,
        }
    }

    fn register(user: &str, branch: &str, cseq: u32, extra: &str) -> String {
        format!(
            "REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n\
             From: <sip:{user}@pbx>;tag=f\r\nTo: <sip:{user}@pbx>\r\nCall-ID: reg-{user}\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@192.0.2.1:5060>\r\n{extra}Content-Length: 0\r\n\r\n"
        )
    }

    fn status(outcome: &Outcome) -> (u16, String) {
        let Outcome::Reply(bytes) = outcome else {
            panic!("no reply: {outcome:?}");
        };
        let text = String::from_utf8(bytes.clone()).unwrap();
        (text[8..11].parse().unwrap(), text)
    }

    /// The nonce of the SHA-256 challenge in a 401.
    fn nonce(text: &str) -> String {
        let start = text.find("nonce=\"").unwrap() + 7;
        text[start..].split('"').next().unwrap().to_owned()
    }

    fn authorization(user: &str, password: &str, nonce: &str, nc: u32) -> String {
        let alg = Algorithm::Sha256;
        let ha1 = digest::ha1(alg, user, REALM, password);
        let nc_text = format!("{nc:08x}");
        let count = digest::NonceCount::parse(&nc_text).unwrap();
        let response = digest::request_digest(alg, &ha1, nonce, Some((&count, "cn")), "REGISTER", "sip:pbx");
        format!(
            "Authorization: Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", \
             uri=\"sip:pbx\", response=\"{response}\", algorithm=SHA-256, qop=auth, nc={nc_text}, cnonce=\"cn\"\r\n"
        )
    }

    #[test]
    fn register_flow() {
        let t0 = Instant::now();
        let mut s = service(10);
        let phone = "192.0.2.1:5060";

        let (code, text) = status(&s.handle(
            register("1001", "z9hG4bK1", 1, "").as_bytes(),
            cx(phone, t0, 0, 1),
        ));
        assert_eq!(code, 401);
        assert!(
            text.contains("algorithm=SHA-256") && text.contains("algorithm=MD5"),
            "{text}"
        );
        let n = nonce(&text);

        let ok = register("1001", "z9hG4bK2", 2, &authorization("1001", "s3cret", &n, 1));
        let (code, text) = status(&s.handle(ok.as_bytes(), cx(phone, t0, 1, 2)));
        assert_eq!(code, 200, "{text}");
        assert!(
            text.contains("Contact: <sip:1001@192.0.2.1:5060>;expires=3600\r\n"),
            "{text}"
        );
        assert_eq!(s.lookup("sip:1001@pbx", t0).len(), 1);

        // A retransmission of the same request gets the same answer and changes nothing.
        let (code, again) = status(&s.handle(ok.as_bytes(), cx(phone, t0, 2, 3)));
        assert_eq!((code, &again), (200, &text));

        // The same nonce count again is a replay: new challenge, not 403.
        let replay = register("1001", "z9hG4bK3", 3, &authorization("1001", "s3cret", &n, 1));
        assert_eq!(status(&s.handle(replay.as_bytes(), cx(phone, t0, 3, 4))).0, 401);

        // A valid user may not register another user's AOR.
        let theft = register("1002", "z9hG4bK4", 1, &authorization("1001", "s3cret", &n, 2));
        assert_eq!(status(&s.handle(theft.as_bytes(), cx(phone, t0, 4, 5))).0, 403);

        let wrong = register("1001", "z9hG4bK5", 4, &authorization("1001", "guess", &n, 3));
        assert_eq!(status(&s.handle(wrong.as_bytes(), cx(phone, t0, 5, 6))).0, 403);
        let unknown = register("9999", "z9hG4bK6", 1, &authorization("9999", "guess", &n, 4));
        assert_eq!(status(&s.handle(unknown.as_bytes(), cx(phone, t0, 6, 7))).0, 403);

        // Too brief, then un-REGISTER.
        let brief = register(
            "1001",
            "z9hG4bK7",
            5,
            &format!("Expires: 10\r\n{}", authorization("1001", "s3cret", &n, 5)),
        );
        let (code, text) = status(&s.handle(brief.as_bytes(), cx(phone, t0, 7, 8)));
        assert_eq!(code, 423);
        assert!(text.contains("Min-Expires: 60\r\n"), "{text}");
        let remove = register(
            "1001",
            "z9hG4bK8",
            6,
            &format!("Expires: 0\r\n{}", authorization("1001", "s3cret", &n, 6)),
        );
        let (code, text) = status(&s.handle(remove.as_bytes(), cx(phone, t0, 8, 9)));
        assert_eq!(code, 200);
        assert!(!text.contains("Contact:"), "{text}");
        assert!(s.lookup("sip:1001@pbx", t0 + Duration::from_secs(8)).is_empty());
    }

    /// A phone's Contact comes back in the 200 OK with every parameter it sent (RFC 5626 §6:
    /// the instance and reg-id tell the phone its flow is registered), its own expires applied.
    #[test]
    fn a_real_phones_contact_comes_back_intact() {
        let t0 = Instant::now();
        let mut s = service(10);
        let phone = "192.0.2.1:5060";
        let contact = "Contact: <sip:1001@192.0.2.1:5060>\r\n";
        let linphone = "Contact: <sip:1001@192.0.2.1:40312;transport=udp>;+sip.instance=\"<urn:uuid:5b1a-42>\";reg-id=1;+sip.ice;expires=600;+org.linphone.specs=\"lime;v=1\"\r\n";
        let (_, text) = status(
            &s.handle(
                register("1001", "z9hG4bK1", 1, "")
                    .replace(contact, linphone)
                    .as_bytes(),
                cx(phone, t0, 0, 1),
            ),
        );
        let ok = register(
            "1001",
            "z9hG4bK2",
            2,
            &authorization("1001", "s3cret", &nonce(&text), 1),
        )
        .replace(contact, linphone);
        let (code, text) = status(&s.handle(ok.as_bytes(), cx(phone, t0, 1, 2)));
        assert_eq!(code, 200, "{text}");
        assert!(
            text.contains(
                "Contact: <sip:1001@192.0.2.1:40312;transport=udp>;+sip.instance=\"<urn:uuid:5b1a-42>\";reg-id=1;+sip.ice;+org.linphone.specs=\"lime;v=1\";expires=600\r\n"
            ),
            "{text}"
        );
    }

    /// RFC 5626 outbound: a phone that supports it, registering straight over TCP (or TLS) with a
    /// contact naming its flow, is told `Require: outbound` and how often to keep the flow alive;
    /// its binding goes when the connection closes. Over UDP (we answer no STUN), through a proxy,
    /// or from a phone that did not ask, nothing of it; those bindings outlive their connection.
    #[test]
    fn outbound_binds_a_phone_to_its_connection() {
        let contact = "Contact: <sip:1001@192.0.2.1:5060>\r\n";
        let flowed = "Contact: <sip:1001@192.0.2.1:40312;transport=tcp>;+sip.instance=\"<urn:uuid:5b1a-42>\";reg-id=1\r\n";
        let rows = [
            (
                "TCP, Supported: outbound",
                Transport::Tcp,
                "Supported: path, outbound\r\n",
                1,
                true,
            ),
            ("TLS, compact k:", Transport::Tls, "k: outbound\r\n", 1, true),
            ("UDP", Transport::Udp, "Supported: outbound\r\n", 1, false),
            ("TCP, not asked", Transport::Tcp, "Supported: path\r\n", 1, false),
            (
                "TCP, through a proxy",
                Transport::Tcp,
                "Supported: outbound\r\n",
                2,
                false,
            ),
        ];
        for (n, (what, transport, supported, vias, bound)) in rows.into_iter().enumerate() {
            let t0 = Instant::now();
            let mut s = service(10);
            let phone = "192.0.2.1:40312";
            let at = |secs: u64, entropy: u64| Context {
                transport,
                ..cx(phone, t0, secs, entropy)
            };
            let proxy = if vias == 2 {
                "Via: SIP/2.0/TCP 198.51.100.9;branch=z9hG4bKproxy\r\n"
            } else {
                ""
            };
            let request = |branch: &str, cseq: u32, extra: &str| {
                register("1001", branch, cseq, &format!("{supported}{extra}"))
                    .replace(contact, flowed)
                    .replacen("Via:", &format!("{proxy}Via:"), 1)
            };
            let (_, text) = status(&s.handle(request("z9hG4bK1", 1, "").as_bytes(), at(0, 1)));
            let auth = authorization("1001", "s3cret", &nonce(&text), 1);
            let (code, text) = status(&s.handle(request("z9hG4bK2", 2, &auth).as_bytes(), at(1, 2)));
            assert_eq!(code, 200, "{what}: {text}");
            assert_eq!(text.contains("Require: outbound\r\n"), bound, "{what}: {text}");
            assert_eq!(text.contains("Flow-Timer: 120\r\n"), bound, "{what}: {text}");
            s.registrar.take_changes();
            s.connection_closed(
                Flow {
                    source: phone.parse().unwrap(),
                    transport,
                },
                t0,
            );
            let left = s.lookup("sip:1001@pbx", t0 + Duration::from_secs(2)).len();
            assert_eq!(left, usize::from(!bound), "row {n}, {what}");
        }
    }

    /// A trunk's address lets its INVITE in over TCP or TLS; over UDP, where the source address is
    /// forged with one datagram, only when the settings say so. Otherwise it is challenged.
    #[test]
    fn a_trunk_is_trusted_by_its_tcp_or_tls_address_and_by_udp_only_when_told_to() {
        let t0 = Instant::now();
        let invite = "INVITE sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKt{n}\r\n\
             From: <sip:+15550100@carrier>;tag=c\r\nTo: <sip:100@pbx>\r\nCall-ID: t{n}\r\n\
             CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let rows = [
            ("UDP, by default", Transport::Udp, false, 407),
            ("TCP", Transport::Tcp, false, 404),
            ("TLS", Transport::Tls, false, 404),
            ("UDP, trusted by the settings", Transport::Udp, true, 404),
        ];
        for (n, (what, transport, trust, want)) in rows.into_iter().enumerate() {
            let mut s = SipService::new(
                ServiceConfig {
                    trunks: vec!["203.0.113.5".parse().unwrap()],
                    trust_trunks_over_udp: trust,
                    ..ServiceConfig::default()
                },
                Arc::new(InMemoryDirectory::default()),
                b"test key",
                "127.0.0.1:5060".parse().unwrap(),
                Box::new(crate::b2bua::tests::Ports::default()),
            );
            let cx = Context {
                transport,
                ..cx("203.0.113.5:5060", t0, 0, n as u64)
            };
            let request = invite.replace("{n}", &n.to_string());
            // 404: let in, and the B2BUA knows no number 100 here.
            assert_eq!(status(&s.handle(request.as_bytes(), cx)).0, want, "{what}");
        }
    }

    const SDP: &str = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";

    /// The request of `method` among the actions, with where and how it goes.
    fn sent(actions: &[Action], method: &str) -> (SocketAddr, Transport, String) {
        actions
            .iter()
            .find_map(|a| match a {
                Action::Send { to, transport, bytes } if bytes.starts_with(method.as_bytes()) => {
                    Some((*to, *transport, String::from_utf8(bytes.clone()).unwrap()))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {method} in {actions:?}"))
    }

    /// An agent's phone is rung the way it registered (RFC 5626 §5.3, RFC 3261 §18): over the
    /// TCP connection its REGISTER came on, whatever port its Contact names; over TCP to its
    /// Contact when that says `transport=tcp` and the flow is not ours (it registered through
    /// another node, or a proxy); over UDP otherwise. Our Via and Contact name the transport, and
    /// the ACK of its answer goes the same way.
    #[test]
    fn an_agents_phone_is_rung_over_the_transport_it_registered_on() {
        let tcp_contact = "<sip:1001@192.0.2.1:5062;transport=tcp>";
        let rows = [
            (
                "registered over TCP",
                Transport::Tcp,
                "",
                tcp_contact,
                ("192.0.2.1:40001", Transport::Tcp),
            ),
            (
                "over TCP through a proxy",
                Transport::Tcp,
                "Via: SIP/2.0/TCP 192.0.2.99;branch=z9hG4bKproxy\r\n",
                tcp_contact,
                ("192.0.2.1:5062", Transport::Tcp),
            ),
            (
                "over UDP, Contact says TCP",
                Transport::Udp,
                "",
                tcp_contact,
                ("192.0.2.1:5062", Transport::Tcp),
            ),
            (
                "over UDP",
                Transport::Udp,
                "",
                "<sip:1001@192.0.2.1:5062>",
                ("192.0.2.1:5062", Transport::Udp),
            ),
            (
                "registered over TLS",
                Transport::Tls,
                "",
                "<sip:1001@192.0.2.1:5063;transport=tls>",
                ("192.0.2.1:40001", Transport::Tls),
            ),
        ];
        for (n, (what, transport, proxy, contact, (to, how))) in rows.into_iter().enumerate() {
            let t0 = Instant::now();
            let mut numbers = HashMap::new();
            numbers.insert("100".to_owned(), Destination::Queue("Support".into()));
            let mut s = SipService::new(
                ServiceConfig {
                    trunks: vec!["203.0.113.5".parse().unwrap()],
                    numbers,
                    tls: Some("127.0.0.1:5061".parse().unwrap()),
                    ..ServiceConfig::default()
                },
                Arc::new(InMemoryDirectory::default().with_phone("1001", REALM, "s3cret")),
                b"test key",
                "127.0.0.1:5060".parse().unwrap(),
                Box::new(crate::b2bua::tests::Ports::default()),
            );
            let phone = Context {
                transport,
                ..cx("192.0.2.1:40001", t0, 0, 1)
            };
            let with_contact = |text: String| {
                text.replace(
                    "Contact: <sip:1001@192.0.2.1:5060>",
                    &format!("Contact: {contact}"),
                )
                .replacen("Via:", &format!("{proxy}Via:"), 1)
            };
            let (_, text) = status(&s.handle(
                with_contact(register("1001", "z9hG4bK1", 1, "")).as_bytes(),
                phone,
            ));
            let ok = register(
                "1001",
                "z9hG4bK2",
                2,
                &authorization("1001", "s3cret", &nonce(&text), 1),
            );
            assert_eq!(
                status(&s.handle(with_contact(ok).as_bytes(), phone)).0,
                200,
                "{what}"
            );

            let invite = format!(
                "INVITE sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/TCP 203.0.113.5;branch=z9hG4bKin\r\n\
                 From: <sip:+15550100@carrier>;tag=c\r\nTo: <sip:100@pbx>\r\nCall-ID: in{n}\r\n\
                 CSeq: 1 INVITE\r\nContact: <sip:carrier@203.0.113.5;transport=tcp>\r\n\
                 Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
                SDP.len()
            );
            let trunk = Context {
                transport: Transport::Tcp,
                ..cx("203.0.113.5:5060", t0, 1, 2)
            };
            let (code, answer) = status(&s.handle(invite.as_bytes(), trunk));
            assert_eq!(code, 200, "{what}: {answer}");
            assert!(
                answer.contains("Contact: <sip:plugboard@127.0.0.1:5060;transport=tcp>\r\n"),
                "{answer}"
            );
            s.take_actions();

            s.command(
                CallCommand::Ring {
                    call: CallId(1),
                    contacts: vec![contact.into()],
                    record: None,
                },
                t0,
                3,
            );
            let (got_to, got_how, invite) = sent(&s.take_actions(), "INVITE");
            assert_eq!((got_to, got_how), (to.parse().unwrap(), how), "{what}");
            let (via, ours) = match how {
                Transport::Tcp => (
                    "Via: SIP/2.0/TCP 127.0.0.1:5060;",
                    "<sip:plugboard@127.0.0.1:5060;transport=tcp>",
                ),
                Transport::Udp => (
                    "Via: SIP/2.0/UDP 127.0.0.1:5060;",
                    "<sip:plugboard@127.0.0.1:5060>",
                ),
                Transport::Tls => (
                    "Via: SIP/2.0/TLS 127.0.0.1:5061;",
                    "<sip:plugboard@127.0.0.1:5061;transport=tls>",
                ),
            };
            // A phone on TLS is offered SRTP with our key; on any other transport, plain RTP.
            let savp = invite.contains("m=audio 40006 RTP/SAVP 0 101\r\n")
                && invite.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:");
            assert_eq!(savp, how == Transport::Tls, "{what}: {invite}");
            assert!(invite.contains(via), "{what}: {invite}");
            assert!(
                invite.contains(&format!("Contact: {ours}\r\n")),
                "{what}: {invite}"
            );

            // The phone answers (its Contact names its listening port): the ACK goes the same way.
            let header = |name: &str| {
                invite
                    .lines()
                    .find(|l| l.starts_with(&format!("{name}:")))
                    .unwrap()
                    .to_owned()
            };
            let answer = format!(
                "SIP/2.0 200 OK\r\n{}\r\n{}\r\n{};tag=phone\r\n{}\r\nCSeq: 1 INVITE\r\n\
                 Contact: {contact}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
                header("Via"),
                header("From"),
                header("To"),
                header("Call-ID"),
                SDP.len()
            );
            let from_phone = Context {
                source: got_to,
                transport: got_how,
                ..phone
            };
            assert_eq!(s.handle(answer.as_bytes(), from_phone), Outcome::Nothing);
            let (ack_to, ack_how, _) = sent(&s.take_actions(), "ACK");
            assert_eq!((ack_to, ack_how), (got_to, got_how), "{what}");
        }
    }

    /// A directory that keeps what it is told about bindings, as the hub's does.
    #[derive(Default)]
    struct Watching {
        phones: InMemoryDirectory,
        told: std::sync::Mutex<Vec<BindingChange>>,
    }

    impl PhoneDirectory for Watching {
        fn credentials(&self, user: &str) -> Option<PhoneCredentials> {
            self.phones.credentials(user)
        }

        fn bindings_changed(&self, change: BindingChange) {
            self.told.lock().unwrap().push(change);
        }
    }

    /// The directory hears of a registration once (not of its retransmission, nor of a refused
    /// one), and of its lapse when the timers find it.
    #[test]
    fn the_directory_is_told_of_binding_changes() {
        let t0 = Instant::now();
        let directory = Arc::new(Watching {
            phones: InMemoryDirectory::default().with_phone("1001", REALM, "s3cret"),
            ..Watching::default()
        });
        let mut s = SipService::new(
            ServiceConfig::default(),
            directory.clone(),
            b"test key",
            "127.0.0.1:5060".parse().unwrap(),
            Box::new(crate::b2bua::tests::Ports::default()),
        );
        let phone = "192.0.2.1:5060";
        let (_, text) = status(&s.handle(
            register("1001", "z9hG4bK1", 1, "").as_bytes(),
            cx(phone, t0, 0, 1),
        ));
        let n = nonce(&text);
        let ok = register(
            "1001",
            "z9hG4bK2",
            2,
            &format!("Expires: 60\r\n{}", authorization("1001", "s3cret", &n, 1)),
        );
        assert_eq!(status(&s.handle(ok.as_bytes(), cx(phone, t0, 0, 2))).0, 200);
        assert_eq!(status(&s.handle(ok.as_bytes(), cx(phone, t0, 1, 3))).0, 200);
        let wrong = register("1001", "z9hG4bK3", 3, &authorization("1001", "guess", &n, 2));
        assert_eq!(status(&s.handle(wrong.as_bytes(), cx(phone, t0, 2, 4))).0, 403);
        let uri = "<sip:1001@192.0.2.1:5060>";
        assert_eq!(
            *directory.told.lock().unwrap(),
            [BindingChange::Bound {
                aor: "sip:1001@pbx".into(),
                contact: ContactView {
                    uri: uri.into(),
                    expires: 60,
                    q: None,
                    params: String::new(),
                    flow: Some(Flow {
                        source: phone.parse().unwrap(),
                        transport: Transport::Udp
                    }),
                }
            }]
        );
        s.tick(t0 + Duration::from_secs(61), SystemTime::UNIX_EPOCH);
        assert_eq!(
            directory.told.lock().unwrap().last(),
            Some(&BindingChange::Lapsed {
                aor: "sip:1001@pbx".into(),
                uri: uri.into()
            })
        );
    }

    #[test]
    fn an_expired_nonce_with_the_right_password_is_stale() {
        let t0 = Instant::now();
        let mut s = service(10);
        let phone = "192.0.2.1:5060";
        let (_, text) = status(&s.handle(
            register("1001", "z9hG4bK1", 1, "").as_bytes(),
            cx(phone, t0, 0, 1),
        ));
        let late = register(
            "1001",
            "z9hG4bK2",
            2,
            &authorization("1001", "s3cret", &nonce(&text), 1),
        );
        let (code, text) = status(&s.handle(late.as_bytes(), cx(phone, t0, 301, 2)));
        assert_eq!(code, 401);
        assert!(text.contains("stale=true"), "{text}");
    }

    #[test]
    fn bindings_lapse_on_tick() {
        let t0 = Instant::now();
        let mut s = service(10);
        let phone = "192.0.2.1:5060";
        let (_, text) = status(&s.handle(
            register("1001", "z9hG4bK1", 1, "").as_bytes(),
            cx(phone, t0, 0, 1),
        ));
        let ok = register(
            "1001",
            "z9hG4bK2",
            2,
            &format!(
                "Expires: 60\r\n{}",
                authorization("1001", "s3cret", &nonce(&text), 1)
            ),
        );
        assert_eq!(status(&s.handle(ok.as_bytes(), cx(phone, t0, 0, 2))).0, 200);
        let wall = SystemTime::UNIX_EPOCH;
        assert!(s.tick(t0 + Duration::from_secs(59), wall).is_empty());
        assert_eq!(
            s.tick(t0 + Duration::from_secs(60), wall),
            [("sip:1001@pbx".to_owned(), "<sip:1001@192.0.2.1:5060>".to_owned())]
        );
    }

    #[test]
    fn failed_authentications_block_only_their_source() {
        let t0 = Instant::now();
        let mut s = service(3);
        let (attacker, phone) = ("198.51.100.7:5060", "192.0.2.1:5060");
        let (_, text) = status(&s.handle(
            register("1001", "z9hG4bK0", 1, "").as_bytes(),
            cx(phone, t0, 0, 1),
        ));
        let n = nonce(&text);
        let codes: Vec<u16> = (0..5)
            .map(|i| {
                let guess = register(
                    "1001",
                    &format!("z9hG4bKx{i}"),
                    1,
                    &authorization("1001", &format!("guess{i}"), &n, i + 1),
                );
                status(&s.handle(guess.as_bytes(), cx(attacker, t0, 1, 10 + u64::from(i)))).0
            })
            .collect();
        assert_eq!(codes, [403, 403, 403, 503, 503]);
        let ok = register("1001", "z9hG4bK9", 2, &authorization("1001", "s3cret", &n, 9));
        assert_eq!(status(&s.handle(ok.as_bytes(), cx(phone, t0, 2, 20))).0, 200);
        // The window ends and the address may try again.
        let later = register("1001", "z9hG4bKy", 1, "");
        assert_eq!(
            status(&s.handle(later.as_bytes(), cx(attacker, t0, 61, 30))).0,
            401
        );
    }

    #[test]
    fn method_table() {
        let t0 = Instant::now();
        let mut s = service(10);
        let request = |method: &str, extra: &str| {
            format!(
                "{method} sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{method}{}\r\n\
                 From: <sip:a@x>;tag=f\r\nTo: <sip:pbx>\r\nCall-ID: c\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n",
                extra.len()
            )
        };
        let cases = [
            ("OPTIONS", "", Some(200)),
            // Not from a trunk and no credentials: challenged like a proxy would (§22.3).
            ("INVITE", "", Some(407)),
            ("BYE", "", Some(481)),
            ("CANCEL", "", Some(481)),
            ("SUBSCRIBE", "", Some(405)),
            ("FROB", "", Some(501)),
            ("OPTIONS", "Require: 100rel\r\n", Some(420)),
            ("ACK", "", None),
        ];
        for (i, (method, extra, want)) in cases.into_iter().enumerate() {
            let got = s.handle(
                request(method, extra).as_bytes(),
                cx("192.0.2.1:5060", t0, 0, i as u64),
            );
            assert_eq!(
                match &got {
                    Outcome::Reply(_) => Some(status(&got).0),
                    _ => None,
                },
                want,
                "{method} {extra}"
            );
            if want == Some(405) || want == Some(501) {
                assert!(status(&got).1.contains(&format!("Allow: {ALLOW}\r\n")));
            }
        }
        assert_eq!(
            s.handle(b"\x16\x03\x01garbage", cx("192.0.2.1:5060", t0, 0, 0)),
            Outcome::Unparseable
        );
        assert_eq!(
            s.handle(
                b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
                cx("192.0.2.1:5060", t0, 0, 0)
            ),
            Outcome::Nothing
        );
    }
}
