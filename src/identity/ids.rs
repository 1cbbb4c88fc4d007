//! Identifiers: generated in Rust, stored as text, prefixed so a stray ID says what it is.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use rand::RngCore;

use crate::db::MultiBackend;

/// The random part of most IDs: 16 bytes as 32 lowercase hex digits.
struct Hex;

impl Hex {
    fn generate() -> String {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    fn is_valid(rest: &str) -> bool {
        rest.len() == 32
            && rest
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    }
}

/// The random part of the outbox IDs, as they have always been written: 16 bytes, base64url
/// without padding (22 characters).
struct Token;

impl Token {
    fn generate() -> String {
        crate::crypto::random_token(16)
    }

    fn is_valid(rest: &str) -> bool {
        rest.len() == 22
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

/// What every text-stored identifier shares: the SQL mapping, printing and comparisons. How a
/// value is made and checked differs (generated IDs vs. admin-chosen client IDs), so it is not here.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(String);

        impl $name {
            /// Wraps an ID read back from the database.
            pub fn from_db(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        // Stored as the same text the ID prints as, so columns and queries take the ID itself.
        impl ToSql<Text, Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <str as ToSql<Text, Sqlite>>::to_sql(self.0.as_str(), out)
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.0.as_str(), out)
            }
        }

        impl ToSql<Text, MultiBackend> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Sqlite> for $name {
            fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                <String as FromSql<Text, Sqlite>>::from_sql(bytes).map(Self)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                <String as FromSql<Text, Pg>>::from_sql(bytes).map(Self)
            }
        }

        impl FromSql<Text, MultiBackend> for $name {
            fn from_sql(
                bytes: <MultiBackend as Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                bytes.from_sql::<Self, Text>()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        id_type!($(#[$doc])* $name, $prefix, Hex);
    };
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $body:ident) => {
        text_id!($(#[$doc])* $name);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, $body::generate()))
            }

            /// Accepts only well-formed IDs of this kind (input from URLs and the CLI).
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                $body::is_valid(rest).then(|| Self(s.to_string()))
            }
        }

        // Models store IDs as text: `#[diesel(serialize_as = String, deserialize_as = String)]`
        // on a field of this type goes through these two conversions.
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self::from_db(s)
            }
        }

        /// Deserializing (claims of our own tokens, JSON input) accepts well-formed IDs only.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s)
                    .ok_or_else(|| serde::de::Error::custom(concat!("not a ", $prefix, " ID")))
            }
        }
    };
}

id_type!(
    /// A person (`user` row).
    UserId, "usr_");
id_type!(
    /// One way of signing in (`account` row).
    AccountId, "acc_");
id_type!(
    /// A browser session at the identity server (not its secret token).
    SessionId, "ses_");
id_type!(
    /// A single-use verification token row.
    VerificationId, "ver_");
id_type!(
    /// An audit trail entry.
    AuditEventId, "aud_");
id_type!(
    /// One authorization of a client by a user (`oauth_grant` row); tokens hang off it.
    GrantId, "grt_");
id_type!(
    /// A refresh token row (not the token itself, which is only stored hashed).
    RefreshTokenId, "rtk_");
id_type!(
    /// A group of users (`user_group` row), named in the `groups` claim.
    GroupId, "grp_");
text_id!(
    /// A relying application's `client_id`. Admins choose it (config file, CLI) or the CLI
    /// generates one (`cli_` + 32 hex digits); either way it passes [`ClientId::parse`].
    ClientId);

/// Why a string cannot be a client ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientIdError {
    #[error("a client ID must not be empty")]
    Empty,
    #[error("a client ID must be at most {} bytes", ClientId::MAX_LEN)]
    TooLong,
    #[error("a client ID may contain only visible ASCII characters (no spaces or controls)")]
    Character,
}

impl ClientId {
    pub const MAX_LEN: usize = 255;
    const GENERATED_PREFIX: &'static str = "cli_";

    /// An ID for a client registered without a chosen one.
    pub fn generate() -> Self {
        Self(format!("{}{}", Self::GENERATED_PREFIX, Hex::generate()))
    }

    /// RFC 6749 allows any VSCHAR (%x20-7E); the space is refused too, because a client ID
    /// travels in HTTP Basic credentials, form bodies and log lines where it would be ambiguous.
    /// The length bound keeps hostile `client_id` parameters from reaching the database.
    pub fn parse(s: &str) -> Result<Self, ClientIdError> {
        if s.is_empty() {
            return Err(ClientIdError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(ClientIdError::TooLong);
        }
        if !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(ClientIdError::Character);
        }
        Ok(Self(s.to_string()))
    }
}

impl std::str::FromStr for ClientId {
    type Err = ClientIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Literals in unit tests; a bad one fails the test that wrote it.
#[cfg(test)]
impl From<&str> for ClientId {
    fn from(s: &str) -> Self {
        Self::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
}

/// Config files and JSON input go through the same check as every other edge.
impl<'de> serde::Deserialize<'de> for ClientId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
id_type!(
    /// A registered passkey (`passkey` row).
    PasskeyId, "pky_");
id_type!(
    /// A queued email (`mail_outbox` row).
    MailId, "mail_", Token);
id_type!(
    /// A queued back-channel logout delivery (`backchannel_outbox` row).
    BackchannelLogoutId, "bcl_", Token);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_foreign_ones_do_not() {
        let id = UserId::generate();
        assert!(id.as_str().starts_with("usr_"));
        assert_eq!(UserId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(SessionId::parse(id.as_str()), None);
        assert_eq!(UserId::parse("usr_../../etc"), None);
    }

    #[test]
    fn outbox_ids_keep_their_base64url_form() {
        let id = MailId::generate();
        assert!(id.as_str().starts_with("mail_") && id.as_str().len() == 27);
        assert_eq!(MailId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(BackchannelLogoutId::parse(id.as_str()), None);
        let bcl = BackchannelLogoutId::generate();
        assert_eq!(BackchannelLogoutId::parse(bcl.as_str()), Some(bcl));
        assert_eq!(MailId::parse("mail_short"), None);
    }

    #[test]
    fn client_ids_are_visible_ascii_of_bounded_length() {
        assert!(ClientId::generate().as_str().starts_with("cli_"));
        for ok in [
            "web",
            "my-app.example.com",
            "https://app.example/client.json",
            "a:b~c",
        ] {
            assert_eq!(
                ClientId::parse(ok).map(|c| c.to_string()),
                Ok(ok.to_string())
            );
        }
        assert_eq!(ClientId::parse(""), Err(ClientIdError::Empty));
        assert_eq!(
            ClientId::parse(&"x".repeat(256)),
            Err(ClientIdError::TooLong)
        );
        assert!(ClientId::parse(&"x".repeat(255)).is_ok());
        for bad in [
            "my app",
            "tab\there",
            "nul\0",
            "caf\u{e9}",
            "zero\u{200b}width",
            "new\nline",
        ] {
            assert_eq!(
                ClientId::parse(bad),
                Err(ClientIdError::Character),
                "{bad:?}"
            );
        }
    }
}
