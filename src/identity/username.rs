//! Usernames: an optional short handle a person chooses on their profile, sent to relying
//! applications as `preferred_username` (OIDC Core §5.1).
//!
//! A username is compared and stored in one normalised form: lower-case ASCII letters, digits
//! and `.`, `_`, `-`, 3 to 32 characters, starting and ending with a letter or digit. Keeping to
//! ASCII leaves no room for look-alike names (Cyrillic `а` for Latin `a`), and storing only the
//! lower-case form means the database's UNIQUE index on the column is what keeps `Ada` and `ada`
//! from being two people, on every backend and whatever its collation.
//!
//! The claim is advisory, as the spec says: applications must key accounts on `sub`, never on
//! this. Names that read as the installation speaking (`admin`, `security`, …) are reserved so
//! nobody can pose as it in an application that shows usernames.

use serde::Serialize;

pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 32;

/// Handles nobody may take: they would read as the server or its operators speaking.
const RESERVED: [&str; 16] = [
    "abuse",
    "admin",
    "administrator",
    "hostmaster",
    "info",
    "mailer-daemon",
    "no-reply",
    "noreply",
    "portcullis",
    "postmaster",
    "root",
    "security",
    "support",
    "system",
    "webmaster",
    "www",
];

/// A valid username in its stored form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Username(String);

/// Why a proposed username was refused; each maps to a message on the profile page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameError {
    Length,
    Characters,
    Reserved,
}

impl UsernameError {
    /// The Fluent key of the message shown under the field.
    pub fn message_key(self) -> &'static str {
        match self {
            UsernameError::Length => "error-username-length",
            UsernameError::Characters => "error-username-characters",
            UsernameError::Reserved => "error-username-reserved",
        }
    }

    /// The same in plain English, for the admin API and the CLI.
    pub fn describe(self) -> String {
        match self {
            UsernameError::Length => {
                format!("a username has {MIN_LEN} to {MAX_LEN} characters")
            }
            UsernameError::Characters => "a username has letters a to z, digits and . _ - \
                 and starts and ends with a letter or digit"
                .into(),
            UsernameError::Reserved => "this username is reserved".into(),
        }
    }
}

impl Username {
    /// Parses what a person typed: surrounding space is dropped and letters are lower-cased;
    /// anything else outside the alphabet is refused rather than silently changed.
    pub fn parse(raw: &str) -> Result<Username, UsernameError> {
        let name = raw.trim().to_ascii_lowercase();
        let len = name.chars().count();
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return Err(UsernameError::Length);
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        let edge =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !name.chars().all(allowed) || !edge(name.chars().next()) || !edge(name.chars().last()) {
            return Err(UsernameError::Characters);
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(UsernameError::Reserved);
        }
        Ok(Username(name))
    }

    /// Parses an optional field: empty means "no username".
    pub fn parse_optional(raw: &str) -> Result<Option<Username>, UsernameError> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            Username::parse(raw).map(Some)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_trimmed() {
        assert_eq!(
            Username::parse("  Ada.Lovelace ").unwrap().as_str(),
            "ada.lovelace"
        );
        assert_eq!(Username::parse("a_b-c9").unwrap().as_str(), "a_b-c9");
        assert_eq!(Username::parse_optional("   ").unwrap(), None);
    }

    #[test]
    fn length_is_bounded_in_characters() {
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert!(Username::parse(&"a".repeat(MAX_LEN)).is_ok());
        assert_eq!(
            Username::parse(&"a".repeat(MAX_LEN + 1)),
            Err(UsernameError::Length)
        );
    }

    #[test]
    fn look_alikes_spaces_and_punctuation_edges_are_refused() {
        // Cyrillic "а" looks like Latin "a".
        assert_eq!(Username::parse("\u{430}da"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("ada king"), Err(UsernameError::Characters));
        assert_eq!(Username::parse(".ada"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("ada-"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("ada@x"), Err(UsernameError::Characters));
        assert_eq!(
            Username::parse("a\u{200b}da"),
            Err(UsernameError::Characters)
        );
    }

    #[test]
    fn reserved_names_are_refused_in_any_case() {
        assert_eq!(Username::parse("Admin"), Err(UsernameError::Reserved));
        assert_eq!(Username::parse("POSTMASTER"), Err(UsernameError::Reserved));
        assert!(Username::parse("admins").is_ok());
    }
}
