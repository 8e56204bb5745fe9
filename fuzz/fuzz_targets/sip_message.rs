//! SIP as a stranger sends it: bytes off a TCP or TLS stream (framed by Content-Length, RFC 3261
//! §18.3) or one UDP datagram, handed to the whole SIP service (parser, transactions, digest,
//! registrar, B2BUA) as the transport does. The first byte picks the transport and the source (a
//! trunk or a stranger); the service starts fresh for each input, with a phone and a queue number.
#![no_main]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use libfuzzer_sys::fuzz_target;
use plugboard_sip::b2bua::{CallId, Destination, MediaPorts, Menu};
use plugboard_sip::framing::{self, Frame};
use plugboard_sip::service::{Context, InMemoryDirectory, ServiceConfig, SipService, Transport};
use plugboard_sip::srtp::MasterKey;

struct Ports(u16);

impl MediaPorts for Ports {
    fn open(&mut self, _call: CallId) -> Option<(u16, u16)> {
        self.0 = self.0.wrapping_add(4);
        Some((40_000 + self.0, 40_002 + self.0))
    }

    fn open_party(&mut self, _call: CallId) -> Option<u16> {
        self.0 = self.0.wrapping_add(4);
        Some(40_000 + self.0)
    }

    fn srtp_key(&mut self) -> MasterKey {
        MasterKey::new([7; 30])
    }
}

fn service() -> SipService {
    let directory = InMemoryDirectory::default().with_phone("1001", "plugboard", "s3cret");
    let numbers = HashMap::from([
        ("100".to_string(), Destination::Queue("Support".into())),
        (
            "200".to_string(),
            Destination::Menu(Menu {
                options: vec![('1', "Sales".into()), ('2', "Support".into())],
            }),
        ),
    ]);
    SipService::new(
        ServiceConfig {
            trunks: vec!["203.0.113.5".parse().unwrap()],
            trust_trunks_over_udp: true,
            numbers,
            tls: Some("127.0.0.1:5061".parse().unwrap()),
            ..ServiceConfig::default()
        },
        Arc::new(directory),
        b"fuzz key",
        "127.0.0.1:5060".parse().unwrap(),
        Box::new(Ports(0)),
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let transport = match first & 3 {
        0 | 1 => Transport::Udp,
        2 => Transport::Tcp,
        _ => Transport::Tls,
    };
    let source: SocketAddr = if first & 4 != 0 {
        "203.0.113.5:5060".parse().unwrap()
    } else {
        "198.51.100.7:5060".parse().unwrap()
    };
    let mut sip = service();
    let t0 = Instant::now();
    let mut step = 0u64;
    let mut handle = |sip: &mut SipService, bytes: &[u8]| {
        step += 1;
        let cx = Context {
            source,
            transport,
            now: t0 + Duration::from_millis(500 * step),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + step),
            entropy: step,
        };
        sip.handle(bytes, cx);
        sip.take_actions();
    };
    if transport == Transport::Udp {
        handle(&mut sip, rest);
    } else {
        while !rest.is_empty() {
            match framing::next_message(rest) {
                Ok(Frame::KeepAlive(n)) => rest = &rest[n..],
                Ok(Frame::Message { skip, len }) => {
                    handle(&mut sip, &rest[skip..skip + len]);
                    rest = &rest[skip + len..];
                }
                Ok(Frame::NeedMore) | Err(_) => break,
            }
        }
    }
    sip.tick(
        t0 + Duration::from_secs(600),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_600),
    );
});
