//! The [`Adapter`] for Logto's `GET /api/logs`: credentials, requests,
//! the time-filter detection, and the traversal in [`crate::scan`].
//!
//! Servers before v1.40 silently ignore `start_time`/`end_time`; v1.40–v1.41
//! treat them as exclusive, v1.42+ as inclusive: the bounds always go out
//! widened by 1 ms ([`NativeQuery`]), which is right on both. With
//! `time_filter = "auto"` the adapter watches every answer to a
//! time-bounded request: a row outside the window proves the bound is
//! ignored. A page inside the window proves nothing (the newest rows may
//! simply lie inside it), so the first such answer is followed by one probe:
//! `end_time` = (a returned row's timestamp − 1), one row. A server that
//! honours it, exclusive or inclusive, answers with an older row or none;
//! one that ignores it answers with that row or a newer one. The verdict
//! is kept for the life of the adapter.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use async_trait::async_trait;
use loggate_core::http::CallContext;
use loggate_core::query::Filters;
use loggate_core::{Adapter, Batch, Capabilities, FetchRequest, SourceError, SourceSettings};
use secrecy::{ExposeSecret, SecretString};
use serde_json::value::RawValue;

use crate::auth::Credentials;
use crate::factory::{LogtoParams, TimeFilter};
use crate::scan::{Mode, Scan};
use crate::translate::{self, NativeQuery};
use crate::window::{Page, PageReader, ScanError};
use crate::wire::{self, MAX_PAGE_SIZE};

pub const KIND: &str = "logto";

const UNKNOWN: u8 = 0;
const HONOURED: u8 = 1;
const IGNORED: u8 = 2;

pub struct LogtoAdapter {
    settings: SourceSettings,
    time_filter: TimeFilter,
    credentials: Credentials,
    capabilities: Capabilities,
    /// What auto-detection found out about `start_time`/`end_time`.
    time_support: AtomicU8,
    /// How counting found the server reads the bounds ([`crate::count`]).
    pub(crate) count_bounds: AtomicU8,
}

impl LogtoAdapter {
    /// An adapter reading with `params`' credentials and time filter.
    pub fn new(settings: SourceSettings, params: &LogtoParams) -> Self {
        let mut pushdown = vec!["user_id", "attr.applicationId", "attr.key"];
        if params.time_filter != TimeFilter::Off {
            pushdown.splice(0..0, ["start", "end"]);
        }
        LogtoAdapter {
            time_filter: params.time_filter,
            credentials: Credentials::from_params(params),
            capabilities: Capabilities::new(&pushdown),
            time_support: AtomicU8::new(UNKNOWN),
            count_bounds: AtomicU8::new(crate::count::BOUNDS_UNKNOWN),
            settings,
        }
    }

    /// Whether time-bounded requests are made (On, or Auto not yet refuted).
    fn time_mode(&self) -> bool {
        match self.time_filter {
            TimeFilter::On => true,
            TimeFilter::Off => false,
            TimeFilter::Auto => self.time_support.load(Ordering::Relaxed) != IGNORED,
        }
    }

    /// Whether the time filter is known to be in use (for `pushed`).
    pub fn time_filter_in_use(&self) -> bool {
        match self.time_filter {
            TimeFilter::On => true,
            TimeFilter::Off => false,
            TimeFilter::Auto => self.time_support.load(Ordering::Relaxed) == HONOURED,
        }
    }

    /// One `GET /api/logs`, with one token refresh on a 401.
    pub(crate) async fn get_page(
        &self,
        ctx: &CallContext,
        query: &NativeQuery,
        page: u64,
        size: u64,
        include_raw: bool,
    ) -> Result<Page, SourceError> {
        let token = self.credentials.token(&self.settings, ctx).await?;
        let response = match self.send(ctx, query, page, size, &token).await {
            Err(SourceError::Unauthorized {
                status: 401,
                message,
            }) => {
                match self
                    .credentials
                    .refreshed(&self.settings, ctx, &token)
                    .await?
                {
                    Some(fresh) => self.send(ctx, query, page, size, &fresh).await?,
                    None => {
                        return Err(SourceError::Unauthorized {
                            status: 401,
                            message,
                        })
                    }
                }
            }
            other => other?,
        };
        // `null` is no entries (spec §10); each entry read from the
        // answer's bytes (issue 13).
        let body: &RawValue = response.json_borrowed()?;
        let Some(entries) = loggate_core::wire::raw_items(body) else {
            return Err(SourceError::Decode(
                "expected a JSON array of log entries".into(),
            ));
        };
        let total = response
            .header(wire::TOTAL_NUMBER_HEADER)
            .and_then(|v| v.trim().parse::<u64>().ok());
        // Logto sends `Link` as several header lines: read every one.
        let links: Vec<&str> = response
            .headers
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let has_next = (!links.is_empty()).then(|| {
            links
                .iter()
                .flat_map(|line| wire::parse_link_header(line))
                .any(|l| l.rel == "next")
        });
        let mut rows = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            match translate::raw_to_record(entry, include_raw) {
                Ok(record) => rows.push((index as u64, record)),
                Err(reason) => {
                    tracing::debug!(source = %self.settings.name, %reason, "skipped a log entry");
                    ctx.note_skipped(&reason);
                }
            }
        }
        Ok(Page {
            rows,
            raw_len: entries.len() as u64,
            total,
            has_next,
        })
    }

    async fn send(
        &self,
        ctx: &CallContext,
        query: &NativeQuery,
        page: u64,
        size: u64,
        token: &SecretString,
    ) -> Result<loggate_core::http::UpstreamResponse, SourceError> {
        // RFC 3986 encoding (spec §10): a space is `%20`, never `+`.
        let url = loggate_core::wire::with_query(
            self.settings.endpoint("api/logs"),
            query.pairs(page, size),
        );
        let request = self
            .settings
            .client
            .http()
            .get(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", token.expose_secret()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .build()
            .map_err(|e| SourceError::Internal(format!("could not build the request: {e}")))?;
        self.settings
            .client
            .execute(request, ctx, translate::classify_logs_error)
            .await
    }

    /// Checks a time-bounded answer; `Err(TimeFilterIgnored)` when the
    /// server ignores the bounds.
    async fn check_time_window(
        &self,
        ctx: &CallContext,
        query: &NativeQuery,
        page: &Page,
    ) -> Result<(), ScanError> {
        if page
            .rows
            .iter()
            .any(|(_, r)| query.outside_window(r.timestamp_ms))
        {
            return match self.time_filter {
                TimeFilter::On => Err(SourceError::Decode(
                    "the server ignores start_time/end_time although time_filter is \"on\"".into(),
                )
                .into()),
                _ => {
                    self.set_support(IGNORED);
                    Err(ScanError::TimeFilterIgnored)
                }
            };
        }
        if self.time_filter != TimeFilter::Auto
            || self.time_support.load(Ordering::Relaxed) != UNKNOWN
        {
            return Ok(());
        }
        let Some((_, known)) = page.rows.first() else {
            return Ok(());
        };
        // Sent widened as `end_time = known - 1`: on every generation that
        // honours it (exclusive or inclusive) nothing at `known` comes back.
        let probe = NativeQuery {
            filters: query.filters.clone(),
            start_time: None,
            end_time: Some(known.timestamp_ms - 2),
        };
        let answer = self.get_page(ctx, &probe, 1, 1, false).await?;
        if answer
            .rows
            .iter()
            .any(|(_, r)| r.timestamp_ms >= known.timestamp_ms)
        {
            self.set_support(IGNORED);
            return Err(ScanError::TimeFilterIgnored);
        }
        self.set_support(HONOURED);
        Ok(())
    }

    fn set_support(&self, verdict: u8) {
        if self.time_support.swap(verdict, Ordering::Relaxed) != verdict {
            let honoured = verdict == HONOURED;
            tracing::info!(source = %self.settings.name, honoured, "detected whether the server honours start_time/end_time");
        }
    }
}

/// The page reader of one fetch.
struct FetchReader<'a> {
    adapter: &'a LogtoAdapter,
    ctx: &'a CallContext,
    include_raw: bool,
    /// Entries of the pages read that could not be mapped.
    skipped: AtomicUsize,
}

#[async_trait]
impl PageReader for FetchReader<'_> {
    async fn page(&self, query: &NativeQuery, page: u64, size: u64) -> Result<Page, ScanError> {
        let got = self
            .adapter
            .get_page(self.ctx, query, page, size, self.include_raw)
            .await?;
        let unreadable = (got.raw_len as usize).saturating_sub(got.rows.len());
        self.skipped.fetch_add(unreadable, Ordering::Relaxed);
        if query.uses_time() {
            self.adapter
                .check_time_window(self.ctx, query, &got)
                .await?;
        }
        Ok(got)
    }

    fn live_reads(&self) -> Option<loggate_core::LiveReads<'_>> {
        Some(self.ctx.live_reads())
    }
}

#[async_trait]
impl Adapter for LogtoAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn pushed(&self, filters: &Filters) -> Vec<String> {
        translate::pushed_names(filters, self.time_filter_in_use())
    }

    fn counts_exactly(&self, filters: &Filters) -> bool {
        crate::count::counts_exactly(filters, self.time_mode())
    }

    async fn count(
        &self,
        filters: &Filters,
        ctx: &CallContext,
    ) -> Result<Option<u64>, SourceError> {
        self.count_total(filters, ctx).await
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError> {
        let FetchRequest {
            query,
            position,
            want,
            budget,
            ctx,
        } = request;
        if position.done || query.filters.is_unsatisfiable() {
            return Ok(Batch {
                records: Vec::new(),
                frontier: loggate_core::Position::finished(),
                ..Batch::default()
            });
        }
        let reader = FetchReader {
            adapter: self,
            ctx,
            include_raw: query.include_raw,
            skipped: AtomicUsize::new(0),
        };
        // Residual filters make matches sparse: read full pages then.
        // Otherwise a quarter more than wanted, so that a tie group cut at
        // the page's end rarely costs a second request.
        let residual =
            translate::pushed_names(&query.filters, true).len() < query.filters.names().len();
        let page_size = if residual {
            MAX_PAGE_SIZE
        } else {
            let want = want as u64;
            (want + want / 4 + 5).clamp(20, MAX_PAGE_SIZE)
        };
        let scan = |mode| Scan {
            reader: &reader,
            filters: &query.filters,
            base: NativeQuery {
                filters: translate::filter_params(&query.filters),
                start_time: None,
                end_time: None,
            },
            order: query.order,
            position,
            want: want.max(1),
            budget,
            mode,
            page_size,
        };
        let first_mode = if self.time_mode() {
            Mode::Time
        } else {
            Mode::Offset
        };
        let counted = |mut batch: Batch| {
            batch.skipped = reader.skipped.load(Ordering::Relaxed);
            Ok(batch)
        };
        match scan(first_mode).run().await {
            Ok(batch) => counted(batch),
            Err(ScanError::Source(e)) => Err(e),
            Err(ScanError::TimeFilterIgnored) => match scan(Mode::Offset).run().await {
                Ok(batch) => counted(batch),
                Err(ScanError::Source(e)) => Err(e),
                Err(ScanError::TimeFilterIgnored) => Err(SourceError::Decode(
                    "time filter ignored in offset mode".into(),
                )),
            },
        }
    }
}
