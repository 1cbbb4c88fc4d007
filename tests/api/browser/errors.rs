//! The error pages a person can meet: an unknown address, a stale form, a broken link from an
//! application.

use super::*;

browser_tests!(
    an_unknown_address_shows_the_not_found_page,
    a_stale_form_says_it_expired_and_works_after_a_reload,
    an_application_with_an_unregistered_redirect_gets_an_error_page_not_a_redirect,
);

mod inner {
    use super::*;

    pub async fn an_unknown_address_shows_the_not_found_page(backend: Backend, chrome: &Chrome) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        // The icon browsers ask for by themselves is there (it was a 404 in every console).
        tab.open("/").await;
        let icon: bool = tab
            .page
            .evaluate_expression("new Promise(ok => { const i = new Image(); i.onload = () => ok(i.naturalWidth > 0); i.onerror = () => ok(false); i.src = '/favicon.ico'; })")
            .await
            .unwrap()
            .into_value()
            .unwrap();
        assert!(icon, "/favicon.ico loads as an image");
        tab.open("/no/such/page").await;
        assert_eq!(tab.heading().await, "Page not found");
        tab.press("Back to the home page").await;
        tab.is_at("/").await;
    }

    pub async fn a_stale_form_says_it_expired_and_works_after_a_reload(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.open("/signup").await;
        // The CSRF cookie is lost (cleared by the person, or expired) while the form is open.
        tab.page
            .delete_cookie(
                chromiumoxide::cdp::browser_protocol::network::DeleteCookiesParams::builder()
                    .name("portcullis_csrf")
                    .url(app.address.clone())
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        tab.fill("#name", "Ada").await;
        tab.fill("#email", "ada@example.com").await;
        tab.fill("#password", PASSWORD).await;
        tab.press("Create account").await;
        assert_eq!(tab.heading().await, "This form has expired");
        tab.sees("Go back, reload the page and try again.").await;

        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.is_at("/account").await;
    }

    pub async fn an_application_with_an_unregistered_redirect_gets_an_error_page_not_a_redirect(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let (id, _) = crate::rp::register(&app, crate::rp::spec("Notes")).await;
        let tab = chrome.tab(&app).await;
        let evil = "https://evil.example/steal";
        tab.open(&format!(
            "/authorize?response_type=code&client_id={id}&scope=openid&redirect_uri={}",
            urlencode(evil)
        ))
        .await;
        tab.is_at("/authorize").await;
        tab.sees("redirect").await;
        tab.press("Back to the home page").await;
        tab.is_at("/").await;
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
