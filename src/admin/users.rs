//! Users as admins see and change them (issue 14): search, the full picture of one user, and
//! every change audited with who made it. The identity rules stay in `identity`; this composes
//! them and refuses what would leave the installation without an admin.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::role::refuse_if_last_admin;
use super::{AdminError, AdminResult, Page, Paging};
use crate::db::models::{Account, Grant, Profile, Session, User, UserFilter};
use crate::db::{is_unique_violation, write_transaction, DbConnection};
use crate::identity::audit::{self, Actor, AuditKind, Event};
use crate::identity::credentials::{create_user, NewIdentity};
use crate::identity::email::Email;
use crate::identity::email_flows::{self, Links};
use crate::identity::ids::{SessionId, UserId};
use crate::identity::user_status::{self, Disabling, Enabling};
use crate::identity::username::Username;
use crate::identity::{passkeys, second_factor};

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A user in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub admin: bool,
    /// When an admin disabled the user; absent while enabled.
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        UserSummary {
            id: u.id.to_string(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            name: u.name.clone(),
            admin: u.is_admin,
            disabled_at: u.disabled_at.map(utc),
            created_at: utc(u.created_at),
        }
    }
}

/// A way in from an upstream provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkedAccount {
    /// The provider's slug.
    pub provider: String,
    /// The address the provider gave, if any.
    pub email: Option<String>,
    pub linked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionSummary {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How the first factor was proven (`pwd`, `passkey`, `email`, `upstream:<slug>`, …).
    pub method: String,
    pub second_factor_at: Option<DateTime<Utc>>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl From<&Session> for SessionSummary {
    fn from(s: &Session) -> Self {
        SessionSummary {
            id: s.id.to_string(),
            created_at: utc(s.created_at),
            last_seen_at: utc(s.last_seen_at),
            expires_at: utc(s.expires_at),
            method: s.auth_method.clone(),
            second_factor_at: s.second_factor_at.map(utc),
            ip_address: s.ip_address.clone(),
            user_agent: s.user_agent.clone(),
        }
    }
}

/// An application the user authorized.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantSummary {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecondFactors {
    /// An authenticator app (TOTP).
    pub totp: bool,
    pub passkeys: usize,
    pub recovery_codes_left: i64,
}

/// Everything an admin needs to help a user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserSummary,
    pub picture: Option<String>,
    /// Why the user was disabled (never shown to them).
    pub disabled_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub has_password: bool,
    pub linked_accounts: Vec<LinkedAccount>,
    pub sessions: Vec<SessionSummary>,
    pub grants: Vec<GrantSummary>,
    pub second_factors: SecondFactors,
    /// The groups the user is in, by name (the `groups` claim).
    pub groups: Vec<String>,
    pub profile: ProfileFacts,
}

/// What the user wrote on their profile page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileFacts {
    /// Sent to applications as `preferred_username`.
    pub username: Option<String>,
    pub website: Option<String>,
    /// An IANA zone name.
    pub timezone: Option<String>,
    pub bio: Option<String>,
}

/// Users matching `filter`, newest first.
pub fn search(
    conn: &mut DbConnection,
    filter: &UserFilter,
    paging: Paging,
) -> AdminResult<Page<UserSummary>> {
    let rows = User::search(conn, filter, paging.probe_limit(), paging.offset)?;
    Ok(Page::from_probe(rows, paging).map(|u| UserSummary::from(&u)))
}

pub fn find(conn: &mut DbConnection, id: &str) -> AdminResult<User> {
    let id = UserId::parse(id).ok_or(AdminError::NotFound("user"))?;
    User::find(conn, &id)?.ok_or(AdminError::NotFound("user"))
}

/// A user named by ID or by address (the console's "add member" field, the CLI).
pub fn find_by_id_or_email(conn: &mut DbConnection, key: &str) -> AdminResult<User> {
    let key = key.trim();
    if let Some(id) = UserId::parse(key) {
        return User::find(conn, &id)?.ok_or(AdminError::NotFound("user"));
    }
    let email = Email::parse(key).map_err(|_| AdminError::NotFound("user"))?;
    User::find_by_email(conn, email.as_str())?.ok_or(AdminError::NotFound("user"))
}

pub fn detail(conn: &mut DbConnection, id: &str) -> AdminResult<UserDetail> {
    let user = find(conn, id)?;
    let accounts = Account::for_user(conn, &user.id)?;
    let has_password = accounts.iter().any(|a| {
        a.provider_id == crate::db::models::account::CREDENTIAL_PROVIDER
            && a.password_hash.is_some()
    });
    let linked_accounts = accounts
        .iter()
        .filter(|a| a.provider_id != crate::db::models::account::CREDENTIAL_PROVIDER)
        .map(|a| LinkedAccount {
            provider: a.provider_id.clone(),
            email: a.email.clone(),
            linked_at: utc(a.created_at),
        })
        .collect();
    let sessions = Session::for_user(conn, &user.id)?
        .iter()
        .map(SessionSummary::from)
        .collect();
    let grants = Grant::active_for_user(conn, &user.id)?
        .into_iter()
        .map(|(g, client_name)| GrantSummary {
            id: g.id.to_string(),
            client_id: g.client_id.to_string(),
            client_name,
            scope: g.scope,
            created_at: utc(g.created_at),
        })
        .collect();
    let second_factors = SecondFactors {
        totp: second_factor::has_totp(conn, &user.id)?,
        passkeys: passkeys::list(conn, &user.id)?.len(),
        recovery_codes_left: second_factor::recovery_codes_left(conn, &user.id)?,
    };
    let profile = Profile::find(conn, &user.id)?;
    let profile = ProfileFacts {
        username: profile.as_ref().and_then(|p| p.username.clone()),
        website: profile.as_ref().and_then(|p| p.website.clone()),
        timezone: profile.as_ref().and_then(|p| p.timezone.clone()),
        bio: profile.and_then(|p| p.bio),
    };
    Ok(UserDetail {
        profile,
        picture: user.image.clone(),
        disabled_reason: user.disabled_reason.clone(),
        updated_at: utc(user.updated_at),
        user: UserSummary::from(&user),
        has_password,
        linked_accounts,
        sessions,
        grants,
        second_factors,
        groups: crate::identity::groups::names_of_user(conn, &user.id)?,
    })
}

/// A user an admin creates. The password, if any, is hashed by the caller (off the executor).
#[derive(Debug, Clone)]
pub struct NewUserSpec {
    pub email: Email,
    pub name: String,
    pub password_hash: Option<String>,
    pub email_verified: bool,
    pub admin: bool,
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    spec: &NewUserSpec,
    now: NaiveDateTime,
) -> AdminResult<User> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let new = NewIdentity {
            email: &spec.email,
            name: &spec.name,
            password_hash: spec.password_hash.as_deref(),
            email_verified: spec.email_verified,
            is_admin: spec.admin,
        };
        let user = create_user(conn, &new)?
            .ok_or_else(|| AdminError::Conflict("a user with this email already exists".into()))?;
        let event = Event {
            user: Some(&user.id),
            actor: Some(actor),
            detail: spec.admin.then_some("admin"),
            ..Event::new(AuditKind::UserCreated)
        };
        audit::record_event(conn, &event, now)?;
        Ok(user)
    })
}

/// What an admin may change on a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserEdit {
    pub name: Option<String>,
    /// A new address: it counts as unverified unless `email_verified` says otherwise.
    pub email: Option<Email>,
    pub email_verified: Option<bool>,
    /// `Some(None)` removes the username.
    pub username: Option<Option<Username>>,
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    edit: &UserEdit,
    now: NaiveDateTime,
) -> AdminResult<User> {
    let result = write_transaction::<_, AdminError, _>(conn, |conn| {
        let user = find(conn, id)?;
        let mut changed = Vec::new();
        if let Some(name) = &edit.name {
            if *name != user.name {
                User::update_name_and_image(conn, &user.id, name, user.image.as_deref(), now)?;
                changed.push("name");
            }
        }
        let new_email = edit.email.as_ref().filter(|e| e.as_str() != user.email);
        if new_email.is_some()
            || edit
                .email_verified
                .is_some_and(|v| v != user.email_verified)
        {
            let email = new_email.map_or(user.email.as_str(), Email::as_str);
            let verified = edit
                .email_verified
                .unwrap_or(new_email.is_none() && user.email_verified);
            User::set_email(conn, &user.id, email, verified, now)?;
            if new_email.is_some() {
                changed.push("email");
            }
            if verified != user.email_verified {
                changed.push(if verified {
                    "email_verified"
                } else {
                    "email_unverified"
                });
            }
        }
        if let Some(username) = &edit.username {
            let current = Profile::find(conn, &user.id)?.and_then(|p| p.username);
            let wanted = username.as_ref().map(Username::as_str);
            if current.as_deref() != wanted {
                if let Some(name) = wanted {
                    if Profile::owner_of_username(conn, name)?.is_some() {
                        return Err(AdminError::Conflict(
                            "another user has this username".into(),
                        ));
                    }
                }
                Profile::set_username(conn, &user.id, wanted, now)?;
                changed.push("username");
            }
        }
        if !changed.is_empty() {
            let detail = changed.join(",");
            let event = Event {
                user: Some(&user.id),
                actor: Some(actor),
                detail: Some(&detail),
                ..Event::new(AuditKind::UserUpdated)
            };
            audit::record_event(conn, &event, now)?;
        }
        User::find(conn, &user.id)?.ok_or(AdminError::NotFound("user"))
    });
    match result {
        Err(AdminError::App(crate::error::AppError::Database(e))) if is_unique_violation(&e) => {
            Err(AdminError::Conflict(
                "another user has this email address or username".into(),
            ))
        }
        other => other,
    }
}

/// Disables the user: sessions end (back-channel logouts queued: wake the worker), grants are
/// revoked. The last active admin cannot be disabled this way.
pub fn disable(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> AdminResult<Disabling> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let user = find(conn, id)?;
        if user.is_admin && user.disabled_at.is_none() {
            refuse_if_last_admin(conn)?;
        }
        Ok(user_status::disable(conn, &user.id, reason, actor, now)?)
    })
}

pub fn enable(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> AdminResult<Enabling> {
    let user = find(conn, id)?;
    Ok(user_status::enable(conn, &user.id, actor, now)?)
}

/// Checks, inside no transaction, that deleting is allowed; the caller then deletes with
/// `management::delete_user` (which ends sessions first, for back-channel logout).
pub fn may_delete(conn: &mut DbConnection, id: &str) -> AdminResult<User> {
    let user = find(conn, id)?;
    if user.is_admin && user.disabled_at.is_none() {
        refuse_if_last_admin(conn)?;
    }
    Ok(user)
}

/// Ends every session of the user (back-channel logouts queued); returns them.
pub fn revoke_sessions(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> AdminResult<Vec<SessionId>> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let user = find(conn, id)?;
        let ended = crate::identity::sessions::end_all_but(conn, &user.id, None, now)?;
        let detail = format!("{} session(s)", ended.len());
        let event = Event {
            user: Some(&user.id),
            actor: Some(actor),
            detail: Some(&detail),
            ..Event::new(AuditKind::SessionRevoked)
        };
        audit::record_event(conn, &event, now)?;
        Ok(ended)
    })
}

/// Revokes every authorization the user gave (their tokens stop working); returns how many.
pub fn revoke_grants(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> AdminResult<usize> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let user = find(conn, id)?;
        let revoked = Grant::revoke_all_for_user(conn, &user.id, now)?;
        let detail = format!("{revoked} grant(s)");
        let event = Event {
            user: Some(&user.id),
            actor: Some(actor),
            detail: Some(&detail),
            ..Event::new(AuditKind::GrantsRevoked)
        };
        audit::record_event(conn, &event, now)?;
        Ok(revoked)
    })
}

/// Which mail an admin sends a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserMail {
    PasswordReset,
    Verification,
}

/// Queues the mail (wake the mail worker after). A verification mail for a verified address is
/// refused: it would do nothing.
pub fn send_mail(
    conn: &mut DbConnection,
    links: &Links,
    actor: &Actor,
    id: &str,
    which: UserMail,
    now: NaiveDateTime,
) -> AdminResult<()> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let user = find(conn, id)?;
        let detail = match which {
            UserMail::PasswordReset => {
                let email = Email::parse(&user.email)
                    .map_err(|e| AdminError::Invalid(format!("stored address: {e}")))?;
                email_flows::request_reset(conn, links, &email, now)?;
                "password_reset"
            }
            UserMail::Verification => {
                if user.email_verified {
                    return Err(AdminError::Conflict(
                        "the address is already verified".into(),
                    ));
                }
                email_flows::send_verification(conn, links, &user, &user.email, now)?;
                "verification"
            }
        };
        let event = Event {
            user: Some(&user.id),
            actor: Some(actor),
            detail: Some(detail),
            ..Event::new(AuditKind::UserMailSent)
        };
        audit::record_event(conn, &event, now)?;
        Ok(())
    })
}

/// A display name as sign-up checks it; the message in English, as the API and CLI speak it.
pub fn check_name(raw: &str) -> AdminResult<String> {
    let mut errors = crate::identity::FieldErrors::default();
    let name = crate::identity::clean_name(raw, &mut errors);
    match errors.get("name") {
        Some(msg) => Err(AdminError::Invalid(format!(
            "name: {}",
            crate::i18n::text(crate::i18n::Locale::En, msg)
        ))),
        None => Ok(name),
    }
}

/// An address as sign-up checks it.
/// An admin's username field: empty removes it.
pub fn check_username(raw: &str) -> AdminResult<Option<Username>> {
    Username::parse_optional(raw).map_err(|e| AdminError::Invalid(e.describe()))
}

pub fn check_email(raw: &str) -> AdminResult<Email> {
    Email::parse(raw).map_err(|e| AdminError::Invalid(format!("email: {e}")))
}
