//! The applications a person has let sign them in: what they see on `/account/apps`, and
//! taking that permission back.

use crate::identity::ids::{ClientId, UserId};
use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::db::models::{Consent, Grant, OAuthClient};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// One application with access to the person's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedApp {
    pub client_id: ClientId,
    /// The client's name, or its id when the client is gone.
    pub name: String,
    /// The scope as stored (space-separated).
    pub scope: String,
    pub granted_at: NaiveDateTime,
}

/// One entry per application, ordered by client id: every consent the person gave, plus the
/// clients that skip consent (first-party) but hold a live grant, since those can use the
/// account too and must be revocable here. A consent's scope wins over a grant's.
pub fn authorized_apps(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> Result<Vec<AuthorizedApp>, AppError> {
    let mut apps: BTreeMap<ClientId, AuthorizedApp> = BTreeMap::new();
    for c in Consent::for_user(conn, user_id)? {
        let name = OAuthClient::find(conn, &c.client_id)?
            .map_or_else(|| c.client_id.to_string(), |cl| cl.name);
        apps.insert(
            c.client_id.clone(),
            AuthorizedApp {
                name,
                scope: c.scope,
                granted_at: c.created_at,
                client_id: c.client_id,
            },
        );
    }
    for (g, name) in Grant::active_for_user(conn, user_id)? {
        apps.entry(g.client_id.clone()).or_insert(AuthorizedApp {
            client_id: g.client_id,
            name,
            scope: g.scope,
            granted_at: g.created_at,
        });
    }
    Ok(apps.into_values().collect())
}

/// Forgets the consent and revokes every grant (and so every token) the application holds for
/// the person, together: a revoked grant with the consent left would be re-issued silently.
pub fn revoke(
    conn: &mut DbConnection,
    user_id: &UserId,
    client_id: &ClientId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        Grant::revoke_for_user_client(conn, user_id, client_id, now)?;
        Consent::delete(conn, user_id, client_id)?;
        Ok(())
    })
}
