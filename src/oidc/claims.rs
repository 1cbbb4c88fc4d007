//! What goes into tokens and UserInfo.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::scope::Scope;
use crate::db::models::{Profile, User, UserSettings};
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
/// can reach; `nonce` appears only when the request carried one.
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
}

pub fn unix(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

/// UserInfo claims for the granted scopes (OIDC Core §5.4).
pub fn userinfo(
    user: &User,
    profile: Option<&Profile>,
    settings: Option<&UserSettings>,
    scope: &Scope,
) -> Value {
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(user.id.to_string()));
    if scope.contains("profile") {
        claims.insert("name".into(), Value::String(user.name.clone()));
        if let Some(picture) = &user.image {
            claims.insert("picture".into(), Value::String(picture.clone()));
        }
        if let Some(p) = profile {
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
    Value::Object(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(
            userinfo(&user(now), Some(&profile), None, &scope)["zoneinfo"],
            "Europe/Berlin"
        );
        profile.timezone = Some("Mars/Olympus".into());
        assert!(userinfo(&user(now), Some(&profile), None, &scope)
            .get("zoneinfo")
            .is_none());
    }
}
