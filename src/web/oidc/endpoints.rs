//! Discovery, JWKS, token, UserInfo, revocation and introspection.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::{form_pairs, no_store_json, oauth_error};
use crate::error::AppError;
use crate::identity::now;
use crate::oidc::clients::{self, ClientCredentials};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::introspect;
use crate::oidc::token;
use crate::oidc::userinfo;
use crate::web::AppState;

pub async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(state.provider.metadata_json.clone())
}

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/jwk-set+json")
        .body(state.provider.keys.current().jwks_json().to_string())
}

/// The body's parameters, refusing repeats (RFC 6749 §3.2).
fn unique_params(req: &HttpRequest, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut params = HashMap::new();
    for (k, v) in form_pairs(req, body)? {
        if params.insert(k.clone(), v).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {k} is repeated"
            )));
        }
    }
    params.retain(|_, v| !v.is_empty());
    Ok(params)
}

fn credentials(
    req: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<(ClientCredentials, bool), OAuthError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let basic = ClientCredentials::parse_basic(header)?;
    let tried_basic = basic.is_some();
    Ok((
        ClientCredentials {
            basic,
            client_id: params.get("client_id").cloned(),
            client_secret: params.get("client_secret").cloned(),
        },
        tried_basic,
    ))
}

fn tried_basic(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("basic "))
}

pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let basic_attempted = tried_basic(&req);
    let params = match unique_params(&req, &body) {
        Ok(p) => p,
        Err(e) => return Ok(oauth_error(&e, basic_attempted)),
    };
    let (creds, basic) = match credentials(&req, &params) {
        Ok(c) => c,
        Err(e) => return Ok(oauth_error(&e, basic_attempted)),
    };
    let provider = state.provider.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let keys = provider.keys.current();
            let grant_type = params.get("grant_type").map(String::as_str);
            let public_ok = grant_type != Some("client_credentials");
            let client = match clients::authenticate(conn, &creds, public_ok) {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let get = |k: &str| params.get(k).map(String::as_str);
            let now = now();
            match grant_type {
                Some("authorization_code") => match get("code") {
                    Some(code) => token::exchange_code(
                        conn,
                        &provider,
                        &keys,
                        &client,
                        code,
                        get("redirect_uri"),
                        get("code_verifier"),
                        now,
                    ),
                    None => Ok(Err(OAuthError::invalid_request("code is required"))),
                },
                Some("refresh_token") => match get("refresh_token") {
                    Some(rt) => {
                        token::refresh(conn, &provider, &keys, &client, rt, get("scope"), now)
                    }
                    None => Ok(Err(OAuthError::invalid_request(
                        "refresh_token is required",
                    ))),
                },
                Some("client_credentials") => {
                    token::client_credentials(&provider, &keys, &client, get("scope"), now)
                }
                Some(_) => Ok(Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    "unsupported grant_type",
                ))),
                None => Ok(Err(OAuthError::invalid_request("grant_type is required"))),
            }
        })
        .await?;
    Ok(match outcome {
        Ok(response) => no_store_json(StatusCode::OK, &response),
        Err(e) => oauth_error(&e, basic),
    })
}

/// RFC 6750 §3: a challenge, with the error when a token was presented.
fn bearer_error(status: StatusCode, error: Option<&OAuthError>) -> HttpResponse {
    let challenge = match error {
        Some(e) => format!(
            "Bearer realm=\"portcullis\", error=\"{}\", error_description=\"{}\"",
            e.error.as_str(),
            e.error_description.replace(['"', '\\'], "")
        ),
        None => "Bearer realm=\"portcullis\"".to_string(),
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match error {
        Some(e) => res.json(e),
        None => res.finish(),
    }
}

/// UserInfo (OIDC Core §5.3): GET or POST, token in the Authorization header or a form body.
pub async fn userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let header_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    let body_token = if req.method() == actix_web::http::Method::POST && !body.is_empty() {
        match form_pairs(&req, &body) {
            Ok(pairs) => pairs
                .into_iter()
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v),
            Err(e) => return Ok(bearer_error(StatusCode::BAD_REQUEST, Some(&e))),
        }
    } else {
        None
    };
    let token = match (header_token, body_token) {
        (Some(_), Some(_)) => {
            let e = OAuthError::invalid_request("send the token in one place only");
            return Ok(bearer_error(StatusCode::BAD_REQUEST, Some(&e)));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Ok(bearer_error(StatusCode::UNAUTHORIZED, None)),
    };
    let provider = state.provider.clone();
    let checked = userinfo::check_signature(&provider.keys, &provider.issuer, &token);
    if matches!(checked, userinfo::Checked::Invalid) {
        return Ok(invalid_token());
    }
    let claims = state
        .db
        .run(move |conn| {
            userinfo::claims_for(conn, &provider.keys, &provider.issuer, &token, checked)
        })
        .await?;
    Ok(match claims {
        Some(c) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(c),
        None => invalid_token(),
    })
}

fn invalid_token() -> HttpResponse {
    bearer_error(
        StatusCode::UNAUTHORIZED,
        Some(&OAuthError::invalid_token(
            "the access token is invalid, expired or revoked",
        )),
    )
}

/// Shared by revocation and introspection: authenticated client plus the `token` parameter.
async fn with_client_and_token<T: Send + 'static>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: &[u8],
    allow_public: bool,
    f: impl FnOnce(
            &mut crate::db::DbConnection,
            &crate::oidc::Provider,
            &clients::Client,
            &str,
        ) -> Result<T, AppError>
        + Send
        + 'static,
) -> Result<Result<T, (OAuthError, bool)>, AppError> {
    let basic_attempted = tried_basic(req);
    let params = match unique_params(req, body) {
        Ok(p) => p,
        Err(e) => return Ok(Err((e, basic_attempted))),
    };
    let (creds, basic) = match credentials(req, &params) {
        Ok(c) => c,
        Err(e) => return Ok(Err((e, basic_attempted))),
    };
    let provider = state.provider.clone();
    state
        .db
        .run(move |conn| {
            let client = match clients::authenticate(conn, &creds, allow_public) {
                Ok(c) => c,
                Err(e) => return Ok(Err((e, basic))),
            };
            let Some(token) = params.get("token") else {
                return Ok(Err((
                    OAuthError::invalid_request("token is required"),
                    basic,
                )));
            };
            Ok(Ok(f(conn, &provider, &client, token)?))
        })
        .await
}

/// RFC 7009. Public clients may revoke their own tokens.
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let outcome = with_client_and_token(
        &state,
        &req,
        &body,
        true,
        |conn, provider, client, token| {
            introspect::revoke(conn, &provider.keys, &provider.issuer, client, token, now())
        },
    )
    .await?;
    Ok(match outcome {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err((e, basic)) => oauth_error(&e, basic),
    })
}

/// RFC 7662, for authenticated (confidential) clients only.
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let outcome = with_client_and_token(
        &state,
        &req,
        &body,
        false,
        |conn, provider, client, token| {
            introspect::introspect(conn, &provider.keys, &provider.issuer, client, token, now())
        },
    )
    .await?;
    Ok(match outcome {
        Ok(v) => no_store_json(StatusCode::OK, &v),
        Err((e, basic)) => oauth_error(&e, basic),
    })
}
