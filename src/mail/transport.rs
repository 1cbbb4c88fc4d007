//! How mail leaves: logged (default, so a fresh start works), written to files, or sent by SMTP.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{MailSettings, SmtpSecurity};
use crate::db::models::OutboxMessage;
use crate::error::AppError;

#[derive(Clone)]
pub enum Transport {
    Log,
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Transport {
    pub fn from_settings(s: &MailSettings) -> Result<Transport, AppError> {
        match s.transport.as_str() {
            "log" => Ok(Transport::Log),
            "file" => {
                std::fs::create_dir_all(&s.file_dir).map_err(|e| AppError::Config(format!("mail.file_dir: {e}")))?;
                Ok(Transport::File(s.file_dir.clone()))
            }
            "smtp" => {
                let smtp = &s.smtp;
                let host = smtp.host.clone();
                let tls = || TlsParameters::new(host.clone()).map_err(|e| AppError::Config(format!("mail.smtp: {e}")));
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    .port(smtp.port)
                    .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
                builder = match smtp.security {
                    SmtpSecurity::None => builder.tls(Tls::None),
                    SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
                    SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
                };
                if !smtp.username.is_empty() {
                    builder = builder.credentials(Credentials::new(smtp.username.clone(), smtp.password.expose().to_string()));
                }
                Ok(Transport::Smtp(builder.build()))
            }
            other => Err(AppError::Config(format!("mail.transport: {other:?} is not log, file or smtp"))),
        }
    }

    /// Delivers one message; the error text is kept on the outbox row.
    pub async fn send(&self, from: &str, m: &OutboxMessage) -> Result<(), String> {
        match self {
            Transport::Log => {
                // The body carries single-use links; log it only where the operator asked for it.
                tracing::info!(to = %m.recipient, subject = %m.subject, "mail (log transport)");
                tracing::debug!(body = %m.body_text, "mail body");
                Ok(())
            }
            Transport::File(dir) => {
                let email = build(from, m)?;
                let path = dir.join(format!("{}.eml", m.id));
                let bytes = email.formatted();
                tokio::fs::write(&path, bytes).await.map_err(|e| format!("writing {}: {e}", path.display()))
            }
            Transport::Smtp(t) => {
                let email = build(from, m)?;
                t.send(email).await.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }
}

fn build(from: &str, m: &OutboxMessage) -> Result<lettre::Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("mail.from: {e}"))?;
    let to: Mailbox = m.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
    lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(m.body_text.clone()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(m.body_html.clone())),
        )
        .map_err(|e| e.to_string())
}
