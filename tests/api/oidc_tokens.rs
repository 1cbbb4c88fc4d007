//! Tokens after the authorization: refresh rotation, client credentials, signing algorithms,
//! introspection (RFC 7662), revocation (RFC 7009), UserInfo errors (RFC 6750), token endpoint
//! errors, key rotation and discovery. Raw HTTP where the `openidconnect` crate cannot go
//! (plain-http revocation and introspection), the crate itself where an RP would use it.

use std::time::Duration;

use base64::Engine;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{AccessTokenHash, OAuth2TokenResponse, TokenResponse};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::rp::{self, drive, Outcome};

backend_tests!(
    // 1. Refresh rotation and reuse detection; code and refresh token lifetimes.
    refresh_rotates_the_token_and_reusing_a_rotated_one_revokes_the_family,
    an_expired_authorization_code_is_invalid_grant,
    an_expired_refresh_token_is_invalid_grant_and_introspects_inactive,
    // 2. Refresh tokens are bound to their client.
    concurrent_refreshes_with_one_token_yield_at_most_one_new_pair,
    refresh_token_of_another_client_is_invalid_grant_and_stays_usable_by_its_owner,
    // 3. When refresh tokens are issued at all.
    refresh_token_is_issued_only_with_offline_access_or_always_issue_refresh,
    client_without_the_refresh_grant_gets_no_refresh_token_and_cannot_refresh,
    // 4. Client credentials.
    client_credentials_issues_a_signed_jwt_access_token_for_the_client_itself,
    client_credentials_token_is_signed_with_the_clients_es256_key,
    client_credentials_is_refused_without_the_grant_and_for_public_clients,
    // 5. ES256 and EdDSA ID tokens.
    es256_client_gets_an_id_token_that_openidconnect_verifies,
    eddsa_client_gets_an_id_token_that_openidconnect_verifies,
    access_tokens_can_use_another_alg_than_id_tokens_and_at_hash_follows_the_id_token,
    client_credentials_with_an_es256_access_token_alg_is_active_at_introspection,
    // 6. Introspection.
    introspection_describes_a_live_access_token_and_the_clients_own_refresh_token,
    introspection_reports_revoked_garbage_and_foreign_signed_tokens_inactive,
    introspection_reports_an_expired_access_token_inactive,
    introspection_does_not_describe_another_clients_refresh_token,
    introspection_requires_a_confidential_authenticated_client,
    // 7. Revocation.
    revoking_an_access_token_stops_it_at_userinfo_and_introspection,
    revocation_answers_200_for_unknown_and_foreign_tokens_without_touching_them,
    revocation_without_a_token_is_invalid_request,
    // 8. UserInfo.
    userinfo_without_a_token_is_a_bare_bearer_challenge,
    userinfo_with_a_bad_token_is_invalid_token,
    userinfo_accepts_the_token_in_a_form_body_but_not_in_two_places,
    userinfo_refuses_a_client_credentials_token,
    userinfo_claims_follow_the_granted_scopes,
    userinfo_accepts_a_token_signed_with_a_key_another_replica_started_using,
    // 9. Token endpoint errors.
    token_endpoint_errors_are_json_and_never_500,
    // 10. Key rotation.
    key_rotation_publishes_new_kids_keeps_the_old_ones_and_signs_with_the_new,
    // 11. Discovery, JWKS and CORS.
    discovery_documents_agree_and_match_the_snapshot,
    jwks_is_public_and_every_key_is_identified,
    json_endpoints_answer_cors_requests_and_preflights,
);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A registered client: its id and, for a confidential one, its secret.
#[derive(Debug, Clone)]
struct Creds {
    id: String,
    secret: Option<String>,
}

async fn register(app: &TestApp, spec: portcullis::oidc::clients::ClientSpec) -> Creds {
    let (id, secret) = rp::register(app, spec).await;
    Creds { id, secret }
}

async fn default_client(app: &TestApp, name: &str) -> Creds {
    register(app, rp::spec(name)).await
}

/// A client that may only use client_credentials (no redirect URIs needed).
fn machine_spec(name: &str) -> portcullis::oidc::clients::ClientSpec {
    let mut spec = rp::spec(name);
    spec.redirect_uris = vec![];
    spec.post_logout_redirect_uris = vec![];
    spec.grant_types = vec!["client_credentials".into()];
    spec
}

/// A JSON answer: status, headers and body (`Null` when the body is empty).
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    async fn from(res: reqwest::Response) -> Answer {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("status {status}: not JSON: {text}"))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn error(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {} {}", self.status, self.body))
    }
}

/// POSTs a form to `path`, authenticating as `creds` (Basic for confidential clients,
/// `client_id` in the body for public ones; no authentication with `None`).
async fn post_form(
    app: &TestApp,
    path: &str,
    creds: Option<&Creds>,
    form: &[(&str, &str)],
) -> Answer {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut req = reqwest::Client::new().post(format!("{}{}", app.address, path));
    match creds {
        Some(Creds {
            id,
            secret: Some(secret),
        }) => req = req.basic_auth(id, Some(secret)),
        Some(Creds { id, secret: None }) => fields.push(("client_id", id.as_str())),
        None => {}
    }
    Answer::from(req.form(&fields).send().await.unwrap()).await
}

async fn token(app: &TestApp, creds: &Creds, form: &[(&str, &str)]) -> Answer {
    post_form(app, "/token", Some(creds), form).await
}

async fn refresh(app: &TestApp, creds: &Creds, refresh_token: &str) -> Answer {
    token(
        app,
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

async fn introspect(app: &TestApp, creds: &Creds, tok: &str) -> Answer {
    post_form(app, "/introspect", Some(creds), &[("token", tok)]).await
}

async fn revoke(app: &TestApp, creds: &Creds, tok: &str) -> Answer {
    post_form(app, "/revoke", Some(creds), &[("token", tok)]).await
}

async fn userinfo(app: &TestApp, access_token: &str) -> Answer {
    let res = reqwest::Client::new()
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    Answer::from(res).await
}

async fn get_json(app: &TestApp, path: &str) -> Answer {
    Answer::from(
        reqwest::Client::new()
            .get(format!("{}{}", app.address, path))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn jwks(app: &TestApp) -> Vec<Value> {
    let answer = get_json(app, "/jwks").await;
    assert_eq!(answer.status, 200);
    answer.body["keys"].as_array().expect("keys array").clone()
}

/// Runs the authorization request in the signed-in browser (consenting if asked) and returns
/// the code.
async fn authorize(app: &TestApp, b: &Browser, client_id: &str, scope: &str) -> String {
    let scope: String = url::form_urlencoded::byte_serialize(scope.as_bytes()).collect();
    let url = format!(
        "{}/authorize?client_id={client_id}&redirect_uri={}&response_type=code&scope={scope}&state=st",
        app.address,
        rp::REDIRECT
    );
    let Outcome::Callback(cb) = drive(b, &url, Some("allow")).await else {
        panic!("no callback for {url}")
    };
    cb.code().to_string()
}

/// The code flow for a confidential client: the token response.
async fn code_flow(app: &TestApp, b: &Browser, creds: &Creds, scope: &str) -> Value {
    let code = authorize(app, b, &creds.id, scope).await;
    let answer = token(
        app,
        creds,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", rp::REDIRECT),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

/// One part of a compact JWS, decoded: 0 = header, 1 = claims.
fn jwt_part(token: &str, i: usize) -> Value {
    let part = token
        .split('.')
        .nth(i)
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn jwk_by_kid<'a>(keys: &'a [Value], kid: &str) -> Option<&'a Value> {
    keys.iter().find(|k| k["kid"] == kid)
}

fn kty_for(alg: &str) -> &'static str {
    match alg {
        "RS256" => "RSA",
        "ES256" => "EC",
        "EdDSA" => "OKP",
        other => panic!("unexpected alg {other}"),
    }
}

/// Verifies a JWT's signature against the published JWKS with `jsonwebtoken`.
fn verify_with_jwks(token: &str, keys: &[Value]) -> Value {
    let header = jwt_part(token, 0);
    let jwk = jwk_by_kid(keys, str_of(&header, "kid")).expect("kid in JWKS");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let alg: jsonwebtoken::Algorithm = str_of(&header, "alg").parse().unwrap();
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("signature verifies against the JWKS")
        .claims
}

/// A token with one signature character changed (in the middle, so no padding bits hide it).
fn tamper_signature(token: &str) -> String {
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = sig.chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    format!("{head}.{}", sig.into_iter().collect::<String>())
}

/// The same signature on a different payload (subject changed).
fn swap_payload(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = jwt_part(token, 1);
    claims["sub"] = json!("usr_someone_else");
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// A well-formed access token signed with a key that is not ours (HS256, a secret we made up),
/// naming one of the server's own kids.
fn foreign_signed(like: &str, app: &TestApp) -> String {
    let original = jwt_part(like, 0);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(str_of(&original, "kid").to_string());
    header.typ = Some("at+jwt".into());
    let now = chrono::Utc::now().timestamp();
    let mut claims = jwt_part(like, 1);
    claims["iss"] = json!(app.address);
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 3600);
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-servers-secret-at-all-32b"),
    )
    .unwrap()
}

/// The same, with a kid the server never issued.
fn foreign_signed_unknown_kid(like: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("attacker-kid".into());
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(
        &header,
        &jwt_part(like, 1),
        &jsonwebtoken::EncodingKey::from_secret(b"another-made-up-secret-value-xyz"),
    )
    .unwrap()
}

fn assert_no_store(answer: &Answer) {
    assert_eq!(
        answer.header("cache-control"),
        Some("no-store"),
        "Cache-Control on {} {}",
        answer.status,
        answer.body
    );
}

// ---------------------------------------------------------------------------------------------
// 1–3. Refresh tokens
// ---------------------------------------------------------------------------------------------

/// Ends the lifetime of every row of `table` (codes, refresh tokens) a second ago: the lifetime
/// rules are unit-tested at an explicit `now` in `oidc::token`; here HTTP sees them, no waiting.
macro_rules! expire_all {
    ($app:expr, $table:ident) => {{
        use diesel::prelude::*;
        use portcullis::db::schema::$table;
        let past = portcullis::identity::now() - chrono::Duration::seconds(1);
        $app.query(move |conn| {
            diesel::update($table::table)
                .set($table::expires_at.eq(past))
                .execute(conn)
        })
        .await
    }};
}

async fn an_expired_authorization_code_is_invalid_grant(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Late").await;
    let code = authorize(&app, &b, &client.id, "openid").await;
    assert_eq!(expire_all!(app, authorization_code), 1);
    let answer = token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", rp::REDIRECT),
        ],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_grant");
    assert!(answer.body.get("access_token").is_none());
}

async fn an_expired_refresh_token_is_invalid_grant_and_introspects_inactive(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Dormant").await;
    let tokens = code_flow(&app, &b, &client, "openid offline_access").await;
    let rt = str_of(&tokens, "refresh_token");
    assert_eq!(introspect(&app, &client, rt).await.body["active"], true);
    assert_eq!(expire_all!(app, refresh_token), 1);
    assert_eq!(introspect(&app, &client, rt).await.body["active"], false);
    let answer = refresh(&app, &client, rt).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_grant");
    assert!(answer.body.get("refresh_token").is_none());
}

async fn refresh_rotates_the_token_and_reusing_a_rotated_one_revokes_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Rotating").await;
    let first = code_flow(&app, &b, &client, "openid offline_access").await;
    let rt0 = str_of(&first, "refresh_token").to_string();

    let second = refresh(&app, &client, &rt0).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_no_store(&second);
    assert_eq!(second.body["token_type"], "Bearer");
    assert!(second.body["expires_in"].as_i64().is_some_and(|s| s > 0));
    let rt1 = str_of(&second.body, "refresh_token").to_string();
    assert_ne!(rt1, rt0, "each refresh returns a new refresh token");
    assert_ne!(
        str_of(&second.body, "access_token"),
        str_of(&first, "access_token")
    );

    let third = refresh(&app, &client, &rt1).await;
    assert_eq!(third.status, 200, "{}", third.body);
    let rt2 = str_of(&third.body, "refresh_token").to_string();
    let at2 = str_of(&third.body, "access_token").to_string();
    assert!(rt2 != rt1 && rt2 != rt0);

    // The newest pair works before the replay; the rotated tokens are no longer current.
    assert_eq!(userinfo(&app, &at2).await.status, 200);
    assert_eq!(
        introspect(&app, &client, &rt0).await.body["active"],
        false,
        "rotated"
    );
    assert_eq!(
        introspect(&app, &client, &rt1).await.body["active"],
        false,
        "rotated"
    );
    assert_eq!(introspect(&app, &client, &rt2).await.body["active"], true);
    assert_eq!(introspect(&app, &client, &at2).await.body["active"], true);

    // A rotated token presented again: refused, and the whole family goes.
    let replay = refresh(&app, &client, &rt1).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(replay.error(), "invalid_grant");

    let at2_info = userinfo(&app, &at2).await;
    assert_eq!(
        at2_info.status, 401,
        "newest access token revoked with the family"
    );
    assert_eq!(introspect(&app, &client, &at2).await.body["active"], false);
    assert_eq!(introspect(&app, &client, &rt2).await.body["active"], false);
    let newest = refresh(&app, &client, &rt2).await;
    assert_eq!(newest.status, 400, "{}", newest.body);
    assert_eq!(newest.error(), "invalid_grant");
    // The oldest one is dead too.
    assert_eq!(refresh(&app, &client, &rt0).await.error(), "invalid_grant");
    assert_eq!(
        userinfo(&app, str_of(&first, "access_token")).await.status,
        401
    );
}

async fn concurrent_refreshes_with_one_token_yield_at_most_one_new_pair(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Racy").await;
    let tokens = code_flow(&app, &b, &client, "openid offline_access").await;
    let rt = str_of(&tokens, "refresh_token").to_string();

    let attempts = (0..5).map(|_| refresh(&app, &client, &rt));
    let answers = futures_util::future::join_all(attempts).await;
    for a in &answers {
        assert!(
            matches!(a.status, 200 | 400),
            "no server error under concurrency: {} {}",
            a.status,
            a.body
        );
        if a.status == 400 {
            assert_eq!(a.error(), "invalid_grant");
        }
    }
    let winners: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert!(
        winners.len() <= 1,
        "one refresh token, at most one new pair: {} succeeded",
        winners.len()
    );
    // The losers were replays, so whatever the winner got is revoked with the family.
    for w in winners {
        assert_eq!(
            userinfo(&app, str_of(&w.body, "access_token")).await.status,
            401
        );
        assert_eq!(
            introspect(&app, &client, str_of(&w.body, "refresh_token"))
                .await
                .body["active"],
            false
        );
    }
}

async fn refresh_token_of_another_client_is_invalid_grant_and_stays_usable_by_its_owner(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let a = default_client(&app, "Owner").await;
    let other = default_client(&app, "Thief").await;
    let tokens = code_flow(&app, &b, &a, "openid offline_access").await;
    let rt = str_of(&tokens, "refresh_token");

    let stolen = refresh(&app, &other, rt).await;
    assert_eq!(stolen.status, 400, "{}", stolen.body);
    assert_eq!(stolen.error(), "invalid_grant");

    let own = refresh(&app, &a, rt).await;
    assert_eq!(
        own.status, 200,
        "the owner's token survives another client's attempt: {}",
        own.body
    );
    assert!(own.body["refresh_token"].is_string());
    assert_eq!(
        userinfo(&app, str_of(&own.body, "access_token"))
            .await
            .status,
        200
    );
}

async fn refresh_token_is_issued_only_with_offline_access_or_always_issue_refresh(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let plain = default_client(&app, "Plain").await;
    let without = code_flow(&app, &b, &plain, "openid profile").await;
    assert!(
        without.get("refresh_token").is_none(),
        "no offline_access, no refresh token: {without}"
    );
    let with = code_flow(&app, &b, &plain, "openid offline_access").await;
    assert!(
        with["refresh_token"].is_string(),
        "offline_access gives a refresh token: {with}"
    );

    let mut spec = rp::spec("Always");
    spec.always_issue_refresh = true;
    let always = register(&app, spec).await;
    let tokens = code_flow(&app, &b, &always, "openid").await;
    let rt = str_of(&tokens, "refresh_token");
    assert_eq!(refresh(&app, &always, rt).await.status, 200);
}

async fn client_without_the_refresh_grant_gets_no_refresh_token_and_cannot_refresh(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let mut spec = rp::spec("CodeOnly");
    spec.grant_types = vec!["authorization_code".into()];
    let code_only = register(&app, spec).await;
    let tokens = code_flow(&app, &b, &code_only, "openid offline_access").await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");

    let mut spec = rp::spec("CodeOnlyAlways");
    spec.grant_types = vec!["authorization_code".into()];
    spec.always_issue_refresh = true;
    let always = register(&app, spec).await;
    let tokens = code_flow(&app, &b, &always, "openid offline_access").await;
    assert!(
        tokens.get("refresh_token").is_none(),
        "the setting does not override the grant types: {tokens}"
    );

    // A genuine refresh token of a client that has the grant, presented by the one that has not.
    let full = default_client(&app, "Full").await;
    let rt = str_of(
        &code_flow(&app, &b, &full, "openid offline_access").await,
        "refresh_token",
    )
    .to_string();
    let answer = refresh(&app, &code_only, &rt).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "unauthorized_client");
    let answer = refresh(&app, &code_only, "some-refresh-token").await;
    assert_eq!(answer.error(), "unauthorized_client");
}

// ---------------------------------------------------------------------------------------------
// 4. Client credentials
// ---------------------------------------------------------------------------------------------

async fn client_credentials_issues_a_signed_jwt_access_token_for_the_client_itself(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let machine = register(&app, machine_spec("Batch job")).await;
    let answer = token(
        &app,
        &machine,
        &[("grant_type", "client_credentials"), ("scope", "api")],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_no_store(&answer);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert!(answer.body["expires_in"].as_i64().is_some_and(|s| s > 0));
    assert_eq!(answer.body["scope"], "api");
    assert!(
        answer.body.get("id_token").is_none() && answer.body.get("refresh_token").is_none(),
        "{}",
        answer.body
    );

    let at = str_of(&answer.body, "access_token");
    let header = jwt_part(at, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    let keys = jwks(&app).await;
    let jwk = jwk_by_kid(&keys, str_of(&header, "kid")).expect("kid in JWKS");
    assert_eq!(jwk["alg"], "RS256");

    let claims = verify_with_jwks(at, &keys);
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["sub"], machine.id.as_str());
    assert_eq!(claims["client_id"], machine.id.as_str());
    assert_eq!(claims["scope"], "api");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat, "{claims}");

    // The client may introspect and revoke its own token; nobody else can revoke it.
    let described = introspect(&app, &machine, at).await;
    assert_eq!(described.body["active"], true, "{}", described.body);
    assert_eq!(described.body["sub"], machine.id.as_str());
    assert_eq!(described.body["client_id"], machine.id.as_str());
    assert_eq!(described.body["scope"], "api");
    let other = register(&app, machine_spec("Other job")).await;
    assert_eq!(revoke(&app, &other, at).await.status, 200);
    assert_eq!(
        introspect(&app, &machine, at).await.body["active"],
        true,
        "another client cannot revoke it"
    );
    assert_eq!(revoke(&app, &machine, at).await.status, 200);
    assert_eq!(
        introspect(&app, &machine, at).await.body["active"],
        false,
        "revoked by its client"
    );
}

async fn client_credentials_token_is_signed_with_the_clients_es256_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut spec = machine_spec("EC job");
    spec.id_token_alg = "ES256".into();
    let machine = register(&app, spec).await;
    let answer = token(
        &app,
        &machine,
        &[("grant_type", "client_credentials"), ("scope", "api")],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let at = str_of(&answer.body, "access_token");
    let header = jwt_part(at, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    let keys = jwks(&app).await;
    let jwk = jwk_by_kid(&keys, str_of(&header, "kid")).expect("kid in JWKS");
    assert_eq!(jwk["alg"], "ES256");
    assert_eq!(jwk["kty"], "EC");
    let claims = verify_with_jwks(at, &keys);
    assert_eq!(claims["sub"], machine.id.as_str());
}

async fn client_credentials_is_refused_without_the_grant_and_for_public_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let code_client = default_client(&app, "Web app").await;
    let answer = token(
        &app,
        &code_client,
        &[("grant_type", "client_credentials"), ("scope", "api")],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "unauthorized_client");
    assert!(answer.body.get("access_token").is_none());

    let mut spec = rp::spec("Spa");
    spec.public = true;
    let public = register(&app, spec).await;
    assert!(public.secret.is_none());
    let answer = token(
        &app,
        &public,
        &[("grant_type", "client_credentials"), ("scope", "api")],
    )
    .await;
    assert!(
        matches!(answer.status, 400 | 401),
        "{} {}",
        answer.status,
        answer.body
    );
    assert!(
        ["invalid_client", "unauthorized_client"].contains(&answer.error()),
        "{}",
        answer.body
    );
    assert!(answer.body.get("access_token").is_none());
}

// ---------------------------------------------------------------------------------------------
// 5. ES256 and EdDSA ID tokens
// ---------------------------------------------------------------------------------------------

async fn id_token_with_alg_verifies(
    backend: Backend,
    alg: &str,
    expected: CoreJwsSigningAlgorithm,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let mut spec = rp::spec(&format!("{alg} app"));
    spec.id_token_alg = alg.into();
    let (_, tokens, sub) = code_flow_with_verified_id_token(&app, &b, spec, expected).await;
    assert!(sub.starts_with("usr_"));
    let id_token = tokens.id_token().expect("id token");

    // The header's kid names a published key of the same type, algorithm and use.
    let header = jwt_part(&id_token.to_string(), 0);
    assert_eq!(header["alg"], alg);
    let keys = jwks(&app).await;
    let jwk = jwk_by_kid(&keys, str_of(&header, "kid")).expect("kid in JWKS");
    assert_eq!(jwk["kty"], kty_for(alg));
    assert_eq!(jwk["alg"], alg);
    assert_eq!(jwk["use"], "sig");
    assert_eq!(
        keys.iter().filter(|k| k["kid"] == header["kid"]).count(),
        1,
        "kid is unique"
    );

    // The access token of this client is signed the same way and works.
    assert_eq!(jwt_part(tokens.access_token().secret(), 0)["alg"], alg);
    assert_eq!(
        userinfo(&app, tokens.access_token().secret()).await.status,
        200
    );
}

/// Registers `spec` and runs the code flow through openidconnect: the ID token must carry the
/// `expected` algorithm, verify against the JWKS and hold the right `at_hash`. Returns the
/// client, the tokens and the verified subject.
async fn code_flow_with_verified_id_token(
    app: &TestApp,
    b: &Browser,
    spec: portcullis::oidc::clients::ClientSpec,
    expected: CoreJwsSigningAlgorithm,
) -> (Creds, openidconnect::core::CoreTokenResponse, String) {
    let (id, secret) = rp::register(app, spec).await;
    let rp = rp::rp(app, &id, secret.as_deref()).await;
    let started = rp.start(&["profile"], true, &[]);
    let Outcome::Callback(cb) = drive(b, &started.url, Some("allow")).await else {
        panic!("no callback")
    };
    let tokens = rp
        .exchange(cb.code(), started.verifier)
        .await
        .expect("exchange");
    let id_token = tokens.id_token().expect("id token");
    assert_eq!(id_token.signing_alg().unwrap(), &expected);
    let verifier = rp
        .client
        .id_token_verifier()
        .set_allowed_algs(vec![expected]);
    let claims = id_token
        .claims(&verifier, &started.nonce)
        .expect("the ID token verifies");
    let key = id_token
        .signing_key(&verifier)
        .expect("signing key from JWKS");
    let at_hash =
        AccessTokenHash::from_token(tokens.access_token(), id_token.signing_alg().unwrap(), key)
            .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    let sub = claims.subject().as_str().to_string();
    (Creds { id, secret }, tokens, sub)
}

async fn es256_client_gets_an_id_token_that_openidconnect_verifies(backend: Backend) {
    id_token_with_alg_verifies(backend, "ES256", CoreJwsSigningAlgorithm::EcdsaP256Sha256).await
}

async fn eddsa_client_gets_an_id_token_that_openidconnect_verifies(backend: Backend) {
    id_token_with_alg_verifies(backend, "EdDSA", CoreJwsSigningAlgorithm::EdDsa).await
}

/// EdDSA ID token (at_hash from SHA-512) over an RS256 access token: the hash follows the ID
/// token's algorithm, not the access token's, or certified RPs reject the ID token.
async fn access_tokens_can_use_another_alg_than_id_tokens_and_at_hash_follows_the_id_token(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let mut spec = rp::spec("Split algs");
    spec.id_token_alg = "EdDSA".into();
    spec.access_token_alg = Some("RS256".into());
    spec.always_issue_refresh = true;
    let (creds, tokens, sub) =
        code_flow_with_verified_id_token(&app, &b, spec, CoreJwsSigningAlgorithm::EdDsa).await;

    let at = tokens.access_token().secret();
    let header = jwt_part(at, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    let keys = jwks(&app).await;
    assert_eq!(
        jwk_by_kid(&keys, str_of(&header, "kid")).expect("kid in JWKS")["alg"],
        "RS256"
    );
    assert_eq!(verify_with_jwks(at, &keys)["sub"], sub.as_str());
    assert_eq!(userinfo(&app, at).await.status, 200);

    // Refreshed tokens keep the split.
    let refresh = tokens.refresh_token().expect("always_issue_refresh");
    let again = token(
        &app,
        &creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.secret()),
        ],
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        jwt_part(str_of(&again.body, "access_token"), 0)["alg"],
        "RS256"
    );
    assert_eq!(jwt_part(str_of(&again.body, "id_token"), 0)["alg"], "EdDSA");
}

async fn client_credentials_with_an_es256_access_token_alg_is_active_at_introspection(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let mut spec = machine_spec("Fast job");
    spec.access_token_alg = Some("ES256".into());
    let machine = register(&app, spec).await;
    let answer = token(
        &app,
        &machine,
        &[("grant_type", "client_credentials"), ("scope", "api")],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let at = str_of(&answer.body, "access_token");
    assert_eq!(jwt_part(at, 0)["alg"], "ES256");
    let keys = jwks(&app).await;
    assert_eq!(verify_with_jwks(at, &keys)["sub"], machine.id.as_str());
    let described = introspect(&app, &machine, at).await;
    assert_eq!(described.body["active"], true, "{}", described.body);
    assert_eq!(revoke(&app, &machine, at).await.status, 200);
    assert_eq!(introspect(&app, &machine, at).await.body["active"], false);
}

// ---------------------------------------------------------------------------------------------
// 6. Introspection (RFC 7662)
// ---------------------------------------------------------------------------------------------

async fn introspection_describes_a_live_access_token_and_the_clients_own_refresh_token(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Resource").await;
    let tokens = code_flow(&app, &b, &client, "openid email offline_access").await;
    let at = str_of(&tokens, "access_token");
    let sub = str_of(&userinfo(&app, at).await.body, "sub").to_string();

    let answer = introspect(&app, &client, at).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_no_store(&answer);
    let v = &answer.body;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["sub"], sub.as_str());
    assert_eq!(v["client_id"], client.id.as_str());
    assert_eq!(v["iss"], app.address.as_str());
    assert!(
        v["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "{v}"
    );
    let scope: Vec<&str> = str_of(v, "scope").split(' ').collect();
    for s in ["openid", "email", "offline_access"] {
        assert!(scope.contains(&s), "{s} in {v}");
    }
    let (iat, exp) = (
        v["iat"].as_i64().expect("iat"),
        v["exp"].as_i64().expect("exp"),
    );
    assert!(exp > iat);

    let answer = introspect(&app, &client, str_of(&tokens, "refresh_token")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["active"], true, "{}", answer.body);
    assert_eq!(answer.body["client_id"], client.id.as_str());
    assert_eq!(answer.body["sub"], sub.as_str());
}

async fn introspection_reports_revoked_garbage_and_foreign_signed_tokens_inactive(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Resource").await;
    let live = code_flow(&app, &b, &client, "openid").await;
    let live_at = str_of(&live, "access_token").to_string();
    assert_eq!(
        introspect(&app, &client, &live_at).await.body["active"],
        true
    );

    let inactive = |answer: Answer, what: &str| {
        assert_eq!(answer.status, 200, "{what}: {}", answer.body);
        assert_eq!(
            answer.body,
            json!({ "active": false }),
            "{what}: only active=false is said"
        );
    };
    inactive(introspect(&app, &client, "garbage").await, "garbage");
    inactive(
        introspect(&app, &client, "not.a.jwt").await,
        "dotted garbage",
    );
    inactive(
        introspect(&app, &client, &tamper_signature(&live_at)).await,
        "altered signature",
    );
    inactive(
        introspect(&app, &client, &swap_payload(&live_at)).await,
        "payload under another token's signature",
    );
    inactive(
        introspect(&app, &client, &foreign_signed(&live_at, &app)).await,
        "HS256 with our kid",
    );
    inactive(
        introspect(&app, &client, &foreign_signed_unknown_kid(&live_at)).await,
        "foreign kid",
    );

    let doomed = code_flow(&app, &b, &client, "openid").await;
    let doomed_at = str_of(&doomed, "access_token");
    assert_eq!(revoke(&app, &client, doomed_at).await.status, 200);
    inactive(introspect(&app, &client, doomed_at).await, "revoked");

    // The live one is untouched by all this.
    assert_eq!(
        introspect(&app, &client, &live_at).await.body["active"],
        true
    );
}

async fn introspection_reports_an_expired_access_token_inactive(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.oidc.access_token_ttl_secs = 1).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Short").await;
    let tokens = code_flow(&app, &b, &client, "openid").await;
    assert_eq!(tokens["expires_in"], 1);
    let at = str_of(&tokens, "access_token");
    // A JWT's `exp` is checked against the clock (whole seconds, no leeway): wait until it has
    // passed, and no longer.
    let exp = jwt_part(at, 1)["exp"].as_i64().expect("exp");
    let expired_at = std::time::UNIX_EPOCH + Duration::from_secs(exp as u64 + 1);
    if let Ok(wait) = expired_at.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    let answer = introspect(&app, &client, at).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["active"], false, "{}", answer.body);
    assert_eq!(userinfo(&app, at).await.status, 401);
}

async fn introspection_does_not_describe_another_clients_refresh_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let owner = default_client(&app, "Owner").await;
    let other = default_client(&app, "Other").await;
    let tokens = code_flow(&app, &b, &owner, "openid offline_access").await;
    let rt = str_of(&tokens, "refresh_token");
    let answer = introspect(&app, &other, rt).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({ "active": false }));
    assert_eq!(introspect(&app, &owner, rt).await.body["active"], true);
}

async fn introspection_requires_a_confidential_authenticated_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Resource").await;
    let tokens = code_flow(&app, &b, &client, "openid").await;
    let at = str_of(&tokens, "access_token");

    let anonymous = post_form(&app, "/introspect", None, &[("token", at)]).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.error(), "invalid_client");
    assert!(anonymous.body.get("active").is_none());

    let wrong = Creds {
        id: client.id.clone(),
        secret: Some("wrong-secret".into()),
    };
    let answer = introspect(&app, &wrong, at).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.error(), "invalid_client");
    assert!(answer
        .header("www-authenticate")
        .is_some_and(|c| c.starts_with("Basic")));

    let mut spec = rp::spec("Spa");
    spec.public = true;
    let public = register(&app, spec).await;
    let answer = introspect(&app, &public, at).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_client");
    assert!(answer.body.get("active").is_none());
}

// ---------------------------------------------------------------------------------------------
// 7. Revocation (RFC 7009)
// ---------------------------------------------------------------------------------------------

async fn revoking_an_access_token_stops_it_at_userinfo_and_introspection(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Revoker").await;
    let tokens = code_flow(&app, &b, &client, "openid offline_access").await;
    let at = str_of(&tokens, "access_token");
    assert_eq!(userinfo(&app, at).await.status, 200);

    let answer = revoke(&app, &client, at).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(userinfo(&app, at).await.status, 401);
    assert_eq!(introspect(&app, &client, at).await.body["active"], false);
    // Revoking twice is still fine.
    assert_eq!(revoke(&app, &client, at).await.status, 200);
}

async fn revocation_answers_200_for_unknown_and_foreign_tokens_without_touching_them(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let owner = default_client(&app, "Owner").await;
    let other = default_client(&app, "Other").await;
    let tokens = code_flow(&app, &b, &owner, "openid offline_access").await;
    let at = str_of(&tokens, "access_token");
    let rt = str_of(&tokens, "refresh_token");

    assert_eq!(revoke(&app, &owner, "no-such-token").await.status, 200);
    assert_eq!(revoke(&app, &owner, "no.such.token").await.status, 200);

    assert_eq!(revoke(&app, &other, at).await.status, 200);
    assert_eq!(revoke(&app, &other, rt).await.status, 200);
    assert_eq!(
        userinfo(&app, at).await.status,
        200,
        "another client cannot revoke the owner's access token"
    );
    assert_eq!(introspect(&app, &owner, at).await.body["active"], true);
    let refreshed = refresh(&app, &owner, rt).await;
    assert_eq!(
        refreshed.status, 200,
        "another client cannot revoke the owner's refresh token: {}",
        refreshed.body
    );
}

async fn revocation_without_a_token_is_invalid_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = default_client(&app, "Forgetful").await;
    let answer = post_form(
        &app,
        "/revoke",
        Some(&client),
        &[("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_request");
}

// ---------------------------------------------------------------------------------------------
// 8. UserInfo (OIDC Core §5.3, RFC 6750)
// ---------------------------------------------------------------------------------------------

async fn userinfo_without_a_token_is_a_bare_bearer_challenge(backend: Backend) {
    let app = spawn_app(backend).await;
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let res = reqwest::Client::new()
            .request(method.clone(), format!("{}/userinfo", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{method}");
        let challenge = res
            .headers()
            .get("www-authenticate")
            .expect("challenge")
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
        assert!(
            !challenge.contains("error"),
            "no error when no token was sent (RFC 6750 §3.1): {challenge}"
        );
    }
}

async fn userinfo_with_a_bad_token_is_invalid_token(backend: Backend) {
    let app = spawn_app(backend).await;
    for bad in ["garbage", "a.b.c"] {
        let answer = userinfo(&app, bad).await;
        assert_eq!(answer.status, 401, "{bad}");
        let challenge = answer.header("www-authenticate").expect("challenge");
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
}

async fn userinfo_accepts_the_token_in_a_form_body_but_not_in_two_places(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Poster").await;
    let tokens = code_flow(&app, &b, &client, "openid").await;
    let at = str_of(&tokens, "access_token");
    let http = reqwest::Client::new();
    let url = format!("{}/userinfo", app.address);

    let in_body = Answer::from(
        http.post(&url)
            .form(&[("access_token", at)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(in_body.status, 200, "{}", in_body.body);
    assert!(str_of(&in_body.body, "sub").starts_with("usr_"));

    let in_header_post = Answer::from(http.post(&url).bearer_auth(at).send().await.unwrap()).await;
    assert_eq!(in_header_post.status, 200);
    assert_eq!(in_header_post.body, in_body.body);

    let both = Answer::from(
        http.post(&url)
            .bearer_auth(at)
            .form(&[("access_token", at)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(both.status, 400, "{}", both.body);
    assert_eq!(both.error(), "invalid_request");
}

async fn userinfo_refuses_a_client_credentials_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let machine = register(&app, machine_spec("Batch job")).await;
    let answer = token(&app, &machine, &[("grant_type", "client_credentials")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let info = userinfo(&app, str_of(&answer.body, "access_token")).await;
    assert_eq!(
        info.status, 401,
        "no user behind a client_credentials token: {}",
        info.body
    );
    assert!(info
        .header("www-authenticate")
        .is_some_and(|c| c.contains("invalid_token")));
}

async fn userinfo_claims_follow_the_granted_scopes(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Scoped").await;

    let openid_only = userinfo(
        &app,
        str_of(
            &code_flow(&app, &b, &client, "openid").await,
            "access_token",
        ),
    )
    .await;
    assert_eq!(openid_only.status, 200);
    let keys: Vec<&String> = openid_only.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        vec!["sub"],
        "openid alone gives just sub: {}",
        openid_only.body
    );

    let profile = userinfo(
        &app,
        str_of(
            &code_flow(&app, &b, &client, "openid profile").await,
            "access_token",
        ),
    )
    .await;
    let p = &profile.body;
    assert_eq!(p["sub"], openid_only.body["sub"]);
    assert_eq!(p["name"], "Ada Lovelace");
    assert!(
        p["updated_at"].is_i64(),
        "updated_at is a number of seconds: {p}"
    );
    assert!(p["locale"].is_string(), "{p}");
    assert!(
        p.get("email").is_none() && p.get("email_verified").is_none(),
        "{p}"
    );

    let email = userinfo(
        &app,
        str_of(
            &code_flow(&app, &b, &client, "openid email").await,
            "access_token",
        ),
    )
    .await;
    let e = &email.body;
    assert_eq!(e["sub"], openid_only.body["sub"]);
    assert_eq!(e["email"], "ada@example.com");
    assert!(e["email_verified"].is_boolean(), "{e}");
    assert!(
        e.get("name").is_none() && e.get("updated_at").is_none(),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Token endpoint errors (RFC 6749 §5.2)
// ---------------------------------------------------------------------------------------------

async fn token_endpoint_errors_are_json_and_never_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let client = default_client(&app, "Clumsy").await;
    let secret = client.secret.clone().unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/token", app.address);

    let check = |what: &str, answer: Answer, status: u16, error: &str| {
        assert_ne!(answer.status, 500, "{what}");
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert!(
            answer
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{what}: JSON content type, got {:?}",
            answer.header("content-type")
        );
        assert_eq!(answer.error(), error, "{what}");
        assert_no_store(&answer);
    };

    check(
        "missing grant_type",
        token(&app, &client, &[("code", "x")]).await,
        400,
        "invalid_request",
    );
    check(
        "password grant",
        token(
            &app,
            &client,
            &[
                ("grant_type", "password"),
                ("username", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await,
        400,
        "unsupported_grant_type",
    );
    let repeated = http
        .post(&url)
        .basic_auth(&client.id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=authorization_code&code=x")
        .send()
        .await
        .unwrap();
    check(
        "repeated parameter",
        Answer::from(repeated).await,
        400,
        "invalid_request",
    );
    let as_json = http
        .post(&url)
        .basic_auth(&client.id, Some(&secret))
        .json(&json!({ "grant_type": "authorization_code", "code": "x", "redirect_uri": rp::REDIRECT }))
        .send()
        .await
        .unwrap();
    check(
        "JSON body",
        Answer::from(as_json).await,
        400,
        "invalid_request",
    );
    let unknown = Creds {
        id: "cli_does_not_exist".into(),
        secret: Some("whatever".into()),
    };
    check(
        "unknown client",
        token(
            &app,
            &unknown,
            &[("grant_type", "authorization_code"), ("code", "x")],
        )
        .await,
        401,
        "invalid_client",
    );
    check(
        "code missing",
        token(
            &app,
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("redirect_uri", rp::REDIRECT),
            ],
        )
        .await,
        400,
        "invalid_request",
    );
    check(
        "unknown code",
        token(
            &app,
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("redirect_uri", rp::REDIRECT),
            ],
        )
        .await,
        400,
        "invalid_grant",
    );
    check(
        "refresh_token missing",
        token(&app, &client, &[("grant_type", "refresh_token")]).await,
        400,
        "invalid_request",
    );

    let code = authorize(&app, &b, &client.id, "openid").await;
    let wrong_redirect = token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/other"),
        ],
    )
    .await;
    check("wrong redirect_uri", wrong_redirect, 400, "invalid_grant");
    let no_redirect = token(
        &app,
        &client,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    check(
        "redirect_uri omitted although it was sent",
        no_redirect,
        400,
        "invalid_grant",
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Key rotation
// ---------------------------------------------------------------------------------------------

async fn key_rotation_publishes_new_kids_keeps_the_old_ones_and_signs_with_the_new(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| s.keys.refresh_interval_secs = 1).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Rotating keys")).await;

    let before = rp::rp(&app, &id, secret.as_deref()).await;
    let started = before.start(&["profile"], false, &[]);
    let Outcome::Callback(cb) = drive(&b, &started.url, Some("allow")).await else {
        panic!("no callback")
    };
    let old_tokens = before.exchange(cb.code(), None).await.expect("exchange");
    let old_id_token = old_tokens.id_token().unwrap().clone();
    let old_kid = str_of(&jwt_part(&old_id_token.to_string(), 0), "kid").to_string();
    let old_keys = jwks(&app).await;
    let old_kids: Vec<String> = old_keys
        .iter()
        .map(|k| str_of(k, "kid").to_string())
        .collect();
    assert_eq!(
        old_keys.len(),
        3,
        "one key per algorithm before rotation: {old_keys:?}"
    );

    let (master_key, _) = portcullis::crypto::MasterKey::load_or_generate("", &app.data_dir())
        .expect("the app's master key");
    let new_kids = app
        .db
        .run(move |conn| {
            portcullis::oidc::keys::rotate(conn, &master_key, portcullis::identity::now())
        })
        .await
        .expect("rotate");
    assert_eq!(new_kids.len(), 3);

    // The server re-reads its keys every second; wait (bounded) until it has.
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let published = jwks(&app).await;
        if new_kids.iter().all(|k| jwk_by_kid(&published, k).is_some()) {
            break;
        }
    }
    // JWKS and signers come from the same read of the keys, so the new signer is in place too.
    let keys = jwks(&app).await;

    for kid in new_kids.iter().chain(old_kids.iter()) {
        assert!(
            jwk_by_kid(&keys, kid).is_some(),
            "{kid} published after rotation: {keys:?}"
        );
    }
    let mut all_kids: Vec<&str> = keys.iter().map(|k| str_of(k, "kid")).collect();
    all_kids.sort();
    all_kids.dedup();
    assert_eq!(all_kids.len(), keys.len(), "distinct kids");
    assert_eq!(keys.len(), 6, "old and new key for each algorithm");
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert_eq!(keys.iter().filter(|k| k["alg"] == alg).count(), 2, "{alg}");
    }
    for key in &keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} published: {key}"
            );
        }
        assert_eq!(key["kty"], kty_for(str_of(key, "alg")));
        assert_eq!(key["use"], "sig");
    }

    // Tokens signed with the old key keep working.
    assert_eq!(
        userinfo(&app, old_tokens.access_token().secret())
            .await
            .status,
        200
    );

    // A new flow is signed with the new RS256 key; a freshly discovering RP verifies it.
    let new_rs256 = new_kids
        .iter()
        .find(|k| jwk_by_kid(&keys, k).is_some_and(|j| j["alg"] == "RS256"))
        .unwrap();
    let after = rp::rp(&app, &id, secret.as_deref()).await;
    let started = after.start(&["profile"], false, &[]);
    let Outcome::Callback(cb) = drive(&b, &started.url, Some("allow")).await else {
        panic!("no callback")
    };
    let new_tokens = after
        .exchange(cb.code(), None)
        .await
        .expect("exchange after rotation");
    let new_id_token = new_tokens.id_token().unwrap();
    let new_kid = str_of(&jwt_part(&new_id_token.to_string(), 0), "kid").to_string();
    assert_eq!(&new_kid, new_rs256, "signed with the new key");
    assert_ne!(new_kid, old_kid);
    let verifier = after.client.id_token_verifier();
    new_id_token
        .claims(&verifier, &started.nonce)
        .expect("new ID token verifies with the new JWKS");
    assert_eq!(
        str_of(&jwt_part(new_tokens.access_token().secret(), 0), "kid"),
        new_rs256
    );
    assert_eq!(
        userinfo(&app, new_tokens.access_token().secret())
            .await
            .status,
        200
    );
    // The old ID token still verifies against the new JWKS (the old key stays published).
    old_id_token
        .claims(&verifier, |_: Option<&openidconnect::Nonce>| Ok(()))
        .expect("old ID token still verifies");
}

// ---------------------------------------------------------------------------------------------
// 11. Discovery, JWKS, CORS
// ---------------------------------------------------------------------------------------------

async fn discovery_documents_agree_and_match_the_snapshot(backend: Backend) {
    let app = spawn_app(backend).await;
    let oidc = get_json(&app, "/.well-known/openid-configuration").await;
    let oauth = get_json(&app, "/.well-known/oauth-authorization-server").await;
    assert_eq!(oidc.status, 200);
    assert_eq!(oauth.status, 200);
    assert!(oidc
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    assert_eq!(
        oidc.body, oauth.body,
        "both well-known documents are the same"
    );
    assert_eq!(
        oidc.body["issuer"],
        app.address.as_str(),
        "issuer is exactly the server's address"
    );

    // Every URL in the document lives under the issuer; the snapshot shows the paths.
    let issuer = app.address.clone();
    let under_issuer = move |value: insta::internals::Content,
                             path: insta::internals::ContentPath<'_>| {
        let url = value
            .as_str()
            .unwrap_or_else(|| panic!("{path} is not a string"));
        let rest = url
            .strip_prefix(issuer.as_str())
            .unwrap_or_else(|| panic!("{path} = {url} is not under the issuer"));
        format!("[issuer]{rest}")
    };
    insta::assert_json_snapshot!("discovery", oidc.body, {
        ".issuer" => insta::dynamic_redaction(under_issuer.clone()),
        ".authorization_endpoint" => insta::dynamic_redaction(under_issuer.clone()),
        ".token_endpoint" => insta::dynamic_redaction(under_issuer.clone()),
        ".userinfo_endpoint" => insta::dynamic_redaction(under_issuer.clone()),
        ".jwks_uri" => insta::dynamic_redaction(under_issuer.clone()),
        ".revocation_endpoint" => insta::dynamic_redaction(under_issuer.clone()),
        ".introspection_endpoint" => insta::dynamic_redaction(under_issuer.clone()),
        ".end_session_endpoint" => insta::dynamic_redaction(under_issuer.clone()),
    });
}

async fn jwks_is_public_and_every_key_is_identified(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = reqwest::Client::new()
        .get(format!("{}/jwks", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/jwk-set+json"),
        "{content_type}"
    );
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    let mut kids: Vec<&str> = Vec::new();
    for key in keys {
        let kid = key["kid"]
            .as_str()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| panic!("kid: {key}"));
        let alg = key["alg"].as_str().unwrap_or_else(|| panic!("alg: {key}"));
        assert_eq!(key["use"], "sig", "{key}");
        assert_eq!(key["kty"], kty_for(alg), "{key}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                key.get(private).is_none(),
                "private member {private}: {key}"
            );
        }
        kids.push(kid);
    }
    let n = kids.len();
    kids.sort();
    kids.dedup();
    assert_eq!(kids.len(), n, "distinct kids");
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(keys.iter().any(|k| k["alg"] == alg), "a key for {alg}");
    }
}

async fn json_endpoints_answer_cors_requests_and_preflights(backend: Backend) {
    let app = spawn_app(backend).await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/jwks", app.address))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("*")
    );
    let res = http
        .get(format!("{}/.well-known/openid-configuration", app.address))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("*")
    );

    let res = http
        .request(reqwest::Method::OPTIONS, format!("{}/token", app.address))
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("*")
    );
    let methods = res
        .headers()
        .get("access-control-allow-methods")
        .expect("allow-methods")
        .to_str()
        .unwrap()
        .to_string();
    assert!(methods.split(',').any(|m| m.trim() == "POST"), "{methods}");
}

/// Replica A loaded its keys before a rotation; replica B, started after it, signs with the new
/// key. A token from B must work at A's UserInfo (A re-reads the keys on an unknown kid), and a
/// token signed by a key nobody has must not.
async fn userinfo_accepts_a_token_signed_with_a_key_another_replica_started_using(
    backend: Backend,
) {
    let a = spawn_app(backend).await;
    let (master_key, _) = portcullis::crypto::MasterKey::load_or_generate("", &a.data_dir())
        .expect("the app's master key");
    let new_kids =
        a.db.run(move |conn| {
            portcullis::oidc::keys::rotate(conn, &master_key, portcullis::identity::now())
        })
        .await
        .expect("rotate");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b_address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let replica = portcullis::startup::Application::build_on(a.settings.clone(), listener)
        .await
        .expect("replica builds");
    let handle = replica.handle();
    tokio::spawn(replica.run_until_stopped());
    let b = TestApp::attach(b_address.clone(), a.settings.clone(), a.test_db.clone());

    let browser = signed_up(&b, "ada@example.com").await;
    let creds = default_client(&a, "Replicated").await;
    let url = format!(
        "{b_address}/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid%20profile&state=s&nonce=n",
        creds.id,
        url::form_urlencoded::byte_serialize(rp::REDIRECT.as_bytes()).collect::<String>()
    );
    let Outcome::Callback(cb) = drive(&browser, &url, Some("allow")).await else {
        panic!("no callback")
    };
    let answer = token(
        &b,
        &creds,
        &[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("redirect_uri", rp::REDIRECT),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let at = str_of(&answer.body, "access_token").to_string();
    let kid = str_of(&jwt_part(&at, 0), "kid").to_string();
    assert!(new_kids.contains(&kid), "B signs with the rotated-in key");
    assert!(
        jwk_by_kid(&jwks(&a).await, &kid).is_none(),
        "A has not loaded it yet"
    );

    let answer = userinfo(&a, &at).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        str_of(&answer.body, "sub").starts_with("usr_"),
        "{}",
        answer.body
    );
    assert!(
        jwk_by_kid(&jwks(&a).await, &kid).is_some(),
        "A has re-read its keys"
    );

    // A well-formed token under a kid no replica has stays invalid.
    let mut parts: Vec<String> = at.split('.').map(str::to_string).collect();
    let mut header = jwt_part(&at, 0);
    header["kid"] = json!("no-such-key");
    parts[0] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
    assert_eq!(userinfo(&a, &parts.join(".")).await.status, 401);
    handle.stop(true).await;
}
