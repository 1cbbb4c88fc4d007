//! An administrator's controls over a user (issue 12): disabling and enabling them, and
//! resetting their second factors. The CLI calls these today and the admin API will call the
//! same functions, so the two cannot disagree.
//!
//! Disabling is one write transaction: the mark on the user, every session ended (with the
//! back-channel logouts their clients are owed queued in the outbox), every grant revoked (which
//! kills the codes, access and refresh tokens hanging off it) and the audit entry. While the mark
//! is set, sign-in is refused (`ensure_enabled`, called where every way in opens a session) and
//! old session cookies stop resolving (`sessions::resolve`).

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::audit::{self, Actor, AuditKind, Event};
use super::email_flows::Links;
use super::ids::{SessionId, UserId};
use super::sessions;
use crate::db::models::{Grant, User};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// What `disable` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disabling {
    /// Disabled now: these sessions were ended (wake the back-channel worker) and this many
    /// grants revoked.
    Disabled {
        ended_sessions: Vec<SessionId>,
        revoked_grants: usize,
    },
    /// Already disabled since then; nothing changed.
    AlreadyDisabled {
        since: NaiveDateTime,
    },
    NoSuchUser,
}

/// Disables a user: see the module documentation. `reason` is kept for administrators and the
/// audit log; the user is never shown it.
pub fn disable(
    conn: &mut DbConnection,
    user_id: &UserId,
    reason: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<Disabling> {
    write_transaction(conn, |conn| {
        let Some(user) = User::find(conn, user_id)? else {
            return Ok(Disabling::NoSuchUser);
        };
        if let Some(since) = user.disabled_at {
            return Ok(Disabling::AlreadyDisabled { since });
        }
        // Only the UPDATE that found the user enabled goes on, so two admins racing record one
        // disabling between them.
        if User::mark_disabled(conn, user_id, reason, now)? == 0 {
            let since = User::find(conn, user_id)?
                .and_then(|u| u.disabled_at)
                .unwrap_or(now);
            return Ok(Disabling::AlreadyDisabled { since });
        }
        // Sessions first: their back-channel rows are found through the grants, revoked or not.
        let ended_sessions = sessions::end_all_but(conn, user_id, None, now)?;
        let revoked_grants = Grant::revoke_all_for_user(conn, user_id, now)?;
        let event = Event {
            user: Some(user_id),
            actor: Some(actor),
            detail: reason,
            ..Event::new(AuditKind::UserDisabled)
        };
        audit::record_event(conn, &event, now)?;
        Ok(Disabling::Disabled {
            ended_sessions,
            revoked_grants,
        })
    })
}

/// What `enable` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enabling {
    Enabled,
    /// The user was not disabled; nothing changed.
    NotDisabled,
    NoSuchUser,
}

/// Lets a disabled user sign in again. Their old sessions and grants stay ended: they sign in
/// and authorize afresh.
pub fn enable(
    conn: &mut DbConnection,
    user_id: &UserId,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<Enabling> {
    write_transaction(conn, |conn| {
        if User::find(conn, user_id)?.is_none() {
            return Ok(Enabling::NoSuchUser);
        }
        if User::mark_enabled(conn, user_id, now)? == 0 {
            return Ok(Enabling::NotDisabled);
        }
        let event = Event {
            user: Some(user_id),
            actor: Some(actor),
            ..Event::new(AuditKind::UserEnabled)
        };
        audit::record_event(conn, &event, now)?;
        Ok(Enabling::Enabled)
    })
}

/// Removes a user's authenticator and recovery codes for someone who lost both, so the next
/// sign-in asks for the first factor alone. The user gets the usual "two-step sign-in turned
/// off" notice. False when they had none.
pub fn reset_second_factors(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    super::second_factor::remove(conn, links, user, None, "reset by an administrator", now)
}

/// The one rule every way in goes through before a session opens: a disabled user is refused.
/// Called only once the person proved who they are (password, link, code, upstream provider),
/// so the refusal tells nothing to someone who did not. The mark is read afresh, inside the
/// caller's transaction, so a user loaded before an administrator disabled them gets no session.
pub fn ensure_enabled(conn: &mut DbConnection, user: &User) -> Result<(), AppError> {
    if user.disabled_at.is_some() || User::is_disabled(conn, &user.id)? {
        return Err(AppError::AccountDisabled);
    }
    Ok(())
}
