//! `portcullis user …`.

use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Write;

use super::{read_password_line, CliError};
use crate::config::Settings;
use crate::db::models::User;
use crate::db::Db;
use crate::error::AppError;
use crate::identity::audit::Actor;
use crate::identity::credentials::{create_user, replace_password, NewIdentity};
use crate::identity::email::{check_stored, Email};
use crate::identity::email_flows::Links;
use crate::identity::ids::{SessionId, UserId};
use crate::identity::management::delete_user;
use crate::identity::merge;
use crate::identity::password::PasswordHasher;
use crate::identity::user_status::{self, Disabling, Enabling};
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
    /// Show one user: profile, linked accounts, sessions, authorized applications, second
    /// factors (the admin API's GET /users/{id}).
    Show {
        /// User ID (usr_…) or email.
        user: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Give a user the admin role: the console and the admin API (audited).
    GrantAdmin {
        /// User ID (usr_…) or email.
        user: String,
    },
    /// Take the admin role away (audited). The CLI may remove the last admin; the console and
    /// the API refuse to.
    RevokeAdmin {
        /// User ID (usr_…) or email.
        user: String,
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
    /// Disable a user: end their sessions (clients get back-channel logout), revoke every token
    /// they granted, and refuse their sign-ins until `user enable` (audited).
    Disable {
        /// User ID (usr_…) or email.
        user: String,
        /// Why, for administrators and the audit log; never shown to the user.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Let a disabled user sign in again (audited).
    Enable {
        /// User ID (usr_…) or email.
        user: String,
    },
    /// Remove a user's authenticator app and recovery codes, so they sign in with their first
    /// factor alone (audited; the user is told by mail).
    ResetSecondFactor {
        /// User ID (usr_…) or email.
        user: String,
    },
    /// Merge one user into another: its sign-in methods (providers, passkeys, its password when
    /// the survivor has none) move, its sessions end (back-channel logout), its grants and
    /// consents are revoked, and its ID is retired for good (audited).
    Merge {
        /// The user who stays: ID (usr_…) or email.
        survivor: String,
        /// The user merged into it and removed: ID or email.
        merged: String,
        /// Take the merged user's name instead of the survivor's.
        #[arg(long)]
        take_name: bool,
        /// Take the merged user's picture instead of the survivor's.
        #[arg(long)]
        take_picture: bool,
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
        UserCommand::Show { user, json } => {
            let found = find_user(&db, &user).await?;
            let id = found.id.to_string();
            let detail = db
                .run(move |conn| Ok(crate::admin::users::detail(conn, &id)))
                .await??;
            if json {
                super::json_line(&detail);
            } else {
                print_detail(&detail);
            }
            Ok(())
        }
        UserCommand::GrantAdmin { user } => {
            let found = find_user(&db, &user).await?;
            let id = found.id.clone();
            let changed = db
                .run(move |conn| Ok(crate::admin::role::grant(conn, &Actor::Cli, &id, now())))
                .await??;
            if changed {
                println!("{} <{}> is now an admin", found.id, found.email);
            } else {
                println!(
                    "{} <{}> already is an admin; nothing changed",
                    found.id, found.email
                );
            }
            Ok(())
        }
        UserCommand::RevokeAdmin { user } => {
            let found = find_user(&db, &user).await?;
            let id = found.id.clone();
            // The CLI repairs anything, the last admin included: it sets the flag directly,
            // audited like the console's change.
            let changed = db
                .run(move |conn| {
                    let now = now();
                    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
                        let n = User::set_admin(conn, &id, false, now)?;
                        if n > 0 {
                            let event = crate::identity::audit::Event {
                                user: Some(&id),
                                actor: Some(&Actor::Cli),
                                ..crate::identity::audit::Event::new(
                                    crate::identity::audit::AuditKind::AdminRevoked,
                                )
                            };
                            crate::identity::audit::record_event(conn, &event, now)?;
                        }
                        Ok(n > 0)
                    })
                })
                .await?;
            if changed {
                println!("{} <{}> is no longer an admin", found.id, found.email);
            } else {
                println!(
                    "{} <{}> was not an admin; nothing changed",
                    found.id, found.email
                );
            }
            Ok(())
        }
        UserCommand::List { json } => {
            let users = db.run(|conn| Ok(User::list(conn)?)).await?;
            print_users(&users, json);
            Ok(())
        }
        UserCommand::Delete { user } => {
            let found = find_user(&db, &user).await?;
            delete_user(&db, &found.id, Some(Actor::Cli)).await?;
            super::backchannel::deliver_queued(settings, &db).await?;
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
        UserCommand::Disable { user, reason } => {
            let found = find_user(&db, &user).await?;
            let reason = reason
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty());
            let user_id = found.id.clone();
            let outcome = db
                .run(move |conn| {
                    Ok(user_status::disable(
                        conn,
                        &user_id,
                        reason.as_deref(),
                        &Actor::Cli,
                        now(),
                    )?)
                })
                .await?;
            match outcome {
                Disabling::Disabled {
                    ended_sessions,
                    revoked_grants,
                } => {
                    let sessions = ended_sessions.len();
                    notify_ended_sessions(settings, &db, ended_sessions).await?;
                    println!(
                        "disabled {} <{}>: {sessions} session(s) ended, {revoked_grants} \
                         authorization(s) revoked",
                        found.id, found.email
                    );
                }
                Disabling::AlreadyDisabled { since } => println!(
                    "{} <{}> is already disabled (since {}); nothing changed",
                    found.id,
                    found.email,
                    rfc3339(since)
                ),
                Disabling::NoSuchUser => return Err(CliError::Usage(format!("no user {user}"))),
            }
            Ok(())
        }
        UserCommand::Merge {
            survivor,
            merged,
            take_name,
            take_picture,
        } => {
            let kept = find_user(&db, &survivor).await?;
            let gone = find_user(&db, &merged).await?;
            let (kept_id, gone_id) = (kept.id.clone(), gone.id.clone());
            let keep = merge::Keep {
                their_name: take_name,
                their_picture: take_picture,
            };
            let outcome = db
                .run(move |conn| merge::merge(conn, &kept_id, &gone_id, keep, "cli", None, now()))
                .await?;
            match outcome {
                merge::Merged::Done {
                    moved_accounts,
                    moved_passkeys,
                    moved_password,
                    moved_groups,
                    ended_sessions,
                    revoked_grants,
                } => {
                    let sessions = ended_sessions.len();
                    notify_ended_sessions(settings, &db, ended_sessions).await?;
                    println!(
                        "merged {} <{}> into {} <{}>: {moved_accounts} provider account(s), \
                         {moved_passkeys} passkey(s){} moved, {moved_groups} group membership(s) \
                         moved; {sessions} session(s) ended, {revoked_grants} authorization(s) \
                         revoked",
                        gone.id,
                        gone.email,
                        kept.id,
                        kept.email,
                        if moved_password {
                            " and the password"
                        } else {
                            ""
                        },
                    );
                }
                merge::Merged::SameUser => {
                    return Err(CliError::Usage("both name the same user".into()))
                }
                merge::Merged::NoSuchUser => {
                    return Err(CliError::Usage("no such user (any more)".into()))
                }
            }
            Ok(())
        }
        UserCommand::Enable { user } => {
            let found = find_user(&db, &user).await?;
            let user_id = found.id.clone();
            let outcome = db
                .run(move |conn| Ok(user_status::enable(conn, &user_id, &Actor::Cli, now())?))
                .await?;
            match outcome {
                Enabling::Enabled => println!("enabled {} <{}>", found.id, found.email),
                Enabling::NotDisabled => println!(
                    "{} <{}> is not disabled; nothing changed",
                    found.id, found.email
                ),
                Enabling::NoSuchUser => return Err(CliError::Usage(format!("no user {user}"))),
            }
            Ok(())
        }
        UserCommand::ResetSecondFactor { user } => {
            let found = find_user(&db, &user).await?;
            let links = cli_links(settings);
            let target = found.clone();
            let removed = db
                .run(move |conn| user_status::reset_second_factors(conn, &links, &target, now()))
                .await?;
            if removed {
                println!(
                    "second factors removed for {} <{}>; they sign in with their first factor alone",
                    found.id, found.email
                );
            } else {
                println!(
                    "{} <{}> has no second factor; nothing changed",
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

fn print_detail(d: &crate::admin::users::UserDetail) {
    let u = &d.user;
    println!("id:             {}", u.id);
    println!(
        "email:          {} ({})",
        u.email,
        if u.email_verified {
            "verified"
        } else {
            "not verified"
        }
    );
    println!("name:           {}", u.name);
    if let Some(username) = &d.profile.username {
        println!("username:       {username}");
    }
    println!("admin:          {}", u.admin);
    match u.disabled_at {
        Some(at) => println!(
            "disabled:       since {}{}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            d.disabled_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        None => println!("disabled:       no"),
    }
    println!(
        "created:        {}",
        u.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    println!(
        "password:       {}",
        if d.has_password { "set" } else { "none" }
    );
    println!(
        "second factors: authenticator app: {}, passkeys: {}, recovery codes left: {}",
        if d.second_factors.totp { "yes" } else { "no" },
        d.second_factors.passkeys,
        d.second_factors.recovery_codes_left
    );
    for a in &d.linked_accounts {
        println!(
            "linked:         {} {}",
            a.provider,
            a.email.as_deref().unwrap_or("")
        );
    }
    for s in &d.sessions {
        println!(
            "session:        {} {} last seen {} from {}",
            s.id,
            s.method,
            s.last_seen_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            s.ip_address.as_deref().unwrap_or("?")
        );
    }
    for g in &d.grants {
        println!(
            "authorized:     {} ({}) scope \"{}\"",
            g.client_name, g.client_id, g.scope
        );
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

pub(super) async fn find_user(db: &Db, key: &str) -> Result<User, CliError> {
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
    /// When an administrator disabled the user; absent while enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_reason: Option<&'a str>,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What the core needs to write a mail from the command line: the server's issuer and
/// templates (the theme's, when one is set); mail goes in the user's own language, else English.
fn cli_links(settings: &Settings) -> Links {
    let theme_dir = Some(settings.theme_dir.as_str())
        .filter(|d| !d.is_empty())
        .map(std::path::Path::new);
    Links {
        issuer: settings.issuer().to_string(),
        templates: crate::web::templates::Templates::new(theme_dir),
        locale: crate::i18n::Locale::En,
        other_ways_in: settings.accounts.ways_besides_password(),
    }
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
            created_at: rfc3339(u.created_at),
            disabled_at: u.disabled_at.map(rfc3339),
            disabled_reason: u.disabled_reason.as_deref(),
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
        "{:<36}  {:<32}  {:<24}  {:<8}  {:<5}  {:<20}  DISABLED",
        "ID", "EMAIL", "NAME", "VERIFIED", "ADMIN", "CREATED"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<36}  {:<32}  {:<24}  {:<8}  {:<5}  {:<20}  {}",
            r.id,
            r.email,
            r.name,
            r.email_verified,
            r.admin,
            r.created_at,
            r.disabled_at.as_deref().unwrap_or("-")
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
