//! Merging two users into one (issue 13): a person who proves control of both (or an admin)
//! folds the `merged` user into the `survivor`. One transaction: a crash halfway leaves either
//! both users or one.
//!
//! - Sign-in methods move: upstream accounts and passkeys always; the password only when the
//!   survivor has none (two passwords cannot both be kept; the survivor's wins).
//! - The survivor's profile stays, except the name and picture when the person picks the other's.
//! - The merged user's sessions end (back-channel logouts queued), and its grants and consents
//!   go: relying applications knew it by another `sub` and must sign the person in again.
//! - Its second factors go too (the survivor keeps its own, or enrols one).
//! - Its group memberships move (a group both were in keeps one membership).
//! - Its audit trail moves to the survivor; `user_merge` remembers the merged ID for good
//!   (`merged_into`), so it never comes back and the passkeys that moved are still recognised.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditKind};
use super::ids::{SessionId, UserId};
use super::sessions;
use crate::db::models::{Account, Grant, User, CREDENTIAL_PROVIDER};
use crate::db::schema::{
    accounts, audit_event, passkey, recovery_code, totp_factor, user_merge, users, verifications,
};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// What the person chose to keep from the merged user's profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    pub their_name: bool,
    pub their_picture: bool,
}

/// How a merge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    Done {
        /// Upstream accounts and passkeys that moved, and whether the password did.
        moved_accounts: usize,
        moved_passkeys: usize,
        moved_password: bool,
        /// Group memberships that moved (groups the survivor was not in yet).
        moved_groups: usize,
        ended_sessions: Vec<SessionId>,
        revoked_grants: usize,
    },
    /// The two are one user.
    SameUser,
    /// One of them does not exist (any more).
    NoSuchUser,
}

/// Merges `merged` into `survivor`. The caller has checked the person proved both (or is an
/// admin); `how` says which, for the audit trail.
pub fn merge(
    conn: &mut DbConnection,
    survivor: &UserId,
    merged: &UserId,
    keep: Keep,
    how: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Merged, AppError> {
    if survivor == merged {
        return Ok(Merged::SameUser);
    }
    write_transaction(conn, |conn| {
        let (Some(kept), Some(gone)) = (User::find(conn, survivor)?, User::find(conn, merged)?)
        else {
            return Ok(Merged::NoSuchUser);
        };
        // Sign-in methods.
        let theirs = Account::for_user(conn, merged)?;
        let survivor_has_password = Account::credential_for_user(conn, survivor)?
            .is_some_and(|a| a.password_hash.is_some());
        let mut moved_accounts = 0;
        let mut moved_password = false;
        for account in &theirs {
            let is_password = account.provider_id == CREDENTIAL_PROVIDER;
            if is_password && (survivor_has_password || account.password_hash.is_none()) {
                continue; // goes with the user row
            }
            if is_password && Account::credential_for_user(conn, survivor)?.is_some() {
                // The survivor has a credential row without a password: take the hash over.
                diesel::update(
                    accounts::table
                        .filter(accounts::user_id.eq(survivor))
                        .filter(accounts::provider_id.eq(CREDENTIAL_PROVIDER)),
                )
                .set(accounts::password_hash.eq(&account.password_hash))
                .execute(conn)?;
                moved_password = true;
                continue;
            }
            diesel::update(accounts::table.find(&account.id))
                .set(accounts::user_id.eq(survivor))
                .execute(conn)?;
            if is_password {
                moved_password = true;
            } else {
                moved_accounts += 1;
            }
        }
        let moved_passkeys = diesel::update(passkey::table.filter(passkey::user_id.eq(merged)))
            .set(passkey::user_id.eq(survivor))
            .execute(conn)?;
        let moved_groups = super::groups::move_memberships(conn, survivor, merged)?;
        // Their second factors stay behind (and go with the row).
        diesel::delete(totp_factor::table.filter(totp_factor::user_id.eq(merged))).execute(conn)?;
        diesel::delete(recovery_code::table.filter(recovery_code::user_id.eq(merged)))
            .execute(conn)?;
        // Profile: the survivor's, unless the person picked the other's.
        if keep.their_name || keep.their_picture {
            let name = if keep.their_name {
                &gone.name
            } else {
                &kept.name
            };
            let image = if keep.their_picture {
                gone.image.as_deref()
            } else {
                kept.image.as_deref()
            };
            User::update_name_and_image(conn, survivor, name, image, now)?;
        }
        // Relying applications knew the merged user by its own `sub`.
        let ended_sessions = sessions::end_all_but(conn, merged, None, now)?;
        let revoked_grants = Grant::revoke_all_for_user(conn, merged, now)?;
        // Links and codes issued for them (identifiers `user_id|…`).
        let prefix = format!("{merged}|");
        let pending: Vec<(crate::identity::ids::VerificationId, String)> = verifications::table
            .filter(verifications::identifier.like(format!("{prefix}%")))
            .select((verifications::id, verifications::identifier))
            .load(conn)?;
        for (id, _) in pending.iter().filter(|(_, i)| i.starts_with(&prefix)) {
            diesel::delete(verifications::table.find(id)).execute(conn)?;
        }
        // History and the tombstone, then the row (the rest goes by cascade).
        diesel::update(audit_event::table.filter(audit_event::user_id.eq(merged)))
            .set(audit_event::user_id.eq(survivor))
            .execute(conn)?;
        diesel::update(user_merge::table.filter(user_merge::survivor_id.eq(merged)))
            .set(user_merge::survivor_id.eq(survivor))
            .execute(conn)?;
        diesel::insert_into(user_merge::table)
            .values((
                user_merge::merged_id.eq(merged),
                user_merge::survivor_id.eq(survivor),
                user_merge::merged_at.eq(now),
            ))
            .execute(conn)?;
        diesel::delete(users::table.find(merged)).execute(conn)?;
        audit::record(
            conn,
            AuditKind::UserMerged,
            Some(survivor),
            ip,
            Some(&format!("merged {merged} <{}> ({how})", gone.email)),
            now,
        )?;
        Ok(Merged::Done {
            moved_accounts,
            moved_passkeys,
            moved_password,
            moved_groups,
            ended_sessions,
            revoked_grants,
        })
    })
}

/// The user a merged ID now lives on, if it was merged.
pub fn merged_into(conn: &mut DbConnection, id: &UserId) -> QueryResult<Option<UserId>> {
    user_merge::table
        .find(id)
        .select(user_merge::survivor_id)
        .first(conn)
        .optional()
}

/// Every ID merged into `survivor` (for passkeys registered under an earlier ID).
pub fn merged_ids(conn: &mut DbConnection, survivor: &UserId) -> QueryResult<Vec<UserId>> {
    user_merge::table
        .filter(user_merge::survivor_id.eq(survivor))
        .select(user_merge::merged_id)
        .load(conn)
}

/// How long a merge started from the account page waits for the other account's sign-in.
pub const PENDING_MINUTES: i64 = 15;

/// Starts a merge into `survivor` (signed in now): the token goes into this browser's cookie,
/// and the person then signs in to the other account here.
pub fn begin(
    conn: &mut DbConnection,
    survivor: &UserId,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let ttl = chrono::Duration::minutes(PENDING_MINUTES);
    super::verification::issue_link(
        conn,
        &format!("{survivor}|"),
        super::verification::Purpose::MergePending,
        ttl,
        now,
    )
}

/// The survivor of a pending merge, if the token is still valid.
pub fn pending(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<User>> {
    let purpose = super::verification::Purpose::MergePending;
    let Some(identifier) = super::verification::peek_link(conn, token, purpose, now)? else {
        return Ok(None);
    };
    match identifier.strip_suffix('|').and_then(UserId::parse) {
        Some(id) => User::find(conn, &id),
        None => Ok(None),
    }
}

/// Finishes a pending merge: `proven` (signed in now, in the browser holding `token`) is merged
/// into the survivor who started it. `None` when the token is unknown, used or expired.
pub fn finish(
    conn: &mut DbConnection,
    token: &str,
    proven: &UserId,
    keep: Keep,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<(UserId, Merged)>, AppError> {
    write_transaction(conn, |conn| {
        let purpose = super::verification::Purpose::MergePending;
        let Some(identifier) = super::verification::consume_link(conn, token, purpose, now)? else {
            return Ok(None);
        };
        let Some(survivor) = identifier.strip_suffix('|').and_then(UserId::parse) else {
            return Ok(None);
        };
        let merged = merge(conn, &survivor, proven, keep, "signed in to both", ip, now)?;
        Ok(Some((survivor, merged)))
    })
}
