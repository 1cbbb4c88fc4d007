use diesel::prelude::*;
use portcullis::db::models::{Account, User};
use portcullis::db::schema::{accounts, users};

use crate::helpers::*;

backend_tests!(
    sign_up_then_account_then_sign_out_and_in,
    email_is_normalised_and_duplicates_get_a_form_error,
    concurrent_duplicate_sign_ups_create_exactly_one_user,
    wrong_password_and_unknown_email_get_the_same_answer,
    sign_up_form_errors_reshow_the_form,
    return_to_only_follows_local_paths,
    outdated_password_hash_is_upgraded_at_sign_in,
);

async fn sign_up_then_account_then_sign_out_and_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    let page = b.get("/signup").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(r#"name="csrf_token""#));

    let res = b.signup("Ada Lovelace", "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");

    let account = b.get("/account").await;
    assert_eq!(account.status(), 200);
    let html = account.text().await.unwrap();
    assert!(html.contains("Ada Lovelace") && html.contains("ada@example.com"));

    let res = b.post("/logout", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?signed_out=1");
    assert!(b.session_token().await.is_none());
    let res = b.get("/account").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?return_to=%2Faccount");

    let res = b.login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(b.get("/account").await.status(), 200);

    // One user with one credential account whose hash is a PHC scrypt string, not the password.
    let (user, account) = app
        .query(|c| {
            let u: User = users::table.select(User::as_select()).first(c)?;
            let a: Account = accounts::table.select(Account::as_select()).first(c)?;
            Ok((u, a))
        })
        .await;
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(account.provider_id, "credential");
    assert_eq!(account.account_id, user.id.as_str());
    assert!(user.id.as_str().starts_with("usr_") && account.id.as_str().starts_with("acc_"));
    let hash = account.password_hash.unwrap();
    assert!(hash.starts_with("$scrypt$ln=4,r=8,p=1$") && !hash.contains(PASSWORD));
}

async fn email_is_normalised_and_duplicates_get_a_form_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    assert_eq!(
        b.signup("Ada", "  Ada@Example.COM ", PASSWORD)
            .await
            .status(),
        303
    );

    let other = app.browser();
    let res = other.signup("Impostor", "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("An account with this email already exists"));
    assert!(!html.contains(PASSWORD), "passwords are never echoed back");

    // Sign-in works with any capitalisation.
    let res = app.browser().login("ADA@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let emails: Vec<String> = app
        .query(|c| users::table.select(users::email).load(c))
        .await;
    assert_eq!(emails, vec!["ada@example.com".to_string()]);
}

async fn concurrent_duplicate_sign_ups_create_exactly_one_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let browsers: Vec<Browser> = (0..8).map(|_| app.browser()).collect();
    for b in &browsers {
        b.csrf().await;
    }
    let attempts = browsers.iter().enumerate().map(|(i, b)| async move {
        b.signup(&format!("Racer {i}"), "race@example.com", PASSWORD)
            .await
            .status()
            .as_u16()
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 422),
        "{statuses:?}"
    );
    let count: i64 = app.query(|c| users::table.count().get_result(c)).await;
    assert_eq!(count, 1);
    let accounts: i64 = app.query(|c| accounts::table.count().get_result(c)).await;
    assert_eq!(accounts, 1, "no half-written rows from the losers");
}

async fn wrong_password_and_unknown_email_get_the_same_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;

    let b = app.browser();
    let wrong = b.login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert!(b.session_token().await.is_none());
    let wrong_html = wrong.text().await.unwrap();

    let unknown = b.login("nobody@example.com", "not the password").await;
    assert_eq!(unknown.status(), 401);
    let unknown_html = unknown.text().await.unwrap();
    assert!(wrong_html.contains("Incorrect email or password."));
    // Same page apart from the echoed email.
    assert_eq!(
        wrong_html.replace("ada@example.com", "X"),
        unknown_html.replace("nobody@example.com", "X")
    );

    let failures: i64 = app
        .query(|c| {
            use portcullis::db::schema::audit_event::dsl::*;
            audit_event
                .filter(kind.eq("session.sign_in_failed"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(failures, 2);
}

async fn sign_up_form_errors_reshow_the_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();

    let res = b.post("/signup", &[]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    for msg in [
        "Enter your name.",
        "Enter your email address.",
        "Enter a password.",
    ] {
        assert!(html.contains(msg), "missing {msg}");
    }

    let res = b.signup("Ada", "not-an-email", "short").await;
    let html = res.text().await.unwrap();
    assert!(html.contains("Enter a valid email address"));
    assert!(html.contains("Use at least 8 characters."));
    assert!(
        html.contains(r#"value="not-an-email""#),
        "the email is kept"
    );

    let long = "x".repeat(129);
    let html = b
        .signup("Ada", "ada@example.com", &long)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Use at most 128 characters."));

    let count: i64 = app.query(|c| users::table.count().get_result(c)).await;
    assert_eq!(count, 0);
}

async fn return_to_only_follows_local_paths(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let cases = [
        ("/account/settings?x=1", "/account/settings?x=1"),
        ("//evil.example", "/account"),
        ("https://evil.example/", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
    ];
    for (return_to, expected) in cases {
        let b = app.browser();
        let res = b
            .post(
                "/login",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("return_to", return_to),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), expected, "return_to={return_to}");
    }
    // A signed-in visit to /login with a hostile return_to stays home too.
    let b = app.browser();
    b.login("ada@example.com", PASSWORD).await;
    let res = b.get("/login?return_to=%2F%2Fevil.example").await;
    assert_eq!(location(&res), "/account");
    // And the page does not carry it into the form.
    let html = app
        .browser()
        .get("/login?return_to=%2F%2Fevil.example")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("evil.example"));
}

async fn outdated_password_hash_is_upgraded_at_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let app = app.restart_with(|s| s.password.log_n = 5).await;

    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    let hash: Option<String> = app
        .query(|c| accounts::table.select(accounts::password_hash).first(c))
        .await;
    let hash = hash.unwrap();
    assert!(hash.starts_with("$scrypt$ln=5,r=8,p=1$"), "{hash}");
    // The upgraded hash still verifies.
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}
