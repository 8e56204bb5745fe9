//! Property tests: random sequences of inputs over a few agents, queues, skills and channels,
//! checked against a shadow model the test keeps from the inputs and the decisions alone, plus
//! the router's own bookkeeping invariants.

use super::*;
use proptest::prelude::*;
use uuid::Uuid;

const AGENTS: u128 = 3;
const QUEUES: u128 = 3;
const INTERACTIONS: u128 = 12;
const SKILLS: [&str; 2] = ["billing", "spanish"];

fn agent_id(n: u128) -> AgentId {
    AgentId(Uuid::from_u128(0xa000 + n))
}
fn queue_id(n: u128) -> QueueId {
    QueueId(Uuid::from_u128(0xb000 + n))
}
fn interaction_id(n: u128) -> InteractionId {
    InteractionId(Uuid::from_u128(0xc000 + n))
}

/// What the test asks for; the `pick` variants choose among what the shadow model says exists,
/// so that most inputs are valid, while `Raw*` ones name anything and often fail.
#[derive(Debug, Clone)]
enum Action {
    UpsertQueue {
        queue: u128,
        skills: Vec<(usize, u8)>,
        overflow: Option<(Millis, u128)>,
        timeout: Millis,
        wrap: Millis,
    },
    RemoveQueue(u128),
    UpsertAgent {
        agent: u128,
        skills: Vec<(usize, u8)>,
        capacity: Capacity,
    },
    SetState {
        agent: u128,
        state: AgentState,
    },
    Arrive {
        interaction: u128,
        queue: u128,
        channel: Channel,
        priority: i32,
        waited: Millis,
    },
    AcceptOffered(usize),
    DeclineOffered(usize),
    AbandonWaiting(usize),
    AbandonOffered(usize),
    EndActive(usize),
    WrapUpDone(usize),
    TransferActive(usize, u128),
    Restore {
        interaction: u128,
        agent: u128,
        queue: u128,
        channel: Channel,
        wrapping_up: bool,
    },
    Start {
        interaction: u128,
        agent: u128,
        queue: u128,
        channel: Channel,
    },
    RawAccept(u128, u128),
    RawEnd(u128),
    Tick,
}

fn channel() -> impl Strategy<Value = Channel> {
    prop_oneof![
        Just(Channel::Voice),
        Just(Channel::Chat),
        Just(Channel::Chat),
        Just(Channel::Email)
    ]
}

fn skills() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((0..SKILLS.len(), 1u8..4), 0..3)
}

fn upsert_queue() -> impl Strategy<Value = Action> {
    let overflow = prop::option::of((1i64..40_000, 0..QUEUES));
    (0..QUEUES, skills(), overflow, 1i64..15_000, 0i64..20_000).prop_map(
        |(queue, skills, overflow, timeout, wrap)| Action::UpsertQueue {
            queue,
            skills,
            overflow,
            timeout,
            wrap,
        },
    )
}

fn action() -> impl Strategy<Value = Action> {
    let state = prop_oneof![
        3 => Just(AgentState::Available),
        1 => Just(AgentState::Break("lunch".to_string())),
        1 => Just(AgentState::Offline),
    ];
    let capacity = (0u16..2, 0u16..4, 0u16..3).prop_map(|(voice, chat, email)| Capacity {
        voice,
        chat,
        email,
        messaging: 0,
    });
    prop_oneof![
        2 => upsert_queue(),
        1 => (0..QUEUES).prop_map(Action::RemoveQueue),
        2 => (0..AGENTS, skills(), capacity)
            .prop_map(|(agent, skills, capacity)| Action::UpsertAgent { agent, skills, capacity }),
        4 => (0..AGENTS, state).prop_map(|(agent, state)| Action::SetState { agent, state }),
        8 => (0..INTERACTIONS, 0..QUEUES, channel(), 0i32..3, 0i64..5_000).prop_map(
            |(interaction, queue, channel, priority, waited)| Action::Arrive {
                interaction, queue, channel, priority, waited
            }
        ),
        5 => any::<usize>().prop_map(Action::AcceptOffered),
        2 => any::<usize>().prop_map(Action::DeclineOffered),
        1 => any::<usize>().prop_map(Action::AbandonWaiting),
        1 => any::<usize>().prop_map(Action::AbandonOffered),
        3 => any::<usize>().prop_map(Action::EndActive),
        3 => any::<usize>().prop_map(Action::WrapUpDone),
        1 => (any::<usize>(), 0..QUEUES).prop_map(|(n, q)| Action::TransferActive(n, q)),
        1 => (0..INTERACTIONS, 0..AGENTS, 0..QUEUES, channel(), any::<bool>()).prop_map(
            |(interaction, agent, queue, channel, wrapping_up)| Action::Restore {
                interaction, agent, queue, channel, wrapping_up
            }
        ),
        2 => (0..INTERACTIONS, 0..AGENTS, 0..QUEUES, channel()).prop_map(
            |(interaction, agent, queue, channel)| Action::Start { interaction, agent, queue, channel }
        ),
        1 => (0..INTERACTIONS, 0..AGENTS).prop_map(|(i, a)| Action::RawAccept(i, a)),
        1 => (0..INTERACTIONS).prop_map(Action::RawEnd),
        3 => Just(Action::Tick),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShadowStage {
    Waiting,
    Offered(AgentId),
    Held(AgentId),
}

#[derive(Debug, Clone)]
struct ShadowInteraction {
    queue: QueueId,
    channel: Channel,
    /// (priority descending, arrival, arrival sequence): the service order.
    key: (Reverse<i32>, Millis, u64),
    declined: BTreeSet<AgentId>,
    stage: ShadowStage,
}

#[derive(Debug, Clone)]
struct ShadowAgent {
    skills: Skills,
    capacity: Capacity,
    state: AgentState,
    /// Restores and capacity cuts may legitimately leave an agent above capacity.
    may_exceed: bool,
}

/// What the router must be doing, rebuilt from inputs and decisions only.
#[derive(Debug, Default)]
struct Shadow {
    queues: BTreeMap<QueueId, Vec<SkillRequirement>>,
    agents: BTreeMap<AgentId, ShadowAgent>,
    interactions: BTreeMap<InteractionId, ShadowInteraction>,
    seq: u64,
}

impl Shadow {
    fn ids(&self, stage: impl Fn(ShadowStage) -> bool) -> Vec<InteractionId> {
        self.interactions
            .iter()
            .filter(|(_, i)| stage(i.stage))
            .map(|(id, _)| *id)
            .collect()
    }

    fn held(&self, agent: AgentId, channel: Channel) -> u16 {
        self.interactions
            .values()
            .filter(|i| i.channel == channel)
            .filter(|i| matches!(i.stage, ShadowStage::Offered(a) | ShadowStage::Held(a) if a == agent))
            .count() as u16
    }

    fn could_take(&self, agent: AgentId, channel: Channel) -> bool {
        let a = &self.agents[&agent];
        self.held(agent, Channel::Voice) == 0 && self.held(agent, channel) < a.capacity.of(channel)
    }

    /// Checks an offer against the policy, before recording it.
    fn offer(&mut self, id: InteractionId, agent: AgentId, queue: QueueId) -> Result<(), String> {
        let inter = self
            .interactions
            .get(&id)
            .ok_or(format!("offer of unknown {id}"))?;
        if inter.stage != ShadowStage::Waiting {
            return Err(format!(
                "offer of {id} which is {:?}: two outstanding offers or lost",
                inter.stage
            ));
        }
        if inter.queue != queue {
            return Err(format!(
                "offer of {id} names queue {queue}, it is in {}",
                inter.queue
            ));
        }
        let a = self.agents.get(&agent).ok_or("offer to an unknown agent")?;
        if a.state != AgentState::Available {
            return Err(format!("offer of {id} to {agent} who is {:?}", a.state));
        }
        let required = self.queues.get(&queue).ok_or("offer from a removed queue")?;
        if !has_skills(&a.skills, required) {
            return Err(format!("offer of {id} to unskilled {agent}"));
        }
        if inter.declined.contains(&agent) {
            return Err(format!("offer of {id} to {agent} who declined it"));
        }
        if !self.could_take(agent, inter.channel) {
            return Err(format!(
                "offer of {id} puts {agent} above capacity or on top of a call"
            ));
        }
        // FIFO within priority: nothing ahead of it in this queue that this agent could take.
        for (other_id, other) in &self.interactions {
            if other.stage == ShadowStage::Waiting
                && other.queue == queue
                && other.key < inter.key
                && !other.declined.contains(&agent)
                && self.could_take(agent, other.channel)
            {
                return Err(format!("offer of {id} to {agent} skipped {other_id} ahead of it"));
            }
        }
        self.interactions.get_mut(&id).expect("checked").stage = ShadowStage::Offered(agent);
        Ok(())
    }

    fn decision(&mut self, d: &Decision) -> Result<(), String> {
        match d {
            Decision::Offer {
                interaction,
                agent,
                queue,
                ..
            } => self.offer(*interaction, *agent, *queue)?,
            Decision::OfferRevoked {
                interaction,
                agent,
                reason,
            } => {
                let inter = self
                    .interactions
                    .get_mut(interaction)
                    .ok_or("revoke of unknown")?;
                if inter.stage != ShadowStage::Offered(*agent) {
                    return Err(format!(
                        "revoke of {interaction} from {agent}: it is {:?}",
                        inter.stage
                    ));
                }
                inter.stage = ShadowStage::Waiting;
                if *reason == RevokeReason::Abandoned {
                    self.interactions.remove(interaction);
                }
            }
            Decision::Assigned { interaction, agent } => {
                let inter = self
                    .interactions
                    .get_mut(interaction)
                    .ok_or("assign of unknown")?;
                if inter.stage != ShadowStage::Offered(*agent) {
                    return Err(format!("assigned {interaction} which is {:?}", inter.stage));
                }
                inter.stage = ShadowStage::Held(*agent);
            }
            Decision::AgentStateChanged { agent, state } => {
                self.agents.get_mut(agent).ok_or("state of unknown agent")?.state = state.clone();
            }
            Decision::Overflowed {
                interaction,
                from,
                to,
            } => {
                let inter = self
                    .interactions
                    .get_mut(interaction)
                    .ok_or("overflow of unknown")?;
                if inter.stage != ShadowStage::Waiting || inter.queue != *from {
                    return Err(format!("overflow of {interaction} from {from}: {:?}", inter));
                }
                inter.queue = *to;
                inter.declined.clear();
            }
            Decision::Released { interaction, agent } => {
                let inter = self
                    .interactions
                    .remove(interaction)
                    .ok_or("release of unknown")?;
                if inter.stage != ShadowStage::Held(*agent) {
                    return Err(format!("released {interaction} which was {:?}", inter.stage));
                }
            }
            Decision::Due { interaction } => {
                return Err(format!(
                    "{interaction} came due, but no action sets a contact aside"
                ));
            }
        }
        Ok(())
    }
}

fn nth<T: Copy>(items: &[T], n: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[n % items.len()])
}

fn skill_map(skills: &[(usize, u8)]) -> Skills {
    skills.iter().map(|(s, l)| (SKILLS[*s].to_string(), *l)).collect()
}

/// Turns an action into an input using the shadow to find something to act on.
fn input_for(action: &Action, shadow: &Shadow, now: Millis) -> Option<Input> {
    let offered = || shadow.ids(|s| matches!(s, ShadowStage::Offered(_)));
    let held = || shadow.ids(|s| matches!(s, ShadowStage::Held(_)));
    let offered_to = |id: InteractionId| match shadow.interactions[&id].stage {
        ShadowStage::Offered(a) => a,
        _ => unreachable!(),
    };
    Some(match action.clone() {
        Action::UpsertQueue {
            queue,
            skills,
            overflow,
            timeout,
            wrap,
        } => Input::UpsertQueue(QueueRules {
            id: queue_id(queue),
            required_skills: skill_map(&skills)
                .into_iter()
                .map(|(skill, min_level)| SkillRequirement { skill, min_level })
                .collect(),
            max_wait_ms: overflow.map(|(wait, _)| wait),
            overflow_queue: overflow.map(|(_, to)| queue_id(to)),
            offer_timeout_ms: timeout,
            wrap_up_ms: wrap,
        }),
        Action::RemoveQueue(queue) => Input::RemoveQueue(queue_id(queue)),
        Action::UpsertAgent {
            agent,
            skills,
            capacity,
        } => Input::UpsertAgent {
            agent: agent_id(agent),
            skills: skill_map(&skills),
            capacity,
        },
        Action::SetState { agent, state } => Input::SetState {
            agent: agent_id(agent),
            state,
        },
        Action::Arrive {
            interaction,
            queue,
            channel,
            priority,
            waited,
        } => Input::Arrive {
            interaction: interaction_id(interaction),
            queue: queue_id(queue),
            channel,
            priority,
            arrived_at: now - waited,
            owner: None,
            due_at: None,
        },
        Action::AcceptOffered(n) => {
            let id = nth(&offered(), n)?;
            Input::Accept {
                interaction: id,
                agent: offered_to(id),
            }
        }
        Action::DeclineOffered(n) => {
            let id = nth(&offered(), n)?;
            Input::Decline {
                interaction: id,
                agent: offered_to(id),
            }
        }
        Action::AbandonWaiting(n) => Input::Abandon {
            interaction: nth(&shadow.ids(|s| s == ShadowStage::Waiting), n)?,
        },
        Action::AbandonOffered(n) => Input::Abandon {
            interaction: nth(&offered(), n)?,
        },
        Action::EndActive(n) => Input::End {
            interaction: nth(&held(), n)?,
        },
        Action::WrapUpDone(n) => Input::WrapUpDone {
            interaction: nth(&held(), n)?,
        },
        Action::TransferActive(n, queue) => Input::Transfer {
            interaction: nth(&held(), n)?,
            queue: queue_id(queue),
        },
        Action::Restore {
            interaction,
            agent,
            queue,
            channel,
            wrapping_up,
        } => Input::Restore {
            interaction: interaction_id(interaction),
            agent: agent_id(agent),
            queue: queue_id(queue),
            channel,
            wrapping_up,
        },
        Action::Start {
            interaction,
            agent,
            queue,
            channel,
        } => Input::Start {
            interaction: interaction_id(interaction),
            agent: agent_id(agent),
            queue: queue_id(queue),
            channel,
        },
        Action::RawAccept(i, a) => Input::Accept {
            interaction: interaction_id(i),
            agent: agent_id(a),
        },
        Action::RawEnd(i) => Input::End {
            interaction: interaction_id(i),
        },
        Action::Tick => Input::Tick,
    })
}

/// The shadow's part of an accepted input that no decision reports.
fn record_input(shadow: &mut Shadow, input: &Input, now: Millis) {
    match input {
        Input::UpsertQueue(rules) => {
            shadow.queues.insert(rules.id, rules.required_skills.clone());
        }
        Input::RemoveQueue(id) => {
            shadow.queues.remove(id);
        }
        Input::UpsertAgent {
            agent,
            skills,
            capacity,
        } => {
            let entry = shadow.agents.entry(*agent).or_insert(ShadowAgent {
                skills: Skills::new(),
                capacity: *capacity,
                state: AgentState::Offline,
                may_exceed: false,
            });
            entry.may_exceed |= Channel::ALL
                .into_iter()
                .any(|c| capacity.of(c) < entry.capacity.of(c));
            entry.skills = skills.clone();
            entry.capacity = *capacity;
        }
        Input::SetState { agent, state } => {
            shadow.agents.get_mut(agent).expect("known").state = state.clone()
        }
        Input::SetReachable { .. } => {
            unreachable!("no action sets reachability: the scenario tables cover it")
        }
        Input::Defer { .. } => unreachable!("no action defers a callback: the scenario tables cover it"),
        Input::Snooze { .. } | Input::Wake { .. } => {
            unreachable!("no action snoozes a contact: the scenario tables cover it")
        }
        Input::Arrive {
            interaction,
            queue,
            channel,
            priority,
            arrived_at,
            owner: _,
            due_at: _,
        } => {
            shadow.seq += 1;
            let key = (Reverse(*priority), *arrived_at, shadow.seq);
            let inter = ShadowInteraction {
                queue: *queue,
                channel: *channel,
                key,
                declined: BTreeSet::new(),
                stage: ShadowStage::Waiting,
            };
            shadow.interactions.insert(*interaction, inter);
        }
        Input::Decline { interaction, agent } => {
            shadow
                .interactions
                .get_mut(interaction)
                .expect("known")
                .declined
                .insert(*agent);
        }
        Input::Abandon { interaction } => {
            if shadow.interactions[interaction].stage == ShadowStage::Waiting {
                shadow.interactions.remove(interaction);
            }
        }
        Input::Transfer { interaction, queue } => {
            let inter = shadow.interactions.get_mut(interaction).expect("known");
            let ShadowStage::Held(agent) = inter.stage else {
                unreachable!("transfer accepted")
            };
            inter.stage = ShadowStage::Waiting;
            inter.queue = *queue;
            inter.declined = BTreeSet::from([agent]);
        }
        Input::Restore {
            interaction,
            agent,
            queue,
            channel,
            ..
        } => {
            shadow.seq += 1;
            let inter = ShadowInteraction {
                queue: *queue,
                channel: *channel,
                key: (Reverse(0), now, shadow.seq),
                declined: BTreeSet::new(),
                stage: ShadowStage::Held(*agent),
            };
            shadow.interactions.insert(*interaction, inter);
            shadow.agents.get_mut(agent).expect("known").may_exceed = true;
        }
        Input::Start {
            interaction,
            agent,
            queue,
            channel,
        } => {
            // Started only with room for it: unlike a restore, never above capacity.
            shadow.seq += 1;
            let inter = ShadowInteraction {
                queue: *queue,
                channel: *channel,
                key: (Reverse(0), now, shadow.seq),
                declined: BTreeSet::new(),
                stage: ShadowStage::Held(*agent),
            };
            shadow.interactions.insert(*interaction, inter);
        }
        Input::Accept { .. } | Input::End { .. } | Input::WrapUpDone { .. } | Input::Tick => {}
        // Not generated here: a named transfer's, a return's and a supervisor's move's rules are
        // in the scenario table.
        Input::TransferTo { .. } | Input::Return { .. } | Input::Move { .. } => unreachable!("not generated"),
    }
}

/// The router's own bookkeeping agrees with its interactions, and it left no work undone.
/// `now` is the time of the last accepted input (a refused one processes no deadlines).
fn check_router(r: &Router, now: Millis) -> Result<(), String> {
    for (id, agent) in &r.agents {
        let mut load = [0u16; 4];
        let mut offers = BTreeSet::new();
        for (iid, inter) in &r.interactions {
            match inter.stage {
                Stage::Offered { agent: a, .. } if a == *id => {
                    load[slot(inter.channel)] += 1;
                    offers.insert(*iid);
                }
                Stage::Active { agent: a } | Stage::WrappingUp { agent: a, .. } if a == *id => {
                    load[slot(inter.channel)] += 1
                }
                _ => {}
            }
        }
        if load != agent.load || offers != agent.offers {
            return Err(format!(
                "agent {id} books {:?}/{:?}, holds {load:?}/{offers:?}",
                agent.load, agent.offers
            ));
        }
        if !offers.is_empty() && agent.state != AgentState::Available {
            return Err(format!("agent {id} is {:?} with offers", agent.state));
        }
        if r.open.contains(id) != agent.is_open() {
            return Err(format!("agent {id} open set out of date"));
        }
    }
    let mut deadlines = BTreeSet::new();
    let mut queued = 0;
    for (id, inter) in &r.interactions {
        match inter.stage {
            Stage::Offered { expires_at, .. } => {
                deadlines.insert((expires_at, DeadlineKind::OfferExpiry, *id));
            }
            Stage::WrappingUp { release_at, .. } => {
                deadlines.insert((release_at, DeadlineKind::Release, *id));
            }
            Stage::Waiting => {
                queued += 1;
                if !r
                    .waiting
                    .get(&inter.queue)
                    .is_some_and(|s| s[slot(inter.channel)].contains(&inter.key))
                {
                    return Err(format!("waiting {id} missing from its waiting set"));
                }
                // Work-conserving: nobody who could take it is left idle.
                for a in r.agents.keys() {
                    if r.can_take(*a, *id) {
                        return Err(format!("{id} waits while {a} could take it"));
                    }
                }
            }
            Stage::Active { .. } => {}
            Stage::Deferred { until } => {
                deadlines.insert((until, DeadlineKind::Due, *id));
                if inter.overflow_at.is_some() {
                    return Err(format!("{id} set aside with an overflow timed"));
                }
            }
        }
        if let Some(at) = inter.overflow_at {
            deadlines.insert((at, DeadlineKind::Overflow, *id));
        }
    }
    if queued != r.waiting.values().flatten().map(BTreeSet::len).sum::<usize>() {
        return Err("waiting sets hold more than the waiting interactions".into());
    }
    if deadlines != r.deadlines {
        return Err(format!("deadlines {:?} expected {deadlines:?}", r.deadlines));
    }
    if r.next_deadline().is_some_and(|at| at <= now) {
        return Err("a due deadline was left unprocessed".into());
    }
    if !r.fresh_agents.is_empty() || !r.fresh_interactions.is_empty() {
        return Err("dispatch scratch left over".into());
    }
    Ok(())
}

fn check_shadow(r: &Router, shadow: &Shadow) -> Result<(), String> {
    let known: BTreeSet<_> = r.interactions.keys().copied().collect();
    let expected: BTreeSet<_> = shadow.interactions.keys().copied().collect();
    if known != expected {
        return Err(format!(
            "router knows {known:?}, shadow {expected:?}: lost or leaked"
        ));
    }
    for n in 0..QUEUES {
        let queue = queue_id(n);
        let mut waiting: Vec<_> = shadow
            .interactions
            .iter()
            .filter(|(_, i)| i.stage == ShadowStage::Waiting && i.queue == queue)
            .map(|(id, i)| (i.key, *id))
            .collect();
        waiting.sort();
        let waiting: Vec<_> = waiting.into_iter().map(|(_, id)| id).collect();
        if r.waiting(queue) != waiting {
            return Err(format!(
                "waiting({queue}) = {:?}, expected {waiting:?}",
                r.waiting(queue)
            ));
        }
        if r.queue_stats(queue).waiting != waiting.len() {
            return Err("queue_stats disagrees with waiting".into());
        }
    }
    for (id, agent) in &shadow.agents {
        for channel in Channel::ALL {
            if !agent.may_exceed && shadow.held(*id, channel) > agent.capacity.of(channel) {
                return Err(format!("agent {id} above capacity on {channel:?}"));
            }
        }
    }
    Ok(())
}

proptest! {
    // No regression files: this module may only write under routing/.
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_routing_promises(
        steps in prop::collection::vec((0i64..8_000, action()), 1..120)
    ) {
        let mut router = Router::new();
        let mut shadow = Shadow::default();
        let mut now: Millis = 1_000_000;
        let mut last_accepted = now;
        for (n, (dt, action)) in steps.iter().enumerate() {
            now += dt;
            let Some(input) = input_for(action, &shadow, now) else { continue };
            let before = format!("{router:?}");
            match router.handle(input.clone(), now) {
                Ok(decisions) => {
                    last_accepted = now;
                    record_input(&mut shadow, &input, now);
                    for d in &decisions {
                        if let Err(e) = shadow.decision(d) {
                            prop_assert!(false, "step {n} {input:?}: {d:?}: {e}\n{decisions:?}");
                        }
                    }
                }
                Err(e) => {
                    prop_assert_eq!(format!("{router:?}"), before, "step {} changed state", n);
                    // Refused for want of room only when the agent has none.
                    if let RouterError::NoRoom { agent, channel } = e {
                        let room = shadow.agents[&agent].capacity.of(channel);
                        prop_assert!(shadow.held(agent, channel) >= room, "step {} refused with room", n);
                    }
                }
            }
            let checked = check_router(&router, last_accepted).and_then(|()| check_shadow(&router, &shadow));
            if let Err(e) = checked {
                prop_assert!(false, "step {n} {input:?}: {e}");
            }
        }
    }

    /// The same inputs at the same times give the same decisions.
    #[test]
    fn routing_is_deterministic(steps in prop::collection::vec((0i64..8_000, action()), 1..60)) {
        let run = || {
            let mut router = Router::new();
            let mut shadow = Shadow::default();
            let mut now: Millis = 0;
            let mut log = Vec::new();
            for (dt, action) in &steps {
                now += dt;
                let Some(input) = input_for(action, &shadow, now) else { continue };
                let result = router.handle(input.clone(), now);
                if let Ok(decisions) = &result {
                    record_input(&mut shadow, &input, now);
                    decisions.iter().for_each(|d| { let _ = shadow.decision(d); });
                }
                log.push(result);
            }
            log
        };
        prop_assert_eq!(run(), run());
    }
}
