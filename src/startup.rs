//! Building the application from settings: storage, keys, templates, and the bound server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::identity::password::PasswordHasher;
use crate::identity::sessions::{self, SessionPolicy};
use crate::db::models::{revoked_token, AuthorizationCode, OutboxMessage, RefreshToken};
use crate::identity::now;
use crate::oidc::clients;
use crate::oidc::keys::{self, KeyStore};
use crate::oidc::{Lifetimes, Provider};
use crate::mail::transport::Transport;
use crate::mail::worker::{self, WorkerPolicy};
use crate::upstream::registry;
use crate::telemetry::{request_id_header, RequestSpan};
use crate::web::templates::{self, Templates};
use crate::web::{self as webmod, AppState};

pub struct Application {
    port: u16,
    server: Server,
}

/// Opens the database named by the settings and applies pending migrations.
pub async fn open_database(settings: &Settings) -> Result<Db, AppError> {
    let db = Db::connect(
        &settings.database_url(),
        settings.database.pool_size,
        Duration::from_secs(settings.database.connect_timeout_secs),
    )?;
    let applied = db.run(|conn| db::run_migrations(conn)).await?;
    for version in applied {
        tracing::info!(%version, "applied migration");
    }
    if !db.run(|conn| db::stable_query_plans(conn)).await? {
        tracing::warn!(
            "this build's SQLite lacks SQLITE_ENABLE_QPSG (build from the repository, whose .cargo/config.toml \
             sets it): cached statements are re-prepared on every use, several times slower"
        );
    }
    Ok(db)
}

/// The master key, generated into the data directory when none is configured.
pub fn master_key(settings: &Settings) -> Result<MasterKey, AppError> {
    let (key, generated) = MasterKey::load_or_generate(settings.master_key.expose(), &settings.data_dir)
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

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, AppError> {
        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| AppError::Config(format!("cannot listen on {}: {e}", settings.listen)))?;
        Self::build_on(settings, listener).await
    }

    /// Builds on a socket bound by the caller (tests bind port 0 first, so that the issuer
    /// can name the real port).
    pub async fn build_on(settings: Settings, listener: TcpListener) -> Result<Application, AppError> {
        let master_key = master_key(&settings)?;
        let db = open_database(&settings).await?;
        let theme_dir = Some(settings.theme_dir.as_str()).filter(|d| !d.is_empty()).map(std::path::Path::new);
        let templates = Templates::new(theme_dir);
        templates::install_for_errors(&templates);
        let hasher = PasswordHasher::new(&settings.password, settings.hash_concurrency())?;
        let lifetimes = Lifetimes::from(&settings.oidc);
        let static_clients = settings.clients.clone();
        db.run(move |conn| clients::sync_static(conn, &static_clients)).await?;
        let (static_providers, mk) = (settings.providers.clone(), master_key.clone());
        db.run(move |conn| registry::sync_static(conn, &mk, &static_providers, now())).await?;
        let upstream_http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.upstream.timeout_secs.max(1)))
            .user_agent("portcullis")
            .build()
            .map_err(|e| AppError::Internal(format!("http client: {e}")))?;
        let upstream_ttl = chrono::Duration::seconds(settings.upstream.state_ttl_secs.max(60));
        let transport = Transport::from_settings(&settings.mail)?;
        let mail = worker::spawn(
            db.clone(),
            transport,
            WorkerPolicy {
                from: settings.mail.from.clone(),
                poll: Duration::from_secs(settings.mail.poll_interval_secs.max(1)),
                max_attempts: settings.mail.max_attempts.max(1),
                retry_base_secs: settings.mail.retry_base_secs,
            },
        );
        let keys = Arc::new(KeyStore::open(db.clone(), master_key.clone(), settings.keys.clone(), lifetimes.key_retention()).await?);
        keys.spawn_refresher();
        let provider = Arc::new(Provider::new(&settings, keys)?);
        let session_policy = SessionPolicy::from(&settings.session);

        let port = listener.local_addr().map_err(|e| AppError::Internal(e.to_string()))?.port();

        db.spawn_checkpointer();
        spawn_sweeper(
            db.clone(),
            session_policy,
            lifetimes.key_retention(),
            Duration::from_secs(settings.session.sweep_interval_secs.max(1)),
        );

        let https = settings.secure_cookies();
        let body_limit = settings.http.body_limit_bytes;
        tracing::info!(%port, issuer = %settings.issuer(), database = db.backend(), "portcullis listening");
        let state = web::Data::new(AppState {
            db,
            templates,
            hasher,
            session_policy,
            settings: Arc::new(settings),
            master_key,
            provider,
            upstream_http,
            upstream_ttl,
            mail,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(webmod::form_config(body_limit))
                .app_data(web::PayloadConfig::new(body_limit))
                .wrap(middleware::from_fn(webmod::locale::track))
                .wrap(webmod::headers::security_headers(https))
                .wrap(middleware::from_fn(request_id_header))
                .wrap(TracingLogger::<RequestSpan>::new())
                .configure(webmod::routes)
        })
        .listen(listener)
        .map_err(|e| AppError::Internal(e.to_string()))?
        .shutdown_timeout(10)
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from elsewhere (tests restart it on the same database).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests (graceful shutdown).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Deletes expired sessions, verifications, codes, refresh tokens, revocation markers and
/// retired keys periodically. Every replica may run it: the DELETEs are idempotent.
fn spawn_sweeper(db: Db, policy: SessionPolicy, key_retention: chrono::Duration, every: Duration) {
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
                    n += crate::identity::rate_limit::delete_stale(conn, now - chrono::Duration::days(1))?;
                    n += OutboxMessage::delete_sent_before(conn, now - chrono::Duration::days(7))?;
                    Ok(n)
                })
                .await;
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "swept expired rows"),
                Err(e) => tracing::warn!(error = %e, "sweep failed"),
            }
        }
    });
}
