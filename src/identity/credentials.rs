//! Email + password: signing up and signing in.

use super::audit::{self, AuditKind};
use super::email::Email;
use super::ids::{AccountId, SessionId, UserId};
use super::password::{PasswordHasher, Verdict};
use super::sessions::{self, Admission, AuthMethod, ClientInfo, IssuedSession, SessionPolicy};
use super::throttle::{self, Subject, ThrottlePolicy, Verdict as Throttled};
use super::{clean_name, now, FieldErrors};
use crate::db::models::{
    Account, NewAccount, NewUser, Profile, User, UserSettings, CREDENTIAL_PROVIDER,
};
use crate::db::{is_unique_violation, Db, DbConnection};
use crate::error::AppError;

/// What the sign-up form sent, unchecked.
#[derive(Debug, Default, Clone)]
pub struct SignUpRequest {
    pub name: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error("invalid sign-up form")]
    Invalid(FieldErrors),
    /// Too many sign-ups from this client IP this hour.
    #[error("too many sign-ups")]
    TooMany,
    #[error(transparent)]
    App(#[from] AppError),
}

pub const EMAIL_TAKEN: &str = "error-email-taken";
/// One message for unknown email and wrong password alike, so neither gives the other away.
pub const BAD_CREDENTIALS: &str = "error-bad-credentials";

/// A user account as created by sign-up, the CLI or (later) an upstream provider.
#[derive(Debug, Clone)]
pub struct NewIdentity<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
    pub email_verified: bool,
    pub is_admin: bool,
}

/// Creates the user with its credential account, profile and settings in one transaction.
/// The database's UNIQUE(email) decides races: the loser gets `Ok(None)`.
pub fn create_user(
    conn: &mut DbConnection,
    new: &NewIdentity<'_>,
) -> Result<Option<User>, AppError> {
    let now = now();
    let user_id = UserId::generate();
    let result = crate::db::write_transaction::<_, diesel::result::Error, _>(conn, |conn| {
        User::insert(
            conn,
            &NewUser {
                id: user_id.clone(),
                email: new.email.as_str(),
                email_verified: new.email_verified,
                name: new.name,
                image: None,
                is_admin: new.is_admin,
                created_at: now,
                updated_at: now,
            },
        )?;
        if let Some(hash) = new.password_hash {
            Account::insert(
                conn,
                &NewAccount {
                    id: AccountId::generate(),
                    user_id: user_id.clone(),
                    provider_id: CREDENTIAL_PROVIDER,
                    account_id: user_id.as_str(),
                    password_hash: Some(hash),
                    created_at: now,
                    updated_at: now,
                },
            )?;
        }
        Profile::insert(conn, &Profile::empty(&user_id, now))?;
        UserSettings::insert(conn, &UserSettings::defaults(&user_id, now))?;
        audit::record(conn, AuditKind::SignUp, Some(&user_id), None, None, now)?;
        User::find(conn, &user_id)?.ok_or(diesel::result::Error::NotFound)
    });
    match result {
        Ok(user) => Ok(Some(user)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A password replaced, inside the caller's write transaction: stores the hash, ends the user's
/// sessions (all but `keep`: whoever knew the old password is locked out) and records the change
/// (`via`: how, for the audit log). Returns the ended session ids, for back-channel logout.
pub fn replace_password(
    conn: &mut DbConnection,
    user_id: &UserId,
    hash: &str,
    keep: Option<&SessionId>,
    via: Option<&str>,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<Vec<SessionId>> {
    store_password_hash(conn, user_id, hash, now)?;
    let ended = sessions::end_all_but(conn, user_id, keep, now)?;
    audit::record(
        conn,
        AuditKind::PasswordChanged,
        Some(user_id),
        None,
        via,
        now,
    )?;
    Ok(ended)
}

/// Stores a new password hash on the user's credential account, creating that account when the
/// user had none (an upstream-only user setting a first password).
pub fn store_password_hash(
    conn: &mut DbConnection,
    user_id: &UserId,
    hash: &str,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<()> {
    match Account::credential_for_user(conn, user_id)? {
        Some(account) => Account::set_password_hash(conn, &account.id, hash, now).map(|_| ()),
        None => Account::insert(
            conn,
            &NewAccount {
                id: AccountId::generate(),
                user_id: user_id.clone(),
                provider_id: CREDENTIAL_PROVIDER,
                account_id: user_id.as_str(),
                password_hash: Some(hash),
                created_at: now,
                updated_at: now,
            },
        )
        .map(|_| ()),
    }
}

/// How sign-up answers (from `accounts`).
#[derive(Debug, Clone, Copy)]
pub struct SignUpRules {
    /// Sign the person in at once (`EmailPolicy::signs_in_at_sign_up`). When false (verified
    /// addresses required) the answer is "check your inbox" whether or not the address was
    /// free, and the mail says which it was.
    pub open_session: bool,
    /// Sign-ups per client IP per hour (`accounts.signup_per_ip_per_hour`).
    pub per_ip_per_hour: i32,
    /// "You already have an account" mails per address per hour (`accounts.mail_per_address_per_hour`).
    pub mail_per_address_per_hour: i32,
}

/// What a sign-up that was accepted leads to.
pub enum SignedUp {
    /// A new account, signed in.
    SignedIn(Box<User>, IssuedSession),
    /// "Check your inbox for a mail to this address": a confirmation link for a new account, or
    /// "you already have an account" for a taken address. The same answer for both.
    CheckInbox(String),
}

/// Validates the form, hashes the password off the executor, creates the user and signs them in
/// (or, with verified addresses required, sends the confirmation mail). Equal work whether or
/// not the address is taken: the password is hashed either way.
pub async fn sign_up(
    db: &Db,
    hasher: &PasswordHasher,
    policy: SessionPolicy,
    request: SignUpRequest,
    client: ClientInfo,
    links: super::email_flows::Links,
    rules: SignUpRules,
) -> Result<SignedUp, SignUpError> {
    let mut errors = FieldErrors::default();
    let name = clean_name(&request.name, &mut errors);
    let email = Email::parse(&request.email)
        .map_err(|e| errors.add("email", e.message()))
        .ok();
    if let Err(e) = hasher.policy.check(&request.password) {
        errors.add("password", e.message());
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(SignUpError::Invalid(errors));
    };

    if let Some(ip) = client.ip.clone() {
        let allowed = db
            .run(move |conn| {
                Ok(super::rate_limit::hit(
                    conn,
                    &format!("signup:ip:{ip}"),
                    rules.per_ip_per_hour,
                    chrono::Duration::hours(1),
                    now(),
                )?)
            })
            .await?;
        if !allowed {
            return Err(SignUpError::TooMany);
        }
    }

    // Hashed before the address is looked up, so a taken address costs the same time.
    let hash = hasher.hash(request.password).await?;
    let outcome = db
        .run(move |conn| {
            let new = NewIdentity {
                email: &email,
                name: &name,
                password_hash: Some(&hash),
                email_verified: false,
                is_admin: false,
            };
            // One transaction: the user, the confirmation mail and (maybe) the session.
            crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
                let now = now();
                // The UNIQUE constraint in `create_user` is what guarantees it; this finds the
                // owner to write to.
                let created = match User::find_by_email(conn, email.as_str())? {
                    Some(_) => None,
                    None => create_user(conn, &new)?,
                };
                let Some(user) = created else {
                    if !rules.open_session {
                        already_registered(conn, &links, &email, rules, now)?;
                        return Ok(Some(SignedUp::CheckInbox(email.as_str().to_string())));
                    }
                    return Ok(None);
                };
                super::profile::adopt_language(conn, &user.id, links.locale, now)?;
                super::email_flows::send_verification(conn, &links, &user, &user.email, now)?;
                if !rules.open_session {
                    return Ok(Some(SignedUp::CheckInbox(user.email)));
                }
                let session =
                    sessions::open(conn, &policy, &user.id, AuthMethod::Password, &client, now)?;
                Ok(Some(SignedUp::SignedIn(Box::new(user), session)))
            })
        })
        .await?;
    // Only without verified addresses required: the person would be signed in at once, so
    // there is no uniform answer to give (see the README, "Sign-up and enumeration").
    outcome.ok_or_else(|| {
        errors.add("email", EMAIL_TAKEN);
        SignUpError::Invalid(errors)
    })
}

/// The mail to the owner of a taken address, at most `mail_per_address_per_hour` an hour.
fn already_registered(
    conn: &mut DbConnection,
    links: &super::email_flows::Links,
    email: &Email,
    rules: SignUpRules,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    let Some(owner) = User::find_by_email(conn, email.as_str())? else {
        return Ok(());
    };
    let key = format!("registered:email:{}", email.as_str());
    let hour = chrono::Duration::hours(1);
    if super::rate_limit::hit(conn, &key, rules.mail_per_address_per_hour, hour, now)? {
        super::notices::already_registered(conn, links, &owner, now)?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("bad credentials")]
    BadCredentials,
    /// Right password, but the address must be confirmed first (`access::EmailPolicy`).
    #[error("email not verified")]
    Unverified(String),
    /// Too many recent failures (account or IP): try again in this many seconds. The password
    /// was not checked.
    #[error("too many attempts")]
    TooManyAttempts(i64),
    /// Password sign-in is soft-locked for this address for this many more seconds; other
    /// methods (email link, code, passkey) still work. The password was not checked.
    #[error("password locked")]
    PasswordLocked(i64),
    #[error(transparent)]
    App(#[from] AppError),
}

/// Checks email + password and opens a session. Unknown email and wrong password cost the same
/// scrypt work and give the same error. Hashes with outdated parameters are upgraded here.
/// Throttled (`throttle`): while the address or the client IP must wait, or the address's
/// password is locked, the attempt is refused before the password is checked, the same way
/// whether or not the address has an account.
#[allow(clippy::too_many_arguments)]
pub async fn sign_in(
    db: &Db,
    hasher: &PasswordHasher,
    policy: SessionPolicy,
    throttle_policy: ThrottlePolicy,
    email: &str,
    password: String,
    client: ClientInfo,
    email_policy: super::access::EmailPolicy,
    links: super::email_flows::Links,
) -> Result<(User, Admission), SignInError> {
    let account_subject = Subject::account(email);
    let mut subjects = vec![account_subject.clone()];
    subjects.extend(client.ip.clone().map(Subject::Ip));
    let now_at = now();
    let verdict = db
        .run(move |conn| {
            Ok(throttle::check_all(
                conn,
                &throttle_policy,
                &subjects,
                now_at,
            )?)
        })
        .await?;
    match verdict {
        Throttled::Allowed => {}
        Throttled::Wait(secs) => return Err(SignInError::TooManyAttempts(secs)),
        Throttled::Locked(until) => {
            return Err(SignInError::PasswordLocked(
                // Rounded up, like the backoff's wait.
                ((until - now_at).num_milliseconds() + 999) / 1000,
            ));
        }
    }

    let email = Email::parse(email).ok();
    let found = match email {
        Some(email) => {
            db.run(move |conn| {
                let Some(user) = User::find_by_email(conn, email.as_str())? else {
                    return Ok(None);
                };
                let account = Account::credential_for_user(conn, &user.id)?;
                Ok(Some((user, account)))
            })
            .await?
        }
        None => None,
    };
    let stored = found
        .as_ref()
        .and_then(|(_, a)| a.as_ref())
        .and_then(|a| a.password_hash.clone());
    let verdict = hasher.verify(password.clone(), stored).await?;

    let ip = client.ip.clone();
    let (user, account, new_hash) = match (verdict, found) {
        (Verdict::Match { .. }, Some((user, Some(_)))) if email_policy.admits(&user).is_err() => {
            return Err(SignInError::Unverified(user.email));
        }
        (Verdict::Match { rehash }, Some((user, Some(account)))) => {
            let new_hash = if rehash {
                Some(hasher.hash(password).await?)
            } else {
                None
            };
            (user, account, new_hash)
        }
        (_, found) => {
            let user = found.map(|(u, _)| u);
            db.run(move |conn| {
                let now = now();
                audit::record(
                    conn,
                    AuditKind::SignInFailed,
                    user.as_ref().map(|u| &u.id),
                    ip.as_deref(),
                    None,
                    now,
                )?;
                throttle::count_failure(
                    conn,
                    &throttle_policy,
                    &links,
                    &account_subject,
                    user.as_ref(),
                    ip.as_deref(),
                    now,
                )
            })
            .await?;
            return Err(SignInError::BadCredentials);
        }
    };

    let session = db
        .run(move |conn| {
            let now = now();
            crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
                if let Some(hash) = &new_hash {
                    Account::set_password_hash(conn, &account.id, hash, now)?;
                }
                let session = sessions::sign_in(
                    conn,
                    &policy,
                    &links,
                    &user,
                    AuthMethod::Password.as_str(),
                    &client,
                    now,
                )?;
                // Signed in: the address's count of failures starts over. Not yet when a
                // second factor is still to come, or the password would buy fresh guesses
                // at the code (`second_factor::complete` resets it when that succeeds).
                if matches!(session, sessions::Admission::Session(_)) {
                    throttle::reset(conn, &Subject::account(&user.email))?;
                }
                Ok((user, session))
            })
        })
        .await?;
    Ok(session)
}
