//! Storage conformance, continued: what the database refuses as a duplicate, what timestamps
//! read back as, and the remaining tables (upstream providers, signing keys, audit events).

use chrono::NaiveDate;
use diesel::prelude::*;
use portcullis::db::models::{
    audit, revoked_token, Account, AuthorizationCode, Grant, IdentityProviderRow, KnownDevice,
    NewAccount, NewAuditEvent, OAuthClient, OutboxMessage, RefreshToken, Session, SigningKeyRow,
    User, Verification,
};
use portcullis::db::{self, is_unique_violation, DbConnection};
use portcullis::identity::ids::AuditEventId;

use crate::helpers::*;
use crate::storage_conformance::*;

backend_tests!(
    providers_signing_keys_and_audit_events_round_trip,
    the_database_refuses_duplicates,
    timestamps_read_back_as_written,
);

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
            allowed_domains: Vec::new().into(),
            hosted_domain: None,
            github_orgs: Vec::new().into(),
            keep_tokens: false,
            managed_by: "cli".into(),
            created_at,
            updated_at: created_at,
            trust_email: None,
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
                id: &AuditEventId::from_db(id.into()),
                user_id: Some(&uid("u1")),
                kind,
                ip_address: None,
                detail: None,
                created_at: t,
                actor: None,
                client_id: None,
            }
            .insert(c)?;
        }
        assert_eq!(audit::count_for_user(c, &uid("u1"), "sign_in")?, 2);
        assert_eq!(audit::count_for_user(c, &uid("u1"), "password_changed")?, 1);
        // The trail outlives the user (ON DELETE SET NULL).
        User::delete(c, &uid("u1"))?;
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
        let account = |id: &str| NewAccount {
            id: aid(id),
            user_id: uid("u1"),
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
            user_id: uid("u1"),
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
        assert!(User::find(c, &uid("u3"))?.is_some());
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
        Ok((
            read(c, &uid("u1"))?,
            read(c, &uid("u2"))?,
            now,
            read(c, &uid("u3"))?,
        ))
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
