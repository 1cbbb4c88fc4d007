//! The admin side over HTTP (issue 14): the REST API (`api`) and the console (`console`), both
//! thin over `crate::admin`, and who may call them (`caller`).

pub mod api;
pub mod caller;
pub mod console;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::db::failure::DbFailure;
use crate::error::AppError;

/// The API's one error shape: `{"error": code, "message": text}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `unauthorized`, `invalid_token`, `reauthentication_required`, `forbidden`, `csrf`,
    /// `not_found`, `invalid_request`, `conflict`, `managed_by_config`,
    /// `temporarily_unavailable` or `server_error`.
    pub error: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, error: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                message: message.into(),
            },
        }
    }

    pub fn unauthorized(message: &str) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn unauthorized_code(code: &str, message: &str) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &str, message: &str) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.body.error, self.body.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((
                actix_web::http::header::WWW_AUTHENTICATE,
                format!(
                    "Bearer realm=\"portcullis-admin\", error=\"{}\"",
                    self.body.error
                ),
            ));
        }
        res.json(&self.body)
    }
}

/// What the API says about a database failure: never the database's own text, which can name
/// tables and columns.
fn db_message(failure: DbFailure) -> &'static str {
    match failure {
        DbFailure::Duplicate => "conflicts with a concurrent change: the value is already taken",
        DbFailure::Reference => {
            "conflicts with a concurrent change: what it refers to is gone or still in use"
        }
        DbFailure::Missing => "a required value is missing",
        DbFailure::OutOfRange => "a value is outside what is allowed",
        DbFailure::Timeout => "the database did not answer in time; nothing was changed; try again",
        DbFailure::Other => "something went wrong on the server; it was logged",
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let status = match &e {
            AdminError::NotFound(_) | AdminError::App(AppError::NotFound) => StatusCode::NOT_FOUND,
            AdminError::Invalid(_) | AdminError::App(AppError::Invalid(_)) => {
                StatusCode::BAD_REQUEST
            }
            AdminError::Conflict(_) | AdminError::Managed { .. } => StatusCode::CONFLICT,
            AdminError::App(AppError::Pool(_)) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::App(AppError::Database(db)) => {
                crate::web::error_page::db_status(DbFailure::of(db))
            }
            AdminError::App(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if let AdminError::App(AppError::Database(db)) = &e {
            let failure = DbFailure::of(db);
            if failure.is_client_facing() {
                tracing::warn!(error = %e, "admin API call refused by the database");
            } else {
                tracing::error!(error = %e, "admin API call failed");
            }
            db_message(failure).to_string()
        } else if status.is_server_error() {
            // Logged, never shown: it may name tables or hosts.
            tracing::error!(error = %e, "admin API call failed");
            if status == StatusCode::SERVICE_UNAVAILABLE {
                "the database is busy; try again".to_string()
            } else {
                "something went wrong on the server; it was logged".to_string()
            }
        } else {
            e.to_string()
        };
        ApiError::new(status, e.code(), message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        AdminError::App(e).into()
    }
}
