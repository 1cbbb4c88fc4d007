//! `JsonList<T>`: a list stored as a JSON array in a TEXT column (`allowed_domains`,
//! `github_orgs`, a client's redirect URIs and grant types), read and written the same way on
//! every backend.
//!
//! A value that does not parse is a deserialization error, never an empty list: these lists
//! restrict who may sign in or where codes may go, so an unreadable one must stop the request
//! (fail closed) rather than lift the restriction.

use std::io::Write;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::MultiBackend;

#[derive(Debug, Clone, PartialEq, Eq, Default, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct JsonList<T>(pub Vec<T>);

impl<T> JsonList<T> {
    pub fn new(items: Vec<T>) -> Self {
        JsonList(items)
    }
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T> std::ops::Deref for JsonList<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> From<Vec<T>> for JsonList<T> {
    fn from(items: Vec<T>) -> Self {
        JsonList(items)
    }
}

impl<T: DeserializeOwned> JsonList<T> {
    /// Parses stored text; anything but a JSON array of `T` is an error.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str::<Vec<T>>(text)
            .map(JsonList)
            .map_err(|e| format!("not a JSON list of the expected items ({e})"))
    }
}

impl<T: Serialize> JsonList<T> {
    /// The stored text.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&self.0)
    }
}

impl<T: DeserializeOwned> FromSql<Text, Sqlite> for JsonList<T> {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
        Ok(JsonList::parse(&text)?)
    }
}

impl<T: DeserializeOwned> FromSql<Text, Pg> for JsonList<T> {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        Ok(JsonList::parse(&text)?)
    }
}

impl<T: DeserializeOwned> FromSql<Text, MultiBackend> for JsonList<T> {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Text>()
    }
}

impl<T: Serialize + std::fmt::Debug> ToSql<Text, Sqlite> for JsonList<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_json()?);
        Ok(IsNull::No)
    }
}

impl<T: Serialize + std::fmt::Debug> ToSql<Text, Pg> for JsonList<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.to_json()?.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl<T: Serialize + std::fmt::Debug + Send + Sync + 'static> ToSql<Text, MultiBackend>
    for JsonList<T>
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_list_round_trips() {
        let list = JsonList::new(vec!["example.com".to_string(), "b.org".into()]);
        let text = list.to_json().unwrap();
        assert_eq!(text, r#"["example.com","b.org"]"#);
        assert_eq!(JsonList::<String>::parse(&text).unwrap(), list);
        assert!(JsonList::<String>::parse("[]").unwrap().is_empty());
    }

    /// An unreadable restriction must not read as "no restriction".
    #[test]
    fn an_unreadable_value_is_an_error_not_an_empty_list() {
        for bad in ["", "example.com", "{\"a\":1}", "[1,2]", "[\"a\""] {
            assert!(JsonList::<String>::parse(bad).is_err(), "{bad:?}");
        }
    }
}
