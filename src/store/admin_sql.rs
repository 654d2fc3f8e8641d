//! [`AdminTx`] for both adapters at once: each statement written once in the common dialect,
//! bound once, run on either backend's transaction (see `backend.rs`).

use chrono::{DateTime, Utc};

use super::StoreError;
use super::admin::*;
use super::audit::AuditRow;
use super::backend::{Backend, RowsAffected};

#[async_trait::async_trait]
impl<T> AdminTx for T
where
    T: Backend,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: sqlx::IntoArguments<T::Db>,
    <T::Db as sqlx::Database>::QueryResult: RowsAffected,
    usize: sqlx::ColumnIndex<<T::Db as sqlx::Database>::Row>,
    for<'q> &'q str: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i32: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i64: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'r> i32: sqlx::Decode<'r, T::Db>,
    for<'r> i64: sqlx::Decode<'r, T::Db>,
    for<'r> String: sqlx::Decode<'r, T::Db> + sqlx::Type<T::Db>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, T::Db>,
    for<'r> AdminRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> SetupRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> super::admin::SealedSecret: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> ReleaseRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> DraftRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> super::audit::AuditRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    async fn create_admin(
        &mut self,
        email: &str,
        role: &str,
        password_hash: &str,
        totp_secret: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO admins (email, role, password_hash, totp_secret, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING id",
        )
        .bind(email)
        .bind(role)
        .bind(password_hash)
        .bind(totp_secret)
        .bind(now)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn set_admin_totp(&mut self, id: i64, totp_secret: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE admins SET totp_secret = $2 WHERE id = $1")
            .bind(id)
            .bind(totp_secret)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn admin_totp_secrets(&mut self) -> Result<Vec<super::admin::SealedSecret>, StoreError> {
        Ok(sqlx::query_as("SELECT id, totp_secret AS secret FROM admins ORDER BY id")
            .fetch_all(self.conn())
            .await?)
    }

    async fn admin_by_email(&mut self, email: &str) -> Result<Option<AdminRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", admin_columns!(), " FROM admins WHERE email = $1"))
            .bind(email)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn admin_by_id(&mut self, id: i64) -> Result<Option<AdminRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", admin_columns!(), " FROM admins WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn admin_logged_in(
        &mut self,
        id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE admins SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn end_admin_sessions(&mut self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE admins SET session_epoch = session_epoch + 1 WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn admins(&mut self) -> Result<Vec<AdminRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", admin_columns!(), " FROM admins ORDER BY id"))
            .fetch_all(self.conn())
            .await?)
    }

    async fn set_admin_role(&mut self, id: i64, role: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE admins SET role = $2 WHERE id = $1")
            .bind(id)
            .bind(role)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn set_admin_disabled(&mut self, id: i64, at: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE admins SET disabled_at = $2,
                 session_epoch = session_epoch + CASE WHEN $2 IS NULL THEN 0 ELSE 1 END
             WHERE id = $1",
        )
        .bind(id)
        .bind(at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn set_admin_password(&mut self, id: i64, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE admins SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(password_hash)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn active_owners(&mut self) -> Result<i64, StoreError> {
        // Every owner row locked first (PostgreSQL; SQLite's writer lock does the same), so two
        // owners disabling each other at once cannot both count the other one in.
        let owners: Vec<i64> = sqlx::query_scalar(if T::POSTGRES {
            "SELECT CAST(CASE WHEN disabled_at IS NULL AND password_hash <> '' THEN 1 ELSE 0 END AS BIGINT)
             FROM admins WHERE role = 'owner' ORDER BY id FOR UPDATE"
        } else {
            "SELECT CAST(CASE WHEN disabled_at IS NULL AND password_hash <> '' THEN 1 ELSE 0 END AS BIGINT)
             FROM admins WHERE role = 'owner' ORDER BY id"
        })
        .fetch_all(self.conn())
        .await?;
        Ok(owners.iter().sum())
    }

    async fn insert_admin_setup(&mut self, setup: &SetupRow) -> Result<(), StoreError> {
        sqlx::query("UPDATE admin_setups SET used_at = $2 WHERE admin_id = $1 AND used_at IS NULL")
            .bind(setup.admin_id)
            .bind(setup.created_at)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "INSERT INTO admin_setups (token_hash, admin_id, kind, totp_secret, expires_at, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(setup.token_hash.as_str())
        .bind(setup.admin_id)
        .bind(setup.kind.as_str())
        .bind(setup.totp_secret.as_deref())
        .bind(setup.expires_at)
        .bind(setup.created_by.as_str())
        .bind(setup.created_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn admin_setup(&mut self, token_hash: &str) -> Result<Option<SetupRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", setup_columns!(), " FROM admin_setups WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn use_admin_setup(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE admin_setups SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL")
                .bind(token_hash)
                .bind(now)
                .execute(self.conn())
                .await?;
        Ok(done.rows() == 1)
    }

    async fn open_admin_setups(&mut self) -> Result<Vec<SetupRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            setup_columns!(),
            " FROM admin_setups WHERE used_at IS NULL ORDER BY created_at"
        ))
        .fetch_all(self.conn())
        .await?)
    }

    async fn set_setup_totp(&mut self, token_hash: &str, totp_secret: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE admin_setups SET totp_secret = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(totp_secret)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn lock_head(&mut self) -> Result<Option<ReleaseRow>, StoreError> {
        Ok(sqlx::query_as(if T::POSTGRES {
            concat!(
                "SELECT ",
                release_columns!(),
                " FROM flow_releases ORDER BY number DESC LIMIT 1",
                " FOR UPDATE"
            )
        } else {
            concat!("SELECT ", release_columns!(), " FROM flow_releases ORDER BY number DESC LIMIT 1")
        })
        .fetch_optional(self.conn())
        .await?)
    }

    async fn releases(&mut self) -> Result<Vec<ReleaseRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", release_columns!(), " FROM flow_releases ORDER BY number DESC"))
            .fetch_all(self.conn())
            .await?)
    }

    async fn release(&mut self, number: i64) -> Result<Option<ReleaseRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", release_columns!(), " FROM flow_releases WHERE number = $1"))
            .bind(number)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn insert_release(&mut self, release: &NewRelease<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query("INSERT INTO flow_releases (number, version, kind, draft_id, rollback_of, published_by, published_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (number) DO NOTHING",)
        .bind(release.number)
        .bind(release.version)
        .bind(release.kind)
        .bind(release.draft_id)
        .bind(release.rollback_of)
        .bind(release.by)
        .bind(release.now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn create_draft(&mut self, draft: &NewDraft<'_>) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO flow_drafts (title, sources, base_release, state, files_version, created_by,
                                      created_at, updated_by, updated_at)
             VALUES ($1, $2, $3, 'open', $4, $5, $6, $5, $6)
             ON CONFLICT (files_version) DO NOTHING RETURNING id",
        )
        .bind(draft.title)
        .bind(draft.sources)
        .bind(draft.base_release)
        .bind(draft.files_version)
        .bind(draft.by)
        .bind(draft.now)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn draft(&mut self, id: i64) -> Result<Option<DraftRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", draft_columns!(), " FROM flow_drafts WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn drafts(&mut self, all: bool) -> Result<Vec<DraftRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            draft_columns!(),
            " FROM flow_drafts WHERE $1 = 1 OR state = 'open' ORDER BY id DESC LIMIT 200"
        ))
        .bind(i32::from(all))
        .fetch_all(self.conn())
        .await?)
    }

    async fn update_draft(
        &mut self,
        id: i64,
        revision: i64,
        sources: &str,
        base_release: i64,
        by: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE flow_drafts
             SET sources = $3, base_release = $4, revision = revision + 1, updated_by = $5, updated_at = $6
             WHERE id = $1 AND revision = $2 AND state = 'open'",
        )
        .bind(id)
        .bind(revision)
        .bind(sources)
        .bind(base_release)
        .bind(by)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn approve_draft(
        &mut self,
        id: i64,
        revision: i64,
        by: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE flow_drafts SET approved_by = $3, approved_revision = $2, approved_at = $4
             WHERE id = $1 AND revision = $2 AND state = 'open'",
        )
        .bind(id)
        .bind(revision)
        .bind(by)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn close_draft(
        &mut self,
        id: i64,
        state: &str,
        release: Option<i64>,
        by: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE flow_drafts SET state = $2, release = $3, revision = revision + 1, updated_by = $4,
                 updated_at = $5
             WHERE id = $1 AND state = 'open'",
        )
        .bind(id)
        .bind(state)
        .bind(release)
        .bind(by)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn save_flow_version(
        &mut self,
        version: &str,
        sources: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO flow_versions (version, sources, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(sources)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn flow_version(&mut self, version: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT sources FROM flow_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn audit_page(
        &mut self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<super::AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, occurred_at, actor, action, subject, detail FROM audit_events
             WHERE $1 IS NULL OR id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(self.conn())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
