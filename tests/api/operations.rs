//! Operations: Prometheus metrics at `/metrics`, read as Prometheus reads them (the text format
//! parsed into series, not grepped), and the settings that guard them.

use std::collections::BTreeMap;

use chrono::Duration;
use portcullis::config::Secret;
use portcullis::db::models::OutboxMessage;
use portcullis::identity::ids::MailId;

use crate::helpers::*;
use crate::rp;

backend_tests!(
    metrics_count_sign_ins_token_requests_and_requests_by_route_pattern,
    metrics_need_the_configured_bearer_token_and_can_be_turned_off,
    metrics_show_the_mail_queue_depth_and_the_age_of_its_oldest_message,
);

/// One sample of the text exposition: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (version 0.0.4): `name{a="b",…} value` lines; `#` lines are
/// help and type. Label values may contain escaped quotes and backslashes.
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                (name.to_string(), parse_labels(body))
            }
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

fn parse_labels(body: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "label {name} is quoted");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(name.trim_start_matches(',').to_string(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

/// The value of the one series named `name` with exactly `labels`; 0 when there is none
/// (Prometheus's reading of a counter that never moved).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name && s.labels == wanted)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} twice");
    found.first().map_or(0.0, |s| s.value)
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let res = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse(&res.text().await.unwrap())
}

async fn metrics_count_sign_ins_token_requests_and_requests_by_route_pattern(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = scrape(&app).await;
    let signed_in = |s: &[Sample], outcome: &str| {
        value(
            s,
            "portcullis_sign_ins_total",
            &[("method", "password"), ("outcome", outcome)],
        )
    };
    assert_eq!(signed_in(&before, "success"), 0.0);

    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    assert_eq!(b.login("ada@example.com", PASSWORD).await.status(), 303);
    assert_eq!(
        b.login("ada@example.com", "wrong password!").await.status(),
        401
    );

    let mut spec = rp::spec("Batch job");
    spec.redirect_uris = vec![];
    spec.post_logout_redirect_uris = vec![];
    spec.grant_types = vec!["client_credentials".into()];
    let (id, secret) = rp::register(&app, spec).await;
    let token = reqwest::Client::new()
        .post(format!("{}/token", app.address))
        .basic_auth(&id, secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    // Paths that must not become labels: a made-up provider slug, a path nobody routes.
    for path in ["/auth/made-up-slug/start", "/no/such/page-4711"] {
        assert_eq!(app.browser().get(path).await.status(), 404, "{path}");
    }

    let after = scrape(&app).await;
    assert_eq!(signed_in(&after, "success"), 1.0);
    assert_eq!(signed_in(&after, "failure"), 1.0);
    assert_eq!(
        value(
            &after,
            "portcullis_tokens_issued_total",
            &[("grant_type", "client_credentials")]
        ),
        1.0
    );
    let requests = |method: &str, route: &str, status: &str| {
        value(
            &after,
            "portcullis_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("POST", "/login", "303"), 1.0);
    assert_eq!(requests("POST", "/login", "401"), 1.0);
    assert_eq!(requests("POST", "/token", "200"), 1.0);
    assert_eq!(requests("GET", "/auth/{slug}/start", "404"), 1.0);
    assert!(
        after
            .iter()
            .flat_map(|s| s.labels.values())
            .all(|v| !v.contains("made-up-slug") && !v.contains("4711")),
        "raw paths became labels"
    );
    let login_count = value(
        &after,
        "portcullis_http_request_duration_seconds_count",
        &[("method", "POST"), ("route", "/login")],
    );
    assert_eq!(login_count, 2.0, "both sign-in attempts were timed");
    let infinite_bucket = value(
        &after,
        "portcullis_http_request_duration_seconds_bucket",
        &[("method", "POST"), ("route", "/login"), ("le", "+Inf")],
    );
    assert_eq!(infinite_bucket, 2.0);
    assert_eq!(
        value(&after, "portcullis_db_pool_max_connections", &[]),
        4.0,
        "the test pool's size"
    );
    assert!(value(&after, "portcullis_db_pool_connections", &[]) >= 1.0);
    let build = after
        .iter()
        .find(|s| s.name == "portcullis_build_info")
        .expect("build info");
    assert_eq!(build.value, 1.0);
    assert_eq!(build.labels["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(build.labels["database"], backend_name(backend));
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

async fn metrics_need_the_configured_bearer_token_and_can_be_turned_off(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.metrics.bearer_token = Secret::new("scrape-me-7f3a");
    })
    .await;
    let url = format!("{}/metrics", app.address);
    let http = reqwest::Client::new();
    let without = http.get(&url).send().await.unwrap();
    assert_eq!(without.status(), 401);
    assert_eq!(
        without.headers()["www-authenticate"],
        "Bearer realm=\"metrics\""
    );
    assert!(without.text().await.unwrap().is_empty(), "nothing leaks");
    for wrong in ["scrape-me-7f3", "scrape-me-7f3a0", "Scrape-me-7f3a"] {
        let res = http.get(&url).bearer_auth(wrong).send().await.unwrap();
        assert_eq!(res.status(), 401, "{wrong}");
    }
    let basic = http
        .get(&url)
        .basic_auth("scrape-me-7f3a", None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "only a bearer token counts");
    let right = http
        .get(&url)
        .bearer_auth("scrape-me-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    let samples = parse(&right.text().await.unwrap());
    assert_eq!(
        value(
            &samples,
            "portcullis_http_requests_total",
            &[("method", "GET"), ("route", "/metrics"), ("status", "401")]
        ),
        5.0,
        "the refused scrapes were counted"
    );

    let app = app
        .restart_with(|s| {
            s.metrics.enabled = false;
            s.metrics.bearer_token = Secret::new("");
        })
        .await;
    let off = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap();
    assert_eq!(off.status(), 404);
    assert!(!off.text().await.unwrap().contains("portcullis_"));
}

async fn metrics_show_the_mail_queue_depth_and_the_age_of_its_oldest_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let empty = scrape(&app).await;
    for queue in ["mail", "backchannel"] {
        assert_eq!(
            value(&empty, "portcullis_outbox_pending", &[("queue", queue)]),
            0.0
        );
        assert_eq!(
            value(
                &empty,
                "portcullis_outbox_oldest_pending_age_seconds",
                &[("queue", queue)]
            ),
            0.0
        );
    }

    // Queued two minutes ago and due in an hour: the sender leaves it alone meanwhile.
    let now = portcullis::identity::now();
    app.query(move |c| {
        OutboxMessage::insert(
            c,
            &OutboxMessage {
                id: MailId::generate(),
                recipient: "ada@example.com".into(),
                subject: "Waiting".into(),
                body_text: "text".into(),
                body_html: "<p>html</p>".into(),
                status: "pending".into(),
                attempts: 1,
                next_attempt_at: now + Duration::hours(1),
                locked_until: None,
                last_error: Some("connection refused".into()),
                created_at: now - Duration::seconds(120),
                sent_at: None,
            },
        )
    })
    .await;

    let queued = scrape(&app).await;
    assert_eq!(
        value(&queued, "portcullis_outbox_pending", &[("queue", "mail")]),
        1.0
    );
    let age = value(
        &queued,
        "portcullis_outbox_oldest_pending_age_seconds",
        &[("queue", "mail")],
    );
    assert!((120.0..180.0).contains(&age), "age {age}");
    assert_eq!(
        value(
            &queued,
            "portcullis_outbox_pending",
            &[("queue", "backchannel")]
        ),
        0.0
    );
    assert_eq!(
        value(&queued, "portcullis_outbox_failed", &[("queue", "mail")]),
        0.0
    );
}
