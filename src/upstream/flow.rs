//! The state of one upstream sign-in between start and callback: fresh `state`, PKCE verifier
//! and nonce, sealed into a short-lived cookie (which binds the flow to this browser), with the
//! `state` also recorded (hashed) in `verification` so the callback works exactly once.
//!
//! A link flow (a signed-in person adding a provider to their account) is also bound to the
//! session that started it: if that person signed out, or someone else signed in in the same
//! browser, before the provider sent the browser back, the callback links nothing.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::UpstreamError;
use crate::crypto::{constant_time_eq, random_token, sha256_hex, MasterKey};
use crate::db::models::Verification;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::identity::ids::{SessionId, UserId, VerificationId};

/// The flow cookie's name where the issuer is plain http (development, tests).
pub const COOKIE: &str = "portcullis_upstream";
/// Its name where the issuer is https: the `__Host-` prefix (RFC 6265bis §4.1.3.2) makes
/// browsers accept it only Secure, host-only and for path `/`, so a sibling subdomain cannot
/// plant or overwrite it.
pub const HOST_COOKIE: &str = "__Host-portcullis_upstream";
const PURPOSE: &str = "upstream_state";

/// The flow cookie's name and path, by whether cookies are Secure (the issuer is https).
pub fn cookie_name_and_path(secure: bool) -> (&'static str, &'static str) {
    if secure {
        (HOST_COOKIE, "/")
    } else {
        (COOKIE, "/auth/")
    }
}

/// Who started a link flow: the signed-in user, in this session.
#[derive(Debug, Clone)]
pub struct LinkStarter {
    pub user_id: UserId,
    pub session_id: SessionId,
}

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
    /// The session they started linking in; the callback must come back to it.
    #[serde(default)]
    pub link_session_id: Option<SessionId>,
}

/// Starts a flow: returns the pending login and its sealed cookie value.
pub fn begin(
    conn: &mut DbConnection,
    mk: &MasterKey,
    slug: &str,
    return_to: Option<String>,
    link: Option<LinkStarter>,
    now: NaiveDateTime,
    ttl: Duration,
) -> Result<(PendingLogin, String), AppError> {
    let (link_user_id, link_session_id) = link.map(|l| (l.user_id, l.session_id)).unzip();
    let pending = PendingLogin {
        slug: slug.to_string(),
        state: random_token(32),
        nonce: random_token(32),
        pkce_verifier: random_token(48),
        return_to,
        link_user_id,
        link_session_id,
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

/// Checks the callback's `state` against the browser's cookie and uses it up; a link flow must
/// also come back to the live session that started it (`current_session`).
pub fn finish(
    conn: &mut DbConnection,
    mk: &MasterKey,
    cookie: Option<&str>,
    slug: &str,
    state: Option<&str>,
    current_session: Option<&SessionId>,
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
    if !same_session(&pending, current_session) {
        return Ok(Err(UpstreamError::LinkSessionEnded));
    }
    Ok(Ok(pending))
}

/// A sign-in flow may end in any session (it replaces it); a link flow only in the one that
/// started it. A link flow without a recorded session (a cookie sealed before sessions were
/// recorded) is refused too.
fn same_session(pending: &PendingLogin, current: Option<&SessionId>) -> bool {
    match (&pending.link_user_id, &pending.link_session_id) {
        (None, _) => true,
        (Some(_), Some(started)) => current == Some(started),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(link: Option<(&str, Option<&str>)>) -> PendingLogin {
        PendingLogin {
            slug: "google".into(),
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            return_to: None,
            link_user_id: link.map(|(u, _)| UserId::from_db(u.into())),
            link_session_id: link.and_then(|(_, s)| s.map(|s| SessionId::from_db(s.into()))),
        }
    }

    #[test]
    fn a_link_flow_ends_only_in_the_session_that_started_it() {
        let started = SessionId::from_db("ses_a".into());
        let other = SessionId::from_db("ses_b".into());
        let link = pending(Some(("usr_a", Some("ses_a"))));
        assert!(same_session(&link, Some(&started)));
        assert!(!same_session(&link, Some(&other)), "someone else signed in");
        assert!(!same_session(&link, None), "signed out");
        let unbound = pending(Some(("usr_a", None)));
        assert!(!same_session(&unbound, Some(&started)));
    }

    #[test]
    fn a_sign_in_flow_ends_in_any_session() {
        let sign_in = pending(None);
        assert!(same_session(&sign_in, None));
        assert!(same_session(
            &sign_in,
            Some(&SessionId::from_db("ses_b".into()))
        ));
    }

    #[test]
    fn the_flow_cookie_has_the_host_prefix_exactly_when_cookies_are_secure() {
        assert_eq!(
            cookie_name_and_path(true),
            ("__Host-portcullis_upstream", "/")
        );
        assert_eq!(
            cookie_name_and_path(false),
            ("portcullis_upstream", "/auth/")
        );
    }
}
