//! `portcullis seed --demo`: a user and an application to see a whole login with, so a newcomer
//! goes from `cargo run` to "signed in to an app" in two minutes (issue 15). The application is
//! the tiny relying party in `examples/demo-rp`, a public client using PKCE, so no secret has to
//! be copied anywhere.
//!
//! Running it again changes nothing and says what is there: the demo user keeps its password
//! (which is only ever printed when it is made), the demo application keeps its ID.

use clap::Args;
use serde::Serialize;

use super::CliError;
use crate::admin::clients::{self as admin_clients, ClientBody, MANAGED_BY_ADMIN};
use crate::config::Settings;
use crate::db::models::{OAuthClient, User};
use crate::identity::audit::Actor;
use crate::identity::credentials::{create_user, NewIdentity};
use crate::identity::email::Email;
use crate::identity::now;
use crate::identity::password::PasswordHasher;
use crate::startup::{master_key, open_database};

/// Names the seeded objects carry; a second run finds them by these.
pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_CLIENT_NAME: &str = "Portcullis demo app";

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Create the demo user and the demo application (the only seed there is, for now).
    #[arg(long)]
    pub demo: bool,
    /// Where the demo relying party runs; its redirect URI is this plus `/callback`.
    #[arg(long, default_value = "http://localhost:3000")]
    pub rp_url: String,
    /// Print what was seeded as JSON (for scripts and tests) instead of instructions.
    #[arg(long)]
    pub json: bool,
}

/// What the seed made or found.
#[derive(Debug, Serialize)]
pub struct Seeded {
    pub issuer: String,
    pub email: String,
    /// Only when the user was made by this run: it is never stored in clear.
    pub password: Option<String>,
    pub user_created: bool,
    pub client_id: String,
    pub client_created: bool,
    pub redirect_uri: String,
}

pub async fn run(settings: &Settings, args: SeedArgs) -> Result<(), CliError> {
    if !args.demo {
        return Err(CliError::Usage(
            "say what to seed: `portcullis seed --demo`".into(),
        ));
    }
    let rp_url = rp_base(&args.rp_url)?;
    let db = open_database(settings).await?;
    master_key(settings)?;

    // A fresh random password, printed once: a fixed, published one would be a way in to any
    // installation where someone ran the demo and forgot.
    let password = format!("demo-{}", crate::crypto::random_token(12));
    let hasher = PasswordHasher::new(&settings.password, settings.hash_concurrency())?;
    let hash = hasher.hash(password.clone()).await?;
    let email = Email::parse(DEMO_EMAIL).map_err(|e| CliError::Usage(e.to_string()))?;
    let user_created = db
        .run(move |conn| {
            if User::find_by_email(conn, email.as_str())?.is_some() {
                return Ok(false);
            }
            let new = NewIdentity {
                email: &email,
                name: "Demo User",
                password_hash: Some(&hash),
                email_verified: true,
                is_admin: false,
            };
            // `None`: made by someone else between our look and our write; theirs stands.
            Ok(create_user(conn, &new)?.is_some())
        })
        .await?;

    let redirect_uri = format!("{rp_url}/callback");
    let body = ClientBody {
        name: DEMO_CLIENT_NAME.into(),
        redirect_uris: vec![redirect_uri.clone()],
        post_logout_redirect_uris: vec![format!("{rp_url}/")],
        public: true,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: Some("none".into()),
        skip_consent: false,
        always_issue_refresh: false,
        backchannel_logout_uri: None,
        id_token_alg: None,
        access_token_alg: None,
        require_mfa: false,
        admin_api: false,
        claims: Vec::new(),
    };
    let (client_id, client_created) = db
        .run(move |conn| {
            let existing = OAuthClient::list(conn)?
                .into_iter()
                .find(|c| c.name == DEMO_CLIENT_NAME);
            if let Some(c) = existing {
                return Ok(Ok((c.id.to_string(), false)));
            }
            Ok(
                admin_clients::create(conn, &Actor::Cli, &body, MANAGED_BY_ADMIN, now())
                    .map(|made| (made.client.client_id, true)),
            )
        })
        .await??;

    let seeded = Seeded {
        issuer: settings.issuer().to_string(),
        email: DEMO_EMAIL.into(),
        password: user_created.then_some(password),
        user_created,
        client_id,
        client_created,
        redirect_uri,
    };
    if args.json {
        super::json_line(&seeded);
    } else {
        print_instructions(&seeded, &rp_url);
    }
    Ok(())
}

/// The relying party's base URL: http(s), a host, no query, no trailing slash.
fn rp_base(raw: &str) -> Result<String, CliError> {
    let bad = |why: &str| CliError::Usage(format!("--rp-url {raw:?}: {why}"));
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad("must be an http(s) address"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn print_instructions(s: &Seeded, rp_url: &str) {
    let port = url::Url::parse(rp_url)
        .ok()
        .and_then(|u| u.port_or_known_default())
        .unwrap_or(3000);
    println!("Demo user:        {}", s.email);
    match &s.password {
        Some(p) => println!("Password:         {p}   (shown this once)"),
        None => println!(
            "Password:         unchanged (the user was already there; \
             `portcullis user set-password {}` sets a new one)",
            s.email
        ),
    }
    println!(
        "Demo application: {} ({})",
        s.client_id,
        if s.client_created {
            "registered now"
        } else {
            "already registered"
        }
    );
    println!();
    println!("Run the demo application, then open {rp_url}/ and sign in:");
    println!(
        "  cd examples/demo-rp && npm ci && ISSUER={} CLIENT_ID={} PORT={port} node server.mjs",
        s.issuer, s.client_id
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_url_is_an_http_base_without_a_trailing_slash() {
        assert_eq!(
            rp_base("http://localhost:3000/").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            rp_base("https://demo.example/app").unwrap(),
            "https://demo.example/app"
        );
        assert!(rp_base("javascript:alert(1)").is_err());
        assert!(rp_base("http://x/?a=b").is_err());
        assert!(rp_base("not a url").is_err());
    }
}
