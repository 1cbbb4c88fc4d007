//! The OpenID Provider, free of actix: discovery, keys, authorization, tokens, userinfo,
//! revocation, introspection and logout. Handlers in `web::oidc` only translate HTTP.

pub mod authorize;
pub mod claim_rules;
pub mod claims;
pub mod clients;
pub mod discovery;
pub mod error;
pub mod introspect;
pub mod jwt;
pub mod keys;
pub mod logout;
pub mod scope;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use chrono::Duration;

use crate::config::{OidcSettings, Settings};
use keys::KeyStore;

/// Token lifetimes and other protocol settings.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access_token: Duration,
    pub id_token: Duration,
    pub code: Duration,
    pub refresh_token: Duration,
    pub authorization_request: Duration,
}

impl From<&OidcSettings> for Lifetimes {
    fn from(s: &OidcSettings) -> Self {
        Lifetimes {
            access_token: Duration::seconds(s.access_token_ttl_secs),
            id_token: Duration::seconds(s.id_token_ttl_secs),
            code: Duration::seconds(s.code_ttl_secs),
            refresh_token: Duration::seconds(s.refresh_token_ttl_secs),
            authorization_request: Duration::seconds(s.authorization_request_ttl_secs),
        }
    }
}

impl Lifetimes {
    /// How long a retired key must stay published: until every token it signed has expired.
    pub fn key_retention(&self) -> Duration {
        self.access_token.max(self.id_token) + Duration::minutes(5)
    }
}

/// Everything the protocol code needs besides the database.
pub struct Provider {
    pub issuer: String,
    /// The discovery document, serialised once: it only changes with the issuer.
    pub metadata_json: String,
    pub keys: Arc<KeyStore>,
    pub lifetimes: Lifetimes,
    /// For back-channel logout deliveries; no redirects, bounded timeouts.
    pub http: reqwest::Client,
    /// `mfa.required`: every authorization needs a two-factor session.
    pub mfa_required: bool,
    /// Passkeys are on and this issuer can have them: a passkey is a second factor.
    pub passkeys: bool,
}

impl Provider {
    pub fn new(
        settings: &Settings,
        keys: Arc<KeyStore>,
    ) -> Result<Provider, crate::error::AppError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(
                settings.oidc.backchannel_timeout_secs.max(1),
            ))
            .build()
            .map_err(|e| crate::error::AppError::Internal(format!("http client: {e}")))?;
        Ok(Provider {
            metadata_json: discovery::metadata(settings.issuer()).to_string(),
            issuer: settings.issuer().to_string(),
            keys,
            lifetimes: Lifetimes::from(&settings.oidc),
            http,
            mfa_required: settings.mfa.required,
            passkeys: settings.accounts.passkeys
                && crate::identity::passkeys::RelyingParty::for_issuer(settings.issuer()).is_ok(),
        })
    }
}

/// Runs protocol work on a pooled connection, off the async executor. A failure to get the
/// connection is the server's failure, in the same error as the protocol's refusals.
pub async fn with_connection<T, F>(db: &crate::db::Db, f: F) -> Result<T, error::OAuthError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection) -> Result<T, error::OAuthError> + Send + 'static,
{
    db.run(move |conn| Ok(f(conn))).await?
}
