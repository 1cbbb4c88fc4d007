//! The background sender: claims due messages, sends them, and retries failures with
//! exponential backoff. Several replicas can run it: a claim is a conditional UPDATE.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use tokio::sync::Notify;

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

pub fn spawn(db: Db, transport: Transport, policy: WorkerPolicy) -> MailWorker {
    let WorkerPolicy { from, poll, max_attempts, retry_base_secs } = policy;
    let notify = Arc::new(Notify::new());
    let worker = MailWorker { notify: notify.clone() };
    tokio::spawn(async move {
        loop {
            let _ = tokio::time::timeout(poll, notify.notified()).await;
            let due = db.run(|conn| Ok(OutboxMessage::due(conn, now(), 20)?)).await;
            let due = match due {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "mail queue unavailable");
                    continue;
                }
            };
            for m in due {
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
    worker
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
