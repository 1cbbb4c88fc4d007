//! OpenID Connect discovery documents (with their JWKS), cached per provider in this replica's
//! memory. Nothing depends on the cache for correctness: a miss fetches, as every sign-in did
//! before it existed.
//!
//! - A document is fresh for the `Cache-Control: max-age` its provider sent (of the discovery
//!   document and the JWKS, the shorter), bounded to [`MIN_MAX_AGE`, `MAX_MAX_AGE`], or for the
//!   configured default when it sent none.
//! - An expired document is fetched again; an ID token signed with a key the cached JWKS lacks
//!   (the issuer rotated its keys) makes the caller refresh at once (`Refresh::Now`).
//! - When a refresh fails, the last good document keeps serving for a bounded time
//!   (`upstream.discovery_stale_secs`), so a provider's brief outage does not stop sign-ins.
//! - A document whose endpoints are not http(s) URLs (`javascript:`, `data:`, …) is refused,
//!   never cached: the browser is sent to its authorization endpoint.
//! - Both are read through `bounded`, with its size limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AsyncHttpClient, DiscoveryError, HttpRequest, HttpResponse,
    IssuerUrl, ProviderMetadata,
};
use serde::{Deserialize, Serialize};

use super::bounded::{Bounded, ReadFailed};
use super::failure::{self, Failure};

/// What discovery documents say beyond OpenID Connect Discovery 1.0 that we act on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IssParameter {
    /// RFC 9207 §3: the provider sends `iss` with every authorization response. Kept as raw JSON
    /// so that a malformed value does not make the whole document unreadable; only the boolean
    /// `true` counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authorization_response_iss_parameter_supported: Option<serde_json::Value>,
}

impl AdditionalProviderMetadata for IssParameter {}

impl IssParameter {
    /// Whether the provider promises `iss` in its authorization responses (RFC 9207 §3).
    pub fn advertised(&self) -> bool {
        matches!(
            self.authorization_response_iss_parameter_supported,
            Some(serde_json::Value::Bool(true))
        )
    }
}

/// A provider's discovery document (OpenID Connect Discovery 1.0 §3) with its JWKS.
pub type UpstreamMetadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Below this a provider's max-age would make us fetch on nearly every sign-in.
pub const MIN_MAX_AGE: Duration = Duration::from_secs(60);
/// Above this a rotated key or moved endpoint would go unnoticed for too long.
pub const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// How long documents stay fresh, and how long a stale one may stand in.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// When the provider sent no max-age.
    pub default_ttl: Duration,
    /// How long past its freshness the last good document is used when refreshing fails.
    pub stale_for: Duration,
}

/// Whether the caller accepts a fresh cached document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    IfExpired,
    /// The cached JWKS lacked the key an ID token names: fetch again now.
    Now,
}

#[derive(Clone)]
struct Entry {
    metadata: UpstreamMetadata,
    fetched_at: Instant,
    ttl: Duration,
}

impl Entry {
    fn fresh_at(&self, now: Instant) -> bool {
        now < self.fetched_at + self.ttl
    }
}

/// Why discovery gave no document.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryFailed {
    /// The request or its answer failed: no answer, an error status, too large, or not the JSON
    /// we need (the missing or unusable field named).
    #[error("{0}")]
    Failed(Failure),
    /// An answer we must not use: for another issuer, or with unusable endpoints.
    #[error("{0}")]
    Unusable(String),
}

/// Where discovery was when it failed: the document itself, or the JWKS it names.
pub const DISCOVERY_DOCUMENT: &str = "discovery document";
pub const JWKS: &str = "JWKS";

impl DiscoveryFailed {
    /// `endpoint`: which of the two requests was the last one made.
    fn from_error(e: DiscoveryError<ReadFailed>, endpoint: &str) -> DiscoveryFailed {
        match e {
            DiscoveryError::Request(e @ ReadFailed::NotWeb(_)) => {
                DiscoveryFailed::Unusable(e.to_string())
            }
            DiscoveryError::Request(e) => DiscoveryFailed::Failed(e.failure(endpoint)),
            DiscoveryError::Response(status, body, detail) if status.is_success() => {
                DiscoveryFailed::Failed(Failure::NotJson {
                    endpoint: endpoint.to_string(),
                    detail: format!("{detail} ({})", failure::excerpt(&body, None)),
                })
            }
            DiscoveryError::Response(status, body, _) => DiscoveryFailed::Failed(Failure::Status {
                endpoint: endpoint.to_string(),
                status: status.as_u16(),
                excerpt: failure::excerpt(&body, None),
            }),
            DiscoveryError::Parse(e) => DiscoveryFailed::Failed(failure::json(
                endpoint,
                e.inner(),
                Some(e.path().to_string()),
            )),
            other => DiscoveryFailed::Unusable(other.to_string()),
        }
    }
}

/// The endpoints we send browsers to or fetch from must be web URLs; returns the first that is
/// not. The `url` crate parses `javascript:alert(1)` as a URL, and `openidconnect` takes it.
fn non_web_endpoint(meta: &UpstreamMetadata) -> Option<(&'static str, String)> {
    let web = |u: &url::Url| matches!(u.scheme(), "http" | "https");
    let endpoints: [(&'static str, Option<&url::Url>); 4] = [
        (
            "authorization_endpoint",
            Some(meta.authorization_endpoint().url()),
        ),
        ("token_endpoint", meta.token_endpoint().map(|u| u.url())),
        (
            "userinfo_endpoint",
            meta.userinfo_endpoint().map(|u| u.url()),
        ),
        ("jwks_uri", Some(meta.jwks_uri().url())),
    ];
    endpoints.into_iter().find_map(|(name, url)| {
        url.filter(|u| !web(u))
            .map(|u| (name, u.scheme().to_string()))
    })
}

pub struct DiscoveryCache {
    policy: CachePolicy,
    /// Keyed by provider slug and issuer: a provider whose issuer was changed starts afresh.
    entries: Mutex<HashMap<(String, String), Entry>>,
}

impl DiscoveryCache {
    pub fn new(policy: CachePolicy) -> Arc<DiscoveryCache> {
        Arc::new(DiscoveryCache {
            policy,
            entries: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, key: &(String, String)) -> Option<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn store(&self, key: (String, String), entry: Entry) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, entry);
    }

    /// The provider's metadata (JWKS included): cached when fresh, else fetched.
    pub async fn metadata(
        &self,
        slug: &str,
        issuer: &IssuerUrl,
        http: &reqwest::Client,
        refresh: Refresh,
    ) -> Result<UpstreamMetadata, DiscoveryFailed> {
        let key = (slug.to_string(), issuer.as_str().to_string());
        let cached = self.cached(&key);
        if let Some(entry) = &cached {
            if refresh == Refresh::IfExpired && entry.fresh_at(Instant::now()) {
                return Ok(entry.metadata.clone());
            }
        }
        match fetch(issuer, http).await {
            Ok((metadata, max_age)) => {
                let entry = Entry {
                    metadata: metadata.clone(),
                    fetched_at: Instant::now(),
                    ttl: ttl(max_age, self.policy.default_ttl),
                };
                self.store(key, entry);
                Ok(metadata)
            }
            Err(e) => match cached {
                Some(entry) if usable_stale(&entry, self.policy.stale_for, Instant::now()) => {
                    tracing::warn!(provider = %slug, error = %e, "upstream discovery refresh failed; using the last good document");
                    Ok(entry.metadata)
                }
                _ => Err(e),
            },
        }
    }
}

/// Whether a document past its freshness may still stand in after a failed refresh.
fn usable_stale(entry: &Entry, stale_for: Duration, now: Instant) -> bool {
    now < entry.fetched_at + entry.ttl + stale_for
}

/// Freshness: the provider's max-age within sane bounds, else the configured default.
fn ttl(max_age: Option<Duration>, default: Duration) -> Duration {
    match max_age {
        Some(age) => age.clamp(MIN_MAX_AGE, MAX_MAX_AGE),
        None => default,
    }
}

/// `max-age` of a Cache-Control value; `no-store`/`no-cache` count as zero (then bounded up).
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            age = v
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age
}

/// Fetches the discovery document and its JWKS (the `openidconnect` crate checks the issuer),
/// noting the shortest max-age the two responses carried.
async fn fetch(
    issuer: &IssuerUrl,
    http: &reqwest::Client,
) -> Result<(UpstreamMetadata, Option<Duration>), DiscoveryFailed> {
    let seen: Arc<Mutex<Option<Duration>>> = Arc::new(Mutex::new(None));
    let endpoint: Arc<Mutex<&'static str>> = Arc::new(Mutex::new(DISCOVERY_DOCUMENT));
    let recording = |req: HttpRequest| {
        let (http, seen) = (http.clone(), seen.clone());
        // The document is fetched first; any other request is for the JWKS it names.
        if !req
            .uri()
            .path()
            .ends_with("/.well-known/openid-configuration")
        {
            *endpoint.lock().unwrap_or_else(PoisonError::into_inner) = JWKS;
        }
        async move {
            let res: HttpResponse = Bounded(&http).call(req).await?;
            if let Some(age) = res
                .headers()
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .and_then(max_age)
            {
                let mut shortest = seen.lock().unwrap_or_else(PoisonError::into_inner);
                *shortest = Some(shortest.map_or(age, |s| s.min(age)));
            }
            Ok::<_, ReadFailed>(res)
        }
    };
    let metadata = UpstreamMetadata::discover_async(issuer.clone(), &recording)
        .await
        .map_err(|e| {
            let at = *endpoint.lock().unwrap_or_else(PoisonError::into_inner);
            DiscoveryFailed::from_error(e, at)
        })?;
    if let Some((name, scheme)) = non_web_endpoint(&metadata) {
        return Err(DiscoveryFailed::Unusable(format!(
            "its {name} is a {scheme}: URL, not http(s)"
        )));
    }
    let age = *seen.lock().unwrap_or_else(PoisonError::into_inner);
    Ok((metadata, age))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=3600"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            max_age("Max-Age=5, must-revalidate"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn max_age_is_bounded_and_absent_means_the_default() {
        let default = Duration::from_secs(900);
        assert_eq!(ttl(None, default), default);
        assert_eq!(ttl(Some(Duration::ZERO), default), MIN_MAX_AGE);
        assert_eq!(
            ttl(Some(Duration::from_secs(3600)), default),
            Duration::from_secs(3600)
        );
        assert_eq!(
            ttl(Some(Duration::from_secs(30 * 86400)), default),
            MAX_MAX_AGE
        );
    }

    fn document(extra: serde_json::Value) -> UpstreamMetadata {
        let mut doc = serde_json::json!({
            "issuer": "https://op.example",
            "authorization_endpoint": "https://op.example/authorize",
            "token_endpoint": "https://op.example/token",
            "userinfo_endpoint": "http://op.example/userinfo",
            "jwks_uri": "https://op.example/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        serde_json::from_value(doc).unwrap()
    }

    #[test]
    fn endpoints_must_be_http_or_https() {
        assert_eq!(non_web_endpoint(&document(serde_json::json!({}))), None);
        for (field, url, scheme) in [
            (
                "authorization_endpoint",
                "javascript:alert(1)",
                "javascript",
            ),
            ("authorization_endpoint", "data:text/html,hi", "data"),
            ("token_endpoint", "file:///etc/passwd", "file"),
            ("userinfo_endpoint", "ftp://op.example/u", "ftp"),
            ("jwks_uri", "data:application/json,{}", "data"),
        ] {
            let doc = document(serde_json::json!({ field: url }));
            assert_eq!(
                non_web_endpoint(&doc),
                Some((field, scheme.to_string())),
                "{field} = {url}"
            );
        }
    }

    #[test]
    fn only_a_boolean_true_advertises_the_iss_parameter() {
        let advertised = |v: serde_json::Value| {
            document(serde_json::json!({ "authorization_response_iss_parameter_supported": v }))
                .additional_metadata()
                .advertised()
        };
        assert!(advertised(serde_json::json!(true)));
        assert!(!advertised(serde_json::json!(false)));
        assert!(!advertised(serde_json::json!("true")));
        assert!(!document(serde_json::json!({}))
            .additional_metadata()
            .advertised());
    }

    #[test]
    fn a_stale_document_stands_in_only_for_a_bounded_time() {
        let start = Instant::now();
        let metadata: UpstreamMetadata = serde_json::from_value(serde_json::json!({
            "issuer": "https://op.example",
            "authorization_endpoint": "https://op.example/authorize",
            "jwks_uri": "https://op.example/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }))
        .unwrap();
        let entry = Entry {
            metadata,
            fetched_at: start,
            ttl: Duration::from_secs(60),
        };
        let stale_for = Duration::from_secs(600);
        assert!(entry.fresh_at(start + Duration::from_secs(59)));
        assert!(!entry.fresh_at(start + Duration::from_secs(60)));
        assert!(usable_stale(
            &entry,
            stale_for,
            start + Duration::from_secs(659)
        ));
        assert!(!usable_stale(
            &entry,
            stale_for,
            start + Duration::from_secs(660)
        ));
    }
}
