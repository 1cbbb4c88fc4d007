#![cfg(test)]
//! The catalogues against each other and against the templates.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Message ids defined in `locales/{lang}/*.ftl` (a message starts a line with `id =`).
fn keys(lang: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let dir = root().join("locales").join(lang);
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ftl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if let Some((id, _)) = line.split_once(" =") {
                    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                        assert!(keys.insert(id.to_string()), "{lang}: {id} defined twice");
                    }
                }
            }
        }
    }
    keys
}

#[test]
fn german_and_french_have_exactly_the_english_keys() {
    let en = keys("en");
    assert!(en.len() > 100, "only {} English keys found", en.len());
    for lang in ["de", "fr"] {
        let other = keys(lang);
        let missing: Vec<_> = en.difference(&other).collect();
        let orphans: Vec<_> = other.difference(&en).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        assert!(
            orphans.is_empty(),
            "{lang} has keys English does not: {orphans:?}"
        );
    }
}

/// Every `$variable` named in a locale's catalogue, with a number as value (which formats as
/// text and also selects plurals).
fn all_arguments(
    lang: &str,
) -> std::collections::HashMap<std::borrow::Cow<'static, str>, FluentValue<'static>> {
    let mut args = std::collections::HashMap::new();
    for entry in std::fs::read_dir(root().join("locales").join(lang)).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in source.match_indices('$') {
            let name: String = source[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            args.insert(std::borrow::Cow::Owned(name), FluentValue::from(2));
        }
    }
    args
}

#[test]
fn every_catalogue_file_parses() {
    for locale in Locale::ALL {
        for entry in std::fs::read_dir(root().join("locales").join(locale.code())).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            if let Err((_, errors)) =
                fluent_templates::fluent_bundle::FluentResource::try_new(source)
            {
                panic!("{}: {errors:?}", path.display());
            }
        }
    }
}

#[test]
fn every_key_formats_in_every_locale() {
    // A message Fluent cannot parse or format would silently fall back to English.
    for locale in Locale::ALL {
        let args = all_arguments(locale.code());
        for key in keys(locale.code()) {
            let text = lookup(locale, &key, &args)
                .unwrap_or_else(|| panic!("{}: {key} does not format", locale.code()));
            assert!(!text.contains('\u{2068}'), "{key}: isolation marks");
        }
    }
}

/// String literals passed to `t(...)` in every template.
fn template_keys() -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![root().join("templates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            for (i, _) in source.match_indices("t(") {
                let before = source[..i].chars().last();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                    continue; // another function ending in t, such as `ui.flash(…)`'s neighbours
                }
                let rest = &source[i + 2..];
                let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                    continue;
                };
                let Some(end) = rest[1..].find(quote) else {
                    continue;
                };
                found.insert((path.display().to_string(), rest[1..1 + end].to_string()));
            }
        }
    }
    found
}

#[test]
fn every_key_the_templates_use_exists_in_english() {
    let en = keys("en");
    let used = template_keys();
    assert!(used.len() > 100, "only {} t(\"…\") calls found", used.len());
    let unknown: Vec<_> = used.iter().filter(|(_, k)| !en.contains(k)).collect();
    assert!(
        unknown.is_empty(),
        "templates use keys missing from locales/en: {unknown:?}"
    );
}

#[test]
fn arguments_are_inserted_without_isolation_marks() {
    let msg = Msg::new("signup-check-email").with("email", "ada@example.com");
    assert_eq!(
        text(Locale::En, &msg),
        "We sent a confirmation link to ada@example.com. Follow it, then sign in."
    );
    assert!(text(Locale::De, &msg).contains("ada@example.com"));
    assert!(!text(Locale::Fr, &msg).contains('\u{2068}'));
}

#[test]
fn plurals_follow_the_number() {
    let one = text(
        Locale::En,
        &Msg::new("email-verify-validity-hours").with("hours", 1_i64),
    );
    let many = text(
        Locale::En,
        &Msg::new("email-verify-validity-hours").with("hours", 24_i64),
    );
    assert_eq!(one, "The link is valid for 1 hour.");
    assert_eq!(many, "The link is valid for 24 hours.");
}

#[test]
fn tags_map_to_locales_by_primary_language() {
    assert_eq!(Locale::from_tag("de-AT"), Some(Locale::De));
    assert_eq!(Locale::from_tag("FR_ca"), Some(Locale::Fr));
    assert_eq!(Locale::from_tag("en"), Some(Locale::En));
    assert_eq!(Locale::from_tag("es"), None);
    assert_eq!(Locale::from_tag(""), None);
}
