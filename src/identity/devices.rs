//! Recognising the browser a person signs in from, so a sign-in from a new one can be reported.
//!
//! Each browser gets a long-lived cookie holding 256 random bits; per user, the database keeps
//! only its SHA-256. A browser is "known" to a user once they have signed in from it. Not the IP
//! address and not the user agent: addresses change with every network and user agents with every
//! update, and both are shared by many people, so either would warn too often or too rarely.

use super::ids::UserId;
use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

use crate::crypto::{random_token, sha256_hex};
use crate::db::models::KnownDevice;
use crate::db::{is_unique_violation, DbConnection};

/// How long the device cookie lives, and so how long a device unseen stays known: 400 days is
/// the longest cookie lifetime browsers honour (RFC 6265bis §5.5).
pub const DEVICE_LIFETIME_DAYS: i64 = 400;

/// The secret in a browser's device cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub fn generate() -> DeviceToken {
        DeviceToken(random_token(32))
    }

    /// A cookie value we could have issued (43 base64url characters); anything else is ignored.
    pub fn parse(raw: &str) -> Option<DeviceToken> {
        (raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| DeviceToken(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceToken([redacted])")
    }
}

/// What a sign-in told us about the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// The user has signed in from this browser before.
    Known,
    /// The first browser remembered for the user (just signed up, or no sign-in since devices
    /// were first remembered): nothing to compare with, so nothing to report.
    First,
    /// The user has other known browsers, and this is not one of them.
    New,
}

/// Remembers `device` for the user and says whether it was new to them.
pub fn remember(
    conn: &mut DbConnection,
    user_id: &UserId,
    device: &DeviceToken,
    now: NaiveDateTime,
) -> QueryResult<Sighting> {
    let hash = sha256_hex(device.as_str());
    if KnownDevice::touch(conn, user_id, &hash, now)? > 0 {
        return Ok(Sighting::Known);
    }
    let had_others = KnownDevice::any_for_user(conn, user_id)?;
    let row = KnownDevice {
        user_id: user_id.clone(),
        device_hash: hash,
        first_seen_at: now,
        last_seen_at: now,
    };
    // A savepoint, so that losing a race with another sign-in from this very browser (both found
    // it unknown) does not abort the caller's transaction on PostgreSQL: the winner reports it.
    match crate::db::write_transaction(conn, |conn| KnownDevice::insert(conn, &row)) {
        Ok(_) => Ok(if had_others {
            Sighting::New
        } else {
            Sighting::First
        }),
        Err(e) if is_unique_violation(&e) => Ok(Sighting::Known),
        Err(e) => Err(e),
    }
}

/// Forgets devices whose cookie has expired.
pub fn sweep(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    KnownDevice::delete_unseen_since(conn, now - Duration::days(DEVICE_LIFETIME_DAYS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_we_issue_parse() {
        let token = DeviceToken::generate();
        assert_eq!(DeviceToken::parse(token.as_str()), Some(token.clone()));
        assert!(DeviceToken::parse("short").is_none());
        assert!(
            DeviceToken::parse(&"a".repeat(42).chars().chain(['=']).collect::<String>()).is_none()
        );
        assert_eq!(format!("{token:?}"), "DeviceToken([redacted])");
    }
}
