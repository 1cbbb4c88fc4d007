//! `portcullis backchannel …`: the back-channel logout outbox.

use std::sync::Arc;

use clap::Subcommand;
use serde::Serialize;

use super::{json_line, CliError};
use crate::config::Settings;
use crate::db::models::BackchannelLogout;
use crate::db::Db;
use crate::identity::ids::{BackchannelLogoutId, ClientId, SessionId, UserId};
use crate::identity::now;
use crate::oidc::keys::KeyStore;
use crate::oidc::{Lifetimes, Provider};
use crate::outbox::backchannel::{deliver_due, DeliveryPolicy, PassReport};
use crate::startup::{master_key, open_database};

#[derive(Debug, Subcommand)]
pub enum BackchannelCommand {
    /// Deliveries not yet made (pending, retrying, or given up), with attempts and last error.
    List {
        /// Delivered ones too (kept for a week).
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Makes a delivery (or every failed one) due now with a fresh set of attempts, and tries it
    /// once from here; the servers' workers retry what still fails.
    Retry {
        /// The delivery's id (`bcl_…`, from `backchannel list`).
        #[arg(required_unless_present = "failed", conflicts_with = "failed")]
        id: Option<String>,
        /// Every delivery that was given up on.
        #[arg(long)]
        failed: bool,
    },
}

#[derive(Serialize)]
struct DeliveryOut {
    id: BackchannelLogoutId,
    client_id: ClientId,
    subject: UserId,
    session_id: SessionId,
    jti: String,
    status: String,
    attempts: i32,
    next_attempt_at: String,
    created_at: String,
    last_error: Option<String>,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub async fn run(settings: &Settings, cmd: BackchannelCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    match cmd {
        BackchannelCommand::List { all, json } => list(&db, all, json).await,
        BackchannelCommand::Retry { id, failed } => {
            let target = match (&id, failed) {
                (Some(id), false) => Some(BackchannelLogoutId::parse(id).ok_or_else(|| {
                    CliError::Usage(format!("{id}: not a back-channel logout ID (bcl_…)"))
                })?),
                _ => None,
            };
            let changed = db
                .run(move |conn| Ok(BackchannelLogout::retry(conn, target.as_ref(), now())?))
                .await?;
            if changed == 0 {
                return Err(CliError::Usage(match id {
                    Some(id) if !failed => format!(
                        "no undelivered back-channel logout {id} (or a server is sending it right now)"
                    ),
                    _ => "no failed back-channel logouts".into(),
                }));
            }
            println!("{changed} delivery(ies) due again");
            let report = deliver_queued(settings, &db).await?;
            println!(
                "tried from here: {} delivered, {} failed (the servers retry those)",
                report.delivered, report.failed_attempts
            );
            Ok(())
        }
    }
}

async fn list(db: &Db, all: bool, json: bool) -> Result<(), CliError> {
    let rows = db
        .run(move |conn| {
            Ok(if all {
                BackchannelLogout::all(conn)?
            } else {
                BackchannelLogout::undelivered(conn)?
            })
        })
        .await?;
    let out: Vec<DeliveryOut> = rows
        .into_iter()
        .map(|r| DeliveryOut {
            id: r.id,
            client_id: r.client_id,
            subject: r.subject,
            session_id: r.session_id,
            jti: r.jti,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: rfc3339(r.next_attempt_at),
            created_at: rfc3339(r.created_at),
            last_error: r.last_error,
        })
        .collect();
    if json {
        json_line(&out);
        return Ok(());
    }
    if out.is_empty() {
        println!("no undelivered back-channel logouts");
    }
    for d in out {
        println!(
            "{}  {:<9} tries={} next={}  client={}  sid={}",
            d.id, d.status, d.attempts, d.next_attempt_at, d.client_id, d.session_id
        );
        if let Some(e) = d.last_error {
            println!("    last error: {e}");
        }
    }
    Ok(())
}

/// One delivery pass from this process over the rows due now: the CLI exits right after ending
/// sessions, and a server's worker would otherwise send them only at its next poll. What fails
/// stays queued for the servers.
pub async fn deliver_queued(settings: &Settings, db: &Db) -> Result<PassReport, CliError> {
    let lifetimes = Lifetimes::from(&settings.oidc);
    let keys = Arc::new(
        KeyStore::open(
            db.clone(),
            master_key(settings)?,
            settings.keys.clone(),
            lifetimes.key_retention(),
        )
        .await?,
    );
    let provider = Arc::new(Provider::new(settings, keys)?);
    let policy = DeliveryPolicy::from(&settings.oidc);
    Ok(deliver_due(db, &provider, &policy).await?)
}
