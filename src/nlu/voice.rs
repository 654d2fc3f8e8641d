//! Voice notes: downloaded through the Graph media API (`GET /{media-id}` for a short-lived URL,
//! then the bytes with the bearer token; the reference's §4.6), checked (an audio type, a bounded
//! size, the SHA-256 Meta gives), and transcribed by an OpenAI-compatible transcription endpoint.
//! Without a WhatsApp token or a transcription model there is no voice: customers are asked to
//! type.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::audio::{AudioInput, CreateTranscriptionRequestArgs};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Digest as _;
use url::Url;

use crate::config::WhatsAppConfig;

/// The largest voice note downloaded: WhatsApp's own limit for audio.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// How long a download or a transcription may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Why a voice note was not heard.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The media could not be had from the Graph API.
    #[error("cannot download the voice note: {0}")]
    Download(String),
    /// Not audio, too large, or not what Meta said it is.
    #[error("the voice note is not usable: {0}")]
    Unusable(String),
    /// The transcription failed or said nothing.
    #[error("cannot transcribe the voice note: {0}")]
    Transcription(String),
}

/// Downloads and transcribes voice notes.
pub struct Voice {
    http: reqwest::Client,
    graph: Url,
    token: SecretString,
    transcriber: Client<OpenAIConfig>,
    model: String,
}

impl std::fmt::Debug for Voice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voice")
            .field("graph", &self.graph.as_str())
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// What a transcription endpoint answers (anything else in it is ignored).
#[derive(Deserialize)]
struct Heard {
    text: String,
}

#[derive(Deserialize)]
struct MediaInfo {
    url: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    file_size: Option<u64>,
}

impl Voice {
    /// Voice for `whatsapp`'s number, transcribed by `model` on `transcriber`; `None` without an
    /// access token (the sandbox has no media to download).
    pub fn new(
        whatsapp: &WhatsAppConfig,
        transcriber: Client<OpenAIConfig>,
        model: String,
    ) -> anyhow::Result<Option<Voice>> {
        let Some(token) = whatsapp.access_token.clone() else { return Ok(None) };
        let graph = whatsapp.api_base_url.join(&format!("{}/", whatsapp.api_version.trim_matches('/')))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(TIMEOUT)
            .user_agent(concat!("teller/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Voice { http, graph, token, transcriber, model }))
    }

    /// The text of voice note `media_id`, spoken in `language` (a hint for English).
    pub async fn transcribe(&self, media_id: &str, language: &str) -> Result<String, VoiceError> {
        let audio = self.download(media_id).await?;
        let mut request = CreateTranscriptionRequestArgs::default();
        request.file(AudioInput::from_vec_u8("voice.ogg".to_owned(), audio)).model(self.model.clone());
        if language == "en" {
            request.language("en");
        }
        let request = request.build().map_err(|e| VoiceError::Transcription(e.to_string()))?;
        let audio = self.transcriber.audio();
        let transcription = audio.transcription();
        // Raw: compatible servers (and whisper-1) answer `{"text": …}` without the usage the
        // typed response demands.
        let raw = tokio::time::timeout(TIMEOUT, transcription.create_raw(request))
            .await
            .map_err(|_| VoiceError::Transcription(format!("no answer within {TIMEOUT:?}")))?
            .map_err(|e| VoiceError::Transcription(e.to_string()))?;
        let heard: Heard = serde_json::from_slice(&raw)
            .map_err(|e| VoiceError::Transcription(format!("unreadable answer: {e}")))?;
        let text = heard.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return Err(VoiceError::Transcription("nothing was heard".to_owned()));
        }
        Ok(text)
    }

    async fn download(&self, media_id: &str) -> Result<Vec<u8>, VoiceError> {
        if media_id.is_empty()
            || !media_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(VoiceError::Unusable("the media id is not one Meta gives".to_owned()));
        }
        let info_url = self.graph.join(media_id).map_err(|e| VoiceError::Download(e.to_string()))?;
        let info: MediaInfo = self
            .http
            .get(info_url)
            .bearer_auth(self.token.expose_secret())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| VoiceError::Download(e.without_url().to_string()))?
            .json()
            .await
            .map_err(|e| VoiceError::Download(format!("unreadable media description: {e}")))?;
        if !info.mime_type.as_deref().unwrap_or("audio/").starts_with("audio/") {
            return Err(VoiceError::Unusable(format!("{} is not audio", info.mime_type.unwrap_or_default())));
        }
        if info.file_size.is_some_and(|size| size > MAX_BYTES) {
            return Err(VoiceError::Unusable("it is larger than 16 MB".to_owned()));
        }
        let response = self
            .http
            .get(&info.url)
            .bearer_auth(self.token.expose_secret())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| VoiceError::Download(e.without_url().to_string()))?;
        if response.content_length().is_some_and(|size| size > MAX_BYTES) {
            return Err(VoiceError::Unusable("it is larger than 16 MB".to_owned()));
        }
        let bytes = response.bytes().await.map_err(|e| VoiceError::Download(e.without_url().to_string()))?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_BYTES {
            return Err(VoiceError::Unusable("it is larger than 16 MB".to_owned()));
        }
        if let Some(expected) = info.sha256.as_deref().filter(|s| !s.is_empty()) {
            let digest = sha2::Sha256::digest(&bytes);
            let hex = hex::encode(digest);
            let base64 = base64::engine::general_purpose::STANDARD.encode(digest);
            if !expected.eq_ignore_ascii_case(&hex) && expected != base64 {
                return Err(VoiceError::Unusable("its SHA-256 is not the one Meta gave".to_owned()));
            }
        }
        Ok(bytes.to_vec())
    }
}
