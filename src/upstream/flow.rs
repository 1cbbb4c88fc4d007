//! The state of one upstream sign-in between start and callback: fresh `state`, PKCE verifier
//! and nonce, sealed into a short-lived cookie (which binds the flow to this browser), with the
//! `state` also recorded (hashed) in `verification` so the callback works exactly once.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::UpstreamError;
use crate::crypto::{constant_time_eq, random_token, sha256_hex, MasterKey};
use crate::db::models::Verification;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::identity::ids::{UserId, VerificationId};

pub const COOKIE: &str = "portcullis_upstream";
const PURPOSE: &str = "upstream_state";

/// What the browser carries, sealed, from start to callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub slug: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: Option<String>,
    /// Set when a signed-in person is linking this provider to their account.
    pub link_user_id: Option<UserId>,
}

/// Starts a flow: returns the pending login and its sealed cookie value.
pub fn begin(
    conn: &mut DbConnection,
    mk: &MasterKey,
    slug: &str,
    return_to: Option<String>,
    link_user_id: Option<UserId>,
    now: NaiveDateTime,
    ttl: Duration,
) -> Result<(PendingLogin, String), AppError> {
    let pending = PendingLogin {
        slug: slug.to_string(),
        state: random_token(32),
        nonce: random_token(32),
        pkce_verifier: random_token(48),
        return_to,
        link_user_id,
    };
    Verification::insert(
        conn,
        &Verification {
            id: VerificationId::generate(),
            identifier: format!("upstream:{slug}"),
            purpose: PURPOSE.into(),
            value_hash: sha256_hex(&pending.state),
            expires_at: now + ttl,
            created_at: now,
            attempts: 0,
        },
    )?;
    let sealed =
        mk.encrypt(&serde_json::to_vec(&pending).map_err(|e| AppError::Internal(e.to_string()))?);
    Ok((pending, sealed))
}

/// Checks the callback's `state` against the browser's cookie and uses it up.
pub fn finish(
    conn: &mut DbConnection,
    mk: &MasterKey,
    cookie: Option<&str>,
    slug: &str,
    state: Option<&str>,
    now: NaiveDateTime,
) -> Result<Result<PendingLogin, UpstreamError>, AppError> {
    let pending: Option<PendingLogin> = cookie
        .and_then(|c| mk.decrypt(c).ok())
        .and_then(|plain| serde_json::from_slice(&plain).ok());
    let (Some(pending), Some(state)) = (pending, state) else {
        return Ok(Err(UpstreamError::BadState));
    };
    if pending.slug != slug || !constant_time_eq(pending.state.as_bytes(), state.as_bytes()) {
        return Ok(Err(UpstreamError::BadState));
    }
    if Verification::consume(conn, &sha256_hex(state), PURPOSE, now)? != 1 {
        return Ok(Err(UpstreamError::BadState));
    }
    Ok(Ok(pending))
}
