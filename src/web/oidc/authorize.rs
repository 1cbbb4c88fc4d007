//! The authorization endpoint and the pages on its way: login, consent, the answer to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::db::models::{Consent, Session};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::identity::now;
use crate::oidc::authorize::{
    self, AuthorizationRequest, Next, RawParams, Rejection, Reply, ResponseMode, SessionFacts,
};
use crate::oidc::clients::Client;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::scope::{self, Scope};
use crate::web::pages::auth::MessageView;
use crate::web::viewer::{SignedIn, Viewer};
use crate::web::{csrf, locale, render, return_to, see_other, AppState};

pub async fn authorize_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> AppResult<HttpResponse> {
    let params = RawParams::from_pairs(
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned(),
    );
    start(state, req, viewer, params).await
}

/// OIDC Core §3.1.2.1: the request may also come as a form POST.
pub async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let pairs =
        super::form_pairs(&req, &body).map_err(|e| AppError::BadRequest(e.error_description))?;
    start(state, req, viewer, RawParams::from_pairs(pairs)).await
}

async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    params: RawParams,
) -> AppResult<HttpResponse> {
    let client_id = params.get("client_id").map(str::to_string);
    let client = match client_id {
        Some(id) => state.db.run(move |conn| Client::find(conn, &id)).await?,
        None => None,
    };
    match authorize::parse(&params, client.as_ref(), &state.provider.issuer, now()) {
        Ok(areq) => {
            locale::note_ui_locales(&req, areq.ui_locales.as_deref());
            proceed(&state, &req, viewer.0.as_ref(), areq, false).await
        }
        Err(Rejection::Page(message)) => Err(AppError::Refused(message)),
        Err(Rejection::Redirect(reply)) => reply_to_client(&state, &reply),
    }
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
    let areq = unseal(&state, &query.req)?;
    locale::note_ui_locales(&req, areq.ui_locales.as_deref());
    proceed(&state, &req, viewer.0.as_ref(), areq, false).await
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
    csrf_token: String,
    req: String,
    decision: String,
}

pub async fn consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: web::Form<ConsentForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
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
    proceed(&state, &req, Some(&me), areq, true).await
}

/// Login, consent or the code, as `authorize::decide` says.
async fn proceed(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
    areq: AuthorizationRequest,
    consent_just_given: bool,
) -> AppResult<HttpResponse> {
    let issuer = state.provider.issuer.clone();
    let provider = state.provider.clone();
    let (client_id, hint, user_id) = (
        areq.client_id.clone(),
        areq.id_token_hint.clone(),
        viewer.map(|v| v.user.id.clone()),
    );
    let looked_up = state
        .db
        .run(move |conn| {
            let client = Client::find(conn, &client_id)?;
            let hint = match hint {
                Some(t) => Some(
                    authorize::verify_id_token_hint(&provider.keys.current(), &t, &provider.issuer)
                        .ok()
                        .map(|c| c.sub),
                ),
                None => None,
            };
            let consented = match &user_id {
                Some(u) => {
                    Consent::find(conn, u, &client_id)?.map(|c| Scope::from_stored(&c.scope))
                }
                None => None,
            };
            Ok((client, hint, consented))
        })
        .await?;
    let (client, hint, consented) = looked_up;
    let client = client.ok_or(AppError::Refused(Msg::new("error-client-gone")))?;
    let hint_subject = match hint {
        Some(None) => {
            let bad = OAuthError::invalid_request(
                "id_token_hint is not a valid ID token from this provider",
            );
            return reply_to_client(state, &authorize::rejection(&areq, &issuer, bad));
        }
        Some(Some(sub)) => Some(sub),
        None => None,
    };
    // accounts.require_verified_email: no authorization for an unconfirmed address.
    if let Some(v) =
        viewer.filter(|v| state.settings.accounts.require_verified_email && !v.user.email_verified)
    {
        if areq.has_prompt("none") {
            let e = OAuthError::new(
                ErrorCode::InteractionRequired,
                "the user must confirm their email address",
            );
            return reply_to_client(state, &authorize::rejection(&areq, &issuer, e));
        }
        let view = MessageView {
            title: Msg::new("verify-title"),
            message: Msg::new("authorize-confirm-email").with("email", v.user.email.as_str()),
            link_href: Some("/account"),
            link_text: Some(Msg::new("your-account")),
        };
        return render(
            state,
            req,
            Some(v),
            StatusCode::FORBIDDEN,
            "message.html",
            &view,
        );
    }
    let facts = viewer.map(|v| SessionFacts {
        user_id: v.user.id.clone(),
        auth_time: v.session.auth_time,
    });
    let decision = authorize::decide(
        &areq,
        &client,
        facts.as_ref(),
        hint_subject.as_deref(),
        consented.as_ref(),
        consent_just_given,
        now(),
    );
    match decision {
        Err(e) => reply_to_client(state, &authorize::rejection(&areq, &issuer, e)),
        Ok(Next::Login { force }) => Ok(see_other(&login_url(state, &areq, force))),
        Ok(Next::Consent) => {
            let me =
                viewer.ok_or_else(|| AppError::Internal("consent without a session".into()))?;
            let view = ConsentView {
                client_name: client.name.clone(),
                scopes: describe(&areq.scope()),
                redirect_host: redirect_host(&areq.redirect_uri),
                sealed: authorize::seal(&areq, &state.master_key),
            };
            render(state, req, Some(me), StatusCode::OK, "consent.html", &view)
        }
        Ok(Next::Issue) => {
            let session: Session = viewer
                .map(|v| v.session.clone())
                .ok_or_else(|| AppError::Internal("issuing without a session".into()))?;
            let lifetimes = state.provider.lifetimes;
            let code_req = areq.clone();
            let code = state
                .db
                .run(move |conn| {
                    authorize::issue_code(conn, &code_req, &session, &lifetimes, now())
                })
                .await?;
            reply_to_client(state, &authorize::success_reply(&areq, &code, &issuer))
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
