//! The authorization endpoint and the pages on its way: login, consent, the answer to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, ValidationError};
use crate::i18n::Msg;
use crate::identity::access::EmailPolicy;
use crate::identity::now;
use crate::oidc::authorize::{
    self, AuthorizationRequest, Incoming, RawParams, Reply, ResponseMode, Step, Visitor,
};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::scope::{self, Scope};
use crate::web::csrf::CsrfForm;
use crate::web::pages::auth::MessageView;
use crate::web::viewer::{SignedIn, Viewer};
use crate::web::{locale, render, return_to, see_other, AppState};

pub async fn authorize_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> AppResult<HttpResponse> {
    let params = RawParams::from_pairs(
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned(),
    );
    step(&state, &req, viewer.0.as_ref(), Incoming::Fresh(params)).await
}

/// OIDC Core §3.1.2.1: the request may also come as a form POST.
pub async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let pairs = super::form_pairs(&req, &body)
        .map_err(|e| ValidationError::Form(e.description().to_string()))?;
    let params = RawParams::from_pairs(pairs);
    step(&state, &req, viewer.0.as_ref(), Incoming::Fresh(params)).await
}

#[derive(Deserialize)]
pub struct ResumeQuery {
    #[serde(default)]
    req: String,
}

/// Back from the login page.
pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<ResumeQuery>,
) -> AppResult<HttpResponse> {
    let request = unseal(&state, &query.req)?;
    let incoming = Incoming::Resumed {
        request: Box::new(request),
        consent_just_given: false,
    };
    step(&state, &req, viewer.0.as_ref(), incoming).await
}

fn unseal(state: &AppState, sealed: &str) -> AppResult<AuthorizationRequest> {
    authorize::unseal(sealed, &state.master_key, now(), &state.provider.lifetimes)
        .ok_or(AppError::Refused(Msg::new("error-authorize-expired")))
}

/// Pages on the way of an authorization request (login, sign-up) carry it in `return_to` as
/// `/authorize/continue?req=…`; its `ui_locales` then chooses their language (after the user's
/// own setting). Anything else in `return_to` says nothing about languages.
pub fn note_ui_locales_of(state: &AppState, req: &HttpRequest, return_to: Option<&str>) {
    let Some(query) = return_to.and_then(|r| r.strip_prefix("/authorize/continue?")) else {
        return;
    };
    let sealed = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "req")
        .map(|(_, v)| v.into_owned());
    if let Some(areq) = sealed
        .and_then(|s| authorize::unseal(&s, &state.master_key, now(), &state.provider.lifetimes))
    {
        locale::note_ui_locales(req, areq.ui_locales.as_deref());
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConsentForm {
    req: String,
    decision: String,
}

pub async fn consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<ConsentForm>,
) -> AppResult<HttpResponse> {
    let areq = unseal(&state, &form.req)?;
    locale::note_ui_locales(&req, areq.ui_locales.as_deref());
    if form.decision != "allow" {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user declined");
        return reply_to_client(
            &state,
            &authorize::rejection(&areq, &state.provider.issuer, denied),
        );
    }
    let (user_id, client_id, scope) = (me.user.id.clone(), areq.client_id.clone(), areq.scope());
    state
        .db
        .run(move |conn| authorize::record_consent(conn, &user_id, &client_id, &scope, now()))
        .await?;
    let incoming = Incoming::Resumed {
        request: Box::new(areq),
        consent_just_given: true,
    };
    step(&state, &req, Some(&me), incoming).await
}

/// One step of the authorization endpoint, as `authorize::authorize` decides it, rendered.
async fn step(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
    incoming: Incoming,
) -> AppResult<HttpResponse> {
    let (provider, policy) = (
        state.provider.clone(),
        EmailPolicy::from(&state.settings.accounts),
    );
    let who = viewer.map(|v| (v.user.clone(), v.session.clone()));
    let answer = state
        .db
        .run(move |conn| {
            let visitor = who
                .as_ref()
                .map(|(user, session)| Visitor { user, session });
            authorize::authorize(conn, &provider, policy, incoming, visitor, now())
        })
        .await?;
    locale::note_ui_locales(req, answer.ui_locales.as_deref());
    match answer.step {
        Step::ErrorPage(message) => Err(AppError::Refused(message)),
        Step::Reply(reply) => reply_to_client(state, &reply),
        Step::Login { request, force } => Ok(see_other(&login_url(state, &request, force))),
        Step::Consent {
            request,
            client_name,
        } => {
            let view = ConsentView {
                client_name,
                scopes: describe(&request.scope()),
                redirect_host: redirect_host(&request.redirect_uri),
                sealed: authorize::seal(&request, &state.master_key),
            };
            render(state, req, viewer, StatusCode::OK, "consent.html", &view)
        }
        Step::EnrolSecondFactor { request, .. } => {
            // Set up a second factor, then on to the same request (sealed, so unaltered).
            let resume = format!(
                "/authorize/continue?req={}",
                authorize::seal(&request, &state.master_key)
            );
            Ok(see_other(&format!(
                "/account/security?continue_to={}",
                return_to::encode(&resume)
            )))
        }
        Step::ConfirmEmail { email } => {
            let view = MessageView {
                title: Msg::new("verify-title"),
                message: Msg::new("authorize-confirm-email").with("email", email.as_str()),
                link_href: Some("/account"),
                link_text: Some(Msg::new("your-account")),
            };
            render(
                state,
                req,
                viewer,
                StatusCode::FORBIDDEN,
                "message.html",
                &view,
            )
        }
    }
}

fn login_url(state: &AppState, areq: &AuthorizationRequest, force: bool) -> String {
    let resume = format!(
        "/authorize/continue?req={}",
        authorize::seal(areq, &state.master_key)
    );
    let mut url = format!("/login?return_to={}", return_to::encode(&resume));
    if let Some(hint) = &areq.login_hint {
        url.push_str(&format!("&login_hint={}", return_to::encode(hint)));
    }
    if force {
        url.push_str("&force=1");
    }
    url
}

#[derive(Serialize)]
struct ConsentView {
    client_name: String,
    scopes: Vec<ScopeLine>,
    /// Where the code will be sent, so the person can tell a look-alike application apart.
    redirect_host: String,
    sealed: String,
}

/// A scope and the sentence describing it (consent and Connected apps pages).
#[derive(Serialize)]
pub struct ScopeLine {
    name: String,
    description: Msg,
}

pub fn describe(scope: &Scope) -> Vec<ScopeLine> {
    scope
        .iter()
        .map(|s| ScopeLine {
            name: s.to_string(),
            description: Msg::new(scope::description_key(s)),
        })
        .collect()
}

/// The host of a redirect URI; for one without a host (a native app's private-use scheme,
/// RFC 8252 §7.1) the whole URI, which is what identifies the app then.
fn redirect_host(redirect_uri: &str) -> String {
    url::Url::parse(redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| redirect_uri.to_string())
}

/// Sends the answer to the client: a redirect, or an auto-submitting form for form_post.
pub fn reply_to_client(state: &AppState, reply: &Reply) -> AppResult<HttpResponse> {
    match reply.mode {
        ResponseMode::Query => Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, reply.location()))
            .finish()),
        ResponseMode::FormPost => {
            let nonce = crate::crypto::random_token(16);
            let view = FormPostView {
                action: reply.redirect_uri.clone(),
                params: reply
                    .params
                    .iter()
                    .map(|(k, v)| [k.clone(), v.clone()])
                    .collect(),
                nonce: nonce.clone(),
                locale: locale::current().code(),
            };
            let body = state.templates.render("form_post.html", &view)?;
            // The one page with a script: it submits the form to the client at once.
            let csp = format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'"
            );
            Ok(HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header(("Content-Security-Policy", csp))
                .body(body))
        }
    }
}

#[derive(Serialize)]
struct FormPostView {
    action: String,
    params: Vec<[String; 2]>,
    nonce: String,
    locale: &'static str,
}
