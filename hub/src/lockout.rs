//! Per-account login lockout with backoff, beside the per-address limit: a guesser who spreads
//! their attempts over many addresses still gets only a few at one account. After
//! `free_failures` wrong passwords in a row, the login is refused for `first`, and each further
//! failure doubles that, up to `longest`; the right password (once let in) clears it. Keyed on
//! the login as typed (trimmed, lower-cased), whether or not such an account exists, so a lockout
//! says nothing about which emails do. Pure: time is an input; the login handler keeps one per
//! node, and the housekeeping loop forgets what has expired.
//!
//! The price: someone who knows a login can keep its owner out for up to `longest` at a time by
//! failing on purpose. The backoff bounds it, and an admin sees the attempts' addresses nowhere
//! yet (the failures are not in the audit log).

use crate::domain::Millis;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Wrong passwords in a row allowed before the first lock.
    pub free_failures: u32,
    /// The first lock, in milliseconds.
    pub first: Millis,
    /// The longest lock, in milliseconds.
    pub longest: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failures {
    count: u32,
    locked_until: Millis,
}

#[derive(Debug, Clone)]
pub struct Lockout {
    policy: Policy,
    logins: HashMap<String, Failures>,
}

fn key(login: &str) -> String {
    login.trim().to_lowercase()
}

impl Lockout {
    pub fn new(policy: Policy) -> Self {
        Lockout {
            policy,
            logins: HashMap::new(),
        }
    }

    /// `Err(ms)`: the login is locked for that much longer; no password is checked meanwhile.
    pub fn check(&self, login: &str, now: Millis) -> Result<(), Millis> {
        match self.logins.get(&key(login)) {
            Some(f) if f.locked_until > now => Err(f.locked_until - now),
            _ => Ok(()),
        }
    }

    /// A wrong password (or an unknown login) at `now`.
    pub fn failed(&mut self, login: &str, now: Millis) {
        let policy = self.policy;
        let f = self.logins.entry(key(login)).or_insert(Failures {
            count: 0,
            locked_until: 0,
        });
        f.count = f.count.saturating_add(1);
        if f.count >= policy.free_failures.max(1) {
            let doublings = (f.count - policy.free_failures.max(1)).min(30);
            let lock = policy.first.saturating_mul(1 << doublings).min(policy.longest);
            f.locked_until = now.saturating_add(lock);
        }
    }

    /// The right password: the count starts again.
    pub fn succeeded(&mut self, login: &str) {
        self.logins.remove(&key(login));
    }

    /// Forgets logins whose lock is over and that failed less than `longest` ago (their count
    /// would start again soon anyway), so a flood of made-up logins cannot grow the table for good.
    pub fn prune(&mut self, now: Millis) {
        let longest = self.policy.longest;
        self.logins
            .retain(|_, f| f.locked_until > now || now.saturating_sub(f.locked_until) < longest);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.logins.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        free_failures: 3,
        first: 1_000,
        longest: 5_000,
    };

    /// What each step does and what `check` answers after it.
    enum Step {
        Fail(&'static str, Millis),
        Succeed(&'static str),
        Check(&'static str, Millis, Result<(), Millis>),
    }
    use Step::*;

    #[test]
    fn failures_lock_with_a_doubling_backoff_and_the_right_password_clears_them() {
        let table = [
            Fail("ann@x", 0),
            Fail("ann@x", 10),
            Check("ann@x", 10, Ok(())),
            // The third in a row locks for `first`.
            Fail("ann@x", 20),
            Check("ann@x", 20, Err(1_000)),
            Check(" ANN@X ", 500, Err(520)),
            Check("ben@x", 500, Ok(())),
            Check("ann@x", 1_020, Ok(())),
            // Each further failure doubles it, up to `longest`.
            Fail("ann@x", 1_100),
            Check("ann@x", 1_100, Err(2_000)),
            Fail("ann@x", 3_200),
            Check("ann@x", 3_200, Err(4_000)),
            Fail("ann@x", 7_300),
            Check("ann@x", 7_300, Err(5_000)),
            Fail("ann@x", 12_400),
            Check("ann@x", 12_400, Err(5_000)),
            // Let in with the right password: it starts again.
            Succeed("ann@x"),
            Check("ann@x", 12_500, Ok(())),
            Fail("ann@x", 12_600),
            Check("ann@x", 12_600, Ok(())),
        ];
        let mut lockout = Lockout::new(POLICY);
        for (n, step) in table.into_iter().enumerate() {
            match step {
                Fail(login, at) => lockout.failed(login, at),
                Succeed(login) => lockout.succeeded(login),
                Check(login, at, want) => assert_eq!(lockout.check(login, at), want, "step {n}"),
            }
        }
    }

    #[test]
    fn expired_entries_are_forgotten() {
        let mut lockout = Lockout::new(POLICY);
        for n in 0..1_000 {
            lockout.failed(&format!("guess{n}@x"), 0);
        }
        lockout.failed("ann@x", 0);
        lockout.failed("ann@x", 0);
        lockout.failed("ann@x", 0);
        lockout.prune(4_000);
        assert_eq!(lockout.len(), 1_001, "nothing is old enough yet");
        lockout.prune(5_000);
        assert_eq!(lockout.len(), 1, "only the locked one stays");
        assert_eq!(lockout.check("ann@x", 5_000), Ok(()));
        lockout.prune(6_001);
        assert_eq!(lockout.len(), 0);
    }
}
