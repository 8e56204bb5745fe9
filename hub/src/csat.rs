//! Customer satisfaction and agent KPIs, with no IO: whether an ended conversation may be rated,
//! what a rating holds once checked, and how ratings, handled contacts and follow-ups add up per
//! agent and per queue. The widget's `csat` frame (`api::ws_chat`) and the reports
//! (`api::reports`) read the store and hand the rows here; docs/metrics.md defines the figures.

use crate::domain::{
    AgentId, Channel, CustomerId, Interaction, InteractionId, InteractionState, Millis, Queue, QueueId,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// The longest comment a customer may leave, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// A score from 1 (very unhappy) to 5 (very happy); 4 and 5 count as satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Score(u8);

impl Score {
    pub fn get(self) -> u8 {
        self.0
    }

    pub fn satisfied(self) -> bool {
        self.0 >= 4
    }
}

impl TryFrom<i64> for Score {
    type Error = Refusal;
    fn try_from(n: i64) -> Result<Score, Refusal> {
        match u8::try_from(n) {
            Ok(n @ 1..=5) => Ok(Score(n)),
            _ => Err(Refusal::BadScore),
        }
    }
}

impl From<Score> for u8 {
    fn from(s: Score) -> u8 {
        s.0
    }
}

/// Why a rating is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a score is a whole number from 1 to 5")]
    BadScore,
    #[error("a comment is at most {MAX_COMMENT_CHARS} characters")]
    LongComment,
    #[error("this conversation's queue does not ask for a rating")]
    NotAsked,
    #[error("a conversation is rated once it has ended")]
    NotEnded,
    #[error("nobody answered this conversation, so there is nobody to rate")]
    NoAgent,
}

/// A comment as kept: trimmed, control characters other than line breaks and tabs taken out,
/// `None` when nothing is left.
pub fn comment(text: Option<&str>) -> Result<Option<String>, Refusal> {
    let Some(text) = text else { return Ok(None) };
    let clean: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    if clean.chars().count() > MAX_COMMENT_CHARS {
        return Err(Refusal::LongComment);
    }
    Ok(Some(clean).filter(|c| !c.is_empty()))
}

/// Whether `interaction` (on `queue`, its queue now) may be rated: its queue asks, it is over,
/// and an agent had it (the agent a rating is about).
pub fn may_rate(interaction: &Interaction, queue: &Queue) -> Result<AgentId, Refusal> {
    if !queue.csat {
        return Err(Refusal::NotAsked);
    }
    if !matches!(
        interaction.state,
        InteractionState::WrapUp | InteractionState::Closed
    ) {
        return Err(Refusal::NotEnded);
    }
    interaction.agent_id.ok_or(Refusal::NoAgent)
}

/// One rating: an interaction's, by its customer, about the agent who handled it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    #[schema(value_type = String)]
    pub interaction_id: InteractionId,
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    /// The agent who handled it last (`None` only for rows whose agent is gone from the log).
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    #[schema(value_type = String)]
    pub channel: Channel,
    #[schema(value_type = u8)]
    pub score: Score,
    /// Gone once the customer's data is erased.
    pub comment: Option<String>,
    pub at: Millis,
}

impl Rating {
    /// The rating of an ended `interaction` by its customer, when `may_rate` allowed it.
    pub fn of(
        interaction: &Interaction,
        agent: AgentId,
        score: Score,
        comment: Option<String>,
        at: Millis,
    ) -> Rating {
        Rating {
            interaction_id: interaction.id,
            customer_id: interaction.customer_id,
            agent_id: Some(agent),
            queue_id: interaction.queue_id,
            channel: interaction.channel,
            score,
            comment,
            at,
        }
    }
}

/// What a set of ratings says: how many, their average, and the share satisfied (4 or 5 of 5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub count: u64,
    /// `null` without ratings.
    pub average: Option<f64>,
    /// 0–1; `null` without ratings.
    pub satisfied: Option<f64>,
}

/// The summary of `scores`.
pub fn summarize(scores: impl IntoIterator<Item = Score>) -> Summary {
    let (mut count, mut sum, mut happy) = (0u64, 0u64, 0u64);
    for s in scores {
        count += 1;
        sum += u64::from(s.get());
        happy += u64::from(s.satisfied());
    }
    if count == 0 {
        return Summary::default();
    }
    Summary {
        count,
        average: Some(sum as f64 / count as f64),
        satisfied: Some(happy as f64 / count as f64),
    }
}

/// The summaries of `ratings` grouped by `key` (rows without a key are left out).
pub fn by<K: Ord + Copy>(ratings: &[Rating], key: impl Fn(&Rating) -> Option<K>) -> BTreeMap<K, Summary> {
    let mut scores: BTreeMap<K, Vec<Score>> = BTreeMap::new();
    for r in ratings {
        if let Some(k) = key(r) {
            scores.entry(k).or_default().push(r.score);
        }
    }
    scores.into_iter().map(|(k, s)| (k, summarize(s))).collect()
}

/// What the customer card shows: every rating's summary and the latest rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerCsat {
    pub count: u64,
    pub average: Option<f64>,
    pub last: Option<Rating>,
}

/// The card's figures from a customer's ratings (any order); `None` when they never rated.
pub fn customer(ratings: &[Rating]) -> Option<CustomerCsat> {
    let last = ratings
        .iter()
        .max_by_key(|r| (r.at, r.interaction_id.to_string()))?;
    let s = summarize(ratings.iter().map(|r| r.score));
    Some(CustomerCsat {
        count: s.count,
        average: s.average,
        last: Some(last.clone()),
    })
}

/// A follow-up closed as done: who did it (its owner then), when it was due, when it was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoneFollowUp {
    pub owner: AgentId,
    pub due_at: Millis,
    pub done_at: Millis,
}

/// Follow-ups done per owner, and of those done by their due time.
pub fn follow_ups_done(done: &[DoneFollowUp]) -> HashMap<AgentId, (u64, u64)> {
    let mut out: HashMap<AgentId, (u64, u64)> = HashMap::new();
    for f in done {
        let e = out.entry(f.owner).or_default();
        e.0 += 1;
        e.1 += u64::from(f.done_at <= f.due_at);
    }
    out
}

/// One agent's KPIs over a range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgentKpis {
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    pub name: String,
    /// Contacts they answered (live and offline ones: voicemails, offline messages, callbacks).
    pub contacts_handled: u64,
    /// Average handle time (talk + hold + wrap-up over handles finished), seconds.
    pub aht_secs: Option<f64>,
    /// Follow-ups they own that were done in the range, and of those done by their due time.
    pub follow_ups_done: u64,
    pub follow_ups_on_time: u64,
    /// Customers they own now (not as of the range).
    pub customers_owned: u64,
    /// Ratings of the contacts they handled, given in the range.
    pub csat: Summary,
    /// Opportunities they own that are won and were last changed in the range (a win is their
    /// last move), and their amounts in minor units by currency (the CSV writes `EUR 125000`:
    /// minor units too).
    pub opportunities_won: u64,
    pub won_amounts: BTreeMap<String, i64>,
}

/// The figures one agent's KPIs are made of, by agent id.
#[derive(Debug, Default)]
pub struct KpiInputs {
    /// Answered contacts and the handle time's sum (ms) and handles, per agent.
    pub handled: HashMap<AgentId, (u64, Option<f64>)>,
    pub follow_ups: HashMap<AgentId, (u64, u64)>,
    pub owned: HashMap<AgentId, u64>,
    pub csat: BTreeMap<AgentId, Summary>,
    /// Opportunities won per owner: how many, and their amounts by currency.
    pub won: HashMap<AgentId, (u64, BTreeMap<String, i64>)>,
}

/// The KPIs of `agents` (id and name, in the order wanted) from their figures.
pub fn kpis(agents: &[(AgentId, String)], inputs: &KpiInputs) -> Vec<AgentKpis> {
    fn get<K: Eq + Hash, V: Copy + Default>(m: &HashMap<K, V>, k: &K) -> V {
        m.get(k).copied().unwrap_or_default()
    }
    agents
        .iter()
        .map(|(id, name)| {
            let (contacts_handled, aht_ms) = get(&inputs.handled, id);
            let (follow_ups_done, follow_ups_on_time) = get(&inputs.follow_ups, id);
            AgentKpis {
                agent_id: *id,
                name: name.clone(),
                contacts_handled,
                aht_secs: aht_ms.map(|ms| ms / 1000.0),
                follow_ups_done,
                follow_ups_on_time,
                customers_owned: get(&inputs.owned, id),
                csat: inputs.csat.get(id).copied().unwrap_or_default(),
                opportunities_won: inputs.won.get(id).map_or(0, |w| w.0),
                won_amounts: inputs.won.get(id).map(|w| w.1.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// The KPIs as CSV, one line per agent; a cell a spreadsheet would take for a formula is kept
/// as text (`crm::export`).
pub fn kpi_csv(rows: &[AgentKpis]) -> String {
    let mut out = String::new();
    let head = [
        "agent_id",
        "name",
        "contacts_handled",
        "aht_s",
        "follow_ups_done",
        "follow_ups_on_time",
        "customers_owned",
        "csat_count",
        "csat_average",
        "csat_satisfied",
        "opportunities_won",
        "won_amounts",
    ];
    crate::crm::export::row(&mut out, &head.map(str::to_string));
    let opt = |v: Option<f64>, places: usize| v.map(|v| format!("{v:.places$}")).unwrap_or_default();
    for k in rows {
        let cells = [
            k.agent_id.to_string(),
            k.name.clone(),
            k.contacts_handled.to_string(),
            opt(k.aht_secs, 1),
            k.follow_ups_done.to_string(),
            k.follow_ups_on_time.to_string(),
            k.customers_owned.to_string(),
            k.csat.count.to_string(),
            opt(k.csat.average, 2),
            opt(k.csat.satisfied, 4),
            k.opportunities_won.to_string(),
            k.won_amounts
                .iter()
                .map(|(currency, minor)| format!("{currency} {minor}"))
                .collect::<Vec<_>>()
                .join("; "),
        ];
        crate::crm::export::row(&mut out, &cells);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, QueueId};

    fn s(n: i64) -> Score {
        Score::try_from(n).unwrap()
    }

    #[test]
    fn a_score_is_one_to_five() {
        for (n, ok) in [
            (0, false),
            (1, true),
            (3, true),
            (5, true),
            (6, false),
            (-1, false),
            (300, false),
        ] {
            assert_eq!(Score::try_from(n).is_ok(), ok, "{n}");
        }
        assert!(serde_json::from_str::<Score>("4").is_ok());
        assert!(serde_json::from_str::<Score>("4.5").is_err());
        assert!(serde_json::from_str::<Score>("\"5\"").is_err());
        assert_eq!(serde_json::to_string(&s(5)).unwrap(), "5");
    }

    #[test]
    fn comments_are_trimmed_cleaned_and_bounded() {
        type Case<'a> = (Option<&'a str>, Result<Option<&'a str>, Refusal>);
        let cases: [Case; 6] = [
            (None, Ok(None)),
            (Some("   "), Ok(None)),
            (Some("  很好，谢谢！ "), Ok(Some("很好，谢谢！"))),
            (Some("a\u{0}b\u{7}c"), Ok(Some("abc"))),
            (Some("line one\nline two"), Ok(Some("line one\nline two"))),
            (
                Some(&"好".repeat(MAX_COMMENT_CHARS + 1)),
                Err(Refusal::LongComment),
            ),
        ];
        for (given, want) in cases {
            assert_eq!(comment(given), want.map(|o| o.map(str::to_string)), "{given:?}");
        }
        assert!(comment(Some(&"好".repeat(MAX_COMMENT_CHARS))).is_ok());
    }

    #[test]
    fn csat_is_the_share_of_fours_and_fives_and_the_average() {
        // Scores, then the count, average and share satisfied they give.
        type Case<'a> = (&'a [i64], u64, Option<f64>, Option<f64>);
        let cases: [Case; 4] = [
            (&[], 0, None, None),
            (&[5], 1, Some(5.0), Some(1.0)),
            (&[5, 4, 3, 1], 4, Some(3.25), Some(0.5)),
            (&[1, 2, 3], 3, Some(2.0), Some(0.0)),
        ];
        for (scores, count, average, satisfied) in cases {
            let got = summarize(scores.iter().map(|n| s(*n)));
            assert_eq!(
                (got.count, got.average, got.satisfied),
                (count, average, satisfied),
                "{scores:?}"
            );
        }
    }

    fn interaction(state: InteractionState, agent: Option<AgentId>) -> Interaction {
        serde_json::from_value(serde_json::json!({
            "id": InteractionId::new(), "customer_id": CustomerId::new(), "channel": "chat",
            "queue_id": QueueId::new(), "state": state, "priority": 0, "arrived_at": 0,
            "agent_id": agent, "entry_point": "widget", "offline": false,
            "disposition": null, "wrap_up_note": null, "ended_at": null,
        }))
        .unwrap()
    }

    fn queue(csat: bool) -> Queue {
        let mut q: Queue = serde_json::from_value(serde_json::json!({
            "id": QueueId::new(), "account_id": AccountId::DEFAULT, "name": "Support",
            "required_skills": [], "priority": 0, "sl_target_secs": 20, "max_wait_secs": null,
            "overflow_queue": null, "offer_timeout_secs": 20, "wrap_up_secs": 60,
        }))
        .unwrap();
        q.csat = csat;
        q
    }

    #[test]
    fn only_an_ended_answered_conversation_on_an_asking_queue_is_rated() {
        use InteractionState::*;
        let agent = AgentId::new();
        let cases = [
            (Closed, Some(agent), true, Ok(agent)),
            (WrapUp, Some(agent), true, Ok(agent)),
            (Closed, Some(agent), false, Err(Refusal::NotAsked)),
            (Active, Some(agent), true, Err(Refusal::NotEnded)),
            (Queued, None, true, Err(Refusal::NotEnded)),
            (Abandoned, None, true, Err(Refusal::NotEnded)),
            (Closed, None, true, Err(Refusal::NoAgent)),
        ];
        for (state, holder, asks, want) in cases {
            assert_eq!(
                may_rate(&interaction(state, holder), &queue(asks)),
                want,
                "{state:?} {asks}"
            );
        }
    }

    fn rating(agent: AgentId, queue: QueueId, score: i64, at: Millis) -> Rating {
        let i = interaction(InteractionState::Closed, Some(agent));
        let mut r = Rating::of(&i, agent, s(score), None, at);
        r.queue_id = queue;
        r
    }

    #[test]
    fn ratings_add_up_per_agent_per_queue_and_on_the_card() {
        let (ann, bo) = (AgentId::new(), AgentId::new());
        let (sales, support) = (QueueId::new(), QueueId::new());
        let all = [
            rating(ann, sales, 5, 10),
            rating(ann, support, 2, 30),
            rating(bo, support, 4, 20),
        ];
        let per_agent = by(&all, |r| r.agent_id);
        assert_eq!(per_agent[&ann].count, 2);
        assert_eq!(per_agent[&ann].average, Some(3.5));
        assert_eq!(per_agent[&ann].satisfied, Some(0.5));
        assert_eq!(per_agent[&bo].satisfied, Some(1.0));
        let per_queue = by(&all, |r| Some(r.queue_id));
        assert_eq!(per_queue[&support].count, 2);
        assert_eq!(per_queue[&sales].average, Some(5.0));
        let card = customer(&all).unwrap();
        assert_eq!((card.count, card.last.unwrap().at), (3, 30));
        assert_eq!(customer(&[]), None);
    }

    #[test]
    fn follow_ups_count_as_on_time_when_done_by_their_due_time() {
        let (ann, bo) = (AgentId::new(), AgentId::new());
        let done = [
            DoneFollowUp {
                owner: ann,
                due_at: 100,
                done_at: 100,
            },
            DoneFollowUp {
                owner: ann,
                due_at: 100,
                done_at: 101,
            },
            DoneFollowUp {
                owner: bo,
                due_at: 100,
                done_at: 50,
            },
        ];
        let got = follow_ups_done(&done);
        assert_eq!(got[&ann], (2, 1));
        assert_eq!(got[&bo], (1, 1));
    }

    #[test]
    fn kpis_fill_every_agent_and_their_csv_never_carries_a_formula() {
        let (ann, bo) = (AgentId::new(), AgentId::new());
        let mut inputs = KpiInputs::default();
        inputs.handled.insert(ann, (12, Some(90_500.0)));
        inputs.follow_ups.insert(ann, (3, 2));
        inputs.owned.insert(bo, 7);
        inputs.csat.insert(ann, summarize([s(5), s(3)]));
        inputs.won.insert(
            ann,
            (
                2,
                [("EUR".to_string(), 150_000), ("USD".to_string(), 5_000)].into(),
            ),
        );
        let rows = kpis(&[(ann, "Ann".into()), (bo, "=HYPERLINK(\"x\")".into())], &inputs);
        assert_eq!(rows[0].contacts_handled, 12);
        assert_eq!(rows[0].aht_secs, Some(90.5));
        assert_eq!((rows[0].follow_ups_done, rows[0].follow_ups_on_time), (3, 2));
        assert_eq!(rows[1].customers_owned, 7);
        assert_eq!(rows[1].csat, Summary::default());
        let csv = kpi_csv(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("agent_id,name,contacts_handled,aht_s,"));
        assert_eq!(
            lines[1],
            format!("{ann},Ann,12,90.5,3,2,0,2,4.00,0.5000,2,EUR 150000; USD 5000")
        );
        assert_eq!(
            lines[2],
            format!("{bo},\"'=HYPERLINK(\"\"x\"\")\",0,,0,0,7,0,,,0,")
        );
    }
}
