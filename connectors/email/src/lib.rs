//! Plugboard's email connector. A mailbox's mail arrives over IMAP (`imap`), becomes a `Mail`
//! (`parse`, with `html` sanitising what the console shows and `classify` spotting machines) and
//! the hub's `Inbound` with its thread keys (`thread`); the hub's `Outbound` replies become RFC 5322
//! mail (`compose`, with `forward` writing a forwarded mail's text) sent over SMTP (`smtp`). The pure modules do no IO; `imap` and `smtp` are the
//! thin async shells around the network, configured by `server`. Depends on `plugboard-channel`,
//! never on the hub.

pub mod classify;
pub mod compose;
pub mod forward;
pub mod html;
pub mod imap;
pub mod parse;
pub mod server;
pub mod smtp;
pub mod thread;

pub use parse::{Address, Mail, ParseError, parse};
pub use server::{Security, Server};
