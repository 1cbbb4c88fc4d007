//! The authorization endpoint and the pages on its way: login, consent, the answer to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::db::models::{Consent, Session};
use crate::error::{AppError, AppResult};
use crate::identity::now;
use crate::oidc::authorize::{self, AuthorizationRequest, Next, RawParams, Rejection, Reply, ResponseMode, SessionFacts};
use crate::oidc::clients::Client;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::scope::Scope;
use crate::web::viewer::{SignedIn, Viewer};
use crate::web::{csrf, render, return_to, see_other, AppState};

pub async fn authorize_get(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer) -> AppResult<HttpResponse> {
    let params = RawParams::from_pairs(url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned());
    start(state, req, viewer, params).await
}

/// OIDC Core §3.1.2.1: the request may also come as a form POST.
pub async fn authorize_post(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer, body: web::Bytes) -> AppResult<HttpResponse> {
    let pairs = super::form_pairs(&req, &body).map_err(|e| AppError::BadRequest(e.error_description))?;
    start(state, req, viewer, RawParams::from_pairs(pairs)).await
}

async fn start(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer, params: RawParams) -> AppResult<HttpResponse> {
    let client_id = params.get("client_id").map(str::to_string);
    let client = match client_id {
        Some(id) => state.db.run(move |conn| Client::find(conn, &id)).await?,
        None => None,
    };
    match authorize::parse(&params, client.as_ref(), &state.provider.issuer, now()) {
        Ok(areq) => proceed(&state, &req, viewer.0.as_ref(), areq, false).await,
        Err(Rejection::Page(message)) => Err(AppError::BadRequest(message)),
        Err(Rejection::Redirect(reply)) => reply_to_client(&state, &reply),
    }
}

#[derive(Deserialize)]
pub struct ResumeQuery {
    #[serde(default)]
    req: String,
}

/// Back from the login page.
pub async fn resume(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer, query: web::Query<ResumeQuery>) -> AppResult<HttpResponse> {
    let areq = unseal(&state, &query.req)?;
    proceed(&state, &req, viewer.0.as_ref(), areq, false).await
}

fn unseal(state: &AppState, sealed: &str) -> AppResult<AuthorizationRequest> {
    authorize::unseal(sealed, &state.master_key, now(), &state.provider.lifetimes).ok_or_else(|| {
        AppError::BadRequest("This sign-in request has expired or is invalid. Go back to the application and start again.".into())
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConsentForm {
    csrf_token: String,
    req: String,
    decision: String,
}

pub async fn consent(state: web::Data<AppState>, req: HttpRequest, me: SignedIn, form: web::Form<ConsentForm>) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let areq = unseal(&state, &form.req)?;
    if form.decision != "allow" {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user declined");
        return reply_to_client(&state, &authorize::rejection(&areq, &state.provider.issuer, denied));
    }
    let (user_id, client_id, scope) = (me.user.id.clone(), areq.client_id.clone(), areq.scope());
    state.db.run(move |conn| authorize::record_consent(conn, &user_id, &client_id, &scope, now())).await?;
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
    let (client_id, hint, user_id) = (areq.client_id.clone(), areq.id_token_hint.clone(), viewer.map(|v| v.user.id.clone()));
    let looked_up = state
        .db
        .run(move |conn| {
            let client = Client::find(conn, &client_id)?;
            let hint = match hint {
                Some(t) => Some(authorize::verify_id_token_hint(&provider.keys.current(), &t, &provider.issuer).ok().map(|c| c.sub)),
                None => None,
            };
            let consented = match &user_id {
                Some(u) => Consent::find(conn, u, &client_id)?.map(|c| Scope::from_stored(&c.scope)),
                None => None,
            };
            Ok((client, hint, consented))
        })
        .await?;
    let (client, hint, consented) = looked_up;
    let client = client.ok_or_else(|| AppError::BadRequest("The application is no longer registered here.".into()))?;
    let hint_subject = match hint {
        Some(None) => {
            let bad = OAuthError::invalid_request("id_token_hint is not a valid ID token from this provider");
            return reply_to_client(state, &authorize::rejection(&areq, &issuer, bad));
        }
        Some(Some(sub)) => Some(sub),
        None => None,
    };
    // accounts.require_verified_email: no authorization for an unconfirmed address.
    if let Some(v) = viewer.filter(|v| state.settings.accounts.require_verified_email && !v.user.email_verified) {
        if areq.has_prompt("none") {
            let e = OAuthError::new(ErrorCode::InteractionRequired, "the user must confirm their email address");
            return reply_to_client(state, &authorize::rejection(&areq, &issuer, e));
        }
        let view = serde_json::json!({
            "title": "Confirm your email address",
            "message": format!("Follow the link we sent to {} to confirm it, then go back to the application.", v.user.email),
            "link_href": "/account",
            "link_text": "Your account",
        });
        return render(state, req, Some(v), StatusCode::FORBIDDEN, "message.html", &view);
    }
    let facts = viewer.map(|v| SessionFacts { user_id: v.user.id.clone(), auth_time: v.session.auth_time });
    let decision = authorize::decide(&areq, &client, facts.as_ref(), hint_subject.as_deref(), consented.as_ref(), consent_just_given, now());
    match decision {
        Err(e) => reply_to_client(state, &authorize::rejection(&areq, &issuer, e)),
        Ok(Next::Login { force }) => Ok(see_other(&login_url(state, &areq, force))),
        Ok(Next::Consent) => {
            let me = viewer.ok_or_else(|| AppError::Internal("consent without a session".into()))?;
            let view = ConsentView {
                client_name: client.name.clone(),
                scopes: describe(&areq.scope()),
                sealed: authorize::seal(&areq, &state.master_key),
            };
            render(state, req, Some(me), StatusCode::OK, "consent.html", &view)
        }
        Ok(Next::Issue) => {
            let session: Session = viewer.map(|v| v.session.clone()).ok_or_else(|| AppError::Internal("issuing without a session".into()))?;
            let lifetimes = state.provider.lifetimes;
            let code_req = areq.clone();
            let code = state.db.run(move |conn| authorize::issue_code(conn, &code_req, &session, &lifetimes, now())).await?;
            reply_to_client(state, &authorize::success_reply(&areq, &code, &issuer))
        }
    }
}

fn login_url(state: &AppState, areq: &AuthorizationRequest, force: bool) -> String {
    let resume = format!("/authorize/continue?req={}", authorize::seal(areq, &state.master_key));
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
    sealed: String,
}

#[derive(Serialize)]
struct ScopeLine {
    name: String,
    description: &'static str,
}

fn describe(scope: &Scope) -> Vec<ScopeLine> {
    scope
        .iter()
        .map(|s| ScopeLine {
            name: s.to_string(),
            description: match s {
                "openid" => "Know who you are (your account ID)",
                "profile" => "See your name, picture, website, time zone and language",
                "email" => "See your email address and whether it is verified",
                "offline_access" => "Stay connected when you are not using it",
                _ => "Other access",
            },
        })
        .collect()
}

/// Sends the answer to the client: a redirect, or an auto-submitting form for form_post.
pub fn reply_to_client(state: &AppState, reply: &Reply) -> AppResult<HttpResponse> {
    match reply.mode {
        ResponseMode::Query => Ok(HttpResponse::Found().insert_header((header::LOCATION, reply.location())).finish()),
        ResponseMode::FormPost => {
            let nonce = crate::crypto::random_token(16);
            let view = FormPostView {
                action: reply.redirect_uri.clone(),
                params: reply.params.iter().map(|(k, v)| [k.clone(), v.clone()]).collect(),
                nonce: nonce.clone(),
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
}
