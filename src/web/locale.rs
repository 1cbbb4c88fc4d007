//! The language of the page being answered. `crate::i18n::negotiate` decides; this module
//! gathers what it decides from: the signed-in user's setting (noted when the session is
//! resolved), `ui_locales` of the authorization request the page belongs to (noted by the
//! handlers that know it) and `Accept-Language`.
//!
//! Error responses are built by `AppError::error_response`, which gets no request. The `track`
//! middleware keeps the request's language hints in a task-local for the duration of the handler, so error pages
//! are rendered in the same locale as the page would have been.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

use crate::i18n::{negotiate, Locale, Preferences};
use crate::web::viewer::SignedIn;

/// What the request says about languages, shared between the request's extensions (where
/// handlers note hints) and the task-local read by error pages. Not the request itself: a clone
/// of an `HttpRequest` held across routing makes actix panic.
#[derive(Debug, Clone, Default)]
struct Hints {
    setting: Option<String>,
    ui_locales: Option<String>,
    accept_language: Option<String>,
}

type Shared = Rc<RefCell<Hints>>;

fn shared(req: &HttpRequest) -> Shared {
    if let Some(found) = req.extensions().get::<Shared>() {
        return found.clone();
    }
    let fresh = Shared::default();
    fresh.borrow_mut().accept_language = accept_language(req.headers());
    req.extensions_mut().insert(fresh.clone());
    fresh
}

fn accept_language(headers: &header::HeaderMap) -> Option<String> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The signed-in user's language setting, as soon as the session is known.
pub fn note_setting(req: &HttpRequest, language: &str) {
    shared(req).borrow_mut().setting = Some(language.to_string());
}

/// `ui_locales` of the authorization request this page is part of.
pub fn note_ui_locales(req: &HttpRequest, ui_locales: Option<&str>) {
    if let Some(ui) = ui_locales {
        shared(req).borrow_mut().ui_locales = Some(ui.to_string());
    }
}

/// The locale to render for this request. A page rendered for `viewer` uses their setting.
pub fn of(req: &HttpRequest, viewer: Option<&SignedIn>) -> Locale {
    let hints = shared(req);
    let hints = hints.borrow();
    decide(&hints, viewer.and_then(|v| v.language.as_deref()))
}

fn decide(hints: &Hints, setting: Option<&str>) -> Locale {
    negotiate(&Preferences {
        setting: setting.or(hints.setting.as_deref()),
        ui_locales: hints.ui_locales.as_deref(),
        accept_language: hints.accept_language.as_deref(),
    })
}

tokio::task_local! {
    static CURRENT: Shared;
}

/// Middleware: shares the request's hints with `current` while the handler runs.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let hints = Shared::default();
    hints.borrow_mut().accept_language = accept_language(req.headers());
    req.extensions_mut().insert(hints.clone());
    CURRENT.scope(hints, next.call(req)).await
}

/// The locale of the request being handled on this task; English outside one.
pub fn current() -> Locale {
    CURRENT
        .try_with(|hints| decide(&hints.borrow(), None))
        .unwrap_or(Locale::En)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn hints_noted_while_handling_join_the_accept_language_header() {
        let req = TestRequest::default()
            .insert_header((header::ACCEPT_LANGUAGE, "fr, en;q=0.5"))
            .to_http_request();
        assert_eq!(of(&req, None), Locale::Fr);
        note_ui_locales(&req, Some("de-CH"));
        assert_eq!(
            of(&req, None),
            Locale::De,
            "ui_locales beats Accept-Language"
        );
        note_setting(&req, "en");
        assert_eq!(of(&req, None), Locale::En, "the user's setting beats both");
        note_setting(&req, "ja");
        assert_eq!(
            of(&req, None),
            Locale::De,
            "an untranslated setting falls through"
        );
    }

    #[test]
    fn outside_a_request_errors_are_english() {
        assert_eq!(current(), Locale::En);
    }
}
