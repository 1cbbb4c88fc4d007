//! The command line: `serve`, `migrate`, and the administration of users, client applications,
//! upstream providers, signing keys and the mail queue (one file per area).

mod clients;
mod keys;
mod mail;
mod providers;
mod users;

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::config::Settings;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::startup::{open_database, Application};
pub use clients::{ClientCommand, CreateClient};
pub use keys::KeysCommand;
pub use mail::MailCommand;
pub use providers::{AddProvider, ProviderCommand};
pub use users::{CreateUser, UserCommand};

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "A standalone OpenID Connect identity server")]
pub struct Cli {
    /// Configuration file (TOML); also read from PORTCULLIS_CONFIG.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Revert every migration instead (drops all Portcullis tables and their data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage client applications (relying parties).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage upstream identity providers (Google, GitHub, OIDC, OAuth2).
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Inspect outgoing mail.
    #[command(subcommand)]
    Mail(MailCommand),
}


#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await.map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(())
        }
        Command::Migrate { revert_all } => migrate(&settings, revert_all).await,
        Command::User(cmd) => users::run(&settings, cmd).await,
        Command::Client(cmd) => clients::run(&settings, cmd).await,
        Command::Keys(cmd) => keys::run(&settings, cmd).await,
        Command::Provider(cmd) => providers::run(&settings, cmd).await,
        Command::Mail(MailCommand::Queue { json }) => mail::queue(&settings, json).await,
    }
}

async fn migrate(settings: &Settings, revert_all: bool) -> Result<(), CliError> {
    if revert_all {
        let db = Db::connect(&settings.database_url(), 1, std::time::Duration::from_secs(settings.database.connect_timeout_secs))?;
        let reverted = db.run(|conn| db::revert_all_migrations(conn)).await?;
        println!("reverted {} migration(s)", reverted.len());
        return Ok(());
    }
    let db = open_database(settings).await?;
    println!("database ({}) is up to date", db.backend());
    Ok(())
}


/// First line of standard input, without its line ending.
fn read_password_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("cannot read the password from standard input: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(CliError::Usage("no password on standard input".into()));
    }
    Ok(password)
}

fn json_line(value: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into()));
}

/// Validation problems are the user's to fix; show them as such.
fn usage(e: AppError) -> CliError {
    match e {
        AppError::BadRequest(why) => CliError::Usage(why),
        other => CliError::App(other),
    }
}
