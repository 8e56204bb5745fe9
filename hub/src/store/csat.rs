//! The store's side of customer satisfaction and agent KPIs: one rating per interaction (kept
//! with a `csat.rated` line on the customer's log), the ratings a card or a report reads, and the
//! follow-ups done that the KPIs count. The figures are made in `crate::csat`.

use super::Result;
use crate::csat::{DoneFollowUp, Rating};
use crate::domain::{AccountId, CustomerId, InteractionId, Millis};

#[async_trait::async_trait]
pub trait CsatStore: Send + Sync {
    /// Keeps `rating` with `csat.rated` on its customer's log (`agent_name` as the log names
    /// the agent), in one transaction, unless its interaction has one already. Answers the
    /// rating kept and whether it is this one (`false`: the first stays as it was).
    async fn rate(&self, account: AccountId, rating: &Rating, agent_name: &str) -> Result<(Rating, bool)>;
    async fn rating(&self, account: AccountId, interaction: InteractionId) -> Result<Option<Rating>>;
    /// A customer's ratings, newest first.
    async fn customer_ratings(&self, account: AccountId, customer: CustomerId) -> Result<Vec<Rating>>;
    /// The account's ratings given in `[from, to)`.
    async fn ratings_between(&self, account: AccountId, from: Millis, to: Millis) -> Result<Vec<Rating>>;
    /// The follow-ups done in `[from, to)`, each with the owner it had when done.
    async fn follow_ups_done_between(
        &self,
        account: AccountId,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<DoneFollowUp>>;
}
