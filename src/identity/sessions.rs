//! Browser sessions (Lucia-style): an opaque 256-bit token in the cookie, only its SHA-256 in the
//! database, an absolute expiry, and an idle expiry that slides with use. The "last seen" time is
//! written at most once per `touch_interval`, so a busy session does not cost a write per request.
//! Ending sessions happens here too, together with queueing the back-channel logouts that
//! clients of the ended sessions are owed (in the same transaction).

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

use super::audit::{self, AuditKind};
use super::devices::{self, DeviceToken, Sighting};
use super::email_flows::Links;
use super::ids::{SessionId, UserId};
use super::notices;
use crate::config::SessionSettings;
use crate::crypto::{random_token, sha256_hex};
use crate::db::models::{Session, User, Verification};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Msg;
use crate::outbox::backchannel;

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub absolute: Duration,
    pub idle: Duration,
    pub touch_interval: Duration,
    /// How long a proven first factor waits for the second (`session.second_factor_timeout_secs`).
    pub second_factor: Duration,
    /// Passkeys are on (`accounts.passkeys` and an issuer that can be a relying party): a
    /// registered passkey is then a second factor after a password.
    pub passkeys: bool,
}

impl From<&SessionSettings> for SessionPolicy {
    fn from(s: &SessionSettings) -> Self {
        SessionPolicy {
            absolute: Duration::seconds(s.absolute_timeout_secs),
            idle: Duration::seconds(s.idle_timeout_secs),
            touch_interval: Duration::seconds(s.touch_interval_secs.max(0)),
            second_factor: Duration::seconds(s.second_factor_timeout_secs),
            passkeys: false,
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
    /// A passkey with user verification, without a password: `hwk:user` (a key held, unlocked
    /// by the person's PIN or biometric).
    Passkey,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "pwd",
            AuthMethod::Federated => "fed",
            AuthMethod::MagicLink => "email:link",
            AuthMethod::EmailCode => "email:code",
            AuthMethod::Passkey => "hwk:user",
        }
    }
}

/// Appended to the stored method of a session whose sign-in also proved a TOTP code or a
/// recovery code: `pwd+otp`, `fed:google+otp`.
pub const SECOND_FACTOR_OTP: &str = "+otp";
/// Appended to the stored method of a session whose sign-in also proved a passkey: `pwd+hwk`.
pub const SECOND_FACTOR_PASSKEY: &str = "+hwk";

/// What a sign-in proved: the stored method (`pwd`, `pwd+otp`, `fed:google`) and when each
/// factor was proven. The session keeps both times; `auth_time` is the later one.
#[derive(Debug, Clone, Copy)]
pub struct Proof<'a> {
    pub method: &'a str,
    pub first_at: NaiveDateTime,
    pub second_at: Option<NaiveDateTime>,
}

impl<'a> Proof<'a> {
    /// One factor (or a passkey, which is two at once), proven at `at`.
    pub fn single(method: &'a str, at: NaiveDateTime) -> Self {
        Proof {
            method,
            first_at: at,
            second_at: None,
        }
    }

    /// When the person last proved anything: the session's `auth_time`.
    pub fn auth_time(&self) -> NaiveDateTime {
        self.second_at.unwrap_or(self.first_at)
    }
}

/// Authentication context class of a single factor.
pub const ACR_SFA: &str = "urn:portcullis:acr:sfa";
/// Authentication context class of two factors (or one that is multi-factor by itself).
pub const ACR_MFA: &str = "urn:portcullis:acr:mfa";

/// The `amr` (RFC 8176) and `acr` of a stored sign-in method, in one place. The first factor
/// keeps the shape ID tokens always had (split at `:`); a second factor adds `otp` and `mfa`:
///
/// | stored method            | amr                              | acr |
/// |--------------------------|----------------------------------|-----|
/// | `pwd`                    | `pwd`                            | sfa |
/// | `fed:{slug}`             | `fed`, `{slug}`                  | sfa |
/// | `email:link`/`email:code`| `email`, `link`/`code`           | sfa |
/// | any of those `+otp`      | the above, then `otp`, `mfa`     | mfa |
/// | any of those `+hwk`      | the above, then `hwk`, `mfa`     | mfa |
/// | `hwk:user` (a passkey)   | `hwk`, `user`, `mfa`             | mfa |
///
/// A passkey alone counts as two factors: user verification is required, so it proves the
/// key held (`hwk`) and the PIN or biometric that unlocked it (`user`).
/// A recovery code counts as `otp` (a one-time password). RFC 8176 has no value for a link or
/// code sent by email; `email` says which channel proved it, as `sms` does for texts.
pub fn amr_and_acr(stored: &str) -> (Vec<String>, &'static str) {
    let (first, second) = match stored.split_once('+') {
        Some((first, second)) => (first, Some(second)),
        None => (stored, None),
    };
    let mut amr: Vec<String> = first.split(':').map(str::to_string).collect();
    let base = amr.first().cloned().unwrap_or_default();
    match (base.as_str(), second) {
        ("pwd" | "fed" | "email", Some(second @ ("otp" | "hwk"))) => {
            amr.extend([second.to_string(), "mfa".to_string()]);
            (amr, ACR_MFA)
        }
        ("hwk", None) if stored == AuthMethod::Passkey.as_str() => {
            amr.push("mfa".to_string());
            (amr, ACR_MFA)
        }
        // One factor, or methods this version does not know: no more than one factor claimed.
        _ => (amr, ACR_SFA),
    }
}

/// How a session was opened, as a catalogue message; `Err(slug)` for an upstream provider,
/// whose own name is not translated.
pub fn method_name(code: &str) -> Result<Msg, String> {
    // The second factor is not named in lists and notices; the first tells the way in.
    let code = code.split_once('+').map_or(code, |(first, _)| first);
    let key = match code {
        "pwd" => "sessions-method-password",
        "email:link" => "sessions-method-email-link",
        "email:code" => "sessions-method-email-code",
        "hwk:user" => "sessions-method-passkey",
        // Sessions opened before links and codes were told apart.
        "email" => "sessions-method-email",
        _ => match code.split_once(':') {
            Some(("fed", slug)) => return Err(slug.to_string()),
            _ => "sessions-method-other",
        },
    };
    Ok(Msg::new(key))
}

/// The second factor a session proved, as a catalogue message (`None`: one factor).
pub fn second_factor_name(code: &str) -> Option<Msg> {
    match code.split_once('+')?.1 {
        "otp" => Some(Msg::new("sessions-second-factor-otp")),
        "hwk" => Some(Msg::new("sessions-method-passkey")),
        _ => Some(Msg::new("sessions-method-other")),
    }
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
    user_id: &UserId,
    method: AuthMethod,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> QueryResult<IssuedSession> {
    let proof = Proof::single(method.as_str(), now);
    open_with(conn, policy, user_id, &proof, client, now)
}

/// `open` with the proof spelled out (`fed:google`, two factors and their times).
pub fn open_with(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    user_id: &UserId,
    proof: &Proof<'_>,
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
            id: id.clone(),
            token_hash: &sha256_hex(&token),
            user_id: user_id.clone(),
            created_at: now,
            expires_at,
            last_seen_at: now,
            auth_time: proof.auth_time(),
            auth_method: proof.method,
            ip_address: client.ip.as_deref(),
            user_agent: user_agent.as_deref(),
            first_factor_at: proof.first_at,
            second_factor_at: proof.second_at,
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

/// What a proven first factor leads to: a session, or, for someone with a second factor, the
/// step that asks for it (`second_factor::complete` then opens the session).
#[derive(Debug)]
pub enum Admission {
    Session(Box<IssuedSession>),
    SecondFactor(super::second_factor::Pending),
}

/// Signs a person in after a first factor: for an account with a second factor, records the
/// pending step and goes no further; otherwise `complete_sign_in`.
/// Call it inside the transaction that decided the sign-in.
pub fn sign_in(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    links: &Links,
    user: &User,
    method: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<Admission, AppError> {
    // Before the second factor is asked for: a disabled user is told at once, not after a code.
    super::user_status::ensure_enabled(conn, user)?;
    if super::second_factor::has_any(conn, &user.id, policy.passkeys)? {
        let pending =
            super::second_factor::begin(conn, &user.id, method, policy.second_factor, now)?;
        return Ok(Admission::SecondFactor(pending));
    }
    let proof = Proof::single(method, now);
    let issued = complete_sign_in(conn, policy, links, user, &proof, client, now)?;
    Ok(Admission::Session(Box::new(issued)))
}

/// Opens the session once every factor asked for is proven, records the sign-in and, when the
/// browser is new to an account that has signed in elsewhere before, queues a notice (if they
/// want notices). Call it inside the transaction that decided the sign-in.
pub fn complete_sign_in(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    links: &Links,
    user: &User,
    proof: &Proof<'_>,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<IssuedSession, AppError> {
    super::user_status::ensure_enabled(conn, user)?;
    let method = proof.method;
    let issued = open_with(conn, policy, &user.id, proof, client, now)?;
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
    match freshness(&session, policy, now) {
        Freshness::Expired => {
            Session::delete(conn, &session.id)?;
            return Ok(None);
        }
        Freshness::Live { touch: true } => {
            Session::touch(conn, &session.id, now)?;
            session.last_seen_at = now;
        }
        Freshness::Live { touch: false } => {}
    }
    let Some(user) = User::find(conn, &session.user_id)? else {
        return Ok(None);
    };
    // Disabling ends the sessions too; this holds even for one opened in a race with it.
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    Ok(Some(ActiveSession { session, user }))
}

/// What a session is worth at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Past its absolute expiry, or unused for longer than the idle timeout.
    Expired,
    /// Valid; `touch` when "last seen" is older than the touch interval and is to be written.
    Live { touch: bool },
}

/// The expiry rules in one place: the absolute expiry ends even a busy session; the idle
/// timeout counts from the last recorded use, which is written at most once per touch interval.
pub fn freshness(session: &Session, policy: &SessionPolicy, now: NaiveDateTime) -> Freshness {
    if is_expired(session, policy, now) {
        return Freshness::Expired;
    }
    Freshness::Live {
        touch: now - session.last_seen_at >= policy.touch_interval,
    }
}

pub fn is_expired(session: &Session, policy: &SessionPolicy, now: NaiveDateTime) -> bool {
    now >= session.expires_at || now >= session.last_seen_at + policy.idle
}

/// Signs out the browser session behind a cookie token, if any: deletes it, records the
/// sign-out and queues a back-channel logout for every client that got tokens in it, in one
/// write transaction. Returns the user it belonged to. Wake the back-channel worker afterwards.
pub fn sign_out(
    conn: &mut DbConnection,
    token: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<Option<UserId>> {
    crate::db::write_transaction(conn, |conn| {
        let Some(session) = Session::find_by_token_hash(conn, &sha256_hex(token))? else {
            return Ok(None);
        };
        // Of two sign-outs racing for one session, only the one whose DELETE removed the row
        // records it and tells the clients.
        if Session::delete(conn, &session.id)? == 0 {
            return Ok(None);
        }
        audit::record(
            conn,
            AuditKind::SignOut,
            Some(&session.user_id),
            ip,
            None,
            now,
        )?;
        backchannel::enqueue(conn, std::slice::from_ref(&session.id), now)?;
        Ok(Some(session.user_id))
    })
}

/// Ends one session of a user inside the caller's write transaction, queueing its back-channel
/// logouts; false when the user has no such session.
pub fn end(
    conn: &mut DbConnection,
    user_id: &UserId,
    session_id: &SessionId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    if Session::delete_for_user(conn, user_id, session_id)? == 0 {
        return Ok(false);
    }
    backchannel::enqueue(conn, std::slice::from_ref(session_id), now)?;
    Ok(true)
}

/// Ends every session of a user but `keep` inside the caller's write transaction, queueing
/// their back-channel logouts; returns the ended sessions' ids.
pub fn end_all_but(
    conn: &mut DbConnection,
    user_id: &UserId,
    keep: Option<&SessionId>,
    now: NaiveDateTime,
) -> QueryResult<Vec<SessionId>> {
    let mut ended = Session::ids_for_user(conn, user_id)?;
    match keep {
        Some(keep) => {
            ended.retain(|id| id != keep);
            Session::delete_others(conn, user_id, keep)?;
        }
        None => {
            Session::delete_all_for_user(conn, user_id)?;
        }
    }
    backchannel::enqueue(conn, &ended, now)?;
    Ok(ended)
}

/// Deletes expired sessions, verifications and devices; returns how many rows went.
pub fn sweep(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let sessions = Session::delete_expired(conn, now, now - policy.idle)?;
    let verifications = Verification::delete_expired(conn, now)?;
    let ceremonies = super::passkeys::sweep(conn, now)?;
    Ok(sessions + verifications + ceremonies + devices::sweep(conn, now)?)
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

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    /// Absolute 1 h, idle 10 min, touched at most once a minute.
    fn policy() -> SessionPolicy {
        SessionPolicy {
            absolute: Duration::hours(1),
            idle: Duration::minutes(10),
            touch_interval: Duration::minutes(1),
            second_factor: Duration::minutes(5),
            passkeys: true,
        }
    }

    /// A session opened at `at(0)` under `policy()`, last seen at `at(last_seen)`.
    fn session(last_seen: i64) -> Session {
        Session {
            id: SessionId::from_db("ses_test".into()),
            token_hash: "h".into(),
            user_id: UserId::from_db("usr_test".into()),
            created_at: at(0),
            expires_at: at(0) + policy().absolute,
            last_seen_at: at(last_seen),
            auth_time: at(0),
            auth_method: "pwd".into(),
            ip_address: None,
            user_agent: None,
            first_factor_at: at(0),
            second_factor_at: None,
        }
    }

    #[test]
    fn a_session_idle_for_the_idle_timeout_is_expired() {
        let s = session(0);
        assert_eq!(
            freshness(&s, &policy(), at(599)),
            Freshness::Live { touch: true }
        );
        assert_eq!(freshness(&s, &policy(), at(600)), Freshness::Expired);
    }

    #[test]
    fn use_counts_from_the_last_recorded_visit() {
        // Seen at 9 min: alive at 18 min, gone at 19.
        let s = session(540);
        assert!(!is_expired(&s, &policy(), at(1079)));
        assert!(is_expired(&s, &policy(), at(1140)));
    }

    #[test]
    fn the_absolute_expiry_ends_even_a_busy_session() {
        let s = session(3590);
        assert_eq!(
            freshness(&s, &policy(), at(3599)),
            Freshness::Live { touch: false }
        );
        assert_eq!(freshness(&s, &policy(), at(3600)), Freshness::Expired);
    }

    #[test]
    fn last_seen_is_written_at_most_once_per_touch_interval() {
        let s = session(100);
        assert_eq!(
            freshness(&s, &policy(), at(159)),
            Freshness::Live { touch: false }
        );
        assert_eq!(
            freshness(&s, &policy(), at(160)),
            Freshness::Live { touch: true }
        );
        let every_time = SessionPolicy {
            touch_interval: Duration::zero(),
            ..policy()
        };
        assert_eq!(
            freshness(&s, &every_time, at(100)),
            Freshness::Live { touch: true }
        );
    }

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
            AuthMethod::Passkey,
        ] {
            assert_ne!(english(method.as_str()).unwrap(), "Other", "{method:?}");
        }
        assert_eq!(english("email:link").unwrap(), "Sign-in link by email");
        assert_eq!(english("email:code").unwrap(), "Code by email");
        assert_eq!(english("fed:google"), Err("google".to_string()));
        assert_eq!(english("email").unwrap(), "Sign-in link or code by email");
        assert_eq!(english("pwd+otp").unwrap(), "Password");
    }

    #[test]
    fn amr_and_acr_follow_the_factors() {
        let amr = |m| amr_and_acr(m).0.join(" ");
        assert_eq!(amr_and_acr("pwd"), (vec!["pwd".to_string()], ACR_SFA));
        assert_eq!(amr("fed:google"), "fed google");
        assert_eq!(amr("email:link"), "email link");
        assert_eq!(amr_and_acr("pwd+otp").1, ACR_MFA);
        assert_eq!(amr("pwd+otp"), "pwd otp mfa");
        assert_eq!(amr("fed:github+otp"), "fed github otp mfa");
        assert_eq!(amr("email:code+otp"), "email code otp mfa");
        assert_eq!(amr_and_acr("pwd+sms").1, ACR_SFA);
        assert_eq!(amr("pwd+hwk"), "pwd hwk mfa");
        assert_eq!(amr_and_acr("pwd+hwk").1, ACR_MFA);
        assert_eq!(amr_and_acr("hwk:user").1, ACR_MFA);
        assert_eq!(amr("hwk:user"), "hwk user mfa");
        assert_eq!(amr_and_acr("hwk").1, ACR_SFA);
    }
}
