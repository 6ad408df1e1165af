//! The [`Adapter`] for the leveled-log API: one `GET {base_url}/logs` per
//! page with a bearer token, the answer decoded, checked and mapped. How
//! pages are chosen (keyset windows, tail pages for `asc`) lives in
//! [`crate::paging`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use loggate_core::http::{classify_status, Excerpt, UpstreamResponse};
use loggate_core::query::Filters;
use loggate_core::{
    Adapter, Batch, CallContext, Capabilities, FetchRequest, LazyBatch, Record, SourceError,
    SourceSettings,
};
use secrecy::ExposeSecret;
use url::Url;

use crate::translate::{self, Window, PAGE_LIMIT};
use crate::wire::ErrorBody;

/// The configuration `kind` of this provider.
pub const KIND: &str = "leveled";

/// The smallest request: a few entries more cost nothing and make a
/// boundary tie group filling the whole answer rare.
const MIN_REQUEST: u64 = 10;

/// The filters this provider can evaluate natively, `q` last.
const PUSHDOWN: [&str; 6] = ["start", "end", "level", "min_level", "service", "q"];

/// An adapter for one leveled-log source.
pub struct LeveledAdapter {
    settings: SourceSettings,
    capabilities: Capabilities,
    endpoint: Url,
    /// Whether `q` goes upstream as `search`.
    search_pushdown: bool,
    /// The most entries one answer has been seen to hold when asked for
    /// more (a silent page cap, reported in `pagination.limit`); requests
    /// ask no more, so an ascending fetch lands on its tail in one request.
    page_cap: AtomicU64,
}

/// One native page, decoded.
#[derive(Debug)]
pub(crate) struct Page {
    /// The readable entries, in upstream order (newest first), with
    /// occurrence ids assigned over the page; deferred ones only when
    /// asked to read lazily ([`crate::lazy`]).
    pub records: Vec<Record>,
    /// Entries in the answer, readable or not.
    pub returned: u64,
    /// Entries that could not be mapped.
    pub bad: u64,
    /// `pagination.total`: entries in the whole window.
    pub total: u64,
    /// The limit the server applied (its own report when lower than ours).
    pub limit: u64,
    /// Nothing of the window lies past this page.
    pub last: bool,
}

impl LeveledAdapter {
    /// An adapter that pushes `q` down as `search`.
    pub fn new(settings: SourceSettings) -> Self {
        LeveledAdapter {
            endpoint: settings.endpoint("logs"),
            capabilities: Capabilities::new(&PUSHDOWN),
            settings,
            search_pushdown: true,
            page_cap: AtomicU64::new(PAGE_LIMIT),
        }
    }

    /// `false` keeps `q` in the gateway (a server whose search is
    /// case-sensitive or matches whole words only).
    pub fn with_search_pushdown(mut self, search_pushdown: bool) -> Self {
        let names = if search_pushdown {
            &PUSHDOWN[..]
        } else {
            &PUSHDOWN[..PUSHDOWN.len() - 1]
        };
        self.capabilities = Capabilities::new(names);
        self.search_pushdown = search_pushdown;
        self
    }

    /// The `limit` of a request for `want` records: one more than wanted
    /// (the entry past them tells whether the last wanted one's timestamp
    /// group is whole), at least [`MIN_REQUEST`], at most the provider's
    /// [`PAGE_LIMIT`] and the page cap it was seen to apply. A page of 50
    /// reads 51 entries, not 100.
    pub(crate) fn request_size(&self, want: usize) -> u64 {
        (want as u64)
            .saturating_add(1)
            .clamp(MIN_REQUEST, PAGE_LIMIT)
            .min(self.page_cap.load(Ordering::Relaxed))
    }

    /// The size of `request`'s upstream requests: [`Self::request_size`]
    /// of what it wants, or a whole page when a filter is applied here
    /// rather than upstream ([`loggate_core::Filters::has_residual`]).
    pub(crate) fn request_size_for(&self, request: &FetchRequest<'_>) -> u64 {
        let filters = &request.query.filters;
        if filters.has_residual(&translate::pushed_names(filters, self.search_pushdown)) {
            self.full_page()
        } else {
            self.request_size(request.want)
        }
    }

    /// The largest request worth sending: [`PAGE_LIMIT`] or the page cap
    /// the upstream was seen to apply.
    pub(crate) fn full_page(&self) -> u64 {
        self.page_cap.load(Ordering::Relaxed)
    }

    /// Fetches one page of the window, newest first; with `lazy`, its
    /// records may be deferred where the query allows it ([`crate::lazy`]).
    pub(crate) async fn page(
        &self,
        request: &FetchRequest<'_>,
        window: Window,
        offset: u64,
        limit: u64,
        lazy: bool,
    ) -> Result<Page, SourceError> {
        let params = translate::request_params(
            &request.query.filters,
            window,
            offset,
            limit,
            self.search_pushdown,
        );
        // RFC 3986 encoding (spec §10): a space is `%20`, never `+`.
        let url = loggate_core::wire::with_query(self.endpoint.clone(), params);
        let mut builder = self.settings.client.http().get(url);
        if let Some(token) = &self.settings.token {
            builder = builder.bearer_auth(token.expose_secret());
        }
        let http_request = builder
            .build()
            .map_err(|e| SourceError::Internal(format!("could not build the request: {e}")))?;
        let response = self
            .settings
            .client
            .execute(http_request, request.ctx, classify)
            .await?;
        let read = Reading {
            include_raw: request.query.include_raw,
            defer: lazy && !request.query.filters.constrains_content(),
        };
        let page = decode_page(response, offset, limit, read, request.ctx)?;
        if page.limit < limit {
            self.page_cap
                .fetch_min(page.limit.max(1), Ordering::Relaxed);
        }
        Ok(page)
    }
}

/// Error bodies are `{"status":"error","message":"..."}`: the message is
/// taken from the scrubbed excerpt, so it can never carry the token.
fn classify(response: &UpstreamResponse, excerpt: Excerpt<'_>) -> Option<SourceError> {
    if (200..300).contains(&response.status) {
        return None;
    }
    let excerpt = excerpt.text();
    let message = serde_json::from_str::<ErrorBody>(&excerpt)
        .ok()
        .and_then(|body| body.message)
        .unwrap_or(excerpt);
    classify_status(response, message)
}

/// How a page's entries are read.
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// `include=raw`: every record keeps its entry (and none is deferred).
    include_raw: bool,
    /// Entries may be deferred ([`crate::lazy`]).
    defer: bool,
}

fn decode_page(
    response: UpstreamResponse,
    offset: u64,
    limit: u64,
    read: Reading,
    ctx: &CallContext,
) -> Result<Page, SourceError> {
    // Shared: a deferred record maps its entry from this body when emitted.
    let response = Arc::new(response);
    let body = crate::wire::read_body(&response, read.include_raw)?;
    if body.status.as_deref() == Some("error") {
        return Err(SourceError::Upstream {
            status: response.status,
            message: body
                .message
                .unwrap_or_else(|| "error status without a message".into()),
            retry_after: None,
        });
    }
    let (entries, pagination) = body
        .data
        .ok_or_else(|| SourceError::Decode("response has no \"data\" object".into()))?;
    let (records, bad) = crate::lazy::read_entries(
        &response,
        &entries,
        read.include_raw,
        read.defer,
        |reason| ctx.note_skipped(&reason),
    );
    // The whole keyset scheme rests on newest-first answers (observed, not
    // documented): refuse to page through anything else rather than skip.
    if records
        .windows(2)
        .any(|w| w[0].timestamp_ms() < w[1].timestamp_ms())
    {
        return Err(SourceError::Decode(
            "logs are not ordered newest first; cannot page through them safely".into(),
        ));
    }
    let returned = entries.len() as u64;
    let total = pagination.total;
    let reported_limit = pagination.limit.filter(|l| *l > 0).map(|l| l.min(limit));
    // `nextOffset` may be null, absent or `offset + limit` on the last page:
    // `total` and a short page tell the end. A page is short only against
    // the limit the server says it applied, since a server that lowers the
    // limit silently would otherwise end every traversal after one page.
    let last = returned == 0
        || offset + returned >= total
        || reported_limit.is_some_and(|applied| returned < applied);
    let limit = reported_limit.unwrap_or(limit);
    Ok(Page {
        records,
        returned,
        bad: bad as u64,
        total,
        limit,
        last,
    })
}

#[async_trait]
impl Adapter for LeveledAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn pushed(&self, filters: &Filters) -> Vec<String> {
        translate::pushed_names(filters, self.search_pushdown)
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError> {
        let batch = crate::paging::fetch(self, request, false).await?;
        Ok(batch.force(|reason| request.ctx.note_skipped(&reason)))
    }

    /// Records alone at their timestamp in an answer are read to their
    /// timestamp only and mapped when emitted ([`crate::lazy`]).
    async fn fetch_lazy(&self, request: FetchRequest<'_>) -> Result<LazyBatch, SourceError> {
        crate::paging::fetch(self, request, true).await
    }

    fn counts_exactly(&self, filters: &Filters) -> bool {
        crate::count::counts_exactly(filters)
    }

    async fn count(
        &self,
        filters: &Filters,
        ctx: &CallContext,
    ) -> Result<Option<u64>, SourceError> {
        self.count_total(filters, ctx).await
    }
}
