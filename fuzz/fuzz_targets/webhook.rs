//! A webhook body, signed and parsed as `POST /webhook` does, then every message in it
//! dispatched to the engine on the baseline flows, for a registered and a new customer.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use teller::conversation::event_of;
use teller::flows::engine::{self, Context, Session};
use teller::flows::graph::Bundle;
use teller::whatsapp::notification::{InboundMessage, Notification};
use teller::signature;

static BUNDLE: LazyLock<Bundle> = LazyLock::new(|| {
    let (report, bundle) = teller::flows::check::compile(&teller::flows::baseline(), &teller::bank::actions::declared());
    bundle.unwrap_or_else(|| panic!("the baseline flows compile: {report:?}"))
});

fuzz_target!(|body: &[u8]| {
    // The signature is checked over the raw bytes: a valid one verifies, a flipped one does not.
    let header = signature::sign(b"fuzz-secret", body);
    assert!(signature::verify(b"fuzz-secret", body, Some(header.as_bytes())));
    assert!(!signature::verify(b"other-secret", body, Some(header.as_bytes())));
    let Ok(notification) = Notification::parse(body) else { return };
    let now = chrono::Utc::now();
    for message in &notification.messages {
        // What the inbox stores reads back as the same message.
        let stored = InboundMessage::from_stored(&message.raw, message.phone_number_id.as_deref());
        assert!(stored.is_some_and(|m| m.id == message.id), "a parsed message reads back from the inbox");
        let Some(event) = event_of(&message.content) else { continue };
        for registered in [true, false] {
            let cx = Context {
                now,
                phone: "2348030000001",
                currency: "NGN",
                country_code: "234",
                registered,
                fresh_id: "fuzz",
                understood: None,
            };
            let turn = engine::handle(&BUNDLE, None, Session::new("en", now), event.clone(), &cx);
            // Whatever arrives, the customer is told something or an action runs.
            assert!(!turn.messages.is_empty() || turn.action.is_some(), "silence for {event:?}");
        }
    }
});
