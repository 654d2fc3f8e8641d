//! Secrets kept at rest encrypted: authenticated encryption (AES-256-GCM) under a key from
//! `SECRETS_KEY`, each value bound to what it belongs to (its row) and naming the key that
//! sealed it, so keys can be rotated. A leaf.
//!
//! `SECRETS_KEY` is one or more `id:base64` pairs (32 random bytes each), comma separated: the
//! first seals, every one opens. Rotation: put a new key first, keep the old after it, run
//! `teller secrets rotate` (everything is sealed again under the new key), then drop the old.
//! A sealed value reads `v1:<key id>:<base64 of nonce and ciphertext>`; a value without that
//! prefix is one kept before encryption, read as it is until rotation seals it.

use std::collections::BTreeMap;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// What a sealed value starts with.
const PREFIX: &str = "v1:";
/// The longest key id.
const MAX_ID: usize = 16;

/// What a customer's authenticator secret is sealed for: its row.
pub fn customer_totp(customer: i64) -> String {
    format!("customer:{customer}:totp")
}

/// What an admin's authenticator secret is sealed for: their row.
pub fn admin_totp(admin: i64) -> String {
    format!("admin:{admin}:totp")
}

/// What a customer's identity number (BVN/NIN) is sealed and digested for.
pub const IDENTITY: &str = "customer:identity";

/// What a keyed digest starts with.
const DIGEST_PREFIX: &str = "d1:";

/// Whether `stored` is a keyed digest (else a value kept before identity numbers were sealed).
pub fn is_digest(stored: &str) -> bool {
    stored.starts_with(DIGEST_PREFIX)
}

/// Why `SECRETS_KEY` is not usable, or a value does not open. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The variable is not `id:base64` pairs of 32-byte keys.
    #[error(
        "SECRETS_KEY: expected one or more id:base64 pairs of 32 random bytes, comma separated (the first seals), e.g. k1:{example}"
    )]
    Malformed {
        /// A freshly made key to copy.
        example: String,
    },
    /// A value names a key that is not in `SECRETS_KEY`.
    #[error("a secret was sealed with key {0:?}, which SECRETS_KEY no longer holds")]
    UnknownKey(String),
    /// A value does not open: altered, or moved from another row.
    #[error("a sealed secret does not open: it was altered or belongs elsewhere")]
    Tampered,
}

/// The keys secrets are sealed and opened with.
#[derive(Clone)]
pub struct Keys {
    current: String,
    keys: BTreeMap<String, [u8; 32]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys(current: {:?}, {} in all)", self.current, self.keys.len())
    }
}

/// A fresh key, written as `SECRETS_KEY` takes it (base64 of 32 random bytes).
pub fn fresh_key() -> String {
    STANDARD.encode(random::<32>())
}

/// `N` bytes from the operating system's CSPRNG.
fn random<const N: usize>() -> [u8; N] {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

impl Keys {
    /// Reads `SECRETS_KEY`'s value.
    pub fn parse(value: &str) -> Result<Keys, SealError> {
        let malformed = || SealError::Malformed { example: fresh_key() };
        let mut keys = BTreeMap::new();
        let mut current = None;
        for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, key) = pair.split_once(':').ok_or_else(malformed)?;
            let valid_id =
                !id.is_empty() && id.len() <= MAX_ID && id.bytes().all(|b| b.is_ascii_alphanumeric());
            let key: [u8; 32] =
                STANDARD.decode(key.trim()).ok().and_then(|k| k.try_into().ok()).ok_or_else(malformed)?;
            if !valid_id || keys.insert(id.to_owned(), key).is_some() {
                return Err(malformed());
            }
            current.get_or_insert_with(|| id.to_owned());
        }
        Ok(Keys { current: current.ok_or_else(malformed)?, keys })
    }

    /// The key kept in the file at `path`, made there (readable by its owner only) the first
    /// time: the embedded default's, beside its database, so a laptop keeps its secrets sealed
    /// without a setting.
    pub fn from_file(path: &Path) -> anyhow::Result<Keys> {
        if !path.exists() {
            write_private(path, &format!("local:{}\n", fresh_key()))?;
        }
        let text = std::fs::read_to_string(path)?;
        Ok(Keys::parse(text.trim())?)
    }

    /// A key of this process alone: for what is made before the configured keys are given,
    /// and for tests.
    pub fn ephemeral() -> Keys {
        Keys { current: "ephemeral".into(), keys: BTreeMap::from([("ephemeral".into(), random::<32>())]) }
    }

    /// The id of the key that seals.
    pub fn current(&self) -> &str {
        &self.current
    }

    /// `plain` sealed under the current key, bound to `context` (what it belongs to).
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let key = &self.keys[&self.current];
        let nonce = random::<12>();
        let sealed = Aes256Gcm::new(key.into())
            .encrypt(&Nonce::from(nonce), Payload { msg: plain.as_bytes(), aad: context.as_bytes() })
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}:{}", self.current, STANDARD.encode(bytes))
    }

    /// Opens `stored`, sealed for `context`; a value kept before encryption is read as it is.
    pub fn open(&self, stored: &str, context: &str) -> Result<String, SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_owned()) };
        let (id, data) = rest.split_once(':').ok_or(SealError::Tampered)?;
        let key = self.keys.get(id).ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let bytes = STANDARD.decode(data).map_err(|_| SealError::Tampered)?;
        if bytes.len() < 12 {
            return Err(SealError::Tampered);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError::Tampered)?;
        let plain = Aes256Gcm::new(key.into())
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: context.as_bytes() })
            .map_err(|_| SealError::Tampered)?;
        String::from_utf8(plain).map_err(|_| SealError::Tampered)
    }

    /// `value`'s keyed digest under the current key, for `context`: how a secret is looked up
    /// (is this BVN registered?) without being kept. `d1:<key id>:<hex HMAC-SHA256>`, keyed by a
    /// key derived from the sealing key, so the digest says nothing without `SECRETS_KEY`.
    pub fn digest(&self, value: &str, context: &str) -> String {
        self.digest_with(&self.current, value, context)
    }

    /// `value`'s digest under every key, the current first: what to look a value up by while
    /// keys rotate (a row digested under the old key is still found).
    pub fn digests(&self, value: &str, context: &str) -> Vec<String> {
        let mut ids: Vec<&String> = self.keys.keys().filter(|id| **id != self.current).collect();
        ids.insert(0, &self.current);
        ids.into_iter().map(|id| self.digest_with(id, value, context)).collect()
    }

    fn digest_with(&self, id: &str, value: &str, context: &str) -> String {
        use hmac::{Hmac, Mac};
        type HmacSha256 = Hmac<sha2::Sha256>;
        let key = &self.keys[id];
        // HMAC takes a key of any length: the error cannot happen, and would give no digest.
        let derive = |data: &[u8], key: &[u8]| -> Vec<u8> {
            <HmacSha256 as Mac>::new_from_slice(key)
                .map(|mut mac| {
                    mac.update(data);
                    mac.finalize().into_bytes().to_vec()
                })
                .unwrap_or_default()
        };
        let digest_key = derive(b"teller digest v1", key);
        let mut message = context.as_bytes().to_vec();
        message.push(0);
        message.extend_from_slice(value.as_bytes());
        format!("{DIGEST_PREFIX}{id}:{}", hex::encode(derive(&message, &digest_key)))
    }

    /// Whether `stored` (a sealed value or a digest) is under the current key already.
    pub fn is_current(&self, stored: &str) -> bool {
        if let Some(rest) = stored.strip_prefix(DIGEST_PREFIX) {
            return rest.split_once(':').is_some_and(|(id, _)| id == self.current);
        }
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.current)
    }
}

/// Writes `text` to a new file at `path` that only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_finds_a_value_under_every_key_and_says_nothing_of_it() {
        let old = keys(&format!("k1:{}", fresh_key()));
        let both =
            keys(&format!("k2:{},{}", fresh_key(), "k1:".to_owned() + &STANDARD.encode(old.keys["k1"])));
        let made = old.digest("12345678901", IDENTITY);
        assert!(made.starts_with("d1:k1:") && !made.contains("12345678901"), "{made}");
        assert_eq!(old.digest("12345678901", IDENTITY), made, "the same value, the same digest");
        assert_ne!(old.digest("12345678902", IDENTITY), made);
        assert_ne!(old.digest("12345678901", "another"), made, "bound to its context");
        let found = both.digests("12345678901", IDENTITY);
        assert!(found[0].starts_with("d1:k2:") && found.contains(&made), "{found:?}");
        assert!(both.is_current(&found[0]) && !both.is_current(&made));
        assert!(is_digest(&made) && !is_digest("12345678901"));
    }

    fn keys(value: &str) -> Keys {
        Keys::parse(value).unwrap()
    }

    #[test]
    fn a_secret_opens_only_for_its_row_and_with_a_key_that_sealed_it() {
        let (k1, k2) = (fresh_key(), fresh_key());
        let old = keys(&format!("k1:{k1}"));
        let sealed = old.seal("JBSWY3DPEHPK3PXP", "customer:7:totp");
        assert!(sealed.starts_with("v1:k1:") && !sealed.contains("JBSWY3DPEHPK3PXP"), "{sealed}");
        assert_ne!(sealed, old.seal("JBSWY3DPEHPK3PXP", "customer:7:totp"), "a fresh nonce each time");
        assert_eq!(old.open(&sealed, "customer:7:totp").unwrap(), "JBSWY3DPEHPK3PXP");
        assert_eq!(old.open(&sealed, "customer:8:totp"), Err(SealError::Tampered), "moved to another row");
        let rotated = keys(&format!("k2:{k2},k1:{k1}"));
        assert_eq!(rotated.current(), "k2");
        assert!(!rotated.is_current(&sealed) && old.is_current(&sealed));
        assert_eq!(
            rotated.open(&sealed, "customer:7:totp").unwrap(),
            "JBSWY3DPEHPK3PXP",
            "the old key still opens"
        );
        let resealed = rotated.seal("JBSWY3DPEHPK3PXP", "customer:7:totp");
        let new_only = keys(&format!("k2:{k2}"));
        assert_eq!(new_only.open(&resealed, "customer:7:totp").unwrap(), "JBSWY3DPEHPK3PXP");
        assert_eq!(new_only.open(&sealed, "customer:7:totp"), Err(SealError::UnknownKey("k1".into())));
        let mut altered = resealed.clone();
        altered.replace_range(altered.len() - 6..altered.len() - 4, "AA");
        assert_eq!(new_only.open(&altered, "customer:7:totp"), Err(SealError::Tampered));
        assert_eq!(
            new_only.open("JBSWY3DPEHPK3PXP", "x").unwrap(),
            "JBSWY3DPEHPK3PXP",
            "kept before sealing"
        );
    }

    #[test]
    fn a_malformed_key_is_refused_without_showing_it() {
        let short = STANDARD.encode([1u8; 16]);
        let good = fresh_key();
        for bad in [
            "",
            "nokey",
            "k1:notbase64!",
            &format!("k1:{short}"),
            &format!("k 1:{good}"),
            &format!("k1:{good},k1:{good}"),
        ] {
            let err = Keys::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("SECRETS_KEY: expected"), "{bad}: {err}");
            assert!(bad.is_empty() || !err.contains(bad), "{err}");
        }
        assert_eq!(format!("{:?}", keys(&format!("k1:{good}"))), "Keys(current: \"k1\", 1 in all)");
    }

    #[test]
    fn the_embedded_default_keeps_its_key_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("teller.db.key");
        let first = Keys::from_file(&path).unwrap();
        let sealed = first.seal("secret", "admin:1:totp");
        assert_eq!(Keys::from_file(&path).unwrap().open(&sealed, "admin:1:totp").unwrap(), "secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
