//! [`ProvidersTx`] for both adapters at once, as `care_sql.rs` does for care.

use chrono::{DateTime, Utc};

use super::StoreError;
use super::backend::{Backend, RowsAffected};
use super::providers::*;

macro_rules! columns {
    () => {
        "customer_id, provider, state, provider_customer, account_number, bank_name, account_name, attempts, next_attempt_at, last_error, created_at"
    };
}

#[async_trait::async_trait]
impl<T> ProvidersTx for T
where
    T: Backend,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: sqlx::IntoArguments<T::Db>,
    <T::Db as sqlx::Database>::QueryResult: RowsAffected,
    usize: sqlx::ColumnIndex<<T::Db as sqlx::Database>::Row>,
    for<'q> &'q str: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i64: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'r> String: sqlx::Decode<'r, T::Db> + sqlx::Type<T::Db>,
    for<'r> FundingRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    async fn request_funding_account(
        &mut self,
        customer: i64,
        provider: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO funding_accounts (customer_id, provider, state, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, 'pending', $3, $3, $3) ON CONFLICT (customer_id) DO NOTHING",
        )
        .bind(customer)
        .bind(provider)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn request_missing_funding_accounts(
        &mut self,
        provider: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO funding_accounts (customer_id, provider, state, next_attempt_at, created_at, updated_at)
             SELECT c.id, $1, 'pending', $2, $2, $2 FROM customers c
             WHERE NOT EXISTS (SELECT 1 FROM funding_accounts f WHERE f.customer_id = c.id)
             ORDER BY c.id LIMIT $3
             ON CONFLICT (customer_id) DO NOTHING",
        )
        .bind(provider)
        .bind(now)
        .bind(limit)
        .execute(self.conn())
        .await?;
        Ok(done.rows())
    }

    async fn due_funding_accounts(
        &mut self,
        provider: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<FundingRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM funding_accounts WHERE state = 'pending' AND provider = $1 AND next_attempt_at <= $2
              ORDER BY next_attempt_at, customer_id LIMIT $3"
        ))
        .bind(provider)
        .bind(now)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn funding_account(&mut self, customer: i64) -> Result<Option<FundingRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM funding_accounts WHERE customer_id = $1"))
            .bind(customer)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn funding_account_by_code(
        &mut self,
        provider: &str,
        code: &str,
    ) -> Result<Option<FundingRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM funding_accounts WHERE provider = $1 AND provider_customer = $2"
        ))
        .bind(provider)
        .bind(code)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn set_provider_customer(
        &mut self,
        customer: i64,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE funding_accounts SET provider_customer = $2, updated_at = $3
             WHERE customer_id = $1 AND provider_customer IS NULL",
        )
        .bind(customer)
        .bind(code)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn open_funding_account(
        &mut self,
        customer: i64,
        account: &OpenedAccount<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE funding_accounts
             SET state = 'open', account_number = $2, bank_name = $3, account_name = $4, last_error = NULL, updated_at = $5
             WHERE customer_id = $1 AND state = 'pending'",
        )
        .bind(customer)
        .bind(account.account_number)
        .bind(account.bank_name)
        .bind(account.account_name)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn retry_funding_account(
        &mut self,
        customer: i64,
        error: &str,
        next: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE funding_accounts
             SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, updated_at = $4
             WHERE customer_id = $1 AND state = 'pending'",
        )
        .bind(customer)
        .bind(error)
        .bind(next)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn payout_recipient(
        &mut self,
        provider: &str,
        bank_code: &str,
        account_number: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT recipient_code FROM payout_recipients
             WHERE provider = $1 AND bank_code = $2 AND account_number = $3",
        )
        .bind(provider)
        .bind(bank_code)
        .bind(account_number)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn insert_payout_recipient(
        &mut self,
        provider: &str,
        bank_code: &str,
        account_number: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO payout_recipients (provider, bank_code, account_number, recipient_code, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(provider)
        .bind(bank_code)
        .bind(account_number)
        .bind(code)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
