//! [`LoanTx`] for both adapters at once: each statement written once in the common dialect,
//! bound once, run on either backend's transaction (see `backend.rs`).

use chrono::{DateTime, Utc};

use super::StoreError;
use super::backend::{Backend, RowsAffected};
use super::loans::*;

#[async_trait::async_trait]
impl<T> LoanTx for T
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
    for<'r> DecisionRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> LoanRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> InstallmentRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> DueRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> PositionRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> BookRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    async fn income_since(
        &mut self,
        account: i64,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, StoreError> {
        // Each movement keyed by its counterparty: another wallet by account id, someone
        // at another bank by name (an unnamed payer is nobody to net against).
        let sum: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(CASE WHEN net > 0 THEN net ELSE 0 END) AS BIGINT) FROM (
                 SELECT party, SUM(amount_in) - SUM(amount_out) AS net FROM (
                     SELECT CASE WHEN kind = 'transfer' THEN 'w:' || CAST(debit_account AS TEXT)
                                 WHEN TRIM(origin_name) = '' THEN 'c:' || CAST(id AS TEXT)
                                 ELSE 'n:' || LOWER(TRIM(origin_name)) END AS party,
                            amount AS amount_in, 0 AS amount_out
                     FROM transactions
                     WHERE credit_account = $1 AND state = 'posted' AND kind IN ('credit', 'transfer')
                       AND created_at >= $2
                     UNION ALL
                     SELECT CASE WHEN kind = 'transfer' THEN 'w:' || CAST(credit_account AS TEXT)
                                 ELSE 'n:' || LOWER(TRIM(counterparty_name)) END,
                            0, amount
                     FROM transactions
                     WHERE debit_account = $1 AND state IN ('posted', 'pending')
                       AND kind IN ('transfer', 'external_transfer') AND created_at >= $2
                 ) moves GROUP BY party
             ) parties",
        )
        .bind(account)
        .bind(since)
        .fetch_one(self.conn())
        .await?;
        Ok(sum.unwrap_or(0))
    }

    async fn loan_counts(&mut self, customer: i64) -> Result<(i64, i64), StoreError> {
        let (active, overdue): (i64, Option<i64>) = sqlx::query_as("SELECT COUNT(*), CAST(SUM(CASE WHEN EXISTS (
                 SELECT 1 FROM loan_installments i WHERE i.loan_id = l.id
                   AND i.overdue_since IS NOT NULL AND i.paid < i.amount + i.late_fee) THEN 1 ELSE 0 END) AS BIGINT)
             FROM loans l WHERE l.customer_id = $1 AND l.state = 'active'",)
        .bind(customer)
        .fetch_one(self.conn())
        .await?;
        Ok((active, overdue.unwrap_or(0)))
    }

    async fn insert_decision(&mut self, d: &NewDecision<'_>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("INSERT INTO loan_decisions (customer_id, product, outcome, loan_limit, reasons, facts, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",)
        .bind(d.customer_id)
        .bind(d.product)
        .bind(d.outcome)
        .bind(d.limit)
        .bind(d.reasons)
        .bind(d.facts)
        .bind(d.now)
        .fetch_one(self.conn())
        .await?)
    }

    async fn decisions(&mut self, customer: i64, limit: i64) -> Result<Vec<DecisionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, customer_id, product, outcome, loan_limit, reasons, facts, decided_at
             FROM loan_decisions WHERE customer_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(customer)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn insert_loan(&mut self, l: &NewLoan<'_>) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO loans (reference, offer_key, customer_id, decision_id, product, currency, principal,
                 fee, interest, total, tenor, every, apr, state, offered_on, offered_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'offered', $14, $15, $15)
             ON CONFLICT (offer_key) DO NOTHING RETURNING id",
        )
        .bind(l.reference)
        .bind(l.offer_key)
        .bind(l.customer_id)
        .bind(l.decision_id)
        .bind(l.product)
        .bind(l.currency)
        .bind(l.principal)
        .bind(l.fee)
        .bind(l.interest)
        .bind(l.total)
        .bind(l.tenor)
        .bind(l.every)
        .bind(l.apr)
        .bind(l.offered_on)
        .bind(l.now)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn insert_installment(
        &mut self,
        loan: i64,
        number: i32,
        due_on: &str,
        amount: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO loan_installments (loan_id, number, due_on, amount) VALUES ($1, $2, $3, $4)",
        )
        .bind(loan)
        .bind(number)
        .bind(due_on)
        .bind(amount)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn loan_by_offer_key(&mut self, key: &str) -> Result<Option<LoanRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", loan_columns!(), " FROM loans WHERE offer_key = $1"))
            .bind(key)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn loan_by_reference(&mut self, reference: &str) -> Result<Option<LoanRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", loan_columns!(), " FROM loans WHERE reference = $1"))
            .bind(reference)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn lock_loan(&mut self, id: i64) -> Result<Option<LoanRow>, StoreError> {
        Ok(sqlx::query_as(if T::POSTGRES {
            concat!("SELECT ", loan_columns!(), " FROM loans WHERE id = $1", " FOR UPDATE")
        } else {
            concat!("SELECT ", loan_columns!(), " FROM loans WHERE id = $1")
        })
        .bind(id)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn active_loan(&mut self, customer: i64) -> Result<Option<LoanRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            loan_columns!(),
            " FROM loans WHERE customer_id = $1 AND state = 'active'"
        ))
        .bind(customer)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn loans_of(&mut self, customer: i64, limit: i64) -> Result<Vec<LoanRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            loan_columns!(),
            " FROM loans WHERE customer_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(customer)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn installments(&mut self, loan: i64) -> Result<Vec<InstallmentRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT loan_id, number, due_on, amount, late_fee, paid, overdue_since, paid_at
             FROM loan_installments WHERE loan_id = $1 ORDER BY number",
        )
        .bind(loan)
        .fetch_all(self.conn())
        .await?)
    }

    async fn activate_loan(
        &mut self,
        id: i64,
        disbursement: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE loans SET state = 'active', disbursement_id = $2, accepted_at = $3, updated_at = $3
             WHERE id = $1 AND state = 'offered'",
        )
        .bind(id)
        .bind(disbursement)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn decline_loan(
        &mut self,
        id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE loans SET state = 'declined', updated_at = $2 WHERE id = $1 AND state = 'offered'",
        )
        .bind(id)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn add_loan_payment(
        &mut self,
        id: i64,
        paid: &Allocation,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE loans SET paid_late_fees = paid_late_fees + $2, paid_fee = paid_fee + $3,
                 paid_interest = paid_interest + $4, paid_principal = paid_principal + $5, updated_at = $6,
                 state = CASE WHEN paid_late_fees + paid_fee + paid_interest + paid_principal + $2 + $3 + $4 + $5
                                   = total + late_fees THEN 'repaid' ELSE state END,
                 repaid_at = CASE WHEN paid_late_fees + paid_fee + paid_interest + paid_principal + $2 + $3 + $4 + $5
                                   = total + late_fees THEN $6 ELSE repaid_at END
             WHERE id = $1 AND state = 'active'",)
        .bind(id)
        .bind(paid.late_fees)
        .bind(paid.fee)
        .bind(paid.interest)
        .bind(paid.principal)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn pay_installment(
        &mut self,
        loan: i64,
        number: i32,
        amount: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE loan_installments SET paid = paid + $3,
                 paid_at = CASE WHEN paid + $3 = amount + late_fee THEN $4 ELSE paid_at END
             WHERE loan_id = $1 AND number = $2",
        )
        .bind(loan)
        .bind(number)
        .bind(amount)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn waive_late_fee(
        &mut self,
        loan: i64,
        number: i32,
        amount: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let loan_done = sqlx::query(
            "UPDATE loans SET late_fees = late_fees - $2, updated_at = $3,
                 state = CASE WHEN paid_late_fees + paid_fee + paid_interest + paid_principal = total + late_fees - $2
                              THEN 'repaid' ELSE state END,
                 repaid_at = CASE WHEN paid_late_fees + paid_fee + paid_interest + paid_principal = total + late_fees - $2
                              THEN $3 ELSE repaid_at END
             WHERE id = $1 AND state = 'active' AND late_fees - paid_late_fees >= $2",
        )
        .bind(loan)
        .bind(amount)
        .bind(now)
        .execute(self.conn())
        .await?;
        if loan_done.rows() != 1 {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE loan_installments SET late_fee = late_fee - $3,
                 paid_at = CASE WHEN paid = amount + late_fee - $3 THEN $4 ELSE paid_at END
             WHERE loan_id = $1 AND number = $2 AND late_fee >= $3 AND amount + late_fee - paid >= $3",
        )
        .bind(loan)
        .bind(number)
        .bind(amount)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn reschedule_installment(
        &mut self,
        loan: i64,
        number: i32,
        due_on: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE loan_installments SET due_on = $3
             WHERE loan_id = $1 AND number = $2 AND paid < amount + late_fee",
        )
        .bind(loan)
        .bind(number)
        .bind(due_on)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn write_off_loan(
        &mut self,
        id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE loans SET state = 'written_off', written_off_at = $2, updated_at = $2
             WHERE id = $1 AND state = 'active'",
        )
        .bind(id)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn mark_overdue(
        &mut self,
        loan: i64,
        number: i32,
        fee: i64,
        day: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE loan_installments SET overdue_since = $4, late_fee = $3
             WHERE loan_id = $1 AND number = $2 AND overdue_since IS NULL AND paid < amount",
        )
        .bind(loan)
        .bind(number)
        .bind(fee)
        .bind(day)
        .execute(self.conn())
        .await?;
        if done.rows() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE loans SET late_fees = late_fees + $2 WHERE id = $1")
            .bind(loan)
            .bind(fee)
            .execute(self.conn())
            .await?;
        Ok(true)
    }

    async fn insert_loan_event(&mut self, e: &LoanEvent<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO loan_events (loan_id, number, kind, day, amount, transaction_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (loan_id, number, kind, day) DO NOTHING",
        )
        .bind(e.loan_id)
        .bind(e.number)
        .bind(e.kind)
        .bind(e.day)
        .bind(e.amount)
        .bind(e.transaction_id)
        .bind(e.now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn unpaid_due_by(
        &mut self,
        day: &str,
        after: (i64, i32),
        limit: i64,
    ) -> Result<Vec<DueRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            due_columns!(),
            " FROM loan_installments i JOIN loans l ON l.id = i.loan_id
             WHERE i.paid < i.amount + i.late_fee AND i.due_on <= $1 AND l.state = 'active'
               AND (i.loan_id > $2 OR (i.loan_id = $2 AND i.number > $3))
             ORDER BY i.loan_id, i.number LIMIT $4"
        ))
        .bind(day)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn unpaid_due_between(
        &mut self,
        from: &str,
        to: &str,
        after: (i64, i32),
        limit: i64,
    ) -> Result<Vec<DueRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            due_columns!(),
            " FROM loan_installments i JOIN loans l ON l.id = i.loan_id
             WHERE i.paid < i.amount + i.late_fee AND i.due_on >= $1 AND i.due_on <= $2 AND l.state = 'active'
               AND (i.loan_id > $3 OR (i.loan_id = $3 AND i.number > $4))
             ORDER BY i.loan_id, i.number LIMIT $5"
        ))
        .bind(from)
        .bind(to)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn loan_events(&mut self, loan: i64, kind: &str) -> Result<Vec<(i32, String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT number, day, amount FROM loan_events WHERE loan_id = $1 AND kind = $2 ORDER BY day, number",)
        .bind(loan)
        .bind(kind)
        .fetch_all(self.conn())
        .await?)
    }

    async fn loan_positions(&mut self) -> Result<Vec<PositionRow>, StoreError> {
        Ok(sqlx::query_as("SELECT l.id, l.reference, l.product, l.principal, l.principal - l.paid_principal AS principal_outstanding,
                 l.total + l.late_fees - l.paid_late_fees - l.paid_fee - l.paid_interest - l.paid_principal
                     AS outstanding,
                 l.late_fees,
                 (SELECT MIN(i.due_on) FROM loan_installments i
                   WHERE i.loan_id = l.id AND i.paid < i.amount + i.late_fee) AS oldest_due,
                 (SELECT MIN(i.overdue_since) FROM loan_installments i
                   WHERE i.loan_id = l.id AND i.paid < i.amount + i.late_fee) AS overdue_since
             FROM loans l WHERE l.state = 'active' ORDER BY l.id",)
        .fetch_all(self.conn())
        .await?)
    }

    async fn loan_book(&mut self) -> Result<Vec<BookRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT state, product, COUNT(*) AS loans, CAST(SUM(principal) AS BIGINT) AS principal,
                 CAST(SUM(fee + interest + late_fees) AS BIGINT) AS charges,
                 CAST(SUM(paid_late_fees + paid_fee + paid_interest + paid_principal) AS BIGINT) AS paid,
                 CAST(SUM(paid_late_fees + paid_fee + paid_interest) AS BIGINT) AS charges_paid,
                 CAST(SUM(paid_interest) AS BIGINT) AS interest_paid
             FROM loans WHERE state IN ('active', 'repaid') GROUP BY state, product ORDER BY state, product",
        )
        .fetch_all(self.conn())
        .await?)
    }

    async fn decision_counts(
        &mut self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT outcome, COUNT(*) FROM loan_decisions WHERE decided_at >= $1 GROUP BY outcome ORDER BY outcome",)
        .bind(since)
        .fetch_all(self.conn())
        .await?)
    }

    async fn offer_counts(
        &mut self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT state, COUNT(*) FROM loans WHERE offered_at >= $1 GROUP BY state ORDER BY state",
        )
        .bind(since)
        .fetch_all(self.conn())
        .await?)
    }
}
