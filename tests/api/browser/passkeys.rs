//! Passkeys in Chromium, with its virtual authenticator (the DevTools WebAuthn domain) standing
//! in for a phone or security key that has a screen lock: adding, naming, renaming and removing
//! a passkey, signing in with it without a password, and using it as the step after a password.
//! The server is reached as http://localhost:PORT, since WebAuthn refuses IP addresses.

use chromiumoxide::cdp::browser_protocol::web_authn::{
    AddVirtualAuthenticatorParams, AuthenticatorProtocol, AuthenticatorTransport, EnableParams,
    VirtualAuthenticatorOptions,
};
use diesel::prelude::*;
use openidconnect::TokenResponse;
use portcullis::db::schema::{audit_event, passkey, sessions};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::email::wait_mails;
use crate::rp;

browser_tests!(
    a_passkey_is_added_then_signs_in_without_a_password,
    a_passkey_is_renamed_and_removed,
    a_passkey_is_the_second_step_after_a_password,
    an_application_asking_for_two_factors_gets_mfa_after_a_passkey_sign_in,
);

/// Gives the tab an authenticator with a screen lock that the person always unlocks.
async fn authenticator(tab: &Tab<'_>) {
    tab.page.execute(EnableParams::default()).await.unwrap();
    let options = VirtualAuthenticatorOptions::builder()
        .protocol(AuthenticatorProtocol::Ctap2)
        .transport(AuthenticatorTransport::Internal)
        .has_resident_key(true)
        .has_user_verification(true)
        .is_user_verified(true)
        .automatic_presence_simulation(true)
        .build()
        .unwrap();
    tab.page
        .execute(AddVirtualAuthenticatorParams::new(options))
        .await
        .unwrap();
}

/// Adds a passkey named `name` on the passkeys page.
async fn add_passkey(tab: &Tab<'_>, name: &str) {
    tab.open("/account/passkeys").await;
    tab.sees("You have no passkeys yet.").await;
    tab.fill("#passkey-name", name).await;
    tab.press("Add a passkey").await;
    tab.is_at("/account/passkeys").await;
    tab.sees("Passkey added.").await;
    tab.sees(name).await;
    tab.sees("Last used Never").await;
}

mod inner {
    use super::*;

    pub async fn a_passkey_is_added_then_signs_in_without_a_password(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app_on_localhost(backend, |_| {}).await;
        let tab = chrome.tab(&app).await;
        authenticator(&tab).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.open("/account/security").await;
        tab.sees("You have no passkeys yet.").await;
        tab.press("Manage passkeys").await;
        add_passkey(&tab, "My laptop").await;
        tab.open("/account/security").await;
        tab.sees("You have one passkey.").await;

        tab.press_in_header("Sign out").await;
        tab.open("/login?return_to=%2Faccount%2Fsessions").await;
        tab.press("Sign in with a passkey").await;
        tab.is_at("/account/sessions").await;
        tab.sees("Passkey").await;
        let methods: Vec<String> = app
            .query(|c| sessions::table.select(sessions::auth_method).load(c))
            .await;
        assert_eq!(methods, vec!["hwk:user".to_string()]);
        tab.open("/account/passkeys").await;
        tab.does_not_see("Last used Never").await;
        let added: i64 = app
            .query(|c| {
                audit_event::table
                    .filter(audit_event::kind.eq("passkey.added"))
                    .count()
                    .get_result(c)
            })
            .await;
        assert_eq!(added, 1);
    }

    pub async fn a_passkey_is_renamed_and_removed(backend: Backend, chrome: &Chrome) {
        let app = spawn_app_on_localhost(backend, |s| {
            // The sign-up is not recent any more: removing asks for the password.
            s.mfa.reauthenticate_within_secs = 0;
        })
        .await;
        let tab = chrome.tab(&app).await;
        authenticator(&tab).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        add_passkey(&tab, "").await;
        tab.sees("Passkey").await;
        let id: String = app
            .query(|c| passkey::table.select(passkey::id).first(c))
            .await;
        tab.fill(&format!("#rename-{id}"), "Phone").await;
        tab.press("Rename").await;
        tab.sees("Passkey renamed.").await;
        tab.sees("Phone").await;

        tab.press("Remove").await;
        tab.sees("To remove a passkey, enter your password").await;
        tab.fill(&format!("#password-{id}"), PASSWORD).await;
        tab.press("Remove").await;
        tab.sees("Passkey removed.").await;
        tab.sees("You have no passkeys yet.").await;
        let left: i64 = app.query(|c| passkey::table.count().get_result(c)).await;
        assert_eq!(left, 0);

        // Each passkey is a way in by itself: the owner hears of both, whatever their settings.
        let added = wait_mails(&app, "ada@example.com", "A passkey was added", 1).await;
        let text = added[0].text();
        assert!(
            text.contains("A passkey named “Passkey” was added")
                && text.contains(&format!("{}/account/passkeys", app.address)),
            "{text}"
        );
        let removed = wait_mails(&app, "ada@example.com", "A passkey was removed", 1).await;
        assert!(
            removed[0]
                .text()
                .contains("The passkey named “Phone” was removed"),
            "{}",
            removed[0].text()
        );
    }

    pub async fn a_passkey_is_the_second_step_after_a_password(backend: Backend, chrome: &Chrome) {
        let app = spawn_app_on_localhost(backend, |_| {}).await;
        let tab = chrome.tab(&app).await;
        authenticator(&tab).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        add_passkey(&tab, "Security key").await;

        tab.press_in_header("Sign out").await;
        tab.sign_in("ada@example.com", PASSWORD).await;
        tab.is_at("/login/second-factor").await;
        tab.sees("Confirm it is you with your passkey.").await;
        // No authenticator app: no code field.
        assert!(!tab.exists("#code").await);
        tab.press("Use a passkey").await;
        tab.is_at("/account").await;
        let methods: Vec<String> = app
            .query(|c| sessions::table.select(sessions::auth_method).load(c))
            .await;
        assert_eq!(methods, vec!["pwd+hwk".to_string()]);
        // The session remembers when each factor was proven, and the sessions page shows both.
        let (first, second): (chrono::NaiveDateTime, Option<chrono::NaiveDateTime>) = app
            .query(|c| {
                sessions::table
                    .select((sessions::first_factor_at, sessions::second_factor_at))
                    .first(c)
            })
            .await;
        let second = second.expect("the passkey's time");
        assert!(first <= second, "{first} then {second}");
        tab.open("/account/sessions").await;
        tab.sees("Second factor").await;
        tab.sees("Passkey ·").await;
        tab.sees("Password ·").await;
    }

    pub async fn an_application_asking_for_two_factors_gets_mfa_after_a_passkey_sign_in(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app_on_localhost(backend, |_| {}).await;
        let tab = chrome.tab(&app).await;
        authenticator(&tab).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        add_passkey(&tab, "Phone").await;
        tab.press_in_header("Sign out").await;
        tab.open("/login").await;
        tab.press("Sign in with a passkey").await;
        tab.is_at("/account").await;

        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/callback"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                "<!doctype html><title>Back</title><p>Back at the application</p>",
                "text/html",
            ))
            .mount(&server)
            .await;
        let redirect = format!("{}/callback", server.uri());
        let spec = portcullis::oidc::clients::ClientSpec {
            redirect_uris: vec![redirect.clone()],
            skip_consent: true,
            ..rp::spec("Needs MFA")
        };
        let (id, secret) = rp::register(&app, spec).await;
        let client = rp::rp_at(&app, &id, secret.as_deref(), &redirect).await;
        let started = client.start(&[], true, &[("acr_values", "urn:portcullis:acr:mfa")]);
        // The passkey session already has two factors: no step-up, straight back.
        tab.open(&started.url).await;
        tab.sees("Back at the application").await;
        let url = url::Url::parse(&tab.url().await).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        let tokens = client.exchange(&code, started.verifier).await.unwrap();
        let id_token = tokens.id_token().expect("an ID token").to_string();
        let payload = id_token.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["amr"], serde_json::json!(["hwk", "user", "mfa"]));
        assert_eq!(claims["acr"], "urn:portcullis:acr:mfa");
    }
}
