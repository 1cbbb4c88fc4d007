//! Brute-force defence: failed attempts counted in the database (so every replica counts
//! together) per account, per client IP and per OAuth client. After `free_failures` failures
//! each further attempt must wait an exponentially growing delay; an attempt made earlier is
//! refused before any secret is checked, so guessing speed is bounded without the server ever
//! sleeping. Past `lock_after` consecutive failures an account's PASSWORD is soft-locked for a
//! while (email links, codes and other methods keep working).
//!
//! Accounts are keyed by the normalised address whether or not an account has it, so the
//! answers (and their timing) do not tell who has an account.
//!
//! The rules are pure functions of the stored counter and an explicit `now`; the database part
//! reads and writes the counters.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::audit::{self, AuditKind};
use super::email::Email;
use super::email_flows::Links;
use super::ids::ClientId;
use super::notices;
use crate::config::ThrottleSettings;
use crate::db::models::User;
use crate::db::schema::sign_in_throttle;
use crate::db::DbConnection;
use crate::error::AppError;

/// The rules, from `auth.throttle`.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub free_failures: i32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub lock_after: i32,
    pub lock: Duration,
    pub per_ip_per_hour: i32,
}

impl From<&ThrottleSettings> for ThrottlePolicy {
    fn from(s: &ThrottleSettings) -> Self {
        ThrottlePolicy {
            free_failures: s.free_failures,
            backoff_base: Duration::seconds(s.backoff_base_secs),
            backoff_max: Duration::seconds(s.backoff_max_secs),
            lock_after: s.lock_after,
            lock: Duration::seconds(s.lock_secs),
            per_ip_per_hour: s.per_ip_per_hour,
        }
    }
}

/// What is counted: the kind decides the rules that apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An account, by normalised address (existing or not). Backoff, then a soft lock.
    Account(String),
    /// A client IP, across all accounts: backoff past `per_ip_per_hour` failures in an hour.
    Ip(String),
    /// An OAuth client authenticating with a secret: backoff, never a lock.
    Client(ClientId),
}

impl Subject {
    /// The account subject for what someone typed as their address: the normalised address
    /// when it parses, otherwise the trimmed, lower-cased text (it matches no account anyway).
    pub fn account(typed: &str) -> Subject {
        match Email::parse(typed) {
            Ok(email) => Subject::Account(email.as_str().to_string()),
            Err(_) => Subject::Account(typed.trim().to_lowercase()),
        }
    }

    pub fn key(&self) -> String {
        match self {
            Subject::Account(email) => format!("account:{email}"),
            Subject::Ip(ip) => format!("ip:{ip}"),
            Subject::Client(id) => format!("client:{id}"),
        }
    }
}

/// A stored counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Consecutive failures (for an IP: failures in the window).
    pub failures: i32,
    pub window_start: NaiveDateTime,
    pub last_failure_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

/// The answer before an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Too early: try again in this many seconds (at least 1).
    Wait(i64),
    /// The password is soft-locked until then.
    Locked(NaiveDateTime),
}

impl Verdict {
    /// The stricter of two verdicts (a lock beats a wait, a longer wait beats a shorter one).
    pub fn max(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Locked(a), Verdict::Locked(b)) => Verdict::Locked(a.max(b)),
            (l @ Verdict::Locked(_), _) | (_, l @ Verdict::Locked(_)) => l,
            (Verdict::Wait(a), Verdict::Wait(b)) => Verdict::Wait(a.max(b)),
            (w @ Verdict::Wait(_), _) | (_, w @ Verdict::Wait(_)) => w,
            _ => Verdict::Allowed,
        }
    }
}

const IP_WINDOW_SECS: i64 = 3600;

/// How many failures are free before the backoff starts, for this subject.
fn free(policy: &ThrottlePolicy, subject: &Subject) -> i32 {
    match subject {
        Subject::Ip(_) => policy.per_ip_per_hour,
        Subject::Account(_) | Subject::Client(_) => policy.free_failures,
    }
}

/// The wait after `failures` failures: none before `free` failures, then base after the
/// `free`-th, 2×base after the next, 4×base, … capped at the maximum.
pub fn delay(policy: &ThrottlePolicy, free: i32, failures: i32) -> Duration {
    if failures == 0 || failures < free {
        return Duration::zero();
    }
    let doublings = u32::try_from(failures - free.max(1)).unwrap_or(0).min(30);
    let secs = policy
        .backoff_base
        .num_seconds()
        .saturating_mul(1_i64 << doublings);
    Duration::seconds(secs.min(policy.backoff_max.num_seconds()))
}

/// The counter as it stands at `now`: an IP window that ran out, or a lock that ended, starts
/// the count afresh.
fn current(subject: &Subject, counter: Option<Counter>, now: NaiveDateTime) -> Option<Counter> {
    let c = counter?;
    if matches!(subject, Subject::Ip(_))
        && c.window_start + Duration::seconds(IP_WINDOW_SECS) <= now
    {
        return None;
    }
    if c.locked_until.is_some_and(|until| until <= now) {
        return None;
    }
    Some(c)
}

/// May an attempt be made at `now`?
pub fn check(
    policy: &ThrottlePolicy,
    subject: &Subject,
    counter: Option<Counter>,
    now: NaiveDateTime,
) -> Verdict {
    let Some(c) = current(subject, counter, now) else {
        return Verdict::Allowed;
    };
    if let Some(until) = c.locked_until {
        return Verdict::Locked(until);
    }
    let ready_at = c.last_failure_at + delay(policy, free(policy, subject), c.failures);
    if ready_at > now {
        // Rounded up: "try again in 0 seconds" would be a lie.
        let ms = (ready_at - now).num_milliseconds();
        Verdict::Wait((ms + 999) / 1000)
    } else {
        Verdict::Allowed
    }
}

/// The counter after a failure at `now`, and whether this failure locked the password.
pub fn after_failure(
    policy: &ThrottlePolicy,
    subject: &Subject,
    counter: Option<Counter>,
    now: NaiveDateTime,
) -> (Counter, bool) {
    let c = current(subject, counter, now).unwrap_or(Counter {
        failures: 0,
        window_start: now,
        last_failure_at: now,
        locked_until: None,
    });
    let failures = c.failures.saturating_add(1);
    let lock = matches!(subject, Subject::Account(_))
        && c.locked_until.is_none()
        && failures >= policy.lock_after;
    let locked_until = if lock {
        Some(now + policy.lock)
    } else {
        c.locked_until
    };
    (
        Counter {
            failures,
            window_start: c.window_start,
            last_failure_at: now,
            locked_until,
        },
        lock,
    )
}

// --- The database part ---

fn load(conn: &mut DbConnection, key: &str) -> QueryResult<Option<Counter>> {
    sign_in_throttle::table
        .find(key)
        .select((
            sign_in_throttle::failures,
            sign_in_throttle::window_start,
            sign_in_throttle::last_failure_at,
            sign_in_throttle::locked_until,
        ))
        .first::<(i32, NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>)>(conn)
        .optional()
        .map(|row| {
            row.map(
                |(failures, window_start, last_failure_at, locked_until)| Counter {
                    failures,
                    window_start,
                    last_failure_at,
                    locked_until,
                },
            )
        })
}

/// The stored counter of `subject`, if any.
pub fn counter(conn: &mut DbConnection, subject: &Subject) -> QueryResult<Option<Counter>> {
    load(conn, &subject.key())
}

/// The strictest verdict over `subjects` at `now`.
pub fn check_all(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    subjects: &[Subject],
    now: NaiveDateTime,
) -> QueryResult<Verdict> {
    let mut verdict = Verdict::Allowed;
    for subject in subjects {
        let counter = load(conn, &subject.key())?;
        verdict = verdict.max(check(policy, subject, counter, now));
    }
    Ok(verdict)
}

/// Counts a failure against `subject`; true when it locked the password just now.
pub fn record_failure(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    subject: &Subject,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    match record_once(conn, policy, subject, now) {
        // Two first failures racing on PostgreSQL: the second finds the row on its retry.
        Err(e) if crate::db::is_unique_violation(&e) => record_once(conn, policy, subject, now),
        other => other,
    }
}

fn record_once(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    subject: &Subject,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let key = subject.key();
    crate::db::write_transaction(conn, |conn| {
        // Take the row's lock before reading it: on PostgreSQL two replicas counting the same
        // account at the same instant would otherwise both read n and both write n + 1. The
        // no-op UPDATE waits for the other writer; the read after it sees what that one wrote.
        // (SQLite's write transaction already holds the database lock.)
        diesel::update(sign_in_throttle::table.find(key.as_str()))
            .set(sign_in_throttle::failures.eq(sign_in_throttle::failures))
            .execute(conn)?;
        let stored = load(conn, &key)?;
        let (c, locked) = after_failure(policy, subject, stored, now);
        if stored.is_some() {
            diesel::update(sign_in_throttle::table.find(key.as_str()))
                .set((
                    sign_in_throttle::failures.eq(c.failures),
                    sign_in_throttle::window_start.eq(c.window_start),
                    sign_in_throttle::last_failure_at.eq(c.last_failure_at),
                    sign_in_throttle::locked_until.eq(c.locked_until),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(sign_in_throttle::table)
                .values((
                    sign_in_throttle::key.eq(key.as_str()),
                    sign_in_throttle::failures.eq(c.failures),
                    sign_in_throttle::window_start.eq(c.window_start),
                    sign_in_throttle::last_failure_at.eq(c.last_failure_at),
                    sign_in_throttle::locked_until.eq(c.locked_until),
                ))
                .execute(conn)?;
        }
        Ok(locked)
    })
}

/// Forgets the counter (a successful sign-in, or an admin's unlock). True when there was one.
pub fn reset(conn: &mut DbConnection, subject: &Subject) -> QueryResult<bool> {
    diesel::delete(sign_in_throttle::table.find(subject.key()))
        .execute(conn)
        .map(|n| n > 0)
}

/// An admin's unlock: clears the user's counter (and lock), audited. True when there was one.
pub fn unlock(conn: &mut DbConnection, user: &User, now: NaiveDateTime) -> QueryResult<bool> {
    crate::db::write_transaction(conn, |conn| {
        let had = reset(conn, &Subject::account(&user.email))?;
        audit::record(
            conn,
            AuditKind::PasswordUnlocked,
            Some(&user.id),
            None,
            Some("cli"),
            now,
        )?;
        Ok(had)
    })
}

/// Deletes counters nobody has touched since `before` (the sweeper).
pub fn delete_stale(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        sign_in_throttle::table
            .filter(sign_in_throttle::last_failure_at.lt(before))
            .filter(
                sign_in_throttle::locked_until
                    .is_null()
                    .or(sign_in_throttle::locked_until.lt(before)),
            ),
    )
    .execute(conn)
}

/// Counts one failed attempt at proving `account` (a wrong password, or a wrong second factor)
/// against the account and, when known, the client IP. When this failure locks the password,
/// the lock is audited and the owner (`user`, when the address has an account) gets one mail.
/// Returns whether it locked. Not inside a transaction of the caller's: each counter takes its
/// own write turn.
pub fn count_failure(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    links: &Links,
    account: &Subject,
    user: Option<&User>,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let locked = record_failure(conn, policy, account, now)?;
    if let Some(ip) = ip {
        record_failure(conn, policy, &Subject::Ip(ip.to_string()), now)?;
    }
    if locked {
        crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
            audit::record(
                conn,
                AuditKind::PasswordLocked,
                user.map(|u| &u.id),
                ip,
                Some(&format!("until {}", now + policy.lock)),
                now,
            )?;
            if let Some(user) = user {
                notices::password_locked(conn, links, user, ip, now + policy.lock, now)?;
            }
            Ok(())
        })?;
    }
    Ok(locked)
}

/// For a second-factor step (TOTP, recovery code): a wrong code counts against the same account
/// counter as a wrong password (backoff, soft lock, mail, audit). Call it after the code failed;
/// call [`check_all`] with `[Subject::account(&user.email)]` (plus the IP) BEFORE checking a
/// code and refuse on `Wait`. Returns whether this failure locked the account's password.
pub fn second_factor_failed(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    links: &Links,
    user: &User,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    count_failure(
        conn,
        policy,
        links,
        &Subject::account(&user.email),
        Some(user),
        ip,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 5,
            backoff_base: Duration::seconds(1),
            backoff_max: Duration::seconds(60),
            lock_after: 20,
            lock: Duration::seconds(900),
            per_ip_per_hour: 100,
        }
    }

    fn t0() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    fn fail_n(
        p: &ThrottlePolicy,
        s: &Subject,
        n: i32,
        now: NaiveDateTime,
    ) -> (Option<Counter>, bool) {
        let mut c = None;
        let mut locked = false;
        for _ in 0..n {
            let (next, l) = after_failure(p, s, c, now);
            c = Some(next);
            locked |= l;
        }
        (c, locked)
    }

    #[test]
    fn delay_is_free_then_doubles_up_to_the_cap() {
        let p = policy();
        let secs: Vec<i64> = (0..=14).map(|n| delay(&p, 5, n).num_seconds()).collect();
        assert_eq!(secs, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        assert_eq!(delay(&p, 0, 0).num_seconds(), 0);
        assert_eq!(delay(&p, 0, 1).num_seconds(), 1);
        assert_eq!(delay(&p, 5, i32::MAX).num_seconds(), 60);
    }

    #[test]
    fn free_failures_then_waits_that_grow() {
        let p = policy();
        let s = Subject::account("alice@example.com");
        let (c, _) = fail_n(&p, &s, 4, t0());
        assert_eq!(check(&p, &s, c, t0()), Verdict::Allowed);
        let (c, _) = fail_n(&p, &s, 5, t0());
        assert_eq!(check(&p, &s, c, t0()), Verdict::Wait(1));
        assert_eq!(
            check(&p, &s, c, t0() + Duration::seconds(1)),
            Verdict::Allowed
        );
        let (c, _) = fail_n(&p, &s, 7, t0());
        assert_eq!(check(&p, &s, c, t0()), Verdict::Wait(4));
        assert_eq!(
            check(&p, &s, c, t0() + Duration::milliseconds(3001)),
            Verdict::Wait(1)
        );
        assert_eq!(
            check(&p, &s, c, t0() + Duration::seconds(4)),
            Verdict::Allowed
        );
    }

    #[test]
    fn the_lock_comes_once_at_the_threshold_and_ends() {
        let p = policy();
        let s = Subject::account("alice@example.com");
        let (c, locked) = fail_n(&p, &s, 19, t0());
        assert!(!locked);
        let (c, locked) = after_failure(&p, &s, c, t0());
        assert!(locked);
        let until = t0() + Duration::seconds(900);
        assert_eq!(check(&p, &s, Some(c), t0()), Verdict::Locked(until));
        // A further failure while locked does not lock again (one mail, one audit event).
        let (c2, again) = after_failure(&p, &s, Some(c), t0() + Duration::seconds(10));
        assert!(!again);
        assert_eq!(c2.locked_until, Some(until));
        // When the lock ends, the count starts over.
        assert_eq!(check(&p, &s, Some(c2), until), Verdict::Allowed);
        let (c3, _) = after_failure(&p, &s, Some(c2), until);
        assert_eq!(c3.failures, 1);
        assert_eq!(c3.locked_until, None);
    }

    #[test]
    fn clients_back_off_but_never_lock() {
        let p = policy();
        let s = Subject::Client(ClientId::generate());
        let (c, locked) = fail_n(&p, &s, 50, t0());
        assert!(!locked);
        assert_eq!(check(&p, &s, c, t0()), Verdict::Wait(60));
    }

    #[test]
    fn ip_counts_per_hour() {
        let p = ThrottlePolicy {
            per_ip_per_hour: 3,
            ..policy()
        };
        let s = Subject::Ip("192.0.2.1".into());
        let (c, locked) = fail_n(&p, &s, 2, t0());
        assert!(!locked);
        assert_eq!(check(&p, &s, c, t0()), Verdict::Allowed);
        let (c, _) = fail_n(&p, &s, 3, t0());
        assert_eq!(check(&p, &s, c, t0()), Verdict::Wait(1));
        let (c, _) = fail_n(&p, &s, 40, t0());
        assert_eq!(check(&p, &s, c, t0()), Verdict::Wait(60));
        // A new hour, a new count.
        let later = t0() + Duration::seconds(3600);
        assert_eq!(check(&p, &s, c, later), Verdict::Allowed);
        assert_eq!(after_failure(&p, &s, c, later).0.failures, 1);
    }

    #[test]
    fn unknown_and_odd_addresses_are_counted_like_known_ones() {
        assert_eq!(
            Subject::account(" Alice@Example.com ").key(),
            Subject::account("alice@example.com").key()
        );
        assert_eq!(
            Subject::account(" NOT AN EMAIL").key(),
            "account:not an email"
        );
    }

    #[test]
    fn the_stricter_verdict_wins() {
        let until = t0();
        assert_eq!(
            Verdict::Wait(3).max(Verdict::Locked(until)),
            Verdict::Locked(until)
        );
        assert_eq!(Verdict::Wait(3).max(Verdict::Wait(9)), Verdict::Wait(9));
        assert_eq!(Verdict::Allowed.max(Verdict::Wait(2)), Verdict::Wait(2));
        assert_eq!(Verdict::Allowed.max(Verdict::Allowed), Verdict::Allowed);
    }
}
