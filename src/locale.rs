//! The languages teller speaks, how customers name them, and how a text is filled. A leaf: it
//! imports nothing of teller.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The languages teller ships; every customer-facing text exists in each: English, Nigerian
/// Pidgin, Yoruba, Hausa and Igbo.
pub const LANGUAGES: [&str; 5] = ["en", "pcm", "yo", "ha", "ig"];
/// The key of a text that reads the same in every language.
pub const ANY_LANGUAGE: &str = "any";

/// What `config/languages.yaml` says of one language.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Language {
    /// How the language names itself ("Yorùbá").
    pub name: String,
    /// What customers type to switch to it, folded ([`fold`]).
    #[serde(default)]
    pub called: Vec<String>,
    /// Whether a native speaker has reviewed its texts.
    #[serde(default)]
    pub reviewed: bool,
    /// The months, January first.
    #[serde(default)]
    pub months: Vec<String>,
    /// The months as dates write them ("Dec" in English).
    #[serde(default)]
    pub short_months: Vec<String>,
    /// The days of the week, Monday first.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Periods ("week", "month") as the language says them.
    #[serde(default)]
    pub every: BTreeMap<String, String>,
    /// How a fee band reads; `None`: the English words.
    #[serde(default)]
    pub bands: Option<Bands>,
}

/// The words of a fee band, `{}` standing for the amount: "Up to {}", "Above {}", "Any amount",
/// "at most {}" in English.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    /// A band up to an amount.
    pub up_to: String,
    /// The band above the last amount.
    pub above: String,
    /// The one band, for any amount.
    pub any: String,
    /// A percentage's cap.
    pub at_most: String,
}

/// The months as teller writes them before they are put in a customer's language.
pub const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const ENGLISH_DAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// `date` as customers read it in `language`: "5 Dec 2026", "5 Disamba 2026", "5 Oṣù Kejìlá 2026".
pub fn date(date: chrono::NaiveDate, language: &str) -> String {
    use chrono::Datelike;
    let month = date.month0() as usize;
    format!("{} {} {}", date.day(), short_month(month, language), date.year())
}

fn short_month(month: usize, language: &str) -> String {
    let words = about(language).or_else(|| about("en")).map(|l| &l.short_months);
    words.and_then(|w| w.get(month)).cloned().unwrap_or_else(|| ENGLISH_MONTHS[month][..3].to_owned())
}

/// `text` with each date teller wrote the English way inside it ("22 Dec 2026: ₦3,783.34",
/// "14:30 on Sat 5 Dec") written in `language`; the rest as it is.
pub fn localise_dates_in(text: &str, language: &str) -> String {
    static DATES: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
        let month = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec";
        let day = "Mon|Tue|Wed|Thu|Fri|Sat|Sun";
        regex::Regex::new(&format!(
            r"\b(\d{{2}}:\d{{2}} on (?:{day}) \d{{1,2}} (?:{month})|\d{{1,2}} (?:{month}) \d{{4}})\b"
        ))
        .ok()
    });
    match DATES.as_ref() {
        Some(dates) if !matches!(language, "en" | "pcm") => {
            dates.replace_all(text, |c: &regex::Captures<'_>| localise(&c[0], language)).into_owned()
        }
        _ => text.to_owned(),
    }
}

/// `text` with the fee bands teller wrote the English way ("Up to ₦5,000.00: ₦10.75", "Above
/// ₦50,000.00: ₦53.75", "Any amount: ₦10.00", "0.5% (at most ₦100.00)") worded in `language`;
/// the rest as it is.
pub fn localise_bands_in(text: &str, language: &str) -> String {
    static BANDS: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
        let amount = r"[^\s:)]*\d[^\s:)]*";
        regex::Regex::new(&format!(
            r"(?m)^(?:Up to ({amount})|Above ({amount})|Any amount):|\(at most ({amount})\)"
        ))
        .ok()
    });
    let (Some(bands), Some(words)) = (BANDS.as_ref(), about(language).and_then(|l| l.bands.as_ref())) else {
        return text.to_owned();
    };
    bands
        .replace_all(text, |c: &regex::Captures<'_>| {
            let with = |words: &str, i: usize| words.replace("{}", c.get(i).map_or("", |m| m.as_str()));
            match (c.get(1), c.get(2), c.get(3)) {
                (Some(_), _, _) => format!("{}:", with(&words.up_to, 1)),
                (_, Some(_), _) => format!("{}:", with(&words.above, 2)),
                (_, _, Some(_)) => format!("({})", with(&words.at_most, 3)),
                _ => format!("{}:", words.any),
            }
        })
        .into_owned()
}

/// A date, month, weekday or period that teller wrote the English way ("22 Dec 2026",
/// "December", "Monday 08:00", "14:30 on Sat 5 Dec", "week"), written in `language`; any other
/// value as it is.
pub fn localise(value: &str, language: &str) -> String {
    let Some(words) = about(language) else { return value.to_owned() };
    let month = |w: &str| ENGLISH_MONTHS.iter().position(|m| *m == w || m[..3] == *w);
    let day = |w: &str| ENGLISH_DAYS.iter().position(|d| *d == w || d[..3] == *w);
    let parts: Vec<&str> = value.split_whitespace().collect();
    let said = |list: &Vec<String>, i: usize| list.get(i).cloned();
    let localised = match parts.as_slice() {
        [d, m, y] if d.parse::<u8>().is_ok() && y.parse::<u16>().is_ok() => {
            month(m).map(|i| format!("{d} {} {y}", short_month(i, language)))
        }
        [m] if ENGLISH_MONTHS.contains(m) => month(m).and_then(|i| said(&words.months, i)),
        [w, time] if time.contains(':') => {
            day(w).and_then(|i| said(&words.weekdays, i)).map(|w| format!("{w} {time}"))
        }
        [time, "on", w, d, m] => {
            let (w, m) = (day(w).and_then(|i| said(&words.weekdays, i)), month(m));
            w.zip(m).map(|(w, m)| format!("{time}, {w} {d} {}", short_month(m, language)))
        }
        [period] => words.every.get(*period).cloned(),
        _ => None,
    };
    localised.unwrap_or_else(|| value.to_owned())
}

/// The shipped `config/languages.yaml`.
pub const LANGUAGES_FILE: &str = include_str!("../config/languages.yaml");

static ABOUT: LazyLock<BTreeMap<String, Language>> = LazyLock::new(|| {
    #[derive(serde::Deserialize)]
    struct File {
        languages: BTreeMap<String, Language>,
    }
    // A test reads the file, so a build with a broken one never ships.
    let mut languages =
        marked_yaml::from_yaml::<File>(0, LANGUAGES_FILE).map(|f| f.languages).unwrap_or_default();
    // The names are compared with folded text: fold them once, here.
    for language in languages.values_mut() {
        language.called.iter_mut().for_each(|name| *name = fold(name));
    }
    languages
});

/// What teller knows of `language` (one of [`LANGUAGES`]).
pub fn about(language: &str) -> Option<&'static Language> {
    ABOUT.get(language)
}

/// `text` lowercase with its accents and underdots taken off, and the hooked letters of Hausa
/// (ɗ, ƙ, ƴ) written plain: "Ẹ ǹlẹ́" reads "e nle", "Ƙudi" reads "kudi". Customers type Yoruba,
/// Hausa and Igbo with and without them, so words are compared folded.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'ɗ' => 'd',
            'ƙ' => 'k',
            'ƴ' => 'y',
            '\u{2019}' | '\u{2018}' => '\'',
            other => other,
        })
        .collect()
}

/// The language `text` asks to speak: a name from `config/languages.yaml`, alone or with
/// "speak", "in", "please" and their like around it.
pub fn named(text: &str) -> Option<&'static str> {
    const BEFORE: [&str; 20] = [
        "speak ",
        "talk ",
        "in ",
        "use ",
        "switch to ",
        "change to ",
        "reply in ",
        "answer in ",
        "i want ",
        "i speak ",
        "so ",
        "yi ",
        "suo ",
        "na ",
        "ni ",
        "abeg ",
        "biko ",
        "jowo ",
        "please ",
        "don allah ",
    ];
    const AFTER: [&str; 8] = [" please", " abeg", " biko", " jowo", " don allah", " language", " o", " pls"];
    let mut words = fold(text.trim()).trim_end_matches(['.', '!', '?']).to_owned();
    while let Some(rest) = BEFORE.iter().find_map(|b| words.strip_prefix(b)) {
        words = rest.to_owned();
    }
    while let Some(rest) = AFTER.iter().find_map(|a| words.strip_suffix(a)) {
        words = rest.to_owned();
    }
    let exact =
        LANGUAGES.into_iter().find(|language| about(language).is_some_and(|l| l.called.contains(&words)));
    exact.or_else(|| asked_for(&words))
}

/// A language named at the end of a request to use it: "I want to change my language to
/// Yoruba", "can you reply me in pidgin", "make we yarn for Hausa". The words before the name
/// must ask for a language ("send money to Igbo" does not).
fn asked_for(words: &str) -> Option<&'static str> {
    const LEADS: [&str; 7] = ["to", "in", "for", "speak", "talk", "use", "with"];
    const ASKS: [&str; 14] = [
        "language",
        "speak",
        "talk",
        "reply",
        "respond",
        "answer",
        "chat",
        "write",
        "change",
        "switch",
        "use",
        "yarn",
        "communicate",
        "prefer",
    ];
    LANGUAGES.into_iter().find(|language| {
        let Some(about) = about(language) else { return false };
        about.called.iter().any(|name| {
            let Some(before) = words.strip_suffix(name.as_str()).and_then(|b| b.strip_suffix(' ')) else {
                return false;
            };
            let before: Vec<&str> = before.split(' ').collect();
            before.last().is_some_and(|w| LEADS.contains(w)) && before.iter().any(|w| ASKS.contains(w))
        })
    })
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
    fn the_languages_file_describes_each_shipped_language() {
        for language in LANGUAGES {
            let about =
                about(language).unwrap_or_else(|| panic!("{language} is not in config/languages.yaml"));
            assert!(!about.name.is_empty() && !about.called.is_empty(), "{language}");
            assert_eq!(named(&about.called[0]), Some(language));
        }
        assert_eq!(ABOUT.len(), LANGUAGES.len(), "config/languages.yaml has a language teller does not ship");
        assert!(about("en").is_some_and(|l| l.reviewed));
    }

    #[test]
    fn a_language_is_named_in_any_language_with_or_without_accents() {
        for (said, language) in [
            ("Yoruba", "yo"),
            ("Èdè Yorùbá", "yo"),
            ("ede yoruba", "yo"),
            ("speak yoruba please", "yo"),
            ("Harshen Hausa", "ha"),
            ("in hausa", "ha"),
            ("Asụsụ Igbo", "ig"),
            ("asusu igbo", "ig"),
            ("Igbo biko", "ig"),
            ("Turanci", "en"),
            ("pidgin abeg", "pcm"),
            ("I want to change my language to Yoruba", "yo"),
            ("can you reply me in pidgin", "pcm"),
            ("abeg make we yarn for Hausa", "ha"),
            ("Please switch the language to Igbo.", "ig"),
            ("I prefer to chat in english", "en"),
        ] {
            assert_eq!(named(said), Some(language), "{said}");
        }
        for other in [
            "hello",
            "yoruba man",
            "send money to igbo",
            "I am from igbo",
            "send 5k to yoruba",
            "my mama na igbo",
        ] {
            assert_eq!(named(other), None, "{other}");
        }
    }

    #[test]
    fn fee_bands_are_worded_in_each_language_and_nothing_else_changes() {
        let bands =
            "Up to ₦5,000.00: ₦10.75\nUp to ₦50,000.00: ₦26.88\nAbove ₦50,000.00: 0.5% (at most ₦100.00)";
        assert_eq!(localise_bands_in(bands, "en"), bands);
        assert_eq!(localise_bands_in(bands, "pcm"), bands, "Pidgin reads the English words");
        assert_eq!(
            localise_bands_in(bands, "ha"),
            "Har zuwa ₦5,000.00: ₦10.75\nHar zuwa ₦50,000.00: ₦26.88\nSama da ₦50,000.00: 0.5% (bai wuce ₦100.00 ba)"
        );
        assert_eq!(localise_bands_in("Any amount: ₦10.00", "yo"), "Iye èyíkéyìí: ₦10.00");
        assert_eq!(localise_bands_in("Above ₦5,000.00: ₦53.75", "ig"), "Karịa ₦5,000.00: ₦53.75");
        for language in ["yo", "ha", "ig"] {
            let worded = localise_bands_in(bands, language);
            assert!(!worded.contains("Up to") && !worded.contains("at most"), "{language}: {worded}");
        }
        let other = "Send up to ₦5,000.00 (at most twice) Above all: thanks";
        assert_eq!(localise_bands_in(other, "ha"), other, "only a band's own words at a line's start");
    }

    #[test]
    fn dates_months_days_and_periods_are_written_in_each_language() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 22).unwrap();
        assert_eq!(date(day, "en"), "22 Dec 2026");
        assert_eq!(date(day, "ha"), "22 Disamba 2026");
        assert_eq!(date(day, "yo"), "22 Oṣù Kejìlá 2026");
        assert_eq!(localise("22 Dec 2026", "ig"), "22 Disemba 2026");
        assert_eq!(localise("December", "ha"), "Disamba");
        assert_eq!(localise("Monday 08:00", "yo"), "Ọjọ́ Ajé 08:00");
        assert_eq!(localise("14:30 on Sat 5 Dec", "ig"), "14:30, Satọdee 5 Disemba");
        assert_eq!(localise("week", "ha"), "mako");
        assert_eq!(localise("22 Dec 2026", "pcm"), "22 Dec 2026");
        assert_eq!(
            localise_dates_in("22 Dec 2026: ₦3,783.34\n22 Jan 2027: ₦3,783.33", "ha"),
            "22 Disamba 2026: ₦3,783.34\n22 Janairu 2027: ₦3,783.33"
        );
        assert_eq!(localise_dates_in("14:30 on Sat 5 Dec", "yo"), "14:30, Ọjọ́ Àbámẹ́ta 5 Oṣù Kejìlá");
        assert_eq!(localise_dates_in("May 5 ₦500", "ig"), "May 5 ₦500");
        for other in ["Ada", "May Okafor", "14:30", "TX1"] {
            assert_eq!(localise(other, "ha"), other);
        }
        for language in LANGUAGES {
            let about = about(language).unwrap();
            assert_eq!(
                (about.months.len(), about.short_months.len(), about.weekdays.len()),
                (12, 12, 7),
                "{language}"
            );
            assert_eq!(about.every.len(), 4, "{language}");
        }
    }

    #[test]
    fn folding_takes_off_tones_underdots_and_hooks() {
        assert_eq!(fold("Ẹ ǹlẹ́ o, Ṣàdé"), "e nle o, sade");
        assert_eq!(fold("Ƙudi nawa ne?"), "kudi nawa ne?");
        assert_eq!(fold("Ego ole fọdụrụ"), "ego ole foduru");
        assert_eq!(fold("₦5,000 👍"), "₦5,000 👍");
    }

    #[test]
    fn fields_are_filled_once_and_strangers_left_alone() {
        let fields = [("name", "{amount}".to_owned()), ("amount", "₦5".to_owned())];
        assert_eq!(fill("{name} sent {amount} {other} {", &fields), "{amount} sent ₦5 {other} {");
        assert_eq!(fill("", &fields), "");
    }
}
