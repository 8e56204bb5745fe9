//! Plugboard's telephony connector. It sits where a phone call enters the flow: SIP signalling and
//! RTP media come in from trunks and agents' phones, and the connector turns each call into the
//! hub's call events ([`b2bua::CallEvent`]), then bridges the caller to the agent the router
//! picks when the hub says so ([`b2bua::CallCommand`]). Of Plugboard's crates it may depend on
//! `connectors/channel` only, never on the hub.
//!
//! This crate is built sans-IO: every module but [`server`], [`media`] and [`webrtc`]'s task is a pure core (values
//! in, values or decisions out, time passed in as a parameter) so that the transport, the media
//! and the hub wiring are a thin shell on top, and every protocol rule can be tested as a table.
//!
//! - [`g711`]: µ-law and A-law sample codecs (ITU-T G.711).
//! - [`rtp`]: RTP header parsing and the stream rewriter used when a leg switches source.
//! - [`srtp`]: SRTP (RFC 3711) protect/unprotect for legs keyed by SDES over TLS.
//! - [`dtmf`]: RFC 4733 telephone-events and a digit detector.
//! - [`sdp`]: SDP offer parsing and the G.711 offer/answer negotiation.
//! - [`digest`]: server-side digest authentication with stateless, expiring nonces.
//! - [`registrar`]: the RFC 3261 §10.3 bindings table.
//! - [`recording`]: stereo WAV recording of a bridged call.
//! - [`mix`]: who hears whom when a supervisor monitors, whispers or barges, and the mixing.
//! - [`message`]: SIP request parsing (rsipstack's rsip fork, kept inside) and response writing.
//! - [`framing`]: Content-Length framing of stream transports.
//! - [`transaction`]: non-INVITE server transactions (retransmissions, Timer J).
//! - [`limiter`]: the per-address limit on failed authentications.
//! - [`service`]: one message in, one response out: OPTIONS, REGISTER, INVITE admission, refusals.
//! - [`b2bua`]: the calls: the caller's dialog, the agent's leg, bridging, CANCEL and BYE.
//! - [`webrtc`]: a browser agent's leg (ICE-lite, DTLS-SRTP through str0m), relayed to the call's
//!   media as plain RTP, so the browser is bridged and recorded like a phone.
//! - [`server`] and [`media`]: the shells with IO: UDP/TCP/TLS around [`service`], and one RTP task
//!   per call (prompts, hold music, relay, recording, DTMF).

pub mod b2bua;
pub mod certs;
pub mod digest;
pub mod dtmf;
pub mod framing;
pub mod g711;
pub mod limiter;
pub mod media;
pub mod message;
pub mod mix;
pub mod recording;
pub mod registrar;
pub mod rtp;
pub mod sdp;
pub mod server;
pub mod service;
pub mod srtp;
pub mod transaction;
pub mod webrtc;
