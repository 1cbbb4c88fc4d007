//! Writing the audit trail.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::ids::{AuditEventId, ClientId, UserId};
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
    // Administration (issue 14); `actor` says who.
    AdminGranted,
    AdminRevoked,
    /// An admin created the user.
    UserCreated,
    /// An admin changed the user's name, address or its verified mark.
    UserUpdated,
    /// An admin revoked the user's authorizations of client applications.
    GrantsRevoked,
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    ClientSecretRotated,
    ProviderCreated,
    ProviderUpdated,
    ProviderDeleted,
    SigningKeyRotated,
    SigningKeyRetired,
    /// An admin made failed mail due again, or purged it (detail: how many).
    MailRetried,
    MailPurged,
    MailTestQueued,
    /// An admin had a reset or verification mail sent to the user (detail: which).
    UserMailSent,
    /// The configuration file's clients and providers were applied (start, SIGHUP, change).
    ConfigApplied,
    /// Groups (issue 14); detail: the group's name and who made the change.
    GroupCreated,
    GroupRenamed,
    /// The description changed.
    GroupUpdated,
    GroupDeleted,
    /// The user the event is about joined (or left) the group.
    GroupMemberAdded,
    GroupMemberRemoved,
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
            AuditKind::AdminGranted => "user.admin_granted",
            AuditKind::AdminRevoked => "user.admin_revoked",
            AuditKind::UserCreated => "user.created",
            AuditKind::UserUpdated => "user.updated",
            AuditKind::GrantsRevoked => "grant.revoked",
            AuditKind::ClientCreated => "client.created",
            AuditKind::ClientUpdated => "client.updated",
            AuditKind::ClientDeleted => "client.deleted",
            AuditKind::ClientSecretRotated => "client.secret_rotated",
            AuditKind::ProviderCreated => "provider.created",
            AuditKind::ProviderUpdated => "provider.updated",
            AuditKind::ProviderDeleted => "provider.deleted",
            AuditKind::SigningKeyRotated => "key.rotated",
            AuditKind::SigningKeyRetired => "key.retired",
            AuditKind::MailRetried => "mail.retried",
            AuditKind::MailPurged => "mail.purged",
            AuditKind::MailTestQueued => "mail.test_queued",
            AuditKind::UserMailSent => "user.mail_sent",
            AuditKind::ConfigApplied => "config.applied",
            AuditKind::GroupCreated => "group.created",
            AuditKind::GroupRenamed => "group.renamed",
            AuditKind::GroupUpdated => "group.updated",
            AuditKind::GroupDeleted => "group.deleted",
            AuditKind::GroupMemberAdded => "group.member_added",
            AuditKind::GroupMemberRemoved => "group.member_removed",
        }
    }
}

/// Who made a change, when it was not the subject user themselves (issue 14: every admin change
/// is audited with who did it). Stored as `user:<id>`, `client:<id>`, `cli` or `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An admin, signed in to the console or calling the API with their browser session.
    Admin(UserId),
    /// A client application with an admin-scoped `client_credentials` token.
    Client(ClientId),
    /// The command line, run by whoever has the server's configuration and database.
    Cli,
    /// The configuration file, reconciled at start or on reload.
    Config,
}

impl Actor {
    pub fn stored(&self) -> String {
        match self {
            Actor::Admin(id) => format!("user:{id}"),
            Actor::Client(id) => format!("client:{id}"),
            Actor::Cli => "cli".into(),
            Actor::Config => "config".into(),
        }
    }
}

/// An event with everything the admin side may filter on.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub kind: AuditKind,
    /// The user the event is about.
    pub user: Option<&'a UserId>,
    pub actor: Option<&'a Actor>,
    /// The client application the event is about.
    pub client: Option<&'a ClientId>,
    pub ip: Option<&'a str>,
    pub detail: Option<&'a str>,
}

impl<'a> Event<'a> {
    pub fn new(kind: AuditKind) -> Self {
        Event {
            kind,
            user: None,
            actor: None,
            client: None,
            ip: None,
            detail: None,
        }
    }
}

pub fn record_event(conn: &mut DbConnection, e: &Event<'_>, now: NaiveDateTime) -> QueryResult<()> {
    let id = AuditEventId::generate();
    let actor = e.actor.map(Actor::stored);
    NewAuditEvent {
        id: &id,
        user_id: e.user,
        kind: e.kind.as_str(),
        ip_address: e.ip,
        detail: e.detail,
        created_at: now,
        actor: actor.as_deref(),
        client_id: e.client.map(ClientId::as_str),
    }
    .insert(conn)
    .map(|_| ())
}

pub fn record(
    conn: &mut DbConnection,
    kind: AuditKind,
    user_id: Option<&UserId>,
    ip: Option<&str>,
    detail: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let event = Event {
        kind,
        user: user_id,
        ip,
        detail,
        ..Event::new(kind)
    };
    record_event(conn, &event, now)
}
