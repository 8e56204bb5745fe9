//! The audit log: what admins and supervisors did, who, when and from where. Handlers write a
//! line for each such action through `Store::audited`, so that where the action is a store write
//! the line is committed in the same transaction as it (an action that did not happen leaves no
//! line, and one that did always has its line). Lines are only ever added (the tables refuse an
//! UPDATE or DELETE). Admins read it over `GET /audit`.

use super::Result;
use crate::domain::{AccountId, Agent, AgentId, Millis};
use serde::{Deserialize, Serialize};

/// One action in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Time-ordered (UUID v7): the log's order and its paging cursor.
    pub id: String,
    #[schema(value_type = String)]
    #[serde(skip)]
    pub account_id: AccountId,
    pub at: Millis,
    #[schema(value_type = String)]
    pub actor_id: AgentId,
    /// The actor's login when they acted (they may be renamed later).
    pub actor_email: String,
    /// Dot-case, as events are named: `queue.created`, `agent.deactivated`, `customer.erased`.
    pub action: String,
    /// What it was done to (an id, a disposition's code), when one thing.
    pub target: Option<String>,
    /// What changed, as a JSON object; never a password or a secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// The client's address behind the trusted proxies, as the login limits see it.
    pub client_addr: Option<String>,
}

impl AuditEntry {
    pub fn new(
        actor: &Agent,
        client_addr: Option<std::net::IpAddr>,
        action: &str,
        target: Option<String>,
        detail: serde_json::Value,
        at: Millis,
    ) -> Self {
        AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            account_id: actor.account_id,
            at,
            actor_id: actor.id,
            actor_email: actor.email.clone(),
            action: action.to_string(),
            target,
            detail: if detail.is_null() {
                serde_json::json!({})
            } else {
                detail
            },
            client_addr: client_addr.map(|a| a.to_string()),
        }
    }
}

/// Which lines to read: all filters optional, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<AgentId>,
    pub action: Option<String>,
    /// `at >= from`.
    pub from: Option<Millis>,
    /// `at < to`.
    pub to: Option<Millis>,
    /// The page after this entry (the last id of the page before).
    pub before: Option<String>,
    pub limit: u32,
}

/// The most lines one page holds.
pub const MAX_AUDIT_PAGE: u32 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next page starts (`before`), when there may be one.
    pub next: Option<String>,
}

#[async_trait::async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends a line on its own: for actions that are no store write of their own (or are
    /// several), written once they are done. Writing the same entry twice keeps one line.
    async fn audit(&self, entry: &AuditEntry) -> Result<()>;
    /// A page of an account's log, newest first.
    async fn audit_log(&self, account: AccountId, query: &AuditQuery) -> Result<AuditPage>;
}
