//! `teller loadgen`: simulated customers sending signed webhooks to a teller, with a fake Graph
//! API that receives teller's replies, reporting throughput and end-to-end latency.
//!
//! End-to-end latency is from the start of the webhook POST that carried a message to the moment
//! the fake Graph API receives the reply to it. Each customer's replies come back in the order of
//! their messages (teller guarantees it) and every message is `menu`, which the shipped flows
//! answer with exactly one message (the main menu, or for a customer not yet registered the
//! first question of registration), so the n-th reply to a customer answers their n-th message.
//!
//! Without `--target`, loadgen starts `teller serve` itself (this same binary) on a free port,
//! on the stores named by `DATABASE_URL` and `REDIS_URL` (a fresh SQLite file when unset),
//! pointed at the fake Graph API, and reports its peak memory.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use clap::Args;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::signature;

mod crash;
mod latency;
mod ledger;
mod verify;

/// The options of `teller loadgen`.
#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// A running teller's base URL (configured with this run's fake Graph API, see
    /// --graph-port). Without it, loadgen starts `teller serve` itself.
    #[arg(long)]
    pub target: Option<String>,
    /// The target's WHATSAPP_APP_SECRET (only with --target).
    #[arg(long, env = "WHATSAPP_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
    /// The target teller's process id, to report its peak memory (only with --target).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Simulated customers; messages go to them in turn.
    #[arg(long, default_value_t = 10_000)]
    pub customers: u32,
    /// Messages to send in all.
    #[arg(long, default_value_t = 20_000)]
    pub messages: u32,
    /// Messages per second to offer; 0 sends as fast as teller accepts them.
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
    /// Messages per webhook (1 = unbatched; Meta batches up to 1,000 updates).
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// Webhook requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Port for the fake Graph API (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub graph_port: u16,
    /// How long to wait for the last replies after the last webhook.
    #[arg(long, default_value_t = 60)]
    pub drain_secs: u64,
    /// WHATSAPP_SEND_RATE for the teller loadgen starts (Meta's 80/s would measure Meta's limit,
    /// not teller).
    #[arg(long, default_value_t = 100_000)]
    pub send_rate: u32,
    /// Kill the teller loadgen started with -9 once this many webhooks were answered 200, and
    /// start it again on the same stores and port; webhooks refused meanwhile are redelivered,
    /// as Meta does. Implies --statuses. The report counts replies sent twice.
    #[arg(long)]
    pub kill_after: Option<u32>,
    /// With --kill-after: how long teller stays down before it is started again.
    #[arg(long, default_value_t = 0)]
    pub down_secs: u64,
    /// Report each send back to teller in a signed status webhook, as Meta does (redelivered
    /// until answered 200), so teller can tell which replies Meta took.
    #[arg(long)]
    pub statuses: bool,
    /// The teller binary to start as the server (default: this one), to compare builds.
    #[arg(long)]
    pub serve_bin: Option<std::path::PathBuf>,
    /// How long the fake Graph API takes to answer a send it has taken (Meta's takes a few
    /// hundred milliseconds), so sends are in flight as they are in production.
    #[arg(long, default_value_t = 0)]
    pub graph_latency_ms: u64,
    /// Deliver this percentage of webhooks a second time, once teller has answered the first,
    /// as Meta does when it missed the 200 (after an outage, in a storm): each repeat must be
    /// stored once and answered never.
    #[arg(long, default_value_t = 0)]
    pub redeliver: u8,
    /// Measure the ledger instead of the message path: --messages internal transfers between
    /// --customers wallets it opens (on a database with no customers: DATABASE_URL, or a fresh
    /// SQLite file), --concurrency at once, each one unit of work through the bank, no HTTP;
    /// --redeliver asks that percentage again with the same key. Checks the ledger after.
    #[arg(long)]
    pub ledger: bool,
    /// Put this many milliseconds of network between teller and its PostgreSQL, each way (a
    /// proxy loadgen runs), as between an App Platform service and its managed database;
    /// fractions are kept (0.25: a round trip of half a millisecond).
    #[arg(long, default_value = "0", value_parser = latency::parse_millis)]
    pub db_latency_ms: Duration,
    /// The same between teller and its Redis (`REDIS_URL`), as to a managed Valkey.
    #[arg(long, default_value = "0", value_parser = latency::parse_millis)]
    pub kv_latency_ms: Duration,
}

/// What the fake Graph API has seen.
#[derive(Default)]
struct Replies {
    /// Per customer, when each of their unanswered messages' webhooks started, oldest first.
    pending: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// End-to-end latencies in microseconds.
    latencies: Mutex<Vec<u64>>,
    /// Replies that matched no message (should stay 0).
    unmatched: AtomicU64,
    /// Read receipts received.
    receipts: AtomicU64,
    /// When the last reply arrived.
    last: Mutex<Option<Instant>>,
    /// Per customer, the outbox ids of the replies received, in order.
    order: Mutex<HashMap<String, Vec<u64>>>,
    /// Per message number, when its webhook was sent and when it was answered 200.
    delivered: Mutex<verify::Delivered>,
    /// Woken at each reply.
    notify: Notify,
    next_id: AtomicU64,
}

impl Replies {
    fn sent(&self, customer: &str, at: Instant) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.entry(customer.to_owned()).or_default().push_back(at);
        }
    }

    fn received(&self, customer: &str) {
        let now = Instant::now();
        let start =
            self.pending.lock().ok().and_then(|mut p| p.get_mut(customer).and_then(VecDeque::pop_front));
        match start {
            Some(start) => {
                let micros = u64::try_from(now.duration_since(start).as_micros()).unwrap_or(u64::MAX);
                if let Ok(mut l) = self.latencies.lock() {
                    l.push(micros);
                }
            }
            None => {
                self.unmatched.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut last) = self.last.lock() {
            *last = Some(now);
        }
        self.notify.notify_waiters();
    }

    fn answered(&self) -> usize {
        self.latencies.lock().map(|l| l.len()).unwrap_or(0)
    }
}

/// The fake Graph API's state: the replies it matched, and Meta's after-crash behaviour.
#[derive(Clone)]
struct Fake {
    replies: Arc<Replies>,
    meta: Arc<crash::Meta>,
    latency: Duration,
}

async fn graph_messages(State(fake): State<Fake>, Json(body): Json<Value>) -> Json<Value> {
    let replies = &fake.replies;
    if body["status"] == "read" {
        replies.receipts.fetch_add(1, Ordering::Relaxed);
        return Json(json!({ "success": true }));
    }
    let to = body["to"].as_str().unwrap_or_default().to_owned();
    // Before it counts as received: the report is read as soon as the last one is.
    if let (Ok(mut order), Some(id)) =
        (replies.order.lock(), body["biz_opaque_callback_data"].as_str().and_then(|id| id.parse().ok()))
    {
        order.entry(to.clone()).or_default().push(id);
    }
    replies.received(&to);
    let n = replies.next_id.fetch_add(1, Ordering::Relaxed);
    let wamid = format!("wamid.loadgen.{n}");
    fake.meta.taken(&body, &wamid);
    if !fake.latency.is_zero() {
        tokio::time::sleep(fake.latency).await;
    }
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": to }],
        "messages": [{ "id": wamid }],
    }))
}

/// The teller under load: one loadgen started, or one given.
struct Target {
    url: String,
    secret: String,
    pid: Mutex<Option<u32>>,
    child: tokio::sync::Mutex<Option<tokio::process::Child>>,
    /// How it was started, to start it again after a kill: the binary and its environment.
    started: Option<(std::path::PathBuf, Vec<(&'static str, String)>)>,
    sqlite_file: Option<std::path::PathBuf>,
}

impl Target {
    async fn spawn(args: &LoadgenArgs, graph: SocketAddr) -> anyhow::Result<Target> {
        let exe = match &args.serve_bin {
            Some(bin) => bin.clone(),
            None => std::env::current_exe().context("cannot find the teller binary")?,
        };
        let port = free_port()?;
        let secret = format!("loadgen-{}", uuid::Uuid::new_v4().simple());
        let mut sqlite_file = None;
        let database_url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() && !args.db_latency_ms.is_zero() => {
                latency::delayed(&url, args.db_latency_ms).await?
            }
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                let file = std::env::temp_dir().join(format!("teller-loadgen-{}.db", std::process::id()));
                let url = format!("sqlite://{}", file.display());
                sqlite_file = Some(file);
                url
            }
        };
        let mut env = vec![
            ("PORT", port.to_string()),
            ("DATABASE_URL", database_url),
            ("WHATSAPP_APP_SECRET", secret.clone()),
            ("WHATSAPP_ACCESS_TOKEN", "loadgen".to_owned()),
            ("WHATSAPP_PHONE_NUMBER_ID", "100".to_owned()),
            ("WHATSAPP_API_BASE_URL", format!("http://{graph}")),
            ("WHATSAPP_SEND_RATE", args.send_rate.to_string()),
            ("WHATSAPP_PAIR_BURST", "45".to_owned()),
            ("KV_PREFIX", format!("loadgen-{}:", std::process::id())),
            ("LOG_FORMAT", "json".to_owned()),
            // A key of this run's own unless one is given: PostgreSQL needs one to start.
            (
                "SECRETS_KEY",
                std::env::var("SECRETS_KEY")
                    .unwrap_or_else(|_| format!("loadgen:{}", crate::sealed::fresh_key())),
            ),
            ("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned())),
        ];
        if let Ok(url) = std::env::var("REDIS_URL")
            && !args.kv_latency_ms.is_zero()
        {
            env.push(("REDIS_URL", latency::delayed(&url, args.kv_latency_ms).await?));
        }
        let migrate = tokio::process::Command::new(&exe).arg("migrate").envs(env.clone()).status().await?;
        anyhow::ensure!(migrate.success(), "teller migrate failed");
        let url = format!("http://127.0.0.1:{port}");
        let target = Target {
            url,
            secret,
            pid: Mutex::new(None),
            child: tokio::sync::Mutex::new(None),
            started: Some((exe, env)),
            sqlite_file,
        };
        target.start().await?;
        Ok(target)
    }

    /// Starts `teller serve` as it was first started, and waits until it is healthy.
    async fn start(&self) -> anyhow::Result<()> {
        let (exe, env) = self.started.as_ref().context("a --target cannot be started by loadgen")?;
        let child = tokio::process::Command::new(exe)
            .arg("serve")
            .envs(env.iter().cloned())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start teller serve")?;
        if let Ok(mut pid) = self.pid.lock() {
            *pid = child.id();
        }
        *self.child.lock().await = Some(child);
        self.wait_healthy().await
    }

    /// SIGKILL (no drain, no cleanup), then, `down` later, starts it again on the same stores
    /// and port.
    async fn kill_and_restart(&self, down: Duration) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.lock().await.take() {
            child.start_kill()?;
            let _ = child.wait().await;
        }
        eprintln!("killed teller with -9; starting it again in {down:?}");
        tokio::time::sleep(down).await;
        self.start().await
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(format!("{}/health", self.url)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "teller at {} did not become healthy in 30 s",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The store the target runs on, when loadgen knows it (it started it, or `DATABASE_URL`).
    fn database_url(&self) -> Option<String> {
        let started = self.started.as_ref()?;
        started.1.iter().find(|(name, _)| *name == "DATABASE_URL").map(|(_, url)| url.clone())
    }

    /// The peak resident memory of the target process (Linux only), in KiB.
    fn peak_memory_kib(&self) -> Option<u64> {
        let pid = self.pid.lock().ok().and_then(|p| *p)?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    async fn stop(mut self) {
        if let Some(mut child) = self.child.get_mut().take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        if let Some(file) = self.sqlite_file.take() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

/// Customer `n`'s WhatsApp id.
fn customer(n: u32) -> String {
    format!("234900{n:07}")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One webhook: `batch` messages, each from its customer, as Meta batches them.
fn webhook(messages: &[(String, String)], now: i64) -> Vec<u8> {
    let contacts: Vec<Value> =
        messages.iter().map(|(wa_id, _)| json!({ "profile": { "name": "Load" }, "wa_id": wa_id })).collect();
    let messages: Vec<Value> = messages
        .iter()
        .map(|(wa_id, id)| {
            json!({ "from": wa_id, "id": id, "timestamp": now.to_string(), "type": "text", "text": { "body": "menu" } })
        })
        .collect();
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "15550001111", "phone_number_id": "100" },
        "contacts": contacts,
        "messages": messages,
    } }] }] })
    .to_string()
    .into_bytes()
}

/// Runs a load test and prints its report.
pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.customers > 0 && args.messages > 0, "--customers and --messages must be positive");
    anyhow::ensure!((1..=1000).contains(&args.batch), "--batch must be from 1 to 1000");
    anyhow::ensure!(
        args.kill_after.is_none_or(|after| after > 0 && after < args.messages.div_ceil(args.batch)),
        "--kill-after must be between 1 and the number of webhooks"
    );
    anyhow::ensure!(args.redeliver <= 100, "--redeliver is a percentage, from 0 to 100");
    anyhow::ensure!(
        args.db_latency_ms.is_zero()
            || (args.target.is_none() && std::env::var("DATABASE_URL").is_ok_and(|u| !u.trim().is_empty())),
        "--db-latency-ms needs DATABASE_URL on PostgreSQL, and a teller loadgen starts itself"
    );
    anyhow::ensure!(
        args.kv_latency_ms.is_zero()
            || (args.target.is_none()
                && !args.ledger
                && std::env::var("REDIS_URL").is_ok_and(|u| !u.trim().is_empty())),
        "--kv-latency-ms needs REDIS_URL, and a teller loadgen starts itself for the message path"
    );
    if args.ledger {
        return ledger::run(&args).await;
    }
    let replies = Arc::new(Replies::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.graph_port)).await?;
    let graph = listener.local_addr()?;
    let meta = Arc::new(crash::Meta::new());
    let router =
        axum::Router::new().route("/{version}/{number}/messages", post(graph_messages)).with_state(Fake {
            replies: replies.clone(),
            meta: meta.clone(),
            latency: Duration::from_millis(args.graph_latency_ms),
        });
    let graph_server = tokio::spawn(async move { axum::serve(listener, router).await });
    eprintln!("fake Graph API on http://{graph}");

    let target = match &args.target {
        Some(url) => Target {
            url: url.trim_end_matches('/').to_owned(),
            secret: args.app_secret.clone().context("--target needs --app-secret or WHATSAPP_APP_SECRET")?,
            pid: Mutex::new(args.pid),
            child: tokio::sync::Mutex::new(None),
            started: None,
            sqlite_file: None,
        },
        None => Target::spawn(&args, graph).await?,
    };
    anyhow::ensure!(
        args.kill_after.is_none() || args.target.is_none(),
        "--kill-after needs a teller loadgen starts itself, not --target"
    );
    if args.statuses || args.kill_after.is_some() {
        meta.report_to(&target.url, &target.secret);
    }
    eprintln!(
        "sending {} messages from {} customers, {} per webhook, at {} to {}",
        args.messages,
        args.customers,
        args.batch,
        if args.rate == 0 { "full speed".to_owned() } else { format!("{}/s", args.rate) },
        target.url
    );
    if let Ok(mut delivered) = replies.delivered.lock() {
        *delivered = vec![None; usize::try_from(args.messages).unwrap_or(0)];
    }
    let report = drive(&args, &target, &replies).await;
    let peak = target.peak_memory_kib();
    let (twice, distinct) = meta.duplicates();
    let kept = {
        let customers: Vec<String> = (0..args.customers.min(args.messages)).map(customer).collect();
        let received = replies.order.lock().map(|o| o.clone()).unwrap_or_default();
        let url = target.database_url();
        let delivered = replies.delivered.lock().map(|d| d.clone()).unwrap_or_default();
        verify::check(url.as_deref(), &customers, &delivered, &received, twice).await
    };
    target.stop().await;
    graph_server.abort();
    let report = report?;
    report.print(&args, peak, &replies);
    if args.statuses || args.kill_after.is_some() {
        println!("replies sent twice     {twice} (of {distinct} distinct replies)");
    }
    match kept {
        Ok(kept) => println!(
            "lost, duplicated, out of order {} {} {}{}",
            kept.lost,
            kept.duplicated,
            kept.out_of_order,
            if kept.store_checked { "" } else { " (sends only: the store was not read)" }
        ),
        Err(err) => println!("lost, duplicated, out of order: not checked ({err:#})"),
    }
    Ok(())
}

struct Report {
    elapsed_send: Duration,
    elapsed_total: Duration,
    errors: u64,
    /// Webhooks delivered a second time (`--redeliver`).
    redelivered: u64,
    http_latencies: Vec<u64>,
}

async fn drive(args: &LoadgenArgs, target: &Target, replies: &Arc<Replies>) -> anyhow::Result<Report> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let url = format!("{}/webhook", target.url);
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let batches = args.messages.div_ceil(args.batch);
    let errors = Arc::new(AtomicU64::new(0));
    let redelivered = Arc::new(AtomicU64::new(0));
    let http_latencies = Arc::new(Mutex::new(Vec::with_capacity(usize::try_from(batches).unwrap_or(0))));
    let started = Instant::now();
    // Open loop: batch k is due at k / (rate / batch) seconds, whatever teller's pace.
    let interval = (args.rate > 0).then(|| Duration::from_secs(u64::from(args.batch)) / args.rate);

    let answered = Arc::new(AtomicU64::new(0));
    let kill = async {
        if let Some(after) = args.kill_after {
            while answered.load(Ordering::Relaxed) < u64::from(after) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            target.kill_and_restart(Duration::from_secs(args.down_secs)).await?;
        }
        Ok::<(), anyhow::Error>(())
    };
    let requests = futures_util::stream::iter(0..batches).map(|k| {
        let (client, url, secret) = (client.clone(), url.clone(), target.secret.clone());
        let (replies, errors, http_latencies, run_id, answered) =
            (replies.clone(), errors.clone(), http_latencies.clone(), run_id.clone(), answered.clone());
        let redelivered = redelivered.clone();
        async move {
            if let Some(interval) = interval {
                tokio::time::sleep_until((started + interval * k).into()).await;
            }
            let first = k * args.batch;
            let last = (first + args.batch).min(args.messages);
            let messages: Vec<(String, String)> = (first..last)
                .map(|n| (customer(n % args.customers), format!("wamid.{run_id}.{n}")))
                .collect();
            let now = chrono::Utc::now().timestamp();
            let body = webhook(&messages, now);
            let sign = signature::sign(secret.as_bytes(), &body);
            let at = Instant::now();
            for (customer, _) in &messages {
                replies.sent(customer, at);
            }
            let answered_ok = post_batch(&client, &url, &sign, &body, args.kill_after.is_some()).await;
            if answered_ok && let Ok(mut delivered) = replies.delivered.lock() {
                let (first, last) = (usize::try_from(first).unwrap_or(0), usize::try_from(last).unwrap_or(0));
                if let Some(these) = delivered.get_mut(first..last) {
                    these.fill(Some((at, Instant::now())));
                }
            }
            let micros = u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX);
            if let Ok(mut l) = http_latencies.lock() {
                l.push(micros);
            }
            let counter = if answered_ok { &answered } else { &errors };
            counter.fetch_add(1, Ordering::Relaxed);
            if answered_ok && k % 100 < u32::from(args.redeliver) {
                // The repeat is answered 200 too; its messages are already counted as sent.
                let counter =
                    if post_batch(&client, &url, &sign, &body, false).await { &redelivered } else { &errors };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let (_, killing) =
        tokio::join!(requests.buffer_unordered(args.concurrency.max(1)).collect::<Vec<()>>(), kill);
    killing?;
    let elapsed_send = started.elapsed();

    let expected = usize::try_from(args.messages).unwrap_or(usize::MAX);
    let drain_deadline = Instant::now() + Duration::from_secs(args.drain_secs);
    while replies.answered() < expected && Instant::now() < drain_deadline {
        let _ = tokio::time::timeout(Duration::from_millis(200), replies.notify.notified()).await;
    }
    let last = replies.last.lock().ok().and_then(|l| *l).unwrap_or_else(Instant::now);
    let http_latencies = http_latencies.lock().map(|l| l.clone()).unwrap_or_default();
    Ok(Report {
        elapsed_send,
        elapsed_total: last.duration_since(started),
        errors: errors.load(Ordering::Relaxed),
        redelivered: redelivered.load(Ordering::Relaxed),
        http_latencies,
    })
}

/// Posts one signed batch, and whether teller answered 200; around a kill, posts it again until
/// answered, as Meta redelivers.
async fn post_batch(client: &reqwest::Client, url: &str, sign: &str, body: &[u8], redeliver: bool) -> bool {
    let send = || client.post(url).header("x-hub-signature-256", sign).body(body.to_vec()).send();
    let mut response = send().await;
    let redeliver_until = Instant::now() + Duration::from_secs(60);
    while redeliver
        && !response.as_ref().is_ok_and(|r| r.status().is_success())
        && Instant::now() < redeliver_until
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
        response = send().await;
    }
    match response {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            eprintln!("webhook answered {}", r.status());
            false
        }
        Err(e) => {
            eprintln!("webhook failed: {e}");
            false
        }
    }
}

/// The `p`-th percentile (0–100) of sorted `values`, nearest rank.
fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let len = u64::try_from(sorted.len()).unwrap_or(u64::MAX);
    let rank = (p * len).div_ceil(100).clamp(1, len);
    sorted.get(usize::try_from(rank - 1).unwrap_or(0)).copied().unwrap_or(0)
}

fn millis(micros: u64) -> String {
    format!("{}.{:01}", micros / 1000, (micros % 1000) / 100)
}

fn per_second(count: u64, elapsed: Duration) -> u64 {
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).max(1);
    count.saturating_mul(1_000_000) / micros
}

impl Report {
    fn print(&self, args: &LoadgenArgs, peak_kib: Option<u64>, replies: &Replies) {
        let mut e2e = replies.latencies.lock().map(|l| l.clone()).unwrap_or_default();
        e2e.sort_unstable();
        let mut http = self.http_latencies.clone();
        http.sort_unstable();
        let answered = u64::try_from(e2e.len()).unwrap_or(u64::MAX);
        let sent = u64::from(args.messages);
        println!(
            "messages sent          {sent} in {} webhooks ({} failed, {} delivered twice)",
            http.len(),
            self.errors,
            self.redelivered
        );
        println!(
            "webhook intake         {} msg/s over {:.1?}",
            per_second(sent, self.elapsed_send),
            self.elapsed_send
        );
        println!(
            "replies received       {answered} of {sent}; end-to-end {} msg/s over {:.1?}",
            per_second(answered, self.elapsed_total),
            self.elapsed_total
        );
        println!(
            "end-to-end latency ms  p50 {}  p90 {}  p99 {}  max {}",
            millis(percentile(&e2e, 50)),
            millis(percentile(&e2e, 90)),
            millis(percentile(&e2e, 99)),
            millis(e2e.last().copied().unwrap_or(0))
        );
        println!(
            "webhook POST ms        p50 {}  p90 {}  p99 {}  max {}",
            millis(percentile(&http, 50)),
            millis(percentile(&http, 90)),
            millis(percentile(&http, 99)),
            millis(http.last().copied().unwrap_or(0))
        );
        println!(
            "read receipts          {}; unmatched replies {}",
            replies.receipts.load(Ordering::Relaxed),
            replies.unmatched.load(Ordering::Relaxed)
        );
        match peak_kib {
            Some(kib) => println!("teller peak memory     {} MiB", kib / 1024),
            None => println!("teller peak memory     unknown (pass --pid)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), 50);
        assert_eq!(percentile(&values, 99), 99);
        assert_eq!(percentile(&values, 100), 100);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 99), 0);
    }

    #[test]
    fn a_batched_webhook_carries_every_message_with_its_contact() {
        let body = webhook(
            &[("2349000000001".into(), "a".into()), ("2349000000002".into(), "b".into())],
            1_795_000_000,
        );
        let parsed = crate::whatsapp::notification::Notification::parse(&body).unwrap();
        assert_eq!(parsed.messages.len(), 2);
        assert_eq!(parsed.messages[1].sender.wa_id.as_ref().map(|w| w.as_str()), Some("2349000000002"));
    }
}
