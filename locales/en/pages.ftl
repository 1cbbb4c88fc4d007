# Pages outside the account area: layout, sign-in, sign-up, consent, messages.
# Message keys are shared by all catalogues; English is the source and the fallback.

## Layout and shared words
nav-skip = Skip to main content
nav-primary = Primary
nav-account = Account
nav-sign-out = Sign out
nav-sign-in = Sign in
nav-create-account = Create account
footer-tagline = Portcullis · identity and sign-in
continue = Continue
back-to-sign-in = Back to sign in
signed-in-as = Signed in as { $who }
signed-in-as-name-email = Signed in as { $name } ({ $email })
message-default-title = Notice

## Form fields
field-email = Email
field-password = Password
field-name = Name
field-your-password = Your password
field-current-password = Current password
field-new-password = New password
field-confirm-new-password = Confirm new password
password-hint-min = At least { $min } characters

## Home
home-title = Home
home-welcome-back = Welcome back
home-manage-account = Manage your account
home-welcome = Welcome to Portcullis
home-lead = One account to sign in to the applications you use, kept in one place you control.

## Sign-in and sign-up
login-title = Sign in
login-submit = Sign in
login-resend-verification = Resend the verification email
login-forgot = Forgot your password?
login-passwordless-heading = Or sign in without a password
login-magic-email = Email for a sign-in link
login-magic-submit = Email me a sign-in link
login-code-email = Email for a sign-in code
login-code-submit = Email me a code
login-to-signup = New here? Create an account
signup-heading = Create your account
signup-to-login = Already have an account? Sign in
providers-label = Other ways to sign in
providers-continue-with = Continue with { $provider }
providers-or = or

## One-time code
code-title = Enter your code
code-label = 6-digit code
code-hint = We sent a code to { $email }. It expires in 10 minutes.
code-hint-no-address = We sent a code to your email address. It expires in 10 minutes.

## Emailed links
forgot-title = Reset your password
forgot-lead = Enter the email address of your account and we will send you a link to choose a new password.
forgot-submit = Email me a reset link
reset-title = Choose a new password
reset-lead = This signs you out everywhere.
reset-submit = Save new password
verify-title = Confirm your email address

## Consent
consent-unnamed-client = An application
consent-title = Allow access
consent-heading = { $client } wants to access your account
consent-requested-access = Requested access
consent-allow = Allow
consent-deny = Deny
consent-redirect = You will be returned to { $host }
consent-revoke-note = You can revoke access at any time from your account's Connected apps page.

## What each scope lets an application do (consent and Connected apps pages)
scope-openid = Know who you are (your account ID)
scope-profile = See your name, username, picture, website, time zone and language
scope-email = See your email address and whether it is verified
scope-groups = See which groups you belong to
scope-offline-access = Stay connected when you are not using it
scope-other = Other access

## Sign-out
logout-heading = Sign out?
logout-client-asks = { $client } asked to sign you out of Portcullis.
logout-question = Do you want to sign out of Portcullis?
logout-stay = Stay signed in
logged-out-title = Signed out
logged-out-heading = You have signed out
logged-out-lead = You can close this window, or sign in again.

## response_mode=form_post
form-post-title = Signing you in…
form-post-noscript = JavaScript is off: press Continue to return to the application.

## Error page
error-code = Error { $status }
error-home-link = Back to the home page
error-generic-title = Something went wrong
error-generic-message = Sorry, we could not complete that request. Please try again in a moment.

## Second step of a sign-in
second-factor-title = Two-factor sign-in
second-factor-lead = Enter the 6-digit code from your authenticator app.
second-factor-label = Code
second-factor-hint = Lost your phone? Enter one of your recovery codes instead.
second-factor-submit = Verify
second-factor-wrong = That code is not right, or was already used.
second-factor-throttled = Too many wrong codes. Try again in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }.

# Passkeys on the sign-in pages
login-passkey = Sign in with a passkey
second-factor-lead-passkey = Confirm it is you with your passkey.
second-factor-use-passkey = Use a passkey
second-factor-or-code = or enter a code
passkey-error-failed = The passkey dialog was closed or failed. Try again.
passkey-error-disabled = Passkeys are not available on this server.
passkey-error-expired = That took too long or was already finished. Try again.
passkey-error-rejected = That passkey could not be verified.
passkey-error-unknown = That passkey is not registered for any account here.
passkey-error-duplicate = That passkey is already registered.
passkey-error-throttled = Too many failed attempts. Wait a few minutes and try again.
passkey-error-bad-request = The request could not be read.
