use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::revoked_token;
use crate::db::DbConnection;

/// Revokes a grant-less access token by its `jti` until it would have expired anyway.
pub fn revoke(conn: &mut DbConnection, jti: &str, expires_at: NaiveDateTime) -> QueryResult<()> {
    if is_revoked(conn, jti)? {
        return Ok(());
    }
    diesel::insert_into(revoked_token::table)
        .values((
            revoked_token::jti.eq(jti),
            revoked_token::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn is_revoked(conn: &mut DbConnection, jti: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(revoked_token::table.find(jti))).get_result(conn)
}

pub fn delete_expired(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(revoked_token::table.filter(revoked_token::expires_at.le(before))).execute(conn)
}
