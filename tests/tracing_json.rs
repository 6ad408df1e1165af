//! Black-box: JSON logs of one request all carry its request id (through
//! the `request` span), each source fetch has a span with source, kind,
//! status and latency, the id is echoed in the response, and no token
//! appears in the logs.
//!
//! The subscriber is the JSON format `--log-format json` installs
//! (`loggate::logging::subscriber`), writing to a buffer instead of stderr.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::fleet::{Kind, Sim};
use common::Gateway;
use loggate_core::sim::{serve_loopback, Fault};
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn lines(buffer: &Buffer) -> Vec<Value> {
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The fields of the span named `name` on a line, if it is inside one.
fn span<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["spans"].as_array()?.iter().find(|s| s["name"] == name)
}

#[tokio::test]
async fn every_line_of_a_request_carries_its_id() {
    let buffer = Buffer::default();
    // The very subscriber `--log-format json` installs (its writer aside).
    let subscriber = loggate::logging::subscriber(
        loggate::cli::LogFormat::Json,
        loggate::logging::LogFilter::parse("debug"),
        buffer.clone(),
        false,
    );
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let kind = Kind::stand_in();
    let app = Sim::of(kind, 50);
    let app_server = serve_loopback(app.router()).await.unwrap();
    let broken = Sim::of(kind, 50);
    broken
        .faults()
        .fail_always(Fault::status(503, "{\"error\":\"down\"}"));
    let broken_server = serve_loopback(broken.router()).await.unwrap();
    let toml = format!(
        r#"[sources.app]
kind = "{kind}"
base_url = "{}"
token = "{}"
rate_limit = {{ per_second = 100000, burst = 100000 }}
[sources.broken]
kind = "{kind}"
base_url = "{}"
token = "secret-token-of-broken"
retries = 1
rate_limit = {{ per_second = 100000, burst = 100000 }}
"#,
        app_server.base_url(),
        app.token(),
        broken_server.base_url(),
        kind = kind.provider,
    );
    let gateway = Gateway::start(&toml).await;

    let id = "client-req.42_x";
    let response = gateway
        .client
        .get(gateway.url("/logs?limit=5"))
        .header("x-request-id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], id);

    // An id that is not sane is replaced, and a missing one generated.
    for sent in [Some("bad id\nwith newline"), Some(&*"x".repeat(65)), None] {
        let mut request = gateway.client.get(gateway.url("/healthz"));
        if let Some(sent) = sent {
            request = request.header("x-request-id", sent.replace('\n', " "));
        }
        let response = request.send().await.unwrap();
        let echoed = response.headers()["x-request-id"].to_str().unwrap();
        assert!(Some(echoed) != sent && !echoed.is_empty() && echoed.len() <= 64);
    }

    let all = lines(&buffer);
    let ours: Vec<&Value> = all
        .iter()
        .filter(|l| span(l, "request").is_some_and(|s| s["request_id"] == id))
        .collect();
    // Every line emitted inside a request span names a request id, and the
    // lines of ours include the answer, both fetches, the failure and the retry.
    for line in &all {
        if let Some(request) = span(line, "request") {
            assert!(request["request_id"].is_string(), "{line}");
        }
        if span(line, "fetch").is_some() {
            assert!(
                span(line, "request").is_some(),
                "fetch outside a request: {line}"
            );
        }
    }
    let messages: Vec<&str> = ours.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(messages.contains(&"request answered"), "{messages:?}");
    assert!(messages.contains(&"source failed"), "{messages:?}");
    assert!(
        messages.contains(&"retrying upstream request"),
        "{messages:?}"
    );
    let answered = ours
        .iter()
        .find(|l| l["message"] == "request answered")
        .unwrap();
    assert_eq!(answered["status"], 200);
    assert_eq!(answered["span"]["route"], "/logs");
    // The one info line of a page names its sources and whether it is partial.
    assert_eq!(answered["span"]["sources"], "app,broken", "{answered}");
    assert_eq!(answered["span"]["partial"], true, "{answered}");
    let fetched: Vec<&Value> = ours
        .iter()
        .copied()
        .filter(|l| l["message"] == "source fetched")
        .collect();
    assert_eq!(fetched.len(), 2, "{fetched:?}");
    for line in fetched {
        let fetch = &line["span"];
        assert_eq!(fetch["name"], "fetch", "{line}");
        assert_eq!(fetch["kind"], kind.provider);
        assert!(fetch["latency_ms"].is_u64(), "{line}");
        match fetch["source"].as_str().unwrap() {
            "app" => assert_eq!(fetch["status"], "ok"),
            "broken" => assert_eq!(fetch["status"], "upstream_error"),
            other => panic!("unexpected source {other}"),
        }
    }
    // Lines of our request are many; none of another request got our id.
    assert!(ours.len() >= 5, "{ours:?}");
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("secret-token-of-broken"));
    assert!(!text.contains(&app.token()));
}

/// The open-access warning names the address actually bound (with
/// `--listen 127.0.0.1:0` it said `127.0.0.1:0`, a port nobody can reach).
#[tokio::test]
async fn the_open_access_warning_names_the_bound_port() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .json()
        .flatten_event(true)
        .finish();
    // This thread only (the runtime of a `#[tokio::test]` is this thread):
    // the other test installs the global subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    let (gateway, _sim) = common::one_open_source().await;
    let warnings: Vec<String> = lines(&buffer)
        .iter()
        .filter_map(|line| line["message"].as_str())
        .filter(|message| message.starts_with("no API keys configured"))
        .map(str::to_string)
        .collect();
    let reach = format!("anyone who can reach {} can", gateway.addr);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(&reach), "{warnings:?} lacks {reach}");
}
