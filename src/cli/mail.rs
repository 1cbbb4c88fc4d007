//! `portcullis mail …`.

use clap::Subcommand;
use serde::Serialize;

use super::{json_line, CliError};
use crate::config::Settings;
use crate::db::models::OutboxMessage;
use crate::startup::open_database;

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Messages not yet sent (pending, retrying, or given up), with their last error.
    Queue {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct QueuedOut {
    id: String,
    to: String,
    subject: String,
    status: String,
    attempts: i32,
    next_attempt_at: String,
    last_error: Option<String>,
}

pub async fn queue(settings: &Settings, json: bool) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let rows = db.run(|conn| Ok(OutboxMessage::unsent(conn)?)).await?;
    let out: Vec<QueuedOut> = rows
        .into_iter()
        .map(|m| QueuedOut {
            id: m.id.to_string(),
            to: m.recipient,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m
                .next_attempt_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            last_error: m.last_error,
        })
        .collect();
    if json {
        json_line(&out);
        return Ok(());
    }
    if out.is_empty() {
        println!("the mail queue is empty");
    }
    for m in out {
        println!(
            "{}  {:<8} tries={} next={}  to={}  {}",
            m.id, m.status, m.attempts, m.next_attempt_at, m.to, m.subject
        );
        if let Some(e) = m.last_error {
            println!("    last error: {e}");
        }
    }
    Ok(())
}
