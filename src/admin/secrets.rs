//! `teller secrets rotate`: every authenticator secret (customers' and admins') and every
//! identity number sealed again under the current key of `SECRETS_KEY` (identity numbers
//! digested again too), opened with any key it lists; one kept before sealing is sealed now.
//! One unit of work: all or nothing.

use crate::sealed::{IDENTITY, Keys, admin_totp, customer_totp, is_digest};
use crate::store::SqlStore;

/// What a rotation sealed again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotated {
    /// Customers' authenticator secrets.
    pub customers: usize,
    /// Admins' authenticator secrets (and those waiting in setup links).
    pub admins: usize,
    /// Customers' identity numbers, sealed and digested again (or for the first time).
    pub identities: usize,
    /// Secrets already under the current key.
    pub current: usize,
}

/// Seals every authenticator secret in `store` under `keys`' current key.
pub async fn rotate(store: &dyn SqlStore, keys: &Keys) -> anyhow::Result<Rotated> {
    let mut rotated = Rotated::default();
    let mut tx = store.begin().await?;
    for kept in tx.customers().totp_secrets().await? {
        if let Some(sealed) = again(keys, &kept.secret, &customer_totp(kept.id), &mut rotated.current)? {
            tx.customers().set_totp_secret(kept.id, Some(&sealed), chrono::Utc::now()).await?;
            rotated.customers += 1;
        }
    }
    for kept in tx.admin().admin_totp_secrets().await? {
        if let Some(sealed) = again(keys, &kept.secret, &admin_totp(kept.id), &mut rotated.current)? {
            tx.admin().set_admin_totp(kept.id, &sealed).await?;
            rotated.admins += 1;
        }
    }
    // Identity numbers: sealed again, and their lookup digest made under the current key. One
    // kept in clear before sealing is sealed now.
    for kept in tx.customers().identities().await? {
        let number = match kept.id_number_sealed.as_ref().filter(|s| !s.is_empty()) {
            Some(sealed) if keys.is_current(sealed) && keys.is_current(&kept.id_number) => {
                rotated.current += 1;
                continue;
            }
            Some(sealed) => keys.open(sealed, IDENTITY)?,
            None if is_digest(&kept.id_number) => continue,
            None => kept.id_number.clone(),
        };
        tx.customers()
            .set_identity(kept.id, &keys.digest(&number, IDENTITY), &keys.seal(&number, IDENTITY))
            .await?;
        rotated.identities += 1;
    }
    // A setup link not used yet carries the authenticator it will enrol.
    for setup in tx.admin().open_admin_setups().await? {
        let kept = setup.totp_secret.as_deref().unwrap_or_default();
        if let Some(sealed) = again(keys, kept, &admin_totp(setup.admin_id), &mut rotated.current)? {
            tx.admin().set_setup_totp(&setup.token_hash, &sealed).await?;
            rotated.admins += 1;
        }
    }
    tx.commit().await?;
    Ok(rotated)
}

/// `kept` sealed again under the current key for `context`; `None` when it is under it already
/// (counted in `current`) or empty (an authenticator reset: a setup link enrols the next one).
fn again(keys: &Keys, kept: &str, context: &str, current: &mut usize) -> anyhow::Result<Option<String>> {
    if kept.is_empty() {
        return Ok(None);
    }
    if keys.is_current(kept) {
        *current += 1;
        return Ok(None);
    }
    Ok(Some(keys.seal(&keys.open(kept, context)?, context)))
}
