//! The pipeline, pure: a customer's lifecycle stage, the account's opportunity stages (each with
//! its probability and checklist), what a stage move does to an opportunity, the board's totals
//! and weighted forecast, and who sees whose opportunities. The REST handlers decide here; the
//! store keeps what they decided.

pub use crate::domain::Lifecycle;
use crate::domain::{Agent, AgentId, CustomerId, Millis, OpportunityId, Role};
use crate::teams::{self, Team};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use utoipa::ToSchema;

/// The most stages an account defines, and the most checklist items a stage has.
pub const MAX_STAGES: usize = 20;
pub const MAX_CHECKLIST: usize = 20;
pub const MAX_LABEL_CHARS: usize = 80;
pub const MAX_NAME_CHARS: usize = 200;
/// The largest amount, in minor units: far beyond any deal, small enough that a column's total
/// of many of them times a probability stays inside 64 bits.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// Whether an opportunity is still being worked on; it follows the stage it is in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityStatus {
    #[default]
    Open,
    Won,
    Lost,
}

impl OpportunityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OpportunityStatus::Open => "open",
            OpportunityStatus::Won => "won",
            OpportunityStatus::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<OpportunityStatus> {
        [Self::Open, Self::Won, Self::Lost]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One column of the board, as an admin defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StageDef {
    /// Stable: lower-case letters, digits and `_`, at most 40.
    pub key: String,
    /// The account's name for it; none: the console's own words for the default keys (in the
    /// user's language), else the key.
    #[serde(default)]
    pub label: Option<String>,
    /// The chance, 0 to 100, that an opportunity at this stage is won: its weight in the forecast.
    pub probability: u8,
    /// What reaching this stage makes the opportunity.
    #[serde(default)]
    pub status: OpportunityStatus,
    /// The key actions at this stage, ticked per opportunity.
    #[serde(default)]
    pub checklist: Vec<String>,
}

/// Who an agent sees the opportunities of, besides their own and their customers'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only their own and those of the customers they own.
    #[default]
    Own,
    /// Also those of the teams they are in.
    Team,
}

/// The account's pipeline, as an admin sets it (replaced whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PipelineSettings {
    /// The board's columns, in order.
    pub stages: Vec<StageDef>,
    /// The account's names for the lifecycle stages, by key; a key left out keeps the console's.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub lifecycle_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub pipeline_visibility: Visibility,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        let stage = |key: &str, probability, status| StageDef {
            key: key.into(),
            label: None,
            probability,
            status,
            checklist: vec![],
        };
        PipelineSettings {
            stages: vec![
                stage("qualification", 10, OpportunityStatus::Open),
                stage("proposal", 40, OpportunityStatus::Open),
                stage("negotiation", 70, OpportunityStatus::Open),
                stage("won", 100, OpportunityStatus::Won),
                stage("lost", 0, OpportunityStatus::Lost),
            ],
            lifecycle_labels: BTreeMap::new(),
            pipeline_visibility: Visibility::Own,
        }
    }
}

impl PipelineSettings {
    pub fn stage(&self, key: &str) -> Option<&StageDef> {
        self.stages.iter().find(|s| s.key == key)
    }

    /// Where a new opportunity starts: the first open stage.
    pub fn first_open(&self) -> Option<&StageDef> {
        self.stages.iter().find(|s| s.status == OpportunityStatus::Open)
    }
}

fn well_formed_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 40
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn label_ok(label: &str) -> bool {
    let n = label.trim().chars().count();
    n > 0 && n <= MAX_LABEL_CHARS
}

/// Checks settings as a whole: keys well-formed and each once, probabilities 0 to 100, an open
/// stage to start in, labels and checklist items of 1 to `MAX_LABEL_CHARS`, and lifecycle
/// labels only for the lifecycle keys.
pub fn check_settings(s: &PipelineSettings) -> Result<(), String> {
    if s.stages.is_empty() || s.stages.len() > MAX_STAGES {
        return Err(format!("a pipeline has 1 to {MAX_STAGES} stages"));
    }
    for (i, stage) in s.stages.iter().enumerate() {
        if !well_formed_key(&stage.key) {
            return Err(format!(
                "stage key {:?}: use 1 to 40 of a-z, 0-9 and _",
                stage.key
            ));
        }
        if s.stages[..i].iter().any(|o| o.key == stage.key) {
            return Err(format!("stage key {:?} is there twice", stage.key));
        }
        if stage.label.as_deref().is_some_and(|l| !label_ok(l)) {
            return Err(format!(
                "stage {:?}: a label of 1 to {MAX_LABEL_CHARS} characters",
                stage.key
            ));
        }
        if stage.probability > 100 {
            return Err(format!("stage {:?}: a probability from 0 to 100", stage.key));
        }
        if stage.checklist.len() > MAX_CHECKLIST {
            return Err(format!(
                "stage {:?}: at most {MAX_CHECKLIST} checklist items",
                stage.key
            ));
        }
        for (j, item) in stage.checklist.iter().enumerate() {
            if !label_ok(item) || stage.checklist[..j].contains(item) {
                return Err(format!(
                    "stage {:?}: each checklist item once, 1 to {MAX_LABEL_CHARS} characters",
                    stage.key
                ));
            }
        }
    }
    if s.first_open().is_none() {
        return Err("at least one stage must be open (neither won nor lost)".into());
    }
    for (key, label) in &s.lifecycle_labels {
        if Lifecycle::parse(key).is_none() {
            return Err(format!(
                "lifecycle stage {key:?}: one of lead, prospect, customer, churned"
            ));
        }
        if !label_ok(label) {
            return Err(format!(
                "lifecycle stage {key:?}: a label of 1 to {MAX_LABEL_CHARS} characters"
            ));
        }
    }
    Ok(())
}

/// An amount as given: minor units, not negative, at most `MAX_AMOUNT`.
pub fn check_amount(amount: i64) -> Result<i64, String> {
    if (0..=MAX_AMOUNT).contains(&amount) {
        Ok(amount)
    } else {
        Err(format!(
            "an amount is a whole number of minor units (cents) from 0 to {MAX_AMOUNT}"
        ))
    }
}

/// A currency as given: an ISO 4217 code, three letters (upper-cased here).
pub fn parse_currency(code: &str) -> Result<String, String> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(format!("currency {code:?}: an ISO 4217 code such as EUR or CNY"))
    }
}

/// An expected close date as given: `YYYY-MM-DD`.
pub fn check_date(date: &str) -> Result<(), String> {
    if date.len() == 10 && date.parse::<jiff::civil::Date>().is_ok() {
        Ok(())
    } else {
        Err(format!("expected close {date:?}: a date as YYYY-MM-DD"))
    }
}

/// A name as given: 1 to `MAX_NAME_CHARS` characters, trimmed.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(format!(
            "an opportunity's name has 1 to {MAX_NAME_CHARS} characters"
        ));
    }
    Ok(name.to_string())
}

/// An opportunity as the board and the profile show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Opportunity {
    #[schema(value_type = String)]
    pub id: OpportunityId,
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    pub customer_name: String,
    /// The customer's owner: who else may see and work on it.
    #[schema(value_type = Option<String>)]
    pub customer_owner_id: Option<AgentId>,
    pub name: String,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub stage: String,
    pub status: OpportunityStatus,
    /// `YYYY-MM-DD`.
    pub expected_close: Option<String>,
    #[schema(value_type = String)]
    pub owner_id: AgentId,
    pub owner_name: String,
    /// The checklist items ticked, by stage key.
    #[schema(value_type = Object)]
    pub checked: BTreeMap<String, Vec<String>>,
    #[schema(value_type = String)]
    pub created_by: AgentId,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What moving an opportunity to another stage does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMove {
    pub from: String,
    pub to: String,
    pub status: OpportunityStatus,
}

/// Why a move or a tick is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    #[error("there is no stage {0:?} in this account's pipeline")]
    NoSuchStage(String),
    #[error("the opportunity is at stage {0:?} already")]
    Unchanged(String),
    #[error("stage {stage:?} has no checklist item {item:?}")]
    NoSuchItem { stage: String, item: String },
}

/// Moving from `from` to `to`: `to` must be a stage of the account, and another one. The status
/// follows the stage reached (a won opportunity moved back to an open stage is open again).
pub fn move_stage(settings: &PipelineSettings, from: &str, to: &str) -> Result<StageMove, PipelineError> {
    let target = settings
        .stage(to)
        .ok_or_else(|| PipelineError::NoSuchStage(to.to_string()))?;
    if from == to {
        return Err(PipelineError::Unchanged(to.to_string()));
    }
    Ok(StageMove {
        from: from.to_string(),
        to: to.to_string(),
        status: target.status,
    })
}

/// Ticks (or unticks) one item of a stage's checklist in `checked`; the item must be on that
/// stage's list now. Items no longer on a list are dropped as the list is written back.
pub fn tick(
    settings: &PipelineSettings,
    checked: &mut BTreeMap<String, Vec<String>>,
    stage: &str,
    item: &str,
    done: bool,
) -> Result<(), PipelineError> {
    let def = settings
        .stage(stage)
        .ok_or_else(|| PipelineError::NoSuchStage(stage.to_string()))?;
    if !def.checklist.iter().any(|i| i == item) {
        return Err(PipelineError::NoSuchItem {
            stage: stage.to_string(),
            item: item.to_string(),
        });
    }
    let mut now: Vec<String> = checked.remove(stage).unwrap_or_default();
    now.retain(|i| i != item && def.checklist.contains(i));
    if done {
        now.push(item.to_string());
    }
    // Kept in the checklist's order, so two ticks in any order read the same.
    now.sort_by_key(|i| def.checklist.iter().position(|c| c == i));
    if !now.is_empty() {
        checked.insert(stage.to_string(), now);
    }
    Ok(())
}

/// One column's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StageTotals {
    pub key: String,
    pub count: u64,
    /// Σ amount, by currency.
    #[schema(value_type = Object)]
    pub total: BTreeMap<String, i64>,
    /// Σ amount × the stage's probability, by currency (minor units, rounded half up).
    #[schema(value_type = Object)]
    pub weighted: BTreeMap<String, i64>,
}

/// The board's figures: each stage's, and the weighted forecast over all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Forecast {
    pub stages: Vec<StageTotals>,
    /// Σ amount × probability of every opportunity, by currency: what the pipeline is worth.
    #[schema(value_type = Object)]
    pub weighted: BTreeMap<String, i64>,
}

/// `amount × probability / 100`, rounded half up.
fn weigh(amount: i64, probability: u8) -> i64 {
    let w = (i128::from(amount) * i128::from(probability) + 50) / 100;
    i64::try_from(w).unwrap_or(i64::MAX)
}

/// The totals per stage (in the settings' order) and the forecast. Amounts are never added
/// across currencies. An opportunity at a stage the account no longer has counts nowhere.
pub fn forecast(settings: &PipelineSettings, opportunities: &[Opportunity]) -> Forecast {
    let mut stages: Vec<StageTotals> = settings
        .stages
        .iter()
        .map(|s| StageTotals {
            key: s.key.clone(),
            ..StageTotals::default()
        })
        .collect();
    let mut weighted: BTreeMap<String, i64> = BTreeMap::new();
    for o in opportunities {
        let Some(i) = settings.stages.iter().position(|s| s.key == o.stage) else {
            continue;
        };
        let w = weigh(o.amount, settings.stages[i].probability);
        let column = &mut stages[i];
        column.count += 1;
        let total = column.total.entry(o.currency.clone()).or_default();
        *total = total.saturating_add(o.amount);
        let part = column.weighted.entry(o.currency.clone()).or_default();
        *part = part.saturating_add(w);
        let all = weighted.entry(o.currency.clone()).or_default();
        *all = all.saturating_add(w);
    }
    Forecast { stages, weighted }
}

/// Whose opportunities a user sees (and may work on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineView {
    /// Admins, and supervisors of an account without teams.
    All,
    /// Those owned by one of these agents, or on a customer one of them owns.
    Agents(HashSet<AgentId>),
}

impl PipelineView {
    pub fn sees(&self, owner: AgentId, customer_owner: Option<AgentId>) -> bool {
        match self {
            PipelineView::All => true,
            PipelineView::Agents(set) => {
                set.contains(&owner) || customer_owner.is_some_and(|c| set.contains(&c))
            }
        }
    }
}

/// What `me` sees among the account's `teams` under its `visibility`: a supervisor their team
/// scope (`teams::scope`); an agent their own, and their teams' when the account says `team`.
pub fn view(me: &Agent, teams: &[Team], visibility: Visibility) -> PipelineView {
    if me.role >= Role::Supervisor {
        return match teams::scope(me, teams) {
            teams::Scope::All => PipelineView::All,
            teams::Scope::Teams { agents, .. } => PipelineView::Agents(agents),
        };
    }
    let mut agents = HashSet::from([me.id]);
    if visibility == Visibility::Team {
        for team in teams
            .iter()
            .filter(|t| t.members.contains(&me.id) || t.leads.contains(&me.id))
        {
            agents.extend(team.members.iter().chain(&team.leads));
        }
    }
    PipelineView::Agents(agents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Capacity, Skills, TeamId};

    fn settings() -> PipelineSettings {
        PipelineSettings::default()
    }

    fn opp(stage: &str, amount: i64, currency: &str) -> Opportunity {
        let agent = AgentId::new();
        Opportunity {
            id: OpportunityId::new(),
            customer_id: CustomerId::new(),
            customer_name: "Mia".into(),
            customer_owner_id: None,
            name: "deal".into(),
            amount,
            currency: currency.into(),
            stage: stage.into(),
            status: OpportunityStatus::Open,
            expected_close: None,
            owner_id: agent,
            owner_name: "Sam".into(),
            checked: BTreeMap::new(),
            created_by: agent,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn stage_moves() {
        let s = settings();
        let open = OpportunityStatus::Open;
        let cases: &[(&str, &str, Result<OpportunityStatus, PipelineError>)] = &[
            ("qualification", "proposal", Ok(open)),
            ("proposal", "negotiation", Ok(open)),
            ("negotiation", "won", Ok(OpportunityStatus::Won)),
            ("proposal", "lost", Ok(OpportunityStatus::Lost)),
            // Reopened: a won deal moved back is open again.
            ("won", "negotiation", Ok(open)),
            // Skipping stages is allowed: the board is not a ladder.
            ("qualification", "won", Ok(OpportunityStatus::Won)),
            (
                "proposal",
                "proposal",
                Err(PipelineError::Unchanged("proposal".into())),
            ),
            (
                "proposal",
                "signed",
                Err(PipelineError::NoSuchStage("signed".into())),
            ),
            ("proposal", "", Err(PipelineError::NoSuchStage("".into()))),
        ];
        for (from, to, want) in cases {
            let got = move_stage(&s, from, to).map(|m| m.status);
            assert_eq!(&got, want, "{from} -> {to}");
        }
    }

    #[test]
    fn forecast_weighs_each_stage_and_never_adds_currencies() {
        let s = settings();
        let opps = [
            opp("qualification", 10_000, "EUR"),
            opp("proposal", 50_000, "EUR"),
            opp("proposal", 20_001, "CNY"),
            opp("negotiation", 100_000, "EUR"),
            opp("won", 7_000, "EUR"),
            opp("lost", 99_999, "EUR"),
            // A stage the account removed: counts nowhere.
            opp("demo", 1_000, "EUR"),
        ];
        let f = forecast(&s, &opps);
        let keys: Vec<&str> = f.stages.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["qualification", "proposal", "negotiation", "won", "lost"]);
        // (column, count, total by currency, weighted by currency)
        type Row = (
            usize,
            u64,
            &'static [(&'static str, i64)],
            &'static [(&'static str, i64)],
        );
        let table: &[Row] = &[
            (0, 1, &[("EUR", 10_000)], &[("EUR", 1_000)]),
            // 20 001 × 0.4 = 8 000.4, rounded to 8 000.
            (
                1,
                2,
                &[("CNY", 20_001), ("EUR", 50_000)],
                &[("CNY", 8_000), ("EUR", 20_000)],
            ),
            (2, 1, &[("EUR", 100_000)], &[("EUR", 70_000)]),
            (3, 1, &[("EUR", 7_000)], &[("EUR", 7_000)]),
            (4, 1, &[("EUR", 99_999)], &[("EUR", 0)]),
        ];
        for (i, count, total, weighted) in table {
            let c = &f.stages[*i];
            assert_eq!(c.count, *count, "{}", c.key);
            let want: BTreeMap<String, i64> = total.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            assert_eq!(c.total, want, "{}", c.key);
            let want: BTreeMap<String, i64> = weighted.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            assert_eq!(c.weighted, want, "{}", c.key);
        }
        assert_eq!(
            f.weighted,
            BTreeMap::from([("CNY".to_string(), 8_000), ("EUR".to_string(), 98_000)])
        );
        // Rounding half up, and the largest amounts do not overflow.
        assert_eq!(weigh(5, 10), 1);
        assert_eq!(weigh(4, 10), 0);
        assert_eq!(weigh(MAX_AMOUNT, 100), MAX_AMOUNT);
        assert_eq!(forecast(&s, &[]).weighted, BTreeMap::new());
    }

    #[test]
    fn settings_checks() {
        assert_eq!(check_settings(&settings()), Ok(()));
        let with = |f: &dyn Fn(&mut PipelineSettings)| {
            let mut s = settings();
            f(&mut s);
            check_settings(&s)
        };
        assert!(with(&|s| s.stages.clear()).is_err());
        assert!(with(&|s| s.stages[1].key = "qualification".into()).is_err());
        assert!(with(&|s| s.stages[1].key = "Proposal".into()).is_err());
        assert!(with(&|s| s.stages[1].probability = 101).is_err());
        assert!(with(&|s| s.stages[1].label = Some(" ".into())).is_err());
        assert!(with(&|s| s.stages[1].checklist = vec!["a".into(), "a".into()]).is_err());
        assert!(with(&|s| s.stages.retain(|x| x.status != OpportunityStatus::Open)).is_err());
        assert!(
            with(&|s| {
                s.lifecycle_labels.insert("vip".into(), "VIP".into());
            })
            .is_err()
        );
        assert!(
            with(&|s| {
                s.lifecycle_labels.insert("lead".into(), "Suspect".into());
                s.stages[0].label = Some("Discovery".into());
                s.stages[0].checklist = vec!["Call them".into(), "Budget known".into()];
            })
            .is_ok()
        );
    }

    #[test]
    fn bad_amounts_currencies_dates_and_names() {
        assert_eq!(check_amount(0), Ok(0));
        assert_eq!(check_amount(MAX_AMOUNT), Ok(MAX_AMOUNT));
        assert!(check_amount(-1).is_err());
        assert!(check_amount(MAX_AMOUNT + 1).is_err());
        assert_eq!(parse_currency("eur"), Ok("EUR".into()));
        for bad in ["", "EU", "EURO", "E1R", "€€€", "ÉUR"] {
            assert!(parse_currency(bad).is_err(), "{bad}");
        }
        assert_eq!(check_date("2026-12-31"), Ok(()));
        for bad in ["2026-13-01", "2026-2-1", "tomorrow", ""] {
            assert!(check_date(bad).is_err(), "{bad}");
        }
        assert_eq!(check_name("  Renewal "), Ok("Renewal".into()));
        assert!(check_name("  ").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn ticking_a_checklist() {
        let mut s = settings();
        s.stages[1].checklist = vec!["Send proposal".into(), "Agree price".into()];
        let mut checked = BTreeMap::new();
        tick(&s, &mut checked, "proposal", "Agree price", true).unwrap();
        tick(&s, &mut checked, "proposal", "Send proposal", true).unwrap();
        tick(&s, &mut checked, "proposal", "Send proposal", true).unwrap();
        assert_eq!(checked["proposal"], ["Send proposal", "Agree price"]);
        tick(&s, &mut checked, "proposal", "Send proposal", false).unwrap();
        assert_eq!(checked["proposal"], ["Agree price"]);
        tick(&s, &mut checked, "proposal", "Agree price", false).unwrap();
        assert!(checked.is_empty());
        assert!(matches!(
            tick(&s, &mut checked, "proposal", "Dance", true),
            Err(PipelineError::NoSuchItem { .. })
        ));
        assert!(matches!(
            tick(&s, &mut checked, "demo", "x", true),
            Err(PipelineError::NoSuchStage(_))
        ));
    }

    fn agent(role: Role) -> Agent {
        Agent {
            id: AgentId::new(),
            account_id: AccountId::DEFAULT,
            email: "a@example.com".into(),
            name: "A".into(),
            role,
            locale: "en".into(),
            skills: Skills::default(),
            capacity: Capacity::default(),
            active: true,
            device: Default::default(),
            display_name: None,
            avatar_at: None,
        }
    }

    #[test]
    fn who_sees_whose_opportunities() {
        let me = agent(Role::Agent);
        let mate = agent(Role::Agent);
        let stranger = agent(Role::Agent);
        let lead = agent(Role::Supervisor);
        let admin = agent(Role::Admin);
        let team = Team {
            id: TeamId::new(),
            name: "North".into(),
            leads: vec![lead.id],
            members: vec![me.id, mate.id],
            queues: vec![],
        };
        let teams = [team];
        let own = view(&me, &teams, Visibility::Own);
        let shared = view(&me, &teams, Visibility::Team);
        let sup = view(&lead, &teams, Visibility::Own);
        let all = view(&admin, &teams, Visibility::Own);
        // (view, opportunity owner, customer owner, sees)
        let cases: &[(&PipelineView, AgentId, Option<AgentId>, bool)] = &[
            (&own, me.id, None, true),
            (&own, stranger.id, Some(me.id), true),
            (&own, mate.id, None, false),
            (&own, mate.id, Some(stranger.id), false),
            (&shared, mate.id, None, true),
            (&shared, stranger.id, Some(mate.id), true),
            (&shared, stranger.id, None, false),
            (&sup, mate.id, None, true),
            (&sup, stranger.id, None, false),
            (&all, stranger.id, None, true),
        ];
        for (i, (v, owner, customer, want)) in cases.iter().enumerate() {
            assert_eq!(v.sees(*owner, *customer), *want, "case {i}");
        }
        // A supervisor of an account without teams sees all of it.
        assert_eq!(view(&lead, &[], Visibility::Own), PipelineView::All);
        // An agent without a team sees their own even under `team`.
        assert_eq!(
            view(&stranger, &teams, Visibility::Team),
            PipelineView::Agents(HashSet::from([stranger.id]))
        );
    }
}
