//! Home, sign-up, sign-in and sign-out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::identity::access::EmailPolicy;
use crate::identity::credentials::{
    self, SignInError, SignUpError, SignUpRequest, SignUpRules, SignedUp, BAD_CREDENTIALS,
};
use crate::identity::sessions::Admission;
use crate::identity::throttle::ThrottlePolicy;
use crate::identity::FieldErrors;
use crate::metrics::{Metrics, SignInMethod, SignInOutcome};
use crate::upstream::registry::{self, Button};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::oidc::authorize::note_ui_locales_of;
use crate::web::oidc::logout::end_browser_session;
use crate::web::viewer::{
    add_session_cookies, admit, browser_client, clear_session_cookie, client_info, Viewer,
};
use crate::web::{render, return_to, see_other, AppState};

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
    notice: Option<Msg>,
}

async fn home(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<HomeQuery>,
) -> AppResult<HttpResponse> {
    let notice = query
        .deleted
        .as_ref()
        .map(|_| Msg::new("notice-account-deleted"));
    render(
        &state,
        &req,
        viewer.0.as_ref(),
        StatusCode::OK,
        "home.html",
        &HomeView { notice },
    )
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
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignUpForm {
    name: String,
    email: String,
    password: String,
    return_to: String,
}

#[derive(Serialize, Default)]
struct AuthView<'a> {
    form: FormEcho<'a>,
    errors: FieldErrors,
    error: Option<Msg>,
    notice: Option<Msg>,
    return_to: String,
    password_min: usize,
    password_max: usize,
    providers: Vec<Button>,
    magic_link_enabled: bool,
    email_code_enabled: bool,
    passkeys_enabled: bool,
    unverified_email: Option<String>,
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
        magic_link_enabled: state.settings.accounts.magic_link,
        email_code_enabled: state.settings.accounts.email_code,
        passkeys_enabled: state.passkeys.is_some(),
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
        return Ok(see_other(&return_to::or_default(
            query.return_to.as_deref(),
        )));
    }
    note_ui_locales_of(&state, &req, query.return_to.as_deref());
    render(
        &state,
        &req,
        None,
        StatusCode::OK,
        "signup.html",
        &auth_view(&state, query.return_to.as_deref()).await?,
    )
}

async fn signup(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<SignUpForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let request = SignUpRequest {
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password,
    };
    note_ui_locales_of(&state, &req, Some(&form.return_to));
    let links = state.links(&req);
    let email_policy = EmailPolicy::from(&state.settings.accounts);
    let outcome = credentials::sign_up(
        &state.db,
        &state.hasher,
        state.session_policy,
        request,
        browser_client(&state, &req),
        links,
        SignUpRules {
            open_session: email_policy.signs_in_at_sign_up(),
            per_ip_per_hour: state.settings.accounts.signup_per_ip_per_hour,
            mail_per_address_per_hour: state.settings.accounts.mail_per_address_per_hour,
        },
    )
    .await;
    state.mail.wake();
    match outcome {
        Ok(SignedUp::SignedIn(_, issued)) => {
            let mut res = see_other(&return_to::or_default(Some(&form.return_to)));
            add_session_cookies(&mut res, &state, &issued)?;
            Ok(res)
        }
        Ok(SignedUp::CheckInbox(email)) => {
            let view = MessageView {
                title: Msg::new("check-email-title"),
                message: Msg::new("signup-check-email").with("email", email),
                link_href: Some("/login"),
                link_text: Some(Msg::new("nav-sign-in")),
            };
            render(&state, &req, None, StatusCode::OK, "message.html", &view)
        }
        Err(SignUpError::Invalid(errors)) => {
            let view = AuthView {
                form: FormEcho {
                    name: &form.name,
                    email: &form.email,
                },
                errors,
                ..auth_view(&state, Some(&form.return_to)).await?
            };
            render(
                &state,
                &req,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                "signup.html",
                &view,
            )
        }
        Err(SignUpError::TooMany) => {
            let view = AuthView {
                form: FormEcho {
                    name: &form.name,
                    email: &form.email,
                },
                error: Some(Msg::new("error-signup-too-many")),
                ..auth_view(&state, Some(&form.return_to)).await?
            };
            render(
                &state,
                &req,
                None,
                StatusCode::TOO_MANY_REQUESTS,
                "signup.html",
                &view,
            )
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
        return Ok(see_other(&return_to::or_default(
            query.return_to.as_deref(),
        )));
    }
    note_ui_locales_of(&state, &req, query.return_to.as_deref());
    let hint = query.login_hint.as_deref().unwrap_or_default();
    let notice = match (query.signed_out.as_ref(), query.notice.as_deref()) {
        (Some(_), _) => Some(Msg::new("notice-signed-out")),
        (_, Some("reset")) => Some(Msg::new("notice-password-reset")),
        (_, Some("second-factor-expired")) => Some(Msg::new("notice-second-factor-expired")),
        _ => None,
    };
    let view = AuthView {
        form: FormEcho {
            name: "",
            email: hint,
        },
        notice,
        ..auth_view(&state, query.return_to.as_deref()).await?
    };
    render(
        &state,
        &req,
        viewer.0.as_ref(),
        StatusCode::OK,
        "login.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    return_to: String,
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<LoginForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    note_ui_locales_of(&state, &req, Some(&form.return_to));
    let outcome = credentials::sign_in(
        &state.db,
        &state.hasher,
        state.session_policy,
        ThrottlePolicy::from(&state.settings.auth.throttle),
        &form.email,
        form.password,
        browser_client(&state, &req),
        EmailPolicy::from(&state.settings.accounts),
        state.links(&req),
    )
    .await;
    state.mail.wake();
    count_password_sign_in(&state.metrics, &outcome);
    match outcome {
        Ok((_, issued)) => {
            // Signing in again in this browser replaces the session it had.
            if let Some(old) = req
                .cookie(&state.settings.session.cookie_name)
                .map(|c| c.value().to_string())
            {
                end_browser_session(&state, old, None).await?;
            }
            admit(
                &state,
                &return_to::or_default(Some(&form.return_to)),
                &issued,
            )
        }
        Err(SignInError::BadCredentials) => {
            let view = AuthView {
                form: FormEcho {
                    name: "",
                    email: &form.email,
                },
                error: Some(Msg::new(BAD_CREDENTIALS)),
                ..auth_view(&state, Some(&form.return_to)).await?
            };
            render(
                &state,
                &req,
                None,
                StatusCode::UNAUTHORIZED,
                "login.html",
                &view,
            )
        }
        Err(SignInError::Unverified(email)) => {
            let view = AuthView {
                form: FormEcho {
                    name: "",
                    email: &form.email,
                },
                error: Some(Msg::new("error-unverified")),
                unverified_email: Some(email),
                ..auth_view(&state, Some(&form.return_to)).await?
            };
            render(
                &state,
                &req,
                None,
                StatusCode::FORBIDDEN,
                "login.html",
                &view,
            )
        }
        Err(SignInError::TooManyAttempts(seconds)) => {
            let error = Msg::new("error-too-many-attempts").with("seconds", seconds);
            throttled(&state, &req, &form.email, &form.return_to, error, seconds).await
        }
        Err(SignInError::PasswordLocked(seconds)) => {
            let minutes = (seconds + 59) / 60;
            // Point only to ways in that this server offers.
            let key = if state.other_ways_in() {
                "error-password-locked"
            } else {
                "error-password-locked-only"
            };
            let error = Msg::new(key).with("minutes", minutes);
            throttled(&state, &req, &form.email, &form.return_to, error, seconds).await
        }
        Err(SignInError::App(e)) => Err(e),
    }
}

fn count_password_sign_in(
    metrics: &Metrics,
    outcome: &Result<(crate::db::models::User, Admission), SignInError>,
) {
    let outcome = match outcome {
        Ok((_, admission)) => SignInOutcome::of(admission),
        Err(SignInError::BadCredentials) => SignInOutcome::Failure,
        Err(SignInError::Unverified(_)) => SignInOutcome::Unverified,
        Err(SignInError::TooManyAttempts(_)) => SignInOutcome::Throttled,
        Err(SignInError::PasswordLocked(_)) => SignInOutcome::Locked,
        Err(SignInError::App(AppError::AccountDisabled)) => SignInOutcome::Refused,
        Err(SignInError::App(_)) => return,
    };
    metrics.sign_in(SignInMethod::Password, outcome);
}

/// The sign-in page again, 429 with Retry-After: the attempt was refused before any check.
async fn throttled(
    state: &AppState,
    req: &HttpRequest,
    email: &str,
    return_to: &str,
    error: Msg,
    retry_after: i64,
) -> AppResult<HttpResponse> {
    let view = AuthView {
        form: FormEcho { name: "", email },
        error: Some(error),
        ..auth_view(state, Some(return_to)).await?
    };
    let mut res = render(
        state,
        req,
        None,
        StatusCode::TOO_MANY_REQUESTS,
        "login.html",
        &view,
    )?;
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    Ok(res)
}

async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    _checked: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    if let Some(token) = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_string())
    {
        end_browser_session(&state, token, client_info(&req).ip).await?;
    }
    let mut res = see_other("/login?signed_out=1");
    res.add_cookie(&clear_session_cookie(&state))?;
    Ok(res)
}

/// The view of `message.html`: a title, a sentence and maybe a link onward.
#[derive(Serialize)]
pub struct MessageView<'a> {
    pub title: Msg,
    pub message: Msg,
    pub link_href: Option<&'a str>,
    pub link_text: Option<Msg>,
}
