//! After a run: were the guarantees kept? Every message answered (none lost), each handled
//! once (none duplicated), and each customer's messages handled in the order they were
//! delivered (none out of order).
//!
//! The fake Graph API sees each reply's outbox id (`biz_opaque_callback_data`), so it can tell a
//! reply sent twice, and a customer's replies sent out of queue order. Which message a reply
//! answers it cannot see (every message is `menu`, every answer alike), so handling is read from
//! teller's own store: each customer's queued replies, in queue order, name the message they
//! answer. A message handled twice leaves two separate runs of replies. Order is judged only
//! where the webhooks impose one: a message whose webhook was answered before another's was sent
//! must be answered first (two webhooks of one customer in flight together have no order).
//! A customer over the per-minute limit is not answered by design: give a run enough customers.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use secrecy::SecretString;

use crate::config::{DatabaseConfig, SqlBackend};

/// What the check found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Kept {
    /// Messages never answered.
    pub lost: u64,
    /// Replies sent twice, and messages handled twice.
    pub duplicated: u64,
    /// Customers answered out of the order their messages were delivered in, or whose replies
    /// were sent out of queue order.
    pub out_of_order: u64,
    /// Whether the store was read (with `--target` loadgen may not know it).
    pub store_checked: bool,
}

/// When message `n`'s webhook was sent, and when teller answered it 200.
pub(super) type Delivered = Vec<Option<(Instant, Instant)>>;

/// The message number `n` in a loadgen message id `wamid.<run>.<n>`.
fn number(message_id: &str) -> Option<usize> {
    message_id.rsplit('.').next()?.parse().ok()
}

/// Checks a run that delivered `delivered` to `customers` (wa_ids): `received` holds each
/// customer's replies as the fake Graph API took them (outbox ids, in arrival order),
/// `sent_twice` the replies it took more than once; the store at `database_url`, if known, is
/// read for what answered what.
pub(super) async fn check(
    database_url: Option<&str>,
    customers: &[String],
    delivered: &Delivered,
    received: &HashMap<String, Vec<u64>>,
    sent_twice: u64,
) -> anyhow::Result<Kept> {
    // Only messages teller took (answered 200) are its to lose.
    let sent = u64::try_from(delivered.iter().filter(|d| d.is_some()).count()).unwrap_or(u64::MAX);
    let answered: u64 = received.values().map(|ids| u64::try_from(ids.len()).unwrap_or(u64::MAX)).sum();
    let unsorted = received.values().filter(|ids| !ids.windows(2).all(|w| w[0] < w[1])).count();
    let mut kept = Kept {
        lost: sent.saturating_sub(answered.saturating_sub(sent_twice)),
        duplicated: sent_twice,
        out_of_order: u64::try_from(unsorted).unwrap_or(u64::MAX),
        store_checked: false,
    };
    let Some(url) = database_url else { return Ok(kept) };
    let backend = if url.starts_with("sqlite:") { SqlBackend::Sqlite } else { SqlBackend::Postgres };
    let config = DatabaseConfig { url: SecretString::from(url.to_owned()), backend, max_connections: 2 };
    let store = crate::store::connect(&config).await?;
    let mut answered = 0;
    for customer in customers {
        let queued = store.outbox_for_recipient(&format!("wa:{customer}")).await?;
        let mut runs: Vec<usize> =
            queued.iter().filter_map(|r| r.in_reply_to.as_deref().and_then(number)).collect();
        runs.dedup();
        let distinct: HashSet<usize> = runs.iter().copied().collect();
        answered += distinct.len();
        kept.duplicated += u64::try_from(runs.len() - distinct.len()).unwrap_or(0);
        if !in_delivery_order(&runs, delivered) {
            kept.out_of_order += 1;
        }
    }
    kept.lost = sent.saturating_sub(u64::try_from(answered).unwrap_or(u64::MAX));
    kept.store_checked = true;
    Ok(kept)
}

/// Whether no message in `answered` (message numbers, in the order they were answered) comes
/// after one whose webhook was sent only once its own had been answered.
fn in_delivery_order(answered: &[usize], delivered: &Delivered) -> bool {
    let at = |n: usize| delivered.get(n).copied().flatten();
    answered.iter().enumerate().all(|(i, &earlier)| {
        answered[i + 1..].iter().all(|&later| match (at(earlier), at(later)) {
            (Some((sent, _)), Some((_, taken))) => taken > sent,
            _ => true,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_sent_twice_or_out_of_order_are_counted() {
        let received = HashMap::from([
            ("a".to_owned(), vec![1, 4, 9]),
            ("b".to_owned(), vec![3, 2]),
            ("c".to_owned(), vec![5, 5]),
        ]);
        let delivered = vec![Some((Instant::now(), Instant::now())); 7];
        let kept = check(None, &[], &delivered, &received, 1).await.unwrap();
        assert_eq!(kept, Kept { lost: 1, duplicated: 1, out_of_order: 2, store_checked: false });
        assert_eq!(number("wamid.abc.42"), Some(42));
    }

    #[test]
    fn order_is_judged_only_where_the_webhooks_imposed_one() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + std::time::Duration::from_millis(n);
        // 0 was answered before 1 was sent; 1 and 2 were in flight together.
        let delivered = vec![Some((ms(0), ms(10))), Some((ms(20), ms(40))), Some((ms(30), ms(50)))];
        assert!(in_delivery_order(&[0, 1, 2], &delivered));
        assert!(in_delivery_order(&[0, 2, 1], &delivered));
        assert!(!in_delivery_order(&[1, 0, 2], &delivered));
        assert!(!in_delivery_order(&[2, 1, 0], &delivered));
    }
}
