//! Configured providers: stored rows to connector configs (secrets decrypted), and the admin
//! side (add, enable, disable, remove, sync from the config file).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::config::{ClaimMapping, Kind, LinkPolicy, ProviderConfig};
use crate::config::StaticProvider;
use crate::crypto::MasterKey;
use crate::db::models::IdentityProviderRow;
use crate::db::DbConnection;
use crate::error::{AppError, ValidationError};

fn list_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// Decrypts and parses a stored provider.
pub fn to_config(row: &IdentityProviderRow, mk: &MasterKey) -> Result<ProviderConfig, AppError> {
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
    Ok(ProviderConfig {
        slug: row.slug.clone(),
        kind: Kind::parse(&row.kind)
            .ok_or_else(|| AppError::Internal(format!("provider {}: unknown kind", row.slug)))?,
        display_name: row.display_name.clone(),
        client_id: row.client_id.clone(),
        client_secret: secret,
        issuer: row.issuer.clone(),
        authorize_url: row.authorize_url.clone(),
        token_url: row.token_url.clone(),
        userinfo_url: row.userinfo_url.clone(),
        scopes: row
            .scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        claims: serde_json::from_str(&row.claim_mapping).unwrap_or_default(),
        enabled: row.enabled,
        link_policy: LinkPolicy::parse(&row.link_policy).unwrap_or(LinkPolicy::VerifiedEmail),
        allowed_domains: parse_list(&row.allowed_domains),
        hosted_domain: row.hosted_domain.clone(),
        github_orgs: parse_list(&row.github_orgs),
        keep_tokens: row.keep_tokens,
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
    Ok(IdentityProviderRow::list(conn)?
        .into_iter()
        .filter(|r| r.enabled)
        .map(|r| Button {
            kind: Kind::parse(&r.kind).map_or("oidc", Kind::as_str),
            slug: r.slug,
            name: r.display_name,
        })
        .collect())
}

/// What an admin gives to add a provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderSpec {
    pub slug: String,
    pub kind: String,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    pub issuer: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub scopes: Vec<String>,
    pub claims: Option<ClaimMapping>,
    pub link_policy: Option<String>,
    pub allowed_domains: Vec<String>,
    pub hosted_domain: Option<String>,
    pub github_orgs: Vec<String>,
    pub keep_tokens: bool,
}

fn check_url(what: &str, v: &Option<String>) -> Result<(), String> {
    if let Some(u) = v {
        let parsed = url::Url::parse(u).map_err(|_| format!("{what}: not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("{what}: must be http(s)"));
        }
    }
    Ok(())
}

/// Checks a spec and builds the row (secret encrypted).
pub fn build_row(
    spec: &ProviderSpec,
    mk: &MasterKey,
    managed_by: &str,
    now: NaiveDateTime,
) -> Result<IdentityProviderRow, String> {
    let kind = Kind::parse(&spec.kind).ok_or("kind: use google, github, oidc or oauth2")?;
    let slug_ok = !spec.slug.is_empty()
        && spec.slug.len() <= 40
        && spec
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok || spec.slug == crate::db::models::CREDENTIAL_PROVIDER {
        return Err("slug: 1-40 lowercase letters, digits or '-', not 'credential'".into());
    }
    if spec.client_id.is_empty() || spec.client_secret.is_empty() {
        return Err("client id and client secret are required".into());
    }
    match kind {
        Kind::Oidc if spec.issuer.is_none() => return Err("an oidc provider needs --issuer".into()),
        Kind::Oauth2
            if spec.authorize_url.is_none()
                || spec.token_url.is_none()
                || spec.userinfo_url.is_none() =>
        {
            return Err(
                "an oauth2 provider needs --authorize-url, --token-url and --userinfo-url".into(),
            );
        }
        _ => {}
    }
    check_url("issuer", &spec.issuer)?;
    check_url("authorize URL", &spec.authorize_url)?;
    check_url("token URL", &spec.token_url)?;
    check_url("userinfo URL", &spec.userinfo_url)?;
    let link_policy = match &spec.link_policy {
        Some(p) => LinkPolicy::parse(p).ok_or("link policy: use verified_email or never")?,
        None => LinkPolicy::VerifiedEmail,
    };
    let scopes = if spec.scopes.is_empty() {
        match kind {
            Kind::Google | Kind::Oidc => {
                vec!["openid".to_string(), "email".into(), "profile".into()]
            }
            Kind::Github => vec!["read:user".into(), "user:email".into()],
            Kind::Oauth2 => Vec::new(),
        }
    } else {
        spec.scopes.clone()
    };
    let name = if spec.display_name.trim().is_empty() {
        match kind {
            Kind::Google => "Google".to_string(),
            Kind::Github => "GitHub".to_string(),
            _ => spec.slug.clone(),
        }
    } else {
        spec.display_name.trim().to_string()
    };
    Ok(IdentityProviderRow {
        slug: spec.slug.clone(),
        kind: kind.as_str().into(),
        display_name: name,
        client_id: spec.client_id.clone(),
        client_secret: mk.encrypt(spec.client_secret.as_bytes()),
        issuer: spec.issuer.clone(),
        authorize_url: spec.authorize_url.clone(),
        token_url: spec.token_url.clone(),
        userinfo_url: spec.userinfo_url.clone(),
        scopes: scopes.join(" "),
        claim_mapping: serde_json::to_string(&spec.claims.clone().unwrap_or_default())
            .unwrap_or_else(|_| "{}".into()),
        enabled: true,
        link_policy: link_policy.as_str().into(),
        allowed_domains: list_json(&spec.allowed_domains),
        hosted_domain: spec.hosted_domain.clone(),
        github_orgs: list_json(&spec.github_orgs),
        keep_tokens: spec.keep_tokens,
        managed_by: managed_by.into(),
        created_at: now,
        updated_at: now,
    })
}

pub fn add(
    conn: &mut DbConnection,
    mk: &MasterKey,
    spec: &ProviderSpec,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let row = build_row(spec, mk, "cli", now).map_err(ValidationError::ProviderSpec)?;
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
        let spec = ProviderSpec {
            slug: p.slug.clone(),
            kind: p.kind.clone(),
            display_name: p.name.clone().unwrap_or_default(),
            client_id: p.client_id.clone(),
            client_secret: p.client_secret.expose().to_string(),
            issuer: p.issuer.clone(),
            authorize_url: p.authorize_url.clone(),
            token_url: p.token_url.clone(),
            userinfo_url: p.userinfo_url.clone(),
            scopes: p.scopes.clone(),
            claims: p.claims.clone(),
            link_policy: p.link_policy.clone(),
            allowed_domains: p.allowed_domains.clone(),
            hosted_domain: p.hosted_domain.clone(),
            github_orgs: p.github_orgs.clone(),
            keep_tokens: p.keep_tokens,
        };
        let mut row = build_row(&spec, mk, "config", now)
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
