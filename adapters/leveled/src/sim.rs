//! A simulator of the leveled-log API, written from its documentation
//! (`shared/providers/leveled-get-logs.txt`) and the known quirks:
//! - `GET /logs` with `Authorization: Bearer <token>`; a missing or wrong
//!   token gets the documented 401 body.
//! - `limit` 1..=100 (default 50; the maximum is undocumented, 100 here),
//!   `offset` (default 0), `startDate`/`endDate` ISO 8601 and inclusive,
//!   `level` one of DEBUG, INFO, WARN, ERROR, FATAL (exact), `service`
//!   exact, `search` a substring of `message` (ASCII-case-insensitive
//!   unless switched to case-sensitive). Bad values get 400 with a
//!   `{"status":"error"}` body. The window compares at the precision the
//!   timestamps are stored at (microseconds, when inserted so).
//! - Newest first with no tie-breaker: entries sharing a timestamp are
//!   shuffled anew for every request, as a database without a tie-breaker
//!   may do, so offset paging across a tie is unreliable.
//! - `nextOffset` on the last page in any of its three observed forms.
//! - Timestamps in the documented form (whole seconds, `Z`) or, switched,
//!   with milliseconds. Faults, latency and the request log come from
//!   [`Faults`].

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use loggate_core::sim::{answer_times_at, set_nested, SeededRng, SimData, SimSpec, SimStore};
use loggate_core::time::{now_ms, parse_rfc3339_ms, parse_timestamp_ns};
use loggate_core::LogRecord;
use serde_json::{json, Value};

use crate::sim_data;
use crate::sim_query::{parse_query, selects};

/// The documented 401 body, verbatim.
pub const UNAUTHORIZED_MESSAGE: &str =
    "Authentication required. Please provide a valid API key or token.";

/// How `nextOffset` looks on the last page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextOffsetForm {
    /// `"nextOffset": null`.
    #[default]
    Null,
    /// No `nextOffset` key.
    Absent,
    /// `offset + limit`, as on every other page.
    OffsetPlusLimit,
}

/// The simulator's data set and switches.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The common knobs; `distinct_timestamps` `None` here means a third
    /// of `records`.
    pub spec: SimSpec,
    pub next_offset: NextOffsetForm,
    /// `search` matches case-sensitively (the provider leaves it open).
    pub search_case_sensitive: bool,
    /// Timestamps with milliseconds instead of the documented whole seconds.
    pub millis: bool,
    /// The largest `limit` accepted.
    pub max_limit: u64,
    /// A page cap applied silently: a larger accepted `limit` answers at
    /// most this many entries, reporting the applied limit in
    /// `pagination.limit` (as the bench's paged upstream does above 100).
    pub page_cap: Option<u64>,
}

loggate_core::sim_config_from_spec!(SimConfig => LeveledSim);

impl SimConfig {
    /// 2,500 entries over the last 7 days on 800 distinct seconds.
    pub fn demo(now_ms: i64) -> Self {
        SimConfig {
            spec: SimSpec {
                seed: 0x01e7_e1ed,
                records: 2500,
                now_ms,
                span_ms: 7 * 24 * 3_600_000,
                distinct_timestamps: Some(800),
                token: "leveled-demo-token".to_string(),
                variant: String::new(),
            },
            next_offset: NextOffsetForm::Null,
            search_case_sensitive: false,
            millis: false,
            max_limit: 100,
            page_cap: None,
        }
    }
}

pub(crate) struct Stored {
    /// Full precision: the window compares at the stored precision, as a
    /// real service storing microseconds does.
    pub(crate) timestamp_ns: Option<i128>,
    pub(crate) raw: Value,
}

/// The simulator's data and switches (see [`SimStore`]).
pub struct SimState {
    config: SimConfig,
    entries: Vec<Stored>,
    /// Seeds the per-request tie shuffle.
    requests: u64,
    rng: SeededRng,
}

/// A running simulator's handle; clones share the data.
#[derive(Clone)]
pub struct LeveledSim {
    store: SimStore<SimState>,
}

loggate_core::sim_store_deref!(LeveledSim, SimState);

impl SimData for SimState {
    fn raw_records(&self) -> Vec<Value> {
        self.entries.iter().map(|e| e.raw.clone()).collect()
    }

    fn insert(&mut self, raw: Value) {
        self.entries.push(stored(raw));
    }

    /// Ids disambiguated over the whole data set, as the adapter does.
    fn snapshot(&self) -> Vec<LogRecord> {
        crate::translate::map_entries(&self.raw_records(), false).0
    }
}

impl LeveledSim {
    pub fn new(config: SimConfig) -> Self {
        let distinct = config
            .spec
            .distinct_timestamps
            .unwrap_or(config.spec.records / 3)
            .max(1);
        let raw = sim_data::generate(
            config.spec.seed,
            config.spec.records,
            distinct,
            config.spec.now_ms,
            config.spec.span_ms,
            config.millis,
        );
        let entries = raw.into_iter().map(stored).collect();
        let token = config.spec.token.clone();
        let state = SimState {
            rng: SeededRng::new(config.spec.seed ^ 0x5eed_1a7e),
            config,
            entries,
            requests: 0,
        };
        LeveledSim {
            store: SimStore::new(state, &token),
        }
    }

    /// `GET /logs`, behind the fault switches.
    pub fn router(&self) -> Router {
        self.serve(Router::new().route("/logs", get(get_logs)), self.clone())
    }

    /// Writes `n` entries sharing one timestamp strictly after both the
    /// wall clock and every stored entry: the next whole second (the next
    /// millisecond when `millis`) after the later of the two. A batch never
    /// joins a stored tie group: one stamped at a stored entry's second
    /// could land inside a traversal's pinned window and grow the tie group
    /// a sweep is reading (the conformance kit's capped traversals failed
    /// "could not read all N logs stamped …" that way); successive batches
    /// within one second therefore move a second on each, ahead of the
    /// clock, and a reader bounds its reference by the pinned end
    /// (`Pinned::expected` in the gateway tests).
    pub fn insert_new(&self, n: usize) {
        let mut state = self.lock();
        let ts = next_stamp(
            state.entries.iter().filter_map(|e| e.timestamp_ns).max(),
            now_ms().max(state.config.spec.now_ms),
            state.config.millis,
        );
        let millis = state.config.millis;
        for _ in 0..n {
            let raw = sim_data::entry(&mut state.rng, ts, millis);
            state.entries.push(stored(raw));
        }
    }

    /// Stores `n` copies of one entry stamped `at_ms` (issue 11 item 5's
    /// health check line): identical, so their ids differ only by the
    /// copy suffix.
    pub fn insert_copies(&self, n: usize, at_ms: i64) {
        let raw = json!({"timestamp": loggate_core::time::format_ms(at_ms), "level": "INFO",
                         "service": "lb", "message": "GET /healthz 200"});
        let mut state = self.lock();
        for _ in 0..n {
            state.entries.push(stored(raw.clone()));
        }
    }

    pub fn set_next_offset_form(&self, form: NextOffsetForm) {
        self.lock().config.next_offset = form;
    }

    pub fn set_search_case_sensitive(&self, sensitive: bool) {
        self.lock().config.search_case_sensitive = sensitive;
    }

    pub fn set_millis(&self, millis: bool) {
        self.lock().config.millis = millis;
    }
}

/// The stamp of a new batch in ms: the next unit (a second, or a
/// millisecond with `millis`) strictly after both `now_ms` and the latest
/// stored stamp `latest_ns`.
fn next_stamp(latest_ns: Option<i128>, now_ms: i64, millis: bool) -> i64 {
    let unit: i128 = if millis { 1_000_000 } else { 1_000_000_000 };
    let after = latest_ns
        .unwrap_or(i128::MIN)
        .max(i128::from(now_ms) * 1_000_000);
    ((after.div_euclid(unit) + 1) * unit / 1_000_000) as i64
}

fn stored(raw: Value) -> Stored {
    let timestamp_ns = raw
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(parse_timestamp_ns);
    Stored { timestamp_ns, raw }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"status": "error", "message": message}))).into_response()
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    match value.split_once(' ') {
        Some((scheme, given)) => scheme.eq_ignore_ascii_case("bearer") && given == token,
        None => false,
    }
}

async fn get_logs(
    State(sim): State<LeveledSim>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut state = sim.lock();
    if !authorized(&headers, &state.config.spec.token) {
        return error(StatusCode::UNAUTHORIZED, UNAUTHORIZED_MESSAGE);
    }
    let query = match parse_query(query.as_deref().unwrap_or(""), state.config.max_limit) {
        Ok(query) => query,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let mut query = query;
    if let Some(cap) = state.config.page_cap {
        query.limit = query.limit.min(cap.max(1));
    }
    let case_sensitive = state.config.search_case_sensitive;
    state.requests += 1;
    let mut rng =
        SeededRng::new(state.config.spec.seed ^ state.requests.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut matching: Vec<(i128, &Value)> = state
        .entries
        .iter()
        .filter(|e| selects(&query, e, case_sensitive))
        .map(|e| (e.timestamp_ns.unwrap_or(i128::MIN), &e.raw))
        .collect();
    matching.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    shuffle_ties(&mut matching, &mut rng);
    let total = matching.len() as u64;
    let logs: Vec<Value> = matching
        .iter()
        .skip(query.offset as usize)
        .take(query.limit as usize)
        .map(|(_, raw)| (*raw).clone())
        .collect();
    let next = query.offset + query.limit;
    let mut pagination = json!({"total": total, "limit": query.limit, "offset": query.offset});
    match (next < total, state.config.next_offset) {
        (true, _) | (false, NextOffsetForm::OffsetPlusLimit) => {
            pagination["nextOffset"] = json!(next)
        }
        (false, NextOffsetForm::Null) => pagination["nextOffset"] = Value::Null,
        (false, NextOffsetForm::Absent) => {}
    }
    Json(json!({"status": "success", "data": {"logs": logs, "pagination": pagination}}))
        .into_response()
}

/// Fisher-Yates within every run of equal timestamps.
fn shuffle_ties(entries: &mut [(i128, &Value)], rng: &mut SeededRng) {
    let mut start = 0;
    while start < entries.len() {
        let ts = entries[start].0;
        let end = start + entries[start..].iter().take_while(|e| e.0 == ts).count();
        for i in (start + 1..end).rev() {
            let j = start + rng.below((i - start + 1) as u64) as usize;
            entries.swap(i, j);
        }
        start = end;
    }
}

impl loggate_core::sim::Simulator for LeveledSim {
    loggate_core::simulator_delegates!(LeveledSim);

    /// The native id is a hash of the content: the planted value makes it new.
    fn planted(&self, raw: &Value, n: usize, value: &str) -> (Value, &'static str) {
        let mut raw = raw.clone();
        set_nested(&mut raw, "details", "needle", value);
        set_nested(&mut raw, "details", "needle_n", n);
        (raw, "needle")
    }

    /// None: the only entry the adapter cannot read is one without a
    /// readable timestamp, which no time-bounded read (the gateway always
    /// bounds its reads) returns; the adapter's tests count those.
    fn unreadable(&self, _at_ms: i64) -> Option<Value> {
        None
    }

    fn null_list_answer(&self) -> String {
        r#"{"status":"success","data":{"logs":null,"pagination":{"total":0,"limit":100,"offset":0}}}"#
            .into()
    }

    fn answer_times(&self, body: &Value) -> Option<Vec<i64>> {
        answer_times_at(body, "/data/logs", |e| {
            e.get("timestamp")?.as_str().and_then(parse_rfc3339_ms)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::next_stamp;

    const NOW: i64 = 1_700_000_000_250;

    /// Whole-second mode: the next second after now, and a second batch
    /// in the same second goes one second further: it never ties with a
    /// stored entry (a tie group inside a traversal's window must not grow
    /// under its sweep).
    #[test]
    fn a_batch_never_joins_a_stored_second() {
        let first = next_stamp(Some(i128::from(NOW - 5_000) * 1_000_000), NOW, false);
        assert_eq!(first, 1_700_000_001_000);
        let second = next_stamp(Some(i128::from(first) * 1_000_000), NOW + 10, false);
        assert_eq!(second, first + 1_000, "a second batch in the same second");
    }

    /// Strictly after a stored entry (one already in the future, or at a
    /// sub-second instant) and after now, in whole units.
    #[test]
    fn strictly_after_every_stored_entry_and_now() {
        let ahead = i128::from(NOW + 3_400) * 1_000_000;
        assert_eq!(next_stamp(Some(ahead), NOW, false), 1_700_000_004_000);
        let at_second = i128::from(1_700_000_003_000_i64) * 1_000_000;
        assert_eq!(next_stamp(Some(at_second), NOW, false), 1_700_000_004_000);
        assert_eq!(
            next_stamp(None, 1_700_000_000_000, false),
            1_700_000_001_000
        );
        assert_eq!(next_stamp(None, NOW, true), NOW + 1);
        assert_eq!(
            next_stamp(Some(i128::from(NOW + 1) * 1_000_000), NOW, true),
            NOW + 2
        );
    }
}
