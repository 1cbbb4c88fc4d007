//! Pages of the email flows: verification, password reset, magic links and codes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use diesel::Connection;
use serde::{Deserialize, Serialize};

use crate::db::models::User;
use crate::error::{AppError, AppResult};
use crate::identity::email::Email;
use crate::identity::email_flows::{self, Links, Verified};
use crate::identity::sessions::{self, AuthMethod};
use crate::identity::verification::CodeCheck;
use crate::identity::{now, rate_limit, FieldErrors};
use crate::web::oidc::logout::end_browser_session;
use crate::web::viewer::{add_session_cookies, browser_client, client_info, SignedIn, Viewer};
use crate::web::{csrf, render, return_to, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/verify-email", web::get().to(verify_page))
        .route("/verify-email", web::post().to(verify))
        .route("/verify-email/resend", web::post().to(resend_public))
        .route("/account/verify-email/resend", web::post().to(resend_own))
        .route("/account/email", web::post().to(change_email))
        .route("/forgot", web::get().to(forgot_page))
        .route("/forgot", web::post().to(forgot))
        .route("/reset", web::get().to(reset_page))
        .route("/reset", web::post().to(reset))
        .route("/login/magic", web::get().to(magic_page))
        .route("/login/magic", web::post().to(magic_request))
        .route("/login/magic/confirm", web::post().to(magic_confirm))
        .route("/login/code", web::post().to(code_request))
        .route("/login/code/verify", web::post().to(code_verify));
}

fn links(state: &AppState) -> Links {
    state.links()
}

#[derive(Serialize)]
struct MessageView<'a> {
    title: &'a str,
    message: &'a str,
    link_href: Option<&'a str>,
    link_text: Option<&'a str>,
}

fn message(state: &AppState, req: &HttpRequest, viewer: Option<&SignedIn>, status: StatusCode, title: &str, text: &str, link: Option<(&str, &str)>) -> AppResult<HttpResponse> {
    let view = MessageView { title, message: text, link_href: link.map(|l| l.0), link_text: link.map(|l| l.1) };
    render(state, req, viewer, status, "message.html", &view)
}

/// One hit per key; false when any limit is exhausted (per address and per client IP).
async fn allowed(state: &AppState, req: &HttpRequest, action: &str, email: Option<&str>) -> AppResult<bool> {
    let a = &state.settings.accounts;
    let mut keys = Vec::new();
    if let Some(e) = email {
        keys.push((format!("{action}:email:{e}"), a.mail_per_address_per_hour));
    }
    if let Some(ip) = client_info(req).ip {
        keys.push((format!("{action}:ip:{ip}"), a.mail_per_ip_per_hour));
    }
    state
        .db
        .run(move |conn| {
            let mut ok = true;
            for (key, limit) in &keys {
                ok &= rate_limit::hit(conn, key, *limit, Duration::hours(1), now())?;
            }
            Ok(ok)
        })
        .await
}

fn too_many(state: &AppState, req: &HttpRequest) -> AppResult<HttpResponse> {
    message(state, req, None, StatusCode::TOO_MANY_REQUESTS, "Too many requests", "Please wait a while before asking again.", Some(("/login", "Back to sign in")))
}

// ---- verification ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenQuery {
    token: String,
    return_to: Option<String>,
}

#[derive(Serialize)]
struct ConfirmView<'a> {
    title: &'a str,
    message: &'a str,
    action: &'a str,
    token: &'a str,
    return_to: String,
    button: &'a str,
}

/// A link from an email opens a page whose button does the work: mail scanners that follow
/// links must not use up single-use tokens.
async fn verify_page(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer, q: web::Query<TokenQuery>) -> AppResult<HttpResponse> {
    let view = ConfirmView { title: "Confirm your email address", message: "Press the button to confirm this address.", action: "/verify-email", token: &q.token, return_to: String::new(), button: "Confirm my address" };
    render(&state, &req, viewer.0.as_ref(), StatusCode::OK, "confirm_link.html", &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    csrf_token: String,
    token: String,
    return_to: String,
}

async fn verify(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer, form: web::Form<TokenForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let (token, links) = (form.token.clone(), links(&state));
    let outcome = state.db.run(move |conn| email_flows::confirm(conn, &links, &token, now())).await?;
    state.mail.wake();
    let v = viewer.0.as_ref();
    match outcome {
        Verified::Address(_) => message(&state, &req, v, StatusCode::OK, "Email address confirmed", "Thank you: your email address is confirmed.", Some(("/account", "Go to your account"))),
        Verified::Changed(u) => {
            let text = format!("Your email address is now {}.", u.email);
            message(&state, &req, v, StatusCode::OK, "Email address changed", &text, Some(("/account", "Go to your account")))
        }
        Verified::Taken => message(&state, &req, v, StatusCode::CONFLICT, "Address already in use", "Another account now uses this address, so it cannot be yours too.", Some(("/account", "Go to your account"))),
        Verified::Invalid => message(&state, &req, v, StatusCode::BAD_REQUEST, "Link expired", "This link is invalid, expired or already used. Ask for a new one from your account page.", Some(("/account", "Go to your account"))),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmailForm {
    csrf_token: String,
    email: String,
    return_to: String,
}

/// From the sign-in page, for someone whose unverified address blocks sign-in.
async fn resend_public(state: web::Data<AppState>, req: HttpRequest, form: web::Form<EmailForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let sent = "If that address has an account that still needs confirming, a new link is on its way.";
    let Ok(email) = Email::parse(&form.email) else {
        return message(&state, &req, None, StatusCode::OK, "Check your email", sent, Some(("/login", "Back to sign in")));
    };
    if !allowed(&state, &req, "verify", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let links = links(&state);
    state
        .db
        .run(move |conn| {
            if let Some(user) = crate::db::models::User::find_by_email(conn, email.as_str())?.filter(|u| !u.email_verified) {
                email_flows::send_verification(conn, &links, &user, &user.email, now())?;
            }
            Ok(())
        })
        .await?;
    state.mail.wake();
    message(&state, &req, None, StatusCode::OK, "Check your email", sent, Some(("/login", "Back to sign in")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfForm {
    csrf_token: String,
}

async fn resend_own(state: web::Data<AppState>, req: HttpRequest, me: SignedIn, form: web::Form<CsrfForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    if !allowed(&state, &req, "verify", Some(&me.user.email)).await? {
        return too_many(&state, &req);
    }
    let (links, user) = (links(&state), me.user.clone());
    state
        .db
        .run(move |conn| email_flows::send_verification(conn, &links, &user, &user.email, now()))
        .await?;
    state.mail.wake();
    Ok(see_other("/account?notice=verification-sent"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChangeEmailForm {
    csrf_token: String,
    new_email: String,
    current_password: String,
}

async fn change_email(state: web::Data<AppState>, req: HttpRequest, me: SignedIn, form: web::Form<ChangeEmailForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let mut errors = FieldErrors::default();
    let email = Email::parse(&form.new_email).map_err(|e| errors.add("new_email", e.to_string())).ok();
    if crate::identity::management::has_password(&state.db, &me.user.id).await? {
        let uid = me.user.id.clone();
        let stored = state
            .db
            .run(move |conn| Ok(crate::db::models::Account::credential_for_user(conn, &uid)?.and_then(|a| a.password_hash)))
            .await?;
        if state.hasher.verify(form.current_password.clone(), stored).await? == crate::identity::password::Verdict::Mismatch {
            errors.add("current_password", "Your current password is incorrect.");
        }
    }
    if email.as_ref().is_some_and(|e| e.as_str() == me.user.email) {
        errors.add("new_email", "That is already your address.");
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return super::account::render_profile(&state, &req, &me, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if !allowed(&state, &req, "verify", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let (links, user) = (links(&state), me.user.clone());
    // Whether a link went out (the address may be taken) is not told: that would reveal accounts.
    state.db.run(move |conn| email_flows::request_change(conn, &links, &user, &email, now())).await?;
    state.mail.wake();
    Ok(see_other("/account?notice=change-sent"))
}

// ---- password reset ----

#[derive(Serialize, Default)]
struct ForgotView {
    notice: Option<&'static str>,
    form: ForgotEcho,
}

#[derive(Serialize, Default)]
struct ForgotEcho {
    email: String,
}

async fn forgot_page(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer) -> AppResult<HttpResponse> {
    render(&state, &req, viewer.0.as_ref(), StatusCode::OK, "forgot.html", &ForgotView::default())
}

const FORGOT_SENT: &str = "If an account uses that address, a link to reset the password is on its way. It works for one hour.";

async fn forgot(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer, form: web::Form<EmailForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let view = ForgotView { notice: Some(FORGOT_SENT), form: ForgotEcho { email: form.email.clone() } };
    let Ok(email) = Email::parse(&form.email) else {
        return render(&state, &req, viewer.0.as_ref(), StatusCode::OK, "forgot.html", &view);
    };
    if !allowed(&state, &req, "reset", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let links = links(&state);
    state.db.run(move |conn| email_flows::request_reset(conn, &links, &email, now())).await?;
    state.mail.wake();
    render(&state, &req, viewer.0.as_ref(), StatusCode::OK, "forgot.html", &view)
}

#[derive(Serialize)]
struct ResetView<'a> {
    token: &'a str,
    errors: FieldErrors,
    error: Option<&'a str>,
    password_min: usize,
    password_max: usize,
}

async fn reset_page(state: web::Data<AppState>, req: HttpRequest, q: web::Query<TokenQuery>) -> AppResult<HttpResponse> {
    let view = ResetView { token: &q.token, errors: FieldErrors::default(), error: None, password_min: state.hasher.policy.min_length, password_max: state.hasher.policy.max_length };
    render(&state, &req, None, StatusCode::OK, "reset.html", &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResetForm {
    csrf_token: String,
    token: String,
    new_password: String,
    confirm_password: String,
}

async fn reset(state: web::Data<AppState>, req: HttpRequest, form: web::Form<ResetForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let f = form.into_inner();
    let mut errors = FieldErrors::default();
    if let Err(e) = state.hasher.policy.check(&f.new_password) {
        errors.add("new_password", e.to_string());
    }
    if f.new_password != f.confirm_password {
        errors.add("confirm_password", "The passwords do not match.");
    }
    if !errors.is_empty() {
        let view = ResetView { token: &f.token, errors, error: None, password_min: state.hasher.policy.min_length, password_max: state.hasher.policy.max_length };
        return render(&state, &req, None, StatusCode::UNPROCESSABLE_ENTITY, "reset.html", &view);
    }
    let hash = state.hasher.hash(f.new_password).await?;
    let (links, token) = (links(&state), f.token.clone());
    let done = state
        .db
        .run(move |conn| email_flows::reset_password(conn, &links, &token, &hash, now()))
        .await?;
    state.mail.wake();
    match done {
        Some((_, ended)) => {
            crate::web::oidc::logout::notify_sessions_ended(&state, ended).await?;
            let mut res = see_other("/login?notice=reset");
            res.add_cookie(&crate::web::viewer::clear_session_cookie(&state))?;
            Ok(res)
        }
        None => message(&state, &req, None, StatusCode::BAD_REQUEST, "Link expired", "This reset link is invalid, expired or already used. Ask for a new one.", Some(("/forgot", "Reset my password"))),
    }
}

// ---- magic links and codes ----

const LINK_SENT: &str = "If an account uses that address, a sign-in link is on its way. It works for 15 minutes.";

async fn magic_request(state: web::Data<AppState>, req: HttpRequest, form: web::Form<EmailForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    if !state.settings.accounts.magic_link {
        return Err(AppError::NotFound);
    }
    let back = return_to::sanitize(&form.return_to);
    let Ok(email) = Email::parse(&form.email) else {
        return message(&state, &req, None, StatusCode::OK, "Check your email", LINK_SENT, None);
    };
    if !allowed(&state, &req, "magic", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let links = links(&state);
    state
        .db
        .run(move |conn| email_flows::request_magic_link(conn, &links, &email, back.as_deref(), now()))
        .await?;
    state.mail.wake();
    message(&state, &req, None, StatusCode::OK, "Check your email", LINK_SENT, None)
}

async fn magic_page(state: web::Data<AppState>, req: HttpRequest, q: web::Query<TokenQuery>) -> AppResult<HttpResponse> {
    if !state.settings.accounts.magic_link {
        return Err(AppError::NotFound);
    }
    let back = q.return_to.as_deref().and_then(return_to::sanitize).unwrap_or_default();
    let view = ConfirmView { title: "Sign in", message: "Press the button to finish signing in.", action: "/login/magic/confirm", token: &q.token, return_to: back, button: "Sign in" };
    render(&state, &req, None, StatusCode::OK, "confirm_link.html", &view)
}

async fn magic_confirm(state: web::Data<AppState>, req: HttpRequest, form: web::Form<TokenForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    if !state.settings.accounts.magic_link {
        return Err(AppError::NotFound);
    }
    let token = form.token.clone();
    let user = state.db.run(move |conn| email_flows::consume_magic_link(conn, &token, now())).await?;
    let Some(user) = user else {
        return message(&state, &req, None, StatusCode::BAD_REQUEST, "Link expired", "This sign-in link is invalid, expired or already used.", Some(("/login", "Back to sign in")));
    };
    start_session(&state, &req, user, AuthMethod::MagicLink, &form.return_to).await
}

#[derive(Serialize)]
struct CodeView<'a> {
    email: &'a str,
    return_to: String,
    error: Option<&'a str>,
}

async fn code_request(state: web::Data<AppState>, req: HttpRequest, form: web::Form<EmailForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    if !state.settings.accounts.email_code {
        return Err(AppError::NotFound);
    }
    let back = return_to::sanitize(&form.return_to).unwrap_or_default();
    let Ok(email) = Email::parse(&form.email) else {
        return render(&state, &req, None, StatusCode::OK, "code.html", &CodeView { email: &form.email, return_to: back, error: None });
    };
    if !allowed(&state, &req, "code", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let (links, e) = (links(&state), email.clone());
    state.db.run(move |conn| email_flows::request_code(conn, &links, &e, now())).await?;
    state.mail.wake();
    render(&state, &req, None, StatusCode::OK, "code.html", &CodeView { email: email.as_str(), return_to: back, error: None })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    csrf_token: String,
    email: String,
    code: String,
    return_to: String,
}

async fn code_verify(state: web::Data<AppState>, req: HttpRequest, form: web::Form<CodeForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    if !state.settings.accounts.email_code {
        return Err(AppError::NotFound);
    }
    let back = return_to::sanitize(&form.return_to).unwrap_or_default();
    let wrong = "That code is not right, or it has expired. Check the email, or ask for a new code.";
    let Ok(email) = Email::parse(&form.email) else {
        return render(&state, &req, None, StatusCode::UNPROCESSABLE_ENTITY, "code.html", &CodeView { email: &form.email, return_to: back, error: Some(wrong) });
    };
    let (e, code, max) = (email.clone(), form.code.clone(), state.settings.accounts.code_max_attempts);
    let (check, user) = state.db.run(move |conn| email_flows::verify_code(conn, &e, &code, max, now())).await?;
    match (check, user) {
        (CodeCheck::Valid, Some(user)) => start_session(&state, &req, user, AuthMethod::EmailCode, &form.return_to).await,
        _ => render(&state, &req, None, StatusCode::UNPROCESSABLE_ENTITY, "code.html", &CodeView { email: email.as_str(), return_to: back, error: Some(wrong) }),
    }
}

/// Opens a session for a person who proved their address, replacing this browser's old one.
async fn start_session(state: &AppState, req: &HttpRequest, user: User, method: AuthMethod, back: &str) -> AppResult<HttpResponse> {
    let (policy, client, links) = (state.session_policy, browser_client(state, req), links(state));
    let issued = state
        .db
        .run(move |conn| {
            conn.transaction::<_, AppError, _>(|conn| sessions::sign_in(conn, &policy, &links, &user, method.as_str(), &client, now()))
        })
        .await?;
    state.mail.wake();
    if let Some(old) = req.cookie(&state.settings.session.cookie_name).map(|c| c.value().to_string()) {
        end_browser_session(state, old, None).await?;
    }
    let mut res = see_other(&return_to::or_default(Some(back)));
    add_session_cookies(&mut res, state, &issued)?;
    Ok(res)
}
