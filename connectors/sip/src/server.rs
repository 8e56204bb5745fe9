//! The SIP transport: the async shell around [`crate::service`]. It owns the UDP socket and the TCP
//! listener (RFC 3261 §18), frames stream bytes with [`crate::framing`], passes each message to the
//! service with the clock and fresh randomness, sends back what the service answers, and drives the
//! service's timers once a second. Nothing here decides anything about SIP.
//!
//! Responses go back to the address the request came from (over UDP, the symmetric response of
//! RFC 3581 rather than the Via sent-by of §18.2.2), which is what phones behind NAT need.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use crate::framing::{self, Frame};
use crate::registrar::ContactView;
use crate::service::{Context, Outcome, PhoneDirectory, ServiceConfig, SipService, Transport};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub service: ServiceConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let addr: SocketAddr = ([127, 0, 0, 1], 5060).into();
        ServerConfig {
            udp: addr,
            tcp: addr,
            service: ServiceConfig::default(),
        }
    }
}

/// Shared between the socket tasks. The service sits behind a plain mutex: each call is short and
/// never awaits, so the lock is never held across an await point.
struct Shared {
    service: Mutex<SipService>,
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
        let outcome = self.service.lock().expect("service poisoned").handle(bytes, cx);
        if outcome == Outcome::Unparseable {
            self.unparseable.fetch_add(1, Ordering::Relaxed);
        }
        outcome
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
    /// Binds both transports and starts serving.
    pub async fn start(config: ServerConfig, directory: Arc<dyn PhoneDirectory>) -> io::Result<Self> {
        let udp = UdpSocket::bind(config.udp).await?;
        let tcp = TcpListener::bind(config.tcp).await?;
        let (udp_addr, tcp_addr) = (udp.local_addr()?, tcp.local_addr()?);
        let key: [u8; 32] = rand::random();
        let shared = Arc::new(Shared {
            service: Mutex::new(SipService::new(config.service, directory, &key)),
            unparseable: AtomicU64::new(0),
        });
        let tasks = vec![
            tokio::spawn(serve_udp(udp, shared.clone())),
            tokio::spawn(serve_tcp(tcp, shared.clone())),
            tokio::spawn(run_timers(shared.clone())),
        ];
        tracing::info!(%udp_addr, %tcp_addr, "SIP server listening");
        Ok(SipServer {
            shared,
            udp_addr,
            tcp_addr,
            tasks,
        })
    }

    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The live bindings of an address-of-record (`sip:1001@host`).
    pub fn bindings(&self, aor: &str) -> Vec<ContactView> {
        let service = self.shared.service.lock().expect("service poisoned");
        service.lookup(aor, Instant::now())
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
async fn serve_udp(socket: UdpSocket, shared: Arc<Shared>) {
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
        match shared.handle(&buf[..len], source, Transport::Udp) {
            Outcome::Reply(response) => {
                if let Err(e) = socket.send_to(&response, source).await {
                    tracing::debug!(error = %e, %source, "UDP send failed");
                }
            }
            Outcome::Nothing => {}
            Outcome::Unparseable => tracing::debug!(%source, len, "dropped an unparseable datagram"),
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
async fn serve_connection(mut stream: TcpStream, source: SocketAddr, shared: Arc<Shared>) {
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
            Ok(Frame::NeedMore) => match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
            Err(e) => {
                shared.unparseable.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%source, error = %e, "closing a TCP connection that cannot be framed");
                return;
            }
        }
    }
}

/// Binding expiry, Timer J and the other clean-ups, once a second.
async fn run_timers(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let lapsed = {
            let mut service = shared.service.lock().expect("service poisoned");
            service.tick(Instant::now(), SystemTime::now())
        };
        for (aor, contact) in lapsed {
            tracing::info!(%aor, %contact, "registration lapsed");
        }
    }
}
