//! Structured logs: readable lines on a terminal, JSON for machines; one line per request with
//! its request ID, method, path (never the query string, which may carry codes), status and
//! duration in milliseconds (until the response head was ready).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(settings: &LogSettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

pub struct RequestSpan;

/// When the request reached the logger, kept in its extensions for the duration.
#[derive(Clone, Copy)]
struct Started(Instant);

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Started(Instant::now()));
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "request",
            request_id = %request_id.map(|r| r.to_string()).unwrap_or_default(),
            method = %request.method(),
            path = %request.path(),
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, started) = match outcome {
            Ok(res) => (
                res.status().as_u16(),
                res.request().extensions().get::<Started>().copied(),
            ),
            // A middleware's error carries no request; the line goes without a duration.
            Err(e) => (e.as_response_error().status_code().as_u16(), None),
        };
        span.record("status", status);
        match started {
            Some(Started(at)) => {
                // Milliseconds with microsecond precision: a cached page takes well under one.
                let duration_ms = (at.elapsed().as_micros() as f64) / 1000.0;
                span.record("duration_ms", duration_ms);
                span.in_scope(|| tracing::info!(status, duration_ms, "handled"));
            }
            None => span.in_scope(|| tracing::info!(status, "handled")),
        }
    }
}

/// Middleware: echoes the request ID in `X-Request-Id` so a user's report can be matched to logs.
pub async fn request_id_header(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut res = next.call(req).await?;
    if let Some(Ok(value)) =
        id.map(|id| actix_web::http::header::HeaderValue::from_str(&id.to_string()))
    {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            value,
        );
    }
    Ok(res)
}
