//! The admin console in Chromium (issue 14), as an admin meets it on a fresh installation: the
//! bootstrap admin signs in, finds the console from the account page, registers an application,
//! disables a user (whose session ends), reads the audit log and sends failed mail again; a
//! client declared in the configuration file cannot be edited; a non-admin finds nothing.

use super::*;

browser_tests!(
    the_bootstrap_admin_runs_the_console,
    a_group_reaches_an_application_and_providers_are_tested,
    a_config_declared_client_is_shown_read_only_and_others_find_no_console,
);

mod inner {
    use super::*;
    use portcullis::db::models::User;

    const ROOT: &str = "root@example.com";

    pub async fn the_bootstrap_admin_runs_the_console(backend: Backend, chrome: &Chrome) {
        // Mail goes to a dead SMTP port and is given up after one try: a failed mail to retry.
        let app = spawn_app_with(backend, |s| {
            s.admin.bootstrap_email = ROOT.into();
            s.admin.bootstrap_password = portcullis::config::Secret::new(PASSWORD);
            s.mail.transport = portcullis::config::MailTransport::Smtp;
            s.mail.smtp.host = "127.0.0.1".into();
            s.mail.smtp.port = 1;
            s.mail.smtp.security = portcullis::config::SmtpSecurity::None;
            s.mail.max_attempts = 1;
        })
        .await;

        // Bob has an account and is signed in, in his own browser.
        let bob_browser = chrome.another("bob").await;
        let bob = bob_browser.tab(&app).await;
        bob.sign_up("Bob Example", "bob@example.com", PASSWORD)
            .await;
        bob.open("/account").await;
        bob.is_at("/account").await;
        bob.fill("#username", "bobby").await;
        bob.fill("#website", "https://bob.example.net").await;
        bob.press("Save profile").await;
        bob.sees("Your profile has been saved.").await;

        let admin = chrome.tab(&app).await;
        admin.sign_in(ROOT, PASSWORD).await;
        admin.open("/account").await;
        admin.press("Admin console").await;
        admin.is_at("/admin/users").await;
        admin.sees("Bob Example").await;

        // Find Bob and disable him.
        admin.fill("#q", "bob@").await;
        admin.press("Search").await;
        admin.sees("bob@example.com").await;
        admin.does_not_see("Administrator").await;
        admin.press("Bob Example").await;
        assert_eq!(admin.heading().await, "Bob Example");
        // What Bob wrote on his profile is part of the admin's picture of him.
        admin.sees("bobby").await;
        admin.sees("https://bob.example.net").await;
        admin.fill("#reason", "left the company").await;
        admin.press("Disable user").await;
        admin
            .sees("The user is disabled and their sessions have ended.")
            .await;
        admin.sees("left the company").await;
        admin.sees("No active sessions.").await;
        bob.open("/account").await;
        bob.is_at("/login").await;

        // Register an application; its secret is shown once.
        admin.press("Applications").await;
        admin.fill("#name", "Team wiki").await;
        admin
            .fill("#redirect_uris", "https://wiki.example/callback")
            .await;
        admin.press("Register").await;
        admin.sees("Team wiki is registered").await;
        admin.sees("Copy the secret now").await;
        let secret = admin
            .find(".admin-secret")
            .await
            .inner_text()
            .await
            .unwrap()
            .unwrap();
        assert!(secret.len() >= 32, "{secret}");
        admin.press("Team wiki").await;
        // A second line, as pressing Enter in the box would make it.
        admin
            .page
            .evaluate_expression(
                "document.querySelector('#redirect_uris').value += '\\nhttps://wiki.example/other'",
            )
            .await
            .unwrap();
        admin.press("Save").await;
        admin.sees("Saved.").await;
        let uris: String = app
            .query(|c| {
                use diesel::prelude::*;
                use portcullis::db::schema::oauth_client;
                oauth_client::table
                    .filter(oauth_client::name.eq("Team wiki"))
                    .select(oauth_client::redirect_uris)
                    .first(c)
            })
            .await;
        assert!(uris.contains("https://wiki.example/other"), "{uris}");
        admin.does_not_see(&secret).await;

        // The audit log says who did it.
        admin.press("Audit log").await;
        admin.fill("#kind", "user.disabled").await;
        admin.press("Filter").await;
        admin.sees("user.disabled").await;
        admin.sees("left the company").await;
        let root_id = app
            .query(|c| User::find_by_email(c, ROOT))
            .await
            .unwrap()
            .id;
        admin.sees(&format!("by user:{root_id}")).await;

        // A test message to a dead mail server fails; it is listed with why, and sent again.
        admin.press("Mail queue").await;
        admin.press("Send test message").await;
        admin.sees("The mail is on its way.").await;
        let mut failed = false;
        for _ in 0..50 {
            admin.open("/admin/mail").await;
            if admin.text().await.contains("failed") {
                failed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(
            failed,
            "the test mail did not fail:\n{}",
            admin.text().await
        );
        admin.sees("Portcullis test message").await;
        admin.press("Send all failed mail again").await;
        admin.sees("The mail will be sent again now.").await;
        let retried = app
            .query(|c| {
                use diesel::prelude::*;
                use portcullis::db::schema::audit_event;
                audit_event::table
                    .filter(audit_event::kind.eq("mail.retried"))
                    .count()
                    .get_result::<i64>(c)
            })
            .await;
        assert_eq!(retried, 1);

        // Enable Bob again: he signs in.
        admin.open("/admin/users?q=bob").await;
        admin.press("Bob Example").await;
        admin.press("Enable user").await;
        admin.sees("The user can sign in again.").await;
        bob.sign_in("bob@example.com", PASSWORD).await;
        bob.open("/account").await;
        bob.is_at("/account").await;
        bob_browser.close().await;
    }

    pub async fn a_group_reaches_an_application_and_providers_are_tested(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        signed_up(&app, "bob@example.com").await;
        let admin = chrome.tab(&app).await;
        admin.sign_up("Ada", "ada@example.com", PASSWORD).await;
        app.query(|c| {
            let u = User::find_by_email(c, "ada@example.com")?.unwrap();
            User::set_admin(c, &u.id, true, portcullis::identity::now())
        })
        .await;
        // Signing up was the sign-in: fresh enough for the console.
        admin.open("/admin").await;
        admin.press("Groups").await;
        admin.fill("#name", "Engineering").await;
        admin.press("Create group").await;
        assert_eq!(admin.heading().await, "Engineering");
        admin.fill("#user", "bob@example.com").await;
        admin.press("Add").await;
        admin.sees("The user is in the group.").await;
        admin.sees("bob@example.com").await;
        admin.fill("#user", "nobody@example.com").await;
        admin.press("Add").await;
        admin.sees("user not found").await;

        // An application asking for the groups scope gets the claim (openid-client).
        if crate::interop::node_ready() {
            let (id, secret) = crate::rp::register(&app, crate::rp::spec("Wiki")).await;
            let got = crate::groups::rp_login(
                &app,
                &id,
                secret.as_deref().unwrap(),
                "bob@example.com",
                "openid groups",
            )
            .await;
            assert_eq!(
                got["id_token"]["groups"],
                serde_json::json!(["Engineering"]),
                "{got}"
            );
        }

        // A GitHub provider (a local fake of GitHub Enterprise's web and API addresses) answers
        // as expected; an OpenID issuer nobody listens at says why it failed.
        let github = crate::upstream_more::fake_github().await;
        // What GitHub answers the test's made-up code, and an API call without a token.
        use wiremock::matchers::{body_string_contains, method, path};
        use wiremock::{Mock, ResponseTemplate};
        Mock::given(method("POST"))
            .and(path("/login/oauth/access_token"))
            .and(body_string_contains("portcullis-provider-test"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired."
            })))
            .with_priority(1)
            .mount(&github)
            .await;
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(serde_json::json!({"message": "Requires authentication"})),
            )
            .with_priority(10)
            .mount(&github)
            .await;
        admin.press("Sign-in providers").await;
        admin.select("#kind", "github").await;
        admin.fill("#slug", "github").await;
        admin.fill("#client_id", "gh-client").await;
        admin.fill("#client_secret", "gh-secret").await;
        admin.fill("#authorize_url", &github.uri()).await;
        admin.fill("#userinfo_url", &github.uri()).await;
        admin.press("Add provider").await;
        admin.sees("Created.").await;
        admin
            .click("#provider-github form[action$='/test'] button")
            .await;
        admin.sees("The provider answers as expected.").await;

        admin.select("#kind", "oidc").await;
        admin.fill("#slug", "gone").await;
        admin.fill("#client_id", "x").await;
        admin.fill("#client_secret", "y").await;
        admin.fill("#issuer", "http://127.0.0.1:1").await;
        admin.press("Add provider").await;
        admin
            .click("#provider-gone form[action$='/test'] button")
            .await;
        admin.sees("The provider test failed.").await;
        admin.sees("connection refused").await;

        // Edited in place: what the form shows changes, the secret it does not show is kept.
        let secret_of = |slug: &'static str| {
            use diesel::prelude::*;
            use portcullis::db::schema::identity_provider as p;
            move |c: &mut portcullis::db::DbConnection| {
                p::table
                    .find(slug)
                    .select(p::client_secret)
                    .first::<String>(c)
            }
        };
        let secret_before = app.query(secret_of("gone")).await;
        admin
            .find("#provider-gone summary")
            .await
            .click()
            .await
            .unwrap();
        admin.fill("#gone-name", "Gone Corp").await;
        admin.find("#gone-enabled").await.click().await.unwrap();
        // The open form, photographed as the admin sees it before saving.
        admin.photograph().await;
        admin
            .click("#provider-gone form[action$='/edit'] button")
            .await;
        admin.sees("Saved.").await;
        admin.sees("Gone Corp").await;
        let row = admin.text_of("#provider-gone").await;
        assert!(row.contains("Off"), "shown as turned off: {row}");
        assert_eq!(app.query(secret_of("gone")).await, secret_before);
        // A rule the file and the API share still holds: a bad URL is refused with a reason.
        admin
            .find("#provider-gone summary")
            .await
            .click()
            .await
            .unwrap();
        admin.fill("#gone-issuer", "ftp://example.com").await;
        admin
            .click("#provider-gone form[action$='/edit'] button")
            .await;
        admin.sees("issuer").await;
        admin.does_not_see("Saved.").await;
    }

    pub async fn a_config_declared_client_is_shown_read_only_and_others_find_no_console(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app_with(backend, |s| {
            s.clients
                .push(crate::oidc_logout::static_client("Declared app"));
        })
        .await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        // Not an admin: no link, and the console is not there.
        tab.open("/account").await;
        tab.does_not_see("Admin console").await;
        tab.open("/admin/users").await;
        assert_eq!(tab.heading().await, "Page not found");

        app.query(|c| {
            let u = User::find_by_email(c, "ada@example.com")?.unwrap();
            User::set_admin(c, &u.id, true, portcullis::identity::now())
        })
        .await;
        tab.open("/admin/clients").await;
        tab.sees("From the configuration file").await;
        tab.press("Declared app").await;
        tab.sees("This is declared in the configuration file.")
            .await;
        // The form is disabled; posting it anyway (a stale page, a crafted form) is refused.
        assert!(tab.exists("fieldset[disabled]").await);
        tab.page
            .evaluate_expression("document.querySelector('fieldset').disabled = false")
            .await
            .unwrap();
        tab.fill("#name", "Renamed").await;
        tab.press("Save").await;
        tab.sees("is managed by the configuration file").await;
        let name: String = app
            .query(|c| {
                use diesel::prelude::*;
                use portcullis::db::schema::oauth_client;
                oauth_client::table
                    .filter(oauth_client::id.eq("static-app"))
                    .select(oauth_client::name)
                    .first(c)
            })
            .await;
        assert_eq!(name, "Declared app");
    }
}
