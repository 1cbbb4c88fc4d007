//! Sign-in through upstream providers in Chromium: the fake Google and GitHub (local wiremock
//! servers standing in for them) and the certified reference OP (oidc-provider), plus linking
//! and unlinking on the sign-in methods page.

use portcullis::identity::now;
use portcullis::upstream::config::ProviderSpec;
use portcullis::upstream::registry::{self, NewProvider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::fake_google::{self, person, FakeGoogle};
use crate::upstream_more::{fake_github, github_spec, peer_ready, PeerOp};

browser_tests!(
    continue_with_google_creates_the_user_and_signs_in,
    google_is_linked_and_unlinked_on_the_sign_in_methods_page,
    continue_with_github_signs_in,
    the_reference_op_signs_a_person_in_through_its_own_pages,
    an_issuer_claiming_someones_address_gets_no_account_until_its_owner_proves_it,
    two_accounts_are_merged_and_the_other_users_rp_session_ends,
    a_trusted_google_address_links_by_itself_and_the_owner_is_told,
    cancelling_at_google_shows_a_clear_page_and_a_way_back,
);

async fn add_provider(app: &TestApp, spec: NewProvider) {
    let key = portcullis::crypto::MasterKey::load_or_generate(
        app.settings.master_key.expose(),
        &app.data_dir(),
    )
    .unwrap()
    .0;
    app.db
        .run(move |c| registry::add(c, &key, &spec, now()))
        .await
        .expect("provider added");
}

/// The provider's own sign-in page, as far as the browser is concerned.
async fn upstream_page(server: &MockServer, at: &str, name: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!("<!doctype html><title>{name}</title><p>Sign in to {name}</p>"),
            "text/html",
        ))
        .mount(server)
        .await;
}

async fn with_google(backend: Backend) -> (TestApp, FakeGoogle) {
    let app = spawn_app(backend).await;
    let google = FakeGoogle::start().await;
    upstream_page(&google.server, "/authorize", "Google").await;
    add_provider(
        &app,
        NewProvider::new(
            "google",
            fake_google::CLIENT_ID,
            fake_google::CLIENT_SECRET,
            ProviderSpec::Google {
                issuer: Some(google.issuer()),
                hosted_domain: None,
            },
        ),
    )
    .await;
    (app, google)
}

/// At Google's page: the person signs in there as `who`, and Google sends the browser back.
async fn google_signs_in(tab: &Tab<'_>, google: &FakeGoogle, who: &fake_google::Person) {
    let auth = google.authorization(&tab.url().await);
    tab.sees("Sign in to Google").await;
    google.answer_with_person(&auth, who).await;
    tab.open(&format!(
        "{}?code={}&state={}",
        auth.redirect_uri, auth.code, auth.state
    ))
    .await;
}

/// At the reference OP's own pages: its login (any name, any password), then its consent.
async fn peer_signs_in(tab: &Tab<'_>, peer: &PeerOp, login: &str) {
    tab.fill("input[name=login]", login).await;
    tab.fill("input[name=password]", "anything").await;
    tab.click("button[type=submit]").await;
    if tab.url().await.starts_with(&peer.issuer) {
        tab.click("button[type=submit]").await;
    }
}

mod inner {
    use super::*;

    pub async fn continue_with_google_creates_the_user_and_signs_in(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let (app, google) = with_google(backend).await;
        let tab = chrome.tab(&app).await;
        tab.open("/login").await;
        tab.press("Continue with Google").await;
        google_signs_in(&tab, &google, &person("g-1", "grace@gmail.example")).await;
        tab.is_at("/account").await;
        tab.sees("Grace Hopper").await;
        tab.sees("grace@gmail.example").await;
        tab.open("/account/methods").await;
        tab.sees("Google").await;
    }

    pub async fn google_is_linked_and_unlinked_on_the_sign_in_methods_page(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let (app, google) = with_google(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        tab.open("/account/methods").await;
        tab.press("Link Google").await;
        google_signs_in(&tab, &google, &person("g-2", "ada.other@gmail.example")).await;
        tab.is_at("/account/methods").await;
        tab.sees("The sign-in method has been linked.").await;
        tab.sees("Google").await;

        // Google now signs Ada in.
        tab.press_in_header("Sign out").await;
        tab.press("Continue with Google").await;
        google_signs_in(&tab, &google, &person("g-2", "ada.other@gmail.example")).await;
        tab.is_at("/account").await;
        tab.sees("ada@example.com").await;

        tab.open("/account/methods").await;
        tab.press("Unlink").await;
        tab.sees("The sign-in method has been removed.").await;
        tab.press("Link Google").await;
        tab.sees("Sign in to Google").await;
    }

    pub async fn continue_with_github_signs_in(backend: Backend, chrome: &Chrome) {
        let app = spawn_app(backend).await;
        let github = fake_github().await;
        upstream_page(&github, "/login/oauth/authorize", "GitHub").await;
        add_provider(&app, github_spec(&github)).await;
        let tab = chrome.tab(&app).await;
        tab.open("/signup").await;
        tab.press("Continue with GitHub").await;
        tab.sees("Sign in to GitHub").await;
        let at = url::Url::parse(&tab.url().await).unwrap();
        let state = at
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .expect("state");
        let redirect = at
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .expect("redirect_uri");
        tab.open(&format!("{redirect}?code=gh-code&state={state}"))
            .await;
        tab.is_at("/account").await;
        tab.sees("Octo Cat").await;
        tab.sees("octo@example.com").await;
    }

    pub async fn the_reference_op_signs_a_person_in_through_its_own_pages(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let Some(dir) = peer_ready() else { return };
        let app = spawn_app(backend).await;
        let peer = PeerOp::start(&dir, &format!("{}/auth/callback/peer", app.address)).await;
        add_provider(&app, peer.provider()).await;
        let tab = chrome.tab(&app).await;
        tab.open("/login").await;
        tab.press("Continue with Reference OP").await;
        assert!(
            tab.url().await.starts_with(&peer.issuer),
            "at the reference OP: {}",
            tab.url().await
        );
        peer_signs_in(&tab, &peer, "alice").await;
        tab.is_at("/account").await;
        tab.sees("Alice Upstream").await;
        tab.sees("alice@example.com").await;
        drop(peer);
    }

    /// The nOAuth takeover, tried as an attacker would: the reference OP lets anyone sign in as
    /// "alice" and asserts alice@example.com, verified. Alice already has a password account.
    pub async fn an_issuer_claiming_someones_address_gets_no_account_until_its_owner_proves_it(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let Some(dir) = peer_ready() else { return };
        let app = spawn_app(backend).await;
        let peer = PeerOp::start(&dir, &format!("{}/auth/callback/peer", app.address)).await;
        add_provider(&app, peer.provider()).await;
        let owner = chrome.tab(&app).await;
        owner.sign_up("Alice", "alice@example.com", PASSWORD).await;

        // The attacker, in their own browser.
        let theirs = chrome.another("attacker").await;
        let attacker = theirs.tab(&app).await;
        attacker.open("/login").await;
        attacker.press("Continue with Reference OP").await;
        peer_signs_in(&attacker, &peer, "alice").await;
        attacker.is_at("/link").await;
        attacker.sees("Is this your account?").await;
        attacker
            .sees("Reference OP says you are alice@example.com, and an account with that address already exists here.")
            .await;
        attacker.open("/account").await;
        attacker.is_at("/login").await;
        let linked: i64 = app
            .query(|c| {
                use diesel::prelude::*;
                use portcullis::db::schema::accounts;
                accounts::table
                    .filter(accounts::provider_id.eq("peer"))
                    .count()
                    .get_result(c)
            })
            .await;
        assert_eq!(linked, 0, "nothing linked on the issuer's word");

        // The real owner, in hers: the same upstream sign-in, then proof by her password.
        owner.press_in_header("Sign out").await;
        owner.open("/login").await;
        owner.press("Continue with Reference OP").await;
        peer_signs_in(&owner, &peer, "alice").await;
        owner.is_at("/link").await;
        owner.press("Sign in to your account").await;
        owner.is_at("/login").await;
        owner.fill("#email", "alice@example.com").await;
        owner.fill("#password", PASSWORD).await;
        owner.press("Sign in").await;
        owner.is_at("/link/confirm").await;
        owner.sees("Link Reference OP to your account?").await;
        owner.press("Link Reference OP").await;
        owner.is_at("/account/methods").await;
        owner.sees("Reference OP").await;

        // She is told, and "this was not me" would undo it.
        let notice = crate::email::nth_link(
            &app,
            "alice@example.com",
            "Reference OP was linked to your account",
            "/link/not-me",
            1,
        )
        .await;
        owner.open(&crate::email::path_of(&notice)).await;
        owner.sees("Remove the newly linked sign-in method").await;
        owner.press("Remove it and sign it out").await;
        owner.sees("The sign-in method was removed").await;
        drop(peer);
    }

    /// Two accounts, merged in Chromium: one made with Google, one with a password that an
    /// application knows. The password moves to the Google account, and the application is
    /// told over the back channel that the merged user's session is over.
    pub async fn two_accounts_are_merged_and_the_other_users_rp_session_ends(
        backend: Backend,
        chrome: &Chrome,
    ) {
        use crate::oidc_logout::{backchannel_mock, complete_flow, settle, wait_for_requests};
        let (app, google) = with_google(backend).await;
        let bc = backchannel_mock().await;
        let mut spec = crate::rp::spec("Notes");
        spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
        let (id, secret) = crate::rp::register(&app, spec).await;
        let notes = crate::rp::rp(&app, &id, secret.as_deref()).await;
        // The second account, with a password, signed in to the application elsewhere.
        let phone = signed_up(&app, "grace@work.example").await;
        let tokens = complete_flow(&phone, &notes, &["profile"]).await;

        let tab = chrome.tab(&app).await;
        tab.open("/login").await;
        tab.press("Continue with Google").await;
        google_signs_in(&tab, &google, &person("g-grace", "grace@gmail.com")).await;
        tab.is_at("/account").await;
        tab.open("/account/methods").await;
        tab.press("Merge accounts").await;
        tab.is_at("/account/merge").await;
        tab.press("Sign in to the other account").await;
        tab.is_at("/login").await;
        tab.fill("#email", "grace@work.example").await;
        tab.fill("#password", PASSWORD).await;
        tab.press("Sign in").await;
        tab.is_at("/account/merge/confirm").await;
        tab.sees("Merge grace@work.example into grace@gmail.com?")
            .await;
        tab.press("Merge grace@work.example into it").await;
        tab.is_at("/account").await;
        tab.sees("The other account was merged into this one.")
            .await;
        tab.sees("grace@gmail.com").await;
        tab.open("/account/methods").await;
        tab.sees("Google").await;
        tab.sees("Password").await;

        // The password moved: the Google account now signs in with it too.
        tab.press_in_header("Sign out").await;
        tab.sign_in("grace@gmail.com", PASSWORD).await;
        tab.is_at("/account").await;

        wait_for_requests(&bc, 1).await;
        settle(&app).await;
        let got = bc.received_requests().await.unwrap();
        assert_eq!(got.len(), 1, "the merged user's one RP session");
        let claims = crate::oidc_logout::verify_logout_request(&app, &got[0], &id).await;
        assert_eq!(claims["sub"], tokens.claims["sub"]);
    }

    /// Google vouches for a Gmail address, and the existing user has no password, passkey or
    /// provider of their own: linked without a question, and the owner gets the notice.
    pub async fn a_trusted_google_address_links_by_itself_and_the_owner_is_told(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let (app, google) = with_google(backend).await;
        crate::upstream_oidc::address_only_user(&app, "grace@gmail.com").await;
        let tab = chrome.tab(&app).await;
        tab.open("/login").await;
        tab.press("Continue with Google").await;
        google_signs_in(&tab, &google, &person("g-grace", "grace@gmail.com")).await;
        tab.is_at("/account").await;
        tab.sees("grace@gmail.com").await;
        let notice = crate::email::wait_mails(
            &app,
            "grace@gmail.com",
            "Google was linked to your account",
            1,
        )
        .await;
        let text = notice[0].text();
        assert!(text.contains("/link/not-me?token="), "{text}");
    }

    pub async fn cancelling_at_google_shows_a_clear_page_and_a_way_back(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let (app, google) = with_google(backend).await;
        let tab = chrome.tab(&app).await;
        tab.open("/login").await;
        tab.press("Continue with Google").await;
        let auth = google.authorization(&tab.url().await);
        // The person presses "Cancel" at Google, which sends them back with an error.
        tab.open(&format!(
            "{}?error=access_denied&state={}",
            auth.redirect_uri, auth.state
        ))
        .await;
        tab.sees("You cancelled the sign-in at Google.").await;
        assert!(tab.cookie("portcullis_session").await.is_none());
        // Coming back to the same callback again (a reload) is refused just as clearly.
        tab.open(&format!(
            "{}?code={}&state={}",
            auth.redirect_uri, auth.code, auth.state
        ))
        .await;
        tab.sees("This sign-in link has expired or was already used.")
            .await;
    }
}
