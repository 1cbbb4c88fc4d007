//! Client applications as admins manage them (issue 14). A client declared in the configuration
//! file is the file's: it is listed like any other, but every change here is refused with a
//! message saying so (the CLI goes through here too), so a reload never silently undoes an edit.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::users::utc;
use super::{AdminError, AdminResult};
use crate::db::models::OAuthClient;
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::identity::audit::{self, Actor, AuditKind, Event};
use crate::identity::ids::ClientId;
use crate::oidc::claim_rules::ClaimRule;
use crate::oidc::clients::{self as oidc_clients, Client, ClientSpec};

/// Where API- and console-made clients come from (`managed_by`).
pub const MANAGED_BY_ADMIN: &str = "admin";
pub const MANAGED_BY_CONFIG: &str = "config";

/// A client as the API shows it (never its secret, which only a hash of is stored).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub skip_consent: bool,
    pub always_issue_refresh: bool,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: String,
    pub access_token_alg: String,
    pub require_mfa: bool,
    pub admin_api: bool,
    /// Extra claims computed from the user (README, "Groups and claim rules").
    #[schema(value_type = Vec<Object>)]
    pub claims: Vec<ClaimRule>,
    /// `config` (declared in the configuration file: read-only here), `cli` or `admin`.
    pub managed_by: String,
    /// Whether this API and the console may change it.
    pub editable: bool,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        ClientView {
            client_id: c.id.to_string(),
            name: c.name.clone(),
            public: c.is_public(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
            token_endpoint_auth_method: c.auth_method.as_str().into(),
            skip_consent: c.skip_consent,
            always_issue_refresh: c.always_issue_refresh,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            id_token_alg: c.id_token_alg.as_str().into(),
            access_token_alg: c.access_token_alg.as_str().into(),
            require_mfa: c.require_mfa,
            admin_api: c.admin_api,
            claims: c.claims.clone(),
            managed_by: c.managed_by.clone(),
            editable: c.managed_by != MANAGED_BY_CONFIG,
        }
    }
}

/// A client's settings as an admin writes them: the fields of a `[[clients]]` entry of the
/// configuration file, without `id` and `secret` (Portcullis makes those).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    pub name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A browser or native app: no secret, PKCE required.
    #[serde(default)]
    pub public: bool,
    /// Default: authorization_code and refresh_token.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// client_secret_basic (default), client_secret_post, or none (public clients).
    #[serde(default)]
    pub auth_method: Option<String>,
    #[serde(default)]
    pub skip_consent: bool,
    #[serde(default)]
    pub always_issue_refresh: bool,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// RS256 (default), ES256 or EdDSA.
    #[serde(default)]
    pub id_token_alg: Option<String>,
    #[serde(default)]
    pub access_token_alg: Option<String>,
    #[serde(default)]
    pub require_mfa: bool,
    #[serde(default)]
    pub admin_api: bool,
    /// Extra claims, as `[[clients.claims]]` entries (`name`, `from`, `scope`, `in`,
    /// `groups_prefix`). A PUT replaces them too: send the ones to keep.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub claims: Vec<ClaimRule>,
}

impl ClientBody {
    pub fn spec(&self) -> ClientSpec {
        ClientSpec {
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            public: self.public,
            grant_types: self.grant_types.clone(),
            auth_method: self.auth_method.clone(),
            skip_consent: self.skip_consent,
            always_issue_refresh: self.always_issue_refresh,
            backchannel_logout_uri: self
                .backchannel_logout_uri
                .clone()
                .filter(|u| !u.is_empty()),
            id_token_alg: self.id_token_alg.clone().unwrap_or_else(|| "RS256".into()),
            access_token_alg: self.access_token_alg.clone().filter(|a| !a.is_empty()),
            require_mfa: self.require_mfa,
            admin_api: self.admin_api,
            claims: self.claims.clone(),
        }
    }
}

/// A client just registered, with its secret (shown once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientView,
    pub client_secret: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn list(conn: &mut DbConnection) -> AdminResult<Vec<ClientView>> {
    let rows = OAuthClient::list(conn)?;
    rows.into_iter()
        .map(|r| Ok(ClientView::from(&Client::from_row(r)?)))
        .collect()
}

pub fn find(conn: &mut DbConnection, id: &str) -> AdminResult<Client> {
    let id = ClientId::parse(id).map_err(|_| AdminError::NotFound("client"))?;
    Client::find(conn, &id)?.ok_or(AdminError::NotFound("client"))
}

fn editable(conn: &mut DbConnection, id: &str) -> AdminResult<Client> {
    let client = find(conn, id)?;
    if client.managed_by == MANAGED_BY_CONFIG {
        return Err(AdminError::Managed {
            what: "client",
            id: client.id.to_string(),
        });
    }
    Ok(client)
}

fn audit(
    conn: &mut DbConnection,
    actor: &Actor,
    kind: AuditKind,
    client: &ClientId,
    detail: Option<&str>,
    now: NaiveDateTime,
) -> AdminResult<()> {
    let event = Event {
        actor: Some(actor),
        client: Some(client),
        detail,
        ..Event::new(kind)
    };
    Ok(audit::record_event(conn, &event, now)?)
}

fn spec_error(e: AppError) -> AdminError {
    match e {
        AppError::Invalid(why) => AdminError::Invalid(why.to_string()),
        AppError::NotFound => AdminError::NotFound("client"),
        other => AdminError::App(other),
    }
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    body: &ClientBody,
    managed_by: &str,
    now: NaiveDateTime,
) -> AdminResult<CreatedClient> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let registered =
            oidc_clients::register(conn, &body.spec(), managed_by).map_err(spec_error)?;
        audit(
            conn,
            actor,
            AuditKind::ClientCreated,
            &registered.client.id,
            Some(&registered.client.name),
            now,
        )?;
        Ok(CreatedClient {
            client: ClientView::from(&registered.client),
            client_secret: registered.secret,
            created_at: utc(now),
        })
    })
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    body: &ClientBody,
    now: NaiveDateTime,
) -> AdminResult<ClientView> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let client = editable(conn, id)?;
        let updated = oidc_clients::update(conn, &client.id, &body.spec()).map_err(spec_error)?;
        audit(conn, actor, AuditKind::ClientUpdated, &client.id, None, now)?;
        Ok(ClientView::from(&updated))
    })
}

/// A new secret for a confidential client; the old one stops working at once.
pub fn rotate_secret(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> AdminResult<String> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let client = editable(conn, id)?;
        let secret = oidc_clients::rotate_secret(conn, &client.id).map_err(spec_error)?;
        audit(
            conn,
            actor,
            AuditKind::ClientSecretRotated,
            &client.id,
            None,
            now,
        )?;
        Ok(secret)
    })
}

/// Deletes the client with every grant and token it holds (ON DELETE CASCADE).
pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> AdminResult<()> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let client = editable(conn, id)?;
        OAuthClient::delete(conn, &client.id)?;
        audit(
            conn,
            actor,
            AuditKind::ClientDeleted,
            &client.id,
            Some(&client.name),
            now,
        )?;
        Ok(())
    })
}
