//! Database errors mapped (issue 15): each kind of failure the database itself reports —
//! unique, foreign-key, not-null and check violations, and a timeout — provoked for real on
//! each backend, reaches a person as a clear page (409, 400, 408) and an admin API caller as
//! JSON with the same status, never as a 500 or with the database's own text.

use actix_web::body::MessageBody;
use actix_web::ResponseError;
use diesel::prelude::*;
use diesel::result::Error;
use portcullis::admin::AdminError;
use portcullis::db::failure::DbFailure;
use portcullis::error::AppError;

use crate::helpers::*;

backend_tests!(
    constraint_violations_become_conflicts_and_bad_requests,
    a_database_that_does_not_answer_in_time_is_a_timeout,
);

/// Runs one statement that must fail, and returns the database's error.
async fn failing(app: &TestApp, sql: &'static str) -> Error {
    app.query(move |c| Ok(diesel::sql_query(sql).execute(c)))
        .await
        .expect_err(sql)
}

/// The page a person sees for this error: its status and text.
async fn page(e: Error) -> (u16, String) {
    let err = AppError::Database(e);
    let res = err.error_response();
    let status = res.status().as_u16();
    let body = res.into_body().try_into_bytes().unwrap_or_default();
    (status, String::from_utf8_lossy(&body).to_string())
}

/// What the admin API answers for the same error: status and JSON body.
async fn api(e: Error) -> (u16, serde_json::Value) {
    let err = portcullis::web::admin::ApiError::from(AdminError::App(AppError::Database(e)));
    let res = err.error_response();
    let status = res.status().as_u16();
    let body = res.into_body().try_into_bytes().unwrap_or_default();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn check(
    app: &TestApp,
    sql: &'static str,
    failure: DbFailure,
    status: u16,
    says: &str,
    code: &str,
) {
    let e = failing(app, sql).await;
    assert_eq!(DbFailure::of(&e), failure, "{sql}: {e:?}");
    let (got, html) = page(failing(app, sql).await).await;
    assert_eq!(got, status, "{sql}");
    assert!(html.contains(says), "{sql}: the page explains: {html}");
    for leak in ["constraint", "violates", "user_group", "SQL"] {
        assert!(
            !html.contains(leak),
            "{sql}: no database text on the page ({leak})"
        );
    }
    let (got, json) = api(failing(app, sql).await).await;
    assert_eq!(got, status, "{sql}: {json}");
    assert_eq!(json["error"], code, "{json}");
    let message = json["message"].as_str().unwrap();
    assert!(!message.contains("constraint") && !message.contains("user_group"));
    // At a protocol endpoint: RFC 6749 error JSON, with the same status.
    let (got, json) = oauth(failing(app, sql).await).await;
    assert_eq!(got, status, "{sql}: {json}");
    assert_eq!(json["error"], "invalid_request", "{json}");
    let description = json["error_description"].as_str().unwrap();
    assert!(!description.contains("constraint") && !description.contains("user_group"));
}

/// What a relying application gets from a protocol endpoint for the same error.
async fn oauth(e: Error) -> (u16, serde_json::Value) {
    let err = portcullis::oidc::error::OAuthError::Server(AppError::Database(e));
    let res = portcullis::web::oidc::oauth_error(&err, false);
    let status = res.status().as_u16();
    let body = res.into_body().try_into_bytes().unwrap_or_default();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn constraint_violations_become_conflicts_and_bad_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    app.query(|c| {
        diesel::sql_query(
            "INSERT INTO user_group (id, name, name_key, created_at, updated_at) \
             VALUES ('grp_a', 'Staff', 'staff', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        )
        .execute(c)
    })
    .await;

    check(
        &app,
        "INSERT INTO user_group (id, name, name_key, created_at, updated_at) \
         VALUES ('grp_b', 'STAFF', 'staff', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        DbFailure::Duplicate,
        409,
        "Someone else took the same name or address at the same moment.",
        "conflict",
    )
    .await;
    check(
        &app,
        "INSERT INTO group_member (group_id, user_id, added_at) \
         VALUES ('grp_gone', 'usr_gone', CURRENT_TIMESTAMP)",
        DbFailure::Reference,
        409,
        "was removed, or is still in use, in the meantime",
        "conflict",
    )
    .await;
    check(
        &app,
        "INSERT INTO user_group (id, name, name_key, created_at, updated_at) \
         VALUES ('grp_c', NULL, 'c', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        DbFailure::Missing,
        400,
        "Part of what was sent is missing or outside what is allowed.",
        "invalid_request",
    )
    .await;
    check(
        &app,
        "UPDATE \"user\" SET email = ''",
        DbFailure::OutOfRange,
        400,
        "Part of what was sent is missing or outside what is allowed.",
        "invalid_request",
    )
    .await;

    // Nothing of any of them was written.
    let groups: i64 = app
        .query(|c| {
            portcullis::db::schema::user_group::table
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(groups, 1);
}

async fn a_database_that_does_not_answer_in_time_is_a_timeout(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.test_db.url.clone();
    let e = match backend {
        // Another connection holds the write lock longer than this one will wait.
        Backend::Sqlite => app
            .query(move |holder| {
                diesel::sql_query("BEGIN IMMEDIATE").execute(holder)?;
                let path = url.trim_start_matches("sqlite://");
                let mut waiter = diesel::SqliteConnection::establish(path)
                    .map_err(|e| Error::QueryBuilderError(e.to_string().into()))?;
                diesel::sql_query("PRAGMA busy_timeout = 50").execute(&mut waiter)?;
                let result = diesel::sql_query(
                    "UPDATE user_settings SET theme = 'dark' WHERE user_id = 'nobody'",
                )
                .execute(&mut waiter);
                diesel::sql_query("ROLLBACK").execute(holder)?;
                Ok(result)
            })
            .await
            .expect_err("the second writer waits in vain"),
        // A statement that outlasts its statement timeout.
        Backend::Postgres => app
            .query(|c| {
                Ok(c.transaction::<_, Error, _>(|c| {
                    diesel::sql_query("SET LOCAL statement_timeout = 20").execute(c)?;
                    diesel::sql_query("SELECT pg_sleep(2)").execute(c)?;
                    Ok(())
                }))
            })
            .await
            .expect_err("the statement is cancelled"),
    };
    assert_eq!(DbFailure::of(&e), DbFailure::Timeout, "{e:?}");
    let message = e.to_string();
    let (status, html) = page(e).await;
    assert_eq!(status, 408, "{message}");
    assert!(html.contains("The database was busy and did not answer in time."));
    let same = Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(message.clone()),
    );
    let (status, json) = oauth(same).await;
    assert_eq!(status, 408, "{json}");
    assert_eq!(json["error"], "temporarily_unavailable", "{json}");
}
