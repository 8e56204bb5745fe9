//! Callbacks (virtual hold): a caller who would rather not wait presses 1 and keeps their place
//! in the queue with nobody on the line; an agent or supervisor may also book one for a time.
//! When it reaches the front the agent accepts it and the hub calls the customer through the
//! outbound trunk (`crate::telephony`); a customer who does not answer is tried again later, as
//! the queue's policy says, up to its number of attempts.
//!
//! Pure: the policy and what happened in, the next step out.

use super::Millis;
use serde::{Deserialize, Serialize};

/// A queue's callback policy; a queue without one never offers a callback to its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackPolicy {
    /// A caller who has waited this long hears the offer to press 1 (and again as often).
    pub offer_after_secs: u32,
    /// Calls made to the customer at most, the first included.
    #[serde(default = "CallbackPolicy::default_attempts")]
    pub attempts: u32,
    /// How long after a call nobody answered the next is made.
    #[serde(default = "CallbackPolicy::default_retry_after")]
    pub retry_after_secs: u32,
}

impl CallbackPolicy {
    fn default_attempts() -> u32 {
        3
    }

    fn default_retry_after() -> u32 {
        600
    }

    /// What a callback booked in a queue without a policy of its own is tried by.
    pub const BOOKED: CallbackPolicy = CallbackPolicy {
        offer_after_secs: 0,
        attempts: 3,
        retry_after_secs: 600,
    };

    /// Why the policy cannot be kept, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.offer_after_secs == 0 {
            return Err("offer_after_secs must be at least 1".into());
        }
        if !(1..=10).contains(&self.attempts) {
            return Err("attempts must be 1 to 10".into());
        }
        if self.retry_after_secs < 30 {
            return Err("retry_after_secs must be at least 30".into());
        }
        Ok(())
    }
}

/// A callback an interaction stands for: whom to call, not before when, and how many calls were
/// made so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Callback {
    pub number: String,
    /// Not offered to any agent before then; none: as soon as an agent is free.
    pub due_at: Option<Millis>,
    pub attempts: u32,
}

/// What follows a call to the customer that nobody answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missed {
    /// Tried again at `due_at`, `attempts` calls made.
    Retry(Callback),
    /// That was the last attempt: the agent wraps it up.
    GiveUp,
}

impl Callback {
    /// The customer did not answer the call made at `now`.
    pub fn missed(&self, policy: &CallbackPolicy, now: Millis) -> Missed {
        let attempts = self.attempts + 1;
        if attempts >= policy.attempts {
            return Missed::GiveUp;
        }
        Missed::Retry(Callback {
            number: self.number.clone(),
            due_at: Some(now + i64::from(policy.retry_after_secs) * 1000),
            attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missed_call_is_tried_again_until_the_last_attempt() {
        let policy = CallbackPolicy {
            offer_after_secs: 60,
            attempts: 3,
            retry_after_secs: 300,
        };
        let first = Callback {
            number: "+14155552671".into(),
            due_at: None,
            attempts: 0,
        };
        let Missed::Retry(second) = first.missed(&policy, 1_000) else {
            panic!("the first miss is retried");
        };
        assert_eq!(second.due_at, Some(301_000));
        assert_eq!(second.attempts, 1);
        let Missed::Retry(third) = second.missed(&policy, 400_000) else {
            panic!("the second miss is retried");
        };
        assert_eq!((third.due_at, third.attempts), (Some(700_000), 2));
        assert_eq!(third.missed(&policy, 800_000), Missed::GiveUp);
        let once = CallbackPolicy {
            attempts: 1,
            ..policy
        };
        assert_eq!(first.missed(&once, 1_000), Missed::GiveUp);
    }

    #[test]
    fn policies_that_cannot_be_kept_are_refused() {
        let ok = CallbackPolicy {
            offer_after_secs: 60,
            attempts: 3,
            retry_after_secs: 300,
        };
        assert_eq!(ok.check(), Ok(()));
        for (bad, why) in [
            (
                CallbackPolicy {
                    offer_after_secs: 0,
                    ..ok
                },
                "offer_after_secs",
            ),
            (CallbackPolicy { attempts: 0, ..ok }, "attempts"),
            (CallbackPolicy { attempts: 11, ..ok }, "attempts"),
            (
                CallbackPolicy {
                    retry_after_secs: 5,
                    ..ok
                },
                "retry_after_secs",
            ),
        ] {
            assert!(bad.check().unwrap_err().contains(why), "{bad:?}");
        }
        let read: CallbackPolicy = serde_json::from_str(r#"{"offer_after_secs": 90}"#).unwrap();
        assert_eq!((read.attempts, read.retry_after_secs), (3, 600));
        assert!(serde_json::from_str::<CallbackPolicy>(r#"{"offer_after_secs": 90, "tries": 2}"#).is_err());
    }
}
