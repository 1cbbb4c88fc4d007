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
use diesel::QueryResult;

use super::audit::{self, AuditKind};
use super::ids::{AccountId, UserId};
use super::verification::{self, Purpose};
use crate::db::models::{Account, Session, User};
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
    /// Only when the login page offers a way in besides the password.
    login_link: Option<String>,
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
        login_link: links
            .other_ways_in
            .then(|| format!("{}/login", links.issuer)),
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

/// A change to the account's second factor, or to its passkeys (each is a way in by itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactorChange {
    Enabled,
    Disabled,
    RecoveryCodeUsed,
    /// A passkey with this name was registered.
    PasskeyAdded(String),
    /// A passkey with this name was removed.
    PasskeyRemoved(String),
}

#[derive(Serialize)]
struct SecondFactorNotice<'a> {
    name: &'a str,
    when: String,
    title: &'static str,
    intro: &'static str,
    /// The passkey's name, for the passkey notices.
    passkey: Option<String>,
    security_link: String,
}

/// Two-factor sign-in turned on or off, a recovery code used, a passkey added or removed. Sent
/// whatever the notice setting: each adds a way in, weakens or bypasses a factor, and is rare.
pub fn second_factor_changed(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    change: SecondFactorChange,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let locale = recipient_locale(conn, links, user)?;
    let (title, intro, passkey, page) = match change {
        SecondFactorChange::Enabled => ("notice-mfa-on-title", "notice-mfa-on-intro", None, ""),
        SecondFactorChange::Disabled => ("notice-mfa-off-title", "notice-mfa-off-intro", None, ""),
        SecondFactorChange::RecoveryCodeUsed => {
            ("notice-recovery-title", "notice-recovery-intro", None, "")
        }
        SecondFactorChange::PasskeyAdded(name) => (
            "notice-passkey-added-title",
            "notice-passkey-added-intro",
            Some(name),
            "/passkeys",
        ),
        SecondFactorChange::PasskeyRemoved(name) => (
            "notice-passkey-removed-title",
            "notice-passkey-removed-intro",
            Some(name),
            "/passkeys",
        ),
    };
    let notice = SecondFactorNotice {
        name: &user.name,
        when: display_time(now, time_zone_of(conn, &user.id)?),
        title,
        intro,
        passkey,
        security_link: if page.is_empty() {
            format!("{}/account/security", links.issuer)
        } else {
            format!("{}/account{page}", links.issuer)
        },
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

/// How long the "this was not me" link of a linked-method notice works.
pub const NOT_ME_DAYS: i64 = 7;

#[derive(Serialize)]
struct Linked<'a> {
    name: &'a str,
    when: String,
    provider: &'a str,
    not_me_link: String,
    methods_link: String,
}

/// A new way in was linked (automatically, after proof, or by the person from their account
/// page). Sent whatever the notice setting, with a one-click "this was not me" link that
/// unlinks it and ends the sessions it opened (`unlink_not_me`).
pub fn method_linked(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    provider_name: &str,
    account_id: &AccountId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let identifier = format!("{}|{account_id}", user.id);
    let ttl = chrono::Duration::days(NOT_ME_DAYS);
    let token = verification::issue_link(conn, &identifier, Purpose::NotMe, ttl, now)?;
    let locale = recipient_locale(conn, links, user)?;
    let notice = Linked {
        name: &user.name,
        when: display_time(now, time_zone_of(conn, &user.id)?),
        provider: provider_name,
        not_me_link: format!("{}/link/not-me?token={token}", links.issuer),
        methods_link: format!("{}/account/methods", links.issuer),
    };
    let mail = compose(
        &links.templates,
        "method_linked",
        &user.email,
        locale,
        &notice,
    )?;
    enqueue(conn, &mail, now)
}

/// What a "this was not me" link names, if it is still valid (not used up).
pub fn peek_not_me(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(UserId, AccountId)>> {
    let identifier = verification::peek_link(conn, token, Purpose::NotMe, now)?;
    Ok(identifier.as_deref().and_then(parse_not_me))
}

fn parse_not_me(identifier: &str) -> Option<(UserId, AccountId)> {
    let (user, account) = identifier.split_once('|')?;
    Some((UserId::parse(user)?, AccountId::parse(account)?))
}

/// "This was not me": unlinks the linked account the notice was about and ends every session
/// it opened (sessions signed in with that provider), queueing their back-channel logouts. Even
/// the last way in goes: the owner still has their address, to reset the password. Audited.
/// `None` when the link is unknown, used or expired; `Some(false)` when the account was
/// unlinked already.
pub fn unlink_not_me(
    conn: &mut DbConnection,
    token: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<bool>, AppError> {
    crate::db::write_transaction(conn, |conn| {
        let identifier = verification::consume_link(conn, token, Purpose::NotMe, now)?;
        let Some((user_id, account_id)) = identifier.as_deref().and_then(parse_not_me) else {
            return Ok(None);
        };
        let Some(account) = Account::for_user(conn, &user_id)?
            .into_iter()
            .find(|a| a.id == account_id)
        else {
            return Ok(Some(false));
        };
        Account::delete_for_user(conn, &user_id, &account.id)?;
        let method = format!("fed:{}", account.provider_id);
        let opened: Vec<_> = Session::for_user(conn, &user_id)?
            .into_iter()
            .filter(|s| s.auth_method == method || s.auth_method.starts_with(&format!("{method}+")))
            .filter(|s| s.created_at >= account.created_at)
            .collect();
        for session in &opened {
            super::sessions::end(conn, &user_id, &session.id, now)?;
        }
        audit::record(
            conn,
            AuditKind::AccountUnlinked,
            Some(&user_id),
            ip,
            Some(&format!(
                "{} not_me, {} session(s) ended",
                account.provider_id,
                opened.len()
            )),
            now,
        )?;
        Ok(Some(true))
    })
}
