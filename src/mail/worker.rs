//! The background sender: claims due messages, sends them, and retries failures with
//! exponential backoff. Several replicas can run it: a claim is a conditional UPDATE.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::transport::Transport;
use crate::db::models::OutboxMessage;
use crate::db::Db;
use crate::identity::now;

#[derive(Clone)]
pub struct MailWorker {
    notify: Arc<Notify>,
}

impl MailWorker {
    /// Wakes the worker now (a message was just queued) instead of at the next poll.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Backoff after `attempts` failures: base, 2×base, 4×base, … capped at one hour.
pub fn backoff(base_secs: i64, attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 12) - 1).unwrap_or(0);
    Duration::seconds((base_secs.max(1) << exp).min(3600))
}

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerPolicy {
    pub from: String,
    pub poll: StdDuration,
    pub max_attempts: i32,
    pub retry_base_secs: i64,
}

/// The running sender task, kept by the application so that shutdown can let it finish the
/// message it is sending instead of cutting it off (which would send it again after the claim
/// expires).
pub struct WorkerTask {
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

impl WorkerTask {
    /// Asks the worker to stop after the current message and waits up to `grace` for it.
    pub async fn shutdown(self, grace: StdDuration) {
        let _ = self.stop.send(true);
        let abort = self.join.abort_handle();
        if tokio::time::timeout(grace, self.join).await.is_err() {
            tracing::warn!(
                "mail worker still busy at shutdown; stopping it (its message is retried later)"
            );
            abort.abort();
        }
    }
}

pub fn spawn(db: Db, transport: Transport, policy: WorkerPolicy) -> (MailWorker, WorkerTask) {
    let WorkerPolicy {
        from,
        poll,
        max_attempts,
        retry_base_secs,
    } = policy;
    let notify = Arc::new(Notify::new());
    let worker = MailWorker {
        notify: notify.clone(),
    };
    let (stop, mut stopping) = watch::channel(false);
    let join = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::timeout(poll, notify.notified()) => {}
                // An error means the application (the sender) is gone: stop as well.
                changed = stopping.changed() => if changed.is_err() { break },
            }
            if *stopping.borrow() {
                break;
            }
            let due = db
                .run(|conn| Ok(OutboxMessage::due(conn, now(), 20)?))
                .await;
            let due = match due {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "mail queue unavailable");
                    continue;
                }
            };
            for m in due {
                if *stopping.borrow() {
                    break;
                }
                let id = m.id.clone();
                let claimed = db
                    .run(move |conn| {
                        let now = now();
                        Ok(OutboxMessage::claim(conn, &id, now, now + Duration::minutes(5))? == 1)
                    })
                    .await;
                if !matches!(claimed, Ok(true)) {
                    continue;
                }
                let outcome = transport.send(&from, &m).await;
                let attempts = m.attempts + 1;
                let id = m.id.clone();
                let recorded = db
                    .run(move |conn| {
                        let now = now();
                        match &outcome {
                            Ok(()) => OutboxMessage::mark_sent(conn, &id, attempts, now)?,
                            Err(e) => {
                                let give_up = attempts >= max_attempts;
                                if give_up {
                                    tracing::error!(message = %id, error = %e, attempts, "mail delivery failed; giving up");
                                } else {
                                    tracing::warn!(message = %id, error = %e, attempts, "mail delivery failed; will retry");
                                }
                                OutboxMessage::mark_failed_attempt(conn, &id, attempts, give_up, now + backoff(retry_base_secs, attempts), e)?
                            }
                        };
                        Ok(())
                    })
                    .await;
                if let Err(e) = recorded {
                    tracing::warn!(error = %e, "recording a mail attempt failed");
                }
            }
        }
    });
    (worker, WorkerTask { stop, join })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(15, 1), Duration::seconds(15));
        assert_eq!(backoff(15, 2), Duration::seconds(30));
        assert_eq!(backoff(15, 20), Duration::seconds(3600));
    }
}
