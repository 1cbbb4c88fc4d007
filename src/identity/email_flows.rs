//! Everything that proves or recovers an account by email: address verification (also for a
//! changed address), password reset, magic links and one-time codes. Answers that could reveal
//! whether an address has an account are the same either way; callers show one message.

use super::ids::{SessionId, UserId};
use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

use super::audit::{self, AuditKind};
use super::credentials::replace_password;
use super::email::Email;
use super::verification::{self, CodeCheck, Purpose};
use crate::db::models::{User, UserSettings};
use crate::db::{is_unique_violation, DbConnection};
use crate::error::AppError;
use crate::i18n::Locale;
use crate::mail::{compose, enqueue};
use crate::web::templates::Templates;

pub const VERIFY_TTL_HOURS: i64 = 24;
pub const RESET_TTL_HOURS: i64 = 1;
pub const MAGIC_TTL_MINUTES: i64 = 15;
pub const CODE_TTL_MINUTES: i64 = 10;

/// What building a mail with a link needs.
#[derive(Clone)]
pub struct Links {
    pub issuer: String,
    pub templates: Templates,
    /// The locale of the request that causes the mail: used when the recipient has no
    /// translated language setting of their own (or no account yet).
    pub locale: Locale,
    /// Passkeys are on: mails that tell how else to sign in mention them.
    pub passkeys: bool,
}

/// The language of a mail to `user`: their own setting when we translate it, else the
/// request's. Mail is read later and elsewhere, so the person's choice beats the browser's.
pub(crate) fn recipient_locale(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
) -> Result<Locale, AppError> {
    let setting = UserSettings::find(conn, &user.id)?;
    Ok(setting
        .and_then(|s| Locale::from_tag(&s.language))
        .unwrap_or(links.locale))
}

#[derive(Serialize)]
struct LinkMail<'a> {
    name: &'a str,
    link: &'a str,
    minutes: i64,
}

fn url(issuer: &str, path: &str, token: &str, return_to: Option<&str>) -> String {
    let mut u = format!("{issuer}{path}?token={token}");
    if let Some(r) = return_to {
        u.push_str("&return_to=");
        u.push_str(&url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>());
    }
    u
}

/// Queues a verification link for `email` (the user's address, or the new one they asked for).
pub fn send_verification(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    email: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let token = verification::issue_link(
        conn,
        &format!("{}|{email}", user.id),
        Purpose::VerifyEmail,
        Duration::hours(VERIFY_TTL_HOURS),
        now,
    )?;
    let link = url(&links.issuer, "/verify-email", &token, None);
    let locale = recipient_locale(conn, links, user)?;
    let mail = compose(
        &links.templates,
        "verify_email",
        email,
        locale,
        &LinkMail {
            name: &user.name,
            link: &link,
            minutes: VERIFY_TTL_HOURS * 60,
        },
    )?;
    enqueue(conn, &mail, now)
}

#[derive(Debug, Clone)]
pub enum Verified {
    /// The user's own address is now verified.
    Address(User),
    /// The new address replaced the old one.
    Changed(User),
    /// The new address was taken by someone else meanwhile.
    Taken,
    Invalid,
}

/// Follows a verification link.
/// A changed address sends a notice to the old one (when the person wants notices).
pub fn confirm(
    conn: &mut DbConnection,
    links: &Links,
    token: &str,
    now: NaiveDateTime,
) -> Result<Verified, AppError> {
    let outcome = crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        let Some(identifier) = verification::consume_link(conn, token, Purpose::VerifyEmail, now)?
        else {
            return Ok(Verified::Invalid);
        };
        let Some((user_id, email)) = identifier.split_once('|') else {
            return Ok(Verified::Invalid);
        };
        let Some(user_id) = UserId::parse(user_id) else {
            return Ok(Verified::Invalid);
        };
        let Some(user) = User::find(conn, &user_id)? else {
            return Ok(Verified::Invalid);
        };
        User::set_email(conn, &user.id, email, true, now)?;
        if user.email != email {
            // Links still out there for this user (the old address, other pending changes) must
            // not be able to move the address again.
            verification::revoke_for_user(conn, &user.id, Purpose::VerifyEmail)?;
            audit::record(
                conn,
                AuditKind::EmailChanged,
                Some(&user.id),
                None,
                None,
                now,
            )?;
            super::notices::email_changed(conn, links, &user, email, now)?;
        }
        let fresh = User::find(conn, &user.id)?.ok_or(AppError::NotFound)?;
        Ok(if user.email == email {
            Verified::Address(fresh)
        } else {
            Verified::Changed(fresh)
        })
    });
    match outcome {
        Err(AppError::Database(e)) if is_unique_violation(&e) => Ok(Verified::Taken),
        other => other,
    }
}

/// Starts an email change: the new address must be verified before it replaces the old one.
pub fn request_change(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    new_email: &Email,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    if User::find_by_email(conn, new_email.as_str())?.is_some() {
        return Ok(false);
    }
    send_verification(conn, links, user, new_email.as_str(), now)?;
    Ok(true)
}

/// `/forgot`: a reset link, if the address has an account. Says nothing either way.
pub fn request_reset(
    conn: &mut DbConnection,
    links: &Links,
    email: &Email,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(user) = User::find_by_email(conn, email.as_str())? else {
        return Ok(());
    };
    let token = verification::issue_link(
        conn,
        &user.email,
        Purpose::ResetPassword,
        Duration::hours(RESET_TTL_HOURS),
        now,
    )?;
    let link = url(&links.issuer, "/reset", &token, None);
    let locale = recipient_locale(conn, links, &user)?;
    let mail = compose(
        &links.templates,
        "reset_password",
        &user.email,
        locale,
        &LinkMail {
            name: &user.name,
            link: &link,
            minutes: RESET_TTL_HOURS * 60,
        },
    )?;
    enqueue(conn, &mail, now)
}

/// Sets the new password from a reset link, ends every session and sends a notice.
/// `None` when the link is invalid, expired or used.
pub fn reset_password(
    conn: &mut DbConnection,
    links: &Links,
    token: &str,
    new_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<(User, Vec<SessionId>)>, AppError> {
    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        let Some(email) = verification::consume_link(conn, token, Purpose::ResetPassword, now)?
        else {
            return Ok(None);
        };
        let Some(user) = User::find_by_email(conn, &email)? else {
            return Ok(None);
        };
        let ended = replace_password(conn, &user.id, new_hash, None, Some("reset"), now)?;
        // Receiving the link proved the address.
        if !user.email_verified {
            User::set_email(conn, &user.id, &user.email, true, now)?;
        }
        #[derive(Serialize)]
        struct Notice<'a> {
            name: &'a str,
            link: String,
        }
        let locale = recipient_locale(conn, links, &user)?;
        let mail = compose(
            &links.templates,
            "password_changed",
            &user.email,
            locale,
            &Notice {
                name: &user.name,
                link: format!("{}/forgot", links.issuer),
            },
        )?;
        enqueue(conn, &mail, now)?;
        Ok(Some((user, ended)))
    })
}

/// A magic sign-in link, if the address has an account.
pub fn request_magic_link(
    conn: &mut DbConnection,
    links: &Links,
    email: &Email,
    return_to: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(user) = User::find_by_email(conn, email.as_str())? else {
        return Ok(());
    };
    let token = verification::issue_link(
        conn,
        &user.email,
        Purpose::MagicLink,
        Duration::minutes(MAGIC_TTL_MINUTES),
        now,
    )?;
    let link = url(&links.issuer, "/login/magic", &token, return_to);
    let locale = recipient_locale(conn, links, &user)?;
    let mail = compose(
        &links.templates,
        "magic_link",
        &user.email,
        locale,
        &LinkMail {
            name: &user.name,
            link: &link,
            minutes: MAGIC_TTL_MINUTES,
        },
    )?;
    enqueue(conn, &mail, now)
}

/// The user a magic link signs in (its address is thereby verified).
pub fn consume_magic_link(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<User>, AppError> {
    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        let Some(email) = verification::consume_link(conn, token, Purpose::MagicLink, now)? else {
            return Ok(None);
        };
        prove_address(conn, &email, now)
    })
}

/// A one-time code, if the address has an account.
pub fn request_code(
    conn: &mut DbConnection,
    links: &Links,
    email: &Email,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(user) = User::find_by_email(conn, email.as_str())? else {
        return Ok(());
    };
    let code =
        verification::issue_code(conn, &user.email, Duration::minutes(CODE_TTL_MINUTES), now)?;
    #[derive(Serialize)]
    struct CodeMail<'a> {
        name: &'a str,
        code: &'a str,
        minutes: i64,
    }
    let locale = recipient_locale(conn, links, &user)?;
    let mail = compose(
        &links.templates,
        "email_code",
        &user.email,
        locale,
        &CodeMail {
            name: &user.name,
            code: &code,
            minutes: CODE_TTL_MINUTES,
        },
    )?;
    enqueue(conn, &mail, now)
}

/// Checks a code; the user on success.
pub fn verify_code(
    conn: &mut DbConnection,
    email: &Email,
    code: &str,
    max_attempts: i32,
    now: NaiveDateTime,
) -> Result<(CodeCheck, Option<User>), AppError> {
    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        let check = verification::check_code(conn, email.as_str(), code, max_attempts, now)?;
        let user = if check == CodeCheck::Valid {
            prove_address(conn, email.as_str(), now)?
        } else {
            None
        };
        Ok((check, user))
    })
}

fn prove_address(
    conn: &mut DbConnection,
    email: &str,
    now: NaiveDateTime,
) -> Result<Option<User>, AppError> {
    let Some(user) = User::find_by_email(conn, email)? else {
        return Ok(None);
    };
    if !user.email_verified {
        User::set_email(conn, &user.id, &user.email, true, now)?;
    }
    Ok(User::find(conn, &user.id)?)
}
