//! Reading a planned log query through the engine: one traversal of the
//! unified query (`Engine::page`, following `next_cursor`), each record
//! turned into a Loki entry and checked against the residual.
//!
//! Loki pages by time (`end` exclusive, nanoseconds) while the engine
//! orders by (millisecond, source, native id). To hand out the `limit`
//! newest (or oldest) entries by nanosecond, a scan that has `want`
//! entries keeps reading until it has seen every record of the millisecond
//! the `want`-th entry falls in; the caller then sorts by nanosecond.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loggate_core::{LogRecord, Order};

use super::params::{Nanos, MS};
use super::LokiError;
use crate::engine::query::LogsRequest;
use crate::engine::Caller;
use crate::http::AppState;
use crate::logql::labels::{entry_ns, EntryView, LineMode};
use crate::logql::plan::LogPlan;

/// Records one engine page asks for.
const PAGE_LIMIT: usize = 1000;
/// How long one scan keeps following the engine's cursor; past it the scan
/// ends like one over `max_records` (each page has the engine's own
/// deadline, `server.request_timeout`, besides).
pub const SCAN_DEADLINE: Duration = Duration::from_secs(25);

/// One record as a Loki entry.
pub struct Entry {
    pub ns: Nanos,
    pub source: Arc<str>,
    pub provider: &'static str,
    pub record: LogRecord,
    pub line: String,
}

impl Entry {
    pub fn view(&self) -> EntryView<'_> {
        EntryView {
            source: &self.source,
            provider: self.provider,
            record: &self.record,
            line: &self.line,
        }
    }
}

/// What a scan read.
pub struct Scan {
    /// Matching entries in traversal order.
    pub entries: Vec<Entry>,
    /// False when the scan stopped at `max_records` or [`SCAN_DEADLINE`]
    /// before the end.
    pub complete: bool,
    /// Records read from the engine (before the residual).
    pub scanned: usize,
    /// The engine's warnings (each failed source, skipped records), once each.
    pub warnings: BTreeSet<String>,
}

impl Scan {
    /// Takes one engine page: its warnings (a failed source, skipped
    /// records) are kept once each, records in `[start, end)` that pass the
    /// residual become entries.
    fn accept(
        &mut self,
        logs: Vec<(Arc<str>, &'static str, LogRecord)>,
        warnings: Vec<String>,
        spec: &ScanSpec<'_>,
    ) {
        self.warnings.extend(warnings);
        self.scanned += logs.len();
        for (source, provider, record) in logs {
            let ns = entry_ns(&source, &record);
            if ns < spec.start || ns >= spec.end {
                continue;
            }
            let line = line_of(spec.line_mode, &source, provider, &record);
            let entry = Entry {
                ns,
                source,
                provider,
                record,
                line,
            };
            if spec.plan.residual.matches(&entry.view()) {
                self.entries.push(entry);
            }
        }
    }
}

/// What to scan.
pub struct ScanSpec<'a> {
    pub plan: &'a LogPlan,
    /// `[start, end)` in nanoseconds.
    pub start: Nanos,
    pub end: Nanos,
    pub forward: bool,
    pub line_mode: LineMode,
    /// Stop once this many entries are certain (see the module doc).
    pub want: Option<usize>,
    /// Stop after reading this many records (`complete` is then false).
    pub max_records: usize,
}

/// Runs one scan.
pub async fn scan(
    state: &AppState,
    caller: &Caller,
    spec: &ScanSpec<'_>,
) -> Result<Scan, LokiError> {
    let mut out = Scan {
        entries: Vec::new(),
        complete: true,
        scanned: 0,
        warnings: BTreeSet::new(),
    };
    if spec.plan.sources.is_empty() {
        return Ok(out);
    }
    let page_limit = spec
        .want
        .map_or(PAGE_LIMIT, |w| (w + 1).clamp(100, PAGE_LIMIT));
    let mut filters = spec.plan.filters.clone();
    filters.start = Some(i64::try_from(spec.start.div_euclid(MS)).unwrap_or(i64::MAX));
    filters.end = Some(i64::try_from((spec.end - 1).div_euclid(MS)).unwrap_or(i64::MAX));
    let mut request = LogsRequest {
        sources: Some(spec.plan.sources.clone()),
        filters,
        order: Some(if spec.forward {
            Order::Asc
        } else {
            Order::Desc
        }),
        limit: page_limit,
        cursor: None,
        include_raw: false,
        partial: true,
        follow: None,
        follow_to: None,
        poll_sources: None,
        shared_poll: false,
        no_cache: false,
    };
    let started = Instant::now();
    loop {
        let page = state.engine.page(request.clone(), caller).await?;
        let last_ms = page.logs.last().map(|(_, _, r)| r.timestamp_ms);
        out.accept(page.logs, page.warnings, spec);
        let Some(cursor) = page.next_cursor else {
            return Ok(out);
        };
        if let (Some(want), Some(last_ms)) = (spec.want, last_ms) {
            if out.entries.len() >= want && out.entries[want - 1].record.timestamp_ms != last_ms {
                return Ok(out);
            }
        }
        if out.scanned >= spec.max_records || started.elapsed() >= SCAN_DEADLINE {
            out.complete = false;
            // The millisecond the scan stopped in may hold unread records:
            // leave it to the next request rather than hand out half of it.
            if let Some(last_ms) = last_ms {
                out.entries.retain(|e| e.record.timestamp_ms != last_ms);
            }
            return Ok(out);
        }
        request = LogsRequest {
            cursor: Some(cursor),
            limit: page_limit,
            partial: true,
            ..LogsRequest::default()
        };
    }
}

/// The entry's line: the message, or the record as `/logs` shows it.
pub fn line_of(mode: LineMode, source: &str, provider: &str, r: &LogRecord) -> String {
    match mode {
        LineMode::Message => r.message.clone(),
        LineMode::Json => serde_json::json!({
            "id": format!("{source}:{}", r.native_id),
            "source": source,
            "provider": provider,
            "timestamp": loggate_core::time::format_ms(r.timestamp_ms),
            "level": r.level.as_str(),
            "severity_number": r.level.severity_number(),
            "message": r.message,
            "service": r.service,
            "user_id": r.user_id,
            "attributes": r.attributes,
        })
        .to_string(),
    }
}
