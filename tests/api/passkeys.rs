//! Passkeys over HTTP: the ceremonies' error paths (the happy paths need an authenticator and
//! run in Chromium, tests/api/browser/passkeys.rs) and when passkeys are off.

use diesel::prelude::*;
use portcullis::db::schema::{audit_event, webauthn_ceremony};
use serde_json::{json, Value};

use crate::email::wait_mails;
use crate::helpers::*;

backend_tests!(
    finishing_a_sign_in_without_a_ceremony_is_a_400,
    garbage_bodies_are_a_400_not_a_500,
    a_ceremony_is_taken_once_and_a_replay_is_refused,
    a_registration_ceremony_of_another_user_is_refused,
    failed_assertions_are_throttled_per_ip,
    passkeys_are_off_with_the_setting_or_an_ip_issuer,
    the_ceremony_cookie_is_strict_and_short_lived,
    the_lock_page_and_mail_offer_passkeys_when_they_are_on,
);

/// An assertion that parses but proves nothing.
fn fake_assertion() -> Value {
    json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "authenticatorData": "AAAA",
            "clientDataJSON": "AAAA",
            "signature": "AAAA",
            "userHandle": null
        },
        "extensions": {}
    })
}

/// Posts JSON as passkey.js does: the page's CSRF token in `X-CSRF-Token`.
async fn post_json(b: &Browser, path: &str, body: &Value) -> reqwest::Response {
    let token = b.csrf().await;
    b.client
        .post(format!("{}{}", b.base, path))
        .header("X-CSRF-Token", token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn error_code(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("a JSON error");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

async fn finishing_a_sign_in_without_a_ceremony_is_a_400(backend: Backend) {
    let app = spawn_app_on_localhost(backend, |_| {}).await;
    let b = app.browser();
    let body = json!({ "credential": fake_assertion() });
    let res = post_json(&b, "/login/passkey", &body).await;
    assert_eq!(error_code(res).await, (400, "no_ceremony".into()));
    // The second step too, with no sign-in waiting for it.
    let res = post_json(&b, "/login/second-factor/passkey", &body).await;
    assert_eq!(error_code(res).await, (400, "no_ceremony".into()));
    let res = post_json(&b, "/login/second-factor/passkey/options", &json!({})).await;
    assert_eq!(error_code(res).await, (400, "sign_in_expired".into()));
}

async fn garbage_bodies_are_a_400_not_a_500(backend: Backend) {
    let app = spawn_app_on_localhost(backend, |_| {}).await;
    let b = signed_up(&app, "ada@example.com").await;
    let token = b.csrf().await;
    for path in [
        "/login/passkey/options",
        "/login/passkey",
        "/account/passkeys/options",
        "/account/passkeys/register",
        "/login/second-factor/passkey",
    ] {
        for garbage in ["not json", "{\"credential\": 5}", ""] {
            let res = b
                .client
                .post(format!("{}{}", b.base, path))
                .header("X-CSRF-Token", &token)
                .header("Content-Type", "application/json")
                .body(garbage)
                .send()
                .await
                .unwrap();
            // Options take no fields: only unreadable JSON is refused there.
            if path.ends_with("/options") && garbage.starts_with('{') {
                assert_eq!(res.status(), 200, "{path} {garbage}");
                continue;
            }
            assert_eq!(
                error_code(res).await,
                (400, "bad_request".into()),
                "{path} {garbage:?}"
            );
        }
    }
    // Without the token in the header it is the CSRF refusal, as for forms.
    let res = b
        .client
        .post(format!("{}/login/passkey/options", b.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

async fn a_ceremony_is_taken_once_and_a_replay_is_refused(backend: Backend) {
    let app = spawn_app_on_localhost(backend, |_| {}).await;
    let b = app.browser();
    let res = post_json(&b, "/login/passkey/options", &json!({})).await;
    assert_eq!(res.status(), 200);
    let options: Value = res.json().await.unwrap();
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert!(options.get("mediation").is_none(), "{options}");
    assert!(options["publicKey"]["challenge"].as_str().is_some());
    let ceremony = b.cookie("portcullis_webauthn").expect("ceremony cookie");
    let stored: i64 = app
        .query(|c| webauthn_ceremony::table.count().get_result(c))
        .await;
    assert_eq!(stored, 1);

    let body = json!({ "credential": fake_assertion() });
    let res = post_json(&b, "/login/passkey", &body).await;
    assert_eq!(error_code(res).await, (400, "rejected".into()));
    // The browser forgot nothing, yet the state is gone: the same answer again is refused.
    let replay = app.browser();
    replay.csrf().await;
    let res = replay
        .client
        .post(format!("{}/login/passkey", replay.base))
        .header("X-CSRF-Token", replay.csrf().await)
        .header(
            "Cookie",
            format!(
                "portcullis_webauthn={ceremony}; portcullis_csrf={}",
                replay.csrf().await
            ),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, (400, "no_ceremony".into()));
    let stored: i64 = app
        .query(|c| webauthn_ceremony::table.count().get_result(c))
        .await;
    assert_eq!(stored, 0);
    let failures: i64 = app
        .query(|c| {
            audit_event::table
                .filter(audit_event::kind.eq("session.sign_in_failed"))
                .filter(audit_event::detail.eq("passkey"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(failures, 1);
}

async fn a_registration_ceremony_of_another_user_is_refused(backend: Backend) {
    let app = spawn_app_on_localhost(backend, |_| {}).await;
    let ada = signed_up(&app, "ada@example.com").await;
    let res = post_json(&ada, "/account/passkeys/options", &json!({})).await;
    assert_eq!(res.status(), 200);
    let options: Value = res.json().await.unwrap();
    let selection = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{options}");
    assert_eq!(selection["userVerification"], "required");
    let ceremony = ada.cookie("portcullis_webauthn").unwrap();

    let bob = signed_up(&app, "bob@example.com").await;
    let token = bob.csrf().await;
    let session = bob.session_token().await.unwrap();
    let res = bob
        .client
        .post(format!("{}/account/passkeys/register", bob.base))
        .header("X-CSRF-Token", &token)
        .header(
            "Cookie",
            format!("portcullis_webauthn={ceremony}; portcullis_csrf={token}; portcullis_session={session}"),
        )
        .json(&json!({
            "name": "stolen",
            "credential": {
                "id": "AAAA",
                "rawId": "AAAA",
                "type": "public-key",
                "response": { "attestationObject": "AAAA", "clientDataJSON": "AAAA" }
            }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, (400, "no_ceremony".into()));
}

async fn failed_assertions_are_throttled_per_ip(backend: Backend) {
    let app = spawn_app_on_localhost(backend, |s| {
        s.auth.throttle.per_ip_per_hour = 2;
        s.auth.throttle.backoff_base_secs = 60;
    })
    .await;
    let b = app.browser();
    let body = json!({ "credential": fake_assertion() });
    for _ in 0..2 {
        assert_eq!(
            post_json(&b, "/login/passkey/options", &json!({}))
                .await
                .status(),
            200
        );
        let res = post_json(&b, "/login/passkey", &body).await;
        assert_eq!(error_code(res).await, (400, "rejected".into()));
    }
    post_json(&b, "/login/passkey/options", &json!({})).await;
    let res = post_json(&b, "/login/passkey", &body).await;
    assert_eq!(error_code(res).await, (429, "throttled".into()));
}

async fn passkeys_are_off_with_the_setting_or_an_ip_issuer(backend: Backend) {
    let off = spawn_app_on_localhost(backend, |s| s.accounts.passkeys = false).await;
    // An issuer on an IP address cannot be a relying party ID: off too, whatever the setting.
    let ip = spawn_app(backend).await;
    assert!(ip.settings.accounts.passkeys);
    for app in [&off, &ip] {
        let b = signed_up(app, "ada@example.com").await;
        let res = post_json(&b, "/login/passkey/options", &json!({})).await;
        assert_eq!(error_code(res).await, (404, "passkeys_disabled".into()));
        let res = post_json(&b, "/account/passkeys/options", &json!({})).await;
        assert_eq!(error_code(res).await, (404, "passkeys_disabled".into()));
        assert_eq!(b.get("/account/passkeys").await.status(), 404);
        let security = b.get("/account/security").await.text().await.unwrap();
        assert!(!security.contains("/account/passkeys"), "{security}");
        let login = app.browser().get("/login").await.text().await.unwrap();
        assert!(!login.contains("passkey.js"), "{login}");
    }
    let on = spawn_app_on_localhost(backend, |_| {}).await;
    let login = on.browser().get("/login").await.text().await.unwrap();
    assert!(login.contains("Sign in with a passkey") && login.contains("/static/passkey.js"));
    let js = on.browser().get("/static/passkey.js").await;
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let csp = on.browser().get("/login").await.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
}

async fn the_ceremony_cookie_is_strict_and_short_lived(backend: Backend) {
    let app = spawn_app_on_localhost(backend, |_| {}).await;
    let b = app.browser();
    let res = post_json(&b, "/login/passkey/options", &json!({})).await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("portcullis_webauthn="))
        .expect("ceremony cookie");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Max-Age=300"),
        "{cookie}"
    );
}

async fn the_lock_page_and_mail_offer_passkeys_when_they_are_on(backend: Backend) {
    let app = spawn_app_on_localhost(backend, |s| {
        let t = &mut s.auth.throttle;
        t.free_failures = 0;
        t.backoff_base_secs = 0;
        t.lock_after = 3;
    })
    .await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    for _ in 0..3 {
        let res = b.login("ada@example.com", "wrong password").await;
        assert_eq!(res.status(), 401);
    }
    let res = b.login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
    let html = res.text().await.unwrap();
    // Email links and codes are off here; the passkey button is the other way in.
    assert!(html.contains("Sign in another way below"), "{html}");
    assert!(html.contains("Sign in with a passkey"), "{html}");
    let mails = wait_mails(
        &app,
        "ada@example.com",
        "Password sign-in to your account",
        1,
    )
    .await;
    let text = mails[0].text();
    assert!(
        text.contains("You can still sign in without the password")
            && text.contains(&format!("{}/login", app.address)),
        "{text}"
    );
}
