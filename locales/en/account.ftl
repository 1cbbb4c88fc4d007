# The account area (/account/*).

account-nav-profile = Profile
account-nav-settings = Settings
account-nav-password = Password
account-nav-sessions = Sessions
account-nav-apps = Connected apps
account-nav-methods = Sign-in methods
account-nav-delete = Delete account

## Profile
profile-verified = verified
profile-not-verified = not verified
profile-resend-verification = Resend verification email
profile-picture = Picture URL
profile-picture-hint = A link to a square image, shown next to your name.
profile-bio = Bio
profile-bio-hint = Up to { $max } characters.
profile-website = Website
profile-username = Username
profile-username-hint = Optional. 3 to 32 letters a–z, digits, dots, dashes or underscores. Apps you sign in to may show it; it never signs you in.
profile-timezone = Time zone
profile-timezone-hint = Times on your account pages and in security emails are shown in this zone.
profile-save = Save profile
profile-change-email-heading = Change email address
profile-new-email = New email address
profile-new-email-hint = Your address changes once you follow the link we send to the new one.
profile-send-verification-link = Send a verification link

## Settings
settings-theme = Theme
settings-theme-light = Light
settings-theme-dark = Dark
settings-theme-system = Match my device
settings-language = Language
settings-notifications = Email me about security events (new sign-ins, password changes)
settings-save = Save settings

## Password
password-change-heading = Change password
password-change-lead = Changing your password signs you out everywhere else.
password-set-heading = Set a password
password-set-lead = This account has no password yet. Set one to be able to sign in with your email address and a password.

## Sessions
sessions-lead = These are the devices currently signed in to your account. If you don't recognise one, revoke it and change your password.
sessions-unknown-browser = Unknown browser
sessions-this-device = This device
sessions-ip = IP address
sessions-method = Signed in with
sessions-created = Signed in
sessions-last-active = Last active
sessions-unknown = unknown
sessions-revoke = Revoke
sessions-none = No active sessions.
sessions-revoke-others = Sign out all other sessions
sessions-method-password = Password
sessions-method-email-link = Sign-in link by email
sessions-method-email-code = Code by email
sessions-method-email = Sign-in link or code by email
profile-timezone-unset = UTC (not set)
sessions-method-other = Other
sessions-second-factor = Second factor
sessions-second-factor-otp = Authenticator app or recovery code

## Connected apps
apps-lead = Applications you have allowed to sign you in. Revoking access signs them out and invalidates their tokens.
apps-access = Access:
apps-since = Since { $date }
apps-revoke = Revoke access
apps-none = No application has access to your account.

## Sign-in methods
methods-lead = Each of these proves it is you. Keep at least one.
methods-password = Password
methods-added = Added { $date }
methods-unlink = Unlink
methods-none = No sign-in methods are set up for this account.
methods-set-password-before = {""}
methods-set-password-link = Set a password
methods-set-password-after = {" "}to sign in with your email address as well.
methods-link-heading = Link another way to sign in
methods-link = Link { $provider }

## Delete
delete-lead = Deleting your account is permanent and cannot be undone.
delete-consequence-data = Everything stored about you is removed: profile, settings, sessions and sign-in methods.
delete-consequence-sessions = You are signed out on every device.
delete-consequence-apps = Applications you signed in to with this account lose access to it.
delete-confirm-label = Type DELETE to confirm
delete-confirm-hint = Enter the word DELETE in capital letters.
delete-submit = Delete my account

## How a signed-in device is described (sessions list)
device-unknown = Unknown device
device-browser-on-os = { $browser } on { $os }
device-some-browser-on-os = Browser on { $os }
device-plain = { $text }

## Two-factor sign-in (/account/security)
account-nav-security = Two-factor sign-in
security-totp-heading = Authenticator app
security-off-lead = Protect your account with a second step at sign-in: a 6-digit code from an authenticator app on your phone (such as Aegis, Google Authenticator or 1Password).
security-enrol-start = Set up an authenticator app
security-enrol-lead = Add this account to your authenticator app, then enter the code it shows to finish.
security-enrol-secret = Or enter this key in the app (time-based, 6 digits, 30 seconds):
security-enrol-qr = QR code to scan with your authenticator app
security-enrol-link = Open in an authenticator app on this device
security-enrol-code = Code from the app
security-enrol-confirm = Turn on
security-cancel = Cancel
security-codes-heading = Recovery codes
security-codes-lead = Save these recovery codes somewhere safe. Each one signs you in once if you lose your phone. They are shown only now.
security-codes-saved = I have saved them
security-enabled-lead = Two-factor sign-in is on: after your password (or a sign-in link or another provider) we ask for a code from your authenticator app.
security-codes-left = Unused recovery codes: { $count }
security-codes-regenerate = Make new recovery codes
security-disable-heading = Turn off
security-disable-lead = Unless you signed in within the last few minutes, enter your password to turn two-factor sign-in off.
security-disable-submit = Turn off two-factor sign-in
security-reauthenticate = To turn this off, enter your password, or sign out and sign in again first.
security-notice-enabled = Two-factor sign-in is on.
security-codes-saved-continue = I have saved them, continue
security-required-lead = The application you are signing in to requires two-factor sign-in. Turn it on here to continue.
security-notice-codes = New recovery codes made; the old ones no longer work.
security-notice-disabled = Two-factor sign-in is off.

# Passkeys
sessions-method-passkey = Passkey
passkeys-title = Passkeys
passkeys-lead = A passkey signs you in with your device's screen lock (fingerprint, face or PIN) instead of a password. It also works as the second step after your password.
passkeys-none = You have no passkeys yet.
passkeys-created = Added
passkeys-last-used = Last used
passkeys-never-used = Never
passkeys-name = Name
passkeys-name-hint = e.g. My laptop
passkeys-rename = Rename
passkeys-remove = Remove
passkeys-remove-password = Your password (unless you signed in within the last few minutes)
passkeys-add-heading = Add a passkey
passkeys-add = Add a passkey
passkeys-needs-script = Adding a passkey needs JavaScript.
passkeys-notice-added = Passkey added.
passkeys-notice-renamed = Passkey renamed.
passkeys-notice-removed = Passkey removed.
passkeys-reauthenticate = To remove a passkey, enter your password, or sign out and sign in again first.
security-passkeys-lead = Sign in with your device's screen lock instead of a password, or use a passkey as the second step after your password.
security-passkeys-count = { $count ->
        [0] You have no passkeys yet.
        [one] You have one passkey.
       *[other] Passkeys: { $count }
    }
security-passkeys-manage = Manage passkeys
