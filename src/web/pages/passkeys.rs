//! Passkeys: the account's list (`/account/passkeys`: add, rename, remove) and the JSON halves
//! of the WebAuthn ceremonies that `static/passkey.js` drives — registering, signing in without
//! a password (`/login/passkey`), and the passkey as the second step (`/login/second-factor`).
//!
//! The JSON endpoints take the page's CSRF token in an `X-CSRF-Token` header (and the same
//! Origin check as forms); a ceremony's state is bound to the browser by the
//! `portcullis_webauthn` cookie (HttpOnly, SameSite=Strict, five minutes).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::db::models::Account;
use crate::error::{AppError, AppResult};
use crate::i18n::{text, Msg};
use crate::identity::ids::PasskeyId;
use crate::identity::now;
use crate::identity::passkeys::{self, PasskeyError, RelyingParty, COOKIE};
use crate::identity::profile;
use crate::identity::second_factor;
use crate::identity::throttle::ThrottlePolicy;
use crate::identity::time_zone::display_time;
use crate::metrics::{SignInMethod, SignInOutcome};
use crate::web::csrf::{self, CsrfForm};
use crate::web::oidc::logout::end_browser_session;
use crate::web::viewer::{add_session_cookies, browser_client, second_factor_cookie, SignedIn};
use crate::web::{locale, render, return_to, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/passkeys", web::get().to(list_page))
        .route(
            "/account/passkeys/options",
            web::post().to(register_options),
        )
        .route("/account/passkeys/register", web::post().to(register))
        .route("/account/passkeys/{id}/rename", web::post().to(rename))
        .route("/account/passkeys/{id}/delete", web::post().to(remove))
        .route("/login/passkey/options", web::post().to(sign_in_options))
        .route("/login/passkey", web::post().to(sign_in))
        .route(
            "/login/second-factor/passkey/options",
            web::post().to(second_factor_options),
        )
        .route(
            "/login/second-factor/passkey",
            web::post().to(second_factor_finish),
        );
}

/// The header the script sends the page's CSRF token in.
const CSRF_HEADER: &str = "x-csrf-token";

// ---- JSON plumbing ----

/// A JSON error for the script: a stable code and a message in the page's language.
fn json_error(
    req: &HttpRequest,
    status: StatusCode,
    code: &str,
    msg: &'static str,
) -> HttpResponse {
    let message = text(locale::of(req, None), &Msg::new(msg));
    HttpResponse::build(status).json(serde_json::json!({ "error": code, "message": message }))
}

fn disabled(req: &HttpRequest) -> HttpResponse {
    json_error(
        req,
        StatusCode::NOT_FOUND,
        "passkeys_disabled",
        "passkey-error-disabled",
    )
}

fn refused(req: &HttpRequest, error: PasskeyError) -> AppResult<HttpResponse> {
    let (status, code, msg) = match error {
        PasskeyError::NoCeremony => (
            StatusCode::BAD_REQUEST,
            "no_ceremony",
            "passkey-error-expired",
        ),
        PasskeyError::Rejected => (
            StatusCode::BAD_REQUEST,
            "rejected",
            "passkey-error-rejected",
        ),
        PasskeyError::UnknownCredential => (
            StatusCode::BAD_REQUEST,
            "unknown_credential",
            "passkey-error-unknown",
        ),
        PasskeyError::AlreadyRegistered => (
            StatusCode::BAD_REQUEST,
            "already_registered",
            "passkey-error-duplicate",
        ),
        PasskeyError::SignInExpired => (
            StatusCode::BAD_REQUEST,
            "sign_in_expired",
            "notice-second-factor-expired",
        ),
        PasskeyError::Throttled(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "passkey-error-throttled",
        ),
        PasskeyError::Server(e) => return Err(e),
    };
    Ok(json_error(req, status, code, msg))
}

/// Checks the CSRF token and reads the JSON body; a body that is not the expected JSON is a
/// 400 for the script, not a server error.
fn read_json<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> AppResult<Result<T, HttpResponse>> {
    let token = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    csrf::verify(req, token)?;
    Ok(serde_json::from_slice(body).map_err(|_| {
        json_error(
            req,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "passkey-error-bad-request",
        )
    }))
}

fn ceremony_cookie(state: &AppState, token: Option<&str>) -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, token.unwrap_or_default().to_string())
        .path("/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::seconds(
            passkeys::CEREMONY_SECS,
        ))
        .finish();
    if token.is_none() {
        cookie.make_removal();
    }
    cookie
}

fn ceremony_token(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE).map(|c| c.value().to_string())
}

/// The options for the browser, with the ceremony's cookie.
fn options_response<T: Serialize>(
    state: &AppState,
    begun: passkeys::Begun<T>,
) -> AppResult<HttpResponse> {
    let mut res = HttpResponse::Ok().json(&begun.options);
    res.add_cookie(&ceremony_cookie(state, Some(&begun.token)))?;
    Ok(res)
}

/// Where the script goes next, with the ceremony's cookie gone.
fn done(state: &AppState, redirect: &str) -> AppResult<HttpResponse> {
    let mut res = HttpResponse::Ok().json(serde_json::json!({ "redirect": redirect }));
    res.add_cookie(&ceremony_cookie(state, None))?;
    Ok(res)
}

fn rp(state: &AppState) -> Option<RelyingParty> {
    state.passkeys.clone()
}

// ---- the account's passkeys ----

#[derive(Serialize)]
struct PasskeyRow {
    id: String,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

#[derive(Serialize, Default)]
struct PasskeysView {
    section: &'static str,
    passkeys: Vec<PasskeyRow>,
    has_password: bool,
    notice: Option<Msg>,
    error: Option<Msg>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn passkeys_view(state: &AppState, me: &SignedIn) -> AppResult<PasskeysView> {
    let zone = profile::load_time_zone(&state.db, &me.user.id).await?;
    let user_id = me.user.id.clone();
    let (list, has_password) = state
        .db
        .run(move |conn| {
            let has_password = Account::credential_for_user(conn, &user_id)?
                .and_then(|a| a.password_hash)
                .is_some();
            Ok((passkeys::list(conn, &user_id)?, has_password))
        })
        .await?;
    Ok(PasskeysView {
        section: "security",
        passkeys: list
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id.to_string(),
                name: p.name,
                created_at: display_time(p.created_at, zone),
                last_used_at: p.last_used_at.map(|t| display_time(t, zone)),
            })
            .collect(),
        has_password,
        ..PasskeysView::default()
    })
}

fn show(
    state: &AppState,
    req: &HttpRequest,
    me: &SignedIn,
    status: StatusCode,
    view: &PasskeysView,
) -> AppResult<HttpResponse> {
    render(state, req, Some(me), status, "account/passkeys.html", view)
}

async fn list_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    query: web::Query<NoticeQuery>,
) -> AppResult<HttpResponse> {
    if state.passkeys.is_none() {
        return Err(AppError::NotFound);
    }
    let notice = match query.notice.as_deref() {
        Some("added") => Some(Msg::new("passkeys-notice-added")),
        Some("renamed") => Some(Msg::new("passkeys-notice-renamed")),
        Some("removed") => Some(Msg::new("passkeys-notice-removed")),
        _ => None,
    };
    let view = PasskeysView {
        notice,
        ..passkeys_view(&state, &me).await?
    };
    show(&state, &req, &me, StatusCode::OK, &view)
}

async fn register_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    if let Err(res) = read_json::<serde_json::Value>(&req, &body)? {
        return Ok(res);
    }
    let Some(rp) = rp(&state) else {
        return Ok(disabled(&req));
    };
    let user = me.user.clone();
    let begun = state
        .db
        .run(move |conn| passkeys::begin_registration(conn, &rp, &user, now()))
        .await?;
    options_response(&state, begun)
}

#[derive(Deserialize)]
struct RegisterBody {
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let body = match read_json::<RegisterBody>(&req, &body)? {
        Ok(body) => body,
        Err(res) => return Ok(res),
    };
    let Some(rp) = rp(&state) else {
        return Ok(disabled(&req));
    };
    let Some(token) = ceremony_token(&req) else {
        return refused(&req, PasskeyError::NoCeremony);
    };
    let user = me.user.clone();
    let ip = browser_client(&state, &req).ip;
    let links = state.links(&req);
    let added = state
        .db
        .run(move |conn| {
            Ok(passkeys::finish_registration(
                conn,
                &rp,
                &links,
                &user,
                &token,
                &body.credential,
                &body.name,
                ip.as_deref(),
                now(),
            ))
        })
        .await?;
    match added {
        Ok(_) => done(&state, "/account/passkeys?notice=added"),
        Err(e) => refused(&req, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RenameForm {
    name: String,
}

async fn rename(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    path: web::Path<String>,
    form: CsrfForm<RenameForm>,
) -> AppResult<HttpResponse> {
    if state.passkeys.is_none() {
        return Err(AppError::NotFound);
    }
    let id = PasskeyId::parse(&path.into_inner()).ok_or(AppError::NotFound)?;
    let name = form.into_inner().name;
    let user_id = me.user.id.clone();
    let ip = browser_client(&state, &req).ip;
    let renamed = state
        .db
        .run(move |conn| {
            Ok(passkeys::rename(
                conn,
                &user_id,
                &id,
                &name,
                ip.as_deref(),
                now(),
            )?)
        })
        .await?;
    if !renamed {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/account/passkeys?notice=renamed"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RemoveForm {
    password: String,
}

/// Removing a passkey needs a recent sign-in or the password again, as turning off the
/// authenticator app does.
async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    path: web::Path<String>,
    form: CsrfForm<RemoveForm>,
) -> AppResult<HttpResponse> {
    if state.passkeys.is_none() {
        return Err(AppError::NotFound);
    }
    let id = PasskeyId::parse(&path.into_inner()).ok_or(AppError::NotFound)?;
    let password = form.into_inner().password;
    if !super::security::reauthenticated(&state, &me, password).await? {
        let view = PasskeysView {
            error: Some(Msg::new("passkeys-reauthenticate")),
            ..passkeys_view(&state, &me).await?
        };
        return show(&state, &req, &me, StatusCode::FORBIDDEN, &view);
    }
    let user = me.user.clone();
    let ip = browser_client(&state, &req).ip;
    let links = state.links(&req);
    let removed = state
        .db
        .run(move |conn| passkeys::remove(conn, &links, &user, &id, ip.as_deref(), now()))
        .await?;
    if !removed {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/account/passkeys?notice=removed"))
}

// ---- signing in ----

#[derive(Deserialize)]
struct SignInBody {
    #[serde(default)]
    return_to: String,
    credential: PublicKeyCredential,
}

async fn sign_in_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    if let Err(res) = read_json::<serde_json::Value>(&req, &body)? {
        return Ok(res);
    }
    let Some(rp) = rp(&state) else {
        return Ok(disabled(&req));
    };
    let begun = state
        .db
        .run(move |conn| passkeys::begin_sign_in(conn, &rp, now()))
        .await?;
    options_response(&state, begun)
}

/// Signs in from a session cookie the browser may already carry: that session ends first.
async fn replace_session(state: &AppState, req: &HttpRequest) -> AppResult<()> {
    if let Some(old) = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_string())
    {
        end_browser_session(state, old, None).await?;
    }
    Ok(())
}

async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let body = match read_json::<SignInBody>(&req, &body)? {
        Ok(body) => body,
        Err(res) => return Ok(res),
    };
    let Some(rp) = rp(&state) else {
        return Ok(disabled(&req));
    };
    let Some(token) = ceremony_token(&req) else {
        return refused(&req, PasskeyError::NoCeremony);
    };
    let back = return_to::or_default(Some(&body.return_to));
    let throttle = ThrottlePolicy::from(&state.settings.auth.throttle);
    let (policy, links, client) = (
        state.session_policy,
        state.links(&req),
        browser_client(&state, &req),
    );
    let outcome = state
        .db
        .run(move |conn| {
            Ok(passkeys::finish_sign_in(
                conn,
                &rp,
                &throttle,
                &policy,
                &links,
                &token,
                &body.credential,
                &client,
                now(),
            ))
        })
        .await?;
    state.mail.wake();
    count(&state, SignInMethod::Passkey, &outcome);
    let issued = match outcome {
        Ok(issued) => issued,
        Err(e) => return refused(&req, e),
    };
    replace_session(&state, &req).await?;
    let mut res = done(&state, &back)?;
    add_session_cookies(&mut res, &state, &issued)?;
    Ok(res)
}

/// Counts a passkey sign-in step for `/metrics`; server failures are not sign-in outcomes.
fn count<T>(state: &AppState, method: SignInMethod, outcome: &Result<T, PasskeyError>) {
    let outcome = match outcome {
        Ok(_) => SignInOutcome::Success,
        Err(PasskeyError::Throttled(_)) => SignInOutcome::Throttled,
        Err(PasskeyError::Server(AppError::AccountDisabled)) => SignInOutcome::Refused,
        Err(PasskeyError::Server(_)) => return,
        Err(_) => SignInOutcome::Failure,
    };
    state.metrics.sign_in(method, outcome);
}

fn pending_token(req: &HttpRequest) -> Option<String> {
    req.cookie(second_factor::COOKIE)
        .map(|c| c.value().to_string())
}

async fn second_factor_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    if let Err(res) = read_json::<serde_json::Value>(&req, &body)? {
        return Ok(res);
    }
    let Some(rp) = rp(&state) else {
        return Ok(disabled(&req));
    };
    let Some(pending) = pending_token(&req) else {
        return refused(&req, PasskeyError::SignInExpired);
    };
    let begun = state
        .db
        .run(move |conn| passkeys::begin_second_factor(conn, &rp, &pending, now()))
        .await?;
    match begun {
        Some(begun) => options_response(&state, begun),
        None => refused(&req, PasskeyError::SignInExpired),
    }
}

async fn second_factor_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let body = match read_json::<SignInBody>(&req, &body)? {
        Ok(body) => body,
        Err(res) => return Ok(res),
    };
    let Some(rp) = rp(&state) else {
        return Ok(disabled(&req));
    };
    let (Some(pending), Some(token)) = (pending_token(&req), ceremony_token(&req)) else {
        return refused(&req, PasskeyError::NoCeremony);
    };
    let back = return_to::or_default(Some(&body.return_to));
    let throttle = ThrottlePolicy::from(&state.settings.auth.throttle);
    let (policy, links, client) = (
        state.session_policy,
        state.links(&req),
        browser_client(&state, &req),
    );
    let outcome = state
        .db
        .run(move |conn| {
            Ok(passkeys::finish_second_factor(
                conn,
                &rp,
                &throttle,
                &policy,
                &links,
                &pending,
                &token,
                &body.credential,
                &client,
                now(),
            ))
        })
        .await?;
    state.mail.wake();
    count(&state, SignInMethod::SecondFactor, &outcome);
    let issued = match outcome {
        Ok(issued) => issued,
        Err(e) => return refused(&req, e),
    };
    replace_session(&state, &req).await?;
    let mut res = done(&state, &back)?;
    add_session_cookies(&mut res, &state, &issued)?;
    res.add_cookie(&second_factor_cookie(&state, None))?;
    Ok(res)
}
