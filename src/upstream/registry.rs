//! Configured providers: stored rows to connector configs (secrets decrypted), and the admin
//! side (add, enable, disable, remove, sync from the config file).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::config::{ClaimMapping, FlatSpec, Kind, LinkPolicy, ProviderConfig, ProviderSpec};
use crate::config::StaticProvider;
use crate::crypto::MasterKey;
use crate::db::models::IdentityProviderRow;
use crate::db::DbConnection;
use crate::error::{AppError, ValidationError};

/// Decrypts and parses a stored provider. A row that does not parse fails (closed): a provider
/// whose restrictions cannot be read must not sign anyone in.
pub fn to_config(row: &IdentityProviderRow, mk: &MasterKey) -> Result<ProviderConfig, AppError> {
    let broken = |what: &str| AppError::Internal(format!("provider {}: {what}", row.slug));
    let secret = mk
        .decrypt(&row.client_secret)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            AppError::Config(format!(
                "provider {}: client secret cannot be decrypted with this master key",
                row.slug
            ))
        })?;
    let kind = Kind::parse(&row.kind).ok_or_else(|| broken("unknown kind"))?;
    let claims = match kind {
        Kind::Oauth2 => Some(
            serde_json::from_str::<ClaimMapping>(&row.claim_mapping)
                .map_err(|_| broken("unreadable claim mapping"))?,
        ),
        // Rows of the other kinds carry a default mapping that means nothing for them.
        _ => None,
    };
    let flat = FlatSpec {
        issuer: row.issuer.clone(),
        authorize_url: row.authorize_url.clone(),
        token_url: row.token_url.clone(),
        userinfo_url: row.userinfo_url.clone(),
        hosted_domain: row.hosted_domain.clone(),
        github_orgs: row.github_orgs.to_vec(),
        claims,
    };
    let (spec, _) = ProviderSpec::from_flat(kind, flat).map_err(|e| broken(&e))?;
    Ok(ProviderConfig {
        slug: row.slug.clone(),
        display_name: row.display_name.clone(),
        client_id: row.client_id.clone(),
        client_secret: secret,
        scopes: row
            .scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        enabled: row.enabled,
        link_policy: LinkPolicy::parse(&row.link_policy)
            .ok_or_else(|| broken("unknown link policy"))?,
        trust_email: row.trust_email,
        allowed_domains: row.allowed_domains.to_vec(),
        keep_tokens: row.keep_tokens,
        spec,
    })
}

/// An enabled provider by slug.
pub fn enabled(
    conn: &mut DbConnection,
    mk: &MasterKey,
    slug: &str,
) -> Result<Option<ProviderConfig>, AppError> {
    match IdentityProviderRow::find(conn, slug)? {
        Some(row) if row.enabled => Ok(Some(to_config(&row, mk)?)),
        _ => Ok(None),
    }
}

/// A sign-in button.
#[derive(Debug, Clone, Serialize)]
pub struct Button {
    pub slug: String,
    pub name: String,
    pub kind: &'static str,
}

pub fn buttons(conn: &mut DbConnection) -> Result<Vec<Button>, AppError> {
    Ok(IdentityProviderRow::list_enabled_names(conn)?
        .into_iter()
        .map(|(slug, name, kind)| Button {
            kind: Kind::parse(&kind).map_or("oidc", Kind::as_str),
            slug,
            name,
        })
        .collect())
}

/// What an admin gives to add a provider (CLI, config file), parsed.
#[derive(Debug, Clone)]
pub struct NewProvider {
    pub slug: String,
    /// Empty: "Google", "GitHub", or the slug.
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    /// Empty: the usual scopes of the kind.
    pub scopes: Vec<String>,
    pub link_policy: LinkPolicy,
    /// `None`: the kind's default.
    pub trust_email: Option<bool>,
    pub allowed_domains: Vec<String>,
    pub keep_tokens: bool,
    pub spec: ProviderSpec,
}

impl NewProvider {
    /// A provider with the defaults for everything but its identity and spec.
    pub fn new(
        slug: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        spec: ProviderSpec,
    ) -> NewProvider {
        NewProvider {
            slug: slug.into(),
            display_name: String::new(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: Vec::new(),
            link_policy: LinkPolicy::VerifiedEmail,
            trust_email: None,
            allowed_domains: Vec::new(),
            keep_tokens: false,
            spec,
        }
    }
}

fn check_url(what: &str, u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|_| format!("{what}: not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{what}: must be http(s)"));
    }
    Ok(())
}

/// Checks a new provider and builds the row (secret encrypted).
pub fn build_row(
    new: &NewProvider,
    mk: &MasterKey,
    managed_by: &str,
    now: NaiveDateTime,
) -> Result<IdentityProviderRow, String> {
    let kind = new.spec.kind();
    let slug_ok = !new.slug.is_empty()
        && new.slug.len() <= 40
        && new
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok || new.slug == crate::db::models::CREDENTIAL_PROVIDER {
        return Err("slug: 1-40 lowercase letters, digits or '-', not 'credential'".into());
    }
    if new.client_id.is_empty() || new.client_secret.is_empty() {
        return Err("client id and client secret are required".into());
    }
    for (what, url) in new.spec.urls() {
        check_url(what, url)?;
    }
    let scopes = if new.scopes.is_empty() {
        match kind {
            Kind::Google | Kind::Oidc => {
                vec!["openid".to_string(), "email".into(), "profile".into()]
            }
            Kind::Github => vec!["read:user".into(), "user:email".into()],
            Kind::Oauth2 => Vec::new(),
        }
    } else {
        new.scopes.clone()
    };
    let name = if new.display_name.trim().is_empty() {
        match kind {
            Kind::Google => "Google".to_string(),
            Kind::Github => "GitHub".to_string(),
            _ => new.slug.clone(),
        }
    } else {
        new.display_name.trim().to_string()
    };
    let flat = new.spec.to_flat();
    Ok(IdentityProviderRow {
        slug: new.slug.clone(),
        kind: kind.as_str().into(),
        display_name: name,
        client_id: new.client_id.clone(),
        client_secret: mk.encrypt(new.client_secret.as_bytes()),
        issuer: flat.issuer,
        authorize_url: flat.authorize_url,
        token_url: flat.token_url,
        userinfo_url: flat.userinfo_url,
        scopes: scopes.join(" "),
        claim_mapping: serde_json::to_string(&flat.claims.unwrap_or_default())
            .map_err(|e| format!("claims: {e}"))?,
        enabled: true,
        link_policy: new.link_policy.as_str().into(),
        trust_email: new.trust_email,
        allowed_domains: new.allowed_domains.clone().into(),
        hosted_domain: flat.hosted_domain,
        github_orgs: flat.github_orgs.into(),
        keep_tokens: new.keep_tokens,
        managed_by: managed_by.into(),
        created_at: now,
        updated_at: now,
    })
}

/// A `[[providers]]` entry of the config file, parsed. Keys that mean nothing for its kind are
/// logged and left out.
pub fn from_static(p: &StaticProvider) -> Result<NewProvider, String> {
    let flat = FlatSpec {
        issuer: p.issuer.clone(),
        authorize_url: p.authorize_url.clone(),
        token_url: p.token_url.clone(),
        userinfo_url: p.userinfo_url.clone(),
        hosted_domain: p.hosted_domain.clone(),
        github_orgs: p.github_orgs.clone(),
        claims: p.claims.clone(),
    };
    let (spec, ignored) = ProviderSpec::from_flat(p.kind, flat)?;
    if !ignored.is_empty() {
        tracing::warn!(
            provider = %p.slug,
            kind = p.kind.as_str(),
            keys = %ignored.join(", "),
            "providers: these keys mean nothing for this kind and are ignored"
        );
    }
    Ok(NewProvider {
        slug: p.slug.clone(),
        display_name: p.name.clone().unwrap_or_default(),
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.expose().to_string(),
        scopes: p.scopes.clone(),
        link_policy: p.link_policy.unwrap_or(LinkPolicy::VerifiedEmail),
        trust_email: p.trust_email,
        allowed_domains: p.allowed_domains.clone(),
        keep_tokens: p.keep_tokens,
        spec,
    })
}

pub fn add(
    conn: &mut DbConnection,
    mk: &MasterKey,
    new: &NewProvider,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let row = build_row(new, mk, "cli", now).map_err(ValidationError::ProviderSpec)?;
    if IdentityProviderRow::find(conn, &row.slug)?.is_some() {
        return Err(ValidationError::ProviderExists(row.slug).into());
    }
    IdentityProviderRow::insert(conn, &row)?;
    Ok(())
}

/// Makes the database match the `[[providers]]` of the config file.
pub fn sync_static(
    conn: &mut DbConnection,
    mk: &MasterKey,
    providers: &[StaticProvider],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let mut seen = Vec::new();
    for p in providers {
        let new =
            from_static(p).map_err(|e| AppError::Config(format!("providers.{}: {e}", p.slug)))?;
        let mut row = build_row(&new, mk, "config", now)
            .map_err(|e| AppError::Config(format!("providers.{}: {e}", p.slug)))?;
        row.enabled = p.enabled;
        match IdentityProviderRow::find(conn, &p.slug)? {
            Some(existing) if existing.managed_by != "config" => {
                return Err(AppError::Config(format!(
                    "providers.{}: a provider with this slug was added with the CLI",
                    p.slug
                )));
            }
            Some(existing) => {
                row.created_at = existing.created_at;
                IdentityProviderRow::update(conn, &row)?;
            }
            None => {
                IdentityProviderRow::insert(conn, &row)?;
            }
        }
        seen.push(p.slug.clone());
    }
    for row in IdentityProviderRow::list(conn)? {
        if row.managed_by == "config" && !seen.contains(&row.slug) {
            IdentityProviderRow::delete(conn, &row.slug)?;
        }
    }
    Ok(())
}
