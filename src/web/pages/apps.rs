//! `/account/apps`: the applications a person has let sign them in, and revoking them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::identity::ids::ClientId;
use crate::identity::time_zone::display_date;
use crate::identity::{consents, now, profile};
use crate::oidc::scope::Scope;
use crate::web::csrf::CsrfForm;
use crate::web::oidc::authorize::{describe, ScopeLine};
use crate::web::viewer::SignedIn;
use crate::web::{render, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/apps", web::get().to(apps_page))
        .route("/account/apps/revoke", web::post().to(revoke));
}

#[derive(Serialize)]
struct AppRow {
    client_id: ClientId,
    name: String,
    scopes: Vec<ScopeLine>,
    granted_at: String,
}

#[derive(Serialize)]
struct AppsView {
    apps: Vec<AppRow>,
    notice: Option<Msg>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AppsQuery {
    notice: Option<String>,
}

async fn apps_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    query: web::Query<AppsQuery>,
) -> AppResult<HttpResponse> {
    let user_id = me.user.id.clone();
    let (apps, zone) = state
        .db
        .run(move |conn| {
            Ok((
                consents::authorized_apps(conn, &user_id)?,
                profile::time_zone_of(conn, &user_id)?,
            ))
        })
        .await?;
    let rows = apps
        .into_iter()
        .map(|app| AppRow {
            scopes: describe(&Scope::from_stored(&app.scope)),
            granted_at: display_date(app.granted_at, zone),
            client_id: app.client_id,
            name: app.name,
        })
        .collect();
    let notice = query
        .notice
        .as_deref()
        .filter(|n| *n == "revoked")
        .map(|_| Msg::new("notice-app-revoked"));
    let view = AppsView { apps: rows, notice };
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "account/apps.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokeForm {
    client_id: String,
}

/// Forgets the consent and revokes every grant (and so every token) of that application.
async fn revoke(
    state: web::Data<AppState>,
    me: SignedIn,
    form: CsrfForm<RevokeForm>,
) -> AppResult<HttpResponse> {
    // Only a tampered form sends something that cannot be a client ID.
    let client_id = ClientId::parse(&form.client_id).map_err(|_| AppError::NotFound)?;
    let user_id = me.user.id.clone();
    state
        .db
        .run(move |conn| consents::revoke(conn, &user_id, &client_id, now()))
        .await?;
    Ok(see_other("/account/apps?notice=revoked"))
}
