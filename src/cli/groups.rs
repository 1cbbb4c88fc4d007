//! `portcullis group …`: groups of users, named in the `groups` claim (issue 14).

use clap::Subcommand;
use serde::Serialize;

use crate::identity::audit::Actor;

use super::users::find_user;
use super::{json_line, CliError};
use crate::config::Settings;
use crate::db::models::Group;
use crate::db::Db;
use crate::error::AppError;
use crate::identity::groups;
use crate::identity::now;
use crate::startup::open_database;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group. Names are 1 to 64 characters and unique regardless of case.
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Rename a group; tokens issued from now on carry the new name.
    Rename { name: String, new_name: String },
    /// Delete a group and its memberships.
    Delete { name: String },
    /// List groups with their member counts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a user (ID or email) to a group.
    AddMember { name: String, user: String },
    /// Remove a user (ID or email) from a group.
    RemoveMember { name: String, user: String },
    /// List a group's members, by email.
    Members {
        name: String,
        #[arg(long)]
        json: bool,
        /// At most this many (up to 500).
        #[arg(long, default_value_t = 500)]
        limit: i64,
        /// After skipping this many.
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
}

pub async fn run(settings: &Settings, cmd: GroupCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    match cmd {
        GroupCommand::Create { name, description } => {
            let group = db
                .run(move |conn| {
                    groups::create(conn, &name, description.as_deref(), &Actor::Cli, now())
                })
                .await
                .map_err(usage)?;
            println!("created group {} {}", group.id, group.name);
        }
        GroupCommand::Rename { name, new_name } => {
            let group = find_group(&db, &name).await?;
            let id = group.id.clone();
            let renamed = db
                .run(move |conn| groups::rename(conn, &id, &new_name, &Actor::Cli, now()))
                .await
                .map_err(usage)?;
            println!(
                "renamed group {} {} to {}",
                group.id, group.name, renamed.name
            );
        }
        GroupCommand::Delete { name } => {
            let group = find_group(&db, &name).await?;
            let id = group.id.clone();
            db.run(move |conn| groups::delete(conn, &id, &Actor::Cli, now()))
                .await
                .map_err(usage)?;
            println!("deleted group {} {}", group.id, group.name);
        }
        GroupCommand::List { json } => {
            let list = db.run(|conn| Ok(groups::list(conn)?)).await?;
            if json {
                json_line(&list.iter().map(GroupOut::from).collect::<Vec<_>>());
            } else {
                println!(
                    "{:<36}  {:<7}  {:<32}  DESCRIPTION",
                    "ID", "MEMBERS", "NAME"
                );
                for g in &list {
                    println!(
                        "{:<36}  {:<7}  {:<32}  {}",
                        g.group.id,
                        g.members,
                        g.group.name,
                        g.group.description.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        GroupCommand::AddMember { name, user } => {
            let group = find_group(&db, &name).await?;
            let member = find_user(&db, &user).await?;
            let (id, uid) = (group.id.clone(), member.id.clone());
            let added = db
                .run(move |conn| groups::add_member(conn, &id, &uid, &Actor::Cli, now()))
                .await
                .map_err(usage)?;
            if added {
                println!("added {} <{}> to {}", member.id, member.email, group.name);
            } else {
                println!(
                    "{} <{}> is already in {}; nothing changed",
                    member.id, member.email, group.name
                );
            }
        }
        GroupCommand::RemoveMember { name, user } => {
            let group = find_group(&db, &name).await?;
            let member = find_user(&db, &user).await?;
            let (id, uid) = (group.id.clone(), member.id.clone());
            let removed = db
                .run(move |conn| groups::remove_member(conn, &id, &uid, &Actor::Cli, now()))
                .await
                .map_err(usage)?;
            if removed {
                println!(
                    "removed {} <{}> from {}",
                    member.id, member.email, group.name
                );
            } else {
                println!(
                    "{} <{}> is not in {}; nothing changed",
                    member.id, member.email, group.name
                );
            }
        }
        GroupCommand::Members {
            name,
            json,
            limit,
            offset,
        } => {
            let group = find_group(&db, &name).await?;
            let id = group.id.clone();
            let page = db
                .run(move |conn| groups::members(conn, &id, limit, offset))
                .await?;
            if json {
                json_line(&page);
            } else {
                println!("{:<36}  {:<32}  NAME", "USER", "EMAIL");
                for m in &page.members {
                    println!("{:<36}  {:<32}  {}", m.user_id, m.email, m.name);
                }
                println!("({} of {} member(s))", page.members.len(), page.total);
            }
        }
    }
    Ok(())
}

/// The group named `name` (compared without case), or a usage error.
async fn find_group(db: &Db, name: &str) -> Result<Group, CliError> {
    let key = name.to_string();
    let found = db
        .run(move |conn| Ok(groups::find_by_name(conn, &key)?))
        .await?;
    found.ok_or_else(|| CliError::Usage(format!("no group {name}")))
}

#[derive(Serialize)]
struct GroupOut<'a> {
    id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    members: i64,
}

impl<'a> From<&'a groups::GroupSummary> for GroupOut<'a> {
    fn from(g: &'a groups::GroupSummary) -> Self {
        GroupOut {
            id: g.group.id.as_str(),
            name: &g.group.name,
            description: g.group.description.as_deref(),
            members: g.members,
        }
    }
}

/// Unknown groups and users are the admin's to fix, like invalid names.
fn usage(e: AppError) -> CliError {
    match e {
        AppError::NotFound => CliError::Usage("no such group or user (any more)".into()),
        other => super::usage(other),
    }
}
