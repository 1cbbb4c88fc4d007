//! Upstream identity providers as admins manage them (issue 14). The body of a create or an
//! update is a `[[providers]]` entry of the configuration file in JSON, so the file, the API and
//! the console say the same things the same way. Providers declared in the file are read-only.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::users::utc;
use super::{AdminError, AdminResult};
use crate::config::StaticProvider;
use crate::crypto::MasterKey;
use crate::db::models::IdentityProviderRow;
use crate::db::{write_transaction, DbConnection};
use crate::identity::audit::{self, Actor, AuditKind, Event};
use crate::upstream::config::ClaimMapping;
use crate::upstream::registry;

pub use super::clients::{MANAGED_BY_ADMIN, MANAGED_BY_CONFIG};

/// A provider as the API shows it (never its client secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderView {
    pub slug: String,
    /// google, github, oidc or oauth2.
    pub kind: String,
    pub name: String,
    pub client_id: String,
    pub issuer: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub scopes: Vec<String>,
    pub enabled: bool,
    pub link_policy: String,
    /// Unset: the kind's default (see README, "Upstream providers").
    pub trust_email: Option<bool>,
    pub allowed_domains: Vec<String>,
    pub hosted_domain: Option<String>,
    pub github_orgs: Vec<String>,
    pub keep_tokens: bool,
    /// Where an `oauth2` provider's userinfo keeps each claim (absent for other kinds), so that
    /// what a GET returns can be sent back with PUT unchanged.
    #[schema(value_type = Option<Object>)]
    pub claims: Option<ClaimMapping>,
    pub managed_by: String,
    pub editable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<IdentityProviderRow> for ProviderView {
    fn from(r: IdentityProviderRow) -> Self {
        let claims = (r.kind == "oauth2")
            .then(|| serde_json::from_str::<ClaimMapping>(&r.claim_mapping).ok())
            .flatten();
        ProviderView {
            claims,
            editable: r.managed_by != MANAGED_BY_CONFIG,
            slug: r.slug,
            kind: r.kind,
            name: r.display_name,
            client_id: r.client_id,
            issuer: r.issuer,
            authorize_url: r.authorize_url,
            token_url: r.token_url,
            userinfo_url: r.userinfo_url,
            scopes: r
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            enabled: r.enabled,
            link_policy: r.link_policy,
            trust_email: r.trust_email,
            allowed_domains: r.allowed_domains.into_inner(),
            hosted_domain: r.hosted_domain,
            github_orgs: r.github_orgs.into_inner(),
            keep_tokens: r.keep_tokens,
            managed_by: r.managed_by,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        }
    }
}

pub fn list(conn: &mut DbConnection) -> AdminResult<Vec<ProviderView>> {
    Ok(IdentityProviderRow::list(conn)?
        .into_iter()
        .map(ProviderView::from)
        .collect())
}

/// One provider as the API shows it.
pub fn view(conn: &mut DbConnection, slug: &str) -> AdminResult<ProviderView> {
    find(conn, slug).map(ProviderView::from)
}

pub fn find(conn: &mut DbConnection, slug: &str) -> AdminResult<IdentityProviderRow> {
    IdentityProviderRow::find(conn, slug)?.ok_or(AdminError::NotFound("provider"))
}

fn editable(conn: &mut DbConnection, slug: &str) -> AdminResult<IdentityProviderRow> {
    let row = find(conn, slug)?;
    if row.managed_by == MANAGED_BY_CONFIG {
        return Err(AdminError::Managed {
            what: "provider",
            id: row.slug,
        });
    }
    Ok(row)
}

fn audit(
    conn: &mut DbConnection,
    actor: &Actor,
    kind: AuditKind,
    slug: &str,
    now: NaiveDateTime,
) -> AdminResult<()> {
    let event = Event {
        actor: Some(actor),
        detail: Some(slug),
        ..Event::new(kind)
    };
    Ok(audit::record_event(conn, &event, now)?)
}

/// The row a body describes, checked.
fn row_from(
    body: &StaticProvider,
    mk: &MasterKey,
    managed_by: &str,
    now: NaiveDateTime,
) -> AdminResult<IdentityProviderRow> {
    let new = registry::from_static(body).map_err(AdminError::Invalid)?;
    let mut row = registry::build_row(&new, mk, managed_by, now).map_err(AdminError::Invalid)?;
    row.enabled = body.enabled;
    Ok(row)
}

pub fn create(
    conn: &mut DbConnection,
    mk: &MasterKey,
    actor: &Actor,
    body: &StaticProvider,
    now: NaiveDateTime,
) -> AdminResult<ProviderView> {
    let row = row_from(body, mk, MANAGED_BY_ADMIN, now)?;
    write_transaction::<_, AdminError, _>(conn, |conn| {
        if IdentityProviderRow::find(conn, &row.slug)?.is_some() {
            return Err(AdminError::Conflict(format!(
                "a provider with slug {} already exists",
                row.slug
            )));
        }
        IdentityProviderRow::insert(conn, &row)?;
        audit(conn, actor, AuditKind::ProviderCreated, &row.slug, now)?;
        Ok(ProviderView::from(row.clone()))
    })
}

/// Replaces a provider's settings. An empty `client_secret` keeps the stored one; the slug
/// cannot change (linked accounts hang off it).
pub fn update(
    conn: &mut DbConnection,
    mk: &MasterKey,
    actor: &Actor,
    slug: &str,
    body: &StaticProvider,
    now: NaiveDateTime,
) -> AdminResult<ProviderView> {
    if body.slug != slug {
        return Err(AdminError::Invalid(
            "slug: cannot change (linked accounts refer to it); add a new provider".into(),
        ));
    }
    let keep_secret = body.client_secret.expose().is_empty();
    let mut checked = body.clone();
    if keep_secret {
        // A placeholder passes the "required" check; the stored secret replaces it below.
        checked.client_secret = crate::config::Secret::new("unchanged");
    }
    let mut row = row_from(&checked, mk, MANAGED_BY_ADMIN, now)?;
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let existing = editable(conn, slug)?;
        if existing.kind != row.kind {
            return Err(AdminError::Invalid(
                "kind: cannot change; add a new provider".into(),
            ));
        }
        if keep_secret {
            row.client_secret = existing.client_secret.clone();
        }
        row.created_at = existing.created_at;
        row.managed_by = existing.managed_by.clone();
        IdentityProviderRow::update(conn, &row)?;
        audit(conn, actor, AuditKind::ProviderUpdated, slug, now)?;
        Ok(ProviderView::from(row.clone()))
    })
}

/// Removes the provider. Accounts linked through it stay: they sign in again if a provider
/// with the same slug is added back. Until then those users need another way in.
pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor,
    slug: &str,
    now: NaiveDateTime,
) -> AdminResult<()> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        editable(conn, slug)?;
        IdentityProviderRow::delete(conn, slug)?;
        audit(conn, actor, AuditKind::ProviderDeleted, slug, now)?;
        Ok(())
    })
}

/// Tests a provider the way sign-in would use it (`upstream::probe`): each step says precisely
/// what failed (DNS, TCP, TLS, HTTP status, a JSON field). Changes nothing.
pub async fn test(
    db: &crate::db::Db,
    mk: &MasterKey,
    upstream: &crate::upstream::UpstreamClient,
    slug: &str,
) -> AdminResult<crate::upstream::probe::Report> {
    let (mk, lookup) = (mk.clone(), slug.to_string());
    let cfg = db
        .run(
            move |conn| Ok(find(conn, &lookup).and_then(|row| Ok(registry::to_config(&row, &mk)?))),
        )
        .await??;
    let callback = upstream.redirect_uri(slug);
    Ok(crate::upstream::probe::test(&cfg, &upstream.http, &callback).await)
}
