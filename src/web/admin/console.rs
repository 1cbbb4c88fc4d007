//! The admin console (issue 14, part 3): server-rendered pages over the same `crate::admin`
//! calls as the API. Every page takes a [`ConsoleAdmin`]; every form an [`AdminForm`] (the CSRF
//! check first, so a forged post is refused before anything else, then the admin). A refusal of
//! the core is shown on the page it came from; a success redirects with a notice
//! (post/redirect/get).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::caller::{AdminForm, ConsoleAdmin};
use crate::admin::audit_log::{self, AuditEventView};
use crate::admin::clients::{self, ClientBody, ClientView, CreatedClient, MANAGED_BY_ADMIN};
use crate::admin::groups::{self, GroupView, MemberView};
use crate::admin::keys::{self, KeyView};
use crate::admin::mail_queue::{self, QueuedMail};
use crate::admin::providers::{self, ProviderView};
use crate::admin::users::{self, NewUserSpec, UserDetail, UserEdit, UserMail, UserSummary};
use crate::admin::{role, AdminError, AdminResult, Paging};
use crate::config::StaticProvider;
use crate::db::models::audit::AuditFilter;
use crate::db::models::UserFilter;
use crate::error::{AppError, AppResult};
use crate::identity::now;
use crate::web::csrf::NoFields;
use crate::web::{render, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(home))
        .route("/admin/users", web::get().to(users_page))
        .route("/admin/users", web::post().to(create_user))
        .route("/admin/users/{id}", web::get().to(user_page))
        .route("/admin/users/{id}/edit", web::post().to(edit_user))
        .route("/admin/users/{id}/disable", web::post().to(disable_user))
        .route("/admin/users/{id}/enable", web::post().to(enable_user))
        .route("/admin/users/{id}/admin/grant", web::post().to(grant_admin))
        .route(
            "/admin/users/{id}/admin/revoke",
            web::post().to(revoke_admin),
        )
        .route(
            "/admin/users/{id}/sessions/revoke",
            web::post().to(end_sessions),
        )
        .route(
            "/admin/users/{id}/grants/revoke",
            web::post().to(revoke_grants),
        )
        .route("/admin/users/{id}/mail", web::post().to(send_mail))
        .route("/admin/users/{id}/delete", web::post().to(delete_user))
        .route("/admin/clients", web::get().to(clients_page))
        .route("/admin/clients", web::post().to(create_client))
        .route("/admin/clients/{id}", web::get().to(client_page))
        .route("/admin/clients/{id}/edit", web::post().to(edit_client))
        .route("/admin/clients/{id}/secret", web::post().to(rotate_secret))
        .route("/admin/clients/{id}/delete", web::post().to(delete_client))
        .route("/admin/providers", web::get().to(providers_page))
        .route("/admin/providers", web::post().to(create_provider))
        .route(
            "/admin/providers/{slug}/edit",
            web::post().to(edit_provider),
        )
        .route(
            "/admin/providers/{slug}/delete",
            web::post().to(delete_provider),
        )
        .route(
            "/admin/providers/{slug}/test",
            web::post().to(test_provider),
        )
        .route("/admin/groups", web::get().to(groups_page))
        .route("/admin/groups", web::post().to(create_group))
        .route("/admin/groups/{id}", web::get().to(group_page))
        .route("/admin/groups/{id}/edit", web::post().to(edit_group))
        .route("/admin/groups/{id}/members/add", web::post().to(add_member))
        .route(
            "/admin/groups/{id}/members/remove",
            web::post().to(remove_member),
        )
        .route("/admin/groups/{id}/delete", web::post().to(delete_group))
        .route("/admin/keys", web::get().to(keys_page))
        .route("/admin/keys/rotate", web::post().to(rotate_keys))
        .route("/admin/keys/{kid}/retire", web::post().to(retire_key))
        .route("/admin/audit", web::get().to(audit_page))
        .route("/admin/mail", web::get().to(mail_page))
        .route("/admin/mail/retry", web::post().to(retry_mail))
        .route("/admin/mail/purge", web::post().to(purge_mail))
        .route("/admin/mail/test", web::post().to(test_mail));
}

/// What a page shows besides its own data: a notice after a redirect, or the core's refusal.
#[derive(Serialize, Default)]
struct Flash {
    notice: Option<&'static str>,
    problem: Option<String>,
}

/// `?done=` values and their catalogue messages: only these are shown, so a crafted link can
/// put no text of its choosing on an admin's page.
const NOTICES: &[(&str, &str)] = &[
    ("saved", "admin-done-saved"),
    ("created", "admin-done-created"),
    ("deleted", "admin-done-deleted"),
    ("disabled", "admin-done-disabled"),
    ("enabled", "admin-done-enabled"),
    ("admin", "admin-done-admin"),
    ("sessions", "admin-done-sessions"),
    ("grants", "admin-done-grants"),
    ("mail", "admin-done-mail"),
    ("rotated", "admin-done-rotated"),
    ("retired", "admin-done-retired"),
    ("retried", "admin-done-retried"),
    ("purged", "admin-done-purged"),
    ("added", "admin-done-member-added"),
    ("removed", "admin-done-member-removed"),
];

#[derive(Deserialize, Default)]
#[serde(default)]
struct Done {
    done: Option<String>,
}

impl Done {
    fn flash(&self) -> Flash {
        Flash {
            notice: self
                .done
                .as_deref()
                .and_then(|d| NOTICES.iter().find(|(k, _)| *k == d))
                .map(|(_, msg)| *msg),
            problem: None,
        }
    }
}

fn problem(e: &AdminError) -> Flash {
    Flash {
        notice: None,
        problem: Some(match e {
            AdminError::App(_) => {
                tracing::error!(error = %e, "admin console action failed");
                "Something went wrong on the server; it was logged.".to_string()
            }
            other => other.to_string(),
        }),
    }
}

fn status_of(e: &AdminError) -> StatusCode {
    match e {
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
        AdminError::Conflict(_) | AdminError::Managed { .. } => StatusCode::CONFLICT,
        AdminError::App(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Runs a core call off the executor.
async fn run<T, F>(state: &AppState, f: F) -> AppResult<AdminResult<T>>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection) -> AdminResult<T> + Send + 'static,
{
    state.db.run(move |conn| Ok(f(conn))).await
}

/// A not-found from the core is the usual 404 page; other refusals are shown on the page.
fn missing<T>(r: AdminResult<T>) -> AppResult<AdminResult<T>> {
    match r {
        Err(AdminError::NotFound(_)) => Err(AppError::NotFound),
        Err(AdminError::App(e)) => Err(e),
        other => Ok(other),
    }
}

fn checkbox(v: &Option<String>) -> bool {
    v.as_deref() == Some("on")
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

async fn home(_admin: ConsoleAdmin) -> HttpResponse {
    see_other("/admin/users")
}

// ---- users ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct UsersQuery {
    q: String,
    offset: Option<i64>,
    done: Option<String>,
}

#[derive(Serialize)]
struct UsersView {
    #[serde(flatten)]
    flash: Flash,
    q: String,
    users: Vec<UserSummary>,
    next_offset: Option<i64>,
}

async fn users_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    query: web::Query<UsersQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let flash = Done {
        done: q.done.clone(),
    }
    .flash();
    render_users(&state, &req, &admin, q.q, q.offset, flash, StatusCode::OK).await
}

async fn render_users(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    q: String,
    offset: Option<i64>,
    flash: Flash,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let q: String = q.trim().chars().take(200).collect();
    let paging =
        Paging::new(None, offset.map(|o| o.clamp(0, Paging::MAX_OFFSET))).unwrap_or_default();
    let filter = UserFilter {
        query: Some(q.clone()).filter(|s| !s.is_empty()),
        ..UserFilter::default()
    };
    let page = run(state, move |conn| users::search(conn, &filter, paging)).await??;
    let view = UsersView {
        flash,
        q,
        next_offset: page.next_offset,
        users: page.items,
    };
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/users.html",
        &view,
    )
}

/// Every field defaults, so a post without them reaches the CSRF check (and then a clear
/// refusal) rather than a form error.
#[derive(Deserialize, Default)]
#[serde(default)]
struct NewUserForm {
    email: String,
    name: String,
    password: String,
    email_verified: Option<String>,
    admin: Option<String>,
}

async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<NewUserForm>,
) -> AppResult<HttpResponse> {
    let checked = users::check_email(&form.email).and_then(|email| {
        let name = users::check_name(&form.name)?;
        if !form.password.is_empty() {
            state
                .hasher
                .policy
                .check(&form.password)
                .map_err(|e| AdminError::Invalid(format!("password: {e}")))?;
        }
        Ok((email, name))
    });
    let (email, name) = match checked {
        Ok(v) => v,
        Err(e) => {
            let status = status_of(&e);
            return render_users(
                &state,
                &req,
                &admin,
                String::new(),
                None,
                problem(&e),
                status,
            )
            .await;
        }
    };
    let password_hash = if form.password.is_empty() {
        None
    } else {
        Some(state.hasher.hash(form.password).await?)
    };
    let spec = NewUserSpec {
        email,
        name,
        password_hash,
        email_verified: checkbox(&form.email_verified),
        admin: checkbox(&form.admin),
    };
    let actor = admin.actor.clone();
    match run(&state, move |conn| {
        users::create(conn, &actor, &spec, now())
    })
    .await?
    {
        Ok(user) => Ok(see_other(&format!("/admin/users/{}?done=created", user.id))),
        Err(e) => {
            let status = status_of(&e);
            render_users(
                &state,
                &req,
                &admin,
                String::new(),
                None,
                problem(&e),
                status,
            )
            .await
        }
    }
}

#[derive(Serialize)]
struct UserView {
    #[serde(flatten)]
    flash: Flash,
    u: UserDetail,
}

async fn user_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    id: web::Path<String>,
    done: web::Query<Done>,
) -> AppResult<HttpResponse> {
    render_user(
        &state,
        &req,
        &admin,
        id.into_inner(),
        done.flash(),
        StatusCode::OK,
    )
    .await
}

async fn render_user(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    id: String,
    flash: Flash,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let u = missing(run(state, move |conn| users::detail(conn, &id)).await?)?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/user.html",
        &UserView { flash, u },
    )
}

/// Runs a change to one user, then shows the user page with the notice or the refusal.
async fn user_action<T, F>(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    id: String,
    done: &str,
    f: F,
) -> AppResult<HttpResponse>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection, &crate::identity::audit::Actor, &str) -> AdminResult<T>
        + Send
        + 'static,
{
    let (actor, target) = (admin.actor.clone(), id.clone());
    match missing(run(&state, move |conn| f(conn, &actor, &target)).await?)? {
        Ok(_) => {
            // Whatever ended sessions or queued mail: the workers pick it up now.
            state.backchannel.wake();
            state.mail.wake();
            Ok(see_other(&format!("/admin/users/{id}?done={done}")))
        }
        Err(e) => {
            let status = status_of(&e);
            render_user(&state, &req, &admin, id, problem(&e), status).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EditUserForm {
    name: String,
    email: String,
    email_verified: Option<String>,
    username: String,
}

async fn edit_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<EditUserForm>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let verified = checkbox(&form.email_verified);
    user_action(
        state,
        req,
        admin,
        id.into_inner(),
        "saved",
        move |conn, actor, id| {
            let edit = UserEdit {
                name: Some(users::check_name(&form.name)?),
                email: Some(users::check_email(&form.email)?),
                email_verified: Some(verified),
                username: Some(users::check_username(&form.username)?),
            };
            users::update(conn, actor, id, &edit, now())
        },
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReasonForm {
    reason: String,
}

async fn disable_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<ReasonForm>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let reason: String = form.reason.trim().chars().take(500).collect();
    user_action(
        state,
        req,
        admin,
        id.into_inner(),
        "disabled",
        move |conn, actor, id| {
            let reason = Some(reason.as_str()).filter(|r| !r.is_empty());
            users::disable(conn, actor, id, reason, now())
        },
    )
    .await
}

async fn enable_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_action(
        state,
        req,
        admin,
        id.into_inner(),
        "enabled",
        |conn, actor, id| users::enable(conn, actor, id, now()),
    )
    .await
}

async fn grant_admin(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_action(
        state,
        req,
        admin,
        id.into_inner(),
        "admin",
        |conn, actor, id| {
            let user = users::find(conn, id)?;
            role::grant(conn, actor, &user.id, now())
        },
    )
    .await
}

async fn revoke_admin(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_action(
        state,
        req,
        admin,
        id.into_inner(),
        "admin",
        |conn, actor, id| {
            let user = users::find(conn, id)?;
            role::revoke(conn, actor, &user.id, now())
        },
    )
    .await
}

async fn end_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_action(
        state,
        req,
        admin,
        id.into_inner(),
        "sessions",
        |conn, actor, id| users::revoke_sessions(conn, actor, id, now()),
    )
    .await
}

async fn revoke_grants(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_action(
        state,
        req,
        admin,
        id.into_inner(),
        "grants",
        |conn, actor, id| users::revoke_grants(conn, actor, id, now()),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MailForm {
    kind: String,
}

async fn send_mail(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<MailForm>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let which = match form.kind.as_str() {
        "password_reset" => UserMail::PasswordReset,
        "verification" => UserMail::Verification,
        _ => return Err(AppError::NotFound),
    };
    let links = state.links(&req);
    user_action(
        state,
        req,
        admin,
        id.into_inner(),
        "mail",
        move |conn, actor, id| users::send_mail(conn, &links, actor, id, which, now()),
    )
    .await
}

async fn delete_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = id.clone();
    match missing(run(&state, move |conn| users::may_delete(conn, &target)).await?)? {
        Ok(user) => {
            crate::identity::management::delete_user(&state.db, &user.id, Some(admin.actor))
                .await?;
            state.backchannel.wake();
            Ok(see_other("/admin/users?done=deleted"))
        }
        Err(e) => {
            let status = status_of(&e);
            render_user(&state, &req, &admin, id, problem(&e), status).await
        }
    }
}

// ---- clients ----

#[derive(Serialize)]
struct ClientsView {
    #[serde(flatten)]
    flash: Flash,
    clients: Vec<ClientView>,
    created: Option<CreatedClient>,
}

async fn clients_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    done: web::Query<Done>,
) -> AppResult<HttpResponse> {
    render_clients(&state, &req, &admin, done.flash(), None, StatusCode::OK).await
}

async fn render_clients(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    flash: Flash,
    created: Option<CreatedClient>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let clients = run(state, clients::list).await??;
    let view = ClientsView {
        flash,
        clients,
        created,
    };
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/clients.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ClientForm {
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    public: Option<String>,
    client_credentials: Option<String>,
    skip_consent: Option<String>,
    require_mfa: Option<String>,
    admin_api: Option<String>,
}

impl ClientForm {
    /// The API's body from the form; `public` comes from the client itself on an edit.
    fn body(&self, public: bool, keep: Option<&ClientView>) -> ClientBody {
        let redirect_uris = lines(&self.redirect_uris);
        let mut grant_types = Vec::new();
        if !redirect_uris.is_empty() {
            grant_types.push("authorization_code".to_string());
            grant_types.push("refresh_token".to_string());
        }
        if checkbox(&self.client_credentials) {
            grant_types.push("client_credentials".into());
        }
        ClientBody {
            name: self.name.clone(),
            redirect_uris,
            post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
            public,
            grant_types,
            auth_method: keep.map(|c| c.token_endpoint_auth_method.clone()),
            skip_consent: checkbox(&self.skip_consent),
            always_issue_refresh: keep.is_some_and(|c| c.always_issue_refresh),
            backchannel_logout_uri: Some(self.backchannel_logout_uri.trim().to_string())
                .filter(|u| !u.is_empty()),
            id_token_alg: keep.map(|c| c.id_token_alg.clone()),
            access_token_alg: keep.map(|c| c.access_token_alg.clone()),
            require_mfa: checkbox(&self.require_mfa),
            admin_api: checkbox(&self.admin_api),
            // The form does not show claim rules: an edit keeps them.
            claims: keep.map(|c| c.claims.clone()).unwrap_or_default(),
        }
    }
}

async fn create_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<ClientForm>,
) -> AppResult<HttpResponse> {
    let body = form.body(checkbox(&form.public), None);
    let actor = admin.actor.clone();
    match run(&state, move |conn| {
        clients::create(conn, &actor, &body, MANAGED_BY_ADMIN, now())
    })
    .await?
    {
        // The secret is shown on this very answer, once: no redirect could carry it safely.
        Ok(created) => {
            let flash = Flash {
                notice: Some("admin-done-created"),
                problem: None,
            };
            render_clients(
                &state,
                &req,
                &admin,
                flash,
                Some(created),
                StatusCode::CREATED,
            )
            .await
        }
        Err(e) => {
            let status = status_of(&e);
            render_clients(&state, &req, &admin, problem(&e), None, status).await
        }
    }
}

#[derive(Serialize)]
struct ClientPageView {
    #[serde(flatten)]
    flash: Flash,
    c: ClientView,
    secret: Option<String>,
}

async fn client_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    id: web::Path<String>,
    done: web::Query<Done>,
) -> AppResult<HttpResponse> {
    render_client(
        &state,
        &req,
        &admin,
        id.into_inner(),
        done.flash(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn render_client(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    id: String,
    flash: Flash,
    secret: Option<String>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let client = missing(run(state, move |conn| clients::find(conn, &id)).await?)?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let view = ClientPageView {
        flash,
        c: ClientView::from(&client),
        secret,
    };
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/client.html",
        &view,
    )
}

async fn edit_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<ClientForm>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (actor, target) = (admin.actor.clone(), id.clone());
    let result = run(&state, move |conn| {
        let current = ClientView::from(&clients::find(conn, &target)?);
        let body = form.body(current.public, Some(&current));
        clients::update(conn, &actor, &target, &body, now())
    })
    .await?;
    match missing(result)? {
        Ok(_) => Ok(see_other(&format!(
            "/admin/clients/{}?done=saved",
            crate::web::return_to::encode(&id)
        ))),
        Err(e) => {
            let status = status_of(&e);
            render_client(&state, &req, &admin, id, problem(&e), None, status).await
        }
    }
}

async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (actor, target) = (admin.actor.clone(), id.clone());
    match missing(
        run(&state, move |conn| {
            clients::rotate_secret(conn, &actor, &target, now())
        })
        .await?,
    )? {
        Ok(secret) => {
            let flash = Flash {
                notice: Some("admin-done-rotated"),
                problem: None,
            };
            render_client(
                &state,
                &req,
                &admin,
                id,
                flash,
                Some(secret),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let status = status_of(&e);
            render_client(&state, &req, &admin, id, problem(&e), None, status).await
        }
    }
}

async fn delete_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (actor, target) = (admin.actor.clone(), id.clone());
    match missing(
        run(&state, move |conn| {
            clients::delete(conn, &actor, &target, now())
        })
        .await?,
    )? {
        Ok(()) => Ok(see_other("/admin/clients?done=deleted")),
        Err(e) => {
            let status = status_of(&e);
            render_client(&state, &req, &admin, id, problem(&e), None, status).await
        }
    }
}

// ---- providers ----

#[derive(Serialize)]
struct ProviderRow {
    #[serde(flatten)]
    p: ProviderView,
    report: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct ProvidersView {
    #[serde(flatten)]
    flash: Flash,
    providers: Vec<ProviderRow>,
    can_test: bool,
}

async fn providers_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    done: web::Query<Done>,
) -> AppResult<HttpResponse> {
    render_providers(&state, &req, &admin, done.flash(), None, StatusCode::OK).await
}

async fn render_providers(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    flash: Flash,
    report: Option<(String, serde_json::Value)>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let list = run(state, providers::list).await??;
    let providers = list
        .into_iter()
        .map(|p| ProviderRow {
            report: report
                .as_ref()
                .filter(|(slug, _)| *slug == p.slug)
                .map(|(_, r)| r.clone()),
            p,
        })
        .collect();
    let view = ProvidersView {
        flash,
        providers,
        can_test: true,
    };
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/providers.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProviderForm {
    kind: String,
    slug: String,
    name: String,
    client_id: String,
    client_secret: String,
    issuer: String,
    authorize_url: String,
    token_url: String,
    userinfo_url: String,
}

impl ProviderForm {
    /// The form as a `[[providers]]` entry: the same parsing and checks as the file and the API.
    fn entry(&self) -> AdminResult<StaticProvider> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let value = serde_json::json!({
            "slug": self.slug.trim(),
            "kind": self.kind,
            "name": opt(&self.name),
            "client_id": self.client_id.trim(),
            "client_secret": self.client_secret,
            "issuer": opt(&self.issuer),
            "authorize_url": opt(&self.authorize_url),
            "token_url": opt(&self.token_url),
            "userinfo_url": opt(&self.userinfo_url),
        });
        serde_json::from_value(value).map_err(|e| AdminError::Invalid(format!("provider: {e}")))
    }
}

async fn create_provider(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<ProviderForm>,
) -> AppResult<HttpResponse> {
    let entry = form.entry();
    let (actor, mk) = (admin.actor.clone(), state.master_key.clone());
    let result = match entry {
        Ok(entry) => {
            run(&state, move |conn| {
                providers::create(conn, &mk, &actor, &entry, now())
            })
            .await?
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other("/admin/providers?done=created")),
        Err(e) => {
            let status = status_of(&e);
            render_providers(&state, &req, &admin, problem(&e), None, status).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProviderEditForm {
    name: String,
    client_id: String,
    /// Blank keeps the stored secret (the page never shows it).
    client_secret: String,
    issuer: String,
    authorize_url: String,
    token_url: String,
    userinfo_url: String,
    scopes: String,
    enabled: Option<String>,
}

impl ProviderEditForm {
    /// The provider as it is, with what the form shows replaced: settings the console has no
    /// field for (link policy, allowed domains, claim mapping, …) are kept, not reset.
    fn entry(&self, current: &ProviderView) -> AdminResult<StaticProvider> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let mut value = serde_json::to_value(current)
            .map_err(|e| AdminError::Invalid(format!("provider: {e}")))?;
        let Some(fields) = value.as_object_mut() else {
            return Err(AdminError::Invalid("provider: not an object".into()));
        };
        // What the view adds beside a `[[providers]]` entry.
        for shown_only in ["managed_by", "editable", "created_at", "updated_at"] {
            fields.remove(shown_only);
        }
        let form = serde_json::json!({
            "name": opt(&self.name),
            "client_id": self.client_id.trim(),
            "client_secret": self.client_secret,
            "issuer": opt(&self.issuer),
            "authorize_url": opt(&self.authorize_url),
            "token_url": opt(&self.token_url),
            "userinfo_url": opt(&self.userinfo_url),
            "scopes": self.scopes.split_whitespace().collect::<Vec<_>>(),
            "enabled": checkbox(&self.enabled),
        });
        if let Some(form) = form.as_object() {
            fields.extend(form.clone());
        }
        serde_json::from_value(value).map_err(|e| AdminError::Invalid(format!("provider: {e}")))
    }
}

async fn edit_provider(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<ProviderEditForm>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (actor, mk, slug) = (
        admin.actor.clone(),
        state.master_key.clone(),
        slug.into_inner(),
    );
    let result = run(&state, move |conn| {
        let current = providers::view(conn, &slug)?;
        let entry = form.entry(&current)?;
        providers::update(conn, &mk, &actor, &slug, &entry, now())
    })
    .await?;
    match missing(result)? {
        Ok(_) => Ok(see_other("/admin/providers?done=saved")),
        Err(e) => {
            let status = status_of(&e);
            render_providers(&state, &req, &admin, problem(&e), None, status).await
        }
    }
}

async fn delete_provider(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (actor, slug) = (admin.actor.clone(), slug.into_inner());
    match missing(
        run(&state, move |conn| {
            providers::delete(conn, &actor, &slug, now())
        })
        .await?,
    )? {
        Ok(()) => Ok(see_other("/admin/providers?done=deleted")),
        Err(e) => {
            let status = status_of(&e);
            render_providers(&state, &req, &admin, problem(&e), None, status).await
        }
    }
}

// ---- keys ----

#[derive(Serialize)]
struct KeysView {
    #[serde(flatten)]
    flash: Flash,
    keys: Vec<KeyView>,
}

async fn keys_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    done: web::Query<Done>,
) -> AppResult<HttpResponse> {
    render_keys(&state, &req, &admin, done.flash(), StatusCode::OK).await
}

async fn render_keys(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    flash: Flash,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let keys = run(state, |conn| keys::list(conn, now())).await??;
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/keys.html",
        &KeysView { flash, keys },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RotateForm {
    immediately: Option<String>,
}

async fn rotate_keys(
    state: web::Data<AppState>,
    AdminForm { admin, form }: AdminForm<RotateForm>,
) -> AppResult<HttpResponse> {
    let ahead = if checkbox(&form.immediately) {
        Duration::zero()
    } else {
        Duration::seconds(state.settings.keys.publish_ahead_secs)
    };
    let (actor, mk) = (admin.actor.clone(), state.master_key.clone());
    run(&state, move |conn| {
        keys::rotate(conn, &mk, &actor, ahead, now())
    })
    .await?
    .map_err(|e| AppError::Internal(e.to_string()))?;
    state.provider.keys.refresh().await?;
    Ok(see_other("/admin/keys?done=rotated"))
}

async fn retire_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    kid: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (actor, kid) = (admin.actor.clone(), kid.into_inner());
    match missing(run(&state, move |conn| keys::retire(conn, &actor, &kid, now())).await?)? {
        Ok(()) => {
            state.provider.keys.refresh().await?;
            Ok(see_other("/admin/keys?done=retired"))
        }
        Err(e) => {
            let status = status_of(&e);
            render_keys(&state, &req, &admin, problem(&e), status).await
        }
    }
}

// ---- audit ----

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct AuditQuery {
    kind: String,
    user: String,
    client: String,
    #[serde(skip_serializing)]
    offset: Option<i64>,
}

#[derive(Serialize)]
struct AuditView {
    #[serde(flatten)]
    flash: Flash,
    filter: AuditQuery,
    events: Vec<AuditEventView>,
    next_offset: Option<i64>,
}

async fn audit_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let clean = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        user_id: clean(&q.user),
        client_id: clean(&q.client),
        kind: clean(&q.kind),
        since: None,
        until: None,
    };
    let paging =
        Paging::new(None, q.offset.map(|o| o.clamp(0, Paging::MAX_OFFSET))).unwrap_or_default();
    let (events, next_offset, flash, status) =
        match run(&state, move |conn| audit_log::search(conn, &filter, paging)).await? {
            Ok(page) => (
                page.items,
                page.next_offset,
                Flash::default(),
                StatusCode::OK,
            ),
            Err(e) => (Vec::new(), None, problem(&e), status_of(&e)),
        };
    let view = AuditView {
        flash,
        filter: q,
        events,
        next_offset,
    };
    render(
        &state,
        &req,
        Some(&admin.me),
        status,
        "admin/audit.html",
        &view,
    )
}

// ---- mail ----

#[derive(Serialize)]
struct MailView {
    #[serde(flatten)]
    flash: Flash,
    queue: Vec<QueuedMail>,
}

async fn mail_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    done: web::Query<Done>,
) -> AppResult<HttpResponse> {
    render_mail(&state, &req, &admin, done.flash(), StatusCode::OK).await
}

async fn render_mail(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    flash: Flash,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let queue = run(state, mail_queue::list).await??;
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/mail.html",
        &MailView { flash, queue },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MailSelection {
    id: String,
}

async fn retry_mail(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<MailSelection>,
) -> AppResult<HttpResponse> {
    let id = Some(form.id.trim().to_string()).filter(|s| !s.is_empty());
    let actor = admin.actor.clone();
    match run(&state, move |conn| {
        mail_queue::retry(conn, &actor, id.as_deref(), now())
    })
    .await?
    {
        Ok(_) => {
            state.mail.wake();
            Ok(see_other("/admin/mail?done=retried"))
        }
        Err(e) => {
            let status = status_of(&e);
            render_mail(&state, &req, &admin, problem(&e), status).await
        }
    }
}

async fn purge_mail(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
) -> AppResult<HttpResponse> {
    let actor = admin.actor.clone();
    match run(&state, move |conn| {
        mail_queue::purge(conn, &actor, None, now())
    })
    .await?
    {
        Ok(_) => Ok(see_other("/admin/mail?done=purged")),
        Err(e) => {
            let status = status_of(&e);
            render_mail(&state, &req, &admin, problem(&e), status).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TestMailForm {
    to: String,
}

async fn test_mail(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<TestMailForm>,
) -> AppResult<HttpResponse> {
    let to = users::check_email(&form.to);
    let templates = state.templates.clone();
    let locale = crate::web::locale::of(&req, Some(&admin.me));
    let issuer = state.settings.issuer().to_string();
    let actor = admin.actor.clone();
    let result = match to {
        Ok(to) => {
            run(&state, move |conn| {
                mail_queue::send_test(conn, &templates, &actor, &to, locale, &issuer, now())
            })
            .await?
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            state.mail.wake();
            Ok(see_other("/admin/mail?done=mail"))
        }
        Err(e) => {
            let status = status_of(&e);
            render_mail(&state, &req, &admin, problem(&e), status).await
        }
    }
}

/// Tests the provider and shows the report beside it; a failure's cause is also logged.
async fn test_provider(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let slug = slug.into_inner();
    let report = providers::test(&state.db, &state.master_key, &state.upstream, &slug).await;
    match missing(report)? {
        Ok(report) => {
            if !report.ok {
                tracing::warn!(provider = %slug, report = ?report.steps, "provider test failed");
            }
            let report = serde_json::to_value(&report)
                .map_err(|e| AppError::Internal(format!("provider report: {e}")))?;
            let shown = Some((slug, report));
            render_providers(
                &state,
                &req,
                &admin,
                Flash::default(),
                shown,
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let status = status_of(&e);
            render_providers(&state, &req, &admin, problem(&e), None, status).await
        }
    }
}

// ---- groups ----

#[derive(Serialize)]
struct GroupsView {
    #[serde(flatten)]
    flash: Flash,
    groups: Vec<GroupView>,
}

async fn groups_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    done: web::Query<Done>,
) -> AppResult<HttpResponse> {
    render_groups(&state, &req, &admin, done.flash(), StatusCode::OK).await
}

async fn render_groups(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    flash: Flash,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let groups = run(state, groups::list).await??;
    let view = GroupsView { flash, groups };
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/groups.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GroupForm {
    name: String,
    description: String,
}

async fn create_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<GroupForm>,
) -> AppResult<HttpResponse> {
    let actor = admin.actor.clone();
    let result = run(&state, move |conn| {
        let description = Some(form.description.trim()).filter(|d| !d.is_empty());
        groups::create(conn, &actor, &form.name, description, now())
    })
    .await?;
    match result {
        Ok(g) => Ok(see_other(&format!("/admin/groups/{}?done=created", g.id))),
        Err(e) => {
            let status = status_of(&e);
            render_groups(&state, &req, &admin, problem(&e), status).await
        }
    }
}

#[derive(Serialize)]
struct GroupPageView {
    #[serde(flatten)]
    flash: Flash,
    g: GroupView,
    members: Vec<MemberView>,
}

async fn group_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    id: web::Path<String>,
    done: web::Query<Done>,
) -> AppResult<HttpResponse> {
    render_group(
        &state,
        &req,
        &admin,
        id.into_inner(),
        done.flash(),
        StatusCode::OK,
    )
    .await
}

async fn render_group(
    state: &AppState,
    req: &HttpRequest,
    admin: &ConsoleAdmin,
    id: String,
    flash: Flash,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let found = run(state, move |conn| {
        let g = groups::find(conn, &id)?;
        let members = groups::members(conn, &id, Paging::MAX_LIMIT, 0)?;
        Ok((g, members.items))
    })
    .await?;
    let (g, members) = found.map_err(AppError::from)?;
    let view = GroupPageView { flash, g, members };
    render(
        state,
        req,
        Some(&admin.me),
        status,
        "admin/group.html",
        &view,
    )
}

/// Runs a change to one group, then shows its page with the notice or the refusal.
async fn group_action<T, F>(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: ConsoleAdmin,
    id: String,
    done: &str,
    f: F,
) -> AppResult<HttpResponse>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection, &crate::identity::audit::Actor, &str) -> AdminResult<T>
        + Send
        + 'static,
{
    let (actor, target) = (admin.actor.clone(), id.clone());
    match run(&state, move |conn| f(conn, &actor, &target)).await? {
        Ok(_) => Ok(see_other(&format!("/admin/groups/{id}?done={done}"))),
        Err(AdminError::NotFound("group")) => Err(AppError::NotFound),
        Err(e) => {
            let status = status_of(&e);
            render_group(&state, &req, &admin, id, problem(&e), status).await
        }
    }
}

async fn edit_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<GroupForm>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    group_action(
        state,
        req,
        admin,
        id.into_inner(),
        "saved",
        move |conn, actor, id| {
            let description = Some(form.description.trim()).filter(|d| !d.is_empty());
            groups::update(conn, actor, id, Some(&form.name), Some(description), now())
        },
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MemberForm {
    user: String,
}

async fn add_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<MemberForm>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    group_action(
        state,
        req,
        admin,
        id.into_inner(),
        "added",
        move |conn, actor, id| groups::add_member(conn, actor, id, &form.user, now()),
    )
    .await
}

async fn remove_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<MemberForm>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    group_action(
        state,
        req,
        admin,
        id.into_inner(),
        "removed",
        move |conn, actor, id| groups::remove_member(conn, actor, id, &form.user, now()),
    )
    .await
}

async fn delete_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    AdminForm { admin, .. }: AdminForm<NoFields>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (actor, target) = (admin.actor.clone(), id.clone());
    match run(&state, move |conn| {
        groups::delete(conn, &actor, &target, now())
    })
    .await?
    {
        Ok(()) => Ok(see_other("/admin/groups?done=deleted")),
        Err(AdminError::NotFound(_)) => Err(AppError::NotFound),
        Err(e) => {
            let status = status_of(&e);
            render_group(&state, &req, &admin, id, problem(&e), status).await
        }
    }
}
