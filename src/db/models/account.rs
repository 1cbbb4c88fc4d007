use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::accounts;
use crate::db::DbConnection;

/// `provider_id` of the account that holds a password.
pub const CREDENTIAL_PROVIDER: &str = "credential";

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: String,
    pub user_id: String,
    pub provider_id: String,
    pub account_id: String,
    pub password_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub provider_id: &'a str,
    pub account_id: &'a str,
    pub password_hash: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Account {
    pub fn insert(conn: &mut DbConnection, new: &NewAccount<'_>) -> QueryResult<usize> {
        diesel::insert_into(accounts::table).values(new).execute(conn)
    }

    pub fn for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<Account>> {
        accounts::table
            .filter(accounts::user_id.eq(user_id))
            .order(accounts::created_at.asc())
            .select(Account::as_select())
            .load(conn)
    }

    pub fn credential_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<Account>> {
        accounts::table
            .filter(accounts::user_id.eq(user_id))
            .filter(accounts::provider_id.eq(CREDENTIAL_PROVIDER))
            .select(Account::as_select())
            .first(conn)
            .optional()
    }

    pub fn set_password_hash(
        conn: &mut DbConnection,
        account_id: &str,
        hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(accounts::table.find(account_id))
            .set((accounts::password_hash.eq(hash), accounts::updated_at.eq(now)))
            .execute(conn)
    }
}
