//! Pages of proof before linking (`identity::pending_link`) and of the "this was not me" link
//! in a linked-method notice (`identity::notices::unlink_not_me`).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::i18n::Msg;
use crate::identity::mail_quota::{self, MailQuota};
use crate::identity::pending_link::{self, Completed, PendingLink};
use crate::identity::{notices, now};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::pages::auth::MessageView;
use crate::web::viewer::{client_info, SignedIn, Viewer};
use crate::web::{render, return_to, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/link", web::get().to(prove_page))
        .route("/link/confirm", web::get().to(confirm_page))
        .route("/link/confirm", web::post().to(confirm))
        .route("/link/cancel", web::post().to(cancel))
        .route("/link/email", web::get().to(mailed_page))
        .route("/link/email", web::post().to(send_mail))
        .route("/link/email/confirm", web::post().to(mailed_confirm))
        .route("/link/not-me", web::get().to(not_me_page))
        .route("/link/not-me", web::post().to(not_me));
}

/// The pending link's cookie name: `__Host-` bound to this origin where cookies are secure.
fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-portcullis_link"
    } else {
        pending_link::COOKIE
    }
}

/// The cookie that keeps a pending link's token in the browser that brought it.
pub fn pending_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(cookie_name(state), token)
        .path("/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(
            pending_link::TTL_MINUTES,
        ))
        .finish()
}

fn token_of(state: &AppState, req: &HttpRequest) -> Option<String> {
    req.cookie(cookie_name(state))
        .map(|c| c.value().to_string())
        .filter(|t| !t.is_empty())
}

fn clear_cookie(state: &AppState, mut res: HttpResponse) -> HttpResponse {
    let mut c = Cookie::build(cookie_name(state), "")
        .path("/")
        .secure(state.settings.secure_cookies())
        .finish();
    c.make_removal();
    let _ = res.add_cookie(&c);
    res
}

fn message(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
    status: StatusCode,
    title: &'static str,
    text: Msg,
    link: Option<(&str, &'static str)>,
) -> AppResult<HttpResponse> {
    let view = MessageView {
        title: Msg::new(title),
        message: text,
        link_href: link.map(|l| l.0),
        link_text: link.map(|l| Msg::new(l.1)),
    };
    render(state, req, viewer, status, "message.html", &view)
}

fn expired(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
) -> AppResult<HttpResponse> {
    let res = message(
        state,
        req,
        viewer,
        StatusCode::GONE,
        "link-expired-title",
        Msg::new("link-pending-expired"),
        Some(("/login", "login-title")),
    )?;
    Ok(clear_cookie(state, res))
}

async fn pending(state: &AppState, token: Option<String>) -> AppResult<Option<PendingLink>> {
    let Some(token) = token else { return Ok(None) };
    state
        .db
        .run(move |conn| pending_link::peek(conn, &token, now()))
        .await
}

#[derive(Serialize)]
struct LinkView<'a> {
    confirm: bool,
    provider: &'a str,
    upstream_email: &'a str,
    account_email: &'a str,
    sign_in: bool,
    email_proof: bool,
}

fn show(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
    p: &PendingLink,
    confirm: bool,
) -> AppResult<HttpResponse> {
    let view = LinkView {
        confirm,
        provider: &p.provider_name,
        upstream_email: p.email.as_deref().unwrap_or_default(),
        account_email: viewer.map_or("", |v| v.user.email.as_str()),
        sign_in: p.ways.sign_in,
        email_proof: p.ways.email,
    };
    render(state, req, viewer, StatusCode::OK, "link.html", &view)
}

/// "Is this your account?": the ways to prove it, or straight to confirming for the person
/// already signed in to it.
async fn prove_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> AppResult<HttpResponse> {
    let Some(p) = pending(&state, token_of(&state, &req)).await? else {
        return expired(&state, &req, viewer.0.as_ref());
    };
    if viewer.0.as_ref().is_some_and(|v| v.user.id == p.user.id) {
        return Ok(see_other("/link/confirm"));
    }
    show(&state, &req, viewer.0.as_ref(), &p, false)
}

/// After signing in to prove the account: what will be linked, and a button to do it.
async fn confirm_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> AppResult<HttpResponse> {
    let Some(p) = pending(&state, token_of(&state, &req)).await? else {
        return expired(&state, &req, viewer.0.as_ref());
    };
    match viewer.0.as_ref() {
        // Signed in to another account (or to none): the proof is still to give.
        Some(me) if me.user.id == p.user.id => show(&state, &req, Some(me), &p, true),
        _ => Ok(see_other("/link")),
    }
}

/// Links to the signed-in person, if they are the owner the address matched.
async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let Some(token) = token_of(&state, &req) else {
        return expired(&state, &req, Some(&me));
    };
    let (links, ip, user_id) = (state.links(&req), client_info(&req).ip, me.user.id.clone());
    let done = state
        .db
        .run(move |conn| {
            pending_link::complete(
                conn,
                &links,
                &token,
                &user_id,
                "signed_in",
                ip.as_deref(),
                now(),
            )
        })
        .await?;
    state.mail.wake();
    let res = match done {
        Completed::Linked { return_to, .. } => {
            let target = return_to
                .as_deref()
                .and_then(return_to::sanitize)
                .unwrap_or_else(|| "/account/methods?notice=linked".to_string());
            see_other(&target)
        }
        other => return finished(&state, &req, Some(&me), other),
    };
    Ok(clear_cookie(&state, res))
}

/// The pages for a completion that linked nothing (or, by mail, something).
fn finished(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
    done: Completed,
) -> AppResult<HttpResponse> {
    let res = match done {
        Completed::Linked {
            provider,
            provider_name,
            return_to,
        } => {
            let mut start = format!("/auth/{provider}/start");
            if let Some(back) = return_to.as_deref().and_then(return_to::sanitize) {
                start.push_str("?return_to=");
                start.extend(url::form_urlencoded::byte_serialize(back.as_bytes()));
            }
            let view = LinkedView {
                title: Msg::new("link-done-title"),
                message: Msg::new("link-done").with("provider", provider_name.as_str()),
                link_href: &start,
                link_text: Msg::new("link-continue").with("provider", provider_name.as_str()),
            };
            render(state, req, viewer, StatusCode::OK, "message.html", &view)?
        }
        Completed::OtherAccount { provider_name } => message(
            state,
            req,
            viewer,
            StatusCode::CONFLICT,
            "link-not-linked-title",
            Msg::new("link-other-account").with("provider", provider_name.as_str()),
            None,
        )?,
        Completed::AlreadyLinked { provider_name } => message(
            state,
            req,
            viewer,
            StatusCode::CONFLICT,
            "link-not-linked-title",
            Msg::new("link-linked-elsewhere").with("provider", provider_name.as_str()),
            None,
        )?,
        Completed::Expired => return expired(state, req, viewer),
    };
    Ok(clear_cookie(state, res))
}

#[derive(Serialize)]
struct LinkedView<'a> {
    title: Msg,
    message: Msg,
    link_href: &'a str,
    link_text: Msg,
}

/// "No, do not link": drops the pending identity.
async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    if let Some(token) = token_of(&state, &req) {
        state
            .db
            .run(move |conn| pending_link::cancel(conn, &token, now()))
            .await?;
    }
    let res = message(
        &state,
        &req,
        viewer.0.as_ref(),
        StatusCode::OK,
        "link-not-linked-title",
        Msg::new("link-cancelled"),
        Some(("/login", "login-title")),
    )?;
    Ok(clear_cookie(&state, res))
}

/// Mails the owner a link that proves the address, for this browser.
async fn send_mail(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let Some(token) = token_of(&state, &req) else {
        return expired(&state, &req, viewer.0.as_ref());
    };
    let Some(p) = pending(&state, Some(token.clone())).await? else {
        return expired(&state, &req, viewer.0.as_ref());
    };
    let quota = MailQuota::from(&state.settings.accounts);
    let (email, ip, links) = (
        p.user.email.clone(),
        client_info(&req).ip,
        state.links(&req),
    );
    let sent = state
        .db
        .run(move |conn| {
            let now = now();
            if !mail_quota::allow(conn, &quota, "link_proof", Some(&email), ip.as_deref(), now)? {
                return Ok(None);
            }
            Ok(Some(pending_link::send_proof(conn, &links, &token, now)?))
        })
        .await?;
    state.mail.wake();
    match sent {
        None => message(
            &state,
            &req,
            viewer.0.as_ref(),
            StatusCode::TOO_MANY_REQUESTS,
            "link-prove-title",
            Msg::new("link-proof-too-many"),
            None,
        ),
        Some(false) => expired(&state, &req, viewer.0.as_ref()),
        Some(true) => message(
            &state,
            &req,
            viewer.0.as_ref(),
            StatusCode::OK,
            "link-prove-title",
            Msg::new("link-proof-sent").with("minutes", pending_link::TTL_MINUTES),
            None,
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

#[derive(Serialize)]
struct ConfirmView<'a> {
    title: Msg,
    message: Msg,
    action: &'a str,
    token: &'a str,
    button: Msg,
}

/// The mailed link opens this page; its button (a POST) does the work, so mail scanners that
/// follow links use nothing up. It works only in the browser holding the pending link.
async fn mailed_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    q: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    let Some(token) = token_of(&state, &req) else {
        return other_browser(&state, &req, viewer.0.as_ref());
    };
    let mailed = q.token.clone();
    let proven = state
        .db
        .run(move |conn| pending_link::check_proof(conn, &mailed, &token, false, now()))
        .await?;
    if proven.is_none() {
        return other_browser(&state, &req, viewer.0.as_ref());
    }
    let Some(p) = pending(&state, token_of(&state, &req)).await? else {
        return expired(&state, &req, viewer.0.as_ref());
    };
    let view = ConfirmView {
        title: Msg::new("link-confirm-title").with("provider", p.provider_name.as_str()),
        message: Msg::new("link-mailed-lead").with("provider", p.provider_name.as_str()),
        action: "/link/email/confirm",
        token: &q.token,
        button: Msg::new("link-confirm-button").with("provider", p.provider_name.as_str()),
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

fn other_browser(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
) -> AppResult<HttpResponse> {
    message(
        state,
        req,
        viewer,
        StatusCode::GONE,
        "link-expired-title",
        Msg::new("link-proof-invalid"),
        Some(("/login", "login-title")),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    token: String,
}

async fn mailed_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: CsrfForm<TokenForm>,
) -> AppResult<HttpResponse> {
    let Some(token) = token_of(&state, &req) else {
        return other_browser(&state, &req, viewer.0.as_ref());
    };
    let (mailed, links, ip) = (
        form.into_inner().token,
        state.links(&req),
        client_info(&req).ip,
    );
    let done = state
        .db
        .run(move |conn| {
            let now = now();
            let Some(user_id) = pending_link::check_proof(conn, &mailed, &token, true, now)? else {
                return Ok(None);
            };
            let done = pending_link::complete(
                conn,
                &links,
                &token,
                &user_id,
                "email",
                ip.as_deref(),
                now,
            )?;
            Ok(Some(done))
        })
        .await?;
    state.mail.wake();
    match done {
        None => other_browser(&state, &req, viewer.0.as_ref()),
        Some(done) => finished(&state, &req, viewer.0.as_ref(), done),
    }
}

/// "This was not me", from a linked-method notice: a page whose button unlinks.
async fn not_me_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    q: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    let token = q.token.clone();
    let live = state
        .db
        .run(move |conn| Ok(notices::peek_not_me(conn, &token, now())?))
        .await?;
    if live.is_none() {
        return message(
            &state,
            &req,
            viewer.0.as_ref(),
            StatusCode::GONE,
            "link-expired-title",
            Msg::new("not-me-expired"),
            None,
        );
    }
    let view = ConfirmView {
        title: Msg::new("not-me-title"),
        message: Msg::new("not-me-lead"),
        action: "/link/not-me",
        token: &q.token,
        button: Msg::new("not-me-button"),
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

async fn not_me(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: CsrfForm<TokenForm>,
) -> AppResult<HttpResponse> {
    let (token, ip) = (form.into_inner().token, client_info(&req).ip);
    let done = state
        .db
        .run(move |conn| notices::unlink_not_me(conn, &token, ip.as_deref(), now()))
        .await?;
    state.backchannel.wake();
    let (status, text) = match done {
        None => (StatusCode::GONE, "not-me-expired"),
        Some(_) => (StatusCode::OK, "not-me-done"),
    };
    message(
        &state,
        &req,
        viewer.0.as_ref(),
        status,
        "not-me-title",
        Msg::new(text),
        Some(("/forgot", "forgot-title")),
    )
}
