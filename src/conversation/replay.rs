//! Action outcomes kept under their idempotency key, so a message handled again (a dispatcher
//! lease lost after the session was kept) gets the same answers without the bank acting twice:
//! a wrong PIN counts once, a one-time code is spent once, an enrolment finishes once.
//!
//! Imports: the flows' action types and the KV port only.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::flows::actions::{Action, ActionCall, ActionOutcome};
use crate::kv::Kv;

/// How long an outcome is kept: longer than a message can wait to be handled again.
const KEPT: Duration = Duration::from_secs(3600);
/// The KV key prefix of kept outcomes.
const PREFIX: &str = "action:outcome:";

/// Runs `action` for `call`, or answers what it answered before for the same call.
pub(super) async fn run_once(
    kv: &dyn Kv,
    action: &Arc<dyn Action>,
    call: &ActionCall,
) -> anyhow::Result<ActionOutcome> {
    if !action.spec().remember {
        return action.run(call).await;
    }
    let key = format!("{PREFIX}{}", call.idempotency_key);
    if let Some(kept) = kv.get(&key).await? {
        return serde_json::from_slice(&kept).context("a kept action outcome is not readable");
    }
    let outcome = action.run(call).await?;
    kv.set(&key, &serde_json::to_vec(&outcome)?, KEPT).await?;
    Ok(outcome)
}

/// Keeps `outcome` as the answer to the call keyed `idempotency_key`: an action run elsewhere
/// (at the Flows endpoint) whose outcome the conversation then replays instead of acting.
pub(super) async fn keep(kv: &dyn Kv, idempotency_key: &str, outcome: &ActionOutcome) -> anyhow::Result<()> {
    kv.set(&format!("{PREFIX}{idempotency_key}"), &serde_json::to_vec(outcome)?, KEPT).await?;
    Ok(())
}

/// Whether an outcome is kept for the call keyed `idempotency_key`.
pub(super) async fn is_kept(kv: &dyn Kv, idempotency_key: &str) -> anyhow::Result<bool> {
    Ok(kv.get(&format!("{PREFIX}{idempotency_key}")).await?.is_some())
}
