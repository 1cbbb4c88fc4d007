//! Portcullis: a standalone OpenID Connect identity server.

// A request must never take a worker down: failures are errors, not panics. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod config_reload;
pub mod crypto;
pub mod db;
pub mod error;
pub mod files;
pub mod i18n;
pub mod identity;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod outbox;
pub mod startup;
pub mod telemetry;
pub mod upstream;
pub mod web;
