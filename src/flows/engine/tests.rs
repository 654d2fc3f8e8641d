use std::path::PathBuf;

use chrono::{Duration, TimeZone};
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::flows::actions::{ActionSpec, Catalogue, ResultSpec};
use crate::flows::compile;

static VERIFY: ActionSpec = ActionSpec {
    name: "verify_pin",
    description: "checks a PIN",
    inputs: &["pin"],
    results: &[
        ResultSpec { code: "ok", outputs: &[] },
        ResultSpec { code: "wrong", outputs: &["tries_left"] },
    ],
    moves_money: false,
    verifies: true,
    remember: true,
    money_inputs: &[],
};
static PAY: ActionSpec = ActionSpec {
    name: "pay",
    description: "moves money",
    inputs: &["amount"],
    results: &[
        ResultSpec { code: "ok", outputs: &["reference"] },
        ResultSpec { code: "short", outputs: &[] },
    ],
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

fn catalogue() -> Catalogue {
    Catalogue::declaring([&VERIFY, &PAY])
}

const MENU: &str = r#"
flow: main_menu
triggers: {en: [hi], pcm: [how far], yo: [how far], ha: [how far], ig: [how far]}
start: choose
steps:
  choose:
    ask: choice
    prompt: {en: "What would you like to do?", pcm: "Wetin you wan do?", yo: "Wetin you wan do?", ha: "Wetin you wan do?", ig: "Wetin you wan do?"}
    save: choice
    options:
      - {id: pay, title: {en: Pay, pcm: Pay, yo: Pay, ha: Pay, ig: Pay}, go: "flow:pay"}
      - {id: language, title: {en: Language, pcm: Language, yo: Language, ha: Language, ig: Language}, go: "flow:language"}
      - {id: help, title: {en: Help, pcm: Help, yo: Help, ha: Help, ig: Help}, go: "flow:help"}
"#;
const HELP_FLOW: &str = r#"
flow: help
start: explain
steps:
  explain:
    say: {en: "Here is help.", pcm: "See help.", yo: "See help.", ha: "See help.", ig: "See help."}
    end: true
"#;
const LANGUAGE: &str = r#"
flow: language
start: choose
steps:
  choose:
    ask: choice
    prompt: {en: "Which language?", pcm: "Which language?", yo: "Which language?", ha: "Which language?", ig: "Which language?"}
    save: language
    options:
      - {id: en, title: {any: English}}
      - {id: pcm, title: {any: Pidgin}}
    next: done
  done:
    say: {en: "Done.", pcm: "E don set.", yo: "E don set.", ha: "E don set.", ig: "E don set."}
    end: true
"#;
const PAY_FLOW: &str = r#"
flow: pay
start: amount
steps:
  amount:
    ask: amount
    prompt: {en: "How much?", pcm: "How much?", yo: "How much?", ha: "How much?", ig: "How much?"}
    min: 100
    max: 50000
    save: amount
    next: pin
  pin:
    ask: pin
    prompt: {en: "Your PIN?", pcm: "Your PIN?", yo: "Your PIN?", ha: "Your PIN?", ig: "Your PIN?"}
    save: pin
    next: check
  check:
    action: verify_pin
    with: {pin: "{{pin}}"}
    on: {ok: send, wrong: wrong}
  wrong:
    say: {en: "Wrong PIN.", pcm: "PIN no correct.", yo: "PIN no correct.", ha: "PIN no correct.", ig: "PIN no correct."}
    end: true
  send:
    action: pay
    with: {amount: "{{amount}}"}
    save: payment
    on: {ok: done, short: short}
  short:
    say: {en: "Not enough money.", pcm: "Money no reach.", yo: "Money no reach.", ha: "Money no reach.", ig: "Money no reach."}
    end: true
  done:
    say: {en: "Sent {{amount | money}}. Ref {{payment.reference}}.", pcm: "I don send {{amount | money}}. Ref {{payment.reference}}.", yo: "I don send {{amount | money}}. Ref {{payment.reference}}.", ha: "I don send {{amount | money}}. Ref {{payment.reference}}.", ig: "I don send {{amount | money}}. Ref {{payment.reference}}."}
    end: true
"#;

fn bundle_of(sources: &[(&str, &str)]) -> Bundle {
    let files: Vec<(PathBuf, String)> = sources
        .iter()
        .map(|(name, text)| (PathBuf::from(format!("{name}.yaml")), (*text).to_owned()))
        .collect();
    let (report, bundle) = compile(&files, &catalogue());
    assert!(!report.has_errors(), "{:#?}", report.diagnostics);
    bundle.unwrap()
}

fn bundle() -> Bundle {
    bundle_of(&[("main_menu", MENU), ("help", HELP_FLOW), ("language", LANGUAGE), ("pay", PAY_FLOW)])
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn cx(now: DateTime<Utc>) -> Context<'static> {
    Context {
        linked: true,
        now,
        phone: "2348031234521",
        currency: "NGN",
        country_code: "234",
        bank_name: "Teller Bank",
        registered: true,
        fresh_id: "run",
        understood: None,
    }
}

/// Drives the engine like the host does.
struct Chat {
    bundle: Bundle,
    session: Session,
    now: DateTime<Utc>,
}

impl Chat {
    fn new() -> Chat {
        Chat { bundle: bundle(), session: Session::new("en", at(0)), now: at(0) }
    }

    fn send(&mut self, event: Event) -> Turn {
        let session = std::mem::replace(&mut self.session, Session::new("en", self.now));
        let turn = handle(&self.bundle, Some(&self.bundle), session, event, &cx(self.now));
        self.session = turn.session.clone();
        turn
    }

    fn say(&mut self, text: &str) -> Vec<Value> {
        let turn = self.send(Event::Text(text.to_owned()));
        assert!(turn.action.is_none(), "{:?}", turn.action);
        turn.messages.iter().map(Outbound::to_body).collect()
    }

    fn tap(&mut self, id: &str) -> Vec<Value> {
        let turn = self.send(Event::Choice { id: id.to_owned(), title: String::new() });
        turn.messages.iter().map(Outbound::to_body).collect()
    }
}

fn text_of(body: &Value) -> String {
    body.pointer("/text/body")
        .or_else(|| body.pointer("/interactive/body/text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn ids(body: &Value) -> Vec<String> {
    let buttons =
        body.pointer("/interactive/action/buttons").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut ids: Vec<String> =
        buttons.iter().filter_map(|b| b.pointer("/reply/id")?.as_str().map(str::to_owned)).collect();
    for section in
        body.pointer("/interactive/action/sections").and_then(Value::as_array).into_iter().flatten()
    {
        for row in section["rows"].as_array().into_iter().flatten() {
            ids.extend(row["id"].as_str().map(str::to_owned));
        }
    }
    ids
}

#[test]
fn a_first_message_opens_the_menu_as_buttons() {
    let mut chat = Chat::new();
    let replies = chat.say("good morning");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["interactive"]["type"], "button");
    assert_eq!(ids(&replies[0]), ["pay", "language", "help"]);
    assert_eq!((chat.session.flow.as_str(), chat.session.step.as_str()), ("main_menu", "choose"));
    assert_eq!(chat.session.status, Status::Asking);
}

#[test]
fn an_option_is_chosen_by_tap_number_title_or_id() {
    for answer in [
        Event::Choice { id: "language".into(), title: "Language".into() },
        Event::Text("2".into()),
        Event::Text(" LANGUAGE ".into()),
    ] {
        let mut chat = Chat::new();
        chat.say("hi");
        chat.send(answer.clone());
        assert_eq!(chat.session.flow, "language", "{answer:?}");
    }
}

#[test]
fn a_wrong_answer_re_asks_with_a_hint_and_repeated_failure_leads_to_help() {
    let mut chat = Chat::new();
    chat.say("hi");
    let replies = chat.say("banana");
    assert_eq!(replies.len(), 2, "hint, then the choice again");
    assert!(text_of(&replies[0]).contains("reply with its number"));
    assert_eq!(ids(&replies[1]), ["pay", "language", "help"]);
    chat.say("7");
    let replies = chat.say("still wrong");
    assert!(text_of(&replies[0]).contains("another way"), "{replies:?}");
    assert_eq!(text_of(&replies[1]), "Here is help.");
    assert_eq!(chat.session.status, Status::Ended);
}

#[test]
fn global_words_work_at_every_step_in_every_language() {
    let mut chat = Chat::new();
    chat.say("hi");
    chat.tap("pay");
    assert_eq!(chat.session.step, "amount");
    let replies = chat.say("Cancel");
    assert!(text_of(&replies[0]).starts_with("Okay, I have stopped"));
    assert_eq!(chat.session.status, Status::Ended);
    assert!(chat.session.vars.is_empty());
    assert!(text_of(&chat.say("stop")[0]).starts_with("There is nothing to cancel"));

    chat.tap("x");
    chat.tap("pay");
    chat.say("help");
    assert_eq!(chat.session.status, Status::Ended, "help ran to its end");
    chat.session.language = "pcm".into();
    let replies = chat.say("comot");
    assert!(text_of(&replies[0]).starts_with("Nothing dey to cancel"));
    let replies = chat.say("MENU");
    assert_eq!(text_of(&replies[0]), "Wetin you wan do?");
}

#[test]
fn choosing_a_language_changes_what_follows() {
    let mut chat = Chat::new();
    chat.say("hi");
    chat.tap("language");
    let replies = chat.tap("pcm");
    assert_eq!(text_of(&replies[0]), "E don set.");
    assert_eq!(chat.session.language, "pcm");
    assert_eq!(text_of(&chat.say("hello")[0]), "Wetin you wan do?");
}

#[test]
fn actions_are_effects_and_their_results_choose_the_way() {
    let mut chat = Chat::new();
    chat.say("hi");
    chat.tap("pay");
    let refused = chat.say("5,00.0");
    assert!(text_of(&refused[0]).contains("commas"), "{refused:?}");
    let refused = chat.say("50");
    assert_eq!(text_of(&refused[0]), "That is too small. The smallest is ₦100.00.");
    assert_eq!(text_of(&chat.say("₦5,000")[0]), "Your PIN?");

    let turn = chat.send(Event::Text("4821".into()));
    let action = turn.action.clone().unwrap();
    assert_eq!((action.name.as_str(), action.inputs["pin"].as_str()), ("verify_pin", "4821"));
    let stored = serde_json::to_string(&turn.session).unwrap();
    assert!(!stored.contains("4821"), "a PIN is never serialised: {stored}");

    let turn = chat.send(Event::ActionDone(ActionOutcome { code: "ok".into(), outputs: Default::default() }));
    let action = turn.action.clone().unwrap();
    assert_eq!((action.name.as_str(), action.inputs["amount"].as_str()), ("pay", "500000"));
    assert!(chat.session.secrets.is_empty(), "the PIN is forgotten once checked");

    let outputs = [("reference".to_owned(), "TX42".to_owned())].into_iter().collect();
    let turn = chat.send(Event::ActionDone(ActionOutcome { code: "ok".into(), outputs }));
    assert_eq!(text_of(&turn.messages[0].to_body()), "Sent ₦5,000.00. Ref TX42.");
    assert_eq!(chat.session.status, Status::Ended);
}

#[test]
fn long_choices_become_lists_and_pages() {
    let options: String = (1..=12)
        .map(|i| {
            format!(
                "      - {{id: o{i}, title: {{any: \"Option {i}\"}}, description: {{any: \"Number {i}\"}}}}\n"
            )
        })
        .collect();
    let long = format!(
        "flow: main_menu\nstart: pick\nsteps:\n  pick:\n    ask: choice\n    prompt: {{any: Pick}}\n    save: picked\n    options:\n{options}    next: done\n  done:\n    say: {{any: \"You chose {{{{picked}}}}\"}}\n    end: true\n"
    );
    let mut chat = Chat::new();
    chat.bundle = bundle_of(&[("main_menu", &long), ("help", HELP_FLOW)]);
    let first = chat.say("hi");
    assert_eq!(first[0]["interactive"]["type"], "list");
    let page_one = ids(&first[0]);
    assert_eq!(page_one.len(), 10);
    assert_eq!(page_one[9], MORE_ID);
    let second = chat.tap(MORE_ID);
    assert_eq!(ids(&second[0]), ["o10", "o11", "o12", MORE_ID]);
    let done = chat.say("2");
    assert_eq!(text_of(&done[0]), "You chose o11", "a number counts the rows on screen");
}

#[test]
fn an_expired_session_offers_to_resume_then_starts_over() {
    let mut chat = Chat::new();
    chat.say("hi");
    chat.tap("language");
    // 30 idle minutes expire it; shortly after, the customer may resume.
    chat.now = at(35);
    let offer = chat.say("hello?");
    assert_eq!(ids(&offer[0]), [RESUME_ID, RESTART_ID]);
    assert_eq!(chat.session.status, Status::ResumeOffered);
    let resumed = chat.tap(RESUME_ID);
    assert_eq!(text_of(&resumed[0]), "Which language?");
    assert_eq!(chat.session.step, "choose");

    // Much later: a clear note, then a fresh start with the message as sent.
    chat.now = at(35 + 30 + 31);
    let replies = chat.say("hi");
    assert!(text_of(&replies[0]).contains("timed out"), "{replies:?}");
    assert_eq!(chat.session.flow, "main_menu");
}

#[test]
fn an_expired_money_flow_is_never_resumed() {
    let mut chat = Chat::new();
    chat.say("hi");
    chat.tap("pay");
    chat.now = at(6);
    let replies = chat.say("5000");
    assert!(text_of(&replies[0]).contains("For your safety"), "{replies:?}");
    assert_eq!(chat.session.status, Status::Ended);
}

#[test]
fn a_session_finishes_on_its_version_and_new_ones_take_the_current() {
    let mut chat = Chat::new();
    chat.say("hi");
    chat.tap("language");
    let old = chat.bundle.clone();
    let reworded = LANGUAGE.replace("\"Done.\"", "\"All set.\"");
    let new =
        bundle_of(&[("main_menu", MENU), ("help", HELP_FLOW), ("language", &reworded), ("pay", PAY_FLOW)]);
    assert_ne!(old.version, new.version);

    let session = chat.session.clone();
    let turn = handle(
        &new,
        Some(&old),
        session.clone(),
        Event::Choice { id: "en".into(), title: String::new() },
        &cx(at(1)),
    );
    assert_eq!(text_of(&turn.messages[0].to_body()), "Done.", "finished on the version it began");
    let turn = handle(&new, Some(&old), turn.session, Event::Text("language".into()), &cx(at(2)));
    assert_eq!(turn.session.version, new.version);

    // The old version is gone: the customer is told, and starts again.
    let turn = handle(&new, None, session, Event::Text("en".into()), &cx(at(1)));
    assert!(text_of(&turn.messages[0].to_body()).contains("updated"));
    assert_eq!(turn.session.version, new.version);
}

fn any_event() -> impl Strategy<Value = Event> {
    let words = prop_oneof![
        Just("hi".to_owned()),
        Just("menu".to_owned()),
        Just("cancel".to_owned()),
        Just("1".to_owned()),
        Just("5000".to_owned()),
        Just("4821".to_owned()),
        Just("pcm".to_owned()),
        Just("0".to_owned()),
        Just("99999999999999999999".to_owned()),
        "\\PC{0,40}",
        ".{0,300}",
    ];
    let ids = prop_oneof![
        Just("pay".to_owned()),
        Just("language".to_owned()),
        Just("pcm".to_owned()),
        Just(MORE_ID.to_owned()),
        Just(RESUME_ID.to_owned()),
        Just(RESTART_ID.to_owned()),
        "[a-z_]{0,12}",
    ];
    let codes =
        prop_oneof![Just("ok".to_owned()), Just("wrong".to_owned()), Just("short".to_owned()), "[a-z]{0,6}"];
    prop_oneof![
        words.prop_map(Event::Text),
        (ids, ".{0,30}").prop_map(|(id, title)| Event::Choice { id, title }),
        Just(Event::Unreadable),
        (codes, ".{0,20}").prop_map(|(code, v)| Event::ActionDone(ActionOutcome {
            code,
            outputs: [("reference".to_owned(), v)].into_iter().collect(),
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever arrives, in whatever order and after whatever pause, the engine answers
    /// without panicking, and a waiting session always has something on screen to answer.
    #[test]
    fn the_engine_never_panics(events in proptest::collection::vec((any_event(), 0i64..120), 1..40)) {
        let mut chat = Chat::new();
        for (event, pause) in events {
            chat.now += Duration::minutes(pause);
            let turn = chat.send(event);
            prop_assert_eq!(turn.session.status == Status::Acting, turn.action.is_some());
            if turn.session.status == Status::Asking {
                prop_assert!(chat.bundle.step(&turn.session.flow, &turn.session.step).is_some());
            }
            for message in &turn.messages {
                let body = message.to_body();
                prop_assert!(body.is_object());
            }
        }
    }
}

/// The pay flow, started by a `transfer` request, its amount filled from it.
fn requestable() -> Bundle {
    let pay = PAY_FLOW
        .replace("flow: pay\nstart: amount", "flow: pay\nintents: [transfer]\nstart: amount")
        .replace("    save: amount\n    next: pin", "    save: amount\n    fill: amount\n    next: pin");
    assert!(pay.contains("fill: amount") && pay.contains("intents"));
    bundle_of(&[("main_menu", MENU), ("help", HELP_FLOW), ("language", LANGUAGE), ("pay", &pay)])
}

impl Chat {
    /// Sends `text` as the host does: with the rules' reading of it.
    fn write(&mut self, text: &str) -> Turn {
        let understood = crate::nlu::rules::understand(text, "234");
        let session = std::mem::replace(&mut self.session, Session::new("en", self.now));
        let cx = Context { understood: Some(&understood), ..cx(self.now) };
        let turn = handle(&self.bundle, Some(&self.bundle), session, Event::Text(text.to_owned()), &cx);
        self.session = turn.session.clone();
        turn
    }
}

#[test]
fn a_request_in_free_text_starts_its_flow_with_the_values_it_names() {
    let mut chat = Chat { bundle: requestable(), ..Chat::new() };
    let turn = chat.write("please send 5k to my brother");
    assert!(!turn.unsure);
    // The amount question was answered by the request: the flow goes on to the PIN.
    assert_eq!((chat.session.flow.as_str(), chat.session.step.as_str()), ("pay", "pin"));
    assert_eq!(chat.session.vars.get("amount").map(String::as_str), Some("500000"));
    assert_eq!(turn.messages.iter().map(|m| text_of(&m.to_body())).collect::<Vec<_>>(), ["Your PIN?"]);
    assert!(chat.session.fills.is_empty(), "a fill is used once");
}

#[test]
fn a_filled_value_the_question_refuses_is_explained_and_asked_for() {
    let mut chat = Chat { bundle: requestable(), ..Chat::new() };
    let turn = chat.write("send 60k");
    let texts: Vec<String> = turn.messages.iter().map(|m| text_of(&m.to_body())).collect();
    assert_eq!(chat.session.step, "amount");
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("₦50,000.00"), "{texts:?}");
    assert_eq!(texts[1], "How much?");
    // An invalid amount in the request fills nothing: the question is simply asked.
    let mut chat = Chat { bundle: requestable(), ..Chat::new() };
    let turn = chat.write("send 1e9 now");
    assert_eq!(turn.messages.iter().map(|m| text_of(&m.to_body())).collect::<Vec<_>>(), ["How much?"]);
}

#[test]
fn text_not_understood_goes_to_the_menu_and_says_a_better_reading_could_help() {
    let mut chat = Chat { bundle: requestable(), ..Chat::new() };
    let turn = chat.write("my guy, abeg do the needful");
    assert!(turn.unsure);
    assert_eq!(chat.session.flow, "main_menu");
    // In the menu, text that is no option is unsure too; a request there starts its flow.
    assert!(chat.write("something else entirely").unsure);
    let turn = chat.write("transfer 2000 abeg");
    assert!(!turn.unsure);
    assert_eq!((chat.session.flow.as_str(), chat.session.step.as_str()), ("pay", "pin"));
    // A tap is never unsure, nor a request with no flow to claim it (balance here).
    let mut chat = Chat { bundle: requestable(), ..Chat::new() };
    assert!(!chat.send(Event::Choice { id: "x".into(), title: "x".into() }).unsure);
    assert!(chat.write("what is my balance").unsure);
}

#[test]
fn mid_flow_a_clear_request_replaces_an_answer_that_does_not_fit_and_cancel_stops() {
    let mut chat = Chat { bundle: requestable(), ..Chat::new() };
    chat.say("hi");
    chat.tap("pay");
    assert_eq!(chat.session.step, "amount");
    // An amount is an answer, even in words a request would use.
    chat.write("2000");
    assert_eq!(chat.session.step, "pin");
    let mut chat = Chat { bundle: requestable(), ..Chat::new() };
    chat.say("hi");
    chat.tap("language");
    let turn = chat.write("actually send 3k");
    assert_eq!(
        (chat.session.flow.as_str(), chat.session.step.as_str()),
        ("pay", "pin"),
        "{:?}",
        turn.messages
    );
    let turn = chat.write("never mind");
    assert_eq!(chat.session.status, Status::Ended);
    assert!(text_of(&turn.messages[0].to_body()).starts_with("Okay, I have stopped"));
}

#[test]
fn no_at_a_question_it_answers_no_option_of_stops_there_and_the_menu_says_goodbye() {
    // At a list with no "no": a stop, in the customer's words and language.
    let mut chat = Chat::new();
    chat.say("hi");
    chat.tap("language");
    for (no, language) in [("No", "en"), ("I no want", "pcm"), ("Rárá", "en")] {
        chat.session.language = language.into();
        chat.tap("x");
        chat.tap("language");
        let replies = chat.say(no);
        let stopped = if language == "pcm" { "Okay, I don stop am" } else { "Okay, I have stopped" };
        assert!(text_of(&replies[0]).starts_with(stopped), "{no}: {replies:?}");
        assert_eq!(chat.session.status, Status::Ended, "{no}");
    }
    // A lone "n" is a slip as often as a no: asked again.
    chat.session.language = "en".into();
    chat.say("hi");
    chat.tap("language");
    let replies = chat.say("n");
    assert!(text_of(&replies[0]).contains("reply with its number"), "{replies:?}");
    assert_eq!(chat.session.status, Status::Asking);

    // At "How much?" and at the PIN, a money flow's stop says nothing was sent.
    for at in ["amount", "pin"] {
        let mut chat = Chat::new();
        chat.say("hi");
        chat.tap("pay");
        if at == "pin" {
            chat.say("2000");
        }
        assert_eq!(chat.session.step, at);
        let replies = chat.say("no thanks");
        assert!(text_of(&replies[0]).contains("No money was sent"), "{at}: {replies:?}");
        assert_eq!(chat.session.status, Status::Ended);
    }

    // At the menu, a goodbye; the menu stays to be answered later. After a flow has ended,
    // the same, not the whole menu.
    let mut chat = Chat::new();
    chat.say("hi");
    let replies = chat.say("nope");
    assert!(text_of(&replies[0]).starts_with("Goodbye"), "{replies:?}");
    assert_eq!(replies.len(), 1);
    chat.say("2");
    assert_eq!(chat.session.flow, "language", "the menu still answers");
    chat.tap("en");
    let replies = chat.say("no");
    assert!(text_of(&replies[0]).starts_with("Goodbye"), "{replies:?}");
    assert_eq!(chat.session.status, Status::Ended);
}

const COMPLAINT_MENU: &str = r#"
flow: main_menu
triggers: {en: [hi], pcm: [how far], yo: [how far], ha: [how far], ig: [how far]}
start: choose
steps:
  choose:
    ask: choice
    prompt: {any: "What is your complaint about?"}
    save: choice
    options:
      - {id: missing_credit, title: {en: Money not received, pcm: Money never enter, yo: A, ha: A, ig: A}, go: missing_credit}
      - {id: wrong_debit, title: {any: A wrong debit}, go: wrong_debit}
      - {id: other, title: {any: Something else}, go: other}
  missing_credit:
    say: {any: "picked missing_credit"}
    end: true
  wrong_debit:
    say: {any: "picked wrong_debit"}
    end: true
  other:
    say: {any: "picked other"}
    end: true
"#;

#[test]
fn an_options_title_written_inside_a_sentence_picks_it_unless_denied() {
    let complaints =
        || Chat { bundle: bundle_of(&[("main_menu", COMPLAINT_MENU), ("help", HELP_FLOW)]), ..Chat::new() };
    for (said, picked) in [
        ("my money never enter since yesterday", "missing_credit"),
        ("I think it's a wrong debit, please check", "wrong_debit"),
    ] {
        let mut chat = complaints();
        chat.say("hi");
        let turn = chat.write(said);
        assert_eq!(turn.messages.len(), 1, "{said}");
        assert_eq!(text_of(&turn.messages[0].to_body()), format!("picked {picked}"), "{said}");
    }
    // Denied, or two titles at once: asked again.
    for said in ["it is not a wrong debit", "a wrong debit and money not received"] {
        let mut chat = complaints();
        chat.say("hi");
        let turn = chat.write(said);
        assert!(text_of(&turn.messages[0].to_body()).contains("reply with its number"), "{said}");
        assert_eq!(chat.session.status, Status::Asking, "{said}");
    }
}
