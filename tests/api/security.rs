use diesel::prelude::*;
use portcullis::db::schema::users;

use crate::helpers::*;

backend_tests!(
    forms_without_a_matching_csrf_token_are_refused,
    every_state_changing_page_route_refuses_a_post_without_token,
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

/// Routes that take state-changing requests without our CSRF token, and why that is right.
/// Keyed by the route's first argument as written in `src/web` (a literal or a constant).
const CSRF_EXEMPT: &[(&str, &str)] = &[
    (
        "AUTHORIZE_PATH",
        "OIDC Core 3.1.2.1: relying parties may post the authorization request from their site",
    ),
    (
        "END_SESSION_PATH",
        "RP-Initiated Logout 1.0 §2: relying parties post here; without a proving id_token_hint \
         it only shows a confirmation whose form (/end_session/confirm) is checked",
    ),
    (
        "TOKEN_PATH",
        "API: clients authenticate themselves, no cookie is used",
    ),
    (
        "USERINFO_PATH",
        "API: bearer access token, no cookie is used",
    ),
    (
        "REVOKE_PATH",
        "API: clients authenticate themselves, no cookie is used",
    ),
    (
        "INTROSPECT_PATH",
        "API: clients authenticate themselves, no cookie is used",
    ),
];

/// Every route registered in `src/web` for a state-changing method, as `(first argument of the
/// route, method)`: read from the source, so a route added anywhere is in the list without
/// anyone remembering to add it. Knows the two ways routes are written there:
/// `cfg.route(PATH, web::post().to(..))` and `web::resource(PATH)...route(web::post().to(..))`.
fn state_changing_routes() -> Vec<(String, &'static str)> {
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web"),
        &mut paths,
    );
    // The admin API's JSON routes sit under a scope prefix this scanner cannot see, and take
    // the token in a header, not a form field: `admin_api::every_api_change_refuses_a_session_call_without_the_csrf_header`
    // checks each of them, read from the OpenAPI document, instead.
    paths.retain(|p| !p.ends_with("src/web/admin/api.rs"));
    let mut routes = Vec::new();
    for path in paths {
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for method in ["post", "put", "patch", "delete"] {
            let needle = format!("web::{method}()");
            for (at, _) in text.match_indices(&needle) {
                let before = &text[..at];
                let first_arg = if before.ends_with(".route(") {
                    let start = before.rfind("resource(").expect("resource before .route(") + 9;
                    &before[start..start + before[start..].find(')').unwrap()]
                } else {
                    let start = before.rfind("route(").expect("route( before the method") + 6;
                    before[start..].trim_end_matches(',')
                };
                routes.push((first_arg.to_string(), method));
            }
        }
        assert!(
            !text.contains("web::route()") && !text.contains("#[post("),
            "{}: register routes as web::post() etc. so this test sees them",
            path.display()
        );
    }
    routes
}

/// No page route can be added that changes state without the CSRF check: every POST route in
/// `src/web` is posted to by a signed-in browser without a token, with a wrong one, and with
/// the right one from a foreign origin or `Origin: null`, and must refuse each with the CSRF
/// page.
async fn every_state_changing_page_route_refuses_a_post_without_token(backend: Backend) {
    let routes = state_changing_routes();
    // The scanner must see what we know is there, or this test would pass by seeing nothing.
    for known in [
        "\"/signup\"",
        "\"/logout\"",
        "\"/account/sessions/{id}/revoke\"",
        "\"/account/apps/revoke\"",
        "\"/login/code/verify\"",
        "\"/authorize/consent\"",
        "\"/account/methods/unlink\"",
        "TOKEN_PATH",
    ] {
        assert!(
            routes.iter().any(|(r, _)| r == known),
            "{known} not found among {routes:?}"
        );
    }
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let token = b.csrf().await;
    let mut checked = 0;
    for (route, method) in &routes {
        if CSRF_EXEMPT.iter().any(|(r, _)| r == route) {
            continue;
        }
        let path = route
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{route}: not a literal path; list it in CSRF_EXEMPT with the reason, or check it"));
        // Path parameters get a harmless value; the check comes before anything uses them.
        let path: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{}{}", app.address, path);
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let attempts = [
            ("without a token", None, None),
            (
                "with a wrong token",
                Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                None,
            ),
            (
                "from a foreign origin",
                Some(token.as_str()),
                Some("https://evil.example"),
            ),
            // Our own pages never cause it (Referrer-Policy: same-origin; the browser suite).
            ("with Origin: null", Some(token.as_str()), Some("null")),
        ];
        for (how, sent, origin) in attempts {
            let fields: Vec<(&str, &str)> = sent.map(|t| ("csrf_token", t)).into_iter().collect();
            let mut req = b.client.request(method.clone(), &url).form(&fields);
            if let Some(origin) = origin {
                req = req.header("Origin", origin);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 403, "{method} {path} {how}");
            assert!(
                res.text().await.unwrap().contains("This form has expired"),
                "{method} {path} {how}: not the CSRF page"
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} routes checked");
    // None of it signed the person out or changed anything they can see.
    assert_eq!(b.get("/account").await.status(), 200);
    let name: String = app
        .query(|c| users::table.select(users::name).first(c))
        .await;
    assert_eq!(name, "Ada Lovelace");
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
