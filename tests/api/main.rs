//! One integration binary: every test starts the real server on port 0 with a fresh database,
//! on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set.

#[macro_use]
mod helpers;

mod account;
mod admin_api;
mod admin_controls;
mod auth;
mod browser;
mod cli;
mod db_errors;
mod email;
mod email_identity;
mod fake_google;
mod groups;
mod i18n;
mod interop;
mod merge;
mod migrate_review;
mod migrations;
mod oidc_flows;
mod oidc_logout;
mod oidc_prompts;
mod oidc_tokens;
mod operations;
mod passkeys;
mod provider_diagnostics;
mod rp;
mod scale_out;
mod second_factor;
mod security;
mod serve;
mod sessions;
mod settings;
mod smtp_sink;
mod storage;
mod storage_conformance;
mod storage_conformance_expiry;
mod storage_conformance_rules;
mod throttle;
mod upstream_edge;
mod upstream_more;
mod upstream_oidc;
mod usernames;
