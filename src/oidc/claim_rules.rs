//! A client's own claims (issue 14): extra claims computed from the user, declared per client
//! in the config file (`[[clients.claims]]`) or with `client create --claim/--claims-file`.
//!
//! A rule names the claim, where its value comes from, and where it goes:
//! ```toml
//! [[clients.claims]]
//! name = "roles"              # the claim's name
//! from = "groups"             # see `ClaimSource`
//! groups_prefix = "app1:"     # from = "groups" only: those groups, the prefix stripped
//! scope = "profile"           # optional: a scope that must also have been granted
//! in = ["id_token", "userinfo"]   # default: both
//! ```
//! A claim is released only when the scope its source belongs to was granted (`groups` for
//! groups, `email` for the address and its domain, `profile` for the rest) — what the consent
//! page described — and, when `scope` is set, that scope as well. A source without a value for
//! the user (no website, say) leaves the claim out. Names that registered or standard claims
//! use are refused, so a rule can never override `sub`, `email` or `groups`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::scope::{self, Scope};
use crate::db::models::{Profile, User, UserSettings};
use crate::identity::time_zone::TimeZone;

/// Where a claim's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimSource {
    /// The names of the user's groups, sorted (a JSON array).
    #[serde(rename = "groups")]
    Groups,
    #[serde(rename = "email")]
    Email,
    /// The part of the address after the `@`.
    #[serde(rename = "email_domain")]
    EmailDomain,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "picture")]
    Picture,
    #[serde(rename = "profile.username")]
    ProfileUsername,
    #[serde(rename = "profile.website")]
    ProfileWebsite,
    #[serde(rename = "profile.timezone")]
    ProfileTimezone,
    #[serde(rename = "settings.language")]
    SettingsLanguage,
}

impl ClaimSource {
    pub const ALL: [ClaimSource; 9] = [
        ClaimSource::Groups,
        ClaimSource::Email,
        ClaimSource::EmailDomain,
        ClaimSource::Name,
        ClaimSource::Picture,
        ClaimSource::ProfileUsername,
        ClaimSource::ProfileWebsite,
        ClaimSource::ProfileTimezone,
        ClaimSource::SettingsLanguage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimSource::Groups => "groups",
            ClaimSource::Email => "email",
            ClaimSource::EmailDomain => "email_domain",
            ClaimSource::Name => "name",
            ClaimSource::Picture => "picture",
            ClaimSource::ProfileUsername => "profile.username",
            ClaimSource::ProfileWebsite => "profile.website",
            ClaimSource::ProfileTimezone => "profile.timezone",
            ClaimSource::SettingsLanguage => "settings.language",
        }
    }

    pub fn parse(s: &str) -> Option<ClaimSource> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The scope whose consent covers this data.
    pub fn scope(self) -> &'static str {
        match self {
            ClaimSource::Groups => "groups",
            ClaimSource::Email | ClaimSource::EmailDomain => "email",
            _ => "profile",
        }
    }
}

/// Where a claim goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimTarget {
    IdToken,
    Userinfo,
}

fn both() -> Vec<ClaimTarget> {
    vec![ClaimTarget::IdToken, ClaimTarget::Userinfo]
}

/// One extra claim of a client. Stored as JSON on the client row (`claim_rules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    pub name: String,
    pub from: ClaimSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(rename = "in", default = "both")]
    pub targets: Vec<ClaimTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_prefix: Option<String>,
}

/// Claim names a rule may not take: JWT's registered claims (RFC 7519 §4.1), the ID token's
/// (OIDC Core §2) and the standard claims (§5.1), the access token's (RFC 9068) and ours.
/// Compared without case, so no rule makes a look-alike of one either.
const RESERVED: [&str; 45] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti", // RFC 7519
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "s_hash",
    "sid", // ID token
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at", // OIDC Core §5.1
    "client_id",
    "scope",
    "cnf",
    "act",
    "may_act",
    "typ",
    "events", // access and logout tokens
    "_claim_names",
    "_claim_sources", // aggregated claims (§5.6.2)
    "groups",         // ours, with the `groups` scope
];

impl ClaimRule {
    /// A rule from the command line's `--claim NAME=SOURCE` (defaults for the rest).
    pub fn parse_short(arg: &str) -> Result<ClaimRule, String> {
        let (name, from) = arg
            .split_once('=')
            .ok_or_else(|| format!("--claim {arg}: write NAME=SOURCE"))?;
        let from = ClaimSource::parse(from.trim())
            .ok_or_else(|| format!("claim {name}: unknown source {from:?} ({})", sources()))?;
        Ok(ClaimRule {
            name: name.trim().to_string(),
            from,
            scope: None,
            targets: both(),
            groups_prefix: None,
        })
    }

    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        let bad = |why: &str| Err(format!("claim {name:?}: {why}"));
        if name.is_empty() || name.len() > 64 {
            return bad("a name of 1 to 64 characters is needed");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            return bad("use visible ASCII characters only (no spaces, quotes or backslashes)");
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return bad("this name belongs to a registered or standard claim");
        }
        if let Some(s) = &self.scope {
            if !scope::SUPPORTED.contains(&s.as_str()) {
                return bad(&format!(
                    "scope {s:?} is not one of {}",
                    scope::SUPPORTED.join(", ")
                ));
            }
        }
        if self.targets.is_empty() {
            return bad("`in` needs id_token, userinfo or both");
        }
        match (&self.groups_prefix, self.from) {
            (Some(_), from) if from != ClaimSource::Groups => {
                bad("groups_prefix goes with from = \"groups\" only")
            }
            (Some(p), _) if p.is_empty() || p.chars().count() > 64 => {
                bad("groups_prefix: 1 to 64 characters")
            }
            _ => Ok(()),
        }
    }

    /// Whether this rule's claim goes into `target` for a grant of `scope`.
    fn applies(&self, target: ClaimTarget, scope: &Scope) -> bool {
        self.targets.contains(&target)
            && scope.contains(self.from.scope())
            && self.scope.as_deref().is_none_or(|s| scope.contains(s))
    }

    fn value(&self, subject: &ClaimSubject<'_>) -> Option<Value> {
        let text = |s: &str| Some(Value::String(s.to_string()));
        match self.from {
            ClaimSource::Groups => {
                let prefix = self.groups_prefix.as_deref().unwrap_or("");
                let names: Vec<Value> = subject
                    .groups
                    .iter()
                    .filter_map(|g| g.strip_prefix(prefix))
                    .filter(|g| !g.is_empty())
                    .map(|g| Value::String(g.to_string()))
                    .collect();
                Some(Value::Array(names))
            }
            ClaimSource::Email => text(&subject.user.email),
            ClaimSource::EmailDomain => subject
                .user
                .email
                .rsplit_once('@')
                .and_then(|(_, d)| text(d)),
            ClaimSource::Name => text(&subject.user.name),
            ClaimSource::Picture => subject.user.image.as_deref().and_then(text),
            ClaimSource::ProfileUsername => subject
                .profile
                .and_then(|p| p.username.as_deref())
                .and_then(text),
            ClaimSource::ProfileWebsite => subject
                .profile
                .and_then(|p| p.website.as_deref())
                .and_then(text),
            ClaimSource::ProfileTimezone => {
                TimeZone::from_stored(subject.profile.and_then(|p| p.timezone.as_deref()))
                    .and_then(|z| text(z.name()))
            }
            ClaimSource::SettingsLanguage => subject.settings.and_then(|s| text(&s.language)),
        }
    }
}

fn sources() -> String {
    let all: Vec<&str> = ClaimSource::ALL.iter().map(|s| s.as_str()).collect();
    format!("use one of {}", all.join(", "))
}

/// Checks a client's rules: each on its own, and no two with one name.
pub fn check_all(rules: &[ClaimRule]) -> Result<(), String> {
    for (i, rule) in rules.iter().enumerate() {
        rule.check()?;
        if rules[..i].iter().any(|r| r.name == rule.name) {
            return Err(format!("claim {:?}: declared twice", rule.name));
        }
    }
    Ok(())
}

/// Rules from a `--claims-file`: a JSON array of rules, written like the config file's.
pub fn parse_file(text: &str) -> Result<Vec<ClaimRule>, String> {
    serde_json::from_str(text).map_err(|e| format!("claims file: {e}"))
}

/// What claims are computed from.
#[derive(Debug, Clone, Copy)]
pub struct ClaimSubject<'a> {
    pub user: &'a User,
    pub profile: Option<&'a Profile>,
    pub settings: Option<&'a UserSettings>,
    /// The names of the user's groups, sorted.
    pub groups: &'a [String],
}

/// Whether any rule could add a claim to `target` for this scope (and the user's data must be
/// loaded for it).
pub fn any_apply(rules: &[ClaimRule], target: ClaimTarget, scope: &Scope) -> bool {
    rules.iter().any(|r| r.applies(target, scope))
}

/// Adds the claims of the rules that apply to `claims`.
pub fn add_claims(
    claims: &mut Map<String, Value>,
    rules: &[ClaimRule],
    target: ClaimTarget,
    scope: &Scope,
    subject: &ClaimSubject<'_>,
) {
    for rule in rules.iter().filter(|r| r.applies(target, scope)) {
        if let Some(value) = rule.value(subject) {
            claims.insert(rule.name.clone(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::ids::UserId;
    use chrono::NaiveDateTime;

    fn rule(name: &str, from: ClaimSource) -> ClaimRule {
        ClaimRule {
            name: name.into(),
            from,
            scope: None,
            targets: both(),
            groups_prefix: None,
        }
    }

    fn user(now: NaiveDateTime) -> User {
        User {
            id: UserId::from_db("usr_1".into()),
            email: "ada@example.com".into(),
            email_verified: true,
            name: "Ada".into(),
            image: None,
            is_admin: false,
            created_at: now,
            updated_at: now,
            disabled_at: None,
            disabled_reason: None,
        }
    }

    #[test]
    fn rules_are_read_like_the_config_file_writes_them() {
        let rules = parse_file(
            r#"[{"name": "roles", "from": "groups", "groups_prefix": "app1:", "in": ["id_token"]},
                {"name": "department", "from": "profile.website", "scope": "profile"}]"#,
        )
        .unwrap();
        assert_eq!(rules[0].targets, vec![ClaimTarget::IdToken]);
        assert_eq!(rules[1].targets, both());
        assert!(check_all(&rules).is_ok());
        assert!(parse_file(r#"[{"name": "x", "from": "password"}]"#).is_err());
        assert!(parse_file(r#"[{"name": "x", "from": "name", "colour": "red"}]"#).is_err());
        assert_eq!(
            ClaimRule::parse_short("dept=email_domain").unwrap(),
            rule("dept", ClaimSource::EmailDomain)
        );
        assert!(ClaimRule::parse_short("dept=password").is_err());
        assert!(ClaimRule::parse_short("dept").is_err());
    }

    #[test]
    fn registered_and_standard_names_and_bad_rules_are_refused() {
        for name in [
            "sub",
            "ISS",
            "email",
            "groups",
            "nonce",
            "preferred_username",
            "at_hash",
        ] {
            assert!(
                check_all(&[rule(name, ClaimSource::Name)]).is_err(),
                "{name}"
            );
        }
        for name in ["", "two words", "quo\"te", "ü", &"x".repeat(65)] {
            assert!(
                check_all(&[rule(name, ClaimSource::Name)]).is_err(),
                "{name:?}"
            );
        }
        assert!(check_all(&[rule("https://app.example/roles", ClaimSource::Groups)]).is_ok());
        let twice = [rule("a", ClaimSource::Name), rule("a", ClaimSource::Email)];
        assert!(check_all(&twice).is_err());
        let prefix_on_name = ClaimRule {
            groups_prefix: Some("x:".into()),
            ..rule("a", ClaimSource::Name)
        };
        assert!(check_all(&[prefix_on_name]).is_err());
        let unknown_scope = ClaimRule {
            scope: Some("admin".into()),
            ..rule("a", ClaimSource::Name)
        };
        assert!(check_all(&[unknown_scope]).is_err());
        let nowhere = ClaimRule {
            targets: vec![],
            ..rule("a", ClaimSource::Name)
        };
        assert!(check_all(&[nowhere]).is_err());
    }

    #[test]
    fn claims_need_their_sources_scope_and_the_rules_own() {
        let now = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let user = user(now);
        let groups = vec!["app1:admins".to_string(), "app1:".into(), "staff".into()];
        let subject = ClaimSubject {
            user: &user,
            profile: None,
            settings: None,
            groups: &groups,
        };
        let rules = vec![
            ClaimRule {
                groups_prefix: Some("app1:".into()),
                targets: vec![ClaimTarget::IdToken],
                ..rule("roles", ClaimSource::Groups)
            },
            rule("domain", ClaimSource::EmailDomain),
            ClaimRule {
                scope: Some("offline_access".into()),
                ..rule("display", ClaimSource::Name)
            },
            rule("site", ClaimSource::ProfileWebsite),
        ];
        let claims = |scope: &str, target| {
            let mut m = Map::new();
            add_claims(&mut m, &rules, target, &Scope::from_stored(scope), &subject);
            Value::Object(m)
        };
        let all = claims(
            "openid groups email profile offline_access",
            ClaimTarget::IdToken,
        );
        assert_eq!(all["roles"], serde_json::json!(["admins"]));
        assert_eq!(all["domain"], "example.com");
        assert_eq!(all["display"], "Ada");
        // No website: no claim, rather than an empty one.
        assert!(all.get("site").is_none());
        let userinfo = claims(
            "openid groups email profile offline_access",
            ClaimTarget::Userinfo,
        );
        assert!(userinfo.get("roles").is_none());
        let narrow = claims("openid profile", ClaimTarget::IdToken);
        assert_eq!(narrow, serde_json::json!({}));
    }
}
