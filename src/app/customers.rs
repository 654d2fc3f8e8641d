//! The bank as the conversations' customers: wiring between two use cases that do not know
//! each other (the conversation host owns the [`Customers`] trait; the bank implements it
//! here).

use async_trait::async_trait;

use crate::bank::Bank;
use crate::conversation::{CareState, Customers};

#[async_trait]
impl Customers for Bank {
    async fn is_registered(&self, key: &str) -> anyhow::Result<bool> {
        self.is_customer(key).await
    }

    async fn is_linked(&self, key: &str) -> anyhow::Result<bool> {
        Bank::is_linked(self, key).await
    }

    async fn link(&self, wa_id: &str, bsuid: &str) -> anyhow::Result<()> {
        Bank::link(self, wa_id, bsuid).await
    }

    async fn number_changed(&self, key: &str, new_wa_id: &str) -> anyhow::Result<()> {
        if Bank::number_changed(self, key, new_wa_id).await? {
            tracing::info!("a customer's number changed: their PIN is needed before the next money action");
        }
        Ok(())
    }

    async fn abandoned(&self, key: &str) -> anyhow::Result<()> {
        self.forget_pending(key).await
    }

    async fn recent_payees(&self, key: &str) -> anyhow::Result<Vec<(String, String)>> {
        Bank::recent_payees(self, key).await
    }

    async fn pin_matches(&self, key: &str, text: &str) -> anyhow::Result<bool> {
        Bank::is_pin(self, key, text).await
    }

    async fn care(&self, key: &str) -> anyhow::Result<CareState> {
        let (handed_over, to_rate) = self.care_state(key).await?;
        Ok(CareState { handed_over, to_rate })
    }

    async fn to_ticket(&self, ticket: i64, source: &str, text: &str) -> anyhow::Result<()> {
        Bank::to_ticket(self, ticket, source, text).await
    }

    async fn back_to_bot(&self, ticket: i64) -> anyhow::Result<()> {
        Bank::back_to_bot(self, ticket).await
    }

    async fn rate(&self, ticket: i64, text: &str) -> anyhow::Result<Option<i32>> {
        self.take_rating(ticket, text).await
    }
}
