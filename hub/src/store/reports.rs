//! The store's side of reports: the account's rules for counting, the lines of a date range
//! from the interaction log and the agents' presence log, handed to `crate::reports` to count,
//! and the teams that decide which supervisor sees which of them (`crate::teams`).

use super::Result;
use crate::domain::{AccountId, CustomerId, Millis, TeamId};
use crate::reports::{ContactLog, PresenceLine};
use crate::teams::Team;
use serde::{Deserialize, Serialize};

/// How an account's reports count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportSettings {
    /// The IANA time zone days and intervals are cut in ("Europe/Berlin").
    pub time_zone: String,
    /// An abandon after less wait than this is short: left out of the service level and the
    /// abandonment rate.
    pub short_abandon_secs: u32,
    /// A handled contact is resolved at first contact when the customer does not come back
    /// within this many hours.
    pub fcr_window_hours: u32,
}

#[async_trait::async_trait]
pub trait ReportStore: Send + Sync + 'static {
    async fn report_settings(&self, account: AccountId) -> Result<ReportSettings>;
    async fn set_report_settings(&self, account: AccountId, settings: &ReportSettings) -> Result<()>;
    /// The whole log of every interaction with a line in `[from, to)`.
    async fn contact_logs(&self, account: AccountId, from: Millis, to: Millis) -> Result<Vec<ContactLog>>;
    /// Who arrived in `[from, to)` (each interaction's customer and arrival), for first-contact
    /// resolution.
    async fn arrivals(
        &self,
        account: AccountId,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<(CustomerId, Millis)>>;
    /// The presence lines of `[from, to)`, after each agent's last line before `from`, in order.
    async fn presence_lines(&self, account: AccountId, from: Millis, to: Millis)
    -> Result<Vec<PresenceLine>>;
    /// The account's teams, by name.
    async fn teams(&self, account: AccountId) -> Result<Vec<Team>>;
    /// Creates the team, or replaces the one with its id. `Conflict` when another team of the
    /// account has its name.
    async fn put_team(&self, account: AccountId, team: &Team, at: Millis) -> Result<()>;
    /// `NotFound` when the account has no such team.
    async fn delete_team(&self, account: AccountId, id: TeamId) -> Result<()>;
}
