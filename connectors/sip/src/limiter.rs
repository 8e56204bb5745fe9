//! The per-source-address limit on failed authentications. The service asks it before doing any
//! digest work for a REGISTER and tells it about each failure, so a password-guessing flood from
//! one address is refused cheaply while every other address is served as usual. Pure: time is a
//! parameter; memory is bounded by the addresses that failed within one window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Failures allowed from one address within `window`; the next request is refused.
    pub max_failures: u32,
    /// A fixed window, counted from the first failure in it.
    pub window: Duration,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            max_failures: 10,
            window: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
pub struct AuthLimiter {
    config: LimiterConfig,
    windows: HashMap<IpAddr, Window>,
}

impl AuthLimiter {
    pub fn new(config: LimiterConfig) -> Self {
        AuthLimiter {
            config,
            windows: HashMap::new(),
        }
    }

    fn live(&self, ip: IpAddr, now: Instant) -> Option<&Window> {
        self.windows
            .get(&ip)
            .filter(|w| now.saturating_duration_since(w.start) < self.config.window)
    }

    /// `None` if `ip` may try to authenticate now, else how long until it may.
    pub fn blocked_for(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        self.live(ip, now)
            .filter(|w| w.failures >= self.config.max_failures)
            .map(|w| self.config.window - now.saturating_duration_since(w.start))
    }

    pub fn failed(&mut self, ip: IpAddr, now: Instant) {
        let failures = self.live(ip, now).map_or(0, |w| w.failures);
        let start = self.live(ip, now).map_or(now, |w| w.start);
        self.windows.insert(
            ip,
            Window {
                start,
                failures: failures + 1,
            },
        );
    }

    /// Forgets windows that have ended.
    pub fn purge(&mut self, now: Instant) {
        let window = self.config.window;
        self.windows
            .retain(|_, w| now.saturating_duration_since(w.start) < window);
    }

    pub fn tracked(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_from_one_address_does_not_block_another() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut l = AuthLimiter::new(LimiterConfig {
            max_failures: 3,
            window: Duration::from_secs(60),
        });
        // (what, event: Some(ip) = a failure from ip / None = just check, secs, a blocked for, b blocked)
        let rows = [
            ("fresh", None, 0, None, false),
            ("first failure", Some(a), 0, None, false),
            ("second", Some(a), 10, None, false),
            ("third reaches the limit", Some(a), 20, Some(40), false),
            ("b fails once", Some(b), 21, Some(39), false),
            ("still blocked", None, 59, Some(1), false),
            ("window over", None, 60, None, false),
            ("a new window starts", Some(a), 61, None, false),
        ];
        for (what, event, secs, a_blocked, b_blocked) in rows {
            if let Some(ip) = event {
                l.failed(ip, at(secs));
            }
            assert_eq!(
                l.blocked_for(a, at(secs)),
                a_blocked.map(Duration::from_secs),
                "{what}"
            );
            assert_eq!(l.blocked_for(b, at(secs)).is_some(), b_blocked, "{what}");
        }
        l.purge(at(90));
        assert_eq!(l.tracked(), 1, "b's window ended, a's has not");
        l.purge(at(121));
        assert_eq!(l.tracked(), 0);
    }
}
