//! `/account/apps`: the applications a person has let sign them in, and revoking them.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::Connection;
use serde::{Deserialize, Serialize};

use crate::db::models::{Consent, Grant, OAuthClient};
use crate::error::AppResult;
use crate::i18n::Msg;
use crate::identity::time_zone::display_date;
use crate::identity::{now, profile};
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
    client_id: String,
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
    let (consents, grants, zone) = state
        .db
        .run(move |conn| {
            let consents: Vec<(Consent, Option<String>)> = Consent::for_user(conn, &user_id)?
                .into_iter()
                .map(|c| {
                    let name = OAuthClient::find(conn, &c.client_id)?.map(|cl| cl.name);
                    Ok((c, name))
                })
                .collect::<Result<_, diesel::result::Error>>()?;
            Ok((
                consents,
                Grant::active_for_user(conn, &user_id)?,
                profile::time_zone_of(conn, &user_id)?,
            ))
        })
        .await?;
    // One row per application: consented ones, plus skip-consent ones that hold live grants.
    let mut rows: BTreeMap<String, AppRow> = BTreeMap::new();
    for (c, name) in consents {
        rows.insert(
            c.client_id.clone(),
            AppRow {
                name: name.unwrap_or_else(|| c.client_id.clone()),
                scopes: describe(&Scope::from_stored(&c.scope)),
                granted_at: display_date(c.created_at, zone),
                client_id: c.client_id,
            },
        );
    }
    for (g, name) in grants {
        rows.entry(g.client_id.clone()).or_insert(AppRow {
            client_id: g.client_id,
            name,
            scopes: describe(&Scope::from_stored(&g.scope)),
            granted_at: display_date(g.created_at, zone),
        });
    }
    let notice = query
        .notice
        .as_deref()
        .filter(|n| *n == "revoked")
        .map(|_| Msg::new("notice-app-revoked"));
    let view = AppsView {
        apps: rows.into_values().collect(),
        notice,
    };
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
    let (user_id, client_id) = (me.user.id.clone(), form.client_id.clone());
    state
        .db
        .run(move |conn| {
            Ok(conn.transaction::<_, diesel::result::Error, _>(|conn| {
                Grant::revoke_for_user_client(conn, &user_id, &client_id, now())?;
                Consent::delete(conn, &user_id, &client_id)?;
                Ok(())
            })?)
        })
        .await?;
    Ok(see_other("/account/apps?notice=revoked"))
}
