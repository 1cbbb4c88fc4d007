use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::json_list::JsonList;
use crate::db::schema::identity_provider;
use crate::db::DbConnection;

/// An upstream provider as stored; `client_secret` is encrypted with the master key, and list
/// fields are JSON arrays (an unreadable one fails the read: they restrict who may sign in).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, AsChangeset)]
#[diesel(table_name = identity_provider, primary_key(slug), treat_none_as_null = true)]
pub struct IdentityProviderRow {
    pub slug: String,
    pub kind: String,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    pub issuer: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub scopes: String,
    pub claim_mapping: String,
    pub enabled: bool,
    pub link_policy: String,
    pub allowed_domains: JsonList<String>,
    pub hosted_domain: Option<String>,
    pub github_orgs: JsonList<String>,
    pub keep_tokens: bool,
    pub managed_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Trust the provider's verified email to link an existing user (NULL: the kind's default).
    pub trust_email: Option<bool>,
}

impl IdentityProviderRow {
    pub fn insert(conn: &mut DbConnection, row: &IdentityProviderRow) -> QueryResult<usize> {
        diesel::insert_into(identity_provider::table)
            .values(row)
            .execute(conn)
    }

    pub fn update(conn: &mut DbConnection, row: &IdentityProviderRow) -> QueryResult<usize> {
        diesel::update(identity_provider::table.find(&row.slug))
            .set(row)
            .execute(conn)
    }

    pub fn find(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<IdentityProviderRow>> {
        identity_provider::table
            .find(slug)
            .select(IdentityProviderRow::as_select())
            .first(conn)
            .optional()
    }

    pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<IdentityProviderRow>> {
        identity_provider::table
            .order(identity_provider::created_at.asc())
            .select(IdentityProviderRow::as_select())
            .load(conn)
    }

    /// Slug, display name and kind of the enabled providers, oldest first: what a sign-in button
    /// needs, without reading the restriction lists (an unreadable one fails only its own use).
    pub fn list_enabled_names(
        conn: &mut DbConnection,
    ) -> QueryResult<Vec<(String, String, String)>> {
        identity_provider::table
            .filter(identity_provider::enabled.eq(true))
            .order(identity_provider::created_at.asc())
            .select((
                identity_provider::slug,
                identity_provider::display_name,
                identity_provider::kind,
            ))
            .load(conn)
    }

    pub fn set_enabled(
        conn: &mut DbConnection,
        slug: &str,
        enabled: bool,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(identity_provider::table.find(slug))
            .set((
                identity_provider::enabled.eq(enabled),
                identity_provider::updated_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConnection, slug: &str) -> QueryResult<usize> {
        diesel::delete(identity_provider::table.find(slug)).execute(conn)
    }
}
