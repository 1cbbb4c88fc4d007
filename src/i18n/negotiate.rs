//! Which locale a page or mail is rendered in. One function decides, with a fixed precedence:
//!
//! 1. the signed-in user's language setting (they chose it, on this site);
//! 2. the OIDC `ui_locales` of the authorization request in progress (OIDC Core §3.1.2.1: the
//!    application's hint, space-separated BCP 47 tags in order of preference);
//! 3. the browser's `Accept-Language` (RFC 9110 §12.5.4, q-values honoured);
//! 4. English.
//!
//! A source naming only languages we have no catalogue for is skipped, so the page is always in
//! the locale reported back (`<html lang>` stays truthful).

use super::Locale;

/// What the request tells us about the reader's languages; each part may be missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Preferences<'a> {
    /// The signed-in user's language setting (stored values may name untranslated languages).
    pub setting: Option<&'a str>,
    /// `ui_locales` of the authorization request this page belongs to.
    pub ui_locales: Option<&'a str>,
    /// The raw `Accept-Language` header.
    pub accept_language: Option<&'a str>,
}

pub fn negotiate(p: &Preferences<'_>) -> Locale {
    p.setting
        .and_then(Locale::from_tag)
        .or_else(|| p.ui_locales.and_then(from_ui_locales))
        .or_else(|| p.accept_language.and_then(from_accept_language))
        .unwrap_or(Locale::En)
}

/// The first tag we translate, in the client's order.
fn from_ui_locales(raw: &str) -> Option<Locale> {
    raw.split_ascii_whitespace().find_map(Locale::from_tag)
}

/// The translated language with the highest q-value; on a tie the one listed first. `q=0`
/// means "not this one"; `*` says nothing about which language to pick.
fn from_accept_language(raw: &str) -> Option<Locale> {
    let mut best: Option<(u16, Locale)> = None;
    for item in raw.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .map_or(Some(1000), quality);
        let (Some(q), Some(locale)) = (q, Locale::from_tag(tag).filter(|_| tag != "*")) else {
            continue;
        };
        if q > 0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, locale));
        }
    }
    best.map(|(_, l)| l)
}

/// A q-value (`0`, `0.8`, `1.000`) in thousandths; `None` when malformed.
fn quality(raw: &str) -> Option<u16> {
    let value: f32 = raw.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(
        setting: Option<&str>,
        ui_locales: Option<&str>,
        accept_language: Option<&str>,
    ) -> &'static str {
        negotiate(&Preferences {
            setting,
            ui_locales,
            accept_language,
        })
        .code()
    }

    #[test]
    fn the_user_setting_beats_ui_locales_which_beat_accept_language() {
        assert_eq!(pick(Some("fr"), Some("de"), Some("en")), "fr");
        assert_eq!(pick(None, Some("de"), Some("fr")), "de");
        assert_eq!(pick(None, None, Some("fr")), "fr");
        assert_eq!(pick(None, None, None), "en");
    }

    #[test]
    fn a_setting_without_a_catalogue_falls_through_to_the_next_source() {
        assert_eq!(pick(Some("ja"), Some("de"), Some("fr")), "de");
        assert_eq!(pick(Some("es"), None, Some("fr-CA")), "fr");
        assert_eq!(pick(Some("zh"), None, None), "en");
    }

    #[test]
    fn ui_locales_take_the_first_translated_tag() {
        assert_eq!(pick(None, Some("ja es-MX fr-CA de"), None), "fr");
        assert_eq!(pick(None, Some("ja it"), Some("de")), "de");
        assert_eq!(pick(None, Some("  "), None), "en");
    }

    #[test]
    fn accept_language_honours_q_values() {
        assert_eq!(pick(None, None, Some("en;q=0.5, de;q=0.9, fr;q=0.7")), "de");
        assert_eq!(pick(None, None, Some("fr;q=0.4,de")), "de");
        assert_eq!(pick(None, None, Some("de;q=0, fr;q=0.1")), "fr");
        assert_eq!(pick(None, None, Some("de;q=0")), "en");
        // Ties go to the one listed first.
        assert_eq!(pick(None, None, Some("fr, de")), "fr");
    }

    #[test]
    fn accept_language_falls_back_from_regions_and_skips_unknown_languages() {
        assert_eq!(pick(None, None, Some("de-AT")), "de");
        assert_eq!(pick(None, None, Some("fr-CH, en;q=0.8")), "fr");
        assert_eq!(pick(None, None, Some("ja, pt-BR;q=0.9, de-DE;q=0.3")), "de");
        assert_eq!(pick(None, None, Some("ja, zh")), "en");
        assert_eq!(pick(None, None, Some("*")), "en");
    }

    #[test]
    fn malformed_headers_do_not_crash_and_fall_back_to_english() {
        assert_eq!(pick(None, None, Some("")), "en");
        assert_eq!(pick(None, None, Some(",,;q=;")), "en");
        assert_eq!(pick(None, None, Some("de;q=abc, fr;q=2")), "en");
        assert_eq!(pick(None, None, Some("de;q=abc, fr")), "fr");
    }
}
