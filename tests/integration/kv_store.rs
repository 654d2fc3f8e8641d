//! The KV port's behaviour suite: every test runs on Redis and on the in-memory adapter.
//!
//! Expiry is checked without sleeping in the test: on the memory adapter with paused tokio time
//! (its clock is ours), on Redis by advancing the server's own clock: `DEBUG SLEEP` blocks the
//! single-threaded server, so between two commands its time moves on by at least that much.
//! Every write path is also checked to hand the server the TTL it was given, read back with
//! `ttl()`, and no later write may extend it by mistake.

use std::sync::Arc;
use std::time::Duration;

use teller::kv::{Indexed, Kv, KvError};

use crate::harness::{KvKind, PrivateRedis, free_port, kv, kv_config, on_both_kv_adapters};

const MINUTE: Duration = Duration::from_secs(60);

on_both_kv_adapters!(
    set_then_get_returns_the_same_bytes,
    set_replaces_the_value_and_the_ttl,
    a_missing_key_reads_as_absent_everywhere,
    set_if_absent_stores_only_the_first_value,
    only_one_of_many_racers_wins_set_if_absent,
    increment_counts_and_keeps_the_first_ttl,
    concurrent_increments_lose_no_count,
    increment_on_text_is_a_wrong_type_error,
    get_and_delete_hands_the_value_to_exactly_one_caller,
    a_ttl_under_a_millisecond_is_refused_and_stores_nothing,
    delete_reports_whether_the_key_existed,
    every_subscriber_gets_its_channels_messages_in_order,
    publishing_without_subscribers_is_fine,
    the_store_answers_ping,
    compare_and_set_replaces_only_the_expected_value,
    an_index_hands_out_due_members_lowest_score_first,
    an_index_member_moved_on_is_not_removed_by_a_stale_reader,
    sweeping_keeps_live_keys,
    a_count_and_a_read_in_one_round_trip_are_both_done,
    a_write_and_its_index_entry_in_one_round_trip_are_both_done,
);

async fn set_then_get_returns_the_same_bytes(kind: KvKind) {
    let kv = kv(kind);
    let bytes = [0u8, 159, 146, 150, 255, b'\n'];
    kv.set("session:1", &bytes, MINUTE).await.unwrap();
    assert_eq!(kv.get("session:1").await.unwrap().as_deref(), Some(&bytes[..]));
}

async fn set_replaces_the_value_and_the_ttl(kind: KvKind) {
    let kv = kv(kind);
    kv.set("k", b"old", Duration::from_secs(3600)).await.unwrap();
    kv.set("k", b"new", MINUTE).await.unwrap();
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"new"[..]));
    let ttl = kv.ttl("k").await.unwrap().unwrap();
    assert!(ttl <= MINUTE && ttl > MINUTE - Duration::from_secs(5), "{ttl:?}");
}

async fn a_missing_key_reads_as_absent_everywhere(kind: KvKind) {
    let kv = kv(kind);
    assert_eq!(kv.get("nope").await.unwrap(), None);
    assert_eq!(kv.ttl("nope").await.unwrap(), None);
    assert_eq!(kv.get_and_delete("nope").await.unwrap(), None);
    assert!(!kv.delete("nope").await.unwrap());
}

async fn set_if_absent_stores_only_the_first_value(kind: KvKind) {
    let kv = kv(kind);
    assert!(kv.set_if_absent("lock", b"first", MINUTE).await.unwrap());
    assert!(!kv.set_if_absent("lock", b"second", Duration::from_secs(3600)).await.unwrap());
    assert_eq!(kv.get("lock").await.unwrap().as_deref(), Some(&b"first"[..]));
    assert!(kv.ttl("lock").await.unwrap().unwrap() <= MINUTE, "the loser did not reset the TTL");
    kv.delete("lock").await.unwrap();
    assert!(kv.set_if_absent("lock", b"third", MINUTE).await.unwrap());
}

async fn only_one_of_many_racers_wins_set_if_absent(kind: KvKind) {
    let kv = kv(kind);
    let winners = race(&kv, 32, |kv, n| async move {
        kv.set_if_absent("once", n.to_string().as_bytes(), MINUTE).await.unwrap()
    })
    .await;
    assert_eq!(winners.iter().filter(|won| **won).count(), 1);
}

async fn increment_counts_and_keeps_the_first_ttl(kind: KvKind) {
    let kv = kv(kind);
    assert_eq!(kv.increment("tries", 1, MINUTE).await.unwrap(), 1);
    assert_eq!(kv.increment("tries", 5, Duration::from_secs(3600)).await.unwrap(), 6);
    assert_eq!(kv.increment("tries", -2, Duration::from_secs(3600)).await.unwrap(), 4);
    assert_eq!(kv.get("tries").await.unwrap().as_deref(), Some(&b"4"[..]));
    let ttl = kv.ttl("tries").await.unwrap().unwrap();
    assert!(ttl <= MINUTE, "a later increment must not extend the window: {ttl:?}");
}

async fn concurrent_increments_lose_no_count(kind: KvKind) {
    let kv = kv(kind);
    race(&kv, 50, |kv, _| async move { kv.increment("hits", 1, MINUTE).await.unwrap() }).await;
    assert_eq!(kv.get("hits").await.unwrap().as_deref(), Some(&b"50"[..]));
}

async fn increment_on_text_is_a_wrong_type_error(kind: KvKind) {
    let kv = kv(kind);
    kv.set("name", b"ada", MINUTE).await.unwrap();
    let err = kv.increment("name", 1, MINUTE).await.unwrap_err();
    assert!(matches!(err, KvError::WrongType(_)), "{err:?}");
    assert_eq!(kv.get("name").await.unwrap().as_deref(), Some(&b"ada"[..]));
}

async fn get_and_delete_hands_the_value_to_exactly_one_caller(kind: KvKind) {
    let kv = kv(kind);
    kv.set("otp", b"482913", MINUTE).await.unwrap();
    let got = race(&kv, 16, |kv, _| async move { kv.get_and_delete("otp").await.unwrap() }).await;
    let winners: Vec<_> = got.into_iter().flatten().collect();
    assert_eq!(winners, vec![b"482913".to_vec()]);
    assert_eq!(kv.get("otp").await.unwrap(), None);
}

async fn a_ttl_under_a_millisecond_is_refused_and_stores_nothing(kind: KvKind) {
    let kv = kv(kind);
    for ttl in [Duration::ZERO, Duration::from_micros(999)] {
        assert!(matches!(kv.set("k", b"v", ttl).await, Err(KvError::InvalidTtl(_))));
        assert!(matches!(kv.set_if_absent("k", b"v", ttl).await, Err(KvError::InvalidTtl(_))));
        assert!(matches!(kv.increment("n", 1, ttl).await, Err(KvError::InvalidTtl(_))));
    }
    assert_eq!(kv.get("k").await.unwrap(), None);
    assert_eq!(kv.get("n").await.unwrap(), None);
}

async fn delete_reports_whether_the_key_existed(kind: KvKind) {
    let kv = kv(kind);
    kv.set("k", b"v", MINUTE).await.unwrap();
    assert!(kv.delete("k").await.unwrap());
    assert!(!kv.delete("k").await.unwrap());
    assert_eq!(kv.get("k").await.unwrap(), None);
}

async fn every_subscriber_gets_its_channels_messages_in_order(kind: KvKind) {
    let kv = kv(kind);
    let mut first = kv.subscribe("flows").await.unwrap();
    let mut second = kv.subscribe("flows").await.unwrap();
    let mut other = kv.subscribe("customers").await.unwrap();

    kv.publish("flows", b"1").await.unwrap();
    kv.publish("customers", b"x").await.unwrap();
    kv.publish("flows", b"2").await.unwrap();

    for sub in [&mut first, &mut second] {
        assert_eq!(next(sub).await, b"1");
        assert_eq!(next(sub).await, b"2", "nothing from another channel in between");
    }
    assert_eq!(next(&mut other).await, b"x");
}

async fn publishing_without_subscribers_is_fine(kind: KvKind) {
    kv(kind).publish("nobody-listens", b"hello").await.unwrap();
}

async fn the_store_answers_ping(kind: KvKind) {
    let kv = kv(kind);
    kv.ping().await.unwrap();
    let expected = if kind == KvKind::Redis { "redis" } else { "memory" };
    assert_eq!(kv.backend(), expected);
}

#[tokio::test]
async fn prefixes_keep_two_redis_users_apart() {
    let (a, b) = (kv(KvKind::Redis), kv(KvKind::Redis));
    a.set("shared-name", b"a", MINUTE).await.unwrap();
    assert_eq!(b.get("shared-name").await.unwrap(), None);
    let mut sub_b = b.subscribe("events").await.unwrap();
    a.publish("events", b"from a").await.unwrap();
    b.publish("events", b"from b").await.unwrap();
    assert_eq!(next(&mut sub_b).await, b"from b");
}

async fn compare_and_set_replaces_only_the_expected_value(kind: KvKind) {
    let kv = kv(kind);
    assert!(!kv.compare_and_set("s", b"old", b"new", MINUTE).await.unwrap(), "a missing key matches nothing");
    assert_eq!(kv.get("s").await.unwrap(), None);
    kv.set("s", b"old", Duration::from_secs(3600)).await.unwrap();
    assert!(!kv.compare_and_set("s", b"other", b"new", MINUTE).await.unwrap());
    assert_eq!(kv.get("s").await.unwrap().as_deref(), Some(&b"old"[..]), "a mismatch changes nothing");
    assert!(kv.compare_and_set("s", b"old", b"new", MINUTE).await.unwrap());
    assert_eq!(kv.get("s").await.unwrap().as_deref(), Some(&b"new"[..]));
    let ttl = kv.ttl("s").await.unwrap().unwrap();
    assert!(ttl <= MINUTE && ttl > MINUTE - Duration::from_secs(5), "the new TTL applies: {ttl:?}");
    assert!(kv.compare_and_set("s", b"old", b"x", MINUTE).await.is_ok_and(|done| !done), "old is gone");
    assert!(matches!(
        kv.compare_and_set("s", b"new", b"x", Duration::ZERO).await,
        Err(KvError::InvalidTtl(_))
    ));
}

/// The rate count and the session read of one message, as one call: the count behaves as
/// `increment` (a fixed window), the read as `get`.
async fn a_count_and_a_read_in_one_round_trip_are_both_done(kind: KvKind) {
    let kv = kv(kind);
    assert_eq!(kv.increment_and_get("count", 1, MINUTE, "session").await.unwrap(), (1, None));
    kv.set("session", b"{\"step\":\"pin\"}", MINUTE).await.unwrap();
    let (count, read) = kv.increment_and_get("count", 2, Duration::from_secs(3600), "session").await.unwrap();
    assert_eq!((count, read.as_deref()), (3, Some(&b"{\"step\":\"pin\"}"[..])));
    assert!(kv.ttl("count").await.unwrap().unwrap() <= MINUTE, "the first TTL is kept");
    kv.set("name", b"ada", MINUTE).await.unwrap();
    let err = kv.increment_and_get("name", 1, MINUTE, "session").await.unwrap_err();
    assert!(matches!(err, KvError::WrongType(_)), "{err:?}");
}

/// A session and its entry in the sweep's index, as one call; without an entry, a plain `set`.
async fn a_write_and_its_index_entry_in_one_round_trip_are_both_done(kind: KvKind) {
    let kv = kv(kind);
    let indexed = Indexed { index: "idx", member: "wa:1", score: 500, ttl: MINUTE };
    kv.set_and_index("session:wa:1", b"one", Duration::from_secs(3600), Some(indexed)).await.unwrap();
    kv.set_and_index("session:wa:2", b"two", MINUTE, None).await.unwrap();
    assert_eq!(kv.get("session:wa:1").await.unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(kv.get("session:wa:2").await.unwrap().as_deref(), Some(&b"two"[..]));
    let ttl = kv.ttl("session:wa:1").await.unwrap().unwrap();
    assert!(ttl > MINUTE && ttl <= Duration::from_secs(3600), "the value's own TTL: {ttl:?}");
    assert_eq!(kv.index_due("idx", i64::MAX, 10).await.unwrap(), [("wa:1".to_owned(), 500)]);
    assert!(matches!(
        kv.set_and_index("k", b"v", Duration::ZERO, Some(indexed)).await,
        Err(KvError::InvalidTtl(_))
    ));
}

async fn an_index_hands_out_due_members_lowest_score_first(kind: KvKind) {
    let kv = kv(kind);
    assert!(kv.index_due("idx", i64::MAX, 10).await.unwrap().is_empty(), "a missing index is empty");
    for (member, score) in [("c", 300), ("a", 100), ("b", 200), ("d", 400)] {
        kv.index_add("idx", member, score, MINUTE).await.unwrap();
    }
    // Moving a member replaces its score; it is never listed twice.
    kv.index_add("idx", "d", 150, MINUTE).await.unwrap();
    let due = kv.index_due("idx", 250, 10).await.unwrap();
    assert_eq!(due, [("a".to_owned(), 100), ("d".to_owned(), 150), ("b".to_owned(), 200)]);
    assert_eq!(kv.index_due("idx", 250, 2).await.unwrap().len(), 2, "the limit holds");
    assert!(kv.index_remove("idx", "a", 100).await.unwrap());
    assert!(!kv.index_remove("idx", "a", 100).await.unwrap(), "removed once");
    assert!(!kv.index_remove("idx", "nobody", i64::MAX).await.unwrap());
    let left: Vec<String> =
        kv.index_due("idx", i64::MAX, 10).await.unwrap().into_iter().map(|(m, _)| m).collect();
    assert_eq!(left, ["d", "b", "c"]);
}

async fn an_index_member_moved_on_is_not_removed_by_a_stale_reader(kind: KvKind) {
    let kv = kv(kind);
    kv.index_add("sessions", "wa:1", 100, MINUTE).await.unwrap();
    let due = kv.index_due("sessions", 100, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    // The customer wrote again meanwhile: their entry moved to a later time.
    kv.index_add("sessions", "wa:1", 500, MINUTE).await.unwrap();
    assert!(!kv.index_remove("sessions", "wa:1", 100).await.unwrap());
    assert_eq!(kv.index_due("sessions", i64::MAX, 10).await.unwrap(), [("wa:1".to_owned(), 500)]);
}

async fn sweeping_keeps_live_keys(kind: KvKind) {
    let kv = kv(kind);
    kv.set("live", b"v", MINUTE).await.unwrap();
    kv.index_add("live-index", "m", 1, MINUTE).await.unwrap();
    kv.sweep().await.unwrap();
    assert_eq!(kv.get("live").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(kv.index_due("live-index", 1, 1).await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_memory_sweep_drops_expired_keys_and_indexes_that_no_write_passed_by() {
    let memory = teller::kv::memory::MemoryKv::new(10_000);
    for i in 0..100 {
        memory.set(&format!("session:{i}"), b"x", MINUTE).await.unwrap();
    }
    memory.index_add("sessions:expiring", "wa:1", 1, MINUTE).await.unwrap();
    memory.set("lasting", b"y", 2 * MINUTE).await.unwrap();
    tokio::time::advance(MINUTE + Duration::from_secs(1)).await;
    assert_eq!(memory.len(), 101, "nothing wrote since: the expired keys are still held");
    assert_eq!(memory.sweep().await.unwrap(), 101, "100 keys and one index");
    assert_eq!(memory.len(), 1);
    assert!(memory.index_due("sessions:expiring", i64::MAX, 10).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn keys_expire_when_their_ttl_runs_out_in_memory() {
    let kv = kv(KvKind::Memory);
    kv.set("plain", b"v", MINUTE).await.unwrap();
    kv.set_if_absent("lock", b"v", MINUTE).await.unwrap();
    kv.increment("counter", 1, MINUTE).await.unwrap();

    tokio::time::advance(MINUTE - Duration::from_millis(1)).await;
    for key in ["plain", "lock", "counter"] {
        assert!(kv.get(key).await.unwrap().is_some(), "{key} expired early");
    }
    tokio::time::advance(Duration::from_millis(1)).await;
    for key in ["plain", "lock", "counter"] {
        assert_eq!(kv.get(key).await.unwrap(), None, "{key} outlived its TTL");
    }
    assert!(kv.set_if_absent("lock", b"again", MINUTE).await.unwrap(), "an expired lock is free");
    assert_eq!(kv.increment("counter", 1, MINUTE).await.unwrap(), 1, "an expired counter restarts");
}

#[tokio::test]
async fn a_rediss_url_talks_tls_verified_against_the_configured_ca() {
    let port = free_port();
    let (_server, ca) = PrivateRedis::start_tls(port);
    let mut config = kv_config(KvKind::Memory);
    config.redis_url = Some(format!("rediss://localhost:{port}").into());
    config.tls_ca_cert = Some(ca);
    let kv = teller::kv::connect(&config).unwrap();
    kv.ping().await.unwrap();
    kv.set("over-tls", b"yes", MINUTE).await.unwrap();
    assert_eq!(kv.get("over-tls").await.unwrap().as_deref(), Some(&b"yes"[..]));

    // Without the CA the server's certificate is not trusted, and nothing is sent in the clear.
    config.tls_ca_cert = None;
    let untrusting = teller::kv::connect(&config).unwrap();
    assert!(untrusting.ping().await.unwrap_err().is_unavailable());
    config.redis_url = Some(format!("redis://localhost:{port}").into());
    let plain = teller::kv::connect(&config).unwrap().ping().await.unwrap_err();
    assert!(
        plain.is_unavailable() && plain.to_string().contains("the KV store is unavailable"),
        "plain text to a TLS port fails: {plain}"
    );
}

#[tokio::test]
async fn keys_expire_when_their_ttl_runs_out_on_redis() {
    let kv = kv(KvKind::Redis);
    let short = Duration::from_millis(1);
    kv.set("plain", b"v", short).await.unwrap();
    kv.set_if_absent("lock", b"v", short).await.unwrap();
    kv.increment("counter", 1, short).await.unwrap();
    kv.set("lasting", b"v", MINUTE).await.unwrap();

    advance_redis_clock(Duration::from_millis(5)).await;
    for key in ["plain", "lock", "counter"] {
        assert_eq!(kv.get(key).await.unwrap(), None, "{key} outlived its TTL");
    }
    assert!(kv.get("lasting").await.unwrap().is_some(), "a key within its TTL stays");
    assert!(kv.set_if_absent("lock", b"again", MINUTE).await.unwrap(), "an expired lock is free");
    assert_eq!(kv.increment("counter", 1, MINUTE).await.unwrap(), 1, "an expired counter restarts");
}

/// Makes the test Redis's clock move on by `by` before it serves the next command.
async fn advance_redis_clock(by: Duration) {
    let url = std::env::var("TEST_REDIS_URL").expect("TEST_REDIS_URL (run scripts/test)");
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let seconds = format!("{}.{:03}", by.as_secs(), by.subsec_millis());
    let _: () = redis::cmd("DEBUG").arg("SLEEP").arg(seconds).query_async(&mut conn).await.unwrap();
}

/// Runs `n` copies of `op` at once and returns their results.
async fn race<F, Fut, T>(kv: &Arc<dyn Kv>, n: usize, op: F) -> Vec<T>
where
    F: Fn(Arc<dyn Kv>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(op(kv.clone(), i))).collect();
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

async fn next(sub: &mut teller::kv::Subscription) -> Vec<u8> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a message within 5 s")
        .expect("the subscription is open")
}
