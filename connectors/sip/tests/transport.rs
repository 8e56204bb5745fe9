//! The SIP transport over real sockets, with hand-written bytes: what a broken or hostile peer
//! sends, on UDP and TCP. The server runs in-process on 127.0.0.1:0.

mod common;

use common::{ANSWER, recv, start};
use plugboard_sip::digest::{self, Algorithm};
use plugboard_sip::limiter::LimiterConfig;
use plugboard_sip::service::ServiceConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

fn request(method: &str, branch: &str, omit: &str) -> String {
    let headers = [
        format!("Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{branch}"),
        "From: <sip:probe@127.0.0.1>;tag=p".to_owned(),
        "To: <sip:pbx@127.0.0.1>".to_owned(),
        format!("Call-ID: {branch}@test"),
        format!("CSeq: 1 {method}"),
        "Max-Forwards: 70".to_owned(),
    ];
    let mut text = format!("{method} sip:pbx@127.0.0.1 SIP/2.0\r\n");
    for h in headers.iter().filter(|h| omit.is_empty() || !h.starts_with(omit)) {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    text
}

fn status(response: &str) -> &str {
    response.get(8..11).unwrap_or(response)
}

async fn client(server: std::net::SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(server).await.unwrap();
    socket
}

#[tokio::test]
async fn garbage_is_dropped_and_the_server_keeps_serving() {
    let server = start(ServiceConfig::default()).await;
    let socket = client(server.udp_addr()).await;
    for garbage in [
        &b"\x16\x03\x01\x02\x00hello"[..],
        b"\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        socket.send(garbage).await.unwrap();
    }
    // Datagrams on loopback keep their order: the first answer is to the OPTIONS sent after the
    // garbage, so the garbage got none.
    socket
        .send(request("OPTIONS", "after", "").as_bytes())
        .await
        .unwrap();
    let answer = recv(&socket).await;
    assert!(answer.contains("CSeq: 1 OPTIONS"), "{answer}");
    assert_eq!(status(&answer), "200", "{answer}");
    assert_eq!(server.unparseable(), 3);
}

#[tokio::test]
async fn invalid_and_unknown_requests_are_refused() {
    let server = start(ServiceConfig::default()).await;
    let socket = client(server.udp_addr()).await;
    // (what, request, status, a line the answer must have)
    let cases = [
        (
            "OPTIONS",
            request("OPTIONS", "ok", ""),
            "200",
            "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER",
        ),
        (
            "no Via",
            request("OPTIONS", "v", "Via"),
            "400",
            "SIP/2.0 400 Missing Via header",
        ),
        (
            "no Call-ID",
            request("OPTIONS", "c", "Call-ID"),
            "400",
            "SIP/2.0 400 Missing Call-ID header",
        ),
        (
            "no CSeq",
            request("OPTIONS", "s", "CSeq"),
            "400",
            "SIP/2.0 400 Missing CSeq header",
        ),
        ("unknown method", request("FROBNICATE", "f", ""), "501", "Allow: "),
        (
            "known, not served",
            request("SUBSCRIBE", "s2", ""),
            "405",
            "Allow: ",
        ),
        (
            "INVITE from no trunk, without credentials",
            request("INVITE", "i", ""),
            "407",
            "Proxy-Authenticate: Digest ",
        ),
    ];
    for (what, text, want, line) in cases {
        socket.send(text.as_bytes()).await.unwrap();
        let answer = recv(&socket).await;
        assert_eq!(status(&answer), want, "{what}: {answer}");
        assert!(answer.contains(line), "{what}: {answer}");
    }
}

#[tokio::test]
async fn a_retransmitted_request_gets_the_same_answer() {
    let server = start(ServiceConfig::default()).await;
    let socket = client(server.udp_addr()).await;
    let text = request("REGISTER", "retrans", "").replace("To: <sip:pbx@", "To: <sip:1001@");
    socket.send(text.as_bytes()).await.unwrap();
    let first = recv(&socket).await;
    socket.send(text.as_bytes()).await.unwrap();
    let second = recv(&socket).await;
    assert_eq!(status(&first), "401", "{first}");
    // The same nonce and To tag: the transaction layer replayed the response (RFC 3261 §17.2.2).
    assert_eq!(first, second);
}

/// Reads until `count` responses have arrived (each ends with an empty line, no body).
async fn read_responses(stream: &mut TcpStream, count: usize) -> Vec<String> {
    let mut text = String::new();
    let mut buf = [0; 4096];
    while text.matches("\r\n\r\n").count() < count {
        let n = tokio::time::timeout(ANSWER, stream.read(&mut buf))
            .await
            .expect("answers in time")
            .expect("read");
        assert!(n > 0, "connection closed early after {text:?}");
        text.push_str(std::str::from_utf8(&buf[..n]).unwrap());
    }
    text.split_inclusive("\r\n\r\n").map(str::to_owned).collect()
}

#[tokio::test]
async fn tcp_frames_messages_and_closes_only_a_bad_connection() {
    let server = start(ServiceConfig::default()).await;
    let mut good = TcpStream::connect(server.tcp_addr()).await.unwrap();
    let mut bad = TcpStream::connect(server.tcp_addr()).await.unwrap();

    // Two requests in one write: both answered, in order.
    let two = format!("{}{}", request("OPTIONS", "t1", ""), request("FROB", "t2", ""));
    good.write_all(two.as_bytes()).await.unwrap();
    let answers = read_responses(&mut good, 2).await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(
        (status(&answers[0]), status(&answers[1])),
        ("200", "501"),
        "{answers:?}"
    );

    // Garbage closes that connection: the read sees end-of-stream, with no answer.
    bad.write_all(b"this is not SIP\r\n\r\n").await.unwrap();
    let mut buf = [0; 64];
    let n = tokio::time::timeout(ANSWER, bad.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "no answer to garbage: {:?}", &buf[..n]);

    // The good connection is still served.
    good.write_all(request("OPTIONS", "t3", "").as_bytes())
        .await
        .unwrap();
    let answers = read_responses(&mut good, 1).await;
    assert_eq!(status(&answers[0]), "200", "{answers:?}");
}

/// A 72 KiB message on a stream, whose header (8 KiB) and body (64 KiB) are each within their
/// limits: refused, the connection closed without an answer, as no datagram could be that long.
#[tokio::test]
async fn a_message_longer_than_any_datagram_is_refused_on_tcp() {
    let server = start(ServiceConfig::default()).await;
    let mut stream = TcpStream::connect(server.tcp_addr()).await.unwrap();
    let body = "b".repeat(64 * 1024);
    let big = request("OPTIONS", "big", "").replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "X-Pad: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            "p".repeat(8 * 1024),
            body.len()
        ),
    );
    assert!(big.len() > 72 * 1024, "{}", big.len());
    // The server may close before reading it all: a failed write is a refusal too.
    let _ = stream.write_all(big.as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(ANSWER, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection stays open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains("SIP/2.0 200"), "{answer}");
}

/// A REGISTER for 1001 from `socket`, with an `Authorization` for `password` if a nonce is given.
async fn register(socket: &UdpSocket, branch: &str, cseq: u32, auth: Option<(&str, &str)>) -> String {
    let local = socket.local_addr().unwrap();
    let mut text = format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch}\r\n\
         From: <sip:1001@127.0.0.1>;tag=r\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: reg-{local}\r\n\
         CSeq: {cseq} REGISTER\r\nContact: <sip:1001@{local}>\r\nMax-Forwards: 70\r\n"
    );
    if let Some((nonce, password)) = auth {
        let alg = Algorithm::Sha256;
        let ha1 = digest::ha1(alg, common::USER, common::REALM, password);
        let nc = digest::NonceCount::parse("00000001").unwrap();
        let response =
            digest::request_digest(alg, &ha1, nonce, Some((&nc, "c")), "REGISTER", "sip:127.0.0.1");
        text.push_str(&format!(
            "Authorization: Digest username=\"1001\", realm=\"plugboard\", nonce=\"{nonce}\", \
             uri=\"sip:127.0.0.1\", response=\"{response}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c\"\r\n"
        ));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    socket.send(text.as_bytes()).await.unwrap();
    recv(socket).await
}

fn nonce(challenge: &str) -> String {
    let start = challenge.find("nonce=\"").expect("a challenge") + 7;
    challenge[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_password_guessing_flood_is_limited_to_its_source() {
    let server = start(ServiceConfig {
        limiter: LimiterConfig {
            max_failures: 3,
            window: std::time::Duration::from_secs(60),
        },
        ..ServiceConfig::default()
    })
    .await;
    // Two source addresses on loopback: the attacker at 127.0.0.2, the phone at 127.0.0.1.
    let attacker = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    attacker.connect(server.udp_addr()).await.unwrap();
    let phone = client(server.udp_addr()).await;

    let challenge = register(&attacker, "a0", 1, None).await;
    assert_eq!(status(&challenge), "401", "{challenge}");
    let n = nonce(&challenge);
    let mut codes = Vec::new();
    for i in 1..=5 {
        let answer = register(&attacker, &format!("a{i}"), i + 1, Some((&n, "guess"))).await;
        codes.push(status(&answer).to_owned());
    }
    assert_eq!(codes, ["403", "403", "403", "503", "503"]);

    let challenge = register(&phone, "p0", 1, None).await;
    assert_eq!(status(&challenge), "401", "{challenge}");
    let ok = register(&phone, "p1", 2, Some((&nonce(&challenge), common::PASSWORD))).await;
    assert_eq!(status(&ok), "200", "{ok}");
    assert_eq!(server.bindings("sip:1001@127.0.0.1").len(), 1);
}

/// A node behind 1:1 NAT advertises its public address (192.0.2.10, which no machine here has)
/// in its SDP, and still takes the call: RTP opens on the address SIP listens on.
#[tokio::test]
async fn behind_nat_the_sdp_names_the_public_address_and_rtp_opens_on_ours() {
    let mut numbers = std::collections::HashMap::new();
    numbers.insert(
        "100".to_owned(),
        plugboard_sip::b2bua::Destination::Queue("Support".into()),
    );
    let service = ServiceConfig {
        trunks: vec!["127.0.0.1".parse().unwrap()],
        trust_trunks_over_udp: true,
        numbers,
        media_ip: Some("192.0.2.10".parse().unwrap()),
        ..ServiceConfig::default()
    };
    let server = start(service).await;
    let socket = client(server.udp_addr()).await;
    let sdp = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
    let invite = format!(
        "INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnat\r\n\
         From: <sip:carrier@127.0.0.1>;tag=nat\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: nat@test\r\n\
         CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    socket.send(invite.as_bytes()).await.unwrap();
    let mut answer = recv(&socket).await;
    while status(&answer) == "100" {
        answer = recv(&socket).await;
    }
    assert_eq!(status(&answer), "200", "{answer}");
    assert!(answer.contains("c=IN IP4 192.0.2.10\r\n"), "{answer}");
    let port: u16 = answer
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("an m=audio line with a port");
    // The advertised port is held on the listening address: nobody else can bind it there.
    let taken = std::net::UdpSocket::bind(("127.0.0.1", port));
    assert_eq!(
        taken.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::AddrInUse),
        "RTP port {port} is not open on 127.0.0.1"
    );
}
