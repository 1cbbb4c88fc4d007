//! Groups as admins manage them (issue 14, part 5): the `identity::groups` core, with this
//! layer's error shape (a taken name is a conflict) and views for the API and the console.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::users::{self, utc};
use super::{AdminError, AdminResult};
use crate::db::DbConnection;
use crate::error::{AppError, ValidationError};
use crate::identity::audit::Actor;
use crate::identity::groups::{self, GroupSummary};
use crate::identity::ids::GroupId;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupView {
    pub id: String,
    /// As it goes into the `groups` claim.
    pub name: String,
    pub description: Option<String>,
    pub members: i64,
    pub created_at: DateTime<Utc>,
}

impl From<GroupSummary> for GroupView {
    fn from(g: GroupSummary) -> Self {
        GroupView {
            id: g.group.id.to_string(),
            name: g.group.name,
            description: g.group.description,
            members: g.members,
            created_at: utc(g.group.created_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<MemberView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The core's errors in this layer's shape.
fn shaped(e: AppError) -> AdminError {
    match e {
        AppError::NotFound => AdminError::NotFound("group or user"),
        AppError::Invalid(ValidationError::GroupExists(name)) => {
            AdminError::Conflict(format!("a group named {name} already exists"))
        }
        AppError::Invalid(why) => AdminError::Invalid(why.to_string()),
        other => AdminError::App(other),
    }
}

fn group_id(id: &str) -> AdminResult<GroupId> {
    GroupId::parse(id).ok_or(AdminError::NotFound("group"))
}

pub fn list(conn: &mut DbConnection) -> AdminResult<Vec<GroupView>> {
    Ok(groups::list(conn)?
        .into_iter()
        .map(GroupView::from)
        .collect())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AdminResult<GroupView> {
    let id = group_id(id)?;
    groups::list(conn)?
        .into_iter()
        .find(|g| g.group.id == id)
        .map(GroupView::from)
        .ok_or(AdminError::NotFound("group"))
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    name: &str,
    description: Option<&str>,
    now: NaiveDateTime,
) -> AdminResult<GroupView> {
    let group = groups::create(conn, name, description, actor, now).map_err(shaped)?;
    find(conn, group.id.as_str())
}

/// Renames and/or describes a group; `None` leaves that part as it is.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    name: Option<&str>,
    description: Option<Option<&str>>,
    now: NaiveDateTime,
) -> AdminResult<GroupView> {
    let gid = group_id(id)?;
    if let Some(name) = name {
        groups::rename(conn, &gid, name, actor, now).map_err(shaped)?;
    }
    if let Some(description) = description {
        groups::set_description(conn, &gid, description, actor, now).map_err(shaped)?;
    }
    find(conn, id)
}

pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> AdminResult<()> {
    groups::delete(conn, &group_id(id)?, actor, now).map_err(shaped)?;
    Ok(())
}

pub fn members(
    conn: &mut DbConnection,
    id: &str,
    limit: i64,
    offset: i64,
) -> AdminResult<MemberPage> {
    let page = groups::members(conn, &group_id(id)?, limit, offset).map_err(shaped)?;
    Ok(MemberPage {
        items: page
            .members
            .into_iter()
            .map(|m| MemberView {
                user_id: m.user_id.to_string(),
                email: m.email,
                name: m.name,
                added_at: utc(m.added_at),
            })
            .collect(),
        total: page.total,
        limit,
        offset,
    })
}

/// Adds a user (an ID, or an address) to the group; false when they already were a member.
pub fn add_member(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    user: &str,
    now: NaiveDateTime,
) -> AdminResult<bool> {
    let gid = group_id(id)?;
    let user = users::find_by_id_or_email(conn, user)?;
    groups::add_member(conn, &gid, &user.id, actor, now).map_err(shaped)
}

pub fn remove_member(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    user: &str,
    now: NaiveDateTime,
) -> AdminResult<bool> {
    let gid = group_id(id)?;
    let user = users::find_by_id_or_email(conn, user)?;
    groups::remove_member(conn, &gid, &user.id, actor, now).map_err(shaped)
}
