//! The arithmetic of the load tools, with no IO: percentiles, and the chat generator's account of
//! every message it scheduled (sent, acked, delivered, lost, duplicated, stored by the hub).
//!
//! The generator is open loop: each message has a time it is due, fixed before the run; latency
//! is counted from that time, so a generator that falls behind (or a hub that pushes back on its
//! sockets) shows up in the figures instead of quietly lowering the rate (coordinated omission).

use std::collections::{HashMap, HashSet};

/// The nearest-rank percentile (`p` in 0..=1) of values sorted ascending; `None` when empty.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    // Less a hair: 0.07 × 100 is 7.000000000000001 in floating point, and its rank is 7, not 8.
    let rank = (p.clamp(0.0, 1.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One message of the run: which widget sent it and its number there. On the wire it is the
/// message's `client_id`, so the agent's copy, the ack and the hub's stored row all carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    pub widget: u32,
    pub seq: u32,
}

impl MessageId {
    pub fn client_id(self) -> String {
        format!("w{}-{}", self.widget, self.seq)
    }

    pub fn parse(client_id: &str) -> Option<MessageId> {
        let (widget, seq) = client_id.strip_prefix('w')?.split_once('-')?;
        Some(MessageId {
            widget: widget.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// A message the generator scheduled, as its widget saw it. Times are µs since the run's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduled {
    pub id: MessageId,
    pub due_us: u64,
    /// When it was written to the socket; `None` if the run ended (or the socket died) first.
    pub sent_us: Option<u64>,
    /// The hub's `message.ack` came back (sent only after the message is committed).
    pub acked: bool,
}

/// An agent console receiving a customer message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub id: MessageId,
    pub at_us: u64,
}

/// The measured part of a run: messages due in `[start_us, end_us)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_us: u64,
    pub end_us: u64,
}

impl Window {
    pub fn contains(self, t_us: u64) -> bool {
        (self.start_us..self.end_us).contains(&t_us)
    }

    pub fn secs(self) -> f64 {
        self.end_us.saturating_sub(self.start_us) as f64 / 1e6
    }
}

/// What became of the messages due inside the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    pub scheduled: u64,
    pub sent: u64,
    pub acked: u64,
    /// Distinct messages that reached an agent at least once.
    pub delivered: u64,
    /// Acked (so committed by the hub) but never received by an agent.
    pub lost: u64,
    /// Sent but never acked (whether or not an agent got it).
    pub unacked: u64,
    /// Messages an agent received more than once.
    pub duplicated: u64,
    /// Receipts (any time) of ids the generator never scheduled.
    pub unknown: u64,
    /// First receipt − due time, µs, sorted.
    pub latency_us: Vec<u64>,
    /// Actual send − due time, µs, sorted: how far the generator itself fell behind.
    pub send_lag_us: Vec<u64>,
    /// When the last of the window's messages first reached an agent (µs since the epoch).
    pub last_receipt_us: Option<u64>,
}

impl Delivery {
    /// Messages delivered per second: over the window, or longer if the hub took longer to
    /// deliver what was due in it.
    pub fn delivered_per_sec(&self, window: Window) -> f64 {
        let end = self.last_receipt_us.unwrap_or(0).max(window.end_us);
        self.delivered as f64 / (end.saturating_sub(window.start_us) as f64 / 1e6).max(1e-9)
    }
}

pub fn tally(scheduled: &[Scheduled], receipts: &[Receipt], window: Window) -> Delivery {
    // First receipt and number of receipts of every id.
    let mut got: HashMap<MessageId, (u64, u32)> = HashMap::with_capacity(receipts.len());
    for r in receipts {
        let e = got.entry(r.id).or_insert((r.at_us, 0));
        e.0 = e.0.min(r.at_us);
        e.1 += 1;
    }
    let known: HashSet<MessageId> = scheduled.iter().map(|s| s.id).collect();
    let mut d = Delivery {
        unknown: receipts.iter().filter(|r| !known.contains(&r.id)).count() as u64,
        ..Delivery::default()
    };
    for s in scheduled.iter().filter(|s| window.contains(s.due_us)) {
        d.scheduled += 1;
        if let Some(sent) = s.sent_us {
            d.sent += 1;
            d.send_lag_us.push(sent.saturating_sub(s.due_us));
            if !s.acked {
                d.unacked += 1;
            }
        }
        d.acked += u64::from(s.acked);
        match got.get(&s.id) {
            Some(&(first, count)) => {
                d.delivered += 1;
                d.duplicated += u64::from(count > 1);
                d.latency_us.push(first.saturating_sub(s.due_us));
                d.last_receipt_us = Some(d.last_receipt_us.unwrap_or(0).max(first));
            }
            None if s.acked => d.lost += 1,
            None => {}
        }
    }
    d.latency_us.sort_unstable();
    d.send_lag_us.sort_unstable();
    d
}

/// Receipts (of any message) that arrived inside the window: what the hub delivered while its
/// CPU was being measured.
pub fn received_during(receipts: &[Receipt], window: Window) -> u64 {
    receipts.iter().filter(|r| window.contains(r.at_us)).count() as u64
}

/// The hub's own record of the window's messages, beside the generator's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Window messages the hub has a row for.
    pub stored: u64,
    /// Acked by the hub, yet not in its store: an ack before commit, or a lost write.
    pub acked_not_stored: u64,
    /// Stored, yet never received by an agent.
    pub stored_not_delivered: u64,
}

pub fn stored(
    scheduled: &[Scheduled],
    receipts: &[Receipt],
    rows: &HashSet<MessageId>,
    window: Window,
) -> Stored {
    let received: HashSet<MessageId> = receipts.iter().map(|r| r.id).collect();
    let mut s = Stored::default();
    for m in scheduled.iter().filter(|m| window.contains(m.due_us)) {
        let row = rows.contains(&m.id);
        s.stored += u64::from(row);
        s.acked_not_stored += u64::from(m.acked && !row);
        s.stored_not_delivered += u64::from(row && !received.contains(&m.id));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(widget: u32, seq: u32) -> MessageId {
        MessageId { widget, seq }
    }

    fn sched(widget: u32, seq: u32, due_us: u64, sent_us: Option<u64>, acked: bool) -> Scheduled {
        Scheduled {
            id: id(widget, seq),
            due_us,
            sent_us,
            acked,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 0.999), Some(100));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
        // One slow message in a hundred is the p99, not hidden by rounding down.
        let mut w = vec![1u64; 99];
        w.push(1000);
        assert_eq!(percentile(&w, 0.99), Some(1));
        w.push(1000);
        assert_eq!(percentile(&w, 0.99), Some(1000));
    }

    #[test]
    fn message_ids_round_trip_through_client_ids() {
        let m = id(1999, 40_000);
        assert_eq!(m.client_id(), "w1999-40000");
        assert_eq!(MessageId::parse(&m.client_id()), Some(m));
        for bad in ["", "w", "w1", "w1-", "x1-2", "w-1", "w1-2-3", "start-abc"] {
            assert_eq!(MessageId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_messages_due_in_the_window_count() {
        let window = Window {
            start_us: 1_000,
            end_us: 2_000,
        };
        let s = [
            sched(0, 0, 500, Some(500), true),     // warm-up
            sched(0, 1, 1_000, Some(1_000), true), // first in the window
            sched(0, 2, 1_999, Some(2_100), true), // last, sent late
            sched(0, 3, 2_000, Some(2_000), true), // after
        ];
        let r = [
            Receipt {
                id: id(0, 0),
                at_us: 1_200,
            },
            Receipt {
                id: id(0, 1),
                at_us: 1_010,
            },
            Receipt {
                id: id(0, 2),
                at_us: 2_300,
            },
            Receipt {
                id: id(0, 3),
                at_us: 2_010,
            },
        ];
        let d = tally(&s, &r, window);
        assert_eq!((d.scheduled, d.sent, d.acked, d.delivered), (2, 2, 2, 2));
        // Latency from the due time, not from the (late) send.
        assert_eq!(d.latency_us, vec![10, 301]);
        assert_eq!(d.send_lag_us, vec![0, 101]);
        assert_eq!(d.last_receipt_us, Some(2_300));
        // Two delivered over 1.3 s: the window plus the time the last one took.
        assert!((d.delivered_per_sec(window) - 2.0 / 1.3e-3).abs() < 1e-6);
        // What was received while the CPU was measured: the warm-up message too.
        assert_eq!(received_during(&r, window), 2);
    }

    #[test]
    fn lost_unacked_duplicated_and_unknown() {
        let window = Window {
            start_us: 0,
            end_us: 10_000,
        };
        let s = [
            sched(1, 0, 0, Some(0), true),      // delivered twice
            sched(1, 1, 100, Some(100), true),  // acked, never delivered: lost
            sched(1, 2, 200, Some(200), false), // delivered, never acked
            sched(1, 3, 300, Some(300), false), // neither: unacked, not lost
            sched(1, 4, 400, None, false),      // never sent
        ];
        let r = [
            Receipt {
                id: id(1, 0),
                at_us: 50,
            },
            Receipt {
                id: id(1, 0),
                at_us: 70,
            },
            Receipt {
                id: id(1, 2),
                at_us: 260,
            },
            Receipt {
                id: id(9, 9),
                at_us: 300,
            },
        ];
        let d = tally(&s, &r, window);
        assert_eq!(d.scheduled, 5);
        assert_eq!(d.sent, 4);
        assert_eq!(d.acked, 2);
        assert_eq!(d.delivered, 2);
        assert_eq!(d.lost, 1);
        assert_eq!(d.unacked, 2);
        assert_eq!(d.duplicated, 1);
        assert_eq!(d.unknown, 1);
        assert_eq!(d.latency_us, vec![50, 60]);

        let rows: HashSet<MessageId> = [id(1, 0), id(1, 2), id(1, 3)].into();
        let st = stored(&s, &r, &rows, window);
        assert_eq!(st.stored, 3);
        assert_eq!(st.acked_not_stored, 1); // (1, 1)
        assert_eq!(st.stored_not_delivered, 1); // (1, 3)
    }
}
