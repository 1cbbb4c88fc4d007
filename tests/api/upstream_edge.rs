//! The federation edge (issue 13, point 5): a link flow ends only in the session that started
//! it; the flow cookie is `__Host-` prefixed under an https issuer; discovery documents with
//! non-web endpoints are refused; upstream answers are read with a size limit; a mapped "email
//! verified" claim counts only as the boolean `true`; RFC 9207 `iss` is checked.

use portcullis::upstream::config::ProviderSpec;
use portcullis::upstream::registry::NewProvider;
use serde_json::{json, Value};
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fake_google::{person, FakeGoogle};
use crate::helpers::*;
use crate::upstream_oidc::{
    add_provider, callback_path, counts, env, env_with, failure_page, google_account, session_of,
    set_cookie, signed_in, user, Env, START,
};

backend_tests!(
    // A link flow belongs to the session that started it.
    a_link_finished_after_signing_out_links_nothing_and_signs_nobody_in,
    a_link_finished_after_another_person_signed_in_links_nothing,
    // The flow cookie under an https issuer.
    the_flow_cookie_is_host_prefixed_when_the_issuer_is_https,
    // Discovery documents.
    discovery_documents_with_non_web_endpoints_are_refused,
    // Size limits.
    an_oversized_token_response_is_a_clear_provider_error,
    oversized_discovery_and_api_answers_are_clear_provider_errors,
    // Mapped claims.
    a_mapped_email_verified_string_is_not_a_verified_email,
    // RFC 9207.
    iss_is_required_and_checked_when_the_provider_advertises_it,
    an_iss_from_another_issuer_is_refused_even_unadvertised,
);

/// More than the 1 MiB an upstream answer may be.
const OVER_LIMIT: usize = 1024 * 1024 + 1;

async fn sign_out(b: &Browser) {
    let res = b.post("/logout", &[]).await;
    assert_eq!(res.status(), 303);
    assert!(!signed_in(b).await);
}

// ---- a link flow belongs to the session that started it ----

async fn a_link_finished_after_signing_out_links_nothing_and_signs_nobody_in(backend: Backend) {
    let env = env(backend).await;
    let b = signed_up(&env.app, "ada@example.com").await;
    let auth = env.start_link(&b).await;
    env.google
        .answer_with_person(&auth, &person("g-ada", "ada.lovelace@gmail.com"))
        .await;
    sign_out(&b).await;
    let before = counts(&env.app).await;

    let res = env.callback(&b, &auth).await;
    let html = failure_page(res, 400).await;
    assert!(
        html.contains("Linking was started in a session that has since ended"),
        "{html}"
    );
    assert!(
        google_account(&env.app, "g-ada").await.is_none(),
        "nothing linked"
    );
    assert_eq!(counts(&env.app).await, before, "nothing written");
    assert!(!signed_in(&b).await, "nobody signed in");
    assert_eq!(
        env.google.token_requests().await,
        0,
        "the code was never redeemed"
    );

    // The state was used up: the same callback cannot be tried again later.
    let res = env.callback(&b, &auth).await;
    failure_page(res, 400).await;
    assert!(google_account(&env.app, "g-ada").await.is_none());
}

async fn a_link_finished_after_another_person_signed_in_links_nothing(backend: Backend) {
    let env = env(backend).await;
    let b = signed_up(&env.app, "ada@example.com").await;
    let auth = env.start_link(&b).await;
    env.google
        .answer_with_person(&auth, &person("g-ada", "ada.lovelace@gmail.com"))
        .await;
    sign_out(&b).await;
    let res = b.signup("Bob", "bob@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let bob = user(&env.app, "bob@example.com").await;
    let bobs_session = session_of(&env.app, &b).await;

    let res = env.callback(&b, &auth).await;
    let html = failure_page(res, 400).await;
    assert!(
        html.contains("Linking was started in a session that has since ended"),
        "{html}"
    );
    assert!(google_account(&env.app, "g-ada").await.is_none());
    let now = session_of(&env.app, &b).await;
    assert_eq!(now.id, bobs_session.id, "Bob's session is untouched");
    assert_eq!(
        now.user_id, bob.id,
        "the browser is not signed into Ada's account"
    );

    // The same person signing in again is a new session: still not the one that started.
    sign_out(&b).await;
    assert_eq!(b.login("ada@example.com", PASSWORD).await.status(), 303);
    let auth = env.start_link(&b).await;
    env.google
        .answer_with_person(&auth, &person("g-ada", "ada.lovelace@gmail.com"))
        .await;
    sign_out(&b).await;
    assert_eq!(b.login("ada@example.com", PASSWORD).await.status(), 303);
    let res = env.callback(&b, &auth).await;
    failure_page(res, 400).await;
    assert!(google_account(&env.app, "g-ada").await.is_none());

    // Started and finished in one session, linking works.
    let res = env
        .link(&b, &person("g-ada", "ada.lovelace@gmail.com"))
        .await;
    assert_eq!(location(&res), "/account/methods?notice=linked");
    let ada = user(&env.app, "ada@example.com").await;
    assert_eq!(
        google_account(&env.app, "g-ada").await.unwrap().user_id,
        ada.id
    );
}

// ---- the flow cookie ----

/// Every `Set-Cookie` of a response, raw.
fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

async fn the_flow_cookie_is_host_prefixed_when_the_issuer_is_https(backend: Backend) {
    let env = env_with(
        backend,
        |s| s.issuer = "https://id.example.com".into(),
        |_| {},
    )
    .await;
    let b = env.app.browser();
    let res = b.get(START).await;
    assert_eq!(res.status(), 303);
    let cookies = set_cookies(&res);
    let flow = cookies
        .iter()
        .find(|c| c.starts_with("__Host-portcullis_upstream="))
        .unwrap_or_else(|| panic!("a __Host- flow cookie: {cookies:?}"));
    let attrs: Vec<&str> = flow.split("; ").collect();
    assert!(attrs.contains(&"Secure"), "{flow}");
    assert!(attrs.contains(&"Path=/"), "{flow}");
    assert!(attrs.contains(&"HttpOnly"), "{flow}");
    assert!(
        !flow.to_ascii_lowercase().contains("domain="),
        "host-only: {flow}"
    );
    assert!(
        !cookies
            .iter()
            .any(|c| c.starts_with("portcullis_upstream=")),
        "no unprefixed flow cookie: {cookies:?}"
    );
    let sealed = set_cookie(&res, "__Host-portcullis_upstream").unwrap();
    let auth = env.google.authorization(&location(&res));
    env.google
        .answer_with_person(&auth, &person("g-ada", "ada@gmail.com"))
        .await;

    // The browser would send it only over https; the test sends it by hand.
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = format!(
        "{}{}",
        env.app.address,
        callback_path(&auth.code, &auth.state)
    );
    // The same value without the prefix is what a sibling subdomain could plant: ignored.
    let res = raw
        .get(&back)
        .header("cookie", format!("portcullis_upstream={sealed}"))
        .send()
        .await
        .unwrap();
    failure_page(res, 400).await;
    assert_eq!(counts(&env.app).await.users, 0);

    let res = raw
        .get(&back)
        .header("cookie", format!("__Host-portcullis_upstream={sealed}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let removal = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("__Host-portcullis_upstream="))
        .expect("the flow cookie is cleared");
    assert!(
        removal.contains("Secure") && removal.contains("Path=/") && removal.contains("Max-Age=0"),
        "a __Host- removal must itself be Secure and for /: {removal}"
    );
    assert_eq!(counts(&env.app).await.users, 1);
}

// ---- discovery documents ----

/// An OpenID Connect issuer on wiremock whose discovery document is `doc` (with `issuer` and a
/// JWKS added), registered as provider `slug`.
async fn odd_issuer(app: &TestApp, slug: &str, doc: impl FnOnce(&str) -> Value) -> MockServer {
    let mock = MockServer::start().await;
    let mut doc = doc(&mock.uri());
    doc["issuer"] = json!(mock.uri());
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": [] })))
        .mount(&mock)
        .await;
    add_provider(
        app,
        NewProvider {
            display_name: "Odd SSO".into(),
            ..NewProvider::new(
                slug,
                "odd-client",
                "odd-secret",
                ProviderSpec::Oidc { issuer: mock.uri() },
            )
        },
    )
    .await;
    mock
}

fn discovery_doc(issuer: &str) -> Value {
    json!({
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

async fn discovery_documents_with_non_web_endpoints_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: [(&str, &str, &str); 4] = [
        (
            "js",
            "authorization_endpoint",
            "javascript:alert(document.cookie)//",
        ),
        (
            "data",
            "authorization_endpoint",
            "data:text/html,<script>alert(1)</script>",
        ),
        ("tok", "token_endpoint", "javascript:alert(1)"),
        ("keys", "jwks_uri", "data:application/json,{\"keys\":[]}"),
    ];
    for (slug, field, value) in cases {
        odd_issuer(&app, slug, |issuer| {
            let mut doc = discovery_doc(issuer);
            doc[field] = json!(value);
            doc
        })
        .await;
        let res = app.browser().get(&format!("/auth/{slug}/start")).await;
        assert!(
            location(&res).is_empty(),
            "{field} = {value}: the browser is not sent anywhere"
        );
        let html = failure_page(res, 502).await;
        assert!(
            html.contains("Odd SSO published settings we cannot use"),
            "{field} = {value}: {html}"
        );
    }
    // The same provider with web endpoints works: the refusal is about the scheme.
    odd_issuer(&app, "fine", discovery_doc).await;
    let res = app.browser().get("/auth/fine/start").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("http://127.0.0.1:"));
}

// ---- size limits ----

async fn an_oversized_token_response_is_a_clear_provider_error(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    let p = person("g-ada", "ada@gmail.com");
    let id_token = env.google.key.sign(&env.google.claims(&auth, &p));
    // A valid token response, padded past the limit: read whole, it would sign Ada in.
    let body = json!({
        "access_token": "at",
        "token_type": "Bearer",
        "expires_in": 3599,
        "id_token": id_token,
        "padding": "x".repeat(OVER_LIMIT),
    });
    env.google
        .answer_token(&auth, ResponseTemplate::new(200).set_body_json(body))
        .await;
    let res = env.callback(&b, &auth).await;
    let html = failure_page(res, 502).await;
    assert!(
        html.contains("Google sent an answer larger than we accept"),
        "{html}"
    );
    assert_eq!(counts(&env.app).await.users, 0);
    assert!(!signed_in(&b).await);
}

async fn oversized_discovery_and_api_answers_are_clear_provider_errors(backend: Backend) {
    let app = spawn_app(backend).await;

    // A discovery document padded past the limit.
    odd_issuer(&app, "big", |issuer| {
        let mut doc = discovery_doc(issuer);
        doc["padding"] = json!("x".repeat(OVER_LIMIT));
        doc
    })
    .await;
    let res = app.browser().get("/auth/big/start").await;
    let html = failure_page(res, 502).await;
    assert!(
        html.contains("Odd SSO sent an answer larger than we accept"),
        "{html}"
    );

    // GitHub's /user padded past the limit.
    let gh = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "access_token": "gho_big", "token_type": "bearer", "scope": "read:user,user:email" }),
        ))
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(bearer_token("gho_big"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 4242, "login": "octo", "bio": "x".repeat(OVER_LIMIT)
        })))
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/emails"))
        .and(bearer_token("gho_big"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!([{ "email": "octo@example.com", "primary": true, "verified": true }]),
        ))
        .mount(&gh)
        .await;
    add_provider(&app, crate::upstream_more::github_spec(&gh)).await;
    let b = app.browser();
    let res = sign_in_with(&b, "github", "c1").await;
    let html = failure_page(res, 502).await;
    assert!(
        html.contains("GitHub sent an answer larger than we accept"),
        "{html}"
    );
    assert_eq!(counts(&app).await.users, 0);
}

/// Starts a sign-in with `slug` and comes straight back with `code` (no fake authorize page).
async fn sign_in_with(b: &Browser, slug: &str, code: &str) -> reqwest::Response {
    let res = b.get(&format!("/auth/{slug}/start")).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let url = url::Url::parse(&location(&res)).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state in the authorization URL");
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", &state)
        .finish();
    b.get(&format!("/auth/callback/{slug}?{q}")).await
}

// ---- mapped claims ----

async fn a_mapped_email_verified_string_is_not_a_verified_email(backend: Backend) {
    let app = spawn_app(backend).await;
    // Only the address proves Ada's account: a trusted, verified address would link it.
    let ada = crate::upstream_oidc::address_only_user(&app, "ada@example.com").await;
    let forge = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "access_token": "forge-at", "token_type": "bearer", "expires_in": 3600 }),
        ))
        .mount(&forge)
        .await;
    // A profile whose "confirmed" is the text "true" (say, a field the user typed in).
    Mock::given(method("GET"))
        .and(path("/api/me"))
        .and(bearer_token("forge-at"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": { "id": 9, "mail": "ada@example.com", "confirmed": "true", "display": "Not Ada" }
        })))
        .mount(&forge)
        .await;
    add_provider(
        &app,
        NewProvider {
            display_name: "Forge".into(),
            trust_email: Some(true),
            ..NewProvider::new(
                "forge",
                "forge-client",
                "forge-secret",
                ProviderSpec::Oauth2 {
                    authorize_url: format!("{}/oauth/authorize", forge.uri()),
                    token_url: format!("{}/oauth/token", forge.uri()),
                    userinfo_url: format!("{}/api/me", forge.uri()),
                    claims: portcullis::upstream::config::ClaimMapping {
                        subject: "data.id".into(),
                        email: "data.mail".into(),
                        email_verified: Some("data.confirmed".into()),
                        name: "data.display".into(),
                        picture: "data.avatar".into(),
                    },
                },
            )
        },
    )
    .await;
    let b = app.browser();
    let res = sign_in_with(&b, "forge", "c1").await;
    let (status, to) = (res.status().as_u16(), location(&res));
    assert_eq!(
        (status, to.as_str()),
        (303, "/link"),
        "held for proof, not linked by email: {}",
        res.text().await.unwrap()
    );
    let id = ada.id.clone();
    let accounts = app
        .query(move |c| portcullis::db::models::Account::for_user(c, &id))
        .await;
    assert!(
        accounts.iter().all(|a| a.provider_id != "forge"),
        "Forge not linked to Ada: {accounts:?}"
    );
    assert!(!signed_in(&b).await, "nobody signed in as Ada");
}

// ---- RFC 9207 ----

/// The fake Google's discovery document, now also promising `iss` in authorization responses.
async fn advertise_iss(google: &FakeGoogle) {
    let issuer = google.issuer();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_response_iss_parameter_supported": true,
        })))
        .with_priority(1)
        .mount(&google.server)
        .await;
}

/// Google's answer to a fresh sign-in as Ada, coming back with `iss` (when given).
async fn come_back_with_iss(env: &Env, b: &Browser, iss: Option<&str>) -> reqwest::Response {
    let auth = env.start(b, START).await;
    env.google
        .answer_with_person(&auth, &person("g-ada", "ada@gmail.com"))
        .await;
    let mut back = callback_path(&auth.code, &auth.state);
    if let Some(iss) = iss {
        let iss: String = url::form_urlencoded::byte_serialize(iss.as_bytes()).collect();
        back.push_str(&format!("&iss={iss}"));
    }
    b.get(&back).await
}

async fn iss_is_required_and_checked_when_the_provider_advertises_it(backend: Backend) {
    let env = env(backend).await;
    advertise_iss(&env.google).await;
    let b = env.app.browser();

    let html = failure_page(come_back_with_iss(&env, &b, None).await, 400).await;
    assert!(html.contains("lacks its issuer"), "{html}");
    let html = failure_page(
        come_back_with_iss(&env, &b, Some("https://evil.example")).await,
        400,
    )
    .await;
    assert!(html.contains("came from another issuer"), "{html}");
    assert_eq!(
        env.google.token_requests().await,
        0,
        "no code was sent to the token endpoint"
    );
    assert_eq!(counts(&env.app).await.users, 0);

    let issuer = env.google.issuer();
    let res = come_back_with_iss(&env, &b, Some(&issuer)).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert!(signed_in(&b).await);
}

async fn an_iss_from_another_issuer_is_refused_even_unadvertised(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let html = failure_page(
        come_back_with_iss(&env, &b, Some("https://evil.example")).await,
        400,
    )
    .await;
    assert!(html.contains("came from another issuer"), "{html}");
    assert_eq!(env.google.token_requests().await, 0);

    // Not advertised and not sent: accepted, as before RFC 9207.
    let res = come_back_with_iss(&env, &b, None).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
}
