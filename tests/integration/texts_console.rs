//! The Texts view in headless Chromium: a publisher edits a Pidgin text without YAML, sees
//! WhatsApp's limit counted as they type and the compiler's finding for a misspelt
//! placeholder, fixes it, sees the preview, saves, publishes through the diff, and a customer
//! in the simulator reads the new words.

use serde_json::json;
use teller::config::SqlBackend;

use crate::admin::make_admin;
use crate::admin_console::{chat, sign_in};
use crate::browser::Driver;
use crate::harness::{KvKind, TestApp};

const BALANCE_PCM: &str = "[data-at='steps.show.say'] textarea[data-lang='pcm']";
const PIN_BUTTON_PCM: &str = "[data-at='steps.choose.options.pin.title'] textarea[data-lang='pcm']";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pidgin_text_is_edited_checked_previewed_and_published_in_the_console() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let publisher = make_admin(app.state.store.as_ref(), "publisher@bank.example", "publisher").await;
    let phone = "2348030000141";
    crate::conversations::customer(&app.state.bank, phone, "Ada Obi", "4821", Some("7,500")).await;
    let driver = Driver::start().await;
    sign_in(&driver, &app, &publisher).await;
    driver.type_text("#draft-title", "Plainer Pidgin balance").await;
    driver.click("#new-draft").await;
    driver.wait_in("#view h1", "Draft 1: Plainer Pidgin balance").await;
    driver.click("#open-texts").await;
    driver.wait_in("#view h1", "Texts of draft 1: Plainer Pidgin balance").await;
    let summary = driver.wait_in("#texts-summary", "every one in every language").await;
    assert!(!summary.contains("missing"), "{summary}");
    driver
        .wait_in("#texts-review", "Not yet reviewed by a native speaker: Pidgin, Yorùbá, Hausa, Igbo.")
        .await;

    // A button counts against WhatsApp's 20 characters as it is typed.
    let select = "const s = document.getElementById('texts-file'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));";
    driver.run(select, json!(["settings.yaml"])).await;
    let entry = "[data-at='steps.choose.options.pin.title']";
    let header = driver.wait_in(entry, "settings › choose").await;
    assert!(header.contains("button") && header.contains("at most 20 characters"), "{header}");
    driver.wait_in(&format!("{entry} [data-lang='pcm'] .count"), "10 / 20").await;
    let set = "const t = document.querySelector(arguments[0]); t.value = arguments[1]; t.dispatchEvent(new Event('input')); return t.value;";
    driver.run(set, json!([PIN_BUTTON_PCM, "Make I change my PIN now"])).await;
    driver.wait_in(&format!("{entry} [data-lang='pcm'] .count"), "24 / 20").await;
    assert_eq!(
        driver.count(&format!("{entry} [data-lang='pcm'] .count.over")).await,
        1,
        "marked over the limit"
    );
    driver
        .wait_in(
            &format!("{entry} [data-lang='pcm'] .problems"),
            "Too long for a button: 24 characters, WhatsApp takes 20",
        )
        .await;
    driver.run(set, json!([PIN_BUTTON_PCM, "Change my PIN"])).await;
    driver.wait_in(&format!("{entry} [data-lang='pcm'] .count"), "13 / 20").await;
    assert_eq!(driver.count(&format!("{entry} [data-lang='pcm'] .count.over")).await, 0);

    // The balance in Pidgin: a misspelt placeholder is found before it is saved.
    driver.run(select, json!(["balance.yaml"])).await;
    let balance = "[data-at='steps.show.say'] [data-lang='pcm']";
    driver.wait_in("[data-at='steps.show.say']", "balance › show").await;
    let typo = "Money wey you get na {{balance.availabel | money}}.";
    driver.run(set, json!([BALANCE_PCM, typo])).await;
    let problems = driver.wait_in(&format!("{balance} .problems"), "balance.availabel").await;
    assert!(
        problems.contains("which no step of this flow sets; did you mean `balance.available`?"),
        "{problems}"
    );
    let fixed = "Money wey you get na {{balance.available | money}}. Reply \"menu\" for more.";
    driver.run(set, json!([BALANCE_PCM, fixed])).await;
    driver
        .wait_in(
            &format!("{balance} .preview"),
            "Preview: Money wey you get na ₦5,000.00. Reply \"menu\" for more.",
        )
        .await;
    assert_eq!(driver.text_in(&format!("{balance} .problems")).await, "", "the finding is gone");
    driver.click(&format!("{balance} .save-text")).await;
    driver.wait_in("#notice", "Saved Pidgin text of show.").await;

    // Published through the draft's diff, which shows the line changed.
    driver.click("#back-to-draft").await;
    driver.wait_in("#view h1", "Draft 1: Plainer Pidgin balance").await;
    driver.click("#diff").await;
    let diff = driver.wait_in("#output", "balance.yaml (changed)").await;
    assert!(diff.contains("+      pcm: \"Money wey you get na {{balance.available | money}}."), "{diff}");
    assert!(diff.contains("-      pcm: \"Money wey you fit use na"), "{diff}");
    assert!(!diff.contains("settings.yaml"), "an edit never saved is not in the draft: {diff}");
    driver.click("#publish").await;
    driver.wait_in("#dialog-text", "Publish \"Plainer Pidgin balance\"?").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "Published as release 2.").await;

    // A customer in Pidgin reads the new words in the simulator.
    chat(&app, phone, json!({ "text": "pidgin" }), "Na Pidgin we go dey yarn").await;
    chat(&app, phone, json!({ "text": "balance" }), "Money wey you get na ₦7,500.00. Reply").await;
    driver.quit().await;
}
