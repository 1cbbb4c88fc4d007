//! Flows an application starts, with a real RP library (the `openidconnect` crate) on one side
//! and Chromium on the other: consent allowed and denied, connected apps and their revocation,
//! RP-initiated logout with its confirmation page.

use openidconnect::core::CoreIdToken;
use openidconnect::{
    CsrfToken, EndSessionUrl, LogoutRequest, PostLogoutRedirectUrl, TokenResponse,
};
use portcullis::oidc::clients::ClientSpec;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::rp::{self, Rp, Started};

browser_tests!(
    an_application_signs_a_person_in_after_consent,
    denying_consent_sends_access_denied_back_to_the_application,
    connected_apps_lists_the_application_and_revoking_ends_its_tokens,
    rp_initiated_logout_asks_first_then_returns_to_the_application,
    form_post_answers_reach_the_application_by_the_pages_own_script,
    an_application_requiring_two_factors_has_the_person_set_one_up_on_the_way,
);

/// The application's own pages: where Portcullis sends the browser back.
struct App {
    server: MockServer,
    rp: Rp,
}

impl App {
    async fn register(app: &TestApp, name: &str) -> App {
        Self::register_with(app, name, false).await
    }

    async fn register_with(app: &TestApp, name: &str, require_mfa: bool) -> App {
        let server = MockServer::start().await;
        for (p, text) in [
            ("/callback", "Back at the application"),
            ("/bye", "Signed out of the application"),
        ] {
            Mock::given(method("GET"))
                .and(path(p))
                .respond_with(ResponseTemplate::new(200).set_body_raw(
                    format!("<!doctype html><title>{text}</title><p>{text}</p>"),
                    "text/html",
                ))
                .mount(&server)
                .await;
        }
        // response_mode=form_post answers arrive as a POST.
        Mock::given(method("POST"))
            .and(path("/callback"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                "<!doctype html><title>Posted</title><p>Back at the application</p>",
                "text/html",
            ))
            .mount(&server)
            .await;
        let spec = ClientSpec {
            name: name.into(),
            redirect_uris: vec![format!("{}/callback", server.uri())],
            post_logout_redirect_uris: vec![format!("{}/bye", server.uri())],
            require_mfa,
            ..rp::spec(name)
        };
        let (id, secret) = rp::register(app, spec).await;
        let rp = rp::rp_at(
            app,
            &id,
            secret.as_deref(),
            &format!("{}/callback", server.uri()),
        )
        .await;
        App { server, rp }
    }

    fn start(&self) -> Started {
        self.rp.start(&["profile", "email"], true, &[])
    }

    /// The query of the page the browser is on, which must be this application's callback.
    async fn callback(&self, tab: &Tab<'_>) -> std::collections::HashMap<String, String> {
        let url = url::Url::parse(&tab.url().await).unwrap();
        assert!(
            url.as_str()
                .starts_with(&format!("{}/callback", self.server.uri())),
            "expected the application's callback, at {url}:\n{}",
            tab.text().await
        );
        tab.sees("Back at the application").await;
        url.query_pairs().into_owned().collect()
    }
}

/// Through sign-in and consent to the application, which redeems the code; returns the ID token.
async fn sign_in_through(app: &TestApp, tab: &Tab<'_>, client: &App) -> CoreIdToken {
    let started = client.start();
    tab.open(&started.url).await;
    tab.is_at("/login").await;
    tab.fill("#email", "ada@example.com").await;
    tab.fill("#password", PASSWORD).await;
    tab.press("Sign in").await;
    assert_eq!(tab.heading().await, "Notes wants to access your account");
    tab.sees("Signed in as Ada Lovelace (ada@example.com)")
        .await;
    let host = url::Url::parse(&client.server.uri()).unwrap();
    tab.sees(&format!(
        "You will be returned to {}:{}",
        host.host_str().unwrap(),
        host.port().unwrap()
    ))
    .await;
    tab.press("Allow").await;
    let params = client.callback(tab).await;
    assert_eq!(
        params.get("state").map(String::as_str),
        Some(started.state.secret().as_str())
    );
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(app.address.as_str())
    );
    let tokens = client
        .rp
        .exchange(&params["code"], started.verifier)
        .await
        .expect("the code is redeemed");
    let id_token = tokens.id_token().expect("an ID token").clone();
    let claims = id_token
        .claims(&client.rp.client.id_token_verifier(), &started.nonce)
        .expect("a valid ID token");
    assert!(claims.subject().as_str().starts_with("usr_"));
    id_token
}

mod inner {
    use super::*;

    pub async fn an_application_signs_a_person_in_after_consent(backend: Backend, chrome: &Chrome) {
        let app = spawn_app(backend).await;
        signed_up(&app, "ada@example.com").await;
        let client = App::register(&app, "Notes").await;
        let tab = chrome.tab(&app).await;
        sign_in_through(&app, &tab, &client).await;

        // Consent is remembered: the next sign-in goes straight back.
        let again = client.start();
        tab.open(&again.url).await;
        let params = client.callback(&tab).await;
        assert!(params.contains_key("code"));
    }

    pub async fn denying_consent_sends_access_denied_back_to_the_application(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        signed_up(&app, "ada@example.com").await;
        let client = App::register(&app, "Notes").await;
        let tab = chrome.tab(&app).await;
        tab.sign_in("ada@example.com", PASSWORD).await;
        let started = client.start();
        tab.open(&started.url).await;
        tab.sees("Notes wants to access your account").await;
        tab.press("Deny").await;
        let params = client.callback(&tab).await;
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("access_denied")
        );
        assert_eq!(
            params.get("state").map(String::as_str),
            Some(started.state.secret().as_str())
        );
        assert!(!params.contains_key("code"));
        tab.open("/account/apps").await;
        tab.sees("No application has access to your account.").await;
    }

    pub async fn connected_apps_lists_the_application_and_revoking_ends_its_tokens(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        signed_up(&app, "ada@example.com").await;
        let client = App::register(&app, "Notes").await;
        let tab = chrome.tab(&app).await;
        sign_in_through(&app, &tab, &client).await;

        tab.open("/account/apps").await;
        tab.sees("Notes").await;
        tab.press("Revoke access").await;
        tab.sees("Access has been revoked.").await;
        tab.sees("No application has access to your account.").await;

        // The application must ask again.
        let started = client.start();
        tab.open(&started.url).await;
        tab.sees("Notes wants to access your account").await;
    }

    pub async fn rp_initiated_logout_asks_first_then_returns_to_the_application(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        signed_up(&app, "ada@example.com").await;
        let client = App::register(&app, "Notes").await;
        let tab = chrome.tab(&app).await;
        let id_token = sign_in_through(&app, &tab, &client).await;

        let bye = PostLogoutRedirectUrl::new(format!("{}/bye", client.server.uri())).unwrap();
        let end_session = || {
            LogoutRequest::from(EndSessionUrl::new(format!("{}/end_session", app.address)).unwrap())
        };
        let back_at_bye = |url: &str| url.starts_with(&format!("{}/bye", client.server.uri()));

        // Without an ID token the request could come from anywhere: the person is asked.
        let unproven = end_session()
            .set_client_id(openidconnect::ClientId::new(client.rp.client_id.clone()))
            .set_post_logout_redirect_uri(bye.clone())
            .set_state(CsrfToken::new("s0".into()))
            .http_get_url()
            .to_string();
        tab.open(&unproven).await;
        assert_eq!(tab.heading().await, "Sign out?");
        tab.sees("Notes asked to sign you out of Portcullis.").await;
        tab.press("Stay signed in").await;
        tab.is_at("/account").await;

        tab.open(&unproven).await;
        tab.press("Sign out").await;
        let url = tab.url().await;
        assert!(back_at_bye(&url), "back at the application, at {url}");
        assert!(url.contains("state=s0"), "{url}");
        tab.open("/account").await;
        tab.is_at("/login").await;

        // With the application's ID token as hint, no question: straight back, signed out.
        drop(id_token);
        let id_token = {
            // The consent is remembered: after signing in the browser goes straight back.
            let again = client.start();
            tab.open(&again.url).await;
            tab.fill("#email", "ada@example.com").await;
            tab.fill("#password", PASSWORD).await;
            tab.press("Sign in").await;
            let params = client.callback(&tab).await;
            client
                .rp
                .exchange(&params["code"], again.verifier)
                .await
                .unwrap()
                .id_token()
                .unwrap()
                .clone()
        };
        let proven = end_session()
            .set_id_token_hint(&id_token)
            .set_post_logout_redirect_uri(bye)
            .set_state(CsrfToken::new("s1".into()))
            .http_get_url()
            .to_string();
        tab.open(&proven).await;
        let url = tab.url().await;
        assert!(
            back_at_bye(&url) && url.contains("state=s1"),
            "back at the application, at {url}"
        );
        tab.open("/account").await;
        tab.is_at("/login").await;
    }

    pub async fn form_post_answers_reach_the_application_by_the_pages_own_script(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        signed_up(&app, "ada@example.com").await;
        let client = App::register(&app, "Notes").await;
        let tab = chrome.tab(&app).await;
        tab.sign_in("ada@example.com", PASSWORD).await;
        let started = client
            .rp
            .start(&["profile"], true, &[("response_mode", "form_post")]);
        tab.open(&started.url).await;
        tab.sees("Notes wants to access your account").await;
        // The answer page posts itself (a script with a per-response CSP nonce) to the application.
        tab.press_and_leave("Allow", &format!("{}/callback", client.server.uri()))
            .await;
        tab.sees("Back at the application").await;
        let posted = client
            .server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.method.as_str() == "POST")
            .expect("a POST to the callback");
        let fields: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&posted.body)
                .into_owned()
                .collect();
        assert_eq!(
            fields.get("state").map(String::as_str),
            Some(started.state.secret().as_str())
        );
        client
            .rp
            .exchange(&fields["code"], started.verifier)
            .await
            .expect("the posted code is redeemed");
        tab.assert_clean().await;
    }

    pub async fn an_application_requiring_two_factors_has_the_person_set_one_up_on_the_way(
        backend: Backend,
        chrome: &Chrome,
    ) {
        use portcullis::identity::totp;
        let app = spawn_app(backend).await;
        signed_up(&app, "ada@example.com").await;
        let client = App::register_with(&app, "Notes", true).await;
        let tab = chrome.tab(&app).await;
        let started = client.start();
        tab.open(&started.url).await;
        tab.fill("#email", "ada@example.com").await;
        tab.fill("#password", PASSWORD).await;
        tab.press("Sign in").await;

        // One factor is not enough for Notes, and Ada has no second one yet.
        tab.is_at("/account/security").await;
        tab.sees("The application you are signing in to requires two-factor sign-in.")
            .await;
        tab.press("Set up an authenticator app").await;
        let shown: String = tab
            .page
            .evaluate_expression("document.getElementById('totp-secret').innerText")
            .await
            .unwrap()
            .into_value()
            .unwrap();
        let secret = totp::base32_decode(&shown).expect("the key is base32");
        let step = totp::step_at(chrono::Utc::now().timestamp());
        tab.fill("#code", &totp::code_for_step(&secret, step)).await;
        tab.press("Turn on").await;
        tab.sees("Two-factor sign-in is on.").await;
        tab.press("I have saved them, continue").await;

        // On to the same request: consent, then back to Notes with two factors proven.
        assert_eq!(tab.heading().await, "Notes wants to access your account");
        tab.press("Allow").await;
        let params = client.callback(&tab).await;
        let tokens = client
            .rp
            .exchange(&params["code"], started.verifier)
            .await
            .expect("the code is redeemed");
        let claims = tokens
            .id_token()
            .expect("an ID token")
            .claims(&client.rp.client.id_token_verifier(), &started.nonce)
            .expect("a valid ID token");
        let amr: Vec<String> = claims
            .auth_method_refs()
            .expect("amr")
            .iter()
            .map(|m| m.as_str().to_string())
            .collect();
        assert_eq!(amr, ["pwd", "otp", "mfa"]);
        assert_eq!(
            claims.auth_context_ref().map(|a| a.as_str()),
            Some("urn:portcullis:acr:mfa")
        );
    }
}
