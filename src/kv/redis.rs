//! The Redis adapter (also Valkey; `rediss://` for TLS, as managed Valkey requires).
//!
//! Commands go through one multiplexed [`ConnectionManager`], which reconnects by itself after
//! Redis restarts; every call is bounded by a response timeout so that an unreachable Redis is
//! reported as [`KvError::Unavailable`] within a couple of seconds instead of hanging a request.
//! Every key and channel is prefixed (`KV_PREFIX`), so deployments and test runs can share one
//! server without seeing each other.

use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, RedisError, SetExpiry, SetOptions, TlsCertificates};
use secrecy::{ExposeSecret, SecretString};

use super::{Indexed, Kv, KvError, Subscription, check_ttl};

/// How long one command may take before Redis counts as unavailable.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long dialling Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// `compare_and_set` in one step on the server: KEYS[1], ARGV = expected, value, ttl ms.
const COMPARE_AND_SET: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";

/// `index_remove` in one step on the server: KEYS[1], ARGV = member, max score.
const REMOVE_IF_AT_MOST: &str = "local s = redis.call('ZSCORE', KEYS[1], ARGV[1]) \
     if s and tonumber(s) <= tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end return 0";

/// The KV store on Redis.
pub struct RedisKv {
    client: Client,
    conn: ConnectionManager,
    prefix: String,
}

impl RedisKv {
    /// Prepares a connection that is dialled on first use and redialled after failures.
    ///
    /// `rediss://` servers are verified against the system's and Mozilla's roots, or against
    /// `tls_ca_cert` (PEM) when given.
    pub fn connect(url: &SecretString, prefix: &str, tls_ca_cert: Option<&str>) -> Result<Self, KvError> {
        let client = match tls_ca_cert {
            None => Client::open(url.expose_secret()),
            Some(pem) => Client::build_with_tls(
                url.expose_secret(),
                TlsCertificates { client_tls: None, root_cert: Some(pem.as_bytes().to_vec()) },
            ),
        }
        // The parse error could quote the URL and its password; it is not passed on.
        .map_err(|_| KvError::Unexpected(anyhow!("REDIS_URL is not a usable redis URL")))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(unavailable)?;
        Ok(RedisKv { client, conn, prefix: prefix.to_owned() })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn unavailable(err: RedisError) -> KvError {
    KvError::Unavailable(anyhow::Error::new(err))
}

/// Connection-level failures mean "not now"; a reply error means our command was wrong.
fn classify(err: RedisError) -> KvError {
    if err.is_io_error() || err.is_timeout() || err.is_connection_dropped() || err.is_connection_refusal() {
        unavailable(err)
    } else if err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError)
        && err.to_string().contains("not an integer")
    {
        KvError::WrongType("an integer")
    } else {
        KvError::Unexpected(anyhow::Error::new(err).context("redis command failed"))
    }
}

#[async_trait]
impl Kv for RedisKv {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), KvError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(classify)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.conn.clone().get(self.key(key)).await.map_err(classify)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), KvError> {
        let millis = check_ttl(ttl)?;
        let options = SetOptions::default().with_expiration(SetExpiry::PX(millis));
        let _: () = self.conn.clone().set_options(self.key(key), value, options).await.map_err(classify)?;
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        let millis = check_ttl(ttl)?;
        let options = SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(millis));
        let stored: Option<String> =
            self.conn.clone().set_options(self.key(key), value, options).await.map_err(classify)?;
        Ok(stored.is_some())
    }

    async fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, KvError> {
        let millis = check_ttl(ttl)?;
        // One MULTI/EXEC: the increment and the TTL of a new key land together.
        let (value, _): (i64, i64) = counted(redis::pipe().atomic(), &self.key(key), by, millis)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(classify)?;
        Ok(value)
    }

    async fn increment_and_get(
        &self,
        counter: &str,
        by: i64,
        ttl: Duration,
        key: &str,
    ) -> Result<(i64, Option<Vec<u8>>), KvError> {
        let millis = check_ttl(ttl)?;
        // As `increment`, with the read in the same MULTI/EXEC.
        let (value, _, read): (i64, i64, Option<Vec<u8>>) =
            counted(redis::pipe().atomic(), &self.key(counter), by, millis)
                .get(self.key(key))
                .query_async(&mut self.conn.clone())
                .await
                .map_err(classify)?;
        Ok((value, read))
    }

    async fn set_and_index(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
        indexed: Option<Indexed<'_>>,
    ) -> Result<(), KvError> {
        let Some(Indexed { index, member, score, ttl: index_ttl }) = indexed else {
            return self.set(key, value, ttl).await;
        };
        let (millis, index_millis) = (check_ttl(ttl)?, check_ttl(index_ttl)?);
        let mut pipe = redis::pipe();
        pipe.atomic().set_options(
            self.key(key),
            value,
            SetOptions::default().with_expiration(SetExpiry::PX(millis)),
        );
        let _: ((), i64, i64) = index_into(&mut pipe, &self.key(index), member, score, index_millis)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get_and_delete(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.conn.clone().get_del(self.key(key)).await.map_err(classify)
    }

    async fn delete(&self, key: &str) -> Result<bool, KvError> {
        let removed: i64 = self.conn.clone().del(self.key(key)).await.map_err(classify)?;
        Ok(removed > 0)
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, KvError> {
        let millis: i64 = self.conn.clone().pttl(self.key(key)).await.map_err(classify)?;
        // -2: no such key. -1: a key without TTL, which this adapter never writes.
        Ok(u64::try_from(millis).ok().map(Duration::from_millis))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: &[u8],
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, KvError> {
        let millis = check_ttl(ttl)?;
        let replaced: i64 = redis::cmd("EVAL")
            .arg(COMPARE_AND_SET)
            .arg(1)
            .arg(self.key(key))
            .arg(expected)
            .arg(value)
            .arg(millis)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(classify)?;
        Ok(replaced == 1)
    }

    async fn index_add(&self, index: &str, member: &str, score: i64, ttl: Duration) -> Result<(), KvError> {
        let millis = check_ttl(ttl)?;
        let _: (i64, i64) = index_into(redis::pipe().atomic(), &self.key(index), member, score, millis)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn index_due(&self, index: &str, max: i64, limit: usize) -> Result<Vec<(String, i64)>, KvError> {
        let count = isize::try_from(limit).unwrap_or(isize::MAX);
        let due: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.key(index))
            .arg("-inf")
            .arg(max)
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(classify)?;
        // Scores are whole seconds, far inside the 2^53 that a double holds exactly.
        #[allow(clippy::cast_possible_truncation)]
        Ok(due.into_iter().map(|(member, score)| (member, score as i64)).collect())
    }

    async fn index_remove(&self, index: &str, member: &str, max: i64) -> Result<bool, KvError> {
        let removed: i64 = redis::cmd("EVAL")
            .arg(REMOVE_IF_AT_MOST)
            .arg(1)
            .arg(self.key(index))
            .arg(member)
            .arg(max)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(classify)?;
        Ok(removed == 1)
    }

    async fn sweep(&self) -> Result<u64, KvError> {
        Ok(0)
    }

    async fn publish(&self, channel: &str, message: &[u8]) -> Result<(), KvError> {
        let _: i64 = self.conn.clone().publish(self.key(channel), message).await.map_err(classify)?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, KvError> {
        // Subscriptions need a connection of their own; SUBSCRIBE has been acknowledged when
        // this returns, so nothing published afterwards is missed.
        let connect = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(self.key(channel)).await?;
            Ok::<_, RedisError>(pubsub)
        };
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT + RESPONSE_TIMEOUT, connect)
            .await
            .map_err(|_| KvError::Unavailable(anyhow!("redis did not acknowledge SUBSCRIBE in time")))?
            .map_err(classify)?;
        let messages = pubsub.into_on_message().map(|msg| msg.get_payload_bytes().to_vec());
        Ok(Subscription::new(messages))
    }
}

/// Adds to `pipe` an increment of counter `key` by `by`, and its TTL of `millis` if it has none
/// (`PEXPIRE … NX`, Redis 7 and Valkey: only when this increment made the key).
fn counted<'p>(pipe: &'p mut redis::Pipeline, key: &str, by: i64, millis: u64) -> &'p mut redis::Pipeline {
    pipe.incr(key, by).cmd("PEXPIRE").arg(key).arg(millis).arg("NX")
}

/// Adds to `pipe` `member` at `score` in sorted set `key`, and the set's TTL renewed to `millis`.
fn index_into<'p>(
    pipe: &'p mut redis::Pipeline,
    key: &str,
    member: &str,
    score: i64,
    millis: u64,
) -> &'p mut redis::Pipeline {
    pipe.zadd(key, member, score).pexpire(key, i64::try_from(millis).unwrap_or(i64::MAX))
}
