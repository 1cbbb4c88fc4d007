//! Who may administer (issue 14, part 1): the rule, free of HTTP so it is tested with an explicit
//! `now`. A person administers with their browser session only while it is fresh and, once their
//! account has a second factor, proven with it; a client with an admin-scoped token needs neither
//! (its secret is its proof, and it is checked on every call).

use chrono::{Duration, NaiveDateTime};

use crate::db::models::{Session, User};

/// What a person's session may do on the admin side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Not an admin (or disabled): a 403, never a hint that the pages exist.
    NotAdmin,
    /// An admin whose sign-in is older than the policy allows: sign in again.
    SignInAgain,
    /// An admin whose account has a second factor, but this session did not use it.
    SecondFactorNeeded,
}

#[derive(Debug, Clone, Copy)]
pub struct AccessPolicy {
    pub reauthenticate_within: Duration,
}

/// `has_second_factor`: the account has an authenticator app or a passkey usable as one.
pub fn check_person(
    user: &User,
    session: &Session,
    has_second_factor: bool,
    policy: AccessPolicy,
    now: NaiveDateTime,
) -> Verdict {
    if !user.is_admin || user.disabled_at.is_some() {
        return Verdict::NotAdmin;
    }
    // The first factor's time: a second factor added later does not make an old password fresh.
    if now - session.first_factor_at > policy.reauthenticate_within {
        return Verdict::SignInAgain;
    }
    if has_second_factor && session.second_factor_at.is_none() {
        return Verdict::SecondFactorNeeded;
    }
    Verdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::ids::{SessionId, UserId};

    fn at(min: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + min * 60, 0)
            .unwrap()
            .naive_utc()
    }

    fn user(admin: bool, disabled: bool) -> User {
        User {
            id: UserId::generate(),
            email: "a@example.com".into(),
            email_verified: true,
            name: "A".into(),
            image: None,
            is_admin: admin,
            created_at: at(0),
            updated_at: at(0),
            disabled_at: disabled.then(|| at(0)),
            disabled_reason: None,
        }
    }

    fn session(first: i64, second: Option<i64>) -> Session {
        Session {
            id: SessionId::generate(),
            token_hash: String::new(),
            user_id: UserId::generate(),
            created_at: at(first),
            expires_at: at(first + 10_000),
            last_seen_at: at(first),
            auth_time: at(second.unwrap_or(first)),
            auth_method: "pwd".into(),
            ip_address: None,
            user_agent: None,
            first_factor_at: at(first),
            second_factor_at: second.map(at),
        }
    }

    #[test]
    fn the_rule_table() {
        let policy = AccessPolicy {
            reauthenticate_within: Duration::minutes(60),
        };
        let now = at(100);
        // (admin, disabled, first factor at, second factor at, account has one) -> verdict
        let table = [
            (false, false, 90, None, false, Verdict::NotAdmin),
            (true, true, 90, None, false, Verdict::NotAdmin),
            (true, false, 90, None, false, Verdict::Allowed),
            (true, false, 40, None, false, Verdict::Allowed),
            (true, false, 39, None, false, Verdict::SignInAgain),
            // A fresh second factor does not refresh an old first factor.
            (true, false, 10, Some(99), true, Verdict::SignInAgain),
            (true, false, 90, None, true, Verdict::SecondFactorNeeded),
            (true, false, 90, Some(91), true, Verdict::Allowed),
            // A second factor used although the account no longer has one: still fine.
            (true, false, 90, Some(91), false, Verdict::Allowed),
        ];
        for (admin, disabled, first, second, has, want) in table {
            let got = check_person(
                &user(admin, disabled),
                &session(first, second),
                has,
                policy,
                now,
            );
            assert_eq!(
                got, want,
                "admin={admin} disabled={disabled} first={first} second={second:?} has={has}"
            );
        }
    }
}
