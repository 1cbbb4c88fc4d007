//! The email features end to end: real SMTP delivery (and surviving a dead mail server),
//! address verification and change, password reset, magic links, one-time codes, and what the
//! mails contain. Every test starts the real server with a fresh database.

use std::process::Command;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use portcullis::config::{Settings, SmtpSecurity};
use portcullis::db::models::OutboxMessage;
use portcullis::db::schema::{mail_outbox, sessions, users, verifications};
use portcullis::identity::ids::MailId;

use crate::helpers::*;
use crate::rp::{self, drive, Outcome};
use crate::smtp_sink::{html_unescape, Mail, SmtpSink};

backend_tests!(
    // 1. real SMTP
    smtp_delivers_the_verification_mail_and_its_link_verifies,
    // 2. a dead SMTP server
    dead_smtp_server_loses_nothing_and_mail_arrives_when_it_comes_back,
    // 3. verification
    verification_link_works_once,
    expired_verification_link_fails,
    reset_and_verification_tokens_are_not_interchangeable,
    verification_resend_is_rate_limited_per_address,
    // 4. email change
    email_change_takes_effect_only_after_the_new_address_is_confirmed,
    email_change_with_a_wrong_current_password_is_refused,
    email_change_to_a_taken_address_looks_the_same_and_conflicts_if_taken_later,
    stale_verification_link_of_the_old_address_does_not_undo_an_email_change,
    // 5. require_verified_email
    required_verification_blocks_sign_in_until_the_link_is_followed,
    required_verification_refuses_oidc_authorization_for_an_unverified_user,
    // 6. password reset
    forgot_answers_the_same_for_known_and_unknown_addresses,
    password_reset_sets_the_password_and_ends_every_session,
    reset_link_works_once_and_expires,
    reset_with_a_mismatched_confirmation_is_refused_and_keeps_the_link,
    forgot_is_rate_limited_per_address,
    forgot_is_rate_limited_per_ip,
    // 7. magic links
    magic_link_request_answers_the_same_for_known_and_unknown_addresses,
    magic_link_signs_in_once_and_honours_a_local_return_to,
    magic_link_ignores_a_hostile_return_to,
    expired_magic_link_fails,
    magic_link_routes_are_404_when_disabled,
    // 8. email codes
    email_code_signs_in_once,
    wrong_email_codes_are_refused_and_lock_the_code,
    expired_email_code_fails,
    email_code_is_bound_to_its_address,
    email_code_routes_are_404_when_disabled,
    // 9. mail contents
    mails_never_contain_the_password_and_html_links_sit_in_hrefs,
);

const NEW_PASSWORD: &str = "a brand new passphrase";

// ---- helpers ----

fn smtp_to(s: &mut Settings, port: u16) {
    s.mail.transport = portcullis::config::MailTransport::Smtp;
    s.mail.smtp.host = "127.0.0.1".into();
    s.mail.smtp.port = port;
    s.mail.smtp.security = SmtpSecurity::None;
    s.mail.smtp.username = String::new();
    s.mail.smtp.timeout_secs = 5;
}

/// The first absolute link to `path` (with a token) in a text.
pub(crate) fn link_in(text: &str, path: &str) -> Option<String> {
    let at = text.find(&format!("{path}?token="))?;
    let start = text[..at].rfind("http")?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// Path and query of an emailed link, to open in a test browser (whatever host it names).
pub(crate) fn path_of(link: &str) -> String {
    let u = url::Url::parse(link).unwrap_or_else(|e| panic!("{link}: {e}"));
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

fn query_param(link: &str, name: &str) -> Option<String> {
    let u = url::Url::parse(link).unwrap();
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn token_of(link: &str) -> String {
    query_param(link, "token").expect("token in link")
}

/// The value of a hidden input of a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let needle = format!(r#"name="{name}" value=""#);
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')? + start;
    Some(html_unescape(&html[start..end]))
}

fn has_form(html: &str, action: &str) -> bool {
    html_unescape(html).contains(&format!(r#"action="{action}""#))
}

/// Opens an emailed link as a person would: the GET shows a page whose button posts the token.
/// A dead link (used, expired, replaced) says so on that first page: its answer is returned.
async fn follow(b: &Browser, link: &str, action: &str) -> reqwest::Response {
    let page = b.get(&path_of(link)).await;
    if page.status() == 400 {
        return page;
    }
    assert_eq!(page.status(), 200, "opening {link}");
    let html = page.text().await.unwrap();
    assert!(
        has_form(&html, action),
        "the page of {link} posts to {action}: {html}"
    );
    let token = hidden(&html, "token").expect("the page carries the token");
    assert_eq!(token, token_of(link));
    let mut fields: Vec<(&str, String)> = vec![("token", token)];
    if let Some(r) = hidden(&html, "return_to") {
        fields.push(("return_to", r));
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(action, &fields).await
}

/// Parsed messages the file transport wrote to `email`, oldest first.
fn mails_to(app: &TestApp, email: &str) -> Vec<Mail> {
    app.mails()
        .into_iter()
        .filter(|m| m.is_to(email))
        .map(|m| Mail::parse(&m.raw))
        .collect()
}

fn subject(m: &Mail) -> String {
    m.header("Subject").unwrap_or_default()
}

/// Waits (up to 10 s) until at least `n` messages to `email` have a subject starting with
/// `subject_prefix`; returns them oldest first.
pub(crate) async fn wait_mails(
    app: &TestApp,
    email: &str,
    subject_prefix: &str,
    n: usize,
) -> Vec<Mail> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<Mail> = mails_to(app, email)
            .into_iter()
            .filter(|m| subject(m).starts_with(subject_prefix))
            .collect();
        if found.len() >= n {
            return found;
        }
        if Instant::now() > deadline {
            panic!(
                "expected {n} mail(s) to {email} with subject {subject_prefix:?}; found {}",
                found.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The link of the `n`-th (1-based) mail to `email` with that subject.
pub(crate) async fn nth_link(
    app: &TestApp,
    email: &str,
    subject_prefix: &str,
    path: &str,
    n: usize,
) -> String {
    let mails = wait_mails(app, email, subject_prefix, n).await;
    link_in(&mails[n - 1].text(), path)
        .unwrap_or_else(|| panic!("no {path} link in: {}", mails[n - 1].text()))
}

async fn verify_link(app: &TestApp, email: &str, n: usize) -> String {
    nth_link(app, email, "Confirm your email address", "/verify-email", n).await
}

async fn reset_link(app: &TestApp, email: &str, n: usize) -> String {
    nth_link(app, email, "Reset your password", "/reset", n).await
}

async fn magic_link(app: &TestApp, email: &str, n: usize) -> String {
    nth_link(app, email, "Your sign-in link", "/login/magic", n).await
}

/// The code of the `n`-th code mail to `email`.
pub(crate) async fn nth_code(app: &TestApp, email: &str, n: usize) -> String {
    let mails = wait_mails(app, email, "Your sign-in code", n).await;
    let text = mails[n - 1].text();
    let code = text
        .split_whitespace()
        .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no 6-digit code in: {text}"))
        .to_string();
    assert!(
        subject(&mails[n - 1]).ends_with(&code),
        "the subject carries the code too"
    );
    code
}

/// (id, email, email_verified) of the user with this id or address.
async fn user_by_email(app: &TestApp, email: &str) -> Option<(String, String, bool)> {
    let email = email.to_string();
    app.query(move |c| {
        users::table
            .filter(users::email.eq(email))
            .select((users::id, users::email, users::email_verified))
            .first(c)
            .optional()
    })
    .await
}

async fn user_by_id(app: &TestApp, id: &str) -> (String, String, bool) {
    let id = id.to_string();
    app.query(move |c| {
        users::table
            .find(id)
            .select((users::id, users::email, users::email_verified))
            .first(c)
    })
    .await
}

async fn is_verified(app: &TestApp, email: &str) -> bool {
    user_by_email(app, email).await.expect("user exists").2
}

/// Moves every token of this purpose into the past.
async fn expire_tokens(app: &TestApp, purpose: &'static str) {
    let past = portcullis::identity::now() - chrono::Duration::hours(2);
    let n = app
        .query(move |c| {
            diesel::update(verifications::table.filter(verifications::purpose.eq(purpose)))
                .set(verifications::expires_at.eq(past))
                .execute(c)
        })
        .await;
    assert!(n > 0, "no {purpose} token to expire");
}

async fn outbox_to(app: &TestApp, email: &str) -> Vec<OutboxMessage> {
    let email = email.to_string();
    app.query(move |c| {
        mail_outbox::table
            .filter(mail_outbox::recipient.eq(email))
            .order(mail_outbox::created_at.asc())
            .select(OutboxMessage::as_select())
            .load(c)
    })
    .await
}

async fn session_methods(app: &TestApp, user_id: &str) -> Vec<String> {
    let id = user_id.to_string();
    app.query(move |c| {
        sessions::table
            .filter(sessions::user_id.eq(id))
            .select(sessions::auth_method)
            .load(c)
    })
    .await
}

fn sets_session_cookie(res: &reqwest::Response) -> bool {
    res.headers().get_all("set-cookie").iter().any(|v| {
        v.to_str().unwrap_or("").starts_with("portcullis_session=")
            && !v.to_str().unwrap_or("").starts_with("portcullis_session=;")
    })
}

/// `portcullis mail queue --json` against the test database, with the app's SMTP settings.
async fn mail_queue_json(db: &TestDb, port: u16) -> serde_json::Value {
    let (url, dir) = (db.url.clone(), db.data_dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["mail", "queue", "--json"])
            .env("PORTCULLIS_DATABASE__URL", url)
            .env("PORTCULLIS_DATA_DIR", dir)
            .env("PORTCULLIS_LOG__FILTER", "warn")
            .env("PORTCULLIS_MAIL__TRANSPORT", "smtp")
            .env("PORTCULLIS_MAIL__SMTP__HOST", "127.0.0.1")
            .env("PORTCULLIS_MAIL__SMTP__PORT", port.to_string())
            .env("PORTCULLIS_MAIL__SMTP__SECURITY", "none")
            .env_remove("PORTCULLIS_CONFIG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "mail queue failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Polls (at most `within`) until the outbox row satisfies `pred`; the last row seen otherwise.
async fn wait_outbox(
    app: &TestApp,
    id: &MailId,
    within: Duration,
    pred: impl Fn(&OutboxMessage) -> bool,
) -> Result<OutboxMessage, OutboxMessage> {
    let deadline = Instant::now() + within;
    loop {
        let id2 = id.clone();
        let row: OutboxMessage = app
            .query(move |c| {
                mail_outbox::table
                    .find(id2)
                    .select(OutboxMessage::as_select())
                    .first(c)
            })
            .await;
        if pred(&row) {
            return Ok(row);
        }
        if Instant::now() > deadline {
            return Err(row);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_signed_out(b: &Browser) {
    let res = b.get("/account").await;
    assert_eq!(res.status(), 303, "expected no session");
    assert!(location(&res).starts_with("/login"));
}

// ---- 1. real SMTP ----

async fn smtp_delivers_the_verification_mail_and_its_link_verifies(backend: Backend) {
    let sink = SmtpSink::start();
    let port = sink.port();
    let app = spawn_app_with(backend, |s| smtp_to(s, port)).await;
    let b = signed_up(&app, "ada@example.com").await;

    let got = sink
        .wait_for(Duration::from_secs(15), |m| {
            m.rcpt_to.iter().any(|r| r == "ada@example.com")
        })
        .await
        .expect("the SMTP server received the verification mail");
    assert_eq!(
        got.rcpt_to,
        vec!["ada@example.com".to_string()],
        "envelope recipient"
    );
    assert_eq!(got.mail_from, "no-reply@localhost", "envelope sender");
    assert!(got.auth.is_none(), "no credentials configured, so no AUTH");
    assert!(!got.helo.is_empty());

    let mail = got.mail();
    assert!(
        mail.header("To")
            .unwrap_or_default()
            .contains("ada@example.com"),
        "{:?}",
        mail.headers
    );
    assert!(mail
        .header("From")
        .unwrap_or_default()
        .contains("no-reply@localhost"));
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your email address")
    );
    assert!(
        mail.content_type().starts_with("multipart/alternative"),
        "{}",
        mail.content_type()
    );
    assert!(
        mail.part("text/plain").is_some() && mail.part("text/html").is_some(),
        "{:?}",
        mail.parts
    );
    let link = link_in(&mail.text(), "/verify-email").expect("the text part has the link");
    assert!(
        link.starts_with(&format!("{}/verify-email?token=", app.address)),
        "{link}"
    );

    assert!(!is_verified(&app, "ada@example.com").await);
    let res = follow(&b, &link, "/verify-email").await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Email address confirmed"));
    assert!(
        is_verified(&app, "ada@example.com").await,
        "users.email_verified is set"
    );

    let rows = outbox_to(&app, "ada@example.com").await;
    assert_eq!(rows.len(), 1);
    let sent = wait_outbox(&app, &rows[0].id, Duration::from_secs(5), |r| {
        r.status == "sent"
    })
    .await
    .expect("the row is marked sent");
    assert_eq!(sent.attempts, 1);
    assert!(sent.sent_at.is_some() && sent.last_error.is_none());
    assert_eq!(sink.messages().len(), 1, "sent exactly once");
}

// ---- 2. a dead SMTP server ----

async fn dead_smtp_server_loses_nothing_and_mail_arrives_when_it_comes_back(backend: Backend) {
    let port = SmtpSink::free_port();
    let app = spawn_app_with(backend, |s| smtp_to(s, port)).await;

    // Signing up answers at once although the mail server is down.
    let b = app.browser();
    let res = b.signup("Ada Lovelace", "ada@example.com", PASSWORD).await;
    assert_eq!(
        res.status(),
        303,
        "sign-up succeeds while the mail server is down"
    );
    assert_eq!(location(&res), "/account");
    assert!(user_by_email(&app, "ada@example.com").await.is_some());

    let rows = outbox_to(&app, "ada@example.com").await;
    assert_eq!(rows.len(), 1, "the mail is queued");
    let id = rows[0].id.clone();
    let failed = wait_outbox(&app, &id, Duration::from_secs(15), |r| {
        r.attempts >= 1 && r.last_error.is_some()
    })
    .await
    .unwrap_or_else(|r| panic!("no failed attempt recorded: {r:?}"));
    assert_eq!(
        failed.status, "pending",
        "a failed attempt is retried, not dropped"
    );
    assert!(failed.sent_at.is_none());
    assert!(!failed.last_error.as_deref().unwrap().is_empty());

    // The operator sees it in the queue.
    let queue = mail_queue_json(&app.test_db, port).await;
    let queued = queue.as_array().expect("a JSON array");
    let entry = queued
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {queue}"));
    assert_eq!(entry["to"], "ada@example.com");
    assert_eq!(entry["subject"], "Confirm your email address");
    assert_eq!(entry["status"], "pending");
    assert!(entry["attempts"].as_i64().unwrap() >= 1, "{entry}");
    assert!(
        entry["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{entry}"
    );

    // The server comes up on that port: the message arrives and the row is sent.
    let sink = SmtpSink::start_on(port);
    let got = sink
        .wait_for(Duration::from_secs(15), |m| {
            m.rcpt_to.iter().any(|r| r == "ada@example.com")
        })
        .await
        .expect("the queued mail arrives once the server is up");
    let first_link = link_in(&got.mail().text(), "/verify-email").expect("verification link");
    let sent = wait_outbox(&app, &id, Duration::from_secs(15), |r| r.status == "sent")
        .await
        .unwrap_or_else(|r| panic!("row not marked sent: {r:?}"));
    assert!(sent.attempts >= 2 && sent.sent_at.is_some(), "{sent:?}");
    assert_eq!(
        mail_queue_json(&app.test_db, port).await,
        serde_json::json!([]),
        "nothing left unsent"
    );

    // The server goes away again (cutting lettre's pooled connection) and comes back on the same port.
    let mut sink = sink;
    sink.stop();
    let res = b.post("/account/verify-email/resend", &[]).await;
    assert_eq!(res.status(), 303);
    let rows = outbox_to(&app, "ada@example.com").await;
    assert_eq!(rows.len(), 2);
    let second = rows.iter().find(|r| r.id != id).unwrap().id.clone();
    let failed = wait_outbox(&app, &second, Duration::from_secs(15), |r| {
        r.attempts >= 1 && r.last_error.is_some()
    })
    .await
    .unwrap_or_else(|r| panic!("no failed attempt recorded while the server was down: {r:?}"));
    assert_eq!(failed.status, "pending");
    let sink = sink.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while sink.messages().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let messages = sink.messages();
    assert_eq!(
        messages.len(),
        2,
        "the second mail arrives after the restart, the first is not re-sent"
    );
    let second_link =
        link_in(&messages[1].mail().text(), "/verify-email").expect("verification link");
    assert_ne!(first_link, second_link);
    wait_outbox(&app, &second, Duration::from_secs(15), |r| {
        r.status == "sent"
    })
    .await
    .expect("second row sent");

    // The mail that made it through works.
    let res = follow(&b, &second_link, "/verify-email").await;
    assert_eq!(res.status(), 200);
    assert!(is_verified(&app, "ada@example.com").await);
}

// ---- 3. verification ----

async fn verification_link_works_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let link = verify_link(&app, "ada@example.com", 1).await;

    // Opening the page (as a mail scanner does) spends nothing.
    for _ in 0..2 {
        let page = app.browser().get(&path_of(&link)).await;
        assert_eq!(page.status(), 200);
    }
    assert!(!is_verified(&app, "ada@example.com").await);

    let res = follow(&b, &link, "/verify-email").await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Email address confirmed"));
    assert!(is_verified(&app, "ada@example.com").await);

    let again = follow(&app.browser(), &link, "/verify-email").await;
    assert_eq!(again.status(), 400, "a verification link works once");
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("expired or already used"));

    let junk = b.post("/verify-email", &[("token", "not-a-token")]).await;
    assert_eq!(junk.status(), 400);
}

async fn expired_verification_link_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let link = verify_link(&app, "ada@example.com", 1).await;
    expire_tokens(&app, "verify_email").await;

    let res = follow(&b, &link, "/verify-email").await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("expired or already used"));
    assert!(!is_verified(&app, "ada@example.com").await);
}

async fn reset_and_verification_tokens_are_not_interchangeable(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let verify = verify_link(&app, "ada@example.com", 1).await;
    let stranger = app.browser();
    assert_eq!(
        stranger
            .post("/forgot", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let reset = reset_link(&app, "ada@example.com", 1).await;

    // A reset token at /verify-email.
    let res = b
        .post("/verify-email", &[("token", &token_of(&reset))])
        .await;
    assert_eq!(
        res.status(),
        400,
        "a reset token does not verify an address"
    );
    assert!(!is_verified(&app, "ada@example.com").await);

    // A verification token at /reset.
    let res = stranger
        .post(
            "/reset",
            &[
                ("token", &token_of(&verify)),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        400,
        "a verification token does not reset a password"
    );
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("invalid, expired or already used"));
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303,
        "the password is unchanged"
    );
    assert_eq!(
        app.browser()
            .login("ada@example.com", NEW_PASSWORD)
            .await
            .status(),
        401
    );

    // Each still works for its own purpose.
    assert_eq!(follow(&b, &verify, "/verify-email").await.status(), 200);
    assert!(is_verified(&app, "ada@example.com").await);
    let res = stranger
        .post(
            "/reset",
            &[
                ("token", &token_of(&reset)),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
}

async fn verification_resend_is_rate_limited_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.mail_per_address_per_hour = 2).await;
    let b = signed_up(&app, "ada@example.com").await;

    for _ in 0..2 {
        let res = b.post("/account/verify-email/resend", &[]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/account?notice=verification-sent");
    }
    let res = b.post("/account/verify-email/resend", &[]).await;
    assert_eq!(
        res.status(),
        429,
        "the third resend within the hour is refused"
    );
    assert!(res.text().await.unwrap().contains("Too many requests"));
    // The public resend form counts against the same address.
    let res = app
        .browser()
        .post("/verify-email/resend", &[("email", "ada@example.com")])
        .await;
    assert_eq!(res.status(), 429);

    let queued = outbox_to(&app, "ada@example.com").await;
    assert_eq!(
        queued.len(),
        3,
        "sign-up + two resends, nothing for the refused ones"
    );
    let mails = wait_mails(&app, "ada@example.com", "Confirm your email address", 3).await;
    // Each resend replaces the previous link: one live token, and exactly one of the links works.
    let links: Vec<String> = mails
        .iter()
        .map(|m| link_in(&m.text(), "/verify-email").unwrap())
        .collect();
    assert_eq!(
        links.iter().collect::<std::collections::HashSet<_>>().len(),
        3,
        "three different links"
    );
    let live: i64 = app
        .query(|c| {
            verifications::table
                .filter(verifications::purpose.eq("verify_email"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(live, 1, "earlier verification tokens were replaced");
    let mut working = 0;
    for l in &links {
        if follow(&b, l, "/verify-email").await.status() == 200 {
            working += 1;
        }
    }
    assert_eq!(working, 1, "only the newest link works");
    assert!(is_verified(&app, "ada@example.com").await);
}

// ---- 4. email change ----

async fn email_change_takes_effect_only_after_the_new_address_is_confirmed(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, _, _) = user_by_email(&app, "ada@example.com").await.unwrap();

    let res = b
        .post(
            "/account/email",
            &[
                ("new_email", "Ada.New@Example.com"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account?notice=change-sent");
    let html = b
        .get("/account?notice=change-sent")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("We sent a confirmation link to the new address"));

    // Nothing changes until the link is followed.
    assert_eq!(user_by_id(&app, &id).await.1, "ada@example.com");
    assert_eq!(
        app.browser()
            .login("ada.new@example.com", PASSWORD)
            .await
            .status(),
        401
    );

    // The link goes to the new address only.
    let link = verify_link(&app, "ada.new@example.com", 1).await;
    assert_eq!(
        outbox_to(&app, "ada@example.com").await.len(),
        1,
        "the old address only got its sign-up mail"
    );

    let res = follow(&b, &link, "/verify-email").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Email address changed") && html.contains("ada.new@example.com"),
        "{html}"
    );
    let (_, email, verified) = user_by_id(&app, &id).await;
    assert_eq!(email, "ada.new@example.com");
    assert!(verified, "the new address is verified");

    assert_eq!(
        app.browser()
            .login("ada.new@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        follow(&b, &link, "/verify-email").await.status(),
        400,
        "the change link works once"
    );
}

async fn email_change_with_a_wrong_current_password_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;

    let res = b
        .post(
            "/account/email",
            &[
                ("new_email", "ada.new@example.com"),
                ("current_password", "not my password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Your current password is incorrect."),
        "{html}"
    );
    assert!(
        !html.contains("not my password"),
        "passwords are never echoed"
    );

    assert!(
        outbox_to(&app, "ada.new@example.com").await.is_empty(),
        "no mail to the new address"
    );
    assert!(user_by_email(&app, "ada@example.com").await.is_some());
    assert!(user_by_email(&app, "ada.new@example.com").await.is_none());
}

async fn email_change_to_a_taken_address_looks_the_same_and_conflicts_if_taken_later(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    signed_up(&app, "bob@example.com").await;
    let (ada_id, _, _) = user_by_email(&app, "ada@example.com").await.unwrap();

    // Taken and free addresses get the same answer.
    let taken = ada
        .post(
            "/account/email",
            &[
                ("new_email", "bob@example.com"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    let free = ada
        .post(
            "/account/email",
            &[
                ("new_email", "carol@example.com"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(taken.status(), free.status());
    assert_eq!(taken.status(), 303);
    assert_eq!(location(&taken), location(&free));
    assert_eq!(
        outbox_to(&app, "bob@example.com").await.len(),
        1,
        "bob only got his own sign-up mail"
    );

    // Carol takes the address before Ada follows her link.
    let link = verify_link(&app, "carol@example.com", 1).await;
    signed_up(&app, "carol@example.com").await;
    let res = follow(&ada, &link, "/verify-email").await;
    assert_eq!(res.status(), 409);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Another account now uses this address"));
    assert_eq!(
        user_by_id(&app, &ada_id).await.1,
        "ada@example.com",
        "Ada keeps her address"
    );
    let carol = user_by_email(&app, "carol@example.com").await.unwrap();
    assert_ne!(carol.0, ada_id);
}

async fn stale_verification_link_of_the_old_address_does_not_undo_an_email_change(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, _, _) = user_by_email(&app, "ada@example.com").await.unwrap();
    // The sign-up link to the old address is never used; Ada moves to a new address.
    let old_link = verify_link(&app, "ada@example.com", 1).await;
    let res = b
        .post(
            "/account/email",
            &[
                ("new_email", "ada.new@example.com"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let change = verify_link(&app, "ada.new@example.com", 1).await;
    assert_eq!(follow(&b, &change, "/verify-email").await.status(), 200);
    assert_eq!(user_by_id(&app, &id).await.1, "ada.new@example.com");

    // Whoever still reads the old mailbox follows the old sign-up link.
    let res = follow(&app.browser(), &old_link, "/verify-email").await;
    let status = res.status().as_u16();
    let (_, email, _) = user_by_id(&app, &id).await;
    // An old link must not move the address back: whoever reads the old mailbox would take the
    // account back (and could then reset its password).
    assert_eq!(
        email, "ada.new@example.com",
        "the confirmed change must stand (old link answered {status})"
    );
    assert_eq!(
        status, 400,
        "a link for an address that is no longer the account's is dead"
    );
}

// ---- 5. require_verified_email ----

async fn required_verification_blocks_sign_in_until_the_link_is_followed(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.require_verified_email = true).await;
    let b = app.browser();

    let res = b.signup("Ada Lovelace", "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert!(!sets_session_cookie(&res), "sign-up does not sign in");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Check your email") && html.contains("ada@example.com"),
        "{html}"
    );
    assert!(b.session_token().await.is_none());
    assert_signed_out(&b).await;

    // Right password, unverified address: refused with a way to get a new link.
    let res = b.login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 403);
    assert!(!sets_session_cookie(&res));
    let html = res.text().await.unwrap();
    assert!(html.contains("Confirm your email address first"), "{html}");
    assert!(
        has_form(&html, "/verify-email/resend"),
        "a resend form: {html}"
    );
    assert_eq!(hidden(&html, "email").as_deref(), Some("ada@example.com"));
    assert_signed_out(&b).await;
    // A wrong password says nothing about the address.
    assert_eq!(
        b.login("ada@example.com", "not the password")
            .await
            .status(),
        401
    );

    let first = verify_link(&app, "ada@example.com", 1).await;
    let res = b
        .post("/verify-email/resend", &[("email", "ada@example.com")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Check your email"));
    let second = verify_link(&app, "ada@example.com", 2).await;
    assert_ne!(first, second);
    assert_eq!(
        follow(&b, &first, "/verify-email").await.status(),
        400,
        "the resent link replaces the first"
    );
    assert_eq!(
        b.login("ada@example.com", PASSWORD).await.status(),
        403,
        "still unverified"
    );

    let res = follow(&b, &second, "/verify-email").await;
    assert_eq!(res.status(), 200);
    assert!(is_verified(&app, "ada@example.com").await);
    let res = b.login("ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    assert_eq!(b.get("/account").await.status(), 200);
}

async fn required_verification_refuses_oidc_authorization_for_an_unverified_user(backend: Backend) {
    // Ada signed up (and in) before the operator required verified addresses.
    let app = spawn_app(backend).await;
    let mut b = signed_up(&app, "ada@example.com").await;
    let app = app
        .restart_with(|s| {
            s.accounts.require_verified_email = true;
            // The restarted server is its own issuer again (it listens on a new port).
            s.issuer = "http://127.0.0.1:8080".into();
        })
        .await;
    b.base = app.address.clone();
    assert_eq!(
        b.get("/account").await.status(),
        200,
        "the session survived the restart"
    );

    let (client_id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let client = rp::rp(&app, &client_id, secret.as_deref()).await;
    let started = client.start(&["openid", "email"], true, &[]);
    match drive(&b, &started.url, Some("allow")).await {
        Outcome::Page(403, html) => assert!(html.contains("Confirm your email address"), "{html}"),
        other => panic!("an unverified user must not be authorized: {other:?}"),
    }
    let silent = client.start(&["openid"], true, &[("prompt", "none")]);
    match drive(&b, &silent.url, None).await {
        Outcome::Callback(cb) => {
            assert_eq!(cb.get("error"), Some("interaction_required"));
            assert!(cb.get("code").is_none());
        }
        other => panic!("prompt=none must answer the client with an error: {other:?}"),
    }

    // After following the link the authorization goes through.
    let link = verify_link(&app, "ada@example.com", 1).await;
    assert_eq!(follow(&b, &link, "/verify-email").await.status(), 200);
    let started = client.start(&["openid", "email"], true, &[]);
    let Outcome::Callback(cb) = drive(&b, &started.url, Some("allow")).await else {
        panic!("no callback after verifying")
    };
    let tokens = client
        .exchange(cb.code(), started.verifier)
        .await
        .expect("code exchange");
    let _ = tokens;
}

// ---- 6. password reset ----

async fn forgot_answers_the_same_for_known_and_unknown_addresses(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    assert_eq!(b.get("/forgot").await.status(), 200);

    let known = b.post("/forgot", &[("email", "ada@example.com")]).await;
    let unknown = b.post("/forgot", &[("email", "nobody@example.com")]).await;
    assert_eq!(known.status(), 200);
    assert_eq!(known.status(), unknown.status());
    let known = known.text().await.unwrap();
    let unknown = unknown.text().await.unwrap();
    assert!(known.contains("If an account uses that address"), "{known}");
    assert_eq!(
        known.replace("ada@example.com", "X"),
        unknown.replace("nobody@example.com", "X")
    );

    let mail = &wait_mails(&app, "ada@example.com", "Reset your password", 1).await[0];
    assert!(link_in(&mail.text(), "/reset").is_some());
    assert!(
        outbox_to(&app, "nobody@example.com").await.is_empty(),
        "no mail for an unknown address"
    );
}

async fn password_reset_sets_the_password_and_ends_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = signed_up(&app, "ada@example.com").await;
    let second = app.browser();
    assert_eq!(
        second.login("ada@example.com", PASSWORD).await.status(),
        303
    );
    assert_eq!(first.get("/account").await.status(), 200);
    assert_eq!(second.get("/account").await.status(), 200);
    let (id, _, _) = user_by_email(&app, "ada@example.com").await.unwrap();
    assert_eq!(session_methods(&app, &id).await.len(), 2);

    let stranger = app.browser();
    assert_eq!(
        stranger
            .post("/forgot", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let link = reset_link(&app, "ada@example.com", 1).await;
    let page = stranger.get(&path_of(&link)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(has_form(&html, "/reset"));
    assert!(html.contains(r#"name="new_password""#) && html.contains(r#"name="confirm_password""#));
    let token = hidden(&html, "token").expect("the form carries the token");
    assert_eq!(token, token_of(&link));

    let res = stranger
        .post(
            "/reset",
            &[
                ("token", &token),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?notice=reset");

    // Every session of the user is gone, in every browser.
    assert_signed_out(&first).await;
    assert_signed_out(&second).await;
    assert!(session_methods(&app, &id).await.is_empty());

    let notice = &wait_mails(&app, "ada@example.com", "Your password was changed", 1).await[0];
    assert!(notice.text().contains("all your sessions were signed out"));

    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        401,
        "the old password fails"
    );
    assert_eq!(
        app.browser()
            .login("ada@example.com", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    assert!(
        is_verified(&app, "ada@example.com").await,
        "receiving the link proved the address"
    );
}

async fn reset_link_works_once_and_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();

    assert_eq!(
        b.post("/forgot", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let link = reset_link(&app, "ada@example.com", 1).await;
    let token = token_of(&link);
    let res = b
        .post(
            "/reset",
            &[
                ("token", &token),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let again = b
        .post(
            "/reset",
            &[
                ("token", &token),
                ("new_password", "yet another passphrase"),
                ("confirm_password", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(again.status(), 400, "a reset link works once");
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("invalid, expired or already used"));
    assert_eq!(
        app.browser()
            .login("ada@example.com", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.browser()
            .login("ada@example.com", "yet another passphrase")
            .await
            .status(),
        401
    );

    // An expired link.
    assert_eq!(
        b.post("/forgot", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let link = reset_link(&app, "ada@example.com", 2).await;
    expire_tokens(&app, "reset_password").await;
    let res = b
        .post(
            "/reset",
            &[
                ("token", &token_of(&link)),
                ("new_password", "expired passphrase"),
                ("confirm_password", "expired passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400, "an expired reset link fails");
    assert_eq!(
        app.browser()
            .login("ada@example.com", NEW_PASSWORD)
            .await
            .status(),
        303,
        "the password is unchanged"
    );
    assert_eq!(
        app.browser()
            .login("ada@example.com", "expired passphrase")
            .await
            .status(),
        401
    );
}

async fn reset_with_a_mismatched_confirmation_is_refused_and_keeps_the_link(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    assert_eq!(
        b.post("/forgot", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let token = token_of(&reset_link(&app, "ada@example.com", 1).await);

    let res = b
        .post(
            "/reset",
            &[
                ("token", &token),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("The passwords do not match."), "{html}");
    assert!(
        !html.contains(NEW_PASSWORD) && !html.contains("something else entirely"),
        "passwords are never echoed"
    );
    assert_eq!(
        hidden(&html, "token").as_deref(),
        Some(token.as_str()),
        "the form keeps the token"
    );
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303,
        "the password is unchanged"
    );

    // The link was not spent by the refused attempt.
    let res = b
        .post(
            "/reset",
            &[
                ("token", &token),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.browser()
            .login("ada@example.com", NEW_PASSWORD)
            .await
            .status(),
        303
    );
}

async fn forgot_is_rate_limited_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.mail_per_address_per_hour = 2).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    for email in ["ada@example.com", "nobody@example.com"] {
        for _ in 0..2 {
            assert_eq!(b.post("/forgot", &[("email", email)]).await.status(), 200);
        }
        let res = b.post("/forgot", &[("email", email)]).await;
        assert_eq!(
            res.status(),
            429,
            "the third request for {email} within the hour is refused"
        );
        assert!(res.text().await.unwrap().contains("Too many requests"));
    }
    let resets = outbox_to(&app, "ada@example.com")
        .await
        .into_iter()
        .filter(|m| m.subject == "Reset your password")
        .count();
    assert_eq!(resets, 2);
}

async fn forgot_is_rate_limited_per_ip(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.accounts.mail_per_ip_per_hour = 2;
        s.accounts.mail_per_address_per_hour = 100;
    })
    .await;
    signed_up(&app, "carol@example.com").await;
    let b = app.browser();
    assert_eq!(
        b.post("/forgot", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    assert_eq!(
        app.browser()
            .post("/forgot", &[("email", "bob@example.com")])
            .await
            .status(),
        200
    );
    let res = app
        .browser()
        .post("/forgot", &[("email", "carol@example.com")])
        .await;
    assert_eq!(
        res.status(),
        429,
        "the third request from one IP within the hour is refused, whatever the address"
    );
    assert!(outbox_to(&app, "carol@example.com")
        .await
        .iter()
        .all(|m| m.subject != "Reset your password"));
}

// ---- 7. magic links ----

async fn magic_link_request_answers_the_same_for_known_and_unknown_addresses(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.magic_link = true).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();

    let known = b
        .post("/login/magic", &[("email", "ada@example.com")])
        .await;
    let unknown = b
        .post("/login/magic", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(known.status(), 200);
    assert_eq!(known.status(), unknown.status());
    let known = known.text().await.unwrap();
    let unknown = unknown.text().await.unwrap();
    assert!(known.contains("a sign-in link is on its way"), "{known}");
    assert_eq!(
        known.replace("ada@example.com", "X"),
        unknown.replace("nobody@example.com", "X")
    );

    magic_link(&app, "ada@example.com", 1).await;
    assert!(outbox_to(&app, "nobody@example.com").await.is_empty());
}

async fn magic_link_signs_in_once_and_honours_a_local_return_to(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.magic_link = true).await;
    signed_up(&app, "ada@example.com").await;
    let (id, _, _) = user_by_email(&app, "ada@example.com").await.unwrap();
    let b = app.browser();
    let login = b.get("/login").await.text().await.unwrap();
    assert!(
        has_form(&login, "/login/magic"),
        "the sign-in page offers a sign-in link"
    );

    let res = b
        .post(
            "/login/magic",
            &[
                ("email", "ada@example.com"),
                ("return_to", "/account/settings?x=1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let link = magic_link(&app, "ada@example.com", 1).await;
    assert_eq!(
        query_param(&link, "return_to").as_deref(),
        Some("/account/settings?x=1")
    );
    assert!(b.session_token().await.is_none());

    let res = follow(&b, &link, "/login/magic/confirm").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/settings?x=1");
    assert!(sets_session_cookie(&res));
    assert_eq!(b.get("/account").await.status(), 200);
    let methods = session_methods(&app, &id).await;
    assert_eq!(
        methods.iter().filter(|m| *m == "email:link").count(),
        1,
        "{methods:?}"
    );

    let other = app.browser();
    let again = follow(&other, &link, "/login/magic/confirm").await;
    assert_eq!(again.status(), 400, "a magic link works once");
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("invalid, expired or already used"));
    assert_signed_out(&other).await;
}

async fn magic_link_ignores_a_hostile_return_to(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.magic_link = true).await;
    signed_up(&app, "ada@example.com").await;

    // Asked for with a hostile return_to: the link does not carry it.
    let b = app.browser();
    assert_eq!(
        b.post(
            "/login/magic",
            &[
                ("email", "ada@example.com"),
                ("return_to", "//evil.example")
            ]
        )
        .await
        .status(),
        200
    );
    let link = magic_link(&app, "ada@example.com", 1).await;
    assert!(!link.contains("evil"), "{link}");
    let res = follow(&b, &link, "/login/magic/confirm").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");

    // A link tampered with afterwards.
    let c = app.browser();
    assert_eq!(
        c.post("/login/magic", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let link = magic_link(&app, "ada@example.com", 2).await;
    let token = token_of(&link);
    let page = c
        .get(&format!(
            "/login/magic?token={token}&return_to=%2F%2Fevil.example"
        ))
        .await;
    assert_eq!(page.status(), 200);
    assert!(
        !page.text().await.unwrap().contains("evil.example"),
        "the page does not carry a hostile return_to"
    );
    let res = c
        .post(
            "/login/magic/confirm",
            &[("token", &token), ("return_to", "//evil.example")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    assert!(sets_session_cookie(&res));
}

async fn expired_magic_link_fails(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.magic_link = true).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    assert_eq!(
        b.post("/login/magic", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let link = magic_link(&app, "ada@example.com", 1).await;
    expire_tokens(&app, "magic_link").await;

    let res = follow(&b, &link, "/login/magic/confirm").await;
    assert_eq!(res.status(), 400);
    assert!(!sets_session_cookie(&res));
    assert_signed_out(&b).await;
}

async fn magic_link_routes_are_404_when_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    assert_eq!(
        b.post("/login/magic", &[("email", "ada@example.com")])
            .await
            .status(),
        404
    );
    assert_eq!(b.get("/login/magic?token=x").await.status(), 404);
    assert_eq!(
        b.post("/login/magic/confirm", &[("token", "x")])
            .await
            .status(),
        404
    );
    let queued = outbox_to(&app, "ada@example.com").await;
    assert!(
        queued.iter().all(|m| m.subject != "Your sign-in link"),
        "no link sent"
    );
    let login = b.get("/login").await.text().await.unwrap();
    assert!(
        !has_form(&login, "/login/magic"),
        "the sign-in page does not offer it"
    );
}

// ---- 8. email codes ----

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

async fn email_code_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.accounts.email_code = true;
        s.accounts.code_max_attempts = 3;
    })
    .await
}

async fn email_code_signs_in_once(backend: Backend) {
    let app = email_code_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let (id, _, _) = user_by_email(&app, "ada@example.com").await.unwrap();
    let b = app.browser();

    let res = b
        .post(
            "/login/code",
            &[
                ("email", "ada@example.com"),
                ("return_to", "/account/sessions"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(has_form(&html, "/login/code/verify"));
    assert_eq!(hidden(&html, "email").as_deref(), Some("ada@example.com"));
    let code = nth_code(&app, "ada@example.com", 1).await;

    let res = b
        .post(
            "/login/code/verify",
            &[
                ("email", "ada@example.com"),
                ("code", &code),
                ("return_to", "/account/sessions"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/sessions");
    assert!(sets_session_cookie(&res));
    assert_eq!(b.get("/account").await.status(), 200);
    assert!(session_methods(&app, &id)
        .await
        .contains(&"email:code".to_string()));

    let other = app.browser();
    let res = other
        .post(
            "/login/code/verify",
            &[("email", "ada@example.com"), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 422, "a code works once");
    assert_signed_out(&other).await;
}

async fn wrong_email_codes_are_refused_and_lock_the_code(backend: Backend) {
    let app = email_code_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();

    assert_eq!(
        b.post("/login/code", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let code = nth_code(&app, "ada@example.com", 1).await;
    for _ in 0..3 {
        let res = b
            .post(
                "/login/code/verify",
                &[("email", "ada@example.com"), ("code", &wrong(&code))],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("That code is not right"));
    }
    let res = b
        .post(
            "/login/code/verify",
            &[("email", "ada@example.com"), ("code", &code)],
        )
        .await;
    assert_eq!(
        res.status(),
        422,
        "after 3 wrong tries even the right code fails"
    );
    assert!(!sets_session_cookie(&res));
    assert_signed_out(&b).await;

    // Under the limit the right code still works.
    assert_eq!(
        b.post("/login/code", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let code = nth_code(&app, "ada@example.com", 2).await;
    for _ in 0..2 {
        let res = b
            .post(
                "/login/code/verify",
                &[("email", "ada@example.com"), ("code", &wrong(&code))],
            )
            .await;
        assert_eq!(res.status(), 422);
    }
    let res = b
        .post(
            "/login/code/verify",
            &[("email", "ada@example.com"), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(b.get("/account").await.status(), 200);
}

async fn expired_email_code_fails(backend: Backend) {
    let app = email_code_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    assert_eq!(
        b.post("/login/code", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let code = nth_code(&app, "ada@example.com", 1).await;
    expire_tokens(&app, "email_code").await;

    let res = b
        .post(
            "/login/code/verify",
            &[("email", "ada@example.com"), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(!sets_session_cookie(&res));
    assert_signed_out(&b).await;
}

async fn email_code_is_bound_to_its_address(backend: Backend) {
    let app = email_code_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    signed_up(&app, "bob@example.com").await;
    let b = app.browser();

    // Bob has no code: Ada's does not work for him.
    assert_eq!(
        b.post("/login/code", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let ada_code = nth_code(&app, "ada@example.com", 1).await;
    let res = b
        .post(
            "/login/code/verify",
            &[("email", "bob@example.com"), ("code", &ada_code)],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_signed_out(&b).await;

    // Bob has a (different) code of his own: Ada's still does not work for him.
    let mut n = 0;
    let bob_code = loop {
        n += 1;
        assert_eq!(
            b.post("/login/code", &[("email", "bob@example.com")])
                .await
                .status(),
            200
        );
        let c = nth_code(&app, "bob@example.com", n).await;
        if c != ada_code {
            break c;
        }
    };
    let res = b
        .post(
            "/login/code/verify",
            &[("email", "bob@example.com"), ("code", &ada_code)],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_signed_out(&b).await;

    // Each code signs in its own address.
    let res = b
        .post(
            "/login/code/verify",
            &[("email", "ada@example.com"), ("code", &ada_code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (ada_id, _, _) = user_by_email(&app, "ada@example.com").await.unwrap();
    assert!(session_methods(&app, &ada_id)
        .await
        .contains(&"email:code".to_string()));
    let c = app.browser();
    assert_eq!(
        c.post(
            "/login/code/verify",
            &[("email", "bob@example.com"), ("code", &bob_code)]
        )
        .await
        .status(),
        303
    );
}

async fn email_code_routes_are_404_when_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let b = app.browser();
    assert_eq!(
        b.post("/login/code", &[("email", "ada@example.com")])
            .await
            .status(),
        404
    );
    assert_eq!(
        b.post(
            "/login/code/verify",
            &[("email", "ada@example.com"), ("code", "123456")]
        )
        .await
        .status(),
        404
    );
    assert!(outbox_to(&app, "ada@example.com")
        .await
        .iter()
        .all(|m| !m.subject.starts_with("Your sign-in code")));
}

// ---- 9. mail contents ----

async fn mails_never_contain_the_password_and_html_links_sit_in_hrefs(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.accounts.magic_link = true;
        s.accounts.email_code = true;
    })
    .await;
    let name = "Ada <b>Lovelace</b>";
    let b = app.browser();
    assert_eq!(
        b.signup(name, "ada@example.com", PASSWORD).await.status(),
        303
    );
    let other = app.browser();
    assert_eq!(
        other
            .post("/forgot", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    assert_eq!(
        other
            .post("/login/magic", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    assert_eq!(
        other
            .post("/login/code", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let reset = reset_link(&app, "ada@example.com", 1).await;
    let res = other
        .post(
            "/reset",
            &[
                ("token", &token_of(&reset)),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    wait_mails(&app, "ada@example.com", "Your password was changed", 1).await;

    let expected = [
        ("Confirm your email address", Some("/verify-email")),
        ("Reset your password", Some("/reset")),
        ("Your sign-in link", Some("/login/magic")),
        ("Your sign-in code", None),
        ("Your password was changed", None),
    ];
    let raws: Vec<String> = app
        .mails()
        .into_iter()
        .filter(|m| m.is_to("ada@example.com"))
        .map(|m| m.raw)
        .collect();
    assert_eq!(raws.len(), expected.len());
    for raw in &raws {
        let mail = Mail::parse(raw);
        let subject = subject(&mail);
        let (text, html) = (mail.text(), mail.html());
        assert!(
            !text.is_empty() && !html.is_empty(),
            "{subject}: both parts"
        );
        for secret in [PASSWORD, NEW_PASSWORD] {
            assert!(
                !raw.contains(secret) && !text.contains(secret) && !html.contains(secret),
                "{subject} contains a password"
            );
        }

        // Valid-looking HTML whose user data is escaped.
        let trimmed = html.trim();
        assert!(
            trimmed.to_ascii_lowercase().starts_with("<!doctype html>"),
            "{subject}: {trimmed}"
        );
        assert!(trimmed.ends_with("</html>"), "{subject}");
        assert!(html.contains("<body") && html.contains("</body>"));
        assert!(
            !html.contains("<b>Lovelace</b>"),
            "{subject}: the name is escaped in HTML"
        );
        assert!(
            html.contains("Ada &lt;b&gt;Lovelace&lt;&#x2f;b&gt;")
                || html.contains("Ada &lt;b&gt;Lovelace&lt;/b&gt;"),
            "{subject}: {html}"
        );
        assert_eq!(
            html.matches("<a ").count(),
            html.matches("</a>").count(),
            "{subject}: balanced links"
        );

        let (_, path) = expected
            .iter()
            .find(|(s, _)| subject.starts_with(s))
            .unwrap_or_else(|| panic!("unexpected mail {subject}"));
        match path {
            Some(path) => {
                let link =
                    link_in(&text, path).unwrap_or_else(|| panic!("{subject}: no link in text"));
                assert!(link.starts_with(&app.address), "{subject}: {link}");
                assert!(
                    html_unescape(&html).contains(&format!(r#"href="{link}""#)),
                    "{subject}: the HTML part links to {link} in an href: {html}"
                );
            }
            None if subject.starts_with("Your password was changed") => {
                let forgot = format!("{}/forgot", app.address);
                assert!(text.contains(&forgot));
                assert!(
                    html_unescape(&html).contains(&format!(r#"href="{forgot}""#)),
                    "{html}"
                );
            }
            None => {
                let code = subject.rsplit(' ').next().unwrap();
                assert!(
                    code.len() == 6 && text.contains(code) && html.contains(code),
                    "{subject}"
                );
                assert!(
                    !html.contains("href=\"http"),
                    "a code mail has no sign-in link"
                );
            }
        }
    }
}
