//! A small Server-Sent Events reader for the tail tests: reads a
//! `text/event-stream` body chunk by chunk and splits it into events.

use std::time::Duration;

/// One event as received.
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
    pub retry: Option<u64>,
}

impl SseEvent {
    /// The log ids of a batch event (its `data` is a `/logs` page).
    pub fn log_ids(&self) -> Vec<String> {
        let page: serde_json::Value = serde_json::from_str(&self.data).expect("JSON page");
        page["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .map(|l| l["id"].as_str().expect("id").to_string())
            .collect()
    }
}

/// An open event stream.
pub struct SseStream {
    response: reqwest::Response,
    buffer: String,
    pub heartbeats: usize,
}

impl SseStream {
    /// Opens `url` with `Last-Event-ID` when given; returns the status and
    /// the stream, or the status and the error body (`null` when empty,
    /// as a `204`'s).
    pub async fn open(
        client: &reqwest::Client,
        url: &str,
        last_event_id: Option<&str>,
    ) -> Result<SseStream, (u16, serde_json::Value)> {
        let mut request = client.get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("gateway answers");
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.bytes().await.expect("body");
            if body.is_empty() {
                return Err((status, serde_json::Value::Null));
            }
            let value = serde_json::from_slice(&body).expect("a JSON error body");
            return Err((status, value));
        }
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Ok(SseStream {
            response,
            buffer: String::new(),
            heartbeats: 0,
        })
    }

    /// The next event (heartbeat comments are counted, not returned);
    /// `None` when the stream ended. Panics when nothing at all arrives
    /// for a minute (a hang guard, not a timing condition).
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = self.parse(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(60), self.response.chunk())
                .await
                .expect("the stream sends something (heartbeats at least) within a minute")
                .ok()??;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8 stream"));
        }
    }

    fn parse(&mut self, block: &str) -> Option<SseEvent> {
        self.heartbeats += block.lines().filter(|l| l.starts_with(':')).count();
        parse_event(block)
    }
}

/// The events of a whole `text/event-stream` body.
pub fn parse_events(body: &str) -> Vec<SseEvent> {
    body.split("\n\n").filter_map(parse_event).collect()
}

/// One event block (`None` for comments only).
fn parse_event(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent {
        event: "message".into(),
        ..SseEvent::default()
    };
    let mut fields = 0;
    for line in block.lines().filter(|l| !l.is_empty()) {
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        fields += 1;
        match name {
            "event" => event.event = value.to_string(),
            "id" => event.id = Some(value.to_string()),
            "retry" => event.retry = value.parse().ok(),
            "data" => {
                if !event.data.is_empty() {
                    event.data.push('\n');
                }
                event.data.push_str(value);
            }
            other => panic!("unexpected SSE field {other:?}"),
        }
    }
    (fields > 0).then_some(event)
}
