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
mod patterns;
pub mod rules;
mod spoken;
pub mod voice;

use std::fmt;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::metrics::NluLabels;

pub use crate::flows::understanding::{Intent, Source, Understanding, entity};

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
