//! The mail outbox as admins see it (issue 14): what is waiting or failed, retry, purge, and a
//! test message that goes through the same queue and transport as every other mail.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::users::utc;
use super::{AdminError, AdminResult};
use crate::db::models::OutboxMessage;
use crate::db::{write_transaction, DbConnection};
use crate::i18n::Locale;
use crate::identity::audit::{self, Actor, AuditKind, Event};
use crate::identity::email::Email;
use crate::identity::ids::MailId;
use crate::mail::{compose, enqueue_returning_id};
use crate::web::templates::Templates;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuedMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    /// `pending` (waiting or retrying) or `failed` (given up after the last attempt).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<OutboxMessage> for QueuedMail {
    fn from(m: OutboxMessage) -> Self {
        QueuedMail {
            id: m.id.to_string(),
            to: m.recipient,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: utc(m.next_attempt_at),
            last_error: m.last_error,
            created_at: utc(m.created_at),
        }
    }
}

/// Everything not yet sent, oldest first.
pub fn list(conn: &mut DbConnection) -> AdminResult<Vec<QueuedMail>> {
    Ok(OutboxMessage::unsent(conn)?
        .into_iter()
        .map(QueuedMail::from)
        .collect())
}

fn audit(
    conn: &mut DbConnection,
    actor: &Actor,
    kind: AuditKind,
    detail: &str,
    now: NaiveDateTime,
) -> AdminResult<()> {
    let event = Event {
        actor: Some(actor),
        detail: Some(detail),
        ..Event::new(kind)
    };
    Ok(audit::record_event(conn, &event, now)?)
}

/// Makes unsent mail due now with a fresh set of attempts: one message, or (`None`) every
/// failed one. Returns how many; wake the mail worker after.
pub fn retry(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Option<&str>,
    now: NaiveDateTime,
) -> AdminResult<usize> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let n = match id {
            Some(id) => {
                let id = MailId::parse(id).ok_or(AdminError::NotFound("mail"))?;
                let n = OutboxMessage::retry(conn, Some(&id), now)?;
                if n == 0 {
                    return Err(AdminError::NotFound("unsent mail"));
                }
                n
            }
            None => OutboxMessage::retry(conn, None, now)?,
        };
        audit(
            conn,
            actor,
            AuditKind::MailRetried,
            &format!("{n} message(s)"),
            now,
        )?;
        Ok(n)
    })
}

/// Deletes mail that was given up on: one message, or (`None`) every failed one.
pub fn purge(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Option<&str>,
    now: NaiveDateTime,
) -> AdminResult<usize> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let id = match id {
            Some(id) => Some(MailId::parse(id).ok_or(AdminError::NotFound("mail"))?),
            None => None,
        };
        let n = OutboxMessage::delete_failed(conn, id.as_ref())?;
        if id.is_some() && n == 0 {
            return Err(AdminError::NotFound("failed mail"));
        }
        audit(
            conn,
            actor,
            AuditKind::MailPurged,
            &format!("{n} message(s)"),
            now,
        )?;
        Ok(n)
    })
}

/// Queues a test message to `to` in `locale`; returns its ID, to follow it in the queue.
pub fn send_test(
    conn: &mut DbConnection,
    templates: &Templates,
    actor: &Actor,
    to: &Email,
    locale: Locale,
    issuer: &str,
    now: NaiveDateTime,
) -> AdminResult<String> {
    #[derive(Serialize)]
    struct TestMail<'a> {
        issuer: &'a str,
    }
    let message = compose(
        templates,
        "test_message",
        to.as_str(),
        locale,
        &TestMail { issuer },
    )?;
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let id = enqueue_returning_id(conn, &message, now)?;
        audit(conn, actor, AuditKind::MailTestQueued, to.as_str(), now)?;
        Ok(id.to_string())
    })
}
