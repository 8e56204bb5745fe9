//! The life of an interaction as an explicit state machine: every change goes through
//! `InteractionState::transition`, and every accepted event is appended to the interaction's log.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionState {
    /// Waiting in a queue for an agent.
    Queued,
    /// Offered to one agent, who has not answered yet.
    Offered,
    /// An agent is handling it.
    Active,
    /// The conversation is over; the agent is writing the wrap-up.
    WrapUp,
    /// Wrapped up with a disposition.
    Closed,
    /// The customer left before any agent took it.
    Abandoned,
}

impl InteractionState {
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionState::Queued => "queued",
            InteractionState::Offered => "offered",
            InteractionState::Active => "active",
            InteractionState::WrapUp => "wrap_up",
            InteractionState::Closed => "closed",
            InteractionState::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use InteractionState::*;
        [Queued, Offered, Active, WrapUp, Closed, Abandoned]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// Still waiting for an agent: the router must know of it after a restart.
    pub fn is_waiting(self) -> bool {
        matches!(self, InteractionState::Queued | InteractionState::Offered)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, InteractionState::Closed | InteractionState::Abandoned)
    }

    /// The one place an interaction changes state.
    pub fn transition(self, event: InteractionEvent) -> Result<InteractionState, InvalidTransition> {
        use InteractionEvent as E;
        use InteractionState as S;
        let next = match (self, event) {
            (S::Queued, E::Offered) => S::Offered,
            (S::Offered, E::Declined | E::OfferTimedOut) => S::Queued,
            (S::Queued | S::Offered, E::Overflowed | E::Moved) => S::Queued,
            (S::Offered, E::Accepted) => S::Active,
            (S::Queued | S::Offered, E::Abandoned) => S::Abandoned,
            (S::Active, E::Ended) => S::WrapUp,
            (S::Active, E::Transferred) => S::Queued,
            (S::Queued, E::Dialled | E::Started) => S::Active,
            (S::Active | S::WrapUp, E::WrappedUp) => S::Closed,
            (S::Closed | S::Abandoned, E::Reopened) => S::Queued,
            (S::Queued, E::Filed) => S::Closed,
            (S::Queued, E::CallbackRequested) => S::Queued,
            (S::Active, E::Rescheduled) => S::Queued,
            (S::Active, E::Snoozed) => S::Queued,
            (S::Queued, E::Woken) => S::Queued,
            (from, event) => return Err(InvalidTransition { from, event }),
        };
        Ok(next)
    }
}

/// The first line of every interaction's log: it entered its queue.
pub const QUEUED: &str = "interaction.queued";
/// Log lines of a call that change no state: the agent put the caller on hold, or took them off.
pub const CALL_HELD: &str = "call.held";
pub const CALL_RESUMED: &str = "call.resumed";
/// A log line that changes no state: a supervisor began watching the conversation read-only.
pub const WATCHED: &str = "interaction.watched";

/// What can happen to an interaction; the dot-case name is its event-log type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionEvent {
    Offered,
    Declined,
    OfferTimedOut,
    Overflowed,
    /// A supervisor moved it while it waited: to another queue, or to a named agent.
    Moved,
    Accepted,
    Abandoned,
    Ended,
    WrappedUp,
    /// The agent sent it to another queue: it waits there, keeping its arrival time.
    Transferred,
    /// The agent started it (click-to-call): theirs from the start, never queued for anyone.
    Dialled,
    /// The agent wrote to the customer first (a new email): theirs from the start, as a call
    /// they dial is.
    Started,
    /// The customer wrote again in a closed conversation (an email reply): it waits again.
    Reopened,
    /// Kept on the timeline but never routed: it came from a machine (an auto-reply, a bounce).
    Filed,
    /// The caller chose to be called back: they hang up and it waits on in its place.
    CallbackRequested,
    /// The customer did not answer the agent's call back: it waits again, set aside until the
    /// next attempt is due.
    Rescheduled,
    /// The agent set the conversation aside until a time (a chat or an email): their slot is
    /// free; it waits with nobody offered it until then, then comes back to them first.
    Snoozed,
    /// A snoozed conversation is back: its time came, or the customer wrote (`reason`).
    Woken,
}

impl InteractionEvent {
    pub const ALL: [InteractionEvent; 18] = [
        InteractionEvent::Offered,
        InteractionEvent::Declined,
        InteractionEvent::OfferTimedOut,
        InteractionEvent::Overflowed,
        InteractionEvent::Moved,
        InteractionEvent::Accepted,
        InteractionEvent::Abandoned,
        InteractionEvent::Ended,
        InteractionEvent::WrappedUp,
        InteractionEvent::Transferred,
        InteractionEvent::Dialled,
        InteractionEvent::Started,
        InteractionEvent::Reopened,
        InteractionEvent::Filed,
        InteractionEvent::CallbackRequested,
        InteractionEvent::Rescheduled,
        InteractionEvent::Snoozed,
        InteractionEvent::Woken,
    ];

    /// The event a log line's type names, if it is a state-machine step.
    pub fn from_log_type(s: &str) -> Option<InteractionEvent> {
        Self::ALL.into_iter().find(|e| e.log_type() == s)
    }

    pub fn log_type(self) -> &'static str {
        match self {
            InteractionEvent::Offered => "interaction.offered",
            InteractionEvent::Declined => "interaction.declined",
            InteractionEvent::OfferTimedOut => "interaction.offer_timed_out",
            InteractionEvent::Overflowed => "interaction.overflowed",
            InteractionEvent::Moved => "interaction.moved",
            InteractionEvent::Accepted => "interaction.accepted",
            InteractionEvent::Abandoned => "interaction.abandoned",
            InteractionEvent::Ended => "interaction.ended",
            InteractionEvent::WrappedUp => "interaction.wrapped_up",
            InteractionEvent::Transferred => "interaction.transferred",
            InteractionEvent::Dialled => "interaction.dialled",
            InteractionEvent::Started => "interaction.started",
            InteractionEvent::Reopened => "interaction.reopened",
            InteractionEvent::Filed => "interaction.filed",
            InteractionEvent::CallbackRequested => "interaction.callback_requested",
            InteractionEvent::Rescheduled => "interaction.rescheduled",
            InteractionEvent::Snoozed => "interaction.snoozed",
            InteractionEvent::Woken => "interaction.woken",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an interaction that is {} cannot be {}", from.as_str(), event.log_type())]
pub struct InvalidTransition {
    pub from: InteractionState,
    pub event: InteractionEvent,
}

#[cfg(test)]
mod tests {
    use super::InteractionEvent as E;
    use super::InteractionState as S;

    #[test]
    fn transitions_table() {
        let allowed = [
            (S::Queued, E::Offered, S::Offered),
            (S::Offered, E::Declined, S::Queued),
            (S::Offered, E::OfferTimedOut, S::Queued),
            (S::Queued, E::Overflowed, S::Queued),
            (S::Offered, E::Overflowed, S::Queued),
            (S::Queued, E::Moved, S::Queued),
            (S::Offered, E::Moved, S::Queued),
            (S::Offered, E::Accepted, S::Active),
            (S::Queued, E::Abandoned, S::Abandoned),
            (S::Offered, E::Abandoned, S::Abandoned),
            (S::Active, E::Ended, S::WrapUp),
            (S::Active, E::WrappedUp, S::Closed),
            (S::WrapUp, E::WrappedUp, S::Closed),
            (S::Active, E::Transferred, S::Queued),
            (S::Queued, E::Dialled, S::Active),
            (S::Queued, E::Started, S::Active),
            (S::Closed, E::Reopened, S::Queued),
            (S::Abandoned, E::Reopened, S::Queued),
            (S::Queued, E::Filed, S::Closed),
            (S::Queued, E::CallbackRequested, S::Queued),
            (S::Active, E::Rescheduled, S::Queued),
            (S::Active, E::Snoozed, S::Queued),
            (S::Queued, E::Woken, S::Queued),
        ];
        let states = [
            S::Queued,
            S::Offered,
            S::Active,
            S::WrapUp,
            S::Closed,
            S::Abandoned,
        ];
        let events = [
            E::Snoozed,
            E::Woken,
            E::CallbackRequested,
            E::Rescheduled,
            E::Reopened,
            E::Filed,
            E::Dialled,
            E::Started,
            E::Transferred,
            E::Offered,
            E::Declined,
            E::OfferTimedOut,
            E::Overflowed,
            E::Moved,
            E::Accepted,
            E::Abandoned,
            E::Ended,
            E::WrappedUp,
        ];
        for from in states {
            for event in events {
                let want = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                assert_eq!(from.transition(event).ok(), want, "{from:?} + {event:?}");
            }
        }
    }
}
