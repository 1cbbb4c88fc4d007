//! Unicode rules for identifiers people type (RFC 8264/8265, PRECIS): one address or name per
//! person, whatever keyboard, font or copy-paste produced it.
//!
//! Width and compatibility forms are folded with NFKC (a full-width `ａlice` is `alice`), and
//! characters that render as nothing or reorder text — zero-width spaces, bidi overrides, the soft
//! hyphen — are refused rather than dropped, so that two visibly identical strings are never two
//! accounts and a refused character is visible to the person who typed it.

use unicode_normalization::UnicodeNormalization;

/// NFKC, as PRECIS applies it to identifiers and nicknames.
pub fn fold(raw: &str) -> String {
    raw.nfkc().collect()
}

/// Code points of general category Cf (format): invisible, they change how text is shown or
/// joined. Listed from the Unicode 15 character database; the set changes rarely and only grows.
pub fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Private-use and noncharacter code points: they mean nothing portable.
fn is_private_or_nonchar(c: char) -> bool {
    let u = u32::from(c);
    matches!(u, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD | 0xFDD0..=0xFDEF)
        || (u & 0xFFFE) == 0xFFFE
}

/// Refused anywhere in an email address (PRECIS IdentifierClass spirit): controls, format
/// characters, private use, noncharacters and every kind of space.
pub fn refused_in_identifier(c: char) -> bool {
    c.is_control() || c.is_whitespace() || is_format(c) || is_private_or_nonchar(c)
}

/// Refused in a display name (PRECIS FreeformClass spirit). Spaces are fine; the zero-width
/// joiner and non-joiner are too, because emoji sequences and Persian or Indic scripts need them.
pub fn refused_in_name(c: char) -> bool {
    c.is_control()
        || (is_format(c) && !matches!(c, '\u{200C}' | '\u{200D}'))
        || is_private_or_nonchar(c)
}

/// A display name as PRECIS's Nickname profile maps it: NFKC, every space a plain space, runs of
/// spaces collapsed, trimmed.
pub fn fold_name(raw: &str) -> String {
    let folded = fold(raw);
    let mut out = String::with_capacity(folded.len());
    for word in folded.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_folds_width_and_compatibility_forms() {
        assert_eq!(fold("ａｌｉｃｅ"), "alice");
        assert_eq!(fold("ﬁle"), "file");
        assert_eq!(fold("e\u{301}"), "é");
    }

    #[test]
    fn invisible_and_reordering_characters_are_refused() {
        for c in [
            '\u{200B}',
            '\u{200D}',
            '\u{00AD}',
            '\u{202E}',
            '\u{2066}',
            '\u{FEFF}',
            '\u{E0041}',
        ] {
            assert!(refused_in_identifier(c), "{:04X}", u32::from(c));
        }
        for c in [
            '\u{200B}', '\u{00AD}', '\u{202E}', '\u{FEFF}', '\u{E000}', '\u{FFFF}',
        ] {
            assert!(refused_in_name(c), "{:04X}", u32::from(c));
        }
        // Joiners are part of emoji sequences and several scripts.
        assert!(!refused_in_name('\u{200D}'));
        assert!(!refused_in_name(' '));
        assert!(!refused_in_identifier('é'));
    }

    #[test]
    fn names_get_one_plain_space_between_words() {
        assert_eq!(fold_name("  Ada\u{3000}\u{A0}Lovelace \t"), "Ada Lovelace");
        assert_eq!(fold_name("Ａｄａ"), "Ada");
    }
}
