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

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        id_type!($(#[$doc])* $name, $prefix, Hex);
    };
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $body:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(String);

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

            /// Wraps an ID read back from the database.
            pub fn from_db(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
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
    /// A client registered from the CLI without a chosen ID.
    GeneratedClientId, "cli_");
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
}
