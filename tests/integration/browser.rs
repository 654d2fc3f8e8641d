//! A WebDriver client for the browser tests: headless Chromium through chromedriver, over plain
//! HTTP. `scripts/test` installs Debian's `chromium` and `chromium-driver` when they are
//! missing; without them the browser tests fail.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::free_port;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session through chromedriver (WebDriver over plain HTTP).
pub struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Driver {
    pub async fn start() -> Driver {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let port = free_port();
        // In a process group of its own, with the browsers it starts: ending the group ends them
        // all, even when a test ends without `quit` (a panic, an early return).
        let child = Command::new(&chromedriver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {chromedriver} ({e}): run scripts/test, which installs it")
            });
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        } } });
        // A Chromium that dies while starting (the machine busy with another browser test) is
        // started once more before the test fails.
        let mut created = Value::Null;
        for _ in 0..2 {
            created = http
                .post(format!("{base}/session"))
                .json(&capabilities)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if created["value"]["sessionId"].is_string() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session: {created}"))
            .to_owned();
        Driver { child, base, session, http, _profile: profile }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let response = self.http.request(method, url).json(&body).send().await.unwrap();
        response.json::<Value>().await.unwrap()["value"].take()
    }

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url })).await;
    }

    /// The element `css` selects, waiting for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let found = self
                .call(reqwest::Method::POST, "/element", json!({ "using": "css selector", "value": css }))
                .await;
            if let Some(id) = found.get(ELEMENT).and_then(Value::as_str) {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "{css} never appeared; page text: {}", self.text().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), json!({})).await;
    }

    pub async fn type_text(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), json!({ "text": text })).await;
    }

    pub async fn text(&self) -> String {
        let script = json!({ "script": "return document.body.innerText", "args": [] });
        self.call(reqwest::Method::POST, "/execute/sync", script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The text a person reads in the region `css` selects (empty while there is none).
    pub async fn text_in(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';";
        self.run(script, json!([css])).await.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the region `css` selects shows `needle`: a step asserts what it changed
    /// where it changed it, so text left by an earlier step elsewhere cannot pass it.
    pub async fn wait_in(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text_in(css).await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {needle:?}; it shows {text:?}; the page: {}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Driver {
    /// Waits until nothing on the page matches `css`: a region a step removed is gone, polled
    /// as [`Driver::wait_in`] polls, so a page still re-drawing cannot pass or fail it early.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.count(css).await > 0 {
            assert!(Instant::now() < deadline, "{css} never went; the page: {}", self.text().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` in the page (its `arguments` are `args`) and returns what it returns.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// How many elements `css` selects now.
    pub async fn count(&self, css: &str) -> usize {
        let found = self
            .call(reqwest::Method::POST, "/elements", json!({ "using": "css selector", "value": css }))
            .await;
        found.as_array().map_or(0, Vec::len)
    }

    /// Ends the browser session.
    pub async fn quit(&self) {
        let _ = self.call(reqwest::Method::DELETE, "", json!({})).await;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver and every Chromium process it started: killing chromedriver alone left its
        // browsers running after the suite.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
