//! Four eyes on money. A release that changes a flow that moves money (in the release before it
//! or in the draft: a harmless flow rewritten to move money counts) is published only after a
//! second admin approved the draft, at the very revision published, and never by the admin who
//! approved it. One person with the publisher role can therefore not divert money alone, and
//! an approval covers nothing edited after it (every edit raises the revision).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Files, LifecycleError, Releases, audit, open_draft};
use crate::flows::actions::Catalogue;
use crate::flows::graph::Bundle;
use crate::store::DraftRow;

/// The files of `draft` that change a flow moving money in `before` or in `draft` (added,
/// removed or edited), by name; `compiled` is what `draft` compiles to (`None`: it does not).
pub fn money_files(
    before: &Files,
    draft: &Files,
    compiled: Option<&Bundle>,
    catalogue: &Catalogue,
) -> Vec<String> {
    let (_, before_compiled) = crate::flows::compile(&super::as_paths(before), catalogue);
    let mut money = moving_money(before, before_compiled.as_ref(), catalogue);
    money.extend(moving_money(draft, compiled, catalogue));
    money.sort();
    money.dedup();
    money.retain(|file| before.get(file) != draft.get(file));
    money
}

/// The files among `files` that hold a flow moving money, as `compiled` says; when they do
/// not compile, any that names an action moving money.
fn moving_money(files: &Files, compiled: Option<&Bundle>, catalogue: &Catalogue) -> Vec<String> {
    match compiled {
        Some(bundle) => bundle
            .flows
            .values()
            .filter(|f| f.moves_money)
            .filter_map(|f| Some(f.file.file_name()?.to_string_lossy().into_owned()))
            .collect(),
        None => files
            .iter()
            .filter(|(_, text)| {
                catalogue
                    .specs()
                    .filter(|s| s.moves_money)
                    .any(|s| text.contains(&format!("action: {}", s.name)))
            })
            .map(|(name, _)| name.clone())
            .collect(),
    }
}

/// The approval `draft` still holds: by whom, if it covers its revision now.
pub fn standing(draft: &DraftRow) -> Option<&str> {
    (draft.approved_revision == Some(draft.revision)).then_some(draft.approved_by.as_deref()).flatten()
}

impl Releases<'_> {
    /// The money flows `files` (a draft's, compiled to `compiled`) change against the newest
    /// release, by file name.
    pub async fn money_changes(
        &self,
        files: &Files,
        compiled: Option<&Bundle>,
    ) -> Result<Vec<String>, LifecycleError> {
        let head = self.head().await?.ok_or(LifecycleError::NotFound("release"))?;
        Ok(money_files(&head.files, files, compiled, self.catalogue))
    }

    /// Records `by`'s approval of open draft `id` at `revision` (any draft may be approved;
    /// only those changing money flows need it), audited with the money flows it changes.
    pub async fn approve(
        &self,
        id: i64,
        revision: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        let mut tx = self.store.begin().await?;
        let head = tx.admin().lock_head().await?.ok_or(LifecycleError::NotFound("release"))?;
        let draft = open_draft(tx.as_mut(), id, revision).await?;
        let files = super::from_json(&draft.sources)?;
        let head_files = super::from_json(&tx.admin().flow_version(&head.version).await?.unwrap_or_default())
            .unwrap_or_default();
        let (_, compiled) = self.compile(&files);
        let money = money_files(&head_files, &files, compiled.as_ref(), self.catalogue);
        if !tx.admin().approve_draft(id, revision, by, now).await? {
            return Err(super::changed_meanwhile());
        }
        let detail = json!({ "draft": id, "revision": revision, "money_flows": money });
        tx.append_audit(&audit(by, "flow.approved", &format!("draft:{id}"), now, detail)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Whether `by` may publish `draft`, which changes the money flows `money`: refused unless
/// another admin approved it at this revision.
pub fn check(draft: &DraftRow, money: &[String], by: &str) -> Result<Option<String>, LifecycleError> {
    if money.is_empty() {
        return Ok(None);
    }
    match standing(draft) {
        Some(approver) if approver != by => Ok(Some(approver.to_owned())),
        Some(_) => Err(LifecycleError::NeedsApproval {
            message: "you approved this draft yourself: another publisher must publish it, or approve it"
                .into(),
            flows: money.to_vec(),
        }),
        None => Err(LifecycleError::NeedsApproval {
            message: format!(
                "this draft changes flows that move money ({}): a second publisher must approve it before it is published",
                money.join(", ")
            ),
            flows: money.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Files {
        super::super::from_paths(&crate::flows::baseline())
    }

    #[test]
    fn a_flow_that_moves_money_before_or_after_is_a_money_change() {
        let catalogue = crate::bank::actions::declared();
        let before = shipped();
        let money_files = |before: &Files, draft: &Files, catalogue: &Catalogue| {
            let (_, compiled) = crate::flows::compile(&super::super::as_paths(draft), catalogue);
            money_files(before, draft, compiled.as_ref(), catalogue)
        };
        let mut words = before.clone();
        if let Some(help) = words.get_mut("help.yaml") {
            help.push_str("\n# reviewed\n");
        }
        assert!(money_files(&before, &words, &catalogue).is_empty(), "help moves no money");
        let mut receipt = before.clone();
        if let Some(flow) = receipt.get_mut("send_to_bank.yaml") {
            *flow = flow.replace("No money was sent.", "Nothing was sent.");
        }
        assert_eq!(money_files(&before, &receipt, &catalogue), ["send_to_bank.yaml"]);
        // A flow that did not move money and now does (even one that does not compile).
        let mut rewritten = before.clone();
        if let Some(balance) = rewritten.get_mut("balance.yaml") {
            balance.push_str("  steal:\n    action: send_money\n");
        }
        assert_eq!(money_files(&before, &rewritten, &catalogue), ["balance.yaml"]);
        let mut removed = before.clone();
        removed.remove("loan_repay.yaml");
        assert_eq!(money_files(&before, &removed, &catalogue), ["loan_repay.yaml"]);
    }
}
