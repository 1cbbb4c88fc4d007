//! Storage conformance (Dex's idea): every model's queries, run directly against each backend.
//! The same calls must mean the same thing on SQLite and on PostgreSQL: what a read returns,
//! what the database refuses as a duplicate, which rows an expiry sweep removes at a boundary,
//! and what a timestamp reads back as. Times are explicit (no clock, no sleeps), several with
//! sub-second parts, because SQLite stores timestamps as text and compares them as text.

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use portcullis::db::models::{
    audit, revoked_token, Account, AuthorizationCode, Consent, Grant, IdentityProviderRow,
    KnownDevice, NewAccount, NewAuditEvent, NewSession, NewUser, OAuthClient, OutboxMessage,
    Profile, RefreshToken, Session, SigningKeyRow, User, UserSettings, Verification,
};
use portcullis::db::{self, is_unique_violation, Db, DbConnection};

use crate::helpers::*;

backend_tests!(
    users_and_what_hangs_off_them_round_trip,
    clients_grants_consent_codes_and_refresh_tokens_round_trip,
    providers_signing_keys_and_audit_events_round_trip,
    the_database_refuses_duplicates,
    expiry_sweeps_remove_exactly_the_expired_rows,
    mail_outbox_claims_expire_and_sent_mail_is_swept,
    rate_limit_windows_count_and_reset,
    timestamps_read_back_as_written,
);

/// 2026-12-02 10:00:00 plus `secs` seconds and `micros` microseconds.
fn at(secs: i64, micros: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 2)
        .and_then(|d| d.and_hms_micro_opt(10, 0, 0, micros))
        .unwrap()
        + chrono::Duration::seconds(secs)
}

/// A migrated database of its own, and `f` run on one connection of it.
async fn with_db<T: Send + 'static>(
    backend: Backend,
    f: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> T {
    let test_db = TestDb::new(backend);
    let db = Db::connect(&test_db.url, 1, Duration::from_secs(5)).unwrap();
    db.run(move |c| {
        db::run_migrations(c)?;
        Ok(f(c)?)
    })
    .await
    .unwrap()
}

fn new_user<'a>(id: &'a str, email: &'a str, now: NaiveDateTime) -> NewUser<'a> {
    NewUser {
        id,
        email,
        email_verified: false,
        name: "Ada",
        image: None,
        is_admin: false,
        created_at: now,
        updated_at: now,
    }
}

fn client(id: &str, now: NaiveDateTime) -> OAuthClient {
    OAuthClient {
        id: id.into(),
        name: format!("App {id}"),
        secret_hash: Some("hash".into()),
        redirect_uris: r#"["https://app.example/cb"]"#.into(),
        post_logout_redirect_uris: "[]".into(),
        grant_types: r#"["authorization_code","refresh_token"]"#.into(),
        auth_method: "client_secret_basic".into(),
        skip_consent: false,
        always_issue_refresh: false,
        backchannel_logout_uri: None,
        id_token_alg: "RS256".into(),
        managed_by: "cli".into(),
        created_at: now,
        updated_at: now,
        access_token_alg: None,
    }
}

fn grant(id: &str, user: &str, client: &str, session: Option<&str>, now: NaiveDateTime) -> Grant {
    Grant {
        id: id.into(),
        user_id: user.into(),
        client_id: client.into(),
        session_id: session.map(Into::into),
        scope: "openid email".into(),
        auth_time: now,
        amr: r#"["pwd"]"#.into(),
        created_at: now,
        revoked_at: None,
    }
}

fn session<'a>(
    id: &'a str,
    token_hash: &'a str,
    user: &'a str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> NewSession<'a> {
    NewSession {
        id,
        token_hash,
        user_id: user,
        created_at: now,
        expires_at,
        last_seen_at: now,
        auth_time: now,
        auth_method: "password",
        ip_address: Some("192.0.2.1"),
        user_agent: None,
    }
}

fn verification(id: &str, hash: &str, expires_at: NaiveDateTime) -> Verification {
    Verification {
        id: id.into(),
        identifier: "ada@example.com".into(),
        purpose: "verify_email".into(),
        value_hash: hash.into(),
        expires_at,
        created_at: at(0, 0),
        attempts: 0,
    }
}

fn code(hash: &str, grant: &str, expires_at: NaiveDateTime) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.into(),
        grant_id: grant.into(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: Some("challenge".into()),
        nonce: None,
        created_at: at(0, 0),
        expires_at,
        used_at: None,
    }
}

fn refresh(id: &str, hash: &str, grant: &str, expires_at: NaiveDateTime) -> RefreshToken {
    RefreshToken {
        id: id.into(),
        token_hash: hash.into(),
        grant_id: grant.into(),
        created_at: at(0, 0),
        expires_at,
        used_at: None,
    }
}

fn mail(id: &str, next_attempt_at: NaiveDateTime) -> OutboxMessage {
    OutboxMessage {
        id: id.into(),
        recipient: "ada@example.com".into(),
        subject: "Hello".into(),
        body_text: "text".into(),
        body_html: "<p>html</p>".into(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at,
        locked_until: None,
        last_error: None,
        created_at: at(0, 0),
        sent_at: None,
    }
}

async fn users_and_what_hangs_off_them_round_trip(backend: Backend) {
    with_db(backend, |c| {
        let t = at(0, 0);
        User::insert(c, &new_user("u1", "ada@example.com", t))?;
        User::insert(c, &new_user("u2", "bob@example.com", at(1, 0)))?;
        let ada = User::find(c, "u1")?.unwrap();
        assert_eq!(
            (ada.email.as_str(), ada.email_verified),
            ("ada@example.com", false)
        );
        assert_eq!(User::find_by_email(c, "bob@example.com")?.unwrap().id, "u2");
        assert!(User::find_by_email(c, "nobody@example.com")?.is_none());
        let ids: Vec<_> = User::list(c)?.into_iter().map(|u| u.id).collect();
        assert_eq!(ids, ["u1", "u2"], "oldest first");

        assert_eq!(
            User::update_name_and_image(c, "u1", "Ada King", Some("https://img"), at(5, 0))?,
            1
        );
        assert_eq!(
            User::set_email(c, "u1", "ada@king.example", true, at(6, 0))?,
            1
        );
        let ada = User::find(c, "u1")?.unwrap();
        assert_eq!(ada.name, "Ada King");
        assert_eq!(ada.image.as_deref(), Some("https://img"));
        assert_eq!(
            (ada.email.as_str(), ada.email_verified),
            ("ada@king.example", true)
        );
        assert_eq!(ada.updated_at, at(6, 0));

        let account =
            |id: &'static str, provider: &'static str, subject: &'static str| NewAccount {
                id,
                user_id: "u1",
                provider_id: provider,
                account_id: subject,
                password_hash: (provider == "credential").then_some("old-hash"),
                created_at: t,
                updated_at: t,
            };
        Account::insert(c, &account("a1", "credential", "u1"))?;
        Account::insert(c, &account("a2", "google", "g-123"))?;
        assert_eq!(Account::for_user(c, "u1")?.len(), 2);
        assert_eq!(Account::credential_for_user(c, "u1")?.unwrap().id, "a1");
        assert!(Account::credential_for_user(c, "u2")?.is_none());
        assert_eq!(
            Account::find_by_provider(c, "google", "g-123")?.unwrap().id,
            "a2"
        );
        assert_eq!(
            Account::set_password_hash(c, "a1", "new-hash", at(7, 0))?,
            1
        );
        assert_eq!(
            Account::credential_for_user(c, "u1")?
                .unwrap()
                .password_hash
                .as_deref(),
            Some("new-hash")
        );
        Account::store_upstream(
            c,
            "a2",
            Some("ada@gmail.example"),
            Some("at"),
            None,
            Some("it"),
            Some(at(3600, 0)),
            at(8, 0),
        )?;
        let google = Account::find_by_provider(c, "google", "g-123")?.unwrap();
        assert_eq!(google.email.as_deref(), Some("ada@gmail.example"));
        assert_eq!(
            (
                google.access_token.as_deref(),
                google.refresh_token.as_deref()
            ),
            (Some("at"), None)
        );
        assert_eq!(google.token_expires_at, Some(at(3600, 0)));
        assert_eq!(
            Account::delete_for_user(c, "u2", "a2")?,
            0,
            "not bob's account"
        );
        assert_eq!(Account::delete_for_user(c, "u1", "a2")?, 1);

        Profile::insert(c, &Profile::empty("u1", t))?;
        let mut profile = Profile::find(c, "u1")?.unwrap();
        assert_eq!(profile.bio, None);
        profile.bio = Some("Analyst".into());
        profile.timezone = Some("Europe/London".into());
        assert_eq!(Profile::update(c, &profile)?, 1);
        let profile = Profile::find(c, "u1")?.unwrap();
        assert_eq!(
            (profile.bio.as_deref(), profile.timezone.as_deref()),
            (Some("Analyst"), Some("Europe/London"))
        );

        UserSettings::insert(c, &UserSettings::defaults("u1", t))?;
        let mut settings = UserSettings::find(c, "u1")?.unwrap();
        assert_eq!(
            (settings.theme.as_str(), settings.notifications),
            ("system", true)
        );
        settings.theme = "dark".into();
        settings.notifications = false;
        assert_eq!(UserSettings::update(c, &settings)?, 1);
        let settings = UserSettings::find(c, "u1")?.unwrap();
        assert_eq!(
            (settings.theme.as_str(), settings.notifications),
            ("dark", false)
        );
        assert_eq!(
            UserSettings::update(c, &UserSettings::defaults("u2", t))?,
            0,
            "no row yet"
        );

        Session::insert(c, &session("s1", "h1", "u1", t, at(3600, 0)))?;
        Session::insert(c, &session("s2", "h2", "u1", at(1, 0), at(3600, 0)))?;
        Session::insert(c, &session("s3", "h3", "u2", t, at(3600, 0)))?;
        assert_eq!(Session::find_by_token_hash(c, "h2")?.unwrap().id, "s2");
        assert_eq!(Session::touch(c, "s1", at(10, 0))?, 1);
        let ids: Vec<_> = Session::for_user(c, "u1")?
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["s1", "s2"], "most recently seen first");
        assert_eq!(Session::ids_for_user(c, "u2")?, ["s3"]);
        assert_eq!(
            Session::delete_for_user(c, "u2", "s1")?,
            0,
            "not bob's session"
        );
        assert_eq!(Session::delete_others(c, "u1", "s1")?, 1);
        assert_eq!(Session::delete(c, "s1")?, 1);
        assert_eq!(Session::delete_all_for_user(c, "u2")?, 1);

        KnownDevice::insert(
            c,
            &KnownDevice {
                user_id: "u1".into(),
                device_hash: "d1".into(),
                first_seen_at: t,
                last_seen_at: t,
            },
        )?;
        assert!(KnownDevice::any_for_user(c, "u1")?);
        assert!(!KnownDevice::any_for_user(c, "u2")?);
        assert_eq!(KnownDevice::touch(c, "u1", "d1", at(9, 0))?, 1);
        assert_eq!(
            KnownDevice::touch(c, "u2", "d1", at(9, 0))?,
            0,
            "devices are per user"
        );

        // The user goes, and everything of theirs with them (ON DELETE CASCADE on both backends).
        Session::insert(c, &session("s4", "h4", "u1", t, at(3600, 0)))?;
        assert_eq!(User::delete(c, "u1")?, 1);
        assert!(User::find(c, "u1")?.is_none());
        assert!(Account::for_user(c, "u1")?.is_empty());
        assert!(Profile::find(c, "u1")?.is_none());
        assert!(UserSettings::find(c, "u1")?.is_none());
        assert!(Session::for_user(c, "u1")?.is_empty());
        assert!(!KnownDevice::any_for_user(c, "u1")?);
        assert_eq!(User::delete(c, "u1")?, 0);
        Ok(())
    })
    .await;
}

async fn clients_grants_consent_codes_and_refresh_tokens_round_trip(backend: Backend) {
    with_db(backend, |c| {
        let t = at(0, 0);
        User::insert(c, &new_user("u1", "ada@example.com", t))?;
        OAuthClient::insert(c, &client("app", t))?;
        let mut other = client("other", at(1, 0));
        other.managed_by = "config".into();
        other.backchannel_logout_uri = Some("https://other.example/bc".into());
        OAuthClient::insert(c, &other)?;
        assert_eq!(
            OAuthClient::find(c, "app")?.unwrap().grant_types,
            r#"["authorization_code","refresh_token"]"#
        );
        let ids: Vec<_> = OAuthClient::list(c)?.into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["app", "other"]);
        let managed: Vec<_> = OAuthClient::list_managed_by(c, "config")?
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(managed, ["other"]);
        let mut app = OAuthClient::find(c, "app")?.unwrap();
        app.secret_hash = None;
        app.access_token_alg = Some("ES256".into());
        assert_eq!(OAuthClient::update(c, &app)?, 1);
        let app = OAuthClient::find(c, "app")?.unwrap();
        assert_eq!(app.secret_hash, None, "None writes NULL");
        assert_eq!(app.access_token_alg.as_deref(), Some("ES256"));
        assert_eq!(OAuthClient::set_secret_hash(c, "app", "new", at(2, 0))?, 1);
        assert_eq!(
            OAuthClient::find(c, "app")?.unwrap().secret_hash.as_deref(),
            Some("new")
        );

        Session::insert(c, &session("s1", "h1", "u1", t, at(3600, 0)))?;
        Grant::insert(c, &grant("g1", "u1", "app", Some("s1"), t))?;
        Grant::insert(c, &grant("g2", "u1", "other", Some("s1"), at(1, 0)))?;
        assert_eq!(Grant::find(c, "g1")?.unwrap().scope, "openid email");
        assert!(Grant::is_active(c, "g1")?);
        assert!(!Grant::is_active(c, "missing")?);
        assert_eq!(
            Grant::clients_for_session(c, "s1")?,
            [(
                "other".to_string(),
                "u1".to_string(),
                "https://other.example/bc".to_string()
            )],
            "only clients with a back-channel URI"
        );
        let active: Vec<_> = Grant::active_for_user(c, "u1")?
            .into_iter()
            .map(|(g, name)| (g.id, name))
            .collect();
        assert_eq!(
            active,
            [
                ("g2".to_string(), "App other".to_string()),
                ("g1".to_string(), "App app".to_string())
            ],
            "newest first"
        );
        assert_eq!(Grant::revoke(c, "g1", at(5, 0))?, 1);
        assert_eq!(Grant::revoke(c, "g1", at(6, 0))?, 0, "revoked once");
        assert!(!Grant::is_active(c, "g1")?);
        assert_eq!(Grant::find(c, "g1")?.unwrap().revoked_at, Some(at(5, 0)));
        assert_eq!(
            Grant::revoke_for_user_client(c, "u1", "other", at(7, 0))?,
            1
        );
        assert!(Grant::active_for_user(c, "u1")?.is_empty());

        Consent::save(c, "u1", "app", "openid", t)?;
        Consent::save(c, "u1", "app", "openid email", at(3, 0))?;
        let consent = Consent::find(c, "u1", "app")?.unwrap();
        assert_eq!(
            consent.scope, "openid email",
            "the second save replaces the first"
        );
        assert_eq!((consent.created_at, consent.updated_at), (t, at(3, 0)));
        assert_eq!(Consent::for_user(c, "u1")?.len(), 1);
        assert_eq!(Consent::delete(c, "u1", "app")?, 1);
        assert!(Consent::find(c, "u1", "app")?.is_none());

        Grant::insert(c, &grant("g3", "u1", "app", None, t))?;
        AuthorizationCode::insert(c, &code("c1", "g3", at(60, 0)))?;
        assert_eq!(
            AuthorizationCode::find(c, "c1")?
                .unwrap()
                .code_challenge
                .as_deref(),
            Some("challenge")
        );
        assert_eq!(AuthorizationCode::mark_used(c, "c1", at(1, 500_000))?, 1);
        assert_eq!(
            AuthorizationCode::mark_used(c, "c1", at(2, 0))?,
            0,
            "a code is redeemed once"
        );
        assert_eq!(
            AuthorizationCode::find(c, "c1")?.unwrap().used_at,
            Some(at(1, 500_000))
        );

        RefreshToken::insert(c, &refresh("r1", "rh1", "g3", at(86400, 0)))?;
        assert_eq!(RefreshToken::find_by_hash(c, "rh1")?.unwrap().id, "r1");
        assert_eq!(RefreshToken::mark_used_by_hash(c, "rh1", at(10, 0))?, 1);
        assert_eq!(
            RefreshToken::mark_used_by_hash(c, "rh1", at(11, 0))?,
            0,
            "rotated once"
        );

        // Deleting the client takes its grants, and their codes and tokens, with it.
        assert_eq!(OAuthClient::delete(c, "app")?, 1);
        assert!(Grant::find(c, "g3")?.is_none());
        assert!(AuthorizationCode::find(c, "c1")?.is_none());
        assert!(RefreshToken::find_by_hash(c, "rh1")?.is_none());
        Ok(())
    })
    .await;
}

async fn providers_signing_keys_and_audit_events_round_trip(backend: Backend) {
    with_db(backend, |c| {
        let t = at(0, 0);
        let provider = |slug: &str, created_at| IdentityProviderRow {
            slug: slug.into(),
            kind: "oidc".into(),
            display_name: format!("Provider {slug}"),
            client_id: "client".into(),
            client_secret: "sealed".into(),
            issuer: Some("https://op.example".into()),
            authorize_url: None,
            token_url: None,
            userinfo_url: None,
            scopes: r#"["openid"]"#.into(),
            claim_mapping: "{}".into(),
            enabled: true,
            link_policy: "verified_email".into(),
            allowed_domains: "[]".into(),
            hosted_domain: None,
            github_orgs: "[]".into(),
            keep_tokens: false,
            managed_by: "cli".into(),
            created_at,
            updated_at: created_at,
        };
        IdentityProviderRow::insert(c, &provider("b", t))?;
        IdentityProviderRow::insert(c, &provider("a", at(1, 0)))?;
        let slugs: Vec<_> = IdentityProviderRow::list(c)?
            .into_iter()
            .map(|p| p.slug)
            .collect();
        assert_eq!(slugs, ["b", "a"], "in the order they were added");
        let mut a = IdentityProviderRow::find(c, "a")?.unwrap();
        a.issuer = None;
        a.hosted_domain = Some("example.com".into());
        assert_eq!(IdentityProviderRow::update(c, &a)?, 1);
        let a = IdentityProviderRow::find(c, "a")?.unwrap();
        assert_eq!(
            (a.issuer, a.hosted_domain.as_deref()),
            (None, Some("example.com"))
        );
        assert_eq!(
            IdentityProviderRow::set_enabled(c, "a", false, at(2, 0))?,
            1
        );
        assert!(!IdentityProviderRow::find(c, "a")?.unwrap().enabled);
        assert_eq!(IdentityProviderRow::delete(c, "a")?, 1);
        assert!(IdentityProviderRow::find(c, "a")?.is_none());

        let key = |id: &str, alg: &str, not_before| SigningKeyRow {
            id: id.into(),
            alg: alg.into(),
            private_key: "sealed".into(),
            public_jwk: "{}".into(),
            not_before,
            created_at: t,
        };
        SigningKeyRow::insert(c, &key("rs-old", "RS256", t))?;
        SigningKeyRow::insert(c, &key("rs-new", "RS256", at(10, 0)))?;
        SigningKeyRow::insert(c, &key("es", "ES256", t))?;
        let ids: Vec<_> = SigningKeyRow::all(c)?.into_iter().map(|k| k.id).collect();
        assert_eq!(
            ids,
            ["es", "rs-new", "rs-old"],
            "by algorithm, newest first within one"
        );
        assert_eq!(SigningKeyRow::delete(c, "rs-old")?, 1);
        assert_eq!(SigningKeyRow::all(c)?.len(), 2);

        User::insert(c, &new_user("u1", "ada@example.com", t))?;
        for (id, kind) in [
            ("e1", "sign_in"),
            ("e2", "sign_in"),
            ("e3", "password_changed"),
        ] {
            NewAuditEvent {
                id,
                user_id: Some("u1"),
                kind,
                ip_address: None,
                detail: None,
                created_at: t,
            }
            .insert(c)?;
        }
        assert_eq!(audit::count_for_user(c, "u1", "sign_in")?, 2);
        assert_eq!(audit::count_for_user(c, "u1", "password_changed")?, 1);
        // The trail outlives the user (ON DELETE SET NULL).
        User::delete(c, "u1")?;
        let kept: i64 = portcullis::db::schema::audit_event::table
            .count()
            .get_result(c)?;
        assert_eq!(kept, 3);
        Ok(())
    })
    .await;
}

/// The UNIQUE constraints decide races; the code relies on `is_unique_violation` recognising
/// the refusal on both backends.
async fn the_database_refuses_duplicates(backend: Backend) {
    with_db(backend, |c| {
        let t = at(0, 0);
        let refused = |r: QueryResult<usize>, what: &str| match r {
            Err(e) => assert!(is_unique_violation(&e), "{what}: {e:?}"),
            Ok(n) => panic!("{what}: accepted ({n} rows)"),
        };
        User::insert(c, &new_user("u1", "ada@example.com", t))?;
        refused(
            User::insert(c, &new_user("u2", "ada@example.com", t)),
            "same email",
        );
        refused(
            User::insert(c, &new_user("u1", "other@example.com", t)),
            "same user id",
        );
        let account = |id| NewAccount {
            id,
            user_id: "u1",
            provider_id: "google",
            account_id: "g-1",
            password_hash: None,
            created_at: t,
            updated_at: t,
        };
        Account::insert(c, &account("a1"))?;
        refused(Account::insert(c, &account("a2")), "same provider subject");
        Session::insert(c, &session("s1", "h1", "u1", t, at(60, 0)))?;
        refused(
            Session::insert(c, &session("s2", "h1", "u1", t, at(60, 0))),
            "same session token",
        );
        Verification::insert(c, &verification("v1", "vh", at(60, 0)))?;
        refused(
            Verification::insert(c, &verification("v2", "vh", at(60, 0))),
            "same verification value",
        );
        OAuthClient::insert(c, &client("app", t))?;
        refused(OAuthClient::insert(c, &client("app", t)), "same client id");
        Grant::insert(c, &grant("g1", "u1", "app", None, t))?;
        RefreshToken::insert(c, &refresh("r1", "rh", "g1", at(60, 0)))?;
        refused(
            RefreshToken::insert(c, &refresh("r2", "rh", "g1", at(60, 0))),
            "same refresh token",
        );
        AuthorizationCode::insert(c, &code("c1", "g1", at(60, 0)))?;
        refused(
            AuthorizationCode::insert(c, &code("c1", "g1", at(60, 0))),
            "same code",
        );
        let device = KnownDevice {
            user_id: "u1".into(),
            device_hash: "d".into(),
            first_seen_at: t,
            last_seen_at: t,
        };
        KnownDevice::insert(c, &device)?;
        refused(KnownDevice::insert(c, &device), "same device");
        OutboxMessage::insert(c, &mail("m1", t))?;
        refused(OutboxMessage::insert(c, &mail("m1", t)), "same message id");
        // Revoking twice is not an error: the model looks first.
        revoked_token::revoke(c, "jti-1", at(60, 0))?;
        revoked_token::revoke(c, "jti-1", at(60, 0))?;
        assert!(revoked_token::is_revoked(c, "jti-1")?);
        assert!(!revoked_token::is_revoked(c, "jti-2")?);
        // A failed insert inside a write transaction does not poison it on PostgreSQL when it
        // ran in a savepoint (nested write_transaction), the way sign-in records a device.
        db::write_transaction::<_, diesel::result::Error, _>(c, |c| {
            let dup = db::write_transaction(c, |c| KnownDevice::insert(c, &device));
            assert!(dup.as_ref().is_err_and(is_unique_violation), "{dup:?}");
            User::insert(c, &new_user("u3", "carol@example.com", t))
        })?;
        assert!(User::find(c, "u3")?.is_some());
        Ok(())
    })
    .await;
}

/// Each sweep removes what expired at or before its cut-off and keeps what expires after it,
/// to the microsecond: a boundary half a second either side of a row's expiry.
async fn expiry_sweeps_remove_exactly_the_expired_rows(backend: Backend) {
    with_db(backend, |c| {
        let t = at(0, 0);
        User::insert(c, &new_user("u1", "ada@example.com", t))?;
        OAuthClient::insert(c, &client("app", t))?;
        Grant::insert(c, &grant("g1", "u1", "app", None, t))?;

        AuthorizationCode::insert(c, &code("early", "g1", at(60, 250_000)))?;
        AuthorizationCode::insert(c, &code("late", "g1", at(60, 750_000)))?;
        assert_eq!(AuthorizationCode::delete_expired(c, at(60, 0))?, 0);
        assert_eq!(AuthorizationCode::delete_expired(c, at(60, 500_000))?, 1);
        assert!(AuthorizationCode::find(c, "early")?.is_none());
        assert!(AuthorizationCode::find(c, "late")?.is_some());
        assert_eq!(
            AuthorizationCode::delete_expired(c, at(60, 750_000))?,
            1,
            "expired at the instant"
        );

        RefreshToken::insert(c, &refresh("r1", "h1", "g1", at(3600, 100)))?;
        RefreshToken::insert(c, &refresh("r2", "h2", "g1", at(7200, 0)))?;
        assert_eq!(RefreshToken::delete_expired(c, at(3600, 99))?, 0);
        assert_eq!(RefreshToken::delete_expired(c, at(3600, 100))?, 1);
        assert!(RefreshToken::find_by_hash(c, "h2")?.is_some());

        revoked_token::revoke(c, "j1", at(30, 0))?;
        revoked_token::revoke(c, "j2", at(90, 0))?;
        assert_eq!(revoked_token::delete_expired(c, at(30, 0))?, 1);
        assert!(!revoked_token::is_revoked(c, "j1")?);
        assert!(revoked_token::is_revoked(c, "j2")?);

        // Verifications: an expired one can no longer be consumed, and the sweep removes it.
        Verification::insert(c, &verification("v1", "vh1", at(600, 500_000)))?;
        Verification::insert(c, &verification("v2", "vh2", at(600, 500_000)))?;
        Verification::insert(c, &verification("v3", "vh3", at(900, 0)))?;
        assert_eq!(
            Verification::consume(c, "vh1", "verify_email", at(600, 400_000))?,
            1
        );
        assert_eq!(
            Verification::consume(c, "vh1", "verify_email", at(600, 400_000))?,
            0,
            "used up"
        );
        assert_eq!(
            Verification::consume(c, "vh2", "reset_password", at(1, 0))?,
            0,
            "another purpose"
        );
        assert_eq!(
            Verification::consume(c, "vh2", "verify_email", at(600, 500_000))?,
            0,
            "expired"
        );
        assert_eq!(Verification::delete_expired(c, at(600, 500_000))?, 1);
        assert_eq!(
            Verification::consume(c, "vh3", "verify_email", at(899, 999_999))?,
            1
        );

        // Sessions go at their absolute expiry, or when idle since before the cut-off.
        Session::insert(c, &session("absolute", "h1", "u1", t, at(3600, 0)))?;
        Session::insert(c, &session("idle", "h2", "u1", t, at(86400, 0)))?;
        Session::insert(c, &session("live", "h3", "u1", t, at(86400, 0)))?;
        Session::touch(c, "absolute", at(3000, 0))?;
        Session::touch(c, "idle", at(100, 0))?;
        Session::touch(c, "live", at(1900, 500_000))?;
        // At 3600 with a 30-minute idle limit: cut-off 1800.
        assert_eq!(
            Session::delete_expired(c, at(3599, 0), at(1799, 0))?,
            1,
            "only the idle one"
        );
        assert_eq!(Session::ids_for_user(c, "u1")?.len(), 2);
        assert_eq!(
            Session::delete_expired(c, at(3600, 0), at(1800, 0))?,
            1,
            "the absolute one"
        );
        assert_eq!(Session::ids_for_user(c, "u1")?, ["live"]);
        assert_eq!(
            Session::delete_expired(c, at(3700, 0), at(1900, 500_000))?,
            1,
            "idle at the instant"
        );

        KnownDevice::insert(
            c,
            &KnownDevice {
                user_id: "u1".into(),
                device_hash: "old".into(),
                first_seen_at: t,
                last_seen_at: at(10, 0),
            },
        )?;
        KnownDevice::insert(
            c,
            &KnownDevice {
                user_id: "u1".into(),
                device_hash: "new".into(),
                first_seen_at: t,
                last_seen_at: at(10, 1),
            },
        )?;
        assert_eq!(
            KnownDevice::delete_unseen_since(c, at(10, 0))?,
            0,
            "seen at the cut-off stays"
        );
        assert_eq!(KnownDevice::delete_unseen_since(c, at(10, 1))?, 1);
        assert!(KnownDevice::any_for_user(c, "u1")?);
        Ok(())
    })
    .await;
}

/// Several replicas share the outbox: a claim holds a message until it lapses, only pending
/// messages that are due come out, and sent mail is swept after a while.
async fn mail_outbox_claims_expire_and_sent_mail_is_swept(backend: Backend) {
    with_db(backend, |c| {
        OutboxMessage::insert(c, &mail("m1", at(0, 0)))?;
        OutboxMessage::insert(c, &mail("m2", at(0, 500_000)))?;
        OutboxMessage::insert(c, &mail("later", at(60, 0)))?;
        let due = |c: &mut DbConnection, now| -> QueryResult<Vec<String>> {
            Ok(OutboxMessage::due(c, now, 10)?
                .into_iter()
                .map(|m| m.id)
                .collect())
        };
        assert_eq!(due(c, at(0, 250_000))?, ["m1"]);
        assert_eq!(due(c, at(1, 0))?, ["m1", "m2"], "oldest due first");
        assert_eq!(
            OutboxMessage::due(c, at(1, 0), 1)?.len(),
            1,
            "the limit holds"
        );

        assert_eq!(OutboxMessage::claim(c, "m1", at(1, 0), at(31, 0))?, 1);
        assert_eq!(
            OutboxMessage::claim(c, "m1", at(2, 0), at(32, 0))?,
            0,
            "claimed by the first worker"
        );
        assert_eq!(
            due(c, at(30, 999_999))?,
            ["m2"],
            "a claimed message is not due"
        );
        assert_eq!(due(c, at(31, 1))?, ["m1", "m2"], "a lapsed claim frees it");
        assert_eq!(
            OutboxMessage::claim(c, "m1", at(31, 1), at(61, 0))?,
            1,
            "and another worker takes it"
        );

        assert_eq!(
            OutboxMessage::mark_failed_attempt(c, "m2", 1, false, at(120, 0), "451 try later")?,
            1
        );
        assert_eq!(
            due(c, at(60, 0))?,
            ["later"],
            "m1 claimed, m2 waits for its retry"
        );
        assert_eq!(
            OutboxMessage::mark_failed_attempt(c, "later", 5, true, at(60, 0), "550 no such user")?,
            1
        );
        assert_eq!(OutboxMessage::mark_sent(c, "m1", 2, at(40, 0))?, 1);
        assert_eq!(
            OutboxMessage::claim(c, "m1", at(100, 0), at(130, 0))?,
            0,
            "sent mail is not claimed"
        );
        assert_eq!(
            due(c, at(200, 0))?,
            ["m2"],
            "neither sent nor failed mail is due"
        );

        let unsent: Vec<_> = OutboxMessage::unsent(c)?
            .into_iter()
            .map(|m| (m.id, m.status, m.attempts, m.last_error))
            .collect();
        assert_eq!(
            unsent,
            [
                (
                    "m2".into(),
                    "pending".into(),
                    1,
                    Some("451 try later".into())
                ),
                (
                    "later".into(),
                    "failed".into(),
                    5,
                    Some("550 no such user".into())
                ),
            ]
        );
        assert_eq!(
            OutboxMessage::delete_sent_before(c, at(40, 0))?,
            0,
            "sent at the cut-off stays"
        );
        assert_eq!(OutboxMessage::delete_sent_before(c, at(40, 1))?, 1);
        assert_eq!(
            OutboxMessage::unsent(c)?.len(),
            2,
            "unsent mail is never swept"
        );
        Ok(())
    })
    .await;
}

async fn rate_limit_windows_count_and_reset(backend: Backend) {
    use portcullis::identity::rate_limit::hit;
    with_db(backend, |c| {
        let window = chrono::Duration::seconds(60);
        assert!(hit(c, "k", 2, window, at(0, 500_000))?);
        assert!(hit(c, "k", 2, window, at(30, 0))?);
        assert!(
            !hit(c, "k", 2, window, at(60, 499_999))?,
            "the third hit in the window is refused"
        );
        assert!(hit(c, "other", 2, window, at(30, 0))?, "keys count apart");
        assert!(
            hit(c, "k", 2, window, at(60, 500_000))?,
            "a new window starts at its end"
        );
        assert!(hit(c, "k", 2, window, at(61, 0))?);
        assert!(!hit(c, "k", 2, window, at(62, 0))?);
        Ok(())
    })
    .await;
}

/// Timestamps are `NaiveDateTime` (UTC). Microseconds read back exactly on both backends.
/// Nanoseconds do not survive PostgreSQL (its `timestamp` has microsecond resolution; diesel
/// truncates), while SQLite stores the text with all nine digits; nothing in Portcullis writes
/// finer than microseconds (`identity::now()` truncates), so the backends agree on what it
/// writes.
async fn timestamps_read_back_as_written(backend: Backend) {
    let micros = at(123, 456_789);
    let nanos = micros + chrono::Duration::nanoseconds(321);
    let (read_micros, read_nanos, now_written, now_read) = with_db(backend, move |c| {
        User::insert(c, &new_user("u1", "ada@example.com", micros))?;
        User::insert(c, &new_user("u2", "bob@example.com", nanos))?;
        let now = portcullis::identity::now();
        User::insert(c, &new_user("u3", "carol@example.com", now))?;
        let read = |c: &mut DbConnection, id| User::find(c, id).map(|u| u.unwrap().created_at);
        Ok((read(c, "u1")?, read(c, "u2")?, now, read(c, "u3")?))
    })
    .await;
    assert_eq!(read_micros, micros);
    match backend {
        Backend::Sqlite => assert_eq!(read_nanos, nanos),
        Backend::Postgres => assert_eq!(read_nanos, micros, "truncated to the microsecond"),
    }
    assert_eq!(
        now_read, now_written,
        "what the server writes reads back equal"
    );
    // And a midnight, a whole second and a leap day keep their shape.
    let shapes = [
        NaiveDate::from_ymd_opt(2028, 2, 29)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        at(1, 0),
        at(1, 100_000),
    ];
    let read = with_db(backend, move |c| {
        for (i, t) in shapes.iter().enumerate() {
            User::insert(
                c,
                &new_user(&format!("u{i}"), &format!("u{i}@example.com"), *t),
            )?;
        }
        let mut all: Vec<_> = User::list(c)?.into_iter().map(|u| u.created_at).collect();
        all.sort();
        Ok(all)
    })
    .await;
    let mut expected = shapes.to_vec();
    expected.sort();
    assert_eq!(read, expected);
}
