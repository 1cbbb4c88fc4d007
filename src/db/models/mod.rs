//! One file per table: the row, its insert form and its queries (all `QueryResult`).

pub mod account;
pub mod audit;
pub mod profile;
pub mod session;
pub mod settings;
pub mod user;
pub mod verification;

pub use account::{Account, NewAccount, CREDENTIAL_PROVIDER};
pub use audit::NewAuditEvent;
pub use profile::Profile;
pub use session::{NewSession, Session};
pub use settings::UserSettings;
pub use user::{NewUser, User};
pub use verification::Verification;
