# Der Kontobereich (/account/*).

account-nav-profile = Profil
account-nav-settings = Einstellungen
account-nav-password = Passwort
account-nav-sessions = Sitzungen
account-nav-apps = Verbundene Anwendungen
account-nav-methods = Anmeldemethoden
account-nav-delete = Konto löschen

## Profil
profile-verified = bestätigt
profile-not-verified = nicht bestätigt
profile-resend-verification = Bestätigungs-E-Mail erneut senden
profile-picture = Bild-URL
profile-picture-hint = Ein Link zu einem quadratischen Bild, das neben Ihrem Namen angezeigt wird.
profile-bio = Über mich
profile-bio-hint = Höchstens { $max } Zeichen.
profile-website = Website
profile-username = Benutzername
profile-username-hint = Optional. 3 bis 32 Zeichen: Buchstaben a–z, Ziffern, Punkte, Binde- oder Unterstriche. Apps, bei denen Sie sich anmelden, können ihn anzeigen; zum Anmelden dient er nie.
profile-timezone = Zeitzone
profile-timezone-hint = Zeiten auf Ihren Kontoseiten und in Sicherheits-E-Mails werden in dieser Zone angezeigt.
profile-save = Profil speichern
profile-change-email-heading = E-Mail-Adresse ändern
profile-new-email = Neue E-Mail-Adresse
profile-new-email-hint = Ihre Adresse ändert sich, sobald Sie dem Link folgen, den wir an die neue Adresse senden.
profile-send-verification-link = Bestätigungslink senden

## Einstellungen
settings-theme = Design
settings-theme-light = Hell
settings-theme-dark = Dunkel
settings-theme-system = Wie mein Gerät
settings-language = Sprache
settings-notifications = Mich per E-Mail über Sicherheitsereignisse informieren (neue Anmeldungen, Passwortänderungen)
settings-save = Einstellungen speichern

## Passwort
password-change-heading = Passwort ändern
password-change-lead = Wenn Sie Ihr Passwort ändern, werden Sie überall sonst abgemeldet.
password-set-heading = Passwort festlegen
password-set-lead = Für dieses Konto ist noch kein Passwort festgelegt. Legen Sie eines fest, um sich mit Ihrer E-Mail-Adresse und einem Passwort anmelden zu können.

## Sitzungen
sessions-lead = Diese Geräte sind derzeit bei Ihrem Konto angemeldet. Wenn Sie eines nicht erkennen, widerrufen Sie die Sitzung und ändern Sie Ihr Passwort.
sessions-unknown-browser = Unbekannter Browser
sessions-this-device = Dieses Gerät
sessions-ip = IP-Adresse
sessions-method = Angemeldet mit
sessions-created = Angemeldet am
sessions-last-active = Zuletzt aktiv
sessions-unknown = unbekannt
sessions-revoke = Widerrufen
sessions-none = Keine aktiven Sitzungen.
sessions-revoke-others = Alle anderen Sitzungen abmelden
sessions-method-password = Passwort
sessions-method-email-link = Anmeldelink per E-Mail
sessions-method-email-code = Code per E-Mail
sessions-method-email = Anmeldelink oder Code per E-Mail
profile-timezone-unset = UTC (nicht festgelegt)
sessions-method-other = Sonstige
sessions-second-factor = Zweiter Faktor
sessions-second-factor-otp = Authenticator-App oder Wiederherstellungscode

## Verbundene Anwendungen
apps-lead = Anwendungen, denen Sie die Anmeldung mit Ihrem Konto erlaubt haben. Wenn Sie den Zugriff widerrufen, werden sie abgemeldet und ihre Tokens ungültig.
apps-access = Zugriff:
apps-since = Seit { $date }
apps-revoke = Zugriff widerrufen
apps-none = Keine Anwendung hat Zugriff auf Ihr Konto.

## Anmeldemethoden
methods-lead = Mit jeder dieser Methoden weisen Sie nach, dass Sie es sind. Behalten Sie mindestens eine.
methods-password = Passwort
methods-added = Hinzugefügt am { $date }
methods-unlink = Trennen
methods-none = Für dieses Konto ist keine Anmeldemethode eingerichtet.
methods-set-password-before = {""}
methods-set-password-link = Legen Sie ein Passwort fest
methods-set-password-after = , um sich auch mit Ihrer E-Mail-Adresse anmelden zu können.
methods-link-heading = Weitere Anmeldemethode verknüpfen
methods-link = { $provider } verknüpfen

## Löschen
delete-lead = Das Löschen Ihres Kontos ist endgültig und kann nicht rückgängig gemacht werden.
delete-consequence-data = Alles, was über Sie gespeichert ist, wird entfernt: Profil, Einstellungen, Sitzungen und Anmeldemethoden.
delete-consequence-sessions = Sie werden auf allen Geräten abgemeldet.
delete-consequence-apps = Anwendungen, bei denen Sie sich mit diesem Konto angemeldet haben, verlieren den Zugriff darauf.
delete-confirm-label = Geben Sie zur Bestätigung DELETE ein
delete-confirm-hint = Geben Sie das Wort DELETE in Großbuchstaben ein.
delete-submit = Mein Konto löschen

## Wie ein angemeldetes Gerät beschrieben wird (Sitzungsliste)
device-unknown = Unbekanntes Gerät
device-browser-on-os = { $browser } unter { $os }
device-some-browser-on-os = Browser unter { $os }
device-plain = { $text }

## Zwei-Faktor-Anmeldung (/account/security)
account-nav-security = Zwei-Faktor-Anmeldung
security-totp-heading = Authenticator-App
security-off-lead = Schützen Sie Ihr Konto mit einem zweiten Schritt bei der Anmeldung: einem 6-stelligen Code aus einer Authenticator-App auf Ihrem Telefon (etwa Aegis, Google Authenticator oder 1Password).
security-enrol-start = Authenticator-App einrichten
security-enrol-lead = Fügen Sie dieses Konto in Ihrer Authenticator-App hinzu und geben Sie dann den angezeigten Code ein.
security-enrol-secret = Oder geben Sie diesen Schlüssel in der App ein (zeitbasiert, 6 Ziffern, 30 Sekunden):
security-enrol-qr = QR-Code zum Scannen mit Ihrer Authenticator-App
security-enrol-link = In einer Authenticator-App auf diesem Gerät öffnen
security-enrol-code = Code aus der App
security-enrol-confirm = Einschalten
security-cancel = Abbrechen
security-codes-heading = Wiederherstellungscodes
security-codes-lead = Bewahren Sie diese Wiederherstellungscodes sicher auf. Jeder meldet Sie einmal an, falls Sie Ihr Telefon verlieren. Sie werden nur jetzt angezeigt.
security-codes-saved = Ich habe sie gespeichert
security-enabled-lead = Die Zwei-Faktor-Anmeldung ist eingeschaltet: Nach Ihrem Passwort (oder einem Anmeldelink oder einem anderen Anbieter) fragen wir nach einem Code aus Ihrer Authenticator-App.
security-codes-left = Unbenutzte Wiederherstellungscodes: { $count }
security-codes-regenerate = Neue Wiederherstellungscodes erstellen
security-disable-heading = Ausschalten
security-disable-lead = Wenn Sie sich nicht in den letzten Minuten angemeldet haben, geben Sie Ihr Passwort ein, um die Zwei-Faktor-Anmeldung auszuschalten.
security-disable-submit = Zwei-Faktor-Anmeldung ausschalten
security-reauthenticate = Geben Sie dazu Ihr Passwort ein, oder melden Sie sich vorher ab und erneut an.
security-notice-enabled = Die Zwei-Faktor-Anmeldung ist eingeschaltet.
security-codes-saved-continue = Ich habe sie gespeichert, weiter
security-required-lead = Die Anwendung, bei der Sie sich anmelden, verlangt die Zwei-Faktor-Anmeldung. Schalten Sie sie hier ein, um fortzufahren.
security-notice-codes = Neue Wiederherstellungscodes erstellt; die alten gelten nicht mehr.
security-notice-disabled = Die Zwei-Faktor-Anmeldung ist ausgeschaltet.

# Passkeys
sessions-method-passkey = Passkey
passkeys-title = Passkeys
passkeys-lead = Mit einem Passkey melden Sie sich über die Displaysperre Ihres Geräts (Fingerabdruck, Gesicht oder PIN) statt mit einem Passwort an. Er dient auch als zweiter Schritt nach Ihrem Passwort.
passkeys-none = Sie haben noch keine Passkeys.
passkeys-created = Hinzugefügt
passkeys-last-used = Zuletzt verwendet
passkeys-never-used = Nie
passkeys-name = Name
passkeys-name-hint = z. B. Mein Laptop
passkeys-rename = Umbenennen
passkeys-remove = Entfernen
passkeys-remove-password = Ihr Passwort (außer Sie haben sich in den letzten Minuten angemeldet)
passkeys-add-heading = Passkey hinzufügen
passkeys-add = Passkey hinzufügen
passkeys-needs-script = Zum Hinzufügen eines Passkeys wird JavaScript benötigt.
passkeys-notice-added = Passkey hinzugefügt.
passkeys-notice-renamed = Passkey umbenannt.
passkeys-notice-removed = Passkey entfernt.
passkeys-reauthenticate = Um einen Passkey zu entfernen, geben Sie Ihr Passwort ein oder melden Sie sich vorher ab und wieder an.
security-passkeys-lead = Melden Sie sich mit der Displaysperre Ihres Geräts statt mit einem Passwort an, oder nutzen Sie einen Passkey als zweiten Schritt nach Ihrem Passwort.
security-passkeys-count = { $count ->
        [0] Sie haben noch keine Passkeys.
        [one] Sie haben einen Passkey.
       *[other] Passkeys: { $count }
    }
security-passkeys-manage = Passkeys verwalten
