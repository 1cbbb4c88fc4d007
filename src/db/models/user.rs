use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Profile, UserSettings};
use crate::db::schema::{oauth_grant, user_profile, user_settings, users};
use crate::db::DbConnection;
use crate::identity::ids::{GrantId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub image: Option<String>,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set while an administrator has disabled the user (`identity::user_status`).
    pub disabled_at: Option<NaiveDateTime>,
    /// Why, for administrators; never shown to the user.
    pub disabled_reason: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub email_verified: bool,
    pub name: &'a str,
    pub image: Option<&'a str>,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

diesel::define_sql_function! {
    /// SQL `lower()`, on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Which users an admin lists; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Part of an address or name, or a whole user ID.
    pub query: Option<String>,
    pub disabled: Option<bool>,
    pub admin: Option<bool>,
}

/// A user with their profile and settings (either may be missing).
pub type UserWithDetails = (User, Option<Profile>, Option<UserSettings>);

impl User {
    pub fn insert(conn: &mut DbConnection, new: &NewUser<'_>) -> QueryResult<usize> {
        diesel::insert_into(users::table).values(new).execute(conn)
    }

    /// UserInfo's hot path in one statement: the user, their profile and settings, found only
    /// while the grant `grant_id` (theirs) is not revoked.
    pub fn find_with_live_grant(
        conn: &mut DbConnection,
        id: &UserId,
        grant_id: &GrantId,
    ) -> QueryResult<Option<UserWithDetails>> {
        users::table
            .inner_join(oauth_grant::table)
            .left_join(user_profile::table)
            .left_join(user_settings::table)
            .filter(users::id.eq(id))
            .filter(oauth_grant::id.eq(grant_id))
            .filter(oauth_grant::revoked_at.is_null())
            .select((
                User::as_select(),
                Option::<Profile>::as_select(),
                Option::<UserSettings>::as_select(),
            ))
            .first(conn)
            .optional()
    }

    pub fn find(conn: &mut DbConnection, id: &UserId) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
        users::table
            .order(users::created_at.asc())
            .select(User::as_select())
            .load(conn)
    }

    pub fn update_name_and_image(
        conn: &mut DbConnection,
        id: &UserId,
        name: &str,
        image: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::name.eq(name),
                users::image.eq(image),
                users::updated_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn set_email(
        conn: &mut DbConnection,
        id: &UserId,
        email: &str,
        verified: bool,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(email),
                users::email_verified.eq(verified),
                users::updated_at.eq(now),
            ))
            .execute(conn)
    }

    /// Marks the user disabled; 0 when they already were (or do not exist).
    pub fn mark_disabled(
        conn: &mut DbConnection,
        id: &UserId,
        reason: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id).filter(users::disabled_at.is_null()))
            .set((
                users::disabled_at.eq(now),
                users::disabled_reason.eq(reason),
                users::updated_at.eq(now),
            ))
            .execute(conn)
    }

    /// Clears the disabled mark; 0 when the user was not disabled (or does not exist).
    pub fn mark_enabled(
        conn: &mut DbConnection,
        id: &UserId,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            users::table
                .find(id)
                .filter(users::disabled_at.is_not_null()),
        )
        .set((
            users::disabled_at.eq(None::<NaiveDateTime>),
            users::disabled_reason.eq(None::<String>),
            users::updated_at.eq(now),
        ))
        .execute(conn)
    }

    /// Whether the user exists and is disabled.
    pub fn is_disabled(conn: &mut DbConnection, id: &UserId) -> QueryResult<bool> {
        let since: Option<Option<NaiveDateTime>> = users::table
            .find(id)
            .select(users::disabled_at)
            .first(conn)
            .optional()?;
        Ok(matches!(since, Some(Some(_))))
    }

    /// Sets or clears the admin role; 0 when it already was so (or there is no such user).
    pub fn set_admin(
        conn: &mut DbConnection,
        id: &UserId,
        admin: bool,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id).filter(users::is_admin.eq(!admin)))
            .set((users::is_admin.eq(admin), users::updated_at.eq(now)))
            .execute(conn)
    }

    /// Admins who can still sign in.
    pub fn count_active_admins(conn: &mut DbConnection) -> QueryResult<i64> {
        users::table
            .filter(users::is_admin.eq(true))
            .filter(users::disabled_at.is_null())
            .count()
            .get_result(conn)
    }

    /// An admin's search: `query` in the address or the name (either case), or the exact ID;
    /// newest first.
    pub fn search(
        conn: &mut DbConnection,
        filter: &UserFilter,
        limit: i64,
        offset: i64,
    ) -> QueryResult<Vec<User>> {
        let mut q = users::table.select(User::as_select()).into_boxed();
        if let Some(query) = &filter.query {
            let escaped = query
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            q = q.filter(
                users::email
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(users::name).like(pattern).escape('\\'))
                    .or(users::id.eq(query.clone())),
            );
        }
        match filter.disabled {
            Some(true) => q = q.filter(users::disabled_at.is_not_null()),
            Some(false) => q = q.filter(users::disabled_at.is_null()),
            None => {}
        }
        if let Some(admin) = filter.admin {
            q = q.filter(users::is_admin.eq(admin));
        }
        q.order((users::created_at.desc(), users::id.desc()))
            .limit(limit)
            .offset(offset)
            .load(conn)
    }

    /// Deletes the user; sessions, accounts, profile and settings go with it (ON DELETE CASCADE).
    pub fn delete(conn: &mut DbConnection, id: &UserId) -> QueryResult<usize> {
        diesel::delete(users::table.find(id)).execute(conn)
    }
}
