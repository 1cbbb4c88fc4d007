//! Security notices: mail about things that happened to an account, so its owner notices when it
//! was not them. Queued in the transaction of the change, and only for people who want them
//! (the "Email me about security events" setting). The notice after a password RESET is not
//! here: it goes out whatever the setting (see `email_flows::reset_password`).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::email_flows::{recipient_locale, Links};
use super::profile::{time_zone_of, wants_security_notices};
use super::sessions::{describe_user_agent, method_name, ClientInfo};
use super::time_zone::display_time;
use crate::db::models::User;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::{text, Msg};
use crate::mail::{compose, enqueue};

#[derive(Serialize)]
struct NewSignIn<'a> {
    name: &'a str,
    when: String,
    device: String,
    ip: String,
    method: String,
    sessions_link: String,
    settings_link: String,
}

/// A sign-in from a browser the account had not used before.
pub fn new_device_sign_in(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    method: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if !wants_security_notices(conn, &user.id)? {
        return Ok(());
    }
    let locale = recipient_locale(conn, links, user)?;
    let unknown = text(locale, &Msg::new("notice-unknown-ip"));
    let notice = NewSignIn {
        name: &user.name,
        when: display_time(now, time_zone_of(conn, &user.id)?),
        device: text(locale, &describe_user_agent(client.user_agent.as_deref())),
        ip: client.ip.clone().unwrap_or(unknown),
        method: method_name(method).map_or_else(|slug| slug, |m| text(locale, &m)),
        sessions_link: format!("{}/account/sessions", links.issuer),
        settings_link: format!("{}/account/settings", links.issuer),
    };
    let mail = compose(
        &links.templates,
        "new_device_sign_in",
        &user.email,
        locale,
        &notice,
    )?;
    enqueue(conn, &mail, now)
}

#[derive(Serialize)]
struct Changed<'a> {
    name: &'a str,
    when: String,
    old_email: &'a str,
    new_email: &'a str,
    reset_link: String,
    settings_link: String,
}

/// The password changed from the account page (by someone signed in).
pub fn password_changed(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    changed(
        conn,
        links,
        user,
        "account_password_changed",
        &user.email,
        &user.email,
        now,
    )
}

/// The address changed: the notice goes to the OLD address, the one an intruder cannot read.
pub fn email_changed(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    new_email: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    changed(
        conn,
        links,
        user,
        "email_changed",
        &user.email,
        new_email,
        now,
    )
}

fn changed(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    template: &str,
    old_email: &str,
    new_email: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if !wants_security_notices(conn, &user.id)? {
        return Ok(());
    }
    let locale = recipient_locale(conn, links, user)?;
    let notice = Changed {
        name: &user.name,
        when: display_time(now, time_zone_of(conn, &user.id)?),
        old_email,
        new_email,
        reset_link: format!("{}/forgot", links.issuer),
        settings_link: format!("{}/account/settings", links.issuer),
    };
    let mail = compose(&links.templates, template, old_email, locale, &notice)?;
    enqueue(conn, &mail, now)
}

#[derive(Serialize)]
struct Locked<'a> {
    name: &'a str,
    when: String,
    until: String,
    ip: String,
    reset_link: String,
    login_link: String,
    /// "yes" when passkeys are on: the mail offers them beside email links and codes.
    passkeys: &'static str,
}

/// Password sign-in was soft-locked after too many wrong passwords (`throttle`). Sent whatever
/// the notice setting: the owner must learn that someone is guessing, and how to get in anyway.
pub fn password_locked(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    ip: Option<&str>,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let locale = recipient_locale(conn, links, user)?;
    let zone = time_zone_of(conn, &user.id)?;
    let notice = Locked {
        name: &user.name,
        when: display_time(now, zone),
        until: display_time(until, zone),
        ip: ip.map_or_else(
            || text(locale, &Msg::new("notice-unknown-ip")),
            str::to_string,
        ),
        reset_link: format!("{}/forgot", links.issuer),
        login_link: format!("{}/login", links.issuer),
        passkeys: if links.passkeys { "yes" } else { "no" },
    };
    let mail = compose(
        &links.templates,
        "password_locked",
        &user.email,
        locale,
        &notice,
    )?;
    enqueue(conn, &mail, now)
}

#[derive(Serialize)]
struct AlreadyRegistered {
    login_link: String,
    reset_link: String,
}

/// Someone signed up with an address that already has an account. With verified addresses
/// required the page says "check your inbox" either way; this mail is what the owner of the
/// address finds there instead of a confirmation link.
pub fn already_registered(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let locale = recipient_locale(conn, links, user)?;
    let notice = AlreadyRegistered {
        login_link: format!("{}/login", links.issuer),
        reset_link: format!("{}/forgot", links.issuer),
    };
    let mail = compose(
        &links.templates,
        "already_registered",
        &user.email,
        locale,
        &notice,
    )?;
    enqueue(conn, &mail, now)
}

/// A change to the account's second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorChange {
    Enabled,
    Disabled,
    RecoveryCodeUsed,
}

#[derive(Serialize)]
struct SecondFactorNotice<'a> {
    name: &'a str,
    when: String,
    title: &'static str,
    intro: &'static str,
    security_link: String,
}

/// Two-factor sign-in turned on or off, or a recovery code used. Sent whatever the notice
/// setting: each weakens or bypasses a factor, and is rare.
pub fn second_factor_changed(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    change: SecondFactorChange,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let locale = recipient_locale(conn, links, user)?;
    let (title, intro) = match change {
        SecondFactorChange::Enabled => ("notice-mfa-on-title", "notice-mfa-on-intro"),
        SecondFactorChange::Disabled => ("notice-mfa-off-title", "notice-mfa-off-intro"),
        SecondFactorChange::RecoveryCodeUsed => ("notice-recovery-title", "notice-recovery-intro"),
    };
    let notice = SecondFactorNotice {
        name: &user.name,
        when: display_time(now, time_zone_of(conn, &user.id)?),
        title,
        intro,
        security_link: format!("{}/account/security", links.issuer),
    };
    let mail = compose(
        &links.templates,
        "second_factor_changed",
        &user.email,
        locale,
        &notice,
    )?;
    enqueue(conn, &mail, now)
}
