//! Prompts, re-authentication, hints and consent at the authorization endpoint (OIDC Core
//! §3.1.2.1 and the certification "Basic OP" modules), driven by the `openidconnect` crate.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::{Nonce, TokenResponse};

use crate::helpers::*;
use crate::rp::{self, drive, login_and_continue, Callback, Outcome, Rp, Started};

backend_tests!(
    prompt_none_while_signed_out_returns_login_required_with_long_state_intact,
    prompt_none_while_signed_in_with_consent_is_silent_and_keeps_sub_and_auth_time,
    prompt_login_forces_a_new_sign_in_with_a_later_auth_time,
    max_age_exceeded_forces_a_new_sign_in_with_a_later_auth_time,
    generous_max_age_needs_no_sign_in_and_keeps_auth_time,
    id_token_hint_for_the_signed_in_user_with_prompt_none_is_silent,
    id_token_hint_for_another_user_with_prompt_none_returns_login_required,
    forged_id_token_hint_is_rejected_as_invalid_request,
    login_hint_prefills_the_email_on_the_login_page,
    consent_is_asked_once_per_scope_set_and_again_for_new_scopes_or_prompt_consent,
    prompt_none_when_consent_is_needed_returns_consent_required,
    skip_consent_client_never_shows_consent,
    authorization_request_as_a_post_form_succeeds,
    unknown_and_optional_parameters_are_accepted_and_ignored,
    signed_out_browser_signs_in_and_the_flow_continues_to_a_working_code,
    tampered_sealed_request_gets_an_error_page_not_a_redirect,
    expired_sealed_request_gets_an_error_page_not_a_redirect,
);

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// What the tests compare between ID tokens, taken after the RP library has validated them.
#[derive(Debug)]
struct IdInfo {
    raw: String,
    sub: String,
    auth_time: Option<i64>,
    acr: Option<String>,
}

/// Checks the callback's `state`, redeems its code and validates the ID token (nonce included).
async fn redeem(rp: &Rp, started: Started, cb: &Callback) -> IdInfo {
    assert_eq!(
        cb.get("state"),
        Some(started.state.secret().as_str()),
        "state echoed: {:?}",
        cb.params
    );
    let tokens = rp
        .exchange(cb.code(), started.verifier)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&rp.client.id_token_verifier(), &started.nonce)
        .expect("a valid ID token");
    IdInfo {
        raw: id_token.to_string(),
        sub: claims.subject().as_str().to_string(),
        auth_time: claims.auth_time().map(|t| t.timestamp()),
        acr: claims.auth_context_ref().map(|a| a.as_str().to_string()),
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Callback(cb) => format!("callback {:?}", cb.params),
        Outcome::Login(loc) => format!("login page {loc}"),
        Outcome::Consent(_) => "consent page".to_string(),
        Outcome::Page(status, html) => format!(
            "page {status}: {}",
            html.chars().take(400).collect::<String>()
        ),
    }
}

async fn expect_callback(b: &Browser, url: &str, consent: Option<&str>) -> Callback {
    match drive(b, url, consent).await {
        Outcome::Callback(cb) => cb,
        other => panic!("expected the callback, got {}", describe(&other)),
    }
}

async fn expect_login(b: &Browser, url: &str) -> String {
    match drive(b, url, None).await {
        Outcome::Login(loc) => loc,
        other => panic!("expected the login page, got {}", describe(&other)),
    }
}

/// A whole flow in a browser: start, (consent if asked), callback, redemption.
async fn flow(b: &Browser, rp: &Rp, scopes: &[&str], extra: &[(&str, &str)]) -> IdInfo {
    let started = rp.start(scopes, false, extra);
    let cb = expect_callback(b, &started.url, Some("allow")).await;
    redeem(rp, started, &cb).await
}

/// The one hop of a silent answer: `/authorize` redirects straight to the client, no page.
async fn silent_callback(b: &Browser, url: &str) -> Callback {
    let res = b.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 302, "a silent answer is one redirect");
    let loc = location(&res);
    assert!(
        loc.starts_with(rp::REDIRECT),
        "redirected to the client, not {loc}"
    );
    callback_from(&loc)
}

fn callback_from(loc: &str) -> Callback {
    let url = url::Url::parse(loc).unwrap();
    Callback {
        params: url.query_pairs().into_owned().collect(),
    }
}

fn assert_error(cb: &Callback, error: &str, state: &str, issuer: &str) {
    assert_eq!(cb.get("error"), Some(error), "{:?}", cb.params);
    assert_eq!(cb.get("state"), Some(state), "state echoed intact");
    assert_eq!(cb.get("iss"), Some(issuer));
    assert!(cb.get("code").is_none(), "no code with an error");
}

/// `/authorize?…` with the given parameters, encoded as a browser would send them.
fn authorize_url(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{}/authorize?{query}", app.address)
}

/// Posts the consent form of a consent page, as the person clicking `decision` would.
async fn answer_consent(b: &Browser, html: &str, decision: &str) -> Callback {
    let sealed = rp::extract(html, r#"name="req" value=""#);
    let res = b
        .post(
            "/authorize/consent",
            &[("req", sealed.as_str()), ("decision", decision)],
        )
        .await;
    assert_eq!(res.status(), 302);
    let loc = location(&res);
    assert!(
        loc.starts_with(rp::REDIRECT),
        "consent answer goes to the client, not {loc}"
    );
    callback_from(&loc)
}

/// The sealed request inside a login location's `return_to`.
fn sealed_from_login(loc: &str) -> String {
    let url = url::Url::parse(&format!("http://x{loc}")).unwrap();
    let return_to = url
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .expect("return_to");
    assert!(return_to.starts_with("/authorize/continue?"), "{return_to}");
    let inner = url::Url::parse(&format!("http://x{return_to}")).unwrap();
    inner
        .query_pairs()
        .find(|(k, _)| k == "req")
        .map(|(_, v)| v.into_owned())
        .expect("req")
}

fn has_force(loc: &str) -> bool {
    let url = url::Url::parse(&format!("http://x{loc}")).unwrap();
    url.query_pairs().any(|(k, v)| k == "force" && v == "1")
}

/// Changes one character in the middle of `s` (never only padding bits).
fn flip_middle(s: &str) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

async fn normal_client(app: &TestApp, name: &str) -> Rp {
    let (id, secret) = rp::register(app, rp::spec(name)).await;
    rp::rp(app, &id, secret.as_deref()).await
}

/// Moves every session's sign-in `secs` seconds into the past, as if the person had signed in
/// that long ago: the protocol rules are unit-tested at an explicit `now` (`oidc::authorize`),
/// this lets the HTTP tests see them without waiting for the clock.
async fn back_date_sign_ins(app: &TestApp, secs: i64) {
    use diesel::prelude::*;
    use portcullis::db::schema::sessions;
    let then = portcullis::identity::now() - chrono::Duration::seconds(secs);
    app.query(move |conn| {
        diesel::update(sessions::table)
            .set(sessions::auth_time.eq(then))
            .execute(conn)
    })
    .await;
}

// 1 ──────────────────────────────────────────────────────────────────────────────────────────

async fn prompt_none_while_signed_out_returns_login_required_with_long_state_intact(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (id, _) = rp::register(&app, rp::spec("Silent")).await;
    let b = app.browser();

    // 128 characters, some of which must be percent-encoded on the way.
    let alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/=%&";
    let state: String = alphabet.chars().cycle().take(128).collect();
    assert_eq!(state.len(), 128);
    let url = authorize_url(
        &app,
        &[
            ("client_id", &id),
            ("redirect_uri", rp::REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", &state),
            ("nonce", "n1"),
            ("prompt", "none"),
        ],
    );
    let cb = silent_callback(&b, &url).await;
    assert_error(&cb, "login_required", &state, &app.address);
    assert!(b.session_token().await.is_none(), "still signed out");
}

// 2 ──────────────────────────────────────────────────────────────────────────────────────────

async fn prompt_none_while_signed_in_with_consent_is_silent_and_keeps_sub_and_auth_time(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Notes").await;
    let first = flow(&b, &rp, &["profile"], &[]).await;
    assert!(first.auth_time.is_some(), "auth_time always present");

    let started = rp.start(&["profile"], false, &[("prompt", "none")]);
    let cb = silent_callback(&b, &started.url).await;
    assert_eq!(cb.get("iss"), Some(app.address.as_str()));
    let second = redeem(&rp, started, &cb).await;
    assert_eq!(second.sub, first.sub);
    assert_eq!(
        second.auth_time, first.auth_time,
        "same session, same auth_time"
    );
}

// 3 ──────────────────────────────────────────────────────────────────────────────────────────

async fn prompt_login_forces_a_new_sign_in_with_a_later_auth_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Bank").await;
    // auth_time has one-second resolution: sign in "earlier" so a new sign-in shows.
    back_date_sign_ins(&app, 5).await;
    let first = flow(&b, &rp, &["profile"], &[]).await;

    let started = rp.start(&["profile"], false, &[("prompt", "login")]);
    let loc = expect_login(&b, &started.url).await;
    assert!(
        has_force(&loc),
        "signed in, yet the form must be shown: {loc}"
    );
    let page = b.get(&loc).await;
    assert_eq!(page.status(), 200, "the login form, not a redirect past it");
    assert!(page.text().await.unwrap().contains(r#"action="/login""#));

    let outcome = login_and_continue(&b, &loc, ADA, Some("allow")).await;
    let Outcome::Callback(cb) = outcome else {
        panic!("after signing in again: {}", describe(&outcome))
    };
    let second = redeem(&rp, started, &cb).await;
    assert_eq!(second.sub, first.sub);
    assert!(
        second.auth_time.unwrap() > first.auth_time.unwrap(),
        "re-authentication gives a later auth_time: {:?} then {:?}",
        first.auth_time,
        second.auth_time
    );
}

// 4 ──────────────────────────────────────────────────────────────────────────────────────────

async fn max_age_exceeded_forces_a_new_sign_in_with_a_later_auth_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Strict").await;
    back_date_sign_ins(&app, 10).await;
    let first = flow(&b, &rp, &[], &[]).await;

    let started = rp.start(&[], false, &[("max_age", "5")]);
    let loc = expect_login(&b, &started.url).await;
    assert!(has_force(&loc), "{loc}");
    let outcome = login_and_continue(&b, &loc, ADA, Some("allow")).await;
    let Outcome::Callback(cb) = outcome else {
        panic!("after signing in again: {}", describe(&outcome))
    };
    let second = redeem(&rp, started, &cb).await;
    assert_eq!(second.sub, first.sub);
    let (t1, t2) = (
        first.auth_time.expect("auth_time"),
        second.auth_time.expect("auth_time with max_age"),
    );
    assert!(
        t2 > t1,
        "auth_time later after max_age forced a sign-in: {t1} then {t2}"
    );
}

async fn generous_max_age_needs_no_sign_in_and_keeps_auth_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Lenient").await;
    // Signed in a while ago: a silent re-authentication would show as a later auth_time.
    back_date_sign_ins(&app, 5).await;
    let first = flow(&b, &rp, &[], &[]).await;

    let started = rp.start(&[], false, &[("max_age", "10000")]);
    let cb = silent_callback(&b, &started.url).await;
    let second = redeem(&rp, started, &cb).await;
    assert_eq!(second.sub, first.sub);
    assert!(
        second.auth_time.is_some(),
        "auth_time present when max_age is used"
    );
    assert_eq!(second.auth_time, first.auth_time);
}

// 5 ──────────────────────────────────────────────────────────────────────────────────────────

async fn id_token_hint_for_the_signed_in_user_with_prompt_none_is_silent(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Hinted").await;
    let first = flow(&b, &rp, &[], &[]).await;

    let started = rp.start(
        &[],
        false,
        &[("prompt", "none"), ("id_token_hint", &first.raw)],
    );
    let cb = silent_callback(&b, &started.url).await;
    let second = redeem(&rp, started, &cb).await;
    assert_eq!(second.sub, first.sub);
    assert_eq!(second.auth_time, first.auth_time);

    // The same valid hint in a signed-out browser cannot stand in for a session.
    let out = app.browser();
    let started = rp.start(
        &[],
        false,
        &[("prompt", "none"), ("id_token_hint", &first.raw)],
    );
    let cb = silent_callback(&out, &started.url).await;
    assert_error(&cb, "login_required", started.state.secret(), &app.address);
}

async fn id_token_hint_for_another_user_with_prompt_none_returns_login_required(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, ADA).await;
    let bob = signed_up(&app, BOB).await;
    let rp = normal_client(&app, "Shared").await;
    let ada_token = flow(&ada, &rp, &[], &[]).await;
    let bob_token = flow(&bob, &rp, &[], &[]).await;
    assert_ne!(ada_token.sub, bob_token.sub);

    // Bob's ID token as the hint in Ada's browser.
    let started = rp.start(
        &[],
        false,
        &[("prompt", "none"), ("id_token_hint", &bob_token.raw)],
    );
    let cb = silent_callback(&ada, &started.url).await;
    assert_error(&cb, "login_required", started.state.secret(), &app.address);

    // Without prompt=none the browser is asked to sign in (again) instead.
    let started = rp.start(&[], false, &[("id_token_hint", &bob_token.raw)]);
    let loc = expect_login(&ada, &started.url).await;
    assert!(has_force(&loc), "{loc}");
}

async fn forged_id_token_hint_is_rejected_as_invalid_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Wary").await;
    let real = flow(&b, &rp, &[], &[]).await.raw;
    let parts: Vec<&str> = real.split('.').collect();
    assert_eq!(parts.len(), 3);

    let altered_payload = format!("{}.{}.{}", parts[0], flip_middle(parts[1]), parts[2]);
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    let unsigned_with_real_header = format!("{}.{}.", parts[0], parts[1]);
    let forgeries = [
        ("altered payload", altered_payload),
        ("alg none", alg_none),
        ("signature stripped", unsigned_with_real_header),
        ("not a JWT", "not-a-jwt".to_string()),
    ];
    for (what, hint) in &forgeries {
        for prompt in [Some("none"), None] {
            let mut extra = vec![("id_token_hint", hint.as_str())];
            if let Some(p) = prompt {
                extra.push(("prompt", p));
            }
            let started = rp.start(&[], false, &extra);
            let cb = expect_callback(&b, &started.url, None).await;
            assert_eq!(
                cb.get("error"),
                Some("invalid_request"),
                "{what}, prompt={prompt:?}: {:?}",
                cb.params
            );
            assert_error(&cb, "invalid_request", started.state.secret(), &app.address);
        }
    }

    // The genuine token, for contrast, is accepted.
    let started = rp.start(&[], false, &[("prompt", "none"), ("id_token_hint", &real)]);
    let cb = silent_callback(&b, &started.url).await;
    redeem(&rp, started, &cb).await;
}

// 6 ──────────────────────────────────────────────────────────────────────────────────────────

async fn login_hint_prefills_the_email_on_the_login_page(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, ADA).await; // the account exists; this test's browser is signed out
    let b = app.browser();
    let rp = normal_client(&app, "Hinting").await;

    let started = rp.start(&[], false, &[("login_hint", ADA)]);
    let loc = expect_login(&b, &started.url).await;
    assert!(
        !has_force(&loc),
        "nobody signed in, nothing to force: {loc}"
    );
    let page = b.get(&loc).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let input = email_input(&html);
    assert!(
        input.contains(r#"value="ada@example.com""#),
        "email prefilled: {input}"
    );

    let outcome = login_and_continue(&b, &loc, ADA, Some("allow")).await;
    let Outcome::Callback(cb) = outcome else {
        panic!("{}", describe(&outcome))
    };
    redeem(&rp, started, &cb).await;

    // A hint is data, never markup.
    let hostile = r#""><script>alert(1)</script>"#;
    let started = rp.start(&[], false, &[("login_hint", hostile), ("prompt", "login")]);
    let loc = expect_login(&b, &started.url).await;
    let html = b.get(&loc).await.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"), "login_hint is escaped");
}

/// The `<input …>` tag of the email field.
fn email_input(html: &str) -> String {
    let at = html.find(r#"id="email""#).expect("an email field");
    let start = html[..at].rfind("<input").expect("inside an input tag");
    let end = html[at..].find('>').unwrap() + at;
    html[start..=end].to_string()
}

// 7 ──────────────────────────────────────────────────────────────────────────────────────────

async fn consent_is_asked_once_per_scope_set_and_again_for_new_scopes_or_prompt_consent(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Careful").await;

    // First time: asked.
    let started = rp.start(&["profile"], false, &[]);
    let Outcome::Consent(html) = drive(&b, &started.url, None).await else {
        panic!("first use asks for consent")
    };
    assert!(html.contains("Careful"), "the page names the client");
    assert!(
        html.contains("See your name"),
        "the page lists the profile scope"
    );
    let cb = answer_consent(&b, &html, "allow").await;
    redeem(&rp, started, &cb).await;

    // The same scopes again, and a subset of them: not asked.
    for scopes in [&["profile"][..], &[][..]] {
        let started = rp.start(scopes, false, &[]);
        let cb = silent_callback(&b, &started.url).await;
        redeem(&rp, started, &cb).await;
    }

    // A new scope: asked again.
    let started = rp.start(&["profile", "email"], false, &[]);
    let Outcome::Consent(html) = drive(&b, &started.url, None).await else {
        panic!("a new scope asks for consent")
    };
    assert!(html.contains("See your email address"));
    let cb = answer_consent(&b, &html, "allow").await;
    redeem(&rp, started, &cb).await;
    let started = rp.start(&["profile", "email"], false, &[]);
    let cb = silent_callback(&b, &started.url).await;
    redeem(&rp, started, &cb).await;

    // prompt=consent: asked although everything was approved.
    let started = rp.start(&["profile", "email"], false, &[("prompt", "consent")]);
    let Outcome::Consent(html) = drive(&b, &started.url, None).await else {
        panic!("prompt=consent asks for consent")
    };
    let cb = answer_consent(&b, &html, "allow").await;
    redeem(&rp, started, &cb).await;
}

async fn prompt_none_when_consent_is_needed_returns_consent_required(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Eager").await;

    // Never approved.
    let started = rp.start(&[], false, &[("prompt", "none")]);
    let cb = silent_callback(&b, &started.url).await;
    assert_error(
        &cb,
        "consent_required",
        started.state.secret(),
        &app.address,
    );

    // Approved for some scopes, silently asking for more.
    flow(&b, &rp, &[], &[]).await;
    let started = rp.start(&["email"], false, &[("prompt", "none")]);
    let cb = silent_callback(&b, &started.url).await;
    assert_error(
        &cb,
        "consent_required",
        started.state.secret(),
        &app.address,
    );
}

async fn skip_consent_client_never_shows_consent(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let mut spec = rp::spec("First party");
    spec.skip_consent = true;
    let (id, secret) = rp::register(&app, spec).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;

    for (scopes, extra) in [
        (&[][..], &[][..]),
        (&["profile", "email"][..], &[][..]),
        (
            &["profile", "email", "offline_access"][..],
            &[("prompt", "none")][..],
        ),
    ] {
        let started = rp.start(scopes, false, extra);
        let cb = silent_callback(&b, &started.url).await;
        redeem(&rp, started, &cb).await;
    }
}

// 8 ──────────────────────────────────────────────────────────────────────────────────────────

async fn authorization_request_as_a_post_form_succeeds(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Poster").await;
    let nonce = "n-0S6_WzA2Mj";

    let post = |state: &'static str| {
        b.client
            .post(format!("{}/authorize", app.address))
            .form(&[
                ("response_type", "code"),
                ("client_id", rp.client_id.as_str()),
                ("redirect_uri", rp::REDIRECT),
                ("scope", "openid profile"),
                ("state", state),
                ("nonce", nonce),
                ("foo", "bar"),
                ("display", "page"),
            ])
            .send()
    };

    // First time: the consent page, which carries the request on.
    let res = post("post-1").await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"action="/authorize/consent""#),
        "the consent page"
    );
    let cb = answer_consent(&b, &html, "allow").await;
    check_posted_code(&rp, &cb, "post-1", nonce, &app).await;

    // Approved: straight back to the client.
    let res = post("post-2").await.unwrap();
    assert_eq!(res.status(), 302);
    let loc = location(&res);
    assert!(loc.starts_with(rp::REDIRECT), "{loc}");
    check_posted_code(&rp, &callback_from(&loc), "post-2", nonce, &app).await;
}

async fn check_posted_code(rp: &Rp, cb: &Callback, state: &str, nonce: &str, app: &TestApp) {
    assert_eq!(cb.get("state"), Some(state));
    assert_eq!(cb.get("iss"), Some(app.address.as_str()));
    let tokens = rp
        .exchange(cb.code(), None)
        .await
        .expect("code from a POSTed request works");
    let id_token = tokens.id_token().unwrap();
    id_token
        .claims(
            &rp.client.id_token_verifier(),
            &Nonce::new(nonce.to_string()),
        )
        .expect("valid, with our nonce");
}

async fn unknown_and_optional_parameters_are_accepted_and_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, ADA).await;
    let rp = normal_client(&app, "Tolerant").await;

    let sets: [&[(&str, &str)]; 3] = [
        &[
            ("foo", "bar"),
            ("display", "page"),
            ("ui_locales", "fr"),
            ("acr_values", "1"),
            ("claims_locales", "en"),
        ],
        &[
            ("display", "popup"),
            ("ui_locales", "fr-CA fr en"),
            ("acr_values", "urn:mace:incommon:iap:silver 1"),
        ],
        &[
            ("display", "touch"),
            ("x-vendor", ""),
            ("claims_locales", "en de"),
        ],
    ];
    for (i, extra) in sets.iter().enumerate() {
        let started = rp.start(&["profile"], false, extra);
        let cb = expect_callback(&b, &started.url, Some("allow")).await;
        assert!(cb.get("error").is_none(), "set {i}: {:?}", cb.params);
        let id = redeem(&rp, started, &cb).await;
        if let Some(acr) = id.acr {
            assert!(!acr.is_empty(), "acr is a non-empty string when present");
        }
    }
}

// 9 ──────────────────────────────────────────────────────────────────────────────────────────

async fn signed_out_browser_signs_in_and_the_flow_continues_to_a_working_code(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, ADA).await; // the account exists; this test's browser is signed out
    let b = app.browser();
    let rp = normal_client(&app, "Fresh").await;

    let started = rp.start(&["profile", "email"], false, &[]);
    let loc = expect_login(&b, &started.url).await;
    assert!(loc.starts_with("/login?return_to="), "{loc}");
    assert!(!has_force(&loc));

    let outcome = login_and_continue(&b, &loc, ADA, None).await;
    let Outcome::Consent(html) = outcome else {
        panic!("after signing in, consent: {}", describe(&outcome))
    };
    let cb = answer_consent(&b, &html, "allow").await;
    assert_eq!(cb.get("iss"), Some(app.address.as_str()));
    let id = redeem(&rp, started, &cb).await;
    assert!(id.sub.starts_with("usr_"), "{}", id.sub);
    assert!(
        b.session_token().await.is_some(),
        "the browser is now signed in"
    );

    // The session now answers silently.
    let started = rp.start(&["profile", "email"], false, &[("prompt", "none")]);
    let cb = silent_callback(&b, &started.url).await;
    let again = redeem(&rp, started, &cb).await;
    assert_eq!(again.sub, id.sub);
    assert_eq!(again.auth_time, id.auth_time);
}

// 10 ─────────────────────────────────────────────────────────────────────────────────────────

async fn assert_rejected_page(b: &Browser, sealed: &str, what: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(sealed.as_bytes()).collect();
    let res = b.get(&format!("/authorize/continue?req={encoded}")).await;
    assert_eq!(res.status(), 400, "{what}");
    assert!(
        res.headers().get("location").is_none(),
        "{what}: never a redirect"
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains("expired or is invalid"),
        "{what}: {}",
        html.chars().take(400).collect::<String>()
    );
}

async fn tampered_sealed_request_gets_an_error_page_not_a_redirect(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, ADA).await;
    let b = signed_up(&app, BOB).await;
    let rp = normal_client(&app, "Sealed").await;

    // A real sealed request, from a signed-out browser's trip to the login page.
    let out = app.browser();
    let started = rp.start(&[], false, &[]);
    let sealed = sealed_from_login(&expect_login(&out, &started.url).await);

    for (what, bad) in [
        ("garbage", "garbage".to_string()),
        ("empty", String::new()),
        ("one character changed", flip_middle(&sealed)),
        ("truncated", sealed[..sealed.len() - 4].to_string()),
        ("extended", format!("{sealed}AAAA")),
    ] {
        assert_rejected_page(&b, &bad, what).await;
        assert_rejected_page(&out, &bad, what).await;
    }

    // The untouched one carries on (to the consent page of this signed-in browser).
    let res = b.get(&format!("/authorize/continue?req={sealed}")).await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains(r#"action="/authorize/consent""#));
}

async fn expired_sealed_request_gets_an_error_page_not_a_redirect(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, ADA).await;
    let b = app.browser();
    let rp = normal_client(&app, "Slow").await;

    let started = rp.start(&[], false, &[]);
    let sealed = sealed_from_login(&expect_login(&b, &started.url).await);
    // The same request, sealed as if it had arrived just over its lifetime ago.
    let ttl = app.settings.oidc.authorization_request_ttl_secs;
    let loc = login_location(&reseal_back_dated(&app, &sealed, ttl + 1));
    match login_and_continue(&b, &loc, ADA, Some("allow")).await {
        Outcome::Page(status, html) => {
            assert_eq!(status, 400);
            assert!(
                html.contains("expired or is invalid"),
                "{}",
                html.chars().take(400).collect::<String>()
            );
        }
        other => panic!(
            "an expired request must end on an error page, got {}",
            describe(&other)
        ),
    }
    // Signing in itself worked; only the request was refused.
    assert!(b.session_token().await.is_some());
}

/// `sealed`, opened with the app's master key and sealed again with `issued_at` moved `secs`
/// seconds into the past.
fn reseal_back_dated(app: &TestApp, sealed: &str, secs: i64) -> String {
    let (master_key, _) = portcullis::crypto::MasterKey::load_or_generate("", &app.data_dir())
        .expect("the app's master key");
    let mut request: portcullis::oidc::authorize::AuthorizationRequest =
        serde_json::from_slice(&master_key.decrypt(sealed).expect("a sealed request"))
            .expect("an authorization request");
    request.issued_at -= secs * 1_000_000;
    portcullis::oidc::authorize::seal(&request, &master_key)
}

/// The login page's location carrying `sealed` back to `/authorize/continue`.
fn login_location(sealed: &str) -> String {
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    format!(
        "/login?return_to={}",
        enc(&format!("/authorize/continue?req={}", enc(sealed)))
    )
}
