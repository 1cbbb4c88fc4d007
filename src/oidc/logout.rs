//! RP-initiated logout 1.0 and back-channel logout 1.0.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{json, Value};

use super::authorize::verify_id_token_hint;
use super::claims::{unix, IdClaims};
use super::clients::Client;
use super::jwt;
use super::keys::KeySet;
use super::Provider;
use crate::crypto::random_token;
use crate::db::models::Grant;
use crate::db::DbConnection;
use crate::error::{AppError, ValidationError};
use crate::i18n::Msg;

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
        Some(id) => match Client::find(conn, id)? {
            Some(c) => Some(c),
            None => return Ok(Err(Msg::new("logout-unknown-client"))),
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

/// Back-channel logout token (Back-Channel Logout 1.0 §2.4).
#[derive(Debug, Serialize)]
struct LogoutClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
    sid: String,
    events: Value,
}

/// A logout token to deliver to one client.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub client_id: String,
    pub uri: String,
    pub logout_token: String,
}

/// Logout tokens for every client with a back-channel URI that received tokens in `session_id`.
pub fn deliveries_for_session(
    conn: &mut DbConnection,
    provider: &Provider,
    keys: &KeySet,
    session_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<Delivery>, AppError> {
    let mut out = Vec::new();
    for (client_id, user_id, uri) in Grant::clients_for_session(conn, session_id)? {
        let alg = Client::find(conn, &client_id)?
            .map(|c| c.id_token_alg)
            .unwrap_or(super::keys::Alg::RS256);
        let claims = LogoutClaims {
            iss: provider.issuer.clone(),
            sub: user_id,
            aud: client_id.clone(),
            iat: unix(now),
            exp: unix(now + chrono::Duration::minutes(2)),
            jti: random_token(16),
            sid: session_id.to_string(),
            events: json!({ "http://schemas.openid.net/event/backchannel-logout": {} }),
        };
        let logout_token = jwt::sign(keys.signer(alg)?, "logout+jwt", &claims)?;
        out.push(Delivery {
            client_id,
            uri,
            logout_token,
        });
    }
    Ok(out)
}

/// Posts the logout tokens in the background with bounded timeouts and retries, so a dead
/// client never holds up the person signing out.
pub fn deliver(http: reqwest::Client, attempts: u32, deliveries: Vec<Delivery>) {
    for d in deliveries {
        tokio::spawn(deliver_one(http.clone(), attempts, d));
    }
}

/// The same, waiting for every delivery (the CLI, which exits right after).
pub async fn deliver_and_wait(http: reqwest::Client, attempts: u32, deliveries: Vec<Delivery>) {
    for d in deliveries {
        deliver_one(http.clone(), attempts, d).await;
    }
}

async fn deliver_one(http: reqwest::Client, attempts: u32, d: Delivery) {
    for attempt in 1..=attempts {
        let sent = http
            .post(&d.uri)
            .form(&[("logout_token", d.logout_token.as_str())])
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => {
                tracing::info!(client = %d.client_id, "back-channel logout delivered");
                return;
            }
            Ok(res) => {
                tracing::warn!(client = %d.client_id, status = res.status().as_u16(), attempt, "back-channel logout refused")
            }
            Err(e) => {
                tracing::warn!(client = %d.client_id, error = %e, attempt, "back-channel logout failed")
            }
        }
        if attempt < attempts {
            tokio::time::sleep(std::time::Duration::from_millis(500 * u64::from(attempt))).await;
        }
    }
}
