//! Who is calling the admin side, and whether they may (issue 14, part 1).
//!
//! - The console ([`ConsoleAdmin`]) takes an admin's browser session, fresh and with its second
//!   factor when the account has one (`admin::access`); otherwise the person is sent to sign in
//!   again and comes back. Anyone else gets a plain 404, so the console's existence tells nothing.
//! - The API ([`ApiCaller`]) takes either the same session — then every state-changing call must
//!   carry the CSRF cookie's value in `X-CSRF-Token` (double submit; a cross-site page can read
//!   neither) — or `Authorization: Bearer` with an access token Portcullis issued by
//!   `client_credentials` to a client marked `admin_api`, with the `portcullis:admin` scope. The
//!   client is looked up on every call, so unmarking or deleting it cuts its tokens off at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Duration;

use super::ApiError;
use crate::admin::access::{self, AccessPolicy, Verdict};
use crate::db::models::revoked_token;
use crate::error::AppError;
use crate::identity::audit::Actor;
use crate::identity::ids::ClientId;
use crate::identity::{now, second_factor};
use crate::oidc::claims::AccessClaims;
use crate::oidc::clients::{Client, GrantType};
use crate::oidc::scope::ADMIN;
use crate::web::viewer::{SignedIn, Viewer};
use crate::web::AppState;

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>>>>;

/// The header a browser-session API call echoes the CSRF cookie in.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("application state missing".into()))
}

/// The rule of `admin::access` for a signed-in person.
async fn verdict(state: &AppState, me: &SignedIn) -> Result<Verdict, AppError> {
    let policy = AccessPolicy {
        reauthenticate_within: Duration::seconds(state.settings.admin.reauthenticate_within_secs),
    };
    if !me.user.is_admin {
        return Ok(Verdict::NotAdmin);
    }
    let uid = me.user.id.clone();
    let passkeys = state.passkeys.is_some();
    let has_second = state
        .db
        .run(move |conn| Ok(second_factor::has_any(conn, &uid, passkeys)?))
        .await?;
    Ok(access::check_person(
        &me.user,
        &me.session,
        has_second,
        policy,
        now(),
    ))
}

/// An admin using the console with their browser session.
#[derive(Debug, Clone)]
pub struct ConsoleAdmin {
    pub me: SignedIn,
    pub actor: Actor,
}

impl FromRequest for ConsoleAdmin {
    type Error = AppError;
    type Future = BoxFuture<Self, AppError>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let viewer = Viewer::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let here = match req.uri().path_and_query() {
                Some(pq) if req.method() == Method::GET => pq.as_str().to_string(),
                _ => "/admin".to_string(),
            };
            let Viewer(Some(me)) = viewer.await? else {
                return Err(AppError::LoginRequired { return_to: here });
            };
            match verdict(&state, &me).await? {
                Verdict::Allowed => Ok(ConsoleAdmin {
                    actor: Actor::Admin(me.user.id.clone()),
                    me,
                }),
                Verdict::NotAdmin => Err(AppError::NotFound),
                Verdict::SignInAgain | Verdict::SecondFactorNeeded => {
                    Err(AppError::ReauthenticationRequired { return_to: here })
                }
            }
        })
    }
}

/// A console form and the admin who posted it, checked in that order: the CSRF check first (so
/// a forged post always gets the "form expired" page, whoever is signed in), then the admin.
/// Two separate extractors would run concurrently, and either could answer first.
pub struct AdminForm<T> {
    pub admin: ConsoleAdmin,
    pub form: T,
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for AdminForm<T> {
    type Error = actix_web::Error;
    type Future = BoxFuture<Self, actix_web::Error>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let form = crate::web::csrf::CsrfForm::<T>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let form = form.await?.into_inner();
            let admin =
                ConsoleAdmin::from_request(&req, &mut actix_web::dev::Payload::None).await?;
            Ok(AdminForm { admin, form })
        })
    }
}

/// Whoever calls the admin API, allowed.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub actor: Actor,
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = BoxFuture<Self, ApiError>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_string));
        let viewer = authorization
            .is_none()
            .then(|| Viewer::from_request(req, payload));
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            match authorization {
                Some(value) => {
                    let value = value
                        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
                    let token = value
                        .strip_prefix("Bearer ")
                        .filter(|t| !t.is_empty() && !t.contains(' '))
                        .ok_or_else(|| {
                            ApiError::unauthorized("use Authorization: Bearer <access token>")
                        })?
                        .to_string();
                    bearer(&state, token).await
                }
                None => {
                    let viewer = match viewer {
                        Some(v) => v.await?,
                        None => Viewer(None),
                    };
                    let Viewer(Some(me)) = viewer else {
                        return Err(ApiError::unauthorized(
                            "sign in as an admin, or send an admin access token",
                        ));
                    };
                    // The CSRF header was checked by `csrf_header` before anything was read.
                    match verdict(&state, &me).await? {
                        Verdict::Allowed => Ok(ApiCaller {
                            actor: Actor::Admin(me.user.id.clone()),
                        }),
                        Verdict::NotAdmin => Err(ApiError::forbidden("forbidden", "admins only")),
                        Verdict::SignInAgain => Err(ApiError::unauthorized_code(
                            "reauthentication_required",
                            "sign in again: admin calls need a recent sign-in",
                        )),
                        Verdict::SecondFactorNeeded => Err(ApiError::unauthorized_code(
                            "reauthentication_required",
                            "sign in again with your second factor",
                        )),
                    }
                }
            }
        })
    }
}

/// Middleware on the API scope: a state-changing call without `Authorization` rides on cookies,
/// so it must echo the CSRF cookie in [`CSRF_HEADER`] (and come from our origin when the browser
/// says where it comes from). It runs before any extractor, so a forged call is refused before
/// its body is even read.
pub async fn csrf_header(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !req.headers().contains_key(header::AUTHORIZATION) {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if crate::web::csrf::verify(req.request(), &sent).is_err() {
            let refusal = ApiError::forbidden(
                "csrf",
                "a call with a browser session must echo the portcullis_csrf cookie in X-CSRF-Token",
            );
            let res = actix_web::ResponseError::error_response(&refusal);
            return Ok(req.into_response(res));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// An admin-scoped client_credentials token: ours, unexpired, not revoked, from a client still
/// marked `admin_api`.
async fn bearer(state: &AppState, token: String) -> Result<ApiCaller, ApiError> {
    let keys = state.provider.keys.clone();
    let issuer = state.provider.issuer.clone();
    let client = state
        .db
        .run(move |conn| {
            let Ok(claims) = keys.verify::<AccessClaims>(conn, &token, Some("at+jwt"), false)
            else {
                return Ok(None);
            };
            // Only client_credentials tokens: their subject is the client itself.
            if claims.iss != issuer
                || claims.aud != issuer
                || claims.gid.is_some()
                || claims.sub != claims.client_id.as_str()
                || !claims.scope.split(' ').any(|s| s == ADMIN)
                || revoked_token::is_revoked(conn, &claims.jti)?
            {
                return Ok(None);
            }
            let id: ClientId = claims.client_id;
            Client::find(conn, &id)
        })
        .await?;
    match client {
        Some(c) if c.admin_api && !c.is_public() && c.allows(GrantType::ClientCredentials) => {
            Ok(ApiCaller {
                actor: Actor::Client(c.id),
            })
        }
        Some(_) => Err(ApiError::forbidden(
            "forbidden",
            "this client may no longer call the admin API",
        )),
        None => Err(ApiError::unauthorized_code(
            "invalid_token",
            "the access token is not an admin token of this server, or it expired or was revoked",
        )),
    }
}
