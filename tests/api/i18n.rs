//! Translations end to end: which language a page or mail comes in (the user's setting, then
//! the application's `ui_locales`, then the browser's Accept-Language), and the page texts that
//! came with them (dead links, the consent page's redirect host).

use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::rp::{self, drive, Outcome};
use crate::smtp_sink::Mail;

backend_tests!(
    accept_language_de_gets_a_german_login_page,
    a_french_user_gets_french_account_pages_whatever_the_browser_says,
    ui_locales_of_the_authorization_request_choose_the_login_and_consent_language,
    a_german_users_password_reset_mail_is_german,
    a_dead_reset_link_says_so_before_asking_for_a_password,
    a_dead_verification_link_says_so_before_the_confirm_button,
    consent_page_names_the_host_the_code_goes_to,
    sign_up_with_required_verification_says_where_the_mail_went,
    a_new_account_keeps_the_language_it_signed_up_in,
);

async fn get_with_language(b: &Browser, path: &str, accept_language: &str) -> (u16, String) {
    let res = b
        .client
        .get(format!("{}{path}", b.base))
        .header("Accept-Language", accept_language)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn lang_of(html: &str) -> &str {
    let start = html.find("<html lang=\"").expect("an <html lang>") + "<html lang=\"".len();
    &html[start..start + html[start..].find('"').unwrap()]
}

async fn choose_language(b: &Browser, language: &str) {
    let res = b
        .post(
            "/account/settings",
            &[("theme", "system"), ("language", language)],
        )
        .await;
    assert_eq!(res.status(), 303, "saving settings");
}

async fn accept_language_de_gets_a_german_login_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();

    let (status, html) = get_with_language(&b, "/login", "de-AT, en;q=0.5").await;
    assert_eq!(status, 200);
    assert_eq!(lang_of(&html), "de");
    assert!(html.contains("<h1>Anmelden</h1>"), "{html}");
    assert!(html.contains("Passwort vergessen?"));
    assert!(!html.contains("Forgot your password?"));

    // English stays exactly as it was, for English readers and for browsers that say nothing.
    for accept in ["en-GB", "ja, zh;q=0.8", ""] {
        let (_, html) = get_with_language(&b, "/login", accept).await;
        assert_eq!(lang_of(&html), "en", "{accept:?}");
        assert!(html.contains("<h1>Sign in</h1>") && html.contains("Forgot your password?"));
    }

    // Error pages, rendered without the handler's help, follow the same negotiation.
    let (status, html) = get_with_language(&b, "/no-such-page", "de").await;
    assert_eq!(status, 404);
    assert_eq!(lang_of(&html), "de");
    assert!(
        html.contains("Seite nicht gefunden") && html.contains("Fehler 404"),
        "{html}"
    );
    let res = b
        .client
        .post(format!("{}/login", b.base))
        .header("Accept-Language", "fr")
        .form(&[("email", "a@b.c")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        res.text().await.unwrap().contains("Ce formulaire a expiré"),
        "the CSRF error page is French"
    );

    // q-values decide between languages we have.
    let (_, html) = get_with_language(&b, "/signup", "en;q=0.3, fr;q=0.9, de;q=0.8").await;
    assert_eq!(lang_of(&html), "fr");
    assert!(html.contains("Créez votre compte"));
}

async fn a_french_user_gets_french_account_pages_whatever_the_browser_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    choose_language(&b, "fr").await;

    for (path, text) in [
        ("/account", "Enregistrer le profil"),
        (
            "/account/settings?notice=settings",
            "Vos paramètres ont été enregistrés.",
        ),
        ("/account/sessions", "Dernière activité"),
        (
            "/account/apps",
            "Aucune application n'a accès à votre compte.",
        ),
    ] {
        let (status, html) = get_with_language(&b, path, "en-US,en;q=0.9").await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(lang_of(&html), "fr", "{path}");
        assert!(html.contains(text), "{path} lacks {text:?}: {html}");
    }

    // Form errors come from the server's code, and are French too.
    let res = b
        .post(
            "/account/password",
            &[
                ("current_password", "wrong"),
                ("new_password", "x"),
                ("confirm_password", "y"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Votre mot de passe actuel est incorrect.")
            || html.contains("Utilisez au moins"),
        "{html}"
    );

    // So is an error page.
    let (status, html) = get_with_language(&b, "/no-such-page", "en").await;
    assert_eq!(status, 404);
    assert_eq!(lang_of(&html), "fr");
    assert!(html.contains("Page introuvable"), "{html}");

    // A stored language without a catalogue falls through to the browser's, and lang says so.
    let res = b
        .post(
            "/account/settings",
            &[("theme", "system"), ("language", "ja")],
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "stored values beyond the translated ones stay valid"
    );
    let (_, html) = get_with_language(&b, "/account", "de").await;
    assert_eq!(lang_of(&html), "de");
    let (_, html) = get_with_language(&b, "/account/settings", "de").await;
    assert!(
        html.contains(r#"<option value="ja" selected>"#),
        "the stored choice stays readable: {html}"
    );
    assert!(
        !html.contains(r#"value="es""#),
        "languages we do not translate are not offered"
    );
}

async fn ui_locales_of_the_authorization_request_choose_the_login_and_consent_language(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;
    let b = app.browser();
    let started = rp.start(&["profile"], true, &[("ui_locales", "ja fr-CA de")]);

    let Outcome::Login(login) = drive(&b, &started.url, None).await else {
        panic!("expected the login page")
    };
    let (_, html) = get_with_language(&b, &login, "de").await;
    assert_eq!(lang_of(&html), "fr", "ui_locales beats Accept-Language");
    assert!(html.contains("<h1>Connexion</h1>"), "{html}");

    // Signing up from there keeps the language; the consent page follows it too.
    let return_to = url::Url::parse(&format!("{}{login}", b.base))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .unwrap()
        .1
        .into_owned();
    let res = b
        .post(
            "/signup",
            &[
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let Outcome::Consent(html) = drive(&b, &format!("{}{}", b.base, location(&res)), None).await
    else {
        panic!("expected consent")
    };
    assert_eq!(lang_of(&html), "fr");
    assert!(
        html.contains("Notes souhaite accéder à votre compte"),
        "{html}"
    );

    // The user's own setting beats the application's wish.
    choose_language(&b, "de").await;
    let Outcome::Consent(html) = drive(&b, &started.url, None).await else {
        panic!("expected consent")
    };
    assert_eq!(lang_of(&html), "de");
    assert!(
        html.contains("Notes möchte auf Ihr Konto zugreifen"),
        "{html}"
    );
}

/// Waits for a mail to `email` whose text contains `needle`.
async fn wait_for_mail(app: &TestApp, email: &str, needle: &str) -> Mail {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = app
            .mails()
            .into_iter()
            .filter(|m| m.is_to(email))
            .map(|m| Mail::parse(&m.raw))
            .find(|m| m.text().contains(needle));
        if let Some(mail) = found {
            return mail;
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {email} containing {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_german_users_password_reset_mail_is_german(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    choose_language(&b, "de").await;

    // Asked for from an English browser: the mail follows the recipient's setting.
    let other = app.browser();
    let res = other
        .client
        .post(format!("{}/forgot", other.base))
        .header("Accept-Language", "en")
        .form(&[
            ("email", "ada@example.com"),
            ("csrf_token", &other.csrf().await),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("a link to reset the password is on its way"),
        "the page is the browser's language"
    );

    let mail = wait_for_mail(&app, "ada@example.com", "/reset?token=").await;
    let text = mail.text();
    assert!(text.contains("Guten Tag Ada Lovelace,"), "{text}");
    assert!(
        text.contains(
            "Jemand hat angefordert, das Passwort Ihres Portcullis-Kontos zurückzusetzen."
        ),
        "{text}"
    );
    assert!(
        text.contains("Der Link ist 60 Minuten lang gültig"),
        "{text}"
    );
    assert!(!text.contains("Someone asked"), "{text}");
    assert!(mail.html().contains(r#"<html lang="de">"#));
    assert_ne!(
        mail.header("Subject").unwrap_or_default(),
        "Reset your password"
    );
}

async fn a_dead_reset_link_says_so_before_asking_for_a_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    let dead = "/reset?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    let res = b.get(dead).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Link expired</h1>"), "{html}");
    assert!(
        html.contains("This reset link is invalid, expired or already used. Ask for a new one.")
    );
    assert!(
        html.contains(r#"href="&#x2f;forgot">Reset my password</a>"#),
        "a way to a new link: {html}"
    );
    assert!(
        !html.contains(r#"name="new_password""#),
        "no password form for a dead link"
    );

    let (_, html) = get_with_language(&b, dead, "fr").await;
    assert!(
        html.contains("Ce lien de réinitialisation est invalide"),
        "{html}"
    );

    // A live link still shows the form, and opening it spends nothing.
    signed_up(&app, "ada@example.com").await;
    b.post("/forgot", &[("email", "ada@example.com")]).await;
    let mail = wait_for_mail(&app, "ada@example.com", "/reset?token=").await;
    let text = mail.text();
    let token = text
        .split("/reset?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        let res = b.get(&format!("/reset?token={token}")).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains(r#"name="new_password""#));
    }
}

async fn a_dead_verification_link_says_so_before_the_confirm_button(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    let res = b
        .get("/verify-email?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("This link is invalid, expired or already used. Ask for a new one from your account page."), "{html}");
    assert!(
        !html.contains(r#"action="/verify-email""#),
        "no confirm button for a dead link"
    );
}

async fn consent_page_names_the_host_the_code_goes_to(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;
    let b = signed_up(&app, "ada@example.com").await;
    let started = rp.start(&["profile", "email"], true, &[]);
    let Outcome::Consent(html) = drive(&b, &started.url, None).await else {
        panic!("expected consent")
    };
    // rp::REDIRECT is http://127.0.0.1:1/callback
    assert!(
        html.contains("You will be returned to 127.0.0.1:1"),
        "{html}"
    );
    assert!(html.contains("See your email address and whether it is verified"));
}

async fn sign_up_with_required_verification_says_where_the_mail_went(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.accounts.require_verified_email = true).await;
    let b = app.browser();
    let res = b.signup("Ada", "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Check your email</h1>"), "{html}");
    assert!(
        html.contains("We sent a confirmation link to ada@example.com. Follow it, then sign in."),
        "{html}"
    );
}

async fn a_new_account_keeps_the_language_it_signed_up_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = app.browser();
    let res = b
        .client
        .post(format!("{}/signup", b.base))
        .header("Accept-Language", "de")
        .form(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &b.csrf().await),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = get_with_language(&b, "/account/settings", "en").await;
    assert_eq!(lang_of(&html), "de");
    assert!(html.contains(r#"<option value="de" selected>"#), "{html}");
    let mail = wait_for_mail(&app, "ada@example.com", "/verify-email?token=").await;
    assert!(
        mail.text()
            .contains("Bitte bestätigen Sie Ihre E-Mail-Adresse"),
        "{}",
        mail.text()
    );
}
