//! Outgoing mail: messages are rendered from templates, written to an outbox table in the same
//! transaction as whatever caused them, and delivered by a background worker with retries.

pub mod transport;
pub mod worker;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::models::OutboxMessage;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::identity::ids::MailId;
use crate::web::templates::Templates;

/// A rendered message.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The mail's own view plus the locale its `t()` calls use.
#[derive(Serialize)]
struct Localized<'a, C: Serialize> {
    #[serde(flatten)]
    view: &'a C,
    locale: &'static str,
}

/// Renders `email/{name}.txt` and `email/{name}.html` in `locale`; the first line of the text
/// template is `Subject: …`.
pub fn compose<C: Serialize>(
    templates: &Templates,
    name: &str,
    to: &str,
    locale: Locale,
    ctx: &C,
) -> Result<Message, AppError> {
    let ctx = Localized {
        view: ctx,
        locale: locale.code(),
    };
    let text = templates.render(&format!("email/{name}.txt"), &ctx)?;
    let html = templates.render(&format!("email/{name}.html"), &ctx)?;
    let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
    let subject = first
        .strip_prefix("Subject:")
        .map(str::trim)
        .ok_or_else(|| {
            AppError::Internal(format!("email/{name}.txt must start with 'Subject: '"))
        })?;
    Ok(Message {
        to: to.into(),
        subject: subject.into(),
        text: body.trim_start().into(),
        html,
    })
}

/// Queues a message; call it inside the transaction of the change it reports.
pub fn enqueue(conn: &mut DbConnection, m: &Message, now: NaiveDateTime) -> Result<(), AppError> {
    enqueue_returning_id(conn, m, now).map(|_| ())
}

/// [`enqueue`], telling which row the message is (to follow it in the queue).
pub fn enqueue_returning_id(
    conn: &mut DbConnection,
    m: &Message,
    now: NaiveDateTime,
) -> Result<MailId, AppError> {
    let id = MailId::generate();
    OutboxMessage::insert(
        conn,
        &OutboxMessage {
            id: id.clone(),
            recipient: m.to.clone(),
            subject: m.subject.clone(),
            body_text: m.text.clone(),
            body_html: m.html.clone(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            locked_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        },
    )?;
    Ok(id)
}
