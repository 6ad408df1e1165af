//! The Alloy adapter: `GET {base_url}/logs` with keyset paging on
//! `createdAt`.
//!
//! Every request is bounded by the position's timestamp (inclusive, via the
//! one-millisecond widening of the strict operators) and starts at
//! `skip=0`, so a deep page costs what the first one does. `skip` is used
//! only to read one timestamp group that alone fills a page; because ties
//! come back in a different order on every request, such a group is read
//! until the distinct records seen reach the window's `totalItems`.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use loggate_core::adapter::{Adapter, Batch, Capabilities, FetchRequest};
use loggate_core::http::{classify_status, CallContext, UpstreamResponse};
use loggate_core::{LogRecord, Order, Position, SourceError, SourceSettings};
use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::ExposeSecret;

use crate::keyset::{self, Emitted};
use crate::translate::{self, Plan};
use crate::wire::{self, LogsResponse, API_VERSION, MAX_PAGE_LIMIT};

/// The configuration `kind`.
pub const KIND: &str = "alloy";

/// How many times a timestamp group larger than a page is re-read before
/// giving up on seeing all of it.
const MAX_GROUP_PASSES: usize = 32;

/// One Alloy account.
pub struct AlloyAdapter {
    settings: SourceSettings,
    capabilities: Capabilities,
    page_limit: usize,
    /// Whether `q` may go upstream (see [`translate::plan`]).
    search_pushdown: bool,
}

/// One upstream page, mapped.
struct Page {
    records: Vec<LogRecord>,
    /// Logs that could not be mapped, as JSON text (to count them once).
    unreadable: Vec<String>,
    returned: usize,
    total: Option<u64>,
    /// `pagination.pageSize`: reveals a `limit` the upstream lowered.
    page_size: Option<u64>,
}

impl Page {
    /// Alloy's last page: empty, `skip + returned >= totalItems`, or short
    /// of the page size asked for (or reported, if smaller).
    fn is_last(&self, skip: u64, limit: usize) -> bool {
        let limit = self
            .page_size
            .filter(|s| *s > 0)
            .map_or(limit as u64, |s| s.min(limit as u64));
        let returned = self.returned as u64;
        returned == 0 || returned < limit || self.total.is_some_and(|t| skip + returned >= t)
    }
}

impl AlloyAdapter {
    pub fn new(settings: SourceSettings) -> Self {
        AlloyAdapter {
            settings,
            capabilities: Capabilities::new(&translate::PUSHDOWN),
            page_limit: MAX_PAGE_LIMIT,
            search_pushdown: true,
        }
    }

    /// `false` keeps `q` in the gateway (pushed by default).
    pub fn with_search_pushdown(mut self, search_pushdown: bool) -> Self {
        self.search_pushdown = search_pushdown;
        self
    }

    /// Asks for `limit` logs per request (1–100; tests use small pages).
    pub fn with_page_limit(mut self, limit: usize) -> Self {
        self.page_limit = limit.clamp(1, MAX_PAGE_LIMIT);
        self
    }

    async fn get_page(
        &self,
        plan: &Plan,
        order: Order,
        window: (Option<i64>, Option<i64>),
        skip: u64,
        include_raw: bool,
        ctx: &CallContext,
    ) -> Result<Page, SourceError> {
        // RFC 3986 encoding (spec §10): a space is `%20`, never `+`.
        let url = loggate_core::wire::with_query(
            self.settings.endpoint("logs"),
            translate::page_query(plan, order, window, skip, self.page_limit),
        );
        let mut builder = self
            .settings
            .client
            .http()
            .get(url)
            .header(ACCEPT, "application/json")
            .header("x-api-version", API_VERSION);
        if let Some(token) = &self.settings.token {
            // Lowercase `bearer`, as Alloy's documentation sends it.
            builder = builder.header(AUTHORIZATION, format!("bearer {}", token.expose_secret()));
        }
        let request = builder
            .build()
            .map_err(|e| SourceError::Internal(format!("could not build the request: {e}")))?;
        let response = self.settings.client.execute(request, ctx, classify).await?;
        let body: LogsResponse = response.json()?;
        let mut page = Page {
            records: Vec::with_capacity(body.notifications.len()),
            unreadable: Vec::new(),
            returned: body.notifications.len(),
            total: body.pagination.as_ref().and_then(|p| p.total_items()),
            page_size: body.pagination.as_ref().and_then(|p| p.page_size()),
        };
        for raw in &body.notifications {
            match translate::record_from_native(raw, include_raw) {
                Ok(record) => page.records.push(record),
                Err(reason) => {
                    tracing::warn!(source = %self.settings.name, %reason, "skipping an unreadable alloy log");
                    ctx.note_skipped(&reason);
                    page.unreadable.push(raw.to_string());
                }
            }
        }
        Ok(page)
    }

    /// Reads every record at `ts` (a group that fills a page by itself),
    /// starting from `first`, the page that revealed it. Returns the group,
    /// the upstream records scanned and the unreadable ones among them.
    async fn read_group(
        &self,
        plan: &Plan,
        order: Order,
        ts: i64,
        first: Page,
        include_raw: bool,
        ctx: &CallContext,
    ) -> Result<(Vec<LogRecord>, usize, usize), SourceError> {
        let mut group: BTreeMap<String, LogRecord> = BTreeMap::new();
        let mut unreadable: BTreeSet<String> = BTreeSet::new();
        // The first page came from a wider window: only its records at
        // `ts` belong to the group (its unreadable logs may not).
        for record in first.records.into_iter().filter(|r| r.timestamp_ms == ts) {
            group.insert(record.native_id.clone(), record);
        }
        let mut scanned = 0;
        let mut total = None;
        for _pass in 0..MAX_GROUP_PASSES {
            let mut skip = 0u64;
            loop {
                let page = self
                    .get_page(plan, order, (Some(ts), Some(ts)), skip, include_raw, ctx)
                    .await?;
                scanned += page.returned;
                total = page.total.or(total);
                let mut last = page.is_last(skip, self.page_limit);
                skip += page.returned as u64;
                let before = group.len() + unreadable.len();
                for record in page.records.into_iter().filter(|r| r.timestamp_ms == ts) {
                    group.insert(record.native_id.clone(), record);
                }
                unreadable.extend(page.unreadable);
                // An upstream ignoring `skip` without a totalItems to stop
                // at would page forever: stop when a page adds nothing.
                if total.is_none() && group.len() + unreadable.len() == before {
                    last = true;
                }
                if last {
                    break;
                }
            }
            let seen = (group.len() + unreadable.len()) as u64;
            // Without totalItems there is nothing to check against: trust
            // one pass (the upstream then presumably keeps its tie order).
            if total.is_none_or(|t| seen >= t) {
                return Ok((group.into_values().collect(), scanned, unreadable.len()));
            }
        }
        Err(SourceError::Upstream {
            status: 200,
            message: format!(
                "could not read all {} logs created at {} whole: their order changed between pages",
                total.unwrap_or_default(),
                loggate_core::time::format_ms(ts)
            ),
            retry_after: None,
        })
    }
}

/// Alloy's errors are `{"message": "..."}` with the status saying what.
fn classify(response: &UpstreamResponse, excerpt: String) -> Option<SourceError> {
    if (200..300).contains(&response.status) {
        return None;
    }
    classify_status(response, wire::error_message(&excerpt))
}

#[async_trait]
impl Adapter for AlloyAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn pushed(&self, filters: &loggate_core::Filters) -> Vec<String> {
        translate::plan(filters, self.search_pushdown).pushed
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError> {
        let query = request.query;
        let order = query.order;
        let plan = translate::plan(&query.filters, self.search_pushdown);
        let mut batch = Batch {
            records: Vec::new(),
            frontier: request.position.clone(),
            ..Batch::default()
        };
        if request.position.done || plan.unsatisfiable {
            batch.frontier = Position::finished();
            return Ok(batch);
        }
        let want = request.want.max(1);
        while batch.records.len() < want && (batch.scanned < request.budget || batch.scanned == 0) {
            let bound = batch.frontier.bound_ts();
            let Some(window) = translate::window(&query.filters, bound, order) else {
                batch.frontier = Position::finished();
                break;
            };
            let page = self
                .get_page(&plan, order, window, 0, query.include_raw, request.ctx)
                .await?;
            batch.scanned += page.returned;
            batch.skipped += page.unreadable.len();
            if page.is_last(0, self.page_limit) {
                let emitted = keyset::emit(
                    page.records,
                    &batch.frontier,
                    &query.filters,
                    order,
                    want,
                    &mut batch.records,
                );
                batch.frontier = match emitted {
                    Emitted::Cut(key) => Position::after(key, None),
                    Emitted::All => Position::finished(),
                };
                break;
            }
            let Some(frontier) = keyset::frontier_ts(&page.records, order) else {
                return Err(SourceError::Decode(String::from(
                    "a full page of logs without one readable createdAt",
                )));
            };
            if page.records.iter().all(|r| r.timestamp_ms == frontier) {
                // One timestamp fills the page: read that group whole.
                let (group, scanned, skipped) = self
                    .read_group(&plan, order, frontier, page, query.include_raw, request.ctx)
                    .await?;
                batch.scanned += scanned;
                batch.skipped += skipped;
                // Emitted whole, beyond `want`: re-reading a group this
                // large is the one expensive request pattern, so finish it.
                let all = usize::MAX;
                keyset::emit(
                    group,
                    &batch.frontier,
                    &query.filters,
                    order,
                    all,
                    &mut batch.records,
                );
                batch.frontier = keyset::past_group(frontier, order);
                continue;
            }
            let complete = keyset::without_group(page.records, frontier);
            let emitted = keyset::emit(
                complete,
                &batch.frontier,
                &query.filters,
                order,
                want,
                &mut batch.records,
            );
            batch.frontier = match emitted {
                Emitted::Cut(key) => Position::after(key, None),
                Emitted::All => Position::group(frontier, None),
            };
        }
        Ok(batch)
    }
}
