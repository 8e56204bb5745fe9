//! ITU-T G.711 sample codecs. The B2BUA relays RTP without decoding; it decodes only where it needs
//! samples (recording both legs to WAV, detecting silence) and encodes only what it generates
//! itself (greetings and hold music read from 16-bit WAV files).
//!
//! Both laws are computed, not looked up from a copied table: µ-law with the 0x84 bias and the
//! 32635 clip of G.711 §2, A-law on the 13-bit magnitude with its two linear first segments.

/// The two G.711 laws, with their static RTP payload types (RFC 3551 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law, used in North America and Japan.
    Pcmu,
    /// A-law, used nearly everywhere else.
    Pcma,
}

impl Codec {
    /// The static payload type: PCMU is 0 and PCMA is 8 (RFC 3551 table 4).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The encoding name as written in an SDP `a=rtpmap` line.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    pub fn decode(self, byte: u8) -> i16 {
        match self {
            Codec::Pcmu => ulaw_decode(byte),
            Codec::Pcma => alaw_decode(byte),
        }
    }

    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_encode(sample),
            Codec::Pcma => alaw_encode(sample),
        }
    }

    /// Decodes a whole RTP payload, appending one sample per byte to `out`.
    pub fn decode_into(self, payload: &[u8], out: &mut Vec<i16>) {
        out.extend(payload.iter().map(|&b| self.decode(b)));
    }

    /// Encodes samples, appending one byte per sample to `out`.
    pub fn encode_into(self, samples: &[i16], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&s| self.encode(s)));
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// Encodes one linear sample to µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut x = i32::from(sample);
    let sign = if x < 0 {
        x = -x;
        0x80
    } else {
        0x00
    };
    x = x.min(ULAW_CLIP) + ULAW_BIAS;
    // x is now in 132..=32767: its highest set bit is bit 7 + exponent.
    let exponent = (31 - (x as u32).leading_zeros()) as i32 - 7;
    let mantissa = (x >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// Decodes one µ-law byte to a linear sample.
pub fn ulaw_decode(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encodes one linear sample to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    // A-law works on 13 bits; the sign is carried by the even-bit inversion mask.
    let mut x = i32::from(sample) >> 3;
    let mask = if x >= 0 {
        0xD5
    } else {
        x = -x - 1;
        0x55
    };
    // Segment 0 covers 0..32 and each next segment doubles: segment s ends at (32 << s) - 1.
    let segment = (0..8).find(|&s| x < (32 << s)).unwrap_or(8);
    let code = if segment >= 8 {
        0x7F
    } else if segment < 2 {
        (segment << 4) | ((x >> 1) & 0x0F)
    } else {
        (segment << 4) | ((x >> segment) & 0x0F)
    };
    (code as u8) ^ mask
}

/// Decodes one A-law byte to a linear sample.
pub fn alaw_decode(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mantissa = i32::from(a & 0x0F) << 4;
    let segment = (a >> 4) & 0x07;
    let magnitude = match segment {
        0 => mantissa + 8,
        1 => mantissa + 0x108,
        s => (mantissa + 0x108) << (s - 1),
    };
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // (law, linear in, byte out) from DEPENDENCIES.md and the G.711 tables.
        let encode_cases: &[(Codec, i16, u8)] = &[
            (Codec::Pcmu, 0, 0xFF),
            (Codec::Pcmu, 32767, 0x80),
            (Codec::Pcmu, -32768, 0x00),
            (Codec::Pcmu, -1, 0x7F),
            (Codec::Pcma, 0, 0xD5),
            (Codec::Pcma, -1, 0x55),
            (Codec::Pcma, 32767, 0xAA),
            (Codec::Pcma, -32768, 0x2A),
        ];
        for &(codec, linear, byte) in encode_cases {
            assert_eq!(codec.encode(linear), byte, "{codec:?} encode {linear}");
        }
        let decode_cases: &[(Codec, u8, i16)] = &[
            (Codec::Pcmu, 0xFF, 0),
            (Codec::Pcmu, 0x7F, 0),
            (Codec::Pcmu, 0x00, -32124),
            (Codec::Pcmu, 0x80, 32124),
            (Codec::Pcmu, 0xFE, 8),
            (Codec::Pcmu, 0x7E, -8),
            (Codec::Pcma, 0xD5, 8),
            (Codec::Pcma, 0x55, -8),
            (Codec::Pcma, 0xAA, 32256),
            (Codec::Pcma, 0x2A, -32256),
        ];
        for &(codec, byte, linear) in decode_cases {
            assert_eq!(codec.decode(byte), linear, "{codec:?} decode {byte:#04x}");
        }
    }

    #[test]
    fn every_byte_survives_decode_then_encode() {
        for b in 0..=255u8 {
            // µ-law has two zeros (0x7F is "-0"); both decode to 0, which encodes as 0xFF.
            let expected_ulaw = if b == 0x7F { 0xFF } else { b };
            assert_eq!(ulaw_encode(ulaw_decode(b)), expected_ulaw, "µ-law {b:#04x}");
            assert_eq!(alaw_encode(alaw_decode(b)), b, "A-law {b:#04x}");
        }
    }

    #[test]
    fn decoding_is_monotonic_in_magnitude() {
        // Within each sign, a larger code magnitude means a larger sample: catches swapped
        // exponent/mantissa bits that the round trip alone would not.
        let ulaw_pos: Vec<i16> = (0x80..=0xFFu8).rev().map(ulaw_decode).collect();
        assert!(ulaw_pos.windows(2).all(|w| w[0] < w[1]), "{ulaw_pos:?}");
        let alaw_pos: Vec<i16> = (0..128u8).map(|m| alaw_decode((m | 0x80) ^ 0x55)).collect();
        assert!(alaw_pos.windows(2).all(|w| w[0] < w[1]), "{alaw_pos:?}");
    }

    /// Half the width of the quantisation interval that `byte` stands for, in 16-bit units.
    fn ulaw_half_step(byte: u8) -> i32 {
        4 << ((!byte >> 4) & 0x07)
    }

    fn alaw_half_step(byte: u8) -> i32 {
        let segment = ((byte ^ 0x55) >> 4) & 0x07;
        if segment < 2 { 8 } else { 4 << segment }
    }

    #[test]
    fn every_sample_round_trips_within_half_a_step() {
        // All 65,536 inputs: cheap enough to check exhaustively rather than by sampling.
        for x in i16::MIN..=i16::MAX {
            let byte = ulaw_encode(x);
            let clipped = i32::from(x).clamp(-ULAW_CLIP, ULAW_CLIP);
            let err = (i32::from(ulaw_decode(byte)) - clipped).abs();
            assert!(
                err <= ulaw_half_step(byte),
                "µ-law x={x} byte={byte:#04x} err={err}"
            );

            let byte = alaw_encode(x);
            let err = (i32::from(alaw_decode(byte)) - i32::from(x)).abs();
            assert!(
                err <= alaw_half_step(byte),
                "A-law x={x} byte={byte:#04x} err={err}"
            );
        }
    }

    #[test]
    fn slices_encode_and_decode_per_byte() {
        let mut out = Vec::new();
        Codec::Pcma.encode_into(&[0, -1, 32767], &mut out);
        assert_eq!(out, [0xD5, 0x55, 0xAA]);
        let mut samples = Vec::new();
        Codec::Pcmu.decode_into(&[0x00, 0xFF, 0x80], &mut samples);
        assert_eq!(samples, [-32124, 0, 32124]);
    }
}
