//! The command line: `serve`, `migrate`, and user administration.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use diesel::Connection;
use serde::Serialize;

use crate::config::Settings;
use crate::db::models::{IdentityProviderRow, OAuthClient, OutboxMessage, Session, SigningKeyRow, User};
use crate::upstream::config::ClaimMapping;
use crate::upstream::registry::{self, ProviderSpec};
use crate::oidc::clients as oidc_clients;
use crate::oidc::keys as oidc_keys;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::identity::audit::{self, AuditKind};
use crate::identity::credentials::{create_user, store_password_hash, NewIdentity};
use crate::identity::email::Email;
use crate::identity::ids::UserId;
use crate::identity::management::delete_user;
use crate::identity::password::PasswordHasher;
use crate::identity::{clean_name, now, FieldErrors};
use crate::startup::{master_key, open_database, Application};

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "A standalone OpenID Connect identity server")]
pub struct Cli {
    /// Configuration file (TOML); also read from PORTCULLIS_CONFIG.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Revert every migration instead (drops all Portcullis tables and their data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage client applications (relying parties).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage upstream identity providers (Google, GitHub, OIDC, OAuth2).
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Inspect outgoing mail.
    #[command(subcommand)]
    Mail(MailCommand),
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Messages not yet sent (pending, retrying, or given up), with their last error.
    Queue {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Add a provider: `provider add google|github|oidc|oauth2 ...`.
    Add(AddProvider),
    /// List providers (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one provider.
    Show {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Show the provider's button on the sign-in pages again.
    Enable { slug: String },
    /// Hide the provider and refuse sign-ins with it (linked accounts stay).
    Disable { slug: String },
    /// Remove the provider (linked accounts stay, unusable until it is added again).
    Remove { slug: String },
}

#[derive(Debug, Args)]
pub struct AddProvider {
    /// google, github, oidc or oauth2.
    pub kind: String,
    /// Short name used in URLs (/auth/SLUG/start); defaults to the kind for google and github.
    #[arg(long)]
    pub slug: Option<String>,
    /// Name on the "Continue with …" button.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub client_id: String,
    /// Read the client secret from the first line of standard input.
    #[arg(long, required = true)]
    pub client_secret_stdin: bool,
    /// OIDC issuer (discovery); for google, overrides https://accounts.google.com.
    #[arg(long)]
    pub issuer: Option<String>,
    /// oauth2: the authorization URL; github: overrides the web base https://github.com.
    #[arg(long)]
    pub authorize_url: Option<String>,
    /// oauth2: the token URL.
    #[arg(long)]
    pub token_url: Option<String>,
    /// oauth2: the userinfo URL; github: overrides the API base https://api.github.com.
    #[arg(long)]
    pub userinfo_url: Option<String>,
    /// Scopes to request (repeatable); sensible defaults per kind.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// oauth2: where the subject is in the userinfo JSON (dotted path).
    #[arg(long, default_value = "sub")]
    pub subject_claim: String,
    /// oauth2: where the email is.
    #[arg(long, default_value = "email")]
    pub email_claim: String,
    /// oauth2: where "email verified" is (a boolean); without it emails count as unverified.
    #[arg(long)]
    pub email_verified_claim: Option<String>,
    /// oauth2: where the display name is.
    #[arg(long, default_value = "name")]
    pub name_claim: String,
    /// oauth2: where the picture URL is.
    #[arg(long, default_value = "picture")]
    pub picture_claim: String,
    /// verified_email (link to an existing user when both emails are verified) or never.
    #[arg(long)]
    pub link_policy: Option<String>,
    /// Only verified emails at these domains may sign in (repeatable).
    #[arg(long = "allowed-domain")]
    pub allowed_domains: Vec<String>,
    /// google: only this Google Workspace domain.
    #[arg(long)]
    pub hosted_domain: Option<String>,
    /// github: only members of these organisations (repeatable).
    #[arg(long = "org")]
    pub github_orgs: Vec<String>,
    /// Store the provider's tokens (encrypted) on the linked account.
    #[arg(long)]
    pub keep_tokens: bool,
}

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
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client and every grant and token it holds.
    Delete { id: String },
    /// Replace a confidential client's secret; prints the new one, once.
    RotateSecret { id: String },
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
    /// Signing algorithm for this client's ID and access tokens: RS256, ES256 or EdDSA.
    #[arg(long, default_value = "RS256")]
    pub id_token_alg: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key for every algorithm. It is published at once and signs after
    /// keys.publish_ahead_secs, unless --immediately.
    Rotate {
        /// Sign with the new keys right away (clients that cached the old JWKS re-fetch it).
        #[arg(long)]
        immediately: bool,
    },
    /// List signing keys.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a password.
    Create(CreateUser),
    /// List users.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a user and everything they own.
    Delete {
        /// User ID (usr_…) or email.
        user: String,
    },
    /// Set a user's password (read from standard input) and end their sessions.
    SetPassword {
        /// User ID (usr_…) or email.
        user: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
pub struct CreateUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password", required_unless_present = "password")]
    pub password_stdin: bool,
    /// The password on the command line (visible in the process list; prefer --password-stdin).
    #[arg(long)]
    pub password: Option<String>,
    /// Make the user an administrator.
    #[arg(long)]
    pub admin: bool,
    /// Mark the email address as verified.
    #[arg(long)]
    pub verified: bool,
}

/// A failure to report on stderr with a non-zero exit.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await.map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(())
        }
        Command::Migrate { revert_all } => migrate(&settings, revert_all).await,
        Command::User(cmd) => user(&settings, cmd).await,
        Command::Client(cmd) => client(&settings, cmd).await,
        Command::Keys(cmd) => keys_command(&settings, cmd).await,
        Command::Provider(cmd) => provider_command(&settings, cmd).await,
        Command::Mail(MailCommand::Queue { json }) => mail_queue(&settings, json).await,
    }
}

async fn migrate(settings: &Settings, revert_all: bool) -> Result<(), CliError> {
    if revert_all {
        let db = Db::connect(&settings.database_url(), 1, std::time::Duration::from_secs(settings.database.connect_timeout_secs))?;
        let reverted = db.run(|conn| db::revert_all_migrations(conn)).await?;
        println!("reverted {} migration(s)", reverted.len());
        return Ok(());
    }
    let db = open_database(settings).await?;
    println!("database ({}) is up to date", db.backend());
    Ok(())
}

async fn user(settings: &Settings, cmd: UserCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let hasher = || PasswordHasher::new(&settings.password, settings.hash_concurrency());
    match cmd {
        UserCommand::Create(args) => {
            let mut errors = FieldErrors::default();
            let name = clean_name(&args.name, &mut errors);
            if let Some(msg) = errors.get("name") {
                return Err(CliError::Usage(format!("--name: {msg}")));
            }
            let email = Email::parse(&args.email).map_err(|e| CliError::Usage(format!("--email: {e}")))?;
            let password = match args.password {
                Some(p) => p,
                None => read_password_line()?,
            };
            let hasher = hasher()?;
            hasher.policy.check(&password).map_err(|e| CliError::Usage(format!("password: {e}")))?;
            // The master key is created now if missing, so later features find it in place.
            master_key(settings)?;
            let hash = hasher.hash(password).await?;
            let created = db
                .run(move |conn| {
                    let new = NewIdentity {
                        email: &email,
                        name: &name,
                        password_hash: Some(&hash),
                        email_verified: args.verified,
                        is_admin: args.admin,
                    };
                    create_user(conn, &new)
                })
                .await?;
            let user = created.ok_or_else(|| CliError::Usage("a user with this email already exists".into()))?;
            println!("{}", user.id);
            Ok(())
        }
        UserCommand::List { json } => {
            let users = db.run(|conn| Ok(User::list(conn)?)).await?;
            print_users(&users, json);
            Ok(())
        }
        UserCommand::Delete { user } => {
            let found = find_user(&db, &user).await?;
            delete_user(&db, &found.id).await?;
            println!("deleted {} <{}>", found.id, found.email);
            Ok(())
        }
        UserCommand::SetPassword { user, .. } => {
            let found = find_user(&db, &user).await?;
            let password = read_password_line()?;
            let hasher = hasher()?;
            hasher.policy.check(&password).map_err(|e| CliError::Usage(format!("password: {e}")))?;
            let hash = hasher.hash(password).await?;
            let user_id = found.id.clone();
            let ended = db
                .run(move |conn| {
                    let now = now();
                    Ok(conn.transaction::<_, diesel::result::Error, _>(|conn| {
                        store_password_hash(conn, &user_id, &hash, now)?;
                        // A reset password must lock out whoever knew the old one.
                        let ended = Session::ids_for_user(conn, &user_id)?;
                        Session::delete_all_for_user(conn, &user_id)?;
                        audit::record(conn, AuditKind::PasswordChanged, Some(&user_id), None, Some("cli"), now)?;
                        Ok(ended)
                    })?)
                })
                .await?;
            notify_ended_sessions(settings, &db, ended).await?;
            println!("password set for {} <{}>; their sessions were ended", found.id, found.email);
            Ok(())
        }
    }
}

async fn find_user(db: &Db, key: &str) -> Result<User, CliError> {
    let lookup = if let Some(id) = UserId::parse(key) {
        Lookup::Id(id.as_str().to_string())
    } else {
        let email = Email::parse(key).map_err(|_| CliError::Usage(format!("{key}: not a user ID or email")))?;
        Lookup::Email(email.as_str().to_string())
    };
    let found = db
        .run(move |conn| {
            Ok(match &lookup {
                Lookup::Id(id) => User::find(conn, id)?,
                Lookup::Email(email) => User::find_by_email(conn, email)?,
            })
        })
        .await?;
    found.ok_or_else(|| CliError::Usage(format!("no user {key}")))
}

enum Lookup {
    Id(String),
    Email(String),
}

/// First line of standard input, without its line ending.
fn read_password_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("cannot read the password from standard input: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(CliError::Usage("no password on standard input".into()));
    }
    Ok(password)
}

#[derive(Serialize)]
struct UserRow<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
    email_verified: bool,
    admin: bool,
    created_at: String,
}

fn print_users(users: &[User], json: bool) {
    let rows: Vec<UserRow<'_>> = users
        .iter()
        .map(|u| UserRow {
            id: &u.id,
            email: &u.email,
            name: &u.name,
            email_verified: u.email_verified,
            admin: u.is_admin,
            created_at: u.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into()));
        return;
    }
    let _ = writeln!(out, "{:<36}  {:<32}  {:<24}  {:<8}  {:<5}  CREATED", "ID", "EMAIL", "NAME", "VERIFIED", "ADMIN");
    for r in rows {
        let _ = writeln!(
            out,
            "{:<36}  {:<32}  {:<24}  {:<8}  {:<5}  {}",
            r.id, r.email, r.name, r.email_verified, r.admin, r.created_at
        );
    }
}

#[derive(Serialize)]
struct ClientOut<'a> {
    client_id: &'a str,
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
    managed_by: &'a str,
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
        managed_by: &c.managed_by,
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
    if let Some(uri) = c.backchannel_logout_uri {
        println!("backchannel:    {uri}");
    }
    println!("managed_by:     {}", c.managed_by);
}

fn json_line(value: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into()));
}

async fn client(settings: &Settings, cmd: ClientCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    match cmd {
        ClientCommand::Create(a) => {
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
            };
            let registered = db.run(move |conn| oidc_clients::register(conn, &spec)).await.map_err(usage)?;
            let out = client_out(&registered.client, registered.secret.as_deref());
            if a.json { json_line(&out) } else { print_client(&out) }
            Ok(())
        }
        ClientCommand::List { json } => {
            let rows = db.run(|conn| Ok(OAuthClient::list(conn)?)).await?;
            let list = rows.into_iter().map(oidc_clients::Client::from_row).collect::<Result<Vec<_>, _>>()?;
            if json {
                json_line(&list.iter().map(|c| client_out(c, None)).collect::<Vec<_>>());
            } else {
                println!("{:<36}  {:<24}  {:<20}  GRANTS", "CLIENT_ID", "NAME", "AUTH");
                for c in &list {
                    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
                    println!("{:<36}  {:<24}  {:<20}  {}", c.id, c.name, c.auth_method.as_str(), grants.join(","));
                }
            }
            Ok(())
        }
        ClientCommand::Show { id, json } => {
            let lookup = id.clone();
            let found = db.run(move |conn| oidc_clients::Client::find(conn, &lookup)).await?;
            let c = found.ok_or_else(|| CliError::Usage(format!("no client {id}")))?;
            if json { json_line(&client_out(&c, None)) } else { print_client(&client_out(&c, None)) }
            Ok(())
        }
        ClientCommand::Delete { id } => {
            let lookup = id.clone();
            let n = db.run(move |conn| Ok(OAuthClient::delete(conn, &lookup)?)).await?;
            if n == 0 {
                return Err(CliError::Usage(format!("no client {id}")));
            }
            println!("deleted client {id}");
            Ok(())
        }
        ClientCommand::RotateSecret { id } => {
            let lookup = id.clone();
            let secret = db.run(move |conn| oidc_clients::rotate_secret(conn, &lookup)).await.map_err(|e| match e {
                AppError::NotFound => CliError::Usage(format!("no client {id}")),
                other => usage(other),
            })?;
            println!("client_secret:  {secret}");
            println!("                (shown once: the old secret no longer works)");
            Ok(())
        }
    }
}

/// Validation problems are the user's to fix; show them as such.
fn usage(e: AppError) -> CliError {
    match e {
        AppError::BadRequest(why) => CliError::Usage(why),
        other => CliError::App(other),
    }
}

#[derive(Serialize)]
struct KeyOut {
    kid: String,
    alg: String,
    not_before: String,
    created_at: String,
}

async fn keys_command(settings: &Settings, cmd: KeysCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let mk = master_key(settings)?;
    match cmd {
        KeysCommand::Rotate { immediately } => {
            let ahead = if immediately { 0 } else { settings.keys.publish_ahead_secs };
            let kids = db
                .run(move |conn| {
                    let not_before = now() + chrono::Duration::seconds(ahead);
                    oidc_keys::rotate(conn, &mk, not_before)
                })
                .await?;
            println!("new keys {}: published now, signing {}", kids.join(", "), if immediately { "now".to_string() } else { format!("in {ahead} s") });
            Ok(())
        }
        KeysCommand::List { json } => {
            let rows = db.run(|conn| Ok(SigningKeyRow::all(conn)?)).await?;
            let out: Vec<KeyOut> = rows
                .into_iter()
                .map(|r| KeyOut {
                    kid: r.id,
                    alg: r.alg,
                    not_before: r.not_before.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    created_at: r.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                })
                .collect();
            if json {
                json_line(&out);
            } else {
                println!("{:<18}  {:<6}  {:<20}  CREATED", "KID", "ALG", "SIGNS FROM");
                for k in out {
                    println!("{:<18}  {:<6}  {:<20}  {}", k.kid, k.alg, k.not_before, k.created_at);
                }
            }
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct ProviderOut {
    slug: String,
    kind: String,
    name: String,
    enabled: bool,
    client_id: String,
    issuer: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    userinfo_url: Option<String>,
    scopes: String,
    link_policy: String,
    allowed_domains: Vec<String>,
    hosted_domain: Option<String>,
    github_orgs: Vec<String>,
    keep_tokens: bool,
    managed_by: String,
}

fn provider_out(r: IdentityProviderRow) -> ProviderOut {
    ProviderOut {
        allowed_domains: serde_json::from_str(&r.allowed_domains).unwrap_or_default(),
        github_orgs: serde_json::from_str(&r.github_orgs).unwrap_or_default(),
        slug: r.slug,
        kind: r.kind,
        name: r.display_name,
        enabled: r.enabled,
        client_id: r.client_id,
        issuer: r.issuer,
        authorize_url: r.authorize_url,
        token_url: r.token_url,
        userinfo_url: r.userinfo_url,
        scopes: r.scopes,
        link_policy: r.link_policy,
        hosted_domain: r.hosted_domain,
        keep_tokens: r.keep_tokens,
        managed_by: r.managed_by,
    }
}

async fn provider_command(settings: &Settings, cmd: ProviderCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let mk = master_key(settings)?;
    match cmd {
        ProviderCommand::Add(a) => {
            let secret = read_password_line().map_err(|_| CliError::Usage("no client secret on standard input".into()))?;
            let slug = match (&a.slug, a.kind.as_str()) {
                (Some(s), _) => s.clone(),
                (None, k @ ("google" | "github")) => k.to_string(),
                (None, _) => return Err(CliError::Usage("--slug is required for oidc and oauth2 providers".into())),
            };
            let claims = (a.kind == "oauth2").then(|| ClaimMapping {
                subject: a.subject_claim.clone(),
                email: a.email_claim.clone(),
                email_verified: a.email_verified_claim.clone(),
                name: a.name_claim.clone(),
                picture: a.picture_claim.clone(),
            });
            let spec = ProviderSpec {
                slug: slug.clone(),
                kind: a.kind,
                display_name: a.name.unwrap_or_default(),
                client_id: a.client_id,
                client_secret: secret,
                issuer: a.issuer,
                authorize_url: a.authorize_url,
                token_url: a.token_url,
                userinfo_url: a.userinfo_url,
                scopes: a.scopes,
                claims,
                link_policy: a.link_policy,
                allowed_domains: a.allowed_domains,
                hosted_domain: a.hosted_domain,
                github_orgs: a.github_orgs,
                keep_tokens: a.keep_tokens,
            };
            db.run(move |conn| registry::add(conn, &mk, &spec, now())).await.map_err(usage)?;
            println!("added provider {slug}; its callback URL is {}/auth/callback/{slug}", settings.issuer());
            Ok(())
        }
        ProviderCommand::List { json } => {
            let rows = db.run(|conn| Ok(IdentityProviderRow::list(conn)?)).await?;
            let out: Vec<ProviderOut> = rows.into_iter().map(provider_out).collect();
            if json {
                json_line(&out);
            } else {
                println!("{:<16}  {:<8}  {:<24}  {:<8}  MANAGED_BY", "SLUG", "KIND", "NAME", "ENABLED");
                for p in out {
                    println!("{:<16}  {:<8}  {:<24}  {:<8}  {}", p.slug, p.kind, p.name, p.enabled, p.managed_by);
                }
            }
            Ok(())
        }
        ProviderCommand::Show { slug, json } => {
            let lookup = slug.clone();
            let row = db.run(move |conn| Ok(IdentityProviderRow::find(conn, &lookup)?)).await?;
            let p = provider_out(row.ok_or_else(|| CliError::Usage(format!("no provider {slug}")))?);
            if json {
                json_line(&p);
            } else {
                println!("slug:          {}", p.slug);
                println!("kind:          {}", p.kind);
                println!("name:          {}", p.name);
                println!("enabled:       {}", p.enabled);
                println!("client_id:     {}", p.client_id);
                println!("client_secret: (stored encrypted; never shown)");
                for (k, v) in [("issuer", &p.issuer), ("authorize_url", &p.authorize_url), ("token_url", &p.token_url), ("userinfo_url", &p.userinfo_url), ("hosted_domain", &p.hosted_domain)] {
                    if let Some(v) = v {
                        println!("{:<14} {v}", format!("{k}:"));
                    }
                }
                println!("scopes:        {}", p.scopes);
                println!("link_policy:   {}", p.link_policy);
                println!("keep_tokens:   {}", p.keep_tokens);
                println!("managed_by:    {}", p.managed_by);
                println!("callback URL:  {}/auth/callback/{}", settings.issuer(), p.slug);
            }
            Ok(())
        }
        ProviderCommand::Enable { slug } => set_provider_enabled(&db, slug, true).await,
        ProviderCommand::Disable { slug } => set_provider_enabled(&db, slug, false).await,
        ProviderCommand::Remove { slug } => {
            let lookup = slug.clone();
            let n = db.run(move |conn| Ok(IdentityProviderRow::delete(conn, &lookup)?)).await?;
            if n == 0 {
                return Err(CliError::Usage(format!("no provider {slug}")));
            }
            println!("removed provider {slug}");
            Ok(())
        }
    }
}

async fn set_provider_enabled(db: &Db, slug: String, enabled: bool) -> Result<(), CliError> {
    let lookup = slug.clone();
    let n = db.run(move |conn| Ok(IdentityProviderRow::set_enabled(conn, &lookup, enabled, now())?)).await?;
    if n == 0 {
        return Err(CliError::Usage(format!("no provider {slug}")));
    }
    println!("provider {slug} {}", if enabled { "enabled" } else { "disabled" });
    Ok(())
}

#[derive(Serialize)]
struct QueuedOut {
    id: String,
    to: String,
    subject: String,
    status: String,
    attempts: i32,
    next_attempt_at: String,
    last_error: Option<String>,
}

async fn mail_queue(settings: &Settings, json: bool) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let rows = db.run(|conn| Ok(OutboxMessage::unsent(conn)?)).await?;
    let out: Vec<QueuedOut> = rows
        .into_iter()
        .map(|m| QueuedOut {
            id: m.id,
            to: m.recipient,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            last_error: m.last_error,
        })
        .collect();
    if json {
        json_line(&out);
        return Ok(());
    }
    if out.is_empty() {
        println!("the mail queue is empty");
    }
    for m in out {
        println!("{}  {:<8} tries={} next={}  to={}  {}", m.id, m.status, m.attempts, m.next_attempt_at, m.to, m.subject);
        if let Some(e) = m.last_error {
            println!("    last error: {e}");
        }
    }
    Ok(())
}

/// Back-channel logout for sessions the CLI ended, delivered before the process exits.
async fn notify_ended_sessions(settings: &Settings, db: &Db, ended: Vec<String>) -> Result<(), CliError> {
    if ended.is_empty() {
        return Ok(());
    }
    let lifetimes = crate::oidc::Lifetimes::from(&settings.oidc);
    let keys = std::sync::Arc::new(
        oidc_keys::KeyStore::open(db.clone(), master_key(settings)?, settings.keys.clone(), lifetimes.key_retention()).await?,
    );
    let provider = std::sync::Arc::new(crate::oidc::Provider::new(settings, keys)?);
    let p = provider.clone();
    let deliveries = db
        .run(move |conn| {
            let mut all = Vec::new();
            for id in &ended {
                all.extend(crate::oidc::logout::deliveries_for_session(conn, &p, &p.keys.current(), id, now())?);
            }
            Ok(all)
        })
        .await?;
    crate::oidc::logout::deliver_and_wait(provider.http.clone(), provider.backchannel_attempts, deliveries).await;
    Ok(())
}
