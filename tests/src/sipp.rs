//! The call benchmark's bookkeeping, with no IO: which number each sipp call dials from, and
//! what sipp's own log says happened to it and when.
//!
//! The benchmark's caller scenarios (`connectors/sip/tests/sipp/caller_*.xml`) take their From
//! number from an injection file (`-inf`, one line per call, in order) and, run with
//! `-trace_logs`, write one line per step: `NUMBER invite|answered|bye DATE TIME EPOCH.MICROS`
//! (sipp's `[timestamp]`). The number ties a call to the hub's record of it (the customer's phone
//! identity); the INVITE's time is where "dialled → answered" starts.

use std::collections::HashMap;

/// The first caller number: US numbers +1 415 200-0000 onwards, all valid, one per call.
const FIRST_NUMBER: u64 = 14_152_000_000;

/// The number call `index` (0-based, the order sipp starts them in) dials from.
pub fn caller_number(index: u64) -> String {
    format!("+{}", FIRST_NUMBER + index)
}

/// Which call a number belongs to.
pub fn call_index(number: &str) -> Option<u64> {
    number
        .strip_prefix('+')?
        .parse::<u64>()
        .ok()?
        .checked_sub(FIRST_NUMBER)
}

/// The `-inf` file for `calls` calls: each call takes the next line.
pub fn injection_file(calls: u64) -> String {
    let mut csv = String::from("SEQUENTIAL\n");
    for i in 0..calls {
        csv.push_str(&caller_number(i));
        csv.push_str(";\n");
    }
    csv
}

/// What the caller saw of one call, in µs since the Unix epoch (sipp's clock is the wall clock,
/// the same one the hub stamps its events with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallTimes {
    pub invite_us: Option<i64>,
    /// The 200 to the INVITE: through Kamailio, the desk phone answering; from the hub, the hub
    /// picking up with its greeting and music (the agent answers later, on another leg).
    pub answered_us: Option<i64>,
    pub bye_us: Option<i64>,
}

/// `1795830642.326746` → µs.
fn epoch_us(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    if frac.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: i64 = format!("{frac:0<6}").parse().ok()?;
    Some(secs.parse::<i64>().ok()? * 1_000_000 + micros)
}

/// Every call in a caller's log, by index. Lines that are not ours are skipped; a step logged
/// twice keeps its first time.
pub fn parse_log(text: &str) -> HashMap<u64, CallTimes> {
    let mut calls: HashMap<u64, CallTimes> = HashMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(number), Some(step), Some(at)) = (fields.first(), fields.get(1), fields.last()) else {
            continue;
        };
        let (Some(index), Some(at)) = (call_index(number), epoch_us(at)) else {
            continue;
        };
        let call = calls.entry(index).or_default();
        let slot = match *step {
            "invite" => &mut call.invite_us,
            "answered" => &mut call.answered_us,
            "bye" => &mut call.bye_us,
            _ => continue,
        };
        slot.get_or_insert(at);
    }
    calls
}

/// How the calls were offered: how many INVITEs sipp sent, at what rate, and how far behind its
/// schedule (call i due at the first INVITE + i / rate) it sent them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offered {
    pub invites: u64,
    pub per_sec: f64,
    pub first_us: i64,
    pub last_us: i64,
    /// µs, sorted.
    pub lag_us: Vec<u64>,
}

pub fn offered(calls: &HashMap<u64, CallTimes>, rate: f64) -> Offered {
    let mut invites: Vec<(u64, i64)> = calls
        .iter()
        .filter_map(|(&i, c)| c.invite_us.map(|t| (i, t)))
        .collect();
    if invites.is_empty() {
        return Offered::default();
    }
    invites.sort_unstable();
    let first_us = invites.iter().map(|&(_, t)| t).min().unwrap_or(0);
    let last_us = invites.iter().map(|&(_, t)| t).max().unwrap_or(0);
    // Call 0 is the schedule's origin: sipp starts its clock with it.
    let origin = invites[0].1 - (invites[0].0 as f64 * 1e6 / rate) as i64;
    let mut lag_us: Vec<u64> = invites
        .iter()
        .map(|&(i, t)| (t - origin - (i as f64 * 1e6 / rate) as i64).max(0) as u64)
        .collect();
    lag_us.sort_unstable();
    let n = invites.len() as u64;
    let span = (last_us - first_us) as f64 / 1e6;
    Offered {
        invites: n,
        per_sec: if n > 1 && span > 0.0 {
            (n - 1) as f64 / span
        } else {
            0.0
        },
        first_us,
        last_us,
        lag_us,
    }
}

/// Dialled → answered in µs, sorted, for every call with both: its INVITE from the caller's log,
/// its answer from `answered_us` (epoch µs by call index: the hub's `interaction.accepted`, or
/// for a plain proxy the caller's 200).
pub fn setup_us(calls: &HashMap<u64, CallTimes>, answered_us: &HashMap<u64, i64>) -> Vec<u64> {
    let mut v: Vec<u64> = answered_us
        .iter()
        .filter_map(|(i, &at)| Some((at - calls.get(i)?.invite_us?).max(0) as u64))
        .collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_index_calls() {
        assert_eq!(caller_number(0), "+14152000000");
        assert_eq!(caller_number(12_345), "+14152012345");
        assert_eq!(call_index("+14152012345"), Some(12_345));
        assert_eq!(call_index("+14152000000"), Some(0));
        assert_eq!(call_index("+14151999999"), None);
        assert_eq!(call_index("14152000001"), None);
        assert_eq!(call_index("+1415abc"), None);
        let csv = injection_file(3);
        assert_eq!(csv, "SEQUENTIAL\n+14152000000;\n+14152000001;\n+14152000002;\n");
    }

    #[test]
    fn reads_sipp_timestamps() {
        assert_eq!(epoch_us("1795830642.326746"), Some(1_795_830_642_326_746));
        assert_eq!(epoch_us("1795830642.5"), Some(1_795_830_642_500_000));
        assert_eq!(epoch_us("1795830642"), Some(1_795_830_642_000_000));
        assert_eq!(epoch_us("17958x"), None);
        assert_eq!(epoch_us("1.1234567"), None);
    }

    #[test]
    fn parses_a_caller_log() {
        let log = "+14152000000 invite 2026-11-28\t01:50:42.326746\t1795830642.326746\n\
                   +14152000000 answered 2026-11-28\t01:50:42.330000\t1795830642.330000\n\
                   +14152000001 invite 2026-11-28\t01:50:42.427011\t1795830642.427011\n\
                   +14152000000 bye 2026-11-28\t01:50:43.000000\t1795830643.000000\n\
                   +14152000000 bye 2026-11-28\t01:50:44.000000\t1795830644.000000\n\
                   something else entirely\n\
                   +14152000002 ringing 2026-11-28\t01:50:42.5\t1795830642.5\n";
        let calls = parse_log(log);
        assert_eq!(calls.len(), 3);
        assert_eq!(
            calls[&0],
            CallTimes {
                invite_us: Some(1_795_830_642_326_746),
                answered_us: Some(1_795_830_642_330_000),
                bye_us: Some(1_795_830_643_000_000), // the first one
            }
        );
        assert_eq!(calls[&1].answered_us, None);
        assert_eq!(calls[&2], CallTimes::default());
    }

    #[test]
    fn offered_rate_and_schedule_lag() {
        // 10 calls/s: due at 0, 100, 200, 300 ms; the third sent 50 ms late, the fourth on time.
        let t0 = 1_000_000_000_000_000i64;
        let calls: HashMap<u64, CallTimes> = [(0, 0), (1, 100_000), (2, 250_000), (3, 300_000)]
            .into_iter()
            .map(|(i, dt)| {
                let c = CallTimes {
                    invite_us: Some(t0 + dt),
                    ..CallTimes::default()
                };
                (i, c)
            })
            .chain([(7, CallTimes::default())]) // never dialled
            .collect();
        let o = offered(&calls, 10.0);
        assert_eq!(o.invites, 4);
        assert!((o.per_sec - 10.0).abs() < 1e-9);
        assert_eq!(o.lag_us, vec![0, 0, 0, 50_000]);
        assert_eq!(offered(&HashMap::new(), 10.0), Offered::default());

        let answered: HashMap<u64, i64> = [(0, t0 + 7_000), (2, t0 + 1_250_000), (9, 0)].into();
        assert_eq!(setup_us(&calls, &answered), vec![7_000, 1_000_000]);
    }
}
