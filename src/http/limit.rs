//! Per-address rate limits for routes that anyone on the internet can reach, and the client
//! address they are keyed on.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderName;
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::http::AppState;

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

/// The client's address, as far as teller can trust it: the header the proxy in front
/// writes (`CLIENT_IP_HEADER`) when one is configured, else the connection's own address.
/// Headers are not trusted otherwise, since any client can send `X-Forwarded-For`. What a
/// request carries is bounded (64 bytes); a request without it counts as `unknown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl ClientAddress {
    /// Reads it from a request's parts: the trusted header when `trusted` names one, else the
    /// socket address axum recorded.
    pub fn of(parts: &Parts, trusted: Option<&HeaderName>) -> ClientAddress {
        let from_header = trusted.and_then(|name| {
            let value = parts.headers.get(name)?.to_str().ok()?;
            // A proxy appends the address it saw: the last entry is the one it vouches for.
            let last = value.rsplit(',').next()?.trim();
            (!last.is_empty() && last.len() <= 64).then(|| last.to_owned())
        });
        let address = match (trusted, from_header) {
            (_, Some(address)) => address,
            // A proxy is configured but the header is missing: not a request through it.
            (Some(_), None) => "unknown".to_owned(),
            (None, None) => parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string()),
        };
        ClientAddress(address)
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of(parts, state.config.http.client_ip_header.as_ref()))
    }
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

    fn parts(headers: &[(&str, &str)], socket: Option<&str>) -> Parts {
        let mut request = axum::http::Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        if let Some(socket) = socket {
            parts.extensions.insert(ConnectInfo(socket.parse::<SocketAddr>().unwrap()));
        }
        parts
    }

    #[test]
    fn headers_anyone_can_write_are_ignored_unless_a_proxy_is_configured() {
        let forged = [("x-forwarded-for", "1.2.3.4"), ("do-connecting-ip", "5.6.7.8")];
        let direct = parts(&forged, Some("203.0.113.9:50000"));
        assert_eq!(ClientAddress::of(&direct, None).0, "203.0.113.9", "the socket's address");

        let platform = HeaderName::from_static("do-connecting-ip");
        assert_eq!(ClientAddress::of(&direct, Some(&platform)).0, "5.6.7.8");
        let xff = HeaderName::from_static("x-forwarded-for");
        let chained = parts(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7")], Some("10.0.0.1:1"));
        assert_eq!(ClientAddress::of(&chained, Some(&xff)).0, "198.51.100.7", "the entry the proxy added");
        let bypass = parts(&[], Some("10.0.0.1:1"));
        assert_eq!(ClientAddress::of(&bypass, Some(&platform)).0, "unknown");
        assert_eq!(ClientAddress::of(&parts(&[], None), None).0, "unknown");
        let long = "9".repeat(65);
        assert_eq!(
            ClientAddress::of(&parts(&[("do-connecting-ip", &long)], None), Some(&platform)).0,
            "unknown"
        );
    }
}
