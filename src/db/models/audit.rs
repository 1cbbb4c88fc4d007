use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_event;
use crate::db::DbConnection;
use crate::identity::ids::{AuditEventId, UserId};

/// A security-relevant event. `detail` must never contain a secret.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_event)]
pub struct NewAuditEvent<'a> {
    pub id: &'a AuditEventId,
    pub user_id: Option<&'a UserId>,
    pub kind: &'a str,
    pub ip_address: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

impl NewAuditEvent<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(audit_event::table)
            .values(self)
            .execute(conn)
    }
}

/// Counts events of one kind for a user (tests and the admin side read the trail this way).
pub fn count_for_user(conn: &mut DbConnection, user_id: &UserId, kind: &str) -> QueryResult<i64> {
    audit_event::table
        .filter(audit_event::user_id.eq(user_id))
        .filter(audit_event::kind.eq(kind))
        .count()
        .get_result(conn)
}
