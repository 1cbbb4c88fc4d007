//! A translatable message: what Rust code hands to templates instead of an English sentence.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use fluent_templates::fluent_bundle::FluentValue;
use serde::Serialize;

/// A catalogue key and its arguments. Templates show it with `{{ t(msg) }}`; it serialises as
/// `{"key": …, "args": {…}}`, which `t` recognises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Msg {
    key: &'static str,
    args: BTreeMap<&'static str, Arg>,
}

/// An argument: text is inserted as is (and HTML-escaped in HTML templates), numbers also
/// select plural forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Arg {
    Text(String),
    Number(i64),
}

impl Msg {
    pub fn new(key: &'static str) -> Msg {
        Msg {
            key,
            args: BTreeMap::new(),
        }
    }

    /// Adds an argument (`{ $name }` in the catalogue).
    pub fn with(mut self, name: &'static str, value: impl Into<Arg>) -> Msg {
        self.args.insert(name, value.into());
        self
    }

    pub fn key(&self) -> &'static str {
        self.key
    }

    pub(crate) fn fluent_args(&self) -> HashMap<Cow<'static, str>, FluentValue<'static>> {
        self.args
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Arg::Text(s) => FluentValue::from(s.clone()),
                    Arg::Number(n) => FluentValue::from(*n),
                };
                (Cow::Borrowed(*k), value)
            })
            .collect()
    }
}

impl From<&'static str> for Msg {
    fn from(key: &'static str) -> Msg {
        Msg::new(key)
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_string())
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Arg {
        Arg::Number(n)
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Arg {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
