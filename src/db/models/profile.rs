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
}

impl Profile {
    pub fn empty(user_id: &UserId, now: NaiveDateTime) -> Profile {
        Profile {
            user_id: user_id.clone(),
            bio: None,
            website: None,
            timezone: None,
            updated_at: now,
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

    pub fn update(conn: &mut DbConnection, profile: &Profile) -> QueryResult<usize> {
        diesel::update(user_profile::table.find(&profile.user_id))
            .set(profile)
            .execute(conn)
    }
}
