use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::sessions;
use crate::db::DbConnection;
use crate::identity::ids::{SessionId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: SessionId,
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub auth_time: NaiveDateTime,
    pub auth_method: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// When the first factor was proven (for a two-factor sign-in, before the second).
    pub first_factor_at: NaiveDateTime,
    /// When the second factor was proven, if the session has one.
    pub second_factor_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: SessionId,
    pub token_hash: &'a str,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub auth_time: NaiveDateTime,
    pub auth_method: &'a str,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub first_factor_at: NaiveDateTime,
    pub second_factor_at: Option<NaiveDateTime>,
}

impl Session {
    pub fn insert(conn: &mut DbConnection, new: &NewSession<'_>) -> QueryResult<usize> {
        diesel::insert_into(sessions::table)
            .values(new)
            .execute(conn)
    }

    pub fn find_by_token_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<Session>> {
        sessions::table
            .filter(sessions::token_hash.eq(hash))
            .select(Session::as_select())
            .first(conn)
            .optional()
    }

    pub fn for_user(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Vec<Session>> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .order(sessions::last_seen_at.desc())
            .select(Session::as_select())
            .load(conn)
    }

    pub fn ids_for_user(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Vec<SessionId>> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .select(sessions::id)
            .load(conn)
    }

    pub fn touch(
        conn: &mut DbConnection,
        id: &SessionId,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(sessions::table.find(id))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)
    }

    /// Records a second factor proven later in the session: how it signed in (e.g. `pwd+otp`)
    /// and when.
    pub fn add_second_factor(
        conn: &mut DbConnection,
        id: &SessionId,
        method: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(sessions::table.find(id))
            .set((
                sessions::auth_method.eq(method),
                sessions::second_factor_at.eq(at),
            ))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConnection, id: &SessionId) -> QueryResult<usize> {
        diesel::delete(sessions::table.find(id)).execute(conn)
    }

    /// Deletes one of the user's sessions; the user filter stops anyone revoking others' sessions.
    pub fn delete_for_user(
        conn: &mut DbConnection,
        user_id: &UserId,
        id: &SessionId,
    ) -> QueryResult<usize> {
        diesel::delete(
            sessions::table
                .filter(sessions::id.eq(id))
                .filter(sessions::user_id.eq(user_id)),
        )
        .execute(conn)
    }

    pub fn delete_all_for_user(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<usize> {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
    }

    pub fn delete_others(
        conn: &mut DbConnection,
        user_id: &UserId,
        keep: &SessionId,
    ) -> QueryResult<usize> {
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::id.ne(keep)),
        )
        .execute(conn)
    }

    /// Removes sessions past their absolute expiry or idle longer than `idle_cutoff` allows.
    pub fn delete_expired(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        idle_cutoff: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(
            sessions::table.filter(
                sessions::expires_at
                    .le(now)
                    .or(sessions::last_seen_at.le(idle_cutoff)),
            ),
        )
        .execute(conn)
    }
}
