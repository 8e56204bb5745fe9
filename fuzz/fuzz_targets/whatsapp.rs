//! A WhatsApp Cloud API delivery signed with the app secret (`X-Hub-Signature-256`), so every body
//! reaches the parser: what Meta, or anyone holding the secret, could post.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_im::whatsapp;

const SECRET: &str = "fuzz-app-secret";

fuzz_target!(|data: &[u8]| {
    let signature = whatsapp::sign(SECRET, data);
    let inbox = |id: &str| (id == "106540352242922").then(|| "inbox:fuzz".to_string());
    let _ = whatsapp::receive(SECRET, Some(&signature), data, inbox);
});
