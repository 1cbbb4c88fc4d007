//! Usernames (issue 14): chosen on the profile, normalised, unique by the database's own index,
//! editable by admins, and received by a certified RP library (openid-client) as
//! `preferred_username` under the `profile` scope.

use diesel::prelude::*;
use portcullis::db::models::Profile;
use portcullis::db::schema::user_profile;
use portcullis::identity::ids::UserId;
use serde_json::{json, Value};

use crate::admin_api::admin_token;
use crate::groups::rp_login;
use crate::helpers::*;
use crate::interop::node_ready;
use crate::rp;

backend_tests!(
    a_username_is_normalised_and_one_taken_in_another_case_is_refused,
    reserved_and_malformed_usernames_are_refused_and_nothing_is_saved,
    the_database_itself_refuses_a_second_user_with_the_same_username,
    an_rp_receives_preferred_username_with_the_profile_scope_only,
    admins_set_and_clear_usernames_through_the_api,
);

fn profile(name: &'static str, username: &'static str) -> [(&'static str, &'static str); 2] {
    [("name", name), ("username", username)]
}

async fn stored_usernames(app: &TestApp) -> Vec<Option<String>> {
    let mut rows = app
        .query(|c| {
            user_profile::table
                .select(user_profile::username)
                .load::<Option<String>>(c)
        })
        .await;
    rows.sort();
    rows
}

async fn a_username_is_normalised_and_one_taken_in_another_case_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    let res = ada
        .post("/account/profile", &profile("Ada", "  Ada.King "))
        .await;
    assert_eq!(res.status(), 303);
    let html = ada.get("/account").await.text().await.unwrap();
    assert!(html.contains(r#"value="ada.king""#), "shown as stored");
    assert_eq!(stored_usernames(&app).await, [Some("ada.king".to_string())]);

    // Saving again with the same name is not a conflict with oneself.
    let res = ada
        .post("/account/profile", &profile("Ada K", "ada.king"))
        .await;
    assert_eq!(res.status(), 303);

    let bob = signed_up(&app, "bob@example.com").await;
    let res = bob
        .post("/account/profile", &profile("Bob", "ADA.KING"))
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("This username is taken."), "{html}");
    assert!(
        html.contains(r#"value="ADA.KING""#),
        "the form keeps what was typed"
    );
    let bobs_name: String = app
        .query(|c| {
            portcullis::db::schema::users::table
                .filter(portcullis::db::schema::users::email.eq("bob@example.com"))
                .select(portcullis::db::schema::users::name)
                .first(c)
        })
        .await;
    assert_ne!(bobs_name, "Bob", "nothing of the refused form was saved");

    // Ada lets go of it; then Bob may have it.
    let res = ada.post("/account/profile", &profile("Ada", "")).await;
    assert_eq!(res.status(), 303);
    let res = bob
        .post("/account/profile", &profile("Bob", "Ada.King"))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        stored_usernames(&app).await,
        [None, Some("ada.king".to_string())]
    );
}

async fn reserved_and_malformed_usernames_are_refused_and_nothing_is_saved(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    for (typed, message) in [
        ("Admin", "This username is reserved."),
        ("postmaster", "This username is reserved."),
        ("ab", "A username has 3 to 32 characters."),
        (
            "ada king",
            "Use letters a–z, digits, dots, dashes and underscores",
        ),
        // Cyrillic "а" in place of the Latin one.
        (
            "\u{430}da",
            "Use letters a–z, digits, dots, dashes and underscores",
        ),
        (
            "-ada",
            "Use letters a–z, digits, dots, dashes and underscores",
        ),
        (
            "<script>x</script>",
            "Use letters a–z, digits, dots, dashes and underscores",
        ),
    ] {
        let res = b
            .post("/account/profile", &[("name", "Ada"), ("username", typed)])
            .await;
        assert_eq!(res.status(), 422, "{typed}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{typed}: {message}");
        assert!(!html.contains("<script>x"), "input is escaped");
    }
    assert!(
        stored_usernames(&app).await.iter().all(Option::is_none),
        "nothing saved"
    );
}

async fn the_database_itself_refuses_a_second_user_with_the_same_username(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    signed_up(&app, "bob@example.com").await;
    let ids: Vec<String> = app
        .query(|c| {
            portcullis::db::schema::users::table
                .select(portcullis::db::schema::users::id)
                .load(c)
        })
        .await;
    let now = chrono::Utc::now().naive_utc();
    let (first, second) = (
        UserId::from_db(ids[0].clone()),
        UserId::from_db(ids[1].clone()),
    );
    let owner = first.clone();
    app.query(move |c| Profile::set_username(c, &owner, Some("ada"), now))
        .await;
    // Past the application's own check, straight at the table: the index refuses.
    let dup = second.clone();
    let err = app
        .query(move |c| Ok(Profile::set_username(c, &dup, Some("ada"), now)))
        .await
        .expect_err("a duplicate username is refused by the database");
    assert!(
        portcullis::db::is_unique_violation(&err),
        "a unique violation: {err:?}"
    );
    // "No username" is not a value: any number of users may have none.
    app.query(move |c| {
        Profile::set_username(c, &second, None, now)?;
        Profile::set_username(c, &first, None, now)
    })
    .await;
    let none = app
        .query(|c| {
            user_profile::table
                .filter(user_profile::username.is_null())
                .count()
                .get_result::<i64>(c)
        })
        .await;
    assert_eq!(none, 2);
}

async fn an_rp_receives_preferred_username_with_the_profile_scope_only(backend: Backend) {
    if !node_ready() {
        return;
    }
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Username app")).await;
    let secret = secret.unwrap();

    let before = rp_login(&app, &id, &secret, "ada@example.com", "openid profile").await;
    assert!(
        before["userinfo"].get("preferred_username").is_none(),
        "none chosen, none sent: {before}"
    );

    let res = b.post("/account/profile", &profile("Ada", "Ada_L")).await;
    assert_eq!(res.status(), 303);
    let got = rp_login(&app, &id, &secret, "ada@example.com", "openid profile").await;
    assert_eq!(got["userinfo"]["preferred_username"], "ada_l", "{got}");
    assert_eq!(got["userinfo"]["sub"], got["id_token"]["sub"]);

    let email_only = rp_login(&app, &id, &secret, "ada@example.com", "openid email").await;
    assert!(
        email_only["userinfo"].get("preferred_username").is_none(),
        "not without the profile scope: {email_only}"
    );
}

async fn admins_set_and_clear_usernames_through_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    let res = bob.post("/account/profile", &profile("Bob", "bob")).await;
    assert_eq!(res.status(), 303);
    let (_, token) = admin_token(&app).await;
    let client = reqwest::Client::new();
    let ada_id: String = app
        .query(|c| {
            portcullis::db::schema::users::table
                .filter(portcullis::db::schema::users::email.eq("ada@example.com"))
                .select(portcullis::db::schema::users::id)
                .first(c)
        })
        .await;
    let patch = |body: Value| {
        client
            .patch(format!("{}/admin/api/v1/users/{ada_id}", app.address))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let res = patch(json!({"username": "Countess"})).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["profile"]["username"], "countess", "{body}");

    let res = patch(json!({"username": "BOB"})).await.unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "conflict", "{body}");
    assert!(body["message"].as_str().unwrap().contains("username"));

    let res = patch(json!({"username": "root"})).await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("reserved"),
        "{body}"
    );

    let res = patch(json!({"username": ""})).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["profile"]["username"], Value::Null, "{body}");
    assert_eq!(
        stored_usernames(&app).await,
        [None, Some("bob".to_string())]
    );
}
