//! "One identity, many proofs": which user an upstream sign-in belongs to (DESIGN.md). Every
//! decision is made by [`decide`] from [`Facts`] read in one transaction; its table of cases is
//! in the tests below.
//!
//! - a known (provider, subject) signs its user in;
//! - a signed-in person who started from /account links the account to themself, unless it is
//!   already linked to someone else;
//! - an unknown subject whose email matches a user is linked automatically only when the
//!   provider's email is trusted (`trust_email`, see [`ProviderConfig::trusts_email`]), the link
//!   policy allows it, both addresses are verified, and the user has no stronger way in of their
//!   own (password, passkey, another provider) to prove the account with; otherwise the person
//!   proves the existing account first (`pending_link`), or is refused when it has no way to;
//! - otherwise a new user is created.

use chrono::NaiveDateTime;

use super::audit::{self, AuditKind};
use super::credentials::{create_user, NewIdentity};
use super::email::Email;
use super::email_flows::Links;
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
    /// The address belongs to this user, who must prove the account before it is linked.
    ProofNeeded(Box<ProofNeeded>),
}

/// An upstream identity waiting for the owner of a matching account to prove it.
#[derive(Debug, Clone)]
pub struct ProofNeeded {
    pub user: User,
    pub ways: ProofWays,
}

impl Resolution {
    pub fn user(&self) -> &User {
        match self {
            Resolution::Existing(u) | Resolution::Linked(u) | Resolution::Created(u) => u,
            Resolution::ProofNeeded(p) => &p.user,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("This {0} account is already linked to another Portcullis account.")]
    LinkedElsewhere(String),
    #[error("An account with the email {0} already exists and has no way to prove it is yours.")]
    CannotProve(String),
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
            LinkRefusal::CannotProve(e) => Msg::new("link-cannot-prove").with("email", e.as_str()),
            LinkRefusal::NoEmail(p) => Msg::new("link-no-email").with("provider", p.as_str()),
            LinkRefusal::Unverified(e) => Msg::new("link-unverified").with("email", e.as_str()),
        }
    }
}

// ---- the rules ----

/// What the upstream said about the address it shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailClaim {
    /// No usable address.
    Missing,
    /// An address the provider does not vouch for, or one we do not trust it on.
    Untrusted,
    /// Verified by a provider whose verification is trusted for this address.
    Trusted,
}

/// The ways in an existing user has, besides links sent to their address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Methods {
    pub password: bool,
    pub passkey: bool,
    /// Linked to some other upstream provider.
    pub provider: bool,
}

impl Methods {
    fn any(self) -> bool {
        self.password || self.passkey || self.provider
    }
}

/// The user whose address the upstream's matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub email_verified: bool,
    pub methods: Methods,
}

/// Everything the decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The (provider, subject) is linked already; `Some(true)` when to the signed-in linker.
    pub known: Option<bool>,
    /// A signed-in person started this from their account page, to link it.
    pub linking: bool,
    pub email: EmailClaim,
    /// A user has the upstream's address.
    pub owner: Option<Owner>,
    /// The provider's link policy allows linking by email at all.
    pub policy_allows: bool,
}

/// How the owner of a matching account can prove it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProofWays {
    /// By signing in to it (password, passkey or another provider).
    pub sign_in: bool,
    /// By following a link mailed to its verified address.
    pub email: bool,
}

/// What to do with an upstream sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sign in the user the (provider, subject) is linked to.
    SignIn,
    /// Link to the signed-in person who asked for it.
    LinkToLinker,
    /// Refuse: the (provider, subject) belongs to another user than the linker.
    LinkedElsewhere,
    /// Link to the user with the address, without asking.
    LinkByEmail,
    /// Ask the user with the address to prove their account first.
    Prove(ProofWays),
    /// Refuse: a user has the address but nothing to prove the account with.
    CannotProve,
    /// Create a new user.
    Create,
    /// Refuse: no address to create a user with.
    NoEmail,
}

/// The linking rules in one place (see the module comment and the table in the tests).
pub fn decide(f: Facts) -> Decision {
    match f.known {
        Some(true) => return Decision::SignIn,
        Some(false) if f.linking => return Decision::LinkedElsewhere,
        Some(false) => return Decision::SignIn,
        None => {}
    }
    if f.linking {
        return Decision::LinkToLinker;
    }
    let Some(owner) = f.owner else {
        return match f.email {
            EmailClaim::Missing => Decision::NoEmail,
            _ => Decision::Create,
        };
    };
    // A trusted, verified address is as good a proof as a link mailed to it, and no better:
    // an account with a stronger way in of its own is proven with that.
    if f.email == EmailClaim::Trusted
        && f.policy_allows
        && owner.email_verified
        && !owner.methods.any()
    {
        return Decision::LinkByEmail;
    }
    let ways = ProofWays {
        sign_in: owner.methods.any(),
        email: owner.email_verified,
    };
    if ways.sign_in || ways.email {
        Decision::Prove(ways)
    } else {
        Decision::CannotProve
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

#[allow(clippy::too_many_arguments)]
pub fn resolve(
    conn: &mut DbConnection,
    mk: &MasterKey,
    links: &Links,
    cfg: &ProviderConfig,
    profile: &UpstreamProfile,
    tokens: &UpstreamTokens,
    link_to: Option<&UserId>,
    now: NaiveDateTime,
) -> Result<Result<Resolution, LinkRefusal>, AppError> {
    let sealed = seal(mk, cfg, tokens, now);
    match resolve_once(conn, links, cfg, profile, &sealed, link_to, now) {
        // Two first sign-ins racing: the loser finds the winner's rows on its second try.
        Err(AppError::Database(e)) if is_unique_violation(&e) => {
            resolve_once(conn, links, cfg, profile, &sealed, link_to, now)
        }
        other => other,
    }
}

fn resolve_once(
    conn: &mut DbConnection,
    links: &Links,
    cfg: &ProviderConfig,
    profile: &UpstreamProfile,
    sealed: &SealedTokens,
    link_to: Option<&UserId>,
    now: NaiveDateTime,
) -> Result<Result<Resolution, LinkRefusal>, AppError> {
    write_transaction(conn, |conn| {
        let known = Account::find_by_provider(conn, &cfg.slug, &profile.subject)?;
        let email = profile.email.as_deref().and_then(|e| Email::parse(e).ok());
        let owner = match (&known, &email, link_to) {
            (None, Some(email), None) => User::find_by_email(conn, email.as_str())?,
            _ => None,
        };
        let facts = Facts {
            known: known
                .as_ref()
                .map(|a| link_to.is_some_and(|u| *u == a.user_id)),
            linking: link_to.is_some(),
            email: match &email {
                None => EmailClaim::Missing,
                Some(_) if cfg.trusts_email(profile) => EmailClaim::Trusted,
                Some(_) => EmailClaim::Untrusted,
            },
            owner: match &owner {
                Some(user) => Some(Owner {
                    email_verified: user.email_verified,
                    methods: methods_of(conn, &user.id)?,
                }),
                None => None,
            },
            policy_allows: cfg.link_policy == LinkPolicy::VerifiedEmail,
        };
        match decide(facts) {
            Decision::SignIn => {
                let account = known.ok_or(AppError::NotFound)?;
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
                Ok(Ok(Resolution::Existing(user)))
            }
            Decision::LinkedElsewhere => {
                Ok(Err(LinkRefusal::LinkedElsewhere(cfg.display_name.clone())))
            }
            Decision::LinkToLinker => {
                let user_id = link_to.ok_or(AppError::NotFound)?;
                let user = User::find(conn, user_id)?.ok_or(AppError::NotFound)?;
                link(conn, links, cfg, profile, sealed, &user, "signed_in", now)?;
                Ok(Ok(Resolution::Linked(user)))
            }
            Decision::LinkByEmail => {
                let user = owner.ok_or(AppError::NotFound)?;
                link(
                    conn,
                    links,
                    cfg,
                    profile,
                    sealed,
                    &user,
                    "trusted_email",
                    now,
                )?;
                Ok(Ok(Resolution::Linked(user)))
            }
            Decision::Prove(ways) => {
                let user = owner.ok_or(AppError::NotFound)?;
                Ok(Ok(Resolution::ProofNeeded(Box::new(ProofNeeded {
                    user,
                    ways,
                }))))
            }
            Decision::CannotProve => Ok(Err(LinkRefusal::CannotProve(
                email.map(|e| e.to_string()).unwrap_or_default(),
            ))),
            Decision::NoEmail => Ok(Err(LinkRefusal::NoEmail(cfg.display_name.clone()))),
            Decision::Create => {
                let email = email.ok_or(AppError::NotFound)?;
                create(conn, cfg, profile, sealed, &email, now)
            }
        }
    })
}

/// The ways in `user_id` has of their own, for [`decide`].
pub fn methods_of(conn: &mut DbConnection, user_id: &UserId) -> Result<Methods, AppError> {
    let accounts = Account::for_user(conn, user_id)?;
    Ok(Methods {
        password: accounts.iter().any(|a| {
            a.provider_id == crate::db::models::CREDENTIAL_PROVIDER && a.password_hash.is_some()
        }),
        provider: accounts
            .iter()
            .any(|a| a.provider_id != crate::db::models::CREDENTIAL_PROVIDER),
        passkey: super::passkeys::has_passkey(conn, user_id)?,
    })
}

/// Links the upstream account to `user`: the row, the audit entry (`how` it was decided) and
/// the notice to the owner, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
fn link(
    conn: &mut DbConnection,
    links: &Links,
    cfg: &ProviderConfig,
    profile: &UpstreamProfile,
    sealed: &SealedTokens,
    user: &User,
    how: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let account_id = insert_account(conn, cfg, profile, sealed, &user.id, now)?;
    audit::record(
        conn,
        AuditKind::AccountLinked,
        Some(&user.id),
        None,
        Some(&format!("{} {how}", cfg.slug)),
        now,
    )?;
    super::notices::method_linked(conn, links, user, &cfg.display_name, &account_id, now)
}

fn create(
    conn: &mut DbConnection,
    cfg: &ProviderConfig,
    profile: &UpstreamProfile,
    sealed: &SealedTokens,
    email: &Email,
    now: NaiveDateTime,
) -> Result<Result<Resolution, LinkRefusal>, AppError> {
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
        email,
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
}

fn insert_account(
    conn: &mut DbConnection,
    cfg: &ProviderConfig,
    profile: &UpstreamProfile,
    sealed: &SealedTokens,
    user_id: &UserId,
    now: NaiveDateTime,
) -> Result<AccountId, AppError> {
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
    Ok(account.id)
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

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Methods = Methods {
        password: false,
        passkey: false,
        provider: false,
    };
    const PASSWORD: Methods = Methods {
        password: true,
        passkey: false,
        provider: false,
    };
    const PASSKEY: Methods = Methods {
        password: false,
        passkey: true,
        provider: false,
    };
    const PROVIDER: Methods = Methods {
        password: false,
        passkey: false,
        provider: true,
    };

    fn owner(email_verified: bool, methods: Methods) -> Option<Owner> {
        Some(Owner {
            email_verified,
            methods,
        })
    }

    fn facts(email: EmailClaim, owner: Option<Owner>) -> Facts {
        Facts {
            known: None,
            linking: false,
            email,
            owner,
            policy_allows: true,
        }
    }

    const BOTH: ProofWays = ProofWays {
        sign_in: true,
        email: true,
    };
    const SIGN_IN: ProofWays = ProofWays {
        sign_in: true,
        email: false,
    };
    const MAIL: ProofWays = ProofWays {
        sign_in: false,
        email: true,
    };

    /// (case, facts) → decision: the whole of the linking rules, one row per case.
    #[test]
    fn the_table_of_cases() {
        use Decision::*;
        use EmailClaim::*;
        let known_linker = Facts {
            known: Some(true),
            linking: true,
            ..facts(Trusted, None)
        };
        let known_other_linker = Facts {
            known: Some(false),
            linking: true,
            ..facts(Trusted, None)
        };
        let known = Facts {
            known: Some(false),
            ..facts(Untrusted, owner(true, PASSWORD))
        };
        let linking = Facts {
            linking: true,
            ..facts(Untrusted, owner(true, PASSWORD))
        };
        let never = Facts {
            policy_allows: false,
            ..facts(Trusted, owner(true, NONE))
        };
        let rows: &[(&str, Facts, Decision)] = &[
            // Known subject: its user, whatever the address says now.
            ("known subject", known, SignIn),
            ("known subject, its owner linking", known_linker, SignIn),
            (
                "known subject, another user linking",
                known_other_linker,
                LinkedElsewhere,
            ),
            // Signed-in linking: to the linker, whoever has the address.
            ("signed-in linking", linking, LinkToLinker),
            // Email match, trusted.
            (
                "trusted, address-only owner",
                facts(Trusted, owner(true, NONE)),
                LinkByEmail,
            ),
            (
                "trusted, owner has a password",
                facts(Trusted, owner(true, PASSWORD)),
                Prove(BOTH),
            ),
            (
                "trusted, owner has a passkey",
                facts(Trusted, owner(true, PASSKEY)),
                Prove(BOTH),
            ),
            (
                "trusted, owner has a provider",
                facts(Trusted, owner(true, PROVIDER)),
                Prove(BOTH),
            ),
            (
                "trusted, owner unverified",
                facts(Trusted, owner(false, PASSWORD)),
                Prove(SIGN_IN),
            ),
            ("trusted, link policy never", never, Prove(MAIL)),
            // Email match, untrusted: the nOAuth case.
            (
                "untrusted, address-only owner",
                facts(Untrusted, owner(true, NONE)),
                Prove(MAIL),
            ),
            (
                "untrusted, owner has a password",
                facts(Untrusted, owner(true, PASSWORD)),
                Prove(BOTH),
            ),
            (
                "untrusted, unverified owner",
                facts(Untrusted, owner(false, PASSWORD)),
                Prove(SIGN_IN),
            ),
            (
                "untrusted, nothing to prove with",
                facts(Untrusted, owner(false, NONE)),
                CannotProve,
            ),
            (
                "trusted, nothing to prove with",
                facts(Trusted, owner(false, NONE)),
                CannotProve,
            ),
            // No match.
            ("new address", facts(Untrusted, None), Create),
            ("new trusted address", facts(Trusted, None), Create),
            ("no address", facts(Missing, None), NoEmail),
        ];
        for (case, f, want) in rows {
            assert_eq!(decide(*f), *want, "{case}");
        }
    }
}
