//! Scenario tables: each step is (time, input, what the router must decide), read top to bottom.

use super::*;
use uuid::Uuid;

const OFFER_TIMEOUT: Millis = 10_000;
const WRAP_UP: Millis = 30_000;

fn a(n: u128) -> AgentId {
    AgentId(Uuid::from_u128(0xa000 + n))
}
fn q(n: u128) -> QueueId {
    QueueId(Uuid::from_u128(0xb000 + n))
}
fn i(n: u128) -> InteractionId {
    InteractionId(Uuid::from_u128(0xc000 + n))
}

fn rules(queue: u128, skills: &[(&str, u8)]) -> QueueRules {
    QueueRules {
        id: q(queue),
        required_skills: skills
            .iter()
            .map(|(skill, min_level)| SkillRequirement {
                skill: skill.to_string(),
                min_level: *min_level,
            })
            .collect(),
        max_wait_ms: None,
        overflow_queue: None,
        offer_timeout_ms: OFFER_TIMEOUT,
        wrap_up_ms: WRAP_UP,
    }
}
fn queue(n: u128) -> Input {
    Input::UpsertQueue(rules(n, &[]))
}
fn skilled_queue(n: u128, skills: &[(&str, u8)]) -> Input {
    Input::UpsertQueue(rules(n, skills))
}
fn cap(voice: u16, chat: u16) -> Capacity {
    Capacity {
        voice,
        chat,
        email: 0,
        messaging: 0,
    }
}
fn agent(n: u128, capacity: Capacity) -> Input {
    Input::UpsertAgent {
        agent: a(n),
        skills: Skills::new(),
        capacity,
    }
}
fn skilled_agent(n: u128, skills: &[(&str, u8)], capacity: Capacity) -> Input {
    let skills = skills.iter().map(|(s, l)| (s.to_string(), *l)).collect();
    Input::UpsertAgent {
        agent: a(n),
        skills,
        capacity,
    }
}
fn available(n: u128) -> Input {
    Input::SetState {
        agent: a(n),
        state: AgentState::Available,
    }
}
fn on_break(n: u128, reason: &str) -> Input {
    Input::SetState {
        agent: a(n),
        state: AgentState::Break(reason.to_string()),
    }
}
fn arrive(n: u128, queue: u128, channel: Channel, priority: i32, arrived_at: Millis) -> Input {
    Input::Arrive {
        interaction: i(n),
        queue: q(queue),
        channel,
        priority,
        arrived_at,
        owner: None,
        due_at: None,
    }
}
fn chat(n: u128, queue: u128, arrived_at: Millis) -> Input {
    arrive(n, queue, Channel::Chat, 0, arrived_at)
}
fn call(n: u128, queue: u128, arrived_at: Millis) -> Input {
    arrive(n, queue, Channel::Voice, 0, arrived_at)
}
fn accept(n: u128, agent: u128) -> Input {
    Input::Accept {
        interaction: i(n),
        agent: a(agent),
    }
}
fn decline(n: u128, agent: u128) -> Input {
    Input::Decline {
        interaction: i(n),
        agent: a(agent),
    }
}
fn end(n: u128) -> Input {
    Input::End { interaction: i(n) }
}
fn wrap_up_done(n: u128) -> Input {
    Input::WrapUpDone { interaction: i(n) }
}

fn offer(n: u128, agent: u128, queue: u128, expires_at: Millis) -> Decision {
    Decision::Offer {
        interaction: i(n),
        agent: a(agent),
        queue: q(queue),
        expires_at,
    }
}
fn revoked(n: u128, agent: u128, reason: RevokeReason) -> Decision {
    Decision::OfferRevoked {
        interaction: i(n),
        agent: a(agent),
        reason,
    }
}
fn assigned(n: u128, agent: u128) -> Decision {
    Decision::Assigned {
        interaction: i(n),
        agent: a(agent),
    }
}
fn released(n: u128, agent: u128) -> Decision {
    Decision::Released {
        interaction: i(n),
        agent: a(agent),
    }
}

type Step = (Millis, Input, Result<Vec<Decision>, RouterError>);

/// Runs the steps in order and checks each outcome exactly; an error must change nothing.
fn play(steps: Vec<Step>) -> Router {
    let mut router = Router::new();
    for (n, (now, input, expected)) in steps.into_iter().enumerate() {
        let before = format!("{router:?}");
        let shown = format!("{input:?}");
        let got = router.handle(input, now);
        assert_eq!(got, expected, "step {n} at {now}: {shown}");
        if got.is_err() {
            assert_eq!(
                format!("{router:?}"),
                before,
                "step {n}: an error changed the router"
            );
        }
    }
    router
}

#[test]
fn longest_idle_agent_wins() {
    let e = OFFER_TIMEOUT;
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 3)), Ok(vec![])),
        (0, agent(2, cap(0, 3)), Ok(vec![])),
        (0, agent(3, cap(0, 3)), Ok(vec![])),
        (10, available(2), Ok(vec![])),
        (20, available(1), Ok(vec![])),
        (30, available(3), Ok(vec![])),
        // Agent 2 has been idle longest.
        (100, chat(1, 1, 100), Ok(vec![offer(1, 2, 1, 100 + e)])),
        (110, accept(1, 2), Ok(vec![assigned(1, 2)])),
        // Fewest held first: agents 1 and 3 hold nothing, 1 has been idle longer.
        (200, chat(2, 1, 200), Ok(vec![offer(2, 1, 1, 200 + e)])),
        (300, chat(3, 1, 300), Ok(vec![offer(3, 3, 1, 300 + e)])),
        // Everyone holds one: back to agent 2, idle since 10.
        (400, chat(4, 1, 400), Ok(vec![offer(4, 2, 1, 400 + e)])),
        // A released slot resets idle time: agent 2 (2 held) releases one at 500 and is then
        // the most recently idle among agents holding one.
        (500, wrap_up_done(1), Ok(vec![released(1, 2)])),
        (600, chat(5, 1, 600), Ok(vec![offer(5, 1, 1, 600 + e)])),
        (700, chat(6, 1, 700), Ok(vec![offer(6, 3, 1, 700 + e)])),
        (800, chat(7, 1, 800), Ok(vec![offer(7, 2, 1, 800 + e)])),
    ]);
}

#[test]
fn skills_filter_agents() {
    let router = play(vec![
        (0, skilled_queue(1, &[("billing", 5)]), Ok(vec![])),
        (0, skilled_agent(1, &[("billing", 3)], cap(0, 3)), Ok(vec![])),
        (
            0,
            skilled_agent(2, &[("billing", 7), ("french", 2)], cap(0, 3)),
            Ok(vec![]),
        ),
        (0, agent(3, cap(0, 3)), Ok(vec![])),
        (10, available(1), Ok(vec![])),
        (10, available(3), Ok(vec![])),
        // Only under-skilled agents are on: the contact waits.
        (20, chat(1, 1, 20), Ok(vec![])),
        (30, available(2), Ok(vec![offer(1, 2, 1, 30 + OFFER_TIMEOUT)])),
    ]);
    assert!(router.can_serve(q(1)));
    let stats = router.queue_stats(q(1));
    assert_eq!(
        stats,
        QueueStats {
            waiting: 0,
            oldest_arrived_at: None,
            agents_available: 1,
            agents_staffed: 1,
            // The offer counts: it holds one of agent 2's slots.
            agents_busy: 1,
            agents_on_break: 0,
            scheduled: 0,
        }
    );
}

/// The wallboard's agents per queue: staffed splits into available and on a break, and busy
/// counts whoever holds a contact, an Available agent with room for more as well; agents
/// without the queue's skills and those logged out are not counted.
#[test]
fn a_queues_agents_are_counted_available_busy_and_on_break() {
    let mut router = play(vec![
        (0, skilled_queue(1, &[("billing", 5)]), Ok(vec![])),
        (0, skilled_agent(1, &[("billing", 5)], cap(0, 3)), Ok(vec![])),
        (0, skilled_agent(2, &[("billing", 5)], cap(0, 3)), Ok(vec![])),
        (0, skilled_agent(3, &[("billing", 5)], cap(0, 3)), Ok(vec![])),
        (0, skilled_agent(4, &[("billing", 5)], cap(0, 3)), Ok(vec![])),
        (0, agent(5, cap(0, 3)), Ok(vec![])),
        (0, available(5), Ok(vec![])),
        (10, available(1), Ok(vec![])),
        (20, available(2), Ok(vec![])),
        (30, on_break(3, "lunch"), Ok(vec![])),
        (
            100,
            chat(1, 1, 100),
            Ok(vec![offer(1, 1, 1, 100 + OFFER_TIMEOUT)]),
        ),
        (110, accept(1, 1), Ok(vec![assigned(1, 1)])),
    ]);
    let counts = |r: &Router| {
        let s = r.queue_stats(q(1));
        (
            s.agents_staffed,
            s.agents_available,
            s.agents_busy,
            s.agents_on_break,
        )
    };
    assert_eq!(counts(&router), (3, 2, 1, 1));
    // Agent 1 goes on a break holding the chat: still busy until it is wrapped up.
    router.handle(on_break(1, "coffee"), 200).unwrap();
    assert_eq!(counts(&router), (3, 1, 1, 2));
    router.handle(end(1), 300).unwrap();
    router.handle(wrap_up_done(1), 400).unwrap();
    assert_eq!(counts(&router), (3, 1, 0, 2));
}

#[test]
fn can_serve_follows_skilled_available_agents() {
    let mut router = play(vec![
        (0, skilled_queue(1, &[("billing", 5)]), Ok(vec![])),
        (0, skilled_agent(1, &[("billing", 5)], cap(0, 3)), Ok(vec![])),
        (0, agent(2, cap(0, 3)), Ok(vec![])),
        (0, available(2), Ok(vec![])),
    ]);
    assert!(!router.can_serve(q(1)), "only an unskilled agent is available");
    router.handle(available(1), 1).unwrap();
    assert!(router.can_serve(q(1)));
    router.handle(on_break(1, "lunch"), 2).unwrap();
    assert!(!router.can_serve(q(1)));
    assert_eq!(router.queue_stats(q(1)).agents_staffed, 1);
    assert!(!router.can_serve(q(9)), "unknown queue");
}

#[test]
fn a_consult_to_a_queue_reaches_the_longest_idle_skilled_agent_free_for_a_call() {
    let mut router = play(vec![
        (0, skilled_queue(1, &[("billing", 5)]), Ok(vec![])),
        (0, skilled_agent(1, &[("billing", 5)], cap(1, 3)), Ok(vec![])),
        (0, skilled_agent(2, &[("billing", 9)], cap(1, 3)), Ok(vec![])),
        (0, skilled_agent(3, &[("billing", 9)], cap(0, 3)), Ok(vec![])),
        (0, agent(4, cap(1, 3)), Ok(vec![])),
        (10, available(3), Ok(vec![])),
        (10, available(4), Ok(vec![])),
    ]);
    // Only one with no room for a call and one without the skills are Available.
    assert_eq!(router.consultant(q(1), a(9)), None);
    router.handle(available(2), 20).unwrap();
    router.handle(available(1), 30).unwrap();
    // Idle longest: agent 2; never the one asking; nobody for an unknown queue.
    assert_eq!(router.consultant(q(1), a(9)), Some(a(2)));
    assert_eq!(router.consultant(q(1), a(2)), Some(a(1)));
    assert_eq!(router.consultant(q(9), a(9)), None);
    router.handle(on_break(2, "lunch"), 40).unwrap();
    assert_eq!(router.consultant(q(1), a(9)), Some(a(1)));
}

#[test]
fn priority_then_fifo_then_arrival_order() {
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 1)), Ok(vec![])),
        (1, arrive(1, 1, Channel::Chat, 0, 1), Ok(vec![])),
        (2, arrive(2, 1, Channel::Chat, 5, 2), Ok(vec![])),
        (3, arrive(3, 1, Channel::Chat, 0, 3), Ok(vec![])),
        (4, arrive(4, 1, Channel::Chat, 5, 4), Ok(vec![])),
        // Same timestamp as 4: arrival sequence decides.
        (4, arrive(5, 1, Channel::Chat, 5, 4), Ok(vec![])),
    ]);
    assert_eq!(router.waiting(q(1)), vec![i(2), i(4), i(5), i(1), i(3)]);
    let stats = router.queue_stats(q(1));
    assert_eq!((stats.waiting, stats.oldest_arrived_at), (5, Some(1)));

    let e = OFFER_TIMEOUT;
    let mut steps = vec![(10, available(1), Ok(vec![offer(2, 1, 1, 10 + e)]))];
    for (t, (done, next)) in [(2, 4), (4, 5), (5, 1), (1, 3)].into_iter().enumerate() {
        let t = 100 * (t as Millis + 1);
        steps.push((t, accept(done, 1), Ok(vec![assigned(done, 1)])));
        steps.push((
            t + 1,
            wrap_up_done(done),
            Ok(vec![released(done, 1), offer(next, 1, 1, t + 1 + e)]),
        ));
    }
    let mut router = router;
    for (n, (now, input, expected)) in steps.into_iter().enumerate() {
        assert_eq!(router.handle(input, now), expected, "step {n}");
    }
}

#[test]
fn chat_capacity_fills_then_stops() {
    let e = OFFER_TIMEOUT;
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 3)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1, chat(1, 1, 1), Ok(vec![offer(1, 1, 1, 1 + e)])),
        (2, chat(2, 1, 2), Ok(vec![offer(2, 1, 1, 2 + e)])),
        (3, chat(3, 1, 3), Ok(vec![offer(3, 1, 1, 3 + e)])),
        (4, chat(4, 1, 4), Ok(vec![])),
        (5, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (6, accept(2, 1), Ok(vec![assigned(2, 1)])),
        // Wrap-up still holds the slot.
        (7, end(1), Ok(vec![])),
        (
            8,
            wrap_up_done(1),
            Ok(vec![released(1, 1), offer(4, 1, 1, 8 + e)]),
        ),
    ]);
    assert!(router.waiting(q(1)).is_empty());
}

#[test]
fn a_call_blocks_chats() {
    let e = OFFER_TIMEOUT;
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 3)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1, call(1, 1, 1), Ok(vec![offer(1, 1, 1, 1 + e)])),
        // Even the voice offer blocks: no chat while the phone rings.
        (2, chat(2, 1, 2), Ok(vec![])),
        (3, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (4, chat(3, 1, 4), Ok(vec![])),
        // Wrap-up of the call still blocks.
        (5, end(1), Ok(vec![])),
        (
            6,
            wrap_up_done(1),
            Ok(vec![released(1, 1), offer(2, 1, 1, 6 + e), offer(3, 1, 1, 6 + e)]),
        ),
    ]);
}

#[test]
fn a_call_needs_voice_capacity_and_chats_do_not_block_it() {
    let e = OFFER_TIMEOUT;
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 3)), Ok(vec![])),
        (0, agent(2, cap(1, 3)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1, available(2), Ok(vec![])),
        // Agent 1 is idle longer but takes no calls.
        (2, call(1, 1, 2), Ok(vec![offer(1, 2, 1, 2 + e)])),
        (3, decline(1, 2), Ok(vec![revoked(1, 2, RevokeReason::Declined)])),
        (4, chat(2, 1, 4), Ok(vec![offer(2, 1, 1, 4 + e)])),
        (5, chat(3, 1, 5), Ok(vec![offer(3, 2, 1, 5 + e)])),
        (6, accept(3, 2), Ok(vec![assigned(3, 2)])),
        // Agent 2 holds a chat and still gets a call.
        (7, call(4, 1, 7), Ok(vec![offer(4, 2, 1, 7 + e)])),
    ]);
}

fn reachable(n: u128, channel: Channel, reachable: bool) -> Input {
    Input::SetReachable {
        agent: a(n),
        channel,
        reachable,
    }
}

/// An agent whose phone is not registered: the call offered to them is taken back (not as
/// their decline, and with no Break), goes to the next agent, and no call is offered to them
/// while chats still are; once the phone registers, calls come to them again. Before, the hub
/// declined every call offered to such an agent, one after the other.
#[test]
fn an_agent_with_no_phone_is_not_offered_calls_until_it_registers() {
    let e = OFFER_TIMEOUT;
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 3)), Ok(vec![])),
        (0, agent(2, cap(1, 3)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1, available(2), Ok(vec![])),
        (2, call(1, 1, 2), Ok(vec![offer(1, 1, 1, 2 + e)])),
        // The hub finds no phone for agent 1.
        (
            3,
            reachable(1, Channel::Voice, false),
            Ok(vec![
                revoked(1, 1, RevokeReason::Unreachable),
                offer(1, 2, 1, 3 + e),
            ]),
        ),
        (4, accept(1, 2), Ok(vec![assigned(1, 2)])),
        // Agent 1 stays Available: chats yes, calls no.
        (5, call(2, 1, 5), Ok(vec![])),
        (6, chat(3, 1, 6), Ok(vec![offer(3, 1, 1, 6 + e)])),
        (7, reachable(1, Channel::Voice, false), Ok(vec![])),
        // The phone registers: the waiting call goes to agent 1.
        (
            8,
            reachable(1, Channel::Voice, true),
            Ok(vec![offer(2, 1, 1, 8 + e)]),
        ),
        (
            9,
            reachable(9, Channel::Voice, true),
            Err(RouterError::UnknownAgent(a(9))),
        ),
    ]);
}

#[test]
fn decline_moves_on_and_never_comes_back() {
    let e = OFFER_TIMEOUT;
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 3)), Ok(vec![])),
        (0, agent(2, cap(0, 3)), Ok(vec![])),
        (0, agent(3, cap(0, 3)), Ok(vec![])),
        (1, available(1), Ok(vec![])),
        (2, available(2), Ok(vec![])),
        (3, chat(1, 1, 3), Ok(vec![offer(1, 1, 1, 3 + e)])),
        (
            4,
            decline(1, 1),
            Ok(vec![revoked(1, 1, RevokeReason::Declined), offer(1, 2, 1, 4 + e)]),
        ),
        (5, decline(1, 2), Ok(vec![revoked(1, 2, RevokeReason::Declined)])),
        // Both decliners stay Available and get other work; contact 1 keeps waiting.
        (6, chat(2, 1, 6), Ok(vec![offer(2, 1, 1, 6 + e)])),
        (7, wrap_up_done(2), Err(RouterError::NotAssigned(i(2)))),
        (
            8,
            accept(1, 1),
            Err(RouterError::NotOfferedTo {
                interaction: i(1),
                agent: a(1),
            }),
        ),
        (9, available(3), Ok(vec![offer(1, 3, 1, 9 + e)])),
    ]);
    assert!(router.waiting(q(1)).is_empty());
}

#[test]
fn offer_timeout_puts_the_agent_on_break_and_moves_on() {
    let e = OFFER_TIMEOUT;
    let missed = AgentState::Break(MISSED_OFFER.to_string());
    let mut router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 3)), Ok(vec![])),
        (0, agent(2, cap(0, 3)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (0, chat(1, 1, 0), Ok(vec![offer(1, 1, 1, e)])),
        (1_000, chat(2, 1, 1_000), Ok(vec![offer(2, 1, 1, 1_000 + e)])),
        (5_000, available(2), Ok(vec![])),
        (9_999, Input::Tick, Ok(vec![])),
        (
            e,
            Input::Tick,
            Ok(vec![
                revoked(1, 1, RevokeReason::TimedOut),
                Decision::AgentStateChanged {
                    agent: a(1),
                    state: missed,
                },
                revoked(2, 1, RevokeReason::AgentUnavailable),
                offer(1, 2, 1, 2 * e),
                offer(2, 2, 1, 2 * e),
            ]),
        ),
    ]);
    assert_eq!(router.next_deadline(), Some(2 * e));
    assert_eq!(router.queue_stats(q(1)).agents_available, 1);
    // Back from the break, agent 1 is eligible again.
    router.handle(available(1), 2 * e - 1).unwrap();
    assert_eq!(
        router.handle(chat(3, 1, 2 * e), 2 * e - 1),
        Ok(vec![offer(3, 1, 1, 3 * e - 1)])
    );
}

#[test]
fn wrap_up_holds_the_slot_until_done_or_time() {
    let e = OFFER_TIMEOUT;
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (0, chat(1, 1, 0), Ok(vec![offer(1, 1, 1, e)])),
        (100, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (1_000, end(1), Ok(vec![])),
        (1_001, end(1), Err(RouterError::AlreadyEnded(i(1)))),
        (2_000, chat(2, 1, 2_000), Ok(vec![])),
        // Submitted early: released at once.
        (
            5_000,
            wrap_up_done(1),
            Ok(vec![released(1, 1), offer(2, 1, 1, 5_000 + e)]),
        ),
        (6_000, accept(2, 1), Ok(vec![assigned(2, 1)])),
        (7_000, end(2), Ok(vec![])),
        (7_100, chat(3, 1, 7_100), Ok(vec![])),
        (7_000 + WRAP_UP - 1, Input::Tick, Ok(vec![])),
        // Never submitted: released when the wrap-up time is up, once.
        (
            7_000 + WRAP_UP,
            Input::Tick,
            Ok(vec![released(2, 1), offer(3, 1, 1, 7_000 + WRAP_UP + e)]),
        ),
        (
            40_000,
            wrap_up_done(2),
            Err(RouterError::UnknownInteraction(i(2))),
        ),
        (40_000, accept(3, 1), Ok(vec![assigned(3, 1)])),
        // Wrap-up submitted straight from active, without an End.
        (41_000, wrap_up_done(3), Ok(vec![released(3, 1)])),
    ]);
    assert_eq!(router.next_deadline(), None);
}

#[test]
fn overflow_keeps_arrival_time_and_clears_declines() {
    let e = OFFER_TIMEOUT;
    let mut first = rules(1, &[("billing", 1)]);
    first.max_wait_ms = Some(60_000);
    first.overflow_queue = Some(q(2));
    let router = play(vec![
        (0, Input::UpsertQueue(first), Ok(vec![])),
        (0, queue(2), Ok(vec![])),
        (0, skilled_agent(1, &[("billing", 1)], cap(0, 1)), Ok(vec![])),
        (0, agent(2, cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (0, chat(1, 1, 0), Ok(vec![offer(1, 1, 1, e)])),
        (
            1_000,
            decline(1, 1),
            Ok(vec![revoked(1, 1, RevokeReason::Declined)]),
        ),
        (2_000, chat(3, 1, 2_000), Ok(vec![offer(3, 1, 1, 2_000 + e)])),
        (2_500, accept(3, 1), Ok(vec![assigned(3, 1)])),
        (5_000, chat(2, 2, 5_000), Ok(vec![])),
        (59_999, Input::Tick, Ok(vec![])),
        (
            60_000,
            Input::Tick,
            Ok(vec![Decision::Overflowed {
                interaction: i(1),
                from: q(1),
                to: q(2),
            }]),
        ),
    ]);
    // Contact 1 arrived before contact 2, so it is ahead in the new queue.
    assert_eq!(router.waiting(q(2)), vec![i(1), i(2)]);
    assert!(router.waiting(q(1)).is_empty());
    let mut router = router;
    // Agent 1 declined it in queue 1; after overflow it may be offered to them again.
    assert_eq!(
        router.handle(wrap_up_done(3), 61_000),
        Ok(vec![released(3, 1), offer(1, 1, 2, 61_000 + e)])
    );
    assert_eq!(
        router.handle(available(2), 61_001),
        Ok(vec![offer(2, 2, 2, 61_001 + e)])
    );
}

#[test]
fn overflow_revokes_a_pending_offer_first() {
    let e = OFFER_TIMEOUT;
    let mut first = rules(1, &[]);
    first.max_wait_ms = Some(5_000);
    first.overflow_queue = Some(q(2));
    let router = play(vec![
        (0, Input::UpsertQueue(first), Ok(vec![])),
        (0, skilled_queue(2, &[("tier2", 1)]), Ok(vec![])),
        (0, agent(1, cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1_000, chat(1, 1, 1_000), Ok(vec![offer(1, 1, 1, 1_000 + e)])),
        (
            6_000,
            Input::Tick,
            Ok(vec![
                revoked(1, 1, RevokeReason::Overflowed),
                Decision::Overflowed {
                    interaction: i(1),
                    from: q(1),
                    to: q(2),
                },
            ]),
        ),
    ]);
    assert_eq!(router.waiting(q(2)), vec![i(1)]);
    // Queue 2 has no overflow of its own: it stays there.
    assert_eq!(router.next_deadline(), None);
}

#[test]
fn abandon_while_offered_or_queued() {
    let e = OFFER_TIMEOUT;
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1, chat(1, 1, 1), Ok(vec![offer(1, 1, 1, 1 + e)])),
        (2, chat(2, 1, 2), Ok(vec![])),
        (3, chat(3, 1, 3), Ok(vec![])),
        (4, Input::Abandon { interaction: i(2) }, Ok(vec![])),
        (
            5,
            Input::Abandon { interaction: i(1) },
            Ok(vec![
                revoked(1, 1, RevokeReason::Abandoned),
                offer(3, 1, 1, 5 + e),
            ]),
        ),
        (6, accept(3, 1), Ok(vec![assigned(3, 1)])),
        (
            7,
            Input::Abandon { interaction: i(3) },
            Err(RouterError::AlreadyAssigned(i(3))),
        ),
        (
            8,
            Input::Abandon { interaction: i(1) },
            Err(RouterError::UnknownInteraction(i(1))),
        ),
    ]);
    assert_eq!(router.queue_stats(q(1)).waiting, 0);
}

#[test]
fn going_on_break_revokes_offers_and_keeps_held_work() {
    let e = OFFER_TIMEOUT;
    let mut router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 3)), Ok(vec![])),
        (0, agent(2, cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1, chat(1, 1, 1), Ok(vec![offer(1, 1, 1, 1 + e)])),
        (2, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (3, chat(2, 1, 3), Ok(vec![offer(2, 1, 1, 3 + e)])),
        (4, chat(3, 1, 4), Ok(vec![offer(3, 1, 1, 4 + e)])),
        (5, chat(4, 1, 5), Ok(vec![])),
        (
            6,
            on_break(1, "lunch"),
            Ok(vec![
                revoked(2, 1, RevokeReason::AgentUnavailable),
                revoked(3, 1, RevokeReason::AgentUnavailable),
            ]),
        ),
    ]);
    // Requeued at their original positions, ahead of contact 4.
    assert_eq!(router.waiting(q(1)), vec![i(2), i(3), i(4)]);
    assert_eq!(router.handle(available(2), 7), Ok(vec![offer(2, 2, 1, 7 + e)]));
    // Agent 1 went offline holding contact 1: it still counts when they come back.
    router
        .handle(
            Input::SetState {
                agent: a(1),
                state: AgentState::Offline,
            },
            8,
        )
        .unwrap();
    assert_eq!(router.handle(end(1), 9), Ok(vec![]));
    assert_eq!(router.handle(chat(5, 1, 9), 9), Ok(vec![]));
    assert_eq!(
        router.handle(available(1), 10),
        Ok(vec![offer(3, 1, 1, 10 + e), offer(4, 1, 1, 10 + e)])
    );
}

#[test]
fn transfer_requeues_with_arrival_time_and_frees_the_slot() {
    let e = OFFER_TIMEOUT;
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, skilled_queue(2, &[("sales", 1)]), Ok(vec![])),
        (0, skilled_agent(1, &[("sales", 1)], cap(0, 1)), Ok(vec![])),
        (0, skilled_agent(2, &[("sales", 1)], cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (100, chat(1, 1, 100), Ok(vec![offer(1, 1, 1, 100 + e)])),
        (200, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (300, chat(2, 2, 300), Ok(vec![])),
        (400, chat(3, 1, 400), Ok(vec![])),
        // The slot is free at once: agent 1 gets the best contact it can take (not the one it
        // transferred); contact 1 keeps its place ahead of contact 2 in queue 2.
        (
            500,
            Input::Transfer {
                interaction: i(1),
                queue: q(2),
            },
            Ok(vec![offer(2, 1, 2, 500 + e)]),
        ),
        (600, available(2), Ok(vec![offer(1, 2, 2, 600 + e)])),
        (
            700,
            Input::Transfer {
                interaction: i(1),
                queue: q(1),
            },
            Err(RouterError::NotAssigned(i(1))),
        ),
        (700, accept(1, 2), Ok(vec![assigned(1, 2)])),
        (
            800,
            Input::Transfer {
                interaction: i(1),
                queue: q(9),
            },
            Err(RouterError::UnknownQueue(q(9))),
        ),
    ]);
}

#[test]
fn transfer_to_a_named_agent_offers_it_to_them_only_then_to_anyone() {
    let e = OFFER_TIMEOUT;
    let to = |n, agent| Input::TransferTo {
        interaction: i(n),
        to: a(agent),
    };
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, skilled_queue(2, &[("sales", 1)]), Ok(vec![])),
        (0, skilled_agent(1, &[("sales", 1)], cap(1, 1)), Ok(vec![])),
        // Agent 2 lacks the queue's skill, agent 3 has it; agent 3 has been idle longest.
        (0, agent(2, cap(1, 1)), Ok(vec![])),
        (0, skilled_agent(3, &[("sales", 1)], cap(1, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (100, call(1, 2, 100), Ok(vec![offer(1, 1, 2, 100 + e)])),
        (200, accept(1, 1), Ok(vec![assigned(1, 1)])),
        // Agent 2 is not available yet: the transfer is refused and nothing changes.
        (300, to(1, 2), Err(RouterError::NotAvailable(a(2)))),
        (300, to(1, 1), Err(RouterError::NotAvailable(a(1)))),
        (310, available(3), Ok(vec![])),
        (320, available(2), Ok(vec![])),
        // Named: agent 2 gets it though agent 3 is skilled and idle longer.
        (400, to(1, 2), Ok(vec![offer(1, 2, 2, 400 + e)])),
        // Agent 2 declines: it goes to whoever may take it, never back to agent 1 who sent it.
        (
            500,
            decline(1, 2),
            Ok(vec![
                revoked(1, 2, RevokeReason::Declined),
                offer(1, 3, 2, 500 + e),
            ]),
        ),
        (600, accept(1, 3), Ok(vec![assigned(1, 3)])),
        (700, to(1, 9), Err(RouterError::UnknownAgent(a(9)))),
        (700, to(9, 2), Err(RouterError::UnknownInteraction(i(9)))),
    ]);
}

#[test]
fn a_supervisor_moves_a_waiting_contact_to_another_queue_or_to_a_named_agent() {
    let e = OFFER_TIMEOUT;
    let move_to = |n, queue, agent: Option<u128>| Input::Move {
        interaction: i(n),
        queue: q(queue),
        to: agent.map(a),
    };
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, skilled_queue(2, &[("sales", 1)]), Ok(vec![])),
        (0, agent(1, cap(0, 3)), Ok(vec![])),
        (0, skilled_agent(2, &[("sales", 1)], cap(0, 3)), Ok(vec![])),
        (10, available(1), Ok(vec![])),
        // Nobody on with the sales skill: it waits in queue 2.
        (100, chat(1, 2, 100), Ok(vec![])),
        // Moved to queue 1, whose agent 1 is free: offered at once.
        (200, move_to(1, 1, None), Ok(vec![offer(1, 1, 1, 200 + e)])),
        // To a named agent who is not Available: refused, nothing changes.
        (300, move_to(1, 1, Some(2)), Err(RouterError::NotAvailable(a(2)))),
        (300, move_to(1, 9, None), Err(RouterError::UnknownQueue(q(9)))),
        (310, available(2), Ok(vec![])),
        // Now to agent 2 by name: the offer to agent 1 is taken back and it rings agent 2 alone.
        (
            400,
            move_to(1, 1, Some(2)),
            Ok(vec![revoked(1, 1, RevokeReason::Moved), offer(1, 2, 1, 400 + e)]),
        ),
        // Agent 2 declines: anyone may have it, agent 1 too.
        (
            500,
            decline(1, 2),
            Ok(vec![
                revoked(1, 2, RevokeReason::Declined),
                offer(1, 1, 1, 500 + e),
            ]),
        ),
        (600, accept(1, 1), Ok(vec![assigned(1, 1)])),
        // An agent holds it now: no longer a supervisor's to move.
        (700, move_to(1, 2, None), Err(RouterError::AlreadyAssigned(i(1)))),
        (
            700,
            move_to(9, 1, None),
            Err(RouterError::UnknownInteraction(i(9))),
        ),
    ]);
}

#[test]
fn a_returning_conversation_goes_to_the_agent_who_had_it_if_free_else_to_anyone() {
    let e = OFFER_TIMEOUT;
    let back = |n, agent: Option<u128>, at| Input::Return {
        interaction: i(n),
        queue: q(1),
        channel: Channel::Email,
        priority: 0,
        arrived_at: at,
        agent: agent.map(a),
    };
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, Capacity::default()), Ok(vec![])),
        (0, agent(2, Capacity::default()), Ok(vec![])),
        (0, available(2), Ok(vec![])),
        (10, available(1), Ok(vec![])),
        // Agent 2 has been idle longest, but agent 1 had this thread: it is theirs first.
        (100, back(1, Some(1), 100), Ok(vec![offer(1, 1, 1, 100 + e)])),
        (100, back(1, Some(1), 100), Err(RouterError::AlreadyKnown(i(1)))),
        // Agent 1 declines: anyone may have it.
        (
            200,
            decline(1, 1),
            Ok(vec![
                revoked(1, 1, RevokeReason::Declined),
                offer(1, 2, 1, 200 + e),
            ]),
        ),
        (300, accept(1, 2), Ok(vec![assigned(1, 2)])),
        // The agent who had it is on a break: it goes to whoever is free, at once.
        (400, on_break(1, "lunch"), Ok(vec![])),
        (500, back(2, Some(1), 500), Ok(vec![offer(2, 2, 1, 500 + e)])),
    ]);
}

#[test]
fn restored_interactions_count_against_capacity() {
    let e = OFFER_TIMEOUT;
    let restore = |n, agent, channel, wrapping_up| Input::Restore {
        interaction: i(n),
        agent: a(agent),
        queue: q(1),
        channel,
        wrapping_up,
    };
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 2)), Ok(vec![])),
        (0, agent(2, cap(1, 2)), Ok(vec![])),
        (0, restore(1, 1, Channel::Chat, false), Ok(vec![])),
        (0, restore(2, 1, Channel::Chat, true), Ok(vec![])),
        (0, restore(3, 2, Channel::Voice, false), Ok(vec![])),
        (
            0,
            restore(3, 2, Channel::Voice, false),
            Err(RouterError::AlreadyKnown(i(3))),
        ),
        (1, available(1), Ok(vec![])),
        (1, available(2), Ok(vec![])),
        // Agent 1 is full of chats, agent 2 is on a call.
        (2, chat(4, 1, 2), Ok(vec![])),
        (3, end(1), Ok(vec![])),
        // The restored wrap-up runs a full wrap-up time from the restore.
        (
            WRAP_UP,
            Input::Tick,
            Ok(vec![released(2, 1), offer(4, 1, 1, WRAP_UP + e)]),
        ),
    ]);
    assert_eq!(router.next_deadline(), Some(WRAP_UP + 3));
}

#[test]
fn an_agent_starts_an_email_only_with_room_for_it() {
    let e = OFFER_TIMEOUT;
    let start = |n, agent| Input::Start {
        interaction: i(n),
        agent: a(agent),
        queue: q(1),
        channel: Channel::Email,
    };
    let email = |n, at| arrive(n, 1, Channel::Email, 0, at);
    let two_mails = Capacity {
        email: 2,
        ..cap(1, 0)
    };
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, two_mails), Ok(vec![])),
        (0, agent(2, cap(1, 3)), Ok(vec![])),
        (1, available(1), Ok(vec![])),
        // Theirs at once, no offer; a call in hand would not stop it (offers, yes).
        (2, start(1, 1), Ok(vec![])),
        (2, start(1, 1), Err(RouterError::AlreadyKnown(i(1)))),
        // The started mail takes a slot: one more arriving mail is offered, then none.
        (3, email(2, 3), Ok(vec![offer(2, 1, 1, 3 + e)])),
        (4, email(3, 4), Ok(vec![])),
        (
            5,
            start(4, 1),
            Err(RouterError::NoRoom {
                agent: a(1),
                channel: Channel::Email,
            }),
        ),
        // An agent who may not take email at all cannot start one either.
        (
            5,
            start(4, 2),
            Err(RouterError::NoRoom {
                agent: a(2),
                channel: Channel::Email,
            }),
        ),
        (5, start(4, 9), Err(RouterError::UnknownAgent(a(9)))),
        // Ended and wrapped up like any other: the slot goes to the mail waiting.
        (6, end(1), Ok(vec![])),
        (
            7,
            wrap_up_done(1),
            Ok(vec![released(1, 1), offer(3, 1, 1, 7 + e)]),
        ),
    ]);
    assert_eq!(router.waiting(q(1)), Vec::<InteractionId>::new());
}

#[test]
fn unknown_ids_are_errors_and_change_nothing() {
    use RouterError::*;
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 3)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1, chat(1, 1, 1), Ok(vec![offer(1, 1, 1, 1 + OFFER_TIMEOUT)])),
        (2, available(9), Err(UnknownAgent(a(9)))),
        (2, chat(2, 9, 2), Err(UnknownQueue(q(9)))),
        (2, chat(1, 1, 2), Err(AlreadyKnown(i(1)))),
        (2, accept(9, 1), Err(UnknownInteraction(i(9)))),
        (2, accept(1, 9), Err(UnknownAgent(a(9)))),
        (2, decline(1, 9), Err(UnknownAgent(a(9)))),
        (2, end(9), Err(UnknownInteraction(i(9)))),
        (2, end(1), Err(NotAssigned(i(1)))),
        (2, wrap_up_done(9), Err(UnknownInteraction(i(9)))),
        (
            2,
            Input::Abandon { interaction: i(9) },
            Err(UnknownInteraction(i(9))),
        ),
        (
            2,
            Input::Transfer {
                interaction: i(9),
                queue: q(1),
            },
            Err(UnknownInteraction(i(9))),
        ),
        (2, Input::RemoveQueue(q(9)), Err(UnknownQueue(q(9)))),
        (
            2,
            Input::Restore {
                interaction: i(5),
                agent: a(9),
                queue: q(1),
                channel: Channel::Chat,
                wrapping_up: false,
            },
            Err(UnknownAgent(a(9))),
        ),
        (
            2,
            Input::Restore {
                interaction: i(5),
                agent: a(1),
                queue: q(9),
                channel: Channel::Chat,
                wrapping_up: false,
            },
            Err(UnknownQueue(q(9))),
        ),
        // Errors do not process deadlines either: the offer is still there after its expiry time.
        (OFFER_TIMEOUT + 5, accept(9, 1), Err(UnknownInteraction(i(9)))),
        (OFFER_TIMEOUT + 5, accept(1, 1), Ok(vec![assigned(1, 1)])),
    ]);
}

#[test]
fn invalid_queue_rules_are_refused() {
    let mut bad = rules(1, &[]);
    bad.offer_timeout_ms = 0;
    let mut bouncing = rules(2, &[]);
    bouncing.max_wait_ms = Some(0);
    play(vec![
        (
            0,
            Input::UpsertQueue(bad),
            Err(RouterError::InvalidRules {
                queue: q(1),
                reason: "offer_timeout_ms must be positive",
            }),
        ),
        (
            0,
            Input::UpsertQueue(bouncing),
            Err(RouterError::InvalidRules {
                queue: q(2),
                reason: "max_wait_ms must be positive",
            }),
        ),
    ]);
}

#[test]
fn a_removed_queue_keeps_its_contacts_without_routing_them() {
    let e = OFFER_TIMEOUT;
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (1, chat(1, 1, 1), Ok(vec![offer(1, 1, 1, 1 + e)])),
        (2, chat(2, 1, 2), Ok(vec![])),
        (3, Input::RemoveQueue(q(1)), Ok(vec![])),
        (4, chat(3, 1, 4), Err(RouterError::UnknownQueue(q(1)))),
        // The offer made before the removal carries on; the waiting contact is not offered.
        (5, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (6, end(1), Ok(vec![])),
        (7, wrap_up_done(1), Ok(vec![released(1, 1)])),
        (8, Input::Abandon { interaction: i(2) }, Ok(vec![])),
    ]);
    assert!(router.waiting(q(1)).is_empty());
    assert!(!router.can_serve(q(1)));
}

/// A chat from a customer whose owner is `owner`, who has it alone for `wait_ms`.
fn owned_chat(n: u128, queue: u128, arrived_at: Millis, owner: u128, wait_ms: Millis) -> Input {
    Input::Arrive {
        interaction: i(n),
        queue: q(queue),
        channel: Channel::Chat,
        priority: 0,
        arrived_at,
        owner: Some(OwnerFirst {
            agent: a(owner),
            wait_ms,
        }),
        due_at: None,
    }
}

/// Agents 1 and 2 (one chat each), Available, each holding a chat (91 and 92): nobody is free.
fn both_busy() -> Vec<Step> {
    let e = OFFER_TIMEOUT;
    vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 1)), Ok(vec![])),
        (0, agent(2, cap(0, 1)), Ok(vec![])),
        (10, available(1), Ok(vec![])),
        (20, available(2), Ok(vec![])),
        (30, chat(91, 1, 30), Ok(vec![offer(91, 1, 1, 30 + e)])),
        (31, accept(91, 1), Ok(vec![assigned(91, 1)])),
        (40, chat(92, 1, 40), Ok(vec![offer(92, 2, 1, 40 + e)])),
        (41, accept(92, 2), Ok(vec![assigned(92, 2)])),
    ]
}

#[test]
fn an_owned_contact_waits_for_its_owner_while_others_are_served_then_the_owner_is_offered_it() {
    let e = OFFER_TIMEOUT;
    let mut steps = both_busy();
    steps.extend([
        // The owner (1) is Available but full: the contact waits for them.
        (100, owned_chat(1, 1, 100, 1, 60_000), Ok(vec![])),
        (150, chat(2, 1, 150), Ok(vec![])),
        // Agent 2 frees up: the later, unowned chat is theirs; the owned one stays the owner's.
        (200, end(92), Ok(vec![])),
        (
            210,
            wrap_up_done(92),
            Ok(vec![released(92, 2), offer(2, 2, 1, 210 + e)]),
        ),
        (220, accept(2, 2), Ok(vec![assigned(2, 2)])),
        // The owner frees up: offered the owned contact.
        (300, end(91), Ok(vec![])),
        (
            310,
            wrap_up_done(91),
            Ok(vec![released(91, 1), offer(1, 1, 1, 310 + e)]),
        ),
    ]);
    play(steps);
}

#[test]
fn an_owned_contact_goes_to_the_queue_in_its_place_when_the_owners_time_is_up() {
    let e = OFFER_TIMEOUT;
    let mut steps = both_busy();
    steps.extend([
        (100, owned_chat(1, 1, 100, 1, 1_000), Ok(vec![])),
        (150, chat(2, 1, 150), Ok(vec![])),
        (1_099, Input::Tick, Ok(vec![])),
        (1_100, Input::Tick, Ok(vec![])),
        // Agent 2 frees up: the owned contact is first in line again, by its arrival.
        (1_200, end(92), Ok(vec![])),
        (
            1_210,
            wrap_up_done(92),
            Ok(vec![released(92, 2), offer(1, 2, 1, 1_210 + e)]),
        ),
    ]);
    let router = play(steps);
    assert_eq!(router.next_deadline(), Some(1_210 + e));
}

#[test]
fn an_owned_contact_goes_to_anyone_when_the_owner_is_away_leaves_or_declines() {
    let e = OFFER_TIMEOUT;
    let start = || {
        vec![
            (0, queue(1), Ok(vec![])),
            (0, agent(1, cap(0, 1)), Ok(vec![])),
            (0, agent(2, cap(0, 1)), Ok(vec![])),
            (10, available(2), Ok(vec![])),
        ]
    };
    // The owner is not Available: the contact is anyone's at once.
    let mut away = start();
    away.push((
        100,
        owned_chat(1, 1, 100, 1, 60_000),
        Ok(vec![offer(1, 2, 1, 100 + e)]),
    ));
    play(away);

    // The owner is Available with no room, then takes a break: the contact is anyone's now.
    let mut leaves = start();
    leaves.extend([
        (20, available(1), Ok(vec![])),
        (25, on_break(2, "lunch"), Ok(vec![])),
        (30, chat(91, 1, 30), Ok(vec![offer(91, 1, 1, 30 + e)])),
        (31, accept(91, 1), Ok(vec![assigned(91, 1)])),
        (100, owned_chat(1, 1, 100, 1, 60_000), Ok(vec![])),
        (110, available(2), Ok(vec![])),
        (120, on_break(1, "meeting"), Ok(vec![offer(1, 2, 1, 120 + e)])),
    ]);
    play(leaves);

    // The owner is offered it first and declines: the next agent gets it.
    let mut declines = start();
    declines.extend([
        (20, available(1), Ok(vec![])),
        (
            100,
            owned_chat(1, 1, 100, 1, 60_000),
            Ok(vec![offer(1, 1, 1, 100 + e)]),
        ),
        (
            110,
            decline(1, 1),
            Ok(vec![
                revoked(1, 1, RevokeReason::Declined),
                offer(1, 2, 1, 110 + e),
            ]),
        ),
    ]);
    play(declines);
}

/// A callback booked for later, due at `due_at`.
fn scheduled_call(n: u128, queue: u128, arrived_at: Millis, due_at: Millis) -> Input {
    Input::Arrive {
        interaction: i(n),
        queue: q(queue),
        channel: Channel::Voice,
        priority: 0,
        arrived_at,
        owner: None,
        due_at: Some(due_at),
    }
}
fn due(n: u128) -> Decision {
    Decision::Due { interaction: i(n) }
}
fn defer(n: u128, until: Millis) -> Input {
    Input::Defer {
        interaction: i(n),
        until,
    }
}

#[test]
fn a_callback_set_aside_is_offered_only_once_due_and_keeps_its_place() {
    let e = OFFER_TIMEOUT;
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 0)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        // Booked for 5 s from now: an idle agent is not offered it yet.
        (0, scheduled_call(1, 1, 0, 5_000), Ok(vec![])),
        (4_999, Input::Tick, Ok(vec![])),
        (5_000, Input::Tick, Ok(vec![due(1), offer(1, 1, 1, 5_000 + e)])),
        (5_100, accept(1, 1), Ok(vec![assigned(1, 1)])),
        // Nobody answered the call back: the slot is free at once, and it is tried again at 65 s.
        (6_000, defer(1, 65_000), Ok(vec![])),
        (6_000, call(2, 1, 6_000), Ok(vec![offer(2, 1, 1, 6_000 + e)])),
        (6_100, accept(2, 1), Ok(vec![assigned(2, 1)])),
        (7_000, end(2), Ok(vec![])),
        (7_100, wrap_up_done(2), Ok(vec![released(2, 1)])),
        (64_999, Input::Tick, Ok(vec![])),
        (65_000, Input::Tick, Ok(vec![due(1), offer(1, 1, 1, 65_000 + e)])),
    ]);
    assert_eq!(router.queue_stats(q(1)).waiting, 0);

    // Due, it is served in its place: before a call that arrived after it.
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 0)), Ok(vec![])),
        (0, scheduled_call(1, 1, 100, 1_000), Ok(vec![])),
        (500, call(2, 1, 500), Ok(vec![])),
        (2_000, available(1), Ok(vec![due(1), offer(1, 1, 1, 2_000 + e)])),
    ]);
}

#[test]
fn a_callback_set_aside_is_not_waiting_and_can_only_be_abandoned() {
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, queue(2), Ok(vec![])),
        (0, agent(1, cap(1, 0)), Ok(vec![])),
        (0, scheduled_call(1, 1, 0, 60_000), Ok(vec![])),
        (
            10,
            Input::Move {
                interaction: i(1),
                queue: q(2),
                to: None,
            },
            Err(RouterError::NotDue(i(1))),
        ),
        (10, end(1), Err(RouterError::NotAssigned(i(1)))),
        (10, defer(1, 90_000), Err(RouterError::NotAssigned(i(1)))),
    ]);
    let stats = router.queue_stats(q(1));
    assert_eq!(
        (stats.waiting, stats.oldest_arrived_at, stats.scheduled),
        (0, None, 1)
    );
    assert_eq!(router.queue_stats(q(2)).scheduled, 0);
    assert!(router.waiting(q(1)).is_empty());
    assert_eq!(router.next_deadline(), Some(60_000));

    let mut router = router;
    assert_eq!(
        router.handle(Input::Abandon { interaction: i(1) }, 20),
        Ok(vec![])
    );
    assert_eq!(router.next_deadline(), None, "its due time goes with it");
    router.handle(available(1), 70_000).unwrap();
    assert_eq!(router.handle(Input::Tick, 70_000), Ok(vec![]));
}

#[test]
fn a_callback_booked_by_an_agent_is_theirs_first_once_due() {
    let e = OFFER_TIMEOUT;
    let booked = |n: u128, due_at: Millis| Input::Arrive {
        interaction: i(n),
        queue: q(1),
        channel: Channel::Voice,
        priority: 0,
        arrived_at: due_at,
        owner: Some(OwnerFirst {
            agent: a(2),
            wait_ms: 20_000,
        }),
        due_at: Some(due_at),
    };
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 0)), Ok(vec![])),
        (0, agent(2, cap(1, 0)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        // Agent 2 is not even signed in when it is booked: their turn starts when it is due.
        (0, booked(1, 60_000), Ok(vec![])),
        (30_000, available(2), Ok(vec![])),
        // Agent 1 has been idle longer, but it is agent 2's callback.
        (60_000, Input::Tick, Ok(vec![due(1), offer(1, 2, 1, 60_000 + e)])),
    ]);
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(1, 0)), Ok(vec![])),
        (0, agent(2, cap(1, 0)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (0, booked(1, 60_000), Ok(vec![])),
        // Agent 2 is away when it is due: anyone takes it.
        (60_000, Input::Tick, Ok(vec![due(1), offer(1, 1, 1, 60_000 + e)])),
    ]);
}

fn snooze(n: u128, until: Millis) -> Input {
    Input::Snooze {
        interaction: i(n),
        until,
        owner_wait_ms: OWNER_TURN,
    }
}
fn wake(n: u128) -> Input {
    Input::Wake { interaction: i(n) }
}
const OWNER_TURN: Millis = 30_000;

#[test]
fn a_snoozed_chat_frees_the_slot_and_comes_back_to_its_agent_first_when_due() {
    let e = OFFER_TIMEOUT;
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 1)), Ok(vec![])),
        (0, agent(2, cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (0, chat(1, 1, 0), Ok(vec![offer(1, 1, 1, e)])),
        (10, accept(1, 1), Ok(vec![assigned(1, 1)])),
        // Agent 1 holds one chat, all their capacity: snoozed, the slot is free for the next.
        (1_000, snooze(1, 60_000), Ok(vec![])),
        (1_000, chat(2, 1, 1_000), Ok(vec![offer(2, 1, 1, 1_000 + e)])),
        (1_100, accept(2, 1), Ok(vec![assigned(2, 1)])),
        // Agent 2 is idle and skilled, but a snoozed chat is offered to nobody.
        (2_000, available(2), Ok(vec![])),
        (59_999, Input::Tick, Ok(vec![])),
        // Due: agent 1's turn. They are full, so it waits for them (not for agent 2)...
        (60_000, Input::Tick, Ok(vec![due(1)])),
        // ...until they have room,
        (61_000, end(2), Ok(vec![])),
        (
            61_100,
            wrap_up_done(2),
            Ok(vec![released(2, 1), offer(1, 1, 1, 61_100 + e)]),
        ),
    ]);
    assert_eq!(router.queue_stats(q(1)).scheduled, 0);

    // Their turn runs out while they are full: anyone may take it.
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 1)), Ok(vec![])),
        (0, agent(2, cap(0, 1)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (0, chat(1, 1, 0), Ok(vec![offer(1, 1, 1, e)])),
        (10, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (1_000, snooze(1, 60_000), Ok(vec![])),
        (1_000, chat(2, 1, 1_000), Ok(vec![offer(2, 1, 1, 1_000 + e)])),
        (1_100, accept(2, 1), Ok(vec![assigned(2, 1)])),
        (2_000, available(2), Ok(vec![])),
        (60_000, Input::Tick, Ok(vec![due(1)])),
        (
            60_000 + OWNER_TURN,
            Input::Tick,
            Ok(vec![offer(1, 2, 1, 60_000 + OWNER_TURN + e)]),
        ),
    ]);

    // Not Available when it is due: straight to the queue.
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 2)), Ok(vec![])),
        (0, agent(2, cap(0, 2)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (0, chat(1, 1, 0), Ok(vec![offer(1, 1, 1, e)])),
        (10, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (1_000, snooze(1, 60_000), Ok(vec![])),
        (2_000, on_break(1, "lunch"), Ok(vec![])),
        (2_000, available(2), Ok(vec![])),
        (60_000, Input::Tick, Ok(vec![due(1), offer(1, 2, 1, 60_000 + e)])),
    ]);
}

#[test]
fn the_customer_writing_wakes_a_snoozed_chat_for_its_agent_at_once() {
    let e = OFFER_TIMEOUT;
    let router = play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 2)), Ok(vec![])),
        (0, agent(2, cap(0, 2)), Ok(vec![])),
        (0, available(1), Ok(vec![])),
        (0, available(2), Ok(vec![])),
        (0, chat(1, 1, 0), Ok(vec![offer(1, 1, 1, e)])),
        (10, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (1_000, snooze(1, 3_600_000), Ok(vec![])),
        // Agent 2 has been idle longer, yet agent 1 (who snoozed it) is offered it.
        (5_000, wake(1), Ok(vec![due(1), offer(1, 1, 1, 5_000 + e)])),
        // Woken already: a second message changes nothing, and the old time is forgotten.
        (5_001, wake(1), Ok(vec![])),
        (5_100, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (3_600_000, Input::Tick, Ok(vec![])),
    ]);
    assert_eq!(router.queue_stats(q(1)).scheduled, 0);
}

#[test]
fn only_a_held_contact_can_be_snoozed_and_only_a_known_one_woken() {
    let e = OFFER_TIMEOUT;
    play(vec![
        (0, queue(1), Ok(vec![])),
        (0, agent(1, cap(0, 2)), Ok(vec![])),
        (0, chat(1, 1, 0), Ok(vec![])),
        (10, snooze(1, 60_000), Err(RouterError::NotAssigned(i(1)))),
        (10, wake(2), Err(RouterError::UnknownInteraction(i(2)))),
        // Waiting, not set aside: waking changes nothing.
        (10, wake(1), Ok(vec![])),
        (20, available(1), Ok(vec![offer(1, 1, 1, 20 + e)])),
        (30, accept(1, 1), Ok(vec![assigned(1, 1)])),
        (40, end(1), Ok(vec![])),
        // In wrap-up the conversation is over: nothing to snooze.
        (50, snooze(1, 60_000), Err(RouterError::AlreadyEnded(i(1)))),
    ]);
}
