//! Process metrics in the Prometheus (OpenMetrics) text format.
//!
//! One [`Metrics`] per running app, with its own registry: no global recorder, so several apps in
//! one test process never mix their numbers. Modules add their metrics as fields registered in
//! [`Metrics::new`].

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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

/// Every metric teller exports.
pub struct Metrics {
    registry: Registry,
    /// Requests served, by method, route and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Request latency in seconds, by method, route and status.
    pub http_latency: Family<HttpLabels, Histogram>,
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
        Metrics { registry, http_requests, http_latency }
    }

    /// Records one served request.
    pub fn observe_http(&self, labels: HttpLabels, elapsed: Duration) {
        self.http_latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
        self.http_requests.get_or_create(&labels).inc();
    }

    /// The registry in OpenMetrics text.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
