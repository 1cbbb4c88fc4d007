//! Browser sessions (Lucia-style): an opaque 256-bit token in the cookie, only its SHA-256 in the
//! database, an absolute expiry, and an idle expiry that slides with use. The "last seen" time is
//! written at most once per `touch_interval`, so a busy session does not cost a write per request.

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

use super::audit::{self, AuditKind};
use super::devices::{self, DeviceToken, Sighting};
use super::email_flows::Links;
use super::ids::SessionId;
use super::notices;
use crate::config::SessionSettings;
use crate::crypto::{random_token, sha256_hex};
use crate::db::models::{Session, User, Verification};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Msg;

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub absolute: Duration,
    pub idle: Duration,
    pub touch_interval: Duration,
}

impl From<&SessionSettings> for SessionPolicy {
    fn from(s: &SessionSettings) -> Self {
        SessionPolicy {
            absolute: Duration::seconds(s.absolute_timeout_secs),
            idle: Duration::seconds(s.idle_timeout_secs),
            touch_interval: Duration::seconds(s.touch_interval_secs.max(0)),
        }
    }
}

/// How the person proved who they are; becomes the `amr` of ID tokens later (split at `:`, so
/// `fed:google` is `["fed", "google"]` and `email:link` is `["email", "link"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    /// Signed in at an upstream provider; stored as `fed:{slug}`.
    Federated,
    /// A magic link sent by email.
    MagicLink,
    /// A one-time code sent by email.
    EmailCode,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "pwd",
            AuthMethod::Federated => "fed",
            AuthMethod::MagicLink => "email:link",
            AuthMethod::EmailCode => "email:code",
        }
    }
}

/// How a stored sign-in method reads in the sessions list and in notices.
/// How a session was opened, as a catalogue message; `Err(slug)` for an upstream provider,
/// whose own name is not translated.
pub fn method_name(code: &str) -> Result<Msg, String> {
    let key = match code {
        "pwd" => "sessions-method-password",
        "email:link" => "sessions-method-email-link",
        "email:code" => "sessions-method-email-code",
        // Sessions opened before links and codes were told apart.
        "email" => "sessions-method-email",
        _ => match code.split_once(':') {
            Some(("fed", slug)) => return Err(slug.to_string()),
            _ => "sessions-method-other",
        },
    };
    Ok(Msg::new(key))
}

/// Where a session was opened from, as shown in the sessions list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The browser's device cookie, when it sent a valid one.
    pub device: Option<DeviceToken>,
}

/// A session just opened: the token goes into the cookie and is never stored.
pub struct IssuedSession {
    pub id: SessionId,
    pub token: String,
    pub expires_at: NaiveDateTime,
    /// The browser's device cookie value (the one it sent, or a new one), to be set again.
    pub device: DeviceToken,
    pub sighting: Sighting,
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSession")
            .field("id", &self.id)
            .field("token", &"[redacted]")
            .field("sighting", &self.sighting)
            .finish()
    }
}

pub fn open(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    user_id: &str,
    method: AuthMethod,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> QueryResult<IssuedSession> {
    open_with(conn, policy, user_id, method.as_str(), client, now)
}

/// `open` with the method spelled out (`fed:google`).
pub fn open_with(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    user_id: &str,
    method: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> QueryResult<IssuedSession> {
    let id = SessionId::generate();
    let token = random_token(32);
    let device = client.device.clone().unwrap_or_else(DeviceToken::generate);
    let sighting = devices::remember(conn, user_id, &device, now)?;
    let expires_at = now + policy.absolute;
    // User agents are attacker-chosen; keep what the list shows and no more.
    let user_agent = client.user_agent.as_deref().map(|ua| truncate(ua, 512));
    Session::insert(
        conn,
        &crate::db::models::NewSession {
            id: id.as_str(),
            token_hash: &sha256_hex(&token),
            user_id,
            created_at: now,
            expires_at,
            last_seen_at: now,
            auth_time: now,
            auth_method: method,
            ip_address: client.ip.as_deref(),
            user_agent: user_agent.as_deref(),
        },
    )?;
    Ok(IssuedSession {
        id,
        token,
        expires_at,
        device,
        sighting,
    })
}

/// Signs a person in: opens the session, records the sign-in and, when the browser is new to an
/// account that has signed in elsewhere before, queues a notice (if they want notices).
/// Call it inside the transaction that decided the sign-in.
pub fn sign_in(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    links: &Links,
    user: &User,
    method: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<IssuedSession, AppError> {
    let issued = open_with(conn, policy, &user.id, method, client, now)?;
    audit::record(
        conn,
        AuditKind::SignIn,
        Some(&user.id),
        client.ip.as_deref(),
        Some(method),
        now,
    )?;
    if issued.sighting == Sighting::New {
        notices::new_device_sign_in(conn, links, user, method, client, now)?;
    }
    Ok(issued)
}

/// A valid session and its user.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub session: Session,
    pub user: User,
}

/// Resolves a cookie token to a live session, sliding the idle window when it is due.
/// Expired sessions are deleted on sight.
pub fn resolve(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ActiveSession>> {
    // Tokens are 43 characters; anything else cannot match and is not worth a query.
    if token.len() != 43 {
        return Ok(None);
    }
    let Some(mut session) = Session::find_by_token_hash(conn, &sha256_hex(token))? else {
        return Ok(None);
    };
    if is_expired(&session, policy, now) {
        Session::delete(conn, &session.id)?;
        return Ok(None);
    }
    if now - session.last_seen_at >= policy.touch_interval {
        Session::touch(conn, &session.id, now)?;
        session.last_seen_at = now;
    }
    let Some(user) = User::find(conn, &session.user_id)? else {
        return Ok(None);
    };
    Ok(Some(ActiveSession { session, user }))
}

pub fn is_expired(session: &Session, policy: &SessionPolicy, now: NaiveDateTime) -> bool {
    now >= session.expires_at || now >= session.last_seen_at + policy.idle
}

/// Ends the session behind a cookie token, if any; returns the user it belonged to.
pub fn close(conn: &mut DbConnection, token: &str) -> QueryResult<Option<String>> {
    match Session::find_by_token_hash(conn, &sha256_hex(token))? {
        Some(s) => {
            Session::delete(conn, &s.id)?;
            Ok(Some(s.user_id))
        }
        None => Ok(None),
    }
}

/// Deletes expired sessions, verifications and devices; returns how many rows went.
pub fn sweep(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let sessions = Session::delete_expired(conn, now, now - policy.idle)?;
    let verifications = Verification::delete_expired(conn, now)?;
    Ok(sessions + verifications + devices::sweep(conn, now)?)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect()
}

/// A short human description of a user agent ("Firefox on Linux"), for the sessions list; a
/// catalogue message, since "on" is a word to translate.
pub fn describe_user_agent(ua: Option<&str>) -> Msg {
    let Some(ua) = ua.filter(|u| !u.is_empty()) else {
        return Msg::new("device-unknown");
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => Msg::new("device-browser-on-os")
            .with("browser", b)
            .with("os", o),
        (Some(b), None) => Msg::new("device-plain").with("text", b),
        (None, Some(o)) => Msg::new("device-some-browser-on-os").with("os", o),
        (None, None) => Msg::new("device-plain").with("text", truncate(ua, 40)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_common_user_agents() {
        use crate::i18n::{text, Locale};
        let english = |ua| text(Locale::En, &describe_user_agent(ua));
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(english(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
        assert_eq!(english(Some(chrome)), "Chrome on Windows");
        assert_eq!(english(None), "Unknown device");
        assert_eq!(
            text(Locale::De, &describe_user_agent(Some(firefox))),
            "Firefox unter Linux"
        );
    }

    #[test]
    fn every_sign_in_method_has_a_label() {
        use crate::i18n::{text, Locale};
        let english = |code| method_name(code).map(|m| text(Locale::En, &m));
        for method in [
            AuthMethod::Password,
            AuthMethod::MagicLink,
            AuthMethod::EmailCode,
        ] {
            assert_ne!(english(method.as_str()).unwrap(), "Other", "{method:?}");
        }
        assert_eq!(english("email:link").unwrap(), "Sign-in link by email");
        assert_eq!(english("email:code").unwrap(), "Code by email");
        assert_eq!(english("fed:google"), Err("google".to_string()));
        assert_eq!(english("email").unwrap(), "Sign-in link or code by email");
    }
}
