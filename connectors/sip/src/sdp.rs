//! SDP offer/answer for the B2BUA's legs (RFC 4566 for the syntax, RFC 3264 for the model). An
//! INVITE's offer is parsed, the media line we can serve is chosen (G.711 in the offerer's order
//! of preference, plus RFC 4733 telephone-events for the IVR), and the answer text is produced for
//! our own media address. No common codec is an error that the B2BUA answers with 488. A re-INVITE
//! is parsed the same way to notice hold (RFC 3264 §8.4).
//!
//! SRTP keyed by SDES (RFC 4568): on a leg whose signalling is TLS, an `RTP/SAVP` stream with an
//! `a=crypto` line of [`srtp::SUITE`] is answered with our own key; on any other leg the keys
//! would cross the network in clear, so an offer of SRTP only is refused.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use thiserror::Error;

use crate::g711::Codec;
use crate::srtp::{self, LegKeys, MasterKey};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: &'static str },
    #[error("no audio stream offers PCMU or PCMA over RTP/AVP")]
    NoCommonCodec,
    #[error("the chosen audio stream has no connection address")]
    NoConnection,
    #[error("SRTP keys (RTP/SAVP) offered over a transport that is not TLS: they would be in clear")]
    SrtpInClear,
    #[error("no RTP/SAVP stream offers a key of AES_CM_128_HMAC_SHA1_80")]
    NoCryptoSuite,
}

/// The media direction attributes of RFC 3264 §5.1; `sendrecv` when none is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(attr: &str) -> Option<Self> {
        match attr {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction to answer with, seen from our side (RFC 3264 §6.1).
    pub fn reversed(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// `a=rtpmap:<pt> <name>/<rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
}

/// One `m=` section with what we read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: String,
    pub port: u16,
    pub protocol: String,
    /// The formats in the offerer's order of preference, as text (they are payload types for RTP).
    pub formats: Vec<String>,
    pub connection: Option<IpAddr>,
    pub rtpmaps: Vec<RtpMap>,
    pub fmtps: Vec<(u8, String)>,
    pub direction: Option<Direction>,
    pub ptime: Option<u32>,
    /// `a=crypto` lines (RFC 4568 §9.1), as `(tag, suite, key params)`.
    pub crypto: Vec<(String, String, String)>,
}

impl Media {
    /// Whether the stream is SRTP (`RTP/SAVP`, RFC 3711 §12) rather than plain RTP.
    fn secure(&self) -> bool {
        self.protocol == "RTP/SAVP"
    }

    /// The tag and key of the first `a=crypto` line of our suite with a key we can use
    /// (RFC 4568 §6.1: `inline:<key-info>`, several keys separated by `;`, the first taken).
    fn crypto_key(&self) -> Option<(&str, MasterKey)> {
        self.crypto.iter().find_map(|(tag, suite, params)| {
            if suite != srtp::SUITE {
                return None;
            }
            let inline = params.split(';').next()?.strip_prefix("inline:")?;
            Some((tag.as_str(), MasterKey::from_inline(inline).ok()?))
        })
    }
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub connection: Option<IpAddr>,
    pub direction: Option<Direction>,
    pub media: Vec<Media>,
}

impl SessionDescription {
    /// Parses SDP text, CRLF or bare LF. Lines we do not use are skipped; the ones we use must
    /// be well formed.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut session = SessionDescription {
            connection: None,
            direction: None,
            media: Vec::new(),
        };
        let mut saw_version = false;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let err = |reason| SdpError::Syntax { line, reason };
            let raw = raw.trim_end_matches('\r');
            if raw.trim().is_empty() {
                continue;
            }
            let (kind, value) = raw.split_once('=').ok_or(err("expected <type>=<value>"))?;
            if kind.len() != 1 {
                return Err(err("the type must be one letter"));
            }
            if !saw_version {
                if kind != "v" || value.trim() != "0" {
                    return Err(err("SDP must start with v=0"));
                }
                saw_version = true;
                continue;
            }
            match kind {
                "m" => session.media.push(parse_media(value).ok_or(err("bad m= line"))?),
                "c" => {
                    let addr = parse_connection(value).ok_or(err("bad c= line"))?;
                    match session.media.last_mut() {
                        Some(m) => m.connection = Some(addr),
                        None => session.connection = Some(addr),
                    }
                }
                "a" => {
                    let (name, arg) = match value.split_once(':') {
                        Some((n, a)) => (n, Some(a)),
                        None => (value, None),
                    };
                    let media = session.media.last_mut();
                    if let Some(direction) = Direction::parse(name) {
                        match media {
                            Some(m) => m.direction = Some(direction),
                            None => session.direction = Some(direction),
                        }
                        continue;
                    }
                    // rtpmap, fmtp and ptime are media-level attributes (RFC 4566 §6).
                    let (Some(m), Some(arg)) = (media, arg) else {
                        continue;
                    };
                    match name {
                        "rtpmap" => m.rtpmaps.push(parse_rtpmap(arg).ok_or(err("bad a=rtpmap"))?),
                        "fmtp" => {
                            let (pt, params) = arg.split_once(' ').ok_or(err("bad a=fmtp"))?;
                            let pt = pt.parse().map_err(|_| err("bad a=fmtp payload type"))?;
                            m.fmtps.push((pt, params.trim().to_owned()));
                        }
                        "ptime" => m.ptime = Some(arg.trim().parse().map_err(|_| err("bad a=ptime"))?),
                        "crypto" => {
                            let mut fields = arg.split_ascii_whitespace().map(str::to_owned);
                            let (Some(tag), Some(suite), Some(key)) =
                                (fields.next(), fields.next(), fields.next())
                            else {
                                return Err(err("bad a=crypto"));
                            };
                            m.crypto.push((tag, suite, key));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if !saw_version {
            return Err(SdpError::Syntax {
                line: 1,
                reason: "empty SDP",
            });
        }
        Ok(session)
    }

    /// True when the offer puts us on hold (RFC 3264 §8.4): the first active audio stream is
    /// sendonly or inactive, or its connection address is 0.0.0.0 (the RFC 2543 way).
    pub fn is_hold(&self) -> bool {
        let Some(audio) = self.media.iter().find(|m| m.kind == "audio" && m.port != 0) else {
            return false;
        };
        let direction = audio.direction.or(self.direction).unwrap_or_default();
        let zero = audio.connection.or(self.connection) == Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        matches!(direction, Direction::SendOnly | Direction::Inactive) || zero
    }
}

fn parse_media(value: &str) -> Option<Media> {
    let mut fields = value.split_ascii_whitespace();
    let kind = fields.next()?.to_owned();
    // "<port>" or "<port>/<count>" (RFC 4566 §5.14); the count is not used for audio.
    let port = fields.next()?.split('/').next()?.parse().ok()?;
    let protocol = fields.next()?.to_owned();
    let formats: Vec<String> = fields.map(str::to_owned).collect();
    if formats.is_empty() {
        return None;
    }
    Some(Media {
        kind,
        port,
        protocol,
        formats,
        connection: None,
        rtpmaps: Vec::new(),
        fmtps: Vec::new(),
        direction: None,
        ptime: None,
        crypto: Vec::new(),
    })
}

/// `IN IP4 <addr>` or `IN IP6 <addr>`, possibly with a multicast `/ttl` that we ignore.
fn parse_connection(value: &str) -> Option<IpAddr> {
    let mut fields = value.split_ascii_whitespace();
    if fields.next()? != "IN" {
        return None;
    }
    let family = fields.next()?;
    let addr = fields.next()?.split('/').next()?;
    match family {
        "IP4" => addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
        "IP6" => addr.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        _ => None,
    }
}

fn parse_rtpmap(arg: &str) -> Option<RtpMap> {
    let (pt, rest) = arg.trim().split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?.to_owned();
    let clock_rate = parts.next()?.parse().ok()?;
    Some(RtpMap {
        payload_type: pt.parse().ok()?,
        encoding,
        clock_rate,
    })
}

/// Our side of the negotiation.
#[derive(Debug, Clone)]
pub struct LocalMedia {
    /// Where our RTP socket for this leg listens.
    pub addr: SocketAddr,
    /// The `o=` session id and version; the version goes up with each new offer or answer.
    pub session_id: u64,
    pub session_version: u64,
    /// Our SRTP key on this leg when its signalling is TLS; none on any other (then SRTP is not
    /// offered nor accepted).
    pub srtp: Option<MasterKey>,
}

/// The outcome: what to send, where to send it, and the answer text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: Codec,
    /// The payload type the offer used for the codec (0 or 8 unless mapped dynamically).
    pub payload_type: u8,
    /// The telephone-event payload type, when offered.
    pub telephone_event: Option<u8>,
    /// Where to send our RTP (until symmetric RTP latches onto the real source).
    pub remote: SocketAddr,
    /// Our direction in the answer.
    pub direction: Direction,
    pub ptime: u32,
    /// The leg's SRTP keys, when the chosen stream is `RTP/SAVP`.
    pub srtp: Option<LegKeys>,
    pub answer: String,
}

/// Chooses the codec from `offer` and writes the answer (RFC 3264 §6). The answer has one `m=`
/// line per offered one; all but the chosen audio stream are refused with port 0.
pub fn negotiate(offer: &SessionDescription, local: &LocalMedia) -> Result<Negotiated, SdpError> {
    let mut chosen = None;
    // Why no stream was taken, when none is: SRTP where it cannot be, or no key of our suite.
    let mut refused = SdpError::NoCommonCodec;
    for (index, media) in offer.media.iter().enumerate() {
        if media.kind != "audio"
            || media.port == 0
            || !matches!(media.protocol.as_str(), "RTP/AVP" | "RTP/SAVP")
        {
            continue;
        }
        let Some((codec, pt)) = media.formats.iter().find_map(|f| g711_format(media, f)) else {
            continue;
        };
        let srtp = match (media.secure(), &local.srtp) {
            (false, _) => None,
            (true, None) => {
                refused = SdpError::SrtpInClear;
                continue;
            }
            (true, Some(ours)) => match media.crypto_key() {
                Some((tag, theirs)) => Some((tag.to_owned(), ours.clone(), theirs)),
                None => {
                    refused = SdpError::NoCryptoSuite;
                    continue;
                }
            },
        };
        chosen = Some((index, codec, pt, srtp));
        break;
    }
    let (index, codec, payload_type, srtp) = chosen.ok_or(refused)?;
    let media = &offer.media[index];
    let remote_ip = media
        .connection
        .or(offer.connection)
        .ok_or(SdpError::NoConnection)?;
    let telephone_event = telephone_event(media);
    let direction = media.direction.or(offer.direction).unwrap_or_default().reversed();
    let ptime = media.ptime.unwrap_or(20);

    let family = if local.addr.is_ipv4() { "IP4" } else { "IP6" };
    let ip = local.addr.ip();
    let mut sdp = String::new();
    // RFC 4566 §5: the lines in this order; CRLF line ends.
    let _ = write!(
        sdp,
        "v=0\r\no=plugboard {} {} IN {family} {ip}\r\n",
        local.session_id, local.session_version
    );
    let _ = write!(sdp, "s=plugboard\r\nc=IN {family} {ip}\r\nt=0 0\r\n");
    for (i, m) in offer.media.iter().enumerate() {
        if i != index {
            // RFC 3264 §6: a refused stream keeps its line, with port 0 and one of its formats.
            let _ = write!(sdp, "m={} 0 {} {}\r\n", m.kind, m.protocol, m.formats[0]);
            continue;
        }
        let protocol = if srtp.is_some() { "RTP/SAVP" } else { "RTP/AVP" };
        let _ = write!(sdp, "m=audio {} {protocol} {payload_type}", local.addr.port());
        if let Some(te) = telephone_event {
            let _ = write!(sdp, " {te}");
        }
        let _ = write!(
            sdp,
            "\r\na=rtpmap:{payload_type} {}/8000\r\n",
            codec.encoding_name()
        );
        // RFC 4568 §6.1: the answer takes the offer's tag and suite, with our key.
        if let Some((tag, ours, _)) = &srtp {
            let _ = write!(
                sdp,
                "a=crypto:{tag} {} inline:{}\r\n",
                srtp::SUITE,
                ours.to_inline()
            );
        }
        if let Some(te) = telephone_event {
            let _ = write!(sdp, "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n");
        }
        let _ = write!(sdp, "a=ptime:{ptime}\r\na={}\r\n", direction.as_str());
    }

    Ok(Negotiated {
        codec,
        payload_type,
        telephone_event,
        remote: SocketAddr::new(remote_ip, media.port),
        direction,
        ptime,
        srtp: srtp.map(|(_, ours, theirs)| LegKeys { ours, theirs }),
        answer: sdp,
    })
}

/// An offer of ours (RFC 3264 §5), `codecs` in order of preference plus telephone-events: to an
/// agent's phone, the one codec the caller's leg uses, so packets are relayed untouched; to a
/// caller who sent no offer (a late offer, RFC 3261 §13.2.1), both G.711 laws.
pub fn offer(local: &LocalMedia, codecs: &[Codec]) -> String {
    let family = if local.addr.is_ipv4() { "IP4" } else { "IP6" };
    let (ip, port) = (local.addr.ip(), local.addr.port());
    let mut sdp = format!(
        "v=0\r\no=plugboard {} {} IN {family} {ip}\r\ns=plugboard\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {port} {}",
        local.session_id,
        local.session_version,
        if local.srtp.is_some() {
            "RTP/SAVP"
        } else {
            "RTP/AVP"
        },
    );
    for codec in codecs {
        let _ = write!(sdp, " {}", codec.payload_type());
    }
    sdp.push_str(" 101\r\n");
    for codec in codecs {
        let _ = write!(
            sdp,
            "a=rtpmap:{} {}/8000\r\n",
            codec.payload_type(),
            codec.encoding_name()
        );
    }
    sdp.push_str("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n");
    if let Some(key) = &local.srtp {
        let _ = write!(sdp, "a=crypto:1 {} inline:{}\r\n", srtp::SUITE, key.to_inline());
    }
    sdp
}

/// The RFC 4733 telephone-event payload type (at 8 kHz) a media line lists, if any.
fn telephone_event(media: &Media) -> Option<u8> {
    media
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find(|&pt| {
            media.rtpmaps.iter().any(|m| {
                m.payload_type == pt
                    && m.encoding.eq_ignore_ascii_case("telephone-event")
                    && m.clock_rate == 8000
            })
        })
}

/// The telephone-event payload type of an answer's audio (see [`accepted`]): where keys of ours
/// go, when the answerer takes them.
pub fn telephone_event_in(answer: &SessionDescription) -> Option<u8> {
    let media = answer.media.iter().find(|m| m.kind == "audio" && m.port != 0)?;
    telephone_event(media)
}

/// Reads the answer to [`offer`]: where the phone wants our RTP, the payload type it uses for
/// `codec`, and its SRTP key when we offered ours (`srtp`). An answer that refused the stream or
/// picked something else has no common codec; one without a key to our SRTP offer has no suite.
pub fn accepted(
    answer: &SessionDescription,
    codec: Codec,
    srtp: bool,
) -> Result<(SocketAddr, u8, Option<MasterKey>), SdpError> {
    let media = answer
        .media
        .iter()
        .find(|m| m.kind == "audio" && m.port != 0)
        .ok_or(SdpError::NoCommonCodec)?;
    let (_, pt) = media
        .formats
        .iter()
        .filter_map(|f| g711_format(media, f))
        .find(|(c, _)| *c == codec)
        .ok_or(SdpError::NoCommonCodec)?;
    let ip = media
        .connection
        .or(answer.connection)
        .ok_or(SdpError::NoConnection)?;
    let key = match (srtp, media.secure()) {
        (false, false) => None,
        (false, true) => return Err(SdpError::SrtpInClear),
        (true, false) => return Err(SdpError::NoCryptoSuite),
        (true, true) => Some(media.crypto_key().ok_or(SdpError::NoCryptoSuite)?.1),
    };
    Ok((SocketAddr::new(ip, media.port), pt, key))
}

/// The G.711 codec a format of `media` stands for: by its rtpmap when it has one, else by the
/// static payload types of RFC 3551.
fn g711_format(media: &Media, format: &str) -> Option<(Codec, u8)> {
    let pt: u8 = format.parse().ok()?;
    let codec = match media.rtpmaps.iter().find(|m| m.payload_type == pt) {
        Some(map) if map.clock_rate != 8000 => None,
        Some(map) if map.encoding.eq_ignore_ascii_case("PCMU") => Some(Codec::Pcmu),
        Some(map) if map.encoding.eq_ignore_ascii_case("PCMA") => Some(Codec::Pcma),
        Some(_) => None,
        None if pt == 0 => Some(Codec::Pcmu),
        None if pt == 8 => Some(Codec::Pcma),
        None => None,
    }?;
    Some((codec, pt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> LocalMedia {
        LocalMedia {
            addr: "192.0.2.10:40000".parse().unwrap(),
            session_id: 42,
            session_version: 1,
            srtp: None,
        }
    }

    const OFFER: &str = "v=0\r\n\
        o=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\n\
        s=-\r\n\
        c=IN IP4 198.51.100.7\r\n\
        t=0 0\r\n\
        m=audio 49170 RTP/AVP 8 0 101\r\n\
        a=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\n\
        a=ptime:30\r\n\
        a=sendrecv\r\n";

    #[test]
    fn our_offer_is_answered_and_read_back() {
        let text = offer(&local(), &[Codec::Pcma]);
        let parsed = SessionDescription::parse(&text).unwrap();
        let answer = negotiate(
            &parsed,
            &LocalMedia {
                addr: "198.51.100.9:50000".parse().unwrap(),
                session_id: 7,
                session_version: 1,
                srtp: None,
            },
        )
        .unwrap();
        assert_eq!(
            (answer.codec, answer.payload_type, answer.telephone_event),
            (Codec::Pcma, 8, Some(101))
        );
        let back = SessionDescription::parse(&answer.answer).unwrap();
        assert_eq!(
            accepted(&back, Codec::Pcma, false),
            Ok(("198.51.100.9:50000".parse().unwrap(), 8, None))
        );
        assert_eq!(accepted(&back, Codec::Pcmu, false), Err(SdpError::NoCommonCodec));
    }

    #[test]
    fn parses_an_offer() {
        let sdp = SessionDescription::parse(OFFER).unwrap();
        assert_eq!(sdp.connection, Some("198.51.100.7".parse().unwrap()));
        let m = &sdp.media[0];
        assert_eq!(
            (m.kind.as_str(), m.port, m.protocol.as_str()),
            ("audio", 49170, "RTP/AVP")
        );
        assert_eq!(m.formats, ["8", "0", "101"]);
        assert_eq!(
            m.rtpmaps[2],
            RtpMap {
                payload_type: 101,
                encoding: "telephone-event".into(),
                clock_rate: 8000
            }
        );
        assert_eq!(m.fmtps, [(101, "0-15".to_owned())]);
        assert_eq!((m.ptime, m.direction), (Some(30), Some(Direction::SendRecv)));
        assert!(!sdp.is_hold());
    }

    #[test]
    fn answers_with_first_g711_in_offer_order() {
        let n = negotiate(&SessionDescription::parse(OFFER).unwrap(), &local()).unwrap();
        assert_eq!(
            (n.codec, n.payload_type, n.telephone_event),
            (Codec::Pcma, 8, Some(101))
        );
        assert_eq!(n.remote, "198.51.100.7:49170".parse().unwrap());
        assert_eq!(
            n.answer,
            "v=0\r\no=plugboard 42 1 IN IP4 192.0.2.10\r\ns=plugboard\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
             m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:30\r\na=sendrecv\r\n"
        );
        // Our own answer parses back as an offer would.
        let back = SessionDescription::parse(&n.answer).unwrap();
        assert_eq!(back.media[0].port, 40000);
    }

    /// (what, media lines after the session header, expected codec/pt/te or error)
    #[test]
    fn negotiation_table() {
        type Want = Result<(Codec, u8, Option<u8>), SdpError>;
        let rows: &[(&str, &str, Want)] = &[
            (
                "static PCMU, no rtpmap",
                "m=audio 5000 RTP/AVP 0\n",
                Ok((Codec::Pcmu, 0, None)),
            ),
            (
                "PCMU preferred",
                "m=audio 5000 RTP/AVP 0 8\n",
                Ok((Codec::Pcmu, 0, None)),
            ),
            (
                "skips codecs we lack",
                "m=audio 5000 RTP/AVP 9 18 8\n",
                Ok((Codec::Pcma, 8, None)),
            ),
            (
                "dynamic PT mapped to PCMU",
                "m=audio 5000 RTP/AVP 96\na=rtpmap:96 pcmu/8000\n",
                Ok((Codec::Pcmu, 96, None)),
            ),
            (
                "telephone-event at 48 kHz is not ours",
                "m=audio 5000 RTP/AVP 0 100\na=rtpmap:100 telephone-event/48000\n",
                Ok((Codec::Pcmu, 0, None)),
            ),
            (
                "only G.722 and Opus",
                "m=audio 5000 RTP/AVP 9 111\na=rtpmap:111 opus/48000/2\n",
                Err(SdpError::NoCommonCodec),
            ),
            (
                "SRTP only, on a leg that is not TLS",
                "m=audio 5000 RTP/SAVP 0\n",
                Err(SdpError::SrtpInClear),
            ),
            (
                "port 0 stream",
                "m=audio 0 RTP/AVP 0\n",
                Err(SdpError::NoCommonCodec),
            ),
            (
                "video only",
                "m=video 5002 RTP/AVP 31\n",
                Err(SdpError::NoCommonCodec),
            ),
            (
                "video refused, second audio used",
                "m=video 5002 RTP/AVP 31\nm=audio 5000 RTP/AVP 8\n",
                Ok((Codec::Pcma, 8, None)),
            ),
        ];
        for (what, media, want) in rows {
            let text = format!("v=0\no=- 1 1 IN IP4 203.0.113.5\ns=-\nc=IN IP4 203.0.113.5\nt=0 0\n{media}");
            let offer = SessionDescription::parse(&text).unwrap();
            let got = negotiate(&offer, &local()).map(|n| (n.codec, n.payload_type, n.telephone_event));
            assert_eq!(&got, want, "{what}");
        }
    }

    #[test]
    fn refused_streams_keep_their_line_with_port_zero() {
        let text = "v=0\nc=IN IP4 203.0.113.5\nm=video 5002 RTP/AVP 31 34\nm=audio 5000 RTP/AVP 0\n";
        let n = negotiate(&SessionDescription::parse(text).unwrap(), &local()).unwrap();
        let m_lines: Vec<&str> = n.answer.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(m_lines, ["m=video 0 RTP/AVP 31", "m=audio 40000 RTP/AVP 0"]);
    }

    #[test]
    fn media_connection_overrides_session_and_ipv6_works() {
        let text = "v=0\nc=IN IP4 203.0.113.5\nm=audio 5000 RTP/AVP 0\nc=IN IP6 2001:db8::1\n";
        let mut l = local();
        l.addr = "[2001:db8::10]:40000".parse().unwrap();
        let n = negotiate(&SessionDescription::parse(text).unwrap(), &l).unwrap();
        assert_eq!(n.remote, "[2001:db8::1]:5000".parse().unwrap());
        assert!(n.answer.contains("c=IN IP6 2001:db8::10\r\n"), "{}", n.answer);
        let no_c = "v=0\nm=audio 5000 RTP/AVP 0\n";
        assert_eq!(
            negotiate(&SessionDescription::parse(no_c).unwrap(), &l),
            Err(SdpError::NoConnection)
        );
    }

    #[test]
    fn hold_detection_and_answer_direction() {
        // (session-level lines, media-level lines, on hold?, our answer direction)
        let rows: &[(&str, &str, bool, Direction)] = &[
            ("", "", false, Direction::SendRecv),
            ("", "a=sendonly\n", true, Direction::RecvOnly),
            ("", "a=inactive\n", true, Direction::Inactive),
            ("", "a=recvonly\n", false, Direction::SendOnly),
            ("a=sendonly\n", "", true, Direction::RecvOnly),
            ("a=sendonly\n", "a=sendrecv\n", false, Direction::SendRecv),
            ("", "c=IN IP4 0.0.0.0\n", true, Direction::SendRecv),
        ];
        for (i, (session, media, hold, direction)) in rows.iter().enumerate() {
            let text = format!("v=0\nc=IN IP4 203.0.113.5\n{session}m=audio 5000 RTP/AVP 0\n{media}");
            let sdp = SessionDescription::parse(&text).unwrap();
            assert_eq!(sdp.is_hold(), *hold, "row {i}");
            let n = negotiate(&sdp, &local()).unwrap();
            assert_eq!(n.direction, *direction, "row {i}");
            assert!(
                n.answer.contains(&format!("a={}\r\n", direction.as_str())),
                "row {i}"
            );
        }
    }

    #[test]
    fn malformed_sdp_is_an_error() {
        let rows: &[(&str, usize)] = &[
            ("", 1),
            ("o=- 1 1 IN IP4 1.2.3.4\n", 1),
            ("v=1\n", 1),
            ("v=0\nnot a line\n", 2),
            ("v=0\nxy=1\n", 2),
            ("v=0\nm=audio\n", 2),
            ("v=0\nm=audio 70000 RTP/AVP 0\n", 2),
            ("v=0\nm=audio 5000 RTP/AVP\n", 2),
            ("v=0\nc=IN IP4 999.1.1.1\n", 2),
            ("v=0\nc=IN IP4\n", 2),
            ("v=0\nm=audio 5000 RTP/AVP 0\na=rtpmap:x PCMU/8000\n", 3),
            ("v=0\nm=audio 5000 RTP/AVP 0\na=rtpmap:0 PCMU\n", 3),
            ("v=0\nm=audio 5000 RTP/AVP 0\na=ptime:twenty\n", 3),
        ];
        for (text, line) in rows {
            match SessionDescription::parse(text) {
                Err(SdpError::Syntax { line: l, .. }) => assert_eq!(l, *line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    /// SDES (RFC 4568) by the leg's transport: `srtp` is our key when the leg is TLS.
    #[test]
    fn srtp_offers_by_transport() {
        let theirs = MasterKey::new([7; 30]);
        let ours = MasterKey::new([9; 30]);
        let crypto = format!(
            "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{}|2^31\n",
            theirs.to_inline()
        );
        let savp = format!("v=0\nc=IN IP4 203.0.113.5\nm=audio 5000 RTP/SAVP 0\n{crypto}");
        let both =
            format!("v=0\nc=IN IP4 203.0.113.5\nm=audio 5000 RTP/SAVP 0\n{crypto}m=audio 5002 RTP/AVP 0\n");
        let other_suite = "v=0\nc=IN IP4 203.0.113.5\nm=audio 5000 RTP/SAVP 0\n\
                           a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:AAAA\n";
        let tls = LocalMedia {
            srtp: Some(ours.clone()),
            ..local()
        };
        let keys = LegKeys {
            ours: ours.clone(),
            theirs: theirs.clone(),
        };
        // (offer, leg, the keys or the refusal, the answer's m= line)
        type Expected = Result<Option<LegKeys>, SdpError>;
        let cases: [(&str, &LocalMedia, Expected, &str); 6] = [
            (&savp, &tls, Ok(Some(keys.clone())), "m=audio 40000 RTP/SAVP 0"),
            (&savp, &local(), Err(SdpError::SrtpInClear), ""),
            (&both, &local(), Ok(None), "m=audio 40000 RTP/AVP 0"),
            (&both, &tls, Ok(Some(keys)), "m=audio 40000 RTP/SAVP 0"),
            (other_suite, &tls, Err(SdpError::NoCryptoSuite), ""),
            (OFFER, &tls, Ok(None), "m=audio 40000 RTP/AVP 8 101"),
        ];
        for (offer, leg, expected, m_line) in cases {
            let n = negotiate(&SessionDescription::parse(offer).unwrap(), leg);
            assert_eq!(
                n.as_ref().map(|n| n.srtp.clone()).map_err(Clone::clone),
                expected,
                "{offer}"
            );
            let Ok(n) = n else { continue };
            assert!(n.answer.contains(m_line), "{}", n.answer);
            let answered_key = n.answer.contains(&format!(
                "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{}",
                ours.to_inline()
            ));
            assert_eq!(answered_key, n.srtp.is_some(), "{}", n.answer);
        }
    }

    /// Our SRTP offer to a TLS phone, and what its answer must carry.
    #[test]
    fn our_srtp_offer_and_its_answer() {
        let ours = MasterKey::new([9; 30]);
        let theirs = MasterKey::new([7; 30]);
        let tls = LocalMedia {
            srtp: Some(ours.clone()),
            ..local()
        };
        let text = offer(&tls, &[Codec::Pcmu]);
        assert!(text.contains("m=audio 40000 RTP/SAVP 0 101\r\n"), "{text}");
        assert!(text.contains(&format!(
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
            ours.to_inline()
        )));
        let answer = |protocol: &str, crypto: bool| {
            let mut a = format!("v=0\nc=IN IP4 203.0.113.5\nm=audio 6000 {protocol} 0\n");
            if crypto {
                a += &format!(
                    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\n",
                    theirs.to_inline()
                );
            }
            SessionDescription::parse(&a).unwrap()
        };
        let addr: SocketAddr = "203.0.113.5:6000".parse().unwrap();
        let cases = [
            (
                answer("RTP/SAVP", true),
                true,
                Ok((addr, 0, Some(theirs.clone()))),
            ),
            (answer("RTP/SAVP", false), true, Err(SdpError::NoCryptoSuite)),
            (answer("RTP/AVP", false), true, Err(SdpError::NoCryptoSuite)),
            (answer("RTP/SAVP", true), false, Err(SdpError::SrtpInClear)),
            (answer("RTP/AVP", false), false, Ok((addr, 0, None))),
        ];
        for (answer, offered, expected) in cases {
            assert_eq!(accepted(&answer, Codec::Pcmu, offered), expected);
        }
    }
}
