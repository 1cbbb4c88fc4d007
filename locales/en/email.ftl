# Emails. The first line of each text mail is its subject.

email-greeting = Hi,
email-greeting-name = Hi { $name },
email-footer = You received this because someone used this address at Portcullis. If it was not you, ignore this message.
email-button-fallback = If the button does not work, copy this address into your browser:

email-verify-intro-html = Please confirm your email address for Portcullis.
email-verify-intro-text = Please confirm your email address for Portcullis by opening this link:
email-verify-button = Confirm email address
email-verify-validity-hours = The link is valid for { $hours ->
        [one] { $hours } hour
       *[other] { $hours } hours
    }.
email-verify-validity-minutes = The link is valid for { $minutes } minutes.

email-reset-intro-html = Someone asked to reset the password of your Portcullis account. Use the button below to choose a new password.
email-reset-intro-text = Someone asked to reset the password of your Portcullis account. To choose a new password, open this link:
email-reset-validity = The link is valid for { $minutes } minutes and works once.
email-reset-not-you = If you did not ask, ignore this; your password stays the same.

email-changed-title = Your password was changed
email-changed-intro = Your password was just changed and all your sessions were signed out.
email-changed-not-you = If this was not you, reset your password now:

email-magic-title = Your sign-in link
email-magic-intro-html = Use the button below to sign in to Portcullis.
email-magic-intro-text = Open this link to sign in to Portcullis:
email-magic-button = Sign in to Portcullis
email-magic-validity = The link is valid for { $minutes } minutes and works once. If you did not ask to sign in, ignore this message; nobody can sign in without the link.

email-code-title = Your sign-in code
email-code-subject = Your sign-in code: { $code }
email-code-intro = Your Portcullis sign-in code is:
email-code-instructions = Enter it on the sign-in page. The code is valid for { $minutes } minutes and works once. Never share it: Portcullis will never ask you for it.

# Security notices (sent only with the "Email me about security events" setting on)
notice-when = When:
notice-device = Device:
notice-ip = IP address:
notice-method = Signed in with:
notice-unknown-ip = unknown
notice-if-you = If this was you, there is nothing to do.
notice-footer = You receive security notices because they are on in your account settings:
notice-review-sessions = Review your sessions
notice-new-device-title = New sign-in to your account
notice-new-device-intro = Your Portcullis account was just signed in to from a device or browser it had not used before.
notice-new-device-not-you = If it was not you, change your password now and revoke the sessions you do not recognise:
notice-password-title = Your password was changed
notice-password-intro = The password of your Portcullis account was changed from your account page on { $when }. Your other sessions were signed out.
notice-password-not-you = If it was not you, reset your password now:
notice-email-title = Your email address was changed
notice-email-intro = The email address of your Portcullis account was changed on { $when } from { $old } to { $new }. Mail about the account now goes to the new address.
notice-email-not-you = If it was not you, someone else may control your account: contact the people who run this service right away, and tell them which account it is ({ $old }).

# Password soft-locked after too many wrong passwords (sent whatever the notice setting)
notice-locked-title = Password sign-in to your account is paused
notice-locked-intro = Someone entered a wrong password for your Portcullis account too many times, so signing in with the password is paused until { $until }.
notice-locked-still-in = You can still sign in without the password, in the other ways the sign-in page offers:
notice-locked-not-you = If these attempts were not you, someone may be guessing your password: choose a new, strong one.
notice-locked-reset-ends = Choosing a new password also ends the pause at once:

# Sign-up with an address that already has an account
email-registered-title = You already have an account
email-registered-intro = Someone (probably you) tried to create a Portcullis account with this address, but you already have an account.
email-registered-sign-in = Sign in:
email-registered-reset = Forgot your password? Reset it:
email-registered-not-you = If it was not you, ignore this message; nothing has changed.
notice-mfa-on-title = Two-factor sign-in was turned on
notice-mfa-on-intro = Two-factor sign-in with an authenticator app was turned on for your Portcullis account on { $when }.
notice-mfa-off-title = Two-factor sign-in was turned off
notice-mfa-off-intro = Two-factor sign-in was turned off for your Portcullis account on { $when }. Signing in now needs only your password (or a sign-in link).
notice-recovery-title = A recovery code was used
notice-recovery-intro = One of your recovery codes was used to sign in to your Portcullis account on { $when }. It cannot be used again.
notice-passkey-added-title = A passkey was added
notice-passkey-added-intro = A passkey named “{ $passkey }” was added to your Portcullis account on { $when }. It signs in without a password.
notice-passkey-removed-title = A passkey was removed
notice-passkey-removed-intro = The passkey named “{ $passkey }” was removed from your Portcullis account on { $when }.
notice-mfa-not-you = If it was not you, change your password now and check your two-factor settings:
link-proof-mail-subject = Confirm linking { $provider } to your account
link-proof-mail-intro = Someone — we hope you — signed in with { $provider } using your address and asked to link it to your Portcullis account. Open this link in the same browser to confirm it is you:
link-proof-mail-button = Confirm and link { $provider }
link-proof-mail-ignore = If it was not you, ignore this email: nothing is linked without it.
method-linked-subject = { $provider } was linked to your account
method-linked-intro = { $provider } was linked to your Portcullis account on { $when }: it can now be used to sign in.
method-linked-not-you = If it was not you, remove it and end the sessions it opened with one click:
method-linked-not-me-button = This was not me
method-linked-manage = Your sign-in methods:

# An admin's test message (admin console, Mail)
test-mail-subject = Portcullis test message
test-mail-body = This test message comes from the identity server at { $issuer }. If it reached you, outgoing mail works.
