//! Customers as stored: their rows, aliases (the numbers and ids they write from), PIN tries,
//! locks and authenticator secrets.
//!
//! [`CustomersTx`] is the customers' part of a unit of work, implemented once for both
//! adapters in `customers_sql.rs` like the rest of the store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// A customer as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerRow {
    /// Internal id.
    pub id: i64,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// The national identity number's keyed digest (a row kept before sealing: the number).
    pub id_number: String,
    /// International digits of the WhatsApp number they registered with (or moved to).
    pub phone: String,
    /// KYC tier: which limits apply.
    pub kyc_tier: i32,
    /// argon2id PHC string.
    pub pin_hash: String,
    /// Wrong PINs since the last right one or lockout.
    pub pin_failures: i32,
    /// Money actions are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// PIN locks in a row (a right PIN or an operator's unlock starts the count again).
    pub pin_locks: i32,
    /// 1 while money actions are locked until an operator unlocks them.
    pub pin_blocked: i32,
    /// 1 when the PIN must be entered again before the next money action (number changed).
    pub reverify: i32,
    /// Base32 secret of an enrolled authenticator app.
    pub totp_secret: Option<String>,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Since when money actions are frozen (the customer asked, or reported fraud) until an
    /// operator unfreezes them.
    pub frozen_at: Option<DateTime<Utc>>,
    /// When the PIN was last reset after the customer proved who they are (see
    /// `security.after_pin_reset`).
    pub pin_reset_at: Option<DateTime<Utc>>,
    /// Identity checks made for a forgotten PIN in the window that ends at `reset_tries_until`.
    pub reset_tries: i32,
    /// When the window of those checks ends (none counted while `None` or past).
    pub reset_tries_until: Option<DateTime<Utc>>,
}

impl CustomerRow {
    /// Whether money actions are locked at `now` (a lock running, or one only an operator ends).
    pub fn locked_at(&self, now: DateTime<Utc>) -> bool {
        self.frozen_at.is_some()
            || self.pin_blocked != 0
            || self.locked_until.is_some_and(|until| until > now)
    }
}

/// A PIN check counted before it is made (see [`CustomersTx::pin_try`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct PinTry {
    /// Tries counted since the last right PIN or lock, this one included.
    pub pin_failures: i32,
    /// The lock that stands if this try is wrong (the last try locks in advance).
    pub locked_until: Option<DateTime<Utc>>,
    /// Locks in a row, this try's lock included.
    pub pin_locks: i32,
    /// 1 when this try's lock is one only an operator ends.
    pub pin_blocked: i32,
}

/// An identity check counted before it is made (see [`CustomersTx::identity_try`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct IdentityTry {
    /// Checks counted in the window, this one included.
    pub reset_tries: i32,
    /// When the window ends and the count starts again.
    pub reset_tries_until: DateTime<Utc>,
}

/// A customer to create.
#[derive(Debug, Clone)]
pub struct NewCustomer<'a> {
    /// Given name.
    pub first_name: &'a str,
    /// Family name.
    pub last_name: &'a str,
    /// `YYYY-MM-DD`.
    pub date_of_birth: &'a str,
    /// The national identity number's keyed digest.
    pub id_number: &'a str,
    /// The number sealed (`None`: kept in clear, as before sealing; tests of the ledger only).
    pub id_number_sealed: Option<&'a str>,
    /// International digits.
    pub phone: &'a str,
    /// KYC tier.
    pub kyc_tier: i32,
    /// argon2id PHC string.
    pub pin_hash: &'a str,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The customers' part of a unit of work.
#[async_trait]
pub trait CustomersTx: Send {
    /// The language the customer known by `recipient_key` chose, read in this unit of work (a
    /// notice written while it holds the write lock must not wait for a second connection).
    async fn language(&mut self, recipient_key: &str) -> Result<Option<String>, StoreError>;

    /// Creates a customer; `None` when the identity number is already registered.
    async fn insert_customer(&mut self, customer: &NewCustomer<'_>) -> Result<Option<i64>, StoreError>;

    /// Points `alias` at `customer`; false when the alias belongs to someone already.
    async fn insert_alias(
        &mut self,
        alias: &str,
        customer: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Moves `from` to `to` (a number change); false when `from` is unknown or `to` taken.
    async fn move_alias(&mut self, from: &str, to: &str) -> Result<bool, StoreError>;

    /// The customer `alias` names.
    async fn customer_by_alias(&mut self, alias: &str) -> Result<Option<CustomerRow>, StoreError>;

    /// Whether a customer has registered with `id_number` (checked when it is typed; the unique
    /// index still decides at registration).
    async fn id_number_taken(&mut self, id_number: &str) -> Result<bool, StoreError>;

    /// Whether any customer has registered (`teller loadgen --ledger` opens its own, and only
    /// where there are none).
    async fn any_customer(&mut self) -> Result<bool, StoreError>;

    /// Every customer's identity number as kept (digest or clear) and sealed, for rotation.
    async fn identities(&mut self) -> Result<Vec<IdentityRow>, StoreError>;

    /// Customer `id`'s identity number as kept and sealed.
    async fn identity(&mut self, id: i64) -> Result<Option<IdentityRow>, StoreError>;

    /// Replaces customer `id`'s identity digest and sealed number.
    async fn set_identity(&mut self, id: i64, digest: &str, sealed: &str) -> Result<(), StoreError>;

    /// The customer by id.
    async fn customer(&mut self, id: i64) -> Result<Option<CustomerRow>, StoreError>;

    /// Counts a PIN check before it is made, atomically: `None` (and nothing changed) when money
    /// actions are locked, or every try left is already taken by checks in flight. The try
    /// that uses up the last of `attempts` locks in advance, until `lock_until` (or until an
    /// operator unlocks, when `block`), and counts the lock; a right PIN then lifts it
    /// ([`CustomersTx::pin_passed`]). So parallel checks can never test more PINs than tries left,
    /// and a check cut off by a crash counts as wrong. Tries counted before a lock that has
    /// run out start again from zero.
    async fn pin_try(
        &mut self,
        customer: i64,
        attempts: i32,
        lock_until: DateTime<Utc>,
        block: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<PinTry>, StoreError>;

    /// A right PIN: tries, locks in a row, any lock and the re-verify mark cleared.
    async fn pin_passed(&mut self, customer: i64, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Lifts a lockout now, an operator's action: the one only an operator ends included, and
    /// locks in a row start again. A forgotten PIN's identity checks counted in a window still
    /// open start again too. False, and nothing changed, when there was none of these.
    async fn unlock(&mut self, customer: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Replaces the PIN hash.
    async fn set_pin_hash(&mut self, customer: i64, hash: &str, now: DateTime<Utc>)
    -> Result<(), StoreError>;

    /// Replaces a forgotten PIN's hash: its tries and a lock that runs out are cleared, and the
    /// reset's time kept. False, and nothing changed, when money actions are frozen or locked
    /// until an operator unlocks them (those wait for a person, whatever the customer proves).
    async fn reset_pin(&mut self, customer: i64, hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Counts an identity check for a forgotten PIN before it is made, and returns the count
    /// (this one included, never past `attempts + 1`) and when its window ends. A window that
    /// has run out starts again, with this check, until `window_end`.
    async fn identity_try(
        &mut self,
        customer: i64,
        attempts: i32,
        window_end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<IdentityTry, StoreError>;

    /// The identity check passed: its count starts again.
    async fn identity_passed(&mut self, customer: i64, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Every customer's authenticator secret, as kept.
    async fn totp_secrets(&mut self) -> Result<Vec<super::admin::SealedSecret>, StoreError>;

    /// Records an authenticator secret (or removes it with `None`).
    async fn set_totp_secret(
        &mut self,
        customer: i64,
        secret: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Requires the PIN again (or not) before the next money action; updates the phone number.
    async fn set_reverify(
        &mut self,
        customer: i64,
        phone: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// A customer's identity number as kept.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IdentityRow {
    /// The customer.
    pub id: i64,
    /// The keyed digest (or, kept before sealing, the number).
    pub id_number: String,
    /// The number sealed, once it is.
    pub id_number_sealed: Option<String>,
}

impl std::fmt::Debug for IdentityRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityRow").field("id", &self.id).finish_non_exhaustive()
    }
}

/// The columns of [`CustomerRow`], each prefixed with `$p` (a table alias and a dot, or "").
macro_rules! customer_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "first_name, ",
            $p,
            "last_name, ",
            $p,
            "date_of_birth, ",
            $p,
            "id_number, ",
            $p,
            "phone, ",
            $p,
            "kyc_tier, ",
            $p,
            "pin_hash, ",
            $p,
            "pin_failures, ",
            $p,
            "locked_until, ",
            $p,
            "pin_locks, ",
            $p,
            "pin_blocked, ",
            $p,
            "reverify, ",
            $p,
            "totp_secret, ",
            $p,
            "created_at, ",
            $p,
            "frozen_at, ",
            $p,
            "pin_reset_at, ",
            $p,
            "reset_tries, ",
            $p,
            "reset_tries_until"
        )
    };
}

pub(crate) use customer_columns;
