//! The SIP transport: the async shell around [`crate::service`]. It owns the UDP socket and the TCP
//! listener (RFC 3261 §18), frames stream bytes with [`crate::framing`], passes each message to the
//! service with the clock and fresh randomness, sends back what the service answers, carries out
//! what the B2BUA decided (datagrams, media commands, events for the hub), and drives the timers
//! every 50 ms. Nothing here decides anything about SIP.
//!
//! Responses go back to the address the request came from (over UDP, the symmetric response of
//! RFC 3581 rather than the Via sent-by of §18.2.2), which is what phones behind NAT need.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::b2bua::{Action, CallCommand, CallEvent, CallId};
use crate::framing::{self, Frame};
use crate::media::{Audio, Media, PortOpener};
use crate::registrar::ContactView;
use crate::service::{Context, Outcome, PhoneDirectory, ServiceConfig, SipService, Transport};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub service: ServiceConfig,
    /// What callers hear while they wait.
    pub audio: Audio,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let addr: SocketAddr = ([127, 0, 0, 1], 5060).into();
        ServerConfig {
            udp: addr,
            tcp: addr,
            service: ServiceConfig::default(),
            audio: Audio::builtin(),
        }
    }
}

/// Shared between the socket tasks. The service sits behind a plain mutex: each call is short and
/// never awaits, so the lock is never held across an await point.
struct Shared {
    service: Mutex<SipService>,
    udp: Arc<UdpSocket>,
    /// Open TCP connections by peer, for requests the B2BUA sends to a caller that came over TCP.
    connections: Mutex<HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>>,
    media: Arc<Media>,
    events: mpsc::UnboundedSender<CallEvent>,
    unparseable: AtomicU64,
}

impl Shared {
    fn handle(&self, bytes: &[u8], source: SocketAddr, transport: Transport) -> Outcome {
        let cx = Context {
            source,
            transport,
            now: Instant::now(),
            wall: SystemTime::now(),
            entropy: rand::random(),
        };
        let (outcome, actions) = self.with_service(|service| service.handle(bytes, cx));
        if outcome == Outcome::Unparseable {
            self.unparseable.fetch_add(1, Ordering::Relaxed);
        }
        // The reply goes first: a 200 OK before the media it announces, a BYE's 200 before ours.
        if let Outcome::Reply(reply) = &outcome
            && transport == Transport::Udp
        {
            self.send_udp(reply, source);
            self.perform(actions);
            return Outcome::Nothing;
        }
        self.perform(actions);
        outcome
    }

    /// Runs `f` on the service and takes what the B2BUA decided meanwhile.
    fn with_service<T>(&self, f: impl FnOnce(&mut SipService) -> T) -> (T, Vec<Action>) {
        let mut service = self.service.lock().unwrap_or_else(|p| p.into_inner());
        let out = f(&mut service);
        (out, service.take_actions())
    }

    fn send_udp(&self, bytes: &[u8], to: SocketAddr) {
        // A full socket buffer drops the datagram, as the network might; retransmission covers it.
        if let Err(e) = self.udp.try_send_to(bytes, to) {
            tracing::debug!(error = %e, %to, "UDP send failed");
        }
    }

    fn perform(&self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send {
                    to,
                    transport: Transport::Udp,
                    bytes,
                } => self.send_udp(&bytes, to),
                Action::Send {
                    to,
                    transport: Transport::Tcp,
                    bytes,
                } => {
                    let connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
                    match connections.get(&to) {
                        Some(tx) => {
                            let _ = tx.send(bytes);
                        }
                        None => tracing::debug!(%to, "no TCP connection for a request"),
                    }
                }
                Action::Media(command) => self.media.execute(command),
                Action::Event(event) => {
                    let _ = self.events.send(event);
                }
            }
        }
    }
}

/// Where calls' RTP ports are opened. The media address is advertised in our SDP; when it is on
/// this machine, RTP is bound there too. When it is not (a node behind 1:1 NAT advertising its
/// public address, which only the NAT holds), RTP is bound on the address SIP listens on, where
/// the NAT delivers the packets; binding the public address would fail every call.
fn rtp_bind_ip(media_ip: IpAddr, listen_ip: IpAddr) -> IpAddr {
    match std::net::UdpSocket::bind(SocketAddr::new(media_ip, 0)) {
        Ok(_) => media_ip,
        Err(e) => {
            tracing::info!(%media_ip, %listen_ip, error = %e,
                "the media address is not on this machine (NAT): RTP opens on the SIP address");
            listen_ip
        }
    }
}

/// A running SIP server; dropping it stops every task.
pub struct SipServer {
    shared: Arc<Shared>,
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl SipServer {
    /// Binds both transports and starts serving. Calls are reported on the returned receiver.
    pub async fn start(
        config: ServerConfig,
        directory: Arc<dyn PhoneDirectory>,
    ) -> io::Result<(Self, mpsc::UnboundedReceiver<CallEvent>)> {
        let udp = Arc::new(UdpSocket::bind(config.udp).await?);
        let tcp = TcpListener::bind(config.tcp).await?;
        let (udp_addr, tcp_addr) = (udp.local_addr()?, tcp.local_addr()?);
        let key: [u8; 32] = rand::random();
        let (digits_tx, digits) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let media_ip = config.service.media_ip.unwrap_or(udp_addr.ip());
        let media = Media::new(rtp_bind_ip(media_ip, udp_addr.ip()), config.audio, digits_tx);
        let service = SipService::new(
            config.service,
            directory,
            &key,
            udp_addr,
            Box::new(PortOpener(media.clone())),
        );
        let shared = Arc::new(Shared {
            service: Mutex::new(service),
            udp: udp.clone(),
            connections: Mutex::new(HashMap::new()),
            media,
            events,
            unparseable: AtomicU64::new(0),
        });
        let tasks = vec![
            tokio::spawn(serve_udp(udp, shared.clone())),
            tokio::spawn(serve_tcp(tcp, shared.clone())),
            tokio::spawn(run_timers(shared.clone())),
            tokio::spawn(forward_digits(digits, shared.clone())),
        ];
        tracing::info!(%udp_addr, %tcp_addr, "SIP server listening");
        Ok((
            SipServer {
                shared,
                udp_addr,
                tcp_addr,
                tasks,
            },
            events_rx,
        ))
    }

    /// Carries out a command of the hub's on a call.
    pub fn command(&self, command: CallCommand) {
        let ((), actions) = self
            .shared
            .with_service(|s| s.command(command, Instant::now(), rand::random()));
        self.shared.perform(actions);
    }

    /// Click-to-call: rings the agent's phone at `contact`, then `number` through the trunk.
    pub fn dial(&self, contact: &str, number: &str, record: Option<std::path::PathBuf>) -> Option<CallId> {
        let (call, actions) = self
            .shared
            .with_service(|s| s.dial(contact, number, record, Instant::now(), rand::random()));
        self.shared.perform(actions);
        call
    }

    /// Calls in progress, and calls with media open (the same, unless something leaks).
    pub fn calls(&self) -> (usize, usize) {
        let (calls, _) = self.shared.with_service(|s| s.calls());
        (calls, self.shared.media.calls())
    }

    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The live bindings of an address-of-record (`sip:1001@host`).
    pub fn bindings(&self, aor: &str) -> Vec<ContactView> {
        let (bindings, _) = self.shared.with_service(|s| s.lookup(aor, Instant::now()));
        bindings
    }

    /// The live bindings of a phone account, best first: where to ring it.
    pub fn bindings_of(&self, user: &str) -> Vec<ContactView> {
        let (bindings, _) = self.shared.with_service(|s| s.lookup_user(user, Instant::now()));
        bindings
    }

    /// Messages dropped because they were not SIP at all.
    pub fn unparseable(&self) -> u64 {
        self.shared.unparseable.load(Ordering::Relaxed)
    }
}

impl Drop for SipServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// RFC 3261 §18.2.1: one datagram is one message.
async fn serve_udp(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (len, source) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            // ICMP errors from an earlier send surface here on some systems; keep serving.
            Err(e) => {
                tracing::debug!(error = %e, "UDP receive failed");
                continue;
            }
        };
        // Replies are sent inside `handle`, before the actions they cause.
        if shared.handle(&buf[..len], source, Transport::Udp) == Outcome::Unparseable {
            tracing::debug!(%source, len, "dropped an unparseable datagram");
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, source)) => {
                tokio::spawn(serve_connection(stream, source, shared.clone()));
            }
            Err(e) => tracing::warn!(error = %e, "TCP accept failed"),
        }
    }
}

/// One TCP connection: framed by Content-Length (§18.3). A message that cannot be framed or parsed
/// closes this connection, and only this one.
async fn serve_connection(stream: TcpStream, source: SocketAddr, shared: Arc<Shared>) {
    let (tx, rx) = mpsc::unbounded_channel();
    shared
        .connections
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(source, tx);
    read_connection(stream, source, &shared, rx).await;
    shared
        .connections
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&source);
}

async fn read_connection(
    mut stream: TcpStream,
    source: SocketAddr,
    shared: &Shared,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        match framing::next_message(&buf) {
            Ok(Frame::KeepAlive(n)) => {
                buf.drain(..n);
            }
            Ok(Frame::Message { skip, len }) => {
                let outcome = shared.handle(&buf[skip..skip + len], source, Transport::Tcp);
                buf.drain(..skip + len);
                match outcome {
                    Outcome::Reply(response) => {
                        if stream.write_all(&response).await.is_err() {
                            return;
                        }
                    }
                    Outcome::Nothing => {}
                    Outcome::Unparseable => {
                        tracing::debug!(%source, "closing a TCP connection after an unparseable message");
                        return;
                    }
                }
            }
            Ok(Frame::NeedMore) => tokio::select! {
                read = stream.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                },
                Some(request) = outgoing.recv() => {
                    if stream.write_all(&request).await.is_err() {
                        return;
                    }
                }
            },
            Err(e) => {
                shared.unparseable.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%source, error = %e, "closing a TCP connection that cannot be framed");
                return;
            }
        }
    }
}

/// Retransmissions, binding expiry, Timer J and the other clean-ups, every 50 ms.
async fn run_timers(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (lapsed, actions) = shared.with_service(|s| s.tick(Instant::now(), SystemTime::now()));
        shared.perform(actions);
        for (aor, contact) in lapsed {
            tracing::info!(%aor, %contact, "registration lapsed");
        }
    }
}

/// DTMF keys from the media tasks, to the B2BUA (the IVR).
async fn forward_digits(mut digits: mpsc::UnboundedReceiver<(CallId, char)>, shared: Arc<Shared>) {
    while let Some((call, key)) = digits.recv().await {
        tracing::debug!(%call, %key, "DTMF");
        let ((), actions) = shared.with_service(|s| s.digit(call, key));
        shared.perform(actions);
    }
}
