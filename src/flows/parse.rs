//! Reading one flow file: YAML with positions, into the flow model, with every load and
//! schema error placed at its line and column.

use std::path::Path;

use marked_yaml::{LoaderOptions, Node, Span, Spanned};

use super::model::{FlowFile, Step};
use super::report::{Out, Severity};

/// A flow file that parsed, with its steps parsed too.
pub(super) struct Parsed {
    pub(super) file: FlowFile,
    pub(super) steps: Vec<(Spanned<String>, Step)>,
    /// Steps whose own errors were reported; they exist, but nothing more is known of them.
    pub(super) unreadable: Vec<String>,
}

pub(super) fn parse(path: &Path, text: &str, out: &mut Out) -> Option<Parsed> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let node = match marked_yaml::parse_yaml_with_options(0, text, options) {
        Ok(node) => node,
        Err(e) => {
            let (line, column) = load_error_position(&e);
            out.push(line, column, Severity::Error, format!("not valid YAML: {}", load_error_text(&e)));
            return None;
        }
    };
    let file: FlowFile = match marked_yaml::from_node(&node) {
        Ok(file) => file,
        Err(e) => {
            schema_error(&node, e.into_inner(), out);
            return None;
        }
    };
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if file.flow.as_str() != stem {
        out.error(
            file.flow.span(),
            format!("flow `{}` must be in a file named {}.yaml", *file.flow, *file.flow),
        );
    }
    let mut steps = Vec::new();
    let mut unreadable = Vec::new();
    match node.as_mapping().and_then(|m| m.get_node("steps")).map(Node::as_mapping) {
        Some(Some(map)) => {
            for (name, step_node) in map.iter() {
                let name = Spanned::new(*name.span(), name.as_str().to_owned());
                match marked_yaml::from_node::<Step>(step_node) {
                    Ok(step) => steps.push((name, step)),
                    Err(e) => {
                        schema_error(step_node, e.into_inner(), out);
                        unreadable.push(name.to_string());
                    }
                }
            }
        }
        _ => out.error(node.span(), "`steps:` must map each step id to its step"),
    }
    Some(Parsed { file, steps, unreadable })
}

/// Where and what a YAML syntax error is.
fn load_error_position(e: &marked_yaml::LoadError) -> (usize, usize) {
    use marked_yaml::LoadError as E;
    let marker = match e {
        E::TopLevelMustBeMapping(m)
        | E::TopLevelMustBeSequence(m)
        | E::UnexpectedAnchor(m)
        | E::MappingKeyMustBeScalar(m)
        | E::UnexpectedTag(m)
        | E::ScanError(m, _) => Some(*m),
        E::DuplicateKey(inner) => inner.key.span().start().copied(),
    };
    marker.map_or((1, 1), |m| (m.line(), m.column()))
}

fn load_error_text(e: &marked_yaml::LoadError) -> String {
    use marked_yaml::LoadError as E;
    match e {
        E::DuplicateKey(inner) => format!("`{}` is defined twice", inner.key.as_str()),
        E::ScanError(_, scan) => in_plain_words(scan.info()),
        other => {
            // The loader's own text starts with the position; it is already in ours.
            let text = other.to_string();
            text.split_once(": ").map_or(text.clone(), |(_, rest)| rest.to_owned())
        }
    }
}

/// The YAML scanner's message, with what it most likely means in a flow file first.
fn in_plain_words(info: &str) -> String {
    let meaning = match info {
        i if i.contains("trailing content after double-quoted scalar") => {
            "a text in double quotes ends before its line does: write a `\"` inside it as `\\\"`, or put the \
             whole text in single quotes"
        }
        i if i.contains("unknown escape character") => {
            "a `\\` inside a text in double quotes starts an escape YAML does not know: write `\\\\` for a \
             backslash, `\\n` for a new line"
        }
        i if i.contains("mapping values are not allowed") => {
            "a `:` inside a text that is not in quotes: put the whole text in double quotes"
        }
        i if i.contains("did not find expected key") || i.contains("did not find expected '-'") => {
            "this line is not indented like the lines around it, or a `:` is missing"
        }
        i if i.contains("cannot start any token") => {
            "a tab or a character YAML does not allow at the start of a value: indent with spaces, and put \
             a text that starts with `@`, `` ` `` or `%` in quotes"
        }
        i if i.contains("end of stream") => "a text in quotes is never closed: its closing quote is missing",
        _ => return info.to_owned(),
    };
    format!("{meaning} (the YAML reader says: {info})")
}

/// A schema error, placed on its node; an unknown field (which the deserializer does not
/// place) is found by its key, since a typo is the likeliest cause.
fn schema_error(node: &Node, e: marked_yaml::Error, out: &mut Out) {
    use marked_yaml::Error as E;
    let text = match &e {
        E::UnknownFieldError(field, expected, _) => {
            let message =
                format!("unknown field `{field}` (a typo?); expected one of: {}", expected.join(", "));
            match find_key(node, field) {
                Some(span) => return out.error(&span, message),
                None => message,
            }
        }
        E::NotBoolean(_) => "expected true or false here".to_owned(),
        E::IntegerParseFailure(..) => "expected a whole number here".to_owned(),
        E::FloatParseFailure(..) => "expected a number here".to_owned(),
        E::Other(text, _) => text.clone(),
    };
    let span = e.start_mark().map_or(*node.span(), Span::new_start);
    out.error(&span, text);
}

/// The span of the first mapping key `name` in `node`, depth first.
fn find_key(node: &Node, name: &str) -> Option<Span> {
    match node {
        Node::Mapping(map) => {
            for (key, value) in map.iter() {
                if key.as_str() == name {
                    return Some(*key.span());
                }
                if let Some(span) = find_key(value, name) {
                    return Some(span);
                }
            }
            None
        }
        Node::Sequence(items) => items.iter().find_map(|item| find_key(item, name)),
        Node::Scalar(_) => None,
    }
}
