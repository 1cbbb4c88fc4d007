//! Migrations: the two backends' folders say the same thing, and every migration's `down`
//! undoes exactly what its `up` did. The schema is compared as a dump (tables, columns, types,
//! constraints, indexes), not counted: a down migration that forgets an index or a column, or an
//! up that comes back different, shows as a difference in the dump.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use portcullis::db::{self, Db, DbConnection};

use crate::helpers::*;

backend_tests!(
    migrations_go_down_and_up_again_to_the_same_schema,
    each_migration_down_then_up_restores_the_schema,
);

/// Files (relative to `migrations/<backend>/`) whose SQLite and PostgreSQL versions may
/// differ, because the backends need different SQL. Empty today: the two folders are
/// byte-identical. A migration that must differ is listed here, with the reason beside it.
const INTENDED_DIFFERENCES: &[&str] = &[];

fn files_under(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn sqlite_and_postgres_migrations_differ_only_where_intended() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let sqlite = files_under(&root.join("sqlite"));
    let postgres = files_under(&root.join("postgres"));
    assert!(
        !sqlite.is_empty(),
        "no migrations found under {}",
        root.display()
    );
    let only_sqlite: Vec<_> = sqlite
        .keys()
        .filter(|p| !postgres.contains_key(*p))
        .collect();
    let only_postgres: Vec<_> = postgres
        .keys()
        .filter(|p| !sqlite.contains_key(*p))
        .collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "every migration exists for both backends; only in sqlite: {only_sqlite:?}, only in postgres: {only_postgres:?}"
    );
    let differing: Vec<_> = sqlite
        .iter()
        .filter(|(path, bytes)| postgres[*path] != **bytes)
        .map(|(path, _)| path.to_string_lossy().into_owned())
        .collect();
    let unintended: Vec<_> = differing
        .iter()
        .filter(|p| !INTENDED_DIFFERENCES.contains(&p.as_str()))
        .collect();
    assert!(
        unintended.is_empty(),
        "migrations differ between sqlite and postgres without being listed in INTENDED_DIFFERENCES: {unintended:?}"
    );
    let stale: Vec<_> = INTENDED_DIFFERENCES
        .iter()
        .filter(|p| !differing.iter().any(|d| d == *p))
        .collect();
    assert!(
        stale.is_empty(),
        "listed as differing but identical (or gone): {stale:?}"
    );
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// The schema as sorted lines, without diesel's own bookkeeping table.
fn schema(conn: &mut DbConnection) -> Vec<String> {
    let queries: &[&str] = match conn {
        // SQLite keeps each object's CREATE statement (as amended by ALTER TABLE); whitespace is
        // normalized below, the text is otherwise compared as is.
        DbConnection::Sqlite(_) => &["SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || COALESCE(sql, '') AS line \
             FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> '__diesel_schema_migrations'"],
        // PostgreSQL: columns (their order is left out: a column dropped and added again keeps
        // a hole in attnum), every constraint but NOT NULL (is_nullable has it, and its
        // generated name carries OIDs), and every index with its definition.
        DbConnection::Postgres(_) => &[
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type \
                 || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END \
                 || COALESCE(' default ' || column_default, '') AS line \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
            "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ': ' \
                 || pg_get_constraintdef(oid) AS line \
             FROM pg_constraint \
             WHERE connamespace = 'public'::regnamespace AND contype <> 'n' \
               AND conrelid::regclass::text <> '__diesel_schema_migrations'",
            "SELECT 'index ' || tablename || ' ' || indexname || ': ' || indexdef AS line \
             FROM pg_indexes \
             WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'",
            "SELECT 'table ' || table_name || ' ' || table_type AS line \
             FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        ],
    };
    let mut lines: Vec<String> = queries
        .iter()
        .flat_map(|q| diesel::sql_query(*q).load::<Line>(conn).unwrap())
        .map(|l| l.line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

fn fresh(backend: Backend) -> (TestDb, Db) {
    let test_db = TestDb::new(backend);
    let db = Db::connect(&test_db.url, 1, Duration::from_secs(5)).unwrap();
    (test_db, db)
}

async fn migrations_go_down_and_up_again_to_the_same_schema(backend: Backend) {
    let (_test_db, db) = fresh(backend);
    db.run(|c| {
        let applied = db::run_migrations(c)?;
        assert!(!applied.is_empty());
        let up = schema(c);
        assert!(
            up.iter().any(|l| l.contains("known_device")),
            "the dump sees the tables: {up:#?}"
        );
        assert!(
            db::run_migrations(c)?.is_empty(),
            "a second run applies nothing"
        );
        let reverted = db::revert_all_migrations(c)?;
        assert_eq!(reverted.len(), applied.len());
        assert_eq!(
            schema(c),
            Vec::<String>::new(),
            "down migrations leave nothing but diesel's own table"
        );
        db::run_migrations(c)?;
        assert_eq!(schema(c), up, "up again gives the same schema");
        Ok(())
    })
    .await
    .unwrap();
}

/// Steps down one migration at a time from the top, then up one at a time: after each up the
/// schema equals the one seen at that level on the way down, so each down undoes its up.
async fn each_migration_down_then_up_restores_the_schema(backend: Backend) {
    let (_test_db, db) = fresh(backend);
    db.run(|c| {
        let applied = db::run_migrations(c)?;
        let mut levels = vec![schema(c)];
        let mut reverted = Vec::new();
        for _ in &applied {
            reverted.push(db::revert_last_migration(c)?);
            levels.push(schema(c));
        }
        assert_eq!(
            levels.last(),
            Some(&Vec::new()),
            "all the way down is empty"
        );
        // levels[k] is the schema with the last k migrations reverted.
        for k in (0..applied.len()).rev() {
            let version = db::run_next_migration(c)?;
            assert_eq!(version.as_deref(), Some(reverted[k].as_str()));
            assert_eq!(
                schema(c),
                levels[k],
                "migration {} up after down differs",
                reverted[k]
            );
        }
        assert_eq!(db::run_next_migration(c)?, None);
        Ok(())
    })
    .await
    .unwrap();
}
