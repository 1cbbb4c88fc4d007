//! Profile and settings: what the account pages edit, validated here.

use super::audit::{self, AuditKind};
use super::ids::UserId;
use super::time_zone::TimeZone;
use super::username::Username;
use super::{clean_name, now, FieldErrors};
use crate::db::models::{Profile, User, UserSettings};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::identity::management::FormError;

pub const THEMES: [&str; 3] = ["light", "dark", "system"];

/// Language settings we accept; the choice becomes the OIDC `locale` claim. Only those with a
/// catalogue (`crate::i18n::Locale`) are offered on the settings page; the others stay valid so
/// that values stored before translations existed can be kept.
pub const LANGUAGES: [(&str, &str); 10] = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("pt", "Português"),
    ("ja", "日本語"),
    ("zh", "中文"),
];

#[derive(Debug, Default, Clone)]
pub struct ProfileUpdate {
    pub name: String,
    pub picture: String,
    pub bio: String,
    pub website: String,
    pub timezone: String,
    /// Empty removes the username.
    pub username: String,
}

#[derive(Debug, Default, Clone)]
pub struct SettingsUpdate {
    pub theme: String,
    pub language: String,
    pub notifications: bool,
}

/// Everything the profile page shows.
#[derive(Debug, Clone)]
pub struct FullProfile {
    pub user: User,
    pub profile: Profile,
}

pub async fn load_profile(db: &Db, user_id: &UserId) -> Result<FullProfile, AppError> {
    let user_id = user_id.clone();
    db.run(move |conn| {
        let user = User::find(conn, &user_id)?.ok_or(AppError::NotFound)?;
        let profile =
            Profile::find(conn, &user_id)?.unwrap_or_else(|| Profile::empty(&user_id, now()));
        Ok(FullProfile { user, profile })
    })
    .await
}

/// The zone the person's pages show times in; `None` (UTC) when unset or no longer valid.
pub async fn load_time_zone(db: &Db, user_id: &UserId) -> Result<Option<TimeZone>, AppError> {
    let user_id = user_id.clone();
    db.run(move |conn| Ok(time_zone_of(conn, &user_id)?)).await
}

pub fn time_zone_of(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> diesel::QueryResult<Option<TimeZone>> {
    Ok(Profile::find(conn, user_id)?.and_then(|p| TimeZone::from_stored(p.timezone.as_deref())))
}

/// Whether the person wants security notices (new sign-ins, password and address changes).
/// On unless they turned it off.
pub fn wants_security_notices(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> diesel::QueryResult<bool> {
    Ok(UserSettings::find(conn, user_id)?.is_none_or(|s| s.notifications))
}

pub async fn load_settings(db: &Db, user_id: &UserId) -> Result<UserSettings, AppError> {
    let user_id = user_id.clone();
    db.run(move |conn| {
        Ok(UserSettings::find(conn, &user_id)?
            .unwrap_or_else(|| UserSettings::defaults(&user_id, now())))
    })
    .await
}

pub async fn update_profile(
    db: &Db,
    user_id: &UserId,
    update: ProfileUpdate,
) -> Result<(), FormError> {
    let mut errors = FieldErrors::default();
    let name = clean_name(&update.name, &mut errors);
    let picture = optional_url(&update.picture, "picture", &mut errors);
    let website = optional_url(&update.website, "website", &mut errors);
    let bio = Some(update.bio.trim().replace("\r\n", "\n")).filter(|b| !b.is_empty());
    if bio.as_ref().is_some_and(|b| b.chars().count() > 500) {
        errors.add("bio", Msg::new("error-too-long").with("max", 500_i64));
    }
    // Empty means "not set" (times show in UTC and no `zoneinfo` is sent).
    let timezone = match update.timezone.trim() {
        "" => None,
        name => match TimeZone::parse(name) {
            Some(zone) => Some(zone.name().to_string()),
            None => {
                errors.add("timezone", "error-timezone");
                None
            }
        },
    };
    let username = match Username::parse_optional(&update.username) {
        Ok(u) => u.map(Username::into_inner),
        Err(e) => {
            errors.add("username", e.message_key());
            None
        }
    };
    errors.into_result().map_err(FormError::Invalid)?;

    let user_id = user_id.clone();
    let saved = db
        .run(move |conn| {
            let now = now();
            let result =
                crate::db::write_transaction::<_, diesel::result::Error, _>(conn, |conn| {
                    if let Some(name) = &username {
                        // The index below is what guarantees it; asking first gives the person the
                        // same answer without a failed write in the common case.
                        if Profile::owner_of_username(conn, name)?
                            .is_some_and(|owner| owner != user_id)
                        {
                            return Ok(false);
                        }
                    }
                    User::update_name_and_image(conn, &user_id, &name, picture.as_deref(), now)?;
                    let profile = Profile {
                        user_id: user_id.clone(),
                        bio,
                        website,
                        timezone,
                        updated_at: now,
                        username,
                    };
                    if Profile::update(conn, &profile)? == 0 {
                        Profile::insert(conn, &profile)?;
                    }
                    audit::record(
                        conn,
                        AuditKind::ProfileUpdated,
                        Some(&user_id),
                        None,
                        None,
                        now,
                    )?;
                    Ok(true)
                });
            match result {
                // Someone took it between our check and our write.
                Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
                other => Ok(other?),
            }
        })
        .await?;
    if !saved {
        let mut errors = FieldErrors::default();
        errors.add("username", "error-username-taken");
        return Err(FormError::Invalid(errors));
    }
    Ok(())
}

pub async fn update_settings(
    db: &Db,
    user_id: &UserId,
    update: SettingsUpdate,
) -> Result<(), FormError> {
    let mut errors = FieldErrors::default();
    if !THEMES.contains(&update.theme.as_str()) {
        errors.add("theme", "error-theme");
    }
    if !LANGUAGES.iter().any(|(code, _)| *code == update.language) {
        errors.add("language", "error-language");
    }
    errors.into_result().map_err(FormError::Invalid)?;
    let settings = UserSettings {
        user_id: user_id.clone(),
        theme: update.theme,
        language: update.language,
        notifications: update.notifications,
        updated_at: now(),
    };
    db.run(move |conn| {
        Ok(crate::db::write_transaction::<_, diesel::result::Error, _>(
            conn,
            |conn| {
                if UserSettings::update(conn, &settings)? == 0 {
                    UserSettings::insert(conn, &settings)?;
                }
                Ok(())
            },
        )?)
    })
    .await?;
    Ok(())
}

/// A new account starts in the language it was created in: the settings row sign-up inserts
/// would otherwise say English (the column's default) and, as the user's own setting, outrank
/// the browser's languages from then on.
pub fn adopt_language(
    conn: &mut crate::db::DbConnection,
    user_id: &UserId,
    locale: Locale,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<()> {
    let settings = UserSettings {
        language: locale.code().to_string(),
        ..UserSettings::find(conn, user_id)?.unwrap_or_else(|| UserSettings::defaults(user_id, now))
    };
    if UserSettings::update(conn, &settings)? == 0 {
        UserSettings::insert(conn, &settings)?;
    }
    Ok(())
}

/// An optional http(s) URL of at most 2048 characters.
fn optional_url(raw: &str, field: &'static str, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match url::Url::parse(raw) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && raw.len() <= 2048 =>
        {
            Some(u.to_string())
        }
        _ => {
            errors.add(field, "error-url");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_web_addresses() {
        let mut e = FieldErrors::default();
        assert_eq!(
            optional_url("https://ada.dev", "website", &mut e).as_deref(),
            Some("https://ada.dev/")
        );
        assert!(optional_url("javascript:alert(1)", "website", &mut e).is_none());
        assert!(e.get("website").is_some());
    }
}
