//! Staffing: how many agents an interval needs for a service-level target, from the contacts it
//! brings and their handle time. Erlang C (M/M/n: nobody gives up) and Erlang A (M/M/n+M:
//! callers give up after an exponential patience), both pure; the staffing report and the
//! what-if calculator call them. Formulas in docs/metrics.md.

use serde::{Deserialize, Serialize};

/// What an interval brings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Load {
    /// Contacts offered in the interval.
    pub contacts: f64,
    pub interval_secs: f64,
    /// Average handle time (talk + hold + wrap-up).
    pub aht_secs: f64,
    /// Average patience before a waiting caller gives up; `None`: nobody does (Erlang C).
    pub patience_secs: Option<f64>,
}

impl Load {
    /// Offered traffic in Erlangs: the agents kept busy on average.
    pub fn erlangs(&self) -> f64 {
        if self.interval_secs <= 0.0 {
            return 0.0;
        }
        self.contacts * self.aht_secs / self.interval_secs
    }
}

/// What `agents` would achieve under a load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub agents: u32,
    /// Share of contacts that wait at all.
    pub p_wait: f64,
    /// Share of contacts answered within the threshold.
    pub service_level: f64,
    /// Average wait of answered contacts.
    pub asa_secs: f64,
    /// Traffic carried ÷ agents.
    pub occupancy: f64,
    /// Share of contacts that give up (0 under Erlang C).
    pub abandon_rate: f64,
}

/// Erlang B, the blocking probability of `a` Erlangs on `n` lines, by the recursion
/// B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)), which never overflows.
pub fn erlang_b(a: f64, n: u32) -> f64 {
    let mut b = 1.0;
    for k in 1..=n {
        b = a * b / (f64::from(k) + a * b);
    }
    b
}

/// Erlang C, the probability that a contact waits: C = n·B / (n − a·(1 − B)); 1 when n ≤ a
/// (the queue grows without bound).
pub fn erlang_c(a: f64, n: u32) -> f64 {
    let nf = f64::from(n);
    if nf <= a {
        return 1.0;
    }
    let b = erlang_b(a, n);
    nf * b / (nf - a * (1.0 - b))
}

/// Erlang C's figures for `n` agents: SL = 1 − C·e^(−(n−a)·T/AHT), ASA = C·AHT / (n − a).
pub fn erlang_c_outcome(load: &Load, n: u32, threshold_secs: f64) -> Outcome {
    let a = load.erlangs();
    let nf = f64::from(n);
    let c = erlang_c(a, n);
    let (service_level, asa_secs) = if nf <= a {
        (0.0, f64::INFINITY)
    } else {
        let sl = 1.0 - c * (-(nf - a) * threshold_secs / load.aht_secs).exp();
        (sl, c * load.aht_secs / (nf - a))
    };
    Outcome {
        agents: n,
        p_wait: c,
        service_level,
        asa_secs,
        occupancy: if n == 0 { 1.0 } else { (a / nf).min(1.0) },
        abandon_rate: 0.0,
    }
}

/// Erlang A's figures for `n` agents. The number in the system is a birth-death chain (arrivals
/// λ; departures k·μ up to n, then n·μ + (k − n)·θ), solved for its stationary law π. An arrival
/// that finds j waiting ahead is answered after passing positions j…0, each left at rate
/// n·μ + i·θ + θ, unless it gives up (rate θ) first; the chance of that within T is found for all
/// positions at once by uniformisation.
pub fn erlang_a_outcome(load: &Load, n: u32, threshold_secs: f64, patience_secs: f64) -> Outcome {
    let lambda = load.contacts / load.interval_secs;
    let mu = 1.0 / load.aht_secs;
    let theta = 1.0 / patience_secs;
    let nf = f64::from(n);
    // log π_k, unnormalised, up to where the tail stops mattering.
    let mut logs = vec![0.0f64];
    let mut k = 0u32;
    loop {
        k += 1;
        let death = if k <= n {
            f64::from(k) * mu
        } else {
            nf * mu + f64::from(k - n) * theta
        };
        let next = logs[logs.len() - 1] + (lambda / death).ln();
        logs.push(next);
        let peak = logs.iter().copied().fold(f64::MIN, f64::max);
        if k > n && lambda < death && next < peak - 40.0 {
            break;
        }
        if k > n + 100_000 {
            break;
        }
    }
    let peak = logs.iter().copied().fold(f64::MIN, f64::max);
    let weights: Vec<f64> = logs.iter().map(|l| (l - peak).exp()).collect();
    let total: f64 = weights.iter().sum();
    let pi: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let n_us = n as usize;
    let p_wait: f64 = pi[n_us.min(pi.len())..].iter().sum();
    let queued: f64 = pi
        .iter()
        .enumerate()
        .skip(n_us)
        .map(|(k, p)| (k - n_us) as f64 * p)
        .sum();
    let abandon_rate = if lambda > 0.0 {
        theta * queued / lambda
    } else {
        0.0
    };

    // Waiting arrivals by position: v[i] = P(an arrival finds i waiting ahead of it).
    let mut v: Vec<f64> = pi[n_us.min(pi.len())..].to_vec();
    let leave = |i: usize| nf * mu + (i as f64 + 1.0) * theta;
    let (mut answered_waiting, mut waited_answered) = (0.0, 0.0);
    for (i, p) in v.iter().enumerate() {
        // Answered: passes every position; its expected wait then is Σ 1 / leave(i).
        let (mut through, mut wait) = (1.0, 0.0);
        for pos in 0..=i {
            through *= (leave(pos) - theta) / leave(pos);
            wait += 1.0 / leave(pos);
        }
        answered_waiting += p * through;
        waited_answered += p * through * wait;
    }
    let answered_at_once: f64 = pi[..n_us.min(pi.len())].iter().sum();
    let answered = answered_at_once + answered_waiting;
    let asa_secs = if answered > 0.0 {
        waited_answered / answered
    } else {
        0.0
    };

    // Uniformisation over [0, T]: Poisson(Λ·T) steps of the jump chain.
    let rate = leave(v.len());
    let steps_mean = rate * threshold_secs;
    let mut answered_by_t = 0.0;
    let (mut answered_so_far, mut poisson) = (0.0, (-steps_mean).exp());
    let mut cumulative = 0.0;
    let most = (steps_mean + 12.0 * steps_mean.sqrt() + 30.0) as usize;
    for m in 0..=most {
        if m > 0 {
            poisson *= steps_mean / m as f64;
            let mut next = vec![0.0; v.len()];
            for (i, p) in v.iter().enumerate() {
                let out = leave(i) / rate;
                next[i] += p * (1.0 - out);
                let advance = (leave(i) - theta) / rate;
                if i == 0 {
                    answered_so_far += p * advance;
                } else {
                    next[i - 1] += p * advance;
                }
            }
            v = next;
        }
        answered_by_t += poisson * answered_so_far;
        cumulative += poisson;
    }
    // Steps beyond `most` (a vanishing weight) have answered at least as many.
    answered_by_t += (1.0 - cumulative).max(0.0) * answered_so_far;
    Outcome {
        agents: n,
        p_wait,
        service_level: answered_at_once + answered_by_t,
        asa_secs,
        occupancy: if n == 0 {
            1.0
        } else {
            (lambda * (1.0 - abandon_rate) / (nf * mu)).min(1.0)
        },
        abandon_rate,
    }
}

/// The figures of `n` agents under the load's model: Erlang A when it has a patience.
pub fn outcome(load: &Load, n: u32, threshold_secs: f64) -> Outcome {
    match load.patience_secs {
        Some(patience) if patience > 0.0 => erlang_a_outcome(load, n, threshold_secs, patience),
        _ => erlang_c_outcome(load, n, threshold_secs),
    }
}

/// The most agents `agents_needed` tries.
pub const MAX_AGENTS: u32 = 5_000;

/// The fewest agents whose service level reaches `target` (0…1); `None` past `MAX_AGENTS` or
/// for a load that cannot be computed (no handle time, an empty interval).
pub fn agents_needed(load: &Load, target: f64, threshold_secs: f64) -> Option<Outcome> {
    if load.contacts <= 0.0 {
        return Some(Outcome {
            agents: 0,
            p_wait: 0.0,
            service_level: 1.0,
            asa_secs: 0.0,
            occupancy: 0.0,
            abandon_rate: 0.0,
        });
    }
    if !(load.aht_secs > 0.0 && load.interval_secs > 0.0 && target.is_finite()) {
        return None;
    }
    // Below the traffic, Erlang C cannot keep up; start there.
    let floor = if load.patience_secs.is_some() {
        1
    } else {
        (load.erlangs().floor() as u32).max(1)
    };
    (floor..=MAX_AGENTS)
        .map(|n| outcome(load, n, threshold_secs))
        .find(|o| o.service_level >= target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(contacts: f64, interval_secs: f64, aht_secs: f64) -> Load {
        Load {
            contacts,
            interval_secs,
            aht_secs,
            patience_secs: None,
        }
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn erlang_b_matches_published_tables() {
        // Erlang B tables (e.g. the ITU-T traffic tables): 10 Erlangs on 10 lines blocks 21.46 %,
        // 2 Erlangs on 3 lines 21.05 % (4/19).
        assert!(close(erlang_b(10.0, 10), 0.2146, 0.0001));
        assert!(close(erlang_b(2.0, 3), 4.0 / 19.0, 1e-12));
    }

    #[test]
    fn erlang_c_matches_the_worked_example() {
        // The worked example published with the Erlang C formula (callcentrehelper.com, "Erlang C
        // formula – made simple"): 100 calls in 30 minutes, AHT 180 s, 80 % in 20 s; 10 Erlangs.
        let l = load(100.0, 1800.0, 180.0);
        assert!(close(l.erlangs(), 10.0, 1e-12));
        let table = [
            // agents, P(wait), service level, ASA
            (11, 0.6821, 0.3896, 122.8),
            (12, 0.4494, 0.6401, 40.4),
            (13, 0.2853, 0.7956, 17.1),
            (14, 0.1741, 0.8884, 7.8),
        ];
        for (n, p_wait, sl, asa) in table {
            let o = erlang_c_outcome(&l, n, 20.0);
            assert!(close(o.p_wait, p_wait, 0.0001), "{n}: P(wait) {}", o.p_wait);
            assert!(close(o.service_level, sl, 0.001), "{n}: SL {}", o.service_level);
            assert!(close(o.asa_secs, asa, 0.1), "{n}: ASA {}", o.asa_secs);
        }
        let needed = agents_needed(&l, 0.8, 20.0).unwrap();
        assert_eq!(needed.agents, 14, "13 agents reach 79.6 %, just short");
        assert!(close(needed.occupancy, 10.0 / 14.0, 1e-12));
        // 2 Erlangs on 3 agents wait with probability 4/9 (the textbook M/M/3 case).
        assert!(close(erlang_c(2.0, 3), 4.0 / 9.0, 1e-12));
        assert_eq!(
            erlang_c(10.0, 10),
            1.0,
            "as many agents as Erlangs: everyone waits"
        );
    }

    #[test]
    fn erlang_a_tends_to_erlang_c_when_nobody_gives_up() {
        let c_load = load(100.0, 1800.0, 180.0);
        let a_load = Load {
            patience_secs: Some(1e9),
            ..c_load
        };
        for n in [11, 12, 13, 16] {
            let c = erlang_c_outcome(&c_load, n, 20.0);
            let a = outcome(&a_load, n, 20.0);
            assert!(
                close(a.p_wait, c.p_wait, 1e-4),
                "{n}: {} vs {}",
                a.p_wait,
                c.p_wait
            );
            assert!(
                close(a.service_level, c.service_level, 1e-4),
                "{n}: {a:?} vs {c:?}"
            );
            assert!(close(a.asa_secs, c.asa_secs, 0.05), "{n}: {a:?} vs {c:?}");
            assert!(a.abandon_rate < 1e-4);
        }
    }

    #[test]
    fn erlang_a_with_impatient_callers_needs_fewer_agents_and_loses_some() {
        let impatient = Load {
            patience_secs: Some(60.0),
            ..load(100.0, 1800.0, 180.0)
        };
        // Even with as many agents as Erlangs the queue stays finite: people leave it.
        let at_traffic = outcome(&impatient, 10, 20.0);
        assert!(at_traffic.p_wait < 1.0 && at_traffic.service_level > 0.0);
        assert!(at_traffic.abandon_rate > 0.05 && at_traffic.abandon_rate < 0.5);
        // Those who give up are not served: answered + abandoned = 1, two ways of counting.
        let answered_share = 1.0 - at_traffic.abandon_rate;
        assert!(at_traffic.service_level <= answered_share + 1e-9);
        let needed_a = agents_needed(&impatient, 0.8, 20.0).unwrap().agents;
        let needed_c = agents_needed(&load(100.0, 1800.0, 180.0), 0.8, 20.0)
            .unwrap()
            .agents;
        assert!(needed_a <= needed_c, "{needed_a} vs {needed_c}");
        // More agents: never a worse service level.
        let mut last = 0.0;
        for n in 5..20 {
            let sl = outcome(&impatient, n, 20.0).service_level;
            assert!(sl + 1e-12 >= last, "{n}");
            last = sl;
        }
    }

    #[test]
    fn an_empty_interval_needs_nobody() {
        let o = agents_needed(&load(0.0, 900.0, 180.0), 0.8, 20.0).unwrap();
        assert_eq!(o.agents, 0);
        assert_eq!(agents_needed(&load(5.0, 900.0, 0.0), 0.8, 20.0), None);
    }
}
