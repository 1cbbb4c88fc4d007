//! Short-lived single-use tokens (email verification, password reset, magic links, email
//! codes), keyed by an identifier (usually the email), stored as SHA-256 only.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::ids::{UserId, VerificationId};
use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::db::models::Verification;
use crate::db::schema::verifications;
use crate::db::DbConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Proves an address: identifier `user_id|email` (also for a new address on change).
    VerifyEmail,
    ResetPassword,
    MagicLink,
    EmailCode,
    /// A first factor proven, waiting for the second: identifier `user_id|proven_at|method`.
    SecondFactor,
    /// An upstream identity waiting for the owner of the matching account to prove it; the
    /// token is the browser's cookie. Identifier `user_id|{held identity as JSON}`.
    PendingLink,
    /// A link mailed to prove an account for a pending link: `user_id|sha256(cookie token)`.
    LinkProof,
    /// The "this was not me" link of a linked-method notice: `user_id|account_id`.
    NotMe,
    /// A merge started by a signed-in user (the survivor), waiting for them to sign in to the
    /// other account in the same browser: `user_id|`.
    MergePending,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::MagicLink => "magic_link",
            Purpose::EmailCode => "email_code",
            Purpose::SecondFactor => "second_factor",
            Purpose::PendingLink => "pending_link",
            Purpose::LinkProof => "link_proof",
            Purpose::NotMe => "not_me",
            Purpose::MergePending => "merge_pending",
        }
    }
}

fn insert(
    conn: &mut DbConnection,
    identifier: &str,
    purpose: Purpose,
    secret: &str,
    ttl: Duration,
    now: NaiveDateTime,
) -> QueryResult<()> {
    Verification::insert(
        conn,
        &Verification {
            id: VerificationId::generate(),
            identifier: identifier.into(),
            purpose: purpose.as_str().into(),
            value_hash: sha256_hex(secret),
            expires_at: now + ttl,
            created_at: now,
            attempts: 0,
        },
    )
    .map(|_| ())
}

/// Issues a 256-bit link token, replacing earlier ones for the same identifier and purpose.
pub fn issue_link(
    conn: &mut DbConnection,
    identifier: &str,
    purpose: Purpose,
    ttl: Duration,
    now: NaiveDateTime,
) -> QueryResult<String> {
    revoke(conn, identifier, purpose)?;
    let token = random_token(32);
    insert(conn, identifier, purpose, &token, ttl, now)?;
    Ok(token)
}

fn find_link(
    conn: &mut DbConnection,
    token: &str,
    purpose: Purpose,
) -> QueryResult<Option<Verification>> {
    if token.len() != 43 {
        return Ok(None);
    }
    verifications::table
        .filter(verifications::value_hash.eq(sha256_hex(token)))
        .filter(verifications::purpose.eq(purpose.as_str()))
        .select(Verification::as_select())
        .first(conn)
        .optional()
}

/// The identifier a link token of this purpose was issued for, if it is still valid, without
/// using it up: pages opened from a mail say at once when the link is dead.
pub fn peek_link(
    conn: &mut DbConnection,
    token: &str,
    purpose: Purpose,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    Ok(find_link(conn, token, purpose)?
        .filter(|f| f.expires_at > now)
        .map(|f| f.identifier))
}

/// Uses up a link token of this purpose; the identifier it was issued for, if valid.
pub fn consume_link(
    conn: &mut DbConnection,
    token: &str,
    purpose: Purpose,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let Some(found) = find_link(conn, token, purpose)? else {
        return Ok(None);
    };
    // Delete first: whoever deletes the row owns the token (single use under concurrency).
    let deleted = diesel::delete(verifications::table.find(&found.id)).execute(conn)?;
    Ok((deleted == 1 && found.expires_at > now).then_some(found.identifier))
}

/// A 6-digit code. Codes are short, so the row also counts wrong tries.
pub fn issue_code(
    conn: &mut DbConnection,
    identifier: &str,
    ttl: Duration,
    now: NaiveDateTime,
) -> QueryResult<String> {
    use rand::Rng;
    revoke(conn, identifier, Purpose::EmailCode)?;
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    // The identifier salts the hash, so equal codes for two people hash differently.
    insert(
        conn,
        identifier,
        Purpose::EmailCode,
        &format!("{identifier}|{code}"),
        ttl,
        now,
    )?;
    Ok(code)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Valid,
    Wrong,
    /// Expired, never issued, or locked after too many wrong tries.
    Unusable,
}

/// Checks a code; a wrong try counts, and the `max_attempts`-th wrong try destroys the code.
pub fn check_code(
    conn: &mut DbConnection,
    identifier: &str,
    code: &str,
    max_attempts: i32,
    now: NaiveDateTime,
) -> QueryResult<CodeCheck> {
    let found: Option<Verification> = verifications::table
        .filter(verifications::identifier.eq(identifier))
        .filter(verifications::purpose.eq(Purpose::EmailCode.as_str()))
        .select(Verification::as_select())
        .first(conn)
        .optional()?;
    let Some(found) = found else {
        return Ok(CodeCheck::Unusable);
    };
    if found.expires_at <= now || found.attempts >= max_attempts {
        diesel::delete(verifications::table.find(&found.id)).execute(conn)?;
        return Ok(CodeCheck::Unusable);
    }
    let candidate = sha256_hex(&format!("{identifier}|{}", code.trim()));
    if constant_time_eq(candidate.as_bytes(), found.value_hash.as_bytes()) {
        let deleted = diesel::delete(verifications::table.find(&found.id)).execute(conn)?;
        return Ok(if deleted == 1 {
            CodeCheck::Valid
        } else {
            CodeCheck::Unusable
        });
    }
    let attempts = found.attempts + 1;
    if attempts >= max_attempts {
        diesel::delete(verifications::table.find(&found.id)).execute(conn)?;
    } else {
        diesel::update(verifications::table.find(&found.id))
            .set(verifications::attempts.eq(attempts))
            .execute(conn)?;
    }
    Ok(CodeCheck::Wrong)
}

/// Revokes every token of `purpose` issued for this user (identifiers `user_id|…`).
pub fn revoke_for_user(
    conn: &mut DbConnection,
    user_id: &UserId,
    purpose: Purpose,
) -> QueryResult<usize> {
    let prefix = format!("{user_id}|");
    let ids: Vec<(VerificationId, String)> = verifications::table
        .filter(verifications::purpose.eq(purpose.as_str()))
        .filter(verifications::identifier.like(format!("{prefix}%")))
        .select((verifications::id, verifications::identifier))
        .load(conn)?;
    let mut n = 0;
    for (id, _) in ids.iter().filter(|(_, ident)| ident.starts_with(&prefix)) {
        n += diesel::delete(verifications::table.find(id)).execute(conn)?;
    }
    Ok(n)
}

pub fn revoke(conn: &mut DbConnection, identifier: &str, purpose: Purpose) -> QueryResult<usize> {
    diesel::delete(
        verifications::table
            .filter(verifications::identifier.eq(identifier))
            .filter(verifications::purpose.eq(purpose.as_str())),
    )
    .execute(conn)
}
