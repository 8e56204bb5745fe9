//! Identities parsed once at the edge: an email address lower-cased, a phone number in E.164.
//! Two contacts with the same normalised identity are the same customer.

use super::RawIdentity;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("not an email address: {0:?}")]
    Email(String),
    #[error("not a phone number: {0:?}")]
    Phone(String),
    #[error("empty {0} identity")]
    Empty(&'static str),
}

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
                    && !domain.contains('@')
            });
        if valid {
            Ok(EmailAddress(s))
        } else {
            Err(IdentityError::Email(s))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 (`+8613800138000`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Parses a number as dialled or typed; numbers without a country code are read in
    /// `default_region` (ISO 3166 code such as "US" or "CN").
    pub fn parse(s: &str, default_region: &str) -> Result<Self, IdentityError> {
        let trimmed = s.trim();
        // A number with its country code is read as it is: the crate refuses "+86..." read in "US".
        let region = if trimmed.starts_with('+') {
            None
        } else {
            default_region.parse::<phonenumber::country::Id>().ok()
        };
        let number = phonenumber::parse(region, trimmed).map_err(|_| IdentityError::Phone(s.to_string()))?;
        if !phonenumber::is_valid(&number) {
            return Err(IdentityError::Phone(s.to_string()));
        }
        Ok(PhoneE164(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A raw identity as `(kind, normalised value)`, the key customers are resolved by.
pub fn normalise_identity(
    raw: &RawIdentity,
    default_region: &str,
) -> Result<(String, String), IdentityError> {
    Ok(match raw {
        RawIdentity::Email(s) => ("email".into(), EmailAddress::parse(s)?.0),
        RawIdentity::Phone(s) => ("phone".into(), PhoneE164::parse(s, default_region)?.0),
        RawIdentity::Visitor(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Err(IdentityError::Empty("visitor"));
            }
            ("visitor".into(), s.to_string())
        }
        RawIdentity::Platform { platform, id } => {
            if id.trim().is_empty() {
                return Err(IdentityError::Empty("platform"));
            }
            (
                format!("platform:{}", platform.to_lowercase()),
                id.trim().to_string(),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Li.Wei@Example.COM ").unwrap().as_str(),
            "li.wei@example.com"
        );
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@.com",
            "a@x@y.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn phones_become_e164() {
        let cases = [
            ("+86 138 0013 8000", "US", "+8613800138000"),
            ("(415) 555-2671", "US", "+14155552671"),
            ("+1-415-555-2671", "CN", "+14155552671"),
            ("020 7946 0018", "GB", "+442079460018"),
        ];
        for (input, region, want) in cases {
            assert_eq!(PhoneE164::parse(input, region).unwrap().as_str(), want, "{input}");
        }
        assert!(PhoneE164::parse("hello", "US").is_err());
        assert!(PhoneE164::parse("123", "US").is_err());
    }
}
