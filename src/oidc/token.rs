//! The token endpoint (RFC 6749 §4.1.3, §6, §4.4; OIDC Core §3.1.3, §12): code exchange,
//! refresh with rotation and reuse detection, client credentials.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::authorize::pkce_matches;
use super::claims::{unix, AccessClaims, IdClaims};
use super::clients::{self, Client, ClientCredentials, GrantType};
use super::error::{ErrorCode, OAuthError};
use super::jwt;
use super::keys::KeySet;
use super::scope::Scope;
use super::Provider;
use crate::crypto::{random_token, sha256_hex};
use crate::db::models::{AuthorizationCode, Grant, RefreshToken};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::identity::ids::{ClientId, RefreshTokenId, SessionId};
use crate::identity::now;
use crate::identity::throttle::ThrottlePolicy;

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

/// A token request, by grant type (RFC 6749 §4.1.3, §6, §4.4), parsed from the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
}

impl TokenRequest {
    /// From the body's parameters (repeats refused and empty values dropped by the caller,
    /// RFC 6749 §3.2).
    pub fn from_form(params: &HashMap<String, String>) -> Result<TokenRequest, OAuthError> {
        let get = |k: &str| params.get(k).cloned();
        let required =
            |k: &str| get(k).ok_or_else(|| OAuthError::invalid_request(format!("{k} is required")));
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => Ok(TokenRequest::AuthorizationCode {
                code: required("code")?,
                redirect_uri: get("redirect_uri"),
                code_verifier: get("code_verifier"),
            }),
            Some("refresh_token") => Ok(TokenRequest::RefreshToken {
                refresh_token: required("refresh_token")?,
                scope: get("scope"),
            }),
            Some("client_credentials") => Ok(TokenRequest::ClientCredentials {
                scope: get("scope"),
            }),
            Some(_) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            )),
            None => Err(OAuthError::invalid_request("grant_type is required")),
        }
    }

    /// RFC 6749 §2.1, §4.4: a public client may identify itself by `client_id` alone, except
    /// for `client_credentials`, which is the client's own authentication.
    fn open_to_public_clients(&self) -> bool {
        !matches!(self, TokenRequest::ClientCredentials { .. })
    }
}

/// Authenticates the client as the request allows (RFC 6749 §2.3): a public client by
/// `client_id` alone, except for `client_credentials` (see [`TokenRequest`]). `None` is a
/// request that did not parse; it is refused after this, so the order of answers stays: first
/// who you are, then what you asked.
pub fn authenticate_client(
    conn: &mut DbConnection,
    credentials: &ClientCredentials,
    request: Option<&TokenRequest>,
    throttle: &ThrottlePolicy,
    now: NaiveDateTime,
) -> Result<Client, OAuthError> {
    let open = request.is_none_or(TokenRequest::open_to_public_clients);
    clients::authenticate(conn, credentials, open, throttle, now)
}

/// The token endpoint for an authenticated client: answers the request by its grant type.
/// Every refusal is an `OAuthError` in the protocol's words.
pub fn exchange(
    conn: &mut DbConnection,
    provider: &Provider,
    client: &Client,
    request: TokenRequest,
    now: NaiveDateTime,
) -> Result<TokenResponse, OAuthError> {
    let keys = provider.keys.current();
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => exchange_code(
            conn,
            provider,
            &keys,
            client,
            &code,
            redirect_uri.as_deref(),
            code_verifier.as_deref(),
            now,
        ),
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh(
            conn,
            provider,
            &keys,
            client,
            &refresh_token,
            scope.as_deref(),
            now,
        ),
        TokenRequest::ClientCredentials { scope } => {
            client_credentials(provider, &keys, client, scope.as_deref(), now)
        }
    }
}

/// The whole token request on a pooled connection, at the present time: [`authenticate_client`],
/// then [`exchange`] (or the parse error of a malformed request).
pub async fn authenticate_and_exchange(
    db: &crate::db::Db,
    provider: std::sync::Arc<Provider>,
    credentials: ClientCredentials,
    request: Result<TokenRequest, OAuthError>,
    throttle: ThrottlePolicy,
) -> Result<TokenResponse, OAuthError> {
    super::with_connection(db, move |conn| {
        let client =
            authenticate_client(conn, &credentials, request.as_ref().ok(), &throttle, now())?;
        exchange(conn, &provider, &client, request?, now())
    })
    .await
}

/// What presenting a code or refresh token amounts to, decided from the stored rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Issue tokens.
    Honour,
    /// Presented again after use: whoever holds the first tokens may be an attacker, so the
    /// grant is revoked (and that revocation must commit).
    Replayed,
    /// Refuse with `invalid_grant`; nothing was consumed.
    Refuse(&'static str),
}

/// The rules for redeeming an authorization code (RFC 6749 §4.1.3, §10.5; RFC 7636 §4.6).
/// `claimed` says whether this request is the one that marked the code used.
#[allow(clippy::too_many_arguments)]
fn judge_code(
    stored: &AuthorizationCode,
    grant: &Grant,
    claimed: bool,
    client_id: &ClientId,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    now: NaiveDateTime,
) -> Verdict {
    if !claimed {
        return Verdict::Replayed;
    }
    if grant.client_id != *client_id {
        return Verdict::Refuse("the code was issued to another client");
    }
    if stored.expires_at <= now {
        return Verdict::Refuse("authorization code expired");
    }
    if redirect_uri != Some(stored.redirect_uri.as_str()) {
        return Verdict::Refuse("redirect_uri does not match the authorization request");
    }
    match (&stored.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (Some(_), _) => return Verdict::Refuse("PKCE verification failed"),
        (None, Some(_)) => return Verdict::Refuse("code_verifier sent but no code_challenge was"),
        (None, None) => {}
    }
    if grant.revoked_at.is_some() {
        return Verdict::Refuse("the authorization was revoked");
    }
    Verdict::Honour
}

/// The rules for using a refresh token (RFC 6749 §6, RFC 9700 §4.14.2): one use each, within
/// its lifetime, by the client it was issued to, while the grant stands.
fn judge_refresh(
    stored: &RefreshToken,
    grant: &Grant,
    claimed: bool,
    client_id: &ClientId,
    now: NaiveDateTime,
) -> Verdict {
    // Another client's token says nothing about this one's family: refuse, revoke nothing.
    if grant.client_id != *client_id {
        return Verdict::Refuse("the refresh token was issued to another client");
    }
    if !claimed {
        return Verdict::Replayed;
    }
    if stored.expires_at <= now {
        return Verdict::Refuse("refresh token expired");
    }
    if grant.revoked_at.is_some() {
        return Verdict::Refuse("the authorization was revoked");
    }
    Verdict::Honour
}

/// The outcome of a token transaction that commits: tokens to sign, or a replay whose
/// revocation must stick.
enum Settled {
    Issue(Box<Prepared>),
    Replayed(&'static str),
}

/// After the commit: sign, or refuse the replay.
fn finish(
    settled: Settled,
    provider: &Provider,
    keys: &KeySet,
    client: &Client,
    now: NaiveDateTime,
) -> Result<TokenResponse, OAuthError> {
    match settled {
        // Signing happens after the commit: the write transaction stays short.
        Settled::Issue(prepared) => Ok(sign_for_grant(provider, keys, client, *prepared, now)?),
        Settled::Replayed(what) => Err(OAuthError::invalid_grant(what)),
    }
}

/// `grant_type=authorization_code`.
#[allow(clippy::too_many_arguments)]
fn exchange_code(
    conn: &mut DbConnection,
    provider: &Provider,
    keys: &KeySet,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    now: NaiveDateTime,
) -> Result<TokenResponse, OAuthError> {
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use authorization codes",
        ));
    }
    let hash = sha256_hex(code);
    let unknown = || OAuthError::invalid_grant("unknown authorization code");
    // An `Err` rolls back: a refused code stays unconsumed.
    let settled = write_transaction(conn, |conn| {
        // Claim the code first: the write makes concurrent redemptions queue behind each other
        // (and takes SQLite's write lock before any read).
        let claimed = AuthorizationCode::mark_used(conn, &hash, now)? == 1;
        let stored = AuthorizationCode::find(conn, &hash)?.ok_or_else(unknown)?;
        let grant = Grant::find(conn, &stored.grant_id)?.ok_or_else(unknown)?;
        match judge_code(
            &stored,
            &grant,
            claimed,
            &client.id,
            redirect_uri,
            code_verifier,
            now,
        ) {
            Verdict::Honour => {
                let prepared = persist_for_grant(conn, provider, client, grant, stored.nonce, now)?;
                Ok(Settled::Issue(Box::new(prepared)))
            }
            Verdict::Replayed => {
                Grant::revoke(conn, &grant.id, now)?;
                tracing::warn!(grant = %grant.id, "authorization code reused; grant revoked");
                Ok(Settled::Replayed("authorization code already used"))
            }
            Verdict::Refuse(why) => Err(OAuthError::invalid_grant(why)),
        }
    })?;
    finish(settled, provider, keys, client, now)
}

/// `grant_type=refresh_token`: rotates the token; a rotated token presented again revokes the
/// whole family (RFC 9700 §4.14.2).
fn refresh(
    conn: &mut DbConnection,
    provider: &Provider,
    keys: &KeySet,
    client: &Client,
    token: &str,
    requested_scope: Option<&str>,
    now: NaiveDateTime,
) -> Result<TokenResponse, OAuthError> {
    if !client.allows(GrantType::RefreshToken) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use refresh tokens",
        ));
    }
    let hash = sha256_hex(token);
    let unknown = || OAuthError::invalid_grant("unknown refresh token");
    let settled = write_transaction(conn, |conn| {
        let claimed = RefreshToken::mark_used_by_hash(conn, &hash, now)? == 1;
        let stored = RefreshToken::find_by_hash(conn, &hash)?.ok_or_else(unknown)?;
        let mut grant = Grant::find(conn, &stored.grant_id)?.ok_or_else(unknown)?;
        match judge_refresh(&stored, &grant, claimed, &client.id, now) {
            Verdict::Honour => {}
            Verdict::Replayed => {
                Grant::revoke(conn, &grant.id, now)?;
                tracing::warn!(grant = %grant.id, "rotated refresh token reused; grant revoked");
                return Ok(Settled::Replayed("refresh token already used"));
            }
            Verdict::Refuse(why) => return Err(OAuthError::invalid_grant(why)),
        }
        if let Some(raw) = requested_scope {
            grant.scope = narrowed_scope(&grant.scope, raw)?.to_string();
        }
        let prepared = persist_for_grant(conn, provider, client, grant, None, now)?;
        Ok(Settled::Issue(Box::new(prepared)))
    })?;
    finish(settled, provider, keys, client, now)
}

/// RFC 6749 §6: a refresh may ask for less than was granted, never more.
fn narrowed_scope(granted: &str, requested: &str) -> Result<Scope, OAuthError> {
    let narrower = Scope::parse_supported(requested);
    if !narrower.is_subset_of(&Scope::from_stored(granted)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "scope exceeds what was granted",
        ));
    }
    Ok(narrower)
}

/// `grant_type=client_credentials`: a token for the client itself, no user.
fn client_credentials(
    provider: &Provider,
    keys: &KeySet,
    client: &Client,
    requested_scope: Option<&str>,
    now: NaiveDateTime,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() || !client.allows(GrantType::ClientCredentials) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use client_credentials",
        ));
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
        return Err(OAuthError::new(ErrorCode::InvalidScope, "malformed scope"));
    }
    // The admin API's scope is a power over every user: only clients an admin marked for it
    // may have it (see `admin::auth`).
    if scope.contains(&crate::oidc::scope::ADMIN) && !client.admin_api {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "this client may not have the admin scope",
        ));
    }
    let scope = scope.join(" ");
    let claims = AccessClaims {
        iss: provider.issuer.clone(),
        sub: client.id.to_string(),
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
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: provider.lifetimes.access_token.num_seconds(),
        scope,
        id_token: None,
        refresh_token: None,
    })
}

/// What the token transaction decided; signed into tokens after it commits.
struct Prepared {
    grant: Grant,
    nonce: Option<String>,
    refresh_token: Option<String>,
    /// The ID token's `groups` and the client's own claims, read in the transaction.
    id_extra: serde_json::Map<String, serde_json::Value>,
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
                id: RefreshTokenId::generate(),
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
    // Read at every issue, so a refresh reflects memberships as they are now.
    let id_extra = if scope.contains("openid") {
        super::claims::id_token_extra(conn, &client.claims, &grant, &scope)?
    } else {
        serde_json::Map::new()
    };
    Ok(Prepared {
        grant,
        nonce,
        refresh_token,
        id_extra,
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
        id_extra,
    } = prepared;
    let grant = &grant;
    let scope = Scope::from_stored(&grant.scope);
    let access = AccessClaims {
        iss: provider.issuer.clone(),
        sub: grant.user_id.to_string(),
        aud: provider.issuer.clone(),
        client_id: client.id.clone(),
        exp: unix(now + provider.lifetimes.access_token),
        iat: unix(now),
        jti: random_token(16),
        scope: scope.to_string(),
        auth_time: Some(unix(grant.auth_time)),
        sid: grant.session_id.as_ref().map(SessionId::to_string),
        gid: Some(grant.id.clone()),
    };
    let access_token = jwt::sign(keys.signer(client.access_token_alg)?, "at+jwt", &access)?;
    let id_token = if scope.contains("openid") {
        let signer = keys.signer(client.id_token_alg)?;
        let (amr, acr) = crate::identity::sessions::amr_and_acr(&grant.amr);
        let claims = IdClaims {
            iss: provider.issuer.clone(),
            sub: grant.user_id.to_string(),
            aud: client.id.to_string(),
            exp: unix(now + provider.lifetimes.id_token),
            iat: unix(now),
            auth_time: unix(grant.auth_time),
            nonce,
            // The ID token's own algorithm picks the hash (OIDC Core §3.1.3.6).
            at_hash: Some(jwt::half_hash(signer.alg, &access_token)),
            sid: grant.session_id.as_ref().map(SessionId::to_string),
            azp: client.id.to_string(),
            // `fed:google` becomes ["fed", "google"], `pwd+otp` ["pwd", "otp", "mfa"].
            amr,
            acr: Some(acr.to_string()),
            extra: id_extra,
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

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate};

    use super::*;
    use crate::identity::ids::{GrantId, UserId};

    /// One grant ID for the whole test: codes and tokens below point at the same grant.
    fn grant_id() -> GrantId {
        GrantId::from_db(format!("{}{}", GrantId::PREFIX, "1".repeat(32)))
    }

    fn t0() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap()
    }

    fn grant() -> Grant {
        Grant {
            id: grant_id(),
            user_id: UserId::from_db("usr_1".into()),
            client_id: "cli_a".into(),
            session_id: None,
            scope: "openid offline_access".into(),
            auth_time: t0(),
            amr: "pwd".into(),
            created_at: t0(),
            revoked_at: None,
        }
    }

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    /// A code issued at `t0` that lives 60 seconds.
    fn code(challenge: Option<&str>) -> AuthorizationCode {
        AuthorizationCode {
            code_hash: "h".into(),
            grant_id: grant_id(),
            redirect_uri: "https://app/cb".into(),
            code_challenge: challenge.map(str::to_string),
            nonce: None,
            created_at: t0(),
            expires_at: t0() + Duration::seconds(60),
            used_at: None,
        }
    }

    fn redeem(code: &AuthorizationCode, grant: &Grant, at: NaiveDateTime) -> Verdict {
        judge_code(
            code,
            grant,
            true,
            &"cli_a".into(),
            Some("https://app/cb"),
            code.code_challenge.as_ref().map(|_| VERIFIER),
            at,
        )
    }

    #[test]
    fn a_code_is_honoured_until_the_end_of_its_lifetime_and_not_at_it() {
        let (c, g) = (code(Some(CHALLENGE)), grant());
        let last = t0() + Duration::seconds(59);
        assert_eq!(redeem(&c, &g, last), Verdict::Honour);
        assert_eq!(
            redeem(&c, &g, t0() + Duration::seconds(60)),
            Verdict::Refuse("authorization code expired")
        );
    }

    #[test]
    fn a_code_presented_a_second_time_is_a_replay_even_when_expired() {
        let (c, g) = (code(None), grant());
        let late = t0() + Duration::hours(1);
        let verdict = judge_code(
            &c,
            &g,
            false,
            &"cli_a".into(),
            Some("https://app/cb"),
            None,
            late,
        );
        assert_eq!(verdict, Verdict::Replayed);
    }

    #[test]
    fn a_code_is_refused_to_another_client_a_wrong_redirect_or_a_wrong_verifier() {
        let (c, g) = (code(Some(CHALLENGE)), grant());
        let now = t0();
        let refuse =
            |cid: &str, uri, verifier| judge_code(&c, &g, true, &cid.into(), uri, verifier, now);
        assert_eq!(
            refuse("cli_b", Some("https://app/cb"), Some(VERIFIER)),
            Verdict::Refuse("the code was issued to another client")
        );
        assert_eq!(
            refuse("cli_a", None, Some(VERIFIER)),
            Verdict::Refuse("redirect_uri does not match the authorization request")
        );
        assert_eq!(
            refuse("cli_a", Some("https://app/cb"), None),
            Verdict::Refuse("PKCE verification failed")
        );
        let plain = code(None);
        assert_eq!(
            judge_code(
                &plain,
                &g,
                true,
                &"cli_a".into(),
                Some("https://app/cb"),
                Some(VERIFIER),
                now
            ),
            Verdict::Refuse("code_verifier sent but no code_challenge was")
        );
    }

    #[test]
    fn a_code_of_a_revoked_grant_is_refused() {
        let g = Grant {
            revoked_at: Some(t0()),
            ..grant()
        };
        assert_eq!(
            redeem(&code(None), &g, t0()),
            Verdict::Refuse("the authorization was revoked")
        );
    }

    fn refresh_token(lifetime: Duration) -> RefreshToken {
        RefreshToken {
            id: RefreshTokenId::generate(),
            token_hash: "h".into(),
            grant_id: grant_id(),
            created_at: t0(),
            expires_at: t0() + lifetime,
            used_at: None,
        }
    }

    #[test]
    fn a_refresh_token_rotates_once_within_its_lifetime() {
        let (rt, g) = (refresh_token(Duration::days(30)), grant());
        let later = t0() + Duration::days(29);
        assert_eq!(
            judge_refresh(&rt, &g, true, &"cli_a".into(), later),
            Verdict::Honour
        );
        assert_eq!(
            judge_refresh(&rt, &g, true, &"cli_a".into(), t0() + Duration::days(30)),
            Verdict::Refuse("refresh token expired")
        );
    }

    #[test]
    fn a_rotated_refresh_token_presented_again_is_a_replay() {
        let (rt, g) = (refresh_token(Duration::days(30)), grant());
        assert_eq!(
            judge_refresh(&rt, &g, false, &"cli_a".into(), t0()),
            Verdict::Replayed
        );
        // Even after it expired: the replay still says the family leaked.
        let expired_later = t0() + Duration::days(31);
        assert_eq!(
            judge_refresh(&rt, &g, false, &"cli_a".into(), expired_later),
            Verdict::Replayed
        );
    }

    #[test]
    fn another_clients_refresh_token_is_refused_without_revoking_its_family() {
        let (rt, g) = (refresh_token(Duration::days(30)), grant());
        // Not claimed here either: a foreign client must not be able to revoke by replaying.
        assert_eq!(
            judge_refresh(&rt, &g, false, &"cli_b".into(), t0()),
            Verdict::Refuse("the refresh token was issued to another client")
        );
    }

    #[test]
    fn a_refresh_token_of_a_revoked_grant_is_refused() {
        let g = Grant {
            revoked_at: Some(t0()),
            ..grant()
        };
        assert_eq!(
            judge_refresh(
                &refresh_token(Duration::days(1)),
                &g,
                true,
                &"cli_a".into(),
                t0()
            ),
            Verdict::Refuse("the authorization was revoked")
        );
    }

    #[test]
    fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
        let narrowed = narrowed_scope("openid profile offline_access", "openid").unwrap();
        assert_eq!(narrowed.to_string(), "openid");
        let wider = narrowed_scope("openid", "openid email").unwrap_err();
        assert_eq!(wider.code(), ErrorCode::InvalidScope);
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn token_requests_parse_by_grant_type() {
        assert_eq!(
            TokenRequest::from_form(&form(&[
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("redirect_uri", "https://app/cb"),
            ]))
            .unwrap(),
            TokenRequest::AuthorizationCode {
                code: "c".into(),
                redirect_uri: Some("https://app/cb".into()),
                code_verifier: None,
            }
        );
        let missing = TokenRequest::from_form(&form(&[("grant_type", "refresh_token")]));
        assert_eq!(
            missing.unwrap_err().description(),
            "refresh_token is required"
        );
        let password = TokenRequest::from_form(&form(&[("grant_type", "password")]));
        assert_eq!(
            password.unwrap_err().code(),
            ErrorCode::UnsupportedGrantType
        );
        let none = TokenRequest::from_form(&form(&[("code", "c")]));
        assert_eq!(none.unwrap_err().code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn only_client_credentials_is_closed_to_public_clients() {
        assert!(!TokenRequest::ClientCredentials { scope: None }.open_to_public_clients());
        assert!(TokenRequest::RefreshToken {
            refresh_token: "r".into(),
            scope: None
        }
        .open_to_public_clients());
    }
}
