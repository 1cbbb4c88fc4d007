//! Token status: what resource servers and clients may learn about a token (RFC 7662), how a
//! client gives one up (RFC 7009), and the check behind UserInfo (RFC 6750).

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::claims::{unix, AccessClaims};
use super::clients::Client;
use super::keys::KeyStore;
use crate::crypto::sha256_hex;
use crate::db::models::{revoked_token, Grant, RefreshToken};
use crate::db::DbConnection;
use crate::error::AppError;

/// An access token that verifies, is ours, and has not been revoked.
pub fn active_access_token(
    conn: &mut DbConnection,
    keys: &KeyStore,
    issuer: &str,
    token: &str,
) -> Result<Option<AccessClaims>, AppError> {
    let Ok(claims) = keys.verify::<AccessClaims>(conn, token, Some("at+jwt"), false) else {
        return Ok(None);
    };
    if claims.iss != issuer {
        return Ok(None);
    }
    let live = match &claims.gid {
        Some(gid) => Grant::is_active(conn, gid)?,
        None => !revoked_token::is_revoked(conn, &claims.jti)?,
    };
    Ok(live.then_some(claims))
}

/// A refresh token that is current (not rotated, expired or revoked) and whose grant it is.
fn active_refresh_token(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<(RefreshToken, Grant)>, AppError> {
    let Some(stored) = RefreshToken::find_by_hash(conn, &sha256_hex(token))? else {
        return Ok(None);
    };
    if stored.used_at.is_some() || stored.expires_at <= now {
        return Ok(None);
    }
    let Some(grant) = Grant::find(conn, &stored.grant_id)? else {
        return Ok(None);
    };
    Ok(grant.revoked_at.is_none().then_some((stored, grant)))
}

/// RFC 7662 §2.2. Refresh tokens are only described to the client they belong to.
pub fn introspect(
    conn: &mut DbConnection,
    keys: &KeyStore,
    issuer: &str,
    client: &Client,
    token: &str,
    now: NaiveDateTime,
) -> Result<Value, AppError> {
    let inactive = json!({ "active": false });
    if token.contains('.') {
        return Ok(match active_access_token(conn, keys, issuer, token)? {
            Some(c) => {
                let mut v = json!({
                    "active": true,
                    "token_type": "Bearer",
                    "scope": c.scope,
                    "client_id": c.client_id,
                    "sub": c.sub,
                    "aud": c.aud,
                    "iss": c.iss,
                    "exp": c.exp,
                    "iat": c.iat,
                    "jti": c.jti,
                });
                if let Some(t) = c.auth_time {
                    v["auth_time"] = json!(t);
                }
                v
            }
            None => inactive,
        });
    }
    Ok(match active_refresh_token(conn, token, now)? {
        Some((stored, grant)) if grant.client_id == client.id => json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": grant.scope,
            "client_id": grant.client_id,
            "sub": grant.user_id,
            "iss": issuer,
            "exp": unix(stored.expires_at),
            "iat": unix(stored.created_at),
        }),
        _ => inactive,
    })
}

/// RFC 7009 §2.1: revoking either token of a grant revokes the grant, and with it every token
/// issued from it. Unknown tokens and other clients' tokens are ignored (the answer is the same).
pub fn revoke(
    conn: &mut DbConnection,
    keys: &KeyStore,
    issuer: &str,
    client: &Client,
    token: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if token.contains('.') {
        if let Some(c) = active_access_token(conn, keys, issuer, token)? {
            if c.client_id == client.id {
                match &c.gid {
                    Some(gid) => {
                        Grant::revoke(conn, gid, now)?;
                    }
                    None => revoked_token::revoke(
                        conn,
                        &c.jti,
                        chrono::DateTime::from_timestamp(c.exp, 0).map_or(now, |t| t.naive_utc()),
                    )?,
                }
            }
        }
        return Ok(());
    }
    if let Some(stored) = RefreshToken::find_by_hash(conn, &sha256_hex(token))? {
        if let Some(grant) = Grant::find(conn, &stored.grant_id)? {
            if grant.client_id == client.id {
                Grant::revoke(conn, &grant.id, now)?;
            }
        }
    }
    Ok(())
}
