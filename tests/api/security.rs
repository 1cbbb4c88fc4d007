use diesel::prelude::*;
use portcullis::db::schema::users;

use crate::helpers::*;

backend_tests!(
    forms_without_a_matching_csrf_token_are_refused,
    pages_carry_security_headers,
    malformed_and_oversized_bodies_get_error_pages_not_500,
    health_endpoints_report_liveness_and_readiness,
    static_files_are_served_and_paths_cannot_escape,
);

async fn forms_without_a_matching_csrf_token_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    b.csrf().await;
    let signup = [
        ("name", "Ada"),
        ("email", "ada@example.com"),
        ("password", PASSWORD),
    ];

    let res = b.post_raw("/signup", &signup).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("This form has expired"));
    let mut forged = signup.to_vec();
    forged.push(("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(b.post_raw("/signup", &forged).await.status(), 403);

    // A browser without the cookie (a cross-site POST under SameSite=Lax) is refused even with
    // a token it somehow learned.
    let token = b.csrf().await;
    let stranger = reqwest::Client::new();
    let mut with_token = signup.to_vec();
    with_token.push(("csrf_token", &token));
    let res = stranger
        .post(format!("{}/signup", app.address))
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // A cross-origin Origin header is refused even with a valid pair.
    let res = b
        .client
        .post(format!("{}/signup", app.address))
        .header("Origin", "https://evil.example")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // `Origin: null` (sandboxed frames, data: pages, no-referrer policies) proves nothing.
    let res = b
        .client
        .post(format!("{}/signup", app.address))
        .header("Origin", "null")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let same_origin = b
        .client
        .post(format!("{}/signup", app.address))
        .header("Origin", &app.address)
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 303);

    // Signed-in forms too: nothing changes without the token.
    let res = b
        .post_raw("/account/profile", &[("name", "Hijacked")])
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(b.post_raw("/logout", &[]).await.status(), 403);
    let name: String = app
        .query(|c| users::table.select(users::name).first(c))
        .await;
    assert_eq!(name, "Ada");
}

async fn pages_carry_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.browser().get("/login").await;
    let h = res.headers();
    let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("default-src 'none'")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(h.get("referrer-policy").unwrap(), "same-origin");
    assert_eq!(h.get("cache-control").unwrap(), "no-store");
    assert!(h.get("x-request-id").is_some());
    let csrf = h
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("portcullis_csrf="))
        .unwrap();
    assert!(csrf.contains("HttpOnly") && csrf.contains("SameSite=Lax"));
}

async fn malformed_and_oversized_bodies_get_error_pages_not_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    let token = b.csrf().await;
    let url = format!("{}/login", app.address);

    let huge = "x".repeat(app.settings.http.body_limit_bytes + 1);
    let res = b
        .client
        .post(&url)
        .form(&[("email", huge.as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(res.text().await.unwrap().contains("too large"));

    let res = b
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());

    let res = b
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![
            b'e', b'm', b'a', b'i', b'l', b'=', 0xff, 0xfe, b'&', b'%',
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());

    let res = b.get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));

    // Signed-in pages with junk in the path.
    let signed_in = signed_up(&app, "ada@example.com").await;
    assert_eq!(
        signed_in
            .post("/account/sessions/%00%ff/revoke", &[])
            .await
            .status(),
        404
    );
}

async fn health_endpoints_report_liveness_and_readiness(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    let alive: serde_json::Value = b.get("/healthz").await.json().await.unwrap();
    insta::assert_json_snapshot!("healthz", alive);
    let ready = b.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    let expected = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(ready["database"], expected);
    insta::assert_json_snapshot!("readyz", ready, { ".database" => "[backend]" });
}

async fn static_files_are_served_and_paths_cannot_escape(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    let css = b.get("/static/style.css").await;
    assert_eq!(css.status(), 200);
    assert!(css
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    for path in [
        "/static/..%2Fbase.html",
        "/static/%2e%2e%2fCargo.toml",
        "/static/nope.css",
    ] {
        assert_eq!(b.get(path).await.status(), 404, "{path}");
    }
}
