//! Call recording: both legs of a bridged call into one stereo WAV (8 kHz, 16-bit PCM), caller on
//! the left and agent on the right, which the interaction's timeline links to. The media relay
//! hands over each leg's RTP payload with its timestamp and arrival time; the recorder decodes
//! G.711, places each packet on a common timeline and fills gaps (lost packets, silence
//! suppression, a leg not yet connected) with silence so the two channels stay in step.
//!
//! Placement: a leg's first packet lands where its arrival time says; later packets follow its
//! RTP timestamps (so network jitter does not smear the audio), until the leg's SSRC changes or
//! its timestamps drift more than a second from arrival times, when it is anchored anew.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::g711::Codec;

pub const SAMPLE_RATE: u32 = 8000;

/// How far a leg's timestamps may stray from its arrival times before it is re-anchored.
const RESYNC_SAMPLES: i64 = SAMPLE_RATE as i64;

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("writing the WAV file: {0}")]
    Wav(#[from] hound::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The left channel.
    Caller,
    /// The right channel.
    Agent,
}

/// One channel's audio not yet written; `buf[0]` is the sample at the recorder's write position.
#[derive(Debug, Default)]
struct Track {
    buf: VecDeque<i16>,
    /// (SSRC, RTP timestamp, timeline position) of the packet the leg is anchored on.
    anchor: Option<(u32, u32, u64)>,
}

/// Writes a two-channel recording as the call goes; memory stays bounded by `max_lag`.
pub struct StereoRecorder<W: Write + Seek> {
    writer: hound::WavWriter<W>,
    start: Instant,
    /// Frames written so far: the timeline position of both tracks' `buf[0]`.
    written: u64,
    tracks: [Track; 2],
    /// How far one leg may run ahead of the other before the other is taken as silent.
    max_lag: u64,
}

impl StereoRecorder<BufWriter<File>> {
    /// Creates the file; `start` is when the call was bridged (the recording's time zero).
    pub fn create(path: &Path, start: Instant) -> Result<Self, RecordingError> {
        let writer = hound::WavWriter::create(path, spec())?;
        Ok(Self::from_writer(writer, start))
    }
}

fn spec() -> hound::WavSpec {
    hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

impl<W: Write + Seek> StereoRecorder<W> {
    pub fn new(writer: W, start: Instant) -> Result<Self, RecordingError> {
        Ok(Self::from_writer(hound::WavWriter::new(writer, spec())?, start))
    }

    fn from_writer(writer: hound::WavWriter<W>, start: Instant) -> Self {
        StereoRecorder {
            writer,
            start,
            written: 0,
            tracks: [Track::default(), Track::default()],
            max_lag: u64::from(SAMPLE_RATE) / 2,
        }
    }

    /// Frames written to the file so far.
    pub fn frames_written(&self) -> u64 {
        self.written
    }

    /// Decodes one G.711 RTP payload and records it.
    pub fn push_g711(
        &mut self,
        leg: Leg,
        codec: Codec,
        ssrc: u32,
        timestamp: u32,
        payload: &[u8],
        arrival: Instant,
    ) -> Result<(), RecordingError> {
        let mut samples = Vec::with_capacity(payload.len());
        codec.decode_into(payload, &mut samples);
        self.push(leg, ssrc, timestamp, &samples, arrival)
    }

    /// Records decoded samples of one packet from `leg`.
    pub fn push(
        &mut self,
        leg: Leg,
        ssrc: u32,
        timestamp: u32,
        samples: &[i16],
        arrival: Instant,
    ) -> Result<(), RecordingError> {
        let by_arrival = position(arrival.saturating_duration_since(self.start));
        let track = &mut self.tracks[leg as usize];
        let anchored = track.anchor.and_then(|(a_ssrc, a_ts, a_pos)| {
            let pos = a_pos as i64 + i64::from(timestamp.wrapping_sub(a_ts) as i32);
            (a_ssrc == ssrc && pos >= 0 && (pos - by_arrival as i64).abs() <= RESYNC_SAMPLES)
                .then_some(pos as u64)
        });
        let pos = anchored.unwrap_or_else(|| {
            track.anchor = Some((ssrc, timestamp, by_arrival));
            by_arrival
        });

        // Samples before the write position are too late to record.
        if pos + samples.len() as u64 <= self.written {
            return Ok(());
        }
        let skip = self.written.saturating_sub(pos) as usize;
        let samples = &samples[skip..];
        let offset = (pos + skip as u64 - self.written) as usize;
        if offset > track.buf.len() {
            track.buf.resize(offset, 0);
        }
        // A reordered packet may land in a gap already filled with silence: overwrite it.
        for (i, &s) in samples.iter().enumerate() {
            match track.buf.get_mut(offset + i) {
                Some(slot) => *slot = s,
                None => track.buf.push_back(s),
            }
        }
        self.flush(false)
    }

    /// Writes every frame both channels have; a channel more than `max_lag` behind the other is
    /// padded with silence (that leg is silent or gone). With `all`, pads to the longer one.
    fn flush(&mut self, all: bool) -> Result<(), RecordingError> {
        let [left, right] = &mut self.tracks;
        let longest = left.buf.len().max(right.buf.len());
        let keep_back = if all { 0 } else { self.max_lag as usize };
        for track in [&mut *left, &mut *right] {
            let floor = longest.saturating_sub(keep_back);
            if track.buf.len() < floor {
                track.buf.resize(floor, 0);
            }
        }
        let ready = left.buf.len().min(right.buf.len());
        if ready == 0 {
            return Ok(());
        }
        // hound's 16-bit writer fills its buffer directly: writing sample by sample through
        // `write_sample` was most of the recording's cost.
        let mut frames = self.writer.get_i16_writer(2 * ready as u32);
        for (l, r) in left.buf.drain(..ready).zip(right.buf.drain(..ready)) {
            frames.write_sample(l);
            frames.write_sample(r);
        }
        frames.flush()?;
        self.written += ready as u64;
        Ok(())
    }

    /// Writes what is left, padding the shorter channel, and completes the WAV header.
    pub fn finish(mut self) -> Result<u64, RecordingError> {
        self.flush(true)?;
        self.writer.finalize()?;
        Ok(self.written)
    }
}

fn position(elapsed: Duration) -> u64 {
    (elapsed.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::ulaw_encode;

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("plugboard-sip-{}-{name}.wav", std::process::id()))
    }

    /// Reads a recording back as (left, right) channels after checking its format.
    fn read_back(path: &Path) -> (Vec<i16>, Vec<i16>) {
        let mut reader = hound::WavReader::open(path).unwrap();
        assert_eq!(reader.spec(), spec());
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(samples.len() % 2, 0);
        let left = samples.iter().step_by(2).copied().collect();
        let right = samples.iter().skip(1).step_by(2).copied().collect();
        (left, right)
    }

    #[test]
    fn both_legs_aligned_with_gaps_filled() {
        let path = temp_path("aligned");
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let caller = [ulaw_encode(1000); 160];
        let agent = [ulaw_encode(-2000); 160];
        let (c, a) = (Codec::Pcmu.decode(caller[0]), Codec::Pcmu.decode(agent[0]));

        let mut rec = StereoRecorder::create(&path, t0).unwrap();
        // (leg, ssrc, timestamp, arrival ms)
        let packets = [
            (Leg::Caller, 11, 90_000, 0),
            (Leg::Caller, 11, 90_160, 20),
            // The agent's leg starts 20 ms in, with its own timestamp base.
            (Leg::Agent, 22, 7_000, 20),
            (Leg::Caller, 11, 90_320, 45), // jitter: arrives late, placed by timestamp
            // Agent packet at ts 7_160 is lost; the next comes 40 ms later.
            (Leg::Agent, 22, 7_320, 60),
            (Leg::Caller, 11, 90_480, 60),
            // A duplicate of an already written packet is ignored.
            (Leg::Caller, 11, 90_000, 61),
        ];
        for (leg, ssrc, ts, at) in packets {
            let payload = if leg == Leg::Caller { &caller } else { &agent };
            rec.push_g711(leg, Codec::Pcmu, ssrc, ts, payload, ms(at))
                .unwrap();
        }
        assert_eq!(rec.finish().unwrap(), 640);

        let (left, right) = read_back(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(left.len(), 640);
        assert!(left.iter().all(|&s| s == c), "caller continuous for 4 packets");
        // Right: silence 0..160, agent 160..320, lost packet 320..480 as silence, agent 480..640.
        let expect: Vec<i16> = [0, a, 0, a].iter().flat_map(|&v| [v; 160]).collect();
        assert_eq!(right, expect);
    }

    #[test]
    fn a_silent_leg_does_not_hold_back_the_other() {
        let t0 = Instant::now();
        let mut rec = StereoRecorder::new(std::io::Cursor::new(Vec::new()), t0).unwrap();
        // Two seconds of caller audio, no agent packets at all.
        for i in 0..100u32 {
            let at = t0 + Duration::from_millis(u64::from(i) * 20);
            rec.push(Leg::Caller, 1, i * 160, &[500; 160], at).unwrap();
        }
        // Everything but the last max_lag (0.5 s) is written with silence on the right.
        assert_eq!(rec.frames_written(), 16_000 - 4_000);
        assert_eq!(rec.finish().unwrap(), 16_000);
    }

    #[test]
    fn reordered_packet_fills_its_gap_and_source_switch_reanchors() {
        let path = temp_path("reorder");
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut rec = StereoRecorder::create(&path, t0).unwrap();
        rec.push(Leg::Caller, 1, 0, &[1; 160], ms(0)).unwrap();
        rec.push(Leg::Caller, 1, 320, &[3; 160], ms(40)).unwrap();
        rec.push(Leg::Caller, 1, 160, &[2; 160], ms(41)).unwrap();
        // The agent leg's source changes (a transfer): its new timestamps mean nothing relative to
        // the old ones, so the packet is placed by arrival (at 20 ms, not 2^31 samples away).
        rec.push(Leg::Agent, 5, 1_000, &[7; 160], ms(0)).unwrap();
        rec.push(Leg::Agent, 6, 2_000_000_000, &[8; 160], ms(20)).unwrap();
        assert_eq!(rec.finish().unwrap(), 480);
        let (left, right) = read_back(&path);
        std::fs::remove_file(&path).unwrap();
        let l: Vec<i16> = [1, 2, 3].iter().flat_map(|&v| [v; 160]).collect();
        let r: Vec<i16> = [7, 8, 0].iter().flat_map(|&v| [v; 160]).collect();
        assert_eq!((left, right), (l, r));
    }

    proptest::proptest! {
        #[test]
        fn any_packet_sequence_keeps_channels_equal(
            packets in proptest::collection::vec(
                (proptest::bool::ANY, 0u32..3, proptest::num::u32::ANY, 0usize..400, 0u64..5_000),
                0..60,
            )
        ) {
            let t0 = Instant::now();
            let mut rec = StereoRecorder::new(std::io::Cursor::new(Vec::new()), t0).unwrap();
            for (caller, ssrc, ts, len, ms) in packets {
                let leg = if caller { Leg::Caller } else { Leg::Agent };
                let at = t0 + Duration::from_millis(ms);
                rec.push(leg, ssrc, ts, &vec![1; len], at).unwrap();
            }
            // Never more than a few seconds of audio from at most 5 s of arrivals.
            let frames = rec.finish().unwrap();
            proptest::prop_assert!(frames <= 8 * 8000, "{frames}");
        }
    }
}
