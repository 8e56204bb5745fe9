//! The SIP transport: the async shell around [`crate::service`]. It owns the UDP socket, the TCP
//! listener (RFC 3261 §18) and, when configured, the TLS listener (§26.2: TLS over TCP, rustls with
//! ring), frames stream bytes with [`crate::framing`], passes each message to the
//! service with the clock and fresh randomness, sends back what the service answers, carries out
//! what the B2BUA decided (datagrams, media commands, events for the hub), and drives the timers
//! every 50 ms. Nothing here decides anything about SIP.
//!
//! Responses go back to the address the request came from (over UDP, the symmetric response of
//! RFC 3581 rather than the Via sent-by of §18.2.2), which is what phones behind NAT need. A
//! request the B2BUA sends over TCP or TLS goes on the peer's open connection (the one a phone
//! registered on, RFC 5626 §5.3), or, over TCP only, on a new one to that address.
//!
//! Each message is handled under `catch_unwind`: a panic in one request's handling is logged and
//! that message dropped, and the listener goes on. TCP connections are limited per address, closed
//! when idle, and their write queues bounded: a peer that does not read is disconnected rather
//! than queued for without end.
//!
//! TLS connections are TCP connections with a handshake first, under the same limits, and the
//! handshake has its own deadline: a peer that connects and never finishes it, sends garbage, or
//! speaks plain SIP to the TLS port costs one connection until then and nothing else. We accept
//! TLS and never open it: a phone on TLS is rung on the connection it registered on (RFC 5626),
//! and when that is gone the ring fails at once rather than falling back to a connection we
//! could not authenticate.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::b2bua::{Action, CallCommand, CallEvent, CallId, KeysRefused};
use crate::framing::{self, Frame};
use crate::media::{Audio, Media, PortOpener};
use crate::registrar::{ContactView, Flow};
use crate::service::{Context, Outcome, PhoneDirectory, ServiceConfig, SipService, Transport};
use crate::webrtc::{BrowserLeg, LegError, LegSettings, Opened};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub service: ServiceConfig,
    /// What callers hear while they wait.
    pub audio: Audio,
    pub tcp_limits: TcpLimits,
    /// SIP over TLS; none: no TLS listener.
    pub tls: Option<TlsSettings>,
}

/// The TLS listener: where, and the certificate chain and private key it presents (PEM files).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub listen: SocketAddr,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

impl TlsSettings {
    /// The rustls configuration, its certificate renewed as the files change
    /// ([`crate::certs`]).
    fn acceptor(&self) -> io::Result<TlsAcceptor> {
        let config = crate::certs::server_config(&self.cert, &self.key)?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// What one peer may hold of the TCP listener.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// Open connections from one IP address; more are closed as soon as accepted. A NAT with
    /// many phones behind it needs one per phone.
    pub per_address: usize,
    /// A connection with no message in either direction for this long is closed. A phone on TCP
    /// refreshes its registration (at most the registrar's `max_expires`, an hour) or sends
    /// keep-alives (RFC 5626 §3.5.1) well within it.
    pub idle: Duration,
    /// Before its first whole message a connection gets this long: a connect that sends nothing
    /// costs a socket until then.
    pub first_message: Duration,
    /// Messages waiting to be written to one connection; past it the peer, which is not reading,
    /// is disconnected.
    pub queue: usize,
    /// How long one write may wait for the peer to read.
    pub write_timeout: Duration,
    /// How long a TLS handshake may take, from the connection's accept.
    pub handshake: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            per_address: 64,
            idle: Duration::from_secs(3_700),
            first_message: Duration::from_secs(30),
            queue: 64,
            write_timeout: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        let addr: SocketAddr = ([127, 0, 0, 1], 5060).into();
        ServerConfig {
            udp: addr,
            tcp: addr,
            service: ServiceConfig::default(),
            audio: Audio::builtin(),
            tcp_limits: TcpLimits::default(),
            tls: None,
        }
    }
}

/// Shared between the socket tasks. The service sits behind a plain mutex: each call is short and
/// never awaits, so the lock is never held across an await point.
struct Shared {
    service: Mutex<SipService>,
    udp: Arc<UdpSocket>,
    /// Open TCP and TLS connections by peer, for requests the B2BUA sends on them: each one's
    /// queue of messages to write.
    connections: Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>,
    /// Open TCP connections by peer address, for [`TcpLimits::per_address`].
    per_address: Mutex<HashMap<IpAddr, usize>>,
    tcp_limits: TcpLimits,
    media: Arc<Media>,
    events: mpsc::UnboundedSender<CallEvent>,
    unparseable: AtomicU64,
}

impl Shared {
    /// [`Shared::handle_message`], with a panic caught: logged, and the message dropped as an
    /// unparseable one is (a TCP connection closed), the listener unharmed. The service's lock
    /// is not poisoned for good: every lock here takes the state a panic left.
    fn handle(self: &Arc<Self>, bytes: &[u8], source: SocketAddr, transport: Transport) -> Outcome {
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.handle_message(bytes, source, transport)
        }));
        handled.unwrap_or_else(|_| {
            tracing::error!(%source, len = bytes.len(), "a SIP message's handling panicked; dropped");
            Outcome::Unparseable
        })
    }

    fn handle_message(self: &Arc<Self>, bytes: &[u8], source: SocketAddr, transport: Transport) -> Outcome {
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

    /// Queues `bytes` on the connection to `to`, connecting first over TCP when there is none.
    /// Over TLS there is only the peer's own connection: without it, `to` is unreachable.
    fn send_stream(self: &Arc<Self>, bytes: Vec<u8>, to: SocketAddr, transport: Transport) {
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if transport == Transport::Tls {
            let queued = connections.get(&to).map(|tx| tx.try_send(bytes));
            if let Some(Err(mpsc::error::TrySendError::Full(_))) = queued {
                tracing::info!(%to, "a TLS peer is not reading: disconnected");
                connections.remove(&to);
            }
            if !matches!(queued, Some(Ok(()))) {
                drop(connections);
                let shared = self.clone();
                tokio::spawn(async move { shared.unreachable(to) });
            }
            return;
        }
        if let Some(tx) = connections.get(&to) {
            match tx.try_send(bytes) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Dropping its queue's sender closes the connection (see `read_connection`).
                    tracing::info!(%to, "a TCP peer is not reading: disconnected");
                    connections.remove(&to);
                    return;
                }
                // The connection just ended: open another.
                Err(mpsc::error::TrySendError::Closed(bytes)) => {
                    connections.remove(&to);
                    return self.connect(&mut connections, bytes, to);
                }
            }
        }
        self.connect(&mut connections, bytes, to);
    }

    /// Opens a connection to `to` for the B2BUA's request `bytes` (written once connected) and
    /// serves it like an accepted one.
    fn connect(
        self: &Arc<Self>,
        connections: &mut HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
        bytes: Vec<u8>,
        to: SocketAddr,
    ) {
        let (tx, rx) = mpsc::channel(self.tcp_limits.queue);
        let _ = tx.try_send(bytes);
        connections.insert(to, tx);
        let shared = self.clone();
        tokio::spawn(async move {
            let connecting = tokio::time::timeout(shared.tcp_limits.write_timeout, TcpStream::connect(to));
            match connecting.await {
                Ok(Ok(stream)) => read_connection(stream, to, Transport::Tcp, &shared, rx).await,
                Ok(Err(e)) => {
                    tracing::info!(%to, error = %e, "could not connect over TCP");
                    shared.unreachable(to);
                }
                Err(_) => {
                    tracing::info!(%to, "timed out connecting over TCP");
                    shared.unreachable(to);
                }
            }
            shared.forget(to);
        });
    }

    /// Nothing could be sent to `to`: the B2BUA fails what waited on it.
    fn unreachable(self: &Arc<Self>, to: SocketAddr) {
        let ((), actions) = self.with_service(|s| s.unreachable(to, Instant::now()));
        self.perform(actions);
    }

    /// A connection ended: its queue goes, unless a newer connection to the peer took its place.
    fn forget(&self, peer: SocketAddr) {
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if connections.get(&peer).is_some_and(mpsc::Sender::is_closed) {
            connections.remove(&peer);
        }
    }

    fn perform(self: &Arc<Self>, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send {
                    to,
                    transport: Transport::Udp,
                    bytes,
                } => self.send_udp(&bytes, to),
                Action::Send { to, transport, bytes } => self.send_stream(bytes, to, transport),
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
    tls_addr: Option<SocketAddr>,
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
        let tls = match &config.tls {
            Some(settings) => {
                let acceptor = settings.acceptor()?;
                let listener = TcpListener::bind(settings.listen).await?;
                Some((listener, acceptor))
            }
            None => None,
        };
        let tls_addr = match &tls {
            Some((listener, _)) => Some(listener.local_addr()?),
            None => None,
        };
        let mut service_config = config.service;
        service_config.tls = tls_addr;
        let key: [u8; 32] = rand::random();
        let (digits_tx, digits) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let media_ip = service_config.media_ip.unwrap_or(udp_addr.ip());
        let media = Media::new(rtp_bind_ip(media_ip, udp_addr.ip()), config.audio, digits_tx);
        let service = SipService::new(
            service_config,
            directory,
            &key,
            udp_addr,
            Box::new(PortOpener(media.clone())),
        );
        let shared = Arc::new(Shared {
            service: Mutex::new(service),
            udp: udp.clone(),
            connections: Mutex::new(HashMap::new()),
            per_address: Mutex::new(HashMap::new()),
            tcp_limits: config.tcp_limits,
            media,
            events,
            unparseable: AtomicU64::new(0),
        });
        let mut tasks = vec![
            tokio::spawn(serve_udp(udp, shared.clone())),
            tokio::spawn(serve_tcp(tcp, None, shared.clone())),
            tokio::spawn(run_timers(shared.clone())),
            tokio::spawn(forward_digits(digits, shared.clone())),
        ];
        if let Some((listener, acceptor)) = tls {
            tasks.push(tokio::spawn(serve_tcp(listener, Some(acceptor), shared.clone())));
        }
        tracing::info!(%udp_addr, %tcp_addr, ?tls_addr, "SIP server listening");
        Ok((
            SipServer {
                shared,
                udp_addr,
                tcp_addr,
                tls_addr,
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

    /// Click-to-call from a browser: the call to `number`, placed once the browser's leg is
    /// attached (see [`crate::b2bua::B2bua::dial_from_browser`]).
    pub fn dial_from_browser(&self, number: &str) -> Option<CallId> {
        let (call, actions) = self
            .shared
            .with_service(|s| s.dial_from_browser(number, rand::random()));
        self.shared.perform(actions);
        call
    }

    /// Sends keys the agent pressed (RFC 4733 event codes) to the customer.
    pub fn send_keys(&self, call: CallId, events: Vec<u8>) -> Result<(), KeysRefused> {
        let (sent, actions) = self.shared.with_service(|s| s.send_keys(call, events));
        self.shared.perform(actions);
        sent
    }

    /// Opens a browser's WebRTC leg for a call waiting in its queue, answering the browser's
    /// `offer`; the hub then bridges it with [`CallCommand::Attach`] at the leg's RTP address.
    /// `None` when the call is not waiting (gone, ringing a phone, or already answered).
    pub fn open_browser_leg(&self, call: CallId, offer: &str) -> Option<Result<Opened, LegError>> {
        let (attachable, _) = self.shared.with_service(|s| s.attachable(call));
        Some(self.browser_leg(attachable?, offer))
    }

    /// Opens a supervisor's browser leg onto a call bridged to an agent, answering the browser's
    /// `offer`; the hub then joins it with [`CallCommand::AddParty`] at the leg's RTP address.
    /// `None` when the call is not bridged, or someone listens to it already.
    pub fn open_party_leg(&self, call: CallId, offer: &str) -> Option<Result<Opened, LegError>> {
        let (port, _) = self.shared.with_service(|s| s.party_port_for(call));
        Some(self.browser_leg(port?, offer))
    }

    /// A browser leg carrying `codec`, relayed to the call's media at `port`.
    fn browser_leg(&self, (codec, port): (crate::g711::Codec, u16), offer: &str) -> Result<Opened, LegError> {
        let ip = self.shared.media.ip();
        let settings = LegSettings {
            ip,
            codec,
            stream: SocketAddr::new(ip, port),
        };
        BrowserLeg::open(offer, settings)
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

    /// Where SIP over TLS is taken, when it is.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
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

/// The TCP listener, or with `tls` the TLS one: each connection counts against its address's
/// limit from its accept, through the handshake, to its close.
async fn serve_tcp(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, source)) => {
                let Some(slot) = AddressSlot::take(&shared, source.ip()) else {
                    tracing::info!(%source, "too many TCP connections from one address: closed");
                    continue;
                };
                match &tls {
                    None => {
                        tokio::spawn(serve_connection(
                            stream,
                            source,
                            Transport::Tcp,
                            shared.clone(),
                            slot,
                        ));
                    }
                    Some(acceptor) => {
                        tokio::spawn(serve_tls(acceptor.clone(), stream, source, shared.clone(), slot));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "TCP accept failed"),
        }
    }
}

/// One accepted TLS connection: the handshake, within [`TcpLimits::handshake`], then SIP as on
/// TCP. A handshake that fails (garbage, plain SIP, a version or cipher we do not speak) or
/// never ends closes this connection only.
async fn serve_tls(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    source: SocketAddr,
    shared: Arc<Shared>,
    slot: AddressSlot,
) {
    match tokio::time::timeout(shared.tcp_limits.handshake, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => serve_connection(stream, source, Transport::Tls, shared, slot).await,
        Ok(Err(e)) => tracing::debug!(%source, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%source, "TLS handshake timed out"),
    }
}

/// One of an address's [`TcpLimits::per_address`] connections, given back when dropped (also
/// when its task ends by a panic).
struct AddressSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl AddressSlot {
    fn take(shared: &Arc<Shared>, ip: IpAddr) -> Option<AddressSlot> {
        let mut open = shared.per_address.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= shared.tcp_limits.per_address {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            shared: shared.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.shared.per_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// One accepted TCP connection: framed by Content-Length (§18.3). A message that cannot be framed
/// or parsed closes this connection, and only this one.
async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    source: SocketAddr,
    transport: Transport,
    shared: Arc<Shared>,
    _slot: AddressSlot,
) {
    let (tx, rx) = mpsc::channel(shared.tcp_limits.queue);
    shared
        .connections
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(source, tx);
    read_connection(stream, source, transport, &shared, rx).await;
    shared.forget(source);
}

/// Reads and answers messages on a connection, and writes what is queued for it, until the peer
/// closes it, breaks the framing, stays idle past the limits, or stops reading. Then the service
/// hears that the connection is gone (`SipService::connection_closed`).
async fn read_connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    source: SocketAddr,
    transport: Transport,
    shared: &Arc<Shared>,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
) {
    serve_stream(stream, source, transport, shared, &mut outgoing).await;
    outgoing.close();
    let flow = Flow { source, transport };
    let ((), actions) = shared.with_service(|s| s.connection_closed(flow, Instant::now()));
    shared.perform(actions);
}

async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    source: SocketAddr,
    transport: Transport,
    shared: &Arc<Shared>,
    outgoing: &mut mpsc::Receiver<Vec<u8>>,
) {
    let limits = shared.tcp_limits;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut deadline = tokio::time::Instant::now() + limits.first_message.min(limits.idle);
    loop {
        match framing::next_message(&buf) {
            Ok(Frame::KeepAlive(n)) => {
                // RFC 5626 §3.5.1: a double-CRLF ping is answered with a CRLF pong.
                let ping = buf[..n].windows(4).any(|w| w == b"\r\n\r\n");
                buf.drain(..n);
                deadline = tokio::time::Instant::now() + limits.idle;
                if ping && !write(&mut stream, b"\r\n", limits).await {
                    return;
                }
            }
            Ok(Frame::Message { skip, len }) => {
                deadline = tokio::time::Instant::now() + limits.idle;
                let outcome = shared.handle(&buf[skip..skip + len], source, transport);
                buf.drain(..skip + len);
                match outcome {
                    Outcome::Reply(response) => {
                        if !write(&mut stream, &response, limits).await {
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
                queued = outgoing.recv() => match queued {
                    Some(request) => {
                        deadline = tokio::time::Instant::now() + limits.idle;
                        if !write(&mut stream, &request, limits).await {
                            return;
                        }
                    }
                    // Its queue was dropped: the peer stopped reading.
                    None => return,
                },
                () = tokio::time::sleep_until(deadline) => {
                    tracing::debug!(%source, "closing an idle TCP connection");
                    return;
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

/// Writes `bytes`, giving up on a peer that does not read within the limit. The flush pushes
/// out what TLS holds back as records.
async fn write<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8], limits: TcpLimits) -> bool {
    let written = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    matches!(
        tokio::time::timeout(limits.write_timeout, written).await,
        Ok(Ok(()))
    )
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
        let ((), actions) = shared.with_service(|s| s.digit(call, key, Instant::now()));
        shared.perform(actions);
    }
}
