//! Discovery, JWKS, token, UserInfo, revocation and introspection.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::{form_pairs, no_store_json, oauth_error};
use crate::error::AppError;
use crate::identity::now;
use crate::identity::throttle::ThrottlePolicy;
use crate::oidc::clients::{self, ClientCredentials};
use crate::oidc::error::OAuthError;
use crate::oidc::introspect;
use crate::oidc::token::{self, TokenRequest};
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

/// The credentials a client presented: HTTP Basic, or `client_id` (and `client_secret`) in
/// the body (RFC 6749 §2.3.1).
fn credentials(
    req: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<ClientCredentials, OAuthError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(ClientCredentials {
        basic: ClientCredentials::parse_basic(header)?,
        client_id: params.get("client_id").cloned(),
        client_secret: params.get("client_secret").cloned(),
    })
}

fn tried_basic(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("basic "))
}

/// The body of a client's request to a token-style endpoint: its parameters and credentials.
fn client_request(
    req: &HttpRequest,
    body: &[u8],
) -> Result<(HashMap<String, String>, ClientCredentials), OAuthError> {
    let params = unique_params(req, body)?;
    let creds = credentials(req, &params)?;
    Ok((params, creds))
}

/// RFC 6749 §3.2: the core authenticates the client and answers the grant.
pub async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (params, creds) = match client_request(&req, &body) {
        Ok(parsed) => parsed,
        Err(e) => return oauth_error(&e, tried_basic(&req)),
    };
    let request = TokenRequest::from_form(&params);
    let grant_type = crate::metrics::grant_type_label(
        params.get("grant_type").map(String::as_str).unwrap_or(""),
    );
    let basic = creds.basic.is_some();
    let throttle = ThrottlePolicy::from(&state.settings.auth.throttle);
    match token::authenticate_and_exchange(
        &state.db,
        state.provider.clone(),
        creds,
        request,
        throttle,
    )
    .await
    {
        Ok(response) => {
            state.metrics.token_issued(grant_type);
            no_store_json(StatusCode::OK, &response)
        }
        Err(e) => oauth_error(&e, basic),
    }
}

/// RFC 6750 §3: a challenge, with the error when a token was presented.
fn bearer_error(status: StatusCode, error: Option<&OAuthError>) -> HttpResponse {
    let challenge = match error {
        Some(e) => format!(
            "Bearer realm=\"portcullis\", error=\"{}\", error_description=\"{}\"",
            e.code().as_str(),
            e.description().replace(['"', '\\'], "")
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

/// Shared by revocation and introspection: authenticates the client, then runs `f` on the
/// `token` parameter. `Err` carries whether the client tried HTTP Basic, for the challenge.
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
) -> Result<T, (OAuthError, bool)> {
    let (params, creds) = client_request(req, body).map_err(|e| (e, tried_basic(req)))?;
    let basic = creds.basic.is_some();
    let provider = state.provider.clone();
    let throttle = ThrottlePolicy::from(&state.settings.auth.throttle);
    crate::oidc::with_connection(&state.db, move |conn| {
        let client = clients::authenticate(conn, &creds, allow_public, &throttle, now())?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        Ok(f(conn, &provider, &client, token)?)
    })
    .await
    .map_err(|e| (e, basic))
}

/// RFC 7009. Public clients may revoke their own tokens.
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let outcome = with_client_and_token(
        &state,
        &req,
        &body,
        true,
        |conn, provider, client, token| {
            introspect::revoke(conn, &provider.keys, &provider.issuer, client, token, now())
        },
    )
    .await;
    match outcome {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err((e, basic)) => oauth_error(&e, basic),
    }
}

/// RFC 7662, for authenticated (confidential) clients only.
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let outcome = with_client_and_token(
        &state,
        &req,
        &body,
        false,
        |conn, provider, client, token| {
            introspect::introspect(conn, &provider.keys, &provider.issuer, client, token, now())
        },
    )
    .await;
    match outcome {
        Ok(v) => no_store_json(StatusCode::OK, &v),
        Err((e, basic)) => oauth_error(&e, basic),
    }
}
