//! The HTTP edge: thin actix handlers that parse, call `identity`, and render `templates/`.

pub mod admin;
pub mod csrf;
pub mod error_page;
pub mod headers;
pub mod health;
pub mod locale;
pub mod metrics;
pub mod oidc;
pub mod pages;
pub mod return_to;
pub mod templates;
pub mod viewer;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{middleware, web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::identity::password::PasswordHasher;
use crate::identity::sessions::SessionPolicy;
use templates::Templates;
use viewer::{SignedIn, UserView};

/// Everything handlers share. Cheap to clone; nothing correctness depends on lives only here.
pub struct AppState {
    pub db: Db,
    pub templates: Templates,
    pub hasher: PasswordHasher,
    pub session_policy: SessionPolicy,
    pub settings: Arc<Settings>,
    pub master_key: MasterKey,
    pub provider: Arc<crate::oidc::Provider>,
    /// For calls to upstream providers.
    pub upstream: crate::upstream::UpstreamClient,
    pub mail: crate::mail::worker::MailWorker,
    /// Wake it after ending sessions: their back-channel logouts are queued.
    pub backchannel: crate::outbox::backchannel::BackchannelWorker,
    /// The WebAuthn relying party; `None` when passkeys are off.
    pub passkeys: Option<crate::identity::passkeys::RelyingParty>,
    /// This application's Prometheus counters (`/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl AppState {
    /// What the core needs to write a mail: the issuer (for links) and the templates.
    /// `req` gives the language of mail to someone without a translated language setting.
    /// Whether the login page offers a way in besides the password: an email link or code,
    /// or a passkey (when this issuer can have them).
    pub fn other_ways_in(&self) -> bool {
        self.settings.accounts.ways_besides_password() || self.passkeys.is_some()
    }

    pub fn links(&self, req: &HttpRequest) -> crate::identity::email_flows::Links {
        crate::identity::email_flows::Links {
            issuer: self.settings.issuer().to_string(),
            templates: self.templates.clone(),
            locale: locale::of(req, None),
            other_ways_in: self.other_ways_in(),
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::alive))
        .route("/readyz", web::get().to(health::ready))
        .route("/metrics", web::get().to(metrics::scrape))
        .route("/static/{file}", web::get().to(pages::static_file))
        .route("/favicon.ico", web::get().to(pages::favicon))
        .configure(oidc::api_routes)
        .configure(admin::api::routes)
        .service(
            web::scope("")
                .wrap(middleware::from_fn(csrf::ensure_cookie))
                .configure(pages::auth::routes)
                .configure(pages::link::routes)
                .configure(pages::merge::routes)
                .configure(pages::account::routes)
                .configure(pages::apps::routes)
                .configure(pages::upstream::routes)
                .configure(pages::email::routes)
                .configure(pages::security::routes)
                .configure(pages::passkeys::routes)
                .configure(admin::console::routes)
                .configure(oidc::page_routes)
                .default_service(web::to(not_found)),
        );
}

/// Takes the viewer only so that a signed-in person's 404 page is in their language.
async fn not_found(_viewer: viewer::Viewer) -> AppResult<HttpResponse> {
    Err(AppError::NotFound)
}

/// The view model every page gets besides its own.
#[derive(Serialize)]
struct Page<'a, T: Serialize> {
    #[serde(flatten)]
    view: &'a T,
    csrf_token: String,
    user: Option<UserView>,
    theme: &'a str,
    /// The locale the page is rendered in; `t()` reads it, and `<html lang>` shows it.
    locale: &'static str,
    /// The same, under the name themes written before translations use.
    lang: &'static str,
}

/// Renders a full page for whoever is asking.
pub fn render<T: Serialize>(
    state: &AppState,
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
    status: actix_web::http::StatusCode,
    template: &str,
    view: &T,
) -> AppResult<HttpResponse> {
    let locale = locale::of(req, viewer).code();
    let page = Page {
        view,
        csrf_token: csrf::token(req),
        user: viewer.map(|v| UserView::from(&v.user)),
        theme: viewer.map_or("system", |v| v.theme.as_str()),
        locale,
        lang: locale,
    };
    let body = state.templates.render(template, &page)?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(body))
}

/// Post/redirect/get: a 303 to a local path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// Form extractor settings: size limit, and a page (not a bare 400) for undecodable bodies.
pub fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(|err, _req| {
            let why = match &err {
                actix_web::error::UrlencodedError::Overflow { .. } => "error-form-too-large",
                _ => "error-form-unreadable",
            };
            AppError::Refused(why.into()).into()
        })
}
