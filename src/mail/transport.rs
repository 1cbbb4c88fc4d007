//! How mail leaves: logged (default, so a fresh start works), written to files, or sent by SMTP.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{MailSettings, MailTransport, SmtpSecurity};
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
        match s.transport {
            MailTransport::Log => Ok(Transport::Log),
            MailTransport::File => {
                // The files carry single-use sign-in links.
                crate::files::create_private_dir(&s.file_dir)
                    .map_err(|e| AppError::Config(format!("mail.file_dir: {e}")))?;
                Ok(Transport::File(s.file_dir.clone()))
            }
            MailTransport::Smtp => {
                let smtp = &s.smtp;
                let host = smtp.host.clone();
                let tls = || {
                    TlsParameters::new(host.clone())
                        .map_err(|e| AppError::Config(format!("mail.smtp: {e}")))
                };
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                        .port(smtp.port)
                        .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
                builder = match smtp.security {
                    SmtpSecurity::None => builder.tls(Tls::None),
                    SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
                    SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
                };
                if !smtp.username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        smtp.username.clone(),
                        smtp.password.expose().to_string(),
                    ));
                }
                Ok(Transport::Smtp(builder.build()))
            }
        }
    }

    /// Delivers one message; the error text is kept on the outbox row.
    pub async fn send(&self, from: &str, m: &OutboxMessage) -> Result<(), String> {
        match self {
            Transport::Log => {
                // The whole text, links included, at info: the log transport exists so that a
                // development setup without a mail server can follow verification and sign-in
                // links (the README sends people here). Startup warns that it is for development.
                tracing::info!(to = %m.recipient, subject = %m.subject, "mail (log transport, not sent):\n{}", log_text(m));
                Ok(())
            }
            Transport::File(dir) => {
                let email = build(from, m)?;
                let path = dir.join(format!("{}.eml", m.id));
                let bytes = email.formatted();
                tokio::fs::write(&path, bytes)
                    .await
                    .map_err(|e| format!("writing {}: {e}", path.display()))
            }
            Transport::Smtp(t) => {
                let email = build(from, m)?;
                t.send(email).await.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }
}

/// The message as the log transport shows it: the headers a reader needs, then the plain text.
fn log_text(m: &OutboxMessage) -> String {
    format!(
        "To: {}\nSubject: {}\n\n{}",
        m.recipient,
        m.subject,
        m.body_text.trim_end()
    )
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
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(m.body_text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(m.body_html.clone()),
                ),
        )
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn message(body: &str) -> OutboxMessage {
        let now = chrono::Utc::now().naive_utc();
        OutboxMessage {
            id: crate::identity::ids::MailId::from_db("mail_1".into()),
            recipient: "ada@example.com".into(),
            subject: "Confirm your email address".into(),
            body_text: body.into(),
            body_html: "<p>html</p>".into(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            locked_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }

    #[tokio::test]
    async fn log_transport_shows_the_text_and_its_links_at_the_default_level() {
        let captured = Captured::default();
        let writer = captured.clone();
        // The same filter as config/default.toml's log.filter.
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let link = "http://127.0.0.1:8080/verify?token=abc123";
        Transport::Log
            .send(
                "Portcullis <no-reply@localhost>",
                &message(&format!("Hello Ada,\n\nConfirm: {link}\n")),
            )
            .await
            .unwrap();
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(out.contains(" INFO "), "{out}");
        assert!(out.contains(link), "{out}");
        assert!(
            out.contains("Subject: Confirm your email address")
                && out.contains("To: ada@example.com"),
            "{out}"
        );
        assert!(!out.contains("<p>html</p>"), "{out}");
    }
}
