//! Shared by the Loki API tests: a gateway with API keys in front of two
//! simulators of the stand-in provider, plain-text-aware requests, and the checks Grafana's
//! response parser implies.
#![allow(dead_code)]

use crate::common::fleet::{Sim, Spec};
use crate::common::Gateway;
use loggate_core::sim::Served;
use loggate_core::time::now_ms;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const FULL: &str = "lg_loki-full-key-0123456789";
pub const APP_ONLY: &str = "lg_loki-app-key-0123456789";
pub const SLOW: &str = "lg_loki-slow-key-0123456789";
pub const MS: i128 = 1_000_000;

pub struct Setup {
    pub gateway: Gateway,
    pub billing: Sim,
    pub now_ms: i64,
    _served: Vec<Served>,
}

pub fn sha256_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn start(extra: &str) -> Setup {
    let now = now_ms();
    let mut toml = String::new();
    let mut served = Vec::new();
    let mut sims = Vec::new();
    for (i, name) in ["app", "billing"].iter().enumerate() {
        let spec = Spec {
            span_ms: 3_600_000,
            distinct_timestamps: 60,
            ..crate::common::stand_in_spec(300, i as u64 + 7)
        };
        let (sim, server, table) = crate::common::serve_sim(spec, now).await;
        toml += &format!(
            "[sources.{name}]\n{table}retries = 0\n\
             rate_limit = {{ per_second = 100000, burst = 100000 }}\n",
        );
        served.push(server);
        sims.push(sim);
    }
    let unlimited = "rate_limit = { per_second = 100000, burst = 100000 }";
    for (name, key, scope, rate) in [
        ("full", FULL, r#"["*"]"#, unlimited),
        ("apponly", APP_ONLY, r#"["app"]"#, unlimited),
        (
            "slow",
            SLOW,
            r#"["*"]"#,
            "rate_limit = { per_second = 1, burst = 2 }",
        ),
    ] {
        toml += &format!(
            "[auth.keys.{name}]\nsha256 = \"{}\"\nsources = {scope}\n{rate}\n",
            sha256_hex(key)
        );
    }
    toml += extra;
    Setup {
        gateway: Gateway::start(&toml).await,
        billing: sims.pop().unwrap(),
        now_ms: now,
        _served: served,
    }
}

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text);
        assert!(
            self.content_type.starts_with("application/json"),
            "{}",
            self.content_type
        );
        serde_json::from_str(&self.text).unwrap()
    }

    pub fn error(&self, status: u16, contains: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(
            self.content_type.starts_with("text/plain"),
            "{}",
            self.content_type
        );
        assert!(
            self.text.contains(contains),
            "{:?} lacks {contains:?}",
            self.text
        );
    }
}

pub async fn get(g: &Gateway, path: &str, auth: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    let mut request = g.client.get(g.url(path));
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        text: response.text().await.unwrap(),
    }
}

pub fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// What Grafana's parser (`converter.ReadPrometheusStyleResult`) reads from
/// a streams answer; returns every entry's `(ns, line, metadata)`.
pub fn grafana_streams(body: &Value, categorized: bool) -> Vec<(i128, String, Value)> {
    assert_eq!(body["status"], "success");
    let data = &body["data"];
    assert_eq!(data["resultType"], "streams");
    assert!(data["stats"].is_object());
    assert_eq!(
        data.get("encodingFlags").is_some(),
        categorized,
        "encodingFlags: {data}"
    );
    let mut out = Vec::new();
    for stream in data["result"].as_array().unwrap() {
        let labels = stream["stream"].as_object().unwrap();
        for key in [
            "source",
            "provider",
            "level",
            "detected_level",
            "service_name",
        ] {
            assert!(labels[key].is_string(), "label {key} in {stream}");
        }
        assert!(labels.get("id").is_none() && labels.get("user_id").is_none());
        for value in stream["values"].as_array().unwrap() {
            let value = value.as_array().unwrap();
            assert_eq!(value.len(), if categorized { 3 } else { 2 }, "{value:?}");
            let ns = value[0].as_str().unwrap();
            assert!(ns.bytes().all(|b| b.is_ascii_digit()), "{ns}");
            let meta = if categorized {
                let meta = value[2]["structuredMetadata"].clone();
                assert!(meta["id"].is_string() && meta["severity_number"].is_string());
                meta
            } else {
                Value::Null
            };
            out.push((
                ns.parse().unwrap(),
                value[1].as_str().unwrap().to_string(),
                meta,
            ));
        }
    }
    out
}
