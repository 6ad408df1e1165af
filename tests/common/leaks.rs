//! The leak harness (README "Security"): a gateway run with distinctive
//! secret values, every response it gives recorded (status line, headers,
//! body), and everything `tracing` writes in the test binary captured at
//! TRACE level, so that a test can assert no secret appears in any of
//! them. `security_leaks` runs it over every registered provider; a
//! provider with credentials of its own kind (a grant, issued tokens)
//! has its own `tests/provider_<kind>_leaks.rs`.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use loggate_core::sim::{Fault, Faults};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Gateway;

pub const CURSOR_SECRET: &str = "CURSORSECRET-sekrit-1234567890";
pub const API_KEY: &str = "lg_APIKEY-sekrit-abcdef0123";

/// The `[server]` and `[auth]` tables holding [`CURSOR_SECRET`] and the
/// digest of [`API_KEY`] (the key itself is never configured).
pub fn server_and_key_toml() -> String {
    let key_sha: String = Sha256::digest(API_KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "[server]\ncursor_secret = \"{CURSOR_SECRET}\"\n\
         [auth.keys.ops]\nsha256 = \"{key_sha}\"\nsources = [\"*\"]\n{}\n",
        super::fleet::UNLIMITED
    )
}

/// Everything written by `tracing` in this test binary, at every level.
pub fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || BufferWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        buffer
    })
}

/// What [`captured_logs`] holds so far, as text.
pub fn logs_text() -> String {
    String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned()
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Panics, showing the context, if `text` holds any of `secrets`.
pub fn assert_no_secret(secrets: &[String], text: &str, what: &str) {
    for secret in secrets {
        if let Some(at) = text.find(secret.as_str()) {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(150)
                .map_or(0, |(i, _)| i);
            let context: String = text[from..].chars().take(300).collect();
            panic!("{what} leaks {secret:?}: …{context}…");
        }
    }
}

/// An error body echoing `held` (the credentials the gateway holds) and
/// `extra` in the fields providers put messages in.
pub fn echoing_body(held: &[String], extra: &str) -> String {
    let (first, last) = (held.first().cloned(), held.last().cloned());
    let (first, last) = (first.unwrap_or_default(), last.unwrap_or_default());
    serde_json::json!({
        "message": format!("denied: {} {extra}", held.join(" ")),
        "error": last,
        "error_description": format!("{last} {extra}"),
        "code": first,
    })
    .to_string()
}

/// Every request to `faults`' simulator fails with `status` and a body
/// echoing `held` and `extra`.
pub fn fail_all_with(faults: &Faults, status: u16, held: &[String], extra: &str) {
    faults.fail_always(Fault::status(status, &echoing_body(held, extra)));
}

/// A gateway whose every response is recorded.
pub struct Probe {
    pub gateway: Gateway,
    /// Every response's status line, headers and body.
    pub transcript: Mutex<String>,
}

impl Probe {
    pub async fn start(toml: &str) -> Probe {
        Probe {
            gateway: Gateway::start(toml).await,
            transcript: Mutex::new(String::new()),
        }
    }

    /// GET with an `Authorization` value; records the whole response.
    pub async fn get_auth(&self, path: &str, authorization: &str) -> (u16, Value) {
        let response = self
            .gateway
            .client
            .get(self.gateway.url(path))
            .header("authorization", authorization)
            .send()
            .await
            .expect("gateway answers");
        let status = response.status().as_u16();
        // (the path is left out: it may carry what the client sent)
        let mut record = format!("-> {status}\n");
        for (name, value) in response.headers() {
            record += &format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes()));
        }
        let body = response.bytes().await.expect("body");
        record += &String::from_utf8_lossy(&body);
        self.transcript.lock().unwrap().push_str(&(record + "\n"));
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, value)
    }

    /// GET with [`API_KEY`].
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_auth(path, &format!("Bearer {API_KEY}")).await
    }

    /// Follows cursors to the end (bounded), recording every page; the
    /// number of records seen.
    pub async fn traverse(&self, query: &str) -> usize {
        let mut path = format!("/logs?{query}");
        let mut seen = 0;
        for _ in 0..200 {
            let (status, body) = self.get(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            seen += body["logs"].as_array().map_or(0, Vec::len);
            match body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/logs?cursor={cursor}&limit=13"),
                None => return seen,
            }
        }
        panic!("traversal of {query} did not end");
    }

    /// Bad API keys and tampered cursors, answered without echoing; the
    /// open endpoints answer.
    pub async fn refusals_and_open_endpoints(&self) {
        self.get_auth("/logs", &format!("Bearer {API_KEY}x")).await;
        self.get_auth("/logs", &format!("Basic {API_KEY}")).await;
        self.get_auth("/logs", API_KEY).await;
        let (_, body) = self.get("/logs?limit=2").await;
        let cursor = body["next_cursor"].as_str().unwrap().to_string();
        self.get(&format!("/logs?cursor={cursor}x")).await;
        self.get(&format!("/logs?cursor={}", &cursor[1..])).await;
        self.get(&format!("/logs?q={API_KEY}")).await;
        let (status, _) = self.get("/metrics").await;
        assert_eq!(status, 200, "/metrics");
        let (status, _) = self.get("/openapi.json").await;
        assert_eq!(status, 200, "/openapi.json");
        self.get("/sources").await;
    }

    pub fn transcript(&self) -> String {
        self.transcript.lock().unwrap().clone()
    }
}
