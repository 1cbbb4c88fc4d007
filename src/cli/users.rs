//! `portcullis user …`.

use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Write;

use super::{read_password_line, CliError};
use crate::config::Settings;
use crate::db::models::User;
use crate::db::Db;
use crate::identity::credentials::{create_user, replace_password, NewIdentity};
use crate::identity::email::{check_stored, Email};
use crate::identity::ids::{SessionId, UserId};
use crate::identity::management::delete_user;
use crate::identity::password::PasswordHasher;
use crate::identity::{clean_name, now, FieldErrors};
use crate::startup::{master_key, open_database};

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
    /// Lift a password soft-lock and clear the user's count of failed sign-ins (audited).
    Unlock {
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
    /// Report stored addresses that today's normalisation (NFKC, no invisible characters) would
    /// refuse, rewrite or merge with another user's; exits 1 when there is anything to review.
    CheckEmails {
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct CreateUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// Read the password from the first line of standard input.
    #[arg(
        long,
        conflicts_with = "password",
        required_unless_present = "password"
    )]
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

pub async fn run(settings: &Settings, cmd: UserCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let hasher = || PasswordHasher::new(&settings.password, settings.hash_concurrency());
    match cmd {
        UserCommand::Create(args) => {
            let mut errors = FieldErrors::default();
            let name = clean_name(&args.name, &mut errors);
            if let Some(msg) = errors.get("name") {
                // The command line speaks English, like the rest of the CLI.
                return Err(CliError::Usage(format!(
                    "--name: {}",
                    crate::i18n::text(crate::i18n::Locale::En, msg)
                )));
            }
            let email =
                Email::parse(&args.email).map_err(|e| CliError::Usage(format!("--email: {e}")))?;
            let password = match args.password {
                Some(p) => p,
                None => read_password_line()?,
            };
            let hasher = hasher()?;
            hasher
                .policy
                .check(&password)
                .map_err(|e| CliError::Usage(format!("password: {e}")))?;
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
            let user = created
                .ok_or_else(|| CliError::Usage("a user with this email already exists".into()))?;
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
        UserCommand::Unlock { user } => {
            let found = find_user(&db, &user).await?;
            let target = found.clone();
            let had = db
                .run(move |conn| Ok(crate::identity::throttle::unlock(conn, &target, now())?))
                .await?;
            if had {
                println!("unlocked {} <{}>", found.id, found.email);
            } else {
                println!(
                    "{} <{}> had no failed sign-ins to clear",
                    found.id, found.email
                );
            }
            Ok(())
        }
        UserCommand::CheckEmails { json } => {
            let users = db.run(|conn| Ok(User::list(conn)?)).await?;
            report_email_problems(&users, json)
        }
        UserCommand::SetPassword { user, .. } => {
            let found = find_user(&db, &user).await?;
            let password = read_password_line()?;
            let hasher = hasher()?;
            hasher
                .policy
                .check(&password)
                .map_err(|e| CliError::Usage(format!("password: {e}")))?;
            let hash = hasher.hash(password).await?;
            let user_id = found.id.clone();
            let ended = db
                .run(move |conn| {
                    let now = now();
                    Ok(crate::db::write_transaction::<_, diesel::result::Error, _>(
                        conn,
                        |conn| replace_password(conn, &user_id, &hash, None, Some("cli"), now),
                    )?)
                })
                .await?;
            notify_ended_sessions(settings, &db, ended).await?;
            println!(
                "password set for {} <{}>; their sessions were ended",
                found.id, found.email
            );
            Ok(())
        }
    }
}

fn report_email_problems(users: &[User], json: bool) -> Result<(), CliError> {
    let problems = check_stored(users.iter().map(|u| (u.id.to_string(), u.email.clone())));
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&problems).unwrap_or_else(|_| "[]".into())
        );
    } else {
        for problem in &problems {
            let _ = writeln!(out, "{problem}");
        }
    }
    if problems.is_empty() {
        if !json {
            let _ = writeln!(out, "all {} addresses are in normal form", users.len());
        }
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{} stored address(es) need review; nothing was changed",
            problems.len()
        )))
    }
}

async fn find_user(db: &Db, key: &str) -> Result<User, CliError> {
    let lookup = if let Some(id) = UserId::parse(key) {
        Lookup::Id(id)
    } else {
        let email = Email::parse(key)
            .map_err(|_| CliError::Usage(format!("{key}: not a user ID or email")))?;
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
    Id(UserId),
    Email(String),
}

/// First line of standard input, without its line ending.

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
            id: u.id.as_str(),
            email: &u.email,
            name: &u.name,
            email_verified: u.email_verified,
            admin: u.is_admin,
            created_at: u
                .created_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into())
        );
        return;
    }
    let _ = writeln!(
        out,
        "{:<36}  {:<32}  {:<24}  {:<8}  {:<5}  CREATED",
        "ID", "EMAIL", "NAME", "VERIFIED", "ADMIN"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<36}  {:<32}  {:<24}  {:<8}  {:<5}  {}",
            r.id, r.email, r.name, r.email_verified, r.admin, r.created_at
        );
    }
}

/// Back-channel logout for sessions the CLI ended: queued by the transaction that ended them,
/// tried once from here before the process exits; what fails is left to the servers' workers.
async fn notify_ended_sessions(
    settings: &Settings,
    db: &Db,
    ended: Vec<SessionId>,
) -> Result<(), CliError> {
    if ended.is_empty() {
        return Ok(());
    }
    super::backchannel::deliver_queued(settings, db).await?;
    Ok(())
}
