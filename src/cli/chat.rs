//! `teller chat`: talk to the bot in the terminal through the same pipeline.
//!
//! It starts teller on a free loopback port (the embedded default unless `DATABASE_URL` or
//! `REDIS_URL` say otherwise) and speaks to it through the simulator's API: each line typed is
//! a customer's message, stored in the inbox, handled by the dispatcher and the engine, and its
//! replies come back from the sandbox's outbox. Buttons and lists show as numbered options;
//! replying with the number picks one.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::app::App;
use crate::config::Config;

/// How long to wait for the first reply to a message.
const FIRST_REPLY: Duration = Duration::from_secs(10);
/// A reply is complete once nothing more arrived for this long.
const QUIET: Duration = Duration::from_millis(400);

/// Chats as the customer `phone` until end of input.
pub async fn run(mut config: Config, phone: &str) -> anyhow::Result<()> {
    if config.whatsapp.access_token.is_some() {
        bail!("teller chat talks to the sandbox: unset WHATSAPP_ACCESS_TOKEN to use it");
    }
    if !(8..=15).contains(&phone.len()) || !phone.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--phone must be 8 to 15 digits, e.g. 2348030000001");
    }
    config.http.port = 0;
    let app = App::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.local_addr()?.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let chat = Chat { client, base, phone: phone.to_owned() };

    // What was said before this run is history: only new replies are shown.
    let mut seen = chat.replies().await?.iter().filter_map(|m| m["id"].as_i64()).max().unwrap_or(0);
    println!(
        "Chatting as {phone} on the sandbox. Type a message, or a number to pick an option; Ctrl-D ends."
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        print!("you> ");
        std::io::stdout().flush()?;
        let Some(line) = lines.next_line().await? else { break };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        chat.send(text).await?;
        seen = chat.show_replies(seen).await?;
    }
    println!();
    let _ = stop.send(());
    server.await.context("teller stopped unexpectedly")??;
    Ok(())
}

struct Chat {
    client: reqwest::Client,
    base: String,
    phone: String,
}

impl Chat {
    async fn send(&self, text: &str) -> anyhow::Result<()> {
        let response = self
            .client
            .post(format!("{}/simulator/api/messages", self.base))
            .json(&json!({ "phone": self.phone, "text": text }))
            .send()
            .await?;
        if !response.status().is_success() {
            let problem: Value = response.json().await.unwrap_or(Value::Null);
            bail!("teller refused the message: {}", problem["error"]);
        }
        Ok(())
    }

    async fn replies(&self) -> anyhow::Result<Vec<Value>> {
        let url = format!("{}/simulator/api/messages?phone={}", self.base, self.phone);
        let body: Value = self.client.get(url).send().await?.error_for_status()?.json().await?;
        Ok(body["messages"].as_array().cloned().unwrap_or_default())
    }

    /// Prints replies newer than `seen` as they arrive; returns the newest id shown.
    async fn show_replies(&self, mut seen: i64) -> anyhow::Result<i64> {
        let started = Instant::now();
        let mut last_new = None::<Instant>;
        loop {
            for reply in self.replies().await? {
                let id = reply["id"].as_i64().unwrap_or(0);
                if id > seen {
                    seen = id;
                    last_new = Some(Instant::now());
                    println!("{}", render(&reply["body"]));
                }
            }
            match last_new {
                Some(at) if at.elapsed() >= QUIET => return Ok(seen),
                None if started.elapsed() >= FIRST_REPLY => {
                    println!("(no reply yet; it will show after your next message)");
                    return Ok(seen);
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// A reply as terminal text: buttons and list rows numbered, as a customer may answer them.
pub fn render(body: &Value) -> String {
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned();
    match body["type"].as_str() {
        Some("text") => format!("bot> {}", text("/text/body")),
        Some("interactive") => {
            let mut out = format!("bot> {}", text("/interactive/body/text"));
            let buttons = body.pointer("/interactive/action/buttons").and_then(Value::as_array);
            for (i, button) in buttons.into_iter().flatten().enumerate() {
                let title = button.pointer("/reply/title").and_then(Value::as_str).unwrap_or_default();
                out.push_str(&format!("\n     {}. {title}", i + 1));
            }
            let sections = body.pointer("/interactive/action/sections").and_then(Value::as_array);
            let rows = sections
                .into_iter()
                .flatten()
                .flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default());
            for (i, row) in rows.enumerate() {
                let title = row["title"].as_str().unwrap_or_default();
                out.push_str(&format!("\n     {}. {title}", i + 1));
                if let Some(description) = row["description"].as_str() {
                    out.push_str(&format!(" — {description}"));
                }
            }
            if let Some(cta) = body.pointer("/interactive/action/parameters/flow_cta").and_then(Value::as_str)
            {
                // A form on a phone; a terminal has none, and the typed answer is taken too.
                out.push_str(&format!("\n     [{cta}: a form on WhatsApp; type it here]"));
            }
            out
        }
        Some("template") => format!("bot> [template {}]", text("/template/name")),
        _ => format!("bot> {body}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_and_rows_are_numbered_as_they_can_be_answered() {
        let buttons = json!({"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "Alpha"}},
                                   {"type": "reply", "reply": {"id": "b", "title": "Beta"}}]}}});
        assert_eq!(render(&buttons), "bot> Pick\n     1. Alpha\n     2. Beta");
        let list = json!({"type": "interactive", "interactive": {"type": "list", "body": {"text": "Pick"},
            "action": {"button": "Choose", "sections": [{"rows": [{"id": "a", "title": "Alpha", "description": "first"}]}]}}});
        assert_eq!(render(&list), "bot> Pick\n     1. Alpha — first");
        assert_eq!(render(&json!({"type": "text", "text": {"body": "Hi"}})), "bot> Hi");
    }
}
