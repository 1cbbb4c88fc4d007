//! Any OAuth 2.0 provider: code exchange with PKCE, then the configured userinfo URL, read
//! through the configured claim mapping.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;

use super::bounded::{self, Bounded};
use super::config::{ClaimMapping, ProviderConfig, ProviderSpec};
use super::connector::{Callback, Start};
use super::failure;
use super::{UpstreamError, UpstreamProfile, UpstreamTokens};

type Oauth2Client = oauth2::Client<
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

/// The endpoints of a plain OAuth 2.0 code flow (GitHub's are fixed, others configured).
pub(super) struct Endpoints {
    pub authorize: String,
    pub token: String,
}

fn client(
    cfg: &ProviderConfig,
    endpoints: &Endpoints,
    redirect_uri: &str,
) -> Result<Oauth2Client, UpstreamError> {
    let bad = |what: &str| UpstreamError::Invalid(cfg.display_name.clone(), what.into());
    Ok(BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_client_secret(ClientSecret::new(cfg.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(endpoints.authorize.clone()).map_err(|_| bad("authorize URL"))?)
        .set_token_uri(TokenUrl::new(endpoints.token.clone()).map_err(|_| bad("token URL"))?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.into()).map_err(|_| bad("redirect URI"))?))
}

/// The authorization URL with `state` and PKCE (S256).
pub(super) fn authorization_url(
    cfg: &ProviderConfig,
    endpoints: &Endpoints,
    start: &Start,
    scopes: &[String],
) -> Result<String, UpstreamError> {
    let client = client(cfg, endpoints, &start.redirect_uri)?;
    let state = start.state.clone();
    let mut req = client
        .authorize_url(move || CsrfToken::new(state))
        .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(
            &PkceCodeVerifier::new(start.pkce_verifier.clone()),
        ));
    for s in scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    Ok(req.url().0.to_string())
}

/// Exchanges the code (with the PKCE verifier) for the provider's tokens.
pub(super) async fn exchange(
    cfg: &ProviderConfig,
    endpoints: &Endpoints,
    http: &reqwest::Client,
    cb: &Callback,
) -> Result<UpstreamTokens, UpstreamError> {
    let name = cfg.display_name.clone();
    let token = client(cfg, endpoints, &cb.redirect_uri)?
        .exchange_code(AuthorizationCode::new(cb.code.clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(cb.pkce_verifier.clone()))
        .request_async(&Bounded(http))
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => {
                UpstreamError::ProviderError(name.clone(), r.error().to_string())
            }
            other => token_failure(cfg, other),
        })?;
    Ok(UpstreamTokens {
        access_token: Some(token.access_token().secret().clone()),
        refresh_token: token.refresh_token().map(|r| r.secret().clone()),
        id_token: None,
        expires_in_secs: token
            .expires_in()
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
    })
}

/// What the failure page names the userinfo endpoint.
const USERINFO: &str = "userinfo endpoint";
/// What the failure page names the token endpoint.
pub const TOKEN_ENDPOINT: &str = "token endpoint";

/// A token request that failed without an OAuth error answer: no answer, an error status, or an
/// answer that is not a token response. The client secret went with the request, so it is cut
/// out of whatever the provider echoed.
pub(super) fn token_failure<E: oauth2::ErrorResponse + 'static>(
    cfg: &ProviderConfig,
    e: RequestTokenError<bounded::ReadFailed, E>,
) -> UpstreamError {
    let name = cfg.display_name.as_str();
    let failure = match e {
        RequestTokenError::Request(e) => e.failure(TOKEN_ENDPOINT),
        RequestTokenError::Parse(e, _) => {
            super::failure::json(TOKEN_ENDPOINT, e.inner(), Some(e.path().to_string()))
        }
        RequestTokenError::ServerResponse(e) => {
            return UpstreamError::ProviderError(name.into(), e.to_string())
        }
        RequestTokenError::Other(detail) => super::failure::Failure::Other {
            endpoint: TOKEN_ENDPOINT.into(),
            detail,
        },
    };
    UpstreamError::from_failure(name, failure.redact(&cfg.client_secret))
}

/// The OAuth 2.0 parts of the spec: endpoints, userinfo URL, claim mapping.
fn oauth2(cfg: &ProviderConfig) -> Result<(Endpoints, &str, &ClaimMapping), UpstreamError> {
    match &cfg.spec {
        ProviderSpec::Oauth2 {
            authorize_url,
            token_url,
            userinfo_url,
            claims,
        } => Ok((
            Endpoints {
                authorize: authorize_url.clone(),
                token: token_url.clone(),
            },
            userinfo_url,
            claims,
        )),
        _ => Err(UpstreamError::Invalid(
            cfg.display_name.clone(),
            "not an OAuth 2.0 provider".into(),
        )),
    }
}

fn endpoints(cfg: &ProviderConfig) -> Result<Endpoints, UpstreamError> {
    Ok(oauth2(cfg)?.0)
}

pub fn start(cfg: &ProviderConfig, start: &Start) -> Result<String, UpstreamError> {
    authorization_url(cfg, &endpoints(cfg)?, start, &cfg.scopes)
}

/// `a.b.c` into nested objects.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

fn as_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a profile out of userinfo JSON through the mapping. "Email verified" is the JSON
/// boolean `true` and nothing else: a string `"true"` is what a provider echoing user-editable
/// profile fields would send, and a verified email is what automatic linking trusts.
pub fn map_profile(json: &Value, m: &ClaimMapping) -> Option<UpstreamProfile> {
    let verified = m
        .email_verified
        .as_deref()
        .is_some_and(|path| matches!(lookup(json, path), Some(Value::Bool(true))));
    Some(UpstreamProfile {
        subject: as_text(lookup(json, &m.subject))?,
        email: as_text(lookup(json, &m.email)),
        email_verified: verified,
        name: as_text(lookup(json, &m.name)),
        picture: as_text(lookup(json, &m.picture)),
        hosted_domain: None,
    })
}

pub async fn callback(
    cfg: &ProviderConfig,
    http: &reqwest::Client,
    cb: &Callback,
) -> Result<(UpstreamProfile, UpstreamTokens), UpstreamError> {
    let name = cfg.display_name.clone();
    let (endpoints, url, claims) = oauth2(cfg)?;
    let tokens = exchange(cfg, &endpoints, http, cb).await?;
    let access = tokens.access_token.as_deref().unwrap_or_default();
    let res = http
        .get(url)
        .bearer_auth(access)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| UpstreamError::from_failure(&name, failure::classify(&e, USERINFO)))?;
    let json: Value = bounded::json_answer(res, USERINFO, access)
        .await
        .map_err(|f| UpstreamError::from_failure(&name, f))?;
    let profile = map_profile(&json, claims)
        .ok_or_else(|| UpstreamError::Invalid(name.clone(), "no subject in userinfo".into()))?;
    Ok((profile, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_found_by_path_and_numbers_become_text() {
        let json = serde_json::json!({ "data": { "id": 42, "mail": "a@b.c", "ok": true }, "display": "Ada" });
        let m = ClaimMapping {
            subject: "data.id".into(),
            email: "data.mail".into(),
            email_verified: Some("data.ok".into()),
            name: "display".into(),
            picture: "avatar".into(),
        };
        let p = map_profile(&json, &m).unwrap();
        assert_eq!(p.subject, "42");
        assert_eq!(p.email.as_deref(), Some("a@b.c"));
        assert!(p.email_verified);
        assert_eq!(p.name.as_deref(), Some("Ada"));
        assert!(p.picture.is_none());
        assert!(map_profile(&serde_json::json!({}), &m).is_none());
    }

    #[test]
    fn email_verified_is_the_boolean_true_only() {
        let m = ClaimMapping {
            subject: "id".into(),
            email: "mail".into(),
            email_verified: Some("ok".into()),
            name: "name".into(),
            picture: "avatar".into(),
        };
        let verified = |ok: Value| {
            map_profile(
                &serde_json::json!({ "id": 1, "mail": "a@b.c", "ok": ok }),
                &m,
            )
            .unwrap()
            .email_verified
        };
        assert!(verified(Value::Bool(true)));
        for not in [
            serde_json::json!("true"),
            serde_json::json!("TRUE"),
            serde_json::json!(1),
            serde_json::json!(false),
            serde_json::json!(["true"]),
            Value::Null,
        ] {
            assert!(!verified(not.clone()), "{not} is not a verified email");
        }
        let unmapped = ClaimMapping {
            email_verified: None,
            ..m.clone()
        };
        let p = map_profile(&serde_json::json!({ "id": 1, "ok": true }), &unmapped).unwrap();
        assert!(!p.email_verified, "no mapping: never verified");
    }
}
