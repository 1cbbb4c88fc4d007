//! The admin role (issue 14, part 1): granted and withdrawn by admins, the CLI or the bootstrap
//! setting, always audited with who did it. The last admin who can sign in cannot lose the role
//! (nor be disabled or deleted by an admin), so an installation is never left without one by
//! accident; the CLI can still repair anything.

use chrono::NaiveDateTime;

use super::{AdminError, AdminResult};
use crate::db::models::User;
use crate::db::{write_transaction, DbConnection};
use crate::identity::audit::{self, Actor, AuditKind, Event};
use crate::identity::credentials::{create_user, NewIdentity};
use crate::identity::email::Email;
use crate::identity::ids::UserId;

/// Gives `user` the admin role. False when they already had it.
pub fn grant(
    conn: &mut DbConnection,
    actor: &Actor,
    user: &UserId,
    now: NaiveDateTime,
) -> AdminResult<bool> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        User::find(conn, user)?.ok_or(AdminError::NotFound("user"))?;
        if User::set_admin(conn, user, true, now)? == 0 {
            return Ok(false);
        }
        let event = Event {
            user: Some(user),
            actor: Some(actor),
            ..Event::new(AuditKind::AdminGranted)
        };
        audit::record_event(conn, &event, now)?;
        Ok(true)
    })
}

/// Takes the admin role away. False when they did not have it.
pub fn revoke(
    conn: &mut DbConnection,
    actor: &Actor,
    user: &UserId,
    now: NaiveDateTime,
) -> AdminResult<bool> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let found = User::find(conn, user)?.ok_or(AdminError::NotFound("user"))?;
        if found.is_admin && found.disabled_at.is_none() {
            refuse_if_last_admin(conn)?;
        }
        if User::set_admin(conn, user, false, now)? == 0 {
            return Ok(false);
        }
        let event = Event {
            user: Some(user),
            actor: Some(actor),
            ..Event::new(AuditKind::AdminRevoked)
        };
        audit::record_event(conn, &event, now)?;
        Ok(true)
    })
}

/// Inside the caller's transaction, before an active admin stops being one (role withdrawn,
/// disabled, deleted, merged away).
pub fn refuse_if_last_admin(conn: &mut DbConnection) -> AdminResult<()> {
    if User::count_active_admins(conn)? <= 1 {
        return Err(AdminError::Conflict(
            "this is the last admin who can sign in: make someone else an admin first".into(),
        ));
    }
    Ok(())
}

/// What the bootstrap did at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Someone already is an admin, or no bootstrap address is set: nothing done.
    NotNeeded,
    /// The existing user with the address got the role.
    Granted(UserId),
    /// The user was created with the bootstrap password, and got the role.
    Created(UserId),
    /// No such user and no password to create one with.
    NoPassword,
    /// The user with the address never proved it: anyone could have signed up with it, so it
    /// gets nothing.
    Unverified,
}

/// The first admin (`[admin] bootstrap_email`): only while no active admin exists, so removing the
/// setting later changes nothing and setting it on a running installation takes nothing over.
/// `password_hash`: the bootstrap password, hashed by the caller (off the executor), if one is set.
pub fn bootstrap(
    conn: &mut DbConnection,
    email: &Email,
    password_hash: Option<&str>,
    now: NaiveDateTime,
) -> AdminResult<Bootstrap> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        if User::count_active_admins(conn)? > 0 {
            return Ok(Bootstrap::NotNeeded);
        }
        let event = |user| Event {
            user: Some(user),
            actor: Some(&Actor::Config),
            detail: Some("bootstrap"),
            ..Event::new(AuditKind::AdminGranted)
        };
        if let Some(user) = User::find_by_email(conn, email.as_str())? {
            if !user.email_verified {
                return Ok(Bootstrap::Unverified);
            }
            User::set_admin(conn, &user.id, true, now)?;
            audit::record_event(conn, &event(&user.id), now)?;
            return Ok(Bootstrap::Granted(user.id));
        }
        let Some(hash) = password_hash else {
            return Ok(Bootstrap::NoPassword);
        };
        let new = NewIdentity {
            email,
            name: "Administrator",
            password_hash: Some(hash),
            email_verified: true,
            is_admin: true,
        };
        let created = create_user(conn, &new)?.ok_or_else(|| {
            AdminError::Conflict("the bootstrap address was taken meanwhile".into())
        })?;
        audit::record_event(conn, &event(&created.id), now)?;
        Ok(Bootstrap::Created(created.id))
    })
}
