//! The customer profile side of intake: identities normalised and resolved to one customer, and
//! the card the console pops when a contact is offered.

use crate::bus::frames::Card;
use crate::domain::{AccountId, CustomerId, RawIdentity, normalise_identity};
use crate::store::{DynStore, StoreError};

/// How many past contacts the card shows.
pub const CARD_RECENT: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Identity(#[from] crate::domain::IdentityError),
    #[error("a contact needs at least one identity")]
    NoIdentity,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The customer these identities belong to, created if nobody has them yet.
pub async fn resolve(
    store: &DynStore,
    account: AccountId,
    identities: &[RawIdentity],
    name: Option<&str>,
    default_region: &str,
) -> Result<crate::domain::Customer, ProfileError> {
    let normalised = normalise(identities, default_region)?;
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    Ok(store.resolve_customer(account, &normalised, name).await?)
}

/// Identities as the store keys them (`kind`, `value`); a contact needs at least one.
pub fn normalise(
    identities: &[RawIdentity],
    default_region: &str,
) -> Result<Vec<(String, String)>, ProfileError> {
    let normalised = identities
        .iter()
        .map(|raw| normalise_identity(raw, default_region))
        .collect::<Result<Vec<_>, _>>()?;
    if normalised.is_empty() {
        return Err(ProfileError::NoIdentity);
    }
    Ok(normalised)
}

pub async fn card(store: &DynStore, account: AccountId, customer: CustomerId) -> Result<Card, StoreError> {
    Ok(Card {
        customer: store.customer(account, customer).await?,
        recent: store
            .customer_interactions(account, customer, CARD_RECENT)
            .await?,
        notes: store.notes(account, customer).await?,
    })
}
