//! Passkeys: WebAuthn credentials (W3C Web Authentication Level 3) that sign a person in
//! without a password (discoverable credentials, user verification required) or prove the
//! second step after a password. webauthn-rs checks the ceremonies; this module keeps what they
//! need in the database: the registered credentials (`passkey`) and, between the two halves of
//! a ceremony, its challenge state (`webauthn_ceremony`), because the browser's answer may reach
//! another replica than the one that asked.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::audit::{self, AuditKind};
use super::email_flows::Links;
use super::ids::{PasskeyId, UserId};
use super::notices::{self, SecondFactorChange};
use super::sessions::{self, AuthMethod, ClientInfo, IssuedSession, SessionPolicy};
use super::throttle::{self, Subject, ThrottlePolicy, Verdict};
use super::verification::{self, Purpose as LinkPurpose};
use crate::crypto::{random_token, sha256_hex};
use crate::db::models::User;
use crate::db::schema::{passkey, webauthn_ceremony};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// Name of the cookie that binds a ceremony under way to the browser.
pub const COOKIE: &str = "portcullis_webauthn";
/// How long a ceremony may take (WebAuthn's recommended timeout is five minutes).
pub const CEREMONY_SECS: i64 = 300;
/// Longest passkey name kept.
const NAME_MAX_CHARS: usize = 64;

/// This server as a WebAuthn relying party. Its ID is the issuer's host name.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    webauthn: Arc<Webauthn>,
}

impl RelyingParty {
    /// The relying party for `issuer`, or why there can be none: a relying party ID is a
    /// domain name (WebAuthn §5.1.3 refuses IP addresses), and browsers offer WebAuthn only in
    /// secure contexts, which plain http is not except on `localhost`.
    pub fn for_issuer(issuer: &str) -> Result<RelyingParty, String> {
        let url = Url::parse(issuer).map_err(|e| format!("the issuer is not a URL: {e}"))?;
        let host = match url.host() {
            Some(url::Host::Domain(domain)) => domain.to_string(),
            Some(_) => {
                return Err(
                    "the issuer's host is an IP address, and a WebAuthn relying party \
                            ID must be a domain name"
                        .into(),
                )
            }
            None => return Err("the issuer has no host".into()),
        };
        if url.scheme() != "https" && host != "localhost" {
            return Err("the issuer is not https (plain http works only for localhost)".into());
        }
        let origin = Url::parse(&url.origin().ascii_serialization())
            .map_err(|e| format!("the issuer has no origin: {e}"))?;
        let webauthn = WebauthnBuilder::new(&host, &origin)
            .and_then(|b| b.rp_name("Portcullis").build())
            .map_err(|e| format!("webauthn: {e}"))?;
        Ok(RelyingParty {
            webauthn: Arc::new(webauthn),
        })
    }
}

/// The WebAuthn user handle of a user: stable, 16 bytes, and not the user's ID itself (it is
/// stored in authenticators and shown to nobody, but need not reveal our identifiers).
pub fn user_handle(user_id: &UserId) -> Uuid {
    let digest = Sha256::digest(format!("portcullis-webauthn-user:{user_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a ceremony did not succeed. Everything but `Server` is the browser's (or the person's)
/// doing and is answered with a 400.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("no passkey ceremony is under way, or it expired")]
    NoCeremony,
    #[error("the authenticator's answer did not verify")]
    Rejected,
    #[error("that passkey is not registered here")]
    UnknownCredential,
    #[error("that passkey is already registered")]
    AlreadyRegistered,
    /// The sign-in waiting for its second step is gone: sign in again.
    #[error("the sign-in expired")]
    SignInExpired,
    #[error("too many failed attempts; wait {0} seconds")]
    Throttled(i64),
    #[error(transparent)]
    Server(#[from] AppError),
}

impl From<diesel::result::Error> for PasskeyError {
    fn from(e: diesel::result::Error) -> Self {
        PasskeyError::Server(e.into())
    }
}

// ---- ceremonies ----

/// What a ceremony is for; a state taken for another purpose is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Register,
    SignIn,
    SecondFactor,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::SecondFactor => "second_factor",
        }
    }
}

/// A ceremony begun: the options for the browser, and the token for its cookie (only the
/// token's SHA-256 is stored).
pub struct Begun<T> {
    pub options: T,
    pub token: String,
}

impl<T> std::fmt::Debug for Begun<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Begun([redacted])")
    }
}

fn store<S: Serialize>(
    conn: &mut DbConnection,
    purpose: Purpose,
    user_id: Option<&UserId>,
    state: &S,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let token = random_token(32);
    let state = serde_json::to_string(state).map_err(|e| AppError::Internal(e.to_string()))?;
    diesel::insert_into(webauthn_ceremony::table)
        .values((
            webauthn_ceremony::id.eq(sha256_hex(&token)),
            webauthn_ceremony::purpose.eq(purpose.as_str()),
            webauthn_ceremony::user_id.eq(user_id.map(|u| u.as_str().to_string())),
            webauthn_ceremony::state.eq(state),
            webauthn_ceremony::expires_at.eq(now + Duration::seconds(CEREMONY_SECS)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Takes a ceremony's state once: the row is deleted whatever comes of it, so an answer cannot
/// be replayed. `None` when it is unknown, already taken, expired or of another purpose.
fn take<S: DeserializeOwned>(
    conn: &mut DbConnection,
    token: &str,
    purpose: Purpose,
    now: NaiveDateTime,
) -> Result<Option<(Option<UserId>, S)>, AppError> {
    let id = sha256_hex(token);
    let row: Option<(String, Option<String>, String, NaiveDateTime)> =
        write_transaction(conn, |conn| {
            let row = webauthn_ceremony::table
                .find(&id)
                .select((
                    webauthn_ceremony::purpose,
                    webauthn_ceremony::user_id,
                    webauthn_ceremony::state,
                    webauthn_ceremony::expires_at,
                ))
                .first(conn)
                .optional()?;
            // Of two requests racing for one ceremony, only the one whose DELETE removed it
            // goes on.
            let deleted = diesel::delete(webauthn_ceremony::table.find(&id)).execute(conn)?;
            Ok::<_, diesel::result::Error>(row.filter(|_| deleted == 1))
        })?;
    let Some((stored_purpose, user_id, state, expires_at)) = row else {
        return Ok(None);
    };
    if stored_purpose != purpose.as_str() || expires_at <= now {
        return Ok(None);
    }
    let Ok(state) = serde_json::from_str(&state) else {
        return Ok(None);
    };
    Ok(Some((user_id.map(UserId::from_db), state)))
}

/// Deletes ceremonies past their time (the sweeper).
pub fn sweep(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(webauthn_ceremony::table.filter(webauthn_ceremony::expires_at.le(now)))
        .execute(conn)
}

// ---- registered passkeys ----

/// A passkey as the account page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeySummary {
    pub id: PasskeyId,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

/// The user's passkeys, oldest first.
pub fn list(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Vec<PasskeySummary>> {
    let rows: Vec<(String, String, NaiveDateTime, Option<NaiveDateTime>)> = passkey::table
        .filter(passkey::user_id.eq(user_id))
        .order((passkey::created_at.asc(), passkey::id.asc()))
        .select((
            passkey::id,
            passkey::name,
            passkey::created_at,
            passkey::last_used_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, created_at, last_used_at)| PasskeySummary {
            id: PasskeyId::from_db(id),
            name,
            created_at,
            last_used_at,
        })
        .collect())
}

/// Whether the user has a passkey.
pub fn has_passkey(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        passkey::table.filter(passkey::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

fn credentials(conn: &mut DbConnection, user_id: &UserId) -> Result<Vec<Passkey>, AppError> {
    let stored: Vec<String> = passkey::table
        .filter(passkey::user_id.eq(user_id))
        .select(passkey::credential)
        .load(conn)?;
    stored
        .iter()
        .map(|s| serde_json::from_str(s).map_err(|e| AppError::Internal(e.to_string())))
        .collect()
}

/// A name as typed: control characters dropped, trimmed, at most 64 characters; empty is
/// "Passkey".
pub fn clean_name(name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(NAME_MAX_CHARS)
        .collect();
    if name.is_empty() {
        "Passkey".to_string()
    } else {
        name
    }
}

/// Starts registering a new passkey of `user`: a discoverable credential with user
/// verification, none of the ones already registered.
pub fn begin_registration(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    user: &User,
    now: NaiveDateTime,
) -> Result<Begun<CreationChallengeResponse>, AppError> {
    let exclude = credentials(conn, &user.id)?
        .iter()
        .map(|c| c.cred_id().clone())
        .collect();
    let display = if user.name.trim().is_empty() {
        &user.email
    } else {
        &user.name
    };
    let (mut options, state): (CreationChallengeResponse, PasskeyRegistration) = rp
        .webauthn
        .start_passkey_registration(user_handle(&user.id), &user.email, display, Some(exclude))
        .map_err(|e| AppError::Internal(format!("webauthn: {e}")))?;
    // A passkey that can sign in without a typed address must be discoverable; webauthn-rs
    // leaves that to the authenticator unless asked.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    let token = store(conn, Purpose::Register, Some(&user.id), &state, now)?;
    Ok(Begun { options, token })
}

/// Finishes a registration begun by `user`; the new passkey's ID. Audited.
#[allow(clippy::too_many_arguments)]
pub fn finish_registration(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    links: &Links,
    user: &User,
    token: &str,
    answer: &RegisterPublicKeyCredential,
    name: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<PasskeyId, PasskeyError> {
    let Some((owner, state)) = take::<PasskeyRegistration>(conn, token, Purpose::Register, now)?
    else {
        return Err(PasskeyError::NoCeremony);
    };
    if owner.as_ref() != Some(&user.id) {
        return Err(PasskeyError::NoCeremony);
    }
    let credential = rp
        .webauthn
        .finish_passkey_registration(answer, &state)
        .map_err(|_| PasskeyError::Rejected)?;
    let credential_id = b64url(credential.cred_id().as_ref());
    let serialised =
        serde_json::to_string(&credential).map_err(|e| AppError::Internal(e.to_string()))?;
    let name = clean_name(name);
    write_transaction(conn, |conn| {
        let taken: bool = diesel::select(diesel::dsl::exists(
            passkey::table.filter(passkey::credential_id.eq(&credential_id)),
        ))
        .get_result(conn)?;
        if taken {
            return Err(PasskeyError::AlreadyRegistered);
        }
        let id = PasskeyId::generate();
        diesel::insert_into(passkey::table)
            .values((
                passkey::id.eq(&id),
                passkey::user_id.eq(&user.id),
                passkey::credential_id.eq(&credential_id),
                passkey::name.eq(&name),
                passkey::credential.eq(&serialised),
                passkey::created_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditKind::PasskeyAdded,
            Some(&user.id),
            ip,
            Some(id.as_str()),
            now,
        )?;
        let change = SecondFactorChange::PasskeyAdded(name.clone());
        notices::second_factor_changed(conn, links, user, change, now)?;
        Ok(id)
    })
}

/// Renames one of the user's passkeys; false when they have no such passkey. Audited.
pub fn rename(
    conn: &mut DbConnection,
    user_id: &UserId,
    id: &PasskeyId,
    name: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let name = clean_name(name);
    write_transaction(conn, |conn| {
        let updated = diesel::update(passkey::table.find(id).filter(passkey::user_id.eq(user_id)))
            .set(passkey::name.eq(&name))
            .execute(conn)?;
        if updated == 1 {
            audit::record(
                conn,
                AuditKind::PasskeyRenamed,
                Some(user_id),
                ip,
                Some(id.as_str()),
                now,
            )?;
        }
        Ok(updated == 1)
    })
}

/// Removes one of the user's passkeys; false when they have no such passkey. Audited, and the
/// owner gets a notice. The caller checks re-authentication.
pub fn remove(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    id: &PasskeyId,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    write_transaction::<_, AppError, _>(conn, |conn| {
        let mine = passkey::table
            .find(id)
            .filter(passkey::user_id.eq(&user.id));
        let Some(name) = mine
            .select(passkey::name)
            .first::<String>(conn)
            .optional()?
        else {
            return Ok(false);
        };
        diesel::delete(mine).execute(conn)?;
        audit::record(
            conn,
            AuditKind::PasskeyRemoved,
            Some(&user.id),
            ip,
            Some(id.as_str()),
            now,
        )?;
        let change = SecondFactorChange::PasskeyRemoved(name);
        notices::second_factor_changed(conn, links, user, change, now)?;
        Ok(true)
    })
}

// ---- signing in ----

/// Refuses an assertion from an IP that failed too often lately (the sign-in throttle's IP
/// counter, shared with wrong passwords).
fn check_ip(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), PasskeyError> {
    let Some(ip) = ip else { return Ok(()) };
    match throttle::check_all(conn, policy, &[Subject::Ip(ip.to_string())], now)? {
        Verdict::Allowed => Ok(()),
        Verdict::Wait(secs) => Err(PasskeyError::Throttled(secs)),
        Verdict::Locked(until) => Err(PasskeyError::Throttled((until - now).num_seconds().max(1))),
    }
}

/// Counts a failed assertion against the IP, then hands the error back.
fn failed(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    user_id: Option<&UserId>,
    ip: Option<&str>,
    error: PasskeyError,
    now: NaiveDateTime,
) -> PasskeyError {
    let counted = (|| -> Result<(), AppError> {
        if let Some(ip) = ip {
            throttle::record_failure(conn, policy, &Subject::Ip(ip.to_string()), now)?;
        }
        audit::record(
            conn,
            AuditKind::SignInFailed,
            user_id,
            ip,
            Some("passkey"),
            now,
        )?;
        Ok(())
    })();
    match counted {
        Ok(()) => error,
        Err(e) => PasskeyError::Server(e),
    }
}

/// Starts a passwordless sign-in: the browser lets the person pick any passkey of this site.
pub fn begin_sign_in(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    now: NaiveDateTime,
) -> Result<Begun<RequestChallengeResponse>, AppError> {
    let (mut options, state): (RequestChallengeResponse, DiscoverableAuthentication) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| AppError::Internal(format!("webauthn: {e}")))?;
    // Started by a button press: the browser's ordinary modal dialog, not conditional UI.
    options.mediation = None;
    let token = store(conn, Purpose::SignIn, None, &state, now)?;
    Ok(Begun { options, token })
}

/// Records a verified assertion: the new signature counter and the time of use.
fn record_use(
    conn: &mut DbConnection,
    credential_id: &str,
    mut credential: Passkey,
    result: &webauthn_rs::prelude::AuthenticationResult,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    credential.update_credential(result);
    let serialised =
        serde_json::to_string(&credential).map_err(|e| AppError::Internal(e.to_string()))?;
    diesel::update(passkey::table.filter(passkey::credential_id.eq(credential_id)))
        .set((
            passkey::credential.eq(serialised),
            passkey::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The stored passkey with this credential ID: its owner and credential.
fn find_credential(
    conn: &mut DbConnection,
    credential_id: &str,
) -> Result<Option<(UserId, Passkey)>, AppError> {
    let row: Option<(String, String)> = passkey::table
        .filter(passkey::credential_id.eq(credential_id))
        .select((passkey::user_id, passkey::credential))
        .first(conn)
        .optional()?;
    row.map(|(user_id, stored)| {
        serde_json::from_str(&stored)
            .map(|c| (UserId::from_db(user_id), c))
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .transpose()
}

/// Finishes a passwordless sign-in and opens the session (method `hwk:user`: a verified
/// passkey is two factors by itself, something held and the PIN or biometric that unlocked it).
#[allow(clippy::too_many_arguments)]
pub fn finish_sign_in(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    throttle_policy: &ThrottlePolicy,
    policy: &SessionPolicy,
    links: &Links,
    token: &str,
    answer: &PublicKeyCredential,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<IssuedSession, PasskeyError> {
    let ip = client.ip.as_deref();
    check_ip(conn, throttle_policy, ip, now)?;
    let Some((_, state)) = take::<DiscoverableAuthentication>(conn, token, Purpose::SignIn, now)?
    else {
        return Err(PasskeyError::NoCeremony);
    };
    let (handle, raw_id) = match rp.webauthn.identify_discoverable_authentication(answer) {
        Ok((handle, raw_id)) => (handle, b64url(raw_id)),
        Err(_) => {
            return Err(failed(
                conn,
                throttle_policy,
                None,
                ip,
                PasskeyError::Rejected,
                now,
            ))
        }
    };
    let Some((user_id, credential)) = find_credential(conn, &raw_id)? else {
        let e = PasskeyError::UnknownCredential;
        return Err(failed(conn, throttle_policy, None, ip, e, now));
    };
    // A passkey that moved with a merge still carries the merged user's handle.
    let handle_is_theirs = handle == user_handle(&user_id)
        || super::merge::merged_ids(conn, &user_id)?
            .iter()
            .any(|merged| handle == user_handle(merged));
    if !handle_is_theirs {
        let e = PasskeyError::Rejected;
        return Err(failed(conn, throttle_policy, Some(&user_id), ip, e, now));
    }
    let key = DiscoverableKey::from(&credential);
    let result = match rp
        .webauthn
        .finish_discoverable_authentication(answer, state, &[key])
    {
        Ok(result) if result.user_verified() => result,
        _ => {
            let e = PasskeyError::Rejected;
            return Err(failed(conn, throttle_policy, Some(&user_id), ip, e, now));
        }
    };
    let Some(user) = User::find(conn, &user_id)? else {
        return Err(PasskeyError::UnknownCredential);
    };
    let issued = write_transaction(conn, |conn| {
        record_use(conn, &raw_id, credential, &result, now)?;
        let proof = sessions::Proof::single(AuthMethod::Passkey.as_str(), now);
        sessions::complete_sign_in(conn, policy, links, &user, &proof, client, now)
    })?;
    Ok(issued)
}

/// Starts the passkey step after a first factor, for the user of a pending sign-in; `None`
/// when that sign-in is gone or they have no passkey.
pub fn begin_second_factor(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    pending: &str,
    now: NaiveDateTime,
) -> Result<Option<Begun<RequestChallengeResponse>>, AppError> {
    let Some(super::second_factor::PendingSignIn { user, .. }) =
        super::second_factor::pending(conn, pending, now)?
    else {
        return Ok(None);
    };
    let creds = credentials(conn, &user.id)?;
    if creds.is_empty() {
        return Ok(None);
    }
    let (options, state): (RequestChallengeResponse, PasskeyAuthentication) = rp
        .webauthn
        .start_passkey_authentication(&creds)
        .map_err(|e| AppError::Internal(format!("webauthn: {e}")))?;
    let token = store(conn, Purpose::SecondFactor, Some(&user.id), &state, now)?;
    Ok(Some(Begun { options, token }))
}

/// Finishes the passkey step of a pending sign-in (`pending`, the second-factor cookie) and
/// opens the session (method `{first}+hwk`).
#[allow(clippy::too_many_arguments)]
pub fn finish_second_factor(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    throttle_policy: &ThrottlePolicy,
    policy: &SessionPolicy,
    links: &Links,
    pending: &str,
    token: &str,
    answer: &PublicKeyCredential,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<IssuedSession, PasskeyError> {
    let ip = client.ip.as_deref();
    let Some(super::second_factor::PendingSignIn {
        user,
        method: first,
        first_at,
    }) = super::second_factor::pending(conn, pending, now)?
    else {
        return Err(PasskeyError::SignInExpired);
    };
    // As for a code: the account's counter as well as the IP's, so someone who knows the
    // password cannot try assertions from many addresses.
    let account = Subject::account(&user.email);
    let mut subjects = vec![account.clone()];
    subjects.extend(ip.map(|ip| Subject::Ip(ip.to_string())));
    match throttle::check_all(conn, throttle_policy, &subjects, now)? {
        Verdict::Allowed => {}
        Verdict::Wait(secs) => return Err(PasskeyError::Throttled(secs.max(1))),
        Verdict::Locked(until) => {
            return Err(PasskeyError::Throttled((until - now).num_seconds().max(1)))
        }
    }
    let wrong = |conn: &mut DbConnection, e: PasskeyError| -> PasskeyError {
        let counted = audit::record(
            conn,
            AuditKind::SignInFailed,
            Some(&user.id),
            ip,
            Some("second_factor:passkey"),
            now,
        )
        .map_err(AppError::from)
        .and_then(|()| {
            throttle::second_factor_failed(conn, throttle_policy, links, &user, ip, now)
        });
        match counted {
            Ok(_) => e,
            Err(e) => PasskeyError::Server(e),
        }
    };
    let Some((owner, state)) =
        take::<PasskeyAuthentication>(conn, token, Purpose::SecondFactor, now)?
    else {
        return Err(PasskeyError::NoCeremony);
    };
    if owner.as_ref() != Some(&user.id) {
        return Err(PasskeyError::NoCeremony);
    }
    let raw_id = b64url(answer.get_credential_id());
    let credential = match find_credential(conn, &raw_id)? {
        Some((owner, credential)) if owner == user.id => credential,
        _ => {
            return Err(wrong(conn, PasskeyError::UnknownCredential));
        }
    };
    let result = match rp.webauthn.finish_passkey_authentication(answer, &state) {
        Ok(result) => result,
        Err(_) => return Err(wrong(conn, PasskeyError::Rejected)),
    };
    write_transaction(conn, |conn| {
        if verification::consume_link(conn, pending, LinkPurpose::SecondFactor, now)?.is_none() {
            return Err(PasskeyError::SignInExpired);
        }
        record_use(conn, &raw_id, credential, &result, now)?;
        let method = format!("{first}{}", sessions::SECOND_FACTOR_PASSKEY);
        let proof = sessions::Proof {
            method: &method,
            first_at,
            second_at: Some(now),
        };
        let issued = sessions::complete_sign_in(conn, policy, links, &user, &proof, client, now)?;
        throttle::reset(conn, &account)?;
        Ok(issued)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_needs_a_domain_over_https_or_localhost() {
        assert!(RelyingParty::for_issuer("https://id.example.com").is_ok());
        assert!(RelyingParty::for_issuer("https://id.example.com/auth").is_ok());
        assert!(RelyingParty::for_issuer("http://localhost:8080").is_ok());
        assert!(RelyingParty::for_issuer("http://id.example.com").is_err());
        assert!(RelyingParty::for_issuer("http://127.0.0.1:8080").is_err());
        assert!(RelyingParty::for_issuer("https://[::1]:8443").is_err());
        assert!(RelyingParty::for_issuer("https://192.0.2.1").is_err());
    }

    #[test]
    fn user_handles_are_stable_and_not_the_id() {
        let id = UserId::from_db("usr_0123".into());
        assert_eq!(user_handle(&id), user_handle(&id));
        assert_ne!(
            user_handle(&id),
            user_handle(&UserId::from_db("usr_0124".into()))
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Phone \n"), "Phone");
        assert_eq!(clean_name(""), "Passkey");
        assert_eq!(clean_name(&"x".repeat(100)).chars().count(), 64);
    }
}
