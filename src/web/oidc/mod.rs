//! HTTP edge of the OpenID Provider: JSON endpoints with CORS, and the authorization and
//! end-session pages. Protocol decisions live in `crate::oidc`.

pub mod authorize;
pub mod endpoints;
pub mod logout;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, Error, HttpResponse};

use crate::oidc::discovery::*;
use crate::oidc::error::{ErrorCode, OAuthError};

/// JSON endpoints, each open to browser apps (CORS without credentials: tokens, not cookies,
/// authorise these calls).
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/openid-configuration")
            .wrap(from_fn(cors))
            .route(web::get().to(endpoints::discovery)),
    )
    .service(
        web::resource("/.well-known/oauth-authorization-server")
            .wrap(from_fn(cors))
            .route(web::get().to(endpoints::discovery)),
    )
    .service(
        web::resource(JWKS_PATH)
            .wrap(from_fn(cors))
            .route(web::get().to(endpoints::jwks)),
    )
    .service(
        web::resource(TOKEN_PATH)
            .wrap(from_fn(cors))
            .route(web::post().to(endpoints::token)),
    )
    .service(
        web::resource(USERINFO_PATH)
            .wrap(from_fn(cors))
            .route(web::get().to(endpoints::userinfo))
            .route(web::post().to(endpoints::userinfo)),
    )
    .service(
        web::resource(REVOKE_PATH)
            .wrap(from_fn(cors))
            .route(web::post().to(endpoints::revoke)),
    )
    .service(web::resource(INTROSPECT_PATH).route(web::post().to(endpoints::introspect)));
}

/// Browser-facing protocol pages (they share the CSRF cookie with the other pages).
pub fn page_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(AUTHORIZE_PATH, web::get().to(authorize::authorize_get))
        .route(AUTHORIZE_PATH, web::post().to(authorize::authorize_post))
        .route("/authorize/continue", web::get().to(authorize::resume))
        .route("/authorize/consent", web::post().to(authorize::consent))
        .route(END_SESSION_PATH, web::get().to(logout::end_session_get))
        .route(END_SESSION_PATH, web::post().to(logout::end_session_post))
        .route("/end_session/confirm", web::post().to(logout::confirm));
}

async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let has_origin = req.headers().contains_key(header::ORIGIN);
    if req.method() == Method::OPTIONS {
        let res = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
            .finish();
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    if has_origin {
        res.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
    }
    Ok(res)
}

/// A JSON answer that must not be cached (token responses, RFC 6749 §5.1).
pub fn no_store_json(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// RFC 6749 §5.2 error JSON. A failed client authentication is 401, with a challenge when the
/// client tried HTTP Basic; a server failure is logged here and told as `server_error`.
pub fn oauth_error(err: &OAuthError, tried_basic: bool) -> HttpResponse {
    let status = match err {
        OAuthError::Server(cause) => {
            if err.is_database_refusal() {
                tracing::warn!(error = %cause, "protocol request refused by the database");
            } else {
                tracing::error!(error = %cause, "protocol request failed");
            }
            actix_web::ResponseError::status_code(cause)
        }
        OAuthError::Refused {
            code: ErrorCode::InvalidClient,
            ..
        } => StatusCode::UNAUTHORIZED,
        OAuthError::Refused { .. } => StatusCode::BAD_REQUEST,
    };
    let mut res = no_store_json(status, err);
    if err.code() == ErrorCode::InvalidClient && tried_basic {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"portcullis\""),
        );
    }
    res
}

/// Parses an `application/x-www-form-urlencoded` body into pairs; `Err` names the problem.
pub fn form_pairs(
    req: &actix_web::HttpRequest,
    body: &[u8],
) -> Result<Vec<(String, String)>, OAuthError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ct
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if std::str::from_utf8(body).is_err() {
        return Err(OAuthError::invalid_request("the body is not UTF-8"));
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}
