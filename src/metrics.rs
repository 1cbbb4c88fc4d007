//! Prometheus metrics, in the text exposition format (version 0.0.4) served at `/metrics`.
//!
//! One [`Metrics`] per running application (tests run many in one process, and each must see
//! only its own counts). Counters move as things happen; the outbox and pool gauges are read at
//! scrape time ([`Metrics::render`]), because the outboxes are durable tables that every replica
//! shares: each replica reports the same database-wide numbers (aggregate them with `max`, not
//! `sum`). Label values come from closed sets (route *patterns*, never raw paths; known methods,
//! grant types and outcomes), so no client can grow the number of series.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::NaiveDateTime;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::config::MetricsSettings;
use crate::crypto::{constant_time_eq, sha256_hex};
use crate::error::AppError;
use crate::identity::sessions::Admission;

/// The `Content-Type` of what [`Metrics::render`] returns.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Request latency buckets, in seconds: Prometheus's defaults, which span a cached page (ms)
/// to a slow upstream provider (s).
const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    method: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    database: &'static str,
}

type Seconds = Gauge<f64, AtomicU64>;

/// How a person tried to sign in (`portcullis_sign_ins_total{method}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    Passkey,
    EmailLink,
    EmailCode,
    /// The second step (TOTP or recovery code) after a first factor.
    SecondFactor,
    /// An upstream provider, by kind (`google`, `github`, `oidc`, `oauth2`).
    Upstream(crate::upstream::config::Kind),
}

impl SignInMethod {
    pub fn label(self) -> &'static str {
        use crate::upstream::config::Kind;
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Passkey => "passkey",
            SignInMethod::EmailLink => "email_link",
            SignInMethod::EmailCode => "email_code",
            SignInMethod::SecondFactor => "second_factor",
            SignInMethod::Upstream(Kind::Google) => "google",
            SignInMethod::Upstream(Kind::Github) => "github",
            SignInMethod::Upstream(Kind::Oidc) => "oidc",
            SignInMethod::Upstream(Kind::Oauth2) => "oauth2",
        }
    }
}

/// How a sign-in attempt ended (`portcullis_sign_ins_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// A session was opened.
    Success,
    /// The first factor was right; the second is being asked for.
    SecondFactorRequired,
    /// Wrong or unknown credentials, an expired link or code, a provider that failed.
    Failure,
    /// Password sign-in is soft-locked for the address.
    Locked,
    /// Too many recent failures: refused before checking.
    Throttled,
    /// The credentials were right but the address is not verified yet.
    Unverified,
    /// Proven, but the rules refuse it (linking rules, a disabled user).
    Refused,
    /// An upstream identity matched an existing user, who must prove the account first.
    ProofNeeded,
}

impl SignInOutcome {
    pub fn label(self) -> &'static str {
        match self {
            SignInOutcome::Success => "success",
            SignInOutcome::SecondFactorRequired => "second_factor_required",
            SignInOutcome::Failure => "failure",
            SignInOutcome::Locked => "locked",
            SignInOutcome::Throttled => "throttled",
            SignInOutcome::Unverified => "unverified",
            SignInOutcome::Refused => "refused",
            SignInOutcome::ProofNeeded => "proof_needed",
        }
    }
}

impl SignInOutcome {
    /// A proven first factor: signed in, or on to the second step.
    pub fn of(admission: &Admission) -> SignInOutcome {
        match admission {
            Admission::Session(_) => SignInOutcome::Success,
            Admission::SecondFactor(_) => SignInOutcome::SecondFactorRequired,
        }
    }
}

/// One durable outbox, as read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Rows waiting to be delivered (including those waiting for a retry).
    pub pending: i64,
    /// When the oldest pending row was written.
    pub oldest_pending_at: Option<NaiveDateTime>,
    /// Rows given up on after the last attempt (kept for `portcullis mail queue` and retries).
    pub failed: i64,
}

/// The connection pool, as r2d2 reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUse {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

/// What is read fresh at each scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub mail: QueueStats,
    pub backchannel: QueueStats,
    pub pool: PoolUse,
    pub now: Option<NaiveDateTime>,
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    sign_ins: Family<SignInLabels, Counter>,
    tokens_issued: Family<GrantLabels, Counter>,
    outbox_pending: Family<QueueLabels, Gauge>,
    outbox_oldest_age: Family<QueueLabels, Seconds>,
    outbox_failed: Family<QueueLabels, Gauge>,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The method label: the standard methods by name, anything else as `other` (clients choose
/// the method, so it must not become a label as sent).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The grant type label: the grants this server implements, anything else as `other`.
pub fn grant_type_label(grant_type: &str) -> &'static str {
    match grant_type {
        "authorization_code" => "authorization_code",
        "refresh_token" => "refresh_token",
        "client_credentials" => "client_credentials",
        _ => "other",
    }
}

impl Metrics {
    /// `database` is the backend's name (`sqlite`, `postgres`), shown in `portcullis_build_info`.
    pub fn new(database: &'static str) -> Metrics {
        let mut registry = Registry::with_prefix("portcullis");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests handled, by method, route pattern and status",
            http_requests.clone(),
        );
        let http_duration: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to handle an HTTP request, by method and route pattern",
            Unit::Seconds,
            http_duration.clone(),
        );
        let sign_ins = Family::<SignInLabels, Counter>::default();
        registry.register(
            "sign_ins",
            "Sign-in attempts, by method and outcome",
            sign_ins.clone(),
        );
        let tokens_issued = Family::<GrantLabels, Counter>::default();
        registry.register(
            "tokens_issued",
            "Token responses issued at the token endpoint, by grant type",
            tokens_issued.clone(),
        );
        let outbox_pending = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "outbox_pending",
            "Rows waiting for delivery in a durable outbox (database-wide)",
            outbox_pending.clone(),
        );
        let outbox_oldest_age = Family::<QueueLabels, Seconds>::default();
        registry.register_with_unit(
            "outbox_oldest_pending_age",
            "Age of the oldest row waiting for delivery in a durable outbox; 0 when none waits",
            Unit::Seconds,
            outbox_oldest_age.clone(),
        );
        let outbox_failed = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "outbox_failed",
            "Rows given up on after their last attempt in a durable outbox (database-wide)",
            outbox_failed.clone(),
        );
        let pool_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Database connections open in this replica's pool",
            pool_connections.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Open database connections not in use",
            pool_idle.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "The pool's size (database.pool_size)",
            pool_max.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                database,
            })
            .set(1);
        registry.register(
            "build_info",
            "Always 1; the labels say which version runs on which database",
            build,
        );
        Metrics {
            registry,
            http_requests,
            http_duration,
            sign_ins,
            tokens_issued,
            outbox_pending,
            outbox_oldest_age,
            outbox_failed,
            pool_connections,
            pool_idle,
            pool_max,
        }
    }

    /// One handled request. `route` is the matched route pattern (`/auth/{slug}/start`), or
    /// `None` when no route matched.
    pub fn http_request(&self, method: &str, route: Option<&str>, status: u16, took: Duration) {
        let method = method_label(method);
        let route = route.unwrap_or("unmatched").to_string();
        self.http_duration
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(took.as_secs_f64());
        self.http_requests
            .get_or_create(&HttpLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    pub fn sign_in(&self, method: SignInMethod, outcome: SignInOutcome) {
        self.sign_ins
            .get_or_create(&SignInLabels {
                method: method.label(),
                outcome: outcome.label(),
            })
            .inc();
    }

    /// Counts what a sign-in step that ends in a session, a second step or nothing (a wrong or
    /// expired proof) came to. A disabled account counts as refused; other errors are server
    /// failures, not sign-in outcomes, and are not counted.
    pub fn sign_in_result(
        &self,
        method: SignInMethod,
        result: &Result<Option<Admission>, AppError>,
    ) {
        let outcome = match result {
            Ok(Some(admission)) => SignInOutcome::of(admission),
            Ok(None) => SignInOutcome::Failure,
            Err(AppError::AccountDisabled) => SignInOutcome::Refused,
            Err(_) => return,
        };
        self.sign_in(method, outcome);
    }

    pub fn token_issued(&self, grant_type: &str) {
        self.tokens_issued
            .get_or_create(&GrantLabels {
                grant_type: grant_type_label(grant_type),
            })
            .inc();
    }

    /// The text exposition, with the gauges set from `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        for (queue, stats) in [
            ("mail", snapshot.mail),
            ("backchannel", snapshot.backchannel),
        ] {
            let labels = QueueLabels { queue };
            self.outbox_pending
                .get_or_create(&labels)
                .set(stats.pending);
            self.outbox_failed.get_or_create(&labels).set(stats.failed);
            let age = match (stats.oldest_pending_at, snapshot.now) {
                (Some(oldest), Some(now)) => {
                    ((now - oldest).num_milliseconds().max(0) as f64) / 1000.0
                }
                _ => 0.0,
            };
            self.outbox_oldest_age.get_or_create(&labels).set(age);
        }
        self.pool_connections
            .set(i64::from(snapshot.pool.connections));
        self.pool_idle.set(i64::from(snapshot.pool.idle));
        self.pool_max.set(i64::from(snapshot.pool.max));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Reads the outboxes and the pool, then renders every metric.
pub async fn scrape(db: &crate::db::Db, metrics: &Metrics) -> Result<String, AppError> {
    use crate::db::models::{BackchannelLogout, OutboxMessage};
    let (mail, backchannel) = db
        .run(|conn| {
            Ok((
                OutboxMessage::queue_stats(conn)?,
                BackchannelLogout::queue_stats(conn)?,
            ))
        })
        .await?;
    Ok(metrics.render(&Snapshot {
        mail,
        backchannel,
        pool: db.pool_use(),
        now: Some(crate::identity::now()),
    }))
}

/// Whether a scrape that sent `authorization` (the header's value) may read the metrics: always
/// when no token is configured, else only with `Bearer <token>`. Both sides are hashed first so
/// that the comparison takes the same time whatever the lengths.
pub fn scrape_allowed(settings: &MetricsSettings, authorization: Option<&str>) -> bool {
    let expected = settings.bearer_token.expose();
    if expected.is_empty() {
        return true;
    }
    let presented = authorization
        .and_then(|h| {
            h.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    constant_time_eq(
        sha256_hex(presented).as_bytes(),
        sha256_hex(expected).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn requests_are_counted_by_route_pattern_with_a_closed_set_of_methods() {
        let m = Metrics::new("sqlite");
        m.http_request(
            "GET",
            Some("/auth/{slug}/start"),
            303,
            Duration::from_millis(7),
        );
        m.http_request("BREW", None, 404, Duration::from_millis(1));
        let text = m.render(&Snapshot::default());
        assert_eq!(
            value(
                &text,
                r#"portcullis_http_requests_total{method="GET",route="/auth/{slug}/start",status="303"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            value(
                &text,
                r#"portcullis_http_requests_total{method="other",route="unmatched",status="404"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                r#"portcullis_http_request_duration_seconds_bucket{le="0.01",method="GET",route="/auth/{slug}/start"}"#
            )
            .or_else(|| value(
                &text,
                r#"portcullis_http_request_duration_seconds_bucket{method="GET",route="/auth/{slug}/start",le="0.01"}"#
            )),
            Some(1.0),
            "{text}"
        );
    }

    #[test]
    fn the_oldest_pending_age_is_measured_from_the_scrape_and_zero_when_none_waits() {
        let m = Metrics::new("postgres");
        let now = chrono::DateTime::from_timestamp(1_000_000, 0)
            .unwrap()
            .naive_utc();
        let text = m.render(&Snapshot {
            mail: QueueStats {
                pending: 3,
                oldest_pending_at: Some(now - chrono::Duration::seconds(90)),
                failed: 1,
            },
            now: Some(now),
            ..Snapshot::default()
        });
        let g = |s: &str| value(&text, s);
        assert_eq!(g(r#"portcullis_outbox_pending{queue="mail"}"#), Some(3.0));
        assert_eq!(g(r#"portcullis_outbox_failed{queue="mail"}"#), Some(1.0));
        assert_eq!(
            g(r#"portcullis_outbox_oldest_pending_age_seconds{queue="mail"}"#),
            Some(90.0)
        );
        assert_eq!(
            g(r#"portcullis_outbox_oldest_pending_age_seconds{queue="backchannel"}"#),
            Some(0.0)
        );
        assert!(
            text.contains(r#"portcullis_build_info{version=""#),
            "{text}"
        );
    }

    #[test]
    fn a_configured_token_must_be_sent_as_a_bearer_token() {
        let open = MetricsSettings {
            enabled: true,
            bearer_token: crate::config::Secret::new(""),
        };
        assert!(scrape_allowed(&open, None));
        let guarded = MetricsSettings {
            bearer_token: crate::config::Secret::new("s3cret"),
            ..open
        };
        assert!(scrape_allowed(&guarded, Some("Bearer s3cret")));
        assert!(scrape_allowed(&guarded, Some("bearer s3cret")));
        for refused in [
            None,
            Some(""),
            Some("Bearer "),
            Some("Bearer s3cre"),
            Some("Bearer s3cret2"),
            Some("Basic s3cret"),
            Some("s3cret"),
        ] {
            assert!(!scrape_allowed(&guarded, refused), "{refused:?}");
        }
    }

    #[test]
    fn unknown_grant_types_share_one_label() {
        assert_eq!(grant_type_label("client_credentials"), "client_credentials");
        assert_eq!(grant_type_label("urn:x:anything"), "other");
    }
}
