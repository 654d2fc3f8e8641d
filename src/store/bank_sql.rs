//! [`BankTx`] for both adapters at once: each statement written once in the common dialect,
//! bound once, run on either backend's transaction (see `backend.rs`).

use chrono::{DateTime, Utc};

use super::StoreError;
use super::backend::{Backend, RowsAffected};
use super::bank::*;
use super::customers::customer_columns;

/// Entries of one transaction, one to four legs at a time: `$1` the transaction, `$2` the time,
/// then each leg's account and amount.
const INSERT_ENTRIES: [&str; 4] = [
    "INSERT INTO entries (transaction_id, account_id, amount, created_at) VALUES ($1, $3, $4, $2)",
    "INSERT INTO entries (transaction_id, account_id, amount, created_at) VALUES ($1, $3, $4, $2), ($1, $5, $6, $2)",
    "INSERT INTO entries (transaction_id, account_id, amount, created_at)
     VALUES ($1, $3, $4, $2), ($1, $5, $6, $2), ($1, $7, $8, $2)",
    "INSERT INTO entries (transaction_id, account_id, amount, created_at)
     VALUES ($1, $3, $4, $2), ($1, $5, $6, $2), ($1, $7, $8, $2), ($1, $9, $10, $2)",
];

#[async_trait::async_trait]
impl<T> BankTx for T
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
    for<'r> PinTry: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> IdentityTry: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> AccountRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> TransactionRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> MonthlyFeeRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    async fn insert_account(
        &mut self,
        number: &str,
        kind: &str,
        customer: Option<i64>,
        currency: &str,
        allow_negative: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO accounts (number, kind, customer_id, currency, allow_negative, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(number)
        .bind(kind)
        .bind(customer)
        .bind(currency)
        .bind(i32::from(allow_negative))
        .bind(now)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn insert_system_part(
        &mut self,
        number: &str,
        kind: &str,
        currency: &str,
        part: i32,
        allow_negative: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO accounts (number, kind, customer_id, currency, allow_negative, created_at, part)
             VALUES ($1, $2, NULL, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(number)
        .bind(kind)
        .bind(currency)
        .bind(i32::from(allow_negative))
        .bind(now)
        .bind(part)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn system_entry(&mut self, transaction: i64, kind: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT e.account_id FROM entries e JOIN accounts a ON a.id = e.account_id
             WHERE e.transaction_id = $1 AND a.kind = $2 AND a.customer_id IS NULL
             ORDER BY e.id LIMIT 1",
        )
        .bind(transaction)
        .bind(kind)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn system_accounts(&mut self, currency: &str) -> Result<Vec<(String, i32, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT kind, part, id FROM accounts WHERE currency = $1 AND customer_id IS NULL")
            .bind(currency)
            .fetch_all(self.conn())
            .await?)
    }

    async fn system_balance(&mut self, kind: &str, currency: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(posted), 0) AS BIGINT) FROM accounts
             WHERE kind = $1 AND currency = $2 AND customer_id IS NULL",
        )
        .bind(kind)
        .bind(currency)
        .fetch_one(self.conn())
        .await?)
    }

    async fn customer_account(
        &mut self,
        customer: i64,
        kind: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts
             WHERE customer_id = $1 AND kind = $2"
        ))
        .bind(customer)
        .bind(kind)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn account(&mut self, id: i64) -> Result<Option<AccountRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts
             WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn account_owner(&mut self, account: i64) -> Result<Option<CustomerRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            customer_columns!("c."),
            "
             FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE a.id = $1"
        ))
        .bind(account)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn lock_account(&mut self, id: i64) -> Result<Option<AccountRow>, StoreError> {
        Ok(sqlx::query_as(if T::POSTGRES {
            concat!(
                concat!(
                    "SELECT ",
                    account_columns!(),
                    " FROM accounts
             WHERE id = $1"
                ),
                " FOR NO KEY UPDATE"
            )
        } else {
            concat!(concat!(
                "SELECT ",
                account_columns!(),
                " FROM accounts
             WHERE id = $1"
            ))
        })
        .bind(id)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn shift_balance(&mut self, account: i64, posted: i64, held: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET posted = posted + $2, held = held + $3
             WHERE id = $1 AND held + $3 >= 0
               AND (allow_negative = 1 OR posted + $2 - (held + $3) >= 0)",
        )
        .bind(account)
        .bind(posted)
        .bind(held)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn insert_transaction(&mut self, t: &NewTransaction<'_>) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO transactions (reference, idempotency_key, kind, state, debit_account,
                 credit_account, amount, fee, currency, counterparty, counterparty_name, origin, origin_name,
                 narration, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(t.reference)
        .bind(t.idempotency_key)
        .bind(t.kind)
        .bind(t.state)
        .bind(t.debit_account)
        .bind(t.credit_account)
        .bind(t.amount)
        .bind(t.fee)
        .bind(t.currency)
        .bind(t.counterparty)
        .bind(t.counterparty_name)
        .bind(t.origin)
        .bind(t.origin_name)
        .bind(t.narration)
        .bind(t.now)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn transaction(&mut self, id: i64) -> Result<Option<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", transaction_columns!(), " FROM transactions WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn transaction_by_key(&mut self, key: &str) -> Result<Option<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            transaction_columns!(),
            "
             FROM transactions WHERE idempotency_key = $1"
        ))
        .bind(key)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn transaction_by_reference(
        &mut self,
        reference: &str,
    ) -> Result<Option<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            transaction_columns!(),
            "
             FROM transactions WHERE reference = $1"
        ))
        .bind(reference)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn set_transaction_state(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        reason: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE transactions SET state = $3, reason = COALESCE($4, reason), updated_at = $5
             WHERE id = $1 AND state = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(reason)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn insert_entries(
        &mut self,
        transaction: i64,
        legs: &[(i64, i64)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        for chunk in legs.chunks(INSERT_ENTRIES.len()) {
            let mut insert = sqlx::query(INSERT_ENTRIES[chunk.len() - 1]).bind(transaction).bind(now);
            for (account, amount) in chunk {
                insert = insert.bind(*account).bind(*amount);
            }
            insert.execute(self.conn()).await?;
        }
        Ok(())
    }

    async fn debited_since(
        &mut self,
        account: i64,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount + fee), 0) AS BIGINT) FROM transactions
             WHERE debit_account = $1 AND created_at >= $2 AND state IN ('pending', 'posted')",
        )
        .bind(account)
        .bind(since)
        .fetch_one(self.conn())
        .await?)
    }

    async fn has_paid(&mut self, account: i64, counterparty: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM transactions
             WHERE debit_account = $1 AND counterparty = $2 AND state = 'posted' LIMIT 1",
        )
        .bind(account)
        .bind(counterparty)
        .fetch_optional(self.conn())
        .await?;
        Ok(found.is_some())
    }

    async fn recent_payees(&mut self, account: i64, limit: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT counterparty, counterparty_name FROM transactions
             WHERE debit_account = $1 AND kind = 'transfer' AND state = 'posted' AND counterparty <> ''
             GROUP BY counterparty, counterparty_name
             ORDER BY MAX(id) DESC LIMIT $2",
        )
        .bind(account)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn recent_transactions(
        &mut self,
        account: i64,
        limit: i64,
    ) -> Result<Vec<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            transaction_columns!(),
            "
             FROM transactions WHERE debit_account = $1 OR credit_account = $1
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(account)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn ledger_totals(&mut self) -> Result<LedgerTotals, StoreError> {
        let (posted, entries, drifted_accounts, unbalanced_transactions, negative_wallets): (
            i64,
            i64,
            i64,
            i64,
            i64,
        ) = sqlx::query_as(
            "SELECT
                (SELECT CAST(COALESCE(SUM(posted), 0) AS BIGINT) FROM accounts),
                (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM entries),
                (SELECT COUNT(*) FROM accounts a WHERE a.posted <>
                    (SELECT COALESCE(SUM(e.amount), 0) FROM entries e WHERE e.account_id = a.id)),
                (SELECT COUNT(*) FROM (SELECT transaction_id FROM entries GROUP BY transaction_id
                    HAVING SUM(amount) <> 0) u),
                (SELECT COUNT(*) FROM accounts WHERE allow_negative = 0 AND posted - held < 0)",
        )
        .fetch_one(self.conn())
        .await?;
        Ok(LedgerTotals { posted, entries, drifted_accounts, unbalanced_transactions, negative_wallets })
    }

    async fn set_suspense(
        &mut self,
        id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE transactions SET suspense_at = $2, updated_at = $2
             WHERE id = $1 AND state = 'pending' AND suspense_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn hold_refund(
        &mut self,
        id: i64,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool, StoreError> {
        let done = match since {
            Some(since) => sqlx::query(
                "UPDATE transactions SET refund_held_at = $2, updated_at = $2
                 WHERE id = $1 AND refund_held_at IS NULL",
            )
            .bind(id)
            .bind(since),
            None => sqlx::query(
                "UPDATE transactions SET refund_held_at = NULL WHERE id = $1 AND refund_held_at IS NOT NULL",
            )
            .bind(id),
        }
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn held_refunds(&mut self, after: i64, limit: i64) -> Result<Vec<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            transaction_columns!(),
            "
             FROM transactions WHERE refund_held_at IS NOT NULL AND id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn suspended_transfers(&mut self, limit: i64) -> Result<Vec<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            transaction_columns!(),
            " FROM transactions
             WHERE state = 'pending' AND kind = 'external_transfer' AND suspense_at IS NOT NULL
             ORDER BY id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn stuck_transfers(
        &mut self,
        created_before: chrono::DateTime<chrono::Utc>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            transaction_columns!(),
            "
             FROM transactions
             WHERE state = 'pending' AND kind IN ('external_transfer', 'bill_payment') AND created_at < $1 AND id > $2
             ORDER BY id LIMIT $3"
        ))
        .bind(created_before)
        .bind(after)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn wallets_due_fee(
        &mut self,
        period: &str,
        opened_before: chrono::DateTime<chrono::Utc>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AccountRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            account_columns!(),
            "
             FROM accounts a
             WHERE a.kind = 'wallet' AND a.created_at < $2 AND a.id > $3
               AND NOT EXISTS (SELECT 1 FROM monthly_fees f WHERE f.period = $1 AND f.account_id = a.id)
             ORDER BY a.id LIMIT $4"
        ))
        .bind(period)
        .bind(opened_before)
        .bind(after)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn record_monthly_fee(&mut self, fee: &MonthlyFeeRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO monthly_fees (period, account_id, outcome, amount, transaction_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (period, account_id) DO NOTHING",
        )
        .bind(fee.period.as_str())
        .bind(fee.account_id)
        .bind(fee.outcome.as_str())
        .bind(fee.amount)
        .bind(fee.transaction_id)
        .bind(fee.created_at)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn monthly_fees(&mut self, period: &str) -> Result<Vec<MonthlyFeeRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT period, account_id, outcome, amount, transaction_id, created_at
             FROM monthly_fees WHERE period = $1 ORDER BY account_id",
        )
        .bind(period)
        .fetch_all(self.conn())
        .await?)
    }

    async fn complete_fee_period(
        &mut self,
        period: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO monthly_fee_periods (period, wallets, completed_at)
             SELECT $1, COUNT(*), $2 FROM monthly_fees WHERE period = $1
             ON CONFLICT (period) DO NOTHING",
        )
        .bind(period)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn completed_fee_periods(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT period FROM monthly_fee_periods ORDER BY period")
            .fetch_all(self.conn())
            .await?)
    }
}
