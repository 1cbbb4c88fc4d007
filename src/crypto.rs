//! Small cryptographic building blocks: random tokens, digests, and the master key.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh random token of `bytes` bytes (256 bits for secrets), base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Hex SHA-256 of a high-entropy secret. Such secrets need no salt or slow hash: guessing the
/// preimage of a 256-bit random value is out of reach, and lookups by digest stay indexable.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Compares two secrets without leaking through timing where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The key that encrypts secrets at rest (XChaCha20-Poly1305; random 192-bit nonces are safe).
#[derive(Clone)]
pub struct MasterKey(XChaCha20Poly1305);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key must be 64 hex characters (32 bytes)")]
    Malformed,
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("decryption failed: wrong master key or corrupted data")]
    Decrypt,
}

impl MasterKey {
    pub fn from_hex(hex_key: &str) -> Result<Self, MasterKeyError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| MasterKeyError::Malformed)?;
        if bytes.len() != 32 {
            return Err(MasterKeyError::Malformed);
        }
        XChaCha20Poly1305::new_from_slice(&bytes)
            .map(MasterKey)
            .map_err(|_| MasterKeyError::Malformed)
    }

    /// Uses the configured key, or the key file in `data_dir`, generating it on first start.
    /// Returns whether a new key file was generated so the caller can warn about it.
    pub fn load_or_generate(
        configured: &str,
        data_dir: &Path,
    ) -> Result<(Self, bool), MasterKeyError> {
        if !configured.is_empty() {
            return Ok((Self::from_hex(configured)?, false));
        }
        let path = data_dir.join("master.key");
        let io = |source| MasterKeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(contents) => Ok((Self::from_hex(&contents)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::files::create_private_dir(data_dir).map_err(io)?;
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private_file(&path, hex::encode(key).as_bytes()).map_err(io)?;
                Ok((Self::from_hex(&hex::encode(key))?, true))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypts `plaintext`; the output is `nonce || ciphertext`, base64url.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key only fails for inputs beyond 256 GiB.
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), plaintext)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    pub fn decrypt(&self, sealed: &str) -> Result<Vec<u8>, MasterKeyError> {
        let raw = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| MasterKeyError::Decrypt)?;
        if raw.len() < 24 + 16 {
            return Err(MasterKeyError::Decrypt);
        }
        let (nonce, body) = raw.split_at(24);
        self.0
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| MasterKeyError::Decrypt)
    }
}

/// Creates a file readable by its owner only (the key must not be world-readable).
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_detects_tampering() {
        let key = MasterKey::from_hex(&"11".repeat(32)).unwrap();
        let sealed = key.encrypt(b"upstream secret");
        assert_eq!(key.decrypt(&sealed).unwrap(), b"upstream secret");
        let other = MasterKey::from_hex(&"22".repeat(32)).unwrap();
        assert!(other.decrypt(&sealed).is_err());
        assert!(key.decrypt("AAAA").is_err());
    }

    #[test]
    fn key_file_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, generated) = MasterKey::load_or_generate("", dir.path()).unwrap();
        assert!(generated);
        let (k2, generated) = MasterKey::load_or_generate("", dir.path()).unwrap();
        assert!(!generated);
        assert_eq!(k2.decrypt(&k1.encrypt(b"x")).unwrap(), b"x");
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }
}
