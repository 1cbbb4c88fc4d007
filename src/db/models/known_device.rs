use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::known_devices;
use crate::db::DbConnection;
use crate::identity::ids::UserId;

/// A browser the user has signed in from: the SHA-256 of its device cookie.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = known_devices)]
pub struct KnownDevice {
    pub user_id: UserId,
    pub device_hash: String,
    pub first_seen_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

impl KnownDevice {
    pub fn insert(conn: &mut DbConnection, device: &KnownDevice) -> QueryResult<usize> {
        diesel::insert_into(known_devices::table)
            .values(device)
            .execute(conn)
    }

    /// Marks the device seen now; 0 rows means the user has not signed in from it before.
    pub fn touch(
        conn: &mut DbConnection,
        user_id: &UserId,
        device_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(known_devices::table.find((user_id, device_hash)))
            .set(known_devices::last_seen_at.eq(now))
            .execute(conn)
    }

    pub fn any_for_user(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            known_devices::table.filter(known_devices::user_id.eq(user_id)),
        ))
        .get_result(conn)
    }

    /// Forgets devices unseen since `before` (their cookie has expired by then).
    pub fn delete_unseen_since(
        conn: &mut DbConnection,
        before: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(known_devices::table.filter(known_devices::last_seen_at.lt(before)))
            .execute(conn)
    }
}
