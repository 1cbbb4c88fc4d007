//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

use super::AppState;

/// The process is up and serving.
pub async fn alive() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers; 503 otherwise, so traffic goes elsewhere.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.db.backend();
    match state
        .db
        .run(|conn| Ok(conn.batch_execute("SELECT 1")?))
        .await
    {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready", "database": backend })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": backend }))
        }
    }
}
