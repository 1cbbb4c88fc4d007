use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::json_list::JsonList;
use crate::db::schema::oauth_client;
use crate::db::DbConnection;
use crate::identity::ids::ClientId;
use crate::oidc::claim_rules::ClaimRule;

/// A registered relying application. List fields hold JSON arrays of strings (an unreadable one
/// fails the read, never reads as empty).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, AsChangeset)]
#[diesel(table_name = oauth_client, treat_none_as_null = true)]
pub struct OAuthClient {
    pub id: ClientId,
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: JsonList<String>,
    pub post_logout_redirect_uris: JsonList<String>,
    pub grant_types: JsonList<String>,
    pub auth_method: String,
    pub skip_consent: bool,
    pub always_issue_refresh: bool,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: String,
    pub managed_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// NULL: access tokens use `id_token_alg` too.
    pub access_token_alg: Option<String>,
    /// Its users must have signed in with two factors (or set one up on the way).
    pub require_mfa: bool,
    /// May ask for the `admin` scope with client_credentials (the admin API).
    pub admin_api: bool,
    /// Extra claims computed from the user (`oidc::claim_rules`), as a JSON array.
    pub claim_rules: JsonList<ClaimRule>,
}

impl OAuthClient {
    pub fn insert(conn: &mut DbConnection, client: &OAuthClient) -> QueryResult<usize> {
        diesel::insert_into(oauth_client::table)
            .values(client)
            .execute(conn)
    }

    pub fn update(conn: &mut DbConnection, client: &OAuthClient) -> QueryResult<usize> {
        diesel::update(oauth_client::table.find(&client.id))
            .set(client)
            .execute(conn)
    }

    pub fn find(conn: &mut DbConnection, id: &ClientId) -> QueryResult<Option<OAuthClient>> {
        oauth_client::table
            .find(id)
            .select(OAuthClient::as_select())
            .first(conn)
            .optional()
    }

    /// The client's claim rules alone (UserInfo reads them at every call); `None`: no client.
    pub fn claim_rules(
        conn: &mut DbConnection,
        id: &ClientId,
    ) -> QueryResult<Option<Vec<ClaimRule>>> {
        oauth_client::table
            .find(id)
            .select(oauth_client::claim_rules)
            .first::<JsonList<ClaimRule>>(conn)
            .optional()
            .map(|rules| rules.map(JsonList::into_inner))
    }

    pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<OAuthClient>> {
        oauth_client::table
            .order(oauth_client::created_at.asc())
            .select(OAuthClient::as_select())
            .load(conn)
    }

    pub fn list_managed_by(
        conn: &mut DbConnection,
        manager: &str,
    ) -> QueryResult<Vec<OAuthClient>> {
        oauth_client::table
            .filter(oauth_client::managed_by.eq(manager))
            .select(OAuthClient::as_select())
            .load(conn)
    }

    pub fn delete(conn: &mut DbConnection, id: &ClientId) -> QueryResult<usize> {
        diesel::delete(oauth_client::table.find(id)).execute(conn)
    }

    pub fn set_secret_hash(
        conn: &mut DbConnection,
        id: &ClientId,
        hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(oauth_client::table.find(id))
            .set((
                oauth_client::secret_hash.eq(hash),
                oauth_client::updated_at.eq(now),
            ))
            .execute(conn)
    }
}
