//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636, RFC 9207): parsing and
//! checking the request, deciding what the person must do, and issuing the code.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::claims::IdClaims;
use super::clients::{Client, GrantType};
use super::error::{ErrorCode, OAuthError};
use super::jwt::{self, VerifyError};
use super::keys::KeySet;
use super::scope::Scope;
use super::Lifetimes;
use crate::crypto::{random_token, sha256_hex, MasterKey};
use crate::db::models::{AuthorizationCode, Consent, Grant, Session};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Msg;
use crate::identity::ids::{ClientId, GrantId, UserId};

mod step;
pub use step::{authorize, Answer, Incoming, Step, Visitor};

/// Request parameters as sent, with repeated names noted (a repeated parameter is an error).
#[derive(Debug, Default, Clone)]
pub struct RawParams {
    values: BTreeMap<String, String>,
    repeated: Vec<String>,
}

impl RawParams {
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> RawParams {
        let mut params = RawParams::default();
        for (k, v) in pairs {
            match params.values.entry(k) {
                std::collections::btree_map::Entry::Occupied(seen) => {
                    params.repeated.push(seen.key().clone())
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(v);
                }
            }
        }
        params
    }

    /// A parameter; empty values count as absent (OIDC Core §3.1.2.1 / RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// A checked authorization request. It travels (sealed) through the login and consent pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub id_token_hint: Option<String>,
    pub login_hint: Option<String>,
    /// OIDC Core §3.1.2.1 `ui_locales`: the languages the client would like the pages in,
    /// space-separated BCP 47 tags in order of preference (see `i18n::negotiate`).
    #[serde(default)]
    pub ui_locales: Option<String>,
    /// `acr_values` asked for `urn:portcullis:acr:mfa`: a single-factor session steps up.
    #[serde(default)]
    pub wants_mfa: bool,
    /// When the request arrived (microseconds); `prompt=login` needs an authentication after it.
    pub issued_at: i64,
}

impl AuthorizationRequest {
    pub fn scope(&self) -> Scope {
        Scope::from_stored(&self.scope)
    }
    pub fn has_prompt(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }
}

/// Where and how to answer the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

impl Reply {
    /// The URL for a query-mode redirect.
    pub fn location(&self) -> String {
        let mut url = self.redirect_uri.clone();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.params)
            .finish();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query);
        url
    }
}

/// Why a request cannot proceed: shown on our own page when the redirect URI cannot be trusted,
/// otherwise sent back to the client.
#[derive(Debug, Clone)]
pub enum Rejection {
    Page(Msg),
    Redirect(Reply),
}

/// An error answer carrying `state` and `iss` (RFC 9207), and nothing else.
pub fn error_reply(
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
    issuer: &str,
    error: &OAuthError,
) -> Reply {
    let mut params = vec![
        ("error".to_string(), error.code().as_str().to_string()),
        (
            "error_description".to_string(),
            error.description().to_string(),
        ),
    ];
    if let Some(s) = state {
        params.push(("state".into(), s.into()));
    }
    params.push(("iss".into(), issuer.into()));
    Reply {
        redirect_uri: redirect_uri.into(),
        mode,
        params,
    }
}

pub fn rejection(req: &AuthorizationRequest, issuer: &str, error: OAuthError) -> Reply {
    error_reply(
        &req.redirect_uri,
        req.response_mode,
        req.state.as_deref(),
        issuer,
        &error,
    )
}

pub fn success_reply(req: &AuthorizationRequest, code: &str, issuer: &str) -> Reply {
    let mut params = vec![("code".to_string(), code.to_string())];
    if let Some(s) = &req.state {
        params.push(("state".into(), s.clone()));
    }
    params.push(("iss".into(), issuer.into()));
    Reply {
        redirect_uri: req.redirect_uri.clone(),
        mode: req.response_mode,
        params,
    }
}

const MAX_STATE: usize = 2048;
const MAX_NONCE: usize = 512;

/// Checks the request. Until the client and redirect URI are known good, problems are shown on
/// a page; after that they go back to the client.
pub fn parse(
    params: &RawParams,
    client: Option<&Client>,
    issuer: &str,
    now: NaiveDateTime,
) -> Result<AuthorizationRequest, Rejection> {
    let page = |key: &'static str| Rejection::Page(Msg::new(key));
    if params.get("client_id").is_none() {
        return Err(page("authorize-no-client-id"));
    }
    let client = client.ok_or_else(|| page("authorize-unknown-client"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| page("authorize-no-redirect-uri"))?;
    if !client.has_redirect_uri(redirect_uri) {
        return Err(page("authorize-redirect-mismatch"));
    }
    if params
        .repeated
        .iter()
        .any(|p| p == "client_id" || p == "redirect_uri")
    {
        return Err(page("authorize-repeated"));
    }

    let state = params.get("state").map(str::to_string);
    let (mode, mode_error) = match params.get("response_mode") {
        None | Some("query") => (ResponseMode::Query, None),
        Some("form_post") => (ResponseMode::FormPost, None),
        Some(_) => (ResponseMode::Query, Some("unsupported response_mode")),
    };
    let fail = |code: ErrorCode, d: &str| {
        Rejection::Redirect(error_reply(
            redirect_uri,
            mode,
            state.as_deref(),
            issuer,
            &OAuthError::new(code, d),
        ))
    };
    if let Some(d) = mode_error {
        return Err(fail(ErrorCode::InvalidRequest, d));
    }
    if let Some(p) = params.repeated.first() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            &format!("parameter {p} is repeated"),
        ));
    }
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(fail(ErrorCode::InvalidRequest, "state is too long"));
    }
    if params.get("request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }
    let scope = Scope::parse_supported(params.get("scope").unwrap_or_default());
    if scope.is_empty() {
        return Err(fail(
            ErrorCode::InvalidScope,
            "no supported scope requested (openid, profile, email, offline_access)",
        ));
    }

    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (Some(c), Some("S256")) if is_pkce_value(c) => Some(c.to_string()),
        (Some(_), Some("S256")) => {
            return Err(fail(ErrorCode::InvalidRequest, "malformed code_challenge"))
        }
        (Some(_), _) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not allowed)",
            ))
        }
        (None, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ))
        }
    };
    if client.is_public() && code_challenge.is_none() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "PKCE (code_challenge with S256) is required for public clients",
        ));
    }

    let prompt: Vec<String> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if prompt
        .iter()
        .any(|p| !matches!(p.as_str(), "none" | "login" | "consent" | "select_account"))
    {
        return Err(fail(ErrorCode::InvalidRequest, "unknown prompt value"));
    }
    if prompt.len() > 1 && prompt.iter().any(|p| p == "none") {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                ))
            }
        },
    };
    let nonce = params.get("nonce").map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE) {
        return Err(fail(ErrorCode::InvalidRequest, "nonce is too long"));
    }
    let login_hint = params
        .get("login_hint")
        .filter(|h| h.len() <= 254)
        .map(str::to_string);
    let ui_locales = params
        .get("ui_locales")
        .filter(|l| l.len() <= 256)
        .map(str::to_string);
    let wants_mfa = params
        .get("acr_values")
        .unwrap_or_default()
        .split(' ')
        .any(|v| v == crate::identity::sessions::ACR_MFA);
    Ok(AuthorizationRequest {
        wants_mfa,
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_string(),
        response_mode: mode,
        state,
        scope: scope.to_string(),
        nonce,
        code_challenge,
        prompt,
        max_age,
        id_token_hint: params.get("id_token_hint").map(str::to_string),
        login_hint,
        ui_locales,
        issued_at: now.and_utc().timestamp_micros(),
    })
}

/// RFC 7636 §4.1: 43-128 characters of [A-Z a-z 0-9 - . _ ~].
fn is_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The signed-in person as far as this decision is concerned.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub user_id: UserId,
    pub auth_time: NaiveDateTime,
    /// The session proved two factors (`acr` `urn:portcullis:acr:mfa`).
    pub mfa: bool,
    /// The person has a second factor to prove (an authenticator or a passkey).
    pub has_second_factor: bool,
}

/// What must happen next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Show the login page; `force` even to someone signed in.
    Login {
        force: bool,
    },
    Consent,
    /// Two factors are required and the person has only one: they set up a second first.
    EnrolSecondFactor,
    Issue,
}

/// Decides between login, consent and issuing the code (OIDC Core §3.1.2.3-4).
/// `hint_subject` is the verified `sub` of `id_token_hint`, when one was sent. `mfa_required`:
/// the client (or the server) requires two factors, unlike `acr_values`, which only asks.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    req: &AuthorizationRequest,
    mfa_required: bool,
    skip_consent: bool,
    session: Option<&SessionFacts>,
    hint_subject: Option<&str>,
    consented: Option<&Scope>,
    consent_just_given: bool,
    now: NaiveDateTime,
) -> Result<Next, OAuthError> {
    let silent = req.has_prompt("none");
    let needs_login = match session {
        None => true,
        Some(s) => {
            let reauth = req.has_prompt("login") || req.has_prompt("select_account");
            let authenticated_since_request =
                s.auth_time.and_utc().timestamp_micros() >= req.issued_at;
            let too_old = req
                .max_age
                .is_some_and(|max| (now - s.auth_time).num_seconds() > max);
            let other_user = hint_subject.is_some_and(|sub| sub != s.user_id.as_str());
            // Step-up: signing in again asks for the second factor of those who have one. A
            // sign-in made for this request that still is one factor (no second factor to ask
            // for) is accepted: `acr_values` is a wish, and the ID token's `acr` tells the truth.
            let step_up = req.wants_mfa && !s.mfa && !authenticated_since_request;
            (reauth && !authenticated_since_request) || too_old || other_user || step_up
        }
    };
    if needs_login {
        if silent {
            return Err(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user must sign in",
            ));
        }
        return Ok(Next::Login {
            force: session.is_some(),
        });
    }
    if let Some(s) = session.filter(|s| mfa_required && !s.mfa) {
        if silent {
            return Err(OAuthError::new(
                ErrorCode::InteractionRequired,
                "this application requires a second factor",
            ));
        }
        if !s.has_second_factor {
            return Ok(Next::EnrolSecondFactor);
        }
        // Signing in again asks for the second factor. A sign-in made for this request that
        // still is one factor cannot be stepped up by asking again: refuse rather than loop.
        if s.auth_time.and_utc().timestamp_micros() >= req.issued_at {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "this application requires a second factor",
            ));
        }
        return Ok(Next::Login { force: true });
    }
    let covered = consented.is_some_and(|c| req.scope().is_subset_of(c));
    let needs_consent =
        !consent_just_given && ((!skip_consent && !covered) || req.has_prompt("consent"));
    if needs_consent {
        if silent {
            return Err(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user must approve this application",
            ));
        }
        return Ok(Next::Consent);
    }
    Ok(Next::Issue)
}

/// Verifies `id_token_hint`: our signature and issuer, expiry not checked (OIDC Core §3.1.2.1).
pub fn verify_id_token_hint(
    keys: &KeySet,
    token: &str,
    issuer: &str,
) -> Result<IdClaims, VerifyError> {
    let claims: IdClaims = jwt::verify(keys, token, None, true)?;
    if claims.iss != issuer {
        return Err(VerifyError::Invalid);
    }
    Ok(claims)
}

/// Seals a request for its trip through the login and consent pages: encrypted and
/// authenticated with the master key, so it can be neither read nor altered on the way.
pub fn seal(req: &AuthorizationRequest, mk: &MasterKey) -> String {
    let json = serde_json::to_vec(req).unwrap_or_default();
    mk.encrypt(&json)
}

/// Opens a sealed request; `None` when forged, corrupted or older than `ttl`.
pub fn unseal(
    sealed: &str,
    mk: &MasterKey,
    now: NaiveDateTime,
    lifetimes: &Lifetimes,
) -> Option<AuthorizationRequest> {
    let plain = mk.decrypt(sealed).ok()?;
    let req: AuthorizationRequest = serde_json::from_slice(&plain).ok()?;
    let age_micros = now.and_utc().timestamp_micros() - req.issued_at;
    (age_micros >= 0 && age_micros <= lifetimes.authorization_request.num_microseconds()?)
        .then_some(req)
}

/// Remembers that the user approved these scopes for this client (added to earlier ones).
pub fn record_consent(
    conn: &mut DbConnection,
    user_id: &UserId,
    client_id: &ClientId,
    scope: &Scope,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::db::write_transaction::<_, diesel::result::Error, _>(conn, |conn| {
        let earlier = Consent::find(conn, user_id, client_id)?
            .map(|c| Scope::from_stored(&c.scope))
            .unwrap_or_default();
        Consent::save(
            conn,
            user_id,
            client_id,
            &earlier.union(scope).to_string(),
            now,
        )
    })?;
    Ok(())
}

/// Creates the grant and its single-use code (≥ 256 bits; only its hash is stored).
pub fn issue_code(
    conn: &mut DbConnection,
    req: &AuthorizationRequest,
    session: &Session,
    lifetimes: &Lifetimes,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let code = random_token(32);
    let grant_id = GrantId::generate();
    crate::db::write_transaction::<_, diesel::result::Error, _>(conn, |conn| {
        Grant::insert(
            conn,
            &Grant {
                id: grant_id.clone(),
                user_id: session.user_id.clone(),
                client_id: req.client_id.clone(),
                session_id: Some(session.id.clone()),
                scope: req.scope.clone(),
                auth_time: session.auth_time,
                amr: session.auth_method.clone(),
                created_at: now,
                revoked_at: None,
            },
        )?;
        AuthorizationCode::insert(
            conn,
            &AuthorizationCode {
                code_hash: sha256_hex(&code),
                grant_id: grant_id.clone(),
                redirect_uri: req.redirect_uri.clone(),
                code_challenge: req.code_challenge.clone(),
                nonce: req.nonce.clone(),
                created_at: now,
                expires_at: now + lifetimes.code,
                used_at: None,
            },
        )
    })?;
    Ok(code)
}

/// `S256(verifier) == challenge` (RFC 7636 §4.6).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use sha2::{Digest, Sha256};
    is_pkce_value(verifier)
        && crate::crypto::constant_time_eq(
            URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()))
                .as_bytes(),
            challenge.as_bytes(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        // RFC 7636 Appendix B.
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn error_replies_carry_state_and_iss_only() {
        let r = error_reply(
            "https://app/cb?x=1",
            ResponseMode::Query,
            Some("s t"),
            "https://id",
            &OAuthError::new(ErrorCode::AccessDenied, "no"),
        );
        assert_eq!(r.location(), "https://app/cb?x=1&error=access_denied&error_description=no&state=s+t&iss=https%3A%2F%2Fid");
    }

    // ── decide: prompt, max_age, auth_time and consent, at an explicit `now` ───────────────

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    /// A request that arrived at `at(0)`.
    fn request(prompt: &[&str], max_age: Option<i64>) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "cli_a".into(),
            redirect_uri: "https://app/cb".into(),
            response_mode: ResponseMode::Query,
            state: None,
            scope: "openid profile".into(),
            nonce: None,
            code_challenge: None,
            prompt: prompt.iter().map(|p| p.to_string()).collect(),
            max_age,
            id_token_hint: None,
            login_hint: None,
            ui_locales: None,
            wants_mfa: false,
            issued_at: at(0).and_utc().timestamp_micros(),
        }
    }

    fn ada(auth_time: NaiveDateTime) -> SessionFacts {
        SessionFacts {
            user_id: UserId::from_db("usr_ada".into()),
            auth_time,
            mfa: false,
            has_second_factor: false,
        }
    }

    #[test]
    fn a_required_second_factor_is_asked_for_or_set_up_never_skipped() {
        let req = request(&[], None);
        let decide_required = |req: &AuthorizationRequest, s: &SessionFacts, now| {
            decide(
                req,
                true,
                false,
                Some(s),
                None,
                Some(&consented()),
                false,
                now,
            )
        };
        // No second factor yet: set one up first.
        assert_eq!(
            decide_required(&req, &ada(at(-5)), at(1)).unwrap(),
            Next::EnrolSecondFactor
        );
        // Has one, signed in with one factor earlier: sign in again (which asks for it).
        let has_one = SessionFacts {
            has_second_factor: true,
            ..ada(at(-5))
        };
        assert_eq!(
            decide_required(&req, &has_one, at(1)).unwrap(),
            Next::Login { force: true }
        );
        // ...but a one-factor sign-in made for this very request is refused, not looped.
        let just_now = SessionFacts {
            has_second_factor: true,
            ..ada(at(1))
        };
        assert_eq!(
            decide_required(&req, &just_now, at(2)).unwrap_err().code(),
            ErrorCode::AccessDenied
        );
        let two_factors = SessionFacts {
            mfa: true,
            ..ada(at(-5))
        };
        assert_eq!(
            decide_required(&req, &two_factors, at(1)).unwrap(),
            Next::Issue
        );
        // prompt=none cannot set anything up.
        let silent = request(&["none"], None);
        assert_eq!(
            decide_required(&silent, &ada(at(-5)), at(1))
                .unwrap_err()
                .code(),
            ErrorCode::InteractionRequired
        );
        // Nobody signed in: the login comes first, as always.
        assert_eq!(
            decide(&req, true, false, None, None, None, false, at(1)).unwrap(),
            Next::Login { force: false }
        );
    }

    #[test]
    fn acr_values_mfa_steps_up_a_single_factor_session_once() {
        let req = AuthorizationRequest {
            wants_mfa: true,
            ..request(&[], None)
        };
        let one_factor = ada(at(-5));
        assert_eq!(
            decide_for(&req, Some(&one_factor), None, at(1)).unwrap(),
            Next::Login { force: true }
        );
        let two_factors = SessionFacts {
            mfa: true,
            ..ada(at(-5))
        };
        assert_eq!(
            decide_for(&req, Some(&two_factors), None, at(1)).unwrap(),
            Next::Issue
        );
        // Signed in again for this request, still one factor (none other to ask): no loop.
        assert_eq!(
            decide_for(&req, Some(&ada(at(1))), None, at(2)).unwrap(),
            Next::Issue
        );
        let silent = AuthorizationRequest {
            prompt: vec!["none".into()],
            ..req
        };
        assert_eq!(
            decide_for(&silent, Some(&one_factor), None, at(1))
                .unwrap_err()
                .code(),
            ErrorCode::LoginRequired
        );
    }

    fn consented() -> Scope {
        Scope::from_stored("openid profile")
    }

    /// The decision for a consenting, non-skip-consent client.
    fn decide_for(
        req: &AuthorizationRequest,
        session: Option<&SessionFacts>,
        hint: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Next, OAuthError> {
        decide(
            req,
            false,
            false,
            session,
            hint,
            Some(&consented()),
            false,
            now,
        )
    }

    #[test]
    fn signed_out_goes_to_login_or_with_prompt_none_gets_login_required() {
        let now = at(1);
        assert_eq!(
            decide_for(&request(&[], None), None, None, now).unwrap(),
            Next::Login { force: false }
        );
        let silent = decide_for(&request(&["none"], None), None, None, now).unwrap_err();
        assert_eq!(silent.code(), ErrorCode::LoginRequired);
    }

    #[test]
    fn prompt_login_forces_a_sign_in_older_than_the_request_but_not_a_newer_one() {
        let req = request(&["login"], None);
        let before = ada(at(-5));
        assert_eq!(
            decide_for(&req, Some(&before), None, at(1)).unwrap(),
            Next::Login { force: true }
        );
        // Back from the login page: signed in after the request arrived.
        let after = ada(at(1));
        assert_eq!(
            decide_for(&req, Some(&after), None, at(2)).unwrap(),
            Next::Issue
        );
        let select = request(&["select_account"], None);
        assert_eq!(
            decide_for(&select, Some(&before), None, at(1)).unwrap(),
            Next::Login { force: true }
        );
    }

    #[test]
    fn max_age_forces_a_sign_in_only_once_exceeded() {
        let session = ada(at(-10));
        let now = at(0);
        let within = request(&[], Some(10));
        assert_eq!(
            decide_for(&within, Some(&session), None, now).unwrap(),
            Next::Issue
        );
        let exceeded = request(&[], Some(9));
        assert_eq!(
            decide_for(&exceeded, Some(&session), None, now).unwrap(),
            Next::Login { force: true }
        );
        let silent = request(&["none"], Some(9));
        assert_eq!(
            decide_for(&silent, Some(&session), None, now)
                .unwrap_err()
                .code(),
            ErrorCode::LoginRequired
        );
    }

    #[test]
    fn an_id_token_hint_for_another_user_forces_a_sign_in() {
        let session = ada(at(-1));
        let req = request(&[], None);
        assert_eq!(
            decide_for(&req, Some(&session), Some("usr_ada"), at(0)).unwrap(),
            Next::Issue
        );
        assert_eq!(
            decide_for(&req, Some(&session), Some("usr_bob"), at(0)).unwrap(),
            Next::Login { force: true }
        );
        let silent = request(&["none"], None);
        assert_eq!(
            decide_for(&silent, Some(&session), Some("usr_bob"), at(0))
                .unwrap_err()
                .code(),
            ErrorCode::LoginRequired
        );
    }

    #[test]
    fn consent_is_asked_for_scopes_not_yet_approved_or_with_prompt_consent() {
        let session = ada(at(-1));
        let now = at(0);
        let req = request(&[], None);
        let narrower = Scope::from_stored("openid");
        assert_eq!(
            decide(
                &req,
                false,
                false,
                Some(&session),
                None,
                Some(&narrower),
                false,
                now
            )
            .unwrap(),
            Next::Consent
        );
        assert_eq!(
            decide(&req, false, false, Some(&session), None, None, false, now).unwrap(),
            Next::Consent
        );
        let again = request(&["consent"], None);
        assert_eq!(
            decide_for(&again, Some(&session), None, now).unwrap(),
            Next::Consent
        );
        // Just approved on the consent page: issue, even with prompt=consent.
        assert_eq!(
            decide(&again, false, false, Some(&session), None, None, true, now).unwrap(),
            Next::Issue
        );
        // A first-party client never asks.
        assert_eq!(
            decide(&req, false, true, Some(&session), None, None, false, now).unwrap(),
            Next::Issue
        );
        let silent = request(&["none"], None);
        assert_eq!(
            decide(
                &silent,
                false,
                false,
                Some(&session),
                None,
                None,
                false,
                now
            )
            .unwrap_err()
            .code(),
            ErrorCode::ConsentRequired
        );
    }

    #[test]
    fn a_sealed_request_opens_within_its_lifetime_only() {
        let mk = MasterKey::from_hex(&"07".repeat(32)).unwrap();
        let lifetimes = Lifetimes {
            access_token: chrono::Duration::seconds(60),
            id_token: chrono::Duration::seconds(60),
            code: chrono::Duration::seconds(60),
            refresh_token: chrono::Duration::seconds(60),
            authorization_request: chrono::Duration::seconds(600),
        };
        let sealed = seal(&request(&[], None), &mk);
        assert!(unseal(&sealed, &mk, at(600), &lifetimes).is_some());
        assert!(unseal(&sealed, &mk, at(601), &lifetimes).is_none());
        // From the future (clock skew between replicas beyond reason): refused.
        assert!(unseal(&sealed, &mk, at(-1), &lifetimes).is_none());
    }
}
