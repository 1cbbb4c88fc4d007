//! GitHub through `oauth2` + `reqwest`: the code exchange, then `/user` for the identity and
//! `/user/emails` for the primary verified address (and `/user/orgs` when restricted).

use serde::Deserialize;

use super::bounded;
use super::config::{ProviderConfig, ProviderSpec, GITHUB_API, GITHUB_WEB};
use super::connector::{Callback, Start};
use super::failure;
use super::oauth2_generic::{self, Endpoints};
use super::{UpstreamError, UpstreamProfile, UpstreamTokens};

/// The GitHub parts of the spec: web base, API base, organisations (empty: anyone).
fn github(cfg: &ProviderConfig) -> (&str, &str, &[String]) {
    match &cfg.spec {
        ProviderSpec::Github {
            web_base,
            api_base,
            orgs,
        } => (
            web_base
                .as_deref()
                .unwrap_or(GITHUB_WEB)
                .trim_end_matches('/'),
            api_base
                .as_deref()
                .unwrap_or(GITHUB_API)
                .trim_end_matches('/'),
            orgs,
        ),
        // Only GitHub providers reach this module; the defaults keep it total.
        _ => (GITHUB_WEB, GITHUB_API, &[]),
    }
}

fn web_base(cfg: &ProviderConfig) -> &str {
    github(cfg).0
}

fn api_base(cfg: &ProviderConfig) -> &str {
    github(cfg).1
}

fn orgs(cfg: &ProviderConfig) -> &[String] {
    github(cfg).2
}

fn endpoints(cfg: &ProviderConfig) -> Endpoints {
    let web = web_base(cfg);
    Endpoints {
        authorize: format!("{web}/login/oauth/authorize"),
        token: format!("{web}/login/oauth/access_token"),
    }
}

pub fn scopes(cfg: &ProviderConfig) -> Vec<String> {
    let mut s = if cfg.scopes.is_empty() {
        vec!["read:user".to_string(), "user:email".to_string()]
    } else {
        cfg.scopes.clone()
    };
    if !orgs(cfg).is_empty() && !s.iter().any(|x| x == "read:org") {
        s.push("read:org".into());
    }
    s
}

pub fn start(cfg: &ProviderConfig, start: &Start) -> Result<String, UpstreamError> {
    oauth2_generic::authorization_url(cfg, &endpoints(cfg), start, &scopes(cfg))
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

#[derive(Deserialize)]
struct GithubOrg {
    login: String,
}

async fn api_get<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    path: &str,
    token: &str,
) -> Result<T, UpstreamError> {
    let name = cfg.display_name.clone();
    let res = http
        .get(format!("{}{path}", api_base(cfg)))
        .bearer_auth(token)
        .header("Accept", "application/vnd.github+json")
        .header("User-Agent", "portcullis")
        .send()
        .await
        .map_err(|e| UpstreamError::from_failure(&name, failure::classify(&e, path)))?;
    bounded::json_answer::<T>(res, path, token)
        .await
        .map_err(|f| UpstreamError::from_failure(&name, f))
}

pub async fn callback(
    cfg: &ProviderConfig,
    http: &reqwest::Client,
    cb: &Callback,
) -> Result<(UpstreamProfile, UpstreamTokens), UpstreamError> {
    let name = cfg.display_name.clone();
    let tokens = oauth2_generic::exchange(cfg, &endpoints(cfg), http, cb).await?;
    let access = tokens.access_token.clone().unwrap_or_default();
    let user: GithubUser = api_get(http, cfg, "/user", &access).await?;
    let emails: Vec<GithubEmail> = api_get(http, cfg, "/user/emails", &access).await?;
    let primary = emails
        .into_iter()
        .find(|e| e.primary && e.verified)
        .ok_or_else(|| UpstreamError::NoEmail(name.clone()))?;
    let wanted = orgs(cfg);
    if !wanted.is_empty() {
        let member_of: Vec<GithubOrg> = api_get(http, cfg, "/user/orgs", &access).await?;
        if !member_of
            .iter()
            .any(|o| wanted.iter().any(|w| w.eq_ignore_ascii_case(&o.login)))
        {
            return Err(UpstreamError::Restricted {
                provider: name.clone(),
                to: super::Restriction::Orgs(wanted.join(", ")),
            });
        }
    }
    let profile = UpstreamProfile {
        subject: user.id.to_string(),
        email: Some(primary.email),
        email_verified: true,
        name: Some(user.name.filter(|n| !n.is_empty()).unwrap_or(user.login)),
        picture: user.avatar_url,
        hosted_domain: None,
    };
    Ok((profile, tokens))
}
