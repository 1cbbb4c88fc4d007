use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{group_member, user_group, users};
use crate::db::DbConnection;
use crate::identity::ids::{GroupId, UserId};

/// A group of users (`user_group`). `name_key` is the case-folded name the UNIQUE constraint
/// holds (`identity::groups::GroupName`).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, serde::Serialize)]
#[diesel(table_name = user_group)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    #[serde(skip)]
    pub name_key: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A member as the group's member list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, serde::Serialize)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub added_at: NaiveDateTime,
}

impl Group {
    pub fn insert(conn: &mut DbConnection, group: &Group) -> QueryResult<usize> {
        diesel::insert_into(user_group::table)
            .values(group)
            .execute(conn)
    }

    pub fn find(conn: &mut DbConnection, id: &GroupId) -> QueryResult<Option<Group>> {
        user_group::table
            .find(id)
            .select(Group::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<Group>> {
        user_group::table
            .filter(user_group::name_key.eq(key))
            .select(Group::as_select())
            .first(conn)
            .optional()
    }

    /// Every group, by folded name.
    pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Group>> {
        user_group::table
            .order(user_group::name_key.asc())
            .select(Group::as_select())
            .load(conn)
    }

    /// Members per group, for groups that have any.
    pub fn member_counts(conn: &mut DbConnection) -> QueryResult<Vec<(GroupId, i64)>> {
        group_member::table
            .group_by(group_member::group_id)
            .select((group_member::group_id, diesel::dsl::count_star()))
            .load(conn)
    }

    pub fn set_name(
        conn: &mut DbConnection,
        id: &GroupId,
        name: &str,
        key: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(user_group::table.find(id))
            .set((
                user_group::name.eq(name),
                user_group::name_key.eq(key),
                user_group::updated_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn set_description(
        conn: &mut DbConnection,
        id: &GroupId,
        description: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(user_group::table.find(id))
            .set((
                user_group::description.eq(description),
                user_group::updated_at.eq(now),
            ))
            .execute(conn)
    }

    /// Deletes the group; its memberships go with it (ON DELETE CASCADE).
    pub fn delete(conn: &mut DbConnection, id: &GroupId) -> QueryResult<usize> {
        diesel::delete(user_group::table.find(id)).execute(conn)
    }

    pub fn is_member(conn: &mut DbConnection, id: &GroupId, user: &UserId) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(group_member::table.find((id, user)))).get_result(conn)
    }

    pub fn add_member(
        conn: &mut DbConnection,
        id: &GroupId,
        user: &UserId,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::insert_into(group_member::table)
            .values((
                group_member::group_id.eq(id),
                group_member::user_id.eq(user),
                group_member::added_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn remove_member(
        conn: &mut DbConnection,
        id: &GroupId,
        user: &UserId,
    ) -> QueryResult<usize> {
        diesel::delete(group_member::table.find((id, user))).execute(conn)
    }

    /// One page of members, by email.
    pub fn members(
        conn: &mut DbConnection,
        id: &GroupId,
        limit: i64,
        offset: i64,
    ) -> QueryResult<Vec<Member>> {
        group_member::table
            .inner_join(users::table)
            .filter(group_member::group_id.eq(id))
            .order(users::email.asc())
            .limit(limit)
            .offset(offset)
            .select((users::id, users::email, users::name, group_member::added_at))
            .load(conn)
    }

    pub fn member_count(conn: &mut DbConnection, id: &GroupId) -> QueryResult<i64> {
        group_member::table
            .filter(group_member::group_id.eq(id))
            .count()
            .get_result(conn)
    }

    /// The names of the user's groups (unsorted: the caller sorts, the same on every backend).
    pub fn names_for_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<String>> {
        group_member::table
            .inner_join(user_group::table)
            .filter(group_member::user_id.eq(user))
            .select(user_group::name)
            .load(conn)
    }

    /// The IDs of the user's groups.
    pub fn ids_for_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<GroupId>> {
        group_member::table
            .filter(group_member::user_id.eq(user))
            .select(group_member::group_id)
            .load(conn)
    }

    /// Moves one membership to another user (merging users).
    pub fn move_member(
        conn: &mut DbConnection,
        id: &GroupId,
        from: &UserId,
        to: &UserId,
    ) -> QueryResult<usize> {
        diesel::update(group_member::table.find((id, from)))
            .set(group_member::user_id.eq(to))
            .execute(conn)
    }
}
