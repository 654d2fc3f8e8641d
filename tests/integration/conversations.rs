//! Conversation tests: the scripted chats in `tests/conversations/*.yaml` (format in its
//! README) run against the shipped flows through the engine's host, on both KV adapters (and
//! both SQL stores), with a clock the script moves. Plus what the host itself promises: a
//! message handled twice answers the same, and a session finishes on its version after restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;
use teller::bank::Bank;
use teller::clock::ManualClock;
use teller::config::SqlBackend;
use teller::conversation::{Conversations, Settings};

use teller::flows::engine::Event;
use teller::kv::Kv;
use teller::store::SqlStore;

use crate::harness::{KvKind, TestDb, kv};

/// One scripted chat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    /// What it shows.
    #[allow(dead_code)]
    name: String,
    /// The customer's WhatsApp number (default 2348031234521).
    #[serde(default)]
    phone: Option<String>,
    /// The customer has not registered (default: registered as Tunde Bakare, PIN 4821).
    #[serde(default)]
    guest: bool,
    /// Money in the customer's wallet at the start, e.g. "50,000".
    #[serde(default)]
    balance: Option<String>,
    /// The customer registered this long before the script starts, e.g. `120d` (default: at
    /// the start).
    #[serde(default)]
    opened: Option<String>,
    /// Money that came in each month of the last three (credited 80, 50 and 20 days before the
    /// start), e.g. "40,000".
    #[serde(default)]
    income: Option<String>,
    /// Other registered customers.
    #[serde(default)]
    others: Vec<Other>,
    /// What happens, in order.
    steps: Vec<Line>,
}

/// Another customer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Other {
    phone: String,
    name: String,
    #[serde(default)]
    balance: Option<String>,
}

/// One thing the customer does, and what must be true after it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    /// Types this.
    #[serde(default)]
    say: Option<String>,
    /// Taps the button or list row with this id.
    #[serde(default)]
    tap: Option<String>,
    /// Sends something that is not text: `voice`, `image`, `location`.
    #[serde(default)]
    send: Option<String>,
    /// Says nothing for this long: `40m`, `3h`, `2d`.
    #[serde(default)]
    wait: Option<String>,
    /// Money sent to the customer from outside arrives (the provider's credit, delivered twice).
    #[serde(default)]
    credit: Option<String>,
    /// A customer care agent answers the customer's newest open ticket with this.
    #[serde(default)]
    agent: Option<String>,
    /// A customer care agent closes the customer's newest ticket with this resolution.
    #[serde(default)]
    agent_close: Option<String>,
    /// The worker's care job runs now (a customer waiting for a person is told when to expect one).
    #[serde(default)]
    care_round: bool,
    /// The one-time code sent last expires now (as its TTL would make it).
    #[serde(default)]
    expire_code: bool,
    /// A message the bank sent this customer (a code, a credit) contains this.
    #[serde(default)]
    notice: Option<String>,
    /// The customer's available balance is now this, e.g. "44,990".
    #[serde(default)]
    balance: Option<String>,
    /// Some reply contains each of these.
    #[serde(default)]
    reply: Option<OneOrMany>,
    /// No reply contains this.
    #[serde(default)]
    not_reply: Option<String>,
    /// This many replies.
    #[serde(default)]
    replies: Option<usize>,
    /// The last reply offers exactly these option ids, in order.
    #[serde(default)]
    offers: Option<Vec<String>>,
    /// The session is in this flow.
    #[serde(default)]
    flow: Option<String>,
    /// The session is at this step.
    #[serde(default)]
    step: Option<String>,
    /// The session speaks this language.
    #[serde(default)]
    language: Option<String>,
    /// Session variables have these values.
    #[serde(default)]
    vars: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn all(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn settings() -> Settings {
    Settings {
        currency: "NGN".into(),
        country_code: "234".into(),
        default_language: "en".into(),
        bank_name: "Teller Bank".into(),
    }
}

async fn conversations(kv: Arc<dyn Kv>, store: Arc<dyn SqlStore>, dir: &Path) -> Conversations {
    Conversations::load(dir, teller::bank::actions::declared(), kv, store, settings()).await.unwrap()
}

/// Conversations with a working bank on `clock`.
pub(crate) async fn banking(
    kv: Arc<dyn Kv>,
    store: Arc<dyn SqlStore>,
    clock: Arc<ManualClock>,
) -> (Conversations, Arc<Bank>) {
    banking_under(kv, store, clock, teller::bank::rules::Rules::load(None).unwrap()).await
}

/// [`banking`], the bank keeping `rules`.
pub(crate) async fn banking_under(
    kv: Arc<dyn Kv>,
    store: Arc<dyn SqlStore>,
    clock: Arc<ManualClock>,
    rules: teller::bank::rules::Rules,
) -> (Conversations, Arc<Bank>) {
    let bank = crate::harness::bank_with(store.clone(), kv.clone(), clock, rules);
    bank.open().await.unwrap();
    let catalogue = teller::bank::actions::register(teller::bank::actions::declared(), &bank);
    let host = Conversations::load(&repo("flows"), catalogue, kv, store, settings())
        .await
        .unwrap()
        .with_customers(bank.clone());
    (host, bank)
}

/// The identity number [`customer`] registers `phone` with: 2 and its last ten digits (the
/// date of birth is 17 May 1990).
pub fn id_number_of(phone: &str) -> String {
    format!("2{}", &phone[phone.len() - 10..])
}

/// Registers a customer with `pin` and credits `balance`, through the bank's own API.
pub async fn customer(bank: &Bank, phone: &str, name: &str, pin: &str, balance: Option<&str>) {
    let key = format!("wa:{phone}");
    bank.choose_pin(&key, pin).await.unwrap().unwrap();
    assert_eq!(bank.confirm_pin(&key, pin).await.unwrap(), Some(true));
    let (first, last) = name.split_once(' ').unwrap_or((name, "Customer"));
    let id_number = id_number_of(phone);
    let done = bank.register(&key, first, last, "1990-05-17", &id_number).await.unwrap();
    assert!(matches!(done, teller::bank::Registration::Registered { .. }), "{done:?}");
    if let Some(balance) = balance {
        let amount = teller::money::parse_amount(balance).unwrap();
        let applied = bank.credit(&format!("opening-{phone}"), phone, amount, "NGN", "").await.unwrap();
        assert_eq!(applied, teller::bank::Callback::Applied);
    }
}

/// The texts the bank queued for `key` outside the conversation.
/// What a customer care agent does in a script: answers or closes the customer's newest ticket.
async fn agent_acts(line: &Line, store: &Arc<dyn SqlStore>, bank: &Bank, key: &str) {
    let mut tx = store.begin().await.unwrap();
    let known = tx.admin().admin_by_email("agent@bank.example").await.unwrap().map(|a| a.id);
    tx.rollback().await.unwrap();
    let agent = match known {
        Some(id) => id,
        None => crate::admin::make_admin(store.as_ref(), "agent@bank.example", "agent").await.id,
    };
    let mut tx = store.begin().await.unwrap();
    let customer = tx.customers().customer_by_alias(key).await.unwrap().unwrap();
    let ticket =
        tx.care().customer_tickets(customer.id, 1).await.unwrap().pop().expect("the customer has a ticket");
    tx.rollback().await.unwrap();
    if let Some(text) = &line.agent {
        bank.answer_ticket(ticket.id, agent, text).await.unwrap().unwrap();
    }
    if let Some(resolution) = &line.agent_close {
        bank.close_ticket(ticket.id, agent, resolution).await.unwrap().unwrap();
    }
}

/// Checks a step's `notice` (among those sent since `notices_before`) and `balance`; the count
/// of notices sent so far.
async fn check_money(
    line: &Line,
    at: &str,
    store: &Arc<dyn SqlStore>,
    bank: &teller::bank::Bank,
    key: &str,
    notices_before: usize,
) -> usize {
    let sent = notices(store, key).await;
    if let Some(wanted) = &line.notice {
        let new = &sent[notices_before.min(sent.len())..];
        assert!(
            new.iter().any(|t| t.contains(wanted.as_str())),
            "{at}: no notice sent at this step contains {wanted:?}: {new:#?}"
        );
    }
    if let Some(balance) = &line.balance {
        // "0" is a balance, though never an amount to send.
        let expected = if balance == "0" { 0 } else { teller::money::parse_amount(balance).unwrap() };
        let (now_balance, _) = bank.balance(key).await.unwrap().unwrap();
        assert_eq!(now_balance.available, expected, "{at}: available balance");
    }
    sent.len()
}

pub(crate) async fn notices(store: &Arc<dyn SqlStore>, key: &str) -> Vec<String> {
    store
        .outbox_for_recipient(key)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.in_reply_to.is_none())
        .map(|m| readable(&m.body.0))
        .collect()
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

fn duration(text: &str) -> Duration {
    let (n, unit) = text.split_at(text.len() - 1);
    let n: i64 = n.parse().unwrap_or_else(|_| panic!("wait: {text:?} is not like 40m, 3h or 2d"));
    match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        other => panic!("wait: unknown unit {other:?}"),
    }
}

/// Everything a customer can read in a reply: its text, buttons, rows and their descriptions.
fn readable(body: &Value) -> String {
    let mut parts = Vec::new();
    for pointer in ["/text/body", "/interactive/body/text"] {
        parts.extend(body.pointer(pointer).and_then(Value::as_str).map(str::to_owned));
    }
    for button in body.pointer("/interactive/action/buttons").and_then(Value::as_array).into_iter().flatten()
    {
        parts.extend(button.pointer("/reply/title").and_then(Value::as_str).map(str::to_owned));
    }
    for row in rows(body) {
        parts.extend(row["title"].as_str().map(str::to_owned));
        parts.extend(row["description"].as_str().map(str::to_owned));
    }
    parts.join("\n")
}

fn rows(body: &Value) -> Vec<Value> {
    body.pointer("/interactive/action/sections")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn offered(body: &Value) -> Vec<String> {
    let buttons =
        body.pointer("/interactive/action/buttons").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut ids: Vec<String> = buttons
        .iter()
        .filter_map(|b| b.pointer("/reply/id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    ids.extend(rows(body).iter().filter_map(|r| r["id"].as_str().map(str::to_owned)));
    ids
}

async fn run_script(path: &Path, kv_kind: KvKind, sql: SqlBackend) {
    let script: Script = marked_yaml::from_yaml(0, &std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let db = TestDb::new(sql).await;
    let kv = kv(kv_kind);
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(start()));
    let (host, bank) = banking(kv.clone(), store.clone(), clock.clone()).await;
    let phone = script.phone.clone().unwrap_or_else(|| "2348031234521".to_owned());
    let key = format!("wa:{phone}");
    if !script.guest {
        if let Some(opened) = &script.opened {
            clock.set(start() - duration(opened));
        }
        customer(&bank, &phone, "Tunde Bakare", "4821", script.balance.as_deref()).await;
        if let Some(income) = &script.income {
            let amount = teller::money::parse_amount(income).unwrap();
            for days in [80, 50, 20] {
                clock.set(start() - Duration::days(days));
                let credited =
                    bank.credit(&format!("income-{days}"), &phone, amount, "NGN", "Employer").await.unwrap();
                assert_eq!(
                    credited,
                    teller::bank::Callback::Applied,
                    "{}: income {days} days back",
                    path.display()
                );
            }
        }
        clock.set(start());
    }
    for other in &script.others {
        customer(&bank, &other.phone, &other.name, "1357", other.balance.as_deref()).await;
    }
    let mut now = start();
    let catalogue = Catalogue::shipped();
    let (mut claims, mut seen, mut vague) = (Vec::new(), Vec::new(), Vec::new());
    let mut notices_before = notices(&store, &key).await.len();
    for (n, line) in script.steps.iter().enumerate() {
        let at = format!("{} step {} ({kv_kind:?}, {sql:?})", path.display(), n + 1);
        clock.set(now);
        if line.expire_code {
            let id = bank.customer(&key).await.unwrap().unwrap().id;
            kv.delete(&format!("bank:code:{id}")).await.unwrap();
            continue;
        }
        if let Some(amount) = &line.credit {
            let minor = teller::money::parse_amount(amount).unwrap();
            for _ in 0..2 {
                bank.credit(&format!("script-credit-{n}"), &phone, minor, "NGN", "Sandbox").await.unwrap();
            }
            notices_before = check_money(line, &at, &store, &bank, &key, notices_before).await;
            continue;
        }
        if line.care_round {
            bank.care_round(now).await.unwrap();
            notices_before = check_money(line, &at, &store, &bank, &key, notices_before).await;
            continue;
        }
        if line.agent.is_some() || line.agent_close.is_some() {
            agent_acts(line, &store, &bank, &key).await;
            notices_before = check_money(line, &at, &store, &bank, &key, notices_before).await;
            continue;
        }
        let said = match line.say.clone() {
            Some(text) => {
                let pending =
                    host.record(&key).await.unwrap().and_then(|r| r.session.vars.get("app.secret").cloned());
                Some(fill_codes(&text, &store, &bank, &key, pending, now).await)
            }
            None => None,
        };
        let event = match (&said, &line.tap, &line.send, &line.wait) {
            (Some(text), None, None, None) => Some(Event::Text(text.clone())),
            (None, Some(id), None, None) => Some(Event::Choice { id: id.clone(), title: String::new() }),
            (None, None, Some(_), None) => Some(Event::Unreadable),
            (None, None, None, Some(wait)) => {
                now += duration(wait);
                None
            }
            _ => panic!("{at}: a step does one of say, tap, send or wait"),
        };
        let Some(event) = event else { continue };
        let message_id = format!("wamid.script{n}");
        let replies: Vec<Value> = host
            .converse(&key, &phone, &message_id, event.clone(), now)
            .await
            .unwrap()
            .iter()
            .map(|m| m.to_body())
            .collect();
        // The same message again (a redelivery after a lost lease): the same replies, and no
        // money moves twice.
        let money = format!("{:?}", bank.balance(&key).await.unwrap());
        let again: Vec<Value> = host
            .converse(&key, &phone, &message_id, event, now)
            .await
            .unwrap()
            .iter()
            .map(|m| m.to_body())
            .collect();
        assert_eq!(again, replies, "{at}: the message handled twice answered differently");
        assert_eq!(
            format!("{:?}", bank.balance(&key).await.unwrap()),
            money,
            "{at}: the message handled twice moved money"
        );
        let text: Vec<String> = replies.iter().map(readable).collect();
        match (&line.reply, line.replies) {
            (Some(expected), _) => {
                for wanted in expected.all() {
                    let Some(matched) = text.iter().find(|t| t.contains(wanted)) else {
                        panic!("{at}: no reply contains {wanted:?}: {text:#?}")
                    };
                    let in_flows = catalogue.matches(wanted);
                    if in_flows.len() > 1 {
                        vague.push(format!(
                            "{at}: {wanted:?} is in more than one text of the flows: {in_flows:#?}"
                        ));
                    }
                    claims.push(Claim { at: at.clone(), phrase: wanted.to_owned(), reply: matched.clone() });
                }
            }
            (None, Some(0)) => {}
            (None, _) => vague.push(format!("{at}: asserts no reply: {text:#?}")),
        }
        seen.extend(text.iter().cloned());
        if let Some(unwanted) = &line.not_reply {
            assert!(
                !text.iter().any(|t| t.contains(unwanted.as_str())),
                "{at}: a reply contains {unwanted:?}"
            );
        }
        if let Some(count) = line.replies {
            assert_eq!(replies.len(), count, "{at}: {text:#?}");
        }
        if let Some(ids) = &line.offers {
            let last = replies.last().map(offered).unwrap_or_default();
            assert_eq!(&last, ids, "{at}: {text:#?}");
        }
        notices_before = check_money(line, &at, &store, &bank, &key, notices_before).await;
        let record = host.record(&key).await.unwrap().unwrap_or_else(|| panic!("{at}: no session kept"));
        let session = &record.session;
        if let Some(flow) = &line.flow {
            assert_eq!(&session.flow, flow, "{at}");
        }
        if let Some(step) = &line.step {
            assert_eq!(&session.step, step, "{at}");
        }
        if let Some(language) = &line.language {
            assert_eq!(&session.language, language, "{at}");
        }
        for (var, value) in line.vars.iter().flatten() {
            assert_eq!(session.vars.get(var), Some(value), "{at}: variable {var}");
        }
    }
    crate::harness::assert_ledger_sound(&bank).await;
    for claim in &claims {
        let others: Vec<&String> =
            seen.iter().filter(|t| t.contains(&claim.phrase) && **t != claim.reply).collect();
        if !others.is_empty() {
            vague.push(format!("{}: {:?} is also in other replies: {others:#?}", claim.at, claim.phrase));
        }
    }
    assert!(
        vague.is_empty(),
        "every step asserts its reply by a phrase no other message contains (see tests/conversations/README.md):\n{}",
        vague.join("\n")
    );
}

/// A phrase a step asserted, and the reply it found it in.
struct Claim {
    at: String,
    phrase: String,
    reply: String,
}

/// Every customer-facing text of the shipped flows, in every language, as written (with its
/// `{{placeholders}}`): a step's phrase may be in one of them at most.
struct Catalogue(std::collections::BTreeSet<String>);

impl Catalogue {
    fn shipped() -> Catalogue {
        fn walk(value: &Value, texts: &mut std::collections::BTreeSet<String>) {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        match value {
                            Value::String(text)
                                if teller::flows::check::LANGUAGES.contains(&key.as_str()) =>
                            {
                                texts.insert(text.clone());
                            }
                            other => walk(other, texts),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, texts)),
                _ => {}
            }
        }
        let mut texts = std::collections::BTreeSet::new();
        for (path, text) in teller::flows::read_dir(&repo("flows")).unwrap() {
            let value: Value =
                marked_yaml::from_yaml(0, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            walk(&value, &mut texts);
        }
        assert!(texts.len() > 100, "the flows' texts were not found: {}", texts.len());
        Catalogue(texts)
    }

    fn matches(&self, phrase: &str) -> Vec<&String> {
        self.0.iter().filter(|t| t.contains(phrase)).collect()
    }
}

/// `text` with `{{code}}` replaced by the last one-time code the bank sent the customer, and
/// `{{app_code}}` by their authenticator app's code now.
async fn fill_codes(
    text: &str,
    store: &Arc<dyn SqlStore>,
    bank: &Bank,
    key: &str,
    pending: Option<String>,
    now: DateTime<Utc>,
) -> String {
    let mut text = text.to_owned();
    if text.contains("{{code}}") {
        let sent = notices(store, key).await;
        let code = sent
            .iter()
            .rev()
            .find_map(|t| {
                t.split_whitespace().next().filter(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            })
            .unwrap_or_else(|| panic!("no code was sent: {sent:#?}"))
            .to_owned();
        text = text.replace("{{code}}", &code);
    }
    if text.contains("{{app_code}}") {
        let customer = bank.customer(key).await.unwrap();
        let sealed = customer.as_ref().and_then(|c| c.totp_secret.as_ref().map(|s| (c.id, s)));
        let secret = match sealed {
            // The test bank seals with the test key.
            Some((id, sealed)) => teller::sealed::Keys::parse(crate::harness::TEST_SECRETS_KEY)
                .unwrap()
                .open(sealed, &teller::sealed::customer_totp(id))
                .unwrap(),
            // Enrolling: the secret is the one the flow showed (kept in the session's variables).
            None => pending.expect("the flow showed a setup key"),
        };
        let bytes = totp_rs::Secret::Encoded(secret).to_bytes().unwrap();
        let totp =
            totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).unwrap();
        text = text.replace("{{app_code}}", &totp.generate(u64::try_from(now.timestamp()).unwrap()));
    }
    text
}

fn scripts() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("tests/conversations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the conversation scripts are missing");
    files
}

#[tokio::test]
async fn session_cleanup_empties_abandoned_sessions_on_memory_and_sqlite() {
    abandoned_sessions_lose_what_they_held(KvKind::Memory, SqlBackend::Sqlite).await;
}

#[tokio::test]
async fn session_cleanup_empties_abandoned_sessions_on_redis_and_postgres() {
    abandoned_sessions_lose_what_they_held(KvKind::Redis, SqlBackend::Postgres).await;
}

/// A transfer left at its one-time code: the session cleanup drops the draft (amount,
/// recipient) and the code, keeps where the customer stood so they are told it stopped, leaves
/// a session that is not abandoned yet alone, and prunes the index entry of one that ended.
async fn abandoned_sessions_lose_what_they_held(kv_kind: KvKind, sql: SqlBackend) {
    use teller::conversation::{SESSION_INDEX, Sweep};
    let db = TestDb::new(sql).await;
    let kv = kv(kv_kind);
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(start()));
    let (host, bank) = banking(kv.clone(), store.clone(), clock.clone()).await;
    customer(&bank, "2348031234521", "Tunde Bakare", "4821", Some("50,000")).await;
    customer(&bank, "2348031234599", "Ada Lovelace", "1357", Some("1,000")).await;
    let t0 = start();
    let say = |phone: &'static str, n: usize, event: Event, at: DateTime<Utc>| {
        let host = &host;
        async move {
            let replies = host
                .converse(&format!("wa:{phone}"), phone, &format!("wamid.s{n}"), event, at)
                .await
                .unwrap();
            replies.iter().map(|m| readable(&m.to_body())).collect::<Vec<_>>()
        }
    };
    let text = |t: &str| Event::Text(t.to_owned());
    let tap = |id: &str| Event::Choice { id: id.to_owned(), title: String::new() };
    let tunde = "2348031234521";
    say(tunde, 1, text("send money"), t0).await;
    say(tunde, 2, tap("customer"), t0).await;
    say(tunde, 3, text("0803 123 4599"), t0).await;
    say(tunde, 4, text("5000"), t0).await;
    say(tunde, 5, tap("confirm"), t0).await;
    let replies = say(tunde, 6, text("4821"), t0).await;
    assert!(replies.iter().any(|r| r.contains("6-digit code")), "{replies:#?}");
    let id = bank.customer(&format!("wa:{tunde}")).await.unwrap().unwrap().id;
    assert!(kv.get(&format!("bank:code:{id}")).await.unwrap().is_some());
    // Ada checks her balance: a flow that ends.
    say("2348031234599", 7, text("menu"), t0).await;
    say("2348031234599", 8, tap("balance"), t0).await;
    // Someone new starts registering ten minutes later.
    say("2348039990001", 9, text("hi"), t0 + Duration::minutes(10)).await;

    let never = || false;
    let first = host.sweep(t0 + Duration::minutes(20), &never).await.unwrap();
    assert_eq!(first, Sweep { abandoned: 1, pruned: 0, rescheduled: 0 });
    let record = host.record(&format!("wa:{tunde}")).await.unwrap().unwrap();
    assert!(record.session.vars.is_empty() && record.previous.is_none(), "the draft is gone: {record:?}");
    assert!(record.session.is_active(), "where they stood is kept");
    assert_eq!(kv.get(&format!("bank:code:{id}")).await.unwrap(), None, "the code is gone");
    assert!(host.record("wa:2348039990001").await.unwrap().unwrap().session.is_active(), "not abandoned yet");

    let later = host.sweep(t0 + Duration::hours(3), &never).await.unwrap();
    assert_eq!(
        later,
        Sweep { abandoned: 1, pruned: 1, rescheduled: 0 },
        "the registration; Ada's ended session"
    );
    assert!(kv.index_due(SESSION_INDEX, i64::MAX, 10).await.unwrap().is_empty(), "the index is empty");
    assert_eq!(host.sweep(t0 + Duration::hours(4), &never).await.unwrap(), Sweep::default());

    // Tunde comes back: told the transfer stopped; nothing was sent.
    let replies = say(tunde, 10, text("hi"), t0 + Duration::hours(3)).await;
    assert!(replies.iter().any(|r| r.contains("I stopped what you were doing")), "{replies:#?}");
    assert_eq!(bank.balance(&format!("wa:{tunde}")).await.unwrap().unwrap().0.available, 5_000_000);
}

/// The host says which messages answered a PIN or code question, so the dispatcher does not
/// keep them: the PIN, a wrong PIN and the code; not the amount, nor "menu".
#[tokio::test]
async fn answers_to_pin_and_code_questions_are_marked_secret() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let kv = kv(KvKind::Memory);
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(start()));
    let (host, bank) = banking(kv.clone(), store.clone(), clock).await;
    let tunde = "2348031234521";
    customer(&bank, tunde, "Tunde Bakare", "4821", Some("50,000")).await;
    customer(&bank, "2348031234599", "Ada Lovelace", "1357", None).await;
    let key = format!("wa:{tunde}");
    let text = |t: &str| Event::Text(t.to_owned());
    let tap = |id: &str| Event::Choice { id: id.to_owned(), title: String::new() };
    let mut secrets = Vec::new();
    for (n, event) in [
        text("send money"),
        tap("customer"),
        text("0803 123 4599"),
        text("5000"),
        tap("confirm"),
        text("1111"),
        text("4821"),
    ]
    .into_iter()
    .enumerate()
    {
        let said = format!("{event:?}");
        let handled = host.answer(&key, tunde, &format!("wamid.m{n}"), event, start()).await.unwrap();
        secrets.push((said, handled.secret));
    }
    let code = notices(&store, &key).await.last().unwrap()[..6].to_owned();
    let handled = host.answer(&key, tunde, "wamid.code", text(&code), start()).await.unwrap();
    assert!(handled.secret, "the code");
    let marked: Vec<bool> = secrets.iter().map(|(_, secret)| *secret).collect();
    assert_eq!(marked, [false, false, false, false, false, true, true], "{secrets:#?}");
}

/// What `handled` says, all replies joined.
fn said(handled: &teller::dispatch::Handled) -> String {
    handled.replies.iter().map(|m| readable(&m.to_body())).collect::<Vec<_>>().join("\n")
}

const REMINDER: &str = "never send your PIN in this chat unless I ask for it";

/// A PIN typed when the bot did not ask for it (at the menu, at a confirmation, after the
/// session expired, as an amount) is not kept, like a PIN answer; the customer is reminded
/// once a day where digits were not expected. The reminder, and everything else the customer
/// sees, is the same whether or not the digits were the PIN, so a thief learns nothing.
#[tokio::test]
async fn a_pin_typed_when_not_asked_is_not_kept_and_the_reply_does_not_tell_if_it_was_the_pin() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let kv = kv(KvKind::Memory);
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(start()));
    let (host, bank) = banking(kv.clone(), store.clone(), clock).await;
    let (tunde, ada) = ("2348031234521", "2348031234599");
    customer(&bank, tunde, "Tunde Bakare", "4821", Some("50,000")).await;
    customer(&bank, ada, "Ada Lovelace", "1357", Some("50,000")).await;
    let text = |t: &str| Event::Text(t.to_owned());
    let tap = |id: &str| Event::Choice { id: id.to_owned(), title: String::new() };
    let mut n = 0;
    let mut say = async |phone: &str, event: Event, at: DateTime<Utc>| {
        n += 1;
        host.answer(&format!("wa:{phone}"), phone, &format!("wamid.slip{n}"), event, at).await.unwrap()
    };

    // At the menu: Tunde types his PIN, Ada types digits that are not hers. The same answer.
    say(tunde, text("hi"), start()).await;
    say(ada, text("hi"), start()).await;
    let his = say(tunde, text("4821"), start()).await;
    let hers = say(ada, text("4821"), start()).await;
    assert!(his.secret, "his PIN is not kept");
    assert!(!hers.secret, "digits that are not her PIN are kept as any message");
    assert!(said(&his).contains(REMINDER), "{}", said(&his));
    assert_eq!(said(&his), said(&hers), "the reply never tells whether the digits were the PIN");

    // At a confirmation: not kept, and no second reminder the same day.
    for event in [text("send money"), tap("customer"), text("0803 123 4599"), text("5000")] {
        say(tunde, event, start()).await;
    }
    let at_confirm = say(tunde, text("4821"), start()).await;
    assert!(at_confirm.secret);
    assert!(!said(&at_confirm).contains(REMINDER), "once a day: {}", said(&at_confirm));
    assert!(
        said(&at_confirm).contains("Send ₦5,000.00 to Ada L."),
        "the question again: {}",
        said(&at_confirm)
    );

    // Two days later, the session long expired: not kept, and reminded again.
    let later = start() + Duration::days(2);
    let expired = say(tunde, text("4821"), later).await;
    assert!(expired.secret);
    assert!(said(&expired).contains(REMINDER), "{}", said(&expired));

    // Typed where an amount is asked: not kept either, with no reminder (digits were asked for).
    for event in [text("send money"), tap("customer"), text("0803 123 4599")] {
        say(tunde, event, later).await;
    }
    let as_amount = say(tunde, text("4821"), later).await;
    assert!(as_amount.secret);
    assert!(!said(&as_amount).contains(REMINDER));
    assert!(said(&as_amount).contains("Send ₦4,821.00"), "still read as the amount: {}", said(&as_amount));
}

/// The answer to the identity-number question is not kept in the inbox (the bank keeps the
/// number in its own table), and is not taken by voice.
#[tokio::test]
async fn an_identity_number_answer_is_marked_secret() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let kv = kv(KvKind::Memory);
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(start()));
    let (host, _bank) = banking(kv.clone(), store.clone(), clock).await;
    let (key, phone) = ("wa:2348055550102", "2348055550102");
    let mut marked = Vec::new();
    for (n, answer) in
        ["hi", "open", "Ada", "Obi", "17/05/1990", "1234", "222 1234 5678", "4821"].into_iter().enumerate()
    {
        let handled = host
            .answer(key, phone, &format!("wamid.id{n}"), Event::Text(answer.to_owned()), start())
            .await
            .unwrap();
        marked.push((answer, handled.secret));
    }
    assert_eq!(
        marked.iter().map(|(_, secret)| *secret).collect::<Vec<_>>(),
        [false, false, false, false, false, true, true, true],
        "a wrong and a right identity number, then the PIN: {marked:?}"
    );
    let record = host.record(key).await.unwrap().unwrap();
    assert_eq!(record.session.step, "pin_again", "the identity number was taken");
    // The session holds it for the registration's end: sealed in the KV, open in memory.
    assert_eq!(record.session.vars.get("id_number").map(String::as_str), Some("22212345678"));
    let kept = kv.get(&format!("session:{key}")).await.unwrap().unwrap();
    let kept = String::from_utf8_lossy(&kept);
    assert!(!kept.contains("22212345678") && !kept.contains("1234567"), "kept in clear: {kept}");
    assert!(kept.contains("\"private\":[\"id_number\"]"), "{kept}");
}

#[tokio::test]
async fn scripted_conversations_pass_on_memory_and_sqlite() {
    for script in scripts() {
        run_script(&script, KvKind::Memory, SqlBackend::Sqlite).await;
    }
}

#[tokio::test]
async fn scripted_conversations_pass_on_redis_and_postgres() {
    for script in scripts() {
        run_script(&script, KvKind::Redis, SqlBackend::Postgres).await;
    }
}

crate::harness::on_both_kv_adapters!(
    a_message_handled_twice_gives_the_same_replies_from_the_same_start,
    a_session_finishes_on_its_version_after_changed_flows_are_published,
    the_language_a_customer_chose_outlives_their_session,
);

async fn a_message_handled_twice_gives_the_same_replies_from_the_same_start(kind: KvKind) {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let host = conversations(kv(kind), db.store().await, &repo("flows")).await;
    let (key, phone) = ("wa:2348000000001", "2348000000001");
    host.converse(key, phone, "wamid.1", Event::Text("hi".into()), start()).await.unwrap();
    let first = host.converse(key, phone, "wamid.2", Event::Text("2".into()), start()).await.unwrap();
    let after_first = host.record(key).await.unwrap().unwrap().session;
    // The dispatcher lost its lease after the session was kept: the message comes again.
    let again = host.converse(key, phone, "wamid.2", Event::Text("2".into()), start()).await.unwrap();
    let bodies =
        |m: &[teller::whatsapp::outbound::Outbound]| m.iter().map(|o| o.to_body()).collect::<Vec<_>>();
    assert_eq!(bodies(&first), bodies(&again));
    assert_eq!(host.record(key).await.unwrap().unwrap().session, after_first);
}

async fn a_session_finishes_on_its_version_after_changed_flows_are_published(kind: KvKind) {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let store = db.store().await;
    let kv = kv(kind);
    let (key, phone) = ("wa:2348000000002", "2348000000002");
    let old = conversations(kv.clone(), store.clone(), &repo("flows")).await;
    old.converse(key, phone, "wamid.1", Event::Text("language".into()), start()).await.unwrap();
    let pinned = old.current().version.clone();
    drop(old);

    // Restart with a reworded language flow: a new version.
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in teller::flows::read_dir(&repo("flows")).unwrap() {
        let text = text.replace("Done ✅ I will speak English from now on.", "All set ✅ English it is.");
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let new = conversations(kv.clone(), store.clone(), dir.path()).await;
    // The change in flows/ is a draft for a publisher, not a silent overwrite.
    assert_eq!(new.current().version, pinned);
    let lifecycle = teller::releases::Releases::new(store.as_ref(), new.catalogue());
    let drafts = lifecycle.drafts(false).await.unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].created_by, teller::releases::SYSTEM_FILES);
    lifecycle.publish(drafts[0].id, drafts[0].revision, "admin:1", start()).await.unwrap();
    assert!(new.serve_newest().await.unwrap());
    assert_ne!(new.current().version, pinned);
    let later = start() + Duration::minutes(1);
    let tap = Event::Choice { id: "en".into(), title: "English".into() };
    let replies = new.converse(key, phone, "wamid.2", tap, later).await.unwrap();
    assert!(readable(&replies[0].to_body()).starts_with("Done ✅"), "finished on the version it began");
    let replies = new.converse(key, phone, "wamid.3", Event::Text("language".into()), later).await.unwrap();
    assert_eq!(new.record(key).await.unwrap().unwrap().session.version, new.current().version);
    let replies2 = new.converse(key, phone, "wamid.4", Event::Text("1".into()), later).await.unwrap();
    assert!(readable(&replies2[0].to_body()).starts_with("All set ✅"), "{replies:?} {replies2:?}");
}

async fn the_language_a_customer_chose_outlives_their_session(kind: KvKind) {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let store = db.store().await;
    let kv = kv(kind);
    let host = conversations(kv.clone(), store.clone(), &repo("flows")).await;
    let (key, phone) = ("wa:2348000000003", "2348000000003");
    host.converse(key, phone, "wamid.1", Event::Text("language".into()), start()).await.unwrap();
    host.converse(key, phone, "wamid.2", Event::Choice { id: "pcm".into(), title: String::new() }, start())
        .await
        .unwrap();
    assert_eq!(store.customer_language(key).await.unwrap().as_deref(), Some("pcm"));
    // The session is gone (expired from the KV); the language is not.
    kv.delete(&format!("{}{key}", teller::conversation::SESSION_PREFIX)).await.unwrap();
    let replies = host.converse(key, phone, "wamid.3", Event::Text("hello".into()), start()).await.unwrap();
    let texts: Vec<String> = replies.iter().map(|r| readable(&r.to_body())).collect();
    assert_eq!(texts[0], "How far 👋 Good to see you.", "the greeting returned, in Pidgin: {texts:?}");
    assert!(texts[1].starts_with("Wetin you wan do?"), "{texts:?}");
}
