//! UserInfo (OIDC Core §5.3): the claims a live access token may read.
//!
//! Split in two so that a forged, expired or foreign token never takes a database slot: the
//! signature is checked first on the request's thread; only a well-signed token of ours goes on
//! to the one query that finds its user through its (unrevoked) grant.

use serde_json::Value;

use super::claim_rules::{self, ClaimSubject, ClaimTarget};
use super::claims::{self, AccessClaims};
use super::jwt::{self, VerifyError};
use super::keys::KeyStore;
use super::scope::Scope;
use crate::db::models::{OAuthClient, User};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::identity::groups;
use crate::identity::ids::UserId;

/// What the signature check alone could decide.
pub enum Checked {
    /// Ours, well signed, not expired: the grant and user are still to be checked.
    Signed(Box<AccessClaims>),
    /// Signed by a key this replica has not loaded: another replica (or the CLI) may have
    /// rotated keys, so the check is repeated with a key reload inside the query half.
    UnknownKey,
    /// Not a token this server issued, or expired.
    Invalid,
}

/// The CPU half (a signature verification, tens of microseconds): no I/O.
pub fn check_signature(keys: &KeyStore, issuer: &str, token: &str) -> Checked {
    match jwt::verify::<AccessClaims>(&keys.current(), token, Some("at+jwt"), false) {
        Ok(c) if c.iss == issuer && c.gid.is_some() => Checked::Signed(Box::new(c)),
        Ok(_) => Checked::Invalid,
        Err(VerifyError::UnknownKey) => Checked::UnknownKey,
        Err(_) => Checked::Invalid,
    }
}

/// The database half: the claims, or `None` when the token is not (or no longer) good for
/// UserInfo. Client-credentials tokens have no grant and no user, so they never are.
pub fn claims_for(
    conn: &mut DbConnection,
    keys: &KeyStore,
    issuer: &str,
    token: &str,
    checked: Checked,
) -> Result<Option<Value>, AppError> {
    let access = match checked {
        Checked::Signed(c) => *c,
        Checked::Invalid => return Ok(None),
        Checked::UnknownKey => {
            match keys.verify::<AccessClaims>(conn, token, Some("at+jwt"), false) {
                Ok(c) if c.iss == issuer => c,
                _ => return Ok(None),
            }
        }
    };
    let Some(gid) = access.gid.as_ref() else {
        return Ok(None);
    };
    // Client-credentials tokens carry the client as `sub`: no user, no UserInfo.
    let Some(sub) = UserId::parse(&access.sub) else {
        return Ok(None);
    };
    let Some((user, profile, settings)) = User::find_with_live_grant(conn, &sub, gid)? else {
        return Ok(None);
    };
    let scope = Scope::from_stored(&access.scope);
    // Read at every call, like the groups, so a changed rule or membership shows at once.
    let rules = OAuthClient::claim_rules(conn, &access.client_id)?.unwrap_or_default();
    let groups = if scope.contains("groups")
        || claim_rules::any_apply(&rules, ClaimTarget::Userinfo, &scope)
    {
        groups::names_of_user(conn, &user.id)?
    } else {
        Vec::new()
    };
    let subject = ClaimSubject {
        user: &user,
        profile: profile.as_ref(),
        settings: settings.as_ref(),
        groups: &groups,
    };
    Ok(Some(claims::userinfo(&subject, &scope, &rules)))
}
