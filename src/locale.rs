//! The languages teller speaks, and how a text is picked and filled. A leaf: it imports nothing
//! of teller.

/// The languages teller ships; every customer-facing text exists in each.
pub const LANGUAGES: [&str; 2] = ["en", "pcm"];
/// The key of a text that reads the same in every language.
pub const ANY_LANGUAGE: &str = "any";

/// One text in every shipped language, in the order of [`LANGUAGES`]: a language added there
/// makes every text without it a compile error.
pub type Texts = [&'static str; LANGUAGES.len()];

/// `texts` in `language` (English when teller does not ship it).
pub fn pick(texts: &Texts, language: &str) -> &'static str {
    texts[LANGUAGES.iter().position(|l| *l == language).unwrap_or(0)]
}

/// `template` with each `{field}` replaced by its value, in one pass: a value is never read as
/// a template (a payer named `{balance}` stays as they are), and a `{` not naming a field stays.
pub fn fill(template: &str, fields: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let field =
            after.find('}').and_then(|close| Some((close, fields.iter().find(|f| f.0 == &after[..close])?)));
        match field {
            Some((close, (_, value))) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_picked_by_language_and_english_stands_in() {
        let texts: Texts = ["Hello", "How far"];
        assert_eq!(
            (pick(&texts, "en"), pick(&texts, "pcm"), pick(&texts, "xx")),
            ("Hello", "How far", "Hello")
        );
    }

    #[test]
    fn fields_are_filled_once_and_strangers_left_alone() {
        let fields = [("name", "{amount}".to_owned()), ("amount", "₦5".to_owned())];
        assert_eq!(fill("{name} sent {amount} {other} {", &fields), "{amount} sent ₦5 {other} {");
        assert_eq!(fill("", &fields), "");
    }
}
