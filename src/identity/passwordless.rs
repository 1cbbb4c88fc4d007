//! Signing in without a password, by proving the address: a magic link or a one-time code.
//!
//! Proving the address (`email_flows`) and opening the session (`sessions::sign_in`) are two
//! write transactions, one after the other, not one inside the other: each takes SQLite's
//! write turn, which is not re-entrant. A crash between them leaves a used proof and no
//! session; the person asks for a new link, as after any expired one.

use chrono::NaiveDateTime;

use super::email::Email;
use super::email_flows::{self, Links};
use super::sessions::{self, Admission, AuthMethod, ClientInfo, SessionPolicy};
use super::verification::CodeCheck;
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// What the person brought back from their mailbox.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    MagicLink {
        token: &'a str,
    },
    Code {
        email: &'a Email,
        code: &'a str,
        /// Wrong codes allowed before the code is void (`accounts.code_max_attempts`).
        max_attempts: i32,
    },
}

/// Uses up the proof and, when it holds for an account, opens a session for it (which also
/// marks the address verified). `None` for a dead link, a wrong code or an unknown address:
/// the caller says the same for all of them.
pub fn sign_in(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    links: &Links,
    proof: Proof<'_>,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<Option<Admission>, AppError> {
    let (user, method) = match proof {
        Proof::MagicLink { token } => (
            email_flows::consume_magic_link(conn, token, now)?,
            AuthMethod::MagicLink,
        ),
        Proof::Code {
            email,
            code,
            max_attempts,
        } => {
            let (check, user) = email_flows::verify_code(conn, email, code, max_attempts, now)?;
            (
                user.filter(|_| check == CodeCheck::Valid),
                AuthMethod::EmailCode,
            )
        }
    };
    let Some(user) = user else {
        return Ok(None);
    };
    write_transaction(conn, |conn| {
        sessions::sign_in(conn, policy, links, &user, method.as_str(), client, now)
    })
    .map(Some)
}
