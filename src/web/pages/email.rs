//! Pages of the email flows: verification, password reset, magic links and codes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::identity::email::Email;
use crate::identity::email_change::{self, ChangeEmail, ChangeRequest};
use crate::identity::email_flows::{self, Links, Verified};
use crate::identity::mail_quota::{self, MailQuota};
use crate::identity::password_reset::{self, NewPassword, ResetOutcome};
use crate::identity::passwordless::{self, Proof};
use crate::identity::sessions::Admission;
use crate::identity::verification::{self, Purpose};
use crate::identity::{now, FieldErrors};
use crate::metrics::SignInMethod;
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::oidc::authorize::note_ui_locales_of;
use crate::web::oidc::logout::end_browser_session;
use crate::web::pages::auth::MessageView;
use crate::web::viewer::{admit, browser_client, client_info, SignedIn, Viewer};
use crate::web::{render, return_to, see_other, AppState};

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

fn links(state: &AppState, req: &HttpRequest) -> Links {
    state.links(req)
}

/// The message page: catalogue keys for the title and text, and maybe a link (path, text key).
fn message(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
    status: StatusCode,
    title: &'static str,
    text: impl Into<Msg>,
    link: Option<(&str, &'static str)>,
) -> AppResult<HttpResponse> {
    let view = MessageView {
        title: Msg::new(title),
        message: text.into(),
        link_href: link.map(|l| l.0),
        link_text: link.map(|l| Msg::new(l.1)),
    };
    render(state, req, viewer, status, "message.html", &view)
}

/// Counts one mail against the quota of the address and of this client.
async fn allowed(
    state: &AppState,
    req: &HttpRequest,
    action: &'static str,
    email: Option<&str>,
) -> AppResult<bool> {
    let quota = MailQuota::from(&state.settings.accounts);
    let (email, ip) = (email.map(str::to_string), client_info(req).ip);
    state
        .db
        .run(move |conn| {
            let (email, ip) = (email.as_deref(), ip.as_deref());
            Ok(mail_quota::allow(conn, &quota, action, email, ip, now())?)
        })
        .await
}

fn too_many(state: &AppState, req: &HttpRequest) -> AppResult<HttpResponse> {
    message(
        state,
        req,
        None,
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-title",
        "too-many-message",
        Some(("/login", "back-to-sign-in")),
    )
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
    title: Msg,
    message: Msg,
    action: &'a str,
    token: &'a str,
    return_to: String,
    button: Msg,
}

/// A link from an email opens a page whose button does the work: mail scanners that follow
/// links must not use up single-use tokens.
///
/// A dead link says so at once (without using up a live one), with the way to a new one.
async fn verify_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    q: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    if !link_is_live(&state, &q.token, Purpose::VerifyEmail).await? {
        return verify_link_expired(&state, &req, viewer.0.as_ref());
    }
    let view = ConfirmView {
        title: Msg::new("verify-title"),
        message: Msg::new("verify-confirm-message"),
        action: "/verify-email",
        token: &q.token,
        return_to: String::new(),
        button: Msg::new("verify-confirm-button"),
    };
    render(
        &state,
        &req,
        viewer.0.as_ref(),
        StatusCode::OK,
        "confirm_link.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    token: String,
    return_to: String,
}

async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: CsrfForm<TokenForm>,
) -> AppResult<HttpResponse> {
    let (token, links) = (form.token.clone(), links(&state, &req));
    let outcome = state
        .db
        .run(move |conn| email_flows::confirm(conn, &links, &token, now()))
        .await?;
    state.mail.wake();
    let v = viewer.0.as_ref();
    match outcome {
        Verified::Address(_) => message(
            &state,
            &req,
            v,
            StatusCode::OK,
            "verified-title",
            "verified-message",
            Some(("/account", "go-to-account")),
        ),
        Verified::Changed(u) => {
            let text = Msg::new("changed-message").with("email", u.email);
            message(
                &state,
                &req,
                v,
                StatusCode::OK,
                "changed-title",
                text,
                Some(("/account", "go-to-account")),
            )
        }
        Verified::Taken => message(
            &state,
            &req,
            v,
            StatusCode::CONFLICT,
            "taken-title",
            "taken-message",
            Some(("/account", "go-to-account")),
        ),
        Verified::Invalid => verify_link_expired(&state, &req, v),
    }
}

fn verify_link_expired(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
) -> AppResult<HttpResponse> {
    message(
        state,
        req,
        viewer,
        StatusCode::BAD_REQUEST,
        "link-expired-title",
        "verify-link-expired",
        Some(("/account", "go-to-account")),
    )
}

/// Whether an emailed link still works, without using it up.
async fn link_is_live(state: &AppState, token: &str, purpose: Purpose) -> AppResult<bool> {
    let token = token.to_string();
    state
        .db
        .run(move |conn| Ok(verification::peek_link(conn, &token, purpose, now())?.is_some()))
        .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmailForm {
    email: String,
    return_to: String,
}

/// From the sign-in page, for someone whose unverified address blocks sign-in.
async fn resend_public(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<EmailForm>,
) -> AppResult<HttpResponse> {
    let sent = "resend-sent";
    let Ok(email) = Email::parse(&form.email) else {
        return message(
            &state,
            &req,
            None,
            StatusCode::OK,
            "check-email-title",
            sent,
            Some(("/login", "back-to-sign-in")),
        );
    };
    if !allowed(&state, &req, "verify", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let links = links(&state, &req);
    state
        .db
        .run(move |conn| {
            if let Some(user) = crate::db::models::User::find_by_email(conn, email.as_str())?
                .filter(|u| !u.email_verified)
            {
                email_flows::send_verification(conn, &links, &user, &user.email, now())?;
            }
            Ok(())
        })
        .await?;
    state.mail.wake();
    message(
        &state,
        &req,
        None,
        StatusCode::OK,
        "check-email-title",
        sent,
        Some(("/login", "back-to-sign-in")),
    )
}

async fn resend_own(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    _checked: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    if !allowed(&state, &req, "verify", Some(&me.user.email)).await? {
        return too_many(&state, &req);
    }
    let (links, user) = (links(&state, &req), me.user.clone());
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
    new_email: String,
    current_password: String,
}

async fn change_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<ChangeEmailForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let change = ChangeEmail {
        new_email: form.new_email,
        current_password: form.current_password,
    };
    let quota = MailQuota::from(&state.settings.accounts);
    let (links, ip) = (links(&state, &req), client_info(&req).ip);
    let outcome =
        email_change::request(&state.db, &state.hasher, links, quota, &me.user, change, ip).await?;
    match outcome {
        ChangeRequest::Sent => {
            state.mail.wake();
            Ok(see_other("/account?notice=change-sent"))
        }
        ChangeRequest::Invalid(errors) => {
            super::account::render_profile(
                &state,
                &req,
                &me,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        ChangeRequest::TooMany => too_many(&state, &req),
    }
}

// ---- password reset ----

#[derive(Serialize, Default)]
struct ForgotView {
    notice: Option<Msg>,
    form: ForgotEcho,
}

#[derive(Serialize, Default)]
struct ForgotEcho {
    email: String,
}

async fn forgot_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> AppResult<HttpResponse> {
    render(
        &state,
        &req,
        viewer.0.as_ref(),
        StatusCode::OK,
        "forgot.html",
        &ForgotView::default(),
    )
}

async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: CsrfForm<EmailForm>,
) -> AppResult<HttpResponse> {
    let view = ForgotView {
        notice: Some(Msg::new("forgot-sent")),
        form: ForgotEcho {
            email: form.email.clone(),
        },
    };
    let Ok(email) = Email::parse(&form.email) else {
        return render(
            &state,
            &req,
            viewer.0.as_ref(),
            StatusCode::OK,
            "forgot.html",
            &view,
        );
    };
    if !allowed(&state, &req, "reset", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let links = links(&state, &req);
    state
        .db
        .run(move |conn| email_flows::request_reset(conn, &links, &email, now()))
        .await?;
    state.mail.wake();
    render(
        &state,
        &req,
        viewer.0.as_ref(),
        StatusCode::OK,
        "forgot.html",
        &view,
    )
}

#[derive(Serialize)]
struct ResetView<'a> {
    token: &'a str,
    errors: FieldErrors,
    error: Option<Msg>,
    password_min: usize,
    password_max: usize,
}

/// A dead link says so before the person chooses a password, with the way to a new one.
async fn reset_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    if !link_is_live(&state, &q.token, Purpose::ResetPassword).await? {
        return reset_link_expired(&state, &req);
    }
    let view = ResetView {
        token: &q.token,
        errors: FieldErrors::default(),
        error: None,
        password_min: state.hasher.policy.min_length,
        password_max: state.hasher.policy.max_length,
    };
    render(&state, &req, None, StatusCode::OK, "reset.html", &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResetForm {
    token: String,
    new_password: String,
    confirm_password: String,
}

async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<ResetForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let token = f.token.clone();
    let new = NewPassword {
        token: f.token,
        new_password: f.new_password,
        confirm_password: f.confirm_password,
    };
    let outcome = password_reset::reset(&state.db, &state.hasher, links(&state, &req), new).await?;
    if !matches!(outcome, ResetOutcome::Invalid(_)) {
        state.mail.wake();
    }
    match outcome {
        ResetOutcome::Done { ended_sessions } => {
            crate::web::oidc::logout::notify_sessions_ended(&state, ended_sessions).await?;
            let mut res = see_other("/login?notice=reset");
            res.add_cookie(&crate::web::viewer::clear_session_cookie(&state))?;
            Ok(res)
        }
        ResetOutcome::Invalid(errors) => {
            let view = ResetView {
                token: &token,
                errors,
                error: None,
                password_min: state.hasher.policy.min_length,
                password_max: state.hasher.policy.max_length,
            };
            render(
                &state,
                &req,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                "reset.html",
                &view,
            )
        }
        ResetOutcome::LinkDead => reset_link_expired(&state, &req),
    }
}

fn reset_link_expired(state: &AppState, req: &HttpRequest) -> AppResult<HttpResponse> {
    message(
        state,
        req,
        None,
        StatusCode::BAD_REQUEST,
        "link-expired-title",
        "reset-link-expired",
        Some(("/forgot", "reset-link-request-new")),
    )
}

// ---- magic links and codes ----

const LINK_SENT: &str = "magic-sent";

async fn magic_request(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<EmailForm>,
) -> AppResult<HttpResponse> {
    if !state.settings.accounts.magic_link {
        return Err(AppError::NotFound);
    }
    let back = return_to::sanitize(&form.return_to);
    note_ui_locales_of(&state, &req, back.as_deref());
    let Ok(email) = Email::parse(&form.email) else {
        return message(
            &state,
            &req,
            None,
            StatusCode::OK,
            "check-email-title",
            LINK_SENT,
            None,
        );
    };
    if !allowed(&state, &req, "magic", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let links = links(&state, &req);
    state
        .db
        .run(move |conn| {
            email_flows::request_magic_link(conn, &links, &email, back.as_deref(), now())
        })
        .await?;
    state.mail.wake();
    message(
        &state,
        &req,
        None,
        StatusCode::OK,
        "check-email-title",
        LINK_SENT,
        None,
    )
}

async fn magic_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    if !state.settings.accounts.magic_link {
        return Err(AppError::NotFound);
    }
    let back = q
        .return_to
        .as_deref()
        .and_then(return_to::sanitize)
        .unwrap_or_default();
    note_ui_locales_of(&state, &req, Some(&back));
    if !link_is_live(&state, &q.token, Purpose::MagicLink).await? {
        return magic_link_expired(&state, &req);
    }
    let view = ConfirmView {
        title: Msg::new("login-title"),
        message: Msg::new("magic-confirm-message"),
        action: "/login/magic/confirm",
        token: &q.token,
        return_to: back,
        button: Msg::new("login-submit"),
    };
    render(
        &state,
        &req,
        None,
        StatusCode::OK,
        "confirm_link.html",
        &view,
    )
}

async fn magic_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<TokenForm>,
) -> AppResult<HttpResponse> {
    if !state.settings.accounts.magic_link {
        return Err(AppError::NotFound);
    }
    let (policy, client, links) = (
        state.session_policy,
        browser_client(&state, &req),
        links(&state, &req),
    );
    let token = form.token.clone();
    let issued = state
        .db
        .run(move |conn| {
            let proof = Proof::MagicLink { token: &token };
            passwordless::sign_in(conn, &policy, &links, proof, &client, now())
        })
        .await;
    state
        .metrics
        .sign_in_result(SignInMethod::EmailLink, &issued);
    let Some(issued) = issued? else {
        return magic_link_expired(&state, &req);
    };
    finish_sign_in(&state, &req, issued, &form.return_to).await
}

fn magic_link_expired(state: &AppState, req: &HttpRequest) -> AppResult<HttpResponse> {
    message(
        state,
        req,
        None,
        StatusCode::BAD_REQUEST,
        "link-expired-title",
        "magic-link-expired",
        Some(("/login", "back-to-sign-in")),
    )
}

#[derive(Serialize)]
struct CodeView<'a> {
    email: &'a str,
    return_to: String,
    error: Option<Msg>,
}

async fn code_request(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<EmailForm>,
) -> AppResult<HttpResponse> {
    if !state.settings.accounts.email_code {
        return Err(AppError::NotFound);
    }
    let back = return_to::sanitize(&form.return_to).unwrap_or_default();
    note_ui_locales_of(&state, &req, Some(&back));
    let Ok(email) = Email::parse(&form.email) else {
        return render(
            &state,
            &req,
            None,
            StatusCode::OK,
            "code.html",
            &CodeView {
                email: &form.email,
                return_to: back,
                error: None,
            },
        );
    };
    if !allowed(&state, &req, "code", Some(email.as_str())).await? {
        return too_many(&state, &req);
    }
    let (links, e) = (links(&state, &req), email.clone());
    state
        .db
        .run(move |conn| email_flows::request_code(conn, &links, &e, now()))
        .await?;
    state.mail.wake();
    render(
        &state,
        &req,
        None,
        StatusCode::OK,
        "code.html",
        &CodeView {
            email: email.as_str(),
            return_to: back,
            error: None,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    email: String,
    code: String,
    return_to: String,
}

async fn code_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<CodeForm>,
) -> AppResult<HttpResponse> {
    if !state.settings.accounts.email_code {
        return Err(AppError::NotFound);
    }
    let back = return_to::sanitize(&form.return_to).unwrap_or_default();
    note_ui_locales_of(&state, &req, Some(&back));
    let wrong = Msg::new("error-code-wrong");
    let Ok(email) = Email::parse(&form.email) else {
        return render(
            &state,
            &req,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "code.html",
            &CodeView {
                email: &form.email,
                return_to: back,
                error: Some(wrong.clone()),
            },
        );
    };
    let (e, code, max) = (
        email.clone(),
        form.code.clone(),
        state.settings.accounts.code_max_attempts,
    );
    let (policy, client, links) = (
        state.session_policy,
        browser_client(&state, &req),
        links(&state, &req),
    );
    let issued = state
        .db
        .run(move |conn| {
            let proof = Proof::Code {
                email: &e,
                code: &code,
                max_attempts: max,
            };
            passwordless::sign_in(conn, &policy, &links, proof, &client, now())
        })
        .await;
    state
        .metrics
        .sign_in_result(SignInMethod::EmailCode, &issued);
    match issued? {
        Some(issued) => finish_sign_in(&state, &req, issued, &form.return_to).await,
        None => render(
            &state,
            &req,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "code.html",
            &CodeView {
                email: email.as_str(),
                return_to: back,
                error: Some(wrong),
            },
        ),
    }
}

/// The browser's side of a sign-in by email: the session replaces this browser's old one.
async fn finish_sign_in(
    state: &AppState,
    req: &HttpRequest,
    issued: Admission,
    back: &str,
) -> AppResult<HttpResponse> {
    state.mail.wake();
    if let Some(old) = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_string())
    {
        end_browser_session(state, old, None).await?;
    }
    admit(state, &return_to::or_default(Some(back)), &issued)
}
