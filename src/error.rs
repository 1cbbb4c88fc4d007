//! Which layer returns which error:
//! - queries (`db::models`) return diesel's `QueryResult`;
//! - the core (`identity`, `oidc`, `upstream`, `mail`) returns [`AppError`]; input that breaks
//!   a rule is a [`ValidationError`] inside it; the OpenID Provider's protocol steps return
//!   `oidc::error::OAuthError`, whose `Server` case carries an `AppError`;
//! - `web` turns them into responses: `web::error_page` renders an `AppError` as a page (in
//!   the request's language), `web::oidc` an `OAuthError` as RFC 6749 JSON or a redirect;
//! - `cli` turns them into messages and exit codes.
//!
//! Nothing internal leaks to the client: a server failure is logged, and told as a generic page
//! or `server_error`.

use crate::i18n::Msg;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Input that breaks a rule; the text is technical and shown untranslated under a
    /// translated title.
    #[error("bad request: {0}")]
    Invalid(#[from] ValidationError),
    /// A request we cannot serve, with a message for the person, from the catalogue.
    #[error("bad request: {}", .0.key())]
    Refused(Msg),
    /// The CSRF check failed: the form is stale or was posted from another site.
    #[error("form check failed")]
    Csrf,
    /// A page that needs a signed-in user; the response sends the browser to the login page.
    #[error("sign-in required")]
    LoginRequired { return_to: String },
    /// Signed in, but not recently enough (or without the second factor) for what they asked:
    /// the response sends the browser to sign in again, then back (the admin console).
    #[error("sign-in again required")]
    ReauthenticationRequired { return_to: String },
    /// The person proved who they are, but an administrator disabled the account.
    #[error("account disabled")]
    AccountDisabled,
    #[error("{0}")]
    Config(String),
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Internal(String),
}

/// Input that breaks a rule: a request body we cannot read, or an admin's client or provider
/// settings that do not hold together. The user (or admin) can fix it; the CLI shows it as a
/// usage error.
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// A form body that is not `application/x-www-form-urlencoded` UTF-8, or repeats a field.
    #[error("{0}")]
    Form(String),
    /// A client registration that does not hold together (redirect URIs, grant types, …).
    #[error("{0}")]
    ClientSpec(String),
    #[error("a public client has no secret")]
    PublicClientSecret,
    /// Upstream provider settings that do not hold together.
    #[error("{0}")]
    ProviderSpec(String),
    #[error("a provider with slug {0} already exists")]
    ProviderExists(String),
    /// A group name that breaks the rules of `identity::groups::GroupName`.
    #[error("{0}")]
    GroupName(String),
    /// Another group has this name (compared without case): a conflict, not a server failure.
    #[error("a group named {0} already exists")]
    GroupExists(String),
    /// A registered redirect URI that is not a URL after all.
    #[error("bad redirect")]
    RedirectUri,
}

pub type AppResult<T> = Result<T, AppError>;
