//! The encryption of WhatsApp Flows' data exchange: each request carries an AES-128 key wrapped
//! with the business's RSA public key (OAEP, SHA-256 for the hash and MGF1), a 16-byte IV and
//! the AES-GCM ciphertext with its tag; the answer is sealed with the same key under the IV with
//! every byte inverted, and sent as base64 text. A leaf: bytes in, bytes out.
//!
//! The private key comes from `WHATSAPP_FLOWS_PRIVATE_KEY` (PEM: PKCS#8, PKCS#8 encrypted with
//! `WHATSAPP_FLOWS_PRIVATE_KEY_PASSPHRASE`, or PKCS#1). Nothing here logs or formats a key.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes128;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// AES-128-GCM with the 16-byte IV Meta uses (not the usual 12).
type Cipher = AesGcm<Aes128, U16>;

/// The smallest RSA key accepted: Meta asks for 2048 bits.
const MIN_BITS: usize = 2048;

/// Why the private key could not be used. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM RSA private key in a form teller reads.
    #[error(
        "WHATSAPP_FLOWS_PRIVATE_KEY is not a PEM RSA private key (PKCS#8 \"BEGIN PRIVATE KEY\", \"BEGIN ENCRYPTED PRIVATE KEY\" or PKCS#1 \"BEGIN RSA PRIVATE KEY\")"
    )]
    NotAKey,
    /// The key is encrypted and no passphrase was given.
    #[error("WHATSAPP_FLOWS_PRIVATE_KEY is encrypted: set WHATSAPP_FLOWS_PRIVATE_KEY_PASSPHRASE")]
    NeedsPassphrase,
    /// The passphrase did not open the key.
    #[error("WHATSAPP_FLOWS_PRIVATE_KEY_PASSPHRASE does not open WHATSAPP_FLOWS_PRIVATE_KEY")]
    WrongPassphrase,
    /// Shorter than Meta accepts.
    #[error("WHATSAPP_FLOWS_PRIVATE_KEY has {0} bits; WhatsApp needs at least 2048")]
    TooShort(usize),
}

/// Why a request could not be opened: answered 421, so the client fetches the public key again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undecryptable {
    /// The body is not the three base64 fields.
    #[error("the body is not a Flows data-exchange request")]
    Shape,
    /// The AES key did not unwrap with this private key (say, a key rotated on one side only).
    #[error("the AES key does not unwrap with this private key")]
    Key,
    /// The ciphertext or its tag does not check out.
    #[error("the payload does not decrypt")]
    Payload,
}

/// The business's Flows private key.
pub struct FlowsKey {
    key: RsaPrivateKey,
}

impl std::fmt::Debug for FlowsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowsKey(..)")
    }
}

/// A request as it comes over the wire.
#[derive(Deserialize)]
struct Wire {
    encrypted_flow_data: String,
    encrypted_aes_key: String,
    initial_vector: String,
}

/// An opened request: its plain bytes, and what seals the answer to it.
pub struct Opened {
    /// The decrypted JSON.
    pub plaintext: Vec<u8>,
    /// Seals the answer to this request, and only this one.
    pub sealer: Sealer,
}

/// The key and IV of one request, for its answer.
pub struct Sealer {
    key: [u8; 16],
    iv: [u8; 16],
}

impl FlowsKey {
    /// Reads `pem` (an escaped `\n` in a one-line environment variable is read as a line
    /// break), opening it with `passphrase` when it is encrypted.
    pub fn from_pem(pem: &str, passphrase: Option<&str>) -> Result<FlowsKey, KeyError> {
        let pem = if pem.contains('\n') { pem.trim().to_owned() } else { pem.trim().replace("\\n", "\n") };
        let key = if pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            let passphrase = passphrase.filter(|p| !p.is_empty()).ok_or(KeyError::NeedsPassphrase)?;
            RsaPrivateKey::from_pkcs8_encrypted_pem(&pem, passphrase)
                .map_err(|_| KeyError::WrongPassphrase)?
        } else if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
            RsaPrivateKey::from_pkcs1_pem(&pem).map_err(|_| KeyError::NotAKey)?
        } else {
            RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::NotAKey)?
        };
        let bits = rsa::traits::PublicKeyParts::n(&key).bits();
        if bits < MIN_BITS {
            return Err(KeyError::TooShort(bits));
        }
        Ok(FlowsKey { key })
    }

    /// The public half as SPKI PEM: what `whatsapp_business_encryption` takes.
    pub fn public_pem(&self) -> String {
        RsaPublicKey::from(&self.key).to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// A secret derived from the private key, the same on every instance: the key flow tokens
    /// are derived under.
    pub fn derived_secret(&self, purpose: &str) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(b"teller flows\0");
        digest.update(purpose.as_bytes());
        digest.update(b"\0");
        digest.update(rsa::traits::PrivateKeyParts::d(&self.key).to_bytes_be());
        digest.finalize().into()
    }

    /// Opens a request body.
    pub fn open(&self, body: &[u8]) -> Result<Opened, Undecryptable> {
        let wire: Wire = serde_json::from_slice(body).map_err(|_| Undecryptable::Shape)?;
        let decode = |s: &str| STANDARD.decode(s.trim()).map_err(|_| Undecryptable::Shape);
        let (data, wrapped, iv) = (
            decode(&wire.encrypted_flow_data)?,
            decode(&wire.encrypted_aes_key)?,
            decode(&wire.initial_vector)?,
        );
        let iv: [u8; 16] = iv.try_into().map_err(|_| Undecryptable::Shape)?;
        let key = self.key.decrypt(Oaep::new::<Sha256>(), &wrapped).map_err(|_| Undecryptable::Key)?;
        let key: [u8; 16] = key.try_into().map_err(|_| Undecryptable::Key)?;
        let cipher = Cipher::new(&key.into());
        let plaintext =
            cipher.decrypt(&Nonce::<U16>::from(iv), data.as_slice()).map_err(|_| Undecryptable::Payload)?;
        Ok(Opened { plaintext, sealer: Sealer { key, iv } })
    }
}

impl Sealer {
    /// `plaintext` encrypted under the request's key and inverted IV, tag appended, as base64.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let flipped: [u8; 16] = self.iv.map(|b| !b);
        let cipher = Cipher::new(&self.key.into());
        // Encryption with a valid key and nonce fails only past GCM's 64 GiB message limit.
        let sealed = cipher.encrypt(&Nonce::<U16>::from(flipped), plaintext).unwrap_or_default();
        STANDARD.encode(sealed)
    }

    /// Seals a request the way Meta's client does (the key wrapped for `public_pem`): for the
    /// simulator, the load generator and tests.
    pub fn request(public_pem: &str, key: [u8; 16], iv: [u8; 16], plaintext: &[u8]) -> Option<Vec<u8>> {
        use rsa::pkcs8::DecodePublicKey;
        let public = RsaPublicKey::from_public_key_pem(public_pem).ok()?;
        let wrapped = public.encrypt(&mut rsa::rand_core::OsRng, Oaep::new::<Sha256>(), &key).ok()?;
        let data = Cipher::new(&key.into()).encrypt(&Nonce::<U16>::from(iv), plaintext).ok()?;
        serde_json::to_vec(&serde_json::json!({
            "encrypted_flow_data": STANDARD.encode(data),
            "encrypted_aes_key": STANDARD.encode(wrapped),
            "initial_vector": STANDARD.encode(iv),
        }))
        .ok()
    }

    /// Opens an answer sealed by [`Sealer::seal`] for a request made with `key` and `iv`.
    pub fn open_answer(key: [u8; 16], iv: [u8; 16], answer: &str) -> Option<Vec<u8>> {
        let flipped: [u8; 16] = iv.map(|b| !b);
        let sealed = STANDARD.decode(answer.trim()).ok()?;
        Cipher::new(&key.into()).decrypt(&Nonce::<U16>::from(flipped), sealed.as_slice()).ok()
    }
}

#[cfg(test)]
#[path = "flow_crypto_tests.rs"]
mod tests;
