//! Brute-force defence (issue 12 item 1) and sign-up without enumeration (item 2): backoff
//! refusals that never check the password, the soft lock and its mail, the same answers for
//! unknown addresses, per-IP counting, `portcullis user unlock`, client-secret throttling, and
//! the uniform sign-up answer. No sleeps: the backoff is set to 0 s (never waits) or an hour
//! (always waits) so that every answer is decided by the count alone.

use std::process::Command;

use diesel::prelude::*;
use portcullis::db::schema::{audit_event, sign_in_throttle};

use crate::email::{nth_code, wait_mails};
use crate::helpers::*;

backend_tests!(
    backoff_refuses_even_the_right_password_without_checking_it,
    lock_after_threshold_keeps_email_code_working_and_mails_the_owner,
    unknown_address_gets_the_same_answers_as_a_known_one,
    success_clears_the_count,
    per_ip_failures_across_accounts_back_off_that_ip,
    unlock_cli_lifts_the_lock,
    wrong_client_secrets_are_throttled_per_client,
    signup_with_verified_email_required_answers_the_same_and_mails_the_owner,
    signup_is_limited_per_ip,
);

const HOUR: i64 = 3600;

fn throttled_with(
    free: i32,
    base: i64,
    lock_after: i32,
) -> impl FnOnce(&mut portcullis::config::Settings) {
    move |s| {
        let t = &mut s.auth.throttle;
        t.free_failures = free;
        t.backoff_base_secs = base;
        t.backoff_max_secs = base.max(1) * 64;
        t.lock_after = lock_after;
    }
}

/// Status, Retry-After and the page text of a sign-in attempt.
async fn attempt(b: &Browser, email: &str, password: &str) -> (u16, Option<String>, String) {
    let res = b.login(email, password).await;
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, res.text().await.unwrap_or_default())
}

async fn backoff_refuses_even_the_right_password_without_checking_it(backend: Backend) {
    let app = spawn_app_with(backend, throttled_with(2, HOUR, 100)).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    for _ in 0..2 {
        let (status, retry, _) = attempt(&b, "ada@example.com", "wrong password").await;
        assert_eq!((status, retry), (401, None));
    }
    // Two failures: the next attempt must wait an hour, and even the right password is refused
    // (it is not checked at all).
    let (status, retry, html) = attempt(&b, "ADA@example.com ", PASSWORD).await;
    assert_eq!(status, 429, "{html}");
    assert_eq!(retry.as_deref(), Some("3600"));
    assert!(
        html.contains("Too many attempts, try again in 3600 seconds"),
        "{html}"
    );
    assert!(b.session_token().await.is_none());
    // The refused attempt did not count: still one hour, not two.
    let (_, retry, _) = attempt(&b, "ada@example.com", "wrong password").await;
    assert_eq!(retry.as_deref(), Some("3600"));
    // Another browser (same IP, other account) is not affected by ada's count.
    signed_up(&app, "bob@example.com").await;
    let (status, _, _) = attempt(&app.browser(), "bob@example.com", PASSWORD).await;
    assert_eq!(status, 303);
}

async fn lock_after_threshold_keeps_email_code_working_and_mails_the_owner(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        throttled_with(0, 0, 3)(s);
        s.accounts.email_code = true;
    })
    .await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    for _ in 0..3 {
        let (status, _, _) = attempt(&b, "ada@example.com", "wrong password").await;
        assert_eq!(status, 401);
    }
    // Locked: the right password is refused, with a message that says what to do instead.
    let (status, retry, html) = attempt(&b, "ada@example.com", PASSWORD).await;
    assert_eq!(status, 429, "{html}");
    assert_eq!(retry.as_deref(), Some("900"));
    assert!(
        html.contains("signing in with the password is paused for this account for 15 minutes")
            && html.contains("Sign in another way below"),
        "{html}"
    );

    // The owner is told once, and the lock is audited once.
    let mails = wait_mails(
        &app,
        "ada@example.com",
        "Password sign-in to your account",
        1,
    )
    .await;
    let text = mails[0].text();
    assert!(
        text.contains("in the other ways the sign-in page offers"),
        "{text}"
    );
    assert!(
        text.contains("/login") && text.contains("/forgot"),
        "{text}"
    );
    attempt(&b, "ada@example.com", "wrong password").await;
    let locks: i64 = app
        .query(|c| {
            audit_event::table
                .filter(audit_event::kind.eq("credential.password_locked"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(locks, 1);

    // Email-code sign-in still works while the password is locked.
    let res = b.post("/login/code", &[("email", "ada@example.com")]).await;
    assert_eq!(res.status(), 200);
    let code = nth_code(&app, "ada@example.com", 1).await;
    let res = b
        .post(
            "/login/code/verify",
            &[("email", "ada@example.com"), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(b.get("/account").await.status(), 200);
}

async fn unknown_address_gets_the_same_answers_as_a_known_one(backend: Backend) {
    let app = spawn_app_with(backend, throttled_with(2, HOUR, 3)).await;
    signed_up(&app, "ada@example.com").await;
    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let b = app.browser();
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (status, retry, html) = attempt(&b, email, "wrong password").await;
            seen.push((status, retry, error_of(&html)));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][0].0, 401);
    assert_eq!(answers[0][3].0, 429);
}

/// The flash message of a page (the text of its alert), or "" when it has none.
fn error_of(html: &str) -> String {
    html.split("role=\"alert\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(text, _)| text.trim().to_string())
        .unwrap_or_default()
}

async fn success_clears_the_count(backend: Backend) {
    let app = spawn_app_with(backend, throttled_with(3, HOUR, 100)).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    for _ in 0..2 {
        assert_eq!(attempt(&b, "ada@example.com", "wrong").await.0, 401);
    }
    assert_eq!(attempt(&b, "ada@example.com", PASSWORD).await.0, 303);
    let rows: i64 = app
        .query(|c| {
            sign_in_throttle::table
                .filter(sign_in_throttle::key.eq("account:ada@example.com"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(rows, 0);
    // Two more failures are free again.
    let b = app.browser();
    for _ in 0..2 {
        assert_eq!(attempt(&b, "ada@example.com", "wrong").await.0, 401);
    }
    assert_eq!(attempt(&b, "ada@example.com", PASSWORD).await.0, 303);
}

async fn per_ip_failures_across_accounts_back_off_that_ip(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        throttled_with(50, HOUR, 100)(s);
        s.auth.throttle.per_ip_per_hour = 3;
    })
    .await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    for n in 0..3 {
        let (status, _, _) = attempt(&b, &format!("user{n}@example.com"), "wrong").await;
        assert_eq!(status, 401);
    }
    // Three failures from this IP: every account waits now, ada's right password included.
    let (status, retry, _) = attempt(&app.browser(), "ada@example.com", PASSWORD).await;
    assert_eq!(status, 429);
    assert_eq!(retry.as_deref(), Some("3600"));
}

fn portcullis_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("PORTCULLIS_DATABASE__URL", &app.test_db.url)
        .env("PORTCULLIS_DATA_DIR", app.data_dir())
        .env("PORTCULLIS_LOG__FILTER", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .output()
        .unwrap()
}

async fn unlock_cli_lifts_the_lock(backend: Backend) {
    let app = spawn_app_with(backend, throttled_with(0, 0, 2)).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    for _ in 0..2 {
        attempt(&b, "ada@example.com", "wrong").await;
    }
    assert_eq!(attempt(&b, "ada@example.com", PASSWORD).await.0, 429);

    let out = portcullis_cli(&app, &["user", "unlock", "Ada@Example.com"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("unlocked"));
    assert_eq!(attempt(&b, "ada@example.com", PASSWORD).await.0, 303);
    let unlocks: i64 = app
        .query(|c| {
            audit_event::table
                .filter(audit_event::kind.eq("credential.password_unlocked"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(unlocks, 1);

    let out = portcullis_cli(&app, &["user", "unlock", "nobody@example.com"]);
    assert!(!out.status.success());
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/token", app.address))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn wrong_client_secrets_are_throttled_per_client(backend: Backend) {
    let app = spawn_app_with(backend, throttled_with(2, HOUR, 100)).await;
    let mut spec = crate::rp::spec("Machine");
    spec.redirect_uris = vec![];
    spec.post_logout_redirect_uris = vec![];
    spec.grant_types = vec!["client_credentials".into()];
    let (id, secret) = crate::rp::register(&app, spec.clone()).await;
    let secret = secret.unwrap();
    let (other_id, other_secret) = crate::rp::register(&app, spec).await;

    for _ in 0..2 {
        let (status, body) = client_credentials(&app, &id, "wrong secret").await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_description"], "client authentication failed");
    }
    // The right secret is refused now, without being checked.
    let (status, body) = client_credentials(&app, &id, &secret).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(
        body["error_description"],
        "too many failed client authentications; try again in 3600 seconds"
    );
    // Per client: another client is not affected.
    let (status, body) = client_credentials(&app, &other_id, &other_secret.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    // Unknown client ids are counted the same way (their existence is not revealed).
    for _ in 0..2 {
        client_credentials(&app, "cli_nobody", "x").await;
    }
    let (_, body) = client_credentials(&app, "cli_nobody", "x").await;
    assert_eq!(
        body["error_description"],
        "too many failed client authentications; try again in 3600 seconds"
    );
}

async fn signup_with_verified_email_required_answers_the_same_and_mails_the_owner(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| s.accounts.require_verified_email = true).await;
    let first = app
        .browser()
        .signup("Ada", "ada@example.com", PASSWORD)
        .await;
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();
    let again = app
        .browser()
        .signup("Impostor", "Ada@example.com", "another long password")
        .await;
    assert_eq!(again.status(), 200);
    let again = again.text().await.unwrap();
    assert_eq!(
        first.replace(char::is_whitespace, ""),
        again.replace(char::is_whitespace, ""),
        "the same page whether or not the address was taken"
    );
    assert!(first.contains("ada@example.com"));
    let mails = wait_mails(&app, "ada@example.com", "You already have an account", 1).await;
    let text = mails[0].text();
    assert!(
        text.contains("/login") && text.contains("/forgot"),
        "{text}"
    );
    // Still one user, with the first password.
    let users: i64 = app
        .query(|c| portcullis::db::schema::users::table.count().get_result(c))
        .await;
    assert_eq!(users, 1);
}

async fn signup_is_limited_per_ip(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.signup_per_ip_per_hour = 2).await;
    for n in 0..2 {
        let res = app
            .browser()
            .signup("Ada", &format!("ada{n}@example.com"), PASSWORD)
            .await;
        assert_eq!(res.status(), 303);
    }
    let res = app
        .browser()
        .signup("Ada", "ada9@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), 429);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Too many sign-ups from your network"));
}
