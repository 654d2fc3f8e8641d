//! Body signatures: `sha256=<hex HMAC-SHA256 of the raw body>` under a shared secret, as Meta
//! signs its webhooks (`X-Hub-Signature-256`) and as teller signs rail requests and checks
//! payment callbacks; and the constant-time comparison of secrets. A leaf.
//!
//! Always the bytes as received: Meta escapes non-ASCII and `/` on the wire, so any
//! parse-and-reserialise step changes the bytes and breaks the signature.

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// The header Meta signs webhook bodies in.
pub const HEADER: &str = "x-hub-signature-256";

/// True when `header` is `sha256=<hex>` and the hex is the HMAC of `body` under `secret`.
/// Fails closed: a missing, malformed or wrong header is false. The comparison takes the same
/// time wherever the first difference is.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&[u8]>) -> bool {
    let Some(hex_mac) = header.and_then(|h| h.strip_prefix(b"sha256=")) else { return false };
    let Ok(expected) = hex::decode(hex_mac.trim_ascii()) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value for `body` under `secret`, as Meta would send it (tests, loadgen, callbacks).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would never verify.
    let digest = Hmac::<Sha256>::new_from_slice(secret)
        .map(|mut mac| {
            mac.update(body);
            mac.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default();
    format!("sha256={}", hex::encode(digest))
}

/// True when `header` is the lowercase hex HMAC-SHA512 of `body` under `secret`, as Paystack
/// signs its events (`x-paystack-signature`). Fails closed, compares in constant time.
pub fn verify_sha512(secret: &[u8], body: &[u8], header: Option<&[u8]>) -> bool {
    let Some(hex_mac) = header else { return false };
    let Ok(expected) = hex::decode(hex_mac.trim_ascii()) else { return false };
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The `x-paystack-signature` value for `body` under `secret` (tests and fakes).
pub fn sign_sha512(secret: &[u8], body: &[u8]) -> String {
    let digest = Hmac::<Sha512>::new_from_slice(secret)
        .map(|mut mac| {
            mac.update(body);
            mac.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default();
    hex::encode(digest)
}

/// Compares two secrets (e.g. the handshake's verify token) in constant time.
pub fn secrets_match(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-app-secret";

    /// Paystack's events, signed under the fixtures' made-up key (their README's table).
    #[test]
    fn paystack_vectors_verify_and_one_changed_byte_breaks_them() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/paystack");
        let vectors = [
            (
                "charge_success_dedicated_nuban.json",
                "725774a46d2bf514c2f9687ba5f16e40623e74491a9286341d8bc97f732f68bd37c6575ddf317efba4a7152a2324ed5fa807a77f9eddec674508c3337f225656",
            ),
            (
                "dedicatedaccount_assign_success.json",
                "c472df1a788d54d7c1707c293620c7e80033b9a5e4207f364ef79b36f94aac15dc58438ce31da03c930d766510cf55b23dd81587b295772363c22a48701bdde3",
            ),
            (
                "transfer_failed.json",
                "8bd201ca902f9ef2e6d574baaf595e41dca3e184b3ee94224faaa4a6104d9921ef185672b1bcc7e7ffa3f1eefc4f38fa1432c0cce122ddc3bc2c606df58cb6f3",
            ),
            (
                "transfer_reversed.json",
                "7eb26273643cc5dc4b63dd38fc73c3c126e6d83a5166e8ea1780263b3cab315f4c2c9ca17f0f55e45cb0137c047f5fb3a7bcfa7afdd90ddcb461fff5022aa36e",
            ),
            (
                "transfer_success.json",
                "d4cc3c0d55be88a298c5fd86113564fb7e61a7b00083765ac7e89878506217a93618b23cf2104d4b5eb6fd84db2d14a131f355201abe2a41835c3f9c31d53594",
            ),
        ];
        let key = b"sk_test_teller_fixture";
        for (file, expected) in vectors {
            let mut body = std::fs::read(format!("{dir}/{file}")).unwrap();
            assert_eq!(sign_sha512(key, &body), expected, "{file}");
            assert!(verify_sha512(key, &body, Some(expected.as_bytes())), "{file}");
            assert!(!verify_sha512(b"sk_test_other", &body, Some(expected.as_bytes())), "{file}");
            assert!(!verify_sha512(key, &body, None), "{file}: no header");
            assert!(!verify_sha512(key, &body, Some(b"not hex")), "{file}");
            body[10] ^= 1;
            assert!(!verify_sha512(key, &body, Some(expected.as_bytes())), "{file}: one byte changed");
        }
    }
    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/whatsapp");

    /// The vectors published with the fixtures (their README), over each file's exact bytes.
    const VECTORS: [(&str, &str); 12] = [
        ("01_text_forwarded.json", "e393abbcfbb67092f71d6c967331bafe5825752d5af1d09b8e83e384424ef1fc"),
        (
            "02_interactive_button_reply.json",
            "c79d2345365a093cf7d84f7d0b73b90d5e8ee3f0d54704c676f66208b1eccfd2",
        ),
        (
            "03_interactive_list_reply.json",
            "cce8aafa0d0068b1a54ccbdcd3d720bfa0063443b89404a5ae07b77eac341247",
        ),
        (
            "04_interactive_nfm_reply_flow.json",
            "cf825221384b392d339d3cdb47b045be729457746e62f24a383d2036447b836c",
        ),
        (
            "05_button_template_quick_reply.json",
            "a3f04e9a9b3f724be1ec047957954f737ff0f69a61c227d8d7e6d5a31d1a9acf",
        ),
        (
            "06_image_caption_reply_wire_escaped.json",
            "ee2ae67856243d996841158a29c38ad9cb1689f0c15a846ecb1c161e040c4d47",
        ),
        (
            "07_media_audio_video_document_sticker.json",
            "542cb92c4126d7047be8765f2885d87c058df868f336af389cc6c7a63c5b59f3",
        ),
        (
            "08_reaction_added_and_removed.json",
            "2305c97d4b5be2633d082b9544c8293c6446a649cc7f393d01861571a5a1ba42",
        ),
        (
            "09_unsupported_with_errors.json",
            "c3584e83a86fed02c1c8e6dd66a0f652db7722b22072fed63f43530236480a36",
        ),
        (
            "10_system_user_changed_number.json",
            "b2a040b85a2554ec65a8ade884aa4cf81686ebdee474fc9fec7025205dd76706",
        ),
        (
            "11_statuses_and_value_errors.json",
            "d4a4e8e35cb9c651508ec383f8a7bcded57fccbf18f638fa61654cbe892a07bc",
        ),
        (
            "12_batch_two_messages_location_contacts.json",
            "d586c233086936b117b8833a7b8e73b493a3d74d819666f324b6738cced5940b",
        ),
    ];

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
    }

    #[test]
    fn every_fixture_verifies_with_its_published_vector() {
        for (name, hex_mac) in VECTORS {
            let body = fixture(name);
            let header = format!("sha256={hex_mac}");
            assert!(verify(SECRET, &body, Some(header.as_bytes())), "{name}");
            assert_eq!(sign(SECRET, &body), header, "{name}");
        }
    }

    #[test]
    fn flipping_any_byte_of_any_fixture_breaks_the_signature() {
        for (name, hex_mac) in VECTORS {
            let header = format!("sha256={hex_mac}");
            let mut body = fixture(name);
            for i in 0..body.len() {
                body[i] ^= 0x01;
                assert!(!verify(SECRET, &body, Some(header.as_bytes())), "{name} byte {i}");
                body[i] ^= 0x01;
            }
        }
    }

    #[test]
    fn missing_malformed_or_foreign_signatures_fail_closed() {
        let body = fixture("01_text_forwarded.json");
        let good = sign(SECRET, &body);
        assert!(!verify(SECRET, &body, None));
        assert!(!verify(SECRET, &body, Some(b"")));
        assert!(!verify(SECRET, &body, Some(good.trim_start_matches("sha256=").as_bytes())), "no prefix");
        assert!(!verify(SECRET, &body, Some(b"sha256=not-hex")));
        assert!(!verify(SECRET, &body, Some(b"sha256=")));
        assert!(!verify(SECRET, &body, Some(&good.as_bytes()[..good.len() - 2])), "truncated");
        assert!(!verify(b"another-secret", &body, Some(good.as_bytes())));
        let sha1 = good.replace("sha256=", "sha1=");
        assert!(!verify(SECRET, &body, Some(sha1.as_bytes())));
    }

    #[test]
    fn verify_tokens_compare_exactly() {
        assert!(secrets_match(b"token", b"token"));
        assert!(!secrets_match(b"token", b"tokem"));
        assert!(!secrets_match(b"token", b"token-longer"));
        assert!(!secrets_match(b"", b"token"));
    }
}
