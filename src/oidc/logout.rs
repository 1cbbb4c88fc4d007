//! RP-initiated logout 1.0 (checking an end-session request and deciding what follows) and
//! back-channel logout 1.0 (the logout token). Ending the session is `identity::sessions`; the
//! deliveries go through the database outbox in `outbox::backchannel`.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{json, Value};

use super::authorize::verify_id_token_hint;
use super::claims::{unix, IdClaims};
use super::clients::Client;
use super::jwt;
use super::keys::{Alg, KeySet};
use crate::db::DbConnection;
use crate::error::{AppError, ValidationError};
use crate::i18n::Msg;
use crate::identity::ids::{ClientId, SessionId, UserId};

/// What the end-session endpoint received.
#[derive(Debug, Default, Clone)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

/// A checked end-session request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndSession {
    /// Where to send the browser afterwards (already checked against the client's list).
    pub redirect: Option<String>,
    /// The hint proved the request comes from a client that holds this user's ID token,
    /// so no confirmation is needed.
    pub proven_subject: Option<String>,
    pub client_name: Option<String>,
}

/// Checks an end-session request. A `post_logout_redirect_uri` is honoured only when it is
/// registered, exactly, for a client the request identifies; otherwise there is no redirect.
pub fn check(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    req: &EndSessionRequest,
) -> Result<Result<EndSession, Msg>, AppError> {
    let hint: Option<IdClaims> = match &req.id_token_hint {
        None => None,
        Some(t) => match verify_id_token_hint(keys, t, issuer) {
            Ok(c) => Some(c),
            Err(_) => return Ok(Err(Msg::new("logout-bad-id-token"))),
        },
    };
    let client_id = match (&hint, &req.client_id) {
        (Some(h), Some(c)) if &h.aud != c => {
            return Ok(Err(Msg::new("logout-two-clients")));
        }
        (Some(h), _) => Some(h.aud.clone()),
        (None, c) => c.clone(),
    };
    let client = match &client_id {
        Some(id) => match ClientId::parse(id) {
            Ok(id) => match Client::find(conn, &id)? {
                Some(c) => Some(c),
                None => return Ok(Err(Msg::new("logout-unknown-client"))),
            },
            Err(_) => return Ok(Err(Msg::new("logout-unknown-client"))),
        },
        None => None,
    };
    let redirect = match (&req.post_logout_redirect_uri, &client) {
        (None, _) => None,
        (Some(uri), Some(c)) if c.has_post_logout_redirect_uri(uri) => {
            let mut target = url::Url::parse(uri).map_err(|_| ValidationError::RedirectUri)?;
            if let Some(state) = &req.state {
                target.query_pairs_mut().append_pair("state", state);
            }
            Some(target.to_string())
        }
        (Some(_), _) => {
            return Ok(Err(Msg::new("logout-unregistered-redirect")));
        }
    };
    Ok(Ok(EndSession {
        redirect,
        proven_subject: hint.map(|h| h.sub),
        client_name: client.map(|c| c.name),
    }))
}

/// What to do with a checked end-session request, given who is signed in here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndSessionStep {
    /// Nobody is signed in: nothing to end, go on to the redirect (or the logged-out page).
    NothingToEnd,
    /// The `id_token_hint` names the signed-in user: end the session without asking.
    SignOut,
    /// Nothing proves the client asked on this user's behalf (RP-Initiated Logout 1.0 §2:
    /// "the OP SHOULD ask the End-User whether to log out"): ask the person first.
    Confirm,
}

impl EndSession {
    pub fn step(&self, signed_in_user: Option<&str>) -> EndSessionStep {
        match signed_in_user {
            None => EndSessionStep::NothingToEnd,
            Some(user) if self.proven_subject.as_deref() == Some(user) => EndSessionStep::SignOut,
            Some(_) => EndSessionStep::Confirm,
        }
    }
}

/// Back-channel logout token (Back-Channel Logout 1.0 §2.4).
#[derive(Debug, Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    sub: &'a UserId,
    aud: &'a ClientId,
    iat: i64,
    exp: i64,
    jti: &'a str,
    sid: &'a SessionId,
    events: Value,
}

/// How long a logout token is valid after it is signed. It is signed just before each attempt
/// (see `outbox::backchannel`), so this only needs to cover the trip to the client.
const LOGOUT_TOKEN_TTL_SECS: i64 = 120;

/// Who is to be told that which session ended.
#[derive(Debug, Clone, Copy)]
pub struct LogoutNotice<'a> {
    pub client_id: &'a ClientId,
    pub subject: &'a UserId,
    pub session_id: &'a SessionId,
    pub jti: &'a str,
}

/// Signs the logout token for one client (§2.4: `iss`, `aud`, `iat`, `exp`, `jti`, `events`, and
/// both `sub` and `sid`; never a `nonce`), with the client's ID token algorithm.
pub fn logout_token(
    issuer: &str,
    keys: &KeySet,
    alg: Alg,
    notice: LogoutNotice<'_>,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let claims = LogoutClaims {
        iss: issuer,
        sub: notice.subject,
        aud: notice.client_id,
        iat: unix(now),
        exp: unix(now + chrono::Duration::seconds(LOGOUT_TOKEN_TTL_SECS)),
        jti: notice.jti,
        sid: notice.session_id,
        events: json!({ "http://schemas.openid.net/event/backchannel-logout": {} }),
    };
    jwt::sign(keys.signer(alg)?, "logout+jwt", &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(proven_subject: Option<&str>) -> EndSession {
        EndSession {
            redirect: None,
            proven_subject: proven_subject.map(str::to_string),
            client_name: None,
        }
    }

    #[test]
    fn only_a_hint_for_the_signed_in_user_signs_out_without_asking() {
        let ada = Some("usr_ada");
        assert_eq!(checked(ada).step(ada), EndSessionStep::SignOut);
        assert_eq!(checked(Some("usr_bob")).step(ada), EndSessionStep::Confirm);
        assert_eq!(checked(None).step(ada), EndSessionStep::Confirm);
        assert_eq!(checked(ada).step(None), EndSessionStep::NothingToEnd);
    }
}
