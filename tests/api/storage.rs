use diesel::prelude::*;
use diesel::sql_types::BigInt;
use portcullis::db::schema::users;
use portcullis::db::{self, Db};
use portcullis::identity::credentials::{create_user, NewIdentity};
use portcullis::identity::email::Email;
use std::time::Duration;

use crate::helpers::*;

backend_tests!(
    migrations_go_up_and_down_and_up_again,
    data_survives_a_restart,
    database_unique_constraint_decides_concurrent_creates,
    cached_statements_keep_their_query_plans,
    sqlite_wal_is_checkpointed_in_the_background,
    devices_are_remembered_per_user_and_forgotten_with_the_user,
);

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn table_count(conn: &mut db::DbConnection) -> i64 {
    let sql = match conn {
        db::DbConnection::Sqlite(_) => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'"
        }
        db::DbConnection::Postgres(_) => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'"
        }
    };
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

async fn migrations_go_up_and_down_and_up_again(backend: Backend) {
    let test_db = TestDb::new(backend);
    let db = Db::connect(&test_db.url, 1, Duration::from_secs(5)).unwrap();
    db.run(|c| {
        let applied = db::run_migrations(c)?;
        assert!(!applied.is_empty());
        assert_eq!(table_count(c), 19);
        assert!(
            db::run_migrations(c)?.is_empty(),
            "a second run applies nothing"
        );
        let reverted = db::revert_all_migrations(c)?;
        assert_eq!(reverted.len(), applied.len());
        assert_eq!(table_count(c), 0, "down migrations remove every table");
        db::run_migrations(c)?;
        assert_eq!(table_count(c), 19);
        Ok(())
    })
    .await
    .unwrap();
}

/// SQLite must be built with SQLITE_ENABLE_QPSG (.cargo/config.toml): without it, every cached
/// statement with a bound LIMIT (diesel's `.first()`) is re-prepared on each use.
async fn cached_statements_keep_their_query_plans(backend: Backend) {
    let test_db = TestDb::new(backend);
    let db = Db::connect(&test_db.url, 1, Duration::from_secs(5)).unwrap();
    assert!(db.run(db::stable_query_plans).await.unwrap());
}

/// Commits never checkpoint (that stalled every writer behind one fsync); the server's
/// background checkpointer moves the WAL into the database file within a couple of seconds.
async fn sqlite_wal_is_checkpointed_in_the_background(backend: Backend) {
    if backend != Backend::Sqlite {
        return;
    }
    let app = spawn_app(backend).await;
    let db_file = app.data_dir().join("test.db");
    let size = || std::fs::metadata(&db_file).unwrap().len();
    // Measured before writing: the checkpointer may already run while the rows go in.
    let before = size();
    app.query(|c| {
        diesel::sql_query("CREATE TABLE scratch (x BLOB)").execute(c)?;
        for _ in 0..300 {
            diesel::sql_query("INSERT INTO scratch VALUES (randomblob(4000))").execute(c)?;
        }
        Ok(())
    })
    .await;
    let mut after = size();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = size();
        if after > before + 1_000_000 {
            break;
        }
    }
    assert!(
        after > before + 1_000_000,
        "the 1.2 MB written reached the database file: {before} -> {after}"
    );
}

async fn data_survives_a_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    b.post(
        "/account/profile",
        &[("name", "Ada King"), ("bio", "still here")],
    )
    .await;
    let key = std::fs::read_to_string(app.data_dir().join("master.key")).unwrap();

    let app = app.restart().await;
    let b2 = app.browser();
    assert_eq!(b2.login("ada@example.com", PASSWORD).await.status(), 303);
    let html = b2.get("/account").await.text().await.unwrap();
    assert!(html.contains("Ada King") && html.contains("still here"));
    assert_eq!(
        std::fs::read_to_string(app.data_dir().join("master.key")).unwrap(),
        key,
        "the master key is reused"
    );
}

async fn database_unique_constraint_decides_concurrent_creates(backend: Backend) {
    let app = spawn_app(backend).await;
    let creates = (0..8).map(|i| {
        let db = app.db.clone();
        async move {
            db.run(move |c| {
                let email = Email::parse("same@example.com").unwrap();
                let name = format!("Racer {i}");
                let new = NewIdentity {
                    email: &email,
                    name: &name,
                    password_hash: Some("x"),
                    email_verified: false,
                    is_admin: false,
                };
                create_user(c, &new)
            })
            .await
            .unwrap()
            .is_some()
        }
    });
    let created = futures_util::future::join_all(creates).await;
    assert_eq!(created.iter().filter(|c| **c).count(), 1, "{created:?}");
    let count: i64 = app.query(|c| users::table.count().get_result(c)).await;
    assert_eq!(count, 1);
}

async fn devices_are_remembered_per_user_and_forgotten_with_the_user(backend: Backend) {
    use portcullis::identity::devices::{remember, sweep, DeviceToken, Sighting};
    let test_db = TestDb::new(backend);
    let db = Db::connect(&test_db.url, 1, Duration::from_secs(5)).unwrap();
    db.run(|c| {
        db::run_migrations(c)?;
        let mut user = |email: &str| {
            let email = Email::parse(email).unwrap();
            let new = NewIdentity {
                email: &email,
                name: "Ada",
                password_hash: None,
                email_verified: true,
                is_admin: false,
            };
            create_user(c, &new).map(|u| u.unwrap().id)
        };
        let (ada, bob) = (user("ada@example.com")?, user("bob@example.com")?);
        let now = portcullis::identity::now();
        let (laptop, phone) = (DeviceToken::generate(), DeviceToken::generate());
        assert_eq!(remember(c, &ada, &laptop, now)?, Sighting::First);
        assert_eq!(remember(c, &ada, &laptop, now)?, Sighting::Known);
        assert_eq!(remember(c, &ada, &phone, now)?, Sighting::New);
        assert_eq!(
            remember(c, &bob, &laptop, now)?,
            Sighting::First,
            "a browser is known per user"
        );
        // Unseen for longer than the cookie lives: forgotten.
        assert_eq!(sweep(c, now + chrono::Duration::days(401))?, 3);
        assert_eq!(remember(c, &ada, &laptop, now)?, Sighting::First);
        diesel::delete(users::table.filter(users::id.eq(&ada))).execute(c)?;
        let left: i64 = portcullis::db::schema::known_devices::table
            .count()
            .get_result(c)?;
        assert_eq!(left, 0, "devices go with their user");
        Ok(())
    })
    .await
    .unwrap();
}
