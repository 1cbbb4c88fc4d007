use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::backchannel_outbox;
use crate::db::DbConnection;
use crate::identity::ids::{BackchannelLogoutId, ClientId, SessionId, UserId};

/// One back-channel logout to deliver to one client for one ended session (or delivered, or
/// given up on). Written in the transaction that ended the session; see `outbox::backchannel`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = backchannel_outbox)]
pub struct BackchannelLogout {
    pub id: BackchannelLogoutId,
    pub client_id: ClientId,
    /// The `sub` of the logout token: the user whose session ended.
    pub subject: UserId,
    /// The `sid` of the logout token.
    pub session_id: SessionId,
    /// Fixed when the row is written, so every attempt carries the same `jti`.
    pub jti: String,
    /// `pending`, `delivered` or `failed` (gave up after the last attempt).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    /// A worker that claimed the row owns it until then; afterwards any replica may take it.
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

impl BackchannelLogout {
    pub fn insert(conn: &mut DbConnection, row: &BackchannelLogout) -> QueryResult<usize> {
        diesel::insert_into(backchannel_outbox::table)
            .values(row)
            .execute(conn)
    }

    pub fn find(
        conn: &mut DbConnection,
        id: &BackchannelLogoutId,
    ) -> QueryResult<Option<BackchannelLogout>> {
        backchannel_outbox::table
            .find(id)
            .select(BackchannelLogout::as_select())
            .first(conn)
            .optional()
    }

    /// Pending deliveries due now and not claimed by a live worker.
    pub fn due(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<BackchannelLogout>> {
        backchannel_outbox::table
            .filter(backchannel_outbox::status.eq("pending"))
            .filter(backchannel_outbox::next_attempt_at.le(now))
            .filter(
                backchannel_outbox::claimed_until
                    .is_null()
                    .or(backchannel_outbox::claimed_until.lt(now)),
            )
            .order(backchannel_outbox::next_attempt_at.asc())
            .limit(limit)
            .select(BackchannelLogout::as_select())
            .load(conn)
    }

    /// Claims a delivery until `until`. The condition is evaluated again by the UPDATE itself, so
    /// of several replicas racing for one row exactly one gets 1 here; the others get 0.
    pub fn claim(
        conn: &mut DbConnection,
        id: &BackchannelLogoutId,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            backchannel_outbox::table
                .filter(backchannel_outbox::id.eq(id))
                .filter(backchannel_outbox::status.eq("pending"))
                .filter(backchannel_outbox::next_attempt_at.le(now))
                .filter(
                    backchannel_outbox::claimed_until
                        .is_null()
                        .or(backchannel_outbox::claimed_until.lt(now)),
                ),
        )
        .set(backchannel_outbox::claimed_until.eq(until))
        .execute(conn)?;
        Ok(n == 1)
    }

    pub fn mark_delivered(
        conn: &mut DbConnection,
        id: &BackchannelLogoutId,
        attempts: i32,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(backchannel_outbox::table.find(id))
            .set((
                backchannel_outbox::status.eq("delivered"),
                backchannel_outbox::attempts.eq(attempts),
                backchannel_outbox::delivered_at.eq(now),
                backchannel_outbox::claimed_until.eq(None::<NaiveDateTime>),
                backchannel_outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)
    }

    pub fn mark_failed_attempt(
        conn: &mut DbConnection,
        id: &BackchannelLogoutId,
        attempts: i32,
        give_up: bool,
        next_at: NaiveDateTime,
        error: &str,
    ) -> QueryResult<usize> {
        diesel::update(backchannel_outbox::table.find(id))
            .set((
                backchannel_outbox::status.eq(if give_up { "failed" } else { "pending" }),
                backchannel_outbox::attempts.eq(attempts),
                backchannel_outbox::next_attempt_at.eq(next_at),
                backchannel_outbox::claimed_until.eq(None::<NaiveDateTime>),
                backchannel_outbox::last_error.eq(Some(error)),
            ))
            .execute(conn)
    }

    /// Everything not delivered (pending, retrying or given up), oldest first.
    pub fn undelivered(conn: &mut DbConnection) -> QueryResult<Vec<BackchannelLogout>> {
        backchannel_outbox::table
            .filter(backchannel_outbox::status.ne("delivered"))
            .order(backchannel_outbox::created_at.asc())
            .select(BackchannelLogout::as_select())
            .load(conn)
    }

    /// Every row, oldest first.
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<BackchannelLogout>> {
        backchannel_outbox::table
            .order(backchannel_outbox::created_at.asc())
            .select(BackchannelLogout::as_select())
            .load(conn)
    }

    /// Makes a delivery (`Some(id)`, pending or failed) or every failed one (`None`) due now with
    /// a fresh set of attempts; returns how many rows changed. A row a worker holds right now is
    /// left alone (its attempt decides).
    pub fn retry(
        conn: &mut DbConnection,
        id: Option<&BackchannelLogoutId>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let unclaimed = backchannel_outbox::claimed_until
            .is_null()
            .or(backchannel_outbox::claimed_until.lt(now));
        let changes = (
            backchannel_outbox::status.eq("pending"),
            backchannel_outbox::attempts.eq(0),
            backchannel_outbox::next_attempt_at.eq(now),
            backchannel_outbox::claimed_until.eq(None::<NaiveDateTime>),
        );
        match id {
            Some(id) => diesel::update(
                backchannel_outbox::table
                    .filter(backchannel_outbox::id.eq(id))
                    .filter(backchannel_outbox::status.ne("delivered"))
                    .filter(unclaimed),
            )
            .set(changes)
            .execute(conn),
            None => diesel::update(
                backchannel_outbox::table
                    .filter(backchannel_outbox::status.eq("failed"))
                    .filter(unclaimed),
            )
            .set(changes)
            .execute(conn),
        }
    }

    pub fn delete_delivered_before(
        conn: &mut DbConnection,
        before: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(
            backchannel_outbox::table
                .filter(backchannel_outbox::status.eq("delivered"))
                .filter(backchannel_outbox::delivered_at.lt(before)),
        )
        .execute(conn)
    }

    /// How many rows wait (and since when the oldest), and how many were given up on: the
    /// queue gauges of `/metrics`.
    pub fn queue_stats(conn: &mut DbConnection) -> QueryResult<crate::metrics::QueueStats> {
        let (pending, oldest_pending_at) = backchannel_outbox::table
            .filter(backchannel_outbox::status.eq("pending"))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(backchannel_outbox::created_at),
            ))
            .first::<(i64, Option<NaiveDateTime>)>(conn)?;
        let failed = backchannel_outbox::table
            .filter(backchannel_outbox::status.eq("failed"))
            .count()
            .get_result(conn)?;
        Ok(crate::metrics::QueueStats {
            pending,
            oldest_pending_at,
            failed,
        })
    }
}
