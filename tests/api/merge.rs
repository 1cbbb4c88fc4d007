//! Merging two users (issue 13): in the browser flow (start signed in to the one that stays,
//! sign in to the other, confirm) and from the CLI, with the same rules: methods move, the
//! merged user's sessions end with back-channel logouts, its tokens die, its ID is retired.

use diesel::prelude::*;
use portcullis::db::schema::{audit_event, user_merge, users};
use serde_json::Value;

use crate::admin_controls::{cli_ok, portcullis};
use crate::helpers::*;
use crate::oidc_logout::{
    assert_signed_out, backchannel_mock, complete_flow, settle, token_request,
    verify_logout_request, wait_for_requests,
};
use crate::rp;

backend_tests!(
    merging_in_the_browser_moves_methods_and_ends_the_other_users_rp_sessions,
    a_merge_is_confirmed_once_and_not_into_the_same_account,
    the_cli_merges_with_the_same_rules,
    deleting_a_user_tells_their_rp_sessions_over_the_back_channel,
);

async fn user_ids(app: &TestApp) -> Vec<(String, String)> {
    app.query(|c| {
        users::table
            .order(users::email.asc())
            .select((users::id, users::email))
            .load::<(String, String)>(c)
    })
    .await
}

async fn merged_into(app: &TestApp) -> Vec<(String, String)> {
    app.query(|c| {
        user_merge::table
            .select((user_merge::merged_id, user_merge::survivor_id))
            .load::<(String, String)>(c)
    })
    .await
}

/// Starts a merge in `b` (signed in to the survivor) and signs in to `email` there.
async fn start_and_prove(b: &Browser, email: &str) {
    let res = b.post("/account/merge/start", &[]).await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login?force=1"),
        "{}",
        location(&res)
    );
    let page = b.get(&location(&res)).await;
    assert_eq!(page.status(), 200, "the sign-in form, though signed in");
    assert_eq!(b.login(email, PASSWORD).await.status(), 303);
}

async fn merging_in_the_browser_moves_methods_and_ends_the_other_users_rp_sessions(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let bc = backchannel_mock().await;
    let mut spec = rp::spec("Notes");
    spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
    let (id, secret) = rp::register(&app, spec).await;
    let secret = secret.unwrap();
    let notes = rp::rp(&app, &id, Some(&secret)).await;

    let main = signed_up(&app, "ada@example.com").await;
    let work = app.browser();
    assert_eq!(
        work.signup("Ada at Work", "ada@work.example", PASSWORD)
            .await
            .status(),
        303
    );
    let work_session = work.session_token().await.unwrap();
    let tokens = complete_flow(&work, &notes, &["profile", "offline_access"]).await;
    let refresh = tokens.refresh_token.clone().expect("a refresh token");
    let ids = user_ids(&app).await;
    let (ada, work_id) = (ids[0].0.clone(), ids[1].0.clone());
    assert_eq!(tokens.claims["sub"], work_id.as_str());

    start_and_prove(&main, "ada@work.example").await;
    let page = main.get("/account/merge/confirm").await;
    assert_eq!(page.status(), 200);
    let html = rp::unescape(&page.text().await.unwrap());
    assert!(
        html.contains("Merge ada@work.example into ada@example.com?"),
        "{html}"
    );
    let res = main
        .post("/account/merge/confirm", &[("take_name", "1")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account?notice=merged");

    // One user left, the survivor, with the other's name as asked; the other's ID retired.
    let left = user_ids(&app).await;
    assert_eq!(left, [(ada.clone(), "ada@example.com".to_string())]);
    let name: String = app
        .query(|c| users::table.select(users::name).first(c))
        .await;
    assert_eq!(name, "Ada at Work");
    assert_eq!(merged_into(&app).await, [(work_id.clone(), ada.clone())]);
    // This browser is signed in to the survivor.
    let html = main
        .get("/account?notice=merged")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("ada@example.com"), "{html}");
    assert!(
        html.contains("The other account was merged into this one."),
        "{html}"
    );
    // The survivor keeps its own password; the other's is gone with it.
    assert_eq!(
        app.browser()
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.browser()
            .login("ada@work.example", PASSWORD)
            .await
            .status(),
        401
    );

    // The merged user's browser session and RP session are over, and its tokens are dead.
    assert_signed_out(&app, &work, &work_session).await;
    let (status, body) = token_request(
        &app,
        &id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    wait_for_requests(&bc, 1).await;
    settle(&app).await;
    let got = bc.received_requests().await.unwrap();
    assert_eq!(got.len(), 1, "one RP session of the merged user");
    let claims: Value = verify_logout_request(&app, &got[0], &id).await;
    assert_eq!(claims["sub"], work_id.as_str());
    assert_eq!(claims["sid"], tokens.claims["sid"]);

    let merged: Vec<Option<String>> = app
        .query(|c| {
            audit_event::table
                .filter(audit_event::kind.eq("user.merged"))
                .select(audit_event::detail)
                .load(c)
        })
        .await;
    assert_eq!(merged.len(), 1);
    assert!(
        merged[0].as_deref().unwrap().contains(&work_id),
        "{merged:?}"
    );
}

async fn a_merge_is_confirmed_once_and_not_into_the_same_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let main = signed_up(&app, "ada@example.com").await;
    // Proving the same account again merges nothing.
    start_and_prove(&main, "ada@example.com").await;
    let res = main.get("/account/merge/confirm").await;
    assert_eq!(res.status(), 409);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("You signed in to the same account again."));

    signed_up(&app, "bob@example.com").await;
    start_and_prove(&main, "bob@example.com").await;
    assert_eq!(main.post("/account/merge/confirm", &[]).await.status(), 303);
    // Used up: a replay in this browser merges nothing more.
    assert_eq!(main.post("/account/merge/confirm", &[]).await.status(), 410);
    // Without the browser's pending merge there is nothing to confirm.
    let other = signed_up(&app, "carol@example.com").await;
    assert_eq!(other.get("/account/merge/confirm").await.status(), 410);
    assert_eq!(user_ids(&app).await.len(), 2);
}

async fn the_cli_merges_with_the_same_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_up(&app, "ada@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    let bob_session = bob.session_token().await.unwrap();
    let out = cli_ok(
        &app,
        &["user", "merge", "ada@example.com", "bob@example.com"],
    );
    assert!(out.starts_with("merged usr_"), "{out}");
    assert!(
        out.contains("into usr_") && out.contains("1 session(s) ended, 0 authorization(s) revoked"),
        "{out}"
    );
    assert_signed_out(&app, &bob, &bob_session).await;
    assert_eq!(
        ada.get("/account").await.status(),
        200,
        "the survivor's own session stays"
    );
    assert_eq!(user_ids(&app).await.len(), 1);
    assert_eq!(merged_into(&app).await.len(), 1);

    let same = portcullis(
        &app,
        &["user", "merge", "ada@example.com", "ada@example.com"],
    );
    assert!(!same.status.success());
    assert!(String::from_utf8_lossy(&same.stderr).contains("both name the same user"));
    let gone = portcullis(
        &app,
        &["user", "merge", "ada@example.com", "bob@example.com"],
    );
    assert!(!gone.status.success(), "the merged user is gone");
}

/// Deleting a user (here with the CLI; the account page shares the core) ends their sessions
/// the way disabling and merging do: each RP session gets a back-channel logout, rather than
/// the session rows vanishing with the cascade unannounced.
async fn deleting_a_user_tells_their_rp_sessions_over_the_back_channel(backend: Backend) {
    let app = spawn_app(backend).await;
    let bc = backchannel_mock().await;
    let mut spec = rp::spec("Notes");
    spec.backchannel_logout_uri = Some(format!("{}/bc", bc.uri()));
    let (id, secret) = rp::register(&app, spec).await;
    let notes = rp::rp(&app, &id, secret.as_deref()).await;
    let ada = signed_up(&app, "ada@example.com").await;
    let tokens = complete_flow(&ada, &notes, &["profile"]).await;

    let out = cli_ok(&app, &["user", "delete", "ada@example.com"]);
    assert!(out.starts_with("deleted usr_"), "{out}");
    wait_for_requests(&bc, 1).await;
    settle(&app).await;
    let got = bc.received_requests().await.unwrap();
    assert_eq!(got.len(), 1, "one RP session");
    let claims: Value = verify_logout_request(&app, &got[0], &id).await;
    assert_eq!(claims["sid"], tokens.claims["sid"]);
    assert_eq!(claims["sub"], tokens.claims["sub"]);
}
