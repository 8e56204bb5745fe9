//! The router: the pure core between intake and the agent console. The hub feeds it what happened
//! (queue and agent changes, arrivals, accepts, ends) together with the current time, carries out
//! the decisions it returns (offers, revocations, assignments, releases), and sleeps until
//! `next_deadline` to send a `Tick`. No IO, no clock, no randomness: the same inputs at the same
//! times give the same decisions, which the scenario tables and property tests rely on.
//!
//! Policy: longest-idle agent among the eligible ones (Available, skilled, room on the channel, no
//! call in hand, never declined this contact); contacts served by priority, then arrival time;
//! one outstanding offer per contact, RONA on timeout; wrap-up holds the slot; overflow after
//! `max_wait_ms` keeps the arrival time. A contact from a customer with an owner who is Available
//! is offered to the owner alone for a while (`OwnerFirst`), in its place in the queue.

use crate::domain::{
    AgentId, AgentState, Capacity, Channel, InteractionId, MISSED_OFFER, Millis, QueueId, SkillRequirement,
    Skills, has_skills,
};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

/// What the router needs to know about a queue; the store's `Queue` carries more (names, SL target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRules {
    pub id: QueueId,
    pub required_skills: Vec<SkillRequirement>,
    /// After waiting this long in this queue a contact moves to `overflow_queue`. Must be positive.
    pub max_wait_ms: Option<Millis>,
    pub overflow_queue: Option<QueueId>,
    /// How long an agent has to accept an offer before RONA. Must be positive.
    pub offer_timeout_ms: Millis,
    /// The longest an agent's slot stays held for wrap-up after an interaction ends.
    pub wrap_up_ms: Millis,
}

/// A contact's customer has an owner: while the owner is Available, only they are offered it,
/// for `wait_ms` from its arrival; then (or once they leave Available, decline or miss it) anyone.
/// The contact keeps its place in the queue throughout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerFirst {
    pub agent: AgentId,
    pub wait_ms: Millis,
}

/// Something that happened, as the hub tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    UpsertQueue(QueueRules),
    /// Contacts still waiting in a removed queue stay there (never offered, never overflowed)
    /// until they are abandoned; offers and assignments already made carry on.
    RemoveQueue(QueueId),
    /// New agents start Offline; an existing agent keeps its state and what it holds.
    UpsertAgent {
        agent: AgentId,
        skills: Skills,
        capacity: Capacity,
    },
    SetState {
        agent: AgentId,
        state: AgentState,
    },
    /// Whether the agent can be reached on `channel` outside the console: a call rings the
    /// agent's registered phone, so with none the agent is not offered calls (their offers on
    /// the channel are revoked, `Unreachable`) until the phone registers again. Agents start
    /// reachable on every channel.
    SetReachable {
        agent: AgentId,
        channel: Channel,
        reachable: bool,
    },
    Arrive {
        interaction: InteractionId,
        queue: QueueId,
        channel: Channel,
        priority: i32,
        arrived_at: Millis,
        owner: Option<OwnerFirst>,
        /// Not offered to anyone before then (a scheduled callback): set aside until it is due,
        /// then waiting in its place like any arrival.
        due_at: Option<Millis>,
    },
    Accept {
        interaction: InteractionId,
        agent: AgentId,
    },
    Decline {
        interaction: InteractionId,
        agent: AgentId,
    },
    /// The customer left while queued or offered.
    Abandon {
        interaction: InteractionId,
    },
    /// The conversation is over: the agent's slot enters wrap-up.
    End {
        interaction: InteractionId,
    },
    /// The agent submitted the wrap-up (or closed without one): the slot is free.
    WrapUpDone {
        interaction: InteractionId,
    },
    /// An active interaction goes back to waiting in `queue`, keeping its arrival time; the
    /// agent's slot is free at once and the interaction is never offered back to that agent.
    Transfer {
        interaction: InteractionId,
        queue: QueueId,
    },
    /// The agent's attempt at a callback failed (nobody answered): their slot is free at once,
    /// and the contact is set aside in its queue until `until`, then waits in its place again.
    Defer {
        interaction: InteractionId,
        until: Millis,
    },
    /// The agent snoozes the contact they hold (a chat, an email): their slot is free at once,
    /// and it is set aside in its queue until `until`; then it is theirs alone for
    /// `owner_wait_ms` if they are Available (as an owner's turn, `OwnerFirst`), else anyone's.
    Snooze {
        interaction: InteractionId,
        until: Millis,
        owner_wait_ms: Millis,
    },
    /// A contact set aside is due now (the customer wrote to a snoozed conversation): as if its
    /// time had come. One that is not set aside is left as it is.
    Wake {
        interaction: InteractionId,
    },
    /// A blind transfer to a named agent: like `Transfer` into the same queue, but only `to` is
    /// offered it (whatever their skills). If `to` declines or misses it, it waits for anyone.
    /// `to` must be Available now.
    TransferTo {
        interaction: InteractionId,
        to: AgentId,
    },
    /// A supervisor moves a contact still waiting (queued or being offered) to `queue` (which may
    /// be its own), keeping its arrival time, and with `to` for that agent alone, who must be
    /// Available with room; if they decline or miss it, it waits for anyone.
    Move {
        interaction: InteractionId,
        queue: QueueId,
        to: Option<AgentId>,
    },
    /// The customer answered a closed conversation (an email reply): it waits in `queue` as an
    /// arrival does, kept for `agent` (who had it last) while they are Available with room;
    /// otherwise, or once they decline or miss it, for anyone.
    Return {
        interaction: InteractionId,
        queue: QueueId,
        channel: Channel,
        priority: i32,
        arrived_at: Millis,
        agent: Option<AgentId>,
    },
    /// After a restart: an interaction an agent already holds. It counts against the agent's
    /// capacity even past the limit (the agent has it, whatever the limit says).
    Restore {
        interaction: InteractionId,
        agent: AgentId,
        queue: QueueId,
        channel: Channel,
        wrapping_up: bool,
    },
    /// The agent starts an interaction themselves (a new email to a customer): theirs at once,
    /// without an offer, if they have room for one more on its channel. A call in hand does not
    /// stop it, as it stops offers: an agent on the phone may write the customer a mail.
    Start {
        interaction: InteractionId,
        agent: AgentId,
        queue: QueueId,
        channel: Channel,
    },
    /// Only time passed.
    Tick,
}

/// Why an offer was taken back from an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevokeReason {
    Declined,
    /// Redirect on no answer: the agent is put on Break(MISSED_OFFER).
    TimedOut,
    /// The customer left.
    Abandoned,
    /// The agent left Available, or missed another offer.
    AgentUnavailable,
    /// The contact waited `max_wait_ms` and moves to the overflow queue.
    Overflowed,
    /// The agent cannot be reached on the contact's channel (no registered phone for a call).
    Unreachable,
    /// A supervisor moved the contact elsewhere.
    Moved,
}

/// What the hub must do (and tell the console) as a result of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Ring the agent; the offer holds one of the agent's slots until it is accepted or revoked.
    Offer {
        interaction: InteractionId,
        agent: AgentId,
        queue: QueueId,
        expires_at: Millis,
    },
    OfferRevoked {
        interaction: InteractionId,
        agent: AgentId,
        reason: RevokeReason,
    },
    Assigned {
        interaction: InteractionId,
        agent: AgentId,
    },
    /// Only for changes the router makes itself (RONA → Break(MISSED_OFFER)).
    AgentStateChanged { agent: AgentId, state: AgentState },
    Overflowed {
        interaction: InteractionId,
        from: QueueId,
        to: QueueId,
    },
    /// The agent's slot for the interaction is free: wrap-up submitted or wrap-up time elapsed.
    Released {
        interaction: InteractionId,
        agent: AgentId,
    },
    /// A contact set aside until later is due: it waits in its queue now.
    Due { interaction: InteractionId },
}

/// An input the router refused; the router's state is unchanged when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    #[error("unknown interaction {0}")]
    UnknownInteraction(InteractionId),
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    #[error("unknown queue {0}")]
    UnknownQueue(QueueId),
    #[error("interaction {0} is already known to the router")]
    AlreadyKnown(InteractionId),
    #[error("interaction {interaction} is not offered to agent {agent}")]
    NotOfferedTo {
        interaction: InteractionId,
        agent: AgentId,
    },
    #[error("interaction {0} is not assigned to an agent")]
    NotAssigned(InteractionId),
    #[error("interaction {0} is already assigned to an agent")]
    AlreadyAssigned(InteractionId),
    #[error("interaction {0} has already ended")]
    AlreadyEnded(InteractionId),
    #[error("interaction {0} is set aside until later (a callback not yet due)")]
    NotDue(InteractionId),
    #[error("invalid rules for queue {queue}: {reason}")]
    InvalidRules { queue: QueueId, reason: &'static str },
    #[error("agent {0} is not available")]
    NotAvailable(AgentId),
    #[error("agent {agent} holds as many {} interactions as their capacity allows", channel.as_str())]
    NoRoom { agent: AgentId, channel: Channel },
}

/// What a supervisor's wallboard shows for a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Contacts queued and not currently offered to anyone.
    pub waiting: usize,
    pub oldest_arrived_at: Option<Millis>,
    /// Available agents with the queue's skills.
    pub agents_available: usize,
    /// Agents not Offline with the queue's skills.
    pub agents_staffed: usize,
    /// Of those staffed, agents holding a contact (offered, active or in wrap-up), whatever their
    /// state: an Available agent with a chat and room for another is both available and busy.
    pub agents_busy: usize,
    /// Of those staffed, agents on a break.
    pub agents_on_break: usize,
    /// Contacts set aside until later (callbacks not yet due).
    pub scheduled: usize,
}

/// Service order inside a queue: higher priority, then earlier arrival, then arrival sequence
/// (which also breaks ties between equal timestamps deterministically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct WaitKey {
    priority: Reverse<i32>,
    arrived_at: Millis,
    seq: u64,
    id: InteractionId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Waiting,
    Offered {
        agent: AgentId,
        expires_at: Millis,
    },
    Active {
        agent: AgentId,
    },
    WrappingUp {
        agent: AgentId,
        release_at: Millis,
    },
    /// Set aside until then (a callback not yet due): in no waiting set, never offered.
    Deferred {
        until: Millis,
    },
}

#[derive(Debug, Clone)]
struct Interaction {
    queue: QueueId,
    channel: Channel,
    key: WaitKey,
    /// Overflow is measured from here, not from arrival.
    entered_queue_at: Millis,
    overflow_at: Option<Millis>,
    /// Agents who declined it (or transferred it away); cleared when it overflows.
    declined: BTreeSet<AgentId>,
    /// Transferred to this agent by name: only they are offered it, until they decline or miss it.
    /// Also the owner while `owner_until` runs.
    reserved: Option<AgentId>,
    /// Reserved for the customer's owner until then (`OwnerFirst`); `None` otherwise.
    owner_until: Option<Millis>,
    /// Set aside until later with an owner: their turn, which starts when it is due.
    owner_when_due: Option<OwnerFirst>,
    stage: Stage,
}

#[derive(Debug, Clone)]
struct Agent {
    skills: Skills,
    capacity: Capacity,
    state: AgentState,
    /// When the agent last became Available or last had a slot released: longest idle goes first.
    idle_since: Millis,
    /// Offered + active + wrapping-up interactions per channel (indexed by `slot`).
    load: [u16; 4],
    /// Outstanding offers, revoked together when the agent leaves Available.
    offers: BTreeSet<InteractionId>,
    /// Channels the agent cannot be reached on now (`Input::SetReachable`).
    unreachable: BTreeSet<Channel>,
}

impl Agent {
    fn holds_call(&self) -> bool {
        self.load[slot(Channel::Voice)] > 0
    }

    fn has_room(&self, channel: Channel) -> bool {
        !self.holds_call()
            && self.load[slot(channel)] < self.capacity.of(channel)
            && !self.unreachable.contains(&channel)
    }

    fn held(&self) -> u32 {
        self.load.iter().map(|n| u32::from(*n)).sum()
    }

    /// Could take some offer on some channel, skills aside.
    fn is_open(&self) -> bool {
        self.state == AgentState::Available && Channel::ALL.into_iter().any(|c| self.has_room(c))
    }
}

#[derive(Debug, Clone)]
struct QueueEntry {
    rules: QueueRules,
    /// Removed queues keep their rules so the wrap-up of what they already routed is still timed.
    live: bool,
}

/// Deadlines due at the same millisecond run in this order: free slots before moving contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DeadlineKind {
    Release,
    OfferExpiry,
    Overflow,
    OwnerWait,
    /// A deferred contact is due.
    Due,
}

fn slot(channel: Channel) -> usize {
    match channel {
        Channel::Voice => 0,
        Channel::Chat => 1,
        Channel::Email => 2,
        Channel::Messaging => 3,
    }
}

/// The routing state of one hub. See the module docs for the policy.
#[derive(Debug, Default)]
pub struct Router {
    queues: BTreeMap<QueueId, QueueEntry>,
    agents: BTreeMap<AgentId, Agent>,
    interactions: BTreeMap<InteractionId, Interaction>,
    /// Queued (not offered) contacts per queue and channel, in service order. Kept for removed
    /// queues too, so their contacts are never lost.
    waiting: BTreeMap<QueueId, [BTreeSet<WaitKey>; 4]>,
    deadlines: BTreeSet<(Millis, DeadlineKind, InteractionId)>,
    /// Agents for whom `Agent::is_open` holds: the only ones an offer can go to.
    open: BTreeSet<AgentId>,
    next_seq: u64,
    /// Contacts that became waiting during this input: dispatch looks for agents for them.
    fresh_interactions: Vec<InteractionId>,
    /// Agents who may have gained room or eligibility during this input.
    fresh_agents: BTreeSet<AgentId>,
    /// Contacts transferred to a named agent (some may have been taken or released since): the
    /// few `best_waiting_for` must look at beyond the agent's own queues.
    reserved: BTreeSet<InteractionId>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `input`, then processes every deadline due at `now`, then offers waiting contacts to
    /// eligible agents. On error nothing changed and no deadline was processed.
    pub fn handle(&mut self, input: Input, now: Millis) -> Result<Vec<Decision>, RouterError> {
        let mut out = Vec::new();
        self.apply(input, now, &mut out)?;
        self.run_deadlines(now, &mut out);
        self.dispatch(now, &mut out);
        Ok(out)
    }

    /// The earliest time at which a `Tick` would change something.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.deadlines.first().map(|(at, _, _)| *at)
    }

    /// The contacts queued in `queue` and not currently offered, in service order.
    pub fn waiting(&self, queue: QueueId) -> Vec<InteractionId> {
        let Some(sets) = self.waiting.get(&queue) else {
            return Vec::new();
        };
        let mut keys: Vec<WaitKey> = sets.iter().flatten().copied().collect();
        keys.sort_unstable();
        keys.into_iter().map(|k| k.id).collect()
    }

    pub fn queue_stats(&self, queue: QueueId) -> QueueStats {
        let mut stats = QueueStats::default();
        if let Some(sets) = self.waiting.get(&queue) {
            stats.waiting = sets.iter().map(BTreeSet::len).sum();
            stats.oldest_arrived_at = sets.iter().flatten().map(|k| k.arrived_at).min();
        }
        stats.scheduled = self
            .deadlines
            .iter()
            .filter(|(_, kind, id)| {
                *kind == DeadlineKind::Due && self.interactions.get(id).is_some_and(|i| i.queue == queue)
            })
            .count();
        if let Some(rules) = self.live_rules(queue) {
            for agent in self.agents.values() {
                if agent.state != AgentState::Offline && has_skills(&agent.skills, &rules.required_skills) {
                    stats.agents_staffed += 1;
                    match agent.state {
                        AgentState::Available => stats.agents_available += 1,
                        AgentState::Break(_) => stats.agents_on_break += 1,
                        AgentState::Offline => {}
                    }
                    if agent.held() > 0 {
                        stats.agents_busy += 1;
                    }
                }
            }
        }
        stats
    }

    /// Some Available agent has the queue's skills (busy or not): when false the chat widget shows
    /// the offline form instead of queueing the customer.
    pub fn can_serve(&self, queue: QueueId) -> bool {
        self.live_rules(queue).is_some_and(|rules| {
            self.agents
                .values()
                .any(|a| a.state == AgentState::Available && has_skills(&a.skills, &rules.required_skills))
        })
    }

    /// Whom an agent consulting `queue` about a call reaches: the longest-idle Available agent
    /// with the queue's skills and room for a call, other than `except` (the one asking), as
    /// the queue would offer its next call.
    pub fn consultant(&self, queue: QueueId, except: AgentId) -> Option<AgentId> {
        self.longest_idle(queue, Channel::Voice, |a| *a != except)
    }

    fn live_rules(&self, queue: QueueId) -> Option<&QueueRules> {
        self.queues.get(&queue).filter(|q| q.live).map(|q| &q.rules)
    }

    fn interaction(&self, id: InteractionId) -> Result<&Interaction, RouterError> {
        self.interactions
            .get(&id)
            .ok_or(RouterError::UnknownInteraction(id))
    }

    fn require_agent(&self, id: AgentId) -> Result<(), RouterError> {
        if self.agents.contains_key(&id) {
            Ok(())
        } else {
            Err(RouterError::UnknownAgent(id))
        }
    }

    fn require_live_queue(&self, id: QueueId) -> Result<(), RouterError> {
        self.live_rules(id)
            .map(|_| ())
            .ok_or(RouterError::UnknownQueue(id))
    }

    /// Validates first and only then mutates, so an error leaves everything as it was.
    fn apply(&mut self, input: Input, now: Millis, out: &mut Vec<Decision>) -> Result<(), RouterError> {
        match input {
            Input::UpsertQueue(rules) => {
                validate_rules(&rules)?;
                let id = rules.id;
                self.queues.insert(id, QueueEntry { rules, live: true });
                self.waiting.entry(id).or_default();
                // Skills may have loosened: everything waiting here gets another look.
                let ids: Vec<InteractionId> = self.waiting[&id].iter().flatten().map(|k| k.id).collect();
                self.fresh_interactions.extend(ids);
                self.reschedule_overflows();
            }
            Input::RemoveQueue(id) => {
                self.require_live_queue(id)?;
                if let Some(q) = self.queues.get_mut(&id) {
                    q.live = false;
                }
                self.reschedule_overflows();
            }
            Input::UpsertAgent {
                agent: id,
                skills,
                capacity,
            } => {
                let agent = self.agents.entry(id).or_insert_with(|| Agent {
                    skills: Skills::new(),
                    capacity,
                    state: AgentState::Offline,
                    idle_since: now,
                    load: [0; 4],
                    offers: BTreeSet::new(),
                    unreachable: BTreeSet::new(),
                });
                agent.skills = skills;
                agent.capacity = capacity;
                self.refresh_open(id);
                self.fresh_agents.insert(id);
            }
            Input::SetState { agent: id, state } => {
                let agent = self.agents.get(&id).ok_or(RouterError::UnknownAgent(id))?;
                if agent.state == state {
                    return Ok(());
                }
                let was_available = agent.state == AgentState::Available;
                if was_available {
                    self.revoke_all_offers(id, out);
                    self.stop_waiting_for_owner(id);
                }
                let agent = self.agents.get_mut(&id).expect("checked above");
                if state == AgentState::Available {
                    agent.idle_since = now;
                    self.fresh_agents.insert(id);
                }
                agent.state = state;
                self.refresh_open(id);
            }
            Input::SetReachable {
                agent: id,
                channel,
                reachable,
            } => {
                let agent = self.agents.get_mut(&id).ok_or(RouterError::UnknownAgent(id))?;
                if reachable {
                    agent.unreachable.remove(&channel);
                    self.fresh_agents.insert(id);
                } else if agent.unreachable.insert(channel) {
                    let offered: Vec<InteractionId> = agent
                        .offers
                        .iter()
                        .copied()
                        .filter(|i| self.interactions.get(i).is_some_and(|i| i.channel == channel))
                        .collect();
                    for i in offered {
                        if self.revoke(i, RevokeReason::Unreachable, out).is_some() {
                            self.put_waiting(i);
                        }
                    }
                }
                self.refresh_open(id);
            }
            Input::Arrive {
                interaction: id,
                queue,
                channel,
                priority,
                arrived_at,
                owner,
                due_at,
            } => {
                if self.interactions.contains_key(&id) {
                    return Err(RouterError::AlreadyKnown(id));
                }
                self.require_live_queue(queue)?;
                let key = WaitKey {
                    priority: Reverse(priority),
                    arrived_at,
                    seq: self.take_seq(),
                    id,
                };
                let inter = new_interaction(queue, channel, key, Stage::Waiting);
                self.interactions.insert(id, inter);
                let owner = owner.filter(|o| o.wait_ms > 0);
                match due_at.filter(|due| *due > now) {
                    // The owner's turn starts when it is due.
                    Some(until) => {
                        self.interactions.get_mut(&id).expect("inserted").owner_when_due = owner;
                        self.set_stage(id, Stage::Deferred { until });
                    }
                    None => {
                        if let Some(o) = owner {
                            self.reserve_for_owner(id, o, now);
                        }
                        // After a restart the hub re-sends waiting contacts: time already waited
                        // counts.
                        self.enter_queue(id, queue, arrived_at);
                        self.put_waiting(id);
                    }
                }
            }
            Input::Return {
                interaction: id,
                queue,
                channel,
                priority,
                arrived_at,
                agent,
            } => {
                if self.interactions.contains_key(&id) {
                    return Err(RouterError::AlreadyKnown(id));
                }
                self.require_live_queue(queue)?;
                let key = WaitKey {
                    priority: Reverse(priority),
                    arrived_at,
                    seq: self.take_seq(),
                    id,
                };
                let mut inter = new_interaction(queue, channel, key, Stage::Waiting);
                let theirs = agent.filter(|a| {
                    self.agents
                        .get(a)
                        .is_some_and(|x| x.state == AgentState::Available && x.has_room(channel))
                });
                if let Some(to) = theirs {
                    inter.reserved = Some(to);
                    self.reserved.insert(id);
                    self.fresh_agents.insert(to);
                }
                self.interactions.insert(id, inter);
                self.enter_queue(id, queue, arrived_at);
                self.put_waiting(id);
            }
            Input::Accept {
                interaction: id,
                agent,
            } => {
                self.require_offered_to(id, agent)?;
                self.unschedule_stage(id);
                self.unschedule_overflow(id);
                self.agents
                    .get_mut(&agent)
                    .expect("offered to a known agent")
                    .offers
                    .remove(&id);
                self.interactions.get_mut(&id).expect("checked").stage = Stage::Active { agent };
                out.push(Decision::Assigned {
                    interaction: id,
                    agent,
                });
            }
            Input::Decline {
                interaction: id,
                agent,
            } => {
                self.require_offered_to(id, agent)?;
                self.revoke(id, RevokeReason::Declined, out);
                self.interactions
                    .get_mut(&id)
                    .expect("checked")
                    .declined
                    .insert(agent);
                self.put_waiting(id);
            }
            Input::Abandon { interaction: id } => {
                match self.interaction(id)?.stage {
                    Stage::Waiting => self.take_waiting(id),
                    Stage::Offered { .. } => {
                        self.revoke(id, RevokeReason::Abandoned, out);
                    }
                    Stage::Active { .. } | Stage::WrappingUp { .. } => {
                        return Err(RouterError::AlreadyAssigned(id));
                    }
                    Stage::Deferred { .. } => self.unschedule_stage(id),
                }
                self.unschedule_overflow(id);
                self.interactions.remove(&id);
            }
            Input::End { interaction: id } => {
                let agent = self.assigned_agent(id)?;
                let queue = self.interactions[&id].queue;
                let wrap_up = self.queues.get(&queue).map_or(0, |q| q.rules.wrap_up_ms);
                self.set_stage(
                    id,
                    Stage::WrappingUp {
                        agent,
                        release_at: now.saturating_add(wrap_up),
                    },
                );
            }
            Input::WrapUpDone { interaction: id } => match self.interaction(id)?.stage {
                Stage::Active { .. } | Stage::WrappingUp { .. } => self.release(id, now, out),
                Stage::Waiting | Stage::Offered { .. } | Stage::Deferred { .. } => {
                    return Err(RouterError::NotAssigned(id));
                }
            },
            Input::Transfer {
                interaction: id,
                queue,
            } => {
                let agent = self.assigned_agent(id)?;
                self.require_live_queue(queue)?;
                let channel = self.interactions[&id].channel;
                self.free_slot(agent, channel, now);
                let inter = self.interactions.get_mut(&id).expect("checked");
                inter.declined = BTreeSet::from([agent]);
                inter.reserved = None;
                inter.stage = Stage::Waiting;
                self.enter_queue(id, queue, now);
                self.put_waiting(id);
            }
            Input::Defer {
                interaction: id,
                until,
            } => {
                let agent = self.assigned_agent(id)?;
                let channel = self.interactions[&id].channel;
                self.free_slot(agent, channel, now);
                let inter = self.interactions.get_mut(&id).expect("checked");
                inter.declined.clear();
                inter.reserved = None;
                if until > now {
                    self.set_stage(id, Stage::Deferred { until });
                } else {
                    self.set_stage(id, Stage::Waiting);
                    let queue = self.interactions[&id].queue;
                    self.enter_queue(id, queue, now);
                    self.put_waiting(id);
                }
            }
            Input::Snooze {
                interaction: id,
                until,
                owner_wait_ms,
            } => {
                let agent = self.assigned_agent(id)?;
                let channel = self.interactions[&id].channel;
                self.free_slot(agent, channel, now);
                let inter = self.interactions.get_mut(&id).expect("checked");
                inter.declined.clear();
                inter.reserved = None;
                inter.owner_when_due = Some(OwnerFirst {
                    agent,
                    wait_ms: owner_wait_ms,
                })
                .filter(|o| o.wait_ms > 0);
                self.set_stage(
                    id,
                    Stage::Deferred {
                        until: until.max(now),
                    },
                );
                if until <= now {
                    self.unschedule_stage(id);
                    self.due(id, now, out);
                }
            }
            Input::Wake { interaction: id } => {
                if matches!(self.interaction(id)?.stage, Stage::Deferred { .. }) {
                    self.unschedule_stage(id);
                    self.due(id, now, out);
                }
            }
            Input::TransferTo { interaction: id, to } => {
                let agent = self.assigned_agent(id)?;
                let channel = self.interactions[&id].channel;
                let open =
                    self.agents.get(&to).ok_or(RouterError::UnknownAgent(to))?.state == AgentState::Available;
                if !open || to == agent || !self.agents[&to].has_room(channel) {
                    return Err(RouterError::NotAvailable(to));
                }
                let queue = self.interactions[&id].queue;
                self.free_slot(agent, channel, now);
                let inter = self.interactions.get_mut(&id).expect("checked");
                inter.declined = BTreeSet::from([agent]);
                inter.reserved = Some(to);
                self.reserved.insert(id);
                let inter = self.interactions.get_mut(&id).expect("checked");
                inter.stage = Stage::Waiting;
                self.enter_queue(id, queue, now);
                self.put_waiting(id);
                self.fresh_agents.insert(to);
            }
            Input::Move {
                interaction: id,
                queue,
                to,
            } => {
                let offered = match self.interaction(id)?.stage {
                    Stage::Waiting => false,
                    Stage::Offered { .. } => true,
                    Stage::Active { .. } => return Err(RouterError::AlreadyAssigned(id)),
                    Stage::WrappingUp { .. } => return Err(RouterError::AlreadyEnded(id)),
                    Stage::Deferred { .. } => return Err(RouterError::NotDue(id)),
                };
                self.require_live_queue(queue)?;
                let channel = self.interactions[&id].channel;
                if let Some(to) = to {
                    let agent = self.agents.get(&to).ok_or(RouterError::UnknownAgent(to))?;
                    let offered_to_them = agent.offers.contains(&id);
                    if agent.state != AgentState::Available || !(offered_to_them || agent.has_room(channel)) {
                        return Err(RouterError::NotAvailable(to));
                    }
                }
                if offered {
                    self.revoke(id, RevokeReason::Moved, out);
                } else {
                    self.take_waiting(id);
                }
                let inter = self.interactions.get_mut(&id).expect("checked");
                inter.declined.clear();
                inter.reserved = to;
                let moved_queue = inter.queue != queue;
                if to.is_some() {
                    self.reserved.insert(id);
                }
                if moved_queue {
                    self.enter_queue(id, queue, now);
                }
                self.put_waiting(id);
                if let Some(to) = to {
                    self.fresh_agents.insert(to);
                }
            }
            Input::Restore {
                interaction: id,
                agent,
                queue,
                channel,
                wrapping_up,
            } => {
                if self.interactions.contains_key(&id) {
                    return Err(RouterError::AlreadyKnown(id));
                }
                self.require_agent(agent)?;
                self.require_live_queue(queue)?;
                // The original arrival time is not part of a restore: it queues as of now if
                // transferred later.
                let key = WaitKey {
                    priority: Reverse(0),
                    arrived_at: now,
                    seq: self.take_seq(),
                    id,
                };
                let stage = Stage::Active { agent };
                self.interactions
                    .insert(id, new_interaction(queue, channel, key, stage));
                if wrapping_up {
                    let release_at = now.saturating_add(self.queues[&queue].rules.wrap_up_ms);
                    self.set_stage(id, Stage::WrappingUp { agent, release_at });
                }
                let a = self.agents.get_mut(&agent).expect("checked");
                a.load[slot(channel)] = a.load[slot(channel)].saturating_add(1);
                self.refresh_open(agent);
            }
            Input::Start {
                interaction: id,
                agent,
                queue,
                channel,
            } => {
                if self.interactions.contains_key(&id) {
                    return Err(RouterError::AlreadyKnown(id));
                }
                self.require_agent(agent)?;
                self.require_live_queue(queue)?;
                let a = &self.agents[&agent];
                if a.load[slot(channel)] >= a.capacity.of(channel) {
                    return Err(RouterError::NoRoom { agent, channel });
                }
                let key = WaitKey {
                    priority: Reverse(0),
                    arrived_at: now,
                    seq: self.take_seq(),
                    id,
                };
                self.interactions
                    .insert(id, new_interaction(queue, channel, key, Stage::Active { agent }));
                let a = self.agents.get_mut(&agent).expect("checked");
                a.load[slot(channel)] += 1;
                self.refresh_open(agent);
            }
            Input::Tick => {}
        }
        Ok(())
    }

    /// The agent handling the interaction, not yet wrapping it up.
    fn assigned_agent(&self, id: InteractionId) -> Result<AgentId, RouterError> {
        match self.interaction(id)?.stage {
            Stage::Active { agent } => Ok(agent),
            Stage::WrappingUp { .. } => Err(RouterError::AlreadyEnded(id)),
            Stage::Waiting | Stage::Offered { .. } | Stage::Deferred { .. } => {
                Err(RouterError::NotAssigned(id))
            }
        }
    }

    fn require_offered_to(&self, id: InteractionId, agent: AgentId) -> Result<(), RouterError> {
        let inter = self.interaction(id)?;
        self.require_agent(agent)?;
        match inter.stage {
            Stage::Offered { agent: to, .. } if to == agent => Ok(()),
            _ => Err(RouterError::NotOfferedTo {
                interaction: id,
                agent,
            }),
        }
    }

    fn take_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn run_deadlines(&mut self, now: Millis, out: &mut Vec<Decision>) {
        while let Some(&(at, kind, id)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            match kind {
                DeadlineKind::Release => self.release(id, now, out),
                DeadlineKind::OfferExpiry => self.time_out(id, out),
                DeadlineKind::Overflow => self.overflow(id, now, out),
                DeadlineKind::OwnerWait => self.owner_wait_over(id, at),
                DeadlineKind::Due => self.due(id, now, out),
            }
        }
    }

    /// A contact set aside is due: it waits in its place, its overflow timed from now.
    fn due(&mut self, id: InteractionId, now: Millis, out: &mut Vec<Decision>) {
        let Some(inter) = self
            .interactions
            .get_mut(&id)
            .filter(|i| matches!(i.stage, Stage::Deferred { .. }))
        else {
            return;
        };
        inter.stage = Stage::Waiting;
        let (queue, owner) = (inter.queue, inter.owner_when_due.take());
        if let Some(o) = owner {
            self.reserve_for_owner(id, o, now);
        }
        self.enter_queue(id, queue, now);
        self.put_waiting(id);
        out.push(Decision::Due { interaction: id });
    }

    /// Offers the contact to its owner alone for their turn, if they are Available now.
    fn reserve_for_owner(&mut self, id: InteractionId, o: OwnerFirst, now: Millis) {
        if !self
            .agents
            .get(&o.agent)
            .is_some_and(|a| a.state == AgentState::Available)
        {
            return;
        }
        let until = now.saturating_add(o.wait_ms);
        let inter = self.interactions.get_mut(&id).expect("present");
        inter.reserved = Some(o.agent);
        inter.owner_until = Some(until);
        self.reserved.insert(id);
        self.deadlines.insert((until, DeadlineKind::OwnerWait, id));
        self.fresh_agents.insert(o.agent);
    }

    /// The owner's turn at a contact ends: anyone may be offered it (unless it is offered to the
    /// owner now, whose answer or RONA decides).
    fn owner_wait_over(&mut self, id: InteractionId, at: Millis) {
        let Some(inter) = self.interactions.get_mut(&id) else {
            return;
        };
        if inter.owner_until != Some(at) {
            return;
        }
        inter.owner_until = None;
        if inter.stage == Stage::Waiting {
            inter.reserved = None;
            self.fresh_interactions.push(id);
        }
    }

    /// An owner left Available: the contacts waiting for them go to anyone now.
    fn stop_waiting_for_owner(&mut self, agent: AgentId) {
        let waiting: Vec<(InteractionId, Millis)> = self
            .reserved
            .iter()
            .filter_map(|id| {
                let i = self.interactions.get(id)?;
                (i.reserved == Some(agent) && i.stage == Stage::Waiting).then_some((*id, i.owner_until?))
            })
            .collect();
        for (id, until) in waiting {
            self.deadlines.remove(&(until, DeadlineKind::OwnerWait, id));
            self.owner_wait_over(id, until);
        }
    }

    /// RONA: the offer goes to the next agent and the agent who missed it goes on break.
    fn time_out(&mut self, id: InteractionId, out: &mut Vec<Decision>) {
        let Some(agent) = self.revoke(id, RevokeReason::TimedOut, out) else {
            return;
        };
        self.put_waiting(id);
        let Some(a) = self.agents.get_mut(&agent) else {
            return;
        };
        if a.state == AgentState::Available {
            let state = AgentState::Break(MISSED_OFFER.to_string());
            a.state = state.clone();
            out.push(Decision::AgentStateChanged { agent, state });
            self.revoke_all_offers(agent, out);
            self.refresh_open(agent);
        }
    }

    fn overflow(&mut self, id: InteractionId, now: Millis, out: &mut Vec<Decision>) {
        let Some(inter) = self.interactions.get_mut(&id) else {
            return;
        };
        inter.overflow_at = None;
        let from = inter.queue;
        let Some(to) = self.overflow_target(from) else {
            return;
        };
        match self.interactions[&id].stage {
            Stage::Waiting => self.take_waiting(id),
            Stage::Offered { .. } => {
                self.revoke(id, RevokeReason::Overflowed, out);
            }
            Stage::Active { .. } | Stage::WrappingUp { .. } | Stage::Deferred { .. } => return,
        }
        out.push(Decision::Overflowed {
            interaction: id,
            from,
            to,
        });
        let inter = self.interactions.get_mut(&id).expect("present");
        inter.declined.clear();
        inter.reserved = None;
        self.enter_queue(id, to, now);
        self.put_waiting(id);
    }

    /// Frees the agent's slot for an active or wrapping-up interaction and forgets it.
    fn release(&mut self, id: InteractionId, now: Millis, out: &mut Vec<Decision>) {
        let Some(inter) = self.interactions.get(&id) else {
            return;
        };
        let agent = match inter.stage {
            Stage::Active { agent } | Stage::WrappingUp { agent, .. } => agent,
            Stage::Waiting | Stage::Offered { .. } | Stage::Deferred { .. } => return,
        };
        let channel = inter.channel;
        self.unschedule_stage(id);
        self.interactions.remove(&id);
        self.free_slot(agent, channel, now);
        out.push(Decision::Released {
            interaction: id,
            agent,
        });
    }

    fn free_slot(&mut self, agent: AgentId, channel: Channel, now: Millis) {
        if let Some(a) = self.agents.get_mut(&agent) {
            a.load[slot(channel)] = a.load[slot(channel)].saturating_sub(1);
            a.idle_since = now;
            self.refresh_open(agent);
            self.fresh_agents.insert(agent);
        }
    }

    /// Takes back an outstanding offer; the interaction is left Waiting but not yet in a waiting
    /// set (the caller requeues it or forgets it). Returns the agent it was offered to.
    fn revoke(
        &mut self,
        id: InteractionId,
        reason: RevokeReason,
        out: &mut Vec<Decision>,
    ) -> Option<AgentId> {
        let Stage::Offered { agent, .. } = self.interactions.get(&id)?.stage else {
            return None;
        };
        self.unschedule_stage(id);
        let inter = self.interactions.get_mut(&id).expect("present");
        inter.stage = Stage::Waiting;
        // A transfer to a named agent who did not take it goes to everyone else.
        inter.reserved = None;
        let channel = self.interactions[&id].channel;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.offers.remove(&id);
            a.load[slot(channel)] = a.load[slot(channel)].saturating_sub(1);
            self.refresh_open(agent);
            self.fresh_agents.insert(agent);
        }
        out.push(Decision::OfferRevoked {
            interaction: id,
            agent,
            reason,
        });
        Some(agent)
    }

    /// Revokes every offer an agent has (AgentUnavailable) and requeues them where they were.
    fn revoke_all_offers(&mut self, agent: AgentId, out: &mut Vec<Decision>) {
        let offers = self
            .agents
            .get_mut(&agent)
            .map(|a| std::mem::take(&mut a.offers))
            .unwrap_or_default();
        for id in offers {
            if self.revoke(id, RevokeReason::AgentUnavailable, out).is_some() {
                self.put_waiting(id);
            }
        }
    }

    /// Makes `queue` the interaction's current queue as of `at` and schedules its overflow.
    fn enter_queue(&mut self, id: InteractionId, queue: QueueId, at: Millis) {
        let inter = self.interactions.get_mut(&id).expect("present");
        inter.queue = queue;
        inter.entered_queue_at = at;
        self.reschedule_overflow(id);
    }

    fn put_waiting(&mut self, id: InteractionId) {
        let inter = &self.interactions[&id];
        self.waiting.entry(inter.queue).or_default()[slot(inter.channel)].insert(inter.key);
        self.fresh_interactions.push(id);
    }

    fn take_waiting(&mut self, id: InteractionId) {
        let inter = &self.interactions[&id];
        if let Some(sets) = self.waiting.get_mut(&inter.queue) {
            sets[slot(inter.channel)].remove(&inter.key);
        }
    }

    fn overflow_target(&self, from: QueueId) -> Option<QueueId> {
        let to = self.live_rules(from)?.overflow_queue?;
        (to != from && self.live_rules(to).is_some()).then_some(to)
    }

    fn reschedule_overflow(&mut self, id: InteractionId) {
        let inter = &self.interactions[&id];
        let due = match inter.stage {
            Stage::Waiting | Stage::Offered { .. } => self
                .overflow_target(inter.queue)
                .and(self.live_rules(inter.queue).and_then(|r| r.max_wait_ms))
                .map(|wait| inter.entered_queue_at.saturating_add(wait)),
            Stage::Active { .. } | Stage::WrappingUp { .. } | Stage::Deferred { .. } => None,
        };
        if due != inter.overflow_at {
            self.unschedule_overflow(id);
            if let Some(at) = due {
                self.deadlines.insert((at, DeadlineKind::Overflow, id));
            }
            self.interactions.get_mut(&id).expect("present").overflow_at = due;
        }
    }

    /// Queue rules changed: overflow times of everything not yet assigned may have too.
    fn reschedule_overflows(&mut self) {
        let ids: Vec<InteractionId> = self
            .interactions
            .iter()
            .filter(|(_, i)| matches!(i.stage, Stage::Waiting | Stage::Offered { .. }))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.reschedule_overflow(id);
        }
    }

    fn unschedule_overflow(&mut self, id: InteractionId) {
        if let Some(inter) = self.interactions.get_mut(&id)
            && let Some(at) = inter.overflow_at.take()
        {
            self.deadlines.remove(&(at, DeadlineKind::Overflow, id));
        }
    }

    fn unschedule_stage(&mut self, id: InteractionId) {
        match self.interactions.get(&id).map(|i| i.stage) {
            Some(Stage::Offered { expires_at, .. }) => {
                self.deadlines
                    .remove(&(expires_at, DeadlineKind::OfferExpiry, id));
            }
            Some(Stage::WrappingUp { release_at, .. }) => {
                self.deadlines.remove(&(release_at, DeadlineKind::Release, id));
            }
            Some(Stage::Deferred { until }) => {
                self.deadlines.remove(&(until, DeadlineKind::Due, id));
            }
            _ => {}
        }
    }

    /// Replaces the stage along with its deadline (load accounting is the caller's).
    fn set_stage(&mut self, id: InteractionId, stage: Stage) {
        self.unschedule_stage(id);
        match stage {
            Stage::Offered { expires_at, .. } => {
                self.deadlines.insert((expires_at, DeadlineKind::OfferExpiry, id));
            }
            Stage::WrappingUp { release_at, .. } => {
                self.deadlines.insert((release_at, DeadlineKind::Release, id));
            }
            Stage::Deferred { until } => {
                self.deadlines.insert((until, DeadlineKind::Due, id));
            }
            Stage::Waiting | Stage::Active { .. } => {}
        }
        self.interactions.get_mut(&id).expect("present").stage = stage;
    }

    fn refresh_open(&mut self, agent: AgentId) {
        if self.agents.get(&agent).is_some_and(Agent::is_open) {
            self.open.insert(agent);
        } else {
            self.open.remove(&agent);
        }
    }

    /// Agent `a` could be offered interaction `id` right now.
    fn can_take(&self, a: AgentId, id: InteractionId) -> bool {
        let (Some(agent), Some(inter)) = (self.agents.get(&a), self.interactions.get(&id)) else {
            return false;
        };
        let eligible = match inter.reserved {
            Some(r) => r == a,
            None => self
                .live_rules(inter.queue)
                .is_some_and(|r| has_skills(&agent.skills, &r.required_skills)),
        };
        inter.stage == Stage::Waiting
            && agent.state == AgentState::Available
            && agent.has_room(inter.channel)
            && !inter.declined.contains(&a)
            && eligible
    }

    /// The longest-idle eligible agent: fewest held interactions, then earliest idle_since, then id.
    fn best_agent_for(&self, id: InteractionId) -> Option<AgentId> {
        let inter = self.interactions.get(&id)?;
        if let Some(r) = inter.reserved {
            return (self.open.contains(&r) && self.can_take(r, id)).then_some(r);
        }
        self.longest_idle(inter.queue, inter.channel, |a| !inter.declined.contains(a))
    }

    /// The open agent with `queue`'s skills and room on `channel`, among those `eligible`, who
    /// should be offered next: fewest held interactions, then earliest idle_since, then id.
    fn longest_idle(
        &self,
        queue: QueueId,
        channel: Channel,
        eligible: impl Fn(&AgentId) -> bool,
    ) -> Option<AgentId> {
        let rules = self.live_rules(queue)?;
        self.open
            .iter()
            .filter(|a| eligible(a))
            .filter_map(|a| self.agents.get(a).map(|agent| (*a, agent)))
            .filter(|(_, agent)| agent.has_room(channel) && has_skills(&agent.skills, &rules.required_skills))
            .min_by_key(|(a, agent)| (agent.held(), agent.idle_since, *a))
            .map(|(a, _)| a)
    }

    /// The first waiting contact, across every live queue the agent is skilled for and every
    /// channel it has room on, that it has not declined.
    fn best_waiting_for(&self, a: AgentId) -> Option<WaitKey> {
        let agent = self.agents.get(&a).filter(|agent| agent.is_open())?;
        let mut best: Option<WaitKey> = None;
        for (qid, q) in &self.queues {
            if !q.live || !has_skills(&agent.skills, &q.rules.required_skills) {
                continue;
            }
            let Some(sets) = self.waiting.get(qid) else {
                continue;
            };
            for channel in Channel::ALL {
                if !agent.has_room(channel) {
                    continue;
                }
                let first = sets[slot(channel)]
                    .iter()
                    .take_while(|k| best.is_none_or(|b| **k < b))
                    .find(|k| {
                        let inter = &self.interactions[&k.id];
                        !inter.declined.contains(&a) && inter.reserved.is_none_or(|r| r == a)
                    });
                if let Some(k) = first {
                    best = Some(*k);
                }
            }
        }
        // Contacts transferred to this agent by name, in queues they may not be skilled for.
        let reserved = self
            .reserved
            .iter()
            .filter_map(|id| self.interactions.get(id).map(|i| (id, i)))
            .filter(|(id, i)| i.reserved == Some(a) && self.can_take(a, **id))
            .map(|(_, i)| i.key)
            .min();
        match (best, reserved) {
            (Some(b), Some(r)) => Some(b.min(r)),
            (b, r) => b.or(r),
        }
    }

    /// Offers waiting contacts until no waiting contact has an eligible agent, best contact first.
    ///
    /// Invariant between inputs: no waiting contact has an eligible agent. So a pair can only have
    /// become possible through a contact that became waiting (`fresh_interactions`) or an agent that
    /// gained room or eligibility (`fresh_agents`), and the best contact with any eligible agent is
    /// the better of the first fresh contact that has one and the best contact of a fresh agent.
    /// Offering only ever removes possibilities, so a fresh contact or agent found with nothing to
    /// do can be dropped for the rest of the pass.
    fn dispatch(&mut self, now: Millis, out: &mut Vec<Decision>) {
        let interactions = &self.interactions;
        self.reserved
            .retain(|id| interactions.get(id).is_some_and(|i| i.reserved.is_some()));
        let mut fresh: Vec<WaitKey> = std::mem::take(&mut self.fresh_interactions)
            .into_iter()
            .filter_map(|id| self.interactions.get(&id))
            .filter(|i| i.stage == Stage::Waiting)
            .map(|i| i.key)
            .collect();
        fresh.sort_unstable();
        fresh.dedup();
        let mut cursor = 0;
        let mut by_agent: BTreeSet<(WaitKey, AgentId)> = BTreeSet::new();
        for a in std::mem::take(&mut self.fresh_agents) {
            if let Some(key) = self.best_waiting_for(a) {
                by_agent.insert((key, a));
            }
        }
        loop {
            let mut from_fresh = None;
            while let Some(key) = fresh.get(cursor) {
                if self.is_waiting(key.id)
                    && let Some(agent) = self.best_agent_for(key.id)
                {
                    from_fresh = Some((*key, agent));
                    break;
                }
                cursor += 1;
            }
            let mut from_agents = None;
            while let Some(&(key, a)) = by_agent.first() {
                if self.can_take(a, key.id) {
                    from_agents = Some(key);
                    break;
                }
                by_agent.pop_first();
                if let Some(key) = self.best_waiting_for(a) {
                    by_agent.insert((key, a));
                }
            }
            // A fresh agent's contact always has an eligible agent (that one), so `None` below
            // only ends the pass when there is nothing left to offer.
            let pick = match (from_fresh, from_agents) {
                (Some((key, _)), Some(theirs)) if theirs < key => {
                    self.best_agent_for(theirs.id).map(|a| (theirs.id, a))
                }
                (Some((key, agent)), _) => Some((key.id, agent)),
                (None, Some(theirs)) => self.best_agent_for(theirs.id).map(|a| (theirs.id, a)),
                (None, None) => None,
            };
            let Some((id, agent)) = pick else {
                break;
            };
            self.offer(id, agent, now, out);
        }
    }

    fn is_waiting(&self, id: InteractionId) -> bool {
        self.interactions
            .get(&id)
            .is_some_and(|i| i.stage == Stage::Waiting)
    }

    fn offer(&mut self, id: InteractionId, agent: AgentId, now: Millis, out: &mut Vec<Decision>) {
        self.take_waiting(id);
        let inter = &self.interactions[&id];
        let (queue, channel) = (inter.queue, inter.channel);
        let timeout = self.queues.get(&queue).map_or(0, |q| q.rules.offer_timeout_ms);
        let expires_at = now.saturating_add(timeout);
        self.set_stage(id, Stage::Offered { agent, expires_at });
        let a = self.agents.get_mut(&agent).expect("an eligible agent exists");
        a.load[slot(channel)] += 1;
        a.offers.insert(id);
        self.refresh_open(agent);
        out.push(Decision::Offer {
            interaction: id,
            agent,
            queue,
            expires_at,
        });
    }
}

fn new_interaction(queue: QueueId, channel: Channel, key: WaitKey, stage: Stage) -> Interaction {
    Interaction {
        queue,
        channel,
        key,
        entered_queue_at: key.arrived_at,
        overflow_at: None,
        declined: BTreeSet::new(),
        reserved: None,
        owner_until: None,
        owner_when_due: None,
        stage,
    }
}

fn validate_rules(rules: &QueueRules) -> Result<(), RouterError> {
    let invalid = |reason| {
        Err(RouterError::InvalidRules {
            queue: rules.id,
            reason,
        })
    };
    if rules.offer_timeout_ms <= 0 {
        return invalid("offer_timeout_ms must be positive");
    }
    if rules.wrap_up_ms < 0 {
        return invalid("wrap_up_ms must not be negative");
    }
    // Zero would let two queues overflowing into each other bounce a contact forever in one tick.
    if rules.max_wait_ms.is_some_and(|w| w <= 0) {
        return invalid("max_wait_ms must be positive");
    }
    Ok(())
}
