//! `teller whatsapp …`: setting up the WhatsApp account from the files in the repository.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::conversation::FIRST_SCREENS;
use crate::store::SqlStore;
use crate::whatsapp::flow_crypto::FlowsKey;
use crate::whatsapp::manage::{Manager, PushedFlow, TemplatesFile, flow_screens};

/// `teller whatsapp …`.
#[derive(Debug, Subcommand)]
pub enum WhatsAppCommand {
    /// WhatsApp Flows (the PIN and code forms).
    #[command(subcommand)]
    Flows(FlowsPush),
    /// Message templates.
    #[command(subcommand)]
    Templates(TemplatesPush),
}

/// `teller whatsapp flows …`.
#[derive(Debug, Subcommand)]
pub enum FlowsPush {
    /// Upload the public half of WHATSAPP_FLOWS_PRIVATE_KEY for the number, then create and
    /// publish the Flow WHATSAPP_FLOWS_NAME from FILE, answering at ENDPOINT (teller's
    /// `/webhook/flows`); a published one keeps its JSON (Meta does not let it change) and gets
    /// the endpoint.
    Push {
        /// Where Meta reaches teller's Flows endpoint, e.g. https://bank.example/webhook/flows.
        #[arg(long)]
        endpoint: url::Url,
        /// The Flow JSON.
        #[arg(long, default_value = "whatsapp/teller_forms.json")]
        file: PathBuf,
    },
}

/// `teller whatsapp templates …`.
#[derive(Debug, Subcommand)]
pub enum TemplatesPush {
    /// Submit every template of FILE in each of its languages for Meta's review (those Meta
    /// has stay as they are), then print each one's review status and quality.
    Push {
        /// The templates file.
        #[arg(long, default_value = "whatsapp/templates.yaml")]
        file: PathBuf,
    },
}

/// Runs `command` against the Graph API the configuration names.
pub async fn run(config: &Config, command: WhatsAppCommand) -> anyhow::Result<()> {
    let manager = Manager::from_config(&config.whatsapp)?;
    match command {
        WhatsAppCommand::Flows(FlowsPush::Push { endpoint, file }) => {
            let pem = config.whatsapp.flows_private_key.as_ref().context(
                "WHATSAPP_FLOWS_PRIVATE_KEY is not set: make a 2048-bit RSA key (see the README) and set it",
            )?;
            let passphrase = config.whatsapp.flows_private_key_passphrase.as_ref().map(|p| p.expose_secret());
            let key = FlowsKey::from_pem(pem.expose_secret(), passphrase)?;
            let json =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let parsed = serde_json::from_str::<serde_json::Value>(&json)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let screens = flow_screens(&parsed).with_context(|| format!("{}", file.display()))?;
            // Opened first: a Flow published and not recorded would never have its new screens used.
            let store = super::admin::open(config).await?;
            manager.upload_public_key(&key.public_pem()).await?;
            println!(
                "public key uploaded for number {}",
                config.whatsapp.phone_number_id.as_deref().unwrap_or("")
            );
            let pushed = manager.push_flow(&config.whatsapp.flows_name, &json, &endpoint).await?;
            println!("{}", pushed.said);
            let said = record_screens(store.as_ref(), &config.whatsapp.flows_name, &pushed, &screens).await;
            store.close().await;
            // Where: a push run with another DATABASE_URL than the deployment's records nothing it uses.
            let database = crate::config::redact_url(config.database.url.expose_secret());
            let verb = if pushed.created { "recorded in" } else { "as recorded in" };
            println!("{verb} {database}: {}", said?);
        }
        WhatsAppCommand::Templates(TemplatesPush::Push { file }) => {
            let templates = TemplatesFile::load(&file)?;
            for line in manager.push_templates(&templates).await? {
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// Records the screens of a Flow created now from the file; for one published before, says
/// which of the file's screens teller will not use, and how to publish them.
async fn record_screens(
    store: &dyn SqlStore,
    name: &str,
    pushed: &PushedFlow,
    screens: &[String],
) -> anyhow::Result<String> {
    let mut tx = store.begin().await?;
    let held = if pushed.created {
        tx.whatsapp().set_flow_screens(name, &pushed.id, screens, chrono::Utc::now()).await?;
        screens.to_vec()
    } else {
        let recorded = tx.whatsapp().flow_screens(name).await?;
        recorded.unwrap_or_else(|| FIRST_SCREENS.iter().map(|s| (*s).to_owned()).collect())
    };
    tx.commit().await?;
    let missing: Vec<&str> = screens.iter().filter(|s| !held.contains(s)).map(String::as_str).collect();
    let mut said = format!("forms open on the screens {}", held.join(", "));
    if !missing.is_empty() {
        said.push_str(&format!(
            "; {name} was published without {}, and Meta does not let a published Flow change: \
             its questions stay typed in the chat. To use them, set WHATSAPP_FLOWS_NAME to a new \
             name (say {name}_2) on every component and push again",
            missing.join(", ")
        ));
    }
    Ok(said)
}
