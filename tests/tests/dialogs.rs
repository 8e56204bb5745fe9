//! A call's dialog with the real hub, driven by a few lines of raw SIP over UDP as a carrier or an
//! attacker would send them (what sipp scenarios cannot easily vary): tags that do not match,
//! an INVITE without SDP, a caller's hold, RTP from a stranger, a missing ACK, a final error
//! that must be sent again until its ACK, session timers and DTMF by SIP INFO.

use plugboard_tests::Hub;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::{Instant, timeout, timeout_at};

/// A hub taking calls on number 100 (the Support queue) and 200 (a menu: 2 for Support) from a
/// trunk at 127.0.0.1.
async fn hub(dir: &std::path::Path) -> (Hub, SocketAddr) {
    let env = [
        ("PLUGBOARD_SIP__LISTEN", "127.0.0.1:0"),
        ("PLUGBOARD_SIP__TRUNKS", "[\"127.0.0.1\"]"),
        ("PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP", "true"),
        ("PLUGBOARD_SIP__NUMBERS__100", "Support"),
        ("PLUGBOARD_SIP__MENUS__200__2", "Support"),
    ];
    let hub = Hub::start(dir, &env).await.unwrap();
    let sip = hub.sip_udp.clone().expect("the hub says where SIP listens");
    (hub, sip.parse().unwrap())
}

/// A carrier's side of one call: its SIP socket and its RTP socket.
struct Carrier {
    sip: UdpSocket,
    rtp: UdpSocket,
    hub: SocketAddr,
    call_id: String,
    /// The hub's To tag, from its 200.
    hub_tag: String,
    /// The INVITE's Via branch: the ACK of a final error carries it (§17.1.1.3).
    invite_branch: String,
    cseq: u32,
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn branch(message: &str) -> String {
    message
        .split("branch=")
        .nth(1)
        .unwrap()
        .split(['\r', ';'])
        .next()
        .unwrap()
        .to_owned()
}

fn status(message: &str) -> u16 {
    message
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn offer(port: u16, direction: &str) -> String {
    format!(
        "v=0\r\no=carrier 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a={direction}\r\n"
    )
}

impl Carrier {
    async fn new(hub: SocketAddr, call_id: &str) -> Carrier {
        Carrier {
            sip: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            rtp: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            hub,
            call_id: call_id.to_owned(),
            hub_tag: String::new(),
            invite_branch: String::new(),
            cseq: 1,
        }
    }

    fn rtp_port(&self) -> u16 {
        self.rtp.local_addr().unwrap().port()
    }

    /// A request in this call: `to_tag` none for the INVITE, `from_tag` ours unless forged.
    fn request(
        &self,
        method: &str,
        from_tag: &str,
        to_tag: &str,
        extra: &str,
        content_type: &str,
        body: &str,
    ) -> String {
        let me = self.sip.local_addr().unwrap();
        let to_tag = if to_tag.is_empty() {
            String::new()
        } else {
            format!(";tag={to_tag}")
        };
        let typed = if body.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {content_type}\r\n")
        };
        let cseq = if method == "ACK" { 1 } else { self.cseq };
        format!(
            "{method} sip:100@{hub} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{method}{cseq}{n}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:+14155550100@carrier.example>;tag={from_tag}\r\n\
             To: <sip:100@{hub}>{to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:carrier@{me}>\r\n{extra}{typed}Content-Length: {len}\r\n\r\n{body}",
            hub = self.hub,
            n = rand_suffix(),
            call_id = self.call_id,
            len = body.len(),
        )
    }

    async fn send(&self, text: &str) {
        self.sip.send_to(text.as_bytes(), self.hub).await.unwrap();
    }

    /// The next final response (provisional ones skipped), within two seconds.
    async fn response(&self) -> String {
        let mut buf = vec![0u8; 8192];
        loop {
            let len = timeout(Duration::from_secs(2), self.sip.recv(&mut buf))
                .await
                .expect("the hub answers")
                .unwrap();
            let text = String::from_utf8_lossy(&buf[..len]).into_owned();
            if text.starts_with("SIP/2.0 ") && status(&text) >= 200 {
                return text;
            }
        }
    }

    /// INVITE (with `body` as SDP unless empty) and its final response; the hub's tag is kept.
    async fn invite(&mut self, number: &str, extra: &str, body: &str) -> String {
        let invite = self
            .request("INVITE", "carrier", "", extra, "application/sdp", body)
            .replacen("sip:100@", &format!("sip:{number}@"), 1);
        self.invite_branch = branch(&invite);
        self.send(&invite).await;
        let response = self.response().await;
        if let Some(tag) = header(&response, "To").and_then(|to| to.split(";tag=").nth(1)) {
            self.hub_tag = tag.split(';').next().unwrap().to_owned();
        }
        response
    }

    async fn ack(&self, body: &str) {
        let ack = self.request("ACK", "carrier", &self.hub_tag, "", "application/sdp", body);
        self.send(&ack).await;
    }

    /// The ACK of a final error: part of the INVITE's transaction.
    async fn ack_refused(&self) {
        let ack = self.request("ACK", "carrier", &self.hub_tag, "", "", "");
        self.send(&ack.replacen(&branch(&ack), &self.invite_branch, 1))
            .await;
    }

    /// An in-dialog request with the right tags and its final response.
    async fn in_dialog(&mut self, method: &str, extra: &str, content_type: &str, body: &str) -> String {
        self.cseq += 1;
        let request = self.request(method, "carrier", &self.hub_tag, extra, content_type, body);
        self.send(&request).await;
        self.response().await
    }

    /// How many RTP packets reach our RTP socket within `wait`.
    async fn rtp_within(&self, wait: Duration) -> usize {
        packets(&self.rtp, wait).await
    }

    /// Sends RTP from our socket to the hub's port for the caller (from its SDP answer).
    async fn speak(&self, socket: &UdpSocket, hub_rtp: SocketAddr, packets: u16) {
        for sequence in 0..packets {
            let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
            packet[2..4].copy_from_slice(&sequence.to_be_bytes());
            packet[4..8].copy_from_slice(&(u32::from(sequence) * 160).to_be_bytes());
            packet.extend_from_slice(&[0xff; 160]);
            socket.send_to(&packet, hub_rtp).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn packets(socket: &UdpSocket, wait: Duration) -> usize {
    let mut buf = [0u8; 2048];
    let until = Instant::now() + wait;
    let mut n = 0;
    while let Ok(Ok(_)) = timeout_at(until, socket.recv(&mut buf)).await {
        n += 1;
    }
    n
}

/// Where the hub takes the caller's RTP, from the SDP in its message.
fn hub_rtp(message: &str) -> SocketAddr {
    let ip = message
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .expect("a connection line");
    let port = message
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|m| m.split(' ').next())
        .expect("an audio line");
    format!("{}:{}", ip.trim(), port).parse().unwrap()
}

/// A carrier's caller on number 100, answered and ACKed, hearing the hub's music.
async fn answered_call(hub: SocketAddr, call_id: &str) -> (Carrier, String) {
    let mut carrier = Carrier::new(hub, call_id).await;
    let sdp = offer(carrier.rtp_port(), "sendrecv");
    let ok = carrier.invite("100", "", &sdp).await;
    assert_eq!(status(&ok), 200, "{ok}");
    carrier.ack("").await;
    assert!(
        carrier.rtp_within(Duration::from_millis(500)).await > 10,
        "no music"
    );
    (carrier, ok)
}

/// RFC 3261 §12.2.2: a BYE with the call's Call-ID but the wrong tags is answered 481 and the
/// call goes on; it used to be answered 200 and end the live call.
#[tokio::test]
async fn a_bye_with_the_wrong_tags_gets_481_and_the_call_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, sip) = hub(dir.path()).await;
    let (mut carrier, _) = answered_call(sip, "wrong-tags").await;
    for (from, to) in [("forged", carrier.hub_tag.clone()), ("carrier", "forged".into())] {
        carrier.cseq += 1;
        let bye = carrier.request("BYE", from, &to, "", "", "");
        carrier.send(&bye).await;
        let response = carrier.response().await;
        assert_eq!(status(&response), 481, "{response}");
    }
    assert!(
        carrier.rtp_within(Duration::from_millis(500)).await > 10,
        "the call was torn down"
    );
    let ok = carrier.in_dialog("BYE", "", "", "").await;
    assert_eq!(status(&ok), 200, "{ok}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    packets(&carrier.rtp, Duration::from_millis(100)).await;
    assert_eq!(carrier.rtp_within(Duration::from_millis(300)).await, 0);
}

/// §13.3.1.4: the caller's media starts on the ACK, not the INVITE: a forged INVITE (whose
/// sender never sees our 200) gets no stream. It used to start at once.
#[tokio::test]
async fn media_waits_for_the_ack() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, sip) = hub(dir.path()).await;
    let mut carrier = Carrier::new(sip, "no-ack-yet").await;
    let sdp = offer(carrier.rtp_port(), "sendrecv");
    let ok = carrier.invite("100", "", &sdp).await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert_eq!(carrier.rtp_within(Duration::from_millis(700)).await, 0);
    carrier.ack("").await;
    assert!(carrier.rtp_within(Duration::from_millis(500)).await > 10);
}

/// A late offer (§13.2.1, INVITE without SDP, as some carriers and PBXes send): the hub offers
/// in its 200 and takes the answer from the ACK. It used to refuse with 488.
#[tokio::test]
async fn a_late_offer_is_answered_in_the_ack() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, sip) = hub(dir.path()).await;
    let mut carrier = Carrier::new(sip, "late-offer").await;
    let ok = carrier.invite("100", "", "").await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(ok.contains("RTP/AVP 0 8 101"), "{ok}");
    let answer = offer(carrier.rtp_port(), "sendrecv");
    carrier.ack(&answer).await;
    assert!(
        carrier.rtp_within(Duration::from_millis(700)).await > 10,
        "no music"
    );
}

/// A caller's hold re-INVITE (`sendonly`) is answered `recvonly` and the hub stops sending until
/// they resume; it used to keep streaming at them. A re-INVITE without SDP gets an offer.
#[tokio::test]
async fn a_caller_who_holds_hears_nothing_until_they_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, sip) = hub(dir.path()).await;
    let (mut carrier, _) = answered_call(sip, "caller-hold").await;
    let hold = offer(carrier.rtp_port(), "sendonly");
    let ok = carrier.in_dialog("INVITE", "", "application/sdp", &hold).await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(ok.contains("a=recvonly"), "{ok}");
    carrier.ack("").await;
    packets(&carrier.rtp, Duration::from_millis(100)).await;
    assert_eq!(carrier.rtp_within(Duration::from_millis(600)).await, 0);
    let resume = offer(carrier.rtp_port(), "sendrecv");
    let ok = carrier.in_dialog("INVITE", "", "application/sdp", &resume).await;
    assert_eq!(status(&ok), 200, "{ok}");
    carrier.ack("").await;
    assert!(carrier.rtp_within(Duration::from_millis(500)).await > 10);
    let ok = carrier.in_dialog("INVITE", "", "", "").await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(ok.contains("m=audio "), "an offer in the 200: {ok}");
}

/// RTP sent to a call's port from another address cannot take the call's audio over: the hub
/// keeps sending to the caller. It used to follow the last packet's source.
#[tokio::test]
async fn rtp_from_a_stranger_cannot_take_over_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, sip) = hub(dir.path()).await;
    let (carrier, ok) = answered_call(sip, "hijack").await;
    let port = hub_rtp(&ok);
    carrier.speak(&carrier.rtp, port, 5).await;
    let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    carrier.speak(&stranger, port, 10).await;
    assert_eq!(
        packets(&stranger, Duration::from_millis(500)).await,
        0,
        "the stranger hears the call"
    );
    assert!(carrier.rtp_within(Duration::from_millis(300)).await > 5);
}

/// §17.2.1: a final error to an INVITE over UDP is sent again (Timer G) until its ACK.
#[tokio::test]
async fn a_refused_invite_is_answered_again_until_its_ack() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, sip) = hub(dir.path()).await;
    let mut carrier = Carrier::new(sip, "timer-g").await;
    let refused = carrier
        .invite("999", "", &offer(carrier.rtp_port(), "sendrecv"))
        .await;
    assert_eq!(status(&refused), 404, "{refused}");
    let again = carrier.response().await;
    assert_eq!(status(&again), 404, "{again}");
    carrier.ack_refused().await;
    let mut buf = [0u8; 4096];
    let after = timeout(Duration::from_millis(1500), carrier.sip.recv(&mut buf)).await;
    assert!(after.is_err(), "sent again after its ACK");
}

/// RFC 4028 as carriers send it (`Supported: timer` and `Session-Expires`, or `Require: timer`,
/// which used to be refused with 420): the 200 takes the timer with the carrier refreshing, and
/// an UPDATE refreshes it.
#[tokio::test]
async fn session_timers_are_accepted_and_refreshed() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, sip) = hub(dir.path()).await;
    let mut carrier = Carrier::new(sip, "session-timer").await;
    let sdp = offer(carrier.rtp_port(), "sendrecv");
    let ok = carrier
        .invite(
            "100",
            "Supported: timer\r\nRequire: timer\r\nSession-Expires: 1800\r\n",
            &sdp,
        )
        .await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert_eq!(header(&ok, "Session-Expires"), Some("1800;refresher=uac"), "{ok}");
    carrier.ack("").await;
    let refreshed = carrier
        .in_dialog("UPDATE", "Session-Expires: 1800;refresher=uac\r\n", "", "")
        .await;
    assert_eq!(status(&refreshed), 200, "{refreshed}");
    assert_eq!(header(&refreshed, "Session-Expires"), Some("1800;refresher=uac"));
    let mut short = Carrier::new(sip, "too-short").await;
    let refused = short
        .invite("100", "Supported: timer\r\nSession-Expires: 30\r\n", &sdp)
        .await;
    assert_eq!(status(&refused), 422, "{refused}");
    assert_eq!(header(&refused, "Min-SE"), Some("90"));
}

/// DTMF by SIP INFO (`application/dtmf-relay`) is taken like RFC 4733 keys: it used to be
/// refused with 405.
#[tokio::test]
async fn keys_by_sip_info_are_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, sip) = hub(dir.path()).await;
    let mut carrier = Carrier::new(sip, "info-dtmf").await;
    let sdp = offer(carrier.rtp_port(), "sendrecv");
    let ok = carrier.invite("200", "", &sdp).await;
    assert_eq!(status(&ok), 200, "{ok}");
    carrier.ack("").await;
    let info = carrier
        .in_dialog(
            "INFO",
            "",
            "application/dtmf-relay",
            "Signal=2\r\nDuration=160\r\n",
        )
        .await;
    assert_eq!(status(&info), 200, "{info}");
}
