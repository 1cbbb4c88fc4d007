//! Storage: one diesel `MultiConnection` over SQLite and PostgreSQL, pooled with r2d2, with the
//! backend chosen from the URL scheme. Diesel is blocking, so every use goes through [`Db::run`],
//! which moves the work off the async executor.

pub mod failure;
pub mod json_list;
pub mod migrations;
pub mod models;
pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::error::AppError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;

pub use migrations::{
    revert_all_migrations, revert_last_migration, run_migrations, run_next_migration,
};

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
            return Err(AppError::Config(
                "database.url: unsupported URL (use sqlite://PATH or postgres://…)".into(),
            ));
        }
        if path == ":memory:" {
            // Every pooled connection would get its own empty database.
            return Err(AppError::Config(
                "database.url: in-memory SQLite cannot be pooled; use a file".into(),
            ));
        }
        Ok(Backend::Sqlite(PathBuf::from(path)))
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }
}

/// Which database a [`Db`] talks to, without where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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

    /// Called when a connection goes back to the pool; a broken one is closed instead. Cheap on
    /// the usual path (no round trip): broken is a panic in the middle of the work, or diesel's
    /// own verdict (a transaction left open, or a transaction manager that lost track after a
    /// failed COMMIT/ROLLBACK). A connection the server lost (a PostgreSQL restart, a dropped
    /// socket) shows only as an error of the query, and the pool never tests on check-out; so
    /// after work that failed (see [`Db::run`]) one `SELECT 1` decides, and a dead connection
    /// is replaced instead of failing every request it is handed to.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        let failed = LAST_USE_FAILED.with(|f| f.replace(false));
        std::thread::panicking()
            || diesel::r2d2::R2D2Connection::is_broken(conn)
            || (failed && conn.batch_execute("SELECT 1").is_err())
    }
}

thread_local! {
    /// Set by [`Db::run`] when its work returned an error, read by `has_broken` as the
    /// connection goes back to the pool: r2d2 returns it on the same thread, in the drop of the
    /// pooled connection, so the flag belongs to that connection's last use.
    static LAST_USE_FAILED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The pool plus the knowledge of which backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: BackendKind,
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
        let kind = backend.kind();
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
            backend: kind,
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(pool_size.max(1) as usize)),
        })
    }

    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// How many connections the pool holds and how many of them are idle (for `/metrics`).
    pub fn pool_use(&self) -> crate::metrics::PoolUse {
        let state = self.pool.state();
        crate::metrics::PoolUse {
            connections: state.connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
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
            let result = f(&mut conn);
            if result.is_err() {
                LAST_USE_FAILED.with(|failed| failed.set(true));
            }
            result
        })
        .await
        .map_err(|e| AppError::Internal(format!("database task failed: {e}")))?
    }

    /// SQLite: checkpoints the WAL into the database file once a second, off the write path.
    /// PASSIVE never waits for (or blocks) readers and writers; what a reader still needs stays
    /// in the WAL until the next round. (The last connection to close checkpoints as well.)
    pub fn spawn_checkpointer(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != BackendKind::Sqlite {
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
        if self.backend != BackendKind::Sqlite {
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

/// Runs a write transaction: the one way to write more than a single statement.
///
/// On SQLite the transaction is `BEGIN IMMEDIATE` (what diesel's
/// `SqliteConnection::immediate_transaction` does; that method hands the closure a
/// `SqliteConnection`, not our `DbConnection`, so the same primitive is used here): it takes the
/// write lock at the start. A deferred transaction that reads and then writes is refused
/// (SQLITE_BUSY, without waiting) when another writer got in between; taking the lock first
/// makes it wait its turn instead. Writers of this process also take turns on an in-process
/// mutex before BEGIN: SQLite makes a blocked writer sleep in growing steps (its busy handler),
/// which under load turns into long tails, while a mutex hands over at once. SQLite has one
/// writer at a time anyway; the busy handler still covers other processes (the CLI).
///
/// Nested inside another transaction, it is a savepoint of that one (the lock is already held).
/// PostgreSQL needs none of this: a plain transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    let depth =
        AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    let _turn = SQLITE_WRITER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    // The transaction state lives in the SQLite connection's manager, which the
    // MultiConnection's manager delegates to: commit and rollback below close what began above.
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            match <DbConnection as Connection>::TransactionManager::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
                Err(rollback) => Err(rollback.into()),
            }
        }
    }
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

    fn sqlite_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url, 2, Duration::from_secs(5)).unwrap();
        db.get()
            .unwrap()
            .batch_execute("CREATE TABLE t (x INTEGER)")
            .unwrap();
        (dir, db)
    }

    #[test]
    fn a_write_transaction_holds_sqlites_write_lock_from_its_start() {
        let (_dir, db) = sqlite_db();
        let mut conn = db.get().unwrap();
        let mut other = db.get().unwrap();
        other.batch_execute("PRAGMA busy_timeout = 0").unwrap();
        write_transaction::<_, diesel::result::Error, _>(&mut conn, |_| {
            // Nothing written yet, and another writer is already refused.
            assert!(other.batch_execute("BEGIN IMMEDIATE").is_err());
            Ok(())
        })
        .unwrap();
        other.batch_execute("BEGIN IMMEDIATE; ROLLBACK").unwrap();
    }

    #[test]
    fn a_nested_write_transaction_is_a_savepoint_of_the_outer_one() {
        use diesel::RunQueryDsl;
        let (_dir, db) = sqlite_db();
        let mut conn = db.get().unwrap();
        write_transaction::<_, diesel::result::Error, _>(&mut conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            let inner = write_transaction::<(), _, _>(c, |c| {
                c.batch_execute("INSERT INTO t VALUES (2)")?;
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(inner.is_err());
            Ok(())
        })
        .unwrap();
        let n: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM t)",
        ))
        .get_result(&mut *conn)
        .unwrap();
        assert_eq!(n, 1, "the outer insert stays, the inner one is rolled back");
    }

    #[test]
    fn a_connection_left_in_a_transaction_is_broken_and_a_working_one_is_not() {
        use diesel::connection::TransactionManager;
        use r2d2::ManageConnection;
        let dir = tempfile::tempdir().unwrap();
        let manager = ConnectionManager {
            backend: Backend::Sqlite(dir.path().join("t.db")),
        };
        let mut conn = manager.connect().unwrap();
        assert!(!manager.has_broken(&mut conn));
        // After failed work the connection is pinged: this one still answers.
        LAST_USE_FAILED.with(|f| f.set(true));
        assert!(!manager.has_broken(&mut conn));
        <DbConnection as Connection>::TransactionManager::begin_transaction(&mut conn).unwrap();
        assert!(manager.has_broken(&mut conn), "an open transaction");
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
