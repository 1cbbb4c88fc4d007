//! Fixed-window rate limits kept in the database, so every replica counts together.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::rate_limit;
use crate::db::DbConnection;

/// Counts one hit against `key`; false when `limit` hits already happened in the current window.
pub fn hit(
    conn: &mut DbConnection,
    key: &str,
    limit: i32,
    window: Duration,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    match hit_once(conn, key, limit, window, now) {
        // Two first hits racing on PostgreSQL: the second finds the row on its retry.
        Err(e) if crate::db::is_unique_violation(&e) => hit_once(conn, key, limit, window, now),
        other => other,
    }
}

fn hit_once(
    conn: &mut DbConnection,
    key: &str,
    limit: i32,
    window: Duration,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    crate::db::write_transaction(conn, |conn| {
        // Lock the row before reading it, so that replicas hitting the same key at once on
        // PostgreSQL count one after the other instead of both writing count + 1.
        diesel::update(rate_limit::table.find(key))
            .set(rate_limit::count.eq(rate_limit::count))
            .execute(conn)?;
        let current: Option<(NaiveDateTime, i32)> = rate_limit::table
            .find(key)
            .select((rate_limit::window_start, rate_limit::count))
            .first(conn)
            .optional()?;
        match current {
            Some((start, count)) if start + window > now => {
                if count >= limit {
                    return Ok(false);
                }
                diesel::update(rate_limit::table.find(key))
                    .set(rate_limit::count.eq(count + 1))
                    .execute(conn)?;
            }
            Some(_) => {
                diesel::update(rate_limit::table.find(key))
                    .set((rate_limit::window_start.eq(now), rate_limit::count.eq(1)))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(rate_limit::table)
                    .values((
                        rate_limit::key.eq(key),
                        rate_limit::window_start.eq(now),
                        rate_limit::count.eq(1),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(true)
    })
}

pub fn delete_stale(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(rate_limit::table.filter(rate_limit::window_start.lt(before))).execute(conn)
}

/// Whether `limit` hits already happened in the current window of `key`, without counting one:
/// for limits on failures, checked before an attempt and hit only when it fails.
pub fn exhausted(
    conn: &mut DbConnection,
    key: &str,
    limit: i32,
    window: Duration,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let current: Option<(NaiveDateTime, i32)> = rate_limit::table
        .find(key)
        .select((rate_limit::window_start, rate_limit::count))
        .first(conn)
        .optional()?;
    Ok(matches!(current, Some((start, count)) if start + window > now && count >= limit))
}
