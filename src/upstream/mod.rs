//! Upstream identity providers: Google, GitHub, any OpenID Connect issuer, any OAuth 2.0
//! provider. One `Connector` per kind builds the authorization URL and turns the callback into a
//! normalised profile; `linking` decides which user that profile signs in.

pub mod bounded;
pub mod config;
pub mod connector;
pub mod discovery;
pub mod failure;
pub mod flow;
pub mod github;
pub mod oauth2_generic;
pub mod oidc;
pub mod probe;
pub mod registry;

use serde::{Deserialize, Serialize};

use failure::Failure;

/// What talking to upstream providers needs, shared by every request.
#[derive(Clone)]
pub struct UpstreamClient {
    /// Bounded timeout, no redirects (SSRF).
    pub http: reqwest::Client,
    /// How long a person may take at the provider between start and callback.
    pub state_ttl: chrono::Duration,
    /// This server's issuer: callback URLs are `{issuer}/auth/callback/{slug}`.
    pub issuer: String,
    /// OpenID Connect discovery documents, per provider.
    pub discovery: std::sync::Arc<discovery::DiscoveryCache>,
}

impl UpstreamClient {
    /// The redirect URI registered at the provider for `slug`.
    pub fn redirect_uri(&self, slug: &str) -> String {
        format!("{}/auth/callback/{slug}", self.issuer)
    }
}

/// The HTTP client for upstream providers: bounded timeout, no redirects (SSRF). The server and
/// `provider test` use the same, so a test sees what a sign-in would.
pub fn http_client(
    settings: &crate::config::UpstreamSettings,
) -> Result<reqwest::Client, crate::error::AppError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(settings.timeout_secs.max(1)))
        .user_agent("portcullis")
        .build()
        .map_err(|e| crate::error::AppError::Internal(format!("http client: {e}")))
}

/// What every provider's answer becomes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamProfile {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
    /// Google's `hd` claim: the Workspace domain that manages the account, if one does.
    pub hosted_domain: Option<String>,
}

/// Tokens the provider issued, kept (encrypted) only when the provider is set to keep them.
#[derive(Debug, Clone, Default)]
pub struct UpstreamTokens {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub expires_in_secs: Option<i64>,
}

/// Why an upstream sign-in failed; each becomes a clear page, never a 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("You cancelled the sign-in at {0}.")]
    Denied(String),
    #[error("{0} reported an error: {1}")]
    ProviderError(String, String),
    #[error("{0} could not be reached or did not answer in time ({1}). Please try again.")]
    Unreachable(String, Failure),
    /// The provider answered, but not usably: an error status, not JSON, a field missing.
    #[error("{0} did not give a usable answer ({1}).")]
    BadAnswer(String, Failure),
    #[error("The answer from {0} could not be verified ({1}).")]
    Invalid(String, String),
    #[error("This sign-in link has expired or was already used. Please start again.")]
    BadState,
    #[error("{0} did not share a verified email address with us, and one is needed to sign in.")]
    NoEmail(String),
    #[error("Sign-in with {provider} is limited to {to}.")]
    Restricted { provider: String, to: Restriction },
    /// The provider answered with more than `bounded::MAX_ANSWER_BYTES`.
    #[error("{0} sent an answer larger than we accept.")]
    TooLarge(String),
    /// The provider's published settings (its discovery document) are unusable.
    #[error("{0} published settings we cannot use ({1}).")]
    Misconfigured(String, String),
    /// A link flow came back to a browser whose session is no longer the one that started it.
    #[error("Linking was started in a session that has since ended.")]
    LinkSessionEnded,
}

/// Whom an administrator limited a provider to (`ProviderConfig` restrictions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Restriction {
    /// Verified addresses at these domains (comma-separated).
    #[error("verified addresses at {0}")]
    Domains(String),
    /// Members of these GitHub organisations (comma-separated).
    #[error("members of {0}")]
    Orgs(String),
}

impl UpstreamError {
    /// What went wrong talking to `provider`, as the page and the log say it.
    pub fn from_failure(provider: &str, failure: Failure) -> UpstreamError {
        match failure {
            f if f.is_unreachable() => UpstreamError::Unreachable(provider.into(), f),
            Failure::TooLarge { .. } => UpstreamError::TooLarge(provider.into()),
            f @ Failure::NotWeb { .. } => {
                UpstreamError::Misconfigured(provider.into(), f.to_string())
            }
            f => UpstreamError::BadAnswer(provider.into(), f),
        }
    }

    /// The precise cause, when a request to the provider failed: the failure page's second line.
    pub fn cause(&self) -> Option<&Failure> {
        match self {
            UpstreamError::Unreachable(_, f) | UpstreamError::BadAnswer(_, f) => Some(f),
            _ => None,
        }
    }

    /// What the failure page says.
    pub fn message(&self) -> crate::i18n::Msg {
        use crate::i18n::Msg;
        match self {
            UpstreamError::Denied(p) => Msg::new("upstream-denied").with("provider", p.as_str()),
            UpstreamError::ProviderError(p, d) => Msg::new("upstream-provider-error")
                .with("provider", p.as_str())
                .with("detail", d.as_str()),
            UpstreamError::Unreachable(p, _) => {
                Msg::new("upstream-unreachable").with("provider", p.as_str())
            }
            UpstreamError::BadAnswer(p, _) => {
                Msg::new("upstream-bad-answer").with("provider", p.as_str())
            }
            UpstreamError::Invalid(p, d) => Msg::new("upstream-invalid")
                .with("provider", p.as_str())
                .with("detail", d.as_str()),
            UpstreamError::BadState => Msg::new("upstream-bad-state"),
            UpstreamError::NoEmail(p) => {
                Msg::new("upstream-no-verified-email").with("provider", p.as_str())
            }
            UpstreamError::Restricted {
                provider,
                to: Restriction::Domains(d),
            } => Msg::new("upstream-restricted-domains")
                .with("provider", provider.as_str())
                .with("domains", d.as_str()),
            UpstreamError::Restricted {
                provider,
                to: Restriction::Orgs(o),
            } => Msg::new("upstream-restricted-orgs")
                .with("provider", provider.as_str())
                .with("orgs", o.as_str()),
            UpstreamError::TooLarge(p) => {
                Msg::new("upstream-too-large").with("provider", p.as_str())
            }
            UpstreamError::Misconfigured(p, d) => Msg::new("upstream-misconfigured")
                .with("provider", p.as_str())
                .with("detail", d.as_str()),
            UpstreamError::LinkSessionEnded => Msg::new("upstream-link-session-ended"),
        }
    }
}
