use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::verifications;
use crate::db::DbConnection;
use crate::identity::ids::VerificationId;

/// A short-lived single-use token (its SHA-256 only). Issued by the email flows.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = verifications)]
pub struct Verification {
    pub id: VerificationId,
    pub identifier: String,
    pub purpose: String,
    pub value_hash: String,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    /// Wrong tries so far (one-time codes lock after a few).
    pub attempts: i32,
}

impl Verification {
    pub fn insert(conn: &mut DbConnection, new: &Verification) -> QueryResult<usize> {
        diesel::insert_into(verifications::table)
            .values(new)
            .execute(conn)
    }

    /// Uses up an unexpired token: deletes it and returns 1, or 0 when it is unknown, expired,
    /// for another purpose, or already used.
    pub fn consume(
        conn: &mut DbConnection,
        value_hash: &str,
        purpose: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(
            verifications::table
                .filter(verifications::value_hash.eq(value_hash))
                .filter(verifications::purpose.eq(purpose))
                .filter(verifications::expires_at.gt(now)),
        )
        .execute(conn)
    }

    pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(verifications::table.filter(verifications::expires_at.le(now))).execute(conn)
    }
}
