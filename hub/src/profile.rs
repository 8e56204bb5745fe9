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
    let normalised = normalise(identities, default_region, false)?;
    resolve_normalised(store, account, &normalised, name).await
}

/// `resolve` for identities already normalised.
pub async fn resolve_normalised(
    store: &DynStore,
    account: AccountId,
    identities: &[(String, String)],
    name: Option<&str>,
) -> Result<crate::domain::Customer, ProfileError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    Ok(store.resolve_customer(account, identities, name).await?)
}

/// Identities as the store keys them (`kind`, `value`); a contact needs at least one. With
/// `readable_only`, those that cannot be read are left out, as long as one can be.
pub fn normalise(
    identities: &[RawIdentity],
    default_region: &str,
    readable_only: bool,
) -> Result<Vec<(String, String)>, ProfileError> {
    let mut normalised = Vec::with_capacity(identities.len());
    let mut unreadable = None;
    for raw in identities {
        match normalise_identity(raw, default_region) {
            Ok(identity) => normalised.push(identity),
            Err(e) if readable_only => {
                unreadable.get_or_insert(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    match unreadable {
        Some(e) if normalised.is_empty() => Err(e.into()),
        _ if normalised.is_empty() => Err(ProfileError::NoIdentity),
        _ => Ok(normalised),
    }
}

/// The event on a conversation's log when an agent links its customer to another
/// (`link`): who did it, and who the customer was and became.
pub const LINKED: &str = "customer.linked";

/// An agent found that the customer of conversation `interaction` is `into`, someone already
/// known (the same person on WhatsApp and by phone, a visitor whose claim they checked): the
/// conversation's customer is merged into `into` (`Store::merge_customer`: identities, so their
/// next messages come to `into`, and history), with `LINKED` on the conversation's log in the
/// same commit. Answers `into`'s card.
pub async fn link(
    store: &DynStore,
    agent: &crate::domain::Agent,
    interaction: &crate::domain::Interaction,
    into: CustomerId,
) -> Result<Card, StoreError> {
    let account = agent.account_id;
    let (from, to) = futures_util::try_join!(
        store.customer(account, interaction.customer_id),
        store.customer(account, into),
    )?;
    let log = crate::store::Write::Log {
        account,
        id: interaction.id,
        kind: LINKED.into(),
        data: serde_json::json!({
            "agent_id": agent.id, "agent_name": agent.name,
            "from": {"id": from.id, "name": from.name},
            "into": {"id": to.id, "name": to.name},
        }),
        at: crate::domain::now_millis(),
    };
    store.merge_customer(account, from.id, into, &[log]).await?;
    card(store, account, into).await
}

pub async fn card(store: &DynStore, account: AccountId, customer: CustomerId) -> Result<Card, StoreError> {
    // Read side by side: the dispatcher's publisher waits for the card before the next frame.
    let (customer, recent, notes, ratings) = futures_util::try_join!(
        store.customer(account, customer),
        store.customer_interactions(account, customer, CARD_RECENT),
        store.notes(account, customer),
        store.customer_ratings(account, customer),
    )?;
    Ok(Card {
        customer,
        recent,
        notes,
        csat: crate::csat::customer(&ratings),
    })
}

#[cfg(test)]
mod tests {
    use super::{ProfileError, normalise};
    use crate::domain::RawIdentity;

    #[test]
    fn unreadable_identities_are_left_out_only_when_asked_and_one_is_readable() {
        let wa = RawIdentity::Platform {
            platform: "whatsapp".into(),
            id: "999123".into(),
        };
        let odd_number = RawIdentity::Phone("999123".into());
        let number = RawIdentity::Phone("+86 138 0013 8000".into());
        let platform = ("platform:whatsapp".to_string(), "999123".to_string());
        let phone = ("phone".to_string(), "+8613800138000".to_string());
        assert_eq!(
            normalise(&[wa.clone(), odd_number.clone()], "US", true).unwrap(),
            vec![platform.clone()]
        );
        assert_eq!(
            normalise(&[wa.clone(), number], "US", true).unwrap(),
            vec![platform, phone]
        );
        assert!(matches!(
            normalise(&[wa, odd_number.clone()], "US", false),
            Err(ProfileError::Identity(_))
        ));
        assert!(matches!(
            normalise(std::slice::from_ref(&odd_number), "US", true),
            Err(ProfileError::Identity(_))
        ));
        assert!(matches!(
            normalise(&[], "US", true),
            Err(ProfileError::NoIdentity)
        ));
    }
}
