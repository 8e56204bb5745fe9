//! The store's side of customer relationships: owners (set by rules, a supervisor or a
//! hand-over, each change an event on the customer's timeline), hand-overs and the leaves they
//! cover, assignment rules, and follow-ups with the schedule their reminders run on.

use super::Result;
use crate::crm::followups::{FollowUp, FollowUpKind};
use crate::crm::rules::AssignmentRule;
use crate::domain::{AccountId, AgentId, Customer, CustomerId, FollowUpId, HandoverId, Millis, SegmentId};
use serde::Serialize;
use std::collections::HashMap;

/// What can happen to a customer outside its interactions, as its log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerEventKind {
    /// `{from, to, by, reason, rule, handover_id}`, each agent as `{id, name}` or null.
    OwnerChanged,
    /// `{follow_up_id, kind, title, due_at, owner, by}`.
    FollowUpCreated,
    /// `{follow_up_id, kind, title, due_at, by}`.
    FollowUpDone,
    FollowUpCancelled,
    /// `{interaction_id, score, comment, agent: {id, name}, queue_id, channel}`.
    CsatRated,
    /// `{from, to, by}`: lifecycle stage keys (or null) and the agent as `{id, name}`.
    StageChanged,
    /// `{opportunity_id, name, amount, currency, stage, owner, by}`.
    OpportunityCreated,
    /// `{opportunity_id, name, amount, currency, from, to, by}`: to an open stage.
    OpportunityMoved,
    /// The same, to a stage that wins it.
    OpportunityWon,
    /// The same, to a stage that loses it.
    OpportunityLost,
}

impl CustomerEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerEventKind::OwnerChanged => "customer.owner_changed",
            CustomerEventKind::FollowUpCreated => "follow_up.created",
            CustomerEventKind::FollowUpDone => "follow_up.done",
            CustomerEventKind::FollowUpCancelled => "follow_up.cancelled",
            CustomerEventKind::CsatRated => "csat.rated",
            CustomerEventKind::StageChanged => "customer.stage_changed",
            CustomerEventKind::OpportunityCreated => "opportunity.created",
            CustomerEventKind::OpportunityMoved => "opportunity.stage_changed",
            CustomerEventKind::OpportunityWon => "opportunity.won",
            CustomerEventKind::OpportunityLost => "opportunity.lost",
        }
    }
}

/// One line of a customer's own log (beside its interactions' logs).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustomerEvent {
    pub id: i64,
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    /// Dot-case, e.g. `customer.owner_changed`.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub at: Millis,
}

/// Who changes owners, and why: written on every customer's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerChangeBy {
    /// `None`: the hub itself (assignment rules, a leave ending).
    pub agent: Option<(AgentId, String)>,
    pub reason: String,
    /// The rule (numbered from 1) that chose the owner, when one did.
    pub rule: Option<usize>,
}

/// Owners to set in one commit: each customer goes from `from` (it is skipped when its owner is
/// no longer that: someone changed it meanwhile) to `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerMove {
    pub customer: CustomerId,
    pub from: Option<AgentId>,
    pub to: Option<AgentId>,
}

/// How the moves of one commit relate to leaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lending {
    /// An ordinary change: any leave the customer was lent for ends for it.
    None,
    /// Lent for a leave: `from` stays the home owner, and the customer (and the open follow-ups
    /// that move with it) go back when this hand-over returns.
    Lend(HandoverId),
    /// A leave's end: the customers go home with their open follow-ups (those lent, and those
    /// the colleague covering had on them), and the lending is forgotten.
    Return(HandoverId),
}

/// A hand-over as it is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Handover {
    #[schema(value_type = String)]
    pub id: HandoverId,
    #[schema(value_type = String)]
    pub from_agent: AgentId,
    /// What was asked (targets, filter, spread), as given.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    pub reason: String,
    #[schema(value_type = String)]
    pub created_by: AgentId,
    pub created_at: Millis,
    /// The end of a leave; `None` for good.
    pub until: Option<Millis>,
    pub returned_at: Option<Millis>,
    /// How many customers it moved.
    pub moved: u64,
}

/// What an agent is responsible for, which deactivating them would leave with nobody.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Holdings {
    /// Customers they own.
    pub customers: u64,
    /// Their customers lent to colleagues for a leave, coming back to them.
    pub lent_out: u64,
    /// Open follow-ups they own or will get back after a leave.
    pub follow_ups: u64,
    /// Open opportunities they own.
    pub opportunities: u64,
}

/// A new follow-up.
#[derive(Debug, Clone)]
pub struct NewFollowUp {
    pub customer: CustomerId,
    pub owner: AgentId,
    pub kind: FollowUpKind,
    pub title: String,
    pub due_at: Millis,
    pub created_by: AgentId,
}

#[async_trait::async_trait]
pub trait CrmStore: Send + Sync {
    // --- owners ---
    /// Applies owner moves in one transaction and writes `customer.owner_changed` (with `by`)
    /// on each moved customer's log; open follow-ups and open opportunities of a moved customer
    /// owned by its `from` move with it. Answers the customers that moved (those whose owner was still `from`).
    async fn move_owners(
        &self,
        account: AccountId,
        moves: &[OwnerMove],
        lending: Lending,
        by: &OwnerChangeBy,
        at: Millis,
    ) -> Result<Vec<CustomerId>>;
    /// Customers an agent owns, oldest first.
    async fn owned_customers(&self, account: AccountId, agent: AgentId) -> Result<Vec<Customer>>;
    /// How many customers each of these agents owns.
    async fn owner_loads(&self, account: AccountId, agents: &[AgentId]) -> Result<HashMap<AgentId, u64>>;
    async fn holdings(&self, account: AccountId, agent: AgentId) -> Result<Holdings>;
    /// Over every account: customers owned (or lent out) by a deactivated agent, open
    /// follow-ups owned by one, and open opportunities owned by one. What a hand-over before
    /// deactivation must leave at zero.
    async fn orphans(&self) -> Result<(u64, u64, u64)>;
    async fn customer_events(&self, account: AccountId, customer: CustomerId) -> Result<Vec<CustomerEvent>>;
    /// Appends a line to a customer's own log.
    async fn log_customer(
        &self,
        account: AccountId,
        customer: CustomerId,
        kind: CustomerEventKind,
        data: &serde_json::Value,
        at: Millis,
    ) -> Result<()>;

    // --- assignment rules ---
    async fn assignment_rules(&self, account: AccountId) -> Result<Vec<AssignmentRule>>;
    async fn set_assignment_rules(
        &self,
        account: AccountId,
        rules: &[AssignmentRule],
        at: Millis,
    ) -> Result<()>;

    // --- the account's own customer fields ---
    async fn customer_fields(&self, account: AccountId) -> Result<Vec<crate::crm::fields::FieldDef>>;
    /// Replaces the account's field definitions (checked by `crm::fields::check_defs`).
    async fn set_customer_fields(
        &self,
        account: AccountId,
        fields: &[crate::crm::fields::FieldDef],
        at: Millis,
    ) -> Result<()>;

    // --- segments ---
    /// The account's segments, by name.
    async fn segments(&self, account: AccountId) -> Result<Vec<crate::crm::segments::Segment>>;
    async fn segment(&self, account: AccountId, id: SegmentId) -> Result<crate::crm::segments::Segment>;
    /// Adds a segment or replaces the one with its id; `Conflict` for a name another one has.
    async fn save_segment(&self, account: AccountId, segment: &crate::crm::segments::Segment) -> Result<()>;
    /// `NotFound` when there is none.
    async fn delete_segment(&self, account: AccountId, id: SegmentId) -> Result<()>;

    // --- hand-overs ---
    async fn create_handover(&self, account: AccountId, handover: &Handover) -> Result<()>;
    async fn handover(&self, account: AccountId, id: HandoverId) -> Result<Handover>;
    async fn handovers(&self, account: AccountId) -> Result<Vec<Handover>>;
    /// Customers lent by a hand-over still: each with its owner now and the home owner it goes
    /// back to.
    async fn lent_customers(
        &self,
        account: AccountId,
        id: HandoverId,
    ) -> Result<Vec<(CustomerId, Option<AgentId>, AgentId)>>;
    /// Marks a leave returned; `false` when it was already (another node, or a supervisor).
    async fn finish_handover(&self, account: AccountId, id: HandoverId, at: Millis) -> Result<bool>;
    /// Leaves whose end passed at `now` and which have not returned, every account.
    async fn due_returns(&self, now: Millis) -> Result<Vec<(AccountId, HandoverId)>>;

    // --- follow-ups ---
    async fn create_follow_up(&self, account: AccountId, new: NewFollowUp, at: Millis) -> Result<FollowUp>;
    async fn follow_up(&self, account: AccountId, id: FollowUpId) -> Result<FollowUp>;
    /// A customer's follow-ups, by due time.
    async fn customer_follow_ups(&self, account: AccountId, customer: CustomerId) -> Result<Vec<FollowUp>>;
    /// An agent's open follow-ups due before `before`, by due time.
    async fn agent_follow_ups(
        &self,
        account: AccountId,
        agent: AgentId,
        before: Millis,
    ) -> Result<Vec<FollowUp>>;
    /// Every open follow-up of the account overdue at `now`, by due time.
    async fn overdue_follow_ups(&self, account: AccountId, now: Millis) -> Result<Vec<FollowUp>>;
    /// Closes an open follow-up (done or cancelled) with `follow_up.done` on the customer's log;
    /// `Conflict` when it is closed already.
    async fn close_follow_up(
        &self,
        account: AccountId,
        id: FollowUpId,
        done: bool,
        by: (AgentId, &str),
        at: Millis,
    ) -> Result<FollowUp>;
    /// Claims follow-ups whose `next_at` passed at `now`, moving it to `claimed_until` so no
    /// other scheduler takes them meanwhile (the claim lapses if this one dies).
    async fn claim_follow_ups(
        &self,
        now: Millis,
        claimed_until: Millis,
        limit: u32,
    ) -> Result<Vec<(AccountId, FollowUp)>>;
    /// Records what the scheduler did with a claimed follow-up and when it looks again.
    async fn follow_up_stepped(
        &self,
        account: AccountId,
        id: FollowUpId,
        reminded_at: Option<Millis>,
        escalated_at: Option<Millis>,
        next_at: Option<Millis>,
    ) -> Result<()>;
}
