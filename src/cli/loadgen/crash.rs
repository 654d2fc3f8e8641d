//! What `teller loadgen --kill-after N` adds: a `serve` killed with -9 under load and started
//! again (after `--down-secs`, as a container restarts), and a fake Graph API that behaves like
//! Meta after a crash. Each send it takes is reported back in a signed status webhook carrying
//! the send's `biz_opaque_callback_data`, as Meta reports sends: at once, and when that fails,
//! again "with decreasing frequency" (here after 15 s, 60 s and 5 minutes). So a restarted
//! teller can find out which of the replies in flight at the kill Meta had taken, if it looks
//! and waits. The report counts replies sent twice: the same outbox row (callback id) received
//! more than once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::signature;

/// When a status webhook is delivered, from when the send was taken: at once, then again with
/// decreasing frequency while teller does not answer 200 (Meta goes on for 7 days; a run does
/// not last that long).
const DELIVERIES: [Duration; 4] =
    [Duration::from_millis(300), Duration::from_secs(15), Duration::from_secs(60), Duration::from_secs(300)];

/// Where the fake Graph API reports sends, and what it has been asked to send.
pub(super) struct Meta {
    /// teller's base URL now (it changes when it restarts on another port) and app secret;
    /// `None`: status webhooks are not sent.
    teller: Mutex<Option<(String, String)>>,
    /// Sends received, by callback id.
    sends: Mutex<HashMap<String, u32>>,
    /// One client for every status webhook (building one per request costs more than the
    /// request: it reads the system's root certificates).
    client: reqwest::Client,
}

impl Meta {
    /// A fake Meta that reports nothing until told where to.
    pub(super) fn new() -> Meta {
        Meta { teller: Mutex::default(), sends: Mutex::default(), client: reqwest::Client::new() }
    }

    /// Starts reporting sends to the teller at `url`, signed with `secret`.
    pub(super) fn report_to(&self, url: &str, secret: &str) {
        if let Ok(mut teller) = self.teller.lock() {
            *teller = Some((url.to_owned(), secret.to_owned()));
        }
    }

    /// A send was taken under `wamid`: counted by its callback id, and reported back as Meta
    /// would, on a task of its own.
    pub(super) fn taken(self: &std::sync::Arc<Self>, body: &Value, wamid: &str) {
        let callback = body["biz_opaque_callback_data"].as_str().unwrap_or_default().to_owned();
        if let Ok(mut sends) = self.sends.lock() {
            *sends.entry(callback.clone()).or_default() += 1;
        }
        if self.teller.lock().is_ok_and(|t| t.is_none()) {
            return;
        }
        let to = body["to"].as_str().unwrap_or_default().to_owned();
        let (meta, wamid) = (self.clone(), wamid.to_owned());
        tokio::spawn(async move { meta.report(&to, &wamid, &callback).await });
    }

    async fn report(&self, to: &str, wamid: &str, callback: &str) {
        let status = json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550001111", "phone_number_id": "100" },
            "statuses": [{ "id": wamid, "status": "sent", "timestamp": chrono::Utc::now().timestamp().to_string(),
                           "recipient_id": to, "biz_opaque_callback_data": callback }],
        } }] }] })
        .to_string()
        .into_bytes();
        let client = &self.client;
        let taken = Instant::now();
        for at in DELIVERIES {
            tokio::time::sleep_until((taken + at).into()).await;
            let Some((url, secret)) = self.teller.lock().ok().and_then(|t| t.clone()) else { return };
            let sign = signature::sign(secret.as_bytes(), &status);
            let answer = client
                .post(format!("{url}/webhook"))
                .header("x-hub-signature-256", sign)
                .body(status.clone())
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return;
            }
        }
    }

    /// Replies received more than once (each extra copy counted), and replies received.
    pub(super) fn duplicates(&self) -> (u64, u64) {
        let sends = self.sends.lock().map(|s| s.clone()).unwrap_or_default();
        let extra = sends.values().map(|n| u64::from(n.saturating_sub(1))).sum();
        (extra, u64::try_from(sends.len()).unwrap_or(u64::MAX))
    }
}
