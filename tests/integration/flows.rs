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
};

fn catalogue() -> Catalogue {
    Catalogue::declaring([&VERIFY_PIN, &PAY])
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_shipped_flows_compile_without_errors_or_warnings() {
    let report = check_dir(&repo("flows")).unwrap();
    assert!(report.files >= 3, "main menu, help and language at least");
    let found: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:#?}");
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
