//! `/simulator` in a real browser: headless Chromium driven through chromedriver (WebDriver over
//! plain HTTP), against a served app on the embedded default. `scripts/test` installs Debian's
//! `chromium` and `chromium-driver` when they are missing; without them this test fails.

use std::process::{Command, Stdio};

use teller::config::SqlBackend;

use serde_json::json;

use crate::browser::Driver;
use crate::harness::{KvKind, TestApp, TestDb, base_env, config, kv_config};

#[tokio::test]
async fn a_customer_chats_taps_buttons_and_list_rows_and_sees_the_session_in_chromium() {
    // The shipped flows (a main menu of nine rows: a list), with one more row added.
    let flows = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
    for (path, mut text) in teller::flows::read_dir(&repo).unwrap() {
        if path.ends_with("main_menu.yaml") {
            text.push_str(concat!(
                "      - id: about\n        title: { en: About this service, pcm: About this service, yo: About this service, ha: About this service, ig: About this service }\n",
                "        go: flow:help\n",
            ));
        }
        std::fs::write(flows.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let mut env = base_env(&db);
    env.insert("FLOWS_DIR".into(), flows.path().display().to_string());
    let app = TestApp::spawn_with(config(env, kv_config(KvKind::Memory)), db, |r| r).await;
    let driver = Driver::start().await;
    let phone = "2348030000077";
    crate::conversations::customer(&app.state.bank, phone, "Tunde Bakare", "4821", None).await;
    driver.go(&app.url(&format!("/simulator?phone={phone}"))).await;

    let last = "#chat li:last-child";
    driver.type_text("#text", "hello").await;
    driver.click("#send").await;
    driver.wait_in(last, "What would you like to do?").await;
    driver.wait_in("#session", "main_menu").await;

    // Open the list: its rows, the added ones too; then tap a row.
    driver.click("#chat li:last-child button.open-list").await;
    let rows = driver.wait_in("#rows", "Settings").await;
    for row in ["Balance", "Send money", "Buy airtime", "Buy data", "About this service"] {
        assert!(rows.contains(row), "{row}: {rows}");
    }
    driver.click("#rows button[data-id=settings]").await;
    driver.wait_in(last, "What would you like to change?").await;
    driver.click("#chat li:last-child button[data-id=language]").await;
    driver.wait_in(last, "Which language should I use?").await;
    // Five languages: a list.
    driver.click("#chat li:last-child button.open-list").await;
    let rows = driver.wait_in("#rows", "Yorùbá").await;
    for row in ["English", "Pidgin", "Hausa", "Igbo"] {
        assert!(rows.contains(row), "{row}: {rows}");
    }
    driver.click("#rows button[data-id=pcm]").await;
    driver.wait_in(last, "E don set").await;
    driver.wait_in("#session", "pcm").await;

    // Help's last question is a list, in Pidgin: a person and a freeze are a tap away.
    driver.type_text("#text", "help").await;
    driver.click("#send").await;
    driver.wait_in(last, "You wan go back to the menu, or talk to person?").await;
    driver.wait_in("#chat li:nth-last-child(2)", "I fit help you").await;
    driver.click("#chat li:last-child button.open-list").await;
    let rows = driver.wait_in("#rows", "Talk to person").await;
    assert!(rows.contains("Block my account") && rows.contains("Go back to menu"), "{rows}");
    driver.click("#rows button[data-id=yes]").await;
    driver.wait_in(last, "Wetin you wan do?").await;

    // A voice note is answered politely.
    driver.click("#voice").await;
    driver.wait_in(last, "I no fit hear voice note for here. Abeg type your message").await;

    // The chat scrolls inside the phone: the page does not grow, and the newest message and the
    // input stay in view.
    let in_view = "const chat = document.getElementById('chat'); \
        const last = chat.lastElementChild.getBoundingClientRect(); \
        const input = document.getElementById('text').getBoundingClientRect(); \
        return [document.documentElement.scrollHeight <= window.innerHeight + 1, \
                last.bottom <= chat.getBoundingClientRect().bottom + 1, input.bottom <= window.innerHeight + 1];";
    assert_eq!(driver.run(in_view, json!([])).await, json!([true, true, true]));

    // After a reload the history shows both sides: what the customer typed, then the answer.
    driver.go(&app.url(&format!("/simulator?phone={phone}"))).await;
    driver.wait_in(last, "I no fit hear voice note for here. Abeg type your message").await;
    let mine = driver
        .run(
            "return Array.from(document.querySelectorAll('#chat li.me')).map((li) => li.textContent);",
            json!([]),
        )
        .await;
    assert_eq!(
        mine,
        json!(["hello", "Settings", "Language", "Pidgin", "help", "Go back to menu", "🎤 voice note"])
    );
    driver.wait_in("#chat li:nth-child(2)", "Hello 👋").await;
    driver.wait_in("#chat li:nth-child(3)", "What would you like to do?").await;
    assert_eq!(driver.text_in("#chat li:first-child").await, "hello");
    assert_eq!(driver.run(in_view, json!([])).await, json!([true, true, true]));

    // Money for the sandbox customer, from the page: the result beside it, the notice in the chat.
    driver.run("document.getElementById('amount').value = '20,000';", json!([])).await;
    driver.click("#add-money").await;
    driver.wait_in("#topup-result", &format!("Added 20,000 to {phone}.")).await;
    driver.wait_in(last, "Money don land 💰 ₦20,000.00 from Sandbox.").await;

    // The page speaks to the sandbox only: the replies are in the outbox, sent.
    let outbox = app.state.store.outbox_for_recipient(&format!("wa:{phone}")).await.unwrap();
    assert!(outbox.len() >= 6, "{outbox:?}");
    assert!(outbox.iter().all(|m| m.state == "sent"), "{outbox:?}");
    driver.quit().await;
}

#[tokio::test]
async fn a_transfer_is_approved_with_the_pin_and_code_forms_in_chromium() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let driver = Driver::start().await;
    let phone = "2348030000088";
    crate::conversations::customer(&app.state.bank, phone, "Tunde Bakare", "4821", Some("20,000")).await;
    crate::conversations::customer(&app.state.bank, "2348030000089", "Ada Obi", "1357", None).await;
    driver.go(&app.url(&format!("/simulator?phone={phone}"))).await;

    let last = "#chat li:last-child";
    driver.type_text("#text", "send 1000 to 08030000089").await;
    driver.click("#send").await;
    driver.wait_in(last, "Send ₦1,000.00 to Ada O.").await;
    driver.click("#chat li:last-child button[data-id=confirm]").await;
    // The PIN question is a form: a button in the chat, a masked field in a sheet.
    driver.wait_in("#chat li:last-child button.open-form", "Enter PIN").await;
    driver.click("#chat li:last-child button.open-form").await;
    driver.wait_in("#form-prompt", "Enter your PIN to send ₦1,000.00 to Ada O.").await;
    driver.wait_in("#form-fields", "Your PIN").await;
    assert_eq!(driver.run("return document.getElementById('form-pin').type;", json!([])).await, "password");
    driver.type_text("#form-pin", "9999").await;
    driver.click("#form-submit").await;
    driver.wait_in("#form-error", "That PIN is not right. Tries left: 2.").await;
    driver.type_text("#form-pin", "4821").await;
    driver.click("#form-submit").await;
    // Closed: the chat shows only that a form was sent, then the code form comes.
    driver.wait_in("#chat li:last-child button.open-form", "Enter code").await;
    let mine = "return Array.from(document.querySelectorAll('#chat li.me')).pop().textContent;";
    assert_eq!(driver.run(mine, json!([])).await, "✅ Sent");
    assert_eq!(driver.run("return document.getElementById('form').hidden;", json!([])).await, true);
    let chat = driver.text_in("#chat").await;
    assert!(!chat.contains("4821") && !chat.contains("9999"), "no PIN in the chat: {chat}");
    let code =
        regex::Regex::new(r"(\d{6}) is your code").unwrap().captures(&chat).expect("a code in the chat")[1]
            .to_owned();
    driver.click("#chat li:last-child button.open-form").await;
    driver.wait_in("#form-fields", "6-digit code").await;
    driver.type_text("#form-code", &code).await;
    driver.click("#form-submit").await;
    driver.wait_in(last, "✅ Sent ₦1,000.00 to Ada O.").await;
    let kept = driver.run("return JSON.stringify(sessionStorage);", json!([])).await;
    assert!(!kept.to_string().contains("4821"), "the page keeps no PIN: {kept}");
    crate::harness::assert_ledger_sound(&app.state.bank).await;
    driver.quit().await;
}

#[tokio::test]
async fn a_new_customer_registers_with_the_registration_and_pin_forms_in_chromium() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let driver = Driver::start().await;
    driver.go(&app.url("/simulator?phone=2348030000095")).await;
    let last = "#chat li:last-child";
    driver.type_text("#text", "open account").await;
    driver.click("#send").await;
    driver.wait_in("#chat li:last-child button.open-form", "Open account").await;
    driver.click("#chat li:last-child button.open-form").await;
    driver.wait_in("#form-prompt", "Let's open your account here").await;
    driver.wait_in("#form-prompt", "Don't have the number to hand? Dial *565*0# for your BVN").await;
    driver.wait_in("#form-fields", "BVN or NIN (11 digits)").await;
    assert_eq!(
        driver.run("return document.getElementById('form-date_of_birth').type;", json!([])).await,
        "date"
    );
    driver.type_text("#form-first_name", "Zainab").await;
    driver.type_text("#form-last_name", "Sani").await;
    // What the date picker sets.
    driver.run("document.getElementById('form-date_of_birth').value = '1990-05-17';", json!([])).await;
    driver.type_text("#form-id_number", "2221234").await;
    driver.click("#form-submit").await;
    driver.wait_in("#form-error", "A BVN or NIN has 11 digits").await;
    driver.run("document.getElementById('form-id_number').value = '';", json!([])).await;
    driver.type_text("#form-id_number", "22212345678").await;
    driver.click("#form-submit").await;
    // Closed: the next question is the PIN form, then its confirmation.
    driver.wait_in("#chat li:last-child button.open-form", "Enter PIN").await;
    driver.wait_in(last, "Choose a PIN of 4 to 6 digits").await;
    for prompt in ["Choose a PIN of 4 to 6 digits", "Enter the same PIN again to confirm it"] {
        driver.wait_in(last, prompt).await;
        driver.click("#chat li:last-child button.open-form").await;
        driver.wait_in("#form-prompt", prompt).await;
        driver.type_text("#form-pin", "2580").await;
        driver.click("#form-submit").await;
    }
    driver.wait_in(last, "do you accept the bank's terms").await;
    driver.click("#chat li:last-child button[data-id=yes]").await;
    driver.wait_in(last, "Welcome, Zainab! Your account is open.").await;
    let chat = driver.text_in("#chat").await;
    assert!(
        !chat.contains("22212345678") && !chat.contains("2580"),
        "no identity number or PIN in the chat: {chat}"
    );
    assert!(
        !chat.contains("And your surname?"),
        "the form's own questions are not asked in the chat: {chat}"
    );
    driver.quit().await;
}

#[tokio::test]
async fn a_forgotten_pin_is_reset_with_the_identity_check_form_in_chromium() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let phone = "2348030000096";
    crate::conversations::customer(&app.state.bank, phone, "Musa Bello", "4821", None).await;
    let id_number = crate::conversations::id_number_of(phone);
    let driver = Driver::start().await;
    driver.go(&app.url(&format!("/simulator?phone={phone}"))).await;
    let last = "#chat li:last-child";
    driver.type_text("#text", "forgot pin").await;
    driver.click("#send").await;
    driver.wait_in("#chat li:last-child button.open-form", "Confirm details").await;
    driver.click("#chat li:last-child button.open-form").await;
    driver
        .wait_in("#form-prompt", "Enter your date of birth and the BVN or NIN you opened your account with")
        .await;
    driver.wait_in("#form-prompt", "or *346# for your NIN, from the phone it is registered to").await;
    driver.wait_in("#form-fields", "BVN or NIN (11 digits)").await;
    let set =
        |field: &str, value: &str| format!("document.getElementById('form-{field}').value = '{value}';");
    // Wrong details: the form again, with the tries left.
    driver.run(&set("date_of_birth", "1990-05-18"), json!([])).await;
    driver.type_text("#form-id_number", &id_number).await;
    driver.click("#form-submit").await;
    driver
        .wait_in(
            "#form-error",
            "Those details do not match the ones you registered with. Tries left today: 2.",
        )
        .await;
    driver.run(&set("date_of_birth", "1990-05-17"), json!([])).await;
    driver.run(&set("id_number", ""), json!([])).await;
    driver.type_text("#form-id_number", &id_number).await;
    driver.click("#form-submit").await;
    // Closed: the chat says so, and the new PIN is asked by form.
    driver.wait_in(last, "Now pick a new PIN").await;
    assert!(driver.text_in("#chat").await.contains("Thank you, that's you"));
    for prompt in ["Now pick a new PIN", "Enter the new PIN again to confirm it"] {
        driver.wait_in(last, prompt).await;
        driver.click("#chat li:last-child button.open-form").await;
        driver.wait_in("#form-prompt", prompt).await;
        driver.type_text("#form-pin", "7392").await;
        driver.click("#form-submit").await;
    }
    driver.wait_in(last, "Your new PIN is set").await;
    let chat = driver.text_in("#chat").await;
    assert!(
        !chat.contains(&id_number) && !chat.contains("7392"),
        "no identity number or PIN in the chat: {chat}"
    );
    assert!(!chat.contains("And the BVN or NIN"), "the form's own question is not asked in the chat: {chat}");
    driver.quit().await;
}

#[test]
fn teller_chat_talks_through_the_same_pipeline_and_numbers_the_options() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_teller"))
        .arg("chat")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // One line at a time, as a person types: each waits for its replies before the next.
    // A new customer: the bank's greeting, registration (option 1), then the menu.
    let typed = "hi\n1\nAda\nObi\n17/05/1990\n22212345678\n4821\n4821\nyes\nmenu\n1\nsettings\n1\n2\n";
    child.stdin.take().unwrap().write_all(typed.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("bot> Hello 👋 This is teller on WhatsApp."), "{stdout}");
    assert!(stdout.contains("     1. Open an account"), "{stdout}");
    assert!(stdout.contains("bot> Welcome 👋 Let's open your account"), "{stdout}");
    assert!(stdout.contains("bot> ✅ Welcome, Ada! Your account is open."), "{stdout}");
    assert!(!stdout.contains("4821"), "a PIN was echoed: {stdout}");
    assert!(stdout.contains("bot> What would you like to do?"), "{stdout}");
    assert!(stdout.contains("     1. Balance"), "{stdout}");
    assert!(stdout.contains("bot> Your available balance is ₦0.00."), "{stdout}");
    assert!(stdout.contains("bot> Which language should I use?"), "{stdout}");
    assert!(stdout.contains("bot> E don set ✅"), "{stdout}");
    assert!(dir.path().join("teller.db").exists(), "the embedded default: a SQLite file here");
}

crate::harness::on_both_sql_backends!(sandbox_money_comes_in_as_a_provider_credit_from_the_page_and_the_cli);

/// "Add money" (`POST /simulator/api/credit`) and `teller sandbox credit` put money in as the
/// provider's credit callback does: the amount read the same way, the tier's maximum balance
/// kept, the customer told; bad amounts and strangers change nothing.
async fn sandbox_money_comes_in_as_a_provider_credit_from_the_page_and_the_cli(sql: SqlBackend) {
    let app = TestApp::spawn(sql, KvKind::Memory).await;
    let phone = "2348030000088";
    crate::conversations::customer(&app.state.bank, phone, "Tunde Bakare", "4821", None).await;
    let key = format!("wa:{phone}");
    let available = || async { app.state.bank.balance(&key).await.unwrap().unwrap().0.available };
    let credit = |phone: &'static str, amount: &'static str| {
        let request = app
            .client
            .post(app.url("/simulator/api/credit"))
            .json(&json!({ "phone": phone, "amount": amount }));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
        }
    };

    assert_eq!(credit("2348030000088", "20,000").await, (200, json!({ "status": "applied" })));
    assert_eq!(available().await, 2_000_000);
    let told = app.state.store.outbox_for_recipient(&key).await.unwrap();
    let told: Vec<String> = told.iter().map(|m| m.body.0.to_string()).collect();
    assert!(told.iter().any(|t| t.contains("You received ₦20,000.00 from Sandbox 💰")), "{told:#?}");

    for bad in ["nan", "-5", "$50", "5,00.0", "1e9"] {
        let (status, body) = credit("2348030000088", bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(&format!("amount {bad:?} is not an amount")),
            "{body}"
        );
    }
    assert_eq!(credit("2348030000099", "1000").await, (422, json!({ "status": "unknown" })));
    // Tier 1 holds at most ₦300,000.
    assert_eq!(credit("2348030000088", "290,000").await, (422, json!({ "status": "refused" })));
    assert_eq!(available().await, 2_000_000, "nothing refused moved money");

    // The command line, against the running teller (run off the test's runtime, which serves
    // it); each top-up is new money, so a second adds again.
    let url = app.url("");
    let teller = |amount: &'static str| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                Command::new(env!("CARGO_BIN_EXE_teller"))
                    .args([
                        "sandbox",
                        "credit",
                        "--phone",
                        "2348030000088",
                        "--amount",
                        amount,
                        "--url",
                        &url,
                    ])
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    for expected in [2_500_000, 3_000_000] {
        let output = teller("5k").await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(stdout.trim(), format!("added 5k to {phone}"));
        assert_eq!(available().await, expected);
    }
    let output = teller("nan").await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not an amount"), "{output:?}");
    assert_eq!(available().await, 3_000_000);
    crate::harness::assert_ledger_sound(&app.state.bank).await;
}
