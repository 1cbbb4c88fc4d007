//! Password guessing in Chromium: after the allowed failures the sign-in page says the password is
//! paused and how to get in instead, the right password is refused meanwhile, and choosing a new
//! password through the mailed link ends the pause.

use super::*;
use crate::email::{nth_link, path_of};

browser_tests!(a_guessed_password_is_paused_and_the_page_says_what_to_do);

mod inner {
    use super::*;

    pub async fn a_guessed_password_is_paused_and_the_page_says_what_to_do(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app_with(backend, |s| {
            let t = &mut s.auth.throttle;
            t.free_failures = 10;
            t.lock_after = 3;
        })
        .await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.press_in_header("Sign out").await;
        for _ in 0..3 {
            tab.sign_in("ada@example.com", "not the password").await;
            tab.sees("Incorrect email or password.").await;
        }
        tab.sign_in("ada@example.com", PASSWORD).await;
        tab.sees("signing in with the password is paused for this account for 15 minutes")
            .await;
        // No email link or code on this server: the page does not offer them.
        tab.sees(r#"Choose a new password ("Forgot your password?"), or wait."#)
            .await;
        tab.does_not_see("email link").await;
        tab.is_at("/login").await;
        assert!(tab.cookie("portcullis_session").await.is_none());

        tab.press("Forgot your password?").await;
        tab.fill("#email", "ada@example.com").await;
        tab.press("Email me a reset link").await;
        let link = nth_link(&app, "ada@example.com", "Reset your password", "/reset", 1).await;
        tab.open(&path_of(&link)).await;
        tab.fill("#new_password", "a brand new passphrase").await;
        tab.fill("#confirm_password", "a brand new passphrase")
            .await;
        tab.press("Save new password").await;
        tab.sign_in("ada@example.com", "a brand new passphrase")
            .await;
        tab.is_at("/account").await;
    }
}
