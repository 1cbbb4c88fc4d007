//! The administration core (issue 14): one call behind each thing an admin can do, shared by
//! the REST API (`web::admin::api`), the console (`web::admin::console`) and the CLI, so the
//! three never disagree. Free of actix: callers pass who is acting (`audit::Actor`) and `now`.

pub mod access;
pub mod audit_log;
pub mod clients;
pub mod groups;
pub mod keys;
pub mod mail_queue;
pub mod providers;
pub mod role;
pub mod users;

use serde::Serialize;

use crate::db::failure::DbFailure;
use crate::error::AppError;

/// What went wrong with an admin request: the one error shape of this layer. The API turns it
/// into `{"error": code, "message": text}` with the matching status; the console into a
/// message on the page; the CLI into a usage error.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that breaks a rule; the text says which and is safe to show.
    #[error("{0}")]
    Invalid(String),
    /// The request clashes with the current state (a duplicate, the last admin, …).
    #[error("{0}")]
    Conflict(String),
    /// The object is declared in the configuration file: change it there (issue 14, part 4).
    #[error("{what} {id} is managed by the configuration file; change it there and reload")]
    Managed { what: &'static str, id: String },
    #[error(transparent)]
    App(#[from] AppError),
}

impl AdminError {
    /// The machine-readable code the API sends.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::NotFound(_) => "not_found",
            AdminError::Invalid(_) => "invalid_request",
            AdminError::Conflict(_) => "conflict",
            AdminError::Managed { .. } => "managed_by_config",
            AdminError::App(AppError::Invalid(_)) => "invalid_request",
            AdminError::App(AppError::NotFound) => "not_found",
            AdminError::App(AppError::Pool(_)) => "temporarily_unavailable",
            AdminError::App(AppError::Database(e)) => match DbFailure::of(e) {
                DbFailure::Duplicate | DbFailure::Reference => "conflict",
                DbFailure::Missing | DbFailure::OutOfRange => "invalid_request",
                DbFailure::Timeout => "timeout",
                DbFailure::Other => "server_error",
            },
            AdminError::App(_) => "server_error",
        }
    }
}

/// For pages where the core has nothing to refuse (lists): a refusal becomes an error page.
impl From<AdminError> for AppError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(_) => AppError::NotFound,
            AdminError::App(app) => app,
            other => AppError::Invalid(crate::error::ValidationError::Form(other.to_string())),
        }
    }
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        AdminError::App(e.into())
    }
}

impl From<crate::error::ValidationError> for AdminError {
    fn from(e: crate::error::ValidationError) -> Self {
        AdminError::Invalid(e.to_string())
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// Which slice of a list: at most [`Paging::MAX_LIMIT`] items after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
}

impl Paging {
    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 200;
    /// Deep offsets are a full scan each; past this, filter instead.
    pub const MAX_OFFSET: i64 = 100_000;

    pub fn new(limit: Option<i64>, offset: Option<i64>) -> AdminResult<Paging> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        let offset = offset.unwrap_or(0);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(AdminError::Invalid(format!(
                "limit: between 1 and {}",
                Self::MAX_LIMIT
            )));
        }
        if !(0..=Self::MAX_OFFSET).contains(&offset) {
            return Err(AdminError::Invalid(format!(
                "offset: between 0 and {}",
                Self::MAX_OFFSET
            )));
        }
        Ok(Paging { limit, offset })
    }

    /// One more than the page holds: whether it comes back says if there is a next page.
    pub fn probe_limit(self) -> i64 {
        self.limit + 1
    }
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub limit: i64,
    pub offset: i64,
    /// The offset of the next page; absent on the last one.
    pub next_offset: Option<i64>,
}

impl<T> Page<T> {
    /// From rows fetched with [`Paging::probe_limit`].
    pub fn from_probe(mut rows: Vec<T>, paging: Paging) -> Page<T> {
        let more = rows.len() as i64 > paging.limit;
        rows.truncate(paging.limit as usize);
        Page {
            items: rows,
            limit: paging.limit,
            offset: paging.offset,
            next_offset: more.then_some(paging.offset + paging.limit),
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            limit: self.limit,
            offset: self.offset,
            next_offset: self.next_offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_is_bounded() {
        assert_eq!(Paging::new(None, None).unwrap(), Paging::default());
        assert!(Paging::new(Some(0), None).is_err());
        assert!(Paging::new(Some(201), None).is_err());
        assert!(Paging::new(Some(10), Some(-1)).is_err());
        assert!(Paging::new(Some(10), Some(100_001)).is_err());
        assert_eq!(
            Paging::new(Some(200), Some(100_000)).unwrap(),
            Paging {
                limit: 200,
                offset: 100_000
            }
        );
    }

    #[test]
    fn a_probe_row_says_there_is_a_next_page() {
        let paging = Paging::new(Some(2), Some(4)).unwrap();
        let page = Page::from_probe(vec![1, 2, 3], paging);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_offset, Some(6));
        let last = Page::from_probe(vec![1, 2], paging);
        assert_eq!(last.next_offset, None);
    }
}
