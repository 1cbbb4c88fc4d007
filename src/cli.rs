//! The command line: `serve`, `migrate`, and user administration.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use diesel::Connection;
use serde::Serialize;

use crate::config::Settings;
use crate::db::models::{Session, User};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::identity::audit::{self, AuditKind};
use crate::identity::credentials::{create_user, store_password_hash, NewIdentity};
use crate::identity::email::Email;
use crate::identity::ids::UserId;
use crate::identity::management::delete_user;
use crate::identity::password::PasswordHasher;
use crate::identity::{clean_name, now, FieldErrors};
use crate::startup::{master_key, open_database, Application};

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
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a password.
    Create(CreateUser),
    /// List users.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a user and everything they own.
    Delete {
        /// User ID (usr_…) or email.
        user: String,
    },
    /// Set a user's password (read from standard input) and end their sessions.
    SetPassword {
        /// User ID (usr_…) or email.
        user: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
pub struct CreateUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password", required_unless_present = "password")]
    pub password_stdin: bool,
    /// The password on the command line (visible in the process list; prefer --password-stdin).
    #[arg(long)]
    pub password: Option<String>,
    /// Make the user an administrator.
    #[arg(long)]
    pub admin: bool,
    /// Mark the email address as verified.
    #[arg(long)]
    pub verified: bool,
}

/// A failure to report on stderr with a non-zero exit.
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
        Command::User(cmd) => user(&settings, cmd).await,
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

async fn user(settings: &Settings, cmd: UserCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let hasher = || PasswordHasher::new(&settings.password, settings.hash_concurrency());
    match cmd {
        UserCommand::Create(args) => {
            let mut errors = FieldErrors::default();
            let name = clean_name(&args.name, &mut errors);
            if let Some(msg) = errors.get("name") {
                return Err(CliError::Usage(format!("--name: {msg}")));
            }
            let email = Email::parse(&args.email).map_err(|e| CliError::Usage(format!("--email: {e}")))?;
            let password = match args.password {
                Some(p) => p,
                None => read_password_line()?,
            };
            let hasher = hasher()?;
            hasher.policy.check(&password).map_err(|e| CliError::Usage(format!("password: {e}")))?;
            // The master key is created now if missing, so later features find it in place.
            master_key(settings)?;
            let hash = hasher.hash(password).await?;
            let created = db
                .run(move |conn| {
                    let new = NewIdentity {
                        email: &email,
                        name: &name,
                        password_hash: Some(&hash),
                        email_verified: args.verified,
                        is_admin: args.admin,
                    };
                    create_user(conn, &new)
                })
                .await?;
            let user = created.ok_or_else(|| CliError::Usage("a user with this email already exists".into()))?;
            println!("{}", user.id);
            Ok(())
        }
        UserCommand::List { json } => {
            let users = db.run(|conn| Ok(User::list(conn)?)).await?;
            print_users(&users, json);
            Ok(())
        }
        UserCommand::Delete { user } => {
            let found = find_user(&db, &user).await?;
            delete_user(&db, &found.id).await?;
            println!("deleted {} <{}>", found.id, found.email);
            Ok(())
        }
        UserCommand::SetPassword { user, .. } => {
            let found = find_user(&db, &user).await?;
            let password = read_password_line()?;
            let hasher = hasher()?;
            hasher.policy.check(&password).map_err(|e| CliError::Usage(format!("password: {e}")))?;
            let hash = hasher.hash(password).await?;
            let user_id = found.id.clone();
            db.run(move |conn| {
                let now = now();
                Ok(conn.transaction::<_, diesel::result::Error, _>(|conn| {
                    store_password_hash(conn, &user_id, &hash, now)?;
                    // A reset password must lock out whoever knew the old one.
                    Session::delete_all_for_user(conn, &user_id)?;
                    audit::record(conn, AuditKind::PasswordChanged, Some(&user_id), None, Some("cli"), now)
                })?)
            })
            .await?;
            println!("password set for {} <{}>; their sessions were ended", found.id, found.email);
            Ok(())
        }
    }
}

async fn find_user(db: &Db, key: &str) -> Result<User, CliError> {
    let lookup = if let Some(id) = UserId::parse(key) {
        Lookup::Id(id.as_str().to_string())
    } else {
        let email = Email::parse(key).map_err(|_| CliError::Usage(format!("{key}: not a user ID or email")))?;
        Lookup::Email(email.as_str().to_string())
    };
    let found = db
        .run(move |conn| {
            Ok(match &lookup {
                Lookup::Id(id) => User::find(conn, id)?,
                Lookup::Email(email) => User::find_by_email(conn, email)?,
            })
        })
        .await?;
    found.ok_or_else(|| CliError::Usage(format!("no user {key}")))
}

enum Lookup {
    Id(String),
    Email(String),
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

#[derive(Serialize)]
struct UserRow<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
    email_verified: bool,
    admin: bool,
    created_at: String,
}

fn print_users(users: &[User], json: bool) {
    let rows: Vec<UserRow<'_>> = users
        .iter()
        .map(|u| UserRow {
            id: &u.id,
            email: &u.email,
            name: &u.name,
            email_verified: u.email_verified,
            admin: u.is_admin,
            created_at: u.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into()));
        return;
    }
    let _ = writeln!(out, "{:<36}  {:<32}  {:<24}  {:<8}  {:<5}  CREATED", "ID", "EMAIL", "NAME", "VERIFIED", "ADMIN");
    for r in rows {
        let _ = writeln!(
            out,
            "{:<36}  {:<32}  {:<24}  {:<8}  {:<5}  {}",
            r.id, r.email, r.name, r.email_verified, r.admin, r.created_at
        );
    }
}
