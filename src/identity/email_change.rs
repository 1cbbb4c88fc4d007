//! Changing one's address from the profile page: the password proves it is the owner, and the
//! new address gets a link; it replaces the old one only when that link is followed
//! (`email_flows::confirm`).

use super::email::Email;
use super::email_flows::{self, Links};
use super::mail_quota::{self, MailQuota};
use super::password::{PasswordHasher, Verdict};
use super::{now, FieldErrors};
use crate::db::models::{Account, User};
use crate::db::Db;
use crate::error::AppError;

/// The profile page's email form.
#[derive(Debug, Clone, Default)]
pub struct ChangeEmail {
    pub new_email: String,
    /// Checked only when the account has a password (upstream-only accounts have none).
    pub current_password: String,
}

#[derive(Debug)]
pub enum ChangeRequest {
    /// A link went to the new address — or the address is taken and nothing went: the person
    /// is told the same either way, since telling would reveal who has an account.
    Sent,
    Invalid(FieldErrors),
    /// The mail quota for the new address or this client is used up.
    TooMany,
}

/// Checks the form and, when it is right and the quota allows, sends the link.
pub async fn request(
    db: &Db,
    hasher: &PasswordHasher,
    links: Links,
    quota: MailQuota,
    user: &User,
    form: ChangeEmail,
    ip: Option<String>,
) -> Result<ChangeRequest, AppError> {
    let mut errors = FieldErrors::default();
    let email = Email::parse(&form.new_email)
        .map_err(|e| errors.add("new_email", e.message()))
        .ok();
    let uid = user.id.clone();
    let stored = db
        .run(
            move |conn| Ok(Account::credential_for_user(conn, &uid)?.and_then(|a| a.password_hash)),
        )
        .await?;
    if stored.is_some() && hasher.verify(form.current_password, stored).await? == Verdict::Mismatch
    {
        errors.add("current_password", "error-current-password-wrong");
    }
    if email.as_ref().is_some_and(|e| e.as_str() == user.email) {
        errors.add("new_email", "error-email-same");
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Ok(ChangeRequest::Invalid(errors));
    };
    let user = user.clone();
    db.run(move |conn| {
        let now = now();
        if !mail_quota::allow(
            conn,
            &quota,
            "verify",
            Some(email.as_str()),
            ip.as_deref(),
            now,
        )? {
            return Ok(ChangeRequest::TooMany);
        }
        email_flows::request_change(conn, &links, &user, &email, now)?;
        Ok(ChangeRequest::Sent)
    })
    .await
}
