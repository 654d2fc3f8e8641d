//! PINs and one-time codes: how they are made, kept and checked.
//!
//! A PIN is kept only as an argon2id hash, made and checked by [`crate::hashing::Hasher`]
//! (on the blocking pool, within a memory budget). A one-time code is six
//! digits from the operating system's CSPRNG, kept only as an HMAC under a key of teller's,
//! so a leaked KV holds nothing a guess could be checked against offline.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a new PIN is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakPin {
    /// Not 4 to 6 digits.
    Shape,
    /// One a thief tries first: 1234, 0000, 1212, 9876…
    Trivial,
}

/// Checks a PIN a customer chose.
pub fn check_new_pin(pin: &str) -> Result<(), WeakPin> {
    let digits: Vec<u8> = pin.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if !(4..=6).contains(&digits.len()) || digits.iter().any(|d| *d > 9) {
        return Err(WeakPin::Shape);
    }
    let steps: Vec<i16> = digits.windows(2).map(|w| i16::from(w[1]) - i16::from(w[0])).collect();
    let same_step = steps.windows(2).all(|w| w[0] == w[1]) && matches!(steps[0], -1..=1);
    let repeats_pair = digits.len().is_multiple_of(2) && digits.chunks(2).all(|c| c == &digits[..2]);
    let repeats_triple = digits.len() == 6 && digits[..3] == digits[3..];
    if same_step || repeats_pair || repeats_triple {
        return Err(WeakPin::Trivial);
    }
    Ok(())
}

/// Six digits from the operating system's CSPRNG, uniformly.
pub fn new_code() -> String {
    // Rejection sampling: 4_294_000_000 is the largest multiple of 10^6 below 2^32.
    loop {
        let n = OsRng.next_u32();
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// Random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The keyed hash of `code` issued to `subject`, as kept.
pub fn code_digest(key: &[u8], subject: &str, code: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    mac.update(subject.as_bytes());
    mac.update(b"\0");
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The TOTP for a base32 `secret`: SHA-1, 6 digits, 30-second steps, one step of skew either
/// side (what authenticator apps do), labelled `issuer` and `account` in the enrolment URI.
pub fn totp(secret: &str, issuer: &str, account: &str) -> anyhow::Result<totp_rs::TOTP> {
    let bytes =
        totp_rs::Secret::Encoded(secret.to_owned()).to_bytes().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, Some(issuer.to_owned()), account.to_owned())
        .map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_pins_are_refused() {
        for pin in ["1234", "0000", "4321", "123456", "987654", "1212", "121212", "777777", "123123", "2580"]
        {
            let verdict = check_new_pin(pin);
            // 2580 (a column of the keypad) is allowed: not every pattern can be refused.
            if pin == "2580" {
                assert_eq!(verdict, Ok(()), "{pin}");
            } else {
                assert_eq!(verdict, Err(WeakPin::Trivial), "{pin}");
            }
        }
        for pin in ["123", "1234567", "12a4", "", "１２３４"] {
            assert_eq!(check_new_pin(pin), Err(WeakPin::Shape), "{pin}");
        }
        for pin in ["4821", "90210", "583920"] {
            assert_eq!(check_new_pin(pin), Ok(()), "{pin}");
        }
    }

    #[test]
    fn codes_are_six_digits_and_kept_keyed() {
        let code = new_code();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let a = code_digest(b"key", "customer:1", &code);
        assert_eq!(a, code_digest(b"key", "customer:1", &code));
        assert_ne!(a, code_digest(b"other", "customer:1", &code));
        assert_ne!(a, code_digest(b"key", "customer:2", &code));
        assert!(!a.contains(&code));
    }
}
