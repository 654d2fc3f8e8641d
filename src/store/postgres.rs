//! The PostgreSQL adapter: production and the test suite.

use std::str::FromStr;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use log::LevelFilter;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, Transaction};

use super::audit::AuditRow;
use super::{AuditEvent, NewAuditEvent, SchemaStatus, SqlStore, SqlTx, StoreError, schema};
use crate::config::{DatabaseConfig, SqlBackend};

const RECENT_AUDIT: &str = "SELECT id, occurred_at, actor, action, subject, detail
     FROM audit_events ORDER BY id DESC LIMIT $1";

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The SQL store on PostgreSQL.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Builds a lazily connecting pool; nothing is dialled until the first query.
    pub fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        // The parse error may quote the URL, password included, so it is not passed on.
        let options = PgConnectOptions::from_str(config.url.expose_secret())
            .map_err(|_| StoreError::Unexpected(anyhow!("DATABASE_URL is not a usable postgres URL")))?
            .application_name("teller")
            .log_statements(LevelFilter::Trace)
            .log_slow_statements(LevelFilter::Warn, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(options);
        Ok(PostgresStore { pool })
    }
}

#[async_trait]
impl SqlStore for PostgresStore {
    fn backend(&self) -> SqlBackend {
        SqlBackend::Postgres
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let pending = self.schema_status().await?.pending;
        // Takes a PostgreSQL advisory lock, so two deploys migrating at once run one after the other.
        MIGRATOR.run(&self.pool).await?;
        Ok(pending)
    }

    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let mut conn = self.pool.acquire().await?;
        schema::status(&mut *conn, &MIGRATOR).await
    }

    async fn begin(&self) -> Result<Box<dyn SqlTx>, StoreError> {
        Ok(Box::new(PostgresTx { tx: self.pool.begin().await? }))
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

struct PostgresTx {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl SqlTx for PostgresTx {
    async fn append_audit(&mut self, event: &NewAuditEvent) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO audit_events (occurred_at, actor, action, subject, detail)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
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
