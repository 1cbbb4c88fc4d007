//! Tells the test suite whether PostgreSQL is there. libtest decides "ignored" at compile time
//! only, so the `::postgres` test variants are compiled as ignored unless TEST_DATABASE_URL is
//! set: a run without PostgreSQL reports them as ignored, never as passed.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(portcullis_postgres)");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        println!("cargo::rustc-cfg=portcullis_postgres");
    }
}
