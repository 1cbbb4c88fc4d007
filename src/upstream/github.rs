//! GitHub through `oauth2` + `reqwest`: the code exchange, then `/user` for the identity and
//! `/user/emails` for the primary verified address (and `/user/orgs` when restricted).

use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl};
use serde::Deserialize;

use super::config::{ProviderConfig, GITHUB_API, GITHUB_WEB};
use super::connector::{Callback, Start};
use super::{UpstreamError, UpstreamProfile, UpstreamTokens};

fn web_base(cfg: &ProviderConfig) -> String {
    cfg.authorize_url.clone().unwrap_or_else(|| GITHUB_WEB.into()).trim_end_matches('/').to_string()
}

fn api_base(cfg: &ProviderConfig) -> String {
    cfg.userinfo_url.clone().unwrap_or_else(|| GITHUB_API.into()).trim_end_matches('/').to_string()
}

type GithubClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn client(cfg: &ProviderConfig, redirect_uri: &str) -> Result<GithubClient, UpstreamError> {
    let bad = |what: &str| UpstreamError::Invalid(cfg.display_name.clone(), what.into());
    let web = web_base(cfg);
    Ok(BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_client_secret(ClientSecret::new(cfg.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(format!("{web}/login/oauth/authorize")).map_err(|_| bad("authorize URL"))?)
        .set_token_uri(TokenUrl::new(format!("{web}/login/oauth/access_token")).map_err(|_| bad("token URL"))?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.into()).map_err(|_| bad("redirect URI"))?))
}

pub fn scopes(cfg: &ProviderConfig) -> Vec<String> {
    let mut s = if cfg.scopes.is_empty() { vec!["read:user".to_string(), "user:email".to_string()] } else { cfg.scopes.clone() };
    if !cfg.github_orgs.is_empty() && !s.iter().any(|x| x == "read:org") {
        s.push("read:org".into());
    }
    s
}

pub fn start(cfg: &ProviderConfig, start: &Start) -> Result<String, UpstreamError> {
    let client = client(cfg, &start.redirect_uri)?;
    let state = start.state.clone();
    let mut req = client
        .authorize_url(move || CsrfToken::new(state))
        .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(start.pkce_verifier.clone())));
    for s in scopes(cfg) {
        req = req.add_scope(Scope::new(s));
    }
    Ok(req.url().0.to_string())
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

async fn api_get<T: for<'de> Deserialize<'de>>(http: &reqwest::Client, cfg: &ProviderConfig, path: &str, token: &str) -> Result<T, UpstreamError> {
    let name = cfg.display_name.clone();
    let res = http
        .get(format!("{}{path}", api_base(cfg)))
        .bearer_auth(token)
        .header("Accept", "application/vnd.github+json")
        .header("User-Agent", "portcullis")
        .send()
        .await
        .map_err(|_| UpstreamError::Unreachable(name.clone()))?;
    if !res.status().is_success() {
        return Err(UpstreamError::ProviderError(name, format!("{path} answered {}", res.status().as_u16())));
    }
    res.json::<T>().await.map_err(|e| UpstreamError::Invalid(name, format!("{path}: {e}")))
}

pub async fn callback(cfg: &ProviderConfig, http: &reqwest::Client, cb: &Callback) -> Result<(UpstreamProfile, UpstreamTokens), UpstreamError> {
    let name = cfg.display_name.clone();
    let client = client(cfg, &cb.redirect_uri)?;
    let token = client
        .exchange_code(AuthorizationCode::new(cb.code.clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(cb.pkce_verifier.clone()))
        .request_async(http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => UpstreamError::ProviderError(name.clone(), r.error().to_string()),
            RequestTokenError::Request(_) => UpstreamError::Unreachable(name.clone()),
            other => UpstreamError::Invalid(name.clone(), other.to_string()),
        })?;
    let access = token.access_token().secret().clone();
    let user: GithubUser = api_get(http, cfg, "/user", &access).await?;
    let emails: Vec<GithubEmail> = api_get(http, cfg, "/user/emails", &access).await?;
    let primary = emails.into_iter().find(|e| e.primary && e.verified).ok_or_else(|| UpstreamError::NoEmail(name.clone()))?;
    if !cfg.github_orgs.is_empty() {
        let orgs: Vec<GithubOrg> = api_get(http, cfg, "/user/orgs", &access).await?;
        if !orgs.iter().any(|o| cfg.github_orgs.iter().any(|w| w.eq_ignore_ascii_case(&o.login))) {
            return Err(UpstreamError::Restricted(format!(
                "Sign-in with {name} is limited to members of {}.",
                cfg.github_orgs.join(", ")
            )));
        }
    }
    let profile = UpstreamProfile {
        subject: user.id.to_string(),
        email: Some(primary.email),
        email_verified: true,
        name: Some(user.name.filter(|n| !n.is_empty()).unwrap_or(user.login)),
        picture: user.avatar_url,
    };
    let tokens = UpstreamTokens {
        access_token: Some(access),
        refresh_token: token.refresh_token().map(|r| r.secret().clone()),
        id_token: None,
        expires_in_secs: token.expires_in().and_then(|d| i64::try_from(d.as_secs()).ok()),
    };
    Ok((profile, tokens))
}
