//! Upstream providers end to end: fake GitHub and a generic OAuth2 provider on wiremock, linking
//! rules across providers, the provider CLI, providers from the config file, and the certified
//! reference OP (panva oidc-provider on Node) as a real OpenID Connect upstream.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use diesel::prelude::*;
use portcullis::config::{Secret, StaticProvider};
use portcullis::crypto::MasterKey;
use portcullis::db::models::{Account, IdentityProviderRow, User, CREDENTIAL_PROVIDER};
use portcullis::db::schema::{identity_provider, sessions, users};
use portcullis::identity::ids::UserId;
use portcullis::upstream::config::{ClaimMapping, Kind, ProviderSpec};
use portcullis::upstream::registry::{self, NewProvider};
use serde_json::{json, Value};
use sha2::Digest;
use url::Url;
use wiremock::matchers::{bearer_token, body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

backend_tests!(
    github_sign_up_creates_a_verified_user_with_pkce_and_bearer_calls,
    github_without_a_verified_primary_email_is_refused_and_writes_nothing,
    github_org_restriction_admits_members_only,
    github_failures_are_clear_pages_never_500,
    generic_oauth2_reads_nested_claims_and_lowercases_the_email,
    generic_oauth2_userinfo_without_subject_is_refused,
    linking_across_providers_passwords_and_unlink_rules,
    provider_cli_adds_lists_shows_toggles_and_removes_without_leaking_secrets,
    provider_cli_errors_are_clear_and_exit_non_zero,
    static_providers_follow_the_config_and_leave_cli_providers_alone,
    certified_peer_op_works_as_an_upstream_oidc_issuer,
);

// ---------------------------------------------------------------------------------------------
// Helpers

const GH_CLIENT: &str = "gh-client-id";
const GH_SECRET: &str = "gh-client-secret";
const GH_TOKEN: &str = "gho_x";

fn master_key(app: &TestApp) -> MasterKey {
    MasterKey::load_or_generate("", &app.data_dir())
        .expect("master key")
        .0
}

/// Registers a provider in the app's database, as the CLI does.
async fn add_provider(app: &TestApp, spec: NewProvider) {
    let mk = master_key(app);
    app.db
        .run(move |c| registry::add(c, &mk, &spec, portcullis::identity::now()))
        .await
        .expect("provider added");
}

pub(crate) fn github_spec(mock: &MockServer) -> NewProvider {
    github_at(mock.uri(), Vec::new())
}

/// A GitHub provider whose web and API bases are both `base`.
fn github_at(base: String, orgs: Vec<String>) -> NewProvider {
    NewProvider {
        display_name: "GitHub".into(),
        ..NewProvider::new(
            "github",
            GH_CLIENT,
            GH_SECRET,
            ProviderSpec::Github {
                web_base: Some(base.clone()),
                api_base: Some(base),
                orgs,
            },
        )
    }
}

fn claim_mapping() -> ClaimMapping {
    ClaimMapping {
        subject: "data.id".into(),
        email: "data.mail".into(),
        email_verified: Some("data.confirmed".into()),
        name: "data.display".into(),
        picture: "data.avatar".into(),
    }
}

fn oauth2_spec(mock: &MockServer, slug: &str, name: &str) -> NewProvider {
    NewProvider {
        display_name: name.into(),
        ..NewProvider::new(
            slug,
            "gen-client",
            "gen-secret",
            ProviderSpec::Oauth2 {
                authorize_url: format!("{}/oauth/authorize", mock.uri()),
                token_url: format!("{}/oauth/token", mock.uri()),
                userinfo_url: format!("{}/api/me", mock.uri()),
                claims: claim_mapping(),
            },
        )
    }
}

fn octo_emails() -> Value {
    json!([
        { "email": "octo-old@example.org", "primary": false, "verified": true, "visibility": null },
        { "email": "octo@example.com", "primary": true, "verified": true, "visibility": "public" },
    ])
}

/// GitHub's token endpoint and `/user`; `/user/emails` answers `emails`.
async fn mount_github(mock: &MockServer, emails: Value) {
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": GH_TOKEN, "token_type": "bearer", "scope": "read:user,user:email"
        })))
        .mount(mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(bearer_token(GH_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 4242, "login": "octo", "name": "Octo Cat", "avatar_url": "https://avatars.example/u/4242"
        })))
        .mount(mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/emails"))
        .and(bearer_token(GH_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(emails))
        .mount(mock)
        .await;
}

pub(crate) async fn fake_github() -> MockServer {
    let mock = MockServer::start().await;
    mount_github(&mock, octo_emails()).await;
    mock
}

/// The provider's authorization URL from a 303 that starts a flow.
fn authorize_url(res: &reqwest::Response) -> Url {
    assert_eq!(
        res.status(),
        303,
        "a flow starts with a redirect to the provider"
    );
    Url::parse(&location(res)).expect("absolute authorization URL")
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The provider sends the browser back with a code and the state it was given.
async fn come_back(b: &Browser, slug: &str, code: &str, state: &str) -> reqwest::Response {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", state)
        .finish();
    b.get(&format!("/auth/callback/{slug}?{q}")).await
}

/// GET /auth/{slug}/start, then straight back with `code` (the fake's authorize page is skipped).
async fn sign_in_with(b: &Browser, slug: &str, code: &str) -> (Url, reqwest::Response) {
    let res = b.get(&format!("/auth/{slug}/start")).await;
    let url = authorize_url(&res);
    let state = param(&url, "state").expect("state in the authorization URL");
    let back = come_back(b, slug, code, &state).await;
    (url, back)
}

/// POST /auth/{slug}/link from the methods page, then back with `code`.
async fn link_with(b: &Browser, slug: &str, code: &str) -> reqwest::Response {
    let res = b.post(&format!("/auth/{slug}/link"), &[]).await;
    let url = authorize_url(&res);
    let state = param(&url, "state").expect("state in the authorization URL");
    come_back(b, slug, code, &state).await
}

async fn status_and_body(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn all_users(app: &TestApp) -> Vec<User> {
    app.query(|c| {
        users::table
            .select(User::as_select())
            .order(users::created_at.asc())
            .load(c)
    })
    .await
}

async fn accounts_of(app: &TestApp, user_id: impl std::fmt::Display) -> Vec<Account> {
    let id = UserId::from_db(user_id.to_string());
    app.query(move |c| Account::for_user(c, &id)).await
}

async fn account(app: &TestApp, provider: &str, subject: &str) -> Option<Account> {
    let (p, s) = (provider.to_string(), subject.to_string());
    app.query(move |c| Account::find_by_provider(c, &p, &s))
        .await
}

/// Which user the browser's session cookie belongs to.
async fn session_user(app: &TestApp, b: &Browser) -> Option<String> {
    let token = b.session_token().await?;
    let hash = portcullis::crypto::sha256_hex(&token);
    app.query(move |c| {
        sessions::table
            .filter(sessions::token_hash.eq(hash))
            .select(sessions::user_id)
            .first::<String>(c)
            .optional()
    })
    .await
}

async fn provider_row(app: &TestApp, slug: &str) -> Option<IdentityProviderRow> {
    let slug = slug.to_string();
    app.query(move |c| IdentityProviderRow::find(c, &slug))
        .await
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn requests_to(mock: &MockServer, p: &str) -> Vec<wiremock::Request> {
    mock.received_requests()
        .await
        .expect("request recording on")
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

fn header_value<'a>(r: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

async fn sign_out(b: &Browser) {
    let res = b.post("/logout", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        b.get("/account").await.status(),
        303,
        "signed out: /account sends to the sign-in page"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. GitHub

async fn github_sign_up_creates_a_verified_user_with_pkce_and_bearer_calls(backend: Backend) {
    let mock = fake_github().await;
    let app = spawn_app(backend).await;
    add_provider(&app, github_spec(&mock)).await;
    let b = app.browser();

    // The sign-in page offers the provider.
    let login = b.get("/login").await.text().await.unwrap();
    assert!(
        login.contains("Continue with GitHub") && login.contains("/auth/github/start"),
        "{login}"
    );

    let res = b.get("/auth/github/start").await;
    let set_cookie: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        set_cookie
            .iter()
            .any(|c| c.starts_with("portcullis_upstream=") && c.contains("HttpOnly")),
        "{set_cookie:?}"
    );
    let url = authorize_url(&res);
    assert_eq!(
        format!("{}://{}", url.scheme(), url.authority()),
        mock.uri()
    );
    assert_eq!(url.path(), "/login/oauth/authorize");
    assert_eq!(param(&url, "client_id").as_deref(), Some(GH_CLIENT));
    assert_eq!(param(&url, "response_type").as_deref(), Some("code"));
    let redirect_uri = format!("{}/auth/callback/github", app.address);
    assert_eq!(
        param(&url, "redirect_uri").as_deref(),
        Some(redirect_uri.as_str())
    );
    assert_eq!(
        param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let challenge = param(&url, "code_challenge").expect("PKCE challenge");
    let scope = param(&url, "scope").unwrap_or_default();
    assert!(
        scope.split(' ').any(|s| s == "read:user") && scope.split(' ').any(|s| s == "user:email"),
        "{scope}"
    );
    assert!(
        !scope.contains("read:org"),
        "no org restriction, no read:org: {scope}"
    );
    let state = param(&url, "state").expect("state");

    let back = come_back(&b, "github", "abc", &state).await;
    assert_eq!(back.status(), 303, "{}", back.text().await.unwrap());
    assert_eq!(location(&back), "/account");
    let account_page = b.get("/account").await;
    assert_eq!(account_page.status(), 200);
    assert!(account_page
        .text()
        .await
        .unwrap()
        .contains("octo@example.com"));

    let users = all_users(&app).await;
    assert_eq!(users.len(), 1);
    let user = &users[0];
    assert_eq!(
        user.email, "octo@example.com",
        "the primary verified address, not the other one"
    );
    assert!(user.email_verified);
    assert_eq!(user.name, "Octo Cat");
    assert_eq!(
        user.image.as_deref(),
        Some("https://avatars.example/u/4242")
    );
    let acc = account(&app, "github", "4242")
        .await
        .expect("account (github, 4242)");
    assert_eq!(acc.user_id, user.id);
    assert_eq!(acc.email.as_deref(), Some("octo@example.com"));
    assert!(acc.password_hash.is_none());
    assert!(
        acc.access_token.is_none(),
        "tokens are not kept unless asked"
    );
    assert_eq!(
        session_user(&app, &b).await.as_deref(),
        Some(user.id.as_str())
    );

    // The token request: the code, the redirect URI, a PKCE verifier matching the challenge, and
    // the client's credentials.
    let token_reqs = requests_to(&mock, "/login/oauth/access_token").await;
    assert_eq!(token_reqs.len(), 1);
    let t = &token_reqs[0];
    assert_eq!(t.method.as_str(), "POST");
    let fields = form_fields(&t.body);
    assert_eq!(field(&fields, "grant_type"), Some("authorization_code"));
    assert_eq!(field(&fields, "code"), Some("abc"));
    assert_eq!(field(&fields, "redirect_uri"), Some(redirect_uri.as_str()));
    let verifier = field(&fields, "code_verifier").expect("PKCE code_verifier sent");
    assert_eq!(
        s256(verifier),
        challenge,
        "the verifier matches the challenge of the authorization URL"
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{GH_CLIENT}:{GH_SECRET}"))
    );
    let creds_in_body = field(&fields, "client_id") == Some(GH_CLIENT)
        && field(&fields, "client_secret") == Some(GH_SECRET);
    assert!(
        header_value(t, "authorization") == Some(basic.as_str()) || creds_in_body,
        "client credentials sent: {:?} {}",
        t.headers,
        String::from_utf8_lossy(&t.body)
    );

    // The API calls carry the access token as a bearer and a User-Agent (GitHub refuses requests
    // without one).
    for p in ["/user", "/user/emails"] {
        let reqs = requests_to(&mock, p).await;
        assert_eq!(reqs.len(), 1, "{p} called once");
        assert_eq!(
            header_value(&reqs[0], "authorization"),
            Some("Bearer gho_x"),
            "{p}"
        );
        assert!(
            header_value(&reqs[0], "user-agent").is_some_and(|ua| !ua.trim().is_empty()),
            "{p} has a User-Agent"
        );
    }
    assert!(
        requests_to(&mock, "/user/orgs").await.is_empty(),
        "orgs are only read when restricted"
    );

    // The same state cannot be used twice.
    let replay = come_back(&b, "github", "abc", &state).await;
    assert_eq!(replay.status(), 400);

    // Signing in again finds the same user.
    let other = app.browser();
    let (_, again) = sign_in_with(&other, "github", "abc2").await;
    assert_eq!(again.status(), 303);
    assert_eq!(all_users(&app).await.len(), 1);
    assert_eq!(
        session_user(&app, &other).await.as_deref(),
        Some(user.id.as_str())
    );
}

async fn github_without_a_verified_primary_email_is_refused_and_writes_nothing(backend: Backend) {
    let mock = MockServer::start().await;
    let app = spawn_app(backend).await;
    add_provider(&app, github_spec(&mock)).await;
    let cases = [
        ("no addresses at all", json!([])),
        (
            "the primary address is unverified",
            json!([
                { "email": "octo@example.com", "primary": true, "verified": false, "visibility": "private" },
                { "email": "octo-other@example.com", "primary": false, "verified": true, "visibility": null },
            ]),
        ),
    ];
    for (what, emails) in cases {
        mock.reset().await;
        mount_github(&mock, emails).await;
        let b = app.browser();
        let (_, res) = sign_in_with(&b, "github", "abc").await;
        let (status, html) = status_and_body(res).await;
        assert!((400..500).contains(&status), "{what}: {status}");
        assert!(
            html.contains("did not share a verified email"),
            "{what}: {html}"
        );
        assert!(all_users(&app).await.is_empty(), "{what}: no user written");
        let n: i64 = app
            .query(|c| {
                portcullis::db::schema::accounts::table
                    .count()
                    .get_result(c)
            })
            .await;
        assert_eq!(n, 0, "{what}: no account written");
        assert!(b.session_token().await.is_none(), "{what}: not signed in");
    }
}

async fn github_org_restriction_admits_members_only(backend: Backend) {
    let mock = MockServer::start().await;
    let app = spawn_app(backend).await;
    add_provider(&app, github_at(mock.uri(), vec!["acme".into()])).await;

    // Not a member.
    mount_github(&mock, octo_emails()).await;
    Mock::given(method("GET"))
        .and(path("/user/orgs"))
        .and(bearer_token(GH_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "login": "other" }])))
        .mount(&mock)
        .await;
    let b = app.browser();
    let (url, res) = sign_in_with(&b, "github", "abc").await;
    let scope = param(&url, "scope").unwrap_or_default();
    assert!(
        scope.split(' ').any(|s| s == "read:org"),
        "restricted to orgs: asks for read:org ({scope})"
    );
    assert!(scope.split(' ').any(|s| s == "user:email"), "{scope}");
    let (status, html) = status_and_body(res).await;
    assert_eq!(status, 403, "{html}");
    assert!(
        html.contains("acme"),
        "the page says which organisation: {html}"
    );
    assert!(all_users(&app).await.is_empty());
    assert!(b.session_token().await.is_none());
    let orgs = requests_to(&mock, "/user/orgs").await;
    assert_eq!(orgs.len(), 1);
    assert_eq!(
        header_value(&orgs[0], "authorization"),
        Some("Bearer gho_x")
    );

    // A member.
    mock.reset().await;
    mount_github(&mock, octo_emails()).await;
    Mock::given(method("GET"))
        .and(path("/user/orgs"))
        .and(bearer_token(GH_TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{ "login": "tools" }, { "login": "acme" }])),
        )
        .mount(&mock)
        .await;
    let b = app.browser();
    let (_, res) = sign_in_with(&b, "github", "abc").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    let users = all_users(&app).await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email, "octo@example.com");
    assert_eq!(
        session_user(&app, &b).await.as_deref(),
        Some(users[0].id.as_str())
    );
}

async fn github_failures_are_clear_pages_never_500(backend: Backend) {
    let mock = MockServer::start().await;
    let app = spawn_app(backend).await;
    add_provider(&app, github_spec(&mock)).await;

    // /user answers 500.
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": GH_TOKEN, "token_type": "bearer" })),
        )
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&mock)
        .await;
    let b = app.browser();
    let (_, res) = sign_in_with(&b, "github", "abc").await;
    let (status, html) = status_and_body(res).await;
    assert!(
        (400..500).contains(&status) || status == 502,
        "a provider failure is a 4xx or 502 page, got {status}"
    );
    assert!(
        html.contains("GitHub") && html.contains("Sign-in did not complete"),
        "{html}"
    );
    assert!(all_users(&app).await.is_empty());
    assert!(b.session_token().await.is_none());

    // The token endpoint answers like GitHub does for a bad code: 200 with an error object.
    mock.reset().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."
        })))
        .mount(&mock)
        .await;
    let (_, res) = sign_in_with(&app.browser(), "github", "stale").await;
    let (status, html) = status_and_body(res).await;
    assert!(
        (400..500).contains(&status) || status == 502,
        "a refused code is a 4xx or 502 page, got {status}: {html}"
    );
    assert!(html.contains("Sign-in did not complete"), "{html}");

    // The token endpoint cannot be reached at all.
    let down = NewProvider {
        slug: "github-down".into(),
        display_name: "GitHub Down".into(),
        ..github_at("http://127.0.0.1:1".into(), Vec::new())
    };
    add_provider(&app, down).await;
    let b = app.browser();
    let (url, res) = sign_in_with(&b, "github-down", "abc").await;
    assert!(
        url.as_str()
            .starts_with("http://127.0.0.1:1/login/oauth/authorize"),
        "{url}"
    );
    let (status, html) = status_and_body(res).await;
    assert_eq!(status, 502, "{html}");
    assert!(html.contains("GitHub Down could not be reached"), "{html}");
    assert!(all_users(&app).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// 2. Generic OAuth 2.0

async fn mount_oauth2(mock: &MockServer, code: &str, token: &str, userinfo: Value) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains(format!("code={code}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "access_token": token, "token_type": "bearer", "expires_in": 3600 }),
        ))
        .mount(mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/me"))
        .and(bearer_token(token))
        .respond_with(ResponseTemplate::new(200).set_body_json(userinfo))
        .mount(mock)
        .await;
}

async fn generic_oauth2_reads_nested_claims_and_lowercases_the_email(backend: Backend) {
    let mock = MockServer::start().await;
    mount_oauth2(&mock, "abc", "gen-at", json!({ "data": { "id": 77, "mail": "Gen@Example.com", "confirmed": true, "display": "Gen" } })).await;
    let app = spawn_app(backend).await;
    add_provider(&app, oauth2_spec(&mock, "gen", "Generic")).await;
    let b = app.browser();
    assert!(b
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("Continue with Generic"));

    let (url, res) = sign_in_with(&b, "gen", "abc").await;
    assert!(
        url.as_str()
            .starts_with(&format!("{}/oauth/authorize?", mock.uri())),
        "{url}"
    );
    assert_eq!(param(&url, "client_id").as_deref(), Some("gen-client"));
    assert_eq!(
        param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let challenge = param(&url, "code_challenge").unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(location(&res), "/account");
    assert_eq!(b.get("/account").await.status(), 200);

    let users = all_users(&app).await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email, "gen@example.com", "stored lowercased");
    assert!(users[0].email_verified, "data.confirmed = true");
    assert_eq!(users[0].name, "Gen");
    assert!(users[0].image.is_none());
    let acc = account(&app, "gen", "77")
        .await
        .expect("account (gen, \"77\"): the number becomes text");
    assert_eq!(acc.user_id, users[0].id);
    assert_eq!(
        session_user(&app, &b).await.as_deref(),
        Some(users[0].id.as_str())
    );

    let token_reqs = requests_to(&mock, "/oauth/token").await;
    assert_eq!(token_reqs.len(), 1);
    let fields = form_fields(&token_reqs[0].body);
    assert_eq!(field(&fields, "code"), Some("abc"));
    assert_eq!(
        s256(field(&fields, "code_verifier").expect("PKCE verifier")),
        challenge
    );
    let info = requests_to(&mock, "/api/me").await;
    assert_eq!(info.len(), 1);
    assert_eq!(
        header_value(&info[0], "authorization"),
        Some("Bearer gen-at")
    );
}

async fn generic_oauth2_userinfo_without_subject_is_refused(backend: Backend) {
    let mock = MockServer::start().await;
    mount_oauth2(
        &mock,
        "abc",
        "gen-at",
        json!({ "data": { "mail": "gen@example.com", "confirmed": true, "display": "Gen" } }),
    )
    .await;
    let app = spawn_app(backend).await;
    add_provider(&app, oauth2_spec(&mock, "gen", "Generic")).await;
    let b = app.browser();
    let (_, res) = sign_in_with(&b, "gen", "abc").await;
    let (status, html) = status_and_body(res).await;
    assert!(
        (400..500).contains(&status),
        "missing subject: a 4xx page, got {status}: {html}"
    );
    assert!(
        html.contains("Generic") && html.contains("Sign-in did not complete"),
        "{html}"
    );
    assert!(all_users(&app).await.is_empty());
    assert!(b.session_token().await.is_none());
}

// ---------------------------------------------------------------------------------------------
// 3. Linking rules across providers

async fn linking_across_providers_passwords_and_unlink_rules(backend: Backend) {
    let gh = fake_github().await;
    let forge = MockServer::start().await;
    // Two different people at the OAuth2 provider, told apart by the code they come back with.
    mount_oauth2(&forge, "first", "tok-a", json!({ "data": { "id": 77, "mail": "octo-work@example.net", "confirmed": true, "display": "Octo at work" } })).await;
    mount_oauth2(&forge, "second", "tok-b", json!({ "data": { "id": 88, "mail": "solo@example.com", "confirmed": true, "display": "Solo" } })).await;
    let app = spawn_app(backend).await;
    add_provider(&app, github_spec(&gh)).await;
    add_provider(&app, oauth2_spec(&forge, "forge", "Forge")).await;

    // Octo signs up with GitHub.
    let b = app.browser();
    let (_, res) = sign_in_with(&b, "github", "abc").await;
    assert_eq!(res.status(), 303);
    let octo = all_users(&app).await.into_iter().next().expect("user").id;

    // ... and links Forge from the methods page.
    let html = b.get("/account/methods").await.text().await.unwrap();
    assert!(
        html.contains(r#"action="/auth/forge/link""#) && html.contains("Link Forge"),
        "{html}"
    );
    assert!(
        !html.contains(r#"action="/auth/github/link""#),
        "an already linked provider is not offered"
    );
    assert!(
        !html.contains("/account/methods/unlink"),
        "the only method has no unlink button: {html}"
    );
    let unsafe_link = b
        .post_raw("/auth/forge/link", &[("csrf_token", "forged")])
        .await;
    assert_ne!(unsafe_link.status(), 303, "linking needs the CSRF token");
    let res = link_with(&b, "forge", "first").await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(location(&res), "/account/methods?notice=linked");
    assert_eq!(session_user(&app, &b).await.as_deref(), Some(octo.as_str()));
    assert_eq!(
        account(&app, "forge", "77").await.expect("linked").user_id,
        octo
    );
    assert_eq!(
        all_users(&app).await.len(),
        1,
        "linking never creates a user"
    );
    let html = b
        .get("/account/methods?notice=linked")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("The sign-in method has been linked.")
            && html.contains("Forge")
            && html.contains("GitHub"),
        "{html}"
    );

    // Octo sets a password: none exists, so no current password is asked.
    let page = b.get("/account/password").await.text().await.unwrap();
    assert!(
        page.contains("Set a password") && !page.contains("current_password"),
        "{page}"
    );
    let res = b
        .post(
            "/account/password",
            &[("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(location(&res), "/account/password?notice=password");
    let credential = accounts_of(&app, &octo)
        .await
        .into_iter()
        .find(|a| a.provider_id == CREDENTIAL_PROVIDER)
        .expect("credential account");
    assert!(credential.password_hash.is_some());

    // Password and GitHub both lead to the same user.
    sign_out(&b).await;
    let res = b.login("octo@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(session_user(&app, &b).await.as_deref(), Some(octo.as_str()));
    sign_out(&b).await;
    let (_, res) = sign_in_with(&b, "github", "abc").await;
    assert_eq!(res.status(), 303);
    assert_eq!(session_user(&app, &b).await.as_deref(), Some(octo.as_str()));
    assert_eq!(all_users(&app).await.len(), 1);

    // Someone else signs up with Forge, and cannot take Octo's GitHub account.
    let solo_b = app.browser();
    let (_, res) = sign_in_with(&solo_b, "forge", "second").await;
    assert_eq!(res.status(), 303);
    let solo = session_user(&app, &solo_b).await.expect("signed in");
    assert_ne!(solo, octo.as_str());
    let (status, html) = status_and_body(link_with(&solo_b, "github", "abc").await).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("already linked to another"), "{html}");
    assert_eq!(
        account(&app, "github", "4242").await.unwrap().user_id,
        octo,
        "GitHub stays with Octo"
    );
    // ... nor unlink Octo's accounts.
    let octo_github = account(&app, "github", "4242").await.unwrap().id;
    let res = solo_b
        .post(
            "/account/methods/unlink",
            &[("account_id", octo_github.as_str())],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert!(account(&app, "github", "4242").await.is_some());

    // Octo unlinks GitHub: the password and Forge remain.
    let html = b.get("/account/methods").await.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"value="{octo_github}""#)),
        "GitHub is removable now: {html}"
    );
    let res = b
        .post(
            "/account/methods/unlink",
            &[("account_id", octo_github.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/methods?notice=unlinked");
    assert!(account(&app, "github", "4242").await.is_none());
    let left: Vec<String> = accounts_of(&app, &octo)
        .await
        .into_iter()
        .map(|a| a.provider_id)
        .collect();
    assert!(
        left.contains(&"forge".to_string()) && left.contains(&CREDENTIAL_PROVIDER.to_string()),
        "{left:?}"
    );
    let res = b.login("octo@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303, "the password still works");

    // Solo has no password and only Forge: unlinking it is refused.
    let solo_forge = account(&app, "forge", "88")
        .await
        .expect("solo's forge account");
    assert_eq!(solo_forge.user_id.as_str(), solo);
    let html = solo_b.get("/account/methods").await.text().await.unwrap();
    assert!(
        !html.contains("/account/methods/unlink"),
        "no unlink button for the last method: {html}"
    );
    let res = solo_b
        .post(
            "/account/methods/unlink",
            &[("account_id", solo_forge.id.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/methods?notice=last");
    assert!(
        account(&app, "forge", "88").await.is_some(),
        "the last method stays"
    );
    let html = solo_b
        .get("/account/methods?notice=last")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("That is your last way to sign in"), "{html}");
    let (_, res) = sign_in_with(&app.browser(), "forge", "second").await;
    assert_eq!(res.status(), 303, "Solo can still sign in");
}

// ---------------------------------------------------------------------------------------------
// 4. The provider CLI

/// Runs the real binary against a test database.
fn portcullis(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("PORTCULLIS_DATABASE__URL", &db.url)
        .env("PORTCULLIS_DATA_DIR", db.data_dir.path())
        .env("PORTCULLIS_ISSUER", "https://id.example.com")
        .env("PORTCULLIS_PASSWORD__LOG_N", "4")
        .env("PORTCULLIS_LOG__FILTER", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_MASTER_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "command failed: {}{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// A server on a database the test prepared.
async fn spawn_on(db: Arc<TestDb>) -> TestApp {
    let settings = test_settings(&db);
    let app = portcullis::startup::Application::build(settings.clone())
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp::attach(address, settings, db)
}

const GH_CLI_SECRET: &str = "gh-cli-secret-Zq81";
const CORP_SECRET: &str = "corp-cli-secret-Wm27";
const FORGE_SECRET: &str = "forge-cli-secret-Xy64";

async fn provider_cli_adds_lists_shows_toggles_and_removes_without_leaking_secrets(
    backend: Backend,
) {
    let db = Arc::new(TestDb::new(backend));
    let out = ok(portcullis(
        &db,
        &[
            "provider",
            "add",
            "github",
            "--client-id",
            "gh-cli-id",
            "--client-secret-stdin",
        ],
        Some(&format!("{GH_CLI_SECRET}\n")),
    ));
    assert!(
        out.contains("https://id.example.com/auth/callback/github"),
        "prints the callback URL: {out}"
    );
    let out = ok(portcullis(
        &db,
        &[
            "provider",
            "add",
            "oidc",
            "--slug",
            "corp",
            "--name",
            "Corp",
            "--issuer",
            "https://sso.example.com",
            "--client-id",
            "corp-id",
            "--client-secret-stdin",
        ],
        Some(&format!("{CORP_SECRET}\n")),
    ));
    assert!(
        out.contains("https://id.example.com/auth/callback/corp"),
        "{out}"
    );
    let out = ok(portcullis(
        &db,
        &[
            "provider",
            "add",
            "oauth2",
            "--slug",
            "forge",
            "--name",
            "Forge",
            "--authorize-url",
            "https://forge.example.com/oauth/authorize",
            "--token-url",
            "https://forge.example.com/oauth/token",
            "--userinfo-url",
            "https://forge.example.com/api/user",
            "--subject-claim",
            "id",
            "--email-claim",
            "email",
            "--client-id",
            "forge-id",
            "--client-secret-stdin",
        ],
        Some(&format!("{FORGE_SECRET}\n")),
    ));
    assert!(
        out.contains("https://id.example.com/auth/callback/forge"),
        "{out}"
    );
    let secrets = [GH_CLI_SECRET, CORP_SECRET, FORGE_SECRET];

    // list --json: every provider, no secret.
    let listed = ok(portcullis(&db, &["provider", "list", "--json"], None));
    for s in secrets {
        assert!(!listed.contains(s), "list --json leaks a secret: {listed}");
    }
    let list: Value = serde_json::from_str(&listed).unwrap();
    let list = list.as_array().expect("a JSON array");
    let slugs: Vec<&str> = list.iter().map(|p| p["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs.len(), 3, "{slugs:?}");
    for (slug, kind, name) in [
        ("github", "github", "GitHub"),
        ("corp", "oidc", "Corp"),
        ("forge", "oauth2", "Forge"),
    ] {
        let p = list
            .iter()
            .find(|p| p["slug"] == slug)
            .unwrap_or_else(|| panic!("{slug} listed"));
        assert_eq!(p["kind"], kind);
        assert_eq!(p["name"], name);
        assert_eq!(p["enabled"], true);
        assert_eq!(p["managed_by"], "cli");
        assert!(p.get("client_secret").is_none(), "{p}");
    }
    let table = ok(portcullis(&db, &["provider", "list"], None));
    assert!(
        table.contains("corp") && table.contains("forge") && table.contains("github"),
        "{table}"
    );

    // show: the details, no secret.
    let shown = ok(portcullis(
        &db,
        &["provider", "show", "corp", "--json"],
        None,
    ));
    for s in secrets {
        assert!(!shown.contains(s), "show --json leaks a secret: {shown}");
    }
    let corp: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(corp["slug"], "corp");
    assert_eq!(corp["kind"], "oidc");
    assert_eq!(corp["issuer"], "https://sso.example.com");
    assert_eq!(corp["client_id"], "corp-id");
    assert!(
        corp["scopes"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "openid"),
        "{corp}"
    );
    let text = ok(portcullis(&db, &["provider", "show", "forge"], None));
    assert!(
        !text.contains(FORGE_SECRET) && text.contains("https://forge.example.com/oauth/token"),
        "{text}"
    );

    // Stored encrypted under the master key, never as plaintext.
    let app = spawn_on(db.clone()).await;
    let mk = master_key(&app);
    let stored: Vec<(String, String, String)> = app
        .query(|c| {
            identity_provider::table
                .select((
                    identity_provider::slug,
                    identity_provider::client_secret,
                    identity_provider::claim_mapping,
                ))
                .load(c)
        })
        .await;
    assert_eq!(stored.len(), 3);
    for (slug, secret, _) in &stored {
        let plain = match slug.as_str() {
            "github" => GH_CLI_SECRET,
            "corp" => CORP_SECRET,
            _ => FORGE_SECRET,
        };
        assert_ne!(secret, plain);
        assert!(
            !secret.contains(plain),
            "{slug}: the column holds the plaintext"
        );
        assert_eq!(
            mk.decrypt(secret).expect("decrypts with the master key"),
            plain.as_bytes(),
            "{slug}"
        );
    }
    let mapping: Value =
        serde_json::from_str(&stored.iter().find(|r| r.0 == "forge").unwrap().2).unwrap();
    assert_eq!(mapping["subject"], "id");
    assert_eq!(mapping["email"], "email");

    // disable hides the button and refuses sign-ins; enable brings it back.
    let b = app.browser();
    assert!(b
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("/auth/github/start"));
    let out = ok(portcullis(&db, &["provider", "disable", "github"], None));
    assert!(out.contains("disabled"), "{out}");
    assert!(!provider_row(&app, "github").await.unwrap().enabled);
    let show: Value = serde_json::from_str(&ok(portcullis(
        &db,
        &["provider", "show", "github", "--json"],
        None,
    )))
    .unwrap();
    assert_eq!(show["enabled"], false);
    assert!(!b
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("/auth/github/start"));
    assert_eq!(b.get("/auth/github/start").await.status(), 404);
    let out = ok(portcullis(&db, &["provider", "enable", "github"], None));
    assert!(out.contains("enabled"), "{out}");
    assert!(provider_row(&app, "github").await.unwrap().enabled);
    assert!(b
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("/auth/github/start"));
    assert_eq!(b.get("/auth/github/start").await.status(), 303);

    // remove.
    let out = ok(portcullis(&db, &["provider", "remove", "corp"], None));
    assert!(out.contains("corp"), "{out}");
    assert!(provider_row(&app, "corp").await.is_none());
    let list: Value =
        serde_json::from_str(&ok(portcullis(&db, &["provider", "list", "--json"], None))).unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert!(
        !slugs.contains(&"corp") && slugs.contains(&"forge") && slugs.contains(&"github"),
        "{slugs:?}"
    );
    assert!(!b
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("Continue with Corp"));
}

async fn provider_cli_errors_are_clear_and_exit_non_zero(backend: Backend) {
    let db = TestDb::new(backend);
    let fails = |args: &[&str], stdin: Option<&str>, expect: &str| {
        let out = portcullis(&db, args, stdin);
        assert!(
            !out.status.success(),
            "{args:?} should fail: {}",
            stdout(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains(expect),
            "{args:?}: expected {expect:?} in {err:?}"
        );
        assert!(!err.contains("panicked"), "{err}");
    };
    fails(
        &[
            "provider",
            "add",
            "oidc",
            "--slug",
            "corp",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some("s3cret\n"),
        "--issuer",
    );
    fails(
        &[
            "provider",
            "add",
            "oauth2",
            "--slug",
            "forge",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some("s3cret\n"),
        "--authorize-url",
    );
    fails(
        &[
            "provider",
            "add",
            "oauth2",
            "--slug",
            "forge",
            "--authorize-url",
            "https://f.example.com/a",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some("s3cret\n"),
        "--token-url",
    );
    fails(
        &[
            "provider",
            "add",
            "oidc",
            "--slug",
            "Bad Slug",
            "--issuer",
            "https://sso.example.com",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some("s3cret\n"),
        "slug",
    );
    fails(
        &[
            "provider",
            "add",
            "oidc",
            "--issuer",
            "https://sso.example.com",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some("s3cret\n"),
        "--slug",
    );
    fails(
        &[
            "provider",
            "add",
            "github",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some(""),
        "client secret",
    );
    fails(
        &[
            "provider",
            "add",
            "myspace",
            "--slug",
            "ms",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some("s3cret\n"),
        "kind",
    );
    fails(
        &[
            "provider",
            "add",
            "oidc",
            "--slug",
            "corp",
            "--issuer",
            "ftp://sso.example.com",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some("s3cret\n"),
        "issuer",
    );

    ok(portcullis(
        &db,
        &[
            "provider",
            "add",
            "github",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        Some("s3cret\n"),
    ));
    fails(
        &[
            "provider",
            "add",
            "github",
            "--client-id",
            "y",
            "--client-secret-stdin",
        ],
        Some("other\n"),
        "already exists",
    );
    fails(
        &[
            "provider",
            "add",
            "oidc",
            "--slug",
            "github",
            "--issuer",
            "https://sso.example.com",
            "--client-id",
            "y",
            "--client-secret-stdin",
        ],
        Some("other\n"),
        "already exists",
    );

    for cmd in ["show", "remove", "enable", "disable"] {
        fails(&["provider", cmd, "nope"], None, "no provider nope");
    }

    // Nothing but the one good provider was written, and it kept its client id.
    let list: Value =
        serde_json::from_str(&ok(portcullis(&db, &["provider", "list", "--json"], None))).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["slug"], "github");
    assert_eq!(list[0]["client_id"], "x");
}

// ---------------------------------------------------------------------------------------------
// 5. Providers from the configuration file

fn static_hub(mock: &MockServer, name: &str, enabled: bool) -> StaticProvider {
    StaticProvider {
        slug: "hub".into(),
        kind: Kind::Github,
        name: Some(name.into()),
        client_id: "cfg-client".into(),
        client_secret: Secret::new("cfg-secret-Lp09"),
        issuer: None,
        authorize_url: Some(mock.uri()),
        token_url: None,
        userinfo_url: Some(mock.uri()),
        scopes: Vec::new(),
        claims: None,
        link_policy: None,
        trust_email: None,
        allowed_domains: Vec::new(),
        hosted_domain: None,
        github_orgs: Vec::new(),
        keep_tokens: false,
        enabled,
    }
}

async fn static_providers_follow_the_config_and_leave_cli_providers_alone(backend: Backend) {
    let mock = fake_github().await;
    let hub = static_hub(&mock, "Config Hub", true);
    let app = spawn_app_with(backend, move |s| s.providers.push(hub)).await;

    let row = provider_row(&app, "hub")
        .await
        .expect("the configured provider exists");
    assert_eq!(row.managed_by, "config");
    assert_eq!(row.kind, "github");
    assert_eq!(row.display_name, "Config Hub");
    assert!(row.enabled);
    assert_ne!(row.client_secret, "cfg-secret-Lp09");
    assert_eq!(
        master_key(&app).decrypt(&row.client_secret).unwrap(),
        b"cfg-secret-Lp09"
    );
    let created_at = row.created_at;
    let b = app.browser();
    let login = b.get("/login").await.text().await.unwrap();
    assert!(
        login.contains("Continue with Config Hub") && login.contains("/auth/hub/start"),
        "{login}"
    );
    let (_, res) = sign_in_with(&b, "hub", "abc").await;
    assert_eq!(
        res.status(),
        303,
        "signing in with the configured provider works"
    );
    assert_eq!(all_users(&app).await.len(), 1);

    // A provider added with the CLI while the server runs.
    ok(portcullis(
        &app.test_db,
        &[
            "provider",
            "add",
            "oauth2",
            "--slug",
            "forge",
            "--name",
            "Forge",
            "--authorize-url",
            "https://forge.example.com/a",
            "--token-url",
            "https://forge.example.com/t",
            "--userinfo-url",
            "https://forge.example.com/u",
            "--client-id",
            "forge-id",
            "--client-secret-stdin",
        ],
        Some("forge-secret\n"),
    ));
    let forge_before = provider_row(&app, "forge").await.expect("CLI provider");
    assert_eq!(forge_before.managed_by, "cli");

    // The config may not take over a CLI provider's slug.
    let mut clash = static_hub(&mock, "Clash", true);
    clash.slug = "forge".into();
    let mk = master_key(&app);
    let err = app
        .db
        .run(move |c| registry::sync_static(c, &mk, &[clash], portcullis::identity::now()))
        .await
        .expect_err("a config provider cannot replace a CLI one");
    assert!(err.to_string().contains("forge"), "{err}");

    // Changing the config updates the provider on the next start.
    let renamed = static_hub(&mock, "Renamed Hub", false);
    let app = app
        .restart_with(move |s| {
            s.providers.clear();
            s.providers.push(renamed);
        })
        .await;
    let row = provider_row(&app, "hub").await.expect("still configured");
    assert_eq!(row.display_name, "Renamed Hub");
    assert!(!row.enabled);
    assert_eq!(row.managed_by, "config");
    assert_eq!(row.created_at, created_at);
    let login = app.browser().get("/login").await.text().await.unwrap();
    assert!(
        !login.contains("/auth/hub/start"),
        "a disabled provider has no button"
    );

    // Removing it from the config removes it; the CLI provider is untouched.
    let app = app.restart_with(|s| s.providers.clear()).await;
    assert!(
        provider_row(&app, "hub").await.is_none(),
        "gone from the config, gone from the database"
    );
    let forge_after = provider_row(&app, "forge")
        .await
        .expect("the CLI provider survives the sync");
    assert_eq!(forge_after.managed_by, "cli");
    assert_eq!(forge_after.display_name, forge_before.display_name);
    assert_eq!(forge_after.client_id, forge_before.client_id);
    assert_eq!(forge_after.client_secret, forge_before.client_secret);
    assert_eq!(forge_after.enabled, forge_before.enabled);
    assert_eq!(forge_after.authorize_url, forge_before.authorize_url);
    assert_eq!(forge_after.updated_at, forge_before.updated_at);
    let b = app.browser();
    let login = b.get("/login").await.text().await.unwrap();
    assert!(
        !login.contains("Config Hub")
            && !login.contains("Renamed Hub")
            && !login.contains("/auth/hub/start"),
        "{login}"
    );
    assert!(login.contains("Continue with Forge"), "{login}");
    assert_eq!(b.get("/auth/hub/start").await.status(), 404);
}

// ---------------------------------------------------------------------------------------------
// 6. The certified reference OP as a real upstream

fn peer_dir() -> PathBuf {
    match std::env::var_os("PEER_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/portcullis-peer"),
    }
}

/// The peer's directory when node and oidc-provider are installed; otherwise one loud note (or a
/// failure when TEST_REQUIRE_PEER=1).
pub(crate) fn peer_ready() -> Option<PathBuf> {
    let dir = peer_dir();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let lib = dir.join("node_modules/oidc-provider").is_dir();
    if node && lib {
        return Some(dir);
    }
    let why = if node {
        format!(
            "{} is missing (run `npm ci` in a copy of ../shared/peer there, or set PEER_DIR)",
            dir.join("node_modules/oidc-provider").display()
        )
    } else {
        "node is not installed".to_string()
    };
    if std::env::var("TEST_REQUIRE_PEER").is_ok_and(|v| v == "1") {
        panic!("TEST_REQUIRE_PEER=1 but {why}");
    }
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        let _ = std::io::stderr().write_all(
            format!("NOTE: reference OP (oidc-provider) upstream test skipped: {why}\n").as_bytes(),
        );
    });
    None
}

/// The running peer; killed when dropped.
pub(crate) struct PeerOp {
    pub(crate) child: std::process::Child,
    pub(crate) issuer: String,
}

impl Drop for PeerOp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PeerOp {
    /// The peer as a generic OIDC provider of Portcullis (slug `peer`, its `idp` client).
    pub(crate) fn provider(&self) -> NewProvider {
        NewProvider {
            display_name: "Reference OP".into(),
            ..NewProvider::new(
                "peer",
                "idp",
                "idp-secret",
                ProviderSpec::Oidc {
                    issuer: self.issuer.clone(),
                },
            )
        }
    }

    pub(crate) async fn start(dir: &Path, redirect_uri: &str) -> PeerOp {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new("node")
            .arg("peer-op.mjs")
            .arg(port.to_string())
            .current_dir(dir)
            .env("PEER_REDIRECTS", redirect_uri)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn node peer-op.mjs");
        let mut peer = PeerOp {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let discovery = format!("{}/.well-known/openid-configuration", peer.issuer);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(res) = http.get(&discovery).send().await {
                if res.status() == 200 {
                    return peer;
                }
            }
            let exited = peer.child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() > deadline {
                let _ = peer.child.kill();
                let _ = peer.child.wait();
                let mut err = String::new();
                if let Some(mut e) = peer.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("the reference OP did not answer at {discovery} within 10 s: {err}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The action of the first form on the page containing `marker`.
fn form_action(html: &str, marker: &str) -> Option<String> {
    html.split("<form")
        .skip(1)
        .map(|f| f.split("</form>").next().unwrap_or(f))
        .find(|f| f.contains(marker))
        .and_then(|f| {
            let start = f.find("action=\"")? + "action=\"".len();
            let end = start + f[start..].find('"')?;
            Some(
                f[start..end]
                    .replace("&amp;", "&")
                    .replace("&#x2F;", "/")
                    .replace("&#47;", "/"),
            )
        })
}

/// What the person went through at the peer.
#[derive(Debug, Default)]
struct PeerVisit {
    login_page: bool,
    consent_page: bool,
}

/// From Portcullis's "Continue with" to the peer and back: follows redirects by hand across both
/// hosts, fills the peer's login and consent forms, and returns Portcullis's callback response.
async fn through_peer(b: &Browser, app: &TestApp, peer: &PeerOp) -> (reqwest::Response, PeerVisit) {
    let res = b.get("/auth/peer/start").await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let mut url = Url::parse(&location(&res)).unwrap();
    assert!(
        url.as_str().starts_with(&format!("{}/auth?", peer.issuer)),
        "sent to the peer's authorization endpoint: {url}"
    );
    assert_eq!(param(&url, "client_id").as_deref(), Some("idp"));
    assert!(param(&url, "scope")
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "openid"));
    assert!(param(&url, "nonce").is_some() && param(&url, "code_challenge").is_some());
    let callback = format!("{}/auth/callback/peer?", app.address);
    let mut visit = PeerVisit::default();
    let mut trail = Vec::new();
    for _ in 0..25 {
        if url.as_str().starts_with(&callback) {
            assert!(param(&url, "code").is_some(), "{url}");
            return (b.client.get(url).send().await.unwrap(), visit);
        }
        assert!(
            url.as_str().starts_with(&peer.issuer),
            "left the peer for {url} (after {trail:?})"
        );
        trail.push(url.to_string());
        let res = b.client.get(url.clone()).send().await.unwrap();
        let res = if res.status().is_redirection() {
            res
        } else {
            let status = res.status();
            let html = res.text().await.unwrap();
            assert_eq!(status, 200, "peer page {url}: {html}");
            let (action, fields): (String, Vec<(&str, &str)>) = if let Some(action) =
                form_action(&html, r#"name="login""#)
            {
                visit.login_page = true;
                (
                    action,
                    vec![
                        ("prompt", "login"),
                        ("login", "alice"),
                        ("password", "anything"),
                    ],
                )
            } else if let Some(action) = form_action(&html, r#"name="prompt" value="consent""#) {
                visit.consent_page = true;
                (action, vec![("prompt", "consent")])
            } else {
                panic!("unexpected page at the peer ({url}): {html}");
            };
            let target = url.join(&action).unwrap();
            assert!(target.path().starts_with("/interaction/"), "{target}");
            let res = b
                .client
                .post(target.clone())
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert!(
                res.status().is_redirection(),
                "POST {target}: {} {}",
                res.status(),
                res.text().await.unwrap()
            );
            res
        };
        let next = location(&res);
        url = url.join(&next).unwrap();
    }
    panic!("too many redirects: {trail:?}");
}

async fn certified_peer_op_works_as_an_upstream_oidc_issuer(backend: Backend) {
    let Some(dir) = peer_ready() else { return };
    let app = spawn_app(backend).await;
    let peer = PeerOp::start(&dir, &format!("{}/auth/callback/peer", app.address)).await;
    add_provider(&app, peer.provider()).await;
    let b = app.browser();
    assert!(b
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("Continue with Reference OP"));

    // First visit: the peer's login page, then its consent page, then back.
    let (res, visit) = through_peer(&b, &app, &peer).await;
    assert!(visit.login_page && visit.consent_page, "{visit:?}");
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(location(&res), "/account");
    let users = all_users(&app).await;
    assert_eq!(users.len(), 1);
    let alice = users[0].clone();
    assert_eq!(alice.email, "alice@example.com");
    assert!(alice.email_verified);
    assert_eq!(alice.name, "Alice Upstream");
    assert_eq!(
        account(&app, "peer", "alice")
            .await
            .expect("account (peer, alice)")
            .user_id,
        alice.id
    );
    assert_eq!(
        session_user(&app, &b).await.as_deref(),
        Some(alice.id.as_str())
    );
    let page = b.get("/account").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("alice@example.com"));

    // Alice sets a password, and it signs her into the same user.
    let form = b.get("/account/password").await.text().await.unwrap();
    assert!(form.contains("Set a password"), "{form}");
    let res = b
        .post(
            "/account/password",
            &[("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    sign_out(&b).await;
    let res = b.login("alice@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        session_user(&app, &b).await.as_deref(),
        Some(alice.id.as_str())
    );

    // And the peer again, into the same user.
    sign_out(&b).await;
    let (res, _) = through_peer(&b, &app, &peer).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(location(&res), "/account");
    assert_eq!(
        session_user(&app, &b).await.as_deref(),
        Some(alice.id.as_str())
    );
    assert_eq!(all_users(&app).await.len(), 1);
    assert_eq!(b.get("/account").await.status(), 200);
    drop(peer);
}
