//! Signing in (and linking) with an upstream provider: start, callback, unlink.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::identity::access::EmailPolicy;
use crate::identity::federation::{
    self, Completion, Destination, Federation, ProviderAnswer, Started, Visitor,
};
use crate::identity::ids::AccountId;
use crate::identity::linking::{self, LinkRefusal, Unlinked};
use crate::identity::now;
use crate::upstream::{flow, UpstreamError};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::oidc::logout::end_browser_session;
use crate::web::templates::{error_page, ErrorText};
use crate::web::viewer::{admit, browser_client, SignedIn, Viewer};
use crate::web::{return_to, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/{slug}/start", web::get().to(start))
        .route("/auth/{slug}/link", web::post().to(link))
        .route("/auth/callback/{slug}", web::get().to(callback))
        .route("/account/methods/unlink", web::post().to(unlink));
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StartQuery {
    return_to: Option<String>,
}

async fn start(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<StartQuery>,
) -> AppResult<HttpResponse> {
    let back = query.return_to.as_deref().and_then(return_to::sanitize);
    begin(&state, &slug, back, None).await
}

/// Linking is a POST with CSRF: it attaches whatever account comes back to the signed-in user,
/// provided the callback comes back to this same session.
async fn link(
    state: web::Data<AppState>,
    me: SignedIn,
    slug: web::Path<String>,
    _checked: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let starter = flow::LinkStarter {
        user_id: me.user.id.clone(),
        session_id: me.session_id(),
    };
    begin(
        &state,
        &slug,
        Some("/account/methods".into()),
        Some(starter),
    )
    .await
}

fn federation(state: &AppState) -> Federation<'_> {
    Federation {
        db: &state.db,
        master_key: &state.master_key,
        upstream: &state.upstream,
        metrics: &state.metrics,
    }
}

async fn begin(
    state: &AppState,
    slug: &str,
    back: Option<String>,
    link: Option<flow::LinkStarter>,
) -> AppResult<HttpResponse> {
    let (url, sealed) = match federation::start(federation(state), slug, back, link).await? {
        Started::Redirect { url, flow_cookie } => (url, flow_cookie),
        Started::Failed(e) => return Ok(failure_page(&e)),
    };
    let (name, path) = flow::cookie_name_and_path(state.settings.secure_cookies());
    let cookie = Cookie::build(name, sealed)
        .path(path)
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            state.upstream.state_ttl.num_seconds(),
        ))
        .finish();
    let mut res = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url))
        .finish();
    res.add_cookie(&cookie)?;
    Ok(res)
}

async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    slug: web::Path<String>,
    answer: web::Query<ProviderAnswer>,
) -> AppResult<HttpResponse> {
    let (cookie_name, _) = flow::cookie_name_and_path(state.settings.secure_cookies());
    let visitor = Visitor {
        flow_cookie: req.cookie(cookie_name).map(|c| c.value().to_string()),
        session_id: viewer.0.map(|me| me.session_id()),
        client: browser_client(&state, &req),
        locale: crate::web::locale::of(&req, None),
        links: state.links(&req),
    };
    let completion = federation::complete(
        federation(&state),
        &slug,
        answer.into_inner(),
        visitor,
        state.session_policy,
        EmailPolicy::from(&state.settings.accounts),
    )
    .await;
    state.mail.wake();
    let (session, destination) = match completion? {
        Completion::SignedIn {
            session,
            destination,
        } => (session, destination),
        Completion::Failed(e) => return Ok(clear_flow_cookie(&state, failure_page(&e))),
        Completion::Refused(refusal) => {
            return Ok(clear_flow_cookie(&state, refusal_page(&refusal)))
        }
        Completion::ProofNeeded { token } => {
            let mut res = see_other("/link");
            res.add_cookie(&super::link::pending_cookie(&state, token))?;
            return Ok(clear_flow_cookie(&state, res));
        }
    };
    if let Some(old) = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_string())
    {
        end_browser_session(&state, old, None).await?;
    }
    let target = match destination {
        Destination::LinkedFromAccount => "/account/methods?notice=linked".to_string(),
        Destination::ReturnTo(back) => return_to::or_default(back.as_deref()),
    };
    Ok(clear_flow_cookie(&state, admit(&state, &target, &session)?))
}

fn failure_page(e: &UpstreamError) -> HttpResponse {
    let status = match e {
        UpstreamError::Unreachable(..)
        | UpstreamError::BadAnswer(..)
        | UpstreamError::TooLarge(_)
        | UpstreamError::Misconfigured(..) => StatusCode::BAD_GATEWAY,
        UpstreamError::Restricted { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let text = match e.cause() {
        Some(cause) => ErrorText::Explained {
            message: e.message(),
            cause: cause.message(),
        },
        None => ErrorText::Message(e.message()),
    };
    error_page(status, Msg::new("upstream-failed-title"), text)
}

fn refusal_page(refusal: &LinkRefusal) -> HttpResponse {
    error_page(
        StatusCode::CONFLICT,
        Msg::new("upstream-refused-title"),
        ErrorText::Message(refusal.message()),
    )
}

fn clear_flow_cookie(state: &AppState, mut res: HttpResponse) -> HttpResponse {
    let (name, path) = flow::cookie_name_and_path(state.settings.secure_cookies());
    let mut c = Cookie::build(name, "")
        .path(path)
        .secure(state.settings.secure_cookies())
        .finish();
    c.make_removal();
    let _ = res.add_cookie(&c);
    res
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UnlinkForm {
    account_id: String,
}

/// Removes a sign-in method, unless it is the last one left.
async fn unlink(
    state: web::Data<AppState>,
    me: SignedIn,
    form: CsrfForm<UnlinkForm>,
) -> AppResult<HttpResponse> {
    let account_id = AccountId::parse(&form.account_id).ok_or(AppError::NotFound)?;
    let user_id = me.user.id.clone();
    let unlinked = state
        .db
        .run(move |conn| linking::unlink(conn, &user_id, &account_id, now()))
        .await?;
    Ok(see_other(match unlinked {
        Unlinked::Removed => "/account/methods?notice=unlinked",
        Unlinked::LastMethod => "/account/methods?notice=last",
    }))
}
