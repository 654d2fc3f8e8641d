//! `--db-latency-ms` and `--kv-latency-ms`: a network between teller and its database or its
//! KV, on one machine. A TCP proxy
//! that holds every chunk of bytes for a while each way before passing it on, in order, with
//! any number in flight: a round trip to the database then costs twice the delay, as it does
//! to a managed database in another building. This is where a row lock held over several
//! statements shows its price (the hot accounts), and where every round trip a message waits
//! for shows in its latency.
//!
//! The proxy runs on threads of its own, not on the runtime: tokio's timer rounds a delay up
//! to the next millisecond, which would make a round trip of 0.5 ms one of 2 to 4 ms. A
//! thread's sleep is precise to about a tenth of a millisecond.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// The longest delay `--db-latency-ms` takes: a second each way.
pub const MOST: Duration = Duration::from_secs(1);

/// `--db-latency-ms`: milliseconds, fractions kept to the microsecond, from 0 to [`MOST`].
pub fn parse_millis(text: &str) -> Result<Duration, String> {
    let refused = || format!("expected milliseconds from 0 to {}, such as 0.25 or 2", MOST.as_millis());
    let millis = rust_decimal::Decimal::from_str_exact(text.trim()).map_err(|_| refused())?;
    let micros = (millis * rust_decimal::Decimal::ONE_THOUSAND).trunc();
    let micros = u64::try_from(micros).map_err(|_| refused())?;
    let delay = Duration::from_micros(micros);
    if delay > MOST {
        return Err(refused());
    }
    Ok(delay)
}

/// `url` (a PostgreSQL or Redis URL) pointed at a proxy of its server that delays each way by
/// `delay`; the proxy runs until the process ends.
pub async fn delayed(url: &str, delay: Duration) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("the store's URL is not a URL")?;
    let default_port = match parsed.scheme() {
        "postgres" | "postgresql" => 5432,
        "redis" => 6379,
        _ => anyhow::bail!("a latency needs a store on postgres:// or redis:// (TLS is not proxied)"),
    };
    let host = parsed.host_str().context("the store's URL names no host")?.to_owned();
    let server = tokio::net::lookup_host((host.as_str(), parsed.port().unwrap_or(default_port)))
        .await?
        .next()
        .with_context(|| format!("cannot resolve {host}"))?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let local = listener.local_addr()?;
    std::thread::Builder::new().name("db-latency".into()).spawn(move || serve(&listener, server, delay))?;
    parsed.set_host(Some("127.0.0.1")).context("cannot point DATABASE_URL at the proxy")?;
    parsed.set_port(Some(local.port())).map_err(|()| anyhow::anyhow!("cannot set the proxy's port"))?;
    Ok(parsed.to_string())
}

/// Accepts connections for ever, each passed on to `server` both ways.
fn serve(listener: &TcpListener, server: SocketAddr, delay: Duration) {
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let Ok(upstream) = TcpStream::connect(server) else { continue };
        let _ = (client.set_nodelay(true), upstream.set_nodelay(true));
        let (Ok(client_out), Ok(upstream_out)) = (client.try_clone(), upstream.try_clone()) else {
            continue;
        };
        pass(client, upstream_out, delay);
        pass(upstream, client_out, delay);
    }
}

/// Copies `from` to `to` on two threads, each chunk `delay` after it was read; the reader
/// never waits for the writer, so chunks overlap in flight as on a network.
fn pass(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (send, receive) = mpsc::channel::<(Instant, Vec<u8>)>();
    let reader = move || {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buffer) {
            if send.send((Instant::now() + delay, buffer[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    // A thread of its own, not the runtime's: blocking here holds up nothing else.
    #[allow(clippy::disallowed_methods)]
    let writer = move || {
        while let Ok((due, chunk)) = receive.recv() {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    };
    let _ = std::thread::Builder::new().name("db-latency-in".into()).spawn(reader);
    let _ = std::thread::Builder::new().name("db-latency-out".into()).spawn(writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on a port of its own.
    fn echo() -> u16 {
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = echo.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for socket in echo.incoming() {
                let mut socket = socket.unwrap();
                let mut buffer = [0u8; 64];
                while let Ok(n @ 1..) = socket.read(&mut buffer) {
                    socket.write_all(&buffer[..n]).unwrap();
                }
            }
        });
        port
    }

    /// How long `message` takes to come back through the proxy at `url`, and what came back.
    fn round_trip(url: &str, message: &[u8]) -> (Duration, Vec<u8>) {
        let proxy = url::Url::parse(url).unwrap();
        let mut socket = TcpStream::connect(("127.0.0.1", proxy.port().unwrap())).unwrap();
        socket.set_nodelay(true).unwrap();
        let started = Instant::now();
        socket.write_all(message).unwrap();
        let mut answer = vec![0u8; message.len()];
        socket.read_exact(&mut answer).unwrap();
        (started.elapsed(), answer)
    }

    #[tokio::test]
    async fn a_round_trip_through_the_proxy_takes_twice_the_delay_and_keeps_the_bytes() {
        let port = echo();
        let url =
            delayed(&format!("postgres://u@127.0.0.1:{port}/db"), Duration::from_millis(20)).await.unwrap();
        let proxy = url::Url::parse(&url).unwrap();
        assert_eq!(proxy.path(), "/db");
        assert_ne!(proxy.port(), Some(port));
        let (took, answer) = tokio::task::spawn_blocking(move || round_trip(&url, b"ping")).await.unwrap();
        assert_eq!(answer, b"ping");
        assert!(took >= Duration::from_millis(40), "{took:?}");
        assert!(delayed("sqlite://x.db", Duration::from_millis(1)).await.is_err());
        assert!(delayed("rediss://127.0.0.1:6380", Duration::from_millis(1)).await.is_err());
        let kv = delayed(&format!("redis://127.0.0.1:{port}/2"), Duration::from_millis(1)).await.unwrap();
        assert!(kv.starts_with("redis://127.0.0.1:") && kv.ends_with("/2"), "{kv}");
    }

    #[test]
    fn a_latency_is_milliseconds_with_fractions_and_nothing_else() {
        assert_eq!(parse_millis("0.25"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_millis("2"), Ok(Duration::from_millis(2)));
        assert_eq!(parse_millis("0"), Ok(Duration::ZERO));
        assert_eq!(parse_millis("1000"), Ok(MOST));
        for bad in ["nan", "-1", "1e3", "1001", "", "0,5", "fast", "inf"] {
            assert!(parse_millis(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_delay_below_a_millisecond_is_kept_not_rounded_to_one() {
        let port = echo();
        let url =
            delayed(&format!("postgres://u@127.0.0.1:{port}/db"), Duration::from_micros(300)).await.unwrap();
        let took = tokio::task::spawn_blocking(move || {
            // The least of a few round trips: what the proxy adds, without the machine's hiccups.
            (0..50).map(|_| round_trip(&url, b"ping").0).min().unwrap()
        })
        .await
        .unwrap();
        assert!(took >= Duration::from_micros(600), "{took:?}");
        assert!(took < Duration::from_micros(1900), "rounded up to the millisecond: {took:?}");
    }
}
