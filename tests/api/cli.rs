use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::helpers::*;

backend_tests!(
    user_commands_create_list_set_password_and_delete,
    cli_errors_are_clear_and_exit_non_zero,
    migrate_applies_and_reverts,
    check_emails_reports_rows_that_no_longer_fit,
);

/// Runs the real binary against a test database.
fn portcullis(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("PORTCULLIS_DATABASE__URL", &db.url)
        .env("PORTCULLIS_DATA_DIR", db.data_dir.path())
        .env("PORTCULLIS_PASSWORD__LOG_N", "4")
        .env("PORTCULLIS_LOG__FILTER", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

async fn user_commands_create_list_set_password_and_delete(backend: Backend) {
    let db = TestDb::new(backend);
    let out = portcullis(
        &db,
        &[
            "user",
            "create",
            "--email",
            "Admin@Example.com",
            "--name",
            "Admin",
            "--password-stdin",
            "--admin",
            "--verified",
        ],
        Some("an admin passphrase\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    assert!(id.starts_with("usr_"), "{id}");
    let out = portcullis(
        &db,
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--name",
            "Bob",
            "--password",
            "bobs passphrase",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let out = portcullis(&db, &["user", "list", "--json"], None);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    insta::assert_json_snapshot!("user_list", list, { "[].id" => "[id]", "[].created_at" => "[timestamp]" });
    let table = stdout(&portcullis(&db, &["user", "list"], None));
    assert!(table.contains("admin@example.com") && table.contains("bob@example.com"));

    // set-password, then the server accepts the new password and refuses the old one.
    let out = portcullis(
        &db,
        &["user", "set-password", &id, "--password-stdin"],
        Some("a fresh passphrase\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let test_db = std::sync::Arc::new(db);
    let app = spawn_on(backend, test_db.clone()).await;
    assert_eq!(
        app.browser()
            .login("admin@example.com", "an admin passphrase")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.browser()
            .login("admin@example.com", "a fresh passphrase")
            .await
            .status(),
        303
    );

    let out = portcullis(&test_db, &["user", "delete", "bob@example.com"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        app.browser()
            .login("bob@example.com", "bobs passphrase")
            .await
            .status(),
        401
    );
    let table = stdout(&portcullis(&test_db, &["user", "list"], None));
    assert!(!table.contains("bob@example.com"));
}

async fn spawn_on(_backend: Backend, db: std::sync::Arc<TestDb>) -> TestApp {
    let settings = test_settings(&db);
    let app = portcullis::startup::Application::build(settings.clone())
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let _handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp::attach(address, settings, db)
}

async fn cli_errors_are_clear_and_exit_non_zero(backend: Backend) {
    let db = TestDb::new(backend);
    let create = |email: &str, pw: &str| {
        portcullis(
            &db,
            &[
                "user",
                "create",
                "--email",
                email,
                "--name",
                "Ada",
                "--password-stdin",
            ],
            Some(pw),
        )
    };
    assert!(create("ada@example.com", "long enough pw\n")
        .status
        .success());

    let dup = create("ADA@example.com", "long enough pw\n");
    assert!(!dup.status.success());
    assert!(stderr(&dup).contains("already exists"), "{}", stderr(&dup));

    let bad = create("not-an-email", "long enough pw\n");
    assert!(!bad.status.success() && stderr(&bad).contains("--email"));

    let short = create("eve@example.com", "short\n");
    assert!(!short.status.success() && stderr(&short).contains("at least 8"));

    let empty = create("eve@example.com", "");
    assert!(!empty.status.success() && stderr(&empty).contains("no password"));

    let missing = portcullis(&db, &["user", "delete", "nobody@example.com"], None);
    assert!(!missing.status.success() && stderr(&missing).contains("no user"));

    let neither = portcullis(
        &db,
        &["user", "create", "--email", "x@example.com", "--name", "X"],
        None,
    );
    assert!(!neither.status.success());

    let typo = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["user", "list"])
        .env("PORTCULLIS_DATABASE__URL", &db.url)
        .env("PORTCULLIS_SESION__IDLE_TIMEOUT_SECS", "5")
        .output()
        .unwrap();
    assert!(!typo.status.success());
    // The variable as the user spelled it, not figment's internal "SESION.IDLE_TIMEOUT_SECS".
    assert!(
        stderr(&typo).contains(
            "environment variable PORTCULLIS_SESION__IDLE_TIMEOUT_SECS: unknown key `sesion`"
        ),
        "{}",
        stderr(&typo)
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portcullis.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:0\"\n\n[sesion]\nidle_timeout_secs = 5\n",
    )
    .unwrap();
    let typo = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["--config", file.to_str().unwrap(), "user", "list"])
        .env("PORTCULLIS_DATABASE__URL", &db.url)
        .output()
        .unwrap();
    assert!(!typo.status.success());
    let expected = format!(
        "error: configuration error: key `sesion` in config file {}: unknown key `sesion`",
        file.display()
    );
    assert!(stderr(&typo).contains(&expected), "{}", stderr(&typo));

    let missing_file = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["--config", "/nonexistent.toml", "migrate"])
        .output()
        .unwrap();
    assert!(!missing_file.status.success() && stderr(&missing_file).contains("not found"));
}

async fn migrate_applies_and_reverts(backend: Backend) {
    let db = TestDb::new(backend);
    let up = portcullis(&db, &["migrate"], None);
    assert!(up.status.success(), "{}", stderr(&up));
    assert!(stdout(&up).contains("up to date"));
    let down = portcullis(&db, &["migrate", "--revert-all"], None);
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(stdout(&down).contains("reverted 18 migration"));
    assert!(portcullis(&db, &["migrate"], None).status.success());
}

/// Rows written before NFKC and the invisible-character rule are reported for an admin to
/// review, never merged or rewritten by the check.
async fn check_emails_reports_rows_that_no_longer_fit(backend: Backend) {
    use diesel::prelude::*;
    use portcullis::db::schema::users;

    let app = spawn_app(backend).await;
    let out = portcullis(&app.test_db, &["user", "check-emails"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("all 0 addresses are in normal form"));

    let rows = [
        ("usr_00000000000000000000000000000001", "alice@example.com"),
        (
            "usr_00000000000000000000000000000002",
            "\u{FF41}lice@example.com",
        ),
        (
            "usr_00000000000000000000000000000003",
            "bob\u{200B}@example.com",
        ),
        (
            "usr_00000000000000000000000000000004",
            "d\u{FF41}ve@example.com",
        ),
        ("usr_00000000000000000000000000000005", "erin@example.com"),
    ];
    app.query(move |c| {
        let now = chrono::Utc::now().naive_utc();
        for (id, email) in rows {
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(id),
                    users::email.eq(email),
                    users::email_verified.eq(true),
                    users::name.eq("Old row"),
                    users::is_admin.eq(false),
                    users::created_at.eq(now),
                    users::updated_at.eq(now),
                ))
                .execute(c)?;
        }
        Ok(())
    })
    .await;

    let out = portcullis(&app.test_db, &["user", "check-emails", "--json"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 stored address(es) need review"));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        report,
        serde_json::json!([
            {"problem": "refused", "user": "usr_00000000000000000000000000000003",
             "email": "bob\u{200B}@example.com"},
            {"problem": "collision", "normalised": "alice@example.com", "users": [
                ["usr_00000000000000000000000000000001", "alice@example.com"],
                ["usr_00000000000000000000000000000002", "\u{FF41}lice@example.com"]]},
            {"problem": "unnormalised", "user": "usr_00000000000000000000000000000004",
             "email": "d\u{FF41}ve@example.com", "normalised": "dave@example.com"},
        ])
    );
    // Nothing was changed.
    let count: i64 = app.query(|c| users::table.count().get_result(c)).await;
    assert_eq!(count, 5);
}
