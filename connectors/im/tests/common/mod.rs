//! Helpers shared by the platform test files: reading a fixture and taking an event apart.
#![allow(dead_code)]

use plugboard_channel::{Inbound, InboundMessage};
use plugboard_im::Event;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn payload(platform: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/payloads")
        .join(platform)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn inbound(event: &Event) -> &Inbound {
    match event {
        Event::Message(inbound) => inbound,
        other => panic!("expected a message, got {other:?}"),
    }
}

pub fn message(event: &Event) -> &InboundMessage {
    inbound(event).message.as_ref().expect("a message")
}
