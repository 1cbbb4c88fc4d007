//! `portcullis seed --demo` and the example relying party in `examples/demo-rp`, as a newcomer
//! follows the README: seed, start the demo app, open it in a browser, sign in, see the claims,
//! sign out. The demo app is openid-client (an OpenID Certified RP library) in Node.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::admin_controls::{cli_ok, portcullis};

browser_tests!(the_seeded_demo_app_signs_the_demo_user_in_and_out);

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo-rp")
}

/// The demo app, stopped when dropped.
struct DemoApp(Child);

impl Drop for DemoApp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Node and the demo's installed library, or a loud note (a failure when CI requires them).
fn demo_ready() -> bool {
    let ready = demo_dir().join("node_modules/openid-client").is_dir();
    if !ready {
        let why = "run `npm ci` in examples/demo-rp (the README's demo step; .ci/run does it)";
        if std::env::var("TEST_REQUIRE_NODE").is_ok_and(|v| v == "1") {
            panic!("TEST_REQUIRE_NODE=1 but {why}");
        }
        eprintln!("skipping the demo app test: {why}");
    }
    ready && crate::interop::node_ready()
}

fn start_demo_app(issuer: &str, client_id: &str, port: u16) -> DemoApp {
    let mut child = Command::new("node")
        .arg("server.mjs")
        .current_dir(demo_dir())
        .env("ISSUER", issuer)
        .env("CLIENT_ID", client_id)
        .env("PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the demo app says it is listening");
    assert!(line.contains("listening"), "{line}");
    DemoApp(child)
}

mod inner {
    use super::*;

    pub async fn the_seeded_demo_app_signs_the_demo_user_in_and_out(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let port = free_port();
        let rp_url = format!("http://localhost:{port}");
        let seeded: Value = serde_json::from_str(&cli_ok(
            &app,
            &["seed", "--demo", "--rp-url", &rp_url, "--json"],
        ))
        .unwrap();
        assert_eq!(seeded["user_created"], true);
        assert_eq!(seeded["client_created"], true);
        let password = seeded["password"].as_str().unwrap().to_string();
        let client_id = seeded["client_id"].as_str().unwrap().to_string();

        // A second run changes nothing and does not print a password it no longer knows.
        let again: Value = serde_json::from_str(&cli_ok(
            &app,
            &["seed", "--demo", "--rp-url", &rp_url, "--json"],
        ))
        .unwrap();
        assert_eq!(again["user_created"], false);
        assert_eq!(again["client_created"], false);
        assert_eq!(again["client_id"], client_id.as_str());
        assert_eq!(again["password"], Value::Null);
        // And the human-readable form tells the newcomer what to run.
        let text = cli_ok(&app, &["seed", "--demo", "--rp-url", &rp_url]);
        assert!(
            text.contains(&format!("CLIENT_ID={client_id}")) && text.contains("node server.mjs"),
            "{text}"
        );
        let refused = portcullis(&app, &["seed"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--demo"));
        let refused = portcullis(&app, &["seed", "--demo", "--rp-url", "javascript:alert(1)"]);
        assert!(!refused.status.success());

        if !demo_ready() {
            return;
        }
        let _demo = start_demo_app(&app.address, &client_id, port);
        let tab = chrome.tab(&app).await;
        tab.open(&format!("{rp_url}/")).await;
        tab.sees("Demo app").await;
        tab.press("Sign in with Portcullis").await;
        tab.is_at("/login").await;
        tab.fill("#email", "demo@example.com").await;
        tab.fill("#password", &password).await;
        tab.press("Sign in").await;
        tab.sees("Portcullis demo app").await;
        tab.press("Allow").await;
        tab.sees("Signed in as Demo User").await;
        // The demo app's own page is not ours to audit, but it is what the newcomer sees.
        tab.photograph().await;
        let userinfo = tab.text_of("#userinfo").await;
        assert!(
            userinfo.contains("\"email\": \"demo@example.com\"")
                && userinfo.contains("\"email_verified\": true"),
            "{userinfo}"
        );
        let claims = tab.text_of("#claims").await;
        assert!(
            claims.contains(&format!("\"iss\": \"{}\"", app.address)),
            "{claims}"
        );

        // Signing out of the demo app ends the Portcullis session too (RP-initiated logout).
        tab.press("Sign out").await;
        if tab.text().await.contains("Sign out of Portcullis?") {
            tab.press("Sign out").await;
        }
        tab.sees("Sign in with Portcullis").await;
        tab.open("/account").await;
        tab.is_at("/login").await;
    }
}
