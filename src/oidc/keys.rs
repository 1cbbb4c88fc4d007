//! Token signing keys: RS256, ES256 and EdDSA key pairs, generated here, stored encrypted with
//! the master key, parsed once, and re-read from the database so every replica sees rotations.
//!
//! Lifecycle per algorithm: a key is *pending* (published in the JWKS, not yet signing) until
//! its `not_before`; the newest key past `not_before` is *active* and signs; an older key stays
//! published for `retention` after its successor became active, so tokens it signed still verify.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::jwt::{self, VerifyError};
use crate::config::KeySettings;
use crate::crypto::{random_token, MasterKey};
use crate::db::models::SigningKeyRow;
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::identity::now;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::RS256 => jsonwebtoken::Algorithm::RS256,
            Alg::ES256 => jsonwebtoken::Algorithm::ES256,
            Alg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// An active key pair, parsed once (re-parsing per signature halves RS256 throughput).
pub struct Signer {
    pub kid: String,
    pub alg: Alg,
    pair: Pair,
}

impl Signer {
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AppError> {
        let fail = |_| AppError::Internal("signing failed".into());
        match &self.pair {
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .map_err(fail)?;
                Ok(sig)
            }
            Pair::Ec(k) => Ok(k
                .sign(&SystemRandom::new(), message)
                .map_err(fail)?
                .as_ref()
                .to_vec()),
            Pair::Ed(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

pub struct Verifier {
    pub alg: Alg,
    pub key: jsonwebtoken::DecodingKey,
}

/// The keys as of one read of the database.
pub struct KeySet {
    signers: HashMap<Alg, Signer>,
    verifiers: HashMap<String, Verifier>,
    jwks: String,
}

impl KeySet {
    pub fn signer(&self, alg: Alg) -> Result<&Signer, AppError> {
        self.signers
            .get(&alg)
            .ok_or_else(|| AppError::Internal(format!("no active {} key", alg.as_str())))
    }

    pub fn verifier(&self, kid: &str) -> Option<&Verifier> {
        self.verifiers.get(kid)
    }

    /// The JWKS document (public parts only), serialised once per reload.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }
}

pub struct KeyStore {
    current: RwLock<Arc<KeySet>>,
    /// When a token named an unknown kid, the last time that made us re-read the database
    /// (unix seconds); bounds how often hostile tokens can cause reloads.
    last_miss_reload: AtomicI64,
    db: Db,
    master_key: MasterKey,
    settings: KeySettings,
    retention: Duration,
}

impl KeyStore {
    /// Makes sure every algorithm has a key (first start), rotates by age, and loads the set.
    pub async fn open(
        db: Db,
        master_key: MasterKey,
        settings: KeySettings,
        retention: Duration,
    ) -> Result<KeyStore, AppError> {
        let set = load(&db, &master_key, &settings, retention, true).await?;
        Ok(KeyStore {
            current: RwLock::new(Arc::new(set)),
            last_miss_reload: AtomicI64::new(0),
            db,
            master_key,
            settings,
            retention,
        })
    }

    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the keys (and rotates any that are due).
    pub async fn refresh(&self) -> Result<(), AppError> {
        let set = load(
            &self.db,
            &self.master_key,
            &self.settings,
            self.retention,
            true,
        )
        .await?;
        match self.current.write() {
            Ok(mut guard) => *guard = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        Ok(())
    }

    /// Verifies one of our tokens; a kid this replica has not seen yet (another replica or the
    /// CLI rotated keys) makes it re-read the keys once, at most every 5 seconds.
    pub fn verify<C: serde::de::DeserializeOwned>(
        &self,
        conn: &mut DbConnection,
        token: &str,
        typ: Option<&str>,
        allow_expired: bool,
    ) -> Result<C, VerifyError> {
        match jwt::verify(&self.current(), token, typ, allow_expired) {
            Err(VerifyError::UnknownKey) => {
                let now_secs = now().and_utc().timestamp();
                let last = self.last_miss_reload.load(Ordering::Relaxed);
                if now_secs - last < 5
                    || self
                        .last_miss_reload
                        .compare_exchange(last, now_secs, Ordering::Relaxed, Ordering::Relaxed)
                        .is_err()
                {
                    return Err(VerifyError::UnknownKey);
                }
                let set = SigningKeyRow::all(conn)
                    .map_err(AppError::from)
                    .and_then(|rows| build_keyset(rows, &self.master_key, now(), self.retention));
                match set {
                    Ok(set) => {
                        let set = Arc::new(set);
                        match self.current.write() {
                            Ok(mut guard) => *guard = set.clone(),
                            Err(poisoned) => *poisoned.into_inner() = set.clone(),
                        }
                        jwt::verify(&set, token, typ, allow_expired)
                    }
                    Err(_) => Err(VerifyError::UnknownKey),
                }
            }
            other => other,
        }
    }

    /// Keeps this replica's view current: another replica or the CLI may rotate keys.
    pub fn spawn_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let store = Arc::downgrade(self);
        let every = StdDuration::from_secs(self.settings.refresh_interval_secs.max(1));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(store) = store.upgrade() else { break };
                if let Err(e) = store.refresh().await {
                    tracing::warn!(error = %e, "reloading signing keys failed");
                }
            }
        })
    }
}

async fn load(
    db: &Db,
    master_key: &MasterKey,
    settings: &KeySettings,
    retention: Duration,
    maintain: bool,
) -> Result<KeySet, AppError> {
    let mk = master_key.clone();
    let settings = settings.clone();
    let rows = db
        .run(move |conn| {
            let now = now();
            if maintain {
                ensure_keys(conn, &mk, &settings, now)?;
            }
            Ok(SigningKeyRow::all(conn)?)
        })
        .await?;
    build_keyset(rows, master_key, now(), retention)
}

/// Creates a key for every algorithm that has none (signing at once), and a pending successor
/// for every active key older than the rotation period. Replicas doing this at the same moment
/// are serialised (an advisory lock on PostgreSQL), so only one successor is made.
pub fn ensure_keys(
    conn: &mut DbConnection,
    mk: &MasterKey,
    settings: &KeySettings,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        if matches!(conn, DbConnection::Postgres(_)) {
            conn.batch_execute("SELECT pg_advisory_xact_lock(7243902)")?;
        }
        ensure_keys_locked(conn, mk, settings, now)
    })
}

fn ensure_keys_locked(
    conn: &mut DbConnection,
    mk: &MasterKey,
    settings: &KeySettings,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let rows = SigningKeyRow::all(conn)?;
    for (alg, not_before) in keys_due(&rows, settings, now) {
        SigningKeyRow::insert(conn, &generate(alg, mk, not_before)?)?;
        if not_before <= now {
            tracing::info!(alg = alg.as_str(), "generated signing key");
        } else {
            tracing::info!(
                alg = alg.as_str(),
                "rotated signing key (new key published ahead of use)"
            );
        }
    }
    Ok(())
}

/// The keys `ensure_keys` adds at `now`, as (algorithm, `not_before`): an algorithm without a
/// key gets one that signs at once (a first start has nothing to publish ahead of); one whose
/// newest key is older than the rotation period gets a successor that signs only
/// `publish_ahead` later, so relying parties can fetch it from the JWKS before they meet it.
fn keys_due(
    rows: &[SigningKeyRow],
    settings: &KeySettings,
    now: NaiveDateTime,
) -> Vec<(Alg, NaiveDateTime)> {
    Alg::ALL
        .into_iter()
        .filter_map(|alg| {
            let newest = rows
                .iter()
                .filter(|r| r.alg == alg.as_str())
                .map(|r| r.not_before)
                .max();
            match newest {
                None => Some((alg, now)),
                Some(nb) if nb + Duration::seconds(settings.rotation_period_secs) <= now => {
                    Some((alg, now + Duration::seconds(settings.publish_ahead_secs)))
                }
                Some(_) => None,
            }
        })
        .collect()
}

/// `portcullis keys rotate`: a new key for every algorithm, signing from `not_before`.
pub fn rotate(
    conn: &mut DbConnection,
    mk: &MasterKey,
    not_before: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let mut kids = Vec::new();
    for alg in Alg::ALL {
        let row = generate(alg, mk, not_before)?;
        SigningKeyRow::insert(conn, &row)?;
        kids.push(row.id);
    }
    Ok(kids)
}

/// Deletes keys whose successors have been active for longer than `retention`.
pub fn prune(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    retention: Duration,
) -> Result<usize, AppError> {
    let rows = SigningKeyRow::all(conn)?;
    let mut removed = 0;
    for alg in Alg::ALL {
        for row in expired(
            rows.iter().filter(|r| r.alg == alg.as_str()),
            now,
            retention,
        ) {
            removed += SigningKeyRow::delete(conn, &row.id)?;
        }
    }
    Ok(removed)
}

/// Keys (newest first, one algorithm) no longer worth publishing.
fn expired<'a>(
    rows: impl Iterator<Item = &'a SigningKeyRow>,
    now: NaiveDateTime,
    retention: Duration,
) -> Vec<&'a SigningKeyRow> {
    let mut successor_since: Option<NaiveDateTime> = None;
    let mut out = Vec::new();
    for row in rows {
        if let Some(since) = successor_since {
            if since + retention <= now {
                out.push(row);
            }
        }
        if row.not_before <= now {
            successor_since = Some(
                successor_since.map_or(row.not_before, |s: NaiveDateTime| s.min(row.not_before)),
            );
        }
    }
    out
}

fn generate(
    alg: Alg,
    mk: &MasterKey,
    not_before: NaiveDateTime,
) -> Result<SigningKeyRow, AppError> {
    let fail = |what: &str| AppError::Internal(format!("key generation failed: {what}"));
    let (pkcs8, jwk_fields) = match alg {
        Alg::RS256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| fail("rsa"))?;
            let der = pair
                .as_der()
                .map_err(|_| fail("rsa der"))?
                .as_ref()
                .to_vec();
            let c = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            (der, json!({ "kty": "RSA", "n": b64(&c.n), "e": b64(&c.e) }))
        }
        Alg::ES256 => {
            let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| fail("ec"))?;
            let der = pair
                .to_pkcs8v1()
                .map_err(|_| fail("ec der"))?
                .as_ref()
                .to_vec();
            let point = pair.public_key().as_ref();
            // Uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
            let (x, y) = point.get(1..).ok_or_else(|| fail("ec point"))?.split_at(32);
            (
                der,
                json!({ "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y) }),
            )
        }
        Alg::EdDSA => {
            let pair = Ed25519KeyPair::generate().map_err(|_| fail("ed25519"))?;
            let der = pair
                .to_pkcs8()
                .map_err(|_| fail("ed25519 der"))?
                .as_ref()
                .to_vec();
            (
                der,
                json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()) }),
            )
        }
    };
    // A random kid: distinct across algorithms and rotations, and says nothing about the key.
    let kid = random_token(12);
    let mut jwk = jwk_fields;
    jwk["kid"] = Value::String(kid.clone());
    jwk["alg"] = Value::String(alg.as_str().into());
    jwk["use"] = Value::String("sig".into());
    Ok(SigningKeyRow {
        id: kid,
        alg: alg.as_str().into(),
        private_key: mk.encrypt(&pkcs8),
        public_jwk: jwk.to_string(),
        not_before,
        created_at: now(),
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn build_keyset(
    rows: Vec<SigningKeyRow>,
    mk: &MasterKey,
    now: NaiveDateTime,
    retention: Duration,
) -> Result<KeySet, AppError> {
    let mut signers = HashMap::new();
    let mut verifiers = HashMap::new();
    let mut published = Vec::new();
    for alg in Alg::ALL {
        let of_alg: Vec<&SigningKeyRow> = rows.iter().filter(|r| r.alg == alg.as_str()).collect();
        let stage = lifecycle(&of_alg, now, retention);
        for row in stage.published {
            let jwk: Value = serde_json::from_str(&row.public_jwk).map_err(|_| {
                AppError::Internal(format!("signing key {}: bad public JWK", row.id))
            })?;
            verifiers.insert(
                row.id.clone(),
                Verifier {
                    alg,
                    key: decoding_key(alg, &jwk)?,
                },
            );
            published.push(jwk);
        }
        if let Some(row) = stage.signing {
            signers.insert(alg, parse_signer(row, alg, mk)?);
        }
    }
    let jwks = json!({ "keys": published }).to_string();
    Ok(KeySet {
        signers,
        verifiers,
        jwks,
    })
}

/// One algorithm's keys at `now`.
struct Lifecycle<'a> {
    /// In the JWKS and accepted for verification: pending, active and retiring keys.
    published: Vec<&'a SigningKeyRow>,
    /// The newest key past its `not_before`: the one that signs.
    signing: Option<&'a SigningKeyRow>,
}

/// Where each key of one algorithm (newest first) stands at `now`: a key is published from the
/// moment it is stored (pending until `not_before`), signs once it is the newest past
/// `not_before`, and is retired `retention` after its successor started signing.
fn lifecycle<'a>(
    of_alg: &[&'a SigningKeyRow],
    now: NaiveDateTime,
    retention: Duration,
) -> Lifecycle<'a> {
    let gone: Vec<&str> = expired(of_alg.iter().copied(), now, retention)
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    let published: Vec<&SigningKeyRow> = of_alg
        .iter()
        .copied()
        .filter(|r| !gone.contains(&r.id.as_str()))
        .collect();
    let signing = published.iter().copied().find(|r| r.not_before <= now);
    Lifecycle { published, signing }
}

fn parse_signer(row: &SigningKeyRow, alg: Alg, mk: &MasterKey) -> Result<Signer, AppError> {
    let der = mk.decrypt(&row.private_key).map_err(|_| {
        AppError::Config(format!(
            "signing key {} cannot be decrypted: the master key differs from the one that created it",
            row.id
        ))
    })?;
    let bad = |_| AppError::Internal(format!("signing key {}: unreadable private key", row.id));
    let pair = match alg {
        Alg::RS256 => Pair::Rsa(RsaKeyPair::from_pkcs8(&der).map_err(bad)?),
        Alg::ES256 => Pair::Ec(
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map_err(bad)?,
        ),
        Alg::EdDSA => Pair::Ed(Ed25519KeyPair::from_pkcs8(&der).map_err(bad)?),
    };
    Ok(Signer {
        kid: row.id.clone(),
        alg,
        pair,
    })
}

fn decoding_key(alg: Alg, jwk: &Value) -> Result<jsonwebtoken::DecodingKey, AppError> {
    let field = |name: &str| jwk[name].as_str().unwrap_or_default().to_string();
    let bad = |_| AppError::Internal("bad public key".into());
    match alg {
        Alg::RS256 => {
            jsonwebtoken::DecodingKey::from_rsa_components(&field("n"), &field("e")).map_err(bad)
        }
        Alg::ES256 => {
            jsonwebtoken::DecodingKey::from_ec_components(&field("x"), &field("y")).map_err(bad)
        }
        Alg::EdDSA => jsonwebtoken::DecodingKey::from_ed_components(&field("x")).map_err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, not_before: NaiveDateTime) -> SigningKeyRow {
        SigningKeyRow {
            id: id.into(),
            alg: "RS256".into(),
            private_key: String::new(),
            public_jwk: String::new(),
            not_before,
            created_at: not_before,
        }
    }

    /// A fixed instant: the rules take `now` as an argument, so no test waits for the clock.
    fn t0() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .unwrap()
    }

    fn key(id: &str, alg: Alg, not_before: NaiveDateTime, stored: NaiveDateTime) -> SigningKeyRow {
        SigningKeyRow {
            alg: alg.as_str().into(),
            created_at: stored,
            ..row(id, not_before)
        }
    }

    fn settings() -> KeySettings {
        KeySettings {
            rotation_period_secs: Duration::days(90).num_seconds(),
            publish_ahead_secs: Duration::days(1).num_seconds(),
            refresh_interval_secs: 60,
        }
    }

    /// Newest first, as `SigningKeyRow::all` returns them within one algorithm.
    fn newest_first(rows: &[SigningKeyRow]) -> Vec<&SigningKeyRow> {
        let mut v: Vec<&SigningKeyRow> = rows.iter().collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.not_before));
        v
    }

    fn ids(rows: &[&SigningKeyRow]) -> Vec<String> {
        rows.iter().map(|r| r.id.clone()).collect()
    }

    #[test]
    fn a_first_start_makes_a_key_per_algorithm_that_signs_at_once() {
        assert_eq!(
            keys_due(&[], &settings(), t0()),
            vec![(Alg::RS256, t0()), (Alg::ES256, t0()), (Alg::EdDSA, t0())]
        );
    }

    #[test]
    fn a_key_gets_a_successor_at_the_rotation_period_published_a_day_ahead() {
        let s = settings();
        let rotation = Duration::seconds(s.rotation_period_secs);
        let ahead = Duration::seconds(s.publish_ahead_secs);
        // ES256 and EdDSA were rotated recently; only RS256 is due at its 90 days.
        let mut rows = vec![
            key("rs", Alg::RS256, t0(), t0()),
            key("es", Alg::ES256, t0() + Duration::days(30), t0()),
            key("ed", Alg::EdDSA, t0() + Duration::days(30), t0()),
        ];
        let due_at = t0() + rotation;
        assert!(keys_due(&rows, &s, due_at - Duration::seconds(1)).is_empty());
        assert_eq!(
            keys_due(&rows, &s, due_at),
            vec![(Alg::RS256, due_at + ahead)]
        );
        // The pending successor is the newest key: no second one while it waits.
        rows.push(key("rs2", Alg::RS256, due_at + ahead, due_at));
        assert!(keys_due(&rows, &s, due_at + Duration::hours(1)).is_empty());
        assert!(keys_due(&rows, &s, due_at + ahead).is_empty());
    }

    #[test]
    fn a_successor_is_published_before_it_signs_and_signs_from_not_before() {
        let retention = Duration::days(7);
        let switch = t0() + Duration::days(91);
        let rows = [
            key("old", Alg::RS256, t0(), t0()),
            key("new", Alg::RS256, switch, switch - Duration::days(1)),
        ];
        let rows = newest_first(&rows);
        let before = lifecycle(&rows, switch - Duration::seconds(1), retention);
        assert_eq!(
            ids(&before.published),
            ["new", "old"],
            "published while pending"
        );
        assert_eq!(before.signing.map(|r| r.id.as_str()), Some("old"));
        let at = lifecycle(&rows, switch, retention);
        assert_eq!(at.signing.map(|r| r.id.as_str()), Some("new"));
        assert_eq!(
            ids(&at.published),
            ["new", "old"],
            "the old key still verifies"
        );
    }

    #[test]
    fn the_old_key_is_retired_once_its_successor_has_signed_for_the_retention() {
        let retention = Duration::days(7);
        let switch = t0() + Duration::days(91);
        let rows = [
            key("old", Alg::RS256, t0(), t0()),
            key("new", Alg::RS256, switch, switch - Duration::days(1)),
        ];
        let rows = newest_first(&rows);
        let last_day = lifecycle(&rows, switch + retention - Duration::seconds(1), retention);
        assert_eq!(ids(&last_day.published), ["new", "old"]);
        let after = lifecycle(&rows, switch + retention, retention);
        assert_eq!(ids(&after.published), ["new"]);
        assert_eq!(after.signing.map(|r| r.id.as_str()), Some("new"));
    }

    /// A year of six-hourly maintenance runs, as `ensure_keys` and `build_keyset` do them, on
    /// simulated time: there is always a signer, a rotated-in key was published at least
    /// `publish_ahead` before it signed, a key that signed stays published for the retention
    /// after its last signature, and retired keys do not pile up.
    #[test]
    fn a_year_of_rotations_keeps_every_rule() {
        let s = settings();
        let ahead = Duration::seconds(s.publish_ahead_secs);
        let retention = Duration::days(7);
        let step = Duration::hours(6);
        let mut rows: Vec<SigningKeyRow> = Vec::new();
        let mut last_signed: HashMap<String, NaiveDateTime> = HashMap::new();
        let mut signers_seen = Vec::new();
        let mut now = t0();
        while now < t0() + Duration::days(365) {
            for (n, (alg, not_before)) in keys_due(&rows, &s, now).into_iter().enumerate() {
                if alg == Alg::RS256 {
                    rows.push(key(&format!("k{}-{n}", rows.len()), alg, not_before, now));
                }
            }
            let of_alg = newest_first(&rows);
            let stage = lifecycle(&of_alg, now, retention);
            let signer = stage.signing.expect("always a signer");
            if signer.created_at != t0() {
                assert!(
                    signer.created_at + ahead <= now,
                    "{} signed before it was published a day",
                    signer.id
                );
            }
            last_signed.insert(signer.id.clone(), now);
            if signers_seen.last() != Some(&signer.id) {
                signers_seen.push(signer.id.clone());
            }
            for (id, last) in &last_signed {
                if now < *last + retention {
                    assert!(
                        ids(&stage.published).contains(id),
                        "{id} retired too early at {now}"
                    );
                }
            }
            assert!(
                stage.published.len() <= 2,
                "retired keys are dropped: {:?}",
                ids(&stage.published)
            );
            now += step;
        }
        assert_eq!(
            signers_seen.len(),
            5,
            "the first key and four rotations: {signers_seen:?}"
        );
    }

    #[test]
    fn old_keys_expire_only_after_their_successor_has_signed_for_the_retention() {
        let now = now();
        let retention = Duration::hours(1);
        let pending = row("pending", now + Duration::minutes(10));
        let active = row("active", now - Duration::minutes(30));
        let previous = row("previous", now - Duration::days(10));
        let rows = [pending.clone(), active.clone(), previous.clone()];
        assert!(
            expired(rows.iter(), now, retention).is_empty(),
            "successor active for 30 min only"
        );
        let active = row("active", now - Duration::hours(2));
        let rows = [pending, active, previous];
        let gone: Vec<&str> = expired(rows.iter(), now, retention)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(gone, vec!["previous"]);
    }
}
