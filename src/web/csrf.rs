//! CSRF protection for every state-changing form: a random token in an HttpOnly cookie that the
//! form must echo (double submit, compared in constant time), plus an Origin check when the
//! browser sends one. A cross-site page can neither read the cookie nor forge a matching field.
//!
//! `Origin: null` is refused. Browsers send it from sandboxed frames, `data:` and `file:` pages
//! and after cross-origin redirects — contexts an attacker can create — so it proves nothing
//! about where a form came from. It is also what Chromium sends on *same-origin* posts when the
//! page's referrer policy is `no-referrer` (Fetch standard, "serializing a request origin");
//! that is why every page is served with `Referrer-Policy: same-origin` (`web::headers`), and
//! the browser suite (`tests/api/browser`) submits every form in real Chromium to keep it so.
//!
//! Handlers get this check by taking their form as [`CsrfForm<T>`] instead of `web::Form<T>`:
//! the fields exist only once the check has passed, so a handler cannot read the form and forget
//! the token. An extractor rather than a middleware on the page scope, because:
//! - the check stays exactly where the hand-written calls were: after `SignedIn` (an anonymous
//!   post still goes to the sign-in page) and after the form is read under the body limit
//!   (`web::form_config`), so no page or status changes;
//! - a middleware would have to buffer and replay every body, and run before routing, so it
//!   could not tell `/authorize` or `/end_session` — which relying parties post to cross-site
//!   by design — from our own forms without a list of paths kept beside the routes.
//!
//! What an extractor cannot do by itself — notice a new route that takes `web::Form` — the test
//! `every_state_changing_page_route_refuses_a_post_without_token` (tests/api/security.rs) does:
//! it reads every POST route from `src/web` and posts to each without a token; the routes open
//! to other sites by design are listed there, each with its reason. [`verify`] stays for a
//! handler that must read its body itself.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::crypto::{constant_time_eq, random_token};
use crate::error::AppError;
use crate::web::AppState;

pub const COOKIE: &str = "portcullis_csrf";

/// The token for forms on this request's page.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Middleware: makes sure the browser has a CSRF cookie and the handler knows its value.
pub async fn ensure_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let existing = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| well_formed(t));
    let fresh = existing.is_none();
    let token = existing.unwrap_or_else(|| random_token(32));
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.secure_cookies());
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.call(req).await?;
    if fresh {
        let cookie = Cookie::build(COOKIE, token)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}

/// The token to put into this page's forms.
pub fn token(req: &HttpRequest) -> String {
    req.extensions()
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default()
}

/// A urlencoded form whose CSRF token (`csrf_token`) and Origin passed [`verify`]; derefs to
/// the form's own fields, which need not (and should not) declare `csrf_token`.
///
/// The fields are read through `#[serde(flatten)]`, so they must be strings (or options or
/// sequences of them): urlencoded values are not parsed as numbers or booleans there.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T> CsrfForm<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for CsrfForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A form with nothing but the token (sign-out, revoking sessions, resending a link).
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// The body as posted: the token beside the handler's fields.
#[derive(Deserialize)]
struct Submitted<T> {
    #[serde(default)]
    csrf_token: String,
    #[serde(flatten)]
    fields: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    /// Reads the body as `web::Form` does (same limit, same error pages), then checks it.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<Submitted<T>>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let submitted = form.await?.into_inner();
            verify(&req, &submitted.csrf_token)?;
            Ok(CsrfForm(submitted.fields))
        })
    }
}

/// Checks a submitted form: the field must match the cookie the browser sent, and a present
/// Origin must be this server's.
pub fn verify(req: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    let cookie = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if cookie.is_empty() || !constant_time_eq(cookie.as_bytes(), submitted.as_bytes()) {
        return Err(AppError::Csrf);
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok());
        if !origin.is_some_and(|o| is_own_origin(req, &o)) {
            return Err(AppError::Csrf);
        }
    }
    Ok(())
}

/// The issuer's origin, or the Host the request was sent to (a proxy may rewrite Host, and a
/// direct visitor may use another name for this server). A browser never lets a cross-site page
/// choose either header, so both are safe to trust here.
fn is_own_origin(req: &HttpRequest, origin: &url::Url) -> bool {
    if origin.host_str().is_none() {
        return false;
    }
    let issuer = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| url::Url::parse(s.settings.issuer()).ok())
        .map(|u| u.origin());
    if issuer.is_some_and(|i| i == origin.origin()) {
        return true;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin[url::Position::BeforeHost..url::Position::AfterPort] == *host
}
