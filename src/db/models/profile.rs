use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::user_profile;
use crate::db::DbConnection;
use crate::identity::ids::UserId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = user_profile, treat_none_as_null = true)]
pub struct Profile {
    pub user_id: UserId,
    pub bio: Option<String>,
    pub website: Option<String>,
    pub timezone: Option<String>,
    pub updated_at: NaiveDateTime,
    /// In `identity::username`'s normalised form; unique where set.
    pub username: Option<String>,
}

impl Profile {
    pub fn empty(user_id: &UserId, now: NaiveDateTime) -> Profile {
        Profile {
            user_id: user_id.clone(),
            bio: None,
            website: None,
            timezone: None,
            updated_at: now,
            username: None,
        }
    }

    pub fn insert(conn: &mut DbConnection, profile: &Profile) -> QueryResult<usize> {
        diesel::insert_into(user_profile::table)
            .values(profile)
            .execute(conn)
    }

    pub fn find(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Option<Profile>> {
        user_profile::table
            .find(user_id)
            .select(Profile::as_select())
            .first(conn)
            .optional()
    }

    /// Whose username this is (in its stored form), if anyone's.
    pub fn owner_of_username(
        conn: &mut DbConnection,
        username: &str,
    ) -> QueryResult<Option<UserId>> {
        user_profile::table
            .filter(user_profile::username.eq(username))
            .select(user_profile::user_id)
            .first(conn)
            .optional()
    }

    /// Sets or clears the username alone, creating the profile row if the user has none yet.
    pub fn set_username(
        conn: &mut DbConnection,
        user_id: &UserId,
        username: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        let updated = diesel::update(user_profile::table.find(user_id))
            .set((
                user_profile::username.eq(username),
                user_profile::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            let profile = Profile {
                username: username.map(str::to_string),
                ..Profile::empty(user_id, now)
            };
            Profile::insert(conn, &profile)?;
        }
        Ok(())
    }

    pub fn update(conn: &mut DbConnection, profile: &Profile) -> QueryResult<usize> {
        diesel::update(user_profile::table.find(&profile.user_id))
            .set(profile)
            .execute(conn)
    }
}
