//! Who people are and how they prove it: users, credential accounts, passwords, sessions.
//! Framework-free: nothing here knows about actix.

pub mod access;
pub mod audit;
pub mod consents;
pub mod credentials;
pub mod devices;
pub mod email;
pub mod email_change;
pub mod email_flows;
pub mod federation;
pub mod groups;
pub mod ids;
pub mod linking;
pub mod mail_quota;
pub mod management;
pub mod merge;
pub mod notices;
pub mod passkeys;
pub mod password;
pub mod password_reset;
pub mod passwordless;
pub mod pending_link;
pub mod precis;
pub mod profile;
pub mod rate_limit;
pub mod second_factor;
pub mod sessions;
pub mod sign_in_methods;
pub mod throttle;
pub mod time_zone;
pub mod totp;
pub mod user_status;
pub mod username;
pub mod verification;

use chrono::{NaiveDateTime, Utc};

use crate::i18n::Msg;

/// Now, in UTC, with the precision both backends store (microseconds).
pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond_truncated()
}

trait TruncateNanos {
    fn with_nanosecond_truncated(self) -> Self;
}

impl TruncateNanos for NaiveDateTime {
    fn with_nanosecond_truncated(self) -> Self {
        use chrono::Timelike;
        let micros = self.nanosecond() / 1_000 * 1_000;
        self.with_nanosecond(micros).unwrap_or(self)
    }
}

/// Messages for a form, keyed by field name, shown next to the fields. They are catalogue
/// messages (`crate::i18n::Msg`), translated when the page is rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct FieldErrors(std::collections::BTreeMap<&'static str, Msg>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<Msg>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&Msg> {
        self.0.get(field)
    }
    /// `Ok(())` when no field has a message.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Checks a display name: PRECIS-folded (NFKC, one plain space between words), required, at
/// most 100 characters, no control or invisible formatting characters.
pub fn clean_name(raw: &str, errors: &mut FieldErrors) -> String {
    let folded = precis::fold_name(raw);
    let name = folded.as_str();
    if name.is_empty() {
        errors.add("name", "error-name-missing");
    } else if name.chars().count() > 100 {
        errors.add("name", Msg::new("error-too-long").with("max", 100_i64));
    } else if name.chars().any(precis::refused_in_name) {
        errors.add("name", "error-name-control");
    }
    name.to_string()
}
