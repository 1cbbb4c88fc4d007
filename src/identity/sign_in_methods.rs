//! The ways a person can sign in, as `/account/methods` lists them: their password, the
//! upstream accounts linked to them, and the providers they could still link.

use chrono::NaiveDateTime;

use super::ids::AccountId;
use super::linking;
use crate::db::models::{Account, User, CREDENTIAL_PROVIDER};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::upstream::registry::{self, Button};

#[derive(Debug, Clone)]
pub struct SignInMethods {
    pub methods: Vec<Method>,
    /// Enabled providers the person has not linked yet.
    pub linkable: Vec<Button>,
    pub has_password: bool,
}

#[derive(Debug, Clone)]
pub struct Method {
    pub account_id: AccountId,
    pub kind: MethodKind,
    /// What identifies the person there: our address for the password, else the upstream
    /// account's address or, without one, its id.
    pub detail: String,
    pub created_at: NaiveDateTime,
    /// Whether it can be unlinked: never the password (it is changed, not removed here), and
    /// never the last way in (`linking::is_last_method`).
    pub removable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodKind {
    Password,
    /// An upstream provider by its display name (its slug when it is no longer configured).
    Provider(String),
}

/// The methods of `user`. A credential account without a password (left by a password-less
/// sign-up) is no method.
pub fn of_user(conn: &mut DbConnection, user: &User) -> Result<SignInMethods, AppError> {
    let accounts = Account::for_user(conn, &user.id)?;
    let buttons = registry::buttons(conn)?;
    let linked: Vec<&str> = accounts.iter().map(|a| a.provider_id.as_str()).collect();
    let linkable = buttons
        .iter()
        .filter(|b| !linked.contains(&b.slug.as_str()))
        .cloned()
        .collect();
    let name_of = |slug: &str| {
        buttons
            .iter()
            .find(|b| b.slug == slug)
            .map_or_else(|| slug.to_string(), |b| b.name.clone())
    };
    let methods = accounts
        .iter()
        .filter(|a| a.provider_id != CREDENTIAL_PROVIDER || a.password_hash.is_some())
        .map(|a| {
            let credential = a.provider_id == CREDENTIAL_PROVIDER;
            Method {
                account_id: a.id.clone(),
                kind: if credential {
                    MethodKind::Password
                } else {
                    MethodKind::Provider(name_of(&a.provider_id))
                },
                detail: if credential {
                    user.email.clone()
                } else {
                    a.email.clone().unwrap_or_else(|| a.account_id.clone())
                },
                created_at: a.created_at,
                removable: !credential && !linking::is_last_method(&accounts, &a.id),
            }
        })
        .collect();
    let has_password = accounts
        .iter()
        .any(|a| a.provider_id == CREDENTIAL_PROVIDER && a.password_hash.is_some());
    Ok(SignInMethods {
        methods,
        linkable,
        has_password,
    })
}
