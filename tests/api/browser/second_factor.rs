//! Two-factor sign-in in Chromium: turning on an authenticator app (codes computed here from the
//! key the page shows, as the app would), signing in with a code, and getting in with a
//! recovery code once.

use portcullis::identity::totp;

use super::*;

browser_tests!(an_authenticator_is_turned_on_then_signs_in_and_a_recovery_code_works_once);

mod inner {
    use super::*;

    async fn eval<T: serde::de::DeserializeOwned>(tab: &Tab<'_>, js: &str) -> T {
        tab.page
            .evaluate_expression(js)
            .await
            .unwrap()
            .into_value()
            .unwrap()
    }

    pub async fn an_authenticator_is_turned_on_then_signs_in_and_a_recovery_code_works_once(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        let email = "ada@example.com";
        tab.sign_up("Ada", email, PASSWORD).await;
        tab.open("/account/security").await;
        tab.press("Set up an authenticator app").await;
        tab.sees("enter this key in the app").await;
        // The QR code is drawn by us and loads under the page's CSP (a data: image).
        let qr_width: i64 = eval(
            &tab,
            "document.querySelector('img.totp-qr').complete ? document.querySelector('img.totp-qr').naturalWidth : 0",
        )
        .await;
        assert!(qr_width >= 200, "QR code not rendered: {qr_width}");
        let shown: String = eval(&tab, "document.getElementById('totp-secret').innerText").await;
        let secret = totp::base32_decode(&shown).expect("the key is base32");
        let step = totp::step_at(chrono::Utc::now().timestamp());
        tab.fill("#code", &totp::code_for_step(&secret, step)).await;
        tab.press("Turn on").await;
        tab.sees("Two-factor sign-in is on.").await;
        let codes: Vec<String> = eval(
            &tab,
            "Array.from(document.querySelectorAll('.recovery-codes code')).map(c => c.innerText)",
        )
        .await;
        assert_eq!(codes.len(), 10, "{codes:?}");
        tab.press("I have saved them").await;
        tab.sees("Unused recovery codes: 10").await;

        // Password, then the authenticator's code (of the next step: this one is used up).
        tab.press_in_header("Sign out").await;
        tab.sign_in(email, PASSWORD).await;
        tab.is_at("/login/second-factor").await;
        tab.sees("Enter the 6-digit code from your authenticator app.")
            .await;
        tab.fill("#code", &totp::code_for_step(&secret, step + 1))
            .await;
        tab.press("Verify").await;
        tab.is_at("/account").await;

        // The phone is lost: a recovery code gets in, once.
        tab.press_in_header("Sign out").await;
        tab.sign_in(email, PASSWORD).await;
        tab.is_at("/login/second-factor").await;
        tab.fill("#code", &codes[0]).await;
        tab.press("Verify").await;
        tab.is_at("/account").await;
        tab.open("/account/security").await;
        tab.sees("Unused recovery codes: 9").await;
        // The sessions list says how this session was proven.
        tab.open("/account/sessions").await;
        tab.sees("Second factor").await;
        tab.sees("Authenticator app or recovery code").await;

        tab.press_in_header("Sign out").await;
        tab.sign_in(email, PASSWORD).await;
        tab.fill("#code", &codes[0]).await;
        tab.press("Verify").await;
        tab.is_at("/login/second-factor").await;
        tab.sees("That code is not right, or was already used.")
            .await;
    }
}
