//! Who owns a customer, decided without IO: an account's assignment rules, tried in order
//! against what is known of a new customer (its phone's country, tags, tier, the entry point it
//! came in by), pick a set of agents; within the set the agent with the least load for its
//! weight gets the customer. A hand-over's plan (`plan_handover`) spreads an agent's customers
//! over others the same way. `crm::assign_new` and `crm::handover` feed these the store's facts.

use crate::domain::{AgentId, CustomerId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// One rule: when `when` holds, the customer goes to one of `agents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssignmentRule {
    pub when: Condition,
    /// At least one; a single agent is a fixed owner.
    pub agents: Vec<WeightedAgent>,
}

/// An agent of a rule's set and their share: an agent of weight 2 is given customers until they
/// own twice as many as one of weight 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeightedAgent {
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// What a rule asks of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// Every customer (the last rule, as a catch-all).
    Always,
    /// The country of the customer's phone number, or their `region` field when they have no
    /// phone (ISO 3166 codes such as "CN", "US"), is one of these.
    Region { regions: Vec<String> },
    /// The customer carries this tag.
    Tag { tag: String },
    /// The customer's tier is this.
    Tier { tier: String },
    /// The customer first came in by this entry point (a DID, a mailbox, a widget, an inbox).
    EntryPoint { entry_point: String },
}

/// What the rules look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// ISO 3166, upper case.
    pub region: Option<String>,
    pub tags: Vec<String>,
    pub tier: Option<String>,
    pub entry_point: Option<String>,
}

impl Condition {
    pub fn holds(&self, facts: &Facts) -> bool {
        match self {
            Condition::Always => true,
            Condition::Region { regions } => facts
                .region
                .as_deref()
                .is_some_and(|r| regions.iter().any(|x| x.eq_ignore_ascii_case(r))),
            Condition::Tag { tag } => facts.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)),
            Condition::Tier { tier } => facts
                .tier
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(tier)),
            Condition::EntryPoint { entry_point } => facts.entry_point.as_deref() == Some(entry_point),
        }
    }
}

/// Why a rule set is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RuleError {
    #[error("rule {0} names no agent")]
    NoAgents(usize),
    #[error("rule {0} gives an agent a weight of 0")]
    ZeroWeight(usize),
    #[error("rule {0} names an agent twice")]
    Duplicate(usize),
    #[error("rule {0} has an empty list")]
    Empty(usize),
}

/// Checks a rule set before it is stored (numbered from 1, as an admin counts them).
pub fn check(rules: &[AssignmentRule]) -> Result<(), RuleError> {
    for (i, rule) in rules.iter().enumerate() {
        let n = i + 1;
        if rule.agents.is_empty() {
            return Err(RuleError::NoAgents(n));
        }
        if rule.agents.iter().any(|a| a.weight == 0) {
            return Err(RuleError::ZeroWeight(n));
        }
        let distinct: HashSet<_> = rule.agents.iter().map(|a| a.agent_id).collect();
        if distinct.len() != rule.agents.len() {
            return Err(RuleError::Duplicate(n));
        }
        let empty = match &rule.when {
            Condition::Region { regions } => regions.is_empty(),
            Condition::Tag { tag } => tag.trim().is_empty(),
            Condition::Tier { tier } => tier.trim().is_empty(),
            Condition::EntryPoint { entry_point } => entry_point.trim().is_empty(),
            Condition::Always => false,
        };
        if empty {
            return Err(RuleError::Empty(n));
        }
    }
    Ok(())
}

/// The first rule whose condition holds and which names an agent still active (index, rule).
pub fn first_match<'r>(
    rules: &'r [AssignmentRule],
    facts: &Facts,
    active: &HashSet<AgentId>,
) -> Option<(usize, &'r AssignmentRule)> {
    rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.when.holds(facts) && r.agents.iter().any(|a| active.contains(&a.agent_id)))
}

/// The agent of `set` (active ones only) with the least load for their weight; ties go to the
/// one listed first, so the same loads always give the same answer.
pub fn least_loaded(
    set: &[WeightedAgent],
    load: &HashMap<AgentId, u64>,
    active: &HashSet<AgentId>,
) -> Option<AgentId> {
    let mut best: Option<(&WeightedAgent, u64)> = None;
    for a in set.iter().filter(|a| active.contains(&a.agent_id)) {
        let l = load.get(&a.agent_id).copied().unwrap_or(0);
        // l_a / w_a < l_b / w_b, without division.
        let better = match best {
            None => true,
            Some((b, bl)) => u128::from(l) * u128::from(b.weight) < u128::from(bl) * u128::from(a.weight),
        };
        if better {
            best = Some((a, l));
        }
    }
    best.map(|(a, _)| a.agent_id)
}

/// The owner the rules give a customer, and the rule (numbered from 1) that gave it.
pub fn assign(
    rules: &[AssignmentRule],
    facts: &Facts,
    load: &HashMap<AgentId, u64>,
    active: &HashSet<AgentId>,
) -> Option<(AgentId, usize)> {
    let (i, rule) = first_match(rules, facts, active)?;
    least_loaded(&rule.agents, load, active).map(|a| (a, i + 1))
}

/// How a hand-over spreads customers over the agents taking them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Spread {
    /// In turn, each to whoever of them owns the fewest so far (counting what they own already).
    Even,
    /// By the account's assignment rules, among the agents taking them; a customer no rule
    /// gives to one of them is spread evenly.
    Rules,
}

/// Which customers a hand-over moves: all when every part is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HandoverFilter {
    /// Only customers carrying one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only customers of one of these tiers.
    #[serde(default)]
    pub tiers: Vec<String>,
    /// Only customers whose region is one of these.
    #[serde(default)]
    pub regions: Vec<String>,
}

impl HandoverFilter {
    pub fn admits(&self, facts: &Facts) -> bool {
        let any = |want: &[String], have: &[&str]| {
            want.is_empty()
                || want
                    .iter()
                    .any(|w| have.iter().any(|h| w.eq_ignore_ascii_case(h)))
        };
        let tags: Vec<&str> = facts.tags.iter().map(String::as_str).collect();
        any(&self.tags, &tags)
            && any(
                &self.tiers,
                facts
                    .tier
                    .as_slice()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
            )
            && any(
                &self.regions,
                facts
                    .region
                    .as_slice()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
            )
    }
}

/// Where each customer of a hand-over goes: those the filter admits, spread over `to` (active
/// agents only; `load` is what each owns before). Customers keep their order; an empty `to`
/// moves nothing.
pub fn plan_handover(
    customers: &[(CustomerId, Facts)],
    filter: &HandoverFilter,
    to: &[AgentId],
    spread: Spread,
    rules: &[AssignmentRule],
    load: &HashMap<AgentId, u64>,
    active: &HashSet<AgentId>,
) -> Vec<(CustomerId, AgentId)> {
    let takers: Vec<WeightedAgent> = to
        .iter()
        .filter(|a| active.contains(a))
        .map(|&agent_id| WeightedAgent { agent_id, weight: 1 })
        .collect();
    let taking: HashSet<AgentId> = takers.iter().map(|a| a.agent_id).collect();
    let mut load: HashMap<AgentId, u64> = takers
        .iter()
        .map(|a| (a.agent_id, load.get(&a.agent_id).copied().unwrap_or(0)))
        .collect();
    let mut plan = Vec::new();
    for (customer, facts) in customers.iter().filter(|(_, f)| filter.admits(f)) {
        let by_rule = match spread {
            Spread::Rules => first_match(rules, facts, &taking).and_then(|(_, rule)| {
                let set: Vec<WeightedAgent> = rule
                    .agents
                    .iter()
                    .filter(|a| taking.contains(&a.agent_id))
                    .cloned()
                    .collect();
                least_loaded(&set, &load, &taking)
            }),
            Spread::Even => None,
        };
        let Some(agent) = by_rule.or_else(|| least_loaded(&takers, &load, &taking)) else {
            break;
        };
        *load.entry(agent).or_default() += 1;
        plan.push((*customer, agent));
    }
    plan
}

/// A phone number's country (ISO 3166), from its E.164 form.
pub fn phone_region(e164: &str) -> Option<String> {
    let number = phonenumber::parse(None, e164).ok()?;
    number.country().id().map(|id| id.as_ref().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn agent(n: u128) -> AgentId {
        AgentId(Uuid::from_u128(n))
    }
    fn customer(n: u128) -> CustomerId {
        CustomerId(Uuid::from_u128(n))
    }
    fn to(ids: &[(u128, u32)]) -> Vec<WeightedAgent> {
        ids.iter()
            .map(|&(n, weight)| WeightedAgent {
                agent_id: agent(n),
                weight,
            })
            .collect()
    }
    fn facts(region: Option<&str>, tags: &[&str], tier: Option<&str>, entry: Option<&str>) -> Facts {
        Facts {
            region: region.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            tier: tier.map(str::to_string),
            entry_point: entry.map(str::to_string),
        }
    }
    fn active(ids: &[u128]) -> HashSet<AgentId> {
        ids.iter().map(|&n| agent(n)).collect()
    }
    fn loads(l: &[(u128, u64)]) -> HashMap<AgentId, u64> {
        l.iter().map(|&(n, c)| (agent(n), c)).collect()
    }

    /// The rules of an account selling in China and the US, with a VIP desk and a partner line.
    fn rules() -> Vec<AssignmentRule> {
        vec![
            AssignmentRule {
                when: Condition::Tier { tier: "vip".into() },
                agents: to(&[(1, 1)]),
            },
            AssignmentRule {
                when: Condition::EntryPoint {
                    entry_point: "did:+18005550100".into(),
                },
                agents: to(&[(2, 1)]),
            },
            AssignmentRule {
                when: Condition::Tag {
                    tag: "partner".into(),
                },
                agents: to(&[(3, 1)]),
            },
            AssignmentRule {
                when: Condition::Region {
                    regions: vec!["CN".into(), "TW".into()],
                },
                agents: to(&[(4, 1), (5, 2)]),
            },
            AssignmentRule {
                when: Condition::Always,
                agents: to(&[(6, 1), (7, 1)]),
            },
        ]
    }

    #[test]
    fn rules_are_tried_in_order_and_the_first_that_holds_with_an_active_agent_wins() {
        let everyone = active(&[1, 2, 3, 4, 5, 6, 7]);
        let without_vip_desk = active(&[2, 3, 4, 5, 6, 7]);
        let first_two = active(&[1, 2]);
        let none = loads(&[]);
        // (facts, active agents, loads, expected owner and rule)
        type Row<'a> = (
            Facts,
            &'a HashSet<AgentId>,
            HashMap<AgentId, u64>,
            Option<(u128, usize)>,
        );
        let table: Vec<Row> = vec![
            (
                facts(Some("CN"), &["partner"], Some("VIP"), None),
                &everyone,
                none.clone(),
                Some((1, 1)),
            ),
            (
                facts(Some("CN"), &["partner"], Some("vip"), None),
                &without_vip_desk,
                none.clone(),
                Some((3, 3)),
            ),
            (
                facts(Some("US"), &[], None, Some("did:+18005550100")),
                &everyone,
                none.clone(),
                Some((2, 2)),
            ),
            (
                facts(Some("US"), &["Partner"], None, Some("mail:sales")),
                &everyone,
                none.clone(),
                Some((3, 3)),
            ),
            (
                facts(Some("TW"), &[], None, None),
                &everyone,
                none.clone(),
                Some((4, 4)),
            ),
            // Weight 2 takes customers until it owns twice as many.
            (
                facts(Some("CN"), &[], None, None),
                &everyone,
                loads(&[(4, 10), (5, 19)]),
                Some((5, 4)),
            ),
            (
                facts(Some("CN"), &[], None, None),
                &everyone,
                loads(&[(4, 10), (5, 20)]),
                Some((4, 4)),
            ),
            (
                facts(Some("CN"), &[], None, None),
                &everyone,
                loads(&[(4, 10), (5, 21)]),
                Some((4, 4)),
            ),
            (
                facts(None, &[], None, None),
                &everyone,
                loads(&[(6, 3), (7, 2)]),
                Some((7, 5)),
            ),
            (
                facts(None, &[], None, None),
                &everyone,
                loads(&[(6, 2), (7, 2)]),
                Some((6, 5)),
            ),
            // The catch-all's agents gone: nobody.
            (facts(Some("FR"), &[], None, None), &first_two, none.clone(), None),
        ];
        let rules = rules();
        for (i, (facts, active, load, want)) in table.into_iter().enumerate() {
            let got = assign(&rules, &facts, &load, active);
            assert_eq!(got, want.map(|(a, r)| (agent(a), r)), "row {i}: {facts:?}");
        }
    }

    #[test]
    fn a_rule_set_is_checked_before_it_is_kept() {
        let ok = rules();
        assert_eq!(check(&ok), Ok(()));
        let cases: Vec<(AssignmentRule, RuleError)> = vec![
            (
                AssignmentRule {
                    when: Condition::Always,
                    agents: vec![],
                },
                RuleError::NoAgents(6),
            ),
            (
                AssignmentRule {
                    when: Condition::Always,
                    agents: to(&[(1, 0)]),
                },
                RuleError::ZeroWeight(6),
            ),
            (
                AssignmentRule {
                    when: Condition::Always,
                    agents: to(&[(1, 1), (1, 2)]),
                },
                RuleError::Duplicate(6),
            ),
            (
                AssignmentRule {
                    when: Condition::Region { regions: vec![] },
                    agents: to(&[(1, 1)]),
                },
                RuleError::Empty(6),
            ),
            (
                AssignmentRule {
                    when: Condition::Tag { tag: " ".into() },
                    agents: to(&[(1, 1)]),
                },
                RuleError::Empty(6),
            ),
        ];
        for (bad, want) in cases {
            let mut set = ok.clone();
            set.push(bad);
            assert_eq!(check(&set), Err(want));
        }
    }

    #[test]
    fn rules_read_as_an_admin_writes_them() {
        let json = r#"[{"when": {"type": "region", "regions": ["CN", "TW"]},
            "agents": [{"agent_id": "00000000-0000-0000-0000-000000000004"},
                       {"agent_id": "00000000-0000-0000-0000-000000000005", "weight": 2}]}]"#;
        let parsed: Vec<AssignmentRule> = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, vec![rules()[3].clone()]);
    }

    #[test]
    fn phone_numbers_give_their_country() {
        for (number, region) in [
            ("+8613800138000", Some("CN")),
            ("+14155550100", Some("US")),
            ("+442079460000", Some("GB")),
            ("not a number", None),
        ] {
            assert_eq!(phone_region(number).as_deref(), region, "{number}");
        }
    }

    #[test]
    fn an_even_hand_over_evens_out_what_the_takers_own() {
        let customers: Vec<(CustomerId, Facts)> = (0..10)
            .map(|n| (customer(n), facts(None, &[], None, None)))
            .collect();
        let plan = plan_handover(
            &customers,
            &HandoverFilter::default(),
            &[agent(6), agent(7), agent(8)],
            Spread::Even,
            &[],
            &loads(&[(6, 4), (7, 0)]),
            &active(&[6, 7, 8]),
        );
        assert_eq!(plan.len(), 10);
        let count = |a| plan.iter().filter(|(_, to)| *to == agent(a)).count() as u64;
        // 14 between three: 5, 5, 4 after what 6 owned already (4).
        assert_eq!((count(6) + 4, count(7), count(8)), (5, 5, 4));
    }

    #[test]
    fn a_hand_over_moves_what_the_filter_admits_to_active_takers_by_rule_when_asked() {
        let customers = vec![
            (customer(1), facts(Some("CN"), &["key"], Some("gold"), None)),
            (customer(2), facts(Some("US"), &["key"], None, None)),
            (customer(3), facts(Some("CN"), &[], Some("gold"), None)),
            (customer(4), facts(Some("CN"), &["key"], None, None)),
        ];
        let filter = HandoverFilter {
            tags: vec!["KEY".into()],
            ..Default::default()
        };
        let all = active(&[4, 5, 6]);
        // By rule: Chinese customers to 4 or 5 (here 5, weight 2), others evenly among takers.
        let plan = plan_handover(
            &customers,
            &filter,
            &[agent(5), agent(6)],
            Spread::Rules,
            &rules(),
            &loads(&[]),
            &all,
        );
        assert_eq!(
            plan,
            vec![
                (customer(1), agent(5)),
                (customer(2), agent(6)),
                (customer(4), agent(5))
            ]
        );
        // A taker deactivated meanwhile takes nothing; none left moves nothing.
        let plan = plan_handover(
            &customers,
            &filter,
            &[agent(5), agent(6)],
            Spread::Even,
            &[],
            &loads(&[]),
            &active(&[6]),
        );
        assert!(plan.iter().all(|(_, a)| *a == agent(6)));
        assert!(
            plan_handover(
                &customers,
                &filter,
                &[agent(9)],
                Spread::Even,
                &[],
                &loads(&[]),
                &all
            )
            .is_empty()
        );
        let tiers = HandoverFilter {
            tiers: vec!["gold".into()],
            regions: vec!["cn".into()],
            ..Default::default()
        };
        let moved: Vec<_> = plan_handover(
            &customers,
            &tiers,
            &[agent(6)],
            Spread::Even,
            &[],
            &loads(&[]),
            &all,
        )
        .into_iter()
        .map(|(c, _)| c)
        .collect();
        assert_eq!(moved, vec![customer(1), customer(3)]);
    }
}
