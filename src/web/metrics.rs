//! `/metrics` for Prometheus, and the middleware that counts and times every request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest, HttpResponse};

use super::AppState;
use crate::error::{AppError, AppResult};
use crate::metrics;

/// The scrape: 404 when `metrics.enabled` is off, 401 without the configured bearer token.
pub async fn scrape(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let settings = &state.settings.metrics;
    if !settings.enabled {
        return Err(AppError::NotFound);
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !metrics::scrape_allowed(settings, authorization) {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    let text = metrics::scrape(&state.db, &state.metrics).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type(metrics::CONTENT_TYPE)
        .body(text))
}

/// Counts each request under its route pattern (`/auth/{slug}/start`, never the raw path) and
/// status, and times it until its response head is ready.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let res = next.call(req).await;
    if let Some(state) = state {
        let (route, status) = match &res {
            Ok(res) => (
                res.request().match_pattern().filter(|p| !p.is_empty()),
                res.status(),
            ),
            Err(e) => (None, e.as_response_error().status_code()),
        };
        state.metrics.http_request(
            method.as_str(),
            route.as_deref(),
            status.as_u16(),
            started.elapsed(),
        );
    }
    res
}
