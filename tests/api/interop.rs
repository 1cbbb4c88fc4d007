//! A relying party on openid-client (panva, OpenID Certified) against Portcullis: discovery,
//! login and consent pages, ID token validation, UserInfo, refresh, introspection, revocation
//! and RP-initiated logout, with client_secret_basic and client_secret_post.

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::*;
use crate::rp;

backend_tests!(certified_rp_library_runs_the_whole_lifecycle);

pub(crate) fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/openid-client")
}

/// Node and the installed library, or a loud note (a failure when CI requires them).
pub(crate) fn node_ready() -> bool {
    let ready = interop_dir().join("node_modules/openid-client").is_dir()
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        if std::env::var("TEST_REQUIRE_NODE").is_ok_and(|v| v == "1") {
            panic!("TEST_REQUIRE_NODE=1 but node or interop/openid-client/node_modules is missing (run npm ci there)");
        }
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "NOTE: openid-client interop skipped (run `npm ci` in interop/openid-client)"
            );
        });
    }
    ready
}

async fn certified_rp_library_runs_the_whole_lifecycle(backend: Backend) {
    if !node_ready() {
        return;
    }
    let app = spawn_app(backend).await;
    signed_up(&app, "ada@example.com").await;
    for auth in ["basic", "post"] {
        let mut spec = rp::spec(&format!("Interop {auth}"));
        if auth == "post" {
            spec.auth_method = Some("client_secret_post".into());
        }
        let (id, secret) = rp::register(&app, spec).await;
        let args = [
            app.address.clone(),
            id,
            secret.unwrap(),
            "ada@example.com".into(),
            PASSWORD.into(),
            auth.into(),
        ];
        let out = tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(interop_dir().join("rp.mjs"))
                .args(args)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "openid-client ({auth}) failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("\"ok\":true"), "{stdout}");
        eprintln!("openid-client ({auth}): {}", stdout.trim());
    }
}
