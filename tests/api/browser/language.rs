//! A browser that prefers German gets German pages; a user's own language choice wins over it.

use super::*;

browser_tests!(a_german_browser_gets_german_pages_until_the_user_chooses_french);

mod inner {
    use super::*;

    pub async fn a_german_browser_gets_german_pages_until_the_user_chooses_french(
        backend: Backend,
        _english: &Chrome,
    ) {
        let Some(chrome) = Chrome::launch_with("german_browser", backend, "de-DE").await else {
            return;
        };
        let app = spawn_app(backend).await;
        let tab = chrome.tab(&app).await;
        let lang = || async {
            tab.page
                .evaluate_expression("document.documentElement.lang")
                .await
                .unwrap()
                .into_value::<String>()
                .unwrap()
        };

        tab.open("/signup").await;
        assert_eq!(lang().await, "de");
        assert_eq!(tab.heading().await, "Erstellen Sie Ihr Konto");
        tab.fill("#name", "Ada").await;
        tab.fill("#email", "ada@example.com").await;
        tab.fill("#password", PASSWORD).await;
        tab.click("main form[action='/signup'] button[type=submit]")
            .await;
        tab.is_at("/account").await;
        assert_eq!(lang().await, "de");
        tab.sees("Profil speichern").await;

        tab.open("/account/settings").await;
        tab.select("#language", "fr").await;
        tab.click("main form[action='/account/settings'] button[type=submit]")
            .await;
        assert_eq!(lang().await, "fr", "the user's choice beats the browser's");
        tab.sees("Vos paramètres ont été enregistrés.").await;
        tab.open("/account").await;
        tab.sees("Enregistrer le profil").await;
        chrome.close().await;
    }
}
