use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::signing_key;
use crate::db::DbConnection;

/// A token signing key; `private_key` is the master-key-encrypted PKCS#8 document.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = signing_key)]
pub struct SigningKeyRow {
    pub id: String,
    pub alg: String,
    pub private_key: String,
    pub public_jwk: String,
    pub not_before: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl SigningKeyRow {
    pub fn insert(conn: &mut DbConnection, row: &SigningKeyRow) -> QueryResult<usize> {
        diesel::insert_into(signing_key::table)
            .values(row)
            .execute(conn)
    }

    /// Every key, newest first within each algorithm.
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<SigningKeyRow>> {
        signing_key::table
            .order((signing_key::alg.asc(), signing_key::not_before.desc()))
            .select(SigningKeyRow::as_select())
            .load(conn)
    }

    pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
        diesel::delete(signing_key::table.find(id)).execute(conn)
    }
}
