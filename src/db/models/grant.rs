use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{oauth_client, oauth_grant};
use crate::db::DbConnection;
use crate::identity::ids::{ClientId, GrantId, SessionId, UserId};

/// One authorization of a client by a user; everything issued from it hangs off it.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = oauth_grant)]
pub struct Grant {
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub id: GrantId,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub session_id: Option<SessionId>,
    pub scope: String,
    pub auth_time: NaiveDateTime,
    pub amr: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

impl Grant {
    pub fn insert(conn: &mut DbConnection, grant: &Grant) -> QueryResult<usize> {
        diesel::insert_into(oauth_grant::table)
            .values(grant.clone())
            .execute(conn)
    }

    pub fn find(conn: &mut DbConnection, id: &GrantId) -> QueryResult<Option<Grant>> {
        oauth_grant::table
            .find(id.as_str())
            .select(Grant::as_select())
            .first(conn)
            .optional()
    }

    /// Whether the grant exists and is not revoked (the check behind every access token use).
    pub fn is_active(conn: &mut DbConnection, id: &GrantId) -> QueryResult<bool> {
        let revoked: Option<Option<NaiveDateTime>> = oauth_grant::table
            .find(id.as_str())
            .select(oauth_grant::revoked_at)
            .first(conn)
            .optional()?;
        Ok(matches!(revoked, Some(None)))
    }

    pub fn revoke(conn: &mut DbConnection, id: &GrantId, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(
            oauth_grant::table
                .find(id.as_str())
                .filter(oauth_grant::revoked_at.is_null()),
        )
        .set(oauth_grant::revoked_at.eq(now))
        .execute(conn)
    }

    pub fn revoke_for_user_client(
        conn: &mut DbConnection,
        user_id: &UserId,
        client_id: &ClientId,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            oauth_grant::table
                .filter(oauth_grant::user_id.eq(user_id))
                .filter(oauth_grant::client_id.eq(client_id))
                .filter(oauth_grant::revoked_at.is_null()),
        )
        .set(oauth_grant::revoked_at.eq(now))
        .execute(conn)
    }

    /// Revokes every live grant of a user (and so every code and token issued from them).
    pub fn revoke_all_for_user(
        conn: &mut DbConnection,
        user_id: &UserId,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            oauth_grant::table
                .filter(oauth_grant::user_id.eq(user_id))
                .filter(oauth_grant::revoked_at.is_null()),
        )
        .set(oauth_grant::revoked_at.eq(now))
        .execute(conn)
    }

    /// Clients that received tokens in a browser session, with their back-channel logout URIs.
    pub fn clients_for_session(
        conn: &mut DbConnection,
        session_id: &SessionId,
    ) -> QueryResult<Vec<(ClientId, UserId, String)>> {
        let rows: Vec<(ClientId, UserId, Option<String>)> = oauth_grant::table
            .inner_join(oauth_client::table)
            .filter(oauth_grant::session_id.eq(session_id))
            .filter(oauth_client::backchannel_logout_uri.is_not_null())
            .select((
                oauth_client::id,
                oauth_grant::user_id,
                oauth_client::backchannel_logout_uri,
            ))
            .distinct()
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(c, u, uri)| uri.map(|uri| (c, u, uri)))
            .collect())
    }

    /// Active grants of a user, with the client's name (the "connected applications" list).
    pub fn active_for_user(
        conn: &mut DbConnection,
        user_id: &UserId,
    ) -> QueryResult<Vec<(Grant, String)>> {
        oauth_grant::table
            .inner_join(oauth_client::table)
            .filter(oauth_grant::user_id.eq(user_id))
            .filter(oauth_grant::revoked_at.is_null())
            .order(oauth_grant::created_at.desc())
            .select((Grant::as_select(), oauth_client::name))
            .load(conn)
    }
}
