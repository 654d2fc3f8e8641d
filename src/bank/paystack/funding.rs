//! Funding accounts through Paystack: a customer (`POST /customer`), then its dedicated
//! virtual account (`POST /dedicated_account`) at the preferred bank. Paystack requires an
//! email per customer; teller has none, so each gets `<WhatsApp number>@PAYSTACK_EMAIL_DOMAIN`.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;

use super::{PROVIDER, Paystack};
use crate::bank::funding::{Account, Funding, Holder, ProviderError};

#[async_trait]
impl Funding for Paystack {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn create_customer(&self, holder: &Holder) -> Result<String, ProviderError> {
        let body = json!({
            "email": format!("{}@{}", holder.phone, self.email_domain),
            "first_name": holder.first_name,
            "last_name": holder.last_name,
            "phone": format!("+{}", holder.phone),
            "metadata": json!({ "teller_customer": holder.customer }).to_string(),
        });
        let data = self.call(Method::POST, &["customer"], &[], Some(&body)).await?;
        data["customer_code"]
            .as_str()
            .filter(|code| !code.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::Retryable("POST /customer: no customer_code".into()))
    }

    async fn open_account(&self, code: &str, holder: &Holder) -> Result<Option<Account>, ProviderError> {
        let body = json!({
            "customer": code,
            "preferred_bank": self.preferred_bank,
            "first_name": holder.first_name,
            "last_name": holder.last_name,
            "phone": format!("+{}", holder.phone),
        });
        let data = self.call(Method::POST, &["dedicated_account"], &[], Some(&body)).await?;
        Ok(super::events::account_of(&data))
    }
}
