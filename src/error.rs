//! The one error type. Page errors render the error page; nothing internal leaks to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The CSRF check failed: the form is stale or was posted from another site.
    #[error("form check failed")]
    Csrf,
    /// A page that needs a signed-in user; the response sends the browser to the login page.
    #[error("sign-in required")]
    LoginRequired { return_to: String },
    #[error("{0}")]
    Config(String),
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    fn page(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound => ("Page not found", "There is nothing at this address.".into()),
            AppError::BadRequest(why) => ("Bad request", why.clone()),
            AppError::Csrf => (
                "This form has expired",
                "The form was stale or was sent from another site. Go back, reload the page and try again."
                    .into(),
            ),
            AppError::LoginRequired { .. } => ("Sign-in required", "Please sign in.".into()),
            AppError::Pool(_) => (
                "Temporarily unavailable",
                "The service is busy or its database is unreachable. Please try again shortly.".into(),
            ),
            _ => ("Something went wrong", "An unexpected error occurred. Please try again.".into()),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Config(_) | AppError::Database(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::LoginRequired { return_to } = self {
            let location = format!("/login?return_to={}", crate::web::return_to::encode(return_to));
            return HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish();
        }
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let (title, message) = self.page();
        crate::web::templates::error_page(status, title, &message)
    }
}

impl From<actix_web::error::HttpError> for AppError {
    fn from(e: actix_web::error::HttpError) -> Self {
        AppError::Internal(format!("http: {e}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
