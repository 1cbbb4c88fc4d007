//! The schema's migrations: which ones this binary carries, which ones a database has applied,
//! applying them, and their SQL for review (`portcullis migrate status | print | apply`).
//!
//! diesel_migrations applies them from `embed_migrations!`; build.rs embeds the same folders'
//! SQL again for printing, because diesel keeps its copy private (a unit test below checks that
//! the two lists agree). A database may hold versions this binary does not know, written by a
//! newer Portcullis; nothing here runs against it, because this binary's queries would read and
//! write tables whose meaning has changed.

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{BackendKind, DbConnection};
use crate::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// PostgreSQL advisory lock held while migrating: replicas that start together must not race
/// each other through the migrations.
const MIGRATION_LOCK: &str = "SELECT pg_advisory_lock(7243901)";
const MIGRATION_UNLOCK: &str = "SELECT pg_advisory_unlock(7243901)";

/// One migration folder's SQL, as build.rs embedded it.
#[derive(Debug)]
pub struct MigrationSql {
    /// The folder name, for example `2026-11-25-000001_foundation`.
    pub folder: &'static str,
    pub up: &'static str,
    pub down: Option<&'static str>,
}

// SQLITE_SQL and POSTGRES_SQL, oldest first.
include!(concat!(env!("OUT_DIR"), "/migration_sql.rs"));

impl MigrationSql {
    /// diesel's version, as `__diesel_schema_migrations.version` holds it: the folder name up
    /// to the first `_`, without its dashes.
    pub fn version(&self) -> String {
        self.folder
            .split('_')
            .next()
            .unwrap_or(self.folder)
            .replace('-', "")
    }

    /// What follows the version in the folder name, for example `foundation`.
    pub fn name(&self) -> &'static str {
        self.folder.split_once('_').map_or("", |(_, name)| name)
    }
}

/// The migrations this binary carries for a backend, oldest first.
pub fn known(backend: BackendKind) -> &'static [MigrationSql] {
    match backend {
        BackendKind::Sqlite => SQLITE_SQL,
        BackendKind::Postgres => POSTGRES_SQL,
    }
}

/// Where a database's schema stands against this binary's migrations.
#[derive(Debug)]
pub struct SchemaStatus {
    pub backend: BackendKind,
    /// Every migration this binary carries, oldest first, with whether the database applied it.
    pub migrations: Vec<(&'static MigrationSql, bool)>,
    /// Versions the database applied that this binary does not carry, oldest first.
    pub unknown: Vec<String>,
}

impl SchemaStatus {
    pub fn pending(&self) -> impl DoubleEndedIterator<Item = &'static MigrationSql> + '_ {
        self.migrations
            .iter()
            .filter(|(_, applied)| !applied)
            .map(|(m, _)| *m)
    }

    pub fn applied(&self) -> impl DoubleEndedIterator<Item = &'static MigrationSql> + '_ {
        self.migrations
            .iter()
            .filter(|(_, applied)| *applied)
            .map(|(m, _)| *m)
    }

    /// Refuses a schema that a newer Portcullis migrated.
    pub fn require_known(&self) -> Result<(), SchemaError> {
        if self.unknown.is_empty() {
            Ok(())
        } else {
            Err(SchemaError::NewerThanBinary {
                unknown: self.unknown.clone(),
                newest_known: known(self.backend)
                    .last()
                    .map(MigrationSql::version)
                    .unwrap_or_default(),
            })
        }
    }
}

/// Why the database cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database schema is newer than this binary: applied migration{} {} {} unknown to it \
         (the newest this binary carries is {newest_known}); run a newer Portcullis, or restore \
         a backup of the database taken before the newer version migrated it",
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join(", "),
        if unknown.len() == 1 { "is" } else { "are" }
    )]
    NewerThanBinary {
        unknown: Vec<String>,
        newest_known: String,
    },
    #[error(
        "the database has {} pending migration(s): {}; migrations at start are off \
         (serve --no-migrate, or database.migrate_on_start = false). Review them with \
         `portcullis migrate print`, then run `portcullis migrate apply`",
        pending.len(),
        pending.join(", ")
    )]
    Pending { pending: Vec<String> },
}

impl From<SchemaError> for AppError {
    fn from(e: SchemaError) -> Self {
        AppError::Config(e.to_string())
    }
}

/// What opening the database does about pending migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOpen {
    /// Applies them (`database.migrate_on_start`, the default).
    Apply,
    /// Refuses to go on while any is pending: a pipeline applies them (`serve --no-migrate`).
    RequireCurrent,
}

fn backend_of(conn: &DbConnection) -> BackendKind {
    match conn {
        DbConnection::Sqlite(_) => BackendKind::Sqlite,
        DbConnection::Postgres(_) => BackendKind::Postgres,
    }
}

/// Reads where the schema stands. Changes nothing: on a database never migrated, diesel's
/// `applied_migrations` would create its bookkeeping table, so its absence is checked first.
pub fn status(conn: &mut DbConnection) -> Result<SchemaStatus, AppError> {
    let backend = backend_of(conn);
    let applied = applied_versions(conn)?;
    let carried = known(backend);
    let migrations = carried
        .iter()
        .map(|m| (m, applied.contains(&m.version())))
        .collect();
    let mut unknown: Vec<String> = applied
        .into_iter()
        .filter(|v| !carried.iter().any(|m| m.version() == *v))
        .collect();
    unknown.sort();
    Ok(SchemaStatus {
        backend,
        migrations,
        unknown,
    })
}

fn applied_versions(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    use diesel::sql_types::Bool;
    let exists: bool = match conn {
        DbConnection::Sqlite(c) => diesel::select(diesel::dsl::sql::<Bool>(
            "EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
             AND name = '__diesel_schema_migrations')",
        ))
        .get_result(c)?,
        // The search path decides, as it does where diesel creates the table.
        DbConnection::Postgres(c) => diesel::select(diesel::dsl::sql::<Bool>(
            "to_regclass('__diesel_schema_migrations') IS NOT NULL",
        ))
        .get_result(c)?,
    };
    if !exists {
        return Ok(Vec::new());
    }
    let applied = match conn {
        DbConnection::Sqlite(c) => c.applied_migrations(),
        DbConnection::Postgres(c) => c.applied_migrations(),
    };
    applied
        .map(versions)
        .map_err(|e| AppError::Internal(format!("cannot read the applied migrations: {e}")))
}

/// Checks the schema against this binary and, with [`OnOpen::Apply`], applies what is pending;
/// returns the versions applied, oldest first. A schema newer than the binary is refused either
/// way, before anything runs.
pub fn prepare(conn: &mut DbConnection, on_open: OnOpen) -> Result<Vec<String>, AppError> {
    if on_open == OnOpen::RequireCurrent {
        let status = status(conn)?;
        status.require_known()?;
        let pending: Vec<String> = status
            .pending()
            .map(|m| format!("{} ({})", m.version(), m.name()))
            .collect();
        return if pending.is_empty() {
            Ok(Vec::new())
        } else {
            Err(SchemaError::Pending { pending }.into())
        };
    }
    under_migration_lock(conn, |conn| {
        status(conn)?.require_known()?;
        let applied = match conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(versions),
            DbConnection::Postgres(c) => {
                c.run_pending_migrations(POSTGRES_MIGRATIONS).map(versions)
            }
        };
        applied.map_err(|e| AppError::Internal(format!("migration failed: {e}")))
    })
}

/// Applies pending migrations; returns the versions applied. Refuses a schema newer than the
/// binary.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    prepare(conn, OnOpen::Apply)
}

/// Runs `f` holding the PostgreSQL migration lock (SQLite has one writer anyway), and lets it
/// go whatever `f` returned.
fn under_migration_lock<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if backend_of(conn) != BackendKind::Postgres {
        return f(conn);
    }
    conn.batch_execute(MIGRATION_LOCK)?;
    let result = f(conn);
    let unlocked = conn.batch_execute(MIGRATION_UNLOCK);
    let value = result?;
    unlocked?;
    Ok(value)
}

/// Reverts every migration (used by `portcullis migrate --revert-all` and the migration tests).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(versions),
        DbConnection::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(versions),
    };
    reverted.map_err(|e| AppError::Internal(format!("migration revert failed: {e}")))
}

/// Applies the next pending migration, if any; returns its version (migration tests step
/// through them one at a time).
pub fn run_next_migration(conn: &mut DbConnection) -> Result<Option<String>, AppError> {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    if !pending.map_err(|e| AppError::Internal(format!("migration check failed: {e}")))? {
        return Ok(None);
    }
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_next_migration(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.run_next_migration(POSTGRES_MIGRATIONS),
    };
    applied
        .map(|v| Some(v.to_string()))
        .map_err(|e| AppError::Internal(format!("migration failed: {e}")))
}

/// Reverts the last applied migration; returns its version.
pub fn revert_last_migration(conn: &mut DbConnection) -> Result<String, AppError> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
    };
    reverted
        .map(|v| v.to_string())
        .map_err(|e| AppError::Internal(format!("migration revert failed: {e}")))
}

fn versions(list: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    list.into_iter().map(|v| v.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::migration::MigrationSource;

    fn diesels<DB: diesel::backend::Backend>(source: &EmbeddedMigrations) -> Vec<(String, String)> {
        let mut list: Vec<(String, String)> = MigrationSource::<DB>::migrations(source)
            .unwrap()
            .iter()
            .map(|m| (m.name().to_string(), m.name().version().to_string()))
            .collect();
        list.sort();
        list
    }

    fn ours(backend: BackendKind) -> Vec<(String, String)> {
        known(backend)
            .iter()
            .map(|m| (m.folder.to_string(), m.version()))
            .collect()
    }

    /// The SQL printed for review is the SQL diesel applies: the same folders, the same versions.
    #[test]
    fn the_printed_migrations_are_the_applied_ones() {
        assert_eq!(
            ours(BackendKind::Sqlite),
            diesels::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)
        );
        assert_eq!(
            ours(BackendKind::Postgres),
            diesels::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS)
        );
        assert!(!SQLITE_SQL.is_empty());
        let foundation = &SQLITE_SQL[0];
        assert_eq!(foundation.version(), "20261125000001");
        assert_eq!(foundation.name(), "foundation");
        assert!(foundation.up.contains("CREATE TABLE"));
        assert!(foundation.down.is_some_and(|d| d.contains("DROP TABLE")));
    }

    #[test]
    fn a_newer_schema_names_its_unknown_versions() {
        let status = SchemaStatus {
            backend: BackendKind::Sqlite,
            migrations: Vec::new(),
            unknown: vec!["29991231000000".into()],
        };
        let message = status.require_known().unwrap_err().to_string();
        assert!(
            message.starts_with(
                "the database schema is newer than this binary: applied migration \
                 29991231000000 is unknown"
            ),
            "{message}"
        );
    }
}
