use diesel::prelude::*;
use portcullis::db::schema::{accounts, audit_event, sessions, user_profile, user_settings, users};

use crate::helpers::*;

backend_tests!(
    profile_is_saved_and_validated,
    settings_change_the_theme,
    password_change_needs_the_current_one_and_ends_other_sessions,
    deleting_the_account_removes_everything_it_owns,
    sign_in_methods_list_the_password,
);

async fn profile_is_saved_and_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let fields = [
        ("name", "Ada King"),
        ("picture", "https://img.example.com/ada.png"),
        ("bio", "First programmer."),
        ("website", "https://ada.example.com"),
        ("timezone", "Europe/London"),
    ];
    let res = b.post("/account/profile", &fields).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account?notice=profile");
    let html = b.get("/account?notice=profile").await.text().await.unwrap();
    assert!(
        html.contains("Ada King")
            && html.contains("First programmer.")
            && html.contains("Your profile has been saved.")
    );
    let (bio, tz): (Option<String>, Option<String>) = app
        .query(|c| {
            user_profile::table
                .select((user_profile::bio, user_profile::timezone))
                .first(c)
        })
        .await;
    assert_eq!(bio.as_deref(), Some("First programmer."));
    assert_eq!(tz.as_deref(), Some("Europe/London"));
    let image: Option<String> = app
        .query(|c| users::table.select(users::image).first(c))
        .await;
    assert_eq!(image.as_deref(), Some("https://img.example.com/ada.png"));

    let bad = [
        ("name", ""),
        ("picture", "javascript:alert(1)"),
        ("bio", &"b".repeat(501)),
        ("website", "not a url"),
        ("timezone", "<script>"),
    ];
    let res = b.post("/account/profile", &bad).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Enter your name."));
    assert!(html.contains("Use at most 500 characters."));
    assert!(html.contains("Choose a time zone from the list."));
    assert_eq!(html.matches("Enter a full web address").count(), 2);
    assert!(!html.contains("<script>"), "input is escaped");
    let name: String = app
        .query(|c| users::table.select(users::name).first(c))
        .await;
    assert_eq!(name, "Ada King", "nothing saved from an invalid form");

    // A notice code that is not ours shows nothing.
    let html = b
        .get("/account?notice=%3Cb%3Ehi")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<b>hi"));
}

async fn settings_change_the_theme(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let res = b
        .post(
            "/account/settings",
            &[("theme", "dark"), ("language", "fr")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = b.get("/account/settings").await.text().await.unwrap();
    assert!(html.contains(r#"data-theme="dark""#) && html.contains(r#"lang="fr""#));
    let notifications: bool = app
        .query(|c| {
            user_settings::table
                .select(user_settings::notifications)
                .first(c)
        })
        .await;
    assert!(
        !notifications,
        "an unticked checkbox turns notifications off"
    );

    let res = b
        .post(
            "/account/settings",
            &[
                ("theme", "neon"),
                ("language", "xx"),
                ("notifications", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    // The stored setting is French, so the form errors are French too.
    assert!(html.contains(r#"lang="fr""#), "{html}");
    assert!(
        html.contains("Choisissez Clair, Sombre ou Comme mon appareil.")
            && html.contains("Choisissez une langue dans la liste."),
        "{html}"
    );
    let theme: String = app
        .query(|c| user_settings::table.select(user_settings::theme).first(c))
        .await;
    assert_eq!(theme, "dark");
}

async fn password_change_needs_the_current_one_and_ends_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let other = app.browser();
    other.login("ada@example.com", PASSWORD).await;
    let new = "a brand new passphrase";

    let res = b
        .post(
            "/account/password",
            &[
                ("current_password", "wrong"),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Your current password is incorrect."));
    let res = b
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("confirm_password", "typo"),
            ],
        )
        .await;
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("The passwords do not match."));
    let res = b
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Use at least 8 characters."));
    assert_eq!(
        other.get("/account").await.status(),
        200,
        "failed attempts change nothing"
    );

    let res = b
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(b.get("/account").await.status(), 200, "this session stays");
    assert_eq!(
        other.get("/account").await.status(),
        303,
        "other sessions end"
    );
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.browser().login("ada@example.com", new).await.status(),
        303
    );
}

async fn deleting_the_account_removes_everything_it_owns(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    app.browser().login("ada@example.com", PASSWORD).await;
    let _bob = signed_up(&app, "bob@example.com").await;

    let res = b
        .post(
            "/account/delete",
            &[("password", "wrong"), ("confirm", "DELETE")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Your password is incorrect."));
    let res = b
        .post(
            "/account/delete",
            &[("password", PASSWORD), ("confirm", "nope")],
        )
        .await;
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Type DELETE to confirm."));

    let res = b
        .post(
            "/account/delete",
            &[("password", PASSWORD), ("confirm", "DELETE")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/?deleted=1");
    assert!(b
        .get("/?deleted=1")
        .await
        .text()
        .await
        .unwrap()
        .contains("have been deleted"));
    assert_eq!(b.get("/account").await.status(), 303);

    let counts = app
        .query(|c| {
            Ok([
                users::table.count().get_result::<i64>(c)?,
                accounts::table.count().get_result::<i64>(c)?,
                sessions::table.count().get_result::<i64>(c)?,
                user_profile::table.count().get_result::<i64>(c)?,
                user_settings::table.count().get_result::<i64>(c)?,
            ])
        })
        .await;
    assert_eq!(counts, [1, 1, 1, 1, 1], "only Bob's rows remain");
    let orphaned: i64 = app
        .query(|c| {
            audit_event::table
                .filter(audit_event::kind.eq("user.deleted"))
                .filter(audit_event::user_id.is_null())
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(orphaned, 1, "the audit trail outlives the user");
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        401
    );
}

async fn sign_in_methods_list_the_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let html = b.get("/account/methods").await.text().await.unwrap();
    assert!(html.contains("Password") && html.contains("ada@example.com"));
}
