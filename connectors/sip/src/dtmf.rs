//! RFC 4733 telephone-events: how a caller's key presses reach the IVR, and how an agent's reach
//! the other party. The phone sends a packet every 50 ms or so while a key is held, all with the
//! timestamp of the key-down, and three copies of the final "end" packet for robustness (RFC 4733
//! §2.5.1.4). The detector turns that stream into one digit per key press for the IVR menu; the
//! [`Keypad`] makes such a stream from the keys an agent presses in the console, one packet per
//! 20 ms tick of the media shell's clock.

use std::collections::VecDeque;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DtmfError {
    #[error("telephone-event payload of {0} bytes, expected at least 4")]
    TooShort(usize),
}

/// One RFC 4733 §2.3 event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code: 0-9, 10 = `*`, 11 = `#`, 12-15 = A-D, 16 = flash (RFC 4733 §3.2).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level in -dBm0 (0 loudest, 63 quietest).
    pub volume: u8,
    /// Duration so far, in timestamp units (1/8000 s for G.711 calls).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event of a payload. Redundant events (RFC 2198) are not used by phones
    /// for DTMF and are not expected here; trailing bytes are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let &[event, flags, d0, d1, ..] = payload else {
            return Err(DtmfError::TooShort(payload.len()));
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    /// The key as printed on the phone, or `None` for flash and non-DTMF events.
    pub fn key(self) -> Option<char> {
        match self.event {
            0..=9 => Some(char::from(b'0' + self.event)),
            10 => Some('*'),
            11 => Some('#'),
            12..=15 => Some(char::from(b'A' + self.event - 12)),
            _ => None,
        }
    }
}

/// A key press the detector reports once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digit {
    pub key: char,
    /// How long the key was held, in timestamp units.
    pub duration: u16,
}

/// Turns telephone-event packets into key presses, each reported once.
///
/// Events are keyed by RTP timestamp (RFC 4733 §2.5.1.2: all packets of one event share the
/// timestamp of its start). A digit is reported on the first end packet; its retransmissions
/// are ignored. If the end packets are all lost, the digit is reported when the next event
/// starts, so a lost end does not lose the key press.
#[derive(Debug, Clone, Default)]
pub struct DtmfDetector {
    /// The event in progress, not reported yet: (timestamp, event).
    open: Option<(u32, TelephoneEvent)>,
    /// Timestamp of the last event reported, to ignore its repeated end packets.
    reported: Option<u32>,
}

impl DtmfDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one packet (its RTP timestamp and payload); returns the digits completed by it:
    /// usually none, one at an event's end, two when it also flushes an event that lost its end.
    pub fn push(&mut self, timestamp: u32, payload: &[u8]) -> Result<Vec<Digit>, DtmfError> {
        let event = TelephoneEvent::parse(payload)?;
        let mut digits = Vec::new();
        if self.reported == Some(timestamp) {
            return Ok(digits);
        }
        if let Some((open_ts, open)) = self.open
            && open_ts != timestamp
        {
            self.open = None;
            digits.extend(report(open));
        }
        if event.end {
            self.open = None;
            self.reported = Some(timestamp);
            digits.extend(report(event));
        } else {
            self.open = Some((timestamp, event));
        }
        Ok(digits)
    }
}

/// The event code of a key as printed on a phone (RFC 4733 §3.2), `None` for anything else.
pub fn event_of(key: char) -> Option<u8> {
    match key {
        '0'..='9' => Some(key as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(key as u8 - b'A' + 12),
        _ => None,
    }
}

/// Ticks (20 ms each) a key is held: 100 ms, long enough for every IVR we know of.
const PRESS_TICKS: u16 = 5;
/// Copies of the end packet (RFC 4733 §2.5.1.4).
const END_COPIES: u16 = 3;
/// Ticks of nothing between two keys, so the far end sees two presses.
const GAP_TICKS: u16 = 3;
/// Timestamp units in one tick at 8 kHz.
const TICK: u16 = 160;

/// One telephone-event packet to send: the payload, the RTP timestamp of its event's start and
/// whether it starts the event (the marker bit, RFC 4733 §2.5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPacket {
    pub event: TelephoneEvent,
    pub timestamp: u32,
    pub marker: bool,
}

/// Turns keys into telephone-event packets, one per tick of a 20 ms clock: each key is held for
/// [`PRESS_TICKS`] (its duration growing by a tick each packet), ended with [`END_COPIES`] end
/// packets, then [`GAP_TICKS`] of silence before the next. Its own timestamps advance a tick per
/// tick, so the stream it makes is paced like audio.
#[derive(Debug, Clone, Default)]
pub struct Keypad {
    waiting: VecDeque<u8>,
    /// The key being sent, and how many ticks into it we are (press, ends, then the gap).
    current: Option<(u8, u16)>,
    /// The timestamp of the current event's start.
    started: u32,
    clock: u32,
}

impl Keypad {
    /// `first_timestamp` should be random (RFC 3550 §5.1).
    pub fn new(first_timestamp: u32) -> Self {
        Keypad {
            clock: first_timestamp,
            ..Keypad::default()
        }
    }

    /// Queues event codes (see [`event_of`]) to send after those already waiting.
    pub fn press(&mut self, events: impl IntoIterator<Item = u8>) {
        self.waiting.extend(events);
    }

    /// Whether keys are being sent (gaps included): meanwhile the agent's audio is held back.
    pub fn busy(&self) -> bool {
        self.current.is_some() || !self.waiting.is_empty()
    }

    /// One tick: the packet to send now, if any.
    pub fn tick(&mut self) -> Option<KeyPacket> {
        if self.current.is_none() {
            let event = self.waiting.pop_front()?;
            self.current = Some((event, 0));
            self.started = self.clock;
        }
        let (event, at) = self.current.expect("set above");
        self.clock = self.clock.wrapping_add(u32::from(TICK));
        let packet = |end: bool, duration: u16| KeyPacket {
            event: TelephoneEvent {
                event,
                end,
                volume: 10,
                duration,
            },
            timestamp: self.started,
            marker: at == 0,
        };
        let next = at + 1;
        self.current = (next < PRESS_TICKS + END_COPIES + GAP_TICKS).then_some((event, next));
        if at < PRESS_TICKS {
            Some(packet(false, (at + 1) * TICK))
        } else if at < PRESS_TICKS + END_COPIES {
            Some(packet(true, PRESS_TICKS * TICK))
        } else {
            None
        }
    }
}

fn report(event: TelephoneEvent) -> Option<Digit> {
    event.key().map(|key| Digit {
        key,
        duration: event.duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    #[test]
    fn parses_payload_fields() {
        // RFC 4733 §2.3 layout: event 5, E=1, R=0, volume 10, duration 800.
        let e = TelephoneEvent::parse(&[0x05, 0x8A, 0x03, 0x20]).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        // The reserved bit is ignored.
        let e = TelephoneEvent::parse(&[11, 0x40 | 0x3F, 0, 0]).unwrap();
        assert_eq!((e.end, e.volume, e.key()), (false, 63, Some('#')));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(DtmfError::TooShort(3)));
    }

    #[test]
    fn keys_follow_rfc_4733_codes() {
        let keys: String = (0..16)
            .filter_map(|e| TelephoneEvent::parse(&[e, 0, 0, 0]).unwrap().key())
            .collect();
        assert_eq!(keys, "0123456789*#ABCD");
        assert_eq!(TelephoneEvent::parse(&[16, 0, 0, 0]).unwrap().key(), None);
    }

    #[test]
    fn detector_reports_each_press_once() {
        // (timestamp, payload, keys reported)
        #[rustfmt::skip]
        let table: &[(u32, [u8; 4], &str)] = &[
            // "1": start, updates, three end packets.
            (1000, ev(1, false, 0), ""),
            (1000, ev(1, false, 400), ""),
            (1000, ev(1, true, 800), "1"),
            (1000, ev(1, true, 800), ""),
            (1000, ev(1, true, 800), ""),
            // "1" again: the same key is a new press with a new timestamp.
            (3000, ev(1, false, 0), ""),
            (3000, ev(1, true, 640), "1"),
            // "#" whose end packets are all lost: reported when "2" starts.
            (5000, ev(11, false, 0), ""),
            (5000, ev(11, false, 400), ""),
            (7000, ev(2, false, 0), "#"),
            (7000, ev(2, true, 480), "2"),
            // Only an end packet arrives (the start packets were lost): still one digit.
            (9000, ev(9, true, 800), "9"),
            (9000, ev(9, true, 800), ""),
            // Lost end, and the next event's first packet to arrive is already an end.
            (11000, ev(4, false, 160), ""),
            (13000, ev(5, true, 800), "45"),
            // Flash is not a key.
            (15000, ev(16, true, 800), ""),
        ];
        let mut detector = DtmfDetector::new();
        for (i, (ts, payload, want)) in table.iter().enumerate() {
            let got: String = detector
                .push(*ts, payload)
                .unwrap()
                .iter()
                .map(|d| d.key)
                .collect();
            assert_eq!(&got, want, "row {i}");
        }
    }

    #[test]
    fn digit_carries_duration_of_end_packet() {
        let mut detector = DtmfDetector::new();
        detector.push(0, &ev(3, false, 160)).unwrap();
        assert_eq!(
            detector.push(0, &ev(3, true, 960)).unwrap(),
            vec![Digit {
                key: '3',
                duration: 960
            }]
        );
    }

    /// Two keys as the far end receives them, tick by tick: (event, end, duration, timestamp
    /// after the first, marker); `None` for a tick with nothing to send.
    #[test]
    fn the_keypad_sends_each_key_as_one_event_then_a_gap() {
        let mut keypad = Keypad::new(1000);
        assert!(!keypad.busy());
        assert_eq!(keypad.tick(), None, "nothing pressed: nothing sent");
        keypad.press(['1', '#'].into_iter().filter_map(event_of));
        assert!(keypad.busy());
        let mut got = Vec::new();
        while keypad.busy() {
            got.push(keypad.tick().map(|p| {
                let e = p.event;
                (e.event, e.end, e.duration, p.timestamp, p.marker)
            }));
        }
        #[rustfmt::skip]
        let want = vec![
            Some((1, false, 160, 1000, true)),
            Some((1, false, 320, 1000, false)),
            Some((1, false, 480, 1000, false)),
            Some((1, false, 640, 1000, false)),
            Some((1, false, 800, 1000, false)),
            Some((1, true, 800, 1000, false)),
            Some((1, true, 800, 1000, false)),
            Some((1, true, 800, 1000, false)),
            None, None, None,
            // The next key starts 11 ticks (11 × 160) later.
            Some((11, false, 160, 2760, true)),
            Some((11, false, 320, 2760, false)),
            Some((11, false, 480, 2760, false)),
            Some((11, false, 640, 2760, false)),
            Some((11, false, 800, 2760, false)),
            Some((11, true, 800, 2760, false)),
            Some((11, true, 800, 2760, false)),
            Some((11, true, 800, 2760, false)),
            None, None, None,
        ];
        assert_eq!(got, want);
        // What it sends, our own detector reads as the keys pressed.
        let mut keypad = Keypad::new(7);
        keypad.press("*09D".chars().filter_map(event_of));
        let mut detector = DtmfDetector::new();
        let mut keys = String::new();
        while keypad.busy() {
            if let Some(p) = keypad.tick() {
                let digits = detector.push(p.timestamp, &p.event.to_bytes()).unwrap();
                keys.extend(digits.iter().map(|d| d.key));
            }
        }
        assert_eq!(keys, "*09D");
    }

    #[test]
    fn keys_map_to_their_event_codes() {
        let codes: Vec<Option<u8>> = "0 9*#ADx".chars().map(event_of).collect();
        assert_eq!(
            codes,
            [
                Some(0),
                None,
                Some(9),
                Some(10),
                Some(11),
                Some(12),
                Some(15),
                None
            ]
        );
        for key in "0123456789*#ABCD".chars() {
            let event = TelephoneEvent::parse(&[event_of(key).unwrap(), 0, 0, 0]).unwrap();
            assert_eq!(event.key(), Some(key));
        }
    }

    #[test]
    fn detector_refuses_short_payload() {
        let mut detector = DtmfDetector::new();
        assert_eq!(detector.push(0, &[1]), Err(DtmfError::TooShort(1)));
    }
}
