//! The Alloy adapter: `GET {base_url}/logs` with keyset paging on
//! `createdAt`.
//!
//! Every request is bounded by the position's timestamp (inclusive, via the
//! one-millisecond widening of the strict operators) and starts at
//! `skip=0`, so a deep page costs what the first one does. `skip` is used
//! only to read one timestamp group that alone fills a page; because ties
//! come back in a different order on every request, such a group is read
//! by the shared sweep ([`loggate_core::group`]) until the distinct `_id`s
//! seen reach the window's `totalItems`.

use async_trait::async_trait;
use loggate_core::adapter::{Adapter, Batch, Capabilities, FetchRequest};
use loggate_core::group::{sweep_group, GroupPage, GroupReader, Identity};
use loggate_core::http::{classify_status, CallContext, Excerpt, UpstreamResponse};
use loggate_core::{LogRecord, Order, Position, SourceError, SourceSettings};
use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::ExposeSecret;

use crate::keyset::{self, Emitted};
use crate::translate::{self, Plan};
use crate::wire::{self, LogsResponse, API_VERSION, MAX_PAGE_LIMIT};

/// The configuration `kind`.
pub const KIND: &str = "alloy";

/// The smallest `limit` a fetch sends (as the leveled adapter's): a
/// request of a handful of logs costs the round trip of ten, and ten make
/// a timestamp group cut at the page's end less likely to need a second
/// request.
const MIN_REQUEST: usize = 10;

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
    /// Alloy's last page: empty, or `skip + returned >= totalItems`. Alloy
    /// may clamp `limit` silently (a sibling endpoint caps it at 30:
    /// `../shared/providers/README.md`), so a short page proves nothing
    /// while `totalItems` is there to ask; without it, a page short of the
    /// page size applied (`pagination.pageSize` when it reports a smaller
    /// one) is the end.
    fn is_last(&self, skip: u64, limit: usize) -> bool {
        let returned = self.returned as u64;
        if returned == 0 {
            return true;
        }
        if let Some(total) = self.total {
            return skip + returned >= total;
        }
        let applied = self
            .page_size
            .filter(|s| *s > 0)
            .map_or(limit as u64, |s| s.min(limit as u64));
        returned < applied
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

    /// Asks for at most `limit` logs per request (1–100; tests use small
    /// pages). Alloy's maximum is undocumented; 100 is the simulator's
    /// default (`../shared/providers/README.md`).
    pub fn with_page_limit(mut self, limit: usize) -> Self {
        self.page_limit = limit.clamp(1, MAX_PAGE_LIMIT);
        self
    }

    /// The `limit` of a request for `want` more records (issue 13: read
    /// only what the page needs): one more than wanted, so that the log
    /// past them tells whether the last wanted one's `createdAt` group is
    /// whole; at least [`MIN_REQUEST`], at most the page limit. A page of
    /// 50 asks `limit=51`, not 100. Alloy may still lower it silently
    /// (a sibling endpoint caps it at 30): [`Page::is_last`] reads the
    /// answer's `totalItems` and `pageSize`, never the count alone.
    pub(crate) fn request_size(&self, want: usize) -> usize {
        want.saturating_add(1).max(MIN_REQUEST).min(self.page_limit)
    }

    #[allow(clippy::too_many_arguments)]
    async fn get_page(
        &self,
        plan: &Plan,
        order: Order,
        window: (Option<i64>, Option<i64>),
        skip: u64,
        limit: usize,
        include_raw: bool,
        ctx: &CallContext,
    ) -> Result<Page, SourceError> {
        let query = translate::page_query(plan, order, window, skip, limit);
        self.get_page_with(query, include_raw, ctx).await
    }

    /// `pagination.totalItems` of a filtered window, asked with `limit=1`
    /// (spec §7); `None` when the answer has no total.
    pub(crate) async fn count_total(
        &self,
        plan: &Plan,
        window: (Option<i64>, Option<i64>),
        ctx: &CallContext,
    ) -> Result<Option<u64>, SourceError> {
        let query = translate::page_query(plan, Order::Desc, window, 0, 1);
        Ok(self.get_page_with(query, false, ctx).await?.total)
    }

    async fn get_page_with(
        &self,
        query: Vec<(&'static str, String)>,
        include_raw: bool,
        ctx: &CallContext,
    ) -> Result<Page, SourceError> {
        // RFC 3986 encoding (spec §10): a space is `%20`, never `+`.
        let url = loggate_core::wire::with_query(self.settings.endpoint("logs"), query);
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
        let body: LogsResponse<'_> = response.json_borrowed()?;
        let mut page = Page {
            records: Vec::with_capacity(body.notifications.len()),
            unreadable: Vec::new(),
            returned: body.notifications.len(),
            total: body.pagination.as_ref().and_then(|p| p.total_items()),
            page_size: body.pagination.as_ref().and_then(|p| p.page_size()),
        };
        for raw in &body.notifications {
            match translate::record_from_raw(raw, include_raw) {
                Ok(record) => page.records.push(record),
                Err(reason) => {
                    tracing::debug!(source = %self.settings.name, %reason, "skipping an unreadable alloy log");
                    ctx.note_skipped(&reason);
                    page.unreadable.push(canonical_text(raw));
                }
            }
        }
        Ok(page)
    }

    /// Reads every record at `ts` (a group that fills a page by itself)
    /// with the shared sweep of [`loggate_core::group`]. Returns the group,
    /// the upstream records scanned and the unreadable ones among them.
    async fn read_group(
        &self,
        plan: &Plan,
        order: Order,
        ts: i64,
        include_raw: bool,
        ctx: &CallContext,
    ) -> Result<(Vec<LogRecord>, usize, usize), SourceError> {
        let mut reader = GroupWindow {
            adapter: self,
            plan,
            order,
            ts,
            include_raw,
            ctx,
            told_size: true,
        };
        let page = self.page_limit as u64;
        // Live reads only: a stored page would repeat its order forever.
        let _live = ctx.live_reads();
        let swept = sweep_group(&mut reader, ts, Identity::Unique, page).await?;
        Ok((swept.records, swept.scanned, swept.unreadable))
    }
}

impl AlloyAdapter {
    /// Reads the group at `ts` whole into `batch` and moves its frontier
    /// past it. Emitted whole, beyond `want`: re-reading a group this
    /// large is the one expensive request pattern, so it is finished.
    async fn emit_group(
        &self,
        plan: &Plan,
        request: &FetchRequest<'_>,
        ts: i64,
        batch: &mut Batch,
    ) -> Result<(), SourceError> {
        let query = request.query;
        let (group, scanned, skipped) = self
            .read_group(plan, query.order, ts, query.include_raw, request.ctx)
            .await?;
        batch.scanned += scanned;
        batch.skipped += skipped;
        keyset::emit(
            group,
            &batch.frontier,
            &query.filters,
            query.order,
            usize::MAX,
            &mut batch.records,
        );
        batch.frontier = keyset::past_group(ts, query.order);
        Ok(())
    }
}

/// The window `[ts, ts]` of one query, read by `skip`.
struct GroupWindow<'a> {
    adapter: &'a AlloyAdapter,
    plan: &'a Plan,
    order: Order,
    ts: i64,
    include_raw: bool,
    ctx: &'a CallContext,
    /// The last answer carried `totalItems`.
    told_size: bool,
}

#[async_trait]
impl GroupReader for GroupWindow<'_> {
    fn tells_size(&self) -> bool {
        self.told_size
    }

    async fn read(&mut self, from: u64) -> Result<GroupPage, SourceError> {
        let window = (Some(self.ts), Some(self.ts));
        let page = self
            .adapter
            .get_page(
                self.plan,
                self.order,
                window,
                from,
                self.adapter.page_limit,
                self.include_raw,
                self.ctx,
            )
            .await?;
        let end = page.is_last(from, self.adapter.page_limit);
        let returned = page.returned as u64;
        self.told_size = page.total.is_some();
        Ok(GroupPage {
            records: page
                .records
                .into_iter()
                .filter(|r| r.timestamp_ms == self.ts)
                .collect(),
            unreadable: page.unreadable,
            covered: returned,
            returned,
            group_len: page.total,
            end,
        })
    }
}

/// A log's JSON text in `serde_json`'s compact form, whatever spacing the
/// answer had: the same unreadable log read twice counts once.
fn canonical_text(raw: &serde_json::value::RawValue) -> String {
    serde_json::from_str::<serde_json::Value>(raw.get())
        .map_or_else(|_| raw.get().to_string(), |value| value.to_string())
}

/// Alloy's errors are `{"message": "..."}` with the status saying what.
fn classify(response: &UpstreamResponse, excerpt: Excerpt<'_>) -> Option<SourceError> {
    if (200..300).contains(&response.status) {
        return None;
    }
    classify_status(response, wire::error_message(&excerpt.text()))
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

    fn counts_exactly(&self, filters: &loggate_core::Filters) -> bool {
        crate::count::counts_exactly(filters)
    }

    async fn count(
        &self,
        filters: &loggate_core::Filters,
        ctx: &CallContext,
    ) -> Result<Option<u64>, SourceError> {
        let plan = translate::plan(filters, false);
        if plan.unsatisfiable {
            return Ok(Some(0));
        }
        self.count_total(&plan, (filters.start, filters.end), ctx)
            .await
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
        // A filter applied here, not upstream: how many of a page match is
        // unknown, so whole pages ([`loggate_core::Filters::has_residual`]).
        let residual = query.filters.has_residual(&plan.pushed);
        while batch.records.len() < want && (batch.scanned < request.budget || batch.scanned == 0) {
            let bound = batch.frontier.bound_ts();
            let Some(window) = translate::window(&query.filters, bound, order) else {
                batch.frontier = Position::finished();
                break;
            };
            let limit = if residual {
                self.page_limit
            } else {
                self.request_size(want - batch.records.len())
            };
            let page = self
                .get_page(
                    &plan,
                    order,
                    window,
                    0,
                    limit,
                    query.include_raw,
                    request.ctx,
                )
                .await?;
            batch.scanned += page.returned;
            batch.skipped += page.unreadable.len();
            if page.is_last(0, limit) {
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
                self.emit_group(&plan, &request, frontier, &mut batch)
                    .await?;
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
