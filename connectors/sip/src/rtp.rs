//! RTP packets (RFC 3550 §5.1) as the B2BUA's media relay sees them: parse a datagram from a leg,
//! and when the caller's outgoing stream switches source (greeting → hold music → agent), rewrite
//! sequence number, timestamp and SSRC so the caller's phone sees one continuous stream instead of
//! a jump it may treat as loss or a new, unexpected source.

use std::time::{Duration, Instant};

use thiserror::Error;

/// The fixed header is 12 bytes (RFC 3550 §5.1).
pub const FIXED_HEADER_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtpError {
    #[error("packet of {0} bytes is shorter than an RTP header")]
    TooShort(usize),
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("the CSRC list or header extension runs past the end of the packet")]
    TruncatedHeader,
    #[error("padding length {padding} does not fit in {available} bytes of payload")]
    BadPadding { padding: usize, available: usize },
}

/// Where the header of the RTP packet in `buf` ends (fixed part, CSRCs, extension), without
/// reading the payload: SRTP ([`crate::srtp`]) needs it before the payload, and any padding in
/// it, is decrypted.
pub fn header_len(buf: &[u8]) -> Result<usize, RtpError> {
    if buf.len() < FIXED_HEADER_LEN {
        return Err(RtpError::TooShort(buf.len()));
    }
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(RtpError::BadVersion(version));
    }
    let mut at = FIXED_HEADER_LEN + 4 * usize::from(buf[0] & 0x0F);
    if buf[0] & 0x10 != 0 {
        let head = buf.get(at..at + 4).ok_or(RtpError::TruncatedHeader)?;
        at += 4 + 4 * usize::from(u16::from_be_bytes([head[2], head[3]]));
    }
    if at > buf.len() {
        return Err(RtpError::TruncatedHeader);
    }
    Ok(at)
}

/// The header fields the relay reads or rewrites. CSRCs and the extension are kept as they came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrcs: Vec<u32>,
}

/// An RFC 3550 §5.3.1 header extension: a profile-defined 16-bit id and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A parsed packet borrowing from the datagram it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    pub extension: Option<Extension<'a>>,
    /// The payload with any padding removed.
    pub payload: &'a [u8],
    /// Where the fixed header ends and what follows it starts; the relay patches in place.
    pub header_len: usize,
}

impl<'a> RtpPacket<'a> {
    /// Parses one datagram. Anything that is not a well-formed RTP v2 packet is an error.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < FIXED_HEADER_LEN {
            return Err(RtpError::TooShort(buf.len()));
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let padded = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = usize::from(buf[0] & 0x0F);
        let marker = buf[1] & 0x80 != 0;
        let payload_type = buf[1] & 0x7F;
        let sequence = u16::from_be_bytes([buf[2], buf[3]]);
        let timestamp = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);

        let mut at = FIXED_HEADER_LEN;
        let csrc_end = at + 4 * csrc_count;
        let csrc_bytes = buf.get(at..csrc_end).ok_or(RtpError::TruncatedHeader)?;
        let csrcs = csrc_bytes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        at = csrc_end;

        // RFC 3550 §5.3.1: 16-bit profile id, 16-bit length in 32-bit words, then the data.
        let extension = if has_extension {
            let head = buf.get(at..at + 4).ok_or(RtpError::TruncatedHeader)?;
            let profile = u16::from_be_bytes([head[0], head[1]]);
            let words = usize::from(u16::from_be_bytes([head[2], head[3]]));
            let data = buf
                .get(at + 4..at + 4 + 4 * words)
                .ok_or(RtpError::TruncatedHeader)?;
            at += 4 + 4 * words;
            Some(Extension { profile, data })
        } else {
            None
        };

        let mut payload = &buf[at..];
        // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
        if padded {
            let available = payload.len();
            let padding = payload.last().map_or(0, |&p| usize::from(p));
            if padding == 0 || padding > available {
                return Err(RtpError::BadPadding { padding, available });
            }
            payload = &payload[..available - padding];
        }

        Ok(RtpPacket {
            header: RtpHeader {
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
                csrcs,
            },
            extension,
            payload,
            header_len: at,
        })
    }
}

impl RtpHeader {
    /// A header for a stream the hub generates itself (prompts, hold music).
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32) -> Self {
        RtpHeader {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: Vec::new(),
        }
    }

    /// Appends this header and `payload` to `out` as one packet, without extension or padding.
    /// At most 15 CSRCs fit in the header; more is a programming error and they are cut.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        let csrcs = &self.csrcs[..self.csrcs.len().min(15)];
        out.push(0x80 | csrcs.len() as u8);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for csrc in csrcs {
            out.extend_from_slice(&csrc.to_be_bytes());
        }
        out.extend_from_slice(payload);
    }
}

/// Overwrites marker, sequence, timestamp and SSRC of an RTP packet in place, leaving the rest of
/// the datagram (CSRCs, extension, payload, padding) untouched, so relaying costs no copy.
fn patch(buf: &mut [u8], marker: bool, sequence: u16, timestamp: u32, ssrc: u32) {
    buf[1] = (buf[1] & 0x7F) | (u8::from(marker) << 7);
    buf[2..4].copy_from_slice(&sequence.to_be_bytes());
    buf[4..8].copy_from_slice(&timestamp.to_be_bytes());
    buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

/// The source the rewriter currently follows and how its numbers map onto the output stream.
#[derive(Debug, Clone, Copy)]
struct Mapping {
    source_ssrc: u32,
    sequence_offset: u16,
    timestamp_offset: u32,
}

/// What the rewriter last sent, to continue from when the source switches.
#[derive(Debug, Clone, Copy)]
struct Last {
    sequence: u16,
    timestamp: u32,
    at: Instant,
}

/// Gives one outgoing stream (what the caller's phone hears) one SSRC and continuous sequence
/// numbers and timestamps, whatever source feeds it. A switch is recognised by a change of the
/// source's SSRC; the output timestamp then advances by the wall-clock time since the last
/// packet sent, so the receiver's jitter buffer sees the real gap, and the marker bit is set
/// (RFC 3551 §4.1: the start of a talkspurt) so it may resynchronise playout.
#[derive(Debug, Clone)]
pub struct Rewriter {
    ssrc: u32,
    clock_rate: u32,
    first: (u16, u32),
    mapping: Option<Mapping>,
    last: Option<Last>,
}

impl Rewriter {
    /// `ssrc` is the one the caller sees for the whole call; `first_sequence` and
    /// `first_timestamp` should be random (RFC 3550 §5.1) and are chosen by the caller.
    pub fn new(ssrc: u32, clock_rate: u32, first_sequence: u16, first_timestamp: u32) -> Self {
        Rewriter {
            ssrc,
            clock_rate,
            first: (first_sequence, first_timestamp),
            mapping: None,
            last: None,
        }
    }

    /// Rewrites one packet in place. `arrival` is when the packet was received.
    pub fn rewrite(&mut self, packet: &mut [u8], arrival: Instant) -> Result<(), RtpError> {
        let header = RtpPacket::parse(packet)?.header;
        let switched = self.mapping.is_none_or(|m| m.source_ssrc != header.ssrc);
        if switched {
            let (sequence, timestamp) = match self.last {
                Some(last) => {
                    let elapsed = arrival.saturating_duration_since(last.at);
                    let advance = samples(elapsed, self.clock_rate).max(1);
                    (
                        last.sequence.wrapping_add(1),
                        last.timestamp.wrapping_add(advance),
                    )
                }
                None => self.first,
            };
            self.mapping = Some(Mapping {
                source_ssrc: header.ssrc,
                sequence_offset: sequence.wrapping_sub(header.sequence),
                timestamp_offset: timestamp.wrapping_sub(header.timestamp),
            });
        }
        let mapping = self.mapping.expect("set above");
        let sequence = header.sequence.wrapping_add(mapping.sequence_offset);
        let timestamp = header.timestamp.wrapping_add(mapping.timestamp_offset);
        patch(packet, header.marker || switched, sequence, timestamp, self.ssrc);

        // Only a packet that moves the stream forward becomes the point to continue from; a late
        // one (reordered on the network) must not pull the next switch backwards.
        if switched || self.last.is_none_or(|l| is_newer(sequence, l.sequence)) {
            self.last = Some(Last {
                sequence,
                timestamp,
                at: arrival,
            });
        }
        Ok(())
    }

    /// The SSRC the receiver sees.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }
}

/// RFC 3550 appendix A.1: sequence numbers compare modulo 2^16.
fn is_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

fn samples(elapsed: Duration, clock_rate: u32) -> u32 {
    let n = (elapsed.as_micros() * u128::from(clock_rate) + 500_000) / 1_000_000;
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        RtpHeader::new(pt, seq, ts, ssrc).write(payload, &mut out);
        out
    }

    #[test]
    fn parses_fixed_header() {
        let buf = [
            0x80, 0x88, 0x12, 0x34, 0x00, 0x00, 0x03, 0x20, 0xde, 0xad, 0xbe, 0xef, 0xd5, 0xd5,
        ];
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(
            p.header,
            RtpHeader {
                marker: true,
                payload_type: 8,
                sequence: 0x1234,
                timestamp: 800,
                ssrc: 0xdeadbeef,
                csrcs: vec![]
            }
        );
        assert_eq!(p.payload, &[0xd5, 0xd5]);
        assert_eq!(p.extension, None);
        assert_eq!(p.header_len, 12);
    }

    #[test]
    fn skips_csrcs_extension_and_padding() {
        // V=2 P=1 X=1 CC=2, PT 0, then 2 CSRCs, a one-word extension, 3 payload bytes, 3 padding.
        let mut buf = vec![0xB2, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
        buf.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        buf.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0]);
        buf.extend_from_slice(&[1, 2, 3]);
        buf.extend_from_slice(&[0, 0, 3]);
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.header.csrcs, vec![1, 2]);
        assert_eq!(
            p.extension,
            Some(Extension {
                profile: 0xBEDE,
                data: &[0x10, 0xAA, 0, 0]
            })
        );
        assert_eq!(p.payload, &[1, 2, 3]);
        assert_eq!(p.header_len, 28);
    }

    #[test]
    fn rejects_malformed_packets() {
        let cases: &[(&[u8], RtpError)] = &[
            (&[], RtpError::TooShort(0)),
            (&[0x80; 11], RtpError::TooShort(11)),
            (&[0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], RtpError::BadVersion(1)),
            // CC=1 but no CSRC follows.
            (
                &[0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                RtpError::TruncatedHeader,
            ),
            // X=1 with an extension header claiming 2 words and carrying none.
            (
                &[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                RtpError::TruncatedHeader,
            ),
            // P=1 and the padding count exceeds the payload.
            (
                &[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5],
                RtpError::BadPadding {
                    padding: 5,
                    available: 2,
                },
            ),
            // P=1 with a zero padding count.
            (
                &[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                RtpError::BadPadding {
                    padding: 0,
                    available: 1,
                },
            ),
            // P=1 and nothing after the header.
            (
                &[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                RtpError::BadPadding {
                    padding: 0,
                    available: 0,
                },
            ),
        ];
        for (buf, err) in cases {
            assert_eq!(RtpPacket::parse(buf).unwrap_err(), *err, "{buf:02x?}");
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let mut header = RtpHeader::new(101, 65535, u32::MAX, 7);
        header.marker = true;
        header.csrcs = vec![10, 20, 30];
        let mut buf = Vec::new();
        header.write(&[9, 8, 7], &mut buf);
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.header, header);
        assert_eq!(p.payload, &[9, 8, 7]);
    }

    /// Feeds (source ssrc, seq, ts, ms since start) and expects (seq, ts, marker) out.
    #[test]
    fn rewriter_keeps_one_continuous_stream_across_sources() {
        let t0 = Instant::now();
        let mut rw = Rewriter::new(0xCAFE, 8000, 1000, 50_000);
        type Row = (u32, u16, u32, u64, (u16, u32, bool));
        #[rustfmt::skip]
        let table: &[Row] = &[
            // Hold music, source 1, 20 ms frames.
            (1, 7, 0, 0, (1000, 50_000, true)),
            (1, 8, 160, 20, (1001, 50_160, false)),
            (1, 9, 320, 40, (1002, 50_320, false)),
            // Agent answers 100 ms after the last music packet: new ssrc, unrelated numbers.
            (2, 60_000, 4_000_000_000, 140, (1003, 50_320 + 800, true)),
            (2, 60_001, 4_000_000_160, 160, (1004, 50_320 + 960, false)),
            // The offsets wrap (1003 - 60000 mod 2^16); the output stays continuous.
            (2, 60_002, 4_000_000_320, 180, (1005, 50_320 + 1120, false)),
            // Reordered: an older agent packet keeps its relative numbers.
            (2, 59_999, 3_999_999_840, 181, (1002, 50_320 + 640, false)),
            // Back to music (held): continues after the newest packet, not the reordered one.
            (1, 10, 480, 200, (1006, 50_320 + 1120 + 160, true)),
        ];
        for (i, &(src, seq, ts, ms, (want_seq, want_ts, want_marker))) in table.iter().enumerate() {
            let mut buf = packet(0, seq, ts, src, &[0xFF; 160]);
            rw.rewrite(&mut buf, t0 + Duration::from_millis(ms)).unwrap();
            let p = RtpPacket::parse(&buf).unwrap();
            assert_eq!(
                (
                    p.header.sequence,
                    p.header.timestamp,
                    p.header.marker,
                    p.header.ssrc
                ),
                (want_seq, want_ts, want_marker, 0xCAFE),
                "row {i}"
            );
            assert_eq!(p.payload, &[0xFF; 160][..], "row {i}: payload untouched");
        }
    }

    #[test]
    fn rewriter_handles_wrapping_output_numbers() {
        let t0 = Instant::now();
        let mut rw = Rewriter::new(1, 8000, 65535, u32::MAX - 100);
        let mut a = packet(8, 0, 0, 5, &[0xD5]);
        rw.rewrite(&mut a, t0).unwrap();
        let mut b = packet(8, 1, 160, 5, &[0xD5]);
        rw.rewrite(&mut b, t0 + Duration::from_millis(20)).unwrap();
        let (a, b) = (
            RtpPacket::parse(&a).unwrap().header,
            RtpPacket::parse(&b).unwrap().header,
        );
        assert_eq!((a.sequence, a.timestamp), (65535, u32::MAX - 100));
        assert_eq!((b.sequence, b.timestamp), (0, 59));
    }

    #[test]
    fn rewriter_refuses_garbage_without_touching_it() {
        let mut rw = Rewriter::new(1, 8000, 0, 0);
        let mut buf = vec![0x00; 20];
        assert_eq!(rw.rewrite(&mut buf, Instant::now()), Err(RtpError::BadVersion(0)));
        assert_eq!(buf, vec![0x00; 20]);
    }

    proptest! {
        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = RtpPacket::parse(&buf) {
                prop_assert!(p.header_len + p.payload.len() <= buf.len());
            }
        }

        #[test]
        fn rewrite_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut rw = Rewriter::new(1, 8000, 0, 0);
            let mut buf = buf;
            let _ = rw.rewrite(&mut buf, Instant::now());
        }
    }
}
