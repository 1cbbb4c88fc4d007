//! How an `AppError` looks to a browser: the error page, in the request's language (see
//! `web::locale`), or a redirect to the login page.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::db::failure::DbFailure;
use crate::error::AppError;
use crate::i18n::Msg;
use crate::web::templates::ErrorText;

/// Title and message of the error page (`Invalid` shows its own text instead).
fn page(e: &AppError) -> (Msg, ErrorText<'_>) {
    use ErrorText::Message;
    let msg = |key: &'static str| Message(Msg::new(key));
    match e {
        AppError::NotFound => (
            Msg::new("error-not-found-title"),
            msg("error-not-found-message"),
        ),
        AppError::Refused(why) => (Msg::new("error-bad-request-title"), Message(why.clone())),
        AppError::Csrf => (Msg::new("error-csrf-title"), msg("error-csrf-message")),
        AppError::AccountDisabled => (
            Msg::new("error-account-disabled-title"),
            msg("error-account-disabled-message"),
        ),
        AppError::LoginRequired { .. } => (
            Msg::new("error-login-required-title"),
            msg("error-login-required-message"),
        ),
        AppError::Pool(_) => (
            Msg::new("error-unavailable-title"),
            msg("error-unavailable-message"),
        ),
        AppError::Database(e) => match DbFailure::of(e) {
            DbFailure::Duplicate => (
                Msg::new("error-conflict-title"),
                msg("error-duplicate-message"),
            ),
            DbFailure::Reference => (
                Msg::new("error-conflict-title"),
                msg("error-reference-message"),
            ),
            DbFailure::Missing | DbFailure::OutOfRange => (
                Msg::new("error-not-saved-title"),
                msg("error-not-saved-message"),
            ),
            DbFailure::Timeout => (
                Msg::new("error-timeout-title"),
                msg("error-timeout-message"),
            ),
            DbFailure::Other => (
                Msg::new("error-generic-title"),
                msg("error-unexpected-message"),
            ),
        },
        _ => (
            Msg::new("error-generic-title"),
            msg("error-unexpected-message"),
        ),
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) | AppError::Refused(_) => StatusCode::BAD_REQUEST,
            AppError::Csrf | AppError::AccountDisabled => StatusCode::FORBIDDEN,
            AppError::LoginRequired { .. } | AppError::ReauthenticationRequired { .. } => {
                StatusCode::SEE_OTHER
            }
            AppError::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(e) => db_status(DbFailure::of(e)),
            AppError::Config(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let login = match self {
            AppError::LoginRequired { return_to } => Some(("", return_to)),
            AppError::ReauthenticationRequired { return_to } => Some(("force=1&", return_to)),
            _ => None,
        };
        if let Some((force, return_to)) = login {
            let location = format!(
                "/login?{force}return_to={}",
                crate::web::return_to::encode(return_to)
            );
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else if matches!(self, AppError::Database(_)) {
            // Not a fault of ours, but worth seeing if it happens often (races, a busy disk).
            tracing::warn!(error = %self, status = status.as_u16(), "request refused by the database");
        }
        if let AppError::Invalid(why) = self {
            let why = why.to_string();
            let title = Msg::new("error-bad-request-title");
            return crate::web::templates::error_page(status, title, ErrorText::Detail(&why));
        }
        let (title, message) = page(self);
        crate::web::templates::error_page(status, title, message)
    }
}

/// The status a database failure answers with: the same for pages and the admin API.
pub fn db_status(failure: DbFailure) -> StatusCode {
    match failure {
        DbFailure::Duplicate | DbFailure::Reference => StatusCode::CONFLICT,
        DbFailure::Missing | DbFailure::OutOfRange => StatusCode::BAD_REQUEST,
        DbFailure::Timeout => StatusCode::REQUEST_TIMEOUT,
        DbFailure::Other => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<actix_web::error::HttpError> for AppError {
    fn from(e: actix_web::error::HttpError) -> Self {
        AppError::Internal(format!("http: {e}"))
    }
}
