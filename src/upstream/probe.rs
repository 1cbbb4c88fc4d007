//! `portcullis provider test SLUG`: asks a configured provider everything a sign-in will ask,
//! without a person, and reports each step with what precisely failed.
//!
//! - OpenID Connect (Google, any issuer): the discovery document (the fields a sign-in uses,
//!   each named when missing), the JWKS it names, then the token endpoint.
//! - GitHub and OAuth 2.0: the authorization endpoint answers, the token endpoint answers an
//!   invalid code with an OAuth error (RFC 6749 §5.2: which proves it is a token endpoint, and
//!   `invalid_client` that the client credentials are wrong), the API / userinfo endpoint
//!   answers.
//!
//! Nothing in the report carries the client secret or a token.

use serde::Serialize;
use serde_json::Value;

use super::bounded::{self, ReadFailed};
use super::config::{Kind, ProviderConfig, ProviderSpec, GITHUB_API, GITHUB_WEB};
use super::discovery::{DISCOVERY_DOCUMENT, JWKS};
use super::failure::{self, Failure};
use super::oauth2_generic::TOKEN_ENDPOINT;

/// The code sent to the token endpoint: no provider issued it, so a working one refuses it.
const PROBE_CODE: &str = "portcullis-provider-test";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub provider: String,
    pub kind: Kind,
    /// Every step passed.
    pub ok: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What was checked: `discovery`, `jwks`, `authorization_endpoint`, `token_endpoint`,
    /// `userinfo_endpoint`, `api`.
    pub name: &'static str,
    pub url: String,
    pub ok: bool,
    /// The failure or what was found, in one line.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

impl Step {
    fn passed(name: &'static str, url: &str, message: impl Into<String>) -> Step {
        Step {
            name,
            url: url.to_string(),
            ok: true,
            message: message.into(),
            failure: None,
        }
    }

    fn failed(name: &'static str, url: &str, failure: Failure) -> Step {
        Step {
            name,
            url: url.to_string(),
            ok: false,
            message: failure.to_string(),
            failure: Some(failure),
        }
    }

    fn of(name: &'static str, url: &str, checked: Result<String, Failure>) -> Step {
        match checked {
            Ok(found) => Step::passed(name, url, found),
            Err(f) => Step::failed(name, url, f),
        }
    }
}

/// Tests `cfg` with `http` (the server's upstream client: same timeout, no redirects);
/// `redirect_uri` is the provider's callback URL here, sent with the probing token request.
pub async fn test(cfg: &ProviderConfig, http: &reqwest::Client, redirect_uri: &str) -> Report {
    let steps = match &cfg.spec {
        ProviderSpec::Google { .. } | ProviderSpec::Oidc { .. } => {
            oidc_steps(cfg, http, redirect_uri).await
        }
        ProviderSpec::Github {
            web_base, api_base, ..
        } => {
            let web = web_base
                .as_deref()
                .unwrap_or(GITHUB_WEB)
                .trim_end_matches('/');
            let api = api_base
                .as_deref()
                .unwrap_or(GITHUB_API)
                .trim_end_matches('/');
            let mut steps = vec![
                reachable(
                    http,
                    "authorization_endpoint",
                    "authorization endpoint",
                    &format!("{web}/login/oauth/authorize"),
                )
                .await,
                token_step(
                    cfg,
                    http,
                    &format!("{web}/login/oauth/access_token"),
                    redirect_uri,
                )
                .await,
            ];
            steps.push(reachable_json(http, "api", "/user", &format!("{api}/user")).await);
            steps
        }
        ProviderSpec::Oauth2 {
            authorize_url,
            token_url,
            userinfo_url,
            ..
        } => vec![
            reachable(
                http,
                "authorization_endpoint",
                "authorization endpoint",
                authorize_url,
            )
            .await,
            token_step(cfg, http, token_url, redirect_uri).await,
            reachable(http, "userinfo_endpoint", "userinfo endpoint", userinfo_url).await,
        ],
    };
    Report {
        provider: cfg.slug.clone(),
        kind: cfg.kind(),
        ok: steps.iter().all(|s| s.ok),
        steps,
    }
}

/// Discovery, JWKS, token endpoint; a step that fails stops the ones that depend on it.
async fn oidc_steps(cfg: &ProviderConfig, http: &reqwest::Client, redirect_uri: &str) -> Vec<Step> {
    let issuer = cfg.spec.issuer().unwrap_or_default().trim_end_matches('/');
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc = match get_json(http, DISCOVERY_DOCUMENT, &url).await {
        Ok(doc) => doc,
        Err(f) => return vec![Step::failed("discovery", &url, f)],
    };
    let endpoints = match check_discovery(&doc, issuer) {
        Ok(endpoints) => endpoints,
        Err(f) => return vec![Step::failed("discovery", &url, f)],
    };
    let mut steps = vec![Step::passed("discovery", &url, format!("issuer {issuer}"))];
    let jwks = match get_json(http, JWKS, &endpoints.jwks_uri).await {
        Ok(jwks) => check_jwks(&jwks),
        Err(f) => Err(f),
    };
    steps.push(Step::of("jwks", &endpoints.jwks_uri, jwks));
    steps.push(token_step(cfg, http, &endpoints.token_endpoint, redirect_uri).await);
    steps
}

/// The endpoints a sign-in takes from a discovery document.
struct Endpoints {
    jwks_uri: String,
    token_endpoint: String,
}

/// The fields of the discovery document (OpenID Connect Discovery 1.0 §3) a sign-in relies on:
/// present, of the right type, web URLs, and the issuer the one configured (§4.3).
fn check_discovery(doc: &Value, issuer: &str) -> Result<Endpoints, Failure> {
    let endpoint = DISCOVERY_DOCUMENT.to_string();
    let missing = |field: &str| Failure::MissingField {
        endpoint: endpoint.clone(),
        field: field.into(),
    };
    let invalid = |field: &str, detail: String| Failure::InvalidField {
        endpoint: endpoint.clone(),
        field: field.into(),
        detail,
    };
    if !doc.is_object() {
        return Err(Failure::NotJson {
            endpoint: endpoint.clone(),
            detail: "not a JSON object".into(),
        });
    }
    let text = |field: &str| -> Result<String, Failure> {
        match doc.get(field) {
            None | Some(Value::Null) => Err(missing(field)),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(invalid(field, format!("not a string: {other}"))),
        }
    };
    let web_url = |field: &str| -> Result<String, Failure> {
        let value = text(field)?;
        match url::Url::parse(&value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(value),
            Ok(u) => Err(invalid(
                field,
                format!("a {}: URL, not http(s)", u.scheme()),
            )),
            Err(e) => Err(invalid(field, format!("not a URL ({e})"))),
        }
    };
    let found_issuer = text("issuer")?;
    if found_issuer.trim_end_matches('/') != issuer {
        return Err(invalid(
            "issuer",
            format!("{found_issuer} is not the configured {issuer}"),
        ));
    }
    web_url("authorization_endpoint")?;
    let token_endpoint = web_url("token_endpoint")?;
    let jwks_uri = web_url("jwks_uri")?;
    for list in [
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        match doc.get(list) {
            None | Some(Value::Null) => return Err(missing(list)),
            Some(Value::Array(_)) => {}
            Some(other) => return Err(invalid(list, format!("not a list: {other}"))),
        }
    }
    // What the sign-in's own parser would refuse beyond these, named as precisely as it can.
    if let Err(e) = serde_json::from_value::<super::discovery::UpstreamMetadata>(doc.clone()) {
        return Err(failure::json(DISCOVERY_DOCUMENT, &e, None));
    }
    Ok(Endpoints {
        jwks_uri,
        token_endpoint,
    })
}

/// A JWKS (RFC 7517 §5) with at least one key, each with its `kty`.
fn check_jwks(jwks: &Value) -> Result<String, Failure> {
    let endpoint = JWKS.to_string();
    let keys = match jwks.get("keys") {
        None | Some(Value::Null) => {
            return Err(Failure::MissingField {
                endpoint,
                field: "keys".into(),
            })
        }
        Some(Value::Array(keys)) => keys,
        Some(_) => {
            return Err(Failure::InvalidField {
                endpoint,
                field: "keys".into(),
                detail: "not a list".into(),
            })
        }
    };
    if keys.is_empty() {
        return Err(Failure::InvalidField {
            endpoint,
            field: "keys".into(),
            detail: "no keys: no ID token could be verified".into(),
        });
    }
    if keys
        .iter()
        .any(|k| !k.get("kty").is_some_and(Value::is_string))
    {
        return Err(Failure::MissingField {
            endpoint,
            field: "keys[].kty".into(),
        });
    }
    Ok(format!("{} key(s)", keys.len()))
}

/// The token endpoint, asked to redeem a code it never issued, with the client's credentials:
/// an OAuth error answer proves the endpoint; `invalid_client` says the credentials are wrong.
async fn token_step(
    cfg: &ProviderConfig,
    http: &reqwest::Client,
    url: &str,
    redirect_uri: &str,
) -> Step {
    let sent = http
        .post(url)
        .basic_auth(&cfg.client_id, Some(&cfg.client_secret))
        .header("Accept", "application/json")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", PROBE_CODE),
            ("redirect_uri", redirect_uri),
            ("client_id", cfg.client_id.as_str()),
        ])
        .send()
        .await;
    let checked = match sent {
        Err(e) => Err(failure::classify(&e, TOKEN_ENDPOINT)),
        Ok(res) => oauth_error_answer(res).await,
    };
    Step::of(
        "token_endpoint",
        url,
        checked.map_err(|f| f.redact(&cfg.client_secret)),
    )
}

/// What a token endpoint answers an unknown code: RFC 6749 §5.2 (GitHub answers it with 200).
async fn oauth_error_answer(res: reqwest::Response) -> Result<String, Failure> {
    let status = res.status();
    let bytes = bounded::body(res, bounded::MAX_ANSWER_BYTES)
        .await
        .map_err(|e| e.failure(TOKEN_ENDPOINT))?;
    if status.is_server_error() {
        return Err(Failure::Status {
            endpoint: TOKEN_ENDPOINT.into(),
            status: status.as_u16(),
            excerpt: failure::excerpt(&bytes, None),
        });
    }
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
        if status.is_success() {
            failure::json(TOKEN_ENDPOINT, &e, None)
        } else {
            Failure::Status {
                endpoint: TOKEN_ENDPOINT.into(),
                status: status.as_u16(),
                excerpt: failure::excerpt(&bytes, None),
            }
        }
    })?;
    let error = match json.get("error") {
        Some(Value::String(e)) => e.clone(),
        _ => {
            return Err(Failure::MissingField {
                endpoint: TOKEN_ENDPOINT.into(),
                field: "error".into(),
            })
        }
    };
    if matches!(
        error.as_str(),
        "invalid_client" | "unauthorized_client" | "incorrect_client_credentials"
    ) {
        return Err(Failure::ClientRejected {
            endpoint: TOKEN_ENDPOINT.into(),
            error,
        });
    }
    Ok(format!(
        "answers an OAuth error for an unknown code ({error})"
    ))
}

/// Fetches `url` and reads it as JSON, each failure classified.
async fn get_json(http: &reqwest::Client, endpoint: &str, url: &str) -> Result<Value, Failure> {
    let res = http
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| failure::classify(&e, endpoint))?;
    bounded::json_answer(res, endpoint, "").await
}

/// The endpoint answers at all, with no server error (browsers are sent there: any page or
/// redirect will do).
async fn reachable(http: &reqwest::Client, name: &'static str, endpoint: &str, url: &str) -> Step {
    let checked = match http.get(url).send().await {
        Err(e) => Err(failure::classify(&e, endpoint)),
        Ok(res) if res.status().is_server_error() => Err(status_failure(res, endpoint).await),
        Ok(res) => Ok(format!("answers (HTTP {})", res.status().as_u16())),
    };
    Step::of(name, url, checked)
}

/// An API endpoint answers, without a token, with JSON (an error is expected) and no server
/// error.
async fn reachable_json(
    http: &reqwest::Client,
    name: &'static str,
    endpoint: &str,
    url: &str,
) -> Step {
    let checked = match http
        .get(url)
        .header("Accept", "application/json")
        .header("User-Agent", "portcullis")
        .send()
        .await
    {
        Err(e) => Err(failure::classify(&e, endpoint)),
        Ok(res) if res.status().is_server_error() => Err(status_failure(res, endpoint).await),
        Ok(res) => {
            let status = res.status().as_u16();
            match bounded::body(res, bounded::MAX_ANSWER_BYTES).await {
                Err(e) => Err(e.failure(endpoint)),
                Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                    Ok(_) => Ok(format!("answers JSON (HTTP {status})")),
                    Err(e) => Err(failure::json(endpoint, &e, None)),
                },
            }
        }
    };
    Step::of(name, url, checked)
}

async fn status_failure(res: reqwest::Response, endpoint: &str) -> Failure {
    let status = res.status().as_u16();
    let excerpt = match bounded::body(res, bounded::MAX_ANSWER_BYTES).await {
        Ok(bytes) => failure::excerpt(&bytes, None),
        Err(ReadFailed::TooLarge) => "(a body larger than we read)".into(),
        Err(_) => String::new(),
    };
    Failure::Status {
        endpoint: endpoint.to_string(),
        status,
        excerpt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::json!({
            "issuer": "https://op.example",
            "authorization_endpoint": "https://op.example/authorize",
            "token_endpoint": "https://op.example/token",
            "jwks_uri": "https://op.example/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }

    #[test]
    fn each_needed_discovery_field_is_named_when_missing() {
        assert!(check_discovery(&doc(), "https://op.example").is_ok());
        for field in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "response_types_supported",
            "subject_types_supported",
            "id_token_signing_alg_values_supported",
        ] {
            let mut d = doc();
            d.as_object_mut().unwrap().remove(field);
            match check_discovery(&d, "https://op.example") {
                Err(Failure::MissingField { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {:?}", other.err()),
            }
        }
    }

    #[test]
    fn another_issuer_or_a_non_web_endpoint_is_named() {
        let Err(Failure::InvalidField { field, .. }) = check_discovery(&doc(), "https://other")
        else {
            panic!("another issuer passed")
        };
        assert_eq!(field, "issuer");
        let mut d = doc();
        d["jwks_uri"] = serde_json::json!("javascript:alert(1)");
        let Err(Failure::InvalidField { field, .. }) = check_discovery(&d, "https://op.example")
        else {
            panic!("a javascript: JWKS passed")
        };
        assert_eq!(field, "jwks_uri");
    }

    #[test]
    fn a_jwks_needs_keys_with_their_type() {
        assert!(check_jwks(&serde_json::json!({"keys": [{"kty": "RSA"}]})).is_ok());
        assert!(matches!(
            check_jwks(&serde_json::json!({})),
            Err(Failure::MissingField { field, .. }) if field == "keys"
        ));
        assert!(matches!(
            check_jwks(&serde_json::json!({"keys": []})),
            Err(Failure::InvalidField { .. })
        ));
        assert!(matches!(
            check_jwks(&serde_json::json!({"keys": [{"n": "x"}]})),
            Err(Failure::MissingField { field, .. }) if field == "keys[].kty"
        ));
    }
}
