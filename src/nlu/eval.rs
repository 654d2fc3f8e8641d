//! `teller nlu eval`: how well teller understands the labelled utterances in `nlu/eval.yaml`,
//! per intent, per entity and per language.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use super::{Intent, Understanding};
use crate::money;

/// Where the labelled set is kept.
pub const DEFAULT_SET: &str = "nlu/eval.yaml";
/// What an utterance that asks for nothing is labelled.
pub const NONE: &str = "none";

/// One labelled utterance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// What the customer typed.
    pub text: String,
    /// Its language.
    pub lang: String,
    /// The request (an [`Intent`] name, or `none`).
    pub intent: String,
    /// The amount named, in major units.
    #[serde(default)]
    pub amount: Option<String>,
    /// The phone number named, international digits.
    #[serde(default)]
    pub phone: Option<String>,
    /// The person named.
    #[serde(default)]
    pub recipient: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    utterances: Vec<Sample>,
}

/// Reads the labelled set at `path`, refusing labels that name no intent or no valid amount.
pub fn load(path: &Path) -> anyhow::Result<Vec<Sample>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: File =
        marked_yaml::from_yaml(0, &text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for sample in &file.utterances {
        if sample.intent != NONE && Intent::parse(&sample.intent).is_none() {
            anyhow::bail!(
                "{}: `{}` is labelled with unknown intent `{}`",
                path.display(),
                sample.text,
                sample.intent
            );
        }
        if let Some(amount) = &sample.amount
            && money::parse_amount(amount).is_err()
        {
            anyhow::bail!("{}: `{}` is labelled with invalid amount `{amount}`", path.display(), sample.text);
        }
    }
    Ok(file.utterances)
}

/// Right out of seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Right.
    pub right: u32,
    /// Seen.
    pub seen: u32,
}

impl Tally {
    fn add(&mut self, right: bool) {
        self.seen += 1;
        self.right += u32::from(right);
    }

    /// Right per thousand seen (1000 when nothing was seen).
    pub fn per_mille(&self) -> u32 {
        (self.right * 1000).checked_div(self.seen).unwrap_or(1000)
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pm = self.per_mille();
        write!(f, "{:>3}/{:<3} {:>3}.{}%", self.right, self.seen, pm / 10, pm % 10)
    }
}

/// The scores of one reader over the set.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Intent right, over every utterance.
    pub intent: Tally,
    /// Intent right, per labelled intent (recall).
    pub per_intent: BTreeMap<String, Tally>,
    /// Intent right, per language.
    pub per_language: BTreeMap<String, Tally>,
    /// Each entity right, over utterances where it was labelled or found.
    pub per_entity: BTreeMap<&'static str, Tally>,
    /// The utterances whose intent was wrong: (text, labelled, understood).
    pub misses: Vec<(String, String, String)>,
    /// The entities read wrong: (text, entity, labelled, found).
    pub entity_misses: Vec<(String, &'static str, String, String)>,
}

/// Scores `understood` (one per sample, in order) against the labels.
pub fn score(samples: &[Sample], understood: &[Understanding]) -> Scores {
    let mut scores = Scores::default();
    for (sample, u) in samples.iter().zip(understood) {
        let got = u.decided().map_or(NONE, Intent::as_str);
        let right = got == sample.intent;
        scores.intent.add(right);
        scores.per_intent.entry(sample.intent.clone()).or_default().add(right);
        scores.per_language.entry(sample.lang.clone()).or_default().add(right);
        if !right {
            scores.misses.push((sample.text.clone(), sample.intent.clone(), got.to_owned()));
        }
        let amount = sample.amount.as_deref().and_then(|a| money::parse_amount(a).ok());
        entity(&mut scores, &sample.text, "amount", amount, u.amount);
        entity(&mut scores, &sample.text, "phone", sample.phone.clone(), u.phone.clone());
        entity(&mut scores, &sample.text, "recipient", sample.recipient.clone(), u.recipient.clone());
    }
    scores
}

fn entity<T: PartialEq + fmt::Debug>(
    scores: &mut Scores,
    text: &str,
    name: &'static str,
    labelled: Option<T>,
    found: Option<T>,
) {
    if labelled.is_none() && found.is_none() {
        return;
    }
    let right = labelled == found;
    scores.per_entity.entry(name).or_default().add(right);
    if !right {
        let show = |v: &Option<T>| v.as_ref().map_or("nothing".to_owned(), |v| format!("{v:?}"));
        scores.entity_misses.push((text.to_owned(), name, show(&labelled), show(&found)));
    }
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "intent accuracy        {}", self.intent)?;
        for (language, tally) in &self.per_language {
            writeln!(f, "  language {language:<12} {tally}")?;
        }
        for (intent, tally) in &self.per_intent {
            writeln!(f, "  intent {intent:<14} {tally}")?;
        }
        for (entity, tally) in &self.per_entity {
            writeln!(f, "  entity {entity:<14} {tally}")?;
        }
        if !self.misses.is_empty() {
            writeln!(f, "misunderstood:")?;
            for (text, labelled, got) in &self.misses {
                writeln!(f, "  {text:?}: {labelled}, understood {got}")?;
            }
        }
        if !self.entity_misses.is_empty() {
            writeln!(f, "entities misread:")?;
            for (text, entity, labelled, found) in &self.entity_misses {
                writeln!(f, "  {text:?}: {entity} {labelled}, read {found}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Vec<Sample> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_SET);
        load(&path).unwrap()
    }

    /// The Yoruba, Hausa and Igbo sets: each development set has at least 60 sentences and
    /// each held-out set 30, every one in its own language, covering the requests a customer
    /// makes most; the rules read each development set at 90% at least.
    #[test]
    fn each_language_has_its_development_and_held_out_sets() {
        const ASKED: [&str; 11] = [
            "greeting",
            "balance",
            "transfer",
            "statement",
            "loan",
            "repay",
            "help",
            "person",
            "complaint",
            "block",
            "cancel",
        ];
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for language in ["yo", "ha", "ig"] {
            let dev = load(&root.join(format!("nlu/eval_{language}.yaml"))).unwrap();
            let held = load(&root.join(format!("nlu/holdout_{language}.yaml"))).unwrap();
            assert!(dev.len() >= 60 && held.len() >= 30, "{language}: {} and {}", dev.len(), held.len());
            assert!(dev.iter().chain(&held).all(|s| s.lang == language), "{language}");
            for intent in ASKED {
                let n = dev.iter().filter(|s| s.intent == intent).count();
                assert!(n >= 4, "only {n} `{intent}` sentences in `{language}`");
            }
            let understood: Vec<_> =
                dev.iter().map(|s| super::super::rules::understand(&s.text, "234")).collect();
            let scores = score(&dev, &understood);
            assert!(scores.intent.per_mille() >= 900, "{language}: {scores}");
        }
    }

    #[test]
    fn the_labelled_set_is_large_and_covers_every_intent_in_every_language() {
        let samples = set();
        assert!(samples.len() >= 200, "{} utterances", samples.len());
        for language in ["en", "pcm"] {
            for intent in Intent::ALL {
                let n = samples.iter().filter(|s| s.lang == *language && s.intent == intent.as_str()).count();
                assert!(n >= 5, "only {n} `{intent}` utterances in `{language}`");
            }
        }
    }

    /// The rules alone understand at least 90% of the set: a change that makes them worse fails.
    #[test]
    fn the_rules_reach_ninety_percent_intent_accuracy() {
        let samples = set();
        let understood: Vec<_> =
            samples.iter().map(|s| super::super::rules::understand(&s.text, "234")).collect();
        let scores = score(&samples, &understood);
        assert!(scores.intent.per_mille() >= 900, "{scores}");
        for (entity, tally) in &scores.per_entity {
            assert!(tally.per_mille() >= 850, "entity {entity}: {scores}");
        }
    }

    #[test]
    fn a_label_with_a_typo_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("set.yaml");
        std::fs::write(&path, "utterances:\n  - { text: hi, lang: en, intent: greting }\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown intent `greting`"), "{err}");
        std::fs::write(
            &path,
            "utterances:\n  - { text: hi, lang: en, intent: transfer, amount: \"5,00\" }\n",
        )
        .unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("invalid amount"), "{err}");
    }
}
