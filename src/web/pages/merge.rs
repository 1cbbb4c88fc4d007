//! Merging another account into the signed-in one (`identity::merge`): the person starts from
//! the account that stays, signs in to the other in the same browser (any of its methods, with
//! its second factor), and confirms. The browser then holds a session of the survivor.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::i18n::Msg;
use crate::identity::merge::{self, Keep, Merged};
use crate::identity::now;
use crate::identity::sessions::{self, Admission, Proof};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::pages::auth::MessageView;
use crate::web::viewer::{admit, browser_client, SignedIn};
use crate::web::{render, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/merge", web::get().to(start_page))
        .route("/account/merge/start", web::post().to(start))
        .route("/account/merge/confirm", web::get().to(confirm_page))
        .route("/account/merge/confirm", web::post().to(confirm));
}

fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-portcullis_merge"
    } else {
        "portcullis_merge"
    }
}

fn token_of(state: &AppState, req: &HttpRequest) -> Option<String> {
    req.cookie(cookie_name(state))
        .map(|c| c.value().to_string())
        .filter(|t| !t.is_empty())
}

fn merge_cookie(state: &AppState, token: &str, max_age_minutes: i64) -> Cookie<'static> {
    Cookie::build(cookie_name(state), token.to_string())
        .path("/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(max_age_minutes))
        .finish()
}

#[derive(Serialize, Default)]
struct MergeView<'a> {
    current_email: &'a str,
    survivor_email: Option<&'a str>,
    merged_email: &'a str,
    merged_name: &'a str,
}

async fn start_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
) -> AppResult<HttpResponse> {
    let view = MergeView {
        current_email: &me.user.email,
        ..MergeView::default()
    };
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "account/merge.html",
        &view,
    )
}

/// Remembers (in this browser) that the signed-in user is the one to keep, then asks for the
/// other account's sign-in.
async fn start(
    state: web::Data<AppState>,
    me: SignedIn,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let survivor = me.user.id.clone();
    let token = state
        .db
        .run(move |conn| Ok(merge::begin(conn, &survivor, now())?))
        .await?;
    let mut res = see_other("/login?force=1&return_to=%2Faccount%2Fmerge%2Fconfirm");
    res.add_cookie(&merge_cookie(&state, &token, merge::PENDING_MINUTES))?;
    Ok(res)
}

fn message(
    state: &AppState,
    req: &HttpRequest,
    me: Option<&SignedIn>,
    status: StatusCode,
    text: Msg,
) -> AppResult<HttpResponse> {
    let view = MessageView {
        title: Msg::new("merge-title"),
        message: text,
        link_href: Some("/account"),
        link_text: Some(Msg::new("account-nav-profile")),
    };
    let mut res = render(state, req, me, status, "message.html", &view)?;
    let mut gone = merge_cookie(state, "", 0);
    gone.make_removal();
    res.add_cookie(&gone)?;
    Ok(res)
}

async fn confirm_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
) -> AppResult<HttpResponse> {
    let Some(token) = token_of(&state, &req) else {
        return message(
            &state,
            &req,
            Some(&me),
            StatusCode::GONE,
            Msg::new("merge-expired"),
        );
    };
    let survivor = state
        .db
        .run(move |conn| Ok(merge::pending(conn, &token, now())?))
        .await?;
    let Some(survivor) = survivor else {
        return message(
            &state,
            &req,
            Some(&me),
            StatusCode::GONE,
            Msg::new("merge-expired"),
        );
    };
    if survivor.id == me.user.id {
        return message(
            &state,
            &req,
            Some(&me),
            StatusCode::CONFLICT,
            Msg::new("merge-same"),
        );
    }
    let view = MergeView {
        current_email: &me.user.email,
        survivor_email: Some(&survivor.email),
        merged_email: &me.user.email,
        merged_name: &me.user.name,
    };
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "account/merge.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfirmForm {
    take_name: Option<String>,
    take_picture: Option<String>,
}

/// Merges the signed-in user into the one that started, and signs this browser in as that one
/// with the proof just given.
async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<ConfirmForm>,
) -> AppResult<HttpResponse> {
    let Some(token) = token_of(&state, &req) else {
        return message(
            &state,
            &req,
            Some(&me),
            StatusCode::GONE,
            Msg::new("merge-expired"),
        );
    };
    let form = form.into_inner();
    let keep = Keep {
        their_name: form.take_name.is_some(),
        their_picture: form.take_picture.is_some(),
    };
    let (policy, links, client) = (
        state.session_policy,
        state.links(&req),
        browser_client(&state, &req),
    );
    let proven = me.session.clone();
    let done = state
        .db
        .run(move |conn| {
            let now = now();
            let ip = client.ip.clone();
            let Some((survivor, merged)) =
                merge::finish(conn, &token, &proven.user_id, keep, ip.as_deref(), now)?
            else {
                return Ok(None);
            };
            let Merged::Done { .. } = merged else {
                return Ok(Some(Err(merged)));
            };
            let Some(user) = crate::db::models::User::find(conn, &survivor)? else {
                return Ok(None);
            };
            // The other account's methods are the survivor's now: the proof just given counts.
            let proof = Proof {
                method: &proven.auth_method,
                first_at: proven.first_factor_at,
                second_at: proven.second_factor_at,
            };
            let issued =
                sessions::complete_sign_in(conn, &policy, &links, &user, &proof, &client, now)?;
            Ok(Some(Ok(issued)))
        })
        .await?;
    state.backchannel.wake();
    state.mail.wake();
    match done {
        None => message(
            &state,
            &req,
            Some(&me),
            StatusCode::GONE,
            Msg::new("merge-expired"),
        ),
        Some(Err(Merged::SameUser)) => message(
            &state,
            &req,
            Some(&me),
            StatusCode::CONFLICT,
            Msg::new("merge-same"),
        ),
        Some(Err(_)) => message(
            &state,
            &req,
            None,
            StatusCode::GONE,
            Msg::new("merge-expired"),
        ),
        Some(Ok(issued)) => {
            let mut res = admit(
                &state,
                "/account?notice=merged",
                &Admission::Session(Box::new(issued)),
            )?;
            let mut gone = merge_cookie(&state, "", 0);
            gone.make_removal();
            res.add_cookie(&gone)?;
            Ok(res)
        }
    }
}
