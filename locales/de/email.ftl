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

# Sicherheitshinweise (nur mit der Einstellung „Über Sicherheitsereignisse informieren“)
notice-when = Wann:
notice-device = Gerät:
notice-ip = IP-Adresse:
notice-method = Angemeldet mit:
notice-unknown-ip = unbekannt
notice-if-you = Wenn Sie das waren, müssen Sie nichts tun.
notice-footer = Sie erhalten Sicherheitshinweise, weil sie in Ihren Kontoeinstellungen eingeschaltet sind:
notice-review-sessions = Sitzungen prüfen
notice-new-device-title = Neue Anmeldung bei Ihrem Konto
notice-new-device-intro = Bei Ihrem Portcullis-Konto hat sich gerade jemand von einem Gerät oder Browser angemeldet, das bisher nicht verwendet wurde.
notice-new-device-not-you = Wenn Sie das nicht waren, ändern Sie jetzt Ihr Passwort und beenden Sie die Sitzungen, die Sie nicht kennen:
notice-password-title = Ihr Passwort wurde geändert
notice-password-intro = Das Passwort Ihres Portcullis-Kontos wurde am { $when } auf Ihrer Kontoseite geändert. Ihre anderen Sitzungen wurden abgemeldet.
notice-password-not-you = Wenn Sie das nicht waren, setzen Sie Ihr Passwort jetzt zurück:
notice-email-title = Ihre E-Mail-Adresse wurde geändert
notice-email-intro = Die E-Mail-Adresse Ihres Portcullis-Kontos wurde am { $when } von { $old } zu { $new } geändert. E-Mails zum Konto gehen jetzt an die neue Adresse.
notice-email-not-you = Wenn Sie das nicht waren, hat möglicherweise jemand anderes Zugriff auf Ihr Konto: Wenden Sie sich sofort an die Betreiber dieses Dienstes und nennen Sie ihnen das Konto ({ $old }).

# Password soft-locked after too many wrong passwords (sent whatever the notice setting)
notice-locked-title = Die Anmeldung mit Passwort ist pausiert
notice-locked-intro = Für Ihr Portcullis-Konto wurde zu oft ein falsches Passwort eingegeben. Die Anmeldung mit Passwort ist deshalb bis { $until } pausiert.
notice-locked-still-in = Sie können sich weiterhin ohne Passwort anmelden, auf den anderen Wegen, die die Anmeldeseite anbietet:
notice-locked-not-you = Falls diese Versuche nicht von Ihnen stammen, versucht jemand vielleicht, Ihr Passwort zu erraten: Wählen Sie ein neues, sicheres Passwort.
notice-locked-reset-ends = Ein neues Passwort beendet die Pause sofort:

# Sign-up with an address that already has an account
email-registered-title = Sie haben bereits ein Konto
email-registered-intro = Jemand (wahrscheinlich Sie) wollte mit dieser Adresse ein Portcullis-Konto anlegen, aber Sie haben bereits eines.
email-registered-sign-in = Anmelden:
email-registered-reset = Passwort vergessen? Setzen Sie es zurück:
email-registered-not-you = Falls das nicht Sie waren, ignorieren Sie diese Nachricht; es hat sich nichts geändert.
notice-mfa-on-title = Zwei-Faktor-Anmeldung eingeschaltet
notice-mfa-on-intro = Für Ihr Portcullis-Konto wurde am { $when } die Zwei-Faktor-Anmeldung mit einer Authenticator-App eingeschaltet.
notice-mfa-off-title = Zwei-Faktor-Anmeldung ausgeschaltet
notice-mfa-off-intro = Für Ihr Portcullis-Konto wurde am { $when } die Zwei-Faktor-Anmeldung ausgeschaltet. Zur Anmeldung genügt jetzt Ihr Passwort (oder ein Anmeldelink).
notice-recovery-title = Ein Wiederherstellungscode wurde verwendet
notice-recovery-intro = Am { $when } wurde mit einem Ihrer Wiederherstellungscodes eine Anmeldung bei Ihrem Portcullis-Konto durchgeführt. Der Code ist nun verbraucht.
notice-passkey-added-title = Ein Passkey wurde hinzugefügt
notice-passkey-added-intro = Am { $when } wurde Ihrem Portcullis-Konto ein Passkey namens „{ $passkey }“ hinzugefügt. Mit ihm ist eine Anmeldung ohne Passwort möglich.
notice-passkey-removed-title = Ein Passkey wurde entfernt
notice-passkey-removed-intro = Am { $when } wurde der Passkey „{ $passkey }“ aus Ihrem Portcullis-Konto entfernt.
notice-mfa-not-you = Wenn Sie das nicht waren, ändern Sie jetzt Ihr Passwort und prüfen Sie Ihre Zwei-Faktor-Einstellungen:
link-proof-mail-subject = Verknüpfung von { $provider } mit Ihrem Konto bestätigen
link-proof-mail-intro = Jemand – hoffentlich Sie – hat sich mit { $provider } und Ihrer Adresse angemeldet und möchte das mit Ihrem Portcullis-Konto verknüpfen. Öffnen Sie diesen Link im selben Browser, um zu bestätigen, dass Sie es sind:
link-proof-mail-button = Bestätigen und { $provider } verknüpfen
link-proof-mail-ignore = Wenn Sie das nicht waren, ignorieren Sie diese E-Mail: Ohne sie wird nichts verknüpft.
method-linked-subject = { $provider } wurde mit Ihrem Konto verknüpft
method-linked-intro = Am { $when } wurde { $provider } mit Ihrem Portcullis-Konto verknüpft und kann jetzt zur Anmeldung verwendet werden.
method-linked-not-you = Wenn Sie das nicht waren, entfernen Sie es mit einem Klick und beenden Sie die damit geöffneten Sitzungen:
method-linked-not-me-button = Das war ich nicht
method-linked-manage = Ihre Anmeldemethoden:

# An admin's test message (admin console, Mail)
test-mail-subject = Portcullis-Testnachricht
test-mail-body = Diese Testnachricht kommt vom Identitätsserver unter { $issuer }. Wenn sie Sie erreicht hat, funktioniert der Mailversand.
