//! Who the customers are, as far as conversations need to know: the port the bank implements
//! (`src/app/customers.rs` wires it), so the conversation host never imports the bank.

use std::time::Duration;

use async_trait::async_trait;

use super::Conversations;
use crate::dispatch::Standing;

/// Who the customers are, as far as conversations need to know.
#[async_trait]
pub trait Customers: Send + Sync + 'static {
    /// Whether the customer behind `key` has registered.
    async fn is_registered(&self, key: &str) -> anyhow::Result<bool>;

    /// Whether the customer behind `key` is linked to a verified phone number (a `wa:` key
    /// always is: WhatsApp shared it).
    async fn is_linked(&self, _key: &str) -> anyhow::Result<bool> {
        Ok(true)
    }

    /// A message came with both the customer's WhatsApp number and their username's id
    /// (BSUID): each is made to name the same customer (a customer known only by the
    /// username is linked to the number now verified).
    async fn link(&self, _wa_id: &str, _bsuid: &str) -> anyhow::Result<()> {
        Ok(())
    }

    /// The customer behind `key` now writes from `new_wa_id` (a `system` message).
    async fn number_changed(&self, key: &str, new_wa_id: &str) -> anyhow::Result<()>;

    /// The customer behind `key` abandoned their session: forget what waited on it (codes
    /// sent, a PIN chosen but not confirmed, an authenticator not enrolled).
    async fn abandoned(&self, key: &str) -> anyhow::Result<()>;

    /// Who the customer behind `key` sent money to lately: (phone number, name), most recent
    /// first. What "send 2k to Ada" may name.
    async fn recent_payees(&self, _key: &str) -> anyhow::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }

    /// Whether `text` is the PIN of the customer behind `key` (checked against its hash, no
    /// try counted: it authorises nothing, it only decides what is not kept).
    async fn pin_matches(&self, _key: &str, _text: &str) -> anyhow::Result<bool> {
        Ok(false)
    }

    /// Where customer care stands with the customer behind `key`: the ticket their messages go
    /// to (handed over to a person), and the closed one they were asked to rate.
    async fn care(&self, _key: &str) -> anyhow::Result<CareState> {
        Ok(CareState::default())
    }

    /// Adds what the customer wrote (WhatsApp message `source`) to ticket `ticket`, once.
    async fn to_ticket(&self, _ticket: i64, _source: &str, _text: &str) -> anyhow::Result<()> {
        Ok(())
    }

    /// The customer went back to the bot: ticket `ticket` no longer takes their messages.
    async fn back_to_bot(&self, _ticket: i64) -> anyhow::Result<()> {
        Ok(())
    }

    /// Takes `text` as the rating asked for ticket `ticket`: `Some` when it was one; anything
    /// else ends the asking.
    async fn rate(&self, _ticket: i64, _text: &str) -> anyhow::Result<Option<i32>> {
        Ok(None)
    }
}

/// Where customer care stands with a customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CareState {
    /// The open ticket their messages go to.
    pub handed_over: Option<i64>,
    /// The closed ticket they were asked to rate.
    pub to_rate: Option<i64>,
}

impl Conversations {
    /// Whether the customer behind `key` has registered (as `claimed` says, when a claim read
    /// it), and whether their account is linked to a verified phone number (only a username's
    /// key, `bsuid:`, is ever asked).
    pub(super) async fn standing(
        &self,
        key: &str,
        claimed: Option<&Standing>,
    ) -> anyhow::Result<(bool, bool)> {
        let Some(customers) = &self.customers else { return Ok((true, true)) };
        let registered = match claimed {
            Some(claimed) => claimed.registered,
            None => customers.is_registered(key).await?,
        };
        let linked = !registered || !key.starts_with("bsuid:") || customers.is_linked(key).await?;
        Ok((registered, linked))
    }

    /// Links a customer's number and username's id, at most once a day per pair (most
    /// messages carry both: the check is not repeated for each). True when it asked for the
    /// link now, which may have made the sender a customer under this key.
    pub(super) async fn link_once(
        &self,
        customers: &dyn Customers,
        wa_id: &str,
        bsuid: &str,
    ) -> anyhow::Result<bool> {
        let mark = format!("linked:{wa_id}:{bsuid}");
        if self.kv.get(&mark).await?.is_some() {
            return Ok(false);
        }
        customers.link(wa_id, bsuid).await?;
        self.kv.set(&mark, b"1", Duration::from_secs(24 * 3600)).await?;
        Ok(true)
    }
}
