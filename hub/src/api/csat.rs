//! Customer satisfaction at the API's edge: a customer's rating, from the widget's `csat` frame
//! (`ws_chat`), checked by `crate::csat` and kept by the store with its line on the customer's
//! timeline. The figures for managers are in `reports`.

use super::{ApiError, AppState};
use crate::csat::{self, Rating, Refusal, Score};
use crate::domain::{AccountId, InteractionId, now_millis};

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        match r {
            Refusal::BadScore | Refusal::LongComment => ApiError::BadRequest(r.to_string()),
            Refusal::NotAsked | Refusal::NotEnded | Refusal::NoAgent => ApiError::InvalidState(r.to_string()),
        }
    }
}

/// Rates an ended interaction for its customer. One rating per interaction: a second changes
/// nothing and answers the first (`false`).
pub(super) async fn rate(
    state: &AppState,
    account: AccountId,
    id: InteractionId,
    score: i64,
    comment: Option<&str>,
) -> Result<(Rating, bool), ApiError> {
    let score = Score::try_from(score)?;
    let comment = csat::comment(comment)?;
    if let Some(kept) = state.store.rating(account, id).await? {
        return Ok((kept, false));
    }
    let interaction = state.store.interaction(account, id).await?;
    let queue = state.store.queue(account, interaction.queue_id).await?;
    let agent = csat::may_rate(&interaction, &queue)?;
    let name = state.store.agent(account, agent).await?.name;
    let rating = Rating::of(&interaction, agent, score, comment, now_millis());
    Ok(state.store.rate(account, &rating, &name).await?)
}
