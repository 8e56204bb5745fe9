//! The SIP server's TCP and TLS side over real sockets: a phone registered over TCP or TLS is
//! rung on its own connection (over TLS with an SRTP offer); a connection from an address past its
//! limit, or idle too long, is closed; a phone that stops reading is disconnected and the calls
//! rung on it fail at once; a panic while handling one message leaves both listeners
//! serving; and a TLS handshake that never ends, garbage, plain SIP on the TLS port or a client
//! without SNI leave the TLS listener serving. The certificate is made with openssl at test time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ANSWER, PASSWORD, REALM, USER};
use plugboard_sip::b2bua::{CallCommand, CallEvent, Destination};
use plugboard_sip::digest::{self, Algorithm};
use plugboard_sip::server::{ServerConfig, SipServer, TcpLimits, TlsSettings};
use plugboard_sip::service::{InMemoryDirectory, PhoneCredentials, PhoneDirectory, ServiceConfig};
use plugboard_sip::srtp::MasterKey;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::rustls;

const SDP: &str =
    "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";

async fn server(
    service: ServiceConfig,
    tcp_limits: TcpLimits,
    directory: Arc<dyn PhoneDirectory>,
) -> (SipServer, tokio::sync::mpsc::UnboundedReceiver<CallEvent>) {
    server_with_tls(service, tcp_limits, directory, None).await
}

async fn server_with_tls(
    service: ServiceConfig,
    tcp_limits: TcpLimits,
    directory: Arc<dyn PhoneDirectory>,
    tls: Option<TlsSettings>,
) -> (SipServer, tokio::sync::mpsc::UnboundedReceiver<CallEvent>) {
    let loopback = ([127, 0, 0, 1], 0).into();
    let config = ServerConfig {
        udp: loopback,
        tcp: loopback,
        service,
        tcp_limits,
        tls,
        ..ServerConfig::default()
    };
    SipServer::start(config, directory).await.expect("server starts")
}

/// A self-signed certificate for 127.0.0.1 and localhost in `dir` (a test's own, thrown away
/// with it): the TLS listener's settings, and a client configuration trusting it.
fn certificate(dir: &std::path::Path) -> (TlsSettings, Arc<rustls::ClientConfig>) {
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // webpki takes no CA certificate as a server's own.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(dir)
        .output()
        .expect("openssl runs (apt-get install openssl)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.join("cert.pem")).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let settings = TlsSettings {
        listen: ([127, 0, 0, 1], 0).into(),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    (settings, Arc::new(client))
}

/// A TLS connection to the server's TLS listener, as `name` (an IP address sends no SNI).
async fn tls_connect(
    server: &SipServer,
    client: Arc<rustls::ClientConfig>,
    name: &str,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(server.tls_addr().expect("a TLS listener"))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
    tokio::time::timeout(
        ANSWER,
        tokio_rustls::TlsConnector::from(client).connect(name, tcp),
    )
    .await
    .expect("a handshake in time")
    .expect("the handshake")
}

/// A REGISTER over `transport` from `local`, with an `Authorization` when a nonce is given.
fn register(
    local: std::net::SocketAddr,
    transport: &str,
    user: &str,
    cseq: u32,
    nonce: Option<&str>,
) -> String {
    let mut text = format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bKr{cseq}\r\n\
         From: <sip:{user}@127.0.0.1>;tag=r\r\nTo: <sip:{user}@127.0.0.1>\r\nCall-ID: reg-{local}\r\n\
         CSeq: {cseq} REGISTER\r\nMax-Forwards: 70\r\n\
         Contact: <sip:{user}@127.0.0.1:9;transport={}>;+sip.instance=\"<urn:uuid:tcp-1>\";reg-id=1\r\n",
        transport.to_ascii_lowercase()
    );
    if let Some(nonce) = nonce {
        let alg = Algorithm::Sha256;
        let ha1 = digest::ha1(alg, user, REALM, PASSWORD);
        let nc = digest::NonceCount::parse("00000001").unwrap();
        let response =
            digest::request_digest(alg, &ha1, nonce, Some((&nc, "c")), "REGISTER", "sip:127.0.0.1");
        text.push_str(&format!(
            "Authorization: Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", \
             uri=\"sip:127.0.0.1\", response=\"{response}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c\"\r\n"
        ));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    text
}

fn nonce(challenge: &str) -> String {
    let start = challenge.find("nonce=\"").expect("a challenge") + 7;
    challenge[start..].split('"').next().unwrap().to_owned()
}

fn status(message: &str) -> &str {
    message.get(8..11).unwrap_or(message)
}

/// The next message on a stream: its header, then as much body as its Content-Length says.
async fn next_message<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let body: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + body {
                let message: Vec<u8> = buf.drain(..end + 4 + body).collect();
                return String::from_utf8(message).unwrap();
            }
        }
        let mut chunk = [0; 4096];
        let n = tokio::time::timeout(ANSWER, stream.read(&mut chunk))
            .await
            .expect("a message in time")
            .expect("read");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(buf));
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Whether the server closes `stream` within `wait` (reading nothing).
/// The carrier ACKs the hub's 200 to its INVITE: the call starts on the ACK (RFC 3261
/// §13.3.1.4), so only then is the hub told of it.
async fn ack_the_answer(carrier: &UdpSocket) {
    let mut buf = vec![0u8; 8192];
    let ok = loop {
        let len = tokio::time::timeout(ANSWER, carrier.recv(&mut buf))
            .await
            .expect("the hub answers the INVITE")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        if text.starts_with("SIP/2.0 200") {
            break text;
        }
    };
    let header = |name: &str| {
        ok.lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_default()
            .to_owned()
    };
    let ack = format!(
        "ACK sip:plugboard@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKack\r\n{}\r\n{}\r\n{}\r\n\
         CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        carrier.local_addr().unwrap(),
        header("From"),
        header("To"),
        header("Call-ID"),
    );
    carrier.send(ack.as_bytes()).await.unwrap();
}

async fn closed_within<S: AsyncRead + Unpin>(stream: &mut S, wait: Duration) -> bool {
    let mut chunk = [0; 64];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut chunk)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Whether the server ends `stream` within `wait`, after at most a TLS alert.
async fn ended_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let ended = async {
        let mut chunk = [0; 512];
        while let Ok(n) = stream.read(&mut chunk).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(wait, ended).await.is_ok()
}

/// RFC 5626 §5.3: a phone that registered over TCP is rung on that connection, although its
/// Contact names a port nothing listens on; our INVITE says TCP in its Via and Contact, and the
/// phone's 200 OK on the same connection gets its ACK there too. Before, the INVITE went over UDP
/// to the Contact and the phone never rang.
#[tokio::test]
async fn a_phone_registered_over_tcp_is_rung_on_its_connection() {
    let directory = Arc::new(InMemoryDirectory::default().with_phone(USER, REALM, PASSWORD));
    let (server, events) = server(queue_service(), TcpLimits::default(), directory).await;
    let phone = TcpStream::connect(server.tcp_addr()).await.unwrap();
    let local = phone.local_addr().unwrap();
    rung_on_its_connection(&server, events, phone, local, "TCP").await;
}

/// The same over TLS: our Via says `SIP/2.0/TLS` with the TLS listener's address, our Contact
/// `;transport=tls`, and the INVITE offers SRTP (RTP/SAVP with our key), which the phone's
/// answer keys back.
#[tokio::test]
async fn a_phone_registered_over_tls_is_rung_on_its_connection_with_an_srtp_offer() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, client) = certificate(dir.path());
    let directory = Arc::new(InMemoryDirectory::default().with_phone(USER, REALM, PASSWORD));
    let (server, events) =
        server_with_tls(queue_service(), TcpLimits::default(), directory, Some(settings)).await;
    let phone = tls_connect(&server, client, "127.0.0.1").await;
    let local = phone.get_ref().0.local_addr().unwrap();
    rung_on_its_connection(&server, events, phone, local, "TLS").await;
}

/// Calls to number 100 queue in Support; trunks at 127.0.0.1.
fn queue_service() -> ServiceConfig {
    let mut numbers = std::collections::HashMap::new();
    numbers.insert("100".to_owned(), Destination::Queue("Support".into()));
    ServiceConfig {
        trunks: vec!["127.0.0.1".parse().unwrap()],
        trust_trunks_over_udp: true,
        numbers,
        ..ServiceConfig::default()
    }
}

/// A phone on `phone` (a TCP or TLS connection from `local`) registers, a carrier's call comes
/// in, and the hub rings the phone on its connection; it answers and is ACKed there.
async fn rung_on_its_connection<S: AsyncRead + AsyncWrite + Unpin>(
    server: &SipServer,
    mut events: tokio::sync::mpsc::UnboundedReceiver<CallEvent>,
    mut phone: S,
    local: std::net::SocketAddr,
    transport: &str,
) {
    let lower = transport.to_ascii_lowercase();
    let mut buf = Vec::new();
    phone
        .write_all(register(local, transport, USER, 1, None).as_bytes())
        .await
        .unwrap();
    let challenge = next_message(&mut phone, &mut buf).await;
    assert_eq!(status(&challenge), "401", "{challenge}");
    phone
        .write_all(register(local, transport, USER, 2, Some(&nonce(&challenge))).as_bytes())
        .await
        .unwrap();
    let ok = next_message(&mut phone, &mut buf).await;
    assert_eq!(status(&ok), "200", "{ok}");
    assert!(
        ok.contains(";+sip.instance=\"<urn:uuid:tcp-1>\";reg-id=1;expires="),
        "{ok}"
    );

    // A carrier's call over UDP, queued; the hub rings the phone.
    let carrier = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    carrier.connect(server.udp_addr()).await.unwrap();
    let invite = format!(
        "INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKc1\r\n\
         From: <sip:+15550100@127.0.0.1>;tag=c\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: c1@carrier\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:carrier@{}>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        carrier.local_addr().unwrap(),
        carrier.local_addr().unwrap(),
        SDP.len()
    );
    carrier.send(invite.as_bytes()).await.unwrap();
    ack_the_answer(&carrier).await;
    let call = match tokio::time::timeout(ANSWER, events.recv()).await {
        Ok(Some(CallEvent::Incoming { call, .. })) => call,
        other => panic!("no incoming call: {other:?}"),
    };
    let contact = server.bindings_of(USER)[0].uri.clone();
    server.command(CallCommand::Ring {
        call,
        contacts: vec![contact],
        record: None,
    });
    let ringing = next_message(&mut phone, &mut buf).await;
    assert!(
        ringing.starts_with(&format!(
            "INVITE sip:1001@127.0.0.1:9;transport={lower} SIP/2.0\r\n"
        )),
        "{ringing}"
    );
    let ours = match transport {
        "TLS" => server.tls_addr().unwrap(),
        _ => server.udp_addr(),
    };
    assert!(
        ringing.contains(&format!("\r\nVia: SIP/2.0/{transport} {ours};")),
        "{ringing}"
    );
    assert!(
        ringing.contains(&format!("Contact: <sip:plugboard@{ours};transport={lower}>\r\n")),
        "{ringing}"
    );
    let srtp = transport == "TLS";
    assert_eq!(ringing.contains(" RTP/SAVP 0 101\r\n"), srtp, "{ringing}");
    assert_eq!(
        ringing.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
        srtp,
        "{ringing}"
    );

    // The phone answers on the same connection, with its own key over TLS.
    let header = |name: &str| {
        ringing
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap()
            .to_owned()
    };
    let sdp = if srtp {
        let key = MasterKey::new([5; 30]).to_inline();
        SDP.replace(
            "RTP/AVP 0\r\n",
            &format!("RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}\r\n"),
        )
    } else {
        SDP.to_owned()
    };
    let answer = format!(
        "SIP/2.0 200 OK\r\n{}\r\n{}\r\n{};tag=phone\r\n{}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:1001@127.0.0.1:9;transport={lower}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        header("Via"),
        header("From"),
        header("To"),
        header("Call-ID"),
        sdp.len()
    );
    phone.write_all(answer.as_bytes()).await.unwrap();
    let ack = next_message(&mut phone, &mut buf).await;
    assert!(ack.starts_with("ACK "), "{ack}");
    assert!(
        matches!(
            tokio::time::timeout(ANSWER, events.recv()).await,
            Ok(Some(CallEvent::AgentAnswered { .. }))
        ),
        "the agent's answer reaches the hub"
    );
}

/// Nothing a client does before or instead of a handshake harms the TLS listener: a connection
/// that never starts one is closed at the handshake deadline, garbage and plain SIP on the TLS
/// port are closed at once; meanwhile a client without SNI, and one with, are served.
#[tokio::test]
async fn the_tls_listener_survives_stalled_garbage_and_plain_clients() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, client) = certificate(dir.path());
    let limits = TcpLimits {
        handshake: Duration::from_millis(500),
        ..TcpLimits::default()
    };
    let directory = Arc::new(InMemoryDirectory::default());
    let (server, _events) =
        server_with_tls(ServiceConfig::default(), limits, directory, Some(settings)).await;
    let tls = server.tls_addr().unwrap();
    let options = |transport: &str, branch: &str| {
        format!(
            "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:9;branch=z9hG4bK{branch}\r\n\
             From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: {branch}\r\n\
             CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
    };

    let mut stalled = TcpStream::connect(tls).await.unwrap();
    let mut garbage = TcpStream::connect(tls).await.unwrap();
    garbage
        .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x02, 0x03])
        .await
        .unwrap();
    garbage.write_all(&[0x5a; 4096]).await.unwrap();
    let mut plain = TcpStream::connect(tls).await.unwrap();
    plain.write_all(options("TCP", "plain").as_bytes()).await.unwrap();
    assert!(ended_within(&mut garbage, ANSWER).await, "garbage is closed");
    assert!(
        ended_within(&mut plain, ANSWER).await,
        "plain SIP on the TLS port is closed"
    );

    // While the stalled one holds its connection: a client by IP address (no SNI) and one by
    // name with SNI turned off, then one with SNI, each answered over TLS.
    let no_sni = {
        let mut config = (*client).clone();
        config.enable_sni = false;
        Arc::new(config)
    };
    for (what, config, name) in [
        ("by address", client.clone(), "127.0.0.1"),
        ("by name without SNI", no_sni, "localhost"),
        ("by name with SNI", client, "localhost"),
    ] {
        let mut phone = tls_connect(&server, config, name).await;
        phone.write_all(options("TLS", "ok").as_bytes()).await.unwrap();
        let answer = next_message(&mut phone, &mut Vec::new()).await;
        assert_eq!(status(&answer), "200", "{what}: {answer}");
    }
    assert!(
        closed_within(&mut stalled, Duration::from_secs(2)).await,
        "a handshake that never starts is closed at its deadline"
    );
}

/// The phone's connection is gone when the hub rings it (it went away without unregistering):
/// connecting again fails, and the hub hears at once that the phone cannot be reached (a
/// transport error, RFC 3261 §8.1.3.1), not half a minute later by Timer B, after the offer
/// has timed out.
#[tokio::test]
async fn a_tcp_phone_whose_connection_is_gone_fails_the_call_at_once() {
    let mut numbers = std::collections::HashMap::new();
    numbers.insert("100".to_owned(), Destination::Queue("Support".into()));
    let service = ServiceConfig {
        trunks: vec!["127.0.0.1".parse().unwrap()],
        trust_trunks_over_udp: true,
        numbers,
        ..ServiceConfig::default()
    };
    let directory = Arc::new(InMemoryDirectory::default().with_phone(USER, REALM, PASSWORD));
    let (server, mut events) = server(service, TcpLimits::default(), directory).await;
    let mut phone = TcpStream::connect(server.tcp_addr()).await.unwrap();
    let local = phone.local_addr().unwrap();
    register_over_tcp(&mut phone, local).await;
    drop(phone);

    let (_carrier, call) = queued_call(&server, &mut events, 2).await;
    let contact = server.bindings_of(USER)[0].uri.clone();
    server.command(CallCommand::Ring {
        call,
        contacts: vec![contact],
        record: None,
    });
    let failed = tokio::time::timeout(ANSWER, events.recv()).await;
    assert!(
        matches!(failed, Ok(Some(CallEvent::AgentUnreachable { call: c })) if c == call),
        "{failed:?}"
    );
}

/// The phone on `phone` (from `local`) registers over TCP, answering the challenge.
async fn register_over_tcp(phone: &mut TcpStream, local: std::net::SocketAddr) {
    let mut buf = Vec::new();
    phone
        .write_all(register(local, "TCP", USER, 1, None).as_bytes())
        .await
        .unwrap();
    let challenge = next_message(phone, &mut buf).await;
    phone
        .write_all(register(local, "TCP", USER, 2, Some(&nonce(&challenge))).as_bytes())
        .await
        .unwrap();
    assert_eq!(status(&next_message(phone, &mut buf).await), "200");
}

/// A carrier's call to 100 over UDP (Call-ID `c{n}@carrier`), answered, ACKed and queued: the
/// carrier's socket and the call.
async fn queued_call(
    server: &SipServer,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<CallEvent>,
    n: u32,
) -> (UdpSocket, plugboard_sip::b2bua::CallId) {
    let carrier = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    carrier.connect(server.udp_addr()).await.unwrap();
    let invite = format!(
        "INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {0};branch=z9hG4bKc{n}\r\n\
         From: <sip:+15550100@127.0.0.1>;tag=c\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: c{n}@carrier\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:carrier@{0}>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {1}\r\n\r\n{SDP}",
        carrier.local_addr().unwrap(),
        SDP.len()
    );
    carrier.send(invite.as_bytes()).await.unwrap();
    ack_the_answer(&carrier).await;
    match tokio::time::timeout(ANSWER, events.recv()).await {
        Ok(Some(CallEvent::Incoming { call, .. })) => (carrier, call),
        other => panic!("no incoming call: {other:?}"),
    }
}

/// A phone on TCP that stops reading while it keeps sending (a stalled network, or a hostile
/// client) holds nothing for long: the server's write to it waits at most the write timeout, the
/// INVITEs queued for it past its queue of 2 are not kept, and once the connection is closed
/// every call rung on it fails at once (not after Timer B's 32 s); other clients are answered
/// throughout.
#[tokio::test]
async fn a_phone_that_stops_reading_is_disconnected_and_its_calls_fail_at_once() {
    let limits = TcpLimits {
        queue: 2,
        write_timeout: Duration::from_secs(4),
        ..TcpLimits::default()
    };
    let directory = Arc::new(InMemoryDirectory::default().with_phone(USER, REALM, PASSWORD));
    let (server, mut events) = server(queue_service(), limits, directory).await;
    // A small receive buffer: the server's writes wait after a few hundred answers.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut phone = socket.connect(server.tcp_addr()).await.unwrap();
    let local = phone.local_addr().unwrap();
    register_over_tcp(&mut phone, local).await;
    let contact = server.bindings_of(USER)[0].uri.clone();

    // From now on the phone only writes: OPTIONS, until the server's answers fill the buffers
    // and it stops reading too (its write waits), then until the server closes the connection.
    let options = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKo\r\n\
                   From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: o\r\n\
                   CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let (reader, mut writer) = phone.into_split();
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let flood = {
        let written = written.clone();
        let batch = options.repeat(500);
        tokio::spawn(async move {
            while writer.write_all(batch.as_bytes()).await.is_ok() {
                written.fetch_add(batch.len(), std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = written.load(std::sync::atomic::Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }

    // Three calls rung on it meanwhile: more than its queue holds.
    let mut calls = Vec::new();
    for n in 10..13 {
        let (carrier, call) = queued_call(&server, &mut events, n).await;
        server.command(CallCommand::Ring {
            call,
            contacts: vec![contact.clone()],
            record: None,
        });
        calls.push((carrier, call));
    }
    // Another client is answered while the phone's connection is stuck.
    let mut other = TcpStream::connect(server.tcp_addr()).await.unwrap();
    other.write_all(options.as_bytes()).await.unwrap();
    assert_eq!(status(&next_message(&mut other, &mut Vec::new()).await), "200");

    let rung = tokio::time::Instant::now();
    let mut failed = Vec::new();
    while failed.len() < calls.len() {
        match tokio::time::timeout(Duration::from_secs(8), events.recv()).await {
            Ok(Some(CallEvent::AgentUnreachable { call } | CallEvent::AgentFailed { call, .. })) => {
                failed.push(call);
            }
            Ok(Some(_)) => {}
            other => panic!("the calls rung on it did not fail: {failed:?}, then {other:?}"),
        }
    }
    // Within the write timeout, not Timer B's 32 s.
    assert!(rung.elapsed() < Duration::from_secs(8), "{:?}", rung.elapsed());
    let mut want: Vec<_> = calls.iter().map(|(_, call)| *call).collect();
    want.sort_by_key(|c| c.0);
    failed.sort_by_key(|c| c.0);
    assert_eq!(failed, want);
    tokio::time::timeout(Duration::from_secs(5), flood)
        .await
        .expect("the connection was closed")
        .unwrap();
    drop(reader);
}

/// A directory whose lookup of one user panics, standing in for any bug met while handling one
/// message.
struct Panicking(InMemoryDirectory);

impl PhoneDirectory for Panicking {
    fn credentials(&self, user: &str) -> Option<PhoneCredentials> {
        assert_ne!(user, "boom", "a bug in the directory");
        self.0.credentials(user)
    }
}

/// A panic while handling one message drops that message (and closes its TCP connection), and
/// both listeners go on serving. Before, the panic ended the UDP task: the hub took no more calls.
#[tokio::test]
async fn a_panic_in_one_message_leaves_the_listeners_serving() {
    let directory = Arc::new(Panicking(
        InMemoryDirectory::default().with_phone(USER, REALM, PASSWORD),
    ));
    let (server, _events) = server(ServiceConfig::default(), TcpLimits::default(), directory).await;
    let options = |branch: &str| {
        format!(
            "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{branch}\r\n\
             From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: {branch}\r\n\
             CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
    };

    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.connect(server.udp_addr()).await.unwrap();
    let boom = register(udp.local_addr().unwrap(), "UDP", "boom", 1, Some("bm9uY2U="));
    udp.send(boom.as_bytes()).await.unwrap();
    udp.send(options("after-udp").as_bytes()).await.unwrap();
    let answer = common::recv(&udp).await;
    assert!(
        answer.starts_with("SIP/2.0 200 ") && answer.contains("Call-ID: after-udp\r\n"),
        "{answer}"
    );

    let mut tcp = TcpStream::connect(server.tcp_addr()).await.unwrap();
    let boom = register(tcp.local_addr().unwrap(), "TCP", "boom", 1, Some("bm9uY2U="));
    tcp.write_all(boom.as_bytes()).await.unwrap();
    assert!(
        closed_within(&mut tcp, ANSWER).await,
        "the connection of the panic is closed"
    );
    let mut fresh = TcpStream::connect(server.tcp_addr()).await.unwrap();
    fresh.write_all(options("after-tcp").as_bytes()).await.unwrap();
    let answer = next_message(&mut fresh, &mut Vec::new()).await;
    assert_eq!(status(&answer), "200", "{answer}");
}

/// Past its limit, an address's next connection is closed at once; a connection that sends
/// nothing is closed after the first-message wait, one that goes quiet after the idle time; a
/// keep-alive ping (RFC 5626 §3.5.1) is answered and keeps it open.
#[tokio::test]
async fn tcp_connections_are_limited_per_address_and_closed_when_idle() {
    let limits = TcpLimits {
        per_address: 2,
        first_message: Duration::from_millis(400),
        idle: Duration::from_millis(1200),
        ..TcpLimits::default()
    };
    let directory = Arc::new(InMemoryDirectory::default());
    let (server, _events) = server(ServiceConfig::default(), limits, directory).await;
    let mut silent = TcpStream::connect(server.tcp_addr()).await.unwrap();
    let mut talking = TcpStream::connect(server.tcp_addr()).await.unwrap();
    let mut third = TcpStream::connect(server.tcp_addr()).await.unwrap();
    assert!(
        closed_within(&mut third, Duration::from_millis(300)).await,
        "a third connection is refused"
    );

    let options = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKk\r\n\
                   From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: k\r\n\
                   CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    talking.write_all(options.as_bytes()).await.unwrap();
    assert_eq!(status(&next_message(&mut talking, &mut Vec::new()).await), "200");
    assert!(
        closed_within(&mut silent, Duration::from_secs(2)).await,
        "the silent one is closed"
    );
    // Its slot is free again.
    let mut another = TcpStream::connect(server.tcp_addr()).await.unwrap();
    another.write_all(options.as_bytes()).await.unwrap();
    assert_eq!(status(&next_message(&mut another, &mut Vec::new()).await), "200");

    // A ping at mid-idle gets its pong and keeps the connection past its first idle deadline.
    tokio::time::sleep(Duration::from_millis(700)).await;
    talking.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0; 2];
    tokio::time::timeout(ANSWER, talking.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");
    assert!(
        !closed_within(&mut talking, Duration::from_millis(700)).await,
        "kept open by the ping"
    );
    assert!(
        closed_within(&mut talking, Duration::from_secs(2)).await,
        "closed once idle"
    );
}
