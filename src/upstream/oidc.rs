//! Google and any OpenID Connect issuer, through the `openidconnect` crate: discovery (cached,
//! see `discovery`), the authorization response's `iss` (RFC 9207), code exchange with PKCE, and
//! full ID token validation (JWKS signature, issuer, audience, expiry, nonce).

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenClaims, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse, UserInfoError,
};

use super::bounded::{Bounded, ReadFailed};
use super::config::{ProviderConfig, ProviderSpec};
use super::connector::{Callback, Start};
use super::discovery::{DiscoveryFailed, Refresh, UpstreamMetadata};
use super::{UpstreamClient, UpstreamError, UpstreamProfile, UpstreamTokens};

type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The provider's discovery document (cached), or why it cannot be used.
async fn metadata(
    cfg: &ProviderConfig,
    up: &UpstreamClient,
    refresh: Refresh,
) -> Result<UpstreamMetadata, UpstreamError> {
    let name = cfg.display_name.clone();
    let issuer = IssuerUrl::new(cfg.spec.issuer().unwrap_or_default().to_string())
        .map_err(|_| UpstreamError::Invalid(name.clone(), "bad issuer URL".into()))?;
    up.discovery
        .metadata(&cfg.slug, &issuer, &up.http, refresh)
        .await
        .map_err(|e| {
            tracing::warn!(provider = %cfg.slug, error = %e, "upstream discovery failed");
            match e {
                DiscoveryFailed::Failed(failure) => UpstreamError::from_failure(&name, failure),
                DiscoveryFailed::Unusable(detail) => UpstreamError::Misconfigured(name, detail),
            }
        })
}

fn client(
    cfg: &ProviderConfig,
    meta: UpstreamMetadata,
    redirect_uri: &str,
) -> Result<OidcClient, UpstreamError> {
    let redirect = RedirectUrl::new(redirect_uri.to_string())
        .map_err(|_| UpstreamError::Invalid(cfg.display_name.clone(), "bad redirect URI".into()))?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(cfg.client_id.clone()),
        Some(ClientSecret::new(cfg.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// RFC 9207 §2.4: an `iss` in the authorization response must be the issuer the request went
/// to, and one that promised `iss` (`authorization_response_iss_parameter_supported`) must send
/// it. Checked before the code goes anywhere, so a mix-up never sends another issuer's code to
/// this provider's token endpoint.
pub fn check_response_issuer(
    issuer: &str,
    advertised: bool,
    iss: Option<&str>,
) -> Result<(), &'static str> {
    match iss {
        Some(got) if got == issuer => Ok(()),
        Some(_) => Err("the authorization response came from another issuer"),
        None if advertised => Err("the authorization response lacks its issuer"),
        None => Ok(()),
    }
}

pub async fn start(
    cfg: &ProviderConfig,
    up: &UpstreamClient,
    start: &Start,
) -> Result<String, UpstreamError> {
    let meta = metadata(cfg, up, Refresh::IfExpired).await?;
    let client = client(cfg, meta, &start.redirect_uri)?;
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
    let meta = metadata(cfg, up, Refresh::IfExpired).await?;
    check_response_issuer(
        meta.issuer().as_str(),
        meta.additional_metadata().advertised(),
        cb.iss.as_deref(),
    )
    .map_err(|why| UpstreamError::Invalid(name.clone(), why.into()))?;
    let mut client = client(cfg, meta, &cb.redirect_uri)?;
    let token = client
        .exchange_code(AuthorizationCode::new(cb.code.clone()))
        .map_err(|_| UpstreamError::Invalid(name.clone(), "no token endpoint".into()))?
        .set_pkce_verifier(PkceCodeVerifier::new(cb.pkce_verifier.clone()))
        .request_async(&Bounded(http))
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => {
                UpstreamError::ProviderError(name.clone(), r.error().to_string())
            }
            other => super::oauth2_generic::token_failure(cfg, other),
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
            let meta = metadata(cfg, up, Refresh::Now).await?;
            client = self::client(cfg, meta, &cb.redirect_uri)?;
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
            match req
                .request_async::<_, _, CoreGenderClaim>(&Bounded(http))
                .await
            {
                Ok(info) => {
                    let info: CoreUserInfoClaims = info;
                    profile.email = info.email().map(|e| e.to_string());
                    profile.email_verified = info.email_verified().unwrap_or(false);
                    if profile.name.is_none() {
                        profile.name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string());
                    }
                }
                // Userinfo is a best effort (the ID token already said who it is), but an
                // oversized answer is a provider fault worth a clear page.
                Err(UserInfoError::Request(ReadFailed::TooLarge)) => {
                    return Err(UpstreamError::TooLarge(name))
                }
                Err(_) => {}
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

#[cfg(test)]
mod tests {
    use super::check_response_issuer;

    const ISSUER: &str = "https://op.example";

    #[test]
    fn a_matching_iss_is_accepted_whether_advertised_or_not() {
        assert_eq!(check_response_issuer(ISSUER, true, Some(ISSUER)), Ok(()));
        assert_eq!(check_response_issuer(ISSUER, false, Some(ISSUER)), Ok(()));
    }

    #[test]
    fn another_issuers_iss_is_refused_even_when_not_advertised() {
        for advertised in [true, false] {
            assert!(
                check_response_issuer(ISSUER, advertised, Some("https://evil.example")).is_err()
            );
            assert!(
                check_response_issuer(ISSUER, advertised, Some("https://op.example/")).is_err()
            );
            assert!(check_response_issuer(ISSUER, advertised, Some("")).is_err());
        }
    }

    #[test]
    fn a_missing_iss_is_refused_only_when_the_provider_promised_it() {
        assert!(check_response_issuer(ISSUER, true, None).is_err());
        assert_eq!(check_response_issuer(ISSUER, false, None), Ok(()));
    }
}
