//! What a database error means for the person who caused it (issue 15, after the Better Auth
//! seed's `mapDbError`). The core checks input before it writes, but the database is the last
//! word: two requests racing for the same address, a row deleted under a request, or a busy
//! database reach the caller as these errors. Each becomes a clear refusal (409, 400, 408)
//! rather than a 500 that says nothing.
//!
//! diesel reports constraint violations by kind on every backend (SQLite's extended result
//! codes, PostgreSQL's SQLSTATE class 23); timeouts have no kind of their own, so they are
//! recognised by the backend's own wording, which is stable: SQLite's `SQLITE_BUSY` /
//! `SQLITE_LOCKED` texts and PostgreSQL's `57014 query_canceled` and `55P03 lock_not_available`
//! messages.

use diesel::result::{DatabaseErrorKind, Error};

/// The kinds of database failure a caller can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// A UNIQUE or PRIMARY KEY constraint: the value is taken (often by a request that won a
    /// race).
    Duplicate,
    /// A FOREIGN KEY constraint: what the change refers to is gone, or still referred to.
    Reference,
    /// A NOT NULL constraint: a required value is missing.
    Missing,
    /// A CHECK constraint: a value outside what the schema allows.
    OutOfRange,
    /// The database did not answer in time (busy, locked, or a statement timeout).
    Timeout,
    /// Anything else: a fault of ours or of the database, which stays a server error.
    Other,
}

impl DbFailure {
    pub fn of(e: &Error) -> DbFailure {
        let Error::DatabaseError(kind, info) = e else {
            return DbFailure::Other;
        };
        match kind {
            DatabaseErrorKind::UniqueViolation => DbFailure::Duplicate,
            DatabaseErrorKind::ForeignKeyViolation => DbFailure::Reference,
            DatabaseErrorKind::NotNullViolation => DbFailure::Missing,
            DatabaseErrorKind::CheckViolation => DbFailure::OutOfRange,
            _ => classify_message(info.message()),
        }
    }

    /// Whether the person can do something about it (try again, change the input) rather
    /// than a server fault.
    pub fn is_client_facing(self) -> bool {
        self != DbFailure::Other
    }
}

/// The failures diesel gives no kind, by the backend's wording.
fn classify_message(message: &str) -> DbFailure {
    let m = message.to_ascii_lowercase();
    let timeout = [
        // SQLite: SQLITE_BUSY after busy_timeout, SQLITE_LOCKED.
        "database is locked",
        "database table is locked",
        // PostgreSQL: statement_timeout, lock_timeout, idle-in-transaction timeouts.
        "canceling statement due to statement timeout",
        "canceling statement due to lock timeout",
        "could not obtain lock",
    ];
    if timeout.iter().any(|t| m.contains(t)) {
        return DbFailure::Timeout;
    }
    // Constraint failures a driver reported without their extended code.
    if m.contains("unique constraint failed") {
        DbFailure::Duplicate
    } else if m.contains("foreign key constraint failed") {
        DbFailure::Reference
    } else if m.contains("not null constraint failed") {
        DbFailure::Missing
    } else if m.contains("check constraint failed") {
        DbFailure::OutOfRange
    } else {
        DbFailure::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_unkinded_constraints_are_read_from_the_wording() {
        assert_eq!(classify_message("database is locked"), DbFailure::Timeout);
        assert_eq!(
            classify_message("canceling statement due to statement timeout"),
            DbFailure::Timeout
        );
        assert_eq!(
            classify_message("canceling statement due to lock timeout"),
            DbFailure::Timeout
        );
        assert_eq!(
            classify_message("UNIQUE constraint failed: users.email"),
            DbFailure::Duplicate
        );
        assert_eq!(classify_message("disk I/O error"), DbFailure::Other);
    }
}
