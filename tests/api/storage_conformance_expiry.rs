//! Storage conformance, continued: expiry sweeps at sub-second boundaries, the mail outbox's
//! claims, and rate-limit windows, all on explicit times.

use diesel::prelude::*;
use portcullis::db::models::{
    revoked_token, AuthorizationCode, Grant, KnownDevice, OAuthClient, OutboxMessage, RefreshToken,
    Session, User, Verification,
};
use portcullis::db::DbConnection;
use portcullis::identity::ids::{MailId, SessionId};

use crate::helpers::*;
use crate::storage_conformance::*;

backend_tests!(
    expiry_sweeps_remove_exactly_the_expired_rows,
    mail_outbox_claims_expire_and_sent_mail_is_swept,
    rate_limit_windows_count_and_reset,
);

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
        Session::touch(c, &SessionId::from_db("absolute".into()), at(3000, 0))?;
        Session::touch(c, &SessionId::from_db("idle".into()), at(100, 0))?;
        Session::touch(c, &SessionId::from_db("live".into()), at(1900, 500_000))?;
        // At 3600 with a 30-minute idle limit: cut-off 1800.
        assert_eq!(
            Session::delete_expired(c, at(3599, 0), at(1799, 0))?,
            1,
            "only the idle one"
        );
        assert_eq!(Session::ids_for_user(c, &uid("u1"))?.len(), 2);
        assert_eq!(
            Session::delete_expired(c, at(3600, 0), at(1800, 0))?,
            1,
            "the absolute one"
        );
        assert_eq!(Session::ids_for_user(c, &uid("u1"))?, ["live"]);
        assert_eq!(
            Session::delete_expired(c, at(3700, 0), at(1900, 500_000))?,
            1,
            "idle at the instant"
        );

        KnownDevice::insert(
            c,
            &KnownDevice {
                user_id: uid("u1"),
                device_hash: "old".into(),
                first_seen_at: t,
                last_seen_at: at(10, 0),
            },
        )?;
        KnownDevice::insert(
            c,
            &KnownDevice {
                user_id: uid("u1"),
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
        assert!(KnownDevice::any_for_user(c, &uid("u1"))?);
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
                .map(|m| m.id.to_string())
                .collect())
        };
        assert_eq!(due(c, at(0, 250_000))?, ["m1"]);
        assert_eq!(due(c, at(1, 0))?, ["m1", "m2"], "oldest due first");
        assert_eq!(
            OutboxMessage::due(c, at(1, 0), 1)?.len(),
            1,
            "the limit holds"
        );

        assert_eq!(
            OutboxMessage::claim(c, &MailId::from_db("m1".into()), at(1, 0), at(31, 0))?,
            1
        );
        assert_eq!(
            OutboxMessage::claim(c, &MailId::from_db("m1".into()), at(2, 0), at(32, 0))?,
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
            OutboxMessage::claim(c, &MailId::from_db("m1".into()), at(31, 1), at(61, 0))?,
            1,
            "and another worker takes it"
        );

        assert_eq!(
            OutboxMessage::mark_failed_attempt(
                c,
                &MailId::from_db("m2".into()),
                1,
                false,
                at(120, 0),
                "451 try later"
            )?,
            1
        );
        assert_eq!(
            due(c, at(60, 0))?,
            ["later"],
            "m1 claimed, m2 waits for its retry"
        );
        assert_eq!(
            OutboxMessage::mark_failed_attempt(
                c,
                &MailId::from_db("later".into()),
                5,
                true,
                at(60, 0),
                "550 no such user"
            )?,
            1
        );
        assert_eq!(
            OutboxMessage::mark_sent(c, &MailId::from_db("m1".into()), 2, at(40, 0))?,
            1
        );
        assert_eq!(
            OutboxMessage::claim(c, &MailId::from_db("m1".into()), at(100, 0), at(130, 0))?,
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
            .map(|m| (m.id.to_string(), m.status, m.attempts, m.last_error))
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
