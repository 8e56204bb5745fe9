//! deploy/kamailio.cfg, as operators get it, in front of the real hub: Kamailio accepts the file,
//! a carrier's call goes through it to the hub and the rest of the call follows the recorded
//! route, registrations reach the hub's registrar, and an INVITE from outside the carriers'
//! network never reaches the hub (which would take it as a trunk call).

use plugboard_tests::kamailio::{free_port, kamailio, start_kamailio};
use plugboard_tests::{DEMO_PASSWORD, Hub, SUPPORT_LINE};
use std::net::UdpSocket;
use std::time::Duration;

/// A SIP peer on UDP that talks to the proxy.
struct Peer {
    socket: UdpSocket,
    ip: String,
    port: u16,
    proxy: String,
}

impl Peer {
    fn new(ip: &str, proxy: &str) -> Peer {
        let socket = UdpSocket::bind((ip, 0)).unwrap();
        let port = socket.local_addr().unwrap().port();
        Peer {
            socket,
            ip: ip.into(),
            port,
            proxy: proxy.into(),
        }
    }

    fn send(&self, text: &str) {
        self.socket.send_to(text.as_bytes(), &self.proxy).unwrap();
    }

    /// The next final response (provisional ones are skipped).
    fn answer(&self) -> String {
        self.answer_within(Duration::from_secs(5))
            .expect("an answer through Kamailio")
    }

    fn answer_within(&self, wait: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(wait)).unwrap();
        let mut buf = vec![0; 65_535];
        loop {
            let (len, _) = self.socket.recv_from(&mut buf).ok()?;
            let text = String::from_utf8_lossy(&buf[..len]).into_owned();
            if text.starts_with("SIP/2.0 ") && !text.starts_with("SIP/2.0 1") {
                return Some(text);
            }
        }
    }

    /// The next request that reaches this peer within `wait` (responses are skipped).
    fn request_within(&self, wait: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + wait;
        let mut buf = vec![0; 65_535];
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let (len, _) = self.socket.recv_from(&mut buf).ok()?;
            let text = String::from_utf8_lossy(&buf[..len]).into_owned();
            if !text.starts_with("SIP/2.0 ") {
                return Some(text);
            }
        }
    }

    /// Answers `request` with `status`, back through the proxy (its Vias, as RFC 3261 §8.2.6.2).
    fn respond(&self, request: &str, status: u16) {
        let copied: String = request
            .split("\r\n")
            .filter(|line| {
                let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
                matches!(
                    name.as_str(),
                    "via" | "v" | "from" | "f" | "to" | "t" | "call-id" | "i" | "cseq"
                )
            })
            .map(|line| format!("{line}\r\n"))
            .collect();
        self.send(&format!(
            "SIP/2.0 {status} OK\r\n{copied}Content-Length: 0\r\n\r\n"
        ));
    }

    /// A request of the caller's inside the call `ok` (the hub's 200 to its INVITE on `call_id`)
    /// made: to the hub's Contact, along the route Kamailio recorded.
    fn in_dialog(&self, ok: &str, call_id: &str, method: &str, cseq: u32) -> String {
        format!(
            "{method} {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:{port};branch=z9hG4bK{method}{cseq}\r\n\
             Route: {route}\r\nFrom: <sip:+14155552671@{ip}>;tag=f{call_id}\r\nTo: {to}\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            contact = header(ok, "Contact")[0].trim_matches(['<', '>']),
            route = header(ok, "Record-Route")[0],
            to = header(ok, "To")[0],
            ip = self.ip,
            port = self.port,
        )
    }

    /// Waits until the proxy answers its own keep-alive OPTIONS: it has started.
    fn wait_for_proxy(&self) {
        for n in 0..100 {
            self.send(&format!(
                "OPTIONS sip:{proxy} SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKping{n}\r\n\
                 From: <sip:probe@{ip}>;tag=p\r\nTo: <sip:{proxy}>\r\nCall-ID: ping{n}\r\nCSeq: 1 OPTIONS\r\n\
                 Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                proxy = self.proxy,
                ip = self.ip,
                port = self.port
            ));
            if self.answer_within(Duration::from_millis(100)).is_some() {
                return;
            }
        }
        panic!("kamailio never answered");
    }

    /// An INVITE from a carrier that lists UPDATE in its Allow and knows nothing of session
    /// timers.
    fn invite(&self, call_id: &str) -> String {
        let sdp = format!(
            "v=0\r\no=c 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n",
            ip = self.ip
        );
        format!(
            "INVITE sip:100@{proxy} SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:{port};branch=z9hG4bK{call_id}\r\n\
             From: <sip:+14155552671@{ip}>;tag=f{call_id}\r\nTo: <sip:100@{proxy}>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:caller@{ip}:{port}>\r\nMax-Forwards: 70\r\n\
             Allow: INVITE, ACK, CANCEL, BYE, UPDATE\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len(),
            proxy = self.proxy,
            ip = self.ip,
            port = self.port
        )
    }
}

fn header<'a>(message: &'a str, name: &str) -> Vec<&'a str> {
    message
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

/// A hub with the Support line behind deploy/kamailio.cfg, and a carrier on the proxy's network.
struct Fronted {
    hub: Hub,
    proxy: String,
    carrier: Peer,
    _kamailio: plugboard_tests::kamailio::Kamailio,
    _dir: tempfile::TempDir,
}

/// [`Fronted`], once Kamailio answers; none without Kamailio (a failure when CI=true).
async fn fronted() -> Option<Fronted> {
    kamailio()?;
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &SUPPORT_LINE).await.unwrap();
    let hub_sip = hub.sip_udp.clone().expect("the hub says where SIP listens");
    let port = free_port();
    let kamailio = start_kamailio(port, &[&hub_sip]);
    let proxy = format!("127.0.0.1:{port}");
    let carrier = Peer::new("127.0.0.1", &proxy);
    carrier.wait_for_proxy();
    Some(Fronted {
        hub,
        proxy,
        carrier,
        _kamailio: kamailio,
        _dir: dir,
    })
}

#[tokio::test]
async fn the_example_kamailio_config_fronts_the_hub() {
    // Bound whole: its Kamailio and directory live as long as the test.
    let Some(site) = fronted().await else {
        return;
    };
    let (hub, proxy, carrier) = (&site.hub, site.proxy.as_str(), &site.carrier);
    // A carrier's call: the hub answers through Kamailio, which record-routes it.
    carrier.send(&carrier.invite("kam-call-1"));
    let ok = carrier.answer();
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    let record_route = header(&ok, "Record-Route");
    assert_eq!(record_route.len(), 1, "{ok}");
    assert!(record_route[0].contains(proxy), "{ok}");
    // The rest of the call follows the recorded route back through Kamailio to the same node.
    carrier.send(&carrier.in_dialog(&ok, "kam-call-1", "ACK", 1));
    carrier.send(&carrier.in_dialog(&ok, "kam-call-1", "BYE", 2));
    let bye = carrier.answer();
    assert!(bye.starts_with("SIP/2.0 200"), "{bye}");

    // A REGISTER reaches the hub's registrar: the challenge is the hub's realm.
    let phone = Peer::new("127.0.0.1", proxy);
    phone.send(&format!(
        "REGISTER sip:{proxy} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKreg\r\n\
         From: <sip:bob-desk@{proxy}>;tag=r\r\nTo: <sip:bob-desk@{proxy}>\r\nCall-ID: kam-reg\r\nCSeq: 1 REGISTER\r\n\
         Contact: <sip:bob-desk@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n",
        port = phone.port
    ));
    let challenge = phone.answer();
    assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
    assert!(
        header(&challenge, "WWW-Authenticate")[0].contains("realm=\"plugboard\""),
        "{challenge}"
    );

    // An INVITE from outside the carriers' network is turned away at the proxy.
    let stranger = Peer::new("127.0.0.2", proxy);
    stranger.send(&stranger.invite("kam-call-2"));
    let refused = stranger.answer();
    assert!(refused.starts_with("SIP/2.0 403"), "{refused}");

    // The hub heard of the carrier's call alone: one call on Maria's timeline, ended by the caller.
    let token = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (_, found) = hub
        .call("GET", "/customers?q=%2B14155552671", Some(&token), None)
        .await
        .unwrap();
    let customer = found[0]["id"].as_str().unwrap().to_string();
    let mut states = Vec::new();
    for _ in 0..50 {
        let (_, timeline) = hub
            .call(
                "GET",
                &format!("/customers/{customer}/timeline"),
                Some(&token),
                None,
            )
            .await
            .unwrap();
        states = timeline["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["interaction"]["channel"] == "voice")
            .map(|e| e["interaction"]["state"].as_str().unwrap().to_string())
            .collect();
        if states == ["abandoned"] {
            break;
        }
        // The hub ends the call a moment after the BYE's 200.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(states, ["abandoned"]);
}

/// A carrier that knows nothing of session timers, behind Kamailio keeping them (sst, as carriers'
/// proxies do): Kamailio asks the hub for a 90 s session on the carrier's behalf, so the hub is
/// the one that refreshes it (RFC 4028 §9: `refresher=uas`, and no `Require: timer` the carrier did
/// not list); its UPDATE reaches the carrier through Kamailio at half the interval, and the call
/// goes on until the carrier hangs up.
#[tokio::test]
async fn the_hub_refreshes_a_session_kamailio_asked_for_on_a_carriers_behalf() {
    let Some(site) = fronted().await else {
        return;
    };
    let (proxy, carrier) = (site.proxy.as_str(), &site.carrier);
    carrier.send(&carrier.invite("kam-timer-1"));
    let ok = carrier.answer();
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    assert_eq!(header(&ok, "Session-Expires"), ["90;refresher=uas"], "{ok}");
    assert!(
        !header(&ok, "Require").iter().any(|r| r.contains("timer")),
        "{ok}"
    );
    carrier.send(&carrier.in_dialog(&ok, "kam-timer-1", "ACK", 1));
    let asked = std::time::Instant::now();

    let update = carrier
        .request_within(Duration::from_secs(55))
        .expect("the hub refreshes the session");
    assert!(update.starts_with("UPDATE "), "{update}");
    let waited = asked.elapsed();
    assert!(
        (Duration::from_secs(40)..Duration::from_secs(55)).contains(&waited),
        "at half the interval: {waited:?}"
    );
    assert_eq!(
        header(&update, "Session-Expires"),
        ["90;refresher=uac"],
        "{update}"
    );
    assert_eq!(header(&update, "Call-ID"), ["kam-timer-1"], "{update}");
    assert!(
        header(&update, "Via").iter().any(|v| v.contains(proxy)),
        "relayed by Kamailio: {update}"
    );
    carrier.respond(&update, 200);
    // Nothing ends the call meanwhile.
    let quiet = carrier.request_within(Duration::from_secs(3));
    assert!(quiet.is_none(), "{quiet:?}");
    carrier.send(&carrier.in_dialog(&ok, "kam-timer-1", "BYE", 2));
    let bye = carrier.answer();
    assert!(bye.starts_with("SIP/2.0 200"), "{bye}");
}
