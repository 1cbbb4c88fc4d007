//! Translations. The language setting used to change only `<html lang>`: pages, emails and the
//! messages Rust code shows people were English whatever it said. Now every user-visible text is
//! a Fluent message (`locales/{en,de,fr}/*.ftl`, embedded at compile time), looked up in the
//! locale negotiated for the request (`negotiate`) or, for mail, for the recipient.
//!
//! Templates call `t("key", arg=value)` (see `template::t`); Rust code that produces text for a
//! page hands over a `Msg` (a key and its arguments) and the template translates it, so the
//! language is decided in one place, at render time.

mod message;
pub mod negotiate;
pub mod template;

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

pub use message::{Arg, Msg};
pub use negotiate::{negotiate, Preferences};

fluent_templates::static_loader! {
    static CATALOGUES = {
        locales: "./locales",
        fallback_language: "en",
        // Without this Fluent wraps every argument in U+2068/U+2069 (bidi isolation marks),
        // which show up in text mail and break tests on the English text. None of our
        // catalogues mixes text directions.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language we have a catalogue for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    De,
    Fr,
}

impl Locale {
    /// Every translated locale; English is the source language and the fallback.
    pub const ALL: [Locale; 3] = [Locale::En, Locale::De, Locale::Fr];

    /// The BCP 47 tag, as used in `<html lang>` and stored in the language setting.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
        }
    }

    /// The locale for a language tag, ignoring region and script (`de-AT` → German);
    /// `None` for languages without a catalogue.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Locale::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Locale::En => fluent_templates::langid!("en"),
            Locale::De => fluent_templates::langid!("de"),
            Locale::Fr => fluent_templates::langid!("fr"),
        }
    }
}

/// The text of `key` in `locale` (English when the locale lacks it); `None` for a key that is
/// not in the catalogues at all.
pub fn lookup(
    locale: Locale,
    key: &str,
    args: &HashMap<Cow<'static, str>, FluentValue<'_>>,
) -> Option<String> {
    let args = (!args.is_empty()).then_some(args);
    CATALOGUES.try_lookup_complete(&locale.langid(), key, args)
}

/// Like `lookup`, for Rust code that needs a finished string; an unknown key yields the key
/// itself, so a mistake shows up as visible text rather than a failed request.
pub fn text(locale: Locale, msg: &Msg) -> String {
    lookup(locale, msg.key(), &msg.fluent_args()).unwrap_or_else(|| msg.key().to_string())
}

#[cfg(test)]
mod tests;
