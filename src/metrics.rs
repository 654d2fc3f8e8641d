//! Process metrics in the Prometheus (OpenMetrics) text format.
//!
//! One [`Metrics`] per running app, with its own registry: no global recorder, so several apps in
//! one test process never mix their numbers. Modules add their metrics as fields registered in
//! [`Metrics::new`].
//!
//! A leaf: imports nothing of teller.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an HTTP request: the route template, never the raw path, to bound cardinality.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Request method.
    pub method: String,
    /// Route template such as `/health`, or `unmatched`.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// Labels of a webhook delivery's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// What happened: `accepted`, `bad_signature`, `unverified`, `unavailable`, `failed`; or
    /// for inbox rows `new`, `duplicate`; for statuses `applied`.
    pub outcome: &'static str,
}

/// Labels of a rate limit.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// Which limit: `customer` (messages per customer per minute) or `payments_ip`.
    pub limit: &'static str,
}

/// Labels of a job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// The job's name.
    pub job: &'static str,
}

/// Labels of a job run's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobRunLabels {
    /// The job's name.
    pub job: &'static str,
    /// `success` or `failure`.
    pub outcome: &'static str,
}

/// Labels of what a job counted.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobItemLabels {
    /// The job's name.
    pub job: &'static str,
    /// What it counted, e.g. `charged`, `posted`, `abandoned`.
    pub item: &'static str,
}

/// Labels of language understanding: which reader, and what came of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NluLabels {
    /// `rules` or `model`.
    pub reader: &'static str,
    /// Rules: `understood`, `unsure`. Model: `ok`, `open`, `timeout`, `error`, `malformed`,
    /// `refused`.
    pub outcome: &'static str,
}

/// Every metric teller exports.
pub struct Metrics {
    registry: Registry,
    /// Requests served, by method, route and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Request latency in seconds, by method, route and status.
    pub http_latency: Family<HttpLabels, Histogram>,
    /// Webhook deliveries, by outcome.
    pub webhooks: Family<OutcomeLabels, Counter>,
    /// Flows endpoint requests, by outcome.
    pub flows: Family<OutcomeLabels, Counter>,
    /// Alerts from Meta about the account, by kind: `template_paused`, `template_disabled`,
    /// `template_rejected`, `template_quality_red`, `number_flagged`, `number_downgraded`,
    /// `account_update`, `flow_health`.
    pub whatsapp_alerts: Family<OutcomeLabels, Counter>,
    /// Inbound messages and statuses stored from webhooks, by outcome.
    pub inbox: Family<OutcomeLabels, Counter>,
    /// Outbox sends by outcome: `sent`, `retry`, `failed`, `outside_window`, `postponed`.
    pub outbox: Family<OutcomeLabels, Counter>,
    /// Job runs by job and outcome.
    pub job_runs: Family<JobRunLabels, Counter>,
    /// Job run durations in seconds.
    pub job_duration: Family<JobLabels, Histogram>,
    /// When each job last succeeded (Unix seconds).
    pub job_last_success: Family<JobLabels, Gauge>,
    /// What jobs did, by job and item.
    pub job_items: Family<JobItemLabels, Counter>,
    /// Transfers whose outcome stayed unknown past the maximum age, moved to suspense.
    pub transfers_suspended: Counter,
    /// Free text read, by reader and outcome.
    pub nlu: Family<NluLabels, Counter>,
    /// Requests and messages refused by a rate limit, by limit (`customer`, `payments_ip`).
    pub rate_limited: Family<LimitLabels, Counter>,
    /// Sends started and not yet recorded, on this instance.
    pub outbox_in_flight: Gauge,
    /// Sends still waiting on the Graph API when their round ended.
    pub outbox_stragglers: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("teller");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests served", http_requests.clone());
        // 0.5 ms doubling to about 8 s: webhook latency targets sit in the low milliseconds.
        let http_latency = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 15))
        });
        registry.register("http_request_duration_seconds", "HTTP request latency", http_latency.clone());
        let webhooks = Family::<OutcomeLabels, Counter>::default();
        registry.register("webhooks", "WhatsApp webhook deliveries by outcome", webhooks.clone());
        let flows = Family::<OutcomeLabels, Counter>::default();
        registry.register("flows_requests", "WhatsApp Flows endpoint requests by outcome", flows.clone());
        let whatsapp_alerts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "whatsapp_alerts",
            "Meta's warnings about templates, the number and the account, by kind",
            whatsapp_alerts.clone(),
        );
        let inbox = Family::<OutcomeLabels, Counter>::default();
        registry.register("inbox", "Inbound messages and statuses stored, by outcome", inbox.clone());
        let outbox = Family::<OutcomeLabels, Counter>::default();
        registry.register("outbox", "Outbound messages settled, by outcome", outbox.clone());
        let job_runs = Family::<JobRunLabels, Counter>::default();
        registry.register("job_runs", "Worker job runs by job and outcome", job_runs.clone());
        // 10 ms doubling to about 45 minutes.
        let job_duration = Family::<JobLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.01, 2.0, 19))
        });
        registry.register("job_duration_seconds", "Worker job run duration", job_duration.clone());
        let job_last_success = Family::<JobLabels, Gauge>::default();
        registry.register(
            "job_last_success_timestamp_seconds",
            "When each worker job last succeeded",
            job_last_success.clone(),
        );
        let job_items = Family::<JobItemLabels, Counter>::default();
        registry.register("job_items", "What worker jobs did, by job and item", job_items.clone());
        let transfers_suspended = Counter::default();
        registry.register(
            "transfers_suspended",
            "Transfers to other banks still unknown past the maximum age, moved to suspense",
            transfers_suspended.clone(),
        );
        let nlu = Family::<NluLabels, Counter>::default();
        registry.register("nlu", "Free text read, by reader (rules, model) and outcome", nlu.clone());
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests and messages over a rate limit, by limit",
            rate_limited.clone(),
        );
        let outbox_in_flight = Gauge::default();
        registry.register(
            "outbox_in_flight",
            "Sends started and not yet recorded (bounded; at the bound the sender waits)",
            outbox_in_flight.clone(),
        );
        let outbox_stragglers = Counter::default();
        registry.register(
            "outbox_stragglers",
            "Sends still waiting on the Graph API when their round ended",
            outbox_stragglers.clone(),
        );
        Metrics {
            outbox_in_flight,
            outbox_stragglers,
            rate_limited,
            nlu,
            registry,
            http_requests,
            http_latency,
            webhooks,
            flows,
            whatsapp_alerts,
            inbox,
            outbox,
            job_runs,
            job_duration,
            job_last_success,
            job_items,
            transfers_suspended,
        }
    }

    /// Counts one request or message over `limit`.
    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited.get_or_create(&LimitLabels { limit }).inc();
    }

    /// Records one job run.
    pub fn job_run(&self, job: &'static str, ok: bool, elapsed: Duration, finished_at: i64) {
        let outcome = if ok { "success" } else { "failure" };
        self.job_runs.get_or_create(&JobRunLabels { job, outcome }).inc();
        self.job_duration.get_or_create(&JobLabels { job }).observe(elapsed.as_secs_f64());
        if ok {
            self.job_last_success.get_or_create(&JobLabels { job }).set(finished_at);
        }
    }

    /// Counts `n` of what `job` did.
    pub fn job_items(&self, job: &'static str, item: &'static str, n: u64) {
        self.job_items.get_or_create(&JobItemLabels { job, item }).inc_by(n);
    }

    /// Records one served request.
    pub fn observe_http(&self, labels: HttpLabels, elapsed: Duration) {
        self.http_latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
        self.http_requests.get_or_create(&labels).inc();
    }

    /// Counts one webhook delivery.
    pub fn webhook(&self, outcome: &'static str) {
        self.webhooks.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one Flows endpoint request.
    pub fn flows(&self, outcome: &'static str) {
        self.flows.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one settled outbound message.
    pub fn outbox(&self, outcome: &'static str) {
        self.outbox.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts what one webhook added to the inbox.
    pub fn inbox(&self, new: u64, duplicates: u64, statuses_applied: u64) {
        self.inbox.get_or_create(&OutcomeLabels { outcome: "new" }).inc_by(new);
        self.inbox.get_or_create(&OutcomeLabels { outcome: "duplicate" }).inc_by(duplicates);
        self.inbox.get_or_create(&OutcomeLabels { outcome: "status_applied" }).inc_by(statuses_applied);
    }

    /// The registry in OpenMetrics text.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
