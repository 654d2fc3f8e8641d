//! The `teller` command line.
//!
//! Imports: anything.

pub mod admin;
pub mod chat;
pub mod loadgen;
pub mod whatsapp;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use self::admin::AdminCommand;
use crate::app::App;
use crate::config::Config;
use crate::{shutdown, store, telemetry};

/// teller: conversational banking over WhatsApp.
///
/// With no subcommand, `TELLER_ROLE` names it (`serve`, `worker`, `migrate`): a container image then
/// keeps one exec-form entrypoint and every platform component picks its role by environment,
/// with no command override that a platform might run through a shell (which would swallow
/// SIGTERM).
#[derive(Debug, Parser)]
#[command(name = "teller", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the webhook, health, metrics, admin and simulator over HTTP on $PORT.
    Serve,
    /// Apply pending database migrations, then exit (App Platform's pre-deploy job).
    Migrate,
    /// Run the scheduled jobs (stuck transfers, session cleanup, monthly fees, retention),
    /// with liveness and metrics on $WORKER_PORT. Any number may run: each job runs on one
    /// at a time.
    Worker {
        /// Run this one job now (due or not), print what it did, and exit.
        #[arg(long, value_name = "JOB")]
        once: Option<String>,
    },
    /// Load test: simulated customers send signed webhooks to a teller (one this command
    /// starts, or --target) and a fake Graph API receives the replies; prints throughput,
    /// end-to-end latency percentiles, errors and teller's peak memory.
    Loadgen(loadgen::LoadgenArgs),
    /// Work with flow definitions.
    #[command(subcommand)]
    Flows(FlowsCommand),
    /// Manage admin accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Language understanding.
    #[command(subcommand)]
    Nlu(NluCommand),
    /// Ask the running teller of this container whether it is healthy: GET /health on
    /// 127.0.0.1:$PORT (the worker's $WORKER_PORT when TELLER_ROLE=worker); exit 0 on 200, 1
    /// otherwise, within 3 seconds. The image's HEALTHCHECK, which has no shell or curl.
    Health,
    /// Chat with the bot in the terminal, through the same pipeline as WhatsApp, on the
    /// sandbox: buttons and lists show as numbered options.
    Chat {
        /// The customer's WhatsApp number.
        #[arg(long, default_value = "2348030000001")]
        phone: String,
    },
    /// Try things on the sandbox.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Customer care, for operations.
    #[command(subcommand)]
    Care(CareCommand),
    /// Set up the WhatsApp account: the PIN and code forms (Flows), the message templates.
    #[command(subcommand)]
    Whatsapp(whatsapp::WhatsAppCommand),
    /// The keys secrets are sealed with at rest (`SECRETS_KEY`).
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

/// `teller secrets …`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Print a new key for SECRETS_KEY (k<date>:<base64 of 32 random bytes>).
    NewKey,
    /// Seal every authenticator secret (customers' and admins') again under the first key of
    /// SECRETS_KEY, opening each with any key it lists; then the old keys can be dropped.
    Rotate,
}

/// `teller care …`.
#[derive(Debug, Subcommand)]
pub enum CareCommand {
    /// List the open tickets past their first-response or resolution target (config/care.yaml)
    /// and exit 1 when there is one: a scheduled job runs it (TELLER_ROLE=care-check), so a
    /// breach raises the job's failure alert.
    Check,
    /// Print a period's care: tickets opened by category, closed, open now, past a target, and
    /// the ratings customers gave (TELLER_ROLE=care-summary, daily).
    Summary {
        /// How many hours back.
        #[arg(long, default_value_t = 24)]
        hours: u32,
    },
}

/// `teller sandbox …`.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Add money to a sandbox customer's wallet, through the running teller (`teller serve` on
    /// the sandbox): it comes in as the payment provider's credit callback does, with the same
    /// limits and the same notice to the customer.
    Credit {
        /// The customer's WhatsApp number (registered).
        #[arg(long)]
        phone: String,
        /// How much, as a customer writes it: 20000, "₦20,000", 5k.
        #[arg(long)]
        amount: String,
        /// The running teller (default: http://127.0.0.1:$PORT, $PORT 8080 unless set).
        #[arg(long)]
        url: Option<String>,
    },
}

/// `teller flows …`.
#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Compile the flow files in DIR (default: $FLOWS_DIR, else `flows`); print one line per
    /// problem as `file:line:col: error|warning: message`; exit 1 on any error.
    Check {
        /// The directory of flow files.
        dir: Option<std::path::PathBuf>,
    },
}

/// `teller nlu …`.
#[derive(Debug, Subcommand)]
pub enum NluCommand {
    /// Score the understanding of free text against a labelled set (default `nlu/eval.yaml`):
    /// intent accuracy overall, per language and per intent, each entity's accuracy, and the
    /// utterances misunderstood. The rules always; with --model, the rules then the model where
    /// the rules are unsure (needs OPENAI_API_KEY). Exits 1 below --min-accuracy.
    Eval {
        /// The labelled set.
        #[arg(long, default_value = crate::nlu::eval::DEFAULT_SET)]
        set: std::path::PathBuf,
        /// Also score the rules with the model behind them.
        #[arg(long)]
        model: bool,
        /// The intent accuracy (percent) below which the command fails.
        #[arg(long, default_value_t = 90)]
        min_accuracy: u32,
    },
}

/// The subcommand named by `TELLER_ROLE`, for a command line that names none.
fn role_from_env() -> anyhow::Result<Command> {
    match std::env::var("TELLER_ROLE").as_deref().map(str::trim) {
        Ok("serve") => Ok(Command::Serve),
        Ok("migrate") => Ok(Command::Migrate),
        Ok("worker") => Ok(Command::Worker { once: None }),
        Ok("care-check") => Ok(Command::Care(CareCommand::Check)),
        Ok("care-summary") => Ok(Command::Care(CareCommand::Summary { hours: 24 })),
        Ok(other) => {
            anyhow::bail!(
                "TELLER_ROLE: expected serve, worker, migrate, care-check or care-summary, got {other:?}"
            )
        }
        Err(_) => anyhow::bail!(
            "no command given: run `teller serve`, `teller worker`, `teller migrate` (see --help) or set TELLER_ROLE"
        ),
    }
}

/// Runs a parsed command line to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command {
        Some(command) => command,
        None => role_from_env()?,
    };
    let command = match command {
        Command::Loadgen(args) => return loadgen::run(args).await,
        Command::Flows(FlowsCommand::Check { dir }) => return flows_check(dir),
        Command::Nlu(NluCommand::Eval { set, model, min_accuracy }) => {
            return nlu_eval(&set, model, min_accuracy).await;
        }
        Command::Admin(command) => {
            let config = Config::from_env()?;
            return admin::run(&config, command).await;
        }
        Command::Health => return health().await,
        Command::Secrets(SecretsCommand::NewKey) => {
            println!("k{}:{}", chrono::Utc::now().format("%Y%m%d"), crate::sealed::fresh_key());
            return Ok(());
        }
        Command::Sandbox(SandboxCommand::Credit { phone, amount, url }) => {
            return sandbox_credit(&phone, &amount, url).await;
        }
        other => other,
    };
    let config = Config::from_env()?;
    if let Command::Whatsapp(command) = command {
        return whatsapp::run(&config, command).await;
    }
    if let Command::Secrets(SecretsCommand::Rotate) = command {
        return secrets_rotate(&config).await;
    }
    if let Command::Chat { phone } = &command {
        // No log lines between the chat's: errors come back to the terminal as errors.
        return chat::run(config, phone).await;
    }
    telemetry::init(config.log_format)?;
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Worker { once } => worker(config, once).await,
        Command::Care(command) => care(config, command).await,
        Command::Loadgen(_)
        | Command::Flows(_)
        | Command::Chat { .. }
        | Command::Admin(_)
        | Command::Health
        | Command::Sandbox(_)
        | Command::Whatsapp(_)
        | Command::Secrets(_)
        | Command::Nlu(_) => Ok(()),
    }
}

/// `teller secrets rotate`: every authenticator secret sealed again under the current key.
async fn secrets_rotate(config: &Config) -> anyhow::Result<()> {
    let keys = config.secrets_keys()?;
    let store = admin::open(config).await?;
    let rotated = crate::admin::secrets::rotate(store.as_ref(), &keys).await;
    store.close().await;
    let rotated = rotated?;
    println!(
        "sealed under key {}: {} customer and {} admin authenticator secrets, {} identity numbers ({} were already)",
        keys.current(),
        rotated.customers,
        rotated.admins,
        rotated.identities,
        rotated.current
    );
    Ok(())
}

/// `teller sandbox credit`: money for a sandbox customer, through the running teller.
async fn sandbox_credit(phone: &str, amount: &str, url: Option<String>) -> anyhow::Result<()> {
    let base = match url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            format!("http://127.0.0.1:{}", std::env::var("PORT").unwrap_or_else(|_| "8080".into()).trim())
        }
    };
    let endpoint = format!("{base}/simulator/api/credit");
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
    let response = client
        .post(&endpoint)
        .json(&serde_json::json!({ "phone": phone, "amount": amount }))
        .send()
        .await
        .with_context(|| format!("POST {endpoint}: is `teller serve` running on the sandbox there?"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    match (status.as_u16(), body["status"].as_str()) {
        (200, Some("applied")) => {
            println!("added {amount} to {phone}");
            Ok(())
        }
        (200, Some("duplicate")) => {
            println!("already added");
            Ok(())
        }
        (404, _) => {
            anyhow::bail!("{endpoint}: not found: the sandbox is off there (WHATSAPP_ACCESS_TOKEN is set)")
        }
        (_, Some("unknown")) => {
            anyhow::bail!("{phone} has no account yet: register first (in the simulator)")
        }
        (_, Some("refused")) => anyhow::bail!("refused: it would take the account past its maximum balance"),
        _ => anyhow::bail!("{status}: {}", body["error"].as_str().unwrap_or("no reason given")),
    }
}

/// `teller health`: the container's own probe of the process beside it.
async fn health() -> anyhow::Result<()> {
    let role = std::env::var("TELLER_ROLE").unwrap_or_default();
    let (variable, default) = match role.trim() {
        // A one-shot job: nothing listens, and nothing needs to.
        "migrate" => return Ok(()),
        "worker" => ("WORKER_PORT", 9090),
        _ => ("PORT", 8080),
    };
    let port = match std::env::var(variable) {
        Ok(port) => {
            port.trim().parse::<u16>().with_context(|| format!("{variable}: not a port: {port:?}"))?
        }
        Err(_) => default,
    };
    let url = format!("http://127.0.0.1:{port}/health");
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(3)).build()?;
    let response = client.get(&url).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("GET {url}: {status}: {}", body.chars().take(300).collect::<String>());
    }
    println!("{body}");
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(backends = config.describe_backends(), "starting teller");
    let app = App::build(config).await?;
    let stop = shutdown::signal();
    tracing::info!(addr = %app.local_addr()?, "listening");
    app.run(stop).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn worker(config: Config, once: Option<String>) -> anyhow::Result<()> {
    tracing::info!(backends = config.describe_backends(), "starting the worker");
    let job = once.clone();
    if let Some(report) = crate::app::run_worker(config, once, shutdown::signal()).await? {
        println!("{}: {report}", job.unwrap_or_default());
    }
    tracing::info!("stopped");
    Ok(())
}

/// `teller care check` and `teller care summary`.
async fn care(config: Config, command: CareCommand) -> anyhow::Result<()> {
    let store = store::connect(&config.database).await?;
    store.schema_status().await?.ensure_current()?;
    let kv = crate::kv::connect(&config.kv)?;
    let clock: std::sync::Arc<dyn crate::clock::Clock> = std::sync::Arc::new(crate::clock::SystemClock);
    let wake = std::sync::Arc::new(crate::wake::Wake::default());
    let bank = crate::bank::setup::open(&config, &store, &kv, &wake, &clock).await?;
    let now = clock.now();
    let result = match command {
        CareCommand::Check => {
            let late = bank.late_tickets(now).await?;
            for l in &late {
                println!("{} ({}): {} {} minutes late", l.reference, l.category, l.target, l.minutes);
            }
            if late.is_empty() {
                println!("no open ticket is past its targets");
                Ok(())
            } else {
                tracing::error!(late = late.len(), "customer care tickets are past their targets");
                Err(anyhow::anyhow!("{} customer care targets missed", late.len()))
            }
        }
        CareCommand::Summary { hours } => {
            let summary = bank.care_summary(now - chrono::Duration::hours(i64::from(hours))).await?;
            print!("customer care, the last {hours} hours: {summary}");
            Ok(())
        }
    };
    store.close().await;
    result
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    tracing::info!(backends = config.describe_backends(), "migrating");
    let store = store::connect(&config.database).await?;
    let applied = store.migrate().await?;
    let status = store.schema_status().await?;
    store.close().await;
    status.ensure_current()?;
    if applied.is_empty() {
        tracing::info!(applied = ?status.applied, "schema already current");
    } else {
        tracing::info!(?applied, "migrations applied");
    }
    Ok(())
}

/// `teller flows check`: the report on stdout, a summary on stderr, exit 1 on any error.
async fn nlu_eval(set: &std::path::Path, with_model: bool, min_accuracy: u32) -> anyhow::Result<()> {
    use crate::nlu::{Reader, eval};
    let samples = eval::load(set)?;
    let config = Config::from_env()?;
    let country_code = &config.bank.country_code;
    let reader = Reader::from_config(&config.openai, &config.whatsapp)?;
    let rules: Vec<_> = samples.iter().map(|s| reader.rules(&s.text, country_code)).collect();
    let scores = eval::score(&samples, &rules);
    println!("{} utterances in {}\n\nrules\n{scores}", samples.len(), set.display());
    // What the rules cost per message: every non-secret text a customer sends is read.
    let passes = 50u32;
    let started = std::time::Instant::now();
    for _ in 0..passes {
        for sample in &samples {
            std::hint::black_box(crate::nlu::rules::understand(&sample.text, country_code));
        }
    }
    let reads = u128::from(passes) * samples.len() as u128;
    let per_read = started.elapsed().as_nanos() / reads.max(1);
    println!("rules: {per_read} ns per message on one core ({reads} reads)");
    let mut accuracy = scores.intent.per_mille();
    if with_model {
        let Some(model) = reader.model() else { anyhow::bail!("--model needs OPENAI_API_KEY") };
        let mut both = Vec::with_capacity(samples.len());
        for (sample, rules) in samples.iter().zip(rules) {
            let reading = if rules.decided().is_some() {
                rules
            } else {
                match model.understand(&sample.text, &sample.lang, country_code).await {
                    Ok(reading) => reading,
                    Err(err) => {
                        eprintln!("model: {err}");
                        rules
                    }
                }
            };
            both.push(reading);
        }
        let scores = eval::score(&samples, &both);
        println!("\nrules, then the model where they are unsure\n{scores}");
        accuracy = scores.intent.per_mille();
    }
    if accuracy < min_accuracy * 10 {
        eprintln!("intent accuracy {}.{}% is below {min_accuracy}%", accuracy / 10, accuracy % 10);
        std::process::exit(1);
    }
    Ok(())
}

fn flows_check(dir: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let dir = dir
        .or_else(|| std::env::var_os("FLOWS_DIR").filter(|d| !d.is_empty()).map(Into::into))
        .unwrap_or_else(|| "flows".into());
    let report = crate::flows::check_dir(&dir, &crate::bank::actions::declared())
        .map_err(|e| anyhow::anyhow!("cannot read flow files in {}: {e}", dir.display()))?;
    for diagnostic in &report.diagnostics {
        println!("{diagnostic}");
    }
    let errors = report.diagnostics.iter().filter(|d| d.severity == crate::flows::Severity::Error).count();
    let warnings = report.diagnostics.len() - errors;
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    eprintln!(
        "{} checked: {}, {}",
        plural(report.files, "flow file", "flow files"),
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings")
    );
    if errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}
