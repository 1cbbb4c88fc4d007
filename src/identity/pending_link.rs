//! Proof before linking (issue 13): an upstream identity whose address matches an existing user
//! is not linked on the upstream's word. It waits here, short-lived, single use and bound to the
//! browser that brought it (the token lives only in that browser's cookie; the database keeps
//! its hash), until the person proves the existing account: by signing in to it, or by
//! following a link mailed to its verified address in the same browser. Cancelling, or proving
//! a different account, leaves both untouched.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::audit::{self, AuditKind};
use super::email_flows::{recipient_locale, Links};
use super::ids::UserId;
use super::linking::ProofWays;
use super::notices;
use super::verification::{self, Purpose};
use crate::crypto::sha256_hex;
use crate::db::models::{Account, NewAccount, User};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::mail::{compose, enqueue};
use crate::upstream::UpstreamProfile;

/// How long the upstream identity waits for the proof.
pub const TTL_MINUTES: i64 = 15;
/// The browser cookie carrying the pending link's token.
pub const COOKIE: &str = "portcullis_link";

/// What is held: enough to make the link later, nothing secret (no upstream tokens; they are
/// stored at the next sign-in with the provider, if it keeps them).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    provider: String,
    provider_name: String,
    subject: String,
    email: Option<String>,
    return_to: Option<String>,
    sign_in: bool,
    email_proof: bool,
}

/// A pending link, as the pages show it.
#[derive(Debug, Clone)]
pub struct PendingLink {
    /// The existing user whose address matched: the one who must prove the account.
    pub user: User,
    /// The provider's slug and display name.
    pub provider: String,
    pub provider_name: String,
    /// The address the upstream shared.
    pub email: Option<String>,
    pub ways: ProofWays,
    /// Where the sign-in that found the match was going.
    pub return_to: Option<String>,
    subject: String,
}

/// Holds an upstream identity for `user` to prove; the token goes into the browser's cookie.
#[allow(clippy::too_many_arguments)]
pub fn hold(
    conn: &mut DbConnection,
    user: &User,
    provider: &str,
    provider_name: &str,
    profile: &UpstreamProfile,
    ways: ProofWays,
    return_to: Option<&str>,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let held = Held {
        provider: provider.to_string(),
        provider_name: provider_name.to_string(),
        subject: profile.subject.clone(),
        email: profile.email.clone(),
        return_to: return_to.map(str::to_string),
        sign_in: ways.sign_in,
        email_proof: ways.email,
    };
    let json = serde_json::to_string(&held).map_err(|e| AppError::Internal(e.to_string()))?;
    let identifier = format!("{}|{json}", user.id);
    let ttl = Duration::minutes(TTL_MINUTES);
    Ok(verification::issue_link(
        conn,
        &identifier,
        Purpose::PendingLink,
        ttl,
        now,
    )?)
}

fn parse(conn: &mut DbConnection, identifier: &str) -> Result<Option<PendingLink>, AppError> {
    let Some((id, json)) = identifier.split_once('|') else {
        return Ok(None);
    };
    let (Some(user_id), Ok(held)) = (UserId::parse(id), serde_json::from_str::<Held>(json)) else {
        return Ok(None);
    };
    let Some(user) = User::find(conn, &user_id)? else {
        return Ok(None);
    };
    Ok(Some(PendingLink {
        user,
        provider: held.provider,
        provider_name: held.provider_name,
        email: held.email,
        ways: ProofWays {
            sign_in: held.sign_in,
            email: held.email_proof,
        },
        return_to: held.return_to,
        subject: held.subject,
    }))
}

/// The pending link behind the browser's token, if it is still valid; not used up.
pub fn peek(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<PendingLink>, AppError> {
    match verification::peek_link(conn, token, Purpose::PendingLink, now)? {
        Some(identifier) => parse(conn, &identifier),
        None => Ok(None),
    }
}

/// Drops the pending link: nothing is linked.
pub fn cancel(conn: &mut DbConnection, token: &str, now: NaiveDateTime) -> Result<(), AppError> {
    verification::consume_link(conn, token, Purpose::PendingLink, now)?;
    Ok(())
}

/// How completing a pending link ended.
#[derive(Debug)]
pub enum Completed {
    /// Linked; continue at `return_to` (for a sign-in under way) if any.
    Linked {
        provider: String,
        provider_name: String,
        return_to: Option<String>,
    },
    /// The account proven is not the one the address matched: nothing linked, pending dropped.
    OtherAccount { provider_name: String },
    /// Meanwhile the upstream identity was linked (to anyone): nothing more to do.
    AlreadyLinked { provider_name: String },
    /// Unknown, used or expired.
    Expired,
}

/// Makes the link once `proven` (the user who proved an account, `how`: `signed_in` or
/// `email`) is the one the address matched. One transaction: the pending state is used up,
/// the account row written, the link audited and its owner told.
pub fn complete(
    conn: &mut DbConnection,
    links: &Links,
    token: &str,
    proven: &UserId,
    how: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Completed, AppError> {
    write_transaction(conn, |conn| {
        let Some(identifier) = verification::consume_link(conn, token, Purpose::PendingLink, now)?
        else {
            return Ok(Completed::Expired);
        };
        let Some(pending) = parse(conn, &identifier)? else {
            return Ok(Completed::Expired);
        };
        if pending.user.id != *proven {
            audit::record(
                conn,
                AuditKind::LinkRefused,
                Some(&pending.user.id),
                ip,
                Some(&format!("{} other_account", pending.provider)),
                now,
            )?;
            return Ok(Completed::OtherAccount {
                provider_name: pending.provider_name,
            });
        }
        if Account::find_by_provider(conn, &pending.provider, &pending.subject)?.is_some() {
            return Ok(Completed::AlreadyLinked {
                provider_name: pending.provider_name,
            });
        }
        let account_id = super::ids::AccountId::generate();
        Account::insert(
            conn,
            &NewAccount {
                id: account_id.clone(),
                user_id: pending.user.id.clone(),
                provider_id: &pending.provider,
                account_id: &pending.subject,
                password_hash: None,
                created_at: now,
                updated_at: now,
            },
        )?;
        if let Some(email) = pending.email.as_deref() {
            Account::store_upstream(conn, &account_id, Some(email), None, None, None, None, now)?;
        }
        audit::record(
            conn,
            AuditKind::AccountLinked,
            Some(&pending.user.id),
            ip,
            Some(&format!("{} proven:{how}", pending.provider)),
            now,
        )?;
        notices::method_linked(
            conn,
            links,
            &pending.user,
            &pending.provider_name,
            &account_id,
            now,
        )?;
        Ok(Completed::Linked {
            provider: pending.provider,
            provider_name: pending.provider_name,
            return_to: pending.return_to,
        })
    })
}

#[derive(Serialize)]
struct ProofMail<'a> {
    name: &'a str,
    provider: &'a str,
    link: String,
}

/// Mails the owner of a pending link a link that proves their address, usable only in this
/// browser (it names the pending token's hash). Counted against the address's mail quota by
/// the caller. Returns false when the pending link is gone or cannot be proven by email.
pub fn send_proof(
    conn: &mut DbConnection,
    links: &Links,
    token: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let Some(pending) = peek(conn, token, now)? else {
        return Ok(false);
    };
    if !pending.ways.email || !pending.user.email_verified {
        return Ok(false);
    }
    write_transaction(conn, |conn| {
        let identifier = format!("{}|{}", pending.user.id, sha256_hex(token));
        let ttl = Duration::minutes(TTL_MINUTES);
        let secret = verification::issue_link(conn, &identifier, Purpose::LinkProof, ttl, now)?;
        let locale = recipient_locale(conn, links, &pending.user)?;
        let mail = compose(
            &links.templates,
            "link_proof",
            &pending.user.email,
            locale,
            &ProofMail {
                name: &pending.user.name,
                provider: &pending.provider_name,
                link: format!("{}/link/email?token={secret}", links.issuer),
            },
        )?;
        enqueue(conn, &mail, now)?;
        Ok(true)
    })
}

/// Checks a mailed proof link against the browser's pending token, using the mailed link up
/// when `consume`; the user it proves, if it holds.
pub fn check_proof(
    conn: &mut DbConnection,
    mailed: &str,
    token: &str,
    consume: bool,
    now: NaiveDateTime,
) -> Result<Option<UserId>, AppError> {
    let identifier = if consume {
        verification::consume_link(conn, mailed, Purpose::LinkProof, now)?
    } else {
        verification::peek_link(conn, mailed, Purpose::LinkProof, now)?
    };
    let Some((user_id, hash)) = identifier.as_deref().and_then(|i| i.split_once('|')) else {
        return Ok(None);
    };
    let expected = sha256_hex(token);
    let same_browser = crate::crypto::constant_time_eq(hash.as_bytes(), expected.as_bytes());
    Ok(same_browser.then(|| UserId::parse(user_id)).flatten())
}
