//! Starting and stopping: the real binary on each backend, migrations, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use serde_json::Value;
use teller::config::SqlBackend;
use tokio::sync::Notify;

use crate::harness::{self, KvKind, TestApp, TestDb};

const TELLER: &str = env!("CARGO_BIN_EXE_teller");

/// `teller <args>` in `dir` with exactly `env` (nothing inherited but PATH).
pub(crate) fn teller(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(TELLER);
    cmd.args(args).current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("LOG_FORMAT", "json").env("PORT", "0").env("SECRETS_KEY", crate::harness::TEST_SECRETS_KEY);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// A running `teller serve`, ready once it logged the address it listens on.
pub(crate) struct Served {
    child: Child,
    pub(crate) port: u16,
    /// Every line it logged so far; complete once the process has exited.
    logs: tokio::sync::watch::Receiver<Vec<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Served {
    pub(crate) fn start(mut cmd: Command) -> Served {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
        let mut seen = Vec::new();
        let port = lines
            .by_ref()
            .find_map(|line| {
                seen.push(line.clone());
                let log: Value = serde_json::from_str(&line).ok()?;
                (log["message"] == "listening")
                    .then(|| log["addr"].as_str()?.rsplit(':').next()?.parse().ok())?
            })
            .unwrap_or_else(|| panic!("teller serve never logged its address: {seen:#?}"));
        let (tx, logs) = tokio::sync::watch::channel(seen);
        let reader = std::thread::spawn(move || {
            for line in lines {
                tx.send_modify(|seen| seen.push(line));
            }
        });
        Served { child, port, logs, reader }
    }

    /// Waits until it has logged a line containing `needle`.
    async fn logged(&mut self, needle: &str) {
        let found = self.logs.wait_for(|lines| lines.iter().any(|l| l.contains(needle)));
        tokio::time::timeout(Duration::from_secs(10), found)
            .await
            .unwrap_or_else(|_| panic!("never logged {needle:?}"))
            .expect("log reader alive");
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no drain, no cleanup; waits for the process to be gone.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        let _ = self.wait();
    }

    async fn health(&self) -> Value {
        let url = format!("http://127.0.0.1:{}/health", self.port);
        let response = reqwest::get(url).await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Sends SIGTERM and returns how the process exited and everything it logged.
    pub(crate) fn terminate(self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.wait()
    }

    /// Waits for the process to exit; returns how it did and everything it logged.
    fn wait(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        self.reader.join().unwrap();
        let logs = self.logs.borrow().join("\n");
        (status, logs)
    }
}

#[tokio::test]
async fn serve_with_no_environment_creates_the_sqlite_database_and_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(teller(dir.path(), &["serve"], &[]));
    assert!(dir.path().join("teller.db").exists(), "the default database file is created");

    let health = served.health().await;
    assert_eq!(health["checks"]["sql"]["backend"], "sqlite");
    assert_eq!(health["checks"]["kv"]["backend"], "memory");

    let (status, logs) = served.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM ends serve cleanly: {logs}");
    assert!(logs.contains("SIGTERM received") && logs.contains("stopped"), "{logs}");
}

/// The signal handlers are in place before serve says it is listening: a SIGTERM sent the moment
/// it does is a graceful shutdown, not the default end of the process (no drain, no exit code).
#[tokio::test]
async fn a_sigterm_the_moment_serve_says_it_is_listening_shuts_it_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (status, logs) = Served::start(teller(dir.path(), &["serve"], &[])).terminate();
    assert_eq!(status.code(), Some(0), "ended by the signal itself: {logs}");
    assert!(logs.contains("SIGTERM received") && logs.contains("stopped"), "{logs}");
}

/// Its allocator's areas would count whole, as 2 MiB pages, in the resident set: with them,
/// `teller serve` held 70 MiB at 1,000 msg/s instead of 40 (BENCHMARKS.md, "An allocator
/// without huge pages").
#[cfg(target_os = "linux")]
#[tokio::test]
async fn serve_runs_without_transparent_huge_pages_whatever_the_kernel_gives() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(teller(dir.path(), &["serve"], &[]));
    let process = std::fs::read_to_string(format!("/proc/{}/status", served.pid())).unwrap();
    let thp = process.lines().find(|l| l.starts_with("THP_enabled:"));
    assert_eq!(thp.map(|l| l.split_whitespace().collect::<Vec<_>>()), Some(vec!["THP_enabled:", "0"]));
    let (status, logs) = served.terminate();
    assert_eq!(status.code(), Some(0), "{logs}");
}

#[tokio::test]
async fn serve_refuses_a_postgres_schema_that_is_behind_until_migrate_runs() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let redis = std::env::var("TEST_REDIS_URL").expect("TEST_REDIS_URL (run scripts/test)");
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("KV_PREFIX", "lifecycle:"),
        ("WHATSAPP_SANDBOX", "true"),
    ];

    let refused = teller(dir.path(), &["serve"], &env).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("teller migrate"), "says what to do: {stderr}");

    let migrated = teller(dir.path(), &["migrate"], &env).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let again = teller(dir.path(), &["migrate"], &env).output().unwrap();
    assert!(again.status.success(), "migrate is idempotent");

    let served = Served::start(teller(dir.path(), &["serve"], &env));
    let health = served.health().await;
    assert_eq!(health["checks"]["sql"]["backend"], "postgres");
    assert_eq!(health["checks"]["kv"]["backend"], "redis");
    assert_eq!(served.terminate().0.code(), Some(0));
}

/// With the data on PostgreSQL and no WhatsApp token, `serve` would run the sandbox, whose
/// unauthenticated simulator API shows every customer's messages, codes included: it refuses
/// to start unless the sandbox is asked for by name.
#[tokio::test]
async fn serve_on_postgres_without_a_token_refuses_to_start_unless_the_sandbox_is_asked_for() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let dir = tempfile::tempdir().unwrap();
    let refused = teller(dir.path(), &["serve"], &[("DATABASE_URL", db.url.as_str())]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("WHATSAPP_ACCESS_TOKEN is not set with the data on PostgreSQL")
            && stderr.contains("WHATSAPP_SANDBOX=true"),
        "says why and what to do: {stderr}"
    );
    let env = [("DATABASE_URL", db.url.as_str()), ("WHATSAPP_SANDBOX", "true")];
    let served = Served::start(teller(dir.path(), &["serve"], &env));
    let page = reqwest::get(format!("http://127.0.0.1:{}/simulator", served.port)).await.unwrap();
    assert_eq!(page.status(), 200, "asked for: the sandbox and its simulator");
    assert_eq!(served.terminate().0.code(), Some(0));
}

#[tokio::test]
async fn the_startup_log_names_backends_but_never_a_password() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    // Same server, with a password in the URL that trust auth ignores.
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some("pw-must-not-show")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(teller(
        dir.path(),
        &["serve"],
        &[("DATABASE_URL", url.as_str()), ("WHATSAPP_SANDBOX", "true")],
    ));
    let (_, logs) = served.terminate();
    assert!(logs.contains("starting teller") && logs.contains("sql=postgres"), "{logs}");
    assert!(!logs.contains("pw-must-not-show"), "{logs}");
}

#[tokio::test]
async fn bad_configuration_is_refused_with_the_variable_named() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        teller(dir.path(), &["serve"], &[("DATABASE_URL", "mysql://root:hunter2@db/x")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn shutdown_lets_a_slow_in_flight_request_finish_then_stops_accepting() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (entered_in, release_in) = (entered.clone(), release.clone());
    let config = harness::config(harness::base_env(&db), harness::kv_config(KvKind::Memory));
    let app = TestApp::spawn_with(config, db, move |router| {
        router.route(
            "/slow",
            get(move || async move {
                entered_in.notify_one();
                release_in.notified().await;
                "finished"
            }),
        )
    })
    .await;

    let request = tokio::spawn(app.client.get(app.url("/slow")).send());
    entered.notified().await;
    let addr = app.addr;
    let mut app = app;
    app.begin_shutdown();
    // The listener closes while the request is still in flight.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "new connections are refused once shutdown began");
    let mut shutdown = tokio::spawn(app.shutdown());
    // Shutting down must wait for the request: finishing early would cut it off in production.
    // (A correct server never finishes here; a broken one does within milliseconds.)
    tokio::select! {
        ended = &mut shutdown => panic!("shutdown finished with a request in flight: {ended:?}"),
        () = tokio::time::sleep(Duration::from_millis(300)) => {}
    }
    release.notify_one();

    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "finished");
    shutdown.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_gives_up_on_a_request_that_outlasts_the_grace_period() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let mut env = harness::base_env(&db);
    env.insert("SHUTDOWN_GRACE_SECS".into(), "1".into());
    let config = harness::config(env, harness::kv_config(KvKind::Memory));
    let entered = Arc::new(Notify::new());
    let entered_in = entered.clone();
    let mut app = TestApp::spawn_with(config, db, move |router| {
        router.route(
            "/forever",
            get(move || async move {
                entered_in.notify_one();
                std::future::pending::<&'static str>().await
            }),
        )
    })
    .await;
    let _request = tokio::spawn(app.client.get(app.url("/forever")).send());
    entered.notified().await;
    app.begin_shutdown();
    let ended = tokio::time::timeout(Duration::from_secs(10), app.shutdown()).await;
    assert!(matches!(ended, Ok(Ok(()))), "shutdown is bounded and still clean: {ended:?}");
}

#[tokio::test]
async fn with_no_subcommand_teller_role_picks_what_runs() {
    let dir = tempfile::tempdir().unwrap();
    let migrated = teller(dir.path(), &[], &[("TELLER_ROLE", "migrate")]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    assert!(dir.path().join("teller.db").exists(), "migrate ran on the default database");

    // The worker role: it serves its liveness port, and stops on SIGTERM.
    let port = crate::harness::free_port().to_string();
    let mut worker = teller(dir.path(), &[], &[("TELLER_ROLE", "worker"), ("WORKER_PORT", port.as_str())])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("http://127.0.0.1:{port}/health")).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "TELLER_ROLE=worker did not start the worker");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The image's HEALTHCHECK, `teller health`, probes the port of the role it runs beside.
    let worker_env = [("TELLER_ROLE", "worker"), ("WORKER_PORT", port.as_str())];
    let probe = teller(dir.path(), &["health"], &worker_env).output().unwrap();
    assert!(probe.status.success(), "{}", String::from_utf8_lossy(&probe.stderr));
    assert!(String::from_utf8_lossy(&probe.stdout).contains("\"ok\""));
    let pid = worker.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(worker.wait().unwrap().code(), Some(0));
    let probe = teller(dir.path(), &["health"], &worker_env).output().unwrap();
    assert_eq!(probe.status.code(), Some(1), "nothing listens: unhealthy");
    let free = crate::harness::free_port().to_string();
    let probe = teller(dir.path(), &["health"], &[("PORT", free.as_str())]).output().unwrap();
    assert_eq!(probe.status.code(), Some(1), "serve's port, nothing there");
    let probe = teller(dir.path(), &["health"], &[("TELLER_ROLE", "migrate")]).output().unwrap();
    assert!(probe.status.success(), "a one-shot job has nothing to probe");

    let unknown = teller(dir.path(), &[], &[("TELLER_ROLE", "dance")]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("TELLER_ROLE"));

    let neither = teller(dir.path(), &[], &[]).output().unwrap();
    assert_eq!(neither.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&neither.stderr).contains("teller serve"));
}

/// A stand-in Redis that answers every command with `+OK`, except PING: it reports each PING
/// and answers it only when released, which makes `/health` a request that is slow on demand.
async fn stalling_redis() -> (u16, tokio::sync::mpsc::Receiver<()>, Arc<Notify>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (pinged_tx, pinged_rx) = tokio::sync::mpsc::channel(8);
    let release = Arc::new(Notify::new());
    let release_in = release.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (pinged, release) = (pinged_tx.clone(), release_in.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                // RESP requests: `*<n>`, then n pairs of `$<len>` and the argument.
                while let Ok(Some(header)) = lines.next_line().await {
                    let Some(n) = header.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) else {
                        continue;
                    };
                    let mut args = Vec::new();
                    for _ in 0..n {
                        let _len = lines.next_line().await;
                        args.push(lines.next_line().await.ok().flatten().unwrap_or_default());
                    }
                    let reply: &[u8] = if args.first().is_some_and(|c| c.eq_ignore_ascii_case("PING")) {
                        let _ = pinged.send(()).await;
                        release.notified().await;
                        b"+PONG\r\n"
                    } else {
                        b"+OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, pinged_rx, release)
}

#[tokio::test]
async fn sigterm_during_a_slow_request_lets_it_finish_and_exits_zero() {
    let (port, mut pinged, release) = stalling_redis().await;
    let dir = tempfile::tempdir().unwrap();
    let redis_url = format!("redis://127.0.0.1:{port}");
    let mut served = Served::start(teller(dir.path(), &["serve"], &[("REDIS_URL", redis_url.as_str())]));

    let url = format!("http://127.0.0.1:{}/health", served.port);
    let in_flight = tokio::spawn(reqwest::get(url));
    pinged.recv().await.expect("the health check reached Redis");
    // The request is now in flight inside teller, waiting on Redis. Ask teller to stop.
    let pid = served.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    served.logged("SIGTERM received").await;
    // The process must stay up while the request is in flight (a broken drain exits at once).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(served.child.try_wait().unwrap().is_none(), "teller exited with a request in flight");
    release.notify_one();

    let response = in_flight.await.unwrap().expect("the in-flight request was answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["checks"]["kv"]["status"], "ok");
    let (status, logs) = served.wait();
    assert_eq!(status.code(), Some(0), "{logs}");
}

crate::harness::on_both_sql_backends!(every_message_answered_200_is_handled_after_kill_9);

async fn every_message_answered_200_is_handled_after_kill_9(backend: SqlBackend) {
    const SECRET: &str = "kill-test-secret";
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("WHATSAPP_APP_SECRET", SECRET),
        ("DISPATCH_LEASE_SECS", "1"),
        ("WHATSAPP_SANDBOX", "true"),
    ];

    let mut served = Served::start(teller(dir.path(), &["serve"], &env));
    let url = format!("http://127.0.0.1:{}/webhook", served.port);
    let client = reqwest::Client::new();
    let sends: Vec<_> = (0..40)
        .map(|n| {
            let wa_id = format!("23480300000{:02}", n % 8);
            let body = crate::harness::text_notification(&wa_id, &format!("wamid.k{n}"), "menu", 0);
            crate::harness::post_signed(client.clone(), url.clone(), SECRET, body)
        })
        .collect();
    for status in futures_util::future::join_all(sends).await {
        assert_eq!(status, 200);
    }
    // SIGKILL: no drain, no cleanup, leases left behind mid-message.
    served.child.kill().unwrap();
    let _ = served.wait();

    let restarted = Served::start(teller(dir.path(), &["serve"], &env));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let counts = store.inbox_counts().await.unwrap();
        let mut done = 0;
        for c in 0..8 {
            let inbox = store.inbox_for_sender(&format!("wa:23480300000{c:02}")).await.unwrap();
            done += inbox.iter().filter(|m| m.state == "done").count();
        }
        if counts.messages == 40 && done == 40 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{done} of {} accepted messages handled",
            counts.messages
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut replies = 0;
    for c in 0..8 {
        replies += store.outbox_for_recipient(&format!("wa:23480300000{c:02}")).await.unwrap().len();
    }
    assert_eq!(replies, 40, "every accepted message answered exactly once");
    assert_eq!(restarted.terminate().0.code(), Some(0));
}
