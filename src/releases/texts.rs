//! Editing a draft's texts without YAML: the Texts view lists every customer-facing text of
//! the draft (flows and `phrases.yaml`), tries an edit (the compiler's findings it would bring,
//! its length against WhatsApp's limit, and the message previewed with made-up values), and
//! saves it as an edit of the file, through [`Releases::edit_file`]: the same revision check,
//! audit, compile checks and publish rules as any other edit.

use serde::Serialize;

use super::{Files, LifecycleError, Releases};
use crate::flows::template::{RenderContext, Template};
use crate::flows::texts::{self, EditError, TextEntry};
use crate::flows::{Diagnostic, Severity};
use crate::locale::{ANY_LANGUAGE, LANGUAGES};
use crate::whatsapp::outbound::utf16_len;

/// The most characters one text may have (WhatsApp's longest message).
pub const MAX_TEXT: usize = 4096;

/// What an edit would do, before it is saved.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// The text's length, as WhatsApp counts it.
    pub length: usize,
    /// The most WhatsApp takes where it shows.
    pub limit: usize,
    /// The message as a customer might read it, with made-up values.
    pub preview: String,
    /// What the compiler would say about the text that it does not say now.
    pub problems: Vec<String>,
}

/// One text to write: where, in which language, and what.
#[derive(Debug, Clone)]
pub struct TextEdit<'a> {
    /// The file.
    pub file: &'a str,
    /// Where in it (see [`crate::flows::texts`]).
    pub at: &'a str,
    /// The language (`en`, `pcm`…, or `any`).
    pub language: &'a str,
    /// The new text.
    pub text: &'a str,
}

impl Releases<'_> {
    /// Every text of draft `id`, with the draft's revision.
    pub async fn texts(&self, id: i64) -> Result<(i64, Vec<TextEntry>), LifecycleError> {
        let (draft, files) = self.draft(id).await?;
        Ok((draft.revision, texts::list(&files)))
    }

    /// What writing `edit` into draft `id` would do; nothing is saved.
    pub async fn try_text(
        &self,
        id: i64,
        edit: &TextEdit<'_>,
        context: RenderContext<'_>,
    ) -> Result<Trial, LifecycleError> {
        let (_, files) = self.draft(id).await?;
        let (edited, entry) = with_text(&files, edit)?;
        let before: Vec<String> = findings(&self.compile(&files).0.diagnostics, edit.file);
        let after = self.compile(&edited).0;
        let problems =
            findings(&after.diagnostics, edit.file).into_iter().filter(|m| !before.contains(m)).collect();
        let preview = match Template::parse(edit.text) {
            Ok(template) => template.sample(context),
            Err(_) => edit.text.to_owned(),
        };
        Ok(Trial { length: utf16_len(edit.text), limit: entry.limit, preview, problems })
    }

    /// Writes `edit` into open draft `id` at `revision`; returns the new revision and the
    /// draft's files after it.
    pub async fn edit_text(
        &self,
        id: i64,
        revision: i64,
        edit: &TextEdit<'_>,
        by: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(i64, Files), LifecycleError> {
        let (_, files) = self.draft(id).await?;
        let (edited, _) = with_text(&files, edit)?;
        let text = edited.get(edit.file).map(String::as_str);
        self.edit_file(id, revision, edit.file, text, by, now).await
    }
}

/// `files` with `edit` written in, and the text's entry.
fn with_text(files: &Files, edit: &TextEdit<'_>) -> Result<(Files, TextEntry), LifecycleError> {
    if !LANGUAGES.contains(&edit.language) && edit.language != ANY_LANGUAGE {
        return Err(LifecycleError::Invalid(format!(
            "{:?} is not a language teller speaks: use one of {}",
            edit.language,
            LANGUAGES.join(", ")
        )));
    }
    if edit.text.trim().is_empty() {
        return Err(LifecycleError::Invalid("a text cannot be empty".into()));
    }
    if utf16_len(edit.text) > MAX_TEXT {
        return Err(LifecycleError::Invalid(format!("a text is at most {MAX_TEXT} characters")));
    }
    let source = files.get(edit.file).ok_or(LifecycleError::NotFound("file"))?;
    let entry = texts::list(&Files::from([(edit.file.to_owned(), source.clone())]))
        .into_iter()
        .find(|e| e.at == edit.at)
        .ok_or(LifecycleError::NotFound("text"))?;
    let written = texts::replace(source, edit.at, edit.language, edit.text).map_err(|e| match e {
        EditError::NotFound(_) => LifecycleError::NotFound("text"),
        EditError::Unsupported(_) => LifecycleError::Invalid(e.to_string()),
    })?;
    let mut edited = files.clone();
    edited.insert(edit.file.to_owned(), written);
    Ok((edited, entry))
}

/// The compiler's errors about `file`, by message (lines move as a text changes shape).
fn findings(diagnostics: &[Diagnostic], file: &str) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.file.to_string_lossy() == file)
        .map(|d| d.message.clone())
        .collect()
}
