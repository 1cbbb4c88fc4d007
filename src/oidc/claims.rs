//! What goes into tokens and UserInfo.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::claim_rules::{self, ClaimRule, ClaimSubject, ClaimTarget};
use super::scope::Scope;
use crate::db::models::User;
use crate::db::DbConnection;
use crate::identity::groups;
use crate::identity::ids::{ClientId, GrantId};
use crate::identity::time_zone::TimeZone;

/// RFC 9068 access token. `gid` ties it to its grant, so revoking the grant revokes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: ClientId,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<GrantId>,
}

/// OIDC Core §2 ID token. Profile and email claims are left to UserInfo, which every flow here
/// can reach; `nonce` appears only when the request carried one. `groups` (with that scope) and
/// the client's own claims (`claim_rules`) are in `extra`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub azp: String,
    #[serde(default)]
    pub amr: Vec<String>,
    /// `urn:portcullis:acr:sfa` or `urn:portcullis:acr:mfa` (`sessions::amr_and_acr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub fn unix(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

/// The `groups` claim (with the `groups` scope): the names of the user's groups, sorted.
fn add_groups(claims: &mut Map<String, Value>, scope: &Scope, groups: &[String]) {
    if scope.contains("groups") {
        let names = groups.iter().cloned().map(Value::String).collect();
        claims.insert("groups".into(), Value::Array(names));
    }
}

/// The ID token's claims beyond the protocol's: `groups` and the client's own. Reads the
/// database only when the scope or a rule asks for something.
pub fn id_token_extra(
    conn: &mut DbConnection,
    rules: &[ClaimRule],
    grant: &crate::db::models::Grant,
    scope: &Scope,
) -> diesel::QueryResult<Map<String, Value>> {
    let mut claims = Map::new();
    let with_rules = claim_rules::any_apply(rules, ClaimTarget::IdToken, scope);
    if !scope.contains("groups") && !with_rules {
        return Ok(claims);
    }
    let groups = groups::names_of_user(conn, &grant.user_id)?;
    add_groups(&mut claims, scope, &groups);
    if with_rules {
        if let Some((user, profile, settings)) =
            User::find_with_live_grant(conn, &grant.user_id, &grant.id)?
        {
            let subject = ClaimSubject {
                user: &user,
                profile: profile.as_ref(),
                settings: settings.as_ref(),
                groups: &groups,
            };
            claim_rules::add_claims(&mut claims, rules, ClaimTarget::IdToken, scope, &subject);
        }
    }
    Ok(claims)
}

/// UserInfo claims for the granted scopes (OIDC Core §5.4), `groups` and the client's own.
pub fn userinfo(subject: &ClaimSubject<'_>, scope: &Scope, rules: &[ClaimRule]) -> Value {
    let ClaimSubject {
        user,
        profile,
        settings,
        groups,
    } = *subject;
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(user.id.to_string()));
    if scope.contains("profile") {
        claims.insert("name".into(), Value::String(user.name.clone()));
        if let Some(picture) = &user.image {
            claims.insert("picture".into(), Value::String(picture.clone()));
        }
        if let Some(p) = profile {
            if let Some(u) = &p.username {
                claims.insert("preferred_username".into(), Value::String(u.clone()));
            }
            if let Some(w) = &p.website {
                claims.insert("website".into(), Value::String(w.clone()));
            }
            // A value saved before zones were checked may not be a zone: then there is none.
            if let Some(zone) = TimeZone::from_stored(p.timezone.as_deref()) {
                claims.insert("zoneinfo".into(), Value::String(zone.name().to_string()));
            }
        }
        if let Some(s) = settings {
            // The user's preference as stored, even a language our pages are not translated
            // into: the client may well have it.
            claims.insert("locale".into(), Value::String(s.language.clone()));
        }
        let updated = profile.map_or(user.updated_at, |p| p.updated_at.max(user.updated_at));
        claims.insert("updated_at".into(), Value::from(unix(updated)));
    }
    if scope.contains("email") {
        claims.insert("email".into(), Value::String(user.email.clone()));
        claims.insert("email_verified".into(), Value::Bool(user.email_verified));
    }
    add_groups(&mut claims, scope, groups);
    claim_rules::add_claims(&mut claims, rules, ClaimTarget::Userinfo, scope, subject);
    Value::Object(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::Profile;
    use crate::identity::ids::UserId;

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
    fn zoneinfo_is_sent_only_for_a_real_zone() {
        let now = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let scope = Scope::from_stored("openid profile");
        let mut profile = Profile::empty(&UserId::from_db("usr_1".into()), now);
        profile.timezone = Some("Europe/Berlin".into());
        let user = user(now);
        fn subject<'a>(user: &'a User, profile: &'a Profile) -> ClaimSubject<'a> {
            ClaimSubject {
                user,
                profile: Some(profile),
                settings: None,
                groups: &[],
            }
        }
        assert_eq!(
            userinfo(&subject(&user, &profile), &scope, &[])["zoneinfo"],
            "Europe/Berlin"
        );
        profile.timezone = Some("Mars/Olympus".into());
        assert!(userinfo(&subject(&user, &profile), &scope, &[])
            .get("zoneinfo")
            .is_none());
    }

    #[test]
    fn preferred_username_goes_with_the_profile_scope_only_when_set() {
        let now = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let user = user(now);
        let mut profile = Profile::empty(&UserId::from_db("usr_1".into()), now);
        fn subject<'a>(user: &'a User, profile: &'a Profile) -> ClaimSubject<'a> {
            ClaimSubject {
                user,
                profile: Some(profile),
                settings: None,
                groups: &[],
            }
        }
        let profile_scope = Scope::from_stored("openid profile");
        assert!(userinfo(&subject(&user, &profile), &profile_scope, &[])
            .get("preferred_username")
            .is_none());
        profile.username = Some("ada".into());
        assert_eq!(
            userinfo(&subject(&user, &profile), &profile_scope, &[])["preferred_username"],
            "ada"
        );
        assert!(userinfo(
            &subject(&user, &profile),
            &Scope::from_stored("openid email"),
            &[]
        )
        .get("preferred_username")
        .is_none());
    }

    #[test]
    fn groups_are_sent_only_with_their_scope() {
        let now = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let user = user(now);
        let groups = vec!["Admins".to_string(), "staff".into()];
        let subject = ClaimSubject {
            user: &user,
            profile: None,
            settings: None,
            groups: &groups,
        };
        let with = userinfo(&subject, &Scope::from_stored("openid groups"), &[]);
        assert_eq!(with["groups"], serde_json::json!(["Admins", "staff"]));
        let without = userinfo(&subject, &Scope::from_stored("openid profile"), &[]);
        assert!(without.get("groups").is_none());
    }
}
