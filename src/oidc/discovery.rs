//! Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2). Everything listed here is served.

use serde_json::{json, Value};

use super::scope::SUPPORTED;

pub const AUTHORIZE_PATH: &str = "/authorize";
pub const TOKEN_PATH: &str = "/token";
pub const USERINFO_PATH: &str = "/userinfo";
pub const JWKS_PATH: &str = "/jwks";
pub const REVOKE_PATH: &str = "/revoke";
pub const INTROSPECT_PATH: &str = "/introspect";
pub const END_SESSION_PATH: &str = "/end_session";

pub fn metadata(issuer: &str) -> Value {
    let url = |path: &str| format!("{issuer}{path}");
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let algs = ["RS256", "ES256", "EdDSA"];
    json!({
        "issuer": issuer,
        "authorization_endpoint": url(AUTHORIZE_PATH),
        "token_endpoint": url(TOKEN_PATH),
        "userinfo_endpoint": url(USERINFO_PATH),
        "jwks_uri": url(JWKS_PATH),
        "revocation_endpoint": url(REVOKE_PATH),
        "introspection_endpoint": url(INTROSPECT_PATH),
        "end_session_endpoint": url(END_SESSION_PATH),
        "scopes_supported": SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "azp", "amr", "acr",
            "name", "preferred_username", "picture", "website", "zoneinfo", "locale", "updated_at", "email", "email_verified",
            "groups"
        ],
        "acr_values_supported": [
            crate::identity::sessions::ACR_SFA,
            crate::identity::sessions::ACR_MFA,
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "display_values_supported": ["page"],
        "ui_locales_supported": crate::i18n::Locale::ALL.map(crate::i18n::Locale::code),
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "access_token_signing_alg_values_supported": algs,
    })
}
