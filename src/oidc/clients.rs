//! Client applications: registration, static clients from the config file, authentication.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use super::claim_rules::{self, ClaimRule};
use super::error::{ErrorCode, OAuthError};
use super::keys::Alg;
use crate::config::StaticClient;
use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::db::models::OAuthClient;
use crate::db::DbConnection;
use crate::error::{AppError, ValidationError};
use crate::identity::ids::ClientId;
use crate::identity::now;
use crate::identity::throttle::{self, Subject, ThrottlePolicy, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn parse(s: &str) -> Option<GrantType> {
        match s {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

/// How a client proves itself at the token endpoint (RFC 6749 §2.3, OIDC Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClientAuthMethod {
    #[serde(rename = "client_secret_basic")]
    Basic,
    #[serde(rename = "client_secret_post")]
    Post,
    /// A public client (browser or native app): no secret, PKCE instead.
    #[serde(rename = "none")]
    None,
}

impl ClientAuthMethod {
    pub fn parse(s: &str) -> Option<ClientAuthMethod> {
        match s {
            "client_secret_basic" => Some(ClientAuthMethod::Basic),
            "client_secret_post" => Some(ClientAuthMethod::Post),
            "none" => Some(ClientAuthMethod::None),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::Basic => "client_secret_basic",
            ClientAuthMethod::Post => "client_secret_post",
            ClientAuthMethod::None => "none",
        }
    }
}

/// A client as the protocol code uses it.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    #[serde(skip)]
    secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: ClientAuthMethod,
    pub skip_consent: bool,
    pub always_issue_refresh: bool,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: Alg,
    /// Signs this client's access tokens; resource servers verify them, not the client.
    pub access_token_alg: Alg,
    pub managed_by: String,
    /// Every authorization needs a two-factor session (see `authorize::decide`).
    pub require_mfa: bool,
    /// May get the `admin` scope with client_credentials, to call the admin API.
    pub admin_api: bool,
    /// Its own claims, computed from the user (`claim_rules`).
    pub claims: Vec<ClaimRule>,
}

impl Client {
    pub fn from_row(row: OAuthClient) -> Result<Client, AppError> {
        Ok(Client {
            redirect_uris: row.redirect_uris.into_inner(),
            post_logout_redirect_uris: row.post_logout_redirect_uris.into_inner(),
            grant_types: row
                .grant_types
                .iter()
                .filter_map(|g| GrantType::parse(g))
                .collect(),
            auth_method: ClientAuthMethod::parse(&row.auth_method)
                .unwrap_or(ClientAuthMethod::Basic),
            id_token_alg: Alg::parse(&row.id_token_alg).unwrap_or(Alg::RS256),
            access_token_alg: row
                .access_token_alg
                .as_deref()
                .and_then(Alg::parse)
                .unwrap_or_else(|| Alg::parse(&row.id_token_alg).unwrap_or(Alg::RS256)),
            id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            skip_consent: row.skip_consent,
            always_issue_refresh: row.always_issue_refresh,
            backchannel_logout_uri: row.backchannel_logout_uri,
            managed_by: row.managed_by,
            require_mfa: row.require_mfa,
            admin_api: row.admin_api,
            claims: row.claim_rules.into_inner(),
        })
    }

    pub fn find(conn: &mut DbConnection, id: &ClientId) -> Result<Option<Client>, AppError> {
        OAuthClient::find(conn, id)?
            .map(Client::from_row)
            .transpose()
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == ClientAuthMethod::None
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Exact string match, as OAuth 2.0 Security BCP and OIDC require.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    fn secret_matches(&self, secret: &str) -> bool {
        match &self.secret_hash {
            Some(hash) => constant_time_eq(sha256_hex(secret).as_bytes(), hash.as_bytes()),
            None => false,
        }
    }
}

/// What a client sent to prove itself.
#[derive(Debug, Default, Clone)]
pub struct ClientCredentials {
    /// From `Authorization: Basic`, already form-url-decoded (RFC 6749 §2.3.1).
    pub basic: Option<(String, String)>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl ClientCredentials {
    /// Parses an `Authorization` header value; `Err` when it is Basic but malformed.
    pub fn parse_basic(header: Option<&str>) -> Result<Option<(String, String)>, OAuthError> {
        let Some(value) = header else { return Ok(None) };
        let Some(encoded) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        else {
            return Ok(None);
        };
        let malformed = || OAuthError::invalid_client("malformed Basic authorization header");
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
        let unescape = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok(Some((unescape(id), unescape(secret))))
    }
}

/// Authenticates a client at the token, revocation and introspection endpoints.
/// `allow_public` lets a public client identify itself by `client_id` alone.
/// Wrong secrets are counted per client id in the database (`throttle`, known ids and unknown
/// ones alike): past `auth.throttle.free_failures` a client must wait an exponentially growing
/// delay, and an earlier attempt gets `invalid_client` without its secret being checked.
pub fn authenticate(
    conn: &mut DbConnection,
    creds: &ClientCredentials,
    allow_public: bool,
    throttle_policy: &ThrottlePolicy,
    now: chrono::NaiveDateTime,
) -> Result<Client, OAuthError> {
    let (id, secret) = claimed(creds)?;
    let Some(secret) = secret else {
        return check_client(conn, &id, None, allow_public);
    };
    let subject = Subject::Client(id.clone());
    let counter = throttle::counter(conn, &subject)?;
    // Clients are never locked, only slowed down.
    if let Verdict::Wait(secs) = throttle::check(throttle_policy, &subject, counter, now) {
        return Err(OAuthError::invalid_client(format!(
            "too many failed client authentications; try again in {secs} seconds"
        )));
    }
    let outcome = check_client(conn, &id, Some(secret), allow_public);
    match &outcome {
        Err(e) if e.code() == ErrorCode::InvalidClient => {
            throttle::record_failure(conn, throttle_policy, &subject, now)?;
        }
        Ok(_) if counter.is_some() => {
            throttle::reset(conn, &subject)?;
        }
        _ => {}
    }
    outcome
}

/// The client id and secret the request claims, by exactly one method. An ID that cannot be a
/// client ID gets the same answer as an unknown one.
fn claimed(creds: &ClientCredentials) -> Result<(ClientId, Option<String>), OAuthError> {
    let (id, secret) = claimed_text(creds)?;
    let id = ClientId::parse(&id)
        .map_err(|_| OAuthError::invalid_client("client authentication failed"))?;
    Ok((id, secret))
}

fn claimed_text(creds: &ClientCredentials) -> Result<(String, Option<String>), OAuthError> {
    match (&creds.basic, &creds.client_secret) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not several",
        )),
        (Some((id, secret)), None) => {
            if creds.client_id.as_ref().is_some_and(|c| c != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            Ok((id.clone(), Some(secret.clone())))
        }
        (None, secret) => match &creds.client_id {
            Some(id) => Ok((id.clone(), secret.clone())),
            None => Err(OAuthError::invalid_client(
                "client authentication is required",
            )),
        },
    }
}

fn check_client(
    conn: &mut DbConnection,
    id: &ClientId,
    secret: Option<String>,
    allow_public: bool,
) -> Result<Client, OAuthError> {
    let client = Client::find(conn, id)?;
    let Some(client) = client else {
        // Same answer as a wrong secret, so client IDs cannot be probed.
        return Err(OAuthError::invalid_client("client authentication failed"));
    };
    match (client.is_public(), secret) {
        (true, None) if allow_public => Ok(client),
        (true, _) => Err(OAuthError::invalid_client("client authentication failed")),
        (false, Some(secret)) if client.secret_matches(&secret) => Ok(client),
        (false, _) => Err(OAuthError::invalid_client("client authentication failed")),
    }
}

/// What an admin asks for when registering a client.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub auth_method: Option<String>,
    pub skip_consent: bool,
    pub always_issue_refresh: bool,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: String,
    /// `None`: access tokens are signed like ID tokens.
    pub access_token_alg: Option<String>,
    pub require_mfa: bool,
    pub admin_api: bool,
    /// Extra claims (`claim_rules`), checked here like everything else.
    pub claims: Vec<ClaimRule>,
}

/// Checks a spec and turns it into a row (without id, secret and timestamps decided).
fn build_row(
    spec: &ClientSpec,
    id: ClientId,
    secret_hash: Option<String>,
    managed_by: &str,
) -> Result<OAuthClient, String> {
    if spec.name.trim().is_empty() || spec.name.chars().count() > 100 {
        return Err("name: required, at most 100 characters".into());
    }
    let mut grants: Vec<GrantType> = Vec::new();
    for g in &spec.grant_types {
        let grant = GrantType::parse(g).ok_or_else(|| {
            format!("grant type {g}: use authorization_code, refresh_token or client_credentials")
        })?;
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    if grants.is_empty() {
        grants = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    }
    let auth_method = match (&spec.auth_method, spec.public) {
        (Some(m), _) => ClientAuthMethod::parse(m).ok_or_else(|| {
            format!("auth method {m}: use client_secret_basic, client_secret_post or none")
        })?,
        (None, true) => ClientAuthMethod::None,
        (None, false) => ClientAuthMethod::Basic,
    };
    if spec.public != (auth_method == ClientAuthMethod::None) {
        return Err("a public client uses auth method none, and only a public client does".into());
    }
    if auth_method == ClientAuthMethod::None && grants.contains(&GrantType::ClientCredentials) {
        return Err("a public client cannot use client_credentials".into());
    }
    if spec.admin_api && !grants.contains(&GrantType::ClientCredentials) {
        return Err(
            "an admin API client gets its tokens with client_credentials: add that grant type"
                .into(),
        );
    }
    if grants.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        return Err("at least one --redirect-uri is needed for the authorization code flow".into());
    }
    for uri in &spec.redirect_uris {
        check_redirect_uri(uri).map_err(|e| format!("redirect URI {uri}: {e}"))?;
    }
    for uri in &spec.post_logout_redirect_uris {
        check_redirect_uri(uri).map_err(|e| format!("post-logout redirect URI {uri}: {e}"))?;
    }
    if let Some(uri) = &spec.backchannel_logout_uri {
        let u = url::Url::parse(uri)
            .map_err(|_| format!("back-channel logout URI {uri}: not a URL"))?;
        if !matches!(u.scheme(), "http" | "https") || u.fragment().is_some() {
            return Err(format!(
                "back-channel logout URI {uri}: must be http(s) without a fragment"
            ));
        }
    }
    let alg = Alg::parse(&spec.id_token_alg).ok_or_else(|| {
        format!(
            "id token alg {}: use RS256, ES256 or EdDSA",
            spec.id_token_alg
        )
    })?;
    let access_alg = match &spec.access_token_alg {
        Some(a) => Some(
            Alg::parse(a)
                .ok_or_else(|| format!("access token alg {a}: use RS256, ES256 or EdDSA"))?,
        ),
        None => None,
    };
    claim_rules::check_all(&spec.claims)?;
    let grant_names: Vec<String> = grants.iter().map(|g| g.as_str().to_string()).collect();
    let now = now();
    Ok(OAuthClient {
        id,
        name: spec.name.trim().to_string(),
        secret_hash,
        redirect_uris: spec.redirect_uris.clone().into(),
        post_logout_redirect_uris: spec.post_logout_redirect_uris.clone().into(),
        grant_types: grant_names.into(),
        auth_method: auth_method.as_str().into(),
        skip_consent: spec.skip_consent,
        always_issue_refresh: spec.always_issue_refresh,
        backchannel_logout_uri: spec.backchannel_logout_uri.clone(),
        id_token_alg: alg.as_str().into(),
        managed_by: managed_by.into(),
        created_at: now,
        updated_at: now,
        access_token_alg: access_alg.map(|a| a.as_str().into()),
        require_mfa: spec.require_mfa,
        admin_api: spec.admin_api,
        claim_rules: spec.claims.clone().into(),
    })
}

/// Redirect URIs must be absolute, without fragment (RFC 6749 §3.1.2), and not a scheme that
/// runs code in the browser.
fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    let u = url::Url::parse(uri).map_err(|_| "not an absolute URI")?;
    if u.fragment().is_some() {
        return Err("must not contain a fragment");
    }
    if matches!(
        u.scheme(),
        "javascript" | "data" | "file" | "vbscript" | "blob"
    ) {
        return Err("scheme not allowed");
    }
    Ok(())
}

/// A newly registered client and, for confidential ones, its secret (shown once).
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
}

/// Registers a client; `managed_by` says where it came from (`cli`, `admin`; `config` is
/// [`sync_static`]'s alone).
pub fn register(
    conn: &mut DbConnection,
    spec: &ClientSpec,
    managed_by: &str,
) -> Result<Registered, AppError> {
    let id = ClientId::generate();
    let secret = (!spec.public).then(|| random_token(32));
    let row = build_row(spec, id, secret.as_deref().map(sha256_hex), managed_by)
        .map_err(ValidationError::ClientSpec)?;
    OAuthClient::insert(conn, &row)?;
    Ok(Registered {
        client: Client::from_row(row)?,
        secret,
    })
}

/// Replaces a client's settings with `spec`, keeping its ID, secret and origin. Whether it is
/// public cannot change: a secret would appear or vanish under the running application.
pub fn update(
    conn: &mut DbConnection,
    id: &ClientId,
    spec: &ClientSpec,
) -> Result<Client, AppError> {
    let existing = OAuthClient::find(conn, id)?.ok_or(AppError::NotFound)?;
    if spec.public != existing.secret_hash.is_none() {
        return Err(ValidationError::ClientSpec(
            "a client cannot switch between public and confidential: register a new one".into(),
        )
        .into());
    }
    let mut row = build_row(
        spec,
        id.clone(),
        existing.secret_hash.clone(),
        &existing.managed_by,
    )
    .map_err(ValidationError::ClientSpec)?;
    row.created_at = existing.created_at;
    OAuthClient::update(conn, &row)?;
    Client::from_row(row)
}

/// A fresh secret for a confidential client; the old one stops working at once.
pub fn rotate_secret(conn: &mut DbConnection, id: &ClientId) -> Result<String, AppError> {
    let client = Client::find(conn, id)?.ok_or(AppError::NotFound)?;
    if client.is_public() {
        return Err(ValidationError::PublicClientSecret.into());
    }
    let secret = random_token(32);
    OAuthClient::set_secret_hash(conn, id, &sha256_hex(&secret), now())?;
    Ok(secret)
}

/// Makes the database match the `[[clients]]` of the config file.
pub fn sync_static(conn: &mut DbConnection, clients: &[StaticClient]) -> Result<(), AppError> {
    let mut seen = Vec::new();
    for c in clients {
        let public = c.secret.is_none();
        let spec = ClientSpec {
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            public,
            grant_types: c.grant_types.iter().map(|g| g.as_str().into()).collect(),
            auth_method: c.auth_method.clone(),
            skip_consent: c.skip_consent,
            always_issue_refresh: c.always_issue_refresh,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            id_token_alg: c.id_token_alg.as_str().into(),
            access_token_alg: c.access_token_alg.map(|a| a.as_str().into()),
            require_mfa: c.require_mfa,
            admin_api: c.admin_api,
            claims: c.claims.clone(),
        };
        let hash = c.secret.as_ref().map(|s| sha256_hex(s.expose()));
        let mut row = build_row(&spec, c.id.clone(), hash, "config")
            .map_err(|e| AppError::Config(format!("clients.{}: {e}", c.id)))?;
        match OAuthClient::find(conn, &c.id)? {
            Some(existing) if existing.managed_by != "config" => {
                return Err(AppError::Config(format!(
                    "clients.{}: a client with this id was created with the CLI",
                    c.id
                )));
            }
            Some(existing) => {
                row.created_at = existing.created_at;
                OAuthClient::update(conn, &row)?;
            }
            None => {
                OAuthClient::insert(conn, &row)?;
            }
        }
        seen.push(c.id.clone());
    }
    for stale in OAuthClient::list_managed_by(conn, "config")? {
        if !seen.contains(&stale.id) {
            OAuthClient::delete(conn, &stale.id)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acr%2Bet"));
        assert_eq!(
            ClientCredentials::parse_basic(Some(&header)).unwrap(),
            Some(("my app".to_string(), "s:cr+et".to_string()))
        );
        assert!(ClientCredentials::parse_basic(Some("Basic !!!")).is_err());
        assert_eq!(
            ClientCredentials::parse_basic(Some("Bearer x")).unwrap(),
            None
        );
    }

    #[test]
    fn specs_are_checked() {
        let ok = ClientSpec {
            name: "App".into(),
            redirect_uris: vec!["https://app/cb".into()],
            id_token_alg: "RS256".into(),
            ..Default::default()
        };
        assert!(build_row(&ok, "c".into(), None, "cli").is_ok());
        let fragment = ClientSpec {
            redirect_uris: vec!["https://app/cb#x".into()],
            ..ok.clone()
        };
        assert!(build_row(&fragment, "c".into(), None, "cli").is_err());
        let js = ClientSpec {
            redirect_uris: vec!["javascript:alert(1)".into()],
            ..ok.clone()
        };
        assert!(build_row(&js, "c".into(), None, "cli").is_err());
        let public_cc = ClientSpec {
            public: true,
            grant_types: vec!["client_credentials".into()],
            ..ok.clone()
        };
        assert!(build_row(&public_cc, "c".into(), None, "cli").is_err());
        let bad_alg = ClientSpec {
            id_token_alg: "HS256".into(),
            ..ok.clone()
        };
        assert!(build_row(&bad_alg, "c".into(), None, "cli").is_err());
        let bad_access_alg = ClientSpec {
            access_token_alg: Some("none".into()),
            ..ok.clone()
        };
        assert!(build_row(&bad_access_alg, "c".into(), None, "cli").is_err());
        let es_access = ClientSpec {
            access_token_alg: Some("ES256".into()),
            ..ok
        };
        let row = build_row(&es_access, "c".into(), None, "cli").unwrap();
        let client = Client::from_row(row).unwrap();
        assert_eq!(
            (client.id_token_alg, client.access_token_alg),
            (Alg::RS256, Alg::ES256)
        );
    }
}
