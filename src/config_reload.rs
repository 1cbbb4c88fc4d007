//! Config-as-code (issue 14, part 4): the `[[clients]]` and `[[providers]]` of the configuration
//! file are reconciled with the database at start, and again on SIGHUP or when the file changes,
//! without a restart. Both lists are applied in one transaction, so a file with one bad entry
//! changes nothing; a file that does not load keeps the running configuration, and the error is
//! logged. Objects made this way are `managed_by = "config"`: the console, the API and the CLI
//! refuse to change them (`admin::clients`, `admin::providers`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::{Settings, StaticClient, StaticProvider};
use crate::crypto::MasterKey;
use crate::db::{write_transaction, Db};
use crate::error::AppError;
use crate::identity::audit::{self, Actor, AuditKind, Event};
use crate::identity::now;
use crate::oidc::clients;
use crate::upstream::registry;

/// Makes the database match the file's clients and providers, in one transaction.
pub async fn reconcile(
    db: &Db,
    mk: &MasterKey,
    clients_list: Vec<StaticClient>,
    providers: Vec<StaticProvider>,
    why: &'static str,
) -> Result<(), AppError> {
    let mk = mk.clone();
    db.run(move |conn| {
        write_transaction::<_, AppError, _>(conn, |conn| {
            let now = now();
            clients::sync_static(conn, &clients_list)?;
            registry::sync_static(conn, &mk, &providers, now)?;
            let detail = format!(
                "{why}: {} client(s), {} provider(s)",
                clients_list.len(),
                providers.len()
            );
            let event = Event {
                actor: Some(&Actor::Config),
                detail: Some(&detail),
                ..Event::new(AuditKind::ConfigApplied)
            };
            audit::record_event(conn, &event, now)?;
            Ok(())
        })
    })
    .await
}

/// Re-reads the file and applies it; on SIGHUP and when the file changes.
pub struct Reloader {
    db: Db,
    master_key: MasterKey,
    file: Option<PathBuf>,
}

/// What identifies a version of the file: its modification time and length.
type Stamp = Option<(SystemTime, u64)>;

impl Reloader {
    pub fn new(db: Db, master_key: MasterKey, settings: &Settings) -> Reloader {
        Reloader {
            db,
            master_key,
            file: settings.config_file.clone(),
        }
    }

    fn stamp(&self) -> Stamp {
        let meta = std::fs::metadata(self.file.as_ref()?).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    /// Loads the file again and applies it. An error leaves everything as it was.
    pub async fn reload(&self, why: &'static str) -> Result<(), AppError> {
        let settings =
            Settings::load(self.file.as_deref()).map_err(|e| AppError::Config(e.to_string()))?;
        reconcile(
            &self.db,
            &self.master_key,
            settings.clients,
            settings.providers,
            why,
        )
        .await
    }

    async fn reload_logged(&self, why: &'static str) {
        match self.reload(why).await {
            Ok(()) => tracing::info!(
                trigger = why,
                "configuration reloaded: clients and providers applied"
            ),
            Err(e) => tracing::error!(
                trigger = why,
                error = %e,
                "configuration reload failed; the running configuration is kept"
            ),
        }
    }

    /// Listens for SIGHUP, and checks the file every `interval` (zero: never).
    pub fn spawn(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        // Registered now, before the server says it is listening: a SIGHUP that came before
        // the handler would end the process (the signal's default action).
        #[cfg(unix)]
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload by file watch only");
                None
            }
        };
        tokio::spawn(async move {
            let mut last = self.stamp();
            let mut ticker = tokio::time::interval(if interval.is_zero() {
                Duration::from_secs(3600)
            } else {
                interval
            });
            ticker.tick().await;
            loop {
                #[cfg(unix)]
                let signalled = async {
                    match hangup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let signalled = std::future::pending::<Option<()>>();
                tokio::select! {
                    _ = signalled => {
                        last = self.stamp();
                        self.reload_logged("SIGHUP").await;
                    }
                    _ = ticker.tick() => {
                        if interval.is_zero() || self.file.is_none() {
                            continue;
                        }
                        let now = self.stamp();
                        if now != last {
                            last = now;
                            self.reload_logged("file changed").await;
                        }
                    }
                }
            }
        })
    }
}
