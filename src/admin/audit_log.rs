//! The audit trail as admins read it (issue 14): filtered by user, client, kind and time.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::users::utc;
use super::{AdminError, AdminResult, Page, Paging};
use crate::db::models::audit::{self, AuditEvent, AuditFilter};
use crate::db::DbConnection;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    /// What happened, e.g. `session.sign_in`, `user.disabled`, `client.created`.
    pub kind: String,
    /// The user the event is about.
    pub user_id: Option<String>,
    /// Who did it when it was not that user: `user:<id>` (an admin), `client:<id>` (an admin
    /// API token), `cli` or `config`.
    pub actor: Option<String>,
    pub client_id: Option<String>,
    pub ip_address: Option<String>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        AuditEventView {
            id: e.id,
            kind: e.kind,
            user_id: e.user_id,
            actor: e.actor,
            client_id: e.client_id,
            ip_address: e.ip_address,
            detail: e.detail,
            created_at: utc(e.created_at),
        }
    }
}

/// A kind filter: lowercase letters, `_` and `.`, e.g. `user.disabled` or the prefix `user.`.
pub fn check_kind(kind: &str) -> AdminResult<()> {
    let ok = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(
            "kind: an event kind such as user.disabled, or a prefix such as user.".into(),
        ))
    }
}

pub fn search(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    paging: Paging,
) -> AdminResult<Page<AuditEventView>> {
    if let Some(kind) = &filter.kind {
        check_kind(kind)?;
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since >= until {
            return Err(AdminError::Invalid("since must be before until".into()));
        }
    }
    let rows = audit::search(conn, filter, paging.probe_limit(), paging.offset)?;
    Ok(Page::from_probe(rows, paging).map(AuditEventView::from))
}
