//! Migrations reviewed before they run: `portcullis migrate status | print | apply`,
//! `serve --no-migrate` (and `database.migrate_on_start = false`) for deployments that migrate in
//! a pipeline, and the refusal of a schema that a newer Portcullis migrated. The real binary, run
//! against a fresh database; what reached the database is checked from the outside.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use portcullis::db::{self, Db, DbConnection};

use crate::helpers::*;

backend_tests!(
    status_lists_every_migration_pending_then_applied,
    print_shows_the_pending_sql_and_applies_nothing,
    apply_prints_each_migration_it_applies,
    serve_no_migrate_refuses_pending_migrations_and_creates_nothing,
    migrate_on_start_false_makes_every_command_refuse_pending_migrations,
    serve_no_migrate_starts_on_an_up_to_date_database,
    a_schema_newer_than_the_binary_is_refused,
);

const UNKNOWN_VERSION: &str = "29991231000000";
const NEWER: &str = "the database schema is newer than this binary: applied migration \
                     29991231000000 is unknown";

/// The migration folders, counted from the repository rather than from the code under test.
fn migration_folders() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn command(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    command
        .args(args)
        .env("PORTCULLIS_DATABASE__URL", &db.url)
        .env("PORTCULLIS_DATA_DIR", db.data_dir.path())
        .env("PORTCULLIS_LISTEN", "127.0.0.1:0")
        .env("PORTCULLIS_MAIL__FILE_DIR", db.data_dir.path().join("mail"))
        .env("PORTCULLIS_PASSWORD__LOG_N", "4")
        .env("PORTCULLIS_LOG__FILTER", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_DATABASE__MIGRATE_ON_START")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs the binary to its end; one still running after a minute (a server that should have
/// refused to start) fails the test instead of hanging it.
fn portcullis_with(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = command(db, args, env).spawn().unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{args:?} still running after a minute:\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn portcullis(db: &TestDb, args: &[&str]) -> Output {
    portcullis_with(db, args, &[])
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exited with {}: {}{}",
        o.status,
        stderr(o),
        stdout(o)
    );
    stdout(o)
}

/// Exits non-zero with `message` on standard error, without a panic.
#[track_caller]
fn refused(o: &Output, message: &str) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected a refusal, got success: {err}{}",
        stdout(o)
    );
    assert!(err.contains(message), "{message:?} not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn open(test_db: &TestDb) -> Db {
    Db::connect(&test_db.url, 1, Duration::from_secs(5)).unwrap()
}

/// How many tables the database holds (diesel's bookkeeping table included).
async fn tables(db: &Db) -> i64 {
    db.run(|conn| {
        let sql = match conn {
            DbConnection::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            DbConnection::Postgres(_) => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
            }
        };
        let select = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "({sql})"
        )));
        Ok(match conn {
            DbConnection::Sqlite(c) => select.get_result(c)?,
            DbConnection::Postgres(c) => select.get_result(c)?,
        })
    })
    .await
    .unwrap()
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

async fn status_lists_every_migration_pending_then_applied(backend: Backend) {
    let n = migration_folders().len();
    let test_db = TestDb::new(backend);
    let db = open(&test_db);

    let fresh = ok(&portcullis(&test_db, &["migrate", "status"]));
    assert_eq!(lines_with(&fresh, "pending").len(), n + 1, "{fresh}");
    assert!(
        fresh.contains(&format!(
            "{n} migrations in this binary, 0 applied, {n} pending"
        )),
        "{fresh}"
    );
    assert!(fresh.contains("portcullis migrate apply"), "{fresh}");
    let first = fresh.lines().nth(1).unwrap();
    assert!(
        first.starts_with("20261125000001") && first.contains("foundation"),
        "{first}"
    );
    assert_eq!(tables(&db).await, 0, "status created nothing");

    db.run(db::run_next_migration).await.unwrap();
    let one = ok(&portcullis(&test_db, &["migrate", "status"]));
    assert!(
        one.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("20261125000001") && l.ends_with("applied")),
        "{one}"
    );
    assert!(
        one.contains(&format!("1 applied, {} pending", n - 1)),
        "{one}"
    );

    ok(&portcullis(&test_db, &["migrate", "apply"]));
    let all = ok(&portcullis(&test_db, &["migrate", "status"]));
    assert_eq!(lines_with(&all, "pending").len(), 1, "{all}");
    assert_eq!(lines_with(&all, "applied").len(), n + 1, "{all}");
    assert!(
        all.contains(&format!("{n} applied, 0 pending (up to date)")),
        "{all}"
    );
}

async fn print_shows_the_pending_sql_and_applies_nothing(backend: Backend) {
    let folders = migration_folders();
    let n = folders.len();
    let test_db = TestDb::new(backend);
    let db = open(&test_db);
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };

    let all = ok(&portcullis(&test_db, &["migrate", "print"]));
    let headers = lines_with(&all, "-- Migration ");
    assert_eq!(headers.len(), n, "{all}");
    assert!(
        headers[0].contains(&format!(
            "20261125000001 foundation (migrations/{backend_name}/{}/up.sql)",
            folders[0]
        )),
        "{}",
        headers[0]
    );
    assert!(all.contains("CREATE TABLE \"user\""), "{all}");
    assert!(!all.contains("DROP TABLE"), "{all}");
    assert_eq!(tables(&db).await, 0, "print applied nothing");

    // One applied: only the others are printed, and printing still changes nothing.
    db.run(db::run_next_migration).await.unwrap();
    let after_one = tables(&db).await;
    let rest = ok(&portcullis(&test_db, &["migrate", "print"]));
    assert_eq!(lines_with(&rest, "-- Migration ").len(), n - 1, "{rest}");
    assert!(!rest.contains("20261125000001"), "{rest}");
    assert!(!rest.contains("CREATE TABLE \"user\""), "{rest}");
    assert_eq!(tables(&db).await, after_one);

    // --down: the revert SQL of what is applied, and nothing reverted.
    let down = ok(&portcullis(&test_db, &["migrate", "print", "--down"]));
    let headers = lines_with(&down, "-- Migration ");
    assert_eq!(headers.len(), 1, "{down}");
    assert!(headers[0].contains("foundation") && headers[0].contains("down.sql"));
    assert!(down.contains("DROP TABLE"), "{down}");
    assert_eq!(tables(&db).await, after_one);

    ok(&portcullis(&test_db, &["migrate", "apply"]));
    let none = ok(&portcullis(&test_db, &["migrate", "print"]));
    assert!(none.contains("up to date"), "{none}");
    assert!(lines_with(&none, "-- Migration ").is_empty(), "{none}");
}

/// `--backend` prints every migration for that backend without any database: here the
/// configured one cannot be reached, and plain `print` (which needs it) fails.
#[test]
fn print_for_a_backend_needs_no_database() {
    let folders = migration_folders();
    let test_db = TestDb::new(Backend::Sqlite);
    let unreachable = |args: &[&str]| {
        portcullis_with(
            &test_db,
            args,
            &[(
                "PORTCULLIS_DATABASE__URL",
                "postgres://portcullis@127.0.0.1:1/nothing",
            )],
        )
    };
    let pg = ok(&unreachable(&["migrate", "print", "--backend", "postgres"]));
    let headers = lines_with(&pg, "-- Migration ");
    assert_eq!(headers.len(), folders.len(), "{pg}");
    assert!(headers
        .iter()
        .zip(&folders)
        .all(|(h, f)| h.contains(&format!("(migrations/postgres/{f}/up.sql)"))));
    assert!(pg.contains("CREATE TABLE \"user\""), "{pg}");

    let down = ok(&unreachable(&[
        "migrate",
        "print",
        "--backend",
        "sqlite",
        "--down",
    ]));
    let headers = lines_with(&down, "-- Migration ");
    assert_eq!(headers.len(), folders.len(), "{down}");
    assert!(
        headers[0].contains(&format!(
            "(migrations/sqlite/{}/down.sql)",
            folders.last().unwrap()
        )),
        "newest first: {down}"
    );

    let needs_db = unreachable(&["migrate", "print"]);
    assert!(!needs_db.status.success(), "{}", stdout(&needs_db));
    let bad = unreachable(&["migrate", "print", "--backend", "oracle"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("possible values"), "{}", stderr(&bad));
}

async fn apply_prints_each_migration_it_applies(backend: Backend) {
    let folders = migration_folders();
    let test_db = TestDb::new(backend);
    let out = ok(&portcullis(&test_db, &["migrate", "apply"]));
    let applied: Vec<&str> = out.lines().filter(|l| l.starts_with("applied ")).collect();
    assert_eq!(applied.len(), folders.len(), "{out}");
    assert_eq!(applied[0], "applied 20261125000001 foundation");
    assert!(
        out.contains(&format!(
            "is up to date: {} migration(s) applied",
            folders.len()
        )),
        "{out}"
    );
    let again = ok(&portcullis(&test_db, &["migrate", "apply"]));
    assert!(!again.contains("applied 2"), "{again}");
    assert!(
        again.contains("is up to date: 0 migration(s) applied"),
        "{again}"
    );
}

async fn serve_no_migrate_refuses_pending_migrations_and_creates_nothing(backend: Backend) {
    let test_db = TestDb::new(backend);
    let out = portcullis(&test_db, &["serve", "--no-migrate"]);
    refused(&out, "pending migration(s): 20261125000001 (foundation), ");
    refused(&out, "run `portcullis migrate apply`");
    assert_eq!(tables(&open(&test_db)).await, 0);
}

/// The configuration key does what `--no-migrate` does, and for the other commands that open
/// the database too; once a pipeline applied the migrations, they run.
async fn migrate_on_start_false_makes_every_command_refuse_pending_migrations(backend: Backend) {
    let test_db = TestDb::new(backend);
    let off = [("PORTCULLIS_DATABASE__MIGRATE_ON_START", "false")];
    refused(
        &portcullis_with(&test_db, &["serve"], &off),
        "pending migration(s): 20261125000001 (foundation)",
    );
    refused(
        &portcullis_with(&test_db, &["user", "list"], &off),
        "run `portcullis migrate apply`",
    );
    assert_eq!(tables(&open(&test_db)).await, 0);
    ok(&portcullis_with(&test_db, &["migrate", "apply"], &off));
    ok(&portcullis_with(&test_db, &["user", "list"], &off));
}

/// A started server, killed when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve_no_migrate_starts_on_an_up_to_date_database(backend: Backend) {
    let test_db = TestDb::new(backend);
    ok(&portcullis(&test_db, &["migrate", "apply"]));
    let mut server = Running(
        command(
            &test_db,
            &["serve", "--no-migrate"],
            &[
                ("PORTCULLIS_LOG__FORMAT", "json"),
                ("PORTCULLIS_LOG__FILTER", "info"),
            ],
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let (tx, lines) = mpsc::channel();
    let stderr = server.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = Vec::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("portcullis listening") => break,
            Ok(line) => log.push(line),
            Err(_) => panic!("the server did not start:\n{}", log.join("\n")),
        }
    }
    assert!(
        !log.iter().any(|l| l.contains("applied migration")),
        "{log:?}"
    );
    let pid = libc::pid_t::try_from(server.0.id()).unwrap();
    // SAFETY: kill only sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

async fn a_schema_newer_than_the_binary_is_refused(backend: Backend) {
    let test_db = TestDb::new(backend);
    ok(&portcullis(&test_db, &["migrate", "apply"]));
    let db = open(&test_db);
    db.run(|c| {
        Ok(c.batch_execute(&format!(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('{UNKNOWN_VERSION}')"
        ))?)
    })
    .await
    .unwrap();

    let status = portcullis(&test_db, &["migrate", "status"]);
    refused(&status, NEWER);
    assert_eq!(status.status.code(), Some(1));
    let listing = stdout(&status);
    assert!(
        lines_with(&listing, UNKNOWN_VERSION)
            .iter()
            .any(|l| l.contains("unknown to this binary")),
        "{listing}"
    );
    assert!(
        listing.contains("1 applied by a newer Portcullis"),
        "{listing}"
    );

    refused(&portcullis(&test_db, &["serve"]), NEWER);
    refused(&portcullis(&test_db, &["serve", "--no-migrate"]), NEWER);
    refused(&portcullis(&test_db, &["user", "list"]), NEWER);
    refused(&portcullis(&test_db, &["migrate", "apply"]), NEWER);
    refused(&portcullis(&test_db, &["migrate"]), NEWER);
    refused(&portcullis(&test_db, &["migrate", "print"]), NEWER);

    // Without the unknown row, the same database is fine again.
    db.run(|c| {
        Ok(c.batch_execute(&format!(
            "DELETE FROM __diesel_schema_migrations WHERE version = '{UNKNOWN_VERSION}'"
        ))?)
    })
    .await
    .unwrap();
    ok(&portcullis(&test_db, &["migrate", "status"]));
    ok(&portcullis(&test_db, &["user", "list"]));
}
