//! The SQLite adapter: the embedded default, one file and nothing to install.
//!
//! SQLite allows one writer at a time. Every unit of work therefore starts with
//! `BEGIN IMMEDIATE`, which takes the write lock up front and waits for it (`busy_timeout`)
//! instead of failing later when a read transaction tries to upgrade. WAL lets readers run
//! beside the writer, and `synchronous=FULL` makes a commit durable before it returns, which is
//! what "answered 200 means never lost" needs.

use std::str::FromStr;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use log::LevelFilter;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Sqlite, Transaction};

use super::audit::AuditRow;
use super::{AuditEvent, NewAuditEvent, SchemaStatus, SqlStore, SqlTx, StoreError, schema};
use crate::config::{DatabaseConfig, SqlBackend};

const RECENT_AUDIT: &str = "SELECT id, occurred_at, actor, action, subject, detail
     FROM audit_events ORDER BY id DESC LIMIT ?1";

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for the write lock before the store reports itself unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQL store on a SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (and creates, if missing) the database file.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(config.url.expose_secret())
            .map_err(|e| StoreError::Unexpected(anyhow!("DATABASE_URL is not a usable sqlite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .log_statements(LevelFilter::Trace)
            .log_slow_statements(LevelFilter::Warn, Duration::from_secs(1));
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(BUSY_TIMEOUT + Duration::from_secs(1))
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
    }
}

#[async_trait]
impl SqlStore for SqliteStore {
    fn backend(&self) -> SqlBackend {
        SqlBackend::Sqlite
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let pending = self.schema_status().await?.pending;
        MIGRATOR.run(&self.pool).await?;
        Ok(pending)
    }

    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let mut conn = self.pool.acquire().await?;
        schema::status(&mut *conn, &MIGRATOR).await
    }

    async fn begin(&self) -> Result<Box<dyn SqlTx>, StoreError> {
        Ok(Box::new(SqliteTx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await? }))
    }

    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as(RECENT_AUDIT).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl SqlTx for SqliteTx {
    async fn append_audit(&mut self, event: &NewAuditEvent) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO audit_events (occurred_at, actor, action, subject, detail)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )
        .bind(event.occurred_at)
        .bind(&event.actor)
        .bind(&event.action)
        .bind(&event.subject)
        .bind(sqlx::types::Json(&event.detail))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn recent_audit(&mut self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as(RECENT_AUDIT).bind(i64::from(limit)).fetch_all(&mut *self.tx).await?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }
}
