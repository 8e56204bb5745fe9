//! Customer relationships around the profile: who owns a customer (the account's rules for a new
//! one, a supervisor's reassignment, a hand-over for a leave or for good) and the follow-ups on
//! them. Intake calls `assign_new` once it has created a customer; the REST API calls the rest;
//! `Scheduler` (on every node, each due item claimed by one) reminds, escalates and ends leaves.
//! The decisions are the pure `rules` and `followups`; this is the IO around them.

pub mod export;
pub mod fields;
pub mod followups;
pub mod import;
pub mod mentions;
pub mod pipeline;
pub mod rules;
pub mod segments;

use crate::bus::{AgentFrame, Bus};
use crate::domain::{AccountId, Agent, AgentId, Customer, CustomerId, HandoverId, Millis, Role, now_millis};
use crate::store::{DynStore, Handover, Lending, OwnerChangeBy, OwnerMove, Result, StoreError};
use rules::{Facts, HandoverFilter, Spread};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// What the rules know of a customer (and the entry point a new one came in by).
pub fn facts(customer: &Customer, entry_point: Option<&str>) -> Facts {
    Facts {
        region: customer.phone.as_deref().and_then(rules::phone_region),
        tags: customer.tags.clone(),
        tier: customer.tier.clone(),
        entry_point: entry_point.map(str::to_string),
    }
}

async fn active_agents(store: &DynStore, account: AccountId) -> Result<HashSet<AgentId>> {
    Ok(store
        .agents(account)
        .await?
        .into_iter()
        .filter(|a| a.active)
        .map(|a| a.id)
        .collect())
}

/// Gives a customer just created an owner by the account's rules (none when no rule matches);
/// the change is on their timeline with the rule that made it. Answers the owner.
pub async fn assign_new(
    store: &DynStore,
    account: AccountId,
    customer: &Customer,
    entry_point: Option<&str>,
) -> Result<Option<AgentId>> {
    let rules = store.assignment_rules(account).await?;
    if rules.is_empty() || customer.owner_id.is_some() {
        return Ok(None);
    }
    let active = active_agents(store, account).await?;
    let facts = facts(customer, entry_point);
    let Some((_, rule)) = rules::first_match(&rules, &facts, &active) else {
        return Ok(None);
    };
    let set: Vec<AgentId> = rule.agents.iter().map(|a| a.agent_id).collect();
    let load = store.owner_loads(account, &set).await?;
    let Some((owner, rule)) = rules::assign(&rules, &facts, &load, &active) else {
        return Ok(None);
    };
    let by = OwnerChangeBy {
        agent: None,
        reason: "assignment rules".into(),
        rule: Some(rule),
    };
    let moved = store
        .move_owners(
            account,
            &[OwnerMove {
                customer: customer.id,
                from: None,
                to: Some(owner),
            }],
            Lending::None,
            &by,
            now_millis(),
        )
        .await?;
    Ok((!moved.is_empty()).then_some(owner))
}

/// Why a change of owners is refused.
#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The new owner must be an active agent of the account.
async fn active_owner(store: &DynStore, account: AccountId, id: AgentId) -> Result<Agent, CrmError> {
    let agent = store.agent(account, id).await?;
    if !agent.active {
        return Err(CrmError::Invalid(format!("{} is deactivated", agent.name)));
    }
    Ok(agent)
}

fn by_agent(me: &Agent, reason: &str) -> OwnerChangeBy {
    OwnerChangeBy {
        agent: Some((me.id, me.name.clone())),
        reason: reason.trim().to_string(),
        rule: None,
    }
}

/// A supervisor gives customers (one, or a selection from a search) to `to` (or to nobody).
/// Answers those whose owner changed; a customer already `to`'s is left alone.
pub async fn reassign(
    store: &DynStore,
    me: &Agent,
    customers: &[CustomerId],
    to: Option<AgentId>,
    reason: &str,
) -> Result<Vec<CustomerId>, CrmError> {
    let account = me.account_id;
    if let Some(to) = to {
        active_owner(store, account, to).await?;
    }
    let mut moves = Vec::with_capacity(customers.len());
    for &id in customers {
        let c = store.customer(account, id).await?;
        if c.owner_id != to {
            moves.push(OwnerMove {
                customer: id,
                from: c.owner_id,
                to,
            });
        }
    }
    Ok(store
        .move_owners(
            account,
            &moves,
            Lending::None,
            &by_agent(me, reason),
            now_millis(),
        )
        .await?)
}

/// What a supervisor asks of a hand-over.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HandoverRequest {
    /// The agents taking the customers (one or several).
    #[schema(value_type = Vec<String>)]
    pub to: Vec<AgentId>,
    #[serde(default = "even")]
    pub spread: Spread,
    /// Which customers move; all when empty.
    #[serde(default)]
    pub filter: HandoverFilter,
    /// For a leave: when the customers come back (epoch ms). Absent: for good.
    #[serde(default)]
    pub until: Option<Millis>,
    pub reason: String,
}

fn even() -> Spread {
    Spread::Even
}

/// Moves an agent's customers (those the filter admits) to others as the request asks, with
/// their open follow-ups; for a leave they come back at `until` (`Scheduler`) or when a
/// supervisor ends it (`return_from_leave`). Answers the hand-over as recorded.
pub async fn handover(
    store: &DynStore,
    me: &Agent,
    from: AgentId,
    req: HandoverRequest,
) -> Result<Handover, CrmError> {
    let account = me.account_id;
    store.agent(account, from).await?;
    if req.to.is_empty() {
        return Err(CrmError::Invalid(
            "a hand-over needs someone to take the customers".into(),
        ));
    }
    if req.to.contains(&from) {
        return Err(CrmError::Invalid(
            "an agent cannot hand customers over to themselves".into(),
        ));
    }
    let now = now_millis();
    if req.until.is_some_and(|u| u <= now) {
        return Err(CrmError::Invalid("a leave must end in the future".into()));
    }
    for &to in &req.to {
        active_owner(store, account, to).await?;
    }
    let customers = store.owned_customers(account, from).await?;
    let facts: Vec<(CustomerId, Facts)> = customers.iter().map(|c| (c.id, facts(c, None))).collect();
    let rules = match req.spread {
        Spread::Rules => store.assignment_rules(account).await?,
        Spread::Even => vec![],
    };
    let (active, load) =
        futures_util::try_join!(active_agents(store, account), store.owner_loads(account, &req.to))?;
    let plan = rules::plan_handover(&facts, &req.filter, &req.to, req.spread, &rules, &load, &active);
    let id = HandoverId::new();
    let mut record = Handover {
        id,
        from_agent: from,
        spec: serde_json::json!({"to": req.to, "spread": req.spread, "filter": req.filter}),
        reason: req.reason.trim().to_string(),
        created_by: me.id,
        created_at: now,
        until: req.until,
        returned_at: None,
        moved: plan.len() as u64,
    };
    // Recorded first: customers lent by a hand-over that a crash left unrecorded would never
    // come back.
    store.create_handover(account, &record).await?;
    let moves: Vec<OwnerMove> = plan
        .into_iter()
        .map(|(customer, to)| OwnerMove {
            customer,
            from: Some(from),
            to: Some(to),
        })
        .collect();
    let lending = match req.until {
        Some(_) => Lending::Lend(id),
        None => Lending::None,
    };
    let reason = if record.reason.is_empty() {
        "hand-over"
    } else {
        &record.reason
    };
    let moved = store
        .move_owners(account, &moves, lending, &by_agent(me, reason), now)
        .await?;
    record.moved = moved.len() as u64;
    if req.until.is_none() {
        give_opportunities_to_customer_owners(store, account, from, now).await?;
    }
    Ok(record)
}

/// For good: the open opportunities `from` still owns on customers someone else owns go to that
/// owner (those on `from`'s own customers moved with them), so nothing is left to a leaver.
async fn give_opportunities_to_customer_owners(
    store: &DynStore,
    account: AccountId,
    from: AgentId,
    at: Millis,
) -> Result<()> {
    use crate::crm::pipeline::OpportunityStatus;
    for o in store.opportunities(account, None).await? {
        let Some(owner) = o.customer_owner_id.filter(|&c| c != from) else {
            continue;
        };
        if o.owner_id == from && o.status == OpportunityStatus::Open {
            let patch = crate::store::OpportunityPatch {
                owner: Some(owner),
                ..Default::default()
            };
            store.update_opportunity(account, o.id, patch, at).await?;
        }
    }
    Ok(())
}

/// Ends a leave: every customer still lent by hand-over `id` goes back to its home owner with its
/// open follow-ups. `by` is the supervisor ending it early, `None` when its time came. Answers
/// how many came back; a leave already ended answers `Conflict`.
pub async fn return_from_leave(
    store: &DynStore,
    account: AccountId,
    id: HandoverId,
    by: Option<&Agent>,
) -> Result<usize, CrmError> {
    let h = store.handover(account, id).await?;
    if h.until.is_none() {
        return Err(CrmError::Invalid(
            "this hand-over was for good: nothing comes back".into(),
        ));
    }
    let now = now_millis();
    if !store.finish_handover(account, id, now).await? {
        return Err(StoreError::Conflict {
            constraint: "handovers_returned".into(),
        }
        .into());
    }
    let moves: Vec<OwnerMove> = store
        .lent_customers(account, id)
        .await?
        .into_iter()
        .map(|(customer, owner, home)| OwnerMove {
            customer,
            from: owner,
            to: Some(home),
        })
        .collect();
    let who = match by {
        Some(me) => by_agent(me, "back from leave"),
        None => OwnerChangeBy {
            agent: None,
            reason: "back from leave".into(),
            rule: None,
        },
    };
    Ok(store
        .move_owners(account, &moves, Lending::Return(id), &who, now)
        .await?
        .len())
}

/// How often the scheduler looks for due work, and how long a claim holds.
const TICK: Duration = Duration::from_secs(1);
const CLAIM: Millis = 60_000;
const BATCH: u32 = 100;

/// Reminds owners of follow-ups when due, escalates overdue ones to the account's supervisors,
/// and returns customers at the end of a leave. Everything it acts on is in the store (a
/// restart takes up what is due), and each follow-up is claimed by one node.
pub struct Scheduler {
    pub store: DynStore,
    pub bus: Bus,
    /// After how long past its due time an open follow-up goes to the supervisors.
    pub escalate_after: Duration,
}

impl Scheduler {
    pub async fn run(self) {
        loop {
            if let Err(e) = self.tick(now_millis()).await {
                tracing::warn!(error = %e, "follow-up scheduler");
            }
            tokio::time::sleep(TICK).await;
        }
    }

    /// One look at what is due at `now`.
    pub async fn tick(&self, now: Millis) -> Result<(), CrmError> {
        let escalate_after = self.escalate_after.as_millis() as Millis;
        let mut supervisors: HashMap<AccountId, Vec<AgentId>> = HashMap::new();
        for (account, f) in self.store.claim_follow_ups(now, now + CLAIM, BATCH).await? {
            let (action, next) = followups::step(&f, now, escalate_after);
            let (mut reminded, mut escalated) = (None, None);
            match action {
                Some(followups::Action::Remind) => {
                    reminded = Some(now);
                    self.bus
                        .to_agent(f.owner_id, AgentFrame::FollowUpDue { follow_up: f.clone() });
                }
                Some(followups::Action::Escalate) => {
                    escalated = Some(now);
                    if let std::collections::hash_map::Entry::Vacant(e) = supervisors.entry(account) {
                        let agents = self.store.agents(account).await?;
                        e.insert(
                            agents
                                .into_iter()
                                .filter(|a| a.active && a.role >= Role::Supervisor)
                                .map(|a| a.id)
                                .collect(),
                        );
                    }
                    for &s in &supervisors[&account] {
                        self.bus
                            .to_agent(s, AgentFrame::FollowUpEscalated { follow_up: f.clone() });
                    }
                }
                None => {}
            }
            self.store
                .follow_up_stepped(account, f.id, reminded, escalated, next)
                .await?;
        }
        for (account, id) in self.store.due_returns(now).await? {
            match return_from_leave(&self.store, account, id, None).await {
                // Another node (or a supervisor) ended it first.
                Ok(_) | Err(CrmError::Store(StoreError::Conflict { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// What an import did (or, tried dry, would do) with each row.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// The data rows read (the header not counted).
    pub rows: usize,
    pub created: usize,
    /// Known customers (by email or phone) given the row's tier, tags and fields.
    pub updated: usize,
    /// Known customers left as they were.
    pub skipped: Vec<ImportRow>,
    pub rejected: Vec<ImportRow>,
}

/// One row an import left out, by its line in the spreadsheet (the header is line 1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportRow {
    pub line: usize,
    #[schema(value_type = Option<String>)]
    pub customer_id: Option<CustomerId>,
    pub reason: String,
}

/// What an import does with a row whose email or phone a customer already has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Duplicates {
    #[default]
    Skip,
    Update,
}

/// The customer one of these normalised identities belongs to already.
async fn known_by(
    store: &DynStore,
    account: AccountId,
    identities: &[(String, String)],
) -> Result<Option<Customer>> {
    for (kind, value) in identities {
        for c in store.search_customers(account, value, 5).await? {
            let theirs = store.customer_identities(account, c.id).await?;
            if theirs.iter().any(|(k, v)| k == kind && v == value) {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

/// Imports rows (after the header) as customers by the column mapping: a row refused by
/// `import::candidate`, with an unreadable email or phone, or repeating an earlier row's is
/// rejected with the reason; one a customer has already is skipped or updated; the rest become
/// new customers, owned by the account's rules. `defs`: the account's customer fields, which
/// `columns` were read against. A dry run writes nothing.
pub async fn import_customers(
    store: &DynStore,
    account: AccountId,
    rows: &[Vec<String>],
    columns: &[import::Column],
    defs: &[fields::FieldDef],
    (duplicates, dry_run): (Duplicates, bool),
    default_region: &str,
) -> Result<ImportReport> {
    let mut report = ImportReport {
        dry_run,
        rows: rows.len(),
        ..Default::default()
    };
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (n, row) in rows.iter().enumerate() {
        let line = n + 2;
        let reject = |reason: String| ImportRow {
            line,
            customer_id: None,
            reason,
        };
        let candidate = match import::candidate(row, columns, defs) {
            Ok(c) => c,
            Err(why) => {
                report.rejected.push(reject(why));
                continue;
            }
        };
        let identities = match crate::profile::normalise(&candidate.identities, default_region, false) {
            Ok(i) => i,
            Err(e) => {
                report.rejected.push(reject(e.to_string()));
                continue;
            }
        };
        if let Some(first) = identities.iter().find_map(|i| seen.get(i)) {
            report
                .rejected
                .push(reject(format!("the same email or phone as line {first}")));
            continue;
        }
        for i in &identities {
            seen.insert(i.clone(), line);
        }
        let patch = crate::store::CustomerPatch {
            name: None,
            tier: candidate.tier.clone(),
            tags: (!candidate.tags.is_empty()).then(|| candidate.tags.clone()),
            fields: (!candidate.fields.is_empty()).then(|| candidate.fields.clone()),
        };
        let changes = patch.tier.is_some() || patch.tags.is_some() || patch.fields.is_some();
        match known_by(store, account, &identities).await? {
            Some(known) if duplicates == Duplicates::Skip => report.skipped.push(ImportRow {
                line,
                customer_id: Some(known.id),
                reason: format!("already a customer: {}", known.name),
            }),
            Some(known) => {
                if !dry_run && changes {
                    store.update_customer(account, known.id, patch).await?;
                }
                report.updated += 1;
            }
            None => {
                if !dry_run {
                    let mut customer = store
                        .resolve_customer(account, &identities, Some(&candidate.name))
                        .await?;
                    if changes {
                        customer = store.update_customer(account, customer.id, patch).await?;
                    }
                    assign_new(store, account, &customer, None).await?;
                }
                report.created += 1;
            }
        }
    }
    Ok(report)
}
