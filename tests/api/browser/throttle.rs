//! Password guessing in Chromium: after the allowed failures the sign-in page says the password is
//! paused and how to get in instead, and the right password is refused meanwhile.

use super::*;

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
        tab.sees("Sign in with an email link or code instead").await;
        tab.is_at("/login").await;
        assert!(tab.cookie("portcullis_session").await.is_none());
    }
}
