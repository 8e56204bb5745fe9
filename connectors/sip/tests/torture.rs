//! Torture messages at a running SIP server, one per category of RFC 4475 ("SIP Torture Test
//! Messages"), written for this suite in the spirit of each of its cases: folded and compact
//! headers, odd but legal characters and escapes, huge values, unknown schemes and transports,
//! multipart bodies, stray responses, and the invalid kinds (bad Content-Length, overflowing
//! numbers, unterminated quotes, bracketed Request-URIs, other SIP versions). Valid ones are
//! answered and handled (an INVITE to the queue's number becomes a call); invalid ones get 400 or
//! are dropped, never a 2xx; afterwards the server still answers and still takes a call.

mod common;

use std::time::Duration;

use common::start_with_events;
use plugboard_sip::b2bua::{CallEvent, Destination};
use plugboard_sip::service::ServiceConfig;
use tokio::net::UdpSocket;

/// What RFC 4475 expects of the server for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A valid request: some answer (its status is the server's business) that is not a 5xx
    /// (a 5xx from us would mean we choked on it).
    Handled,
    /// A valid request that must be answered with exactly this status.
    Status(u16),
    /// Invalid: 400, or dropped without an answer; never anything else.
    Rejected,
    /// A response nobody asked for: ignored.
    Ignored,
}

const SDP: &str =
    "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";

/// A request with the usual headers around `extra`, to `uri`, with `body`.
fn request(method: &str, uri: &str, branch: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{branch}\r\n\
         From: <sip:torture@127.0.0.1>;tag={branch}\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: {branch}@torture\r\n\
         CSeq: 1 {method}\r\nMax-Forwards: 70\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn cases() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let long = "x".repeat(4000);
    let many_vias = (0..40)
        .map(|i| format!("Via: SIP/2.0/UDP 192.0.2.{i}:5060;branch=z9hG4bKv{i}\r\n"))
        .collect::<String>();
    vec![
        // §3.1.1.1 style: folded lines, odd case, compact names, several Vias in one header,
        // LWS around colons, an unknown header with unusual characters.
        (
            "tortuous INVITE",
            format!(
                "INVITE sip:100@127.0.0.1 SIP/2.0\r\nTO :\r\n <sip:100@127.0.0.1>\r\nfrom   : \"Ann \\\"the caller\\\"\"\r\n  <sip:torture@127.0.0.1>;tag=wsinv\r\n\
                 v:  SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKwsinv , SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKfar\r\n\
                 i: wsinv@torture\r\ncSeQ:\r\n  1\r\n  INVITE\r\nMax-Forwards: 70\r\nNewFangledHeader:   newfangled value\r\n continued newfangled value\r\n\
                 UnknownHeaderWithUnusualValue: ;;,,;;,;\r\nc: application/sdp\r\nl: {}\r\n\r\n{SDP}",
                SDP.len()
            )
            .into_bytes(),
            Expect::Status(200),
        ),
        // §3.1.1.2 style: a method token using every legal odd character, and odd header names.
        (
            "wide range of valid characters",
            request("!interesting-Method0123456789_*+`.%indeed'~", "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@127.0.0.1", "intmeth", "extensionHeader-!.%*+_`'~: \u{ef}\u{bb}\u{bf}\u{5927}\u{5ea6}\u{5e95}\r\n", ""),
            Expect::Status(501),
        ),
        // §3.1.1.3-5 style: escapes in the Request-URI, an escaped null, escaped parameters.
        ("escaped user", request("OPTIONS", "sip:%31%30%30@127.0.0.1", "esc01", "", ""), Expect::Status(200)),
        ("escaped null", request("OPTIONS", "sip:null-%00-null@127.0.0.1", "escnull", "", ""), Expect::Status(200)),
        ("escaped parameter", request("OPTIONS", "sip:100@127.0.0.1;param=%22quoted%22", "esc02", "", ""), Expect::Status(200)),
        // §3.1.1.6 style: LWS between display name and URI, and none at all.
        ("display-name spacing", request("OPTIONS", "sip:100@127.0.0.1", "lwsdisp", "Contact: caller<sip:torture@127.0.0.1>\r\n", ""), Expect::Status(200)),
        // §3.1.1.7 style: very long values and many Vias.
        ("long values", request("OPTIONS", "sip:100@127.0.0.1", "longreq", &format!("X-Long: {long}\r\n{many_vias}"), ""), Expect::Status(200)),
        // §3.1.1.8 style: octets after the body the Content-Length counts (ignored on UDP).
        (
            "extra trailing octets",
            [request("OPTIONS", "sip:100@127.0.0.1", "dblreq", "", ""), b"REGISTER sip:x SIP/2.0\r\n\r\n".to_vec()].concat(),
            Expect::Status(200),
        ),
        // §3.1.1.9 style: semicolons in the user part.
        ("semicolons in user", request("OPTIONS", "sip:user;par=u%40example.net@127.0.0.1", "semiuri", "", ""), Expect::Status(200)),
        // §3.1.1.10 style: a transport we have never heard of in a Via further down.
        (
            "unknown transports",
            request("OPTIONS", "sip:100@127.0.0.1", "transports", "Via: SIP/2.0/SCTP 192.0.2.2;branch=z9hG4bKs\r\nVia: SIP/2.0/UNKNOWN 192.0.2.3;branch=z9hG4bKu\r\n", ""),
            Expect::Status(200),
        ),
        // §3.1.1.11 style: a multipart body on an INVITE (no SDP part we read: not acceptable).
        (
            "multipart body",
            request("INVITE", "sip:100@127.0.0.1", "mpart01", "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\r\n", "--7a9cbec02ceef655\r\nContent-Type: text/plain\r\n\r\nhello\r\n--7a9cbec02ceef655--\r\n"),
            Expect::Handled,
        ),
        // §3.1.1.12/13 style: responses with an unusual or empty reason phrase, matching nothing.
        ("unusual reason phrase", b"SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKunreason\r\nCall-ID: unreason\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nContent-Length: 0\r\n\r\n".to_vec(), Expect::Ignored),
        ("no reason phrase", b"SIP/2.0 100 \r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnoreason\r\nCall-ID: noreason\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nContent-Length: 0\r\n\r\n".to_vec(), Expect::Ignored),
        // §3.1.1.x: a URI scheme we do not serve, a number we do not know.
        ("unknown scheme", request("INVITE", "soap.beep://192.0.2.4:3002", "unksm", "Content-Type: application/sdp\r\n", SDP), Expect::Handled),
        // §3.1.2.1 style: a Content-Length larger than the body (UDP: the message is broken).
        ("Content-Length too large", b"OPTIONS sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKclerr\r\nFrom: <sip:t@127.0.0.1>;tag=c\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: clerr\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9999\r\n\r\nshort".to_vec(), Expect::Rejected),
        ("negative Content-Length", b"OPTIONS sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKncl\r\nFrom: <sip:t@127.0.0.1>;tag=c\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: ncl\r\nCSeq: 1 OPTIONS\r\nContent-Length: -999\r\n\r\n".to_vec(), Expect::Rejected),
        // §3.1.2.2 style: numbers that overflow.
        ("overflowing CSeq", request("OPTIONS", "sip:100@127.0.0.1", "scalar02", "", "").replace_cseq("36893488147419103232 OPTIONS"), Expect::Rejected),
        // §3.1.2.3 style: an unterminated quoted display name.
        ("unterminated quote", request("OPTIONS", "sip:100@127.0.0.1", "quotbal", "Contact: \"Mr J. User <sip:j.user@192.0.2.5>\r\n", "").replace_from("\"Bob <sip:torture@127.0.0.1>;tag=q"), Expect::Rejected),
        // §3.1.2.4 style: a Request-URI in angle brackets.
        ("bracketed Request-URI", request("OPTIONS", "<sip:100@127.0.0.1>", "ltgtruri", "", ""), Expect::Rejected),
        // §3.1.2.5 style: a Request-URI with spaces in it.
        ("spaces in Request-URI", request("OPTIONS", "sip:100@127.0.0.1;lr;a=b c", "lwsruri", "", ""), Expect::Rejected),
        // §3.1.2.6 style: another SIP version.
        ("SIP/7.0", b"OPTIONS sip:100@127.0.0.1 SIP/7.0\r\nVia: SIP/7.0/UDP 127.0.0.1:9;branch=z9hG4bKbadvers\r\nFrom: <sip:t@127.0.0.1>;tag=v\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: badvers\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".to_vec(), Expect::Rejected),
        // §3.1.2.7 style: the CSeq method is not the request's.
        ("CSeq method mismatch", request("OPTIONS", "sip:100@127.0.0.1", "mismatch", "", "").replace_cseq("1 INVITE"), Expect::Rejected),
        // Missing the headers every request must carry.
        ("no Call-ID", request("OPTIONS", "sip:100@127.0.0.1", "nocallid", "", "").without("Call-ID"), Expect::Rejected),
        // A NUL octet inside a header value: two parsers cut the value in two different places.
        ("NUL in a header value", request("OPTIONS", "sip:100@127.0.0.1", "nulhdr", "Subject: before\0after\r\n", ""), Expect::Rejected),
        // Not SIP at all, and a datagram of nothing but line ends.
        ("binary junk", vec![0x16, 0x03, 0x01, 0xff, 0x00, 0x80, 0x0d, 0x0a], Expect::Rejected),
        ("only CRLFs", b"\r\n\r\n\r\n\r\n".to_vec(), Expect::Rejected),
    ]
}

/// Small edits on a message's text, for the invalid variants.
trait Edit {
    fn replace_cseq(self, value: &str) -> Vec<u8>;
    fn replace_from(self, value: &str) -> Vec<u8>;
    fn without(self, header: &str) -> Vec<u8>;
}

impl Edit for Vec<u8> {
    fn replace_cseq(self, value: &str) -> Vec<u8> {
        replace_header(self, "CSeq", Some(value))
    }
    fn replace_from(self, value: &str) -> Vec<u8> {
        replace_header(self, "From", Some(value))
    }
    fn without(self, header: &str) -> Vec<u8> {
        replace_header(self, header, None)
    }
}

fn replace_header(message: Vec<u8>, name: &str, value: Option<&str>) -> Vec<u8> {
    let text = String::from_utf8(message).expect("these are text");
    let prefix = format!("{name}: ");
    text.split_inclusive("\r\n")
        .filter_map(|line| match line.strip_prefix(&prefix) {
            Some(_) => value.map(|v| format!("{prefix}{v}\r\n")),
            None => Some(line.to_owned()),
        })
        .collect::<String>()
        .into_bytes()
}

/// The status of the answer to `bytes`, or `None` when nothing comes back. Any final answer to
/// an INVITE is ACKed, as a caller would, so that its retransmissions (the B2BUA's for a 200,
/// Timer G's for an error) do not arrive as later answers. The ACK of an error is part of the
/// INVITE's transaction and carries its Via (§17.1.1.3).
async fn send(socket: &UdpSocket, bytes: &[u8]) -> Option<u16> {
    socket.send(bytes).await.expect("send");
    let mut buf = vec![0; 65_535];
    let len = tokio::time::timeout(Duration::from_millis(300), socket.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..len]).into_owned();
    let status = text.get(8..11).and_then(|s| s.parse().ok());
    if status.is_some_and(|s| s >= 200) && text.contains(" INVITE\r\n") {
        let header = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{name}:")))
                .unwrap_or_default()
                .to_owned()
        };
        let cseq = header("CSeq").replace("INVITE", "ACK");
        let via = match status {
            Some(200) => format!("Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKack{}", text.len()),
            _ => header("Via"),
        };
        let ack = format!(
            "ACK sip:plugboard@127.0.0.1 SIP/2.0\r\n{via}\r\n{}\r\n{}\r\n{}\r\n{cseq}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            header("From"),
            header("To"),
            header("Call-ID"),
        );
        socket.send(ack.as_bytes()).await.expect("send");
    }
    status
}

#[tokio::test]
async fn torture_messages_are_handled_or_refused_and_the_server_keeps_serving() {
    let mut numbers = std::collections::HashMap::new();
    numbers.insert("100".to_owned(), Destination::Queue("Support".into()));
    let service = ServiceConfig {
        trunks: vec!["127.0.0.1".parse().unwrap()],
        trust_trunks_over_udp: true,
        numbers,
        ..ServiceConfig::default()
    };
    let (server, mut events) = start_with_events(service).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(server.udp_addr()).await.unwrap();

    let mut failures = Vec::new();
    for (name, bytes, expect) in cases() {
        let got = send(&socket, &bytes).await;
        let ok = match expect {
            Expect::Handled => got.is_some_and(|s| s < 500),
            Expect::Status(want) => got == Some(want),
            Expect::Rejected => got.is_none() || got == Some(400),
            Expect::Ignored => got.is_none(),
        };
        if !ok {
            failures.push(format!("{name}: expected {expect:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The tortuous INVITE was a real call to the queue's number: the hub heard of it.
    let event = tokio::time::timeout(Duration::from_secs(1), events.recv()).await;
    assert!(
        matches!(event, Ok(Some(CallEvent::Incoming { ref dialled, .. })) if dialled == "100"),
        "{event:?}"
    );
    // And the server still serves: OPTIONS, and a plain call.
    let options = request("OPTIONS", "sip:100@127.0.0.1", "after", "", "");
    assert_eq!(send(&socket, &options).await, Some(200));
    let invite = request(
        "INVITE",
        "sip:100@127.0.0.1",
        "aftercall",
        "Content-Type: application/sdp\r\n",
        SDP,
    );
    assert_eq!(send(&socket, &invite).await, Some(200));
    assert!(server.unparseable() > 0, "the junk was counted");
}
