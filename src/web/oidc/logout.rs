//! The end-session endpoint (RP-initiated logout 1.0), and the sign-out step the pages share.
//! Deciding is `oidc::logout`, ending the session (and queueing the back-channel logouts) is
//! `identity::sessions`; here requests are parsed and pages rendered.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, ValidationError};
use crate::identity::ids::SessionId;
use crate::identity::{now, sessions};
use crate::oidc::logout::{self, EndSessionRequest, EndSessionStep};
use crate::web::csrf::CsrfForm;
use crate::web::viewer::{clear_session_cookie, client_info, Viewer};
use crate::web::{render, see_other, AppState};

/// Signs out the browser session behind `token`; its clients are told over the back channel.
pub async fn end_browser_session(
    state: &AppState,
    token: String,
    ip: Option<String>,
) -> AppResult<()> {
    state
        .db
        .run(move |conn| Ok(sessions::sign_out(conn, &token, ip.as_deref(), now())?))
        .await?;
    state.backchannel.wake();
    Ok(())
}

/// After sessions were ended by id (revoked from the account page, password changes): the
/// transaction that ended them queued their back-channel logouts; this sends them now rather
/// than at the worker's next poll.
pub async fn notify_sessions_ended(state: &AppState, session_ids: Vec<SessionId>) -> AppResult<()> {
    if !session_ids.is_empty() {
        state.backchannel.wake();
    }
    Ok(())
}

fn end_session_params(pairs: Vec<(String, String)>) -> EndSessionRequest {
    let mut r = EndSessionRequest::default();
    for (k, v) in pairs.into_iter().filter(|(_, v)| !v.is_empty()) {
        match k.as_str() {
            "id_token_hint" => r.id_token_hint = Some(v),
            "post_logout_redirect_uri" => r.post_logout_redirect_uri = Some(v),
            "state" => r.state = Some(v),
            "client_id" => r.client_id = Some(v),
            _ => {}
        }
    }
    r
}

pub async fn end_session_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> AppResult<HttpResponse> {
    let pairs = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    end_session(state, req, viewer, end_session_params(pairs)).await
}

pub async fn end_session_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let pairs = super::form_pairs(&req, &body)
        .map_err(|e| ValidationError::Form(e.description().to_string()))?;
    end_session(state, req, viewer, end_session_params(pairs)).await
}

#[derive(Serialize)]
struct ConfirmView {
    client_name: Option<String>,
    params: Vec<[String; 2]>,
}

async fn check(state: &AppState, params: EndSessionRequest) -> AppResult<logout::EndSession> {
    let provider = state.provider.clone();
    state
        .db
        .run(move |conn| logout::check(conn, &provider.keys.current(), &provider.issuer, &params))
        .await?
        .map_err(AppError::Refused)
}

async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    params: EndSessionRequest,
) -> AppResult<HttpResponse> {
    let checked = check(&state, params.clone()).await?;
    let me = match (
        checked.step(viewer.0.as_ref().map(|me| me.user.id.as_str())),
        viewer.0,
    ) {
        (EndSessionStep::Confirm, Some(me)) => me,
        (EndSessionStep::SignOut, _) => {
            return sign_out_and_finish(&state, &req, checked.redirect.as_deref()).await
        }
        _ => return Ok(finish(&state, &req, checked.redirect.as_deref())),
    };
    let carry = [
        ("id_token_hint", params.id_token_hint),
        ("post_logout_redirect_uri", params.post_logout_redirect_uri),
        ("state", params.state),
        ("client_id", params.client_id),
    ];
    let view = ConfirmView {
        client_name: checked.client_name,
        params: carry
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| [k.to_string(), v]))
            .collect(),
    };
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "logout_confirm.html",
        &view,
    )
}

/// The confirmation page's form: the end-session parameters it carried along.
#[derive(Deserialize)]
pub struct ConfirmForm {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
}

/// The person confirmed on our page.
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<ConfirmForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    // As at the endpoint itself, an empty parameter counts as absent.
    let present = |v: Option<String>| v.filter(|v| !v.is_empty());
    let params = EndSessionRequest {
        id_token_hint: present(form.id_token_hint),
        post_logout_redirect_uri: present(form.post_logout_redirect_uri),
        state: present(form.state),
        client_id: present(form.client_id),
    };
    let checked = check(&state, params).await?;
    sign_out_and_finish(&state, &req, checked.redirect.as_deref()).await
}

async fn sign_out_and_finish(
    state: &AppState,
    req: &HttpRequest,
    redirect: Option<&str>,
) -> AppResult<HttpResponse> {
    if let Some(token) = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_string())
    {
        end_browser_session(state, token, client_info(req).ip).await?;
    }
    let mut res = finish(state, req, redirect);
    res.add_cookie(&clear_session_cookie(state))?;
    Ok(res)
}

fn finish(state: &AppState, req: &HttpRequest, redirect: Option<&str>) -> HttpResponse {
    match redirect {
        Some(uri) => see_other(uri),
        None => render(state, req, None, StatusCode::OK, "logged_out.html", &())
            .unwrap_or_else(|e| actix_web::ResponseError::error_response(&e)),
    }
}
