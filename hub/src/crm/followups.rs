//! A follow-up's life without IO: what the scheduler does with an open one at a given time
//! (remind its owner at the due time, escalate to the supervisors once it is overdue by the
//! account's delay) and when it should look again. `crm::Scheduler` claims due rows from the
//! store and acts on what this answers.

use crate::domain::{AgentId, CustomerId, FollowUpId, Millis};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    Task,
    /// Call the customer back (at the due time).
    Callback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpState {
    Open,
    Done,
    Cancelled,
}

impl FollowUpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowUpKind::Task => "task",
            FollowUpKind::Callback => "callback",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [FollowUpKind::Task, FollowUpKind::Callback]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

impl FollowUpState {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowUpState::Open => "open",
            FollowUpState::Done => "done",
            FollowUpState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [FollowUpState::Open, FollowUpState::Done, FollowUpState::Cancelled]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A task or callback on a customer, for its owner, due at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowUp {
    #[schema(value_type = String)]
    pub id: FollowUpId,
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    /// The customer's name, read with it for lists.
    pub customer_name: String,
    #[schema(value_type = String)]
    pub owner_id: AgentId,
    pub kind: FollowUpKind,
    pub title: String,
    pub due_at: Millis,
    pub state: FollowUpState,
    pub reminded_at: Option<Millis>,
    pub escalated_at: Option<Millis>,
    pub done_at: Option<Millis>,
    #[schema(value_type = Option<String>)]
    pub done_by: Option<AgentId>,
    #[schema(value_type = String)]
    pub created_by: AgentId,
    pub created_at: Millis,
    /// While it is with a colleague covering a leave: the owner it goes back to.
    #[schema(value_type = Option<String>)]
    pub home_owner_id: Option<AgentId>,
}

/// What the scheduler does with a follow-up now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Tell the owner it is due.
    Remind,
    /// Tell the supervisors it is overdue.
    Escalate,
}

/// What to do with `f` at `now`, and when to look at it next (`None`: never again). An open
/// follow-up is reminded at its due time and escalated `escalate_after` later; one reminded late
/// (the hub was down) is still escalated only after that delay from its due time.
pub fn step(f: &FollowUp, now: Millis, escalate_after: Millis) -> (Option<Action>, Option<Millis>) {
    if f.state != FollowUpState::Open {
        return (None, None);
    }
    let escalate_at = f.due_at.saturating_add(escalate_after);
    match (f.reminded_at, f.escalated_at) {
        (None, _) if now >= f.due_at => (Some(Action::Remind), Some(escalate_at.max(now + 1))),
        (None, _) => (None, Some(f.due_at)),
        (Some(_), None) if now >= escalate_at => (Some(Action::Escalate), None),
        (Some(_), None) => (None, Some(escalate_at)),
        (Some(_), Some(_)) => (None, None),
    }
}

/// Whether an open follow-up is overdue at `now`.
pub fn overdue(f: &FollowUp, now: Millis) -> bool {
    f.state == FollowUpState::Open && f.due_at < now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow_up(state: FollowUpState, reminded: Option<Millis>, escalated: Option<Millis>) -> FollowUp {
        FollowUp {
            id: FollowUpId::new(),
            customer_id: CustomerId::new(),
            customer_name: "Li Wei".into(),
            owner_id: AgentId::new(),
            kind: FollowUpKind::Callback,
            title: "call back about the refund".into(),
            due_at: 1_000,
            state,
            reminded_at: reminded,
            escalated_at: escalated,
            done_at: None,
            done_by: None,
            created_by: AgentId::new(),
            created_at: 0,
            home_owner_id: None,
        }
    }

    #[test]
    fn a_follow_up_is_reminded_when_due_then_escalated_after_the_delay_once() {
        use Action::*;
        use FollowUpState::*;
        // (state, reminded, escalated, now) -> (action, next look); escalation delay 500.
        let table = [
            (Open, None, None, 999, (None, Some(1_000))),
            (Open, None, None, 1_000, (Some(Remind), Some(1_500))),
            // Reminded late (the hub was down): escalation still counts from the due time.
            (Open, None, None, 1_400, (Some(Remind), Some(1_500))),
            // Reminded after the escalation time passed: escalated at the next look.
            (Open, None, None, 9_000, (Some(Remind), Some(9_001))),
            (Open, Some(1_000), None, 1_499, (None, Some(1_500))),
            (Open, Some(1_000), None, 1_500, (Some(Escalate), None)),
            (Open, Some(1_000), Some(1_500), 9_000, (None, None)),
            (Done, None, None, 9_000, (None, None)),
            (Cancelled, Some(1_000), None, 9_000, (None, None)),
        ];
        for (i, (state, reminded, escalated, now, want)) in table.into_iter().enumerate() {
            assert_eq!(
                step(&follow_up(state, reminded, escalated), now, 500),
                want,
                "row {i}"
            );
        }
        assert!(overdue(&follow_up(Open, None, None), 1_001));
        assert!(!overdue(&follow_up(Open, None, None), 1_000));
        assert!(!overdue(&follow_up(Done, None, None), 5_000));
    }
}
