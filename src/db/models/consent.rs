use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::consent;
use crate::db::DbConnection;
use crate::identity::ids::{ClientId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consent)]
pub struct Consent {
    pub user_id: UserId,
    pub client_id: ClientId,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Consent {
    pub fn find(
        conn: &mut DbConnection,
        user_id: &UserId,
        client_id: &ClientId,
    ) -> QueryResult<Option<Consent>> {
        consent::table
            .find((user_id, client_id))
            .select(Consent::as_select())
            .first(conn)
            .optional()
    }

    /// Records the scopes granted, replacing an earlier consent. Runs inside the caller's
    /// transaction; an UPDATE first keeps it portable (no ON CONFLICT through MultiConnection).
    pub fn save(
        conn: &mut DbConnection,
        user_id: &UserId,
        client_id: &ClientId,
        scope: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        let updated = diesel::update(consent::table.find((user_id, client_id)))
            .set((consent::scope.eq(scope), consent::updated_at.eq(now)))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(consent::table)
                .values(&Consent {
                    user_id: user_id.clone(),
                    client_id: client_id.clone(),
                    scope: scope.into(),
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)?;
        }
        Ok(())
    }

    pub fn delete(
        conn: &mut DbConnection,
        user_id: &UserId,
        client_id: &ClientId,
    ) -> QueryResult<usize> {
        diesel::delete(consent::table.find((user_id, client_id))).execute(conn)
    }

    pub fn for_user(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Vec<Consent>> {
        consent::table
            .filter(consent::user_id.eq(user_id))
            .select(Consent::as_select())
            .load(conn)
    }
}
