//! A mail as the IMAP fetch (or the SMTP listener) hands it over: raw RFC 5322 bytes of any
//! structure and charset, parsed (MIME, charsets, sanitised HTML, attachments, threading headers)
//! and turned into the hub's `Inbound`, as `hub/src/email.rs` does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mail) = plugboard_email::parse(data, 1 << 20) {
        let inbound = mail.inbound("mailbox:fuzz");
        assert!(!inbound.identities.is_empty());
    }
});
