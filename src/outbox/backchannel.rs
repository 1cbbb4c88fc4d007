//! Back-channel logout deliveries (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8) from the
//! `backchannel_outbox` table.
//!
//! The transaction that ends a session writes one row per client that received tokens in it
//! ([`enqueue`]). Workers on every replica claim due rows with a lease (a conditional UPDATE, so
//! exactly one replica wins a row; a replica that dies mid-delivery leaves a lease that simply runs
//! out), POST the logout token, and record the outcome: delivered, or a failed attempt retried
//! with exponential backoff until `backchannel_attempts` is reached. Delivery is at least once: a
//! replica that dies after the client answered but before recording it makes another replica send
//! the same logout again.
//!
//! The logout token is signed just before each attempt, not when the row is written: its `iat`
//! and short `exp` are then fresh however long the client was down (a token signed at the
//! sign-out would have expired by the third retry and be refused for good), and it is signed with
//! a key that is active now. The `jti` is fixed in the row, so every attempt of one delivery
//! carries the same `jti` and a client that keeps the `jti`s it saw (§2.6) recognises a repeat.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::OidcSettings;
use crate::crypto::random_token;
use crate::db::models::{BackchannelLogout, Grant};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::identity::ids::{BackchannelLogoutId, SessionId};
use crate::identity::now;
use crate::mail::worker::backoff;
use crate::oidc::clients::Client;
use crate::oidc::logout::{logout_token, LogoutNotice};
use crate::oidc::Provider;

/// Queues a back-channel logout for every client with a back-channel URI that received tokens in
/// these (ended) sessions; call it inside the transaction that ends them. Returns the row count.
pub fn enqueue(
    conn: &mut DbConnection,
    session_ids: &[SessionId],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let mut queued = 0;
    for session_id in session_ids {
        for (client_id, user_id, _uri) in Grant::clients_for_session(conn, session_id)? {
            queued += BackchannelLogout::insert(
                conn,
                &BackchannelLogout {
                    id: BackchannelLogoutId::generate(),
                    client_id,
                    subject: user_id,
                    session_id: session_id.clone(),
                    jti: random_token(16),
                    status: "pending".into(),
                    attempts: 0,
                    next_attempt_at: now,
                    claimed_until: None,
                    last_error: None,
                    created_at: now,
                    delivered_at: None,
                },
            )?;
        }
    }
    Ok(queued)
}

/// How the workers deliver.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// How often an idle worker looks for due rows (besides being woken after a sign-out).
    pub poll: StdDuration,
    /// How long a claimed row belongs to the worker that claimed it.
    pub lease: Duration,
    pub max_attempts: i32,
    pub retry_base_secs: i64,
}

/// At most this many deliveries in flight per worker: a slow client holds up only its own.
const CONCURRENCY: usize = 16;
/// Rows claimed per pass; a full batch makes the worker look again at once.
const BATCH: i64 = 64;

impl From<&OidcSettings> for DeliveryPolicy {
    fn from(s: &OidcSettings) -> Self {
        let timeout = i64::try_from(s.backchannel_timeout_secs.max(1)).unwrap_or(i64::MAX);
        DeliveryPolicy {
            poll: StdDuration::from_secs(s.backchannel_poll_interval_secs.max(1)),
            // A lease shorter than one attempt would let a second replica send while the first
            // still waits for the answer.
            lease: Duration::seconds(s.backchannel_lease_secs.max(timeout.saturating_add(1))),
            max_attempts: i32::try_from(s.backchannel_attempts.max(1)).unwrap_or(i32::MAX),
            retry_base_secs: s.backchannel_retry_base_secs.max(1),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub delivered: usize,
    pub failed_attempts: usize,
    pub given_up: usize,
    /// Due rows another worker claimed first.
    pub skipped: usize,
}

enum Outcome {
    Delivered,
    Failed(String),
}

/// Claims the rows due now and delivers them; returns what happened.
pub async fn deliver_due(
    db: &Db,
    provider: &Arc<Provider>,
    policy: &DeliveryPolicy,
) -> Result<PassReport, AppError> {
    let due = db
        .run(|conn| Ok(BackchannelLogout::due(conn, now(), BATCH)?))
        .await?;
    let mut report = PassReport::default();
    let mut inflight = JoinSet::new();
    for row in due {
        // A slot first, then the claim: the lease is for the attempt, not for waiting in line.
        while inflight.len() >= CONCURRENCY {
            if let Some(done) = inflight.join_next().await {
                tally(&mut report, done);
            }
        }
        let id = row.id.clone();
        let lease = policy.lease;
        let claimed = db
            .run(move |conn| {
                let now = now();
                Ok(BackchannelLogout::claim(conn, &id, now, now + lease)?)
            })
            .await?;
        if !claimed {
            report.skipped += 1;
            continue;
        }
        inflight.spawn(attempt_and_record(
            db.clone(),
            provider.clone(),
            policy.clone(),
            row,
        ));
    }
    while let Some(done) = inflight.join_next().await {
        tally(&mut report, done);
    }
    Ok(report)
}

#[derive(Debug, Clone, Copy)]
enum Recorded {
    Delivered,
    WillRetry,
    GaveUp,
}

fn tally(
    report: &mut PassReport,
    done: Result<Result<Recorded, AppError>, tokio::task::JoinError>,
) {
    match done {
        Ok(Ok(Recorded::Delivered)) => report.delivered += 1,
        Ok(Ok(Recorded::WillRetry)) => report.failed_attempts += 1,
        Ok(Ok(Recorded::GaveUp)) => {
            report.failed_attempts += 1;
            report.given_up += 1;
        }
        // The lease runs out and another pass tries again.
        Ok(Err(e)) => tracing::warn!(error = %e, "recording a back-channel logout attempt failed"),
        Err(e) => tracing::warn!(error = %e, "a back-channel logout attempt stopped"),
    }
}

async fn attempt_and_record(
    db: Db,
    provider: Arc<Provider>,
    policy: DeliveryPolicy,
    row: BackchannelLogout,
) -> Result<Recorded, AppError> {
    let outcome = attempt(&db, &provider, &row).await;
    let attempts = row.attempts.saturating_add(1);
    let id = row.id.clone();
    let client = row.client_id.clone();
    db.run(move |conn| {
        let now = now();
        Ok(match outcome {
            Outcome::Delivered => {
                BackchannelLogout::mark_delivered(conn, &id, attempts, now)?;
                tracing::info!(%client, delivery = %id, attempts, "back-channel logout delivered");
                Recorded::Delivered
            }
            Outcome::Failed(error) => {
                let give_up = attempts >= policy.max_attempts;
                let next = now + backoff(policy.retry_base_secs, attempts);
                BackchannelLogout::mark_failed_attempt(conn, &id, attempts, give_up, next, &error)?;
                if give_up {
                    tracing::error!(%client, delivery = %id, %error, attempts, "back-channel logout failed; giving up");
                    Recorded::GaveUp
                } else {
                    tracing::warn!(%client, delivery = %id, %error, attempts, "back-channel logout failed; will retry");
                    Recorded::WillRetry
                }
            }
        })
    })
    .await
}

/// One POST of a freshly signed logout token (§2.5: form-encoded `logout_token`; 200 or 204 is
/// success, anything else a failure).
async fn attempt(db: &Db, provider: &Provider, row: &BackchannelLogout) -> Outcome {
    let client_id = row.client_id.clone();
    let client = match db.run(move |conn| Client::find(conn, &client_id)).await {
        Ok(Some(c)) => c,
        Ok(None) => return Outcome::Failed("the client no longer exists".into()),
        Err(e) => return Outcome::Failed(format!("reading the client: {e}")),
    };
    let Some(uri) = client.backchannel_logout_uri else {
        return Outcome::Failed("the client no longer has a back-channel logout URI".into());
    };
    let notice = LogoutNotice {
        client_id: &row.client_id,
        subject: &row.subject,
        session_id: &row.session_id,
        jti: &row.jti,
    };
    let token = match logout_token(
        &provider.issuer,
        &provider.keys.current(),
        client.id_token_alg,
        notice,
        now(),
    ) {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(format!("signing the logout token: {e}")),
    };
    let sent = provider
        .http
        .post(&uri)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => Outcome::Delivered,
        Ok(res) => Outcome::Failed(format!("the client answered {}", res.status().as_u16())),
        Err(e) => Outcome::Failed(format!("no answer: {e}")),
    }
}

/// Wakes the local worker (after a sign-out committed its rows) instead of at the next poll.
#[derive(Clone)]
pub struct BackchannelWorker {
    notify: Arc<Notify>,
}

impl BackchannelWorker {
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// The running worker, kept by the application so that shutdown lets the attempts in flight
/// finish instead of cutting them off (which would send them again once their lease ends).
pub struct WorkerTask {
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

impl WorkerTask {
    /// Asks the worker to stop after the current pass and waits up to `grace` for it.
    pub async fn shutdown(self, grace: StdDuration) {
        let _ = self.stop.send(true);
        let abort = self.join.abort_handle();
        if tokio::time::timeout(grace, self.join).await.is_err() {
            tracing::warn!(
                "back-channel logout worker still busy at shutdown; stopping it (its deliveries are retried when their lease ends)"
            );
            abort.abort();
        }
    }
}

pub fn spawn(
    db: Db,
    provider: Arc<Provider>,
    policy: DeliveryPolicy,
) -> (BackchannelWorker, WorkerTask) {
    let notify = Arc::new(Notify::new());
    let worker = BackchannelWorker {
        notify: notify.clone(),
    };
    let (stop, mut stopping) = watch::channel(false);
    let join = tokio::spawn(async move {
        // Rows left by a replica that stopped are due at once: look before the first wait.
        let mut look_now = true;
        loop {
            if !look_now {
                tokio::select! {
                    _ = tokio::time::timeout(policy.poll, notify.notified()) => {}
                    // An error means the application (the sender) is gone: stop as well.
                    changed = stopping.changed() => if changed.is_err() { break },
                }
            }
            if *stopping.borrow() {
                break;
            }
            look_now = match deliver_due(&db, &provider, &policy).await {
                // A full batch may have left more behind.
                Ok(r) => r.delivered + r.failed_attempts + r.skipped >= BATCH as usize,
                Err(e) => {
                    tracing::warn!(error = %e, "back-channel logout queue unavailable");
                    false
                }
            };
        }
    });
    (worker, WorkerTask { stop, join })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_outlasts_one_attempt() {
        let mut s = crate::config::Settings::defaults().unwrap().oidc;
        s.backchannel_timeout_secs = 30;
        s.backchannel_lease_secs = 5;
        assert_eq!(DeliveryPolicy::from(&s).lease, Duration::seconds(31));
        s.backchannel_lease_secs = 60;
        assert_eq!(DeliveryPolicy::from(&s).lease, Duration::seconds(60));
    }
}
