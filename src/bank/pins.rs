//! PINs: choosing and confirming one, checking one within its tries, the locks that grow and
//! then wait for an operator, and the short verification a right PIN grants.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::store::{CustomerRow, NewAuditEvent};

use super::secrets;
use super::{Bank, PinCheck, Refusal, customer_event};

impl Bank {
    /// First entry of a new PIN: refused if weak, else kept (hashed) for its confirmation.
    pub async fn choose_pin(&self, key: &str, pin: &str) -> anyhow::Result<Result<(), secrets::WeakPin>> {
        if let Err(weak) = secrets::check_new_pin(pin) {
            return Ok(Err(weak));
        }
        let hash = self.hasher.hash(pin.to_owned()).await?;
        self.kv.set(&Self::kv_key("new_pin", key), hash.as_bytes(), NEW_PIN_TTL).await?;
        self.kv.delete(&Self::kv_key("pin_ready", key)).await?;
        Ok(Ok(()))
    }

    /// Second entry: true when it matches the first, which is then ready to use.
    pub async fn confirm_pin(&self, key: &str, pin: &str) -> anyhow::Result<Option<bool>> {
        let Some(hash) = self.kv.get(&Self::kv_key("new_pin", key)).await? else { return Ok(None) };
        let hash = String::from_utf8(hash).context("a kept PIN hash is not text")?;
        if !self.hasher.matches(pin.to_owned(), hash.clone()).await? {
            return Ok(Some(false));
        }
        self.kv.delete(&Self::kv_key("new_pin", key)).await?;
        self.kv.set(&Self::kv_key("pin_ready", key), hash.as_bytes(), NEW_PIN_TTL).await?;
        Ok(Some(true))
    }

    /// Checks the PIN of the customer behind `key`. A locked customer's PIN is not checked.
    ///
    /// The try is counted before the hash is checked, atomically ([`BankTx::pin_try`]),
    /// so checks running at once can never test more PINs than tries are left; the last try
    /// locks in advance, and a right PIN lifts it. Locks in a row grow (`lockout_minutes`), and
    /// the `operator_unlock_after`-th waits for an operator. No transaction is open while the
    /// hash is checked.
    pub async fn verify_pin(&self, key: &str, pin: &str) -> anyhow::Result<PinCheck> {
        let Some(customer) = self.customer(key).await? else { return Ok(PinCheck::NotRegistered) };
        let now = self.now();
        if let Some(locked) = lock_of(&customer, now) {
            return Ok(locked);
        }
        let security = &self.rules.security;
        let lock = u32::try_from(customer.pin_locks).unwrap_or(0).saturating_add(1);
        let mut tx = self.begin().await?;
        let reserved = tx
            .customers()
            .pin_try(
                customer.id,
                security.pin_attempts,
                now + security.lockout_for(lock),
                security.needs_operator(lock),
                now,
            )
            .await?;
        tx.commit().await?;
        let Some(reserved) = reserved else {
            // Locked meanwhile: another check took the last try.
            let customer = self.customer(key).await?.context("a customer vanished")?;
            return Ok(lock_of(&customer, now).unwrap_or(PinCheck::Wrong { left: 0 }));
        };
        let right = self.hasher.matches(pin.to_owned(), customer.pin_hash.clone()).await?;
        let mut tx = self.begin().await?;
        let audit =
            |action: &str, detail: serde_json::Value| customer_event(customer.id, action, detail, now);
        if customer.locked_until.is_some_and(|until| until <= now) {
            // The last lock has run out: record that it ended.
            tx.append_audit(&audit("customer.unlocked", serde_json::json!({ "reason": "lock expired" })))
                .await?;
        }
        let last = reserved.pin_failures >= security.pin_attempts;
        let check = if right {
            tx.customers().pin_passed(customer.id, now).await?;
            PinCheck::Verified
        } else if last {
            let blocked = reserved.pin_blocked != 0;
            let detail = serde_json::json!({
                "reason": "wrong PIN",
                "attempts": security.pin_attempts,
                "locks_in_a_row": reserved.pin_locks,
                "until": if blocked { serde_json::Value::Null } else { serde_json::json!(reserved.locked_until) },
                "operator_unlock": blocked,
            });
            tx.append_audit(&audit(if blocked { "customer.blocked" } else { "customer.locked" }, detail))
                .await?;
            match reserved.locked_until {
                Some(until) if !blocked => PinCheck::Locked { until },
                _ => PinCheck::Blocked,
            }
        } else {
            PinCheck::Wrong { left: security.pin_attempts - reserved.pin_failures }
        };
        tx.commit().await?;
        if check == PinCheck::Verified {
            self.kv
                .set(&Self::kv_key("verified", customer.id), b"pin", self.rules.security.verified_for)
                .await?;
        } else if check == PinCheck::Blocked {
            tracing::warn!(
                customer = customer.id,
                "a customer's money actions are locked until an operator unlocks them"
            );
        }
        Ok(check)
    }

    /// Whether `text` is the PIN of the customer behind `key`: one hash check, no try counted
    /// (it authorises nothing; a conversation only learns from it what not to keep).
    pub async fn is_pin(&self, key: &str, text: &str) -> anyhow::Result<bool> {
        let Some(customer) = self.customer(key).await? else { return Ok(false) };
        Ok(self.hasher.matches(text.to_owned(), customer.pin_hash).await?)
    }

    /// When a lock ends, as a customer reads it: "14:30" today, "14:30 on Sat 5 Dec" later.
    pub fn lock_end(&self, until: DateTime<Utc>) -> String {
        let local = until.with_timezone(&self.settings.timezone);
        let today = self.now().with_timezone(&self.settings.timezone).date_naive();
        if local.date_naive() == today {
            local.format("%H:%M").to_string()
        } else {
            local.format("%H:%M on %a %-d %b").to_string()
        }
    }

    pub(super) async fn verified(&self, customer: &CustomerRow) -> anyhow::Result<bool> {
        Ok(customer.reverify == 0 && self.kv.get(&Self::kv_key("verified", customer.id)).await?.is_some())
    }

    pub(super) async fn spend_verification(&self, customer: i64) -> anyhow::Result<()> {
        self.kv.delete(&Self::kv_key("verified", customer)).await?;
        self.kv.delete(&Self::kv_key("code_ok", customer)).await?;
        Ok(())
    }

    /// Replaces the PIN with the one just confirmed; needs the old PIN verified first.
    pub async fn change_pin(&self, key: &str) -> anyhow::Result<Result<(), Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        if !self.verified(&customer).await? {
            return Ok(Err(Refusal::NotVerified));
        }
        let Some(hash) = self.kv.get(&Self::kv_key("pin_ready", key)).await? else {
            return Ok(Err(Refusal::NotVerified));
        };
        let hash = String::from_utf8(hash).context("a kept PIN hash is not text")?;
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.customers().set_pin_hash(customer.id, &hash, now).await?;
        tx.append_audit(&customer_event(customer.id, "customer.pin_changed", serde_json::json!({}), now))
            .await?;
        tx.commit().await?;
        self.kv.delete(&Self::kv_key("pin_ready", key)).await?;
        self.spend_verification(customer.id).await?;
        Ok(Ok(()))
    }

    /// Lifts a customer's lockout (an operator's action, once they have checked who the
    /// customer is), the one only an operator ends included, and a forgotten PIN's reset
    /// refused after wrong answers; false when there was neither.
    pub async fn unlock(&self, customer: i64, actor: &str) -> anyhow::Result<bool> {
        let now = self.now();
        let mut tx = self.begin().await?;
        if !tx.customers().unlock(customer, now).await? {
            return Ok(false);
        }
        tx.append_audit(&NewAuditEvent {
            occurred_at: now,
            actor: actor.to_owned(),
            action: "customer.unlocked".into(),
            subject: format!("customer:{customer}"),
            detail: serde_json::json!({ "reason": "operator" }),
        })
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// How a customer's lock answers a PIN check at `now`, if they are locked.
pub(super) fn lock_of(customer: &CustomerRow, now: DateTime<Utc>) -> Option<PinCheck> {
    if customer.frozen_at.is_some() {
        return Some(PinCheck::Frozen);
    }
    if customer.pin_blocked != 0 {
        return Some(PinCheck::Blocked);
    }
    customer.locked_until.filter(|until| *until > now).map(|until| PinCheck::Locked { until })
}

/// How long a chosen PIN waits for its confirmation and the registration.
pub(super) const NEW_PIN_TTL: Duration = Duration::from_secs(600);
