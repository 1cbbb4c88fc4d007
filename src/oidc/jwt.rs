//! Compact JWS: signing with our parsed key pairs, verification with jsonwebtoken.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use super::keys::{KeySet, Signer};
use crate::error::AppError;

/// Signs `claims` with `signer`; `typ` is `JWT`, `at+jwt` (RFC 9068) or `logout+jwt`.
pub fn sign<C: Serialize>(signer: &Signer, typ: &str, claims: &C) -> Result<String, AppError> {
    let header = json!({ "alg": signer.alg.as_str(), "typ": typ, "kid": signer.kid });
    let body =
        serde_json::to_vec(claims).map_err(|e| AppError::Internal(format!("claims: {e}")))?;
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(body));
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// Malformed, unknown key, wrong algorithm, wrong type or bad signature.
    Invalid,
    /// Well signed but past `exp`.
    Expired,
    /// Signed by a key this replica has not loaded yet (or never will).
    UnknownKey,
}

/// Verifies a token signed by one of our keys. `expected_typ` is checked when given;
/// `allow_expired` serves `id_token_hint`, which may be stale by design.
pub fn verify<C: DeserializeOwned>(
    keys: &KeySet,
    token: &str,
    expected_typ: Option<&str>,
    allow_expired: bool,
) -> Result<C, VerifyError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
    let kid = header.kid.as_deref().ok_or(VerifyError::Invalid)?;
    let verifier = keys.verifier(kid).ok_or(VerifyError::UnknownKey)?;
    if header.alg != verifier.alg.jwt_algorithm() {
        return Err(VerifyError::Invalid);
    }
    if let Some(typ) = expected_typ {
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(VerifyError::Invalid);
        }
    }
    let mut validation = jsonwebtoken::Validation::new(verifier.alg.jwt_algorithm());
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.leeway = 0;
    validation.validate_exp = !allow_expired;
    match jsonwebtoken::decode::<C>(token, &verifier.key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
            Err(VerifyError::Expired)
        }
        Err(_) => Err(VerifyError::Invalid),
    }
}

/// `at_hash` / `c_hash` (OIDC Core §3.1.3.6): the left half of the hash of the signature's
/// hash function, base64url: SHA-256 for RS256 and ES256, SHA-512 for Ed25519 (as in the
/// OpenID errata and certified libraries).
pub fn half_hash(alg: super::keys::Alg, value: &str) -> String {
    use sha2::{Digest, Sha256, Sha512};
    match alg {
        super::keys::Alg::EdDSA => URL_SAFE_NO_PAD.encode(&Sha512::digest(value.as_bytes())[..32]),
        _ => URL_SAFE_NO_PAD.encode(&Sha256::digest(value.as_bytes())[..16]),
    }
}
