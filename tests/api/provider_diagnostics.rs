//! `portcullis provider test` and the failure classification behind it: each way a provider can
//! fail is named precisely (DNS, refused connection, TLS, HTTP status, not JSON, a missing
//! field), against local servers only.

use portcullis::crypto::MasterKey;
use portcullis::upstream::config::{ClaimMapping, ProviderConfig, ProviderSpec};
use portcullis::upstream::failure::Failure;
use portcullis::upstream::probe::{self, Report};
use portcullis::upstream::registry::{self, NewProvider};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::admin_controls::portcullis;
use crate::fake_google::{self, FakeGoogle};
use crate::helpers::*;

backend_tests!(
    provider_test_exits_non_zero_and_names_the_cause,
    provider_test_passes_a_healthy_provider,
);

const CALLBACK: &str = "http://127.0.0.1:8080/auth/callback/op";

fn oidc(issuer: &str) -> ProviderConfig {
    ProviderConfig {
        slug: "op".into(),
        display_name: "Test OP".into(),
        client_id: "client-1".into(),
        client_secret: "s3cret-value".into(),
        scopes: vec![],
        enabled: true,
        link_policy: portcullis::upstream::config::LinkPolicy::VerifiedEmail,
        trust_email: None,
        allowed_domains: vec![],
        keep_tokens: false,
        spec: ProviderSpec::Oidc {
            issuer: issuer.into(),
        },
    }
}

fn http() -> reqwest::Client {
    portcullis::upstream::http_client(&portcullis::config::Settings::defaults().unwrap().upstream)
        .unwrap()
}

async fn run(cfg: &ProviderConfig) -> Report {
    probe::test(cfg, &http(), CALLBACK).await
}

/// The one failed step's failure (a failed step stops the steps that depend on it).
fn failure_of(report: &Report, step: &str) -> Failure {
    assert!(!report.ok, "{report:?}");
    let s = report
        .steps
        .iter()
        .find(|s| s.name == step)
        .unwrap_or_else(|| panic!("no step {step}: {report:?}"));
    assert!(!s.ok, "{report:?}");
    s.failure.clone().expect("a failure")
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A fake OP at `server` whose discovery document is `doc` (with its own URLs filled in).
async fn op_with_discovery(server: &MockServer, tweak: impl FnOnce(&mut Value)) {
    let base = server.uri();
    let mut doc = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    tweak(&mut doc);
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .mount(server)
        .await;
}

/// What a working token endpoint answers a code it never issued (RFC 6749 §5.2).
async fn token_endpoint_refusing_codes(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({ "error": "invalid_grant", "error_description": "unknown code" }),
        ))
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_unreachable_port_is_a_refused_tcp_connection() {
    let port = closed_port();
    let report = run(&oidc(&format!("http://127.0.0.1:{port}"))).await;
    let failure = failure_of(&report, "discovery");
    assert_eq!(
        failure,
        Failure::ConnectionRefused {
            address: format!("127.0.0.1:{port}")
        }
    );
    assert_eq!(
        report.steps[0].message,
        format!("connection refused by 127.0.0.1:{port}")
    );
    assert_eq!(
        report.steps.len(),
        1,
        "nothing depends on a missing document"
    );
}

#[tokio::test]
async fn an_unresolvable_host_is_a_dns_failure() {
    let report = run(&oidc("https://accounts.portcullis-test.invalid")).await;
    assert_eq!(
        failure_of(&report, "discovery"),
        Failure::Dns {
            host: "accounts.portcullis-test.invalid".into()
        }
    );
    assert_eq!(
        report.steps[0].message,
        "could not resolve accounts.portcullis-test.invalid (DNS)"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_a_tls_failure() {
    let server = MockServer::start().await;
    let issuer = server.uri().replace("http://", "https://");
    let failure = failure_of(&run(&oidc(&issuer)).await, "discovery");
    assert!(
        matches!(&failure, Failure::Tls { host, .. } if host == "127.0.0.1"),
        "{failure:?}"
    );
}

#[tokio::test]
async fn an_http_500_is_its_status_with_a_short_excerpt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_string(format!("<h1>Internal error</h1>\n{}", "x".repeat(5000))),
        )
        .mount(&server)
        .await;
    match failure_of(&run(&oidc(&server.uri())).await, "discovery") {
        Failure::Status {
            endpoint,
            status,
            excerpt,
        } => {
            assert_eq!((endpoint.as_str(), status), ("discovery document", 500));
            assert!(
                excerpt.starts_with("<h1>Internal error</h1> xxx"),
                "{excerpt}"
            );
            assert!(excerpt.chars().count() <= 201, "short: {excerpt}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_discovery_document_without_jwks_uri_names_the_field() {
    let server = MockServer::start().await;
    op_with_discovery(&server, |doc| {
        doc.as_object_mut().unwrap().remove("jwks_uri");
    })
    .await;
    let report = run(&oidc(&server.uri())).await;
    assert_eq!(
        failure_of(&report, "discovery"),
        Failure::MissingField {
            endpoint: "discovery document".into(),
            field: "jwks_uri".into()
        }
    );
    assert_eq!(
        report.steps[0].message,
        "discovery document lacks the field jwks_uri"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_json_and_an_empty_jwks_are_named() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&server)
        .await;
    assert!(matches!(
        failure_of(&run(&oidc(&server.uri())).await, "discovery"),
        Failure::NotJson { .. }
    ));

    let server = MockServer::start().await;
    op_with_discovery(&server, |_| {}).await;
    token_endpoint_refusing_codes(&server).await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": [] })))
        .mount(&server)
        .await;
    let report = run(&oidc(&server.uri())).await;
    assert!(matches!(
        failure_of(&report, "jwks"),
        Failure::InvalidField { field, .. } if field == "keys"
    ));
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.name == "token_endpoint" && s.ok),
        "the other steps still ran: {report:?}"
    );
}

#[tokio::test]
async fn a_token_endpoint_that_refuses_the_client_says_so_without_the_secret() {
    let server = MockServer::start().await;
    op_with_discovery(&server, |_| {}).await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "keys": [{ "kty": "RSA" }] })),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "bad secret s3cret-value"
        })))
        .mount(&server)
        .await;
    let report = run(&oidc(&server.uri())).await;
    assert_eq!(
        failure_of(&report, "token_endpoint"),
        Failure::ClientRejected {
            endpoint: "token endpoint".into(),
            error: "invalid_client".into()
        }
    );
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("s3cret-value"), "{text}");
}

#[tokio::test]
async fn a_healthy_fake_google_passes_every_step() {
    let google = FakeGoogle::start().await;
    token_endpoint_refusing_codes(&google.server).await;
    let cfg = ProviderConfig {
        client_id: fake_google::CLIENT_ID.into(),
        client_secret: fake_google::CLIENT_SECRET.into(),
        spec: ProviderSpec::Google {
            issuer: Some(google.issuer()),
            hosted_domain: None,
        },
        ..oidc("unused")
    };
    let report = run(&cfg).await;
    assert!(report.ok, "{report:#?}");
    let names: Vec<&str> = report.steps.iter().map(|s| s.name).collect();
    assert_eq!(names, ["discovery", "jwks", "token_endpoint"]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["kind"], "google");
    assert!(json["steps"][0].get("failure").is_none());
}

/// The certified reference OP (oidc-provider), when installed: a real issuer passes, which
/// shows the probe's token request (an unknown code, client_secret_basic) is one a conforming
/// OP answers with an OAuth error rather than refuses outright.
#[tokio::test]
async fn the_reference_op_passes_every_step() {
    let Some(dir) = crate::upstream_more::peer_ready() else {
        return;
    };
    let peer = crate::upstream_more::PeerOp::start(&dir, CALLBACK).await;
    let cfg = ProviderConfig {
        client_id: "idp".into(),
        client_secret: "idp-secret".into(),
        ..oidc(&peer.issuer)
    };
    let report = run(&cfg).await;
    assert!(report.ok, "{report:#?}");
    let token = report
        .steps
        .iter()
        .find(|s| s.name == "token_endpoint")
        .unwrap();
    assert!(token.message.contains("invalid_grant"), "{token:?}");
}

#[tokio::test]
async fn oauth2_endpoints_are_checked_for_the_shape_of_their_answers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oauth/authorize"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<form>sign in</form>"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "message": "token?" })))
        .mount(&server)
        .await;
    let cfg = ProviderConfig {
        spec: ProviderSpec::Oauth2 {
            authorize_url: format!("{}/oauth/authorize", server.uri()),
            token_url: format!("{}/oauth/token", server.uri()),
            userinfo_url: format!("{}/api/me", server.uri()),
            claims: ClaimMapping {
                subject: "id".into(),
                email: "email".into(),
                email_verified: None,
                name: "name".into(),
                picture: "avatar".into(),
            },
        },
        ..oidc("unused")
    };
    let report = run(&cfg).await;
    let ok: Vec<(&str, bool)> = report.steps.iter().map(|s| (s.name, s.ok)).collect();
    assert_eq!(
        ok,
        [
            ("authorization_endpoint", true),
            ("token_endpoint", false),
            ("userinfo_endpoint", true)
        ]
    );
    assert!(matches!(
        failure_of(&report, "token_endpoint"),
        Failure::NotJson { endpoint, .. } if endpoint == "token endpoint"
    ));
}

// ---- the command ----

async fn add(app: &TestApp, spec: NewProvider) {
    let mk = MasterKey::load_or_generate("", &app.data_dir()).unwrap().0;
    app.db
        .run(move |c| registry::add(c, &mk, &spec, portcullis::identity::now()))
        .await
        .unwrap();
}

async fn provider_test_exits_non_zero_and_names_the_cause(backend: Backend) {
    let app = spawn_app(backend).await;
    let port = closed_port();
    add(
        &app,
        NewProvider::new(
            "down",
            "client-1",
            "s3cret-value",
            ProviderSpec::Oidc {
                issuer: format!("http://127.0.0.1:{port}"),
            },
        ),
    )
    .await;

    let out = portcullis(&app, &["provider", "test", "down", "--json"]);
    assert!(!out.status.success(), "a failed test fails the command");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["ok"], false);
    assert_eq!(report["provider"], "down");
    assert_eq!(report["steps"][0]["name"], "discovery");
    assert_eq!(report["steps"][0]["failure"]["kind"], "connection_refused");
    assert_eq!(
        report["steps"][0]["failure"]["address"],
        format!("127.0.0.1:{port}")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("provider down failed: discovery"),
        "{stderr}"
    );

    let out = portcullis(&app, &["provider", "test", "down"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL  discovery")
            && text.contains(&format!("connection refused by 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(!text.contains("s3cret-value"));

    let out = portcullis(&app, &["provider", "test", "nosuch"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no provider nosuch"));
}

async fn provider_test_passes_a_healthy_provider(backend: Backend) {
    let app = spawn_app(backend).await;
    let google = FakeGoogle::start().await;
    token_endpoint_refusing_codes(&google.server).await;
    add(
        &app,
        NewProvider::new(
            "google",
            fake_google::CLIENT_ID,
            fake_google::CLIENT_SECRET,
            ProviderSpec::Google {
                issuer: Some(google.issuer()),
                hosted_domain: None,
            },
        ),
    )
    .await;
    let out = portcullis(&app, &["provider", "test", "google"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines.iter().all(|l| l.starts_with("ok ")), "{text}");
}
