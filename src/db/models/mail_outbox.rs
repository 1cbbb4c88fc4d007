use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::mail_outbox;
use crate::db::DbConnection;
use crate::identity::ids::MailId;

/// A message waiting to be sent (or sent, or given up on). Delivery happens in the background,
/// so a slow or dead mail server never slows or fails the request that queued it.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct OutboxMessage {
    pub id: MailId,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// `pending`, `sent` or `failed` (gave up after the last attempt).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    /// A worker that claimed the message owns it until then (several replicas share the queue).
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxMessage {
    pub fn insert(conn: &mut DbConnection, m: &OutboxMessage) -> QueryResult<usize> {
        diesel::insert_into(mail_outbox::table)
            .values(m)
            .execute(conn)
    }

    /// Pending messages due now and not claimed by a live worker.
    pub fn due(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<OutboxMessage>> {
        mail_outbox::table
            .filter(mail_outbox::status.eq("pending"))
            .filter(mail_outbox::next_attempt_at.le(now))
            .filter(
                mail_outbox::locked_until
                    .is_null()
                    .or(mail_outbox::locked_until.lt(now)),
            )
            .order(mail_outbox::next_attempt_at.asc())
            .limit(limit)
            .select(OutboxMessage::as_select())
            .load(conn)
    }

    /// Claims a message for `until`; 0 rows means another worker got it first.
    pub fn claim(
        conn: &mut DbConnection,
        id: &MailId,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            mail_outbox::table
                .filter(mail_outbox::id.eq(id))
                .filter(mail_outbox::status.eq("pending"))
                .filter(
                    mail_outbox::locked_until
                        .is_null()
                        .or(mail_outbox::locked_until.lt(now)),
                ),
        )
        .set(mail_outbox::locked_until.eq(until))
        .execute(conn)
    }

    pub fn mark_sent(
        conn: &mut DbConnection,
        id: &MailId,
        attempts: i32,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(mail_outbox::table.find(id))
            .set((
                mail_outbox::status.eq("sent"),
                mail_outbox::attempts.eq(attempts),
                mail_outbox::sent_at.eq(now),
                mail_outbox::locked_until.eq(None::<NaiveDateTime>),
                mail_outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)
    }

    pub fn mark_failed_attempt(
        conn: &mut DbConnection,
        id: &MailId,
        attempts: i32,
        give_up: bool,
        next_at: NaiveDateTime,
        error: &str,
    ) -> QueryResult<usize> {
        diesel::update(mail_outbox::table.find(id))
            .set((
                mail_outbox::status.eq(if give_up { "failed" } else { "pending" }),
                mail_outbox::attempts.eq(attempts),
                mail_outbox::next_attempt_at.eq(next_at),
                mail_outbox::locked_until.eq(None::<NaiveDateTime>),
                mail_outbox::last_error.eq(Some(error)),
            ))
            .execute(conn)
    }

    /// Everything not yet sent, oldest first (for `portcullis mail queue`).
    pub fn unsent(conn: &mut DbConnection) -> QueryResult<Vec<OutboxMessage>> {
        mail_outbox::table
            .filter(mail_outbox::status.ne("sent"))
            .order(mail_outbox::created_at.asc())
            .select(OutboxMessage::as_select())
            .load(conn)
    }

    /// Makes unsent mail due now with its attempts reset: one message, or every failed one.
    pub fn retry(
        conn: &mut DbConnection,
        id: Option<&MailId>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let changes = (
            mail_outbox::status.eq("pending"),
            mail_outbox::attempts.eq(0),
            mail_outbox::next_attempt_at.eq(now),
            mail_outbox::locked_until.eq(None::<NaiveDateTime>),
        );
        match id {
            Some(id) => diesel::update(
                mail_outbox::table
                    .filter(mail_outbox::id.eq(id))
                    .filter(mail_outbox::status.ne("sent")),
            )
            .set(changes)
            .execute(conn),
            None => diesel::update(mail_outbox::table.filter(mail_outbox::status.eq("failed")))
                .set(changes)
                .execute(conn),
        }
    }

    /// Deletes mail that was given up on: one message, or all of it.
    pub fn delete_failed(conn: &mut DbConnection, id: Option<&MailId>) -> QueryResult<usize> {
        match id {
            Some(id) => diesel::delete(
                mail_outbox::table
                    .filter(mail_outbox::id.eq(id))
                    .filter(mail_outbox::status.eq("failed")),
            )
            .execute(conn),
            None => diesel::delete(mail_outbox::table.filter(mail_outbox::status.eq("failed")))
                .execute(conn),
        }
    }

    pub fn delete_sent_before(
        conn: &mut DbConnection,
        before: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(
            mail_outbox::table
                .filter(mail_outbox::status.eq("sent"))
                .filter(mail_outbox::sent_at.lt(before)),
        )
        .execute(conn)
    }

    /// How many rows wait (and since when the oldest), and how many were given up on: the
    /// queue gauges of `/metrics`.
    pub fn queue_stats(conn: &mut DbConnection) -> QueryResult<crate::metrics::QueueStats> {
        let (pending, oldest_pending_at) = mail_outbox::table
            .filter(mail_outbox::status.eq("pending"))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(mail_outbox::created_at),
            ))
            .first::<(i64, Option<NaiveDateTime>)>(conn)?;
        let failed = mail_outbox::table
            .filter(mail_outbox::status.eq("failed"))
            .count()
            .get_result(conn)?;
        Ok(crate::metrics::QueueStats {
            pending,
            oldest_pending_at,
            failed,
        })
    }
}
