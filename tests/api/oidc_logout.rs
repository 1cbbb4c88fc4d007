//! RP-initiated logout, back-channel logout, connected apps, client and key administration
//! from the command line, and static clients from the config file.

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::prelude::*;
use openidconnect::OAuth2TokenResponse;
use portcullis::crypto::sha256_hex;
use portcullis::db::models::{BackchannelLogout, OAuthClient};
use portcullis::db::schema::{backchannel_outbox, sessions};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::rp::{self, drive, Outcome, Rp};

backend_tests!(
    rp_initiated_logout_with_hint_redirects_with_state_and_ends_the_session,
    expired_id_token_hint_is_still_accepted,
    bad_logout_requests_get_an_error_page_and_keep_the_session,
    end_session_without_parameters_asks_before_signing_out,
    end_session_when_signed_out_shows_the_logged_out_page,
    redirect_uri_with_client_id_but_no_hint_asks_then_redirects_with_state,
    end_session_by_post_form_works_like_get,
    backchannel_logout_notifies_only_clients_of_the_ended_session,
    dead_backchannel_endpoint_does_not_hold_up_sign_out,
    refused_backchannel_logout_is_retried_then_given_up_and_can_be_retried_from_the_cli,
    backchannel_logout_fires_when_a_session_is_revoked_from_another,
    backchannel_logout_fires_when_all_other_sessions_are_revoked,
    rp_initiated_logout_notifies_the_other_clients_over_the_back_channel,
    connected_apps_lists_and_revokes_an_application,
    cli_client_create_shows_the_secret_once_and_list_show_delete_never_do,
    cli_rotate_secret_replaces_the_old_secret,
    cli_client_create_rejects_bad_specs_and_allows_client_credentials_without_redirects,
    cli_keys_list_and_rotate,
    static_clients_from_config_are_created_updated_and_removed,
);

const BYE: &str = "http://127.0.0.1:1/bye";
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const STATIC_SECRET: &str = "s3cret-s3cret-s3cret";
/// The default issuer: the test helpers replace it with the address a (re)started server listens on.
const FRESH_ISSUER: &str = "http://127.0.0.1:8080";

// ---------------------------------------------------------------------------------------------
// helpers

/// What a completed authorization code flow left the RP with.
pub(crate) struct Tokens {
    pub(crate) id_token: String,
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    /// The ID token's payload (not verified here; the flow tests do that).
    pub(crate) claims: Value,
}

fn b64json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn jwt_payload(token: &str) -> Value {
    b64json(token.split('.').nth(1).expect("JWT payload"))
}

fn jwt_header(token: &str) -> Value {
    b64json(token.split('.').next().unwrap())
}

/// Runs the authorization code flow in `b` for `rp` (consenting when asked) and redeems the code.
pub(crate) async fn complete_flow(b: &Browser, rp: &Rp, scopes: &[&str]) -> Tokens {
    let started = rp.start(scopes, false, &[]);
    let outcome = drive(b, &started.url, Some("allow")).await;
    let Outcome::Callback(cb) = outcome else {
        panic!("the flow did not reach the client: {outcome:?}")
    };
    assert_eq!(cb.get("state"), Some(started.state.secret().as_str()));
    let tokens = rp
        .exchange(cb.code(), started.verifier)
        .await
        .expect("code exchange");
    let raw = serde_json::to_value(&tokens).unwrap();
    let id_token = raw["id_token"].as_str().expect("an ID token").to_string();
    Tokens {
        claims: jwt_payload(&id_token),
        id_token,
        access_token: tokens.access_token().secret().clone(),
        refresh_token: tokens.refresh_token().map(|r| r.secret().clone()),
    }
}

fn end_session_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let base = format!("{}/end_session", app.address);
    if params.is_empty() {
        return base;
    }
    url::Url::parse_with_params(&base, params)
        .unwrap()
        .to_string()
}

/// The query of a redirect to the post-logout URI, checked to go exactly there.
fn bye_params(res: &reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(res.status(), 303, "a redirect to the post-logout URI");
    let loc = location(res);
    let (base, _) = loc.split_once('?').unwrap_or((loc.as_str(), ""));
    assert_eq!(base, BYE, "redirected to {loc}");
    url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub(crate) async fn session_row_exists(app: &TestApp, token: &str) -> bool {
    let hash = sha256_hex(token);
    let n: i64 = app
        .query(move |c| {
            sessions::table
                .filter(sessions::token_hash.eq(hash))
                .count()
                .get_result(c)
        })
        .await;
    n > 0
}

pub(crate) async fn session_id_of(app: &TestApp, b: &Browser) -> String {
    let hash = sha256_hex(&b.session_token().await.expect("a session cookie"));
    app.query(move |c| {
        sessions::table
            .filter(sessions::token_hash.eq(hash))
            .select(sessions::id)
            .first(c)
    })
    .await
}

/// Whether the server accepts this session token (sent by hand, whatever the browser's jar says).
pub(crate) async fn token_is_signed_in(app: &TestApp, token: &str) -> bool {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(format!("{}/account", app.address))
        .header("cookie", format!("portcullis_session={token}"))
        .send()
        .await
        .unwrap();
    match res.status().as_u16() {
        200 => true,
        303 => {
            assert!(location(&res).starts_with("/login"), "{}", location(&res));
            false
        }
        s => panic!("GET /account answered {s}"),
    }
}

/// The browser is signed in: its page works and its session row exists.
async fn assert_signed_in(app: &TestApp, b: &Browser, token: &str) {
    assert_eq!(b.get("/account").await.status(), 200, "still signed in");
    assert!(
        session_row_exists(app, token).await,
        "the session is still stored"
    );
}

/// The browser is signed out, and its old session token is dead on the server too.
pub(crate) async fn assert_signed_out(app: &TestApp, b: &Browser, token: &str) {
    let res = b.get("/account").await;
    assert_eq!(res.status(), 303, "signed out");
    assert!(location(&res).starts_with("/login"), "{}", location(&res));
    assert!(
        !session_row_exists(app, token).await,
        "the session is deleted on the server"
    );
    assert!(
        !token_is_signed_in(app, token).await,
        "the old session cookie no longer works"
    );
}

/// After the Portcullis session ended, a silent authorization must fail with login_required.
async fn assert_prompt_none_needs_login(b: &Browser, rp: &Rp) {
    let started = rp.start(&[], false, &[("prompt", "none")]);
    let outcome = drive(b, &started.url, None).await;
    let Outcome::Callback(cb) = outcome else {
        panic!("prompt=none must answer the client: {outcome:?}")
    };
    assert_eq!(cb.get("error"), Some("login_required"), "{:?}", cb.params);
    assert_eq!(cb.get("state"), Some(started.state.secret().as_str()));
    assert!(cb.get("code").is_none());
}

/// Hidden fields of the first form posting to `action`, as a browser would submit them.
fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!(r#"action="{action}""#))
        .unwrap_or_else(|| panic!("no form to {action}"));
    let form = &html[start..html[start..].find("</form>").map(|i| i + start).unwrap()];
    form.split("<input type=\"hidden\"")
        .skip(1)
        .map(|chunk| (attr(chunk, "name"), attr(chunk, "value")))
        .collect()
}

fn attr(chunk: &str, name: &str) -> String {
    let prefix = format!("{name}=\"");
    let start = chunk.find(&prefix).unwrap() + prefix.len();
    let end = chunk[start..].find('"').unwrap() + start;
    rp::unescape(&chunk[start..end])
}

pub(crate) async fn backchannel_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bc"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// Waits (at most ~3 s) until the mock has received at least `n` requests.
pub(crate) async fn wait_for_requests(server: &MockServer, n: usize) -> Vec<wiremock::Request> {
    for _ in 0..30 {
        let got = server.received_requests().await.unwrap();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.received_requests().await.unwrap()
}

/// Waits (at most ~5 s) until the back-channel outbox holds nothing pending: after that no
/// further delivery can happen, so counting what the clients received is final.
pub(crate) async fn settle(app: &TestApp) {
    for _ in 0..50 {
        let pending: i64 = app
            .query(|c| {
                backchannel_outbox::table
                    .filter(backchannel_outbox::status.eq("pending"))
                    .count()
                    .get_result(c)
            })
            .await;
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("back-channel logouts still pending after 5 s");
}

/// The outbox rows, oldest first.
pub(crate) async fn outbox(app: &TestApp) -> Vec<BackchannelLogout> {
    app.query(|c| {
        backchannel_outbox::table
            .order(backchannel_outbox::created_at.asc())
            .select(BackchannelLogout::as_select())
            .load(c)
    })
    .await
}

/// Checks one back-channel request and verifies its logout token against the JWKS.
/// Returns the token's claims.
pub(crate) async fn verify_logout_request(
    app: &TestApp,
    req: &wiremock::Request,
    client_id: &str,
) -> Value {
    assert_eq!(req.method.as_str(), "POST");
    let content_type = req
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/x-www-form-urlencoded"),
        "{content_type}"
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    assert_eq!(form.len(), 1, "only logout_token is posted: {form:?}");
    assert_eq!(form[0].0, "logout_token");
    let token = &form[0].1;

    let header = jsonwebtoken::decode_header(token).expect("a JWS");
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let kid = header.kid.clone().expect("kid in the header");
    let discovery: Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.address))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(discovery["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS"));
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("usable JWK");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[app.address.as_str()]);
    validation.set_required_spec_claims(&["iss", "aud", "exp"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the logout token verifies against the JWKS")
        .claims;

    assert_eq!(claims["iss"], app.address.as_str());
    let aud_ok = claims["aud"] == client_id
        || claims["aud"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == client_id));
    assert!(aud_ok, "aud {}", claims["aud"]);
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > iat, "exp after iat");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()), "jti");
    assert_eq!(claims["events"], json!({ BACKCHANNEL_EVENT: {} }));
    assert!(
        claims.get("nonce").is_none(),
        "a logout token never carries a nonce: {claims}"
    );
    claims
}

pub(crate) async fn userinfo_status(app: &TestApp, access_token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A token request by hand: (status, JSON body).
pub(crate) async fn token_request(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/token", app.address))
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Runs the real binary against a test database.
fn portcullis(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("PORTCULLIS_DATABASE__URL", &db.url)
        .env("PORTCULLIS_DATA_DIR", db.data_dir.path())
        .env("PORTCULLIS_PASSWORD__LOG_N", "4")
        .env("PORTCULLIS_LOG__FILTER", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs a command that must succeed.
fn cli_ok(db: &TestDb, args: &[&str]) -> Output {
    let out = portcullis(db, args);
    // A crash at exit (OpenSSL's exit handlers racing a background pool refill) once made
    // these fail on PostgreSQL; the exit status is checked every time.
    assert!(
        out.status.success(),
        "{args:?} exited with {}: {}{}",
        out.status,
        stderr(&out),
        stdout(&out)
    );
    out
}

fn cli_json(db: &TestDb, args: &[&str]) -> Value {
    let out = cli_ok(db, args);
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", stdout(&out)))
}

/// Starts the server on an existing test database, with the issuer set to where it listens.
async fn spawn_on(db: Arc<TestDb>) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut settings = test_settings(&db);
    settings.issuer = address.clone();
    let app = portcullis::startup::Application::build_on(settings.clone(), listener)
        .await
        .expect("application builds");
    tokio::spawn(app.run_until_stopped());
    TestApp::attach(address, settings, db)
}

async fn find_client(app: &TestApp, id: &str) -> Option<OAuthClient> {
    let id = portcullis::identity::ids::ClientId::parse(id).unwrap();
    app.query(move |c| OAuthClient::find(c, &id)).await
}

// ---------------------------------------------------------------------------------------------
// 1-5: RP-initiated logout

async fn rp_initiated_logout_with_hint_redirects_with_state_and_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;
    // A state that needs encoding must come back intact.
    let state = format!("st8 +/?&=%é~{}", "x".repeat(100));

    // As the conformance suite sends it (no client_id), then as openid-client does (client_id added).
    for with_client_id in [false, true] {
        if with_client_id {
            assert_eq!(b.login("ada@example.com", PASSWORD).await.status(), 303);
        }
        let tokens = complete_flow(&b, &rp, &[]).await;
        let session = b.session_token().await.unwrap();
        let mut params = vec![
            ("id_token_hint", tokens.id_token.as_str()),
            ("post_logout_redirect_uri", BYE),
            ("state", state.as_str()),
        ];
        if with_client_id {
            params.push(("client_id", id.as_str()));
        }
        let res = b
            .client
            .get(end_session_url(&app, &params))
            .send()
            .await
            .unwrap();
        assert_eq!(
            bye_params(&res),
            vec![("state".to_string(), state.clone())],
            "client_id sent: {with_client_id}"
        );
        assert_signed_out(&app, &b, &session).await;
        assert_prompt_none_needs_login(&b, &rp).await;
    }
}

async fn expired_id_token_hint_is_still_accepted(backend: Backend) {
    // ID tokens born expired: the hint is past its `exp` without waiting for it.
    let app = spawn_app_with(backend, |s| s.oidc.id_token_ttl_secs = -60).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;
    let tokens = complete_flow(&b, &rp, &[]).await;
    let session = b.session_token().await.unwrap();
    let exp = tokens.claims["exp"].as_i64().unwrap();
    assert!(exp < chrono::Utc::now().timestamp(), "the hint has expired");

    let url = end_session_url(
        &app,
        &[
            ("id_token_hint", &tokens.id_token),
            ("post_logout_redirect_uri", BYE),
            ("state", "s1"),
        ],
    );
    let res = b.client.get(url).send().await.unwrap();
    assert_eq!(
        bye_params(&res),
        vec![("state".to_string(), "s1".to_string())]
    );
    assert_signed_out(&app, &b, &session).await;
}

/// An ID token hint signed by a key that is not ours, carrying the kid of our EdDSA key.
async fn foreign_signed(app: &TestApp, payload_b64: &str) -> String {
    let jwks: Value = reqwest::get(format!("{}/jwks", app.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "EdDSA")
        .expect("an EdDSA key")["kid"]
        .clone();
    let header =
        URL_SAFE_NO_PAD.encode(json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid }).to_string());
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let input = format!("{header}.{payload_b64}");
    let sig = pair.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

async fn bad_logout_requests_get_an_error_page_and_keep_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let session = b.session_token().await.unwrap();
    let (id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let (other_id, _) = rp::register(&app, rp::spec("Other")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;
    let tokens = complete_flow(&b, &rp, &[]).await;
    let hint = tokens.id_token.clone();
    let parts: Vec<&str> = hint.split('.').collect();

    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        parts[1]
    );
    let kid = jwt_header(&hint)["kid"].clone();
    let alg_none_with_kid = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()),
        parts[1]
    );
    let mut claims = tokens.claims.clone();
    claims["sub"] = json!("usr_someone_else");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let foreign = foreign_signed(&app, parts[1]).await;
    let evil = "https://evil.example/bye".to_string();
    let with_query = format!("{BYE}?x=1");
    let with_path = format!("{BYE}/more");

    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "unregistered post_logout_redirect_uri",
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", &evil),
                ("state", "s"),
            ],
        ),
        (
            "registered URI plus a query string",
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", &with_query),
                ("state", "s"),
            ],
        ),
        (
            "registered URI plus a path",
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", &with_path),
                ("state", "s"),
            ],
        ),
        (
            "hint with alg none",
            vec![
                ("id_token_hint", &alg_none),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        ),
        (
            "hint with alg none and a real kid",
            vec![
                ("id_token_hint", &alg_none_with_kid),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        ),
        (
            "hint with a tampered payload",
            vec![
                ("id_token_hint", &tampered),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        ),
        (
            "hint signed by a foreign key",
            vec![
                ("id_token_hint", &foreign),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        ),
        (
            "hint whose aud differs from client_id",
            vec![
                ("id_token_hint", &hint),
                ("client_id", &other_id),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        ),
        (
            "redirect URI without hint or client_id",
            vec![("post_logout_redirect_uri", BYE), ("state", "s")],
        ),
        (
            "unknown client_id",
            vec![
                ("client_id", "cli_nobody"),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        ),
    ];
    for (what, params) in cases {
        let res = b
            .client
            .get(end_session_url(&app, &params))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{what}: {}", res.status());
        assert!(
            res.headers().get("location").is_none(),
            "{what}: redirected to {}",
            location(&res)
        );
        let html = res.text().await.unwrap();
        assert!(
            !html.contains("127.0.0.1:1/bye"),
            "{what}: the page offers no link back to the client"
        );
        assert_signed_in(&app, &b, &session).await;
    }
}

async fn end_session_without_parameters_asks_before_signing_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let session = b.session_token().await.unwrap();

    let res = b.get("/end_session").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"action="/end_session/confirm""#),
        "a confirmation form: {html}"
    );
    assert!(form_fields(&html, "/end_session/confirm")
        .iter()
        .any(|(k, v)| k == "csrf_token" && !v.is_empty()));
    assert_signed_in(&app, &b, &session).await;

    // Without the CSRF token, the confirmation is refused.
    let res = b.post_raw("/end_session/confirm", &[]).await;
    assert_eq!(res.status(), 403);
    assert_signed_in(&app, &b, &session).await;
    let res = b
        .post_raw(
            "/end_session/confirm",
            &[("csrf_token", "x".repeat(43).as_str())],
        )
        .await;
    assert_eq!(res.status(), 403, "a wrong token is refused too");
    assert_signed_in(&app, &b, &session).await;

    // With it (as the page's form sends it), the person is signed out.
    let res = b.post("/end_session/confirm", &[]).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    assert!(res.text().await.unwrap().contains("You have signed out"));
    assert_signed_out(&app, &b, &session).await;
}

async fn end_session_when_signed_out_shows_the_logged_out_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    for params in [vec![], vec![("state", "only-state")]] {
        let res = b
            .client
            .get(end_session_url(&app, &params))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{params:?}");
        assert!(res.headers().get("location").is_none());
        let html = res.text().await.unwrap();
        assert!(html.contains("You have signed out"), "{params:?}: {html}");
        assert!(
            !html.contains("/end_session/confirm"),
            "nothing to confirm when nobody is signed in"
        );
    }
}

async fn redirect_uri_with_client_id_but_no_hint_asks_then_redirects_with_state(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let session = b.session_token().await.unwrap();
    let (id, _) = rp::register(&app, rp::spec("Notes")).await;

    let url = end_session_url(
        &app,
        &[
            ("post_logout_redirect_uri", BYE),
            ("client_id", &id),
            ("state", "st&8"),
        ],
    );
    let res = b.client.get(url).send().await.unwrap();
    assert_eq!(
        res.status(),
        200,
        "nothing proves who asked: a confirmation page"
    );
    assert!(res.headers().get("location").is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("Notes"), "the page names the application");
    let fields = form_fields(&html, "/end_session/confirm");
    assert_signed_in(&app, &b, &session).await;

    // The person confirms: the browser submits the page's form as it is.
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = b.post_raw("/end_session/confirm", &form).await;
    assert_eq!(
        bye_params(&res),
        vec![("state".to_string(), "st&8".to_string())]
    );
    assert_signed_out(&app, &b, &session).await;
}

async fn end_session_by_post_form_works_like_get(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;

    for with_client_id in [false, true] {
        if with_client_id {
            assert_eq!(b.login("ada@example.com", PASSWORD).await.status(), 303);
        }
        let tokens = complete_flow(&b, &rp, &[]).await;
        let session = b.session_token().await.unwrap();
        let mut form = vec![
            ("id_token_hint", tokens.id_token.as_str()),
            ("post_logout_redirect_uri", BYE),
            ("state", "posted state"),
        ];
        if with_client_id {
            form.push(("client_id", id.as_str()));
        }
        // An RP's auto-submitted form: no CSRF token of ours.
        let res = b.post_raw("/end_session", &form).await;
        assert_eq!(
            bye_params(&res),
            vec![("state".to_string(), "posted state".to_string())]
        );
        assert_signed_out(&app, &b, &session).await;
        assert_prompt_none_needs_login(&b, &rp).await;
    }

    // A bad request by POST gets the same error page and no redirect.
    assert_eq!(b.login("ada@example.com", PASSWORD).await.status(), 303);
    let tokens = complete_flow(&b, &rp, &[]).await;
    let session = b.session_token().await.unwrap();
    let res = b
        .post_raw(
            "/end_session",
            &[
                ("id_token_hint", &tokens.id_token),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
        )
        .await;
    assert!(res.status().is_client_error());
    assert!(res.headers().get("location").is_none());
    assert_signed_in(&app, &b, &session).await;

    // No parameters by POST while signed in: the confirmation page.
    let res = b.post_raw("/end_session", &[]).await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains(r#"action="/end_session/confirm""#));
    assert_signed_in(&app, &b, &session).await;
}

// ---------------------------------------------------------------------------------------------
// 6-7: back-channel logout

async fn backchannel_logout_notifies_only_clients_of_the_ended_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let discovery: Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.address))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);

    let here = backchannel_mock().await;
    let elsewhere = backchannel_mock().await;
    let mut spec = rp::spec("Notes");
    spec.backchannel_logout_uri = Some(format!("{}/bc", here.uri()));
    let (id1, s1) = rp::register(&app, spec).await;
    let (id2, s2) = rp::register(&app, rp::spec("No back channel")).await;
    let mut spec = rp::spec("Elsewhere");
    spec.backchannel_logout_uri = Some(format!("{}/bc", elsewhere.uri()));
    let (id3, s3) = rp::register(&app, spec).await;
    let (rp1, rp2, rp3) = (
        rp::rp(&app, &id1, s1.as_deref()).await,
        rp::rp(&app, &id2, s2.as_deref()).await,
        rp::rp(&app, &id3, s3.as_deref()).await,
    );

    // Session 1 signs in to client 1 (twice) and client 2.
    let b = signed_up(&app, "ada@example.com").await;
    let t1 = complete_flow(&b, &rp1, &[]).await;
    let again = complete_flow(&b, &rp1, &["profile"]).await;
    assert_eq!(again.claims["sid"], t1.claims["sid"]);
    let t2 = complete_flow(&b, &rp2, &[]).await;
    assert_eq!(t2.claims["sid"], t1.claims["sid"]);
    // Session 2 (another browser of the same person) signs in to client 3 only.
    let b2 = app.browser();
    assert_eq!(b2.login("ada@example.com", PASSWORD).await.status(), 303);
    let t3 = complete_flow(&b2, &rp3, &[]).await;
    assert_ne!(t3.claims["sid"], t1.claims["sid"]);
    let sid1 = t1.claims["sid"]
        .as_str()
        .expect("sid in the ID token")
        .to_string();
    assert_eq!(sid1, session_id_of(&app, &b).await);

    // The normal sign-out form.
    let session = b.session_token().await.unwrap();
    let res = b.post("/logout", &[]).await;
    assert_eq!(res.status(), 303);
    assert_signed_out(&app, &b, &session).await;

    let got = wait_for_requests(&here, 1).await;
    assert_eq!(got.len(), 1, "client 1 is told once");
    let claims = verify_logout_request(&app, &got[0], &id1).await;
    assert_eq!(claims["sid"], t1.claims["sid"]);
    assert_eq!(claims["sub"], t1.claims["sub"]);
    settle(&app).await;
    assert_eq!(
        here.received_requests().await.unwrap().len(),
        1,
        "exactly one logout token for client 1"
    );
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "a client of another session is not told"
    );
    assert_eq!(
        b2.get("/account").await.status(),
        200,
        "the other session lives on"
    );

    // Ending session 2 tells client 3, with that session's sid.
    let res = b2.post("/logout", &[]).await;
    assert_eq!(res.status(), 303);
    let got = wait_for_requests(&elsewhere, 1).await;
    assert_eq!(got.len(), 1);
    let claims = verify_logout_request(&app, &got[0], &id3).await;
    assert_eq!(claims["sid"], t3.claims["sid"]);
    assert_eq!(claims["sub"], t3.claims["sub"]);
    settle(&app).await;
    assert_eq!(
        here.received_requests().await.unwrap().len(),
        1,
        "client 1 is not told about session 2"
    );
}

async fn dead_backchannel_endpoint_does_not_hold_up_sign_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let live = backchannel_mock().await;
    let mut spec = rp::spec("Dead");
    spec.backchannel_logout_uri = Some("http://127.0.0.1:1/bc".into());
    let (dead_id, dead_secret) = rp::register(&app, spec).await;
    let mut spec = rp::spec("Live");
    spec.backchannel_logout_uri = Some(format!("{}/bc", live.uri()));
    let (live_id, live_secret) = rp::register(&app, spec).await;

    let b = signed_up(&app, "ada@example.com").await;
    complete_flow(
        &b,
        &rp::rp(&app, &dead_id, dead_secret.as_deref()).await,
        &[],
    )
    .await;
    let t = complete_flow(
        &b,
        &rp::rp(&app, &live_id, live_secret.as_deref()).await,
        &[],
    )
    .await;

    let session = b.session_token().await.unwrap();
    let res = b.post("/logout", &[]).await;
    assert_eq!(
        res.status(),
        303,
        "the sign-out answers whatever the clients do"
    );
    assert!(location(&res).starts_with("/login"));
    assert_signed_out(&app, &b, &session).await;

    // The live client is still told.
    let got = wait_for_requests(&live, 1).await;
    assert_eq!(got.len(), 1);
    let claims = verify_logout_request(&app, &got[0], &live_id).await;
    assert_eq!(claims["sid"], t.claims["sid"]);

    // And RP-initiated logout with a dead back channel still redirects.
    let (id, secret) = rp::register(&app, {
        let mut s = rp::spec("Dead too");
        s.backchannel_logout_uri = Some("http://127.0.0.1:1/bc".into());
        s
    })
    .await;
    assert_eq!(b.login("ada@example.com", PASSWORD).await.status(), 303);
    let t = complete_flow(&b, &rp::rp(&app, &id, secret.as_deref()).await, &[]).await;
    let res = b
        .client
        .get(end_session_url(
            &app,
            &[
                ("id_token_hint", &t.id_token),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bye_params(&res),
        vec![("state".to_string(), "s".to_string())]
    );
}

async fn refused_backchannel_logout_is_retried_then_given_up_and_can_be_retried_from_the_cli(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| {
        s.oidc.backchannel_attempts = 2;
        s.oidc.backchannel_retry_base_secs = 1;
        s.oidc.backchannel_poll_interval_secs = 1;
    })
    .await;
    // The client refuses twice, then accepts.
    let bc = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bc"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&bc)
        .await;
    Mock::given(method("POST"))
        .and(path("/bc"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&bc)
        .await;
    let mut spec = rp::spec("Flaky");
    spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
    let (id, secret) = rp::register(&app, spec).await;
    let b = signed_up(&app, "ada@example.com").await;
    let t = complete_flow(&b, &rp::rp(&app, &id, secret.as_deref()).await, &[]).await;
    assert_eq!(b.post("/logout", &[]).await.status(), 303);

    // First attempt at once, the second after the backoff; then the worker gives up.
    assert_eq!(wait_for_requests(&bc, 2).await.len(), 2);
    settle(&app).await;
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 1, "one delivery for one client of one session");
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("failed", 2));
    assert_eq!(rows[0].session_id, t.claims["sid"].as_str().unwrap());

    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(args)
            .env("PORTCULLIS_DATABASE__URL", &app.test_db.url)
            .env("PORTCULLIS_DATA_DIR", app.data_dir())
            .env("PORTCULLIS_ISSUER", &app.address)
            .env("PORTCULLIS_LOG__FILTER", "warn")
            .env_remove("PORTCULLIS_CONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let listed: Value = serde_json::from_str(&cli(&["backchannel", "list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], rows[0].id.as_str());
    assert_eq!(listed[0]["status"], "failed");
    assert_eq!(listed[0]["attempts"], 2);
    assert_eq!(listed[0]["client_id"], id.as_str());
    assert_eq!(listed[0]["last_error"], "the client answered 503");
    assert!(cli(&["backchannel", "list"]).contains("the client answered 503"));

    let out = cli(&["backchannel", "retry", "--failed"]);
    assert!(out.contains("1 delivered"), "{out}");
    let got = bc.received_requests().await.unwrap();
    assert_eq!(got.len(), 3);
    // Every attempt is the same logout (one jti), each signed afresh.
    let claims: Vec<Value> =
        futures_util::future::join_all(got.iter().map(|r| verify_logout_request(&app, r, &id)))
            .await;
    assert!(
        claims.iter().all(|c| c["jti"] == claims[0]["jti"]),
        "{claims:?}"
    );
    assert!(claims.iter().all(|c| c["sid"] == t.claims["sid"]));
    assert_eq!(claims[0]["jti"], rows[0].jti.as_str());
    assert!(claims[2]["iat"].as_i64() >= claims[0]["iat"].as_i64());
    let listed: Value = serde_json::from_str(&cli(&["backchannel", "list", "--json"])).unwrap();
    assert_eq!(listed, json!([]));
    assert_eq!(outbox(&app).await[0].status, "delivered");
    let out = portcullis(&app.test_db, &["backchannel", "retry", "--failed"]);
    assert!(!out.status.success(), "nothing left to retry");
}

async fn backchannel_logout_fires_when_a_session_is_revoked_from_another(backend: Backend) {
    let app = spawn_app(backend).await;
    let bc = backchannel_mock().await;
    let mut spec = rp::spec("Notes");
    spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
    let (id, secret) = rp::register(&app, spec).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;

    let laptop = signed_up(&app, "ada@example.com").await;
    let phone = app.browser();
    assert_eq!(phone.login("ada@example.com", PASSWORD).await.status(), 303);
    let t = complete_flow(&phone, &rp, &[]).await;
    let phone_session = phone.session_token().await.unwrap();
    let phone_id = session_id_of(&app, &phone).await;
    assert_eq!(t.claims["sid"], phone_id.as_str());

    let res = laptop
        .post(&format!("/account/sessions/{phone_id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_signed_out(&app, &phone, &phone_session).await;
    assert_eq!(laptop.get("/account").await.status(), 200);

    let got = wait_for_requests(&bc, 1).await;
    assert_eq!(got.len(), 1, "the client of the revoked session is told");
    let claims = verify_logout_request(&app, &got[0], &id).await;
    assert_eq!(claims["sid"], t.claims["sid"]);
    assert_eq!(claims["sub"], t.claims["sub"]);
    settle(&app).await;
    assert_eq!(bc.received_requests().await.unwrap().len(), 1);
}

async fn backchannel_logout_fires_when_all_other_sessions_are_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let bc = backchannel_mock().await;
    let mut spec = rp::spec("Notes");
    spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
    let (id, secret) = rp::register(&app, spec).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;

    let laptop = signed_up(&app, "ada@example.com").await;
    let phone = app.browser();
    assert_eq!(phone.login("ada@example.com", PASSWORD).await.status(), 303);
    let t = complete_flow(&phone, &rp, &[]).await;
    let phone_session = phone.session_token().await.unwrap();

    // "Sign out all other sessions" on /account/sessions.
    let res = laptop.post("/account/sessions/revoke-others", &[]).await;
    assert_eq!(res.status(), 303);
    assert_signed_out(&app, &phone, &phone_session).await;
    assert_eq!(laptop.get("/account").await.status(), 200);

    let got = wait_for_requests(&bc, 1).await;
    assert_eq!(
        got.len(),
        1,
        "the client of a session ended by \"sign out other sessions\" is told"
    );
    let claims = verify_logout_request(&app, &got[0], &id).await;
    assert_eq!(claims["sid"], t.claims["sid"]);
    assert_eq!(claims["sub"], t.claims["sub"]);
}

async fn rp_initiated_logout_notifies_the_other_clients_over_the_back_channel(backend: Backend) {
    let app = spawn_app(backend).await;
    let bc = backchannel_mock().await;
    let mut spec = rp::spec("Mail");
    spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
    let (mail_id, mail_secret) = rp::register(&app, spec).await;
    let (notes_id, notes_secret) = rp::register(&app, rp::spec("Notes")).await;
    let b = signed_up(&app, "ada@example.com").await;
    let mail = complete_flow(
        &b,
        &rp::rp(&app, &mail_id, mail_secret.as_deref()).await,
        &[],
    )
    .await;
    let notes = complete_flow(
        &b,
        &rp::rp(&app, &notes_id, notes_secret.as_deref()).await,
        &[],
    )
    .await;

    // Notes signs the person out; Mail, signed in through the same session, is told.
    let url = end_session_url(
        &app,
        &[
            ("id_token_hint", &notes.id_token),
            ("post_logout_redirect_uri", BYE),
            ("state", "s"),
        ],
    );
    let res = b.client.get(url).send().await.unwrap();
    assert_eq!(
        bye_params(&res),
        vec![("state".to_string(), "s".to_string())]
    );
    let got = wait_for_requests(&bc, 1).await;
    assert_eq!(got.len(), 1);
    let claims = verify_logout_request(&app, &got[0], &mail_id).await;
    assert_eq!(claims["sid"], mail.claims["sid"]);
    assert_eq!(claims["sub"], mail.claims["sub"]);
}

// ---------------------------------------------------------------------------------------------
// 8: connected apps

async fn connected_apps_lists_and_revokes_an_application(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;

    let html = b.get("/account/apps").await.text().await.unwrap();
    assert!(html.contains("No application has access"), "{html}");

    let tokens = complete_flow(&b, &rp, &["profile", "email", "offline_access"]).await;
    let refresh = tokens
        .refresh_token
        .clone()
        .expect("offline_access gives a refresh token");
    assert_eq!(userinfo_status(&app, &tokens.access_token).await, 200);

    let res = b.get("/account/apps").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Notes"), "the app is listed by name: {html}");
    let access = html
        .split("Access:")
        .nth(1)
        .expect("the granted scopes")
        .split("</ul>")
        .next()
        .unwrap();
    for scope in ["openid", "profile", "email", "offline_access"] {
        assert!(
            access.contains(&format!(r#"data-scope="{scope}""#)),
            "{scope} in {access:?}"
        );
    }
    // The same sentences as the consent page.
    assert!(
        access.contains("See your email address and whether it is verified"),
        "{access}"
    );
    assert!(
        access.contains("Stay connected when you are not using it"),
        "{access}"
    );
    assert!(form_fields(&html, "/account/apps/revoke")
        .iter()
        .any(|(k, v)| k == "client_id" && v == &id));

    // Without the CSRF token nothing happens.
    let res = b
        .post_raw("/account/apps/revoke", &[("client_id", &id)])
        .await;
    assert_eq!(res.status(), 403);
    assert!(b
        .get("/account/apps")
        .await
        .text()
        .await
        .unwrap()
        .contains("Notes"));
    assert_eq!(userinfo_status(&app, &tokens.access_token).await, 200);

    let res = b.post("/account/apps/revoke", &[("client_id", &id)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/apps?notice=revoked");
    let html = b
        .get("/account/apps?notice=revoked")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("Notes"),
        "the app is gone from the list: {html}"
    );
    assert!(html.contains("Access has been revoked."));

    assert_eq!(
        userinfo_status(&app, &tokens.access_token).await,
        401,
        "its access token is dead"
    );
    let (status, body) = token_request(
        &app,
        &id,
        secret.as_deref().unwrap(),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400, "its refresh token is dead: {body}");
    assert_eq!(body["error"], "invalid_grant");

    // The next authorization asks again.
    let started = rp.start(&["profile"], false, &[]);
    let outcome = drive(&b, &started.url, None).await;
    assert!(
        matches!(outcome, Outcome::Consent(_)),
        "consent is asked again: {outcome:?}"
    );
    // Still signed in to Portcullis itself.
    assert_eq!(b.get("/account").await.status(), 200);
}

// ---------------------------------------------------------------------------------------------
// 9: the command line

async fn cli_client_create_shows_the_secret_once_and_list_show_delete_never_do(backend: Backend) {
    let db = TestDb::new(backend);
    let created = cli_json(
        &db,
        &[
            "client",
            "create",
            "--name",
            "App",
            "--redirect-uri",
            "https://app.example/cb",
            "--json",
        ],
    );
    let id = created["client_id"]
        .as_str()
        .expect("client_id")
        .to_string();
    let secret = created["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_string();
    assert!(id.starts_with("cli_"), "{id}");
    assert!(secret.len() >= 43, "a 256-bit secret: {secret}");
    insta::assert_json_snapshot!("client_create_json", created, {
        ".client_id" => "[client_id]",
        ".client_secret" => "[client_secret]",
    });

    // Only a hash is stored.
    let app_db = portcullis::db::Db::connect(&db.url, 1, Duration::from_secs(5)).unwrap();
    let lookup = portcullis::identity::ids::ClientId::parse(&id).unwrap();
    let row = app_db
        .run(move |c| Ok(OAuthClient::find(c, &lookup)?))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.secret_hash.as_deref(), Some(secret.as_str()));

    let list_out = cli_ok(&db, &["client", "list", "--json"]);
    assert!(!stdout(&list_out).contains(&secret));
    let list: Value = serde_json::from_str(&stdout(&list_out)).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["client_id"], id.as_str());
    assert!(list[0].get("client_secret").is_none());

    let show_out = cli_ok(&db, &["client", "show", &id, "--json"]);
    assert!(!stdout(&show_out).contains(&secret));
    let shown: Value = serde_json::from_str(&stdout(&show_out)).unwrap();
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(
        shown, expected,
        "show prints what create did, minus the secret"
    );

    for args in [vec!["client", "list"], vec!["client", "show", id.as_str()]] {
        let out = cli_ok(&db, &args);
        assert!(
            stdout(&out).contains(&id) && !stdout(&out).contains(&secret),
            "{args:?}"
        );
    }

    let out = cli_ok(&db, &["client", "delete", &id]);
    assert!(
        stdout(&out).contains(&format!("deleted client {id}")),
        "{}",
        stdout(&out)
    );
    let out = portcullis(&db, &["client", "show", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no client"), "{}", stderr(&out));
    let out = portcullis(&db, &["client", "delete", &id]);
    assert!(
        !out.status.success() && stderr(&out).contains("no client"),
        "{}",
        stderr(&out)
    );
    assert_eq!(cli_json(&db, &["client", "list", "--json"]), json!([]));
}

async fn cli_rotate_secret_replaces_the_old_secret(backend: Backend) {
    let db = Arc::new(TestDb::new(backend));
    let created = cli_json(
        &db,
        &[
            "client",
            "create",
            "--name",
            "Rotor",
            "--redirect-uri",
            rp::REDIRECT,
            "--json",
        ],
    );
    let id = created["client_id"].as_str().unwrap().to_string();
    let old = created["client_secret"].as_str().unwrap().to_string();
    let app = spawn_on(db.clone()).await;
    let b = signed_up(&app, "ada@example.com").await;

    // The old secret works before the rotation.
    complete_flow(&b, &rp::rp(&app, &id, Some(&old)).await, &[]).await;

    let out = cli_ok(&db, &["client", "rotate-secret", &id]);
    let new = stdout(&out)
        .lines()
        .find_map(|l| {
            l.strip_prefix("client_secret:")
                .map(|s| s.trim().to_string())
        })
        .expect("the new secret is printed");
    assert!(new.len() >= 43 && new != old, "{new}");

    let rp_new = rp::rp(&app, &id, Some(&new)).await;
    let started = rp_new.start(&[], false, &[]);
    let Outcome::Callback(cb) = drive(&b, &started.url, Some("allow")).await else {
        panic!("no callback")
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", cb.code()),
        ("redirect_uri", rp::REDIRECT),
    ];
    let (status, body) = token_request(&app, &id, &old, &form).await;
    assert_eq!(
        status, 401,
        "the old secret no longer authenticates: {body}"
    );
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = token_request(&app, &id, &new, &form).await;
    assert_eq!(status, 200, "the new secret does: {body}");
    assert!(body["id_token"].is_string());

    let out = portcullis(&db, &["client", "rotate-secret", "cli_nobody"]);
    assert!(
        !out.status.success() && stderr(&out).contains("no client"),
        "{}",
        stderr(&out)
    );
}

async fn cli_client_create_rejects_bad_specs_and_allows_client_credentials_without_redirects(
    backend: Backend,
) {
    let db = Arc::new(TestDb::new(backend));
    let out = portcullis(
        &db,
        &[
            "client",
            "create",
            "--name",
            "Pub",
            "--public",
            "--grant",
            "client_credentials",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("public client cannot use client_credentials"),
        "{}",
        stderr(&out)
    );

    let out = portcullis(
        &db,
        &[
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "https://x/cb#frag",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("https://x/cb#frag") && stderr(&out).contains("fragment"),
        "{}",
        stderr(&out)
    );

    let out = portcullis(&db, &["client", "create", "--name", "NoRedirect"]);
    assert!(
        !out.status.success() && stderr(&out).contains("--redirect-uri"),
        "{}",
        stderr(&out)
    );

    let cc = cli_json(
        &db,
        &[
            "client",
            "create",
            "--name",
            "CC",
            "--grant",
            "client_credentials",
            "--id-token-alg",
            "ES256",
            "--json",
        ],
    );
    assert_eq!(cc["grant_types"], json!(["client_credentials"]));
    assert_eq!(cc["redirect_uris"], json!([]));
    assert_eq!(cc["id_token_alg"], "ES256");
    assert_eq!(
        cc["access_token_alg"], "ES256",
        "access tokens follow the ID token alg unless told"
    );
    let split = cli_json(
        &db,
        &[
            "client",
            "create",
            "--name",
            "Split",
            "--grant",
            "client_credentials",
            "--access-token-alg",
            "ES256",
            "--json",
        ],
    );
    assert_eq!(
        (
            split["id_token_alg"].as_str(),
            split["access_token_alg"].as_str()
        ),
        (Some("RS256"), Some("ES256"))
    );
    let out = portcullis(
        &db,
        &["client", "delete", split["client_id"].as_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = portcullis(
        &db,
        &[
            "client",
            "create",
            "--name",
            "Bad",
            "--grant",
            "client_credentials",
            "--access-token-alg",
            "HS256",
        ],
    );
    assert!(
        !out.status.success() && stderr(&out).contains("access token alg HS256"),
        "{}",
        stderr(&out)
    );
    let id = cc["client_id"].as_str().unwrap().to_string();
    let secret = cc["client_secret"]
        .as_str()
        .expect("a confidential client")
        .to_string();
    let list = cli_json(&db, &["client", "list", "--json"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "failed creations left nothing behind: {list}"
    );

    // It works: a client_credentials token, signed with ES256.
    let app = spawn_on(db.clone()).await;
    let (status, body) =
        token_request(&app, &id, &secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_header(at)["alg"], "ES256");
}

async fn cli_keys_list_and_rotate(backend: Backend) {
    let db = Arc::new(TestDb::new(backend));
    let app = spawn_on(db.clone()).await;

    let keys = cli_json(&db, &["keys", "list", "--json"]);
    let keys = keys.as_array().unwrap().clone();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    let kids: Vec<String> = keys
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    let jwks: Value = reqwest::get(format!("{}/jwks", app.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut published: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    published.sort();
    let mut listed = kids.clone();
    listed.sort();
    assert_eq!(
        listed, published,
        "the CLI lists the keys the server publishes"
    );

    let out = cli_ok(&db, &["keys", "rotate", "--immediately"]);
    assert!(stdout(&out).contains("signing now"), "{}", stdout(&out));
    let after = cli_json(&db, &["keys", "list", "--json"]);
    let after = after.as_array().unwrap();
    assert_eq!(after.len(), 6, "{after:?}");
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert_eq!(after.iter().filter(|k| k["alg"] == alg).count(), 2, "{alg}");
    }
    for kid in &kids {
        assert!(
            after.iter().any(|k| k["kid"] == kid.as_str()),
            "old key {kid} is kept"
        );
    }
    let mut all: Vec<&str> = after.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6, "distinct kids");
}

// ---------------------------------------------------------------------------------------------
// 10: static clients from the config file

pub(crate) fn static_client(name: &str) -> portcullis::config::StaticClient {
    portcullis::config::StaticClient {
        id: portcullis::identity::ids::ClientId::parse("static-app").unwrap(),
        name: name.into(),
        secret: Some(portcullis::config::Secret::new(STATIC_SECRET)),
        redirect_uris: vec![rp::REDIRECT.into()],
        post_logout_redirect_uris: vec![BYE.into()],
        grant_types: vec![
            portcullis::oidc::clients::GrantType::AuthorizationCode,
            portcullis::oidc::clients::GrantType::RefreshToken,
        ],
        auth_method: None,
        skip_consent: false,
        always_issue_refresh: false,
        backchannel_logout_uri: None,
        id_token_alg: portcullis::oidc::keys::Alg::RS256,
        access_token_alg: None,
        require_mfa: false,
        admin_api: false,
        claims: vec![],
    }
}

async fn static_clients_from_config_are_created_updated_and_removed(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.clients.push(static_client("Static"))).await;
    let row = find_client(&app, "static-app")
        .await
        .expect("the static client exists");
    assert_eq!(row.name, "Static");
    assert_eq!(row.managed_by, "config");
    assert_ne!(
        row.secret_hash.as_deref(),
        Some(STATIC_SECRET),
        "only a hash is stored"
    );
    let created_at = row.created_at;

    // A client made with the CLI on the same database.
    let cli = cli_json(
        &app.test_db,
        &[
            "client",
            "create",
            "--name",
            "Cli App",
            "--redirect-uri",
            rp::REDIRECT,
            "--json",
        ],
    );
    let cli_id = cli["client_id"].as_str().unwrap().to_string();
    let cli_secret = cli["client_secret"].as_str().unwrap().to_string();

    // A full flow with the configured id and secret.
    let mut b = signed_up(&app, "ada@example.com").await;
    let tokens = complete_flow(
        &b,
        &rp::rp(&app, "static-app", Some(STATIC_SECRET)).await,
        &["profile"],
    )
    .await;
    assert_eq!(tokens.claims["aud"], "static-app");
    assert_eq!(userinfo_status(&app, &tokens.access_token).await, 200);
    let html = b.get("/account/apps").await.text().await.unwrap();
    assert!(html.contains("Static"));

    // Renamed in the config: updated at the next start, not recreated.
    let app = app
        .restart_with(|s| {
            s.clients[0].name = "Static Renamed".into();
            s.issuer = FRESH_ISSUER.into();
        })
        .await;
    b.base = app.address.clone();
    let row = find_client(&app, "static-app").await.expect("still there");
    assert_eq!(row.name, "Static Renamed");
    assert_eq!(row.created_at, created_at);
    let html = b.get("/account/apps").await.text().await.unwrap();
    assert!(
        html.contains("Static Renamed"),
        "the consent survived the update: {html}"
    );
    let tokens = complete_flow(
        &b,
        &rp::rp(&app, "static-app", Some(STATIC_SECRET)).await,
        &["profile"],
    )
    .await;
    assert_eq!(tokens.claims["aud"], "static-app");

    // Removed from the config: deleted at the next start; the CLI client is untouched.
    let app = app
        .restart_with(|s| {
            s.clients.clear();
            s.issuer = FRESH_ISSUER.into();
        })
        .await;
    b.base = app.address.clone();
    assert!(
        find_client(&app, "static-app").await.is_none(),
        "the removed static client is gone"
    );
    let row = find_client(&app, &cli_id)
        .await
        .expect("the CLI client is untouched");
    assert_eq!(row.name, "Cli App");
    assert_eq!(row.managed_by, "cli");
    let html = b.get("/account/apps").await.text().await.unwrap();
    assert!(!html.contains("Static"), "{html}");
    let (status, body) = token_request(
        &app,
        "static-app",
        STATIC_SECRET,
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let tokens = complete_flow(&b, &rp::rp(&app, &cli_id, Some(&cli_secret)).await, &[]).await;
    assert_eq!(tokens.claims["aud"], cli_id.as_str());
}
