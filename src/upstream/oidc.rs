//! Google and any OpenID Connect issuer, through the `openidconnect` crate: discovery (cached,
//! see `discovery`), code exchange with PKCE, and full ID token validation (JWKS signature,
//! issuer, audience, expiry, nonce).

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenClaims, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};

use super::config::{ProviderConfig, ProviderSpec};
use super::connector::{Callback, Start};
use super::discovery::Refresh;
use super::{UpstreamClient, UpstreamError, UpstreamProfile, UpstreamTokens};

type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

async fn client(
    cfg: &ProviderConfig,
    up: &UpstreamClient,
    redirect_uri: &str,
    refresh: Refresh,
) -> Result<OidcClient, UpstreamError> {
    let name = cfg.display_name.clone();
    let issuer = IssuerUrl::new(cfg.spec.issuer().unwrap_or_default().to_string())
        .map_err(|_| UpstreamError::Invalid(name.clone(), "bad issuer URL".into()))?;
    let meta = up
        .discovery
        .metadata(&cfg.slug, &issuer, &up.http, refresh)
        .await
        .map_err(|e| {
            tracing::warn!(provider = %cfg.slug, error = %e, "upstream discovery failed");
            UpstreamError::Unreachable(name.clone())
        })?;
    let redirect = RedirectUrl::new(redirect_uri.to_string())
        .map_err(|_| UpstreamError::Invalid(name.clone(), "bad redirect URI".into()))?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(cfg.client_id.clone()),
        Some(ClientSecret::new(cfg.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

pub async fn start(
    cfg: &ProviderConfig,
    up: &UpstreamClient,
    start: &Start,
) -> Result<String, UpstreamError> {
    let client = client(cfg, up, &start.redirect_uri, Refresh::IfExpired).await?;
    let (state, nonce) = (start.state.clone(), start.nonce.clone());
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(
            &PkceCodeVerifier::new(start.pkce_verifier.clone()),
        ));
    for s in &cfg.scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    if let ProviderSpec::Google {
        hosted_domain: Some(hd),
        ..
    } = &cfg.spec
    {
        // Google's account chooser hint; the domain is still checked on the ID token's email.
        req = req.add_extra_param("hd", hd.clone());
    }
    Ok(req.url().0.to_string())
}

pub async fn callback(
    cfg: &ProviderConfig,
    up: &UpstreamClient,
    cb: &Callback,
) -> Result<(UpstreamProfile, UpstreamTokens), UpstreamError> {
    let http = &up.http;
    let name = cfg.display_name.clone();
    let mut client = client(cfg, up, &cb.redirect_uri, Refresh::IfExpired).await?;
    let token = client
        .exchange_code(AuthorizationCode::new(cb.code.clone()))
        .map_err(|_| UpstreamError::Invalid(name.clone(), "no token endpoint".into()))?
        .set_pkce_verifier(PkceCodeVerifier::new(cb.pkce_verifier.clone()))
        .request_async(http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => {
                UpstreamError::ProviderError(name.clone(), r.error().to_string())
            }
            RequestTokenError::Request(_) => UpstreamError::Unreachable(name.clone()),
            other => UpstreamError::Invalid(name.clone(), other.to_string()),
        })?;
    let id_token = token
        .id_token()
        .ok_or_else(|| UpstreamError::Invalid(name.clone(), "no ID token".into()))?;
    let nonce = Nonce::new(cb.nonce.clone());
    let verify = |client: &OidcClient| -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
        id_token
            .claims(&client.id_token_verifier(), &nonce)
            .cloned()
    };
    let claims = match verify(&client) {
        // Signed with a key the cached JWKS lacks: the issuer rotated its keys since.
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            client = self::client(cfg, up, &cb.redirect_uri, Refresh::Now).await?;
            verify(&client)
        }
        other => other,
    }
    .map_err(|e| UpstreamError::Invalid(name.clone(), e.to_string()))?;
    let mut profile = UpstreamProfile {
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        picture: claims
            .picture()
            .and_then(|p| p.get(None))
            .map(|p| p.to_string()),
        hosted_domain: hosted_domain_of(&id_token.to_string()),
    };
    // Providers that keep the email out of the ID token give it through UserInfo.
    if profile.email.is_none() {
        if let Ok(req) =
            client.user_info(token.access_token().clone(), Some(claims.subject().clone()))
        {
            if let Ok(info) = req.request_async::<_, _, CoreGenderClaim>(http).await {
                let info: CoreUserInfoClaims = info;
                profile.email = info.email().map(|e| e.to_string());
                profile.email_verified = info.email_verified().unwrap_or(false);
                if profile.name.is_none() {
                    profile.name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string());
                }
            }
        }
    }
    let tokens = UpstreamTokens {
        access_token: Some(token.access_token().secret().clone()),
        refresh_token: token.refresh_token().map(|r| r.secret().clone()),
        id_token: Some(id_token.to_string()),
        expires_in_secs: token
            .expires_in()
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
    };
    Ok((profile, tokens))
}

/// The `hd` claim of an ID token whose signature and claims were verified already (the typed
/// claims do not carry it). Google sets it for accounts a Workspace domain manages.
fn hosted_domain_of(id_token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("hd")?
        .as_str()
        .filter(|hd| !hd.is_empty())
        .map(str::to_ascii_lowercase)
}
