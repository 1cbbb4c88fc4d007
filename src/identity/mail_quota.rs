//! How much mail one address or one client can make us send. Every form that sends mail
//! (verification, reset, magic link, code) counts against an hourly limit per recipient address
//! and per client IP, so the forms cannot flood a mailbox or our mail relay. Counted in the
//! database, so every replica counts together.

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

use super::rate_limit;
use crate::config::AccountSettings;
use crate::db::DbConnection;

#[derive(Debug, Clone, Copy)]
pub struct MailQuota {
    pub per_address_per_hour: i32,
    pub per_ip_per_hour: i32,
}

impl From<&AccountSettings> for MailQuota {
    fn from(a: &AccountSettings) -> Self {
        MailQuota {
            per_address_per_hour: a.mail_per_address_per_hour,
            per_ip_per_hour: a.mail_per_ip_per_hour,
        }
    }
}

/// Counts one mail of `action` (`verify`, `reset`, `magic`, `code`) to `email` asked for from
/// `ip`; false when either limit is used up. Both are counted even when the first refuses, so
/// a client cannot spend one limit while hiding behind the other.
pub fn allow(
    conn: &mut DbConnection,
    quota: &MailQuota,
    action: &str,
    email: Option<&str>,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let mut keys = Vec::new();
    if let Some(e) = email {
        keys.push((format!("{action}:email:{e}"), quota.per_address_per_hour));
    }
    if let Some(ip) = ip {
        keys.push((format!("{action}:ip:{ip}"), quota.per_ip_per_hour));
    }
    let mut ok = true;
    for (key, limit) in &keys {
        ok &= rate_limit::hit(conn, key, *limit, Duration::hours(1), now)?;
    }
    Ok(ok)
}
