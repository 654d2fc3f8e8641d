//! Comparing sets of flow files: the three-way merge behind a rebase, unified diffs, and the
//! compiler's findings as JSON.

use serde_json::json;

use super::{Files, LifecycleError};
use crate::flows::{Report, Severity};

/// Three-way merge by whole file: see [`Releases::rebase`].
pub fn merge(base: &Files, draft: &Files, head: &Files) -> Result<Files, LifecycleError> {
    let names: std::collections::BTreeSet<&String> =
        base.keys().chain(draft.keys()).chain(head.keys()).collect();
    let mut merged = Files::new();
    let mut conflicts = Vec::new();
    for name in names {
        let (b, d, h) = (base.get(name), draft.get(name), head.get(name));
        let chosen = if d == b {
            h
        } else if h == b || d == h {
            d
        } else {
            conflicts.push(name.clone());
            continue;
        };
        if let Some(text) = chosen {
            merged.insert(name.clone(), text.clone());
        }
    }
    if conflicts.is_empty() {
        Ok(merged)
    } else {
        Err(LifecycleError::Conflict(format!(
            "changed both in this draft and in the published flows: {}. Start a new draft from the newest release and redo these changes",
            conflicts.join(", ")
        )))
    }
}

/// A unified diff per changed file, from `old` to `new`.
pub fn diff(old: &Files, new: &Files) -> Vec<serde_json::Value> {
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (a, b) = (old.get(name), new.get(name));
            if a == b {
                return None;
            }
            let status = match (a, b) {
                (None, _) => "added",
                (_, None) => "deleted",
                _ => "changed",
            };
            let (a, b) = (a.map_or("", String::as_str), b.map_or("", String::as_str));
            let unified = similar::TextDiff::from_lines(a, b)
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{name}"), &format!("b/{name}"))
                .to_string();
            Some(json!({ "file": name, "status": status, "diff": unified }))
        })
        .collect()
}

/// The compiler's findings as JSON: file, line, column, severity, message.
pub fn diagnostics(report: &Report) -> serde_json::Value {
    let items: Vec<serde_json::Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "file": d.file.display().to_string(),
                "line": d.line,
                "column": d.column,
                "severity": if d.severity == Severity::Error { "error" } else { "warning" },
                "message": d.message,
            })
        })
        .collect();
    serde_json::Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> Files {
        pairs.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect()
    }

    #[test]
    fn a_rebase_takes_each_sides_changes_and_refuses_a_file_changed_on_both() {
        let base = files(&[("a.yaml", "a0"), ("b.yaml", "b0"), ("c.yaml", "c0")]);
        let draft = files(&[("a.yaml", "a1"), ("b.yaml", "b0"), ("c.yaml", "c0"), ("new.yaml", "n")]);
        let head = files(&[("a.yaml", "a0"), ("b.yaml", "b2")]);
        let merged = merge(&base, &draft, &head).unwrap();
        assert_eq!(merged, files(&[("a.yaml", "a1"), ("b.yaml", "b2"), ("new.yaml", "n")]));

        let both = files(&[("a.yaml", "a2"), ("b.yaml", "b0"), ("c.yaml", "c0")]);
        let err = merge(&base, &draft, &both).unwrap_err();
        assert!(err.to_string().contains("a.yaml"), "{err}");
    }

    #[test]
    fn a_diff_names_each_changed_file_and_how() {
        let old = files(&[("a.yaml", "x: 1\n"), ("b.yaml", "y\n")]);
        let new = files(&[("a.yaml", "x: 2\n"), ("c.yaml", "z\n")]);
        let diff = diff(&old, &new);
        let statuses: Vec<(&str, &str)> =
            diff.iter().map(|d| (d["file"].as_str().unwrap(), d["status"].as_str().unwrap())).collect();
        assert_eq!(statuses, [("a.yaml", "changed"), ("b.yaml", "deleted"), ("c.yaml", "added")]);
        assert!(diff[0]["diff"].as_str().unwrap().contains("-x: 1\n+x: 2"));
    }
}
