//! SRTP (RFC 3711) for the legs whose phone keyed its media by SDES (RFC 4568) over TLS: the one
//! suite phones all offer, AES_CM_128_HMAC_SHA1_80 (AES-128 in counter mode, HMAC-SHA1 cut to 80
//! bits), no MKI, key derivation rate 0. Pure: a packet in, a packet out; the media relay
//! ([`crate::media`]) decrypts what a phone sends before it records or relays it, and encrypts
//! what it sends to the phone. Only RTP is protected here: we send no RTCP and read none.

use aes::Aes128;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::rtp;

/// The crypto suite's name in `a=crypto` (RFC 4568 §6.2.1).
pub const SUITE: &str = "AES_CM_128_HMAC_SHA1_80";

const KEY_LEN: usize = 16;
const SALT_LEN: usize = 14;
const AUTH_KEY_LEN: usize = 20;
/// The authentication tag: HMAC-SHA1 cut to 80 bits (RFC 3711 §5.2).
const TAG_LEN: usize = 10;
/// How far behind the newest packet a late one is still taken (RFC 3711 §3.3.2 asks for 64 at
/// least).
const REPLAY_WINDOW: u64 = 64;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SrtpError {
    #[error("the key is not {SUITE}'s 30 bytes of base64")]
    BadKey,
    #[error("not an RTP packet: {0}")]
    NotRtp(#[from] rtp::RtpError),
    #[error("the authentication tag is wrong")]
    Forged,
    #[error("a packet seen already (a replay)")]
    Replayed,
}

/// A master key and salt (RFC 3711 §3.2.1), as one `inline:` key of `a=crypto` carries them.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    key: [u8; KEY_LEN],
    salt: [u8; SALT_LEN],
}

impl std::fmt::Debug for MasterKey {
    /// Keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// From 30 bytes: the key, then the salt (RFC 4568 §6.1's `key||salt`).
    pub fn new(bytes: [u8; KEY_LEN + SALT_LEN]) -> Self {
        let (key, salt) = bytes.split_at(KEY_LEN);
        MasterKey {
            key: key.try_into().expect("16 bytes"),
            salt: salt.try_into().expect("14 bytes"),
        }
    }

    /// Reads the key-info of an `inline:` key parameter (RFC 4568 §6.1): base64 of key||salt,
    /// optionally followed by `|lifetime` and `|MKI:length`. A lifetime is accepted (we never send
    /// 2^31 packets on one call); an MKI is not, since we would have to put it in every packet.
    pub fn from_inline(key_info: &str) -> Result<Self, SrtpError> {
        let mut parts = key_info.split('|');
        let base64 = parts.next().unwrap_or("");
        if parts.any(|p| p.contains(':')) {
            return Err(SrtpError::BadKey);
        }
        let bytes = STANDARD.decode(base64).map_err(|_| SrtpError::BadKey)?;
        let bytes: [u8; KEY_LEN + SALT_LEN] = bytes.try_into().map_err(|_| SrtpError::BadKey)?;
        Ok(MasterKey::new(bytes))
    }

    /// The key-info for our `a=crypto` line.
    pub fn to_inline(&self) -> String {
        let mut bytes = self.key.to_vec();
        bytes.extend_from_slice(&self.salt);
        STANDARD.encode(bytes)
    }
}

/// The session keys one master key gives (RFC 3711 §4.3), with the cipher keyed once.
#[derive(Clone)]
struct SessionKeys {
    cipher: Aes128,
    salt: [u8; SALT_LEN],
    /// HMAC-SHA1 keyed with the session authentication key; cloned for each packet.
    auth: Hmac<Sha1>,
}

/// The labels of RFC 3711 §4.3.2 for SRTP's three session keys.
const LABEL_CIPHER: u8 = 0;
const LABEL_AUTH: u8 = 1;
const LABEL_SALT: u8 = 2;

/// RFC 3711 §4.3.1 with a key derivation rate of 0: the AES-CM keystream of the master key, from
/// the IV (master salt XOR label at byte 7) · 2^16.
fn derive(master: &MasterKey, label: u8, out: &mut [u8]) {
    let cipher = Aes128::new(&Array::from(master.key));
    let mut iv = [0u8; 16];
    iv[..SALT_LEN].copy_from_slice(&master.salt);
    iv[7] ^= label;
    out.fill(0);
    keystream_xor(&cipher, iv, out);
}

/// XORs `data` with the AES-CM keystream from the counter block `iv` (RFC 3711 §4.1.1): block
/// `n` is AES(iv + n), the counter in the last 16 bits.
fn keystream_xor(cipher: &Aes128, iv: [u8; 16], data: &mut [u8]) {
    for (n, chunk) in data.chunks_mut(16).enumerate() {
        let mut block = Array::from(iv);
        let counter = u16::from_be_bytes([iv[14], iv[15]]).wrapping_add(n as u16);
        block[14..].copy_from_slice(&counter.to_be_bytes());
        cipher.encrypt_block(&mut block);
        for (byte, key) in chunk.iter_mut().zip(block.iter()) {
            *byte ^= key;
        }
    }
}

impl SessionKeys {
    fn new(master: &MasterKey) -> Self {
        let mut key = [0u8; KEY_LEN];
        let mut auth = [0u8; AUTH_KEY_LEN];
        let mut salt = [0u8; SALT_LEN];
        derive(master, LABEL_CIPHER, &mut key);
        derive(master, LABEL_AUTH, &mut auth);
        derive(master, LABEL_SALT, &mut salt);
        SessionKeys {
            cipher: Aes128::new(&Array::from(key)),
            salt,
            auth: <Hmac<Sha1> as hmac::KeyInit>::new_from_slice(&auth).expect("HMAC takes any key length"),
        }
    }

    /// Encrypts or decrypts (the same XOR) a payload of packet `index` from `ssrc` (§4.1.1: the
    /// IV is salt·2^16 XOR SSRC·2^64 XOR index·2^16).
    fn crypt(&self, ssrc: u32, index: u64, payload: &mut [u8]) {
        let mut iv = [0u8; 16];
        iv[..SALT_LEN].copy_from_slice(&self.salt);
        for (i, b) in ssrc.to_be_bytes().iter().enumerate() {
            iv[4 + i] ^= b;
        }
        for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
            iv[8 + i] ^= b;
        }
        keystream_xor(&self.cipher, iv, payload);
    }

    /// §4.2: HMAC over the authenticated portion (header and encrypted payload) and the ROC.
    fn tag(&self, authenticated: &[u8], roc: u32) -> [u8; TAG_LEN] {
        let mut mac = self.auth.clone();
        mac.update(authenticated);
        mac.update(&roc.to_be_bytes());
        let full = mac.finalize().into_bytes();
        full[..TAG_LEN].try_into().expect("SHA-1 gives 20 bytes")
    }
}

fn ssrc_and_sequence(packet: &[u8]) -> (u32, u16) {
    (
        u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        u16::from_be_bytes([packet[2], packet[3]]),
    )
}

/// Our sending side of one leg: the packets we send it, encrypted and tagged.
#[derive(Clone)]
pub struct Sender {
    keys: SessionKeys,
    /// The stream last sent: its SSRC, rollover counter and highest sequence number (§3.3.1: the
    /// sender counts the wraps of the 16-bit sequence number).
    stream: Option<(u32, u32, u16)>,
}

impl Sender {
    pub fn new(master: &MasterKey) -> Self {
        Sender {
            keys: SessionKeys::new(master),
            stream: None,
        }
    }

    /// Turns the RTP packet in `packet` into SRTP in place (§3.3): the payload encrypted, the
    /// tag appended.
    pub fn protect(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let header_len = rtp::header_len(packet)?;
        let (ssrc, sequence) = ssrc_and_sequence(packet);
        let roc = match self.stream {
            Some((s, roc, last)) if s == ssrc => {
                // A sequence number well below the last one wrapped (a late packet, within
                // half the space, did not).
                let wrapped = sequence < last && last - sequence > 0x8000;
                let roc = if wrapped { roc.wrapping_add(1) } else { roc };
                if wrapped || sequence > last {
                    self.stream = Some((ssrc, roc, sequence));
                }
                roc
            }
            _ => {
                self.stream = Some((ssrc, 0, sequence));
                0
            }
        };
        let index = (u64::from(roc) << 16) | u64::from(sequence);
        self.keys.crypt(ssrc, index, &mut packet[header_len..]);
        let tag = self.keys.tag(packet, roc);
        packet.extend_from_slice(&tag);
        Ok(())
    }
}

/// What a receiver knows of the stream it takes (§3.3.1): its SSRC, the rollover counter, the
/// highest sequence number, and which of the packets before it came (the replay list).
#[derive(Debug, Clone, Copy)]
struct Received {
    ssrc: u32,
    roc: u32,
    highest: u16,
    /// Bit n: the packet `n` before the highest came.
    seen: u64,
}

/// Our receiving side of one leg: the packets the phone sends, checked and decrypted.
#[derive(Clone)]
pub struct Receiver {
    keys: SessionKeys,
    stream: Option<Received>,
}

impl Receiver {
    pub fn new(master: &MasterKey) -> Self {
        Receiver {
            keys: SessionKeys::new(master),
            stream: None,
        }
    }

    /// Checks and decrypts the SRTP packet in `packet` in place, leaving the RTP packet (§3.3).
    /// A packet with a wrong tag or seen before is refused and changes nothing. A new SSRC
    /// (the phone restarted its stream) starts a new stream once a packet of it is authentic.
    pub fn unprotect(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        if packet.len() < rtp::FIXED_HEADER_LEN + TAG_LEN {
            return Err(rtp::RtpError::TooShort(packet.len()).into());
        }
        let body_len = packet.len() - TAG_LEN;
        let header_len = rtp::header_len(&packet[..body_len])?;
        let (ssrc, sequence) = ssrc_and_sequence(packet);
        let known = self.stream.filter(|s| s.ssrc == ssrc);
        // §3.3.1: the ROC this packet most likely has, from the highest sequence number so far.
        let roc = match known {
            None => 0,
            Some(s) if s.highest < 0x8000 => {
                if sequence > s.highest && sequence - s.highest > 0x8000 {
                    s.roc.wrapping_sub(1)
                } else {
                    s.roc
                }
            }
            Some(s) => {
                if sequence < s.highest && s.highest - sequence > 0x8000 {
                    s.roc.wrapping_add(1)
                } else {
                    s.roc
                }
            }
        };
        let index = (u64::from(roc) << 16) | u64::from(sequence);
        if let Some(s) = known {
            let highest = (u64::from(s.roc) << 16) | u64::from(s.highest);
            if index <= highest {
                let behind = highest - index;
                if behind >= REPLAY_WINDOW || s.seen & (1 << behind) != 0 {
                    return Err(SrtpError::Replayed);
                }
            }
        }
        let expected = self.keys.tag(&packet[..body_len], roc);
        if !bool::from(expected.ct_eq(&packet[body_len..])) {
            return Err(SrtpError::Forged);
        }
        packet.truncate(body_len);
        self.keys.crypt(ssrc, index, &mut packet[header_len..]);
        self.stream = Some(match known {
            None => Received {
                ssrc,
                roc,
                highest: sequence,
                seen: 1,
            },
            Some(s) => {
                let highest = (u64::from(s.roc) << 16) | u64::from(s.highest);
                if index > highest {
                    let ahead = index - highest;
                    let seen = if ahead >= REPLAY_WINDOW {
                        0
                    } else {
                        s.seen << ahead
                    };
                    Received {
                        ssrc,
                        roc,
                        highest: sequence,
                        seen: seen | 1,
                    }
                } else {
                    Received {
                        seen: s.seen | (1 << (highest - index)),
                        ..s
                    }
                }
            }
        });
        Ok(())
    }
}

/// One leg's SRTP, both ways: the key we announced (we send with it) and the phone's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegKeys {
    pub ours: MasterKey,
    pub theirs: MasterKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn master(key: &str, salt: &str) -> MasterKey {
        let mut bytes = hex(key);
        bytes.extend(hex(salt));
        MasterKey::new(bytes.try_into().unwrap())
    }

    /// RFC 3711 Appendix B.3: the session keys of one master key.
    #[test]
    fn key_derivation_matches_rfc_3711_b3() {
        let m = master("E1F97A0D3E018BE0D64FA32C06DE4139", "0EC675AD498AFEEBB6960B3AABE6");
        let cases: [(u8, usize, &str); 3] = [
            (LABEL_CIPHER, 16, "C61E7A93744F39EE10734AFE3FF7A087"),
            (LABEL_AUTH, 20, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"),
            (LABEL_SALT, 14, "30CBBC08863D8C85D49DB34A9AE1"),
        ];
        for (label, len, expected) in cases {
            let mut out = vec![0u8; len];
            derive(&m, label, &mut out);
            assert_eq!(out, hex(expected), "label {label}");
        }
    }

    /// RFC 3711 Appendix B.2: the AES-CM keystream for SSRC 0, index 0, at the start and where
    /// the 16-bit block counter nears its end.
    #[test]
    fn cipher_matches_rfc_3711_b2() {
        let keys = SessionKeys {
            cipher: Aes128::new(&Array::from(
                <[u8; 16]>::try_from(hex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap(),
            )),
            salt: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap(),
            auth: <Hmac<Sha1> as hmac::KeyInit>::new_from_slice(&[0; 20]).unwrap(),
        };
        let mut stream = vec![0u8; 0xff02 * 16];
        keys.crypt(0, 0, &mut stream);
        let cases = [
            (0x0000, "E03EAD0935C95E80E166B16DD92B4EB4"),
            (0x0001, "D23513162B02D0F72A43A2FE4A5F97AB"),
            (0x0002, "41E95B3BB0A2E8DD477901E4FCA894C0"),
            (0xfeff, "EC8CDF7398607CB0F2D21675EA9EA1E4"),
            (0xff00, "362B7C3C6773516318A077D7FC5073AE"),
            (0xff01, "6A2CC3787889374FBEB4C81B17BA6C44"),
        ];
        for (block, expected) in cases {
            assert_eq!(
                stream[block * 16..block * 16 + 16],
                hex(expected)[..],
                "block {block:#x}"
            );
        }
    }

    fn rtp(sequence: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut packet = Vec::new();
        rtp::RtpHeader::new(0, sequence, u32::from(sequence) * 160, ssrc).write(payload, &mut packet);
        packet
    }

    fn pair() -> (Sender, Receiver) {
        let key = MasterKey::new(std::array::from_fn(|i| i as u8 * 7));
        (Sender::new(&key), Receiver::new(&key))
    }

    #[test]
    fn a_protected_packet_is_encrypted_tagged_and_read_back() {
        let (mut sender, mut receiver) = pair();
        let plain = rtp(7, 0xCAFE, &[0xAB; 160]);
        let mut packet = plain.clone();
        sender.protect(&mut packet).unwrap();
        assert_eq!(packet.len(), plain.len() + TAG_LEN);
        assert_eq!(packet[..12], plain[..12], "the header stays in clear");
        assert_ne!(packet[12..172], plain[12..], "the payload is encrypted");
        receiver.unprotect(&mut packet).unwrap();
        assert_eq!(packet, plain);
    }

    /// Forgeries, replays and reordering, one receiver fed a sequence of packets in turn.
    #[test]
    fn the_receiver_refuses_forgeries_and_replays_and_takes_reordering_and_wraps() {
        let (mut sender, mut receiver) = pair();
        let mut sent = std::collections::HashMap::new();
        for sequence in [65_530u16, 65_531, 65_532, 65_533, 65_534, 65_535, 0, 1, 2, 3] {
            let mut packet = rtp(sequence, 9, &[sequence as u8; 20]);
            sender.protect(&mut packet).unwrap();
            sent.insert(sequence, packet);
        }
        let forged = {
            let mut p = sent[&65_533].clone();
            p[20] ^= 1;
            p
        };
        let cases: [(&str, Vec<u8>, Result<(), SrtpError>); 8] = [
            ("first", sent[&65_530].clone(), Ok(())),
            ("a skip ahead", sent[&65_532].clone(), Ok(())),
            ("a late one within the window", sent[&65_531].clone(), Ok(())),
            ("the same again", sent[&65_531].clone(), Err(SrtpError::Replayed)),
            ("one bit changed", forged, Err(SrtpError::Forged)),
            ("across the wrap", sent[&1].clone(), Ok(())),
            ("a late one from before the wrap", sent[&65_535].clone(), Ok(())),
            ("after the wrap again", sent[&3].clone(), Ok(())),
        ];
        for (what, mut packet, expected) in cases {
            let sequence = u16::from_be_bytes([packet[2], packet[3]]);
            assert_eq!(receiver.unprotect(&mut packet), expected, "{what}");
            if expected.is_ok() {
                assert_eq!(packet, rtp(sequence, 9, &[sequence as u8; 20]), "{what}");
            }
        }
    }

    #[test]
    fn a_key_from_another_call_is_refused() {
        let (mut sender, _) = pair();
        let mut receiver = Receiver::new(&MasterKey::new([1; 30]));
        let mut packet = rtp(1, 1, &[0; 160]);
        sender.protect(&mut packet).unwrap();
        assert_eq!(receiver.unprotect(&mut packet), Err(SrtpError::Forged));
        let mut short = vec![0x80; 15];
        assert!(matches!(
            receiver.unprotect(&mut short),
            Err(SrtpError::NotRtp(_))
        ));
    }

    #[test]
    fn inline_keys() {
        let key = MasterKey::new(std::array::from_fn(|i| i as u8));
        let inline = key.to_inline();
        assert_eq!(inline.len(), 40);
        let cases: [(String, Result<MasterKey, SrtpError>); 5] = [
            (inline.clone(), Ok(key.clone())),
            (format!("{inline}|2^31"), Ok(key.clone())),
            (format!("{inline}|2^20|1:4"), Err(SrtpError::BadKey)),
            ("AAAA".into(), Err(SrtpError::BadKey)),
            ("not base64!".into(), Err(SrtpError::BadKey)),
        ];
        for (text, expected) in cases {
            assert_eq!(MasterKey::from_inline(&text), expected, "{text}");
        }
    }
}
