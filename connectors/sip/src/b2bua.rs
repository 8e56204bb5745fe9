//! The back-to-back user agent: where a call becomes a contact. A caller's INVITE (already let in
//! by [`crate::service`]: a trunk address or digest credentials) is answered here with our own
//! media, and the hub hears of it as a [`CallEvent`]; when the hub's router offers the call to an
//! agent, the hub sends [`CallCommand::Ring`] and this module calls the agent's phone as a second,
//! independent dialog, then bridges the two. Either side's BYE ends both. Click-to-call
//! ([`B2bua::dial`]) runs the other way: the agent's phone first, then the customer through the
//! trunk, then the bridge; from a browser ([`B2bua::dial_from_browser`]), the browser's leg is
//! attached first and the customer called once it is. Keys the agent presses in the console go to
//! the customer as RFC 4733 events ([`B2bua::send_keys`]).
//!
//! Pure, like the rest of the crate: every input (a request, a response, a command, a DTMF digit,
//! the clock) comes in as a value and everything to do goes out as [`Action`]s — datagrams to send,
//! events for the hub, commands for the media shell. The RFC 3261 parts it carries:
//! the UAS side of the caller's dialog (§12.1.1, 2xx retransmission until the ACK, §13.3.1.4), the
//! agent leg's INVITE client transaction (Timers A and B, §17.1.1; ACK for non-2xx by the
//! transaction, for 2xx by us, §13.2.2.4), CANCEL (§9.1) and BYE client transactions (Timers E and
//! F, §17.1.2).
//!
//! A leg whose signalling is TLS may carry SRTP keyed by SDES (RFC 4568, see [`crate::sdp`]): we
//! answer a phone's key with our own (drawn by the shell, [`MediaPorts::srtp_key`]) and offer
//! SRTP when we ring a phone registered over TLS; the media shell gets both keys of the leg.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::g711::Codec;
use crate::message::{self, Body, Method, RequestBuilder, ResponseBuilder, SipRequest, SipResponse};
use crate::mix::Mix;
use crate::recording::Leg;
use crate::registrar::Flow;
use crate::sdp::{self, Direction, LocalMedia, Negotiated, SessionDescription};
use crate::service::{Context, Transport};
use crate::srtp::{LegKeys, MasterKey};
use crate::transaction::T1;

/// RFC 3261 §17.1.2.2: the cap on retransmission intervals.
const T2: Duration = Duration::from_secs(4);
/// Timers B, F and the wait for the ACK of a 2xx: 64*T1.
const GIVE_UP: Duration = Duration::from_secs(32);
/// How long a caller whose callback is booked has to hear so before we hang up: the
/// `callback_booked` prompt, with a moment to spare.
const FAREWELL: Duration = Duration::from_secs(6);

/// The B2BUA's handle on one call (both legs), shared with the hub and the media shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Where a dialled number leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Straight into a queue (by name).
    Queue(String),
    /// An IVR menu: the caller hears the `menu` prompt and presses a key.
    Menu(Menu),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// Key → queue name, e.g. ('1', "Sales").
    pub options: Vec<(char, String)>,
}

/// A recorded prompt the media shell plays, by name: `greeting`, `menu`, `position`, `0`…`9`.
pub type Prompt = &'static str;

/// What the hub hears about calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A caller is connected and waiting for `queue`.
    Incoming {
        call: CallId,
        /// The caller's number or user as the network gave it (P-Asserted-Identity, else From).
        caller: Option<String>,
        display_name: Option<String>,
        dialled: String,
        queue: String,
    },
    /// The agent's phone answered: the legs are bridged (for click-to-call: the customer is
    /// being called now).
    AgentAnswered { call: CallId },
    /// Click-to-call: the customer answered, the legs are bridged.
    CustomerAnswered { call: CallId },
    /// Click-to-call: the customer's number refused, was busy or did not answer; the call ends.
    CustomerFailed { call: CallId, status: u16 },
    /// The agent's phone refused, was busy or did not answer (the SIP status; 408 for no answer).
    AgentFailed { call: CallId, status: u16 },
    /// The agent's phone could not be reached at all: the TCP connection it registered on is
    /// gone and none could be opened (a transport error, RFC 3261 §8.1.3.1). It stays so until
    /// the phone registers again.
    AgentUnreachable { call: CallId },
    /// The caller pressed 1 after the callback offer: they want to be called back rather than
    /// wait. They hear music on until the hub says it is booked (`CallCommand::CallbackBooked`).
    CallbackChosen { call: CallId },
    /// The third party's phone answered (or their browser's leg is on): they are on the call.
    PartyJoined { call: CallId },
    /// The third party could not join: their phone refused, was busy or did not answer (the SIP
    /// status; 408 for no answer), or the call is not one they can join now (486: not bridged
    /// to an agent, or someone else listens already; 503: no port).
    PartyFailed { call: CallId, status: u16 },
    /// The third party is off the call while it goes on: their phone hung up, the hub asked
    /// ([`CallCommand::DropParty`]), or the agent's leg went (a transfer).
    PartyLeft { call: CallId },
    /// The call is over; `by` hung up first.
    Ended { call: CallId, by: Party },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Caller,
    Agent,
    /// Plugboard (a command, or a leg that stopped answering).
    Hub,
}

/// What the hub asks of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallCommand {
    /// Call the agent's phone at every one of `contacts` (the Contact URIs the agent's phones
    /// registered) at once; the first to answer takes the call and the others are cancelled.
    /// Record the bridged call to `record` when set.
    Ring {
        call: CallId,
        contacts: Vec<String>,
        record: Option<PathBuf>,
    },
    /// Stop ringing the agent (the offer was declined or timed out): CANCEL.
    StopRinging { call: CallId },
    /// Release the agent's leg and put the caller back on music (a transfer to a queue).
    Release { call: CallId },
    /// The caller hears music (`true`) or the agent again (`false`).
    Hold { call: CallId, on: bool },
    /// Tell the caller their place in the queue.
    Announce { call: CallId, position: usize },
    /// Hang up both legs.
    Hangup { call: CallId },
    /// Bridge a queued call to an agent leg of the hub's own instead of a phone: a browser's
    /// WebRTC leg, whose audio reaches the call's agent port as plain RTP from `remote`. Recorded
    /// to `record` when set. A click-to-call from a browser ([`B2bua::dial_from_browser`]) calls
    /// the customer now, and is bridged when they answer. A call that is not waiting in its
    /// queue, or whose agent's phone is ringing, is left as it is.
    Attach {
        call: CallId,
        remote: SocketAddr,
        record: Option<PathBuf>,
    },
    /// The agent's own leg (see `Attach`) is gone: the call ends as if their phone hung up.
    AgentLeft { call: CallId },
    /// Offer the waiting caller a callback: they hear the `callback` prompt, and pressing 1
    /// until their call is put through is `CallEvent::CallbackChosen`. Only a call waiting in its
    /// queue with no phone ringing.
    OfferCallback { call: CallId },
    /// The callback the caller chose is booked: they hear so, then we hang up.
    CallbackBooked { call: CallId },
    /// The queue is closed: the waiting caller hears the closed message and a beep, and what
    /// they say next is recorded to `record` until they hang up, press `#`, or `max` has passed
    /// (then we hang up). Only a call waiting in its queue with no phone ringing.
    Voicemail {
        call: CallId,
        record: PathBuf,
        max: Duration,
    },
    /// A third party joins a call bridged to an agent, from `listener`, taking part as `mode`:
    /// a supervisor listening in, or a colleague the agent consults (the caller waits on hold
    /// meanwhile). One at a time; `CallEvent::PartyJoined` or `PartyFailed` follows.
    AddParty {
        call: CallId,
        listener: Listener,
        mode: Mix,
    },
    /// The third party now takes part as `mode` (a consult becomes a conference: the caller
    /// is off hold).
    PartyMode { call: CallId, mode: Mix },
    /// The third party leaves the call (their phone is hung up); the call goes on, off hold.
    DropParty { call: CallId },
    /// The third party (a consulted colleague) takes the call over: the agent's leg is hung up
    /// and the caller, off hold, talks to them; the recording goes on in the same file.
    Promote { call: CallId },
}

/// Where a third party (a supervisor, a consulted colleague) joins from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listener {
    /// Their desk phone, by the Contact it registered: rung like an agent's.
    Phone(String),
    /// A leg of the hub's own (their browser's WebRTC leg), sending plain RTP from this address.
    Leg(SocketAddr),
}

/// What the media shell does for a call. Ports come from [`MediaPorts::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaCommand {
    /// Start the caller's stream: the prompts, then music in a loop. Sent on the caller's ACK,
    /// never before (§13.3.1.4): a forged INVITE starts no media.
    Start {
        call: CallId,
        remote: SocketAddr,
        /// The caller's signalling address: the one host whose RTP may latch (see [`crate::media`]).
        peer: IpAddr,
        codec: Codec,
        payload_type: u8,
        telephone_event: Option<u8>,
        prompts: Vec<Prompt>,
        /// The caller's leg is SRTP with these keys.
        srtp: Option<LegKeys>,
    },
    /// Play prompts to the caller, then go back to what it was hearing.
    Play {
        call: CallId,
        prompts: Vec<Prompt>,
    },
    /// Relay between the caller and the agent's phone at `remote`.
    Bridge {
        call: CallId,
        remote: SocketAddr,
        /// The agent's phone's signalling address.
        peer: IpAddr,
        record: Option<PathBuf>,
        /// The agent's leg is SRTP with these keys.
        srtp: Option<LegKeys>,
    },
    /// The phone on `leg` renegotiated (a re-INVITE, or the answer in an ACK): where its RTP goes
    /// now, and whether it wants ours (not while it holds us: `sendonly` or `inactive`, RFC 3264
    /// §8.4).
    Update {
        call: CallId,
        leg: Leg,
        remote: SocketAddr,
        sending: bool,
        /// The leg's SRTP keys after the renegotiation (a phone may re-key, RFC 4568 §7.1.4).
        srtp: Option<LegKeys>,
    },
    /// The caller hears the closed message and the beep, then silence while what they say is
    /// recorded (the left channel of `record`) until the call closes.
    Voicemail {
        call: CallId,
        record: PathBuf,
    },
    /// The agent's leg is gone: the caller hears music again.
    Unbridge {
        call: CallId,
    },
    Hold {
        call: CallId,
        on: bool,
    },
    /// Send these telephone-events (RFC 4733 §3.2 codes: keys the agent pressed) to the
    /// customer's leg with `payload_type`, one after the other.
    Keys {
        call: CallId,
        events: Vec<u8>,
        payload_type: u8,
    },
    /// A third party's phone (at `remote`, SRTP with `srtp`) joins the call on its own
    /// port (see [`MediaPorts::open_party`]), taking part as `mode` (see [`crate::mix`]).
    Join {
        call: CallId,
        remote: SocketAddr,
        peer: IpAddr,
        srtp: Option<LegKeys>,
        mode: Mix,
    },
    /// The third party now takes part as `mode`.
    Mix {
        call: CallId,
        mode: Mix,
    },
    /// The third party is off the call: the caller and the agent hear each other alone again.
    Leave {
        call: CallId,
    },
    /// The third party becomes the agent's leg (their port the agent's); the agent's leg is gone.
    Promote {
        call: CallId,
    },
    /// The call is over: stop, finish the recording, free the ports.
    Close {
        call: CallId,
    },
}

/// Why an agent's keys cannot be sent to the customer. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysRefused {
    #[error("the call is not connected: keys go to the customer while you talk")]
    NotTalking,
    #[error("the customer's phone did not agree to take keys as RFC 4733 telephone-events")]
    NoTelephoneEvents,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Send {
        to: SocketAddr,
        transport: Transport,
        bytes: Vec<u8>,
    },
    Event(CallEvent),
    Media(MediaCommand),
}

/// The shell's side of port allocation: two RTP ports for a call (the caller's leg, the agent's),
/// bound and kept until [`MediaCommand::Close`]. `None` when none are free.
pub trait MediaPorts: Send {
    fn open(&mut self, call: CallId) -> Option<(u16, u16)>;

    /// A third RTP port for a running call, where a third party's phone joins it; kept until
    /// [`MediaCommand::Close`]. `None` when none is free.
    fn open_party(&mut self, call: CallId) -> Option<u16>;

    /// A fresh SRTP master key for one leg of ours (RFC 3711 §8: random, never reused): drawn
    /// by the shell, like ports, so the B2BUA stays deterministic.
    fn srtp_key(&mut self) -> MasterKey;
}

#[derive(Debug, Clone)]
pub struct B2buaConfig {
    /// Dialled number (the Request-URI's user part) → where it leads.
    pub numbers: HashMap<String, Destination>,
    /// Our SIP address: Via, Contact and the agent leg's From.
    pub local: SocketAddr,
    /// Where we take SIP over TLS, when we do: Via and Contact on TLS legs.
    pub tls: Option<SocketAddr>,
    /// The address in our SDP (where phones send RTP).
    pub media_ip: IpAddr,
    /// Where click-to-call sends its INVITEs (the carrier's trunk); none: no outbound calls.
    pub outbound: Option<SocketAddr>,
    /// The most calls held at once (waiting, ringing or bridged): a new caller beyond it gets
    /// 503 with Retry-After, so the carrier can try another route, instead of music the hub has
    /// no CPU left to play.
    pub max_calls: usize,
}

impl B2buaConfig {
    fn sent_by(&self, transport: Transport) -> SocketAddr {
        sent_by(self.local, self.tls, transport)
    }
}

/// Our address as a request or response over `transport` names it (Via sent-by, Contact): the
/// TLS listener's on TLS, else the one UDP and TCP share.
fn sent_by(local: SocketAddr, tls: Option<SocketAddr>, transport: Transport) -> SocketAddr {
    match (transport, tls) {
        (Transport::Tls, Some(tls)) => tls,
        _ => local,
    }
}

/// What a caller turned away for the ceiling on calls is told to wait (RFC 3261 §21.5.4).
const FULL_RETRY_AFTER_SECS: u32 = 30;

/// A retransmitted message: sent again at `next`, the interval doubling up to T2, until `until`.
#[derive(Debug, Clone)]
struct Retransmit {
    to: SocketAddr,
    transport: Transport,
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    until: Instant,
}

impl Retransmit {
    fn new(to: SocketAddr, transport: Transport, bytes: Vec<u8>, now: Instant) -> Self {
        Retransmit {
            to,
            transport,
            bytes,
            next: now + T1,
            interval: T1,
            until: now + GIVE_UP,
        }
    }

    fn send(&self) -> Action {
        Action::Send {
            to: self.to,
            transport: self.transport,
            bytes: self.bytes.clone(),
        }
    }

    /// The datagram to send again now, if due (never on a reliable transport).
    fn due(&mut self, now: Instant) -> Option<Action> {
        if self.transport.reliable() || now < self.next {
            return None;
        }
        self.interval = (self.interval * 2).min(T2);
        self.next = now + self.interval;
        Some(self.send())
    }
}

/// The caller's dialog, where we are the UAS.
#[derive(Debug)]
struct CallerLeg {
    source: SocketAddr,
    transport: Transport,
    call_id: String,
    /// The INVITE's From (the remote party) and To with our tag added (us).
    remote: String,
    local: String,
    /// Where in-dialog requests go (the caller's Contact) and through which Record-Route.
    target: String,
    route: Vec<String>,
    cseq: u32,
    /// The 200 OK, sent again until the ACK (§13.3.1.4).
    unacked: Option<Retransmit>,
    /// RFC 4028, when the caller (or a proxy on its way) asked for it.
    timer: Option<SessionTimer>,
    /// Whether the caller's INVITE listed UPDATE in its Allow: how we refresh the session.
    allows_update: bool,
    /// The ACK of the 2xx to our refreshing re-INVITE, sent again if the 2xx is.
    refresh_ack: Option<(u32, Vec<u8>)>,
    /// Our SRTP key on this leg, which is TLS; none on any other.
    srtp: Option<MasterKey>,
}

/// Who refreshes a session (RFC 4028 §9's table): the caller, or we do, with an UPDATE (or a
/// re-INVITE where the caller does not allow UPDATE) every half interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresher {
    Caller,
    Us,
}

/// A session timer (RFC 4028) on the caller's dialog: refreshed by whoever §9 says, or the
/// call is ended.
#[derive(Debug, Clone)]
struct SessionTimer {
    interval: Duration,
    refreshed: Instant,
    refresher: Refresher,
    /// Whether the caller supports the extension: when it does not, a proxy on the way (a
    /// carrier's SBC, Kamailio's sst) asked for the timer, and we are the refresher.
    supported: bool,
    /// When we send our next refresh (when we are the refresher).
    next_refresh: Instant,
    /// Our refresh on its way: its branch.
    in_flight: Option<String>,
}

/// RFC 4028 §4: the smallest session interval we accept, and our Min-SE.
const MIN_SE_SECS: u32 = 90;

/// How soon a refresh of ours that failed (491, no answer) is tried again.
const REFRESH_RETRY: Duration = Duration::from_secs(5);

impl SessionTimer {
    fn new(asked: Asked, now: Instant) -> Self {
        let mut timer = SessionTimer {
            interval: asked.interval,
            refreshed: now,
            refresher: asked.refresher(),
            supported: asked.supported,
            next_refresh: now,
            in_flight: None,
        };
        timer.refreshed_at(now);
        timer
    }

    /// A refresh went through (either side's): the session lives another interval.
    fn refreshed_at(&mut self, now: Instant) {
        self.refreshed = now;
        // §7.2: the refresher refreshes at half the interval.
        self.next_refresh = now + self.interval / 2;
    }

    /// The caller asked again (a re-INVITE or UPDATE of theirs), with or without a timer. A caller
    /// that said it supports the extension still does, whether or not it says so again.
    fn asked_again(&mut self, asked: Option<Asked>, now: Instant) {
        if let Some(mut asked) = asked {
            asked.supported |= self.supported;
            self.interval = asked.interval;
            self.refresher = asked.refresher();
            self.supported = asked.supported;
        }
        self.refreshed_at(now);
    }

    /// §10: without a refresh, the non-refresher ends the session min(32 s, interval/3) before
    /// it expires (and so do we when our own refreshes keep failing).
    fn expired(&self, now: Instant) -> bool {
        let margin = (self.interval / 3).min(Duration::from_secs(32));
        now >= self.refreshed + self.interval - margin
    }

    /// Whether our refresh is due now.
    fn due(&self, now: Instant) -> bool {
        self.refresher == Refresher::Us && self.in_flight.is_none() && now >= self.next_refresh
    }

    /// The headers a 2xx carries to keep the timer on (§9): who refreshes, and `Require: timer`
    /// only to a caller that supports it (§8.2.2 of RFC 3261: nothing it did not list).
    fn headers(&self, response: ResponseBuilder) -> ResponseBuilder {
        let refresher = match self.refresher {
            Refresher::Caller => "uac",
            Refresher::Us => "uas",
        };
        let response = response.header(
            "Session-Expires",
            format!("{};refresher={refresher}", self.interval.as_secs()),
        );
        if self.supported {
            response.header("Require", "timer")
        } else {
            response
        }
    }
}

/// What a request asks of the session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Asked {
    interval: Duration,
    /// It said `refresher=uas`.
    asks_us: bool,
    /// It supports the extension (`timer` in its Supported or Require).
    supported: bool,
}

impl Asked {
    /// Who refreshes, by §9's table: the caller when it supports the extension and asked for
    /// `refresher=uac` or said nothing (our choice), we when it asked for `refresher=uas` or
    /// does not support the extension at all (a proxy inserted the header, and only we can keep
    /// it).
    fn refresher(&self) -> Refresher {
        if self.supported && !self.asks_us {
            Refresher::Caller
        } else {
            Refresher::Us
        }
    }
}

/// What a request asks of the session timer (RFC 4028 §9): none when it has no Session-Expires;
/// `Err` when a caller that supports the extension asks for less than our Min-SE (answered 422).
fn requested_timer(request: &SipRequest) -> Result<Option<Asked>, ResponseBuilder> {
    let Some(value) = request.header("Session-Expires").or(request.header("x")) else {
        return Ok(None);
    };
    let mut parts = value.split(';');
    let secs: u32 = parts
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|_| ResponseBuilder::new(400, "Bad Session-Expires header"))?;
    let asks_us = parts
        .filter_map(|p| p.split_once('='))
        .any(|(k, v)| k.trim().eq_ignore_ascii_case("refresher") && v.trim().eq_ignore_ascii_case("uas"));
    let supported = ["Supported", "k", "Require"].iter().any(|name| {
        request
            .headers
            .all(name)
            .flat_map(|v| v.split(','))
            .any(|o| o.trim().eq_ignore_ascii_case("timer"))
    });
    if secs < MIN_SE_SECS && supported {
        return Err(
            ResponseBuilder::new(422, "Session Interval Too Small").header("Min-SE", MIN_SE_SECS.to_string())
        );
    }
    // A caller that does not support the extension would not understand a 422 (§9): we take
    // the interval up to our Min-SE and refresh it ourselves.
    Ok(Some(Asked {
        interval: Duration::from_secs(u64::from(secs.max(MIN_SE_SECS))),
        asks_us,
        supported,
    }))
}

/// A caller's call between our 200 and their ACK (§13.3.1.4): nothing starts before the dialog
/// is confirmed, so an INVITE from a forged source (which never sees our To tag) costs no media
/// and no contact in the hub.
#[derive(Debug)]
struct Pending {
    /// The media negotiated from the INVITE's offer; none for a late offer, whose answer comes in
    /// the ACK.
    media: Option<Negotiated>,
    prompts: Vec<Prompt>,
    /// The queue the call waits in (none for the IVR menu, which chooses it on a key).
    queue: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegState {
    /// INVITE sent, no response yet (Timer A retransmits).
    Calling,
    /// A provisional response came.
    Ringing,
    /// Answered and ACKed.
    Talking,
    /// CANCEL sent (or to be sent at the first provisional response).
    Cancelling,
}

/// A dialog where we are the UAC: the agent's phone, or the customer a click-to-call dials.
#[derive(Debug)]
struct UacLeg {
    state: LegState,
    to: SocketAddr,
    /// How `to` is reached: over TCP or TLS, the phone's own connection when it registered on one.
    transport: Transport,
    uri: String,
    call_id: String,
    branch: String,
    local: String,
    /// The To as sent; with the phone's tag once it answered.
    remote: String,
    target: String,
    cseq: u32,
    invite: Retransmit,
    /// The ACK of the 2xx, sent again if the 2xx is.
    ack: Option<Vec<u8>>,
    record: Option<PathBuf>,
    /// Our SRTP key, offered to a phone rung over TLS.
    srtp: Option<MasterKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// In the IVR menu: no interaction in the hub yet.
    Menu,
    Queued,
    /// Click-to-call, before the bridge.
    Dialling,
    Bridged,
    /// Leaving a voicemail, until then at the latest.
    Voicemail {
        until: Instant,
    },
    /// A callback is booked: the caller hears so, and we hang up then.
    Farewell {
        until: Instant,
    },
}

#[derive(Debug)]
struct Call {
    /// The customer who called in; none for click-to-call.
    caller: Option<CallerLeg>,
    agent: Option<UacLeg>,
    /// The agent's other devices, ringing beside `agent` until one of them answers.
    forks: Vec<UacLeg>,
    /// The customer a click-to-call dials, once the agent's phone answered.
    callee: Option<UacLeg>,
    /// Click-to-call: where the agent's phone takes its RTP (and its SRTP keys), kept until the
    /// customer answers.
    agent_media: Option<(SocketAddr, Option<LegKeys>)>,
    /// Click-to-call from a browser: where the call is recorded once the customer answers (a
    /// phone's leg keeps this itself).
    record: Option<PathBuf>,
    /// The customer's telephone-event payload type (RFC 4733), when their phone takes them:
    /// where the agent's keys go.
    telephone_event: Option<u8>,
    stage: Stage,
    menu: Option<Menu>,
    /// The caller was offered a callback (pressing 1 chooses it) while waiting.
    callback_offered: bool,
    dialled: String,
    identity: (Option<String>, Option<String>),
    codec: Codec,
    ports: (u16, u16),
    session_id: u64,
    /// The `o=` version of the SDP we last sent on any leg (RFC 3264 §8: up with each change).
    session_version: u64,
    pending: Option<Pending>,
    /// Whether the hub knows the call (it was announced, or the hub placed it).
    announced: bool,
    /// A leg whose re-INVITE had no offer: we offered in the 200, its answer comes in the ACK.
    reoffered: Option<Side>,
    /// A third party's desk phone, ringing or on the call.
    party: Option<UacLeg>,
    /// How the third party takes part, from the moment they are asked to join until they leave.
    mixing: Option<Mix>,
    /// The call's third party's port, once one joined (kept for the next).
    party_port: Option<u16>,
}

/// Which leg a Call-ID belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Caller,
    Agent,
    /// The customer a click-to-call dials.
    Callee,
    /// Another device of the agent's, rung beside the first (a parallel fork): it becomes the
    /// agent's leg if it answers first.
    Fork,
    /// A third party's phone: a supervisor listening in, or a consulted colleague.
    Party,
}

pub struct B2bua {
    config: B2buaConfig,
    calls: HashMap<CallId, Call>,
    dialogs: HashMap<String, (CallId, Side)>,
    /// BYE and CANCEL client transactions by branch, until their response or Timer F.
    requests: HashMap<String, Retransmit>,
    next_call: u64,
    actions: Vec<Action>,
}

/// A token from the shell's entropy and a counter, so one input can mint several.
fn token(entropy: u64, n: u64) -> String {
    // SplitMix64's finaliser: distinct counters give unrelated tokens.
    let mut z = entropy.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("{:016x}", z ^ (z >> 31))
}

impl B2bua {
    pub fn new(config: B2buaConfig) -> Self {
        B2bua {
            config,
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            requests: HashMap::new(),
            next_call: 1,
            actions: Vec::new(),
        }
    }

    /// Everything decided since the last call.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Whether a request belongs to a dialog or transaction we hold (as opposed to a new call).
    pub fn knows(&self, request: &SipRequest) -> bool {
        self.dialogs.contains_key(request.call_id())
    }

    fn emit(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// A new INVITE (no To tag) that the service has let in: answered at once with our media (the
    /// caller hears the greeting and music while queued). `tag` is our To tag, the one the service
    /// writes into the response returned here.
    pub fn invite(
        &mut self,
        request: &SipRequest,
        cx: Context,
        tag: &str,
        ports: &mut dyn MediaPorts,
    ) -> ResponseBuilder {
        let refuse = |why: &dyn std::fmt::Display| {
            ResponseBuilder::new(488, "Not Acceptable Here")
                .header("Warning", format!("399 plugboard \"{why}\""))
        };
        if self.knows(request) {
            // Same Call-ID, new transaction, no To tag: a fork or a loop (§8.2.2.2).
            return ResponseBuilder::new(482, "Loop Detected");
        }
        if self.calls.len() >= self.config.max_calls {
            return ResponseBuilder::new(503, "Service Unavailable")
                .header("Retry-After", FULL_RETRY_AFTER_SECS.to_string());
        }
        let dialled = message::uri_user(&request.uri).unwrap_or("").to_owned();
        let Some(destination) = self.config.numbers.get(&dialled).cloned() else {
            return ResponseBuilder::new(404, "Not Found");
        };
        let offer = match sdp_body(request).map(SessionDescription::parse) {
            Some(Ok(offer)) => Some(offer),
            // A late offer (§13.2.1): we offer in the 200 and take the answer from the ACK.
            None => None,
            Some(Err(e)) => return refuse(&e),
        };
        let timer = match requested_timer(request) {
            Ok(timer) => timer,
            Err(refusal) => return refusal,
        };
        let call = CallId(self.next_call);
        let session_id = cx.entropy >> 16;
        let mut local = LocalMedia {
            addr: SocketAddr::new(self.config.media_ip, 9),
            session_id,
            session_version: 1,
            srtp: (cx.transport == Transport::Tls).then(|| ports.srtp_key()),
        };
        // Negotiate before taking ports, so a refused offer costs nothing.
        if let Some(offer) = &offer
            && let Err(e) = sdp::negotiate(offer, &local)
        {
            return refuse(&e);
        }
        let Some(ports) = ports.open(call) else {
            return ResponseBuilder::new(503, "Service Unavailable").header("Retry-After", "5");
        };
        self.next_call += 1;
        local.addr.set_port(ports.0);
        let (negotiated, sdp) = match &offer {
            Some(offer) => {
                let n = sdp::negotiate(offer, &local).expect("negotiated above with the same offer");
                let answer = n.answer.clone();
                (Some(n), answer)
            }
            None => (None, sdp::offer(&local, &[Codec::Pcmu, Codec::Pcma])),
        };

        let identity_header = request.header("P-Asserted-Identity").or(request.header("From"));
        let identity = (
            identity_header.and_then(message::uri_user).map(str::to_owned),
            identity_header.and_then(message::display_name).map(str::to_owned),
        );
        let route: Vec<String> = request.headers.all("Record-Route").map(str::to_owned).collect();
        let mut response = ResponseBuilder::new(200, "OK")
            .header(
                "Contact",
                contact(cx.transport, self.config.sent_by(cx.transport)),
            )
            .header("Allow", ALLOW_IN_DIALOG)
            .body(Body::sdp(&sdp));
        for rr in &route {
            response = response.header("Record-Route", rr.clone());
        }
        let timer = timer.map(|asked| SessionTimer::new(asked, cx.now));
        if let Some(timer) = &timer {
            response = timer.headers(response);
        }
        let caller = CallerLeg {
            source: cx.source,
            transport: cx.transport,
            call_id: request.call_id().to_owned(),
            remote: request.header("From").unwrap_or_default().to_owned(),
            local: format!("{};tag={tag}", request.header("To").unwrap_or_default()),
            target: request
                .header("Contact")
                .map(|c| format!("<{}>", message::addr_uri(c)))
                .unwrap_or_else(|| request.uri.clone()),
            route,
            cseq: 0,
            // The service sends the first copy; we send it again until the ACK.
            unacked: Some(Retransmit::new(
                cx.source,
                cx.transport,
                response.build(request, tag),
                cx.now,
            )),
            timer,
            allows_update: request
                .headers
                .all("Allow")
                .flat_map(|v| v.split(','))
                .any(|m| m.trim().eq_ignore_ascii_case("UPDATE")),
            refresh_ack: None,
            srtp: local.srtp.clone(),
        };
        let (stage, menu, prompts, queue) = match destination {
            Destination::Queue(queue) => (Stage::Queued, None, vec!["greeting"], Some(queue)),
            Destination::Menu(menu) => (Stage::Menu, Some(menu), vec!["greeting", "menu"], None),
        };
        self.dialogs.insert(caller.call_id.clone(), (call, Side::Caller));
        self.calls.insert(
            call,
            Call {
                caller: Some(caller),
                agent: None,
                forks: Vec::new(),
                callee: None,
                agent_media: None,
                record: None,
                telephone_event: None,
                stage,
                menu,
                callback_offered: false,
                dialled,
                identity,
                codec: negotiated.as_ref().map_or(Codec::Pcmu, |n| n.codec),
                ports,
                session_id,
                session_version: 1,
                pending: Some(Pending {
                    media: negotiated,
                    prompts,
                    queue,
                }),
                announced: false,
                reoffered: None,
                party: None,
                mixing: None,
                party_port: None,
            },
        );
        response
    }

    /// The caller's ACK confirmed the dialog: their media starts, and the hub hears of the call
    /// (for a late offer, once the ACK's answer is read; a caller whose ACK has no usable answer
    /// is hung up).
    fn confirmed(&mut self, id: CallId, ack: &SipRequest, now: Instant) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(pending) = call.pending.take() else {
            return;
        };
        let local = LocalMedia {
            addr: SocketAddr::new(self.config.media_ip, call.ports.0),
            session_id: call.session_id,
            session_version: call.session_version,
            srtp: call.caller.as_ref().and_then(|c| c.srtp.clone()),
        };
        let media = pending.media.or_else(|| answer_in(ack, &local));
        let Some(media) = media else {
            self.end(id, Party::Hub, now);
            return;
        };
        call.codec = media.codec;
        call.telephone_event = media.telephone_event;
        let peer = call.caller.as_ref().map_or(media.remote.ip(), |c| c.source.ip());
        self.emit(Action::Media(MediaCommand::Start {
            call: id,
            remote: media.remote,
            peer,
            codec: media.codec,
            payload_type: media.payload_type,
            telephone_event: media.telephone_event,
            prompts: pending.prompts,
            srtp: media.srtp.clone(),
        }));
        if !sends(&media) {
            self.emit(Action::Media(MediaCommand::Update {
                call: id,
                leg: Leg::Caller,
                remote: media.remote,
                sending: false,
                srtp: media.srtp,
            }));
        }
        if let Some(queue) = pending.queue {
            self.incoming(id, queue);
        }
    }

    fn incoming(&mut self, id: CallId, queue: String) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.announced = true;
        let event = CallEvent::Incoming {
            call: id,
            caller: call.identity.0.clone(),
            display_name: call.identity.1.clone(),
            dialled: call.dialled.clone(),
            queue,
        };
        self.emit(Action::Event(event));
    }

    /// Whether a request's tags are those of the dialog it names by Call-ID (RFC 3261 §12.2.2):
    /// From carries the remote tag and To ours. A CANCEL has no To tag yet and is matched on its
    /// From tag (§9.2).
    fn matches_dialog(&self, id: CallId, side: Side, request: &SipRequest) -> bool {
        let Some(call) = self.calls.get(&id) else {
            return false;
        };
        let (remote, local) = match side {
            Side::Caller => match &call.caller {
                Some(leg) => (&leg.remote, &leg.local),
                None => return false,
            },
            // A device still ringing has no dialog yet.
            Side::Fork => return false,
            Side::Agent | Side::Callee | Side::Party => {
                let leg = match side {
                    Side::Agent => &call.agent,
                    Side::Callee => &call.callee,
                    _ => &call.party,
                };
                match leg {
                    Some(leg) => (&leg.remote, &leg.local),
                    None => return false,
                }
            }
        };
        let theirs = message::param(remote, "tag");
        let ours = message::param(local, "tag");
        let to_matches = request.method == Method::Cancel || request.to_tag() == ours;
        theirs.is_some() && request.from_tag() == theirs && to_matches
    }

    /// A request inside one of our dialogs (ACK, BYE, re-INVITE, UPDATE, INFO, CANCEL, anything
    /// else). One whose tags do not match the dialog is answered 481 and changes nothing.
    pub fn in_dialog(&mut self, request: &SipRequest, cx: Context) -> Option<ResponseBuilder> {
        let &(id, side) = self.dialogs.get(request.call_id())?;
        if !self.matches_dialog(id, side, request) {
            return (request.method != Method::Ack)
                .then(|| ResponseBuilder::new(481, "Call/Transaction Does Not Exist"));
        }
        match (&request.method, side) {
            (Method::Ack, _) => {
                if side == Side::Caller
                    && let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.caller.as_mut())
                {
                    leg.unacked = None;
                }
                let call = self.calls.get_mut(&id)?;
                if side == Side::Caller && call.pending.is_some() {
                    self.confirmed(id, request, cx.now);
                } else if call.reoffered == Some(side) {
                    call.reoffered = None;
                    let local = LocalMedia {
                        addr: SocketAddr::new(self.config.media_ip, call.ports.0),
                        session_id: call.session_id,
                        session_version: call.session_version,
                        srtp: our_key(call, side),
                    };
                    if let Some(answer) = answer_in(request, &local) {
                        self.renegotiate(id, side, &answer);
                    }
                }
                None
            }
            // The third party hanging up leaves the call as it was.
            (Method::Bye, Side::Party) => {
                self.drop_leg(id, Side::Party);
                self.party_left(id);
                Some(ResponseBuilder::new(200, "OK"))
            }
            // A BYE on either leg ends both.
            (Method::Bye, side) => {
                // A caller's BYE overtaking their ACK (a proxy's workers can reorder them) still
                // proves the dialog theirs: the hub hears of the call, which ends at once.
                let pending = self.calls.get_mut(&id).and_then(|c| c.pending.take());
                if let Some(queue) = pending.and_then(|p| p.queue) {
                    self.incoming(id, queue);
                }
                // The customer is the caller, or the callee of a click-to-call.
                let by = if side == Side::Agent {
                    Party::Agent
                } else {
                    Party::Caller
                };
                self.end(id, by, cx.now);
                Some(ResponseBuilder::new(200, "OK"))
            }
            // §9.2: the INVITE was answered at once, so there is nothing left to cancel.
            (Method::Cancel, _) => Some(ResponseBuilder::new(200, "OK")),
            (Method::Invite | Method::Update, _) => Some(self.reinvite(id, side, request, cx.now)),
            (Method::Info, Side::Caller | Side::Callee) => Some(self.info(id, request, cx.now)),
            (Method::Options, _) => Some(ResponseBuilder::new(200, "OK")),
            _ => Some(ResponseBuilder::new(405, "Method Not Allowed").header("Allow", ALLOW_IN_DIALOG)),
        }
    }

    /// A re-INVITE or UPDATE: a phone putting us on hold or taking us off it, moving its media,
    /// or refreshing the session timer. An offer is answered with the same codec, the direction
    /// mirrored, and the media follows it (a caller holding us hears nothing from us until they
    /// resume). A re-INVITE without an offer gets ours, and its answer comes in the ACK; an UPDATE
    /// without one only refreshes.
    fn reinvite(&mut self, id: CallId, side: Side, request: &SipRequest, now: Instant) -> ResponseBuilder {
        let media_ip = self.config.media_ip;
        let Some(call) = self.calls.get_mut(&id) else {
            return ResponseBuilder::new(481, "Call/Transaction Does Not Exist");
        };
        let transport = match side {
            Side::Caller => call.caller.as_ref().map(|l| l.transport),
            Side::Agent => call.agent.as_ref().map(|l| l.transport),
            Side::Callee => call.callee.as_ref().map(|l| l.transport),
            Side::Party => call.party.as_ref().map(|l| l.transport),
            Side::Fork => None,
        }
        .unwrap_or(Transport::Udp);
        let contact = contact(transport, self.config.sent_by(transport));
        if side == Side::Caller && call.pending.is_some() {
            // §14.2: the INVITE that made the dialog is not acknowledged yet.
            return ResponseBuilder::new(491, "Request Pending");
        }
        if side == Side::Caller
            && request.method == Method::Invite
            && call.caller.as_ref().is_some_and(|leg| {
                !leg.allows_update && leg.timer.as_ref().is_some_and(|t| t.in_flight.is_some())
            })
        {
            // §14.2: our refreshing re-INVITE is on its way (glare).
            return ResponseBuilder::new(491, "Request Pending");
        }
        let timer = match (side, requested_timer(request)) {
            (_, Err(refusal)) => return refusal,
            (Side::Caller, Ok(asked)) => call.caller.as_mut().and_then(|leg| {
                let timer = leg.timer.as_mut()?;
                timer.asked_again(asked, now);
                Some(timer.clone())
            }),
            _ => None,
        };
        let port = port_of(call, side);
        let mut response = ResponseBuilder::new(200, "OK").header("Contact", contact);
        if let Some(timer) = &timer {
            response = timer.headers(response);
        }
        let body = sdp_body(request);
        if body.is_none() && request.method == Method::Update {
            return response;
        }
        call.session_version += 1;
        let local = LocalMedia {
            addr: SocketAddr::new(media_ip, port),
            session_id: call.session_id,
            session_version: call.session_version,
            srtp: our_key(call, side),
        };
        let Some(body) = body else {
            call.reoffered = Some(side);
            return response.body(Body::sdp(&sdp::offer(&local, &[call.codec])));
        };
        let codec = call.codec;
        match SessionDescription::parse(body).map(|offer| sdp::negotiate(&offer, &local)) {
            Ok(Ok(n)) if n.codec == codec => {
                self.renegotiate(id, side, &n);
                response.body(Body::sdp(&n.answer))
            }
            _ => ResponseBuilder::new(488, "Not Acceptable Here"),
        }
    }

    /// A leg's new session description (an offer in a re-INVITE or an answer in an ACK): the media
    /// shell is told where the phone now takes RTP and whether it wants it. Before the media for
    /// that leg runs, there is nothing to tell.
    fn renegotiate(&mut self, id: CallId, side: Side, n: &Negotiated) {
        let Some(call) = self.calls.get(&id) else { return };
        let running = match side {
            Side::Caller => call.pending.is_none(),
            Side::Agent | Side::Callee => call.stage == Stage::Bridged,
            // A third party's phone moving its media keeps what it was given (they are on for
            // a moment; a phone that holds them hears us anyway).
            Side::Fork | Side::Party => false,
        };
        if running {
            let leg = if side == Side::Agent {
                Leg::Agent
            } else {
                Leg::Caller
            };
            self.emit(Action::Media(MediaCommand::Update {
                call: id,
                leg,
                remote: n.remote,
                sending: sends(n),
                srtp: n.srtp.clone(),
            }));
        }
    }

    /// SIP INFO carrying a key the caller pressed (`application/dtmf-relay` as Cisco phones and
    /// carriers send it, or `application/dtmf`), taken like an RFC 4733 event.
    fn info(&mut self, id: CallId, request: &SipRequest, now: Instant) -> ResponseBuilder {
        let content_type = request
            .header("Content-Type")
            .or(request.header("c"))
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let body = std::str::from_utf8(&request.body).unwrap_or("");
        let signal = match content_type.as_str() {
            "application/dtmf-relay" => body
                .lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("signal"))
                .map(|(_, v)| v.trim()),
            "application/dtmf" => Some(body.trim()),
            _ => {
                return ResponseBuilder::new(415, "Unsupported Media Type")
                    .header("Accept", "application/dtmf-relay, application/dtmf");
            }
        };
        let key = signal
            .filter(|s| s.chars().count() == 1)
            .and_then(|s| s.chars().next())
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'));
        match key {
            Some(key) => {
                self.digit(id, key, now);
                ResponseBuilder::new(200, "OK")
            }
            None => ResponseBuilder::new(400, "No DTMF key in the INFO body"),
        }
    }

    /// A response to something we sent: the agent leg's INVITE, a CANCEL or a BYE.
    pub fn response(&mut self, response: &SipResponse, cx: Context) {
        let Ok((_, method)) = response.headers.cseq() else {
            return;
        };
        if let Some(&(id, Side::Caller)) = response.headers.get("Call-ID").and_then(|c| self.dialogs.get(c)) {
            self.caller_response(id, response, cx);
            return;
        }
        if method != "INVITE" {
            // BYE or CANCEL: their transaction is done.
            if let Some(branch) = response.branch() {
                self.requests.remove(branch);
            }
            return;
        }
        let leg = response
            .headers
            .get("Call-ID")
            .and_then(|c| self.dialogs.get(c))
            .copied()
            .filter(|(_, side)| *side != Side::Caller);
        if let Some((id, Side::Fork)) = leg {
            self.fork_response(id, response, cx);
            return;
        }
        let Some((id, side)) = leg.filter(|&(id, side)| {
            self.leg(id, side)
                .is_some_and(|leg| response.branch() == Some(leg.branch.as_str()))
        }) else {
            self.orphan_response(response, cx.source, cx.transport);
            return;
        };
        let state = self.leg(id, side).map(|l| l.state);
        match response.status {
            100..=199 => match state {
                Some(LegState::Calling) => {
                    if let Some(leg) = self.leg(id, side) {
                        leg.state = LegState::Ringing;
                    }
                }
                Some(LegState::Cancelling) => {
                    self.send_cancel(id, side, cx.now);
                    self.drop_leg(id, side);
                }
                _ => {}
            },
            200..=299 if side == Side::Agent => self.agent_answered(id, response, cx),
            200..=299 if side == Side::Party => self.party_answered(id, response, cx.now),
            200..=299 => self.callee_answered(id, response, cx.now),
            status => {
                let state = self.drop_leg(id, side);
                self.orphan_response(response, cx.source, cx.transport);
                if state == Some(LegState::Cancelling) {
                    return;
                }
                if side == Side::Agent && self.next_fork(id) {
                    // Another of the agent's devices still rings.
                    return;
                }
                if side == Side::Party {
                    self.party_failed(id, status);
                } else if side == Side::Agent {
                    self.emit(Action::Event(CallEvent::AgentFailed { call: id, status }));
                } else {
                    self.emit(Action::Event(CallEvent::CustomerFailed { call: id, status }));
                    self.end(id, Party::Hub, cx.now);
                }
            }
        }
    }

    /// A response from one of the agent's other devices: it rings, or it answered first and
    /// becomes the agent's leg (the one rung first and the others are cancelled), or it refused
    /// and is forgotten (the others ring on).
    fn fork_response(&mut self, id: CallId, response: &SipResponse, cx: Context) {
        let call_id = response.headers.get("Call-ID").unwrap_or_default();
        let position = self.calls.get(&id).and_then(|c| {
            c.forks
                .iter()
                .position(|f| f.call_id == call_id && response.branch() == Some(f.branch.as_str()))
        });
        let (Some(call), Some(i)) = (self.calls.get_mut(&id), position) else {
            self.orphan_response(response, cx.source, cx.transport);
            return;
        };
        match response.status {
            100..=199 => match call.forks[i].state {
                LegState::Calling => call.forks[i].state = LegState::Ringing,
                LegState::Cancelling => {
                    let mut fork = call.forks.remove(i);
                    self.dialogs.remove(&fork.call_id);
                    self.cancel(&mut fork, cx.now);
                }
                _ => {}
            },
            200..=299 => {
                let winner = call.forks.remove(i);
                let first = call.agent.take();
                self.dialogs.insert(winner.call_id.clone(), (id, Side::Agent));
                if let Some(mut first) = first {
                    self.dialogs.remove(&first.call_id);
                    if first.state == LegState::Ringing {
                        self.cancel(&mut first, cx.now);
                    }
                }
                if let Some(call) = self.calls.get_mut(&id) {
                    call.agent = Some(winner);
                }
                self.agent_answered(id, response, cx);
            }
            _ => {
                let fork = call.forks.remove(i);
                self.dialogs.remove(&fork.call_id);
                self.orphan_response(response, cx.source, cx.transport);
            }
        }
    }

    /// The agent's first device is gone (refused, or Timer B): one still ringing takes its place.
    /// False when none is left.
    fn next_fork(&mut self, id: CallId) -> bool {
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        let Some(next) = call.forks.pop() else {
            return false;
        };
        self.dialogs.insert(next.call_id.clone(), (id, Side::Agent));
        call.agent = Some(next);
        true
    }

    /// Stops ringing the agent's other devices: CANCEL where one rings; one not ringing yet is
    /// cancelled at its first provisional response (or given up by Timer B).
    fn cancel_forks(&mut self, id: CallId, now: Instant) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let forks = std::mem::take(&mut call.forks);
        let mut kept = Vec::new();
        for mut fork in forks {
            match fork.state {
                LegState::Ringing => {
                    self.dialogs.remove(&fork.call_id);
                    self.cancel(&mut fork, now);
                }
                LegState::Calling | LegState::Cancelling => {
                    fork.state = LegState::Cancelling;
                    kept.push(fork);
                }
                LegState::Talking => {
                    self.dialogs.remove(&fork.call_id);
                }
            }
        }
        if let Some(call) = self.calls.get_mut(&id) {
            call.forks = kept;
        }
    }

    /// Sends a CANCEL for a leg's INVITE, retransmitted until answered.
    fn cancel(&mut self, leg: &mut UacLeg, now: Instant) {
        let (branch, to, transport, bytes) = leg_request(self.config.local, leg, Method::Cancel);
        self.requests
            .insert(branch, Retransmit::new(to, transport, bytes.clone(), now));
        self.send(to, transport, bytes);
    }

    /// The agent leg or the callee leg of a call.
    fn leg(&mut self, id: CallId, side: Side) -> Option<&mut UacLeg> {
        let call = self.calls.get_mut(&id)?;
        match side {
            Side::Agent => call.agent.as_mut(),
            Side::Callee => call.callee.as_mut(),
            Side::Party => call.party.as_mut(),
            Side::Caller | Side::Fork => None,
        }
    }

    /// A 2xx to one of our INVITEs: ACKed (again, for a retransmission, §13.2.2.4), the dialog
    /// completed from it. Answers where the phone wants our RTP, unless it was a retransmission.
    fn answered(
        &mut self,
        id: CallId,
        side: Side,
        response: &SipResponse,
        now: Instant,
    ) -> Option<Option<(SocketAddr, Option<LegKeys>)>> {
        let codec = self.calls.get(&id)?.codec;
        let leg = self.leg(id, side)?;
        if let Some(ack) = &leg.ack {
            let (to, transport, bytes) = (leg.to, leg.transport, ack.clone());
            self.send(to, transport, bytes);
            return None;
        }
        leg.remote = response.headers.get("To").unwrap_or_default().to_owned();
        if let Some(contact) = response.headers.get("Contact") {
            leg.target = format!("<{}>", message::addr_uri(contact));
            // Over TCP the dialog stays on the connection the phone answered on (RFC 5626 §5.3).
            if leg.transport == Transport::Udp
                && let Some(to) = message::uri_socket(contact)
            {
                leg.to = to;
            }
        }
        leg.state = LegState::Talking;
        let ours = leg.srtp.clone();
        let (to, transport, ack) = self.uac_request(id, side, Method::Ack, now)?;
        if let Some(leg) = self.leg(id, side) {
            leg.ack = Some(ack.clone());
        }
        self.send(to, transport, ack);
        let media = std::str::from_utf8(&response.body)
            .ok()
            .and_then(|b| SessionDescription::parse(b).ok())
            .and_then(|answer| sdp::accepted(&answer, codec, ours.is_some()).ok())
            .map(|(remote, _, theirs)| {
                let keys = ours.zip(theirs).map(|(ours, theirs)| LegKeys { ours, theirs });
                (remote, keys)
            });
        Some(media)
    }

    fn agent_answered(&mut self, id: CallId, response: &SipResponse, cx: Context) {
        let Some(media) = self.answered(id, Side::Agent, response, cx.now) else {
            return;
        };
        let Some((remote, srtp)) = media else {
            self.hang_up_leg(id, Side::Agent, cx.now);
            self.emit(Action::Event(CallEvent::AgentFailed {
                call: id,
                status: 488,
            }));
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.stage == Stage::Dialling {
            // Click-to-call: the agent is on the line; now the customer.
            call.agent_media = Some((remote, srtp));
            self.emit(Action::Event(CallEvent::AgentAnswered { call: id }));
            self.dial_callee(id, cx.now, cx.entropy);
            return;
        }
        call.stage = Stage::Bridged;
        let Some(agent) = call.agent.as_mut() else { return };
        let (record, peer) = (agent.record.take(), agent.to.ip());
        self.emit(Action::Media(MediaCommand::Bridge {
            call: id,
            remote,
            peer,
            record,
            srtp,
        }));
        self.emit(Action::Event(CallEvent::AgentAnswered { call: id }));
    }

    /// Click-to-call: the customer answered. Their stream starts (no prompts) and is bridged to
    /// the agent's at once.
    fn callee_answered(&mut self, id: CallId, response: &SipResponse, now: Instant) {
        let Some(media) = self.answered(id, Side::Callee, response, now) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.telephone_event = std::str::from_utf8(&response.body)
            .ok()
            .and_then(|b| SessionDescription::parse(b).ok())
            .and_then(|answer| sdp::telephone_event_in(&answer));
        let (Some((remote, callee_srtp)), Some((agent, agent_srtp))) = (media, call.agent_media.take())
        else {
            self.emit(Action::Event(CallEvent::CustomerFailed {
                call: id,
                status: 488,
            }));
            self.end(id, Party::Hub, now);
            return;
        };
        call.stage = Stage::Bridged;
        let record = match call.agent.as_mut() {
            Some(leg) => leg.record.take(),
            None => call.record.take(),
        };
        let (codec, telephone_event) = (call.codec, call.telephone_event);
        let customer = call.callee.as_ref().map_or(remote.ip(), |l| l.to.ip());
        let phone = call.agent.as_ref().map_or(agent.ip(), |l| l.to.ip());
        self.emit(Action::Media(MediaCommand::Start {
            call: id,
            remote,
            peer: customer,
            codec,
            payload_type: codec.payload_type(),
            telephone_event,
            prompts: vec![],
            srtp: callee_srtp,
        }));
        self.emit(Action::Media(MediaCommand::Bridge {
            call: id,
            remote: agent,
            peer: phone,
            record,
            srtp: agent_srtp,
        }));
        self.emit(Action::Event(CallEvent::CustomerAnswered { call: id }));
    }

    /// Builds a request on a leg of ours: the ACK of its 2xx, a CANCEL (the INVITE's branch and
    /// CSeq, §9.1) or a BYE (next CSeq). CANCEL and BYE are retransmitted until answered.
    fn uac_request(
        &mut self,
        id: CallId,
        side: Side,
        method: Method,
        now: Instant,
    ) -> Option<(SocketAddr, Transport, Vec<u8>)> {
        let (local, tls) = (self.config.local, self.config.tls);
        let leg = self.leg(id, side)?;
        let (branch, to, transport, bytes) =
            leg_request(sent_by(local, tls, leg.transport), leg, method.clone());
        if method != Method::Ack {
            self.requests
                .insert(branch, Retransmit::new(to, transport, bytes.clone(), now));
        }
        Some((to, transport, bytes))
    }

    fn send(&mut self, to: SocketAddr, transport: Transport, bytes: Vec<u8>) {
        self.emit(Action::Send { to, transport, bytes });
    }

    fn send_cancel(&mut self, id: CallId, side: Side, now: Instant) {
        if let Some((to, transport, bytes)) = self.uac_request(id, side, Method::Cancel, now) {
            self.send(to, transport, bytes);
        }
    }

    /// Forgets a leg of ours; answers the state it was in.
    fn drop_leg(&mut self, id: CallId, side: Side) -> Option<LegState> {
        let call = self.calls.get_mut(&id)?;
        let leg = match side {
            Side::Agent => call.agent.take(),
            Side::Callee => call.callee.take(),
            Side::Party => call.party.take(),
            Side::Caller | Side::Fork => None,
        }?;
        self.dialogs.remove(&leg.call_id);
        Some(leg.state)
    }

    /// Ends a leg of ours whatever its state: BYE when answered, CANCEL while ringing (a leg not
    /// yet ringing is cancelled at its first provisional response, or given up by Timer B).
    fn hang_up_leg(&mut self, id: CallId, side: Side, now: Instant) {
        if side == Side::Agent {
            self.cancel_forks(id, now);
        }
        let Some(state) = self.leg(id, side).map(|l| l.state) else {
            return;
        };
        match state {
            LegState::Talking => {
                if let Some((to, transport, bytes)) = self.uac_request(id, side, Method::Bye, now) {
                    self.send(to, transport, bytes);
                }
                self.drop_leg(id, side);
            }
            LegState::Ringing => {
                self.send_cancel(id, side, now);
                // Its 487 (or a 2xx that crossed the CANCEL) is then answered statelessly.
                self.drop_leg(id, side);
            }
            LegState::Calling => {
                if let Some(leg) = self.leg(id, side) {
                    leg.state = LegState::Cancelling;
                }
            }
            LegState::Cancelling => {}
        }
    }

    /// A BYE to the caller on our side of its dialog (§15.1.1), through its Record-Route.
    fn bye_caller(&mut self, id: CallId, now: Instant) {
        self.caller_request(id, Method::Bye, |request| request, now);
    }

    /// Sends a request of ours on the caller's dialog (its next CSeq, `finish` adding what the
    /// method needs), kept for retransmission until its response; answers its branch.
    fn caller_request(
        &mut self,
        id: CallId,
        method: Method,
        finish: impl FnOnce(RequestBuilder) -> RequestBuilder,
        now: Instant,
    ) -> Option<String> {
        let (local, tls) = (self.config.local, self.config.tls);
        let leg = self.calls.get_mut(&id).and_then(|c| c.caller.as_mut())?;
        leg.cseq += 1;
        let branch = format!(
            "z9hG4bK{}-{}",
            leg.call_id.len(),
            token(id.0, u64::from(leg.cseq))
        );
        let bytes = finish(on_caller_dialog(
            leg,
            sent_by(local, tls, leg.transport),
            &method,
            &branch,
            leg.cseq,
        ))
        .build();
        let (to, transport) = (leg.source, leg.transport);
        self.requests
            .insert(branch.clone(), Retransmit::new(to, transport, bytes.clone(), now));
        self.send(to, transport, bytes);
        Some(branch)
    }

    /// Our refresh of the caller's session, we being its refresher (RFC 4028 §7.4): an UPDATE
    /// without a body where the caller allows UPDATE, else a re-INVITE offering the codec the
    /// call has.
    fn refresh(&mut self, id: CallId, now: Instant) {
        let (local, tls, media_ip) = (self.config.local, self.config.tls, self.config.media_ip);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let port = port_of(call, Side::Caller);
        let Some(leg) = call.caller.as_ref() else {
            return;
        };
        let Some(timer) = leg.timer.as_ref() else {
            return;
        };
        let method = if leg.allows_update {
            Method::Update
        } else {
            Method::Invite
        };
        let offer = (method == Method::Invite).then(|| {
            call.session_version += 1;
            let local = LocalMedia {
                addr: SocketAddr::new(media_ip, port),
                session_id: call.session_id,
                session_version: call.session_version,
                srtp: leg.srtp.clone(),
            };
            Body::sdp(&sdp::offer(&local, &[call.codec]))
        });
        let ours = contact(leg.transport, sent_by(local, tls, leg.transport));
        // We are the UAC of this transaction: `refresher=uac` names us (§7.4).
        let expires = format!("{};refresher=uac", timer.interval.as_secs());
        let sent = self.caller_request(
            id,
            method,
            |request| {
                request
                    .header("Contact", ours)
                    .header("Session-Expires", expires)
                    .header("Min-SE", MIN_SE_SECS.to_string())
                    .header("Supported", "timer")
                    .body(offer)
            },
            now,
        );
        if let Some(timer) = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.caller.as_mut())
            .and_then(|l| l.timer.as_mut())
        {
            timer.in_flight = sent;
        }
    }

    /// A response on the caller's dialog: to our BYE (its transaction is done), or to our
    /// refresh. A 2xx refreshes the session (a re-INVITE's is ACKed, and its answer taken); 408
    /// or 481 say the caller's side is gone (§10), and the call ends; 422 raises the interval,
    /// 405 or 501 to an UPDATE makes the next refresh a re-INVITE; anything else is tried again
    /// shortly (the session lasts until the deadline in any case).
    fn caller_response(&mut self, id: CallId, response: &SipResponse, cx: Context) {
        let Ok((cseq, method)) = response.headers.cseq() else {
            return;
        };
        let branch = response.branch().unwrap_or_default().to_owned();
        if response.status >= 200 {
            self.requests.remove(&branch);
        }
        let (local, tls, media_ip) = (self.config.local, self.config.tls, self.config.media_ip);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let port = port_of(call, Side::Caller);
        let Some(leg) = call.caller.as_mut() else {
            return;
        };
        if let Some((acked, ack)) = &leg.refresh_ack
            && *acked == cseq
            && method == "INVITE"
            && (200..300).contains(&response.status)
        {
            // The 2xx again: it did not hear our ACK (§13.2.2.4).
            let (to, transport, ack) = (leg.source, leg.transport, ack.clone());
            self.send(to, transport, ack);
            return;
        }
        let Some(timer) = leg.timer.as_mut() else {
            return;
        };
        if response.status < 200 || timer.in_flight.as_deref() != Some(branch.as_str()) {
            return;
        }
        timer.in_flight = None;
        let now = cx.now;
        match response.status {
            200..=299 => {
                if let Some(value) = response.headers.get("Session-Expires") {
                    let mut parts = value.split(';');
                    if let Some(secs) = parts.next().and_then(|s| s.trim().parse::<u32>().ok()) {
                        timer.interval = Duration::from_secs(u64::from(secs.max(MIN_SE_SECS)));
                    }
                    // `uas` in the answer to our request names the caller.
                    if parts.filter_map(|p| p.split_once('=')).any(|(k, v)| {
                        k.trim().eq_ignore_ascii_case("refresher") && v.trim().eq_ignore_ascii_case("uas")
                    }) {
                        timer.refresher = Refresher::Caller;
                    }
                }
                timer.refreshed_at(now);
                if method != "INVITE" {
                    return;
                }
                let ack_branch = format!("{branch}-ack");
                let ack = on_caller_dialog(
                    leg,
                    sent_by(local, tls, leg.transport),
                    &Method::Ack,
                    &ack_branch,
                    cseq,
                )
                .build();
                leg.refresh_ack = Some((cseq, ack.clone()));
                let (to, transport) = (leg.source, leg.transport);
                let local = LocalMedia {
                    addr: SocketAddr::new(media_ip, port),
                    session_id: call.session_id,
                    session_version: call.session_version,
                    srtp: leg.srtp.clone(),
                };
                let answer = std::str::from_utf8(&response.body)
                    .ok()
                    .filter(|b| !b.trim().is_empty())
                    .and_then(|b| SessionDescription::parse(b).ok())
                    .and_then(|answer| sdp::negotiate(&answer, &local).ok());
                self.send(to, transport, ack);
                if let Some(answer) = answer {
                    self.renegotiate(id, Side::Caller, &answer);
                }
            }
            408 | 481 => self.end(id, Party::Hub, now),
            status => {
                if status == 422
                    && let Some(min) = response
                        .headers
                        .get("Min-SE")
                        .and_then(|v| v.split(';').next())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                {
                    timer.interval = timer.interval.max(Duration::from_secs(min));
                    timer.next_refresh = now;
                } else if matches!(status, 405 | 501) && method == "UPDATE" {
                    leg.allows_update = false;
                    timer.next_refresh = now;
                } else {
                    timer.next_refresh = now + REFRESH_RETRY;
                }
                if method == "INVITE" {
                    // A final error to an INVITE is ACKed on its own branch (§17.1.1.3).
                    self.orphan_response(response, cx.source, cx.transport);
                }
            }
        }
    }

    /// The call is over: the other legs are hung up, the media closed, the hub told.
    fn end(&mut self, id: CallId, by: Party, now: Instant) {
        if !self.calls.contains_key(&id) {
            return;
        }
        self.hang_up_leg(id, Side::Party, now);
        if by != Party::Agent {
            self.hang_up_leg(id, Side::Agent, now);
        } else {
            self.drop_leg(id, Side::Agent);
        }
        if by != Party::Caller {
            self.bye_caller(id, now);
            self.hang_up_leg(id, Side::Callee, now);
        } else {
            self.drop_leg(id, Side::Callee);
        }
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        for leg in [call.agent.as_ref(), call.callee.as_ref(), call.party.as_ref()]
            .into_iter()
            .flatten()
            .chain(&call.forks)
        {
            self.dialogs.remove(&leg.call_id);
        }
        if let Some(leg) = &call.caller {
            self.dialogs.remove(&leg.call_id);
        }
        self.emit(Action::Media(MediaCommand::Close { call: id }));
        if call.announced {
            self.emit(Action::Event(CallEvent::Ended { call: id, by }));
        }
    }

    /// A response to an INVITE of ours whose leg we no longer hold (cancelled, or the call
    /// ended): a final error is ACKed from the response alone (§17.1.1.3 matches the ACK by the
    /// branch), a 2xx is ACKed and hung up at once (§9.1, §15).
    fn orphan_response(&mut self, response: &SipResponse, source: SocketAddr, transport: Transport) {
        if response.status < 200 {
            return;
        }
        let local = self.config.sent_by(transport);
        let (Some(from), Some(to), Some(call_id), Ok((cseq, _))) = (
            response.headers.get("From"),
            response.headers.get("To"),
            response.headers.get("Call-ID"),
            response.headers.cseq(),
        ) else {
            return;
        };
        let contact = response.headers.get("Contact").unwrap_or(to);
        let uri = message::addr_uri(contact).to_owned();
        let branch = match response.branch() {
            Some(b) if response.status >= 300 => b.to_owned(),
            Some(b) => format!("{b}-ack"),
            None => return,
        };
        let build = |method: Method, branch: &str, cseq: u32| {
            RequestBuilder::new(method.clone(), uri.clone())
                .header("Via", via(transport, local, branch))
                .header("From", from.to_owned())
                .header("To", to.to_owned())
                .header("Call-ID", call_id.to_owned())
                .header("CSeq", format!("{cseq} {}", method.as_str()))
                .build()
        };
        let ack = build(Method::Ack, &branch, cseq);
        self.send(source, transport, ack);
        if response.status < 300 {
            let bye = build(Method::Bye, &format!("{branch}-bye"), cseq + 1);
            self.send(source, transport, bye);
        }
    }

    /// A command from the hub.
    pub fn command(&mut self, command: CallCommand, now: Instant, entropy: u64, ports: &mut dyn MediaPorts) {
        match command {
            CallCommand::Ring {
                call,
                contacts,
                record,
            } => {
                let targets: Vec<(String, Option<Flow>)> = contacts.into_iter().map(|c| (c, None)).collect();
                self.ring(call, &targets, record, now, entropy, ports)
            }
            CallCommand::StopRinging { call } => {
                let talking = self
                    .calls
                    .get(&call)
                    .and_then(|c| c.agent.as_ref())
                    .is_some_and(|l| l.state == LegState::Talking);
                if !talking {
                    self.hang_up_leg(call, Side::Agent, now);
                }
            }
            CallCommand::Release { call } => {
                let bridged = self.calls.get(&call).is_some_and(|c| c.stage == Stage::Bridged);
                self.drop_party(call, now);
                self.hang_up_leg(call, Side::Agent, now);
                if bridged {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.stage = Stage::Queued;
                    }
                    self.emit(Action::Media(MediaCommand::Unbridge { call }));
                }
            }
            CallCommand::Hold { call, on } => {
                if self.calls.get(&call).is_some_and(|c| c.stage == Stage::Bridged) {
                    self.emit(Action::Media(MediaCommand::Hold { call, on }));
                }
            }
            CallCommand::Announce { call, position } => {
                if self.calls.get(&call).is_some_and(|c| c.stage == Stage::Queued) {
                    let mut prompts = vec!["position"];
                    prompts.extend(position.to_string().chars().map(digit_prompt));
                    self.emit(Action::Media(MediaCommand::Play { call, prompts }));
                }
            }
            CallCommand::Hangup { call } => self.end(call, Party::Hub, now),
            CallCommand::Attach { call, remote, record } => {
                if self.attachable(call).is_none() {
                    return;
                }
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if c.stage == Stage::Dialling {
                    // Click-to-call from a browser: its leg is there, now the customer.
                    c.agent_media = Some((remote, None));
                    c.record = record;
                    self.dial_callee(call, now, entropy);
                    return;
                }
                c.stage = Stage::Bridged;
                // Our own leg sends from exactly `remote`: no other port may latch (an unspecified
                // address is never a packet's source).
                self.emit(Action::Media(MediaCommand::Bridge {
                    call,
                    remote,
                    peer: IpAddr::from([0, 0, 0, 0]),
                    record,
                    srtp: None,
                }));
            }
            CallCommand::Voicemail { call, record, max } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if c.stage != Stage::Queued || c.agent.is_some() || !c.forks.is_empty() {
                    return;
                }
                c.stage = Stage::Voicemail { until: now + max };
                self.emit(Action::Media(MediaCommand::Voicemail { call, record }));
            }
            CallCommand::OfferCallback { call } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if c.stage == Stage::Queued && c.agent.is_none() && c.forks.is_empty() {
                    c.callback_offered = true;
                    self.emit(Action::Media(MediaCommand::Play {
                        call,
                        prompts: vec!["callback"],
                    }));
                }
            }
            CallCommand::CallbackBooked { call } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if c.stage == Stage::Queued && c.agent.is_none() && c.forks.is_empty() {
                    c.stage = Stage::Farewell {
                        until: now + FAREWELL,
                    };
                    self.emit(Action::Media(MediaCommand::Play {
                        call,
                        prompts: vec!["callback_booked"],
                    }));
                }
            }
            CallCommand::AddParty { call, listener, mode } => {
                self.add_party(call, listener, None, mode, now, entropy, ports)
            }
            CallCommand::PartyMode { call, mode } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if let Some(was) = c.mixing.replace(mode) {
                    self.emit(Action::Media(MediaCommand::Mix { call, mode }));
                    self.consult_hold(call, was, Some(mode));
                } else {
                    c.mixing = None;
                }
            }
            CallCommand::DropParty { call } => self.drop_party(call, now),
            CallCommand::Promote { call } => self.promote(call, now),
            CallCommand::AgentLeft { call } => {
                // No phone leg, bridged or (from a browser) dialling: the hub's own leg.
                let attached = self.calls.get(&call).is_some_and(|c| {
                    c.agent.is_none() && matches!(c.stage, Stage::Bridged | Stage::Dialling)
                });
                if attached {
                    self.end(call, Party::Agent, now);
                }
            }
        }
    }

    /// What an agent leg of the hub's own needs to join a call (see [`CallCommand::Attach`]): the
    /// call's codec and its agent-side RTP port. `None` unless the caller's call is confirmed and
    /// waits in a queue with no phone ringing for them, or it is a browser's click-to-call that
    /// has no leg yet.
    pub fn attachable(&self, id: CallId) -> Option<(Codec, u16)> {
        let call = self.calls.get(&id)?;
        // Confirmed by the caller's ACK (its media runs) and announced to the hub.
        let confirmed = call.pending.is_none() && call.announced && call.caller.is_some();
        let waiting = call.stage == Stage::Queued && call.agent.is_none() && call.forks.is_empty();
        let dialling = call.stage == Stage::Dialling
            && call.agent.is_none()
            && call.callee.is_none()
            && call.agent_media.is_none();
        (confirmed && waiting || dialling).then_some((call.codec, call.ports.1))
    }

    /// What a third party's leg of the hub's own needs to join a call (see [`CallCommand::AddParty`]
    /// with [`Listener::Leg`]): the call's codec and its third party's port, bound now if it was not.
    /// `None` unless the call is bridged to an agent and nobody listens to it yet.
    pub fn party_port_for(&mut self, id: CallId, ports: &mut dyn MediaPorts) -> Option<(Codec, u16)> {
        let call = self.calls.get_mut(&id)?;
        if call.stage != Stage::Bridged || call.mixing.is_some() {
            return None;
        }
        if call.party_port.is_none() {
            call.party_port = ports.open_party(id);
        }
        Some((call.codec, call.party_port?))
    }

    /// Sends keys the agent pressed (RFC 4733 event codes, see [`crate::dtmf::event_of`]) to the
    /// customer, while the two are bridged and the customer's phone takes telephone-events.
    pub fn send_keys(&mut self, id: CallId, events: Vec<u8>) -> Result<(), KeysRefused> {
        let call = self.calls.get(&id).filter(|c| c.stage == Stage::Bridged);
        let call = call.ok_or(KeysRefused::NotTalking)?;
        let payload_type = call.telephone_event.ok_or(KeysRefused::NoTelephoneEvents)?;
        self.emit(Action::Media(MediaCommand::Keys {
            call: id,
            events,
            payload_type,
        }));
        Ok(())
    }

    /// Rings every device of the agent's phones at once (a parallel fork: the first to answer
    /// takes the call), each reached as [`reach`] says.
    pub fn ring(
        &mut self,
        id: CallId,
        targets: &[(String, Option<Flow>)],
        record: Option<PathBuf>,
        now: Instant,
        entropy: u64,
        ports: &mut dyn MediaPorts,
    ) {
        let local = self.config.local;
        let Some(call) = self.calls.get(&id) else { return };
        if call.agent.is_some() || matches!(call.stage, Stage::Voicemail { .. } | Stage::Farewell { .. }) {
            return;
        }
        let reachable: Vec<(&String, (SocketAddr, Transport))> = targets
            .iter()
            .filter_map(|(contact, flow)| Some((contact, reach(contact, *flow)?)))
            .collect();
        if reachable.is_empty() {
            self.emit(Action::Event(CallEvent::AgentFailed {
                call: id,
                status: 404,
            }));
            return;
        }
        // The agent's phone shows who is calling.
        let user = call.identity.0.as_deref().unwrap_or("anonymous").to_owned();
        let from = match &call.identity.1 {
            Some(name) => format!("\"{}\" <sip:{user}@{}>", name.replace('"', ""), local.ip()),
            None => format!("<sip:{user}@{}>", local.ip()),
        };
        for (n, (contact, target)) in reachable.into_iter().enumerate() {
            let uri = message::addr_uri(contact).to_owned();
            let side = if n == 0 { Side::Agent } else { Side::Fork };
            let entropy = entropy ^ (n as u64).wrapping_mul(0xa076_1d64_78bd_642f);
            // A phone on TLS is offered SRTP: its keys then never cross the network in clear.
            let srtp = (target.1 == Transport::Tls).then(|| ports.srtp_key());
            let leg = NewLeg {
                side,
                uri,
                target,
                from: from.clone(),
                record: record.clone(),
                srtp,
            };
            self.invite_leg(id, leg, now, entropy);
        }
    }

    /// A third party joins a call bridged to an agent (see [`CallCommand::AddParty`]): their
    /// browser's leg at once, their desk phone once it answers (reached like an agent's, on
    /// `flow` when it registered over TCP or TLS). Their phone shows whom they listen to.
    #[allow(clippy::too_many_arguments)]
    pub fn add_party(
        &mut self,
        id: CallId,
        listener: Listener,
        flow: Option<Flow>,
        mode: Mix,
        now: Instant,
        entropy: u64,
        ports: &mut dyn MediaPorts,
    ) {
        let local = self.config.local;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let target = match &listener {
            Listener::Phone(contact) => match reach(contact, flow) {
                Some(target) => Some(target),
                None => return self.party_failed(id, 404),
            },
            Listener::Leg(_) => None,
        };
        if call.stage != Stage::Bridged || call.mixing.is_some() {
            // Whoever listens already goes on listening.
            let refused = CallEvent::PartyFailed {
                call: id,
                status: 486,
            };
            return self.emit(Action::Event(refused));
        }
        if call.party_port.is_none() {
            call.party_port = ports.open_party(id);
        }
        if call.party_port.is_none() {
            return self.party_failed(id, 503);
        }
        call.mixing = Some(mode);
        // The caller waits on hold while the agent consults, from the moment the colleague rings.
        if mode == Mix::Consult {
            self.emit(Action::Media(MediaCommand::Hold { call: id, on: true }));
        }
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        match listener {
            Listener::Phone(contact) => {
                let Some(target) = target else { return };
                let user = call.identity.0.as_deref().unwrap_or("anonymous");
                // Their phone shows who calls: a supervisor's says it is a monitor, a colleague's
                // that it is a consult about this caller.
                let shown = if mode.supervising() { "Monitor" } else { "Consult" };
                let from = format!("\"{shown}\" <sip:{user}@{}>", local.ip());
                let srtp = (target.1 == Transport::Tls).then(|| ports.srtp_key());
                let leg = NewLeg {
                    side: Side::Party,
                    uri: message::addr_uri(&contact).to_owned(),
                    target,
                    from,
                    record: None,
                    srtp,
                };
                self.invite_leg(id, leg, now, entropy);
            }
            Listener::Leg(remote) => {
                self.emit(Action::Media(MediaCommand::Join {
                    call: id,
                    remote,
                    // Our own leg sends from exactly `remote` (see `Attach`).
                    peer: IpAddr::from([0, 0, 0, 0]),
                    srtp: None,
                    mode,
                }));
                self.emit(Action::Event(CallEvent::PartyJoined { call: id }));
            }
        }
    }

    /// The third party's phone answered: it joins the call's audio, unless it agreed on nothing.
    fn party_answered(&mut self, id: CallId, response: &SipResponse, now: Instant) {
        let Some(media) = self.answered(id, Side::Party, response, now) else {
            return;
        };
        let Some((remote, srtp)) = media else {
            self.hang_up_leg(id, Side::Party, now);
            return self.party_failed(id, 488);
        };
        let Some(call) = self.calls.get(&id) else { return };
        let (Some(mode), Some(leg)) = (call.mixing, &call.party) else {
            return;
        };
        let peer = leg.to.ip();
        self.emit(Action::Media(MediaCommand::Join {
            call: id,
            remote,
            peer,
            srtp,
            mode,
        }));
        self.emit(Action::Event(CallEvent::PartyJoined { call: id }));
    }

    fn party_failed(&mut self, id: CallId, status: u16) {
        if let Some(was) = self.calls.get_mut(&id).and_then(|c| c.mixing.take()) {
            self.consult_hold(id, was, None);
        }
        self.emit(Action::Event(CallEvent::PartyFailed { call: id, status }));
    }

    /// The third party is off the call (their leg already gone): the media forgets them, and a
    /// caller held for a consult is back with the agent.
    fn party_left(&mut self, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some(was) = call.mixing.take() {
            self.emit(Action::Media(MediaCommand::Leave { call: id }));
            self.consult_hold(id, was, None);
            self.emit(Action::Event(CallEvent::PartyLeft { call: id }));
        }
    }

    /// The caller is held while, and only while, the agent consults: from `was` to `now`.
    fn consult_hold(&mut self, id: CallId, was: Mix, now: Option<Mix>) {
        let (held, holds) = (was == Mix::Consult, now == Some(Mix::Consult));
        if held != holds {
            self.emit(Action::Media(MediaCommand::Hold { call: id, on: holds }));
        }
    }

    /// The consulted colleague takes the call over (see [`CallCommand::Promote`]): only one on
    /// the call now (their phone answered, or their browser's leg is on).
    fn promote(&mut self, id: CallId, now: Instant) {
        let on = self.calls.get(&id).is_some_and(|c| {
            c.stage == Stage::Bridged
                && c.mixing.is_some_and(|m| !m.supervising())
                && c.party.as_ref().is_none_or(|l| l.state == LegState::Talking)
        });
        if !on {
            return;
        }
        self.hang_up_leg(id, Side::Agent, now);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.agent = call.party.take();
        call.mixing = None;
        if let Some(port) = call.party_port.as_mut() {
            std::mem::swap(port, &mut call.ports.1);
        }
        if let Some(leg) = &call.agent {
            self.dialogs.insert(leg.call_id.clone(), (id, Side::Agent));
        }
        self.emit(Action::Media(MediaCommand::Promote { call: id }));
    }

    /// Takes the third party off the call: their phone hung up (or no longer rung).
    fn drop_party(&mut self, id: CallId, now: Instant) {
        self.hang_up_leg(id, Side::Party, now);
        self.party_left(id);
    }

    /// Sends an INVITE of ours (agent or callee leg) offering the call's codec on that leg's port.
    fn invite_leg(&mut self, id: CallId, leg: NewLeg, now: Instant, entropy: u64) {
        let NewLeg {
            side,
            uri,
            target: (to, transport),
            from,
            record,
            srtp,
        } = leg;
        let (local, media_ip) = (self.config.sent_by(transport), self.config.media_ip);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let call_id = format!("{}@plugboard", token(entropy, 1));
        let branch = format!("z9hG4bK{}", token(entropy, 2));
        let from = format!("{from};tag={}", token(entropy, 3));
        let port = port_of(call, side);
        let offer = sdp::offer(
            &LocalMedia {
                addr: SocketAddr::new(media_ip, port),
                session_id: call.session_id,
                session_version: 1,
                srtp: srtp.clone(),
            },
            &[call.codec],
        );
        let bytes = RequestBuilder::new(Method::Invite, uri.clone())
            .header("Via", via(transport, local, &branch))
            .header("From", from.clone())
            .header("To", format!("<{uri}>"))
            .header("Call-ID", call_id.clone())
            .header("CSeq", "1 INVITE")
            .header("Contact", contact(transport, local))
            .body(Some(Body::sdp(&offer)))
            .build();
        let invite = Retransmit::new(to, transport, bytes, now);
        self.actions.push(invite.send());
        let leg = UacLeg {
            state: LegState::Calling,
            to,
            transport,
            uri: uri.clone(),
            call_id: call_id.clone(),
            branch,
            local: from,
            remote: format!("<{uri}>"),
            target: format!("<{uri}>"),
            cseq: 1,
            invite,
            ack: None,
            record,
            srtp,
        };
        match side {
            Side::Agent => call.agent = Some(leg),
            Side::Fork => call.forks.push(leg),
            Side::Callee => call.callee = Some(leg),
            Side::Party => call.party = Some(leg),
            Side::Caller => return,
        }
        self.dialogs.insert(call_id, (id, side));
    }

    /// Click-to-call: rings the agent's phone at `contact` first; when it answers, calls `number`
    /// through the outbound trunk and bridges the two. `None` when there is no trunk, no usable
    /// contact, or no free port.
    #[allow(clippy::too_many_arguments)]
    pub fn dial(
        &mut self,
        contact: &str,
        flow: Option<Flow>,
        number: &str,
        record: Option<PathBuf>,
        now: Instant,
        entropy: u64,
        ports: &mut dyn MediaPorts,
    ) -> Option<CallId> {
        reach(contact, flow)?;
        let id = self.outbound(number, entropy, ports)?;
        self.ring(id, &[(contact.to_owned(), flow)], record, now, entropy, ports);
        Some(id)
    }

    /// Click-to-call from a browser: a call to `number` whose agent leg is the browser's. Nothing
    /// is sent yet: once the browser's leg is attached ([`CallCommand::Attach`]) the customer is
    /// called through the outbound trunk, and bridged to it when they answer. `None` when there
    /// is no trunk, the number is not one, or no port is free.
    pub fn dial_from_browser(
        &mut self,
        number: &str,
        entropy: u64,
        ports: &mut dyn MediaPorts,
    ) -> Option<CallId> {
        self.outbound(number, entropy, ports)
    }

    /// A click-to-call's call, before any leg: `None` when there is no trunk, `number` is not a
    /// number (digits and `+`), or no port is free.
    fn outbound(&mut self, number: &str, entropy: u64, ports: &mut dyn MediaPorts) -> Option<CallId> {
        self.config.outbound?;
        let valid = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'+');
        if !valid {
            return None;
        }
        let id = CallId(self.next_call);
        let opened = ports.open(id)?;
        self.next_call += 1;
        self.calls.insert(
            id,
            Call {
                caller: None,
                agent: None,
                forks: Vec::new(),
                callee: None,
                agent_media: None,
                record: None,
                telephone_event: None,
                stage: Stage::Dialling,
                menu: None,
                callback_offered: false,
                dialled: number.to_owned(),
                // The agent's phone shows the number it is about to call.
                identity: (Some(number.to_owned()), Some(format!("Calling {number}"))),
                codec: Codec::Pcmu,
                ports: opened,
                session_id: entropy >> 16,
                session_version: 1,
                pending: None,
                // The hub placed it.
                announced: true,
                reoffered: None,
                party: None,
                mixing: None,
                party_port: None,
            },
        );
        Some(id)
    }

    /// Click-to-call, the agent's phone answered: INVITE the customer through the trunk.
    fn dial_callee(&mut self, id: CallId, now: Instant, entropy: u64) {
        let (Some(trunk), Some(call)) = (self.config.outbound, self.calls.get(&id)) else {
            return;
        };
        let uri = format!("sip:{}@{trunk}", call.dialled);
        let from = format!("<sip:plugboard@{}>", self.config.local);
        let leg = NewLeg {
            side: Side::Callee,
            uri,
            target: (trunk, Transport::Udp),
            from,
            record: None,
            srtp: None,
        };
        self.invite_leg(id, leg, now, entropy ^ 0x5bd1_e995);
    }

    /// A DTMF key the caller pressed (the media shell detects them).
    pub fn digit(&mut self, id: CallId, key: char, now: Instant) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if matches!(call.stage, Stage::Voicemail { .. }) {
            // `#`: the message is complete; we hang up for the caller.
            if key == '#' {
                self.end(id, Party::Hub, now);
            }
            return;
        }
        if call.stage == Stage::Queued {
            // The callback offer stands while the caller waits with no phone ringing for them.
            if key == '1' && call.callback_offered && call.agent.is_none() && call.forks.is_empty() {
                call.callback_offered = false;
                self.emit(Action::Event(CallEvent::CallbackChosen { call: id }));
            }
            return;
        }
        if call.stage != Stage::Menu {
            return;
        }
        let chosen = call
            .menu
            .as_ref()
            .and_then(|m| m.options.iter().find(|(k, _)| *k == key))
            .map(|(_, queue)| queue.clone());
        match chosen {
            Some(queue) => {
                call.stage = Stage::Queued;
                call.menu = None;
                // Cut the menu prompt short: music while waiting.
                self.emit(Action::Media(MediaCommand::Play {
                    call: id,
                    prompts: vec![],
                }));
                self.incoming(id, queue);
            }
            None => self.emit(Action::Media(MediaCommand::Play {
                call: id,
                prompts: vec!["menu"],
            })),
        }
    }

    /// The shell could not reach `to` over TCP or TLS (RFC 3261 §8.1.3.1: a transport error is
    /// a 503): an INVITE of ours still waiting for its first answer there fails now, rather than
    /// at Timer B half a minute later, past the offer's timeout.
    pub fn unreachable(&mut self, to: SocketAddr, now: Instant) {
        // A fork that cannot be reached is forgotten; the agent's other devices ring on.
        let mut gone = Vec::new();
        for call in self.calls.values_mut() {
            call.forks.retain(|fork| {
                let lost = fork.to == to && fork.transport.reliable();
                if lost {
                    gone.push(fork.call_id.clone());
                }
                !lost
            });
        }
        for call_id in gone {
            self.dialogs.remove(&call_id);
        }
        let failed: Vec<(CallId, Side)> = self
            .calls
            .iter()
            .flat_map(|(id, call)| {
                [(Side::Agent, &call.agent), (Side::Callee, &call.callee)]
                    .into_iter()
                    .filter_map(move |(side, leg)| leg.as_ref().map(|leg| (*id, side, leg)))
            })
            .filter(|(_, _, leg)| {
                leg.to == to
                    && leg.transport.reliable()
                    && matches!(leg.state, LegState::Calling | LegState::Cancelling)
            })
            .map(|(id, side, _)| (id, side))
            .collect();
        for (id, side) in failed {
            if self.drop_leg(id, side) == Some(LegState::Cancelling) {
                continue;
            }
            if side == Side::Agent && self.next_fork(id) {
                continue;
            }
            if side == Side::Agent {
                self.emit(Action::Event(CallEvent::AgentUnreachable { call: id }));
            } else {
                self.emit(Action::Event(CallEvent::CustomerFailed {
                    call: id,
                    status: 503,
                }));
                self.end(id, Party::Hub, now);
            }
        }
    }

    /// Retransmissions and timeouts; the shell calls it often (every 50 ms or so).
    pub fn tick(&mut self, now: Instant) {
        let mut sends = Vec::new();
        let mut unacked = Vec::new();
        let mut no_answer = Vec::new();
        let mut unrefreshed = Vec::new();
        let mut refresh = Vec::new();
        let mut lapsed_forks = Vec::new();
        let mut full = Vec::new();
        for (id, call) in &mut self.calls {
            if matches!(call.stage, Stage::Voicemail { until } | Stage::Farewell { until } if now >= until) {
                full.push(*id);
            }
            if let Some(r) = call.caller.as_mut().and_then(|c| c.unacked.as_mut()) {
                if now >= r.until {
                    unacked.push(*id);
                } else {
                    sends.extend(r.due(now));
                }
            }
            if let Some(timer) = call.caller.as_mut().and_then(|c| c.timer.as_mut()) {
                if timer.expired(now) {
                    unrefreshed.push(*id);
                } else {
                    // Our refresh got no answer at all (Timer F): try again shortly.
                    if timer
                        .in_flight
                        .as_ref()
                        .is_some_and(|branch| !self.requests.contains_key(branch))
                    {
                        timer.in_flight = None;
                        timer.next_refresh = now + REFRESH_RETRY;
                    }
                    if timer.due(now) {
                        refresh.push(*id);
                    }
                }
            }
            // Timer B on a fork: that device is forgotten, the others ring on.
            call.forks.retain_mut(|fork| {
                if !matches!(fork.state, LegState::Calling | LegState::Cancelling) {
                    return true;
                }
                if now < fork.invite.until {
                    sends.extend(fork.invite.due(now));
                    return true;
                }
                lapsed_forks.push(fork.call_id.clone());
                false
            });
            for (side, leg) in [
                (Side::Agent, &mut call.agent),
                (Side::Callee, &mut call.callee),
                (Side::Party, &mut call.party),
            ] {
                if let Some(leg) = leg
                    && matches!(leg.state, LegState::Calling | LegState::Cancelling)
                {
                    if now >= leg.invite.until {
                        no_answer.push((*id, side, leg.state));
                    } else {
                        sends.extend(leg.invite.due(now));
                    }
                }
            }
        }
        self.requests.retain(|_, r| {
            sends.extend(r.due(now));
            now < r.until
        });
        self.actions.extend(sends);
        for call_id in lapsed_forks {
            self.dialogs.remove(&call_id);
        }
        for (id, side, state) in no_answer {
            // Timer B: the phone never answered at all.
            self.drop_leg(id, side);
            match (side, state) {
                (_, LegState::Cancelling) => {}
                (Side::Agent, _) if self.next_fork(id) => {}
                (Side::Party, _) => self.party_failed(id, 408),
                (Side::Callee, _) => {
                    self.emit(Action::Event(CallEvent::CustomerFailed {
                        call: id,
                        status: 408,
                    }));
                    self.end(id, Party::Hub, now);
                }
                _ => self.emit(Action::Event(CallEvent::AgentFailed {
                    call: id,
                    status: 408,
                })),
            }
        }
        for id in unacked {
            // §13.3.1.4: no ACK for our 2xx; the caller is gone.
            self.end(id, Party::Hub, now);
        }
        for id in unrefreshed {
            // RFC 4028 §10: the session was not refreshed in time; the call is lost.
            self.end(id, Party::Hub, now);
        }
        for id in refresh {
            self.refresh(id, now);
        }
        for id in full {
            // The longest voicemail there is room for (kept as it is), or a booked callback's
            // goodbye said.
            self.end(id, Party::Hub, now);
        }
    }
}

/// A request on a leg of ours, with its branch and where it goes: the ACK of its 2xx, a CANCEL
/// (the INVITE's branch and CSeq, §9.1) or a BYE (next CSeq).
fn leg_request(
    local: SocketAddr,
    leg: &mut UacLeg,
    method: Method,
) -> (String, SocketAddr, Transport, Vec<u8>) {
    let (branch, cseq, uri, to) = match method {
        Method::Cancel => (
            leg.branch.clone(),
            leg.cseq,
            leg.uri.clone(),
            format!("<{}>", leg.uri),
        ),
        Method::Bye => {
            leg.cseq += 1;
            let branch = format!("{}-{}", leg.branch, leg.cseq);
            (
                branch,
                leg.cseq,
                message::addr_uri(&leg.target).to_owned(),
                leg.remote.clone(),
            )
        }
        _ => (
            format!("{}-ack", leg.branch),
            leg.cseq,
            message::addr_uri(&leg.target).to_owned(),
            leg.remote.clone(),
        ),
    };
    let bytes = RequestBuilder::new(method.clone(), uri)
        .header("Via", via(leg.transport, local, &branch))
        .header("From", leg.local.clone())
        .header("To", to)
        .header("Call-ID", leg.call_id.clone())
        .header("CSeq", format!("{cseq} {}", method.as_str()))
        .build();
    (branch, leg.to, leg.transport, bytes)
}

/// A request of ours on a caller's dialog (RFC 3261 §12.2.1.1): to its Contact, through its
/// Record-Route, from us to them.
fn on_caller_dialog(
    leg: &CallerLeg,
    local: SocketAddr,
    method: &Method,
    branch: &str,
    cseq: u32,
) -> RequestBuilder {
    let mut request = RequestBuilder::new(method.clone(), message::addr_uri(&leg.target).to_owned())
        .header("Via", via(leg.transport, local, branch));
    for route in &leg.route {
        request = request.header("Route", route.clone());
    }
    request
        .header("From", leg.local.clone())
        .header("To", leg.remote.clone())
        .header("Call-ID", leg.call_id.clone())
        .header("CSeq", format!("{cseq} {}", method.as_str()))
}

/// What we allow inside a call's dialogs (RFC 3261 §20.5).
const ALLOW_IN_DIALOG: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO";

/// A request's body when it has a session description in it (none when empty).
fn sdp_body(request: &SipRequest) -> Option<&str> {
    std::str::from_utf8(&request.body)
        .ok()
        .filter(|b| !b.trim().is_empty())
}

/// The answer to an offer of ours in an ACK (a late offer, or a re-INVITE without one): it reads
/// like an offer restricted to what we offered, so it is negotiated as one.
fn answer_in(ack: &SipRequest, local: &LocalMedia) -> Option<Negotiated> {
    let answer = SessionDescription::parse(sdp_body(ack)?).ok()?;
    sdp::negotiate(&answer, local).ok()
}

/// Whether we send RTP to a leg after this negotiation: not while it holds us (RFC 3264 §8.4:
/// its offer was `sendonly` or `inactive`, or the RFC 2543 way, a connection address of 0.0.0.0).
fn sends(n: &Negotiated) -> bool {
    matches!(n.direction, Direction::SendRecv | Direction::SendOnly) && !n.remote.ip().is_unspecified()
}

/// Our Via for a request sent over `transport` (RFC 3261 §18.1.1: the Via names it).
fn via(transport: Transport, local: SocketAddr, branch: &str) -> String {
    format!("SIP/2.0/{} {local};branch={branch};rport", transport.as_str())
}

/// Our Contact on a dialog over `transport`: the phone's requests come back the same way.
fn contact(transport: Transport, local: SocketAddr) -> String {
    match transport {
        Transport::Udp => format!("<sip:plugboard@{local}>"),
        Transport::Tcp => format!("<sip:plugboard@{local};transport=tcp>"),
        Transport::Tls => format!("<sip:plugboard@{local};transport=tls>"),
    }
}

/// Where a phone is reached: over the TCP or TLS connection it registered on when `flow` is one
/// (RFC 5626 §5.3: its Contact port may be one nothing listens on), else at its Contact's
/// address over the transport its `transport` parameter names (RFC 3261 §19.1.1, UDP when none).
fn reach(contact: &str, flow: Option<Flow>) -> Option<(SocketAddr, Transport)> {
    match flow.filter(|f| f.transport.reliable()) {
        Some(flow) => Some((flow.source, flow.transport)),
        None => Some((message::uri_socket(contact)?, message::uri_transport(contact))),
    }
}

/// Our RTP port facing one leg of a call: the agent's, the third party's, or the caller's (which
/// a click-to-call's callee takes too).
fn port_of(call: &Call, side: Side) -> u16 {
    match side {
        Side::Agent | Side::Fork => call.ports.1,
        Side::Party => call.party_port.unwrap_or(call.ports.1),
        Side::Caller | Side::Callee => call.ports.0,
    }
}

/// Our SRTP key on one leg of a call, when that leg is TLS.
fn our_key(call: &Call, side: Side) -> Option<MasterKey> {
    match side {
        Side::Caller => call.caller.as_ref().and_then(|l| l.srtp.clone()),
        Side::Agent => call.agent.as_ref().and_then(|l| l.srtp.clone()),
        Side::Callee => call.callee.as_ref().and_then(|l| l.srtp.clone()),
        Side::Party => call.party.as_ref().and_then(|l| l.srtp.clone()),
        Side::Fork => None,
    }
}

/// An INVITE of ours to send: the leg it opens, where to, and what it offers.
struct NewLeg {
    side: Side,
    uri: String,
    target: (SocketAddr, Transport),
    from: String,
    record: Option<PathBuf>,
    /// Our SRTP key, offered when the leg is TLS.
    srtp: Option<MasterKey>,
}

fn digit_prompt(c: char) -> Prompt {
    const DIGITS: [Prompt; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    DIGITS[c.to_digit(10).unwrap_or(0) as usize]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::message::{SipMessage, parse};
    use std::time::SystemTime;

    /// Ports 40000, 40002, … as if bound.
    #[derive(Debug, Default, PartialEq, Eq)]
    pub(crate) struct Ports(u16);

    impl MediaPorts for Ports {
        fn open(&mut self, _call: CallId) -> Option<(u16, u16)> {
            self.0 += 1;
            Some((40_000 + 4 * self.0, 40_002 + 4 * self.0))
        }

        fn open_party(&mut self, _call: CallId) -> Option<u16> {
            self.0 += 1;
            Some(40_000 + 4 * self.0)
        }

        fn srtp_key(&mut self) -> MasterKey {
            self.0 += 1;
            MasterKey::new([self.0 as u8; 30])
        }
    }

    const CALLER: &str = "198.51.100.7:5060";
    const TRUNK: &str = "203.0.113.5:5060";
    const PHONE: &str = "127.0.0.1:5062";
    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
                         m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

    struct Harness {
        b2bua: B2bua,
        ports: Ports,
        t0: Instant,
    }

    fn harness() -> Harness {
        let mut numbers = HashMap::new();
        numbers.insert("100".to_owned(), Destination::Queue("Support".into()));
        numbers.insert(
            "200".to_owned(),
            Destination::Menu(Menu {
                options: vec![('1', "Sales".into()), ('2', "Support".into())],
            }),
        );
        Harness {
            b2bua: B2bua::new(B2buaConfig {
                numbers,
                local: "127.0.0.1:5060".parse().unwrap(),
                tls: None,
                media_ip: "127.0.0.1".parse().unwrap(),
                outbound: Some(TRUNK.parse().unwrap()),
                max_calls: 2,
            }),
            ports: Ports::default(),
            t0: Instant::now(),
        }
    }

    fn cx(h: &Harness, source: &str, ms: u64) -> Context {
        Context {
            source: source.parse().unwrap(),
            transport: Transport::Udp,
            now: h.t0 + Duration::from_millis(ms),
            wall: SystemTime::now(),
            entropy: 0x1234_5678_9abc_def0 + ms,
        }
    }

    fn request(text: &str) -> SipRequest {
        match parse(text.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("a response"),
        }
    }

    fn invite(number: &str, body: &str) -> SipRequest {
        invite_on("caller-1", "c1", number, body)
    }

    /// An INVITE with its own Call-ID and branch.
    fn invite_on(call_id: &str, branch: &str, number: &str, body: &str) -> SipRequest {
        request(&format!(
            "INVITE sip:{number}@pbx SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bK{branch}\r\n\
             From: \"Ann Lee\" <sip:+15551230001@carrier>;tag=a\r\nTo: <sip:{number}@pbx>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:ann@{CALLER}>\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ))
    }

    /// A request from the caller inside call-1's dialog with `extra` headers and a body.
    fn from_caller(method: &str, extra: &str, content_type: &str, body: &str) -> SipRequest {
        let typed = if body.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {content_type}\r\n")
        };
        request(&format!(
            "{method} sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bK{method}{}\r\n\
             From: <sip:+15551230001@carrier>;tag=a\r\nTo: <sip:100@pbx>;tag=ours\r\nCall-ID: caller-1\r\n\
             CSeq: 3 {method}\r\n{extra}{typed}Content-Length: {}\r\n\r\n{body}",
            body.len(),
            body.len()
        ))
    }

    fn in_dialog(method: &str, call_id: &str, from_caller: bool) -> SipRequest {
        let (from, to) = if from_caller {
            ("<sip:+15551230001@carrier>;tag=a", "<sip:100@pbx>;tag=ours")
        } else {
            ("<sip:1001@127.0.0.1>;tag=p", "<sip:x@127.0.0.1>;tag=ours")
        };
        request(&format!(
            "{method} sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bK{method}\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 2 {method}\r\nContent-Length: 0\r\n\r\n"
        ))
    }

    /// A request from the phone (or trunk) we sent `invite` to, inside the dialog its 2xx made
    /// (the phone's tag is `p`, as in [`response_from`]).
    fn from_phone(method: &str, invite: &[u8]) -> SipRequest {
        let SipMessage::Request(invite) = parse(invite).unwrap() else {
            panic!("not a request")
        };
        request(&format!(
            "{method} sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bKp{method}\r\n\
             From: <sip:x@{PHONE}>;tag=p\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 9 {method}\r\nContent-Length: 0\r\n\r\n",
            invite.header("From").unwrap(),
            invite.call_id(),
        ))
    }

    /// The phone's response to the last INVITE sent to it.
    fn phone_response(sent: &[u8], status: u16, body: &str) -> SipResponse {
        response_from(sent, status, body, PHONE)
    }

    /// A response to an INVITE we sent, from whoever is at `contact`.
    fn response_from(sent: &[u8], status: u16, body: &str, contact: &str) -> SipResponse {
        answer_to(sent, status, &format!("Contact: <sip:x@{contact}>\r\n"), body)
    }

    /// The start line of every message sent, and the events and media commands, in order.
    fn summary(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .map(|a| match a {
                Action::Send { to, bytes, .. } => {
                    let text = String::from_utf8_lossy(bytes);
                    format!("{} -> {to}", text.lines().next().unwrap_or(""))
                }
                Action::Event(e) => format!("{e:?}"),
                Action::Media(m) => format!("{m:?}").split([' ', '{']).next().unwrap().to_owned(),
            })
            .collect()
    }

    fn sent(actions: &[Action], method: &str) -> Vec<u8> {
        actions
            .iter()
            .find_map(|a| match a {
                Action::Send { bytes, .. } if bytes.starts_with(method.as_bytes()) => Some(bytes.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {method} in {:?}", summary(actions)))
    }

    /// A caller in the Support queue: call-1.
    fn queued(h: &mut Harness) -> ResponseBuilder {
        let c = cx(h, CALLER, 0);
        let response = h.b2bua.invite(&invite("100", OFFER), c, "ours", &mut h.ports);
        assert_eq!(response.status(), 200);
        response
    }

    /// call-1 (answered and ACKed) ringing the phone; answers what was sent.
    fn ringing(h: &mut Harness) -> Vec<u8> {
        queued(h);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(h, CALLER, 5));
        h.b2bua.take_actions();
        h.b2bua.command(
            CallCommand::Ring {
                call: CallId(1),
                contacts: vec![format!("<sip:1001@{PHONE};transport=udp>")],
                record: Some("/rec/1.wav".into()),
            },
            h.t0,
            7,
            &mut h.ports,
        );
        let actions = h.b2bua.take_actions();
        let invite = sent(&actions, "INVITE");
        let ringing = phone_response(&invite, 180, "");
        h.b2bua.response(&ringing, cx(h, PHONE, 10));
        assert!(h.b2bua.take_actions().is_empty());
        invite
    }

    fn answer_sdp() -> String {
        "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 31000 RTP/AVP 0\r\n"
            .into()
    }

    #[test]
    fn a_caller_is_answered_with_music_and_reported() {
        let mut h = harness();
        let response = queued(&mut h);
        let text = String::from_utf8(response.build(&invite("100", OFFER), "ours")).unwrap();
        assert!(text.contains("m=audio 40004 RTP/AVP 0 101"), "{text}");
        assert!(text.contains("To: <sip:100@pbx>;tag=ours"), "{text}");
        // Nothing starts before the ACK confirms the dialog (§13.3.1.4): a forged INVITE, whose
        // sender never sees our 200, costs no media and no contact.
        assert!(h.b2bua.take_actions().is_empty());
        // The 200 goes again on T1, 2*T1… until the ACK.
        h.b2bua.tick(h.t0 + Duration::from_millis(499));
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.tick(h.t0 + Duration::from_millis(500));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![format!("SIP/2.0 200 OK -> {CALLER}")]
        );
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 600));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                "Start".to_owned(),
                format!(
                    "{:?}",
                    CallEvent::Incoming {
                        call: CallId(1),
                        caller: Some("+15551230001".into()),
                        display_name: Some("Ann Lee".into()),
                        dialled: "100".into(),
                        queue: "Support".into(),
                    }
                )
            ]
        );
        h.b2bua.tick(h.t0 + Duration::from_secs(10));
        assert!(h.b2bua.take_actions().is_empty());
        assert_eq!(h.b2bua.calls(), 1);
    }

    #[test]
    fn refusals() {
        let mut h = harness();
        let c = cx(&h, CALLER, 0);
        let cases = [
            (invite("999", OFFER), 404),
            (invite("100", &OFFER.replace("RTP/AVP 0 101", "RTP/AVP 9")), 488),
            (invite("100", "garbage"), 488),
        ];
        for (request, status) in cases {
            let got = h.b2bua.invite(&request, c, "t", &mut h.ports).status();
            assert_eq!(got, status, "{}", String::from_utf8_lossy(&request.body));
        }
        assert_eq!(h.b2bua.calls(), 0);
        assert!(h.b2bua.take_actions().is_empty());
        // No ports taken for a refused call.
        assert_eq!(h.ports.0, 0);
    }

    #[test]
    fn a_caller_beyond_the_ceiling_on_calls_is_turned_away_with_retry_after() {
        let mut h = harness();
        let second = invite_on("caller-2", "c2", "100", OFFER);
        let third = invite_on("caller-3", "c3", "100", OFFER);
        queued(&mut h);
        let c = cx(&h, CALLER, 1);
        assert_eq!(h.b2bua.invite(&second, c, "t2", &mut h.ports).status(), 200);
        let ports = h.ports.0;
        h.b2bua.take_actions();
        let full = h.b2bua.invite(&third, c, "t3", &mut h.ports);
        let text = String::from_utf8(full.build(&third, "t3")).unwrap();
        assert!(text.starts_with("SIP/2.0 503 "), "{text}");
        assert!(text.contains("Retry-After: 30\r\n"), "{text}");
        // Nothing started for it: no event, no media, no ports.
        assert_eq!(h.b2bua.calls(), 2);
        assert!(h.b2bua.take_actions().is_empty());
        assert_eq!(h.ports.0, ports);
    }

    #[test]
    fn no_ack_for_our_200_ends_the_call() {
        let mut h = harness();
        queued(&mut h);
        h.b2bua.take_actions();
        h.b2bua.tick(h.t0 + GIVE_UP);
        let actions = h.b2bua.take_actions();
        // The hub never heard of it: its ports are freed and nothing else is said.
        assert_eq!(
            summary(&actions),
            vec![
                format!("BYE sip:ann@{CALLER} SIP/2.0 -> {CALLER}"),
                "Close".into(),
            ]
        );
    }

    #[test]
    fn the_agent_answers_and_the_caller_hangs_up() {
        let mut h = harness();
        let invite = ringing(&mut h);
        let text = String::from_utf8_lossy(&invite);
        assert!(
            text.starts_with("INVITE sip:1001@127.0.0.1:5062;transport=udp SIP/2.0"),
            "{text}"
        );
        assert!(
            text.contains("From: \"Ann Lee\" <sip:+15551230001@127.0.0.1>;tag="),
            "{text}"
        );
        assert!(text.contains("m=audio 40006 RTP/AVP 0 101"), "{text}");

        let ok = phone_response(&invite, 200, &answer_sdp());
        h.b2bua.response(&ok, cx(&h, PHONE, 20));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("ACK sip:x@{PHONE} SIP/2.0 -> {PHONE}"),
                "Bridge".into(),
                "AgentAnswered { call: CallId(1) }".into()
            ]
        );
        assert!(actions.contains(&Action::Media(MediaCommand::Bridge {
            call: CallId(1),
            peer: PHONE.parse::<SocketAddr>().unwrap().ip(),
            remote: "127.0.0.1:31000".parse().unwrap(),
            record: Some("/rec/1.wav".into()),
            srtp: None,
        })));
        // A retransmitted 200 gets the same ACK again.
        h.b2bua.response(&ok, cx(&h, PHONE, 30));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![format!("ACK sip:x@{PHONE} SIP/2.0 -> {PHONE}")]
        );

        let response = h
            .b2bua
            .in_dialog(&in_dialog("BYE", "caller-1", true), cx(&h, CALLER, 40));
        assert_eq!(response.map(|r| r.status()), Some(200));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("BYE sip:x@{PHONE} SIP/2.0 -> {PHONE}"),
                "Close".into(),
                "Ended { call: CallId(1), by: Caller }".into()
            ]
        );
        // The agent's BYE is retransmitted until its 200 comes.
        h.b2bua.tick(h.t0 + Duration::from_millis(600));
        let again = h.b2bua.take_actions();
        assert_eq!(summary(&again).len(), 1);
        let bye = String::from_utf8(sent(&actions, "BYE")).unwrap();
        let branch = bye.split("branch=").nth(1).unwrap().split(';').next().unwrap();
        let ok = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch={branch}\r\nFrom: <sip:a@b>;tag=1\r\n\
             To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
        );
        let SipMessage::Response(ok) = parse(ok.as_bytes()).unwrap() else {
            panic!()
        };
        h.b2bua.response(&ok, cx(&h, PHONE, 700));
        h.b2bua.tick(h.t0 + Duration::from_secs(5));
        assert!(h.b2bua.take_actions().is_empty());
        assert_eq!(h.b2bua.calls(), 0);
    }

    /// A supervisor's desk phone joins a bridged call on its own port, changes how it takes part,
    /// hangs up while the call goes on, and is hung up when the call ends; a second supervisor,
    /// or one on a call nobody answered yet, is refused and changes nothing.
    #[test]
    fn a_supervisors_phone_monitors_whispers_and_leaves_a_bridged_call() {
        const DESK: &str = "127.0.0.1:5070";
        let mut h = harness();
        let monitor = |h: &mut Harness, mode| {
            h.b2bua.command(
                CallCommand::AddParty {
                    call: CallId(1),
                    listener: Listener::Phone(format!("<sip:sam@{DESK}>")),
                    mode,
                },
                h.t0,
                9,
                &mut h.ports,
            );
            h.b2bua.take_actions()
        };
        // Not bridged yet: refused.
        let invite = ringing(&mut h);
        assert_eq!(
            summary(&monitor(&mut h, Mix::Monitor)),
            vec!["PartyFailed { call: CallId(1), status: 486 }"]
        );
        h.b2bua
            .response(&phone_response(&invite, 200, &answer_sdp()), cx(&h, PHONE, 20));
        h.b2bua.take_actions();

        let actions = monitor(&mut h, Mix::Monitor);
        let ring = sent(&actions, "INVITE");
        let text = String::from_utf8_lossy(&ring);
        assert!(
            text.starts_with(&format!("INVITE sip:sam@{DESK} SIP/2.0")),
            "{text}"
        );
        assert!(
            text.contains("From: \"Monitor\" <sip:+15551230001@127.0.0.1>"),
            "{text}"
        );
        // Its own port, not the agent's (40006) nor the caller's.
        assert!(text.contains("m=audio 40008 RTP/AVP 0"), "{text}");
        // Another supervisor meanwhile is refused.
        assert_eq!(
            summary(&monitor(&mut h, Mix::Barge)),
            vec!["PartyFailed { call: CallId(1), status: 486 }"]
        );

        let sdp = answer_sdp().replace("31000", "32000");
        h.b2bua
            .response(&response_from(&ring, 200, &sdp, DESK), cx(&h, DESK, 40));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("ACK sip:x@{DESK} SIP/2.0 -> {DESK}"),
                "Join".into(),
                "PartyJoined { call: CallId(1) }".into()
            ]
        );
        assert!(actions.contains(&Action::Media(MediaCommand::Join {
            call: CallId(1),
            remote: "127.0.0.1:32000".parse().unwrap(),
            peer: "127.0.0.1".parse().unwrap(),
            srtp: None,
            mode: Mix::Monitor,
        })));

        let whisper = CallCommand::PartyMode {
            call: CallId(1),
            mode: Mix::Whisper,
        };
        h.b2bua.command(whisper, h.t0, 10, &mut h.ports);
        assert_eq!(
            h.b2bua.take_actions(),
            vec![Action::Media(MediaCommand::Mix {
                call: CallId(1),
                mode: Mix::Whisper
            })]
        );

        // The supervisor hangs up: the call goes on without them.
        let bye = request(&format!(
            "BYE sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {DESK};branch=z9hG4bKsb\r\n\
             From: <sip:sam@{DESK}>;tag=p\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n",
            header_of(&ring, "From"),
            header_of(&ring, "Call-ID"),
        ));
        let response = h.b2bua.in_dialog(&bye, cx(&h, DESK, 60));
        assert_eq!(response.map(|r| r.status()), Some(200));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec!["Leave", "PartyLeft { call: CallId(1) }"]
        );
        assert_eq!(h.b2bua.calls(), 1);

        // Again, on the port it had; then the caller hangs up and the supervisor's phone with it.
        let actions = monitor(&mut h, Mix::Barge);
        let ring = sent(&actions, "INVITE");
        assert!(String::from_utf8_lossy(&ring).contains("m=audio 40008 RTP/AVP 0"));
        h.b2bua
            .response(&response_from(&ring, 200, &sdp, DESK), cx(&h, DESK, 80));
        h.b2bua.take_actions();
        h.b2bua
            .in_dialog(&in_dialog("BYE", "caller-1", true), cx(&h, CALLER, 100));
        let actions = summary(&h.b2bua.take_actions());
        assert!(
            actions.contains(&format!("BYE sip:x@{DESK} SIP/2.0 -> {DESK}")),
            "{actions:?}"
        );
        assert!(actions.contains(&"Ended { call: CallId(1), by: Caller }".to_owned()));
    }

    /// A consult: the caller is held while the colleague's phone rings and talks with the agent,
    /// then all three confer, then the colleague takes the call over: the agent's phone gets a
    /// BYE, the colleague's leg is the agent's (on the port it had), and their BYE ends the call.
    #[test]
    fn a_consulted_colleague_confers_and_takes_the_call_over() {
        const DANA: &str = "127.0.0.1:5072";
        let mut h = harness();
        let invite = ringing(&mut h);
        h.b2bua
            .response(&phone_response(&invite, 200, &answer_sdp()), cx(&h, PHONE, 20));
        h.b2bua.take_actions();
        // Promoting nobody does nothing.
        h.b2bua
            .command(CallCommand::Promote { call: CallId(1) }, h.t0, 8, &mut h.ports);
        assert!(h.b2bua.take_actions().is_empty());

        let consult = CallCommand::AddParty {
            call: CallId(1),
            listener: Listener::Phone(format!("<sip:dana@{DANA}>")),
            mode: Mix::Consult,
        };
        h.b2bua.command(consult, h.t0, 9, &mut h.ports);
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                "Hold".to_owned(),
                format!("INVITE sip:dana@{DANA} SIP/2.0 -> {DANA}")
            ]
        );
        let ring = sent(&actions, "INVITE");
        assert!(String::from_utf8_lossy(&ring).contains("From: \"Consult\" <sip:+15551230001@127.0.0.1>"));
        let sdp = answer_sdp().replace("31000", "33000");
        h.b2bua
            .response(&response_from(&ring, 200, &sdp, DANA), cx(&h, DANA, 40));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("ACK sip:x@{DANA} SIP/2.0 -> {DANA}"),
                "Join".into(),
                "PartyJoined { call: CallId(1) }".into()
            ]
        );
        let conference = CallCommand::PartyMode {
            call: CallId(1),
            mode: Mix::Conference,
        };
        h.b2bua.command(conference, h.t0, 10, &mut h.ports);
        assert_eq!(
            h.b2bua.take_actions(),
            vec![
                Action::Media(MediaCommand::Mix {
                    call: CallId(1),
                    mode: Mix::Conference
                }),
                Action::Media(MediaCommand::Hold {
                    call: CallId(1),
                    on: false
                })
            ]
        );

        h.b2bua
            .command(CallCommand::Promote { call: CallId(1) }, h.t0, 11, &mut h.ports);
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![format!("BYE sip:x@{PHONE} SIP/2.0 -> {PHONE}"), "Promote".into()]
        );
        // Dana's re-INVITE is answered in her dialog, the agent's leg's now.
        let reinvite = request(&format!(
            "INVITE sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {DANA};branch=z9hG4bKdr\r\n\
             From: <sip:dana@{DANA}>;tag=p\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 10 INVITE\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            header_of(&ring, "From"),
            header_of(&ring, "Call-ID"),
            sdp.len(),
        ));
        let answer = h.b2bua.in_dialog(&reinvite, cx(&h, DANA, 60)).unwrap();
        assert_eq!(answer.status(), 200);
        h.b2bua.take_actions();
        let bye = request(&format!(
            "BYE sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {DANA};branch=z9hG4bKdb\r\n\
             From: <sip:dana@{DANA}>;tag=p\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 11 BYE\r\nContent-Length: 0\r\n\r\n",
            header_of(&ring, "From"),
            header_of(&ring, "Call-ID"),
        ));
        h.b2bua.in_dialog(&bye, cx(&h, DANA, 80));
        let ended = summary(&h.b2bua.take_actions());
        assert!(
            ended.contains(&"Ended { call: CallId(1), by: Agent }".to_owned()),
            "{ended:?}"
        );
    }

    /// One header of a message we sent.
    fn header_of(sent: &[u8], name: &str) -> String {
        let SipMessage::Request(request) = parse(sent).unwrap() else {
            panic!("not a request")
        };
        request.header(name).unwrap().to_owned()
    }

    #[test]
    fn the_agents_bye_ends_the_callers_leg_too() {
        let mut h = harness();
        let invite = ringing(&mut h);
        h.b2bua
            .response(&phone_response(&invite, 200, &answer_sdp()), cx(&h, PHONE, 20));
        h.b2bua.take_actions();
        let response = h.b2bua.in_dialog(&from_phone("BYE", &invite), cx(&h, PHONE, 40));
        assert_eq!(response.map(|r| r.status()), Some(200));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("BYE sip:ann@{CALLER} SIP/2.0 -> {CALLER}"),
                "Close".into(),
                "Ended { call: CallId(1), by: Agent }".into()
            ]
        );
        let bye = String::from_utf8(sent(&actions, "BYE")).unwrap();
        assert!(bye.contains("From: <sip:100@pbx>;tag=ours\r\n"), "{bye}");
        assert!(
            bye.contains("To: \"Ann Lee\" <sip:+15551230001@carrier>;tag=a\r\n"),
            "{bye}"
        );
    }

    #[test]
    fn an_offer_that_is_withdrawn_cancels_the_ringing_phone() {
        let mut h = harness();
        let invite = ringing(&mut h);
        h.b2bua.command(
            CallCommand::StopRinging { call: CallId(1) },
            h.t0,
            1,
            &mut h.ports,
        );
        let actions = h.b2bua.take_actions();
        let cancel = String::from_utf8(sent(&actions, "CANCEL")).unwrap();
        let invite_text = String::from_utf8_lossy(&invite);
        let branch = |t: &str| {
            t.split("branch=")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        };
        assert_eq!(branch(&cancel), branch(&invite_text), "§9.1: the INVITE's branch");
        assert!(cancel.contains("CSeq: 1 CANCEL"), "{cancel}");
        // The phone's 487 is ACKed on the INVITE's branch, and nothing is reported.
        h.b2bua
            .response(&phone_response(&invite, 487, ""), cx(&h, PHONE, 50));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![format!("ACK sip:x@{PHONE} SIP/2.0 -> {PHONE}")]
        );
        let ack = String::from_utf8(sent(&actions, "ACK")).unwrap();
        assert_eq!(branch(&ack), branch(&invite_text));
        // The caller still waits; another agent can be rung.
        assert_eq!(h.b2bua.calls(), 1);
    }

    #[test]
    fn a_busy_or_silent_phone_is_reported() {
        let mut h = harness();
        let invite = ringing(&mut h);
        h.b2bua
            .response(&phone_response(&invite, 486, ""), cx(&h, PHONE, 50));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("ACK sip:x@{PHONE} SIP/2.0 -> {PHONE}"),
                "AgentFailed { call: CallId(1), status: 486 }".into()
            ]
        );
        // A phone that never answers at all: Timer A retransmits, Timer B gives up.
        h.b2bua.command(
            CallCommand::Ring {
                call: CallId(1),
                contacts: vec![format!("<sip:1001@{PHONE}>")],
                record: None,
            },
            h.t0,
            9,
            &mut h.ports,
        );
        h.b2bua.take_actions();
        h.b2bua.tick(h.t0 + T1);
        assert_eq!(summary(&h.b2bua.take_actions()).len(), 1);
        h.b2bua.tick(h.t0 + GIVE_UP);
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec!["AgentFailed { call: CallId(1), status: 408 }".to_owned()]
        );
    }

    #[test]
    fn the_caller_hangs_up_while_the_phone_rings() {
        let mut h = harness();
        let invite = ringing(&mut h);
        h.b2bua
            .in_dialog(&in_dialog("BYE", "caller-1", true), cx(&h, CALLER, 40));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("CANCEL sip:1001@{PHONE};transport=udp SIP/2.0 -> {PHONE}"),
                "Close".into(),
                "Ended { call: CallId(1), by: Caller }".into()
            ]
        );
        // A 200 that crossed the CANCEL: ACKed and hung up, statelessly.
        h.b2bua
            .response(&phone_response(&invite, 200, &answer_sdp()), cx(&h, PHONE, 50));
        let summary = summary(&h.b2bua.take_actions());
        assert_eq!(
            summary,
            vec![
                format!("ACK sip:x@{PHONE} SIP/2.0 -> {PHONE}"),
                format!("BYE sip:x@{PHONE} SIP/2.0 -> {PHONE}")
            ]
        );
    }

    #[test]
    fn the_ivr_menu_routes_by_key() {
        let mut h = harness();
        let c = cx(&h, CALLER, 0);
        assert_eq!(
            h.b2bua
                .invite(&invite("200", OFFER), c, "ours", &mut h.ports)
                .status(),
            200
        );
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        let actions = h.b2bua.take_actions();
        let Some(Action::Media(MediaCommand::Start { prompts, .. })) = actions.first() else {
            panic!("{:?}", summary(&actions));
        };
        assert_eq!(prompts, &vec!["greeting", "menu"]);
        assert_eq!(actions.len(), 1, "no interaction before a choice");
        h.b2bua.digit(CallId(1), '7', h.t0);
        assert_eq!(
            h.b2bua.take_actions(),
            vec![Action::Media(MediaCommand::Play {
                call: CallId(1),
                prompts: vec!["menu"]
            })]
        );
        h.b2bua.digit(CallId(1), '1', h.t0);
        let actions = summary(&h.b2bua.take_actions());
        assert_eq!(actions[0], "Play");
        assert!(actions[1].contains("queue: \"Sales\""), "{actions:?}");
        // Keys after the choice are not the menu's any more.
        h.b2bua.digit(CallId(1), '2', h.t0);
        assert!(h.b2bua.take_actions().is_empty());
    }

    #[test]
    fn position_announcements_only_while_queued() {
        let mut h = harness();
        queued(&mut h);
        h.b2bua.take_actions();
        h.b2bua.command(
            CallCommand::Announce {
                call: CallId(1),
                position: 12,
            },
            h.t0,
            1,
            &mut h.ports,
        );
        assert_eq!(
            h.b2bua.take_actions(),
            vec![Action::Media(MediaCommand::Play {
                call: CallId(1),
                prompts: vec!["position", "1", "2"]
            })]
        );
    }

    #[test]
    fn a_closed_queue_records_a_voicemail_until_hash_or_the_longest_allowed() {
        let voicemail = |h: &mut Harness| {
            queued(h);
            h.b2bua
                .in_dialog(&in_dialog("ACK", "caller-1", true), cx(h, CALLER, 5));
            h.b2bua.take_actions();
            let command = CallCommand::Voicemail {
                call: CallId(1),
                record: "/rec/1.wav".into(),
                max: Duration::from_secs(120),
            };
            h.b2bua.command(command, h.t0, 1, &mut h.ports);
            assert_eq!(
                h.b2bua.take_actions(),
                vec![Action::Media(MediaCommand::Voicemail {
                    call: CallId(1),
                    record: "/rec/1.wav".into(),
                })]
            );
        };
        // `#` ends it: we hang up, the media closes (finishing the file), the hub hears.
        let mut h = harness();
        voicemail(&mut h);
        h.b2bua.digit(CallId(1), '5', h.t0);
        assert!(h.b2bua.take_actions().is_empty(), "only # ends a message");
        // Nothing a queued call takes while its message is recorded.
        for command in [
            CallCommand::Announce {
                call: CallId(1),
                position: 1,
            },
            CallCommand::Ring {
                call: CallId(1),
                contacts: vec![format!("<sip:1001@{PHONE}>")],
                record: None,
            },
        ] {
            h.b2bua.command(command, h.t0, 2, &mut h.ports);
            assert!(h.b2bua.take_actions().is_empty());
        }
        assert_eq!(h.b2bua.attachable(CallId(1)), None, "no agent joins a voicemail");
        h.b2bua.digit(CallId(1), '#', h.t0);
        let actions = summary(&h.b2bua.take_actions());
        assert!(actions[0].starts_with("BYE "), "{actions:?}");
        assert_eq!(actions[1..], ["Close", "Ended { call: CallId(1), by: Hub }"]);

        // The longest message: hung up at `max`, not a moment before.
        let mut h = harness();
        voicemail(&mut h);
        h.b2bua.tick(h.t0 + Duration::from_secs(119));
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.tick(h.t0 + Duration::from_secs(120));
        let actions = summary(&h.b2bua.take_actions());
        assert!(actions[0].starts_with("BYE "), "{actions:?}");
        assert_eq!(actions[1..], ["Close", "Ended { call: CallId(1), by: Hub }"]);

        // The caller hanging up is the usual end of a message.
        let mut h = harness();
        voicemail(&mut h);
        h.b2bua
            .in_dialog(&in_dialog("BYE", "caller-1", true), cx(&h, CALLER, 10));
        let actions = summary(&h.b2bua.take_actions());
        assert_eq!(actions, ["Close", "Ended { call: CallId(1), by: Caller }"]);

        // A call already ringing an agent is not sent to voicemail.
        let mut h = harness();
        ringing(&mut h);
        let command = CallCommand::Voicemail {
            call: CallId(1),
            record: "/rec/1.wav".into(),
            max: Duration::from_secs(120),
        };
        h.b2bua.command(command, h.t0, 1, &mut h.ports);
        assert!(h.b2bua.take_actions().is_empty());
    }

    #[test]
    fn a_waiting_caller_who_presses_1_after_the_offer_is_called_back_and_hears_goodbye() {
        let offered = |h: &mut Harness| {
            queued(h);
            h.b2bua
                .in_dialog(&in_dialog("ACK", "caller-1", true), cx(h, CALLER, 5));
            h.b2bua.take_actions();
            // Before the offer, 1 is just a key.
            h.b2bua.digit(CallId(1), '1', h.t0);
            assert!(h.b2bua.take_actions().is_empty());
            h.b2bua.command(
                CallCommand::OfferCallback { call: CallId(1) },
                h.t0,
                1,
                &mut h.ports,
            );
            assert_eq!(
                h.b2bua.take_actions(),
                vec![Action::Media(MediaCommand::Play {
                    call: CallId(1),
                    prompts: vec!["callback"],
                })]
            );
        };
        let mut h = harness();
        offered(&mut h);
        h.b2bua.digit(CallId(1), '2', h.t0);
        assert!(h.b2bua.take_actions().is_empty(), "only 1 chooses the callback");
        h.b2bua.digit(CallId(1), '1', h.t0);
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            ["CallbackChosen { call: CallId(1) }"]
        );
        h.b2bua.digit(CallId(1), '1', h.t0);
        assert!(h.b2bua.take_actions().is_empty(), "chosen once");
        // Music on until the hub has booked it; then the goodbye, and we hang up after it.
        h.b2bua.command(
            CallCommand::CallbackBooked { call: CallId(1) },
            h.t0,
            2,
            &mut h.ports,
        );
        assert_eq!(summary(&h.b2bua.take_actions()), ["Play"]);
        let ring = CallCommand::Ring {
            call: CallId(1),
            contacts: vec![format!("<sip:1001@{PHONE}>")],
            record: None,
        };
        h.b2bua.command(ring, h.t0, 3, &mut h.ports);
        assert!(
            h.b2bua.take_actions().is_empty(),
            "no phone rings for a caller saying goodbye"
        );
        assert_eq!(h.b2bua.attachable(CallId(1)), None);
        h.b2bua.tick(h.t0 + FAREWELL - Duration::from_millis(1));
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.tick(h.t0 + FAREWELL);
        let actions = summary(&h.b2bua.take_actions());
        assert!(actions[0].starts_with("BYE "), "{actions:?}");
        assert_eq!(actions[1..], ["Close", "Ended { call: CallId(1), by: Hub }"]);

        // A phone ringing for the caller takes the offer back: 1 does nothing, nor does booking.
        let mut h = harness();
        offered(&mut h);
        let ring = CallCommand::Ring {
            call: CallId(1),
            contacts: vec![format!("<sip:1001@{PHONE}>")],
            record: None,
        };
        h.b2bua.command(ring, h.t0, 2, &mut h.ports);
        h.b2bua.take_actions();
        h.b2bua.digit(CallId(1), '1', h.t0);
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.command(
            CallCommand::CallbackBooked { call: CallId(1) },
            h.t0,
            3,
            &mut h.ports,
        );
        assert!(h.b2bua.take_actions().is_empty());

        // No offer to a call already ringing an agent.
        let mut h = harness();
        ringing(&mut h);
        h.b2bua.command(
            CallCommand::OfferCallback { call: CallId(1) },
            h.t0,
            1,
            &mut h.ports,
        );
        assert!(h.b2bua.take_actions().is_empty());
    }

    /// Click-to-call: the customer's 200 to `invite` is ACKed, their stream started and bridged
    /// to the agent's leg, and the hub told; what was done.
    fn customer_answers(h: &mut Harness, id: CallId, invite: &[u8], sdp: &str) -> Vec<Action> {
        h.b2bua
            .response(&response_from(invite, 200, sdp, TRUNK), cx(h, TRUNK, 30));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("ACK sip:x@{TRUNK} SIP/2.0 -> {TRUNK}"),
                "Start".into(),
                "Bridge".into(),
                format!("{:?}", CallEvent::CustomerAnswered { call: id }),
            ]
        );
        actions
    }

    #[test]
    fn click_to_call_rings_the_agent_then_the_customer_and_bridges() {
        let mut h = harness();
        let contact = format!("<sip:1001@{PHONE}>");
        let id = h
            .b2bua
            .dial(
                &contact,
                None,
                "+15551230002",
                Some("/rec/o.wav".into()),
                h.t0,
                11,
                &mut h.ports,
            )
            .unwrap();
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![format!("INVITE sip:1001@{PHONE} SIP/2.0 -> {PHONE}")]
        );
        let to_agent = sent(&actions, "INVITE");
        assert!(String::from_utf8_lossy(&to_agent).contains("From: \"Calling +15551230002\""));

        h.b2bua
            .response(&phone_response(&to_agent, 200, &answer_sdp()), cx(&h, PHONE, 10));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("ACK sip:x@{PHONE} SIP/2.0 -> {PHONE}"),
                format!("{:?}", CallEvent::AgentAnswered { call: id }),
                format!("INVITE sip:+15551230002@{TRUNK} SIP/2.0 -> {TRUNK}"),
            ]
        );
        let to_customer = sent(&actions, "INVITE");
        let customer_sdp = "v=0\r\no=- 3 3 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 203.0.113.9\r\nt=0 0\r\nm=audio 32000 RTP/AVP 0\r\n";
        h.b2bua
            .response(&response_from(&to_customer, 180, "", TRUNK), cx(&h, TRUNK, 20));
        assert!(h.b2bua.take_actions().is_empty());
        let actions = customer_answers(&mut h, id, &to_customer, customer_sdp);
        assert!(actions.contains(&Action::Media(MediaCommand::Bridge {
            call: id,
            peer: PHONE.parse::<SocketAddr>().unwrap().ip(),
            remote: "127.0.0.1:31000".parse().unwrap(),
            record: Some("/rec/o.wav".into()),
            srtp: None,
        })));
        // The customer hangs up: the agent's leg is hung up too.
        h.b2bua
            .in_dialog(&from_phone("BYE", &to_customer), cx(&h, TRUNK, 40));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("BYE sip:x@{PHONE} SIP/2.0 -> {PHONE}"),
                "Close".into(),
                format!(
                    "{:?}",
                    CallEvent::Ended {
                        call: id,
                        by: Party::Caller
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_busy_customer_ends_the_click_to_call() {
        let mut h = harness();
        let id = h
            .b2bua
            .dial(
                &format!("<sip:1001@{PHONE}>"),
                None,
                "+15551230002",
                None,
                h.t0,
                11,
                &mut h.ports,
            )
            .unwrap();
        let to_agent = sent(&h.b2bua.take_actions(), "INVITE");
        h.b2bua
            .response(&phone_response(&to_agent, 200, &answer_sdp()), cx(&h, PHONE, 10));
        let to_customer = sent(&h.b2bua.take_actions(), "INVITE");
        h.b2bua
            .response(&response_from(&to_customer, 486, "", TRUNK), cx(&h, TRUNK, 20));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("ACK sip:x@{TRUNK} SIP/2.0 -> {TRUNK}"),
                format!(
                    "{:?}",
                    CallEvent::CustomerFailed {
                        call: id,
                        status: 486
                    }
                ),
                format!("BYE sip:x@{PHONE} SIP/2.0 -> {PHONE}"),
                "Close".into(),
                format!(
                    "{:?}",
                    CallEvent::Ended {
                        call: id,
                        by: Party::Hub
                    }
                ),
            ]
        );
        // Without a trunk, or to something that is not a number, there is no call.
        assert!(
            h.b2bua
                .dial(
                    &format!("<sip:1001@{PHONE}>"),
                    None,
                    "x@evil",
                    None,
                    h.t0,
                    1,
                    &mut h.ports
                )
                .is_none()
        );
    }

    #[test]
    fn a_transfer_releases_the_agent_and_the_caller_can_be_rung_again() {
        let mut h = harness();
        let invite = ringing(&mut h);
        h.b2bua
            .response(&phone_response(&invite, 200, &answer_sdp()), cx(&h, PHONE, 20));
        h.b2bua.take_actions();
        h.b2bua
            .command(CallCommand::Release { call: CallId(1) }, h.t0, 3, &mut h.ports);
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("BYE sip:x@{PHONE} SIP/2.0 -> {PHONE}"),
                "Unbridge".to_owned()
            ]
        );
        // Back on music, waiting: the next offer rings another phone.
        h.b2bua.command(
            CallCommand::Ring {
                call: CallId(1),
                contacts: vec!["<sip:1002@127.0.0.1:5064>".into()],
                record: None,
            },
            h.t0,
            4,
            &mut h.ports,
        );
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec!["INVITE sip:1002@127.0.0.1:5064 SIP/2.0 -> 127.0.0.1:5064".to_owned()]
        );
        // Hold only means something while bridged.
        h.b2bua.command(
            CallCommand::Hold {
                call: CallId(1),
                on: true,
            },
            h.t0,
            5,
            &mut h.ports,
        );
        assert!(h.b2bua.take_actions().is_empty());
    }

    /// A browser agent's leg: a waiting call is bridged to the hub's own RTP address, with no
    /// SIP towards the agent; only a waiting call is, and the leg going away ends the call as the
    /// agent's hang-up (the caller gets a BYE).
    #[test]
    fn a_browser_leg_attaches_to_a_waiting_call_and_its_end_is_the_agents_hang_up() {
        let mut h = harness();
        let remote: SocketAddr = "127.0.0.1:47000".parse().unwrap();
        let attach = |record: Option<&str>| CallCommand::Attach {
            call: CallId(1),
            remote,
            record: record.map(PathBuf::from),
        };
        // Not yet confirmed by the caller's ACK: nothing to attach to.
        queued(&mut h);
        assert_eq!(h.b2bua.attachable(CallId(1)), None);
        h.b2bua.command(attach(None), h.t0, 1, &mut h.ports);
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        assert_eq!(h.b2bua.attachable(CallId(1)), Some((Codec::Pcmu, 40006)));
        // The leg going away before it was attached changes nothing.
        h.b2bua
            .command(CallCommand::AgentLeft { call: CallId(1) }, h.t0, 2, &mut h.ports);
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.command(attach(Some("/rec/1.wav")), h.t0, 3, &mut h.ports);
        assert_eq!(
            h.b2bua.take_actions(),
            vec![Action::Media(MediaCommand::Bridge {
                call: CallId(1),
                remote,
                peer: IpAddr::from([0, 0, 0, 0]),
                record: Some("/rec/1.wav".into()),
                srtp: None,
            })]
        );
        // Attached once: a second leg, or a phone, cannot take it now.
        assert_eq!(h.b2bua.attachable(CallId(1)), None);
        h.b2bua.command(attach(None), h.t0, 4, &mut h.ports);
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.command(
            CallCommand::Hold {
                call: CallId(1),
                on: true,
            },
            h.t0,
            5,
            &mut h.ports,
        );
        assert_eq!(summary(&h.b2bua.take_actions()), ["Hold"]);
        h.b2bua
            .command(CallCommand::AgentLeft { call: CallId(1) }, h.t0, 6, &mut h.ports);
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("BYE sip:ann@{CALLER} SIP/2.0 -> {CALLER}"),
                "Close".to_owned(),
                format!(
                    "{:?}",
                    CallEvent::Ended {
                        call: CallId(1),
                        by: Party::Agent
                    }
                ),
            ]
        );
        assert_eq!(h.b2bua.calls(), 0);
    }

    /// Click-to-call from a browser: nothing goes out until the browser's leg is attached; then
    /// the customer is called and, once they answer, bridged to that leg and recorded. The leg
    /// going away while the customer's phone rings cancels it.
    #[test]
    fn a_browsers_click_to_call_calls_the_customer_once_its_leg_is_attached() {
        let customer_sdp = "v=0\r\no=- 3 3 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 203.0.113.9\r\nt=0 0\r\n\
                            m=audio 32000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
        let remote: SocketAddr = "127.0.0.1:47000".parse().unwrap();
        let attach = |call| CallCommand::Attach {
            call,
            remote,
            record: Some("/rec/b.wav".into()),
        };
        let mut h = harness();
        assert_eq!(h.b2bua.dial_from_browser("not a number", 11, &mut h.ports), None);
        let id = h
            .b2bua
            .dial_from_browser("+15551230002", 11, &mut h.ports)
            .unwrap();
        assert!(
            h.b2bua.take_actions().is_empty(),
            "nothing before the browser's leg"
        );
        assert_eq!(h.b2bua.attachable(id), Some((Codec::Pcmu, 40006)));
        assert_eq!(h.b2bua.send_keys(id, vec![1]), Err(KeysRefused::NotTalking));
        h.b2bua.command(attach(id), h.t0, 12, &mut h.ports);
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![format!("INVITE sip:+15551230002@{TRUNK} SIP/2.0 -> {TRUNK}")]
        );
        assert_eq!(h.b2bua.attachable(id), None, "one leg only");
        let to_customer = sent(&actions, "INVITE");
        let actions = customer_answers(&mut h, id, &to_customer, customer_sdp);
        assert!(actions.contains(&Action::Media(MediaCommand::Bridge {
            call: id,
            remote,
            peer: remote.ip(),
            record: Some("/rec/b.wav".into()),
            srtp: None,
        })));
        // Keys go to the customer with the payload type their answer gave.
        h.b2bua.send_keys(id, vec![1, 11]).unwrap();
        assert_eq!(
            h.b2bua.take_actions(),
            vec![Action::Media(MediaCommand::Keys {
                call: id,
                events: vec![1, 11],
                payload_type: 101,
            })]
        );

        // Another call: the browser leaves while the customer's phone rings.
        let id = h
            .b2bua
            .dial_from_browser("+15551230003", 21, &mut h.ports)
            .unwrap();
        h.b2bua.command(attach(id), h.t0, 22, &mut h.ports);
        let to_customer = sent(&h.b2bua.take_actions(), "INVITE");
        h.b2bua
            .response(&response_from(&to_customer, 180, "", TRUNK), cx(&h, TRUNK, 40));
        h.b2bua
            .command(CallCommand::AgentLeft { call: id }, h.t0, 23, &mut h.ports);
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("CANCEL sip:+15551230003@{TRUNK} SIP/2.0 -> {TRUNK}"),
                "Close".into(),
                format!(
                    "{:?}",
                    CallEvent::Ended {
                        call: id,
                        by: Party::Agent
                    }
                ),
            ]
        );
    }

    /// Keys reach a caller only while bridged, and only when their offer listed telephone-events.
    #[test]
    fn keys_go_to_a_bridged_caller_that_takes_telephone_events() {
        let mut h = harness();
        let remote: SocketAddr = "127.0.0.1:47000".parse().unwrap();
        let attach = CallCommand::Attach {
            call: CallId(1),
            remote,
            record: None,
        };
        queued(&mut h);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        assert_eq!(
            h.b2bua.send_keys(CallId(1), vec![5]),
            Err(KeysRefused::NotTalking)
        );
        h.b2bua.command(attach, h.t0, 3, &mut h.ports);
        h.b2bua.take_actions();
        h.b2bua.send_keys(CallId(1), vec![5]).unwrap();
        assert_eq!(summary(&h.b2bua.take_actions()), ["Keys"]);
        assert_eq!(
            h.b2bua.send_keys(CallId(9), vec![5]),
            Err(KeysRefused::NotTalking)
        );

        // A caller whose offer has no telephone-event.
        let mut h = harness();
        let plain = OFFER.replace(" 0 101\r\na=rtpmap:101 telephone-event/8000", " 0");
        let c = cx(&h, CALLER, 0);
        h.b2bua.invite(&invite("100", &plain), c, "ours", &mut h.ports);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.command(
            CallCommand::Attach {
                call: CallId(1),
                remote,
                record: None,
            },
            h.t0,
            3,
            &mut h.ports,
        );
        h.b2bua.take_actions();
        assert_eq!(
            h.b2bua.send_keys(CallId(1), vec![5]),
            Err(KeysRefused::NoTelephoneEvents)
        );
        assert!(h.b2bua.take_actions().is_empty());
    }

    /// RFC 3261 §12.2.2: a request naming a call's Call-ID but not both its tags is not in the
    /// dialog. Each row gets 481 (an ACK, nothing) and the call goes on untouched.
    #[test]
    fn requests_with_the_wrong_tags_get_481_and_touch_nothing() {
        let mut h = harness();
        let invite = ringing(&mut h);
        h.b2bua
            .response(&phone_response(&invite, 200, &answer_sdp()), cx(&h, PHONE, 20));
        h.b2bua.take_actions();
        let ours = from_phone("BYE", &invite);
        let our_tag = ours.to_tag().unwrap().to_owned();
        let call_id = ours.call_id().to_owned();
        let caller = |from: &str, to: &str| {
            request(&format!(
                "BYE sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bKx\r\n\
                 From: <sip:+15551230001@carrier>{from}\r\nTo: <sip:100@pbx>{to}\r\nCall-ID: caller-1\r\n\
                 CSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n"
            ))
        };
        let phone = |from: &str, to: &str| {
            request(&format!(
                "BYE sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bKy\r\n\
                 From: <sip:x@{PHONE}>{from}\r\nTo: <sip:1001@{PHONE}>{to}\r\nCall-ID: {call_id}\r\n\
                 CSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n"
            ))
        };
        let rows = [
            ("caller: wrong From tag", caller(";tag=zz", ";tag=ours")),
            ("caller: wrong To tag", caller(";tag=a", ";tag=zz")),
            ("caller: no To tag", caller(";tag=a", "")),
            ("caller: no From tag", caller("", ";tag=ours")),
            ("caller: tags swapped", caller(";tag=ours", ";tag=a")),
            (
                "phone: wrong From tag",
                phone(";tag=zz", &format!(";tag={our_tag}")),
            ),
            ("phone: wrong To tag", phone(";tag=p", ";tag=zz")),
            ("phone: the caller's tags", phone(";tag=a", ";tag=ours")),
        ];
        for (what, bye) in rows {
            let response = h.b2bua.in_dialog(&bye, cx(&h, CALLER, 40));
            assert_eq!(response.map(|r| r.status()), Some(481), "{what}");
            assert!(h.b2bua.take_actions().is_empty(), "{what}");
        }
        let stray_ack = request(&format!(
            "ACK sip:plugboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bKs\r\n\
             From: <sip:+15551230001@carrier>;tag=zz\r\nTo: <sip:100@pbx>;tag=ours\r\nCall-ID: caller-1\r\n\
             CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(h.b2bua.in_dialog(&stray_ack, cx(&h, CALLER, 41)).is_none());
        assert!(h.b2bua.take_actions().is_empty());
        assert_eq!(h.b2bua.calls(), 1);
        // The right tags end it.
        let response = h.b2bua.in_dialog(&ours, cx(&h, PHONE, 50));
        assert_eq!(response.map(|r| r.status()), Some(200));
        assert_eq!(h.b2bua.calls(), 0);
    }

    /// A BYE that overtakes the caller's ACK (through a proxy whose workers reorder them) ends a
    /// call the hub still hears of: it was a real caller, who hung up at once.
    #[test]
    fn a_bye_before_the_ack_still_reports_the_call() {
        let mut h = harness();
        queued(&mut h);
        assert!(h.b2bua.take_actions().is_empty());
        let response = h
            .b2bua
            .in_dialog(&in_dialog("BYE", "caller-1", true), cx(&h, CALLER, 5));
        assert_eq!(response.map(|r| r.status()), Some(200));
        let actions = summary(&h.b2bua.take_actions());
        assert!(actions[0].starts_with("Incoming"), "{actions:?}");
        assert_eq!(actions[1..], ["Close", "Ended { call: CallId(1), by: Caller }"]);
        // The ACK that comes after it finds no call.
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 6));
        assert!(h.b2bua.take_actions().is_empty());
    }

    /// An INVITE without SDP (§13.2.1, as some carriers and PBXes send): we offer both G.711
    /// laws in the 200 and the caller answers in the ACK; the call starts with what they chose.
    /// An ACK without an answer we can use ends the call, and the hub never hears of it.
    #[test]
    fn a_late_offer_is_answered_with_ours_and_the_answer_comes_in_the_ack() {
        let mut h = harness();
        let late = invite("100", "");
        let response = h.b2bua.invite(&late, cx(&h, CALLER, 0), "ours", &mut h.ports);
        let text = String::from_utf8(response.build(&late, "ours")).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK"), "{text}");
        assert!(text.contains("m=audio 40004 RTP/AVP 0 8 101\r\n"), "{text}");
        assert!(h.b2bua.take_actions().is_empty());
        let answer = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
                      m=audio 30002 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
        h.b2bua.in_dialog(
            &from_caller("ACK", "", "application/sdp", answer),
            cx(&h, CALLER, 5),
        );
        let actions = h.b2bua.take_actions();
        assert_eq!(
            actions[0],
            Action::Media(MediaCommand::Start {
                call: CallId(1),
                remote: "198.51.100.7:30002".parse().unwrap(),
                peer: CALLER.parse::<SocketAddr>().unwrap().ip(),
                codec: Codec::Pcma,
                payload_type: 8,
                telephone_event: Some(101),
                prompts: vec!["greeting"],
                srtp: None,
            })
        );
        assert!(
            summary(&actions)[1].starts_with("Incoming"),
            "{:?}",
            summary(&actions)
        );

        // A second caller whose ACK brings no answer.
        let late = invite_on("caller-2", "c2", "100", "");
        h.b2bua.invite(&late, cx(&h, CALLER, 10), "ours", &mut h.ports);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-2", true), cx(&h, CALLER, 15));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("BYE sip:ann@{CALLER} SIP/2.0 -> {CALLER}"),
                "Close".into()
            ]
        );
        assert_eq!(h.b2bua.calls(), 1);
    }

    /// A caller's hold (RFC 3264 §8.4: `sendonly`, `inactive` or the old 0.0.0.0) stops our RTP
    /// to them until they resume; a re-INVITE without SDP gets our offer and its answer in the
    /// ACK moves the media the same way.
    #[test]
    fn a_caller_on_hold_gets_no_audio_until_they_resume() {
        let mut h = harness();
        queued(&mut h);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        let update = |remote: &str, sending: bool| {
            vec![Action::Media(MediaCommand::Update {
                call: CallId(1),
                leg: Leg::Caller,
                remote: remote.parse().unwrap(),
                sending,
                srtp: None,
            })]
        };
        let rows = [
            (
                "sendonly",
                OFFER.replace("101\r\n", "101\r\na=sendonly\r\n"),
                "a=recvonly",
                false,
            ),
            ("resume", OFFER.to_owned(), "a=sendrecv", true),
            (
                "inactive",
                OFFER.replace("101\r\n", "101\r\na=inactive\r\n"),
                "a=inactive",
                false,
            ),
            (
                "moved and resumed",
                OFFER.replace("30000", "30010"),
                "a=sendrecv",
                true,
            ),
            (
                "RFC 2543 hold",
                OFFER.replace("c=IN IP4 198.51.100.7", "c=IN IP4 0.0.0.0"),
                "a=sendrecv",
                false,
            ),
        ];
        for (what, offer, direction, sending) in rows {
            let reinvite = from_caller("INVITE", "", "application/sdp", &offer);
            let response = h.b2bua.in_dialog(&reinvite, cx(&h, CALLER, 100)).unwrap();
            let text = String::from_utf8(response.build(&reinvite, "ours")).unwrap();
            assert!(text.starts_with("SIP/2.0 200"), "{what}: {text}");
            assert!(text.contains(direction), "{what}: {text}");
            let remote = if what == "RFC 2543 hold" {
                "0.0.0.0:30000"
            } else if what == "moved and resumed" {
                "198.51.100.7:30010"
            } else {
                "198.51.100.7:30000"
            };
            assert_eq!(h.b2bua.take_actions(), update(remote, sending), "{what}");
        }
        // Without an offer: ours in the 200 (the call's codec only), their answer in the ACK.
        let reinvite = from_caller("INVITE", "", "", "");
        let response = h.b2bua.in_dialog(&reinvite, cx(&h, CALLER, 200)).unwrap();
        let text = String::from_utf8(response.build(&reinvite, "ours")).unwrap();
        assert!(text.contains("m=audio 40004 RTP/AVP 0 101\r\n"), "{text}");
        assert!(h.b2bua.take_actions().is_empty());
        let held = OFFER.replace("101\r\n", "101\r\na=inactive\r\n");
        h.b2bua.in_dialog(
            &from_caller("ACK", "", "application/sdp", &held),
            cx(&h, CALLER, 210),
        );
        assert_eq!(h.b2bua.take_actions(), update("198.51.100.7:30000", false));
        // An UPDATE with no body only refreshes; one with an offer changes the media.
        let refresh = from_caller("UPDATE", "", "", "");
        let response = h.b2bua.in_dialog(&refresh, cx(&h, CALLER, 300)).unwrap();
        assert_eq!(response.status(), 200);
        assert!(h.b2bua.take_actions().is_empty());
        let resume = from_caller("UPDATE", "", "application/sdp", OFFER);
        assert_eq!(
            h.b2bua.in_dialog(&resume, cx(&h, CALLER, 310)).unwrap().status(),
            200
        );
        assert_eq!(h.b2bua.take_actions(), update("198.51.100.7:30000", true));
    }

    /// RFC 4028 as carriers use it: a caller asking for a session timer gets it with
    /// `refresher=uac`; too short an interval is refused 422 with our Min-SE; each re-INVITE or
    /// UPDATE refreshes it; without a refresh the call is ended before it expires.
    #[test]
    fn session_timers_are_kept_by_the_callers_refreshes() {
        let mut h = harness();
        let timed = |call_id: &str, secs: u32| {
            request(&format!(
                "INVITE sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bK{call_id}\r\n\
                 From: <sip:+15551230001@carrier>;tag=a\r\nTo: <sip:100@pbx>\r\nCall-ID: {call_id}\r\n\
                 CSeq: 1 INVITE\r\nContact: <sip:ann@{CALLER}>\r\nSupported: timer, 100rel\r\n\
                 Session-Expires: {secs}\r\nMin-SE: 60\r\nContent-Length: {}\r\n\r\n{OFFER}",
                OFFER.len()
            ))
        };
        let short = timed("short", 60);
        let refused = h.b2bua.invite(&short, cx(&h, CALLER, 0), "t", &mut h.ports);
        let text = String::from_utf8(refused.build(&short, "t")).unwrap();
        assert!(text.starts_with("SIP/2.0 422 "), "{text}");
        assert!(text.contains("Min-SE: 90\r\n"), "{text}");
        assert_eq!(h.b2bua.calls(), 0);

        let asked = timed("caller-1", 600);
        let response = h.b2bua.invite(&asked, cx(&h, CALLER, 0), "ours", &mut h.ports);
        let text = String::from_utf8(response.build(&asked, "ours")).unwrap();
        assert!(text.contains("Session-Expires: 600;refresher=uac\r\n"), "{text}");
        assert!(text.contains("Require: timer\r\n"), "{text}");
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        // Refreshed at 300 s: the deadline moves to 300 + 600 - 32.
        let refresh = from_caller("UPDATE", "Session-Expires: 600;refresher=uac\r\n", "", "");
        let response = h.b2bua.in_dialog(&refresh, cx(&h, CALLER, 300_000)).unwrap();
        let text = String::from_utf8(response.build(&refresh, "ours")).unwrap();
        assert!(text.contains("Session-Expires: 600;refresher=uac\r\n"), "{text}");
        h.b2bua.tick(h.t0 + Duration::from_secs(600));
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.tick(h.t0 + Duration::from_secs(300 + 600 - 32));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("BYE sip:ann@{CALLER} SIP/2.0 -> {CALLER}"),
                "Close".into(),
                "Ended { call: CallId(1), by: Hub }".into()
            ]
        );
    }

    /// The response `status` to a request we sent, with `extra` headers and a body; outside a
    /// dialog, the far end's To tag is `p`.
    fn answer_to(sent: &[u8], status: u16, extra: &str, body: &str) -> SipResponse {
        let SipMessage::Request(request) = parse(sent).unwrap() else {
            panic!("not a request")
        };
        let to = request.header("To").unwrap();
        let to = if request.to_tag().is_some() {
            to.to_owned()
        } else {
            format!("{to};tag=p")
        };
        let (cseq, method) = request.cseq().unwrap();
        let typed = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        };
        let text = format!(
            "SIP/2.0 {status} X\r\nVia: {}\r\nFrom: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n\
             {extra}{typed}Content-Length: {}\r\n\r\n{body}",
            request.header("Via").unwrap(),
            request.header("From").unwrap(),
            request.call_id(),
            body.len()
        );
        let SipMessage::Response(r) = parse(text.as_bytes()).unwrap() else {
            panic!("not a response")
        };
        r
    }

    /// RFC 4028 §9's table of who refreshes: the caller when it supports the extension and asks
    /// to or leaves it to us; we when it asks us to, or when it does not support the extension (a
    /// proxy inserted the header): then the interval is raised to our Min-SE rather than refused
    /// with a 422 it would not understand, and nothing it did not list is required of it.
    #[test]
    fn who_refreshes_follows_rfc_4028s_table() {
        // Supported, Session-Expires asked, status, Session-Expires answered, Require: timer.
        type Row = (
            &'static str,
            Option<&'static str>,
            u16,
            Option<&'static str>,
            bool,
        );
        let rows: [Row; 8] = [
            ("timer", Some("600"), 200, Some("600;refresher=uac"), true),
            (
                "timer",
                Some("600;refresher=uac"),
                200,
                Some("600;refresher=uac"),
                true,
            ),
            (
                "timer",
                Some("600;refresher=uas"),
                200,
                Some("600;refresher=uas"),
                true,
            ),
            ("timer", Some("60"), 422, None, false),
            ("100rel", Some("600"), 200, Some("600;refresher=uas"), false),
            (
                "100rel",
                Some("600;refresher=uac"),
                200,
                Some("600;refresher=uas"),
                false,
            ),
            ("100rel", Some("60"), 200, Some("90;refresher=uas"), false),
            ("timer", None, 200, None, false),
        ];
        for (n, (supported, expires, status, answered, required)) in rows.into_iter().enumerate() {
            let mut h = harness();
            let asked = expires.map_or(String::new(), |e| format!("Session-Expires: {e}\r\n"));
            let invite = request(&format!(
                "INVITE sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bKt{n}\r\n\
                 From: <sip:+15551230001@carrier>;tag=a\r\nTo: <sip:100@pbx>\r\nCall-ID: t{n}\r\n\
                 CSeq: 1 INVITE\r\nContact: <sip:ann@{CALLER}>\r\nSupported: {supported}\r\n{asked}\
                 Content-Length: {}\r\n\r\n{OFFER}",
                OFFER.len()
            ));
            let response = h.b2bua.invite(&invite, cx(&h, CALLER, 0), "t", &mut h.ports);
            let text = String::from_utf8(response.build(&invite, "t")).unwrap();
            let row = format!("row {n} ({supported}, {expires:?}):\n{text}");
            assert_eq!(response.status(), status, "{row}");
            assert_eq!(
                text.lines().find_map(|l| l.strip_prefix("Session-Expires: ")),
                answered,
                "{row}"
            );
            assert_eq!(text.contains("Require: timer\r\n"), required, "{row}");
        }
    }

    /// A caller whose carrier's proxy asked for a session timer it cannot keep itself: we refresh
    /// it at half the interval, by UPDATE where the caller allows it, and each 2xx moves the
    /// deadline; when the caller's side says the dialog is gone (481) the call ends.
    #[test]
    fn we_refresh_a_session_the_caller_cannot() {
        let mut h = harness();
        let invite = request(&format!(
            "INVITE sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bKc1\r\n\
             From: <sip:+15551230001@carrier>;tag=a\r\nTo: <sip:100@pbx>\r\nCall-ID: caller-1\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:ann@{CALLER}>\r\nRecord-Route: <sip:{TRUNK};lr>\r\n\
             Allow: INVITE, ACK, BYE, CANCEL, UPDATE\r\nSession-Expires: 90\r\n\
             Content-Length: {}\r\n\r\n{OFFER}",
            OFFER.len()
        ));
        let response = h.b2bua.invite(&invite, cx(&h, CALLER, 0), "ours", &mut h.ports);
        let text = String::from_utf8(response.build(&invite, "ours")).unwrap();
        assert!(text.contains("Session-Expires: 90;refresher=uas\r\n"), "{text}");
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        h.b2bua.tick(h.t0 + Duration::from_millis(44_000));
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.tick(h.t0 + Duration::from_millis(45_000));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![format!("UPDATE sip:ann@{CALLER} SIP/2.0 -> {CALLER}")]
        );
        let update = sent(&actions, "UPDATE");
        let text = String::from_utf8_lossy(&update).into_owned();
        for line in [
            format!("Route: <sip:{TRUNK};lr>"),
            "From: <sip:100@pbx>;tag=ours".into(),
            "To: <sip:+15551230001@carrier>;tag=a".into(),
            "CSeq: 1 UPDATE".into(),
            "Session-Expires: 90;refresher=uac".into(),
            "Supported: timer".into(),
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line}: {text}");
        }
        // Unanswered, it is sent again (UDP); not refreshed a second time meanwhile.
        h.b2bua.tick(h.t0 + Duration::from_millis(45_600));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![format!("UPDATE sip:ann@{CALLER} SIP/2.0 -> {CALLER}")]
        );
        h.b2bua
            .response(&answer_to(&update, 200, "", ""), cx(&h, CALLER, 46_000));
        assert!(h.b2bua.take_actions().is_empty());
        // Past the first deadline (60 s), the call goes on: refreshed at 46 s.
        h.b2bua.tick(h.t0 + Duration::from_millis(90_000));
        assert!(h.b2bua.take_actions().is_empty());
        h.b2bua.tick(h.t0 + Duration::from_millis(91_000));
        let actions = h.b2bua.take_actions();
        let second = sent(&actions, "UPDATE");
        assert!(String::from_utf8_lossy(&second).contains("CSeq: 2 UPDATE\r\n"));
        h.b2bua
            .response(&answer_to(&second, 481, "", ""), cx(&h, CALLER, 91_100));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("BYE sip:ann@{CALLER} SIP/2.0 -> {CALLER}"),
                "Close".into(),
                "Ended { call: CallId(1), by: Hub }".into()
            ]
        );
    }

    /// A caller that allows no UPDATE (its INVITE lists none) is refreshed by re-INVITE: it offers
    /// the call's codec, its 2xx is ACKed (again when it comes again), its answer is taken, and a
    /// re-INVITE of the caller's crossing ours gets 491.
    #[test]
    fn a_caller_without_update_is_refreshed_by_reinvite() {
        let mut h = harness();
        let invite = request(&format!(
            "INVITE sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch=z9hG4bKc1\r\n\
             From: <sip:+15551230001@carrier>;tag=a\r\nTo: <sip:100@pbx>\r\nCall-ID: caller-1\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:ann@{CALLER}>\r\nSupported: timer\r\n\
             Session-Expires: 120;refresher=uas\r\nContent-Length: {}\r\n\r\n{OFFER}",
            OFFER.len()
        ));
        h.b2bua.invite(&invite, cx(&h, CALLER, 0), "ours", &mut h.ports);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        h.b2bua.tick(h.t0 + Duration::from_secs(60));
        let actions = h.b2bua.take_actions();
        let reinvite = sent(&actions, "INVITE");
        let text = String::from_utf8_lossy(&reinvite).into_owned();
        assert!(text.contains("CSeq: 1 INVITE\r\n"), "{text}");
        assert!(text.contains("m=audio 40004 RTP/AVP 0"), "{text}");
        let crossing = from_caller("INVITE", "", "application/sdp", OFFER);
        let glare = h.b2bua.in_dialog(&crossing, cx(&h, CALLER, 60_010)).unwrap();
        assert_eq!(glare.status(), 491);
        let answer = "v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
                      m=audio 30002 RTP/AVP 0\r\n";
        let ok = answer_to(&reinvite, 200, "Session-Expires: 120;refresher=uac\r\n", answer);
        h.b2bua.response(&ok, cx(&h, CALLER, 60_100));
        let actions = h.b2bua.take_actions();
        assert_eq!(
            summary(&actions),
            vec![
                format!("ACK sip:ann@{CALLER} SIP/2.0 -> {CALLER}"),
                "Update".into()
            ]
        );
        assert!(String::from_utf8_lossy(&sent(&actions, "ACK")).contains("CSeq: 1 ACK\r\n"));
        h.b2bua.response(&ok, cx(&h, CALLER, 60_600));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![format!("ACK sip:ann@{CALLER} SIP/2.0 -> {CALLER}")]
        );
        // Refreshed at 60.1 s: nothing ends at the first deadline (120 - 32 s).
        h.b2bua.tick(h.t0 + Duration::from_secs(100));
        assert!(h.b2bua.take_actions().is_empty());
    }

    /// DTMF by SIP INFO, in both bodies phones and carriers use, drives the IVR like RFC 4733.
    #[test]
    fn keys_sent_by_sip_info_choose_in_the_menu() {
        let mut h = harness();
        h.b2bua
            .invite(&invite("200", OFFER), cx(&h, CALLER, 0), "ours", &mut h.ports);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        let rows = [
            ("text/plain", "1", 415),
            ("application/dtmf-relay", "Duration=160\r\n", 400),
            ("application/dtmf", "12", 400),
            ("application/dtmf", "7\r\n", 200),
            ("application/dtmf-relay", "Signal=2\r\nDuration=160\r\n", 200),
        ];
        for (content_type, body, status) in rows {
            let info = from_caller("INFO", "", content_type, body);
            let response = h.b2bua.in_dialog(&info, cx(&h, CALLER, 10)).unwrap();
            assert_eq!(response.status(), status, "{content_type} {body:?}");
        }
        let actions = summary(&h.b2bua.take_actions());
        // 7 is not on the menu (it is played again); 2 is Support.
        assert_eq!(actions[0], "Play");
        assert_eq!(actions[1], "Play");
        assert!(actions[2].contains("queue: \"Support\""), "{actions:?}");
    }

    /// An agent with two registered devices: both ring (a parallel fork); the first to answer
    /// takes the call and the other is cancelled. One refusing leaves the other ringing; only
    /// when every device refused is the agent reported failed; a withdrawn offer cancels all.
    #[test]
    fn every_device_of_the_agent_rings_and_the_first_to_answer_wins() {
        const DESK: &str = "127.0.0.1:5066";
        let ring_both = |h: &mut Harness, call: u64| -> (Vec<u8>, Vec<u8>) {
            h.b2bua.command(
                CallCommand::Ring {
                    call: CallId(call),
                    contacts: vec![
                        format!("<sip:1001@{PHONE}>"),
                        format!("<sip:1001@{DESK}>"),
                        "<junk>".into(),
                    ],
                    record: None,
                },
                h.t0,
                7 + call,
                &mut h.ports,
            );
            let actions = h.b2bua.take_actions();
            let invites: Vec<Vec<u8>> = actions
                .iter()
                .filter_map(|a| match a {
                    Action::Send { bytes, .. } if bytes.starts_with(b"INVITE") => Some(bytes.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(invites.len(), 2, "{:?}", summary(&actions));
            (invites[0].clone(), invites[1].clone())
        };
        let mut h = harness();
        queued(&mut h);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        let (phone, desk) = ring_both(&mut h, 1);
        // Both are offered the call's agent port: the one that answers sends its audio there (a
        // second device used to be offered the caller's port, where its audio was dropped).
        for invite in [&phone, &desk] {
            let text = String::from_utf8_lossy(invite);
            assert!(text.contains("m=audio 40006 RTP/AVP 0"), "{text}");
        }
        for invite in [&phone, &desk] {
            h.b2bua
                .response(&phone_response(invite, 180, ""), cx(&h, PHONE, 10));
        }
        assert!(h.b2bua.take_actions().is_empty());
        // The desk phone answers first.
        h.b2bua
            .response(&response_from(&desk, 200, &answer_sdp(), DESK), cx(&h, DESK, 20));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![
                format!("CANCEL sip:1001@{PHONE} SIP/2.0 -> {PHONE}"),
                format!("ACK sip:x@{DESK} SIP/2.0 -> {DESK}"),
                "Bridge".into(),
                "AgentAnswered { call: CallId(1) }".into()
            ]
        );
        // The cancelled phone's 487 is ACKed and changes nothing; the desk phone's BYE ends it.
        h.b2bua
            .response(&phone_response(&phone, 487, ""), cx(&h, PHONE, 30));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![format!("ACK sip:x@{PHONE} SIP/2.0 -> {PHONE}")]
        );
        let bye = from_phone("BYE", &desk);
        assert_eq!(
            h.b2bua.in_dialog(&bye, cx(&h, DESK, 40)).map(|r| r.status()),
            Some(200)
        );
        assert_eq!(h.b2bua.calls(), 0);

        // A second caller: one device refuses, the other rings on, then refuses too.
        let mut h = harness();
        queued(&mut h);
        h.b2bua
            .in_dialog(&in_dialog("ACK", "caller-1", true), cx(&h, CALLER, 5));
        h.b2bua.take_actions();
        let (phone, desk) = ring_both(&mut h, 1);
        h.b2bua
            .response(&phone_response(&phone, 486, ""), cx(&h, PHONE, 10));
        assert_eq!(
            summary(&h.b2bua.take_actions()),
            vec![format!("ACK sip:x@{PHONE} SIP/2.0 -> {PHONE}")]
        );
        h.b2bua
            .response(&response_from(&desk, 486, "", DESK), cx(&h, DESK, 20));
        let actions = summary(&h.b2bua.take_actions());
        assert_eq!(
            actions[1], "AgentFailed { call: CallId(1), status: 486 }",
            "{actions:?}"
        );

        // A third: the offer is withdrawn while both ring.
        let (phone, desk) = ring_both(&mut h, 1);
        for invite in [&phone, &desk] {
            h.b2bua
                .response(&phone_response(invite, 180, ""), cx(&h, PHONE, 30));
        }
        h.b2bua.take_actions();
        h.b2bua.command(
            CallCommand::StopRinging { call: CallId(1) },
            h.t0,
            9,
            &mut h.ports,
        );
        let mut cancels = summary(&h.b2bua.take_actions());
        cancels.sort();
        assert_eq!(
            cancels,
            vec![
                format!("CANCEL sip:1001@{PHONE} SIP/2.0 -> {PHONE}"),
                format!("CANCEL sip:1001@{DESK} SIP/2.0 -> {DESK}"),
            ]
        );
    }

    /// SRTP by the caller's transport (RFC 4568 §8.3: SDES keys only under TLS): an SRTP-only
    /// offer over UDP is refused with 488 and costs no ports; over TLS it is answered with our
    /// key, and the caller's media starts keyed both ways.
    #[test]
    fn an_srtp_offer_is_taken_over_tls_and_refused_in_clear() {
        let theirs = MasterKey::new([3; 30]);
        let offer = OFFER.replace("RTP/AVP 0 101\r\n", "RTP/SAVP 0 101\r\n")
            + &format!(
                "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
                theirs.to_inline()
            );
        for (transport, status) in [
            (Transport::Udp, 488),
            (Transport::Tcp, 488),
            (Transport::Tls, 200),
        ] {
            let mut h = harness();
            h.b2bua.config.tls = Some("127.0.0.1:5061".parse().unwrap());
            let c = Context {
                transport,
                ..cx(&h, CALLER, 0)
            };
            let response = h.b2bua.invite(&invite("100", &offer), c, "ours", &mut h.ports);
            assert_eq!(response.status(), status, "{transport:?}");
            if status != 200 {
                assert_eq!(h.ports, Ports::default(), "a refused offer takes no ports");
                continue;
            }
            let text = String::from_utf8(response.build(&invite("100", &offer), "ours")).unwrap();
            // Our key drawn first (1), then the ports (2).
            let ours = MasterKey::new([1; 30]);
            assert!(text.contains("m=audio 40008 RTP/SAVP 0 101\r\n"), "{text}");
            assert!(
                text.contains(&format!(
                    "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
                    ours.to_inline()
                )),
                "{text}"
            );
            assert!(
                text.contains("Contact: <sip:plugboard@127.0.0.1:5061;transport=tls>\r\n"),
                "{text}"
            );
            h.b2bua.in_dialog(
                &in_dialog("ACK", "caller-1", true),
                Context {
                    transport,
                    ..cx(&h, CALLER, 5)
                },
            );
            let started = h.b2bua.take_actions().into_iter().find_map(|a| match a {
                Action::Media(MediaCommand::Start { srtp, .. }) => Some(srtp),
                _ => None,
            });
            assert_eq!(
                started,
                Some(Some(LegKeys {
                    ours,
                    theirs: theirs.clone()
                }))
            );
        }
    }
}
