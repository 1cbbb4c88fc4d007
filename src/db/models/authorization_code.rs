use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::authorization_code;
use crate::db::DbConnection;
use crate::identity::ids::GrantId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_code)]
pub struct AuthorizationCode {
    pub code_hash: String,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub grant_id: GrantId,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

impl AuthorizationCode {
    pub fn insert(conn: &mut DbConnection, code: &AuthorizationCode) -> QueryResult<usize> {
        diesel::insert_into(authorization_code::table)
            .values(code.clone())
            .execute(conn)
    }

    pub fn find(
        conn: &mut DbConnection,
        code_hash: &str,
    ) -> QueryResult<Option<AuthorizationCode>> {
        authorization_code::table
            .find(code_hash)
            .select(AuthorizationCode::as_select())
            .first(conn)
            .optional()
    }

    /// Marks the code used; 0 rows means someone else redeemed it first.
    pub fn mark_used(
        conn: &mut DbConnection,
        code_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            authorization_code::table
                .find(code_hash)
                .filter(authorization_code::used_at.is_null()),
        )
        .set(authorization_code::used_at.eq(now))
        .execute(conn)
    }

    pub fn delete_expired(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(authorization_code::table.filter(authorization_code::expires_at.le(before)))
            .execute(conn)
    }
}
