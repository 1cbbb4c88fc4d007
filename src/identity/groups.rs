//! Groups of users (issue 14): what relying applications see in the `groups` claim.
//!
//! One call per operation, shared by the CLI, the admin API and the console; each write is one
//! transaction with its audit entry (`audit` below, the one place that writes them). A duplicate
//! name is refused by the database's UNIQUE constraint on the folded name, not by a look-up that
//! two admins could pass at the same moment; the violation comes back as
//! [`ValidationError::GroupExists`], never as a server failure.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::audit::{self, Actor, AuditKind};
use super::ids::{GroupId, UserId};
use super::precis;
use crate::db::models::{Group, Member, User};
use crate::db::{is_unique_violation, write_transaction, DbConnection};
use crate::error::{AppError, ValidationError};

/// A group name: what tokens carry, so it must make a sensible claim value. PRECIS-folded like
/// a display name (NFKC, one plain space between words, trimmed), 1 to 64 characters, no
/// control or invisible formatting characters. Two names are the same group when their
/// lower-case forms are equal (`key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName {
    name: String,
    key: String,
}

impl GroupName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<GroupName, ValidationError> {
        let name = precis::fold_name(raw);
        let invalid = |why: &str| ValidationError::GroupName(format!("group name: {why}"));
        if name.is_empty() {
            return Err(invalid("required"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(invalid(&format!("at most {} characters", Self::MAX_CHARS)));
        }
        if name.chars().any(precis::refused_in_name) {
            return Err(invalid("no control or invisible characters"));
        }
        let key = name.to_lowercase();
        Ok(GroupName { name, key })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The form uniqueness is decided on.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// At most this many characters of description.
pub const DESCRIPTION_MAX_CHARS: usize = 500;

fn clean_description(raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(text) = raw.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(ValidationError::GroupName(format!(
            "description: at most {DESCRIPTION_MAX_CHARS} characters"
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValidationError::GroupName(
            "description: no control characters".into(),
        ));
    }
    Ok(Some(text.to_string()))
}

/// A group and how many members it has.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupSummary {
    #[serde(flatten)]
    pub group: Group,
    pub members: i64,
}

/// One page of a group's members and how many there are in all.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberPage {
    pub members: Vec<Member>,
    pub total: i64,
}

/// The audit entry of every group change: `user` is the member a membership event is about;
/// `actor` who made the change (an admin, an admin token, the command line).
fn audit(
    conn: &mut DbConnection,
    kind: AuditKind,
    user: Option<&UserId>,
    what: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let event = audit::Event {
        user,
        actor: Some(actor),
        detail: Some(what),
        ..audit::Event::new(kind)
    };
    audit::record_event(conn, &event, now)
}

/// Turns the UNIQUE violation on `name_key` into the conflict it is.
fn name_taken(name: &GroupName) -> impl FnOnce(diesel::result::Error) -> AppError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            ValidationError::GroupExists(name.as_str().to_string()).into()
        } else {
            e.into()
        }
    }
}

pub fn create(
    conn: &mut DbConnection,
    name: &str,
    description: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Group, AppError> {
    let name = GroupName::parse(name)?;
    let description = clean_description(description)?;
    let group = Group {
        id: GroupId::generate(),
        name: name.as_str().to_string(),
        name_key: name.key().to_string(),
        description,
        created_at: now,
        updated_at: now,
    };
    write_transaction(conn, |conn| {
        Group::insert(conn, &group).map_err(name_taken(&name))?;
        let what = format!("group {} {}", group.id, group.name);
        audit(conn, AuditKind::GroupCreated, None, &what, actor, now)?;
        Ok(group.clone())
    })
}

pub fn rename(
    conn: &mut DbConnection,
    id: &GroupId,
    new_name: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Group, AppError> {
    let name = GroupName::parse(new_name)?;
    write_transaction(conn, |conn| {
        let old = Group::find(conn, id)?.ok_or(AppError::NotFound)?;
        Group::set_name(conn, id, name.as_str(), name.key(), now).map_err(name_taken(&name))?;
        let what = format!("group {id} {} -> {}", old.name, name.as_str());
        audit(conn, AuditKind::GroupRenamed, None, &what, actor, now)?;
        Group::find(conn, id)?.ok_or(AppError::NotFound)
    })
}

/// Sets (or with `None` or blank text, clears) the description.
pub fn set_description(
    conn: &mut DbConnection,
    id: &GroupId,
    description: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Group, AppError> {
    let description = clean_description(description)?;
    write_transaction(conn, |conn| {
        if Group::set_description(conn, id, description.as_deref(), now)? == 0 {
            return Err(AppError::NotFound);
        }
        let group = Group::find(conn, id)?.ok_or(AppError::NotFound)?;
        let what = format!("group {id} {} description", group.name);
        audit(conn, AuditKind::GroupUpdated, None, &what, actor, now)?;
        Ok(group)
    })
}

/// Deletes the group and its memberships; tokens issued from now on no longer name it.
pub fn delete(
    conn: &mut DbConnection,
    id: &GroupId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Group, AppError> {
    write_transaction(conn, |conn| {
        let group = Group::find(conn, id)?.ok_or(AppError::NotFound)?;
        let members = Group::member_count(conn, id)?;
        Group::delete(conn, id)?;
        let what = format!("group {id} {} with {members} member(s)", group.name);
        audit(conn, AuditKind::GroupDeleted, None, &what, actor, now)?;
        Ok(group)
    })
}

/// Every group with its member count, by name (without case).
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<GroupSummary>> {
    let counts: std::collections::HashMap<GroupId, i64> =
        Group::member_counts(conn)?.into_iter().collect();
    Ok(Group::list(conn)?
        .into_iter()
        .map(|group| GroupSummary {
            members: counts.get(&group.id).copied().unwrap_or(0),
            group,
        })
        .collect())
}

pub fn find(conn: &mut DbConnection, id: &GroupId) -> QueryResult<Option<Group>> {
    Group::find(conn, id)
}

/// The group with this name, compared as uniqueness compares names (folded, without case).
pub fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Group>> {
    match GroupName::parse(name) {
        Ok(name) => Group::find_by_key(conn, name.key()),
        Err(_) => Ok(None),
    }
}

/// Adds the user to the group; `false` when they already were a member (nothing is written).
pub fn add_member(
    conn: &mut DbConnection,
    id: &GroupId,
    user: &UserId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let outcome = write_transaction(conn, |conn| {
        let group = Group::find(conn, id)?.ok_or(AppError::NotFound)?;
        User::find(conn, user)?.ok_or(AppError::NotFound)?;
        if Group::is_member(conn, id, user)? {
            return Ok(false);
        }
        Group::add_member(conn, id, user, now)?;
        let what = format!("group {id} {}", group.name);
        audit(
            conn,
            AuditKind::GroupMemberAdded,
            Some(user),
            &what,
            actor,
            now,
        )?;
        Ok(true)
    });
    match outcome {
        // Another admin added them at the same moment (the primary key refused the second row).
        Err(AppError::Database(e)) if is_unique_violation(&e) => Ok(false),
        other => other,
    }
}

/// Removes the user from the group; `false` when they were not a member.
pub fn remove_member(
    conn: &mut DbConnection,
    id: &GroupId,
    user: &UserId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    write_transaction(conn, |conn| {
        let group = Group::find(conn, id)?.ok_or(AppError::NotFound)?;
        if Group::remove_member(conn, id, user)? == 0 {
            if User::find(conn, user)?.is_none() {
                return Err(AppError::NotFound);
            }
            return Ok(false);
        }
        let what = format!("group {id} {}", group.name);
        audit(
            conn,
            AuditKind::GroupMemberRemoved,
            Some(user),
            &what,
            actor,
            now,
        )?;
        Ok(true)
    })
}

/// Most members one page lists.
pub const MAX_PAGE: i64 = 500;

/// A page of the group's members, by email: at most `limit` (capped at [`MAX_PAGE`]) after
/// skipping `offset`.
pub fn members(
    conn: &mut DbConnection,
    id: &GroupId,
    limit: i64,
    offset: i64,
) -> Result<MemberPage, AppError> {
    if Group::find(conn, id)?.is_none() {
        return Err(AppError::NotFound);
    }
    let limit = limit.clamp(0, MAX_PAGE);
    let offset = offset.max(0);
    Ok(MemberPage {
        members: Group::members(conn, id, limit, offset)?,
        total: Group::member_count(conn, id)?,
    })
}

/// The names of the user's groups, sorted (by code point, the same on every backend): the
/// `groups` claim.
pub fn names_of_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<String>> {
    let mut names = Group::names_for_user(conn, user)?;
    names.sort();
    Ok(names)
}

/// Moves the merged user's memberships to the survivor (`merge`), inside the merge's
/// transaction; a group both were in keeps the survivor's row. Returns how many moved.
pub fn move_memberships(
    conn: &mut DbConnection,
    survivor: &UserId,
    merged: &UserId,
) -> QueryResult<usize> {
    let kept = Group::ids_for_user(conn, survivor)?;
    let mut moved = 0;
    for group in Group::ids_for_user(conn, merged)? {
        if !kept.contains(&group) {
            moved += Group::move_member(conn, &group, merged, survivor)?;
        }
    }
    // The rest go with the merged user's row (ON DELETE CASCADE).
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_and_compared_without_case() {
        let a = GroupName::parse("  Staff\u{3000} Berlin ").unwrap();
        assert_eq!(a.as_str(), "Staff Berlin");
        let b = GroupName::parse("staff berlin").unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(a.as_str(), b.as_str());
        // Width forms are the same name.
        assert_eq!(
            GroupName::parse("ＡＰＰ1:admins").unwrap().as_str(),
            "APP1:admins"
        );
        assert_eq!(GroupName::parse("Straße").unwrap().key(), "straße");
    }

    #[test]
    fn names_are_one_to_sixty_four_characters() {
        assert!(GroupName::parse("").is_err());
        assert!(GroupName::parse("   \t ").is_err());
        assert!(GroupName::parse("x").is_ok());
        assert!(GroupName::parse(&"é".repeat(64)).is_ok());
        assert!(GroupName::parse(&"é".repeat(65)).is_err());
    }

    #[test]
    fn names_refuse_control_and_invisible_characters() {
        for bad in [
            "a\u{0}b",
            "a\u{7f}",
            "zero\u{200b}width",
            "rtl\u{202e}",
            "pua\u{e000}",
        ] {
            assert!(GroupName::parse(bad).is_err(), "{bad:?}");
        }
        // A tab or newline is whitespace: folded into one space, not refused.
        assert_eq!(GroupName::parse("a\tb\nc").unwrap().as_str(), "a b c");
        assert!(GroupName::parse("app1:admins/eu-west_2").is_ok());
    }

    #[test]
    fn descriptions_are_trimmed_optional_and_bounded() {
        assert_eq!(clean_description(None).unwrap(), None);
        assert_eq!(clean_description(Some("  ")).unwrap(), None);
        assert_eq!(
            clean_description(Some(" Berlin office\n2nd floor ")).unwrap(),
            Some("Berlin office\n2nd floor".into())
        );
        assert!(clean_description(Some(&"x".repeat(501))).is_err());
        assert!(clean_description(Some("bell\u{7}")).is_err());
    }
}
