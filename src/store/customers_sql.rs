//! [`CustomersTx`] for both adapters at once, as `bank_sql.rs` does for the ledger.

use chrono::{DateTime, Utc};

use super::StoreError;
use super::backend::{Backend, RowsAffected};
use super::customers::*;

#[async_trait::async_trait]
impl<T> CustomersTx for T
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
    for<'r> CustomerRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> super::admin::SealedSecret: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> PinTry: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> IdentityTry: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> IdentityRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    async fn language(&mut self, recipient_key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(super::shared::SELECT_CUSTOMER_PREFERENCES)
            .bind(recipient_key)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn insert_customer(&mut self, c: &NewCustomer<'_>) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO customers (first_name, last_name, date_of_birth, id_number, phone, kyc_tier,
                 pin_hash, created_at, updated_at, id_number_sealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
             ON CONFLICT (id_number) DO NOTHING RETURNING id",
        )
        .bind(c.first_name)
        .bind(c.last_name)
        .bind(c.date_of_birth)
        .bind(c.id_number)
        .bind(c.phone)
        .bind(c.kyc_tier)
        .bind(c.pin_hash)
        .bind(c.now)
        .bind(c.id_number_sealed)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn insert_alias(
        &mut self,
        alias: &str,
        customer: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO customer_aliases (alias, customer_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (alias) DO NOTHING",
        )
        .bind(alias)
        .bind(customer)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn move_alias(&mut self, from: &str, to: &str) -> Result<bool, StoreError> {
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT customer_id FROM customer_aliases WHERE alias = $1")
                .bind(to)
                .fetch_optional(self.conn())
                .await?;
        if taken.is_some() {
            return Ok(false);
        }
        let done = sqlx::query("UPDATE customer_aliases SET alias = $2 WHERE alias = $1")
            .bind(from)
            .bind(to)
            .execute(self.conn())
            .await?;
        Ok(done.rows() == 1)
    }

    async fn customer_by_alias(&mut self, alias: &str) -> Result<Option<CustomerRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            customer_columns!("c."),
            "
             FROM customer_aliases a JOIN customers c ON c.id = a.customer_id WHERE a.alias = $1"
        ))
        .bind(alias)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn id_number_taken(&mut self, id_number: &str) -> Result<bool, StoreError> {
        let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM customers WHERE id_number = $1")
            .bind(id_number)
            .fetch_optional(self.conn())
            .await?;
        Ok(found.is_some())
    }

    async fn any_customer(&mut self) -> Result<bool, StoreError> {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM customers LIMIT 1").fetch_optional(self.conn()).await?;
        Ok(found.is_some())
    }

    async fn identities(&mut self) -> Result<Vec<IdentityRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, id_number, id_number_sealed FROM customers ORDER BY id")
            .fetch_all(self.conn())
            .await?)
    }

    async fn identity(&mut self, id: i64) -> Result<Option<IdentityRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, id_number, id_number_sealed FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn set_identity(&mut self, id: i64, digest: &str, sealed: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE customers SET id_number = $2, id_number_sealed = $3 WHERE id = $1")
            .bind(id)
            .bind(digest)
            .bind(sealed)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn customer(&mut self, id: i64) -> Result<Option<CustomerRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            customer_columns!(""),
            "
             FROM customers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn pin_try(
        &mut self,
        customer: i64,
        attempts: i32,
        lock_until: chrono::DateTime<chrono::Utc>,
        block: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<PinTry>, StoreError> {
        // A lock that has run out ends first: the tries before it start again from zero.
        sqlx::query(
            "UPDATE customers SET pin_failures = 0, locked_until = NULL
             WHERE id = $1 AND pin_blocked = 0 AND locked_until <= $2",
        )
        .bind(customer)
        .bind(now)
        .execute(self.conn())
        .await?;
        // Only a customer not locked now, with a try left, gets one; the last locks.
        Ok(sqlx::query_as(
            "UPDATE customers SET
                 pin_failures = pin_failures + 1,
                 pin_locks = pin_locks + CASE WHEN pin_failures + 1 >= $2 THEN 1 ELSE 0 END,
                 pin_blocked = CASE WHEN pin_failures + 1 >= $2 THEN $5 ELSE 0 END,
                 locked_until = CASE WHEN pin_failures + 1 >= $2 AND $5 = 0 THEN $3 END,
                 updated_at = $4
             WHERE id = $1 AND pin_blocked = 0 AND locked_until IS NULL AND pin_failures < $2
             RETURNING pin_failures, locked_until, pin_locks, pin_blocked",
        )
        .bind(customer)
        .bind(attempts)
        .bind(lock_until)
        .bind(now)
        .bind(i32::from(block))
        .fetch_optional(self.conn())
        .await?)
    }

    async fn pin_passed(
        &mut self,
        customer: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE customers SET pin_failures = 0, pin_locks = 0, pin_blocked = 0, locked_until = NULL,
                 reverify = 0, updated_at = $2
             WHERE id = $1",
        )
        .bind(customer)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn unlock(
        &mut self,
        customer: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE customers SET pin_failures = 0, pin_locks = 0, pin_blocked = 0,
                 locked_until = NULL, reset_tries = 0, reset_tries_until = NULL, updated_at = $2
             WHERE id = $1
               AND (locked_until IS NOT NULL OR pin_blocked = 1 OR reset_tries_until > $2)",
        )
        .bind(customer)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn set_pin_hash(
        &mut self,
        customer: i64,
        hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE customers SET pin_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(customer)
            .bind(hash)
            .bind(now)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn reset_pin(
        &mut self,
        customer: i64,
        hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE customers SET pin_hash = $2, pin_failures = 0, locked_until = NULL,
                 pin_reset_at = $3, updated_at = $3
             WHERE id = $1 AND pin_blocked = 0 AND frozen_at IS NULL",
        )
        .bind(customer)
        .bind(hash)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn identity_try(
        &mut self,
        customer: i64,
        attempts: i32,
        window_end: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<IdentityTry, StoreError> {
        // One statement: checks at once each take their own try. A window still open counts
        // on (never past `attempts + 1`); one run out, or none, starts with this check.
        let row = sqlx::query_as(
            "UPDATE customers SET
                 reset_tries = CASE WHEN reset_tries_until IS NULL OR reset_tries_until <= $4 THEN 1
                                    WHEN reset_tries > $2 THEN reset_tries
                                    ELSE reset_tries + 1 END,
                 reset_tries_until = CASE WHEN reset_tries_until IS NULL OR reset_tries_until <= $4 THEN $3
                                          ELSE reset_tries_until END
             WHERE id = $1
             RETURNING reset_tries, reset_tries_until",
        )
        .bind(customer)
        .bind(attempts)
        .bind(window_end)
        .bind(now)
        .fetch_optional(self.conn())
        .await?;
        row.ok_or_else(|| anyhow::anyhow!("no customer {customer} to count an identity check for").into())
    }

    async fn identity_passed(
        &mut self,
        customer: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE customers SET reset_tries = 0, reset_tries_until = NULL, updated_at = $2 WHERE id = $1",
        )
        .bind(customer)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn totp_secrets(&mut self) -> Result<Vec<super::admin::SealedSecret>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, totp_secret AS secret FROM customers WHERE totp_secret IS NOT NULL ORDER BY id",
        )
        .fetch_all(self.conn())
        .await?)
    }

    async fn set_totp_secret(
        &mut self,
        customer: i64,
        secret: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE customers SET totp_secret = $2, updated_at = $3 WHERE id = $1")
            .bind(customer)
            .bind(secret)
            .bind(now)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn set_reverify(
        &mut self,
        customer: i64,
        phone: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE customers SET reverify = 1, phone = $2, updated_at = $3 WHERE id = $1")
            .bind(customer)
            .bind(phone)
            .bind(now)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
