//! Passkeys in Chromium, with its virtual authenticator (the DevTools WebAuthn domain) standing
//! in for a phone or security key that has a screen lock: adding, naming, renaming and removing
//! a passkey, signing in with it without a password, and using it as the step after a password.
//! The server is reached as http://localhost:PORT, since WebAuthn refuses IP addresses.

use chromiumoxide::cdp::browser_protocol::web_authn::{
    AddVirtualAuthenticatorParams, AuthenticatorProtocol, AuthenticatorTransport, EnableParams,
    VirtualAuthenticatorOptions,
};
use diesel::prelude::*;
use portcullis::db::schema::{audit_event, passkey, sessions};

use super::*;

browser_tests!(
    a_passkey_is_added_then_signs_in_without_a_password,
    a_passkey_is_renamed_and_removed,
    a_passkey_is_the_second_step_after_a_password,
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
    }
}
