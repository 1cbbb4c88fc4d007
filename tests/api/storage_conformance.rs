//! Storage conformance (Dex's idea): every model's queries, run directly against each backend.
//! The same calls must mean the same thing on SQLite and on PostgreSQL: what a read returns,
//! what the database refuses as a duplicate, which rows an expiry sweep removes at a boundary,
//! and what a timestamp reads back as. Times are explicit (no clock, no sleeps), several with
//! sub-second parts, because SQLite stores timestamps as text and compares them as text.
//!
//! This file holds the shared fixtures and the round trips of the core tables;
//! `storage_conformance_rules.rs` the uniqueness and timestamp rules and the remaining tables;
//! `storage_conformance_expiry.rs` the expiry sweeps, the mail outbox claims and rate limits.

use portcullis::identity::ids::{
    AccountId, ClientId, GrantId, MailId, RefreshTokenId, SessionId, UserId, VerificationId,
};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use portcullis::db::models::{
    Account, AuthorizationCode, Consent, Grant, KnownDevice, NewAccount, NewSession, NewUser,
    OAuthClient, OutboxMessage, Profile, RefreshToken, Session, User, UserSettings, Verification,
};
use portcullis::db::{self, Db, DbConnection};

use crate::helpers::*;

backend_tests!(
    users_and_what_hangs_off_them_round_trip,
    clients_grants_consent_codes_and_refresh_tokens_round_trip,
);

/// 2026-12-02 10:00:00 plus `secs` seconds and `micros` microseconds.
pub fn at(secs: i64, micros: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 2)
        .and_then(|d| d.and_hms_micro_opt(10, 0, 0, micros))
        .unwrap()
        + chrono::Duration::seconds(secs)
}

/// A migrated database of its own, and `f` run on one connection of it.
pub async fn with_db<T: Send + 'static>(
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

/// IDs as the conformance tests spell them (short, not generated): the storage layer takes any.
pub fn uid(id: &str) -> UserId {
    UserId::from_db(id.into())
}

pub fn aid(id: &str) -> AccountId {
    AccountId::from_db(id.into())
}

pub fn sid(id: &str) -> SessionId {
    SessionId::from_db(id.into())
}

pub fn cid(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

pub fn new_user<'a>(id: &str, email: &'a str, now: NaiveDateTime) -> NewUser<'a> {
    NewUser {
        id: uid(id),
        email,
        email_verified: false,
        name: "Ada",
        image: None,
        is_admin: false,
        created_at: now,
        updated_at: now,
    }
}

pub fn client(id: &str, now: NaiveDateTime) -> OAuthClient {
    OAuthClient {
        id: cid(id),
        name: format!("App {id}"),
        secret_hash: Some("hash".into()),
        redirect_uris: vec!["https://app.example/cb".to_string()].into(),
        post_logout_redirect_uris: Vec::new().into(),
        grant_types: vec![
            "authorization_code".to_string(),
            "refresh_token".to_string(),
        ]
        .into(),
        auth_method: "client_secret_basic".into(),
        skip_consent: false,
        always_issue_refresh: false,
        backchannel_logout_uri: None,
        id_token_alg: "RS256".into(),
        managed_by: "cli".into(),
        created_at: now,
        updated_at: now,
        access_token_alg: None,
        require_mfa: false,
        admin_api: false,
        claim_rules: Vec::new().into(),
    }
}

pub fn grant(
    id: &str,
    user: &str,
    client: &str,
    session: Option<&str>,
    now: NaiveDateTime,
) -> Grant {
    Grant {
        id: GrantId::from_db(id.into()),
        user_id: uid(user),
        client_id: cid(client),
        session_id: session.map(sid),
        scope: "openid email".into(),
        auth_time: now,
        amr: r#"["pwd"]"#.into(),
        created_at: now,
        revoked_at: None,
    }
}

pub fn session<'a>(
    id: &str,
    token_hash: &'a str,
    user: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> NewSession<'a> {
    NewSession {
        id: sid(id),
        token_hash,
        user_id: uid(user),
        created_at: now,
        expires_at,
        last_seen_at: now,
        auth_time: now,
        auth_method: "password",
        ip_address: Some("192.0.2.1"),
        user_agent: None,
        first_factor_at: now,
        second_factor_at: None,
    }
}

pub fn verification(id: &str, hash: &str, expires_at: NaiveDateTime) -> Verification {
    Verification {
        id: VerificationId::from_db(id.into()),
        identifier: "ada@example.com".into(),
        purpose: "verify_email".into(),
        value_hash: hash.into(),
        expires_at,
        created_at: at(0, 0),
        attempts: 0,
    }
}

pub fn code(hash: &str, grant: &str, expires_at: NaiveDateTime) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.into(),
        grant_id: GrantId::from_db(grant.into()),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: Some("challenge".into()),
        nonce: None,
        created_at: at(0, 0),
        expires_at,
        used_at: None,
    }
}

pub fn refresh(id: &str, hash: &str, grant: &str, expires_at: NaiveDateTime) -> RefreshToken {
    RefreshToken {
        id: RefreshTokenId::from_db(id.into()),
        token_hash: hash.into(),
        grant_id: GrantId::from_db(grant.into()),
        created_at: at(0, 0),
        expires_at,
        used_at: None,
    }
}

pub fn mail(id: &str, next_attempt_at: NaiveDateTime) -> OutboxMessage {
    OutboxMessage {
        id: MailId::from_db(id.into()),
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
        let ada = User::find(c, &uid("u1"))?.unwrap();
        assert_eq!(
            (ada.email.as_str(), ada.email_verified),
            ("ada@example.com", false)
        );
        assert_eq!(User::find_by_email(c, "bob@example.com")?.unwrap().id, "u2");
        assert!(User::find_by_email(c, "nobody@example.com")?.is_none());
        let ids: Vec<_> = User::list(c)?.into_iter().map(|u| u.id).collect();
        assert_eq!(ids, ["u1", "u2"], "oldest first");

        assert_eq!(
            User::update_name_and_image(c, &uid("u1"), "Ada King", Some("https://img"), at(5, 0))?,
            1
        );
        assert_eq!(
            User::set_email(c, &uid("u1"), "ada@king.example", true, at(6, 0))?,
            1
        );
        let ada = User::find(c, &uid("u1"))?.unwrap();
        assert_eq!(ada.name, "Ada King");
        assert_eq!(ada.image.as_deref(), Some("https://img"));
        assert_eq!(
            (ada.email.as_str(), ada.email_verified),
            ("ada@king.example", true)
        );
        assert_eq!(ada.updated_at, at(6, 0));

        let account =
            |id: &'static str, provider: &'static str, subject: &'static str| NewAccount {
                id: aid(id),
                user_id: uid("u1"),
                provider_id: provider,
                account_id: subject,
                password_hash: (provider == "credential").then_some("old-hash"),
                created_at: t,
                updated_at: t,
            };
        Account::insert(c, &account("a1", "credential", "u1"))?;
        Account::insert(c, &account("a2", "google", "g-123"))?;
        assert_eq!(Account::for_user(c, &uid("u1"))?.len(), 2);
        assert_eq!(
            Account::credential_for_user(c, &uid("u1"))?.unwrap().id,
            "a1"
        );
        assert!(Account::credential_for_user(c, &uid("u2"))?.is_none());
        assert_eq!(
            Account::find_by_provider(c, "google", "g-123")?.unwrap().id,
            "a2"
        );
        assert_eq!(
            Account::set_password_hash(c, &aid("a1"), "new-hash", at(7, 0))?,
            1
        );
        assert_eq!(
            Account::credential_for_user(c, &uid("u1"))?
                .unwrap()
                .password_hash
                .as_deref(),
            Some("new-hash")
        );
        Account::store_upstream(
            c,
            &aid("a2"),
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
            Account::delete_for_user(c, &uid("u2"), &aid("a2"))?,
            0,
            "not bob's account"
        );
        assert_eq!(Account::delete_for_user(c, &uid("u1"), &aid("a2"))?, 1);

        Profile::insert(c, &Profile::empty(&uid("u1"), t))?;
        let mut profile = Profile::find(c, &uid("u1"))?.unwrap();
        assert_eq!(profile.bio, None);
        profile.bio = Some("Analyst".into());
        profile.timezone = Some("Europe/London".into());
        assert_eq!(Profile::update(c, &profile)?, 1);
        let profile = Profile::find(c, &uid("u1"))?.unwrap();
        assert_eq!(
            (profile.bio.as_deref(), profile.timezone.as_deref()),
            (Some("Analyst"), Some("Europe/London"))
        );

        UserSettings::insert(c, &UserSettings::defaults(&uid("u1"), t))?;
        let mut settings = UserSettings::find(c, &uid("u1"))?.unwrap();
        assert_eq!(
            (settings.theme.as_str(), settings.notifications),
            ("system", true)
        );
        settings.theme = "dark".into();
        settings.notifications = false;
        assert_eq!(UserSettings::update(c, &settings)?, 1);
        let settings = UserSettings::find(c, &uid("u1"))?.unwrap();
        assert_eq!(
            (settings.theme.as_str(), settings.notifications),
            ("dark", false)
        );
        assert_eq!(
            UserSettings::update(c, &UserSettings::defaults(&uid("u2"), t))?,
            0,
            "no row yet"
        );

        Session::insert(c, &session("s1", "h1", "u1", t, at(3600, 0)))?;
        Session::insert(c, &session("s2", "h2", "u1", at(1, 0), at(3600, 0)))?;
        Session::insert(c, &session("s3", "h3", "u2", t, at(3600, 0)))?;
        assert_eq!(
            Session::find_by_token_hash(c, "h2")?.unwrap().id.as_str(),
            "s2"
        );
        assert_eq!(
            Session::touch(c, &SessionId::from_db("s1".into()), at(10, 0))?,
            1
        );
        let ids: Vec<_> = Session::for_user(c, &uid("u1"))?
            .into_iter()
            .map(|s| s.id.to_string())
            .collect();
        assert_eq!(ids, ["s1", "s2"], "most recently seen first");
        assert_eq!(Session::ids_for_user(c, &uid("u2"))?, ["s3"]);
        assert_eq!(
            Session::delete_for_user(c, &uid("u2"), &sid("s1"))?,
            0,
            "not bob's session"
        );
        assert_eq!(Session::delete_others(c, &uid("u1"), &sid("s1"))?, 1);
        assert_eq!(Session::delete(c, &SessionId::from_db("s1".into()))?, 1);
        assert_eq!(Session::delete_all_for_user(c, &uid("u2"))?, 1);

        KnownDevice::insert(
            c,
            &KnownDevice {
                user_id: uid("u1"),
                device_hash: "d1".into(),
                first_seen_at: t,
                last_seen_at: t,
            },
        )?;
        assert!(KnownDevice::any_for_user(c, &uid("u1"))?);
        assert!(!KnownDevice::any_for_user(c, &uid("u2"))?);
        assert_eq!(KnownDevice::touch(c, &uid("u1"), "d1", at(9, 0))?, 1);
        assert_eq!(
            KnownDevice::touch(c, &uid("u2"), "d1", at(9, 0))?,
            0,
            "devices are per user"
        );

        // The user goes, and everything of theirs with them (ON DELETE CASCADE on both backends).
        Session::insert(c, &session("s4", "h4", "u1", t, at(3600, 0)))?;
        assert_eq!(User::delete(c, &uid("u1"))?, 1);
        assert!(User::find(c, &uid("u1"))?.is_none());
        assert!(Account::for_user(c, &uid("u1"))?.is_empty());
        assert!(Profile::find(c, &uid("u1"))?.is_none());
        assert!(UserSettings::find(c, &uid("u1"))?.is_none());
        assert!(Session::for_user(c, &uid("u1"))?.is_empty());
        assert!(!KnownDevice::any_for_user(c, &uid("u1"))?);
        assert_eq!(User::delete(c, &uid("u1"))?, 0);
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
            *OAuthClient::find(c, &cid("app"))?.unwrap().grant_types,
            ["authorization_code", "refresh_token"]
        );
        let ids: Vec<_> = OAuthClient::list(c)?.into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["app", "other"]);
        let managed: Vec<_> = OAuthClient::list_managed_by(c, "config")?
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(managed, ["other"]);
        let mut app = OAuthClient::find(c, &cid("app"))?.unwrap();
        app.secret_hash = None;
        app.access_token_alg = Some("ES256".into());
        assert_eq!(OAuthClient::update(c, &app)?, 1);
        let app = OAuthClient::find(c, &cid("app"))?.unwrap();
        assert_eq!(app.secret_hash, None, "None writes NULL");
        assert_eq!(app.access_token_alg.as_deref(), Some("ES256"));
        assert_eq!(
            OAuthClient::set_secret_hash(c, &cid("app"), "new", at(2, 0))?,
            1
        );
        assert_eq!(
            OAuthClient::find(c, &cid("app"))?
                .unwrap()
                .secret_hash
                .as_deref(),
            Some("new")
        );

        Session::insert(c, &session("s1", "h1", "u1", t, at(3600, 0)))?;
        Grant::insert(c, &grant("g1", "u1", "app", Some("s1"), t))?;
        Grant::insert(c, &grant("g2", "u1", "other", Some("s1"), at(1, 0)))?;
        assert_eq!(
            Grant::find(c, &GrantId::from_db("g1".into()))?
                .unwrap()
                .scope,
            "openid email"
        );
        assert!(Grant::is_active(c, &GrantId::from_db("g1".into()))?);
        assert!(!Grant::is_active(c, &GrantId::from_db("missing".into()))?);
        assert_eq!(
            Grant::clients_for_session(c, &sid("s1"))?,
            [(
                cid("other"),
                uid("u1"),
                "https://other.example/bc".to_string()
            )],
            "only clients with a back-channel URI"
        );
        let active: Vec<_> = Grant::active_for_user(c, &uid("u1"))?
            .into_iter()
            .map(|(g, name)| (g.id.to_string(), name))
            .collect();
        assert_eq!(
            active,
            [
                ("g2".to_string(), "App other".to_string()),
                ("g1".to_string(), "App app".to_string())
            ],
            "newest first"
        );
        assert_eq!(
            Grant::revoke(c, &GrantId::from_db("g1".into()), at(5, 0))?,
            1
        );
        assert_eq!(
            Grant::revoke(c, &GrantId::from_db("g1".into()), at(6, 0))?,
            0,
            "revoked once"
        );
        assert!(!Grant::is_active(c, &GrantId::from_db("g1".into()))?);
        assert_eq!(
            Grant::find(c, &GrantId::from_db("g1".into()))?
                .unwrap()
                .revoked_at,
            Some(at(5, 0))
        );
        assert_eq!(
            Grant::revoke_for_user_client(c, &uid("u1"), &cid("other"), at(7, 0))?,
            1
        );
        assert!(Grant::active_for_user(c, &uid("u1"))?.is_empty());

        Consent::save(c, &uid("u1"), &cid("app"), "openid", t)?;
        Consent::save(c, &uid("u1"), &cid("app"), "openid email", at(3, 0))?;
        let consent = Consent::find(c, &uid("u1"), &cid("app"))?.unwrap();
        assert_eq!(
            consent.scope, "openid email",
            "the second save replaces the first"
        );
        assert_eq!((consent.created_at, consent.updated_at), (t, at(3, 0)));
        assert_eq!(Consent::for_user(c, &uid("u1"))?.len(), 1);
        assert_eq!(Consent::delete(c, &uid("u1"), &cid("app"))?, 1);
        assert!(Consent::find(c, &uid("u1"), &cid("app"))?.is_none());

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
        assert_eq!(
            RefreshToken::find_by_hash(c, "rh1")?.unwrap().id.as_str(),
            "r1"
        );
        assert_eq!(RefreshToken::mark_used_by_hash(c, "rh1", at(10, 0))?, 1);
        assert_eq!(
            RefreshToken::mark_used_by_hash(c, "rh1", at(11, 0))?,
            0,
            "rotated once"
        );

        // Deleting the client takes its grants, and their codes and tokens, with it.
        assert_eq!(OAuthClient::delete(c, &cid("app"))?, 1);
        assert!(Grant::find(c, &GrantId::from_db("g3".into()))?.is_none());
        assert!(AuthorizationCode::find(c, "c1")?.is_none());
        assert!(RefreshToken::find_by_hash(c, "rh1")?.is_none());
        Ok(())
    })
    .await;
}
