//! Writing the audit trail.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::ids::{AuditEventId, UserId};
use crate::db::models::NewAuditEvent;
use crate::db::DbConnection;

/// What happened; the string form is what the `kind` column stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    SignUp,
    SignIn,
    SignInFailed,
    SignOut,
    PasswordChanged,
    SessionRevoked,
    ProfileUpdated,
    AccountDeleted,
    AccountLinked,
    AccountUnlinked,
    EmailChanged,
    /// Too many wrong passwords: password sign-in soft-locked (`throttle`).
    PasswordLocked,
    /// An admin lifted the soft lock and cleared the counters.
    PasswordUnlocked,
    SecondFactorEnrolled,
    SecondFactorDisabled,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    /// An admin disabled the user (detail: the reason given, if any).
    UserDisabled,
    UserEnabled,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
    /// An upstream identity matched an existing user and waits for proof of the account.
    LinkPending,
    /// A pending link was proven with another account than the one that matched.
    LinkRefused,
    /// Another user was merged into this one (detail: which, and how it was proven).
    UserMerged,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::SignUp => "user.sign_up",
            AuditKind::SignIn => "session.sign_in",
            AuditKind::SignInFailed => "session.sign_in_failed",
            AuditKind::SignOut => "session.sign_out",
            AuditKind::PasswordChanged => "credential.password_changed",
            AuditKind::SessionRevoked => "session.revoked",
            AuditKind::ProfileUpdated => "user.profile_updated",
            AuditKind::AccountDeleted => "user.deleted",
            AuditKind::AccountLinked => "account.linked",
            AuditKind::AccountUnlinked => "account.unlinked",
            AuditKind::EmailChanged => "user.email_changed",
            AuditKind::PasswordLocked => "credential.password_locked",
            AuditKind::PasswordUnlocked => "credential.password_unlocked",
            AuditKind::SecondFactorEnrolled => "credential.second_factor_enrolled",
            AuditKind::SecondFactorDisabled => "credential.second_factor_disabled",
            AuditKind::RecoveryCodeUsed => "credential.recovery_code_used",
            AuditKind::RecoveryCodesRegenerated => "credential.recovery_codes_regenerated",
            AuditKind::UserDisabled => "user.disabled",
            AuditKind::UserEnabled => "user.enabled",
            AuditKind::PasskeyAdded => "passkey.added",
            AuditKind::PasskeyRenamed => "passkey.renamed",
            AuditKind::PasskeyRemoved => "passkey.removed",
            AuditKind::LinkPending => "account.link_pending",
            AuditKind::LinkRefused => "account.link_refused",
            AuditKind::UserMerged => "user.merged",
        }
    }
}

pub fn record(
    conn: &mut DbConnection,
    kind: AuditKind,
    user_id: Option<&UserId>,
    ip: Option<&str>,
    detail: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let id = AuditEventId::generate();
    NewAuditEvent {
        id: &id,
        user_id,
        kind: kind.as_str(),
        ip_address: ip,
        detail,
        created_at: now,
    }
    .insert(conn)
    .map(|_| ())
}
