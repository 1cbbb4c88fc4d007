use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::accounts;
use crate::db::DbConnection;
use crate::identity::ids::{AccountId, UserId};

/// `provider_id` of the account that holds a password.
pub const CREDENTIAL_PROVIDER: &str = "credential";

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: AccountId,
    pub user_id: UserId,
    pub provider_id: String,
    pub account_id: String,
    pub password_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The email the provider reported at the last sign-in (upstream accounts).
    pub email: Option<String>,
    /// Upstream tokens, encrypted; only when the provider keeps them.
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub token_expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: AccountId,
    pub user_id: UserId,
    pub provider_id: &'a str,
    pub account_id: &'a str,
    pub password_hash: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Account {
    pub fn insert(conn: &mut DbConnection, new: &NewAccount<'_>) -> QueryResult<usize> {
        diesel::insert_into(accounts::table)
            .values(new)
            .execute(conn)
    }

    pub fn for_user(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Vec<Account>> {
        accounts::table
            .filter(accounts::user_id.eq(user_id))
            .order(accounts::created_at.asc())
            .select(Account::as_select())
            .load(conn)
    }

    pub fn credential_for_user(
        conn: &mut DbConnection,
        user_id: &UserId,
    ) -> QueryResult<Option<Account>> {
        accounts::table
            .filter(accounts::user_id.eq(user_id))
            .filter(accounts::provider_id.eq(CREDENTIAL_PROVIDER))
            .select(Account::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_provider(
        conn: &mut DbConnection,
        provider: &str,
        subject: &str,
    ) -> QueryResult<Option<Account>> {
        accounts::table
            .filter(accounts::provider_id.eq(provider))
            .filter(accounts::account_id.eq(subject))
            .select(Account::as_select())
            .first(conn)
            .optional()
    }

    /// Records what the provider said at this sign-in (tokens already encrypted).
    #[allow(clippy::too_many_arguments)]
    pub fn store_upstream(
        conn: &mut DbConnection,
        id: &AccountId,
        email: Option<&str>,
        access_token: Option<&str>,
        refresh_token: Option<&str>,
        id_token: Option<&str>,
        expires_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(accounts::table.find(id))
            .set((
                accounts::email.eq(email),
                accounts::access_token.eq(access_token),
                accounts::refresh_token.eq(refresh_token),
                accounts::id_token.eq(id_token),
                accounts::token_expires_at.eq(expires_at),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn delete_for_user(
        conn: &mut DbConnection,
        user_id: &UserId,
        id: &AccountId,
    ) -> QueryResult<usize> {
        diesel::delete(
            accounts::table
                .filter(accounts::id.eq(id))
                .filter(accounts::user_id.eq(user_id)),
        )
        .execute(conn)
    }

    pub fn set_password_hash(
        conn: &mut DbConnection,
        account_id: &AccountId,
        hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(accounts::table.find(account_id))
            .set((
                accounts::password_hash.eq(hash),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)
    }
}
