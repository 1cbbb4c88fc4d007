//! An administrator disables a user (issue 12) while they are signed in: in Chromium their
//! session is gone, a wrong password gets the usual message, and the right one the page that
//! says the account is disabled.

use super::*;

browser_tests!(a_disabled_user_is_signed_out_and_told_after_the_right_password);

mod inner {
    use super::*;
    use portcullis::db::models::User;
    use portcullis::identity::user_status::{self, Disabling};

    pub async fn a_disabled_user_is_signed_out_and_told_after_the_right_password(
        backend: Backend,
        chrome: &Chrome,
    ) {
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        tab.sign_up("Ada", "ada@example.com", PASSWORD).await;
        let old_cookie = tab.cookie("portcullis_session").await;
        assert!(old_cookie.is_some());

        // What `portcullis user disable` calls.
        let done = app
            .query(|c| {
                let user = User::find_by_email(c, "ada@example.com")?
                    .ok_or(diesel::result::Error::NotFound)?;
                user_status::disable(
                    c,
                    &user.id,
                    Some("laptop stolen"),
                    &portcullis::identity::audit::Actor::Cli,
                    portcullis::identity::now(),
                )
            })
            .await;
        assert!(matches!(done, Disabling::Disabled { .. }), "{done:?}");

        tab.open("/account").await;
        tab.is_at("/login").await;

        tab.sign_in("ada@example.com", "not the password").await;
        tab.sees("Incorrect email or password.").await;
        tab.does_not_see("disabled").await;

        tab.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(tab.heading().await, "Account disabled");
        tab.sees("This account has been disabled. Contact your administrator.")
            .await;
        tab.does_not_see("laptop stolen").await;
        // No new session: the browser keeps at most the old, dead cookie.
        let cookie = tab.cookie("portcullis_session").await;
        assert!(cookie.is_none() || cookie == old_cookie);
        tab.open("/account").await;
        tab.is_at("/login").await;
    }
}
