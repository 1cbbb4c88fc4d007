//! `/account`: profile, settings, password, sessions, sign-in methods, deletion.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::i18n::{Locale, Msg};
use crate::identity::ids::SessionId;
use crate::identity::management::{self, FormError, PasswordChange};
use crate::identity::profile::{self, ProfileUpdate, SettingsUpdate, LANGUAGES};
use crate::identity::sessions::{self, describe_user_agent};
use crate::identity::sign_in_methods::{self, MethodKind};
use crate::identity::time_zone::{display_time, TimeZone};
use crate::identity::FieldErrors;
use crate::upstream::registry::Button;
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::oidc::logout::notify_sessions_ended;
use crate::web::viewer::{clear_session_cookie, SignedIn};
use crate::web::{render, see_other, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(profile_page))
        .route("/account/profile", web::post().to(save_profile))
        .route("/account/settings", web::get().to(settings_page))
        .route("/account/settings", web::post().to(save_settings))
        .route("/account/password", web::get().to(password_page))
        .route("/account/password", web::post().to(change_password))
        .route("/account/sessions", web::get().to(sessions_page))
        .route(
            "/account/sessions/revoke-others",
            web::post().to(revoke_others),
        )
        .route(
            "/account/sessions/{id}/revoke",
            web::post().to(revoke_session),
        )
        .route("/account/methods", web::get().to(methods_page))
        .route("/account/delete", web::get().to(delete_page))
        .route("/account/delete", web::post().to(delete_account));
}

/// Notices after a redirect, chosen by code so the query string cannot inject text.
#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    notice: Option<String>,
}

impl NoticeQuery {
    fn message(&self) -> Option<Msg> {
        Some(Msg::new(match self.notice.as_deref()? {
            "profile" => "notice-profile",
            "settings" => "notice-settings",
            "password" => "notice-password",
            "revoked" => "notice-revoked",
            "revoked-others" => "notice-revoked-others",
            "verification-sent" => "notice-verification-sent",
            "change-sent" => "notice-change-sent",
            "merged" => "notice-merged",
            _ => return None,
        }))
    }
}

// ---- profile ----

#[derive(Serialize, Default)]
struct ProfileView {
    profile: ProfileFields,
    errors: FieldErrors,
    notice: Option<Msg>,
    has_password: bool,
    timezones: Vec<&'static str>,
}

#[derive(Serialize, Default)]
struct ProfileFields {
    name: String,
    email: String,
    email_verified: bool,
    picture: String,
    bio: String,
    website: String,
    timezone: String,
    username: String,
}

/// The zones to choose from, with the current one even when it is not among them (`UTC`, or a
/// legacy alias saved earlier) so saving the form does not silently change it.
fn zone_choices(current: &str) -> Vec<&'static str> {
    let mut zones = TimeZone::offered();
    if let Some(zone) = TimeZone::parse(current).filter(|z| !zones.contains(&z.name())) {
        zones.insert(0, zone.name());
    }
    zones
}

async fn profile_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    query: web::Query<NoticeQuery>,
) -> AppResult<HttpResponse> {
    render_profile(
        &state,
        &req,
        &me,
        FieldErrors::default(),
        query.message(),
        StatusCode::OK,
    )
    .await
}

/// The profile page, also re-shown with errors by the email-change form.
pub async fn render_profile(
    state: &AppState,
    req: &HttpRequest,
    me: &SignedIn,
    errors: FieldErrors,
    notice: Option<Msg>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let full = profile::load_profile(&state.db, &me.user.id).await?;
    let has_password = management::has_password(&state.db, &me.user.id).await?;
    let timezone = full.profile.timezone.unwrap_or_default();
    let view = ProfileView {
        timezones: zone_choices(&timezone),
        profile: ProfileFields {
            name: full.user.name,
            email: full.user.email,
            email_verified: full.user.email_verified,
            picture: full.user.image.unwrap_or_default(),
            bio: full.profile.bio.unwrap_or_default(),
            website: full.profile.website.unwrap_or_default(),
            timezone,
            username: full.profile.username.unwrap_or_default(),
        },
        errors,
        notice,
        has_password,
    };
    render(state, req, Some(me), status, "account/profile.html", &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileForm {
    name: String,
    picture: String,
    bio: String,
    website: String,
    timezone: String,
    username: String,
}

async fn save_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<ProfileForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let update = ProfileUpdate {
        name: f.name.clone(),
        picture: f.picture.clone(),
        bio: f.bio.clone(),
        website: f.website.clone(),
        timezone: f.timezone.clone(),
        username: f.username.clone(),
    };
    match profile::update_profile(&state.db, &me.user.id, update).await {
        Ok(()) => Ok(see_other("/account?notice=profile")),
        Err(FormError::Invalid(errors)) => {
            let view = ProfileView {
                timezones: zone_choices(&f.timezone),
                profile: ProfileFields {
                    name: f.name,
                    email: me.user.email.clone(),
                    email_verified: me.user.email_verified,
                    picture: f.picture,
                    bio: f.bio,
                    website: f.website,
                    timezone: f.timezone,
                    username: f.username,
                },
                errors,
                notice: None,
                has_password: management::has_password(&state.db, &me.user.id).await?,
            };
            render(
                &state,
                &req,
                Some(&me),
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/profile.html",
                &view,
            )
        }
        Err(FormError::App(e)) => Err(e),
    }
}

// ---- settings ----

#[derive(Serialize)]
struct SettingsView {
    settings: SettingsFields,
    languages: Vec<Language>,
    errors: FieldErrors,
    notice: Option<Msg>,
}

#[derive(Serialize)]
struct SettingsFields {
    theme: String,
    language: String,
    notifications: bool,
}

#[derive(Serialize)]
struct Language {
    code: &'static str,
    label: &'static str,
}

/// The languages offered are the ones we translate: offering the others changed nothing but the
/// `locale` claim, which read as a broken setting. A stored value from before (any of
/// `LANGUAGES`) stays selected and saveable, so saving other settings does not change it.
fn settings_view(
    settings: SettingsFields,
    errors: FieldErrors,
    notice: Option<Msg>,
) -> SettingsView {
    let languages = LANGUAGES
        .iter()
        .filter(|(code, _)| {
            Locale::from_tag(code).is_some_and(|l| l.code() == *code) || *code == settings.language
        })
        .map(|(code, label)| Language { code, label })
        .collect();
    SettingsView {
        settings,
        languages,
        errors,
        notice,
    }
}

async fn settings_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    query: web::Query<NoticeQuery>,
) -> AppResult<HttpResponse> {
    let s = profile::load_settings(&state.db, &me.user.id).await?;
    // Someone who never chose sees the language they are reading selected, so saving the theme
    // does not switch them to the stored default.
    let language = if me.language.is_some() {
        s.language
    } else {
        crate::web::locale::of(&req, Some(&me)).code().to_string()
    };
    let fields = SettingsFields {
        theme: s.theme,
        language,
        notifications: s.notifications,
    };
    let view = settings_view(fields, FieldErrors::default(), query.message());
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "account/settings.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SettingsForm {
    theme: String,
    language: String,
    notifications: Option<String>,
}

async fn save_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<SettingsForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let update = SettingsUpdate {
        theme: f.theme.clone(),
        language: f.language.clone(),
        notifications: f.notifications.is_some(),
    };
    match profile::update_settings(&state.db, &me.user.id, update).await {
        Ok(()) => Ok(see_other("/account/settings?notice=settings")),
        Err(FormError::Invalid(errors)) => {
            let fields = SettingsFields {
                theme: f.theme,
                language: f.language,
                notifications: f.notifications.is_some(),
            };
            let view = settings_view(fields, errors, None);
            render(
                &state,
                &req,
                Some(&me),
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/settings.html",
                &view,
            )
        }
        Err(FormError::App(e)) => Err(e),
    }
}

// ---- password ----

#[derive(Serialize)]
struct PasswordView {
    has_password: bool,
    errors: FieldErrors,
    notice: Option<Msg>,
    password_min: usize,
    password_max: usize,
}

async fn password_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    query: web::Query<NoticeQuery>,
) -> AppResult<HttpResponse> {
    let view = PasswordView {
        has_password: management::has_password(&state.db, &me.user.id).await?,
        errors: FieldErrors::default(),
        notice: query.message(),
        password_min: state.hasher.policy.min_length,
        password_max: state.hasher.policy.max_length,
    };
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "account/password.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<PasswordForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let change = PasswordChange {
        current_password: f.current_password,
        new_password: f.new_password,
        confirm_password: f.confirm_password,
    };
    match management::change_password(
        &state.db,
        &state.hasher,
        state.links(&req),
        &me.user.id,
        &me.session_id(),
        change,
    )
    .await
    {
        Ok(ended) => {
            state.mail.wake();
            notify_sessions_ended(&state, ended).await?;
            Ok(see_other("/account/password?notice=password"))
        }
        Err(FormError::Invalid(errors)) => {
            let view = PasswordView {
                has_password: management::has_password(&state.db, &me.user.id).await?,
                errors,
                notice: None,
                password_min: state.hasher.policy.min_length,
                password_max: state.hasher.policy.max_length,
            };
            render(
                &state,
                &req,
                Some(&me),
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/password.html",
                &view,
            )
        }
        Err(FormError::App(e)) => Err(e),
    }
}

// ---- sessions ----

#[derive(Serialize)]
struct SessionsView {
    sessions: Vec<SessionRow>,
    notice: Option<Msg>,
}

#[derive(Serialize)]
struct SessionRow {
    id: String,
    browser: Msg,
    ip: String,
    /// A provider's name, or a catalogue message for our own methods.
    method: MethodName,
    /// When the first factor was proven.
    first_factor_at: String,
    /// The second factor it proved, if any, and when.
    second_factor: Option<Msg>,
    second_factor_at: Option<String>,
    created_at: String,
    last_seen_at: String,
    current: bool,
}

/// A sign-in method as shown: a provider's own name is not translated, ours are.
#[derive(Serialize)]
#[serde(untagged)]
enum MethodName {
    Provider(String),
    Ours(Msg),
}

fn method_label(code: &str) -> MethodName {
    match sessions::method_name(code) {
        Ok(msg) => MethodName::Ours(msg),
        Err(slug) => MethodName::Provider(slug),
    }
}

async fn sessions_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    query: web::Query<NoticeQuery>,
) -> AppResult<HttpResponse> {
    let zone = profile::load_time_zone(&state.db, &me.user.id).await?;
    let rows = management::list_sessions(&state.db, &me.user.id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            current: s.id == me.session.id,
            browser: describe_user_agent(s.user_agent.as_deref()),
            ip: s.ip_address.unwrap_or_default(),
            method: method_label(&s.auth_method),
            second_factor: sessions::second_factor_name(&s.auth_method),
            first_factor_at: display_time(s.first_factor_at, zone),
            second_factor_at: s.second_factor_at.map(|at| display_time(at, zone)),
            created_at: display_time(s.created_at, zone),
            last_seen_at: display_time(s.last_seen_at, zone),
            id: s.id.into(),
        })
        .collect();
    let view = SessionsView {
        sessions: rows,
        notice: query.message(),
    };
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "account/sessions.html",
        &view,
    )
}

async fn revoke_session(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<String>,
    _checked: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let id = SessionId::parse(&id).ok_or(AppError::NotFound)?;
    if !management::revoke_session(&state.db, &me.user.id, &id).await? {
        return Err(AppError::NotFound);
    }
    notify_sessions_ended(&state, vec![id.clone()]).await?;
    if id == me.session.id {
        let mut res = see_other("/login?signed_out=1");
        res.add_cookie(&clear_session_cookie(&state))?;
        return Ok(res);
    }
    Ok(see_other("/account/sessions?notice=revoked"))
}

async fn revoke_others(
    state: web::Data<AppState>,
    me: SignedIn,
    _checked: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let ended = management::revoke_other_sessions(&state.db, &me.user.id, &me.session_id()).await?;
    notify_sessions_ended(&state, ended).await?;
    Ok(see_other("/account/sessions?notice=revoked-others"))
}

// ---- sign-in methods ----

#[derive(Serialize)]
struct MethodsView {
    methods: Vec<MethodRow>,
    linkable: Vec<Button>,
    has_password: bool,
    notice: Option<Msg>,
    error: Option<Msg>,
}

#[derive(Serialize)]
struct MethodRow {
    account_id: String,
    label: MethodName,
    detail: String,
    created_at: String,
    removable: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MethodsQuery {
    notice: Option<String>,
}

async fn methods_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    query: web::Query<MethodsQuery>,
) -> AppResult<HttpResponse> {
    let user = me.user.clone();
    let (found, zone) = state
        .db
        .run(move |conn| {
            Ok((
                sign_in_methods::of_user(conn, &user)?,
                profile::time_zone_of(conn, &user.id)?,
            ))
        })
        .await?;
    let methods = found
        .methods
        .into_iter()
        .map(|m| MethodRow {
            account_id: m.account_id.to_string(),
            label: match m.kind {
                MethodKind::Password => MethodName::Ours(Msg::new("methods-password")),
                MethodKind::Provider(name) => MethodName::Provider(name),
            },
            detail: m.detail,
            created_at: display_time(m.created_at, zone),
            removable: m.removable,
        })
        .collect();
    let (notice, error) = match query.notice.as_deref() {
        Some("linked") => (Some(Msg::new("notice-method-linked")), None),
        Some("unlinked") => (Some(Msg::new("notice-method-unlinked")), None),
        Some("last") => (None, Some(Msg::new("notice-method-last"))),
        _ => (None, None),
    };
    let view = MethodsView {
        methods,
        linkable: found.linkable,
        has_password: found.has_password,
        notice,
        error,
    };
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "account/methods.html",
        &view,
    )
}

// ---- delete ----

#[derive(Serialize)]
struct DeleteView {
    has_password: bool,
    errors: FieldErrors,
}

async fn delete_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
) -> AppResult<HttpResponse> {
    let view = DeleteView {
        has_password: management::has_password(&state.db, &me.user.id).await?,
        errors: FieldErrors::default(),
    };
    render(
        &state,
        &req,
        Some(&me),
        StatusCode::OK,
        "account/delete.html",
        &view,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteForm {
    password: String,
    confirm: String,
}

async fn delete_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: SignedIn,
    form: CsrfForm<DeleteForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    match management::delete_account(
        &state.db,
        &state.hasher,
        &me.user.id,
        f.password,
        &f.confirm,
    )
    .await
    {
        Ok(()) => {
            state.backchannel.wake();
            let mut res = see_other("/?deleted=1");
            res.add_cookie(&clear_session_cookie(&state))?;
            Ok(res)
        }
        Err(FormError::Invalid(errors)) => {
            let view = DeleteView {
                has_password: management::has_password(&state.db, &me.user.id).await?,
                errors,
            };
            render(
                &state,
                &req,
                Some(&me),
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/delete.html",
                &view,
            )
        }
        Err(FormError::App(e)) => Err(e),
    }
}
