//! The store's side of reports: the account's rules for counting, the lines of a date range
//! from the interaction log and the agents' presence log, handed to `crate::reports` to count,
//! the per-15-minute cells `crate::reports::cells` keeps from them, and the teams that decide
//! which supervisor sees which of them (`crate::teams`).

use super::Result;
use crate::domain::{AccountId, AgentId, CustomerId, InteractionId, Millis, TeamId};
use crate::reports::{ContactLog, Dimension, PresenceLine, Tally};
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

/// How far an account's report cells are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellMark {
    /// The rules and time zone they were counted by (JSON).
    pub rules: String,
    /// The last interaction log line read (`interaction_events.id`).
    pub event_mark: i64,
    /// The last presence line read (`agent_events.id`).
    pub presence_mark: i64,
    /// The moment they were counted up to.
    pub counted_to: Millis,
}

/// Where an account's logs stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSpan {
    /// When its first interaction or presence line was stamped, if it has any.
    pub first_at: Option<Millis>,
    /// The last ids of either log (of any account: ids are shared).
    pub event_mark: i64,
    pub presence_mark: i64,
}

/// A counted interaction log line written after a mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub id: i64,
    pub interaction: InteractionId,
    pub customer: CustomerId,
    /// When its interaction arrived.
    pub arrived_at: Millis,
    pub at: Millis,
}

/// A presence line written after a mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPresence {
    pub id: i64,
    pub agent: AgentId,
    pub at: Millis,
}

/// One customer's interaction, for finding the contacts a return changes the first-contact
/// resolution of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub interaction: InteractionId,
    pub customer: CustomerId,
    pub arrived_at: Millis,
    /// When it last ended (`None` while under way).
    pub ended_at: Option<Millis>,
}

/// One report cell: a quarter-hour's tally of one key, or a day's sum of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub dimension: Dimension,
    /// The quarter-hour's start; for a day's sum, its first quarter-hour with anything in it.
    pub quarter: Millis,
    pub key: String,
    /// The local date of `quarter`.
    pub day: String,
    pub tally: Tally,
}

#[async_trait::async_trait]
pub trait ReportStore: Send + Sync + 'static {
    async fn report_settings(&self, account: AccountId) -> Result<ReportSettings>;
    async fn set_report_settings(&self, account: AccountId, settings: &ReportSettings) -> Result<()>;
    /// The whole log of every interaction with a line in `[from, to)`, or under way across it
    /// (arrived before, ended at or after `from` or not yet).
    async fn contact_logs(&self, account: AccountId, from: Millis, to: Millis) -> Result<Vec<ContactLog>>;
    /// The whole logs of these interactions.
    async fn interaction_logs(&self, account: AccountId, ids: &[InteractionId]) -> Result<Vec<ContactLog>>;
    /// When these customers arrived at or after `from` (each interaction's customer and
    /// arrival), for first-contact resolution.
    async fn arrivals(
        &self,
        account: AccountId,
        customers: &[CustomerId],
        from: Millis,
    ) -> Result<Vec<(CustomerId, Millis)>>;
    /// Every interaction of these customers.
    async fn visits(&self, account: AccountId, customers: &[CustomerId]) -> Result<Vec<Visit>>;
    /// The presence lines of `[from, to)`, after each agent's last line before `from`, in order.
    async fn presence_lines(&self, account: AccountId, from: Millis, to: Millis)
    -> Result<Vec<PresenceLine>>;
    async fn log_span(&self, account: AccountId) -> Result<LogSpan>;
    async fn cell_mark(&self, account: AccountId) -> Result<Option<CellMark>>;
    /// The counted interaction log lines and presence lines after the mark's ids, and those at or
    /// after `rescan_from` (a line committed after one with a higher id is found there).
    async fn news(
        &self,
        account: AccountId,
        mark: &CellMark,
        rescan_from: Millis,
    ) -> Result<(Vec<NewLine>, Vec<NewPresence>)>;
    /// In one transaction, if the account's mark is still `read`: replaces every cell of the
    /// account (`runs` = `None`) or those of the quarter-hours in the runs (`[start, end)` each)
    /// by `cells`, rolls up again the days' sums (all, or the local days the runs touch), and sets
    /// the mark to `mark`. `false` when the mark had moved (another node counted meanwhile):
    /// nothing is written.
    async fn put_cells(
        &self,
        account: AccountId,
        read: Option<&CellMark>,
        mark: &CellMark,
        runs: Option<(&[(Millis, Millis)], &[String])>,
        cells: &[Cell],
    ) -> Result<bool>;
    /// The cells of `dimension` whose quarter-hour starts in `[from, to)`, ordered by key.
    async fn cells(
        &self,
        account: AccountId,
        dimension: Dimension,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Cell>>;
    /// The days' sums of `dimension` from local day `first` to `last` (`YYYY-MM-DD`), ordered by
    /// key.
    async fn day_cells(
        &self,
        account: AccountId,
        dimension: Dimension,
        first: &str,
        last: &str,
    ) -> Result<Vec<Cell>>;
    /// The account's teams, by name.
    async fn teams(&self, account: AccountId) -> Result<Vec<Team>>;
    /// Creates the team, or replaces the one with its id. `Conflict` when another team of the
    /// account has its name.
    async fn put_team(&self, account: AccountId, team: &Team, at: Millis) -> Result<()>;
    /// `NotFound` when the account has no such team.
    async fn delete_team(&self, account: AccountId, id: TeamId) -> Result<()>;
}
