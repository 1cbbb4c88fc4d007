//! The mailed links and codes, followed in Chromium: address verification, forgotten
//! password, magic link, email code.

use super::*;
use crate::email::{nth_code, nth_link, path_of};

browser_tests!(
    sign_up_with_required_verification_says_a_mail_was_sent_and_the_link_confirms,
    forgotten_password_is_reset_through_the_mailed_link,
    magic_link_signs_in_from_the_sign_in_page,
    email_code_signs_in_from_the_sign_in_page,
);

mod inner {
    use super::*;

    pub async fn sign_up_with_required_verification_says_a_mail_was_sent_and_the_link_confirms(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app_with(backend, |s| s.accounts.require_verified_email = true).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        assert_eq!(tab.heading().await, "Check your email");
        tab.sees("We sent a confirmation link to ada@example.com.")
            .await;
        assert!(
            tab.cookie("portcullis_session").await.is_none(),
            "not signed in before confirming"
        );

        tab.sign_in("ada@example.com", PASSWORD).await;
        tab.sees("Confirm your email address first").await;

        let link = nth_link(
            &app,
            "ada@example.com",
            "Confirm your email address",
            "/verify-email",
            1,
        )
        .await;
        tab.open(&path_of(&link)).await;
        tab.press("Confirm my address").await;
        tab.sees("Thank you: your email address is confirmed.")
            .await;
        // The link is single use, and says so before offering anything.
        tab.open(&path_of(&link)).await;
        tab.sees("invalid, expired or already used").await;
        assert!(
            !tab.exists("main form[action='/verify-email']").await,
            "no confirm button on a dead link"
        );

        tab.sign_in("ada@example.com", PASSWORD).await;
        tab.is_at("/account").await;
        tab.sees("verified").await;
    }

    pub async fn forgotten_password_is_reset_through_the_mailed_link(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        signed_up(&app, "ada@example.com").await;
        let tab = chrome.tab(&app).await;
        tab.open("/login").await;
        tab.press("Forgot your password?").await;
        tab.is_at("/forgot").await;
        tab.fill("#email", "ada@example.com").await;
        tab.press("Email me a reset link").await;
        tab.sees("If an account uses that address, a link to reset the password is on its way.")
            .await;

        let link = nth_link(&app, "ada@example.com", "Reset your password", "/reset", 1).await;
        tab.open(&path_of(&link)).await;
        assert_eq!(tab.heading().await, "Choose a new password");
        tab.fill("#new_password", "a brand new passphrase").await;
        tab.fill("#confirm_password", "not the same").await;
        tab.press("Save new password").await;
        assert!(
            tab.exists("#confirm_password-error").await,
            "{}",
            tab.text().await
        );
        tab.fill("#new_password", "a brand new passphrase").await;
        tab.fill("#confirm_password", "a brand new passphrase")
            .await;
        tab.press("Save new password").await;
        tab.is_at("/login").await;
        tab.sees("Your password has been changed. Sign in with the new one.")
            .await;
        tab.fill("#email", "ada@example.com").await;
        tab.fill("#password", "a brand new passphrase").await;
        tab.press("Sign in").await;
        tab.is_at("/account").await;

        // A used link says so before asking for anything.
        tab.press_in_header("Sign out").await;
        tab.open(&path_of(&link)).await;
        tab.sees("invalid, expired or already used").await;
        assert!(
            !tab.exists("#new_password").await,
            "no password form on a dead link"
        );
    }

    pub async fn magic_link_signs_in_from_the_sign_in_page(backend: Backend, chrome: &Chrome) {
        let app = spawn_app_with(backend, |s| s.accounts.magic_link = true).await;
        signed_up(&app, "ada@example.com").await;
        let tab = chrome.tab(&app).await;
        tab.open("/login").await;
        tab.fill("#magic-email", "ada@example.com").await;
        tab.press("Email me a sign-in link").await;
        tab.sees("a sign-in link is on its way").await;
        let link = nth_link(
            &app,
            "ada@example.com",
            "Your sign-in link",
            "/login/magic",
            1,
        )
        .await;
        tab.open(&path_of(&link)).await;
        tab.press("Sign in").await;
        tab.is_at("/account").await;
        tab.open("/account/sessions").await;
        tab.sees("Sign-in link by email").await;
    }

    pub async fn email_code_signs_in_from_the_sign_in_page(backend: Backend, chrome: &Chrome) {
        let app = spawn_app_with(backend, |s| s.accounts.email_code = true).await;
        signed_up(&app, "ada@example.com").await;
        let tab = chrome.tab(&app).await;
        tab.open("/login").await;
        tab.fill("#code-email", "ada@example.com").await;
        tab.press("Email me a code").await;
        assert_eq!(tab.heading().await, "Enter your code");
        tab.fill("#code", "000000").await;
        tab.press("Sign in").await;
        tab.sees("That code is not right, or it has expired.").await;
        let code = nth_code(&app, "ada@example.com", 1).await;
        tab.fill("#code", &code).await;
        tab.press("Sign in").await;
        tab.is_at("/account").await;
        tab.open("/account/sessions").await;
        tab.sees("Code by email").await;
    }
}
