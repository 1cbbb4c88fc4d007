//! One person, one address: lookalike spellings of an address are the same account, and
//! invisible characters are refused (issue 12, RFC 8265).

use diesel::prelude::*;
use portcullis::db::schema::users;

use crate::helpers::*;

backend_tests!(
    lookalike_addresses_reach_the_same_account,
    invisible_characters_are_refused_with_a_clear_message,
);

async fn lookalike_addresses_reach_the_same_account(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.browser()
            .signup("Alice", "alice@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    // Full-width letters (an East Asian keyboard, or a deliberate lookalike) are not a second user.
    let res = app
        .browser()
        .signup("Mallory", "\u{FF41}lice@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .browser()
        .signup("Mallory", "ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ", PASSWORD)
        .await;
    assert_eq!(res.status(), 422);
    // …and they sign the real user in.
    assert_eq!(
        app.browser()
            .login("\u{FF41}lice@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    let emails: Vec<String> = app
        .query(|c| users::table.select(users::email).load(c))
        .await;
    assert_eq!(emails, vec!["alice@example.com".to_string()]);
}

async fn invisible_characters_are_refused_with_a_clear_message(backend: Backend) {
    let app = spawn_app(backend).await;
    for email in [
        "alice\u{200B}@example.com",
        "al\u{AD}ice@example.com",
        "alice\u{202E}@example.com",
        "\u{FEFF}alice@example.com",
    ] {
        let res = app.browser().signup("Alice", email, PASSWORD).await;
        assert_eq!(res.status(), 422, "{email:?}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("invisible or special characters"),
            "{email:?}"
        );
    }
    // A display name with a right-to-left override could make "Alice" read as someone else.
    let res = app
        .browser()
        .signup("\u{202E}ecilA", "alice@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Remove the special characters from your name."));
    // Names are folded, not refused, for width and spacing.
    assert_eq!(
        app.browser()
            .signup("  Ａｄａ\u{3000}Lovelace ", "ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    let names: Vec<String> = app
        .query(|c| users::table.select(users::name).load(c))
        .await;
    assert_eq!(names, vec!["Ada Lovelace".to_string()]);
}
