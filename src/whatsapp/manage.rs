//! Setting up the WhatsApp account through the Graph API, for `teller whatsapp … push`: the
//! Flow teller's forms use (created or updated, published, its endpoint set), the business
//! public key the forms are encrypted to, and the message templates teller sends (submitted for
//! review, their status reported). Meta's errors come back as they are, with the call named.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::config::WhatsAppConfig;

/// The Graph API, as the account's manager.
pub struct Manager {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
    account: String,
    number: String,
}

impl Manager {
    /// A manager from the configuration: needs the access token, the number and the account.
    pub fn from_config(config: &WhatsAppConfig) -> anyhow::Result<Manager> {
        let token = config.access_token.clone().context("WHATSAPP_ACCESS_TOKEN is not set")?;
        let number = config.phone_number_id.clone().context("WHATSAPP_PHONE_NUMBER_ID is not set")?;
        let account = config.business_account_id.clone().context(
            "WHATSAPP_BUSINESS_ACCOUNT_ID is not set: the WhatsApp Business Account's id (Meta's WhatsApp Manager shows it)",
        )?;
        let base = config.api_base_url.join(&format!("{}/", config.api_version.trim_matches('/')))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("teller/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Manager { http, base, token, account, number })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        form: Option<&[(&str, String)]>,
    ) -> anyhow::Result<Value> {
        let url = self.base.join(path)?;
        let mut request = self.http.request(method.clone(), url).bearer_auth(self.token.expose_secret());
        if let Some(form) = form {
            request = request.form(form);
        }
        let response =
            request.send().await.with_context(|| format!("{method} {path}: Meta did not answer"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            let message = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("no message");
            let code = body.pointer("/error/code").and_then(Value::as_i64).unwrap_or_default();
            bail!("{method} {path}: Meta answered {status} (code {code}): {message}");
        }
        Ok(body)
    }

    /// Uploads the public half of the Flows key for the number.
    pub async fn upload_public_key(&self, public_pem: &str) -> anyhow::Result<()> {
        let path = format!("{}/whatsapp_business_encryption", self.number);
        self.call(reqwest::Method::POST, &path, Some(&[("business_public_key", public_pem.to_owned())]))
            .await?;
        Ok(())
    }

    /// Makes the Flow `name` hold `flow_json`, published, answering at `endpoint`: created and
    /// published when missing; a draft left by an earlier try replaced; a published one (which
    /// Meta does not let be edited) kept, its endpoint set. Says what it did.
    pub async fn push_flow(&self, name: &str, flow_json: &str, endpoint: &Url) -> anyhow::Result<PushedFlow> {
        let listed = self
            .call(reqwest::Method::GET, &format!("{}/flows?fields=id,name,status", self.account), None)
            .await?;
        let existing = listed["data"].as_array().into_iter().flatten().find(|f| f["name"] == name).cloned();
        if let Some(flow) = &existing {
            let id = flow["id"].as_str().context("a listed Flow without an id")?;
            if flow["status"] == "PUBLISHED" {
                self.call(reqwest::Method::POST, id, Some(&[("endpoint_uri", endpoint.to_string())])).await?;
                let said = format!("{name} ({id}) is published already; its endpoint is now {endpoint}");
                return Ok(PushedFlow { id: id.to_owned(), created: false, said });
            }
            // A draft cannot be sent: it is replaced by a published one.
            self.call(reqwest::Method::DELETE, id, None).await?;
        }
        let form = [
            ("name", name.to_owned()),
            ("categories", json!(["OTHER"]).to_string()),
            ("flow_json", flow_json.to_owned()),
            ("publish", "true".to_owned()),
            ("endpoint_uri", endpoint.to_string()),
        ];
        let created =
            self.call(reqwest::Method::POST, &format!("{}/flows", self.account), Some(&form)).await?;
        let id = created["id"].as_str().context("Meta created the Flow but gave no id")?;
        let errors = created["validation_errors"].as_array().cloned().unwrap_or_default();
        if !errors.is_empty() {
            bail!("Meta found problems in the Flow JSON of {name} ({id}): {}", Value::Array(errors));
        }
        let said = format!("{name} ({id}) created and published, answering at {endpoint}");
        Ok(PushedFlow { id: id.to_owned(), created: true, said })
    }

    /// Submits each template of `file` in each of its languages (one Meta already has is left
    /// as it is), then reports every one's review status and quality.
    pub async fn push_templates(&self, file: &TemplatesFile) -> anyhow::Result<Vec<String>> {
        for template in &file.templates {
            for (language, text) in &template.languages {
                let body = template.submission(language, text);
                let path = format!("{}/message_templates", self.account);
                let form: Vec<(&str, String)> = body
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                    .collect();
                match self.call(reqwest::Method::POST, &path, Some(&form)).await {
                    Ok(_) => {}
                    // Meta refuses a name and language it has: submitted before.
                    Err(err) if err.to_string().contains("already exists") => {}
                    Err(err) => return Err(err),
                }
            }
        }
        self.template_report(file).await
    }

    async fn template_report(&self, file: &TemplatesFile) -> anyhow::Result<Vec<String>> {
        let path =
            format!("{}/message_templates?fields=name,language,status,quality_score&limit=200", self.account);
        let listed = self.call(reqwest::Method::GET, &path, None).await?;
        let mut lines = Vec::new();
        for template in &file.templates {
            for language in template.languages.keys() {
                let found = listed["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| t["name"] == template.name.as_str() && t["language"] == language.as_str());
                let status = found.and_then(|t| t["status"].as_str()).unwrap_or("NOT FOUND");
                let quality = found
                    .and_then(|t| t.pointer("/quality_score/score").and_then(Value::as_str))
                    .unwrap_or("UNKNOWN");
                lines.push(format!("{} {language}: {status}, quality {quality}", template.name));
            }
        }
        Ok(lines)
    }
}

/// What pushing a Flow did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedFlow {
    /// Meta's id for the Flow.
    pub id: String,
    /// Created and published now from the file (else it was published already, as it was).
    pub created: bool,
    /// What was done, in a line.
    pub said: String,
}

/// The ids of the screens a Flow JSON holds, in its order.
pub fn flow_screens(flow_json: &Value) -> anyhow::Result<Vec<String>> {
    let screens = flow_json["screens"].as_array().context("the Flow JSON has no screens")?;
    screens
        .iter()
        .map(|screen| screen["id"].as_str().map(str::to_owned).context("a screen of the Flow JSON has no id"))
        .collect()
}

/// `whatsapp/templates.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesFile {
    /// The templates.
    pub templates: Vec<TemplateSpec>,
}

/// One template, in each language it ships in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    /// Its name.
    pub name: String,
    /// `UTILITY`, `MARKETING` or `AUTHENTICATION`.
    pub category: String,
    /// For an authentication template: the expiry line's minutes.
    #[serde(default)]
    pub code_expiration_minutes: Option<u32>,
    /// Meta language code → its text (none for an authentication template: Meta's preset).
    pub languages: BTreeMap<String, LanguageText>,
}

/// A template's text in one language.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageText {
    /// The body.
    #[serde(default)]
    pub body: Option<String>,
}

impl TemplateSpec {
    /// The `message_templates` submission in `language`.
    fn submission(&self, language: &str, text: &LanguageText) -> Value {
        let components = if self.category == "AUTHENTICATION" {
            json!([
                { "type": "BODY", "add_security_recommendation": true },
                { "type": "FOOTER", "code_expiration_minutes": self.code_expiration_minutes.unwrap_or(10) },
                { "type": "BUTTONS", "buttons": [{ "type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code" }] },
            ])
        } else {
            json!([{ "type": "BODY", "text": text.body.clone().unwrap_or_default() }])
        };
        json!({ "name": self.name, "language": language, "category": self.category,
                "components": components.to_string() })
    }
}

impl TemplatesFile {
    /// Reads and checks the file at `path`.
    pub fn load(path: &std::path::Path) -> anyhow::Result<TemplatesFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let file: TemplatesFile = marked_yaml::from_yaml(0, &text)
            .with_context(|| format!("{} is not a templates file", path.display()))?;
        for template in &file.templates {
            if let Some(problem) = crate::config::template_name_problem(&template.name, "en") {
                bail!("{}: template {:?} {problem}", path.display(), template.name);
            }
            let authentication = template.category == "AUTHENTICATION";
            for (language, text) in &template.languages {
                if !authentication && text.body.as_deref().is_none_or(|b| b.trim().is_empty()) {
                    bail!("{}: template {} has no body in {language}", path.display(), template.name);
                }
            }
        }
        Ok(file)
    }
}
