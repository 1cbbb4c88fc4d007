//! Signing in (and linking) with an upstream provider: start, callback, unlink.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::Connection;
use serde::Deserialize;

use crate::db::models::Account;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::identity::linking::{self, Resolution};
use crate::identity::sessions::AuthMethod;
use crate::identity::{now, sessions};
use crate::upstream::{connector, flow, registry, UpstreamError};
use crate::web::oidc::logout::end_browser_session;
use crate::web::templates::{error_page, ErrorText};
use crate::web::viewer::{add_session_cookies, browser_client, SignedIn};
use crate::web::{csrf, return_to, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/{slug}/start", web::get().to(start))
        .route("/auth/{slug}/link", web::post().to(link))
        .route("/auth/callback/{slug}", web::get().to(callback))
        .route("/account/methods/unlink", web::post().to(unlink));
}

fn redirect_uri(state: &AppState, slug: &str) -> String {
    format!("{}/auth/callback/{slug}", state.settings.issuer())
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

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkForm {
    csrf_token: String,
}

/// Linking is a POST with CSRF: it attaches whatever account comes back to the signed-in user.
async fn link(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    slug: web::Path<String>,
    form: web::Form<LinkForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    begin(
        &state,
        &slug,
        Some("/account/methods".into()),
        Some(me.user.id.clone()),
    )
    .await
}

async fn begin(
    state: &AppState,
    slug: &str,
    back: Option<String>,
    link_user: Option<String>,
) -> AppResult<HttpResponse> {
    let (mk, slug_owned, ttl) = (
        state.master_key.clone(),
        slug.to_string(),
        state.upstream_ttl,
    );
    let started = state
        .db
        .run(move |conn| {
            let Some(cfg) = registry::enabled(conn, &mk, &slug_owned)? else {
                return Ok(None);
            };
            let (pending, sealed) =
                flow::begin(conn, &mk, &slug_owned, back, link_user, now(), ttl)?;
            Ok(Some((cfg, pending, sealed)))
        })
        .await?;
    let Some((cfg, pending, sealed)) = started else {
        return Err(AppError::NotFound);
    };
    let start = connector::Start {
        redirect_uri: redirect_uri(state, slug),
        state: pending.state,
        nonce: pending.nonce,
        pkce_verifier: pending.pkce_verifier,
    };
    let url = match connector::authorization_url(&cfg, &state.upstream_http, &start).await {
        Ok(url) => url,
        Err(e) => return Ok(failure_page(&e)),
    };
    let cookie = Cookie::build(flow::COOKIE, sealed)
        .path("/auth/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            state.upstream_ttl.num_seconds(),
        ))
        .finish();
    let mut res = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url))
        .finish();
    res.add_cookie(&cookie)?;
    Ok(res)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> AppResult<HttpResponse> {
    let slug = slug.into_inner();
    let cookie = req.cookie(flow::COOKIE).map(|c| c.value().to_string());
    let (mk, s, st) = (state.master_key.clone(), slug.clone(), query.state.clone());
    let checked = state
        .db
        .run(move |conn| {
            let pending = flow::finish(conn, &mk, cookie.as_deref(), &s, st.as_deref(), now())?;
            let cfg = registry::enabled(conn, &mk, &s)?;
            Ok((pending, cfg))
        })
        .await?;
    let (pending, cfg) = checked;
    let Some(cfg) = cfg else {
        return Err(AppError::NotFound);
    };
    let pending = match pending {
        Ok(p) => p,
        Err(e) => return Ok(clear_flow_cookie(failure_page(&e))),
    };
    if let Some(error) = &query.error {
        let e = if error == "access_denied" {
            UpstreamError::Denied(cfg.display_name.clone())
        } else {
            let detail = query
                .error_description
                .clone()
                .unwrap_or_else(|| error.clone());
            UpstreamError::ProviderError(
                cfg.display_name.clone(),
                detail.chars().take(200).collect(),
            )
        };
        return Ok(clear_flow_cookie(failure_page(&e)));
    }
    let Some(code) = query.code.clone() else {
        return Ok(clear_flow_cookie(failure_page(&UpstreamError::Invalid(
            cfg.display_name.clone(),
            "no code".into(),
        ))));
    };
    let cb = connector::Callback {
        redirect_uri: redirect_uri(&state, &slug),
        code,
        nonce: pending.nonce.clone(),
        pkce_verifier: pending.pkce_verifier.clone(),
    };
    let (profile, tokens) = match connector::complete(&cfg, &state.upstream_http, &cb).await {
        Ok(found) => found,
        Err(e) => {
            tracing::info!(provider = %slug, error = %e, "upstream sign-in failed");
            return Ok(clear_flow_cookie(failure_page(&e)));
        }
    };

    let (mk, policy, client) = (
        state.master_key.clone(),
        state.session_policy,
        browser_client(&state, &req),
    );
    let links = state.links(&req);
    let require_verified = state.settings.accounts.require_verified_email;
    let link_to = pending.link_user_id.clone();
    let method = format!("{}:{}", AuthMethod::Federated.as_str(), cfg.slug);
    let locale = crate::web::locale::of(&req, None);
    let outcome = state
        .db
        .run(move |conn| {
            let now = now();
            let resolved =
                linking::resolve(conn, &mk, &cfg, &profile, &tokens, link_to.as_deref(), now)?;
            if let Ok(Resolution::Created(user)) = &resolved {
                crate::identity::profile::adopt_language(conn, &user.id, locale, now)?;
            }
            let resolution = match resolved {
                Ok(r) => r,
                Err(refusal) => return Ok(Err(refusal)),
            };
            if require_verified && !resolution.user().email_verified {
                return Ok(Err(linking::LinkRefusal::Unverified(
                    resolution.user().email.clone(),
                )));
            }
            let session = conn.transaction::<_, AppError, _>(|conn| {
                sessions::sign_in(
                    conn,
                    &policy,
                    &links,
                    resolution.user(),
                    &method,
                    &client,
                    now,
                )
            })?;
            Ok(Ok((resolution, session)))
        })
        .await?;
    state.mail.wake();
    let (resolution, issued) = match outcome {
        Ok(found) => found,
        Err(refusal) => {
            let res = error_page(
                StatusCode::CONFLICT,
                Msg::new("upstream-refused-title"),
                ErrorText::Message(refusal.message()),
            );
            return Ok(clear_flow_cookie(res));
        }
    };
    if let Some(old) = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_string())
    {
        end_browser_session(&state, old, None).await?;
    }
    let target = match (&resolution, pending.return_to.as_deref()) {
        (Resolution::Linked(_), _) if pending.link_user_id.is_some() => {
            "/account/methods?notice=linked".to_string()
        }
        (_, back) => return_to::or_default(back),
    };
    let mut res = clear_flow_cookie(see_other(&target));
    add_session_cookies(&mut res, &state, &issued)?;
    Ok(res)
}

fn failure_page(e: &UpstreamError) -> HttpResponse {
    let status = match e {
        UpstreamError::Unreachable(_) => StatusCode::BAD_GATEWAY,
        UpstreamError::Restricted { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    error_page(
        status,
        Msg::new("upstream-failed-title"),
        ErrorText::Message(e.message()),
    )
}

fn clear_flow_cookie(mut res: HttpResponse) -> HttpResponse {
    let mut c = Cookie::build(flow::COOKIE, "").path("/auth/").finish();
    c.make_removal();
    let _ = res.add_cookie(&c);
    res
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UnlinkForm {
    csrf_token: String,
    account_id: String,
}

/// Removes a sign-in method, unless it is the last one left.
async fn unlink(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: web::Form<UnlinkForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &form.csrf_token)?;
    let (user_id, account_id) = (me.user.id.clone(), form.account_id.clone());
    let result = state
        .db
        .run(move |conn| {
            use diesel::Connection;
            Ok(conn.transaction::<_, AppError, _>(|conn| {
                crate::db::begin_write(conn)?;
                let accounts = Account::for_user(conn, &user_id)?;
                let Some(target) = accounts.iter().find(|a| a.id == account_id) else {
                    return Ok(Err(AppError::NotFound));
                };
                if linking::is_last_method(&accounts, &target.id) {
                    return Ok(Ok(false));
                }
                Account::delete_for_user(conn, &user_id, &target.id)?;
                crate::identity::audit::record(
                    conn,
                    crate::identity::audit::AuditKind::AccountUnlinked,
                    Some(&user_id),
                    None,
                    Some(&target.provider_id),
                    now(),
                )?;
                Ok(Ok(true))
            })?)
        })
        .await?;
    match result {
        Err(e) => Err(e),
        Ok(true) => Ok(see_other("/account/methods?notice=unlinked")),
        Ok(false) => Ok(see_other("/account/methods?notice=last")),
    }
}
