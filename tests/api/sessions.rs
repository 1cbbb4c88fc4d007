use chrono::{Duration, Utc};
use diesel::prelude::*;
use portcullis::crypto::sha256_hex;
use portcullis::db::models::Session;
use portcullis::db::schema::sessions;
use portcullis::identity::sessions::{sweep, SessionPolicy};

use crate::helpers::*;

backend_tests!(
    session_cookie_is_opaque_httponly_and_stored_hashed,
    idle_session_expires,
    absolute_expiry_ends_even_an_active_session,
    use_slides_the_idle_window_without_a_write_per_request,
    sessions_are_listed_and_revocable,
    sweeper_removes_expired_sessions,
);

fn now() -> chrono::NaiveDateTime {
    Utc::now().naive_utc()
}

async fn only_session(app: &TestApp) -> Session {
    app.query(|c| sessions::table.select(Session::as_select()).first(c))
        .await
}

async fn session_cookie_is_opaque_httponly_and_stored_hashed(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    let res = b.signup("Ada", "ada@example.com", PASSWORD).await;
    let set_cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("portcullis_session="))
        .unwrap();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/")
    );
    assert!(
        !set_cookie.contains("Secure"),
        "plain http issuer: no Secure flag"
    );

    let token = b.session_token().await.unwrap();
    assert!(token.len() >= 43, "256-bit token");
    let stored = only_session(&app).await;
    assert_eq!(stored.token_hash, sha256_hex(&token));
    assert_ne!(stored.token_hash, token);
    assert!(stored.id.as_str().starts_with("ses_"));
    assert_eq!(stored.auth_method, "pwd");
    assert_eq!(stored.ip_address.as_deref(), Some("127.0.0.1"));

    // An https issuer marks the cookie Secure.
    let app = spawn_app_with(backend, |s| s.issuer = "https://id.example.com".into()).await;
    let res = app
        .browser()
        .signup("Ada", "ada@example.com", PASSWORD)
        .await;
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(cookies
        .iter()
        .filter(|c| c.starts_with("portcullis_session="))
        .all(|c| c.contains("Secure")));
}

async fn idle_session_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let idle = app.settings.session.idle_timeout_secs;
    let past = now() - Duration::seconds(idle + 5);
    app.query(move |c| {
        diesel::update(sessions::table)
            .set(sessions::last_seen_at.eq(past))
            .execute(c)
    })
    .await;

    let res = b.get("/account").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login"));
    let left: i64 = app.query(|c| sessions::table.count().get_result(c)).await;
    assert_eq!(left, 0, "an expired session is deleted on sight");
}

async fn absolute_expiry_ends_even_an_active_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let past = now() - Duration::seconds(1);
    app.query(move |c| {
        diesel::update(sessions::table)
            .set(sessions::expires_at.eq(past))
            .execute(c)
    })
    .await;
    let res = b.get("/account").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login"));
}

async fn use_slides_the_idle_window_without_a_write_per_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let first = only_session(&app).await.last_seen_at;
    for _ in 0..3 {
        assert_eq!(b.get("/account").await.status(), 200);
    }
    assert_eq!(
        only_session(&app).await.last_seen_at,
        first,
        "fresh sessions are not rewritten"
    );

    // Stale by more than the touch interval but within the idle timeout: the visit slides it.
    let stale = now() - Duration::seconds(app.settings.session.touch_interval_secs + 60);
    app.query(move |c| {
        diesel::update(sessions::table)
            .set(sessions::last_seen_at.eq(stale))
            .execute(c)
    })
    .await;
    assert_eq!(b.get("/account").await.status(), 200);
    let slid = only_session(&app).await.last_seen_at;
    assert!(
        slid > stale + Duration::seconds(30),
        "last_seen_at moved forward"
    );
    let session = only_session(&app).await;
    assert!(
        session.auth_time <= session.last_seen_at,
        "auth_time stays the sign-in time"
    );
}

async fn sessions_are_listed_and_revocable(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = signed_up(&app, "ada@example.com").await;
    let phone = app.browser();
    assert_eq!(phone.login("ada@example.com", PASSWORD).await.status(), 303);
    let tablet = app.browser();
    assert_eq!(
        tablet.login("ada@example.com", PASSWORD).await.status(),
        303
    );

    let html = laptop.get("/account/sessions").await.text().await.unwrap();
    assert_eq!(
        html.matches("class=\"session ").count() + html.matches("class=\"session\"").count(),
        3
    );
    assert!(html.contains("Firefox on Linux") && html.contains("This device"));

    let phone_id: String = {
        let token = phone.session_token().await.unwrap();
        app.query(move |c| {
            sessions::table
                .filter(sessions::token_hash.eq(sha256_hex(&token)))
                .select(sessions::id)
                .first(c)
        })
        .await
    };
    let res = laptop
        .post(&format!("/account/sessions/{phone_id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        phone.get("/account").await.status(),
        303,
        "the revoked device is signed out"
    );
    assert_eq!(tablet.get("/account").await.status(), 200);

    // Someone else cannot revoke Ada's sessions, even knowing the ID.
    let mallory = signed_up(&app, "mallory@example.com").await;
    let laptop_id: String = {
        let token = laptop.session_token().await.unwrap();
        app.query(move |c| {
            sessions::table
                .filter(sessions::token_hash.eq(sha256_hex(&token)))
                .select(sessions::id)
                .first(c)
        })
        .await
    };
    let res = mallory
        .post(&format!("/account/sessions/{laptop_id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        mallory
            .post("/account/sessions/not-an-id/revoke", &[])
            .await
            .status(),
        404
    );
    assert_eq!(laptop.get("/account").await.status(), 200);

    let res = laptop.post("/account/sessions/revoke-others", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(tablet.get("/account").await.status(), 303);
    assert_eq!(laptop.get("/account").await.status(), 200);
    assert_eq!(
        mallory.get("/account").await.status(),
        200,
        "other users are untouched"
    );
}

async fn sweeper_removes_expired_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let _ada = signed_up(&app, "ada@example.com").await;
    let _bob = signed_up(&app, "bob@example.com").await;
    let long_ago = now() - Duration::days(60);
    let bob_id: String = app
        .query(|c| {
            use portcullis::db::schema::users;
            users::table
                .filter(users::email.eq("bob@example.com"))
                .select(users::id)
                .first(c)
        })
        .await;
    app.query(move |c| {
        diesel::update(sessions::table.filter(sessions::user_id.eq(bob_id)))
            .set(sessions::last_seen_at.eq(long_ago))
            .execute(c)
    })
    .await;
    let policy = SessionPolicy::from(&app.settings.session);
    let removed = app.query(move |c| sweep(c, &policy, now())).await;
    assert_eq!(removed, 1);
    let left: i64 = app.query(|c| sessions::table.count().get_result(c)).await;
    assert_eq!(left, 1);
}
