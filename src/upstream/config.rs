//! Provider configuration as stored (`identity_provider`) and as the connectors use it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Google,
    Github,
    Oidc,
    Oauth2,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "google" => Some(Kind::Google),
            "github" => Some(Kind::Github),
            "oidc" => Some(Kind::Oidc),
            "oauth2" => Some(Kind::Oauth2),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Google => "google",
            Kind::Github => "github",
            Kind::Oidc => "oidc",
            Kind::Oauth2 => "oauth2",
        }
    }
}

/// When an unknown upstream account's email matches an existing user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPolicy {
    /// Link automatically when both sides' email addresses are verified.
    VerifiedEmail,
    /// Never link automatically: the person signs in first and links from their account.
    Never,
}

impl LinkPolicy {
    pub fn parse(s: &str) -> Option<LinkPolicy> {
        match s {
            "verified_email" => Some(LinkPolicy::VerifiedEmail),
            "never" => Some(LinkPolicy::Never),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPolicy::VerifiedEmail => "verified_email",
            LinkPolicy::Never => "never",
        }
    }
}

/// Where a plain OAuth 2.0 provider's userinfo JSON keeps each claim (dotted paths allowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMapping {
    pub subject: String,
    pub email: String,
    #[serde(default)]
    pub email_verified: Option<String>,
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default = "default_picture")]
    pub picture: String,
}

fn default_name() -> String {
    "name".into()
}
fn default_picture() -> String {
    "picture".into()
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            subject: "sub".into(),
            email: "email".into(),
            email_verified: Some("email_verified".into()),
            name: default_name(),
            picture: default_picture(),
        }
    }
}

pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
pub const GITHUB_WEB: &str = "https://github.com";
pub const GITHUB_API: &str = "https://api.github.com";

/// A configured provider, secret decrypted, ready for a connector.
#[derive(Clone)]
pub struct ProviderConfig {
    pub slug: String,
    pub kind: Kind,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    /// Google and OIDC: the issuer (discovery). Google defaults to accounts.google.com.
    pub issuer: Option<String>,
    /// GitHub: web base (authorize and token); OAuth2: the authorize URL.
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    /// GitHub: API base; OAuth2: the userinfo URL.
    pub userinfo_url: Option<String>,
    pub scopes: Vec<String>,
    pub claims: ClaimMapping,
    pub enabled: bool,
    pub link_policy: LinkPolicy,
    pub allowed_domains: Vec<String>,
    pub hosted_domain: Option<String>,
    pub github_orgs: Vec<String>,
    pub keep_tokens: bool,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("slug", &self.slug)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl ProviderConfig {
    /// The restrictions admins asked for, checked on the normalised profile: every one set must
    /// hold, and domain checks need a verified address.
    pub fn check_restrictions(
        &self,
        profile: &super::UpstreamProfile,
    ) -> Result<(), super::UpstreamError> {
        let domain = profile
            .email
            .as_deref()
            .filter(|_| profile.email_verified)
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase());
        let refuse = |domains: String| {
            Err(super::UpstreamError::Restricted {
                provider: self.display_name.clone(),
                to: super::Restriction::Domains(domains),
            })
        };
        if let Some(hd) = &self.hosted_domain {
            if domain.as_deref() != Some(hd.to_ascii_lowercase().as_str()) {
                return refuse(hd.clone());
            }
        }
        if !self.allowed_domains.is_empty()
            && !domain.as_deref().is_some_and(|d| {
                self.allowed_domains
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(d))
            })
        {
            return refuse(self.allowed_domains.join(", "));
        }
        Ok(())
    }
}
