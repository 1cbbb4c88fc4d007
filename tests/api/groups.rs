//! Groups and claims for relying applications (issue 14): the `group` commands, the `groups`
//! scope and claim as a certified RP library (openid-client) receives it, a config client's own
//! claims, and memberships following users through deletion and merging.

use std::process::Command;

use diesel::prelude::*;
use portcullis::db::schema::{audit_event, group_member, user_group, users};
use serde_json::{json, Value};

use crate::admin_controls::{cli_ok, portcullis};
use crate::helpers::*;
use crate::interop::{interop_dir, node_ready};
use crate::rp;

backend_tests!(
    group_commands_run_the_lifecycle_and_refuse_a_name_taken_in_another_case,
    the_groups_scope_puts_sorted_groups_in_the_id_token_and_userinfo_and_follows_removal,
    a_config_clients_claim_rules_reach_the_rp_where_they_are_declared,
    claim_rules_with_reserved_names_or_unknown_sources_are_refused,
    deleting_a_user_or_a_group_removes_its_memberships,
    merging_users_moves_group_memberships_without_duplicates,
    the_consent_page_describes_the_groups_scope_in_the_persons_language,
    the_database_itself_refuses_a_second_group_with_the_same_folded_name,
);

fn cli_err(app: &TestApp, args: &[&str]) -> String {
    let out = portcullis(app, args);
    assert!(!out.status.success(), "{args:?} should have failed");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.starts_with("error: ") && !stderr.contains("database error"),
        "{args:?}: a clear usage error, not a server failure: {stderr}"
    );
    stderr
}

async fn user_id(app: &TestApp, email: &'static str) -> String {
    app.query(move |c| {
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first::<String>(c)
    })
    .await
}

/// (group name, member email) rows, sorted.
async fn memberships(app: &TestApp) -> Vec<(String, String)> {
    let mut rows = app
        .query(|c| {
            group_member::table
                .inner_join(user_group::table)
                .inner_join(users::table)
                .select((user_group::name, users::email))
                .load::<(String, String)>(c)
        })
        .await;
    rows.sort();
    rows
}

async fn audit_kinds(app: &TestApp) -> Vec<String> {
    app.query(|c| {
        audit_event::table
            .filter(audit_event::kind.like("group.%"))
            .order(audit_event::created_at.asc())
            .select(audit_event::kind)
            .load::<String>(c)
    })
    .await
}

async fn group_commands_run_the_lifecycle_and_refuse_a_name_taken_in_another_case(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    let out = cli_ok(
        &app,
        &["group", "create", "Staff", "--description", "Everyone"],
    );
    assert!(out.starts_with("created group grp_"), "{out}");

    // The same name in another case, with stray spaces, is the same group: refused cleanly.
    let err = cli_err(&app, &["group", "create", "  STAFF "]);
    assert!(err.contains("a group named STAFF already exists"), "{err}");
    let err = cli_err(&app, &["group", "create", "bad\u{200b}name"]);
    assert!(err.contains("group name"), "{err}");
    let err = cli_err(&app, &["group", "create", &"x".repeat(65)]);
    assert!(err.contains("at most 64"), "{err}");

    cli_ok(&app, &["group", "create", "Readers"]);
    let out = cli_ok(&app, &["group", "add-member", "staff", "ada@example.com"]);
    assert!(out.starts_with("added usr_"), "{out}");
    let out = cli_ok(&app, &["group", "add-member", "Staff", "ada@example.com"]);
    assert!(out.contains("already in Staff; nothing changed"), "{out}");
    let err = cli_err(
        &app,
        &["group", "add-member", "Staff", "nobody@example.com"],
    );
    assert!(err.contains("no user nobody@example.com"), "{err}");
    let err = cli_err(&app, &["group", "add-member", "Nobody", "ada@example.com"]);
    assert!(err.contains("no group Nobody"), "{err}");

    let list: Value = serde_json::from_str(&cli_ok(&app, &["group", "list", "--json"])).unwrap();
    let summary: Vec<(String, i64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().into(),
                g["members"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, vec![("Readers".into(), 0), ("Staff".into(), 1)]);
    assert_eq!(list[1]["description"], "Everyone");

    let members: Value =
        serde_json::from_str(&cli_ok(&app, &["group", "members", "Staff", "--json"])).unwrap();
    assert_eq!(members["total"], 1);
    assert_eq!(members["members"][0]["email"], "ada@example.com");

    // Renaming onto another group's name (in any case) is refused; to a new one it works.
    let err = cli_err(&app, &["group", "rename", "Staff", "readers"]);
    assert!(err.contains("already exists"), "{err}");
    let out = cli_ok(&app, &["group", "rename", "Staff", "Team"]);
    assert!(out.contains("to Team"), "{out}");
    assert_eq!(
        memberships(&app).await,
        vec![("Team".to_string(), "ada@example.com".to_string())]
    );
    // A rename to its own name in another case is no conflict.
    cli_ok(&app, &["group", "rename", "Team", "TEAM"]);

    let out = cli_ok(&app, &["group", "remove-member", "team", "ada@example.com"]);
    assert!(out.starts_with("removed usr_"), "{out}");
    let out = cli_ok(&app, &["group", "remove-member", "team", "ada@example.com"]);
    assert!(out.contains("nothing changed"), "{out}");
    cli_ok(&app, &["group", "delete", "TEAM"]);
    let err = cli_err(&app, &["group", "delete", "Team"]);
    assert!(err.contains("no group Team"), "{err}");

    assert_eq!(
        audit_kinds(&app).await,
        [
            "group.created",
            "group.created",
            "group.member_added",
            "group.renamed",
            "group.renamed",
            "group.member_removed",
            "group.deleted",
        ]
    );
}

/// One run of `claims.mjs` (openid-client): the ID token's claims, UserInfo, the refresh token.
async fn rp_claims(args: Vec<String>) -> Value {
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(interop_dir().join("claims.mjs"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "openid-client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

pub(crate) async fn rp_login(
    app: &TestApp,
    id: &str,
    secret: &str,
    email: &str,
    scope: &str,
) -> Value {
    rp_claims(vec![
        "login".into(),
        app.address.clone(),
        id.into(),
        secret.into(),
        email.into(),
        PASSWORD.into(),
        scope.into(),
    ])
    .await
}

async fn rp_refresh(app: &TestApp, id: &str, secret: &str, refresh_token: &Value) -> Value {
    rp_claims(vec![
        "refresh".into(),
        app.address.clone(),
        id.into(),
        secret.into(),
        refresh_token.as_str().expect("a refresh token").into(),
    ])
    .await
}

async fn the_groups_scope_puts_sorted_groups_in_the_id_token_and_userinfo_and_follows_removal(
    backend: Backend,
) {
    if !node_ready() {
        return;
    }
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    for group in ["zeta", "Alpha", "Ops"] {
        cli_ok(&app, &["group", "create", group]);
    }
    for group in ["zeta", "alpha"] {
        cli_ok(&app, &["group", "add-member", group, "ada@example.com"]);
    }
    let (id, secret) = rp::register(&app, rp::spec("Groups app")).await;
    let secret = secret.unwrap();

    let got = rp_login(
        &app,
        &id,
        &secret,
        "ada@example.com",
        "openid groups offline_access",
    )
    .await;
    assert_eq!(got["id_token"]["groups"], json!(["Alpha", "zeta"]), "{got}");
    assert_eq!(got["userinfo"]["groups"], json!(["Alpha", "zeta"]), "{got}");

    // Removed from a group: the next refresh's ID token and UserInfo no longer name it.
    cli_ok(&app, &["group", "remove-member", "zeta", "ada@example.com"]);
    let refreshed = rp_refresh(&app, &id, &secret, &got["refresh_token"]).await;
    assert_eq!(
        refreshed["id_token"]["groups"],
        json!(["Alpha"]),
        "{refreshed}"
    );
    assert_eq!(
        refreshed["userinfo"]["groups"],
        json!(["Alpha"]),
        "{refreshed}"
    );
    // A renamed group shows under its new name; a user in none gets an empty list.
    cli_ok(&app, &["group", "rename", "alpha", "Beta"]);
    let renamed = rp_refresh(&app, &id, &secret, &refreshed["refresh_token"]).await;
    assert_eq!(renamed["userinfo"]["groups"], json!(["Beta"]), "{renamed}");
    cli_ok(&app, &["group", "delete", "beta"]);
    let none = rp_refresh(&app, &id, &secret, &renamed["refresh_token"]).await;
    assert_eq!(none["id_token"]["groups"], json!([]), "{none}");

    // Without the scope: no groups anywhere.
    cli_ok(&app, &["group", "add-member", "Ops", "ada@example.com"]);
    let plain = rp_login(
        &app,
        &id,
        &secret,
        "ada@example.com",
        "openid profile email",
    )
    .await;
    assert!(plain["id_token"].get("groups").is_none(), "{plain}");
    assert!(plain["userinfo"].get("groups").is_none(), "{plain}");
    assert_eq!(plain["userinfo"]["email"], "ada@example.com");
}

const CONFIG_SECRET: &str = "a config client secret of some length";

/// A config file as an admin would write it, read the way the server reads it.
fn config_clients(dir: &std::path::Path) -> Vec<portcullis::config::StaticClient> {
    let path = dir.join("clients.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[clients]]
id = "claims-app"
name = "Claims app"
secret = "{CONFIG_SECRET}"
redirect_uris = ["{}"]

[[clients.claims]]
name = "roles"
from = "groups"
groups_prefix = "app1:"

[[clients.claims]]
name = "domain"
from = "email_domain"
in = ["id_token"]

[[clients.claims]]
name = "site"
from = "profile.website"
scope = "offline_access"
"#,
            rp::REDIRECT
        ),
    )
    .unwrap();
    portcullis::config::Settings::load(Some(&path))
        .expect("the documented format loads")
        .clients
}

async fn a_config_clients_claim_rules_reach_the_rp_where_they_are_declared(backend: Backend) {
    if !node_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clients = config_clients(dir.path());
    let app = spawn_app_with(backend, move |s| s.clients = clients).await;
    let b = signed_up(&app, "ada@example.com").await;
    let res = b
        .post(
            "/account/profile",
            &[
                ("name", "Ada Lovelace"),
                ("picture", ""),
                ("bio", ""),
                ("website", "https://ada.example"),
                ("timezone", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    for group in ["app1:admins", "app1:editors", "staff"] {
        cli_ok(&app, &["group", "create", group]);
    }
    for group in ["app1:editors", "staff"] {
        cli_ok(&app, &["group", "add-member", group, "ada@example.com"]);
    }

    let got = rp_login(
        &app,
        "claims-app",
        CONFIG_SECRET,
        "ada@example.com",
        "openid groups email profile",
    )
    .await;
    let (id_token, userinfo) = (&got["id_token"], &got["userinfo"]);
    assert_eq!(id_token["roles"], json!(["editors"]), "{got}");
    assert_eq!(userinfo["roles"], json!(["editors"]), "{got}");
    assert_eq!(id_token["domain"], "example.com", "{got}");
    assert!(userinfo.get("domain").is_none(), "id_token only: {got}");
    // `site` also needs offline_access, which was not asked for.
    assert!(
        id_token.get("site").is_none() && userinfo.get("site").is_none(),
        "{got}"
    );
    assert_eq!(id_token["groups"], json!(["app1:editors", "staff"]));

    let more = rp_login(
        &app,
        "claims-app",
        CONFIG_SECRET,
        "ada@example.com",
        "openid profile offline_access",
    )
    .await;
    assert_eq!(more["userinfo"]["site"], "https://ada.example/", "{more}");
    // Without the groups and email scopes, their rules stay silent.
    assert!(more["id_token"].get("roles").is_none(), "{more}");
    assert!(more["id_token"].get("domain").is_none(), "{more}");
}

async fn claim_rules_with_reserved_names_or_unknown_sources_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let create = |claim: &str| {
        vec![
            "client".to_string(),
            "create".into(),
            "--name".into(),
            "App".into(),
            "--redirect-uri".into(),
            rp::REDIRECT.into(),
            "--claim".into(),
            claim.into(),
        ]
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli_err(&app, &refs)
    };
    let err = run(create("sub=email"));
    assert!(err.contains("registered or standard claim"), "{err}");
    let err = run(create("Email=email"));
    assert!(err.contains("registered or standard claim"), "{err}");
    let err = run(create("dept=password_hash"));
    assert!(err.contains("unknown source"), "{err}");

    let file = app.data_dir().join("claims.json");
    std::fs::write(
        &file,
        r#"[{"name": "dept", "from": "email", "groups_prefix": "x:"}]"#,
    )
    .unwrap();
    let mut args = create("ok=name");
    args.extend(["--claims-file".into(), file.display().to_string()]);
    let err = run(args);
    assert!(err.contains("groups_prefix goes with"), "{err}");

    // A good one is stored and shown.
    let out = cli_ok(
        &app,
        &[
            "client",
            "create",
            "--name",
            "App",
            "--redirect-uri",
            rp::REDIRECT,
            "--claim",
            "dept=email_domain",
            "--json",
        ],
    );
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        created["claims"],
        json!([{"name": "dept", "from": "email_domain", "in": ["id_token", "userinfo"]}])
    );

    // The config file's rules go through the same check: the server refuses to start.
    let mut client = config_clients(&app.data_dir())[0].clone();
    client.claims[0].name = "nonce".into();
    let err = app
        .db
        .run(move |c| portcullis::oidc::clients::sync_static(c, &[client]))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("claims-app") && err.contains("nonce"), "{err}");
}

async fn deleting_a_user_or_a_group_removes_its_memberships(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    signed_up(&app, "bob@example.com").await;
    for group in ["One", "Two"] {
        cli_ok(&app, &["group", "create", group]);
        for who in ["ada@example.com", "bob@example.com"] {
            cli_ok(&app, &["group", "add-member", group, who]);
        }
    }
    cli_ok(&app, &["user", "delete", "bob@example.com"]);
    let ada = |g: &str| (g.to_string(), "ada@example.com".to_string());
    assert_eq!(memberships(&app).await, vec![ada("One"), ada("Two")]);
    cli_ok(&app, &["group", "delete", "One"]);
    assert_eq!(memberships(&app).await, vec![ada("Two")]);
    let list: Value = serde_json::from_str(&cli_ok(&app, &["group", "list", "--json"])).unwrap();
    assert_eq!(list[0]["members"], 1);
}

async fn merging_users_moves_group_memberships_without_duplicates(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    signed_up(&app, "old@example.com").await;
    for group in ["Both", "Theirs", "Mine"] {
        cli_ok(&app, &["group", "create", group]);
    }
    for (group, who) in [
        ("Both", "ada@example.com"),
        ("Both", "old@example.com"),
        ("Theirs", "old@example.com"),
        ("Mine", "ada@example.com"),
    ] {
        cli_ok(&app, &["group", "add-member", group, who]);
    }
    let ada_id = user_id(&app, "ada@example.com").await;
    let out = cli_ok(
        &app,
        &["user", "merge", "ada@example.com", "old@example.com"],
    );
    assert!(out.contains("1 group membership(s) moved"), "{out}");
    let ada = |g: &str| (g.to_string(), "ada@example.com".to_string());
    assert_eq!(
        memberships(&app).await,
        vec![ada("Both"), ada("Mine"), ada("Theirs")]
    );
    let members: Value =
        serde_json::from_str(&cli_ok(&app, &["group", "members", "Both", "--json"])).unwrap();
    assert_eq!(members["total"], 1);
    assert_eq!(members["members"][0]["user_id"], ada_id.as_str());
}

async fn the_consent_page_describes_the_groups_scope_in_the_persons_language(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = signed_up(&app, "ada@example.com").await;
    let (id, secret) = rp::register(&app, rp::spec("Groups app")).await;
    let client = rp::rp(&app, &id, secret.as_deref()).await;
    for (locale, text) in [
        ("en", "See which groups you belong to"),
        ("de", "Sehen, zu welchen Gruppen Sie gehören"),
        ("fr", "Voir les groupes dont vous faites partie"),
    ] {
        let settings = [("theme", "system"), ("language", locale)];
        assert_eq!(b.post("/account/settings", &settings).await.status(), 303);
        let started = client.start(&["groups"], true, &[]);
        let rp::Outcome::Consent(html) = rp::drive(&b, &started.url, None).await else {
            panic!("no consent page")
        };
        assert!(rp::unescape(&html).contains(text), "{locale}: {html}");
    }
}

/// Uniqueness is the database's, not a look-up's that two admins could pass at once: a row
/// written past the core with a taken folded name is refused by the constraint.
async fn the_database_itself_refuses_a_second_group_with_the_same_folded_name(backend: Backend) {
    use portcullis::db::models::Group;
    use portcullis::identity::ids::GroupId;
    let app = spawn_app(backend).await;
    let refused = app
        .db
        .run(|c| {
            let now = portcullis::identity::now();
            let created = portcullis::identity::groups::create(
                c,
                "Staff",
                None,
                &portcullis::identity::audit::Actor::Cli,
                now,
            )?;
            let twin = Group {
                id: GroupId::generate(),
                name: "STAFF".into(),
                ..created
            };
            Ok(Group::insert(c, &twin).unwrap_err())
        })
        .await
        .unwrap();
    assert!(portcullis::db::is_unique_violation(&refused), "{refused:?}");
}
