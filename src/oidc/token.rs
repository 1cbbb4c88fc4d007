//! The token endpoint (RFC 6749 §4.1.3, §6, §4.4; OIDC Core §3.1.3, §12): code exchange,
//! refresh with rotation and reuse detection, client credentials.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::authorize::pkce_matches;
use super::claims::{unix, AccessClaims, IdClaims};
use super::clients::{Client, GrantType};
use super::error::{ErrorCode, OAuthError};
use super::jwt;
use super::keys::KeySet;
use super::scope::Scope;
use super::Provider;
use crate::crypto::{random_token, sha256_hex};
use crate::db::models::{AuthorizationCode, Grant, RefreshToken};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// RFC 6749 §5.1.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Outcome of a token request: a protocol error is an answer, not a failure of the server.
pub type TokenResult = Result<TokenResponse, OAuthError>;

/// Ends a token transaction early. `Reject` rolls back (nothing was consumed); errors that must
/// stick, like the revocation after a replay, are returned as `Ok(Err(..))` so they commit.
enum Abort {
    Reject(OAuthError),
    Db(diesel::result::Error),
    App(AppError),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Db(e)
    }
}

impl From<AppError> for Abort {
    fn from(e: AppError) -> Self {
        Abort::App(e)
    }
}

fn settle<T>(
    outcome: Result<Result<T, OAuthError>, Abort>,
) -> Result<Result<T, OAuthError>, AppError> {
    match outcome {
        Ok(result) => Ok(result),
        Err(Abort::Reject(e)) => Ok(Err(e)),
        Err(Abort::Db(e)) => Err(e.into()),
        Err(Abort::App(e)) => Err(e),
    }
}

/// `grant_type=authorization_code`.
#[allow(clippy::too_many_arguments)]
pub fn exchange_code(
    conn: &mut DbConnection,
    provider: &Provider,
    keys: &KeySet,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    now: NaiveDateTime,
) -> Result<TokenResult, AppError> {
    if !client.allows(GrantType::AuthorizationCode) {
        return Ok(Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use authorization codes",
        )));
    }
    let hash = sha256_hex(code);
    let reject = |d: &str| Abort::Reject(OAuthError::invalid_grant(d));
    let prepared = settle(write_transaction::<_, Abort, _>(conn, |conn| {
        // Claim the code first: the write makes concurrent redemptions queue behind each other
        // (and takes SQLite's write lock before any read).
        let claimed = AuthorizationCode::mark_used(conn, &hash, now)? == 1;
        let stored = AuthorizationCode::find(conn, &hash)?
            .ok_or_else(|| reject("unknown authorization code"))?;
        if !claimed {
            // A second redemption: whoever holds the first one's tokens may be an attacker.
            Grant::revoke(conn, &stored.grant_id, now)?;
            tracing::warn!(grant = %stored.grant_id, "authorization code reused; grant revoked");
            return Ok(Err(OAuthError::invalid_grant(
                "authorization code already used",
            )));
        }
        let grant = Grant::find(conn, &stored.grant_id)?
            .ok_or_else(|| reject("unknown authorization code"))?;
        if grant.client_id != client.id {
            return Err(reject("the code was issued to another client"));
        }
        if stored.expires_at <= now {
            return Err(reject("authorization code expired"));
        }
        if redirect_uri != Some(stored.redirect_uri.as_str()) {
            return Err(reject(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&stored.code_challenge, code_verifier) {
            (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
            (Some(_), _) => return Err(reject("PKCE verification failed")),
            (None, Some(_)) => return Err(reject("code_verifier sent but no code_challenge was")),
            (None, None) => {}
        }
        if grant.revoked_at.is_some() {
            return Err(reject("the authorization was revoked"));
        }
        Ok(Ok(persist_for_grant(
            conn,
            provider,
            client,
            grant,
            stored.nonce,
            now,
        )?))
    }))?;
    // Signing happens after the commit: the write transaction stays short.
    prepared
        .map(|p| sign_for_grant(provider, keys, client, p, now))
        .transpose_result()
}

/// `grant_type=refresh_token`: rotates the token; a rotated token presented again revokes the
/// whole family (RFC 9700 §4.14.2).
pub fn refresh(
    conn: &mut DbConnection,
    provider: &Provider,
    keys: &KeySet,
    client: &Client,
    token: &str,
    requested_scope: Option<&str>,
    now: NaiveDateTime,
) -> Result<TokenResult, AppError> {
    if !client.allows(GrantType::RefreshToken) {
        return Ok(Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use refresh tokens",
        )));
    }
    let hash = sha256_hex(token);
    let reject = |d: &str| Abort::Reject(OAuthError::invalid_grant(d));
    let prepared = settle(write_transaction::<_, Abort, _>(conn, |conn| {
        let claimed = RefreshToken::mark_used_by_hash(conn, &hash, now)? == 1;
        let stored = RefreshToken::find_by_hash(conn, &hash)?
            .ok_or_else(|| reject("unknown refresh token"))?;
        let mut grant =
            Grant::find(conn, &stored.grant_id)?.ok_or_else(|| reject("unknown refresh token"))?;
        if grant.client_id != client.id {
            return Err(reject("the refresh token was issued to another client"));
        }
        if !claimed {
            Grant::revoke(conn, &grant.id, now)?;
            tracing::warn!(grant = %grant.id, "rotated refresh token reused; grant revoked");
            return Ok(Err(OAuthError::invalid_grant("refresh token already used")));
        }
        if stored.expires_at <= now {
            return Err(reject("refresh token expired"));
        }
        if grant.revoked_at.is_some() {
            return Err(reject("the authorization was revoked"));
        }
        if let Some(raw) = requested_scope {
            let narrower = Scope::parse_supported(raw);
            if !narrower.is_subset_of(&Scope::from_stored(&grant.scope)) {
                return Err(Abort::Reject(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope exceeds what was granted",
                )));
            }
            grant.scope = narrower.to_string();
        }
        Ok(Ok(persist_for_grant(
            conn, provider, client, grant, None, now,
        )?))
    }))?;
    prepared
        .map(|p| sign_for_grant(provider, keys, client, p, now))
        .transpose_result()
}

/// `Result<Result<T, AppError>, OAuthError>` (signing can fail) into the token result shape.
trait TransposeResult<T> {
    fn transpose_result(self) -> Result<Result<T, OAuthError>, AppError>;
}

impl<T> TransposeResult<T> for Result<Result<T, AppError>, OAuthError> {
    fn transpose_result(self) -> Result<Result<T, OAuthError>, AppError> {
        match self {
            Ok(Ok(t)) => Ok(Ok(t)),
            Ok(Err(e)) => Err(e),
            Err(oauth) => Ok(Err(oauth)),
        }
    }
}

/// `grant_type=client_credentials`: a token for the client itself, no user.
pub fn client_credentials(
    provider: &Provider,
    keys: &KeySet,
    client: &Client,
    requested_scope: Option<&str>,
    now: NaiveDateTime,
) -> Result<TokenResult, AppError> {
    if client.is_public() || !client.allows(GrantType::ClientCredentials) {
        return Ok(Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use client_credentials",
        )));
    }
    let scope: Vec<&str> = requested_scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty() && !matches!(*s, "openid" | "offline_access"))
        .collect();
    if scope.iter().any(|s| {
        !s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    }) {
        return Ok(Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "malformed scope",
        )));
    }
    let scope = scope.join(" ");
    let claims = AccessClaims {
        iss: provider.issuer.clone(),
        sub: client.id.clone(),
        aud: provider.issuer.clone(),
        client_id: client.id.clone(),
        exp: unix(now + provider.lifetimes.access_token),
        iat: unix(now),
        jti: random_token(16),
        scope: scope.clone(),
        auth_time: None,
        sid: None,
        gid: None,
    };
    let access_token = jwt::sign(keys.signer(client.access_token_alg)?, "at+jwt", &claims)?;
    Ok(Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: provider.lifetimes.access_token.num_seconds(),
        scope,
        id_token: None,
        refresh_token: None,
    }))
}

/// What the token transaction decided; signed into tokens after it commits.
struct Prepared {
    grant: Grant,
    nonce: Option<String>,
    refresh_token: Option<String>,
}

/// The database half of issuing: the new refresh token (with `offline_access`, or when the
/// client is set to always get one).
fn persist_for_grant(
    conn: &mut DbConnection,
    provider: &Provider,
    client: &Client,
    grant: Grant,
    nonce: Option<String>,
    now: NaiveDateTime,
) -> Result<Prepared, AppError> {
    let scope = Scope::from_stored(&grant.scope);
    let wants_refresh = (scope.contains("offline_access") || client.always_issue_refresh)
        && client.allows(GrantType::RefreshToken);
    let refresh_token = if wants_refresh {
        let token = random_token(32);
        RefreshToken::insert(
            conn,
            &RefreshToken {
                id: format!("rtk_{}", &sha256_hex(&random_token(32))[..32]),
                token_hash: sha256_hex(&token),
                grant_id: grant.id.clone(),
                created_at: now,
                expires_at: now + provider.lifetimes.refresh_token,
                used_at: None,
            },
        )?;
        Some(token)
    } else {
        None
    };
    Ok(Prepared {
        grant,
        nonce,
        refresh_token,
    })
}

/// The signing half: access token and, with `openid`, the ID token.
fn sign_for_grant(
    provider: &Provider,
    keys: &KeySet,
    client: &Client,
    prepared: Prepared,
    now: NaiveDateTime,
) -> Result<TokenResponse, AppError> {
    let Prepared {
        grant,
        nonce,
        refresh_token,
    } = prepared;
    let grant = &grant;
    let scope = Scope::from_stored(&grant.scope);
    let access = AccessClaims {
        iss: provider.issuer.clone(),
        sub: grant.user_id.clone(),
        aud: provider.issuer.clone(),
        client_id: client.id.clone(),
        exp: unix(now + provider.lifetimes.access_token),
        iat: unix(now),
        jti: random_token(16),
        scope: scope.to_string(),
        auth_time: Some(unix(grant.auth_time)),
        sid: grant.session_id.clone(),
        gid: Some(grant.id.clone()),
    };
    let access_token = jwt::sign(keys.signer(client.access_token_alg)?, "at+jwt", &access)?;
    let id_token = if scope.contains("openid") {
        let signer = keys.signer(client.id_token_alg)?;
        let claims = IdClaims {
            iss: provider.issuer.clone(),
            sub: grant.user_id.clone(),
            aud: client.id.clone(),
            exp: unix(now + provider.lifetimes.id_token),
            iat: unix(now),
            auth_time: unix(grant.auth_time),
            nonce,
            // The ID token's own algorithm picks the hash (OIDC Core §3.1.3.6).
            at_hash: Some(jwt::half_hash(signer.alg, &access_token)),
            sid: grant.session_id.clone(),
            azp: client.id.clone(),
            // `fed:google` becomes ["fed", "google"].
            amr: grant.amr.split(':').map(str::to_string).collect(),
        };
        Some(jwt::sign(signer, "JWT", &claims)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: provider.lifetimes.access_token.num_seconds(),
        scope: scope.to_string(),
        id_token,
        refresh_token,
    })
}
