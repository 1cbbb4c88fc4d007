//! Two-factor sign-in: the second step of a sign-in (`/login/second-factor`) and the
//! authenticator settings of the account (`/account/security`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::db::models::Account;
use crate::error::AppResult;
use crate::i18n::Msg;
use crate::identity::audit::{self, AuditKind};
use crate::identity::now;
use crate::identity::passkeys;
use crate::identity::password::Verdict;
use crate::identity::second_factor::{self, Completion};
use crate::identity::throttle::ThrottlePolicy;
use crate::identity::totp;
use crate::metrics::{SignInMethod, SignInOutcome};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::oidc::logout::end_browser_session;
use crate::web::viewer::{add_session_cookies, browser_client, second_factor_cookie, SignedIn};
use crate::web::{render, return_to, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/second-factor", web::get().to(challenge_page))
        .route("/login/second-factor", web::post().to(challenge))
        .route("/account/security", web::get().to(security_page))
        .route("/account/security/totp", web::post().to(start_enrolment))
        .route(
            "/account/security/totp/confirm",
            web::post().to(confirm_enrolment),
        )
        .route("/account/security/totp/disable", web::post().to(disable))
        .route(
            "/account/security/recovery-codes",
            web::post().to(regenerate_codes),
        );
}

fn pending_token(req: &HttpRequest) -> Option<String> {
    req.cookie(second_factor::COOKIE)
        .map(|c| c.value().to_string())
}

// ---- the second step of a sign-in ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChallengeQuery {
    return_to: Option<String>,
}

#[derive(Serialize)]
struct ChallengeView {
    return_to: String,
    error: Option<Msg>,
    /// Which second factors the person can use: the code form, the passkey button, or both.
    totp: bool,
    passkey: bool,
}

/// The second factors of the user of a pending sign-in; `None` when it is gone.
async fn factors(state: &AppState, token: String) -> AppResult<Option<(bool, bool)>> {
    let passkeys_on = state.passkeys.is_some();
    state
        .db
        .run(move |conn| {
            let Some(second_factor::PendingSignIn { user, .. }) =
                second_factor::pending(conn, &token, now())?
            else {
                return Ok(None);
            };
            let totp = second_factor::has_totp(conn, &user.id)?;
            let passkey = passkeys_on && passkeys::has_passkey(conn, &user.id)?;
            Ok(Some((totp, passkey)))
        })
        .await
}

/// Back to the sign-in form: the pending step is gone (or never was).
fn restart(state: &AppState, back: &str) -> AppResult<HttpResponse> {
    let mut res = see_other(&format!(
        "/login?notice=second-factor-expired&return_to={}",
        return_to::encode(back)
    ));
    res.add_cookie(&second_factor_cookie(state, None))?;
    Ok(res)
}

async fn challenge_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ChallengeQuery>,
) -> AppResult<HttpResponse> {
    let back = return_to::or_default(query.return_to.as_deref());
    let Some(token) = pending_token(&req) else {
        return restart(&state, &back);
    };
    let Some((totp, passkey)) = factors(&state, token).await? else {
        return restart(&state, &back);
    };
    let view = ChallengeView {
        return_to: back,
        error: None,
        totp,
        passkey,
    };
    render(
        &state,
        &req,
        None,
        StatusCode::OK,
        "second_factor.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChallengeForm {
    code: String,
    return_to: String,
}

async fn challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<ChallengeForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let back = return_to::or_default(Some(&form.return_to));
    let Some(token) = pending_token(&req) else {
        return restart(&state, &back);
    };
    let (key, throttle_policy, policy) = (
        state.master_key.clone(),
        ThrottlePolicy::from(&state.settings.auth.throttle),
        state.session_policy,
    );
    let (links, client) = (state.links(&req), browser_client(&state, &req));
    let code = form.code;
    let (totp, passkey) = factors(&state, token.clone())
        .await?
        .unwrap_or((true, false));
    let outcome = state
        .db
        .run(move |conn| {
            second_factor::complete(
                conn,
                &key,
                &throttle_policy,
                &policy,
                &links,
                &token,
                &code,
                &client,
                now(),
            )
        })
        .await?;
    state.mail.wake();
    state.metrics.sign_in(
        SignInMethod::SecondFactor,
        match &outcome {
            Completion::SignedIn(..) => SignInOutcome::Success,
            Completion::Throttled(_) => SignInOutcome::Throttled,
            Completion::Expired | Completion::Wrong => SignInOutcome::Failure,
        },
    );
    let error = match outcome {
        Completion::SignedIn(issued, _) => {
            if let Some(old) = req
                .cookie(&state.settings.session.cookie_name)
                .map(|c| c.value().to_string())
            {
                end_browser_session(&state, old, None).await?;
            }
            let mut res = see_other(&back);
            add_session_cookies(&mut res, &state, &issued)?;
            res.add_cookie(&second_factor_cookie(&state, None))?;
            return Ok(res);
        }
        Completion::Expired => return restart(&state, &back),
        Completion::Wrong => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Msg::new("second-factor-wrong"),
            None,
        ),
        Completion::Throttled(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            Msg::new("second-factor-throttled").with("seconds", secs),
            Some(secs),
        ),
    };
    let view = ChallengeView {
        return_to: back,
        error: Some(error.1),
        totp,
        passkey,
    };
    let mut res = render(&state, &req, None, error.0, "second_factor.html", &view)?;
    if let Some(secs) = error.2 {
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(secs),
        );
    }
    Ok(res)
}

/// Whether the session may remove a way in without more proof: it signed in within
/// `mfa.reauthenticate_within_secs`, or `password` is the account's password.
pub(super) async fn reauthenticated(
    state: &AppState,
    me: &SignedIn,
    password: String,
) -> AppResult<bool> {
    let within = Duration::seconds(state.settings.mfa.reauthenticate_within_secs);
    if now() - me.session.auth_time <= within {
        return Ok(true);
    }
    let uid = me.user.id.clone();
    let stored = state
        .db
        .run(move |conn| Ok(Account::credential_for_user(conn, &uid)?))
        .await?
        .and_then(|a| a.password_hash);
    Ok(!password.is_empty()
        && stored.is_some()
        && matches!(
            state.hasher.verify(password, stored).await?,
            Verdict::Match { .. }
        ))
}

// ---- the account's authenticator ----

#[derive(Serialize, Default)]
struct SecurityView {
    section: &'static str,
    enabled: bool,
    codes_left: i64,
    /// During enrolment: the secret in base32, and the otpauth URI for apps that take a link.
    secret: Option<String>,
    otpauth_uri: Option<String>,
    /// The otpauth URI as a QR code (an SVG `data:` URL), drawn here: the secret never goes to
    /// an outside service.
    qr_code: Option<String>,
    /// Shown once, right after they were made.
    recovery_codes: Vec<String>,
    notice: Option<Msg>,
    error: Option<Msg>,
    has_password: bool,
    /// An application requires two factors: where to go on once one is set up (a checked
    /// local path, carried through the enrolment forms).
    continue_to: Option<String>,
    /// Passkeys are on; then the page links to them and says how many there are.
    passkeys_on: bool,
    passkey_count: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SecurityQuery {
    notice: Option<String>,
    /// Set when an application that requires two factors sent the person here.
    continue_to: Option<String>,
}

/// Carries `continue_to` through the enrolment forms.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ContinueForm {
    continue_to: String,
}

async fn security_view(state: &AppState, me: &SignedIn) -> AppResult<SecurityView> {
    let user_id = me.user.id.clone();
    let (enabled, codes_left, has_password, passkey_count) = state
        .db
        .run(move |conn| {
            let has_password = Account::credential_for_user(conn, &user_id)?
                .and_then(|a| a.password_hash)
                .is_some();
            Ok((
                second_factor::has_totp(conn, &user_id)?,
                second_factor::recovery_codes_left(conn, &user_id)?,
                has_password,
                passkeys::list(conn, &user_id)?.len(),
            ))
        })
        .await?;
    Ok(SecurityView {
        section: "security",
        enabled,
        codes_left,
        has_password,
        passkeys_on: state.passkeys.is_some(),
        passkey_count,
        ..SecurityView::default()
    })
}

fn show(
    state: &AppState,
    req: &HttpRequest,
    me: &SignedIn,
    status: StatusCode,
    view: &SecurityView,
) -> AppResult<HttpResponse> {
    render(state, req, Some(me), status, "account/security.html", view)
}

async fn security_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    query: web::Query<SecurityQuery>,
) -> AppResult<HttpResponse> {
    let continue_to = query.continue_to.as_deref().and_then(return_to::sanitize);
    let notice = match query.notice.as_deref() {
        Some("disabled") => Some(Msg::new("security-notice-disabled")),
        _ if continue_to.is_some() => Some(Msg::new("security-required-lead")),
        _ => None,
    };
    let view = SecurityView {
        notice,
        continue_to,
        ..security_view(&state, &me).await?
    };
    show(&state, &req, &me, StatusCode::OK, &view)
}

/// The enrolment form: the secret (new, or the one still waiting for its first code).
async fn enrolment_view(
    state: &AppState,
    me: &SignedIn,
    fresh: bool,
    continue_to: Option<String>,
) -> AppResult<Option<SecurityView>> {
    let (key, user_id) = (state.master_key.clone(), me.user.id.clone());
    let secret = state
        .db
        .run(move |conn| {
            if !fresh {
                if let Some(secret) = second_factor::pending_secret(conn, &key, &user_id)? {
                    return Ok(Some(secret));
                }
            }
            Ok(second_factor::begin_enrolment(conn, &key, &user_id, now())?)
        })
        .await?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    let issuer = url::Url::parse(state.settings.issuer())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "Portcullis".into());
    let uri = totp::otpauth_uri(&issuer, &me.user.email, &secret);
    Ok(Some(SecurityView {
        continue_to,
        secret: Some(group(&totp::base32_encode(&secret))),
        qr_code: qr_data_url(&uri),
        otpauth_uri: Some(uri),
        ..security_view(state, me).await?
    }))
}

/// An SVG QR code of `text` as a `data:` URL (the CSP allows `img-src data:`); `None` only if
/// the text is too long for a QR code, and then the page still shows the key in text.
fn qr_data_url(text: &str) -> Option<String> {
    use base64::Engine as _;
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// A base32 secret in groups of four, easier to type.
fn group(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn start_enrolment(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<ContinueForm>,
) -> AppResult<HttpResponse> {
    let continue_to = return_to::sanitize(&form.continue_to);
    match enrolment_view(&state, &me, true, continue_to).await? {
        Some(view) => show(&state, &req, &me, StatusCode::OK, &view),
        None => Ok(see_other("/account/security")),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    code: String,
    continue_to: String,
}

async fn confirm_enrolment(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<CodeForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let (code, continue_to) = (form.code, return_to::sanitize(&form.continue_to));
    let (key, user, links) = (state.master_key.clone(), me.user.clone(), state.links(&req));
    let session = me.session.clone();
    let ip = browser_client(&state, &req).ip;
    let codes = state
        .db
        .run(move |conn| {
            second_factor::confirm_enrolment(
                conn,
                &key,
                &links,
                &user,
                &session,
                &code,
                ip.as_deref(),
                now(),
            )
        })
        .await?;
    state.mail.wake();
    match codes {
        Some(recovery_codes) => {
            let view = SecurityView {
                recovery_codes,
                notice: Some(Msg::new("security-notice-enabled")),
                continue_to,
                ..security_view(&state, &me).await?
            };
            show(&state, &req, &me, StatusCode::OK, &view)
        }
        None => {
            let Some(view) = enrolment_view(&state, &me, false, continue_to).await? else {
                return Ok(see_other("/account/security"));
            };
            let view = SecurityView {
                error: Some(Msg::new("second-factor-wrong")),
                ..view
            };
            show(&state, &req, &me, StatusCode::UNPROCESSABLE_ENTITY, &view)
        }
    }
}

async fn regenerate_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    _checked: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let user_id = me.user.id.clone();
    let ip = browser_client(&state, &req).ip;
    let codes = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                if !second_factor::has_totp(conn, &user_id)? {
                    return Ok(None);
                }
                let codes = second_factor::new_recovery_codes(conn, &user_id, now())?;
                audit::record(
                    conn,
                    AuditKind::RecoveryCodesRegenerated,
                    Some(&user_id),
                    ip.as_deref(),
                    None,
                    now(),
                )?;
                Ok(Some(codes))
            })
        })
        .await?;
    let Some(recovery_codes) = codes else {
        return Ok(see_other("/account/security"));
    };
    let view = SecurityView {
        recovery_codes,
        notice: Some(Msg::new("security-notice-codes")),
        ..security_view(&state, &me).await?
    };
    show(&state, &req, &me, StatusCode::OK, &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DisableForm {
    password: String,
}

/// Turning the authenticator off needs a recent sign-in or the password again.
async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<DisableForm>,
) -> AppResult<HttpResponse> {
    let password = form.into_inner().password;
    if !reauthenticated(&state, &me, password).await? {
        let view = SecurityView {
            error: Some(Msg::new("security-reauthenticate")),
            ..security_view(&state, &me).await?
        };
        return show(&state, &req, &me, StatusCode::FORBIDDEN, &view);
    }
    let (user, links) = (me.user.clone(), state.links(&req));
    let ip = browser_client(&state, &req).ip;
    state
        .db
        .run(move |conn| second_factor::disable(conn, &links, &user, ip.as_deref(), now()))
        .await?;
    state.mail.wake();
    Ok(see_other("/account/security?notice=disabled"))
}
