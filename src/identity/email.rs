//! Email addresses, normalised (trimmed, NFKC, lowercased) so UNIQUE(email) means one person.

use serde::Serialize;

use super::precis;
use crate::i18n::Msg;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Missing,
    #[error("Enter a valid email address, like name@example.com.")]
    Invalid,
    #[error("That email address is too long.")]
    TooLong,
    #[error("That email address contains invisible or control characters.")]
    Hidden,
}

impl EmailError {
    /// What the form shows next to the email field.
    pub fn message(self) -> Msg {
        Msg::new(match self {
            EmailError::Missing => "error-email-missing",
            EmailError::Invalid => "error-email-invalid",
            EmailError::TooLong => "error-email-too-long",
            EmailError::Hidden => "error-email-hidden",
        })
    }
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let folded = precis::fold(raw.trim());
        if folded.is_empty() {
            return Err(EmailError::Missing);
        }
        // Refused, not dropped: `alice\u{200b}@…` must neither be a second Alice nor silently
        // become the first one's address.
        if folded.chars().any(precis::refused_in_identifier) {
            return Err(EmailError::Hidden);
        }
        // Lowercasing can leave a string that is no longer in normal form (rarely); fold again.
        let email = precis::fold(&folded.to_lowercase());
        // RFC 5321 limits: 254 for the path, 64 for the local part.
        if email.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let bad_char =
            |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c);
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.chars().any(bad_char) || !domain_ok {
            return Err(EmailError::Invalid);
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An address stored before today's normalisation that no longer fits it. Found by
/// `portcullis user check-emails`; an admin decides what to do, nothing is merged automatically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum StoredEmailProblem {
    /// The address would be refused today (invisible or control characters, malformed).
    Refused { user: String, email: String },
    /// Two or more users whose addresses are one address today.
    Collision {
        normalised: String,
        users: Vec<(String, String)>,
    },
    /// The only user with this address, stored in an older form: signing in still finds nobody
    /// until the row is rewritten to `normalised`.
    Unnormalised {
        user: String,
        email: String,
        normalised: String,
    },
}

/// Checks stored `(user id, email)` rows against today's normalisation.
pub fn check_stored(rows: impl IntoIterator<Item = (String, String)>) -> Vec<StoredEmailProblem> {
    let mut problems = Vec::new();
    let mut by_form: std::collections::BTreeMap<String, Vec<(String, String)>> =
        std::collections::BTreeMap::new();
    for (user, email) in rows {
        match Email::parse(&email) {
            Ok(parsed) => by_form.entry(parsed.0).or_default().push((user, email)),
            Err(_) => problems.push(StoredEmailProblem::Refused { user, email }),
        }
    }
    for (normalised, mut users) in by_form {
        if users.len() > 1 {
            users.sort();
            problems.push(StoredEmailProblem::Collision { normalised, users });
        } else if let Some((user, email)) = users.pop() {
            if email != normalised {
                problems.push(StoredEmailProblem::Unnormalised {
                    user,
                    email,
                    normalised,
                });
            }
        }
    }
    problems
}

impl std::fmt::Display for StoredEmailProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredEmailProblem::Refused { user, email } => {
                write!(f, "refused     {user}  {email:?} (would be refused today)")
            }
            StoredEmailProblem::Collision { normalised, users } => {
                write!(f, "collision   {normalised}:")?;
                for (user, email) in users {
                    write!(f, " {user} {email:?};")?;
                }
                Ok(())
            }
            StoredEmailProblem::Unnormalised {
                user,
                email,
                normalised,
            } => write!(f, "unnormalised {user}  {email:?} is {normalised} today"),
        }
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    /// The normalisation table: what people type, and the one address it is.
    #[test]
    fn lookalikes_fold_to_one_address_or_are_refused() {
        let table: &[(&str, Option<&str>)] = &[
            ("alice@example.com", Some("alice@example.com")),
            ("ALICE@Example.com", Some("alice@example.com")),
            ("\u{FF41}lice@example.com", Some("alice@example.com")),
            (
                "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",
                Some("alice@example.com"),
            ),
            ("\u{FB01}@example.com", Some("fi@example.com")),
            ("jose\u{301}@example.com", Some("jos\u{E9}@example.com")),
            ("alice\u{200B}@example.com", None),
            ("al\u{00AD}ice@example.com", None),
            ("alice\u{202E}@example.com", None),
            ("\u{FEFF}alice@example.com", None),
            ("alice@exa\u{200D}mple.com", None),
            ("al\u{E000}ice@example.com", None),
            ("ali\u{3000}ce@example.com", None),
        ];
        for (typed, expected) in table {
            assert_eq!(
                Email::parse(typed).ok().as_ref().map(Email::as_str),
                *expected,
                "{typed:?}"
            );
        }
    }

    #[test]
    fn stored_rows_that_no_longer_fit_are_reported() {
        let row = |id: &str, email: &str| (id.to_string(), email.to_string());
        let problems = check_stored([
            row("usr_1", "alice@example.com"),
            row("usr_2", "\u{FF41}lice@example.com"),
            row("usr_3", "bob\u{200B}@example.com"),
            row("usr_4", "carol@example.com"),
            row("usr_5", "D\u{FF41}ve@example.com"),
        ]);
        assert_eq!(
            problems,
            vec![
                StoredEmailProblem::Refused {
                    user: "usr_3".into(),
                    email: "bob\u{200B}@example.com".into()
                },
                StoredEmailProblem::Collision {
                    normalised: "alice@example.com".into(),
                    users: vec![
                        row("usr_1", "alice@example.com"),
                        row("usr_2", "\u{FF41}lice@example.com")
                    ],
                },
                StoredEmailProblem::Unnormalised {
                    user: "usr_5".into(),
                    email: "D\u{FF41}ve@example.com".into(),
                    normalised: "dave@example.com".into()
                },
            ]
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@ex..com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
    }
}
