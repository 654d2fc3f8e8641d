//! The layers, kept: imports point down (the README's "Layout" draws them).
//!
//! http/ (the only module that names the app state or axum) → use cases (conversation, bank,
//! releases, admin, worker, dispatch, outbox, nlu) → ports (store, kv, flows, whatsapp) → leaves
//! (money, phone, locale, clock, signature, hashing, config, metrics, shutdown). `app/` wires
//! and builds the app state; only `main` and `cli/` import it. The flow compiler reads the
//! action catalogue through its own trait and never names the bank.
//!
//! Read from the source text: code lines only, without comments and test code (files named
//! `*_tests.rs` or `tests.rs`, and everything after a file's `#[cfg(test)]`).

use std::path::{Path, PathBuf};

/// A rule: lines of files outside `allowed` must not contain any of `forbidden`.
struct Rule {
    what: &'static str,
    forbidden: &'static [&'static str],
    /// Path prefixes (under the repository) where the forbidden text is fine.
    allowed: &'static [&'static str],
    /// Path prefixes the rule looks at (all of `src/` when empty).
    applies_to: &'static [&'static str],
}

const LEAVES: &[&str] = &[
    "src/money.rs",
    "src/phone.rs",
    "src/locale.rs",
    "src/clock.rs",
    "src/signature.rs",
    "src/sealed.rs",
    "src/hashing.rs",
    "src/config/",
    "src/metrics.rs",
    "src/shutdown.rs",
];

const RULES: &[Rule] = &[
    Rule {
        what: "only http/ (and the command line) may use axum",
        forbidden: &["axum::", "use axum"],
        allowed: &["src/http/", "src/cli/", "src/main.rs"],
        applies_to: &[],
    },
    Rule {
        what: "only http/ names the app state (app/ builds it)",
        forbidden: &["AppState"],
        allowed: &["src/http/", "src/app/", "src/cli/", "src/main.rs"],
        applies_to: &[],
    },
    Rule {
        what: "only main and cli/ import app/",
        forbidden: &["crate::app::", "crate::app;", "crate::app}"],
        allowed: &["src/app/", "src/cli/", "src/main.rs"],
        applies_to: &[],
    },
    Rule {
        what: "use cases and ports do not import http/",
        forbidden: &["crate::http"],
        allowed: &["src/http/", "src/app/", "src/cli/", "src/main.rs"],
        applies_to: &[],
    },
    Rule {
        what: "flows/ does not import bank/ (the compiler reads the catalogue through its trait)",
        forbidden: &["crate::bank"],
        allowed: &[],
        applies_to: &["src/flows/"],
    },
    Rule {
        what: "ports do not import use cases",
        forbidden: &[
            "crate::conversation",
            "crate::releases",
            "crate::admin",
            "crate::worker",
            "crate::dispatch",
            "crate::outbox",
            "crate::nlu",
        ],
        allowed: &[],
        applies_to: &["src/store/", "src/kv/", "src/flows/", "src/whatsapp/"],
    },
    Rule {
        what: "a provider adapter implements the bank's ports (bank::rail, bank::funding) and names no use case",
        forbidden: &[
            "crate::bank::{",
            "crate::bank::Bank",
            "crate::bank::actions",
            "crate::conversation",
            "crate::releases",
            "crate::admin",
            "crate::worker",
            "crate::dispatch",
            "crate::outbox",
            "crate::nlu",
        ],
        allowed: &[],
        applies_to: &["src/bank/paystack/"],
    },
];

/// The code lines of `text` (1-based numbers): no comments, nothing from `#[cfg(test)]` on.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(n, line)| (n + 1, line))
        .collect()
}

/// Every breach of the rules in `files` (path under the repository, text).
fn breaches(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files {
        if path.ends_with("_tests.rs") || path.ends_with("/tests.rs") {
            continue;
        }
        for (n, line) in code_lines(text) {
            for rule in RULES {
                let applies =
                    rule.applies_to.is_empty() || rule.applies_to.iter().any(|p| path.starts_with(p));
                let allowed = rule.allowed.iter().any(|p| path.starts_with(p));
                if applies && !allowed && rule.forbidden.iter().any(|f| line.contains(f)) {
                    found.push(format!("{path}:{n}: {}: {}", rule.what, line.trim()));
                }
            }
            let leaf = |leaf: &&str| path == leaf || (leaf.ends_with('/') && path.starts_with(leaf));
            if LEAVES.iter().any(leaf) {
                let upward = line.match_indices("crate::").any(|(at, _)| {
                    let rest = &line[at + "crate::".len()..];
                    !LEAVES.iter().any(|leaf| {
                        let module =
                            leaf.trim_start_matches("src/").trim_end_matches(".rs").trim_end_matches('/');
                        rest.starts_with(module)
                    })
                });
                if upward {
                    found.push(format!("{path}:{n}: a leaf imports only other leaves: {}", line.trim()));
                }
            }
        }
    }
    found
}

fn rust_files(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn imports_point_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), root, &mut files);
    assert!(files.len() > 50, "the sources were not found: {}", files.len());
    let found = breaches(&files);
    assert!(found.is_empty(), "imports that point up (see README, Layout):\n{}", found.join("\n"));
}

/// The rules catch what they are for, and not comments or test code.
#[test]
fn the_layer_rules_catch_an_upward_import() {
    let file = |path: &str, text: &str| (path.to_owned(), text.to_owned());
    let files = [
        file("src/bank/transfer.rs", "//! Uses axum:: in a comment only.\nuse axum::Router;\n"),
        file("src/conversation/mod.rs", "fn f(s: &crate::http::AppState) {}\n"),
        file("src/flows/compile.rs", "use crate::bank::actions;\nuse crate::nlu::Intent;\n"),
        file("src/flows/engine_tests.rs", "use crate::bank::actions;\n"),
        file("src/worker/mod.rs", "fn f() {}\n#[cfg(test)]\nmod tests { use crate::app::App; }\n"),
        file("src/money.rs", "use crate::phone::mask;\nuse crate::bank::Bank;\n"),
        file("src/http/webhook.rs", "use axum::Router;\nuse crate::http::AppState;\n"),
    ];
    let found = breaches(&files);
    assert_eq!(
        found,
        [
            "src/bank/transfer.rs:2: only http/ (and the command line) may use axum: use axum::Router;",
            "src/conversation/mod.rs:1: only http/ names the app state (app/ builds it): fn f(s: &crate::http::AppState) {}",
            "src/conversation/mod.rs:1: use cases and ports do not import http/: fn f(s: &crate::http::AppState) {}",
            "src/flows/compile.rs:1: flows/ does not import bank/ (the compiler reads the catalogue through its trait): use crate::bank::actions;",
            "src/flows/compile.rs:2: ports do not import use cases: use crate::nlu::Intent;",
            "src/money.rs:2: a leaf imports only other leaves: use crate::bank::Bank;",
        ]
    );
}
