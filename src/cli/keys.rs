//! `portcullis keys …`.

use clap::Subcommand;
use serde::Serialize;

use super::{json_line, CliError};
use crate::config::Settings;
use crate::db::models::SigningKeyRow;
use crate::identity::now;
use crate::oidc::keys as oidc_keys;
use crate::startup::{master_key, open_database};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key for every algorithm. It is published at once and signs after
    /// keys.publish_ahead_secs, unless --immediately.
    Rotate {
        /// Sign with the new keys right away (clients that cached the old JWKS re-fetch it).
        #[arg(long)]
        immediately: bool,
    },
    /// List signing keys.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct KeyOut {
    kid: String,
    alg: String,
    not_before: String,
    created_at: String,
}

pub async fn run(settings: &Settings, cmd: KeysCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let mk = master_key(settings)?;
    match cmd {
        KeysCommand::Rotate { immediately } => {
            let ahead = if immediately {
                0
            } else {
                settings.keys.publish_ahead_secs
            };
            let kids = db
                .run(move |conn| {
                    let not_before = now() + chrono::Duration::seconds(ahead);
                    oidc_keys::rotate(conn, &mk, not_before)
                })
                .await?;
            println!(
                "new keys {}: published now, signing {}",
                kids.join(", "),
                if immediately {
                    "now".to_string()
                } else {
                    format!("in {ahead} s")
                }
            );
            Ok(())
        }
        KeysCommand::List { json } => {
            let rows = db.run(|conn| Ok(SigningKeyRow::all(conn)?)).await?;
            let out: Vec<KeyOut> = rows
                .into_iter()
                .map(|r| KeyOut {
                    kid: r.id,
                    alg: r.alg,
                    not_before: r
                        .not_before
                        .and_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    created_at: r
                        .created_at
                        .and_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                })
                .collect();
            if json {
                json_line(&out);
            } else {
                println!("{:<18}  {:<6}  {:<20}  CREATED", "KID", "ALG", "SIGNS FROM");
                for k in out {
                    println!(
                        "{:<18}  {:<6}  {:<20}  {}",
                        k.kid, k.alg, k.not_before, k.created_at
                    );
                }
            }
            Ok(())
        }
    }
}
