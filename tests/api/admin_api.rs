//! The admin REST API (issue 14) over HTTP: who may call it (admin-scoped client_credentials
//! tokens, an admin's fresh browser session with the CSRF header), what it refuses (non-admins,
//! stale sessions, config-declared clients, the last admin), and that changes take effect and
//! are audited with who made them. `admin_api_generated_client` drives it with a client generated
//! from the served OpenAPI document.

use std::path::PathBuf;
use std::process::Command;

use portcullis::db::models::User;
use portcullis::identity::now;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::oidc_logout::{
    backchannel_mock, complete_flow, verify_logout_request, wait_for_requests,
};
use crate::rp;

backend_tests!(
    an_admin_scoped_client_token_calls_the_api_and_is_audited_as_the_client,
    tokens_without_the_admin_scope_or_from_unmarked_clients_are_refused,
    a_client_not_marked_admin_api_cannot_get_the_admin_scope,
    an_admins_session_calls_the_api_with_the_csrf_header_and_others_are_refused,
    a_stale_admin_session_must_sign_in_again,
    disabling_a_user_through_the_api_ends_their_sessions_with_backchannel_logout,
    config_declared_clients_are_listed_but_refused_in_the_api_and_the_cli,
    the_last_admin_cannot_be_disabled_demoted_or_deleted_through_the_api,
    audit_events_filter_by_user_client_kind_and_time,
    failed_mail_is_listed_retried_and_purged,
    keys_rotate_and_a_replaced_key_can_be_retired_but_not_the_signing_one,
    bad_input_gets_json_errors_never_500,
    every_api_change_refuses_a_session_call_without_the_csrf_header,
    the_bootstrap_setting_makes_the_first_admin_once,
    admin_api_generated_client,
);

/// A machine client (client_credentials only) marked for the admin API.
fn automation_spec() -> portcullis::oidc::clients::ClientSpec {
    portcullis::oidc::clients::ClientSpec {
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        admin_api: true,
        ..rp::spec("Automation")
    }
}

/// A confidential client allowed the admin scope, and a token for it.
pub(crate) async fn admin_token(app: &TestApp) -> (String, String) {
    let spec = automation_spec();
    let (id, secret) = rp::register(app, spec).await;
    let secret = secret.unwrap();
    let token = client_token(app, &id, &secret, "portcullis:admin").await;
    (id, token.expect("an admin token"))
}

async fn client_token(app: &TestApp, id: &str, secret: &str, scope: &str) -> Result<String, Value> {
    let res = reqwest::Client::new()
        .post(format!("{}/token", app.address))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    let ok = res.status().is_success();
    let body: Value = res.json().await.unwrap();
    if ok {
        Ok(body["access_token"].as_str().unwrap().to_string())
    } else {
        Err(body)
    }
}

struct Api<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    token: Option<String>,
    /// A browser session instead of a token; `csrf` echoes its cookie.
    csrf: Option<String>,
}

impl<'a> Api<'a> {
    fn bearer(app: &'a TestApp, token: &str) -> Self {
        Api {
            app,
            client: reqwest::Client::new(),
            token: Some(token.to_string()),
            csrf: None,
        }
    }

    async fn session(app: &'a TestApp, b: &Browser, with_csrf: bool) -> Api<'a> {
        let csrf = b.csrf().await;
        Api {
            app,
            client: b.client.clone(),
            token: None,
            csrf: with_csrf.then_some(csrf),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}/admin/api/v1{path}", self.app.address);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(c) = &self.csrf {
            req = req.header("X-CSRF-Token", c);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"))
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, None).await
    }
}

async fn user_id(app: &TestApp, email: &'static str) -> String {
    app.query(move |c| Ok(User::find_by_email(c, email)?.unwrap().id.to_string()))
        .await
}

async fn make_admin(app: &TestApp, email: &'static str) {
    app.query(move |c| {
        let u = User::find_by_email(c, email)?.unwrap();
        User::set_admin(c, &u.id, true, now())
    })
    .await;
}

async fn an_admin_scoped_client_token_calls_the_api_and_is_audited_as_the_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client_id, token) = admin_token(&app).await;
    let api = Api::bearer(&app, &token);

    let (s, created) = api
        .call(
            "POST",
            "/users",
            Some(json!({"email": "Grace@Example.com", "name": "Grace Hopper", "password": PASSWORD, "email_verified": true})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["email"], "grace@example.com");
    assert_eq!(created["email_verified"], true);
    assert_eq!(created["has_password"], true);
    let id = created["id"].as_str().unwrap().to_string();

    // The new user signs in with the password the API set.
    let b = app.browser();
    assert_eq!(b.login("grace@example.com", PASSWORD).await.status(), 303);

    let (s, dup) = api
        .call(
            "POST",
            "/users",
            Some(json!({"email": "grace@example.com", "name": "G"})),
        )
        .await;
    assert_eq!(s, 409, "{dup}");
    assert_eq!(dup["error"], "conflict");

    let (s, page) = api.get("/users?q=HOPPER").await;
    assert_eq!(s, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["id"], id.as_str());
    let (_, page) = api.get("/users?q=%25").await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "a % is a character, not a wildcard"
    );

    let (s, detail) = api.get(&format!("/users/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(detail["sessions"].as_array().unwrap().len(), 1, "{detail}");

    let (s, edited) = api
        .call(
            "PATCH",
            &format!("/users/{id}"),
            Some(json!({"name": "Rear Admiral Hopper"})),
        )
        .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(edited["name"], "Rear Admiral Hopper");

    // Every change names the client that made it.
    let (_, events) = api.get(&format!("/audit?user={id}")).await;
    let kinds: Vec<(&str, &str)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["kind"].as_str()?, e["actor"].as_str()?)))
        .collect();
    let by_client = format!("client:{client_id}");
    assert!(
        kinds.contains(&("user.created", by_client.as_str())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("user.updated", by_client.as_str())),
        "{kinds:?}"
    );
}

async fn tokens_without_the_admin_scope_or_from_unmarked_clients_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (s, body) = Api::bearer(&app, "garbage").get("/users").await;
    assert_eq!(s, 401);
    assert_eq!(body["error"], "invalid_token");

    // No Authorization and no session.
    let (s, body) = Api {
        app: &app,
        client: reqwest::Client::new(),
        token: None,
        csrf: None,
    }
    .get("/users")
    .await;
    assert_eq!(s, 401);
    assert_eq!(body["error"], "unauthorized");

    // An admin client's token without the admin scope.
    let spec = automation_spec();
    let (id, secret) = rp::register(&app, spec).await;
    let plain = client_token(&app, &id, secret.as_deref().unwrap(), "reports")
        .await
        .unwrap();
    let (s, _) = Api::bearer(&app, &plain).get("/users").await;
    assert_eq!(s, 401);

    // A user's access token from the code flow is never an admin token, even an admin's.
    let b = signed_up(&app, "ada@example.com").await;
    make_admin(&app, "ada@example.com").await;
    let (rid, rsecret) = rp::register(&app, rp::spec("Notes")).await;
    let client = rp::rp(&app, &rid, rsecret.as_deref()).await;
    let tokens = complete_flow(&b, &client, &[]).await;
    let (s, _) = Api::bearer(&app, &tokens.access_token).get("/users").await;
    assert_eq!(s, 401);

    // Unmarking the client cuts off the tokens it already holds.
    let good = client_token(&app, &id, secret.as_deref().unwrap(), "portcullis:admin")
        .await
        .unwrap();
    assert_eq!(Api::bearer(&app, &good).get("/users").await.0, 200);
    let cid = id.clone();
    app.query(move |c| {
        use diesel::prelude::*;
        use portcullis::db::schema::oauth_client;
        diesel::update(oauth_client::table.filter(oauth_client::id.eq(cid)))
            .set(oauth_client::admin_api.eq(false))
            .execute(c)
    })
    .await;
    let (s, body) = Api::bearer(&app, &good).get("/users").await;
    assert_eq!(s, 403, "{body}");

    // A revoked token stops at once.
    let (_, token) = admin_token(&app).await;
    let res = reqwest::Client::new()
        .post(format!("{}/revoke", app.address))
        .basic_auth(&id, secret.as_deref())
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn a_client_not_marked_admin_api_cannot_get_the_admin_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let spec = portcullis::oidc::clients::ClientSpec {
        admin_api: false,
        ..automation_spec()
    };
    let (id, secret) = rp::register(&app, spec).await;
    let refused = client_token(&app, &id, secret.as_deref().unwrap(), "portcullis:admin")
        .await
        .unwrap_err();
    assert_eq!(refused["error"], "invalid_scope", "{refused}");

    // Nor can a client without client_credentials be marked.
    let mut spec = rp::spec("Odd");
    spec.admin_api = true;
    let res = app
        .db
        .run(move |c| portcullis::oidc::clients::register(c, &spec, "cli"))
        .await;
    assert!(res.is_err());
}

async fn an_admins_session_calls_the_api_with_the_csrf_header_and_others_are_refused(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    let bob = app.browser();
    assert_eq!(
        bob.signup("Bob", "bob@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    let bob_id = user_id(&app, "bob@example.com").await;

    // Not an admin: 403, whatever the call.
    let (s, body) = Api::session(&app, &ada, true).await.get("/users").await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"], "forbidden");

    make_admin(&app, "ada@example.com").await;
    let api = Api::session(&app, &ada, true).await;
    assert_eq!(api.get("/users").await.0, 200);

    // A change without the header is refused before anything happens.
    let no_header = Api::session(&app, &ada, false).await;
    let (s, body) = no_header
        .call("POST", &format!("/users/{bob_id}/disable"), Some(json!({})))
        .await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"], "csrf");
    // A wrong header, or a foreign origin, likewise.
    let res = ada
        .client
        .post(format!(
            "{}/admin/api/v1/users/{bob_id}/disable",
            app.address
        ))
        .header(
            "X-CSRF-Token",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = ada
        .client
        .post(format!(
            "{}/admin/api/v1/users/{bob_id}/disable",
            app.address
        ))
        .header("X-CSRF-Token", ada.csrf().await)
        .header("Origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let bob_disabled = app
        .query(|c| {
            Ok(User::find_by_email(c, "bob@example.com")?
                .unwrap()
                .disabled_at)
        })
        .await;
    assert!(bob_disabled.is_none());

    let (s, body) = api
        .call(
            "POST",
            &format!("/users/{bob_id}/disable"),
            Some(json!({"reason": "spam"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["disabled_at"].is_string());
    assert_eq!(body["disabled_reason"], "spam");
    let ada_id = user_id(&app, "ada@example.com").await;
    let (_, events) = api.get("/audit?kind=user.disabled").await;
    assert_eq!(events["items"][0]["actor"], format!("user:{ada_id}"));
    assert_eq!(events["items"][0]["user_id"], bob_id.as_str());
}

async fn a_stale_admin_session_must_sign_in_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    make_admin(&app, "ada@example.com").await;
    // The sign-in happened two hours ago.
    app.query(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::sessions;
        let then = now() - chrono::Duration::hours(2);
        diesel::update(sessions::table)
            .set((
                sessions::first_factor_at.eq(then),
                sessions::auth_time.eq(then),
            ))
            .execute(c)
    })
    .await;
    let (s, body) = Api::session(&app, &ada, true).await.get("/users").await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"], "reauthentication_required");
    // The console sends the person to sign in again, and back.
    let res = ada.get("/admin/users").await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.starts_with("/login?force=1&return_to="), "{to}");
    // Signing in again makes the session fresh.
    assert_eq!(ada.login("ada@example.com", PASSWORD).await.status(), 303);
    assert_eq!(
        Api::session(&app, &ada, true).await.get("/users").await.0,
        200
    );
}

async fn disabling_a_user_through_the_api_ends_their_sessions_with_backchannel_logout(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let bc = backchannel_mock().await;
    let mut spec = rp::spec("Notes");
    spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
    let (id, secret) = rp::register(&app, spec).await;
    let client = rp::rp(&app, &id, secret.as_deref()).await;
    let bob = signed_up(&app, "bob@example.com").await;
    let t = complete_flow(&bob, &client, &[]).await;
    let bob_id = user_id(&app, "bob@example.com").await;

    let (_, token) = admin_token(&app).await;
    let api = Api::bearer(&app, &token);
    let (s, body) = api
        .call("POST", &format!("/users/{bob_id}/disable"), None)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["sessions"].as_array().unwrap().len(), 0);
    assert_eq!(body["grants"].as_array().unwrap().len(), 0);
    let got = wait_for_requests(&bc, 1).await;
    let claims = verify_logout_request(&app, &got[0], &id).await;
    assert_eq!(claims["sub"], t.claims["sub"]);
    assert_eq!(bob.get("/account").await.status(), 303);

    // Enabled again, they sign in; their old grants stay revoked.
    let (s, body) = api
        .call("POST", &format!("/users/{bob_id}/enable"), None)
        .await;
    assert_eq!(s, 200);
    assert!(body["disabled_at"].is_null());
    assert_eq!(bob.login("bob@example.com", PASSWORD).await.status(), 303);

    // Revoking sessions alone, and grants alone.
    let t2 = complete_flow(&bob, &client, &[]).await;
    let (s, n) = api
        .call("DELETE", &format!("/users/{bob_id}/grants"), None)
        .await;
    assert_eq!((s.as_u16(), n["count"].as_u64()), (200, Some(1)));
    let res = reqwest::Client::new()
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(&t2.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "a revoked grant's token stops at UserInfo"
    );
    let (s, n) = api
        .call("DELETE", &format!("/users/{bob_id}/sessions"), None)
        .await;
    assert_eq!((s.as_u16(), n["count"].as_u64()), (200, Some(1)));
    assert_eq!(bob.get("/account").await.status(), 303);

    // Deleting goes through the same ending of sessions.
    assert_eq!(bob.login("bob@example.com", PASSWORD).await.status(), 303);
    let (s, _) = api.call("DELETE", &format!("/users/{bob_id}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(api.get(&format!("/users/{bob_id}")).await.0, 404);
}

async fn config_declared_clients_are_listed_but_refused_in_the_api_and_the_cli(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.clients
            .push(crate::oidc_logout::static_client("Declared"))
    })
    .await;
    let (_, token) = admin_token(&app).await;
    let api = Api::bearer(&app, &token);
    let (_, list) = api.get("/clients").await;
    let declared = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "static-app")
        .expect("listed");
    assert_eq!(declared["managed_by"], "config");
    assert_eq!(declared["editable"], false);
    let body = json!({"name": "Renamed", "redirect_uris": ["https://app.example/callback"]});
    for (method, path, body) in [
        ("PUT", "/clients/static-app", Some(body)),
        ("DELETE", "/clients/static-app", None),
        ("POST", "/clients/static-app/secret", None),
    ] {
        let (s, err) = api.call(method, path, body).await;
        assert_eq!(s, 409, "{method} {path}: {err}");
        assert_eq!(err["error"], "managed_by_config");
        assert!(err["message"]
            .as_str()
            .unwrap()
            .contains("configuration file"));
    }
    let out = crate::admin_controls::portcullis(&app, &["client", "delete", "static-app"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("configuration file"));

    // An API-made client is the API's to change.
    let (s, made) = api
        .call(
            "POST",
            "/clients",
            Some(json!({"name": "Made", "redirect_uris": ["https://made.example/cb"]})),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    assert!(made["client_secret"].as_str().unwrap().len() >= 32);
    assert_eq!(made["managed_by"], "admin");
    let mid = made["client_id"].as_str().unwrap();
    let (s, changed) = api
        .call(
            "PUT",
            &format!("/clients/{mid}"),
            Some(json!({"name": "Made twice", "redirect_uris": ["https://made.example/cb2"]})),
        )
        .await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(changed["redirect_uris"][0], "https://made.example/cb2");
    let (s, bad) = api
        .call(
            "PUT",
            &format!("/clients/{mid}"),
            Some(json!({"name": "Made", "public": true, "redirect_uris": ["https://made.example/cb"]})),
        )
        .await;
    assert_eq!(s, 400, "{bad}");
    let (s, rotated) = api
        .call("POST", &format!("/clients/{mid}/secret"), None)
        .await;
    assert_eq!(s, 200);
    assert_ne!(rotated["client_secret"], made["client_secret"]);
    assert_eq!(
        api.call("DELETE", &format!("/clients/{mid}"), None).await.0,
        204
    );
    assert_eq!(api.get(&format!("/clients/{mid}")).await.0, 404);
}

async fn the_last_admin_cannot_be_disabled_demoted_or_deleted_through_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    make_admin(&app, "ada@example.com").await;
    let ada_id = user_id(&app, "ada@example.com").await;
    let api = Api::session(&app, &ada, true).await;
    for (method, path) in [
        ("POST", format!("/users/{ada_id}/disable")),
        ("DELETE", format!("/users/{ada_id}/admin")),
        ("DELETE", format!("/users/{ada_id}")),
    ] {
        let (s, body) = api.call(method, &path, None).await;
        assert_eq!(s, 409, "{method} {path}: {body}");
        assert!(body["message"].as_str().unwrap().contains("last admin"));
    }
    // With a second admin, the first may step down.
    let grace = app.browser();
    assert_eq!(
        grace
            .signup("Grace", "grace@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    let grace_id = user_id(&app, "grace@example.com").await;
    let (s, body) = api
        .call("PUT", &format!("/users/{grace_id}/admin"), None)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["admin"], true);
    let (s, body) = api
        .call("DELETE", &format!("/users/{ada_id}/admin"), None)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["admin"], false);
    assert_eq!(api.get("/users").await.0, 403, "no longer an admin");
}

async fn audit_events_filter_by_user_client_kind_and_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client_id, token) = admin_token(&app).await;
    let api = Api::bearer(&app, &token);
    signed_up(&app, "ada@example.com").await;
    let ada_id = user_id(&app, "ada@example.com").await;
    let (_, made) = api
        .call(
            "POST",
            "/clients",
            Some(json!({"name": "Made", "redirect_uris": ["https://made.example/cb"]})),
        )
        .await;
    let mid = made["client_id"].as_str().unwrap().to_string();

    let (_, all) = api.get(&format!("/audit?user={ada_id}")).await;
    assert!(all["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["user_id"] == ada_id.as_str()));
    assert!(!all["items"].as_array().unwrap().is_empty());
    let (_, user_events) = api.get("/audit?kind=user.").await;
    let kinds: Vec<&str> = user_events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.iter().all(|k| k.starts_with("user.")), "{kinds:?}");
    assert!(kinds.contains(&"user.sign_up"), "{kinds:?}");
    let (_, exact) = api.get("/audit?kind=client.created").await;
    assert_eq!(exact["items"].as_array().unwrap().len(), 1);
    let (_, by_client) = api.get(&format!("/audit?client={mid}")).await;
    assert_eq!(by_client["items"][0]["kind"], "client.created");
    assert_eq!(
        by_client["items"][0]["actor"],
        format!("client:{client_id}")
    );
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (s, none) = api
        .get(&format!("/audit?since={}", urlencoding(&future)))
        .await;
    assert_eq!(s, 200);
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    // Paging.
    let (_, first) = api.get("/audit?limit=1").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["next_offset"], 1);
    let (_, second) = api.get("/audit?limit=1&offset=1").await;
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    // A kind with a LIKE wildcard in it is refused, not matched loosely.
    let (s, _) = api.get("/audit?kind=%25").await;
    assert_eq!(s, 400);
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn failed_mail_is_listed_retried_and_purged(backend: Backend) {
    // Mail to a dead SMTP port fails at once and is given up after one attempt.
    let app = spawn_app_with(backend, |s| {
        s.mail.transport = portcullis::config::MailTransport::Smtp;
        s.mail.smtp.host = "127.0.0.1".into();
        s.mail.smtp.port = 1;
        s.mail.smtp.security = portcullis::config::SmtpSecurity::None;
        s.mail.max_attempts = 1;
    })
    .await;
    let (_, token) = admin_token(&app).await;
    let api = Api::bearer(&app, &token);
    let (s, queued) = api
        .call("POST", "/mail/test", Some(json!({"to": "ops@example.com"})))
        .await;
    assert_eq!(s, 202, "{queued}");
    let id = queued["id"].as_str().unwrap().to_string();
    let mut failed = Value::Null;
    for _ in 0..50 {
        let (_, list) = api.get("/mail").await;
        if let Some(m) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id.as_str())
        {
            if m["status"] == "failed" {
                failed = m.clone();
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(failed["status"], "failed", "the test mail failed: {failed}");
    assert!(failed["last_error"].as_str().is_some_and(|e| !e.is_empty()));

    let (s, n) = api
        .call("POST", "/mail/retry", Some(json!({"id": id})))
        .await;
    assert_eq!((s.as_u16(), n["count"].as_u64()), (200, Some(1)));
    // It fails again (the port is still dead) and is then purged.
    for _ in 0..50 {
        let (_, list) = api.get("/mail").await;
        let m = list
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id.as_str())
            .cloned();
        if m.is_some_and(|m| m["status"] == "failed" && m["attempts"] == 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (s, n) = api.call("POST", "/mail/purge", None).await;
    assert_eq!(s, 200);
    assert_eq!(n["count"], 1);
    let (_, list) = api.get("/mail").await;
    assert!(list.as_array().unwrap().is_empty(), "{list}");
    let (s, _) = api
        .call("POST", "/mail/retry", Some(json!({"id": id})))
        .await;
    assert_eq!(s, 404);
}

async fn keys_rotate_and_a_replaced_key_can_be_retired_but_not_the_signing_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = admin_token(&app).await;
    let api = Api::bearer(&app, &token);
    let (_, keys) = api.get("/keys").await;
    let old_rs = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "RS256" && k["state"] == "signing")
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, body) = api.call("DELETE", &format!("/keys/{old_rs}"), None).await;
    assert_eq!(s, 409, "the signing key cannot be retired: {body}");

    let (s, rotated) = api
        .call("POST", "/keys/rotate", Some(json!({"immediately": true})))
        .await;
    assert_eq!(s, 200, "{rotated}");
    assert_eq!(rotated["kids"].as_array().unwrap().len(), 3);
    let (_, keys) = api.get("/keys").await;
    let old = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == old_rs.as_str())
        .unwrap();
    assert_eq!(old["state"], "retiring");
    // Still published until retired.
    let jwks: Value = reqwest::get(format!("{}/jwks", app.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(jwks.to_string().contains(&old_rs));
    assert_eq!(
        api.call("DELETE", &format!("/keys/{old_rs}"), None).await.0,
        204
    );
    let jwks: Value = reqwest::get(format!("{}/jwks", app.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !jwks.to_string().contains(&old_rs),
        "a retired key is no longer published"
    );
    // The admin token itself was signed with the retired key: it stops working too.
    assert_eq!(api.get("/keys").await.0, 401);
    let (_, fresh) = admin_token(&app).await;
    let api = Api::bearer(&app, &fresh);
    assert_eq!(api.call("DELETE", "/keys/nope", None).await.0, 404);
}

async fn bad_input_gets_json_errors_never_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = admin_token(&app).await;
    let api = Api::bearer(&app, &token);
    let cases: Vec<(&str, String, Option<Value>, u16)> = vec![
        ("GET", "/users?limit=0".into(), None, 400),
        ("GET", "/users?limit=abc".into(), None, 400),
        ("GET", "/users?offset=-1".into(), None, 400),
        ("GET", "/users/usr_nope".into(), None, 404),
        ("GET", "/users/..%2F..%2Fetc".into(), None, 404),
        (
            "POST",
            "/users".into(),
            Some(json!({"email": "not an address", "name": "X"})),
            400,
        ),
        (
            "POST",
            "/users".into(),
            Some(json!({"email": "x@example.com", "name": ""})),
            400,
        ),
        (
            "POST",
            "/users".into(),
            Some(json!({"email": "x@example.com", "name": "X", "password": "short"})),
            400,
        ),
        (
            "POST",
            "/users".into(),
            Some(json!({"email": "x@example.com", "name": "X", "surprise": 1})),
            400,
        ),
        ("POST", "/users".into(), Some(json!("just a string")), 400),
        (
            "POST",
            "/clients".into(),
            Some(json!({"name": "No redirect"})),
            400,
        ),
        (
            "POST",
            "/clients".into(),
            Some(json!({"name": "JS", "redirect_uris": ["javascript:alert(1)"]})),
            400,
        ),
        (
            "POST",
            "/providers".into(),
            Some(
                json!({"slug": "Bad Slug", "kind": "github", "client_id": "x", "client_secret": "y"}),
            ),
            400,
        ),
        (
            "POST",
            "/providers".into(),
            Some(json!({"slug": "x", "kind": "martian", "client_id": "x", "client_secret": "y"})),
            400,
        ),
        ("GET", "/audit?kind=DROP%20TABLE".into(), None, 400),
        ("GET", "/audit?since=yesterday".into(), None, 400),
        (
            "POST",
            "/mail/test".into(),
            Some(json!({"to": "nobody"})),
            400,
        ),
        (
            "POST",
            "/mail/retry".into(),
            Some(json!({"id": "mail_nope"})),
            404,
        ),
        ("GET", "/no/such/call".into(), None, 404),
    ];
    for (method, path, body, want) in cases {
        let (s, err) = api.call(method, &path, body).await;
        assert_eq!(s.as_u16(), want, "{method} {path}: {err}");
        assert!(
            err["error"].is_string() && err["message"].is_string(),
            "{method} {path}: {err}"
        );
    }
    // A body over the limit.
    let huge = "x".repeat(70 * 1024);
    let (s, _) = api
        .call(
            "POST",
            "/users",
            Some(json!({"email": "x@example.com", "name": huge})),
        )
        .await;
    assert_eq!(s, 400);
}

/// Every operation of the served document that changes something, called with an admin's
/// session cookie but without (or with a wrong) X-CSRF-Token, is refused with 403 `csrf`; and
/// every route of `src/web/admin/api.rs` is in the document, so none escapes this check.
async fn every_api_change_refuses_a_session_call_without_the_csrf_header(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    make_admin(&app, "ada@example.com").await;
    let doc: Value = reqwest::get(format!("{}/admin/api/openapi.json", app.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = Vec::new();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            let route = path.strip_prefix("/admin/api/v1").unwrap().to_string();
            documented.push((method.to_uppercase(), route.clone()));
            if method == "get" {
                continue;
            }
            let url = format!(
                "{}{}",
                app.address,
                path.replace("{id}", "x")
                    .replace("{slug}", "x")
                    .replace("{kid}", "x")
            );
            for header in [None, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] {
                let mut req = ada
                    .client
                    .request(
                        reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                        &url,
                    )
                    .json(&json!({}));
                if let Some(h) = header {
                    req = req.header("X-CSRF-Token", h);
                }
                let res = req.send().await.unwrap();
                assert_eq!(res.status(), 403, "{method} {path} with {header:?}");
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["error"], "csrf", "{method} {path}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} operations checked");
    // Every route registered in the API module is documented.
    let source: String = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/admin/api.rs"),
    )
    .unwrap()
    .chars()
    .filter(|c| !c.is_whitespace())
    .collect();
    let mut registered = 0;
    for m in ["get", "post", "put", "patch", "delete"] {
        for (at, _) in source.match_indices(&format!("web::{m}()")) {
            let before = &source[..at];
            let start = before.rfind(".route(").unwrap() + 7;
            // The document itself is served at a constant path, outside the prefix.
            let Some(literal) = before[start..].strip_prefix('"') else {
                continue;
            };
            let route = &literal[..literal.find('"').unwrap()];
            registered += 1;
            assert!(
                documented.contains(&(m.to_uppercase(), route.to_string())),
                "{m} {route} is served but not in the OpenAPI document"
            );
        }
    }
    assert_eq!(registered, documented.len(), "{documented:?}");
}

async fn the_bootstrap_setting_makes_the_first_admin_once(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.admin.bootstrap_email = "root@example.com".into();
        s.admin.bootstrap_password = portcullis::config::Secret::new(PASSWORD);
    })
    .await;
    let root = app
        .query(|c| User::find_by_email(c, "root@example.com"))
        .await
        .expect("created at start");
    assert!(root.is_admin && root.email_verified);
    let b = app.browser();
    assert_eq!(b.login("root@example.com", PASSWORD).await.status(), 303);
    assert_eq!(
        Api::session(&app, &b, true).await.get("/users").await.0,
        200
    );

    // Once an admin exists, the setting takes nothing over: a later bootstrap address that
    // someone signed up with gets nothing.
    let mallory = app.browser();
    assert_eq!(
        mallory
            .signup("M", "mallory@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    let app = app
        .restart_with(|s| s.admin.bootstrap_email = "mallory@example.com".into())
        .await;
    let m = app
        .query(|c| User::find_by_email(c, "mallory@example.com"))
        .await
        .unwrap();
    assert!(!m.is_admin);
    let (_, events) = Api::bearer(&app, &admin_token(&app).await.1)
        .get("/audit?kind=user.admin_granted")
        .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    assert_eq!(events["items"][0]["actor"], "config");
}

fn api_client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/admin-api")
}

/// The served OpenAPI document, validated and turned into a client by openapi-client-axios
/// (`interop/admin-api/drive.mjs`), administers the server the way automation would.
async fn admin_api_generated_client(backend: Backend) {
    let ready = api_client_dir()
        .join("node_modules/openapi-client-axios")
        .is_dir()
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        assert!(
            std::env::var("TEST_REQUIRE_NODE").map_or(true, |v| v != "1"),
            "TEST_REQUIRE_NODE=1 but interop/admin-api/node_modules is missing (run npm ci there)"
        );
        eprintln!("NOTE: admin API client test skipped (run `npm ci` in interop/admin-api)");
        return;
    }
    let app = spawn_app(backend).await;
    let spec = automation_spec();
    let (id, secret) = rp::register(&app, spec).await;
    let bob = signed_up(&app, "bob@example.com").await;
    let args = [app.address.clone(), id, secret.unwrap()];
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(api_client_dir().join("drive.mjs"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "generated client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    // What the script did is real: Bob is disabled and signed out, the client exists.
    assert_eq!(bob.get("/account").await.status(), 303);
    let bob_user = app
        .query(|c| User::find_by_email(c, "bob@example.com"))
        .await
        .unwrap();
    assert!(bob_user.disabled_at.is_some());
    eprintln!("generated admin API client: {}", stdout.trim());
}
