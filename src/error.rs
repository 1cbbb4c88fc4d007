//! The one error type. Page errors render the error page (in the request's language, see
//! `web::locale`); nothing internal leaks to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::i18n::Msg;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// A request we cannot serve; the text is technical (protocol errors, CLI usage) and shown
    /// untranslated under a translated title.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A request we cannot serve, with a message for the person, from the catalogue.
    #[error("bad request: {}", .0.key())]
    Refused(Msg),
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
    /// Title and message of the error page.
    fn page(&self) -> (Msg, crate::web::templates::ErrorText<'_>) {
        use crate::web::templates::ErrorText::{Detail, Message};
        let msg = |key: &'static str| Message(Msg::new(key));
        match self {
            AppError::NotFound => (
                Msg::new("error-not-found-title"),
                msg("error-not-found-message"),
            ),
            AppError::BadRequest(why) => (Msg::new("error-bad-request-title"), Detail(why)),
            AppError::Refused(why) => (Msg::new("error-bad-request-title"), Message(why.clone())),
            AppError::Csrf => (Msg::new("error-csrf-title"), msg("error-csrf-message")),
            AppError::LoginRequired { .. } => (
                Msg::new("error-login-required-title"),
                msg("error-login-required-message"),
            ),
            AppError::Pool(_) => (
                Msg::new("error-unavailable-title"),
                msg("error-unavailable-message"),
            ),
            _ => (
                Msg::new("error-generic-title"),
                msg("error-unexpected-message"),
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) | AppError::Refused(_) => StatusCode::BAD_REQUEST,
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
            let location = format!(
                "/login?return_to={}",
                crate::web::return_to::encode(return_to)
            );
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let (title, message) = self.page();
        crate::web::templates::error_page(status, title, message)
    }
}

impl From<actix_web::error::HttpError> for AppError {
    fn from(e: actix_web::error::HttpError) -> Self {
        AppError::Internal(format!("http: {e}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
