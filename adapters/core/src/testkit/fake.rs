//! For the suite's self-test: a tiny in-memory provider (an axum simulator
//! behind the real fault switches, and a keyset adapter over it that calls
//! through the real `UpstreamClient`), correct or deliberately broken.
//!
//! The simulator orders ties by a scrambled id, not by the id, like an
//! upstream with no tie-breaker: an adapter that trusts the upstream's tie
//! order at a page boundary loses records.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::adapter::{Adapter, Batch, Capabilities, FetchRequest};
use crate::error::SourceError;
use crate::http::{classify_status, CallContext, UpstreamClient};
use crate::position::{Position, Resume};
use crate::query::{Filters, Order};
use crate::record::{sort_records, Level, LogRecord};
use crate::sim::{Faults, SeededRng};

const PAGE: usize = 25;

/// What is wrong with the adapter, if anything.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Flaw {
    None,
    /// Emits part of a tie group at a page boundary and resumes after the
    /// last emitted key.
    SplitsTies,
    /// Reports `q` as pushed though it never pushes it.
    ClaimsSearch,
    /// Reads a 503 as a 500 (e.g. a hand-written status match).
    Misreads503,
    /// Trusts the upstream's filtering and skips the reference matcher.
    TrustsPushdown,
    /// Keeps `raw` whether or not the query asks for it.
    RawAlways,
    /// After the first fetch, returns nothing and the same position.
    Stalls,
    /// Never produces `After` positions and reads one as the start of its
    /// timestamp's group (so an engine rewind re-emits records).
    IgnoresAfterKey,
    /// Takes a full page of one timestamp for the whole group and moves
    /// past it (a group larger than a page loses its other records).
    OnePagePerGroup,
}

#[derive(Clone, Default)]
pub(super) struct Sim {
    pub(super) records: Arc<Mutex<Vec<Value>>>,
    pub(super) rng: Arc<Mutex<Option<SeededRng>>>,
    pub(super) faults: Faults,
}

impl Sim {
    pub(super) fn generate(&self, count: usize, stamps: &[i64]) {
        let mut rng = self.rng.lock().unwrap();
        let rng = rng.get_or_insert_with(|| SeededRng::new(1));
        let mut records = self.records.lock().unwrap();
        for _ in 0..count {
            let index = records.len();
            let level = *rng.pick(&["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR", "FATAL"]);
            let message = *rng.pick(&[
                "User login succeeded",
                "Payment declined by issuer",
                "Cache miss for session key",
                "Timeout calling inventory service",
                "Échec de connexion à la base",
            ]);
            let mut record = json!({
                "id": format!("{}{index:04}", rng.hex(6)),
                "ts": *rng.pick(stamps),
                "level": level,
                "msg": message,
            });
            if rng.chance(80) {
                record["service"] = json!(rng.pick(&["api", "billing", "worker"]));
            }
            if rng.chance(60) {
                record["user"] = json!(format!("u{}", rng.below(20)));
            }
            let mut attrs = serde_json::Map::new();
            if rng.chance(90) {
                attrs.insert("region".into(), json!(rng.pick(&["eu-west", "us-east"])));
            }
            if rng.chance(70) {
                attrs.insert("score".into(), json!(rng.below(20) as f64 / 2.0));
            }
            if rng.chance(50) {
                attrs.insert("retry".into(), json!(rng.chance(50)));
            }
            record["attrs"] = Value::Object(attrs);
            records.push(record);
        }
    }

    /// `n` records stamped `at_ms`, identical but for their ids.
    pub(super) fn copies(&self, n: usize, at_ms: i64) {
        let mut records = self.records.lock().unwrap();
        for _ in 0..n {
            let index = records.len();
            records.push(
                json!({"id": format!("copy{index:05}"), "ts": at_ms, "level": "INFO",
                                "msg": "GET /healthz 200", "attrs": {}}),
            );
        }
    }

    pub(super) fn router(&self) -> Router {
        let router = Router::new()
            .route("/logs", get(logs))
            .with_state(self.clone());
        self.faults.layer(router)
    }
}

/// Stable but not the id's order: how this upstream happens to order ties.
fn scramble(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

async fn logs(
    State(sim): State<Sim>,
    Query(params): Query<HashMap<String, String>>,
) -> Json<Value> {
    let number = |name: &str| params.get(name).and_then(|v| v.parse::<i64>().ok());
    let (from, to) = (number("from"), number("to"));
    let offset = number("offset").unwrap_or(0).max(0) as usize;
    let limit = number("limit").unwrap_or(PAGE as i64).clamp(1, 100) as usize;
    let mut rows: Vec<Value> = sim
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| {
            let ts = r["ts"].as_i64().unwrap_or(0);
            from.is_none_or(|f| ts >= f)
                && to.is_none_or(|t| ts <= t)
                && params.get("level").is_none_or(|l| r["level"] == json!(l))
        })
        .cloned()
        .collect();
    let asc = params.get("order").is_some_and(|o| o == "asc");
    rows.sort_by_key(|r| {
        let ts = r["ts"].as_i64().unwrap_or(0);
        (
            if asc { ts } else { -ts },
            scramble(r["id"].as_str().unwrap_or("")),
        )
    });
    let page: Vec<Value> = rows.into_iter().skip(offset).take(limit).collect();
    Json(json!({ "logs": page }))
}

pub(super) fn decode(raw: &Value, keep_raw: bool) -> Option<LogRecord> {
    let text = |name: &str| raw.get(name).and_then(Value::as_str).map(str::to_string);
    Some(LogRecord {
        native_id: text("id")?,
        timestamp_ms: raw.get("ts")?.as_i64()?,
        level: text("level")?.parse::<Level>().ok()?,
        message: text("msg")?,
        service: text("service"),
        user_id: text("user"),
        attributes: raw.get("attrs")?.as_object()?.clone(),
        raw: keep_raw.then(|| crate::RawJson::from_value(raw)),
    })
}

pub(super) struct FakeAdapter {
    pub(super) base: String,
    pub(super) client: UpstreamClient,
    pub(super) caps: Capabilities,
    pub(super) flaw: Flaw,
}

impl FakeAdapter {
    async fn page(
        &self,
        bounds: (Option<i64>, Option<i64>),
        level: Option<Level>,
        order: Order,
        offset: usize,
        limit: usize,
        ctx: &CallContext,
    ) -> Result<Vec<Value>, SourceError> {
        let mut params = vec![
            ("order", order.as_str().to_string()),
            ("offset", offset.to_string()),
            ("limit", limit.to_string()),
        ];
        params.extend(bounds.0.map(|f| ("from", f.to_string())));
        params.extend(bounds.1.map(|t| ("to", t.to_string())));
        params.extend(level.map(|l| ("level", l.as_str().to_string())));
        let request = self
            .client
            .http()
            .get(format!("{}/logs", self.base))
            .query(&params)
            .build()
            .map_err(|e| SourceError::Network(e.to_string()))?;
        let flaw = self.flaw;
        let response = self
            .client
            .execute(request, ctx, |response, excerpt| {
                if (200..300).contains(&response.status) {
                    return None;
                }
                match classify_status(response, excerpt.text()) {
                    Some(SourceError::Upstream {
                        status: 503,
                        message,
                        ..
                    }) if flaw == Flaw::Misreads503 => Some(SourceError::Upstream {
                        status: 500,
                        message,
                        retry_after: None,
                    }),
                    other => other,
                }
            })
            .await?;
        let body: Value = response.json()?;
        match body.get("logs").and_then(Value::as_array) {
            Some(rows) => Ok(rows.clone()),
            None => Err(SourceError::Decode("body has no logs array".into())),
        }
    }
}

#[async_trait]
impl Adapter for FakeAdapter {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn pushed(&self, filters: &Filters) -> Vec<String> {
        let mut pushed: Vec<String> = ["start", "end"]
            .into_iter()
            .filter(|n| filters.names().iter().any(|s| s == n))
            .map(str::to_string)
            .collect();
        if filters.levels().and_then(|s| s.single()).is_some() && filters.level.is_some() {
            pushed.push("level".into());
        }
        if self.flaw == Flaw::ClaimsSearch && filters.q.is_some() {
            pushed.push("q".into());
        }
        pushed
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError> {
        let (query, mut position, order) = (request.query, request.position, request.query.order);
        let as_group;
        if let (Flaw::IgnoresAfterKey, Resume::After(key)) = (self.flaw, &position.resume) {
            as_group = Position::group(key.timestamp_ms, position.hint);
            position = &as_group;
        }
        let filters = &query.filters;
        if self.flaw == Flaw::Stalls && position.resume != Resume::Start {
            return Ok(Batch {
                records: Vec::new(),
                frontier: position.clone(),
                ..Batch::default()
            });
        }
        let (from, to) = window(filters, position, order);
        let level = filters.levels().and_then(|s| s.single());
        let limit = request.budget.clamp(1, PAGE);
        let mut scanned: Vec<Value> = Vec::new();
        let trusting = self.flaw == Flaw::TrustsPushdown;
        let keep =
            |r: &LogRecord| (trusting || filters.matches(r)) && !position.covers(&r.key(), order);
        let keep_raw = query.include_raw || self.flaw == Flaw::RawAlways;
        let exhausted = loop {
            let rows = self
                .page((from, to), level, order, scanned.len(), limit, request.ctx)
                .await?;
            let short = rows.len() < limit;
            let stamp = |r: Option<&Value>| r.and_then(|r| r["ts"].as_i64());
            let one_group = limit == PAGE && !short && stamp(rows.first()) == stamp(rows.last());
            scanned.extend(rows);
            if short {
                break true;
            }
            if self.flaw == Flaw::OnePagePerGroup && one_group {
                return Ok(past_the_group(&scanned, &keep, keep_raw, order));
            }
            let matched = scanned
                .iter()
                .filter_map(|r| decode(r, false))
                .filter(keep)
                .count();
            let enough = scanned.len() >= request.budget || matched >= request.want;
            if enough && stamp(scanned.first()) != stamp(scanned.last()) {
                break false;
            }
        };
        let mut records = kept(&scanned, &keep, keep_raw, order);
        let next = match scanned.last().and_then(|r| r["ts"].as_i64()) {
            _ if exhausted => Position::finished(),
            Some(_) if self.flaw == Flaw::SplitsTies && !records.is_empty() => {
                Position::after(records[records.len() - 1].key(), None)
            }
            Some(last) => {
                // The last group may go on in the next page: leave it whole.
                records.retain(|r| r.timestamp_ms != last);
                Position::group(last, None)
            }
            None => Position::finished(),
        };
        Ok(Batch {
            records,
            frontier: next,
            scanned: scanned.len(),
            ..Batch::default()
        })
    }
}

/// The read window: the query's bounds, narrowed to the boundary group of
/// a keyset `position` (re-read whole; what it covers is dropped later).
fn window(filters: &Filters, position: &Position, order: Order) -> (Option<i64>, Option<i64>) {
    let (mut from, mut to) = (filters.start, filters.end);
    if let Some(bound) = position.bound_ts() {
        match order {
            Order::Desc => to = Some(to.map_or(bound, |t| t.min(bound))),
            Order::Asc => from = Some(from.map_or(bound, |f| f.max(bound))),
        }
    }
    (from, to)
}

/// The rows of `scanned` that decode and that `keep` keeps, sorted.
fn kept(
    scanned: &[Value],
    keep: &dyn Fn(&LogRecord) -> bool,
    keep_raw: bool,
    order: Order,
) -> Vec<LogRecord> {
    let mut records: Vec<LogRecord> = scanned
        .iter()
        .filter_map(|r| decode(r, keep_raw))
        .filter(|r| keep(r))
        .collect();
    sort_records(&mut records, order);
    records
}

/// [`Flaw::OnePagePerGroup`]: the page read, then a frontier past its one
/// timestamp (the rest of the group is skipped).
fn past_the_group(
    scanned: &[Value],
    keep: &dyn Fn(&LogRecord) -> bool,
    keep_raw: bool,
    order: Order,
) -> Batch {
    let last = scanned
        .last()
        .and_then(|r| r["ts"].as_i64())
        .unwrap_or_default();
    let past = match order {
        Order::Desc => last - 1,
        Order::Asc => last + 1,
    };
    Batch {
        records: kept(scanned, keep, keep_raw, order),
        frontier: Position::group(past, None),
        scanned: scanned.len(),
        ..Batch::default()
    }
}
