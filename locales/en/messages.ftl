# Texts produced by the server's code: form errors, notices, error pages.

## Form field errors
error-name-missing = Enter your name.
error-name-control = Remove the special characters from your name.
error-too-short = Use at least { $min } characters.
error-too-long = Use at most { $max } characters.
error-password-missing = Enter a password.
error-email-missing = Enter your email address.
error-email-invalid = Enter a valid email address, like name@example.com.
error-email-hidden = This address contains invisible or special characters, often picked up by copy and paste. Type it again.
error-email-too-long = That email address is too long.
error-email-taken = An account with this email already exists. Sign in instead?
error-email-same = That is already your address.
error-bad-credentials = Incorrect email or password.
error-unverified = Confirm your email address first: follow the link we sent you.
error-too-many-attempts = Too many attempts, try again in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }.
error-password-locked = Too many wrong passwords: signing in with the password is paused for this account for { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }. Sign in another way below, choose a new password ("Forgot your password?"), or wait.
error-password-locked-only = Too many wrong passwords: signing in with the password is paused for this account for { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }. Choose a new password ("Forgot your password?"), or wait.
error-signup-too-many = Too many sign-ups from your network. Try again later.
error-current-password-missing = Enter your current password.
error-current-password-wrong = Your current password is incorrect.
error-password-wrong = Your password is incorrect.
error-passwords-differ = The passwords do not match.
error-type-delete = Type DELETE to confirm.
error-timezone = Choose a time zone from the list.
error-username-length = A username has 3 to 32 characters.
error-username-characters = Use letters a–z, digits, dots, dashes and underscores, starting and ending with a letter or digit.
error-username-reserved = This username is reserved. Choose another.
error-username-taken = This username is taken. Choose another.
error-theme = Choose light, dark or system.
error-language = Choose a language from the list.
error-url = Enter a full web address starting with https://.
error-code-wrong = That code is not right, or it has expired. Check the email, or ask for a new code.

## Notices after an action
notice-account-deleted = Your account and everything in it have been deleted.
notice-signed-out = You have signed out.
notice-password-reset = Your password has been changed. Sign in with the new one.
notice-profile = Your profile has been saved.
notice-settings = Your settings have been saved.
notice-password = Your password has been changed. Other sessions were signed out.
notice-revoked = The session has been revoked.
notice-revoked-others = All other sessions have been signed out.
notice-verification-sent = We sent you a new confirmation link.
notice-change-sent = We sent a confirmation link to the new address. Your address changes once you follow it.
notice-method-linked = The sign-in method has been linked.
notice-method-unlinked = The sign-in method has been removed.
notice-method-last = That is your last way to sign in, so it cannot be removed. Add another first.
notice-app-revoked = Access has been revoked.

## Message pages
check-email-title = Check your email
signup-check-email = We sent a confirmation link to { $email }. Follow it, then sign in.
go-to-account = Go to your account
your-account = Your account
too-many-title = Too many requests
too-many-message = Please wait a while before asking again.
resend-sent = If that address has an account that still needs confirming, a new link is on its way.
forgot-sent = If an account uses that address, a link to reset the password is on its way. It works for one hour.
magic-sent = If an account uses that address, a sign-in link is on its way. It works for 15 minutes.
verify-confirm-message = Press the button to confirm this address.
verify-confirm-button = Confirm my address
verified-title = Email address confirmed
verified-message = Thank you: your email address is confirmed.
changed-title = Email address changed
changed-message = Your email address is now { $email }.
taken-title = Address already in use
taken-message = Another account now uses this address, so it cannot be yours too.
link-expired-title = Link expired
verify-link-expired = This link is invalid, expired or already used. Ask for a new one from your account page.
reset-link-expired = This reset link is invalid, expired or already used. Ask for a new one.
reset-link-request-new = Reset my password
magic-confirm-message = Press the button to finish signing in.
magic-link-expired = This sign-in link is invalid, expired or already used.
authorize-confirm-email = Follow the link we sent to { $email } to confirm it, then go back to the application.

## Error pages
error-not-found-title = Page not found
error-not-found-message = There is nothing at this address.
error-bad-request-title = Bad request
error-csrf-title = This form has expired
error-csrf-message = The form was stale or was sent from another site. Go back, reload the page and try again.
error-account-disabled-title = Account disabled
error-account-disabled-message = This account has been disabled. Contact your administrator.
error-login-required-title = Sign-in required
error-login-required-message = Please sign in.
error-unavailable-title = Temporarily unavailable
error-unavailable-message = The service is busy or its database is unreachable. Please try again shortly.
error-conflict-title = This changed in the meantime
error-duplicate-message = Someone else took the same name or address at the same moment. Nothing was saved: go back, reload the page and try again.
error-reference-message = What you were changing was removed, or is still in use, in the meantime. Nothing was saved: go back, reload the page and try again.
error-not-saved-title = That could not be saved
error-not-saved-message = Part of what was sent is missing or outside what is allowed. Nothing was saved: go back, check the form and try again.
error-timeout-title = That took too long
error-timeout-message = The database was busy and did not answer in time. Nothing was changed: please try again in a moment.
error-unexpected-message = An unexpected error occurred. Please try again.
error-form-too-large = The form is too large.
error-form-unreadable = The form could not be read. Go back and try again.
error-authorize-expired = This sign-in request has expired or is invalid. Go back to the application and start again.
error-client-gone = The application is no longer registered here.

## Sign-in with another provider
upstream-failed-title = Sign-in did not complete
upstream-refused-title = Cannot sign in this way yet
upstream-denied = You cancelled the sign-in at { $provider }.
upstream-provider-error = { $provider } reported an error: { $detail }
upstream-unreachable = { $provider } could not be reached or did not answer in time. Please try again.
upstream-invalid = The answer from { $provider } could not be verified ({ $detail }).
upstream-bad-state = This sign-in link has expired or was already used. Please start again.
upstream-no-verified-email = { $provider } did not share a verified email address with us, and one is needed to sign in.
upstream-restricted-domains = Sign-in with { $provider } is limited to verified addresses at { $domains }.
upstream-restricted-orgs = Sign-in with { $provider } is limited to members of { $orgs }.
upstream-too-large = { $provider } sent an answer larger than we accept. Please try again later, or tell the administrator if it keeps happening.
upstream-misconfigured = { $provider } published settings we cannot use ({ $detail }). Please tell the administrator.
upstream-link-session-ended = Linking was started in a session that has since ended (signed out, or someone else signed in in this browser). Nothing was linked. Please sign in and start linking again.
upstream-bad-answer = { $provider } did not give a usable answer. Please try again later, or tell the administrator if it keeps happening.
error-cause = Cause: { $cause }.
upstream-cause-dns = could not resolve { $host } (DNS)
upstream-cause-refused = connection refused by { $address }
upstream-cause-connect-timeout = connecting to { $address } timed out
upstream-cause-connect = could not connect to { $address }
upstream-cause-tls = the secure connection (TLS) to { $host } failed
upstream-cause-timeout = { $host } did not answer in time
upstream-cause-status = HTTP { $status } from { $endpoint }
upstream-cause-not-json = { $endpoint } did not answer JSON
upstream-cause-missing-field = { $endpoint } lacks the field { $field }
upstream-cause-invalid-field = { $endpoint } has an unusable { $field }
upstream-cause-client-rejected = { $endpoint } refused our client credentials
upstream-cause-too-large = { $endpoint } answered more than we accept
upstream-cause-not-web = { $endpoint } is not an http(s) address
upstream-cause-other = the request to { $endpoint } failed
link-linked-elsewhere = This { $provider } account is already linked to another Portcullis account.
link-no-email = { $provider } did not share an email address, and one is needed to create an account.
link-unverified = Confirm your email address { $email } first: follow the link we sent you, then sign in again.

## Requests from applications that cannot be served
authorize-no-client-id = The application did not say who it is (client_id is missing).
authorize-unknown-client = The application is not registered here (unknown client_id).
authorize-no-redirect-uri = The application did not say where to send you back (redirect_uri is missing).
authorize-redirect-mismatch = The application asked to send you to an address it has not registered (redirect_uri mismatch).
authorize-repeated = The sign-in request is malformed (client_id or redirect_uri repeated).
logout-bad-id-token = The sign-out request carried an invalid ID token.
logout-two-clients = The sign-out request names two different applications.
logout-unknown-client = The sign-out request names an unknown application.
logout-unregistered-redirect = The application asked to return to an address it has not registered.
notice-second-factor-expired = That sign-in took too long or was already finished. Please sign in again.
link-cannot-prove = An account with the email { $email } already exists, and it has no way to prove it is yours. Ask an administrator for help.
link-pending-expired = This request to link an account has expired or was already used. Nothing was linked. Sign in again to start over.
link-prove-title = Is this your account?
link-prove-lead = { $provider } says you are { $email }, and an account with that address already exists here.
link-prove-why = To sign in with { $provider } from now on, first prove that the existing account is yours. Until you do, nothing is linked.
link-prove-sign-in = Sign in to your account
link-prove-email = Email me a link to confirm
link-cancel-button = Cancel, do not link
link-confirm-title = Link { $provider } to your account?
link-confirm-lead = You can then sign in to { $account } with the { $provider } account { $email }.
link-confirm-button = Link { $provider }
link-done-title = Account linked
link-done = { $provider } is now a way to sign in to your account.
link-continue = Continue with { $provider }
link-not-linked-title = Nothing was linked
link-other-account = You proved a different account than the one with this address, so { $provider } was not linked to either.
link-cancelled = Nothing was linked, and both accounts are as they were.
link-proof-too-many = Too many emails were sent to this address lately. Please wait a while, or sign in to your account instead.
link-proof-sent = We sent a link to the address of your account. Open it in this browser within { $minutes } minutes.
link-mailed-lead = Your address is confirmed. Link { $provider } to your account?
link-proof-invalid = This link has expired, was used already, or was opened in another browser than the one you signed in with. Nothing was linked.
not-me-title = This was not me
not-me-lead = Remove the newly linked sign-in method from your account and end every session it opened?
not-me-button = Remove it and sign it out
not-me-expired = This link has expired or was used already. You can still remove sign-in methods from your account page.
not-me-done = The sign-in method was removed and the sessions it opened were ended. If you think someone knows your password, reset it now.
notice-merged = The other account was merged into this one. Its sign-in methods are yours now.
merge-title = Merge another account into this one
merge-heading = Two accounts?
merge-teaser = If you have a second account here, you can merge it into this one.
merge-link = Merge accounts
merge-lead = This account ({ $email }) stays. Next, sign in to the other account in this browser, with any of its sign-in methods; then you confirm the merge.
merge-start-button = Sign in to the other account
merge-confirm-lead = Merge { $merged } into { $survivor }?
merge-confirm-methods = Its sign-in methods (providers, passkeys, and its password if the other account has none) move to { $survivor }.
merge-confirm-apps = Applications you used with it will ask you to sign in again.
merge-confirm-gone = { $merged } is then removed for good, with its sessions and second factors.
merge-take-name = Use this account's name ({ $name })
merge-take-picture = Use this account's picture
merge-confirm-button = Merge { $merged } into it
merge-expired = This merge has expired or was used already. Nothing was merged. Start again from your account page.
merge-same = You signed in to the same account again. Sign in to the other account to merge it.
