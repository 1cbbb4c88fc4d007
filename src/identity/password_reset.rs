//! Choosing a new password with a reset link (`/reset`). The link itself is issued and used up
//! by `email_flows`; this is the form's rules around it.

use super::email_flows::{self, Links};
use super::ids::SessionId;
use super::password::PasswordHasher;
use super::{now, FieldErrors};
use crate::db::Db;
use crate::error::AppError;

/// The reset form.
#[derive(Debug, Clone, Default)]
pub struct NewPassword {
    pub token: String,
    pub new_password: String,
    pub confirm_password: String,
}

#[derive(Debug)]
pub enum ResetOutcome {
    /// The password is replaced; these sessions were ended (their clients get back-channel
    /// logout).
    Done { ended_sessions: Vec<SessionId> },
    /// The form is wrong; the link is still unused.
    Invalid(FieldErrors),
    /// The link is invalid, expired or used.
    LinkDead,
}

/// Checks the new password against the policy and its confirmation before the link is used,
/// so a typo does not cost the person their link; then sets it (see
/// `email_flows::reset_password`).
pub async fn reset(
    db: &Db,
    hasher: &PasswordHasher,
    links: Links,
    form: NewPassword,
) -> Result<ResetOutcome, AppError> {
    let mut errors = FieldErrors::default();
    if let Err(e) = hasher.policy.check(&form.new_password) {
        errors.add("new_password", e.message());
    }
    if form.new_password != form.confirm_password {
        errors.add("confirm_password", "error-passwords-differ");
    }
    if !errors.is_empty() {
        return Ok(ResetOutcome::Invalid(errors));
    }
    let hash = hasher.hash(form.new_password).await?;
    let token = form.token;
    let done = db
        .run(move |conn| email_flows::reset_password(conn, &links, &token, &hash, now()))
        .await?;
    Ok(match done {
        Some((_, ended_sessions)) => ResetOutcome::Done { ended_sessions },
        None => ResetOutcome::LinkDead,
    })
}
