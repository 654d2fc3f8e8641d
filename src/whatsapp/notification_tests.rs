//! Every fixture parses, and what each one carries comes out typed.

use super::*;

fn parse(name: &str) -> Notification {
    let path = format!("{}/tests/fixtures/whatsapp/{name}", env!("CARGO_MANIFEST_DIR"));
    let notification = Notification::parse(&std::fs::read(path).unwrap()).unwrap();
    assert!(notification.problems.is_empty(), "{name}: {:?}", notification.problems);
    notification
}

fn only_message(name: &str) -> InboundMessage {
    let mut n = parse(name);
    assert_eq!(n.messages.len(), 1, "{name}");
    n.messages.remove(0)
}

#[test]
fn a_text_message_names_its_sender_and_content() {
    let m = only_message("01_text_forwarded.json");
    assert_eq!(m.sender.wa_id.as_ref().unwrap().as_str(), "5511987654321");
    assert_eq!(m.sender.key(), "wa:5511987654321");
    assert!(m.sender.name.is_some());
    assert!(
        matches!(&m.content, Content::Text { body } if body.starts_with("Is this message really from my bank"))
    );
    assert!(m.sent_at.is_some());
    assert!(m.phone_number_id.is_some());
    assert!(m.raw.get("contact").is_some(), "the matched contact travels with the raw message");
}

#[test]
fn interactive_replies_carry_their_option_ids() {
    let button = only_message("02_interactive_button_reply.json");
    assert_eq!(
        button.content,
        Content::ButtonReply { id: "menu:balance".into(), title: "Check balance".into() }
    );
    assert!(button.reply_to.is_some(), "a button reply points at our message");

    let list = only_message("03_interactive_list_reply.json");
    assert!(matches!(&list.content, Content::ListReply { id, .. } if id == "acct:current:4821"));

    let quick = only_message("05_button_template_quick_reply.json");
    assert!(
        matches!(&quick.content, Content::QuickReply { payload, .. } if payload == "card_alert:txn_88231:not_me")
    );
}

#[test]
fn a_flow_reply_has_its_response_json_parsed_a_second_time() {
    let m = only_message("04_interactive_nfm_reply_flow.json");
    let Content::FlowReply { name, response } = &m.content else { panic!("{:?}", m.content) };
    assert_eq!(name, "flow");
    assert!(response.get("flow_token").and_then(Value::as_str).is_some_and(|t| t.starts_with("ft_")));
}

#[test]
fn wire_escaped_text_decodes_exactly() {
    let m = only_message("06_image_caption_reply_wire_escaped.json");
    let Content::Media { kind, caption, .. } = &m.content else { panic!("{:?}", m.content) };
    assert_eq!(kind, "image");
    assert_eq!(caption.as_deref(), Some("Comprovante da transferência – R$ 150,00 ✅ enviado às 14:05"));
}

#[test]
fn every_change_of_an_entry_is_read() {
    let n = parse("07_media_audio_video_document_sticker.json");
    let kinds: Vec<_> = n
        .messages
        .iter()
        .map(|m| match &m.content {
            Content::Media { kind, .. } => kind.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["audio", "video", "document", "sticker"]);
}

#[test]
fn a_reaction_and_its_removal_are_told_apart() {
    let n = parse("08_reaction_added_and_removed.json");
    assert_eq!(n.messages.len(), 2);
    assert!(matches!(&n.messages[0].content, Content::Reaction { emoji: Some(e), .. } if e == "👍"));
    assert!(matches!(&n.messages[1].content, Content::Reaction { emoji: None, .. }));
}

#[test]
fn unsupported_and_system_messages_are_kept() {
    let m = only_message("09_unsupported_with_errors.json");
    assert_eq!(m.content, Content::Unsupported { kind: Some("poll_creation".into()) });

    let m = only_message("10_system_user_changed_number.json");
    let Content::System { kind, new_wa_id, .. } = &m.content else { panic!("{:?}", m.content) };
    assert_eq!(kind, "user_changed_number");
    assert_eq!(new_wa_id.as_ref().unwrap().as_str(), "447700900987");
    assert_eq!(m.sender.wa_id.as_ref().unwrap().as_str(), "447700900123", "from is the old number");
    assert!(m.sender.name.is_none(), "system messages come without contacts");
}

#[test]
fn statuses_and_value_level_errors_are_read() {
    let n = parse("11_statuses_and_value_errors.json");
    assert!(n.messages.is_empty());
    let deliveries: Vec<_> = n.statuses.iter().map(|s| s.delivery).collect();
    assert_eq!(deliveries, [Delivery::Sent, Delivery::Delivered, Delivery::Read, Delivery::Failed]);
    assert_eq!(n.statuses[0].callback_data.as_deref(), Some("out:7d0c1b2a"));
    assert_eq!(n.statuses[3].error.as_ref().map(|e| e.code), Some(131047));
    assert_eq!(n.errors.iter().map(|e| e.code).collect::<Vec<_>>(), [130429]);
}

#[test]
fn a_batch_matches_contacts_by_id_and_keeps_a_username_sender() {
    let n = parse("12_batch_two_messages_location_contacts.json");
    assert_eq!(n.messages.len(), 2);
    let (located, username) = (&n.messages[0], &n.messages[1]);
    assert_eq!(located.sender.name.as_deref(), Some("Raj Patel"));
    assert!(matches!(&located.content, Content::Location { latitude, .. } if latitude == "51.5138"));

    assert!(username.sender.wa_id.is_none(), "a username hides the number");
    assert_eq!(username.sender.bsuid.as_ref().unwrap().as_str(), "DE.90817263544536271809");
    assert_eq!(username.sender.key(), "bsuid:DE.90817263544536271809");
    assert_eq!(username.sender.name.as_deref(), Some("Mia K"), "matched by user_id, not position");
    assert!(matches!(&username.content, Content::Contacts(cards) if cards.len() == 1));
}

#[test]
fn odd_parts_become_problems_and_the_rest_is_kept() {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [
            {"field": "security", "value": {}},
            {"field": "account_update", "value": {"event": "ACCOUNT_VIOLATION"}},
            {"field": "messages", "value": {"messages": [
                {"id": "wamid.ok", "from": "2348012345621", "type": "text", "text": {"body": "hi"}, "timestamp": 1795000000},
                {"id": "wamid.nosender", "type": "text", "text": {"body": "who?"}},
                {"from": "2348012345621", "type": "text"},
                {"id": "wamid.future", "from": "2348012345621", "type": "hologram", "hologram": {"x": 1}}
            ], "statuses": [{"id": "wamid.s", "status": "teleported"}]}}
        ]}]
    });
    let n = Notification::parse(body.to_string().as_bytes()).unwrap();
    assert_eq!(n.messages.len(), 2);
    assert_eq!(n.messages[0].content, Content::Text { body: "hi".into() });
    assert!(n.messages[0].sent_at.is_some(), "numeric timestamps are accepted");
    assert_eq!(n.messages[1].content, Content::Other { kind: "hologram".into() });
    assert_eq!(n.problems.len(), 4, "{:?}", n.problems);
    let events: Vec<_> = n.account.iter().map(|(event, _)| event.clone()).collect();
    assert_eq!(
        events,
        [crate::whatsapp::account::AccountEvent::Other {
            field: "account_update".into(),
            event: Some("ACCOUNT_VIOLATION".into())
        }],
        "an account update is read, kept and alerted, not a problem"
    );
}

#[test]
fn bodies_that_are_not_notifications_are_refused() {
    for body in
        [&b""[..], b"null", b"[]", b"{\"entry\": 5}", b"\xff\xfe", b"{\"entry\": [{\"changes\": \"x\"}]}"]
    {
        assert!(Notification::parse(body).is_err(), "{:?}", String::from_utf8_lossy(body));
    }
    assert!(
        Notification::parse(b"{}").unwrap().messages.is_empty(),
        "an empty object is a notification of nothing"
    );
}
