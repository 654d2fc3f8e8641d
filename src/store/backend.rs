//! The one seam between the statements written once and the two adapters: a transaction of
//! either backend, as a connection its `Database` runs statements on. The ports' traits
//! (`BankTx`, `WorkerTx`, …) are implemented once, generically over it, so no statement and no
//! binding is written twice; the bounds below say what both backends can encode and decode.

/// A transaction on one backend.
pub(crate) trait Backend: Send {
    /// Whether it is PostgreSQL, whose locking reads need a `FOR UPDATE` SQLite neither has nor
    /// needs (it has one writer).
    const POSTGRES: bool;

    /// PostgreSQL or SQLite.
    type Db: sqlx::Database;

    /// The connection inside the transaction, to run statements on.
    fn conn(&mut self) -> &mut <Self::Db as sqlx::Database>::Connection;
}

/// How many rows a statement changed, on either backend.
pub(crate) trait RowsAffected {
    /// The count.
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}
