//! Shared by the black-box tests: a real gateway on a free loopback port in
//! front of simulators, a traversal helper that follows `next_cursor`, and
//! the reference ordering of spec §3.
#![allow(dead_code)]

pub mod counts;
pub mod fleet;
pub mod injection;
mod kinds;
pub mod late;
pub mod leaks;
pub mod metrics;
pub mod page_cost;
pub mod schema;
pub mod sse;

use std::net::SocketAddr;

use loggate::app::Application;
use loggate::config;
use loggate::engine::merge::cmp_global;
use loggate::registry::Registry;
use loggate_core::{Filters, LogRecord, Order};
use serde_json::Value;
use tokio::sync::oneshot;

/// A running gateway; stopped when dropped.
pub struct Gateway {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Gateway {
    /// Starts a gateway from TOML text (its `server.listen` is replaced by port 0).
    pub async fn start(toml: &str) -> Gateway {
        Gateway::start_with_env(toml, Vec::new()).await
    }

    pub async fn start_with_env(toml: &str, env: Vec<(String, String)>) -> Gateway {
        Gateway::start_in(&Registry::builtin(), toml, env).await
    }

    /// Starts a gateway for the providers of `registry`.
    pub async fn start_in(registry: &Registry, toml: &str, env: Vec<(String, String)>) -> Gateway {
        let mut config = config::load_str_with(registry, toml, env)
            .unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
        config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        if !toml.contains("[cache]") {
            // The black-box tests measure the gateway without the answer
            // cache (every request reaches its upstream; the pinned end is
            // the first page's exact time) unless their configuration has
            // a `[cache]` table: tests/cache.rs and the traversal property
            // (tests/prop_traversal.rs) run with it.
            config.cache.settings.enabled = false;
            config.cache.pin_rounding = std::time::Duration::from_millis(1);
        }
        let app = Application::build(&config).await.expect("gateway binds");
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Gateway {
            addr,
            client: reqwest::Client::new(),
            _stop: stop,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    /// GET without a key and read the body as text (e.g. `/metrics`);
    /// panics when the request itself fails.
    pub async fn text(&self, path_and_query: &str) -> String {
        let response = self.client.get(self.url(path_and_query)).send().await;
        response.unwrap().text().await.unwrap()
    }

    /// GET and decode; returns (status, body).
    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        self.get_with(path_and_query, None).await
    }

    pub async fn get_with(&self, path_and_query: &str, key: Option<&str>) -> (u16, Value) {
        let mut request = self.client.get(self.url(path_and_query));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("gateway answers");
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("body");
        let value = serde_json::from_slice(&body).unwrap_or_else(|_| {
            panic!(
                "non-JSON body with status {status}: {}",
                String::from_utf8_lossy(&body)
            )
        });
        (status, value)
    }

    /// Follows `next_cursor` from `query` to the end; returns every log id in
    /// order. `between(page)` runs between pages (to insert upstream).
    pub async fn traverse(
        &self,
        query: &str,
        limit: usize,
        between: impl FnMut(usize),
    ) -> Vec<String> {
        self.traverse_pinned(query, limit, between).await.0
    }

    /// Like [`Gateway::traverse`], also returning the upper time bound the
    /// gateway pinned at the first page ([`Pinned`]).
    pub async fn traverse_pinned(
        &self,
        query: &str,
        limit: usize,
        mut between: impl FnMut(usize),
    ) -> (Vec<String>, Pinned) {
        let mut pinned = Pinned::around(loggate_core::time::now_ms(), i64::MAX);
        let mut ids = Vec::new();
        let mut path = format!("/logs?{query}&limit={limit}");
        for page in 0..100_000 {
            let (status, body) = self.get(&path).await;
            if page == 0 {
                pinned = Pinned::around(pinned.earliest, loggate_core::time::now_ms());
            }
            assert_eq!(status, 200, "page {page} of {query}: {body}");
            let logs = body["logs"].as_array().expect("logs array");
            assert!(logs.len() <= limit, "page over limit");
            ids.extend(
                logs.iter()
                    .map(|l| l["id"].as_str().expect("id").to_string()),
            );
            between(page);
            match body["next_cursor"].as_str() {
                Some(cursor) => {
                    if page == 0 {
                        let end = pinned_end(cursor);
                        pinned = Pinned {
                            earliest: end,
                            latest: end,
                        };
                    }
                    path = format!("/logs?cursor={cursor}&limit={limit}")
                }
                None => return (ids, pinned),
            }
        }
        panic!("traversal of {query} did not end");
    }
}

/// The default `cache.pin_rounding` (ms): a traversal's pinned end is the
/// first page's time rounded down to a multiple of it (README "Cache").
pub const PIN_ROUNDING_MS: i64 = 1_000;

/// The end a traversal pinned at its first page, as its client knows it:
/// read from the first cursor, or — a single page has no cursor — one of
/// the multiples of [`PIN_ROUNDING_MS`] the clock reached while that page
/// was served. (A log stamped in the second before the first page is not
/// part of the traversal: bounding the reference of a single page by
/// nothing expected it; the soak's seed `ed94274`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinned {
    pub earliest: i64,
    pub latest: i64,
}

impl Pinned {
    /// The pins possible for a first page sent at `sent` and answered at
    /// `answered` (epoch ms).
    fn around(sent: i64, answered: i64) -> Pinned {
        let floor = |t: i64| t.div_euclid(PIN_ROUNDING_MS) * PIN_ROUNDING_MS;
        Pinned {
            earliest: floor(sent),
            latest: floor(answered),
        }
    }

    /// The reference (`reference_at(pin)`) that `got` equals among the
    /// possible pins, else the one of the latest pin (for the assertion
    /// to explain).
    pub fn expected(
        &self,
        got: &[String],
        reference_at: impl Fn(i64) -> Vec<String>,
    ) -> Vec<String> {
        let mut pin = self.earliest;
        while pin < self.latest {
            let expected = reference_at(pin);
            if got == expected.as_slice() {
                return expected;
            }
            pin += PIN_ROUNDING_MS;
        }
        reference_at(self.latest)
    }
}

/// The traversal's pinned upper bound, read from inside a cursor
/// (`base64url(version ‖ JSON ‖ 32-byte MAC)`, JSON field `p`).
pub fn pinned_end(cursor: &str) -> i64 {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .expect("cursor is base64url");
    let json: Value = serde_json::from_slice(&bytes[1..bytes.len() - 32]).expect("cursor JSON");
    json["p"].as_i64().expect("pinned bound")
}

/// The ids a traversal must return: every matching record of every source,
/// ordered by (timestamp, source, native id).
pub fn reference(
    sources: &[(&str, Vec<LogRecord>)],
    filters: &Filters,
    order: Order,
) -> Vec<String> {
    let mut all: Vec<(&str, &LogRecord)> = sources
        .iter()
        .flat_map(|(name, records)| {
            records
                .iter()
                .filter(|r| filters.matches(r))
                .map(move |r| (*name, r))
        })
        .collect();
    all.sort_by(|a, b| cmp_global(*a, *b, order));
    all.into_iter()
        .map(|(name, r)| format!("{name}:{}", r.native_id))
        .collect()
}

/// The ids of `source` among gateway ids (`source:native_id`), in the
/// order given.
pub fn of_source(ids: &[String], source: &str) -> Vec<String> {
    let prefix = format!("{source}:");
    ids.iter()
        .filter(|id| id.starts_with(&prefix))
        .cloned()
        .collect()
}

/// Asserts two id lists are equal, explaining the first difference.
pub fn assert_same_ids(got: &[String], expected: &[String], what: &str) {
    if got == expected {
        return;
    }
    let first = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    let mut seen = std::collections::HashSet::new();
    let duplicate = got.iter().find(|id| !seen.insert(*id));
    panic!(
        "{what}: got {} ids, expected {}; first difference at {first}: got {:?}, expected {:?}; duplicate: {duplicate:?}",
        got.len(),
        expected.len(),
        got.get(first),
        expected.get(first),
    );
}

/// One source table: `name` of `kind` at `served` with an API `token`,
/// no outbound rate limit, and `extra` keys.
pub fn source_toml(
    name: &str,
    kind: &str,
    served: &loggate_core::sim::Served,
    token: &str,
    extra: &str,
) -> String {
    format!(
        "[sources.{name}]\nkind = \"{kind}\"\nbase_url = \"{}\"\ntoken = \"{token}\"\n{}\n{extra}\n",
        served.base_url(),
        fleet::UNLIMITED
    )
}

/// The page's top-level `warnings` (spec §5); panics when it has none.
pub fn warnings(page: &Value) -> Vec<String> {
    page["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no warnings in {page}"))
        .iter()
        .map(|w| w.as_str().expect("a string").to_string())
        .collect()
}

/// `value` percent-encoded for a query string (form encoding: a space is
/// `+`, which the gateway reads back as a space).
pub fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The kind the configuration-only tests give a source table of `kind`,
/// `base_url` and `token`: the stand-in provider ([`fleet::Kind::stand_in`]).
pub fn stand_in_kind() -> &'static str {
    fleet::Kind::stand_in().provider()
}

/// One source, `app`, and no keys (open access): 20 records of the
/// stand-in provider, no retries.
pub async fn one_open_source() -> (Gateway, loggate_core::sim::Served) {
    stand_in_source(20, "retries = 0").await
}

/// One source, `app`, of the stand-in provider ([`stand_in_sim`], seed
/// 0x01e7e1ed), no outbound rate limit, `extra` in its table; no keys
/// (open access).
pub async fn stand_in_source(records: usize, extra: &str) -> (Gateway, loggate_core::sim::Served) {
    let (_, server, table) = stand_in_sim(records, 0x01e7_e1ed).await;
    let toml = format!("[sources.app]\n{table}{}\n{extra}\n", fleet::UNLIMITED);
    (Gateway::start(&toml).await, server)
}

/// A simulator of the stand-in provider ([`stand_in_spec`]) on loopback
/// and the lines of its source table ([`serve_sim`]).
pub async fn stand_in_sim(
    records: usize,
    seed: u64,
) -> (fleet::Sim, loggate_core::sim::Served, String) {
    serve_sim(stand_in_spec(records, seed), loggate_core::time::now_ms()).await
}

/// `records` records of `seed` of the stand-in provider
/// ([`fleet::Kind::stand_in`]) on up to 800 instants over 7 days (its demo
/// data set's shape).
pub fn stand_in_spec(records: usize, seed: u64) -> fleet::Spec {
    fleet::Spec {
        kind: fleet::Kind::stand_in(),
        seed,
        records,
        distinct_timestamps: 800,
        span_ms: 7 * 24 * 3_600_000,
    }
}

/// The simulator of `spec` (its data ending at `now`) on loopback, and
/// the lines of its source table: `kind`, `base_url` and its credential,
/// each ending in a newline.
pub async fn serve_sim(
    spec: fleet::Spec,
    now: i64,
) -> (fleet::Sim, loggate_core::sim::Served, String) {
    let sim = fleet::Sim::new_in(&Registry::builtin(), spec, now);
    let server = loggate_core::sim::serve_loopback(sim.router())
        .await
        .unwrap();
    let table = format!(
        "{}\n",
        sim.source_table(spec.kind, &server.base_url()).trim_end()
    );
    (sim, server, table)
}
