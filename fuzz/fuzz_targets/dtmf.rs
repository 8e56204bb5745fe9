//! RFC 4733 telephone-events as a caller's phone sends them while the IVR listens: a stream of
//! (timestamp, payload) packets fed to the detector in order. Each record is a 4-byte RTP
//! timestamp, a length byte and that many payload bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_sip::dtmf::{DtmfDetector, TelephoneEvent};

fuzz_target!(|data: &[u8]| {
    let mut detector = DtmfDetector::new();
    let mut rest = data;
    while rest.len() >= 5 {
        let timestamp = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let len = usize::from(rest[4]).min(rest.len() - 5);
        let payload = &rest[5..5 + len];
        rest = &rest[5 + len..];
        if let Ok(event) = TelephoneEvent::parse(payload) {
            assert_eq!(TelephoneEvent::parse(&event.to_bytes()), Ok(event));
            event.key();
        }
        if let Ok(digits) = detector.push(timestamp, payload) {
            assert!(
                digits.len() <= 2,
                "one packet completed {} key presses",
                digits.len()
            );
        }
    }
});
