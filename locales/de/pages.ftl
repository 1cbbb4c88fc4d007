# Seiten außerhalb des Kontobereichs: Layout, Anmeldung, Registrierung, Einwilligung, Meldungen.

## Layout und gemeinsame Wörter
nav-skip = Zum Hauptinhalt springen
nav-primary = Hauptnavigation
nav-account = Konto
nav-sign-out = Abmelden
nav-sign-in = Anmelden
nav-create-account = Konto erstellen
footer-tagline = Portcullis · Identität und Anmeldung
continue = Weiter
back-to-sign-in = Zurück zur Anmeldung
signed-in-as = Angemeldet als { $who }
signed-in-as-name-email = Angemeldet als { $name } ({ $email })
message-default-title = Hinweis

## Formularfelder
field-email = E-Mail-Adresse
field-password = Passwort
field-name = Name
field-your-password = Ihr Passwort
field-current-password = Aktuelles Passwort
field-new-password = Neues Passwort
field-confirm-new-password = Neues Passwort bestätigen
password-hint-min = Mindestens { $min } Zeichen

## Startseite
home-title = Startseite
home-welcome-back = Willkommen zurück
home-manage-account = Konto verwalten
home-welcome = Willkommen bei Portcullis
home-lead = Ein Konto für die Anmeldung bei all Ihren Anwendungen – an einem Ort, den Sie selbst verwalten.

## Anmeldung und Registrierung
login-title = Anmelden
login-submit = Anmelden
login-resend-verification = Bestätigungs-E-Mail erneut senden
login-forgot = Passwort vergessen?
login-passwordless-heading = Oder ohne Passwort anmelden
login-magic-email = E-Mail-Adresse für einen Anmeldelink
login-magic-submit = Anmeldelink per E-Mail senden
login-code-email = E-Mail-Adresse für einen Anmeldecode
login-code-submit = Code per E-Mail senden
login-to-signup = Neu hier? Konto erstellen
signup-heading = Erstellen Sie Ihr Konto
signup-to-login = Sie haben bereits ein Konto? Anmelden
providers-label = Weitere Anmeldemöglichkeiten
providers-continue-with = Weiter mit { $provider }
providers-or = oder

## Einmalcode
code-title = Code eingeben
code-label = 6-stelliger Code
code-hint = Wir haben einen Code an { $email } gesendet. Er ist 10 Minuten lang gültig.
code-hint-no-address = Wir haben einen Code an Ihre E-Mail-Adresse gesendet. Er ist 10 Minuten lang gültig.

## Links per E-Mail
forgot-title = Passwort zurücksetzen
forgot-lead = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen dann einen Link, mit dem Sie ein neues Passwort festlegen können.
forgot-submit = Link zum Zurücksetzen senden
reset-title = Neues Passwort festlegen
reset-lead = Dadurch werden Sie überall abgemeldet.
reset-submit = Neues Passwort speichern
verify-title = E-Mail-Adresse bestätigen

## Einwilligung
consent-unnamed-client = Eine Anwendung
consent-title = Zugriff erlauben
consent-heading = { $client } möchte auf Ihr Konto zugreifen
consent-requested-access = Angeforderter Zugriff
consent-allow = Erlauben
consent-deny = Ablehnen
consent-redirect = Anschließend werden Sie zu { $host } weitergeleitet.
consent-revoke-note = Sie können den Zugriff jederzeit auf der Seite „Verbundene Anwendungen“ in Ihrem Konto widerrufen.

## Was ein Scope einer Anwendung erlaubt
scope-openid = Wissen, wer Sie sind (Ihre Konto-ID)
scope-profile = Ihren Namen, Ihren Benutzernamen, Ihr Bild, Ihre Website, Ihre Zeitzone und Ihre Sprache sehen
scope-email = Ihre E-Mail-Adresse sehen und ob sie bestätigt ist
scope-groups = Sehen, zu welchen Gruppen Sie gehören
scope-offline-access = Verbunden bleiben, auch wenn Sie die Anwendung gerade nicht nutzen
scope-other = Sonstiger Zugriff

## Abmeldung
logout-heading = Abmelden?
logout-client-asks = { $client } möchte Sie von Portcullis abmelden.
logout-question = Möchten Sie sich von Portcullis abmelden?
logout-stay = Angemeldet bleiben
logged-out-title = Abgemeldet
logged-out-heading = Sie haben sich abgemeldet
logged-out-lead = Sie können dieses Fenster schließen oder sich erneut anmelden.

## response_mode=form_post
form-post-title = Sie werden angemeldet …
form-post-noscript = JavaScript ist deaktiviert: Klicken Sie auf „Weiter“, um zur Anwendung zurückzukehren.

## Fehlerseite
error-code = Fehler { $status }
error-home-link = Zurück zur Startseite
error-generic-title = Etwas ist schiefgelaufen
error-generic-message = Ihre Anfrage konnte leider nicht ausgeführt werden. Bitte versuchen Sie es in einem Moment erneut.

## Zweiter Schritt der Anmeldung
second-factor-title = Zwei-Faktor-Anmeldung
second-factor-lead = Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein.
second-factor-label = Code
second-factor-hint = Telefon verloren? Geben Sie stattdessen einen Ihrer Wiederherstellungscodes ein.
second-factor-submit = Bestätigen
second-factor-wrong = Dieser Code stimmt nicht oder wurde schon verwendet.
second-factor-throttled = Zu viele falsche Codes. Versuchen Sie es in { $seconds ->
        [one] { $seconds } Sekunde
       *[other] { $seconds } Sekunden
    } erneut.

# Passkeys on the sign-in pages
login-passkey = Mit einem Passkey anmelden
second-factor-lead-passkey = Bestätigen Sie mit Ihrem Passkey, dass Sie es sind.
second-factor-use-passkey = Passkey verwenden
second-factor-or-code = oder Code eingeben
passkey-error-failed = Der Passkey-Dialog wurde geschlossen oder ist fehlgeschlagen. Versuchen Sie es erneut.
passkey-error-disabled = Passkeys sind auf diesem Server nicht verfügbar.
passkey-error-expired = Das hat zu lange gedauert oder ist schon erledigt. Versuchen Sie es erneut.
passkey-error-rejected = Dieser Passkey konnte nicht geprüft werden.
passkey-error-unknown = Dieser Passkey ist hier für kein Konto registriert.
passkey-error-duplicate = Dieser Passkey ist bereits registriert.
passkey-error-throttled = Zu viele fehlgeschlagene Versuche. Warten Sie einige Minuten und versuchen Sie es erneut.
passkey-error-bad-request = Die Anfrage konnte nicht gelesen werden.
