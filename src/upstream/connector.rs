//! The one interface every provider kind implements: start (the authorization URL) and
//! callback (the normalised profile).

use super::config::{Kind, ProviderConfig};
use super::{
    github, oauth2_generic, oidc, UpstreamClient, UpstreamError, UpstreamProfile, UpstreamTokens,
};

/// What the start of a sign-in needs: fresh secrets made by `flow`.
#[derive(Debug, Clone)]
pub struct Start {
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What the callback brings back, with the secrets remembered from the start.
#[derive(Debug, Clone)]
pub struct Callback {
    pub redirect_uri: String,
    pub code: String,
    /// The authorization response's `iss` (RFC 9207), when the provider sent one.
    pub iss: Option<String>,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Builds the URL to send the browser to.
pub async fn authorization_url(
    cfg: &ProviderConfig,
    up: &UpstreamClient,
    start: &Start,
) -> Result<String, UpstreamError> {
    match cfg.kind() {
        Kind::Google | Kind::Oidc => oidc::start(cfg, up, start).await,
        Kind::Github => github::start(cfg, start),
        Kind::Oauth2 => oauth2_generic::start(cfg, start),
    }
}

/// Exchanges the code and returns who signed in.
pub async fn complete(
    cfg: &ProviderConfig,
    up: &UpstreamClient,
    cb: &Callback,
) -> Result<(UpstreamProfile, UpstreamTokens), UpstreamError> {
    let http = &up.http;
    let (mut profile, tokens) = match cfg.kind() {
        Kind::Google | Kind::Oidc => oidc::callback(cfg, up, cb).await?,
        Kind::Github => github::callback(cfg, http, cb).await?,
        Kind::Oauth2 => oauth2_generic::callback(cfg, http, cb).await?,
    };
    if profile.subject.is_empty() || profile.subject.len() > 255 {
        return Err(UpstreamError::Invalid(
            cfg.display_name.clone(),
            "unusable subject".into(),
        ));
    }
    profile.email = profile
        .email
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    cfg.check_restrictions(&profile)?;
    Ok((profile, tokens))
}
