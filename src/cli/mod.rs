//! The command line: `serve`, `migrate` (status, print, apply), and the administration of users, groups, client
//! applications, upstream providers, signing keys, the mail queue and the back-channel logout
//! queue (one file per area).

mod backchannel;
mod clients;
mod groups;
mod keys;
mod mail;
mod migrate;
mod providers;
pub mod seed;
mod users;

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::config::Settings;
use crate::error::AppError;
use crate::startup::{Application, ShutdownSignals};
pub use backchannel::BackchannelCommand;
pub use clients::{ClientCommand, CreateClient};
pub use groups::GroupCommand;
pub use keys::KeysCommand;
pub use mail::MailCommand;
pub use migrate::{MigrateArgs, MigrateCommand};
pub use providers::{AddProvider, ProviderCommand};
pub use users::{CreateUser, UserCommand};

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "A standalone OpenID Connect identity server"
)]
pub struct Cli {
    /// Configuration file (TOML); also read from PORTCULLIS_CONFIG.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

// Parsed once per process: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve {
        /// Apply no migrations: refuse to start while any is pending (for deployments that run
        /// `portcullis migrate apply` in a pipeline). Same as database.migrate_on_start = false.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Review and apply database migrations: `status`, `print`, `apply`. Plain `migrate`
    /// applies the pending ones and exits.
    Migrate(MigrateArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups of users (the `groups` claim).
    #[command(subcommand)]
    Group(GroupCommand),
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
    /// Inspect and retry back-channel logout deliveries.
    #[command(subcommand)]
    Backchannel(BackchannelCommand),
    /// Add something to try Portcullis with: `--demo` makes a demo user and an application for
    /// the example relying party in examples/demo-rp.
    Seed(seed::SeedArgs),
    /// Ask the server at `listen` for /healthz; exit 0 when it answers 200 (the image's
    /// HEALTHCHECK: there is no curl in it).
    Healthcheck,
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
    let mut settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve { no_migrate: false }) {
        Command::Serve { no_migrate } => {
            if no_migrate {
                settings.database.migrate_on_start = false;
            }
            // Before the (slow) build, so that a Ctrl-C during startup is not lost either.
            let signals = ShutdownSignals::install()?;
            let app = Application::build(settings).await?;
            app.stop_on(signals);
            app.run_until_stopped()
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(())
        }
        Command::Migrate(args) => migrate::run(&settings, args).await,
        Command::User(cmd) => users::run(&settings, cmd).await,
        Command::Group(cmd) => groups::run(&settings, cmd).await,
        Command::Client(cmd) => clients::run(&settings, cmd).await,
        Command::Keys(cmd) => keys::run(&settings, cmd).await,
        Command::Provider(cmd) => providers::run(&settings, cmd).await,
        Command::Mail(MailCommand::Queue { json }) => mail::queue(&settings, json).await,
        Command::Backchannel(cmd) => backchannel::run(&settings, cmd).await,
        Command::Seed(args) => seed::run(&settings, args).await,
        Command::Healthcheck => healthcheck(settings.listen),
    }
}

/// One plain HTTP/1.0 GET of /healthz at the listen address (the loopback address when the
/// server listens on all of them).
fn healthcheck(listen: std::net::SocketAddr) -> Result<(), CliError> {
    use std::io::{Read, Write};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
    use std::time::Duration;

    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let target = SocketAddr::new(ip, listen.port());
    let fail = |why: String| CliError::Usage(format!("healthcheck {target}: {why}"));
    let timeout = Duration::from_secs(3);
    let mut stream =
        TcpStream::connect_timeout(&target, timeout).map_err(|e| fail(e.to_string()))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| fail(e.to_string()))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| fail(e.to_string()))?;
    stream
        .write_all(format!("GET /healthz HTTP/1.0\r\nHost: {target}\r\n\r\n").as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    let mut response = Vec::new();
    stream
        .take(4096)
        .read_to_end(&mut response)
        .map_err(|e| fail(e.to_string()))?;
    let response = String::from_utf8_lossy(&response);
    let status = response.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.0 200") || status.starts_with("HTTP/1.1 200") {
        println!("ok");
        Ok(())
    } else {
        Err(fail(format!("answered {status:?}")))
    }
}

/// First line of standard input, without its line ending.
fn read_password_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        CliError::Usage(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(CliError::Usage("no password on standard input".into()));
    }
    Ok(password)
}

fn json_line(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into())
    );
}

/// The admin core's refusals are the user's to fix; failures are failures.
impl From<crate::admin::AdminError> for CliError {
    fn from(e: crate::admin::AdminError) -> Self {
        match e {
            crate::admin::AdminError::App(app) => usage(app),
            other => CliError::Usage(other.to_string()),
        }
    }
}

/// Validation problems are the user's to fix; show them as such.
fn usage(e: AppError) -> CliError {
    match e {
        AppError::Invalid(why) => CliError::Usage(why.to_string()),
        other => CliError::App(other),
    }
}
