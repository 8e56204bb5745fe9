//! What arrives on a call's RTP port: any datagrams (RTP, or RTCP and anything else sent to the
//! port), on a leg in clear or keyed for SRTP, read as the media task does. Each packet is
//! decrypted when the leg is keyed (RFC 3711), parsed (RFC 3550), recorded to a WAV in memory and
//! rewritten for the relay. The input is packets, each prefixed by a length byte; the first
//! byte's low bit keys the leg.
#![no_main]

use std::io::Cursor;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use plugboard_sip::g711::Codec;
use plugboard_sip::recording::{Leg, StereoRecorder};
use plugboard_sip::rtp::{self, Rewriter, RtpPacket};
use plugboard_sip::srtp::{MasterKey, Receiver};

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let mut srtp = (first & 1 != 0).then(|| Receiver::new(&MasterKey::new([7; 30])));
    let start = Instant::now();
    let mut recorder = StereoRecorder::new(Cursor::new(Vec::new()), start).unwrap();
    let mut rewriter = Rewriter::new(0x1234_5678, 8000, 1, 160);
    let mut arrival = start;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let mut packet = tail[..len].to_vec();
        rest = &tail[len..];
        arrival += Duration::from_millis(20);
        if let Some(receiver) = &mut srtp
            && receiver.unprotect(&mut packet).is_err()
        {
            continue;
        }
        let _ = rtp::header_len(&packet);
        let Ok(parsed) = RtpPacket::parse(&packet) else {
            continue;
        };
        let leg = if parsed.header.marker {
            Leg::Agent
        } else {
            Leg::Caller
        };
        let codec = if parsed.header.payload_type == 8 {
            Codec::Pcma
        } else {
            Codec::Pcmu
        };
        let header = parsed.header;
        let _ = recorder.push_g711(leg, codec, header.ssrc, header.timestamp, parsed.payload, arrival);
        let _ = rewriter.rewrite(&mut packet, arrival);
    }
    let _ = recorder.finish();
});
