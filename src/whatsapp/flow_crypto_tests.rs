//! The fixture vectors (made-up key; computed with Python and Node), and round trips.

use super::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/whatsapp-flows/");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
}

fn key() -> FlowsKey {
    FlowsKey::from_pem(&fixture("test-flows-private.pem"), None).unwrap()
}

#[test]
fn the_ping_vector_opens_and_its_answer_seals_byte_for_byte() {
    let opened = key().open(fixture("request_ping.json").as_bytes()).unwrap();
    assert_eq!(opened.plaintext, br#"{"version":"3.0","action":"ping"}"#);
    assert_eq!(opened.sealer.seal(br#"{"data":{"status":"active"}}"#), fixture("response_ping.b64"));
}

#[test]
fn the_data_exchange_vector_opens_and_its_answer_seals_byte_for_byte() {
    let opened = key().open(fixture("request_data_exchange.json").as_bytes()).unwrap();
    assert_eq!(
        opened.plaintext,
        br#"{"version":"3.0","action":"data_exchange","screen":"PIN_ENTRY","data":{"pin":"2580"},"flow_token":"ft_teller_7d41c2e9-pin"}"#
    );
    let answer = br#"{"screen":"SUCCESS","data":{"extension_message_response":{"params":{"flow_token":"ft_teller_7d41c2e9-pin","pin_verified":true}}}}"#;
    assert_eq!(opened.sealer.seal(answer), fixture("response_data_exchange.b64"));
}

#[test]
fn the_public_half_is_the_fixtures_and_a_request_sealed_for_it_round_trips() {
    let key = key();
    assert_eq!(key.public_pem().trim(), fixture("test-flows-public.pem").trim());
    let (aes, iv) = ([7u8; 16], [9u8; 16]);
    let body = Sealer::request(&key.public_pem(), aes, iv, b"{\"action\":\"ping\"}").unwrap();
    let opened = key.open(&body).unwrap();
    assert_eq!(opened.plaintext, b"{\"action\":\"ping\"}");
    let answer = opened.sealer.seal(b"pong");
    assert_eq!(Sealer::open_answer(aes, iv, &answer).unwrap(), b"pong");
}

#[test]
fn a_tampered_or_malformed_request_does_not_open() {
    let key = key();
    let mut wire: serde_json::Value = serde_json::from_str(&fixture("request_ping.json")).unwrap();
    let data = wire["encrypted_flow_data"].as_str().unwrap().to_owned();
    let mut bytes = STANDARD.decode(&data).unwrap();
    bytes[0] ^= 1;
    wire["encrypted_flow_data"] = STANDARD.encode(bytes).into();
    let tampered = serde_json::to_vec(&wire).unwrap();
    assert_eq!(key.open(&tampered).err(), Some(Undecryptable::Payload));
    wire["encrypted_aes_key"] = STANDARD.encode([1u8; 256]).into();
    assert_eq!(key.open(&serde_json::to_vec(&wire).unwrap()).err(), Some(Undecryptable::Key));
    for bad in [
        &b"not json"[..],
        b"{}",
        br#"{"encrypted_flow_data":"!","encrypted_aes_key":"","initial_vector":""}"#,
    ] {
        assert_eq!(key.open(bad).err(), Some(Undecryptable::Shape));
    }
}

#[test]
fn keys_are_read_in_each_pem_form_and_refused_clearly_otherwise() {
    let pem = fixture("test-flows-private.pem");
    let escaped = pem.trim().replace('\n', "\\n");
    assert!(FlowsKey::from_pem(&escaped, None).is_ok(), "a one-line variable with \\n escapes");
    let private = key().key;
    let pkcs1 = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&private, LineEnding::LF).unwrap();
    assert!(FlowsKey::from_pem(&pkcs1, None).is_ok());
    let encrypted = rsa::pkcs8::EncodePrivateKey::to_pkcs8_encrypted_pem(
        &private,
        &mut rsa::rand_core::OsRng,
        "open sesame",
        LineEnding::LF,
    )
    .unwrap();
    assert!(FlowsKey::from_pem(&encrypted, Some("open sesame")).is_ok());
    assert_eq!(FlowsKey::from_pem(&encrypted, None).err(), Some(KeyError::NeedsPassphrase));
    assert_eq!(FlowsKey::from_pem(&encrypted, Some("wrong")).err(), Some(KeyError::WrongPassphrase));
    assert_eq!(FlowsKey::from_pem("hello", None).err(), Some(KeyError::NotAKey));
    let message = KeyError::WrongPassphrase.to_string();
    assert!(!message.contains("sesame") && !message.contains("MII"), "{message}");
}

#[test]
fn a_key_pair_made_here_round_trips_a_request_and_its_answer() {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&private, LineEnding::LF).unwrap();
    let key = FlowsKey::from_pem(&pem, None).unwrap();
    let (aes, iv) = ([42u8; 16], [0xA5u8; 16]);
    let request = br#"{"version":"3.0","action":"data_exchange","data":{"pin":"4821"},"flow_token":"ft_x"}"#;
    let body = Sealer::request(&key.public_pem(), aes, iv, request).unwrap();
    let opened = key.open(&body).unwrap();
    assert_eq!(opened.plaintext, request);
    let answer = opened.sealer.seal(br#"{"screen":"PIN_ENTRY","data":{}}"#);
    assert_eq!(Sealer::open_answer(aes, iv, &answer).unwrap(), br#"{"screen":"PIN_ENTRY","data":{}}"#);
    assert!(Sealer::open_answer(aes, [0u8; 16], &answer).is_none(), "only the request's IV opens it");
    // The fixture's key does not open a request sealed for this one: 421 material.
    assert_eq!(self::key().open(&body).err(), Some(Undecryptable::Key));
    let small = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let small = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&small, LineEnding::LF).unwrap();
    assert_eq!(FlowsKey::from_pem(&small, None).err(), Some(KeyError::TooShort(1024)));
}
