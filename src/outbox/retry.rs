//! How a send's outcome becomes what the outbox records: when to retry, how long to wait.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{MAX_BACKOFF, SendOutcome, UNCERTAIN_WAIT};
use crate::store::Settlement;
use crate::whatsapp::graph::{ErrorClass, SendError};

/// `settlement` with its times moved `late` on: a retry waits from when its send finished.
pub(super) fn later(settlement: Settlement, late: chrono::Duration) -> Settlement {
    match settlement {
        Settlement::Retry { at, code, message } => Settlement::Retry { at: at + late, code, message },
        Settlement::Postpone { at } => Settlement::Postpone { at: at + late },
        other => other,
    }
}

pub(super) fn failed(code: Option<i64>, message: impl Into<String>) -> Settlement {
    Settlement::Failed { outside_window: false, code, message: message.into() }
}

/// Not sent: the window is closed and there is no template to send instead (or Meta refused it).
pub(super) fn outside_window(error: Option<SendError>) -> (Settlement, SendOutcome) {
    tracing::info!("the 24-hour window is closed and no window template is configured; not sent");
    let (code, message) = match error {
        Some(e) => (e.code, e.message),
        None => (None, "the 24-hour customer-service window is closed".to_owned()),
    };
    (Settlement::Failed { outside_window: true, code, message }, SendOutcome::OutsideWindow)
}

/// Somewhere between half of `wait` and all of it, so retries from many customers spread out.
fn jitter(wait: Duration) -> Duration {
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let half = millis / 2;
    Duration::from_millis(half + fastrand::u64(0..=millis - half))
}

pub(super) fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The wait before retry number `attempt + 1`: exponential with jitter, slower for the
/// classes Meta asks to be gentle with.
pub(super) fn backoff(retry_base: Duration, class: ErrorClass, code: Option<i64>, attempt: i32) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(20);
    let base = match class {
        // Meta's advice for the pair rate: wait 4^X seconds.
        ErrorClass::PairRate => Duration::from_secs(4u64.saturating_pow(exponent)),
        _ => retry_base.saturating_mul(2u32.saturating_pow(exponent)),
    };
    let mut wait = base.min(MAX_BACKOFF);
    if code == Some(131_057) {
        // Maintenance, e.g. a throughput upgrade: "up to 1 minute".
        wait = wait.max(Duration::from_secs(60));
    }
    let wait = jitter(wait);
    if class == ErrorClass::Uncertain {
        // Give the status webhook that would prove Meta took it time to arrive first.
        return wait.max(UNCERTAIN_WAIT);
    }
    wait
}

/// How long after `now`, a round's time, the soonest reply it put off for later comes due (a
/// reply held back by Meta's pair rate, a retry): a reply put off until `now` itself (an
/// outage, a lease too short to send under) waits for the poll, so that a failure does not
/// spin.
pub(super) fn soonest_put_off<'s>(
    settled: impl Iterator<Item = &'s Settlement>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    settled
        .filter_map(|settlement| match settlement {
            Settlement::Postpone { at } | Settlement::Retry { at, .. } => (*at - now).to_std().ok(),
            _ => None,
        })
        .filter(|due| !due.is_zero())
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_half_and_all_of_the_wait() {
        for _ in 0..1000 {
            let j = jitter(Duration::from_millis(1000));
            assert!(j >= Duration::from_millis(500) && j <= Duration::from_millis(1000), "{j:?}");
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn the_sender_looks_again_when_the_soonest_reply_put_off_comes_due_not_for_one_put_off_until_now() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let ms = |ms| chrono::Duration::milliseconds(ms);
        let retry = |at| Settlement::Retry { at, code: Some(131_056), message: "pair rate".into() };
        let sent = Settlement::Sent { provider_message_id: "wamid.x".into(), via_template: false };
        let settled = [sent, Settlement::Postpone { at: now + ms(5_870) }, retry(now + ms(1_200))];
        assert_eq!(soonest_put_off(settled.iter(), now), Some(Duration::from_millis(1_200)));
        // An outage's or a short lease's "not before now" is left to the poll, or it would spin.
        let settled = [Settlement::Postpone { at: now }, Settlement::Postpone { at: now - ms(1) }];
        assert_eq!(soonest_put_off(settled.iter(), now), None);
        assert_eq!(soonest_put_off([].iter(), now), None);
    }
}
