//! Typed settings, layered: built-in `config/default.toml` → a file → `PORTCULLIS_*` variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

use crate::identity::ids::ClientId;
use crate::oidc::clients::GrantType;
use crate::oidc::keys::Alg;
use crate::upstream::config::{ClaimMapping, Kind, LinkPolicy};

/// The built-in defaults: the documented file itself, so docs and defaults cannot drift apart.
const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: SocketAddr,
    pub issuer: String,
    pub data_dir: PathBuf,
    pub master_key: Secret,
    pub theme_dir: String,
    pub database: DatabaseSettings,
    pub session: SessionSettings,
    pub password: PasswordSettings,
    pub http: HttpSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub oidc: OidcSettings,
    pub keys: KeySettings,
    pub clients: Vec<StaticClient>,
    pub upstream: UpstreamSettings,
    pub providers: Vec<StaticProvider>,
    pub accounts: AccountSettings,
    pub mail: MailSettings,
    pub auth: AuthSettings,
    pub mfa: MfaSettings,
    pub admin: AdminSettings,
    pub reload: ReloadSettings,
    /// The file the settings came from (`--config` or PORTCULLIS_CONFIG), re-read on reload.
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
}

/// Applying `[[clients]]` and `[[providers]]` again without a restart (`config_reload`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadSettings {
    /// How often the configuration file is checked for changes; 0: only on SIGHUP.
    pub watch_interval_secs: u64,
}

/// Who may administer, and the first admin (`[admin]`, see `admin::access` and `admin::role`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// A browser session older than this must sign in again to administer.
    pub reauthenticate_within_secs: i64,
    /// Empty: no bootstrap.
    pub bootstrap_email: String,
    pub bootstrap_password: Secret,
}

/// Second factors (TOTP) and when they are asked for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaSettings {
    /// Every authorization for any client needs a two-factor session, as if every client had
    /// `require_mfa`; people without a second factor set one up on the way in.
    pub required: bool,
    /// How recent a sign-in must be to turn a second factor off without re-entering the password.
    pub reauthenticate_within_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub throttle: ThrottleSettings,
}

/// Brute-force defence (`auth.throttle`), see `identity::throttle`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Consecutive failures before the backoff starts.
    pub free_failures: i32,
    /// First delay; it doubles with each further failure.
    pub backoff_base_secs: i64,
    /// Longest delay.
    pub backoff_max_secs: i64,
    /// Consecutive failures after which the password is soft-locked.
    pub lock_after: i32,
    /// How long the soft lock lasts.
    pub lock_secs: i64,
    /// Failures per client IP per hour (all accounts) before the IP gets the backoff.
    pub per_ip_per_hour: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// Refuse sign-in (and OIDC authorizations) until the email address is verified.
    pub require_verified_email: bool,
    /// Offer "email me a sign-in link".
    pub magic_link: bool,
    /// Offer "email me a code".
    pub email_code: bool,
    /// Wrong tries before a code is destroyed.
    pub code_max_attempts: i32,
    /// Mails (verification, reset, link, code) per address per hour.
    pub mail_per_address_per_hour: i32,
    /// The same per client IP address.
    pub mail_per_ip_per_hour: i32,
    /// Sign-ups per client IP per hour.
    pub signup_per_ip_per_hour: i32,
    /// Offer passkeys (WebAuthn): sign-in without a password, and a second factor. Effectively
    /// off when the issuer cannot be a WebAuthn relying party ID (an IP address, or plain http
    /// other than `localhost`).
    pub passkeys: bool,
}

impl AccountSettings {
    /// Whether the login page offers a way in besides the password. A soft-locked password
    /// points the owner there only when there is one.
    pub fn ways_besides_password(&self) -> bool {
        self.magic_link || self.email_code
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub from: String,
    pub file_dir: PathBuf,
    pub poll_interval_secs: u64,
    pub max_attempts: i32,
    pub retry_base_secs: i64,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: Secret,
    pub timeout_secs: u64,
}

/// How mail leaves (`mail.transport`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Logged, never sent: development only.
    Log,
    /// Each message written as an .eml file into `mail.file_dir`.
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// STARTTLS upgrade, required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain text: only for a relay on the same host or a test sink.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSettings {
    /// Per-request timeout for calls to upstream providers.
    pub timeout_secs: u64,
    /// How long a person may take at the upstream provider.
    pub state_ttl_secs: i64,
    /// How long a discovery document stays fresh when its provider sends no max-age.
    pub discovery_ttl_secs: u64,
    /// How long the last good discovery document is used while refreshing it fails.
    pub discovery_stale_secs: u64,
}

/// An upstream provider declared in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticProvider {
    pub slug: String,
    pub kind: Kind,
    #[serde(default)]
    pub name: Option<String>,
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub authorize_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub userinfo_url: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub claims: Option<ClaimMapping>,
    #[serde(default)]
    pub link_policy: Option<LinkPolicy>,
    /// Trust this provider's "email verified" enough to link an existing user by email
    /// without asking them to prove the account. Unset: the kind's default.
    #[serde(default)]
    pub trust_email: Option<bool>,
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    #[serde(default)]
    pub hosted_domain: Option<String>,
    #[serde(default)]
    pub github_orgs: Vec<String>,
    #[serde(default)]
    pub keep_tokens: bool,
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub code_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub authorization_request_ttl_secs: i64,
    pub backchannel_timeout_secs: u64,
    pub backchannel_attempts: u32,
    pub backchannel_retry_base_secs: i64,
    pub backchannel_poll_interval_secs: u64,
    pub backchannel_lease_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub rotation_period_secs: i64,
    pub publish_ahead_secs: i64,
    pub refresh_interval_secs: u64,
}

/// A client application declared in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticClient {
    pub id: ClientId,
    pub name: String,
    #[serde(default)]
    pub secret: Option<Secret>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    pub auth_method: Option<String>,
    #[serde(default)]
    pub skip_consent: bool,
    #[serde(default)]
    pub always_issue_refresh: bool,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default = "default_alg")]
    pub id_token_alg: Alg,
    #[serde(default)]
    pub access_token_alg: Option<Alg>,
    /// Users of this client must sign in with two factors (setting one up on the way in).
    #[serde(default)]
    pub require_mfa: bool,
    /// May get the `admin` scope with client_credentials, to call the admin API.
    #[serde(default)]
    pub admin_api: bool,
    /// Extra claims computed from the user (`[[clients.claims]]`, see `oidc::claim_rules`).
    #[serde(default)]
    pub claims: Vec<crate::oidc::claim_rules::ClaimRule>,
}

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
}

fn default_alg() -> Alg {
    Alg::RS256
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    /// Apply pending migrations when a command opens the database; off for deployments that
    /// migrate in a pipeline (`portcullis migrate apply`), which then refuse a pending one.
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub absolute_timeout_secs: i64,
    pub idle_timeout_secs: i64,
    pub touch_interval_secs: i64,
    pub cookie_name: String,
    /// Name of the long-lived cookie that recognises a browser across sign-ins (new-device notices).
    pub device_cookie_name: String,
    pub sweep_interval_secs: u64,
    /// How long a correct first factor waits for the second one (TOTP or a recovery code).
    pub second_factor_timeout_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
    pub min_length: usize,
    pub max_length: usize,
    pub max_concurrent_hashes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub body_limit_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

/// Prometheus metrics at `/metrics` (`[metrics]`, see `crate::metrics`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Off: `/metrics` is not served (404).
    pub enabled: bool,
    /// When set, a scrape must send `Authorization: Bearer <token>`.
    pub bearer_token: Secret,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A string that never shows up in `Debug` output or logs (database URLs carry passwords).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"[redacted]\""
        })
    }
}

impl Settings {
    /// Loads the layers. `file` comes from `--config`; without it `PORTCULLIS_CONFIG` is used.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("PORTCULLIS_CONFIG").map(PathBuf::from));
        if let Some(path) = &file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "config file {} not found",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // PORTCULLIS_CONFIG names the file; it is not a setting itself. Keys keep the case of
        // the variable's name, so the comparison ignores case (an exact "config" never matched,
        // and PORTCULLIS_CONFIG made every start fail as an unknown key).
        figment = figment.merge(
            Env::prefixed("PORTCULLIS_")
                .filter(|key| !key.as_str().eq_ignore_ascii_case("config"))
                .split("__"),
        );
        let mut settings = Self::from_figment(figment)?;
        settings.config_file = file;
        Ok(settings)
    }

    /// Built-in defaults only (plus overrides applied by the caller); used by tests.
    pub fn defaults() -> Result<Settings, ConfigError> {
        Self::from_figment(Figment::from(Toml::string(DEFAULTS)))
    }

    fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| {
            ConfigError(
                e.into_iter()
                    .map(|e| describe(&e))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| ConfigError(format!("issuer: not a URL ({e})")))?;
        if !matches!(issuer.scheme(), "http" | "https") || issuer.query().is_some() {
            return Err(ConfigError(
                "issuer: must be an http(s) URL without a query".into(),
            ));
        }
        if scrypt::Params::new(self.password.log_n, self.password.r, self.password.p).is_err() {
            return Err(ConfigError("password: invalid scrypt parameters".into()));
        }
        if self.password.min_length == 0 || self.password.min_length > self.password.max_length {
            return Err(ConfigError(
                "password: need 0 < min_length <= max_length".into(),
            ));
        }
        if self.session.idle_timeout_secs <= 0 || self.session.absolute_timeout_secs <= 0 {
            return Err(ConfigError("session: timeouts must be positive".into()));
        }
        let o = &self.oidc;
        if [
            o.access_token_ttl_secs,
            o.id_token_ttl_secs,
            o.code_ttl_secs,
            o.refresh_token_ttl_secs,
            o.authorization_request_ttl_secs,
        ]
        .iter()
        .any(|t| *t <= 0)
        {
            return Err(ConfigError("oidc: lifetimes must be positive".into()));
        }
        if self.keys.rotation_period_secs <= 0 || self.keys.publish_ahead_secs < 0 {
            return Err(ConfigError(
                "keys: rotation_period_secs must be positive, publish_ahead_secs not negative"
                    .into(),
            ));
        }
        let t = &self.auth.throttle;
        if t.free_failures < 0
            || t.backoff_base_secs < 0
            || t.backoff_max_secs < t.backoff_base_secs
            || t.lock_after < 1
            || t.lock_after > 100
            || t.lock_secs < 0
            || t.per_ip_per_hour < 1
        {
            return Err(ConfigError(
                "auth.throttle: need free_failures >= 0, 0 <= backoff_base_secs <= backoff_max_secs, \
                 1 <= lock_after <= 100 (NIST SP 800-63B), lock_secs >= 0, per_ip_per_hour >= 1"
                    .into(),
            ));
        }
        if self.accounts.signup_per_ip_per_hour < 1 {
            return Err(ConfigError(
                "accounts.signup_per_ip_per_hour: must be at least 1".into(),
            ));
        }
        if self.database.pool_size == 0 {
            return Err(ConfigError("database.pool_size: must be at least 1".into()));
        }
        Ok(())
    }

    /// The issuer without a trailing slash, as it appears in tokens and metadata.
    pub fn issuer(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The configured database URL, or the default SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.expose().is_empty() {
            format!("sqlite://{}", self.data_dir.join("portcullis.db").display())
        } else {
            self.database.url.expose().to_string()
        }
    }

    pub fn hash_concurrency(&self) -> usize {
        match self.password.max_concurrent_hashes {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        }
    }
}

/// Prefix of the environment variables read as settings.
const ENV_PREFIX: &str = "PORTCULLIS_";

/// One extraction error, with the key named the way the user wrote it and where: figment's own
/// message names a key by its internal path, profile included ("default.sesion"), or as
/// "SESSION.SESION" for a variable, which is neither what is in the file nor in the environment.
fn describe(e: &figment::Error) -> String {
    let key = e.path.join(".");
    let what = match &e.kind {
        figment::error::Kind::UnknownField(found, expected) => {
            let valid = expected.join(", ");
            format!("unknown key `{found}` (valid keys here: {valid})")
        }
        figment::error::Kind::UnknownVariant(found, expected) => {
            let allowed = expected
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("unknown value `{found}` (allowed values: {allowed})")
        }
        kind => kind.to_string(),
    };
    let Some(md) = &e.metadata else {
        return if key.is_empty() {
            what
        } else {
            format!("key `{key}`: {what}")
        };
    };
    if md.name.ends_with("environment variable(s)") {
        let vars = env_vars_for(
            &e.path,
            std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()),
        );
        return format!("environment variable {}: {what}", vars.join(", "));
    }
    let place = match &md.source {
        Some(figment::Source::File(path)) => format!("config file {}", path.display()),
        // The only other TOML provider is the built-in config/default.toml.
        _ if md.name.starts_with("TOML") => "the built-in defaults".to_string(),
        _ => md.name.to_string(),
    };
    if key.is_empty() {
        format!("{place}: {what}")
    } else {
        format!("key `{key}` in {place}: {what}")
    }
}

/// The variables of `env` that set `path` or something below it: `PORTCULLIS_SESION__IDLE_TIMEOUT_SECS`
/// for the path `sesion`. When none is found (the environment changed since), the name that
/// `path` itself would have.
fn env_vars_for(path: &[String], env: impl Iterator<Item = String>) -> Vec<String> {
    let exact = format!(
        "{ENV_PREFIX}{}",
        path.iter()
            .map(|p| p.to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join("__")
    );
    let below = format!("{exact}__");
    let mut found: Vec<String> = env
        .filter(|name| {
            let upper = name.to_ascii_uppercase();
            upper == exact || upper.starts_with(&below)
        })
        .collect();
    found.sort();
    if found.is_empty() {
        found.push(exact);
    }
    found
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_validate() {
        let s = Settings::defaults().unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.issuer(), "http://127.0.0.1:8080");
        assert!(s.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let f = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::string("[session]\nidle_timout_secs = 3\n"));
        let err = Settings::from_figment(f).unwrap_err();
        assert!(err.0.contains("idle_timout_secs"), "{}", err.0);
    }

    /// The key as written in the file, and the file; not figment's "default.sesion".
    #[test]
    fn errors_in_a_file_name_the_key_as_written_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("portcullis.toml");
        std::fs::write(&path, "[sesion]\nidle_timeout_secs = 3\n").unwrap();
        let load = |path: &Path| {
            Settings::from_figment(
                Figment::from(Toml::string(DEFAULTS)).merge(Toml::file_exact(path)),
            )
        };
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "configuration error: key `sesion` in config file {}: unknown key `sesion`",
                path.display()
            )),
            "{err}"
        );
        assert!(err.contains("valid keys here: listen, issuer"), "{err}");
        assert!(!err.contains("default."), "{err}");

        std::fs::write(&path, "[session]\nidle_timout_secs = 3\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("key `session.idle_timout_secs` in config file"),
            "{err}"
        );

        std::fs::write(&path, "[session]\nidle_timeout_secs = \"soon\"\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("key `session.idle_timeout_secs` in config file")
                && err.contains("invalid type"),
            "{err}"
        );
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let env = [
            "PATH",
            "PORTCULLIS_SESION__IDLE_TIMEOUT_SECS",
            "PORTCULLIS_SESSION__POOL",
        ]
        .map(String::from);
        assert_eq!(
            env_vars_for(&["sesion".into()], env.clone().into_iter()),
            ["PORTCULLIS_SESION__IDLE_TIMEOUT_SECS"]
        );
        assert_eq!(
            env_vars_for(&["session".into(), "pool".into()], env.clone().into_iter()),
            ["PORTCULLIS_SESSION__POOL"]
        );
        assert_eq!(
            env_vars_for(&["listen".into()], env.into_iter()),
            ["PORTCULLIS_LISTEN"]
        );
    }

    fn load_with(extra: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::from(Toml::string(DEFAULTS)).merge(Toml::string(extra)))
    }

    const PROVIDER: &str =
        "[[providers]]\nslug = \"p\"\nclient_id = \"a\"\nclient_secret = \"b\"\n";
    const CLIENT: &str =
        "[[clients]]\nid = \"c\"\nname = \"C\"\nredirect_uris = [\"https://app/cb\"]\n";

    /// The values config/default.toml and the README document are the values that parse.
    #[test]
    fn documented_enum_values_parse() {
        for transport in ["log", "file", "smtp"] {
            let s = load_with(&format!("[mail]\ntransport = \"{transport}\"\n")).unwrap();
            assert_eq!(format!("{:?}", s.mail.transport).to_lowercase(), transport);
        }
        for kind in ["google", "github", "oidc", "oauth2"] {
            for policy in ["verified_email", "never"] {
                let s = load_with(&format!(
                    "{PROVIDER}kind = \"{kind}\"\nlink_policy = \"{policy}\"\n"
                ))
                .unwrap();
                assert_eq!(s.providers[0].kind.as_str(), kind);
                assert_eq!(s.providers[0].link_policy.map(|p| p.as_str()), Some(policy));
            }
        }
        let s = load_with(&format!(
            "{CLIENT}grant_types = [\"authorization_code\", \"refresh_token\", \"client_credentials\"]\n\
             id_token_alg = \"ES256\"\naccess_token_alg = \"EdDSA\"\n"
        ))
        .unwrap();
        assert_eq!(s.clients[0].grant_types.len(), 3);
        assert_eq!(s.clients[0].id_token_alg, Alg::ES256);
        assert_eq!(s.clients[0].access_token_alg, Some(Alg::EdDSA));
        let s = load_with(CLIENT).unwrap();
        assert_eq!(
            s.clients[0].grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(s.clients[0].id_token_alg, Alg::RS256);
    }

    /// Every claim source the README lists parses from `[[clients.claims]]`; others are refused
    /// at load, naming the sources that exist.
    #[test]
    fn documented_claim_sources_parse_and_others_are_refused() {
        use crate::oidc::claim_rules::{ClaimSource, ClaimTarget};
        for source in ClaimSource::ALL {
            let s = load_with(&format!(
                "{CLIENT}[[clients.claims]]\nname = \"x\"\nfrom = \"{}\"\nin = [\"userinfo\"]\n",
                source.as_str()
            ))
            .unwrap();
            assert_eq!(s.clients[0].claims[0].from, source);
            assert_eq!(s.clients[0].claims[0].targets, [ClaimTarget::Userinfo]);
        }
        let err = load_with(&format!(
            "{CLIENT}[[clients.claims]]\nname = \"x\"\nfrom = \"password\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("email_domain") && err.contains("profile.website"),
            "{err}"
        );
    }

    /// An unknown value is refused at load, naming the key and the values that are allowed.
    #[test]
    fn unknown_enum_values_name_the_key_and_the_allowed_values() {
        let cases = [
            (
                "[mail]\ntransport = \"pigeon\"\n".to_string(),
                "mail.transport",
                "`log`, `file`, `smtp`",
            ),
            (
                format!("{PROVIDER}kind = \"gogle\"\n"),
                "providers.0.kind",
                "`google`, `github`, `oidc`, `oauth2`",
            ),
            (
                format!("{PROVIDER}kind = \"oidc\"\nlink_policy = \"always\"\n"),
                "providers.0.link_policy",
                "`verified_email`, `never`",
            ),
            (
                format!("{CLIENT}grant_types = [\"implicit\"]\n"),
                "clients.0.grant_types.0",
                "`authorization_code`, `refresh_token`, `client_credentials`",
            ),
            (
                format!("{CLIENT}id_token_alg = \"HS256\"\n"),
                "clients.0.id_token_alg",
                "`RS256`, `ES256`, `EdDSA`",
            ),
            (
                format!("{CLIENT}access_token_alg = \"none\"\n"),
                "clients.0.access_token_alg",
                "`RS256`, `ES256`, `EdDSA`",
            ),
        ];
        for (toml, key, allowed) in cases {
            let err = load_with(&toml).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
            assert!(
                err.contains(&format!("(allowed values: {allowed})")),
                "{key}: {err}"
            );
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Secret::new("postgres://u:hunter2@h/db");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
