//! Sign-up, sign-in and sign-out as a person does them, and the CSRF/referrer regression.

use chromiumoxide::cdp::browser_protocol::network::EventRequestWillBeSent;
use futures_util::StreamExt;

use super::*;

browser_tests!(
    a_newcomer_signs_up_signs_out_and_signs_in_again,
    wrong_password_and_unknown_email_get_the_same_answer,
    chromium_posts_forms_with_the_real_origin_and_they_pass_the_csrf_check,
    signed_in_visitors_are_sent_on_from_the_sign_in_and_sign_up_pages,
);

mod inner {
    use super::*;

    pub async fn a_newcomer_signs_up_signs_out_and_signs_in_again(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.open("/").await;
        tab.sees("Welcome to Portcullis").await;
        tab.press("Create account").await;
        tab.is_at("/signup").await;
        tab.fill("#name", "Ada Lovelace").await;
        tab.fill("#email", "Ada@Example.com ").await;
        tab.fill("#password", PASSWORD).await;
        tab.press("Create account").await;

        tab.is_at("/account").await;
        assert_eq!(tab.heading().await, "Profile");
        tab.sees("Ada Lovelace").await;
        tab.sees("ada@example.com").await;

        tab.press_in_header("Sign out").await;
        tab.is_at("/login").await;
        tab.sees("You have signed out.").await;
        assert!(
            tab.cookie("portcullis_session").await.is_none(),
            "the session cookie is gone"
        );
        tab.open("/account").await;
        tab.is_at("/login").await;

        tab.fill("#email", "ada@example.com").await;
        tab.fill("#password", PASSWORD).await;
        tab.press("Sign in").await;
        tab.is_at("/account").await;
        tab.sees("Ada Lovelace").await;
    }

    pub async fn wrong_password_and_unknown_email_get_the_same_answer(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        signed_up(&app, "ada@example.com").await;
        let tab = chrome.tab(&app).await;

        tab.sign_in("ada@example.com", "not the password").await;
        tab.is_at("/login").await;
        tab.sees("Incorrect email or password.").await;
        let wrong_password = tab.text().await;
        let kept: String = tab
            .find("#email")
            .await
            .property("value")
            .await
            .unwrap()
            .unwrap()
            .as_str()
            .unwrap()
            .into();
        assert_eq!(kept, "ada@example.com", "the email stays filled in");

        tab.sign_in("nobody@example.com", "not the password").await;
        tab.sees("Incorrect email or password.").await;
        assert_eq!(
            tab.text()
                .await
                .replace("nobody@example.com", "ada@example.com"),
            wrong_password,
            "the same page either way"
        );
        assert!(tab.cookie("portcullis_session").await.is_none());
    }

    /// The bug this suite was started for: under `Referrer-Policy: no-referrer` Chromium sent
    /// `Origin: null` and every form answered "This form has expired".
    pub async fn chromium_posts_forms_with_the_real_origin_and_they_pass_the_csrf_check(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        let mut requests = tab
            .page
            .event_listener::<EventRequestWillBeSent>()
            .await
            .unwrap();
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.does_not_see("This form has expired").await;
        tab.is_at("/account").await;

        let mut origin = None;
        while let Ok(Some(e)) =
            tokio::time::timeout(Duration::from_millis(200), requests.next()).await
        {
            if e.request.method == "POST" && e.request.url.ends_with("/signup") {
                origin = e
                    .request
                    .headers
                    .inner()
                    .get("Origin")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
            }
        }
        assert_eq!(
            origin.as_deref(),
            Some(app.address.as_str()),
            "the form post carries this server's origin"
        );

        // Saving a form on a signed-in page works too.
        tab.open("/account/settings").await;
        tab.press("Save settings").await;
        tab.sees("Your settings have been saved.").await;
    }

    pub async fn signed_in_visitors_are_sent_on_from_the_sign_in_and_sign_up_pages(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.open("/signup").await;
        tab.is_at("/account").await;
        tab.open("/").await;
        tab.sees("Welcome back").await;
        tab.press("Manage your account").await;
        tab.is_at("/account").await;
    }
}
