//! Two-factor sign-in with an authenticator app (TOTP) and recovery codes. Codes are computed
//! here from the key the enrolment page shows, as an authenticator app would.

use diesel::prelude::*;
use portcullis::db::schema::audit_event;
use portcullis::identity::totp;

use crate::helpers::*;
use crate::rp::{self, drive, Outcome};

backend_tests!(
    totp_enrolment_then_sign_in_with_a_code_or_a_recovery_code,
    wrong_second_factor_codes_are_throttled,
    wrong_codes_lock_the_password_and_a_full_sign_in_starts_the_count_over,
    turning_totp_off_needs_reauthentication,
    an_rp_gets_mfa_amr_and_acr_after_a_second_factor,
    a_client_requiring_mfa_has_a_one_factor_user_set_one_up_on_the_way,
    with_mfa_required_everywhere_a_silent_one_factor_request_needs_interaction,
);

/// An enrolled authenticator: its secret and the recovery codes shown once.
pub(crate) struct Enrolled {
    pub(crate) secret: Vec<u8>,
    pub(crate) recovery: Vec<String>,
    /// The step whose code confirmed the enrolment (used up).
    step: i64,
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page: {html}"))
        + start.len();
    let to = html[from..].find(end).unwrap() + from;
    &html[from..to]
}

pub(crate) async fn enrol(b: &Browser) -> Enrolled {
    let page = b.get("/account/security").await.text().await.unwrap();
    assert!(
        page.contains(r#"action="/account/security/totp""#),
        "{page}"
    );
    let res = b.post("/account/security/totp", &[]).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let shown = between(&page, r#"id="totp-secret">"#, "<");
    let secret = totp::base32_decode(shown).expect("base32 secret");
    assert_eq!(secret.len(), 20);
    assert!(rp::unescape(&page).contains("otpauth://totp/"), "{page}");

    // A wrong first code does not turn it on (one in a million it is right: use an impossible one).
    let res = b
        .post("/account/security/totp/confirm", &[("code", "12345x")])
        .await;
    assert_eq!(res.status(), 422);
    let again = res.text().await.unwrap();
    assert_eq!(
        between(&again, r#"id="totp-secret">"#, "<"),
        shown,
        "same key"
    );

    let step = totp::step_at(unix_now());
    let code = totp::code_for_step(&secret, step);
    let res = b
        .post("/account/security/totp/confirm", &[("code", &code)])
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let list = between(&page, r#"<ul class="recovery-codes""#, "</ul>");
    let recovery: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find("</code>").unwrap()].to_string())
        .collect();
    assert_eq!(recovery.len(), 10, "{list}");
    assert!(recovery.iter().all(|c| c.len() == 19), "{recovery:?}");
    // Shown once: the page afterwards only counts them.
    let page = b.get("/account/security").await.text().await.unwrap();
    assert!(!page.contains(&recovery[0]));
    assert!(page.contains("Unused recovery codes: 10"), "{page}");
    Enrolled {
        secret,
        recovery,
        step,
    }
}

/// Password sign-in of a fresh browser: it must stop at the second step.
async fn first_factor(app: &TestApp, email: &str, return_to: &str) -> Browser {
    let b = app.browser();
    password_step(&b, email, return_to).await;
    assert!(b.session_token().await.is_none(), "not signed in yet");
    b
}

async fn password_step(b: &Browser, email: &str, return_to: &str) {
    let res = b
        .post(
            "/login",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("return_to", return_to),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login/second-factor?return_to="),
        "{}",
        location(&res)
    );
    // Bound to this browser by a cookie for the sign-in pages only.
    assert!(res.headers().get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap();
        c.starts_with("portcullis_second_factor=") && c.contains("Path=/login")
    }));
}

async fn second_factor(b: &Browser, code: &str, return_to: &str) -> reqwest::Response {
    b.post(
        "/login/second-factor",
        &[("code", code), ("return_to", return_to)],
    )
    .await
}

async fn audit_count(app: &TestApp, kind: &'static str) -> i64 {
    app.query(move |c| {
        audit_event::table
            .filter(audit_event::kind.eq(kind))
            .count()
            .get_result(c)
    })
    .await
}

async fn totp_enrolment_then_sign_in_with_a_code_or_a_recovery_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "ada@example.com";
    let ada = signed_up(&app, email).await;
    let enrolled = enrol(&ada).await;
    assert_eq!(
        audit_count(&app, "credential.second_factor_enrolled").await,
        1
    );
    assert_eq!(ada.post("/logout", &[]).await.status(), 303);

    // Without the pending state the second step sends back to the sign-in form.
    let stranger = app.browser();
    let res = stranger.get("/login/second-factor").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?notice=second-factor-expired"));

    // Password, then a code of the next step (the confirming step's code is used up).
    let b = first_factor(&app, email, "/account/sessions").await;
    assert!(b
        .get("/login/second-factor?return_to=%2Faccount%2Fsessions")
        .await
        .text()
        .await
        .unwrap()
        .contains(r#"action="/login/second-factor""#));
    let used = totp::code_for_step(&enrolled.secret, enrolled.step);
    let res = second_factor(&b, &used, "/account/sessions").await;
    assert_eq!(res.status(), 422, "the enrolment code cannot be replayed");
    let code = totp::code_for_step(&enrolled.secret, enrolled.step + 1);
    let res = second_factor(&b, &code, "/account/sessions").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/sessions");
    assert!(b.session_token().await.is_some());
    let page = b.get("/account/sessions").await;
    assert_eq!(page.status(), 200);
    // The pending state was single use.
    let res = second_factor(&b, &code, "/account").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?notice=second-factor-expired"));

    // The same code again, after a new password step: refused (replay of a used step).
    let b = first_factor(&app, email, "/account").await;
    let res = second_factor(&b, &code, "/account").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("not right"));
    assert!(b.session_token().await.is_none());

    // A recovery code works, once; spacing and case do not matter.
    let res = second_factor(&b, &enrolled.recovery[0], "/account").await;
    assert_eq!(res.status(), 303);
    assert!(b.session_token().await.is_some());
    assert_eq!(audit_count(&app, "credential.recovery_code_used").await, 1);
    let b = first_factor(&app, email, "/account").await;
    assert_eq!(
        second_factor(&b, &enrolled.recovery[0], "/account")
            .await
            .status(),
        422
    );
    let sloppy = enrolled.recovery[1].replace('-', " ").to_lowercase();
    assert_eq!(second_factor(&b, &sloppy, "/account").await.status(), 303);
    let page = b.get("/account/security").await.text().await.unwrap();
    assert!(page.contains("Unused recovery codes: 8"), "{page}");

    // New recovery codes replace the old ones.
    let res = b.post("/account/security/recovery-codes", &[]).await;
    assert_eq!(res.status(), 200);
    let fresh = res.text().await.unwrap();
    assert!(fresh.contains(r#"class="recovery-codes""#));
    let b = first_factor(&app, email, "/account").await;
    assert_eq!(
        second_factor(&b, &enrolled.recovery[2], "/account")
            .await
            .status(),
        422
    );
}

async fn wrong_second_factor_codes_are_throttled(backend: Backend) {
    // A backoff far longer than the test, so "too early" does not depend on its speed.
    let app = spawn_app_with(backend, |s| {
        let t = &mut s.auth.throttle;
        t.free_failures = 5;
        t.backoff_base_secs = 3600;
        t.backoff_max_secs = 3600;
        t.lock_after = 100;
    })
    .await;
    let email = "ada@example.com";
    let ada = signed_up(&app, email).await;
    let enrolled = enrol(&ada).await;
    let b = first_factor(&app, email, "/account").await;
    for _ in 0..3 {
        assert_eq!(second_factor(&b, "00000x", "/account").await.status(), 422);
    }
    // Someone who knows the password signs in again: the count of wrong codes goes on.
    let b = first_factor(&app, email, "/account").await;
    for _ in 0..2 {
        assert_eq!(second_factor(&b, "00000x", "/account").await.status(), 422);
    }
    // Past the free failures even a right code is not looked at.
    let res = second_factor(&b, &enrolled.recovery[0], "/account").await;
    assert_eq!(res.status(), 429);
    assert_eq!(
        res.headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string()),
        Some("3600".to_string())
    );
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Too many wrong codes. Try again in 3600 seconds."));
    assert!(b.session_token().await.is_none());
    assert_eq!(audit_count(&app, "credential.recovery_code_used").await, 0);
    // The same counter guards the password: it waits too.
    let res = app
        .browser()
        .post("/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), 429);
}

async fn wrong_codes_lock_the_password_and_a_full_sign_in_starts_the_count_over(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        let t = &mut s.auth.throttle;
        t.free_failures = 100;
        t.lock_after = 4;
    })
    .await;
    let email = "ada@example.com";
    let ada = signed_up(&app, email).await;
    let enrolled = enrol(&ada).await;

    // Three wrong codes, then the right one: signed in, and the count starts over.
    let b = first_factor(&app, email, "/account").await;
    for _ in 0..3 {
        assert_eq!(second_factor(&b, "00000x", "/account").await.status(), 422);
    }
    assert_eq!(
        second_factor(&b, &enrolled.recovery[0], "/account")
            .await
            .status(),
        303
    );
    let b = first_factor(&app, email, "/account").await;
    for _ in 0..3 {
        assert_eq!(second_factor(&b, "00000x", "/account").await.status(), 422);
    }
    assert_eq!(audit_count(&app, "credential.password_locked").await, 0);
    // The fourth wrong code in a row locks the password, like a fourth wrong password would.
    assert_eq!(second_factor(&b, "00000x", "/account").await.status(), 422);
    assert_eq!(audit_count(&app, "credential.password_locked").await, 1);
    let res = second_factor(&b, &enrolled.recovery[1], "/account").await;
    assert_eq!(res.status(), 429);
    let res = app
        .browser()
        .post("/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), 429);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("signing in with the password is paused"));
}

async fn turning_totp_off_needs_reauthentication(backend: Backend) {
    // No grace period: the password is always needed.
    let app = spawn_app_with(backend, |s| s.mfa.reauthenticate_within_secs = 0).await;
    let email = "ada@example.com";
    let ada = signed_up(&app, email).await;
    enrol(&ada).await;
    let res = ada.post("/account/security/totp/disable", &[]).await;
    assert_eq!(res.status(), 403);
    let res = ada
        .post(
            "/account/security/totp/disable",
            &[("password", "wrong password!")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(ada
        .get("/account/security")
        .await
        .text()
        .await
        .unwrap()
        .contains("Unused recovery codes"));
    let res = ada
        .post("/account/security/totp/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/security?notice=disabled");
    assert_eq!(
        audit_count(&app, "credential.second_factor_disabled").await,
        1
    );
    // The password alone signs in again.
    let b = app.browser();
    let res = b.login(email, PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(b.session_token().await.is_some());

    // Within the grace period no password is needed.
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, email).await;
    enrol(&ada).await;
    let res = ada.post("/account/security/totp/disable", &[]).await;
    assert_eq!(res.status(), 303);
}

/// The claims of the ID token the code redeems for.
async fn id_token_claims(
    app: &TestApp,
    id: &str,
    secret: Option<&str>,
    code: &str,
) -> serde_json::Value {
    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/token", app.address))
        .basic_auth(id, secret)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", rp::REDIRECT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payload = token["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    use base64::Engine;
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// An RP asking `acr_values=urn:portcullis:acr:mfa` of a password-only session: the browser
/// signs in again, with the second factor, and the ID token says so.
async fn an_rp_gets_mfa_amr_and_acr_after_a_second_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "ada@example.com";
    let ada = signed_up(&app, email).await;
    let mut spec = rp::spec("Needs MFA");
    spec.skip_consent = true;
    let (id, secret) = rp::register(&app, spec).await;
    let url = |acr: &str| {
        format!(
            "{}/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid\
             &state=s1{acr}",
            app.address,
            rp::REDIRECT
        )
    };
    // One factor: acr sfa.
    let Outcome::Callback(cb) = drive(&ada, &url(""), None).await else {
        panic!("expected the callback")
    };
    let claims = id_token_claims(&app, &id, secret.as_deref(), cb.code()).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["acr"], "urn:portcullis:acr:sfa");

    // Another browser signed in with the password before the authenticator was set up.
    let other = app.browser();
    let res = other
        .post("/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), 303);
    let enrolled = enrol(&ada).await;
    // The code that confirmed the authenticator was a second factor in ada's session...
    let Outcome::Callback(cb) =
        drive(&ada, &url("&acr_values=urn%3Aportcullis%3Aacr%3Amfa"), None).await
    else {
        panic!("expected the callback")
    };
    let claims = id_token_claims(&app, &id, secret.as_deref(), cb.code()).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    // ...but the other session is still password-only: asking for MFA signs it in again.
    let ada = other;
    let Outcome::Login(login) =
        drive(&ada, &url("&acr_values=urn%3Aportcullis%3Aacr%3Amfa"), None).await
    else {
        panic!("expected the sign-in page")
    };
    assert!(login.contains("force=1"), "{login}");
    let back = url::Url::parse(&format!("{}{login}", app.address))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    password_step(&ada, email, &back).await;
    let code = totp::code_for_step(&enrolled.secret, enrolled.step + 1);
    let res = second_factor(&ada, &code, &back).await;
    assert_eq!(res.status(), 303);
    let Outcome::Callback(cb) =
        drive(&ada, &format!("{}{}", app.address, location(&res)), None).await
    else {
        panic!("expected the callback")
    };
    let claims = id_token_claims(&app, &id, secret.as_deref(), cb.code()).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "urn:portcullis:acr:mfa");
    // Now two factors: the same request goes straight through.
    let Outcome::Callback(_) =
        drive(&ada, &url("&acr_values=urn%3Aportcullis%3Aacr%3Amfa"), None).await
    else {
        panic!("an MFA session needs no step-up")
    };
    let discovery: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.address))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        discovery["acr_values_supported"],
        serde_json::json!(["urn:portcullis:acr:sfa", "urn:portcullis:acr:mfa"])
    );
}

async fn a_client_requiring_mfa_has_a_one_factor_user_set_one_up_on_the_way(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    let mut spec = rp::spec("Requires MFA");
    spec.skip_consent = true;
    spec.require_mfa = true;
    let (id, secret) = rp::register(&app, spec).await;
    let url = format!(
        "{}/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=s1",
        app.address,
        rp::REDIRECT
    );
    // Signed in with a password only, and no second factor: set one up first.
    let Outcome::Page(200, page) = drive(&ada, &url, None).await else {
        panic!("expected the security page")
    };
    assert!(
        page.contains("The application you are signing in to requires two-factor sign-in"),
        "{page}"
    );
    let continue_to = rp::unescape(between(&page, r#"name="continue_to" value=""#, "\""));
    assert!(
        continue_to.starts_with("/authorize/continue?req="),
        "{continue_to}"
    );

    let res = ada
        .post(
            "/account/security/totp",
            &[("continue_to", continue_to.as_str())],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let secret_key = totp::base32_decode(between(&page, r#"id="totp-secret">"#, "<")).unwrap();
    let code = totp::code_for_step(&secret_key, totp::step_at(unix_now()));
    let res = ada
        .post(
            "/account/security/totp/confirm",
            &[
                ("code", code.as_str()),
                ("continue_to", continue_to.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = rp::unescape(&res.text().await.unwrap());
    assert!(page.contains("recovery-codes"), "shown once, as always");
    assert!(
        page.contains(&format!(
            r#"href="{continue_to}">I have saved them, continue"#
        )),
        "{page}"
    );

    // The code from the new authenticator was a second factor: the request goes through.
    let Outcome::Callback(cb) = drive(&ada, &format!("{}{continue_to}", app.address), None).await
    else {
        panic!("expected the callback")
    };
    let claims = id_token_claims(&app, &id, secret.as_deref(), cb.code()).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "urn:portcullis:acr:mfa");

    // Only local paths are carried on.
    let page = ada
        .get("/account/security?continue_to=%2F%2Fevil.example%2Fx")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("evil.example"), "{page}");
}

async fn with_mfa_required_everywhere_a_silent_one_factor_request_needs_interaction(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| s.mfa.required = true).await;
    let bob = signed_up(&app, "bob@example.com").await;
    let mut spec = rp::spec("Ordinary");
    spec.skip_consent = true;
    let (id, _) = rp::register(&app, spec).await;
    let url = |extra: &str| {
        format!(
            "{}/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid\
             &state=s1{extra}",
            app.address,
            rp::REDIRECT
        )
    };
    let Outcome::Callback(cb) = drive(&bob, &url("&prompt=none"), None).await else {
        panic!("expected an error at the callback")
    };
    assert_eq!(cb.params["error"], "interaction_required");
    let Outcome::Page(200, page) = drive(&bob, &url(""), None).await else {
        panic!("expected the security page")
    };
    assert!(page.contains(r#"name="continue_to""#), "{page}");
}
