//! One-time codes and authenticator apps: the step-up a large or new transfer needs, sent
//! codes (hashed, three guesses, one use), and TOTP enrolment and checks.

use std::time::Duration;

use anyhow::Context as _;

use secrecy::ExposeSecret;

use super::notices::Notice;

use crate::phone::mask as mask_phone;
use crate::store::BankTx;
use crate::whatsapp::outbound::{Outbound, Template, Text};

use super::{Bank, CodeCheck, Refusal, StepUp, customer_event};
use super::{notices, secrets};

impl Bank {
    pub(super) fn code_subject(customer: i64) -> String {
        format!("customer:{customer}")
    }

    /// Whether sending `amount` to `counterparty` needs a one-time code.
    pub(super) async fn needs_code(
        &self,
        tx: &mut dyn BankTx,
        wallet: i64,
        amount: i64,
        counterparty: &str,
    ) -> anyhow::Result<bool> {
        Ok(amount > self.rules.security.step_up_above || !tx.has_paid(wallet, counterparty).await?)
    }

    /// Starts the second factor for a transfer, if it needs one: sends a code, or asks for the
    /// authenticator's. Repeating `idempotency_key` sends nothing more.
    pub async fn step_up(
        &self,
        key: &str,
        amount: i64,
        counterparty: &str,
        idempotency_key: &str,
    ) -> anyhow::Result<Result<StepUp, Refusal>> {
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let needed = self.needs_code(tx.bank(), wallet.id, amount, counterparty).await?;
        tx.rollback().await?;
        if !needed {
            return Ok(Ok(StepUp::NotNeeded));
        }
        if customer.totp_secret.is_some() {
            return Ok(Ok(StepUp::Authenticator));
        }
        let once = Self::kv_key("step_up", idempotency_key);
        if !self.kv.set_if_absent(&once, b"sent", self.rules.security.otp_ttl).await? {
            return Ok(Ok(StepUp::Sent));
        }
        let code = secrets::new_code();
        let digest =
            secrets::code_digest(self.code_key.expose_secret(), &Self::code_subject(customer.id), &code);
        let ttl = self.rules.security.otp_ttl;
        self.kv.set(&Self::kv_key("code", customer.id), digest.as_bytes(), ttl).await?;
        self.kv.delete(&Self::kv_key("code_tries", customer.id)).await?;
        let message: Outbound = match &self.settings.otp_template {
            Some((name, language)) => {
                Template::authentication(name.clone(), language.clone(), code.clone())?.into()
            }
            None => {
                let language = self.store.customer_language(key).await?.unwrap_or_default();
                let minutes = ttl.as_secs().div_ceil(60);
                Text::new(notices::text(&Notice::Code { code: &code, minutes }, &language, self.currency()))?
                    .into()
            }
        };
        let mut tx = self.begin().await?;
        // The message is scrubbed once the code can no longer be used.
        let useless_after = self.now() + chrono::Duration::from_std(ttl)?;
        self.queue(tx.as_mut(), &customer.phone, &message, Some(useless_after)).await?;
        tx.commit().await?;
        self.outbox_wake.signal();
        Ok(Ok(StepUp::Sent))
    }

    /// Checks a code: the one sent, or the authenticator's.
    pub async fn verify_code(&self, key: &str, code: &str) -> anyhow::Result<Result<CodeCheck, Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let security = &self.rules.security;
        let check = if let Some(sealed) = &customer.totp_secret {
            let secret = self.sealing.open(sealed, &crate::sealed::customer_totp(customer.id))?;
            self.check_totp(customer.id, &secret, code).await?
        } else {
            let code_key = Self::kv_key("code", customer.id);
            if self.kv.get(&code_key).await?.is_none() {
                return Ok(Ok(CodeCheck::Expired));
            }
            let tries =
                self.kv.increment(&Self::kv_key("code_tries", customer.id), 1, security.otp_ttl).await?;
            if tries > security.otp_attempts {
                self.kv.delete(&code_key).await?;
                return Ok(Ok(CodeCheck::TooMany));
            }
            let digest =
                secrets::code_digest(self.code_key.expose_secret(), &Self::code_subject(customer.id), code);
            let kept = self.kv.get(&code_key).await?;
            if kept.as_deref().is_some_and(|k| crate::signature::secrets_match(k, digest.as_bytes())) {
                // Single use: of two racing checks, one takes it.
                if self.kv.get_and_delete(&code_key).await?.is_none() {
                    return Ok(Ok(CodeCheck::Expired));
                }
                CodeCheck::Verified
            } else if tries >= security.otp_attempts {
                self.kv.delete(&code_key).await?;
                CodeCheck::TooMany
            } else {
                CodeCheck::Wrong
            }
        };
        if check == CodeCheck::Verified {
            self.kv.set(&Self::kv_key("code_ok", customer.id), b"code", security.verified_for).await?;
        }
        Ok(Ok(check))
    }

    pub(super) async fn check_totp(
        &self,
        customer: i64,
        secret: &str,
        code: &str,
    ) -> anyhow::Result<CodeCheck> {
        let tries_key = Self::kv_key("totp_tries", customer);
        let tries = self.kv.increment(&tries_key, 1, self.rules.security.otp_ttl).await?;
        if tries > self.rules.security.otp_attempts {
            return Ok(CodeCheck::TooMany);
        }
        let totp = self.totp(secret, "")?;
        let now = u64::try_from(self.now().timestamp()).unwrap_or(0);
        if !totp.check(code, now) {
            return Ok(if tries >= self.rules.security.otp_attempts {
                CodeCheck::TooMany
            } else {
                CodeCheck::Wrong
            });
        }
        // A code is good for its 30-second step (and one either side): never twice.
        let used = Self::kv_key("totp_used", format!("{customer}:{code}"));
        if !self.kv.set_if_absent(&used, b"1", Duration::from_secs(120)).await? {
            return Ok(CodeCheck::Expired);
        }
        self.kv.delete(&tries_key).await?;
        Ok(CodeCheck::Verified)
    }

    pub(super) fn totp(&self, secret: &str, account: &str) -> anyhow::Result<totp_rs::TOTP> {
        secrets::totp(secret, &self.settings.issuer, account)
    }

    /// Starts authenticator enrolment (PIN verified first): returns the secret to type in
    /// and the `otpauth://` URI. It is only recorded once a code from the app proves it.
    pub async fn totp_begin(&self, key: &str) -> anyhow::Result<Result<(String, String), Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        if !self.verified(&customer).await? {
            return Ok(Err(Refusal::NotVerified));
        }
        // A key already shown and not yet confirmed is shown again: a redelivered message, or a
        // customer starting over, must not leave the app holding a key the bank forgot.
        let pending = Self::kv_key("totp_pending", customer.id);
        let secret = match self.kv.get(&pending).await? {
            Some(shown) => String::from_utf8(shown).context("a pending secret is not text")?,
            None => totp_rs::Secret::Raw(secrets::random_bytes::<20>().to_vec()).to_encoded().to_string(),
        };
        let totp = self.totp(&secret, &mask_phone(&customer.phone))?;
        self.kv.set(&pending, secret.as_bytes(), TOTP_PENDING_TTL).await?;
        Ok(Ok((secret, totp.get_url())))
    }

    /// Finishes enrolment with a code from the app.
    pub async fn totp_confirm(&self, key: &str, code: &str) -> anyhow::Result<Result<CodeCheck, Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let Some(secret) = self.kv.get(&Self::kv_key("totp_pending", customer.id)).await? else {
            return Ok(Ok(CodeCheck::Expired));
        };
        let secret = String::from_utf8(secret).context("a pending secret is not text")?;
        let check = self.check_totp(customer.id, &secret, code).await?;
        if check == CodeCheck::Verified {
            let now = self.now();
            let mut tx = self.begin().await?;
            let sealed = self.sealing.seal(&secret, &crate::sealed::customer_totp(customer.id));
            tx.customers().set_totp_secret(customer.id, Some(&sealed), now).await?;
            tx.append_audit(&customer_event(
                customer.id,
                "customer.authenticator_enrolled",
                serde_json::json!({}),
                now,
            ))
            .await?;
            tx.commit().await?;
            self.kv.delete(&Self::kv_key("totp_pending", customer.id)).await?;
            self.spend_verification(customer.id).await?;
        }
        Ok(Ok(check))
    }
}

/// How long an authenticator enrolment waits for its first code.
pub(super) const TOTP_PENDING_TTL: Duration = Duration::from_secs(600);
