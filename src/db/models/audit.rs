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
    /// Who made the change when it was not the subject user (`audit::Actor`).
    pub actor: Option<&'a str>,
    pub client_id: Option<&'a str>,
}

/// A stored event, for the admin API and console.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_event)]
pub struct AuditEvent {
    pub id: String,
    pub user_id: Option<String>,
    pub kind: String,
    pub ip_address: Option<String>,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
    pub actor: Option<String>,
    pub client_id: Option<String>,
}

/// Which events an admin asks for; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// An exact kind, or a prefix ending in `.` (`session.` for every session event).
    pub kind: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// Newest first, `limit` of them after skipping `offset`.
pub fn search(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut q = audit_event::table
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some(u) = &filter.user_id {
        q = q.filter(audit_event::user_id.eq(u.clone()));
    }
    if let Some(c) = &filter.client_id {
        q = q.filter(audit_event::client_id.eq(c.clone()));
    }
    match &filter.kind {
        Some(k) if k.ends_with('.') => {
            // Kinds are lowercase letters, dots and underscores (checked by the admin core);
            // `_` is a LIKE wildcard, so it is escaped.
            let escaped = k.replace('_', "\\_");
            q = q.filter(audit_event::kind.like(format!("{escaped}%")).escape('\\'));
        }
        Some(k) => q = q.filter(audit_event::kind.eq(k.clone())),
        None => {}
    }
    if let Some(t) = filter.since {
        q = q.filter(audit_event::created_at.ge(t));
    }
    if let Some(t) = filter.until {
        q = q.filter(audit_event::created_at.lt(t));
    }
    q.order((audit_event::created_at.desc(), audit_event::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)
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
