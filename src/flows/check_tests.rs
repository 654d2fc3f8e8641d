use std::path::PathBuf;

use super::*;

/// The shipped catalogue's declarations (tests only: the compiler itself never names the bank).
fn check_sources(files: &[(PathBuf, String)]) -> Report {
    check_sources_with(files, &crate::bank::actions::declared())
}

fn check(name: &str, yaml: &str) -> Vec<String> {
    let report = check_sources(&[(PathBuf::from(format!("{name}.yaml")), yaml.to_owned())]);
    report.diagnostics.iter().map(ToString::to_string).collect()
}

#[test]
fn a_short_choice_with_a_long_title_is_a_list_and_says_so() {
    let yaml = "flow: f\nstart: pick\nsteps:\n  pick:\n    ask: choice\n    prompt: {en: Pick, pcm: Pick, yo: Pick, ha: Pick, ig: Pick}\n    options:\n      - id: a\n        title: {en: Twenty-one characters, pcm: A, yo: A, ha: A, ig: A}\n      - id: b\n        title: {en: B, pcm: B, yo: B, ha: B, ig: B}\n    next: done\n  done:\n    say: {any: OK}\n    end: true\n";
    let found = check("f", yaml);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("f.yaml:9:21: warning: option title is over 20 characters in `en`"),
        "{found:?}"
    );
}

#[test]
fn a_text_in_any_language_needs_no_translation_but_cannot_mix() {
    let ok = "flow: f\nstart: s\nsteps:\n  s:\n    say: {any: \"₦5,000.00\"}\n    end: true\n";
    assert!(check("f", ok).is_empty());
    let mixed = "flow: f\nstart: s\nsteps:\n  s:\n    say: {any: A, en: B}\n    end: true\n";
    assert!(check("f", mixed)[0].contains("a message in `any` has no other languages"));
    let unknown = "flow: f\nstart: s\nsteps:\n  s:\n    say: {en: A, pcm: B, yo: B, ha: B, ig: B, fr: C}\n    end: true\n";
    assert!(
        check("f", unknown)[0].starts_with("f.yaml:5:47: error: unknown language `fr`"),
        "{:?}",
        check("f", unknown)
    );
}

/// Each of the five languages is required: a text without one is an error at its line that
/// names the language missing.
#[test]
fn a_text_missing_one_of_the_five_languages_is_an_error_at_its_line() {
    let all = [("en", "Hello"), ("pcm", "How far"), ("yo", "Ẹ n lẹ́"), ("ha", "Sannu"), ("ig", "Ndewo")];
    assert!(check("f", &greeting(&all)).is_empty(), "{:?}", check("f", &greeting(&all)));
    for (left_out, _) in all {
        let some: Vec<(&str, &str)> = all.iter().copied().filter(|(l, _)| *l != left_out).collect();
        let found = check("f", &greeting(&some));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("f.yaml:6:"), "the line of the text: {found:?}");
        assert!(found[0].ends_with(&format!("error: message has no translation in {left_out}")), "{found:?}");
    }
}

/// A flow whose one message says `texts`, each on its own line from line 6.
fn greeting(texts: &[(&str, &str)]) -> String {
    let lines: String = texts.iter().map(|(l, t)| format!("      {l}: \"{t}\"\n")).collect();
    format!("flow: f\nstart: s\nsteps:\n  s:\n    say:\n{lines}    end: true\n")
}

#[test]
fn limits_are_checked_in_every_language() {
    let long = "x".repeat(1025);
    let yaml = format!(
        "flow: f\nstart: q\nsteps:\n  q:\n    ask: yes_no\n    prompt: {{en: Sure?, pcm: \"{long}\", yo: \"{long}\", ha: \"{long}\", ig: \"{long}\"}}\n    next: d\n  d:\n    say: {{any: OK}}\n    end: true\n"
    );
    let found = check("f", &yaml);
    assert!(
        found.iter().any(|d| d.contains("question in `pcm` is 1025 characters; WhatsApp allows 1024")),
        "{found:?}"
    );
}

#[test]
fn flow_targets_must_exist_and_suggest_the_near_miss() {
    let yaml = "flow: f\nstart: s\nsteps:\n  s:\n    go: flow:main_mneu\n";
    let report = check_sources(&[
        (PathBuf::from("f.yaml"), yaml.to_owned()),
        (
            PathBuf::from("main_menu.yaml"),
            "flow: main_menu\nstart: s\nsteps:\n  s:\n    say: {any: M}\n    end: true\n".to_owned(),
        ),
    ]);
    let found: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(found, ["f.yaml:5:9: error: no flow `main_mneu`; did you mean `main_menu`?"]);
}

#[test]
fn two_flows_cannot_claim_one_trigger() {
    let a = "flow: a\ntriggers: {en: [balance]}\nstart: s\nsteps:\n  s:\n    say: {any: A}\n    end: true\n";
    let b = "flow: b\ntriggers: {en: [Balance]}\nstart: s\nsteps:\n  s:\n    say: {any: B}\n    end: true\n";
    let report =
        check_sources(&[(PathBuf::from("a.yaml"), a.to_owned()), (PathBuf::from("b.yaml"), b.to_owned())]);
    let found: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(found, ["b.yaml:2:17: error: trigger `balance` is already claimed by flow `a`"]);
}

#[test]
fn fields_of_another_kind_of_step_are_refused() {
    let yaml = "flow: f\nstart: s\nsteps:\n  s:\n    say: {any: A}\n    options: []\n    end: true\n";
    let found = check("f", yaml);
    assert!(found.iter().any(|d| d.contains("`options` belongs to questions")), "{found:?}");
}

#[test]
fn edit_distance_counts_single_edits() {
    assert_eq!(edit_distance("confrm", "confirm"), 1);
    assert_eq!(edit_distance("abc", "abc"), 0);
    assert_eq!(edit_distance("", "ab"), 2);
}

#[test]
fn a_branch_may_test_an_action_output_that_a_step_sets() {
    let flow = |var: &str| {
        format!(
            "flow: f\nstart: a\nsteps:\n  a:\n    action: balance\n    save: b\n    on:\n      ok: br\n      not_registered: done\n  br:\n    branch:\n      - if: {{ var: {var}, equals: \"0\" }}\n        go: done\n      - else: done\n  done:\n    say: {{any: OK}}\n    end: true\n"
        )
    };
    assert_eq!(check("f", &flow("b.available")), Vec::<String>::new());
    let typo = check("f", &flow("b.availble"));
    assert!(
        typo.iter().any(|d| d.contains("tests `b.availble`, which no step of this flow sets")),
        "{typo:?}"
    );
    let malformed = check("f", &flow("b.Available"));
    assert!(malformed.iter().any(|d| d.contains("a variable name is lowercase letters")), "{malformed:?}");
}

#[test]
fn one_mistake_is_one_error() {
    // A mistyped step name: the steps behind it are not reported unreachable too.
    let steps = "  a:\n    say: {any: A}\n    next: {target}\n  bee:\n    say: {any: B}\n    next: c\n  c:\n    say: {any: C}\n    end: true\n";
    let near = format!("flow: f\nstart: a\nsteps:\n{}", steps.replace("{target}", "be"));
    assert_eq!(check("f", &near), ["f.yaml:6:11: error: no step `be` in this flow; did you mean `bee`?"]);
    let far = format!("flow: f\nstart: a\nsteps:\n{}", steps.replace("{target}", "somewhere_else"));
    assert_eq!(check("f", &far), ["f.yaml:6:11: error: no step `somewhere_else` in this flow"]);

    // A stray quote: one error, in plain words with its line, and none in the flows naming it.
    let broken = "flow: b\nstart: s\nsteps:\n  s:\n    say: {any: \"Say \"hi\" now\"}\n    end: true\n";
    let caller = "flow: a\nstart: s\nsteps:\n  s:\n    go: flow:b\n";
    let report = check_sources(&[
        (PathBuf::from("a.yaml"), caller.to_owned()),
        (PathBuf::from("b.yaml"), broken.to_owned()),
    ]);
    let found: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("b.yaml:5:"), "{found:?}");
    assert!(found[0].contains("a text in double quotes ends before its line does"), "{found:?}");
}

#[test]
fn an_account_is_filled_into_an_account_number_question_or_one_written_as_an_id_number() {
    let flow = |ask: &str| {
        format!(
            "flow: f\nstart: a\nsteps:\n  a:\n    ask: {ask}\n    prompt: {{any: Account?}}\n    save: account\n    fill: account\n    next: done\n  done:\n    say: {{any: OK}}\n    end: true\n"
        )
    };
    assert!(check("f", &flow("account_number")).is_empty(), "no pattern needed: 10 digits");
    assert!(check("f", &flow("account_number\n    pattern: \"[0-9]{10}\"")).is_empty());
    assert!(check("f", &flow("id_number\n    pattern: \"[0-9]{10}\"")).is_empty(), "flows written before");
    let found = check("f", &flow("text"));
    assert_eq!(found, ["f.yaml:8:11: error: `account` answers `ask: account_number` questions, not `text`"]);
}

#[test]
fn an_options_other_words_are_checked_like_its_title() {
    let flow = |also: &str| {
        format!(
            "flow: f\nstart: pick\nsteps:\n  pick:\n    ask: choice\n    prompt: {{any: Right?}}\n    save: right\n    options:\n      - id: yes\n        title: {{any: \"Yes\"}}\n        also: {also}\n      - id: other\n        title: {{any: Other}}\n    next: done\n  done:\n    say: {{any: OK}}\n    end: true\n"
        )
    };
    assert!(check("f", &flow("{any: \"MTN|Glo\"}")).is_empty());
    let found = check("f", &flow("{any: \"{{nettwork}}\"}"));
    assert_eq!(
        found,
        ["f.yaml:11:21: error: option's other words shows `{{nettwork}}`, which no step of this flow sets"]
    );
    let found = check("f", &flow("{en: MTN}"));
    assert_eq!(found, ["f.yaml:11:15: error: option's other words has no translation in pcm, yo, ha, ig"]);
}
