//! `teller flows check`: the shipped flows compile, and each broken flow in `tests/flows/broken/`
//! gets the error its first line expects, at the right line and column.

use std::path::{Path, PathBuf};
use std::process::Command;

use teller::flows::actions::{ActionSpec, Catalogue, ResultSpec};
use teller::flows::{check_dir, check_sources_with};

/// Declarations like the bank's, for flows that call actions; never run here.
static VERIFY_PIN: ActionSpec = ActionSpec {
    name: "verify_pin",
    description: "checks the customer's PIN",
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
    money_inputs: &[teller::flows::actions::MoneyInput { input: "amount", answers: &["amount"] }],
};

fn catalogue() -> Catalogue {
    Catalogue::declaring([&VERIFY_PIN, &PAY])
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_shipped_flows_compile_without_errors_or_warnings() {
    let report = check_dir(&repo("flows"), &teller::bank::actions::declared()).unwrap();
    assert!(report.files >= 3, "main menu, help and language at least");
    let found: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_pattern_nothing_checks_is_a_warning_at_its_line() {
    let text = "flow: pattern_not_read\nstart: how_much\nsteps:\n  how_much:\n    ask: amount\n    prompt: { en: \"How much?\", pcm: \"How much?\", yo: \"How much?\", ha: \"How much?\", ig: \"How much?\" }\n    pattern: \"[0-9]+\"\n    next: done\n  done:\n    say: { en: Done, pcm: E don do, yo: E don do, ha: E don do, ig: E don do }\n    end: true\n";
    let name = PathBuf::from("pattern_not_read.yaml");
    let report = check_sources_with(&[(name, text.to_owned())], &catalogue());
    let found: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(!report.has_errors(), "{found:#?}");
    assert!(
        found.iter().any(|d| d.starts_with("pattern_not_read.yaml:7:14: warning: a pattern applies to text, id_number and account_number questions, not `amount`")),
        "{found:#?}"
    );
}

#[test]
fn each_broken_flow_gets_its_expected_error_where_it_is() {
    let dir = repo("tests/flows/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 20);
    let mut misses = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).unwrap_or_else(|| {
            panic!("{} must start with `# expect: LINE:COL: error: message`", path.display())
        });
        let name = PathBuf::from(path.file_name().unwrap());
        let report = check_sources_with(&[(name.clone(), text.clone())], &catalogue());
        let found: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
        let want = format!("{}:{expected}", name.display());
        if !report.has_errors() || !found.iter().any(|d| d.starts_with(&want)) {
            misses.push(format!("expected {want:?}, found {found:#?}"));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn the_command_exits_0_on_good_flows_and_1_with_one_line_per_problem() {
    let teller = env!("CARGO_BIN_EXE_teller");
    let good = Command::new(teller).args(["flows", "check"]).arg(repo("flows")).output().unwrap();
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    assert!(good.stdout.is_empty());

    let bad = Command::new(teller).args(["flows", "check"]).arg(repo("tests/flows/broken")).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8(bad.stdout).unwrap();
    assert!(stdout.lines().count() >= 15, "{stdout}");
    for line in stdout.lines() {
        let mut parts = line.splitn(4, ':');
        let (file, row, col) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        assert!(
            file.ends_with(".yaml") && row.parse::<u32>().is_ok() && col.parse::<u32>().is_ok(),
            "{line}"
        );
    }
}

/// The shipped flows with `balance.yaml` replaced by `text`, compiled against the bank's actions.
fn with_balance(text: &str) -> Vec<String> {
    let mut files = teller::flows::read_dir(&repo("flows")).unwrap();
    let balance = files.iter_mut().find(|(p, _)| p.ends_with("balance.yaml")).unwrap();
    balance.1 = text.to_owned();
    let report = check_sources_with(&files, &teller::bank::actions::declared());
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == teller::flows::Severity::Error)
        .map(ToString::to_string)
        .collect()
}

/// One person who may publish rewrote `balance.yaml` to ask for the PIN and a code "for your
/// safety" and send ₦5,000 to a fixed number. A money action's amount and counterparty must
/// come from the customer's own answers or the bank's records: whatever the route (written in
/// the action, through a payee looked up for a written number, through a choice whose option
/// is the number), the compiler refuses it.
#[test]
fn a_flow_cannot_send_money_where_its_author_says() {
    let steal = |find: &str, send: &str| {
        format!(
            r#"flow: balance
intents: [balance]
start: pin
steps:
  pin:
    ask: pin
    prompt: {{ en: "For your safety, enter your PIN.", pcm: "For your safety, put your PIN.", yo: "For your safety, put your PIN.", ha: "For your safety, put your PIN.", ig: "For your safety, put your PIN." }}
    save: pin
    next: verify
  verify:
    action: verify_pin
    with: {{ pin: "{{{{pin}}}}" }}
    on: {{ ok: pick, other: bye }}
  pick:
    ask: choice
    prompt: {{ en: "Tap to see your balance", pcm: "Tap make you see your balance", yo: "Tap make you see your balance", ha: "Tap make you see your balance", ig: "Tap make you see your balance" }}
    save: choice
    options:
      - id: show
        title: {{ en: "Show", pcm: "Show", yo: "Show", ha: "Show", ig: "Show" }}
        go: amount
      - id: hide
        title: {{ en: "Hide", pcm: "Hide", yo: "Hide", ha: "Hide", ig: "Hide" }}
        go: amount
  amount:
    ask: amount
    prompt: {{ en: "Confirm your last deposit, e.g. 5000", pcm: "Confirm your last deposit, e.g. 5000", yo: "Confirm your last deposit, e.g. 5000", ha: "Confirm your last deposit, e.g. 5000", ig: "Confirm your last deposit, e.g. 5000" }}
    save: amount
    next: find
  find:
    action: find_payee
    with: {{ phone: "{find}" }}
    save: payee
    on: {{ ok: send, other: bye }}
  send:
    action: send_money
    with: {send}
    save: sent
    on: {{ ok: bye, other: bye }}
  bye:
    say: {{ en: "Done", pcm: "E don do", yo: "E don do", ha: "E don do", ig: "E don do" }}
    end: true
"#
        )
    };
    let cases = [
        (
            r#"{ amount: "500000", phone: "2348000000099" }"#,
            vec![
                "its `amount` must come from the customer's answer to a `amount` question or from the bank's records, but here it can come from text written in the flow",
            ],
        ),
        (
            r#"{ amount: "{{amount}}", phone: "{{payee.phone}}" }"#,
            vec![
                "its `phone` must come from the customer's answer to a `phone` question or from the bank's records, but here it can come from text written in the flow",
            ],
        ),
        (
            r#"{ amount: "{{amount}}", phone: "{{choice}}" }"#,
            vec![
                "its `phone` must come from the customer's answer to a `phone` question or from the bank's records, but here it can come from the answer to a `choice` question",
            ],
        ),
        (r#"{ amount: "{{amount}}00", phone: "{{payee.phone}}" }"#, vec!["its `amount` must come from"]),
    ];
    for (send, wanted) in cases {
        let errors = with_balance(&steal("2348000000099", send));
        for want in wanted {
            assert!(
                errors.iter().any(|e| e.contains("balance.yaml") && e.contains(want)),
                "{send}: {errors:#?}"
            );
        }
    }
    // The same flow, fed only by the customer's answers, compiles.
    let honest = steal("{{amount}}", r#"{ amount: "{{amount}}", phone: "{{payee.phone}}" }"#)
        .replace("action: find_payee\n    with: { phone: \"{{amount}}\" }", "action: find_payee\n    with: { phone: \"{{number}}\" }")
        .replace("  find:\n", "  number:\n    ask: phone\n    prompt: { en: \"Their number?\", pcm: \"Their number?\", yo: \"Their number?\", ha: \"Their number?\", ig: \"Their number?\" }\n    save: number\n    next: find_it\n  find_it:\n    go: find\n  find:\n");
    let errors = with_balance(&honest);
    assert!(!errors.iter().any(|e| e.contains("moves money")), "{errors:#?}");
}
