//! Signing in with Google (an OpenID Connect upstream) against a fake Google on wiremock:
//! account resolution and automatic linking, linking and unlinking from the account page,
//! failures, domain restrictions, upstream token storage, the full chain from a relying party
//! through Portcullis to Google and back, and the provider buttons.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::prelude::*;
use openidconnect::TokenResponse;
use portcullis::config::Settings;
use portcullis::crypto::{sha256_hex, MasterKey};
use portcullis::db::models::{Account, IdentityProviderRow, Session, User};
use portcullis::db::schema::{accounts, sessions, users};
use portcullis::identity::credentials::{create_user, NewIdentity};
use portcullis::identity::email::Email;
use portcullis::identity::ids::UserId;
use portcullis::identity::password::PasswordHasher;
use portcullis::upstream::config::{LinkPolicy, ProviderSpec};
use portcullis::upstream::registry::{self, NewProvider};
use serde_json::{json, Value};
use wiremock::ResponseTemplate;

use crate::fake_google::{self, person, Authorization, FakeGoogle, Person, SigningKey};
use crate::helpers::*;
use crate::rp::{self, drive, Outcome};

backend_tests!(
    // First and repeated sign-in.
    new_google_subject_with_verified_email_creates_a_user_and_signs_in,
    same_google_subject_signs_the_same_user_in_again,
    a_disabled_user_signing_in_with_google_gets_the_disabled_page,
    google_sign_in_from_a_new_browser_sends_a_notice_but_the_sign_up_does_not,
    // Linking by email: trusted, or proven first.
    a_trusted_gmail_address_links_a_user_who_has_no_other_way_in,
    a_password_user_proves_the_account_before_google_is_linked,
    proving_another_account_links_nothing,
    the_mailed_proof_works_only_in_the_browser_that_asked,
    cancelling_the_proof_links_nothing,
    unverified_existing_email_is_not_linked_and_asks_to_sign_in_first,
    unverified_google_email_is_not_linked_and_asks_to_sign_in_first,
    a_google_address_outside_gmail_without_hd_is_not_trusted,
    link_policy_never_does_not_link_even_when_both_emails_are_verified,
    an_account_with_no_way_to_prove_it_is_refused,
    // Linking from the account page.
    signed_in_user_links_google_from_the_account_page_even_with_another_email,
    linking_needs_the_csrf_token,
    google_account_linked_to_another_user_is_refused_when_linking,
    // Unlinking.
    unlinking_google_works_when_a_password_remains,
    unlinking_the_only_sign_in_method_is_refused,
    // Failures: a clear page, nothing written.
    access_denied_at_google_shows_a_page_and_writes_nothing,
    callback_with_a_wrong_state_is_refused,
    replayed_callback_is_refused_because_state_is_single_use,
    callback_without_the_flow_cookie_is_refused,
    id_token_signed_by_another_key_is_refused,
    id_token_with_the_wrong_nonce_is_refused,
    id_token_for_another_audience_is_refused,
    expired_id_token_is_refused,
    unreachable_issuer_at_start_is_a_502_page,
    a_token_endpoint_error_status_is_named_on_the_page_and_counted,
    slow_token_endpoint_times_out_with_a_502_page,
    token_endpoint_error_is_a_4xx_page,
    // Restrictions.
    hosted_domain_admits_only_verified_addresses_at_that_domain,
    allowed_domains_admit_only_verified_addresses_at_those_domains,
    unreadable_allowed_domains_refuse_sign_in_instead_of_admitting_everyone,
    // Discovery documents, cached per provider.
    a_second_sign_in_reuses_the_cached_discovery_document,
    an_expired_discovery_document_is_fetched_again,
    a_failed_refresh_falls_back_to_the_last_good_document,
    a_rotated_signing_key_refreshes_the_cached_keys,
    // Upstream tokens.
    keep_tokens_stores_the_upstream_tokens_encrypted,
    without_keep_tokens_no_upstream_tokens_are_stored,
    // The whole chain.
    relying_party_sign_in_through_google_gets_the_google_user_with_fed_amr,
    // Buttons, return_to, disabling.
    login_and_signup_pages_offer_continue_with_google,
    start_follows_a_local_return_to_and_ignores_others,
    disabled_provider_has_no_button_and_no_sign_in,
);

const SLUG: &str = "google";
const FLOW_COOKIE: &str = "portcullis_upstream";
const SESSION_COOKIE: &str = "portcullis_session";
pub(crate) const START: &str = "/auth/google/start";

// ---- set-up ----

fn google_spec(issuer: &str) -> NewProvider {
    NewProvider::new(
        SLUG,
        fake_google::CLIENT_ID,
        fake_google::CLIENT_SECRET,
        ProviderSpec::Google {
            issuer: Some(issuer.into()),
            hosted_domain: None,
        },
    )
}

/// The master key the app uses (generated into its data directory on first start).
fn master_key(app: &TestApp) -> MasterKey {
    MasterKey::load_or_generate(app.settings.master_key.expose(), &app.data_dir())
        .unwrap()
        .0
}

pub(crate) async fn add_provider(app: &TestApp, spec: NewProvider) {
    let mk = master_key(app);
    app.db
        .run(move |c| registry::add(c, &mk, &spec, portcullis::identity::now()))
        .await
        .expect("provider added");
}

pub(crate) struct Env {
    pub(crate) app: TestApp,
    pub(crate) google: FakeGoogle,
}

pub(crate) async fn env(backend: Backend) -> Env {
    env_with(backend, |_| {}, |_| {}).await
}

pub(crate) async fn env_with(
    backend: Backend,
    settings: impl FnOnce(&mut Settings),
    provider: impl FnOnce(&mut NewProvider),
) -> Env {
    let app = spawn_app_with(backend, settings).await;
    let google = FakeGoogle::start().await;
    let mut spec = google_spec(&google.issuer());
    provider(&mut spec);
    add_provider(&app, spec).await;
    Env { app, google }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn callback_path(code: &str, state: &str) -> String {
    format!(
        "/auth/callback/{SLUG}?code={}&state={}",
        enc(code),
        enc(state)
    )
}

/// The value a response sets for a cookie (empty when it removes it).
pub(crate) fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix(&prefix)
                .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
        })
}

impl Env {
    /// Starts a sign-in (GET `path`); Portcullis must send the browser to the fake Google.
    pub(crate) async fn start(&self, b: &Browser, path: &str) -> Authorization {
        self.start_with_cookie(b, path).await.0
    }

    /// Like `start`, also returning the sealed flow cookie the browser was given.
    async fn start_with_cookie(&self, b: &Browser, path: &str) -> (Authorization, String) {
        let res = b.get(path).await;
        self.expect_authorize(res).await
    }

    /// Starts linking Google to the signed-in user, as the methods page's form does.
    pub(crate) async fn start_link(&self, b: &Browser) -> Authorization {
        let res = b.post(&format!("/auth/{SLUG}/link"), &[]).await;
        self.expect_authorize(res).await.0
    }

    async fn expect_authorize(&self, res: reqwest::Response) -> (Authorization, String) {
        let status = res.status().as_u16();
        let loc = location(&res);
        let cookie = set_cookie(&res, FLOW_COOKIE);
        assert_eq!(
            status,
            303,
            "expected a redirect to Google: {}",
            res.text().await.unwrap()
        );
        let cookie = cookie
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| panic!("the start sets the {FLOW_COOKIE} cookie"));
        (self.google.authorization(&loc), cookie)
    }

    /// Google sends the browser back with this flow's code and state.
    pub(crate) async fn callback(&self, b: &Browser, auth: &Authorization) -> reqwest::Response {
        b.get(&callback_path(&auth.code, &auth.state)).await
    }

    /// A complete sign-in as `p`, from the start to Portcullis's answer to the callback.
    async fn sign_in(&self, b: &Browser, p: &Person) -> reqwest::Response {
        let auth = self.start(b, START).await;
        self.google.answer_with_person(&auth, p).await;
        self.callback(b, &auth).await
    }

    /// Links `p`'s Google account to the user signed in on `b`.
    pub(crate) async fn link(&self, b: &Browser, p: &Person) -> reqwest::Response {
        let auth = self.start_link(b).await;
        self.google.answer_with_person(&auth, p).await;
        self.callback(b, &auth).await
    }
}

// ---- looking at the database ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) users: i64,
    pub(crate) accounts: i64,
    pub(crate) sessions: i64,
}

const NOTHING: Counts = Counts {
    users: 0,
    accounts: 0,
    sessions: 0,
};

pub(crate) async fn counts(app: &TestApp) -> Counts {
    app.query(|c| {
        Ok(Counts {
            users: users::table.count().get_result(c)?,
            accounts: accounts::table.count().get_result(c)?,
            sessions: sessions::table.count().get_result(c)?,
        })
    })
    .await
}

pub(crate) async fn user(app: &TestApp, email: &str) -> User {
    let email = email.to_string();
    app.query(move |c| User::find_by_email(c, &email))
        .await
        .expect("user exists")
}

async fn user_exists(app: &TestApp, email: &str) -> bool {
    let email = email.to_string();
    app.query(move |c| User::find_by_email(c, &email))
        .await
        .is_some()
}

async fn accounts_of(app: &TestApp, user_id: impl std::fmt::Display) -> Vec<Account> {
    let id = UserId::from_db(user_id.to_string());
    app.query(move |c| Account::for_user(c, &id)).await
}

fn providers(accounts: &[Account]) -> Vec<String> {
    let mut p: Vec<String> = accounts.iter().map(|a| a.provider_id.clone()).collect();
    p.sort();
    p
}

pub(crate) async fn google_account(app: &TestApp, sub: &str) -> Option<Account> {
    let sub = sub.to_string();
    app.query(move |c| Account::find_by_provider(c, SLUG, &sub))
        .await
}

/// The session the browser's cookie belongs to.
pub(crate) async fn session_of(app: &TestApp, b: &Browser) -> Session {
    let token = b.session_token().await.expect("a session cookie");
    app.query(move |c| Session::find_by_token_hash(c, &sha256_hex(&token)))
        .await
        .expect("the session exists")
}

pub(crate) async fn signed_in(b: &Browser) -> bool {
    b.get("/account").await.status() == 200
}

/// A user with a password, made as the CLI would (so the email can be verified up front).
pub(crate) async fn password_user(app: &TestApp, email: &str, verified: bool) -> User {
    let hash = PasswordHasher::new(&app.settings.password, 1)
        .unwrap()
        .hash(PASSWORD.to_string())
        .await
        .unwrap();
    let email = email.to_string();
    app.db
        .run(move |c| {
            let email = Email::parse(&email).unwrap();
            let new = NewIdentity {
                email: &email,
                name: "Ada Lovelace",
                password_hash: Some(&hash),
                email_verified: verified,
                is_admin: false,
            };
            create_user(c, &new)
        })
        .await
        .unwrap()
        .expect("user created")
}

// ---- looking at pages ----

/// A page that ends a failed sign-in: `status`, no session opened; returns its text.
pub(crate) async fn error_page(res: reqwest::Response, status: u16) -> String {
    let got = res.status().as_u16();
    let session = set_cookie(&res, SESSION_COOKIE);
    let html = rp::unescape(&res.text().await.unwrap());
    assert_eq!(got, status, "{html}");
    assert!(
        session.is_none_or(|v| v.is_empty()),
        "a failed sign-in opens no session"
    );
    html
}

/// The page of an upstream sign-in that did not complete.
pub(crate) async fn failure_page(res: reqwest::Response, status: u16) -> String {
    let html = error_page(res, status).await;
    assert!(html.contains("Sign-in did not complete"), "{html}");
    html
}

/// The 409 page of a sign-in that was refused by the linking rules.
async fn refusal_page(res: reqwest::Response) -> String {
    let html = error_page(res, 409).await;
    assert!(html.contains("Cannot sign in this way yet"), "{html}");
    html
}

async fn text(b: &Browser, path: &str) -> String {
    let res = b.get(path).await;
    assert_eq!(res.status(), 200, "GET {path}");
    rp::unescape(&res.text().await.unwrap())
}

fn jwt_payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

// ---- 1, 2: first and repeated sign-in ----

async fn new_google_subject_with_verified_email_creates_a_user_and_signs_in(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;

    // What Portcullis asked Google for.
    assert_eq!(
        auth.param("client_id").as_deref(),
        Some(fake_google::CLIENT_ID)
    );
    assert_eq!(auth.param("response_type").as_deref(), Some("code"));
    assert_eq!(
        auth.redirect_uri,
        format!("{}/auth/callback/google", env.app.address)
    );
    assert_eq!(auth.param("code_challenge_method").as_deref(), Some("S256"));
    let scope = auth.param("scope").unwrap();
    for s in ["openid", "email", "profile"] {
        assert!(
            scope.split(' ').any(|x| x == s),
            "scope {scope:?} lacks {s}"
        );
    }
    assert_ne!(auth.state, auth.nonce);
    assert!(
        auth.state.len() >= 22 && auth.nonce.len() >= 22,
        "state and nonce carry at least 128 bits"
    );

    let grace = person("g-100", "grace@gmail.com");
    env.google.answer_with_person(&auth, &grace).await;
    let res = env.callback(&b, &auth).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    assert_eq!(
        set_cookie(&res, FLOW_COOKIE).as_deref(),
        Some(""),
        "the flow cookie is removed"
    );
    // The token request matched only with Basic auth, this code, this redirect URI and the PKCE verifier.
    assert_eq!(env.google.token_requests().await, 1);

    let user = user(&env.app, "grace@gmail.com").await;
    assert!(user.email_verified, "Google verified the address");
    assert_eq!(user.name, "Grace Hopper");
    assert_eq!(user.image.as_deref(), Some(grace.picture.as_str()));
    assert_eq!(
        counts(&env.app).await,
        Counts {
            users: 1,
            accounts: 1,
            sessions: 1
        }
    );
    let accounts = accounts_of(&env.app, &user.id).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].provider_id, "google");
    assert_eq!(accounts[0].account_id, "g-100");
    assert!(accounts[0].password_hash.is_none());
    assert_eq!(accounts[0].email.as_deref(), Some("grace@gmail.com"));

    let html = text(&b, "/account").await;
    assert!(html.contains("grace@gmail.com"), "{html}");
    let session = session_of(&env.app, &b).await;
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.auth_method, "fed:google");
    let html = text(&b, "/account/sessions").await;
    assert!(
        html.contains("<dt>Signed in with</dt><dd>google <span"),
        "{html}"
    );
}

async fn same_google_subject_signs_the_same_user_in_again(backend: Backend) {
    let env = env(backend).await;
    let grace = person("g-100", "grace@gmail.com");
    let first = env.app.browser();
    assert_eq!(env.sign_in(&first, &grace).await.status(), 303);
    let user = user(&env.app, "grace@gmail.com").await;
    let account = google_account(&env.app, "g-100").await.unwrap();

    let second = env.app.browser();
    let res = env.sign_in(&second, &grace).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    assert_eq!(
        counts(&env.app).await,
        Counts {
            users: 1,
            accounts: 1,
            sessions: 2
        }
    );
    let session = session_of(&env.app, &second).await;
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.auth_method, "fed:google");
    assert!(signed_in(&second).await);

    // The subject decides, not the email: a changed address at Google is still the same person.
    let third = env.app.browser();
    let moved = Person {
        email: "grace.hopper@gmail.com".into(),
        ..grace.clone()
    };
    assert_eq!(env.sign_in(&third, &moved).await.status(), 303);
    assert_eq!(session_of(&env.app, &third).await.user_id, user.id);
    assert_eq!(
        counts(&env.app).await,
        Counts {
            users: 1,
            accounts: 1,
            sessions: 3
        }
    );
    assert_eq!(
        google_account(&env.app, "g-100").await.unwrap().id,
        account.id
    );
}

/// An administrator disabled the user (issue 12): Google vouches for them, Portcullis still
/// says no, with the page that tells them why, and opens no session.
async fn a_disabled_user_signing_in_with_google_gets_the_disabled_page(backend: Backend) {
    let env = env(backend).await;
    let grace = person("g-100", "grace@gmail.com");
    assert_eq!(env.sign_in(&env.app.browser(), &grace).await.status(), 303);
    let id = user(&env.app, "grace@gmail.com").await.id;
    let done = env
        .app
        .query(move |c| {
            portcullis::identity::user_status::disable(
                c,
                &id,
                None,
                &portcullis::identity::audit::Actor::Cli,
                portcullis::identity::now(),
            )
        })
        .await;
    assert!(
        matches!(
            done,
            portcullis::identity::user_status::Disabling::Disabled { .. }
        ),
        "{done:?}"
    );
    let b = env.app.browser();
    let html = error_page(env.sign_in(&b, &grace).await, 403).await;
    assert!(
        html.contains("This account has been disabled. Contact your administrator."),
        "{html}"
    );
    assert!(!signed_in(&b).await);
}

async fn google_sign_in_from_a_new_browser_sends_a_notice_but_the_sign_up_does_not(
    backend: Backend,
) {
    use portcullis::db::schema::mail_outbox;
    let env = env(backend).await;
    let grace = person("g-100", "grace@gmail.com");
    let notices = || {
        env.app.query(|c| {
            mail_outbox::table
                .filter(mail_outbox::recipient.eq("grace@gmail.com"))
                .filter(mail_outbox::subject.eq("New sign-in to your account"))
                .select(mail_outbox::body_text)
                .load::<String>(c)
        })
    };
    let first = env.app.browser();
    assert_eq!(env.sign_in(&first, &grace).await.status(), 303);
    assert!(
        notices().await.is_empty(),
        "the sign-up's browser is the first, not a new one"
    );
    assert_eq!(env.sign_in(&first, &grace).await.status(), 303);
    assert!(notices().await.is_empty(), "the same browser again");

    let second = env.app.browser();
    assert_eq!(env.sign_in(&second, &grace).await.status(), 303);
    let sent = notices().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("Signed in with: google"), "{}", sent[0]);
}

// ---- 3: linking by email: trusted, or proven first ----

/// A user whose only way in is a link sent to their verified address (made by an admin, or
/// signed up with an email link): no password, passkey or provider to prove the account with.
pub(crate) async fn address_only_user(app: &TestApp, email: &str) -> User {
    let email = email.to_string();
    app.db
        .run(move |c| {
            let email = Email::parse(&email).unwrap();
            let new = NewIdentity {
                email: &email,
                name: "Ada Lovelace",
                password_hash: None,
                email_verified: true,
                is_admin: false,
            };
            create_user(c, &new)
        })
        .await
        .unwrap()
        .expect("user created")
}

/// The mails of one subject to an address, from the outbox.
async fn outbox(app: &TestApp, to: &str, subject: &str) -> Vec<String> {
    use portcullis::db::schema::mail_outbox;
    let (to, subject) = (to.to_string(), subject.to_string());
    app.query(move |c| {
        mail_outbox::table
            .filter(mail_outbox::recipient.eq(to))
            .filter(mail_outbox::subject.eq(subject))
            .select(mail_outbox::body_text)
            .load::<String>(c)
    })
    .await
}

/// The path and query of the first `path?token=` link in a text.
fn link_path(text: &str, path: &str) -> String {
    let link = crate::email::link_in(text, path).unwrap_or_else(|| panic!("no {path} in {text}"));
    crate::email::path_of(&link)
}

fn token_in(path: &str) -> String {
    path.split_once("token=").expect("a token").1.to_string()
}

async fn a_trusted_gmail_address_links_a_user_who_has_no_other_way_in(backend: Backend) {
    let env = env(backend).await;
    let ada = address_only_user(&env.app, "ada@gmail.com").await;

    let b = env.app.browser();
    let res = env.sign_in(&b, &person("g-ada", "ada@gmail.com")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    let session = session_of(&env.app, &b).await;
    assert_eq!(session.user_id, ada.id, "signed in as the existing user");
    assert_eq!(session.auth_method, "fed:google");
    assert_eq!(
        google_account(&env.app, "g-ada").await.unwrap().user_id,
        ada.id
    );

    // The owner is told, with a one-click way back.
    let sent = outbox(
        &env.app,
        "ada@gmail.com",
        "Google was linked to your account",
    )
    .await;
    assert_eq!(sent.len(), 1, "one notice");
    let not_me = link_path(&sent[0], "/link/not-me");
    let owner = env.app.browser();
    let page = owner.get(&not_me).await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Remove it and sign it out"));
    let res = owner
        .post("/link/not-me", &[("token", &token_in(&not_me))])
        .await;
    let html = res.text().await.unwrap();
    assert!(html.contains("The sign-in method was removed"), "{html}");
    assert!(
        google_account(&env.app, "g-ada").await.is_none(),
        "unlinked"
    );
    assert!(!signed_in(&b).await, "the session it opened has ended");
    let kinds: Vec<String> = env
        .app
        .query(|c| {
            use portcullis::db::schema::audit_event;
            audit_event::table
                .filter(audit_event::kind.like("account.%"))
                .order(audit_event::created_at.asc())
                .select(audit_event::kind)
                .load(c)
        })
        .await;
    assert_eq!(kinds, ["account.linked", "account.unlinked"]);
    // Used once.
    let again = owner
        .post("/link/not-me", &[("token", &token_in(&not_me))])
        .await;
    assert_eq!(again.status(), 410);
}

/// A Google sign-in whose address belongs to an existing user is held for proof: the browser
/// goes to /link, nothing is written and nobody is signed in.
async fn assert_proof_asked(env: &Env, b: &Browser, p: &Person) {
    let before = counts(&env.app).await;
    let res = env.sign_in(b, p).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/link");
    assert_eq!(
        counts(&env.app).await,
        before,
        "no user, account or session written"
    );
    assert!(google_account(&env.app, &p.sub).await.is_none());
    assert!(!signed_in(b).await);
    let page = b.get("/link").await;
    assert_eq!(page.status(), 200);
    let html = rp::unescape(&page.text().await.unwrap());
    assert!(
        html.contains(&format!(
            "Google says you are {}, and an account with that address already exists here.",
            p.email
        )),
        "{html}"
    );
}

async fn a_password_user_proves_the_account_before_google_is_linked(backend: Backend) {
    let env = env(backend).await;
    // A Gmail address Google vouches for: trusted, but the account has a password to prove.
    let ada = password_user(&env.app, "ada@gmail.com", true).await;
    let b = env.app.browser();
    assert_proof_asked(&env, &b, &person("g-ada", "ada@gmail.com")).await;
    let html = b.get("/link").await.text().await.unwrap();
    assert!(html.contains("Sign in to your account"), "{html}");
    assert!(html.contains("Email me a link to confirm"), "{html}");

    assert_eq!(b.login("ada@gmail.com", PASSWORD).await.status(), 303);
    let html = b.get("/link/confirm").await.text().await.unwrap();
    assert!(html.contains("Link Google to your account?"), "{html}");
    let res = b.post("/link/confirm", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/methods?notice=linked");
    assert_eq!(
        google_account(&env.app, "g-ada").await.unwrap().user_id,
        ada.id
    );
    assert_eq!(
        outbox(
            &env.app,
            "ada@gmail.com",
            "Google was linked to your account"
        )
        .await
        .len(),
        1
    );
    // Single use: the pending identity is gone.
    assert_eq!(b.post("/link/confirm", &[]).await.status(), 410);
    // Google now signs Ada in.
    let other = env.app.browser();
    assert_eq!(
        env.sign_in(&other, &person("g-ada", "ada@gmail.com"))
            .await
            .status(),
        303
    );
    assert_eq!(session_of(&env.app, &other).await.user_id, ada.id);
}

async fn proving_another_account_links_nothing(backend: Backend) {
    let env = env(backend).await;
    password_user(&env.app, "ada@gmail.com", true).await;
    password_user(&env.app, "eve@example.com", true).await;
    let b = env.app.browser();
    assert_proof_asked(&env, &b, &person("g-ada", "ada@gmail.com")).await;
    assert_eq!(b.login("eve@example.com", PASSWORD).await.status(), 303);
    // Signed in to the wrong account: asked for the proof again, not to confirm.
    let res = b.get("/link/confirm").await;
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (303, "/link".to_string())
    );
    let html = b.get("/link").await.text().await.unwrap();
    assert!(html.contains("/login?force=1&amp;return_to="), "{html}");
    let res = b.post("/link/confirm", &[]).await;
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(html.contains("You proved a different account"), "{html}");
    assert!(google_account(&env.app, "g-ada").await.is_none());
}

async fn the_mailed_proof_works_only_in_the_browser_that_asked(backend: Backend) {
    let env = env(backend).await;
    let ada = password_user(&env.app, "ada@gmail.com", true).await;
    let b = env.app.browser();
    assert_proof_asked(&env, &b, &person("g-ada", "ada@gmail.com")).await;
    let res = b.post("/link/email", &[]).await;
    assert_eq!(res.status(), 200);
    let sent = crate::email::wait_mails(
        &env.app,
        "ada@gmail.com",
        "Confirm linking Google to your account",
        1,
    )
    .await;
    let path = link_path(&sent[0].text(), "/link/email");

    // Another browser (an attacker who got the mail forwarded, say) cannot use it.
    let other = env.app.browser();
    let res = other.get(&path).await;
    assert_eq!(res.status(), 410);
    let res = other
        .post("/link/email/confirm", &[("token", &token_in(&path))])
        .await;
    assert_eq!(res.status(), 410);
    assert!(google_account(&env.app, "g-ada").await.is_none());

    let page = b.get(&path).await;
    assert_eq!(page.status(), 200);
    let res = b
        .post("/link/email/confirm", &[("token", &token_in(&path))])
        .await;
    assert_eq!(res.status(), 200);
    let html = rp::unescape(&res.text().await.unwrap());
    assert!(html.contains("Google is now a way to sign in"), "{html}");
    assert!(html.contains("/auth/google/start"), "{html}");
    assert_eq!(
        google_account(&env.app, "g-ada").await.unwrap().user_id,
        ada.id
    );
}

async fn cancelling_the_proof_links_nothing(backend: Backend) {
    let env = env(backend).await;
    password_user(&env.app, "ada@gmail.com", true).await;
    let b = env.app.browser();
    assert_proof_asked(&env, &b, &person("g-ada", "ada@gmail.com")).await;
    let res = b.post("/link/cancel", &[]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Nothing was linked"));
    assert_eq!(b.get("/link").await.status(), 410);
    assert!(google_account(&env.app, "g-ada").await.is_none());
}

async fn unverified_existing_email_is_not_linked_and_asks_to_sign_in_first(backend: Backend) {
    let env = env(backend).await;
    // Signed up with a password and never verified the address: no mailed proof.
    signed_up(&env.app, "ada@example.com").await;
    assert!(!user(&env.app, "ada@example.com").await.email_verified);
    let b = env.app.browser();
    assert_proof_asked(&env, &b, &person("g-ada", "ada@example.com")).await;
    let html = b.get("/link").await.text().await.unwrap();
    assert!(html.contains("Sign in to your account"), "{html}");
    assert!(!html.contains("Email me a link"), "{html}");
}

async fn unverified_google_email_is_not_linked_and_asks_to_sign_in_first(backend: Backend) {
    let env = env(backend).await;
    address_only_user(&env.app, "ada@gmail.com").await;
    let b = env.app.browser();
    assert_proof_asked(&env, &b, &person("g-ada", "ada@gmail.com").unverified()).await;
}

async fn a_google_address_outside_gmail_without_hd_is_not_trusted(backend: Backend) {
    let env = env(backend).await;
    // A personal Google account can carry any address; only Workspace (hd) vouches for it.
    address_only_user(&env.app, "ada@example.com").await;
    let b = env.app.browser();
    assert_proof_asked(&env, &b, &person("g-ada", "ada@example.com")).await;
}

async fn link_policy_never_does_not_link_even_when_both_emails_are_verified(backend: Backend) {
    let env = env_with(backend, |_| {}, |p| p.link_policy = LinkPolicy::Never).await;
    address_only_user(&env.app, "ada@gmail.com").await;
    let b = env.app.browser();
    assert_proof_asked(&env, &b, &person("g-ada", "ada@gmail.com")).await;
}

async fn an_account_with_no_way_to_prove_it_is_refused(backend: Backend) {
    let env = env(backend).await;
    // No password, no provider, and the address never verified.
    let email = "ada@example.com".to_string();
    env.app
        .db
        .run(move |c| {
            let email = Email::parse(&email).unwrap();
            create_user(
                c,
                &NewIdentity {
                    email: &email,
                    name: "Ada",
                    password_hash: None,
                    email_verified: false,
                    is_admin: false,
                },
            )
        })
        .await
        .unwrap();
    let b = env.app.browser();
    let res = env.sign_in(&b, &person("g-ada", "ada@example.com")).await;
    let html = refusal_page(res).await;
    assert!(html.contains("has no way to prove it is yours"), "{html}");
    assert!(google_account(&env.app, "g-ada").await.is_none());
}

// ---- 4: linking from the account page ----

async fn signed_in_user_links_google_from_the_account_page_even_with_another_email(
    backend: Backend,
) {
    let env = env(backend).await;
    let b = signed_up(&env.app, "ada@example.com").await;
    let ada = user(&env.app, "ada@example.com").await;
    let html = text(&b, "/account/methods").await;
    assert!(
        html.contains(r#"action="/auth/google/link""#) && html.contains("Link Google"),
        "{html}"
    );

    let res = env
        .link(&b, &person("g-ada", "ada.lovelace@gmail.com"))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/methods?notice=linked");
    assert_eq!(
        google_account(&env.app, "g-ada").await.unwrap().user_id,
        ada.id,
        "linked to the signed-in user"
    );
    assert_eq!(
        providers(&accounts_of(&env.app, &ada.id).await),
        ["credential", "google"]
    );
    assert!(
        !user_exists(&env.app, "ada.lovelace@gmail.com").await,
        "no user for Google's address"
    );
    assert_eq!(counts(&env.app).await.users, 1);
    assert_eq!(session_of(&env.app, &b).await.user_id, ada.id);

    let html = text(&b, "/account/methods?notice=linked").await;
    assert!(
        html.contains("The sign-in method has been linked."),
        "{html}"
    );
    assert!(
        html.contains(">Google</span>") && html.contains("ada.lovelace@gmail.com"),
        "Google is listed: {html}"
    );
    assert!(
        !html.contains(r#"action="/auth/google/link""#),
        "no second link offered: {html}"
    );
}

async fn linking_needs_the_csrf_token(backend: Backend) {
    let env = env(backend).await;
    let b = signed_up(&env.app, "ada@example.com").await;
    let res = b
        .post_raw(
            &format!("/auth/{SLUG}/link"),
            &[("csrf_token", "x".repeat(43).as_str())],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(set_cookie(&res, FLOW_COOKIE).is_none(), "no flow started");
}

async fn google_account_linked_to_another_user_is_refused_when_linking(backend: Backend) {
    let env = env(backend).await;
    let grace_browser = env.app.browser();
    let grace_google = person("g-1", "grace@gmail.com");
    assert_eq!(
        env.sign_in(&grace_browser, &grace_google).await.status(),
        303
    );
    let grace = user(&env.app, "grace@gmail.com").await;

    let b = signed_up(&env.app, "ada@example.com").await;
    let ada = user(&env.app, "ada@example.com").await;
    let before = counts(&env.app).await;
    let res = env.link(&b, &grace_google).await;
    let html = refusal_page(res).await;
    assert!(
        html.contains("This Google account is already linked to another Portcullis account."),
        "{html}"
    );

    assert_eq!(counts(&env.app).await, before, "nothing written");
    assert_eq!(
        google_account(&env.app, "g-1").await.unwrap().user_id,
        grace.id,
        "still Grace's"
    );
    assert_eq!(
        providers(&accounts_of(&env.app, &ada.id).await),
        ["credential"]
    );
    // Ada keeps her own session.
    assert!(signed_in(&b).await);
    let session = session_of(&env.app, &b).await;
    assert_eq!(
        (session.user_id.as_str(), session.auth_method.as_str()),
        (ada.id.as_str(), "pwd")
    );
}

// ---- 5: unlinking ----

async fn unlinking_google_works_when_a_password_remains(backend: Backend) {
    let env = env(backend).await;
    let b = signed_up(&env.app, "ada@example.com").await;
    let ada = user(&env.app, "ada@example.com").await;
    assert_eq!(
        env.link(&b, &person("g-ada", "ada.lovelace@gmail.com"))
            .await
            .status(),
        303
    );
    let google = google_account(&env.app, "g-ada").await.unwrap();
    let html = text(&b, "/account/methods").await;
    assert!(
        html.contains(&format!(r#"name="account_id" value="{}""#, google.id)),
        "Google can be unlinked: {html}"
    );

    let res = b
        .post(
            "/account/methods/unlink",
            &[("account_id", google.id.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/methods?notice=unlinked");
    assert!(google_account(&env.app, "g-ada").await.is_none());
    assert_eq!(
        providers(&accounts_of(&env.app, &ada.id).await),
        ["credential"]
    );
    let html = text(&b, "/account/methods?notice=unlinked").await;
    assert!(
        html.contains("The sign-in method has been removed."),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/auth/google/link""#),
        "Google can be linked again: {html}"
    );

    // The password still works.
    assert_eq!(
        env.app
            .browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}

async fn unlinking_the_only_sign_in_method_is_refused(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let grace = person("g-1", "grace@gmail.com");
    assert_eq!(env.sign_in(&b, &grace).await.status(), 303);
    let user = user(&env.app, "grace@gmail.com").await;
    let google = google_account(&env.app, "g-1").await.unwrap();
    let html = text(&b, "/account/methods").await;
    assert!(html.contains(">Google</span>"), "{html}");
    assert!(
        !html.contains(&format!(r#"value="{}""#, google.id)),
        "no Unlink button for the last method: {html}"
    );

    let res = b
        .post(
            "/account/methods/unlink",
            &[("account_id", google.id.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/methods?notice=last");
    let still = google_account(&env.app, "g-1")
        .await
        .expect("the account row is still there");
    assert_eq!((still.id, still.user_id), (google.id, user.id.clone()));
    let html = text(&b, "/account/methods?notice=last").await;
    assert!(
        html.contains("That is your last way to sign in, so it cannot be removed."),
        "{html}"
    );

    // And Google still signs Grace in.
    let again = env.app.browser();
    assert_eq!(env.sign_in(&again, &grace).await.status(), 303);
    assert_eq!(session_of(&env.app, &again).await.user_id, user.id);
}

// ---- 6: failures ----

async fn access_denied_at_google_shows_a_page_and_writes_nothing(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    let res = b
        .get(&format!(
            "/auth/callback/{SLUG}?error=access_denied&state={}",
            enc(&auth.state)
        ))
        .await;
    let html = failure_page(res, 400).await;
    assert!(
        html.contains("You cancelled the sign-in at Google."),
        "{html}"
    );
    assert_eq!(counts(&env.app).await, NOTHING);
    assert_eq!(env.google.token_requests().await, 0);
    assert!(!signed_in(&b).await);
}

async fn callback_with_a_wrong_state_is_refused(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    env.google
        .answer_with_person(&auth, &person("g-1", "grace@gmail.com"))
        .await;
    let res = b
        .get(&callback_path(&auth.code, "not-the-state-that-was-sent"))
        .await;
    let html = failure_page(res, 400).await;
    assert!(
        html.contains("This sign-in link has expired or was already used."),
        "{html}"
    );
    assert_eq!(
        env.google.token_requests().await,
        0,
        "the code is not redeemed"
    );
    assert_eq!(counts(&env.app).await, NOTHING);
    assert!(!signed_in(&b).await);
}

async fn replayed_callback_is_refused_because_state_is_single_use(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let (auth, flow_cookie) = env.start_with_cookie(&b, START).await;
    env.google
        .answer_with_person(&auth, &person("g-1", "grace@gmail.com"))
        .await;
    assert_eq!(env.callback(&b, &auth).await.status(), 303);
    let after = counts(&env.app).await;
    assert_eq!(
        after,
        Counts {
            users: 1,
            accounts: 1,
            sessions: 1
        }
    );

    // The same URL again from the same browser.
    let html = failure_page(env.callback(&b, &auth).await, 400).await;
    assert!(
        html.contains("This sign-in link has expired or was already used."),
        "{html}"
    );

    // And with the flow cookie put back, as someone holding both the URL and the cookie would.
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = raw
        .get(format!(
            "{}{}",
            env.app.address,
            callback_path(&auth.code, &auth.state)
        ))
        .header("cookie", format!("{FLOW_COOKIE}={flow_cookie}"))
        .send()
        .await
        .unwrap();
    let html = failure_page(res, 400).await;
    assert!(
        html.contains("This sign-in link has expired or was already used."),
        "{html}"
    );

    assert_eq!(
        counts(&env.app).await,
        after,
        "no new user, account or session"
    );
    assert_eq!(
        env.google.token_requests().await,
        1,
        "the code was redeemed once"
    );
}

async fn callback_without_the_flow_cookie_is_refused(backend: Backend) {
    let env = env(backend).await;
    let owner = env.app.browser();
    let auth = env.start(&owner, START).await;
    env.google
        .answer_with_person(&auth, &person("g-1", "grace@gmail.com"))
        .await;

    let stranger = env.app.browser();
    let html = failure_page(env.callback(&stranger, &auth).await, 400).await;
    assert!(
        html.contains("This sign-in link has expired or was already used."),
        "{html}"
    );
    assert_eq!(env.google.token_requests().await, 0);
    assert_eq!(counts(&env.app).await, NOTHING);
    assert!(!signed_in(&stranger).await);

    // The browser that started the flow can still finish it.
    assert_eq!(env.callback(&owner, &auth).await.status(), 303);
    assert_eq!(
        counts(&env.app).await,
        Counts {
            users: 1,
            accounts: 1,
            sessions: 1
        }
    );
}

/// Google answers the code with an ID token `make` builds; Portcullis must refuse it.
async fn assert_id_token_refused(
    backend: Backend,
    make: impl FnOnce(&FakeGoogle, &Authorization) -> String,
) {
    let env = env(backend).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    let id_token = make(&env.google, &auth);
    env.google
        .answer_token(&auth, FakeGoogle::token_response(&id_token))
        .await;
    let html = failure_page(env.callback(&b, &auth).await, 400).await;
    assert!(
        html.contains("The answer from Google could not be verified"),
        "{html}"
    );
    assert_eq!(
        env.google.token_requests().await,
        1,
        "the code was exchanged"
    );
    assert_eq!(counts(&env.app).await, NOTHING);
    assert!(!signed_in(&b).await);
}

async fn id_token_signed_by_another_key_is_refused(backend: Backend) {
    assert_id_token_refused(backend, |google, auth| {
        // Same kid as the published key, different key material.
        let impostor = SigningKey::generate(fake_google::KID);
        impostor.sign(&google.claims(auth, &person("g-1", "grace@gmail.com")))
    })
    .await;
}

async fn id_token_with_the_wrong_nonce_is_refused(backend: Backend) {
    assert_id_token_refused(backend, |google, auth| {
        let mut claims = google.claims(auth, &person("g-1", "grace@gmail.com"));
        claims["nonce"] = json!("a-nonce-from-another-flow");
        google.key.sign(&claims)
    })
    .await;
}

async fn id_token_for_another_audience_is_refused(backend: Backend) {
    assert_id_token_refused(backend, |google, auth| {
        let mut claims = google.claims(auth, &person("g-1", "grace@gmail.com"));
        claims["aud"] = json!("some-other-client");
        google.key.sign(&claims)
    })
    .await;
}

async fn expired_id_token_is_refused(backend: Backend) {
    assert_id_token_refused(backend, |google, auth| {
        let mut claims = google.claims(auth, &person("g-1", "grace@gmail.com"));
        let now = chrono::Utc::now().timestamp();
        claims["iat"] = json!(now - 7200);
        claims["exp"] = json!(now - 3600);
        google.key.sign(&claims)
    })
    .await;
}

async fn unreachable_issuer_at_start_is_a_502_page(backend: Backend) {
    let app = spawn_app(backend).await;
    add_provider(&app, google_spec("http://127.0.0.1:1")).await;
    let b = app.browser();
    let res = b.get(START).await;
    assert!(
        set_cookie(&res, FLOW_COOKIE).is_none(),
        "no flow cookie without a flow"
    );
    let html = failure_page(res, 502).await;
    assert!(
        html.contains("Google could not be reached or did not answer in time."),
        "{html}"
    );
    assert!(
        html.contains("Cause: connection refused by 127.0.0.1:1."),
        "the page names the cause: {html}"
    );
    assert_eq!(counts(&app).await, NOTHING);
}

async fn a_token_endpoint_error_status_is_named_on_the_page_and_counted(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    env.google
        .answer_token(
            &auth,
            ResponseTemplate::new(500).set_body_string("<html>token store on fire</html>"),
        )
        .await;
    let html = failure_page(env.callback(&b, &auth).await, 502).await;
    assert!(
        html.contains("Google did not give a usable answer."),
        "{html}"
    );
    assert!(
        html.contains("Cause: HTTP 500 from token endpoint."),
        "{html}"
    );
    assert!(
        !html.contains("on fire"),
        "excerpts are for the log: {html}"
    );
    assert_eq!(counts(&env.app).await, NOTHING);
    let metrics = reqwest::get(format!("{}/metrics", env.app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"portcullis_sign_ins_total{method="google",outcome="failure"} 1"#),
        "{metrics}"
    );
}

async fn slow_token_endpoint_times_out_with_a_502_page(backend: Backend) {
    let env = env_with(backend, |s| s.upstream.timeout_secs = 1, |_| {}).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    let id_token = env
        .google
        .key
        .sign(&env.google.claims(&auth, &person("g-1", "grace@gmail.com")));
    env.google
        .answer_token(
            &auth,
            FakeGoogle::token_response(&id_token).set_delay(Duration::from_secs(3)),
        )
        .await;
    let html = failure_page(env.callback(&b, &auth).await, 502).await;
    assert!(
        html.contains("Google could not be reached or did not answer in time."),
        "{html}"
    );
    assert_eq!(counts(&env.app).await, NOTHING);
    assert!(!signed_in(&b).await);
}

async fn token_endpoint_error_is_a_4xx_page(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    env.google
        .answer_token(
            &auth,
            ResponseTemplate::new(400).set_body_json(
                json!({ "error": "invalid_grant", "error_description": "Bad Request" }),
            ),
        )
        .await;
    let res = env.callback(&b, &auth).await;
    let status = res.status().as_u16();
    assert!((400..500).contains(&status), "a 4xx page, got {status}");
    let html = failure_page(res, status).await;
    assert!(
        html.contains("Google reported an error: invalid_grant"),
        "{html}"
    );
    assert_eq!(env.google.token_requests().await, 1);
    assert_eq!(counts(&env.app).await, NOTHING);
    assert!(!signed_in(&b).await);
}

// ---- 7: restrictions ----

async fn assert_restricted(env: &Env, p: &Person, limited_to: &str) {
    let before = counts(&env.app).await;
    let b = env.app.browser();
    let html = failure_page(env.sign_in(&b, p).await, 403).await;
    assert!(
        html.contains(&format!(
            "Sign-in with Google is limited to verified addresses at {limited_to}."
        )),
        "{html}"
    );
    assert_eq!(counts(&env.app).await, before, "{} is not let in", p.email);
    assert!(!user_exists(&env.app, &p.email).await);
}

async fn assert_admitted(env: &Env, p: &Person) {
    let b = env.app.browser();
    let res = env.sign_in(&b, p).await;
    assert_eq!(res.status(), 303, "{} is let in", p.email);
    assert_eq!(location(&res), "/account");
    let user = user(&env.app, &p.email).await;
    assert_eq!(session_of(&env.app, &b).await.user_id, user.id);
}

async fn hosted_domain_admits_only_verified_addresses_at_that_domain(backend: Backend) {
    let env = env_with(
        backend,
        |_| {},
        |p| {
            p.spec = ProviderSpec::Google {
                issuer: p.spec.issuer().map(str::to_string),
                hosted_domain: Some("example.com".into()),
            }
        },
    )
    .await;
    let auth = env.start(&env.app.browser(), START).await;
    assert_eq!(
        auth.param("hd").as_deref(),
        Some("example.com"),
        "Google's account chooser hint"
    );

    assert_restricted(&env, &person("g-alice", "alice@other.com"), "example.com").await;
    assert_restricted(
        &env,
        &person("g-carol", "carol@example.com").unverified(),
        "example.com",
    )
    .await;
    assert_eq!(counts(&env.app).await, NOTHING);
    assert_admitted(&env, &person("g-bob", "bob@example.com")).await;
    assert_eq!(
        counts(&env.app).await,
        Counts {
            users: 1,
            accounts: 1,
            sessions: 1
        }
    );
}

async fn allowed_domains_admit_only_verified_addresses_at_those_domains(backend: Backend) {
    let env = env_with(
        backend,
        |_| {},
        |p| p.allowed_domains = vec!["example.org".into()],
    )
    .await;
    assert_restricted(&env, &person("g-alice", "alice@other.com"), "example.org").await;
    assert_restricted(
        &env,
        &person("g-carol", "carol@example.org").unverified(),
        "example.org",
    )
    .await;
    assert_eq!(counts(&env.app).await, NOTHING);
    assert_admitted(&env, &person("g-bob", "bob@example.org")).await;
    assert_eq!(
        counts(&env.app).await,
        Counts {
            users: 1,
            accounts: 1,
            sessions: 1
        }
    );
}

// ---- 8: upstream tokens ----

async fn keep_tokens_stores_the_upstream_tokens_encrypted(backend: Backend) {
    let env = env_with(backend, |_| {}, |p| p.keep_tokens = true).await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    let id_token = env
        .google
        .answer_with_person(&auth, &person("g-1", "grace@gmail.com"))
        .await;
    assert_eq!(env.callback(&b, &auth).await.status(), 303);

    let account = google_account(&env.app, "g-1").await.unwrap();
    let mk = master_key(&env.app);
    let stored = [
        (
            "access_token",
            account.access_token,
            fake_google::ACCESS_TOKEN,
        ),
        (
            "refresh_token",
            account.refresh_token,
            fake_google::REFRESH_TOKEN,
        ),
        ("id_token", account.id_token, id_token.as_str()),
    ];
    for (column, value, plain) in stored {
        let value = value.unwrap_or_else(|| panic!("{column} is stored"));
        assert_ne!(value, plain, "{column} is not stored in the clear");
        assert!(
            !value.contains(plain),
            "{column} is not stored in the clear"
        );
        let opened = mk
            .decrypt(&value)
            .unwrap_or_else(|_| panic!("{column} opens with the master key"));
        assert_eq!(String::from_utf8(opened).unwrap(), plain, "{column}");
    }
    assert!(account.token_expires_at.is_some());
}

async fn without_keep_tokens_no_upstream_tokens_are_stored(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    assert_eq!(
        env.sign_in(&b, &person("g-1", "grace@gmail.com"))
            .await
            .status(),
        303
    );
    let account = google_account(&env.app, "g-1").await.unwrap();
    assert_eq!(account.access_token, None);
    assert_eq!(account.refresh_token, None);
    assert_eq!(account.id_token, None);
    assert_eq!(account.token_expires_at, None);
}

// ---- 9: relying party → Portcullis → Google → Portcullis → relying party ----

async fn relying_party_sign_in_through_google_gets_the_google_user_with_fed_amr(backend: Backend) {
    let env = env(backend).await;
    let (client_id, secret) = rp::register(&env.app, rp::spec("Notes")).await;
    let rp = rp::rp(&env.app, &client_id, secret.as_deref()).await;
    let started = rp.start(&["email", "profile"], true, &[]);
    let b = env.app.browser();

    let Outcome::Login(login) = drive(&b, &started.url, None).await else {
        panic!("a signed-out browser is sent to the login page")
    };
    let login_url = url::Url::parse(&format!("{}{}", env.app.address, login)).unwrap();
    let return_to = login_url
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .expect("return_to");
    assert!(
        return_to.starts_with("/authorize/continue?req="),
        "{return_to}"
    );

    // The login page's "Continue with Google" carries the way back.
    let html = text(&b, &login).await;
    let start = format!(
        "{START}{}",
        rp::extract(&html, &format!(r#"href="{START}"#))
    );
    let start_url = url::Url::parse(&format!("{}{}", env.app.address, start)).unwrap();
    assert_eq!(
        start_url
            .query_pairs()
            .find(|(k, _)| k == "return_to")
            .map(|(_, v)| v.into_owned()),
        Some(return_to.clone())
    );

    let auth = env.start(&b, &start).await;
    env.google
        .answer_with_person(&auth, &person("g-rp", "grace@gmail.com"))
        .await;
    let res = env.callback(&b, &auth).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), return_to, "back to the authorization");

    let Outcome::Callback(cb) = drive(
        &b,
        &format!("{}{}", env.app.address, return_to),
        Some("allow"),
    )
    .await
    else {
        panic!("the authorization completes after consent")
    };
    assert_eq!(cb.get("state"), Some(started.state.secret().as_str()));
    let tokens = rp
        .exchange(cb.code(), started.verifier)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&rp.client.id_token_verifier(), &started.nonce)
        .expect("a valid ID token");
    let user = user(&env.app, "grace@gmail.com").await;
    assert_eq!(
        claims.subject().as_str(),
        user.id.as_str(),
        "the Portcullis user created from Google"
    );

    let payload = jwt_payload(&id_token.to_string());
    assert_eq!(payload["sub"], json!(user.id));
    assert_eq!(payload["amr"], json!(["fed", "google"]));
}

// ---- 10: buttons, return_to, disabling ----

async fn login_and_signup_pages_offer_continue_with_google(backend: Backend) {
    let env = env(backend).await;
    let b = env.app.browser();
    for page in ["/login", "/signup"] {
        let html = text(&b, page).await;
        assert!(
            html.contains(&format!(r#"href="{START}""#)),
            "{page} links to the start: {html}"
        );
        assert!(html.contains("Continue with Google"), "{page}: {html}");
    }
    // The button carries the page's return_to (decoded, it is the same path).
    for return_to in [
        "/account/sessions",
        "/authorize/continue?req=a+b&x=%2F#frag",
    ] {
        let html = text(&b, &format!("/login?return_to={}", enc(return_to))).await;
        let href = format!(
            "{START}{}",
            rp::extract(&html, &format!(r#"href="{START}"#))
        );
        let url = url::Url::parse(&format!("{}{}", env.app.address, href)).unwrap();
        assert_eq!(url.path(), START);
        let carried: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            carried,
            [("return_to".to_string(), return_to.to_string())],
            "{href}"
        );
    }
}

async fn start_follows_a_local_return_to_and_ignores_others(backend: Backend) {
    let env = env(backend).await;
    let grace = person("g-1", "grace@gmail.com");
    for (return_to, expected) in [
        ("/account/sessions", "/account/sessions"),
        ("https://evil.example/", "/account"),
        ("//evil.example/", "/account"),
    ] {
        let b = env.app.browser();
        let auth = env
            .start(&b, &format!("{START}?return_to={}", enc(return_to)))
            .await;
        env.google.answer_with_person(&auth, &grace).await;
        let res = env.callback(&b, &auth).await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), expected, "return_to {return_to}");
    }
}

async fn disabled_provider_has_no_button_and_no_sign_in(backend: Backend) {
    let env = env(backend).await;
    // A sign-in under way when the provider is disabled.
    let midway = env.app.browser();
    let auth = env.start(&midway, START).await;
    env.google
        .answer_with_person(&auth, &person("g-1", "grace@gmail.com"))
        .await;

    let n = env
        .app
        .query(|c| IdentityProviderRow::set_enabled(c, SLUG, false, portcullis::identity::now()))
        .await;
    assert_eq!(n, 1);

    let b = env.app.browser();
    for page in ["/login", "/signup"] {
        let html = text(&b, page).await;
        assert!(
            !html.contains("Continue with Google") && !html.contains(START),
            "{page}: {html}"
        );
    }
    assert_eq!(b.get(START).await.status(), 404);

    let res = env.callback(&midway, &auth).await;
    let status = res.status().as_u16();
    assert!(
        (400..500).contains(&status),
        "a disabled provider finishes no sign-in, got {status}"
    );
    assert_eq!(env.google.token_requests().await, 0);
    assert_eq!(counts(&env.app).await, NOTHING);

    // Nor is it offered for linking.
    let ada = signed_up(&env.app, "ada@example.com").await;
    let html = text(&ada, "/account/methods").await;
    assert!(!html.contains("/auth/google/link"), "{html}");
    assert_eq!(
        ada.post(&format!("/auth/{SLUG}/link"), &[]).await.status(),
        404
    );
}

// ---- restrictions that cannot be read ----

/// A stored restriction that does not parse stops sign-in with this provider (fail closed);
/// it never reads as "no restriction".
async fn unreadable_allowed_domains_refuse_sign_in_instead_of_admitting_everyone(backend: Backend) {
    let env = env(backend).await;
    env.app
        .query(|c| {
            diesel::update(portcullis::db::schema::identity_provider::table)
                .set(portcullis::db::schema::identity_provider::allowed_domains.eq("example.org"))
                .execute(c)
        })
        .await;
    let b = env.app.browser();
    assert_eq!(b.get(START).await.status().as_u16(), 500);
    assert_eq!(counts(&env.app).await, NOTHING);
    // Only this provider is out of use: the sign-in page still works.
    assert_eq!(b.get("/login").await.status().as_u16(), 200);
}

// ---- discovery cache ----

/// How many times Portcullis fetched the fake Google's discovery document and its JWKS.
async fn discovery_fetches(google: &FakeGoogle) -> (usize, usize) {
    let requests = google.server.received_requests().await.unwrap_or_default();
    let count = |p: &str| requests.iter().filter(|r| r.url.path() == p).count();
    (count("/.well-known/openid-configuration"), count("/jwks"))
}

async fn signs_in(env: &Env, p: &Person) {
    let b = env.app.browser();
    let res = env.sign_in(&b, p).await;
    assert_eq!(res.status().as_u16(), 303, "{}", res.text().await.unwrap());
    assert!(signed_in(&b).await);
}

async fn a_second_sign_in_reuses_the_cached_discovery_document(backend: Backend) {
    let env = env(backend).await;
    signs_in(&env, &person("g-1", "grace@example.com")).await;
    assert_eq!(discovery_fetches(&env.google).await, (1, 1));
    signs_in(&env, &person("g-2", "ada@example.com")).await;
    assert_eq!(
        discovery_fetches(&env.google).await,
        (1, 1),
        "start and callback of the second sign-in use the cached document"
    );
}

/// A lifetime of 0 makes every use find the document expired (the fake sends no max-age), so
/// the refresh path is exercised without waiting; the bounds are unit-tested in `discovery`.
async fn an_expired_discovery_document_is_fetched_again(backend: Backend) {
    let env = env_with(backend, |s| s.upstream.discovery_ttl_secs = 0, |_| {}).await;
    signs_in(&env, &person("g-1", "grace@example.com")).await;
    let (first, _) = discovery_fetches(&env.google).await;
    assert!(first >= 1);
    signs_in(&env, &person("g-1", "grace@example.com")).await;
    let (second, _) = discovery_fetches(&env.google).await;
    assert!(
        second > first,
        "expired: fetched again ({first} then {second})"
    );
}

/// The provider's discovery fails after the document expired: the last good one stands in.
async fn a_failed_refresh_falls_back_to_the_last_good_document(backend: Backend) {
    let env = env_with(backend, |s| s.upstream.discovery_ttl_secs = 0, |_| {}).await;
    signs_in(&env, &person("g-1", "grace@example.com")).await;
    let (before, _) = discovery_fetches(&env.google).await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/.well-known/openid-configuration",
        ))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&env.google.server)
        .await;
    signs_in(&env, &person("g-1", "grace@example.com")).await;
    let (discovery, _) = discovery_fetches(&env.google).await;
    assert!(
        discovery > before,
        "a refresh was tried: {before} then {discovery}"
    );
}

/// The issuer rotates its keys between two sign-ins: the ID token names a key the cached JWKS
/// lacks, so the keys are fetched again at once and the sign-in succeeds.
async fn a_rotated_signing_key_refreshes_the_cached_keys(backend: Backend) {
    let env = env(backend).await;
    signs_in(&env, &person("g-1", "grace@example.com")).await;

    let rotated = SigningKey::generate("fake-google-key-2");
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": [rotated.jwk] })))
        .with_priority(1)
        .mount(&env.google.server)
        .await;
    let b = env.app.browser();
    let auth = env.start(&b, START).await;
    assert_eq!(discovery_fetches(&env.google).await, (1, 1), "still fresh");
    let p = person("g-1", "grace@example.com");
    let id_token = rotated.sign(&env.google.claims(&auth, &p));
    env.google
        .answer_token(&auth, FakeGoogle::token_response(&id_token))
        .await;
    let res = env.callback(&b, &auth).await;
    assert_eq!(res.status().as_u16(), 303, "{}", res.text().await.unwrap());
    assert_eq!(discovery_fetches(&env.google).await, (2, 2));
}
