//! A forgotten PIN: the customer proves who they are with the date of birth and identity
//! number they registered with (a few wrong answers a day), chooses a new PIN, and may send
//! less for a while after (`security.after_pin_reset`).
//!
//! What stays with a person: an account frozen, or money actions locked until an operator
//! unlocks them. A reset never lifts those; once care has, the customer resets here.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq as _;

use crate::store::CustomerRow;

use super::rules::{PIN_RESET_WINDOW, Tier};
use super::{Bank, customer_event};

/// What a forgotten PIN's identity check said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityCheck {
    /// Both answers match: a new PIN may be set in the next minutes.
    Confirmed,
    /// They do not (which one is not said); this many tries are left today.
    Wrong {
        /// Tries left.
        left: i64,
    },
    /// Too many wrong answers: no more tries until then.
    TooMany {
        /// When the tries start again.
        until: DateTime<Utc>,
    },
    /// Money actions wait for an operator to unlock them.
    Blocked,
    /// The account is frozen until an operator unfreezes it.
    Frozen,
    /// Not a customer.
    NotRegistered,
}

/// What resetting the PIN said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinReset {
    /// Reset; transfers are held to `per_day` until `until` (none when the rules hold nothing).
    Done {
        /// The smaller limits' end.
        until: Option<DateTime<Utc>>,
        /// The most sent a day meanwhile.
        per_day: i64,
    },
    /// No identity confirmed in the last minutes, or no new PIN confirmed.
    NotVerified,
    /// Frozen, or locked until an operator unlocks it, since the check.
    Locked,
    /// Not a customer.
    NotRegistered,
}

impl Bank {
    /// Checks the date of birth (ISO) and identity number the customer behind `key` gives to
    /// reset a forgotten PIN. The try is counted before the answers are compared, so checks at
    /// once can never test more answers than tries are left; a right answer grants the reset
    /// for [`IDENTITY_TTL`].
    pub async fn check_identity(
        &self,
        key: &str,
        date_of_birth: &str,
        id_number: &str,
    ) -> anyhow::Result<IdentityCheck> {
        let Some(customer) = self.customer(key).await? else { return Ok(IdentityCheck::NotRegistered) };
        if customer.frozen_at.is_some() {
            return Ok(IdentityCheck::Frozen);
        }
        if customer.pin_blocked != 0 {
            return Ok(IdentityCheck::Blocked);
        }
        let attempts = self.rules.security.pin_reset_attempts;
        let now = self.now();
        let window_end =
            now + chrono::Duration::from_std(PIN_RESET_WINDOW).unwrap_or(chrono::Duration::days(1));
        // The try is counted, the answers compared and a match recorded in one unit of work,
        // so checks at once each wait for the one before and take a try of their own.
        let mut tx = self.begin().await?;
        let tried = tx.customers().identity_try(customer.id, attempts, window_end, now).await?;
        let (count, until) = (tried.reset_tries, tried.reset_tries_until);
        if count > attempts {
            tx.rollback().await?;
            return Ok(IdentityCheck::TooMany { until });
        }
        if self.identity_matches(&customer, date_of_birth, id_number) {
            tx.customers().identity_passed(customer.id, now).await?;
            tx.append_audit(&customer_event(
                customer.id,
                "customer.identity_confirmed",
                serde_json::json!({}),
                now,
            ))
            .await?;
            tx.commit().await?;
            self.kv.set(&Self::kv_key("identity_ok", customer.id), b"1", IDENTITY_TTL).await?;
            return Ok(IdentityCheck::Confirmed);
        }
        if count < attempts {
            tx.commit().await?;
            return Ok(IdentityCheck::Wrong { left: i64::from(attempts - count) });
        }
        let detail = serde_json::json!({ "reason": "wrong identity answers", "attempts": attempts });
        tx.append_audit(&customer_event(customer.id, "customer.pin_reset_refused", detail, now)).await?;
        tx.commit().await?;
        tracing::warn!(customer = customer.id, "a PIN reset was refused after too many wrong answers");
        Ok(IdentityCheck::TooMany { until })
    }

    /// Whether the answers are the customer's: the date as registered, and the identity
    /// number by its digest under any key (or as kept before identity numbers were sealed).
    fn identity_matches(&self, customer: &CustomerRow, date_of_birth: &str, id_number: &str) -> bool {
        let id_number = crate::flows::input::compact_id_number(id_number);
        let kept = customer.id_number.as_bytes();
        let number = self
            .sealing
            .digests(&id_number, crate::sealed::IDENTITY)
            .iter()
            .chain([&id_number])
            .fold(false, |found, candidate| found | bool::from(candidate.as_bytes().ct_eq(kept)));
        number & bool::from(customer.date_of_birth.as_bytes().ct_eq(date_of_birth.as_bytes()))
    }

    /// Replaces a forgotten PIN with the one just confirmed; needs the identity confirmed in
    /// the last minutes ([`Bank::check_identity`]). Ends a lock that runs out, not one only an
    /// operator ends, and spends any verification the old PIN granted.
    pub async fn reset_pin(&self, key: &str) -> anyhow::Result<PinReset> {
        let Some(customer) = self.customer(key).await? else { return Ok(PinReset::NotRegistered) };
        let confirmed = Self::kv_key("identity_ok", customer.id);
        let ready = Self::kv_key("pin_ready", key);
        let (Some(_), Some(hash)) = (self.kv.get(&confirmed).await?, self.kv.get(&ready).await?) else {
            return Ok(PinReset::NotVerified);
        };
        let hash = String::from_utf8(hash).context("a kept PIN hash is not text")?;
        let now = self.now();
        let mut tx = self.begin().await?;
        if !tx.customers().reset_pin(customer.id, &hash, now).await? {
            tx.rollback().await?;
            return Ok(PinReset::Locked);
        }
        let after = self.rules.security.after_pin_reset;
        let detail = serde_json::json!({ "smaller_limits_until": after.map(|a| now + a.lasts) });
        tx.append_audit(&customer_event(customer.id, "customer.pin_reset", detail, now)).await?;
        tx.commit().await?;
        self.kv.delete(&confirmed).await?;
        self.kv.delete(&ready).await?;
        self.spend_verification(customer.id).await?;
        tracing::info!(customer = customer.id, "a customer reset a forgotten PIN");
        Ok(match after {
            Some(after) => PinReset::Done { until: Some(now + after.lasts), per_day: after.per_day },
            None => PinReset::Done { until: None, per_day: self.rules.tier(customer.kyc_tier).per_day },
        })
    }

    /// When the smaller limits that follow `customer`'s last PIN reset end, while they last.
    pub fn smaller_limits_until(&self, customer: &CustomerRow) -> Option<DateTime<Utc>> {
        let after = self.rules.security.after_pin_reset?;
        customer.pin_reset_at.map(|reset| reset + after.lasts).filter(|until| *until > self.now())
    }

    /// Until when `customer` may not try to reset a forgotten PIN again, after too many wrong
    /// answers (an operator's unlock lifts it).
    pub fn reset_refused_until(&self, customer: &CustomerRow) -> Option<DateTime<Utc>> {
        let refused = customer.reset_tries >= self.rules.security.pin_reset_attempts;
        customer.reset_tries_until.filter(|until| refused && *until > self.now())
    }

    /// The limits `customer` sends under now: their tier's, held to the smaller ones for a
    /// while after a PIN reset.
    pub(super) fn tier_of(&self, customer: &CustomerRow) -> Tier {
        let tier = self.rules.tier(customer.kyc_tier).clone();
        let held =
            self.rules.security.after_pin_reset.filter(|_| self.smaller_limits_until(customer).is_some());
        match held {
            Some(after) => Tier {
                per_transaction: tier.per_transaction.min(after.per_day),
                per_day: tier.per_day.min(after.per_day),
                ..tier
            },
            None => tier,
        }
    }
}

/// How long a confirmed identity lets the customer set a new PIN.
pub(super) const IDENTITY_TTL: std::time::Duration = std::time::Duration::from_secs(600);
