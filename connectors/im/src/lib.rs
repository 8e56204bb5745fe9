//! Plugboard's messaging-app connectors: WeChat (`wechat`), WhatsApp Cloud API (`whatsapp`),
//! the Telegram Bot API (`telegram`), Twilio-style SMS (`sms`) and our own signed webhook
//! (`webhook`). Each sits between a platform's HTTP and the hub's intake, with no IO of its own:
//!
//! - **In**: the hub's webhook handler hands a module the raw body, the headers it asks for, the
//!   query string and the time; the module verifies the signature, parses the payload and returns
//!   `Event`s for the intake plus the `Answer` to send back (WeChat's `success`, a verification
//!   echo). A request that fails verification is an `Error` whose `http_status` is the answer; the
//!   hub stores nothing from it.
//! - **Out**: for an agent's reply the module builds an `HttpRequest` (the hub sends it with its
//!   HTTP client), then reads the platform's response into a `SendOutcome` (sent, retry, refresh
//!   the token, failed with the platform's reason).
//! - **Media**: a message's media are described in `InboundMessage.details["media"]` (see
//!   `MediaRef`), never downloaded here: the hub fetches them with the module's media requests
//!   after intake, and stores them itself.
//!
//! Every parser takes untrusted bytes and returns an `Error` for anything it cannot read: no input
//! makes it panic (`tests/fuzz.rs`). Depends on `plugboard-channel`, never on the hub.

pub mod sms;
pub mod telegram;
pub mod webhook;
pub mod wechat;
pub mod whatsapp;

mod common;

pub use common::{
    Answer, Body, DeliveryState, Error, Event, HttpRequest, MediaRef, Method, Part, SendOutcome,
};
