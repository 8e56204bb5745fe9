//! Who hears whom on a call with a third party: a supervisor who monitors (listens, unheard),
//! whispers (heard by the agent only) or barges (heard by both). Pure: [`sources`] is the rule,
//! [`Mixer`] turns what each party said into the next 20 ms each listener hears. The media shell
//! ([`crate::media`]) relays packets untouched where a listener hears one party only, and mixes
//! on its 20 ms clock where it hears two.

use std::collections::VecDeque;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;

/// How far a party's audio may run ahead of the mixing clock before its oldest is dropped: 60 ms
/// (network jitter, and phones sending 30 ms packets). The delay it adds is bounded by this.
const MOST_WAITING: usize = 3 * FRAME;

/// How a supervisor takes part in a call (the field's monitor, whisper and barge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitoring {
    /// Hears the caller and the agent; nobody hears them.
    Monitor,
    /// Hears both; only the agent hears them (coaching).
    Whisper,
    /// Hears both and both hear them: a three-way call.
    Barge,
}

/// The parties of a call's audio, as indexes into a [`Mixer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Caller = 0,
    Agent = 1,
    Supervisor = 2,
}

/// Whom `listener` hears while a supervisor takes part as `mode`.
pub fn sources(mode: Monitoring, listener: Party) -> &'static [Party] {
    use Monitoring::*;
    use Party::*;
    match (mode, listener) {
        (_, Supervisor) => &[Caller, Agent],
        (Monitor | Whisper, Caller) => &[Agent],
        (Barge, Caller) => &[Agent, Supervisor],
        (Monitor, Agent) => &[Caller],
        (Whisper | Barge, Agent) => &[Caller, Supervisor],
    }
}

/// Whether `listener` hears more than one party, so its audio must be mixed (else the one
/// party's packets are relayed as they come).
pub fn mixed(mode: Monitoring, listener: Party) -> bool {
    sources(mode, listener).len() > 1
}

/// What each party said that no frame has taken yet.
#[derive(Debug, Default)]
pub struct Mixer {
    waiting: [VecDeque<i16>; 3],
}

impl Mixer {
    /// Audio `from` a party, decoded.
    pub fn push(&mut self, from: Party, samples: &[i16]) {
        let waiting = &mut self.waiting[from as usize];
        waiting.extend(samples);
        let over = waiting.len().saturating_sub(MOST_WAITING);
        waiting.drain(..over);
    }

    /// The next 20 ms of each party (silence where it said nothing), taken.
    pub fn take(&mut self) -> [[i16; FRAME]; 3] {
        let mut frames = [[0i16; FRAME]; 3];
        for (frame, waiting) in frames.iter_mut().zip(&mut self.waiting) {
            let take = waiting.len().min(FRAME);
            for (slot, sample) in frame.iter_mut().zip(waiting.drain(..take)) {
                *slot = sample;
            }
        }
        frames
    }

    /// Forgets everything waiting (the supervisor left).
    pub fn clear(&mut self) {
        self.waiting.iter_mut().for_each(VecDeque::clear);
    }
}

/// What `listener` hears of `frames` (from [`Mixer::take`]): the sum of its sources, clipped.
pub fn heard(frames: &[[i16; FRAME]; 3], mode: Monitoring, listener: Party, out: &mut [i16; FRAME]) {
    out.fill(0);
    for source in sources(mode, listener) {
        for (o, s) in out.iter_mut().zip(&frames[*source as usize]) {
            *o = o.saturating_add(*s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Monitoring::*;
    use Party::*;

    /// The rule as a table: nobody ever hears themselves, the supervisor always hears both, the
    /// caller hears the supervisor only on a barge, the agent on a whisper or a barge.
    #[test]
    fn who_hears_whom() {
        let rows: [(Monitoring, Party, &[Party]); 9] = [
            (Monitor, Caller, &[Agent]),
            (Monitor, Agent, &[Caller]),
            (Monitor, Supervisor, &[Caller, Agent]),
            (Whisper, Caller, &[Agent]),
            (Whisper, Agent, &[Caller, Supervisor]),
            (Whisper, Supervisor, &[Caller, Agent]),
            (Barge, Caller, &[Agent, Supervisor]),
            (Barge, Agent, &[Caller, Supervisor]),
            (Barge, Supervisor, &[Caller, Agent]),
        ];
        for (mode, listener, expected) in rows {
            assert_eq!(sources(mode, listener), expected, "{mode:?} {listener:?}");
            assert!(!sources(mode, listener).contains(&listener));
        }
        assert!(!mixed(Monitor, Caller) && !mixed(Monitor, Agent) && !mixed(Whisper, Caller));
        assert!(mixed(Whisper, Agent) && mixed(Barge, Caller) && mixed(Monitor, Supervisor));
    }

    #[test]
    fn frames_are_summed_clipped_and_padded_with_silence() {
        let mut mixer = Mixer::default();
        mixer.push(Caller, &[1000; FRAME]);
        mixer.push(Agent, &[30_000; FRAME]);
        // The supervisor's packet is 30 ms: a frame and a half.
        mixer.push(Supervisor, &[5000; FRAME + FRAME / 2]);
        let frames = mixer.take();
        let mut out = [0; FRAME];
        heard(&frames, Barge, Caller, &mut out);
        assert_eq!(out, [i16::MAX; FRAME], "30000 + 5000 clips");
        heard(&frames, Whisper, Agent, &mut out);
        assert_eq!(out, [6000; FRAME]);
        heard(&frames, Monitor, Agent, &mut out);
        assert_eq!(out, [1000; FRAME]);
        // Next: only the rest of the supervisor's packet, then silence.
        let frames = mixer.take();
        heard(&frames, Barge, Agent, &mut out);
        assert_eq!(&out[..FRAME / 2], &[5000; FRAME / 2]);
        assert_eq!(&out[FRAME / 2..], &[0; FRAME / 2]);
    }

    /// A party sending faster than the clock (a burst after a network stall) is held to 60 ms
    /// behind it: the oldest goes, so the delay never grows.
    #[test]
    fn a_burst_is_cut_to_the_newest_60_ms() {
        let mut mixer = Mixer::default();
        for n in 0..10 {
            mixer.push(Caller, &[n; FRAME]);
        }
        assert_eq!(mixer.take()[Caller as usize], [7; FRAME]);
        assert_eq!(mixer.take()[Caller as usize], [8; FRAME]);
        assert_eq!(mixer.take()[Caller as usize], [9; FRAME]);
        assert_eq!(mixer.take()[Caller as usize], [0; FRAME]);
        mixer.push(Agent, &[3; 10]);
        mixer.clear();
        assert_eq!(mixer.take()[Agent as usize], [0; FRAME]);
    }
}
