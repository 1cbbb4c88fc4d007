//! Scopes: a set of space-separated tokens (RFC 6749 §3.3), kept in a stable order.

use std::collections::BTreeSet;

/// Scopes Portcullis knows; others are dropped from requests rather than refused, as most
/// providers do, so a client asking for an extra scope still works.
pub const SUPPORTED: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

/// The admin API's scope (issue 14). Only `client_credentials` grants it, and only to a client
/// marked `admin_api`; a person's admin rights come from their role, never from a scope.
pub const ADMIN: &str = "portcullis:admin";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// The known scopes among `raw`.
    pub fn parse_supported(raw: &str) -> Scope {
        Scope(
            raw.split(' ')
                .filter(|s| SUPPORTED.contains(s))
                .map(str::to_string)
                .collect(),
        )
    }

    /// Scopes as stored (already filtered).
    pub fn from_stored(raw: &str) -> Scope {
        Scope(
            raw.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.contains(s)
    }

    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn union(&self, other: &Scope) -> Scope {
        Scope(self.0.union(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The catalogue key of the sentence that tells a person what a scope lets an application do.
/// The consent page and the Connected apps page both use it, so they say the same thing.
pub fn description_key(scope: &str) -> &'static str {
    match scope {
        "openid" => "scope-openid",
        "profile" => "scope-profile",
        "email" => "scope-email",
        "groups" => "scope-groups",
        "offline_access" => "scope-offline-access",
        _ => "scope-other",
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scopes_are_dropped_and_order_is_stable() {
        let s = Scope::parse_supported("email openid  bogus profile");
        assert_eq!(s.to_string(), "email openid profile");
        assert!(Scope::parse_supported("openid").is_subset_of(&s));
    }
}
