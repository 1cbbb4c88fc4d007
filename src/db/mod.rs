//! Storage: one diesel `MultiConnection` over SQLite and PostgreSQL, pooled with r2d2, with the
//! backend chosen from the URL scheme. Diesel is blocking, so every use goes through [`Db::run`],
//! which moves the work off the async executor.

pub mod json_list;
pub mod models;
pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL names. `establish()` on a MultiConnection tries backends in turn and
/// hides the real error, so the scheme decides instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, AppError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(AppError::Config(format!(
                "database.url: unsupported URL (use sqlite://PATH or postgres://…)"
            )));
        }
        if path == ":memory:" {
            // Every pooled connection would get its own empty database.
            return Err(AppError::Config(
                "database.url: in-memory SQLite cannot be pooled; use a file".into(),
            ));
        }
        Ok(Backend::Sqlite(PathBuf::from(path)))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// r2d2 manager that opens the right backend and prepares each SQLite connection.
#[derive(Debug)]
pub struct ConnectionManager {
    backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Connection(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ManagerError;

    fn connect(&self) -> Result<DbConnection, ManagerError> {
        match &self.backend {
            Backend::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // WAL lets readers run beside the writer; busy_timeout makes concurrent writers
                // wait instead of failing; foreign keys are off by default in SQLite.
                // Checkpoints are left to `Db::spawn_checkpointer`: SQLite runs an automatic one
                // inside the commit that crosses 1000 WAL pages, which there copies and fsyncs
                // megabytes while every other writer of the process waits its turn (the p99 of
                // code exchange and refresh was a 40-50 ms stall).
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA wal_autocheckpoint = 0;",
                )?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ManagerError> {
        conn.batch_execute("SELECT 1").map_err(Into::into)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// The pool plus the knowledge of which backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: &'static str,
    /// At most one blocking task per pooled connection: more would only wait for a connection
    /// while holding a thread (and its memory) of the blocking pool.
    slots: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Db {
    pub fn connect(url: &str, pool_size: u32, timeout: Duration) -> Result<Db, AppError> {
        let backend = Backend::from_url(url)?;
        if let Backend::Sqlite(path) = &backend {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::files::create_private_dir(dir).map_err(|e| {
                    AppError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            // SQLite would create the file 0644 (less the umask), and its -wal and -shm files
            // after it; made here first, owner-only, they all stay 0600.
            crate::files::create_private_file(path)
                .map_err(|e| AppError::Config(format!("cannot create {}: {e}", path.display())))?;
            crate::files::warn_if_open_to_others(path, "the SQLite database");
        }
        let name = backend.name();
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            // No idle connections opened in the background: a connection is made when first needed
            // and kept afterwards. (A background opener racing process exit crashed in OpenSSL's
            // exit handlers: seen with the CLI on PostgreSQL.)
            .min_idle(Some(0))
            .connection_timeout(timeout)
            // Checked out connections are validated by use; skipping the test saves a round trip.
            .test_on_check_out(false)
            .build(ConnectionManager { backend })
            .map_err(|e| AppError::Config(format!("database: {e}")))?;
        Ok(Db {
            pool,
            backend: name,
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(pool_size.max(1) as usize)),
        })
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| AppError::Internal("database closed".into()))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(format!("database task failed: {e}")))?
    }

    /// SQLite: checkpoints the WAL into the database file once a second, off the write path.
    /// PASSIVE never waits for (or blocks) readers and writers; what a reader still needs stays
    /// in the WAL until the next round. (The last connection to close checkpoints as well.)
    pub fn spawn_checkpointer(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != "sqlite" {
            return None;
        }
        let db = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let done = db
                    .run(|conn| Ok(conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")?))
                    .await;
                if let Err(e) = done {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
                }
            }
        }))
    }

    /// SQLite: copies the whole WAL into the database file and empties it, so that a stopped
    /// server leaves a self-contained database file (for a backup or a copy) behind.
    pub async fn final_checkpoint(&self) -> Result<(), AppError> {
        if self.backend != "sqlite" {
            return Ok(());
        }
        // TRUNCATE waits (busy handler) for readers on older snapshots; at shutdown a second is
        // enough, a test restarting on the same file must not wait ten. The connection is not
        // used again.
        self.run(|conn| {
            Ok(conn.batch_execute("PRAGMA busy_timeout = 1000; PRAGMA wal_checkpoint(TRUNCATE);")?)
        })
        .await
    }

    /// A connection for synchronous callers (CLI, migrations).
    pub fn get(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, AppError> {
        Ok(self.pool.get()?)
    }
}

/// Applies pending migrations; returns the versions applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(versions),
        DbConnection::Postgres(c) => {
            // Replicas starting together must not race each other through the migrations.
            c.batch_execute("SELECT pg_advisory_lock(7243901)")?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(versions);
            c.batch_execute("SELECT pg_advisory_unlock(7243901)")?;
            result
        }
    };
    applied.map_err(|e| AppError::Internal(format!("migration failed: {e}")))
}

/// Whether the SQLite linked in keeps its prepared statements: built without
/// `SQLITE_ENABLE_QPSG` (see `.cargo/config.toml`), SQLite re-prepares every cached statement
/// with a bound `LIMIT` on each use. Always true for PostgreSQL.
pub fn stable_query_plans(conn: &mut DbConnection) -> Result<bool, AppError> {
    use diesel::RunQueryDsl;
    match conn {
        DbConnection::Sqlite(c) => Ok(diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "EXISTS (SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_QPSG')",
        ))
        .get_result(c)?),
        DbConnection::Postgres(_) => Ok(true),
    }
}

/// Reverts every migration (used by `portcullis migrate --revert-all` and the migration tests).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(versions),
        DbConnection::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(versions),
    };
    reverted.map_err(|e| AppError::Internal(format!("migration revert failed: {e}")))
}

fn versions(list: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    list.into_iter().map(|v| v.to_string()).collect()
}

/// Runs a write transaction. On SQLite, writers of this process take turns on an in-process
/// lock first: SQLite makes a blocked writer sleep in growing steps (its busy handler), which
/// under load turns into long tails, while a mutex hands over at once. (SQLite has one writer at
/// a time anyway; PostgreSQL needs none of this.)
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if matches!(conn, DbConnection::Sqlite(_)) {
        let _turn = SQLITE_WRITER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        return conn.transaction(f);
    }
    conn.transaction(f)
}

/// Takes SQLite's write lock at the start of a transaction that reads before it writes. SQLite
/// refuses (SQLITE_BUSY) rather than waits when a reading transaction tries to become a writer
/// while another writer is active; a write first makes it wait its turn instead. PostgreSQL
/// needs nothing here.
pub fn begin_write(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute("DELETE FROM verification WHERE 0 = 1")?;
    }
    Ok(())
}

/// True when the error is the database refusing a duplicate (a UNIQUE constraint).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://./data/p.db").unwrap(),
            Backend::Sqlite("./data/p.db".into())
        );
        assert_eq!(
            Backend::from_url("/tmp/p.db").unwrap(),
            Backend::Sqlite("/tmp/p.db".into())
        );
        assert!(matches!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        assert!(Backend::from_url("mysql://h/db").is_err());
        assert!(Backend::from_url("sqlite://:memory:").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn sqlite_files_and_a_new_directory_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        let file = dir.join("portcullis.db");
        let db = Db::connect(
            &format!("sqlite://{}", file.display()),
            1,
            Duration::from_secs(5),
        )
        .unwrap();
        let mut conn = db.get().unwrap();
        conn.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        assert_eq!(mode(&dir), 0o700);
        for name in ["portcullis.db", "portcullis.db-wal", "portcullis.db-shm"] {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        }
    }
}
