//! An SDP offer as a caller's INVITE carries it: parsed, then negotiated against our media on a
//! leg in clear and on a TLS leg (with an SRTP key), as the B2BUA does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_sip::sdp::{LocalMedia, SessionDescription, negotiate};
use plugboard_sip::srtp::MasterKey;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(offer) = SessionDescription::parse(text) else {
        return;
    };
    offer.is_hold();
    for srtp in [None, Some(MasterKey::new([7; 30]))] {
        let local = LocalMedia {
            addr: "127.0.0.1:40000".parse().unwrap(),
            session_id: 1,
            session_version: 1,
            srtp,
        };
        let _ = negotiate(&offer, &local);
    }
});
