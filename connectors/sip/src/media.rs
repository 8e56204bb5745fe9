//! The RTP shell of the B2BUA: where a call's audio flows. The B2BUA decides ([`MediaCommand`]s);
//! here one task per call owns the call's two RTP sockets (the caller's leg, the agent's), plays
//! prompts and hold music to the caller, relays packets both ways once bridged (through an
//! [`rtp::Rewriter`], so the caller's phone sees one continuous stream from music to agent and
//! back), records the bridged call in stereo, reports DTMF keys back to the B2BUA, and sends the
//! keys an agent presses in the console to the customer as RFC 4733 events ([`Keypad`]).
//!
//! Media is anchored: phones only ever talk to our ports. Each leg takes RTP only from the address
//! its SDP gave, or, once and early, from another port of the phone's signalling host (symmetric
//! RTP for phones behind NAT), so nobody else can take over a call's audio ([`Latch`]).
//!
//! A leg keyed for SRTP ([`crate::srtp`]) is decrypted as it arrives and encrypted as it leaves:
//! in between, the relay, the DTMF detector and the recording see plain RTP.
//!
//! A third party on the call (a supervisor listening in, a colleague the agent consults) has a
//! third port. What each party hears follows [`crate::mix`]: the other party's packets are relayed
//! as they come, anything else is decoded, mixed and encoded on the 20 ms clock (on a barge or a
//! conference, that mix is what the recording's right channel holds: what the caller heard). A
//! consulted colleague who takes the call over becomes the agent's leg, their port the agent's.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::b2bua::{CallId, MediaCommand, MediaPorts, Prompt};
use crate::dtmf::{DtmfDetector, Keypad};
use crate::g711::{self, Codec};
use crate::mix::{self, Mix, Mixer, Party};
use crate::recording::{Leg, StereoRecorder};
use crate::rtp::{Rewriter, RtpHeader, RtpPacket};
use crate::srtp::{self, LegKeys, MasterKey};

use crate::mix::FRAME;

/// The sounds a caller hears, as 8 kHz linear samples: the prompts by name, and the music.
#[derive(Debug, Clone)]
pub struct Audio {
    prompts: HashMap<Prompt, Arc<[i16]>>,
    music: Arc<[i16]>,
}

/// Every prompt name the B2BUA uses.
const PROMPTS: [Prompt; 17] = [
    "greeting",
    "menu",
    "position",
    "closed",
    "beep",
    "callback",
    "callback_booked",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
];

fn builtin(name: &str) -> &'static [u8] {
    match name {
        "greeting" => include_bytes!("../media/greeting.ul"),
        "menu" => include_bytes!("../media/menu.ul"),
        "position" => include_bytes!("../media/position.ul"),
        "closed" => include_bytes!("../media/closed.ul"),
        "beep" => include_bytes!("../media/beep.ul"),
        "callback" => include_bytes!("../media/callback.ul"),
        "callback_booked" => include_bytes!("../media/callback_booked.ul"),
        "0" => include_bytes!("../media/0.ul"),
        "1" => include_bytes!("../media/1.ul"),
        "2" => include_bytes!("../media/2.ul"),
        "3" => include_bytes!("../media/3.ul"),
        "4" => include_bytes!("../media/4.ul"),
        "5" => include_bytes!("../media/5.ul"),
        "6" => include_bytes!("../media/6.ul"),
        "7" => include_bytes!("../media/7.ul"),
        "8" => include_bytes!("../media/8.ul"),
        "9" => include_bytes!("../media/9.ul"),
        _ => include_bytes!("../media/music.ul"),
    }
}

fn decode_ulaw(bytes: &[u8]) -> Arc<[i16]> {
    bytes.iter().map(|b| g711::ulaw_decode(*b)).collect()
}

/// A WAV file of ours must be what the phone hears: 8 kHz, mono, 16-bit.
fn read_wav(path: &Path) -> io::Result<Arc<[i16]>> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {why}", path.display()));
    let reader = hound::WavReader::open(path).map_err(|e| bad(e.to_string()))?;
    let spec = reader.spec();
    if spec.sample_rate != 8000 || spec.channels != 1 || spec.bits_per_sample != 16 {
        return Err(bad(format!(
            "{} Hz, {} channel(s), {} bits; convert it with `sox IN -r 8000 -c 1 -b 16 OUT.wav`",
            spec.sample_rate, spec.channels, spec.bits_per_sample
        )));
    }
    reader
        .into_samples::<i16>()
        .collect::<Result<Arc<[i16]>, _>>()
        .map_err(|e| bad(e.to_string()))
}

impl Audio {
    /// The built-in English prompts and music.
    pub fn builtin() -> Self {
        Audio {
            prompts: PROMPTS.iter().map(|p| (*p, decode_ulaw(builtin(p)))).collect(),
            music: decode_ulaw(builtin("music")),
        }
    }

    /// The built-ins, with any of `greeting.wav`, `menu.wav`, `position.wav`, `closed.wav`,
    /// `beep.wav`, `callback.wav`, `callback_booked.wav`, `0.wav`…`9.wav` and `music.wav` found
    /// in `dir` used instead.
    pub fn load(dir: &Path) -> io::Result<Self> {
        let mut audio = Audio::builtin();
        for name in PROMPTS.iter().chain(&["music"]) {
            let path = dir.join(format!("{name}.wav"));
            if !path.exists() {
                continue;
            }
            let samples = read_wav(&path)?;
            match *name {
                "music" => audio.music = samples,
                name => {
                    let key = PROMPTS.iter().find(|p| **p == name).expect("from PROMPTS");
                    audio.prompts.insert(key, samples);
                }
            }
        }
        Ok(audio)
    }
}

/// What the caller hears from us when not bridged: prompts in order, then music in a loop.
#[derive(Debug)]
struct Player {
    audio: Arc<Audio>,
    prompts: VecDeque<Prompt>,
    /// Position in the current prompt (the front of `prompts`) or, with none, in the music.
    at: usize,
    music_at: usize,
}

impl Player {
    fn play(&mut self, prompts: Vec<Prompt>) {
        self.prompts = prompts.into();
        self.at = 0;
    }

    /// Whether a prompt is playing (not music).
    fn in_prompt(&self) -> bool {
        !self.prompts.is_empty()
    }

    /// The prompt playing now is finished; the ones after it are dropped.
    fn finish_current(&mut self) {
        self.prompts.truncate(1);
    }

    /// The next 20 ms of samples.
    fn frame(&mut self, out: &mut Vec<i16>) {
        out.clear();
        while out.len() < FRAME {
            let need = FRAME - out.len();
            match self.prompts.front() {
                Some(p) => {
                    let samples = self
                        .audio
                        .prompts
                        .get(p)
                        .cloned()
                        .unwrap_or_else(|| Arc::from([]));
                    let take = need.min(samples.len().saturating_sub(self.at));
                    out.extend_from_slice(&samples[self.at..self.at + take]);
                    self.at += take;
                    if self.at >= samples.len() {
                        self.prompts.pop_front();
                        self.at = 0;
                    }
                }
                None => {
                    let music = &self.audio.music;
                    if music.is_empty() {
                        out.resize(FRAME, 0);
                        return;
                    }
                    let take = need.min(music.len() - self.music_at);
                    out.extend_from_slice(&music[self.music_at..self.music_at + take]);
                    self.music_at = (self.music_at + take) % music.len();
                }
            }
        }
    }
}

/// A call's sockets until its media task starts, then the task's mailbox.
enum Slot {
    Bound(std::net::UdpSocket, std::net::UdpSocket),
    Running(mpsc::UnboundedSender<Order>),
}

/// What a call's media task is told: the B2BUA's commands, and the third party's port once bound.
enum Order {
    Command(MediaCommand),
    PartyPort(std::net::UdpSocket),
}

/// Every call's media; shared by the SIP server (commands) and the port allocator.
pub struct Media {
    ip: IpAddr,
    audio: Arc<Audio>,
    slots: Mutex<HashMap<CallId, Slot>>,
    digits: mpsc::UnboundedSender<(CallId, char)>,
}

impl Media {
    /// `digits` receives every DTMF key a caller presses.
    pub fn new(ip: IpAddr, audio: Audio, digits: mpsc::UnboundedSender<(CallId, char)>) -> Arc<Self> {
        Arc::new(Media {
            ip,
            audio: Arc::new(audio),
            slots: Mutex::new(HashMap::new()),
            digits,
        })
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<CallId, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The address calls' RTP ports are bound on.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Calls with media open.
    pub fn calls(&self) -> usize {
        self.slots().len()
    }

    /// Carries out one of the B2BUA's media commands. Must run inside the tokio runtime.
    pub fn execute(&self, command: MediaCommand) {
        let mut slots = self.slots();
        match command {
            MediaCommand::Start {
                call,
                remote,
                peer,
                codec,
                payload_type,
                telephone_event,
                prompts,
                srtp,
            } => {
                let Some(Slot::Bound(caller, agent)) = slots.remove(&call) else {
                    return;
                };
                let sockets = (|| -> io::Result<_> {
                    Ok((UdpSocket::from_std(caller)?, UdpSocket::from_std(agent)?))
                })();
                let (caller, agent) = match sockets {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(%call, error = %e, "could not start a call's media");
                        return;
                    }
                };
                let (tx, rx) = mpsc::unbounded_channel();
                let player = Player {
                    audio: self.audio.clone(),
                    prompts: prompts.into(),
                    at: 0,
                    music_at: 0,
                };
                let stream = Stream {
                    call,
                    caller,
                    agent,
                    caller_remote: Latch::new(remote, peer, Instant::now()),
                    agent_remote: None,
                    caller_sending: true,
                    agent_sending: true,
                    codec,
                    payload_type,
                    telephone_event,
                    mode: Mode::Music,
                    player,
                    out: Rewriter::new(rand::random(), 8000, rand::random(), rand::random()),
                    music_header: RtpHeader::new(
                        payload_type,
                        rand::random(),
                        rand::random(),
                        rand::random(),
                    ),
                    recorder: None,
                    voicemail: None,
                    keypad: Keypad::new(rand::random()),
                    keypad_header: RtpHeader::new(0, rand::random(), 0, rand::random()),
                    dtmf: DtmfDetector::new(),
                    digits: self.digits.clone(),
                    caller_srtp: srtp.map(Srtp::new),
                    agent_srtp: None,
                    plain: Vec::with_capacity(2048),
                    party_socket: None,
                    party: None,
                    mixer: Mixer::default(),
                    decoded: Vec::with_capacity(FRAME * 2),
                };
                tokio::spawn(stream.run(rx));
                slots.insert(call, Slot::Running(tx));
            }
            MediaCommand::Close { call } => {
                if let Some(Slot::Running(tx)) = slots.remove(&call) {
                    let _ = tx.send(Order::Command(MediaCommand::Close { call }));
                }
            }
            other => {
                let call = match &other {
                    MediaCommand::Play { call, .. }
                    | MediaCommand::Bridge { call, .. }
                    | MediaCommand::Unbridge { call }
                    | MediaCommand::Update { call, .. }
                    | MediaCommand::Voicemail { call, .. }
                    | MediaCommand::Hold { call, .. }
                    | MediaCommand::Keys { call, .. }
                    | MediaCommand::Join { call, .. }
                    | MediaCommand::Mix { call, .. }
                    | MediaCommand::Leave { call }
                    | MediaCommand::Promote { call } => *call,
                    MediaCommand::Start { .. } | MediaCommand::Close { .. } => unreachable!("matched above"),
                };
                if let Some(Slot::Running(tx)) = slots.get(&call) {
                    let _ = tx.send(Order::Command(other));
                }
            }
        }
    }
}

/// Copies a datagram from a leg into `plain`, decrypted when the leg is SRTP: false (and the
/// packet dropped) when it is not authentic or is a replay.
fn opened(srtp: &mut Option<Srtp>, datagram: &[u8], plain: &mut Vec<u8>) -> bool {
    plain.clear();
    plain.extend_from_slice(datagram);
    srtp.as_mut().is_none_or(|s| s.receiver.unprotect(plain).is_ok())
}

/// Binds a call's two RTP ports on the media address (the kernel picks free ones).
pub struct PortOpener(pub Arc<Media>);

impl PortOpener {
    fn bind(&self) -> io::Result<std::net::UdpSocket> {
        let socket = std::net::UdpSocket::bind(SocketAddr::new(self.0.ip, 0))?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }
}

impl MediaPorts for PortOpener {
    fn open(&mut self, call: CallId) -> Option<(u16, u16)> {
        let (caller, agent) = match (self.bind(), self.bind()) {
            (Ok(c), Ok(a)) => (c, a),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "no RTP port for a new call");
                return None;
            }
        };
        let ports = (caller.local_addr().ok()?.port(), agent.local_addr().ok()?.port());
        self.0.slots().insert(call, Slot::Bound(caller, agent));
        Some(ports)
    }

    fn open_party(&mut self, call: CallId) -> Option<u16> {
        let socket = self
            .bind()
            .inspect_err(|e| tracing::warn!(%call, error = %e, "no RTP port for a third party"))
            .ok()?;
        let port = socket.local_addr().ok()?.port();
        let slots = self.0.slots();
        let Some(Slot::Running(tx)) = slots.get(&call) else {
            return None;
        };
        tx.send(Order::PartyPort(socket)).ok()?;
        Some(port)
    }

    fn srtp_key(&mut self) -> MasterKey {
        MasterKey::new(rand::random())
    }
}

/// One leg's SRTP: its keys, our sending context and the phone's.
struct Srtp {
    keys: LegKeys,
    sender: srtp::Sender,
    receiver: srtp::Receiver,
}

impl Srtp {
    fn new(keys: LegKeys) -> Self {
        Srtp {
            sender: srtp::Sender::new(&keys.ours),
            receiver: srtp::Receiver::new(&keys.theirs),
            keys,
        }
    }

    /// After a renegotiation: the same contexts for the same keys (their rollover counters and
    /// replay lists go on), new ones for new keys, none when the leg is plain RTP now.
    fn rekeyed(current: Option<Srtp>, keys: Option<LegKeys>) -> Option<Srtp> {
        match (current, keys) {
            (Some(current), Some(keys)) if current.keys == keys => Some(current),
            (_, keys) => keys.map(Srtp::new),
        }
    }
}

/// Sends `packet` (plain RTP) on `socket` to `to`, encrypted first when the leg is SRTP.
async fn send(socket: &UdpSocket, srtp: Option<&mut Srtp>, packet: &mut Vec<u8>, to: SocketAddr) {
    if let Some(srtp) = srtp
        && srtp.sender.protect(packet).is_err()
    {
        return;
    }
    let _ = socket.send_to(packet, to).await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Prompts and music to the caller; the agent's port is quiet.
    Music,
    Bridged,
    /// Bridged, but the caller hears music and the agent nothing.
    Hold,
    /// The closed message and the beep, then silence while the caller's message is recorded.
    Voicemail,
}

/// How long after a leg's media is (re)negotiated its RTP may still latch onto another port of
/// the phone's host: phones send their first packet as soon as they answer.
const LATCH_WINDOW: Duration = Duration::from_secs(5);

/// Where one leg's RTP is taken from and sent to, as RTPEngine's strict-source mode does it: the
/// address the phone's SDP gave; or, once and only within [`LATCH_WINDOW`], another port or
/// address of the phone's signalling host (behind NAT, the one its packets really come from).
/// Everything else is dropped: no stranger can take over the audio by sending to our port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Latch {
    remote: SocketAddr,
    peer: IpAddr,
    open_until: Instant,
    /// Packets came from `remote`: it is settled.
    settled: bool,
}

impl Latch {
    fn new(remote: SocketAddr, peer: IpAddr, now: Instant) -> Self {
        Latch {
            remote,
            peer,
            open_until: now + LATCH_WINDOW,
            settled: false,
        }
    }

    /// Whether a packet from `source` is the phone's; it may move `remote` (once).
    fn accept(&mut self, source: SocketAddr, now: Instant) -> bool {
        if source == self.remote {
            self.settled = true;
            return true;
        }
        if self.settled || now >= self.open_until || source.ip() != self.peer {
            return false;
        }
        self.remote = source;
        self.settled = true;
        true
    }
}

/// One call's audio.
struct Stream {
    call: CallId,
    caller: UdpSocket,
    agent: UdpSocket,
    caller_remote: Latch,
    agent_remote: Option<Latch>,
    /// Whether each phone wants our RTP (not while it holds us).
    caller_sending: bool,
    agent_sending: bool,
    codec: Codec,
    payload_type: u8,
    telephone_event: Option<u8>,
    mode: Mode,
    player: Player,
    /// Everything the caller hears passes through here: music and agent alike.
    out: Rewriter,
    /// The header of our own (music) packets before rewriting.
    music_header: RtpHeader,
    recorder: Option<(PathBuf, StereoRecorder<std::io::BufWriter<std::fs::File>>)>,
    /// Where the caller's voicemail goes, once the prompts before the beep are over.
    voicemail: Option<PathBuf>,
    /// The agent's keys on their way to the customer; the agent's audio waits meanwhile.
    keypad: Keypad,
    /// The header of those key packets before rewriting (their own SSRC: the caller's phone
    /// sees a switch of source, with the marker bit, each time keys start or end).
    keypad_header: RtpHeader,
    dtmf: DtmfDetector,
    digits: mpsc::UnboundedSender<(CallId, char)>,
    /// Each leg's SRTP, when it has keys.
    caller_srtp: Option<Srtp>,
    agent_srtp: Option<Srtp>,
    /// The packet being handled, decrypted when its leg is SRTP.
    plain: Vec<u8>,
    /// The third party's port, once one joined the call (kept for the next).
    party_socket: Option<UdpSocket>,
    party: Option<ThirdParty>,
    /// What each party said, for the listeners who hear two at once.
    mixer: Mixer,
    /// The samples of the packet being handled, when they go to the mixer.
    decoded: Vec<i16>,
}

/// A third party on the call: their phone, and the streams we make by mixing.
struct ThirdParty {
    remote: Latch,
    srtp: Option<Srtp>,
    mode: Mix,
    /// What they hear.
    header: RtpHeader,
    /// What the agent hears while it is mixed.
    agent_header: RtpHeader,
    /// What the caller hears on a barge, before the caller's rewriter.
    caller_header: RtpHeader,
}

impl ThirdParty {
    /// Whether `listener` hears two parties now (so gets our mix, not relayed packets).
    fn mixes_for(party: &Option<ThirdParty>, listener: Party) -> bool {
        party.as_ref().is_some_and(|p| mix::mixed(p.mode, listener))
    }
}

/// Writes the next packet of a stream we make (`header`, then advanced) with `samples` encoded.
fn mixed_packet(header: &mut RtpHeader, codec: Codec, samples: &[i16], packet: &mut Vec<u8>) {
    packet.clear();
    header.write(&[], packet);
    codec.encode_into(samples, packet);
    header.marker = false;
    header.sequence = header.sequence.wrapping_add(1);
    header.timestamp = header.timestamp.wrapping_add(FRAME as u32);
}

/// Waits for a datagram on a socket that may not be there yet (then forever).
async fn recv_on(socket: &Option<UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match socket {
        Some(socket) => socket.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

impl Stream {
    async fn run(mut self, mut orders: mpsc::UnboundedReceiver<Order>) {
        let mut from_caller = vec![0u8; 2048];
        let mut from_agent = vec![0u8; 2048];
        let mut from_party = vec![0u8; 2048];
        let mut clock = tokio::time::interval(Duration::from_millis(20));
        // Paced: after a stretch bridged (the clock not polled), music resumes at one packet per
        // 20 ms, not with a burst of every tick missed meanwhile.
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut samples = Vec::with_capacity(FRAME);
        let mut packet = Vec::with_capacity(FRAME + 12);
        loop {
            tokio::select! {
                order = orders.recv() => match order {
                    Some(Order::Command(MediaCommand::Close { .. })) | None => break,
                    Some(Order::Command(command)) => self.command(command),
                    Some(Order::PartyPort(socket)) => match UdpSocket::from_std(socket) {
                        Ok(socket) => self.party_socket = Some(socket),
                        Err(e) => tracing::warn!(call = %self.call, error = %e, "no third party's port"),
                    },
                },
                received = recv_on(&self.party_socket, &mut from_party) => {
                    if let Ok((len, source)) = received
                        && let Some(party) = &mut self.party
                    {
                        let mut plain = std::mem::take(&mut self.plain);
                        if opened(&mut party.srtp, &from_party[..len], &mut plain) {
                            self.party_packet(&plain, source);
                        }
                        self.plain = plain;
                    }
                },
                received = self.caller.recv_from(&mut from_caller) => {
                    if let Ok((len, source)) = received {
                        let mut plain = std::mem::take(&mut self.plain);
                        if opened(&mut self.caller_srtp, &from_caller[..len], &mut plain) {
                            self.caller_packet(&mut plain, source).await;
                        }
                        self.plain = plain;
                    }
                },
                received = self.agent.recv_from(&mut from_agent) => {
                    if let Ok((len, source)) = received {
                        let mut plain = std::mem::take(&mut self.plain);
                        if opened(&mut self.agent_srtp, &from_agent[..len], &mut plain) {
                            self.agent_packet(&mut plain, source).await;
                        }
                        self.plain = plain;
                    }
                },
                _ = clock.tick(), if self.keypad.busy() || self.mode != Mode::Bridged || self.player.in_prompt() || self.party.is_some() => {
                    if self.party.is_some() {
                        self.mix(&mut packet).await;
                        if self.mode == Mode::Bridged && !self.keypad.busy() && !self.player.in_prompt() {
                            continue;
                        }
                    }
                    packet.clear();
                    if self.keypad.busy() {
                        // Keys go first (music waits for them); a tick of their gap sends nothing.
                        if let Some(key) = self.keypad.tick() {
                            self.keypad_header.marker = key.marker;
                            self.keypad_header.timestamp = key.timestamp;
                            self.keypad_header.write(&key.event.to_bytes(), &mut packet);
                            self.keypad_header.sequence = self.keypad_header.sequence.wrapping_add(1);
                            if self.caller_sending && self.out.rewrite(&mut packet, Instant::now()).is_ok() {
                                send(&self.caller, self.caller_srtp.as_mut(), &mut packet, self.caller_remote.remote).await;
                            }
                        }
                        continue;
                    }
                    if self.mode == Mode::Voicemail && !self.player.in_prompt() {
                        // After the beep: the message is recorded from here, the caller hears
                        // silence (still sent, so their phone and NAT keep the stream).
                        if let Some(path) = self.voicemail.take() {
                            self.record_to(path);
                        }
                        samples.clear();
                        samples.resize(FRAME, 0);
                    } else {
                        self.player.frame(&mut samples);
                    }
                    self.music_header.write(&[], &mut packet);
                    self.codec.encode_into(&samples, &mut packet);
                    self.music_header.sequence = self.music_header.sequence.wrapping_add(1);
                    self.music_header.timestamp = self.music_header.timestamp.wrapping_add(FRAME as u32);
                    if self.caller_sending && self.out.rewrite(&mut packet, Instant::now()).is_ok() {
                        send(&self.caller, self.caller_srtp.as_mut(), &mut packet, self.caller_remote.remote).await;
                    }
                },
            }
        }
        self.finish_recording();
    }

    fn command(&mut self, command: MediaCommand) {
        match command {
            MediaCommand::Play { prompts, .. } => self.player.play(prompts),
            MediaCommand::Bridge {
                remote,
                peer,
                record,
                srtp,
                ..
            } => {
                self.agent_remote = Some(Latch::new(remote, peer, Instant::now()));
                self.agent_srtp = srtp.map(Srtp::new);
                self.agent_sending = true;
                self.mode = Mode::Bridged;
                // An agent whose phone answers at once does not cut the greeting short: it
                // finishes, then the two are connected.
                self.player.finish_current();
                // A call bridged again (after a transfer) goes on in the same recording: the
                // caller's side never stopped, the new agent's phone is placed by its arrival.
                if let Some(path) = record
                    && self
                        .recorder
                        .as_ref()
                        .is_none_or(|(recording, _)| *recording != path)
                {
                    self.record_to(path);
                }
            }
            MediaCommand::Voicemail { record, .. } if self.mode == Mode::Music => {
                self.mode = Mode::Voicemail;
                self.player.play(vec!["closed", "beep"]);
                self.voicemail = Some(record);
            }
            MediaCommand::Unbridge { .. } => {
                // The recording goes on (the caller waiting, then the next agent) until Close.
                self.mode = Mode::Music;
                self.agent_remote = None;
                self.agent_srtp = None;
            }
            MediaCommand::Hold { on, .. } if matches!(self.mode, Mode::Bridged | Mode::Hold) => {
                self.mode = if on { Mode::Hold } else { Mode::Bridged };
            }
            MediaCommand::Update {
                leg,
                remote,
                sending,
                srtp,
                ..
            } => {
                let now = Instant::now();
                match leg {
                    Leg::Caller => {
                        self.caller_remote = Latch::new(remote, self.caller_remote.peer, now);
                        self.caller_sending = sending;
                        self.caller_srtp = Srtp::rekeyed(self.caller_srtp.take(), srtp);
                    }
                    Leg::Agent => {
                        if let Some(latch) = &mut self.agent_remote {
                            *latch = Latch::new(remote, latch.peer, now);
                        }
                        self.agent_sending = sending;
                        self.agent_srtp = Srtp::rekeyed(self.agent_srtp.take(), srtp);
                    }
                }
            }
            MediaCommand::Keys {
                events, payload_type, ..
            } => {
                self.keypad_header.payload_type = payload_type;
                self.keypad.press(events);
            }
            MediaCommand::Join {
                remote,
                peer,
                srtp,
                mode,
                ..
            } if self.party_socket.is_some() => {
                self.mixer.clear();
                self.party = Some(ThirdParty {
                    remote: Latch::new(remote, peer, Instant::now()),
                    srtp: srtp.map(Srtp::new),
                    mode,
                    header: RtpHeader::new(self.payload_type, rand::random(), rand::random(), rand::random()),
                    agent_header: RtpHeader::new(
                        self.payload_type,
                        rand::random(),
                        rand::random(),
                        rand::random(),
                    ),
                    caller_header: RtpHeader::new(
                        self.payload_type,
                        rand::random(),
                        rand::random(),
                        rand::random(),
                    ),
                });
            }
            MediaCommand::Mix { mode, .. } => {
                if let Some(party) = &mut self.party {
                    party.mode = mode;
                }
            }
            MediaCommand::Leave { .. } => {
                self.party = None;
                self.mixer.clear();
            }
            MediaCommand::Promote { .. } => {
                // The colleague's port and phone become the agent's; the agent's port is kept
                // for the next third party.
                let (Some(party), Some(socket)) = (self.party.take(), self.party_socket.as_mut()) else {
                    return;
                };
                std::mem::swap(&mut self.agent, socket);
                self.agent_remote = Some(party.remote);
                self.agent_srtp = party.srtp;
                self.agent_sending = true;
                self.mode = Mode::Bridged;
                self.mixer.clear();
            }
            MediaCommand::Hold { .. }
            | MediaCommand::Voicemail { .. }
            | MediaCommand::Join { .. }
            | MediaCommand::Start { .. }
            | MediaCommand::Close { .. } => {}
        }
    }

    /// The next 20 ms for whoever hears other than the caller and the agent hear of each other:
    /// the third party always, the agent while a supervisor whispers or barges or a colleague
    /// consults or confers, the caller on a barge or a conference (recorded as what they heard).
    /// On hold the caller hears music and the agent only a colleague they consult.
    async fn mix(&mut self, packet: &mut Vec<u8>) {
        let frames = self.mixer.take();
        let Some(party) = &mut self.party else {
            return;
        };
        let mode = party.mode;
        let mut heard = [0i16; FRAME];
        mix::heard(&frames, mode, Party::Third, &mut heard);
        mixed_packet(&mut party.header, self.codec, &heard, packet);
        if let Some(socket) = &self.party_socket {
            send(socket, party.srtp.as_mut(), packet, party.remote.remote).await;
        }
        let bridged = self.mode == Mode::Bridged;
        if !bridged && mode != Mix::Consult {
            return;
        }
        if mix::mixed(mode, Party::Agent)
            && self.agent_sending
            && let Some(agent) = self.agent_remote
        {
            mix::heard(&frames, mode, Party::Agent, &mut heard);
            mixed_packet(&mut party.agent_header, self.codec, &heard, packet);
            send(&self.agent, self.agent_srtp.as_mut(), packet, agent.remote).await;
        }
        if bridged && mix::mixed(mode, Party::Caller) {
            mix::heard(&frames, mode, Party::Caller, &mut heard);
            let header = &mut party.caller_header;
            let now = Instant::now();
            if let Some((_, recorder)) = &mut self.recorder {
                let _ = recorder.push(Leg::Agent, header.ssrc, header.timestamp, &heard, now);
            }
            mixed_packet(header, self.codec, &heard, packet);
            if self.caller_sending && !self.player.in_prompt() && !self.keypad.busy() {
                self.send_to_caller(packet, now).await;
            }
        }
    }

    /// Sends a packet to the caller through their rewriter: whatever it comes from, their phone
    /// hears one stream.
    async fn send_to_caller(&mut self, packet: &mut Vec<u8>, now: Instant) {
        if self.out.rewrite(packet, now).is_ok() {
            send(
                &self.caller,
                self.caller_srtp.as_mut(),
                packet,
                self.caller_remote.remote,
            )
            .await;
        }
    }

    /// Audio from a leg, for the mixer, when a third party is on the call.
    fn mix_in(&mut self, from: Party, payload: &[u8]) {
        if self.party.is_some() {
            self.decoded.clear();
            self.codec.decode_into(payload, &mut self.decoded);
            self.mixer.push(from, &self.decoded);
        }
    }

    fn party_packet(&mut self, packet: &[u8], source: SocketAddr) {
        let Ok(parsed) = RtpPacket::parse(packet) else {
            return;
        };
        let accepted = self
            .party
            .as_mut()
            .is_some_and(|s| s.remote.accept(source, Instant::now()));
        if accepted && parsed.header.payload_type == self.payload_type {
            self.mix_in(Party::Third, parsed.payload);
        }
    }

    async fn caller_packet(&mut self, packet: &mut Vec<u8>, source: SocketAddr) {
        let Ok(parsed) = RtpPacket::parse(packet) else {
            return;
        };
        if !self.caller_remote.accept(source, Instant::now()) {
            return;
        }
        let header = parsed.header;
        if Some(header.payload_type) == self.telephone_event {
            if let Ok(digits) = self.dtmf.push(header.timestamp, parsed.payload) {
                for digit in digits {
                    let _ = self.digits.send((self.call, digit.key));
                }
            }
        } else if header.payload_type == self.payload_type {
            if let Some((_, recorder)) = &mut self.recorder {
                let _ = recorder.push_g711(
                    Leg::Caller,
                    self.codec,
                    header.ssrc,
                    header.timestamp,
                    parsed.payload,
                    Instant::now(),
                );
            }
            self.mix_in(Party::Caller, parsed.payload);
        }
        if self.mode == Mode::Bridged
            && self.agent_sending
            && !ThirdParty::mixes_for(&self.party, Party::Agent)
            && let Some(agent) = self.agent_remote
        {
            send(&self.agent, self.agent_srtp.as_mut(), packet, agent.remote).await;
        }
    }

    async fn agent_packet(&mut self, packet: &mut Vec<u8>, source: SocketAddr) {
        if self.mode == Mode::Music {
            return;
        }
        let Ok(parsed) = RtpPacket::parse(packet) else {
            return;
        };
        let now = Instant::now();
        if !self.agent_remote.as_mut().is_some_and(|l| l.accept(source, now)) {
            return;
        }
        let header = parsed.header;
        // On a barge the right channel is the mix the caller hears (see `mix`).
        let barged = ThirdParty::mixes_for(&self.party, Party::Caller);
        if header.payload_type == self.payload_type {
            if !barged && let Some((_, recorder)) = &mut self.recorder {
                let _ = recorder.push_g711(
                    Leg::Agent,
                    self.codec,
                    header.ssrc,
                    header.timestamp,
                    parsed.payload,
                    Instant::now(),
                );
            }
            self.mix_in(Party::Agent, parsed.payload);
        }
        let relay = self.mode == Mode::Bridged
            && !barged
            && self.caller_sending
            && !self.player.in_prompt()
            && !self.keypad.busy();
        if relay {
            self.send_to_caller(packet, now).await;
        }
    }

    /// Records from now on to `path` (the caller left, the agent right), finishing any other.
    fn record_to(&mut self, path: PathBuf) {
        self.finish_recording();
        match StereoRecorder::create(&path, Instant::now()) {
            Ok(r) => self.recorder = Some((path, r)),
            Err(e) => tracing::warn!(call = %self.call, error = %e, "cannot record"),
        }
    }

    fn finish_recording(&mut self) {
        if let Some((path, recorder)) = self.recorder.take() {
            match recorder.finish() {
                Ok(frames) => {
                    tracing::info!(call = %self.call, path = %path.display(), frames, "recording saved")
                }
                Err(e) => tracing::warn!(call = %self.call, error = %e, "recording failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio() -> Arc<Audio> {
        let mut prompts = HashMap::new();
        prompts.insert("greeting", Arc::from(vec![1i16; 200]));
        Arc::new(Audio {
            prompts,
            music: Arc::from((0..300).map(|i| i as i16).collect::<Vec<_>>()),
        })
    }

    #[test]
    fn prompts_then_music_in_a_loop() {
        let mut player = Player {
            audio: audio(),
            prompts: VecDeque::from(vec!["greeting"]),
            at: 0,
            music_at: 0,
        };
        let mut frame = Vec::new();
        player.frame(&mut frame);
        assert_eq!(frame, vec![1; FRAME]);
        player.frame(&mut frame);
        // 40 samples of greeting left, then the music from its start.
        assert_eq!(&frame[..40], &[1; 40]);
        assert_eq!(&frame[40..], &(0..120).collect::<Vec<i16>>()[..]);
        player.frame(&mut frame);
        player.frame(&mut frame);
        // 120 + 160 = 280, then 20 to the end of the music and the loop starts again.
        assert_eq!(frame[19], 299);
        assert_eq!(frame[20], 0);
        // An unknown prompt is skipped, an empty list cuts the current one short.
        player.play(vec!["nope", "greeting"]);
        player.frame(&mut frame);
        assert_eq!(frame, vec![1; FRAME]);
        player.play(vec![]);
        player.frame(&mut frame);
        assert_ne!(frame, vec![1; FRAME]);
    }

    /// Strict source with one early latch (what the call's RTP may come from), as a table of
    /// packets in arrival order: (what, source, ms after the media was negotiated, taken).
    #[test]
    fn rtp_is_taken_only_from_the_phone() {
        let t0 = Instant::now();
        let rows: [(&str, &str, u64, bool); 7] = [
            (
                "a stranger first, before the phone",
                "203.0.113.66:4000",
                10,
                false,
            ),
            (
                "the phone's host, from its NAT port",
                "198.51.100.7:61000",
                20,
                true,
            ),
            ("the phone again", "198.51.100.7:61000", 40, true),
            (
                "the SDP address, now latched elsewhere",
                "198.51.100.7:30000",
                60,
                false,
            ),
            ("the phone's host, another port", "198.51.100.7:61002", 80, false),
            ("a stranger later", "203.0.113.66:4000", 100, false),
            ("the phone much later", "198.51.100.7:61000", 60_000, true),
        ];
        let mut latch = Latch::new(
            "198.51.100.7:30000".parse().unwrap(),
            "198.51.100.7".parse().unwrap(),
            t0,
        );
        for (what, source, ms, taken) in rows {
            let got = latch.accept(source.parse().unwrap(), t0 + Duration::from_millis(ms));
            assert_eq!(got, taken, "{what}");
        }
        // Packets from the SDP address settle it: no latch afterwards, even early.
        let mut latch = Latch::new(
            "198.51.100.7:30000".parse().unwrap(),
            "198.51.100.7".parse().unwrap(),
            t0,
        );
        assert!(latch.accept("198.51.100.7:30000".parse().unwrap(), t0));
        assert!(!latch.accept("198.51.100.7:61000".parse().unwrap(), t0));
        // Nothing latches after the window.
        let mut latch = Latch::new(
            "198.51.100.7:30000".parse().unwrap(),
            "198.51.100.7".parse().unwrap(),
            t0,
        );
        assert!(!latch.accept("198.51.100.7:61000".parse().unwrap(), t0 + LATCH_WINDOW));
    }

    /// A call's media on loopback: the hub's two ports, a caller's phone and an agent's phone.
    struct Loopback {
        media: Arc<Media>,
        ports: (u16, u16),
        caller: UdpSocket,
        agent: UdpSocket,
    }

    const CALL: CallId = CallId(1);

    async fn loopback(prompts: Vec<Prompt>) -> Loopback {
        let (digits, _) = mpsc::unbounded_channel();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let media = Media::new(ip, Audio::builtin(), digits);
        let ports = PortOpener(media.clone()).open(CALL).unwrap();
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let agent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        media.execute(MediaCommand::Start {
            call: CALL,
            remote: caller.local_addr().unwrap(),
            peer: ip,
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: None,
            prompts,
            srtp: None,
        });
        Loopback {
            media,
            ports,
            caller,
            agent,
        }
    }

    impl Loopback {
        fn bridge(&self) {
            self.bridge_recorded(None);
        }

        fn bridge_recorded(&self, record: Option<PathBuf>) {
            self.media.execute(MediaCommand::Bridge {
                call: CALL,
                remote: self.agent.local_addr().unwrap(),
                peer: "127.0.0.1".parse().unwrap(),
                record,
                srtp: None,
            });
        }

        /// The agent's phone talks for `packets` × 20 ms: a loud square wave.
        async fn agent_talks(&self, packets: u16) {
            let hub = SocketAddr::new("127.0.0.1".parse().unwrap(), self.ports.1);
            let ssrc = rand::random();
            for sequence in 0..packets {
                let mut packet = Vec::new();
                RtpHeader::new(0, sequence, u32::from(sequence) * 160, ssrc).write(&[], &mut packet);
                packet.extend((0..160).map(|i| if i % 20 < 10 { 0x80 } else { 0x00 }));
                let _ = self.agent.send_to(&packet, hub).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        /// The payloads `socket` receives within `wait`.
        async fn heard(socket: &UdpSocket, wait: Duration) -> Vec<Vec<u8>> {
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            let until = tokio::time::Instant::now() + wait;
            while let Ok(Ok(len)) = tokio::time::timeout_at(until, socket.recv(&mut buf)).await {
                got.push(buf[12..len].to_vec());
            }
            got
        }
    }

    /// After a stretch bridged, the caller's music resumes at one packet per 20 ms: it used to
    /// come as a burst of every tick missed meanwhile (260–330 packets within 100 ms after a
    /// hold or a transfer).
    #[tokio::test]
    async fn music_after_a_bridge_is_paced_without_a_burst() {
        let call = loopback(vec![]).await;
        call.bridge();
        Loopback::heard(&call.caller, Duration::from_millis(1500)).await;
        call.media.execute(MediaCommand::Unbridge { call: CALL });
        let burst = Loopback::heard(&call.caller, Duration::from_millis(100)).await;
        assert!(burst.len() <= 7, "{} packets within 100 ms", burst.len());
        let steady = Loopback::heard(&call.caller, Duration::from_millis(400)).await;
        assert!(
            (15..=25).contains(&steady.len()),
            "{} packets in 400 ms",
            steady.len()
        );
    }

    /// An agent's phone that answers at once does not cut the greeting: the caller hears it to
    /// its end, then the agent.
    #[tokio::test]
    async fn the_greeting_is_finished_before_the_agent_is_heard() {
        let call = loopback(vec!["greeting"]).await;
        call.bridge();
        let hub_agent_port = SocketAddr::new("127.0.0.1".parse().unwrap(), call.ports.1);
        let agent = call.agent;
        let talking = tokio::spawn(async move {
            let mut sequence = 0u16;
            loop {
                let mut packet = Vec::new();
                RtpHeader::new(0, sequence, u32::from(sequence) * 160, 7).write(&[], &mut packet);
                packet.extend_from_slice(&[0x2a; 160]);
                let _ = agent.send_to(&packet, hub_agent_port).await;
                sequence = sequence.wrapping_add(1);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let agent_voice = |payload: &Vec<u8>| payload.iter().all(|b| *b == 0x2a);
        // The greeting lasts five seconds.
        let first = Loopback::heard(&call.caller, Duration::from_secs(3)).await;
        assert!(first.len() > 100, "{} packets", first.len());
        assert!(
            !first.iter().any(agent_voice),
            "the agent was heard over the greeting"
        );
        let later = Loopback::heard(&call.caller, Duration::from_secs(4)).await;
        assert!(later.iter().any(agent_voice), "the agent is never heard");
        talking.abort();
    }

    /// A transfer re-bridges the call to the next agent: the recording goes on in the same file
    /// with both agents in it (it used to start the file again and lose the first agent).
    #[tokio::test]
    async fn a_call_bridged_twice_is_one_recording_with_both_agents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("call.wav");
        let call = loopback(vec![]).await;
        call.bridge_recorded(Some(path.clone()));
        call.agent_talks(50).await;
        call.media.execute(MediaCommand::Unbridge { call: CALL });
        tokio::time::sleep(Duration::from_millis(500)).await;
        call.bridge_recorded(Some(path.clone()));
        call.agent_talks(50).await;
        call.media.execute(MediaCommand::Close { call: CALL });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let wav = hound::WavReader::open(&path).unwrap();
        let agent: Vec<i16> = wav
            .into_samples()
            .map(Result::unwrap)
            .skip(1)
            .step_by(2)
            .collect();
        // About 2.5 s: the first agent (1 s), the wait (0.5 s), the second agent (1 s).
        assert!(agent.len() > 8000 * 2, "{} samples", agent.len());
        let loud = |part: &[i16]| part.iter().filter(|s| s.abs() > 1000).count();
        let (first, second) = agent.split_at(agent.len() / 2);
        assert!(loud(first) > 4000, "the first agent is missing: {}", loud(first));
        assert!(
            loud(second) > 4000,
            "the second agent is missing: {}",
            loud(second)
        );
    }

    /// Sends a constant level from `socket` to the hub's `port` every 20 ms, as a phone would.
    fn speaks(socket: UdpSocket, port: u16, level: i16) -> tokio::task::JoinHandle<()> {
        let hub = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
        tokio::spawn(async move {
            let ssrc = rand::random();
            for sequence in 0u16.. {
                let mut packet = Vec::new();
                RtpHeader::new(0, sequence, u32::from(sequence) * 160, ssrc).write(&[], &mut packet);
                packet.extend(std::iter::repeat_n(g711::ulaw_encode(level), FRAME));
                let _ = socket.send_to(&packet, hub).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }

    /// The level most of the packets `socket` receives within 400 ms carry (0 when none came),
    /// once what waited in its buffer is gone.
    async fn level_heard(socket: &UdpSocket) -> i16 {
        let mut buf = [0u8; 2048];
        while socket.try_recv(&mut buf).is_ok() {}
        let mut levels: Vec<i16> = Loopback::heard(socket, Duration::from_millis(400))
            .await
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| g711::ulaw_decode(p[0]))
            .collect();
        levels.sort_unstable();
        levels.get(levels.len() / 2).copied().unwrap_or(0)
    }

    /// Who hears whom, by level: the caller says 1000, the agent 2000, the supervisor 4000; each
    /// hears the sum of whom [`crate::mix`] says they hear, as the supervisor monitors, whispers,
    /// barges and leaves.
    #[tokio::test]
    async fn a_supervisor_hears_both_and_is_heard_as_their_mode_says() {
        let call = loopback(vec![]).await;
        call.bridge();
        let supervisor = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = PortOpener(call.media.clone()).open_party(CALL).unwrap();
        call.media.execute(MediaCommand::Join {
            call: CALL,
            remote: supervisor.local_addr().unwrap(),
            peer: "127.0.0.1".parse().unwrap(),
            srtp: None,
            mode: Mix::Monitor,
        });
        let sockets = |s: &UdpSocket| UdpSocket::from_std(clone_socket(s)).unwrap();
        let talkers = [
            speaks(sockets(&call.caller), call.ports.0, 1000),
            speaks(sockets(&call.agent), call.ports.1, 2000),
            speaks(sockets(&supervisor), port, 4000),
        ];
        let near = |heard: i16, expected: i16| {
            (i32::from(heard) - i32::from(expected)).abs() <= expected as i32 / 10
        };
        // (mode, what the caller hears, the agent, the supervisor)
        let rows = [
            (Mix::Monitor, 2000, 1000, 3000),
            (Mix::Whisper, 2000, 5000, 3000),
            (Mix::Barge, 6000, 5000, 3000),
        ];
        for (mode, caller, agent, by_supervisor) in rows {
            call.media.execute(MediaCommand::Mix { call: CALL, mode });
            tokio::time::sleep(Duration::from_millis(200)).await;
            let heard = (
                level_heard(&call.caller).await,
                level_heard(&call.agent).await,
                level_heard(&supervisor).await,
            );
            assert!(
                near(heard.0, caller) && near(heard.1, agent) && near(heard.2, by_supervisor),
                "{mode:?}: caller, agent, supervisor heard {heard:?}, not {:?}",
                (caller, agent, by_supervisor)
            );
        }
        call.media.execute(MediaCommand::Leave { call: CALL });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            level_heard(&supervisor).await,
            0,
            "the supervisor still hears the call"
        );
        assert!(near(level_heard(&call.caller).await, 2000));
        assert!(near(level_heard(&call.agent).await, 1000));
        for talker in talkers {
            talker.abort();
        }
    }

    /// A consult and what follows, by level as above (the caller 1000, the agent 2000, the
    /// colleague 4000): held, the caller hears music while the agent and the colleague hear each
    /// other; in conference everyone hears the other two; promoted, the colleague is the agent:
    /// the caller hears them alone, and the agent's old port is nobody's.
    #[tokio::test]
    async fn a_consulted_colleague_is_heard_by_the_agent_then_by_all_then_instead_of_the_agent() {
        let call = loopback(vec![]).await;
        call.bridge();
        let colleague = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = PortOpener(call.media.clone()).open_party(CALL).unwrap();
        call.media.execute(MediaCommand::Hold { call: CALL, on: true });
        call.media.execute(MediaCommand::Join {
            call: CALL,
            remote: colleague.local_addr().unwrap(),
            peer: "127.0.0.1".parse().unwrap(),
            srtp: None,
            mode: Mix::Consult,
        });
        let sockets = |s: &UdpSocket| UdpSocket::from_std(clone_socket(s)).unwrap();
        let talkers = [
            speaks(sockets(&call.caller), call.ports.0, 1000),
            speaks(sockets(&call.agent), call.ports.1, 2000),
            speaks(sockets(&colleague), port, 4000),
        ];
        let near = |heard: i16, expected: i16| {
            (i32::from(heard) - i32::from(expected)).abs() <= expected as i32 / 10
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (agent, by_colleague) = (level_heard(&call.agent).await, level_heard(&colleague).await);
        assert!(
            near(agent, 4000) && near(by_colleague, 2000),
            "consult: {agent}, {by_colleague}"
        );

        call.media.execute(MediaCommand::Mix {
            call: CALL,
            mode: Mix::Conference,
        });
        call.media.execute(MediaCommand::Hold {
            call: CALL,
            on: false,
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let heard = (
            level_heard(&call.caller).await,
            level_heard(&call.agent).await,
            level_heard(&colleague).await,
        );
        assert!(
            near(heard.0, 6000) && near(heard.1, 5000) && near(heard.2, 3000),
            "conference: {heard:?}"
        );

        call.media.execute(MediaCommand::Promote { call: CALL });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let heard = (level_heard(&call.caller).await, level_heard(&colleague).await);
        assert!(near(heard.0, 4000) && near(heard.1, 1000), "promoted: {heard:?}");
        assert_eq!(
            level_heard(&call.agent).await,
            0,
            "the agent still hears the call"
        );
        for talker in talkers {
            talker.abort();
        }
    }

    /// A second handle on a test's socket, so one task talks on it while the test listens.
    fn clone_socket(socket: &UdpSocket) -> std::net::UdpSocket {
        use std::os::fd::AsFd;
        std::net::UdpSocket::from(socket.as_fd().try_clone_to_owned().unwrap())
    }

    #[test]
    fn builtin_prompts_are_all_there() {
        let audio = Audio::builtin();
        for name in PROMPTS {
            assert!(audio.prompts[name].len() > 2000, "{name}");
        }
        assert_eq!(audio.music.len(), 12 * 8000);
    }
}
