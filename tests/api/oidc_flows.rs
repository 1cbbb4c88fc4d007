//! The authorization code flow end to end, driven by the `openidconnect` crate as the RP.

use openidconnect::{AccessTokenHash, Nonce, OAuth2TokenResponse, TokenResponse};

use crate::helpers::*;
use crate::rp::{self, drive, Outcome};

backend_tests!(
    happy_path_with_basic_auth_userinfo_refresh_and_revocation,
    client_secret_post_works_too,
    public_client_needs_pkce_and_gets_tokens,
    form_post_response_mode,
    nonce_is_absent_when_not_sent,
    unregistered_redirect_uri_gets_a_page_never_a_redirect,
    second_code_redemption_fails_and_revokes_tokens,
    errors_redirect_with_state_and_iss,
);

async fn happy_path_with_basic_auth_userinfo_refresh_and_revocation(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Notes")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;

    let started = rp.start(&["profile", "email", "offline_access"], true, &[]);
    let Outcome::Callback(cb) = drive(&b, &started.url, Some("allow")).await else {
        panic!("no callback")
    };
    assert_eq!(cb.get("state"), Some(started.state.secret().as_str()));
    assert_eq!(cb.get("iss"), Some(app.address.as_str()));

    let tokens = rp.exchange(cb.code(), started.verifier).await.unwrap();
    assert_eq!(tokens.token_type().as_ref(), "bearer");
    assert!(tokens.expires_in().is_some());
    let id_token = tokens.id_token().expect("id token");
    let verifier = rp.client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &started.nonce)
        .expect("valid ID token");
    assert!(claims.subject().as_str().starts_with("usr_"));
    assert!(claims.auth_time().is_some());
    let at_hash = claims.access_token_hash().expect("at_hash");
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(at_hash, &expected);

    let info: openidconnect::core::CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&rp.http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(info.email_verified(), Some(false));
    assert_eq!(
        info.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Ada Lovelace")
    );

    // Refresh: a new pair, the same person, auth_time kept, no nonce.
    let rt = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    let refreshed = rp
        .client
        .exchange_refresh_token(&rt)
        .unwrap()
        .request_async(&rp.http)
        .await
        .expect("refresh");
    let new_id = refreshed.id_token().unwrap();
    let new_claims = new_id
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .unwrap();
    assert_eq!(new_claims.subject(), claims.subject());
    assert_eq!(new_claims.auth_time(), claims.auth_time());
    assert!(new_claims.nonce().is_none());
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        rt.secret(),
        "rotated"
    );

    // Revoking the refresh token revokes the family: the new access token stops working.
    // (openidconnect refuses plain-http revocation URLs, so this one request is made by hand.)
    let res = reqwest::Client::new()
        .post(format!("{}/revoke", app.address))
        .basic_auth(&id, secret.as_deref())
        .form(&[
            (
                "token",
                refreshed.refresh_token().unwrap().secret().as_str(),
            ),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after = rp.client.user_info(refreshed.access_token().clone(), None).unwrap().request_async::<openidconnect::EmptyAdditionalClaims, _, openidconnect::core::CoreGenderClaim>(&rp.http).await;
    assert!(after.is_err(), "revoked grant's access token is refused");
}

async fn client_secret_post_works_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let mut spec = rp::spec("Posty");
    spec.auth_method = Some("client_secret_post".into());
    spec.skip_consent = true;
    let (id, secret) = rp::register(&app, spec).await;
    let http = reqwest::Client::new();
    let rp = rp::rp(&app, &id, secret.as_deref()).await;
    let started = rp.start(&[], false, &[]);
    let Outcome::Callback(cb) = drive(&b, &started.url, None).await else {
        panic!("skip-consent client gets no consent page")
    };
    let res = http
        .post(format!("{}/token", app.address))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("redirect_uri", rp::REDIRECT),
            ("client_id", &id),
            ("client_secret", secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["id_token"].is_string() && body["access_token"].is_string());
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );

    // A wrong secret is a 401 with a Basic challenge when Basic was tried.
    let res = http
        .post(format!("{}/token", app.address))
        .basic_auth(&id, Some("wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

async fn public_client_needs_pkce_and_gets_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let mut spec = rp::spec("Spa");
    spec.public = true;
    let (id, secret) = rp::register(&app, spec).await;
    assert!(secret.is_none());
    let rp = rp::rp(&app, &id, None).await;

    let without = rp.start(&[], false, &[]);
    let Outcome::Callback(cb) = drive(&b, &without.url, Some("allow")).await else {
        panic!()
    };
    assert_eq!(cb.get("error"), Some("invalid_request"));

    let with = rp.start(&[], true, &[]);
    let Outcome::Callback(cb) = drive(&b, &with.url, Some("allow")).await else {
        panic!()
    };
    let tokens = rp
        .exchange(cb.code(), with.verifier)
        .await
        .expect("public client exchange");
    assert!(tokens.id_token().is_some());

    // A wrong verifier fails.
    let again = rp.start(&[], true, &[]);
    let Outcome::Callback(cb) = drive(&b, &again.url, Some("allow")).await else {
        panic!()
    };
    let wrong = openidconnect::PkceCodeVerifier::new("x".repeat(43));
    let err = rp.exchange(cb.code(), Some(wrong)).await.unwrap_err();
    assert!(err.contains("invalid_grant"), "{err}");
}

async fn form_post_response_mode(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Poster")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;
    let started = rp.start(&[], false, &[("response_mode", "form_post")]);
    let res_url = started.url.clone();
    let Outcome::Callback(cb) = drive(&b, &res_url, Some("allow")).await else {
        panic!("form_post page")
    };
    assert_eq!(cb.get("state"), Some(started.state.secret().as_str()));
    assert_eq!(cb.get("iss"), Some(app.address.as_str()));
    rp.exchange(cb.code(), None)
        .await
        .expect("code from form_post works");

    // The page's CSP allows exactly its own script.
    let again = rp.start(&[], false, &[("response_mode", "form_post")]);
    let res = b.client.get(&again.url).send().await.unwrap();
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let html = res.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")));
}

async fn nonce_is_absent_when_not_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let mut spec = rp::spec("Plain");
    spec.skip_consent = true;
    let (id, secret) = rp::register(&app, spec).await;
    let url = format!(
        "{}/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=s1",
        app.address,
        rp::REDIRECT
    );
    let Outcome::Callback(cb) = drive(&b, &url, None).await else {
        panic!()
    };
    let res = reqwest::Client::new()
        .post(format!("{}/token", app.address))
        .basic_auth(&id, secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("redirect_uri", rp::REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let payload = body["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_string();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert!(claims.get("nonce").is_none(), "{claims}");
    for k in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "at_hash",
        "sid",
        "azp",
        "amr",
    ] {
        assert!(claims.get(k).is_some(), "missing {k}");
    }
    assert!(
        claims.get("email").is_none(),
        "profile claims stay in userinfo"
    );
}

async fn unregistered_redirect_uri_gets_a_page_never_a_redirect(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, _) = rp::register(&app, rp::spec("Strict")).await;
    for redirect in [
        format!("{}/extra", rp::REDIRECT),
        format!("{}?x=1", rp::REDIRECT),
        "https://evil.example/cb".to_string(),
    ] {
        let url = format!(
            "{}/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=s",
            app.address,
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        );
        let res = b.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 400, "{redirect}");
        assert!(res.headers().get("location").is_none());
        assert!(res.text().await.unwrap().contains("has not registered"));
    }
    let res = b
        .client
        .get(format!(
            "{}/authorize?client_id=nope&redirect_uri={}&response_type=code",
            app.address,
            rp::REDIRECT
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

async fn second_code_redemption_fails_and_revokes_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Reuse")).await;
    let rp = rp::rp(&app, &id, secret.as_deref()).await;
    let started = rp.start(&["offline_access"], false, &[]);
    let Outcome::Callback(cb) = drive(&b, &started.url, Some("allow")).await else {
        panic!()
    };
    let first = rp.exchange(cb.code(), None).await.unwrap();
    let second = rp.exchange(cb.code(), None).await.unwrap_err();
    assert!(second.contains("invalid_grant"), "{second}");

    let res = reqwest::Client::new()
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(first.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "tokens from the first redemption are revoked"
    );
    let refresh = rp
        .client
        .exchange_refresh_token(first.refresh_token().unwrap())
        .unwrap()
        .request_async(&rp.http)
        .await;
    assert!(refresh.is_err());
}

async fn errors_redirect_with_state_and_iss(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, _) = rp::register(&app, rp::spec("Errors")).await;
    let base = format!(
        "{}/authorize?client_id={id}&redirect_uri={}&state=st8",
        app.address,
        rp::REDIRECT
    );
    let cases = [
        (
            "&response_type=token&scope=openid",
            "unsupported_response_type",
        ),
        ("&scope=openid", "invalid_request"),
        (
            "&response_type=code&scope=openid&request=eyJ",
            "request_not_supported",
        ),
        (
            "&response_type=code&scope=openid&request_uri=https://x",
            "request_uri_not_supported",
        ),
        (
            "&response_type=code&scope=openid&code_challenge=abc&code_challenge_method=plain",
            "invalid_request",
        ),
        (
            "&response_type=code&scope=openid&prompt=none%20login",
            "invalid_request",
        ),
        (
            "&response_type=code&scope=openid&max_age=-1",
            "invalid_request",
        ),
        ("&response_type=code&scope=bogus", "invalid_scope"),
        (
            "&response_type=code&scope=openid&scope=email",
            "invalid_request",
        ),
    ];
    for (extra, error) in cases {
        let Outcome::Callback(cb) = drive(&b, &format!("{base}{extra}"), None).await else {
            panic!("{extra}")
        };
        assert_eq!(cb.get("error"), Some(error), "{extra}");
        assert_eq!(cb.get("state"), Some("st8"), "{extra}");
        assert_eq!(cb.get("iss"), Some(app.address.as_str()), "{extra}");
        assert!(cb.get("code").is_none());
        let allowed = ["error", "error_description", "state", "iss"];
        assert!(
            cb.params.keys().all(|k| allowed.contains(&k.as_str())),
            "{:?}",
            cb.params
        );
    }
    // Deny on the consent page.
    let Outcome::Callback(cb) = drive(
        &b,
        &format!("{base}&response_type=code&scope=openid"),
        Some("deny"),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(cb.get("error"), Some("access_denied"));
    assert_eq!(cb.get("state"), Some("st8"));
}
