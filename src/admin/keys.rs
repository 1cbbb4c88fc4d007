//! Token signing keys as admins manage them (issue 14): list, rotate, retire. After a change the
//! caller refreshes this replica's key set; the others pick it up on their refresh interval (or
//! at once on the first token with an unknown kid).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::users::utc;
use super::{AdminError, AdminResult};
use crate::crypto::MasterKey;
use crate::db::models::SigningKeyRow;
use crate::db::{write_transaction, DbConnection};
use crate::identity::audit::{self, Actor, AuditKind, Event};
use crate::oidc::keys as oidc_keys;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published, signing from `not_before`.
    Next,
    /// Signs new tokens (the newest active key of its algorithm).
    Signing,
    /// Published so tokens it signed still verify; a newer key signs.
    Retiring,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub not_before: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Every key with its state, newest first within each algorithm.
pub fn list(conn: &mut DbConnection, now: NaiveDateTime) -> AdminResult<Vec<KeyView>> {
    let rows = SigningKeyRow::all(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    let mut signer_seen: Vec<String> = Vec::new();
    for row in rows {
        let state = if row.not_before > now {
            KeyState::Next
        } else if signer_seen.contains(&row.alg) {
            KeyState::Retiring
        } else {
            signer_seen.push(row.alg.clone());
            KeyState::Signing
        };
        out.push(KeyView {
            kid: row.id,
            alg: row.alg,
            state,
            not_before: utc(row.not_before),
            created_at: utc(row.created_at),
        });
    }
    Ok(out)
}

/// A new key for every algorithm, signing after `ahead` (zero: at once).
pub fn rotate(
    conn: &mut DbConnection,
    mk: &MasterKey,
    actor: &Actor,
    ahead: Duration,
    now: NaiveDateTime,
) -> AdminResult<Vec<String>> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let kids = oidc_keys::rotate(conn, mk, now + ahead)?;
        let detail = kids.join(",");
        let event = Event {
            actor: Some(actor),
            detail: Some(&detail),
            ..Event::new(AuditKind::SigningKeyRotated)
        };
        audit::record_event(conn, &event, now)?;
        Ok(kids)
    })
}

/// Stops publishing a key that no longer signs: tokens it signed stop verifying at once (the
/// way to react to a leaked key after rotating). The signing key cannot be retired, nor one not
/// yet signing while it is the only successor.
pub fn retire(
    conn: &mut DbConnection,
    actor: &Actor,
    kid: &str,
    now: NaiveDateTime,
) -> AdminResult<()> {
    write_transaction::<_, AdminError, _>(conn, |conn| {
        let keys = list(conn, now)?;
        let key = keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(AdminError::NotFound("signing key"))?;
        if key.state != KeyState::Retiring {
            return Err(AdminError::Conflict(
                "only a key a newer key has replaced can be retired: rotate first (with \
                 immediately, to replace the signing key now)"
                    .into(),
            ));
        }
        SigningKeyRow::delete(conn, kid)?;
        let event = Event {
            actor: Some(actor),
            detail: Some(kid),
            ..Event::new(AuditKind::SigningKeyRetired)
        };
        audit::record_event(conn, &event, now)?;
        Ok(())
    })
}
