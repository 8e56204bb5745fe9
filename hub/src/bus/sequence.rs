//! The gap check of one key's frames as this node hears them from Redis, with no IO: every frame
//! published for a key carries the next number of that key's counter (`INCR` in the same Lua
//! script as the `PUBLISH`), so a node that sees a number skipped knows it missed a frame.
//!
//! Pub/sub loses nothing on a healthy connection; frames go missing around it: before this
//! node's `SUBSCRIBE` took effect, while the connection was down, or when a publisher's script
//! ran but its reply was lost. Numbers are what let the first and last cases be seen.

/// What to do with a frame just heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Deliver,
    /// Frames were missed (`expected` was due, `got` came): the key's local subscribers must
    /// resynchronise from the store.
    Gap {
        expected: u64,
        got: u64,
    },
}

/// One subscribed key's place in its sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Feed {
    /// `SUBSCRIBE` is confirmed but the key's counter has not been read yet; `last` is the newest
    /// number heard meanwhile.
    Subscribing { last: Option<u64> },
    /// `floor` is the counter as read just after the subscription took effect; `last` the newest
    /// number heard. Until a frame is heard, a number at or below the floor is one published
    /// between the `SUBSCRIBE` and the read, and is due.
    Live { floor: u64, last: Option<u64> },
}

impl Feed {
    pub(crate) fn new() -> Feed {
        Feed::Subscribing { last: None }
    }

    /// The key's counter, read after the subscription was confirmed.
    pub(crate) fn counted(&mut self, counter: u64) {
        if let Feed::Subscribing { last } = *self {
            *self = Feed::Live { floor: counter, last };
        }
    }

    pub(crate) fn heard(&mut self, seq: u64) -> Verdict {
        let (last, floor) = match self {
            Feed::Subscribing { last } => (last, None),
            Feed::Live { floor, last } => (last, Some(*floor)),
        };
        let verdict = match (*last, floor) {
            (Some(prev), _) if seq == prev + 1 => Verdict::Deliver,
            (Some(prev), _) => Verdict::Gap {
                expected: prev + 1,
                got: seq,
            },
            (None, Some(floor)) if seq > floor + 1 => Verdict::Gap {
                expected: floor + 1,
                got: seq,
            },
            (None, _) => Verdict::Deliver,
        };
        *last = Some(seq);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Step {
        Counted(u64),
        Heard(u64, Verdict),
    }
    use Step::*;
    use Verdict::*;

    fn gap(expected: u64, got: u64) -> Verdict {
        Gap { expected, got }
    }

    #[test]
    fn scenarios() {
        let table: &[(&str, &[Step])] = &[
            (
                "in order after the counter",
                &[Counted(7), Heard(8, Deliver), Heard(9, Deliver)],
            ),
            (
                "published between SUBSCRIBE and the read: due, then the count goes on",
                &[
                    Counted(9),
                    Heard(8, Deliver),
                    Heard(9, Deliver),
                    Heard(10, Deliver),
                ],
            ),
            (
                "one skipped after the counter",
                &[Counted(7), Heard(9, gap(8, 9))],
            ),
            (
                "one skipped later",
                &[
                    Counted(0),
                    Heard(1, Deliver),
                    Heard(2, Deliver),
                    Heard(4, gap(3, 4)),
                ],
            ),
            (
                "heard before the counter is read",
                &[
                    Heard(5, Deliver),
                    Heard(6, Deliver),
                    Counted(6),
                    Heard(7, Deliver),
                ],
            ),
            (
                "a skip before the counter is read",
                &[Heard(5, Deliver), Heard(7, gap(6, 7))],
            ),
            (
                "the counter expired and started again",
                &[Counted(40), Heard(41, Deliver), Heard(1, gap(42, 1))],
            ),
            (
                "a number heard twice",
                &[Counted(3), Heard(4, Deliver), Heard(4, gap(5, 4))],
            ),
            ("a brand-new key", &[Counted(0), Heard(1, Deliver)]),
        ];
        for (name, steps) in table {
            let mut feed = Feed::new();
            for (i, step) in steps.iter().enumerate() {
                match step {
                    Counted(n) => feed.counted(*n),
                    Heard(seq, want) => assert_eq!(feed.heard(*seq), *want, "{name}: step {i}"),
                }
            }
        }
    }
}
