//! OAuth 2.0 / OpenID Connect error codes. The variants are the codes themselves.

use serde::Serialize;

use crate::db::failure::DbFailure;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// RFC 6749 §4.1.2.1 / §5.2: a required parameter is missing, repeated or malformed.
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient,
    /// RFC 6749 §5.2: the code, refresh token or credentials are invalid, expired or revoked.
    InvalidGrant,
    /// RFC 6749 §4.1.2.1 / §5.2: the client may not use this flow.
    UnauthorizedClient,
    /// RFC 6749 §5.2: the grant type is not supported.
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1: the response type is not supported.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1: the scope is invalid or unknown.
    InvalidScope,
    /// RFC 6749 §4.1.2.1: the person (or the server) refused.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: an unexpected condition.
    ServerError,
    /// OIDC Core §3.1.2.6: prompt=none but the person must sign in.
    LoginRequired,
    /// OIDC Core §3.1.2.6: prompt=none but consent is needed.
    ConsentRequired,
    /// OIDC Core §3.1.2.6: prompt=none but some interaction is needed.
    InteractionRequired,
    /// OIDC Core §3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// RFC 6750 §3.1: the access token is invalid, expired or revoked.
    InvalidToken,
    /// RFC 7009 §2.2.1: the token type cannot be revoked.
    UnsupportedTokenType,
    /// RFC 6749 §4.1.2.1: the server is busy for now (here: the database did not answer in
    /// time); the client may try again.
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// What the protocol core answers when it does not answer with a result: a refusal in the
/// protocol's own words (RFC 6749 §4.1.2.1, §5.2), or a failure of the server itself (like
/// kanidm's `Oauth2Error::ServerError`), so callers never juggle `Result<Result<..>>`.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// An answer to the client: the code and a human-readable description.
    #[error("{}: {description}", .code.as_str())]
    Refused {
        code: ErrorCode,
        description: String,
    },
    /// The server failed (database, signing). The client hears `server_error` and nothing
    /// more; the log hears why.
    #[error("server failure: {0}")]
    Server(#[from] AppError),
}

const SERVER_FAILURE: &str = "the server could not complete the request";

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError::Refused {
            code,
            description: description.into(),
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }

    /// The code the client sees.
    pub fn code(&self) -> ErrorCode {
        match self {
            OAuthError::Refused { code, .. } => *code,
            OAuthError::Server(cause) => match refusal_by_database(cause) {
                Some(DbFailure::Timeout) => ErrorCode::TemporarilyUnavailable,
                Some(_) => ErrorCode::InvalidRequest,
                None => ErrorCode::ServerError,
            },
        }
    }

    /// The description the client sees: never the cause of a server failure, nor the
    /// database's own words.
    pub fn description(&self) -> &str {
        match self {
            OAuthError::Refused { description, .. } => description,
            OAuthError::Server(cause) => match refusal_by_database(cause) {
                Some(DbFailure::Timeout) => "the database did not answer in time; try again",
                Some(DbFailure::Duplicate | DbFailure::Reference) => {
                    "the request conflicts with a concurrent change; try again"
                }
                Some(_) => "a value is missing or outside what is allowed",
                None => SERVER_FAILURE,
            },
        }
    }

    /// Whether this is the database refusing the request (a race, a timeout) rather than a
    /// fault of the server.
    pub fn is_database_refusal(&self) -> bool {
        matches!(self, OAuthError::Server(cause) if refusal_by_database(cause).is_some())
    }
}

/// A database failure the client can be told about (see `db::failure`), if that is what this is.
fn refusal_by_database(cause: &AppError) -> Option<DbFailure> {
    match cause {
        AppError::Database(e) => Some(DbFailure::of(e)).filter(|f| f.is_client_facing()),
        _ => None,
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        OAuthError::Server(e.into())
    }
}

/// RFC 6749 §5.2: `{"error": .., "error_description": ..}`.
impl Serialize for OAuthError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("OAuthError", 2)?;
        st.serialize_field("error", &self.code())?;
        st.serialize_field("error_description", self.description())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_failure_tells_the_client_server_error_and_nothing_else() {
        let e = OAuthError::from(AppError::Internal("disk on fire".into()));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "error": "server_error",
                "error_description": SERVER_FAILURE,
            })
        );
    }

    #[test]
    fn a_refusal_serialises_as_rfc_6749_json() {
        let json = serde_json::to_value(OAuthError::invalid_grant("code expired")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": "invalid_grant", "error_description": "code expired"})
        );
    }

    fn db(kind: diesel::result::DatabaseErrorKind, message: &str) -> OAuthError {
        OAuthError::Server(AppError::Database(diesel::result::Error::DatabaseError(
            kind,
            Box::new(message.to_string()),
        )))
    }

    #[test]
    fn database_refusals_have_protocol_codes_without_the_databases_words() {
        use diesel::result::DatabaseErrorKind;
        let race = db(
            DatabaseErrorKind::UniqueViolation,
            "duplicate key value violates unique constraint \"refresh_token_pkey\"",
        );
        assert_eq!(race.code(), ErrorCode::InvalidRequest);
        assert!(!race.description().contains("refresh_token"));
        let busy = db(DatabaseErrorKind::Unknown, "database is locked");
        assert_eq!(busy.code(), ErrorCode::TemporarilyUnavailable);
        let fault = db(DatabaseErrorKind::Unknown, "disk I/O error");
        assert_eq!(fault.code(), ErrorCode::ServerError);
        assert_eq!(fault.description(), SERVER_FAILURE);
        assert!(race.is_database_refusal() && !fault.is_database_refusal());
    }
}
