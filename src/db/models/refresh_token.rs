use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::refresh_token;
use crate::db::DbConnection;
use crate::identity::ids::{GrantId, RefreshTokenId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_token)]
pub struct RefreshToken {
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub id: RefreshTokenId,
    pub token_hash: String,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub grant_id: GrantId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

impl RefreshToken {
    pub fn insert(conn: &mut DbConnection, token: &RefreshToken) -> QueryResult<usize> {
        diesel::insert_into(refresh_token::table)
            .values(token.clone())
            .execute(conn)
    }

    pub fn find_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<RefreshToken>> {
        refresh_token::table
            .filter(refresh_token::token_hash.eq(hash))
            .select(RefreshToken::as_select())
            .first(conn)
            .optional()
    }

    /// Marks the token rotated; 0 rows means it was already used (a concurrent or replayed use).
    pub fn mark_used_by_hash(
        conn: &mut DbConnection,
        hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            refresh_token::table
                .filter(refresh_token::token_hash.eq(hash))
                .filter(refresh_token::used_at.is_null()),
        )
        .set(refresh_token::used_at.eq(now))
        .execute(conn)
    }

    pub fn delete_expired(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(refresh_token::table.filter(refresh_token::expires_at.le(before)))
            .execute(conn)
    }
}
