//! The application's state: what every request handler shares. Only `http/` names it (and
//! `app.rs`, which builds it); use cases take the parts they need.

use std::sync::Arc;

use crate::admin::preview::Previews;
use crate::bank::Bank;
use crate::clock::Clock;
use crate::config::Config;
use crate::conversation::Conversations;
use crate::hashing::Hasher;
use crate::http::limit::PerAddress;
use crate::kv::Kv;
use crate::metrics::Metrics;
use crate::store::SqlStore;
use crate::wake::Wake;
use crate::whatsapp::graph::Transport;
use crate::whatsapp::intake::Intake;

/// What every request handler and background task shares: [`Shared`], behind one reference
/// count. Axum clones the state for every request and every layer it passes; one count to
/// raise and drop, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl From<Shared> for AppState {
    fn from(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    /// Configuration, read once at start.
    pub config: Arc<Config>,
    /// The SQL store.
    pub store: Arc<dyn SqlStore>,
    /// Stores verified webhooks, those arriving together in one commit.
    pub intake: Arc<Intake>,
    /// The KV store.
    pub kv: Arc<dyn Kv>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// Wakes this instance's dispatcher when new inbound messages were queued.
    pub wake: Arc<Wake>,
    /// When this instance last woke the others' dispatchers.
    pub wake_published: Arc<crate::http::webhook::WakePublished>,
    /// Wakes this instance's sender when replies were queued.
    pub outbox_wake: Arc<Wake>,
    /// Where replies go: the Graph API, or the sandbox when there is no access token.
    pub transport: Arc<dyn Transport>,
    /// The flows, the sessions and the actions: what answers customers.
    pub conversations: Arc<Conversations>,
    /// Customers, the ledger and money movement.
    pub bank: Arc<Bank>,
    /// The time, as the bank and the jobs read it.
    pub clock: Arc<dyn Clock>,
    /// The admin console's preview bank (made on first use).
    pub previews: Arc<Previews>,
    /// Payment callbacks per client address.
    pub payments_limit: Arc<PerAddress>,
    /// Every argon2 check (PINs, admin passwords) runs here, within `HASH_MEMORY_MIB`.
    pub hasher: Arc<Hasher>,
    /// Seals authenticator secrets at rest (`SECRETS_KEY`).
    pub sealing: Arc<crate::sealed::Keys>,
    /// The Flows endpoint's key (`WHATSAPP_FLOWS_PRIVATE_KEY`); `None`: no endpoint.
    pub flows_key: Option<Arc<crate::whatsapp::flow_crypto::FlowsKey>>,
}
