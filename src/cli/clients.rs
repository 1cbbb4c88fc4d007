//! `portcullis client …`.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{json_line, usage, CliError};
use crate::admin::clients as admin_clients;
use crate::config::Settings;
use crate::db::models::OAuthClient;
use crate::identity::audit::Actor;
use crate::identity::ids::ClientId;
use crate::identity::now;
use crate::oidc::claim_rules::{self, ClaimRule};
use crate::oidc::clients as oidc_clients;
use crate::startup::open_database;

// Parsed once per process: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and, once, its secret.
    Create(CreateClient),
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        id: ClientId,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client and every grant and token it holds.
    Delete { id: ClientId },
    /// Replace a confidential client's secret; prints the new one, once.
    RotateSecret { id: ClientId },
}

#[derive(Debug, Args)]
pub struct CreateClient {
    #[arg(long)]
    pub name: String,
    /// An allowed redirect URI, matched exactly (repeatable).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// An allowed post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (browser or native app): no secret, PKCE required.
    #[arg(long)]
    pub public: bool,
    /// Allowed grant types (repeatable): authorization_code, refresh_token, client_credentials.
    /// Default: authorization_code and refresh_token.
    #[arg(long = "grant")]
    pub grants: Vec<String>,
    /// client_secret_basic (default), client_secret_post, or none (public clients).
    #[arg(long)]
    pub auth_method: Option<String>,
    /// Do not ask users for consent (first-party applications).
    #[arg(long)]
    pub skip_consent: bool,
    /// Issue refresh tokens even when offline_access was not requested.
    #[arg(long)]
    pub always_refresh: bool,
    /// Where to POST back-channel logout tokens.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// Signing algorithm for this client's ID tokens (and, by default, access tokens):
    /// RS256, ES256 or EdDSA.
    #[arg(long, default_value = "RS256")]
    pub id_token_alg: String,
    /// Signing algorithm for this client's access tokens when it differs from the ID tokens'
    /// (ES256 signs about 17 times faster than RS256).
    #[arg(long)]
    pub access_token_alg: Option<String>,
    /// Its users must sign in with two factors; those without one set one up on the way in.
    #[arg(long)]
    pub require_mfa: bool,
    /// May get the `portcullis:admin` scope with client_credentials, to call the admin API
    /// (needs `--grant client_credentials`).
    #[arg(long)]
    pub admin_api: bool,
    /// An extra claim, NAME=SOURCE (repeatable): SOURCE is groups, email, email_domain, name,
    /// picture, profile.website, profile.timezone or settings.language; it goes in the ID token
    /// and UserInfo when the scope of its source was granted. See README, "Claim rules".
    #[arg(long = "claim", value_name = "NAME=SOURCE")]
    pub claims: Vec<String>,
    /// Extra claims with every option (scope, in, groups_prefix): a JSON array of rules,
    /// written like the config file's `[[clients.claims]]`.
    #[arg(long, value_name = "PATH")]
    pub claims_file: Option<std::path::PathBuf>,
    #[arg(long)]
    pub json: bool,
}

impl CreateClient {
    /// The rules of `--claim` and `--claims-file` together (checked with the rest of the spec).
    fn claim_rules(&self) -> Result<Vec<ClaimRule>, CliError> {
        let mut rules = Vec::new();
        if let Some(path) = &self.claims_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
            rules = claim_rules::parse_file(&text).map_err(CliError::Usage)?;
        }
        for arg in &self.claims {
            rules.push(ClaimRule::parse_short(arg).map_err(CliError::Usage)?);
        }
        Ok(rules)
    }
}

#[derive(Serialize)]
struct ClientOut<'a> {
    client_id: &'a ClientId,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    name: &'a str,
    redirect_uris: &'a [String],
    post_logout_redirect_uris: &'a [String],
    grant_types: Vec<&'static str>,
    token_endpoint_auth_method: &'static str,
    skip_consent: bool,
    always_issue_refresh: bool,
    backchannel_logout_uri: Option<&'a str>,
    id_token_alg: &'static str,
    access_token_alg: &'static str,
    managed_by: &'a str,
    require_mfa: bool,
    admin_api: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    claims: &'a [ClaimRule],
}

fn client_out<'a>(c: &'a oidc_clients::Client, secret: Option<&'a str>) -> ClientOut<'a> {
    ClientOut {
        client_id: &c.id,
        client_secret: secret,
        name: &c.name,
        redirect_uris: &c.redirect_uris,
        post_logout_redirect_uris: &c.post_logout_redirect_uris,
        grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
        token_endpoint_auth_method: c.auth_method.as_str(),
        skip_consent: c.skip_consent,
        always_issue_refresh: c.always_issue_refresh,
        backchannel_logout_uri: c.backchannel_logout_uri.as_deref(),
        id_token_alg: c.id_token_alg.as_str(),
        access_token_alg: c.access_token_alg.as_str(),
        managed_by: &c.managed_by,
        require_mfa: c.require_mfa,
        admin_api: c.admin_api,
        claims: &c.claims,
    }
}

fn print_client(c: &ClientOut<'_>) {
    println!("client_id:      {}", c.client_id);
    if let Some(secret) = c.client_secret {
        println!("client_secret:  {secret}");
        println!("                (shown once: only a hash is stored)");
    }
    println!("name:           {}", c.name);
    println!("redirect_uris:  {}", c.redirect_uris.join(" "));
    if !c.post_logout_redirect_uris.is_empty() {
        println!("post_logout:    {}", c.post_logout_redirect_uris.join(" "));
    }
    println!("grant_types:    {}", c.grant_types.join(" "));
    println!("auth_method:    {}", c.token_endpoint_auth_method);
    println!("skip_consent:   {}", c.skip_consent);
    println!("id_token_alg:   {}", c.id_token_alg);
    println!("access_alg:     {}", c.access_token_alg);
    if let Some(uri) = c.backchannel_logout_uri {
        println!("backchannel:    {uri}");
    }
    println!("require_mfa:    {}", c.require_mfa);
    if c.admin_api {
        println!("admin_api:      true");
    }
    for rule in c.claims {
        println!(
            "claim:          {} from {}{}",
            rule.name,
            rule.from.as_str(),
            rule.groups_prefix
                .as_deref()
                .map(|p| format!(" (prefix {p})"))
                .unwrap_or_default()
        );
    }
    println!("managed_by:     {}", c.managed_by);
}

/// "no client ID", as the other client commands say it.
fn no_client(e: crate::admin::AdminError, id: &ClientId) -> CliError {
    match e {
        crate::admin::AdminError::NotFound(_) => CliError::Usage(format!("no client {id}")),
        other => other.into(),
    }
}

pub async fn run(settings: &Settings, cmd: ClientCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    match cmd {
        ClientCommand::Create(a) => {
            let claims = a.claim_rules()?;
            let spec = oidc_clients::ClientSpec {
                name: a.name,
                redirect_uris: a.redirect_uris,
                post_logout_redirect_uris: a.post_logout_redirect_uris,
                public: a.public,
                grant_types: a.grants,
                auth_method: a.auth_method,
                skip_consent: a.skip_consent,
                always_issue_refresh: a.always_refresh,
                backchannel_logout_uri: a.backchannel_logout_uri,
                id_token_alg: a.id_token_alg,
                access_token_alg: a.access_token_alg,
                require_mfa: a.require_mfa,
                admin_api: a.admin_api,
                claims,
            };
            let registered = db
                .run(move |conn| oidc_clients::register(conn, &spec, "cli"))
                .await
                .map_err(usage)?;
            let out = client_out(&registered.client, registered.secret.as_deref());
            if a.json {
                json_line(&out)
            } else {
                print_client(&out)
            }
            Ok(())
        }
        ClientCommand::List { json } => {
            let rows = db.run(|conn| Ok(OAuthClient::list(conn)?)).await?;
            let list = rows
                .into_iter()
                .map(oidc_clients::Client::from_row)
                .collect::<Result<Vec<_>, _>>()?;
            if json {
                json_line(&list.iter().map(|c| client_out(c, None)).collect::<Vec<_>>());
            } else {
                println!(
                    "{:<36}  {:<24}  {:<20}  GRANTS",
                    "CLIENT_ID", "NAME", "AUTH"
                );
                for c in &list {
                    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
                    println!(
                        "{:<36}  {:<24}  {:<20}  {}",
                        c.id,
                        c.name,
                        c.auth_method.as_str(),
                        grants.join(",")
                    );
                }
            }
            Ok(())
        }
        ClientCommand::Show { id, json } => {
            let lookup = id.clone();
            let found = db
                .run(move |conn| oidc_clients::Client::find(conn, &lookup))
                .await?;
            let c = found.ok_or_else(|| CliError::Usage(format!("no client {id}")))?;
            if json {
                json_line(&client_out(&c, None))
            } else {
                print_client(&client_out(&c, None))
            }
            Ok(())
        }
        ClientCommand::Delete { id } => {
            let lookup = id.to_string();
            db.run(move |conn| Ok(admin_clients::delete(conn, &Actor::Cli, &lookup, now())))
                .await?
                .map_err(|e| no_client(e, &id))?;
            println!("deleted client {id}");
            Ok(())
        }
        ClientCommand::RotateSecret { id } => {
            let lookup = id.to_string();
            let secret = db
                .run(move |conn| {
                    Ok(admin_clients::rotate_secret(
                        conn,
                        &Actor::Cli,
                        &lookup,
                        now(),
                    ))
                })
                .await?
                .map_err(|e| no_client(e, &id))?;
            println!("client_secret:  {secret}");
            println!("                (shown once: the old secret no longer works)");
            Ok(())
        }
    }
}
