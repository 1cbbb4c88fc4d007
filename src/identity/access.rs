//! Who may use their account. `accounts.require_verified_email` is decided here and only
//! here, for every way in: password sign-in, sign-up, upstream providers and the OIDC
//! authorization endpoint.

use crate::config::AccountSettings;
use crate::db::models::User;

/// `accounts.require_verified_email`: whether an account needs a confirmed address before it
/// can sign in or authorize an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailPolicy {
    require_verified: bool,
}

/// The address the person must confirm before going on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconfirmed {
    pub email: String,
}

impl EmailPolicy {
    pub fn new(require_verified: bool) -> EmailPolicy {
        EmailPolicy { require_verified }
    }

    /// May this person use their account now (sign in, authorize an application)?
    pub fn admits(&self, user: &User) -> Result<(), Unconfirmed> {
        if self.require_verified && !user.email_verified {
            return Err(Unconfirmed {
                email: user.email.clone(),
            });
        }
        Ok(())
    }

    /// Does signing up with a password sign the person in at once? Not when the address must
    /// be confirmed first: the confirmation mail's link does that.
    pub fn signs_in_at_sign_up(&self) -> bool {
        !self.require_verified
    }
}

impl From<&AccountSettings> for EmailPolicy {
    fn from(accounts: &AccountSettings) -> EmailPolicy {
        EmailPolicy::new(accounts.require_verified_email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::ids::UserId;

    fn user(email_verified: bool) -> User {
        let t = crate::identity::now();
        User {
            id: UserId::from_db("usr_1".into()),
            email: "ada@example.com".into(),
            email_verified,
            name: "Ada".into(),
            image: None,
            is_admin: false,
            created_at: t,
            updated_at: t,
            disabled_at: None,
            disabled_reason: None,
        }
    }

    #[test]
    fn when_required_an_unconfirmed_address_is_refused_and_a_confirmed_one_admitted() {
        let policy = EmailPolicy::new(true);
        assert_eq!(
            policy.admits(&user(false)),
            Err(Unconfirmed {
                email: "ada@example.com".into()
            })
        );
        assert_eq!(policy.admits(&user(true)), Ok(()));
        assert!(!policy.signs_in_at_sign_up());
    }

    #[test]
    fn when_not_required_everyone_is_admitted_and_sign_up_signs_in() {
        let policy = EmailPolicy::new(false);
        assert_eq!(policy.admits(&user(false)), Ok(()));
        assert!(policy.signs_in_at_sign_up());
    }
}
