//! Every setting does what it says: the time zone (a real zone, shown on the account pages and
//! sent as `zoneinfo`), security notices (new device, password change, address change, each only
//! when wanted) and how email sign-ins read in the sessions list.

use diesel::prelude::*;
use portcullis::db::models::OutboxMessage;
use portcullis::db::schema::{
    known_devices, mail_outbox, sessions, user_profile, user_settings, users, verifications,
};

use crate::helpers::*;
use crate::rp::{self, drive, Outcome};
use crate::smtp_sink::{html_unescape, Mail};

backend_tests!(
    time_zone_must_be_a_real_zone_and_is_used_everywhere,
    a_stored_zone_that_is_not_a_zone_counts_as_unset,
    sign_in_from_a_new_browser_sends_one_notice_and_the_same_browser_none,
    sign_up_and_the_first_browser_send_no_notice,
    new_browser_sends_no_notice_when_notices_are_off,
    notice_for_a_magic_link_sign_in_names_the_method,
    password_change_sends_a_notice_only_when_wanted,
    email_change_notifies_the_old_address_only_when_wanted,
    password_reset_notice_is_sent_even_with_notices_off,
    email_sign_ins_show_their_method_in_the_sessions_list,
);

const NEW_SIGN_IN: &str = "New sign-in to your account";
const PASSWORD_CHANGED: &str = "Your password was changed";
const EMAIL_CHANGED: &str = "Your email address was changed";

/// Queued messages to `email` with exactly this subject. The outbox row is written in the same
/// transaction as the change, so counting rows is exact (no waiting for the worker).
async fn queued(app: &TestApp, email: &str, subject: &str) -> Vec<OutboxMessage> {
    let (email, subject) = (email.to_string(), subject.to_string());
    app.query(move |c| {
        mail_outbox::table
            .filter(mail_outbox::recipient.eq(email))
            .filter(mail_outbox::subject.eq(subject))
            .order(mail_outbox::created_at.asc())
            .select(OutboxMessage::as_select())
            .load(c)
    })
    .await
}

/// Waits (up to 10 s) for the worker to deliver a message with this subject to `email`.
async fn delivered(app: &TestApp, email: &str, subject: &str) -> Mail {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = app
            .mails()
            .into_iter()
            .filter(|m| m.is_to(email))
            .map(|m| Mail::parse(&m.raw))
            .find(|m| m.header("Subject").as_deref() == Some(subject));
        if let Some(m) = found {
            return m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {subject:?} mail to {email}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn set_notifications(b: &Browser, on: bool) {
    let mut fields = vec![("theme", "system"), ("language", "en")];
    if on {
        fields.push(("notifications", "on"));
    }
    assert_eq!(b.post("/account/settings", &fields).await.status(), 303);
}

fn profile_form(timezone: &str) -> Vec<(&str, &str)> {
    vec![
        ("name", "Ada Lovelace"),
        ("picture", ""),
        ("bio", ""),
        ("website", ""),
        ("timezone", timezone),
    ]
}

async fn stored_zone(app: &TestApp) -> Option<String> {
    app.query(|c| user_profile::table.select(user_profile::timezone).first(c))
        .await
}

/// UserInfo for `b`'s user, through a real code flow with the profile scope.
async fn userinfo(app: &TestApp, b: &Browser) -> serde_json::Value {
    let (id, secret) = rp::register(app, rp::spec("Calendar")).await;
    let rp = rp::rp(app, &id, secret.as_deref()).await;
    let started = rp.start(&["profile"], true, &[]);
    let Outcome::Callback(cb) = drive(b, &started.url, Some("allow")).await else {
        panic!("no callback")
    };
    let tokens = rp.exchange(cb.code(), started.verifier).await.unwrap();
    use openidconnect::OAuth2TokenResponse;
    let res = reqwest::Client::new()
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The "Signed in" / "Last active" values of the sessions page.
fn session_times(html: &str) -> Vec<String> {
    let mut times = Vec::new();
    for label in ["<dt>Signed in</dt><dd>", "<dt>Last active</dt><dd>"] {
        for (at, _) in html.match_indices(label) {
            let rest = &html[at + label.len()..];
            times.push(html_unescape(&rest[..rest.find("</dd>").unwrap()]));
        }
    }
    times
}

async fn time_zone_must_be_a_real_zone_and_is_used_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let page = html_unescape(&b.get("/account").await.text().await.unwrap());
    assert!(
        page.contains(r#"<select id="timezone" name="timezone""#),
        "the zone is chosen from a list"
    );
    assert!(page.contains(r#"<option value="Europe/Berlin">"#));
    assert!(page.contains(r#"<option value="">UTC (not set)</option>"#));

    let res = b
        .post("/account/profile", &profile_form("Mars/Olympus"))
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Choose a time zone from the list."));
    assert_eq!(stored_zone(&app).await, None, "nothing saved");

    let res = b
        .post("/account/profile", &profile_form("Europe/Berlin"))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(stored_zone(&app).await.as_deref(), Some("Europe/Berlin"));
    let page = html_unescape(&b.get("/account").await.text().await.unwrap());
    assert!(
        page.contains(r#"<option value="Europe/Berlin" selected>"#),
        "the saved zone is selected"
    );
    assert_eq!(page.matches(" selected>").count(), 1);

    assert_eq!(userinfo(&app, &b).await["zoneinfo"], "Europe/Berlin");

    let html = b.get("/account/sessions").await.text().await.unwrap();
    let times = session_times(&html);
    assert_eq!(times.len(), 2, "{html}");
    for t in &times {
        assert!(
            t.ends_with(" CET") || t.ends_with(" CEST"),
            "a Berlin time: {t}"
        );
    }
    // The shown time is the session's UTC time moved into Berlin.
    let created: chrono::NaiveDateTime = app
        .query(|c| sessions::table.select(sessions::created_at).first(c))
        .await;
    let berlin = portcullis::identity::time_zone::TimeZone::parse("Europe/Berlin");
    assert_eq!(
        times[0],
        portcullis::identity::time_zone::display_time(created, berlin)
    );
    let methods = b.get("/account/methods").await.text().await.unwrap();
    assert!(
        methods.contains(" CET") || methods.contains(" CEST"),
        "the methods page too"
    );

    // Back to "not set": UTC on the pages, no zoneinfo.
    assert_eq!(
        b.post("/account/profile", &profile_form("")).await.status(),
        303
    );
    assert_eq!(stored_zone(&app).await, None);
    let html = b.get("/account/sessions").await.text().await.unwrap();
    assert!(session_times(&html).iter().all(|t| t.ends_with(" UTC")));
}

async fn a_stored_zone_that_is_not_a_zone_counts_as_unset(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    // As saved by versions that took free text.
    app.query(|c| {
        diesel::update(user_profile::table)
            .set(user_profile::timezone.eq("Mars/Olympus"))
            .execute(c)
    })
    .await;
    let page = b.get("/account").await;
    assert_eq!(page.status(), 200);
    assert!(
        !page.text().await.unwrap().contains(" selected>"),
        "no zone is selected"
    );
    let html = b.get("/account/sessions").await.text().await.unwrap();
    assert!(session_times(&html).iter().all(|t| t.ends_with(" UTC")));
    assert!(
        userinfo(&app, &b).await.get("zoneinfo").is_none(),
        "not sent as zoneinfo"
    );
}

async fn sign_in_from_a_new_browser_sends_one_notice_and_the_same_browser_none(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let laptop = app.browser();
    assert_eq!(
        laptop.login("ada@example.com", PASSWORD).await.status(),
        303
    );
    assert_eq!(queued(&app, "ada@example.com", NEW_SIGN_IN).await.len(), 1);
    let device = laptop.cookie("portcullis_device").expect("a device cookie");
    assert_eq!(device.len(), 43);

    // The same browser again (signed out in between): known, no second notice.
    assert_eq!(laptop.post("/logout", &[]).await.status(), 303);
    assert_eq!(
        laptop.login("ada@example.com", PASSWORD).await.status(),
        303
    );
    assert_eq!(
        laptop.cookie("portcullis_device").as_deref(),
        Some(device.as_str()),
        "the device keeps its cookie"
    );
    assert_eq!(queued(&app, "ada@example.com", NEW_SIGN_IN).await.len(), 1);

    // Only the SHA-256 is stored.
    let hashes: Vec<String> = app
        .query(|c| {
            known_devices::table
                .select(known_devices::device_hash)
                .load(c)
        })
        .await;
    assert_eq!(hashes.len(), 2, "the sign-up browser and the laptop");
    assert!(!hashes.contains(&device) && hashes.contains(&portcullis::crypto::sha256_hex(&device)));

    // A wrong password from yet another browser is no sign-in: no notice.
    assert_eq!(
        app.browser()
            .login("ada@example.com", "wrong password")
            .await
            .status(),
        401
    );
    assert_eq!(queued(&app, "ada@example.com", NEW_SIGN_IN).await.len(), 1);

    let mail = delivered(&app, "ada@example.com", NEW_SIGN_IN).await;
    let text = mail.text();
    assert!(text.contains("Device: Firefox on Linux"), "{text}");
    assert!(text.contains("IP address: 127.0.0.1"), "{text}");
    assert!(text.contains("Signed in with: Password"), "{text}");
    assert!(text.contains("When: ") && text.contains(" UTC"), "{text}");
    assert!(
        text.contains(&format!("{}/account/sessions", app.address)),
        "what to do if it was not them: {text}"
    );
    assert!(
        !text.contains(&device),
        "the device secret never leaves the cookie"
    );
    let html = html_unescape(&mail.html());
    assert!(
        html.contains("If it was not you, change your password now"),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"<a href="{}/account/settings""#, app.address)),
        "the footer says why: {html}"
    );
    assert!(
        !html.contains("ignore this message"),
        "a security notice is not to be ignored"
    );
}

async fn sign_up_and_the_first_browser_send_no_notice(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    assert!(
        b.cookie("portcullis_device").is_some(),
        "sign-up remembers the browser"
    );
    // A user who never had a remembered browser (created before devices were remembered, or by
    // the CLI) has nothing to compare with: their first sign-in is not "new".
    app.query(|c| diesel::delete(known_devices::table).execute(c))
        .await;
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    assert!(queued(&app, "ada@example.com", NEW_SIGN_IN)
        .await
        .is_empty());
    // The set-cookie is HttpOnly and SameSite=Lax.
    let res = app.browser().login("ada@example.com", PASSWORD).await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("portcullis_device="))
        .expect("device cookie set");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Max-Age="),
        "{cookie}"
    );
    assert_eq!(
        queued(&app, "ada@example.com", NEW_SIGN_IN).await.len(),
        1,
        "the third browser is new"
    );
}

async fn new_browser_sends_no_notice_when_notices_are_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    set_notifications(&b, false).await;
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    assert!(queued(&app, "ada@example.com", NEW_SIGN_IN)
        .await
        .is_empty());
    set_notifications(&b, true).await;
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(queued(&app, "ada@example.com", NEW_SIGN_IN).await.len(), 1);
}

/// The sign-in link of the latest magic-link mail to `email`.
async fn latest_magic_token(app: &TestApp) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mail = queued(app, "ada@example.com", "Your sign-in link")
            .await
            .pop();
        if let Some(m) = mail {
            let at = m.body_text.find("token=").unwrap() + "token=".len();
            let rest = &m.body_text[at..];
            return rest[..rest
                .find(|c: char| c == '&' || c.is_whitespace())
                .unwrap_or(rest.len())]
                .to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no magic link mail");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn notice_for_a_magic_link_sign_in_names_the_method(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.magic_link = true).await;
    signed_up(&app, "ada@example.com").await;
    let phone = app.browser();
    phone
        .post("/login/magic", &[("email", "ada@example.com")])
        .await;
    let token = latest_magic_token(&app).await;
    let res = phone
        .post("/login/magic/confirm", &[("token", &token)])
        .await;
    assert_eq!(res.status(), 303);
    let notices = queued(&app, "ada@example.com", NEW_SIGN_IN).await;
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0]
            .body_text
            .contains("Signed in with: Sign-in link by email"),
        "{}",
        notices[0].body_text
    );
}

async fn password_change_sends_a_notice_only_when_wanted(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    assert_eq!(
        b.post("/account/profile", &profile_form("Europe/Berlin"))
            .await
            .status(),
        303
    );
    let new = "a brand new passphrase";
    let change = |from: &'static str, to: &'static str| {
        [
            ("current_password", from),
            ("new_password", to),
            ("confirm_password", to),
        ]
    };

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
    assert_eq!(res.status(), 422);
    assert!(
        queued(&app, "ada@example.com", PASSWORD_CHANGED)
            .await
            .is_empty(),
        "a refused change sends nothing"
    );

    assert_eq!(
        b.post("/account/password", &change(PASSWORD, new))
            .await
            .status(),
        303
    );
    assert_eq!(
        queued(&app, "ada@example.com", PASSWORD_CHANGED)
            .await
            .len(),
        1
    );
    let text = delivered(&app, "ada@example.com", PASSWORD_CHANGED)
        .await
        .text();
    assert!(text.contains("changed from your account page"), "{text}");
    assert!(
        text.contains(" CET") || text.contains(" CEST"),
        "the time is in the person's zone: {text}"
    );
    assert!(text.contains(&format!("{}/forgot", app.address)), "{text}");

    set_notifications(&b, false).await;
    assert_eq!(
        b.post("/account/password", &change(new, PASSWORD))
            .await
            .status(),
        303
    );
    assert_eq!(
        queued(&app, "ada@example.com", PASSWORD_CHANGED)
            .await
            .len(),
        1,
        "off: no second notice"
    );
}

/// Asks for an address change and follows the verification link.
async fn change_email(app: &TestApp, b: &Browser, to: &'static str) {
    let res = b
        .post(
            "/account/email",
            &[("new_email", to), ("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to_owned = to.to_string();
    // The verification token is stored hashed; take the link from the queued mail.
    let mail = app
        .query(move |c| {
            mail_outbox::table
                .filter(mail_outbox::recipient.eq(to_owned))
                .select(mail_outbox::body_text)
                .first::<String>(c)
        })
        .await;
    let at = mail.find("token=").unwrap() + "token=".len();
    let rest = &mail[at..];
    let token = &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())];
    assert_eq!(
        b.post("/verify-email", &[("token", token)]).await.status(),
        200
    );
    let email: String = app
        .query(|c| users::table.select(users::email).first(c))
        .await;
    assert_eq!(email, to);
}

async fn email_change_notifies_the_old_address_only_when_wanted(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    change_email(&app, &b, "ada@new.example.com").await;
    let notices = queued(&app, "ada@example.com", EMAIL_CHANGED).await;
    assert_eq!(notices.len(), 1, "the old address hears of it");
    assert!(
        notices[0]
            .body_text
            .contains("from ada@example.com to ada@new.example.com"),
        "{}",
        notices[0].body_text
    );
    assert!(queued(&app, "ada@new.example.com", EMAIL_CHANGED)
        .await
        .is_empty());
    delivered(&app, "ada@example.com", EMAIL_CHANGED).await;

    set_notifications(&b, false).await;
    change_email(&app, &b, "ada@third.example.com").await;
    assert!(
        queued(&app, "ada@new.example.com", EMAIL_CHANGED)
            .await
            .is_empty(),
        "off: no notice"
    );
    let pending: i64 = app
        .query(|c| verifications::table.count().get_result(c))
        .await;
    assert_eq!(pending, 0);
}

async fn password_reset_notice_is_sent_even_with_notices_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    set_notifications(&b, false).await;
    let notifications: bool = app
        .query(|c| {
            user_settings::table
                .select(user_settings::notifications)
                .first(c)
        })
        .await;
    assert!(!notifications);
    assert_eq!(
        b.post("/forgot", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    let mail: String = app
        .query(|c| {
            mail_outbox::table
                .filter(mail_outbox::subject.eq("Reset your password"))
                .select(mail_outbox::body_text)
                .first(c)
        })
        .await;
    let at = mail.find("token=").unwrap() + "token=".len();
    let rest = &mail[at..];
    let token = &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())];
    let new = "a brand new passphrase";
    let res = b
        .post(
            "/reset",
            &[
                ("token", token),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        queued(&app, "ada@example.com", PASSWORD_CHANGED)
            .await
            .len(),
        1,
        "the reset notice is not optional"
    );
}

async fn email_sign_ins_show_their_method_in_the_sessions_list(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.accounts.magic_link = true;
        s.accounts.email_code = true;
    })
    .await;
    let b = signed_up(&app, "ada@example.com").await;

    let by_link = app.browser();
    by_link
        .post("/login/magic", &[("email", "ada@example.com")])
        .await;
    let token = latest_magic_token(&app).await;
    assert_eq!(
        by_link
            .post("/login/magic/confirm", &[("token", &token)])
            .await
            .status(),
        303
    );

    let by_code = app.browser();
    by_code
        .post("/login/code", &[("email", "ada@example.com")])
        .await;
    let code: String = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let subjects: Vec<String> = app
                .query(|c| mail_outbox::table.select(mail_outbox::subject).load(c))
                .await;
            if let Some(s) = subjects.iter().find(|s| s.starts_with("Your sign-in code")) {
                break s.rsplit(' ').next().unwrap().to_string();
            }
            assert!(std::time::Instant::now() < deadline);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    assert_eq!(code.len(), 6, "{code}");
    assert_eq!(
        by_code
            .post(
                "/login/code/verify",
                &[("email", "ada@example.com"), ("code", &code)]
            )
            .await
            .status(),
        303
    );

    let methods: Vec<String> = app
        .query(|c| sessions::table.select(sessions::auth_method).load(c))
        .await;
    assert!(
        methods.contains(&"email:link".into()) && methods.contains(&"email:code".into()),
        "{methods:?}"
    );
    let html = b.get("/account/sessions").await.text().await.unwrap();
    assert!(
        html.contains("<dt>Signed in with</dt><dd>Sign-in link by email <span"),
        "{html}"
    );
    assert!(html.contains("<dt>Signed in with</dt><dd>Code by email <span"));
    assert!(html.contains("<dt>Signed in with</dt><dd>Password <span"));
    assert!(!html.contains("<dd>Other "));
}
