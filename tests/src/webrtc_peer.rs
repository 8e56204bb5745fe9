//! A browser's side of a call's audio, for the call benchmark (`plugboard-callload --device
//! browser`): a str0m peer that offers G.711 audio over DTLS-SRTP as the console does, connects
//! to the hub's ICE-lite leg as the full ICE agent, and sends back every packet it hears (as sipp's
//! `-rtp_echo` does for a desk phone). The echo's RTP timestamp is the packet's own plus a constant
//! of this peer's: the hub keeps timestamps through a browser leg, and sipp's callers all share one
//! clock, so that constant is what tells `bench/sip/rtpstat.py` which call's echo is which when it
//! follows each packet through the hub both ways.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;

/// A peer whose offer is out, waiting for the hub's answer.
pub struct Offered {
    rtc: Rtc,
    socket: std::net::UdpSocket,
    pending: SdpPendingOffer,
    mid: Mid,
    /// The offer, as `call.media.offer` carries it (its one host candidate included).
    pub sdp: String,
}

/// A connected (or connecting) peer echoing what it hears. Dropping it ends its task.
pub struct Echo {
    /// Packets of audio heard from the hub (each sent back).
    pub heard: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Offers PCMU audio, send and receive, from a UDP socket on `ip`.
pub fn offer(ip: std::net::IpAddr) -> Result<Offered> {
    let now = Instant::now();
    let mut rtc = RtcConfig::new()
        .clear_codecs()
        .enable_pcmu(true, false)
        .build(now);
    let socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
    socket.set_nonblocking(true)?;
    let host = Candidate::host(socket.local_addr()?, "udp").context("a host candidate")?;
    rtc.add_local_candidate(host);
    let mut change = rtc.sdp_api();
    let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let (offer, pending) = change.apply().context("an offer with audio")?;
    Ok(Offered {
        sdp: offer.to_sdp_string(),
        rtc,
        socket,
        pending,
        mid,
    })
}

impl Offered {
    /// Takes the hub's answer (its candidate in it) and starts connecting and echoing.
    pub fn answered(mut self, sdp: &str) -> Result<Echo> {
        let answer = SdpAnswer::from_sdp_string(sdp).context("the hub's answer")?;
        self.rtc.sdp_api().accept_answer(self.pending, answer)?;
        let socket = UdpSocket::from_std(self.socket)?;
        let heard = Arc::new(AtomicU64::new(0));
        // Random enough to be this call's alone: the low bits of a v7 UUID are random.
        let shift = uuid::Uuid::now_v7().as_u128() as u32;
        let task = tokio::spawn(run(self.rtc, socket, self.mid, shift, heard.clone()));
        Ok(Echo { heard, task })
    }
}

/// Drives the peer: str0m's contract is to drain its output after every input until it asks
/// for time.
async fn run(mut rtc: Rtc, socket: UdpSocket, mid: Mid, shift: u32, heard: Arc<AtomicU64>) {
    let Ok(local) = socket.local_addr() else { return };
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(at)) => break at,
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Event(Event::MediaData(data))) => {
                    heard.fetch_add(1, Ordering::Relaxed);
                    let time = data.time.numer() + u64::from(shift);
                    let time = MediaTime::new(time, data.time.frequency());
                    if let Some(writer) = rtc.writer(mid) {
                        let _ = writer.write(data.pt, Instant::now(), time, data.data);
                    }
                }
                Ok(Output::Event(_)) => {}
                Err(_) => return,
            }
        };
        let input = tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => Input::Timeout(Instant::now()),
            received = socket.recv_from(&mut buf) => {
                let Ok((len, source)) = received else { continue };
                let Ok(contents) = buf[..len].try_into() else { continue };
                let receive = Receive { proto: Protocol::Udp, source, destination: local, contents };
                let _ = rtc.handle_input(Input::Receive(Instant::now(), receive));
                continue;
            }
        };
        if rtc.handle_input(input).is_err() {
            return;
        }
    }
}
