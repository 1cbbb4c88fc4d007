//! An administrator's controls over a user from the command line (issue 12): disabling (every
//! session, token and RP session of theirs ends; sign-in is refused, but only after the right
//! password), enabling, and resetting second factors.

use std::process::{Command, Output, Stdio};

use diesel::prelude::*;
use portcullis::db::schema::{audit_event, users};
use serde_json::Value;

use crate::helpers::*;
use crate::oidc_logout::{
    assert_signed_out, backchannel_mock, complete_flow, outbox, settle, token_request,
    userinfo_status, verify_logout_request, wait_for_requests,
};
use crate::rp;

backend_tests!(
    disabling_a_user_ends_their_sessions_tokens_and_rp_sessions,
    a_disabled_user_is_refused_only_after_the_right_proof_and_enabling_lets_them_back,
    a_second_factor_step_begun_before_disabling_opens_no_session,
    reset_second_factor_lets_the_user_sign_in_with_the_password_alone,
    admin_commands_name_unknown_users_and_say_when_nothing_changes,
);

const DISABLED: &str = "This account has been disabled. Contact your administrator.";

/// Runs the real binary against the app's database, data directory (master key) and issuer.
pub(crate) fn portcullis(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("PORTCULLIS_DATABASE__URL", &app.test_db.url)
        .env("PORTCULLIS_DATA_DIR", app.data_dir())
        .env("PORTCULLIS_ISSUER", &app.address)
        .env("PORTCULLIS_PASSWORD__LOG_N", "4")
        .env("PORTCULLIS_LOG__FILTER", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn cli_ok(app: &TestApp, args: &[&str]) -> String {
    let out = portcullis(app, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{args:?} exited with {}: {}{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn audit_details(app: &TestApp, kind: &'static str) -> Vec<Option<String>> {
    app.query(move |c| {
        audit_event::table
            .filter(audit_event::kind.eq(kind))
            .select(audit_event::detail)
            .load(c)
    })
    .await
}

async fn introspect_active(app: &TestApp, client_id: &str, secret: &str, token: &str) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{}/introspect", app.address))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["active"].clone()
}

async fn disabling_a_user_ends_their_sessions_tokens_and_rp_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let bc = backchannel_mock().await;
    let mut spec = rp::spec("Notes");
    spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
    let (id, secret) = rp::register(&app, spec).await;
    let secret = secret.unwrap();
    let rp = rp::rp(&app, &id, Some(&secret)).await;

    let laptop = signed_up(&app, "ada@example.com").await;
    let laptop_session = laptop.session_token().await.unwrap();
    let phone = app.browser();
    assert_eq!(phone.login("ada@example.com", PASSWORD).await.status(), 303);
    let phone_session = phone.session_token().await.unwrap();
    let tokens = complete_flow(&phone, &rp, &["profile", "offline_access"]).await;
    let refresh = tokens.refresh_token.clone().expect("a refresh token");
    assert_eq!(userinfo_status(&app, &tokens.access_token).await, 200);
    // Someone else's session and tokens are not touched.
    let bob = signed_up(&app, "bob@example.com").await;
    let bobs = complete_flow(&bob, &rp, &["profile"]).await;

    let out = cli_ok(
        &app,
        &[
            "user",
            "disable",
            "ada@example.com",
            "--reason",
            "left the company",
        ],
    );
    assert!(out.starts_with("disabled usr_"), "{out}");
    assert!(
        out.contains("2 session(s) ended, 1 authorization(s) revoked"),
        "{out}"
    );

    // Every browser session of theirs is over, cookie and row.
    assert_signed_out(&app, &laptop, &laptop_session).await;
    assert_signed_out(&app, &phone, &phone_session).await;
    // Every token is dead: refresh, UserInfo, introspection.
    let (status, body) = token_request(
        &app,
        &id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(userinfo_status(&app, &tokens.access_token).await, 401);
    assert_eq!(
        introspect_active(&app, &id, &secret, &tokens.access_token).await,
        false
    );
    assert_eq!(introspect_active(&app, &id, &secret, &refresh).await, false);

    // The RP of the session in which it got tokens is told, over the back channel, for that sid.
    wait_for_requests(&bc, 1).await;
    settle(&app).await;
    let got = bc.received_requests().await.unwrap();
    assert_eq!(got.len(), 1, "one logout: one RP session of Ada's");
    let claims = verify_logout_request(&app, &got[0], &id).await;
    assert_eq!(claims["sid"], tokens.claims["sid"]);
    assert_eq!(claims["sub"], tokens.claims["sub"]);
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "delivered");

    // Bob is still signed in, and his token still works.
    assert_eq!(bob.get("/account").await.status(), 200);
    assert_eq!(userinfo_status(&app, &bobs.access_token).await, 200);

    // Listed as disabled, with the reason; audited with it.
    let listed: Value = serde_json::from_str(&cli_ok(&app, &["user", "list", "--json"])).unwrap();
    let ada = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ada@example.com")
        .unwrap();
    assert!(ada["disabled_at"].as_str().is_some(), "{ada}");
    assert_eq!(ada["disabled_reason"], "left the company");
    let bob_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "bob@example.com")
        .unwrap();
    assert!(bob_row.get("disabled_at").is_none(), "{bob_row}");
    assert_eq!(
        audit_details(&app, "user.disabled").await,
        vec![Some("left the company".to_string())]
    );

    // Disabling twice changes nothing and says so.
    let again = cli_ok(&app, &["user", "disable", "ada@example.com"]);
    assert!(again.contains("is already disabled (since "), "{again}");
    assert_eq!(audit_details(&app, "user.disabled").await.len(), 1);
}

async fn a_disabled_user_is_refused_only_after_the_right_proof_and_enabling_lets_them_back(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| s.accounts.email_code = true).await;
    signed_up(&app, "ada@example.com").await;
    cli_ok(&app, &["user", "disable", "ada@example.com"]);

    // A wrong password gets the usual answer: nothing says the account exists or is disabled.
    let b = app.browser();
    let res = b.login("ada@example.com", "not the password").await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("Incorrect email or password."), "{html}");
    assert!(
        !html.contains(DISABLED) && !html.contains("Account disabled"),
        "{html}"
    );

    // The right one: the refusal page, and no session.
    let res = b.login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 403);
    let html = res.text().await.unwrap();
    assert!(html.contains(DISABLED), "{html}");
    assert!(html.contains("Account disabled"), "{html}");
    assert!(b.session_token().await.is_none());

    // The same after proving the address with an emailed code.
    let res = b.post("/login/code", &[("email", "ada@example.com")]).await;
    assert_eq!(res.status(), 200);
    let code = crate::email::nth_code(&app, "ada@example.com", 1).await;
    let res = b
        .post(
            "/login/code/verify",
            &[("email", "ada@example.com"), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains(DISABLED));
    assert!(b.session_token().await.is_none());

    // In the reader's language.
    for (lang, text) in [
        (
            "de",
            "Dieses Konto wurde deaktiviert. Wenden Sie sich an Ihren Administrator.",
        ),
        (
            "fr",
            "Ce compte a été désactivé. Contactez votre administrateur.",
        ),
    ] {
        let csrf = b.csrf().await;
        let res = b
            .client
            .post(format!("{}/login", b.base))
            .header("accept-language", lang)
            .form(&[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("csrf_token", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let html = res.text().await.unwrap();
        assert!(html.contains(text), "{lang}: {html}");
    }

    let out = cli_ok(&app, &["user", "enable", "ada@example.com"]);
    assert!(out.starts_with("enabled usr_"), "{out}");
    let res = b.login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(b.get("/account").await.status(), 200);
    assert_eq!(audit_details(&app, "user.enabled").await.len(), 1);
    let disabled: Option<chrono::NaiveDateTime> = app
        .query(|c| {
            users::table
                .filter(users::email.eq("ada@example.com"))
                .select(users::disabled_at)
                .first(c)
        })
        .await;
    assert!(disabled.is_none());
}

/// The password was right before the administrator acted; the code comes after. The code is
/// right too, but no session opens; and with the account disabled, the right password goes
/// straight to the refusal, not to the second step.
async fn a_second_factor_step_begun_before_disabling_opens_no_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    let enrolled = crate::second_factor::enrol(&ada).await;

    let b = app.browser();
    let res = b.login("ada@example.com", PASSWORD).await;
    assert!(location(&res).starts_with("/login/second-factor"));
    cli_ok(&app, &["user", "disable", "ada@example.com"]);
    let res = b
        .post(
            "/login/second-factor",
            &[("code", enrolled.recovery[0].as_str())],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains(DISABLED));
    assert!(b.session_token().await.is_none());

    let res = app.browser().login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 403, "{}", location(&res));
    assert!(res.text().await.unwrap().contains(DISABLED));
}

async fn reset_second_factor_lets_the_user_sign_in_with_the_password_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    crate::second_factor::enrol(&b).await;

    let fresh = app.browser();
    let res = fresh.login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login/second-factor"),
        "{}",
        location(&res)
    );
    assert!(fresh.session_token().await.is_none());

    let out = cli_ok(&app, &["user", "reset-second-factor", "ada@example.com"]);
    assert!(out.starts_with("second factors removed for usr_"), "{out}");
    assert_eq!(
        audit_details(&app, "credential.second_factor_disabled").await,
        vec![Some("reset by an administrator".to_string())]
    );
    // The owner is told, with a link to this server's security page.
    let mails = crate::email::wait_mails(
        &app,
        "ada@example.com",
        "Two-factor sign-in was turned off",
        1,
    )
    .await;
    let text = mails[0].text();
    assert!(
        text.contains(&format!("{}/account/security", app.address)),
        "{text}"
    );

    let fresh = app.browser();
    let res = fresh.login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(
        !location(&res).starts_with("/login/second-factor"),
        "{}",
        location(&res)
    );
    assert_eq!(fresh.get("/account").await.status(), 200);

    let again = cli_ok(&app, &["user", "reset-second-factor", "ada@example.com"]);
    assert!(
        again.contains("has no second factor; nothing changed"),
        "{again}"
    );
}

async fn admin_commands_name_unknown_users_and_say_when_nothing_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    for args in [
        vec!["user", "disable", "nobody@example.com"],
        vec!["user", "enable", "nobody@example.com"],
        vec!["user", "reset-second-factor", "nobody@example.com"],
    ] {
        let out = portcullis(&app, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no user nobody@example.com"),
            "{args:?}: {err}"
        );
    }
    signed_up(&app, "ada@example.com").await;
    let out = cli_ok(&app, &["user", "enable", "ada@example.com"]);
    assert!(out.contains("is not disabled; nothing changed"), "{out}");
    let table = cli_ok(&app, &["user", "list"]);
    assert!(
        table.lines().next().unwrap().ends_with("DISABLED"),
        "{table}"
    );
    cli_ok(&app, &["user", "disable", "ada@example.com"]);
    let table = cli_ok(&app, &["user", "list"]);
    let row = table
        .lines()
        .find(|l| l.contains("ada@example.com"))
        .unwrap();
    assert!(!row.ends_with(" -"), "the row shows since when: {row}");
}
