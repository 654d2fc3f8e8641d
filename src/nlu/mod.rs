//! Understanding free text: what a customer asks for ("send 5k to 0803 123 4567", "wetin be my
//! balance") as an [`Intent`] with the values it names.
//!
//! The [`rules`] read every shipped language without any service; when they are not sure and a
//! model is configured, [`model`] asks an OpenAI-compatible server, under guard rails: digit runs
//! are redacted before anything leaves teller, the answer must fit a strict schema, a short
//! timeout and a circuit breaker bound the cost of a slow or failing server, and what the model
//! proposes goes through the same parsers as typed text. Neither path acts: an understanding
//! only starts a flow with some answers filled in, and the flow still shows its confirmation and
//! asks for the PIN. [`voice`] turns voice notes into text the same way.
//!
//! Imports: flows' answer parsers, whatsapp's media types, config and the other leaves.

pub mod eval;
pub mod model;
pub mod rules;
pub mod voice;

use std::collections::BTreeMap;
use std::fmt;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::metrics::NluLabels;
use crate::money::MINOR_PER_MAJOR;

/// What a customer can ask for in their own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intent {
    /// See the balance.
    Balance,
    /// Send money.
    Transfer,
    /// See recent transactions.
    Statement,
    /// Borrow.
    Loan,
    /// See or repay a loan.
    Repay,
    /// Get help.
    Help,
    /// Say hello.
    Greeting,
    /// Stop what is under way.
    Cancel,
}

impl Intent {
    /// Every intent.
    pub const ALL: [Intent; 8] = [
        Intent::Balance,
        Intent::Transfer,
        Intent::Statement,
        Intent::Loan,
        Intent::Repay,
        Intent::Help,
        Intent::Greeting,
        Intent::Cancel,
    ];

    /// Its name in flow files, the eval set and the model's schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Balance => "balance",
            Intent::Transfer => "transfer",
            Intent::Statement => "statement",
            Intent::Loan => "loan",
            Intent::Repay => "repay",
            Intent::Help => "help",
            Intent::Greeting => "greeting",
            Intent::Cancel => "cancel",
        }
    }

    /// The intent named `name`.
    pub fn parse(name: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == name)
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values an understanding can fill into a flow's questions (`fill:` in a flow file).
pub mod entity {
    /// An amount, as a decimal in major units ("5000.00").
    pub const AMOUNT: &str = "amount";
    /// A phone number, in international digits.
    pub const RECIPIENT: &str = "recipient";
    /// Where a transfer goes: `customer` when a recipient was named.
    pub const DESTINATION: &str = "destination";
    /// Every entity.
    pub const ALL: [&str; 3] = [AMOUNT, RECIPIENT, DESTINATION];
}

/// Which reader understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The rules.
    #[default]
    Rules,
    /// The model.
    Model,
}

/// What a message asks for, as far as it was understood.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Understanding {
    /// The request, when there is one.
    pub intent: Option<Intent>,
    /// Whether the reader is sure enough to act on `intent` (start its flow).
    pub confident: bool,
    /// An amount named, in minor units (valid: positive and within bounds).
    pub amount: Option<i64>,
    /// A phone number named, in international digits.
    pub phone: Option<String>,
    /// A person named as the recipient ("mum", "tunde"), lowercase.
    pub recipient: Option<String>,
    /// Who understood.
    pub source: Source,
}

impl Understanding {
    /// The intent to act on: only when the reader is confident.
    pub fn decided(&self) -> Option<Intent> {
        self.intent.filter(|_| self.confident)
    }

    /// A reading of `intent` with the values that request can use: an amount for transfers,
    /// loans and repayments, a recipient for transfers only.
    pub fn of(
        intent: Option<Intent>,
        confident: bool,
        amount: Option<i64>,
        phone: Option<String>,
        recipient: Option<String>,
        source: Source,
    ) -> Understanding {
        let wants_amount = matches!(intent, Some(Intent::Transfer | Intent::Loan | Intent::Repay));
        let transfer = intent == Some(Intent::Transfer);
        Understanding {
            intent,
            confident,
            amount: amount.filter(|_| wants_amount),
            phone: phone.filter(|_| transfer),
            recipient: recipient.filter(|_| transfer),
            source,
        }
    }

    /// The answers this understanding fills in, by entity (see [`entity`]).
    pub fn fills(&self) -> BTreeMap<String, String> {
        let mut fills = BTreeMap::new();
        if let Some(minor) = self.amount {
            let major = minor / MINOR_PER_MAJOR;
            let cents = minor % MINOR_PER_MAJOR;
            fills.insert(entity::AMOUNT.to_owned(), format!("{major}.{cents:02}"));
        }
        if let Some(phone) = &self.phone {
            fills.insert(entity::RECIPIENT.to_owned(), phone.clone());
            fills.insert(entity::DESTINATION.to_owned(), "customer".to_owned());
        }
        fills
    }
}

/// Every reader teller has: the rules always, the model and voice when configured.
pub struct Reader {
    model: Option<model::Model>,
    voice: Option<voice::Voice>,
    counts: Family<NluLabels, Counter>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("model", &self.model)
            .field("voice", &self.voice)
            .finish_non_exhaustive()
    }
}

impl Default for Reader {
    fn default() -> Self {
        Reader::rules_only()
    }
}

impl Reader {
    /// The rules alone.
    pub fn rules_only() -> Reader {
        Reader { model: None, voice: None, counts: Family::default() }
    }

    /// The rules, and `model` and `voice` when given.
    pub fn new(model: Option<model::Model>, voice: Option<voice::Voice>) -> Reader {
        Reader { model, voice, counts: Family::default() }
    }

    /// The readers `openai` and `whatsapp` configure: the model with `OPENAI_API_KEY`, voice
    /// with a transcription model too (and a WhatsApp token to download media).
    pub fn from_config(
        openai: &crate::config::OpenAiConfig,
        whatsapp: &crate::config::WhatsAppConfig,
    ) -> anyhow::Result<Reader> {
        let Some(api_key) = openai.api_key.clone() else { return Ok(Reader::rules_only()) };
        let config = model::ModelConfig {
            base_url: openai.base_url.as_ref().map(|u| u.as_str().to_owned()),
            model: openai.model.clone().unwrap_or_else(|| model::DEFAULT_MODEL.to_owned()),
            transcription_model: openai.transcription_model.clone(),
            timeout: openai.timeout,
            ..model::ModelConfig::new(api_key)
        };
        let model = model::Model::new(config)?;
        let voice = match &model.config().transcription_model {
            Some(name) => voice::Voice::new(whatsapp, model.client().clone(), name.clone())?,
            None => None,
        };
        Ok(Reader::new(Some(model), voice))
    }

    /// Counts what the readers do into `counts` (the app's [`crate::metrics::Metrics::nlu`]).
    pub fn counting_into(mut self, counts: Family<NluLabels, Counter>) -> Reader {
        self.model = self.model.map(|m| m.counting_into(counts.clone()));
        self.counts = counts;
        self
    }

    /// The model, when configured.
    pub fn model(&self) -> Option<&model::Model> {
        self.model.as_ref()
    }

    /// Voice, when configured.
    pub fn voice(&self) -> Option<&voice::Voice> {
        self.voice.as_ref()
    }

    /// `text` as the rules read it.
    pub fn rules(&self, text: &str, country_code: &str) -> Understanding {
        let understood = rules::understand(text, country_code);
        let outcome = if understood.decided().is_some() { "understood" } else { "unsure" };
        self.counts.get_or_create(&NluLabels { reader: "rules", outcome }).inc();
        understood
    }
}
