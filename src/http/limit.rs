//! Per-address rate limits for routes that anyone on the internet can reach, and the client
//! address they are keyed on.

use std::num::NonZeroU32;

use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses remembered before the idle ones are forgotten.
const REMEMBERED: usize = 10_000;

/// At most `n` requests per minute from each client address (a burst of `n`, refilled evenly),
/// on this instance. In-process on purpose: it must hold when the KV is down, and a flood is
/// spread over instances by the load balancer anyway.
#[derive(Debug)]
pub struct PerAddress {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl PerAddress {
    /// `n` requests per minute per address (at least one).
    pub fn per_minute(n: u32) -> PerAddress {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        PerAddress { limiter: RateLimiter::keyed(Quota::per_minute(n)) }
    }

    /// Counts a request from `address`; `false` when it is over the limit.
    pub fn allow(&self, address: &str) -> bool {
        if self.limiter.len() > REMEMBERED {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&address.to_owned()).is_ok()
    }
}

/// The client's address as App Platform's load balancer reports it (`do-connecting-ip`, else
/// the first `X-Forwarded-For`), or `direct` when served without one.
pub fn client_address(headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    header("do-connecting-ip")
        .or_else(|| header("x-forwarded-for").and_then(|v| v.split(',').next()).map(str::trim))
        .filter(|a| !a.is_empty() && a.len() <= 64)
        .unwrap_or("direct")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_own_burst_then_is_refused() {
        let limit = PerAddress::per_minute(3);
        assert!((0..3).all(|_| limit.allow("10.0.0.1")));
        assert!(!limit.allow("10.0.0.1"), "the fourth in a minute is refused");
        assert!(limit.allow("10.0.0.2"), "another address is not held up");
    }
}
