# Texte aus dem Code des Servers: Formularfehler, Hinweise, Fehlerseiten.

## Fehler in Formularfeldern
error-name-missing = Geben Sie Ihren Namen ein.
error-name-control = Entfernen Sie die Sonderzeichen aus Ihrem Namen.
error-too-short = Verwenden Sie mindestens { $min } Zeichen.
error-too-long = Verwenden Sie höchstens { $max } Zeichen.
error-password-missing = Geben Sie ein Passwort ein.
error-email-missing = Geben Sie Ihre E-Mail-Adresse ein.
error-email-invalid = Geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com.
error-email-hidden = Diese Adresse enthält unsichtbare oder Sonderzeichen, oft durch Kopieren und Einfügen. Geben Sie sie erneut ein.
error-email-too-long = Diese E-Mail-Adresse ist zu lang.
error-email-taken = Mit dieser E-Mail-Adresse gibt es bereits ein Konto. Möchten Sie sich stattdessen anmelden?
error-email-same = Das ist bereits Ihre Adresse.
error-bad-credentials = E-Mail-Adresse oder Passwort ist falsch.
error-unverified = Bestätigen Sie zuerst Ihre E-Mail-Adresse: Folgen Sie dem Link, den wir Ihnen gesendet haben.
error-too-many-attempts = Zu viele Versuche, versuchen Sie es in { $seconds ->
        [one] { $seconds } Sekunde
       *[other] { $seconds } Sekunden
    } erneut.
error-password-locked = Zu viele falsche Passwörter: Die Anmeldung mit Passwort ist für dieses Konto { $minutes ->
        [one] { $minutes } Minute
       *[other] { $minutes } Minuten
    } lang pausiert. Melden Sie sich unten auf anderem Weg an, wählen Sie ein neues Passwort („Passwort vergessen?“), oder warten Sie.
error-password-locked-only = Zu viele falsche Passwörter: Die Anmeldung mit Passwort ist für dieses Konto { $minutes ->
        [one] { $minutes } Minute
       *[other] { $minutes } Minuten
    } lang pausiert. Wählen Sie ein neues Passwort („Passwort vergessen?“), oder warten Sie.
error-signup-too-many = Zu viele Registrierungen aus Ihrem Netzwerk. Versuchen Sie es später erneut.
error-current-password-missing = Geben Sie Ihr aktuelles Passwort ein.
error-current-password-wrong = Ihr aktuelles Passwort ist falsch.
error-password-wrong = Ihr Passwort ist falsch.
error-passwords-differ = Die Passwörter stimmen nicht überein.
error-type-delete = Geben Sie zur Bestätigung DELETE ein.
error-timezone = Wählen Sie eine Zeitzone aus der Liste.
error-username-length = Ein Benutzername hat 3 bis 32 Zeichen.
error-username-characters = Verwenden Sie Buchstaben a–z, Ziffern, Punkte, Binde- und Unterstriche; am Anfang und Ende ein Buchstabe oder eine Ziffer.
error-username-reserved = Dieser Benutzername ist reserviert. Wählen Sie einen anderen.
error-username-taken = Dieser Benutzername ist vergeben. Wählen Sie einen anderen.
error-theme = Wählen Sie Hell, Dunkel oder Wie mein Gerät.
error-language = Wählen Sie eine Sprache aus der Liste.
error-url = Geben Sie eine vollständige Webadresse ein, die mit https:// beginnt.
error-code-wrong = Dieser Code ist falsch oder abgelaufen. Prüfen Sie die E-Mail oder fordern Sie einen neuen Code an.

## Hinweise nach einer Aktion
notice-account-deleted = Ihr Konto und alle zugehörigen Daten wurden gelöscht.
notice-signed-out = Sie haben sich abgemeldet.
notice-password-reset = Ihr Passwort wurde geändert. Melden Sie sich mit dem neuen Passwort an.
notice-profile = Ihr Profil wurde gespeichert.
notice-settings = Ihre Einstellungen wurden gespeichert.
notice-password = Ihr Passwort wurde geändert. Andere Sitzungen wurden abgemeldet.
notice-revoked = Die Sitzung wurde widerrufen.
notice-revoked-others = Alle anderen Sitzungen wurden abgemeldet.
notice-verification-sent = Wir haben Ihnen einen neuen Bestätigungslink gesendet.
notice-change-sent = Wir haben einen Bestätigungslink an die neue Adresse gesendet. Ihre Adresse ändert sich, sobald Sie ihm folgen.
notice-method-linked = Die Anmeldemethode wurde verknüpft.
notice-method-unlinked = Die Anmeldemethode wurde entfernt.
notice-method-last = Das ist Ihre letzte Möglichkeit, sich anzumelden, daher kann sie nicht entfernt werden. Fügen Sie zuerst eine weitere hinzu.
notice-app-revoked = Der Zugriff wurde widerrufen.

## Meldungsseiten
check-email-title = Prüfen Sie Ihre E-Mails
signup-check-email = Wir haben einen Bestätigungslink an { $email } gesendet. Folgen Sie ihm und melden Sie sich dann an.
go-to-account = Zu Ihrem Konto
your-account = Ihr Konto
too-many-title = Zu viele Anfragen
too-many-message = Bitte warten Sie eine Weile, bevor Sie es erneut versuchen.
resend-sent = Falls zu dieser Adresse ein Konto gehört, das noch bestätigt werden muss, ist ein neuer Link unterwegs.
forgot-sent = Falls ein Konto diese Adresse verwendet, ist ein Link zum Zurücksetzen des Passworts unterwegs. Er ist eine Stunde lang gültig.
magic-sent = Falls ein Konto diese Adresse verwendet, ist ein Anmeldelink unterwegs. Er ist 15 Minuten lang gültig.
verify-confirm-message = Klicken Sie auf die Schaltfläche, um diese Adresse zu bestätigen.
verify-confirm-button = Meine Adresse bestätigen
verified-title = E-Mail-Adresse bestätigt
verified-message = Vielen Dank: Ihre E-Mail-Adresse ist bestätigt.
changed-title = E-Mail-Adresse geändert
changed-message = Ihre E-Mail-Adresse lautet jetzt { $email }.
taken-title = Adresse bereits vergeben
taken-message = Ein anderes Konto verwendet diese Adresse inzwischen, daher kann sie nicht auch Ihre sein.
link-expired-title = Link abgelaufen
verify-link-expired = Dieser Link ist ungültig, abgelaufen oder wurde bereits verwendet. Fordern Sie auf Ihrer Kontoseite einen neuen an.
reset-link-expired = Dieser Link zum Zurücksetzen ist ungültig, abgelaufen oder wurde bereits verwendet. Fordern Sie einen neuen an.
reset-link-request-new = Passwort zurücksetzen
magic-confirm-message = Klicken Sie auf die Schaltfläche, um die Anmeldung abzuschließen.
magic-link-expired = Dieser Anmeldelink ist ungültig, abgelaufen oder wurde bereits verwendet.
authorize-confirm-email = Folgen Sie dem Link, den wir an { $email } gesendet haben, um die Adresse zu bestätigen, und kehren Sie dann zur Anwendung zurück.

## Fehlerseiten
error-not-found-title = Seite nicht gefunden
error-not-found-message = Unter dieser Adresse gibt es nichts.
error-bad-request-title = Ungültige Anfrage
error-csrf-title = Dieses Formular ist abgelaufen
error-csrf-message = Das Formular war veraltet oder wurde von einer anderen Website gesendet. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.
error-account-disabled-title = Konto deaktiviert
error-account-disabled-message = Dieses Konto wurde deaktiviert. Wenden Sie sich an Ihren Administrator.
error-login-required-title = Anmeldung erforderlich
error-login-required-message = Bitte melden Sie sich an.
error-unavailable-title = Vorübergehend nicht verfügbar
error-unavailable-message = Der Dienst ist ausgelastet oder seine Datenbank ist nicht erreichbar. Bitte versuchen Sie es in Kürze erneut.
error-conflict-title = Inzwischen hat sich etwas geändert
error-duplicate-message = Jemand anderes hat im selben Moment denselben Namen oder dieselbe Adresse verwendet. Nichts wurde gespeichert: Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
error-reference-message = Was Sie ändern wollten, wurde inzwischen entfernt oder wird noch verwendet. Nichts wurde gespeichert: Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
error-not-saved-title = Das konnte nicht gespeichert werden
error-not-saved-message = Ein Teil der Angaben fehlt oder liegt außerhalb des Erlaubten. Nichts wurde gespeichert: Gehen Sie zurück, prüfen Sie das Formular und versuchen Sie es noch einmal.
error-timeout-title = Das hat zu lange gedauert
error-timeout-message = Die Datenbank war ausgelastet und hat nicht rechtzeitig geantwortet. Nichts wurde geändert: Bitte versuchen Sie es gleich noch einmal.
error-unexpected-message = Ein unerwarteter Fehler ist aufgetreten. Bitte versuchen Sie es erneut.
error-form-too-large = Das Formular ist zu groß.
error-form-unreadable = Das Formular konnte nicht gelesen werden. Gehen Sie zurück und versuchen Sie es erneut.
error-authorize-expired = Diese Anmeldeanfrage ist abgelaufen oder ungültig. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.
error-client-gone = Die Anwendung ist hier nicht mehr registriert.

## Anmeldung über einen anderen Anbieter
upstream-failed-title = Anmeldung nicht abgeschlossen
upstream-refused-title = Anmeldung auf diesem Weg noch nicht möglich
upstream-denied = Sie haben die Anmeldung bei { $provider } abgebrochen.
upstream-provider-error = { $provider } hat einen Fehler gemeldet: { $detail }
upstream-unreachable = { $provider } war nicht erreichbar oder hat nicht rechtzeitig geantwortet. Bitte versuchen Sie es erneut.
upstream-invalid = Die Antwort von { $provider } konnte nicht überprüft werden ({ $detail }).
upstream-bad-state = Dieser Anmeldelink ist abgelaufen oder wurde bereits verwendet. Bitte beginnen Sie erneut.
upstream-no-verified-email = { $provider } hat uns keine bestätigte E-Mail-Adresse übermittelt, die für die Anmeldung jedoch erforderlich ist.
upstream-restricted-domains = Die Anmeldung mit { $provider } ist auf bestätigte Adressen bei { $domains } beschränkt.
upstream-restricted-orgs = Die Anmeldung mit { $provider } ist auf Mitglieder von { $orgs } beschränkt.
upstream-too-large = { $provider } hat eine größere Antwort gesendet, als wir annehmen. Bitte versuchen Sie es später erneut oder informieren Sie die Administration, wenn es wieder vorkommt.
upstream-misconfigured = { $provider } hat Einstellungen veröffentlicht, die wir nicht verwenden können ({ $detail }). Bitte informieren Sie die Administration.
upstream-link-session-ended = Die Verknüpfung wurde in einer Sitzung begonnen, die inzwischen beendet ist (abgemeldet, oder in diesem Browser hat sich jemand anderes angemeldet). Es wurde nichts verknüpft. Bitte melden Sie sich an und beginnen Sie die Verknüpfung erneut.
upstream-bad-answer = { $provider } hat keine verwertbare Antwort gegeben. Bitte versuchen Sie es später erneut oder wenden Sie sich an die Administration, wenn es wieder vorkommt.
error-cause = Ursache: { $cause }.
upstream-cause-dns = { $host } konnte nicht aufgelöst werden (DNS)
upstream-cause-refused = Verbindung von { $address } abgelehnt
upstream-cause-connect-timeout = Zeitüberschreitung beim Verbinden mit { $address }
upstream-cause-connect = keine Verbindung zu { $address } möglich
upstream-cause-tls = die sichere Verbindung (TLS) zu { $host } ist fehlgeschlagen
upstream-cause-timeout = { $host } hat nicht rechtzeitig geantwortet
upstream-cause-status = HTTP { $status } von { $endpoint }
upstream-cause-not-json = { $endpoint } hat nicht mit JSON geantwortet
upstream-cause-missing-field = { $endpoint } fehlt das Feld { $field }
upstream-cause-invalid-field = { $endpoint } enthält ein unbrauchbares { $field }
upstream-cause-client-rejected = { $endpoint } hat unsere Client-Zugangsdaten abgelehnt
upstream-cause-too-large = { $endpoint } hat mehr gesendet, als wir annehmen
upstream-cause-not-web = { $endpoint } ist keine http(s)-Adresse
upstream-cause-other = die Anfrage an { $endpoint } ist fehlgeschlagen
link-linked-elsewhere = Dieses { $provider }-Konto ist bereits mit einem anderen Portcullis-Konto verknüpft.
link-no-email = { $provider } hat keine E-Mail-Adresse übermittelt, die für die Erstellung eines Kontos jedoch erforderlich ist.
link-unverified = Bestätigen Sie zuerst Ihre E-Mail-Adresse { $email }: Folgen Sie dem Link, den wir Ihnen gesendet haben, und melden Sie sich dann erneut an.

## Anfragen von Anwendungen, die nicht bearbeitet werden können
authorize-no-client-id = Die Anwendung hat nicht angegeben, wer sie ist (client_id fehlt).
authorize-unknown-client = Die Anwendung ist hier nicht registriert (unbekannte client_id).
authorize-no-redirect-uri = Die Anwendung hat nicht angegeben, wohin Sie zurückgeleitet werden sollen (redirect_uri fehlt).
authorize-redirect-mismatch = Die Anwendung möchte Sie an eine Adresse weiterleiten, die sie nicht registriert hat (redirect_uri stimmt nicht überein).
authorize-repeated = Die Anmeldeanfrage ist fehlerhaft (client_id oder redirect_uri mehrfach angegeben).
logout-bad-id-token = Die Abmeldeanfrage enthielt ein ungültiges ID-Token.
logout-two-clients = Die Abmeldeanfrage nennt zwei verschiedene Anwendungen.
logout-unknown-client = Die Abmeldeanfrage nennt eine unbekannte Anwendung.
logout-unregistered-redirect = Die Anwendung möchte zu einer Adresse zurückkehren, die sie nicht registriert hat.
notice-second-factor-expired = Diese Anmeldung hat zu lange gedauert oder ist schon abgeschlossen. Bitte melden Sie sich erneut an.
link-cannot-prove = Ein Konto mit der E-Mail-Adresse { $email } existiert bereits, aber es gibt keinen Weg zu beweisen, dass es Ihres ist. Bitten Sie eine Administratorin oder einen Administrator um Hilfe.
link-pending-expired = Diese Anfrage zum Verknüpfen ist abgelaufen oder wurde schon verwendet. Es wurde nichts verknüpft. Melden Sie sich erneut an, um neu zu beginnen.
link-prove-title = Ist das Ihr Konto?
link-prove-lead = Laut { $provider } sind Sie { $email }, und hier existiert bereits ein Konto mit dieser Adresse.
link-prove-why = Um sich künftig mit { $provider } anzumelden, beweisen Sie zuerst, dass das bestehende Konto Ihnen gehört. Bis dahin wird nichts verknüpft.
link-prove-sign-in = Bei Ihrem Konto anmelden
link-prove-email = Bestätigungslink per E-Mail senden
link-cancel-button = Abbrechen, nicht verknüpfen
link-confirm-title = { $provider } mit Ihrem Konto verknüpfen?
link-confirm-lead = Sie können sich dann bei { $account } mit dem { $provider }-Konto { $email } anmelden.
link-confirm-button = { $provider } verknüpfen
link-done-title = Konto verknüpft
link-done = { $provider } ist jetzt eine Möglichkeit, sich bei Ihrem Konto anzumelden.
link-continue = Weiter mit { $provider }
link-not-linked-title = Es wurde nichts verknüpft
link-other-account = Sie haben ein anderes Konto bestätigt als das mit dieser Adresse, daher wurde { $provider } mit keinem von beiden verknüpft.
link-cancelled = Es wurde nichts verknüpft; beide Konten sind unverändert.
link-proof-too-many = An diese Adresse wurden zuletzt zu viele E-Mails gesendet. Bitte warten Sie eine Weile oder melden Sie sich stattdessen bei Ihrem Konto an.
link-proof-sent = Wir haben einen Link an die Adresse Ihres Kontos gesendet. Öffnen Sie ihn innerhalb von { $minutes } Minuten in diesem Browser.
link-mailed-lead = Ihre Adresse ist bestätigt. { $provider } mit Ihrem Konto verknüpfen?
link-proof-invalid = Dieser Link ist abgelaufen, wurde schon verwendet oder in einem anderen Browser geöffnet als dem, in dem Sie sich angemeldet haben. Es wurde nichts verknüpft.
not-me-title = Das war ich nicht
not-me-lead = Die neu verknüpfte Anmeldemethode aus Ihrem Konto entfernen und alle damit geöffneten Sitzungen beenden?
not-me-button = Entfernen und abmelden
not-me-expired = Dieser Link ist abgelaufen oder wurde schon verwendet. Anmeldemethoden können Sie weiterhin auf Ihrer Kontoseite entfernen.
not-me-done = Die Anmeldemethode wurde entfernt, und die damit geöffneten Sitzungen wurden beendet. Wenn Sie glauben, dass jemand Ihr Passwort kennt, setzen Sie es jetzt zurück.
notice-merged = Das andere Konto wurde mit diesem zusammengeführt. Seine Anmeldemethoden gehören jetzt zu Ihnen.
merge-title = Ein anderes Konto mit diesem zusammenführen
merge-heading = Zwei Konten?
merge-teaser = Wenn Sie hier ein zweites Konto haben, können Sie es mit diesem zusammenführen.
merge-link = Konten zusammenführen
merge-lead = Dieses Konto ({ $email }) bleibt. Melden Sie sich als Nächstes in diesem Browser beim anderen Konto an, mit einer seiner Anmeldemethoden; danach bestätigen Sie die Zusammenführung.
merge-start-button = Beim anderen Konto anmelden
merge-confirm-lead = { $merged } mit { $survivor } zusammenführen?
merge-confirm-methods = Seine Anmeldemethoden (Anbieter, Passkeys und sein Passwort, falls das andere Konto keines hat) gehen an { $survivor } über.
merge-confirm-apps = Anwendungen, die Sie damit genutzt haben, bitten Sie erneut um Anmeldung.
merge-confirm-gone = { $merged } wird danach endgültig entfernt, mit seinen Sitzungen und zweiten Faktoren.
merge-take-name = Den Namen dieses Kontos verwenden ({ $name })
merge-take-picture = Das Bild dieses Kontos verwenden
merge-confirm-button = { $merged } damit zusammenführen
merge-expired = Diese Zusammenführung ist abgelaufen oder wurde schon verwendet. Es wurde nichts zusammengeführt. Beginnen Sie erneut auf Ihrer Kontoseite.
merge-same = Sie haben sich erneut beim selben Konto angemeldet. Melden Sie sich beim anderen Konto an, um es zusammenzuführen.
