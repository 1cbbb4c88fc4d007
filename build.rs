//! Tells the test suite what it can run. libtest decides "ignored" at compile time only, so a
//! test variant that cannot run here is compiled as ignored: the run lists it as ignored, never
//! as passed.
//! - `cfg(portcullis_postgres)`: TEST_DATABASE_URL is set, so the `::postgres` variants run.
//! - `cfg(portcullis_browser)`: Chromium and e2e's axe-core are installed, so the browser suite
//!   (tests/api/browser) runs.

use std::path::Path;

const CHROMIUM_CANDIDATES: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];
const AXE: &str = "e2e/node_modules/axe-core/axe.min.js";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=CHROMIUM");
    // Directories that exist (a missing path would rerun this script on every build): a
    // browser installed into /usr/bin or `npm ci` in e2e/ changes their modification time.
    println!("cargo::rerun-if-changed=/usr/bin");
    println!("cargo::rerun-if-changed=e2e");
    println!("cargo::rustc-check-cfg=cfg(portcullis_postgres)");
    println!("cargo::rustc-check-cfg=cfg(portcullis_browser)");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        println!("cargo::rustc-cfg=portcullis_postgres");
    }
    let chromium = match std::env::var("CHROMIUM") {
        Ok(p) if !p.is_empty() => Path::new(&p).is_file(),
        _ => CHROMIUM_CANDIDATES.iter().any(|p| Path::new(p).is_file()),
    };
    if chromium && Path::new(AXE).is_file() {
        println!("cargo::rustc-cfg=portcullis_browser");
    }
}
