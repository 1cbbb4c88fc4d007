//! Second factors: a TOTP authenticator (secret sealed with the master key) and ten single-use
//! recovery codes (only their SHA-256 stored). Enrolment, the check after a first factor, and
//! the pending state between the two (a `verification` row of purpose `second_factor`, whose
//! token lives in the browser's `portcullis_second_factor` cookie).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::audit::{self, AuditKind};
use super::email_flows::Links;
use super::ids::UserId;
use super::notices::{self, SecondFactorChange};
use super::sessions::{self, ClientInfo, IssuedSession, SessionPolicy};
use super::throttle::{self, Subject, ThrottlePolicy, Verdict};
use super::totp;
use super::verification::{self, Purpose};
use crate::crypto::{sha256_hex, MasterKey};
use crate::db::models::{Session, User};
use crate::db::schema::{recovery_code, totp_factor};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;
/// Name of the cookie that binds a pending second-factor step to the browser.
pub const COOKIE: &str = "portcullis_second_factor";

fn unix(now: NaiveDateTime) -> i64 {
    now.and_utc().timestamp()
}

/// Whether the user has a confirmed authenticator.
pub fn has_totp(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        totp_factor::table
            .filter(totp_factor::user_id.eq(user_id))
            .filter(totp_factor::confirmed_at.is_not_null()),
    ))
    .get_result(conn)
}

/// Whether the user has a second factor to prove at sign-in: a confirmed authenticator, or a
/// passkey when `passkeys` are on.
pub fn has_any(conn: &mut DbConnection, user_id: &UserId, passkeys: bool) -> QueryResult<bool> {
    Ok(has_totp(conn, user_id)? || (passkeys && super::passkeys::has_passkey(conn, user_id)?))
}

/// Unused recovery codes left.
pub fn recovery_codes_left(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<i64> {
    recovery_code::table
        .filter(recovery_code::user_id.eq(user_id))
        .filter(recovery_code::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Starts (or restarts) enrolment: a new unconfirmed secret, returned in base32 for display.
/// `None` when an authenticator is already confirmed (turn it off first).
pub fn begin_enrolment(
    conn: &mut DbConnection,
    key: &MasterKey,
    user_id: &UserId,
    now: NaiveDateTime,
) -> QueryResult<Option<Vec<u8>>> {
    write_transaction(conn, |conn| {
        if has_totp(conn, user_id)? {
            return Ok(None);
        }
        let secret = totp::generate_secret();
        diesel::delete(totp_factor::table.find(user_id)).execute(conn)?;
        diesel::insert_into(totp_factor::table)
            .values((
                totp_factor::user_id.eq(user_id),
                totp_factor::secret_sealed.eq(key.encrypt(&secret)),
                totp_factor::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Some(secret))
    })
}

/// The secret of an enrolment not yet confirmed, to show it again.
pub fn pending_secret(
    conn: &mut DbConnection,
    key: &MasterKey,
    user_id: &UserId,
) -> Result<Option<Vec<u8>>, AppError> {
    let sealed: Option<String> = totp_factor::table
        .find(user_id)
        .filter(totp_factor::confirmed_at.is_null())
        .select(totp_factor::secret_sealed)
        .first(conn)
        .optional()?;
    sealed
        .map(|s| {
            key.decrypt(&s)
                .map_err(|e| AppError::Internal(e.to_string()))
        })
        .transpose()
}

/// Accepts a code against the user's secret (confirmed or `confirmed`-less during enrolment)
/// and records its step; false for a wrong or already used code. Race-safe: the step is
/// written only if no later or equal step was recorded meanwhile.
fn accept_totp(
    conn: &mut DbConnection,
    key: &MasterKey,
    user_id: &UserId,
    confirmed: bool,
    code: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let row: Option<(String, Option<i64>, Option<NaiveDateTime>)> = totp_factor::table
        .find(user_id)
        .select((
            totp_factor::secret_sealed,
            totp_factor::last_used_step,
            totp_factor::confirmed_at,
        ))
        .first(conn)
        .optional()?;
    let Some((sealed, last, confirmed_at)) = row else {
        return Ok(false);
    };
    if confirmed_at.is_some() != confirmed {
        return Ok(false);
    }
    let secret = key
        .decrypt(&sealed)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let Some(step) = totp::verify(&secret, code, unix(now), last) else {
        return Ok(false);
    };
    let target = totp_factor::table.find(user_id).filter(
        totp_factor::last_used_step
            .is_null()
            .or(totp_factor::last_used_step.lt(step)),
    );
    let updated = if confirmed {
        diesel::update(target)
            .set(totp_factor::last_used_step.eq(step))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set((
                totp_factor::last_used_step.eq(step),
                totp_factor::confirmed_at.eq(now),
            ))
            .execute(conn)?
    };
    Ok(updated == 1)
}

/// A recovery code as typed: spaces and dashes dropped, upper case.
fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Replaces the user's recovery codes with ten new ones, returned for showing once
/// (`XXXX-XXXX-XXXX-XXXX`, 80 random bits each).
pub fn new_recovery_codes(
    conn: &mut DbConnection,
    user_id: &UserId,
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    write_transaction(conn, |conn| {
        diesel::delete(recovery_code::table.filter(recovery_code::user_id.eq(user_id)))
            .execute(conn)?;
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let raw = totp::base32_encode(&{
                use rand::RngCore;
                let mut b = [0u8; 10];
                rand::rngs::OsRng.fill_bytes(&mut b);
                b
            });
            diesel::insert_into(recovery_code::table)
                .values((
                    recovery_code::code_hash.eq(sha256_hex(&raw)),
                    recovery_code::user_id.eq(user_id),
                    recovery_code::created_at.eq(now),
                ))
                .execute(conn)?;
            let groups: Vec<&str> = (0..4).map(|i| &raw[i * 4..i * 4 + 4]).collect();
            codes.push(groups.join("-"));
        }
        Ok(codes)
    })
}

/// Uses up a recovery code of the user; false when it is unknown or used.
fn use_recovery_code(
    conn: &mut DbConnection,
    user_id: &UserId,
    code: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let code = normalise_recovery(code);
    if code.len() != 16 {
        return Ok(false);
    }
    let used = diesel::update(
        recovery_code::table
            .find(sha256_hex(&code))
            .filter(recovery_code::user_id.eq(user_id))
            .filter(recovery_code::used_at.is_null()),
    )
    .set(recovery_code::used_at.eq(now))
    .execute(conn)?;
    Ok(used == 1)
}

/// Confirms an enrolment with a first code; the new recovery codes on success, `None` for a
/// wrong code. Audited.
///
/// The code from the new authenticator is a second factor proven in `session`: it counts as
/// two factors from now on (how the "set up a second factor to continue" path of an
/// application requiring two factors completes).
#[allow(clippy::too_many_arguments)]
pub fn confirm_enrolment(
    conn: &mut DbConnection,
    key: &MasterKey,
    links: &Links,
    user: &User,
    session: &Session,
    code: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<Vec<String>>, AppError> {
    let user_id = &user.id;
    write_transaction(conn, |conn| {
        if !accept_totp(conn, key, user_id, false, code, now)? {
            return Ok(None);
        }
        let codes = new_recovery_codes(conn, user_id, now)?;
        audit::record(
            conn,
            AuditKind::SecondFactorEnrolled,
            Some(user_id),
            ip,
            Some("totp"),
            now,
        )?;
        notices::second_factor_changed(conn, links, user, SecondFactorChange::Enabled, now)?;
        if !session.auth_method.contains('+') {
            let method = format!("{}{}", session.auth_method, sessions::SECOND_FACTOR_OTP);
            Session::add_second_factor(conn, &session.id, &method, now)?;
        }
        Ok(Some(codes))
    })
}

/// Removes the authenticator and the recovery codes. Audited, and the owner gets a notice.
/// The caller checks re-authentication.
pub fn disable(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    remove(conn, links, user, ip, "totp", now)
}

/// `disable` with the audit entry's detail given: who removed the factors, and how.
pub(crate) fn remove(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    ip: Option<&str>,
    detail: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let user_id = &user.id;
    write_transaction(conn, |conn| {
        let removed = diesel::delete(totp_factor::table.find(user_id)).execute(conn)?;
        let codes = diesel::delete(recovery_code::table.filter(recovery_code::user_id.eq(user_id)))
            .execute(conn)?;
        if removed + codes > 0 {
            audit::record(
                conn,
                AuditKind::SecondFactorDisabled,
                Some(user_id),
                ip,
                Some(detail),
                now,
            )?;
            notices::second_factor_changed(conn, links, user, SecondFactorChange::Disabled, now)?;
        }
        Ok(removed + codes > 0)
    })
}

/// Which second factor a code proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proven {
    Totp,
    RecoveryCode,
}

/// What a code was worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Proven(Proven),
    Wrong,
}

/// Checks an authenticator code or a recovery code of a user with a confirmed authenticator.
/// Audits failures and recovery-code use; counting failures is the caller's (see [`complete`]).
pub fn check(
    conn: &mut DbConnection,
    key: &MasterKey,
    user_id: &UserId,
    code: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Check, AppError> {
    if accept_totp(conn, key, user_id, true, code, now)? {
        return Ok(Check::Proven(Proven::Totp));
    }
    if use_recovery_code(conn, user_id, code, now)? {
        audit::record(
            conn,
            AuditKind::RecoveryCodeUsed,
            Some(user_id),
            ip,
            None,
            now,
        )?;
        return Ok(Check::Proven(Proven::RecoveryCode));
    }
    audit::record(
        conn,
        AuditKind::SignInFailed,
        Some(user_id),
        ip,
        Some("second_factor"),
        now,
    )?;
    Ok(Check::Wrong)
}

/// A first factor proven by someone who also has a second: the token for the browser's
/// `portcullis_second_factor` cookie (only its SHA-256 is stored).
#[derive(Clone)]
pub struct Pending {
    pub token: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending([redacted])")
    }
}

/// Records a proven first factor (`method`, e.g. `pwd` or `fed:google`) waiting for the second.
/// The pending state keeps when it was proven, for the session to remember.
pub fn begin(
    conn: &mut DbConnection,
    user_id: &UserId,
    method: &str,
    ttl: Duration,
    now: NaiveDateTime,
) -> QueryResult<Pending> {
    let proven_at = now.and_utc().timestamp_micros();
    let identifier = format!("{user_id}|{proven_at}|{method}");
    let token = verification::issue_link(conn, &identifier, Purpose::SecondFactor, ttl, now)?;
    Ok(Pending { token })
}

/// A first factor waiting for the second.
#[derive(Debug)]
pub struct PendingSignIn {
    pub user: User,
    /// How the first factor was proven (`pwd`, `fed:google`, ...).
    pub method: String,
    /// When.
    pub first_at: NaiveDateTime,
}

/// The sign-in behind a pending token, if it is still valid.
pub fn pending(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<PendingSignIn>> {
    let Some(identifier) = verification::peek_link(conn, token, Purpose::SecondFactor, now)? else {
        return Ok(None);
    };
    let mut parts = identifier.splitn(3, '|');
    let (Some(id), Some(at), Some(method)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let Some(user_id) = UserId::parse(id) else {
        return Ok(None);
    };
    let Some(first_at) = at
        .parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.naive_utc())
    else {
        return Ok(None);
    };
    Ok(User::find(conn, &user_id)?.map(|user| PendingSignIn {
        user,
        method: method.to_string(),
        first_at,
    }))
}

/// How a second-factor step ended.
#[derive(Debug)]
pub enum Completion {
    SignedIn(Box<IssuedSession>, Proven),
    Wrong,
    /// Too many wrong codes (or passwords) for this account or from this address lately: not
    /// even checked. Try again in this many seconds.
    Throttled(i64),
    /// The pending state is unknown, used or expired: sign in again.
    Expired,
}

/// The second step of a sign-in: checks the code for the pending first factor and, when it
/// holds, uses up the pending state and opens the session (method `{first}+otp`).
///
/// Wrong codes count against the same database counters as wrong passwords (the account and
/// the client IP, `auth.throttle`): backoff after the free failures, then the password is
/// soft-locked and the owner mailed. The account's count starts over only when the whole
/// sign-in succeeds, so knowing the password does not buy fresh guesses at the code.
#[allow(clippy::too_many_arguments)]
pub fn complete(
    conn: &mut DbConnection,
    key: &MasterKey,
    throttle_policy: &ThrottlePolicy,
    policy: &SessionPolicy,
    links: &Links,
    token: &str,
    code: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<Completion, AppError> {
    let Some(PendingSignIn {
        user,
        method,
        first_at,
    }) = pending(conn, token, now)?
    else {
        return Ok(Completion::Expired);
    };
    let ip = client.ip.as_deref();
    let account = Subject::account(&user.email);
    let mut subjects = vec![account.clone()];
    subjects.extend(ip.map(|ip| Subject::Ip(ip.to_string())));
    let wait = match throttle::check_all(conn, throttle_policy, &subjects, now)? {
        Verdict::Allowed => None,
        Verdict::Wait(secs) => Some(secs),
        Verdict::Locked(until) => Some(((until - now).num_milliseconds() + 999) / 1000),
    };
    if let Some(secs) = wait {
        audit::record(
            conn,
            AuditKind::SignInFailed,
            Some(&user.id),
            ip,
            Some("second_factor:throttled"),
            now,
        )?;
        return Ok(Completion::Throttled(secs.max(1)));
    }
    let completion = write_transaction::<_, AppError, _>(conn, |conn| {
        let proven = match check(conn, key, &user.id, code, ip, now)? {
            Check::Proven(p) => p,
            Check::Wrong => return Ok(Completion::Wrong),
        };
        if verification::consume_link(conn, token, Purpose::SecondFactor, now)?.is_none() {
            return Ok(Completion::Expired);
        }
        if proven == Proven::RecoveryCode {
            notices::second_factor_changed(
                conn,
                links,
                &user,
                SecondFactorChange::RecoveryCodeUsed,
                now,
            )?;
        }
        let method = format!("{method}{}", sessions::SECOND_FACTOR_OTP);
        let proof = sessions::Proof {
            method: &method,
            first_at,
            second_at: Some(now),
        };
        let issued = sessions::complete_sign_in(conn, policy, links, &user, &proof, client, now)?;
        throttle::reset(conn, &account)?;
        Ok(Completion::SignedIn(Box::new(issued), proven))
    })?;
    if matches!(completion, Completion::Wrong) {
        throttle::second_factor_failed(conn, throttle_policy, links, &user, ip, now)?;
    }
    Ok(completion)
}
