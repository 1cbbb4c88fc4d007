# E-Mails. Die erste Zeile jeder Text-E-Mail ist ihr Betreff.

email-greeting = Guten Tag,
email-greeting-name = Guten Tag { $name },
email-footer = Sie erhalten diese Nachricht, weil jemand diese Adresse bei Portcullis angegeben hat. Falls Sie das nicht waren, ignorieren Sie diese Nachricht bitte.
email-button-fallback = Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:

email-verify-intro-html = Bitte bestätigen Sie Ihre E-Mail-Adresse für Portcullis.
email-verify-intro-text = Bitte bestätigen Sie Ihre E-Mail-Adresse für Portcullis, indem Sie diesen Link öffnen:
email-verify-button = E-Mail-Adresse bestätigen
email-verify-validity-hours = Der Link ist { $hours ->
        [one] eine Stunde
       *[other] { $hours } Stunden
    } lang gültig.
email-verify-validity-minutes = Der Link ist { $minutes } Minuten lang gültig.

email-reset-intro-html = Jemand hat angefordert, das Passwort Ihres Portcullis-Kontos zurückzusetzen. Über die Schaltfläche unten können Sie ein neues Passwort festlegen.
email-reset-intro-text = Jemand hat angefordert, das Passwort Ihres Portcullis-Kontos zurückzusetzen. Um ein neues Passwort festzulegen, öffnen Sie diesen Link:
email-reset-validity = Der Link ist { $minutes } Minuten lang gültig und kann nur einmal verwendet werden.
email-reset-not-you = Falls Sie das nicht angefordert haben, ignorieren Sie diese Nachricht; Ihr Passwort bleibt unverändert.

email-changed-title = Ihr Passwort wurde geändert
email-changed-intro = Ihr Passwort wurde soeben geändert, und alle Ihre Sitzungen wurden abgemeldet.
email-changed-not-you = Falls Sie das nicht waren, setzen Sie Ihr Passwort jetzt zurück:

email-magic-title = Ihr Anmeldelink
email-magic-intro-html = Über die Schaltfläche unten melden Sie sich bei Portcullis an.
email-magic-intro-text = Öffnen Sie diesen Link, um sich bei Portcullis anzumelden:
email-magic-button = Bei Portcullis anmelden
email-magic-validity = Der Link ist { $minutes } Minuten lang gültig und kann nur einmal verwendet werden. Falls Sie keine Anmeldung angefordert haben, ignorieren Sie diese Nachricht; ohne den Link kann sich niemand anmelden.

email-code-title = Ihr Anmeldecode
email-code-subject = Ihr Anmeldecode: { $code }
email-code-intro = Ihr Anmeldecode für Portcullis lautet:
email-code-instructions = Geben Sie ihn auf der Anmeldeseite ein. Der Code ist { $minutes } Minuten lang gültig und kann nur einmal verwendet werden. Geben Sie ihn niemals weiter: Portcullis wird Sie nie danach fragen.
