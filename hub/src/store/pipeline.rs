//! The store's side of the pipeline: the account's pipeline settings, each customer's lifecycle
//! stage and the opportunities, every change a customer's timeline shows written in the same
//! transaction as the change. The decisions (what a move does, who sees what) are
//! `crm::pipeline`'s.

use super::Result;
use crate::crm::pipeline::{Lifecycle, Opportunity, OpportunityStatus, PipelineSettings, StageMove};
use crate::domain::{AccountId, AgentId, Customer, CustomerId, Millis, OpportunityId};
use std::collections::BTreeMap;

/// A new opportunity, checked by the caller (`crm::pipeline`).
#[derive(Debug, Clone)]
pub struct NewOpportunity {
    pub customer: CustomerId,
    pub name: String,
    pub amount: i64,
    pub currency: String,
    pub stage: String,
    pub status: OpportunityStatus,
    pub expected_close: Option<String>,
    pub owner: AgentId,
}

/// What changes on an opportunity besides its stage; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OpportunityPatch {
    pub name: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// `Some(None)` takes the date away.
    pub expected_close: Option<Option<String>>,
    pub owner: Option<AgentId>,
    pub checked: Option<BTreeMap<String, Vec<String>>>,
}

#[async_trait::async_trait]
pub trait PipelineStore: Send + Sync {
    /// The account's settings, or the defaults when an admin never set them.
    async fn pipeline_settings(&self, account: AccountId) -> Result<PipelineSettings>;
    /// Replaces them (checked by `crm::pipeline::check_settings`); audited like other admin
    /// changes.
    async fn set_pipeline_settings(
        &self,
        account: AccountId,
        settings: &PipelineSettings,
        at: Millis,
    ) -> Result<()>;
    /// Sets (or clears) a customer's lifecycle stage and, when it changed, writes
    /// `customer.stage_changed` `{from, to, by}` on their timeline. Answers the customer.
    async fn set_customer_stage(
        &self,
        account: AccountId,
        customer: CustomerId,
        stage: Option<Lifecycle>,
        by: (AgentId, &str),
        at: Millis,
    ) -> Result<Customer>;
    /// Creates an opportunity with `opportunity.created` on the customer's timeline. `NotFound`
    /// when the customer or the owner is not the account's.
    async fn create_opportunity(
        &self,
        account: AccountId,
        new: NewOpportunity,
        by: (AgentId, &str),
        at: Millis,
    ) -> Result<Opportunity>;
    async fn opportunity(&self, account: AccountId, id: OpportunityId) -> Result<Opportunity>;
    /// The account's opportunities (or one customer's), newest first.
    async fn opportunities(
        &self,
        account: AccountId,
        customer: Option<CustomerId>,
    ) -> Result<Vec<Opportunity>>;
    /// Moves an opportunity from `mv.from` to `mv.to` with its status, writing
    /// `opportunity.stage_changed` (or `opportunity.won`, `opportunity.lost`) on the customer's
    /// timeline. `Conflict` when it is no longer at `mv.from` (someone moved it meanwhile).
    async fn move_opportunity(
        &self,
        account: AccountId,
        id: OpportunityId,
        mv: &StageMove,
        by: (AgentId, &str),
        at: Millis,
    ) -> Result<Opportunity>;
    async fn update_opportunity(
        &self,
        account: AccountId,
        id: OpportunityId,
        patch: OpportunityPatch,
        at: Millis,
    ) -> Result<Opportunity>;
}
