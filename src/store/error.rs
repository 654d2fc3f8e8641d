//! The store's error type: callers need to tell "try again later" from everything else.

use std::borrow::Cow;

/// What went wrong talking to the SQL store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or is refusing work for now (connection refused or lost, pool
    /// exhausted, database starting up or shutting down, SQLite busy). The operation changed
    /// nothing and may be retried; HTTP callers answer 503.
    #[error("the SQL store is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The schema does not match this binary's migrations.
    #[error("the database schema is not current: {0}")]
    Schema(String),
    /// Anything else: a bug or a broken invariant, reported with context.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl StoreError {
    /// True when retrying later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Whether `err` came from a store that is down (the SQL store or the KV unreachable), or from
/// PIN checks shed under load: worth retrying within seconds for as long as it lasts, unlike
/// a bug.
pub fn is_outage(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<StoreError>().is_some_and(StoreError::is_unavailable)
            || matches!(cause.downcast_ref::<crate::kv::KvError>(), Some(crate::kv::KvError::Unavailable(_)))
            || matches!(
                cause.downcast_ref::<crate::hashing::HashError>(),
                Some(crate::hashing::HashError::Busy)
            )
    })
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if is_transient(&err) {
            StoreError::Unavailable(err)
        } else {
            StoreError::Unexpected(anyhow::Error::new(err).context("SQL store operation failed"))
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(inner) => inner.into(),
            other => StoreError::Unexpected(anyhow::Error::new(other).context("migration failed")),
        }
    }
}

/// Errors that say "not now" rather than "never".
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_transient_code(db.code()),
        _ => false,
    }
}

fn is_transient_code(code: Option<Cow<'_, str>>) -> bool {
    let Some(code) = code else { return false };
    // PostgreSQL: class 08 (connection exception), 57P01-57P03 (shutdown, crash, starting up),
    // 53300 (too many connections). SQLite: 5 (BUSY) and 6 (LOCKED) once busy_timeout ran out,
    // with or without an extended-code suffix (sqlx reports the extended code as a number).
    code.starts_with("08")
        || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        || code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_trouble_is_unavailable_and_the_rest_is_not() {
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StoreError::from(sqlx::Error::PoolClosed).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
        for code in ["08006", "57P01", "57P03", "53300", "5", "517", "6"] {
            assert!(is_transient_code(Some(code.into())), "{code}");
        }
        for code in ["23505", "40001", "1", "19", "2067"] {
            assert!(!is_transient_code(Some(code.into())), "{code}");
        }
        assert!(!is_transient_code(None));
    }
}
