//! A simulator of Logto's `GET /api/logs` and `POST /oidc/token`, written
//! from `shared/providers/logto-get-api-logs.txt` and the providers README.
//!
//! It reproduces: the three server generations (up to v1.39 ignores
//! `start_time` / `end_time`, v1.40–v1.41 treats them as exclusive and
//! refuses equal ones, v1.42+ as inclusive: [`Generation`]),
//! `created_at DESC` with equal timestamps in a fresh random order on every
//! request, `page`/`page_size` validation (`guard.invalid_pagination`),
//! `Total-Number` and `Link` headers, `200 []` past the end, exact-match
//! `userId`/`applicationId`/`logKey` (empty = no filter), Logto's error
//! bodies, and the client-credentials grant with tokens that expire on the
//! simulator's clock ([`LogtoSim::advance_clock`], [`LogtoSim::expire_all_tokens`]).

mod data;
mod routes;

pub use routes::logto_error;

use std::collections::HashMap;
use std::time::Instant;

use axum::routing::{get, post};
use axum::Router;
use loggate_core::sim::{answer_times_at, set_nested, SeededRng, SimData, SimSpec, SimStore};
use loggate_core::LogRecord;
use serde_json::Value;

use crate::translate::to_record;
use data::Pools;

/// The simulated deployment.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The common knobs: `distinct_timestamps` caps the distinct
    /// `createdAt` values (fewer = more ties); `token` is a Management API
    /// access token accepted as is (never expires).
    pub spec: SimSpec,
    /// v1.40+: `start_time`/`end_time` are honoured; older: ignored.
    pub honours_time_filter: bool,
    /// v1.40–v1.41 (with `honours_time_filter`): both bounds exclusive and
    /// equal bounds `400`; v1.42+ (false): both inclusive.
    pub exclusive_time_bounds: bool,
    pub client_id: String,
    pub client_secret: String,
    /// The Management API resource indicator the grant must name.
    pub resource: String,
    /// `expires_in` of issued tokens, seconds.
    pub token_expires_in: u64,
    pub tenant_id: String,
}

/// The three generations of Logto's time filter
/// (`../shared/providers/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Up to v1.39: `start_time`/`end_time` are ignored.
    IgnoresTime,
    /// v1.40–v1.41: both bounds exclusive; equal bounds are `400`.
    Exclusive,
    /// v1.42+: both bounds inclusive.
    Inclusive,
}

impl Generation {
    pub const ALL: [Generation; 3] = [
        Generation::IgnoresTime,
        Generation::Exclusive,
        Generation::Inclusive,
    ];
}

loggate_core::sim_config_from_spec!(SimConfig => LogtoSim);

impl SimConfig {
    /// This configuration on a server of `generation`.
    pub fn with_generation(mut self, generation: Generation) -> Self {
        self.honours_time_filter = generation != Generation::IgnoresTime;
        self.exclusive_time_bounds = generation == Generation::Exclusive;
        self
    }

    /// 2,400 logs over the last 7 days, about three per timestamp.
    pub fn demo(now_ms: i64) -> Self {
        SimConfig {
            spec: SimSpec {
                seed: 7,
                records: 2400,
                now_ms,
                span_ms: 7 * 24 * 3600 * 1000,
                distinct_timestamps: Some(800),
                token: "logto-demo-token".into(),
                variant: String::new(),
            },
            honours_time_filter: true,
            exclusive_time_bounds: false,
            client_id: "m2m-demo-client".into(),
            client_secret: "m2m-demo-secret".into(),
            resource: "https://default.logto.app/api".into(),
            token_expires_in: 3600,
            tenant_id: "default".into(),
        }
    }
}

/// The simulator's data, switches and issued tokens (see [`SimStore`]).
pub struct SimState {
    config: SimConfig,
    records: Vec<Value>,
    rng: SeededRng,
    pools: Pools,
    /// Latest stamp handed out; inserts go strictly after it.
    now_ms: i64,
    requests: u64,
    /// Issued token -> expiry on the simulator's clock (ms).
    tokens: HashMap<String, i64>,
    started: Instant,
    clock_offset_ms: i64,
}

impl SimState {
    fn clock_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64 + self.clock_offset_ms
    }
}

/// The simulator; clones share state.
#[derive(Clone)]
pub struct LogtoSim {
    store: SimStore<SimState>,
}

loggate_core::sim_store_deref!(LogtoSim, SimState);

impl SimData for SimState {
    fn raw_records(&self) -> Vec<Value> {
        self.records.clone()
    }

    /// A row's `createdAt` moves the clock inserts go after.
    fn insert(&mut self, raw: Value) {
        if let Some(ts) = raw.get("createdAt").and_then(Value::as_i64) {
            self.now_ms = self.now_ms.max(ts);
        }
        self.records.push(raw);
    }

    fn snapshot(&self) -> Vec<LogRecord> {
        let read = |raw: &Value| to_record(raw, false).ok();
        self.records.iter().filter_map(read).collect()
    }
}

impl LogtoSim {
    pub fn new(config: SimConfig) -> Self {
        let mut rng = SeededRng::new(config.spec.seed);
        let pools = Pools::new(
            &mut rng,
            config.spec.now_ms,
            config.spec.span_ms,
            config.spec.distinct_timestamps,
            config.spec.records,
        );
        let records = (0..config.spec.records)
            .map(|_| {
                let ts = pools.timestamp(&mut rng);
                data::log_row(&mut rng, &pools, &config.tenant_id, ts)
            })
            .collect();
        let token = config.spec.token.clone();
        let state = SimState {
            now_ms: config.spec.now_ms,
            config,
            records,
            rng,
            pools,
            requests: 0,
            tokens: HashMap::new(),
            started: Instant::now(),
            clock_offset_ms: 0,
        };
        LogtoSim {
            store: SimStore::new(state, &token),
        }
    }

    pub fn router(&self) -> Router {
        let routes = Router::new()
            .route("/api/logs", get(routes::get_logs))
            .route("/oidc/token", post(routes::post_token));
        self.serve(routes, self.clone())
    }

    /// Writes `n` logs sharing one stamp, 1 ms after both the latest stamp
    /// so far and the wall clock.
    pub fn insert_new(&self, n: usize) {
        let mut state = self.lock();
        let ts = state.now_ms.max(loggate_core::time::now_ms()) + 1;
        state.now_ms = ts;
        let SimState {
            rng,
            pools,
            config,
            records,
            ..
        } = &mut *state;
        for _ in 0..n {
            records.push(data::log_row(rng, pools, &config.tenant_id, ts));
        }
    }

    /// Stores `n` copies of one generated row created at `at_ms`, each
    /// with its own `id`.
    pub fn insert_copies(&self, n: usize, at_ms: i64) {
        let mut state = self.lock();
        state.now_ms = state.now_ms.max(at_ms);
        let SimState {
            rng,
            pools,
            config,
            records,
            ..
        } = &mut *state;
        let row = data::log_row(rng, pools, &config.tenant_id, at_ms);
        for _ in 0..n {
            let mut copy = row.clone();
            copy["id"] = Value::String(rng.alnum(21));
            records.push(copy);
        }
    }

    /// The latest stamp handed out (inserts go after it).
    pub fn now_ms(&self) -> i64 {
        self.lock().now_ms
    }

    /// Switches the server generation.
    pub fn set_honours_time_filter(&self, honours: bool) {
        self.lock().config.honours_time_filter = honours;
    }

    /// Switches the server generation, exclusive bounds included.
    pub fn set_generation(&self, generation: Generation) {
        let mut state = self.lock();
        let config = state.config.clone().with_generation(generation);
        state.config = config;
    }

    /// Moves the clock tokens expire by.
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.lock().clock_offset_ms += by.as_millis() as i64;
    }

    /// Makes every issued token expire now (the static token stays valid).
    pub fn expire_all_tokens(&self) {
        let mut state = self.lock();
        let now = state.clock_ms();
        state.tokens.values_mut().for_each(|expiry| *expiry = now);
    }

    /// How many tokens `/oidc/token` has issued.
    pub fn issued_tokens(&self) -> usize {
        self.lock().tokens.len()
    }
}

impl loggate_core::sim::Simulator for LogtoSim {
    // `source_toml`: a static token; `time_filter` stays `auto` (the
    // adapter finds out which server generation this is).
    loggate_core::simulator_delegates!(LogtoSim);

    fn planted(&self, raw: &Value, n: usize, value: &str) -> (Value, &'static str) {
        let mut raw = raw.clone();
        raw["id"] = Value::from(format!("needle{n:016}"));
        set_nested(&mut raw, "payload", "sessionId", value);
        (raw, "sessionId")
    }

    fn unreadable(&self, at_ms: i64) -> Option<Value> {
        Some(serde_json::json!({"createdAt": at_ms, "key": "no.id"}))
    }

    /// The list is the whole body.
    fn null_list_answer(&self) -> String {
        "null".into()
    }

    fn answer_times(&self, body: &Value) -> Option<Vec<i64>> {
        answer_times_at(body, "", |l| l.get("createdAt")?.as_i64())
    }
}
