//! Who is calling: argon2 password hashes, opaque session tokens stored only as their SHA-256,
//! and the extractors that turn a bearer token into an agent with a role (401/403 otherwise).

use crate::api::{ApiError, AppState};
use crate::domain::{Agent, Role};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::marker::PhantomData;

pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes running at once: each takes 19 MiB and a core for tens of milliseconds, so a burst of
/// logins queues here instead of taking the machine.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// `hash_password` off the async threads, at most `HASHING` at a time.
pub async fn hash_password_async(password: String) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

/// `verify_password` off the async threads, at most `HASHING` at a time.
pub async fn verify_password_async(password: String, phc: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false)
}

/// A hash no password matches, checked against when the login names nobody.
pub static UNKNOWN_USER_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_password()).unwrap_or_default());

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A new random token (what the client keeps) and its hash (what the store keeps).
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A random password for a generated admin account.
pub fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The logged-in console user behind `Authorization: Bearer <token>`.
pub struct AuthAgent(pub Agent);

impl FromRequestParts<AppState> for AuthAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        state.agent_for_token(token).await.map(AuthAgent)
    }
}

/// A role a handler requires, as a type: `RequireRole<Admin>`.
pub trait MinRole {
    const ROLE: Role;
}
pub struct Supervisor;
pub struct Admin;
impl MinRole for Supervisor {
    const ROLE: Role = Role::Supervisor;
}
impl MinRole for Admin {
    const ROLE: Role = Role::Admin;
}

pub struct RequireRole<R>(pub Agent, pub PhantomData<R>);

impl<R: MinRole> FromRequestParts<AppState> for RequireRole<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let AuthAgent(agent) = AuthAgent::from_request_parts(parts, state).await?;
        if agent.role < R::ROLE {
            return Err(ApiError::Forbidden);
        }
        Ok(RequireRole(agent, PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(ha, hash_token(&a));
        assert_eq!(ha.len(), 32);
    }
}
