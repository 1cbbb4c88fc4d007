//! `portcullis provider …`.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{json_line, read_password_line, usage, CliError};
use crate::config::Settings;
use crate::db::models::IdentityProviderRow;
use crate::db::Db;
use crate::identity::now;
use crate::startup::{master_key, open_database};
use crate::upstream::config::{ClaimMapping, FlatSpec, Kind, LinkPolicy, ProviderSpec};
use crate::upstream::probe;
use crate::upstream::registry::{self, NewProvider};

// Parsed once per process: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
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
    /// Check that the provider answers as a sign-in needs: discovery, JWKS, endpoints. Exits
    /// non-zero when a step fails, naming what failed (DNS, connection, TLS, HTTP status, a
    /// missing field, …).
    Test {
        slug: String,
        #[arg(long)]
        json: bool,
    },
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
    /// true: trust this provider's verified email to link an existing user without asking
    /// them to prove the account; false: always ask. Unset: the kind's default (README).
    #[arg(long)]
    pub trust_email: Option<bool>,
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
    trust_email: Option<bool>,
    allowed_domains: Vec<String>,
    hosted_domain: Option<String>,
    github_orgs: Vec<String>,
    keep_tokens: bool,
    managed_by: String,
}

fn provider_out(r: IdentityProviderRow) -> ProviderOut {
    ProviderOut {
        allowed_domains: r.allowed_domains.into_inner(),
        github_orgs: r.github_orgs.into_inner(),
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
        trust_email: r.trust_email,
        hosted_domain: r.hosted_domain,
        keep_tokens: r.keep_tokens,
        managed_by: r.managed_by,
    }
}

pub async fn run(settings: &Settings, cmd: ProviderCommand) -> Result<(), CliError> {
    let db = open_database(settings).await?;
    let mk = master_key(settings)?;
    match cmd {
        ProviderCommand::Add(a) => {
            let secret = read_password_line()
                .map_err(|_| CliError::Usage("no client secret on standard input".into()))?;
            let slug = match (&a.slug, a.kind.as_str()) {
                (Some(s), _) => s.clone(),
                (None, k @ ("google" | "github")) => k.to_string(),
                (None, _) => {
                    return Err(CliError::Usage(
                        "--slug is required for oidc and oauth2 providers".into(),
                    ))
                }
            };
            let kind = Kind::parse(&a.kind).ok_or_else(|| {
                CliError::Usage("kind: use google, github, oidc or oauth2".into())
            })?;
            let claims = (kind == Kind::Oauth2).then(|| ClaimMapping {
                subject: a.subject_claim.clone(),
                email: a.email_claim.clone(),
                email_verified: a.email_verified_claim.clone(),
                name: a.name_claim.clone(),
                picture: a.picture_claim.clone(),
            });
            let flat = FlatSpec {
                issuer: a.issuer,
                authorize_url: a.authorize_url,
                token_url: a.token_url,
                userinfo_url: a.userinfo_url,
                hosted_domain: a.hosted_domain,
                github_orgs: a.github_orgs,
                claims,
            };
            let (spec, ignored) = ProviderSpec::from_flat(kind, flat).map_err(CliError::Usage)?;
            if !ignored.is_empty() {
                eprintln!(
                    "ignored for a {} provider: {}",
                    kind.as_str(),
                    ignored.join(", ")
                );
            }
            let link_policy = match a.link_policy.as_deref() {
                Some(p) => LinkPolicy::parse(p).ok_or_else(|| {
                    CliError::Usage("link policy: use verified_email or never".into())
                })?,
                None => LinkPolicy::VerifiedEmail,
            };
            let spec = NewProvider {
                slug: slug.clone(),
                display_name: a.name.unwrap_or_default(),
                client_id: a.client_id,
                client_secret: secret,
                scopes: a.scopes,
                link_policy,
                trust_email: a.trust_email,
                allowed_domains: a.allowed_domains,
                keep_tokens: a.keep_tokens,
                spec,
            };
            db.run(move |conn| registry::add(conn, &mk, &spec, now()))
                .await
                .map_err(usage)?;
            println!(
                "added provider {slug}; its callback URL is {}/auth/callback/{slug}",
                settings.issuer()
            );
            Ok(())
        }
        ProviderCommand::List { json } => {
            let rows = db.run(|conn| Ok(IdentityProviderRow::list(conn)?)).await?;
            let out: Vec<ProviderOut> = rows.into_iter().map(provider_out).collect();
            if json {
                json_line(&out);
            } else {
                println!(
                    "{:<16}  {:<8}  {:<24}  {:<8}  MANAGED_BY",
                    "SLUG", "KIND", "NAME", "ENABLED"
                );
                for p in out {
                    println!(
                        "{:<16}  {:<8}  {:<24}  {:<8}  {}",
                        p.slug, p.kind, p.name, p.enabled, p.managed_by
                    );
                }
            }
            Ok(())
        }
        ProviderCommand::Show { slug, json } => {
            let lookup = slug.clone();
            let row = db
                .run(move |conn| Ok(IdentityProviderRow::find(conn, &lookup)?))
                .await?;
            let p =
                provider_out(row.ok_or_else(|| CliError::Usage(format!("no provider {slug}")))?);
            if json {
                json_line(&p);
            } else {
                println!("slug:          {}", p.slug);
                println!("kind:          {}", p.kind);
                println!("name:          {}", p.name);
                println!("enabled:       {}", p.enabled);
                println!("client_id:     {}", p.client_id);
                println!("client_secret: (stored encrypted; never shown)");
                for (k, v) in [
                    ("issuer", &p.issuer),
                    ("authorize_url", &p.authorize_url),
                    ("token_url", &p.token_url),
                    ("userinfo_url", &p.userinfo_url),
                    ("hosted_domain", &p.hosted_domain),
                ] {
                    if let Some(v) = v {
                        println!("{:<14} {v}", format!("{k}:"));
                    }
                }
                println!("scopes:        {}", p.scopes);
                println!("link_policy:   {}", p.link_policy);
                println!(
                    "trust_email:   {}",
                    p.trust_email
                        .map_or("default for the kind".to_string(), |t| t.to_string())
                );
                println!("keep_tokens:   {}", p.keep_tokens);
                println!("managed_by:    {}", p.managed_by);
                println!(
                    "callback URL:  {}/auth/callback/{}",
                    settings.issuer(),
                    p.slug
                );
            }
            Ok(())
        }
        ProviderCommand::Test { slug, json } => test_provider(settings, &db, mk, slug, json).await,
        ProviderCommand::Enable { slug } => set_provider_enabled(&db, slug, true).await,
        ProviderCommand::Disable { slug } => set_provider_enabled(&db, slug, false).await,
        ProviderCommand::Remove { slug } => {
            let lookup = slug.clone();
            db.run(move |conn| {
                Ok(crate::admin::providers::delete(
                    conn,
                    &crate::identity::audit::Actor::Cli,
                    &lookup,
                    now(),
                ))
            })
            .await?
            .map_err(|e| not_found_as(e, &slug))?;
            println!("removed provider {slug}");
            Ok(())
        }
    }
}

/// "no provider SLUG", as the other provider commands say it.
fn not_found_as(e: crate::admin::AdminError, slug: &str) -> CliError {
    match e {
        crate::admin::AdminError::NotFound(_) => CliError::Usage(format!("no provider {slug}")),
        other => other.into(),
    }
}

/// `provider test`: every step on a line (or the report as JSON); a failed step fails the
/// command.
async fn test_provider(
    settings: &Settings,
    db: &Db,
    mk: crate::crypto::MasterKey,
    slug: String,
    json: bool,
) -> Result<(), CliError> {
    let lookup = slug.clone();
    let cfg = db
        .run(move |conn| {
            IdentityProviderRow::find(conn, &lookup)?
                .map(|row| registry::to_config(&row, &mk))
                .transpose()
        })
        .await?
        .ok_or_else(|| CliError::Usage(format!("no provider {slug}")))?;
    let http = crate::upstream::http_client(&settings.upstream)?;
    let callback = format!("{}/auth/callback/{slug}", settings.issuer());
    let report = probe::test(&cfg, &http, &callback).await;
    if json {
        json_line(&report);
    } else {
        for step in &report.steps {
            println!(
                "{:<4}  {:<22}  {}  {}",
                if step.ok { "ok" } else { "FAIL" },
                step.name,
                step.url,
                step.message
            );
        }
    }
    if report.ok {
        Ok(())
    } else {
        let failed: Vec<&str> = report
            .steps
            .iter()
            .filter(|s| !s.ok)
            .map(|s| s.name)
            .collect();
        Err(CliError::Usage(format!(
            "provider {slug} failed: {}",
            failed.join(", ")
        )))
    }
}

async fn set_provider_enabled(db: &Db, slug: String, enabled: bool) -> Result<(), CliError> {
    let lookup = slug.clone();
    db.run(move |conn| {
        Ok((|| {
            let row = crate::admin::providers::find(conn, &lookup)?;
            // What the configuration file declares is the file's to change.
            if row.managed_by == crate::admin::providers::MANAGED_BY_CONFIG {
                return Err(crate::admin::AdminError::Managed {
                    what: "provider",
                    id: row.slug,
                });
            }
            IdentityProviderRow::set_enabled(conn, &lookup, enabled, now())?;
            Ok(())
        })())
    })
    .await?
    .map_err(|e| not_found_as(e, &slug))?;
    println!(
        "provider {slug} {}",
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}
