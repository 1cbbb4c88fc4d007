//! Every account page and form, used in Chromium: profile, settings, password, email change,
//! sessions and their revocation, deletion.

use super::*;
use crate::email::{nth_link, path_of};

browser_tests!(
    profile_is_edited_and_the_new_name_shows,
    settings_change_the_theme_the_page_is_drawn_in,
    password_change_refuses_a_wrong_current_password_then_works,
    email_change_takes_effect_after_the_link_in_the_new_inbox,
    other_sessions_are_listed_and_revoked,
    account_is_deleted_after_typing_delete,
    every_account_page_is_reachable_from_the_side_navigation,
);

mod inner {
    use super::*;

    pub async fn profile_is_edited_and_the_new_name_shows(backend: Backend, chrome: &Chrome) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.fill("#name", "Ada King").await;
        tab.fill("#username", "Ada.King").await;
        tab.fill("#website", "https://ada.example.org").await;
        tab.fill("#bio", "Wrote the first program.").await;
        tab.select("#timezone", "Europe/Berlin").await;
        tab.press("Save profile").await;
        tab.sees("Your profile has been saved.").await;
        tab.sees("Ada King").await;
        let username: String = tab
            .find("#username")
            .await
            .property("value")
            .await
            .unwrap()
            .unwrap()
            .as_str()
            .unwrap()
            .into();
        assert_eq!(username, "ada.king", "saved in its lower-case form");
        let website: String = tab
            .find("#website")
            .await
            .property("value")
            .await
            .unwrap()
            .unwrap()
            .as_str()
            .unwrap()
            .into();
        assert!(website.starts_with("https://ada.example.org"), "{website}");

        let zone: String = tab
            .find("#timezone")
            .await
            .property("value")
            .await
            .unwrap()
            .unwrap()
            .as_str()
            .unwrap()
            .into();
        assert_eq!(zone, "Europe/Berlin", "the saved zone is selected");
        // Times on the account pages are in that zone now.
        tab.open("/account/sessions").await;
        let text = tab.text().await;
        assert!(
            text.contains(" CET") || text.contains(" CEST"),
            "times in Berlin time:\n{text}"
        );
        tab.open("/account").await;

        // A bad value is explained next to its field, and nothing is saved.
        tab.fill("#website", "javascript:alert(1)").await;
        tab.fill("#name", "Mallory").await;
        tab.press("Save profile").await;
        assert!(
            tab.exists("#website-error").await,
            "the website field shows its error:\n{}",
            tab.text().await
        );
        tab.open("/account").await;
        tab.sees("Ada King").await;
        tab.does_not_see("Mallory").await;

        // Someone else cannot take Ada's username, in any case.
        let bob_browser = chrome.another("bob").await;
        let bob = bob_browser.tab(&app).await;
        bob.sign_up("Bob", "bob@example.com", PASSWORD).await;
        bob.open("/account").await;
        bob.fill("#username", "ADA.KING").await;
        bob.press("Save profile").await;
        bob.sees("This username is taken. Choose another.").await;
        assert!(bob.exists("#username-error").await);
    }

    pub async fn settings_change_the_theme_the_page_is_drawn_in(backend: Backend, chrome: &Chrome) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.open("/account/settings").await;
        tab.find("#theme-dark").await.click().await.unwrap();
        tab.press("Save settings").await;
        tab.sees("Your settings have been saved.").await;
        let theme: String = tab
            .page
            .evaluate_expression("document.documentElement.dataset.theme")
            .await
            .unwrap()
            .into_value()
            .unwrap();
        assert_eq!(theme, "dark");
        let checked: bool = tab
            .page
            .evaluate_expression("document.querySelector('#theme-dark').checked")
            .await
            .unwrap()
            .into_value()
            .unwrap();
        assert!(checked, "the saved choice is shown");
    }

    pub async fn password_change_refuses_a_wrong_current_password_then_works(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.open("/account/password").await;
        tab.fill("#current_password", "not my password").await;
        tab.fill("#new_password", "a brand new passphrase").await;
        tab.fill("#confirm_password", "a brand new passphrase")
            .await;
        tab.press("Change password").await;
        assert!(
            tab.exists("#current_password-error").await,
            "{}",
            tab.text().await
        );

        tab.fill("#current_password", PASSWORD).await;
        tab.fill("#new_password", "a brand new passphrase").await;
        tab.fill("#confirm_password", "a brand new passphrase")
            .await;
        tab.press("Change password").await;
        tab.sees("Your password has been changed.").await;

        tab.press_in_header("Sign out").await;
        tab.sign_in("ada@example.com", PASSWORD).await;
        tab.sees("Incorrect email or password.").await;
        tab.sign_in("ada@example.com", "a brand new passphrase")
            .await;
        tab.is_at("/account").await;
    }

    pub async fn email_change_takes_effect_after_the_link_in_the_new_inbox(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.fill("#new_email", "ada@lovelace.example").await;
        tab.fill("#current_password", PASSWORD).await;
        tab.press("Send a verification link").await;
        tab.sees("We sent a confirmation link to the new address.")
            .await;
        tab.sees("ada@example.com").await;

        let link = nth_link(
            &app,
            "ada@lovelace.example",
            "Confirm your email address",
            "/verify-email",
            1,
        )
        .await;
        tab.open(&path_of(&link)).await;
        tab.sees("Confirm your email address").await;
        tab.press("Confirm my address").await;
        tab.sees("Your email address is now ada@lovelace.example.")
            .await;
        tab.press("Go to your account").await;
        tab.sees("ada@lovelace.example").await;
    }

    pub async fn other_sessions_are_listed_and_revoked(backend: Backend, chrome: &Chrome) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        // Two other devices (reqwest clients with their own cookie jars).
        let (phone, laptop) = (app.browser(), app.browser());
        assert_eq!(phone.login("ada@example.com", PASSWORD).await.status(), 303);
        assert_eq!(
            laptop.login("ada@example.com", PASSWORD).await.status(),
            303
        );

        tab.open("/account/sessions").await;
        tab.sees("This device").await;
        tab.sees("Firefox").await;
        let revoke_buttons = tab
            .page
            .find_elements("main form[action$='/revoke'] button")
            .await
            .unwrap();
        assert_eq!(revoke_buttons.len(), 2, "one Revoke per other session");
        tab.click("main form[action$='/revoke'] button").await;
        tab.sees("The session has been revoked.").await;
        let still = [
            phone.get("/account").await.status(),
            laptop.get("/account").await.status(),
        ];
        assert_eq!(
            still.iter().filter(|s| s.as_u16() == 200).count(),
            1,
            "exactly one other device was signed out: {still:?}"
        );

        tab.press("Sign out all other sessions").await;
        tab.sees("All other sessions have been signed out.").await;
        assert_ne!(phone.get("/account").await.status(), 200);
        assert_ne!(laptop.get("/account").await.status(), 200);
        tab.open("/account").await;
        tab.is_at("/account").await;
    }

    pub async fn account_is_deleted_after_typing_delete(backend: Backend, chrome: &Chrome) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.open("/account/delete").await;
        tab.fill("#password", PASSWORD).await;
        tab.fill("#confirm", "delete").await;
        tab.press("Delete my account").await;
        assert!(
            tab.exists("#confirm-error").await,
            "lower-case is not DELETE:\n{}",
            tab.text().await
        );

        tab.fill("#password", PASSWORD).await;
        tab.fill("#confirm", "DELETE").await;
        tab.press("Delete my account").await;
        tab.is_at("/").await;
        tab.sees("Your account and everything in it have been deleted.")
            .await;
        tab.sign_in("ada@example.com", PASSWORD).await;
        tab.sees("Incorrect email or password.").await;
    }

    pub async fn every_account_page_is_reachable_from_the_side_navigation(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        for (link, path, heading) in [
            ("Settings", "/account/settings", "Settings"),
            ("Password", "/account/password", "Change password"),
            ("Sessions", "/account/sessions", "Sessions"),
            ("Connected apps", "/account/apps", "Connected apps"),
            (
                "Two-factor sign-in",
                "/account/security",
                "Authenticator app",
            ),
            ("Sign-in methods", "/account/methods", "Sign-in methods"),
            ("Delete account", "/account/delete", "Delete account"),
            ("Profile", "/account", "Profile"),
        ] {
            tab.click(&format!("nav.side-nav a[href='{path}']")).await;
            tab.is_at(path).await;
            assert_eq!(tab.heading().await, heading, "{link}");
            let current: String = tab
                .page
                .evaluate_expression(
                    "document.querySelector('nav.side-nav [aria-current=page]').innerText",
                )
                .await
                .unwrap()
                .into_value()
                .unwrap();
            assert_eq!(current, link);
        }
    }
}
