//! Building the application from settings: storage, keys, templates, and the bound server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::db::migrations::OnOpen;
use crate::db::models::{
    revoked_token, AuthorizationCode, BackchannelLogout, OutboxMessage, RefreshToken,
};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::identity::now;
use crate::identity::password::PasswordHasher;
use crate::identity::sessions::{self, SessionPolicy};
use crate::mail::transport::Transport;
use crate::mail::worker::{self, WorkerPolicy};
use crate::oidc::keys::{self, KeyStore};
use crate::oidc::{Lifetimes, Provider};
use crate::outbox::backchannel::{self, DeliveryPolicy};
use crate::telemetry::{request_id_header, RequestSpan};
use crate::upstream::discovery::{CachePolicy, DiscoveryCache};
use crate::upstream::UpstreamClient;
use crate::web::templates::{self, Templates};
use crate::web::{self as webmod, AppState};

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    mail: worker::WorkerTask,
    backchannel: backchannel::WorkerTask,
    /// Periodic tasks (key refresher, WAL checkpointer, sweeper), stopped after the server.
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// How long requests in flight may take to finish once a stop is asked for.
const SHUTDOWN_GRACE_SECS: u64 = 10;

/// Opens the database named by the settings and applies pending migrations, or with
/// `database.migrate_on_start = false` refuses while any is pending. Refuses a schema newer than
/// the binary either way.
pub async fn open_database(settings: &Settings) -> Result<Db, AppError> {
    let db = Db::connect(
        &settings.database_url(),
        settings.database.pool_size,
        Duration::from_secs(settings.database.connect_timeout_secs),
    )?;
    let on_open = if settings.database.migrate_on_start {
        OnOpen::Apply
    } else {
        OnOpen::RequireCurrent
    };
    let applied = db
        .run(move |conn| db::migrations::prepare(conn, on_open))
        .await?;
    for version in applied {
        tracing::info!(%version, "applied migration");
    }
    if !db.run(db::stable_query_plans).await? {
        tracing::warn!(
            "this build's SQLite lacks SQLITE_ENABLE_QPSG (build from the repository, whose .cargo/config.toml \
             sets it): cached statements are re-prepared on every use, several times slower"
        );
    }
    Ok(db)
}

/// The master key, generated into the data directory when none is configured.
pub fn master_key(settings: &Settings) -> Result<MasterKey, AppError> {
    let (key, generated) =
        MasterKey::load_or_generate(settings.master_key.expose(), &settings.data_dir)
            .map_err(|e| AppError::Config(e.to_string()))?;
    if generated {
        tracing::warn!(
            path = %settings.data_dir.join("master.key").display(),
            "no master_key configured: generated one into the data directory. Back it up, or set \
             PORTCULLIS_MASTER_KEY in production; without it encrypted data cannot be read."
        );
    }
    Ok(key)
}

/// `[admin] bootstrap_email`: the first admin on a fresh installation (see `admin::role`).
async fn bootstrap_admin(
    db: &Db,
    hasher: &PasswordHasher,
    settings: &crate::config::AdminSettings,
) -> Result<(), AppError> {
    use crate::admin::role::{self, Bootstrap};
    let raw = settings.bootstrap_email.trim();
    if raw.is_empty() {
        return Ok(());
    }
    let email = crate::identity::email::Email::parse(raw)
        .map_err(|e| AppError::Config(format!("admin.bootstrap_email: {e}")))?;
    let password = settings.bootstrap_password.expose().to_string();
    let hash = if password.is_empty() {
        None
    } else {
        hasher
            .policy
            .check(&password)
            .map_err(|e| AppError::Config(format!("admin.bootstrap_password: {e}")))?;
        Some(hasher.hash(password).await?)
    };
    let done = db
        .run(move |conn| Ok(role::bootstrap(conn, &email, hash.as_deref(), now())))
        .await?
        .map_err(|e| AppError::Config(format!("admin bootstrap: {e}")))?;
    match done {
        Bootstrap::NotNeeded => {}
        Bootstrap::Granted(id) => {
            tracing::warn!(user = %id, "admin bootstrap: the existing user {raw} is now an admin")
        }
        Bootstrap::Created(id) => tracing::warn!(
            user = %id,
            "admin bootstrap: created the admin {raw} with the bootstrap password; change it"
        ),
        Bootstrap::Unverified => tracing::warn!(
            "admin bootstrap: the user {raw} has not verified the address, so it is not made an \
             admin; verify it and restart, or run `portcullis user grant-admin`"
        ),
        Bootstrap::NoPassword => tracing::warn!(
            "admin bootstrap: no user {raw} and no admin.bootstrap_password to create one; sign up \
             with that address and restart, or run `portcullis user grant-admin`"
        ),
    }
    Ok(())
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, AppError> {
        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| AppError::Config(format!("cannot listen on {}: {e}", settings.listen)))?;
        Self::build_on(settings, listener).await
    }

    /// Builds on a socket bound by the caller (tests bind port 0 first, so that the issuer
    /// can name the real port).
    pub async fn build_on(
        settings: Settings,
        listener: TcpListener,
    ) -> Result<Application, AppError> {
        // The schema first: a start refused for it leaves no generated master key behind.
        let db = open_database(&settings).await?;
        let master_key = master_key(&settings)?;
        crate::files::warn_if_open_to_others(&settings.data_dir, "the data directory");
        let theme_dir = Some(settings.theme_dir.as_str())
            .filter(|d| !d.is_empty())
            .map(std::path::Path::new);
        let templates = Templates::new(theme_dir);
        templates::install_for_errors(&templates);
        let hasher = PasswordHasher::new(&settings.password, settings.hash_concurrency())?;
        let lifetimes = Lifetimes::from(&settings.oidc);
        crate::config_reload::reconcile(
            &db,
            &master_key,
            settings.clients.clone(),
            settings.providers.clone(),
            "start",
        )
        .await?;
        bootstrap_admin(&db, &hasher, &settings.admin).await?;
        let upstream = UpstreamClient {
            http: crate::upstream::http_client(&settings.upstream)?,
            state_ttl: chrono::Duration::seconds(settings.upstream.state_ttl_secs.max(60)),
            issuer: settings.issuer().to_string(),
            discovery: DiscoveryCache::new(CachePolicy {
                default_ttl: Duration::from_secs(settings.upstream.discovery_ttl_secs),
                stale_for: Duration::from_secs(settings.upstream.discovery_stale_secs),
            }),
        };
        let transport = Transport::from_settings(&settings.mail)?;
        if matches!(transport, Transport::Log) {
            tracing::warn!(
                "mail.transport is \"log\": messages, with their sign-in and verification links, are \
                 written to this log and never sent. For development only; configure mail.transport = \
                 \"smtp\" (or \"file\") for real use."
            );
        }
        let (mail, mail_task) = worker::spawn(
            db.clone(),
            transport,
            WorkerPolicy {
                from: settings.mail.from.clone(),
                poll: Duration::from_secs(settings.mail.poll_interval_secs.max(1)),
                max_attempts: settings.mail.max_attempts.max(1),
                retry_base_secs: settings.mail.retry_base_secs,
            },
        );
        let keys = Arc::new(
            KeyStore::open(
                db.clone(),
                master_key.clone(),
                settings.keys.clone(),
                lifetimes.key_retention(),
            )
            .await?,
        );
        let mut background = vec![keys.spawn_refresher()];
        let reloader = Arc::new(crate::config_reload::Reloader::new(
            db.clone(),
            master_key.clone(),
            &settings,
        ));
        background.push(reloader.spawn(Duration::from_secs(settings.reload.watch_interval_secs)));
        let provider = Arc::new(Provider::new(&settings, keys)?);
        let passkeys = relying_party(&settings);
        let session_policy = SessionPolicy {
            passkeys: passkeys.is_some(),
            ..SessionPolicy::from(&settings.session)
        };
        let (backchannel, backchannel_task) = backchannel::spawn(
            db.clone(),
            provider.clone(),
            DeliveryPolicy::from(&settings.oidc),
        );

        let port = listener
            .local_addr()
            .map_err(|e| AppError::Internal(e.to_string()))?
            .port();

        background.extend(db.spawn_checkpointer());
        background.push(spawn_sweeper(
            db.clone(),
            session_policy,
            lifetimes.key_retention(),
            Duration::from_secs(settings.session.sweep_interval_secs.max(1)),
        ));
        let app_db = db.clone();

        let https = settings.secure_cookies();
        let body_limit = settings.http.body_limit_bytes;
        tracing::info!(%port, issuer = %settings.issuer(), database = db.backend().name(), "portcullis listening");
        let metrics = Arc::new(crate::metrics::Metrics::new(db.backend().name()));
        let state = web::Data::new(AppState {
            db,
            templates,
            hasher,
            session_policy,
            settings: Arc::new(settings),
            master_key,
            provider,
            upstream,
            mail,
            backchannel,
            passkeys,
            metrics,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(webmod::form_config(body_limit))
                .app_data(web::PayloadConfig::new(body_limit))
                .wrap(middleware::from_fn(webmod::locale::track))
                .wrap(webmod::headers::security_headers(https))
                .wrap(middleware::from_fn(request_id_header))
                .wrap(middleware::from_fn(webmod::metrics::track))
                .wrap(TracingLogger::<RequestSpan>::new())
                .configure(webmod::routes)
        })
        .listen(listener)
        .map_err(|e| AppError::Internal(e.to_string()))?
        .shutdown_timeout(SHUTDOWN_GRACE_SECS)
        // actix's own handlers treat SIGINT (Ctrl-C) as a forced stop that drops requests in
        // flight; `Application::stop_on` makes SIGINT and SIGTERM both graceful. Tests run without
        // signal handlers, so Ctrl-C still ends a test run at once.
        .disable_signals()
        .run();
        Ok(Application {
            port,
            server,
            db: app_db,
            mail: mail_task,
            backchannel: backchannel_task,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from elsewhere (tests restart it on the same database).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Makes SIGINT (Ctrl-C) and SIGTERM stop the server gracefully: no new connections, requests
    /// in flight get up to 10 s. A second signal during that time stops the process at once.
    pub fn stop_on(&self, mut signals: ShutdownSignals) {
        let handle = self.server.handle();
        tokio::spawn(async move {
            let first = signals.next().await;
            tracing::info!(
                signal = first,
                grace_secs = SHUTDOWN_GRACE_SECS,
                "shutting down gracefully: finishing requests in flight (send the signal again to stop at once)"
            );
            tokio::spawn(async move { handle.stop(true).await });
            let second = signals.next().await;
            tracing::warn!(signal = second, "second signal: stopping at once");
            // Committed transactions are already durable (WAL); only requests in flight are cut.
            std::process::exit(130);
        });
    }

    /// Serves until stopped (`stop_on`, or a `handle()`), then stops the background work:
    /// the mail sender finishes the message it is sending, and SQLite's WAL is checkpointed into
    /// the database file.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.mail
            .shutdown(Duration::from_secs(SHUTDOWN_GRACE_SECS))
            .await;
        self.backchannel
            .shutdown(Duration::from_secs(SHUTDOWN_GRACE_SECS))
            .await;
        for task in &self.background {
            task.abort();
        }
        for task in self.background {
            let _ = task.await;
        }
        if let Err(e) = self.db.final_checkpoint().await {
            tracing::warn!(error = %e, "final WAL checkpoint failed (the next start recovers the WAL)");
        }
        tracing::info!("shutdown complete");
        served
    }
}

/// SIGINT and SIGTERM, caught from the moment of `install` (a signal that arrives while the
/// application is still being built is kept and acted on once it runs).
pub struct ShutdownSignals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    /// Needs a running Tokio runtime (the one `main` starts).
    #[cfg(unix)]
    pub fn install() -> Result<ShutdownSignals, AppError> {
        use tokio::signal::unix::{signal, SignalKind};
        let install = |kind| {
            signal(kind)
                .map_err(|e| AppError::Internal(format!("cannot handle SIGINT/SIGTERM: {e}")))
        };
        Ok(ShutdownSignals {
            int: install(SignalKind::interrupt())?,
            term: install(SignalKind::terminate())?,
        })
    }

    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }

    /// Elsewhere only Ctrl-C, registered when first awaited.
    #[cfg(not(unix))]
    pub fn install() -> Result<ShutdownSignals, AppError> {
        Ok(ShutdownSignals {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// The WebAuthn relying party when passkeys are on and the issuer can be one; otherwise passkeys
/// stay off, and the log says why once.
fn relying_party(settings: &Settings) -> Option<crate::identity::passkeys::RelyingParty> {
    if !settings.accounts.passkeys {
        return None;
    }
    match crate::identity::passkeys::RelyingParty::for_issuer(settings.issuer()) {
        Ok(rp) => Some(rp),
        Err(why) => {
            tracing::warn!(issuer = %settings.issuer(), %why, "passkeys are off: accounts.passkeys is on, but the issuer cannot be a WebAuthn relying party");
            None
        }
    }
}

/// Deletes expired sessions, verifications, codes, refresh tokens, revocation markers and
/// retired keys periodically. Every replica may run it: the DELETEs are idempotent.
fn spawn_sweeper(
    db: Db,
    policy: SessionPolicy,
    key_retention: chrono::Duration,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let swept = db
                .run(move |conn| {
                    let now = now();
                    let mut n = sessions::sweep(conn, &policy, now)?;
                    n += AuthorizationCode::delete_expired(conn, now)?;
                    n += RefreshToken::delete_expired(conn, now)?;
                    n += revoked_token::delete_expired(conn, now)?;
                    n += keys::prune(conn, now, key_retention)?;
                    n += crate::identity::rate_limit::delete_stale(
                        conn,
                        now - chrono::Duration::days(1),
                    )?;
                    n += crate::identity::throttle::delete_stale(
                        conn,
                        now - chrono::Duration::days(1),
                    )?;
                    n += OutboxMessage::delete_sent_before(conn, now - chrono::Duration::days(7))?;
                    n += BackchannelLogout::delete_delivered_before(
                        conn,
                        now - chrono::Duration::days(7),
                    )?;
                    Ok(n)
                })
                .await;
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "swept expired rows"),
                Err(e) => tracing::warn!(error = %e, "sweep failed"),
            }
        }
    })
}
