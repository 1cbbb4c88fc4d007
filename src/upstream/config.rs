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

/// How to reach one provider: what its kind needs, and nothing it does not. Stored flat (the
/// `identity_provider` columns, the config file's keys, the CLI's options) and parsed into this
/// at the edge by [`ProviderSpec::from_flat`], so no field changes meaning with the kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderSpec {
    /// OpenID Connect discovery at `issuer`, by default accounts.google.com; `hosted_domain`
    /// limits sign-in to one Google Workspace domain.
    Google {
        issuer: Option<String>,
        hosted_domain: Option<String>,
    },
    /// OAuth 2.0 at `web_base` (default github.com), the identity from the REST API at
    /// `api_base` (default api.github.com); `orgs` limits sign-in to members.
    Github {
        web_base: Option<String>,
        api_base: Option<String>,
        orgs: Vec<String>,
    },
    /// Any OpenID Connect issuer, through discovery.
    Oidc { issuer: String },
    /// Any OAuth 2.0 provider: its endpoints, and where its userinfo JSON keeps each claim.
    Oauth2 {
        authorize_url: String,
        token_url: String,
        userinfo_url: String,
        claims: ClaimMapping,
    },
}

/// The kind-dependent settings as they are written: rows, `[[providers]]`, `provider add`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatSpec {
    pub issuer: Option<String>,
    /// GitHub: the web base; OAuth2: the authorize URL.
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    /// GitHub: the API base; OAuth2: the userinfo URL.
    pub userinfo_url: Option<String>,
    pub hosted_domain: Option<String>,
    pub github_orgs: Vec<String>,
    pub claims: Option<ClaimMapping>,
}

impl ProviderSpec {
    pub fn kind(&self) -> Kind {
        match self {
            ProviderSpec::Google { .. } => Kind::Google,
            ProviderSpec::Github { .. } => Kind::Github,
            ProviderSpec::Oidc { .. } => Kind::Oidc,
            ProviderSpec::Oauth2 { .. } => Kind::Oauth2,
        }
    }

    /// Reads the settings `kind` uses. What it needs and lacks is an error; what means nothing
    /// for it is left out (and named in `ignored`, for a warning: config files that carried
    /// such keys kept working before this type existed, and still do).
    pub fn from_flat(kind: Kind, f: FlatSpec) -> Result<(ProviderSpec, Vec<&'static str>), String> {
        let mut ignored = Vec::new();
        let mut unused = |what: &'static str, set: bool| {
            if set {
                ignored.push(what);
            }
        };
        let spec = match kind {
            Kind::Google => {
                unused("authorize_url", f.authorize_url.is_some());
                unused("token_url", f.token_url.is_some());
                unused("userinfo_url", f.userinfo_url.is_some());
                unused("github_orgs", !f.github_orgs.is_empty());
                unused("claims", f.claims.is_some());
                ProviderSpec::Google {
                    issuer: f.issuer,
                    hosted_domain: f.hosted_domain,
                }
            }
            Kind::Github => {
                unused("issuer", f.issuer.is_some());
                unused("token_url", f.token_url.is_some());
                unused("hosted_domain", f.hosted_domain.is_some());
                unused("claims", f.claims.is_some());
                ProviderSpec::Github {
                    web_base: f.authorize_url,
                    api_base: f.userinfo_url,
                    orgs: f.github_orgs,
                }
            }
            Kind::Oidc => {
                unused("authorize_url", f.authorize_url.is_some());
                unused("token_url", f.token_url.is_some());
                unused("userinfo_url", f.userinfo_url.is_some());
                unused("hosted_domain", f.hosted_domain.is_some());
                unused("github_orgs", !f.github_orgs.is_empty());
                unused("claims", f.claims.is_some());
                ProviderSpec::Oidc {
                    issuer: f.issuer.ok_or("an oidc provider needs --issuer")?,
                }
            }
            Kind::Oauth2 => {
                unused("issuer", f.issuer.is_some());
                unused("hosted_domain", f.hosted_domain.is_some());
                unused("github_orgs", !f.github_orgs.is_empty());
                let (Some(authorize_url), Some(token_url), Some(userinfo_url)) =
                    (f.authorize_url, f.token_url, f.userinfo_url)
                else {
                    return Err(
                        "an oauth2 provider needs --authorize-url, --token-url and --userinfo-url"
                            .into(),
                    );
                };
                ProviderSpec::Oauth2 {
                    authorize_url,
                    token_url,
                    userinfo_url,
                    claims: f.claims.unwrap_or_default(),
                }
            }
        };
        Ok((spec, ignored))
    }

    /// The flat form, for storage.
    pub fn to_flat(&self) -> FlatSpec {
        match self.clone() {
            ProviderSpec::Google {
                issuer,
                hosted_domain,
            } => FlatSpec {
                issuer,
                hosted_domain,
                ..FlatSpec::default()
            },
            ProviderSpec::Github {
                web_base,
                api_base,
                orgs,
            } => FlatSpec {
                authorize_url: web_base,
                userinfo_url: api_base,
                github_orgs: orgs,
                ..FlatSpec::default()
            },
            ProviderSpec::Oidc { issuer } => FlatSpec {
                issuer: Some(issuer),
                ..FlatSpec::default()
            },
            ProviderSpec::Oauth2 {
                authorize_url,
                token_url,
                userinfo_url,
                claims,
            } => FlatSpec {
                authorize_url: Some(authorize_url),
                token_url: Some(token_url),
                userinfo_url: Some(userinfo_url),
                claims: Some(claims),
                ..FlatSpec::default()
            },
        }
    }

    /// Every URL the spec holds, named as the admin wrote it, for checking.
    pub fn urls(&self) -> Vec<(&'static str, &str)> {
        let mut urls = Vec::new();
        match self {
            ProviderSpec::Google { issuer, .. } => {
                urls.extend(issuer.as_deref().map(|u| ("issuer", u)))
            }
            ProviderSpec::Github {
                web_base, api_base, ..
            } => {
                urls.extend(web_base.as_deref().map(|u| ("authorize URL", u)));
                urls.extend(api_base.as_deref().map(|u| ("userinfo URL", u)));
            }
            ProviderSpec::Oidc { issuer } => urls.push(("issuer", issuer)),
            ProviderSpec::Oauth2 {
                authorize_url,
                token_url,
                userinfo_url,
                ..
            } => {
                urls.push(("authorize URL", authorize_url));
                urls.push(("token URL", token_url));
                urls.push(("userinfo URL", userinfo_url));
            }
        }
        urls
    }

    /// The OpenID issuer to discover, for the kinds that use discovery.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            ProviderSpec::Google { issuer, .. } => Some(issuer.as_deref().unwrap_or(GOOGLE_ISSUER)),
            ProviderSpec::Oidc { issuer } => Some(issuer),
            _ => None,
        }
    }
}

/// A configured provider, secret decrypted, ready for a connector.
#[derive(Clone)]
pub struct ProviderConfig {
    pub slug: String,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub enabled: bool,
    pub link_policy: LinkPolicy,
    /// The admin's word on the provider's verified email (`None`: the kind's default, see
    /// [`ProviderConfig::trusts_email`]).
    pub trust_email: Option<bool>,
    pub allowed_domains: Vec<String>,
    pub keep_tokens: bool,
    pub spec: ProviderSpec,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("slug", &self.slug)
            .field("spec", &self.spec)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl ProviderConfig {
    pub fn kind(&self) -> Kind {
        self.spec.kind()
    }

    /// Whether the provider's word that `profile`'s address is verified is enough to link an
    /// existing user with that address (issue 13; nOAuth). The admin's `trust_email` decides
    /// when set; otherwise only where the provider's own guidance makes it safe:
    /// - Google: a verified Gmail address, or one in the Workspace domain named by `hd` (a
    ///   personal Google account can carry any address, verified once, and keep it after);
    /// - GitHub: the verified primary address (the only one the connector reads);
    /// - generic OpenID Connect and OAuth2: never, since their users may choose their email.
    pub fn trusts_email(&self, profile: &super::UpstreamProfile) -> bool {
        if !profile.email_verified {
            return false;
        }
        if let Some(trust) = self.trust_email {
            return trust;
        }
        match &self.spec {
            ProviderSpec::Google { .. } => {
                let domain = profile
                    .email
                    .as_deref()
                    .and_then(|e| e.rsplit_once('@'))
                    .map(|(_, d)| d.to_ascii_lowercase());
                match domain.as_deref() {
                    Some("gmail.com" | "googlemail.com") => true,
                    Some(d) => profile.hosted_domain.as_deref() == Some(d),
                    None => false,
                }
            }
            ProviderSpec::Github { .. } => true,
            ProviderSpec::Oidc { .. } | ProviderSpec::Oauth2 { .. } => false,
        }
    }

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
        if let ProviderSpec::Google {
            hosted_domain: Some(hd),
            ..
        } = &self.spec
        {
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

#[cfg(test)]
mod trust_tests {
    use super::*;
    use crate::upstream::UpstreamProfile;

    fn provider(spec: ProviderSpec, trust_email: Option<bool>) -> ProviderConfig {
        ProviderConfig {
            slug: "p".into(),
            display_name: "P".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            scopes: Vec::new(),
            enabled: true,
            link_policy: LinkPolicy::VerifiedEmail,
            trust_email,
            allowed_domains: Vec::new(),
            keep_tokens: false,
            spec,
        }
    }

    fn profile(email: &str, verified: bool, hd: Option<&str>) -> UpstreamProfile {
        UpstreamProfile {
            subject: "1".into(),
            email: Some(email.into()),
            email_verified: verified,
            name: None,
            picture: None,
            hosted_domain: hd.map(str::to_string),
        }
    }

    fn google() -> ProviderSpec {
        ProviderSpec::Google {
            issuer: None,
            hosted_domain: None,
        }
    }

    #[test]
    fn google_is_trusted_for_gmail_and_its_workspace_domain_only() {
        let g = provider(google(), None);
        assert!(g.trusts_email(&profile("ada@gmail.com", true, None)));
        assert!(g.trusts_email(&profile("ada@googlemail.com", true, None)));
        assert!(!g.trusts_email(&profile("ada@gmail.com", false, None)));
        assert!(!g.trusts_email(&profile("ada@example.com", true, None)));
        assert!(g.trusts_email(&profile("ada@example.com", true, Some("example.com"))));
        assert!(!g.trusts_email(&profile("ada@example.com", true, Some("other.com"))));
    }

    #[test]
    fn github_is_trusted_and_generic_kinds_are_not_unless_the_admin_says_so() {
        let gh = ProviderSpec::Github {
            web_base: None,
            api_base: None,
            orgs: Vec::new(),
        };
        let oidc = ProviderSpec::Oidc {
            issuer: "https://op.example".into(),
        };
        let ada = profile("ada@example.com", true, None);
        assert!(provider(gh.clone(), None).trusts_email(&ada));
        assert!(!provider(gh, Some(false)).trusts_email(&ada));
        assert!(!provider(oidc.clone(), None).trusts_email(&ada));
        assert!(provider(oidc.clone(), Some(true)).trusts_email(&ada));
        // Never an unverified address, whatever the setting.
        let unverified = profile("ada@example.com", false, None);
        assert!(!provider(oidc, Some(true)).trusts_email(&unverified));
        assert!(!provider(google(), Some(true)).trusts_email(&unverified));
    }
}
