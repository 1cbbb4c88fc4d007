//! Tells the test suite what it can run. libtest decides "ignored" at compile time only, so a
//! test variant that cannot run here is compiled as ignored: the run lists it as ignored, never
//! as passed.
//! - `cfg(portcullis_postgres)`: TEST_DATABASE_URL is set, so the `::postgres` variants run.
//! - `cfg(portcullis_browser)`: Chromium and e2e's axe-core are installed, so the browser suite
//!   (tests/api/browser) runs.
//!
//! It also writes `$OUT_DIR/migration_sql.rs`: every migration's folder name and its `up.sql` /
//! `down.sql` as `include_str!`, for `portcullis migrate print` (diesel_migrations embeds the
//! same files but keeps their text private).

use std::fmt::Write as _;
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
    embed_migration_sql();
}

/// One `&[MigrationSql]` per backend folder, in version order (folder names start with the
/// version). A build script reports failure by panicking.
fn embed_migration_sql() {
    println!("cargo::rerun-if-changed=migrations");
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
        .join("migrations");
    let mut out = String::new();
    for (constant, folder) in [("SQLITE_SQL", "sqlite"), ("POSTGRES_SQL", "postgres")] {
        let dir = root.join(folder);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a readable migrations folder"))
            .filter(|entry| entry.path().join("up.sql").is_file())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        writeln!(out, "pub(crate) const {constant}: &[MigrationSql] = &[").expect("write");
        for name in names {
            let up = dir.join(&name).join("up.sql");
            let down = dir.join(&name).join("down.sql");
            let down = if down.is_file() {
                format!("Some(include_str!({:?}))", down.to_string_lossy())
            } else {
                "None".to_string()
            };
            writeln!(
                out,
                "    MigrationSql {{ folder: {name:?}, up: include_str!({:?}), down: {down} }},",
                up.to_string_lossy()
            )
            .expect("write");
        }
        writeln!(out, "];").expect("write");
    }
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migration_sql.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
}
