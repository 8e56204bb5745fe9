//! A day worked out by hand (across midnight and the autumn DST change in Berlin), the same day
//! replayed through the dispatcher into a store and reported from there, and a property that any
//! report equals the sum of its intervals and a recomputation from the raw lines.

use super::*;
use jiff::civil::date;
use proptest::prelude::*;
use uuid::Uuid;

fn t(s: &str) -> Millis {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

const S: i64 = 1000;

fn queue(n: u128) -> QueueId {
    QueueId(Uuid::from_u128(0x100 + n))
}
fn agent(n: u128) -> AgentId {
    AgentId(Uuid::from_u128(0x200 + n))
}
fn customer(n: u128) -> CustomerId {
    CustomerId(Uuid::from_u128(0x300 + n))
}

fn log(n: u128, who: CustomerId, channel: Channel, lines: &[(Millis, Step)]) -> ContactLog {
    ContactLog {
        interaction: InteractionId(Uuid::from_u128(0x400 + n)),
        customer: who,
        channel,
        lines: lines
            .iter()
            .map(|(at, step)| Line {
                at: *at,
                step: step.clone(),
            })
            .collect(),
    }
}

fn presence(who: AgentId, at: &str, state: AgentState) -> PresenceLine {
    PresenceLine {
        agent: who,
        at: t(at),
        state,
    }
}

fn rules() -> Rules {
    Rules {
        short_abandon_ms: 5 * S,
        fcr_window_ms: 7 * 86_400 * S,
        sl_threshold_ms: [(queue(1), 20 * S), (queue(2), 30 * S)].into(),
        default_sl_threshold_ms: 20 * S,
    }
}

/// Sales is queue 1 (80/20), Support queue 2 (threshold 30 s). Alice is agent 1, Bob agent 2.
fn scenario() -> (Vec<ContactLog>, Vec<PresenceLine>) {
    let (sales, support) = (queue(1), queue(2));
    let (alice, bob) = (agent(1), agent(2));
    let c2 = t("2026-10-25T02:30:00+02:00");
    let c5 = t("2026-10-25T10:00:00+01:00");
    let logs = vec![
        // Saturday 23:50: a chat answered by Alice in 15 s, talked over midnight, 60 s wrap-up.
        log(
            1,
            customer(1),
            Channel::Chat,
            &[
                (t("2026-10-24T23:50:00+02:00"), Step::Queued(Some(sales))),
                (t("2026-10-24T23:50:15+02:00"), Step::Answered(alice)),
                (t("2026-10-25T00:05:15+02:00"), Step::Ended),
                (t("2026-10-25T00:06:15+02:00"), Step::WrappedUp),
            ],
        ),
        // The first 02:30 (summer time): a call Bob answers after 40 s, 60 s on hold, 300 s in
        // all, 30 s wrap-up. The caller comes back at 09:00: not resolved at first contact.
        log(
            2,
            customer(2),
            Channel::Voice,
            &[
                (c2, Step::Queued(Some(sales))),
                (c2 + 40 * S, Step::Answered(bob)),
                (c2 + 100 * S, Step::Held),
                (c2 + 160 * S, Step::Resumed),
                (c2 + 340 * S, Step::Ended),
                (c2 + 370 * S, Step::WrappedUp),
            ],
        ),
        // The second 02:10 (winter time): a caller hangs up after 3 s, a short abandon.
        log(
            3,
            customer(3),
            Channel::Voice,
            &[
                (t("2026-10-25T02:10:00+01:00"), Step::Queued(Some(sales))),
                (t("2026-10-25T02:10:03+01:00"), Step::Abandoned),
            ],
        ),
        // 09:00: the second caller's chat to Support, given up after 45 s.
        log(
            4,
            customer(2),
            Channel::Chat,
            &[
                (t("2026-10-25T09:00:00+01:00"), Step::Queued(Some(support))),
                (t("2026-10-25T09:00:45+01:00"), Step::Abandoned),
            ],
        ),
        // 10:00: Alice answers a call to Support in 10 s and transfers it to Sales after 120 s,
        // where Bob answers it 25 s later, talks 180 s and wraps up in 60 s.
        log(
            5,
            customer(4),
            Channel::Voice,
            &[
                (c5, Step::Queued(Some(support))),
                (c5 + 10 * S, Step::Answered(alice)),
                (c5 + 130 * S, Step::Transferred(Some(sales))),
                (c5 + 155 * S, Step::Answered(bob)),
                (c5 + 335 * S, Step::Ended),
                (c5 + 395 * S, Step::WrappedUp),
            ],
        ),
    ];
    let presence = vec![
        presence(alice, "2026-10-24T23:45:00+02:00", AgentState::Available),
        presence(alice, "2026-10-25T00:30:00+02:00", AgentState::Offline),
        presence(alice, "2026-10-25T09:55:00+01:00", AgentState::Available),
        presence(
            alice,
            "2026-10-25T10:20:00+01:00",
            AgentState::Break("lunch".into()),
        ),
        presence(alice, "2026-10-25T10:50:00+01:00", AgentState::Offline),
        presence(bob, "2026-10-25T02:20:00+02:00", AgentState::Available),
        presence(bob, "2026-10-25T02:50:00+02:00", AgentState::Offline),
        presence(bob, "2026-10-25T10:00:00+01:00", AgentState::Available),
        presence(bob, "2026-10-25T10:30:00+01:00", AgentState::Offline),
    ];
    (logs, presence)
}

fn berlin() -> jiff::tz::TimeZone {
    time_zone("Europe/Berlin").unwrap()
}

fn run(g: Granularity, d: Dimension) -> Report {
    let (logs, presence) = scenario();
    let ivs = intervals(&berlin(), date(2026, 10, 24), date(2026, 10, 25), g).unwrap();
    report(
        &logs,
        &[],
        &presence,
        &rules(),
        &ivs,
        d,
        t("2026-10-26T00:00:00+01:00"),
    )
}

#[test]
fn the_hand_worked_day_by_queue() {
    let r = run(Granularity::Day, Dimension::Queue);
    assert_eq!(r.intervals.len(), 2);
    assert_eq!(
        r.intervals[1].end - r.intervals[1].start,
        25 * 3600 * S,
        "the day clocks go back"
    );
    let sales = &r.rows[&Key::Queue(queue(1))];
    let support = &r.rows[&Key::Queue(queue(2))];
    assert_eq!(
        sales[0],
        Tally {
            offered: 1,
            answered: 1,
            answered_in_sl: 1,
            answer_wait_ms: 15 * S,
            longest_wait_ms: 15 * S,
            handled: 1,
            talk_ms: 900 * S,
            wrap_up_ms: 60 * S,
            fcr_judged: 1,
            fcr_resolved: 1,
            ..Tally::default()
        },
        "Saturday: the chat counts on the day it arrived, though it ended on Sunday"
    );
    assert_eq!(
        sales[1],
        Tally {
            // The call at 02:30, the short abandon at the second 02:10, the transferred call.
            offered: 3,
            answered: 2,
            answered_in_sl: 0,
            abandoned: 1,
            short_abandoned: 1,
            answer_wait_ms: (40 + 25) * S,
            longest_wait_ms: 40 * S,
            abandon_wait_ms: 3 * S,
            handled: 2,
            talk_ms: (240 + 180) * S,
            hold_ms: 60 * S,
            wrap_up_ms: (30 + 60) * S,
            fcr_judged: 1,
            fcr_resolved: 0,
            ..Tally::default()
        }
    );
    let f = Figures::from(&sales[1]);
    assert_eq!(
        f.service_level,
        Some(0.0),
        "0 in 20 s ÷ (2 answered + 1 abandoned − 1 short)"
    );
    assert_eq!(f.abandon_rate, Some(0.0), "the only abandon was short");
    assert_eq!(f.asa_ms, Some(32_500.0));
    assert_eq!(f.aht_ms, Some(285_000.0), "(420 + 60 + 90) s ÷ 2");
    assert_eq!(f.avg_hold_ms, Some(30_000.0));
    assert_eq!(f.fcr_rate, Some(0.0));
    assert_eq!(
        support[1],
        Tally {
            offered: 2,
            answered: 1,
            answered_in_sl: 1,
            abandoned: 1,
            answer_wait_ms: 10 * S,
            abandon_wait_ms: 45 * S,
            longest_wait_ms: 45 * S,
            handled: 1,
            talk_ms: 120 * S,
            transfers: 1,
            fcr_judged: 1,
            fcr_resolved: 1,
            ..Tally::default()
        }
    );
    let f = Figures::from(&support[1]);
    assert_eq!(
        f.service_level,
        Some(0.5),
        "1 in 30 s ÷ (1 answered + 1 abandoned)"
    );
    assert_eq!(f.service_level_answered, Some(1.0));
    assert_eq!(f.abandon_rate, Some(0.5));
    assert_eq!(f.occupancy, None, "queues have no agent time");
    assert_eq!(support[0], Tally::default());

    let total = Report::total(sales);
    let f = Figures::from(&total);
    assert_eq!(total.offered, 4);
    assert_eq!(f.service_level, Some(1.0 / 3.0), "1 in SL ÷ (3 + 1 − 1)");
    assert_eq!(f.asa_ms, Some(80_000.0 / 3.0));
}

#[test]
fn the_hand_worked_day_by_hour_tells_the_repeated_hour_apart() {
    let r = run(Granularity::Hour, Dimension::Queue);
    assert_eq!(r.intervals.len(), 24 + 25);
    let sales = &r.rows[&Key::Queue(queue(1))];
    let at = |label: &str| {
        let n = r.intervals.iter().position(|i| i.label == label).unwrap();
        &sales[n]
    };
    let summer = at("2026-10-25T02:00:00+02:00");
    assert_eq!((summer.offered, summer.answered, summer.abandoned), (1, 1, 0));
    let winter = at("2026-10-25T02:00:00+01:00");
    assert_eq!(
        (winter.offered, winter.abandoned, winter.short_abandoned),
        (1, 1, 1)
    );
    assert_eq!(at("2026-10-24T23:00:00+02:00").answered_in_sl, 1);
}

#[test]
fn the_hand_worked_day_by_channel() {
    let r = run(Granularity::Day, Dimension::Channel);
    let channels = r.channels(|_| true);
    let voice = &channels[&Channel::Voice];
    let chat = &channels[&Channel::Chat];
    // Calls 2, 3 and both stays of call 5.
    assert_eq!((voice[0].offered, voice[1].offered, voice[1].answered), (0, 4, 3));
    assert_eq!((chat[0].offered, chat[1].offered, chat[1].abandoned), (1, 1, 1));
    assert_eq!(voice[1].transfers, 1);
}

#[test]
fn the_hand_worked_day_by_agent() {
    let r = run(Granularity::Day, Dimension::Agent);
    let alice = &r.rows[&Key::Agent(agent(1))];
    let bob = &r.rows[&Key::Agent(agent(2))];
    // Saturday: available 23:45:00–23:50:15, busy with the chat to midnight.
    assert_eq!((alice[0].available_ms, alice[0].busy_ms), (315 * S, 585 * S));
    assert_eq!(Figures::from(&alice[0]).occupancy, Some(0.65));
    // Sunday: busy to 00:05:15, wrap-up a minute, available to 00:30; from 09:55 available,
    // busy 120 s with the call she transferred (no wrap-up), available again, lunch 10:20–10:50.
    assert_eq!(
        (alice[1].available_ms, alice[1].busy_ms, alice[1].wrap_up_state_ms),
        ((1425 + 310 + 1070) * S, (315 + 120) * S, 60 * S)
    );
    assert_eq!(alice[1].break_ms, 1800 * S);
    assert_eq!(alice[1].breaks, [("lunch".to_string(), 1800 * S)].into());
    assert_eq!(Figures::from(&alice[1]).occupancy, Some(0.15), "495 s ÷ 3300 s");
    assert_eq!(
        (alice[1].answered, alice[1].transfers, alice[1].talk_ms),
        (1, 1, 120 * S)
    );
    // Bob: both calls he answered, his holds inside busy time.
    assert_eq!(
        (bob[1].available_ms, bob[1].busy_ms, bob[1].wrap_up_state_ms),
        ((640 + 830 + 155 + 1405) * S, (300 + 180) * S, (30 + 60) * S)
    );
    assert_eq!(
        (bob[1].answered, bob[1].answered_in_sl, bob[1].hold_ms),
        (2, 0, 60 * S)
    );
    assert_eq!(bob[0], Tally::default());
}

#[test]
fn log_lines_are_read_by_their_type() {
    let q = queue(1);
    let a = agent(1);
    let cases = [
        (
            "interaction.queued",
            serde_json::json!({"queue_id": q}),
            Some(Step::Queued(Some(q))),
        ),
        (
            "interaction.reopened",
            serde_json::json!({}),
            Some(Step::Queued(None)),
        ),
        (
            "interaction.queued",
            serde_json::json!({"queue_id": q, "offline": true}),
            Some(Step::QueuedOffline(Some(q))),
        ),
        (
            "interaction.callback_requested",
            serde_json::json!({}),
            Some(Step::Offline),
        ),
        (
            "interaction.rescheduled",
            serde_json::json!({"to": q}),
            Some(Step::Transferred(Some(q))),
        ),
        (
            "interaction.overflowed",
            serde_json::json!({"from": q, "to": q}),
            Some(Step::Overflowed(q)),
        ),
        (
            "interaction.moved",
            serde_json::json!({"from": q, "to": q, "by": a}),
            Some(Step::Overflowed(q)),
        ),
        // Moved to a named agent in the same queue: no new stay.
        (
            "interaction.moved",
            serde_json::json!({"from": q, "to": null, "to_agent": a, "by": a}),
            None,
        ),
        (
            "interaction.transferred",
            serde_json::json!({"to": q}),
            Some(Step::Transferred(Some(q))),
        ),
        (
            "interaction.transferred",
            serde_json::json!({"to_agent": a}),
            Some(Step::Transferred(None)),
        ),
        (
            "interaction.accepted",
            serde_json::json!({"agent_id": a}),
            Some(Step::Answered(a)),
        ),
        (
            "interaction.dialled",
            serde_json::json!({"agent_id": a}),
            Some(Step::Outbound(a)),
        ),
        (
            "interaction.snoozed",
            serde_json::json!({"agent_id": a, "until": 1}),
            Some(Step::Snoozed),
        ),
        ("interaction.woken", serde_json::json!({"reason": "due"}), None),
        ("call.held", serde_json::json!({}), Some(Step::Held)),
        ("interaction.offered", serde_json::json!({"agent_id": a}), None),
        ("interaction.note_added", serde_json::json!({}), None),
    ];
    for (kind, data, want) in cases {
        assert_eq!(Step::parse(kind, &data), want, "{kind}");
    }
}

/// A voicemail, and a caller who chose a callback after waiting 40 s whose first call back was not
/// answered: both are offered and answered, counted apart from the contacts answered while someone
/// held on, so neither lowers the service level nor lengthens the speed of answer, and neither is
/// an abandon. A caller answered in 10 s is the only wait counted.
#[test]
fn contacts_nobody_waits_on_the_line_for_are_answered_apart() {
    let (q, bob) = (queue(1), agent(2));
    let at = |s: &str| t(&format!("2026-10-24T{s}+02:00"));
    let logs = [
        log(
            1,
            customer(1),
            Channel::Voice,
            &[
                (at("09:00:00"), Step::QueuedOffline(Some(q))),
                (at("10:00:00"), Step::Answered(bob)),
                (at("10:00:30"), Step::Ended),
                (at("10:01:00"), Step::WrappedUp),
            ],
        ),
        log(
            2,
            customer(2),
            Channel::Voice,
            &[
                (at("09:10:00"), Step::Queued(Some(q))),
                (at("09:10:40"), Step::Offline),
                (at("09:30:00"), Step::Answered(bob)),
                (at("09:30:40"), Step::Transferred(Some(q))),
                (at("09:40:40"), Step::Answered(bob)),
                (at("09:45:00"), Step::Ended),
                (at("09:46:00"), Step::WrappedUp),
            ],
        ),
        log(
            3,
            customer(3),
            Channel::Voice,
            &[
                (at("11:00:00"), Step::Queued(Some(q))),
                (at("11:00:10"), Step::Answered(bob)),
                (at("11:02:00"), Step::Ended),
                (at("11:02:30"), Step::WrappedUp),
            ],
        ),
    ];
    let ivs = intervals(
        &berlin(),
        date(2026, 10, 24),
        date(2026, 10, 24),
        Granularity::Day,
    )
    .unwrap();
    let r = report(&logs, &[], &[], &rules(), &ivs, Dimension::Queue, at("23:00:00"));
    let day = &r.rows[&Key::Queue(q)][0];
    assert_eq!(
        (day.offered, day.answered, day.answered_offline, day.abandoned),
        (4, 1, 3, 0),
        "{day:?}"
    );
    assert_eq!(
        (day.answered_in_sl, day.answer_wait_ms, day.longest_wait_ms),
        (1, 10 * S, 10 * S)
    );
    let figures = Figures::from(day);
    assert_eq!(
        (figures.service_level, figures.asa_ms),
        (Some(1.0), Some(10_000.0))
    );
    assert_eq!(figures.abandon_rate, Some(0.0));
    assert_eq!(
        day.handled, 4,
        "each call back and the voicemail are work all the same"
    );
}

// --- the property ---

/// A contact as the generator made it: what actually happened, from which the lines are written
/// and the expected sums worked out without the report's code.
#[derive(Debug, Clone)]
struct Truth {
    customer: u128,
    queue: u128,
    arrived: Millis,
    wait: i64,
    /// `None`: abandoned. Otherwise the agent, talk, hold and wrap-up, and a transfer.
    answer: Option<(u128, i64, i64, i64)>,
    transfer: Option<(u128, i64, u128, i64, i64)>,
}

fn truth() -> impl Strategy<Value = Truth> {
    let start = t("2026-10-24T00:00:00+02:00");
    let span = 3 * 86_400 * S;
    (
        0u128..4,
        1u128..3,
        (start - 3600 * S)..(start + span + 3600 * S),
        0i64..120_000,
        proptest::option::weighted(0.7, (1u128..4, 1i64..900_000, 0i64..60_000, 0i64..120_000)),
        proptest::option::weighted(
            0.2,
            (1u128..3, 0i64..90_000, 1u128..4, 1i64..600_000, 0i64..60_000),
        ),
    )
        .prop_map(|(customer, queue, arrived, wait, answer, transfer)| Truth {
            customer,
            queue,
            arrived,
            wait,
            transfer: answer.and(transfer),
            answer,
        })
}

fn lines(n: usize, c: &Truth) -> ContactLog {
    let mut lines = vec![(c.arrived, Step::Queued(Some(queue(c.queue))))];
    let answered = c.arrived + c.wait;
    match c.answer {
        None => lines.push((answered, Step::Abandoned)),
        Some((who, talk, hold, wrap)) => {
            lines.push((answered, Step::Answered(agent(who))));
            lines.push((answered + 1, Step::Held));
            lines.push((answered + 1 + hold, Step::Resumed));
            let done = answered + talk + hold;
            match c.transfer {
                Some((to, wait2, who2, talk2, wrap2)) => {
                    lines.push((done, Step::Transferred(Some(queue(to)))));
                    lines.push((done + wait2, Step::Answered(agent(who2))));
                    lines.push((done + wait2 + talk2, Step::Ended));
                    lines.push((done + wait2 + talk2 + wrap2, Step::WrappedUp));
                }
                None => {
                    lines.push((done, Step::Ended));
                    lines.push((done + wrap, Step::WrappedUp));
                }
            }
        }
    }
    let channel = if n.is_multiple_of(2) {
        Channel::Voice
    } else {
        Channel::Chat
    };
    let lines: Vec<(Millis, Step)> = lines;
    log(n as u128, customer(c.customer), channel, &lines)
}

/// The queue figures the generator knows, for stays that entered within `[from, to)`.
fn expected(contacts: &[Truth], from: Millis, to: Millis) -> Tally {
    let rules = rules();
    let sl = |q: u128| rules.sl_threshold_ms[&queue(q)];
    let mut e = Tally::default();
    let wait = |e: &mut Tally, w: i64| e.longest_wait_ms = e.longest_wait_ms.max(w);
    for c in contacts {
        if (from..to).contains(&c.arrived) {
            e.offered += 1;
            wait(&mut e, c.wait);
            match c.answer {
                None => {
                    e.abandoned += 1;
                    e.abandon_wait_ms += c.wait;
                    e.short_abandoned += u64::from(c.wait < rules.short_abandon_ms);
                }
                Some((_, talk, hold, wrap)) => {
                    e.answered += 1;
                    e.answered_in_sl += u64::from(c.wait <= sl(c.queue));
                    e.answer_wait_ms += c.wait;
                    e.handled += 1;
                    e.talk_ms += talk;
                    e.hold_ms += hold;
                    if c.transfer.is_some() {
                        e.transfers += 1;
                    } else {
                        e.wrap_up_ms += wrap;
                    }
                }
            }
        }
        if let (Some((_, talk, hold, _)), Some((to_q, wait2, _, talk2, wrap2))) = (c.answer, c.transfer) {
            let entered = c.arrived + c.wait + talk + hold;
            if (from..to).contains(&entered) {
                e.offered += 1;
                e.answered += 1;
                e.answered_in_sl += u64::from(wait2 <= sl(to_q));
                e.answer_wait_ms += wait2;
                wait(&mut e, wait2);
                e.handled += 1;
                e.talk_ms += talk2;
                e.wrap_up_ms += wrap2;
            }
        }
    }
    e
}

/// The contact sums of a tally (FCR and agent time aside).
fn contact_sums(t: &Tally) -> Tally {
    Tally {
        fcr_judged: 0,
        fcr_resolved: 0,
        available_ms: 0,
        busy_ms: 0,
        wrap_up_state_ms: 0,
        break_ms: 0,
        breaks: BTreeMap::new(),
        ..t.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn a_report_is_the_sum_of_its_intervals_and_of_its_raw_lines(
        contacts in proptest::collection::vec(truth(), 0..40),
        shifts in proptest::collection::vec((1u128..4, 0i64..(3 * 86_400_000), 0usize..3), 0..20),
    ) {
        let logs: Vec<ContactLog> = contacts.iter().enumerate().map(|(n, c)| lines(n, c)).collect();
        let mut presence: Vec<PresenceLine> = shifts.iter().map(|(who, offset, state)| PresenceLine {
            agent: agent(*who),
            at: t("2026-10-24T00:00:00+02:00") + offset,
            state: [AgentState::Available, AgentState::Break("coffee".into()), AgentState::Offline][*state].clone(),
        }).collect();
        presence.sort_by_key(|p| p.at);
        let tz = berlin();
        let until = t("2026-10-28T00:00:00+01:00");
        for dimension in [Dimension::Queue, Dimension::Agent, Dimension::Channel] {
            let totals: Vec<BTreeMap<Key, Tally>> = [
                Granularity::QuarterHour, Granularity::Hour, Granularity::Day, Granularity::Week,
            ]
            .into_iter()
            .map(|g| {
                let ivs = intervals(&tz, date(2026, 10, 24), date(2026, 10, 26), g).unwrap();
                let r = report(&logs, &[], &presence, &rules(), &ivs, dimension, until);
                r.rows.iter().map(|(k, cells)| (*k, Report::total(cells))).collect()
            })
            .collect();
            for other in &totals[1..] {
                prop_assert_eq!(&totals[0], other, "{:?}", dimension);
            }
            if dimension == Dimension::Queue {
                let ivs = intervals(&tz, date(2026, 10, 24), date(2026, 10, 26), Granularity::Day).unwrap();
                let (from, to) = (ivs[0].start, ivs[2].end);
                let mut all = Tally::default();
                for total in totals[0].values() {
                    all.add(total);
                }
                prop_assert_eq!(contact_sums(&all), expected(&contacts, from, to));
            }
            if dimension == Dimension::Agent {
                // An agent's states never overlap: their sum is at most the range.
                for total in totals[0].values() {
                    let sum = total.available_ms + total.busy_ms + total.wrap_up_state_ms + total.break_ms;
                    prop_assert!(sum <= 3 * 86_400_000 + 3_600_000);
                }
            }
        }
    }
}

#[test]
fn a_customer_back_after_the_range_unresolves_their_first_contact() {
    let (logs, presence) = scenario();
    let ivs = intervals(
        &berlin(),
        date(2026, 10, 24),
        date(2026, 10, 24),
        Granularity::Day,
    )
    .unwrap();
    let until = t("2026-10-26T00:00:00+01:00");
    let run = |later: &[(CustomerId, Millis)]| {
        let r = report(&logs, later, &presence, &rules(), &ivs, Dimension::Queue, until);
        let sales = &r.rows[&Key::Queue(queue(1))][0];
        (sales.fcr_judged, sales.fcr_resolved)
    };
    assert_eq!(run(&[]), (1, 1));
    // The chat's customer comes back six days after it ended: within the 7-day window.
    assert_eq!(run(&[(customer(1), t("2026-10-31T00:00:00+01:00"))]), (1, 0));
    // Eight days after: too late to count against it.
    assert_eq!(run(&[(customer(1), t("2026-11-02T00:10:00+01:00"))]), (1, 1));
}

/// The same day replayed through the dispatcher (the router deciding, the group commit writing
/// the event and presence logs at the times the day names, on SQLite), then reported from the
/// store: every report of the day by queue, agent and channel, by day and by hour, is the
/// hand-worked one. What the dispatcher writes (offers, holds, a transfer's second stay, the
/// presence of agents who are offered and answer) is what the hand-worked logs say happened.
#[tokio::test]
async fn the_hand_worked_day_replayed_through_the_dispatcher_reports_the_same() {
    use crate::bus::Bus;
    use crate::dispatcher::Dispatcher;
    use crate::domain::{AccountId, Capacity, Role, test_clock};
    use crate::health::Health;
    use crate::store::{NewAgent, NewInteraction, QueueSpec, ReportSettings};
    let account = AccountId::DEFAULT;
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::connect(&format!("sqlite://{}", dir.path().join("hub.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .set_report_settings(
            account,
            &ReportSettings {
                time_zone: "Europe/Berlin".into(),
                short_abandon_secs: 5,
                fcr_window_hours: 7 * 24,
            },
        )
        .await
        .unwrap();
    let mut queues = Vec::new();
    for (name, sl) in [("Sales", 20), ("Support", 30)] {
        let mut spec = QueueSpec::named(name);
        spec.sl_target_secs = sl;
        // Long enough that no offer lapses and no wrap-up ends on its own in the replay: the
        // day's agents answer and wrap up when it says.
        spec.offer_timeout_secs = 300;
        spec.wrap_up_secs = 3600;
        queues.push(store.create_queue(account, spec).await.unwrap().id);
    }
    let (sales, support) = (queues[0], queues[1]);
    let mut agents = Vec::new();
    for name in ["alice", "bob"] {
        let new = NewAgent {
            email: format!("{name}@example.com"),
            name: name.into(),
            role: Role::Agent,
            locale: "en".into(),
            skills: Default::default(),
            capacity: Capacity::default(),
            password_hash: "$argon2id$v=19$stub".into(),
        };
        agents.push(store.create_agent(account, new).await.unwrap().id);
    }
    let (alice, bob) = (agents[0], agents[1]);
    let mut customers = Vec::new();
    for n in 1..=4 {
        let identity = [("email".to_string(), format!("c{n}@example.com"))];
        customers.push(store.resolve_customer(account, &identity, None).await.unwrap().id);
    }
    test_clock::set(t("2026-10-24T23:00:00+02:00"));
    let d = Dispatcher::start(store.clone(), Bus::default(), Health::default())
        .await
        .unwrap();
    for agent in [alice, bob] {
        d.set_reachable(account, agent, Channel::Voice, true)
            .await
            .unwrap();
    }
    let state = |agent, state| {
        let d = d.clone();
        async move { d.set_state(account, agent, state).await.unwrap() }
    };
    let arrive = |customer: usize, channel, queue| {
        let (d, store) = (d.clone(), store.clone());
        let customer_id = customers[customer - 1];
        async move {
            let new = NewInteraction {
                customer_id,
                channel,
                queue_id: queue,
                priority: 0,
                entry_point: "replay".into(),
                offline: false,
                arrived_at: crate::domain::now_millis(),
            };
            let i = store.create_interaction(account, new).await.unwrap();
            d.arrive(account, i.clone()).await.unwrap();
            i.id
        }
    };
    let at = test_clock::set;

    at(t("2026-10-24T23:45:00+02:00"));
    state(alice, AgentState::Available).await;
    at(t("2026-10-24T23:50:00+02:00"));
    let c1 = arrive(1, Channel::Chat, sales).await;
    at(t("2026-10-24T23:50:15+02:00"));
    d.accept(account, alice, c1).await.unwrap();
    at(t("2026-10-25T00:05:15+02:00"));
    d.end(account, alice, c1).await.unwrap();
    at(t("2026-10-25T00:06:15+02:00"));
    d.wrap_up(account, alice, c1, "resolved".into(), None)
        .await
        .unwrap();
    at(t("2026-10-25T00:30:00+02:00"));
    state(alice, AgentState::Offline).await;

    at(t("2026-10-25T02:20:00+02:00"));
    state(bob, AgentState::Available).await;
    let c2_at = t("2026-10-25T02:30:00+02:00");
    at(c2_at);
    let c2 = arrive(2, Channel::Voice, sales).await;
    at(c2_at + 40 * S);
    d.accept(account, bob, c2).await.unwrap();
    at(c2_at + 100 * S);
    d.hold(account, bob, c2, true).await.unwrap();
    at(c2_at + 160 * S);
    d.hold(account, bob, c2, false).await.unwrap();
    at(c2_at + 340 * S);
    d.end(account, bob, c2).await.unwrap();
    at(c2_at + 370 * S);
    d.wrap_up(account, bob, c2, "resolved".into(), None)
        .await
        .unwrap();
    at(t("2026-10-25T02:50:00+02:00"));
    state(bob, AgentState::Offline).await;

    at(t("2026-10-25T02:10:00+01:00"));
    let c3 = arrive(3, Channel::Voice, sales).await;
    at(t("2026-10-25T02:10:03+01:00"));
    d.leave(account, c3, None).await.unwrap();

    at(t("2026-10-25T09:00:00+01:00"));
    let c4 = arrive(2, Channel::Chat, support).await;
    at(t("2026-10-25T09:00:45+01:00"));
    d.leave(account, c4, None).await.unwrap();

    at(t("2026-10-25T09:55:00+01:00"));
    state(alice, AgentState::Available).await;
    let c5_at = t("2026-10-25T10:00:00+01:00");
    at(c5_at);
    state(bob, AgentState::Available).await;
    let c5 = arrive(4, Channel::Voice, support).await;
    at(c5_at + 10 * S);
    d.accept(account, alice, c5).await.unwrap();
    at(c5_at + 130 * S);
    d.transfer(account, alice, c5, sales).await.unwrap();
    at(c5_at + 155 * S);
    d.accept(account, bob, c5).await.unwrap();
    at(t("2026-10-25T10:20:00+01:00"));
    state(alice, AgentState::Break("lunch".into())).await;
    at(t("2026-10-25T10:30:00+01:00"));
    state(bob, AgentState::Offline).await;
    at(c5_at + 335 * S);
    d.end(account, bob, c5).await.unwrap();
    at(c5_at + 395 * S);
    d.wrap_up(account, bob, c5, "resolved".into(), None)
        .await
        .unwrap();
    at(t("2026-10-25T10:50:00+01:00"));
    state(alice, AgentState::Offline).await;

    // The hand-worked report's ids, as the store named them.
    let rename = |key: &Key| {
        let queue = |q: QueueId| if q == queue(1) { sales } else { support };
        match key {
            Key::Queue(q) => Key::Queue(queue(*q)),
            Key::Agent(a) => Key::Agent(if *a == agent(1) { alice } else { bob }),
            Key::Channel(c, q) => Key::Channel(*c, queue(*q)),
        }
    };
    for granularity in [Granularity::Day, Granularity::Hour] {
        for dimension in [Dimension::Queue, Dimension::Agent, Dimension::Channel] {
            let ask = load::Ask {
                dimension,
                granularity,
                from: date(2026, 10, 24),
                to: date(2026, 10, 25),
                now: t("2026-10-26T00:00:00+01:00"),
            };
            let (_, replayed) = load::run(&store, account, ask).await.unwrap();
            let worked = run(granularity, dimension);
            let worked: BTreeMap<Key, Vec<Tally>> = worked
                .rows
                .iter()
                .map(|(k, cells)| (rename(k), cells.clone()))
                .collect();
            assert_eq!(replayed.rows, worked, "{dimension:?} by {granularity:?}");
        }
    }
}

/// A chat Bob snoozes and answers again when it comes back, and one whose customer leaves while it
/// is snoozed: each was offered and answered once, neither is an abandon. In the queue's figures
/// the handle ends at the snooze (its talk counts); answering it again after it woke is a handle
/// of Bob's that no queue stay led to, as one he starts himself is.
#[test]
fn a_snoozed_conversation_is_offered_once_and_never_abandoned() {
    let (q, bob) = (queue(1), agent(2));
    let at = |s: &str| t(&format!("2026-10-24T{s}+02:00"));
    let logs = [
        log(
            1,
            customer(1),
            Channel::Chat,
            &[
                (at("09:00:00"), Step::Queued(Some(q))),
                (at("09:00:10"), Step::Answered(bob)),
                (at("09:01:10"), Step::Snoozed),
                (at("10:00:00"), Step::Answered(bob)),
                (at("10:01:00"), Step::Ended),
                (at("10:01:30"), Step::WrappedUp),
            ],
        ),
        log(
            2,
            customer(2),
            Channel::Chat,
            &[
                (at("11:00:00"), Step::Queued(Some(q))),
                (at("11:00:20"), Step::Answered(bob)),
                (at("11:00:50"), Step::Snoozed),
                (at("11:30:00"), Step::Abandoned),
            ],
        ),
    ];
    let ivs = intervals(
        &berlin(),
        date(2026, 10, 24),
        date(2026, 10, 24),
        Granularity::Day,
    )
    .unwrap();
    let r = report(&logs, &[], &[], &rules(), &ivs, Dimension::Queue, at("23:00:00"));
    let day = &r.rows[&Key::Queue(q)][0];
    assert_eq!(
        (day.offered, day.answered, day.abandoned, day.answer_wait_ms),
        (2, 2, 0, 30 * S),
        "{day:?}"
    );
    assert_eq!((day.handled, day.talk_ms), (2, (60 + 30) * S), "{day:?}");
}
