//! Who is asking: the signed-in person behind the session cookie, if any.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::db::models::{Session, User, UserSettings};
use crate::error::AppError;
use crate::identity::devices::{DeviceToken, DEVICE_LIFETIME_DAYS};
use crate::identity::ids::SessionId;
use crate::identity::now;
use crate::identity::second_factor;
use crate::identity::sessions::{self, Admission, ClientInfo, IssuedSession};
use crate::web::AppState;

/// A signed-in person and their display preferences.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub user: User,
    pub theme: String,
    /// Their language setting. Accounts get one at creation (the language they signed up in);
    /// `None` only for a user without a settings row, for whom the browser's languages and
    /// `ui_locales` then count.
    pub language: Option<String>,
}

impl SignedIn {
    pub fn session_id(&self) -> SessionId {
        self.session.id.clone()
    }
}

/// `Some` when the request carries a live session.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<SignedIn>);

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

async fn resolve(req: HttpRequest) -> Result<Option<SignedIn>, AppError> {
    let signed_in = lookup(&req).await?;
    if let Some(language) = signed_in.as_ref().and_then(|s| s.language.as_deref()) {
        crate::web::locale::note_setting(&req, language);
    }
    Ok(signed_in)
}

async fn lookup(req: &HttpRequest) -> Result<Option<SignedIn>, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?
        .clone();
    let Some(token) = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_string())
    else {
        return Ok(None);
    };
    let policy = state.session_policy;
    state
        .db
        .run(move |conn| {
            let Some(active) = sessions::resolve(conn, &policy, &token, now())? else {
                return Ok(None);
            };
            let settings = UserSettings::find(conn, &active.user.id)?;
            let (theme, language) = settings
                .map(|s| (s.theme, Some(s.language)))
                .unwrap_or_else(|| ("system".into(), None));
            Ok(Some(SignedIn {
                session: active.session,
                user: active.user,
                theme,
                language,
            }))
        })
        .await
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = BoxFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Viewer(resolve(req).await?)) })
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = BoxFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let return_to = match req.uri().path_and_query() {
                Some(pq) if req.method() == actix_web::http::Method::GET => pq.as_str().to_string(),
                _ => "/account".to_string(),
            };
            resolve(req)
                .await?
                .ok_or(AppError::LoginRequired { return_to })
        })
    }
}

/// The user as page templates see it.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Shows the way to the admin console.
    pub admin: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.to_string(),
            name: u.name.clone(),
            email: u.email.clone(),
            admin: u.is_admin,
        }
    }
}

/// Where the request comes from, for the sessions list and the audit trail. Only the socket
/// peer is used: forwarded headers are trivially forged unless a trusted proxy sets them.
pub fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        ip: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        device: None,
    }
}

/// `client_info` plus the browser's device cookie: what signing in needs.
pub fn browser_client(state: &AppState, req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        device: req
            .cookie(&state.settings.session.device_cookie_name)
            .and_then(|c| DeviceToken::parse(c.value())),
        ..client_info(req)
    }
}

/// The cookies a sign-in sets: the session, and the device cookie (renewed, so a browser in use
/// stays known).
pub fn add_session_cookies(
    res: &mut HttpResponse,
    state: &AppState,
    issued: &IssuedSession,
) -> Result<(), AppError> {
    res.add_cookie(&session_cookie(state, issued))?;
    res.add_cookie(&device_cookie(state, &issued.device))?;
    Ok(())
}

fn device_cookie(state: &AppState, device: &DeviceToken) -> Cookie<'static> {
    Cookie::build(
        state.settings.session.device_cookie_name.clone(),
        device.as_str().to_string(),
    )
    .path("/")
    .http_only(true)
    .secure(state.settings.secure_cookies())
    .same_site(SameSite::Lax)
    .max_age(actix_web::cookie::time::Duration::days(
        DEVICE_LIFETIME_DAYS,
    ))
    .finish()
}

fn session_cookie(state: &AppState, issued: &IssuedSession) -> Cookie<'static> {
    Cookie::build(
        state.settings.session.cookie_name.clone(),
        issued.token.clone(),
    )
    .path("/")
    .http_only(true)
    .secure(state.settings.secure_cookies())
    .same_site(SameSite::Lax)
    .max_age(actix_web::cookie::time::Duration::seconds(
        state.settings.session.absolute_timeout_secs,
    ))
    .finish()
}

/// The browser's side of a proven first factor: the session cookies and off to `target`, or,
/// when the account has a second factor, the cookie of the pending step and the page that asks
/// for the code (which then goes on to `target`).
pub fn admit(
    state: &AppState,
    target: &str,
    admission: &Admission,
) -> Result<HttpResponse, AppError> {
    match admission {
        Admission::Session(issued) => {
            let mut res = crate::web::see_other(target);
            add_session_cookies(&mut res, state, issued)?;
            Ok(res)
        }
        Admission::SecondFactor(pending) => {
            let mut res = crate::web::see_other(&format!(
                "/login/second-factor?return_to={}",
                crate::web::return_to::encode(target)
            ));
            res.add_cookie(&second_factor_cookie(state, Some(&pending.token)))?;
            Ok(res)
        }
    }
}

/// The cookie of a pending second-factor step (`None`: its removal).
pub fn second_factor_cookie(state: &AppState, token: Option<&str>) -> Cookie<'static> {
    let mut cookie = Cookie::build(second_factor::COOKIE, token.unwrap_or_default().to_string())
        .path("/login")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            state.settings.session.second_factor_timeout_secs,
        ))
        .finish();
    if token.is_none() {
        cookie.make_removal();
    }
    cookie
}

pub fn clear_session_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build(state.settings.session.cookie_name.clone(), "")
        .path("/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .finish();
    cookie.make_removal();
    cookie
}
