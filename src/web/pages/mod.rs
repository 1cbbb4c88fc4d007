//! Page handlers.

pub mod account;
pub mod apps;
pub mod auth;
pub mod email;
pub mod link;
pub mod merge;
pub mod passkeys;
pub mod security;
pub mod upstream;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::AppState;
use crate::error::AppError;

/// `/static/{file}`: the stylesheet and theme assets.
pub async fn static_file(
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let body = state
        .templates
        .static_file(&file)
        .ok_or(AppError::NotFound)?;
    let content_type = if file.ends_with(".css") {
        "text/css; charset=utf-8"
    } else if file.ends_with(".js") {
        "text/javascript; charset=utf-8"
    } else if file.ends_with(".svg") {
        "image/svg+xml"
    } else {
        "application/octet-stream"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body))
}

/// `/favicon.ico`: browsers ask for it whatever the page links, so it answers with the themable
/// SVG icon (Chromium and Firefox take SVG from this path) instead of a 404 in every console.
pub async fn favicon(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    static_file(state, web::Path::from("favicon.svg".to_string())).await
}
