//! The bank as the conversations' customers: wiring between two use cases that do not know
//! each other (the conversation host owns the [`Customers`] trait; the bank implements it
//! here).

use async_trait::async_trait;

use crate::bank::Bank;
use crate::conversation::Customers;

#[async_trait]
impl Customers for Bank {
    async fn is_registered(&self, key: &str) -> anyhow::Result<bool> {
        self.is_customer(key).await
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
}
