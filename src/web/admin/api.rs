//! The admin REST API (issue 14, part 2): JSON under [`PREFIX`], described by an OpenAPI 3.1
//! document generated from these handlers ([`ApiDoc`], served at [`OPENAPI_PATH`]). Each handler
//! parses, calls `crate::admin`, and answers; errors are [`ErrorBody`].

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use super::caller::ApiCaller;
use super::{ApiError, ErrorBody};
use crate::admin::audit_log::{self, AuditEventView};
use crate::admin::clients::{self, ClientBody, ClientView, CreatedClient, MANAGED_BY_ADMIN};
use crate::admin::groups::{self, GroupView, MemberPage, MemberView};
use crate::admin::keys::{self, KeyState, KeyView};
use crate::admin::mail_queue::{self, QueuedMail};
use crate::admin::providers::{self, ProviderView};
use crate::admin::users::{
    self, GrantSummary, LinkedAccount, NewUserSpec, ProfileFacts, SecondFactors, SessionSummary,
    UserDetail, UserEdit, UserMail, UserSummary,
};
use crate::admin::{role, Page, Paging};
use crate::config::StaticProvider;
use crate::db::models::audit::AuditFilter;
use crate::db::models::UserFilter;
use crate::identity::now;
use crate::web::AppState;

pub const PREFIX: &str = "/admin/api/v1";
pub const OPENAPI_PATH: &str = "/admin/api/openapi.json";

type ApiResult = Result<HttpResponse, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(OPENAPI_PATH, web::get().to(openapi)).service(
        web::scope(PREFIX)
            .wrap(actix_web::middleware::from_fn(super::caller::csrf_header))
            .app_data(
                web::JsonConfig::default()
                    .limit(64 * 1024)
                    .error_handler(|e, _| ApiError::invalid(format!("body: {e}")).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::invalid(format!("query: {e}")).into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|e, _| ApiError::invalid(format!("path: {e}")).into()),
            )
            .route("/users", web::get().to(list_users))
            .route("/users", web::post().to(create_user))
            .route("/users/{id}", web::get().to(get_user))
            .route("/users/{id}", web::patch().to(update_user))
            .route("/users/{id}", web::delete().to(delete_user))
            .route("/users/{id}/disable", web::post().to(disable_user))
            .route("/users/{id}/enable", web::post().to(enable_user))
            .route("/users/{id}/admin", web::put().to(grant_admin))
            .route("/users/{id}/admin", web::delete().to(revoke_admin))
            .route("/users/{id}/sessions", web::delete().to(revoke_sessions))
            .route("/users/{id}/grants", web::delete().to(revoke_grants))
            .route("/users/{id}/mail", web::post().to(send_user_mail))
            .route("/clients", web::get().to(list_clients))
            .route("/clients", web::post().to(create_client))
            .route("/clients/{id}", web::get().to(get_client))
            .route("/clients/{id}", web::put().to(update_client))
            .route("/clients/{id}", web::delete().to(delete_client))
            .route("/clients/{id}/secret", web::post().to(rotate_client_secret))
            .route("/providers", web::get().to(list_providers))
            .route("/providers", web::post().to(create_provider))
            .route("/providers/{slug}", web::get().to(get_provider))
            .route("/providers/{slug}", web::put().to(update_provider))
            .route("/providers/{slug}", web::delete().to(delete_provider))
            .route("/providers/{slug}/test", web::post().to(test_provider))
            .route("/groups", web::get().to(list_groups))
            .route("/groups", web::post().to(create_group))
            .route("/groups/{id}", web::get().to(get_group))
            .route("/groups/{id}", web::patch().to(update_group))
            .route("/groups/{id}", web::delete().to(delete_group))
            .route("/groups/{id}/members", web::get().to(list_members))
            .route("/groups/{id}/members/{user}", web::put().to(add_member))
            .route(
                "/groups/{id}/members/{user}",
                web::delete().to(remove_member),
            )
            .route("/keys", web::get().to(list_keys))
            .route("/keys/rotate", web::post().to(rotate_keys))
            .route("/keys/{kid}", web::delete().to(retire_key))
            .route("/audit", web::get().to(list_audit))
            .route("/mail", web::get().to(list_mail))
            .route("/mail/retry", web::post().to(retry_mail))
            .route("/mail/purge", web::post().to(purge_mail))
            .route("/mail/test", web::post().to(test_mail))
            .default_service(web::to(no_such_call)),
    );
}

async fn no_such_call() -> ApiResult {
    Err(ApiError::from(crate::admin::AdminError::NotFound(
        "API call",
    )))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis admin API",
        description = "Administration of a Portcullis identity server: users, client applications, \
            upstream providers, signing keys, the audit trail and the mail queue. Authenticate with \
            an access token from `client_credentials` carrying the `portcullis:admin` scope (the \
            client must be marked `admin_api`), or an admin's browser session (then send the \
            `portcullis_csrf` cookie's value in `X-CSRF-Token` on every change).",
        version = "1"
    ),
    paths(
        list_users, create_user, get_user, update_user, delete_user, disable_user, enable_user,
        grant_admin, revoke_admin, revoke_sessions, revoke_grants, send_user_mail,
        list_clients, create_client, get_client, update_client, delete_client,
        rotate_client_secret,
        list_providers, create_provider, get_provider, update_provider, delete_provider,
        test_provider, list_groups, create_group, get_group, update_group, delete_group,
        list_members, add_member, remove_member,
        list_keys, rotate_keys, retire_key, list_audit, list_mail, retry_mail, purge_mail,
        test_mail,
    ),
    components(schemas(
        ErrorBody, UserSummary, UserDetail, LinkedAccount, SessionSummary, GrantSummary,
        SecondFactors, ProfileFacts, NewUserBody, UserEditBody, DisableBody, MailKindBody, UserMailKind,
        ClientView, ClientBody, CreatedClient, SecretBody, ProviderView, KeyView, KeyState,
        RotateBody, Rotated, AuditEventView, QueuedMail, MailSelection, TestMailBody, Queued,
        Count, UserPage, AuditPage, GroupView, MemberView, MemberPage, GroupBody, GroupEditBody,
        Changed,
    )),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "users"), (name = "clients"), (name = "providers"), (name = "keys"),
        (name = "groups"), (name = "audit"), (name = "mail"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /token with grant_type=client_credentials and \
                         scope=portcullis:admin",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "portcullis_session",
                "An admin's browser session (recent sign-in; changes need X-CSRF-Token)",
            ))),
        );
    }
}

/// The document, generated once per process.
async fn openapi() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|_| "{}".into())
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

async fn run<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection) -> crate::admin::AdminResult<T> + Send + 'static,
{
    state
        .db
        .run(move |conn| Ok(f(conn)))
        .await
        .map_err(ApiError::from)?
        .map_err(ApiError::from)
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> ApiResult {
    Ok(HttpResponse::build(status).json(body))
}

// ---- users ----

/// A page of users (named for the OpenAPI document).
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserSummary>,
    pub limit: i64,
    pub offset: i64,
    pub next_offset: Option<i64>,
}

impl From<Page<UserSummary>> for UserPage {
    fn from(p: Page<UserSummary>) -> Self {
        UserPage {
            items: p.items,
            limit: p.limit,
            offset: p.offset,
            next_offset: p.next_offset,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Part of an address or name (either case), or a whole user ID.
    q: Option<String>,
    /// Only disabled (true) or only enabled (false) users.
    disabled: Option<bool>,
    /// Only admins (true) or only non-admins (false).
    admin: Option<bool>,
    /// 1 to 200; default 50.
    limit: Option<i64>,
    offset: Option<i64>,
}

/// Search users, newest first.
#[utoipa::path(get, path = "/admin/api/v1/users", tag = "users", operation_id = "listUsers",
    params(UserQuery),
    responses((status = 200, description = "Done", body = UserPage), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 401, description = "No valid admin credentials", body = ErrorBody)))]
async fn list_users(
    state: web::Data<AppState>,
    _caller: ApiCaller,
    query: web::Query<UserQuery>,
) -> ApiResult {
    let q = query.into_inner();
    let paging = Paging::new(q.limit, q.offset)?;
    let filter = UserFilter {
        query: q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        disabled: q.disabled,
        admin: q.admin,
    };
    if filter
        .query
        .as_ref()
        .is_some_and(|s| s.chars().count() > 200)
    {
        return Err(ApiError::invalid("q: at most 200 characters"));
    }
    let page = run(&state, move |conn| users::search(conn, &filter, paging)).await?;
    json(StatusCode::OK, &UserPage::from(page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub email: String,
    pub name: String,
    /// Optional: without one the user signs in another way (an email link, a provider) or
    /// sets one through "forgot password".
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub admin: bool,
}

/// Create a user.
#[utoipa::path(post, path = "/admin/api/v1/users", tag = "users", operation_id = "createUser",
    request_body = NewUserBody,
    responses((status = 201, description = "Created", body = UserDetail), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn create_user(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: web::Json<NewUserBody>,
) -> ApiResult {
    let body = body.into_inner();
    let email = users::check_email(&body.email)?;
    let name = users::check_name(&body.name)?;
    let password_hash = match body.password {
        Some(p) => {
            state
                .hasher
                .policy
                .check(&p)
                .map_err(|e| ApiError::invalid(format!("password: {e}")))?;
            Some(state.hasher.hash(p).await?)
        }
        None => None,
    };
    let spec = NewUserSpec {
        email,
        name,
        password_hash,
        email_verified: body.email_verified,
        admin: body.admin,
    };
    let actor = caller.actor;
    let detail = run(&state, move |conn| {
        let user = users::create(conn, &actor, &spec, now())?;
        users::detail(conn, user.id.as_str())
    })
    .await?;
    json(StatusCode::CREATED, &detail)
}

/// One user: profile, linked accounts, sessions, authorized applications, second factors.
#[utoipa::path(get, path = "/admin/api/v1/users/{id}", tag = "users", operation_id = "getUser",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 200, description = "Done", body = UserDetail), (status = 404, description = "No such object", body = ErrorBody)))]
async fn get_user(
    state: web::Data<AppState>,
    _caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let id = id.into_inner();
    let detail = run(&state, move |conn| users::detail(conn, &id)).await?;
    json(StatusCode::OK, &detail)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserEditBody {
    pub name: Option<String>,
    /// A new address counts as unverified unless `email_verified` is true.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// Sent to applications as `preferred_username`; an empty string removes it.
    pub username: Option<String>,
}

/// Change a user's name, address, its verified mark or username.
#[utoipa::path(patch, path = "/admin/api/v1/users/{id}", tag = "users", operation_id = "updateUser",
    params(("id" = String, Path, description = "User ID")), request_body = UserEditBody,
    responses((status = 200, description = "Done", body = UserDetail), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn update_user(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
    body: web::Json<UserEditBody>,
) -> ApiResult {
    let body = body.into_inner();
    let edit = UserEdit {
        name: body.name.as_deref().map(users::check_name).transpose()?,
        email: body.email.as_deref().map(users::check_email).transpose()?,
        email_verified: body.email_verified,
        username: body
            .username
            .as_deref()
            .map(users::check_username)
            .transpose()?,
    };
    let (actor, id) = (caller.actor, id.into_inner());
    let detail = run(&state, move |conn| {
        users::update(conn, &actor, &id, &edit, now())?;
        users::detail(conn, &id)
    })
    .await?;
    json(StatusCode::OK, &detail)
}

/// Delete a user. Their sessions end first, so applications get back-channel logouts.
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}", tag = "users", operation_id = "deleteUser",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 204, description = "Done; nothing to return"), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn delete_user(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let id = id.into_inner();
    let user = run(&state, move |conn| users::may_delete(conn, &id)).await?;
    crate::identity::management::delete_user(&state.db, &user.id, Some(caller.actor)).await?;
    state.backchannel.wake();
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableBody {
    /// Kept for admins and the audit trail; never shown to the user.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Disable a user: their sessions end (with back-channel logout) and their grants are revoked.
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/disable", tag = "users", operation_id = "disableUser",
    params(("id" = String, Path, description = "User ID")), request_body = DisableBody,
    responses((status = 200, description = "Done", body = UserDetail), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn disable_user(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
    body: Option<web::Json<DisableBody>>,
) -> ApiResult {
    let reason = body
        .and_then(|b| b.into_inner().reason)
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::invalid("reason: at most 500 characters"));
    }
    let (actor, id) = (caller.actor, id.into_inner());
    let detail = run(&state, move |conn| {
        users::disable(conn, &actor, &id, reason.as_deref(), now())?;
        users::detail(conn, &id)
    })
    .await?;
    state.backchannel.wake();
    json(StatusCode::OK, &detail)
}

/// Let a disabled user sign in again.
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/enable", tag = "users", operation_id = "enableUser",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 200, description = "Done", body = UserDetail), (status = 404, description = "No such object", body = ErrorBody)))]
async fn enable_user(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    let detail = run(&state, move |conn| {
        users::enable(conn, &actor, &id, now())?;
        users::detail(conn, &id)
    })
    .await?;
    json(StatusCode::OK, &detail)
}

/// Give a user the admin role.
#[utoipa::path(put, path = "/admin/api/v1/users/{id}/admin", tag = "users", operation_id = "grantAdmin",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 200, description = "Done", body = UserDetail), (status = 404, description = "No such object", body = ErrorBody)))]
async fn grant_admin(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    let detail = run(&state, move |conn| {
        let user = users::find(conn, &id)?;
        role::grant(conn, &actor, &user.id, now())?;
        users::detail(conn, &id)
    })
    .await?;
    json(StatusCode::OK, &detail)
}

/// Take the admin role away (never from the last admin who can sign in).
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}/admin", tag = "users", operation_id = "revokeAdmin",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 200, description = "Done", body = UserDetail), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn revoke_admin(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    let detail = run(&state, move |conn| {
        let user = users::find(conn, &id)?;
        role::revoke(conn, &actor, &user.id, now())?;
        users::detail(conn, &id)
    })
    .await?;
    json(StatusCode::OK, &detail)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    pub count: usize,
}

/// End every session of a user (applications get back-channel logouts).
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}/sessions", tag = "users", operation_id = "revokeSessions",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 200, description = "Done", body = Count), (status = 404, description = "No such object", body = ErrorBody)))]
async fn revoke_sessions(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    let ended = run(&state, move |conn| {
        users::revoke_sessions(conn, &actor, &id, now())
    })
    .await?;
    state.backchannel.wake();
    json(StatusCode::OK, &Count { count: ended.len() })
}

/// Revoke every application authorization of a user (their tokens stop working).
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}/grants", tag = "users", operation_id = "revokeGrants",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 200, description = "Done", body = Count), (status = 404, description = "No such object", body = ErrorBody)))]
async fn revoke_grants(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    let count = run(&state, move |conn| {
        users::revoke_grants(conn, &actor, &id, now())
    })
    .await?;
    json(StatusCode::OK, &Count { count })
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserMailKind {
    PasswordReset,
    Verification,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailKindBody {
    pub kind: UserMailKind,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    /// The queued message, to follow in GET /mail (absent when several were queued).
    pub id: Option<String>,
}

/// Send a user a password reset link or a new verification link.
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/mail", tag = "users", operation_id = "sendUserMail",
    params(("id" = String, Path, description = "User ID")), request_body = MailKindBody,
    responses((status = 202, description = "Queued for delivery", body = Queued), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn send_user_mail(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: ApiCaller,
    id: web::Path<String>,
    body: web::Json<MailKindBody>,
) -> ApiResult {
    let which = match body.kind {
        UserMailKind::PasswordReset => UserMail::PasswordReset,
        UserMailKind::Verification => UserMail::Verification,
    };
    let links = state.links(&req);
    let (actor, id) = (caller.actor, id.into_inner());
    run(&state, move |conn| {
        users::send_mail(conn, &links, &actor, &id, which, now())
    })
    .await?;
    state.mail.wake();
    json(StatusCode::ACCEPTED, &Queued { id: None })
}

// ---- clients ----

/// Every client application, including those declared in the configuration file.
#[utoipa::path(get, path = "/admin/api/v1/clients", tag = "clients", operation_id = "listClients",
    responses((status = 200, description = "Done", body = Vec<ClientView>)))]
async fn list_clients(state: web::Data<AppState>, _caller: ApiCaller) -> ApiResult {
    let list = run(&state, clients::list).await?;
    json(StatusCode::OK, &list)
}

/// Register a client; a confidential client's secret is in the answer, once.
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", operation_id = "createClient",
    request_body = ClientBody,
    responses((status = 201, description = "Created", body = CreatedClient), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody)))]
async fn create_client(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: web::Json<ClientBody>,
) -> ApiResult {
    let actor = caller.actor;
    let created = run(&state, move |conn| {
        clients::create(conn, &actor, &body, MANAGED_BY_ADMIN, now())
    })
    .await?;
    json(StatusCode::CREATED, &created)
}

#[utoipa::path(get, path = "/admin/api/v1/clients/{id}", tag = "clients", operation_id = "getClient",
    params(("id" = String, Path, description = "client_id")),
    responses((status = 200, description = "Done", body = ClientView), (status = 404, description = "No such object", body = ErrorBody)))]
async fn get_client(
    state: web::Data<AppState>,
    _caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let id = id.into_inner();
    let client = run(&state, move |conn| clients::find(conn, &id)).await?;
    json(StatusCode::OK, &ClientView::from(&client))
}

/// Replace a client's settings (not one declared in the configuration file: 409).
#[utoipa::path(put, path = "/admin/api/v1/clients/{id}", tag = "clients", operation_id = "updateClient",
    params(("id" = String, Path, description = "client_id")), request_body = ClientBody,
    responses((status = 200, description = "Done", body = ClientView), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn update_client(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
    body: web::Json<ClientBody>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    let view = run(&state, move |conn| {
        clients::update(conn, &actor, &id, &body, now())
    })
    .await?;
    json(StatusCode::OK, &view)
}

/// Delete a client with every grant and token it holds.
#[utoipa::path(delete, path = "/admin/api/v1/clients/{id}", tag = "clients", operation_id = "deleteClient",
    params(("id" = String, Path, description = "client_id")),
    responses((status = 204, description = "Done; nothing to return"), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn delete_client(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    run(&state, move |conn| {
        clients::delete(conn, &actor, &id, now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretBody {
    /// Shown once; the old secret no longer works.
    pub client_secret: String,
}

/// Replace a confidential client's secret.
#[utoipa::path(post, path = "/admin/api/v1/clients/{id}/secret", tag = "clients", operation_id = "rotateClientSecret",
    params(("id" = String, Path, description = "client_id")),
    responses((status = 200, description = "Done", body = SecretBody), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn rotate_client_secret(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    let client_secret = run(&state, move |conn| {
        clients::rotate_secret(conn, &actor, &id, now())
    })
    .await?;
    json(StatusCode::OK, &SecretBody { client_secret })
}

// ---- providers ----

#[utoipa::path(get, path = "/admin/api/v1/providers", tag = "providers", operation_id = "listProviders",
    responses((status = 200, description = "Done", body = Vec<ProviderView>)))]
async fn list_providers(state: web::Data<AppState>, _caller: ApiCaller) -> ApiResult {
    let list = run(&state, providers::list).await?;
    json(StatusCode::OK, &list)
}

/// Add an upstream provider. The body is a `[[providers]]` entry of the configuration file as
/// JSON (slug, kind, client_id, client_secret, issuer, …; see README).
#[utoipa::path(post, path = "/admin/api/v1/providers", tag = "providers", operation_id = "createProvider",
    request_body(content = Object, description = "A [[providers]] entry of the configuration file, as JSON"),
    responses((status = 201, description = "Created", body = ProviderView), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn create_provider(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: web::Json<StaticProvider>,
) -> ApiResult {
    let (actor, mk) = (caller.actor, state.master_key.clone());
    let view = run(&state, move |conn| {
        providers::create(conn, &mk, &actor, &body, now())
    })
    .await?;
    json(StatusCode::CREATED, &view)
}

#[utoipa::path(get, path = "/admin/api/v1/providers/{slug}", tag = "providers", operation_id = "getProvider",
    params(("slug" = String, Path, description = "Provider slug")),
    responses((status = 200, description = "Done", body = ProviderView), (status = 404, description = "No such object", body = ErrorBody)))]
async fn get_provider(
    state: web::Data<AppState>,
    _caller: ApiCaller,
    slug: web::Path<String>,
) -> ApiResult {
    let slug = slug.into_inner();
    let row = run(&state, move |conn| providers::find(conn, &slug)).await?;
    json(StatusCode::OK, &ProviderView::from(row))
}

/// Replace a provider's settings; an empty `client_secret` keeps the stored one.
#[utoipa::path(put, path = "/admin/api/v1/providers/{slug}", tag = "providers", operation_id = "updateProvider",
    params(("slug" = String, Path, description = "Provider slug")),
    request_body(content = Object, description = "A [[providers]] entry of the configuration file, as JSON"),
    responses((status = 200, description = "Done", body = ProviderView), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn update_provider(
    state: web::Data<AppState>,
    caller: ApiCaller,
    slug: web::Path<String>,
    body: web::Json<StaticProvider>,
) -> ApiResult {
    let (actor, mk, slug) = (caller.actor, state.master_key.clone(), slug.into_inner());
    let view = run(&state, move |conn| {
        providers::update(conn, &mk, &actor, &slug, &body, now())
    })
    .await?;
    json(StatusCode::OK, &view)
}

#[utoipa::path(delete, path = "/admin/api/v1/providers/{slug}", tag = "providers", operation_id = "deleteProvider",
    params(("slug" = String, Path, description = "Provider slug")),
    responses((status = 204, description = "Done; nothing to return"), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn delete_provider(
    state: web::Data<AppState>,
    caller: ApiCaller,
    slug: web::Path<String>,
) -> ApiResult {
    let (actor, slug) = (caller.actor, slug.into_inner());
    run(&state, move |conn| {
        providers::delete(conn, &actor, &slug, now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- keys ----

#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "keys", operation_id = "listKeys",
    responses((status = 200, description = "Done", body = Vec<KeyView>)))]
async fn list_keys(state: web::Data<AppState>, _caller: ApiCaller) -> ApiResult {
    let list = run(&state, |conn| keys::list(conn, now())).await?;
    json(StatusCode::OK, &list)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// Sign with the new keys at once, instead of after `keys.publish_ahead_secs`.
    #[serde(default)]
    pub immediately: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rotated {
    pub kids: Vec<String>,
    pub signing_from: DateTime<Utc>,
}

/// A new key for every algorithm.
#[utoipa::path(post, path = "/admin/api/v1/keys/rotate", tag = "keys", operation_id = "rotateKeys",
    request_body = RotateBody,
    responses((status = 200, description = "Done", body = Rotated)))]
async fn rotate_keys(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: Option<web::Json<RotateBody>>,
) -> ApiResult {
    let immediately = body.is_some_and(|b| b.immediately);
    let ahead = if immediately {
        Duration::zero()
    } else {
        Duration::seconds(state.settings.keys.publish_ahead_secs)
    };
    let (actor, mk) = (caller.actor, state.master_key.clone());
    let started = now();
    let kids = run(&state, move |conn| {
        keys::rotate(conn, &mk, &actor, ahead, started)
    })
    .await?;
    state.provider.keys.refresh().await?;
    json(
        StatusCode::OK,
        &Rotated {
            kids,
            signing_from: (started + ahead).and_utc(),
        },
    )
}

/// Stop publishing a key a newer one replaced: tokens it signed stop verifying.
#[utoipa::path(delete, path = "/admin/api/v1/keys/{kid}", tag = "keys", operation_id = "retireKey",
    params(("kid" = String, Path, description = "Key ID")),
    responses((status = 204, description = "Done; nothing to return"), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "Conflicts with the current state (a duplicate, the last admin, or an object managed by the configuration file)", body = ErrorBody)))]
async fn retire_key(
    state: web::Data<AppState>,
    caller: ApiCaller,
    kid: web::Path<String>,
) -> ApiResult {
    let (actor, kid) = (caller.actor, kid.into_inner());
    run(&state, move |conn| keys::retire(conn, &actor, &kid, now())).await?;
    state.provider.keys.refresh().await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- audit ----

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventView>,
    pub limit: i64,
    pub offset: i64,
    pub next_offset: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events about this user ID.
    user: Option<String>,
    /// Events about this client_id.
    client: Option<String>,
    /// A kind (`user.disabled`) or a prefix ending in a dot (`session.`).
    kind: Option<String>,
    /// From this time (RFC 3339), inclusive.
    since: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/admin/api/v1/audit", tag = "audit", operation_id = "listAuditEvents",
    params(AuditQuery),
    responses((status = 200, description = "Done", body = AuditPage), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody)))]
async fn list_audit(
    state: web::Data<AppState>,
    _caller: ApiCaller,
    query: web::Query<AuditQuery>,
) -> ApiResult {
    let q = query.into_inner();
    let paging = Paging::new(q.limit, q.offset)?;
    let filter = AuditFilter {
        user_id: q.user.filter(|s| !s.is_empty()),
        client_id: q.client.filter(|s| !s.is_empty()),
        kind: q.kind.filter(|s| !s.is_empty()),
        since: q.since.map(|t| t.naive_utc()),
        until: q.until.map(|t| t.naive_utc()),
    };
    let page = run(&state, move |conn| audit_log::search(conn, &filter, paging)).await?;
    json(
        StatusCode::OK,
        &AuditPage {
            items: page.items,
            limit: page.limit,
            offset: page.offset,
            next_offset: page.next_offset,
        },
    )
}

// ---- mail ----

/// Mail not yet sent: waiting, retrying, or given up on.
#[utoipa::path(get, path = "/admin/api/v1/mail", tag = "mail", operation_id = "listMail",
    responses((status = 200, description = "Done", body = Vec<QueuedMail>)))]
async fn list_mail(state: web::Data<AppState>, _caller: ApiCaller) -> ApiResult {
    let list = run(&state, mail_queue::list).await?;
    json(StatusCode::OK, &list)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailSelection {
    /// One message; absent: every message that was given up on.
    #[serde(default)]
    pub id: Option<String>,
}

/// Send unsent mail again now, with a fresh set of attempts.
#[utoipa::path(post, path = "/admin/api/v1/mail/retry", tag = "mail", operation_id = "retryMail",
    request_body = MailSelection,
    responses((status = 200, description = "Done", body = Count), (status = 404, description = "No such object", body = ErrorBody)))]
async fn retry_mail(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: Option<web::Json<MailSelection>>,
) -> ApiResult {
    let id = body.and_then(|b| b.into_inner().id);
    let actor = caller.actor;
    let count = run(&state, move |conn| {
        mail_queue::retry(conn, &actor, id.as_deref(), now())
    })
    .await?;
    state.mail.wake();
    json(StatusCode::OK, &Count { count })
}

/// Delete mail that was given up on.
#[utoipa::path(post, path = "/admin/api/v1/mail/purge", tag = "mail", operation_id = "purgeMail",
    request_body = MailSelection,
    responses((status = 200, description = "Done", body = Count), (status = 404, description = "No such object", body = ErrorBody)))]
async fn purge_mail(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: Option<web::Json<MailSelection>>,
) -> ApiResult {
    let id = body.and_then(|b| b.into_inner().id);
    let actor = caller.actor;
    let count = run(&state, move |conn| {
        mail_queue::purge(conn, &actor, id.as_deref(), now())
    })
    .await?;
    json(StatusCode::OK, &Count { count })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestMailBody {
    pub to: String,
}

/// Queue a test message, to check outgoing mail end to end.
#[utoipa::path(post, path = "/admin/api/v1/mail/test", tag = "mail", operation_id = "sendTestMail",
    request_body = TestMailBody,
    responses((status = 202, description = "Queued for delivery", body = Queued), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody)))]
async fn test_mail(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: ApiCaller,
    body: web::Json<TestMailBody>,
) -> ApiResult {
    let to = users::check_email(&body.to)?;
    let templates = state.templates.clone();
    let locale = crate::web::locale::of(&req, None);
    let issuer = state.settings.issuer().to_string();
    let actor = caller.actor;
    let id = run(&state, move |conn| {
        mail_queue::send_test(conn, &templates, &actor, &to, locale, &issuer, now())
    })
    .await?;
    state.mail.wake();
    json(StatusCode::ACCEPTED, &Queued { id: Some(id) })
}

/// Test a provider the way sign-in uses it: each step (discovery, keys, endpoints) says exactly
/// what failed — DNS, TCP, TLS, an HTTP status, a JSON field. Changes nothing.
#[utoipa::path(post, path = "/admin/api/v1/providers/{slug}/test", tag = "providers", operation_id = "testProvider",
    params(("slug" = String, Path, description = "Provider slug")),
    responses((status = 200, description = "Done", body = Object), (status = 404, description = "No such object", body = ErrorBody)))]
async fn test_provider(
    state: web::Data<AppState>,
    _caller: ApiCaller,
    slug: web::Path<String>,
) -> ApiResult {
    let report = providers::test(
        &state.db,
        &state.master_key,
        &state.upstream,
        &slug.into_inner(),
    )
    .await?;
    json(StatusCode::OK, &report)
}

// ---- groups ----

#[utoipa::path(get, path = "/admin/api/v1/groups", tag = "groups", operation_id = "listGroups",
    responses((status = 200, description = "Done", body = Vec<GroupView>)))]
async fn list_groups(state: web::Data<AppState>, _caller: ApiCaller) -> ApiResult {
    let list = run(&state, groups::list).await?;
    json(StatusCode::OK, &list)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    /// 1 to 64 characters; unique without regard to case. It is what the `groups` claim holds.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/admin/api/v1/groups", tag = "groups", operation_id = "createGroup",
    request_body = GroupBody,
    responses((status = 201, description = "Created", body = GroupView), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 409, description = "A group with this name exists", body = ErrorBody)))]
async fn create_group(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: web::Json<GroupBody>,
) -> ApiResult {
    let actor = caller.actor;
    let view = run(&state, move |conn| {
        groups::create(conn, &actor, &body.name, body.description.as_deref(), now())
    })
    .await?;
    json(StatusCode::CREATED, &view)
}

#[utoipa::path(get, path = "/admin/api/v1/groups/{id}", tag = "groups", operation_id = "getGroup",
    params(("id" = String, Path, description = "Group ID")),
    responses((status = 200, description = "Done", body = GroupView), (status = 404, description = "No such object", body = ErrorBody)))]
async fn get_group(
    state: web::Data<AppState>,
    _caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let id = id.into_inner();
    let view = run(&state, move |conn| groups::find(conn, &id)).await?;
    json(StatusCode::OK, &view)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupEditBody {
    pub name: Option<String>,
    /// An empty string removes the description.
    pub description: Option<String>,
}

/// Rename a group or change its description.
#[utoipa::path(patch, path = "/admin/api/v1/groups/{id}", tag = "groups", operation_id = "updateGroup",
    params(("id" = String, Path, description = "Group ID")), request_body = GroupEditBody,
    responses((status = 200, description = "Done", body = GroupView), (status = 400, description = "The input breaks a rule; the message says which", body = ErrorBody), (status = 404, description = "No such object", body = ErrorBody), (status = 409, description = "A group with this name exists", body = ErrorBody)))]
async fn update_group(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
    body: web::Json<GroupEditBody>,
) -> ApiResult {
    let (actor, id, body) = (caller.actor, id.into_inner(), body.into_inner());
    let view = run(&state, move |conn| {
        let description = body
            .description
            .as_deref()
            .map(|d| Some(d.trim()).filter(|d| !d.is_empty()));
        groups::update(conn, &actor, &id, body.name.as_deref(), description, now())
    })
    .await?;
    json(StatusCode::OK, &view)
}

/// Delete a group; its members leave it (and the claim) at their next token or UserInfo call.
#[utoipa::path(delete, path = "/admin/api/v1/groups/{id}", tag = "groups", operation_id = "deleteGroup",
    params(("id" = String, Path, description = "Group ID")),
    responses((status = 204, description = "Done; nothing to return"), (status = 404, description = "No such object", body = ErrorBody)))]
async fn delete_group(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<String>,
) -> ApiResult {
    let (actor, id) = (caller.actor, id.into_inner());
    run(&state, move |conn| groups::delete(conn, &actor, &id, now())).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

#[utoipa::path(get, path = "/admin/api/v1/groups/{id}/members", tag = "groups", operation_id = "listMembers",
    params(("id" = String, Path, description = "Group ID"), MemberQuery),
    responses((status = 200, description = "Done", body = MemberPage), (status = 404, description = "No such object", body = ErrorBody)))]
async fn list_members(
    state: web::Data<AppState>,
    _caller: ApiCaller,
    id: web::Path<String>,
    query: web::Query<MemberQuery>,
) -> ApiResult {
    let paging = Paging::new(query.limit, query.offset)?;
    let id = id.into_inner();
    let page = run(&state, move |conn| {
        groups::members(conn, &id, paging.limit, paging.offset)
    })
    .await?;
    json(StatusCode::OK, &page)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Changed {
    /// False when it already was so.
    pub changed: bool,
}

/// Put a user (ID or address) in the group.
#[utoipa::path(put, path = "/admin/api/v1/groups/{id}/members/{user}", tag = "groups", operation_id = "addMember",
    params(("id" = String, Path, description = "Group ID"), ("user" = String, Path, description = "User ID or address")),
    responses((status = 200, description = "Done", body = Changed), (status = 404, description = "No such object", body = ErrorBody)))]
async fn add_member(
    state: web::Data<AppState>,
    caller: ApiCaller,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (actor, (id, user)) = (caller.actor, path.into_inner());
    let changed = run(&state, move |conn| {
        groups::add_member(conn, &actor, &id, &user, now())
    })
    .await?;
    json(StatusCode::OK, &Changed { changed })
}

#[utoipa::path(delete, path = "/admin/api/v1/groups/{id}/members/{user}", tag = "groups", operation_id = "removeMember",
    params(("id" = String, Path, description = "Group ID"), ("user" = String, Path, description = "User ID or address")),
    responses((status = 200, description = "Done", body = Changed), (status = 404, description = "No such object", body = ErrorBody)))]
async fn remove_member(
    state: web::Data<AppState>,
    caller: ApiCaller,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (actor, (id, user)) = (caller.actor, path.into_inner());
    let changed = run(&state, move |conn| {
        groups::remove_member(conn, &actor, &id, &user, now())
    })
    .await?;
    json(StatusCode::OK, &Changed { changed })
}
