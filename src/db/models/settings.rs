use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::user_settings;
use crate::db::DbConnection;
use crate::identity::ids::UserId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = user_settings)]
pub struct UserSettings {
    pub user_id: UserId,
    pub theme: String,
    pub language: String,
    pub notifications: bool,
    pub updated_at: NaiveDateTime,
}

impl UserSettings {
    pub fn defaults(user_id: &UserId, now: NaiveDateTime) -> UserSettings {
        UserSettings {
            user_id: user_id.clone(),
            theme: "system".into(),
            language: "en".into(),
            notifications: true,
            updated_at: now,
        }
    }

    pub fn insert(conn: &mut DbConnection, settings: &UserSettings) -> QueryResult<usize> {
        diesel::insert_into(user_settings::table)
            .values(settings)
            .execute(conn)
    }

    pub fn find(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Option<UserSettings>> {
        user_settings::table
            .find(user_id)
            .select(UserSettings::as_select())
            .first(conn)
            .optional()
    }

    pub fn update(conn: &mut DbConnection, settings: &UserSettings) -> QueryResult<usize> {
        diesel::update(user_settings::table.find(&settings.user_id))
            .set(settings)
            .execute(conn)
    }
}
