//! A browser agent's audio: the WebRTC leg between the agent's console and a call's media. The
//! console's offer comes in over the agent's websocket (the hub hands it here), our answer goes
//! back the same way, and from then on one task per leg owns two UDP sockets: one facing the
//! browser (ICE, DTLS, SRTP: str0m's sans-IO [`Rtc`] decides, the task only moves datagrams and
//! time), one facing the call's agent port in [`crate::media`], where the leg's audio is plain
//! RTP, exactly what a desk phone's leg would send. So the relay, hold music and the stereo
//! recording treat a browser like any phone.
//!
//! The hub is an ICE-lite peer (RFC 8445 §2.5): it offers its one host candidate, answers the
//! browser's connectivity checks and never checks itself. Only the call's own G.711 codec is
//! accepted, so nothing is transcoded. A leg that never connects, or whose browser stops
//! answering, is reported gone, as a phone that hung up would be.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::media::{Frequency, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::g711::Codec;
use crate::rtp::{RtpHeader, RtpPacket};

/// How long a browser has, from our answer, to connect (ICE and DTLS) before its leg is given up.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// What is wrong with what a browser sent. Nothing was changed by it.
#[derive(Debug, thiserror::Error)]
pub enum LegError {
    #[error("the offer is not valid SDP: {0}")]
    Sdp(String),
    #[error("the offer has no {0} audio: this call's audio is G.711 {0}, enable it in the browser")]
    Codec(&'static str),
    #[error("not an ICE candidate: {0}")]
    Candidate(String),
    #[error("the call's audio cannot be opened: {0}")]
    Io(#[from] io::Error),
}

/// The WebRTC configuration of a leg carrying `codec`: ICE-lite, that one codec, no video.
fn config(codec: Codec) -> RtcConfig {
    let config = RtcConfig::new().set_ice_lite(true).clear_codecs();
    match codec {
        Codec::Pcmu => config.enable_pcmu(true, false),
        Codec::Pcma => config.enable_pcma(true, false),
    }
}

/// Parses the browser's offer. Anything str0m cannot read is refused here, before any socket.
pub fn parse_offer(sdp: &str) -> Result<SdpOffer, LegError> {
    SdpOffer::from_sdp_string(sdp).map_err(|e| LegError::Sdp(e.to_string()))
}

/// Whether an answer of ours carries audio in `codec`: an `m=audio` line on a port other than 0
/// (RFC 3264 §6: a refused stream has port 0) that lists the codec's payload type.
fn answer_carries(answer: &str, codec: Codec) -> bool {
    let pt = codec.payload_type().to_string();
    answer.lines().any(|line| {
        let mut fields = line.trim_end().split(' ');
        let (Some(media), Some(port), Some(_proto)) = (fields.next(), fields.next(), fields.next()) else {
            return false;
        };
        media == "m=audio" && port != "0" && fields.any(|f| f == pt)
    })
}

/// Parses an ICE candidate line as the browser's `RTCIceCandidate.candidate` gives it (RFC 8839
/// §5.1), with or without the `a=` prefix.
pub fn parse_candidate(line: &str) -> Result<Candidate, LegError> {
    let line = line.trim();
    let line = line.strip_prefix("a=").unwrap_or(line);
    Candidate::from_sdp_string(line).map_err(|e| LegError::Candidate(e.to_string()))
}

/// Where a leg runs: the media address (its ICE host candidate, and where its RTP side binds),
/// the call's codec, and the call's agent port in the media shell.
#[derive(Debug, Clone, Copy)]
pub struct LegSettings {
    pub ip: IpAddr,
    pub codec: Codec,
    pub stream: SocketAddr,
}

/// A running leg. Dropping it ends the task and closes both sockets.
pub struct BrowserLeg {
    candidates: mpsc::UnboundedSender<Candidate>,
    /// Where the leg's plain RTP comes from, as the media shell must see it.
    rtp: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// A leg just opened: the leg, our SDP answer for the browser, and a receiver that resolves once
/// the leg is gone (never connected, or the browser stopped answering).
pub struct Opened {
    pub leg: BrowserLeg,
    pub answer: String,
    pub gone: oneshot::Receiver<()>,
}

impl BrowserLeg {
    /// Answers `offer` and starts the leg's task. Must run inside the tokio runtime.
    pub fn open(offer: &str, settings: LegSettings) -> Result<Opened, LegError> {
        let offer = parse_offer(offer)?;
        let now = Instant::now();
        let mut rtc = config(settings.codec).build(now);
        let ice = std::net::UdpSocket::bind(SocketAddr::new(settings.ip, 0))?;
        let rtp = std::net::UdpSocket::bind(SocketAddr::new(settings.ip, 0))?;
        for socket in [&ice, &rtp] {
            socket.set_nonblocking(true)?;
        }
        let host =
            Candidate::host(ice.local_addr()?, "udp").map_err(|e| LegError::Candidate(e.to_string()))?;
        rtc.add_local_candidate(host);
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| LegError::Sdp(e.to_string()))?
            .to_sdp_string();
        if !answer_carries(&answer, settings.codec) {
            return Err(LegError::Codec(settings.codec.encoding_name()));
        }
        let rtp_addr = rtp.local_addr()?;
        let (ice, rtp) = (UdpSocket::from_std(ice)?, UdpSocket::from_std(rtp)?);
        let (candidates, candidates_rx) = mpsc::unbounded_channel();
        let (gone_tx, gone) = oneshot::channel();
        let task = Task {
            rtc,
            ice,
            rtp,
            stream: settings.stream,
            pt: Pt::new_with_value(settings.codec.payload_type()),
            mid: None,
            connected: false,
            out: RtpHeader::new(settings.codec.payload_type(), rand::random(), 0, rand::random()),
            packet: Vec::with_capacity(256),
        };
        let task = tokio::spawn(async move {
            task.run(candidates_rx, now + CONNECT_WITHIN).await;
            let _ = gone_tx.send(());
        });
        Ok(Opened {
            leg: BrowserLeg {
                candidates,
                rtp: rtp_addr,
                task,
            },
            answer,
            gone,
        })
    }

    /// Where the media shell takes this leg's RTP from (and sends the caller's to).
    pub fn rtp_addr(&self) -> SocketAddr {
        self.rtp
    }

    /// A candidate the browser trickled (already parsed: see [`parse_candidate`]).
    pub fn add_candidate(&self, candidate: Candidate) {
        let _ = self.candidates.send(candidate);
    }
}

impl Drop for BrowserLeg {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Task {
    rtc: Rtc,
    ice: UdpSocket,
    rtp: UdpSocket,
    /// The call's agent port: the only source of RTP for the browser.
    stream: SocketAddr,
    pt: Pt,
    /// The audio's media line, once the offer's is known.
    mid: Option<Mid>,
    /// ICE and DTLS are up: media may flow.
    connected: bool,
    /// The header of the browser's audio as the media shell gets it.
    out: RtpHeader,
    packet: Vec<u8>,
}

impl Task {
    /// Drives the leg until the browser is gone (or never came by `connect_by`) or the leg is
    /// dropped. str0m's contract: after every input, drain its output until it asks for time.
    async fn run(mut self, mut candidates: mpsc::UnboundedReceiver<Candidate>, connect_by: Instant) {
        let mut from_browser = vec![0u8; 2048];
        let mut from_stream = vec![0u8; 2048];
        let local = match self.ice.local_addr() {
            Ok(a) => a,
            Err(_) => return,
        };
        loop {
            let deadline = match self.drain().await {
                Some(deadline) => deadline,
                None => return,
            };
            if !self.connected && Instant::now() >= connect_by {
                tracing::info!(%local, "a browser's WebRTC leg never connected");
                return;
            }
            let deadline = if self.connected {
                deadline
            } else {
                deadline.min(connect_by)
            };
            let input = tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => Input::Timeout(Instant::now()),
                received = self.ice.recv_from(&mut from_browser) => {
                    let Ok((len, source)) = received else { continue };
                    let Ok(contents) = from_browser[..len].try_into() else { continue };
                    let receive = Receive { proto: Protocol::Udp, source, destination: local, contents };
                    // A datagram str0m cannot use changes nothing.
                    let _ = self.rtc.handle_input(Input::Receive(Instant::now(), receive));
                    continue;
                },
                received = self.rtp.recv_from(&mut from_stream) => {
                    let Ok((len, source)) = received else { continue };
                    self.relay_to_browser(&from_stream[..len], source);
                    continue;
                },
                candidate = candidates.recv() => match candidate {
                    Some(candidate) => {
                        self.rtc.add_remote_candidate(candidate);
                        continue;
                    }
                    None => return,
                },
            };
            if self.rtc.handle_input(input).is_err() {
                return;
            }
        }
    }

    /// Sends what str0m has to send and handles its events; the next time it wants to be woken,
    /// or `None` when the leg is over.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => return Some(at),
                Ok(Output::Transmit(t)) => {
                    let _ = self.ice.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Event(event)) => match event {
                    Event::Connected => self.connected = true,
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        tracing::info!("a browser's WebRTC leg disconnected");
                        return None;
                    }
                    Event::MediaAdded(added) => self.mid = Some(added.mid),
                    Event::MediaData(data) if data.pt == self.pt => {
                        let time = data.time;
                        let timestamp = time.numer() * 8000 / u64::from(time.denom().max(1));
                        self.out.timestamp = timestamp as u32;
                        self.packet.clear();
                        self.out.write(&data.data, &mut self.packet);
                        self.out.sequence = self.out.sequence.wrapping_add(1);
                        let _ = self.rtp.send_to(&self.packet, self.stream).await;
                    }
                    _ => {}
                },
                Err(e) => {
                    tracing::info!(error = %e, "a browser's WebRTC leg failed");
                    return None;
                }
            }
        }
    }

    /// The caller's audio (plain RTP from the call's agent port) to the browser, as is: same
    /// codec, same timestamps. Anything from elsewhere, or before the browser connected, is
    /// dropped.
    fn relay_to_browser(&mut self, datagram: &[u8], source: SocketAddr) {
        if source != self.stream || !self.connected {
            return;
        }
        let Ok(packet) = RtpPacket::parse(datagram) else {
            return;
        };
        if packet.header.payload_type != *self.pt {
            return;
        }
        let Some(writer) = self.mid.and_then(|mid| self.rtc.writer(mid)) else {
            return;
        };
        let time = MediaTime::new(u64::from(packet.header.timestamp), Frequency::EIGHT_KHZ);
        let _ = writer.write(self.pt, Instant::now(), time, packet.payload.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chromium's offer, cut down to its audio: Opus first, then PCMU and PCMA.
    const OFFER: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=msid-semantic: WMS\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Vx9t\r\n\
a=ice-pwd:4iHDOB3nnRMk1kH3gs6x1LQu\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sendrecv\r\n\
a=msid:- 1c5b4b2d-7b3a-4a4c-9d0c-3f3f3f3f3f3f\r\n\
a=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=ssrc:1001 cname:abc\r\n";

    fn settings(codec: Codec) -> LegSettings {
        LegSettings {
            ip: "127.0.0.1".parse().unwrap(),
            codec,
            stream: "127.0.0.1:9".parse().unwrap(),
        }
    }

    /// The answer keeps only the call's codec, offers our host candidate and makes us ICE-lite.
    #[tokio::test]
    async fn a_browser_offer_is_answered_with_the_calls_codec_only() {
        for (codec, pt, other) in [(Codec::Pcmu, "0", " 8"), (Codec::Pcma, "8", " 0")] {
            let opened = BrowserLeg::open(OFFER, settings(codec)).unwrap();
            let answer = &opened.answer;
            let media = answer.lines().find(|l| l.starts_with("m=audio")).unwrap();
            assert!(media.ends_with(&format!(" {pt}")), "{media}");
            assert!(!media.contains("111") && !media.contains(other), "{media}");
            assert!(answer.contains("a=ice-lite"), "{answer}");
            let port = opened.leg.rtp_addr().port();
            assert!(answer.contains("typ host"), "{answer}");
            assert!(
                !answer.contains(&format!(" {port} typ host")),
                "the RTP side is not a candidate"
            );
        }
    }

    /// Bad input from a browser is refused with a reason, and no leg starts.
    #[tokio::test]
    async fn bad_offers_and_candidates_are_refused() {
        let no_g711 = OFFER
            .replace(" 111 0 8\r\n", " 111\r\n")
            .replace("a=rtpmap:0 PCMU/8000\r\n", "")
            .replace("a=rtpmap:8 PCMA/8000\r\n", "");
        let video_only = OFFER.replace(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
        );
        let cases: [(&str, &str); 4] = [
            ("", "not valid SDP"),
            ("hello\r\n", "not valid SDP"),
            (&no_g711, "no PCMU audio"),
            (&video_only, ""),
        ];
        for (offer, why) in cases {
            match BrowserLeg::open(offer, settings(Codec::Pcmu)) {
                Err(e) => assert!(e.to_string().contains(why), "{offer:?}: {e}"),
                Ok(_) => panic!("{offer:?} was accepted"),
            }
        }
        assert!(parse_candidate("candidate:1 1 udp 2113937151 192.0.2.7 54321 typ host").is_ok());
        assert!(parse_candidate("a=candidate:1 1 udp 2113937151 192.0.2.7 54321 typ host").is_ok());
        for bad in [
            "",
            "candidate:",
            "candidate:1 1 udp x 192.0.2.7 54321 typ host",
            "typ host",
        ] {
            assert!(
                matches!(parse_candidate(bad), Err(LegError::Candidate(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_answer_carries_a_codec_on_a_live_audio_line_only() {
        let cases = [
            ("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", Codec::Pcmu, true),
            ("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", Codec::Pcma, false),
            ("m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n", Codec::Pcmu, false),
            ("m=video 9 UDP/TLS/RTP/SAVPF 0\r\n", Codec::Pcmu, false),
            ("m=audio 9 UDP/TLS/RTP/SAVPF 111 8\r\n", Codec::Pcma, true),
            ("a=rtpmap:0 PCMU/8000\r\n", Codec::Pcmu, false),
        ];
        for (answer, codec, carries) in cases {
            assert_eq!(answer_carries(answer, codec), carries, "{answer:?} {codec:?}");
        }
    }
}
