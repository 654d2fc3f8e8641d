use serde_json::json;

use super::*;

fn buttons(titles: &[&str]) -> Vec<Button> {
    titles.iter().enumerate().map(|(i, t)| Button::new(format!("b{i}"), *t)).collect()
}

fn rows(n: usize) -> Vec<Row> {
    (0..n).map(|i| Row::new(format!("r{i}"), format!("Row {i}"))).collect()
}

#[test]
fn lengths_count_utf16_units_not_bytes_or_code_points() {
    assert_eq!(utf16_len("abc"), 3);
    assert_eq!(utf16_len("₦5,000"), 6, "₦ is one unit though three bytes");
    assert_eq!(utf16_len("👍"), 2, "an emoji outside the BMP is two units");
}

#[test]
fn text_up_to_4096_units_is_accepted_and_one_more_is_refused() {
    assert!(Text::new("a".repeat(4096)).is_ok());
    let err = Text::new("a".repeat(4097)).unwrap_err();
    assert_eq!(err, LimitError::TooLong { field: "text body".into(), len: 4097, max: 4096 });
    // 2048 emoji are 4096 units; one more emoji is over even though it is 2049 characters.
    assert!(Text::new("😀".repeat(2048)).is_ok());
    assert!(Text::new("😀".repeat(2049)).is_err());
    assert_eq!(Text::new("  ").unwrap_err(), LimitError::Empty("text body"));
}

#[test]
fn text_renders_the_graph_api_object() {
    let body = Outbound::from(Text::new("Hello").unwrap()).to_body();
    assert_eq!(body, json!({ "type": "text", "text": { "body": "Hello", "preview_url": false } }));
}

#[test]
fn reply_buttons_enforce_count_title_length_and_uniqueness() {
    assert!(Buttons::new("Pick", buttons(&["A", "B", "C"])).is_ok());
    assert!(matches!(
        Buttons::new("Pick", buttons(&["A", "B", "C", "D"])),
        Err(LimitError::Count { what: "reply buttons", count: 4, .. })
    ));
    assert!(matches!(Buttons::new("Pick", vec![]), Err(LimitError::Count { count: 0, .. })));
    assert!(Buttons::new("Pick", buttons(&["Twenty characters!!!"])).is_ok());
    let err = Buttons::new("Pick", buttons(&["Twenty-one characters"])).unwrap_err();
    assert!(matches!(err, LimitError::TooLong { len: 21, max: 20, .. }), "{err}");
    assert!(err.to_string().contains("Twenty-one characters"), "the message names the title: {err}");
    // Nineteen letters and an emoji: 20 code points but 21 UTF-16 units.
    assert!(Buttons::new("Pick", buttons(&["Nineteen characters👍"])).is_err());
    assert!(matches!(
        Buttons::new("Pick", buttons(&["Same", "Same"])),
        Err(LimitError::Duplicate { what: "button title", .. })
    ));
    let same_ids = vec![Button::new("x", "One"), Button::new("x", "Two")];
    assert!(matches!(Buttons::new("Pick", same_ids), Err(LimitError::Duplicate { what: "button id", .. })));
    assert!(Buttons::new("Pick", vec![Button::new(" confirm", "Yes")]).is_err());
    assert!(Buttons::new("x".repeat(1025), buttons(&["A"])).is_err());
    assert!(Buttons::new("Pick", buttons(&["A"])).unwrap().with_footer("f".repeat(61)).is_err());
}

#[test]
fn reply_buttons_render_the_graph_api_object() {
    let message = Buttons::new(
        "Send ₦5,000 to Ada?",
        vec![Button::new("confirm", "Confirm"), Button::new("cancel", "Cancel")],
    )
    .unwrap()
    .with_header("Transfer")
    .unwrap();
    assert_eq!(
        Outbound::from(message).to_body(),
        json!({
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": { "type": "text", "text": "Transfer" },
                "body": { "text": "Send ₦5,000 to Ada?" },
                "action": { "buttons": [
                    { "type": "reply", "reply": { "id": "confirm", "title": "Confirm" } },
                    { "type": "reply", "reply": { "id": "cancel", "title": "Cancel" } },
                ] },
            },
        })
    );
}

#[test]
fn lists_enforce_rows_sections_and_field_lengths() {
    let one = |rows| vec![Section { title: None, rows }];
    assert!(List::new("Menu", "Open", one(rows(10))).is_ok());
    assert!(matches!(
        List::new("Menu", "Open", one(rows(11))),
        Err(LimitError::Count { what: "list rows", .. })
    ));
    // Ten rows in total, whatever the sections.
    let split = vec![
        Section { title: Some("First".into()), rows: rows(6) },
        Section {
            title: Some("Second".into()),
            rows: (6..11).map(|i| Row::new(format!("r{i}"), "x")).collect(),
        },
    ];
    assert!(matches!(
        List::new("Menu", "Open", split),
        Err(LimitError::Count { what: "list rows", count: 11, .. })
    ));
    let untitled =
        vec![Section { title: None, rows: rows(1) }, Section { title: None, rows: vec![Row::new("z", "z")] }];
    assert_eq!(List::new("Menu", "Open", untitled).unwrap_err(), LimitError::Empty("section title"));
    assert!(List::new("Menu", "Open", one(vec![Row::new("a", "x".repeat(24))])).is_ok());
    assert!(List::new("Menu", "Open", one(vec![Row::new("a", "x".repeat(25))])).is_err());
    assert!(List::new("Menu", "Open", one(vec![Row::new("a", "x").described("d".repeat(72))])).is_ok());
    assert!(List::new("Menu", "Open", one(vec![Row::new("a", "x").described("d".repeat(73))])).is_err());
    assert!(List::new("Menu", "Open", one(vec![Row::new("a".repeat(201), "x")])).is_err());
    assert!(List::new("Menu", "o".repeat(21), one(rows(1))).is_err());
    let twice = one(vec![Row::new("a", "x"), Row::new("a", "y")]);
    assert!(matches!(List::new("Menu", "Open", twice), Err(LimitError::Duplicate { what: "row id", .. })));
}

#[test]
fn lists_render_the_graph_api_object() {
    let list = List::new(
        "What would you like to do?",
        "Menu",
        vec![Section {
            title: None,
            rows: vec![Row::new("balance", "Balance").described("See what you have")],
        }],
    )
    .unwrap();
    assert_eq!(
        Outbound::from(list).to_body(),
        json!({
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": { "text": "What would you like to do?" },
                "action": { "button": "Menu", "sections": [
                    { "rows": [{ "id": "balance", "title": "Balance", "description": "See what you have" }] },
                ] },
            },
        })
    );
}

#[test]
fn templates_check_their_name_and_render_parameters() {
    let t = Template::new("reopen_chat", "en", vec!["Ada".into()]).unwrap();
    let body = Outbound::from(t).to_body();
    assert_eq!(
        body,
        json!({ "type": "template", "template": {
            "name": "reopen_chat", "language": { "code": "en" },
            "components": [{ "type": "body", "parameters": [{ "type": "text", "text": "Ada" }] }],
        } })
    );
    assert!(Template::new("Reopen Chat", "en", vec![]).is_err());
    assert!(Template::new("reopen", "", vec![]).is_err());
    assert!(Template::new("reopen", "en", vec![" ".into()]).is_err());
}

#[test]
fn read_receipts_carry_the_typing_indicator_only_when_asked() {
    assert_eq!(
        read_receipt("wamid.X", true),
        json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X",
                "typing_indicator": { "type": "text" } })
    );
    assert!(read_receipt("wamid.X", false).get("typing_indicator").is_none());
}

#[test]
fn an_authentication_template_carries_the_code_in_its_body_and_copy_code_button() {
    let body =
        Outbound::from(Template::authentication("teller_login_code", "en_US", "482913").unwrap()).to_body();
    assert_eq!(
        body,
        json!({"type": "template", "template": {"name": "teller_login_code", "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "482913"}]}]}})
    );
    for bad in ["", "48 29", "0123456789012345"] {
        assert!(Template::authentication("teller_login_code", "en_US", bad).is_err(), "{bad:?}");
    }
}
