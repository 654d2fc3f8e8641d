//! `--db-latency-ms`: a network between teller and its database, on one machine. A TCP proxy
//! that holds every chunk of bytes for a while each way before passing it on, in order, with
//! any number in flight: a round trip to the database then costs twice the delay, as it does
//! to a managed database in another building. This is where a row lock held over several
//! statements shows its price (the hot accounts).
//!
//! The delay is rounded up to the timer's millisecond.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// `url` (a PostgreSQL URL) pointed at a proxy of its server that delays each way by `delay`;
/// the proxy runs until the process ends.
pub async fn delayed(url: &str, delay: Duration) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("DATABASE_URL is not a URL")?;
    anyhow::ensure!(
        parsed.scheme().starts_with("postgres"),
        "--db-latency-ms needs DATABASE_URL on PostgreSQL"
    );
    let host = parsed.host_str().context("DATABASE_URL names no host")?.to_owned();
    let server = tokio::net::lookup_host((host.as_str(), parsed.port().unwrap_or(5432)))
        .await?
        .next()
        .with_context(|| format!("cannot resolve {host}"))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let local = listener.local_addr()?;
    tokio::spawn(serve(listener, server, delay));
    parsed.set_host(Some("127.0.0.1")).context("cannot point DATABASE_URL at the proxy")?;
    parsed.set_port(Some(local.port())).map_err(|()| anyhow::anyhow!("cannot set the proxy's port"))?;
    Ok(parsed.to_string())
}

async fn serve(listener: TcpListener, server: SocketAddr, delay: Duration) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(upstream) = TcpStream::connect(server).await else { return };
            let _ = (client.set_nodelay(true), upstream.set_nodelay(true));
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = upstream.into_split();
            tokio::join!(pass(client_read, server_write, delay), pass(server_read, client_write, delay));
        });
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read.
async fn pass(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (send, mut receive) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buffer).await {
            if send.send((Instant::now() + delay, buffer[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = receive.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_round_trip_through_the_proxy_takes_twice_the_delay_and_keeps_the_bytes() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = echo.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = echo.accept().await.unwrap();
            let mut buffer = [0u8; 64];
            while let Ok(n @ 1..) = socket.read(&mut buffer).await {
                socket.write_all(&buffer[..n]).await.unwrap();
            }
        });
        let url =
            delayed(&format!("postgres://u@127.0.0.1:{port}/db"), Duration::from_millis(20)).await.unwrap();
        let proxy = url::Url::parse(&url).unwrap();
        assert_eq!(proxy.path(), "/db");
        assert_ne!(proxy.port(), Some(port));
        let mut socket = TcpStream::connect(("127.0.0.1", proxy.port().unwrap())).await.unwrap();
        // The paused clock moves only as timers fire: no wait here is real time.
        let started = Instant::now();
        socket.write_all(b"ping").await.unwrap();
        let mut answer = [0u8; 4];
        socket.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ping");
        assert!(started.elapsed() >= Duration::from_millis(40), "{:?}", started.elapsed());
        assert!(delayed("sqlite://x.db", Duration::from_millis(1)).await.is_err());
    }
}
