//! What the transport tests share: a server on 127.0.0.1:0 with one phone account, and a way to
//! wait for a datagram without a fixed sleep.

use std::sync::Arc;
use std::time::Duration;

use plugboard_sip::b2bua::CallEvent;
use plugboard_sip::server::{ServerConfig, SipServer};
use plugboard_sip::service::{InMemoryDirectory, ServiceConfig};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedReceiver;

pub const REALM: &str = "plugboard";
pub const USER: &str = "1001";
pub const PASSWORD: &str = "s3cret";

/// How long any single answer may take before the test fails.
pub const ANSWER: Duration = Duration::from_secs(3);

#[allow(dead_code)] // each test binary uses its own part of this module
pub async fn start(service: ServiceConfig) -> SipServer {
    start_with_events(service).await.0
}

/// A server and the call events it reports.
#[allow(dead_code)]
pub async fn start_with_events(service: ServiceConfig) -> (SipServer, UnboundedReceiver<CallEvent>) {
    let loopback = ([127, 0, 0, 1], 0).into();
    let directory = InMemoryDirectory::default().with_phone(USER, REALM, PASSWORD);
    SipServer::start(
        ServerConfig {
            udp: loopback,
            tcp: loopback,
            service,
            ..ServerConfig::default()
        },
        Arc::new(directory),
    )
    .await
    .expect("server starts")
}

/// The next datagram on `socket`, as text.
#[allow(dead_code)]
pub async fn recv(socket: &UdpSocket) -> String {
    let mut buf = vec![0; 65_535];
    let len = tokio::time::timeout(ANSWER, socket.recv(&mut buf))
        .await
        .expect("an answer in time")
        .expect("recv");
    String::from_utf8(buf[..len].to_vec()).expect("UTF-8 answer")
}
