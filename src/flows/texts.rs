//! Every customer-facing text of a set of flow files, found where it is written, and one text
//! replaced (or a missing translation added) in its file's YAML without touching anything
//! else: the console's Texts view edits through here, so an admin never writes YAML escapes.
//!
//! A text is named by where it is: `steps.<step>.say`, `.prompt`, `.error`,
//! `steps.<step>.options.<option id>.title` or `.description`, and `phrases.<name>` in
//! `phrases.yaml` (the engine's own words).

use std::collections::BTreeMap;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoaderOptions, Node};
use serde::Serialize;

use super::phrasebook;
use crate::whatsapp::outbound::{
    BUTTON_TITLE_MAX, BUTTONS_MAX, INTERACTIVE_BODY_MAX, ROW_DESCRIPTION_MAX, ROW_TITLE_MAX, TEXT_BODY_MAX,
};

/// The file that holds the engine's own words.
pub const PHRASES_FILE: &str = "phrases.yaml";

/// One text, in every language it is written in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextEntry {
    /// Its file.
    pub file: String,
    /// Where in the file (see the module's documentation).
    pub at: String,
    /// The step (or the phrase's name).
    pub step: String,
    /// What the customer sees it as: `message`, `question`, `refusal`, `button`, `list row`,
    /// `row description` or `phrase`.
    pub shown_as: &'static str,
    /// The most characters WhatsApp takes there.
    pub limit: usize,
    /// Its line.
    pub line: usize,
    /// By language, as written.
    pub texts: BTreeMap<String, String>,
}

/// Every text of `files` (name → YAML), file by file in the order written.
pub fn list(files: &BTreeMap<String, String>) -> Vec<TextEntry> {
    let mut entries = Vec::new();
    for (file, source) in files {
        let Some(root) = load(source) else { continue };
        let Some(root) = root.as_mapping() else { continue };
        if file == PHRASES_FILE {
            phrases_of(file, root, &mut entries);
            continue;
        }
        let Some(steps) = root.get_mapping("steps") else { continue };
        for (name, step) in steps.iter() {
            let Some(step) = step.as_mapping() else { continue };
            step_texts(file, name.as_str(), step, &mut entries);
        }
    }
    entries
}

fn load(source: &str) -> Option<Node> {
    marked_yaml::parse_yaml_with_options(0, source, LoaderOptions::default()).ok()
}

fn step_texts(file: &str, name: &str, step: &MarkedMappingNode, out: &mut Vec<TextEntry>) {
    let ask = step.get_scalar("ask").map(MarkedScalarNode::as_str);
    let interactive = matches!(ask, Some("choice" | "yes_no" | "pin" | "otp"));
    let fields = [
        ("say", "message", TEXT_BODY_MAX),
        ("prompt", "question", if interactive { INTERACTIVE_BODY_MAX } else { TEXT_BODY_MAX }),
        ("error", "refusal", TEXT_BODY_MAX),
    ];
    for (field, shown_as, limit) in fields {
        if let Some(text) = step.get_mapping(field) {
            out.push(entry(file, format!("steps.{name}.{field}"), name, shown_as, limit, text));
        }
    }
    let Some(options) = step.get_sequence("options") else { return };
    let buttons = options.len() <= BUTTONS_MAX;
    for option in options.iter().filter_map(Node::as_mapping) {
        let Some(id) = option.get_scalar("id").map(MarkedScalarNode::as_str) else { continue };
        if let Some(title) = option.get_mapping("title") {
            let (shown_as, limit) =
                if buttons { ("button", BUTTON_TITLE_MAX) } else { ("list row", ROW_TITLE_MAX) };
            out.push(entry(file, format!("steps.{name}.options.{id}.title"), name, shown_as, limit, title));
        }
        if let Some(description) = option.get_mapping("description") {
            let at = format!("steps.{name}.options.{id}.description");
            out.push(entry(file, at, name, "row description", ROW_DESCRIPTION_MAX, description));
        }
    }
}

fn phrases_of(file: &str, root: &MarkedMappingNode, out: &mut Vec<TextEntry>) {
    for section in ["phrases", "refusals"] {
        let Some(map) = root.get_mapping(section) else { continue };
        for (name, text) in map.iter() {
            let Some(text) = text.as_mapping() else { continue };
            let (shown_as, limit) = phrasebook::shown_as(section, name.as_str());
            out.push(entry(
                file,
                format!("{section}.{}", name.as_str()),
                name.as_str(),
                shown_as,
                limit,
                text,
            ));
        }
    }
}

fn entry(
    file: &str,
    at: String,
    step: &str,
    shown_as: &'static str,
    limit: usize,
    text: &MarkedMappingNode,
) -> TextEntry {
    let line = text.span().start().map_or(0, |m| m.line());
    let texts = text
        .iter()
        .filter_map(|(language, value)| {
            Some((language.as_str().to_owned(), value.as_scalar()?.as_str().to_owned()))
        })
        .collect();
    TextEntry { file: file.to_owned(), at, step: step.to_owned(), shown_as, limit, line, texts }
}

/// Why a text could not be written into its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No text is there (the draft changed, or the path is wrong).
    #[error("there is no text at {0} in this file")]
    NotFound(String),
    /// The file is written in a way this view does not edit; the file view does.
    #[error("{0}: edit this one in the file view")]
    Unsupported(String),
}

/// `source` with the text at `at` in `language` replaced by `text` (or added, when that
/// language is missing), written as a double-quoted YAML string. Nothing else changes.
pub fn replace(source: &str, at: &str, language: &str, text: &str) -> Result<String, EditError> {
    let root = load(source).ok_or_else(|| EditError::Unsupported("the file is not valid YAML".into()))?;
    let mapping = locate(&root, at).ok_or_else(|| EditError::NotFound(at.to_owned()))?;
    let quoted = quote(text);
    // `{ en: …, pcm: … }`: a plain value there ends at the next `,` or `}`.
    let flow_style =
        mapping.span().start().is_some_and(|m| source[byte_at(source, m.character())..].starts_with('{'));
    let edited = match mapping.iter().find(|(k, _)| k.as_str() == language) {
        Some((key, value)) => {
            value.as_scalar().ok_or_else(|| EditError::Unsupported(at.to_owned()))?;
            let (start, key_column) =
                value_start(source, key).ok_or_else(|| EditError::Unsupported(at.to_owned()))?;
            let end = if flow_style {
                flow_scalar_end(source, start)
            } else {
                scalar_end(source, start, key_column)
            };
            format!("{}{quoted}{}", &source[..start], &source[end..])
        }
        None => {
            let (key, value) =
                mapping.iter().next_back().ok_or_else(|| EditError::Unsupported(at.to_owned()))?;
            value.as_scalar().ok_or_else(|| EditError::Unsupported(at.to_owned()))?;
            let key_start = key.span().start().ok_or_else(|| EditError::Unsupported(at.to_owned()))?;
            let key_byte = byte_at(source, key_start.character());
            if flow_style || line_start(source, key_byte) + key_start.column() - 1 != key_byte {
                return Err(EditError::Unsupported(at.to_owned())); // e.g. `{en: …, pcm: …}`
            }
            let (start, _) = value_start(source, key).ok_or_else(|| EditError::Unsupported(at.to_owned()))?;
            let end = scalar_end(source, start, key_start.column());
            let indent = " ".repeat(key_start.column() - 1);
            format!("{}\n{indent}{language}: {quoted}{}", &source[..end], &source[end..])
        }
    };
    // Whatever was written must read back as exactly the text.
    let back = load(&edited).and_then(|root| {
        let mapping = locate(&root, at)?;
        Some(mapping.get_scalar(language)?.as_str().to_owned())
    });
    if back.as_deref() != Some(text) {
        return Err(EditError::Unsupported(at.to_owned()));
    }
    Ok(edited)
}

/// The text mapping at `at`.
fn locate<'n>(root: &'n Node, at: &str) -> Option<&'n MarkedMappingNode> {
    let root = root.as_mapping()?;
    let parts: Vec<&str> = at.split('.').collect();
    match parts.as_slice() {
        [section @ ("phrases" | "refusals"), name] => root.get_mapping(section)?.get_mapping(name),
        ["steps", step, field @ ("say" | "prompt" | "error")] => {
            root.get_mapping("steps")?.get_mapping(step)?.get_mapping(field)
        }
        ["steps", step, "options", id, field @ ("title" | "description")] => root
            .get_mapping("steps")?
            .get_mapping(step)?
            .get_sequence("options")?
            .iter()
            .filter_map(Node::as_mapping)
            .find(|o| o.get_scalar("id").is_some_and(|i| i.as_str() == *id))?
            .get_mapping(field),
        _ => None,
    }
}

/// `text` as a double-quoted YAML scalar.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where the value of `key` begins (its quote, its `|` or `>`, or its first character), and
/// the key's column.
fn value_start(source: &str, key: &MarkedScalarNode) -> Option<(usize, usize)> {
    let marker = key.span().start()?;
    let key_byte = byte_at(source, marker.character());
    let after_key = key_byte + source[key_byte..].find(':')? + 1;
    let gap = source[after_key..].len() - source[after_key..].trim_start_matches([' ', '\t']).len();
    Some((after_key + gap, marker.column()))
}

/// Where a value inside `{ … }` starting at byte `start` ends: a quoted one at its closing
/// quote, a plain one before the next `,` or `}` (trailing spaces left where they are).
fn flow_scalar_end(source: &str, start: usize) -> usize {
    if matches!(source.as_bytes().get(start), Some(b'"' | b'\'')) {
        return scalar_end(source, start, 0);
    }
    let end = source[start..].find([',', '}', '\n']).map_or(source.len(), |i| start + i);
    start + source[start..end].trim_end().len()
}

/// The byte index of character `chars` of `source`.
fn byte_at(source: &str, chars: usize) -> usize {
    source.char_indices().nth(chars).map_or(source.len(), |(i, _)| i)
}

fn line_start(source: &str, at: usize) -> usize {
    source[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Where the scalar starting at byte `start` ends: a quoted one at its closing quote; a block
/// (`|`, `>`) or plain one after its last line indented beyond its key (at `key_column`).
fn scalar_end(source: &str, start: usize, key_column: usize) -> usize {
    let bytes = source.as_bytes();
    match bytes.get(start) {
        Some(b'"') => {
            let mut i = start + 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return i + 1,
                    _ => i += 1,
                }
            }
            source.len()
        }
        Some(b'\'') => {
            let mut i = start + 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return i + 1;
                }
                i += 1;
            }
            source.len()
        }
        _ => {
            let first_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
            let mut end = first_end;
            // A plain scalar ends before a comment on its line.
            if !matches!(bytes.get(start), Some(b'|' | b'>'))
                && let Some(comment) = source[start..first_end].find(" #")
            {
                end = start + comment;
            }
            // Continuation lines: blank, or indented beyond the key.
            let mut at = first_end;
            while at < source.len() {
                let next = source[at + 1..].find('\n').map_or(source.len(), |i| at + 1 + i);
                let line = &source[at + 1..next];
                let indent = line.len() - line.trim_start_matches(' ').len();
                if line.trim().is_empty() {
                    at = next;
                    continue;
                }
                if indent < key_column {
                    break;
                }
                end = next;
                at = next;
            }
            end.min(source.len()).max(start)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW: &str = "flow: demo\nstart: a\nsteps:\n  a:\n    say:\n      en: \"Hello {{name}}.\\nBye\" # greeting\n      pcm: How far\n    next: b\n  b:\n    ask: choice\n    prompt:\n      en: |\n        Pick one\n        please\n      pcm: 'Pick one, abeg'\n    options:\n      - id: x\n        title: {en: \"X\", pcm: \"X\"}\n      - id: y\n        title:\n          en: Why\n";

    fn files() -> BTreeMap<String, String> {
        BTreeMap::from([("demo.yaml".to_owned(), FLOW.to_owned())])
    }

    #[test]
    fn every_text_is_listed_with_where_it_shows_and_its_limit() {
        let entries = list(&files());
        let at: Vec<(&str, &str, usize)> =
            entries.iter().map(|e| (e.at.as_str(), e.shown_as, e.limit)).collect();
        assert_eq!(
            at,
            [
                ("steps.a.say", "message", 4096),
                ("steps.b.prompt", "question", 1024),
                ("steps.b.options.x.title", "button", 20),
                ("steps.b.options.y.title", "button", 20),
            ]
        );
        assert_eq!(entries[0].texts["en"], "Hello {{name}}.\nBye");
        assert_eq!(entries[1].texts["en"], "Pick one\nplease\n");
        assert_eq!(entries[3].texts.get("pcm"), None, "a missing translation is absent");
    }

    #[test]
    fn a_text_is_replaced_in_place_and_nothing_else_changes() {
        let edited = replace(FLOW, "steps.a.say", "en", "Hi \"friend\"\nsee you").unwrap();
        assert!(
            edited.contains("en: \"Hi \\\"friend\\\"\\nsee you\" # greeting\n      pcm: How far\n"),
            "{edited}"
        );
        assert_eq!(
            edited.replace("en: \"Hi \\\"friend\\\"\\nsee you\"", "en: \"Hello {{name}}.\\nBye\""),
            FLOW
        );
        let plain = replace(FLOW, "steps.a.say", "pcm", "How you dey").unwrap();
        assert!(plain.contains("      pcm: \"How you dey\"\n    next: b\n"), "{plain}");
        let block = replace(FLOW, "steps.b.prompt", "en", "Choose").unwrap();
        assert!(block.contains("      en: \"Choose\"\n      pcm: 'Pick one, abeg'\n"), "{block}");
        let single = replace(FLOW, "steps.b.prompt", "pcm", "It's one").unwrap();
        assert!(single.contains("pcm: \"It's one\"\n    options:"), "{single}");
    }

    #[test]
    fn a_text_inside_braces_is_replaced_there() {
        let edited = replace(FLOW, "steps.b.options.x.title", "pcm", "Ex, abeg").unwrap();
        assert!(edited.contains("title: {en: \"X\", pcm: \"Ex, abeg\"}\n"), "{edited}");
        let plain = "flow: d\nstart: a\nsteps:\n  a:\n    ask: choice\n    options:\n      - id: l\n        title: { en: Language, pcm: Language }\n";
        let edited = replace(plain, "steps.a.options.l.title", "pcm", "Language wey you sabi").unwrap();
        assert!(edited.contains("title: { en: Language, pcm: \"Language wey you sabi\" }\n"), "{edited}");
    }

    #[test]
    fn a_missing_translation_is_added_under_the_others() {
        let added = replace(FLOW, "steps.b.options.y.title", "pcm", "Why na").unwrap();
        assert!(added.ends_with("        title:\n          en: Why\n          pcm: \"Why na\"\n"), "{added}");
        let entries = list(&BTreeMap::from([("demo.yaml".to_owned(), added)]));
        assert_eq!(entries[3].texts["pcm"], "Why na");
    }

    #[test]
    fn what_cannot_be_edited_here_says_so_and_changes_nothing() {
        assert_eq!(replace(FLOW, "steps.z.say", "en", "x"), Err(EditError::NotFound("steps.z.say".into())));
        assert!(matches!(
            replace(FLOW, "steps.b.options.x.title", "ig", "x"),
            Err(EditError::Unsupported(_))
        ));
        assert!(matches!(replace("a: [", "steps.a.say", "en", "x"), Err(EditError::Unsupported(_))));
    }

    #[test]
    fn quoting_survives_every_character() {
        for text in
            ["plain", "a \"q\" and \\ back", "tab\there", "emoji 🎉 ₦5,000", "{{amount | money}}", "#1: yes"]
        {
            let edited = replace(FLOW, "steps.a.say", "en", text).unwrap();
            assert_eq!(list(&BTreeMap::from([("d.yaml".to_owned(), edited)]))[0].texts["en"], text);
        }
    }
}
