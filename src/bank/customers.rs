//! Customers: registration (with the wallet and its account number), look-up by key, and a
//! change of WhatsApp number.

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::flows::template::first_name_initial;

use crate::phone::mask as mask_phone;
use crate::store::{AccountRow, BankTx, CustomerRow, NewCustomer, SqlTx};

use super::ledger::kind;
use super::{Bank, Registration, customer_event};

impl Bank {
    /// Whether a sender key (`wa:…` or `bsuid:…`) is a registered customer's.
    pub async fn is_customer(&self, key: &str) -> anyhow::Result<bool> {
        Ok(self.store.is_customer(key).await?)
    }

    /// The customer behind a sender key (`wa:…` or `bsuid:…`).
    pub async fn customer(&self, key: &str) -> anyhow::Result<Option<CustomerRow>> {
        let mut tx = self.begin().await?;
        let customer = tx.customers().customer_by_alias(key).await?;
        tx.rollback().await?;
        Ok(customer)
    }

    /// The customer behind `key` and their wallet, read in a unit of work the caller goes on
    /// reading in (and rolls back); `None` when `key` is not a customer.
    pub(super) async fn with_wallet(
        &self,
        key: &str,
    ) -> anyhow::Result<Option<(CustomerRow, AccountRow, Box<dyn SqlTx>)>> {
        let mut tx = self.begin().await?;
        let Some(customer) = tx.customers().customer_by_alias(key).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        Ok(Some((customer, wallet, tx)))
    }

    pub(super) async fn wallet(&self, tx: &mut dyn BankTx, customer: i64) -> anyhow::Result<AccountRow> {
        tx.customer_account(customer, kind::WALLET).await?.context("a customer without a wallet")
    }

    /// Forgets what waited on the customer behind `key` finishing a flow: a PIN chosen but not
    /// yet confirmed or registered, a one-time code sent, a PIN or code verified for the next
    /// action, an authenticator enrolment begun. (Nothing of the ledger waits on a session:
    /// funds are held only for a confirmed transfer, which the stuck-transfer job settles.)
    pub async fn forget_pending(&self, key: &str) -> anyhow::Result<()> {
        for what in ["new_pin", "pin_ready"] {
            self.kv.delete(&Self::kv_key(what, key)).await?;
        }
        if let Some(customer) = self.customer(key).await? {
            for what in ["code", "code_tries", "code_ok", "verified", "totp_pending"] {
                self.kv.delete(&Self::kv_key(what, customer.id)).await?;
            }
        }
        Ok(())
    }

    /// Whether someone born on `date_of_birth` (ISO) is old enough to open an account: `Err`
    /// with the minimum age when not.
    pub fn old_enough(&self, date_of_birth: &str) -> Result<(), u32> {
        let today = self.now().with_timezone(&self.settings.timezone).date_naive();
        match NaiveDate::parse_from_str(date_of_birth, "%Y-%m-%d") {
            Ok(born) if age_on(born, today) >= self.rules.minimum_age => Ok(()),
            _ => Err(self.rules.minimum_age),
        }
    }

    /// Whether `id_number` can open an account: of the right form and not registered already.
    pub async fn id_number_free(&self, id_number: &str) -> anyhow::Result<Result<(), Registration>> {
        let id_number = crate::flows::input::compact_id_number(id_number);
        if !self.rules.id_number_pattern.is_match(&id_number) {
            return Ok(Err(Registration::InvalidIdNumber));
        }
        let mut tx = self.begin().await?;
        let taken = self.id_number_taken(tx.as_mut(), &id_number).await?;
        tx.rollback().await?;
        Ok(if taken { Err(Registration::IdNumberTaken) } else { Ok(()) })
    }

    /// Whether `id_number` is registered: looked up by its digest under every key, and as it
    /// is (a row kept before identity numbers were sealed).
    async fn id_number_taken(
        &self,
        tx: &mut dyn crate::store::SqlTx,
        id_number: &str,
    ) -> anyhow::Result<bool> {
        for kept in self
            .sealing
            .digests(id_number, crate::sealed::IDENTITY)
            .iter()
            .map(String::as_str)
            .chain([id_number])
        {
            if tx.customers().id_number_taken(kept).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Registers the customer behind `key` with the PIN they confirmed.
    pub async fn register(
        &self,
        key: &str,
        first_name: &str,
        last_name: &str,
        date_of_birth: &str,
        id_number: &str,
    ) -> anyhow::Result<Registration> {
        // A customer known only by their username (a BSUID) registers without a number: it is
        // linked when WhatsApp first shares it (see `link`), and money waits for that.
        let phone = match crate::phone::wa_id_of(key) {
            Some(phone) => phone,
            None if key.starts_with("bsuid:") => "",
            None => return Ok(Registration::NoPhone),
        };
        let id_number = crate::flows::input::compact_id_number(id_number);
        if !self.rules.id_number_pattern.is_match(&id_number) {
            return Ok(Registration::InvalidIdNumber);
        }
        let now = self.now();
        let Ok(born) = NaiveDate::parse_from_str(date_of_birth, "%Y-%m-%d") else {
            return Ok(Registration::TooYoung);
        };
        if age_on(born, now.with_timezone(&self.settings.timezone).date_naive()) < self.rules.minimum_age {
            return Ok(Registration::TooYoung);
        }
        if self.customer(key).await?.is_some() {
            return Ok(Registration::AlreadyRegistered);
        }
        let Some(hash) = self.kv.get(&Self::kv_key("pin_ready", key)).await? else {
            return Ok(Registration::PinMissing);
        };
        let hash = String::from_utf8(hash).context("a kept PIN hash is not text")?;
        let mut tx = self.begin().await?;
        if self.id_number_taken(tx.as_mut(), &id_number).await? {
            tx.rollback().await?;
            return Ok(Registration::IdNumberTaken);
        }
        let digest = self.sealing.digest(&id_number, crate::sealed::IDENTITY);
        let sealed = self.sealing.seal(&id_number, crate::sealed::IDENTITY);
        let customer = NewCustomer {
            first_name,
            last_name,
            date_of_birth,
            id_number: &digest,
            id_number_sealed: Some(&sealed),
            phone,
            kyc_tier: 1,
            pin_hash: &hash,
            now,
        };
        let Some(id) = tx.customers().insert_customer(&customer).await? else {
            tx.rollback().await?;
            return Ok(Registration::IdNumberTaken);
        };
        if !tx.customers().insert_alias(key, id, now).await? {
            tx.rollback().await?;
            return Ok(Registration::AlreadyRegistered);
        }
        let mut account_number = None;
        for _ in 0..ACCOUNT_NUMBER_TRIES {
            let number = format!("{:010}", 1_000_000_000 + fastrand::u64(..9_000_000_000));
            if tx
                .bank()
                .insert_account(&number, kind::WALLET, Some(id), &self.settings.currency, false, now)
                .await?
                .is_some()
            {
                account_number = Some(number);
                break;
            }
        }
        let account_number = account_number.context("no free account number after several tries")?;
        tx.append_audit(&customer_event(
            id,
            "customer.registered",
            serde_json::json!({ "kyc_tier": 1, "phone": mask_phone(phone), "account": account_number }),
            now,
        ))
        .await?;
        tx.commit().await?;
        self.kv.delete(&Self::kv_key("pin_ready", key)).await?;
        // The provider's account to fund the wallet through: tried now, and by the worker
        // until it exists. Registration stands either way.
        if let Err(err) = self.request_funding(id).await {
            tracing::warn!(
                customer = id,
                error = format!("{err:#}"),
                "the funding account is left to the worker"
            );
        }
        Ok(Registration::Registered { account_number })
    }

    /// Whether the customer behind `key` is linked to a verified phone number.
    pub async fn is_linked(&self, key: &str) -> anyhow::Result<bool> {
        Ok(self.customer(key).await?.is_some_and(|c| !c.phone.is_empty()))
    }

    /// A message carried both `wa_id` and the username's id `bsuid`: both come to name the same
    /// customer. One known by number gains the username's alias; one known only by the
    /// username is linked to the number (WhatsApp verified it), and their PIN is needed again
    /// before the next money action. Two different customers are left apart, with a warning.
    pub async fn link(&self, wa_id: &str, bsuid: &str) -> anyhow::Result<()> {
        let (by_number, by_username) = (alias_of_phone(wa_id), format!("bsuid:{bsuid}"));
        let now = self.now();
        let mut tx = self.begin().await?;
        let numbered = tx.customers().customer_by_alias(&by_number).await?;
        let named = tx.customers().customer_by_alias(&by_username).await?;
        match (numbered, named) {
            (Some(customer), None) => {
                tx.customers().insert_alias(&by_username, customer.id, now).await?;
            }
            (None, Some(customer)) if customer.phone.is_empty() => {
                tx.customers().insert_alias(&by_number, customer.id, now).await?;
                tx.customers().set_reverify(customer.id, wa_id, now).await?;
                let event = serde_json::json!({ "phone": mask_phone(wa_id) });
                tx.append_audit(&customer_event(customer.id, "customer.number_linked", event, now)).await?;
                tracing::info!(
                    customer = customer.id,
                    "a customer known by their username is linked to their number"
                );
            }
            (Some(a), Some(b)) if a.id != b.id => {
                tracing::warn!(
                    number = a.id,
                    username = b.id,
                    "a number and a username name two customers; left apart"
                );
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(())
    }

    /// The customer's number changed (a `system` message): their alias moves and the PIN is
    /// needed again before the next money action.
    pub async fn number_changed(&self, old_key: &str, new_wa_id: &str) -> anyhow::Result<bool> {
        let now = self.now();
        let new_key = alias_of_phone(new_wa_id);
        let mut tx = self.begin().await?;
        let Some(customer) = tx.customers().customer_by_alias(old_key).await? else { return Ok(false) };
        if !tx.customers().move_alias(old_key, &new_key).await? {
            tracing::warn!(customer = customer.id, "a number change to a number already in use was ignored");
            return Ok(false);
        }
        tx.customers().set_reverify(customer.id, new_wa_id, now).await?;
        tx.append_audit(&customer_event(
            customer.id,
            "customer.number_changed",
            serde_json::json!({ "from": mask_phone(&customer.phone), "to": mask_phone(new_wa_id) }),
            now,
        ))
        .await?;
        tx.commit().await?;
        self.spend_verification(customer.id).await?;
        Ok(true)
    }
}

pub(super) fn alias_of_phone(phone: &str) -> String {
    crate::phone::customer_key(phone)
}

/// "Ada L. (2348****21)".
pub(super) fn shown(name: &str, phone: &str) -> String {
    format!("{} ({})", first_name_initial(name), mask_phone(phone))
}

/// Completed years between `born` and `today`.
pub fn age_on(born: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(born).unwrap_or(0)
}

/// Attempts at a number-unique account number before giving up.
pub(super) const ACCOUNT_NUMBER_TRIES: usize = 8;
