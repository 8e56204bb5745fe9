//! Our signed generic webhook as `hub/src/messaging.rs` reads it: `X-Plugboard-Signature`
//! (`t=…,v1=…`, HMAC-SHA256 with a five-minute replay window) checked, then the JSON parsed, the
//! attachments' base64 decoded. The first byte picks: even, the rest is the body, correctly
//! signed at a fixed time and received up to ±640 s later or earlier (the second byte, times 5:
//! either side of the window's edge), so fresh bodies reach the parser; odd, the rest is
//! `header\nbody`, the header as a stranger would send it, checked at that same time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_im::webhook;
use std::time::{Duration, UNIX_EPOCH};

const SECRET: &str = "fuzz-webhook-secret";
/// The time of the signature in `connectors/im/tests/webhook.rs`.
const T: u64 = 1_718_035_200;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let signed_at = UNIX_EPOCH + Duration::from_secs(T);
    if mode % 2 == 0 {
        let Some((&skew, body)) = rest.split_first() else {
            return;
        };
        let skew = skew as i8;
        let by = Duration::from_secs(u64::from(skew.unsigned_abs()) * 5);
        let now = if skew < 0 { signed_at - by } else { signed_at + by };
        let header = webhook::sign(SECRET, body, signed_at);
        let _ = webhook::receive(SECRET, Some(&header), body, now, "inbox:fuzz");
    } else {
        let (header, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let header = String::from_utf8_lossy(header);
        let _ = webhook::receive(SECRET, Some(&header), body, signed_at, "inbox:fuzz");
    }
});
