//! `teller secrets rotate`: every authenticator secret (customers' and admins') sealed again
//! under the current key of `SECRETS_KEY`, opened with any key it lists; one kept before
//! sealing is sealed now. One unit of work: all or nothing.

use crate::sealed::{Keys, admin_totp, customer_totp};
use crate::store::SqlStore;

/// What a rotation sealed again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotated {
    /// Customers' authenticator secrets.
    pub customers: usize,
    /// Admins' authenticator secrets.
    pub admins: usize,
    /// Secrets already under the current key.
    pub current: usize,
}

/// Seals every authenticator secret in `store` under `keys`' current key.
pub async fn rotate(store: &dyn SqlStore, keys: &Keys) -> anyhow::Result<Rotated> {
    let mut rotated = Rotated::default();
    let mut tx = store.begin().await?;
    for kept in tx.customers().totp_secrets().await? {
        if keys.is_current(&kept.secret) {
            rotated.current += 1;
            continue;
        }
        let context = customer_totp(kept.id);
        let sealed = keys.seal(&keys.open(&kept.secret, &context)?, &context);
        tx.customers().set_totp_secret(kept.id, Some(&sealed), chrono::Utc::now()).await?;
        rotated.customers += 1;
    }
    for kept in tx.admin().admin_totp_secrets().await? {
        if kept.secret.is_empty() {
            continue; // reset: a setup link enrols the next one
        }
        if keys.is_current(&kept.secret) {
            rotated.current += 1;
            continue;
        }
        let context = admin_totp(kept.id);
        let sealed = keys.seal(&keys.open(&kept.secret, &context)?, &context);
        tx.admin().set_admin_totp(kept.id, &sealed).await?;
        rotated.admins += 1;
    }
    // A setup link not used yet carries the authenticator it will enrol.
    for setup in tx.admin().open_admin_setups().await? {
        let Some(kept) = setup.totp_secret.as_deref().filter(|s| !s.is_empty()) else { continue };
        if keys.is_current(kept) {
            rotated.current += 1;
            continue;
        }
        let context = admin_totp(setup.admin_id);
        let sealed = keys.seal(&keys.open(kept, &context)?, &context);
        tx.admin().set_setup_totp(&setup.token_hash, &sealed).await?;
        rotated.admins += 1;
    }
    tx.commit().await?;
    Ok(rotated)
}
