//! "One identity, many proofs": which user an upstream sign-in belongs to (DESIGN.md).
//!
//! - a known (provider, subject) signs its user in;
//! - a signed-in person who started from /account links the account to themself, unless it is
//!   already linked to someone else;
//! - an unknown subject whose email matches a user is linked only when the provider's policy
//!   allows it and both addresses are verified; otherwise the person must sign in to link;
//! - otherwise a new user is created.

use chrono::NaiveDateTime;

use super::audit::{self, AuditKind};
use super::credentials::{create_user, NewIdentity};
use super::email::Email;
use super::ids::{AccountId, UserId};
use crate::crypto::MasterKey;
use crate::db::models::{Account, NewAccount, User};
use crate::db::{is_unique_violation, write_transaction, DbConnection};
use crate::error::AppError;
use crate::upstream::config::{LinkPolicy, ProviderConfig};
use crate::upstream::{UpstreamProfile, UpstreamTokens};

#[derive(Debug, Clone)]
pub enum Resolution {
    /// The account was known: its user signs in.
    Existing(User),
    /// The account is now linked to this (existing) user.
    Linked(User),
    /// A new user was created with this account.
    Created(User),
}

impl Resolution {
    pub fn user(&self) -> &User {
        match self {
            Resolution::Existing(u) | Resolution::Linked(u) | Resolution::Created(u) => u,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("This {0} account is already linked to another Portcullis account.")]
    LinkedElsewhere(String),
    #[error("An account with the email {0} already exists. Sign in to it first, then link {1} from your account page.")]
    SignInToLink(String, String),
    #[error("{0} did not share an email address, and one is needed to create an account.")]
    NoEmail(String),
    #[error(
        "Confirm your email address {0} first: follow the link we sent you, then sign in again."
    )]
    Unverified(String),
}

impl LinkRefusal {
    /// What the refusal page says.
    pub fn message(&self) -> crate::i18n::Msg {
        use crate::i18n::Msg;
        match self {
            LinkRefusal::LinkedElsewhere(p) => {
                Msg::new("link-linked-elsewhere").with("provider", p.as_str())
            }
            LinkRefusal::SignInToLink(e, p) => Msg::new("link-sign-in-to-link")
                .with("email", e.as_str())
                .with("provider", p.as_str()),
            LinkRefusal::NoEmail(p) => Msg::new("link-no-email").with("provider", p.as_str()),
            LinkRefusal::Unverified(e) => Msg::new("link-unverified").with("email", e.as_str()),
        }
    }
}

/// Upstream tokens, encrypted for storage, when the provider keeps them.
struct SealedTokens {
    access: Option<String>,
    refresh: Option<String>,
    id: Option<String>,
    expires_at: Option<NaiveDateTime>,
}

fn seal(
    mk: &MasterKey,
    cfg: &ProviderConfig,
    tokens: &UpstreamTokens,
    now: NaiveDateTime,
) -> SealedTokens {
    if !cfg.keep_tokens {
        return SealedTokens {
            access: None,
            refresh: None,
            id: None,
            expires_at: None,
        };
    }
    let enc = |t: &Option<String>| t.as_ref().map(|t| mk.encrypt(t.as_bytes()));
    SealedTokens {
        access: enc(&tokens.access_token),
        refresh: enc(&tokens.refresh_token),
        id: enc(&tokens.id_token),
        expires_at: tokens
            .expires_in_secs
            .map(|s| now + chrono::Duration::seconds(s)),
    }
}

pub fn resolve(
    conn: &mut DbConnection,
    mk: &MasterKey,
    cfg: &ProviderConfig,
    profile: &UpstreamProfile,
    tokens: &UpstreamTokens,
    link_to: Option<&UserId>,
    now: NaiveDateTime,
) -> Result<Result<Resolution, LinkRefusal>, AppError> {
    let sealed = seal(mk, cfg, tokens, now);
    match resolve_once(conn, cfg, profile, &sealed, link_to, now) {
        // Two first sign-ins racing: the loser finds the winner's rows on its second try.
        Err(AppError::Database(e)) if is_unique_violation(&e) => {
            resolve_once(conn, cfg, profile, &sealed, link_to, now)
        }
        other => other,
    }
}

fn resolve_once(
    conn: &mut DbConnection,
    cfg: &ProviderConfig,
    profile: &UpstreamProfile,
    sealed: &SealedTokens,
    link_to: Option<&UserId>,
    now: NaiveDateTime,
) -> Result<Result<Resolution, LinkRefusal>, AppError> {
    write_transaction(conn, |conn| {
        if let Some(account) = Account::find_by_provider(conn, &cfg.slug, &profile.subject)? {
            if link_to.is_some_and(|u| *u != account.user_id) {
                return Ok(Err(LinkRefusal::LinkedElsewhere(cfg.display_name.clone())));
            }
            Account::store_upstream(
                conn,
                &account.id,
                profile.email.as_deref(),
                sealed.access.as_deref(),
                sealed.refresh.as_deref(),
                sealed.id.as_deref(),
                sealed.expires_at,
                now,
            )?;
            let user = User::find(conn, &account.user_id)?.ok_or(AppError::NotFound)?;
            return Ok(Ok(Resolution::Existing(user)));
        }
        if let Some(user_id) = link_to {
            let user = User::find(conn, user_id)?.ok_or(AppError::NotFound)?;
            insert_account(conn, cfg, profile, sealed, &user.id, now)?;
            audit::record(
                conn,
                AuditKind::AccountLinked,
                Some(&user.id),
                None,
                Some(&cfg.slug),
                now,
            )?;
            return Ok(Ok(Resolution::Linked(user)));
        }
        let email = profile.email.as_deref().and_then(|e| Email::parse(e).ok());
        let Some(email) = email else {
            return Ok(Err(LinkRefusal::NoEmail(cfg.display_name.clone())));
        };
        if let Some(user) = User::find_by_email(conn, email.as_str())? {
            let may_link = cfg.link_policy == LinkPolicy::VerifiedEmail
                && profile.email_verified
                && user.email_verified;
            if !may_link {
                return Ok(Err(LinkRefusal::SignInToLink(
                    email.to_string(),
                    cfg.display_name.clone(),
                )));
            }
            insert_account(conn, cfg, profile, sealed, &user.id, now)?;
            audit::record(
                conn,
                AuditKind::AccountLinked,
                Some(&user.id),
                None,
                Some(&cfg.slug),
                now,
            )?;
            return Ok(Ok(Resolution::Linked(user)));
        }
        let name = profile
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
        let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
        let new = NewIdentity {
            email: &email,
            name: &name,
            password_hash: None,
            email_verified: profile.email_verified,
            is_admin: false,
        };
        let user = create_user(conn, &new)?
            .ok_or_else(|| AppError::Internal("email taken during upstream sign-up".into()))?;
        if let Some(picture) = profile
            .picture
            .as_deref()
            .filter(|p| p.starts_with("https://") && p.len() <= 2048)
        {
            User::update_name_and_image(conn, &user.id, &user.name, Some(picture), now)?;
        }
        insert_account(conn, cfg, profile, sealed, &user.id, now)?;
        let user = User::find(conn, &user.id)?.ok_or(AppError::NotFound)?;
        Ok(Ok(Resolution::Created(user)))
    })
}

fn insert_account(
    conn: &mut DbConnection,
    cfg: &ProviderConfig,
    profile: &UpstreamProfile,
    sealed: &SealedTokens,
    user_id: &UserId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    Account::insert(
        conn,
        &NewAccount {
            id: AccountId::generate(),
            user_id: user_id.clone(),
            provider_id: &cfg.slug,
            account_id: &profile.subject,
            password_hash: None,
            created_at: now,
            updated_at: now,
        },
    )?;
    let account =
        Account::find_by_provider(conn, &cfg.slug, &profile.subject)?.ok_or(AppError::NotFound)?;
    Account::store_upstream(
        conn,
        &account.id,
        profile.email.as_deref(),
        sealed.access.as_deref(),
        sealed.refresh.as_deref(),
        sealed.id.as_deref(),
        sealed.expires_at,
        now,
    )?;
    Ok(())
}

/// Whether removing `account_id` would leave the user with no way to sign in.
pub fn is_last_method(accounts: &[Account], account_id: &AccountId) -> bool {
    !accounts.iter().filter(|a| a.id != *account_id).any(|a| {
        a.provider_id != crate::db::models::CREDENTIAL_PROVIDER || a.password_hash.is_some()
    })
}

/// What unlinking did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    Removed,
    /// Refused: it was the user's last way to sign in.
    LastMethod,
}

/// Removes one of `user_id`'s sign-in methods, unless it is the last one left.
/// `Err(NotFound)` when the account is not theirs.
pub fn unlink(
    conn: &mut DbConnection,
    user_id: &UserId,
    account_id: &AccountId,
    now: NaiveDateTime,
) -> Result<Unlinked, AppError> {
    write_transaction(conn, |conn| {
        let accounts = Account::for_user(conn, user_id)?;
        let target = accounts
            .iter()
            .find(|a| a.id == *account_id)
            .ok_or(AppError::NotFound)?;
        if is_last_method(&accounts, &target.id) {
            return Ok(Unlinked::LastMethod);
        }
        Account::delete_for_user(conn, user_id, &target.id)?;
        audit::record(
            conn,
            AuditKind::AccountUnlinked,
            Some(user_id),
            None,
            Some(&target.provider_id),
            now,
        )?;
        Ok(Unlinked::Removed)
    })
}
