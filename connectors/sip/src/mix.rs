//! Who hears whom on a call with a third party: a supervisor who monitors (listens, unheard),
//! whispers (heard by the agent only) or barges (heard by both); a colleague the agent consults
//! (the caller on hold meanwhile) or brings into a conference. Pure: [`sources`] is the rule,
//! [`Mixer`] turns what each party said into the next 20 ms each listener hears. The media shell
//! ([`crate::media`]) relays packets untouched where a listener hears one party only, and mixes
//! on its 20 ms clock where it hears two.

use std::collections::VecDeque;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;

/// How far a party's audio may run ahead of the mixing clock before its oldest is dropped: 60 ms
/// (network jitter, and phones sending 30 ms packets). The delay it adds is bounded by this.
const MOST_WAITING: usize = 3 * FRAME;

/// How a third party takes part in a call: a supervisor's monitor, whisper and barge, a
/// colleague's consult and conference, as the field names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mix {
    /// Hears the caller and the agent; nobody hears them.
    Monitor,
    /// Hears both; only the agent hears them (coaching).
    Whisper,
    /// Hears both and both hear them: a three-way call.
    Barge,
    /// Talks with the agent alone; the caller is on hold (music, from the media shell).
    Consult,
    /// The agent's colleague on a three-way call: everyone hears everyone.
    Conference,
}

impl Mix {
    /// A supervisor's way in (the others are a colleague's).
    pub fn supervising(self) -> bool {
        matches!(self, Mix::Monitor | Mix::Whisper | Mix::Barge)
    }
}

/// The parties of a call's audio, as indexes into a [`Mixer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Caller = 0,
    Agent = 1,
    /// A supervisor, or a colleague the agent consults.
    Third = 2,
}

/// Whom `listener` hears while a third party takes part as `mode`.
pub fn sources(mode: Mix, listener: Party) -> &'static [Party] {
    use Mix::*;
    use Party::*;
    match (mode, listener) {
        (Consult, Third) => &[Agent],
        (_, Third) => &[Caller, Agent],
        (Monitor | Whisper, Caller) => &[Agent],
        (Barge | Conference, Caller) => &[Agent, Third],
        (Consult, Caller) => &[],
        (Monitor, Agent) => &[Caller],
        (Whisper | Barge | Conference, Agent) => &[Caller, Third],
        (Consult, Agent) => &[Third],
    }
}

/// Whether `listener` hears other than what the caller and the agent hear of each other alone,
/// so gets our mix (else the other's packets are relayed as they come).
pub fn mixed(mode: Mix, listener: Party) -> bool {
    match listener {
        Party::Caller => sources(mode, listener) != [Party::Agent],
        Party::Agent => sources(mode, listener) != [Party::Caller],
        Party::Third => true,
    }
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
pub fn heard(frames: &[[i16; FRAME]; 3], mode: Mix, listener: Party, out: &mut [i16; FRAME]) {
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
    use Mix::*;
    use Party::*;

    /// The rule as a table: nobody ever hears themselves; a supervisor always hears both, the
    /// caller hears them only on a barge, the agent on a whisper or a barge; a consulted colleague
    /// and the agent hear each other only while the caller holds, and all three hear the others
    /// in a conference.
    #[test]
    fn who_hears_whom() {
        let rows: [(Mix, Party, &[Party]); 15] = [
            (Monitor, Caller, &[Agent]),
            (Monitor, Agent, &[Caller]),
            (Monitor, Third, &[Caller, Agent]),
            (Whisper, Caller, &[Agent]),
            (Whisper, Agent, &[Caller, Third]),
            (Whisper, Third, &[Caller, Agent]),
            (Barge, Caller, &[Agent, Third]),
            (Barge, Agent, &[Caller, Third]),
            (Barge, Third, &[Caller, Agent]),
            (Consult, Caller, &[]),
            (Consult, Agent, &[Third]),
            (Consult, Third, &[Agent]),
            (Conference, Caller, &[Agent, Third]),
            (Conference, Agent, &[Caller, Third]),
            (Conference, Third, &[Caller, Agent]),
        ];
        for (mode, listener, expected) in rows {
            assert_eq!(sources(mode, listener), expected, "{mode:?} {listener:?}");
            assert!(!sources(mode, listener).contains(&listener));
        }
        assert!(!mixed(Monitor, Caller) && !mixed(Monitor, Agent) && !mixed(Whisper, Caller));
        assert!(mixed(Whisper, Agent) && mixed(Barge, Caller) && mixed(Monitor, Third));
        assert!(mixed(Consult, Caller) && mixed(Consult, Agent) && mixed(Conference, Caller));
    }

    #[test]
    fn frames_are_summed_clipped_and_padded_with_silence() {
        let mut mixer = Mixer::default();
        mixer.push(Caller, &[1000; FRAME]);
        mixer.push(Agent, &[30_000; FRAME]);
        // The supervisor's packet is 30 ms: a frame and a half.
        mixer.push(Third, &[5000; FRAME + FRAME / 2]);
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
