//! Who a web visitor is, before intake resolves them: what the pre-chat form says is a claim
//! (shown to agents, never used to find or change a customer), unless the site signed its user
//! with the widget's secret (HMAC-SHA256, hex, as Chatwoot's `identifier_hash`), which makes
//! that one value an identity.

use crate::domain::{Claim, RawIdentity, normalise_identity};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// What a site that knows its user adds to `start`: their `user_id` or `email`, and `hash`, the
/// hex HMAC-SHA256 of that value (the user id when both are given) under the widget's secret.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedUser {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub hash: String,
}

/// Who the visitor is to intake: the identities to resolve, and what they claimed beyond them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub identities: Vec<RawIdentity>,
    pub claim: Option<Claim>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VisitorError {
    #[error("the signed user names neither a user_id nor an email")]
    NothingSigned,
    #[error("the signed user's hash does not match (is the widget's identity secret right?)")]
    BadSignature,
    #[error("this widget has no identity secret, so it cannot take a signed user")]
    NoSecret,
    #[error(transparent)]
    Identity(#[from] crate::domain::IdentityError),
}

/// What the form said (`email`, `phone`) and, from a site that signs, its `signed` user, checked
/// against the widget's `secret`. `visitor_id` names an unverified visitor: every unsigned
/// conversation is a customer of its own until an agent links it.
pub fn identify(
    email: &str,
    phone: Option<&str>,
    signed: Option<&SignedUser>,
    secret: Option<&str>,
    visitor_id: &str,
    default_region: &str,
) -> Result<Visitor, VisitorError> {
    let claimed_email = read(&RawIdentity::Email(email.trim().to_string()), default_region)?;
    let claimed_phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => read(&RawIdentity::Phone(p.to_string()), default_region)?,
        None => None,
    };
    let verified = match signed {
        Some(user) => Some(verify(user, secret.ok_or(VisitorError::NoSecret)?)?),
        None => None,
    };
    let identities = match &verified {
        Some(identity) => vec![identity.clone()],
        None => vec![RawIdentity::Visitor(visitor_id.to_string())],
    };
    // A typed value the signature already proves is no claim.
    let proven =
        |e: &String| matches!(&verified, Some(RawIdentity::Email(v)) if v.trim().eq_ignore_ascii_case(e));
    let claim = Claim {
        email: claimed_email.filter(|e| !proven(e)),
        phone: claimed_phone,
    };
    let claim = (claim.email.is_some() || claim.phone.is_some()).then_some(claim);
    Ok(Visitor { identities, claim })
}

/// A typed value as the store would key it; blank is nothing.
fn read(raw: &RawIdentity, default_region: &str) -> Result<Option<String>, VisitorError> {
    let blank = match raw {
        RawIdentity::Email(v) | RawIdentity::Phone(v) => v.is_empty(),
        _ => false,
    };
    if blank {
        return Ok(None);
    }
    Ok(Some(normalise_identity(raw, default_region)?.1))
}

/// The identity a site vouched for, if its hash is the HMAC of it under `secret` (compared in
/// constant time).
fn verify(user: &SignedUser, secret: &str) -> Result<RawIdentity, VisitorError> {
    let (value, identity) = match (&user.user_id, &user.email) {
        (Some(id), _) if !id.trim().is_empty() => (
            id.as_str(),
            RawIdentity::Platform {
                platform: "site".into(),
                id: id.clone(),
            },
        ),
        (_, Some(email)) if !email.trim().is_empty() => {
            (email.as_str(), RawIdentity::Email(email.trim().to_string()))
        }
        _ => return Err(VisitorError::NothingSigned),
    };
    let hash = unhex(user.hash.trim()).ok_or(VisitorError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| VisitorError::NoSecret)?;
    mac.update(value.as_bytes());
    mac.verify_slice(&hash).map_err(|_| VisitorError::BadSignature)?;
    Ok(identity)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HMAC-SHA256(key "secret", "test"), from docs/DEPENDENCIES.
    const TEST_HASH: &str = "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";

    fn signed(user_id: Option<&str>, email: Option<&str>, hash: &str) -> SignedUser {
        SignedUser {
            user_id: user_id.map(str::to_owned),
            email: email.map(str::to_owned),
            hash: hash.into(),
        }
    }

    /// What the case is, the signed user, the widget's secret, and what the visitor is.
    type Case = (
        &'static str,
        Option<SignedUser>,
        Option<&'static str>,
        Result<Visitor, VisitorError>,
    );

    #[test]
    fn what_a_visitor_types_is_a_claim_and_only_a_signature_makes_an_identity() {
        let visitor = RawIdentity::Visitor("v1".into());
        let maria = "maria.garcia@example.com";
        let cases: Vec<Case> = vec![
            (
                "unsigned: a visitor of its own, claiming what they typed",
                None,
                Some("secret"),
                Ok(Visitor {
                    identities: vec![visitor.clone()],
                    claim: Some(Claim {
                        email: Some(maria.into()),
                        phone: Some("+14155552671".into()),
                    }),
                }),
            ),
            (
                "a user id signed by the site: that is who they are",
                Some(signed(Some("test"), None, TEST_HASH)),
                Some("secret"),
                Ok(Visitor {
                    identities: vec![RawIdentity::Platform {
                        platform: "site".into(),
                        id: "test".into(),
                    }],
                    claim: Some(Claim {
                        email: Some(maria.into()),
                        phone: Some("+14155552671".into()),
                    }),
                }),
            ),
            (
                "a hash made with another secret",
                Some(signed(Some("test"), None, TEST_HASH)),
                Some("another"),
                Err(VisitorError::BadSignature),
            ),
            (
                "a hash that is not hex",
                Some(signed(Some("test"), None, "zz")),
                Some("secret"),
                Err(VisitorError::BadSignature),
            ),
            (
                "a widget with no secret takes no signed users",
                Some(signed(Some("test"), None, TEST_HASH)),
                None,
                Err(VisitorError::NoSecret),
            ),
            (
                "nothing signed",
                Some(signed(None, None, TEST_HASH)),
                Some("secret"),
                Err(VisitorError::NothingSigned),
            ),
        ];
        for (what, user, secret, want) in cases {
            let got = identify(maria, Some("(415) 555-2671"), user.as_ref(), secret, "v1", "US");
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn a_signed_email_is_the_identity_and_no_longer_a_claim() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(b"Maria.Garcia@example.com");
        let hash: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let user = signed(None, Some("Maria.Garcia@example.com"), &hash);
        let got = identify(
            "maria.garcia@example.com",
            None,
            Some(&user),
            Some("k"),
            "v",
            "US",
        )
        .unwrap();
        assert_eq!(
            got,
            Visitor {
                identities: vec![RawIdentity::Email("Maria.Garcia@example.com".into())],
                claim: None,
            }
        );
    }
}
