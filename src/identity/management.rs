//! What a signed-in person does to their own account: password, sessions, deletion.

use super::audit::{self, AuditKind};
use super::credentials::replace_password;
use super::email_flows::Links;
use super::ids::{SessionId, UserId};
use super::notices;
use super::password::{PasswordHasher, Verdict};
use super::{now, FieldErrors};
use crate::db::models::{Account, Session, User};
use crate::db::Db;
use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("invalid form")]
    Invalid(FieldErrors),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<diesel::result::Error> for FormError {
    fn from(e: diesel::result::Error) -> Self {
        FormError::App(e.into())
    }
}

#[derive(Debug, Default, Clone)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
    pub confirm_password: String,
}

/// Whether the user has a password at all (upstream-only users will not).
pub async fn has_password(db: &Db, user_id: &UserId) -> Result<bool, AppError> {
    let user_id = user_id.clone();
    db.run(move |conn| {
        Ok(Account::credential_for_user(conn, &user_id)?
            .and_then(|a| a.password_hash)
            .is_some())
    })
    .await
}

/// Changes (or first sets) the password and ends every other session of the user; returns the
/// ended sessions (their clients get back-channel logout). Sends a notice if the person wants them.
pub async fn change_password(
    db: &Db,
    hasher: &PasswordHasher,
    links: Links,
    user_id: &UserId,
    current_session: &SessionId,
    change: PasswordChange,
) -> Result<Vec<SessionId>, FormError> {
    let uid = user_id.clone();
    let account = db
        .run(move |conn| Ok(Account::credential_for_user(conn, &uid)?))
        .await?;
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());

    let mut errors = FieldErrors::default();
    if stored.is_some() {
        if change.current_password.is_empty() {
            errors.add("current_password", "error-current-password-missing");
        } else if hasher.verify(change.current_password, stored).await? == Verdict::Mismatch {
            errors.add("current_password", "error-current-password-wrong");
        }
    }
    if let Err(e) = hasher.policy.check(&change.new_password) {
        errors.add("new_password", e.message());
    }
    if change.new_password != change.confirm_password {
        errors.add("confirm_password", "error-passwords-differ");
    }
    errors.into_result().map_err(FormError::Invalid)?;

    let hash = hasher.hash(change.new_password).await?;
    let user_id = user_id.clone();
    let keep = current_session.clone();
    let ended = db
        .run(move |conn| {
            let now = now();
            crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
                let ended = replace_password(conn, &user_id, &hash, Some(&keep), None, now)?;
                let user = User::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
                notices::password_changed(conn, &links, &user, now)?;
                Ok(ended)
            })
        })
        .await?;
    Ok(ended)
}

/// Deletes the account after re-checking the password; owned rows go by cascade.
pub async fn delete_account(
    db: &Db,
    hasher: &PasswordHasher,
    user_id: &UserId,
    password: String,
    confirm: &str,
) -> Result<(), FormError> {
    let uid = user_id.clone();
    let stored = db
        .run(
            move |conn| Ok(Account::credential_for_user(conn, &uid)?.and_then(|a| a.password_hash)),
        )
        .await?;
    let mut errors = FieldErrors::default();
    if stored.is_some() && hasher.verify(password, stored).await? == Verdict::Mismatch {
        errors.add("password", "error-password-wrong");
    }
    if confirm.trim() != "DELETE" {
        errors.add("confirm", "error-type-delete");
    }
    errors.into_result().map_err(FormError::Invalid)?;
    delete_user(db, user_id, None).await?;
    Ok(())
}

/// Removes a user and everything they own, leaving an audit entry. Shared with the CLI. Their
/// sessions are ended first, in the same transaction, so the clients of each are owed (and
/// queued) a back-channel logout rather than losing the session to the cascade unannounced.
/// `actor`: who deleted the user when it was not themselves (`None`: their own account page).
pub async fn delete_user(
    db: &Db,
    user_id: &UserId,
    actor: Option<audit::Actor>,
) -> Result<bool, AppError> {
    let user_id = user_id.clone();
    db.run(move |conn| {
        Ok(crate::db::write_transaction::<_, diesel::result::Error, _>(
            conn,
            |conn| {
                super::sessions::end_all_but(conn, &user_id, None, now())?;
                let deleted = User::delete(conn, &user_id)?;
                if deleted > 0 {
                    let detail = format!("user {user_id}");
                    let event = audit::Event {
                        actor: actor.as_ref(),
                        detail: Some(&detail),
                        ..audit::Event::new(AuditKind::AccountDeleted)
                    };
                    audit::record_event(conn, &event, now())?;
                }
                Ok(deleted > 0)
            },
        )?)
    })
    .await
}

pub async fn list_sessions(db: &Db, user_id: &UserId) -> Result<Vec<Session>, AppError> {
    let user_id = user_id.clone();
    db.run(move |conn| Ok(Session::for_user(conn, &user_id)?))
        .await
}

/// Revokes one of the user's own sessions; false when there was no such session of theirs.
pub async fn revoke_session(
    db: &Db,
    user_id: &UserId,
    session_id: &SessionId,
) -> Result<bool, AppError> {
    let (user_id, session_id) = (user_id.clone(), session_id.clone());
    db.run(move |conn| {
        Ok(crate::db::write_transaction::<_, diesel::result::Error, _>(
            conn,
            |conn| {
                let ended = super::sessions::end(conn, &user_id, &session_id, now())?;
                if ended {
                    audit::record(
                        conn,
                        AuditKind::SessionRevoked,
                        Some(&user_id),
                        None,
                        Some(session_id.as_str()),
                        now(),
                    )?;
                }
                Ok(ended)
            },
        )?)
    })
    .await
}

/// Ends every other session of the user; returns the ended sessions' ids.
pub async fn revoke_other_sessions(
    db: &Db,
    user_id: &UserId,
    keep: &SessionId,
) -> Result<Vec<SessionId>, AppError> {
    let (user_id, keep) = (user_id.clone(), keep.clone());
    db.run(move |conn| {
        Ok(crate::db::write_transaction::<_, diesel::result::Error, _>(
            conn,
            |conn| {
                let ended = super::sessions::end_all_but(conn, &user_id, Some(&keep), now())?;
                audit::record(
                    conn,
                    AuditKind::SessionRevoked,
                    Some(&user_id),
                    None,
                    Some("all others"),
                    now(),
                )?;
                Ok(ended)
            },
        )?)
    })
    .await
}
