//! Page rendering: minijinja templates embedded in the binary, each overridable by a file of the
//! same name in the configured theme directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::error::AppError;
use crate::i18n::Msg;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

/// Every built-in template and static file, by name.
static EMBEDDED: &[(&str, &str)] = embedded!(
    "base.html",
    "macros.html",
    "home.html",
    "error.html",
    "login.html",
    "signup.html",
    "account/layout.html",
    "account/profile.html",
    "account/settings.html",
    "account/password.html",
    "account/sessions.html",
    "account/methods.html",
    "account/delete.html",
    "account/apps.html",
    "account/security.html",
    "account/passkeys.html",
    "account/merge.html",
    "admin/layout.html",
    "admin/users.html",
    "admin/user.html",
    "admin/clients.html",
    "admin/client.html",
    "admin/_client_form.html",
    "admin/providers.html",
    "admin/keys.html",
    "admin/audit.html",
    "admin/mail.html",
    "admin/groups.html",
    "admin/group.html",
    "second_factor.html",
    "consent.html",
    "form_post.html",
    "logout_confirm.html",
    "logged_out.html",
    "message.html",
    "forgot.html",
    "reset.html",
    "confirm_link.html",
    "link.html",
    "email/link_proof.txt",
    "email/link_proof.html",
    "email/method_linked.txt",
    "email/method_linked.html",
    "email/test_message.txt",
    "email/test_message.html",
    "code.html",
    "email/layout.html",
    "email/verify_email.txt",
    "email/verify_email.html",
    "email/reset_password.txt",
    "email/reset_password.html",
    "email/password_changed.txt",
    "email/password_changed.html",
    "email/magic_link.txt",
    "email/magic_link.html",
    "email/email_code.txt",
    "email/email_code.html",
    "email/new_device_sign_in.txt",
    "email/new_device_sign_in.html",
    "email/account_password_changed.txt",
    "email/account_password_changed.html",
    "email/email_changed.txt",
    "email/email_changed.html",
    "email/second_factor_changed.txt",
    "email/second_factor_changed.html",
    "email/password_locked.txt",
    "email/password_locked.html",
    "email/already_registered.txt",
    "email/already_registered.html",
    "static/style.css",
    "static/favicon.svg",
    "static/passkey.js",
);

/// `{{ t|when }}`: an RFC 3339 time as "2026-12-03 17:05 UTC" (admin pages); anything else as is.
fn when(value: String) -> String {
    chrono::DateTime::parse_from_rfc3339(&value)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or(value)
}

#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
    theme_dir: Option<PathBuf>,
}

impl Templates {
    pub fn new(theme_dir: Option<&Path>) -> Templates {
        let theme_dir = theme_dir.map(Path::to_path_buf);
        let mut env = Environment::new();
        env.add_function("t", crate::i18n::template::t);
        env.add_filter("when", when);
        let dir = theme_dir.clone();
        env.set_loader(move |name| Ok(load(dir.as_deref(), name)));
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        Templates {
            env: Arc::new(env),
            theme_dir,
        }
    }

    /// Renders a page; `ctx` is any serialisable view model.
    pub fn render<C: Serialize>(&self, name: &str, ctx: &C) -> Result<String, AppError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| AppError::Internal(format!("template {name}: {e}")))?;
        template
            .render(Value::from(Serde(ctx)))
            .map_err(|e| AppError::Internal(format!("template {name}: {e:#}")))
    }

    /// A static file (stylesheet, images) from the theme directory or the built-in set.
    pub fn static_file(&self, file: &str) -> Option<String> {
        let valid = !file.is_empty()
            && !file.starts_with('.')
            && file
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        valid
            .then(|| load(self.theme_dir.as_deref(), &format!("static/{file}")))
            .flatten()
    }
}

/// Theme file first (only for names we know, so a theme cannot be made to read arbitrary paths),
/// then the embedded one.
fn load(theme_dir: Option<&Path>, name: &str) -> Option<String> {
    let builtin = EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, src)| *src);
    if let (Some(dir), Some(_)) = (theme_dir, builtin) {
        if let Ok(source) = std::fs::read_to_string(dir.join(name)) {
            return Some(source);
        }
    }
    builtin.map(str::to_string)
}

/// Templates used by `AppError` responses, which have no access to app state. The first
/// application built in the process installs its set.
static ERROR_TEMPLATES: OnceLock<Templates> = OnceLock::new();

pub fn install_for_errors(templates: &Templates) {
    let _ = ERROR_TEMPLATES.set(templates.clone());
}

/// The body of an error page.
pub enum ErrorText<'a> {
    /// For the person, translated.
    Message(Msg),
    /// Technical (a protocol error), shown as is.
    Detail(&'a str),
    /// For the person, with its precise cause on a line of its own.
    Explained { message: Msg, cause: Msg },
}

#[derive(Serialize)]
struct ErrorView<'a> {
    status: u16,
    title: Msg,
    message: Option<Msg>,
    detail: Option<&'a str>,
    cause: Option<Msg>,
    locale: &'static str,
    lang: &'static str,
}

/// An error page in the language of the request being handled (`web::locale::current`).
pub fn error_page(status: StatusCode, title: Msg, text: ErrorText<'_>) -> HttpResponse {
    let templates = ERROR_TEMPLATES.get_or_init(|| Templates::new(None));
    let locale = crate::web::locale::current().code();
    let (message, detail, cause) = match text {
        ErrorText::Message(m) => (Some(m), None, None),
        ErrorText::Detail(d) => (None, Some(d), None),
        ErrorText::Explained { message, cause } => (Some(message), None, Some(cause)),
    };
    let view = ErrorView {
        status: status.as_u16(),
        title,
        message,
        detail,
        cause,
        locale,
        lang: locale,
    };
    let body = templates.render("error.html", &view).unwrap_or_else(|_| {
        format!(
            "<!doctype html><title>{0}</title><h1>{0}</h1>",
            status.as_u16()
        )
    });
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_compiles() {
        let t = Templates::new(None);
        for (name, _) in EMBEDDED.iter().filter(|(n, _)| n.ends_with(".html")) {
            t.env
                .get_template(name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn every_embedded_template_renders_in_every_locale() {
        let t = Templates::new(None);
        for locale in crate::i18n::Locale::ALL {
            let ctx = serde_json::json!({ "locale": locale.code(), "minutes": 60, "name": "Ada", "status": 404 });
            for (name, _) in EMBEDDED
                .iter()
                .filter(|(n, _)| n.ends_with(".html") || n.ends_with(".txt"))
            {
                let out = t
                    .render(name, &ctx)
                    .unwrap_or_else(|e| panic!("{name} in {}: {e}", locale.code()));
                // Partials (`_name.html`) are included into pages, which carry `lang`.
                let partial = name.rsplit('/').next().is_some_and(|f| f.starts_with('_'));
                if name.ends_with(".html") && *name != "macros.html" && !partial {
                    assert!(
                        out.contains(&format!("lang=\"{}\"", locale.code())),
                        "{name} lacks lang"
                    );
                }
            }
        }
    }

    #[test]
    fn html_templates_escape_arguments_but_not_catalogue_text() {
        let t = Templates::new(None);
        let ctx = serde_json::json!({ "locale": "en", "user": { "name": "<b>Ada</b>", "email": "a@b.c" } });
        let out = t.render("home.html", &ctx).unwrap();
        assert!(
            out.contains("Signed in as &lt;b&gt;Ada&lt;&#x2f;b&gt; (a@b.c)"),
            "{out}"
        );
        let sessions = t
            .render(
                "account/sessions.html",
                &serde_json::json!({ "locale": "en" }),
            )
            .unwrap();
        assert!(
            sessions.contains("If you don't recognise one"),
            "catalogue text must not be escaped"
        );
    }

    #[test]
    fn theme_directory_overrides_builtin_templates_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("home.html"), "themed home").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "nope").unwrap();
        let t = Templates::new(Some(dir.path()));
        assert_eq!(t.render("home.html", &()).unwrap(), "themed home");
        assert!(t.env.get_template("secret.txt").is_err());
        assert!(t.static_file("../secret.txt").is_none());
        assert!(t.static_file("style.css").is_some());
    }
}
