//! A Telegram webhook delivery with the right secret token: the body as anyone who learnt the
//! token could send it, verified and parsed as `hub/src/messaging.rs` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_im::telegram;

fuzz_target!(|data: &[u8]| {
    let _ = telegram::receive("fuzz-secret", Some("fuzz-secret"), data, "inbox:fuzz");
});
