//! One file per table: the row, its insert form and its queries (all `QueryResult`).

pub mod account;
pub mod audit;
pub mod authorization_code;
pub mod backchannel_outbox;
pub mod client;
pub mod consent;
pub mod grant;
pub mod identity_provider;
pub mod known_device;
pub mod mail_outbox;
pub mod profile;
pub mod refresh_token;
pub mod revoked_token;
pub mod session;
pub mod settings;
pub mod signing_key;
pub mod user;
pub mod verification;

pub use account::{Account, NewAccount, CREDENTIAL_PROVIDER};
pub use audit::NewAuditEvent;
pub use authorization_code::AuthorizationCode;
pub use backchannel_outbox::BackchannelLogout;
pub use client::OAuthClient;
pub use consent::Consent;
pub use grant::Grant;
pub use identity_provider::IdentityProviderRow;
pub use known_device::KnownDevice;
pub use mail_outbox::OutboxMessage;
pub use profile::Profile;
pub use refresh_token::RefreshToken;
pub use session::{NewSession, Session};
pub use settings::UserSettings;
pub use signing_key::SigningKeyRow;
pub use user::{NewUser, User};
pub use verification::Verification;
