//! Home, sign-up, sign-in and sign-out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::identity::credentials::{self, SignInError, SignUpError, SignUpRequest, BAD_CREDENTIALS};
use crate::identity::FieldErrors;
use crate::upstream::registry::{self, Button};
use crate::web::oidc::logout::end_browser_session;
use crate::web::viewer::{clear_session_cookie, client_info, session_cookie, Viewer};
use crate::web::{csrf, render, return_to, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/signup", web::get().to(signup_page))
        .route("/signup", web::post().to(signup))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout));
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HomeQuery {
    deleted: Option<String>,
}

#[derive(Serialize)]
struct HomeView {
    notice: Option<&'static str>,
}

async fn home(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<HomeQuery>,
) -> AppResult<HttpResponse> {
    let notice = query.deleted.as_ref().map(|_| "Your account and everything in it have been deleted.");
    render(&state, &req, viewer.0.as_ref(), StatusCode::OK, "home.html", &HomeView { notice })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReturnQuery {
    return_to: Option<String>,
    signed_out: Option<String>,
    /// Show the form even to someone signed in (OIDC prompt=login, max_age).
    force: Option<String>,
    /// Prefills the email (OIDC login_hint).
    login_hint: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignUpForm {
    name: String,
    email: String,
    password: String,
    csrf_token: String,
    return_to: String,
}

#[derive(Serialize, Default)]
struct AuthView<'a> {
    form: FormEcho<'a>,
    errors: FieldErrors,
    error: Option<&'a str>,
    notice: Option<&'a str>,
    return_to: String,
    password_min: usize,
    password_max: usize,
    providers: Vec<Button>,
}

/// What a re-shown form keeps (never the password).
#[derive(Serialize, Default)]
struct FormEcho<'a> {
    name: &'a str,
    email: &'a str,
}

/// The parts every sign-in and sign-up page has: limits, where to go next, provider buttons.
async fn auth_view<'a>(state: &AppState, return_to: Option<&str>) -> AppResult<AuthView<'a>> {
    Ok(AuthView {
        return_to: return_to.and_then(return_to::sanitize).unwrap_or_default(),
        password_min: state.hasher.policy.min_length,
        password_max: state.hasher.policy.max_length,
        providers: state.db.run(registry::buttons).await?,
        ..AuthView::default()
    })
}

async fn signup_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<ReturnQuery>,
) -> AppResult<HttpResponse> {
    if viewer.0.is_some() {
        return Ok(see_other(&return_to::or_default(query.return_to.as_deref())));
    }
    render(&state, &req, None, StatusCode::OK, "signup.html", &auth_view(&state, query.return_to.as_deref()).await?)
}

async fn signup(state: web::Data<AppState>, req: HttpRequest, form: web::Form<SignUpForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let form = form.into_inner();
    let request = SignUpRequest { name: form.name.clone(), email: form.email.clone(), password: form.password };
    match credentials::sign_up(&state.db, &state.hasher, state.session_policy, request, client_info(&req)).await {
        Ok((_, issued)) => {
            let mut res = see_other(&return_to::or_default(Some(&form.return_to)));
            res.add_cookie(&session_cookie(&state, &issued))?;
            Ok(res)
        }
        Err(SignUpError::Invalid(errors)) => {
            let view = AuthView {
                form: FormEcho { name: &form.name, email: &form.email },
                errors,
                ..auth_view(&state, Some(&form.return_to)).await?
            };
            render(&state, &req, None, StatusCode::UNPROCESSABLE_ENTITY, "signup.html", &view)
        }
        Err(SignUpError::App(e)) => Err(e),
    }
}

async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<ReturnQuery>,
) -> AppResult<HttpResponse> {
    if viewer.0.is_some() && query.force.is_none() {
        return Ok(see_other(&return_to::or_default(query.return_to.as_deref())));
    }
    let hint = query.login_hint.as_deref().unwrap_or_default();
    let view = AuthView {
        form: FormEcho { name: "", email: hint },
        notice: query.signed_out.as_ref().map(|_| "You have signed out."),
        ..auth_view(&state, query.return_to.as_deref()).await?
    };
    render(&state, &req, viewer.0.as_ref(), StatusCode::OK, "login.html", &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
    return_to: String,
}

async fn login(state: web::Data<AppState>, req: HttpRequest, form: web::Form<LoginForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let form = form.into_inner();
    let outcome =
        credentials::sign_in(&state.db, &state.hasher, state.session_policy, &form.email, form.password, client_info(&req))
            .await;
    match outcome {
        Ok((_, issued)) => {
            // Signing in again in this browser replaces the session it had.
            if let Some(old) = req.cookie(&state.settings.session.cookie_name).map(|c| c.value().to_string()) {
                end_browser_session(&state, old, None).await?;
            }
            let mut res = see_other(&return_to::or_default(Some(&form.return_to)));
            res.add_cookie(&session_cookie(&state, &issued))?;
            Ok(res)
        }
        Err(SignInError::BadCredentials) => {
            let view = AuthView {
                form: FormEcho { name: "", email: &form.email },
                error: Some(BAD_CREDENTIALS),
                ..auth_view(&state, Some(&form.return_to)).await?
            };
            render(&state, &req, None, StatusCode::UNAUTHORIZED, "login.html", &view)
        }
        Err(SignInError::App(e)) => Err(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    pub csrf_token: String,
}

async fn logout(state: web::Data<AppState>, req: HttpRequest, form: web::Form<CsrfOnly>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    if let Some(token) = req.cookie(&state.settings.session.cookie_name).map(|c| c.value().to_string()) {
        end_browser_session(&state, token, client_info(&req).ip).await?;
    }
    let mut res = see_other("/login?signed_out=1");
    res.add_cookie(&clear_session_cookie(&state))?;
    Ok(res)
}
